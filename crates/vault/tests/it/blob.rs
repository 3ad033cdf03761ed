//! Round trips through the sealer and `sealed`, the known-answer test and the spec
//! re-derivation.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use vault::{Blobs, ChunkCipher, DataKey, HEADER_LEN, Layout, TAG_LEN, sealed};

use crate::{CHUNK, MemBlobs, header, plaintext, read_plaintext, seal, sha256};

const KEY: [u8; 32] = [0x42; 32];

async fn check_round_trip(len: usize, pieces: &[usize]) {
    let data = plaintext(len, 1);
    let (blob, size, sha) = seal(KEY, header(9), &data, pieces);
    assert_eq!(size, len as u64);
    assert_eq!(sha, sha256(&data), "sha for {len}");
    let id = header(9).blob_id;
    let blobs = MemBlobs::new(1000);
    blobs.insert(id, blob);
    let (header, layout) = sealed::open(&blobs, id, size).await.unwrap();
    assert_eq!(
        blobs.len(id).await.unwrap(),
        layout.ciphertext_len(),
        "blob len for {len}"
    );
    assert_eq!(
        Layout::from_blob_len(&header, layout.ciphertext_len()).unwrap(),
        layout
    );
    let cipher = ChunkCipher::new(&DataKey::from_bytes(KEY), &header).unwrap();
    let all = 0..=layout.chunk_count() - 1;
    let back = read_plaintext(&blobs, id, &cipher, &layout, all)
        .await
        .unwrap();
    assert_eq!(
        back, data,
        "round trip of {len} bytes with pieces {pieces:?}"
    );
}

#[tokio::test]
async fn round_trips() {
    let sizes = [
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        3 * CHUNK + 5,
        300 * CHUNK + 7,
    ];
    let piece_sets: [&[usize]; 5] = [&[1], &[7, 1000, 3], &[CHUNK], &[CHUNK + 1, 2], &[100_000]];
    for len in sizes {
        for pieces in piece_sets {
            check_round_trip(len, pieces).await;
        }
    }
}

#[tokio::test]
async fn random_access_reads_only_the_chunks_asked_for() {
    let data = plaintext(3 * CHUNK + 5, 2);
    let (blob, size, _) = seal(KEY, header(9), &data, &[333]);
    let id = header(9).blob_id;
    let blobs = MemBlobs::new(usize::MAX);
    blobs.insert(id, blob);
    let (header, layout) = sealed::open(&blobs, id, size).await.unwrap();
    let cipher = ChunkCipher::new(&DataKey::from_bytes(KEY), &header).unwrap();
    let range = layout.chunks_for_range(5000, 5001);
    assert_eq!(range, 1..=1);
    let chunk = read_plaintext(&blobs, id, &cipher, &layout, range)
        .await
        .unwrap();
    assert_eq!(chunk.len(), CHUNK);
    assert_eq!(&chunk[5000 - CHUNK..=5001 - CHUNK], &data[5000..=5001]);
    let tail = read_plaintext(&blobs, id, &cipher, &layout, 2..=3)
        .await
        .unwrap();
    assert_eq!(tail, &data[2 * CHUNK..]);
    let err = sealed::read_chunks(&blobs, id, &layout, 3..=4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "vault_chunk_index");
    #[expect(clippy::reversed_empty_ranges, reason = "an empty range is a case")]
    let none = sealed::read_chunks(&blobs, id, &layout, 2..=1)
        .await
        .unwrap();
    let mut none = none;
    assert!(none.open_next(&cipher).is_none());
}

/// Opens chunk `index` of `blob` with nothing but aws-lc and the rules of
/// docs/vault-format.md: offset, nonce = index (u64 BE) || final flag || 3 zero bytes,
/// AAD = the 40 header bytes.
fn open_per_spec(blob: &[u8], key: [u8; 32], index: usize, len: usize, last: bool) -> Vec<u8> {
    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&(index as u64).to_be_bytes());
    nonce[8] = u8::from(last);
    let start = HEADER_LEN + index * (CHUNK + TAG_LEN);
    let mut body = blob[start..start + len + TAG_LEN].to_vec();
    let aad = Aad::from(&blob[..HEADER_LEN]);
    aead.open_in_place(Nonce::assume_unique_for_key(nonce), aad, &mut body)
        .unwrap()
        .to_vec()
}

#[test]
fn chunks_follow_the_documented_construction() {
    let data = plaintext(CHUNK + 10, 3);
    let (blob, _, _) = seal(KEY, header(5), &data, &[CHUNK + 10]);
    assert_eq!(&blob[..8], b"CUSTODYV");
    assert_eq!(open_per_spec(&blob, KEY, 0, CHUNK, false), &data[..CHUNK]);
    assert_eq!(open_per_spec(&blob, KEY, 1, 10, true), &data[CHUNK..]);
}

/// Pins the blob format: a fixed key, header and plaintext must always seal to the
/// same bytes. The expected digest was recorded once from this implementation; it
/// must only change together with FORMAT_VERSION.
#[test]
fn known_answer_pins_the_format() {
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let blob_id = *b"0123456789abcdef";
    let header = vault::Header {
        chunk_size: 4096,
        blob_id,
    };
    let (blob, _, _) = seal([0x11; 32], header, &data, &[1000]);
    assert_eq!(blob.len(), 40 + 10_000 + 3 * 16);
    let expected = "2ce06c627cc3759f9a540a40a4c271d3a5c346eae437e0c660665f26b42ab56c";
    assert_eq!(hex(&sha256(&blob)), expected);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
