//! Agreements: issued to a party by the owner's admins, read by that party and
//! the owner's staff, signed click-through by a user of that party (who sends
//! the SHA-256 of the exact text shown), terminated by an admin.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{Agreements, App, AppError, ErrorCode, NewAgreement, act};
use model::{Agreement, AgreementId, AgreementKind, AgreementTerms, PartyId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// What a licence permits (empty for an NDA).
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TermsDto {
    /// Field-of-use tags.
    #[serde(default)]
    pub field_of_use: Vec<String>,
    /// ISO 3166-1 alpha-2 country codes.
    #[serde(default)]
    pub territories: Vec<String>,
    /// Action names the agreement permits, e.g. `file.download`.
    #[serde(default)]
    pub permitted_actions: Vec<String>,
}

/// A signature.
#[derive(Serialize, ToSchema)]
pub struct SignatureDto {
    pub user_id: String,
    /// SHA-256 (hex) of the exact text signed.
    pub text_sha256: String,
    pub signed_at: String,
    pub source_addr: Option<String>,
}

/// An agreement.
#[derive(Serialize, ToSchema)]
pub struct AgreementDto {
    pub id: String,
    pub party_id: String,
    /// nda, ip_assignment or licence.
    pub kind: String,
    pub template: String,
    pub title: String,
    pub text: String,
    /// SHA-256 (hex) of `text`: what a signer sends back.
    pub text_sha256: String,
    pub terms: TermsDto,
    /// draft, awaiting_signature, active, expired or terminated — as of now.
    pub status: String,
    pub effective_at: String,
    pub end_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub signature: Option<SignatureDto>,
    pub terminated_at: Option<String>,
}

impl AgreementDto {
    pub(crate) fn new(a: &Agreement, now_ms: i64) -> AgreementDto {
        AgreementDto {
            id: a.id.to_string(),
            party_id: a.party_id.to_string(),
            kind: a.kind.as_str().to_owned(),
            template: a.template.clone(),
            title: a.title.clone(),
            text: a.text.clone(),
            text_sha256: a.text_sha256.clone(),
            terms: TermsDto {
                field_of_use: a.terms.field_of_use.clone(),
                territories: a.terms.territories.clone(),
                permitted_actions: a.terms.permitted_actions.clone(),
            },
            status: a.status_at(now_ms).as_str().to_owned(),
            effective_at: rfc3339(a.effective_ms),
            end_at: a.end_ms.map(rfc3339),
            created_by: a.created_by.to_string(),
            created_at: rfc3339(a.created_ms),
            signature: a.signature.as_ref().map(|s| SignatureDto {
                user_id: s.user_id.to_string(),
                text_sha256: s.text_sha256.clone(),
                signed_at: rfc3339(s.signed_ms),
                source_addr: s.source_addr.clone(),
            }),
            terminated_at: a.terminated_ms.map(rfc3339),
        }
    }
}

/// A list of agreements.
#[derive(Serialize, ToSchema)]
pub struct AgreementList {
    pub items: Vec<AgreementDto>,
}

/// An agreement to issue to a party.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgreement {
    pub party_id: String,
    /// nda, ip_assignment or licence.
    pub kind: String,
    /// The template the text comes from (`a-z`, `0-9`, `-`), e.g. `mutual-nda-2026`;
    /// a room may require it by this name.
    pub template: String,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub terms: TermsDto,
    /// Default: now.
    pub effective_at: Option<String>,
    pub end_at: Option<String>,
    /// Keep as a draft, not yet offered for signature.
    #[serde(default)]
    pub draft: bool,
}

/// A click-through signature.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignAgreement {
    /// SHA-256 (hex) of the exact text shown to the signer; must match.
    pub text_sha256: String,
}

/// Agreements the caller may see.
#[utoipa::path(get, path = "/agreements", tag = "agreements", security(("bearer" = [])), responses((status = 200, body = AgreementList), (status = 401, body = ErrorBody)))]
pub async fn list_agreements(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<AgreementList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::AgreementList).await?;
    let items = Agreements(&app).list_agreements(auth).await?;
    let now = app.now_ms();
    Ok(Json(AgreementList {
        items: items.iter().map(|x| AgreementDto::new(x, now)).collect(),
    }))
}

/// Issues an agreement to a party (admins).
#[utoipa::path(post, path = "/agreements", request_body = CreateAgreement, tag = "agreements", security(("bearer" = [])), responses((status = 201, body = AgreementDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_agreement(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<CreateAgreement>,
) -> Result<(StatusCode, Json<AgreementDto>), ApiError> {
    let party_id: PartyId = req.party_id.parse().map_err(|_| {
        ApiError::from(AppError::invalid(
            ErrorCode::UnknownParty,
            "`party_id` is not an id",
        ))
    })?;
    let new = NewAgreement {
        party_id,
        kind: name(AgreementKind::parse, &req.kind)?,
        template: req.template,
        title: req.title,
        text: req.text,
        terms: AgreementTerms {
            field_of_use: req.terms.field_of_use,
            territories: req.terms.territories,
            permitted_actions: req.terms.permitted_actions,
        },
        effective_ms: req
            .effective_at
            .as_deref()
            .map(|t| parse_rfc3339("effective_at", t))
            .transpose()?,
        end_ms: req
            .end_at
            .as_deref()
            .map(|t| parse_rfc3339("end_at", t))
            .transpose()?,
        draft: req.draft,
    };
    let auth = app
        .system(&meta, &a.principal, act::AgreementCreate)
        .await?;
    let made = Agreements(&app).create_agreement(auth, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(AgreementDto::new(&made, app.now_ms())),
    ))
}

/// One agreement, with its text.
#[utoipa::path(get, path = "/agreements/{id}", tag = "agreements", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AgreementDto), (status = 404, body = ErrorBody)))]
pub async fn get_agreement(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AgreementDto>, ApiError> {
    let agreement_id = id::<AgreementId>(&raw)?;
    let auth = app
        .agreement(&meta, &a.principal, agreement_id, act::AgreementView)
        .await?;
    let found = Agreements(&app).get_agreement(auth).await?;
    Ok(Json(AgreementDto::new(&found, app.now_ms())))
}

/// Signs an agreement for the caller's party.
#[utoipa::path(post, path = "/agreements/{id}/sign", request_body = SignAgreement, tag = "agreements", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AgreementDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn sign_agreement(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<SignAgreement>,
) -> Result<Json<AgreementDto>, ApiError> {
    let agreement_id = id::<AgreementId>(&raw)?;
    let auth = app
        .agreement(&meta, &a.principal, agreement_id, act::AgreementSign)
        .await?;
    let signed = Agreements(&app)
        .sign_agreement(auth, &req.text_sha256)
        .await?;
    Ok(Json(AgreementDto::new(&signed, app.now_ms())))
}

/// Terminates an agreement at once (admins).
#[utoipa::path(post, path = "/agreements/{id}/terminate", tag = "agreements", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AgreementDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn terminate_agreement(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AgreementDto>, ApiError> {
    let agreement_id = id::<AgreementId>(&raw)?;
    let auth = app
        .agreement(&meta, &a.principal, agreement_id, act::AgreementTerminate)
        .await?;
    let ended = Agreements(&app).terminate_agreement(auth).await?;
    Ok(Json(AgreementDto::new(&ended, app.now_ms())))
}
