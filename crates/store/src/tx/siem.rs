//! What the SIEM forwarder reads beside the events: the ledger index of each
//! event, so an exported event can be checked against a signed checkpoint.

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;

impl Tx {
    /// `(event seq, ledger index)` of the events with `after < seq <= last`
    /// that have a ledger leaf, ascending by `seq`. Events recorded before the
    /// ledger existed have none.
    pub async fn ledger_indices(
        &mut self,
        after: i64,
        last: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        sql("SELECT event_seq, idx FROM ledger_leaves \
             WHERE event_seq > $1 AND event_seq <= $2 ORDER BY event_seq")
        .bind(after)
        .bind(last)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            let idx = row.int("idx")?;
            let idx = u64::try_from(idx)
                .map_err(|_| StoreError::Corrupt(format!("column `idx`: negative {idx}")))?;
            Ok((row.int("event_seq")?, idx))
        })
        .collect()
    }
}
