//! Blob backends behind one trait: a blob is written once through a `BlobWriter`,
//! becomes visible only on `commit`, and is read back by offset through a
//! `BlobReader`. `DiskBlobStore` keeps blobs as files; an S3 backend can follow.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::durable;
use crate::error::VaultError;
use crate::format::{HEADER_LEN, Header, Layout};
use crate::stream::ChunkCipher;

/// Where encrypted blobs are kept.
pub trait BlobStore: Send + Sync {
    /// Starts writing blob `id`; nothing is visible until `commit`.
    fn create(&self, id: [u8; 16]) -> Result<Box<dyn BlobWriter>, VaultError>;
    /// Opens a committed blob; `VaultError::NotFound` if absent.
    fn open(&self, id: [u8; 16]) -> Result<Box<dyn BlobReader>, VaultError>;
    /// Deletes a committed blob; `VaultError::NotFound` if absent.
    fn remove(&self, id: [u8; 16]) -> Result<(), VaultError>;
    /// Ids of every committed blob, sorted.
    fn list(&self) -> Result<Vec<[u8; 16]>, VaultError>;
    /// Deletes leftovers of interrupted writes and returns how many. Call it only
    /// when no writer is active (at startup).
    fn clean_partial(&self) -> Result<usize, VaultError>;
}

/// A blob being written. Dropping it without `commit` discards what was written.
pub trait BlobWriter: Send {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), VaultError>;
    /// Makes the blob durable and visible under its id.
    fn commit(self: Box<Self>) -> Result<(), VaultError>;
}

/// A committed blob, read by offset.
pub trait BlobReader: Send {
    fn len(&self) -> u64;
    /// Fills `buf` from `offset`, failing if the blob ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), VaultError>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads and decodes the header at the start of a blob.
pub fn read_header(reader: &dyn BlobReader) -> Result<Header, VaultError> {
    let mut bytes = [0u8; HEADER_LEN];
    if reader.len() < HEADER_LEN as u64 {
        return Err(VaultError::BadHeader(
            "blob is shorter than a header".into(),
        ));
    }
    reader.read_at(0, &mut bytes)?;
    Header::decode(&bytes)
}

/// Reads and opens chunk `index`. A blob whose length differs from the layout's is
/// an integrity failure of the layout's last chunk (truncated or extended).
pub fn read_chunk(
    reader: &dyn BlobReader,
    cipher: &ChunkCipher,
    layout: &Layout,
    index: u64,
) -> Result<Vec<u8>, VaultError> {
    let ciphertext = read_ciphertext(reader, layout, index)?;
    cipher.open_chunk(index, layout.is_last(index), &ciphertext)
}

/// Like [`read_chunk`], with one allocation: the chunk is read and opened in place.
pub fn read_chunk_in_place(
    reader: &dyn BlobReader,
    cipher: &ChunkCipher,
    layout: &Layout,
    index: u64,
) -> Result<Vec<u8>, VaultError> {
    let mut buf =
        bytes::BytesMut::from(bytes::Bytes::from(read_ciphertext(reader, layout, index)?));
    cipher.open_chunk_in_place(index, layout.is_last(index), &mut buf)?;
    Ok(Vec::from(buf))
}

/// The sealed bytes (ciphertext and tag) of chunk `index`, after the length checks.
fn read_ciphertext(
    reader: &dyn BlobReader,
    layout: &Layout,
    index: u64,
) -> Result<Vec<u8>, VaultError> {
    let count = layout.chunk_count();
    if index >= count {
        return Err(VaultError::ChunkIndex {
            chunk: index,
            count,
        });
    }
    if reader.len() != layout.ciphertext_len() {
        return Err(VaultError::Integrity { chunk: count - 1 });
    }
    let mut buf = vec![0u8; layout.chunk_ciphertext_len(index)];
    reader.read_at(layout.chunk_offset(index), &mut buf)?;
    Ok(buf)
}

/// Blobs as files: committed at `root/<2 hex>/<32 hex>`, in progress under `root/tmp/`.
#[derive(Debug)]
pub struct DiskBlobStore {
    root: PathBuf,
}

/// The directory of blobs being written, under the root (do not change: the disk
/// layout of docs/vault-format.md §7, shared with `DiskBlobs`).
pub(crate) const TMP_DIR: &str = "tmp";
const PARTIAL_SUFFIX: &str = ".partial";

/// A fresh partial-file name for blob `id`, unique within this process (one counter
/// for both disk backends) and across processes.
pub(crate) fn partial_name(id: &[u8; 16]) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}{PARTIAL_SUFFIX}", hex(id), std::process::id())
}

impl DiskBlobStore {
    /// Opens (creating with mode 0700) `root` and `root/tmp`.
    pub fn open(root: &Path) -> Result<DiskBlobStore, VaultError> {
        durable::create_private_dir(root)?;
        durable::create_private_dir(&root.join(TMP_DIR))?;
        Ok(DiskBlobStore {
            root: root.to_owned(),
        })
    }

    fn shard_dir(&self, id: &[u8; 16]) -> PathBuf {
        self.root.join(hex(&id[..1]))
    }

    fn blob_path(&self, id: &[u8; 16]) -> PathBuf {
        self.shard_dir(id).join(hex(id))
    }

    /// A fresh partial-file path, unique within this process and across processes.
    fn partial_path(&self, id: &[u8; 16]) -> PathBuf {
        self.root.join(TMP_DIR).join(partial_name(id))
    }

    /// Committed ids in one shard directory.
    fn list_shard(&self, shard: &str, ids: &mut Vec<[u8; 16]>) -> Result<(), VaultError> {
        for entry in fs::read_dir(self.root.join(shard))? {
            let name = entry?.file_name();
            let Some(id) = name.to_str().and_then(parse_id) else {
                continue;
            };
            if hex(&id[..1]) == shard {
                ids.push(id);
            }
        }
        Ok(())
    }
}

impl BlobStore for DiskBlobStore {
    fn create(&self, id: [u8; 16]) -> Result<Box<dyn BlobWriter>, VaultError> {
        let partial = self.partial_path(&id);
        let file = durable::create_private_file(&partial)?;
        let dest_dir = self.shard_dir(&id);
        let dest = self.blob_path(&id);
        Ok(Box::new(DiskBlobWriter {
            file,
            partial,
            root: self.root.clone(),
            dest_dir,
            dest,
            done: false,
        }))
    }

    fn open(&self, id: [u8; 16]) -> Result<Box<dyn BlobReader>, VaultError> {
        let file = File::open(self.blob_path(&id)).map_err(not_found)?;
        let len = file.metadata()?.len();
        Ok(Box::new(DiskBlobReader { file, len }))
    }

    fn remove(&self, id: [u8; 16]) -> Result<(), VaultError> {
        fs::remove_file(self.blob_path(&id)).map_err(not_found)?;
        durable::sync_dir(&self.shard_dir(&id))?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<[u8; 16]>, VaultError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(shard) = name.to_str().filter(|n| n.len() == 2 && is_lower_hex(n)) else {
                continue;
            };
            if entry.file_type()?.is_dir() {
                self.list_shard(shard, &mut ids)?;
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    fn clean_partial(&self) -> Result<usize, VaultError> {
        let tmp = self.root.join(TMP_DIR);
        let mut removed = 0;
        for entry in fs::read_dir(&tmp)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                durable::remove_if_present(&entry.path())?;
                removed += 1;
            }
        }
        durable::sync_dir(&tmp)?;
        Ok(removed)
    }
}

pub(crate) fn not_found(err: io::Error) -> VaultError {
    if err.kind() == io::ErrorKind::NotFound {
        VaultError::NotFound
    } else {
        VaultError::Io(err)
    }
}

struct DiskBlobWriter {
    file: File,
    partial: PathBuf,
    root: PathBuf,
    dest_dir: PathBuf,
    dest: PathBuf,
    done: bool,
}

impl DiskBlobWriter {
    /// Creates the shard directory if needed, making its entry durable in `root`.
    fn ensure_shard(&self) -> io::Result<()> {
        if !self.dest_dir.is_dir() {
            durable::create_private_dir(&self.dest_dir)?;
            durable::sync_dir(&self.root)?;
        }
        Ok(())
    }
}

impl BlobWriter for DiskBlobWriter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), VaultError> {
        Ok(self.file.write_all(bytes)?)
    }

    fn commit(mut self: Box<Self>) -> Result<(), VaultError> {
        self.file.sync_all()?;
        self.ensure_shard()?;
        if self.dest.try_exists()? {
            return Err(VaultError::BlobExists);
        }
        fs::rename(&self.partial, &self.dest)?;
        self.done = true;
        durable::sync_dir(&self.dest_dir)?;
        Ok(())
    }
}

impl Drop for DiskBlobWriter {
    fn drop(&mut self) {
        if !self.done {
            // Best effort: clean_partial removes whatever survives.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

struct DiskBlobReader {
    file: File,
    len: u64,
}

impl BlobReader for DiskBlobReader {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), VaultError> {
        Ok(self.file.read_exact_at(buf, offset)?)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a 32-character lowercase hex blob file name.
pub(crate) fn parse_id(name: &str) -> Option<[u8; 16]> {
    if name.len() != 32 || !is_lower_hex(name) {
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
    use crate::durable::{ScratchDir, mode_of};

    const ID: [u8; 16] = [0xA1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0xFF];

    fn store(scratch: &ScratchDir) -> DiskBlobStore {
        DiskBlobStore::open(&scratch.0.join("blobs")).unwrap()
    }

    fn tmp_entries(scratch: &ScratchDir) -> usize {
        fs::read_dir(scratch.0.join("blobs/tmp")).unwrap().count()
    }

    #[test]
    fn write_commit_read() {
        let scratch = ScratchDir::new("blobs");
        let store = store(&scratch);
        assert_eq!(mode_of(&scratch.0.join("blobs")), 0o700);
        assert_eq!(mode_of(&scratch.0.join("blobs/tmp")), 0o700);
        let mut writer = store.create(ID).unwrap();
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        assert!(
            store.list().unwrap().is_empty(),
            "not visible before commit"
        );
        writer.commit().unwrap();
        let path = scratch.0.join("blobs/a1/a102030405060708090a0b0c0d0e0fff");
        assert_eq!(fs::read(&path).unwrap(), b"hello world");
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(store.list().unwrap(), [ID]);
        assert_eq!(tmp_entries(&scratch), 0);
        let reader = store.open(ID).unwrap();
        assert_eq!(reader.len(), 11);
        let mut buf = [0u8; 5];
        reader.read_at(6, &mut buf).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(reader.read_at(7, &mut buf).unwrap_err().code(), "vault_io");
    }

    #[test]
    fn drop_without_commit_leaves_nothing() {
        let scratch = ScratchDir::new("blobs");
        let store = store(&scratch);
        let mut writer = store.create(ID).unwrap();
        writer.write_all(b"partial").unwrap();
        assert_eq!(tmp_entries(&scratch), 1);
        drop(writer);
        assert_eq!(tmp_entries(&scratch), 0);
        assert!(store.list().unwrap().is_empty());
        assert_eq!(
            store.open(ID).err().map(|e| e.code()),
            Some("vault_not_found")
        );
    }

    #[test]
    fn clean_partial_removes_leftovers() {
        let scratch = ScratchDir::new("blobs");
        let store = store(&scratch);
        fs::write(scratch.0.join("blobs/tmp/abc-1-0.partial"), b"x").unwrap();
        fs::write(scratch.0.join("blobs/tmp/def-1-1.partial"), b"y").unwrap();
        assert_eq!(store.clean_partial().unwrap(), 2);
        assert_eq!(tmp_entries(&scratch), 0);
        assert_eq!(store.clean_partial().unwrap(), 0);
    }

    #[test]
    fn remove_and_list() {
        let scratch = ScratchDir::new("blobs");
        let store = store(&scratch);
        for id in [ID, [0; 16], [0xFF; 16]] {
            let mut writer = store.create(id).unwrap();
            writer.write_all(&id).unwrap();
            writer.commit().unwrap();
        }
        let dup = store.create(ID).unwrap();
        assert_eq!(dup.commit().unwrap_err().code(), "vault_blob_exists");
        fs::write(scratch.0.join("blobs/a1/not-a-blob"), b"").unwrap();
        fs::write(
            scratch.0.join("blobs/00/ff000000000000000000000000000000"),
            b"",
        )
        .unwrap();
        assert_eq!(store.list().unwrap(), [[0; 16], ID, [0xFF; 16]]);
        store.remove(ID).unwrap();
        assert_eq!(store.remove(ID).unwrap_err().code(), "vault_not_found");
        assert_eq!(store.list().unwrap(), [[0; 16], [0xFF; 16]]);
    }

    #[test]
    fn ids_in_hex() {
        assert_eq!(hex(&ID), "a102030405060708090a0b0c0d0e0fff");
        assert_eq!(parse_id("a102030405060708090a0b0c0d0e0fff"), Some(ID));
        assert_eq!(parse_id("A102030405060708090a0b0c0d0e0fff"), None);
        assert_eq!(parse_id("a102"), None);
    }
}
