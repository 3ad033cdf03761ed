//! Upload requests (file drops) in the browser. For the room's people:
//! `/rooms/{id}/upload-requests`, the "Request files" form (folder,
//! recipients, end, limits, message), the request's link shown once, and the
//! room's requests with what they received and revoke (every request for its
//! managers and the owner's admins, one's own for the others who may ask).
//! For the recipients, the public pages under `/u/{token}`: the address to
//! mail a code to, the code, then a form that sends one or many files in one
//! submission (one batch: one digest to the requester) — and pages that say
//! a request is revoked, expired, full or not available, and nothing more. A
//! file held for review is "received, under review", a refused one
//! "refused", without the reason. The recipient's verified browser session
//! is a cookie scoped to the request's path; public forms posted from another
//! site are refused, as the sign-in form's are.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::{Markup, html};

use app::{
    App, AppError, DropPage, DropStep, Dropped, ErrorCode, NewUploadRequest, UploadRequests, act,
};
use model::{DropOutcome, MailAddress, RoomId, UploadRequest, UploadRequestId};

use super::admin::{Failed, Fields, again, csrf_field, parse_date, path_id, refusal, site_url};
use super::{Viewer, WebError, check_csrf, layout};
use crate::auth::{FormCsrf, Meta};
use crate::limited;

/// The cookie holding a recipient's session on one request (scoped to its path).
const DROP_COOKIE: &str = "custody_drop";

/// The routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/rooms/{id}/upload-requests", post(create))
        .route("/rooms/{id}/upload-requests/{request}/revoke", post(revoke))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/rooms/{id}/upload-requests", get(page))
        .route("/u/{token}", get(public_page))
        .route("/u/{token}/address", post(public_address))
        .route("/u/{token}/code", post(public_code))
        .route(
            "/u/{token}/files",
            post(public_files).layer(axum::extract::DefaultBodyLimit::disable()),
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

/// Whether the caller manages every request of the room (else: their own).
async fn manages(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    room: RoomId,
) -> Result<bool, AppError> {
    Ok(app
        .permits_in_room(
            meta,
            &viewer.authed.principal,
            room,
            &[app::authz::Action::UploadRequestManage],
        )
        .await?
        == [true])
}

/// The "Request files" form, with the refusal of a failed post.
fn request_form(viewer: &Viewer, room: RoomId, failed: Option<&Failed<'_>>) -> Markup {
    let v = |field: &str, current: &str| Failed::value(failed, "request", field, current);
    html! {
        section.card {
            h2 { "Request files" }
            p { "Ask people without an account to send files into a folder of this room. Each recipient proves their address with a code sent by e-mail; their files go through the room's inbound checks and never replace a file already there. You get one e-mail per batch they send." }
            (Failed::alert_for(failed, "request"))
            form #request method="post" action=(format!("/rooms/{room}/upload-requests")) {
                (csrf_field(&viewer.csrf))
                p {
                    label for="request-folder" { "Folder (empty: the room's top)" }
                    input #request-folder type="text" name="folder" value=(v("folder", ""));
                }
                p {
                    label for="request-recipients" { "Recipients' e-mail addresses (one per line)" }
                    textarea #request-recipients name="recipients" rows="3" required { (v("recipients", "")) }
                }
                p {
                    label for="request-expires" { "Ends on (YYYY-MM-DD, empty: the maximum)" }
                    input #request-expires type="date" name="expires" value=(v("expires", ""));
                }
                p {
                    label for="request-files" { "Most files (empty: 10)" }
                    input #request-files type="number" min="1" name="max_files" value=(v("max_files", ""));
                }
                p {
                    label for="request-size" { "Largest file in MB (empty: the server's limit)" }
                    input #request-size type="number" min="1" name="max_mb" value=(v("max_mb", ""));
                }
                p {
                    label for="request-message" { "Message to the recipients (optional)" }
                    textarea #request-message name="message" rows="3" { (v("message", "")) }
                }
                button type="submit" { "Request files" }
            }
        }
    }
}

/// A request's settings as a short list.
fn request_facts(r: &UploadRequest) -> Markup {
    html! {
        ul.facts {
            li { "Into " code { "/" (r.folder) } }
            li { "For " (r.recipients.join(", ")) }
            li { "Ends " (when(r.expires_ms)) }
            li { (r.files) " of " (r.max_files) " files taken" }
            li { "Files up to " (layout::size(r.max_file_bytes)) }
        }
    }
}

/// The room's requests (every one, or the caller's own) and the form.
async fn page_body(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    room: RoomId,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let manage = manages(app, meta, viewer, room).await?;
    let requests = if manage {
        let auth = app.room(meta, p, room, act::UploadRequestManage).await?;
        UploadRequests(app).room_requests(auth).await?
    } else {
        let auth = app.room(meta, p, room, act::UploadRequestCreate).await?;
        UploadRequests(app).own_requests(auth).await?
    };
    let may_create = app
        .permits_in_room(meta, p, room, &[app::authz::Action::UploadRequestCreate])
        .await?
        == [true];
    let now = app.now_ms();
    Ok(html! {
        nav.crumbs aria-label="Location" {
            a href="/" { "Rooms" }
            span.sep { "/" }
            a href=(format!("/rooms/{room}")) { "Room" }
        }
        h1 { "Upload requests" }
        @if may_create { (request_form(viewer, room, failed)) }
        h2 { (if manage { "Every request of this room" } else { "Your requests in this room" }) }
        @if requests.is_empty() { p #no-requests { "No upload requests." } }
        @else {
            table #requests {
                caption { "Upload requests, newest first" }
                thead { tr { th scope="col" { "Made" } th scope="col" { "State" } th scope="col" { "Settings" } th scope="col" { "Revoke" } } }
                tbody {
                    @for r in &requests {
                        tr {
                            td { (when(r.created_ms)) }
                            td.state { (r.state(now)) }
                            td { (request_facts(r)) }
                            td {
                                @if r.revoked_ms.is_none() {
                                    form method="post" action=(format!("/rooms/{room}/upload-requests/{}/revoke", r.id)) {
                                        (csrf_field(&viewer.csrf))
                                        button type="submit" aria-label=(format!("Revoke the request made {}", when(r.created_ms))) { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `GET /rooms/{id}/upload-requests`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let room: RoomId = path_id(&raw)?;
    let body = page_body(&app, &meta, &viewer, room, None).await?;
    Ok(layout::page("Upload requests", Some(viewer.header()), body).into_response())
}

/// The new request's settings from the form.
fn new_request(fields: &Fields) -> Result<NewUploadRequest, AppError> {
    let number = |name: &str, label: &str| -> Result<Option<i64>, AppError> {
        fields
            .opt(name)
            .map(|raw| {
                raw.trim().parse::<i64>().map_err(|_| {
                    AppError::invalid(
                        ErrorCode::UploadRequestInvalid,
                        format!("{label} is not a number"),
                    )
                })
            })
            .transpose()
    };
    let expires_ms = parse_date("ends on", fields.get("expires"))?
        // The whole day named.
        .map(|start| start + 86_400_000 - 1);
    let max_file_bytes = number("max_mb", "the largest file")?.map(|mb| mb.saturating_mul(1 << 20));
    let recipients = super::admin::list(fields.get("recipients"))
        .iter()
        .map(|r| {
            MailAddress::parse(r)
                .map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, format!("`{r}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewUploadRequest {
        folder: fields.get("folder").to_owned(),
        expires_ms,
        max_file_bytes,
        max_files: number("max_files", "the most files")?,
        recipients,
        message: fields.opt("message").map(str::to_owned),
    })
}

/// `POST /rooms/{id}/upload-requests`: makes the request and shows its link once.
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
    let room: RoomId = path_id(&raw)?;
    let made = match new_request(&fields) {
        Ok(new) => {
            let auth = app
                .room(
                    &meta,
                    &viewer.authed.principal,
                    room,
                    act::UploadRequestCreate,
                )
                .await?;
            UploadRequests(&app).create_request(auth, new).await
        }
        Err(e) => Err(e),
    };
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            let refusal = refusal(e)?;
            let status = refusal.status;
            let failed = Failed {
                form: "request",
                refusal,
                fields: &fields,
            };
            let body = page_body(&app, &meta, &viewer, room, Some(&failed)).await?;
            return Ok(again(
                status,
                layout::page("Upload requests", Some(viewer.header()), body),
            ));
        }
    };
    let url = site_url(&headers, &uri, &format!("/u/{}", made.token));
    let body = html! {
        h1 { "Files requested" }
        p.notice #confirmation role="status" { "The request was made. Send this link to the recipients; copy it now: it is not shown again." }
        p { label for="request-url" { "Link" } input #request-url type="text" readonly value=(url); }
        (request_facts(&made.request))
        p { a href=(format!("/rooms/{room}/upload-requests")) { "The room's upload requests" } }
    };
    Ok((
        StatusCode::CREATED,
        layout::page("Files requested", Some(viewer.header()), body),
    )
        .into_response())
}

/// `POST /rooms/{id}/upload-requests/{request}/revoke`.
pub async fn revoke(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, raw_request)): Path<(String, String)>,
    axum::Form(fields): axum::Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, fields.csrf())?;
    let room: RoomId = path_id(&raw)?;
    let request: UploadRequestId = path_id(&raw_request)?;
    let p = &viewer.authed.principal;
    if manages(&app, &meta, &viewer, room).await? {
        let auth = app.room(&meta, p, room, act::UploadRequestManage).await?;
        UploadRequests(&app).revoke_request(auth, request).await?;
    } else {
        let auth = app.room(&meta, p, room, act::UploadRequestCreate).await?;
        UploadRequests(&app)
            .revoke_own_request(auth, request)
            .await?;
    }
    Ok(Redirect::to(&format!("/rooms/{room}/upload-requests")).into_response())
}

// ---- the public pages

/// The recipient's session secret on this request, from its cookie.
fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == DROP_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// A page for whoever holds the request (no header: no account here).
fn public(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, layout::page(title, None, body)).into_response()
}

/// What a refused request says: which of revoked, expired, full, wrong code,
/// not available — nothing more.
fn refused(e: AppError) -> Response {
    if e.code() == ErrorCode::UploadRequestThrottled {
        // The message says how long to wait, and nothing about the request.
        let text = e.to_string();
        let body = html! { h1 { "Too many tries" } p #drop-state role="alert" { (text) } };
        return public(StatusCode::TOO_MANY_REQUESTS, "Too many tries", body);
    }
    let (status, title, text) = match e.code() {
        ErrorCode::UploadRequestRevoked => (
            StatusCode::GONE,
            "Request revoked",
            "This upload request was revoked by the person who sent it.",
        ),
        ErrorCode::UploadRequestExpired => (
            StatusCode::GONE,
            "Request expired",
            "This upload request has expired.",
        ),
        ErrorCode::UploadRequestFull => (
            StatusCode::GONE,
            "Request full",
            "This upload request has taken all the files it allows.",
        ),
        ErrorCode::UploadRequestCode => (
            StatusCode::FORBIDDEN,
            "Wrong code",
            "The code is wrong or has expired. Ask for a new one.",
        ),
        ErrorCode::ServerBusy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "The server is busy; try again in a moment.",
        ),
        ErrorCode::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "Something went wrong on the server.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Not available",
            "This upload request is not available.",
        ),
    };
    let body = html! { h1 { (title) } p #drop-state role="alert" { (text) } };
    public(status, title, body)
}

/// Refuses a public form posted from another site.
fn from_elsewhere(headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    super::session::cross_site(headers, uri).then(|| {
        let body =
            html! { h1 { "Refused" } p role="alert" { "The form did not come from this site." } };
        public(StatusCode::FORBIDDEN, "Refused", body)
    })
}

/// `GET /u/{token}`: the next step for this browser.
pub async fn public_page(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    match UploadRequests(&app)
        .request_page(&meta, &token, session.as_deref())
        .await
    {
        Ok(page) => step_page(&token, &page),
        Err(e) => refused(e),
    }
}

/// The page of an open request's step.
fn step_page(token: &str, page: &DropPage) -> Response {
    let base = format!("/u/{token}");
    let r = &page.request;
    let body = html! {
        h1 { "Send files to " (page.sender) }
        p { (page.sender) " asked you to send files into " (page.room) " through Custody, until " (when(r.expires_ms)) "." }
        @if let Some(m) = &r.message { blockquote #drop-message { (m) } }
        @match &page.step {
            DropStep::Address => {
                p { "Type your e-mail address: if it is one this request was sent to, a code is sent to it." }
                form #address method="post" action=(format!("{base}/address")) {
                    label for="drop-email" { "Your e-mail address" }
                    input #drop-email type="email" name="email" required autocomplete="email";
                    button type="submit" { "Send me a code" }
                }
            }
            DropStep::Code { .. } => {
                p #drop-sent role="status" { "If the address may use this request, a code was sent to it. Type it here." }
                form #code method="post" action=(format!("{base}/code")) {
                    label for="drop-code" { "Code" }
                    input #drop-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    button type="submit" { "Verify" }
                }
            }
            DropStep::Ready { recipient } => {
                p { "Verified as " (recipient) ". Up to " (r.max_files - r.files) " more file(s), each up to " (layout::size(r.max_file_bytes)) "." }
                form #files method="post" action=(format!("{base}/files")) enctype="multipart/form-data" {
                    label for="drop-files" { "Files" }
                    input #drop-files type="file" name="files" multiple required;
                    button type="submit" { "Send" }
                }
            }
        }
    };
    public(StatusCode::OK, "Send files", body)
}

/// `POST /u/{token}/address`: mails a code and starts this browser's session.
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
        let body = html! { h1 { "Not an address" } p role="alert" { "That is not an e-mail address." } p { a href=(format!("/u/{token}")) { "Try again" } } };
        return public(StatusCode::BAD_REQUEST, "Not an address", body);
    };
    match UploadRequests(&app)
        .request_send_code(&meta, &token, &address)
        .await
    {
        Ok(session) => {
            let mut response = Redirect::to(&format!("/u/{token}")).into_response();
            let cookie = format!(
                "{DROP_COOKIE}={session}; Path=/u/{token}; Secure; HttpOnly; SameSite=Strict"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => refused(e),
    }
}

/// `POST /u/{token}/code`: checks the code typed in this browser.
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
            ErrorCode::UploadRequestCode,
            "no code was asked for",
        ));
    };
    match UploadRequests(&app)
        .request_verify_code(&meta, &token, &session, fields.get("code"))
        .await
    {
        Ok(_) => Redirect::to(&format!("/u/{token}")).into_response(),
        Err(e) => refused(e),
    }
}

/// What the sender sees of one file's outcome.
fn said(outcome: DropOutcome) -> &'static str {
    match outcome {
        DropOutcome::Stored => "received",
        DropOutcome::Held => "received, under review",
        DropOutcome::Refused => "refused",
    }
}

/// `POST /u/{token}/files` (multipart, `files` repeated): every file of the
/// submission streamed in turn into the request, one batch; then the
/// digest, and a page listing what became of each.
pub async fn public_files(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    mut form: Multipart,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    let session = session_of(&headers);
    let drops = UploadRequests(&app);
    let mut batch = match drops.open_batch(&meta, &token, session.as_deref()).await {
        Ok(batch) => batch,
        Err(e) => return refused(e),
    };
    let mut done: Vec<Dropped> = Vec::new();
    let mut stopped: Option<AppError> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                stopped = Some(AppError::BodyAborted(limited::multipart_reason(&e)));
                break;
            }
        };
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        if name.is_empty() {
            // A browser sends an empty part when no file was chosen.
            continue;
        }
        match drops
            .drop_file(&mut batch, &name, Box::pin(limited::field(field)))
            .await
        {
            Ok(dropped) => done.push(dropped),
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    let any = batch.received() > 0;
    if let Err(e) = drops.finish_batch(batch).await {
        return refused(e);
    }
    if !any {
        return match stopped {
            Some(e) => refused(e),
            None => {
                let body = html! { h1 { "No file" } p role="alert" { "Choose at least one file to send." } p { a href=(format!("/u/{token}")) { "Back" } } };
                public(StatusCode::BAD_REQUEST, "No file", body)
            }
        };
    }
    let body = html! {
        h1 { "Files sent" }
        p #drop-done role="status" { "What became of each file:" }
        ul #drop-results {
            @for d in &done {
                li { (d.name) ": " span.outcome { (said(d.outcome)) } }
            }
        }
        @if let Some(e) = &stopped {
            p role="alert" { (match e.code() {
                ErrorCode::UploadRequestFull => "The request took all the files it allows: the rest were not sent.",
                ErrorCode::UploadRequestRevoked | ErrorCode::UploadRequestExpired => "The request closed: the rest were not sent.",
                _ => "The rest of the files could not be sent.",
            }) }
        }
        p { a href=(format!("/u/{token}")) { "Send more" } }
    };
    public(StatusCode::OK, "Files sent", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("custody_link=l; custody_drop=s3cret; b=2"),
        );
        assert_eq!(session_of(&h).as_deref(), Some("s3cret"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("custody_dropx=no"));
        assert_eq!(session_of(&h), None);
    }

    #[test]
    fn refusals_say_which_and_nothing_more() {
        for (code, status) in [
            (ErrorCode::UploadRequestRevoked, StatusCode::GONE),
            (ErrorCode::UploadRequestExpired, StatusCode::GONE),
            (ErrorCode::UploadRequestFull, StatusCode::GONE),
            (ErrorCode::UploadRequestCode, StatusCode::FORBIDDEN),
            (
                ErrorCode::UploadRequestThrottled,
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (ErrorCode::UploadRequestUnavailable, StatusCode::NOT_FOUND),
            (ErrorCode::DlpBlocked, StatusCode::NOT_FOUND),
        ] {
            let got = refused(AppError::invalid(code, "x"));
            assert_eq!(got.status(), status, "{code:?}");
        }
        assert_eq!(refused(AppError::NotFound).status(), StatusCode::NOT_FOUND);
    }
}
