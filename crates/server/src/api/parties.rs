//! Parties, users and invitations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use app::{App, ErrorCode, Identity, NewParty, NewUser, PartyPatch, UserPatch, act};
use model::{PartyId, PartyStatus, SystemRole, UserId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::*;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// Every party.
#[utoipa::path(get, path = "/parties", tag = "parties", security(("bearer" = [])), responses((status = 200, body = PartyList), (status = 403, body = ErrorBody)))]
pub async fn list_parties(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<PartyList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::PartyList).await?;
    let parties = Identity(&app).list_parties(auth).await?;
    Ok(Json(PartyList {
        items: parties.iter().map(PartyDto::from).collect(),
    }))
}

/// Registers an external party.
#[utoipa::path(post, path = "/parties", request_body = CreateParty, tag = "parties", security(("bearer" = [])), responses((status = 201, body = PartyDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateParty>,
) -> Result<(StatusCode, Json<PartyDto>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::PartyCreate).await?;
    let party = Identity(&app)
        .create_party(
            auth,
            NewParty {
                name: req.name,
                country: req.country,
                active_reason: req.active_reason,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(PartyDto::from(&party))))
}

/// One party.
#[utoipa::path(get, path = "/parties/{id}", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto), (status = 404, body = ErrorBody)))]
pub async fn get_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PartyDto>, ApiError> {
    let auth = app
        .party(&meta, &a.principal, id::<PartyId>(&raw)?, act::PartyList)
        .await?;
    let party = Identity(&app).get_party(auth).await?;
    Ok(Json(PartyDto::from(&party)))
}

/// Renames, relocates, suspends or offboards a party.
#[utoipa::path(patch, path = "/parties/{id}", request_body = PatchParty, tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "conflict: another party has this name")))]
pub async fn patch_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<PatchParty>,
) -> Result<Json<PartyDto>, ApiError> {
    let status = req
        .status
        .as_deref()
        .map(|s| name(PartyStatus::parse, s))
        .transpose()?;
    let patch = PartyPatch {
        name: req.name,
        country: req.country,
        status,
    };
    let id = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PartyUpdate).await?;
    let party = Identity(&app).update_party(auth, id, patch).await?;
    Ok(Json(PartyDto::from(&party)))
}

/// Activates a party being onboarded, once its due diligence is signed off
/// with a risk tier in term.
#[utoipa::path(post, path = "/parties/{id}/activate", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto, description = "the party, now active"), (status = 400, body = ErrorBody, description = "the party is not being onboarded"), (status = 403, body = ErrorBody, description = "the caller may not activate parties"), (status = 404, body = ErrorBody, description = "no such party"), (status = 409, body = ErrorBody, description = "its due diligence is not signed off with a tier in term")))]
pub async fn activate_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PartyDto>, ApiError> {
    let id = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PartyActivate).await?;
    let party = Identity(&app).activate_party(auth, id).await?;
    Ok(Json(PartyDto::from(&party)))
}

/// Offboards a party in one transaction: every grant to it and its users,
/// every session, API token and pending invitation ends, its agreements are
/// terminated and its users disabled; it stays offboarded until re-onboarded.
/// A destruction attestation request is opened to the party in the same
/// transaction (docs/attestations.md).
#[utoipa::path(post, path = "/parties/{id}/offboard", request_body = OffboardParty, tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyOffboarded), (status = 400, body = ErrorBody, description = "bad_reason, owner_party_status, invalid_email, bad_attestation_days"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already offboarded")))]
pub async fn offboard_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<OffboardParty>,
) -> Result<Json<PartyOffboarded>, ApiError> {
    let id = id::<PartyId>(&raw)?;
    let attestation = app::AttestationRequest {
        officer: super::attestations::officer(req.officer_email.as_deref())?,
        due_days: req.attestation_days,
    };
    let auth = app.system(&meta, &a.principal, act::PartyOffboard).await?;
    let (party, ended, attested) = Identity(&app)
        .offboard_party(auth, id, &req.reason, attestation)
        .await?;
    Ok(Json(PartyOffboarded {
        party: PartyDto::from(&party),
        ended: OffboardedDto::from(&ended),
        attestation: attested.to_string(),
    }))
}

/// Starts an offboarded party's onboarding again: `prospective`, no risk tier.
#[utoipa::path(post, path = "/parties/{id}/reonboard", request_body = AdminReason, tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto), (status = 400, body = ErrorBody, description = "bad_reason, or the party is not offboarded"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reonboard_party(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AdminReason>,
) -> Result<Json<PartyDto>, ApiError> {
    let id = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PartyReonboard).await?;
    let party = Identity(&app)
        .reonboard_party(auth, id, &req.reason)
        .await?;
    Ok(Json(PartyDto::from(&party)))
}

/// Offboards one user in one transaction: every grant to the user, every
/// session and API token ends, and the account is disabled.
#[utoipa::path(post, path = "/users/{id}/offboard", request_body = AdminReason, tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserOffboarded), (status = 400, body = ErrorBody, description = "bad_reason, cannot_disable_self"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn offboard_user(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AdminReason>,
) -> Result<Json<UserOffboarded>, ApiError> {
    let id = id::<UserId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::UserOffboard).await?;
    let (user, ended) = Identity(&app).offboard_user(auth, id, &req.reason).await?;
    Ok(Json(UserOffboarded {
        user: UserDto::from(&user),
        ended: OffboardedDto::from(&ended),
    }))
}

/// Every user.
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), responses((status = 200, body = UserList), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<UserList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::UserList).await?;
    let users = Identity(&app).list_users(auth, None).await?;
    Ok(Json(UserList {
        items: users.iter().map(UserDto::from).collect(),
    }))
}

/// Creates a user directly (an invitation is the usual way).
#[utoipa::path(post, path = "/users", request_body = CreateUser, tag = "users", security(("bearer" = [])), responses((status = 201, body = UserDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    let new = NewUser {
        email: req.email,
        display_name: req.display_name,
        party_id: req.party_id.parse().map_err(|_| {
            ApiError::from(app::AppError::invalid(
                ErrorCode::UnknownParty,
                "the party does not exist",
            ))
        })?,
        system_role: name(SystemRole::parse, &req.system_role)?,
        password: req.password,
    };
    let auth = app.system(&meta, &a.principal, act::UserCreate).await?;
    let user = Identity(&app).create_user(auth, new).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<UserDto>, ApiError> {
    let auth = app
        .user(&meta, &a.principal, id::<UserId>(&raw)?, act::UserList)
        .await?;
    let user = Identity(&app).get_user(auth).await?;
    Ok(Json(UserDto::from(&user)))
}

/// Changes a user; `disabled: true` ends every session at once.
#[utoipa::path(patch, path = "/users/{id}", request_body = PatchUser, tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
pub async fn patch_user(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<PatchUser>,
) -> Result<Json<UserDto>, ApiError> {
    let system_role = req
        .system_role
        .as_deref()
        .map(|s| name(SystemRole::parse, s))
        .transpose()?;
    let patch = UserPatch {
        display_name: req.display_name,
        system_role,
        disabled: req.disabled,
    };
    let id = id::<UserId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::UserUpdate).await?;
    let user = Identity(&app).update_user(auth, id, patch).await?;
    Ok(Json(UserDto::from(&user)))
}

/// Revokes every session and token of a user.
#[utoipa::path(post, path = "/users/{id}/revoke-sessions", tag = "users", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn revoke_sessions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let auth = app
        .user(&meta, &a.principal, id::<UserId>(&raw)?, act::UserUpdate)
        .await?;
    Identity(&app).revoke_sessions(auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites a person into a party; the link's secret is returned once.
#[utoipa::path(post, path = "/invitations", request_body = CreateInvitation, tag = "users", security(("bearer" = [])), responses((status = 201, body = InvitationDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_invitation(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> Result<(StatusCode, Json<InvitationDto>), ApiError> {
    let role = req
        .system_role
        .as_deref()
        .map(|s| name(SystemRole::parse, s))
        .transpose()?
        .unwrap_or(SystemRole::Member);
    let party = req.party_id.parse().map_err(|_| {
        ApiError::from(app::AppError::invalid(
            ErrorCode::UnknownParty,
            "the party does not exist",
        ))
    })?;
    let auth = app
        .system(&meta, &a.principal, act::InvitationCreate)
        .await?;
    let (inv, token) = Identity(&app)
        .invite(auth, &req.email, &req.display_name, party, role)
        .await?;
    let dto = InvitationDto {
        id: inv.id.to_string(),
        email: inv.email,
        party_id: inv.party_id.to_string(),
        expires_at: rfc3339(inv.expires_ms),
        accept_path: format!("/invite/{token}"),
        token,
    };
    Ok((StatusCode::CREATED, Json(dto)))
}

/// Accepts an invitation by setting a password. Single use.
#[utoipa::path(post, path = "/invitations/{token}/accept", request_body = AcceptInvitation, tag = "users", params(("token" = String, Path)), responses((status = 201, body = UserDto), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn accept_invitation(
    State(app): State<App>,
    Meta(meta): Meta,
    ApiPath(token): ApiPath<String>,
    ApiJson(req): ApiJson<AcceptInvitation>,
) -> Result<(StatusCode, Json<UserDto>), ApiError> {
    let user = Identity(&app)
        .accept_invitation(&meta, &token, &req.password)
        .await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))))
}
