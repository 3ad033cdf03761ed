//! Access-review campaigns (docs/reviews.md): made and reported on by the
//! owner's admins and security officers; decided by the reviewers each grant
//! names. The report exports as CSV and as an evidence bundle of the
//! campaign's events that `custody ledger verify --bundle` checks offline.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::ledger::Bundle;
use app::{App, Audit, CampaignSummary, CampaignView, NewCampaign, ReviewRow, Reviews, act};
use model::{GrantId, ReviewDecision, ReviewId, ReviewScopeKind, Unreviewed, UserId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A campaign and how far its review got.
#[derive(Serialize, ToSchema)]
pub struct CampaignDto {
    pub id: String,
    pub name: String,
    /// `external`, `party`, `room` or `classification`.
    pub scope: String,
    /// The party id, room id or classification the scope names.
    pub scope_value: Option<String>,
    /// The scope in words.
    pub scope_label: String,
    pub room_managers: bool,
    pub sponsors: bool,
    /// User ids of the named staff reviewers.
    pub staff: Vec<String>,
    pub fallback: String,
    pub starts_at: String,
    pub due_at: String,
    /// At the due date, grants nobody reviewed are: `remove`d, `keep`t or kept and `flag`ged.
    pub unreviewed: String,
    /// The next campaign starts this many days after this one (none: once).
    pub every_days: Option<i64>,
    /// `scheduled`, `open` or `applied`.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub applied_at: Option<String>,
    pub grants: usize,
    pub decided: usize,
    /// Grants the caller reviews and has not decided yet.
    pub pending_for_caller: usize,
}

impl From<&CampaignSummary> for CampaignDto {
    fn from(s: &CampaignSummary) -> Self {
        let c = &s.campaign;
        CampaignDto {
            id: c.id.to_string(),
            name: c.name.clone(),
            scope: c.scope.as_str().into(),
            scope_value: c.scope_value.clone(),
            scope_label: s.scope_label.clone(),
            room_managers: c.room_managers,
            sponsors: c.sponsors,
            staff: c.staff.iter().map(ToString::to_string).collect(),
            fallback: c.fallback.to_string(),
            starts_at: rfc3339(c.starts_ms),
            due_at: rfc3339(c.due_ms),
            unreviewed: c.unreviewed.as_str().into(),
            every_days: c.every_days,
            status: c.status.as_str().into(),
            created_by: c.created_by.to_string(),
            created_at: rfc3339(c.created_ms),
            applied_at: c.applied_ms.map(rfc3339),
            grants: s.grants,
            decided: s.decided,
            pending_for_caller: s.pending_for_caller,
        }
    }
}

/// Campaigns, newest start first.
#[derive(Serialize, ToSchema)]
pub struct CampaignList {
    pub items: Vec<CampaignDto>,
}

/// One grant under review, with its decision and the decision helpers.
#[derive(Serialize, ToSchema)]
pub struct ReviewRowDto {
    pub grant: String,
    pub room: String,
    pub room_name: String,
    pub classification: String,
    /// `user` or `party`, and its id.
    pub subject_kind: String,
    pub subject: String,
    /// The user's name and e-mail, or the party's name.
    pub subject_label: String,
    pub party: Option<String>,
    pub party_name: String,
    pub party_status: Option<String>,
    /// The party's risk tier, and until when it is in term.
    pub tier: Option<String>,
    pub tier_until: Option<String>,
    pub role: String,
    pub reviewers: Vec<String>,
    pub reviewer_labels: Vec<String>,
    /// The subject's last allowed event on the room or its files.
    pub last_access: Option<String>,
    /// Allowed downloads and page views since `activity_since`.
    pub downloads: i64,
    pub views: i64,
    pub activity_since: String,
    /// The party's agreements in force: title and end.
    pub agreements: Vec<TitledEnd>,
    /// The party's verified certificates in term: title and end.
    pub certifications: Vec<TitledEnd>,
    /// The user's security training end.
    pub training_until: Option<String>,
    /// `confirm` or `revoke`, by whom, when, why.
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_by_label: Option<String>,
    pub decided_at: Option<String>,
    pub justification: Option<String>,
    /// At the due date: `kept`, `ended`, `flagged` or `gone`.
    pub outcome: Option<String>,
    /// Whether the caller may decide it now.
    pub caller_decides: bool,
}

/// A title and an end.
#[derive(Serialize, ToSchema)]
pub struct TitledEnd {
    pub title: String,
    pub until: Option<String>,
}

impl From<&ReviewRow> for ReviewRowDto {
    fn from(r: &ReviewRow) -> Self {
        let i = &r.item;
        ReviewRowDto {
            grant: i.grant_id.to_string(),
            room: i.room_id.to_string(),
            room_name: r.room_name.clone(),
            classification: r.room_classification.as_str().into(),
            subject_kind: i.subject_kind.as_str().into(),
            subject: i.subject_id.to_string(),
            subject_label: r.subject_label.clone(),
            party: r.party_id.map(|p| p.to_string()),
            party_name: r.party_name.clone(),
            party_status: r.party_status.map(|s| s.as_str().into()),
            tier: r.tier.map(|t| t.as_str().into()),
            tier_until: r.tier_until_ms.map(rfc3339),
            role: i.role.as_str().into(),
            reviewers: i.reviewers.iter().map(ToString::to_string).collect(),
            reviewer_labels: r.reviewer_labels.clone(),
            last_access: r.last_access_ms.map(rfc3339),
            downloads: r.downloads,
            views: r.views,
            activity_since: rfc3339(r.activity_since_ms),
            agreements: r
                .agreements
                .iter()
                .map(|(title, end)| TitledEnd {
                    title: title.clone(),
                    until: end.map(rfc3339),
                })
                .collect(),
            certifications: r
                .certifications
                .iter()
                .map(|(title, end)| TitledEnd {
                    title: title.clone(),
                    until: Some(rfc3339(*end)),
                })
                .collect(),
            training_until: r.training_until_ms.map(rfc3339),
            decision: i.decision.map(|d| d.as_str().into()),
            decided_by: i.decided_by.map(|u| u.to_string()),
            decided_by_label: r.decided_by_label.clone(),
            decided_at: i.decided_ms.map(rfc3339),
            justification: i.justification.clone(),
            outcome: i.outcome.map(|o| o.as_str().into()),
            caller_decides: r.caller_decides,
        }
    }
}

/// A campaign with the grants the caller sees in it.
#[derive(Serialize, ToSchema)]
pub struct CampaignReport {
    pub campaign: CampaignDto,
    pub fallback_label: String,
    pub staff_labels: Vec<String>,
    pub items: Vec<ReviewRowDto>,
}

impl From<&CampaignView> for CampaignReport {
    fn from(v: &CampaignView) -> Self {
        CampaignReport {
            campaign: CampaignDto::from(&v.summary),
            fallback_label: v.fallback_label.clone(),
            staff_labels: v.staff_labels.clone(),
            items: v.rows.iter().map(ReviewRowDto::from).collect(),
        }
    }
}

/// A campaign to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaignDto {
    /// One line, 1 to 200 characters.
    pub name: String,
    /// `external` (every grant to an external party or its users), `party`,
    /// `room` or `classification`.
    pub scope: String,
    /// The party id, room id or classification the scope names (none for `external`).
    #[serde(default)]
    pub scope_value: Option<String>,
    /// Each room's managers on the owner's side review its grants (default true).
    #[serde(default = "yes")]
    pub room_managers: bool,
    /// Each party's sponsor reviews the grants to it and its users (default true).
    #[serde(default = "yes")]
    pub sponsors: bool,
    /// User ids of staff who review every grant of the campaign.
    #[serde(default)]
    pub staff: Vec<String>,
    /// The user id of who reviews a grant no one else would.
    pub fallback: String,
    /// RFC 3339; default now (the campaign opens at once).
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339, after the start and in the future.
    pub due_at: String,
    /// `remove` (default), `keep` or `flag`.
    #[serde(default)]
    pub unreviewed: Option<String>,
    /// Recur every this many days (1 to 3660); none: once.
    #[serde(default)]
    pub every_days: Option<i64>,
}

fn yes() -> bool {
    true
}

/// A reviewer's decision on one grant or many.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionDto {
    /// Grant ids under review in the campaign that the caller reviews.
    pub grants: Vec<String>,
    /// `confirm` or `revoke`.
    pub decision: String,
    /// One line, 1 to 500 characters.
    pub justification: String,
}

/// How many grants were decided.
#[derive(Serialize, ToSchema)]
pub struct Decided {
    pub decided: usize,
}

fn user_id(raw: &str) -> Result<UserId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::from(app::AppError::invalid(
            model::ErrorCode::InvalidCampaign,
            format!("`{raw}` is not a user id"),
        ))
    })
}

/// Every access-review campaign (admins, security officers).
#[utoipa::path(get, path = "/reviews", tag = "reviews", security(("bearer" = [])), responses((status = 200, body = CampaignList), (status = 403, body = ErrorBody)))]
pub async fn list_reviews(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<CampaignList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::ReviewManage).await?;
    let all = Reviews(&app).list(auth).await?;
    Ok(Json(CampaignList {
        items: all.iter().map(CampaignDto::from).collect(),
    }))
}

/// Makes a campaign (admins, security officers); one whose start has come
/// opens at once: its grants gathered, its reviewers told.
#[utoipa::path(post, path = "/reviews", tag = "reviews", security(("bearer" = [])), request_body = NewCampaignDto, responses((status = 201, body = CampaignDto), (status = 400, body = ErrorBody, description = "invalid_campaign, invalid_time, unknown_name"), (status = 403, body = ErrorBody)))]
pub async fn create_review(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<NewCampaignDto>,
) -> Result<(StatusCode, Json<CampaignDto>), ApiError> {
    let new = NewCampaign {
        name: req.name,
        scope: name(ReviewScopeKind::parse, &req.scope)?,
        scope_value: req.scope_value,
        room_managers: req.room_managers,
        sponsors: req.sponsors,
        staff: req
            .staff
            .iter()
            .map(|s| user_id(s))
            .collect::<Result<_, _>>()?,
        fallback: user_id(&req.fallback)?,
        starts_ms: match req.starts_at.as_deref() {
            Some(t) => parse_rfc3339("starts_at", t)?,
            None => app.now(),
        },
        due_ms: parse_rfc3339("due_at", &req.due_at)?,
        unreviewed: match req.unreviewed.as_deref() {
            Some(u) => name(Unreviewed::parse, u)?,
            None => Unreviewed::Remove,
        },
        every_days: req.every_days,
    };
    let auth = app.system(&meta, &a.principal, act::ReviewManage).await?;
    let made = Reviews(&app).create(auth, new).await?;
    Ok((StatusCode::CREATED, Json(CampaignDto::from(&made))))
}

/// The open campaigns in which the caller reviews grants.
#[utoipa::path(get, path = "/reviews/assigned", tag = "reviews", security(("bearer" = [])), responses((status = 200, body = CampaignList), (status = 403, body = ErrorBody)))]
pub async fn assigned_reviews(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<CampaignList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::ReviewDecide).await?;
    let mine = Reviews(&app).assigned(auth).await?;
    Ok(Json(CampaignList {
        items: mine.iter().map(CampaignDto::from).collect(),
    }))
}

/// The campaign's report: every grant, decision, reviewer, time,
/// justification and outcome, with the decision helpers (admins, security
/// officers).
#[utoipa::path(get, path = "/reviews/{id}", tag = "reviews", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CampaignReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_review(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CampaignReport>, ApiError> {
    let review = id::<ReviewId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ReviewManage).await?;
    let view = Reviews(&app).report(auth, review).await?;
    Ok(Json(CampaignReport::from(&view)))
}

/// The grants of a campaign the caller reviews, with the decision helpers.
#[utoipa::path(get, path = "/reviews/{id}/mine", tag = "reviews", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = CampaignReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn my_review(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<CampaignReport>, ApiError> {
    let review = id::<ReviewId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ReviewDecide).await?;
    let view = Reviews(&app).for_reviewer(auth, review).await?;
    Ok(Json(CampaignReport::from(&view)))
}

/// Confirms or revokes grants under review, with one justification (the
/// grants' reviewers; one or many at once, all or none). A later decision
/// replaces an earlier one until the due date.
#[utoipa::path(post, path = "/reviews/{id}/decisions", tag = "reviews", security(("bearer" = [])), params(("id" = String, Path)), request_body = DecisionDto, responses((status = 200, body = Decided), (status = 400, body = ErrorBody, description = "bad_justification_text, not_under_review, unknown_name"), (status = 403, body = ErrorBody, description = "not_reviewer"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "review_closed")))]
pub async fn decide_review(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<DecisionDto>,
) -> Result<Json<Decided>, ApiError> {
    let review = id::<ReviewId>(&raw)?;
    let decision = name(ReviewDecision::parse, &req.decision)?;
    let grants = req
        .grants
        .iter()
        .map(|g| {
            g.parse::<GrantId>().map_err(|_| {
                ApiError::from(app::AppError::invalid(
                    model::ErrorCode::NotUnderReview,
                    format!("`{g}` is not a grant id"),
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let auth = app.system(&meta, &a.principal, act::ReviewDecide).await?;
    let decided = Reviews(&app)
        .decide(auth, review, &grants, decision, &req.justification)
        .await?;
    Ok(Json(Decided { decided }))
}

/// The campaign's report as CSV (RFC 4180; a cell a spreadsheet would run
/// as a formula starts with `'`).
#[utoipa::path(get, path = "/reviews/{id}/report.csv", tag = "reviews", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_csv(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Response, ApiError> {
    let review = id::<ReviewId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::ReviewManage).await?;
    let view = Reviews(&app).report(auth, review).await?;
    Ok(csv_response(&view))
}

/// The CSV of a report, as a download.
pub(crate) fn csv_response(view: &CampaignView) -> Response {
    let mut resp = app::report_csv(view).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!(
        "attachment; filename=\"access-review-{}.csv\"",
        view.summary.campaign.id
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The campaign's evidence bundle: every event of the campaign (made,
/// opened, each decision, each grant's outcome, applied) with its inclusion
/// proof against a freshly signed checkpoint (admins, security officers, who
/// may also read events). `custody ledger verify --bundle` checks it offline.
#[utoipa::path(get, path = "/reviews/{id}/bundle", tag = "reviews", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_bundle(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Bundle>, ApiError> {
    let review = id::<ReviewId>(&raw)?;
    Ok(Json(bundle(&app, &meta, &a.principal, review).await?))
}

/// The evidence bundle of a campaign's events.
pub(crate) async fn bundle(
    app: &App,
    meta: &app::RequestMeta,
    p: &app::authz::Principal,
    review: ReviewId,
) -> Result<Bundle, app::AppError> {
    let auth = app.system(meta, p, act::ReviewManage).await?;
    // The campaign must exist (and the caller may report on it).
    Reviews(app).campaign(auth, review).await?;
    let auth = app.system(meta, p, act::EventRead).await?;
    let filter = app::events::EventFilter {
        target: Some(format!("review:{review}")),
        limit: i64::try_from(app::ledger::MAX_ENTRIES).unwrap_or(i64::MAX),
        ..Default::default()
    };
    Audit(app).ledger_bundle(auth, filter).await
}
