//! Destruction of a room by crypto-shredding (docs/destruction.md).
//!
//! A request lists what would be destroyed — every version of every file of
//! the room, live, deleted or held, by digest — and its SHA-256, which whoever
//! confirms must send back (they confirm what they were shown, nothing added
//! since). A room above `internal` needs a second person's approval (an admin
//! or security officer who is not the requester: four eyes); at or below, its
//! managers confirm it themselves. A legal hold on the room, or on a party
//! that has or had a grant in it, refuses the request and the destruction.
//!
//! The destruction runs in steps that a crash cannot split wrongly:
//! 1. one transaction: the request becomes `destroying`, the room is deleted
//!    (closed to every access), `room.destroy_start` is recorded;
//! 2. the room's key file is overwritten and unlinked (`vault::roomkeys`);
//! 3. one transaction: the room is marked destroyed, its wrapped data keys
//!    forgotten, the request `destroyed` with its statement, and
//!    `room.destroyed` recorded with the statement's SHA-256;
//! 4. the room's blobs are removed (housekeeping: they are unreadable already).
//!
//! A crash after 1 leaves the key and a request that is not recorded as
//! destroyed; one after 2 leaves no key and no record yet. Either way a start
//! (`resume_destructions`) carries on from 2, so the record of destruction is
//! never written while the key exists, and the content is never readable while
//! the record says it was destroyed.

use kernel::authz::{Principal, System};
use kernel::certificate::{
    CERTIFICATE_FORMAT, Certificate, CertificateBody, DestroyedRoom, DestroyedVersion, Person,
    STATEMENT_FORMAT, Statement,
};
use kernel::events::{Fact, RequestMeta, notify, record};
use kernel::secrets::random;
use kernel::{
    Action, App, AppError, Authorized, ErrorCode, EventName, RoomInfo, act, check_reason,
};
use model::*;
use serde::Serialize;
use serde_json::json;
use store::{Destruction, Tx};

use crate::Rooms;

/// A stored version as a statement of destruction names it.
pub(crate) fn destroyed_version(v: store::RoomVersion) -> DestroyedVersion {
    DestroyedVersion {
        file: v.path,
        file_id: v.file_id.to_string(),
        version: v.version_id.to_string(),
        number: v.number,
        sha256: hex::encode(&v.sha256),
        size: v.size,
        deleted: v.file_deleted,
    }
}

/// Refuses a retention period (of a room or a file) outside 1 to
/// [`MAX_RETENTION_DAYS`] days with `bad_retention`.
pub(crate) fn check_retention(days: Option<i64>) -> Result<(), AppError> {
    match days {
        Some(d) if !(1..=MAX_RETENTION_DAYS).contains(&d) => Err(AppError::invalid(
            ErrorCode::BadRetention,
            format!("a retention period is 1 to {MAX_RETENTION_DAYS} days"),
        )),
        _ => Ok(()),
    }
}

/// The kind of a request that destroys a whole room.
pub const KIND_ROOM: &str = "room";

/// Longest retention period, in days (a hundred years).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// The states of a request.
pub mod state {
    pub const REQUESTED: &str = "requested";
    pub const REJECTED: &str = "rejected";
    pub const DESTROYING: &str = "destroying";
    pub const DESTROYED: &str = "destroyed";
}

/// What a request would destroy, as shown before it is confirmed.
#[derive(Clone, Debug, Serialize)]
struct Manifest<'a> {
    room: &'a DestroyedRoom,
    key_ids: &'a [String],
    versions: &'a [DestroyedVersion],
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(kernel::secrets::sha256(bytes))
}

/// The room, key ids and versions a destruction of `room` destroys now, and
/// the exact manifest JSON with its SHA-256.
async fn manifest_of(
    tx: &mut Tx,
    room: &Room,
) -> Result<
    (
        DestroyedRoom,
        Vec<String>,
        Vec<DestroyedVersion>,
        String,
        String,
    ),
    AppError,
> {
    let versions: Vec<DestroyedVersion> = tx
        .room_versions(room.id)
        .await?
        .into_iter()
        .map(destroyed_version)
        .collect();
    let shown = DestroyedRoom {
        id: room.id.to_string(),
        name: room.name.clone(),
        classification: room.classification.as_str().to_owned(),
    };
    let generation = tx.room_key_generation(room.id).await?.unwrap_or(0);
    let key_ids = vec![kernel::room_key_id(room.id, generation)];
    let text = serde_json::to_string(&Manifest {
        room: &shown,
        key_ids: &key_ids,
        versions: &versions,
    })
    .map_err(AppError::internal)?;
    let digest = sha256_hex(text.as_bytes());
    Ok((shown, key_ids, versions, text, digest))
}

/// Refuses with `legal_hold` when a hold in force covers the room.
pub(crate) async fn refuse_if_held(tx: &mut Tx, room: RoomId) -> Result<(), AppError> {
    if let Some(hold) = tx.holds_on_room(room).await?.into_iter().next() {
        return Err(AppError::invalid(
            ErrorCode::LegalHold,
            format!(
                "a legal hold covers this room (set for: {}); it cannot be destroyed until a security officer releases the hold",
                hold.reason
            ),
        ));
    }
    Ok(())
}

pub(crate) async fn person(tx: &mut Tx, id: UserId) -> Result<Person, AppError> {
    let email = tx.get_user(id).await?.map(|u| u.email).unwrap_or_default();
    Ok(Person {
        id: id.to_string(),
        email,
    })
}

impl Rooms<'_> {
    /// Asks for room's destruction: refused under a legal hold or while
    /// another request of the room is open. The request holds what would be
    /// destroyed now; the approvers (when the room is above `internal`) are told.
    pub async fn request_destruction(
        &self,
        auth: Authorized<'_, act::RoomDestroy, RoomInfo>,
        reason: &str,
    ) -> Result<Destruction, AppError> {
        let (meta, p, info) = auth.into_parts();
        let reason = check_reason(reason)?;
        let mut tx = self.store().begin().await?;
        let d = open_request(
            &mut tx,
            meta,
            Some(p),
            p.user_id,
            &info.room,
            &reason,
            self.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Sets (or, with `None`, clears) the room's retention period: `days`
    /// after its creation the room is destroyed as if its setter had asked
    /// (approval by a second person still needed above `internal`).
    pub async fn set_retention(
        &self,
        auth: Authorized<'_, act::RoomDestroy, RoomInfo>,
        days: Option<i64>,
    ) -> Result<(), AppError> {
        let (meta, p, info) = auth.into_parts();
        check_retention(days)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.set_room_retention(info.room.id, days, p.user_id).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::RoomDestroy,
                format!("room:{}", info.room.id),
            )
            .with(json!({"retention_days": days})),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// The room's retention period in days, if it has one, and its open
    /// destruction request (or the last one), as the room's managers see them.
    pub async fn room_destruction(
        &self,
        auth: Authorized<'_, act::RoomDestroy, RoomInfo>,
    ) -> Result<(Option<i64>, Option<Destruction>), AppError> {
        let (_, _, info) = auth.into_parts();
        let mut tx = self.store().read().await?;
        let retention = tx.room_retention(info.room.id).await?.map(|(days, _)| days);
        let last = tx
            .list_destructions(Some(info.room.id), None)
            .await?
            .into_iter()
            .next();
        Ok((retention, last))
    }

    /// Destruction requests, newest first (of one room, or all).
    pub async fn list_destructions(
        &self,
        _auth: Authorized<'_, act::DestructionRead, System>,
        room: Option<RoomId>,
    ) -> Result<Vec<Destruction>, AppError> {
        Ok(self
            .store()
            .read()
            .await?
            .list_destructions(room, None)
            .await?)
    }

    /// One destruction request.
    pub async fn get_destruction(
        &self,
        _auth: Authorized<'_, act::DestructionRead, System>,
        id: &str,
    ) -> Result<Destruction, AppError> {
        self.store()
            .read()
            .await?
            .get_destruction(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A second person's approval of a destruction, which then runs:
    /// `shown` must be the SHA-256 of the manifest they were shown.
    pub async fn approve_destruction(
        &self,
        auth: Authorized<'_, act::DestructionDecide, System>,
        id: &str,
        shown: &str,
    ) -> Result<Destruction, AppError> {
        let (meta, p, _) = auth.into_parts();
        let d = self.requested(id).await?;
        if d.requested_by == p.user_id {
            return Err(AppError::invalid(
                ErrorCode::FourEyes,
                "you asked for this destruction: a second person must approve it",
            ));
        }
        execute(self, meta, p, d, shown, true).await
    }

    /// Confirms the destruction of a room at or below `internal` (no second
    /// person needed): `shown` as for [`Rooms::approve_destruction`].
    pub async fn confirm_destruction(
        &self,
        auth: Authorized<'_, act::RoomDestroy, RoomInfo>,
        id: &str,
        shown: &str,
    ) -> Result<Destruction, AppError> {
        let (meta, p, info) = auth.into_parts();
        let d = self.requested(id).await?;
        if d.room_id != info.room.id {
            return Err(AppError::NotFound);
        }
        if d.needs_approval {
            return Err(AppError::invalid(
                ErrorCode::FourEyes,
                "this room is above `internal`: an admin or security officer other than the requester must approve its destruction",
            ));
        }
        execute(self, meta, p, d, shown, false).await
    }

    /// Rejects a requested destruction, with a reason.
    pub async fn reject_destruction(
        &self,
        auth: Authorized<'_, act::DestructionDecide, System>,
        id: &str,
        note: &str,
    ) -> Result<Destruction, AppError> {
        let (meta, p, _) = auth.into_parts();
        let note = check_reason(note)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut d = tx.get_destruction(id).await?.ok_or(AppError::NotFound)?;
        if d.state != state::REQUESTED {
            return Err(not_requested(&d));
        }
        d.state = state::REJECTED.to_owned();
        d.decided_by = Some(p.user_id);
        d.decided_ms = Some(now);
        d.decision_note = Some(note.clone());
        if !tx.update_destruction(&d, state::REQUESTED).await? {
            return Err(not_requested(&d));
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::DestructionDecide,
                format!("room:{}", d.room_id),
            )
            .with(json!({"destruction": d.id, "decision": "reject", "note": note})),
        )
        .await?;
        tx.commit().await?;
        Ok(d)
    }

    /// The certificate of a completed destruction: its statement and the
    /// declarations of return or destruction signed so far, in a note signed
    /// by the ledger's key, with the evidence bundle of its `room.destroyed`
    /// event against a checkpoint signed now.
    pub async fn certificate(
        &self,
        _auth: Authorized<'_, act::DestructionRead, System>,
        id: &str,
    ) -> Result<Certificate, AppError> {
        let d = self
            .store()
            .read()
            .await?
            .get_destruction(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (Some(statement), Some(seq)) = (d.statement.clone(), d.event_seq) else {
            return Err(not_requested(&d));
        };
        let declarations = declarations_of(self, d.room_id).await?;
        let evidence = self.evidence_of(&[seq]).await?;
        let index = evidence
            .entries
            .first()
            .map(|e| e.index)
            .ok_or_else(|| AppError::internal("the destruction event is not in the ledger"))?;
        let body = CertificateBody {
            statement,
            declarations,
            ledger_index: index,
        };
        let text = serde_json::to_string(&body).map_err(AppError::internal)? + "\n";
        let note = self
            .ledger_signer()?
            .sign(&text)
            .map_err(AppError::internal)?;
        Ok(Certificate {
            format: CERTIFICATE_FORMAT.to_owned(),
            note,
            evidence,
        })
    }

    async fn requested(&self, id: &str) -> Result<Destruction, AppError> {
        let d = self
            .store()
            .read()
            .await?
            .get_destruction(id)
            .await?
            .ok_or(AppError::NotFound)?;
        if d.state != state::REQUESTED {
            return Err(not_requested(&d));
        }
        Ok(d)
    }
}

/// The declarations of return or destruction signed so far by the parties
/// that had access to the room (docs/attestations.md), oldest first: each with
/// the whole text signed, its SHA-256, the signer and when.
async fn declarations_of(app: &App, room: RoomId) -> Result<Vec<serde_json::Value>, AppError> {
    let mut tx = app.store().read().await?;
    let owner = tx.owner_party().await?.map(|p| p.id);
    let mut out = Vec::new();
    for party in tx.room_parties(room).await? {
        if Some(party) == owner {
            continue;
        }
        let mut signed = tx.list_attestations(Some(party)).await?;
        signed.reverse();
        for a in signed {
            if let Some(s) = a.signature {
                out.push(json!({
                    "attestation": a.id.to_string(),
                    "party": {"id": a.party_id.to_string(), "name": a.party_name},
                    "text": a.text,
                    "text_sha256": a.text_sha256,
                    "signed_by": {"name": s.name, "email": s.email},
                    "signed_ms": s.signed_ms,
                }));
            }
        }
    }
    Ok(out)
}

pub(crate) fn not_requested(d: &Destruction) -> AppError {
    AppError::invalid(
        ErrorCode::DestructionState,
        format!("the destruction request is `{}`", d.state),
    )
}

/// Opens a request to destroy `room` in `tx`, recorded as `room.destroy` by
/// `p` (none: the retention sweep) and told to the approvers when needed.
async fn open_request(
    tx: &mut Tx,
    meta: &RequestMeta,
    p: Option<&Principal>,
    requester: UserId,
    room: &Room,
    reason: &str,
    now: i64,
) -> Result<Destruction, AppError> {
    refuse_if_held(tx, room.id).await?;
    let (_, _, versions, manifest, digest) = manifest_of(tx, room).await?;
    let d = Destruction {
        id: uuid::Uuid::from_bytes(random()?).to_string(),
        room_id: room.id,
        kind: KIND_ROOM.to_owned(),
        reason: reason.to_owned(),
        state: state::REQUESTED.to_owned(),
        needs_approval: room.classification > Classification::Internal,
        requested_by: requester,
        requested_ms: now,
        decided_by: None,
        decided_ms: None,
        decision_note: None,
        executed_by: None,
        started_ms: None,
        destroyed_ms: None,
        manifest,
        manifest_sha256: digest.clone(),
        statement: None,
        event_seq: None,
    };
    match tx.insert_destruction(&d).await {
        Err(store::StoreError::Conflict(_)) => {
            return Err(AppError::invalid(
                ErrorCode::DestructionPending,
                "this room already has a destruction request that is not executed or rejected",
            ));
        }
        other => other?,
    }
    let detail = json!({"destruction": d.id, "reason": reason, "versions": versions.len(),
        "manifest_sha256": digest, "needs_approval": d.needs_approval});
    let fact = match p {
        Some(p) => Fact::allowed(Some(p), Action::RoomDestroy, format!("room:{}", room.id)),
        None => Fact::allowed(None, EventName::RoomRetention, format!("room:{}", room.id)),
    };
    record(tx, meta, now, fact.with(detail)).await?;
    if d.needs_approval {
        let message = format!(
            "The destruction of room `{}` ({}, {} file versions) was requested and needs your approval: {reason}",
            room.name,
            room.classification,
            versions.len()
        );
        for officer in kernel::events::officers(tx).await? {
            if officer.id != requester {
                notify(
                    tx,
                    officer.id,
                    now,
                    Action::DestructionDecide.as_str(),
                    format!("room:{}", room.id),
                    message.clone(),
                )
                .await?;
            }
        }
    }
    Ok(d)
}

/// Step 1 (see the module's documentation), then the rest.
async fn execute(
    app: &App,
    meta: &RequestMeta,
    p: &Principal,
    d: Destruction,
    shown: &str,
    approval: bool,
) -> Result<Destruction, AppError> {
    if d.kind == crate::purge::KIND {
        return crate::purge::execute(app, meta, p, d, shown).await;
    }
    let now = app.now();
    let mut tx = app.store().begin().await?;
    let mut d = tx.get_destruction(&d.id).await?.ok_or(AppError::NotFound)?;
    if d.state != state::REQUESTED {
        return Err(not_requested(&d));
    }
    refuse_if_held(&mut tx, d.room_id).await?;
    let room = tx.get_room(d.room_id).await?.ok_or(AppError::NotFound)?;
    let (_, _, _, _, digest) = manifest_of(&mut tx, &room).await?;
    if !kernel::secrets::ct_eq(shown.trim().as_bytes(), d.manifest_sha256.as_bytes())
        || digest != d.manifest_sha256
    {
        return Err(AppError::invalid(
            ErrorCode::DestructionState,
            "what would be destroyed is not what was shown (the room changed since the request, or the digest sent is not the manifest's): ask again",
        ));
    }
    d.state = state::DESTROYING.to_owned();
    d.executed_by = Some(p.user_id);
    d.started_ms = Some(now);
    if approval {
        d.decided_by = Some(p.user_id);
        d.decided_ms = Some(now);
    }
    if !tx.update_destruction(&d, state::REQUESTED).await? {
        return Err(not_requested(&d));
    }
    tx.delete_room(d.room_id, now).await?;
    let action: kernel::EventAction = if approval {
        Action::DestructionDecide.into()
    } else {
        EventName::RoomDestroyStart.into()
    };
    let detail = json!({"destruction": d.id, "manifest_sha256": d.manifest_sha256,
        "decision": if approval { "approve" } else { "confirm" }});
    let fact = Fact::allowed(Some(p), action, format!("room:{}", d.room_id)).with(detail.clone());
    record(&mut tx, meta, now, fact).await?;
    if approval {
        let fact = Fact::allowed(
            Some(p),
            EventName::RoomDestroyStart,
            format!("room:{}", d.room_id),
        )
        .with(detail);
        record(&mut tx, meta, now, fact).await?;
    }
    tx.commit().await?;
    finish(app, d).await
}

/// Steps 2 to 4 of a destruction that started (and perhaps crashed).
async fn finish(app: &App, d: Destruction) -> Result<Destruction, AppError> {
    if d.kind == crate::purge::KIND {
        return crate::purge::finish_purge(app, d).await;
    }
    kernel::pause_point("destruction:started");
    app.destroy_room_key(d.room_id)?;
    kernel::pause_point("destruction:key-destroyed");
    let now = app.now();
    let mut tx = app.store().begin().await?;
    let mut d = tx.get_destruction(&d.id).await?.ok_or(AppError::NotFound)?;
    if d.state != state::DESTROYING {
        return Ok(d);
    }
    let (room, _, _) = tx
        .room_any(d.room_id)
        .await?
        .ok_or_else(|| AppError::internal("the destroyed room has no row"))?;
    let (shown, key_ids, versions, _, _) = manifest_of(&mut tx, &room).await?;
    let blobs: Vec<BlobId> = tx
        .room_versions(d.room_id)
        .await?
        .into_iter()
        .map(|v| v.blob_id)
        .collect();
    tx.mark_room_destroyed(d.room_id, now).await?;
    let what = Destroyed {
        room: shown,
        key_ids,
        versions,
        rekeyed_to: None,
        event: EventName::RoomDestroyed,
    };
    if !record_destroyed(&mut tx, &mut d, what, now).await? {
        // Another node finished it first: nothing of this transaction is kept.
        return Ok(d);
    }
    tx.commit().await?;
    kernel::pause_point("destruction:recorded");
    remove_blobs(app, blobs).await;
    Ok(d)
}

/// What a destruction (or a purge) destroyed, as its statement names it.
pub(crate) struct Destroyed {
    pub room: DestroyedRoom,
    pub key_ids: Vec<String>,
    pub versions: Vec<DestroyedVersion>,
    /// The key generation that wraps what stays (a purge).
    pub rekeyed_to: Option<String>,
    /// `room.destroyed` or `file.purged`.
    pub event: EventName,
}

/// Records, in `tx`, that request `d` destroyed `what` now that its key is
/// gone: the statement its certificate carries (with whose decision it was),
/// the event holding the statement's SHA-256, and the request `destroyed`.
/// Returns false when another node recorded it first (then nothing of `tx`
/// may be kept).
pub(crate) async fn record_destroyed(
    tx: &mut Tx,
    d: &mut Destruction,
    what: Destroyed,
    now: i64,
) -> Result<bool, AppError> {
    let statement = Statement {
        format: STATEMENT_FORMAT.to_owned(),
        destruction: d.id.clone(),
        room: what.room,
        key_ids: what.key_ids,
        versions: what.versions,
        reason: d.reason.clone(),
        requested_by: person(tx, d.requested_by).await?,
        requested_ms: d.requested_ms,
        approved_by: match (d.needs_approval, d.decided_by) {
            (true, Some(by)) => Some(person(tx, by).await?),
            _ => None,
        },
        executed_by: person(tx, d.executed_by.unwrap_or(d.requested_by)).await?,
        started_ms: d.started_ms.unwrap_or(now),
        destroyed_ms: now,
        rekeyed_to: what.rekeyed_to,
    };
    let text = serde_json::to_string(&statement).map_err(AppError::internal)?;
    let mut detail = json!({
        "destruction": d.id,
        "key_ids": statement.key_ids,
        "versions": statement.versions.iter().map(|v| json!({"version": v.version, "sha256": v.sha256})).collect::<Vec<_>>(),
        "statement_sha256": sha256_hex(text.as_bytes()),
    });
    if let Some(to) = &statement.rekeyed_to {
        detail["rekeyed_to"] = json!(to);
    }
    let fact = Fact::allowed(None, what.event, format!("room:{}", d.room_id)).with(detail);
    let seq = record(tx, &RequestMeta::default(), now, fact).await?;
    d.state = state::DESTROYED.to_owned();
    d.destroyed_ms = Some(now);
    d.statement = Some(text);
    d.event_seq = Some(seq);
    Ok(tx.update_destruction(d, state::DESTROYING).await?)
}

/// Removes destroyed content's blobs (housekeeping: they are unreadable
/// already); one that cannot be removed is logged and stays.
pub(crate) async fn remove_blobs(app: &App, blobs: Vec<BlobId>) {
    let store = app.blobs();
    for blob in blobs {
        match store.remove(*blob.0.as_bytes()).await {
            Ok(()) | Err(vault::VaultError::NotFound) => {}
            Err(e) => tracing::warn!(%blob, error = %e, "a destroyed blob stays (unreadable)"),
        }
    }
}

/// At start: finishes every destruction a crash interrupted (steps 2 to 4).
/// Returns how many.
pub async fn resume_destructions(app: &App) -> Result<usize, AppError> {
    let pending = app
        .store()
        .read()
        .await?
        .list_destructions(None, Some(state::DESTROYING))
        .await?;
    let count = pending.len();
    for d in pending {
        tracing::warn!(destruction = %d.id, room = %d.room_id, "finishing an interrupted destruction");
        finish(app, d).await?;
    }
    Ok(count)
}

/// The retention sweep: every live room whose retention period ended gets a
/// destruction request in the name of whoever set the period (a room at or
/// below `internal` is then destroyed at once; one above waits for a second
/// person's approval). A room under a legal hold, or with a request open, is
/// left for a later sweep. Returns the requests opened.
pub async fn retention_sweep(app: &App) -> Result<usize, AppError> {
    let now = app.now();
    let due = app.store().read().await?.rooms_past_retention(now).await?;
    let mut opened = 0;
    for room_id in due {
        let mut tx = app.store().begin().await?;
        let Some(room) = tx.get_room(room_id).await? else {
            continue;
        };
        let Some((days, setter)) = tx.room_retention(room_id).await? else {
            continue;
        };
        let reason = format!("the room's retention period of {days} days ended");
        let opened_now = open_request(
            &mut tx,
            &RequestMeta::default(),
            None,
            setter,
            &room,
            &reason,
            now,
        )
        .await;
        let d = match opened_now {
            Ok(d) => d,
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::LegalHold | ErrorCode::DestructionPending
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        if d.needs_approval {
            tx.commit().await?;
            opened += 1;
            continue;
        }
        let mut d = d;
        d.state = state::DESTROYING.to_owned();
        d.executed_by = Some(setter);
        d.started_ms = Some(now);
        if !tx.update_destruction(&d, state::REQUESTED).await? {
            continue;
        }
        tx.delete_room(room_id, now).await?;
        let fact = Fact::allowed(None, EventName::RoomDestroyStart, format!("room:{room_id}"))
            .with(json!({"destruction": d.id, "manifest_sha256": d.manifest_sha256, "decision": "retention"}));
        record(&mut tx, &RequestMeta::default(), now, fact).await?;
        tx.commit().await?;
        finish(app, d).await?;
        opened += 1;
    }
    Ok(opened)
}

/// Starts the retention sweep: every `every`, [`retention_sweep`] then the
/// purge of files ([`crate::purge::purge_sweep`]). Failures
/// are logged and retried at the next tick.
pub fn spawn_retention(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let swept = retention_sweep(&app).await;
            kernel::jobs::ran("retention_sweep", &swept);
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(requests = n, "retention sweep"),
                Err(e) => tracing::error!(error = %e, "retention sweep failed"),
            }
            let swept = crate::purge::purge_sweep(&app).await;
            kernel::jobs::ran("purge_sweep", &swept);
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(purges = n, "purge sweep"),
                Err(e) => tracing::error!(error = %e, "purge sweep failed"),
            }
        }
    })
}
