//! The audit of the stored ledger: recomputes every leaf hash from the stored
//! leaf bytes, every stored node from the leaves, the root of every stored
//! checkpoint, and checks that each `events` row encodes to its leaf's bytes,
//! that no event lacks a leaf, and that each redaction was itself recorded.
//! It reads the stored tables directly, so it finds what was changed in the
//! database behind Custody's back; it names the first bad leaf index.
//!
//! The recomputed tree is held in memory: about 64 bytes per leaf.

use std::collections::{HashMap, HashSet};

use ::ledger::{Checkpoint, EventLeaf, HashStore, MemoryStore, leaf_hash};
use kernel::authz::{Authorized, System, act};
use kernel::events::Fact;
use kernel::ledger::{AUDIT_PAGE, AuditReport, is_redaction, leaf_of};
use kernel::{Action, AppError};
use model::Event;
use store::{LeafRow, Tx};

use super::internal;
use crate::Audit;

/// Nodes read per query.
const NODE_PAGE: i64 = 5000;

impl Audit<'_> {
    /// Audits the stored ledger (admins), and records the audit and its
    /// verdict as an event (`ledger.audit`).
    pub async fn ledger_audit(
        &self,
        auth: Authorized<'_, act::LedgerAudit, System>,
    ) -> Result<AuditReport, AppError> {
        let (meta, p, _) = auth.into_parts();
        let report = self.audit_ledger().await?;
        let first = report.first().map(|f| f.message.clone());
        let detail = serde_json::json!({
            "size": report.size, "faults": report.faults.len(), "first_fault": first,
        });
        let fact = Fact::allowed(Some(p), Action::LedgerAudit, "system".into()).with(detail);
        self.record_alone(meta, fact).await?;
        Ok(report)
    }

    /// Audits the stored ledger without asking who wants it (the offline
    /// `custody ledger check`, server stopped).
    pub async fn audit_ledger(&self) -> Result<AuditReport, AppError> {
        let mut tx = self.store().read().await?;
        let mut audit = Check {
            report: AuditReport {
                size: tx.ledger_size().await?,
                ..AuditReport::default()
            },
            tree: MemoryStore::new(),
            redact_events: HashSet::new(),
            first_seq: None,
            last_seq: None,
        };
        audit.leaves(&mut tx).await?;
        audit.nodes(&mut tx).await?;
        audit.redactions(&mut tx).await?;
        if let Some(first) = audit.first_seq
            && let Some(seq) = tx.first_event_without_leaf(first).await?
        {
            audit
                .report
                .fault(None, format!("event {seq} has no leaf in the ledger"));
        }
        let verifier = match tx.latest_checkpoint().await? {
            Some(_) => Some(self.ledger_signer()?.verifier()),
            None => None,
        };
        audit.checkpoints(&mut tx, verifier.as_ref()).await?;
        let mut report = audit.report;
        // Faults about leaves first, the lowest first; the rest in found order.
        report.faults.sort_by_key(|f| f.last);
        Ok(report)
    }
}

/// One audit in progress.
struct Check {
    report: AuditReport,
    /// The tree recomputed from the stored leaf hashes.
    tree: MemoryStore,
    /// Events named by recorded `event.redact` events.
    redact_events: HashSet<i64>,
    first_seq: Option<i64>,
    last_seq: Option<i64>,
}

impl Check {
    /// Every leaf row, in index order, against its bytes and its event row.
    async fn leaves(&mut self, tx: &mut Tx) -> Result<(), AppError> {
        let size = self.report.size;
        let mut next = 0u64;
        while next < size {
            let end = next.saturating_add(AUDIT_PAGE).min(size);
            let rows = tx.ledger_leaf_rows(next, end).await?;
            let seqs: Vec<i64> = rows.iter().map(|r| r.event_seq).collect();
            let events: HashMap<i64, Event> = tx
                .events_by_seq(&seqs)
                .await?
                .into_iter()
                .map(|e| (e.seq, e))
                .collect();
            let mut rows = rows.iter().peekable();
            for index in next..end {
                match rows.next_if(|r| r.index == index) {
                    Some(row) => self.leaf(row, events.get(&row.event_seq))?,
                    None => {
                        self.report
                            .fault(Some(index), format!("leaf {index} is missing"));
                        self.push([0; 32])?;
                    }
                }
            }
            next = end;
        }
        let beyond = tx.ledger_leaf_rows(size, i64::MAX.unsigned_abs()).await?;
        if let Some(row) = beyond.first() {
            self.report.fault(
                Some(row.index),
                format!("leaf {} is beyond the ledger size {size}", row.index),
            );
        }
        Ok(())
    }

    fn push(&mut self, hash: ::ledger::Hash) -> Result<(), AppError> {
        self.tree.push(hash).map_err(internal)
    }

    fn leaf(&mut self, row: &LeafRow, event: Option<&Event>) -> Result<(), AppError> {
        let i = row.index;
        self.report.leaves += 1;
        let decoded = EventLeaf::decode(&row.leaf);
        if row.redacted {
            self.report.redacted += 1;
            if !decoded.as_ref().is_ok_and(is_redaction) {
                self.report.fault(
                    Some(i),
                    format!("leaf {i}: redacted bytes are not a redaction"),
                );
            }
        } else if leaf_hash(&row.leaf) != row.leaf_hash {
            self.report.fault(
                Some(i),
                format!("leaf {i}: stored bytes do not hash to the stored leaf hash"),
            );
        }
        if let Ok(leaf) = &decoded
            && leaf.action == Action::EventRedact.as_str()
            && let Some(seq) = leaf
                .target
                .strip_prefix("event:")
                .and_then(|t| t.parse().ok())
        {
            self.redact_events.insert(seq);
        }
        if self.last_seq.is_some_and(|last| last >= row.event_seq) {
            self.report.fault(
                Some(i),
                format!("leaf {i}: event {} is out of order", row.event_seq),
            );
        }
        self.first_seq.get_or_insert(row.event_seq);
        self.last_seq = Some(row.event_seq);
        let encoded = event.map(|e| leaf_of(e).and_then(|l| l.encode().map_err(internal)));
        match encoded {
            None => self.report.fault(
                Some(i),
                format!("leaf {i}: its event {} is missing", row.event_seq),
            ),
            Some(Ok(bytes)) if bytes == row.leaf => {}
            Some(_) => self.report.fault(
                Some(i),
                format!("leaf {i}: event {} does not match the leaf", row.event_seq),
            ),
        }
        self.push(row.leaf_hash)
    }

    /// Every stored node against the recomputed tree, and none missing.
    async fn nodes(&mut self, tx: &mut Tx) -> Result<(), AppError> {
        let size = self.report.size;
        let mut after = None;
        // The level being read and the next index expected there.
        let mut at = (0u8, 0u64);
        loop {
            let page = tx.ledger_nodes_page(after, NODE_PAGE).await?;
            for &(level, index, hash) in &page {
                self.report.nodes += 1;
                if level == at.0 {
                    self.gap(level, at.1, index);
                } else {
                    self.gap(at.0, at.1, u64::MAX);
                    for skipped in at.0.saturating_add(1)..level {
                        self.gap(skipped, 0, u64::MAX);
                    }
                    self.gap(level, 0, index);
                }
                at = (level, index.saturating_add(1));
                let (first, last) = covered(level, index);
                match self.tree.get(level, index).map_err(internal)? {
                    Some(h) if h == hash => {}
                    Some(_) => self.report.fault_over(
                        Some(first),
                        last,
                        format!("node ({level}, {index}) does not match the leaves it covers"),
                    ),
                    None => self.report.fault_over(
                        Some(first),
                        last,
                        format!("node ({level}, {index}) is beyond the ledger size {size}"),
                    ),
                }
            }
            match page.last() {
                Some(&(level, index, _)) => after = Some((level, index)),
                None => break,
            }
        }
        self.gap(at.0, at.1, u64::MAX);
        for level in at.0.saturating_add(1)..64 {
            self.gap(level, 0, u64::MAX);
        }
        Ok(())
    }

    /// Reports the first of the nodes `[from, to)` of `level` that the tree of
    /// this size has, when there is one: they are not stored.
    fn gap(&mut self, level: u8, from: u64, to: u64) {
        let end = to.min(self.report.size >> level);
        if from < end {
            let (first, last) = covered(level, from);
            self.report.fault_over(
                Some(first),
                last,
                format!("node ({level}, {from}) is missing"),
            );
        }
    }

    /// Each redaction must have been recorded by an `event.redact` event.
    async fn redactions(&mut self, tx: &mut Tx) -> Result<(), AppError> {
        for r in tx.ledger_redactions().await? {
            if !self.redact_events.contains(&r.event_seq) {
                self.report.fault(
                    Some(r.index),
                    format!("leaf {}: redacted without a recorded redaction", r.index),
                );
            }
        }
        Ok(())
    }

    /// Every stored checkpoint: signed by the ledger's key, and its root that
    /// of the stored leaves.
    async fn checkpoints(
        &mut self,
        tx: &mut Tx,
        verifier: Option<&::ledger::Verifier>,
    ) -> Result<(), AppError> {
        let mut from = 0;
        loop {
            let page = tx.list_checkpoints(from, 1000).await?;
            for stored in &page {
                self.report.checkpoints += 1;
                self.checkpoint(stored.size, &stored.note, verifier);
            }
            match page.last() {
                Some(last) => from = last.size.saturating_add(1),
                None => return Ok(()),
            }
        }
    }

    fn checkpoint(&mut self, at: u64, note: &str, verifier: Option<&::ledger::Verifier>) {
        let parsed = verifier
            .ok_or_else(|| "no verifier key".to_owned())
            .and_then(|v| v.verify(note).map_err(|e| e.to_string()))
            .and_then(|body| Checkpoint::parse(&body).map_err(|e| e.to_string()));
        let cp = match parsed {
            Ok(cp) => cp,
            Err(e) => {
                let message = format!("checkpoint {at}: signature does not verify: {e}");
                return self.report.fault(None, message);
            }
        };
        let size = self.report.size;
        if cp.size != at {
            let message = format!("checkpoint {at}: its note says size {}", cp.size);
            return self.report.fault(None, message);
        }
        if cp.size > size {
            let message = format!("checkpoint {at}: beyond the ledger size {size}");
            return self.report.fault(None, message);
        }
        match ::ledger::root(&self.tree, cp.size) {
            Ok(root) if root == cp.root => {}
            _ => self.report.fault(
                None,
                format!("checkpoint {at}: its root is not that of the stored leaves"),
            ),
        }
    }
}

/// The first and last leaf under node `(level, index)`.
fn covered(level: u8, index: u64) -> (u64, u64) {
    let width = 1u64.checked_shl(u32::from(level)).unwrap_or(u64::MAX);
    let first = index.saturating_mul(width);
    (first, first.saturating_add(width - 1))
}
