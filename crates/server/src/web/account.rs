//! Accounts in the browser. The invitation link's page (`/invite/{token}`,
//! no session needed): who invites whom into which party, a password to set
//! (twice), then the new user is signed in and sent to enrol a second factor
//! when their account must use one. The recovery codes shown once at
//! enrolment and when the user makes new ones. The user's own account page
//! (`/account`): their sessions and API tokens, each ended from there, a named
//! token made with its lifetime (its secret shown once), new recovery codes,
//! how notifications are mailed (each at once, or a daily digest).
//! And an admin's page for someone else's account
//! (`/admin/users/{id}/security`): remove their second factor, unlock their
//! account, each for a reason that the event records.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use app::authz::Action;
use app::{
    Accounts, App, AppError, ErrorCode, Identity, InvitationState, InvitationView, NewToken,
    RequestMeta, SecurityState, act,
};
use model::{MailDigest, Session, SessionId, SessionKind, UserId};

use super::layout::{self, Header};
use super::{Viewer, WebError, check_csrf, session, session_cookies};
use crate::auth::{FormCsrf, Meta};

/// The pages and forms of accounts.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_others))
        .route("/account/tokens", post(create_token))
        .route("/account/recovery-codes", post(renew_recovery_codes))
        .route("/account/mail", post(set_mail))
        .route("/admin/users/{id}/mfa/reset", post(reset_mfa))
        .route("/admin/users/{id}/unlock", post(unlock))
        .layer(Extension(FormCsrf));
    Router::new()
        // Before any session exists: the form carries no CSRF token, and a
        // post from another site is refused as the sign-in form's is.
        .route("/invite/{token}", get(invitation).post(accept))
        .route("/account", get(account))
        .route("/admin/users/{id}/security", get(security))
        .merge(forms)
}

// ---------------------------------------------------------------- invitations

/// The invitation form as posted.
#[derive(Deserialize)]
pub struct AcceptForm {
    password: String,
    confirm: String,
}

/// `GET /invite/{token}`.
async fn invitation(
    State(app): State<App>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    Ok(match Identity(&app).invitation(&token).await? {
        InvitationState::Open(view) => invitation_form(&token, &view, None).into_response(),
        InvitationState::Spent => spent(),
        InvitationState::Unknown => unknown(),
    })
}

/// `POST /invite/{token}`: accepts the invitation with the password, signs
/// the new user in, and sends them on (to enrol a second factor first when
/// their account must use one).
async fn accept(
    State(app): State<App>,
    Meta(meta): Meta,
    Path(token): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<AcceptForm>,
) -> Result<Response, WebError> {
    let view = match Identity(&app).invitation(&token).await? {
        InvitationState::Open(view) => view,
        InvitationState::Spent => return Ok(spent()),
        InvitationState::Unknown => return Ok(unknown()),
    };
    let refuse = |status: StatusCode, message: &str| {
        (status, invitation_form(&token, &view, Some(message))).into_response()
    };
    if session::cross_site(&headers, &uri) {
        let message = "This form was sent from another site. Open the invitation link itself and set your password there.";
        return Ok(refuse(StatusCode::FORBIDDEN, message));
    }
    if form.password != form.confirm {
        let message = "The two passwords differ. Type the same password twice.";
        return Ok(refuse(StatusCode::BAD_REQUEST, message));
    }
    let user = match Identity(&app)
        .accept_invitation(&meta, &token, &form.password)
        .await
    {
        Ok(user) => user,
        Err(AppError::Invalid {
            code: ErrorCode::PasswordTooShort | ErrorCode::PasswordTooLong,
            message,
        }) => return Ok(refuse(StatusCode::BAD_REQUEST, &capitalized(&message))),
        // Accepted by another request meanwhile.
        Err(AppError::NotFound) => return Ok(spent()),
        Err(e) => return Err(e.into()),
    };
    let login = Identity(&app)
        .login(
            &meta,
            &user.email,
            &form.password,
            None,
            SessionKind::Browser,
        )
        .await;
    Ok(match login {
        Ok(login) => session::signed_in(&app, &login),
        // The account exists: the user signs in as usual.
        Err(_) => Redirect::to("/login").into_response(),
    })
}

/// A message of the use-cases as a sentence on a page.
fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

fn invitation_form(token: &str, view: &InvitationView, message: Option<&str>) -> Markup {
    let action = format!("/invite/{token}");
    let rules = format!(
        "At least {} characters (at most {} bytes). A long phrase you can remember is best.",
        app::MIN_PASSWORD_CHARS,
        app::MAX_PASSWORD_BYTES
    );
    layout::page(
        "Accept the invitation",
        None,
        html! {
            section.card.narrow #invitation {
                h1 { "Join " (view.party_name) " on Custody" }
                p #invite-who {
                    strong { (view.invited_by) } " invites " strong { (view.display_name) }
                    " (" span #invite-email { (view.email) } ") to share files with "
                    strong #invite-party { (view.party_name) } "."
                }
                p.muted { "This invitation can be used once, until " (layout::time(view.expires_ms)) "." }
                @if let Some(m) = message {
                    p.error #invite-error role="alert" { (m) }
                }
                form.stack method="post" action=(action) {
                    label { "E-mail" input #invite-account type="email" name="username" value=(view.email) readonly autocomplete="username"; }
                    label {
                        "Choose a password"
                        input #new-password type="password" name="password" autocomplete="new-password"
                            minlength=(app::MIN_PASSWORD_CHARS) required autofocus aria-describedby="password-rules";
                    }
                    p.muted #password-rules { (rules) }
                    label {
                        "Type it again"
                        input #confirm-password type="password" name="confirm" autocomplete="new-password" required;
                    }
                    button.primary #accept-invitation type="submit" { "Set password and join" }
                }
            }
        },
    )
}

/// An invitation used already or expired: 410.
fn spent() -> Response {
    let body = html! {
        section.card.narrow #invitation-spent {
            h1 { "This invitation can no longer be used" }
            p.error role="alert" { "It has been accepted already, or it has expired." }
            p { "If you set a password with it, " a href="/login" { "sign in" } ". Otherwise ask the person who invited you for a new invitation." }
        }
    };
    (
        StatusCode::GONE,
        layout::page("Invitation used or expired", None, body),
    )
        .into_response()
}

/// No invitation has this link: 404.
fn unknown() -> Response {
    let body = html! {
        section.card.narrow #invitation-unknown {
            h1 { "This invitation link is not valid" }
            p.error role="alert" { "No invitation matches this link." }
            p { "Check that you opened the whole link you were sent, or ask the person who invited you for a new one. Already have an account? " a href="/login" { "Sign in" } "." }
        }
    };
    (
        StatusCode::NOT_FOUND,
        layout::page("Invitation not found", None, body),
    )
        .into_response()
}

// ---------------------------------------------------------------- recovery codes

/// The recovery codes, shown this once, with the way on (`next`).
pub fn recovery_codes_page(header: Header<'_>, codes: &[String], next: &str) -> Markup {
    layout::page(
        "Recovery codes",
        Some(header),
        html! {
            section.card.narrow #recovery {
                h1 { "Save your recovery codes" }
                p { "If you lose your authenticator app, each of these codes signs you in once in place of a one-time code. They are shown only now: print them, or keep them in your password manager." }
                ol.codes #recovery-codes {
                    @for code in codes { li { code { (code) } } }
                }
                p.muted { "Codes made earlier no longer work." }
                a.button.primary #recovery-saved href=(next) { "I have saved them" }
            }
        },
    )
}

/// `POST /account/recovery-codes`: ten new codes, shown once.
async fn renew_recovery_codes(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Markup, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::TotpEnroll)
        .await?;
    let codes = Accounts(&app).renew_recovery_codes(auth).await?;
    Ok(recovery_codes_page(viewer.header(), &codes, "/account"))
}

// ---------------------------------------------------------------- the account

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The new-token form.
#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
    name: String,
    days: String,
}

/// `GET /account`.
async fn account(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    account_page(&app, &meta, &viewer, Shown::Nothing).await
}

/// What the account page shows once, above the rest.
enum Shown<'a> {
    Nothing,
    Token(&'a NewToken),
    TokenRefused(&'a str),
}

async fn account_page(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    shown: Shown<'_>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.user(meta, p, p.user_id, act::UserList).await?;
    let state = Accounts(app).security(auth).await?;
    let auth = app.system(meta, p, act::SessionSelf).await?;
    let sessions = Accounts(app).sessions(auth).await?;
    let auth = app.system(meta, p, act::SessionSelf).await?;
    let digest = Accounts(app).mail_preference(auth).await?;
    let may_make_tokens = app
        .permits_system(meta, p, &[Action::TokenCreate])
        .first()
        .copied()
        .unwrap_or(false);
    let current = viewer.authed.session.id;
    let (tokens, signins): (Vec<&Session>, Vec<&Session>) =
        sessions.iter().partition(|s| s.name.is_some());
    let most_days = (app.settings().api_token_ttl_ms / 86_400_000).max(1);
    let csrf = &viewer.csrf;
    let body = html! {
        h1 { "Your account" }
        p.muted { (state.user.display_name) " · " (state.user.email) }
        @match shown {
            Shown::Token(made) => {
                section.card #token-made role="status" {
                    h2 { "Your new API token" }
                    p { "Copy it now: it is shown only this once. Send it as " code { "Authorization: Bearer …" } "." }
                    p { code.secret #new-token { (made.token) } }
                }
            }
            Shown::TokenRefused(message) => {
                p.error #token-error role="alert" { (message) }
            }
            Shown::Nothing => {}
        }
        (protection(&state, csrf))
        section.card #sessions {
            h2 { "Where you are signed in" }
            (session_table("session-list", &signins, current, csrf, false))
            @if sessions.len() > 1 {
                form.inline #end-others-form method="post" action="/account/sessions/end-others" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary #end-others type="submit" { "End every other session and token" }
                }
            }
        }
        section.card #mail {
            h2 { "Notifications by e-mail" }
            @if app.settings().mail_enabled {
                p.muted { "Security notices (alerts, holds, offboarding) are always mailed at once. For the rest, choose:" }
            } @else {
                p.muted { "This server sends no e-mail yet; your choice applies once it does." }
            }
            form.stack #mail-form method="post" action="/account/mail" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "Mail me the other notifications" }
                    label.check {
                        input #mail-immediate type="radio" name="digest" value="immediate" checked[digest == MailDigest::Immediate];
                        " each at once"
                    }
                    label.check {
                        input #mail-daily type="radio" name="digest" value="daily" checked[digest == MailDigest::Daily];
                        " in one digest a day"
                    }
                }
                button.secondary #mail-save type="submit" { "Save" }
            }
        }
        section.card #tokens {
            h2 { "API tokens" }
            p.muted { "For the command-line client and scripts. A token acts as you, with your permissions, until it expires or you revoke it." }
            @if tokens.is_empty() {
                p.empty #no-tokens { "You have no API tokens." }
            } @else {
                (session_table("token-list", &tokens, current, csrf, true))
            }
            @if may_make_tokens {
                form.stack.token-form method="post" action="/account/tokens" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Name" input #token-name type="text" name="name" maxlength="200" required placeholder="e.g. build server"; }
                    label {
                        "Valid for (days)"
                        input #token-days type="number" name="days" min="1" max=(most_days) value=(most_days.min(30)) required;
                    }
                    button.primary #create-token type="submit" { "Make a token" }
                }
            }
        }
    };
    Ok(layout::page("Your account", Some(viewer.header()), body))
}

/// The account's second factor and recovery codes.
fn protection(state: &SecurityState, csrf: &str) -> Markup {
    html! {
        section.card #protection {
            h2 { "Second factor" }
            @if state.user.totp_enabled {
                p #mfa-state { "You sign in with a one-time code from your authenticator app." }
                p #recovery-left { (state.recovery_codes_left) " of " (app::RECOVERY_CODES) " recovery codes left." }
                form.inline method="post" action="/account/recovery-codes" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary #renew-recovery type="submit" { "Make new recovery codes" }
                }
            } @else {
                p #mfa-state { "You sign in with your password alone." }
                p { a href="/totp" #enrol-link { "Set up an authenticator app" } }
            }
        }
    }
}

/// Sessions (or tokens) with their facts and a button to end each.
fn session_table(
    id: &str,
    sessions: &[&Session],
    current: SessionId,
    csrf: &str,
    tokens: bool,
) -> Markup {
    html! {
        table.listing id=(id) {
            thead {
                tr {
                    th scope="col" { @if tokens { "Name" } @else { "Kind" } }
                    th scope="col" { "Since" }
                    th scope="col" { "Last used" }
                    th scope="col" { "From" }
                    th scope="col" { "Expires" }
                    th scope="col" { span.visually-hidden { "Action" } }
                }
            }
            tbody {
                @for s in sessions {
                    tr id=(format!("session-{}", s.id)) {
                        td {
                            @match (&s.name, s.kind) {
                                (Some(name), _) => (name),
                                (None, SessionKind::Browser) => "Browser",
                                (None, SessionKind::Api) => "API sign-in",
                            }
                            @if s.id == current { " " strong.current { "(this session)" } }
                        }
                        td { (layout::time(s.created_ms)) }
                        td { (s.last_seen_ms.map(layout::time).unwrap_or_else(|| "—".to_owned())) }
                        td { (s.address.as_deref().unwrap_or("—")) }
                        td { (layout::time(s.expires_ms)) }
                        td.actions {
                            @if s.id != current {
                                form.inline method="post" action=(format!("/account/sessions/{}/end", s.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.secondary.end type="submit" {
                                        @if tokens { "Revoke" } @else { "End" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /account/sessions/{id}/end`.
async fn end_session(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: SessionId = raw.parse().map_err(|_| AppError::NotFound)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::SessionSelf)
        .await?;
    Accounts(&app).end_session(auth, id).await?;
    if id == viewer.authed.session.id {
        return Ok((session_cookies("", "", 0), Redirect::to("/login")).into_response());
    }
    Ok(Redirect::to("/account").into_response())
}

/// `POST /account/sessions/end-others`.
async fn end_others(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::SessionSelf)
        .await?;
    Accounts(&app)
        .end_other_sessions(auth, &viewer.authed.session)
        .await?;
    Ok(Redirect::to("/account"))
}

/// The mail form.
#[derive(Deserialize)]
struct MailForm {
    csrf: String,
    #[serde(default)]
    digest: String,
}

/// `POST /account/mail`: the caller's choice of mail for notifications.
async fn set_mail(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<MailForm>,
) -> Result<Redirect, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let digest = MailDigest::parse(&form.digest)
        .map_err(|e| WebError::App(AppError::invalid(ErrorCode::UnknownName, e.to_string())))?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::SessionSelf)
        .await?;
    Accounts(&app).set_mail_preference(auth, digest).await?;
    Ok(Redirect::to("/account#mail"))
}

/// `POST /account/tokens`: the account page, with the new token shown once.
async fn create_token(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let days = form.days.trim().parse::<i64>().unwrap_or(0);
    let auth = app
        .system(&meta, &viewer.authed.principal, act::TokenCreate)
        .await?;
    let made = Accounts(&app)
        .create_token(auth, &viewer.authed.session, &form.name, days)
        .await;
    Ok(match made {
        Ok(made) => account_page(&app, &meta, &viewer, Shown::Token(&made))
            .await?
            .into_response(),
        Err(AppError::Invalid { message, .. }) => {
            let message = capitalized(&message);
            let page = account_page(&app, &meta, &viewer, Shown::TokenRefused(&message)).await?;
            (StatusCode::BAD_REQUEST, page).into_response()
        }
        Err(e) => return Err(e.into()),
    })
}

// ---------------------------------------------------------------- an admin's remedies

/// A form with an admin's reason.
#[derive(Deserialize)]
pub struct ReasonForm {
    csrf: String,
    reason: String,
}

/// What the security page was sent back with.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn user_id(raw: &str) -> Result<UserId, WebError> {
    Ok(raw.parse().map_err(|_| AppError::NotFound)?)
}

/// `GET /admin/users/{id}/security`.
async fn security(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(done): Query<Done>,
) -> Result<Markup, WebError> {
    let id = user_id(&raw)?;
    let p = &viewer.authed.principal;
    let auth = app.user(&meta, p, id, act::UserList).await?;
    let state = Accounts(&app).security(auth).await?;
    let allowed = app.permits_system(&meta, p, &[Action::UserMfaReset, Action::UserUnlock]);
    let may = |i: usize| allowed.get(i).copied().unwrap_or(false);
    let done = match done.done.as_deref() {
        Some("reset") => Some("The second factor was removed and every session ended."),
        Some("unlock") => Some("The account was unlocked."),
        _ => None,
    };
    let user = &state.user;
    let csrf = &viewer.csrf;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/admin/users" { "Users" } span.sep { "/" }
            a href=(format!("/admin/users/{id}")) { (user.display_name) } span.sep { "/" }
            span aria-current="page" { "Security" }
        }
        h1 { "Sign-in security of " (user.display_name) }
        @if let Some(done) = done {
            p.notice #security-done role="status" { (done) }
        }
        section.card #security-state {
            h2 { "State" }
            dl.facts {
                dt { "E-mail" } dd { (user.email) }
                dt { "Second factor" }
                dd #mfa-state {
                    @if user.totp_enabled { "Authenticator app enrolled; " (state.recovery_codes_left) " recovery codes left" }
                    @else { "None enrolled" }
                    @if user.mfa_required { " (required of this account)" }
                }
                dt { "Sign-in" }
                dd #lock-state {
                    @match (state.locked, user.locked_until_ms) {
                        (true, Some(until)) => { "Locked until " (layout::time(until)) " after failed sign-ins" }
                        _ => { "Not locked" }
                    }
                    @if user.failed_logins > 0 { " · " (user.failed_logins) " failed sign-ins since the last success" }
                }
            }
        }
        @if may(0) {
            section.card #reset-section {
                h2 { "Remove the second factor" }
                p { "For someone who lost their authenticator app and their recovery codes. Their app and codes stop working and every session and token of theirs ends; at their next sign-in they use their password and, when their account must use a second factor, enrol a new app first." }
                form.stack method="post" action=(format!("/admin/users/{id}/mfa/reset")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Reason (recorded in the audit log)" input #reset-reason type="text" name="reason" maxlength=(app::MAX_ADMIN_REASON) required; }
                    button.primary #reset-mfa type="submit" { "Remove the second factor" }
                }
            }
        }
        @if may(1) {
            section.card #unlock-section {
                h2 { "Unlock the account" }
                p { "Failed sign-ins lock an account for a while. Unlock it once you know the failures were the user's own." }
                form.stack method="post" action=(format!("/admin/users/{id}/unlock")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Reason (recorded in the audit log)" input #unlock-reason type="text" name="reason" maxlength=(app::MAX_ADMIN_REASON) required; }
                    button.primary #unlock type="submit" { "Unlock" }
                }
            }
        }
    };
    Ok(layout::page(
        "Sign-in security",
        Some(viewer.header()),
        body,
    ))
}

/// `POST /admin/users/{id}/mfa/reset`.
async fn reset_mfa(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id = user_id(&raw)?;
    let auth = app
        .user(&meta, &viewer.authed.principal, id, act::UserMfaReset)
        .await?;
    Accounts(&app).reset_mfa(auth, &form.reason).await?;
    Ok(Redirect::to(&format!(
        "/admin/users/{id}/security?done=reset"
    )))
}

/// `POST /admin/users/{id}/unlock`.
async fn unlock(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Redirect, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id = user_id(&raw)?;
    let auth = app
        .user(&meta, &viewer.authed.principal, id, act::UserUnlock)
        .await?;
    Accounts(&app).unlock(auth, &form.reason).await?;
    Ok(Redirect::to(&format!(
        "/admin/users/{id}/security?done=unlock"
    )))
}
