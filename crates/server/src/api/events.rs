//! The audit events, for auditors, security officers and admins.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use app::App;

use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiQuery, ErrorBody};

/// Paging of the event list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events with a greater sequence number.
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<i64>,
}

/// Recorded events, oldest first.
#[utoipa::path(get, path = "/events", params(EventQuery), tag = "audit", security(("bearer" = [])), responses((status = 200, body = EventList), (status = 403, body = ErrorBody)))]
pub async fn list_events(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<EventList>, ApiError> {
    let events = app
        .list_events(
            &meta,
            &a.principal,
            q.after.unwrap_or(0),
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(EventList {
        items: events.iter().map(EventDto::from).collect(),
    }))
}
