//! The facts behind the access conditions, set by admins: network zones,
//! users' security training, parties' security certification, agreement
//! templates (and agreements issued from them or offered from a draft); and
//! each user's notifications (the expiry sweep's messages).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use app::{Agreements, App, AppError, Certifications, ErrorCode, NewTemplate, Policies, act};
use model::{
    AgreementId, AgreementKind, AgreementTemplate, AgreementTerms, Cidr, NetworkZone, Notification,
    NotificationId, PartyId, UserId,
};

use super::agreements::{AgreementDto, TermsDto};
use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{PartyDto, UserDto, parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

/// A network zone: address ranges in one country.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneDto {
    /// Lowercase letters, digits, `-`, `_`.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// CIDR ranges, e.g. `192.0.2.0/24`, `2001:db8::/32`.
    pub ranges: Vec<String>,
}

/// The network zones.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneList {
    pub items: Vec<ZoneDto>,
}

impl From<&NetworkZone> for ZoneDto {
    fn from(z: &NetworkZone) -> Self {
        ZoneDto {
            name: z.name.clone(),
            country: z.country.clone(),
            ranges: z.ranges.iter().map(ToString::to_string).collect(),
        }
    }
}

fn zone_list(zones: &[NetworkZone]) -> ZoneList {
    ZoneList {
        items: zones.iter().map(ZoneDto::from).collect(),
    }
}

/// The network zones requests are placed in (owner staff).
#[utoipa::path(get, path = "/zones", tag = "conditions", security(("bearer" = [])), responses((status = 200, body = ZoneList), (status = 403, body = ErrorBody)))]
pub async fn list_zones(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<ZoneList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::ZoneList).await?;
    let zones = Policies(&app).list_zones(auth).await?;
    Ok(Json(zone_list(&zones)))
}

/// Replaces the network zones (admins).
#[utoipa::path(put, path = "/zones", request_body = ZoneList, tag = "conditions", security(("bearer" = [])), responses((status = 200, body = ZoneList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_zones(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<ZoneList>,
) -> Result<Json<ZoneList>, ApiError> {
    let mut zones = Vec::with_capacity(req.items.len());
    for z in req.items {
        let ranges = z
            .ranges
            .iter()
            .map(|r| {
                r.parse::<Cidr>()
                    .map_err(|e| AppError::invalid(e.code(), format!("zone `{}`: {e}", z.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        zones.push(NetworkZone {
            name: z.name,
            country: z.country,
            ranges,
        });
    }
    let auth = app.system(&meta, &a.principal, act::ZoneUpdate).await?;
    let zones = Policies(&app).set_zones(auth, zones).await?;
    Ok(Json(zone_list(&zones)))
}

/// Until when a user's security training is current.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// RFC 3339.
    pub valid_until: String,
}

/// Records a user's security training (admins).
#[utoipa::path(put, path = "/users/{id}/training", request_body = Training, tag = "conditions", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
pub async fn put_training(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Training>,
) -> Result<Json<UserDto>, ApiError> {
    let until = parse_rfc3339("valid_until", &req.valid_until)?;
    let user_id = id::<UserId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::UserUpdate).await?;
    let user = Policies(&app)
        .set_training(auth, user_id, Some(until))
        .await?;
    Ok(Json(UserDto::from(&user)))
}

/// Clears a user's security training record (admins).
#[utoipa::path(delete, path = "/users/{id}/training", tag = "conditions", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
pub async fn delete_training(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<UserDto>, ApiError> {
    let user_id = id::<UserId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::UserUpdate).await?;
    let user = Policies(&app).set_training(auth, user_id, None).await?;
    Ok(Json(UserDto::from(&user)))
}

/// A party's security certification: replaces its certificates by one,
/// verified by the admin who records it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Certification {
    /// E.g. `ISO/IEC 27001:2022` or `TISAX AL3`.
    pub name: String,
    /// RFC 3339.
    pub valid_until: String,
}

/// Records a party's security certification (admins).
#[utoipa::path(put, path = "/parties/{id}/certification", request_body = Certification, tag = "conditions", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto), (status = 404, body = ErrorBody)))]
pub async fn put_certification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<Certification>,
) -> Result<Json<PartyDto>, ApiError> {
    let until = parse_rfc3339("valid_until", &req.valid_until)?;
    let party_id = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PartyUpdate).await?;
    let party = Certifications(&app)
        .replace(auth, party_id, Some((req.name, until)))
        .await?;
    Ok(Json(PartyDto::from(&party)))
}

/// Clears a party's security certification (admins).
#[utoipa::path(delete, path = "/parties/{id}/certification", tag = "conditions", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PartyDto), (status = 404, body = ErrorBody)))]
pub async fn delete_certification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PartyDto>, ApiError> {
    let party_id = id::<PartyId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PartyUpdate).await?;
    let party = Certifications(&app).replace(auth, party_id, None).await?;
    Ok(Json(PartyDto::from(&party)))
}

/// An agreement template.
#[derive(Serialize, ToSchema)]
pub struct TemplateDto {
    pub name: String,
    /// nda, ip_assignment or licence.
    pub kind: String,
    pub title: String,
    pub text: String,
    pub terms: TermsDto,
    /// Term of an agreement issued from it, in days; open-ended when absent.
    pub duration_days: Option<i64>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&AgreementTemplate> for TemplateDto {
    fn from(t: &AgreementTemplate) -> Self {
        TemplateDto {
            name: t.name.clone(),
            kind: t.kind.as_str().to_owned(),
            title: t.title.clone(),
            text: t.text.clone(),
            terms: TermsDto {
                field_of_use: t.terms.field_of_use.clone(),
                territories: t.terms.territories.clone(),
                permitted_actions: t.terms.permitted_actions.clone(),
            },
            duration_days: t.duration_days,
            created_by: t.created_by.to_string(),
            created_at: rfc3339(t.created_ms),
            updated_at: rfc3339(t.updated_ms),
        }
    }
}

/// The agreement templates.
#[derive(Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateDto>,
}

/// A template to write.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTemplate {
    /// nda, ip_assignment or licence.
    pub kind: String,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub terms: TermsDto,
    pub duration_days: Option<i64>,
}

/// The agreement templates (owner staff).
#[utoipa::path(get, path = "/agreement-templates", tag = "agreements", security(("bearer" = [])), responses((status = 200, body = TemplateList), (status = 403, body = ErrorBody)))]
pub async fn list_templates(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<TemplateList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::TemplateList).await?;
    let items = Agreements(&app).list_templates(auth).await?;
    Ok(Json(TemplateList {
        items: items.iter().map(TemplateDto::from).collect(),
    }))
}

/// Creates or replaces a template (admins); issued agreements keep their text.
#[utoipa::path(put, path = "/agreement-templates/{name}", request_body = PutTemplate, tag = "agreements", security(("bearer" = [])), params(("name" = String, Path)), responses((status = 200, body = TemplateDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_template(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(template): ApiPath<String>,
    ApiJson(req): ApiJson<PutTemplate>,
) -> Result<Json<TemplateDto>, ApiError> {
    let new = NewTemplate {
        name: template,
        kind: name(AgreementKind::parse, &req.kind)?,
        title: req.title,
        text: req.text,
        terms: AgreementTerms {
            field_of_use: req.terms.field_of_use,
            territories: req.terms.territories,
            permitted_actions: req.terms.permitted_actions,
        },
        duration_days: req.duration_days,
    };
    let auth = app.system(&meta, &a.principal, act::TemplateUpdate).await?;
    let t = Agreements(&app).put_template(auth, new).await?;
    Ok(Json(TemplateDto::from(&t)))
}

/// An agreement to issue from a template.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueFromTemplate {
    pub party_id: String,
    /// Default: now. The end follows from the template's duration.
    pub effective_at: Option<String>,
    /// Keep as a draft, not yet offered for signature.
    #[serde(default)]
    pub draft: bool,
}

/// Issues an agreement to a party from a template (admins).
#[utoipa::path(post, path = "/agreement-templates/{name}/issue", request_body = IssueFromTemplate, tag = "agreements", security(("bearer" = [])), params(("name" = String, Path)), responses((status = 201, body = AgreementDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn issue_from_template(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(template): ApiPath<String>,
    ApiJson(req): ApiJson<IssueFromTemplate>,
) -> Result<(StatusCode, Json<AgreementDto>), ApiError> {
    let party: PartyId = req.party_id.parse().map_err(|_| {
        ApiError::from(AppError::invalid(
            ErrorCode::UnknownParty,
            "`party_id` is not an id",
        ))
    })?;
    let effective = req
        .effective_at
        .as_deref()
        .map(|t| parse_rfc3339("effective_at", t))
        .transpose()?;
    let auth = app
        .system(&meta, &a.principal, act::AgreementCreate)
        .await?;
    let made = Agreements(&app)
        .issue_from_template(auth, party, &template, effective, req.draft)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AgreementDto::new(&made, app.now_ms())),
    ))
}

/// Offers a draft agreement for signature (admins).
#[utoipa::path(post, path = "/agreements/{id}/offer", tag = "agreements", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AgreementDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn offer_agreement(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AgreementDto>, ApiError> {
    let agreement_id = id::<AgreementId>(&raw)?;
    let auth = app
        .system(&meta, &a.principal, act::AgreementCreate)
        .await?;
    let made = Agreements(&app).offer_agreement(auth, agreement_id).await?;
    Ok(Json(AgreementDto::new(&made, app.now_ms())))
}

/// A message to the caller.
#[derive(Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    pub created_at: String,
    /// The event it is about, e.g. `agreement.expire`.
    pub kind: String,
    /// E.g. `agreement:<id>`.
    pub subject: String,
    pub message: String,
    pub read_at: Option<String>,
}

impl From<&Notification> for NotificationDto {
    fn from(n: &Notification) -> Self {
        NotificationDto {
            id: n.id.to_string(),
            created_at: rfc3339(n.created_ms),
            kind: n.kind.clone(),
            subject: n.subject.clone(),
            message: n.message.clone(),
            read_at: n.read_ms.map(rfc3339),
        }
    }
}

/// The caller's notifications, newest first.
#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationDto>,
}

/// Which notifications to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only those not yet read.
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notifications (the newest 200).
#[utoipa::path(get, path = "/notifications", tag = "auth", security(("bearer" = [])), params(NotificationQuery), responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)))]
pub async fn list_notifications(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<NotificationList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::Notifications).await?;
    let items = Agreements(&app).notifications(auth, q.unread).await?;
    Ok(Json(NotificationList {
        items: items.iter().map(NotificationDto::from).collect(),
    }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "auth", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read_notification(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let notification_id = id::<NotificationId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::Notifications).await?;
    Agreements(&app)
        .read_notification(auth, notification_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
