//! Crown jewels: documents the owner's admins and security officers register
//! so that excerpts of them are recognised wherever they go next. A document
//! is registered from a file already in a room (its current version, read
//! through the vault like a download, its plaintext never written anywhere),
//! from every file of a room or of a folder of it, or uploaded for
//! registration only; in every case only its winnowing fingerprints
//! (`dlp::DocPrints`) are kept, with its name, size and SHA-256 — never its
//! content (docs/crown-jewels.md).
//!
//! The registry lives in the store (`crown_jewels`, migration 0027), so it
//! survives restarts and every node shares it. Each node keeps a copy in
//! memory ([`registry`]), reloaded when the generation that every
//! registration and removal moves is not the one it holds; the generation is
//! part of the DLP ruleset's digest (`dlp_policy::ruleset`), so a change of
//! the registry renews every stored verdict on its next outbound use. The
//! scanner then reports an excerpt as a `fingerprint.crown_jewel` finding
//! (high) naming the document and the share of overlap, and the room's DLP
//! policy decides on it as on any finding, for uploads and for downloads,
//! views and share links alike.
//!
//! Registration, removal and export are recorded (`jewel.register`,
//! `jewel.unregister`, `jewel.export`) under `jewels.manage`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dlp::{DocPrints, ExportedDocument, FingerprintConfig, Registry, RegistryFile};
use kernel::authz::Principal;
use kernel::events::{Fact, RequestMeta, record};
use kernel::secrets::random;
use kernel::{App, AppError, Authorized, ErrorCode, EventName, System, act};
use model::{File, FileId, RoomId, UserId, VersionId};
use serde_json::json;
use store::{CrownJewel, StoreError};

use crate::Files;

/// The largest document registered (it is held in memory while it is
/// fingerprinted).
pub const MAX_JEWEL_BYTES: u64 = 32 << 20;
/// The fewest fingerprints a document needs to be recognised at all.
pub const MIN_PRINTS: usize = 24;
/// The longest name of a document uploaded for registration, in characters.
pub const MAX_NAME: usize = 200;

/// Name endings of documents whose text the extractor reads although their
/// first bytes do not say so (as `inspect` knows them).
const DOC_EXTENSIONS: &[&str] = &[
    ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods", ".odp",
];

/// The crown-jewel registry: registration from files, folders and uploads,
/// the listing, removal and export (the owner's admins and security
/// officers, `jewels.manage`).
#[derive(Clone, Copy)]
pub struct Jewels<'a>(pub &'a App);

impl std::ops::Deref for Jewels<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// A registered document, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JewelInfo {
    pub id: String,
    /// The name findings give it.
    pub name: String,
    /// `file` or `upload`.
    pub source: &'static str,
    pub room_id: Option<RoomId>,
    pub file_id: Option<FileId>,
    pub version_id: Option<VersionId>,
    /// Bytes registered.
    pub size: i64,
    pub sha256: Vec<u8>,
    /// How many fingerprints it has.
    pub prints: i64,
    pub registered_by: UserId,
    /// Who registered it, for people.
    pub registered_by_email: Option<String>,
    pub registered_ms: i64,
}

impl JewelInfo {
    fn of(j: CrownJewel, email: Option<String>) -> JewelInfo {
        JewelInfo {
            id: j.id,
            name: j.name,
            source: if j.source == "file" { "file" } else { "upload" },
            room_id: j.room_id,
            file_id: j.file_id,
            version_id: j.version_id,
            size: j.size,
            sha256: j.sha256,
            prints: j.print_count,
            registered_by: j.registered_by,
            registered_by_email: email,
            registered_ms: j.registered_ms,
        }
    }
}

/// A file of a tree that was not registered, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedFile {
    pub path: String,
    /// `jewel_empty`, `jewel_not_text`, `jewel_too_small`,
    /// `jewel_duplicate` or `payload_too_large`.
    pub code: ErrorCode,
    pub message: String,
}

/// What registering a tree did.
#[derive(Clone, Debug, Default)]
pub struct TreeRegistered {
    pub registered: Vec<JewelInfo>,
    pub skipped: Vec<SkippedFile>,
}

/// Where a registration comes from.
enum Origin<'a> {
    File(&'a File, VersionId),
    Upload,
}

/// The fingerprints of the content of a document named `name`: its text
/// (extracted from documents and archives, decoded otherwise) fingerprinted
/// under the default parameters. Empty, binary and too-short content is
/// refused with its code.
fn prints_of(name: &str, bytes: &[u8]) -> Result<DocPrints, AppError> {
    if bytes.is_empty() {
        return Err(AppError::invalid(
            ErrorCode::JewelEmpty,
            format!("`{name}` is empty: there is nothing to register"),
        ));
    }
    let lower = name.to_ascii_lowercase();
    let head = bytes.get(..512).unwrap_or(bytes);
    let text = if dlp::is_container(name, head) || DOC_EXTENSIONS.iter().any(|e| lower.ends_with(e))
    {
        let extracted = dlp::extract(name, bytes, &dlp::Limits::default());
        let parts: Vec<String> = extracted.items.into_iter().map(|i| i.text).collect();
        parts.join("\n")
    } else if is_text(bytes) {
        dlp::decode_text(bytes)
    } else {
        String::new()
    };
    if text.trim().is_empty() {
        return Err(AppError::invalid(
            ErrorCode::JewelNotText,
            format!(
                "`{name}` is neither text nor a document whose text can be read; crown jewels \
                 are recognised by their text"
            ),
        ));
    }
    let prints = Registry::new(FingerprintConfig::default()).fingerprint(&text);
    if prints.len() < MIN_PRINTS {
        return Err(AppError::invalid(
            ErrorCode::JewelTooSmall,
            format!(
                "`{name}` has too little text to be recognised ({} fingerprints; at least \
                 {MIN_PRINTS} are needed)",
                prints.len()
            ),
        ));
    }
    Ok(prints)
}

/// Whether bytes are text: UTF-8 (or UTF-16 with its byte-order mark)
/// without NUL bytes.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        return true;
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(body).is_ok_and(|s| !s.contains('\0'))
}

/// Checks the name of a document uploaded for registration.
fn checked_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            ErrorCode::JewelBadName,
            format!("a crown jewel's name is 1 to {MAX_NAME} characters of printable text"),
        ));
    }
    Ok(name.to_owned())
}

fn duplicate(name: &str, of: &str) -> AppError {
    AppError::invalid(
        ErrorCode::JewelDuplicate,
        format!("`{name}` is registered already, as `{of}`"),
    )
}

/// The registry as this node holds it, and the generation it was read at.
#[derive(Default)]
struct Loaded(Mutex<Option<(i64, Arc<Registry>)>>);

/// The crown-jewel registry in force and its generation: this node's copy,
/// read again from the store when the generation there moved.
pub(crate) async fn registry(app: &App) -> Result<(i64, Arc<Registry>), AppError> {
    let slot = app.slot::<Loaded>();
    let mut tx = app.store().read().await?;
    let generation = tx.crown_jewel_generation().await?;
    {
        let held = slot.0.lock().map_err(AppError::internal)?;
        if let Some((g, r)) = held.as_ref().filter(|(g, _)| *g == generation) {
            return Ok((*g, r.clone()));
        }
    }
    let rows = tx.crown_jewels(true).await?;
    drop(tx);
    let registry = tokio::task::spawn_blocking(move || {
        let mut registry = Registry::new(FingerprintConfig::default());
        for row in rows {
            let inserted = DocPrints::decode(&row.prints)
                .and_then(|prints| registry.insert(&row.id, &row.name, &prints));
            if let Err(e) = inserted {
                tracing::error!(jewel = %row.id, error = %e, "a crown jewel's fingerprints are unusable; it is left out");
            }
        }
        registry
    })
    .await
    .map_err(AppError::internal)?;
    let registry = Arc::new(registry);
    *slot.0.lock().map_err(AppError::internal)? = Some((generation, registry.clone()));
    Ok((generation, registry))
}

impl Jewels<'_> {
    /// The registered documents, oldest first.
    pub async fn list(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
    ) -> Result<Vec<JewelInfo>, AppError> {
        let _ = auth.into_parts();
        let mut tx = self.store().read().await?;
        let rows = tx.crown_jewels(false).await?;
        let mut emails: HashMap<UserId, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let by = row.registered_by;
            let email = match emails.get(&by) {
                Some(e) => e.clone(),
                None => {
                    let e = tx.get_user(by).await?.map(|u| u.email);
                    emails.insert(by, e.clone());
                    e
                }
            };
            out.push(JewelInfo::of(row, email));
        }
        Ok(out)
    }

    /// Registers the current version of a file of any room (not deleted, not
    /// held) by its fingerprints; recorded as `jewel.register`.
    pub async fn register_file(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
        file: FileId,
    ) -> Result<JewelInfo, AppError> {
        let (meta, p, _) = auth.into_parts();
        let file = self
            .store()
            .read()
            .await?
            .get_file(file)
            .await?
            .ok_or(AppError::NotFound)?;
        self.register_from(meta, p, &file).await
    }

    /// Registers every file of a room, or of the folder `folder` of it and
    /// below, one by one; a file that cannot be registered (empty, binary,
    /// too small, too large, registered already) is skipped with its code,
    /// and the others are registered all the same.
    pub async fn register_tree(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
        room: RoomId,
        folder: Option<&str>,
    ) -> Result<TreeRegistered, AppError> {
        let (meta, p, _) = auth.into_parts();
        let prefix = folder
            .map(|f| f.trim_matches('/'))
            .filter(|f| !f.is_empty())
            .map(|f| format!("{f}/"));
        let files = {
            let mut tx = self.store().read().await?;
            tx.get_room(room).await?.ok_or(AppError::NotFound)?;
            tx.list_files(room).await?
        };
        let mut done = TreeRegistered::default();
        for file in files
            .iter()
            .filter(|f| prefix.as_deref().is_none_or(|pre| f.path.starts_with(pre)))
        {
            match self.register_from(meta, p, file).await {
                Ok(info) => done.registered.push(info),
                Err(e) => {
                    let code = e.code();
                    let skipped = matches!(
                        code,
                        ErrorCode::JewelEmpty
                            | ErrorCode::JewelNotText
                            | ErrorCode::JewelTooSmall
                            | ErrorCode::JewelDuplicate
                            | ErrorCode::PayloadTooLarge
                    );
                    if !skipped {
                        return Err(e);
                    }
                    done.skipped.push(SkippedFile {
                        path: file.path.clone(),
                        code,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(done)
    }

    /// Registers what `path` names in a room: the file at that path, else
    /// every file under the folder `path` (the whole room when empty), as
    /// [`Jewels::register_tree`] does. A path that names neither is
    /// `invalid_field`.
    pub async fn register_path(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
        room: RoomId,
        path: &str,
    ) -> Result<TreeRegistered, AppError> {
        let path = path.trim().trim_matches('/');
        let file = {
            let mut tx = self.store().read().await?;
            tx.get_room(room).await?.ok_or(AppError::NotFound)?;
            let files = tx.list_files(room).await?;
            files
                .into_iter()
                .find(|f| !path.is_empty() && f.path == path)
        };
        let Some(file) = file else {
            let done = self.register_tree(auth, room, Some(path)).await?;
            if done.registered.is_empty() && done.skipped.is_empty() {
                return Err(AppError::invalid(
                    ErrorCode::InvalidField,
                    format!("no file is at or under `{path}` in the room"),
                ));
            }
            return Ok(done);
        };
        let (meta, p, _) = auth.into_parts();
        let info = self.register_from(meta, p, &file).await?;
        Ok(TreeRegistered {
            registered: vec![info],
            skipped: Vec::new(),
        })
    }

    /// Registers a document uploaded for registration only: `content` is
    /// fingerprinted and dropped; recorded as `jewel.register`.
    pub async fn register_upload(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
        name: &str,
        content: Vec<u8>,
    ) -> Result<JewelInfo, AppError> {
        let (meta, p, _) = auth.into_parts();
        let name = checked_name(name)?;
        if content.len() as u64 > MAX_JEWEL_BYTES {
            return Err(AppError::TooLarge {
                limit: MAX_JEWEL_BYTES,
            });
        }
        self.register_content(meta, p, &name, Origin::Upload, content)
            .await
    }

    /// Removes a document from the registry; recorded as `jewel.unregister`.
    pub async fn unregister(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
        id: &str,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let gone = tx.delete_crown_jewel(id).await?.ok_or(AppError::NotFound)?;
        let detail = json!({"name": gone.name, "sha256": hex::encode(&gone.sha256)});
        let fact = Fact::allowed(Some(p), EventName::JewelUnregister, format!("jewel:{id}"));
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The registry exported for `custody scan --registry` (JSON, fingerprints
    /// only) and how many documents it holds; recorded as `jewel.export`.
    pub async fn export(
        &self,
        auth: Authorized<'_, act::JewelsManage, System>,
    ) -> Result<(String, usize), AppError> {
        let (meta, p, _) = auth.into_parts();
        let rows = self.store().read().await?.crown_jewels(true).await?;
        let mut documents = Vec::with_capacity(rows.len());
        for row in &rows {
            let prints = DocPrints::decode(&row.prints).map_err(AppError::internal)?;
            let size = u64::try_from(row.size).unwrap_or(0);
            let sha = hex::encode(&row.sha256);
            documents.push(ExportedDocument::new(
                &row.id, &row.name, size, &sha, &prints,
            ));
        }
        let count = documents.len();
        let file = RegistryFile::new(&FingerprintConfig::default(), documents);
        let fact = Fact::allowed(Some(p), EventName::JewelExport, "jewels".to_owned())
            .with(json!({"documents": count}));
        self.record_alone(meta, fact).await?;
        Ok((file.to_json(), count))
    }

    /// Registers the current version of `file`.
    async fn register_from(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        file: &File,
    ) -> Result<JewelInfo, AppError> {
        let v = file.current.as_ref().ok_or(AppError::NotFound)?;
        let size = u64::try_from(v.size).map_err(AppError::internal)?;
        if size > MAX_JEWEL_BYTES {
            return Err(AppError::TooLarge {
                limit: MAX_JEWEL_BYTES,
            });
        }
        if size == 0 {
            return Err(prints_of(&file.path, &[])
                .err()
                .unwrap_or(AppError::NotFound));
        }
        if let Some(known) = self
            .store()
            .read()
            .await?
            .crown_jewel_by_sha256(&v.sha256)
            .await?
        {
            return Err(duplicate(&file.path, &known.name));
        }
        let content = Files(self.0).read_whole(meta, p, file, v, size).await?;
        self.register_content(meta, p, &file.path, Origin::File(file, v.id), content)
            .await
    }

    /// Fingerprints `content` (then drops it) and stores the fingerprints
    /// with the `jewel.register` event.
    async fn register_content(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        name: &str,
        origin: Origin<'_>,
        content: Vec<u8>,
    ) -> Result<JewelInfo, AppError> {
        let size = i64::try_from(content.len()).map_err(AppError::internal)?;
        let sha256 = kernel::secrets::sha256(&content);
        let owned = name.to_owned();
        let prints = tokio::task::spawn_blocking(move || prints_of(&owned, &content))
            .await
            .map_err(AppError::internal)??;
        let now = self.now();
        let (room_id, file_id, version_id) = match &origin {
            Origin::File(f, v) => (Some(f.room_id), Some(f.id), Some(*v)),
            Origin::Upload => (None, None, None),
        };
        let jewel = CrownJewel {
            id: uuid::Builder::from_random_bytes(random()?)
                .into_uuid()
                .to_string(),
            name: name.to_owned(),
            source: match origin {
                Origin::File(..) => "file",
                Origin::Upload => "upload",
            }
            .to_owned(),
            room_id,
            file_id,
            version_id,
            size,
            sha256,
            prints: prints.encode(),
            print_count: i64::try_from(prints.len()).map_err(AppError::internal)?,
            registered_by: p.user_id,
            registered_ms: now,
        };
        let mut tx = self.store().begin().await?;
        if let Some(known) = tx.crown_jewel_by_sha256(&jewel.sha256).await? {
            return Err(duplicate(name, &known.name));
        }
        match tx.insert_crown_jewel(&jewel).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Err(duplicate(name, name)),
            Err(e) => return Err(e.into()),
        }
        let mut detail = json!({
            "name": jewel.name, "source": jewel.source, "size": size,
            "sha256": hex::encode(&jewel.sha256), "prints": jewel.print_count,
        });
        if let (Some(room), Some(file), Some(version)) = (room_id, file_id, version_id) {
            detail["room"] = json!(room.to_string());
            detail["file"] = json!(file.to_string());
            detail["version"] = json!(version.to_string());
        }
        let target = format!("jewel:{}", jewel.id);
        let fact = Fact::allowed(Some(p), EventName::JewelRegister, target).with(detail);
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(JewelInfo::of(jewel, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_with_enough_fingerprints_is_registered() {
        let code: String = (0..20)
            .map(|i| format!("fn step_{i}(x: u32) -> u32 {{ if x % 2 == 0 {{ x / {i} }} else {{ 3 * x + 1 }} }}\n"))
            .collect();
        let cases: [(&str, Vec<u8>, Result<(), ErrorCode>); 6] = [
            ("empty.rs", Vec::new(), Err(ErrorCode::JewelEmpty)),
            (
                "image.png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0".repeat(40),
                Err(ErrorCode::JewelNotText),
            ),
            (
                "tiny.rs",
                b"fn main() {}".to_vec(),
                Err(ErrorCode::JewelTooSmall),
            ),
            ("step.rs", code.clone().into_bytes(), Ok(())),
            (
                "step16.rs",
                [
                    &b"\xff\xfe"[..],
                    &code
                        .encode_utf16()
                        .flat_map(u16::to_le_bytes)
                        .collect::<Vec<u8>>(),
                ]
                .concat(),
                Ok(()),
            ),
            (
                "blank.txt",
                b"   \n\n  ".to_vec(),
                Err(ErrorCode::JewelNotText),
            ),
        ];
        for (name, bytes, want) in cases {
            let got = prints_of(name, &bytes).map(|_| ()).map_err(|e| e.code());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn names_are_one_printable_line() {
        let long = "x".repeat(MAX_NAME + 1);
        let cases: [(&str, Option<&str>); 4] = [
            (" src/engine.rs ", Some("src/engine.rs")),
            ("", None),
            ("two\nlines", None),
            (&long, None),
        ];
        for (raw, want) in cases {
            assert_eq!(checked_name(raw).ok().as_deref(), want, "{raw:?}");
        }
    }
}
