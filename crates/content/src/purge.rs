//! Purging single files by re-keying their room (docs/destruction.md, "Files").
//!
//! A room's data keys are wrapped by its room key, so destroying some files
//! of a room without destroying the room takes a new *generation* of the room
//! key: everything that stays is re-wrapped under it, then the old generation
//! is destroyed, and with it every copy of the purged versions (in the data
//! directory and in every backup). What is purged:
//! - files deleted longer ago than the grace period an admin set
//!   ([`Purges::set_purge_grace`]; none set: deleted files are kept);
//! - files whose own retention period ended ([`Files::set_file_retention`]).
//!   In a room above `internal` that opens a request a second person must
//!   approve (four eyes, as for rooms); at or below it runs at once.
//!
//! Like a room's destruction, a purge is a request of kind `files` that runs
//! in steps a crash cannot split wrongly:
//! 1. one transaction: the request becomes `destroying`, the files are closed
//!    (deleted), `file.purge_start` is recorded;
//! 2. the new generation's key file is made (or, after a crash, loaded);
//! 3. the room moves to the new generation (its row updated: every upload
//!    committing later wraps under it, one committing earlier is seen next);
//! 4. every version of the room under the old generation that is not purged is
//!    re-wrapped under the new one, a batch per transaction (`keys.rewrap`), and
//!    the room's carry file written: every kept version's data key under the
//!    new generation, so that a backup older than the purge still opens what
//!    was kept (`kernel::adopt_room_keys` heals a restored database from it);
//! 5. the old generation's key file is overwritten and unlinked;
//! 6. one transaction: the purged versions' wrapped keys are forgotten, the
//!    request `destroyed` with its statement, and `file.purged` recorded;
//! 7. the purged blobs are removed (housekeeping).
//!
//! A crash anywhere leaves either the old key (and no record) or no old key
//! and every kept version under the new one; a start (`resume_destructions`)
//! carries on from 2. A legal hold on the room (or on a party with a grant in
//! it) leaves its files unpurged until it is released.

use std::collections::{BTreeMap, HashSet};

use kernel::authz::{Principal, System};
use kernel::certificate::{DestroyedRoom, DestroyedVersion};
use kernel::events::{Fact, RequestMeta, notify, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, ErrorCode, EventName, FileAccess, act};
use model::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{Destruction, PurgeSettings, Tx};

use crate::Files;
use crate::destruction::{
    Destroyed, check_retention, destroyed_version, not_requested, record_destroyed, remove_blobs,
    sha256_hex, state,
};

/// The kind of a request that purges files (a room's destruction is `room`).
pub const KIND: &str = "files";
/// Longest grace period of deleted files, in days (a hundred years).
pub const MAX_GRACE_DAYS: i64 = 36_500;
/// Versions re-wrapped per transaction.
const BATCH: usize = 500;
const DAY_MS: i64 = 86_400_000;

/// What a purge destroys and how, as shown before it runs and kept in its
/// request (the exact JSON, hashed).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Manifest {
    room: DestroyedRoom,
    /// The generation destroyed (one id).
    key_ids: Vec<String>,
    /// The generation that wraps what stays.
    rekeyed_to: String,
    from_generation: i64,
    to_generation: i64,
    versions: Vec<DestroyedVersion>,
}

/// The grace period of deleted files, as admins see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeGrace {
    pub days: Option<i64>,
    pub set_by: Option<UserId>,
    pub set_ms: Option<i64>,
}

/// The admin's settings of purges: the grace period of deleted files.
pub struct Purges<'a>(pub &'a App);

impl std::ops::Deref for Purges<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

impl Purges<'_> {
    /// The grace period after which deleted files are purged (none: kept).
    pub async fn purge_grace(
        &self,
        _auth: Authorized<'_, act::RetentionManage, System>,
    ) -> Result<PurgeGrace, AppError> {
        let s = self.store().read().await?.purge_settings().await?;
        Ok(PurgeGrace {
            days: s.as_ref().and_then(|s| s.grace_days),
            set_by: s.as_ref().and_then(|s| s.set_by),
            set_ms: s.map(|s| s.set_ms),
        })
    }

    /// Sets (or, with `None`, clears) the grace period after which deleted
    /// files are purged, 0 to [`MAX_GRACE_DAYS`] days. The admin who sets it
    /// is the requester of the purges it causes.
    pub async fn set_purge_grace(
        &self,
        auth: Authorized<'_, act::RetentionManage, System>,
        days: Option<i64>,
    ) -> Result<PurgeGrace, AppError> {
        let (meta, p, _) = auth.into_parts();
        if let Some(d) = days
            && !(0..=MAX_GRACE_DAYS).contains(&d)
        {
            return Err(AppError::invalid(
                ErrorCode::BadRetention,
                format!("a grace period is 0 to {MAX_GRACE_DAYS} days"),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let settings = PurgeSettings {
            grace_days: days,
            set_by: Some(p.user_id),
            set_ms: now,
        };
        tx.set_purge_settings(&settings).await?;
        let fact = Fact::allowed(Some(p), Action::RetentionManage, "purge:grace".to_owned())
            .with(json!({"grace_days": days}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(PurgeGrace {
            days,
            set_by: Some(p.user_id),
            set_ms: Some(now),
        })
    }
}

impl Files<'_> {
    /// Sets (or, with `None`, clears) a file's retention period: `days`
    /// after the file's creation its every version is purged as if its setter
    /// had asked (a second person's approval needed above `internal`).
    pub async fn set_file_retention(
        &self,
        auth: Authorized<'_, act::RoomDestroy, FileAccess>,
        days: Option<i64>,
    ) -> Result<(), AppError> {
        let (meta, p, access) = auth.into_parts();
        check_retention(days)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.set_file_retention(access.file.id, days, p.user_id)
            .await?;
        let fact = Fact::allowed(
            Some(p),
            Action::RoomDestroy,
            format!("file:{}", access.file.id),
        )
        .with(json!({"retention_days": days, "room": access.room.room.id}));
        record(&mut tx, meta, now, fact).await?;
        Ok(tx.commit().await?)
    }

    /// A file's retention period in days, if it has one.
    pub async fn file_retention(
        &self,
        auth: Authorized<'_, act::RoomDestroy, FileAccess>,
    ) -> Result<Option<i64>, AppError> {
        let (_, _, access) = auth.into_parts();
        Ok(self
            .store()
            .read()
            .await?
            .file_retention(access.file.id)
            .await?
            .map(|(days, _)| days))
    }
}

/// Why versions are purged: the admin's grace period, or a file's own
/// retention period (whose setter asks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    Grace,
    Retention(UserId),
}

/// The purge sweep: every room with versions due (deleted files past the
/// grace period, files past their retention) gets a purge per cause, run at
/// once — or, for retention in a room above `internal`, requested for a
/// second person's approval. A room under a legal hold, or with a request
/// open, is left for a later sweep. Returns the purges opened.
pub async fn purge_sweep(app: &App) -> Result<usize, AppError> {
    let now = app.now();
    let (grace, candidates) = {
        let mut tx = app.store().read().await?;
        let settings = tx.purge_settings().await?;
        let grace = settings.and_then(|s| s.grace_days.zip(s.set_by));
        let cutoff = grace.map(|(days, _)| now.saturating_sub(days.saturating_mul(DAY_MS)));
        (grace, tx.purge_candidates(now, cutoff).await?)
    };
    let mut groups: BTreeMap<(RoomId, Cause), Vec<VersionId>> = BTreeMap::new();
    for c in candidates {
        let past_grace = match (c.deleted_ms, grace) {
            (Some(deleted), Some((days, _))) => {
                deleted <= now.saturating_sub(days.saturating_mul(DAY_MS))
            }
            _ => false,
        };
        let cause = match c.retention {
            _ if past_grace => Cause::Grace,
            Some((_, by)) => Cause::Retention(by),
            None => continue,
        };
        groups
            .entry((c.room_id, cause))
            .or_default()
            .push(c.version_id);
    }
    let mut opened = 0;
    for ((room, cause), versions) in groups {
        let requester = match cause {
            Cause::Retention(by) => by,
            Cause::Grace => match grace {
                Some((_, by)) => by,
                None => continue,
            },
        };
        let reason = match (cause, grace) {
            (Cause::Grace, Some((days, _))) => {
                format!("deleted files past the grace period of {days} days set by an admin")
            }
            _ => "files past their retention period".to_owned(),
        };
        let retention = matches!(cause, Cause::Retention(_));
        if let Some(d) = open_purge(app, room, &versions, requester, &reason, retention).await? {
            opened += 1;
            if d.state == state::DESTROYING {
                finish_purge(app, d).await?;
            }
        }
    }
    Ok(opened)
}

/// Opens a purge of `versions` of `room` (none when the room is held, gone,
/// or has a request open): started at once (the files closed), or — for a
/// retention purge in a room above `internal` — requested, its approvers told.
async fn open_purge(
    app: &App,
    room_id: RoomId,
    versions: &[VersionId],
    requester: UserId,
    reason: &str,
    retention: bool,
) -> Result<Option<Destruction>, AppError> {
    let now = app.now();
    let mut tx = app.store().begin().await?;
    if !tx.holds_on_room(room_id).await?.is_empty() {
        return Ok(None);
    }
    let Some(room) = tx.get_room(room_id).await? else {
        return Ok(None);
    };
    let from = tx.room_key_generation(room_id).await?.unwrap_or(0);
    let (manifest, text, digest) = manifest_of(&mut tx, &room, versions, from).await?;
    if manifest.versions.is_empty() {
        return Ok(None);
    }
    let needs_approval = retention && room.classification > Classification::Internal;
    let mut d = Destruction {
        id: uuid::Uuid::from_bytes(random()?).to_string(),
        room_id,
        kind: KIND.to_owned(),
        reason: reason.to_owned(),
        state: if needs_approval {
            state::REQUESTED
        } else {
            state::DESTROYING
        }
        .to_owned(),
        needs_approval,
        requested_by: requester,
        requested_ms: now,
        decided_by: None,
        decided_ms: None,
        decision_note: None,
        executed_by: None,
        started_ms: None,
        destroyed_ms: None,
        manifest: text,
        manifest_sha256: digest.clone(),
        statement: None,
        event_seq: None,
    };
    if !needs_approval {
        d.executed_by = Some(requester);
        d.started_ms = Some(now);
    }
    match tx.insert_destruction(&d).await {
        Err(store::StoreError::Conflict(_)) => return Ok(None),
        other => other?,
    }
    let detail = json!({"destruction": d.id, "reason": reason, "manifest_sha256": digest,
        "versions": manifest.versions.iter().map(|v| v.version.clone()).collect::<Vec<_>>(),
        "needs_approval": needs_approval});
    let meta = RequestMeta::default();
    if needs_approval {
        let fact = Fact::allowed(None, EventName::RoomRetention, format!("room:{room_id}"));
        record(&mut tx, &meta, now, fact.with(detail)).await?;
        let message = format!(
            "The retention period of {} file versions in room `{}` ({}) ended: their purge needs your approval",
            manifest.versions.len(),
            room.name,
            room.classification
        );
        for officer in kernel::events::officers(&mut tx).await? {
            if officer.id != requester {
                notify(
                    &mut tx,
                    officer.id,
                    now,
                    Action::DestructionDecide.as_str(),
                    format!("room:{room_id}"),
                    message.clone(),
                )
                .await?;
            }
        }
    } else {
        start(&mut tx, &manifest, now).await?;
        let fact = Fact::allowed(None, EventName::FilePurgeStart, format!("room:{room_id}"));
        record(&mut tx, &meta, now, fact.with(detail)).await?;
    }
    tx.commit().await?;
    Ok(Some(d))
}

/// Closes (deletes) the live files whose versions a purge destroys.
async fn start(tx: &mut Tx, manifest: &Manifest, now: i64) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    for v in &manifest.versions {
        if seen.insert(v.file_id.clone()) {
            let file: FileId = v
                .file_id
                .parse()
                .map_err(|_| AppError::internal("a purge names a bad file id"))?;
            tx.delete_file(file, now).await?;
        }
    }
    Ok(())
}

/// The manifest of a purge of `versions` of `room`, from key generation
/// `from` to the next, with its exact JSON and SHA-256.
async fn manifest_of(
    tx: &mut Tx,
    room: &Room,
    versions: &[VersionId],
    from: i64,
) -> Result<(Manifest, String, String), AppError> {
    let wanted: HashSet<String> = versions.iter().map(|v| v.to_string()).collect();
    let named: Vec<DestroyedVersion> = tx
        .room_versions(room.id)
        .await?
        .into_iter()
        .filter(|v| wanted.contains(&v.version_id.to_string()))
        .map(destroyed_version)
        .collect();
    let manifest = Manifest {
        room: DestroyedRoom {
            id: room.id.to_string(),
            name: room.name.clone(),
            classification: room.classification.as_str().to_owned(),
        },
        key_ids: vec![kernel::room_key_id(room.id, from)],
        rekeyed_to: kernel::room_key_id(room.id, from + 1),
        from_generation: from,
        to_generation: from + 1,
        versions: named,
    };
    let text = serde_json::to_string(&manifest).map_err(AppError::internal)?;
    let digest = sha256_hex(text.as_bytes());
    Ok((manifest, text, digest))
}

fn parse_manifest(d: &Destruction) -> Result<Manifest, AppError> {
    serde_json::from_str(&d.manifest)
        .map_err(|e| AppError::internal(format!("purge {}: bad manifest: {e}", d.id)))
}

/// Runs a requested purge that a second person approved (`shown`: the
/// SHA-256 of the manifest they were shown): step 1, then the rest.
pub(crate) async fn execute(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    d: Destruction,
    shown: &str,
) -> Result<Destruction, AppError> {
    let now = app.now();
    let mut tx = app.store().begin().await?;
    let mut d = tx.get_destruction(&d.id).await?.ok_or(AppError::NotFound)?;
    if d.state != state::REQUESTED {
        return Err(not_requested(&d));
    }
    crate::destruction::refuse_if_held(&mut tx, d.room_id).await?;
    let manifest = parse_manifest(&d)?;
    let generation = tx.room_key_generation(d.room_id).await?.unwrap_or(0);
    if !kernel::secrets::ct_eq(shown.trim().as_bytes(), d.manifest_sha256.as_bytes())
        || generation != manifest.from_generation
    {
        return Err(AppError::invalid(
            ErrorCode::DestructionState,
            "what would be destroyed is not what was shown (the room was re-keyed since the request, or the digest sent is not the manifest's): ask again",
        ));
    }
    d.state = state::DESTROYING.to_owned();
    d.executed_by = Some(p.user_id);
    d.started_ms = Some(now);
    d.decided_by = Some(p.user_id);
    d.decided_ms = Some(now);
    if !tx.update_destruction(&d, state::REQUESTED).await? {
        return Err(not_requested(&d));
    }
    start(&mut tx, &manifest, now).await?;
    let detail =
        json!({"destruction": d.id, "manifest_sha256": d.manifest_sha256, "decision": "approve"});
    let target = format!("room:{}", d.room_id);
    let fact = Fact::allowed(Some(p), Action::DestructionDecide, target.clone());
    record(&mut tx, meta, now, fact.with(detail.clone())).await?;
    let fact = Fact::allowed(Some(p), EventName::FilePurgeStart, target);
    record(&mut tx, meta, now, fact.with(detail)).await?;
    tx.commit().await?;
    finish_purge(app, d).await
}

/// Steps 2 to 7 of a purge that started (and perhaps crashed).
pub(crate) async fn finish_purge(app: &App, d: Destruction) -> Result<Destruction, AppError> {
    let m = parse_manifest(&d)?;
    let room = d.room_id;
    kernel::pause_point("purge:started");
    let old_key = m
        .key_ids
        .first()
        .cloned()
        .ok_or_else(|| AppError::internal("a purge names no key"))?;
    let purged: HashSet<&str> = m.versions.iter().map(|v| v.version.as_str()).collect();
    if app.has_room_key_generation(room, m.from_generation)? {
        app.create_room_key_generation(room, m.to_generation)?;
        let mut tx = app.store().begin().await?;
        tx.set_room_key_generation(room, m.from_generation, m.to_generation)
            .await?;
        tx.commit().await?;
        loop {
            let now = app.now();
            let mut tx = app.store().begin().await?;
            let kept: Vec<(VersionId, Vec<u8>)> = tx
                .room_versions_under(room, &old_key)
                .await?
                .into_iter()
                .filter(|(v, _)| !purged.contains(v.to_string().as_str()))
                .take(BATCH)
                .collect();
            if kept.is_empty() {
                break;
            }
            let mut names = Vec::with_capacity(kept.len());
            for (version, wrapped) in &kept {
                let key = app.unwrap_data_key(&old_key, wrapped)?;
                let (rewrapped, key_id) = app.wrap_data_key(room, m.to_generation, &key)?;
                tx.set_wrapped_key(*version, &rewrapped, &key_id).await?;
                names.push(version.to_string());
            }
            let detail = json!({"room_key": {"from": old_key, "to": m.rekeyed_to},
                "purge": d.id, "versions": names});
            let fact = Fact::allowed(None, EventName::KeysRewrap, format!("room:{room}"));
            record(&mut tx, &RequestMeta::default(), now, fact.with(detail)).await?;
            tx.commit().await?;
        }
        // What a backup older than this purge needs to open what stays: the
        // kept versions' data keys under the new generation, by version.
        let kept: Vec<(String, Vec<u8>)> = app
            .store()
            .read()
            .await?
            .room_versions_under(room, &m.rekeyed_to)
            .await?
            .into_iter()
            .map(|(v, w)| (v.to_string(), w))
            .collect();
        app.write_carry(room, m.to_generation, &kept)?;
        kernel::pause_point("purge:rekeyed");
        app.destroy_room_key_generation(room, m.from_generation)?;
    }
    kernel::pause_point("purge:key-destroyed");
    let now = app.now();
    let mut tx = app.store().begin().await?;
    let mut d = tx.get_destruction(&d.id).await?.ok_or(AppError::NotFound)?;
    if d.state != state::DESTROYING {
        return Ok(d);
    }
    let ids: Vec<VersionId> = m
        .versions
        .iter()
        .filter_map(|v| v.version.parse().ok())
        .collect();
    let blobs: Vec<BlobId> = tx
        .room_versions(room)
        .await?
        .into_iter()
        .filter(|v| purged.contains(v.version_id.to_string().as_str()))
        .map(|v| v.blob_id)
        .collect();
    tx.forget_purged_versions(&ids, now).await?;
    let what = Destroyed {
        room: m.room.clone(),
        key_ids: m.key_ids.clone(),
        versions: m.versions.clone(),
        rekeyed_to: Some(m.rekeyed_to.clone()),
        event: EventName::FilePurged,
    };
    if !record_destroyed(&mut tx, &mut d, what, now).await? {
        return Ok(d);
    }
    tx.commit().await?;
    kernel::pause_point("purge:recorded");
    remove_blobs(app, blobs).await;
    Ok(d)
}
