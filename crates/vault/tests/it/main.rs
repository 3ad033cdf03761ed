//! Integration tests of the vault blob format: round trips through `StreamSealer`
//! and `sealed` (reading through a `Blobs` store), the tamper table, a format-pinning
//! known-answer test, and an independent re-derivation of chunk nonces and AAD from
//! docs/vault-format.md; and of the backends of `Blobs` (the conformance suite on
//! disk and in memory, the disk layout).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

mod blob;
mod mem;
mod objects;
mod tamper;

use aws_lc_rs::digest;
use vault::{ChunkCipher, DataKey, Header, Layout, StreamSealer, VaultError, sealed};

pub use mem::MemBlobs;

/// Chunk size used by the tests, small for speed.
pub const CHUNK: usize = 4096;

/// Reads chunks `chunks` of blob `id` window by window, as `content` does, and
/// returns their plaintext.
pub async fn read_plaintext(
    blobs: &dyn vault::Blobs,
    id: [u8; 16],
    cipher: &ChunkCipher,
    layout: &Layout,
    chunks: std::ops::RangeInclusive<u64>,
) -> Result<Vec<u8>, VaultError> {
    let mut out = Vec::new();
    for window in sealed::windows(layout, chunks) {
        let mut sealed = sealed::read_chunks(blobs, id, layout, window.clone()).await?;
        let mut expected = window;
        while let Some(opened) = sealed.open_next(cipher) {
            let (index, plain) = opened?;
            assert_eq!(Some(index), expected.next(), "chunks come in order");
            out.extend_from_slice(&plain);
        }
        assert_eq!(expected.next(), None, "every chunk of the window came");
    }
    Ok(out)
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
