//! Parties' security certifications as records (record, verify, list), the
//! standards a room and each classification require of external parties,
//! and a party's sponsor on the owner's side.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, Certifications, ClassificationRequirements, NewCertification, act};
use model::{Certification, CertificationId, Classification, FileId, PartyId, RoomId, UserId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{UserDto, parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A certificate a party holds.
#[derive(Serialize, ToSchema)]
pub struct CertificationDto {
    pub id: String,
    pub party_id: String,
    /// `iso_27001`, `soc2_type2`, `tisax`, `cyber_essentials_plus` or `custom:<name>`.
    pub standard: String,
    /// The standard's name, e.g. `ISO/IEC 27001`.
    pub title: String,
    pub issuer: String,
    pub scope: String,
    pub number: String,
    pub valid_from: String,
    pub valid_until: String,
    /// The certificate itself: a file of a room shared with the party.
    pub evidence_file: Option<String>,
    /// Who of the owner's staff verified it, and when; absent until then
    /// (an unverified certificate counts for nothing).
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
    pub recorded_by: String,
    pub recorded_at: String,
}

impl From<&Certification> for CertificationDto {
    fn from(c: &Certification) -> Self {
        CertificationDto {
            id: c.id.to_string(),
            party_id: c.party_id.to_string(),
            standard: c.standard.clone(),
            title: c.title(),
            issuer: c.issuer.clone(),
            scope: c.scope.clone(),
            number: c.number.clone(),
            valid_from: rfc3339(c.valid_from_ms),
            valid_until: rfc3339(c.valid_until_ms),
            evidence_file: c.evidence.map(|f| f.to_string()),
            verified_by: c.verified_by.map(|u| u.to_string()),
            verified_at: c.verified_ms.map(rfc3339),
            recorded_by: c.recorded_by.to_string(),
            recorded_at: rfc3339(c.recorded_ms),
        }
    }
}

/// A party's certificates, newest end first.
#[derive(Serialize, ToSchema)]
pub struct CertificationList {
    pub items: Vec<CertificationDto>,
}

/// A certificate to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCertification {
    /// A standard key or name: `iso_27001` (`ISO/IEC 27001`), `soc2_type2`,
    /// `tisax`, `cyber_essentials_plus`, or `custom:<name>`.
    pub standard: String,
    pub issuer: String,
    pub scope: String,
    /// The certificate number.
    pub number: String,
    /// RFC 3339.
    pub valid_from: String,
    /// RFC 3339 (exclusive).
    pub valid_until: String,
    /// A file of a room shared with the party.
    pub evidence_file: Option<String>,
}

/// Standards required of external parties (`any`: a certificate of any standard).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredCertifications {
    pub certifications: Vec<String>,
}

/// What one classification requires of external parties.
#[derive(Serialize, ToSchema)]
pub struct ClassificationDto {
    pub classification: String,
    pub certifications: Vec<String>,
    /// Course ids (set with `PUT /classifications/{classification}/courses`).
    pub courses: Vec<String>,
}

/// What each classification requires.
#[derive(Serialize, ToSchema)]
pub struct ClassificationList {
    pub items: Vec<ClassificationDto>,
}

impl From<&ClassificationRequirements> for ClassificationDto {
    fn from(c: &ClassificationRequirements) -> Self {
        ClassificationDto {
            classification: c.classification.as_str().to_owned(),
            certifications: c.certifications.clone(),
            courses: c.courses.clone(),
        }
    }
}

/// A party's sponsor: a user of the owner (absent: none).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sponsor {
    pub user_id: Option<String>,
}

/// The certificates of a party (the owner's staff).
#[utoipa::path(get, path = "/parties/{id}/certifications", tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CertificationList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_certifications(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CertificationList>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app
        .system(&meta, &a.principal, act::CertificationList)
        .await?;
    let items = Certifications(&app).list(auth, party).await?;
    Ok(Json(CertificationList {
        items: items.iter().map(CertificationDto::from).collect(),
    }))
}

/// Records a certificate of an external party, unverified (admins).
#[utoipa::path(post, path = "/parties/{id}/certifications", request_body = RecordCertification, tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = CertificationDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn record_certification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RecordCertification>,
) -> Result<(StatusCode, Json<CertificationDto>), ApiError> {
    let party = id::<PartyId>(&raw)?;
    let evidence = match &req.evidence_file {
        None => None,
        Some(raw) => Some(raw.parse::<FileId>().map_err(|_| {
            app::AppError::invalid(
                app::ErrorCode::InvalidEvidence,
                "`evidence_file` is not a file id",
            )
        })?),
    };
    let new = NewCertification {
        party,
        standard: req.standard,
        issuer: req.issuer,
        scope: req.scope,
        number: req.number,
        valid_from_ms: parse_rfc3339("valid_from", &req.valid_from)?,
        valid_until_ms: parse_rfc3339("valid_until", &req.valid_until)?,
        evidence,
    };
    let auth = app
        .system(&meta, &a.principal, act::CertificationRecord)
        .await?;
    let cert = Certifications(&app).record(auth, new).await?;
    Ok((StatusCode::CREATED, Json(CertificationDto::from(&cert))))
}

/// Verifies a recorded certificate: from now on it counts (the owner's
/// admins and security officers).
#[utoipa::path(post, path = "/certifications/{id}/verify", tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CertificationDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify_certification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CertificationDto>, ApiError> {
    let cert = id::<CertificationId>(&raw)?;
    let auth = app
        .system(&meta, &a.principal, act::CertificationVerify)
        .await?;
    let cert = Certifications(&app).verify(auth, cert).await?;
    Ok(Json(CertificationDto::from(&cert)))
}

/// The standards a room itself requires of external parties (its
/// classification may require more: `GET /classifications`).
#[utoipa::path(get, path = "/rooms/{id}/certifications", tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RequiredCertifications), (status = 404, body = ErrorBody)))]
pub async fn get_room_certifications(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<RequiredCertifications>, ApiError> {
    let auth = app
        .room(&meta, &a.principal, id::<RoomId>(&raw)?, act::RoomView)
        .await?;
    let certifications = Certifications(&app).room_requirements(auth).await?;
    Ok(Json(RequiredCertifications { certifications }))
}

/// Sets the standards a room requires of external parties (the owner's
/// managers of the room and its admins).
#[utoipa::path(put, path = "/rooms/{id}/certifications", request_body = RequiredCertifications, tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = RequiredCertifications), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_room_certifications(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCertifications>,
) -> Result<Json<RequiredCertifications>, ApiError> {
    let auth = app
        .room(
            &meta,
            &a.principal,
            id::<RoomId>(&raw)?,
            act::RoomConditions,
        )
        .await?;
    let certifications = Certifications(&app)
        .set_room_requirements(auth, &req.certifications)
        .await?;
    Ok(Json(RequiredCertifications { certifications }))
}

/// What each classification requires of external parties (the owner's staff).
#[utoipa::path(get, path = "/classifications", tag = "certifications", security(("bearer" = [])), responses((status = 200, body = ClassificationList), (status = 403, body = ErrorBody)))]
pub async fn list_classifications(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<ClassificationList>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::CertificationList)
        .await?;
    let items = Certifications(&app).classifications(auth).await?;
    Ok(Json(ClassificationList {
        items: items.iter().map(ClassificationDto::from).collect(),
    }))
}

/// Sets the standards rooms of a classification require of external parties (admins).
#[utoipa::path(put, path = "/classifications/{classification}", request_body = RequiredCertifications, tag = "certifications", security(("bearer" = [])), params(("classification" = String, Path)), responses((status = 200, body = ClassificationDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_classification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCertifications>,
) -> Result<Json<ClassificationDto>, ApiError> {
    let classification = name(Classification::parse, &raw)?;
    let auth = app
        .system(&meta, &a.principal, act::ClassificationUpdate)
        .await?;
    let set = Certifications(&app)
        .set_classification(auth, classification, &req.certifications)
        .await?;
    Ok(Json(ClassificationDto::from(&set)))
}

/// Sets (or, with no `user_id`, removes) a party's sponsor: the owner's user
/// who is told with the party before its certificates end (admins).
#[utoipa::path(put, path = "/parties/{id}/sponsor", request_body = Sponsor, tag = "certifications", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Option<UserDto>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn put_sponsor(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Sponsor>,
) -> Result<Json<Option<UserDto>>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let sponsor = match &req.user_id {
        None => None,
        Some(raw) => Some(raw.parse::<UserId>().map_err(|_| {
            app::AppError::invalid(app::ErrorCode::InvalidSponsor, "`user_id` is not a user id")
        })?),
    };
    let auth = app.system(&meta, &a.principal, act::PartyUpdate).await?;
    let user = Certifications(&app)
        .set_sponsor(auth, party, sponsor)
        .await?;
    Ok(Json(user.as_ref().map(UserDto::from)))
}
