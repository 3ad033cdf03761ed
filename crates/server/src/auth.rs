//! Who is calling: the `Authed` extractor resolves a bearer token or a session
//! cookie to a principal on every request (so a revoked session or a disabled
//! user stops at the next request), and enforces CSRF protection on
//! cookie-authenticated requests that change state; each session's last use
//! (time and address) is noted for its user's list of sessions. `Meta`
//! carries the source address, user agent and request id into the audit
//! events.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

use app::authz::Principal;
use app::{Accounts, App, Identity, RequestMeta};
use model::{Session, SessionKind};

use crate::error::ApiError;

/// Name of the session cookie (HttpOnly, Secure, SameSite=Strict).
pub const SESSION_COOKIE: &str = "custody_session";
/// Name of the CSRF cookie (readable by the page, SameSite=Strict).
pub const CSRF_COOKIE: &str = "custody_csrf";
/// Header carrying the CSRF token on cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The id of the current request.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// An authenticated caller.
pub struct Authed {
    pub principal: Principal,
    pub session: Session,
    /// Whether the credential came from the session cookie.
    pub via_cookie: bool,
}

/// A cookie's value from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<App> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) = match bearer(parts) {
            Some(t) => (t.to_owned(), false),
            None => match cookie(parts, SESSION_COOKIE) {
                Some(t) => (t.to_owned(), true),
                None => return Err(app::AppError::Unauthenticated.into()),
            },
        };
        let (principal, session) = Identity(app).authenticate(&token).await?;
        if via_cookie && session.kind != SessionKind::Browser {
            return Err(app::AppError::Unauthenticated.into());
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie && !safe && parts.extensions.get::<FormCsrf>().is_none() {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !Identity::csrf_matches(&session, presented) {
                return Err(ApiError::new(
                    app::ErrorCode::CsrfFailed,
                    "the request lacks a valid CSRF token",
                ));
            }
        }
        let addressing = parts.extensions.get::<Arc<ClientAddressing>>().cloned();
        Accounts(app).seen(&meta_of(parts, &addressing.unwrap_or_default()), &session);
        Ok(Authed {
            principal,
            session,
            via_cookie,
        })
    }
}

/// Set by web form routes, which check the CSRF token from the form body themselves.
#[derive(Clone, Copy)]
pub struct FormCsrf;

impl FromRequestParts<App> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &App) -> Result<Self, Self::Rejection> {
        let addressing = parts.extensions.get::<Arc<ClientAddressing>>().cloned();
        let addressing = addressing.unwrap_or_default();
        Ok(Meta(meta_of(parts, &addressing)))
    }
}

/// The request facts recorded with every event.
pub struct Meta(pub RequestMeta);

/// Where the client's address comes from behind reverse proxies (an HTTP
/// matter, so the edge's, not the use-cases').
#[derive(Clone, Debug, Default)]
pub struct ClientAddressing {
    /// The request header that carries the client's address (e.g.
    /// `x-forwarded-for`); off when `None`.
    pub header: Option<String>,
    /// The proxies whose `header` is believed: it is read only on connections
    /// from these ranges.
    pub trusted_proxies: Vec<model::Cidr>,
}

/// The client's address: the peer's, or — when the peer is a trusted reverse
/// proxy and a client address header is configured — the right-most address
/// in that header that is not itself a trusted proxy (earlier entries can be
/// forged by the client). A header that does not parse gives no address, so
/// the request is in no network zone rather than in the proxy's.
fn client_addr(parts: &Parts, settings: &ClientAddressing) -> Option<String> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let trusted = |ip: std::net::IpAddr| settings.trusted_proxies.iter().any(|c| c.contains(ip));
    let Some(header) = &settings.header else {
        return Some(peer.to_string());
    };
    if !trusted(peer) {
        return Some(peer.to_string());
    }
    let mut values = Vec::new();
    for v in parts.headers.get_all(header.as_str()) {
        values.push(v.to_str().ok()?);
    }
    if values.is_empty() {
        return Some(peer.to_string());
    }
    let joined = values.join(",");
    for item in joined.rsplit(',') {
        let ip: std::net::IpAddr = item.trim().parse().ok()?;
        if !trusted(ip) {
            return Some(ip.to_string());
        }
    }
    // Every hop is a trusted proxy: the first one is the client.
    joined.split(',').next().map(|s| s.trim().to_owned())
}

fn meta_of(parts: &Parts, settings: &ClientAddressing) -> RequestMeta {
    let source_addr = client_addr(parts, settings);
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect());
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    RequestMeta {
        source_addr,
        user_agent,
        request_id,
        via: None,
        upload_via: None,
    }
}
