//! Failed guesses at secrets, counted per scope and key over a window, with
//! the time before which the next guess is not evaluated: kept in the
//! database so that every node throttles alike.

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;

impl Tx {
    /// Until when guesses of `scope` and `key` wait (0 or a past time: none).
    pub async fn guess_blocked_until(&mut self, scope: &str, key: &str) -> Result<i64, StoreError> {
        Ok(
            sql("SELECT blocked_until FROM guess_failures WHERE scope = $1 AND key = $2")
                .bind(scope.to_owned())
                .bind(key.to_owned())
                .fetch_optional(self.conn())
                .await?
                .map(|row| row.int("blocked_until"))
                .transpose()?
                .unwrap_or(0),
        )
    }

    /// Counts a failure at `now` in a window of `window_ms` (a failure after
    /// the window starts a new one) and returns the failures of the window.
    /// One statement, so failures counted at once on several nodes all count.
    pub async fn guess_fail(
        &mut self,
        scope: &str,
        key: &str,
        now: i64,
        window_ms: i64,
    ) -> Result<i64, StoreError> {
        let row = sql(
            "INSERT INTO guess_failures (scope, key, window_start, failures, blocked_until) \
                       VALUES ($1, $2, $3, 1, 0) \
                       ON CONFLICT (scope, key) DO UPDATE SET \
                       failures = CASE WHEN guess_failures.window_start <= $4 THEN 1 \
                         ELSE guess_failures.failures + 1 END, \
                       window_start = CASE WHEN guess_failures.window_start <= $4 THEN $3 \
                         ELSE guess_failures.window_start END \
                       RETURNING failures",
        )
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(self.conn())
        .await?;
        row.int("failures")
    }

    /// Makes guesses of `scope` and `key` wait until `until` (never earlier
    /// than a wait already set).
    pub async fn guess_block(
        &mut self,
        scope: &str,
        key: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        sql("UPDATE guess_failures SET blocked_until = $3 \
             WHERE scope = $1 AND key = $2 AND blocked_until < $3")
        .bind(scope.to_owned())
        .bind(key.to_owned())
        .bind(until)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Forgets the failures of `scope` and `key` (a right guess).
    pub async fn guess_clear(&mut self, scope: &str, key: &str) -> Result<(), StoreError> {
        sql("DELETE FROM guess_failures WHERE scope = $1 AND key = $2")
            .bind(scope.to_owned())
            .bind(key.to_owned())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes what no longer counts: windows that started before `before`
    /// and waits that are over at `now`. Returns how many went.
    pub async fn guess_prune(&mut self, before: i64, now: i64) -> Result<u64, StoreError> {
        let done = sql("DELETE FROM guess_failures WHERE window_start < $1 AND blocked_until < $2")
            .bind(before)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }
}
