//! Destruction attestations (docs/attestations.md): read by the owner's
//! admins, security officers and auditors; sent again to the party's officer
//! by its admins. The officer signs on the public page `/a/{token}`
//! (`web/attestations.rs`), never through the API.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::{App, Attestations, ErrorCode, act};
use model::{Attestation, AttestationId, MailAddress, PartyId, ReceivedCopy};

use super::id;
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// An attestation request and where it stands.
#[derive(Serialize, ToSchema)]
pub struct AttestationDto {
    pub id: String,
    pub party: String,
    pub party_name: String,
    /// The officer asked to sign (none: nobody could be named; send it with an address).
    pub officer_email: Option<String>,
    /// `open`, `overdue` or `signed`.
    pub state: String,
    pub opened_at: String,
    pub opened_by: String,
    pub due_at: String,
    pub mailed_at: Option<String>,
    pub reminded_at: Option<String>,
    pub reminders: i64,
    pub escalated_at: Option<String>,
    pub escalations: i64,
    /// Copies listed.
    pub copies: usize,
    /// Lowercase hex SHA-256 of the text to sign.
    pub text_sha256: String,
    pub signature: Option<SignatureDto>,
}

/// The officer's signature.
#[derive(Serialize, ToSchema)]
pub struct SignatureDto {
    /// The name typed.
    pub name: String,
    /// The address proved with a mailed code.
    pub email: String,
    /// The SHA-256 the signer's browser sent back (the text's).
    pub text_sha256: String,
    pub signed_at: String,
    pub source_addr: Option<String>,
}

/// One copy the party received.
#[derive(Serialize, ToSchema)]
pub struct CopyDto {
    /// The ledger's event that issued it (its `seq`).
    pub event: i64,
    /// `download`, `marked`, `view`, `link_download`, `link_marked` or `link_view`.
    pub kind: String,
    pub file: String,
    pub room: Option<String>,
    pub room_name: String,
    pub path: String,
    pub version: Option<i64>,
    /// Lowercase hex SHA-256 of the version's plaintext.
    pub sha256: String,
    pub mark_id: Option<String>,
    pub range: Option<String>,
    pub at: String,
    /// The user's or the link recipient's address.
    pub by: String,
    pub user: Option<String>,
    pub link: Option<String>,
}

/// An attestation with its copies and the whole text to sign.
#[derive(Serialize, ToSchema)]
pub struct AttestationDetail {
    #[serde(flatten)]
    pub attestation: AttestationDto,
    /// The declaration and the list: exactly what is signed.
    pub text: String,
    pub items: Vec<CopyDto>,
}

/// Attestations, newest first.
#[derive(Serialize, ToSchema)]
pub struct AttestationList {
    pub items: Vec<AttestationDto>,
}

/// An attestation sent again, and its new signing page (shown once).
#[derive(Serialize, ToSchema)]
pub struct AttestationSent {
    pub attestation: AttestationDto,
    /// The new signing page's path (`/a/<secret>`); the old one stops working.
    pub path: String,
    /// Whether it was mailed (mail on and the public address set).
    pub mailed: bool,
}

/// Sending an attestation again.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SendAttestation {
    /// The officer to send it to, who becomes its officer (none: the one it has).
    #[serde(default)]
    pub officer_email: Option<String>,
}

/// Which attestations to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttestationQuery {
    /// One party's only.
    pub party: Option<String>,
}

pub(crate) fn dto(a: &Attestation, now: i64) -> AttestationDto {
    AttestationDto {
        id: a.id.to_string(),
        party: a.party_id.to_string(),
        party_name: a.party_name.clone(),
        officer_email: a.officer_email.clone(),
        state: a.state(now).as_str().into(),
        opened_at: rfc3339(a.opened_ms),
        opened_by: a.opened_by.to_string(),
        due_at: rfc3339(a.due_ms),
        mailed_at: a.mailed_ms.map(rfc3339),
        reminded_at: a.reminded_ms.map(rfc3339),
        reminders: a.reminders,
        escalated_at: a.escalated_ms.map(rfc3339),
        escalations: a.escalations,
        copies: a.copies.len(),
        text_sha256: a.text_sha256.clone(),
        signature: a.signature.as_ref().map(|s| SignatureDto {
            name: s.name.clone(),
            email: s.email.clone(),
            text_sha256: s.text_sha256.clone(),
            signed_at: rfc3339(s.signed_ms),
            source_addr: s.source_addr.clone(),
        }),
    }
}

fn copy_dto(c: &ReceivedCopy) -> CopyDto {
    CopyDto {
        event: c.seq,
        kind: c.kind.as_str().into(),
        file: c.file_id.to_string(),
        room: c.room_id.map(|r| r.to_string()),
        room_name: c.room_name.clone(),
        path: c.path.clone(),
        version: c.version,
        sha256: c.sha256.clone(),
        mark_id: c.mark_id.clone(),
        range: c.range.clone(),
        at: rfc3339(c.time_ms),
        by: c.by.clone(),
        user: c.user_id.map(|u| u.to_string()),
        link: c.link.clone(),
    }
}

/// The officer address of a request, parsed.
pub(crate) fn officer(raw: Option<&str>) -> Result<Option<MailAddress>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => MailAddress::parse(r)
            .map(|a| Some(a.bare()))
            .map_err(|e| ApiError::new(ErrorCode::InvalidEmail, format!("`officer_email`: {e}"))),
    }
}

/// The destruction attestations asked of offboarded parties, newest first.
#[utoipa::path(get, path = "/attestations", tag = "attestations", security(("bearer" = [])), params(AttestationQuery), responses((status = 200, body = AttestationList), (status = 403, body = ErrorBody)))]
pub async fn list_attestations(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<AttestationQuery>,
) -> Result<Json<AttestationList>, ApiError> {
    let party = super::filter_id::<PartyId>("party", q.party.as_deref())?;
    let auth = app
        .system(&meta, &a.principal, act::AttestationRead)
        .await?;
    let all = Attestations(&app).list(auth, party).await?;
    let now = app.now();
    Ok(Json(AttestationList {
        items: all.iter().map(|x| dto(x, now)).collect(),
    }))
}

/// One attestation: the copies listed, the text to sign and the signature.
#[utoipa::path(get, path = "/attestations/{id}", tag = "attestations", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AttestationDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_attestation(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AttestationDetail>, ApiError> {
    let id = id::<AttestationId>(&raw)?;
    let auth = app
        .system(&meta, &a.principal, act::AttestationRead)
        .await?;
    let x = Attestations(&app).get(auth, id).await?;
    Ok(Json(AttestationDetail {
        attestation: dto(&x, app.now()),
        text: x.text.clone(),
        items: x.copies.iter().map(copy_dto).collect(),
    }))
}

/// Sends an unsigned attestation to its officer again (or to a new
/// officer), with a fresh signing page: the old one stops working.
#[utoipa::path(post, path = "/attestations/{id}/send", tag = "attestations", security(("bearer" = [])), params(("id" = String, Path)), request_body = SendAttestation, responses((status = 200, body = AttestationSent), (status = 400, body = ErrorBody, description = "invalid_email, attestation_officer"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "attestation_signed")))]
pub async fn send_attestation(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<SendAttestation>,
) -> Result<Json<AttestationSent>, ApiError> {
    let id = id::<AttestationId>(&raw)?;
    let to = officer(req.officer_email.as_deref())?;
    let auth = app
        .system(&meta, &a.principal, act::AttestationSend)
        .await?;
    let (x, path) = Attestations(&app).send(auth, id, to).await?;
    let mailed = app.settings().mail_enabled && app.settings().public_url.is_some();
    Ok(Json(AttestationSent {
        attestation: dto(&x, app.now()),
        path,
        mailed,
    }))
}
