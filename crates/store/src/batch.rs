//! Batches of events that change nothing but the log, appended with their
//! ledger leaves in one transaction ([`Store::append_batch`]).
//!
//! On SQLite the batch runs on a connection of its own, owned by one thread
//! that prepares its statements once and runs them one row at a time: no
//! multi-row statement to assemble and bind, and no hand-off between the
//! async side and the database thread per statement (through sqlx's `Any`
//! driver each statement is a round trip to its connection's worker thread,
//! which cost more than SQLite's own work). The batch still queues at the
//! store's write gate with every other writer, takes SQLite's write lock with
//! `BEGIN IMMEDIATE`, holds a group-commit ticket across its `COMMIT` and
//! waits for the WAL sync that covers it, exactly as [`crate::Tx::commit`]
//! does: order and durability are the same as for any write transaction.
//!
//! On PostgreSQL (and an in-memory SQLite database, which a second
//! connection cannot reach) the batch is an ordinary [`crate::Tx`].

use std::path::Path;
use std::sync::Arc;

use model::Event;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::conn_thread::ConnThread;
use crate::durability::Durability;
use crate::{LedgerNode, NewLeaf, Store, StoreError};

/// Computes a batch's leaves and the nodes their appends make, from the
/// events' `seq`s (in batch order), the index of the batch's first leaf and
/// the stored hashes of [`ledger_frontier`]`(first)` (those stored; in that
/// order). Runs inside the transaction, on the database's thread.
pub type BuildLeaves = Box<
    dyn FnOnce(&[i64], u64, &[LedgerNode]) -> Result<(Vec<NewLeaf>, Vec<LedgerNode>), String>
        + Send,
>;

/// The perfect subtrees on the right edge of a tree of `size` leaves, as
/// `(level, index)`, largest first: all an append at `size` reads that the
/// appends after it do not compute themselves.
pub fn ledger_frontier(size: u64) -> Vec<(u8, u64)> {
    (0..64u8)
        .rev()
        .filter(|&level| (size >> level) & 1 == 1)
        .map(|level| (level, (size >> level) - 1))
        .collect()
}

/// A committed batch: its `seq`s and the group-commit ticket to wait for.
struct Committed {
    seqs: Vec<i64>,
    ticket: u64,
}

/// The SQLite batch writer: a thread with its own connection.
pub(crate) type Writer = ConnThread<()>;

/// The batch writer of a new store.
pub(crate) fn writer() -> Writer {
    ConnThread::new("batch writer", open)
}

/// The writer's connection, with the settings of the pool's connections.
fn open(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(crate::BUSY_TIMEOUT)?;
    // As the pool's connections (lib.rs): the WAL is synced by the group commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The batch's transaction: the event rows, the reservation of leaf indices,
/// the frontier read, the leaf and node rows; then `COMMIT` under a ticket.
fn write(
    conn: &mut rusqlite::Connection,
    events: &[Event],
    build: BuildLeaves,
    durability: &Arc<Durability>,
) -> Result<Committed, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut seqs = Vec::with_capacity(events.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (time_ms, actor_user, actor_party, action, target, outcome, \
             reason, source_addr, user_agent, request_id, mark_id, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for event in events {
            let detail = serde_json::to_string(&event.detail)
                .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
            insert.execute(params![
                event.time_ms,
                event.actor_user.map(|id| id.to_string()),
                event.actor_party.map(|id| id.to_string()),
                event.action,
                event.target,
                event.outcome.as_str(),
                event.reason,
                event.source_addr,
                event.user_agent,
                event.request_id,
                event.mark_id,
                detail,
            ])?;
            // `seq` is the table's INTEGER PRIMARY KEY: the rowid just assigned.
            seqs.push(tx.last_insert_rowid());
        }
    }
    let n =
        i64::try_from(events.len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    let size: i64 = tx
        .prepare_cached("UPDATE ledger_state SET size = size + ?1 WHERE id = 1 RETURNING size")?
        .query_row([n], |row| row.get(0))?;
    let first = size
        .checked_sub(n)
        .and_then(|first| u64::try_from(first).ok())
        .ok_or_else(|| StoreError::Corrupt("ledger size did not grow".into()))?;
    let mut frontier = Vec::new();
    {
        let mut node =
            tx.prepare_cached("SELECT hash FROM ledger_nodes WHERE level = ?1 AND idx = ?2")?;
        for (level, index) in ledger_frontier(first) {
            let stored: Option<Vec<u8>> = node
                .query_row(params![level, db_index(index)?], |row| row.get(0))
                .optional()?;
            if let Some(bytes) = stored {
                let hash = <[u8; 32]>::try_from(bytes)
                    .map_err(|_| StoreError::Corrupt("column `hash`: not 32 bytes".into()))?;
                frontier.push((level, index, hash));
            }
        }
    }
    let (leaves, nodes) = build(&seqs, first, &frontier).map_err(StoreError::Corrupt)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger_leaves (idx, event_seq, leaf, leaf_hash) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for leaf in &leaves {
            insert.execute(params![
                db_index(leaf.index)?,
                leaf.event_seq,
                leaf.leaf,
                leaf.leaf_hash.as_slice()
            ])?;
        }
        let mut insert =
            tx.prepare_cached("INSERT INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
        for &(level, index, hash) in &nodes {
            insert.execute(params![level, db_index(index)?, hash.as_slice()])?;
        }
    }
    let ticket = durability.issue();
    tx.commit()?;
    Ok(Committed {
        seqs,
        ticket: ticket.number(),
    })
}

fn db_index(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("ledger index {n} out of range")))
}

impl Store {
    /// Appends `events` and their ledger leaves in one write transaction and
    /// gives the events back, in order and each with its `seq`, once the
    /// transaction is durable.
    /// `build` computes the leaves and nodes (see [`BuildLeaves`]). The batch
    /// fails as a whole: then none of its events is in the log.
    pub async fn append_batch(
        &self,
        events: Vec<Event>,
        build: BuildLeaves,
    ) -> Result<Vec<Event>, StoreError> {
        if events.is_empty() {
            return Err(StoreError::Corrupt("append_batch: empty batch".into()));
        }
        let (Some(group), Some(path)) = (&self.sqlite, self.sqlite_path.as_deref()) else {
            return self.append_batch_tx(events, build).await;
        };
        group.durability.check()?;
        let gate = tokio::time::timeout(crate::BUSY_TIMEOUT, group.gate.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Busy)?;
        let durability = group.durability.clone();
        let committed = self
            .writer
            .run(path, move |conn, ()| {
                let committed = write(conn, &events, build, &durability);
                (committed, events)
            })
            .await;
        // The next writer may start once `COMMIT` has returned (or failed).
        drop(gate);
        let (committed, events) = committed?;
        let Committed { seqs, ticket } = committed?;
        group.durability.wait(ticket).await?;
        Ok(with_seqs(events, &seqs))
    }

    /// [`Store::append_batch`] as an ordinary transaction.
    async fn append_batch_tx(
        &self,
        events: Vec<Event>,
        build: BuildLeaves,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.begin().await?;
        let seqs = tx.append_events(&events).await?;
        let n = u64::try_from(events.len())
            .map_err(|_| StoreError::Corrupt("batch too large".into()))?;
        let first = tx.ledger_reserve_many(n).await?;
        let frontier = tx.ledger_nodes(&ledger_frontier(first)).await?;
        let (leaves, nodes) = build(&seqs, first, &frontier).map_err(StoreError::Corrupt)?;
        tx.ledger_insert_many(&leaves, &nodes).await?;
        tx.commit().await?;
        Ok(with_seqs(events, &seqs))
    }
}

/// `events`, each given its `seq`.
fn with_seqs(mut events: Vec<Event>, seqs: &[i64]) -> Vec<Event> {
    for (e, seq) in events.iter_mut().zip(seqs) {
        e.seq = *seq;
    }
    events
}
