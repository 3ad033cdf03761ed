//! Due diligence over the API: questionnaire templates (admins write new
//! versions), sending one to a party's contact, the contact's answers and
//! replies, the reviewer's follow-ups and sign-off, and the sharing risk
//! matrix with the re-assessment periods. Templates, answers and the matrix
//! travel as the JSON forms of `model::diligence` (docs/due-diligence.md).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, AppError, AssessmentView, Assessments, ErrorCode, act};
use model::diligence::{RiskSettings, RiskTier, TemplateBody};
use model::{AssessmentId, PartyId, QuestionnaireId, UserId};

use super::{id, name};
use crate::auth::{Authed, Meta};
use crate::dto::rfc3339;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// A questionnaire template version to store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveQuestionnaire {
    /// 1 to 64 of `a-z`, `0-9`, `-`; a name already used gets a new version.
    pub name: String,
    pub title: String,
    /// `sections` (each a `title` and `questions`) and `thresholds`
    /// (`low`, `medium`, `high`: the least score of each tier).
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// One questionnaire template version.
#[derive(Serialize, ToSchema)]
pub struct QuestionnaireDto {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub title: String,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
}

/// Questionnaire template versions, by name then newest first.
#[derive(Serialize, ToSchema)]
pub struct QuestionnaireList {
    pub items: Vec<QuestionnaireDto>,
}

fn questionnaire(q: &model::diligence::Questionnaire) -> QuestionnaireDto {
    QuestionnaireDto {
        id: q.id.to_string(),
        name: q.name.clone(),
        version: q.version,
        title: q.title.clone(),
        body: serde_json::to_value(&q.body).unwrap_or_default(),
        created_by: q.created_by.to_string(),
        created_at: rfc3339(q.created_ms),
    }
}

/// Sending a questionnaire version to a user of the party.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendQuestionnaire {
    pub questionnaire_id: String,
    pub contact_id: String,
}

/// An assessment with the computed score and tier of its answers now.
#[derive(Serialize, ToSchema)]
pub struct AssessmentDto {
    /// The assessment: answers, follow-ups, status, decision.
    #[schema(value_type = Object)]
    pub assessment: serde_json::Value,
    pub questionnaire: QuestionnaireDto,
    /// `score`, `max_score`, `score_tier`, `knock_outs`, `tier`.
    #[schema(value_type = Object)]
    pub scored: serde_json::Value,
}

/// Assessments, newest first.
#[derive(Serialize, ToSchema)]
pub struct AssessmentList {
    pub items: Vec<AssessmentDto>,
}

fn assessment(v: &AssessmentView) -> AssessmentDto {
    AssessmentDto {
        assessment: serde_json::to_value(&v.assessment).unwrap_or_default(),
        questionnaire: questionnaire(&v.questionnaire),
        scored: serde_json::to_value(&v.scored).unwrap_or_default(),
    }
}

/// The contact's answers: question key → answer (`yes`/`no`, a choice, text,
/// a number, `YYYY-MM-DD`, or a file id); an empty answer clears one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub answers: BTreeMap<String, String>,
    /// Submit for review (every required question answered) or save a draft.
    #[serde(default)]
    pub submit: bool,
}

/// The contact's reply to a follow-up, optionally replacing the answer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub index: usize,
    pub reply: String,
    pub remediation: Option<String>,
}

/// A reviewer's follow-up question about one answer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpBody {
    pub key: String,
    pub question: String,
}

/// A reviewer's sign-off.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// low, medium, high or critical.
    pub tier: String,
    pub reasons: String,
}

/// The sharing risk matrix (`cells`: classification × tier or `unassessed`
/// → `verdict` and `controls`) and the re-assessment period of each tier in days.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskDto {
    #[schema(value_type = Object)]
    pub matrix: serde_json::Value,
    #[schema(value_type = Object)]
    pub periods: serde_json::Value,
}

fn risk(s: &RiskSettings) -> RiskDto {
    RiskDto {
        matrix: serde_json::to_value(&s.matrix).unwrap_or_default(),
        periods: serde_json::to_value(s.periods).unwrap_or_default(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    code: ErrorCode,
    v: serde_json::Value,
) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::from(AppError::invalid(code, format!("{e}"))))
}

/// Every questionnaire template version (owner staff).
#[utoipa::path(get, path = "/questionnaires", tag = "due diligence", security(("bearer" = [])), responses((status = 200, body = QuestionnaireList), (status = 403, body = ErrorBody)))]
pub async fn list_questionnaires(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<QuestionnaireList>, ApiError> {
    let auth = app
        .system(&meta, &a.principal, act::QuestionnaireList)
        .await?;
    let list = Assessments(&app).list_questionnaires(auth).await?;
    Ok(Json(QuestionnaireList {
        items: list.iter().map(questionnaire).collect(),
    }))
}

/// Stores a new version of a questionnaire template (admins).
#[utoipa::path(post, path = "/questionnaires", request_body = SaveQuestionnaire, tag = "due diligence", security(("bearer" = [])), responses((status = 201, body = QuestionnaireDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn save_questionnaire(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<SaveQuestionnaire>,
) -> Result<(StatusCode, Json<QuestionnaireDto>), ApiError> {
    let body: TemplateBody = parse(ErrorCode::InvalidQuestionnaire, req.body)?;
    let auth = app
        .system(&meta, &a.principal, act::QuestionnaireUpdate)
        .await?;
    let q = Assessments(&app)
        .save_questionnaire(auth, &req.name, &req.title, body)
        .await?;
    Ok((StatusCode::CREATED, Json(questionnaire(&q))))
}

/// One questionnaire template version (owner staff).
#[utoipa::path(get, path = "/questionnaires/{id}", tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = QuestionnaireDto), (status = 404, body = ErrorBody)))]
pub async fn get_questionnaire(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<QuestionnaireDto>, ApiError> {
    let qid = id::<QuestionnaireId>(&raw)?;
    let auth = app
        .system(&meta, &a.principal, act::QuestionnaireList)
        .await?;
    let q = Assessments(&app).get_questionnaire(auth, qid).await?;
    Ok(Json(questionnaire(&q)))
}

/// Sends a questionnaire version to a user of the party (admins); the
/// party's evidence room is made with the first.
#[utoipa::path(post, path = "/parties/{id}/assessments", request_body = SendQuestionnaire, tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 201, body = AssessmentDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send_questionnaire(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<SendQuestionnaire>,
) -> Result<(StatusCode, Json<AssessmentDto>), ApiError> {
    let party = id::<PartyId>(&raw)?;
    let unknown = |what: ErrorCode, v: &str| {
        ApiError::from(AppError::invalid(
            what,
            format!("`{}` is not an id", v.chars().take(64).collect::<String>()),
        ))
    };
    let q: QuestionnaireId = req
        .questionnaire_id
        .parse()
        .map_err(|_| unknown(ErrorCode::UnknownQuestionnaire, &req.questionnaire_id))?;
    let contact: UserId = req
        .contact_id
        .parse()
        .map_err(|_| unknown(ErrorCode::InvalidContact, &req.contact_id))?;
    let auth = app.system(&meta, &a.principal, act::AssessmentSend).await?;
    let sent = Assessments(&app).send(auth, party, q, contact).await?;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentReview)
        .await?;
    let views = Assessments(&app).of_party(auth).await?;
    let view = views
        .iter()
        .find(|v| v.assessment.id == sent.id)
        .ok_or_else(|| ApiError::from(AppError::internal("sent assessment not found")))?;
    Ok((StatusCode::CREATED, Json(assessment(view))))
}

/// A party's assessments with their scores (owner admins and security officers).
#[utoipa::path(get, path = "/parties/{id}/assessments", tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AssessmentList), (status = 404, body = ErrorBody)))]
pub async fn party_assessments(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<AssessmentList>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentReview)
        .await?;
    let views = Assessments(&app).of_party(auth).await?;
    Ok(Json(AssessmentList {
        items: views.iter().map(assessment).collect(),
    }))
}

/// The questionnaires sent to the caller as its party's contact.
#[utoipa::path(get, path = "/assessments/mine", tag = "due diligence", security(("bearer" = [])), responses((status = 200, body = AssessmentList), (status = 403, body = ErrorBody)))]
pub async fn my_assessments(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<AssessmentList>, ApiError> {
    let party = a.principal.party_id;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentAnswer)
        .await?;
    let views = Assessments(&app).of_party(auth).await?;
    Ok(Json(AssessmentList {
        items: views.iter().map(assessment).collect(),
    }))
}

/// The contact saves draft answers or submits them.
#[utoipa::path(put, path = "/assessments/{id}/answers", request_body = AnswerBody, tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Object, description = "the assessment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn answer(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AnswerBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let aid = id::<AssessmentId>(&raw)?;
    let party = a.principal.party_id;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentAnswer)
        .await?;
    let done = Assessments(&app)
        .answer(auth, aid, req.answers, req.submit)
        .await?;
    Ok(Json(serde_json::to_value(&done).unwrap_or_default()))
}

/// The contact replies to a follow-up, optionally with a remediation answer.
#[utoipa::path(post, path = "/assessments/{id}/replies", request_body = ReplyBody, tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Object, description = "the assessment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reply(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<ReplyBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let aid = id::<AssessmentId>(&raw)?;
    let party = a.principal.party_id;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentAnswer)
        .await?;
    let done = Assessments(&app)
        .reply(auth, aid, req.index, &req.reply, req.remediation.as_deref())
        .await?;
    Ok(Json(serde_json::to_value(&done).unwrap_or_default()))
}

/// A reviewer asks a follow-up question about one answer.
#[utoipa::path(post, path = "/parties/{id}/assessments/{assessment}/follow-ups", request_body = FollowUpBody, tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path), ("assessment" = String, Path)), responses((status = 200, body = Object, description = "the assessment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn follow_up(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, raw_a)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<FollowUpBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let aid = id::<AssessmentId>(&raw_a)?;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentReview)
        .await?;
    let done = Assessments(&app)
        .follow_up(auth, aid, &req.key, &req.question)
        .await?;
    Ok(Json(serde_json::to_value(&done).unwrap_or_default()))
}

/// A reviewer signs off an assessment with a decided tier and reasons.
#[utoipa::path(post, path = "/parties/{id}/assessments/{assessment}/decision", request_body = DecisionBody, tag = "due diligence", security(("bearer" = [])), params(("id" = String, Path), ("assessment" = String, Path)), responses((status = 200, body = Object, description = "the assessment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, raw_a)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<DecisionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let party = id::<PartyId>(&raw)?;
    let aid = id::<AssessmentId>(&raw_a)?;
    let tier = name(RiskTier::parse, &req.tier)?;
    let auth = app
        .party(&meta, &a.principal, party, act::AssessmentReview)
        .await?;
    let done = Assessments(&app)
        .decide(auth, aid, tier, &req.reasons)
        .await?;
    Ok(Json(serde_json::to_value(&done).unwrap_or_default()))
}

/// The sharing risk matrix and re-assessment periods (owner staff).
#[utoipa::path(get, path = "/risk", tag = "due diligence", security(("bearer" = [])), responses((status = 200, body = RiskDto), (status = 403, body = ErrorBody)))]
pub async fn get_risk(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<RiskDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::RiskRead).await?;
    Ok(Json(risk(&Assessments(&app).risk_settings(auth))))
}

/// Replaces the sharing risk matrix and re-assessment periods (admins).
#[utoipa::path(put, path = "/risk", request_body = RiskDto, tag = "due diligence", security(("bearer" = [])), responses((status = 200, body = RiskDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_risk(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<RiskDto>,
) -> Result<Json<RiskDto>, ApiError> {
    let settings = RiskSettings {
        matrix: parse(ErrorCode::InvalidRiskSettings, req.matrix)?,
        periods: parse(ErrorCode::InvalidRiskSettings, req.periods)?,
    };
    let auth = app.system(&meta, &a.principal, act::RiskUpdate).await?;
    let done = Assessments(&app).set_risk_settings(auth, settings).await?;
    Ok(Json(risk(&done)))
}
