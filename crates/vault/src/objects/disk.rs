//! `DiskBlobs`, the disk backend of `Blobs`: blobs as files in the directory layout
//! of docs/vault-format.md §7, every blocking file operation run through the
//! caller's [`Offload`].
//!
//! A sink writes to a fresh `tmp/*.partial` file, gathering small chunks into larger
//! writes; commit fsyncs it, creates the shard directory if needed (fsyncing the
//! root), hard-links it to its name (which fails if the name exists: blobs are never
//! replaced, even by two racing commits), fsyncs the shard directory and removes the
//! partial name.
//!
//! A read opens the file, checks the range and reads the first piece in one job;
//! pieces are as large as the largest sealed chunk of the vault format, so a read of
//! whole chunks (what `sealed::read_chunks` asks for) comes as one buffer that the
//! reader opens in place.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};

use super::offload::{self, Offload};
use super::{BlobFuture, BlobSink, Blobs, ByteStream, check_range};
use crate::durable;
use crate::error::VaultError;
use crate::format::{MAX_CHUNK_SIZE, TAG_LEN};

/// The directory of blobs being written, under the root (do not change: the disk
/// layout of docs/vault-format.md §7).
const TMP_DIR: &str = "tmp";
const PARTIAL_SUFFIX: &str = ".partial";

/// What a sink gathers before writing it out.
const IO_CHUNK: usize = 256 * 1024;

/// The largest piece a read yields: the largest sealed chunk (ciphertext and tag), so
/// that a read of whole chunks up to that size comes as one piece.
const READ_PIECE: usize = MAX_CHUNK_SIZE as usize + TAG_LEN;

/// Blobs as files: committed at `root/<2 hex>/<32 hex>`, in progress under `root/tmp/`.
pub struct DiskBlobs {
    root: PathBuf,
    pool: Arc<dyn Offload>,
}

impl fmt::Debug for DiskBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskBlobs")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl DiskBlobs {
    /// Opens (creating with mode 0700) `root` and `root/tmp`; file i/o runs on `pool`.
    pub async fn open(root: &Path, pool: Arc<dyn Offload>) -> Result<DiskBlobs, VaultError> {
        let dir = root.to_owned();
        offload::run(&*pool, move || {
            durable::create_private_dir(&dir)?;
            Ok(durable::create_private_dir(&dir.join(TMP_DIR))?)
        })
        .await?;
        Ok(DiskBlobs {
            root: root.to_owned(),
            pool,
        })
    }

    fn target(&self, id: &[u8; 16]) -> Target {
        let dest = self.blob_path(id);
        let shard = dest
            .parent()
            .map_or_else(|| self.root.clone(), Path::to_owned);
        Target {
            root: self.root.clone(),
            dest,
            shard,
        }
    }

    /// `root/<2 hex>/<32 hex>` (a read builds it for every window it serves).
    fn blob_path(&self, id: &[u8; 16]) -> PathBuf {
        let name = hex(id);
        let mut path = PathBuf::with_capacity(self.root.as_os_str().len() + 36);
        path.push(&self.root);
        path.push(name.get(..2).unwrap_or_default());
        path.push(name);
        path
    }

    async fn run<T, W>(&self, work: W) -> Result<T, VaultError>
    where
        T: Send + 'static,
        W: FnOnce() -> Result<T, VaultError> + Send + 'static,
    {
        offload::run(&*self.pool, work).await
    }
}

impl Blobs for DiskBlobs {
    fn create(&self, id: [u8; 16]) -> BlobFuture<'_, Box<dyn BlobSink>> {
        let path = self.root.join(TMP_DIR).join(partial_name(&id));
        let target = self.target(&id);
        Box::pin(async move {
            let partial = self
                .run(move || {
                    let file = durable::create_private_file(&path)?;
                    Ok(Partial {
                        file,
                        path,
                        gone: false,
                    })
                })
                .await?;
            let sink: Box<dyn BlobSink> = Box::new(DiskSink {
                partial: Some(partial),
                pending: Vec::new(),
                pending_len: 0,
                target,
                pool: Arc::clone(&self.pool),
            });
            Ok(sink)
        })
    }

    fn len(&self, id: [u8; 16]) -> BlobFuture<'_, u64> {
        let path = self.blob_path(&id);
        Box::pin(self.run(move || Ok(fs::metadata(&path).map_err(not_found)?.len())))
    }

    fn read(&self, id: [u8; 16], range: Range<u64>) -> BlobFuture<'_, ByteStream> {
        let path = self.blob_path(&id);
        Box::pin(async move {
            // The first piece comes with the open: a read of one piece is one job.
            let (file, first, rest) = self
                .run(move || {
                    let file = File::open(&path).map_err(not_found)?;
                    check_range(&range, file.metadata()?.len())?;
                    let first = read_piece(&file, &range)?;
                    let rest = range.start + first.len() as u64..range.end;
                    Ok((file, first, rest))
                })
                .await?;
            let first = stream::iter((!first.is_empty()).then_some(Ok(first)));
            Ok(first
                .chain(file_stream(Arc::clone(&self.pool), file, rest))
                .boxed())
        })
    }

    fn remove(&self, id: [u8; 16]) -> BlobFuture<'_, ()> {
        let Target { dest, shard, .. } = self.target(&id);
        Box::pin(self.run(move || {
            fs::remove_file(&dest).map_err(not_found)?;
            Ok(durable::sync_dir(&shard)?)
        }))
    }

    fn list_page(&self, after: Option<[u8; 16]>, limit: usize) -> BlobFuture<'_, Vec<[u8; 16]>> {
        let root = self.root.clone();
        Box::pin(self.run(move || list_page(&root, after, limit)))
    }

    fn clean_partial(&self) -> BlobFuture<'_, usize> {
        let tmp = self.root.join(TMP_DIR);
        Box::pin(self.run(move || clean_tmp(&tmp)))
    }

    /// The directory of partial writes takes a file: one is made and removed.
    fn ready(&self) -> BlobFuture<'_, ()> {
        let tmp = self.root.join(TMP_DIR);
        Box::pin(self.run(move || {
            static PROBES: AtomicU64 = AtomicU64::new(0);
            let n = PROBES.fetch_add(1, Ordering::Relaxed);
            let probe = tmp.join(format!("ready-{}-{n}.probe", std::process::id()));
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)?;
            let written = file.write_all(b"r");
            drop(file);
            fs::remove_file(&probe)?;
            Ok(written?)
        }))
    }
}

/// Where a committed blob goes.
#[derive(Clone)]
struct Target {
    root: PathBuf,
    shard: PathBuf,
    dest: PathBuf,
}

impl Target {
    /// Makes `partial` durable and links it into place, never over an existing blob.
    fn publish(&self, partial: Partial) -> Result<(), VaultError> {
        partial.file.sync_all()?;
        if !self.shard.is_dir() {
            durable::create_private_dir(&self.shard)?;
            durable::sync_dir(&self.root)?;
        }
        match fs::hard_link(&partial.path, &self.dest) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Err(VaultError::BlobExists);
            }
            linked => linked?,
        }
        durable::sync_dir(&self.shard)?;
        // Dropping removes the partial name; if that fails, clean_partial will.
        drop(partial);
        Ok(())
    }
}

/// A partial file, removed when dropped unless discarded already. Dropped only on the
/// offload pool, since removing a file blocks.
struct Partial {
    file: File,
    path: PathBuf,
    gone: bool,
}

impl Partial {
    fn append(&self, pieces: &[Bytes]) -> io::Result<()> {
        pieces
            .iter()
            .try_for_each(|piece| (&self.file).write_all(piece))
    }

    /// Removes the file, reporting a failure.
    fn discard(mut self) -> io::Result<()> {
        self.gone = true;
        durable::remove_if_present(&self.path)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.gone {
            // Best effort: clean_partial removes whatever survives.
            let _ = fs::remove_file(&self.path);
        }
    }
}

struct DiskSink {
    /// `None` once a write failed or was cancelled: the sink is broken.
    partial: Option<Partial>,
    /// Chunks not yet written to the file, `pending_len` bytes in all.
    pending: Vec<Bytes>,
    pending_len: usize,
    target: Target,
    pool: Arc<dyn Offload>,
}

impl DiskSink {
    /// Writes the pending chunks out. The partial file is away while the pool writes,
    /// so a cancelled flush leaves the sink broken (and the pool drops the file).
    async fn flush(&mut self) -> Result<(), VaultError> {
        let partial = self.partial.take().ok_or(VaultError::SinkBroken)?;
        let pieces = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let partial = offload::run(&*self.pool, move || {
            partial.append(&pieces)?;
            Ok(partial)
        })
        .await?;
        self.partial = Some(partial);
        Ok(())
    }
}

impl BlobSink for DiskSink {
    fn write(&mut self, chunk: Bytes) -> BlobFuture<'_, ()> {
        Box::pin(async move {
            if self.partial.is_none() {
                return Err(VaultError::SinkBroken);
            }
            if !chunk.is_empty() {
                self.pending_len += chunk.len();
                self.pending.push(chunk);
            }
            if self.pending_len >= IO_CHUNK {
                self.flush().await?;
            }
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> BlobFuture<'static, ()> {
        Box::pin(async move {
            let partial = self.partial.take().ok_or(VaultError::SinkBroken)?;
            let pieces = std::mem::take(&mut self.pending);
            let target = self.target.clone();
            offload::run(&*self.pool, move || {
                partial.append(&pieces)?;
                target.publish(partial)
            })
            .await
        })
    }

    fn abort(mut self: Box<Self>) -> BlobFuture<'static, ()> {
        Box::pin(async move {
            match self.partial.take() {
                Some(partial) => offload::run(&*self.pool, move || Ok(partial.discard()?)).await,
                // Broken: the pool dropped (removed) the partial file already.
                None => Ok(()),
            }
        })
    }
}

impl Drop for DiskSink {
    fn drop(&mut self) {
        if let Some(partial) = self.partial.take() {
            offload::drop_on(&*self.pool, partial);
        }
    }
}

/// Bytes `range` of `file`, read on `pool` a piece at a time.
fn file_stream(pool: Arc<dyn Offload>, file: File, range: Range<u64>) -> ByteStream {
    let file = Arc::new(file);
    stream::try_unfold(range, move |range| {
        let pool = Arc::clone(&pool);
        let file = Arc::clone(&file);
        async move {
            if range.is_empty() {
                return Ok(None);
            }
            let (start, end) = (range.start, range.end);
            let piece = offload::run(&*pool, move || Ok(read_piece(&file, &range)?)).await?;
            let next = start + piece.len() as u64..end;
            Ok(Some((piece, next)))
        }
    })
    .boxed()
}

/// The first piece of `range` of `file`: its first `READ_PIECE` bytes, or all of it.
fn read_piece(file: &File, range: &Range<u64>) -> io::Result<Bytes> {
    let len = range.end.saturating_sub(range.start).min(READ_PIECE as u64);
    let mut buf = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    file.read_exact_at(&mut buf, range.start)?;
    Ok(Bytes::from(buf))
}

/// Up to `limit` ids after `after`, shard by shard from `after`'s, each shard read
/// whole (a 256th of the store) but only what the page needs kept.
fn list_page(
    root: &Path,
    after: Option<[u8; 16]>,
    limit: usize,
) -> Result<Vec<[u8; 16]>, VaultError> {
    let mut page = Vec::new();
    let first = after.map_or(0, |id| id[0]);
    for shard in first..=u8::MAX {
        if page.len() >= limit {
            break;
        }
        let mut ids = shard_ids(root, shard)?;
        ids.retain(|id| after.is_none_or(|after| *id > after));
        ids.sort_unstable();
        ids.truncate(limit - page.len());
        page.append(&mut ids);
    }
    Ok(page)
}

/// The well-formed committed ids in the directory of shard `shard`, if there is one.
fn shard_ids(root: &Path, shard: u8) -> Result<Vec<[u8; 16]>, VaultError> {
    let entries = match fs::read_dir(root.join(hex(&[shard]))) {
        Ok(entries) => entries,
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(err) => return Err(err.into()),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some(id) = name.to_str().and_then(parse_id)
            && id[0] == shard
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Removes every file in `tmp` and returns how many.
fn clean_tmp(tmp: &Path) -> Result<usize, VaultError> {
    let mut removed = 0;
    for entry in fs::read_dir(tmp)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            durable::remove_if_present(&entry.path())?;
            removed += 1;
        }
    }
    durable::sync_dir(tmp)?;
    Ok(removed)
}

/// A fresh partial-file name for blob `id`, unique within this process and across
/// processes.
fn partial_name(id: &[u8; 16]) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}{PARTIAL_SUFFIX}", hex(id), std::process::id())
}

fn not_found(err: io::Error) -> VaultError {
    if err.kind() == io::ErrorKind::NotFound {
        VaultError::NotFound
    } else {
        VaultError::Io(err)
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for nibble in bytes.iter().flat_map(|b| [b >> 4, b & 0xF]) {
        text.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
    }
    text
}

/// Parses a 32-character lowercase hex blob file name.
fn parse_id(name: &str) -> Option<[u8; 16]> {
    let lower_hex = name
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if name.len() != 32 || !lower_hex {
        return None;
    }
    let mut id = [0u8; 16];
    for (slot, pair) in id.iter_mut().zip(name.as_bytes().chunks_exact(2)) {
        *slot = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: [u8; 16] = [0xA1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0xFF];

    fn check(name: &str, id: Option<[u8; 16]>) {
        assert_eq!(parse_id(name), id, "{name}");
    }

    #[test]
    fn ids_in_hex() {
        assert_eq!(hex(&ID), "a102030405060708090a0b0c0d0e0fff");
        check("a102030405060708090a0b0c0d0e0fff", Some(ID));
        check("A102030405060708090a0b0c0d0e0fff", None);
        check("a102", None);
        check("a102030405060708090a0b0c0d0e0fffa1", None);
        check("g102030405060708090a0b0c0d0e0fff", None);
        check("+102030405060708090a0b0c0d0e0fff", None);
    }
}
