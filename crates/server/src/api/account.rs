//! One's own account — sessions and API tokens, recovery codes — and an
//! admin's remedies for someone else's: removing their second factor,
//! unlocking their account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use app::{Accounts, App, act};
use model::{SessionId, UserId};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// The caller's sessions and API tokens that are neither ended nor expired,
/// newest first; the one making the request is marked `current`.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", security(("bearer" = [])), responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list_sessions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<SessionList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::SessionSelf).await?;
    let sessions = Accounts(&app).sessions(auth).await?;
    Ok(Json(SessionList {
        items: sessions
            .iter()
            .map(|s| SessionDto::of(s, a.session.id))
            .collect(),
    }))
}

/// How the caller's notifications that are not security-critical are mailed.
#[utoipa::path(get, path = "/auth/mail-preference", tag = "auth", security(("bearer" = [])), responses((status = 200, body = MailPreferenceDto), (status = 401, body = ErrorBody)))]
pub async fn get_mail_preference(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<MailPreferenceDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::SessionSelf).await?;
    let digest = Accounts(&app).mail_preference(auth).await?;
    Ok(Json(MailPreferenceDto {
        digest: digest.as_str().to_owned(),
    }))
}

/// Chooses how the caller's notifications that are not security-critical are
/// mailed: each at once, or one digest a day.
#[utoipa::path(put, path = "/auth/mail-preference", tag = "auth", security(("bearer" = [])), request_body = MailPreferenceDto, responses((status = 200, body = MailPreferenceDto), (status = 400, body = ErrorBody, description = "unknown_name"), (status = 401, body = ErrorBody)))]
pub async fn put_mail_preference(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(body): ApiJson<MailPreferenceDto>,
) -> Result<Json<MailPreferenceDto>, ApiError> {
    let digest = super::name(model::MailDigest::parse, &body.digest)?;
    let auth = app.system(&meta, &a.principal, act::SessionSelf).await?;
    let digest = Accounts(&app).set_mail_preference(auth, digest).await?;
    Ok(Json(MailPreferenceDto {
        digest: digest.as_str().to_owned(),
    }))
}

/// Ends one of the caller's sessions or API tokens (the current one too).
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "auth", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let session = id::<SessionId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::SessionSelf).await?;
    Accounts(&app).end_session(auth, session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session and API token of the caller but the one making this
/// request.
#[utoipa::path(post, path = "/auth/sessions/end-others", tag = "auth", security(("bearer" = [])), responses((status = 200, body = SessionsEnded), (status = 401, body = ErrorBody)))]
pub async fn end_other_sessions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<SessionsEnded>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::SessionSelf).await?;
    let ended = Accounts(&app).end_other_sessions(auth, &a.session).await?;
    Ok(Json(SessionsEnded { ended }))
}

/// Makes a named API token for the caller, valid for `days`; its secret is
/// returned once. It has a second factor only if the calling session has.
#[utoipa::path(post, path = "/auth/tokens", request_body = CreateToken, tag = "auth", security(("bearer" = [])), responses((status = 201, body = NewTokenDto), (status = 400, body = ErrorBody, description = "invalid_name or token_lifetime_invalid")))]
pub async fn create_token(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<NewTokenDto>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::TokenCreate).await?;
    let made = Accounts(&app)
        .create_token(auth, &a.session, &req.name, req.days)
        .await?;
    let dto = NewTokenDto {
        token: made.token,
        session: SessionDto::of(&made.session, a.session.id),
    };
    Ok((StatusCode::CREATED, Json(dto)))
}

/// Makes ten new recovery codes for the caller (shown this once); the earlier
/// ones stop working. Needs a session signed in with the second factor.
#[utoipa::path(post, path = "/auth/recovery-codes", tag = "auth", security(("bearer" = [])), responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody, description = "totp_not_enabled"), (status = 403, body = ErrorBody, description = "mfa_session_required")))]
pub async fn renew_recovery_codes(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::TotpEnroll).await?;
    let codes = Accounts(&app).renew_recovery_codes(auth).await?;
    Ok(Json(RecoveryCodes { codes }))
}

/// Removes a user's second factor (authenticator app and recovery codes) and
/// ends their sessions, for the reason given; they enrol again at their next
/// sign-in when their account must use one.
#[utoipa::path(post, path = "/users/{id}/mfa/reset", request_body = AdminReason, tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 400, body = ErrorBody, description = "bad_reason"), (status = 404, body = ErrorBody)))]
pub async fn reset_mfa(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AdminReason>,
) -> Result<Json<UserDto>, ApiError> {
    let user = id::<UserId>(&raw)?;
    let auth = app
        .user(&meta, &a.principal, user, act::UserMfaReset)
        .await?;
    let user = Accounts(&app).reset_mfa(auth, &req.reason).await?;
    Ok(Json(UserDto::from(&user)))
}

/// Unlocks an account locked by failed sign-ins, for the reason given.
#[utoipa::path(post, path = "/users/{id}/unlock", request_body = AdminReason, tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 400, body = ErrorBody, description = "bad_reason"), (status = 404, body = ErrorBody)))]
pub async fn unlock_user(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AdminReason>,
) -> Result<Json<UserDto>, ApiError> {
    let user = id::<UserId>(&raw)?;
    let auth = app.user(&meta, &a.principal, user, act::UserUnlock).await?;
    let user = Accounts(&app).unlock(auth, &req.reason).await?;
    Ok(Json(UserDto::from(&user)))
}
