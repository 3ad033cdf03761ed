//! The transaction and every query the product runs. The queries live in one
//! submodule per group of tables; this file holds the transaction itself and the
//! helpers they share.

mod accounts;
mod agreements;
mod alerts;
mod assessments;
mod attestations;
mod certifications;
mod conditions;
mod courses;
mod delivery;
mod destruction;
mod dlp;
mod events;
mod files;
mod guesses;
mod import;
mod incidents;
mod jewels;
mod labels;
mod ledger;
mod links;
mod outbox;
mod policies;
mod purge;
mod reviews;
mod rooms;
mod scim;
mod search;
mod siem;
mod upload_requests;

use model::*;
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use std::sync::Arc;

use crate::durability::Durability;
use crate::{Backend, StoreError};

pub use accounts::Offboarded;
pub use alerts::WatchState;
pub use attestations::{AttestationCode, FilePlace};
pub use certifications::{DueReminder, SharedFile};
pub use destruction::{Destruction, LegalHold, RoomVersion};
pub use dlp::{AvVerdict, DlpHold, HoldState, StoredVerdict};
pub use events::EventFilter;
pub use jewels::CrownJewel;
pub use labels::{LabelIds, Labels};
pub use ledger::{LeafRow, LedgerLeaf, LedgerNode, NewLeaf, Redaction, StoredCheckpoint};
pub use links::{LinkCode, LinkSignature};
pub use outbox::{AttemptOutcome, ClaimedMail, NewMail, OutboxCounts, OutboxEntry};
pub use policies::PolicyVersion as StoredPolicyVersion;
pub use purge::{PurgeCandidate, PurgeSettings};
pub use reviews::{PartyReview, RoomActivity, ScopedGrant};
pub use scim::{ScimGroup, ScimMapping, ScimToken, ScimUser};
pub use upload_requests::{ReceivedFile, UploadCode};

/// An open transaction. All reads and writes go through it.
///
/// A write that fails with [`StoreError::Conflict`] leaves the transaction usable
/// on both backends (PostgreSQL runs such writes under a savepoint), so the caller
/// can still record the failure and commit.
///
/// A transaction that ends without a successful `commit` (dropped, or its
/// `COMMIT` failed) has its `ROLLBACK` queued on its connection, and the pool
/// hands the connection out again only once sqlx counts no transaction on it
/// (`lib.rs`, `reusable`): when that rollback fails,
/// the connection is closed. SQLite ends a transaction itself when its
/// `COMMIT` (or a write) fails for a full disk or an I/O error, then refuses
/// the `ROLLBACK`, and sqlx went on counting a transaction that no longer
/// existed: every later `BEGIN` on that connection failed.
pub struct Tx {
    inner: Transaction<'static, Any>,
    backend: Backend,
    /// An SQLite write transaction: its place in the write queue and the
    /// group commit it joins.
    group: Option<GroupCommit>,
}

/// What an SQLite write transaction holds until it commits.
pub(crate) struct GroupCommit {
    pub(crate) durability: Arc<Durability>,
    pub(crate) gate: tokio::sync::OwnedMutexGuard<()>,
}

/// A version about to be recorded; the store assigns its number.
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub id: VersionId,
    pub blob_id: BlobId,
    pub size: i64,
    pub sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub kek_id: String,
    pub uploaded_by: UserId,
    pub created_ms: i64,
}

impl Tx {
    pub(crate) fn new(
        inner: Transaction<'static, Any>,
        backend: Backend,
        group: Option<GroupCommit>,
    ) -> Tx {
        Tx {
            inner,
            backend,
            group,
        }
    }

    /// Commits; returns once the transaction is durable. An SQLite write
    /// transaction lets the next writer in as soon as `COMMIT` returns, then
    /// waits for a WAL sync that started after it (one sync serves every
    /// commit that returned before it began). A failed `COMMIT` is never
    /// acknowledged and waits for no sync; its rollback is queued (see
    /// [`Tx`]).
    pub async fn commit(self) -> Result<(), StoreError> {
        let Tx { inner, group, .. } = self;
        let Some(GroupCommit { durability, gate }) = group else {
            inner.commit().await?;
            return Ok(());
        };
        let ticket = durability.issue();
        inner.commit().await?;
        let need = ticket.number();
        drop(ticket);
        drop(gate);
        durability.wait(need).await
    }

    /// The connection the transaction runs on.
    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    /// Runs a write that may break a uniqueness rule. On PostgreSQL a failed
    /// statement aborts the whole transaction, so the write runs under a savepoint
    /// that is rolled back on failure: the transaction stays usable, as on SQLite.
    async fn execute_guarded(
        &mut self,
        query: Query<'static, Any, AnyArguments>,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        if self.backend != Backend::Postgres {
            return query.execute(self.conn()).await;
        }
        sql("SAVEPOINT store_guard").execute(self.conn()).await?;
        match query.execute(self.conn()).await {
            Ok(done) => {
                sql("RELEASE SAVEPOINT store_guard")
                    .execute(self.conn())
                    .await?;
                Ok(done)
            }
            Err(err) => {
                sql("ROLLBACK TO SAVEPOINT store_guard")
                    .execute(self.conn())
                    .await?;
                Err(err)
            }
        }
    }
}

/// A statement over the `Any` driver; placeholders are `$1, $2 …` on both backends.
fn sql(text: &'static str) -> Query<'static, Any, AnyArguments> {
    sqlx::query(text)
}

/// Converts a boolean to the 0/1 it is stored as.
fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Fails with "row not found" when an update touched nothing.
fn touched(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::Database(sqlx::Error::RowNotFound))
    } else {
        Ok(())
    }
}

/// Maps a unique violation to [`StoreError::Conflict`]: the label of the first
/// `(marker, label)` whose marker appears in the violated constraint's name or the
/// error message (an empty marker always matches). Other errors pass through.
fn unique(err: sqlx::Error, labels: &[(&str, &'static str)]) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        let constraint = db.constraint().unwrap_or_default();
        let message = db.message();
        let hit = labels
            .iter()
            .find(|(marker, _)| constraint.contains(marker) || message.contains(marker));
        if let Some(&(_, label)) = hit {
            return StoreError::Conflict(label);
        }
    }
    StoreError::from(err)
}
