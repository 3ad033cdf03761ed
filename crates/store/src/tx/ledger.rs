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

/// One stored leaf with the event it records and whether it was redacted
/// (then `leaf_hash` is the hash of the original bytes, not of `leaf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRow {
    pub index: u64,
    pub event_seq: i64,
    pub leaf: Vec<u8>,
    pub leaf_hash: [u8; 32],
    pub redacted: bool,
}

/// A recorded redaction of leaf `index` (event `event_seq`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    pub index: u64,
    pub event_seq: i64,
    pub reason: String,
    pub redacted_by: String,
    pub redacted_ms: i64,
}

/// The columns of a [`LeafRow`], from `ledger_leaves l LEFT JOIN ledger_redactions r`.
const LEAF_COLUMNS: &str = "l.idx, l.event_seq, l.leaf, l.leaf_hash, r.idx AS redacted_idx \
     FROM ledger_leaves l LEFT JOIN ledger_redactions r ON r.idx = l.idx";

fn leaf_row(row: &sqlx::any::AnyRow) -> Result<LeafRow, StoreError> {
    Ok(LeafRow {
        index: from_db("idx", row.int("idx")?)?,
        event_seq: row.int("event_seq")?,
        leaf: row.bytes("leaf")?,
        leaf_hash: hash("leaf_hash", row.bytes("leaf_hash")?)?,
        redacted: row.opt_int("redacted_idx")?.is_some(),
    })
}

fn checkpoint_row(row: &sqlx::any::AnyRow) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        size: from_db("size", row.int("size")?)?,
        note: row.text("note")?,
        created_ms: row.int("created_ms")?,
    })
}

/// A statement whose text was assembled from fixed fragments only.
fn assembled(text: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(text))
}

/// A leaf about to be stored by [`Tx::ledger_insert_many`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLeaf {
    pub index: u64,
    pub event_seq: i64,
    pub leaf: Vec<u8>,
    pub leaf_hash: [u8; 32],
}

/// Rows per multi-row insert. Small on purpose (see `EVENT_ROWS` in
/// `events.rs`): each statement size is prepared once, and binding costs grow
/// with the square of a statement's size.
const INSERT_ROWS: usize = 32;

/// `($1, $2, …), (…), …`: `rows` tuples of `width` numbered placeholders.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

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

    /// Reserves the next `n` leaf indices (`n` > 0) and returns the first; the
    /// same sequencer and lock as [`Tx::ledger_reserve`].
    pub async fn ledger_reserve_many(&mut self, n: u64) -> Result<u64, StoreError> {
        let row = sql("UPDATE ledger_state SET size = size + $1 WHERE id = 1 RETURNING size")
            .bind(to_db(n)?)
            .fetch_one(self.conn())
            .await?;
        let size = from_db("size", row.int("size")?)?;
        size.checked_sub(n)
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
        // One query per 64 nodes (a proof needs at most 128): each round trip
        // to the database costs more than the lookup itself.
        let mut stored = std::collections::HashMap::with_capacity(wanted.len());
        for group in wanted.chunks(64) {
            let text = (0..group.len())
                .map(|i| format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(" OR ");
            let text = format!("SELECT level, idx, hash FROM ledger_nodes WHERE {text}");
            // Only placeholders are formatted into the text.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
            for &(level, index) in group {
                query = query.bind(i64::from(level)).bind(to_db(index)?);
            }
            for row in query.fetch_all(self.conn()).await? {
                let level = u8::try_from(row.int("level")?)
                    .map_err(|_| StoreError::Corrupt("column `level`: out of range".into()))?;
                let index = from_db("idx", row.int("idx")?)?;
                stored.insert((level, index), hash("hash", row.bytes("hash")?)?);
            }
        }
        Ok(wanted
            .iter()
            .filter_map(|&(level, index)| stored.get(&(level, index)).map(|&h| (level, index, h)))
            .collect())
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

    /// Stores many leaves and the nodes their appends computed with a few
    /// multi-row statements (a batch of events shares one transaction).
    pub async fn ledger_insert_many(
        &mut self,
        leaves: &[NewLeaf],
        nodes: &[LedgerNode],
    ) -> Result<(), StoreError> {
        for group in leaves.chunks(INSERT_ROWS) {
            let text = format!(
                "INSERT INTO ledger_leaves (idx, event_seq, leaf, leaf_hash) VALUES {}",
                placeholders(group.len(), 4)
            );
            let mut query = assembled(text);
            for leaf in group {
                query = query
                    .bind(to_db(leaf.index)?)
                    .bind(leaf.event_seq)
                    .bind(leaf.leaf.clone())
                    .bind(leaf.leaf_hash.to_vec());
            }
            query.execute(self.conn()).await?;
        }
        for group in nodes.chunks(INSERT_ROWS) {
            let text = format!(
                "INSERT INTO ledger_nodes (level, idx, hash) VALUES {}",
                placeholders(group.len(), 3)
            );
            let mut query = assembled(text);
            for &(level, idx, node) in group {
                query = query
                    .bind(i64::from(level))
                    .bind(to_db(idx)?)
                    .bind(node.to_vec());
            }
            query.execute(self.conn()).await?;
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
        row.as_ref().map(checkpoint_row).transpose()
    }

    /// Stored checkpoints with `size < below_size` (all when `None`), the
    /// largest first, at most `limit`.
    pub async fn latest_checkpoints(
        &mut self,
        below_size: Option<u64>,
        limit: i64,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let below = match below_size {
            Some(size) => to_db(size)?,
            None => i64::MAX,
        };
        sql(
            "SELECT size, note, created_ms FROM ledger_checkpoints WHERE size < $1 \
             ORDER BY size DESC LIMIT $2",
        )
        .bind(below)
        .bind(limit.max(0))
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(checkpoint_row)
        .collect()
    }

    /// Stored checkpoints with `size >= from_size`, ascending, at most `limit`.
    pub async fn list_checkpoints(
        &mut self,
        from_size: u64,
        limit: i64,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        sql(
            "SELECT size, note, created_ms FROM ledger_checkpoints WHERE size >= $1 \
             ORDER BY size LIMIT $2",
        )
        .bind(to_db(from_size)?)
        .bind(limit.max(0))
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(checkpoint_row)
        .collect()
    }

    /// Leaf rows with `from <= index < to`, ascending, with their redaction mark.
    pub async fn ledger_leaf_rows(
        &mut self,
        from: u64,
        to: u64,
    ) -> Result<Vec<LeafRow>, StoreError> {
        let text = format!("SELECT {LEAF_COLUMNS} WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx");
        assembled(text)
            .bind(to_db(from)?)
            .bind(to_db(to)?)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(leaf_row)
            .collect()
    }

    /// The leaf rows of the events `seqs` (events without a leaf are left out),
    /// ascending by index.
    pub async fn ledger_leaves_of_events(
        &mut self,
        seqs: &[i64],
    ) -> Result<Vec<LeafRow>, StoreError> {
        let mut found = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let text = format!(
                "SELECT {LEAF_COLUMNS} WHERE l.event_seq IN ({})",
                marks.join(", ")
            );
            let mut query = assembled(text);
            for &seq in chunk {
                query = query.bind(seq);
            }
            for row in &query.fetch_all(self.conn()).await? {
                found.push(leaf_row(row)?);
            }
        }
        found.sort_by_key(|r| r.index);
        Ok(found)
    }

    /// Stored nodes after `(level, index)` in `(level, index)` order (from the
    /// first when `after` is `None`), at most `limit`.
    pub async fn ledger_nodes_page(
        &mut self,
        after: Option<(u8, u64)>,
        limit: i64,
    ) -> Result<Vec<LedgerNode>, StoreError> {
        let (level, index) = match after {
            Some((l, i)) => (i64::from(l), to_db(i)?),
            None => (-1, 0),
        };
        sql("SELECT level, idx, hash FROM ledger_nodes \
             WHERE level > $1 OR (level = $2 AND idx > $3) ORDER BY level, idx LIMIT $4")
        .bind(level)
        .bind(level)
        .bind(index)
        .bind(limit.max(0))
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            let level = u8::try_from(row.int("level")?)
                .map_err(|_| StoreError::Corrupt("column `level`: out of range".into()))?;
            let idx = from_db("idx", row.int("idx")?)?;
            Ok((level, idx, hash("hash", row.bytes("hash")?)?))
        })
        .collect()
    }

    /// The smallest `seq >= from_seq` of an event that has no leaf, if any.
    pub async fn first_event_without_leaf(
        &mut self,
        from_seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row = sql("SELECT MIN(seq) AS seq FROM events WHERE seq >= $1 \
                       AND seq NOT IN (SELECT event_seq FROM ledger_leaves)")
        .bind(from_seq)
        .fetch_one(self.conn())
        .await?;
        row.opt_int("seq")
    }

    /// Replaces the bytes of leaf `index` by their redaction (its stored leaf
    /// hash, that of the original bytes, stays) and records the redaction.
    pub async fn ledger_redact(&mut self, r: &Redaction, leaf: &[u8]) -> Result<(), StoreError> {
        let done = sql("UPDATE ledger_leaves SET leaf = $1 WHERE idx = $2 AND event_seq = $3")
            .bind(leaf.to_vec())
            .bind(to_db(r.index)?)
            .bind(r.event_seq)
            .execute(self.conn())
            .await?;
        super::touched(done.rows_affected())?;
        let insert = sql(
            "INSERT INTO ledger_redactions (idx, event_seq, reason, redacted_by, redacted_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to_db(r.index)?)
        .bind(r.event_seq)
        .bind(r.reason.clone())
        .bind(r.redacted_by.clone())
        .bind(r.redacted_ms);
        self.execute_guarded(insert)
            .await
            .map_err(|e| super::unique(e, &[("", "redaction")]))?;
        Ok(())
    }

    /// Every recorded redaction, ascending by index.
    pub async fn ledger_redactions(&mut self) -> Result<Vec<Redaction>, StoreError> {
        sql("SELECT idx, event_seq, reason, redacted_by, redacted_ms FROM ledger_redactions ORDER BY idx")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| {
                Ok(Redaction {
                    index: from_db("idx", row.int("idx")?)?,
                    event_seq: row.int("event_seq")?,
                    reason: row.text("reason")?,
                    redacted_by: row.text("redacted_by")?,
                    redacted_ms: row.int("redacted_ms")?,
                })
            })
            .collect()
    }
}
