//! A party's SCIM provisioning, administered (the owner's admins,
//! `scim.manage`): its SCIM tokens — made (the secret shown once), listed
//! with their last use, revoked — and the mappings of its groups to room
//! roles or system roles (docs/scim.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, MappedRole, NewMapping, ScimAdmin, ScimMapping, ScimToken, act};
use model::{PartyId, RoomId, RoomRole, SystemRole};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A party's SCIM token (never its secret).
#[derive(Serialize, ToSchema)]
pub struct ScimTokenDto {
    pub id: String,
    pub party_id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    /// When an identity provider last used it (noted at most once a minute).
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ScimToken> for ScimTokenDto {
    fn from(t: &ScimToken) -> Self {
        ScimTokenDto {
            id: t.id.clone(),
            party_id: t.party_id.to_string(),
            name: t.name.clone(),
            created_by: t.created_by.to_string(),
            created_at: rfc3339(t.created_ms),
            last_used_at: t.last_used_ms.map(rfc3339),
            revoked_at: t.revoked_ms.map(rfc3339),
        }
    }
}

/// A party's SCIM tokens, newest first.
#[derive(Serialize, ToSchema)]
pub struct ScimTokenList {
    pub items: Vec<ScimTokenDto>,
}

/// A new SCIM token's name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScimToken {
    /// What it is for, e.g. `Okta`.
    pub name: String,
}

/// A SCIM token just made: the secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedScimToken {
    pub token: ScimTokenDto,
    /// The bearer secret for the identity provider (`scim_…`); never shown again.
    pub secret: String,
    /// Where the identity provider sends its requests.
    pub base_url: String,
}

/// A group mapped to a room role or a system role.
#[derive(Serialize, ToSchema)]
pub struct ScimMappingDto {
    pub id: String,
    pub party_id: String,
    /// The group's display name, compared without regard to case.
    pub group: String,
    pub room_id: Option<String>,
    pub room_role: Option<String>,
    pub system_role: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

impl From<&ScimMapping> for ScimMappingDto {
    fn from(m: &ScimMapping) -> Self {
        ScimMappingDto {
            id: m.id.clone(),
            party_id: m.party_id.to_string(),
            group: m.group_name.clone(),
            room_id: m.room.map(|(r, _)| r.to_string()),
            room_role: m.room.map(|(_, r)| r.as_str().to_owned()),
            system_role: m.system_role.map(|r| r.as_str().to_owned()),
            created_by: m.created_by.to_string(),
            created_at: rfc3339(m.created_ms),
        }
    }
}

/// A party's group mappings.
#[derive(Serialize, ToSchema)]
pub struct ScimMappingList {
    pub items: Vec<ScimMappingDto>,
}

/// A new mapping: a group and either a room with a room role, or a system role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScimMapping {
    pub group: String,
    #[serde(default)]
    pub room_id: Option<String>,
    /// viewer, downloader, contributor or manager (with `room_id`).
    #[serde(default)]
    pub room_role: Option<String>,
    /// admin, security_officer, auditor or member (external parties: member only).
    #[serde(default)]
    pub system_role: Option<String>,
}

impl NewScimMapping {
    fn checked(self) -> Result<NewMapping, ApiError> {
        let role = match (self.room_id, self.room_role, self.system_role) {
            (Some(room), Some(role), None) => {
                let room = room.parse::<RoomId>().map_err(|_| {
                    ApiError::new(
                        app::ErrorCode::ScimMappingInvalid,
                        format!("no room with id `{room}`"),
                    )
                })?;
                MappedRole::Room(room, name(RoomRole::parse, &role)?)
            }
            (None, None, Some(role)) => MappedRole::System(name(SystemRole::parse, &role)?),
            _ => {
                return Err(ApiError::new(
                    app::ErrorCode::ScimMappingInvalid,
                    "a mapping names either `room_id` with `room_role`, or `system_role`",
                ));
            }
        };
        Ok(NewMapping {
            group_name: self.group,
            role,
        })
    }
}

/// A party's SCIM tokens, revoked ones included (the owner's admins).
#[utoipa::path(get, path = "/parties/{id}/scim/tokens", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = ScimTokenList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_scim_tokens(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<ScimTokenList>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    let tokens = ScimAdmin(&app).tokens(auth, party).await?;
    Ok(Json(ScimTokenList {
        items: tokens.iter().map(ScimTokenDto::from).collect(),
    }))
}

/// Makes a SCIM token for a party: the secret is answered once and stored
/// as its SHA-256 only; recorded as `scim.manage`.
#[utoipa::path(post, path = "/parties/{id}/scim/tokens", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewScimToken, responses((status = 201, body = CreatedScimToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_scim_token(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<NewScimToken>,
) -> Result<(StatusCode, Json<CreatedScimToken>), ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    let (token, secret) = ScimAdmin(&app).create_token(auth, party, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedScimToken {
            token: ScimTokenDto::from(&token),
            secret,
            base_url: "/scim/v2".into(),
        }),
    ))
}

/// Revokes a party's SCIM token: its next request is refused.
#[utoipa::path(delete, path = "/parties/{id}/scim/tokens/{token_id}", tag = "parties", security(("bearer" = [])), params(("id" = String, Path), ("token_id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_scim_token(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, token)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    ScimAdmin(&app).revoke_token(auth, party, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A party's group mappings.
#[utoipa::path(get, path = "/parties/{id}/scim/mappings", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = ScimMappingList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_scim_mappings(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<ScimMappingList>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    let maps = ScimAdmin(&app).mappings(auth, party).await?;
    Ok(Json(ScimMappingList {
        items: maps.iter().map(ScimMappingDto::from).collect(),
    }))
}

/// Maps a group of a party to a room role or a system role; its current
/// members gain it at once.
#[utoipa::path(post, path = "/parties/{id}/scim/mappings", tag = "parties", security(("bearer" = [])), params(("id" = String, Path)), request_body = NewScimMapping, responses((status = 201, body = ScimMappingDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_scim_mapping(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<NewScimMapping>,
) -> Result<(StatusCode, Json<ScimMappingDto>), ApiError> {
    let party = id::<PartyId>(&raw)?;
    let new = req.checked()?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    let (mapping, changes) = ScimAdmin(&app).create_mapping(auth, party, new).await?;
    crate::scim::apply_room_roles(&app, &meta, changes).await;
    Ok((StatusCode::CREATED, Json(ScimMappingDto::from(&mapping))))
}

/// Removes a group mapping; the group's members lose what it gave.
#[utoipa::path(delete, path = "/parties/{id}/scim/mappings/{mapping_id}", tag = "parties", security(("bearer" = [])), params(("id" = String, Path), ("mapping_id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_scim_mapping(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, mapping)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ScimManage).await?;
    let changes = ScimAdmin(&app)
        .delete_mapping(auth, party, &mapping)
        .await?;
    crate::scim::apply_room_roles(&app, &meta, changes).await;
    Ok(StatusCode::NO_CONTENT)
}
