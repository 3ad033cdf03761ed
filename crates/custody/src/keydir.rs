//! The key directory at start: created whole on a first start (the key-encryption
//! key, the ledger signer and the mark key, listed in the manifest), loaded and
//! checked on every other start, and refused when inconsistent — a missing or
//! damaged key is never replaced by a new one, which would make everything it
//! protects unreadable for good. Rules: docs/vault-format.md §6.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use app::App;
use app::ledger::SIGNER_KEY_FILE;
use vault::keydir::{KeyDir, KeyDirState};

/// The id of the first key-encryption key.
const FIRST_KEK: &str = "k1";

/// Opens the key directory `dir`: creates it on a first start (no directory or an
/// empty one, and no data in the store or the blob store), else loads it and
/// refuses anything inconsistent, saying what and how to recover. The directory
/// holds the key-encryption keys and the application's [`App::KEY_FILES`].
pub async fn open(
    dir: &Path,
    store: &store::Store,
    blobs: &dyn vault::Blobs,
) -> anyhow::Result<KeyDir> {
    let state = vault::keydir::state(dir)
        .with_context(|| format!("cannot read the key directory `{}`", dir.display()))?;
    match state {
        KeyDirState::Missing | KeyDirState::Empty => first_start(dir, store, blobs).await,
        KeyDirState::Populated => load(dir, store).await,
    }
}

/// How many blobs `blobs` holds, counted a page at a time.
async fn count_blobs(blobs: &dyn vault::Blobs) -> Result<usize, vault::VaultError> {
    const PAGE: usize = 1000;
    let (mut count, mut after) = (0, None);
    loop {
        let page = blobs.list_page(after, PAGE).await?;
        count += page.len();
        match page.last() {
            Some(&last) if page.len() == PAGE => after = Some(last),
            _ => return Ok(count),
        }
    }
}

/// A refusal: what is wrong, and that the key directory was left as it was.
fn refused(dir: &Path) -> String {
    format!(
        "refusing to start with the key directory `{}` as it is (nothing was changed)",
        dir.display()
    )
}

async fn first_start(
    dir: &Path,
    store: &store::Store,
    blobs: &dyn vault::Blobs,
) -> anyhow::Result<KeyDir> {
    let entries = store.read().await?.ledger_size().await?;
    let stored = count_blobs(blobs).await?;
    if entries > 0 || stored > 0 {
        bail!(
            "the key directory `{}` is missing or empty but the data directory holds data \
             ({entries} ledger entries, {stored} blobs): restore the key directory from \
             backup; new keys would open nothing stored (nothing was changed)",
            dir.display()
        );
    }
    let mut contents = Vec::new();
    for name in App::KEY_FILES {
        contents.push((name, App::new_key_file(name).map_err(app_error)?));
    }
    let files: Vec<(&str, &[u8])> = contents.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let kek = app::secrets::random::<32>().map_err(app_error)?;
    let created = KeyDir::create(dir, FIRST_KEK, kek, &files)
        .with_context(|| format!("cannot create the key directory `{}`", dir.display()))?;
    tracing::info!(
        dir = %dir.display(),
        "created the key directory: key-encryption key, ledger signer key, mark key"
    );
    Ok(created)
}

async fn load(dir: &Path, store: &store::Store) -> anyhow::Result<KeyDir> {
    let mut keys = KeyDir::open(dir, &App::KEY_FILES).with_context(|| refused(dir))?;
    if !keys.has_manifest() {
        add_manifest(&mut keys, dir, store).await?;
    }
    Ok(keys)
}

/// A key directory from before manifests, consistent as loaded: the ledger signer
/// is created only if no checkpoint was ever signed, the mark key if missing (as
/// it was created on first use before), then the manifest is written.
async fn add_manifest(keys: &mut KeyDir, dir: &Path, store: &store::Store) -> anyhow::Result<()> {
    if keys.file(SIGNER_KEY_FILE).is_none()
        && store.read().await?.latest_checkpoint().await?.is_some()
    {
        bail!(
            "`{}` is missing but the ledger holds signed checkpoints: restore it from \
             backup; a new signer key would fail every checkpoint (nothing was changed)",
            dir.join(SIGNER_KEY_FILE).display()
        );
    }
    for name in App::KEY_FILES {
        if keys.file(name).is_none() {
            keys.add_file(name, &App::new_key_file(name).map_err(app_error)?)?;
        }
    }
    keys.write_manifest()
        .with_context(|| format!("cannot write the manifest of `{}`", dir.display()))?;
    tracing::warn!(dir = %dir.display(), "wrote the key manifest of a key directory that had none");
    Ok(())
}

/// The application over `store` and `blobs` with the key material of `keys`.
pub fn app_with(
    keys: KeyDir,
    dir: &Path,
    parts: (store::Store, std::sync::Arc<dyn vault::Blobs>),
    settings: app::Settings,
) -> anyhow::Result<App> {
    let (keyring, files) = keys.into_parts();
    let file = |name: &str| {
        files.get(name).ok_or_else(|| {
            anyhow!(
                "`{}` is missing and the key manifest does not list it: restore the key \
                 directory from backup (nothing was changed)",
                dir.join(name).display()
            )
        })
    };
    let [signer, mark_key] = App::KEY_FILES.map(file);
    let (signer, mark_key) = (signer?, mark_key?);
    let (store, blobs) = parts;
    let app = App::new(
        store,
        keyring,
        dir.to_owned(),
        blobs,
        std::sync::Arc::new(app::SystemClock),
        settings,
    );
    app.with_key_files(signer, mark_key)
        .map_err(app_error)
        .with_context(|| refused(dir))
}

fn app_error(e: app::AppError) -> anyhow::Error {
    anyhow!("{e}")
}
