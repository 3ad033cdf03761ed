//! Key rotation: a new key-encryption key becomes current and every data key
//! and sealed secret is re-wrapped under it. Content is never rewritten.

use std::path::Path;

use serde_json::json;
use store::Store;
use vault::Keyring;

use crate::AppError;
use crate::events::{Fact, RequestMeta, record};
use crate::secrets::random;

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
    let rewrapped_keys = rewrap_all(store, &ring).await?;
    let resealed_secrets = reseal_secrets(store, &ring).await?;
    let mut tx = store.begin().await?;
    let detail = json!({"kek_id": id, "rewrapped_keys": rewrapped_keys, "resealed_secrets": resealed_secrets});
    record(
        &mut tx,
        &RequestMeta::default(),
        now_ms,
        Fact::allowed(None, "keys.rotate", format!("kek:{id}")).with(detail),
    )
    .await?;
    tx.commit().await?;
    Ok(Rotation {
        new_kek_id: id,
        rewrapped_keys,
        resealed_secrets,
    })
}

async fn rewrap_all(store: &Store, ring: &Keyring) -> Result<usize, AppError> {
    let pending = store.read().await?.wrapped_keys(ring.current_id()).await?;
    for batch in pending.chunks(BATCH) {
        let mut tx = store.begin().await?;
        for (version, wrapped, kek) in batch {
            let key = ring.unwrap(kek, wrapped)?;
            tx.set_wrapped_key(*version, &ring.wrap(&key, random()?)?, ring.current_id())
                .await?;
        }
        tx.commit().await?;
    }
    Ok(pending.len())
}

async fn reseal_secrets(store: &Store, ring: &Keyring) -> Result<usize, AppError> {
    let mut tx = store.begin().await?;
    let mut count = 0;
    for mut user in tx.list_users(None).await? {
        let Some(sealed) = user.totp_secret_sealed.take() else {
            continue;
        };
        let context = format!("totp:{}", user.id);
        let secret = ring.open_secret(&sealed, context.as_bytes())?;
        user.totp_secret_sealed = Some(ring.seal_secret(&secret, context.as_bytes(), random()?)?);
        tx.update_user(&user).await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}
