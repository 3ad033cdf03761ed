//! Upload requests (file drops) through the API: asking recipients for files
//! into a folder of a room (its secret answered once), a room's requests
//! (every one for its managers and the owner's admins, one's own for the
//! others who may ask), one request with the files it received, and revoking.
//! Sending files is the public pages' (`/u/{token}`, `web/upload_requests.rs`):
//! it has no API caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, AppError, ErrorCode, NewUploadRequest, UploadRequests, act};
use model::{MailAddress, RoomId, UploadRequest, UploadRequestId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A new upload request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// The folder files go into (a path prefix); absent or `/`: the room's top.
    #[serde(default)]
    pub folder: Option<String>,
    /// RFC 3339; cut to the creator's grant and the administrator's maximum
    /// (`link_max_days`); absent: that maximum.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Largest file in bytes; absent: the server's upload limit.
    #[serde(default)]
    pub max_file_bytes: Option<i64>,
    /// Most files, 1 to 1000; absent: 10.
    #[serde(default)]
    pub max_files: Option<i64>,
    /// The recipients' addresses (1 to 20; each proves it with a mailed code).
    pub recipients: Vec<String>,
    /// Shown to the recipients on the request's page (at most 2000 characters).
    #[serde(default)]
    pub message: Option<String>,
}

/// An upload request (never its secret, but once when made).
#[derive(Serialize, ToSchema)]
pub struct UploadRequestDto {
    pub id: String,
    pub room_id: String,
    /// `""` (the room's top) or a prefix ending in `/`.
    pub folder: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub max_file_bytes: i64,
    pub max_files: i64,
    /// Files taken so far (stored or held).
    pub files: i64,
    pub recipients: Vec<String>,
    pub message: Option<String>,
    pub revoked_at: Option<String>,
    /// `open`, `revoked`, `expired` or `full`, now.
    pub state: String,
    /// The request's path (`/u/<secret>`): only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl UploadRequestDto {
    fn of(r: &UploadRequest, now: i64, path: Option<String>) -> UploadRequestDto {
        UploadRequestDto {
            id: r.id.to_string(),
            room_id: r.room_id.to_string(),
            folder: r.folder.clone(),
            created_by: r.created_by.to_string(),
            created_at: rfc3339(r.created_ms),
            expires_at: rfc3339(r.expires_ms),
            max_file_bytes: r.max_file_bytes,
            max_files: r.max_files,
            files: r.files,
            recipients: r.recipients.clone(),
            message: r.message.clone(),
            revoked_at: r.revoked_ms.map(rfc3339),
            state: r.state(now).into(),
            path,
        }
    }
}

/// A file an upload request received.
#[derive(Serialize, ToSchema)]
pub struct ReceivedFileDto {
    /// The submission it came in (one digest e-mail per batch).
    pub batch_id: String,
    /// The name it was stored under (a fresh one when the name was taken),
    /// or as sent when refused.
    pub name: String,
    /// `stored`, `held` (for review) or `refused`.
    pub outcome: String,
    pub size: Option<i64>,
    /// The verified recipient who sent it.
    pub recipient: String,
    pub received_at: String,
}

/// An upload request with the files it received, newest first.
#[derive(Serialize, ToSchema)]
pub struct UploadRequestDetail {
    pub request: UploadRequestDto,
    pub received: Vec<ReceivedFileDto>,
}

/// Whether the caller manages every request of the room (else: their own).
async fn manages(
    app: &App,
    meta: &app::RequestMeta,
    a: &Authed,
    room: RoomId,
) -> Result<bool, ApiError> {
    Ok(app
        .permits_in_room(
            meta,
            &a.principal,
            room,
            &[app::authz::Action::UploadRequestManage],
        )
        .await?
        == [true])
}

/// Asks recipients for files into a folder of the room (the owner's users
/// who may upload in it); recorded as `upload_request.create`. The answer
/// holds the request's path once.
#[utoipa::path(post, path = "/rooms/{id}/upload-requests", tag = "upload requests", security(("bearer" = [])), params(("id" = String, Path)), request_body = CreateUploadRequest,
    responses((status = 201, body = UploadRequestDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_upload_request(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CreateUploadRequest>,
) -> Result<(StatusCode, Json<UploadRequestDto>), ApiError> {
    let room = id::<RoomId>(&raw)?;
    let expires_ms = req
        .expires_at
        .as_deref()
        .map(|t| parse_rfc3339("expires_at", t))
        .transpose()?;
    let recipients = req
        .recipients
        .iter()
        .map(|r| {
            MailAddress::parse(r).map_err(|e| {
                ApiError::from(AppError::invalid(
                    ErrorCode::InvalidEmail,
                    format!("`{r}`: {e}"),
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewUploadRequest {
        folder: req.folder.unwrap_or_default(),
        expires_ms,
        max_file_bytes: req.max_file_bytes,
        max_files: req.max_files,
        recipients,
        message: req.message,
    };
    let auth = app
        .room(&meta, &a.principal, room, act::UploadRequestCreate)
        .await?;
    let made = UploadRequests(&app).create_request(auth, new).await?;
    let path = format!("/u/{}", made.token);
    Ok((
        StatusCode::CREATED,
        Json(UploadRequestDto::of(
            &made.request,
            app.now_ms(),
            Some(path),
        )),
    ))
}

/// A room's upload requests: every one for its managers and the owner's
/// admins, the caller's own for the others who may ask for files.
#[utoipa::path(get, path = "/rooms/{id}/upload-requests", tag = "upload requests", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<UploadRequestDto>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_upload_requests(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Vec<UploadRequestDto>>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let requests = if manages(&app, &meta, &a, room).await? {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestManage)
            .await?;
        UploadRequests(&app).room_requests(auth).await?
    } else {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestCreate)
            .await?;
        UploadRequests(&app).own_requests(auth).await?
    };
    let now = app.now_ms();
    Ok(Json(
        requests
            .iter()
            .map(|r| UploadRequestDto::of(r, now, None))
            .collect(),
    ))
}

/// One upload request with the files it received (its creator, the room's
/// managers, the owner's admins).
#[utoipa::path(get, path = "/rooms/{id}/upload-requests/{request_id}", tag = "upload requests", security(("bearer" = [])), params(("id" = String, Path), ("request_id" = String, Path)),
    responses((status = 200, body = UploadRequestDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_upload_request(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, raw_request)): ApiPath<(String, String)>,
) -> Result<Json<UploadRequestDetail>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let request = id::<UploadRequestId>(&raw_request)?;
    let got = if manages(&app, &meta, &a, room).await? {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestManage)
            .await?;
        UploadRequests(&app).room_request(auth, request).await?
    } else {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestCreate)
            .await?;
        UploadRequests(&app).own_request(auth, request).await?
    };
    let now = app.now_ms();
    Ok(Json(UploadRequestDetail {
        request: UploadRequestDto::of(&got.request, now, None),
        received: got
            .files
            .iter()
            .map(|f| ReceivedFileDto {
                batch_id: f.batch_id.to_string(),
                name: f.name.clone(),
                outcome: f.outcome.as_str().into(),
                size: f.size,
                recipient: f.recipient.clone(),
                received_at: rfc3339(f.created_ms),
            })
            .collect(),
    }))
}

/// Revokes an upload request at once; recorded as `upload_request.revoke`.
#[utoipa::path(post, path = "/rooms/{id}/upload-requests/{request_id}/revoke", tag = "upload requests", security(("bearer" = [])), params(("id" = String, Path), ("request_id" = String, Path)),
    responses((status = 200, body = UploadRequestDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_upload_request(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, raw_request)): ApiPath<(String, String)>,
) -> Result<Json<UploadRequestDto>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let request = id::<UploadRequestId>(&raw_request)?;
    let revoked = if manages(&app, &meta, &a, room).await? {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestManage)
            .await?;
        UploadRequests(&app).revoke_request(auth, request).await?
    } else {
        let auth = app
            .room(&meta, &a.principal, room, act::UploadRequestCreate)
            .await?;
        UploadRequests(&app)
            .revoke_own_request(auth, request)
            .await?
    };
    Ok(Json(UploadRequestDto::of(&revoked, app.now_ms(), None)))
}
