//! Key rotation: a new key-encryption key becomes current and every data key
//! and sealed secret is re-wrapped under it. Content is never rewritten. Also the
//! application's other key files (ledger signer, mark key): made on a first start,
//! installed from the key directory at every start.

use std::path::Path;

use serde_json::json;
use store::Store;
use vault::Keyring;

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
    pub rewrapped_keys: usize,
    pub resealed_secrets: usize,
}

/// Adds a new KEK in `key_dir`, makes it current, and re-wraps everything.
/// Safe to run again after an interruption: it continues where it stopped.
pub async fn rotate_keys(store: &Store, key_dir: &Path, now_ms: i64) -> Result<Rotation, AppError> {
    let mut ring = Keyring::load(key_dir)?;
    let id = format!("k{}-{}", now_ms / 1000, hex::encode(random::<3>()?));
    ring.rotate(key_dir, &id, random()?)?;
    let rewrapped_keys = rewrap_all(store, &ring, now_ms).await?;
    let resealed_secrets = reseal_secrets(store, &ring, now_ms).await?;
    let mut tx = store.begin().await?;
    let detail = json!({"kek_id": id, "rewrapped_keys": rewrapped_keys, "resealed_secrets": resealed_secrets});
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
        resealed_secrets,
    })
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

impl App {
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
