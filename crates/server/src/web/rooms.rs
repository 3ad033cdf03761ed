//! Rooms and their files: the list of rooms a user may see, browsing a room by
//! folder (folders are derived from path prefixes), uploading (a multipart form
//! streamed into the use-case, never buffered) and downloading.

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use app::authz::Action;
use app::{App, AppError, ErrorCode, FileInfo, RoomInfo};
use model::{FileId, RoomId};

use super::layout::{self, Header};
use super::{Viewer, WebError, check_csrf};
use crate::auth::Meta;
use crate::limited;

fn parse_id<T: FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError::App(AppError::NotFound))
}

/// Percent-encodes a query value or a path segment (unreserved characters kept).
pub(super) fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) fn room_href(room: RoomId, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("/rooms/{room}")
    } else {
        format!("/rooms/{room}?prefix={}", escape(prefix))
    }
}

pub(super) fn badge(classification: model::Classification) -> Markup {
    let class = format!("badge badge-{}", classification.as_str());
    html! { span class=(class) { (classification.as_str()) } }
}

/// `GET /`: the rooms the user may see.
pub async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, csrf, nav }: Viewer,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &authed.principal, app::act::RoomList)
        .await?;
    let rooms = app::Rooms(&app).list_rooms(auth).await?;
    let auth = app
        .system(&meta, &authed.principal, app::act::Notifications)
        .await?;
    let unread = app::Agreements(&app).notifications(auth, true).await?.len();
    let may_create = app
        .permits_system(&meta, &authed.principal, &[Action::RoomCreate])
        .first()
        .copied()
        .unwrap_or(false);
    let header = Header {
        email: &authed.principal.email,
        csrf: &csrf,
        nav: &nav,
    };
    let body = html! {
        @if unread > 0 {
            p.notice #unread-notifications role="status" {
                a href="/notifications" { (unread) " unread notification" @if unread > 1 { "s" } }
            }
        }
        div.titlebar {
            h1 { "Data rooms" }
            @if may_create {
                a.button.primary #new-room href="/rooms/new" { "New room" }
            }
        }
        (rooms_table(&rooms, may_create))
    };
    Ok(layout::page("Rooms", Some(header), body))
}

fn rooms_table(rooms: &[RoomInfo], may_create: bool) -> Markup {
    html! {
        @if rooms.is_empty() {
            @if may_create {
                p.empty { "There are no rooms yet. Create the first one with " strong { "New room" } "." }
            } @else {
                p.empty { "You have no rooms yet. A room manager will grant you access." }
            }
        } @else {
            table.listing #rooms {
                thead { tr { th { "Room" } th { "Classification" } th { "Your role" } th { "Created" } } }
                tbody {
                    @for r in rooms {
                        tr {
                            td { a.room-link href=(room_href(r.room.id, "")) { (r.room.name) } }
                            td { (badge(r.room.classification)) }
                            td { (r.role.map(|x| x.as_str()).unwrap_or("oversight")) }
                            td.muted { (layout::time(r.room.created_ms)) }
                        }
                    }
                }
            }
        }
    }
}

/// Which folder of a room to show.
#[derive(Deserialize)]
pub struct BrowseQuery {
    #[serde(default)]
    prefix: String,
}

/// A folder prefix: empty (the room's top) or ending in `/`.
fn normalize_prefix(raw: &str) -> String {
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// What lies directly under `prefix`: the sub-folder names and the files.
fn entries<'a>(files: &'a [FileInfo], prefix: &str) -> (BTreeSet<&'a str>, Vec<&'a FileInfo>) {
    let mut folders = BTreeSet::new();
    let mut here = Vec::new();
    for f in files {
        let Some(rest) = f.path.strip_prefix(prefix) else {
            continue;
        };
        match rest.split_once('/') {
            Some((folder, _)) => {
                folders.insert(folder);
            }
            None => here.push(f),
        }
    }
    here.sort_by(|a, b| a.path.cmp(&b.path));
    (folders, here)
}

/// `GET /rooms/{id}?prefix=dir/`: one folder of a room, and the upload form.
pub async fn browse(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(q): Query<BrowseQuery>,
) -> Result<Markup, WebError> {
    let id: RoomId = parse_id(&raw)?;
    let auth = app
        .room(&meta, &viewer.authed.principal, id, app::act::RoomView)
        .await?;
    let info = app::Rooms(&app).get_room(auth).await?;
    let listed = match app
        .room(&meta, &viewer.authed.principal, id, app::act::FileList)
        .await
    {
        Ok(auth) => app::Files(&app).list_files(auth).await,
        Err(e) => Err(e),
    };
    let files = match listed {
        Ok(files) => files,
        // Closed for want of a signature: show what to sign, not an error.
        Err(AppError::Forbidden {
            reason: reason @ ("agreement_missing" | "agreement_expired"),
            message,
        }) => {
            if let Some(page) =
                super::agreements::sign_instead(&app, &meta, &viewer, id, &message).await?
            {
                return Ok(page);
            }
            return Err(AppError::Forbidden { reason, message }.into());
        }
        // Closed for want of a course: say which, and where to take it.
        Err(AppError::Forbidden {
            reason: "course_required" | "course_expired",
            message,
        }) => return Ok(super::courses::take_instead(&viewer, &message)),
        Err(e) => return Err(e.into()),
    };
    let may = Controls::of(&app, &meta, &viewer, id).await?;
    let Viewer { authed, csrf, nav } = viewer;
    let prefix = normalize_prefix(&q.prefix);
    let header = Header {
        email: &authed.principal.email,
        csrf: &csrf,
        nav: &nav,
    };
    let body = html! {
        (breadcrumbs(&info, &prefix))
        div.titlebar {
            h1 { (info.room.name) }
            (badge(info.room.classification))
            @if may.settings || may.grants || may.share || may.links || may.request || may.requests {
                nav.room-admin aria-label="Room administration" {
                    @if may.settings { a #room-settings href=(format!("/rooms/{id}/settings")) { "Settings" } }
                    @if may.grants { a #room-grants href=(format!("/rooms/{id}/grants")) { "Access" } }
                    @if may.share || may.links { a #room-links href=(format!("/rooms/{id}/links")) { "Share links" } }
                    @if may.request || may.requests { a #room-requests href=(format!("/rooms/{id}/upload-requests")) { "Request files" } }
                }
            }
        }
        (listing(&files, id, &prefix, &may))
        @if may.upload {
            (upload_form(id, &prefix, &csrf))
        }
    };
    Ok(layout::page(&info.room.name, Some(header), body))
}

/// What the room page offers this user, asked of the policy in force (the
/// actions themselves are decided again when done).
pub(super) struct Controls {
    pub view: bool,
    pub download: bool,
    pub upload: bool,
    pub settings: bool,
    pub grants: bool,
    /// Making share links (`link.create`), and managing every one (`link.manage`).
    pub share: bool,
    pub links: bool,
    /// Asking for files (`upload_request.create`), and managing every
    /// request (`upload_request.manage`).
    pub request: bool,
    pub requests: bool,
}

impl Controls {
    pub(super) async fn of(
        app: &App,
        meta: &app::RequestMeta,
        viewer: &Viewer,
        room: RoomId,
    ) -> Result<Controls, AppError> {
        let asked = [
            Action::FileView,
            Action::FileDownload,
            Action::FileUpload,
            Action::RoomUpdate,
            Action::GrantList,
            Action::LinkCreate,
            Action::LinkManage,
            Action::UploadRequestCreate,
            Action::UploadRequestManage,
        ];
        let got = app
            .permits_in_room(meta, &viewer.authed.principal, room, &asked)
            .await?;
        let at = |i: usize| got.get(i).copied().unwrap_or(false);
        Ok(Controls {
            view: at(0),
            download: at(1),
            upload: at(2),
            settings: at(3),
            grants: at(4),
            share: at(5),
            links: at(6),
            request: at(7),
            requests: at(8),
        })
    }
}

fn breadcrumbs(info: &RoomInfo, prefix: &str) -> Markup {
    let mut so_far = String::new();
    let parts: Vec<(&str, String)> = prefix
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|part| {
            so_far.push_str(part);
            so_far.push('/');
            (part, room_href(info.room.id, &so_far))
        })
        .collect();
    html! {
        nav.crumbs aria-label="Location" {
            a href="/" { "Rooms" }
            span.sep { "/" }
            a href=(room_href(info.room.id, "")) { (info.room.name) }
            @for (part, href) in &parts {
                span.sep { "/" }
                a href=(href) { (part) }
            }
        }
    }
}

fn listing(files: &[FileInfo], room: RoomId, prefix: &str, may: &Controls) -> Markup {
    let (folders, here) = entries(files, prefix);
    html! {
        @if folders.is_empty() && here.is_empty() {
            p.empty #no-files { "This folder is empty." }
        } @else {
            table.listing #files {
                thead { tr { th { "Name" } th.num { "Size" } th.num { "Version" } th { "Updated" } th {} } }
                tbody {
                    @for folder in &folders {
                        tr.folder {
                            td { a href=(room_href(room, &format!("{prefix}{folder}/"))) { span.icon { "▸" } (folder) "/" } }
                            td {} td {} td {}
                            td.actions {
                                @if may.share {
                                    @let path = format!("{prefix}{folder}/");
                                    a.share href=(format!("/rooms/{room}/share?folder={}", escape(&path))) aria-label=(format!("Share the folder {path}")) { "Share" }
                                }
                            }
                        }
                    }
                    @for f in &here {
                        tr.file {
                            td.name { (f.path.strip_prefix(prefix).unwrap_or(&f.path)) }
                            td.num { (layout::size(f.size)) }
                            td.num { "v" (f.version) }
                            td.muted { (layout::time(f.updated_ms)) }
                            td.actions {
                                @if may.view {
                                    a.view href=(format!("/files/{}/view", f.id)) { "View" }
                                    " "
                                }
                                @if may.download {
                                    a.download href=(format!("/files/{}/download", f.id)) { "Download" }
                                    " "
                                }
                                @if may.share {
                                    a.share href=(format!("/files/{}/share", f.id)) aria-label=(format!("Share {}", f.path)) { "Share" }
                                    " "
                                }
                                a.history href=(format!("/files/{}/versions", f.id)) aria-label=(format!("History of {}", f.path)) { "History" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn upload_form(room: RoomId, prefix: &str, csrf: &str) -> Markup {
    let action = format!("/rooms/{room}/upload");
    html! {
        section.card.upload {
            h2 { "Upload" }
            form #upload-form method="post" action=(action) enctype="multipart/form-data"
                data-room=(room.to_string()) data-prefix=(prefix) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="prefix" value=(prefix);
                label {
                    "Justification (only if the room's data-loss policy asks for one)"
                    input #justification type="text" name="justification" maxlength="500";
                }
                label {
                    "File"
                    input #file-input type="file" name="file" required;
                }
                button.primary #upload-button type="submit" { "Upload" }
                progress #upload-progress max="100" value="0" hidden {}
                span #upload-status role="status" {}
            }
            p.muted { "Files go into " code { "/" (prefix) } "; a file with the same name becomes a new version." }
        }
    }
}

/// `POST /rooms/{id}/upload`: the no-JS upload. Fields in order: `csrf`,
/// `prefix`, `file`; the file streams into the use-case.
pub async fn upload(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, .. }: Viewer,
    Path(raw): Path<String>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let id: RoomId = parse_id(&raw)?;
    let mut csrf_ok = false;
    let mut prefix = String::new();
    let mut justification = String::new();
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or_default() {
            "csrf" => {
                let value = limited::text(limited::field(field)).await.map_err(short)?;
                check_csrf(&authed.session, &value)?;
                csrf_ok = true;
            }
            "prefix" => {
                prefix =
                    normalize_prefix(&limited::text(limited::field(field)).await.map_err(short)?)
            }
            "justification" => {
                justification = limited::text(limited::field(field)).await.map_err(short)?
            }
            "file" if csrf_ok => {
                let name = field.file_name().unwrap_or_default();
                let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
                let path = format!("{prefix}{name}");
                let name = name.to_owned();
                // The path is checked before the seam is asked, as it always was.
                let path = model::FilePath::parse(&path).map_err(AppError::from)?;
                let auth = app
                    .room(&meta, &authed.principal, id, app::act::FileUpload)
                    .await?;
                let why =
                    model::Justification::parse(Some(&justification)).map_err(AppError::from)?;
                let uploaded = app::Files(&app)
                    .upload_with(auth, &path, None, Box::pin(field), why.as_ref())
                    .await?;
                if let app::Uploaded::Held(held) = uploaded {
                    let message = match &held.signature {
                        Some(signature) => format!(
                            "`{name}` is held in quarantine: the antivirus found malware in it ({signature}); the security officers were told, and nobody can open it"
                        ),
                        None => format!(
                            "`{name}` was stored but is held for review by the room's data-loss policy: a security officer must release it before anyone can use it"
                        ),
                    };
                    return Err(AppError::invalid(ErrorCode::DlpQuarantined, message).into());
                }
                return Ok(Redirect::to(&room_href(id, &prefix)).into_response());
            }
            _ => return Err(WebError::Csrf),
        }
    }
    Err(AppError::invalid(ErrorCode::FileMissing, "choose a file to upload").into())
}

fn bad_form(e: axum::extract::multipart::MultipartError) -> WebError {
    AppError::invalid(
        ErrorCode::InvalidForm,
        format!(
            "the upload form is malformed: {}",
            limited::multipart_reason(&e)
        ),
    )
    .into()
}

/// A text field read with its cap: more than a few KiB is refused, not read.
fn short(s: limited::Short) -> WebError {
    match s {
        limited::Short::TooLarge => AppError::invalid(
            ErrorCode::FormFieldTooLarge,
            format!(
                "a text field of the upload form is at most {} bytes",
                limited::MAX_FORM_TEXT
            ),
        )
        .into(),
        limited::Short::Failed(e) => AppError::invalid(
            ErrorCode::InvalidForm,
            format!("the upload form is malformed: {e}"),
        )
        .into(),
    }
}

/// `GET /files/{id}/download`: the newest version, streamed as an attachment.
/// When the room's outbound policy wants a reason first, a page asks for it
/// (and posts it to [`download_justified`]).
pub async fn download(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id: FileId = parse_id(&raw)?;
    let auth = app
        .file(&meta, &viewer.authed.principal, id, app::act::FileDownload)
        .await?;
    match app::Files(&app).download(auth, None, None).await {
        Ok(d) => Ok(attachment(d)),
        Err(AppError::JustificationRequired { message }) => {
            Ok(justify_page(&viewer, id, &message, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// The form a download posts its justification with.
#[derive(Deserialize)]
pub struct JustifyForm {
    csrf: String,
    #[serde(default)]
    justification: String,
}

/// `POST /files/{id}/download`: the download with the user's justification,
/// recorded with it.
pub async fn download_justified(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<JustifyForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: FileId = parse_id(&raw)?;
    let why = match model::Justification::parse(Some(&form.justification)) {
        Ok(Some(why)) => why,
        Ok(None) => {
            let message = "write the reason this file needs to leave the room";
            return Ok(justify_page(
                &viewer,
                id,
                message,
                Some(&form.justification),
            ));
        }
        Err(e) => {
            let message = AppError::from(e).to_string();
            return Ok(justify_page(
                &viewer,
                id,
                &message,
                Some(&form.justification),
            ));
        }
    };
    let auth = app
        .file(&meta, &viewer.authed.principal, id, app::act::FileDownload)
        .await?;
    let d = app::Files(&app)
        .download_with(auth, None, None, Some(&why))
        .await?;
    Ok(attachment(d))
}

/// The page that asks for a justification before a download.
fn justify_page(viewer: &Viewer, id: FileId, message: &str, given: Option<&str>) -> Response {
    let action = format!("/files/{id}/download");
    let body = html! {
        section.card.narrow {
            h1 { "A reason is needed" }
            p #justify-why role="alert" { (message) }
            p { "Your reason is recorded with the download in the room's audit log." }
            form.stack #justify-form method="post" action=(action) {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label {
                    "Why does this file need to leave the room?"
                    textarea #justification name="justification" maxlength="500" rows="3" required { (given.unwrap_or_default()) }
                }
                button.primary #justify-download type="submit" { "Download with this reason" }
            }
        }
    };
    let page = layout::page("Justify the download", Some(viewer.header()), body);
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// A download as an attachment named after the file.
pub(super) fn attachment(d: app::Download) -> Response {
    let size = u64::try_from(d.info.size).unwrap_or(0);
    let name = escape(d.info.path.rsplit('/').next().unwrap_or("file"));
    let mut response = (StatusCode::OK, Body::from_stream(d.body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileInfo {
        FileInfo {
            id: FileId::from_random([1; 16]),
            room_id: RoomId::from_random([2; 16]),
            path: path.to_owned(),
            size: 1,
            sha256: vec![],
            version: 1,
            version_id: model::VersionId::from_random([3; 16]),
            updated_ms: 0,
        }
    }

    fn check(prefix: &str, want_folders: &[&str], want_files: &[&str]) {
        let files: Vec<FileInfo> = ["a.txt", "docs/b.pdf", "docs/specs/c.step", "z/d"]
            .into_iter()
            .map(file)
            .collect();
        let (folders, here) = entries(&files, prefix);
        assert_eq!(
            folders.into_iter().collect::<Vec<_>>(),
            want_folders,
            "{prefix}"
        );
        let names: Vec<&str> = here.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, want_files, "{prefix}");
    }

    #[test]
    fn folders_come_from_path_prefixes() {
        check("", &["docs", "z"], &["a.txt"]);
        check("docs/", &["specs"], &["docs/b.pdf"]);
        check("docs/specs/", &[], &["docs/specs/c.step"]);
        check("nowhere/", &[], &[]);
    }

    #[test]
    fn prefixes_are_normalized() {
        for (raw, want) in [
            ("", ""),
            ("/", ""),
            ("docs", "docs/"),
            ("/docs/x/", "docs/x/"),
        ] {
            assert_eq!(normalize_prefix(raw), want, "{raw}");
        }
    }
}
