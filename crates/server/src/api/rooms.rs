//! Rooms and grants.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use app::{App, ErrorCode, NewGrant, Rooms, act};
use model::{Classification, GrantId, RoomId, RoomRole, SubjectKind};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// Rooms the caller may see.
#[utoipa::path(get, path = "/rooms", tag = "rooms", security(("bearer" = [])), responses((status = 200, body = RoomList), (status = 401, body = ErrorBody)))]
pub async fn list_rooms(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<RoomList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::RoomList).await?;
    let rooms = Rooms(&app).list_rooms(auth).await?;
    Ok(Json(RoomList {
        items: rooms.iter().map(RoomDto::from).collect(),
    }))
}

/// Creates a room; the caller becomes its manager.
#[utoipa::path(post, path = "/rooms", request_body = CreateRoom, tag = "rooms", security(("bearer" = [])), responses((status = 201, body = RoomDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_room(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateRoom>,
) -> Result<(StatusCode, Json<RoomDto>), ApiError> {
    let classification = name(Classification::parse, &req.classification)?;
    let auth = app.system(&meta, &a.principal, act::RoomCreate).await?;
    let room = Rooms(&app)
        .create_room(auth, &req.name, classification)
        .await?;
    Ok((StatusCode::CREATED, Json(RoomDto::from(&room))))
}

/// One room.
#[utoipa::path(get, path = "/rooms/{id}", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RoomDto), (status = 404, body = ErrorBody)))]
pub async fn get_room(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<RoomDto>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomView)
        .await?;
    let room = Rooms(&app).get_room(auth).await?;
    Ok(Json(RoomDto::from(&room)))
}

/// Renames or reclassifies a room, or replaces the agreements it requires.
#[utoipa::path(patch, path = "/rooms/{id}", request_body = PatchRoom, tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RoomDto), (status = 404, body = ErrorBody)))]
pub async fn patch_room(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<PatchRoom>,
) -> Result<Json<RoomDto>, ApiError> {
    let classification = req
        .classification
        .as_deref()
        .map(|c| name(Classification::parse, c))
        .transpose()?;
    let patch = app::RoomPatch {
        name: req.name,
        classification,
        required_agreements: req.required_agreements,
        tags: req.tags,
        access_window: req.access_window.map(|w| w.map(model::AccessWindow::from)),
    };
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomUpdate)
        .await?;
    let room = Rooms(&app).update_room(auth, patch).await?;
    Ok(Json(RoomDto::from(&room)))
}

/// Deletes a room.
#[utoipa::path(delete, path = "/rooms/{id}", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_room(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomDelete)
        .await?;
    Rooms(&app).delete_room(auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grants of a room.
#[utoipa::path(get, path = "/rooms/{id}/grants", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = GrantList), (status = 404, body = ErrorBody)))]
pub async fn list_grants(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<GrantList>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::GrantList)
        .await?;
    let grants = Rooms(&app).list_grants(auth).await?;
    Ok(Json(GrantList {
        items: grants.iter().map(GrantDto::from).collect(),
    }))
}

/// Grants a room role to a user or to every user of a party.
#[utoipa::path(post, path = "/rooms/{id}/grants", request_body = CreateGrant, tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = GrantDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_grant(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CreateGrant>,
) -> Result<(StatusCode, Json<GrantDto>), ApiError> {
    let new = NewGrant {
        subject_kind: name(SubjectKind::parse, &req.subject_kind)?,
        subject_id: req.subject_id.parse().map_err(|_| {
            ApiError::from(app::AppError::invalid(
                ErrorCode::UnknownSubject,
                "`subject_id` is not an id",
            ))
        })?,
        role: name(RoomRole::parse, &req.role)?,
        expires_ms: req
            .expires_at
            .as_deref()
            .map(|t| parse_rfc3339("expires_at", t))
            .transpose()?,
        reason: req.reason,
    };
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::GrantCreate)
        .await?;
    let grant = Rooms(&app).create_grant(auth, new).await?;
    Ok((StatusCode::CREATED, Json(GrantDto::from(&grant))))
}

/// Revokes a grant.
#[utoipa::path(delete, path = "/rooms/{id}/grants/{grant_id}", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path), ("grant_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_grant(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((room, grant)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (room, grant) = (id::<RoomId>(&room)?, id::<GrantId>(&grant)?);
    let auth = app
        .room(&meta, &a.principal, room, act::GrantRevoke)
        .await?;
    Rooms(&app).revoke_grant(auth, grant).await?;
    Ok(StatusCode::NO_CONTENT)
}
