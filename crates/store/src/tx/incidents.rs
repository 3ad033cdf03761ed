//! Incident cases: the case, its stage owners and its entries (notes, tasks,
//! actions taken), the owner's notification clock, and what containment ends.

use sqlx::any::AnyRow;

use super::accounts::OFFBOARDED_USERS as COVERED_USERS;
use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn json_col(row: &AnyRow, col: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(&row.text(col)?)
        .map_err(|e| StoreError::Corrupt(format!("column `{col}`: {e}")))
}

fn incident(row: &AnyRow) -> Result<Incident, StoreError> {
    let holds = json_col(row, "holds")?;
    let holds = holds
        .as_array()
        .ok_or_else(|| StoreError::Corrupt("column `holds`: not a list".into()))?
        .iter()
        .filter_map(|h| h.as_str().map(str::to_owned))
        .collect();
    Ok(Incident {
        id: row.parsed("id")?,
        title: row.text("title")?,
        summary: row.text("summary")?,
        source: row.name("source", IncidentSource::parse)?,
        source_ref: row.opt_text("source_ref")?,
        stage: row.name("stage", IncidentStage::parse)?,
        severity: row
            .opt_text("severity")?
            .map(|s| IncidentSeverity::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("column `severity`: {e}")))?,
        category: row
            .opt_text("category")?
            .map(|s| IncidentCategory::parse(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("column `category`: {e}")))?,
        opened_by: row.parsed("opened_by")?,
        opened_ms: row.int("opened_ms")?,
        party_id: row.opt_parsed("party_id")?,
        user_id: row.opt_parsed("user_id")?,
        room_id: row.opt_parsed("room_id")?,
        notify_due_ms: row.opt_int("notify_due_ms")?,
        notified_ms: row.opt_int("notified_ms")?,
        holds,
        closed_ms: row.opt_int("closed_ms")?,
        lessons: row.opt_text("lessons")?,
    })
}

fn entry(row: &AnyRow) -> Result<IncidentEntry, StoreError> {
    Ok(IncidentEntry {
        id: row.parsed("id")?,
        incident_id: row.parsed("incident_id")?,
        stage: row.name("stage", IncidentStage::parse)?,
        kind: row.name("kind", IncidentEntryKind::parse)?,
        body: row.text("body")?,
        detail: json_col(row, "detail")?,
        author: row.parsed("author")?,
        created_ms: row.int("created_ms")?,
        assignee: row.opt_parsed("assignee")?,
        done_ms: row.opt_int("done_ms")?,
    })
}

impl Tx {
    /// Stores a new case.
    pub async fn insert_incident(&mut self, i: &Incident) -> Result<(), StoreError> {
        sql(
            "INSERT INTO incidents (id, title, summary, source, source_ref, stage, severity, \
             category, opened_by, opened_ms, party_id, user_id, room_id, notify_due_ms, \
             notified_ms, holds, closed_ms, lessons) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(i.id.to_string())
        .bind(i.title.clone())
        .bind(i.summary.clone())
        .bind(i.source.as_str())
        .bind(i.source_ref.clone())
        .bind(i.stage.as_str())
        .bind(i.severity.map(|s| s.as_str()))
        .bind(i.category.map(|c| c.as_str()))
        .bind(i.opened_by.to_string())
        .bind(i.opened_ms)
        .bind(i.party_id.map(|p| p.to_string()))
        .bind(i.user_id.map(|u| u.to_string()))
        .bind(i.room_id.map(|r| r.to_string()))
        .bind(i.notify_due_ms)
        .bind(i.notified_ms)
        .bind(serde_json::json!(i.holds).to_string())
        .bind(i.closed_ms)
        .bind(i.lessons.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes back a case's changeable fields.
    pub async fn update_incident(&mut self, i: &Incident) -> Result<(), StoreError> {
        sql(
            "UPDATE incidents SET title = $2, summary = $3, stage = $4, severity = $5, \
             category = $6, party_id = $7, user_id = $8, room_id = $9, notify_due_ms = $10, \
             notified_ms = $11, holds = $12, closed_ms = $13, lessons = $14 WHERE id = $1",
        )
        .bind(i.id.to_string())
        .bind(i.title.clone())
        .bind(i.summary.clone())
        .bind(i.stage.as_str())
        .bind(i.severity.map(|s| s.as_str()))
        .bind(i.category.map(|c| c.as_str()))
        .bind(i.party_id.map(|p| p.to_string()))
        .bind(i.user_id.map(|u| u.to_string()))
        .bind(i.room_id.map(|r| r.to_string()))
        .bind(i.notify_due_ms)
        .bind(i.notified_ms)
        .bind(serde_json::json!(i.holds).to_string())
        .bind(i.closed_ms)
        .bind(i.lessons.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A case.
    pub async fn get_incident(&mut self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        sql("SELECT * FROM incidents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident)
            .transpose()
    }

    /// The newest `limit` cases (only open ones when asked), newest first.
    pub async fn list_incidents(
        &mut self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<Incident>, StoreError> {
        let query = if open_only {
            sql("SELECT * FROM incidents WHERE closed_ms IS NULL \
                 ORDER BY opened_ms DESC, id DESC LIMIT $1")
        } else {
            sql("SELECT * FROM incidents ORDER BY opened_ms DESC, id DESC LIMIT $1")
        };
        query
            .bind(limit.max(0))
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(incident)
            .collect()
    }

    /// The case opened from `source` naming `source_ref`, if any.
    pub async fn incident_from(
        &mut self,
        source: IncidentSource,
        source_ref: &str,
    ) -> Result<Option<Incident>, StoreError> {
        sql(
            "SELECT * FROM incidents WHERE source = $1 AND source_ref = $2 \
             ORDER BY opened_ms LIMIT 1",
        )
        .bind(source.as_str())
        .bind(source_ref.to_owned())
        .fetch_optional(self.conn())
        .await?
        .as_ref()
        .map(incident)
        .transpose()
    }

    /// Stores an entry of a case.
    /// The case's row is locked first (a no-op update), so that the entry's
    /// place is the next one even when two requests add to one case at once.
    pub async fn insert_incident_entry(&mut self, e: &IncidentEntry) -> Result<(), StoreError> {
        sql("UPDATE incidents SET id = id WHERE id = $1")
            .bind(e.incident_id.to_string())
            .execute(self.conn())
            .await?;
        sql(
            "INSERT INTO incident_entries (id, incident_id, stage, kind, body, detail, author, \
             created_ms, assignee, done_ms, n) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             (SELECT COALESCE(MAX(n), 0) + 1 FROM incident_entries WHERE incident_id = $2))",
        )
        .bind(e.id.to_string())
        .bind(e.incident_id.to_string())
        .bind(e.stage.as_str())
        .bind(e.kind.as_str())
        .bind(e.body.clone())
        .bind(e.detail.to_string())
        .bind(e.author.to_string())
        .bind(e.created_ms)
        .bind(e.assignee.map(|u| u.to_string()))
        .bind(e.done_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A case's entries, oldest first.
    pub async fn incident_entries(
        &mut self,
        id: IncidentId,
    ) -> Result<Vec<IncidentEntry>, StoreError> {
        sql("SELECT * FROM incident_entries WHERE incident_id = $1 ORDER BY n")
            .bind(id.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(entry)
            .collect()
    }

    /// Marks a task of case `id` done; false when there is no such open task.
    pub async fn finish_incident_task(
        &mut self,
        id: IncidentId,
        task: IncidentEntryId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE incident_entries SET done_ms = $3 WHERE id = $2 \
             AND incident_id = $1 AND kind = 'task' AND done_ms IS NULL")
        .bind(id.to_string())
        .bind(task.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Each stage's owner of case `id`.
    pub async fn incident_owners(
        &mut self,
        id: IncidentId,
    ) -> Result<Vec<(IncidentStage, UserId)>, StoreError> {
        sql("SELECT stage, user_id FROM incident_owners WHERE incident_id = $1")
            .bind(id.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.name("stage", IncidentStage::parse)?,
                    row.parsed("user_id")?,
                ))
            })
            .collect()
    }

    /// Makes `user` the owner of `stage` of case `id`.
    pub async fn set_incident_owner(
        &mut self,
        id: IncidentId,
        stage: IncidentStage,
        user: UserId,
    ) -> Result<(), StoreError> {
        sql(
            "INSERT INTO incident_owners (incident_id, stage, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id, stage) DO UPDATE SET user_id = excluded.user_id",
        )
        .bind(id.to_string())
        .bind(stage.as_str())
        .bind(user.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Hours from a case's opening to its notification deadline (`None`: no clock).
    pub async fn incident_notify_hours(&mut self) -> Result<Option<i64>, StoreError> {
        let row = sql("SELECT notify_hours FROM incident_settings WHERE id = 1")
            .fetch_optional(self.conn())
            .await?;
        Ok(match row {
            Some(row) => row.opt_int("notify_hours")?,
            None => None,
        })
    }

    /// Sets the hours from a case's opening to its notification deadline.
    pub async fn set_incident_notify_hours(
        &mut self,
        hours: Option<i64>,
    ) -> Result<(), StoreError> {
        sql("UPDATE incident_settings SET notify_hours = $1 WHERE id = 1")
            .bind(hours)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Ends every share link the users of `subject` (a party, or one user)
    /// made and every session and API token they hold; answers (links,
    /// sessions). Containment and offboarding both end them this way.
    pub async fn end_links_and_sessions(
        &mut self,
        subject: uuid::Uuid,
        now_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let id = subject.to_string();
        let links = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE links SET revoked_ms = $2 WHERE revoked_ms IS NULL \
             AND created_by IN ({COVERED_USERS})"
        )))
        .bind(id.clone())
        .bind(now_ms)
        .execute(self.conn())
        .await?
        .rows_affected();
        let sessions = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE sessions SET revoked = 1 WHERE revoked = 0 AND user_id IN ({COVERED_USERS})"
        )))
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok((links, sessions))
    }
}
