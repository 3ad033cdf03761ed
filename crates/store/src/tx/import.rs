//! Bulk loading of a ledger tree's stored nodes, for benchmarks that need a
//! log of millions of entries in seconds rather than hours. The nodes must be
//! the ones the `ledger` crate computes; nothing here checks them.

use super::{Tx, sql};
use crate::StoreError;
use crate::tx::LedgerNode;

/// Nodes per `INSERT` statement (3 parameters each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 500;

impl Tx {
    /// Inserts stored nodes (`(level, index, hash)`) with multi-row inserts.
    /// For benchmarks: the leaves and the sequencer are left alone.
    #[doc(hidden)]
    pub async fn ledger_import_nodes(&mut self, nodes: &[LedgerNode]) -> Result<(), StoreError> {
        for rows in nodes.chunks(ROWS_PER_STATEMENT) {
            let mut text = String::from("INSERT INTO ledger_nodes (level, idx, hash) VALUES ");
            for i in 0..rows.len() {
                let sep = if i == 0 { "" } else { ", " };
                text.push_str(&format!(
                    "{sep}(${}, ${}, ${})",
                    3 * i + 1,
                    3 * i + 2,
                    3 * i + 3
                ));
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
            for &(level, idx, hash) in rows {
                let idx = i64::try_from(idx)
                    .map_err(|_| StoreError::Corrupt(format!("ledger index {idx} out of range")))?;
                query = query.bind(i64::from(level)).bind(idx).bind(hash.to_vec());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Sets the sequencer's size to `size` without leaves, so that proofs over
    /// imported nodes can be asked for. For benchmarks only: the log then has
    /// no leaf rows below `size`.
    #[doc(hidden)]
    pub async fn ledger_import_size(&mut self, size: u64) -> Result<(), StoreError> {
        let size = i64::try_from(size)
            .map_err(|_| StoreError::Corrupt(format!("ledger size {size} out of range")))?;
        sql("UPDATE ledger_state SET size = $1 WHERE id = 1")
            .bind(size)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
