//! Data-loss prevention: a room's DLP policy (per direction, an action per
//! severity and for uninspectable content), the quarantine of held uploads
//! with its review, and the administrators' custom detectors.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::dlp_policy::{
    CustomRule, DirectionPolicy, DlpAction, DlpPolicy, HeldUpload, ImportMode, Review, RoomDlp,
    Severity, Skipped, Unsupported,
};

use app::{App, AppError, ErrorCode, Rooms, act};
use model::{RoomId, VersionId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// The actions of one direction: `allow`, `notify`, `justify`, `quarantine`
/// (inbound only) or `block`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectionDto {
    pub low: String,
    pub medium: String,
    pub high: String,
    pub critical: String,
    /// Content that cannot be inspected (encrypted, corrupt, too large).
    pub uninspectable: String,
}

/// A room's DLP policy.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DlpPolicyDto {
    /// Uploads into the room.
    pub inbound: DirectionDto,
    /// Downloads and views out of the room.
    pub outbound: DirectionDto,
    /// Uploads the antivirus finds infected: `quarantine` (the default; held,
    /// never readable, only rejected) or `block`.
    #[serde(default)]
    pub infected: Option<String>,
}

/// A room's DLP policy and where it comes from.
#[derive(Serialize, ToSchema)]
pub struct RoomDlpDto {
    pub policy: DlpPolicyDto,
    /// `room` (set for the room) or `default` (the default for its sharing).
    pub source: String,
}

impl From<&DirectionPolicy> for DirectionDto {
    fn from(d: &DirectionPolicy) -> Self {
        DirectionDto {
            low: d.low.as_str().into(),
            medium: d.medium.as_str().into(),
            high: d.high.as_str().into(),
            critical: d.critical.as_str().into(),
            uninspectable: d.uninspectable.as_str().into(),
        }
    }
}

impl DirectionDto {
    fn policy(&self) -> Result<DirectionPolicy, AppError> {
        Ok(DirectionPolicy {
            low: DlpAction::parse(&self.low)?,
            medium: DlpAction::parse(&self.medium)?,
            high: DlpAction::parse(&self.high)?,
            critical: DlpAction::parse(&self.critical)?,
            uninspectable: DlpAction::parse(&self.uninspectable)?,
        })
    }
}

impl From<RoomDlp> for RoomDlpDto {
    fn from(r: RoomDlp) -> Self {
        RoomDlpDto {
            policy: DlpPolicyDto {
                inbound: (&r.policy.inbound).into(),
                outbound: (&r.policy.outbound).into(),
                infected: Some(r.policy.infected.as_str().into()),
            },
            source: if r.set { "room" } else { "default" }.into(),
        }
    }
}

/// The room's DLP policy (room managers, admins).
#[utoipa::path(get, path = "/rooms/{id}/dlp", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RoomDlpDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_room_dlp(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<RoomDlpDto>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::DlpPolicy)
        .await?;
    let got = Rooms(&app).room_dlp(auth).await?;
    Ok(Json(got.into()))
}

/// Sets the room's DLP policy (room managers, admins); recorded as `dlp.policy`.
#[utoipa::path(put, path = "/rooms/{id}/dlp", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), request_body = DlpPolicyDto, responses((status = 200, body = RoomDlpDto), (status = 400, body = ErrorBody, description = "dlp_bad_policy"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_room_dlp(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<DlpPolicyDto>,
) -> Result<Json<RoomDlpDto>, ApiError> {
    let policy = DlpPolicy {
        inbound: req.inbound.policy()?,
        outbound: req.outbound.policy()?,
        infected: match &req.infected {
            Some(a) => DlpAction::parse(a)?,
            None => DlpAction::Quarantine,
        },
    };
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::DlpPolicy)
        .await?;
    let set = Rooms(&app).set_room_dlp(auth, policy).await?;
    Ok(Json(set.into()))
}

/// A version held for review.
#[derive(Serialize, ToSchema)]
pub struct HeldDto {
    pub version_id: String,
    pub room_id: String,
    pub path: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: String,
    /// The action that held it and the findings' redacted summary
    /// (`max_severity`, `detectors`: id → count, `uninspectable`).
    #[schema(value_type = Object)]
    pub reason: serde_json::Value,
    /// `held`, `released` or `rejected`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
    /// The malware signature the antivirus found, when it is held as
    /// infected (it can then only be rejected, and nobody may read it).
    pub signature: Option<String>,
}

impl From<&HeldUpload> for HeldDto {
    fn from(h: &HeldUpload) -> Self {
        HeldDto {
            version_id: h.version_id.to_string(),
            room_id: h.room_id.to_string(),
            path: h.path.clone(),
            size: h.size,
            sha256: hex::encode(&h.sha256),
            uploaded_by: h.uploaded_by.to_string(),
            created_at: rfc3339(h.created_ms),
            reason: h.reason.clone(),
            state: h.state.into(),
            decided_by: h.decided_by.map(|u| u.to_string()),
            decided_at: h.decided_ms.map(rfc3339),
            note: h.note.clone(),
            signature: h.signature.clone(),
        }
    }
}

/// Held versions.
#[derive(Serialize, ToSchema)]
pub struct HeldList {
    pub items: Vec<HeldDto>,
}

/// Which holds to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// Also the decided ones.
    #[serde(default)]
    pub all: bool,
}

/// A reviewer's note.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReviewDto {
    /// One line, at most 1000 characters; recorded with the decision.
    #[serde(default)]
    pub note: Option<String>,
}

/// Uploads held for review, oldest first (security officers, admins).
#[utoipa::path(get, path = "/dlp/quarantine", tag = "dlp", security(("bearer" = [])), params(QuarantineQuery), responses((status = 200, body = HeldList), (status = 403, body = ErrorBody)))]
pub async fn list_quarantine(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<QuarantineQuery>,
) -> Result<Json<HeldList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::DlpReview).await?;
    let held = Rooms(&app).list_quarantine(auth, q.all).await?;
    Ok(Json(HeldList {
        items: held.iter().map(HeldDto::from).collect(),
    }))
}

async fn review(
    app: &App,
    meta: &app::RequestMeta,
    a: &Authed,
    raw: &str,
    review: Review,
    req: ReviewDto,
) -> Result<Json<HeldDto>, ApiError> {
    let version = id::<VersionId>(raw)?;
    let auth = app.system(meta, &a.principal, act::DlpReview).await?;
    let decided = Rooms(app)
        .review_held(auth, version, review, req.note.as_deref())
        .await?;
    Ok(Json(HeldDto::from(&decided)))
}

/// The content of an upload still held, for its review (security officers,
/// admins); recorded as `dlp.review_read`.
#[utoipa::path(get, path = "/dlp/quarantine/{version}/content", tag = "dlp", security(("bearer" = [])), params(("version" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn held_content(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let version = id::<VersionId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::DlpReview).await?;
    let d = Rooms(&app).held_content(auth, version).await?;
    let size = u64::try_from(d.info.size).unwrap_or(0);
    let mut response = (StatusCode::OK, Body::from_stream(d.body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    // Never rendered by a browser that fetched it: it may be anything.
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    Ok(response)
}

/// Releases a held upload: it becomes the newest version of its file
/// (security officers, admins); recorded as `dlp.release`.
#[utoipa::path(post, path = "/dlp/quarantine/{version}/release", tag = "dlp", security(("bearer" = [])), params(("version" = String, Path)), request_body = ReviewDto, responses((status = 200, body = HeldDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already decided")))]
pub async fn release(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<ReviewDto>,
) -> Result<Json<HeldDto>, ApiError> {
    review(&app, &meta, &a, &raw, Review::Release, req).await
}

/// Rejects a held upload: it is never shown (kept encrypted for the record)
/// (security officers, admins); recorded as `dlp.reject`.
#[utoipa::path(post, path = "/dlp/quarantine/{version}/reject", tag = "dlp", security(("bearer" = [])), params(("version" = String, Path)), request_body = ReviewDto, responses((status = 200, body = HeldDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already decided")))]
pub async fn reject(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<ReviewDto>,
) -> Result<Json<HeldDto>, ApiError> {
    review(&app, &meta, &a, &raw, Review::Reject, req).await
}

/// The custom detectors.
#[derive(Serialize, ToSchema)]
pub struct RuleList {
    /// Each `{id, message, severity, kind}`, `kind` one of `{"keywords": [..]}`,
    /// `{"dictionary": {"terms": [..], "min_distinct": n}}`, `{"regex": ".."}`,
    /// `{"pattern": {regex, secret_group, entropy, keywords, path, tags,
    /// allowlists: [{description, condition, regexes, regex_target, stopwords,
    /// paths}]}}` (docs/DLP.md).
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<CustomRule>,
}

/// The custom detectors (security officers, admins).
#[utoipa::path(get, path = "/dlp/rules", tag = "dlp", security(("bearer" = [])), responses((status = 200, body = RuleList), (status = 403, body = ErrorBody)))]
pub async fn list_rules(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<RuleList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::DlpReview).await?;
    let items = Rooms(&app).dlp_rules(auth).await?;
    Ok(Json(RuleList { items }))
}

/// Adds a custom detector (admins); recorded as `dlp.rule_add`. Stored
/// verdicts are renewed on their next download or view.
#[utoipa::path(post, path = "/dlp/rules", tag = "dlp", security(("bearer" = [])), request_body(content = Object, description = "`{id, message, severity, kind}`"), responses((status = 201, body = Object), (status = 400, body = ErrorBody, description = "dlp_bad_rule_id, dlp_bad_regex, …"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_rule(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(rule): ApiJson<CustomRule>,
) -> Result<(StatusCode, Json<CustomRule>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::PolicyApply).await?;
    let added = Rooms(&app).add_dlp_rule(auth, rule).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Removes a custom detector (admins); recorded as `dlp.rule_remove`.
#[utoipa::path(delete, path = "/dlp/rules/{id}", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_rule(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let auth = app.system(&meta, &a.principal, act::PolicyApply).await?;
    Rooms(&app).remove_dlp_rule(auth, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How an import treats the stored rules, and its rules' severity.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `merge` (the default): the imported rules replace the stored rules
    /// of the same ids, the others stay; `replace`: they replace every
    /// stored custom rule.
    #[serde(default)]
    pub mode: Option<String>,
    /// The severity of the imported rules' findings: `low`, `medium`,
    /// `high` (the default) or `critical`.
    #[serde(default)]
    pub severity: Option<String>,
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportDto {
    /// The ids of the rules imported, in the configuration's order.
    pub imported: Vec<String>,
    /// The rules left out, each `{rule, reason}`.
    #[schema(value_type = Vec<Object>)]
    pub skipped: Vec<Skipped>,
    /// The settings not honoured, each `{rule, feature, detail}` (`rule`
    /// null for the configuration itself, e.g. `extend.useDefault`).
    #[schema(value_type = Vec<Object>)]
    pub unsupported: Vec<Unsupported>,
    /// The stored rules removed: replaced by an imported rule of the same
    /// id, or all of them with `mode=replace`.
    pub removed: Vec<String>,
}

/// Imports a gitleaks configuration (the body, TOML) as custom pattern
/// rules (admins); each rule added or removed is recorded as
/// `dlp.rule_add` or `dlp.rule_remove`.
#[utoipa::path(post, path = "/dlp/rules/import", tag = "dlp", security(("bearer" = [])), params(ImportQuery), request_body(content = String, content_type = "text/plain", description = "a gitleaks configuration (TOML); any content type is read as UTF-8 text"), responses((status = 200, body = ImportDto), (status = 400, body = ErrorBody, description = "dlp_bad_gitleaks_config, …"), (status = 403, body = ErrorBody)))]
pub async fn import_rules(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<Json<ImportDto>, ApiError> {
    let mode = ImportMode::parse(q.mode.as_deref().unwrap_or("merge"))?;
    let severity = Severity::parse(q.severity.as_deref().unwrap_or("high"))
        .map_err(|e| AppError::invalid(ErrorCode::InvalidField, e.to_string()))?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        AppError::invalid(
            ErrorCode::DlpBadGitleaksConfig,
            "the configuration is not UTF-8 text",
        )
    })?;
    let auth = app.system(&meta, &a.principal, act::PolicyApply).await?;
    let done = Rooms(&app)
        .import_gitleaks(auth, text, mode, severity)
        .await?;
    Ok(Json(ImportDto {
        imported: done.import.rules.iter().map(|r| r.id.clone()).collect(),
        skipped: done.import.skipped,
        unsupported: done.import.unsupported,
        removed: done.removed,
    }))
}
