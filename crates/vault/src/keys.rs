//! Envelope keys: per-blob data keys, and the keyring of key-encryption keys (KEKs)
//! that wraps them and seals small secrets. KEKs live one per file in a private
//! directory checked against its manifest (`keydir.rs`); rotation adds a KEK and
//! makes it current while old ones keep unwrapping.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::VaultError;
use crate::format::TAG_LEN;
use crate::keydir::{self, CURRENT_FILE, KeyDir};

/// Version byte of wrapped keys. Do not change.
pub const WRAP_VERSION: u8 = 1;
/// AAD label of wrapped keys, followed by the KEK id. Do not change.
pub const WRAP_LABEL: &[u8] = b"custody/vault/wrapped-key/v1\0";
/// Length of a wrapped data key: version, nonce, key, tag.
pub const WRAPPED_KEY_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
/// Version byte of sealed secrets. Do not change.
pub const SECRET_VERSION: u8 = 1;
/// AAD label of sealed secrets, followed by version, id length, id, context. Do not change.
pub const SECRET_LABEL: &[u8] = b"custody/vault/sealed-secret/v1\0";

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 12;
const MAX_ID_LEN: usize = 64;

/// A 256-bit data key that encrypts one blob. Zeroized on drop, never printed.
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// Wraps caller-supplied random bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> DataKey {
        DataKey(bytes)
    }

    pub(crate) fn aead_key(&self) -> Result<LessSafeKey, VaultError> {
        aead_key(&self.0)
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

pub(crate) fn aead_key(bytes: &[u8; KEY_LEN]) -> Result<LessSafeKey, VaultError> {
    let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| VaultError::Crypto)?;
    Ok(LessSafeKey::new(unbound))
}

/// The loaded key-encryption keys, by id, and the id of the current one.
pub struct Keyring {
    keks: BTreeMap<String, LessSafeKey>,
    current: String,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("ids", &self.keks.keys().collect::<Vec<_>>())
            .field("current", &self.current)
            .finish()
    }
}

impl Keyring {
    /// Creates the key directory `dir` (mode 0700, missing or empty) holding a first
    /// KEK `kek-<id>.key` (mode 0600), the manifest and a `current` file naming it.
    /// Refuses a directory that holds anything.
    pub fn init(dir: &Path, id: &str, key: [u8; KEY_LEN]) -> Result<Keyring, VaultError> {
        KeyDir::create(dir, id, key, &[]).map(KeyDir::into_keyring)
    }

    /// Loads the KEKs of `dir` and the current id while running: the directory
    /// and every file private, every KEK the manifest lists present with its check
    /// value, none unlisted, `current` naming a listed one.
    pub fn load(dir: &Path) -> Result<Keyring, VaultError> {
        keydir::load_keyring(dir)
    }

    /// The keyring of these KEKs (id, 32 bytes), with `current` current.
    pub(crate) fn from_keys<'a>(
        keys: impl IntoIterator<Item = (String, &'a [u8])>,
        current: &str,
    ) -> Result<Keyring, VaultError> {
        let mut keks = BTreeMap::new();
        for (id, bytes) in keys {
            let raw = <&[u8; KEY_LEN]>::try_from(bytes)
                .map_err(|_| VaultError::Malformed("key-encryption key"))?;
            keks.insert(id, aead_key(raw)?);
        }
        if !keks.contains_key(current) {
            return Err(VaultError::UnknownKek(current.to_owned()));
        }
        Ok(Keyring {
            keks,
            current: current.to_owned(),
        })
    }

    /// Adds a new KEK and makes it current: its key file (never replacing one),
    /// then its manifest line, then `current`, then memory.
    pub fn rotate(&mut self, dir: &Path, id: &str, key: [u8; KEY_LEN]) -> Result<(), VaultError> {
        check_id(id)?;
        let key = Zeroizing::new(key);
        if self.keks.contains_key(id) {
            return Err(VaultError::KekExists(id.to_owned()));
        }
        let aead = aead_key(&key)?;
        keydir::add_kek(dir, id, &key)?;
        self.keks.insert(id.to_owned(), aead);
        self.current = id.to_owned();
        Ok(())
    }

    /// Id of the KEK that `wrap` and `seal_secret` use.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Ids of every loaded KEK, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keks.keys().map(String::as_str)
    }

    fn kek(&self, id: &str) -> Result<&LessSafeKey, VaultError> {
        self.keks
            .get(id)
            .ok_or_else(|| VaultError::UnknownKek(id.to_owned()))
    }

    /// Wraps a data key under the current KEK: `version || nonce || ciphertext || tag`,
    /// AAD = `WRAP_LABEL || kek id`. The nonce must never repeat under one KEK.
    pub fn wrap(&self, key: &DataKey, nonce: [u8; NONCE_LEN]) -> Result<Vec<u8>, VaultError> {
        wrap_under(self.kek(&self.current)?, &self.current, key, nonce)
    }

    /// Unwraps a data key wrapped under KEK `kek_id`.
    pub fn unwrap(&self, kek_id: &str, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        unwrap_under(self.kek(kek_id)?, kek_id, wrapped)
    }

    /// Seals a small secret under the current KEK, binding `context` as AAD:
    /// `version || id length || id || nonce || ciphertext || tag`.
    pub fn seal_secret(
        &self,
        plaintext: &[u8],
        context: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, VaultError> {
        let id = self.current.as_bytes();
        let id_len =
            u8::try_from(id.len()).map_err(|_| VaultError::InvalidKeyId(self.current.clone()))?;
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&[SECRET_VERSION, id_len]);
        out.extend_from_slice(id);
        let aad = secret_aad(&out, context);
        out.extend_from_slice(&nonce);
        seal_append(self.kek(&self.current)?, nonce, &aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens a secret made by `seal_secret` with the same `context`, under whichever
    /// KEK sealed it.
    pub fn open_secret(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, VaultError> {
        let malformed = || VaultError::Malformed("sealed secret");
        let [version, id_len, rest @ ..] = sealed else {
            return Err(malformed());
        };
        if *version != SECRET_VERSION {
            return Err(malformed());
        }
        let (id, rest) = rest
            .split_at_checked(usize::from(*id_len))
            .ok_or_else(malformed)?;
        let id = std::str::from_utf8(id).map_err(|_| malformed())?;
        let kek = self.kek(id)?;
        let aad = secret_aad(sealed.get(..2 + id.len()).ok_or_else(malformed)?, context);
        let (nonce, sealed_body) = split_nonce(rest)?;
        let split = sealed_body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or_else(malformed)?;
        let (ciphertext, tag) = sealed_body.split_at_checked(split).ok_or_else(malformed)?;
        let mut plaintext = vec![0; ciphertext.len()];
        kek.open_separate_gather(nonce, Aad::from(aad), ciphertext, tag, &mut plaintext)
            .map_err(|_| VaultError::Crypto)?;
        Ok(plaintext)
    }
}

/// Wraps `key` under the wrapping key `wrapper` whose id is `id` (§4 of the format).
pub(crate) fn wrap_under(
    wrapper: &LessSafeKey,
    id: &str,
    key: &DataKey,
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, VaultError> {
    let aad = wrap_aad(id);
    let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
    out.push(WRAP_VERSION);
    out.extend_from_slice(&nonce);
    seal_append(wrapper, nonce, &aad, &key.0, &mut out)?;
    Ok(out)
}

/// Unwraps a key wrapped by [`wrap_under`] with the same wrapping key and id.
pub(crate) fn unwrap_under(
    wrapper: &LessSafeKey,
    id: &str,
    wrapped: &[u8],
) -> Result<DataKey, VaultError> {
    let [version, rest @ ..]: &[u8; WRAPPED_KEY_LEN] = wrapped
        .try_into()
        .map_err(|_| VaultError::Malformed("wrapped key"))?;
    if *version != WRAP_VERSION {
        return Err(VaultError::Malformed("wrapped key"));
    }
    let (nonce, sealed) = split_nonce(rest)?;
    let (ciphertext, tag) = sealed
        .split_at_checked(KEY_LEN)
        .ok_or(VaultError::Malformed("wrapped key"))?;
    let mut key = DataKey([0; KEY_LEN]);
    let aad = Aad::from(wrap_aad(id));
    wrapper
        .open_separate_gather(nonce, aad, ciphertext, tag, &mut key.0)
        .map_err(|_| VaultError::Crypto)?;
    Ok(key)
}

/// AES-256-GCM seals `plaintext` and appends `ciphertext || tag` to `out`.
fn seal_append(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), VaultError> {
    let start = out.len();
    out.extend_from_slice(plaintext);
    let body = out.get_mut(start..).ok_or(VaultError::Crypto)?;
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
        .map_err(|_| VaultError::Crypto)?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

fn split_nonce(bytes: &[u8]) -> Result<(Nonce, &[u8]), VaultError> {
    let (nonce, rest) = bytes
        .split_at_checked(NONCE_LEN)
        .ok_or(VaultError::Malformed("nonce"))?;
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Malformed("nonce"))?;
    Ok((nonce, rest))
}

fn wrap_aad(kek_id: &str) -> Vec<u8> {
    [WRAP_LABEL, kek_id.as_bytes()].concat()
}

fn secret_aad(prefix: &[u8], context: &[u8]) -> Vec<u8> {
    [SECRET_LABEL, prefix, context].concat()
}

/// Refuses KEK ids outside `[a-z0-9-]{1,64}`, and those of room keys (`room-…`).
pub(crate) fn check_id(id: &str) -> Result<(), VaultError> {
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    if (1..=MAX_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| allowed(&b))
        && !id.starts_with(crate::roomkeys::ROOM_KEY_PREFIX)
    {
        Ok(())
    } else {
        Err(VaultError::InvalidKeyId(id.to_owned()))
    }
}

pub(crate) fn kek_file_name(id: &str) -> String {
    format!("kek-{id}.key")
}

pub(crate) fn kek_id_of_file(name: &str) -> Option<&str> {
    name.strip_prefix("kek-")?.strip_suffix(".key")
}

pub(crate) fn bad_file(path: &Path, reason: &str) -> VaultError {
    VaultError::BadKeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Refuses a file or directory whose mode grants anything to group or other.
pub(crate) fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), VaultError> {
    if meta.mode() & 0o077 != 0 {
        return Err(VaultError::KeyFilePermissions {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Opens a private regular file and reads at most `limit + 1` bytes of it.
pub(crate) fn read_private(path: &Path, limit: usize) -> Result<Vec<u8>, VaultError> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    check_private(path, &meta)?;
    if !meta.is_file() {
        return Err(bad_file(path, "not a regular file"));
    }
    let mut bytes = Vec::with_capacity(limit + 1);
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub(crate) fn read_current(dir: &Path) -> Result<String, VaultError> {
    let path = dir.join(CURRENT_FILE);
    let bytes = read_private(&path, MAX_ID_LEN + 1)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad_file(&path, "not utf-8"))?;
    let id = text.strip_suffix('\n').unwrap_or(text);
    check_id(id).map_err(|_| bad_file(&path, "does not hold a valid key id"))?;
    Ok(id.to_owned())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;
    use crate::durable::{ScratchDir, mode_of};

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];
    const N1: [u8; 12] = [9; 12];

    fn ring(scratch: &ScratchDir) -> (PathBuf, Keyring) {
        let dir = scratch.0.join("keys");
        let ring = Keyring::init(&dir, "k1", K1).unwrap();
        (dir, ring)
    }

    #[test]
    fn init_creates_private_files() {
        let scratch = ScratchDir::new("keys");
        let (dir, ring) = ring(&scratch);
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&dir.join("kek-k1.key")), 0o600);
        assert_eq!(fs::read(dir.join("kek-k1.key")).unwrap(), K1);
        assert_eq!(fs::read_to_string(dir.join("current")).unwrap(), "k1\n");
        assert_eq!(ring.current_id(), "k1");
        let again = Keyring::init(&dir, "k9", K2).unwrap_err();
        assert_eq!(again.code(), "vault_keyring_exists");
    }

    #[test]
    fn wrap_round_trip_and_format() {
        let scratch = ScratchDir::new("keys");
        let (_, ring) = ring(&scratch);
        let wrapped = ring.wrap(&DataKey::from_bytes([7; 32]), N1).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert_eq!(wrapped[0], WRAP_VERSION);
        assert_eq!(&wrapped[1..13], &N1);
        assert_eq!(ring.unwrap("k1", &wrapped).unwrap().0, [7; 32]);
        // Independent check of the documented AAD: label then kek id.
        let mut body = wrapped[13..].to_vec();
        let kek = aead_key(&K1).unwrap();
        let aad = Aad::from(b"custody/vault/wrapped-key/v1\0k1");
        let opened = kek
            .open_in_place(Nonce::assume_unique_for_key(N1), aad, &mut body)
            .unwrap();
        assert_eq!(opened, &[7; 32]);
    }

    fn check_unwrap_fails(edit: fn(&mut Vec<u8>), id: &str, code: &str) {
        let scratch = ScratchDir::new("keys");
        let (_, ring) = ring(&scratch);
        let mut wrapped = ring.wrap(&DataKey::from_bytes([7; 32]), N1).unwrap();
        edit(&mut wrapped);
        assert_eq!(ring.unwrap(id, &wrapped).unwrap_err().code(), code);
    }

    #[test]
    fn unwrap_failures() {
        check_unwrap_fails(|_| {}, "nope", "vault_unknown_kek");
        check_unwrap_fails(|w| w[20] ^= 1, "k1", "vault_crypto");
        check_unwrap_fails(|w| w[5] ^= 1, "k1", "vault_crypto"); // nonce
        check_unwrap_fails(|w| *w.last_mut().unwrap() ^= 1, "k1", "vault_crypto"); // tag
        check_unwrap_fails(|w| w[0] = 2, "k1", "vault_malformed");
        check_unwrap_fails(|w| w.truncate(60), "k1", "vault_malformed");
        check_unwrap_fails(|w| w.push(0), "k1", "vault_malformed");
    }

    #[test]
    fn rotation_keeps_old_ids_working() {
        let scratch = ScratchDir::new("keys");
        let (dir, mut ring) = ring(&scratch);
        let old = ring.wrap(&DataKey::from_bytes([7; 32]), N1).unwrap();
        let secret = ring.seal_secret(b"totp seed", b"user:1", N1).unwrap();
        ring.rotate(&dir, "k2", K2).unwrap();
        assert_eq!(ring.current_id(), "k2");
        let new = ring.wrap(&DataKey::from_bytes([8; 32]), N1).unwrap();
        assert!(
            ring.unwrap("k1", &new).is_err(),
            "new wraps use the new key"
        );
        let loaded = Keyring::load(&dir).unwrap();
        assert_eq!(loaded.current_id(), "k2");
        assert_eq!(loaded.ids().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(loaded.unwrap("k1", &old).unwrap().0, [7; 32]);
        assert_eq!(loaded.unwrap("k2", &new).unwrap().0, [8; 32]);
        assert_eq!(
            loaded.open_secret(&secret, b"user:1").unwrap(),
            b"totp seed"
        );
        assert_eq!(
            ring.rotate(&dir, "k1", K2).unwrap_err().code(),
            "vault_kek_exists"
        );
    }

    #[test]
    fn secrets_bind_context() {
        let scratch = ScratchDir::new("keys");
        let (_, ring) = ring(&scratch);
        let sealed = ring.seal_secret(b"seed", b"user:1", N1).unwrap();
        assert_eq!(&sealed[..4], &[SECRET_VERSION, 2, b'k', b'1']);
        assert_eq!(ring.open_secret(&sealed, b"user:1").unwrap(), b"seed");
        assert_eq!(
            ring.open_secret(&sealed, b"user:2").unwrap_err().code(),
            "vault_crypto"
        );
        assert_eq!(
            ring.open_secret(&sealed[..10], b"user:1")
                .unwrap_err()
                .code(),
            "vault_malformed"
        );
        let mut other_id = sealed.clone();
        other_id[3] = b'2';
        assert_eq!(
            ring.open_secret(&other_id, b"user:1").unwrap_err().code(),
            "vault_unknown_kek"
        );
        let empty = ring.seal_secret(b"", b"", N1).unwrap();
        assert_eq!(ring.open_secret(&empty, b"").unwrap(), b"");
    }

    fn check_load_fails(edit: fn(&Path), code: &str) {
        let scratch = ScratchDir::new("keys");
        let (dir, _) = ring(&scratch);
        edit(&dir);
        let err = Keyring::load(&dir).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn load_refuses() {
        check_load_fails(
            |d| chmod(&d.join("kek-k1.key"), 0o644),
            "vault_key_file_permissions",
        );
        check_load_fails(
            |d| chmod(&d.join("kek-k1.key"), 0o640),
            "vault_key_file_permissions",
        );
        check_load_fails(|d| chmod(d, 0o750), "vault_key_file_permissions");
        check_load_fails(
            |d| chmod(&d.join("current"), 0o604),
            "vault_key_file_permissions",
        );
        check_load_fails(
            |d| fs::write(d.join("kek-k1.key"), [1; 31]).unwrap(),
            "vault_bad_key_file",
        );
        check_load_fails(
            |d| fs::write(d.join("kek-k1.key"), [1; 33]).unwrap(),
            "vault_bad_key_file",
        );
        check_load_fails(
            |d| fs::write(d.join("current"), "k2\n").unwrap(),
            "vault_bad_key_file",
        );
        check_load_fails(
            |d| fs::write(d.join("current"), "K1").unwrap(),
            "vault_bad_key_file",
        );
        check_load_fails(
            |d| fs::rename(d.join("kek-k1.key"), d.join("kek-K1.key")).unwrap(),
            "vault_bad_key_file",
        );
        check_load_fails(
            |d| fs::remove_file(d.join("current")).unwrap(),
            "vault_current_missing",
        );
    }

    #[test]
    fn load_ignores_other_files() {
        let scratch = ScratchDir::new("keys");
        let (dir, _) = ring(&scratch);
        fs::write(dir.join(".kek-k1.key.tmp"), b"junk").unwrap();
        fs::write(dir.join("README"), b"junk").unwrap();
        assert_eq!(
            Keyring::load(&dir).unwrap().ids().collect::<Vec<_>>(),
            ["k1"]
        );
    }

    #[test]
    fn key_ids() {
        for (id, ok) in [
            ("k1", true),
            ("2024-06-rotation", true),
            ("", false),
            ("K1", false),
            ("a/b", false),
            ("a.b", false),
            ("room-1", false),
            ("rooms", true),
        ] {
            assert_eq!(check_id(id).is_ok(), ok, "{id}");
        }
        assert!(check_id(&"a".repeat(64)).is_ok());
        assert!(check_id(&"a".repeat(65)).is_err());
        let scratch = ScratchDir::new("keys");
        assert_eq!(
            Keyring::init(&scratch.0.join("k"), "../x", K1)
                .unwrap_err()
                .code(),
            "vault_invalid_key_id"
        );
    }

    #[test]
    fn debug_hides_keys() {
        assert_eq!(format!("{:?}", DataKey::from_bytes([7; 32])), "DataKey(..)");
        fn shareable<T: Send + Sync>() {}
        shareable::<Keyring>();
        shareable::<DataKey>();
    }
}
