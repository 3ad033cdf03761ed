//! STREAM-style chunked AEAD: each chunk is sealed with AES-256-GCM under the blob's
//! data key, a nonce made of the chunk index and a final-chunk flag, and the encoded
//! header as AAD. This gives random access by chunk while detecting reordering,
//! truncation, extension, splicing between blobs and header edits.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce};
use aws_lc_rs::digest;
use bytes::BytesMut;

use crate::error::VaultError;
use crate::format::{HEADER_LEN, Header, TAG_LEN, check_chunk_size};
use crate::keys::DataKey;

/// Nonce of chunk `index`: 8-byte big-endian index, final flag (0 or 1), 3 zero bytes.
/// Do not change.
pub fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    let fields = index.to_be_bytes().into_iter().chain([u8::from(last)]);
    for (slot, byte) in nonce.iter_mut().zip(fields) {
        *slot = byte;
    }
    nonce
}

/// Seals and opens the chunks of one blob.
pub struct ChunkCipher {
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    chunk_size: usize,
}

impl fmt::Debug for ChunkCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChunkCipher(..)")
    }
}

impl ChunkCipher {
    /// A cipher for the blob with this data key and header.
    pub fn new(key: &DataKey, header: &Header) -> Result<ChunkCipher, VaultError> {
        check_chunk_size(header.chunk_size)?;
        let chunk_size = usize::try_from(header.chunk_size)
            .map_err(|_| VaultError::BadHeader("chunk size".into()))?;
        Ok(ChunkCipher {
            key: key.aead_key()?,
            header: header.encode(),
            chunk_size,
        })
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The encoded header bound into every chunk.
    pub fn header_bytes(&self) -> [u8; HEADER_LEN] {
        self.header
    }

    fn nonce(index: u64, last: bool) -> Nonce {
        Nonce::assume_unique_for_key(chunk_nonce(index, last))
    }

    /// Whether a chunk of `len` plaintext bytes may sit at this position: exactly one
    /// chunk size unless it is the last, never more.
    fn fits(&self, len: usize, last: bool) -> bool {
        len == self.chunk_size || (last && len < self.chunk_size)
    }

    /// Seals chunk `index` and appends `ciphertext || tag` to `out`.
    pub fn seal_chunk(
        &self,
        index: u64,
        last: bool,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), VaultError> {
        if !self.fits(plaintext.len(), last) {
            return Err(VaultError::ChunkLength {
                chunk: index,
                len: plaintext.len(),
            });
        }
        let start = out.len();
        out.reserve(plaintext.len() + TAG_LEN);
        out.extend_from_slice(plaintext);
        let body = out.get_mut(start..).ok_or(VaultError::Crypto)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(Self::nonce(index, last), Aad::from(&self.header), body)
            .map_err(|_| VaultError::Crypto)?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens chunk `index` (`ciphertext || tag`); any failure is `Integrity { chunk }`.
    pub fn open_chunk(
        &self,
        index: u64,
        last: bool,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let integrity = VaultError::Integrity { chunk: index };
        let Some(len) = ciphertext.len().checked_sub(TAG_LEN) else {
            return Err(integrity);
        };
        if !self.fits(len, last) {
            return Err(integrity);
        }
        let Some((body, tag)) = ciphertext.split_at_checked(len) else {
            return Err(integrity);
        };
        let mut plaintext = vec![0u8; len];
        match self.key.open_separate_gather(
            Self::nonce(index, last),
            Aad::from(&self.header),
            body,
            tag,
            &mut plaintext,
        ) {
            Ok(()) => Ok(plaintext),
            Err(_) => Err(integrity),
        }
    }
}

impl ChunkCipher {
    /// Opens chunk `index` in place: `buf` holds `ciphertext || tag` and is left
    /// holding the plaintext. Saves the copy and the second buffer of `open_chunk`.
    pub fn open_chunk_in_place(
        &self,
        index: u64,
        last: bool,
        buf: &mut BytesMut,
    ) -> Result<(), VaultError> {
        let integrity = VaultError::Integrity { chunk: index };
        let Some(len) = buf.len().checked_sub(TAG_LEN) else {
            return Err(integrity);
        };
        if !self.fits(len, last) {
            return Err(integrity);
        }
        let aad = Aad::from(&self.header);
        match self.key.open_in_place(Self::nonce(index, last), aad, buf) {
            Ok(plain) if plain.len() == len => {
                buf.truncate(len);
                Ok(())
            }
            _ => Err(integrity),
        }
    }
}

/// Turns a plaintext stream arriving in pieces of any size into blob bytes (after the
/// header, which the caller writes first from `header_bytes`), tracking the plaintext
/// size and SHA-256.
pub struct StreamSealer {
    cipher: ChunkCipher,
    pending: Vec<u8>,
    index: u64,
    size: u64,
    sha256: digest::Context,
}

impl fmt::Debug for StreamSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer")
            .field("index", &self.index)
            .field("size", &self.size)
            .finish()
    }
}

impl StreamSealer {
    /// A sealer for the blob with this data key and header.
    pub fn new(key: &DataKey, header: Header) -> Result<StreamSealer, VaultError> {
        let cipher = ChunkCipher::new(key, &header)?;
        let pending = Vec::with_capacity(cipher.chunk_size);
        Ok(StreamSealer {
            cipher,
            pending,
            index: 0,
            size: 0,
            sha256: digest::Context::new(&digest::SHA256),
        })
    }

    /// The encoded header, which must precede the chunks in the blob.
    pub fn header_bytes(&self) -> [u8; HEADER_LEN] {
        self.cipher.header
    }

    /// Appends to `out` every chunk that `piece` completes, except a chunk that might
    /// be the last: a full chunk is held back until more data or `finish`.
    pub fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) -> Result<(), VaultError> {
        self.sha256.update(piece);
        self.size += piece.len() as u64;
        let mut rest = piece;
        while !rest.is_empty() {
            rest = self.take(rest, out)?;
        }
        Ok(())
    }

    /// Consumes the front of `rest`, sealing a non-final chunk when one is known
    /// complete; returns what is left.
    fn take<'a>(&mut self, rest: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], VaultError> {
        let size = self.cipher.chunk_size;
        if self.pending.len() == size {
            self.seal_pending(false, out)?;
        }
        if self.pending.is_empty() && rest.len() > size {
            // A whole chunk with more data behind it: seal straight from the input.
            let (chunk, tail) = rest.split_at_checked(size).ok_or(VaultError::Crypto)?;
            self.cipher.seal_chunk(self.index, false, chunk, out)?;
            self.index += 1;
            return Ok(tail);
        }
        let room = size - self.pending.len();
        let (head, tail) = rest
            .split_at_checked(room.min(rest.len()))
            .ok_or(VaultError::Crypto)?;
        self.pending.extend_from_slice(head);
        Ok(tail)
    }

    fn seal_pending(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), VaultError> {
        self.cipher
            .seal_chunk(self.index, last, &self.pending, out)?;
        self.pending.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the final chunk into `out`; returns the plaintext size and SHA-256.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(u64, [u8; 32]), VaultError> {
        self.seal_pending(true, out)?;
        let digest = self.sha256.finish();
        let sha256 = digest.as_ref().try_into().map_err(|_| VaultError::Crypto)?;
        Ok((self.size, sha256))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> ChunkCipher {
        ChunkCipher::new(
            &DataKey::from_bytes([3; 32]),
            &Header {
                chunk_size: 4096,
                blob_id: [1; 16],
            },
        )
        .unwrap()
    }

    #[test]
    fn nonce_layout() {
        assert_eq!(chunk_nonce(0, false), [0; 12]);
        assert_eq!(chunk_nonce(1, true), [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
        assert_eq!(
            chunk_nonce(0x0102_0304_0506_0708, false),
            [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]
        );
    }

    fn check_seal_length(len: usize, last: bool, ok: bool) {
        let mut out = Vec::new();
        let result = cipher().seal_chunk(0, last, &vec![0; len], &mut out);
        assert_eq!(result.is_ok(), ok, "len {len} last {last}");
        if ok {
            assert_eq!(out.len(), len + TAG_LEN);
            assert_eq!(cipher().open_chunk(0, last, &out).unwrap().len(), len);
        }
    }

    #[test]
    fn chunk_lengths() {
        check_seal_length(4096, false, true);
        check_seal_length(4096, true, true);
        check_seal_length(0, true, true);
        check_seal_length(1, true, true);
        check_seal_length(4095, false, false);
        check_seal_length(0, false, false);
        check_seal_length(4097, true, false);
    }

    #[test]
    fn seal_appends_after_existing_bytes() {
        let mut out = b"prefix".to_vec();
        cipher().seal_chunk(5, true, b"hello", &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(cipher().open_chunk(5, true, &out[6..]).unwrap(), b"hello");
        for (index, last) in [(4, true), (5, false), (6, true)] {
            let err = cipher().open_chunk(index, last, &out[6..]).unwrap_err();
            assert!(matches!(err, VaultError::Integrity { chunk } if chunk == index));
        }
        assert!(cipher().open_chunk(5, true, &out[6..6 + 15]).is_err());
    }

    #[test]
    fn full_chunk_is_held_back() {
        let key = DataKey::from_bytes([3; 32]);
        let mut sealer = StreamSealer::new(
            &key,
            Header {
                chunk_size: 4096,
                blob_id: [1; 16],
            },
        )
        .unwrap();
        let mut out = Vec::new();
        sealer.push(&[0; 4096], &mut out).unwrap();
        assert!(out.is_empty(), "a full chunk may still be the last");
        sealer.push(&[0; 1], &mut out).unwrap();
        assert_eq!(out.len(), 4096 + TAG_LEN);
        let (size, _) = sealer.finish(&mut out).unwrap();
        assert_eq!(size, 4097);
        assert_eq!(out.len(), 4097 + 2 * TAG_LEN);
    }
}
