//! The audit events, totally ordered by `seq`.
//!
//! On PostgreSQL, `append_event` first takes a transaction-scoped advisory lock, so
//! event-writing transactions commit in `seq` order and a reader paging with
//! `list_events(after, …)` never skips an event that commits later with a smaller
//! `seq`. The lock is held until commit: append events last in a transaction.
//! SQLite needs nothing, its writers being serialized already.

use sqlx::any::AnyRow;

use super::{Tx, sql};
use crate::row::RowExt;
use crate::{Backend, StoreError};
use model::*;

/// The advisory lock key of the event sequencer. Do not change: nodes of
/// different versions must agree on it.
const EVENT_LOCK_KEY: i64 = 0x6375_7374_6f64_7901;

fn event(row: &AnyRow) -> Result<Event, StoreError> {
    let detail = row.text("detail")?;
    Ok(Event {
        seq: row.int("seq")?,
        time_ms: row.int("time_ms")?,
        actor_user: row.opt_parsed("actor_user")?,
        actor_party: row.opt_parsed("actor_party")?,
        action: row.text("action")?,
        target: row.text("target")?,
        outcome: row.name("outcome", Outcome::parse)?,
        reason: row.opt_text("reason")?,
        source_addr: row.opt_text("source_addr")?,
        user_agent: row.opt_text("user_agent")?,
        request_id: row.opt_text("request_id")?,
        mark_id: row.opt_text("mark_id")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("column `detail`: {e}")))?,
    })
}

impl Tx {
    /// Appends an event (its `seq` is ignored) and returns the assigned `seq`.
    pub async fn append_event(&mut self, event: &Event) -> Result<i64, StoreError> {
        if self.backend == Backend::Postgres {
            sql("SELECT pg_advisory_xact_lock($1)")
                .bind(EVENT_LOCK_KEY)
                .execute(self.conn())
                .await?;
        }
        let detail = serde_json::to_string(&event.detail)
            .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
        let row = sql(
            "INSERT INTO events (time_ms, actor_user, actor_party, action, target, \
             outcome, reason, source_addr, user_agent, request_id, mark_id, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq",
        )
        .bind(event.time_ms)
        .bind(event.actor_user.map(|id| id.to_string()))
        .bind(event.actor_party.map(|id| id.to_string()))
        .bind(event.action.clone())
        .bind(event.target.clone())
        .bind(event.outcome.as_str())
        .bind(event.reason.clone())
        .bind(event.source_addr.clone())
        .bind(event.user_agent.clone())
        .bind(event.request_id.clone())
        .bind(event.mark_id.clone())
        .bind(detail)
        .fetch_one(self.conn())
        .await?;
        row.int("seq")
    }

    /// Events with `seq > after`, ascending, at most `limit` (none when `limit` is
    /// not positive).
    pub async fn list_events(&mut self, after: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        sql("SELECT * FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit.max(0))
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(event)
            .collect()
    }
}
