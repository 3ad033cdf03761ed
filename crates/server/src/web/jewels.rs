//! The crown-jewel page (`/jewels`, the owner's admins and security
//! officers): the registered documents with their size and number of
//! fingerprints and a button to remove each; a form that registers a file of
//! a room by its path, or every file of a folder (or of the whole room); a
//! form that uploads a document for registration only (fingerprinted, its
//! content discarded); and the registry's export for `custody scan
//! --registry`. Whether the caller may is the seam's decision
//! (`jewels.manage`), asked by every handler before it reads a form's file.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::jewels::{JewelInfo, MAX_JEWEL_BYTES, TreeRegistered};
use app::{App, AppError, ErrorCode, Jewels, Rooms, act};
use model::RoomId;

use super::admin::{Done, Failed, Fields, again, csrf_field, done, refusal};
use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};
use crate::limited;

/// What an upload form may hold besides the file.
const FORM_OVERHEAD: u64 = 64 << 10;

/// The pages' routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/jewels/register", post(register))
        .route(
            "/jewels/upload",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(
                usize::try_from(MAX_JEWEL_BYTES + FORM_OVERHEAD).unwrap_or(usize::MAX),
            )),
        )
        .route("/jewels/{id}/unregister", post(unregister))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/jewels", get(page))
        .route("/jewels/export.json", get(export))
        .merge(forms)
}

/// `GET /jewels`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render(&app, &meta, &viewer, &ok, None, None).await
}

async fn render(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    report: Option<&TreeRegistered>,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::JewelsManage).await?;
    let jewels = Jewels(app).list(auth).await?;
    let auth = app.system(meta, p, act::RoomList).await?;
    let rooms: Vec<(String, String)> = Rooms(app)
        .list_rooms(auth)
        .await?
        .into_iter()
        .map(|r| (r.room.id.to_string(), r.room.name))
        .collect();
    let room_name = |id: Option<RoomId>| {
        let id = id.map(|r| r.to_string()).unwrap_or_default();
        rooms
            .iter()
            .find(|(r, _)| *r == id)
            .map_or_else(|| "a room".to_owned(), |(_, n)| n.clone())
    };
    let v = |form: &str, name: &str| Failed::value(failed, form, name, "");
    let body = html! {
        section.card {
            h1 { "Crown jewels" }
            (ok.notice())
            p { "Documents registered here are kept as fingerprints only, never as content. Every upload into a room shared with an external party, and every download, view or share-link access of a file in one, is compared with them: an excerpt — even with its identifiers renamed — is a finding (" code { "fingerprint.crown_jewel" } ", high) that names the document and the share of overlap, and the room's data-loss policy decides on it." }
            @if jewels.is_empty() {
                p #jewels-empty { "No document is registered." }
            } @else {
                table.listing #jewels {
                    thead { tr { th { "Document" } th { "From" } th { "Size" } th { "Fingerprints" } th { "Registered" } th {} } }
                    tbody {
                        @for j in &jewels {
                            (row(viewer, j, &room_name(j.room_id)))
                        }
                    }
                }
                p { a #jewel-export href="/jewels/export.json" download="crown-jewels.json" { "Export the registry" } " — fingerprints only, for " code { "custody scan --registry crown-jewels.json" } " offline." }
            }
        }
        @if let Some(r) = report { (tree_report(r)) }
        section.card {
            h2 { "Register from a room" }
            p.muted { "A file's path registers that file; a folder's path registers every file under it; an empty path, every file of the room." }
            (Failed::alert_for(failed, "jewel-room-form"))
            form.stack #jewel-room-form method="post" action="/jewels/register" {
                (csrf_field(&viewer.csrf))
                label for="jewel-room" { "Room" }
                select #jewel-room name="room" required {
                    @for (id, name) in &rooms { option value=(id) selected[*id == v("jewel-room-form", "room")] { (name) } }
                }
                label for="jewel-path" { "File or folder" }
                input #jewel-path type="text" name="path" maxlength="1024" placeholder="src/engine.rs" value=(v("jewel-room-form", "path"));
                button.primary #jewel-register type="submit" { "Register" }
            }
        }
        section.card {
            h2 { "Upload for registration only" }
            p.muted { "The file is fingerprinted and its content discarded: it is not stored in any room." }
            (Failed::alert_for(failed, "jewel-upload-form"))
            form.stack #jewel-upload-form method="post" action="/jewels/upload" enctype="multipart/form-data" {
                (csrf_field(&viewer.csrf))
                label for="jewel-name" { "Name (the file's name when empty)" }
                input #jewel-name type="text" name="name" maxlength="200";
                label for="jewel-file" { "File" }
                input #jewel-file type="file" name="file" required;
                button #jewel-upload type="submit" { "Register" }
            }
        }
    };
    Ok(layout::page("Crown jewels", Some(viewer.header()), body))
}

fn row(viewer: &Viewer, j: &JewelInfo, room: &str) -> Markup {
    html! {
        tr id=(format!("jewel-{}", j.id)) {
            td { code.name { (j.name) } }
            td {
                @if j.source == "file" { "a file of " (room) } @else { "an upload" }
            }
            td { (j.size) " bytes" }
            td.prints { (j.prints) }
            td { (layout::time(j.registered_ms)) @if let Some(e) = &j.registered_by_email { " by " (e) } }
            td {
                form.inline method="post" action=(format!("/jewels/{}/unregister", j.id)) {
                    (csrf_field(&viewer.csrf))
                    button.unregister type="submit" aria-label=(format!("Remove {}", j.name)) { "Remove" }
                }
            }
        }
    }
}

fn tree_report(r: &TreeRegistered) -> Markup {
    html! {
        section.card #jewel-report role="status" {
            h2 { "Registered" }
            @if r.registered.is_empty() {
                p { "Nothing was registered." }
            } @else {
                ul #jewel-registered {
                    @for j in &r.registered {
                        li { code { (j.name) } ": " (j.prints) " fingerprints" }
                    }
                }
            }
            @if !r.skipped.is_empty() {
                h3 { "Left out" }
                ul #jewel-skipped {
                    @for s in &r.skipped {
                        li { code { (s.path) } ": " (s.message) " (" code { (s.code.as_str()) } ")" }
                    }
                }
            }
        }
    }
}

/// The page again with a form's refusal above it, or the report of what
/// was registered.
async fn answer(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    form: &'static str,
    fields: &Fields,
    result: Result<TreeRegistered, AppError>,
) -> Result<Response, WebError> {
    match result {
        Ok(report) => {
            let page = render(app, meta, viewer, &Done::default(), Some(&report), None).await?;
            Ok(page.into_response())
        }
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields,
            };
            let page = render(app, meta, viewer, &Done::default(), None, Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `POST /jewels/register` (`room`, `path`).
pub async fn register(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let result = async {
        let room = f.get("room").trim().parse::<RoomId>().map_err(|_| {
            AppError::invalid(ErrorCode::InvalidField, "choose the room to register from")
        })?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::JewelsManage)
            .await?;
        Jewels(&app).register_path(auth, room, f.get("path")).await
    }
    .await;
    answer(&app, &meta, &viewer, "jewel-room-form", &f, result).await
}

/// `POST /jewels/upload` (multipart: `csrf`, `name`, then `file`). Whether
/// the caller may is decided after the token and before the file is read.
pub async fn upload(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let first = form
        .next_field()
        .await
        .map_err(|e| bad_form(&limited::multipart_reason(&e)))?;
    let Some(field) = first else {
        return Err(WebError::Csrf);
    };
    if field.name() != Some("csrf") {
        return Err(WebError::Csrf);
    }
    let token = limited::text(limited::field(field)).await.map_err(short)?;
    check_csrf(&viewer.authed.session, &token)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::JewelsManage)
        .await?;
    if limited::declared(&headers).is_some_and(|n| n > MAX_JEWEL_BYTES + FORM_OVERHEAD) {
        return Err(AppError::TooLarge {
            limit: MAX_JEWEL_BYTES,
        }
        .into());
    }
    let mut name = String::new();
    let mut content = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad_form(&limited::multipart_reason(&e)))?
    {
        match field.name() {
            Some("name") => {
                name = limited::text(limited::field(field)).await.map_err(short)?;
            }
            Some("file") => {
                if name.trim().is_empty() {
                    name = field.file_name().unwrap_or_default().to_owned();
                }
                let bytes = limited::read(limited::field(field), None, MAX_JEWEL_BYTES)
                    .await
                    .map_err(|s| match s {
                        limited::Short::TooLarge => WebError::from(AppError::TooLarge {
                            limit: MAX_JEWEL_BYTES,
                        }),
                        other => short(other),
                    })?;
                content = Some(bytes);
            }
            _ => return Err(WebError::Csrf),
        }
    }
    let fields = Fields::default();
    let result = match content {
        Some(bytes) => Jewels(&app)
            .register_upload(auth, &name, bytes)
            .await
            .map(|j| TreeRegistered {
                registered: vec![j],
                skipped: Vec::new(),
            }),
        None => Err(AppError::invalid(
            ErrorCode::FileMissing,
            "choose a file to register",
        )),
    };
    answer(&app, &meta, &viewer, "jewel-upload-form", &fields, result).await
}

/// `POST /jewels/{id}/unregister`.
pub async fn unregister(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::JewelsManage)
        .await?;
    Jewels(&app).unregister(auth, &id).await?;
    Ok(done("/jewels", "jewel-removed"))
}

/// `GET /jewels/export.json`: the registry as a JSON attachment.
pub async fn export(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Response, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::JewelsManage)
        .await?;
    let (json, _) = Jewels(&app).export(auth).await?;
    Ok(crate::api::jewels_export_response(json))
}

fn bad_form(reason: &str) -> WebError {
    AppError::invalid(
        ErrorCode::InvalidForm,
        format!("the registration form is malformed: {reason}"),
    )
    .into()
}

fn short(s: limited::Short) -> WebError {
    match s {
        limited::Short::TooLarge => AppError::invalid(
            ErrorCode::FormFieldTooLarge,
            format!(
                "a text field of the registration form is at most {} bytes",
                limited::MAX_FORM_TEXT
            ),
        )
        .into(),
        limited::Short::Failed(e) => bad_form(&e),
    }
}
