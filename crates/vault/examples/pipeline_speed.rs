//! Where an upload's and a download's CPU time goes, phase by phase, on one thread,
//! without the network: the same vault calls `app::files` makes, in the same order.
//! Used by `bench/core.sh` to explain a missed target. Usage:
//! `pipeline_speed DIR [MIB]` (a scratch directory on the disk under test; default
//! 1024 MiB). Prints `name bytes_per_sec` lines:
//!
//! - `sha256`: SHA-256 alone (both directions hash the whole plaintext);
//! - `seal_stream`: `StreamSealer::push` with 16 KiB pieces (the size of a TLS
//!   record, as the request body arrives), i.e. copy + seal + SHA-256;
//! - `upload_disk`: `seal_stream` plus writing 4 MiB batches to a `DiskBlobStore`
//!   blob and committing it (fsync) — the whole upload minus HTTP and TLS;
//! - `read_only`: `pread` of every chunk from the blob (page cache, as just written);
//! - `read_open`: `read_chunk` (read + open, a fresh buffer each) of every chunk;
//! - `download_disk`: `read_chunk` (read + open) plus SHA-256 of every chunk — the
//!   whole download minus HTTP and TLS.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use aws_lc_rs::digest;
use vault::{
    BlobStore, DEFAULT_CHUNK_SIZE, DataKey, DiskBlobStore, Header, Layout, StreamSealer, read_chunk,
};

const PIECE: usize = 16 << 10;
const WRITE_BATCH: usize = 4 << 20;

fn report(name: &str, bytes: u64, start: Instant) {
    println!("{name} {:.0}", bytes as f64 / start.elapsed().as_secs_f64());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: pipeline_speed DIR [MIB]")?);
    let mib: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let total = mib << 20;
    let piece: Vec<u8> = (0..PIECE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let pieces = total / PIECE as u64;

    let start = Instant::now();
    let mut ctx = digest::Context::new(&digest::SHA256);
    for _ in 0..pieces {
        ctx.update(black_box(&piece));
    }
    black_box(ctx.finish());
    report("sha256", total, start);

    let key = DataKey::from_bytes([0x42; 32]);
    let header = |id| Header {
        chunk_size: DEFAULT_CHUNK_SIZE,
        blob_id: id,
    };
    let start = Instant::now();
    let mut sealer = StreamSealer::new(&key, header([1; 16]))?;
    let mut out = Vec::with_capacity(WRITE_BATCH + (1 << 20));
    for _ in 0..pieces {
        sealer.push(black_box(&piece), &mut out)?;
        if out.len() >= WRITE_BATCH {
            black_box(&out);
            out.clear();
        }
    }
    black_box(sealer.finish(&mut out)?);
    report("seal_stream", total, start);

    let store = DiskBlobStore::open(&dir)?;
    let id = [2; 16];
    let start = Instant::now();
    let mut sealer = StreamSealer::new(&key, header(id))?;
    let mut writer = store.create(id)?;
    out.clear();
    out.extend_from_slice(&sealer.header_bytes());
    for _ in 0..pieces {
        sealer.push(&piece, &mut out)?;
        if out.len() >= WRITE_BATCH {
            writer.write_all(&out)?;
            out.clear();
        }
    }
    let (size, sha) = sealer.finish(&mut out)?;
    writer.write_all(&out)?;
    writer.commit()?;
    report("upload_disk", total, start);

    let reader = store.open(id)?;
    let layout = Layout {
        chunk_size: DEFAULT_CHUNK_SIZE,
        plaintext_len: size,
    };
    let start = Instant::now();
    for index in 0..layout.chunk_count() {
        let mut buf = vec![0u8; layout.chunk_ciphertext_len(index)];
        reader.read_at(layout.chunk_offset(index), &mut buf)?;
        black_box(&buf);
    }
    report("read_only", total, start);

    let cipher = vault::ChunkCipher::new(&key, &header(id))?;
    let start = Instant::now();
    for index in 0..layout.chunk_count() {
        black_box(read_chunk(reader.as_ref(), &cipher, &layout, index)?);
    }
    report("read_open", total, start);

    let start = Instant::now();
    let mut ctx = digest::Context::new(&digest::SHA256);
    for index in 0..layout.chunk_count() {
        let plain = read_chunk(reader.as_ref(), &cipher, &layout, index)?;
        ctx.update(&plain);
    }
    if ctx.finish().as_ref() != sha {
        return Err("digest mismatch".into());
    }
    report("download_disk", total, start);
    store.remove(id)?;
    Ok(())
}
