//! Sign-in, sign-out and TOTP enrolment pages. A successful sign-in sets the
//! session cookie (HttpOnly) and the CSRF cookie (readable by the page's script);
//! failures re-render the form with a message that never tells whether the
//! e-mail exists. A sign-in form posted from another site is refused (login
//! CSRF: a page elsewhere signing the browser into the attacker's account, so
//! that what the victim then uploads lands in it).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;

use app::{App, AppError, ErrorCode, Identity, Login, SecondFactor, act};
use model::SessionKind;

use super::layout::{self, Header};
use super::{Viewer, WebError, check_csrf, session_cookies};
use crate::auth::Meta;
use crate::throttle::LoginThrottle;

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    totp: String,
    /// A recovery code, in place of the one-time code.
    #[serde(default)]
    recovery: String,
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The TOTP confirmation form.
#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    code: String,
}

fn login_form(email: &str, message: Option<&str>) -> Markup {
    layout::page(
        "Sign in",
        None,
        html! {
            section.card.narrow {
                h1 { "Sign in" }
                @if let Some(m) = message {
                    p.error #login-error role="alert" { (m) }
                }
                form.stack method="post" action="/login" {
                    label { "E-mail" input #email type="email" name="email" value=(email) autocomplete="username" required autofocus; }
                    label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                    label {
                        "One-time code"
                        input #totp type="text" name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" placeholder="6 digits, if your account uses an authenticator";
                    }
                    details #recovery-option {
                        summary #use-recovery { "Lost your authenticator app? Use a recovery code" }
                        label {
                            "Recovery code"
                            input #recovery type="text" name="recovery" autocomplete="off" spellcheck="false" maxlength="40" placeholder="XXXX-XXXX-XXXX-XXXX";
                        }
                    }
                    button.primary #sign-in type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// `GET /login`.
pub async fn login_page() -> Markup {
    login_form("", None)
}

/// The message for a refused sign-in, or `None` when the failure is not the user's.
fn login_refusal(e: &AppError) -> Option<(StatusCode, &'static str)> {
    match e {
        AppError::InvalidCredentials => {
            Some((StatusCode::UNAUTHORIZED, "The e-mail or password is wrong."))
        }
        AppError::MfaRequired => Some((
            StatusCode::UNAUTHORIZED,
            "This account needs the one-time code from its authenticator app.",
        )),
        AppError::InvalidTotp => Some((
            StatusCode::UNAUTHORIZED,
            "The one-time code is wrong or was already used. Wait for the next code and try again.",
        )),
        AppError::Invalid {
            code: ErrorCode::InvalidRecoveryCode,
            ..
        } => Some((
            StatusCode::UNAUTHORIZED,
            "The recovery code is wrong or was already used: each code works once.",
        )),
        AppError::Invalid {
            code: ErrorCode::TooManyAttempts,
            ..
        } => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins from this address. Wait a few minutes and try again.",
        )),
        AppError::AccountLocked => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins: the account is locked for a while.",
        )),
        AppError::Busy => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy with other sign-ins. Try again in a moment.",
        )),
        _ => None,
    }
}

/// `POST /login`.
pub async fn login(
    State(app): State<App>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    Meta(meta): Meta,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    if cross_site(&headers, &uri) {
        let message = "This sign-in form was sent from another site. Open Custody's own sign-in page and sign in there.";
        let page = login_form(&form.email, Some(message));
        return Ok((StatusCode::FORBIDDEN, page).into_response());
    }
    let ip = meta.source_addr.as_deref().and_then(|a| a.parse().ok());
    if ip.is_some_and(|ip| !throttle.allow(ip)) {
        let message = "Too many sign-in attempts from this address. Wait a minute and try again.";
        let page = login_form(&form.email, Some(message));
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let code = Some(form.totp.trim()).filter(|c| !c.is_empty());
    let recovery = Some(form.recovery.trim()).filter(|c| !c.is_empty());
    let factor = match (code, recovery) {
        (Some(_), Some(_)) => {
            let message = "Give the one-time code or a recovery code, not both.";
            let page = login_form(&form.email, Some(message));
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
        (None, Some(recovery)) => SecondFactor::RecoveryCode(recovery),
        (code, None) => SecondFactor::from(code),
    };
    let result = Identity(&app)
        .login_with(
            &meta,
            &form.email,
            &form.password,
            factor,
            SessionKind::Browser,
        )
        .await;
    match result {
        Ok(login) => Ok(signed_in(&app, &login)),
        Err(e) => match login_refusal(&e) {
            Some((status, message)) => {
                Ok((status, login_form(&form.email, Some(message))).into_response())
            }
            None => Err(e.into()),
        },
    }
}

/// Whether a request comes from a page of another site. Browsers say so in
/// `Sec-Fetch-Site`, or else name the page's origin in `Origin`, which must
/// then be this server as the browser addressed it (`Host`, or the authority
/// of an HTTP/2 request). A client that sends neither is no browser that a
/// page of another site could drive.
pub(super) fn cross_site(headers: &HeaderMap, uri: &Uri) -> bool {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("?"));
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text("origin") else {
        return false;
    };
    let host = text("host").or_else(|| uri.authority().map(|a| a.as_str()));
    let addressed = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (addressed, host) {
        (Some(addressed), Some(host)) => !addressed.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// Sets the cookies of a new browser session and sends the user on: to the
/// rooms, or to TOTP enrolment when the account must enrol before anything else.
pub(super) fn signed_in(app: &App, login: &Login) -> Response {
    let csrf = login.csrf.as_deref().unwrap_or_default();
    let max_age = app.settings().browser_session_ttl_ms / 1000;
    let next = if login.user.mfa_required && !login.session.mfa {
        "/totp"
    } else {
        "/"
    };
    (
        session_cookies(&login.token, csrf, max_age),
        Redirect::to(next),
    )
        .into_response()
}

/// `POST /logout`: ends the session and clears the cookies.
pub async fn logout(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, .. }: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&authed.session, &form.csrf)?;
    Identity(&app)
        .logout(&meta, &authed.principal, &authed.session)
        .await?;
    let cleared = session_cookies("", "", 0);
    Ok((cleared, Redirect::to("/login")).into_response())
}

/// `GET /totp`: explains enrolment and offers to start it.
pub async fn totp_page(Viewer { authed, csrf, nav }: Viewer) -> Markup {
    let header = Header {
        email: &authed.principal.email,
        csrf: &csrf,
        nav: &nav,
    };
    layout::page(
        "Authenticator app",
        Some(header),
        html! {
            section.card.narrow {
                h1 { "Set up an authenticator app" }
                p { "This account signs in with a one-time code from an authenticator app (TOTP). Start, add the secret to your app, then confirm with the code it shows." }
                form method="post" action="/totp" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary #totp-start type="submit" { "Start" }
                }
            }
        },
    )
}

fn confirm_form(csrf: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.error role="alert" { (m) }
        }
        form.stack method="post" action="/totp/confirm" {
            input type="hidden" name="csrf" value=(csrf);
            label { "Code from the app" input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required; }
            button.primary #totp-confirm type="submit" { "Confirm" }
        }
    }
}

/// `POST /totp`: creates the secret and shows it once, with the confirmation form.
pub async fn totp_begin(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, csrf, nav }: Viewer,
    Form(form): Form<CsrfForm>,
) -> Result<Markup, WebError> {
    check_csrf(&authed.session, &form.csrf)?;
    let auth = app
        .system(&meta, &authed.principal, act::TotpEnroll)
        .await?;
    let enrolment = Identity(&app).totp_begin(auth).await?;
    let header = Header {
        email: &authed.principal.email,
        csrf: &csrf,
        nav: &nav,
    };
    Ok(layout::page(
        "Authenticator app",
        Some(header),
        html! {
            section.card.narrow {
                h1 { "Add this account to your app" }
                p { "Enter this secret in your authenticator app (it is shown only now):" }
                p { code.secret #totp-secret { (enrolment.secret_base32) } }
                p.muted { "Or open this link on a device with the app:" }
                p { a.uri href=(enrolment.otpauth_uri) { (enrolment.otpauth_uri) } }
                (confirm_form(&csrf, None))
            }
        },
    ))
}

/// `POST /totp/confirm`: on the right code the session is replaced by a
/// multi-factor one, whose cookies replace the old ones, and the recovery
/// codes made with it are shown, this once.
pub async fn totp_confirm(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, csrf, nav }: Viewer,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    check_csrf(&authed.session, &form.csrf)?;
    let result = match app.system(&meta, &authed.principal, act::TotpEnroll).await {
        Ok(auth) => {
            Identity(&app)
                .totp_confirm(auth, &authed.session, &form.code)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(login) => {
            let new_csrf = login.csrf.as_deref().unwrap_or_default();
            let header = Header {
                email: &authed.principal.email,
                csrf: new_csrf,
                nav: &nav,
            };
            let page = super::account::recovery_codes_page(header, &login.recovery_codes, "/");
            let max_age = app.settings().browser_session_ttl_ms / 1000;
            Ok((session_cookies(&login.token, new_csrf, max_age), page).into_response())
        }
        Err(AppError::InvalidTotp) => {
            let header = Header {
                email: &authed.principal.email,
                csrf: &csrf,
                nav: &nav,
            };
            let message = "The code is wrong or was already used. Check the app's clock and try the next code.";
            let body = html! {
                section.card.narrow {
                    h1 { "Confirm your authenticator app" }
                    (confirm_form(&csrf, Some(message)))
                }
            };
            let page = layout::page("Authenticator app", Some(header), body);
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
