//! Alerts the watcher raised, the security officers' feedback on them, and
//! how far the server's scoring got (`watch_state`).

use sqlx::any::AnyRow;

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn alert(row: &AnyRow) -> Result<Alert, StoreError> {
    let detail = row.text("detail")?;
    Ok(Alert {
        id: row.parsed("id")?,
        entity: row.name("entity_kind", AlertEntity::parse)?,
        entity_id: row.parsed("entity_id")?,
        party_id: row.opt_parsed("party_id")?,
        day: row.int("day")?,
        raised_ms: row.int("raised_ms")?,
        kind: row.text("kind")?,
        score_milli: row.int("score_milli")?,
        sentence: row.text("sentence")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("column `detail`: {e}")))?,
        status: row.name("status", AlertStatus::parse)?,
        feedback_reason: row.opt_text("feedback_reason")?,
        feedback_by: row.opt_parsed("feedback_by")?,
        feedback_ms: row.opt_int("feedback_ms")?,
    })
}

/// Where the server's scoring stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchState {
    /// Alerts of events up to this `seq` were raised already.
    pub scored_seq: i64,
    /// Days up to this one were closed (their budget raised) already.
    pub closed_day: i64,
}

impl Tx {
    /// Stores `a`; false when an alert of the same entity, day and kind is
    /// there already (raised by another node, or before a restart).
    pub async fn insert_alert(&mut self, a: &Alert) -> Result<bool, StoreError> {
        let detail = serde_json::to_string(&a.detail)
            .map_err(|e| StoreError::Corrupt(format!("alert detail: {e}")))?;
        let done = sql(
            "INSERT INTO alerts (id, entity_kind, entity_id, party_id, day, raised_ms, kind, \
             score_milli, sentence, detail, status, feedback_reason, feedback_by, feedback_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT DO NOTHING",
        )
        .bind(a.id.to_string())
        .bind(a.entity.as_str())
        .bind(a.entity_id.to_string())
        .bind(a.party_id.map(|p| p.to_string()))
        .bind(a.day)
        .bind(a.raised_ms)
        .bind(a.kind.clone())
        .bind(a.score_milli)
        .bind(a.sentence.clone())
        .bind(detail)
        .bind(a.status.as_str())
        .bind(a.feedback_reason.clone())
        .bind(a.feedback_by.map(|u| u.to_string()))
        .bind(a.feedback_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get_alert(&mut self, id: AlertId) -> Result<Option<Alert>, StoreError> {
        sql("SELECT * FROM alerts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(alert)
            .transpose()
    }

    /// The newest `limit` alerts (of one status when asked), newest first.
    pub async fn list_alerts(
        &mut self,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> Result<Vec<Alert>, StoreError> {
        let query = match status {
            Some(s) => sql("SELECT * FROM alerts WHERE status = $1 \
                 ORDER BY raised_ms DESC, id DESC LIMIT $2")
            .bind(s.as_str()),
            None => sql("SELECT * FROM alerts ORDER BY raised_ms DESC, id DESC LIMIT $1"),
        };
        query
            .bind(limit.max(0))
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(alert)
            .collect()
    }

    /// Records a security officer's feedback on an alert.
    pub async fn set_alert_feedback(
        &mut self,
        id: AlertId,
        status: AlertStatus,
        reason: Option<&str>,
        by: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE alerts SET status = $2, feedback_reason = $3, feedback_by = $4, \
             feedback_ms = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status.as_str())
        .bind(reason.map(str::to_owned))
        .bind(by.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn watch_state(&mut self) -> Result<WatchState, StoreError> {
        let row = sql("SELECT scored_seq, closed_day FROM watch_state WHERE id = 1")
            .fetch_one(self.conn())
            .await?;
        Ok(WatchState {
            scored_seq: row.int("scored_seq")?,
            closed_day: row.int("closed_day")?,
        })
    }

    /// Moves the scoring's marks forward (never back: several nodes score).
    pub async fn advance_watch_state(&mut self, to: WatchState) -> Result<(), StoreError> {
        sql("UPDATE watch_state SET \
             scored_seq = CASE WHEN scored_seq < $1 THEN $1 ELSE scored_seq END, \
             closed_day = CASE WHEN closed_day < $2 THEN $2 ELSE closed_day END WHERE id = 1")
        .bind(to.scored_seq)
        .bind(to.closed_day)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The `seq` just before the first event at or after `time_ms` (0 when
    /// there is none earlier).
    pub async fn seq_before_time(&mut self, time_ms: i64) -> Result<i64, StoreError> {
        let row = sql("SELECT MAX(seq) AS seq FROM events WHERE time_ms < $1")
            .bind(time_ms)
            .fetch_one(self.conn())
            .await?;
        Ok(row.opt_int("seq")?.unwrap_or(0))
    }
}
