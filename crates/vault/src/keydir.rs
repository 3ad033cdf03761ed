//! The key directory as a whole: the files it may hold, the manifest that lists
//! every key file with a key check value, and the checks every load makes, so that
//! a damaged, partial or tampered directory is refused and never repaired by making
//! new keys. Key files are only ever created, with no-replace semantics; `current`
//! and the manifest are the only files that are replaced. Format: docs/vault-format.md §6.

mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::durable;
use crate::error::VaultError;
use crate::keys::{self, KEY_LEN, Keyring};
use manifest::{Entry, Manifest, is_file_name};
pub use manifest::{KCV_LABEL, KCV_LEN, MANIFEST_HEADER, check_value};

/// The manifest's file name in the key directory. Do not change.
pub const MANIFEST_FILE: &str = "manifest";
/// The file naming the current KEK. Do not change.
pub(crate) const CURRENT_FILE: &str = "current";
/// Largest key file other than a KEK (e.g. a signer key text).
const MAX_FILE_LEN: usize = 4096;
/// Largest manifest read.
const MAX_MANIFEST_LEN: usize = 64 * 1024;

/// What a key directory holds before anything is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDirState {
    /// No directory at that path.
    Missing,
    /// A directory with no entry at all.
    Empty,
    /// A directory with at least one entry.
    Populated,
}

/// Tells apart a missing, an empty and a populated key directory.
pub fn state(dir: &Path) -> Result<KeyDirState, VaultError> {
    let mut entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(KeyDirState::Missing),
        Err(e) => return Err(e.into()),
    };
    Ok(match entries.next() {
        None => KeyDirState::Empty,
        Some(entry) => {
            entry?;
            KeyDirState::Populated
        }
    })
}

/// Which names besides KEKs, `current` and the manifest a directory may hold.
#[derive(Clone, Copy)]
enum Others<'a> {
    /// Exactly these key files; any other name is refused.
    Only(&'a [&'a str]),
    /// Any; those the manifest lists are checked, the rest ignored.
    Ignored,
}

/// The key directory's contents, read and checked.
struct Scan {
    keks: BTreeMap<String, Zeroizing<Vec<u8>>>,
    files: BTreeMap<String, Zeroizing<Vec<u8>>>,
    manifest: Option<Manifest>,
    current: Option<String>,
}

/// Reads every entry of `dir` and checks each on its own: modes, kinds, names, KEK
/// lengths, the manifest's and `current`'s syntax.
fn scan(dir: &Path, others: Others<'_>) -> Result<Scan, VaultError> {
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(VaultError::BadKeyFile {
            path: dir.to_owned(),
            reason: "not a directory".into(),
        });
    }
    keys::check_private(dir, &meta)?;
    let mut found = Scan {
        keks: BTreeMap::new(),
        files: BTreeMap::new(),
        manifest: None,
        current: None,
    };
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let path = dir.join(&name);
        let Some(name) = name.to_str() else {
            return Err(VaultError::UnexpectedKeyFile { path });
        };
        names.push(name.to_owned());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if name.starts_with('.') && name.ends_with(".tmp") {
            continue; // left by an interrupted write; never key material in use
        }
        if name == crate::roomkeys::ROOM_KEYS_DIR {
            // the room keys, each loaded when its room is used (`roomkeys.rs`)
            crate::roomkeys::check_dir(&path)?;
            continue;
        }
        if let Some(id) = keys::kek_id_of_file(&name) {
            keys::check_id(id)
                .map_err(|_| keys::bad_file(&path, "file name holds an invalid key id"))?;
            found.keks.insert(id.to_owned(), read_kek_bytes(&path)?);
        } else if name == CURRENT_FILE {
            found.current = Some(keys::read_current(dir)?);
        } else if name == MANIFEST_FILE {
            let bytes = keys::read_private(&path, MAX_MANIFEST_LEN)?;
            let text =
                std::str::from_utf8(&bytes).map_err(|_| keys::bad_file(&path, "not utf-8"))?;
            let manifest =
                Manifest::parse(text).map_err(|reason| keys::bad_file(&path, &reason))?;
            found.manifest = Some(manifest);
        } else {
            if let Others::Only(allowed) = others
                && !allowed.contains(&name.as_str())
            {
                return Err(VaultError::UnexpectedKeyFile { path });
            }
            if is_file_name(&name) {
                found.files.insert(name, read_file_bytes(&path, others)?);
            }
        }
    }
    Ok(found)
}

fn read_kek_bytes(path: &Path) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let bytes = Zeroizing::new(keys::read_private(path, KEY_LEN)?);
    if bytes.len() != KEY_LEN {
        return Err(keys::bad_file(path, "expected exactly 32 bytes"));
    }
    Ok(bytes)
}

fn read_file_bytes(path: &Path, others: Others<'_>) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if let Others::Ignored = others {
        // Checked only if the manifest lists it; unreadable is then reported there.
        return Ok(Zeroizing::new(
            keys::read_private(path, MAX_FILE_LEN).unwrap_or_default(),
        ));
    }
    let bytes = Zeroizing::new(keys::read_private(path, MAX_FILE_LEN)?);
    if bytes.is_empty() || bytes.len() > MAX_FILE_LEN {
        return Err(keys::bad_file(path, "expected between 1 and 4096 bytes"));
    }
    Ok(bytes)
}

/// Checks the scanned files against the manifest (when there is one) and `current`
/// against both.
fn check_consistent(dir: &Path, found: &Scan, others: Others<'_>) -> Result<String, VaultError> {
    if let Some(manifest) = &found.manifest {
        for entry in &manifest.entries {
            let name = entry.file_name();
            let path = dir.join(&name);
            let bytes = match entry {
                Entry::Kek { id, .. } => found.keks.get(id),
                Entry::File { .. } => found.files.get(&name),
            };
            let Some(bytes) = bytes else {
                return Err(VaultError::KeyMissing { path });
            };
            if check_value(bytes) != *entry.kcv() {
                return Err(VaultError::KeyMismatch { path });
            }
        }
        let on_disk = found.keks.keys().map(|id| keys::kek_file_name(id));
        let listed_others = match others {
            Others::Only(_) => found.files.keys().cloned().collect(),
            Others::Ignored => Vec::new(),
        };
        for name in on_disk.chain(listed_others) {
            if manifest.find(&name).is_none() {
                return Err(VaultError::KeyUnlisted {
                    path: dir.join(name),
                });
            }
        }
    }
    let Some(current) = &found.current else {
        return Err(current_missing(dir, found));
    };
    let path = dir.join(CURRENT_FILE);
    if let Some(manifest) = &found.manifest
        && !manifest.lists_kek(current)
    {
        let reason = format!("names `{current}`, which the key manifest does not list");
        return Err(keys::bad_file(&path, &reason));
    }
    if !found.keks.contains_key(current) {
        let reason = format!("current key `{current}` has no key file");
        return Err(keys::bad_file(&path, &reason));
    }
    Ok(current.clone())
}

fn current_missing(dir: &Path, found: &Scan) -> VaultError {
    let mut names: BTreeSet<String> = found
        .keks
        .keys()
        .map(|id| keys::kek_file_name(id))
        .collect();
    names.extend(found.files.keys().cloned());
    if found.manifest.is_some() {
        names.insert(MANIFEST_FILE.to_owned());
    }
    let holds = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let newest = match found.manifest.as_ref().and_then(Manifest::newest_kek) {
        Some(id) => format!("`{id}`, the last `kek` line of the manifest"),
        None => match found.keks.keys().collect::<Vec<_>>().as_slice() {
            [] => "there is none".to_owned(),
            [one] => format!("`{one}`"),
            many => format!(
                "one of {}",
                many.iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    VaultError::CurrentMissing {
        path: dir.join(CURRENT_FILE),
        holds: if holds.is_empty() {
            "nothing else".into()
        } else {
            holds
        },
        newest,
    }
}

/// A key directory loaded and checked: its keyring and its other key files.
pub struct KeyDir {
    path: PathBuf,
    keyring: Keyring,
    files: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// `None` for a directory written before manifests existed.
    manifest: Option<Manifest>,
}

impl std::fmt::Debug for KeyDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyDir")
            .field("path", &self.path)
            .field("keyring", &self.keyring)
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("manifest", &self.manifest.is_some())
            .finish()
    }
}

impl KeyDir {
    /// Creates the key directory `dir` (mode 0700), which must be missing or empty,
    /// holding a first KEK `id`, the key files `files` (name, exact bytes), the
    /// manifest listing them all, and `current`, in that order. No file is replaced.
    pub fn create(
        dir: &Path,
        id: &str,
        kek: [u8; KEY_LEN],
        files: &[(&str, &[u8])],
    ) -> Result<KeyDir, VaultError> {
        let kek = Zeroizing::new(kek);
        keys::check_id(id)?;
        if let Some((name, _)) = files.iter().find(|(name, _)| !is_file_name(name)) {
            return Err(VaultError::UnexpectedKeyFile {
                path: dir.join(name),
            });
        }
        durable::create_private_dir(dir)?;
        keys::check_private(dir, &fs::metadata(dir)?)?;
        if state(dir)? != KeyDirState::Empty {
            return Err(VaultError::KeyringExists {
                path: dir.to_owned(),
            });
        }
        create_key_file(dir, &keys::kek_file_name(id), kek.as_slice())?;
        let mut manifest = Manifest::default();
        manifest.entries.push(Entry::Kek {
            id: id.to_owned(),
            kcv: check_value(kek.as_slice()),
        });
        let mut loaded = BTreeMap::new();
        for (name, bytes) in files {
            create_key_file(dir, name, bytes)?;
            manifest.entries.push(Entry::File {
                name: (*name).to_owned(),
                kcv: check_value(bytes),
            });
            loaded.insert((*name).to_owned(), Zeroizing::new(bytes.to_vec()));
        }
        durable::write_file_atomic(dir, MANIFEST_FILE, manifest.to_text().as_bytes())?;
        durable::write_file_atomic(dir, CURRENT_FILE, format!("{id}\n").as_bytes())?;
        let keyring = Keyring::from_keys([(id.to_owned(), kek.as_slice())], id)?;
        Ok(KeyDir {
            path: dir.to_owned(),
            keyring,
            files: loaded,
            manifest: Some(manifest),
        })
    }

    /// Loads `dir` strictly: the directory and every file private, no name other
    /// than KEK files, `current`, the manifest and `files`; with a manifest, every
    /// listed file present with its check value and none unlisted; `current`
    /// present, naming a listed KEK that has its file. A directory without a
    /// manifest (written before manifests existed) loads when it is otherwise
    /// consistent; see [`KeyDir::write_manifest`].
    pub fn open(dir: &Path, files: &[&str]) -> Result<KeyDir, VaultError> {
        let others = Others::Only(files);
        let found = scan(dir, others)?;
        let current = check_consistent(dir, &found, others)?;
        let keyring = Keyring::from_keys(
            found.keks.iter().map(|(id, k)| (id.clone(), k.as_slice())),
            &current,
        )?;
        Ok(KeyDir {
            path: dir.to_owned(),
            keyring,
            files: found.files,
            manifest: found.manifest,
        })
    }

    /// The exact bytes of the key file `name`, if the directory holds it.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(|bytes| bytes.as_slice())
    }

    /// Whether the directory has a manifest.
    pub fn has_manifest(&self) -> bool {
        self.manifest.is_some()
    }

    /// The keyring of the directory.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Gives the keyring away.
    pub fn into_keyring(self) -> Keyring {
        self.keyring
    }

    /// Gives the keyring and the other key files (by name, zeroized on drop) away.
    pub fn into_parts(self) -> (Keyring, BTreeMap<String, Zeroizing<Vec<u8>>>) {
        (self.keyring, self.files)
    }

    /// Adds the key file `name` to a directory without a manifest (before
    /// [`KeyDir::write_manifest`]); never replaces a file.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
        let path = self.path.join(name);
        if self.manifest.is_some() || !is_file_name(name) {
            return Err(VaultError::UnexpectedKeyFile { path });
        }
        create_key_file(&self.path, name, bytes)?;
        self.files
            .insert(name.to_owned(), Zeroizing::new(bytes.to_vec()));
        Ok(())
    }

    /// Writes the manifest of a directory loaded without one, from what was
    /// loaded: the KEKs (the current one last, so it reads as the newest) and then
    /// the other key files. Refuses a directory that has one.
    pub fn write_manifest(&mut self) -> Result<(), VaultError> {
        let path = self.path.join(MANIFEST_FILE);
        if self.manifest.is_some() {
            return Err(VaultError::KeyFileExists { path });
        }
        let found = scan(&self.path, Others::Ignored)?;
        let current = self.keyring.current_id();
        let mut ids: Vec<&String> = found.keks.keys().filter(|id| *id != current).collect();
        ids.extend(found.keks.keys().filter(|id| *id == current));
        let mut manifest = Manifest::default();
        for id in ids {
            let bytes = found.keks.get(id).map(|b| b.as_slice()).unwrap_or_default();
            manifest.entries.push(Entry::Kek {
                id: id.clone(),
                kcv: check_value(bytes),
            });
        }
        for (name, bytes) in &self.files {
            manifest.entries.push(Entry::File {
                name: name.clone(),
                kcv: check_value(bytes),
            });
        }
        durable::create_file_no_replace(&self.path, MANIFEST_FILE, manifest.to_text().as_bytes())
            .map_err(|e| exists_or(e, &path))?;
        self.manifest = Some(manifest);
        Ok(())
    }
}

/// Creates the key file `dir/name` holding `bytes` (mode 0600) with no-replace
/// semantics: refused (`vault_key_file_exists`) when the name exists.
pub fn create_key_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
    durable::create_file_no_replace(dir, name, bytes).map_err(|e| exists_or(e, &dir.join(name)))
}

fn exists_or(e: io::Error, path: &Path) -> VaultError {
    if e.kind() == io::ErrorKind::AlreadyExists {
        VaultError::KeyFileExists {
            path: path.to_owned(),
        }
    } else {
        e.into()
    }
}

/// Loads the keyring of `dir` for use while running (after a rotation): the
/// manifest must exist; listed files are checked, other names ignored.
pub(crate) fn load_keyring(dir: &Path) -> Result<Keyring, VaultError> {
    let found = scan(dir, Others::Ignored)?;
    if found.manifest.is_none() {
        return Err(VaultError::ManifestMissing {
            path: dir.join(MANIFEST_FILE),
        });
    }
    let current = check_consistent(dir, &found, Others::Ignored)?;
    Keyring::from_keys(
        found.keks.iter().map(|(id, k)| (id.clone(), k.as_slice())),
        &current,
    )
}

/// Adds the KEK `id` for a rotation: key file (no-replace), then the manifest
/// re-read and extended, then `current`.
pub(crate) fn add_kek(dir: &Path, id: &str, kek: &[u8; KEY_LEN]) -> Result<(), VaultError> {
    let found = scan(dir, Others::Ignored)?;
    let Some(mut manifest) = found.manifest else {
        return Err(VaultError::ManifestMissing {
            path: dir.join(MANIFEST_FILE),
        });
    };
    durable::create_file_no_replace(dir, &keys::kek_file_name(id), kek).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            VaultError::KekExists(id.to_owned())
        } else {
            e.into()
        }
    })?;
    manifest.entries.push(Entry::Kek {
        id: id.to_owned(),
        kcv: check_value(kek),
    });
    durable::write_file_atomic(dir, MANIFEST_FILE, manifest.to_text().as_bytes())?;
    durable::write_file_atomic(dir, CURRENT_FILE, format!("{id}\n").as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::manifest::to_hex;
    use super::*;
    use crate::durable::{ScratchDir, mode_of};

    const K1: [u8; 32] = [1; 32];
    const SIGNER: &str = "ledger-signer.key";
    const MARK: &str = "mark.key";
    const FILES: [&str; 2] = [SIGNER, MARK];

    fn create(scratch: &ScratchDir) -> PathBuf {
        let dir = scratch.0.join("keys");
        let files: [(&str, &[u8]); 2] = [(SIGNER, b"signer text\n"), (MARK, b"mark text\n")];
        KeyDir::create(&dir, "k1", K1, &files).unwrap();
        dir
    }

    /// Every entry's name, mode and bytes, and the directory's mode.
    fn snapshot(dir: &Path) -> (u32, BTreeMap<String, (u32, Vec<u8>)>) {
        let mut entries = BTreeMap::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            entries.insert(name, (mode_of(&path), fs::read(&path).unwrap_or_default()));
        }
        (mode_of(dir), entries)
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn write(path: &Path, bytes: &[u8]) {
        fs::write(path, bytes).unwrap();
        chmod(path, 0o600);
    }

    fn kcv_hex(bytes: &[u8]) -> String {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &[b"custody/vault/kcv/v1\0".as_slice(), bytes].concat(),
        );
        to_hex(&digest.as_ref()[..16])
    }

    #[test]
    fn create_writes_the_documented_files() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        assert_eq!(mode_of(&dir), 0o700);
        let manifest = fs::read_to_string(dir.join("manifest")).unwrap();
        let want = format!(
            "custody-key-manifest v1\nkek k1 {}\nkey ledger-signer.key {}\nkey mark.key {}\n",
            kcv_hex(&K1),
            kcv_hex(b"signer text\n"),
            kcv_hex(b"mark text\n"),
        );
        assert_eq!(manifest, want);
        for name in ["kek-k1.key", SIGNER, MARK, "manifest", "current"] {
            assert_eq!(mode_of(&dir.join(name)), 0o600, "{name}");
        }
        assert_eq!(fs::read(dir.join("kek-k1.key")).unwrap(), K1);
        assert_eq!(fs::read_to_string(dir.join("current")).unwrap(), "k1\n");
        assert_eq!(snapshot(&dir).1.len(), 5, "no temp file is left");
        let opened = KeyDir::open(&dir, &FILES).unwrap();
        assert!(opened.has_manifest());
        assert_eq!(opened.file(SIGNER), Some(b"signer text\n".as_slice()));
        assert_eq!(opened.keyring().current_id(), "k1");
    }

    /// Defect 1 at the library level: creating over a directory that holds
    /// anything (here everything but `current`) is refused and changes nothing.
    #[test]
    fn regression_missing_current_never_replaces_the_kek() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        fs::remove_file(dir.join("current")).unwrap();
        let before = snapshot(&dir);
        let err = KeyDir::create(&dir, "k1", [9; 32], &[]).unwrap_err();
        assert_eq!(err.code(), "vault_keyring_exists");
        assert_eq!(
            Keyring::init(&dir, "k1", [9; 32]).unwrap_err().code(),
            "vault_keyring_exists"
        );
        let err = KeyDir::open(&dir, &FILES).unwrap_err();
        assert_eq!(err.code(), "vault_current_missing");
        let message = err.to_string();
        assert!(
            message.contains("`k1`, the last `kek` line of the manifest"),
            "{message}"
        );
        assert!(
            message.contains("restore the key directory from backup"),
            "{message}"
        );
        assert_eq!(snapshot(&dir), before);
    }

    fn check(name: &str, edit: fn(&Path), code: &str) {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        edit(&dir);
        let before = snapshot(&dir);
        let err = KeyDir::open(&dir, &FILES).unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
        assert_eq!(snapshot(&dir), before, "{name}: the directory changed");
    }

    fn rm(dir: &Path, name: &str) {
        fs::remove_file(dir.join(name)).unwrap();
    }

    #[test]
    fn inconsistent_directories_are_refused() {
        check(
            "missing current",
            |d| rm(d, "current"),
            "vault_current_missing",
        );
        check("missing kek", |d| rm(d, "kek-k1.key"), "vault_key_missing");
        check("missing signer", |d| rm(d, SIGNER), "vault_key_missing");
        check("missing mark key", |d| rm(d, MARK), "vault_key_missing");
        check(
            "extra kek",
            |d| write(&d.join("kek-k2.key"), &[2; 32]),
            "vault_key_unlisted",
        );
        check(
            "kek readable by others",
            |d| chmod(&d.join("kek-k1.key"), 0o644),
            "vault_key_file_permissions",
        );
        check(
            "signer readable by the group",
            |d| chmod(&d.join(SIGNER), 0o640),
            "vault_key_file_permissions",
        );
        check(
            "manifest readable by others",
            |d| chmod(&d.join("manifest"), 0o604),
            "vault_key_file_permissions",
        );
        check(
            "dir open",
            |d| chmod(d, 0o750),
            "vault_key_file_permissions",
        );
        check(
            "garbage kek of the right length",
            |d| write(&d.join("kek-k1.key"), &[0xAA; 32]),
            "vault_key_mismatch",
        );
        check(
            "garbage kek of the wrong length",
            |d| write(&d.join("kek-k1.key"), &[0xAA; 31]),
            "vault_bad_key_file",
        );
        check(
            "replaced signer",
            |d| write(&d.join(SIGNER), b"another signer\n"),
            "vault_key_mismatch",
        );
        check(
            "empty signer",
            |d| write(&d.join(SIGNER), b""),
            "vault_bad_key_file",
        );
        check(
            "current names an unlisted id",
            |d| write(&d.join("current"), b"k2\n"),
            "vault_bad_key_file",
        );
        check(
            "garbage manifest",
            |d| write(&d.join("manifest"), b"hello\n"),
            "vault_bad_key_file",
        );
        check(
            "manifest listing a name twice",
            |d| {
                let text = fs::read_to_string(d.join("manifest")).unwrap();
                let line = text.lines().nth(1).unwrap().to_owned();
                write(&d.join("manifest"), format!("{text}{line}\n").as_bytes());
            },
            "vault_bad_key_file",
        );
        check(
            "unexpected file",
            |d| write(&d.join("notes.txt"), b"hello"),
            "vault_unexpected_key_file",
        );
        check(
            "unexpected directory",
            |d| fs::create_dir(d.join("old")).unwrap(),
            "vault_unexpected_key_file",
        );
        check(
            "no manifest and no current",
            |d| {
                rm(d, "manifest");
                rm(d, "current");
            },
            "vault_current_missing",
        );
        check(
            "no manifest and current naming a missing key",
            |d| {
                rm(d, "manifest");
                write(&d.join("current"), b"k2\n");
            },
            "vault_bad_key_file",
        );
    }

    #[test]
    fn leftover_temp_files_are_ignored() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        write(&dir.join(".kek-k2.key.1-0.tmp"), &[2; 32]);
        assert_eq!(
            KeyDir::open(&dir, &FILES).unwrap().keyring().current_id(),
            "k1"
        );
    }

    #[test]
    fn a_directory_without_manifest_gets_the_same_manifest() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        let written = fs::read(dir.join("manifest")).unwrap();
        fs::remove_file(dir.join("manifest")).unwrap();
        fs::remove_file(dir.join(MARK)).unwrap();
        let mut legacy = KeyDir::open(&dir, &FILES).unwrap();
        assert!(!legacy.has_manifest());
        assert_eq!(legacy.file(MARK), None);
        legacy.add_file(MARK, b"mark text\n").unwrap();
        legacy.write_manifest().unwrap();
        assert_eq!(fs::read(dir.join("manifest")).unwrap(), written);
        assert_eq!(mode_of(&dir.join("manifest")), 0o600);
        assert_eq!(
            legacy.add_file("other.key", b"x").unwrap_err().code(),
            "vault_unexpected_key_file",
            "no file is added once the manifest exists"
        );
        assert!(KeyDir::open(&dir, &FILES).unwrap().has_manifest());
    }

    #[test]
    fn key_files_are_never_replaced() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        let before = snapshot(&dir);
        for name in ["kek-k1.key", SIGNER, MARK] {
            let err = create_key_file(&dir, name, b"new").unwrap_err();
            assert_eq!(err.code(), "vault_key_file_exists", "{name}");
        }
        let mut legacy = KeyDir::open(&dir, &FILES).unwrap();
        assert_eq!(
            legacy.write_manifest().unwrap_err().code(),
            "vault_key_file_exists"
        );
        assert_eq!(
            legacy.add_file(SIGNER, b"new").unwrap_err().code(),
            "vault_unexpected_key_file"
        );
        assert_eq!(snapshot(&dir), before);
    }

    #[test]
    fn rotation_adds_the_key_then_the_manifest_line_then_current() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        let mut ring = Keyring::load(&dir).unwrap();
        ring.rotate(&dir, "k2", [2; 32]).unwrap();
        let manifest = fs::read_to_string(dir.join("manifest")).unwrap();
        assert!(
            manifest.ends_with(&format!("kek k2 {}\n", kcv_hex(&[2; 32]))),
            "{manifest}"
        );
        let loaded = KeyDir::open(&dir, &FILES).unwrap();
        assert_eq!(loaded.keyring().current_id(), "k2");
        fs::remove_file(dir.join("current")).unwrap();
        let err = KeyDir::open(&dir, &FILES).unwrap_err().to_string();
        assert!(
            err.contains("(`k2`, the last `kek` line of the manifest)"),
            "{err}"
        );
    }

    #[test]
    fn an_interrupted_rotation_is_named() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        // The key file was written, the manifest not yet.
        create_key_file(&dir, "kek-k2.key", &[2; 32]).unwrap();
        let err = KeyDir::open(&dir, &FILES).unwrap_err();
        assert_eq!(err.code(), "vault_key_unlisted");
        assert!(err.to_string().contains("interrupted rotation"), "{err}");
        assert_eq!(
            Keyring::load(&dir).unwrap_err().code(),
            "vault_key_unlisted"
        );
    }

    #[test]
    fn running_loads_ignore_other_names_but_need_the_manifest() {
        let scratch = ScratchDir::new("keydir");
        let dir = create(&scratch);
        write(&dir.join("README"), b"notes");
        assert_eq!(Keyring::load(&dir).unwrap().current_id(), "k1");
        write(&dir.join(SIGNER), b"replaced\n");
        assert_eq!(
            Keyring::load(&dir).unwrap_err().code(),
            "vault_key_mismatch"
        );
        fs::remove_file(dir.join("manifest")).unwrap();
        assert_eq!(
            Keyring::load(&dir).unwrap_err().code(),
            "vault_manifest_missing"
        );
    }

    #[test]
    fn states() {
        let scratch = ScratchDir::new("keydir");
        let dir = scratch.0.join("keys");
        assert_eq!(state(&dir).unwrap(), KeyDirState::Missing);
        fs::create_dir(&dir).unwrap();
        assert_eq!(state(&dir).unwrap(), KeyDirState::Empty);
        write(&dir.join(".x.tmp"), b"");
        assert_eq!(state(&dir).unwrap(), KeyDirState::Populated);
    }
}
