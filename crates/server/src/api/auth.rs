//! Sign-in, sign-out, the caller's own account, TOTP enrolment.

use axum::Json;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;

use app::{App, ErrorCode, Identity, SecondFactor, act};
use model::SessionKind;

use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::throttle::LoginThrottle;

fn login_response(login: app::Login) -> LoginResponse {
    let recovery_codes = Some(login.recovery_codes).filter(|c| !c.is_empty());
    LoginResponse {
        token: login.token,
        expires_at: rfc3339(login.session.expires_ms),
        mfa: login.session.mfa,
        user: UserDto::from(&login.user),
        recovery_codes,
    }
}

/// Signs in and returns an API token. An enrolled account gives the one-time
/// code of its app (`totp`), or one of its recovery codes (`recovery_code`).
#[utoipa::path(post, path = "/auth/login", request_body = LoginRequest, tag = "auth",
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody, description = "invalid_credentials, mfa_required, invalid_totp or invalid_recovery_code"), (status = 429, body = ErrorBody, description = "account_locked")))]
pub async fn login(
    State(app): State<App>,
    Extension(throttle): Extension<Arc<LoginThrottle>>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let ip = meta.source_addr.as_deref().and_then(|a| a.parse().ok());
    if ip.is_some_and(|ip| !throttle.allow(ip)) {
        return Err(ApiError::new(
            ErrorCode::TooManyAttempts,
            "too many sign-in attempts from this address; wait a minute",
        ));
    }
    let factor = match (req.totp.as_deref(), req.recovery_code.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give `totp` or `recovery_code`, not both",
            ));
        }
        (None, Some(code)) => SecondFactor::RecoveryCode(code),
        (code, None) => SecondFactor::from(code),
    };
    let login = Identity(&app)
        .login_with(&meta, &req.email, &req.password, factor, SessionKind::Api)
        .await?;
    Ok(Json(login_response(login)))
}

/// Ends the current session or revokes the current token.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<StatusCode, ApiError> {
    Identity(&app)
        .logout(&meta, &a.principal, &a.session)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = UserDto), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<UserDto>, ApiError> {
    let me = a.principal.user_id;
    let auth = app.user(&meta, &a.principal, me, act::UserList).await?;
    let user = Identity(&app).get_user(auth).await?;
    Ok(Json(UserDto::from(&user)))
}

/// Starts TOTP enrolment: the secret is shown once.
#[utoipa::path(post, path = "/auth/totp", tag = "auth", security(("bearer" = [])), responses((status = 200, body = TotpEnrolmentDto), (status = 400, body = ErrorBody, description = "totp_already_enabled")))]
pub async fn totp_enrol(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<TotpEnrolmentDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::TotpEnroll).await?;
    let e = Identity(&app).totp_begin(auth).await?;
    Ok(Json(TotpEnrolmentDto {
        secret: e.secret_base32,
        otpauth_uri: e.otpauth_uri,
    }))
}

/// Confirms TOTP enrolment with a first code; returns a new multi-factor token
/// with ten recovery codes (shown this once) and revokes the one used for
/// this call.
#[utoipa::path(post, path = "/auth/totp/confirm", request_body = TotpConfirm, tag = "auth", security(("bearer" = [])), responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
pub async fn totp_confirm(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<TotpConfirm>,
) -> Result<Json<LoginResponse>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::TotpEnroll).await?;
    let login = Identity(&app)
        .totp_confirm(auth, &a.session, &req.code)
        .await?;
    Ok(Json(login_response(login)))
}
