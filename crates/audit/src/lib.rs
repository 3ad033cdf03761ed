//! The audit use-cases: the recorded events and the tamper-evident ledger as
//! auditors, security officers and admins read them (listing and searching
//! events, the verifier key, checkpoints, entries, proofs, evidence bundles),
//! the audit of the stored ledger and redaction (admins), and tracing a
//! leaked copy back to the download that issued it. One service over the
//! kernel's [`App`], [`Audit`]; each use-case that reads protected state
//! takes the seam's proof (`kernel::Authorized`) for its action. Also the
//! SIEM forwarder ([`siem`]), a background task that takes no proof.
//!
//! The ledger's mechanics (appending leaves, signing checkpoints, proving
//! against the stored nodes) stay in the kernel (`kernel::ledger`), because
//! every domain records events.

pub mod alerts;
mod explore;
mod ledger;
mod search;
pub mod siem;
mod trace;

use kernel::App;

pub use alerts::{Alerts, Feedback, NamedAlert};
pub use explore::{ExploreQuery, Explored, ExploredEvent};
pub use ledger::{CheckedCheckpoint, CheckpointReport};
pub use trace::{Recipient, TracePermit, TraceReport};

/// The audit trail: events listed and searched, the ledger's entries, proofs,
/// checkpoints and evidence bundles, the audit of the stored ledger,
/// redaction, and tracing a leaked copy.
#[derive(Clone, Copy)]
pub struct Audit<'a>(pub &'a App);

impl std::ops::Deref for Audit<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}
