//! The tamper table: every way of editing a sealed blob must fail to open, either as
//! an integrity failure or a bad header, whether the reader takes the plaintext length
//! from its records or derives it from the blob's length, and whatever pieces the
//! store reads come in.

use vault::{Blobs, ChunkCipher, DataKey, Header, Layout, TAG_LEN, VaultError, sealed};

use crate::{CHUNK, MemBlobs, header, plaintext, read_plaintext, seal};

const KEY: [u8; 32] = [0x42; 32];
const OTHER_KEY: [u8; 32] = [0x24; 32];
const LEN: usize = 3 * CHUNK + 5;
const STRIDE: usize = CHUNK + TAG_LEN;
/// Pieces the store reads in: cutting through chunks, and whole.
const PIECES: [usize; 2] = [1000, usize::MAX];

/// Where the plaintext length comes from when reading.
#[derive(Debug, Clone, Copy)]
enum LengthFrom {
    Records,
    BlobLen,
}

/// Reads a whole blob, stored as the blob of `header(1)`, through `sealed`.
async fn read_all(
    blobs: &MemBlobs,
    key: [u8; 32],
    recorded_len: u64,
    from: LengthFrom,
) -> Result<Vec<u8>, VaultError> {
    let id = header(1).blob_id;
    let (header, layout) = match from {
        LengthFrom::Records => sealed::open(blobs, id, recorded_len).await?,
        LengthFrom::BlobLen => {
            let header = sealed::read_header(blobs, id).await?;
            let layout = Layout::from_blob_len(&header, blobs.len(id).await?)?;
            (header, layout)
        }
    };
    let cipher = ChunkCipher::new(&DataKey::from_bytes(key), &header)?;
    read_plaintext(blobs, id, &cipher, &layout, 0..=layout.chunk_count() - 1).await
}

fn chunk_start(index: usize) -> usize {
    vault::HEADER_LEN + index * STRIDE
}

/// A blob of the same length under another key and blob id.
fn other_blob(key: [u8; 32], blob_id: u8) -> Vec<u8> {
    seal(key, header(blob_id), &plaintext(LEN, 7), &[LEN]).0
}

/// Seals a fresh blob, applies `tamper`, reads it back with `key` every way and
/// expects `code` (or success for "vault_ok").
async fn check(name: &str, tamper: fn(&mut Vec<u8>), key: [u8; 32], code: &str) {
    let data = plaintext(LEN, 1);
    let (mut blob, size, _) = seal(KEY, header(1), &data, &[777]);
    tamper(&mut blob);
    for piece in PIECES {
        let blobs = MemBlobs::new(piece);
        blobs.insert(header(1).blob_id, blob.clone());
        for from in [LengthFrom::Records, LengthFrom::BlobLen] {
            let result = read_all(&blobs, key, size, from).await;
            let got = match &result {
                Ok(back) => {
                    assert_eq!(back, &data, "{name}: read back different data");
                    "vault_ok"
                }
                Err(err) => err.code(),
            };
            assert_eq!(
                got,
                code,
                "{name} ({from:?}, pieces of {piece}): {:?}",
                result.map(|b| b.len())
            );
        }
    }
}

#[tokio::test]
async fn tamper_table() {
    let integrity = "vault_integrity";
    let bad_header = "vault_bad_header";
    check("untouched", |_| {}, KEY, "vault_ok").await;
    check(
        "flip a byte in a chunk",
        |b| b[chunk_start(1) + 10] ^= 1,
        KEY,
        integrity,
    )
    .await;
    check(
        "flip a byte in a tag",
        |b| b[chunk_start(1) + CHUNK + 3] ^= 0x80,
        KEY,
        integrity,
    )
    .await;
    check(
        "flip a byte in the last tag",
        |b| *b.last_mut().unwrap() ^= 1,
        KEY,
        integrity,
    )
    .await;
    check("flip the magic", |b| b[0] ^= 1, KEY, bad_header).await;
    check("flip the version", |b| b[8] ^= 1, KEY, bad_header).await;
    check(
        "chunk size not a power of two",
        |b| b[15] ^= 1,
        KEY,
        bad_header,
    )
    .await;
    check("double the chunk size", |b| b[14] = 0x20, KEY, integrity).await;
    check("flip the blob id", |b| b[20] ^= 1, KEY, integrity).await;
    check("flip a reserved byte", |b| b[39] ^= 1, KEY, bad_header).await;
    check(
        "drop the last chunk",
        |b| b.truncate(chunk_start(3)),
        KEY,
        integrity,
    )
    .await;
    check(
        "drop the last two chunks",
        |b| b.truncate(chunk_start(2)),
        KEY,
        integrity,
    )
    .await;
    check(
        "cut inside the last chunk",
        |b| b.truncate(b.len() - 1),
        KEY,
        integrity,
    )
    .await;
    check(
        "keep only the header",
        |b| b.truncate(vault::HEADER_LEN),
        KEY,
        integrity,
    )
    .await;
    check("swap two chunks", |b| swap(b, 0, 1), KEY, integrity).await;
    check(
        "append a copy of a chunk",
        |b| append_copy(b, 0),
        KEY,
        integrity,
    )
    .await;
    check(
        "append a copy of the last chunk",
        |b| append_copy(b, 3),
        KEY,
        integrity,
    )
    .await;
    check(
        "splice from a blob with another key",
        |b| splice(b, &other_blob(OTHER_KEY, 2), 1),
        KEY,
        integrity,
    )
    .await;
    check(
        "splice from another blob, same key",
        |b| splice(b, &other_blob(KEY, 2), 1),
        KEY,
        integrity,
    )
    .await;
    check(
        "splice a header from another blob",
        |b| splice_header(b, &other_blob(KEY, 2)),
        KEY,
        integrity,
    )
    .await;
    check("wrong data key", |_| {}, OTHER_KEY, integrity).await;
}

fn swap(blob: &mut [u8], a: usize, b: usize) {
    let first = blob[chunk_start(a)..chunk_start(a) + STRIDE].to_vec();
    blob.copy_within(chunk_start(b)..chunk_start(b) + STRIDE, chunk_start(a));
    blob[chunk_start(b)..chunk_start(b) + STRIDE].copy_from_slice(&first);
}

fn append_copy(blob: &mut Vec<u8>, index: usize) {
    let end = (chunk_start(index) + STRIDE).min(blob.len());
    let chunk = blob[chunk_start(index)..end].to_vec();
    blob.extend_from_slice(&chunk);
}

fn splice(blob: &mut [u8], other: &[u8], index: usize) {
    let range = chunk_start(index)..chunk_start(index) + STRIDE;
    blob[range.clone()].copy_from_slice(&other[range]);
}

fn splice_header(blob: &mut [u8], other: &[u8]) {
    blob[..vault::HEADER_LEN].copy_from_slice(&other[..vault::HEADER_LEN]);
    assert_ne!(Header::decode(blob).unwrap().blob_id, header(1).blob_id);
}
