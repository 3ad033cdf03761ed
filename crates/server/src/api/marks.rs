//! Watermarked delivery: a room's delivery policy (original, marked or
//! view-only per role), and tracing a leaked copy back to the download that
//! issued it, with the ledger evidence.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, ErrorCode, TraceReport};
use model::{Delivery, DeliveryPolicy, FileId, RoomId, Unmarkable, ViewId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::limited;

/// How a room's copies leave it, per room role (viewers always use the viewer).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryDto {
    /// `original`, `marked` or `view_only`.
    pub downloader: String,
    pub contributor: String,
    /// Managers, and admins acting without a grant.
    pub manager: String,
    /// When a file cannot be marked: `deny` or `original`.
    pub unmarkable: String,
}

impl From<DeliveryPolicy> for DeliveryDto {
    fn from(p: DeliveryPolicy) -> Self {
        DeliveryDto {
            downloader: p.downloader.as_str().into(),
            contributor: p.contributor.as_str().into(),
            manager: p.manager.as_str().into(),
            unmarkable: p.unmarkable.as_str().into(),
        }
    }
}

impl DeliveryDto {
    fn policy(&self) -> Result<DeliveryPolicy, ApiError> {
        Ok(DeliveryPolicy {
            downloader: name(Delivery::parse, &self.downloader)?,
            contributor: name(Delivery::parse, &self.contributor)?,
            manager: name(Delivery::parse, &self.manager)?,
            unmarkable: name(Unmarkable::parse, &self.unmarkable)?,
        })
    }
}

/// The room's delivery policy (room managers, admins).
#[utoipa::path(get, path = "/rooms/{id}/delivery", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DeliveryDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_delivery(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<DeliveryDto>, ApiError> {
    let auth = app
        .room(
            &meta,
            &a.principal,
            id::<RoomId>(&raw)?,
            app::act::RoomUpdate,
        )
        .await?;
    let policy = app::Rooms(&app).room_delivery(auth).await?;
    Ok(Json(policy.into()))
}

/// Sets the room's delivery policy (room managers, admins); recorded as `room.delivery`.
#[utoipa::path(put, path = "/rooms/{id}/delivery", tag = "rooms", security(("bearer" = [])), params(("id" = String, Path)), request_body = DeliveryDto, responses((status = 200, body = DeliveryDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_delivery(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<DeliveryDto>,
) -> Result<Json<DeliveryDto>, ApiError> {
    let policy = req.policy()?;
    let auth = app
        .room(
            &meta,
            &a.principal,
            id::<RoomId>(&raw)?,
            app::act::RoomUpdate,
        )
        .await?;
    let set = app::Rooms(&app).set_room_delivery(auth, policy).await?;
    Ok(Json(set.into()))
}

/// What a traced copy carries and who received it.
#[derive(Serialize, ToSchema)]
pub struct TraceDto {
    /// The mark id (16 hex digits).
    pub mark_id: String,
    /// Which mark it was read from (`pdf-metadata`, `image-forensic`, …).
    pub kind: String,
    /// 1 − the bound on the chance of this reading on unmarked content.
    pub confidence: f64,
    pub detail: String,
    /// The events that issued this mark (the download or page view), decoded.
    #[schema(value_type = Vec<Object>)]
    pub issued_by: Vec<serde_json::Value>,
    /// Who received the copy: for each issuing event, its user and party as
    /// the accounts stand now (`user_id`, `email`, `name`, `party_id`,
    /// `party_name`), or null.
    #[schema(value_type = Vec<Option<Object>>)]
    pub recipients: Vec<Option<serde_json::Value>>,
    /// An evidence bundle of those events with inclusion proofs, a signed
    /// checkpoint and the verifier key (`custody ledger verify --bundle`);
    /// absent when no event carries the mark.
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
}

/// Reads the mark a file carries and names the download that issued it
/// (security officers, auditors, admins). Whether the caller may trace is
/// decided before the body is read; the body is the file, at most 256 MiB.
#[utoipa::path(post, path = "/trace", tag = "ledger", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = TraceDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody, description = "no_mark: the file carries no readable mark"), (status = 413, body = ErrorBody)))]
pub async fn trace(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<TraceDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, app::act::EventRead).await?;
    let permit = app::Audit(&app).permit_trace(auth);
    let max = permit.max_bytes;
    let content = limited::read(body.into_data_stream(), limited::declared(&headers), max)
        .await
        .map_err(|short| match short {
            limited::Short::TooLarge => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("a traced file is at most {} MiB", max >> 20),
            ),
            limited::Short::Failed(e) => app::AppError::BodyAborted(e).into(),
        })?;
    let report: TraceReport = app::Audit(&app).trace_copy(permit, content).await?;
    let evidence = report
        .evidence
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| ApiError::from(app::AppError::internal(e)))?;
    let recipients = report
        .recipients
        .iter()
        .map(|r| r.as_ref().map(serde_json::to_value).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::from(app::AppError::internal(e)))?;
    Ok(Json(TraceDto {
        mark_id: report.mark_id,
        recipients,
        kind: report.kind.into(),
        confidence: report.confidence,
        detail: report.detail,
        issued_by: report.issued_by,
        evidence,
    }))
}

/// A file opened in the view-only viewer.
#[derive(Serialize, ToSchema)]
pub struct PagesDto {
    /// How many pages the file has.
    pub pages: u32,
    /// Names this view in its page requests (`?view=`); a view ends after an
    /// hour without a page asked, or twelve hours after it was opened.
    pub view: String,
    /// The mark id every page of this view carries (also in its `file.view` event).
    pub mark_id: String,
    /// Each page's `[width, height]` in pixels as it will be sent, first page first.
    pub sizes: Vec<[u32; 2]>,
}

impl From<app::viewer::OpenedView> for PagesDto {
    fn from(v: app::viewer::OpenedView) -> Self {
        PagesDto {
            pages: v.pages(),
            view: v.view.to_string(),
            mark_id: v.mark_id,
            sizes: v.sizes.iter().map(|&(w, h)| [w, h]).collect(),
        }
    }
}

/// Opens the file in the view-only viewer (anyone who may view it): the
/// room's outbound data-loss policy decides once for the whole view, and a
/// `file.view` event records it with the view's mark id. 503
/// `render_unavailable` when the server cannot draw this kind of file.
#[utoipa::path(get, path = "/files/{id}/pages", tag = "files", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PagesDto), (status = 400, body = ErrorBody, description = "render_unsupported, render_encrypted, render_malformed…"), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody, description = "render_unavailable: no pdf renderer on the server")))]
pub async fn pages(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PagesDto>, ApiError> {
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, app::act::FileView)
        .await?;
    let opened = app::Files(&app).open_view(auth).await?;
    Ok(Json(opened.into()))
}

/// Which view a page belongs to.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The view from `GET /files/{id}/pages`; without it the page opens a view of its own.
    pub view: Option<String>,
}

/// The view a page request names: an id that is not one names no open view.
pub(crate) fn view_of(raw: Option<&str>) -> Result<Option<ViewId>, app::AppError> {
    raw.map(|v| {
        v.parse().map_err(|_| {
            app::AppError::invalid(
                ErrorCode::ViewExpired,
                "this view of the file has ended; open the file again",
            )
        })
    })
    .transpose()
}

/// One page rendered on the server and marked for the viewer (JPEG, or PNG);
/// the original bytes never leave. A page of a view is drawn once and carries
/// the view's mark id (`Custody-Mark-Id`); a page asked without a view opens
/// one of its own (a `file.view` event with a mark id of its own).
#[utoipa::path(get, path = "/files/{id}/pages/{page}", tag = "files", security(("bearer" = [])), params(("id" = String, Path), ("page" = u32, Path, description = "from 1"), PageQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 400, body = ErrorBody, description = "render_no_such_page, render_unsupported…"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "view_expired: open the file again"), (status = 503, body = ErrorBody, description = "render_unavailable: no pdf renderer on the server")))]
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, page)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    // A page number that is not one is simply a page that does not exist.
    let page: u32 = page.parse().unwrap_or(0);
    let view = view_of(q.view.as_deref())?;
    let auth = app
        .file(&meta, &a.principal, id::<FileId>(&raw)?, app::act::FileView)
        .await?;
    let image = app::Files(&app).view_page(auth, view, page).await?;
    Ok(page_response(image))
}

/// The response carrying a rendered page.
pub(crate) fn page_response(image: app::viewer::PageImage) -> Response {
    let mut response = (StatusCode::OK, image.bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(image.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&image.mark_id) {
        h.insert(super::files::MARK_ID_HEADER, v);
    }
    response
}
