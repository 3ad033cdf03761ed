//! How copies leave a room. Each room says, per room role, whether a download
//! hands out the original bytes, a copy marked for its recipient (visible stamp
//! and forensic mark carrying a fresh mark id, recorded in the download's
//! ledger event), or nothing at all (the view-only viewer only). A file that
//! cannot be marked (a format the marks do not cover, a malformed or encrypted
//! PDF, a bomb) gets the room's fallback: deny (the default) or the original.
//!
//! The mark key that keys the forensic image marks lives in
//! `<key dir>/mark.key` (0600), created on first use; `custody trace
//! --key-file` reads it.

use std::path::Path;

use model::{Delivery, DeliveryPolicy, RoomId, RoomRole, Unmarkable, UserId};

use crate::authz::{Action, Principal};
use crate::events::RequestMeta;
use crate::{App, AppError};

/// The file under the key directory that holds the mark key.
pub const MARK_KEY_FILE: &str = "mark.key";

/// Largest file marked per download, in bytes: marking holds the whole copy
/// in memory. Larger files get the room's fallback.
pub const MAX_MARKED_BYTES: u64 = 64 << 20;

/// What a download of this role in this room hands out.
pub(crate) fn mode_for(policy: &DeliveryPolicy, role: Option<RoomRole>) -> Delivery {
    match role {
        Some(RoomRole::Viewer) => Delivery::ViewOnly,
        Some(RoomRole::Downloader) => policy.downloader,
        Some(RoomRole::Contributor) => policy.contributor,
        // Managers, and system roles acting without a grant (admins).
        Some(RoomRole::Manager) | None => policy.manager,
    }
}

/// Loads the mark key, creating it (32 random bytes, hex, 0600) on first use.
pub fn load_or_create_mark_key(key_dir: &Path) -> Result<mark::MarkKey, AppError> {
    let text = crate::secrets::load_or_create_private_file(&key_dir.join(MARK_KEY_FILE), || {
        Ok(hex::encode(crate::secrets::random::<32>()?))
    })?;
    Ok(mark::MarkKey::derive(text.trim().as_bytes()))
}

impl App {
    /// The delivery policy of a room (managers, security officers, admins).
    pub async fn room_delivery(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
    ) -> Result<DeliveryPolicy, AppError> {
        self.room_access(meta, p, id, Action::RoomUpdate).await?;
        Ok(self
            .store()
            .read()
            .await?
            .room_delivery(id)
            .await?
            .unwrap_or_default())
    }

    /// Sets the delivery policy of a room; recorded as `room.delivery`.
    pub async fn set_room_delivery(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
        policy: DeliveryPolicy,
    ) -> Result<DeliveryPolicy, AppError> {
        self.room_access(meta, p, id, Action::RoomUpdate).await?;
        // Watermarking is an owner-side condition: an external manager may
        // read it, not switch it off.
        self.room_access(meta, p, id, Action::RoomConditions)
            .await?;
        let mut tx = self.store().begin().await?;
        tx.set_room_delivery(id, &policy).await?;
        let detail = serde_json::to_value(policy).map_err(AppError::internal)?;
        let fact = crate::events::Fact::allowed(Some(p), "room.delivery", format!("room:{id}"))
            .with(detail);
        crate::events::record(&mut tx, meta, self.now(), fact).await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// The key of the forensic image marks (loaded or created on first use).
    pub fn mark_key(&self) -> Result<&mark::MarkKey, AppError> {
        if let Some(key) = self.inner.mark_key.get() {
            return Ok(key);
        }
        let key = load_or_create_mark_key(&self.inner.key_dir)?;
        Ok(self.inner.mark_key.get_or_init(|| key))
    }
}

/// The reason code and sentence of a refused unmarkable copy.
pub(crate) fn unmarkable(policy: &DeliveryPolicy, why: &str) -> Option<AppError> {
    match policy.unmarkable {
        Unmarkable::Original => None,
        Unmarkable::Deny => Some(AppError::Forbidden {
            reason: "unmarkable",
            message: format!(
                "this file cannot be watermarked ({why}), and the room hands out marked copies only"
            ),
        }),
    }
}

/// The refusal of a download in a view-only room.
pub(crate) fn view_only() -> AppError {
    AppError::Forbidden {
        reason: "view_only",
        message: "your role in this room may view the file in the viewer but not download it"
            .into(),
    }
}

/// What a traced copy carries and who received it.
#[derive(Debug)]
pub struct TraceReport {
    /// The mark id, 16 hex digits.
    pub mark_id: String,
    /// Which mark it was read from (`pdf-metadata`, `image-forensic`, …).
    pub kind: &'static str,
    /// 1 − the bound on the chance of this reading on unmarked content.
    pub confidence: f64,
    pub detail: String,
    /// The events that issued the mark, as the ledger's entries decode them.
    pub issued_by: Vec<serde_json::Value>,
    /// Who received the copy: the actor of each issuing event, in order, as
    /// the accounts stand now (`None` for an event without a user).
    pub recipients: Vec<Option<Recipient>>,
    /// Those events with inclusion proofs, a signed checkpoint and the verifier key.
    pub evidence: Option<crate::ledger::Bundle>,
}

/// The user an issuing event names, with the party, as stored now.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Recipient {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub party_id: String,
    pub party_name: String,
}

/// Proof that the caller may trace a copy, decided before the copy is read:
/// a caller who may not trace is refused without the server reading the
/// upload. Only [`App::permit_trace`] makes one; [`App::trace_copy`] takes it.
#[derive(Debug)]
#[non_exhaustive]
pub struct TracePermit {
    /// The largest copy the mark reader takes, in bytes: the edge reads no more.
    pub max_bytes: u64,
}

impl App {
    /// Decides whether `p` may trace a copy (security officers, auditors,
    /// admins); a denial is recorded like any other.
    pub async fn permit_trace(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<TracePermit, AppError> {
        self.check_system(meta, p, Action::EventRead).await?;
        Ok(TracePermit {
            max_bytes: mark::Limits::default().max_input_bytes,
        })
    }

    /// Reads the mark `content` carries and finds the events that issued it,
    /// with the ledger evidence. The caller was permitted first
    /// ([`App::permit_trace`]). Recorded as `mark.trace`.
    pub async fn trace_copy(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        permit: TracePermit,
        content: Vec<u8>,
    ) -> Result<TraceReport, AppError> {
        let TracePermit { max_bytes, .. } = permit;
        let limits = mark::Limits {
            max_input_bytes: max_bytes,
            ..mark::Limits::default()
        };
        let key = self.mark_key()?.clone();
        let read = tokio::task::spawn_blocking(move || mark::trace(&content, Some(&key), &limits))
            .await
            .map_err(AppError::internal)?;
        let reading = match read {
            Ok(Some(t)) => t,
            Ok(None) => {
                let fact =
                    crate::events::Fact::denied(Some(p), "mark.trace", "system".into(), "no_mark");
                self.record_alone(meta, fact).await?;
                return Err(AppError::invalid(
                    "no_mark",
                    "the file carries no watermark that Custody can read",
                ));
            }
            Err(e) => {
                let fact =
                    crate::events::Fact::denied(Some(p), "mark.trace", "system".into(), e.code());
                self.record_alone(meta, fact).await?;
                return Err(AppError::invalid(e.code(), e.to_string()));
            }
        };
        let mark_id = reading.mark_id.to_string();
        let found = self.store().read().await?.events_by_mark(&mark_id).await?;
        let evidence = if found.is_empty() {
            None
        } else {
            let filter = crate::events::EventFilter {
                mark_id: Some(mark_id.clone()),
                ..Default::default()
            };
            Some(self.ledger_bundle(meta, p, filter).await?)
        };
        let issued_by: Vec<serde_json::Value> = match &evidence {
            Some(b) => b.entries.iter().map(|e| e.event.clone()).collect(),
            None => vec![],
        };
        let mut recipients = Vec::with_capacity(issued_by.len());
        let mut tx = self.store().read().await?;
        for event in &issued_by {
            let user = match event["actor_user"].as_str().map(str::parse::<UserId>) {
                Some(Ok(id)) => tx.get_user(id).await?,
                _ => None,
            };
            let Some(user) = user else {
                recipients.push(None);
                continue;
            };
            let party = tx.get_party(user.party_id).await?;
            recipients.push(Some(Recipient {
                user_id: user.id.to_string(),
                email: user.email,
                name: user.display_name,
                party_id: user.party_id.to_string(),
                party_name: party.map(|p| p.name).unwrap_or_default(),
            }));
        }
        drop(tx);
        let detail = serde_json::json!({
            "mark_id": mark_id, "kind": reading.kind.name(), "issues_found": issued_by.len(),
        });
        let fact =
            crate::events::Fact::allowed(Some(p), "mark.trace", "system".into()).with(detail);
        self.record_alone(meta, fact).await?;
        Ok(TraceReport {
            mark_id,
            kind: reading.kind.name(),
            confidence: reading.confidence,
            detail: reading.detail,
            issued_by,
            recipients,
            evidence,
        })
    }
}
