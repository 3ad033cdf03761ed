//! The tamper-evident ledger served to auditors, security officers and admins
//! (`event.read`): the verifier key, signed checkpoints, entries with their
//! exact leaf bytes, inclusion and consistency proofs, the stored checkpoints
//! and evidence bundles; plus the audit of the stored log and redaction
//! (admins). The mechanics (appending leaves, signing checkpoints, proving
//! against stored nodes) are the kernel's (`kernel::ledger`).

mod audit;
mod redact;

use ::ledger::{Checkpoint, HashStore, leaf_hash};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kernel::authz::{Authorized, System, act};
use kernel::events::{EventFilter, Fact, check_filter};
use kernel::ledger::{Bundle, BundleEntry, MAX_ENTRIES, StoredCheckpoint};
use kernel::{AppError, ConsistencyProof, ErrorCode, EventName, InclusionProof};

use crate::Audit;

/// Stored checkpoints as people check them.
#[derive(Clone, Debug)]
pub struct CheckpointReport {
    /// The verifier key text (`name+id+key`).
    pub verifier_key: String,
    /// The largest first.
    pub items: Vec<CheckedCheckpoint>,
    /// The `below_size` of the next, older page, when there may be one.
    pub older: Option<u64>,
}

/// A stored checkpoint and whether it checks.
#[derive(Clone, Debug)]
pub struct CheckedCheckpoint {
    pub size: u64,
    pub created_ms: i64,
    /// The root hash it signs (standard base64), when it checks.
    pub root: Option<String>,
    /// Why it does not check: a signature that does not verify with the
    /// ledger's key, another origin, or a size other than the stored one.
    pub signature: Result<(), String>,
    /// The signed note itself.
    pub note: String,
}

/// An internal error of the ledger, its detail prefixed as the kernel's are.
pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("ledger: {e}"))
}

impl Audit<'_> {
    /// The verifier key text of the ledger (signed-note `name+id+key` form).
    pub async fn ledger_verifier_key(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
    ) -> Result<String, AppError> {
        Ok(self.ledger_signer()?.verifier().to_key_text())
    }

    /// A signed checkpoint of the ledger as it is now (see
    /// [`kernel::App::sign_checkpoint`]).
    pub async fn ledger_checkpoint(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
    ) -> Result<String, AppError> {
        self.sign_checkpoint().await
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn ledger_inclusion_proof(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        index: u64,
        size: u64,
    ) -> Result<InclusionProof, AppError> {
        let proof = move |s: &dyn HashStore| {
            Ok((
                ::ledger::inclusion_proof(s, index, size)?,
                ::ledger::root(s, size)?,
            ))
        };
        let (hashes, root) = self.prove(size, proof).await?;
        Ok(InclusionProof {
            index,
            size,
            root,
            hashes,
        })
    }

    /// The consistency proof from the tree of `old` leaves to that of `new`.
    pub async fn ledger_consistency_proof(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyProof, AppError> {
        let proof = move |s: &dyn HashStore| ::ledger::consistency_proof(s, old, new);
        let hashes = self.prove(new, proof).await?;
        Ok(ConsistencyProof { old, new, hashes })
    }

    /// The entries with `from <= index < to` (at most [`MAX_ENTRIES`]), as
    /// export lines. Entries past the end of the log are simply absent.
    pub async fn ledger_entries(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        from: u64,
        to: u64,
    ) -> Result<Vec<BundleEntry>, AppError> {
        if to < from {
            return Err(AppError::invalid(
                ErrorCode::LedgerSizeOrder,
                format!("`to` {to} is smaller than `from` {from}"),
            ));
        }
        if to - from > MAX_ENTRIES {
            return Err(AppError::invalid(
                ErrorCode::LedgerRangeTooLarge,
                format!("at most {MAX_ENTRIES} entries per call"),
            ));
        }
        let rows = self
            .store()
            .read()
            .await?
            .ledger_leaf_rows(from, to)
            .await?;
        rows.iter()
            .map(|row| {
                if !row.redacted && leaf_hash(&row.leaf) != row.leaf_hash {
                    return Err(internal(format!(
                        "entry {}: stored hash differs",
                        row.index
                    )));
                }
                BundleEntry::of_row(row)
            })
            .collect()
    }

    /// Stored checkpoints with `size >= from_size`, smallest first, at most 1000.
    pub async fn ledger_checkpoints(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        from_size: u64,
    ) -> Result<Vec<StoredCheckpoint>, AppError> {
        let mut tx = self.store().read().await?;
        Ok(tx.list_checkpoints(from_size, 1000).await?)
    }

    /// The stored checkpoints below `below_size` (all when `None`), the
    /// largest first, at most `limit` (1–1000), each checked against the
    /// ledger's verifier key: its signature, its origin and its size.
    pub async fn ledger_checkpoint_report(
        &self,
        _auth: Authorized<'_, act::EventRead, System>,
        below_size: Option<u64>,
        limit: i64,
    ) -> Result<CheckpointReport, AppError> {
        let limit = limit.clamp(1, 1000);
        let stored = self
            .store()
            .read()
            .await?
            .latest_checkpoints(below_size, limit)
            .await?;
        let verifier = self.ledger_signer()?.verifier();
        let full = i64::try_from(stored.len()).unwrap_or(i64::MAX) >= limit;
        let older = full.then(|| stored.last().map(|c| c.size)).flatten();
        let items = stored
            .into_iter()
            .map(|c| {
                let checked = verifier
                    .verify(&c.note)
                    .map_err(|e| e.to_string())
                    .and_then(|body| Checkpoint::parse(&body).map_err(|e| e.to_string()))
                    .and_then(|cp| {
                        if cp.origin != verifier.name() {
                            Err(format!("origin `{}` is not the key's name", cp.origin))
                        } else if cp.size != c.size {
                            Err(format!(
                                "it says size {} where it is stored as {}",
                                cp.size, c.size
                            ))
                        } else {
                            Ok(cp.root)
                        }
                    });
                CheckedCheckpoint {
                    size: c.size,
                    created_ms: c.created_ms,
                    root: checked.as_ref().ok().map(|r| STANDARD.encode(r)),
                    signature: checked.map(|_| ()),
                    note: c.note,
                }
            })
            .collect();
        Ok(CheckpointReport {
            verifier_key: verifier.to_key_text(),
            items,
            older,
        })
    }

    /// An evidence bundle of the events `filter` keeps (at most [`MAX_ENTRIES`]):
    /// each entry with its inclusion proof against a checkpoint signed now.
    /// The export is itself recorded (`ledger.export`).
    pub async fn ledger_bundle(
        &self,
        auth: Authorized<'_, act::EventRead, System>,
        mut filter: EventFilter,
    ) -> Result<Bundle, AppError> {
        let (meta, p, _) = auth.into_parts();
        check_filter(&filter)?;
        filter.limit = filter
            .limit
            .clamp(1, i64::try_from(MAX_ENTRIES).unwrap_or(i64::MAX));
        let mut tx = self.store().read().await?;
        let seqs: Vec<i64> = tx
            .search_events(&filter)
            .await?
            .iter()
            .map(|e| e.seq)
            .collect();
        drop(tx);
        let bundle = self.evidence_of(&seqs).await?;
        let size = Checkpoint::parse(
            &self
                .ledger_signer()?
                .verifier()
                .verify(&bundle.checkpoint)
                .map_err(internal)?,
        )
        .map_err(internal)?
        .size;
        let detail = serde_json::json!({"entries": bundle.entries.len(), "size": size});
        let fact = Fact::allowed(Some(p), EventName::LedgerExport, "system".into()).with(detail);
        self.record_alone(meta, fact).await?;
        Ok(bundle)
    }
}

#[cfg(test)]
mod tests;
