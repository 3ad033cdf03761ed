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

/// Longest accepted reason, in characters.
pub const MAX_REASON: usize = 500;

impl Audit<'_> {
    /// Redacts event `seq` for `reason`.
    pub async fn redact_event(
        &self,
        auth: Authorized<'_, act::EventRedact, System>,
        seq: i64,
        reason: &str,
    ) -> Result<RedactionDone, AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(AppError::invalid(
                ErrorCode::BadReason,
                format!("give a reason of 1 to {MAX_REASON} characters"),
            ));
        }
        let mut tx = self.store().begin().await?;
        let event = tx.event(seq).await?.ok_or(AppError::NotFound)?;
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
