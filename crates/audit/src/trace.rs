//! Tracing a leaked copy (security officers, auditors, admins; `event.read`):
//! the mark it carries is read with the server's mark key, the events that
//! issued it are found with their ledger evidence (an evidence bundle), and
//! the accounts that received it are named as they stand now. Whether the
//! caller may trace is decided before the copy is read ([`TracePermit`]).

use kernel::authz::{Authorized, System, act};
use kernel::events::{EventFilter, Fact};
use kernel::ledger::Bundle;
use kernel::{AppError, ErrorCode, EventName};
use model::UserId;

use crate::Audit;

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
    pub evidence: Option<Bundle>,
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

/// Permission to trace a copy, decided before the copy is read: a caller who
/// may not trace is refused without the server reading the upload. Made by
/// [`Audit::permit_trace`] from the seam's proof; [`Audit::trace_copy`] takes it.
pub struct TracePermit<'a> {
    auth: Authorized<'a, act::EventRead, System>,
    /// The largest copy the mark reader takes, in bytes: the edge reads no more.
    pub max_bytes: u64,
}

impl std::fmt::Debug for TracePermit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracePermit")
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl Audit<'_> {
    /// The permission to trace a copy (security officers, auditors, admins),
    /// and how large a copy may be read.
    pub fn permit_trace<'a>(
        &self,
        auth: Authorized<'a, act::EventRead, System>,
    ) -> TracePermit<'a> {
        TracePermit {
            auth,
            max_bytes: mark::Limits::default().max_input_bytes,
        }
    }

    /// Reads the mark `content` carries and finds the events that issued it,
    /// with the ledger evidence. The caller was permitted first
    /// ([`Audit::permit_trace`]). Recorded as `mark.trace`.
    pub async fn trace_copy(
        &self,
        permit: TracePermit<'_>,
        content: Vec<u8>,
    ) -> Result<TraceReport, AppError> {
        let TracePermit { auth, max_bytes } = permit;
        let (meta, p, _) = auth.into_parts();
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
                let fact = Fact::denied(Some(p), EventName::MarkTrace, "system".into(), "no_mark");
                self.record_alone(meta, fact).await?;
                return Err(AppError::invalid(
                    ErrorCode::NoMark,
                    "the file carries no watermark that Custody can read",
                ));
            }
            Err(e) => {
                let fact = Fact::denied(Some(p), EventName::MarkTrace, "system".into(), e.code());
                self.record_alone(meta, fact).await?;
                return Err(mark_error(e));
            }
        };
        let mark_id = reading.mark_id.to_string();
        let found = self.store().read().await?.events_by_mark(&mark_id).await?;
        let evidence = if found.is_empty() {
            None
        } else {
            let filter = EventFilter {
                mark_id: Some(mark_id.clone()),
                ..Default::default()
            };
            // The bundle is decided on its own, as a call of its own would be.
            let bundle = self.system(meta, p, act::EventRead).await?;
            Some(self.ledger_bundle(bundle, filter).await?)
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
        let fact = Fact::allowed(Some(p), EventName::MarkTrace, "system".into()).with(detail);
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

/// Why a copy could not be read, as the caller should see it: the copy's
/// fault is a bad request with the mark crate's code. Reading takes no style
/// and encodes nothing, so the other two are ours.
fn mark_error(e: mark::MarkError) -> AppError {
    use mark::MarkError;
    let code = match &e {
        MarkError::Unsupported(_) => ErrorCode::MarkUnsupported,
        MarkError::TooLarge { .. } => ErrorCode::MarkTooLarge,
        MarkError::BadImage(_) => ErrorCode::MarkBadImage,
        MarkError::BadPdf(_) => ErrorCode::MarkBadPdf,
        MarkError::EncryptedPdf => ErrorCode::MarkEncryptedPdf,
        MarkError::BadText => ErrorCode::MarkBadText,
        MarkError::BadStyle(_) | MarkError::Encode(_) => {
            return AppError::internal(format!("reading a mark: {e}"));
        }
    };
    AppError::invalid(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mark::MarkError;

    /// The catalogue's code of each refusal is the mark crate's own string.
    #[test]
    fn unreadable_copies_keep_the_mark_codes() {
        let check = |e: MarkError, internal: bool| {
            let want = if internal { "internal" } else { e.code() };
            assert_eq!(mark_error(e).code().as_str(), want);
        };
        check(MarkError::Unsupported("x".into()), false);
        let too_large = MarkError::TooLarge {
            what: "bytes",
            limit: 1,
            actual: 2,
        };
        check(too_large, false);
        check(MarkError::BadImage("x".into()), false);
        check(MarkError::BadPdf("x".into()), false);
        check(MarkError::EncryptedPdf, false);
        check(MarkError::BadText, false);
        check(MarkError::BadStyle("x".into()), true);
        check(MarkError::Encode("x".into()), true);
    }
}
