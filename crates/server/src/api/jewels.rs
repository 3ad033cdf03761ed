//! Crown jewels (the owner's admins and security officers, `jewels.manage`):
//! documents registered as fingerprints — from a file in a room, from every
//! file of a room or folder, or uploaded for registration only — listed,
//! removed, and exported for `custody scan --registry` (docs/crown-jewels.md).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::jewels::{JewelInfo, MAX_JEWEL_BYTES, SkippedFile};
use app::{App, ErrorCode, Jewels, act};
use model::{FileId, RoomId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::limited;

/// A registered crown jewel: its name, where it came from and its
/// fingerprints' count; never its content.
#[derive(Serialize, ToSchema)]
pub struct JewelDto {
    pub id: String,
    /// The name findings give it: the file's path, or the name given an upload.
    pub name: String,
    /// `file` (a file of a room) or `upload` (uploaded for registration only).
    pub source: String,
    pub room_id: Option<String>,
    pub file_id: Option<String>,
    pub version_id: Option<String>,
    /// Bytes registered.
    pub size: i64,
    pub sha256: String,
    /// How many fingerprints it is kept as.
    pub prints: i64,
    pub registered_by: String,
    pub registered_by_email: Option<String>,
    pub registered_at: String,
}

impl From<&JewelInfo> for JewelDto {
    fn from(j: &JewelInfo) -> Self {
        JewelDto {
            id: j.id.clone(),
            name: j.name.clone(),
            source: j.source.into(),
            room_id: j.room_id.map(|r| r.to_string()),
            file_id: j.file_id.map(|f| f.to_string()),
            version_id: j.version_id.map(|v| v.to_string()),
            size: j.size,
            sha256: hex::encode(&j.sha256),
            prints: j.prints,
            registered_by: j.registered_by.to_string(),
            registered_by_email: j.registered_by_email.clone(),
            registered_at: rfc3339(j.registered_ms),
        }
    }
}

/// The registered crown jewels, oldest first.
#[derive(Serialize, ToSchema)]
pub struct JewelList {
    pub items: Vec<JewelDto>,
}

/// Which files of a room to register.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TreeRequest {
    /// A folder of the room (its files and those below it); the whole room
    /// when absent or empty.
    #[serde(default)]
    pub folder: Option<String>,
}

/// A file of a tree left out, and why.
#[derive(Serialize, ToSchema)]
pub struct SkippedDto {
    pub path: String,
    /// `jewel_empty`, `jewel_not_text`, `jewel_too_small`, `jewel_duplicate`
    /// or `payload_too_large`.
    pub code: String,
    pub message: String,
}

impl From<&SkippedFile> for SkippedDto {
    fn from(s: &SkippedFile) -> Self {
        SkippedDto {
            path: s.path.clone(),
            code: s.code.as_str().into(),
            message: s.message.clone(),
        }
    }
}

/// What registering a tree did.
#[derive(Serialize, ToSchema)]
pub struct TreeDto {
    pub registered: Vec<JewelDto>,
    pub skipped: Vec<SkippedDto>,
}

/// The name of a document uploaded for registration.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The name findings give it (1 to 200 characters), e.g. `src/engine.rs`.
    pub name: String,
}

/// The registered crown jewels (the owner's admins and security officers).
#[utoipa::path(get, path = "/jewels", tag = "dlp", security(("bearer" = [])), responses((status = 200, body = JewelList), (status = 403, body = ErrorBody)))]
pub async fn list_jewels(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<JewelList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    let items = Jewels(&app).list(auth).await?;
    Ok(Json(JewelList {
        items: items.iter().map(JewelDto::from).collect(),
    }))
}

/// Registers the current version of a file of any room as a crown jewel:
/// its fingerprints are kept, never its content; recorded as `jewel.register`.
#[utoipa::path(post, path = "/jewels/files/{id}", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = JewelDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register_file(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<(StatusCode, Json<JewelDto>), ApiError> {
    let file = id::<FileId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    let jewel = Jewels(&app).register_file(auth, file).await?;
    Ok((StatusCode::CREATED, Json(JewelDto::from(&jewel))))
}

/// Registers every file of a room (or of one of its folders) as crown
/// jewels; files that cannot be registered are listed with their code.
#[utoipa::path(post, path = "/jewels/rooms/{id}", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), request_body = TreeRequest, responses((status = 200, body = TreeDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn register_tree(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<TreeRequest>,
) -> Result<Json<TreeDto>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    let done = Jewels(&app)
        .register_tree(auth, room, req.folder.as_deref())
        .await?;
    Ok(Json(TreeDto {
        registered: done.registered.iter().map(JewelDto::from).collect(),
        skipped: done.skipped.iter().map(SkippedDto::from).collect(),
    }))
}

/// Registers a document uploaded for registration only (the body, at most
/// 32 MiB): it is fingerprinted and its content discarded; recorded as
/// `jewel.register`.
#[utoipa::path(post, path = "/jewels/uploads", tag = "dlp", security(("bearer" = [])), params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = JewelDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register_upload(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<JewelDto>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    let content = limited::read(
        body.into_data_stream(),
        limited::declared(&headers),
        MAX_JEWEL_BYTES,
    )
    .await
    .map_err(|short| match short {
        limited::Short::TooLarge => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "a crown jewel uploaded for registration is at most {} MiB",
                MAX_JEWEL_BYTES >> 20
            ),
        ),
        limited::Short::Failed(e) => app::AppError::BodyAborted(e).into(),
    })?;
    let jewel = Jewels(&app).register_upload(auth, &q.name, content).await?;
    Ok((StatusCode::CREATED, Json(JewelDto::from(&jewel))))
}

/// Removes a crown jewel from the registry; recorded as `jewel.unregister`.
#[utoipa::path(delete, path = "/jewels/{id}", tag = "dlp", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unregister_jewel(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    Jewels(&app).unregister(auth, &raw).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The registry exported for `custody scan --registry FILE` (JSON: the
/// documents' names, sizes, digests and fingerprints, no content);
/// recorded as `jewel.export`.
#[utoipa::path(get, path = "/jewels/export", tag = "dlp", security(("bearer" = [])), responses((status = 200, content_type = "application/json", body = Object), (status = 403, body = ErrorBody)))]
pub async fn export_jewels(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Response, ApiError> {
    let auth = app.system(&meta, &a.principal, act::JewelsManage).await?;
    let (json, _) = Jewels(&app).export(auth).await?;
    Ok(export_response(json))
}

/// The export as a JSON attachment.
pub(crate) fn export_response(json: String) -> Response {
    let mut response = (StatusCode::OK, Body::from(json)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"crown-jewels.json\""),
    );
    response
}
