//! Where an upload's and a download's CPU time goes, phase by phase, on one thread,
//! without the network: the same vault calls `content` makes, in the same order,
//! with the disk store's file work done on the calling thread, as on the server's
//! blob workers. Used by `bench/core.sh` to explain a missed target. Usage:
//! `pipeline_speed DIR [MIB]` (a scratch directory on the disk under test; default
//! 1024 MiB). Prints `name bytes_per_sec` lines:
//!
//! - `sha256`: SHA-256 alone (both directions hash the whole plaintext);
//! - `seal_stream`: `StreamSealer::push` with 16 KiB pieces (the size of a TLS
//!   record, as the request body arrives), i.e. copy + seal + SHA-256;
//! - `upload_disk`: `seal_stream` plus writing 4 MiB batches to a `DiskBlobs` sink
//!   (the batch buffer reused) and committing it (fsync) — the whole upload minus
//!   HTTP and TLS;
//! - `read_only`: `sealed::read_chunks` of every window of whole chunks, i.e. the
//!   blob store's reads (page cache, as just written);
//! - `read_open`: the same plus opening every chunk in place;
//! - `download_disk`: `read_open` plus SHA-256 of every chunk — the whole download
//!   minus HTTP and TLS.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use aws_lc_rs::digest;
use bytes::Bytes;
use vault::{
    Blobs, ChunkCipher, DEFAULT_CHUNK_SIZE, DataKey, DiskBlobs, Header, Layout, Offload,
    StreamSealer, sealed,
};

const PIECE: usize = 16 << 10;
const WRITE_BATCH: usize = 4 << 20;

type Error = Box<dyn std::error::Error>;

fn report(name: &str, bytes: u64, start: Instant) {
    println!("{name} {:.0}", bytes as f64 / start.elapsed().as_secs_f64());
}

fn main() -> Result<(), Error> {
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

    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(through_the_store(&dir, &piece, pieces, total))
}

/// The phases that go through the blob store.
async fn through_the_store(
    dir: &std::path::Path,
    piece: &[u8],
    pieces: u64,
    total: u64,
) -> Result<(), Error> {
    let pool: Arc<dyn Offload> = Arc::new(|job: Box<dyn FnOnce() + Send>| job());
    let store = DiskBlobs::open(dir, pool).await?;
    let key = DataKey::from_bytes([0x42; 32]);
    let id = [2; 16];
    let header = Header {
        chunk_size: DEFAULT_CHUNK_SIZE,
        blob_id: id,
    };
    let start = Instant::now();
    let mut sealer = StreamSealer::new(&key, header)?;
    let mut sink = store.create(id).await?;
    let mut out = Vec::with_capacity(WRITE_BATCH + (2 << 20));
    out.extend_from_slice(&sealer.header_bytes());
    for _ in 0..pieces {
        sealer.push(piece, &mut out)?;
        if out.len() >= WRITE_BATCH {
            let batch = Bytes::from(out);
            sink.write(batch.clone()).await?;
            out = batch.try_into_mut().map_or_else(
                |_| Vec::with_capacity(WRITE_BATCH + (2 << 20)),
                |mut mine| {
                    mine.clear();
                    Vec::from(mine)
                },
            );
        }
    }
    let (size, sha) = sealer.finish(&mut out)?;
    sink.write(Bytes::from(out)).await?;
    sink.commit().await?;
    report("upload_disk", total, start);

    let (header, layout) = sealed::open(&store, id, size).await?;
    let all = 0..=layout.chunk_count() - 1;
    let start = Instant::now();
    for window in sealed::windows(&layout, all.clone()) {
        black_box(sealed::read_chunks(&store, id, &layout, window).await?);
    }
    report("read_only", total, start);

    let cipher = ChunkCipher::new(&key, &header)?;
    let start = Instant::now();
    read_all(&store, id, &cipher, &layout, |plain| drop(black_box(plain))).await?;
    report("read_open", total, start);

    let start = Instant::now();
    let mut ctx = digest::Context::new(&digest::SHA256);
    read_all(&store, id, &cipher, &layout, |plain| ctx.update(&plain)).await?;
    if ctx.finish().as_ref() != sha {
        return Err("digest mismatch".into());
    }
    report("download_disk", total, start);
    store.remove(id).await?;
    Ok(())
}

/// Reads and opens every chunk of blob `id` a window at a time, handing each
/// plaintext to `each`.
async fn read_all(
    store: &DiskBlobs,
    id: [u8; 16],
    cipher: &ChunkCipher,
    layout: &Layout,
    mut each: impl FnMut(Bytes),
) -> Result<(), Error> {
    for window in sealed::windows(layout, 0..=layout.chunk_count() - 1) {
        let mut chunks = sealed::read_chunks(store, id, layout, window).await?;
        while let Some(opened) = chunks.open_next(cipher) {
            each(opened?.1);
        }
    }
    Ok(())
}
