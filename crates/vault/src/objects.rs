//! Blob storage as an async, object-safe trait, shaped so that an object store (S3)
//! can sit behind it as well as a directory: `Blobs` writes a blob as a stream of
//! chunks through a `BlobSink` that makes it visible only on `commit`, reads byte
//! ranges back as a stream, and lists ids a page at a time. `DiskBlobs` is the disk
//! backend (docs/vault-format.md §7); every backend passes the suite in
//! `vault::conformance` (cargo feature `conformance`).
//!
//! The futures are boxed (`BoxFuture`) so that `dyn Blobs` works; they are `Send`, so
//! they can be awaited from any task. The crate depends on no async runtime: the
//! disk backend runs its blocking file I/O through an [`Offload`] its caller provides
//! (tokio's blocking pool in the server).

mod disk;
mod offload;

use std::ops::Range;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

use crate::error::VaultError;

pub use disk::DiskBlobs;
pub use offload::Offload;

/// The future of every `Blobs` and `BlobSink` operation.
pub type BlobFuture<'a, T> = BoxFuture<'a, Result<T, VaultError>>;

/// The bytes of a byte range of a blob, in order, in pieces of any size. It owns
/// what it needs, so it may outlive the store's borrow.
pub type ByteStream = BoxStream<'static, Result<Bytes, VaultError>>;

/// Where encrypted blobs are kept, by 16-byte id. A blob is written once: it appears
/// complete on commit or not at all, and is never replaced (it may be removed).
///
/// Errors with a meaning every backend keeps: `VaultError::NotFound` (no committed
/// blob with this id), `VaultError::BlobExists` (a commit, or a create where the
/// backend can tell early, over a committed id), `VaultError::BlobRange` (a read range
/// that is inverted or reaches past the end). Anything else is an operational error.
pub trait Blobs: Send + Sync {
    /// Starts writing blob `id`. Nothing is visible under `id` until the sink's
    /// `commit`; two sinks may be open for one id, and only the first commit wins.
    fn create(&self, id: [u8; 16]) -> BlobFuture<'_, Box<dyn BlobSink>>;

    /// The length in bytes of committed blob `id`.
    fn len(&self, id: [u8; 16]) -> BlobFuture<'_, u64>;

    /// Streams bytes `range` of committed blob `id`, reading only that range. An empty
    /// range within the blob (`len..len` included) gives an empty stream. The checks
    /// (`NotFound`, `BlobRange`) are made before the stream is returned; the stream
    /// fails only on an operational error.
    fn read(&self, id: [u8; 16], range: Range<u64>) -> BlobFuture<'_, ByteStream>;

    /// Deletes committed blob `id`.
    fn remove(&self, id: [u8; 16]) -> BlobFuture<'_, ()>;

    /// Up to `limit` committed ids greater than `after` (all ids when `None`), in
    /// ascending order; fewer than `limit` only when there are no more. Pass the last
    /// id of a page as `after` to get the next, so a listing never holds every id.
    fn list_page(&self, after: Option<[u8; 16]>, limit: usize) -> BlobFuture<'_, Vec<[u8; 16]>>;

    /// Deletes what interrupted writes (a crash, a sink leaked without being dropped)
    /// left behind and returns how many leftovers it removed; committed blobs are
    /// untouched. Call it only when no sink is open (at startup).
    fn clean_partial(&self) -> BlobFuture<'_, usize>;

    /// Whether the store answers now (a readiness check): by default, whether a
    /// listing does. A backend that can also tell whether it takes writes says so.
    fn ready(&self) -> BlobFuture<'_, ()> {
        Box::pin(async move { self.list_page(None, 1).await.map(|_| ()) })
    }
}

/// A blob being written. Dropping it without `commit` discards what was written
/// (in the background; `abort` does the same and waits for it).
pub trait BlobSink: Send {
    /// Appends `chunk`. After a failed or cancelled write the sink is broken: later
    /// writes and `commit` fail with `VaultError::SinkBroken`.
    fn write(&mut self, chunk: Bytes) -> BlobFuture<'_, ()>;

    /// Makes the blob durable and then visible under its id, atomically, or fails
    /// with `VaultError::BlobExists` if a blob with that id is committed already
    /// (which stays as it was). Dropping the future before it completes leaves the
    /// blob committed or not, never half-written.
    fn commit(self: Box<Self>) -> BlobFuture<'static, ()>;

    /// Discards what was written.
    fn abort(self: Box<Self>) -> BlobFuture<'static, ()>;
}

/// Checks a read range against a blob of `len` bytes: `BlobRange` if it is inverted
/// or reaches past the end. For backends.
pub fn check_range(range: &Range<u64>, len: u64) -> Result<(), VaultError> {
    if range.start <= range.end && range.end <= len {
        Ok(())
    } else {
        Err(VaultError::BlobRange {
            start: range.start,
            end: range.end,
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: Range<u64>, len: u64, ok: bool) {
        let result = check_range(&range, len);
        assert_eq!(result.is_ok(), ok, "{range:?} in {len}");
        if let Err(err) = result {
            assert_eq!(err.code(), "vault_blob_range");
        }
    }

    #[test]
    fn ranges() {
        #[expect(clippy::reversed_empty_ranges, reason = "an inverted range is a case")]
        let inverted = 5..3;
        check(0..0, 0, true);
        check(0..1, 0, false);
        check(0..10, 10, true);
        check(10..10, 10, true);
        check(9..10, 10, true);
        check(9..11, 10, false);
        check(11..11, 10, false);
        check(inverted, 10, false);
        check(u64::MAX..u64::MAX, 10, false);
    }
}
