//! Single-threaded throughput of the chunk AEAD at the default chunk size, measured
//! the way `openssl speed -evp aes-256-gcm -bytes 1048576 -seconds N` measures its
//! side: whole 1 MiB chunks for about N seconds (default 3, first argument), after a
//! warm-up. Seal goes through `ChunkCipher::seal_chunk` exactly as `StreamSealer`
//! calls it (copy of the plaintext into the output buffer, encryption in place, tag
//! appended); open goes through `ChunkCipher::open_chunk` (fresh plaintext buffer per
//! chunk, as a download does). Prints `vault_seal_bytes_per_sec N` and
//! `vault_open_bytes_per_sec N`, then `aws_lc_seal_bytes_per_sec N`: the same
//! library sealing one buffer in place with no copy, i.e. what vault adds on top of
//! aws-lc is the difference between the first and the last figure.
//!
//! Guards against measuring nothing: every call crosses into aws-lc (C and assembly,
//! opaque to the Rust optimiser), inputs and outputs pass through `black_box`, each
//! sealed chunk gets its own index (nonce), and a checksum of every output tag is
//! printed so no result is dead. The plaintext is non-constant (AES-GCM time does not
//! depend on the data, but a constant buffer would invite the question).

use std::hint::black_box;
use std::time::{Duration, Instant};

use vault::{ChunkCipher, DEFAULT_CHUNK_SIZE, DataKey, Header, TAG_LEN, VaultError};

/// Runs `op` on consecutive indexes until `dur` has passed; returns bytes per second.
fn rate(
    dur: Duration,
    bytes_per_op: usize,
    mut op: impl FnMut(u64) -> Result<(), VaultError>,
) -> Result<f64, VaultError> {
    let start = Instant::now();
    let mut ops = 0u64;
    while start.elapsed() < dur {
        op(ops)?;
        ops += 1;
    }
    Ok((ops * bytes_per_op as u64) as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), VaultError> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let dur = Duration::from_secs_f64(seconds);
    let header = Header {
        chunk_size: DEFAULT_CHUNK_SIZE,
        blob_id: [7; 16],
    };
    let cipher = ChunkCipher::new(&DataKey::from_bytes([0x5A; 32]), &header)?;
    let size = DEFAULT_CHUNK_SIZE as usize;
    let chunk: Vec<u8> = (0..size)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut out = Vec::with_capacity(size + TAG_LEN);
    let mut check = 0u64;

    let mut seal = |index: u64| {
        out.clear();
        cipher.seal_chunk(black_box(index), false, black_box(&chunk), &mut out)?;
        check = check.wrapping_add(u64::from(black_box(&out)[size]));
        Ok(())
    };
    rate(dur / 10, size, &mut seal)?;
    let sealed = rate(dur, size, &mut seal)?;
    println!("vault_seal_bytes_per_sec {sealed:.0}");

    out.clear();
    cipher.seal_chunk(0, false, &chunk, &mut out)?;
    let mut open = |_: u64| {
        let plain = cipher.open_chunk(0, false, black_box(&out))?;
        check = check.wrapping_add(u64::from(black_box(&plain)[size / 2]));
        Ok(())
    };
    rate(dur / 10, size, &mut open)?;
    let opened = rate(dur, size, &mut open)?;
    println!("vault_open_bytes_per_sec {opened:.0}");

    let key = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &[0x5A; 32])
            .map_err(|_| VaultError::Crypto)?,
    );
    let mut buf = chunk.clone();
    let mut raw = |index: u64| {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&black_box(index).to_be_bytes());
        let tag = key
            .seal_in_place_separate_tag(
                aws_lc_rs::aead::Nonce::assume_unique_for_key(nonce),
                aws_lc_rs::aead::Aad::from(&header.encode()),
                black_box(&mut buf),
            )
            .map_err(|_| VaultError::Crypto)?;
        check = check.wrapping_add(u64::from(tag.as_ref()[0]));
        Ok(())
    };
    rate(dur / 10, size, &mut raw)?;
    let raw_rate = rate(dur, size, &mut raw)?;
    println!("aws_lc_seal_bytes_per_sec {raw_rate:.0}");
    println!("checksum {check}");
    Ok(())
}
