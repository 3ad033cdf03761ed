//! Room keys: the middle layer of the envelope. Each data room has a key of its
//! own that wraps the data keys of the room's blobs; the room key is wrapped by
//! the current key-encryption key and kept as a file `rooms/<name>.key` in the key
//! directory — never in the metadata. Deleting that one file crypto-shreds the
//! room: every blob and every wrapped data key of the room, in the data directory
//! and in any backup of it, stays ciphertext for good, while every other room is
//! untouched. A KEK rotation re-wraps the room key files (a few hundred bytes
//! each); no data key and no blob is rewritten. Format: docs/vault-format.md §6a.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::LessSafeKey;
use zeroize::Zeroizing;

use crate::durable;
use crate::error::VaultError;
use crate::keys::{self, DataKey, KEY_LEN, Keyring, NONCE_LEN, WRAPPED_KEY_LEN};

/// The directory of room key files inside the key directory. Do not change.
pub const ROOM_KEYS_DIR: &str = "rooms";
/// First line of a room key file. Do not change.
pub const ROOM_KEY_MAGIC: &str = "custody-room-key v1";
/// Prefix of a room key's id (the id bound into the data keys it wraps). Do not change.
pub const ROOM_KEY_PREFIX: &str = "room-";
/// Longest room key file accepted.
const MAX_FILE_LEN: usize = 512;
/// Longest room name (the id is `room-<name>`, at most 64 bytes).
const MAX_NAME_LEN: usize = 64 - ROOM_KEY_PREFIX.len();

/// One room's key, unwrapped: it wraps and unwraps the data keys of the room.
pub struct RoomKey {
    id: String,
    aead: LessSafeKey,
}

impl std::fmt::Debug for RoomKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomKey").field("id", &self.id).finish()
    }
}

impl RoomKey {
    /// The key's id, `room-<name>`: stored beside every data key it wraps.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Wraps a data key (format §4, the room key's id in the AAD).
    pub fn wrap(&self, key: &DataKey, nonce: [u8; NONCE_LEN]) -> Result<Vec<u8>, VaultError> {
        keys::wrap_under(&self.aead, &self.id, key, nonce)
    }

    /// Unwraps a data key this room key wrapped.
    pub fn unwrap(&self, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        keys::unwrap_under(&self.aead, &self.id, wrapped)
    }
}

/// The room name of a room key id (`room-<name>` → `<name>`), if it is one.
pub fn room_of_key_id(id: &str) -> Option<&str> {
    id.strip_prefix(ROOM_KEY_PREFIX)
        .filter(|name| check_name(name).is_ok())
}

/// The id of room `name`'s key.
pub fn key_id_of_room(name: &str) -> String {
    format!("{ROOM_KEY_PREFIX}{name}")
}

fn check_name(name: &str) -> Result<(), VaultError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if (1..=MAX_NAME_LEN).contains(&name.len()) && name.bytes().all(allowed) {
        Ok(())
    } else {
        Err(VaultError::InvalidKeyId(key_id_of_room(name)))
    }
}

fn dir_of(key_dir: &Path) -> PathBuf {
    key_dir.join(ROOM_KEYS_DIR)
}

fn file_name(name: &str) -> String {
    format!("{name}.key")
}

/// The bytes of a room key file: the magic, the KEK id, the wrapped key in hex.
fn encode(kek_id: &str, wrapped: &[u8]) -> Vec<u8> {
    let hex: String = wrapped.iter().map(|b| format!("{b:02x}")).collect();
    format!("{ROOM_KEY_MAGIC}\nkek {kek_id}\nwrapped {hex}\n").into_bytes()
}

/// The KEK id and wrapped key of a room key file.
fn decode(path: &Path, bytes: &[u8]) -> Result<(String, Vec<u8>), VaultError> {
    let bad = |why: &str| keys::bad_file(path, why);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not utf-8"))?;
    let mut lines = text.split('\n');
    if lines.next() != Some(ROOM_KEY_MAGIC) {
        return Err(bad("not a room key file"));
    }
    let kek = lines
        .next()
        .and_then(|l| l.strip_prefix("kek "))
        .ok_or_else(|| bad("no `kek` line"))?;
    keys::check_id(kek).map_err(|_| bad("invalid key-encryption key id"))?;
    let hex = lines
        .next()
        .and_then(|l| l.strip_prefix("wrapped "))
        .ok_or_else(|| bad("no `wrapped` line"))?;
    if lines.next() != Some("") || lines.next().is_some() {
        return Err(bad("trailing data"));
    }
    let wrapped = decode_hex(hex).ok_or_else(|| bad("the wrapped key is not hex"))?;
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(bad("the wrapped key has the wrong length"));
    }
    Ok((kek.to_owned(), wrapped))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            let pair = hex.get(i..i + 2)?;
            if pair.bytes().any(|b| b.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// Creates the private directory of room keys when missing (its parent fsynced).
fn ensure_dir(key_dir: &Path) -> Result<PathBuf, VaultError> {
    let dir = dir_of(key_dir);
    if !dir.is_dir() {
        durable::create_private_dir(&dir)?;
        durable::sync_dir(key_dir)?;
    }
    keys::check_private(&dir, &fs::metadata(&dir)?)?;
    Ok(dir)
}

/// Creates room `name`'s key from 32 fresh random bytes, wrapped under the current
/// KEK, as a new file (never replacing one: an existing key is `KeyFileExists`).
/// A crash leaves no file or a complete one.
pub fn create(
    key_dir: &Path,
    ring: &Keyring,
    name: &str,
    key: [u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
) -> Result<RoomKey, VaultError> {
    check_name(name)?;
    let key = DataKey::from_bytes(key);
    let dir = ensure_dir(key_dir)?;
    let wrapped = ring.wrap(&key, nonce)?;
    let file = file_name(name);
    match durable::create_file_no_replace(&dir, &file, &encode(ring.current_id(), &wrapped)) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            return Err(VaultError::KeyFileExists {
                path: dir.join(file),
            });
        }
        other => other?,
    }
    Ok(RoomKey {
        id: key_id_of_room(name),
        aead: key.aead_key()?,
    })
}

/// Loads room `name`'s key, or `None` when it has no key file (never made, or
/// destroyed). A file that is not private, malformed, or fails to unwrap is an error.
pub fn load(key_dir: &Path, ring: &Keyring, name: &str) -> Result<Option<RoomKey>, VaultError> {
    check_name(name)?;
    let Some((kek, wrapped)) = read(key_dir, name)? else {
        return Ok(None);
    };
    let key = ring.unwrap(&kek, &wrapped)?;
    Ok(Some(RoomKey {
        id: key_id_of_room(name),
        aead: key.aead_key()?,
    }))
}

fn read(key_dir: &Path, name: &str) -> Result<Option<(String, Vec<u8>)>, VaultError> {
    let path = dir_of(key_dir).join(file_name(name));
    let bytes = match keys::read_private(&path, MAX_FILE_LEN) {
        Err(VaultError::Io(err)) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => Zeroizing::new(other?),
    };
    if bytes.len() > MAX_FILE_LEN {
        return Err(keys::bad_file(&path, "too long"));
    }
    decode(&path, &bytes).map(Some)
}

/// Re-wraps room `name`'s key under the current KEK when another one wraps it:
/// the file is replaced atomically (either wrapping opens it, as old KEKs are
/// kept). Returns whether it changed; a room without a key file is left alone.
pub fn rewrap(
    key_dir: &Path,
    ring: &Keyring,
    name: &str,
    nonce: [u8; NONCE_LEN],
) -> Result<bool, VaultError> {
    check_name(name)?;
    let Some((kek, wrapped)) = read(key_dir, name)? else {
        return Ok(false);
    };
    if kek == ring.current_id() {
        return Ok(false);
    }
    let key = ring.unwrap(&kek, &wrapped)?;
    let fresh = ring.wrap(&key, nonce)?;
    durable::write_file_atomic(
        &dir_of(key_dir),
        &file_name(name),
        &encode(ring.current_id(), &fresh),
    )?;
    Ok(true)
}

/// Destroys room `name`'s key: its file is overwritten with zeros and synced,
/// then unlinked and the directory synced. Returns whether there was a key. After
/// it returns, no copy of the room's content that this installation made can be
/// decrypted with anything the key directory holds.
pub fn destroy(key_dir: &Path, name: &str) -> Result<bool, VaultError> {
    check_name(name)?;
    let dir = dir_of(key_dir);
    let path = dir.join(file_name(name));
    let mut file = match OpenOptions::new().write(true).open(&path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        other => other?,
    };
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(MAX_FILE_LEN);
    file.write_all(&vec![0; len.min(MAX_FILE_LEN)])?;
    file.sync_all()?;
    drop(file);
    durable::remove_if_present(&path)?;
    durable::sync_dir(&dir)?;
    Ok(true)
}

/// The names of every room that has a key file, sorted.
pub fn list(key_dir: &Path) -> Result<Vec<String>, VaultError> {
    let dir = dir_of(key_dir);
    let entries = match fs::read_dir(&dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        other => other?,
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if let Some(room) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".key"))
            .filter(|n| check_name(n).is_ok())
        {
            names.push(room.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// First line of a room's carry file. Do not change.
pub const CARRY_MAGIC: &str = "custody-room-carry v1";
/// Largest carry file read (about 700,000 versions).
const MAX_CARRY_LEN: usize = 64 << 20;
/// Longest version name in a carry file.
const MAX_VERSION_LEN: usize = 64;

/// A room's carry file, read: the data keys of the versions a re-keying kept,
/// wrapped under the room key `to`, by version. A backup whose rows still name
/// an older generation of the room's key (destroyed since) opens its kept
/// versions through it; a purged version is not in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carry {
    pub to: String,
    pub keys: std::collections::HashMap<String, Vec<u8>>,
}

fn carry_name(room: &str) -> String {
    format!("{room}.carry")
}

/// Writes room `room`'s carry file (`rooms/<room>.carry`, mode 0600, replaced
/// atomically): each `(version, data key wrapped under room key `to`)`.
pub fn write_carry(
    key_dir: &Path,
    room: &str,
    to: &str,
    keys: &[(String, Vec<u8>)],
) -> Result<(), VaultError> {
    check_name(room)?;
    let name = room_of_key_id(to).ok_or_else(|| VaultError::InvalidKeyId(to.to_owned()))?;
    check_name(name)?;
    let mut text = format!("{CARRY_MAGIC}\nto {to}\n");
    for (version, wrapped) in keys {
        if !valid_version(version) || wrapped.len() != WRAPPED_KEY_LEN {
            return Err(VaultError::InvalidKeyId(version.clone()));
        }
        let hex: String = wrapped.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("{version} {hex}\n"));
    }
    let dir = ensure_dir(key_dir)?;
    durable::write_file_atomic(&dir, &carry_name(room), text.as_bytes())?;
    Ok(())
}

fn valid_version(v: &str) -> bool {
    (1..=MAX_VERSION_LEN).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Room `room`'s carry file, or `None` when it has none. A file that is not
/// private or is malformed is an error.
pub fn read_carry(key_dir: &Path, room: &str) -> Result<Option<Carry>, VaultError> {
    check_name(room)?;
    let path = dir_of(key_dir).join(carry_name(room));
    let bytes = match keys::read_private(&path, MAX_CARRY_LEN) {
        Err(VaultError::Io(err)) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => Zeroizing::new(other?),
    };
    let bad = |why: &str| keys::bad_file(&path, why);
    if bytes.len() > MAX_CARRY_LEN {
        return Err(bad("too long"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not utf-8"))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| bad("no final line break"))?;
    let mut lines = body.split('\n');
    if lines.next() != Some(CARRY_MAGIC) {
        return Err(bad("not a carry file"));
    }
    let to = lines
        .next()
        .and_then(|l| l.strip_prefix("to "))
        .filter(|to| room_of_key_id(to).is_some())
        .ok_or_else(|| bad("no `to` line naming a room key"))?;
    let mut keys = std::collections::HashMap::new();
    for line in lines {
        let (version, hex) = line
            .split_once(' ')
            .ok_or_else(|| bad("a malformed line"))?;
        let wrapped = decode_hex(hex).ok_or_else(|| bad("a wrapped key is not hex"))?;
        if !valid_version(version) || wrapped.len() != WRAPPED_KEY_LEN {
            return Err(bad("a malformed line"));
        }
        keys.insert(version.to_owned(), wrapped);
    }
    Ok(Some(Carry {
        to: to.to_owned(),
        keys,
    }))
}

/// Removes room `room`'s carry file, if any (the room destroyed).
pub fn destroy_carry(key_dir: &Path, room: &str) -> Result<(), VaultError> {
    check_name(room)?;
    let dir = dir_of(key_dir);
    durable::remove_if_present(&dir.join(carry_name(room)))?;
    if dir.is_dir() {
        durable::sync_dir(&dir)?;
    }
    Ok(())
}

/// Refuses a `rooms` entry of the key directory that is not a private directory.
pub(crate) fn check_dir(path: &Path) -> Result<(), VaultError> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(VaultError::UnexpectedKeyFile {
            path: path.to_owned(),
        });
    }
    keys::check_private(path, &meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::{ScratchDir, mode_of};

    fn ring(dir: &Path) -> Keyring {
        Keyring::init(dir, "k1", [7; 32]).unwrap()
    }

    #[test]
    fn a_room_key_wraps_and_survives_rotation_and_destruction_ends_it() {
        let scratch = ScratchDir::new("roomkeys");
        let keys = scratch.0.join("keys");
        let mut ring = ring(&keys);
        let room = create(&keys, &ring, "r1", [9; 32], [1; 12]).unwrap();
        assert_eq!(room.id(), "room-r1");
        assert_eq!(mode_of(&keys.join("rooms")), 0o700);
        assert_eq!(mode_of(&keys.join("rooms/r1.key")), 0o600);
        let data = DataKey::from_bytes([3; 32]);
        let wrapped = room.wrap(&data, [2; 12]).unwrap();
        let other = create(&keys, &ring, "r2", [10; 32], [4; 12]).unwrap();
        // bound to the room's id: another room's key cannot open it
        assert!(matches!(other.unwrap(&wrapped), Err(VaultError::Crypto)));
        // a KEK rotation re-wraps the file and the data key still opens
        ring.rotate(&keys, "k2", [8; 32]).unwrap();
        assert!(rewrap(&keys, &ring, "r1", [5; 12]).unwrap());
        assert!(!rewrap(&keys, &ring, "r1", [6; 12]).unwrap());
        let text = fs::read_to_string(keys.join("rooms/r1.key")).unwrap();
        assert!(text.contains("\nkek k2\n"), "{text}");
        let again = load(&keys, &Keyring::load(&keys).unwrap(), "r1")
            .unwrap()
            .unwrap();
        assert!(again.unwrap(&wrapped).is_ok());
        // the whole key directory still loads with its room keys in it
        assert!(crate::KeyDir::open(&keys, &[]).is_ok());
        assert_eq!(list(&keys).unwrap(), ["r1", "r2"]);
        // destroyed: gone, and never made again under the same name by accident
        assert!(destroy(&keys, "r1").unwrap());
        assert!(!destroy(&keys, "r1").unwrap());
        assert!(load(&keys, &ring, "r1").unwrap().is_none());
        assert_eq!(list(&keys).unwrap(), ["r2"]);
        assert!(matches!(
            create(&keys, &ring, "r2", [1; 32], [1; 12]),
            Err(VaultError::KeyFileExists { .. })
        ));
    }

    #[test]
    fn a_carry_file_reads_back_and_bad_ones_are_refused() {
        let dir = ScratchDir::new("carry");
        let keys = vec![
            ("0b5e-1".to_owned(), vec![1; WRAPPED_KEY_LEN]),
            ("0b5e-2".to_owned(), vec![2; WRAPPED_KEY_LEN]),
        ];
        assert_eq!(read_carry(&dir.0, "r1").unwrap(), None);
        write_carry(&dir.0, "r1", "room-r1-g1", &keys).unwrap();
        let carry = read_carry(&dir.0, "r1").unwrap().unwrap();
        assert_eq!(carry.to, "room-r1-g1");
        assert_eq!(carry.keys.len(), 2);
        assert_eq!(carry.keys["0b5e-2"], vec![2; WRAPPED_KEY_LEN]);
        assert_eq!(mode_of(&dir.0.join("rooms/r1.carry")), 0o600);
        assert!(write_carry(&dir.0, "r1", "kek-1", &keys).is_err());
        let short = vec![("v".to_owned(), vec![1; 3])];
        assert!(write_carry(&dir.0, "r1", "room-r1-g1", &short).is_err());
        let path = &dir.0.join("rooms/r1.carry");
        let good = format!(
            "{CARRY_MAGIC}\nto room-r1-g1\nv1 {}\n",
            "ab".repeat(WRAPPED_KEY_LEN)
        );
        for bad in [
            "something else\n".to_owned(),
            format!("{CARRY_MAGIC}\nto kek-1\n"),
            format!("{CARRY_MAGIC}\nto room-r1-g1\nv1 zz\n"),
            format!("{CARRY_MAGIC}\nto room-r1-g1\nv1 abab\n"),
            format!(
                "{CARRY_MAGIC}\nto room-r1-g1\nV1 {}\n",
                "ab".repeat(WRAPPED_KEY_LEN)
            ),
            good.trim_end().to_owned(),
        ] {
            fs::write(path, &bad).unwrap();
            assert!(
                matches!(read_carry(&dir.0, "r1"), Err(VaultError::BadKeyFile { .. })),
                "{bad}"
            );
        }
        fs::write(path, &good).unwrap();
        assert_eq!(read_carry(&dir.0, "r1").unwrap().unwrap().keys.len(), 1);
        destroy_carry(&dir.0, "r1").unwrap();
        assert_eq!(read_carry(&dir.0, "r1").unwrap(), None);
    }

    #[test]
    fn bad_room_key_files_are_refused() {
        let scratch = ScratchDir::new("roomkeys-bad");
        let keys = scratch.0.join("keys");
        let ring = ring(&keys);
        create(&keys, &ring, "ok", [9; 32], [1; 12]).unwrap();
        let good = fs::read(keys.join("rooms/ok.key")).unwrap();
        let cases: &[(&str, Vec<u8>)] = &[
            ("magic", b"nope\nkek k1\nwrapped 00\n".to_vec()),
            (
                "short",
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace("wrapped 01", "wrapped ")
                    .into_bytes(),
            ),
            ("trailing", [good.as_slice(), b"x"].concat()),
            (
                "upper",
                String::from_utf8(good.clone())
                    .unwrap()
                    .to_uppercase()
                    .replace("CUSTODY-ROOM-KEY V1", ROOM_KEY_MAGIC)
                    .replace("KEK K1", "kek k1")
                    .replace("WRAPPED", "wrapped")
                    .into_bytes(),
            ),
            (
                "kek",
                String::from_utf8(good.clone())
                    .unwrap()
                    .replace("kek k1", "kek K/1")
                    .into_bytes(),
            ),
        ];
        for (name, bytes) in cases {
            let path = keys.join("rooms").join(format!("{name}.key"));
            let mut f = durable::create_private_file(&path).unwrap();
            f.write_all(bytes).unwrap();
            let got = load(&keys, &ring, name);
            assert!(
                matches!(got, Err(VaultError::BadKeyFile { .. })),
                "{name}: {got:?}"
            );
        }
        // a tampered wrapped key fails authentication
        let mut text = String::from_utf8(good).unwrap();
        let at = text.len() - 3;
        let flipped = if &text[at..at + 1] == "0" { "1" } else { "0" };
        text.replace_range(at..at + 1, flipped);
        fs::write(keys.join("rooms/ok.key"), text).unwrap();
        assert!(matches!(load(&keys, &ring, "ok"), Err(VaultError::Crypto)));
        // an open mode is refused
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(keys.join("rooms/ok.key"), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load(&keys, &ring, "ok"),
            Err(VaultError::KeyFilePermissions { .. })
        ));
        assert!(matches!(
            load(&keys, &ring, "Bad/Name"),
            Err(VaultError::InvalidKeyId(_))
        ));
    }
}
