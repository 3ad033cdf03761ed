//! The audit events, for auditors, security officers and admins: a search by
//! actor, party, room, file, action, outcome and time, paged by sequence
//! number; and redaction of an event's personal data (admins).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use app::events::EventFilter;
use app::{App, AppError, Audit, ErrorCode, act};

use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// Which events, and which page of them. Filters combine with AND.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The acting user's id.
    pub actor: Option<String>,
    /// A party id: events by its users, about it, or about one of its users.
    pub party: Option<String>,
    /// A room id: events about the room, its files (held and refused uploads
    /// too) and its grants.
    pub room: Option<String>,
    /// A file id: events about the file.
    pub file: Option<String>,
    /// An action (`file.download`), or a prefix ending in a dot (`file.`).
    pub action: Option<String>,
    /// `allowed` or `denied`.
    pub outcome: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only events before this time (RFC 3339).
    pub to: Option<String>,
    /// Only the events that issued the copy or page carrying this mark id (16 hex digits).
    pub mark: Option<String>,
    /// Only events with a greater sequence number.
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<i64>,
}

fn bad_filter(message: String) -> ApiError {
    ApiError::from(AppError::invalid(ErrorCode::BadFilter, message))
}

fn parsed_id<T: std::str::FromStr>(name: &str, raw: Option<String>) -> Result<Option<T>, ApiError> {
    raw.map(|r| {
        r.parse()
            .map_err(|_| bad_filter(format!("`{name}`: `{r}` is not an id")))
    })
    .transpose()
}

fn time_ms(name: &str, raw: Option<String>) -> Result<Option<i64>, ApiError> {
    raw.map(|r| {
        let t = OffsetDateTime::parse(&r, &Rfc3339)
            .map_err(|_| bad_filter(format!("`{name}`: `{r}` is not an RFC 3339 time")))?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| bad_filter(format!("`{name}`: `{r}` is out of range")))
    })
    .transpose()
}

impl EventQuery {
    /// The checked filter; `limit` defaults to `default_limit`.
    pub(crate) fn filter(self, default_limit: i64) -> Result<EventFilter, ApiError> {
        let (action, action_prefix) = match self.action {
            Some(a) if a.ends_with('.') => (None, Some(a)),
            other => (other, None),
        };
        let outcome = self
            .outcome
            .map(|o| super::name(model::Outcome::parse, &o))
            .transpose()?;
        Ok(EventFilter {
            actor: parsed_id("actor", self.actor)?,
            party: parsed_id("party", self.party)?,
            room: parsed_id("room", self.room)?,
            file: parsed_id("file", self.file)?,
            target: None,
            action,
            action_prefix,
            outcome,
            from_ms: time_ms("from", self.from)?,
            to_ms: time_ms("to", self.to)?,
            mark_id: self
                .mark
                .map(|m| {
                    let ok = m.len() == 16 && m.bytes().all(|b| b.is_ascii_hexdigit());
                    if ok {
                        Ok(m.to_ascii_lowercase())
                    } else {
                        Err(bad_filter(format!("`mark`: `{m}` is not 16 hex digits")))
                    }
                })
                .transpose()?,
            after: self.after.unwrap_or(0),
            before: None,
            newest_first: false,
            limit: self.limit.unwrap_or(default_limit),
        })
    }
}

/// Recorded events that match the filters, oldest first.
#[utoipa::path(get, path = "/events", params(EventQuery), tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody, description = "bad_filter, bad_time_range"), (status = 403, body = ErrorBody)))]
pub async fn list_events(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<EventList>, ApiError> {
    let filter = q.filter(100)?;
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let events = Audit(&app).search_events(auth, filter).await?;
    Ok(Json(EventList {
        items: events.iter().map(EventDto::from).collect(),
    }))
}

/// Why an event is redacted.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactRequest {
    /// 1–500 characters; recorded in the ledger (write no personal data here).
    pub reason: String,
}

/// A redaction done.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RedactionDto {
    /// The redacted event.
    pub seq: i64,
    /// Its leaf index in the ledger.
    pub index: u64,
    /// The event that records the redaction.
    pub redaction_seq: i64,
}

/// Removes the personal data (source address, user agent, detail) of an event
/// from its row and its ledger leaf; the leaf keeps its original hash.
#[utoipa::path(post, path = "/events/{seq}/redact", tag = "audit", security(("bearer" = [])),
    params(("seq" = String, Path, description = "The event's sequence number")),
    request_body = RedactRequest,
    responses((status = 200, body = RedactionDto), (status = 400, body = ErrorBody, description = "bad_reason, event_not_in_ledger"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already redacted")))]
pub async fn redact_event(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(seq): ApiPath<String>,
    ApiJson(body): ApiJson<RedactRequest>,
) -> Result<Json<RedactionDto>, ApiError> {
    let seq: i64 = super::id(&seq)?;
    let auth = app.system(&meta, &a.principal, act::EventRedact).await?;
    let done = Audit(&app).redact_event(auth, seq, &body.reason).await?;
    Ok(Json(RedactionDto {
        seq: done.seq,
        index: done.index,
        redaction_seq: done.redaction_seq,
    }))
}
