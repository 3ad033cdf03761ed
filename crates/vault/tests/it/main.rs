//! Integration tests of the vault blob format: round trips through `StreamSealer`
//! and `read_chunk`, the tamper table, a format-pinning known-answer test, and an
//! independent re-derivation of chunk nonces and AAD from docs/vault-format.md; and
//! of the disk backend of `Blobs` (the conformance suite and the disk layout).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

mod blob;
mod objects;
mod tamper;

use aws_lc_rs::digest;
use vault::{BlobReader, DataKey, Header, StreamSealer, VaultError};

/// Chunk size used by the tests, small for speed.
pub const CHUNK: usize = 4096;

/// A blob held in memory.
pub struct MemBlob(pub Vec<u8>);

impl BlobReader for MemBlob {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), VaultError> {
        let start = usize::try_from(offset).unwrap();
        let src = self.0.get(start..start + buf.len()).ok_or_else(|| {
            VaultError::Io(std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// Deterministic test plaintext of `len` bytes.
pub fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

pub fn header(blob_id: u8) -> Header {
    Header {
        chunk_size: CHUNK as u32,
        blob_id: [blob_id; 16],
    }
}

/// Seals `data` feeding the sealer pieces of the sizes in `pieces`, cycled.
pub fn seal(
    key: [u8; 32],
    header: Header,
    data: &[u8],
    pieces: &[usize],
) -> (Vec<u8>, u64, [u8; 32]) {
    let mut sealer = StreamSealer::new(&DataKey::from_bytes(key), header).unwrap();
    let mut blob = sealer.header_bytes().to_vec();
    let mut rest = data;
    for &piece in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (head, tail) = rest.split_at(piece.min(rest.len()));
        sealer.push(head, &mut blob).unwrap();
        rest = tail;
    }
    let (size, sha) = sealer.finish(&mut blob).unwrap();
    (blob, size, sha)
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .unwrap()
}
