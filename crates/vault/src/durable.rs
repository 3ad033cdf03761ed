//! Crash-safe file helpers shared by the key directory and the disk blob store:
//! private directories, private files written through a temp file (replacing, or
//! never replacing for key files), and directory fsync.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory the vault creates.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of every file the vault creates.
pub(crate) const FILE_MODE: u32 = 0o600;

/// Creates `path` (and missing parents) with mode 0700; leaves an existing one alone.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    // The umask may have removed bits; set the exact mode.
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// Creates a new file with mode 0600, failing if it exists.
pub(crate) fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Flushes a directory entry change (create, rename, unlink) to disk.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Writes `bytes` to `dir/name` atomically: a 0600 temp file `dir/.name.tmp`, fsynced,
/// renamed over `dir/name`, then `dir` fsynced.
pub(crate) fn write_file_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    remove_if_present(&tmp)?;
    let mut file = create_private_file(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// Creates `dir/name` holding `bytes` (mode 0600) and never replaces an existing
/// file: a fresh 0600 temp file `dir/.name.<pid>-<n>.tmp`, fsynced, hard-linked to
/// `dir/name` (which fails with `AlreadyExists` if the name exists), the temp file
/// removed, then `dir` fsynced. A crash leaves no `name` or a complete one.
pub(crate) fn create_file_no_replace(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let written = create_private_file(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&tmp, dir.join(name)));
    let removed = remove_if_present(&tmp);
    linked?;
    removed?;
    sync_dir(dir)
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// A directory under the system temp dir, removed on drop (tests only).
#[cfg(test)]
pub(crate) struct ScratchDir(pub(crate) std::path::PathBuf);

#[cfg(test)]
impl ScratchDir {
    pub(crate) fn new(label: &str) -> ScratchDir {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("vault-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        ScratchDir(path)
    }
}

#[cfg(test)]
impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
pub(crate) fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().mode() & 0o7777
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_is_private() {
        let scratch = ScratchDir::new("durable");
        write_file_atomic(&scratch.0, "f", b"one").unwrap();
        write_file_atomic(&scratch.0, "f", b"two").unwrap();
        assert_eq!(fs::read(scratch.0.join("f")).unwrap(), b"two");
        assert_eq!(mode_of(&scratch.0.join("f")), 0o600);
        assert!(!scratch.0.join(".f.tmp").exists());
    }

    #[test]
    fn no_replace_write_never_touches_an_existing_file() {
        let scratch = ScratchDir::new("durable");
        create_file_no_replace(&scratch.0, "k", b"one").unwrap();
        assert_eq!(fs::read(scratch.0.join("k")).unwrap(), b"one");
        assert_eq!(mode_of(&scratch.0.join("k")), 0o600);
        let err = create_file_no_replace(&scratch.0, "k", b"two").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(scratch.0.join("k")).unwrap(), b"one");
        let names: Vec<_> = fs::read_dir(&scratch.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k"], "no temp file is left");
    }

    #[test]
    fn private_dir_is_0700() {
        let scratch = ScratchDir::new("durable");
        let dir = scratch.0.join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
    }
}
