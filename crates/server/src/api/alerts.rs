//! The alerts the watcher raised (docs/watch.md): listed and read by the
//! owner's security officers and admins, who confirm them or dismiss them with
//! a reason.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{Alerts, App, Feedback, NamedAlert, act};
use model::{AlertId, AlertStatus};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// An alert.
#[derive(Serialize, ToSchema)]
pub struct AlertDto {
    pub id: String,
    /// `user` or `party`.
    pub entity: String,
    /// The user's or party's id.
    pub entity_id: String,
    /// The user's e-mail or the party's name.
    pub entity_name: String,
    /// The user's party, for an alert about a user.
    pub party_id: Option<String>,
    /// The day it is about (`YYYY-MM-DD`, UTC).
    pub day: String,
    pub raised_at: String,
    /// `day` (the day's budget) or the rule raised at once: `burst`,
    /// `mass_before_end`, `new_country`, `trace`, `probing`, `spraying`.
    pub kind: String,
    pub score: f64,
    /// The sentence naming the top contributing features and the rules.
    pub explanation: String,
    /// The contributing features (`feature`, `value`, `median`,
    /// `peer_median`, `points`), the rules and the agreement's end.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// `open`, `confirmed` or `dismissed`.
    pub status: String,
    pub feedback_reason: Option<String>,
    pub feedback_by: Option<String>,
    pub feedback_at: Option<String>,
}

impl From<&NamedAlert> for AlertDto {
    fn from(named: &NamedAlert) -> Self {
        let a = &named.alert;
        AlertDto {
            id: a.id.to_string(),
            entity: a.entity.as_str().into(),
            entity_id: a.entity_id.to_string(),
            entity_name: named.who.clone(),
            party_id: a.party_id.map(|p| p.to_string()),
            day: date(a.day),
            raised_at: rfc3339(a.raised_ms),
            kind: a.kind.clone(),
            score: a.score_milli as f64 / 1000.0,
            explanation: a.sentence.clone(),
            detail: a.detail.clone(),
            status: a.status.as_str().into(),
            feedback_reason: a.feedback_reason.clone(),
            feedback_by: a.feedback_by.map(|u| u.to_string()),
            feedback_at: a.feedback_ms.map(rfc3339),
        }
    }
}

/// Alerts, newest first.
#[derive(Serialize, ToSchema)]
pub struct AlertList {
    pub items: Vec<AlertDto>,
}

/// Which alerts to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Only those of this status: `open`, `confirmed`, `dismissed`.
    pub status: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// A security officer's word on an alert.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackDto {
    /// `confirm` or `dismiss`.
    pub verdict: String,
    /// Why it is dismissed (required to dismiss): one line, 1 to 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The alerts the watcher raised, newest first (security officers, admins).
#[utoipa::path(get, path = "/alerts", tag = "alerts", security(("bearer" = [])), params(AlertQuery), responses((status = 200, body = AlertList), (status = 403, body = ErrorBody)))]
pub async fn list_alerts(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<AlertList>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| name(AlertStatus::parse, s))
        .transpose()?;
    let auth = app.system(&meta, &a.principal, act::AlertRead).await?;
    let alerts = Alerts(&app)
        .list(auth, status, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(AlertList {
        items: alerts.iter().map(AlertDto::from).collect(),
    }))
}

/// One alert (security officers, admins).
#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AlertDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_alert(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AlertDto>, ApiError> {
    let alert = id::<AlertId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::AlertRead).await?;
    let got = Alerts(&app).get(auth, alert).await?;
    Ok(Json(AlertDto::from(&got)))
}

/// Confirms an alert, or dismisses it with a reason (security officers,
/// admins); recorded as `alert.feedback` and kept for evaluation.
#[utoipa::path(post, path = "/alerts/{id}/feedback", tag = "alerts", security(("bearer" = [])), params(("id" = String, Path)), request_body = FeedbackDto, responses((status = 200, body = AlertDto), (status = 400, body = ErrorBody, description = "bad_reason, unknown_name"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn alert_feedback(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<FeedbackDto>,
) -> Result<Json<AlertDto>, ApiError> {
    let alert = id::<AlertId>(&raw)?;
    let feedback = feedback(&req.verdict, req.reason)?;
    let auth = app.system(&meta, &a.principal, act::AlertFeedback).await?;
    let done = Alerts(&app).feedback(auth, alert, feedback).await?;
    Ok(Json(AlertDto::from(&done)))
}

/// The feedback a verdict and a reason say.
pub(crate) fn feedback(verdict: &str, reason: Option<String>) -> Result<Feedback, ApiError> {
    match verdict {
        "confirm" => Ok(Feedback::Confirm),
        "dismiss" => Ok(Feedback::Dismiss(reason.unwrap_or_default())),
        other => Err(ApiError::from(app::AppError::from(model::UnknownName {
            kind: "verdict",
            value: other.chars().take(64).collect(),
        }))),
    }
}

/// `YYYY-MM-DD` of a day since the Unix epoch (UTC).
pub(crate) fn date(day: i64) -> String {
    let mut text = rfc3339(day.saturating_mul(86_400_000));
    text.truncate(10);
    text
}
