//! Destruction of rooms by crypto-shredding, retention, certificates of
//! destruction and legal holds (docs/destruction.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::certificate::Certificate;
use app::{App, Files, HoldScope, Holds, Rooms, act};
use model::{FileId, PartyId, RoomId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// A request to destroy a room, and what became of it.
#[derive(Serialize, ToSchema)]
pub struct DestructionDto {
    pub id: String,
    pub room_id: String,
    /// `room` (the whole room is destroyed) or `files` (some of its files are
    /// purged: the room is re-keyed and the old generation of its key destroyed).
    pub kind: String,
    pub reason: String,
    /// `requested`, `rejected`, `destroying` or `destroyed`.
    pub state: String,
    /// Whether a second person (an admin or security officer other than the
    /// requester) must approve it: rooms above `internal`.
    pub needs_approval: bool,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    pub executed_by: Option<String>,
    pub started_at: Option<String>,
    pub destroyed_at: Option<String>,
    /// What is (to be) destroyed: the room, its key ids and every version by digest.
    #[schema(value_type = Object)]
    pub manifest: serde_json::Value,
    /// SHA-256 of the manifest's exact JSON: whoever approves or confirms sends it back.
    pub manifest_sha256: String,
    /// The `room.destroyed` event, once destroyed.
    pub event_seq: Option<i64>,
}

impl From<&app::Destruction> for DestructionDto {
    fn from(d: &app::Destruction) -> Self {
        DestructionDto {
            id: d.id.clone(),
            room_id: d.room_id.to_string(),
            kind: d.kind.clone(),
            reason: d.reason.clone(),
            state: d.state.clone(),
            needs_approval: d.needs_approval,
            requested_by: d.requested_by.to_string(),
            requested_at: rfc3339(d.requested_ms),
            decided_by: d.decided_by.map(|u| u.to_string()),
            decided_at: d.decided_ms.map(rfc3339),
            decision_note: d.decision_note.clone(),
            executed_by: d.executed_by.map(|u| u.to_string()),
            started_at: d.started_ms.map(rfc3339),
            destroyed_at: d.destroyed_ms.map(rfc3339),
            manifest: serde_json::from_str(&d.manifest).unwrap_or(serde_json::Value::Null),
            manifest_sha256: d.manifest_sha256.clone(),
            event_seq: d.event_seq,
        }
    }
}

/// Destruction requests.
#[derive(Serialize, ToSchema)]
pub struct DestructionList {
    pub items: Vec<DestructionDto>,
}

/// Why a room should be destroyed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestDestruction {
    pub reason: String,
}

/// The manifest digest the caller was shown.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmDestruction {
    pub manifest_sha256: String,
}

/// Why a request is rejected, or a hold released.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// A room's retention period.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days after the room's creation when it is destroyed; `null`: kept.
    pub days: Option<i64>,
}

/// Which requests to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DestructionQuery {
    /// Only this room's.
    pub room: Option<String>,
}

/// Asks for a room's destruction: the answer lists every version it would
/// destroy and the manifest's digest to confirm with.
#[utoipa::path(post, path = "/rooms/{id}/destructions", request_body = RequestDestruction, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = DestructionDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_destruction(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RequestDestruction>,
) -> Result<(StatusCode, Json<DestructionDto>), ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomDestroy)
        .await?;
    let d = Rooms(&app).request_destruction(auth, &req.reason).await?;
    Ok((StatusCode::CREATED, Json(DestructionDto::from(&d))))
}

/// Confirms the destruction of a room at or below `internal`; it runs at once.
#[utoipa::path(post, path = "/rooms/{id}/destructions/{destruction}/confirm", request_body = ConfirmDestruction, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path), ("destruction" = String, Path)), responses((status = 200, body = DestructionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn confirm_destruction(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, destruction)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<ConfirmDestruction>,
) -> Result<Json<DestructionDto>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomDestroy)
        .await?;
    let d = Rooms(&app)
        .confirm_destruction(auth, &destruction, &req.manifest_sha256)
        .await?;
    Ok(Json(DestructionDto::from(&d)))
}

/// Sets or clears a room's retention period.
#[utoipa::path(put, path = "/rooms/{id}/retention", request_body = Retention, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Retention), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_retention(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Retention>,
) -> Result<Json<Retention>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomDestroy)
        .await?;
    Rooms(&app).set_retention(auth, req.days).await?;
    Ok(Json(req))
}

/// A file's retention period.
#[utoipa::path(get, path = "/files/{id}/retention", tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Retention), (status = 404, body = ErrorBody)))]
pub async fn get_file_retention(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Retention>, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::RoomDestroy)
        .await?;
    let days = Files(&app).file_retention(auth).await?;
    Ok(Json(Retention { days }))
}

/// Sets or clears a file's retention period: when it ends, every version of
/// the file is purged (at once at or below `internal`, after a second
/// person's approval above).
#[utoipa::path(put, path = "/files/{id}/retention", request_body = Retention, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Retention), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_file_retention(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Retention>,
) -> Result<Json<Retention>, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::RoomDestroy)
        .await?;
    Files(&app).set_file_retention(auth, req.days).await?;
    Ok(Json(req))
}

/// The grace period after which deleted files are purged.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeGraceDto {
    /// Days after a file's deletion when it is purged; `null`: deleted files are kept.
    pub grace_days: Option<i64>,
}

/// The grace period after which deleted files are purged (admins).
#[utoipa::path(get, path = "/purge-settings", tag = "destruction", security(("bearer" = [])), responses((status = 200, body = PurgeGraceDto), (status = 403, body = ErrorBody)))]
pub async fn get_purge_settings(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<PurgeGraceDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::RetentionManage)
        .await?;
    let grace = app::Purges(&app).purge_grace(auth).await?;
    Ok(Json(PurgeGraceDto {
        grace_days: grace.days,
    }))
}

/// Sets or clears the grace period after which deleted files are purged
/// (admins; 0 to 36,500 days).
#[utoipa::path(put, path = "/purge-settings", request_body = PurgeGraceDto, tag = "destruction", security(("bearer" = [])), responses((status = 200, body = PurgeGraceDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_purge_settings(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<PurgeGraceDto>,
) -> Result<Json<PurgeGraceDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::RetentionManage)
        .await?;
    let grace = app::Purges(&app)
        .set_purge_grace(auth, req.grace_days)
        .await?;
    Ok(Json(PurgeGraceDto {
        grace_days: grace.days,
    }))
}

/// Destruction requests, newest first.
#[utoipa::path(get, path = "/destructions", tag = "destruction", security(("bearer" = [])), params(DestructionQuery), responses((status = 200, body = DestructionList), (status = 403, body = ErrorBody)))]
pub async fn list_destructions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<DestructionQuery>,
) -> Result<Json<DestructionList>, ApiError> {
    let room = super::filter_id::<RoomId>("room", q.room.as_deref())?;
    let auth = app
        .system(&meta, &a.principal, act::DestructionRead)
        .await?;
    let items = Rooms(&app).list_destructions(auth, room).await?;
    Ok(Json(DestructionList {
        items: items.iter().map(DestructionDto::from).collect(),
    }))
}

/// One destruction request.
#[utoipa::path(get, path = "/destructions/{id}", tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DestructionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_destruction(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<DestructionDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::DestructionRead)
        .await?;
    let d = Rooms(&app).get_destruction(auth, &raw).await?;
    Ok(Json(DestructionDto::from(&d)))
}

/// A second person's approval: the destruction runs at once.
#[utoipa::path(post, path = "/destructions/{id}/approve", request_body = ConfirmDestruction, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DestructionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_destruction(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<ConfirmDestruction>,
) -> Result<Json<DestructionDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::DestructionDecide)
        .await?;
    let d = Rooms(&app)
        .approve_destruction(auth, &raw, &req.manifest_sha256)
        .await?;
    Ok(Json(DestructionDto::from(&d)))
}

/// Rejects a requested destruction.
#[utoipa::path(post, path = "/destructions/{id}/reject", request_body = Reason, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DestructionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject_destruction(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Reason>,
) -> Result<Json<DestructionDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::DestructionDecide)
        .await?;
    let d = Rooms(&app)
        .reject_destruction(auth, &raw, &req.reason)
        .await?;
    Ok(Json(DestructionDto::from(&d)))
}

/// The certificate of a completed destruction; `custody certificate verify`
/// checks it offline.
#[utoipa::path(get, path = "/destructions/{id}/certificate", tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn certificate(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Certificate>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::DestructionRead)
        .await?;
    Ok(Json(Rooms(&app).certificate(auth, &raw).await?))
}

/// A legal hold.
#[derive(Serialize, ToSchema)]
pub struct LegalHoldDto {
    pub id: String,
    /// `room` or `party`.
    pub scope: String,
    pub target: String,
    pub reason: String,
    pub set_by: String,
    pub set_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

impl From<&app::LegalHold> for LegalHoldDto {
    fn from(h: &app::LegalHold) -> Self {
        LegalHoldDto {
            id: h.id.clone(),
            scope: h.scope.clone(),
            target: h.target_id.clone(),
            reason: h.reason.clone(),
            set_by: h.set_by.to_string(),
            set_at: rfc3339(h.set_ms),
            released_by: h.released_by.map(|u| u.to_string()),
            released_at: h.released_ms.map(rfc3339),
            release_reason: h.release_reason.clone(),
        }
    }
}

/// Legal holds.
#[derive(Serialize, ToSchema)]
pub struct LegalHoldList {
    pub items: Vec<LegalHoldDto>,
}

/// A hold to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLegalHold {
    /// `room` or `party`.
    pub scope: String,
    /// The room's or party's id.
    pub target: String,
    pub reason: String,
}

/// Which holds to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldQuery {
    /// Released holds too.
    #[serde(default)]
    pub all: bool,
}

/// Legal holds, newest first (those in force unless `all`).
#[utoipa::path(get, path = "/legal-holds", tag = "destruction", security(("bearer" = [])), params(HoldQuery), responses((status = 200, body = LegalHoldList), (status = 403, body = ErrorBody)))]
pub async fn list_holds(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<HoldQuery>,
) -> Result<Json<LegalHoldList>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::LegalHoldManage)
        .await?;
    let holds = Holds(&app).list_holds(auth, !q.all).await?;
    Ok(Json(LegalHoldList {
        items: holds.iter().map(LegalHoldDto::from).collect(),
    }))
}

/// Puts a room or a party under a legal hold.
#[utoipa::path(post, path = "/legal-holds", request_body = NewLegalHold, tag = "destruction", security(("bearer" = [])), responses((status = 201, body = LegalHoldDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_hold(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<NewLegalHold>,
) -> Result<(StatusCode, Json<LegalHoldDto>), ApiError> {
    let scope = hold_scope(&req.scope, &req.target)?;
    let auth = app
        .system(&meta, &a.principal, act::LegalHoldManage)
        .await?;
    let hold = Holds(&app).set_hold(auth, scope, &req.reason).await?;
    Ok((StatusCode::CREATED, Json(LegalHoldDto::from(&hold))))
}

/// The scope of a hold from its kind and target id.
pub(crate) fn hold_scope(scope: &str, target: &str) -> Result<HoldScope, ApiError> {
    match scope {
        "room" => Ok(HoldScope::Room(id::<RoomId>(target.trim())?)),
        "party" => Ok(HoldScope::Party(id::<PartyId>(target.trim())?)),
        _ => Err(ApiError::new(
            app::ErrorCode::UnknownName,
            "a hold's scope is `room` or `party`",
        )),
    }
}

/// Releases a legal hold.
#[utoipa::path(post, path = "/legal-holds/{id}/release", request_body = Reason, tag = "destruction", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = LegalHoldDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn release_hold(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Reason>,
) -> Result<Json<LegalHoldDto>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::LegalHoldManage)
        .await?;
    let hold = Holds(&app).release_hold(auth, &raw, &req.reason).await?;
    Ok(Json(LegalHoldDto::from(&hold)))
}
