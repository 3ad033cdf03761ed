//! The disk backend of `Blobs`: the conformance suite on a temporary directory, and
//! what only a disk shows (files and modes, the partial files, stray names, a broken
//! sink, the size of the pieces read, sealed chunks read a window at a time).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use vault::{BlobSink, Blobs, DiskBlobs, Offload, VaultError};

const ID: [u8; 16] = [0xA1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0xFF];
const OTHER: [u8; 16] = [0x07; 16];

/// Tokio's blocking pool, as the server passes it.
fn pool() -> Arc<dyn Offload> {
    Arc::new(|job: Box<dyn FnOnce() + Send>| {
        tokio::task::spawn_blocking(job);
    })
}

/// A store in a fresh directory, and that directory (`<tmp>/blobs`).
async fn disk() -> (tempfile::TempDir, PathBuf, DiskBlobs) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = DiskBlobs::open(&root, pool()).await.unwrap();
    (dir, root, store)
}

fn tmp_entries(root: &Path) -> usize {
    fs::read_dir(root.join("tmp")).unwrap().count()
}

/// Waits (up to ten seconds) for the background removal of dropped sinks.
async fn tmp_drains(root: &Path) -> usize {
    for _ in 0..1000 {
        if tmp_entries(root) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tmp_entries(root)
}

async fn put(store: &dyn Blobs, id: [u8; 16], bytes: &'static [u8]) -> Result<(), VaultError> {
    let mut sink = store.create(id).await?;
    sink.write(Bytes::from_static(bytes)).await?;
    sink.commit().await
}

#[tokio::test]
async fn disk_backend_conforms() {
    let (_dir, root, store) = disk().await;
    vault::conformance::run(&store).await;
    assert_eq!(tmp_drains(&root).await, 0, "no partial file is left");
}

#[tokio::test]
async fn files_modes_and_partials_on_disk() {
    let (_dir, root, store) = disk().await;
    let mode = |path: &Path| fs::metadata(path).unwrap().mode() & 0o7777;
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("tmp")), 0o700);
    let mut sink = store.create(ID).await.unwrap();
    sink.write(Bytes::from_static(b"hello ")).await.unwrap();
    sink.write(Bytes::from_static(b"world")).await.unwrap();
    assert_eq!(tmp_entries(&root), 1);
    sink.commit().await.unwrap();
    assert_eq!(tmp_entries(&root), 0, "commit removes the partial name");
    let path = root.join("a1/a102030405060708090a0b0c0d0e0fff");
    assert_eq!(fs::read(&path).unwrap(), b"hello world");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&root.join("a1")), 0o700);
    assert_eq!(fs::metadata(&path).unwrap().nlink(), 1);

    let aborted = store.create(OTHER).await.unwrap();
    assert_eq!(tmp_entries(&root), 1);
    aborted.abort().await.unwrap();
    assert_eq!(tmp_entries(&root), 0, "abort removes the partial file");
    drop(store.create(OTHER).await.unwrap());
    assert_eq!(
        tmp_drains(&root).await,
        0,
        "drop removes it in the background"
    );

    for _ in 0..3 {
        std::mem::forget(store.create(OTHER).await.unwrap());
    }
    assert_eq!(store.clean_partial().await.unwrap(), 3);
    assert_eq!(tmp_entries(&root), 0);
}

#[tokio::test]
async fn listing_skips_stray_names() {
    let (_dir, root, store) = disk().await;
    put(&store, ID, b"x").await.unwrap();
    put(&store, [0; 16], b"y").await.unwrap();
    fs::write(root.join("a1/not-a-blob"), b"").unwrap();
    fs::write(root.join("a1/A102030405060708090A0B0C0D0E0FFF"), b"").unwrap();
    fs::write(root.join("00/ff000000000000000000000000000000"), b"").unwrap();
    fs::write(root.join("ff"), b"a file where a shard would be").unwrap();
    fs::write(root.join("tmp/ab000000000000000000000000000000"), b"").unwrap();
    assert_eq!(store.list_page(None, 10).await.unwrap(), [[0; 16], ID]);
    assert_eq!(store.list_page(Some([0; 16]), 10).await.unwrap(), [ID]);
}

type Job = Box<dyn FnOnce() + Send>;

/// An `Offload` that holds jobs instead of running them while `held` is `Some`.
struct Gate {
    held: Mutex<Option<Vec<Job>>>,
}

impl Offload for Gate {
    fn spawn(&self, job: Job) {
        match self.held.lock().unwrap().as_mut() {
            Some(held) => held.push(job),
            None => drop(tokio::task::spawn_blocking(job)),
        }
    }
}

#[tokio::test]
async fn a_cancelled_write_breaks_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let gate = Arc::new(Gate {
        held: Mutex::new(None),
    });
    let store = DiskBlobs::open(&root, gate.clone()).await.unwrap();
    let mut sink: Box<dyn BlobSink> = store.create(ID).await.unwrap();
    *gate.held.lock().unwrap() = Some(Vec::new());
    // Large enough to be written out at once, then cancelled while the pool holds it.
    let big = Bytes::from(vec![7u8; 1 << 20]);
    assert!(sink.write(big).now_or_never().is_none());
    let held = gate.held.lock().unwrap().take().unwrap();
    assert_eq!(held.len(), 1);
    let err = sink.write(Bytes::from_static(b"more")).await.unwrap_err();
    assert_eq!(err.code(), "vault_sink_broken");
    let err = sink.commit().await.unwrap_err();
    assert_eq!(err.code(), "vault_sink_broken");
    for job in held {
        job();
    }
    assert_eq!(
        tmp_entries(&root),
        0,
        "the held write dropped the partial file"
    );
    assert_eq!(store.len(ID).await.unwrap_err().code(), "vault_not_found");
}

#[tokio::test]
async fn a_read_up_to_the_largest_sealed_chunk_comes_in_one_piece() {
    let (_dir, _root, store) = disk().await;
    let largest = vault::format::MAX_CHUNK_SIZE as usize + vault::TAG_LEN;
    let data = Bytes::from(vec![0x3C; largest + 1]);
    let mut sink = store.create(ID).await.unwrap();
    sink.write(data.clone()).await.unwrap();
    sink.commit().await.unwrap();
    let pieces = |range: std::ops::Range<u64>| {
        let store = &store;
        async move {
            let stream = store.read(ID, range).await.unwrap();
            let pieces: Vec<_> = stream.map(|piece| piece.unwrap().len()).collect().await;
            pieces
        }
    };
    assert_eq!(pieces(0..largest as u64).await, [largest]);
    assert_eq!(pieces(1..largest as u64 + 1).await, [largest]);
    assert_eq!(pieces(0..largest as u64 + 1).await, [largest, 1]);
    assert_eq!(pieces(7..7).await, Vec::<usize>::new());
}

#[tokio::test]
async fn sealed_chunks_read_from_disk_a_window_at_a_time() {
    let (_dir, _root, store) = disk().await;
    let data = crate::plaintext(600 * crate::CHUNK + 9, 4);
    let header = crate::header(3);
    let (blob, size, _) = crate::seal([9; 32], header, &data, &[65_536]);
    let mut sink = store.create(header.blob_id).await.unwrap();
    sink.write(Bytes::from(blob)).await.unwrap();
    sink.commit().await.unwrap();
    let (header, layout) = vault::sealed::open(&store, header.blob_id, size)
        .await
        .unwrap();
    let windows: Vec<_> = vault::sealed::windows(&layout, 0..=layout.chunk_count() - 1).collect();
    assert_eq!(windows, [0..=254, 255..=509, 510..=600]);
    let cipher = vault::ChunkCipher::new(&vault::DataKey::from_bytes([9; 32]), &header).unwrap();
    for (range, plain) in [
        (0..=600, &data[..]),
        (254..=255, &data[254 * 4096..256 * 4096]),
    ] {
        let got = crate::read_plaintext(&store, header.blob_id, &cipher, &layout, range)
            .await
            .unwrap();
        assert_eq!(got, plain);
    }
}
