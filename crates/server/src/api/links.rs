//! Share links through the API: making one to a file (its secret answered
//! once), a room's links (every one for its managers and the owner's admins,
//! one's own for the others who may share), and revoking. Opening a link is
//! the public pages' (`/l/{token}`, `web/links.rs`): it has no API caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, AppError, ErrorCode, Links, NewLink, act};
use model::{FileId, Link, LinkId, LinkMode, MailAddress, RoomId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A new share link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// RFC 3339; cut to the creator's grant and the administrator's maximum
    /// (`link_max_days`); absent: that maximum.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// At least 12 characters; absent: none.
    #[serde(default)]
    pub password: Option<String>,
    /// 1 to 10000; absent: no limit.
    #[serde(default)]
    pub max_downloads: Option<i64>,
    /// `download` (default) or `view`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Addresses the link is bound to (each proves it with a mailed code);
    /// absent or empty: whoever holds the link.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// A share link (never its secret, but once when made).
#[derive(Serialize, ToSchema)]
pub struct LinkDto {
    pub id: String,
    pub room_id: String,
    /// The file of a file link (absent for a folder link).
    pub file_id: Option<String>,
    /// The folder of a folder link (`drawings/`; absent for a file link).
    pub folder: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// `download` or `view`.
    pub mode: String,
    pub password: bool,
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    pub recipients: Vec<String>,
    pub revoked_at: Option<String>,
    /// `open`, `revoked`, `expired` or `exhausted`, now.
    pub state: String,
    /// The link's path (`/l/<secret>`): only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl LinkDto {
    fn of(l: &Link, now: i64, path: Option<String>) -> LinkDto {
        LinkDto {
            id: l.id.to_string(),
            room_id: l.room_id.to_string(),
            file_id: l.file_id.map(|f| f.to_string()),
            folder: l.folder.clone(),
            created_by: l.created_by.to_string(),
            created_at: rfc3339(l.created_ms),
            expires_at: rfc3339(l.expires_ms),
            mode: l.mode.as_str().into(),
            password: l.password_hash.is_some(),
            max_downloads: l.max_downloads,
            downloads: l.downloads,
            recipients: l.recipients.clone(),
            revoked_at: l.revoked_ms.map(rfc3339),
            state: l
                .closed(now)
                .map_or("open", |c| c.reason().trim_start_matches("link_"))
                .into(),
            path,
        }
    }
}

/// Makes a share link to a file (the owner's users who may download in its
/// room); recorded as `link.create`. The answer holds the link's path once.
#[utoipa::path(post, path = "/files/{id}/links", tag = "links", security(("bearer" = [])), params(("id" = String, Path)), request_body = CreateLink,
    responses((status = 201, body = LinkDto), (status = 400, body = ErrorBody, description = "link_invalid, invalid_email, password_too_short, expiry_in_past, link_recipients_required, link_agreement_unavailable"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "mail_unavailable")))]
pub async fn create_link(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CreateLink>,
) -> Result<(StatusCode, Json<LinkDto>), ApiError> {
    let new = new_link(req)?;
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, act::LinkCreate)
        .await?;
    let made = Links(&app).create_link(auth, new).await?;
    let path = format!("/l/{}", made.token);
    Ok((
        StatusCode::CREATED,
        Json(LinkDto::of(&made.link, app.now_ms(), Some(path))),
    ))
}

/// A new share link to a folder.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFolderLink {
    /// The folder's path in the room (`drawings/` or `drawings`).
    pub folder: String,
    /// As for a file's link.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// As for a file's link.
    #[serde(default)]
    pub password: Option<String>,
    /// 1 to 10000, counted over every file of the folder; absent: no limit.
    #[serde(default)]
    pub max_downloads: Option<i64>,
    /// `download` (default) or `view`.
    #[serde(default)]
    pub mode: Option<String>,
    /// As for a file's link.
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// Makes a share link to a folder of a room (the owner's users who may
/// download in it): whoever holds it sees the files under the folder as they
/// are at each access and takes each as the link allows (one download each
/// from the limit); recorded as `link.create`. The answer holds the link's
/// path once.
#[utoipa::path(post, path = "/rooms/{id}/links", tag = "links", security(("bearer" = [])), params(("id" = String, Path)), request_body = CreateFolderLink,
    responses((status = 201, body = LinkDto), (status = 400, body = ErrorBody, description = "link_invalid, invalid_email, password_too_short, expiry_in_past, link_recipients_required, link_agreement_unavailable"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "mail_unavailable")))]
pub async fn create_folder_link(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CreateFolderLink>,
) -> Result<(StatusCode, Json<LinkDto>), ApiError> {
    let new = new_link(CreateLink {
        expires_at: req.expires_at,
        password: req.password,
        max_downloads: req.max_downloads,
        mode: req.mode,
        recipients: req.recipients,
    })?;
    let folder = req.folder;
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::LinkCreate)
        .await?;
    let made = Links(&app).create_folder_link(auth, &folder, new).await?;
    let path = format!("/l/{}", made.token);
    Ok((
        StatusCode::CREATED,
        Json(LinkDto::of(&made.link, app.now_ms(), Some(path))),
    ))
}

/// The settings of a new link, checked.
fn new_link(req: CreateLink) -> Result<NewLink, ApiError> {
    let expires_ms = req
        .expires_at
        .as_deref()
        .map(|t| parse_rfc3339("expires_at", t))
        .transpose()?;
    let mode = match req.mode.as_deref() {
        None => LinkMode::Download,
        Some(m) => name(LinkMode::parse, m)?,
    };
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
    Ok(NewLink {
        expires_ms,
        password: req.password,
        max_downloads: req.max_downloads,
        mode,
        recipients,
    })
}

/// Whether the caller manages every link of the room (else: their own).
async fn manages(
    app: &App,
    meta: &app::RequestMeta,
    a: &Authed,
    room: RoomId,
) -> Result<bool, ApiError> {
    Ok(app
        .permits_in_room(meta, &a.principal, room, &[app::authz::Action::LinkManage])
        .await?
        == [true])
}

/// A room's share links: every one for its managers and the owner's admins,
/// the caller's own for the others who may share.
#[utoipa::path(get, path = "/rooms/{id}/links", tag = "links", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<LinkDto>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_links(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Vec<LinkDto>>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let links = if manages(&app, &meta, &a, room).await? {
        let auth = app.room(&meta, &a.principal, room, act::LinkManage).await?;
        Links(&app).room_links(auth).await?
    } else {
        let auth = app.room(&meta, &a.principal, room, act::LinkCreate).await?;
        Links(&app).own_links(auth).await?
    };
    let now = app.now_ms();
    Ok(Json(
        links.iter().map(|l| LinkDto::of(l, now, None)).collect(),
    ))
}

/// Revokes a share link at once; recorded as `link.revoke`.
#[utoipa::path(delete, path = "/rooms/{id}/links/{link_id}", tag = "links", security(("bearer" = [])), params(("id" = String, Path), ("link_id" = String, Path)),
    responses((status = 200, body = LinkDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_link(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, raw_link)): ApiPath<(String, String)>,
) -> Result<Json<LinkDto>, ApiError> {
    let room = id::<RoomId>(&raw)?;
    let link = id::<LinkId>(&raw_link)?;
    let revoked = if manages(&app, &meta, &a, room).await? {
        let auth = app.room(&meta, &a.principal, room, act::LinkManage).await?;
        Links(&app).revoke_link(auth, link).await?
    } else {
        let auth = app.room(&meta, &a.principal, room, act::LinkCreate).await?;
        Links(&app).revoke_own_link(auth, link).await?
    };
    Ok(Json(LinkDto::of(&revoked, app.now_ms(), None)))
}
