//! Redaction: removes the personal data of one recorded event (source address,
//! user agent, free-text detail) from its `events` row and its leaf bytes,
//! keeping the leaf's original hash so the tree and every checkpoint still
//! verify, and records the redaction as an event of its own (a new leaf).
//!
//! Admins only (`event.redact`): it rewrites audit evidence, so the roles that
//! read the log (security officers, auditors) cannot also edit it.

use kernel::authz::{Authorized, System, act};
use kernel::events::{Fact, record};
use kernel::ledger::{RedactionDone, leaf_of, redacted};
use kernel::{Action, AppError, ErrorCode};
use store::Redaction;

use super::internal;
use crate::Audit;

impl Audit<'_> {
    /// Redacts event `seq` for `reason`.
    pub async fn redact_event(
        &self,
        auth: Authorized<'_, act::EventRedact, System>,
        seq: i64,
        reason: &str,
    ) -> Result<RedactionDone, AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = kernel::check_reason(reason)?;
        let reason = reason.as_str();
        let mut tx = self.store().begin().await?;
        let event = tx.event(seq).await?.ok_or(AppError::NotFound)?;
        refuse_if_held(&mut tx, &event).await?;
        let row = tx
            .ledger_leaves_of_events(&[seq])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                AppError::invalid(
                    ErrorCode::EventNotInLedger,
                    format!("event {seq} was recorded before the ledger and cannot be redacted"),
                )
            })?;
        if row.redacted {
            return Err(AppError::Conflict("redaction"));
        }
        let clean = redacted(&event);
        let bytes = leaf_of(&clean)?.encode().map_err(internal)?;
        tx.redact_event_row(seq, &clean).await?;
        let redaction = Redaction {
            index: row.index,
            event_seq: seq,
            reason: reason.to_owned(),
            redacted_by: p.user_id.to_string(),
            redacted_ms: self.now(),
        };
        tx.ledger_redact(&redaction, &bytes).await?;
        let detail = serde_json::json!({"index": row.index, "reason": reason});
        let fact = Fact::allowed(Some(p), Action::EventRedact, format!("event:{seq}")).with(detail);
        let redaction_seq = record(&mut tx, meta, self.now(), fact).await?;
        tx.commit().await?;
        Ok(RedactionDone {
            seq,
            index: row.index,
            redaction_seq,
        })
    }
}

/// Refuses with `legal_hold` to redact an event a legal hold in force covers:
/// one on its room (the room or file it targets), or on its actor's party.
async fn refuse_if_held(tx: &mut store::Tx, event: &model::Event) -> Result<(), AppError> {
    let room = match event.target.split_once(':') {
        Some(("room", id)) => id.parse().ok(),
        Some(("file", id)) => match id.parse() {
            Ok(file) => tx.file_room(file).await?,
            Err(_) => None,
        },
        _ => None,
    };
    let mut holds = match room {
        Some(room) => tx.holds_on_room(room).await?,
        None => vec![],
    };
    if let Some(party) = event.actor_party {
        holds.extend(tx.holds_on_party(party).await?);
    }
    if let Some(hold) = holds.first() {
        return Err(AppError::invalid(
            ErrorCode::LegalHold,
            format!(
                "a legal hold covers this event (set for: {}); it cannot be redacted until a security officer releases the hold",
                hold.reason
            ),
        ));
    }
    Ok(())
}
