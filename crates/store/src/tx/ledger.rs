//! The tamper-evident ledger's tables: the sequencer row, the leaves, the
//! stored perfect-subtree hashes and the signed checkpoints. The Merkle
//! arithmetic lives in the `ledger` crate; this module only reads and writes.
//!
//! [`Tx::ledger_reserve`] is the one sequencer: it increments the single row of
//! `ledger_state`, which takes that row's lock until commit on PostgreSQL (and
//! SQLite's write lock is already held by `BEGIN IMMEDIATE`), so appending
//! transactions run one after the other and leaf indices are gap-free and
//! totally ordered across every node. PostgreSQL write transactions run at READ
//! COMMITTED, so the node reads that follow the reservation see what the
//! previous appender committed.

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;

/// A stored perfect-subtree hash: `(level, index, hash)`.
pub type LedgerNode = (u8, u64, [u8; 32]);

/// One stored leaf: `(index, leaf bytes, leaf hash)`.
pub type LedgerLeaf = (u64, Vec<u8>, [u8; 32]);

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
    pub created_ms: i64,
}

fn to_db(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Corrupt(format!("ledger index {n} out of range")))
}

fn from_db(col: &str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("column `{col}`: negative {n}")))
}

fn hash(col: &str, bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("column `{col}`: not 32 bytes")))
}

impl Tx {
    /// Reserves the next leaf index and returns it (the sequencer). Holds the
    /// sequencer lock until the transaction ends.
    pub async fn ledger_reserve(&mut self) -> Result<u64, StoreError> {
        let row = sql("UPDATE ledger_state SET size = size + 1 WHERE id = 1 RETURNING size")
            .fetch_one(self.conn())
            .await?;
        let size = from_db("size", row.int("size")?)?;
        size.checked_sub(1)
            .ok_or_else(|| StoreError::Corrupt("ledger size did not grow".into()))
    }

    /// The number of leaves (including those reserved by this transaction).
    pub async fn ledger_size(&mut self) -> Result<u64, StoreError> {
        let row = sql("SELECT size FROM ledger_state WHERE id = 1")
            .fetch_one(self.conn())
            .await?;
        from_db("size", row.int("size")?)
    }

    /// The stored hashes of the nodes asked for, in the order asked; nodes not
    /// stored are left out.
    pub async fn ledger_nodes(
        &mut self,
        wanted: &[(u8, u64)],
    ) -> Result<Vec<LedgerNode>, StoreError> {
        let mut found = Vec::with_capacity(wanted.len());
        for &(level, index) in wanted {
            let row = sql("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
                .bind(i64::from(level))
                .bind(to_db(index)?)
                .fetch_optional(self.conn())
                .await?;
            if let Some(row) = row {
                found.push((level, index, hash("hash", row.bytes("hash")?)?));
            }
        }
        Ok(found)
    }

    /// Stores leaf `index` (recording event `event_seq`) and the nodes its
    /// append computed, the leaf's own level-0 node among them.
    pub async fn ledger_insert(
        &mut self,
        index: u64,
        event_seq: i64,
        leaf: &[u8],
        leaf_hash: &[u8; 32],
        nodes: &[LedgerNode],
    ) -> Result<(), StoreError> {
        sql("INSERT INTO ledger_leaves (idx, event_seq, leaf, leaf_hash) VALUES ($1, $2, $3, $4)")
            .bind(to_db(index)?)
            .bind(event_seq)
            .bind(leaf.to_vec())
            .bind(leaf_hash.to_vec())
            .execute(self.conn())
            .await?;
        for &(level, idx, node) in nodes {
            sql("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                .bind(i64::from(level))
                .bind(to_db(idx)?)
                .bind(node.to_vec())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Leaves with `from <= index < to`, ascending.
    pub async fn ledger_leaves(
        &mut self,
        from: u64,
        to: u64,
    ) -> Result<Vec<LedgerLeaf>, StoreError> {
        sql("SELECT idx, leaf, leaf_hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(to_db(from)?)
            .bind(to_db(to)?)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    from_db("idx", row.int("idx")?)?,
                    row.bytes("leaf")?,
                    hash("leaf_hash", row.bytes("leaf_hash")?)?,
                ))
            })
            .collect()
    }

    /// Stores a signed checkpoint; `false` when one of that size is stored
    /// already (it is kept).
    pub async fn insert_checkpoint(
        &mut self,
        size: u64,
        note: &str,
        created_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "INSERT INTO ledger_checkpoints (size, note, created_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(to_db(size)?)
        .bind(note.to_owned())
        .bind(created_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The stored checkpoint of the largest size, if any.
    pub async fn latest_checkpoint(&mut self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row =
            sql("SELECT size, note, created_ms FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_optional(self.conn())
                .await?;
        row.map(|row| {
            Ok(StoredCheckpoint {
                size: from_db("size", row.int("size")?)?,
                note: row.text("note")?,
                created_ms: row.int("created_ms")?,
            })
        })
        .transpose()
    }
}
