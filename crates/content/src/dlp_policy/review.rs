//! Quarantine review: the versions held by a room's inbound policy wait for a
//! security officer or admin of the owner party, who releases one (it becomes
//! the newest version of its file, visible as any other) or rejects it (it
//! stays encrypted at rest for the record, like a deleted file's versions,
//! and is never shown). Each decision is taken once and recorded
//! (`dlp.release`, `dlp.reject`) with the decision in one transaction.
//!
//! A version held because the antivirus found malware in it is never read by
//! anyone, its reviewer included (`av_infected`), and cannot be released
//! (`av_not_releasable`): it can only be rejected. A false positive is
//! settled by correcting clamd's signatures and uploading the file again.

use futures_util::StreamExt;
use kernel::events::{Fact, record};
use kernel::secrets::random;
use kernel::{AppError, Authorized, ErrorCode, EventName, System, act};
use model::{File, FileId, RoomId, UserId, VersionId};
use store::{DlpHold, HoldState};

use crate::{Download, FileInfo, Rooms};

/// Most holds one listing returns.
const MAX_LISTED: i64 = 500;

/// A version held for review, as the API shows it.
#[derive(Clone, Debug)]
pub struct HeldUpload {
    pub version_id: VersionId,
    pub room_id: RoomId,
    /// The room's name, for people.
    pub room_name: String,
    pub path: String,
    pub size: i64,
    pub sha256: Vec<u8>,
    pub uploaded_by: UserId,
    /// The uploader's e-mail, for people.
    pub uploader_email: String,
    pub created_ms: i64,
    /// Why it is held: the action and the findings' redacted summary.
    pub reason: serde_json::Value,
    /// `held`, `released` or `rejected`.
    pub state: &'static str,
    pub decided_by: Option<UserId>,
    pub decided_ms: Option<i64>,
    pub note: Option<String>,
    /// The malware signature clamd found, when it is held as infected.
    pub signature: Option<String>,
}

impl From<DlpHold> for HeldUpload {
    fn from(h: DlpHold) -> Self {
        HeldUpload {
            version_id: h.version.id,
            room_id: h.room_id,
            room_name: h.room_name,
            path: h.path,
            size: h.version.size,
            sha256: h.version.sha256,
            uploaded_by: h.version.uploaded_by,
            uploader_email: h.uploader_email,
            created_ms: h.created_ms,
            reason: serde_json::from_str(&h.reason).unwrap_or(serde_json::Value::Null),
            state: h.state.as_str(),
            decided_by: h.decided_by,
            decided_ms: h.decided_ms,
            note: h.note,
            signature: h.signature,
        }
    }
}

/// A security officer's decision on a held version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    Release,
    Reject,
}

impl Rooms<'_> {
    /// The versions waiting for review, oldest first; with `all`, decided ones
    /// too (security officers and admins of the owner party).
    pub async fn list_quarantine(
        &self,
        auth: Authorized<'_, act::DlpReview, System>,
        all: bool,
    ) -> Result<Vec<HeldUpload>, AppError> {
        let _ = auth.into_parts();
        let state = (!all).then_some(HoldState::Held);
        let holds = self
            .store()
            .read()
            .await?
            .list_holds(state, MAX_LISTED)
            .await?;
        Ok(holds.into_iter().map(HeldUpload::from).collect())
    }

    /// The content of a version still held, for its reviewer (security
    /// officers, admins); recorded as `dlp.review_read`.
    pub async fn held_content(
        &self,
        auth: Authorized<'_, act::DlpReview, System>,
        version: VersionId,
    ) -> Result<Download, AppError> {
        let (meta, p, _) = auth.into_parts();
        let hold = self.store().read().await?.get_hold(version).await?;
        let Some(hold) = hold.filter(|h| h.state == HoldState::Held) else {
            return Err(AppError::NotFound);
        };
        if let Some(signature) = hold.signature {
            return Err(infected_unreadable(signature));
        }
        let v = hold.version;
        let file = File {
            id: v.file_id,
            room_id: hold.room_id,
            path: hold.path,
            created_ms: hold.created_ms,
            current: None,
        };
        let chunks = crate::files::plaintext(self, meta, p, &file, &v).await?;
        let detail = serde_json::json!({"path": file.path, "room": file.room_id.to_string(),
            "sha256": hex::encode(&v.sha256)});
        let fact = Fact::allowed(
            Some(p),
            EventName::DlpReviewRead,
            format!("version:{version}"),
        );
        self.record_alone(meta, fact.with(detail)).await?;
        let body = futures_util::stream::unfold(chunks, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        })
        .boxed();
        Ok(Download {
            info: FileInfo {
                id: file.id,
                room_id: file.room_id,
                path: file.path,
                size: v.size,
                sha256: v.sha256,
                version: v.number,
                version_id: v.id,
                updated_ms: v.created_ms,
            },
            range: None,
            body,
            mark_id: None,
        })
    }

    /// Releases or rejects a held version; recorded as `dlp.release` or
    /// `dlp.reject` with the note. A version decided already is a conflict.
    pub async fn review_held(
        &self,
        auth: Authorized<'_, act::DlpReview, System>,
        version: VersionId,
        review: Review,
        note: Option<&str>,
    ) -> Result<HeldUpload, AppError> {
        let (meta, p, _) = auth.into_parts();
        let note = super::justification(note)?;
        let note = note.as_ref().map(model::Justification::as_str);
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let hold = tx.get_hold(version).await?.ok_or(AppError::NotFound)?;
        if let (Review::Release, Some(signature)) = (review, &hold.signature) {
            return Err(AppError::invalid(
                ErrorCode::AvNotReleasable,
                format!(
                    "this upload cannot be released: the antivirus found malware in it \
                     (`{signature}`); reject it"
                ),
            ));
        }
        let state = match review {
            Review::Release => HoldState::Released,
            Review::Reject => HoldState::Rejected,
        };
        if !tx.decide_hold(version, state, p.user_id, now, note).await? {
            return Err(AppError::Conflict("a decision on this upload"));
        }
        let mut detail = serde_json::json!({
            "version_id": version.to_string(), "room": hold.room_id.to_string(),
            "path": hold.path, "note": note, "uploaded_by": hold.version.uploaded_by.to_string(),
        });
        let fact = match review {
            Review::Release => {
                let fresh = FileId::from_random(random()?);
                let live = tx.ensure_file(hold.room_id, &hold.path, fresh, now).await?;
                let moved = tx.move_version(version, live).await?;
                detail["version"] = serde_json::json!(moved.number);
                Fact::allowed(Some(p), EventName::DlpRelease, format!("file:{live}"))
            }
            Review::Reject => {
                Fact::allowed(Some(p), EventName::DlpReject, format!("version:{version}"))
            }
        };
        record(&mut tx, meta, now, fact.with(detail)).await?;
        let decided = tx.get_hold(version).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(decided.into())
    }
}

/// The refusal to read a held infected version.
pub(crate) fn infected_unreadable(signature: String) -> AppError {
    AppError::Infected {
        message: format!(
            "this upload is held because the antivirus found malware in it (`{signature}`); \
             nobody may read it, and it can only be rejected"
        ),
        signature,
    }
}
