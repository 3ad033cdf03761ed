//! `MemBlobs`, an in-memory `Blobs` for the tests. It passes the conformance suite,
//! and its reads come in pieces of a size the test sets, views of one shared buffer,
//! so that readers meet pieces cutting through chunks (a disk store gives a window of
//! chunks in one piece of its own).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::{Bound, Range};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream;
use vault::{BlobFuture, BlobSink, Blobs, ByteStream, VaultError, check_range};

type Map = Arc<Mutex<BTreeMap<[u8; 16], Bytes>>>;

/// Committed blobs in memory; reads yield pieces of at most `piece` bytes.
pub struct MemBlobs {
    blobs: Map,
    piece: usize,
}

impl MemBlobs {
    pub fn new(piece: usize) -> MemBlobs {
        MemBlobs {
            blobs: Map::default(),
            piece: piece.max(1),
        }
    }

    /// Commits `bytes` as blob `id`, replacing any (for tampering tests).
    pub fn insert(&self, id: [u8; 16], bytes: Vec<u8>) {
        self.blobs.lock().unwrap().insert(id, Bytes::from(bytes));
    }

    fn get(&self, id: [u8; 16]) -> Result<Bytes, VaultError> {
        let blobs = self.blobs.lock().unwrap();
        blobs.get(&id).cloned().ok_or(VaultError::NotFound)
    }
}

impl Blobs for MemBlobs {
    fn create(&self, id: [u8; 16]) -> BlobFuture<'_, Box<dyn BlobSink>> {
        let sink: Box<dyn BlobSink> = Box::new(MemSink {
            blobs: Arc::clone(&self.blobs),
            id,
            bytes: Vec::new(),
        });
        Box::pin(async move { Ok(sink) })
    }

    fn len(&self, id: [u8; 16]) -> BlobFuture<'_, u64> {
        let len = self.get(id).map(|bytes| bytes.len() as u64);
        Box::pin(async move { len })
    }

    fn read(&self, id: [u8; 16], range: Range<u64>) -> BlobFuture<'_, ByteStream> {
        let piece = self.piece;
        let read = self.get(id).and_then(|bytes| {
            check_range(&range, bytes.len() as u64)?;
            let rest = bytes.slice(range.start as usize..range.end as usize);
            let pieces = stream::unfold(rest, move |mut rest| async move {
                let next = rest.split_to(piece.min(rest.len()));
                (!next.is_empty()).then_some((Ok(next), rest))
            });
            Ok(pieces.boxed())
        });
        Box::pin(async move { read })
    }

    fn remove(&self, id: [u8; 16]) -> BlobFuture<'_, ()> {
        let removed = self.blobs.lock().unwrap().remove(&id);
        Box::pin(async move { removed.map(drop).ok_or(VaultError::NotFound) })
    }

    fn list_page(&self, after: Option<[u8; 16]>, limit: usize) -> BlobFuture<'_, Vec<[u8; 16]>> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let blobs = self.blobs.lock().unwrap();
        let page = blobs
            .range((from, Bound::Unbounded))
            .map(|(id, _)| *id)
            .take(limit)
            .collect();
        Box::pin(async move { Ok(page) })
    }

    fn clean_partial(&self) -> BlobFuture<'_, usize> {
        // Nothing of an interrupted write outlives its sink.
        Box::pin(async move { Ok(0) })
    }
}

struct MemSink {
    blobs: Map,
    id: [u8; 16],
    bytes: Vec<u8>,
}

impl BlobSink for MemSink {
    fn write(&mut self, chunk: Bytes) -> BlobFuture<'_, ()> {
        self.bytes.extend_from_slice(&chunk);
        Box::pin(async move { Ok(()) })
    }

    fn commit(self: Box<Self>) -> BlobFuture<'static, ()> {
        let MemSink { blobs, id, bytes } = *self;
        let committed = match blobs.lock().unwrap().entry(id) {
            Entry::Occupied(_) => Err(VaultError::BlobExists),
            Entry::Vacant(slot) => {
                slot.insert(Bytes::from(bytes));
                Ok(())
            }
        };
        Box::pin(async move { committed })
    }

    fn abort(self: Box<Self>) -> BlobFuture<'static, ()> {
        Box::pin(async move { Ok(()) })
    }
}

#[tokio::test]
async fn memory_backend_conforms() {
    for piece in [7, 1000, usize::MAX] {
        vault::conformance::run(&MemBlobs::new(piece)).await;
    }
}
