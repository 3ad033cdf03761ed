//! Single-threaded throughput of the chunk AEAD at the default chunk size: seals and
//! then opens 1 GiB through `ChunkCipher`, reusing one 1 MiB plaintext buffer, and
//! prints `vault_seal_bytes_per_sec` and `vault_open_bytes_per_sec`.

use std::hint::black_box;
use std::time::Instant;

use vault::{ChunkCipher, DEFAULT_CHUNK_SIZE, DataKey, Header, TAG_LEN, VaultError};

const TOTAL: u64 = 1 << 30;

fn main() -> Result<(), VaultError> {
    let header = Header {
        chunk_size: DEFAULT_CHUNK_SIZE,
        blob_id: [7; 16],
    };
    let cipher = ChunkCipher::new(&DataKey::from_bytes([0x5A; 32]), &header)?;
    let chunk = vec![0xA5u8; DEFAULT_CHUNK_SIZE as usize];
    let chunks = TOTAL / u64::from(DEFAULT_CHUNK_SIZE);
    let mut out = Vec::with_capacity(chunk.len() + TAG_LEN);

    let start = Instant::now();
    for index in 0..chunks {
        out.clear();
        cipher.seal_chunk(index, index + 1 == chunks, &chunk, &mut out)?;
        black_box(&out);
    }
    println!(
        "vault_seal_bytes_per_sec {:.0}",
        TOTAL as f64 / start.elapsed().as_secs_f64()
    );

    out.clear();
    cipher.seal_chunk(0, false, &chunk, &mut out)?;
    let start = Instant::now();
    for _ in 0..chunks {
        black_box(cipher.open_chunk(0, false, black_box(&out))?);
    }
    println!(
        "vault_open_bytes_per_sec {:.0}",
        TOTAL as f64 / start.elapsed().as_secs_f64()
    );
    Ok(())
}
