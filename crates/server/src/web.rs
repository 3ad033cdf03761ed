//! The server-rendered web UI: sign-in (with TOTP and its enrolment), the rooms
//! a user may see, browsing a room, uploading (with a progress bar through the
//! API, or a no-JS multipart form) and downloading. Pages are HTML rendered with
//! maud; the one stylesheet and one script are compiled into the binary.
//!
//! Like the API, each handler extracts, lets the use-case authorize through the
//! one seam, calls it, and responds; this module decides no permission. Pages
//! authenticate with the session cookie; form posts carry the CSRF token in a
//! `csrf` field, checked here (`check_csrf`) before anything else. An account
//! that the policy in force holds to enrolling a second factor first
//! (`App::must_enrol`) is sent to `/totp` from every page but enrolment,
//! signing out and its own account.

mod account;
mod admin;
mod agreements;
mod alerts;
mod assessments;
mod assets;
mod attestations;
mod audit;
mod certifications;
mod courses;
mod destruction;
mod files;
mod incidents;
mod jewels;
mod layout;
mod links;
mod policies;
mod quarantine;
mod reviews;
mod rooms;
mod scim;
mod search;
mod session;
mod trace;
mod upload_requests;
mod viewer;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use app::{App, AppError, Identity};
use model::Session;

use crate::auth::{Authed, FormCsrf, Meta};

/// The web UI routes.
pub fn router(app: &App) -> Router<App> {
    // Form posts check the token of their `csrf` field themselves (`check_csrf`).
    let forms = Router::new()
        .route("/logout", post(session::logout))
        .route("/totp", post(session::totp_begin))
        .route("/totp/confirm", post(session::totp_confirm))
        .route("/policies/whatif", post(policies::whatif))
        .route("/policies/apply", post(policies::apply))
        .route("/quarantine/{version}/release", post(quarantine::release))
        .route("/quarantine/{version}/reject", post(quarantine::reject))
        .route("/agreements/{id}/sign", post(agreements::sign))
        .route("/notifications/{id}/read", post(agreements::read))
        .route("/files/{id}/download", post(rooms::download_justified))
        .route(
            "/rooms/{id}/upload",
            post(rooms::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/trace",
            post(trace::trace).layer(DefaultBodyLimit::max(trace::MAX_TRACE_BYTES + (1 << 20))),
        )
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/login", get(session::login_page).post(session::login))
        .route("/totp", get(session::totp_page))
        .route("/", get(rooms::list))
        .route("/rooms/{id}", get(rooms::browse))
        .route("/policies", get(policies::page))
        .route("/quarantine", get(quarantine::page))
        .route("/trace", get(trace::page))
        .route("/notifications", get(agreements::notifications))
        .route("/search", get(search::search))
        .route("/files/{id}/download", get(rooms::download))
        .route("/assets/{name}", get(assets::asset))
        .merge(files::router())
        .merge(alerts::router())
        .merge(incidents::router())
        .merge(reviews::router())
        .merge(destruction::router())
        .merge(admin::router())
        .merge(certifications::router())
        .merge(courses::router())
        .merge(audit::router())
        .merge(account::router())
        .merge(viewer::router())
        .merge(assessments::router())
        .merge(links::router())
        .merge(upload_requests::router())
        .merge(attestations::router())
        .merge(jewels::router())
        .merge(scim::router())
        .merge(forms)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            with_header,
        ))
}

/// The signed-in user of a page. Without a valid session cookie the page
/// redirects to the sign-in form instead of answering an API error.
pub struct Viewer {
    pub authed: Authed,
    /// The CSRF token from the page's cookie, embedded in the page's forms.
    pub csrf: String,
    /// The header's pages the policy in force lets this user use.
    pub nav: Vec<&'static layout::NavItem>,
}

impl Viewer {
    /// The page header for this user.
    pub fn header(&self) -> layout::Header<'_> {
        layout::Header {
            email: &self.authed.principal.email,
            csrf: &self.csrf,
            nav: &self.nav,
        }
    }
}

/// The header's pages `p` may use, asked of the policy in force.
fn nav_for(
    app: &App,
    meta: &app::RequestMeta,
    p: &app::authz::Principal,
) -> Vec<&'static layout::NavItem> {
    let gated: Vec<_> = layout::NAV.iter().filter_map(|i| i.action).collect();
    let mut allowed = app.permits_system(meta, p, &gated).into_iter();
    layout::NAV
        .iter()
        .filter(|i| i.action.is_none() || allowed.next().unwrap_or(false))
        .collect()
}

impl FromRequestParts<App> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match Authed::from_request_parts(parts, app).await {
            Ok(authed) if authed.via_cookie => {
                let csrf = crate::auth::cookie(parts, crate::auth::CSRF_COOKIE)
                    .unwrap_or_default()
                    .to_owned();
                let Ok(Meta(meta)) = Meta::from_request_parts(parts, app).await;
                if !enrolment_open(parts.uri.path()) && app.must_enrol(&meta, &authed.principal) {
                    return Err(Redirect::to("/totp").into_response());
                }
                let mut nav = nav_for(app, &meta, &authed.principal);
                // "Courses" only for a user with a course to take.
                if nav.iter().any(|i| i.href == "/courses")
                    && !courses::has_courses(app, &meta, &authed.principal).await
                {
                    nav.retain(|i| i.href != "/courses");
                }
                Ok(Viewer { authed, csrf, nav })
            }
            Ok(_) => Err(Redirect::to("/login").into_response()),
            Err(e) => {
                let response = e.into_response();
                if response.status() == StatusCode::UNAUTHORIZED {
                    Err(Redirect::to("/login").into_response())
                } else {
                    Err(response)
                }
            }
        }
    }
}

/// The pages an account that must enrol a second factor first may use:
/// enrolment itself, signing out, and its own account (sessions).
fn enrolment_open(path: &str) -> bool {
    ["/totp", "/logout", "/account"]
        .iter()
        .any(|open| path == *open || path.strip_prefix(open).is_some_and(|r| r.starts_with('/')))
}

/// A failure on its way to a browser: an HTML page, or a redirect where the
/// user has something to do first (sign in, enrol an authenticator).
pub enum WebError {
    App(AppError),
    Csrf,
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let e = match self {
            WebError::Csrf => {
                return error_page(
                    StatusCode::FORBIDDEN,
                    "the form has expired or did not come from this site; reload the page and try again",
                );
            }
            WebError::App(e) => e,
        };
        match &e {
            AppError::Unauthenticated => return Redirect::to("/login").into_response(),
            AppError::Forbidden {
                reason: "mfa_enrollment_required",
                ..
            } => return Redirect::to("/totp").into_response(),
            _ => {}
        }
        let message = match &e {
            AppError::NotFound => "not found".to_owned(),
            AppError::Internal(_) | AppError::Integrity => {
                "something went wrong on the server; try again later".to_owned()
            }
            other => other.to_string(),
        };
        // The API's mapping gives the status (and logs internal details).
        let status = crate::error::ApiError::from(e).into_response().status();
        error_page(status, &message)
    }
}

/// An error page, marked so that [`with_header`] can give it the user's header.
fn error_page(status: StatusCode, message: &str) -> Response {
    let mut response = (status, layout::error(status, message, None)).into_response();
    response
        .extensions_mut()
        .insert(ErrorPage(message.to_owned()));
    response
}

/// The message of an error page rendered without its header.
#[derive(Clone)]
struct ErrorPage(String);

/// Gives error pages the header of the signed-in user, so that a refusal never
/// strands them without a way elsewhere or out: the request's cookies are kept
/// aside, and an error page coming back is rendered again with the header when
/// they name a valid browser session.
async fn with_header(
    axum::extract::State(app): axum::extract::State<App>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut kept = axum::http::Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .body(())
        .map(|r| r.into_parts().0)
        .ok();
    if let Some(parts) = kept.as_mut() {
        parts.headers = request.headers().clone();
        if let Some(peer) = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .cloned()
        {
            parts.extensions.insert(peer);
        }
        if let Some(a) = request
            .extensions()
            .get::<std::sync::Arc<crate::auth::ClientAddressing>>()
            .cloned()
        {
            parts.extensions.insert(a);
        }
    }
    let response = next.run(request).await;
    let (Some(page), Some(mut parts)) = (response.extensions().get::<ErrorPage>().cloned(), kept)
    else {
        return response;
    };
    let Ok(viewer) = Viewer::from_request_parts(&mut parts, &app).await else {
        return response;
    };
    let status = response.status();
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    let body = layout::error(status, &page.0, Some(viewer.header())).into_string();
    Response::from_parts(head, axum::body::Body::from(body))
}

/// Checks the CSRF token of a form against the session.
pub fn check_csrf(session: &Session, presented: &str) -> Result<(), WebError> {
    if Identity::csrf_matches(session, presented) {
        Ok(())
    } else {
        Err(WebError::Csrf)
    }
}

/// Sets the two session cookies of a browser session (appended: one
/// `Set-Cookie` header each).
fn session_cookies(
    token: &str,
    csrf: &str,
    max_age_s: i64,
) -> AppendHeaders<[(header::HeaderName, String); 2]> {
    AppendHeaders([
        (
            header::SET_COOKIE,
            format!(
                "{}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age_s}",
                crate::auth::SESSION_COOKIE
            ),
        ),
        (
            header::SET_COOKIE,
            format!(
                "{}={csrf}; Secure; SameSite=Strict; Path=/; Max-Age={max_age_s}",
                crate::auth::CSRF_COOKIE
            ),
        ),
    ])
}
