//! Destruction attestations in the browser (docs/attestations.md). For the
//! owner's admins, security officers and auditors: `/attestations` (every
//! request, its state, overdue ones marked; `?party=` one party's) and
//! `/attestations/{id}` (the copies listed, the text to sign, the signature;
//! an admin's form to send it again, the new page's link shown once). For the
//! party's officer, the public pages under `/a/{token}`: a code mailed to the
//! request's address, then the declaration and the list, signed with the
//! name typed and a box ticked — and a page that says "not available" for
//! any other secret, nothing more. The officer's verified browser session is
//! a cookie scoped to the page's path; public forms posted from another site
//! are refused, as the sign-in form's are.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::{Action, App, AppError, AttestationPage, AttestationStep, Attestations, Signing, act};
use model::{Attestation, AttestationId, AttestationState, ErrorCode, MailAddress, PartyId};

use super::admin::{Done, Failed, Fields, again, csrf_field, may, path_id, refusal};
use super::{Viewer, WebError, check_csrf, layout};
use crate::auth::{FormCsrf, Meta};

/// The cookie holding the officer's session on one request (scoped to its path).
const ATTEST_COOKIE: &str = "custody_attest";

/// The routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/attestations/{id}/send", post(send))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/attestations", get(list))
        .route("/attestations/{id}", get(show))
        .route("/a/{token}", get(public_page))
        .route("/a/{token}/address", post(public_address))
        .route("/a/{token}/code", post(public_code))
        .route("/a/{token}/sign", post(public_sign))
        .merge(forms)
}

/// `YYYY-MM-DD HH:MM UTC` of a time.
fn when(ms: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&f).ok())
        .unwrap_or_default()
}

fn state_badge(a: &Attestation, now: i64) -> Markup {
    let s = a.state(now);
    let class = match s {
        AttestationState::Signed => "badge ok",
        AttestationState::Overdue => "badge warn",
        AttestationState::Open => "badge",
    };
    html! { span class=(class) { (s.as_str()) } }
}

/// Which party's attestations to list.
#[derive(serde::Deserialize, Default)]
pub struct PartyQuery {
    #[serde(default)]
    party: Option<String>,
}

/// `GET /attestations`.
pub async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(q): Query<PartyQuery>,
) -> Result<Markup, WebError> {
    let party: Option<PartyId> = match q.party.as_deref().filter(|p| !p.is_empty()) {
        Some(raw) => Some(path_id(raw)?),
        None => None,
    };
    let auth = app
        .system(&meta, &viewer.authed.principal, act::AttestationRead)
        .await?;
    let all = Attestations(&app).list(auth, party).await?;
    let now = app.now();
    let body = html! {
        section.card {
            h1 { "Destruction attestations" }
            p { "Offboarding a party asks its officer to declare that every copy it received through Custody — listed from the ledger — was returned or destroyed. Overdue requests are mailed again to the officer and escalated to the security officers once a week." }
            @if all.is_empty() {
                p.empty #attestations-empty { "No attestation has been requested." }
            } @else {
                table #attestations {
                    thead { tr {
                        th scope="col" { "Party" } th scope="col" { "Officer" } th scope="col" { "State" }
                        th scope="col" { "Opened" } th scope="col" { "Due" } th scope="col" { "Copies" } th scope="col" { "Signed by" }
                    } }
                    tbody {
                        @for a in &all {
                            tr id=(format!("attestation-{}", a.id)) {
                                td { a href=(format!("/attestations/{}", a.id)) { (a.party_name) } }
                                td { (a.officer_email.as_deref().unwrap_or("none named")) }
                                td.state { (state_badge(a, now)) }
                                td { (when(a.opened_ms)) }
                                td { (when(a.due_ms)) }
                                td { (a.copies.len()) }
                                td { @if let Some(s) = &a.signature { (s.name) " <" (s.email) ">, " (when(s.signed_ms)) } @else { span.muted { "not signed" } } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        "Destruction attestations",
        Some(viewer.header()),
        body,
    ))
}

/// `GET /attestations/{id}`.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let id: AttestationId = path_id(&raw)?;
    render(&app, &meta, &viewer, id, &ok, None, None).await
}

/// The page of one attestation; `sent` is a new signing page's path to
/// show once.
async fn render(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: AttestationId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
    sent: Option<&str>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::AttestationRead)
        .await?;
    let a = Attestations(app).get(auth, id).await?;
    let now = app.now();
    let may_send = a.signature.is_none() && may(app, meta, viewer, Action::AttestationSend);
    let officer = Failed::value(
        failed,
        "attestation-send",
        "officer_email",
        a.officer_email.as_deref().unwrap_or_default(),
    );
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/attestations" { "Destruction attestations" } span.sep { "/" } (a.party_name) }
            h1 #attestation-title { "Attestation of " (a.party_name) }
            (ok.notice())
            p.muted {
                "State " span #attestation-state { (a.state(now).as_str()) }
                " · opened " (when(a.opened_ms)) " · due " (when(a.due_ms))
                " · officer " span #attestation-officer { (a.officer_email.as_deref().unwrap_or("none named")) }
                " · reminders " (a.reminders) " · escalations " (a.escalations)
                " · " a href=(format!("/admin/parties/{}", a.party_id)) { "the party" }
            }
            @if let Some(path) = sent {
                p.notice #attestation-sent role="status" {
                    "Sent again. The signing page (shown once; the old link no longer works): "
                    code #attestation-link { (path) }
                }
            }
        }
        section.card #attestation-signature {
            h2 { "Signature" }
            @if let Some(s) = &a.signature {
                p { "Signed by " strong #attestation-signer { (s.name) } " <" (s.email) "> on " (when(s.signed_ms))
                    @if let Some(addr) = &s.source_addr { " from " (addr) } "." }
                p.muted { "SHA-256 of the text signed: " code { (s.text_sha256) } }
            } @else {
                p.muted { "Not signed yet." }
            }
        }
        @if may_send {
            section.card {
                h2 { "Send again" }
                p.muted { "Mails the request to the officer with a new signing link; the old link stops working." }
                (Failed::alert_for(failed, "attestation-send"))
                form.stack #attestation-send method="post" action=(format!("/attestations/{id}/send")) {
                    (csrf_field(&viewer.csrf))
                    label { "Officer's e-mail address"
                        input #attestation-officer-email type="email" name="officer_email" value=(officer);
                    }
                    div { button.primary #attestation-send-submit type="submit" { "Send the request" } }
                }
            }
        }
        section.card {
            h2 { "Copies listed (" (a.copies.len()) ")" }
            @if a.copies.is_empty() {
                p.empty { "The ledger records no copy received by the party." }
            } @else {
                table #attestation-copies {
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "How" } th scope="col" { "File" }
                        th scope="col" { "Version" } th scope="col" { "SHA-256" } th scope="col" { "Mark" } th scope="col" { "By" }
                    } }
                    tbody {
                        @for c in &a.copies {
                            tr {
                                td { (when(c.time_ms)) }
                                td.kind { (c.kind.words()) }
                                td { (c.room_name) " / " (c.path) }
                                td { @if let Some(v) = c.version { (v) } }
                                td { code { (c.sha256) } }
                                td.mark { @if let Some(m) = &c.mark_id { code { (m) } } }
                                td { (c.by) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "The text to sign" }
            p.muted { "SHA-256 " code #attestation-hash { (a.text_sha256) } }
            pre.agreement-text #attestation-text tabindex="0" { (a.text) }
        }
    };
    Ok(layout::page(
        &format!("Attestation of {}", a.party_name),
        Some(viewer.header()),
        body,
    ))
}

/// `POST /attestations/{id}/send`: mails the request again with a new link.
pub async fn send(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: AttestationId = path_id(&raw)?;
    let sent = async {
        let to = match f.get("officer_email").trim() {
            "" => None,
            raw => Some(MailAddress::parse(raw).map(|a| a.bare()).map_err(|e| {
                AppError::invalid(ErrorCode::InvalidEmail, format!("`officer_email`: {e}"))
            })?),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::AttestationSend)
            .await?;
        Attestations(&app).send(auth, id, to).await
    }
    .await;
    match sent {
        Ok((_, path)) => {
            let page = render(
                &app,
                &meta,
                &viewer,
                id,
                &Done::default(),
                None,
                Some(&path),
            )
            .await?;
            Ok(page.into_response())
        }
        Err(e) => {
            let failed = Failed {
                form: "attestation-send",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render(
                &app,
                &meta,
                &viewer,
                id,
                &Done::default(),
                Some(&failed),
                None,
            )
            .await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

// ---- the public pages

/// The officer's session secret on this request, from its cookie.
fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == ATTEST_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// A page for the officer (no header: they have no account here).
fn public(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, layout::page(title, None, body)).into_response()
}

/// What a refused step says, with its stable code (`data-code`), and
/// nothing more: an unknown secret is "not available" like any other.
fn refused(e: AppError) -> Response {
    let code = e.code();
    let (status, title, text) = match code {
        ErrorCode::AttestationThrottled => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many tries",
            e.to_string(),
        ),
        ErrorCode::AttestationCode => (
            StatusCode::FORBIDDEN,
            "Wrong code",
            "The code is wrong or has expired. Ask for a new one.".to_owned(),
        ),
        ErrorCode::TextMismatch => (
            StatusCode::CONFLICT,
            "The text changed",
            "The text signed is not the text of this request. Open the page again to read it."
                .to_owned(),
        ),
        ErrorCode::BadAttestation => (StatusCode::BAD_REQUEST, "Not signed", e.to_string()),
        ErrorCode::AttestationSigned => (
            StatusCode::CONFLICT,
            "Signed already",
            "This declaration is signed already.".to_owned(),
        ),
        ErrorCode::AttestationOfficer => (
            StatusCode::BAD_REQUEST,
            "No address",
            "This request names no address to send a code to. Ask its sender to send it again."
                .to_owned(),
        ),
        ErrorCode::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            "Something went wrong on the server.".to_owned(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Not available",
            "This page is not available.".to_owned(),
        ),
    };
    let shown = if status == StatusCode::NOT_FOUND {
        ErrorCode::NotFound
    } else {
        code
    };
    let body =
        html! { h1 { (title) } p #attest-state role="alert" data-code=(shown.as_str()) { (text) } };
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

/// `GET /a/{token}`: the next step for this browser.
pub async fn public_page(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let session = session_of(&headers);
    match Attestations(&app)
        .attestation_page(&token, session.as_deref())
        .await
    {
        Ok(page) => step_page(&token, &page),
        Err(e) => refused(e),
    }
}

fn step_page(token: &str, page: &AttestationPage) -> Response {
    let base = format!("/a/{token}");
    let a = &page.attestation;
    let body = html! {
        h1 { "Declaration of return or destruction" }
        p { "The access of " (a.party_name) " to files shared through Custody has ended. Its officer is asked to declare that every copy it received was returned or destroyed, by " (when(a.due_ms)) "." }
        @match &page.step {
            AttestationStep::Address => {
                p { "This request was sent to " strong { (page.officer_hint) } ". To read and sign it, prove that you hold that address: a code is mailed to it." }
                form #attest-address method="post" action=(format!("{base}/address")) {
                    button #attest-send-code type="submit" { "Send me a code" }
                }
            }
            AttestationStep::Code => {
                p #attest-sent role="status" { "A code was sent to " (page.officer_hint) ". Type it here." }
                form #attest-code-form method="post" action=(format!("{base}/code")) {
                    label for="attest-code" { "Code" }
                    input #attest-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                    button #attest-verify type="submit" { "Verify" }
                }
            }
            AttestationStep::Sign { email } => {
                p { "Verified as " (email) ". Read the declaration and the list of copies: your signature covers exactly this text, and is recorded with your name, your address, the time and the text's SHA-256." }
                pre.agreement-text #attest-text tabindex="0" aria-label="The declaration and the copies" { (a.text) }
                p.muted { "SHA-256 of the text: " code { (a.text_sha256) } }
                form #attest-sign-form method="post" action=(format!("{base}/sign")) {
                    input type="hidden" name="text_sha256" value=(a.text_sha256);
                    label for="attest-name" { "Your full name" }
                    input #attest-name type="text" name="name" required maxlength="200" autocomplete="name";
                    label.check {
                        input #attest-accept type="checkbox" name="accept" value="yes" required;
                        " I make this declaration on behalf of " (a.party_name) " as " (email)
                    }
                    button #attest-sign type="submit" { "Sign the declaration" }
                }
            }
            AttestationStep::Signed => {
                @if let Some(s) = &a.signature {
                    p #attest-state role="status" data-code="signed" { "Signed by " (s.name) " on " (when(s.signed_ms)) ". Thank you." }
                }
            }
        }
    };
    public(StatusCode::OK, "Declaration of destruction", body)
}

/// `POST /a/{token}/address`: mails a code and starts this browser's session.
pub async fn public_address(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(refusal) = from_elsewhere(&headers, &uri) {
        return refusal;
    }
    match Attestations(&app)
        .attestation_send_code(&meta, &token)
        .await
    {
        Ok(session) => {
            let mut response = Redirect::to(&format!("/a/{token}")).into_response();
            let cookie = format!(
                "{ATTEST_COOKIE}={session}; Path=/a/{token}; Secure; HttpOnly; SameSite=Strict"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => refused(e),
    }
}

/// `POST /a/{token}/code`: checks the code typed in this browser.
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
            ErrorCode::AttestationCode,
            "no code was asked for",
        ));
    };
    match Attestations(&app)
        .attestation_verify_code(&meta, &token, &session, fields.get("code"))
        .await
    {
        Ok(()) => Redirect::to(&format!("/a/{token}")).into_response(),
        Err(e) => refused(e),
    }
}

/// `POST /a/{token}/sign`: the verified officer signs (name typed, box
/// ticked, the text's SHA-256 sent back).
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
    let session = session_of(&headers);
    let signing = Signing {
        name: fields.get("name"),
        text_sha256: fields.get("text_sha256"),
        accepted: fields.get("accept") == "yes",
    };
    match Attestations(&app)
        .attestation_sign(&meta, &token, session.as_deref(), signing)
        .await
    {
        Ok(_) => Redirect::to(&format!("/a/{token}")).into_response(),
        Err(e) => refused(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_their_code_and_unknown_pages_say_nothing_more() {
        for (e, status, code) in [
            (AppError::NotFound, 404, "not_found"),
            (
                AppError::invalid(ErrorCode::AttestationCode, "x"),
                403,
                "attestation_code",
            ),
            (
                AppError::invalid(ErrorCode::TextMismatch, "x"),
                409,
                "text_mismatch",
            ),
        ] {
            let r = refused(e);
            assert_eq!(r.status().as_u16(), status, "{code}");
        }
    }
}
