//! The audit events, totally ordered by `seq`.
//!
//! On PostgreSQL, `append_event` first takes a transaction-scoped advisory lock, so
//! event-writing transactions commit in `seq` order and a reader paging with
//! `list_events(after, …)` never skips an event that commits later with a smaller
//! `seq`. The lock is held until commit: append events last in a transaction.
//! SQLite needs nothing, its writers being serialized already.
//!
//! [`Tx::search_events`] serves auditors' searches: every filter is optional,
//! the SQL is assembled from fixed fragments (values are always bound), and
//! migration 0003 indexes what the filters need.

use sqlx::any::AnyRow;

use super::search::{Bound, Search, numbered};
use super::{Tx, sql};
use crate::row::RowExt;
use crate::{Backend, StoreError};
use model::*;

/// The advisory lock key of the event sequencer. Do not change: nodes of
/// different versions must agree on it.
const EVENT_LOCK_KEY: i64 = 0x6375_7374_6f64_7901;

/// Events per multi-row insert (12 bound values each). Small on purpose: a
/// statement of every size from 1 to this is prepared once and cached, and
/// sqlx resolves each bound value's name by a scan over the statement's
/// parameters, so binding costs grow with the square of a statement's size
/// (profiled: with 1,024-row statements, parsing and name lookups took a
/// third of the CPU of an audited request).
const EVENT_ROWS: usize = 16;

pub(super) fn event(row: &AnyRow) -> Result<Event, StoreError> {
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

/// What an event search keeps; every field is optional and they combine with
/// AND. Paging is by `seq`: events with `seq > after` (and `seq < before` when
/// given), ascending, or descending with `newest_first`, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// The acting user.
    pub actor: Option<UserId>,
    /// Events by a user of the party, about the party, or about one of its users.
    pub party: Option<PartyId>,
    /// Events about the room, one of its files (deleted ones too), its
    /// grants, uploads into it that were refused or held (`room:<id>/<path>`)
    /// and its held versions (`version:<id>`).
    pub room: Option<RoomId>,
    /// Events about the file.
    pub file: Option<FileId>,
    /// Events whose target is exactly this (e.g. `review:<id>`).
    pub target: Option<String>,
    /// The exact action name.
    pub action: Option<String>,
    /// Actions starting with this text (e.g. `file.`).
    pub action_prefix: Option<String>,
    pub outcome: Option<Outcome>,
    /// `time_ms >= from_ms`.
    pub from_ms: Option<i64>,
    /// `time_ms < to_ms`.
    pub to_ms: Option<i64>,
    /// Events that issued the copy or page carrying this mark id.
    pub mark_id: Option<String>,
    pub after: i64,
    /// `seq < before`: the next page of a search newest first.
    pub before: Option<i64>,
    /// Descending by `seq` (the newest first) instead of ascending.
    pub newest_first: bool,
    pub limit: i64,
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

    /// Appends many events with multi-row inserts and returns their `seq`s in
    /// the order given. Event writers are serialized (SQLite's write lock, the
    /// advisory lock on PostgreSQL), so one statement's rows get consecutive
    /// `seq`s in the order of its `VALUES`; the returned rows are matched back
    /// by sorting and each is checked against the event it should be.
    pub async fn append_events(&mut self, events: &[Event]) -> Result<Vec<i64>, StoreError> {
        if self.backend == Backend::Postgres {
            sql("SELECT pg_advisory_xact_lock($1)")
                .bind(EVENT_LOCK_KEY)
                .execute(self.conn())
                .await?;
        }
        let mut seqs = Vec::with_capacity(events.len());
        for group in events.chunks(EVENT_ROWS) {
            let tuples: Vec<String> = (0..group.len())
                .map(|r| {
                    let marks: Vec<String> = (1..=12).map(|c| format!("${}", r * 12 + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let text = format!(
                "INSERT INTO events (time_ms, actor_user, actor_party, action, target, \
                 outcome, reason, source_addr, user_agent, request_id, mark_id, detail) \
                 VALUES {} RETURNING seq, action, target",
                tuples.join(", ")
            );
            // Only numbered placeholders are formatted into the text.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
            for event in group {
                let detail = serde_json::to_string(&event.detail)
                    .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
                query = query
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
                    .bind(detail);
            }
            let mut rows = query
                .fetch_all(self.conn())
                .await?
                .iter()
                .map(|row| Ok((row.int("seq")?, row.text("action")?, row.text("target")?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            rows.sort_unstable_by_key(|r| r.0);
            if rows.len() != group.len() {
                return Err(StoreError::Corrupt(format!(
                    "inserted {} events, got {} back",
                    group.len(),
                    rows.len()
                )));
            }
            for (event, (seq, action, target)) in group.iter().zip(rows) {
                if action != event.action || target != event.target {
                    return Err(StoreError::Corrupt(format!(
                        "event {seq} came back out of order from a multi-row insert"
                    )));
                }
                seqs.push(seq);
            }
        }
        Ok(seqs)
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

    /// The events `filter` keeps, by `seq` (descending with `newest_first`).
    pub async fn search_events(&mut self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        use Bound::{Int, Text};
        let mut q = Search::default();
        q.push(
            "SELECT * FROM events WHERE seq > ?",
            vec![Int(filter.after)],
        );
        if let Some(user) = filter.actor {
            q.push(" AND actor_user = ?", vec![Text(user.to_string())]);
        }
        if let Some(party) = filter.party {
            let p = party.to_string();
            q.push(
                " AND (actor_party = ? OR target = ? OR target IN \
                 (SELECT 'user:' || id FROM users WHERE party_id = ?))",
                vec![Text(p.clone()), Text(format!("party:{p}")), Text(p)],
            );
        }
        if let Some(room) = filter.room {
            let r = room.to_string();
            // Uploads refused or held before their file existed name the room
            // and the path (`room:<id>/<path>`); a held version's own events
            // (`dlp.hold`, `dlp.review_read`, `dlp.reject`) name the version,
            // which lives under a file of the room (a hidden one while held).
            // substr counts characters on both backends and is exact, where
            // LIKE would treat `_` and `%` in a path as wildcards.
            let prefix = format!("room:{r}/");
            let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
            q.push(
                " AND (target = ? OR target IN (SELECT 'file:' || id FROM files WHERE room_id = ?) \
                 OR target IN (SELECT 'grant:' || id FROM grants WHERE room_id = ?) \
                 OR substr(target, 1, CAST(? AS INTEGER)) = ? \
                 OR target IN (SELECT 'version:' || v.id FROM versions v \
                 JOIN files f ON f.id = v.file_id WHERE f.room_id = ?))",
                vec![
                    Text(format!("room:{r}")),
                    Text(r.clone()),
                    Text(r.clone()),
                    Int(chars),
                    Text(prefix),
                    Text(r),
                ],
            );
        }
        if let Some(file) = filter.file {
            q.push(" AND target = ?", vec![Text(format!("file:{file}"))]);
        }
        if let Some(target) = &filter.target {
            q.push(" AND target = ?", vec![Text(target.clone())]);
        }
        if let Some(action) = &filter.action {
            q.push(" AND action = ?", vec![Text(action.clone())]);
        }
        if let Some(prefix) = &filter.action_prefix {
            // substr counts characters on both backends; LIKE would not be exact
            // (SQLite folds ASCII case, `_` and `%` are wildcards).
            let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
            q.push(
                " AND substr(action, 1, CAST(? AS INTEGER)) = ?",
                vec![Int(chars), Text(prefix.clone())],
            );
        }
        if let Some(outcome) = filter.outcome {
            q.push(" AND outcome = ?", vec![Text(outcome.as_str().to_owned())]);
        }
        if let Some(from) = filter.from_ms {
            q.push(" AND time_ms >= ?", vec![Int(from)]);
        }
        if let Some(to) = filter.to_ms {
            q.push(" AND time_ms < ?", vec![Int(to)]);
        }
        if let Some(mark) = &filter.mark_id {
            q.push(" AND mark_id = ?", vec![Text(mark.clone())]);
        }
        if let Some(before) = filter.before {
            q.push(" AND seq < ?", vec![Int(before)]);
        }
        let order = if filter.newest_first {
            " ORDER BY seq DESC LIMIT ?"
        } else {
            " ORDER BY seq LIMIT ?"
        };
        q.push(order, vec![Int(filter.limit.max(0))]);
        q.query()
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(event)
            .collect()
    }

    /// The event recorded as `seq`, if any.
    pub async fn event(&mut self, seq: i64) -> Result<Option<Event>, StoreError> {
        sql("SELECT * FROM events WHERE seq = $1")
            .bind(seq)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(event)
            .transpose()
    }

    /// The events recorded as `seqs` (those that exist), ascending by `seq`.
    pub async fn events_by_seq(&mut self, seqs: &[i64]) -> Result<Vec<Event>, StoreError> {
        let mut found = Vec::with_capacity(seqs.len());
        for chunk in seqs.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let text = format!("SELECT * FROM events WHERE seq IN ({marks})");
            // The text is made of fixed words and `?` marks only.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(numbered(&text, 0)));
            for &seq in chunk {
                query = query.bind(seq);
            }
            let rows = query.fetch_all(self.conn()).await?;
            for row in &rows {
                found.push(event(row)?);
            }
        }
        found.sort_by_key(|e| e.seq);
        Ok(found)
    }

    /// Replaces the personal data of event `seq` by the redacted `event`
    /// (source address, user agent and detail; the other columns stay).
    pub async fn redact_event_row(&mut self, seq: i64, event: &Event) -> Result<(), StoreError> {
        let detail = serde_json::to_string(&event.detail)
            .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
        let done =
            sql("UPDATE events SET source_addr = $1, user_agent = $2, detail = $3 WHERE seq = $4")
                .bind(event.source_addr.clone())
                .bind(event.user_agent.clone())
                .bind(detail)
                .bind(seq)
                .execute(self.conn())
                .await?;
        super::touched(done.rows_affected())
    }
}
