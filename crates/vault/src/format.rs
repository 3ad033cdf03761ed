//! The encrypted blob format: the fixed-length header and the arithmetic that maps
//! plaintext positions to chunks and chunks to byte offsets in the blob.
//! The byte layout is specified in `docs/vault-format.md`.

use std::ops::RangeInclusive;

use crate::error::VaultError;

/// First bytes of every blob. Do not change.
pub const MAGIC: [u8; 8] = *b"CUSTODYV";
/// Version of the blob format. Do not change; add a new version instead.
pub const FORMAT_VERSION: u8 = 1;
/// Algorithm id of AES-256-GCM in the header. Do not change.
pub const ALG_AES_256_GCM: u8 = 1;
/// AEAD tag length appended to every chunk. Do not change.
pub const TAG_LEN: usize = 16;
/// Encoded header length. Do not change.
pub const HEADER_LEN: usize = 40;
/// Default plaintext bytes per chunk (1 MiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 1 << 20;
/// Smallest allowed chunk size (4 KiB). Do not change.
pub const MIN_CHUNK_SIZE: u32 = 1 << 12;
/// Largest allowed chunk size (16 MiB). Do not change.
pub const MAX_CHUNK_SIZE: u32 = 1 << 24;

const TAG: u64 = TAG_LEN as u64;
const HEADER: u64 = HEADER_LEN as u64;

/// The per-blob parameters written at the start of every blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Plaintext bytes per chunk: a power of two in 4 KiB..=16 MiB.
    pub chunk_size: u32,
    /// Random id of the blob, bound into every chunk so chunks cannot move between blobs.
    pub blob_id: [u8; 16],
}

impl Header {
    /// Encodes the header: magic, version, algorithm, chunk size, blob id, zero padding.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let size = self.chunk_size.to_be_bytes();
        let fields = MAGIC
            .iter()
            .chain(&[FORMAT_VERSION, ALG_AES_256_GCM, 0, 0])
            .chain(&size)
            .chain(&self.blob_id);
        for (slot, byte) in out.iter_mut().zip(fields) {
            *slot = *byte;
        }
        out
    }

    /// Decodes and validates a header from the first `HEADER_LEN` bytes of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Header, VaultError> {
        let short = || bad("too short");
        let (magic, rest) = bytes.split_first_chunk::<8>().ok_or_else(short)?;
        let ([version, alg, r0, r1], rest) = rest.split_first_chunk::<4>().ok_or_else(short)?;
        let (size, rest) = rest.split_first_chunk::<4>().ok_or_else(short)?;
        let (id, rest) = rest.split_first_chunk::<16>().ok_or_else(short)?;
        let (padding, _) = rest.split_first_chunk::<8>().ok_or_else(short)?;
        if *magic != MAGIC {
            return Err(bad("not a vault blob"));
        }
        if *version != FORMAT_VERSION {
            return Err(bad(&format!("unsupported format version {version}")));
        }
        if *alg != ALG_AES_256_GCM {
            return Err(bad(&format!("unsupported algorithm {alg}")));
        }
        if [*r0, *r1] != [0; 2] || *padding != [0; 8] {
            return Err(bad("reserved bytes are not zero"));
        }
        let chunk_size = u32::from_be_bytes(*size);
        check_chunk_size(chunk_size)?;
        Ok(Header {
            chunk_size,
            blob_id: *id,
        })
    }
}

/// Refuses a chunk size that is not a power of two in 4 KiB..=16 MiB.
pub fn check_chunk_size(chunk_size: u32) -> Result<(), VaultError> {
    let in_range = (MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size);
    if in_range && chunk_size.is_power_of_two() {
        Ok(())
    } else {
        Err(bad(&format!(
            "chunk size {chunk_size} is not a power of two in 4096..=16777216"
        )))
    }
}

fn bad(reason: &str) -> VaultError {
    VaultError::BadHeader(reason.to_owned())
}

/// Where the chunks of a blob with a given plaintext length lie.
///
/// Every chunk but the last holds exactly `chunk_size` plaintext bytes; the last holds
/// 0..=`chunk_size` bytes. An empty plaintext is one empty final chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub chunk_size: u32,
    pub plaintext_len: u64,
}

impl Layout {
    /// The layout of a blob with this header and plaintext length.
    pub fn from_header(header: &Header, plaintext_len: u64) -> Layout {
        Layout {
            chunk_size: header.chunk_size,
            plaintext_len,
        }
    }

    /// The layout implied by a blob's total length, for readers that do not know the
    /// plaintext length. A length no blob can have is an integrity failure of the
    /// chunk it cuts short.
    pub fn from_blob_len(header: &Header, blob_len: u64) -> Result<Layout, VaultError> {
        let stride = u64::from(header.chunk_size) + TAG;
        let body = blob_len.saturating_sub(HEADER);
        let full = body / stride;
        let rest = body % stride;
        let (count, plaintext_len) = match rest {
            0 if full > 0 => (full, full * u64::from(header.chunk_size)),
            r if r >= TAG => (full + 1, body - (full + 1) * TAG),
            _ => return Err(VaultError::Integrity { chunk: full }),
        };
        debug_assert!(count >= 1, "a blob has at least one chunk");
        Ok(Layout {
            chunk_size: header.chunk_size,
            plaintext_len,
        })
    }

    /// Chunk size as a divisor that cannot be zero.
    fn size(&self) -> u64 {
        u64::from(self.chunk_size).max(1)
    }

    /// Number of chunks; at least one, even for an empty plaintext.
    pub fn chunk_count(&self) -> u64 {
        self.plaintext_len.div_ceil(self.size()).max(1)
    }

    /// Total blob length: header plus every chunk with its tag.
    pub fn ciphertext_len(&self) -> u64 {
        HEADER
            .saturating_add(self.plaintext_len)
            .saturating_add(self.chunk_count().saturating_mul(TAG))
    }

    /// Byte offset of chunk `index` in the blob.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        HEADER.saturating_add(index.saturating_mul(self.size() + TAG))
    }

    /// Plaintext bytes in chunk `index` (0 past the end).
    pub fn chunk_plaintext_len(&self, index: u64) -> usize {
        let start = index.saturating_mul(self.size());
        let len = self.plaintext_len.saturating_sub(start).min(self.size());
        usize::try_from(len).unwrap_or(usize::MAX)
    }

    /// Ciphertext bytes (plaintext plus tag) of chunk `index`; 0 past the last chunk.
    pub fn chunk_ciphertext_len(&self, index: u64) -> usize {
        if index >= self.chunk_count() {
            return 0;
        }
        self.chunk_plaintext_len(index).saturating_add(TAG_LEN)
    }

    /// Whether chunk `index` is the final one.
    pub fn is_last(&self, index: u64) -> bool {
        index + 1 == self.chunk_count()
    }

    /// The chunks holding plaintext bytes `start..=end_inclusive`. Both ends are clamped
    /// to the last chunk; the range is empty when `start > end_inclusive`.
    pub fn chunks_for_range(&self, start: u64, end_inclusive: u64) -> RangeInclusive<u64> {
        if start > end_inclusive {
            #[expect(
                clippy::reversed_empty_ranges,
                reason = "an empty RangeInclusive is what callers iterate"
            )]
            return 1..=0;
        }
        let last = self.chunk_count() - 1;
        (start / self.size()).min(last)..=(end_inclusive / self.size()).min(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_encodes_documented_bytes() {
        let header = Header {
            chunk_size: 1 << 20,
            blob_id: [0xAB; 16],
        };
        let mut expected = Vec::new();
        expected.extend_from_slice(b"CUSTODYV");
        expected.extend_from_slice(&[1, 1, 0, 0]); // version, algorithm, reserved
        expected.extend_from_slice(&[0x00, 0x10, 0x00, 0x00]); // chunk size, big-endian
        expected.extend_from_slice(&[0xAB; 16]);
        expected.extend_from_slice(&[0; 8]);
        assert_eq!(header.encode().to_vec(), expected);
        assert_eq!(Header::decode(&expected).unwrap(), header);
    }

    fn check_decode(edit: fn(&mut [u8; HEADER_LEN]), ok: bool) {
        let mut bytes = Header {
            chunk_size: 4096,
            blob_id: [7; 16],
        }
        .encode();
        edit(&mut bytes);
        let result = Header::decode(&bytes);
        match result {
            Ok(_) => assert!(ok, "decoded an invalid header"),
            Err(err) => assert!(!ok && err.code() == "vault_bad_header", "{err}"),
        }
    }

    #[test]
    fn header_decode_rejects() {
        check_decode(|_| {}, true);
        check_decode(|b| b[0] ^= 1, false); // magic
        check_decode(|b| b[8] = 2, false); // version
        check_decode(|b| b[9] = 2, false); // algorithm
        check_decode(|b| b[10] = 1, false); // reserved
        check_decode(|b| b[39] = 1, false); // padding
        check_decode(|b| b[13] = 0x20, false); // 4096 + 2 MiB: not a power of two
        check_decode(|b| b[14] = 0x08, false); // 2048: too small
        check_decode(|b| b[12] = 0x02, false); // 32 MiB + 4096
        check_decode(|b| b[16] ^= 0xFF, true); // blob id: any value decodes
        assert!(Header::decode(&[0; HEADER_LEN - 1]).is_err());
    }

    #[test]
    fn chunk_size_bounds() {
        for (size, ok) in [
            (4096, true),
            (1 << 24, true),
            (1 << 20, true),
            (2048, false),
            (1 << 25, false),
            (5000, false),
            (0, false),
        ] {
            assert_eq!(check_chunk_size(size).is_ok(), ok, "{size}");
        }
    }

    /// (plaintext_len, chunk_count, ciphertext_len, last chunk ciphertext len)
    fn check_layout(len: u64, count: u64, blob_len: u64, last_ct: usize) {
        let layout = Layout {
            chunk_size: 4096,
            plaintext_len: len,
        };
        assert_eq!(layout.chunk_count(), count, "count for {len}");
        assert_eq!(layout.ciphertext_len(), blob_len, "blob len for {len}");
        assert_eq!(
            layout.chunk_ciphertext_len(count - 1),
            last_ct,
            "last chunk for {len}"
        );
        assert_eq!(layout.chunk_ciphertext_len(count), 0);
        assert_eq!(layout.chunk_offset(count - 1) + last_ct as u64, blob_len);
        let header = Header {
            chunk_size: 4096,
            blob_id: [0; 16],
        };
        assert_eq!(Layout::from_blob_len(&header, blob_len).unwrap(), layout);
    }

    #[test]
    fn layout_table() {
        check_layout(0, 1, 40 + 16, 16);
        check_layout(1, 1, 40 + 17, 17);
        check_layout(4095, 1, 40 + 4095 + 16, 4111);
        check_layout(4096, 1, 40 + 4096 + 16, 4112);
        check_layout(4097, 2, 40 + 4097 + 32, 17);
        check_layout(3 * 4096 + 5, 4, 40 + 3 * 4096 + 5 + 64, 21);
    }

    #[test]
    fn offsets() {
        let layout = Layout {
            chunk_size: 4096,
            plaintext_len: 10 * 4096,
        };
        for (index, offset) in [(0, 40), (1, 40 + 4112), (9, 40 + 9 * 4112)] {
            assert_eq!(layout.chunk_offset(index), offset);
            assert_eq!(layout.chunk_ciphertext_len(index), 4112);
        }
    }

    fn check_range(len: u64, start: u64, end: u64, expected: RangeInclusive<u64>) {
        let layout = Layout {
            chunk_size: 4096,
            plaintext_len: len,
        };
        assert_eq!(
            layout.chunks_for_range(start, end),
            expected,
            "{len} {start}..={end}"
        );
    }

    #[test]
    fn ranges() {
        check_range(10_000, 0, 0, 0..=0);
        check_range(10_000, 0, 4095, 0..=0);
        check_range(10_000, 4095, 4096, 0..=1);
        check_range(10_000, 4096, 9_999, 1..=2);
        check_range(10_000, 0, u64::MAX, 0..=2);
        check_range(10_000, 9_999, 9_999, 2..=2);
        check_range(0, 0, 0, 0..=0);
        assert!(
            Layout {
                chunk_size: 4096,
                plaintext_len: 10
            }
            .chunks_for_range(5, 4)
            .is_empty()
        );
    }

    #[test]
    fn impossible_blob_lengths() {
        let header = Header {
            chunk_size: 4096,
            blob_id: [0; 16],
        };
        for (len, chunk) in [(0, 0), (40, 0), (40 + 15, 0), (40 + 4112 + 3, 1)] {
            let err = Layout::from_blob_len(&header, len).unwrap_err();
            assert!(
                matches!(err, VaultError::Integrity { chunk: c } if c == chunk),
                "{len}: {err}"
            );
        }
    }
}
