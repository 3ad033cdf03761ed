//! Share links in the browser. For the room's people: a file's share form
//! (`/files/{id}/share`: end, password, download limit, view or download,
//! recipients), the link shown once, and a room's links
//! (`/rooms/{id}/links`: every link for its managers and the owner's admins,
//! one's own for the others who may share; revoke). For whoever holds a
//! link, the public pages under `/l/{token}`: the address to mail a code to,
//! the code, the room's required agreements (signed click-through before the
//! first byte), the password, the viewer and the download — and pages that say a link is
//! revoked, expired, used up or its file not available, and nothing more.
//! The recipient's verified browser session is a cookie scoped to the
//! link's path. Public forms posted from another site are refused, as the
//! sign-in form's are.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};

use app::{App, AppError, ErrorCode, LinkPage, LinkStep, Links, NewLink, act};
use model::{FileId, Link, LinkId, LinkMode, MailAddress, RoomId};

use super::admin::{Failed, Fields, again, csrf_field, parse_date, path_id, refusal, site_url};
use super::{Viewer, WebError, check_csrf, layout};
use crate::auth::{FormCsrf, Meta};

/// The cookie holding a recipient's session on one link (scoped to its path).
const LINK_COOKIE: &str = "custody_link";

/// The routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/files/{id}/share", post(create))
        .route("/rooms/{id}/links/{link}/revoke", post(revoke))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/files/{id}/share", get(share_page))
        .route("/rooms/{id}/links", get(list))
        .route("/l/{token}", get(public_page))
        .route("/l/{token}/address", post(public_address))
        .route("/l/{token}/code", post(public_code))
        .route("/l/{token}/sign", post(public_sign))
        .route("/l/{token}/view", get(public_view).post(public_view_form))
        .route(
            "/l/{token}/view/{view}/pages/{page}",
            get(public_page_image),
        )
        .route(
            "/l/{token}/download",
            get(public_download).post(public_download_form),
        )
        .merge(forms)
}

/// `YYYY-MM-DD HH:MM UTC` of a time.
fn when(ms: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(f).ok())
        .unwrap_or_default()
}

/// The share form of a file, with the refusal of a failed post.
fn share_form(viewer: &Viewer, id: FileId, name: &str, failed: Option<&Failed<'_>>) -> Markup {
    let v = |field: &str, current: &str| Failed::value(failed, "share", field, current);
    html! {
        h1 { "Share " (name) }
        p { "A link opens this file for people without an account. It ends on the date you set (at the latest when the administrator's maximum or your own access ends), and cannot be extended." }
        (Failed::alert_for(failed, "share"))
        form #share method="post" action=(format!("/files/{id}/share")) {
            (csrf_field(&viewer.csrf))
            p {
                label for="share-expires" { "Ends on (YYYY-MM-DD, empty: the maximum)" }
                input #share-expires type="date" name="expires" value=(v("expires", ""));
            }
            p {
                label for="share-password" { "Password (optional, at least 12 characters)" }
                input #share-password type="password" name="password" autocomplete="new-password";
            }
            p {
                label for="share-limit" { "Most downloads (optional)" }
                input #share-limit type="number" min="1" name="max_downloads" value=(v("max_downloads", ""));
            }
            p {
                label for="share-mode" { "What it allows" }
                select #share-mode name="mode" {
                    option value="download" selected[v("mode", "download") == "download"] { "download" }
                    option value="view" selected[v("mode", "download") == "view"] { "view only" }
                }
            }
            p {
                label for="share-recipients" { "Only for these addresses (optional, one per line; each proves it with a code sent by e-mail)" }
                textarea #share-recipients name="recipients" rows="3" { (v("recipients", "")) }
            }
            button type="submit" { "Make the link" }
        }
    }
}

/// The file's name and room, as the caller may list them.
async fn file_of(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: FileId,
) -> Result<(String, RoomId), WebError> {
    let auth = app
        .file(meta, &viewer.authed.principal, id, act::LinkCreate)
        .await?;
    let (_, _, access) = auth.into_parts();
    let name = access
        .file
        .path
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .to_owned();
    Ok((name, access.file.room_id))
}

/// `GET /files/{id}/share`.
pub async fn share_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id: FileId = path_id(&raw)?;
    let (name, _) = file_of(&app, &meta, &viewer, id).await?;
    let body = share_form(&viewer, id, &name, None);
    Ok(layout::page("Share a file", Some(viewer.header()), body).into_response())
}

/// The new link's settings from the form.
fn new_link(fields: &Fields) -> Result<NewLink, AppError> {
    let expires_ms = parse_date("ends on", fields.get("expires"))?
        // The whole day named.
        .map(|start| start + 86_400_000 - 1);
    let max_downloads = match fields.opt("max_downloads") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            AppError::invalid(ErrorCode::LinkInvalid, "the download limit is not a number")
        })?),
    };
    let mode = LinkMode::parse(fields.opt("mode").unwrap_or("download"))?;
    let recipients = super::admin::list(fields.get("recipients"))
        .iter()
        .map(|r| {
            MailAddress::parse(r)
                .map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, format!("`{r}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewLink {
        expires_ms,
        password: fields.opt("password").map(str::to_owned),
        max_downloads,
        mode,
        recipients,
    })
}

/// `POST /files/{id}/share`: makes the link and shows it once.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, fields.csrf())?;
    let id: FileId = path_id(&raw)?;
    let (name, room) = file_of(&app, &meta, &viewer, id).await?;
    let made = match new_link(&fields) {
        Ok(new) => {
            let auth = app
                .file(&meta, &viewer.authed.principal, id, act::LinkCreate)
                .await?;
            Links(&app).create_link(auth, new).await
        }
        Err(e) => Err(e),
    };
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            let refusal = refusal(e)?;
            let status = refusal.status;
            let failed = Failed {
                form: "share",
                refusal,
                fields: &fields,
            };
            let body = share_form(&viewer, id, &name, Some(&failed));
            return Ok(again(
                status,
                layout::page("Share a file", Some(viewer.header()), body),
            ));
        }
    };
    let url = site_url(&headers, &uri, &format!("/l/{}", made.token));
    let body = html! {
        h1 { "Link to " (name) }
        p.notice #confirmation role="status" { "The link was made. Copy it now: it is not shown again." }
        p { label for="link-url" { "Link" } input #link-url type="text" readonly value=(url); }
        (link_facts(&made.link))
        p { a href=(format!("/rooms/{room}/links")) { "The room's links" } }
    };
    Ok((
        StatusCode::CREATED,
        layout::page("Link made", Some(viewer.header()), body),
    )
        .into_response())
}

/// A link's settings as a short list.
fn link_facts(l: &Link) -> Markup {
    html! {
        ul.facts {
            li { "Ends " (when(l.expires_ms)) }
            li { (if l.mode == LinkMode::View { "View only" } else { "Download" }) }
            li { @match l.max_downloads {
                Some(max) => { (l.downloads) " of " (max) " downloads used" }
                None => { (l.downloads) " downloads, no limit" }
            } }
            li { (if l.password_hash.is_some() { "Password required" } else { "No password" }) }
            @if !l.recipients.is_empty() { li { "For " (l.recipients.join(", ")) } }
        }
    }
}

/// `GET /rooms/{id}/links`: every link of the room for its managers and the
/// owner's admins; one's own for the others who may share.
pub async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let room: RoomId = path_id(&raw)?;
    let p = &viewer.authed.principal;
    let manage = app
        .permits_in_room(&meta, p, room, &[app::authz::Action::LinkManage])
        .await?
        == [true];
    let links = if manage {
        let auth = app.room(&meta, p, room, act::LinkManage).await?;
        Links(&app).room_links(auth).await?
    } else {
        let auth = app.room(&meta, p, room, act::LinkCreate).await?;
        Links(&app).own_links(auth).await?
    };
    let now = app.now_ms();
    let body = html! {
        h1 { "Share links of the room" }
        p { (if manage { "Every link made in this room." } else { "The links you made in this room." }) }
        @if links.is_empty() { p { "No links." } }
        @else {
            table {
                caption { "Links, newest first" }
                thead { tr { th scope="col" { "Made" } th scope="col" { "State" } th scope="col" { "Settings" } th scope="col" { "Revoke" } } }
                tbody {
                    @for l in &links {
                        tr {
                            td { (when(l.created_ms)) }
                            td { (l.closed(now).map_or("open", |c| c.reason().trim_start_matches("link_"))) }
                            td { (link_facts(l)) }
                            td {
                                @if l.revoked_ms.is_none() {
                                    form method="post" action=(format!("/rooms/{room}/links/{}/revoke", l.id)) {
                                        (csrf_field(&viewer.csrf))
                                        button type="submit" aria-label=(format!("Revoke the link made {}", when(l.created_ms))) { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Share links", Some(viewer.header()), body).into_response())
}

/// `POST /rooms/{id}/links/{link}/revoke`.
pub async fn revoke(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, raw_link)): Path<(String, String)>,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, fields.csrf())?;
    let room: RoomId = path_id(&raw)?;
    let link: LinkId = path_id(&raw_link)?;
    let p = &viewer.authed.principal;
    let manage = app
        .permits_in_room(&meta, p, room, &[app::authz::Action::LinkManage])
        .await?
        == [true];
    if manage {
        let auth = app.room(&meta, p, room, act::LinkManage).await?;
        Links(&app).revoke_link(auth, link).await?;
    } else {
        let auth = app.room(&meta, p, room, act::LinkCreate).await?;
        Links(&app).revoke_own_link(auth, link).await?;
    }
    Ok(Redirect::to(&format!("/rooms/{room}/links")).into_response())
}

// ---- the public pages

/// The recipient's session secret on this link, from its cookie.
fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == LINK_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// A page for whoever holds the link (no header: they have no account here).
fn public(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, layout::page(title, None, body)).into_response()
}

/// What a refused link says: which of revoked, expired, used up, wrong
/// password or code, not available — nothing more.
fn refused(e: AppError) -> Response {
    if e.code() == ErrorCode::LinkThrottled {
        // The message says how long to wait, and nothing about the link.
        let text = e.to_string();
        let body = html! { h1 { "Too many tries" } p #link-state role="alert" { (text) } };
        return public(StatusCode::TOO_MANY_REQUESTS, "Too many tries", body);
    }
    let (status, title, text) = match e.code() {
        ErrorCode::LinkRevoked => (
            StatusCode::GONE,
            "Link revoked",
            "This link was revoked by the person who shared it.",
        ),
        ErrorCode::LinkExpired => (StatusCode::GONE, "Link expired", "This link has expired."),
        ErrorCode::LinkExhausted => (
            StatusCode::GONE,
            "Link used up",
            "This link's downloads are used up.",
        ),
        ErrorCode::LinkPassword => (
            StatusCode::FORBIDDEN,
            "Wrong password",
            "The password is wrong.",
        ),
        ErrorCode::LinkCode => (
            StatusCode::FORBIDDEN,
            "Wrong code",
            "The code is wrong or has expired. Ask for a new one.",
        ),
        ErrorCode::LinkViewOnly => (
            StatusCode::FORBIDDEN,
            "View only",
            "This link lets the file be viewed, not downloaded.",
        ),
        ErrorCode::LinkAgreement => (
            StatusCode::FORBIDDEN,
            "Agreement needed",
            "The owner of this file asks its recipients to accept agreements first. Open the link again to read and accept them.",
        ),
        ErrorCode::TextMismatch => (
            StatusCode::CONFLICT,
            "The agreement changed",
            "The agreement's text changed since it was shown. Open the link again to read it.",
        ),
        ErrorCode::RenderUnsupported
        | ErrorCode::RenderEncrypted
        | ErrorCode::RenderMalformed
        | ErrorCode::RenderTooLarge
        | ErrorCode::TooLargeToView => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Cannot be shown",
            "This file cannot be shown in the viewer.",
        ),
        ErrorCode::ViewExpired => (
            StatusCode::CONFLICT,
            "View ended",
            "This view of the file has ended. Open the link again.",
        ),
        ErrorCode::ServerBusy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "The server is busy; try again in a moment.",
        ),
        ErrorCode::TooManyAttempts => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many attempts; wait a moment and try again.",
        ),
        ErrorCode::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "Something went wrong on the server.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Not available",
            "This link is not available.",
        ),
    };
    let body = html! { h1 { (title) } p #link-state role="alert" { (text) } };
    public(status, title, body)
}

/// `GET /l/{token}`: the next step for this browser.
pub async fn public_page(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    match Links(&app)
        .link_page(&meta, &token, session.as_deref())
        .await
    {
        Ok(page) => step_page(&token, &page),
        Err(e) => refused(e),
    }
}

/// The page of an open link's step.
fn step_page(token: &str, page: &LinkPage) -> Response {
    let base = format!("/l/{token}");
    let size = format!("{} bytes", page.size);
    let body = html! {
        h1 { (page.name) }
        p { "Shared with you through Custody (" (size) "), until " (when(page.link.expires_ms)) "." }
        @match &page.step {
            LinkStep::Address => {
                p { "This link is for named recipients. Type your e-mail address: if it is one of them, a code is sent to it." }
                form #address method="post" action=(format!("{base}/address")) {
                    label for="link-email" { "Your e-mail address" }
                    input #link-email type="email" name="email" required autocomplete="email";
                    button type="submit" { "Send me a code" }
                }
            }
            LinkStep::Code { .. } => {
                p #link-sent role="status" { "If the address may open this link, a code was sent to it. Type it here." }
                form #code method="post" action=(format!("{base}/code")) {
                    label for="link-code" { "Code" }
                    input #link-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    button type="submit" { "Verify" }
                }
            }
            LinkStep::Agreement { recipient, agreement, left } => {
                p { "Verified as " (recipient) "." }
                p #link-agreements role="status" {
                    "Before the first byte, the owner of this file asks you to accept "
                    @if *left == 1 { "one agreement" } @else { (left) " agreements, one at a time" }
                    ". Your acceptance is recorded with the text, the time and your address."
                }
                h2 #agreement-title { (agreement.title) }
                pre.agreement-text #agreement-text tabindex="0" aria-labelledby="agreement-title" { (agreement.text) }
                form #sign method="post" action=(format!("{base}/sign")) {
                    input type="hidden" name="requirement" value=(agreement.requirement);
                    input type="hidden" name="text_sha256" value=(agreement.text_sha256);
                    label.check {
                        input #link-accept type="checkbox" name="accept" value="yes" required;
                        " I have read " (agreement.title) " and accept it as " (recipient)
                    }
                    button #link-sign type="submit" { "Accept and continue" }
                }
            }
            LinkStep::Password { recipient } => {
                @if let Some(r) = recipient { p { "Verified as " (r) "." } }
                form #password method="post" action=(format!("{base}/view")) {
                    label for="link-password" { "Password" }
                    input #link-password type="password" name="password" required autocomplete="current-password";
                    button #link-view type="submit" { "View" }
                    @if page.link.mode == LinkMode::Download {
                        " "
                        button #link-download type="submit" formaction=(format!("{base}/download")) { "Download" }
                    }
                }
            }
            LinkStep::Ready { recipient } => {
                @if let Some(r) = recipient { p { "Verified as " (r) "." } }
                p { a #link-view href=(format!("{base}/view")) { "View " (page.name) } }
                @if page.link.mode == LinkMode::View {
                    p { "This link lets the file be viewed only." }
                } @else {
                    p { a #link-download href=(format!("{base}/download")) { "Download " (page.name) } }
                }
            }
        }
    };
    public(StatusCode::OK, "Shared file", body)
}

/// Refuses a public form posted from another site.
fn from_elsewhere(headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    super::session::cross_site(headers, uri).then(|| {
        let body =
            html! { h1 { "Refused" } p role="alert" { "The form did not come from this site." } };
        public(StatusCode::FORBIDDEN, "Refused", body)
    })
}

/// `POST /l/{token}/address`: mails a code and starts this browser's session.
pub async fn public_address(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    let Ok(address) = MailAddress::parse(fields.get("email")) else {
        let body = html! { h1 { "Not an address" } p role="alert" { "That is not an e-mail address." } p { a href=(format!("/l/{token}")) { "Try again" } } };
        return public(StatusCode::BAD_REQUEST, "Not an address", body);
    };
    match Links(&app).link_send_code(&meta, &token, &address).await {
        Ok(session) => {
            let mut response = Redirect::to(&format!("/l/{token}")).into_response();
            let cookie = format!(
                "{LINK_COOKIE}={session}; Path=/l/{token}; Secure; HttpOnly; SameSite=Strict"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => refused(e),
    }
}

/// `POST /l/{token}/code`: checks the code typed in this browser.
pub async fn public_code(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    let Some(session) = session_of(&headers) else {
        return refused(AppError::invalid(
            ErrorCode::LinkCode,
            "no code was asked for",
        ));
    };
    match Links(&app)
        .link_verify_code(&meta, &token, &session, fields.get("code"))
        .await
    {
        Ok(_) => Redirect::to(&format!("/l/{token}")).into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /l/{token}/sign`: the verified recipient accepts one of the room's
/// required agreements (the box ticked, the text's SHA-256 sent back).
pub async fn public_sign(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    if fields.get("accept") != "yes" {
        let body = html! { h1 { "Not accepted" } p role="alert" { "Tick the box to accept the agreement." } p { a href=(format!("/l/{token}")) { "Back to the agreement" } } };
        return public(StatusCode::BAD_REQUEST, "Not accepted", body);
    }
    let session = session_of(&headers);
    match Links(&app)
        .link_sign(
            &meta,
            &token,
            session.as_deref(),
            fields.get("requirement"),
            fields.get("text_sha256"),
        )
        .await
    {
        Ok(()) => Redirect::to(&format!("/l/{token}")).into_response(),
        Err(e) => refused(e),
    }
}

/// `GET /l/{token}/view`: the viewer, for a link with no password.
pub async fn public_view(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    match Links(&app)
        .link_open_view(&meta, &token, session.as_deref(), None)
        .await
    {
        Ok(opened) => viewer_page(&token, &opened),
        Err(e) => refused(e),
    }
}

/// `POST /l/{token}/view`: the viewer, with the link's password.
pub async fn public_view_form(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    let session = session_of(&headers);
    let password = Some(fields.get("password").to_owned());
    match Links(&app)
        .link_open_view(&meta, &token, session.as_deref(), password)
        .await
    {
        Ok(opened) => viewer_page(&token, &opened),
        Err(e) => refused(e),
    }
}

/// The viewer of a link's file: its pages, each drawn and marked for the
/// link's recipient on the server.
fn viewer_page(token: &str, opened: &app::viewer::OpenedView) -> Response {
    let name = opened
        .file
        .path
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .to_owned();
    let body = html! {
        div.titlebar {
            h1 #viewer-title { (name) }
            span.muted { "view only · " (opened.pages()) " page(s)" }
        }
        p.muted { "Every page is marked for you and every view is recorded." }
        p { a href=(format!("/l/{token}")) { "Back to the link" } }
        (super::viewer::toolbar())
        p.notice #viewer-status role="status" hidden {}
        div #pages role="region" tabindex="0" aria-label=(format!("Pages of {name}"))
            data-pages=(opened.pages()) data-view=(opened.view) {
            @for (n, (w, h)) in (1..).zip(&opened.sizes) {
                img.page #(format!("page-{n}")) loading="lazy" alt=(format!("Page {n} of {name}"))
                    width=(w) height=(h)
                    src=(format!("/l/{token}/view/{}/pages/{n}", opened.view));
            }
        }
    };
    let page = layout::page_with(&name, None, &["viewer.js"], body);
    (StatusCode::OK, page).into_response()
}

/// `GET /l/{token}/view/{view}/pages/{page}`: one page of a link's view.
pub async fn public_page_image(
    State(app): State<App>,
    Meta(meta): Meta,
    Path((token, view, page)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    let page: u32 = page.parse().unwrap_or(0);
    let view = match crate::api::view_of(Some(&view)) {
        Ok(Some(view)) => view,
        Ok(None) | Err(_) => return refused(AppError::NotFound),
    };
    match Links(&app)
        .link_view_page(&meta, &token, session.as_deref(), view, page)
        .await
    {
        Ok(image) => crate::api::page_response(image),
        Err(e) => refused(e),
    }
}

/// `GET /l/{token}/download`: the file, for a link with no password.
pub async fn public_download(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    match Links(&app)
        .link_download(&meta, &token, session.as_deref(), None)
        .await
    {
        Ok(d) => super::rooms::attachment(d),
        Err(e) => refused(e),
    }
}

/// `POST /l/{token}/download`: the file, with the link's password.
pub async fn public_download_form(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    let session = session_of(&headers);
    let password = Some(fields.get("password").to_owned());
    match Links(&app)
        .link_download(&meta, &token, session.as_deref(), password)
        .await
    {
        Ok(d) => super::rooms::attachment(d),
        Err(e) => refused(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; custody_link=s3cret; b=2"),
        );
        assert_eq!(session_of(&h).as_deref(), Some("s3cret"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("custody_linkx=no"));
        assert_eq!(session_of(&h), None);
    }

    #[test]
    fn refusals_say_which_and_nothing_more() {
        for (code, status) in [
            (ErrorCode::LinkRevoked, StatusCode::GONE),
            (ErrorCode::LinkExpired, StatusCode::GONE),
            (ErrorCode::LinkExhausted, StatusCode::GONE),
            (ErrorCode::LinkPassword, StatusCode::FORBIDDEN),
            (ErrorCode::LinkCode, StatusCode::FORBIDDEN),
            (ErrorCode::LinkThrottled, StatusCode::TOO_MANY_REQUESTS),
            (ErrorCode::LinkUnavailable, StatusCode::NOT_FOUND),
            (ErrorCode::NotFound, StatusCode::NOT_FOUND),
        ] {
            let got = refused(AppError::invalid(code, "x"));
            assert_eq!(got.status(), status, "{code:?}");
        }
        assert_eq!(refused(AppError::NotFound).status(), StatusCode::NOT_FOUND);
    }
}
