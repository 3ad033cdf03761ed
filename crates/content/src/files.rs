//! Uploads and downloads: content streams through the vault in constant memory.
//! An upload becomes a version only after its blob is completely written and
//! fsynced and the metadata transaction (with its event) commits. A download
//! decrypts only the chunks the requested range needs; every chunk is
//! authenticated before a byte of it leaves, and a full read is checked against
//! the recorded SHA-256.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use kernel::BlobWorker;
use kernel::authz::Principal;
use kernel::events::{Fact, RequestMeta, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, EventName, FileAccess, RoomInfo, act};
use model::*;
use serde_json::json;
use vault::{BlobSink, Blobs, ChunkCipher, DataKey, Header, Layout, StreamSealer, VaultError};

use crate::Files;
use crate::antivirus::{self, Scan, Verdict};
use crate::dlp_policy::{DlpAction, HeldUpload, scan_detail};
use crate::inspect::{Background, Gate, Inspector, Scanned};

/// A file as the API shows it: its newest version's facts.
#[derive(Clone, Debug)]
pub struct FileInfo {
    pub id: FileId,
    pub room_id: RoomId,
    pub path: String,
    pub size: i64,
    pub sha256: Vec<u8>,
    pub version: i64,
    pub version_id: VersionId,
    pub updated_ms: i64,
}

/// One version as the API shows it.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    pub id: VersionId,
    pub number: i64,
    pub size: i64,
    pub sha256: Vec<u8>,
    pub uploaded_by: UserId,
    pub created_ms: i64,
}

/// A download about to stream.
pub struct Download {
    pub info: FileInfo,
    /// The inclusive byte range served, when the caller asked for one.
    pub range: Option<(u64, u64)>,
    /// The plaintext bytes; an error mid-stream means the rest must not be sent.
    pub body: BoxStream<'static, Result<Bytes, AppError>>,
    /// The mark id of a copy marked for its recipient (then `info.size` and
    /// `info.sha256` are those of the marked copy).
    pub mark_id: Option<String>,
}

/// Whether `path` contains every one of `words` (lowercase), in any case.
fn path_matches(path: &str, words: &[String]) -> bool {
    let path = path.to_lowercase();
    words.iter().all(|w| path.contains(w.as_str()))
}

pub(crate) fn info(file: &File, v: &Version) -> FileInfo {
    FileInfo {
        id: file.id,
        room_id: file.room_id,
        path: file.path.clone(),
        size: v.size,
        sha256: v.sha256.clone(),
        version: v.number,
        version_id: v.id,
        updated_ms: v.created_ms,
    }
}

/// Where the bytes of a new version come from.
struct Source<'a> {
    /// The length the client announced, refused at once when over the limit.
    declared_len: Option<u64>,
    justification: Option<&'a Justification>,
    /// The number of the earlier version being restored.
    restored_from: Option<i64>,
    /// An upload request's: a new file under a name no live file holds
    /// (`name (2)` …), never a version of a file already there, and no
    /// larger than the request allows.
    drop_limit: Option<u64>,
}

/// What became of an upload.
#[derive(Debug)]
pub enum Uploaded {
    /// Stored as the file's newest version.
    Stored(FileInfo),
    /// Stored, but held for review by the room's data-loss policy (or as
    /// infected).
    Held(Box<HeldUpload>),
}

/// The data-loss and antivirus outcome of an upload that was scanned.
struct Inbound {
    /// What data-loss prevention found (`None`: the room's policy allows all).
    found: Option<Scanned>,
    digest: String,
    /// The strictest action the findings and the antivirus verdict call for.
    action: DlpAction,
    justification: Option<String>,
    /// clamd's verdict (`None`: no antivirus configured).
    av: Option<Verdict>,
}

impl Inbound {
    /// The event detail of the outcome: data-loss findings and action, and
    /// the antivirus verdict.
    fn detail(&self) -> serde_json::Value {
        let mut detail = match &self.found {
            Some(found) => scan_detail(found, &self.digest, self.action),
            None => json!({"action": self.action.as_str()}),
        };
        if let Some(av) = &self.av {
            detail["antivirus"] = av.detail();
        }
        detail
    }
}

/// A marked copy, or why the original goes out instead.
enum Marked {
    Copy(Download),
    Original(&'static str),
}

impl From<&Version> for VersionInfo {
    fn from(v: &Version) -> Self {
        VersionInfo {
            id: v.id,
            number: v.number,
            size: v.size,
            sha256: v.sha256.clone(),
            uploaded_by: v.uploaded_by,
            created_ms: v.created_ms,
        }
    }
}

/// Bytes gathered before one write to the blob store.
const WRITE_BATCH: usize = 4 << 20;
/// Most files one page of a listing holds.
pub const MAX_PAGE: i64 = 1000;
/// Pieces (uploads) or chunks (downloads) in flight between two pipeline stages.
const PIPELINE_DEPTH: usize = 8;

/// What the receiving side of an upload hands to the writing side.
enum Piece {
    Data(Bytes),
    /// The body ended normally: seal the last chunk and commit. Without it the
    /// upload is abandoned and the partial blob removed.
    End,
}

/// Forwards the body to the writer, enforcing the size limit.
async fn feed_pieces<S, E>(
    body: &mut S,
    feed: &tokio::sync::mpsc::Sender<Piece>,
    limit: u64,
) -> Result<(), AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let mut total = 0u64;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| AppError::BodyAborted(e.to_string()))?;
        total += piece.len() as u64;
        if total > limit {
            return Err(AppError::TooLarge { limit });
        }
        if feed.send(Piece::Data(piece)).await.is_err() {
            // The writer stopped; its own error is what the caller will see.
            return Ok(());
        }
    }
    Ok(())
}

/// A written blob: (size, SHA-256, what the inspector found, clamd's verdict
/// with the action it calls for).
type Written = (u64, [u8; 32], Option<Scanned>, Option<(Verdict, DlpAction)>);

/// What looks at an upload as it is sealed.
struct Checks {
    dlp: Option<Inspector>,
    av: Option<antivirus::Gate>,
}

/// The writing side of an upload, a blob worker (the blob store's file work runs
/// on its thread): hash, seal and write (while the inspector, when given one,
/// scans on a thread of its own), and on `End` wait for the inspector's verdict,
/// then commit. A failure aborts the sink, so a refused upload leaves nothing
/// behind.
fn seal_and_write(
    worker: &BlobWorker,
    blobs: &dyn Blobs,
    blob_id: [u8; 16],
    sealer: StreamSealer,
    pieces: tokio::sync::mpsc::Receiver<Piece>,
    checks: Checks,
) -> Result<Written, AppError> {
    let mut sink = worker.wait(blobs.create(blob_id))?;
    match seal_into(worker, &mut *sink, sealer, pieces, checks) {
        Ok(written) => {
            worker.wait(sink.commit())?;
            Ok(written)
        }
        Err(e) => {
            // The upload's own error is the one to report.
            let _ = worker.wait(sink.abort());
            Err(e)
        }
    }
}

/// Seals what arrives into `sink` until `End`, and returns it once the
/// inspector's and clamd's verdicts are in (clamd's first: malware is
/// refused or held whatever the data-loss findings).
fn seal_into(
    worker: &BlobWorker,
    sink: &mut dyn BlobSink,
    mut sealer: StreamSealer,
    mut pieces: tokio::sync::mpsc::Receiver<Piece>,
    checks: Checks,
) -> Result<Written, AppError> {
    let Checks { dlp, av } = checks;
    let mut scan = av
        .as_ref()
        .map(|gate| Scan::start(gate.settings.clone(), PIPELINE_DEPTH))
        .transpose()?;
    let mut inspector = dlp
        .map(|ins| Background::start(ins, PIPELINE_DEPTH))
        .transpose()?;
    let mut out = Vec::with_capacity(WRITE_BATCH + (2 << 20));
    out.extend_from_slice(&sealer.header_bytes());
    loop {
        match pieces.blocking_recv() {
            Some(Piece::Data(piece)) => {
                if let Some(scan) = scan.as_mut() {
                    scan.push(piece.clone());
                }
                if let Some(ins) = inspector.as_mut() {
                    ins.push(piece.clone())?;
                }
                sealer.push(&piece, &mut out)?;
                if out.len() >= WRITE_BATCH {
                    out = write_batch(worker, sink, out)?;
                }
            }
            Some(Piece::End) => {
                let verdict = match (scan.take(), &av) {
                    (Some(scan), Some(gate)) => {
                        let verdict = scan.finish()?;
                        let action = gate.decide(&verdict)?;
                        Some((verdict, action))
                    }
                    _ => None,
                };
                let found = inspector.take().map(Background::finish).transpose()?;
                let (size, sha) = sealer.finish(&mut out)?;
                write_batch(worker, sink, out)?;
                return Ok((size, sha, found, verdict));
            }
            None => return Err(AppError::BodyAborted("the upload was abandoned".into())),
        }
    }
}

/// Writes `out` to `sink` and returns an empty buffer for the next batch:
/// `out`'s own once the sink has let go of it (a disk sink has when the write
/// returns), so an upload does not allocate a buffer per batch; else a new one.
fn write_batch(
    worker: &BlobWorker,
    sink: &mut dyn BlobSink,
    out: Vec<u8>,
) -> Result<Vec<u8>, AppError> {
    let capacity = out.capacity();
    let batch = Bytes::from(out);
    worker.wait(sink.write(batch.clone()))?;
    Ok(match batch.try_into_mut() {
        Ok(mut mine) => {
            mine.clear();
            Vec::from(mine)
        }
        Err(_) => Vec::with_capacity(capacity),
    })
}

impl Files<'_> {
    /// Stores `body` as a new version of `path` in the room; an upload the
    /// room's data-loss policy holds for review is [`AppError::Quarantined`].
    /// The path is parsed (`FilePath::parse`) before the seam is asked.
    pub async fn upload<S, E>(
        &self,
        auth: Authorized<'_, act::FileUpload, RoomInfo>,
        path: &FilePath,
        declared_len: Option<u64>,
        body: S,
    ) -> Result<FileInfo, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let uploaded = self
            .upload_with(auth, path, declared_len, body, None)
            .await?;
        match uploaded {
            Uploaded::Stored(info) => Ok(info),
            Uploaded::Held(_) => Err(AppError::Quarantined),
        }
    }

    /// Stores `body` as a new version of `path` in `room`, scanned as it
    /// streams under the room's inbound data-loss policy: blocked (nothing
    /// stored), refused without a `justification` where one is needed, held
    /// for review, or stored (with a notification). The path is parsed
    /// (`FilePath::parse`) before the seam is asked.
    pub async fn upload_with<S, E>(
        &self,
        auth: Authorized<'_, act::FileUpload, RoomInfo>,
        path: &FilePath,
        declared_len: Option<u64>,
        body: S,
        justification: Option<&Justification>,
    ) -> Result<Uploaded, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (meta, p, info) = auth.into_parts();
        let source = Source {
            declared_len,
            justification,
            restored_from: None,
            drop_limit: None,
        };
        self.store_stream(meta, p, &info, path, body, source).await
    }

    /// Stores `body` as a new file at `path` or, when a live file holds that
    /// name, at the first free `name (n)`: an upload request's file, never a
    /// version of another. At most `limit` bytes (and the server's limit);
    /// through the room's inbound policy like any upload.
    pub(crate) async fn upload_new_file<S, E>(
        &self,
        auth: Authorized<'_, act::FileUpload, RoomInfo>,
        path: &FilePath,
        limit: u64,
        body: S,
    ) -> Result<Uploaded, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (meta, p, info) = auth.into_parts();
        let source = Source {
            declared_len: None,
            justification: None,
            restored_from: None,
            drop_limit: Some(limit),
        };
        self.store_stream(meta, p, &info, path, body, source).await
    }

    /// Makes an earlier version of a file its newest again: the old version's
    /// content (its digest checked as it is read) is stored as a new version,
    /// through the room's inbound data-loss policy like any upload, and the
    /// upload's event names the version restored. The old versions stay.
    pub async fn restore_version(
        &self,
        auth: Authorized<'_, act::FileUpload, FileAccess>,
        version: VersionId,
    ) -> Result<Uploaded, AppError> {
        let (meta, p, access) = auth.into_parts();
        let FileAccess { file, room, .. } = access;
        let old = self
            .store()
            .read()
            .await?
            .get_version(version)
            .await?
            .filter(|v| v.file_id == file.id)
            .ok_or(AppError::NotFound)?;
        let size = u64::try_from(old.size).map_err(AppError::internal)?;
        let blob = match open_blob(self, &old, size).await {
            Ok(blob) => blob,
            Err(e) => return Err(integrity_event(self, meta, p, &file, &old, e).await),
        };
        let reader = Reader {
            blob,
            start: 0,
            end: size.saturating_sub(1),
            check: Some(old.sha256.clone()),
        };
        let pieces = reader.spawn(size);
        let body = Box::pin(stream::unfold(pieces, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        }));
        let path = FilePath::parse(&file.path)?;
        let source = Source {
            declared_len: Some(size),
            justification: None,
            restored_from: Some(old.number),
            drop_limit: None,
        };
        self.store_stream(meta, p, &room, &path, body, source).await
    }

    /// Stores `body` as a new version of `path` in the room `info`: the upload
    /// and the restore share it.
    async fn store_stream<S, E>(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        info: &RoomInfo,
        path: &FilePath,
        body: S,
        source: Source<'_>,
    ) -> Result<Uploaded, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let Source {
            declared_len,
            justification,
            restored_from,
            drop_limit,
        } = source;
        let room = info.room.id;
        let justification = justification.map(Justification::to_string);
        let limit = drop_limit.map_or(self.settings().max_upload_bytes, |l| {
            l.min(self.settings().max_upload_bytes)
        });
        let target = format!("room:{room}/{path}");
        if declared_len.is_some_and(|n| n > limit) {
            return Err(self
                .upload_refused(meta, p, target, AppError::TooLarge { limit })
                .await);
        }
        // Rooms whose inbound policy allows everything are not inspected for
        // data loss; every upload goes to clamd when it is configured.
        let set = crate::dlp_policy::dlp_policy_of(self, room).await?.policy;
        let policy = set.inbound.clone();
        let av = self
            .settings()
            .antivirus
            .clone()
            .map(|settings| antivirus::Gate {
                settings,
                infected: set.infected,
                uninspectable: policy.uninspectable,
                justified: justification.is_some(),
            });
        let (inspector, digest) = if policy.allows_all() {
            (None, String::new())
        } else {
            let rules = crate::dlp_policy::ruleset(self).await?;
            let gate = Gate {
                policy: policy.clone(),
                justified: justification.is_some(),
            };
            let ins = Inspector::new(rules.scanner.clone(), path.as_str(), Some(gate));
            (Some(ins), rules.digest)
        };
        let (blob_id, key) = (random::<16>()?, DataKey::from_bytes(random()?));
        let checks = Checks { dlp: inspector, av };
        let (size, sha, found, av) = match self.write_blob(blob_id, &key, body, limit, checks).await
        {
            Ok(w) => w,
            Err(e) => {
                return Err(self.upload_refused_in(meta, p, info, path, target, e).await);
            }
        };
        let inbound = (found.is_some() || av.is_some()).then(|| {
            let by_dlp = found.as_ref().map_or(DlpAction::Allow, |f| {
                policy.decide(f.max_severity, f.uninspectable.is_some())
            });
            let by_av = av.as_ref().map_or(DlpAction::Allow, |(_, a)| *a);
            Inbound {
                action: by_dlp.max(by_av),
                found,
                digest,
                justification,
                av: av.map(|(v, _)| v),
            }
        });
        let result = self
            .record_version(
                meta,
                p,
                room,
                path,
                blob_id,
                &key,
                (size, sha),
                inbound,
                restored_from,
                drop_limit.is_some(),
            )
            .await;
        if result.is_err() {
            let _ = self.blobs().remove(blob_id).await;
        }
        result
    }

    /// [`Self::upload_refused`], and for an infected upload the antivirus's
    /// report in the same transaction (`av.infected`, the security officers told).
    async fn upload_refused_in(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        info: &RoomInfo,
        path: &FilePath,
        target: String,
        error: AppError,
    ) -> AppError {
        let AppError::Infected { signature, .. } = &error else {
            return self.upload_refused(meta, p, target, error).await;
        };
        let reported = async {
            let now = self.now();
            let mut tx = self.store().begin().await?;
            let detail = json!({"antivirus": {"verdict": "infected", "signature": signature}});
            let fact = Fact::denied(Some(p), Action::FileUpload, target, error.code().as_str());
            record(&mut tx, meta, now, fact.with(detail)).await?;
            let infected = antivirus::Infected {
                room: info.room.id,
                path: path.as_str(),
                signature,
                uploader: p,
                held: None,
            };
            antivirus::report_infected(self, &mut tx, meta, now, &infected).await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        };
        match reported.await {
            Ok(()) => error,
            Err(e) => e,
        }
    }

    async fn upload_refused(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        target: String,
        error: AppError,
    ) -> AppError {
        let mut fact = Fact::denied(Some(p), Action::FileUpload, target, error.code().as_str());
        if let AppError::Blocked { detector, line, .. } = &error {
            fact = fact.with(json!({"detector": detector, "line": line}));
        }
        match self.record_alone(meta, fact).await {
            Ok(_) => error,
            Err(e) => e,
        }
    }

    /// Encrypts the stream into a new blob, fsyncs and commits it; returns
    /// (size, sha256). Receiving runs here while hashing, sealing and writing run
    /// on a blob worker fed through a bounded channel, so the stages overlap.
    async fn write_blob<S, E>(
        &self,
        blob_id: [u8; 16],
        key: &DataKey,
        mut body: S,
        limit: u64,
        checks: Checks,
    ) -> Result<Written, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let header = Header {
            chunk_size: self.settings().chunk_size,
            blob_id,
        };
        let sealer = StreamSealer::new(key, header)?;
        let blobs = self.blobs();
        let (feed, pieces) = tokio::sync::mpsc::channel::<Piece>(PIPELINE_DEPTH);
        let worker = kernel::spawn_blob_worker(move |worker| {
            seal_and_write(worker, &*blobs, blob_id, sealer, pieces, checks)
        })?;
        let fed = feed_pieces(&mut body, &feed, limit).await;
        if fed.is_ok() {
            // The worker may have stopped on its own error; it is reported below.
            let _ = feed.send(Piece::End).await;
        }
        drop(feed);
        let written = worker.await.map_err(AppError::internal)?;
        fed?;
        written
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces of one upload"
    )]
    async fn record_version(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
        path: &FilePath,
        blob_id: [u8; 16],
        key: &DataKey,
        (size, sha): (u64, [u8; 32]),
        inbound: Option<Inbound>,
        restored_from: Option<i64>,
        fresh_name: bool,
    ) -> Result<Uploaded, AppError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // Under the generation of the room's key current at commit: a purge
        // re-keying the room waits for this transaction, or this one sees it.
        let generation = tx.lock_room_key_generation(room).await?;
        let (wrapped_key, kek_id) = self.wrap_data_key(room, generation, key)?;
        let new = store::NewVersion {
            id: VersionId::from_random(random()?),
            blob_id: BlobId(uuid::Uuid::from_bytes(blob_id)),
            size: i64::try_from(size).map_err(AppError::internal)?,
            sha256: sha.to_vec(),
            wrapped_key,
            kek_id,
            uploaded_by: p.user_id,
            created_ms: now,
        };
        if let Some(ib) = inbound
            .as_ref()
            .filter(|i| i.action == DlpAction::Quarantine)
        {
            let free;
            let path = if fresh_name {
                free = crate::upload_requests::free_name(&mut tx, room, path).await?;
                &free
            } else {
                path
            };
            let held = self
                .hold_version(meta, p, &mut tx, room, path, &new, ib)
                .await?;
            tx.commit().await?;
            return Ok(Uploaded::Held(Box::new(held)));
        }
        let fresh;
        let (path, file_id) = if fresh_name {
            let (free, id) = crate::upload_requests::new_file(&mut tx, room, path, now).await?;
            fresh = free;
            (&fresh, id)
        } else {
            let id = tx
                .ensure_file(room, path.as_str(), FileId::from_random(random()?), now)
                .await?;
            (path, id)
        };
        let version = tx.insert_version(file_id, &new).await?;
        let target = format!("file:{file_id}");
        let mut detail = json!({"path": path.as_str(), "room": room, "version": version.number, "size": size, "sha256": hex::encode(sha)});
        if let Some(n) = restored_from {
            detail["restored_from"] = json!(n);
        }
        if let Some(ib) = &inbound {
            if let Some(found) = &ib.found {
                let verdict = crate::dlp_policy::stored(&version, found, &ib.digest, now);
                tx.put_dlp_verdict(&verdict).await?;
                detail["dlp"] = scan_detail(found, &ib.digest, ib.action);
            }
            if let Some(av) = &ib.av {
                tx.put_av_verdict(&av.stored(version.id, now)).await?;
                detail["antivirus"] = av.detail();
            }
        }
        let upload = Fact::allowed(Some(p), Action::FileUpload, target.clone()).with(detail);
        record(&mut tx, meta, now, upload).await?;
        if let Some(ib) = &inbound {
            let mut detail = ib.detail();
            detail["version"] = json!(version.number);
            if let Some(Verdict::Uninspectable(why)) = &ib.av {
                let av = json!({"version": version.number, "reason": why,
                    "action": ib.action.as_str(), "path": path.as_str()});
                let fact = Fact::allowed(Some(p), EventName::AvUninspectable, target.clone());
                record(&mut tx, meta, now, fact.with(av)).await?;
            }
            detail["direction"] = json!("inbound");
            let decision = match (ib.action, &ib.justification) {
                (DlpAction::Notify, _) => {
                    Some(Fact::allowed(Some(p), EventName::DlpNotify, target))
                }
                (DlpAction::Justify, Some(text)) => {
                    detail["justification"] = json!(text);
                    Some(Fact::allowed(Some(p), EventName::DlpJustified, target))
                }
                _ => None,
            };
            if let Some(fact) = decision {
                record(&mut tx, meta, now, fact.with(detail)).await?;
            }
        }
        tx.commit().await?;
        let file = File {
            id: file_id,
            room_id: room,
            path: path.as_str().to_owned(),
            created_ms: now,
            current: None,
        };
        Ok(Uploaded::Stored(info(&file, &version)))
    }

    /// Records `new` as held for review (under a hidden file), with its verdict,
    /// the upload's event and `dlp.hold`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the pieces of one upload"
    )]
    async fn hold_version(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        tx: &mut store::Tx,
        room: RoomId,
        path: &FilePath,
        new: &store::NewVersion,
        ib: &Inbound,
    ) -> Result<HeldUpload, AppError> {
        let now = new.created_ms;
        let scan = ib.detail();
        let reason = serde_json::to_string(&scan).map_err(AppError::internal)?;
        let hidden = FileId::from_random(random()?);
        let version = tx
            .insert_held_version(room, path.as_str(), hidden, new, &reason)
            .await?;
        if let Some(found) = &ib.found {
            let verdict = crate::dlp_policy::stored(&version, found, &ib.digest, now);
            tx.put_dlp_verdict(&verdict).await?;
        }
        if let Some(av) = &ib.av {
            tx.put_av_verdict(&av.stored(version.id, now)).await?;
        }
        let detail = json!({
            "path": path.as_str(), "size": new.size, "sha256": hex::encode(&new.sha256),
            "held": true, "version_id": new.id.to_string(), "dlp": scan,
        });
        let upload = Fact::allowed(Some(p), Action::FileUpload, format!("room:{room}/{path}"));
        record(tx, meta, now, upload.with(detail)).await?;
        let mut hold = ib.detail();
        hold["room"] = json!(room.to_string());
        hold["path"] = json!(path.as_str());
        let fact = Fact::allowed(Some(p), EventName::DlpHold, format!("version:{}", new.id));
        record(tx, meta, now, fact.with(hold)).await?;
        if let Some(Verdict::Infected(signature)) = &ib.av {
            let infected = antivirus::Infected {
                room,
                path: path.as_str(),
                signature,
                uploader: p,
                held: Some(new.id),
            };
            antivirus::report_infected(self, tx, meta, now, &infected).await?;
        } else {
            tell_officers_of_hold(tx, meta, p, (room, path.as_str()), now).await?;
        }
        let hold = tx
            .get_hold(new.id)
            .await?
            .ok_or_else(|| AppError::internal(format!("the hold of {} vanished", new.id)))?;
        Ok(HeldUpload::from(hold))
    }

    /// Every file of a room with its newest version (use-cases that need
    /// them all; listings for people go by [`Files::list_files_page`]).
    pub async fn list_files(
        &self,
        auth: Authorized<'_, act::FileList, RoomInfo>,
    ) -> Result<Vec<FileInfo>, AppError> {
        let (_, _, target) = auth.into_parts();
        let room = target.room.id;
        let files = self.store().read().await?.list_files(room).await?;
        Ok(files
            .iter()
            .filter_map(|f| f.current.as_ref().map(|v| info(f, v)))
            .collect())
    }

    /// A page of a room's files with their newest version: at most `limit`
    /// (1 to [`MAX_PAGE`]) whose path sorts after `after`, and the cursor of
    /// the next page when there may be more.
    pub async fn list_files_page(
        &self,
        auth: Authorized<'_, act::FileList, RoomInfo>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<FileInfo>, Option<String>), AppError> {
        let (_, _, target) = auth.into_parts();
        let room = target.room.id;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut tx = self.store().read().await?;
        let files = tx.list_files_page(room, after, limit).await?;
        let full = i64::try_from(files.len()).unwrap_or(i64::MAX) >= limit;
        let next = full.then(|| files.last().map(|f| f.path.clone())).flatten();
        let page = files
            .iter()
            .filter_map(|f| f.current.as_ref().map(|v| info(f, v)))
            .collect();
        Ok((page, next))
    }

    /// The files of a room whose path contains every one of `words` in any
    /// case, in path order: at most `limit`, and whether there are more. The
    /// store narrows by the words' ASCII letters a page at a time; the match is
    /// confirmed here on the whole text, so memory stays one page.
    pub async fn search_files(
        &self,
        auth: Authorized<'_, act::FileList, RoomInfo>,
        words: &[String],
        limit: usize,
    ) -> Result<(Vec<FileInfo>, bool), AppError> {
        const PAGE: i64 = 500;
        let (_, _, target) = auth.into_parts();
        let room = target.room.id;
        let words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let needles: Vec<String> = words.iter().filter(|w| w.is_ascii()).cloned().collect();
        let mut found = Vec::new();
        let mut after = String::new();
        let mut tx = self.store().read().await?;
        loop {
            let page = tx.find_files_page(room, &needles, &after, PAGE).await?;
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) >= PAGE;
            for f in &page {
                let Some(v) = f.current.as_ref() else {
                    continue;
                };
                if path_matches(&f.path, &words) {
                    if found.len() == limit {
                        return Ok((found, true));
                    }
                    found.push(info(f, v));
                }
            }
            match page.last() {
                Some(last) if full => after.clone_from(&last.path),
                _ => return Ok((found, false)),
            }
        }
    }

    /// One file's metadata. Its proof is `file.list`: metadata is what
    /// listing the room shows (`file.view` is reading the content in the
    /// viewer, which owner staff may not do without a grant).
    pub async fn get_file(
        &self,
        auth: Authorized<'_, act::FileList, FileAccess>,
    ) -> Result<FileInfo, AppError> {
        let (_, _, access) = auth.into_parts();
        Ok(info(&access.file, &access.current))
    }

    /// Every version of a file, newest first.
    pub async fn list_versions(
        &self,
        auth: Authorized<'_, act::FileList, FileAccess>,
    ) -> Result<Vec<VersionInfo>, AppError> {
        let (_, _, access) = auth.into_parts();
        let id = access.file.id;
        let versions = self.store().read().await?.list_versions(id).await?;
        Ok(versions.iter().map(VersionInfo::from).collect())
    }

    /// Deletes a file (its versions stay encrypted at rest for the record).
    pub async fn delete_file(
        &self,
        auth: Authorized<'_, act::FileDelete, FileAccess>,
    ) -> Result<(), AppError> {
        let (meta, p, FileAccess { file, .. }) = auth.into_parts();
        let id = file.id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.delete_file(id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::FileDelete, format!("file:{id}"))
                .with(json!({"path": file.path})),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Opens a version for reading (authorized by its proof): checks the
    /// blob, records the download, and verifies the first chunk before
    /// anything is sent.
    pub async fn download(
        &self,
        auth: Authorized<'_, act::FileDownload, FileAccess>,
        version: Option<VersionId>,
        range: Option<ByteRange>,
    ) -> Result<Download, AppError> {
        self.download_with(auth, version, range, None).await
    }

    /// [`Files::download`] under the room's outbound data-loss policy, with the
    /// caller's justification for content whose action is `justify`.
    pub async fn download_with(
        &self,
        auth: Authorized<'_, act::FileDownload, FileAccess>,
        version: Option<VersionId>,
        range: Option<ByteRange>,
        justification: Option<&Justification>,
    ) -> Result<Download, AppError> {
        let (meta, p, access) = auth.into_parts();
        let FileAccess {
            file,
            current,
            room,
        } = access;
        let id = file.id;
        let v = match version {
            None => current,
            Some(vid) => self
                .store()
                .read()
                .await?
                .get_version(vid)
                .await?
                .filter(|v| v.file_id == id)
                .ok_or(AppError::NotFound)?,
        };
        crate::dlp_policy::check_outbound(
            self,
            meta,
            p,
            (&file, &v),
            Action::FileDownload,
            justification,
        )
        .await?;
        let size = u64::try_from(v.size).map_err(AppError::internal)?;
        let policy = self
            .store()
            .read()
            .await?
            .room_delivery(file.room_id)
            .await?
            .unwrap_or_default();
        let mut unmarked = None;
        let mode = crate::delivery::mode_for(&policy, room.role);
        // The sharing risk matrix may ask for marked copies only.
        let mode = if mode == Delivery::Original
            && room
                .matrix_controls
                .contains(&model::diligence::MatrixControl::Marked)
        {
            Delivery::Marked
        } else {
            mode
        };
        match mode {
            Delivery::Original => {}
            Delivery::ViewOnly => {
                let target = format!("file:{id}");
                let fact = Fact::denied(Some(p), Action::FileDownload, target, "view_only");
                self.record_alone(meta, fact).await?;
                return Err(crate::delivery::view_only());
            }
            Delivery::Marked => match self.marked_copy(meta, p, &file, &v, &policy).await? {
                Marked::Copy(d) => return Ok(d),
                Marked::Original(why) => unmarked = Some(why),
            },
        }
        let range = range
            .map(|r| r.resolve(size))
            .transpose()
            .map_err(|u| AppError::RangeNotSatisfiable { size: u.size })?;
        let opened = open_blob(self, &v, size).await;
        let blob = match opened {
            Ok(o) => o,
            Err(e) => return Err(integrity_event(self, meta, p, &file, &v, e).await),
        };
        let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
        let reader = Reader {
            blob,
            start,
            end,
            check: range.is_none().then(|| v.sha256.clone()),
        };
        let mut chunks = reader.spawn(size);
        let first = match chunks.recv().await {
            Some(Ok(piece)) => Some(piece),
            Some(Err(e)) => return Err(integrity_event(self, meta, p, &file, &v, e).await),
            None => None,
        };
        let mut detail = json!({"version": v.number, "room": file.room_id, "size": v.size, "range": range.map(|(a, b)| format!("{a}-{b}")), "sha256": hex::encode(&v.sha256), "delivery": "original"});
        if let Some(why) = unmarked {
            detail["unmarkable"] = json!(why);
        }
        let fact = Fact::allowed(Some(p), Action::FileDownload, format!("file:{id}")).with(detail);
        self.record_alone(meta, fact).await?;
        let body = self.body_stream(
            meta.clone(),
            p.clone(),
            file.clone(),
            v.clone(),
            first,
            chunks,
        );
        Ok(Download {
            info: info(&file, &v),
            range,
            body,
            mark_id: None,
        })
    }

    /// A copy of version `v` marked for `p` with a fresh mark id, recorded in
    /// the download's event; or the room's fallback when the file cannot be
    /// marked: a refusal (recorded) or the original.
    async fn marked_copy(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        file: &File,
        v: &Version,
        policy: &DeliveryPolicy,
    ) -> Result<Marked, AppError> {
        let size = u64::try_from(v.size).map_err(AppError::internal)?;
        let target = format!("file:{}", file.id);
        let marked = if size > crate::delivery::MAX_MARKED_BYTES {
            Err(("mark_too_large", "it is larger than 64 MiB".to_owned()))
        } else {
            let plain = self.read_whole(meta, p, file, v, size).await?;
            let issue = self.issue_for(meta, p).await?;
            let key = self.mark_key()?.clone();
            let name = file.path.rsplit('/').next().unwrap_or("file").to_owned();
            let mark_id = issue.mark_id.to_string();
            crate::viewer::mark_copy(plain, name, issue, key)
                .await?
                .map(|bytes| (mark_id, bytes))
                .map_err(|e| (e.code(), e.to_string()))
        };
        let (mark_id, bytes) = match marked {
            Ok(done) => done,
            Err((code, why)) => {
                return match crate::delivery::unmarkable(policy, &why) {
                    None => Ok(Marked::Original(code)),
                    Some(refusal) => {
                        let fact =
                            Fact::denied(Some(p), Action::FileDownload, target, "unmarkable")
                                .with(json!({"version": v.number, "mark_error": code}));
                        self.record_alone(meta, fact).await?;
                        Err(refusal)
                    }
                };
            }
        };
        let sha256 = kernel::secrets::sha256(&bytes);
        let detail = json!({
            "version": v.number, "room": file.room_id, "size": v.size,
            "sha256": hex::encode(&v.sha256), "delivery": "marked",
            "marked_sha256": hex::encode(&sha256),
        });
        let fact = Fact::allowed(Some(p), Action::FileDownload, target)
            .with(detail)
            .marked(mark_id.clone());
        self.record_alone(meta, fact).await?;
        let mut described = info(file, v);
        described.size = i64::try_from(bytes.len()).map_err(AppError::internal)?;
        described.sha256 = sha256;
        Ok(Marked::Copy(Download {
            info: described,
            range: None,
            body: stream::iter([Ok(Bytes::from(bytes))]).boxed(),
            mark_id: Some(mark_id),
        }))
    }

    /// The whole plaintext of `v`, its SHA-256 checked; a failed check is
    /// recorded like a failed download.
    pub(crate) async fn read_whole(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        file: &File,
        v: &Version,
        size: u64,
    ) -> Result<Vec<u8>, AppError> {
        let blob = match open_blob(self, v, size).await {
            Ok(o) => o,
            Err(e) => return Err(integrity_event(self, meta, p, file, v, e).await),
        };
        let reader = Reader {
            blob,
            start: 0,
            end: size.saturating_sub(1),
            check: Some(v.sha256.clone()),
        };
        let mut chunks = reader.spawn(size);
        let mut plain = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while let Some(piece) = chunks.recv().await {
            match piece {
                Ok(bytes) => plain.extend_from_slice(&bytes),
                Err(e) => return Err(integrity_event(self, meta, p, file, v, e).await),
            }
        }
        Ok(plain)
    }

    /// A new issue of a mark to `p`: who (name, e-mail, party), now, and a
    /// fresh random mark id. Through a share link the recipient is the link's
    /// verified recipient (their address in the stamp), or the link itself
    /// when it is bound to no one; the party is the creator's.
    pub(crate) async fn issue_for(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<mark::Issue, AppError> {
        let mut tx = self.store().read().await?;
        let name = tx
            .get_user(p.user_id)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        let party = tx
            .get_party(p.party_id)
            .await?
            .map(|party| party.name)
            .unwrap_or_default();
        drop(tx);
        let issued_at =
            mark::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.now()) * 1_000_000)
                .map_err(AppError::internal)?;
        let (name, email) = match &meta.via {
            None => (name, p.email.clone()),
            Some(via) => {
                let name = format!("share link {}", via.link);
                let email = via
                    .recipient
                    .clone()
                    .unwrap_or_else(|| "no bound recipient".to_owned());
                (name, email)
            }
        };
        Ok(mark::Issue {
            recipient: mark::Recipient { name, email, party },
            issued_at,
            mark_id: mark::MarkId(u64::from_be_bytes(random::<8>()?)),
        })
    }

    fn body_stream(
        &self,
        meta: RequestMeta,
        p: Principal,
        file: File,
        v: Version,
        first: Option<Bytes>,
        chunks: tokio::sync::mpsc::Receiver<Result<Bytes, AppError>>,
    ) -> BoxStream<'static, Result<Bytes, AppError>> {
        let app = self.0.clone();
        let head = stream::iter(first.map(Ok));
        let rest = stream::unfold(Some(chunks), move |state| {
            let (app, meta, p, file, v) = (
                app.clone(),
                meta.clone(),
                p.clone(),
                file.clone(),
                v.clone(),
            );
            async move {
                let mut chunks = state?;
                match chunks.recv().await? {
                    Ok(piece) => Some((Ok(piece), Some(chunks))),
                    Err(e) => Some((
                        Err(integrity_event(&app, &meta, &p, &file, &v, e).await),
                        None,
                    )),
                }
            }
        });
        head.chain(rest).boxed()
    }
}

/// Whether a live grant on `room` names an external party or one of its users.
pub(crate) async fn shared_externally(app: &App, room: RoomId) -> Result<bool, AppError> {
    let now = app.now();
    let mut tx = app.store().read().await?;
    let grants = tx.list_grants(room).await?;
    for g in grants
        .iter()
        .filter(|g| g.expires_ms.is_none_or(|e| e > now))
    {
        let party = match g.subject_kind {
            SubjectKind::Party => PartyId(g.subject_id),
            SubjectKind::User => match tx.get_user(UserId(g.subject_id)).await? {
                Some(user) => user.party_id,
                None => continue,
            },
        };
        let kind = tx.get_party(party).await?.map(|p| p.kind);
        if kind == Some(PartyKind::External) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The plaintext of `v` chunk by chunk, its SHA-256 checked at the end;
/// a blob that fails to open is recorded like a failed download.
pub(crate) async fn plaintext(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    file: &File,
    v: &Version,
) -> Result<tokio::sync::mpsc::Receiver<Result<Bytes, AppError>>, AppError> {
    let size = u64::try_from(v.size).map_err(AppError::internal)?;
    let blob = match open_blob(app, v, size).await {
        Ok(o) => o,
        Err(e) => return Err(integrity_event(app, meta, p, file, v, e).await),
    };
    let reader = Reader {
        blob,
        start: 0,
        end: size.saturating_sub(1),
        check: Some(v.sha256.clone()),
    };
    Ok(reader.spawn(size))
}

/// Records that stored content failed its check (in a transaction of its
/// own, as a denied `file.download`) and returns the error.
pub(crate) async fn integrity_event(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    file: &File,
    v: &Version,
    error: AppError,
) -> AppError {
    tracing::error!(file = %file.id, version = %v.id, error = %error, "stored content failed its check");
    let recorded = async {
        let mut tx = app.store().begin().await?;
        let detail = json!({"version": v.number, "blob": v.blob_id.to_string()});
        record(
            &mut tx,
            meta,
            app.now(),
            Fact::denied(
                Some(p),
                Action::FileDownload,
                format!("file:{}", file.id),
                error.code().as_str(),
            )
            .with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok::<(), AppError>(())
    };
    if let Err(e) = recorded.await {
        tracing::error!(error = %e, "could not record the integrity failure");
    }
    error
}

/// A stored version's blob, opened for reading.
struct Blob {
    blobs: Arc<dyn Blobs>,
    id: [u8; 16],
    cipher: ChunkCipher,
    layout: Layout,
}

/// Opens the blob of `v`, its length and header checked against the version.
async fn open_blob(app: &App, v: &Version, size: u64) -> Result<Blob, AppError> {
    let key = unwrap_key(app, v)?;
    let blobs = app.blobs();
    let id = *v.blob_id.0.as_bytes();
    let (header, layout) = vault::sealed::open(&*blobs, id, size)
        .await
        .map_err(|e| match e {
            // Recorded but gone from the blob store: the content is lost.
            vault::VaultError::NotFound => {
                let blob = hex::encode(id);
                tracing::error!(%blob, "the blob of a stored version is missing");
                AppError::Integrity
            }
            other => AppError::from(other),
        })?;
    let cipher = ChunkCipher::new(&key, &header)?;
    Ok(Blob {
        blobs,
        id,
        cipher,
        layout,
    })
}

fn unwrap_key(app: &App, v: &Version) -> Result<DataKey, AppError> {
    app.unwrap_data_key(&v.kek_id, &v.wrapped_key)
}

/// Reads and decrypts the chunks of one blob for one byte range, a window of
/// whole chunks per read of the blob store (`vault::sealed`), on a blob worker
/// that runs ahead of the network by a bounded number of chunks.
struct Reader {
    blob: Blob,
    start: u64,
    end: u64,
    /// The recorded SHA-256, checked when the whole content is read.
    check: Option<Vec<u8>>,
}

impl Reader {
    /// Starts the producer; the receiver yields the plaintext pieces in order,
    /// or one error after which nothing more comes.
    fn spawn(self, size: u64) -> tokio::sync::mpsc::Receiver<Result<Bytes, AppError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(PIPELINE_DEPTH.min(4));
        let chunks = if size == 0 {
            0..=0
        } else {
            self.blob.layout.chunks_for_range(self.start, self.end)
        };
        let failed = tx.clone();
        if let Err(e) = kernel::spawn_blob_worker(move |worker| self.produce(worker, chunks, &tx)) {
            let _ = failed.try_send(Err(e));
        }
        rx
    }

    fn produce(
        self,
        worker: &BlobWorker,
        chunks: std::ops::RangeInclusive<u64>,
        tx: &tokio::sync::mpsc::Sender<Result<Bytes, AppError>>,
    ) {
        let Reader {
            blob,
            start,
            end,
            check,
        } = self;
        let Blob {
            blobs,
            id,
            cipher,
            layout,
        } = blob;
        let mut cutter = Cutter {
            hash: check
                .as_ref()
                .map(|_| aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256)),
            layout,
            start,
            end,
            last: *chunks.end(),
            check,
        };
        for window in vault::sealed::windows(&layout, chunks) {
            let mut sealed =
                match worker.wait(vault::sealed::read_chunks(&*blobs, id, &layout, window)) {
                    Ok(sealed) => sealed,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e.into()));
                        return;
                    }
                };
            while let Some(opened) = sealed.open_next(&cipher) {
                let next = cutter.cut(opened);
                let failed = next.is_err();
                if tx.blocking_send(next).is_err() || failed {
                    return;
                }
            }
        }
    }
}

/// Cuts what a download sends from each chunk: its part of the range, the
/// whole content hashed and checked at the last chunk when it is all read.
struct Cutter {
    layout: Layout,
    start: u64,
    end: u64,
    /// The range's last chunk, after which the digest is checked.
    last: u64,
    check: Option<Vec<u8>>,
    hash: Option<aws_lc_rs::digest::Context>,
}

impl Cutter {
    /// The piece of an opened chunk to send (or the chunk's error).
    fn cut(&mut self, opened: Result<(u64, Bytes), VaultError>) -> Result<Bytes, AppError> {
        let (index, plain) = opened?;
        if let Some(ctx) = self.hash.as_mut() {
            ctx.update(&plain);
        }
        if index == self.last {
            self.check_digest()?;
        }
        Ok(self.slice(index, plain))
    }

    fn check_digest(&mut self) -> Result<(), AppError> {
        let (Some(ctx), Some(expected)) = (self.hash.take(), &self.check) else {
            return Ok(());
        };
        if ctx.finish().as_ref() == expected.as_slice() {
            Ok(())
        } else {
            Err(AppError::Integrity)
        }
    }

    fn slice(&self, index: u64, plain: Bytes) -> Bytes {
        let chunk_start = index * u64::from(self.layout.chunk_size);
        let from = self
            .start
            .saturating_sub(chunk_start)
            .min(plain.len() as u64) as usize;
        let to = (self.end + 1)
            .saturating_sub(chunk_start)
            .min(plain.len() as u64) as usize;
        plain.slice(from..to.max(from))
    }
}

/// Tells the owner's security officers (else its admins) that an upload to
/// `room` is held for review (`dlp.hold`, a security notice: mailed at once
/// when mail is on), naming who sent it — through an upload request, its
/// recipient.
async fn tell_officers_of_hold(
    tx: &mut store::Tx,
    meta: &RequestMeta,
    p: &Principal,
    (room, path): (RoomId, &str),
    now: i64,
) -> Result<(), AppError> {
    let room_name = tx.get_room(room).await?.map(|r| r.name).unwrap_or_default();
    let sender = match &meta.upload_via {
        Some(via) => format!("{} through an upload request", via.recipient),
        None => p.email.clone(),
    };
    let message = format!(
        "An upload to {room_name} is held for review by data-loss prevention: {path}, sent by \
         {sender}. Review it on the Quarantine page."
    );
    let kind = EventName::DlpHold.as_str();
    for officer in kernel::events::officers(tx).await? {
        kernel::events::notify(
            tx,
            officer.id,
            now,
            kind,
            format!("room:{room}"),
            message.clone(),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_in_any_case() {
        for (text, query, want) in [
            ("specs/Gearbox-Rev-B.step", "gearbox", true),
            ("specs/Gearbox-Rev-B.step", "GEARBOX rev", true),
            ("specs/Gearbox-Rev-B.step", "gearbox rev-c", false),
            ("Änderungen/Übersicht.pdf", "änderungen übersicht", true),
            ("notes/100%_done.txt", "100%_", true),
            ("notes/100x_done.txt", "100%_", false),
            ("anything", "", true),
        ] {
            let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
            assert_eq!(path_matches(text, &words), want, "{text} / {query}");
        }
    }
}
