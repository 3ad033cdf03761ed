//! Key rotation: a new key-encryption key becomes current and every data key
//! and sealed secret is re-wrapped under it. Content is never rewritten. Also the
//! application's other key files (ledger signer, mark key): made on a first start,
//! installed from the key directory at every start.

use std::path::Path;

use serde_json::json;
use std::sync::Arc;
use store::Store;

use vault::{DataKey, Keyring, RoomKey};

use crate::MARK_KEY_FILE;
use crate::events::{EventName, Fact, RequestMeta, record};
use crate::ledger::{DEFAULT_LEDGER_NAME, SIGNER_KEY_FILE};
use crate::secrets::random;
use crate::{App, AppError};

/// Versions re-wrapped per transaction.
const BATCH: usize = 500;

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub new_kek_id: String,
    /// Data keys re-wrapped (only those stored before rooms had keys).
    pub rewrapped_keys: usize,
    /// Room key files re-wrapped under the new KEK.
    pub rewrapped_room_keys: usize,
    pub resealed_secrets: usize,
}

/// Adds a new KEK in `key_dir`, makes it current, and re-wraps everything.
/// Safe to run again after an interruption: it continues where it stopped.
pub async fn rotate_keys(store: &Store, key_dir: &Path, now_ms: i64) -> Result<Rotation, AppError> {
    let mut ring = Keyring::load(key_dir)?;
    let id = format!("k{}-{}", now_ms / 1000, hex::encode(random::<3>()?));
    ring.rotate(key_dir, &id, random()?)?;
    let rewrapped_keys = rewrap_all(store, &ring, now_ms).await?;
    let mut rewrapped_room_keys = 0;
    for room in vault::roomkeys::list(key_dir)? {
        rewrapped_room_keys +=
            usize::from(vault::roomkeys::rewrap(key_dir, &ring, &room, random()?)?);
    }
    let resealed_secrets = reseal_secrets(store, &ring, now_ms).await?;
    let mut tx = store.begin().await?;
    let detail = json!({"kek_id": id, "rewrapped_keys": rewrapped_keys,
        "rewrapped_room_keys": rewrapped_room_keys, "resealed_secrets": resealed_secrets});
    record(
        &mut tx,
        &RequestMeta::default(),
        now_ms,
        Fact::allowed(None, EventName::KeysRotate, format!("kek:{id}")).with(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Rotation {
        new_kek_id: id,
        rewrapped_keys,
        rewrapped_room_keys,
        resealed_secrets,
    })
}

/// Gives every room without a key file one — unless data keys are already
/// wrapped under the room's key, which then was destroyed (or lost): such a
/// room stays unreadable (`room_key_missing`) — then re-wraps under its room's
/// key every data key still wrapped directly by a KEK (stored before rooms had
/// keys), a batch per transaction with its `keys.rewrap` event. Run at every
/// start before serving; it does nothing once every room has its key.
pub async fn adopt_room_keys(app: &App, now_ms: i64) -> Result<usize, AppError> {
    let rooms = app.store().read().await?.room_key_generations().await?;
    let have = generations_by_room(&vault::roomkeys::list(&app.inner.key_dir)?);
    for (room, generation) in rooms {
        if have.contains_key(&room) {
            continue;
        }
        let versions = app.store().read().await?.room_versions(room).await?;
        if versions
            .iter()
            .any(|v| vault::roomkeys::room_of_key_id(&v.key_id).is_some())
        {
            tracing::error!(%room, "the room's key is missing: its content cannot be decrypted");
            continue;
        }
        app.create_room_key_generation(room, generation)?;
    }
    heal_from_carry(app, now_ms).await?;
    let mut total = 0;
    loop {
        let batch = app
            .store()
            .read()
            .await?
            .kek_wrapped_versions(i64::try_from(BATCH).unwrap_or(500))
            .await?;
        if batch.is_empty() {
            return Ok(total);
        }
        let mut tx = app.store().begin().await?;
        let mut versions = Vec::with_capacity(batch.len());
        let mut from: Vec<&str> = Vec::new();
        for (version, room, wrapped, kek) in &batch {
            let key = app.unwrap_data_key(kek, wrapped)?;
            let generation = tx.lock_room_key_generation(*room).await?;
            let (rewrapped, key_id) = app.wrap_data_key(*room, generation, &key)?;
            tx.set_wrapped_key(*version, &rewrapped, &key_id).await?;
            versions.push(version.to_string());
            if !from.contains(&kek.as_str()) {
                from.push(kek);
            }
        }
        let detail = json!({"room_keys": true, "from": from, "versions": versions});
        let fact = Fact::allowed(None, EventName::KeysRewrap, "rooms".to_owned()).with(detail);
        record(&mut tx, &RequestMeta::default(), now_ms, fact).await?;
        tx.commit().await?;
        total += batch.len();
    }
}

/// The generations of each room's key that have a key file, from the key
/// directory's room key names (each parsed once).
fn generations_by_room(names: &[String]) -> std::collections::HashMap<model::RoomId, Vec<i64>> {
    let mut by_room: std::collections::HashMap<model::RoomId, Vec<i64>> =
        std::collections::HashMap::new();
    for (room, generation) in names.iter().filter_map(|n| room_and_generation(n)) {
        by_room.entry(room).or_default().push(generation);
    }
    by_room
}

/// After a restore of a database older than a purge (docs/destruction.md,
/// "Files"): a room whose current generation's key file is gone while a later
/// one exists gets its kept versions back from its carry file — each re-wrapped
/// under the later generation, a batch per transaction with its `keys.rewrap`
/// event — and moves to that generation. Versions the carry file does not
/// hold were purged and stay unreadable.
async fn heal_from_carry(app: &App, now_ms: i64) -> Result<(), AppError> {
    let by_room = generations_by_room(&vault::roomkeys::list(&app.inner.key_dir)?);
    let rooms = app.store().read().await?.room_key_generations().await?;
    for (room, generation) in rooms {
        let Some(present) = by_room.get(&room) else {
            continue;
        };
        let Some(&latest) = present.iter().max() else {
            continue;
        };
        if present.contains(&generation) || latest < generation {
            continue;
        }
        let Some(carry) = vault::roomkeys::read_carry(&app.inner.key_dir, &room_key_name(room, 0))?
        else {
            tracing::error!(%room, "the room's key generation is gone and it has no carry file");
            continue;
        };
        if carry.to != room_key_id(room, latest) {
            tracing::error!(%room, to = %carry.to, "the room's carry file is not for its latest key");
            continue;
        }
        let gone: Vec<String> = (0..latest)
            .filter(|g| !present.contains(g))
            .map(|g| room_key_id(room, g))
            .collect();
        let versions = app.store().read().await?.room_versions(room).await?;
        let stale: Vec<_> = versions
            .iter()
            .filter(|v| gone.contains(&v.key_id))
            .filter_map(|v| {
                carry
                    .keys
                    .get(&v.version_id.to_string())
                    .map(|w| (v.version_id, w))
            })
            .collect();
        for batch in stale.chunks(BATCH) {
            let mut tx = app.store().begin().await?;
            for (version, wrapped) in batch {
                tx.set_wrapped_key(*version, wrapped, &carry.to).await?;
            }
            let names: Vec<String> = batch.iter().map(|(v, _)| v.to_string()).collect();
            let detail = json!({"room_key": {"from": gone, "to": carry.to}, "carry": true,
                "versions": names});
            let fact = Fact::allowed(None, EventName::KeysRewrap, format!("room:{room}"));
            record(&mut tx, &RequestMeta::default(), now_ms, fact.with(detail)).await?;
            tx.commit().await?;
        }
        let mut tx = app.store().begin().await?;
        tx.set_room_key_generation(room, generation, latest).await?;
        tx.commit().await?;
        tracing::warn!(%room, versions = stale.len(), "a restored room's kept versions were re-keyed from its carry file");
    }
    Ok(())
}

/// Re-wraps every data key not yet under the current KEK, a batch per
/// transaction; each batch records one `keys.rewrap` event naming the versions
/// it re-wrapped and the KEKs they were under, committed with the re-wrap.
async fn rewrap_all(store: &Store, ring: &Keyring, now_ms: i64) -> Result<usize, AppError> {
    let pending = store.read().await?.wrapped_keys(ring.current_id()).await?;
    for batch in pending.chunks(BATCH) {
        let mut tx = store.begin().await?;
        let mut versions = Vec::with_capacity(batch.len());
        let mut from: Vec<&str> = Vec::new();
        for (version, wrapped, kek) in batch {
            let key = ring.unwrap(kek, wrapped)?;
            tx.set_wrapped_key(*version, &ring.wrap(&key, random()?)?, ring.current_id())
                .await?;
            versions.push(version.to_string());
            if !from.contains(&kek.as_str()) {
                from.push(kek);
            }
        }
        let kek = ring.current_id();
        let detail = json!({"kek_id": kek, "from": from, "versions": versions});
        let fact = Fact::allowed(None, EventName::KeysRewrap, format!("kek:{kek}")).with(detail);
        record(&mut tx, &RequestMeta::default(), now_ms, fact).await?;
        tx.commit().await?;
    }
    Ok(pending.len())
}

/// Re-seals every user's TOTP secret under the current KEK in one transaction
/// with its `keys.reseal` event (naming the users), when there is any.
async fn reseal_secrets(store: &Store, ring: &Keyring, now_ms: i64) -> Result<usize, AppError> {
    let mut tx = store.begin().await?;
    let mut count = 0;
    let mut users = Vec::new();
    for mut user in tx.list_users(None).await? {
        let Some(sealed) = user.totp_secret_sealed.take() else {
            continue;
        };
        let context = format!("totp:{}", user.id);
        let secret = ring.open_secret(&sealed, context.as_bytes())?;
        user.totp_secret_sealed = Some(ring.seal_secret(&secret, context.as_bytes(), random()?)?);
        tx.update_user(&user).await?;
        users.push(user.id.to_string());
        count += 1;
    }
    if count > 0 {
        let kek = ring.current_id();
        let detail = json!({"kek_id": kek, "users": users});
        let fact = Fact::allowed(None, EventName::KeysReseal, format!("kek:{kek}")).with(detail);
        record(&mut tx, &RequestMeta::default(), now_ms, fact).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// The room keys unwrapped so far, by key file name (`App::room_key`).
pub(crate) type RoomKeyMap = std::collections::HashMap<String, Arc<RoomKey>>;

fn missing_room_key(name: &str) -> AppError {
    tracing::error!(key = name, "the room's key is not in the key directory");
    AppError::invalid(
        crate::ErrorCode::RoomKeyMissing,
        "the room's key is not in the key directory: its content cannot be decrypted",
    )
}

/// The name of the key file of generation `generation` of room `room`'s key:
/// `<room>` for the first, `<room>-g<n>` for the n-th re-keying (a purge of
/// some of its files, content/src/purge.rs).
pub fn room_key_name(room: model::RoomId, generation: i64) -> String {
    if generation == 0 {
        room.0.to_string()
    } else {
        format!("{}-g{generation}", room.0)
    }
}

/// The id of generation `generation` of room `room`'s key (`room-<name>`),
/// as stored beside the data keys it wraps.
pub fn room_key_id(room: model::RoomId, generation: i64) -> String {
    vault::roomkeys::key_id_of_room(&room_key_name(room, generation))
}

/// The room and generation of a room key file name (`<room>` is generation
/// 0, `<room>-g<n>` generation n).
fn room_and_generation(name: &str) -> Option<(model::RoomId, i64)> {
    let room = name.get(..36)?.parse().ok().map(model::RoomId)?;
    let generation = match &name[36..] {
        "" => 0,
        rest => {
            let n = rest.strip_prefix("-g")?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse().ok()?
        }
    };
    Some((room, generation))
}

/// The room of a room key file name, of any generation.
fn room_of_name(name: &str) -> Option<model::RoomId> {
    room_and_generation(name).map(|(room, _)| room)
}

impl App {
    /// Makes room `room`'s first key, a file of the key directory wrapped under
    /// the current KEK (`vault::roomkeys`), before the room's row commits. A room
    /// key left by a creation that failed later wraps nothing and is harmless.
    pub fn create_room_key(&self, room: model::RoomId) -> Result<Arc<RoomKey>, AppError> {
        self.create_room_key_generation(room, 0)
    }

    /// Makes generation `generation` of room `room`'s key; when its file exists
    /// already (a re-keying that a crash interrupted), loads it instead.
    pub fn create_room_key_generation(
        &self,
        room: model::RoomId,
        generation: i64,
    ) -> Result<Arc<RoomKey>, AppError> {
        let name = room_key_name(room, generation);
        let made = {
            let ring = self.keyring()?;
            vault::roomkeys::create(&self.inner.key_dir, &ring, &name, random()?, random()?)
        };
        let key = match made {
            Err(vault::VaultError::KeyFileExists { .. }) => return self.room_key_named(&name),
            other => Arc::new(other?),
        };
        self.room_keys_write()?.insert(name, key.clone());
        Ok(key)
    }

    /// Generation `generation` of room `room`'s key. A room without that key
    /// file is `room_key_missing`.
    pub fn room_key(&self, room: model::RoomId, generation: i64) -> Result<Arc<RoomKey>, AppError> {
        self.room_key_named(&room_key_name(room, generation))
    }

    /// The room key of file name `name`: from memory, else loaded from its file
    /// (the KEKs reloaded once if the file is wrapped under one this process has
    /// not loaded).
    fn room_key_named(&self, name: &str) -> Result<Arc<RoomKey>, AppError> {
        if let Some(key) = self
            .inner
            .room_keys
            .read()
            .map_err(|_| AppError::internal("room keys lock poisoned"))?
            .get(name)
        {
            return Ok(key.clone());
        }
        let load = || {
            let ring = self.keyring()?;
            Ok::<_, AppError>(vault::roomkeys::load(&self.inner.key_dir, &ring, name)?)
        };
        let loaded = match load() {
            Err(_) => {
                self.reload_keys()?;
                load()?
            }
            ok => ok?,
        };
        let key = Arc::new(loaded.ok_or_else(|| missing_room_key(name))?);
        self.room_keys_write()?.insert(name.to_owned(), key.clone());
        Ok(key)
    }

    /// Destroys every generation of room `room`'s key
    /// (`vault::roomkeys::destroy`): forgotten in memory, then each file
    /// overwritten and unlinked. Returns whether one existed.
    pub fn destroy_room_key(&self, room: model::RoomId) -> Result<bool, AppError> {
        let mut any = false;
        for name in vault::roomkeys::list(&self.inner.key_dir)? {
            if room_of_name(&name) == Some(room) {
                any |= self.destroy_room_key_named(&name)?;
            }
        }
        vault::roomkeys::destroy_carry(&self.inner.key_dir, &room_key_name(room, 0))?;
        Ok(any)
    }

    /// Writes room `room`'s carry file (`vault::roomkeys::write_carry`): the
    /// data keys of the versions a re-keying kept, wrapped under generation
    /// `generation`, so that a backup whose rows still name an older
    /// generation opens them once that generation is destroyed.
    pub fn write_carry(
        &self,
        room: model::RoomId,
        generation: i64,
        keys: &[(String, Vec<u8>)],
    ) -> Result<(), AppError> {
        Ok(vault::roomkeys::write_carry(
            &self.inner.key_dir,
            &room_key_name(room, 0),
            &room_key_id(room, generation),
            keys,
        )?)
    }

    /// Destroys generation `generation` of room `room`'s key only (a purge,
    /// once every data key that stays is wrapped under a later generation).
    pub fn destroy_room_key_generation(
        &self,
        room: model::RoomId,
        generation: i64,
    ) -> Result<bool, AppError> {
        self.destroy_room_key_named(&room_key_name(room, generation))
    }

    fn destroy_room_key_named(&self, name: &str) -> Result<bool, AppError> {
        self.room_keys_write()?.remove(name);
        Ok(vault::roomkeys::destroy(&self.inner.key_dir, name)?)
    }

    /// Whether room `room` has a key file (of any generation).
    pub fn has_room_key(&self, room: model::RoomId) -> Result<bool, AppError> {
        Ok(vault::roomkeys::list(&self.inner.key_dir)?
            .iter()
            .any(|name| room_of_name(name) == Some(room)))
    }

    /// Whether generation `generation` of room `room`'s key has a file.
    pub fn has_room_key_generation(
        &self,
        room: model::RoomId,
        generation: i64,
    ) -> Result<bool, AppError> {
        Ok(vault::roomkeys::list(&self.inner.key_dir)?.contains(&room_key_name(room, generation)))
    }

    /// Wraps a data key for a blob of room `room` under generation
    /// `generation` of its key (read with the room's row locked,
    /// `Tx::lock_room_key_generation`): the wrapped key and the id stored
    /// beside it (the room key's).
    pub fn wrap_data_key(
        &self,
        room: model::RoomId,
        generation: i64,
        key: &DataKey,
    ) -> Result<(Vec<u8>, String), AppError> {
        let room_key = self.room_key(room, generation)?;
        Ok((room_key.wrap(key, random()?)?, room_key.id().to_owned()))
    }

    /// Unwraps a stored data key: under the room key `key_id` names, else
    /// under the KEK `key_id` (data keys stored before room keys existed).
    pub fn unwrap_data_key(&self, key_id: &str, wrapped: &[u8]) -> Result<DataKey, AppError> {
        if let Some(name) = vault::roomkeys::room_of_key_id(key_id) {
            return Ok(self.room_key_named(name)?.unwrap(wrapped)?);
        }
        let first = self.keyring()?.unwrap(key_id, wrapped);
        match first {
            Err(vault::VaultError::UnknownKek(_)) => {
                self.reload_keys()?;
                Ok(self.keyring()?.unwrap(key_id, wrapped)?)
            }
            other => Ok(other?),
        }
    }

    fn room_keys_write(&self) -> Result<std::sync::RwLockWriteGuard<'_, RoomKeyMap>, AppError> {
        self.inner
            .room_keys
            .write()
            .map_err(|_| AppError::internal("room keys lock poisoned"))
    }

    /// The key files the application keeps in the key directory beside the
    /// key-encryption keys: the ledger signer and the mark key.
    pub const KEY_FILES: [&'static str; 2] = [SIGNER_KEY_FILE, MARK_KEY_FILE];

    /// The bytes of a new key file `name` (one of [`App::KEY_FILES`]), made on a
    /// first start only.
    pub fn new_key_file(name: &str) -> Result<Vec<u8>, AppError> {
        match name {
            SIGNER_KEY_FILE => crate::ledger::new_signer_file(DEFAULT_LEDGER_NAME),
            MARK_KEY_FILE => Ok(format!("{}\n", hex::encode(random::<32>()?)).into_bytes()),
            _ => Err(AppError::internal(format!(
                "`{name}` is not a key file of the application"
            ))),
        }
    }

    /// Installs the ledger signer and the mark key from the bytes of their files,
    /// loaded with the key directory at start, so that neither is ever created on
    /// first use.
    pub fn with_key_files(self, signer: &[u8], mark_key: &[u8]) -> Result<App, AppError> {
        let signer = crate::ledger::signer_from_file(signer)?;
        let mark_key = mark::MarkKey::derive(mark_key.trim_ascii());
        let taken = || AppError::internal("the ledger signer or the mark key is already set");
        self.inner.ledger_signer.set(signer).map_err(|_| taken())?;
        self.inner.mark_key.set(mark_key).map_err(|_| taken())?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_key_files_read_back() {
        let signer = App::new_key_file(SIGNER_KEY_FILE).unwrap();
        assert!(signer.ends_with(b"\n"));
        let parsed = crate::ledger::signer_from_file(&signer).unwrap();
        assert_eq!(parsed.name(), DEFAULT_LEDGER_NAME);
        let mark = App::new_key_file(MARK_KEY_FILE).unwrap();
        assert_eq!(mark.len(), 65);
        assert!(mark.ends_with(b"\n"));
        assert_ne!(App::new_key_file(MARK_KEY_FILE).unwrap(), mark);
        let other = App::new_key_file("kek-k1.key").unwrap_err();
        assert_eq!(other.code(), crate::ErrorCode::Internal);
        assert!(crate::ledger::signer_from_file(b"garbage\n").is_err());
    }
}
