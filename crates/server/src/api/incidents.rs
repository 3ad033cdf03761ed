//! Incident cases (docs/incidents.md): opened from an alert, a trace, a DLP
//! event or by hand by the owner's security officers and admins, who run them
//! through the nine stages to the lessons learned; reported by anyone
//! (`POST /leak-reports`); exported as an evidence bundle that
//! `custody ledger verify --bundle` accepts offline.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::ledger::Bundle;
use app::{
    App, ErrorCode, IncidentView, Incidents, MessageTemplate, NewIncident, TraceResult, act,
};
use model::*;

use super::{filter_id, id, name};
use crate::auth::{Authed, Meta};
use crate::dto::{EventDto, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::limited;

/// One entry of a case: a note, a task, an action taken, a trace result…
#[derive(Serialize, ToSchema)]
pub struct IncidentEntryDto {
    pub id: String,
    /// The stage it was made at.
    pub stage: String,
    /// `note`, `task`, `containment`, `trace`, `hold`, `notification`,
    /// `message`, `stage`, `owner`, `assessment`.
    pub kind: String,
    pub text: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub author: String,
    pub created_at: String,
    /// A task's assignee (e-mail).
    pub assignee: Option<String>,
    /// When a task was done.
    pub done_at: Option<String>,
}

/// A stage's owner.
#[derive(Serialize, ToSchema)]
pub struct StageOwnerDto {
    pub stage: String,
    pub user_id: String,
    pub email: String,
}

/// An incident case.
#[derive(Serialize, ToSchema)]
pub struct IncidentDto {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// `alert`, `trace`, `dlp`, `report`, `manual`.
    pub source: String,
    /// What the source names: an alert's id, an event's seq, the reporter's id.
    pub source_ref: Option<String>,
    /// One of the nine stages (`identification` … `lessons_learned`).
    pub stage: String,
    /// `low`, `medium`, `high`, `critical`, once assessed.
    pub severity: Option<String>,
    pub category: Option<String>,
    pub opened_by: String,
    pub opened_at: String,
    pub party_id: Option<String>,
    pub user_id: Option<String>,
    pub room_id: Option<String>,
    /// The legal clock: notification due by, and when it was made.
    pub notify_due_at: Option<String>,
    pub notified_at: Option<String>,
    /// The legal holds the case set.
    pub holds: Vec<String>,
    pub closed_at: Option<String>,
    pub lessons: Option<String>,
    /// In a single case's answer: each stage's owner and the entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Vec<StageOwnerDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<IncidentEntryDto>>,
}

impl From<&Incident> for IncidentDto {
    fn from(i: &Incident) -> Self {
        IncidentDto {
            id: i.id.to_string(),
            title: i.title.clone(),
            summary: i.summary.clone(),
            source: i.source.as_str().into(),
            source_ref: i.source_ref.clone(),
            stage: i.stage.as_str().into(),
            severity: i.severity.map(|s| s.as_str().into()),
            category: i.category.map(|c| c.as_str().into()),
            opened_by: i.opened_by.to_string(),
            opened_at: rfc3339(i.opened_ms),
            party_id: i.party_id.map(|p| p.to_string()),
            user_id: i.user_id.map(|u| u.to_string()),
            room_id: i.room_id.map(|r| r.to_string()),
            notify_due_at: i.notify_due_ms.map(rfc3339),
            notified_at: i.notified_ms.map(rfc3339),
            holds: i.holds.clone(),
            closed_at: i.closed_ms.map(rfc3339),
            lessons: i.lessons.clone(),
            owners: None,
            entries: None,
        }
    }
}

impl From<&IncidentView> for IncidentDto {
    fn from(v: &IncidentView) -> Self {
        let mut dto = IncidentDto::from(&v.incident);
        dto.owners = Some(
            v.owners
                .iter()
                .map(|(stage, u)| StageOwnerDto {
                    stage: stage.as_str().into(),
                    user_id: u.to_string(),
                    email: v.name_of(*u),
                })
                .collect(),
        );
        dto.entries = Some(
            v.entries
                .iter()
                .map(|e| IncidentEntryDto {
                    id: e.id.to_string(),
                    stage: e.stage.as_str().into(),
                    kind: e.kind.as_str().into(),
                    text: e.body.clone(),
                    detail: e.detail.clone(),
                    author: v.name_of(e.author),
                    created_at: rfc3339(e.created_ms),
                    assignee: e.assignee.map(|a| v.name_of(a)),
                    done_at: e.done_ms.map(rfc3339),
                })
                .collect(),
        );
        dto
    }
}

/// Incident cases, newest first.
#[derive(Serialize, ToSchema)]
pub struct IncidentList {
    pub items: Vec<IncidentDto>,
}

/// Which cases to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// Only the open ones.
    pub open: Option<bool>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// A new case: from an alert (`alert_id`), or by hand (`title`, `summary`
/// and whom it is about).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentDto {
    pub alert_id: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// `manual` (default), `trace` or `dlp`.
    pub source: Option<String>,
    /// What the source names (a mark id, an event's seq).
    pub source_ref: Option<String>,
    pub party_id: Option<String>,
    pub user_id: Option<String>,
    pub room_id: Option<String>,
}

/// Opens a case (security officers, admins); the owner's security officers
/// are told. From an alert already opened as a case, that case.
#[utoipa::path(post, path = "/incidents", tag = "incidents", security(("bearer" = [])), request_body = NewIncidentDto, responses((status = 201, body = IncidentDto), (status = 400, body = ErrorBody, description = "bad_incident_text, unknown_name"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn open_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<NewIncidentDto>,
) -> Result<(StatusCode, Json<IncidentDto>), ApiError> {
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    let case = if let Some(alert) = req.alert_id.as_deref() {
        Incidents(&app)
            .open_from_alert(auth, id::<AlertId>(alert)?)
            .await?
    } else {
        let source = match req.source.as_deref() {
            None | Some("manual") => IncidentSource::Manual,
            Some("trace") => IncidentSource::Trace,
            Some("dlp") => IncidentSource::Dlp,
            Some(other) => {
                return Err(ApiError::new(
                    ErrorCode::UnknownName,
                    format!(
                        "unknown incident source `{}`: manual, trace or dlp (alerts by `alert_id`, reports by /leak-reports)",
                        other.chars().take(64).collect::<String>()
                    ),
                ));
            }
        };
        let new = NewIncident {
            title: req.title.unwrap_or_default(),
            summary: req.summary.unwrap_or_default(),
            party: filter_id("party_id", req.party_id.as_deref())?,
            user: filter_id("user_id", req.user_id.as_deref())?,
            room: filter_id("room_id", req.room_id.as_deref())?,
        };
        Incidents(&app)
            .open(auth, new, source, req.source_ref)
            .await?
    };
    Ok((StatusCode::CREATED, Json(IncidentDto::from(&case))))
}

/// Incident cases, newest first (security officers, admins).
#[utoipa::path(get, path = "/incidents", tag = "incidents", security(("bearer" = [])), params(IncidentQuery), responses((status = 200, body = IncidentList), (status = 403, body = ErrorBody)))]
pub async fn list_incidents(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<IncidentQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    let cases = Incidents(&app)
        .list(auth, q.open.unwrap_or(false), q.limit.unwrap_or(100))
        .await?;
    Ok(Json(IncidentList {
        items: cases.iter().map(IncidentDto::from).collect(),
    }))
}

/// One case with its stage owners and entries (security officers, admins).
#[utoipa::path(get, path = "/incidents/{id}", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = IncidentDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    let view = Incidents(&app).get(auth, case).await?;
    Ok(Json(IncidentDto::from(&view)))
}

/// The answer of a change: the case as it stands.
async fn view(
    app: &App,
    meta: &app::RequestMeta,
    a: &Authed,
    case: IncidentId,
) -> Result<Json<IncidentDto>, ApiError> {
    let auth = app.system(meta, &a.principal, act::IncidentRead).await?;
    let view = Incidents(app).get(auth, case).await?;
    Ok(Json(IncidentDto::from(&view)))
}

/// An assessment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentDto {
    /// `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// `leak`, `exfiltration`, `account_compromise`, `unauthorised_access`,
    /// `policy_violation`, `other`.
    pub category: String,
}

/// Assesses and classifies a case (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/assessment", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = AssessmentDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "unknown_name"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn assess_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<AssessmentDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let severity = name(IncidentSeverity::parse, &req.severity)?;
    let category = name(IncidentCategory::parse, &req.category)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app)
        .assess(auth, case, severity, category)
        .await?;
    view(&app, &meta, &a, case).await
}

/// A stage to move to, and its owner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDto {
    /// `identification`, `response_team`, `assessment`, `containment`,
    /// `investigation`, `legal`, `communication`, `remediation` (the case is
    /// closed with its lessons learned by `/close`).
    pub stage: String,
    /// The stage's owner: an active user of the owner's party.
    pub owner_id: Option<String>,
}

/// Moves a case to a stage and sets the stage's owner (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/stage", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = StageDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "unknown_name, not_staff"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn set_incident_stage(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<StageDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let stage = name(IncidentStage::parse, &req.stage)?;
    if stage == IncidentStage::LessonsLearned {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "the lessons learned close the case: POST /incidents/{id}/close",
        ));
    }
    let owner = staff_id(req.owner_id.as_deref())?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).set_stage(auth, case, stage, owner).await?;
    view(&app, &meta, &a, case).await
}

/// A user id that must name a member of the owner's staff (`not_staff` when malformed).
fn staff_id(raw: Option<&str>) -> Result<Option<UserId>, ApiError> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => r.parse().map(Some).map_err(|_| {
            ApiError::new(
                ErrorCode::NotStaff,
                "name an active user of the owner's party",
            )
        }),
    }
}

/// A note or a task.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryDto {
    /// `note` or `task`.
    pub kind: String,
    /// 1 to 10000 characters.
    pub text: String,
    /// A task's assignee: an active user of the owner's party (told).
    pub assignee_id: Option<String>,
}

/// Adds a note or a task to a case at its stage (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/entries", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = EntryDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "bad_incident_text, unknown_name, not_staff"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn add_incident_entry(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<EntryDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let task = match req.kind.as_str() {
        "note" => false,
        "task" => true,
        other => {
            return Err(ApiError::from(app::AppError::from(UnknownName {
                kind: "incident entry kind",
                value: other.chars().take(64).collect(),
            })));
        }
    };
    let assignee = staff_id(req.assignee_id.as_deref())?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app)
        .add_note(auth, case, &req.text, task, assignee)
        .await?;
    view(&app, &meta, &a, case).await
}

/// Marks a task of a case done (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/tasks/{task}/done", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path), ("task" = String, Path)), responses((status = 200, body = IncidentDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn finish_incident_task(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath((raw, task)): ApiPath<(String, String)>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let task = id::<IncidentEntryId>(&task)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).finish_task(auth, case, task).await?;
    view(&app, &meta, &a, case).await
}

/// A containment action.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainDto {
    /// `suspend_user`, `suspend_party`, `revoke_access`, `freeze_room`,
    /// `require_reverification`.
    pub action: String,
}

/// Takes one containment action on what the case names, at once (security
/// officers, admins); recorded as `incident.contain`.
#[utoipa::path(post, path = "/incidents/{id}/containment", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = ContainDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "unknown_name, incident_no_subject, owner_party_status, cannot_disable_self"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn contain_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<ContainDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let action = name(ContainAction::parse, &req.action)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).contain(auth, case, action).await?;
    view(&app, &meta, &a, case).await
}

/// Traces a leaked copy and adds the result to the case (security officers,
/// admins, who may trace): the copy's SHA-256, the mark and its recipients.
/// The body is the file, at most 256 MiB; the copy itself is not kept.
#[utoipa::path(post, path = "/incidents/{id}/traces", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "no_mark: the file carries no readable mark"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed"), (status = 413, body = ErrorBody)))]
pub async fn trace_into_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    // The case must exist, and the caller run it, before the copy is read.
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    Incidents(&app).get(auth, case).await?;
    let _may_run = app.system(&meta, &a.principal, act::IncidentManage).await?;
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let permit = app::Audit(&app).permit_trace(auth);
    let max = permit.max_bytes;
    let content = limited::read(body.into_data_stream(), limited::declared(&headers), max)
        .await
        .map_err(|short| match short {
            limited::Short::TooLarge => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("a traced file is at most {} MiB", max >> 20),
            ),
            limited::Short::Failed(e) => app::AppError::BodyAborted(e).into(),
        })?;
    let trace = trace_of(&app, permit, content).await?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).add_trace(auth, case, trace).await?;
    view(&app, &meta, &a, case).await
}

/// Traces `content` into what a case keeps of it.
pub(crate) async fn trace_of(
    app: &App,
    permit: app::TracePermit<'_>,
    content: Vec<u8>,
) -> Result<TraceResult, app::AppError> {
    let sha256 = hex::encode(app::secrets::sha256(&content));
    let size = content.len() as u64;
    let report = app::Audit(app).trace_copy(permit, content).await?;
    let mut recipients = Vec::new();
    for r in report.recipients.iter().flatten() {
        if let (Ok(user), Ok(party)) = (r.user_id.parse(), r.party_id.parse())
            && !recipients.iter().any(|(u, _, _, _)| *u == user)
        {
            recipients.push((user, r.email.clone(), party, r.party_name.clone()));
        }
    }
    Ok(TraceResult {
        sha256,
        size,
        mark_id: report.mark_id,
        kind: report.kind.to_owned(),
        confidence: report.confidence,
        recipients,
    })
}

/// Puts everything the case covers (its external party, its room) under
/// legal holds (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/hold", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "incident_no_subject"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn hold_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).hold(auth, case).await?;
    view(&app, &meta, &a, case).await
}

/// A notification made.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationDto {
    /// Whom: a regulator, a customer (one line, 1 to 200 characters).
    pub to: String,
    /// What was said.
    pub text: String,
}

/// Records that the notification the case required was made (security
/// officers, admins); the case's clock stops.
#[utoipa::path(post, path = "/incidents/{id}/notification", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = NotificationDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "bad_incident_text"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn incident_notified(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<NotificationDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app)
        .notified(auth, case, &req.to, &req.text)
        .await?;
    view(&app, &meta, &a, case).await
}

/// A message to internal stakeholders.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageDto {
    /// `status_update`, `containment` or `closure`.
    pub template: String,
    /// The recipients: active users of the owner's party (1 to 100).
    pub to: Vec<String>,
    /// Words added to the template's text.
    #[serde(default)]
    pub text: Option<String>,
}

/// Sends a message from a template about the case to internal stakeholders
/// (security officers, admins): notifications, mailed where mail is set up.
#[utoipa::path(post, path = "/incidents/{id}/messages", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = MessageDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "unknown_name, not_staff, bad_incident_text"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn incident_message(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<MessageDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let template = MessageTemplate::parse(&req.template)?;
    let to = req
        .to
        .iter()
        .map(|u| {
            staff_id(Some(u))?
                .ok_or_else(|| ApiError::new(ErrorCode::NotStaff, "an empty recipient"))
        })
        .collect::<Result<Vec<UserId>, ApiError>>()?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app)
        .message(auth, case, template, &to, req.text.as_deref().unwrap_or(""))
        .await?;
    view(&app, &meta, &a, case).await
}

/// The lessons learned that close a case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseDto {
    pub lessons: String,
}

/// Closes a case with its lessons learned (security officers, admins).
#[utoipa::path(post, path = "/incidents/{id}/close", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), request_body = CloseDto, responses((status = 200, body = IncidentDto), (status = 400, body = ErrorBody, description = "bad_incident_text"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "incident_closed")))]
pub async fn close_incident(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
    ApiJson(req): ApiJson<CloseDto>,
) -> Result<Json<IncidentDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    Incidents(&app).close(auth, case, &req.lessons).await?;
    view(&app, &meta, &a, case).await
}

/// A case's timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelineDto {
    /// The events of the case, its alert, the people and room involved and
    /// the marks traced, oldest first.
    pub items: Vec<EventDto>,
}

/// The case's timeline from the ledger (security officers, admins).
#[utoipa::path(get, path = "/incidents/{id}/timeline", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = TimelineDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn incident_timeline(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<TimelineDto>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    let events = Incidents(&app).timeline(auth, case).await?;
    Ok(Json(TimelineDto {
        items: events.iter().map(EventDto::from).collect(),
    }))
}

/// The case's evidence bundle: every event of its timeline with its inclusion
/// proof against a checkpoint signed now (security officers, admins).
/// `custody ledger verify --bundle` checks it offline. Recorded as
/// `incident.export`.
#[utoipa::path(get, path = "/incidents/{id}/bundle", tag = "incidents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn incident_bundle(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<Bundle>, ApiError> {
    let case = id::<IncidentId>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    Ok(Json(Incidents(&app).evidence(auth, case).await?))
}

/// A report of a suspected leak.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReportDto {
    /// What is suspected, on one line (1 to 200 characters).
    pub what: String,
    /// What was seen, where and when (1 to 10000 characters).
    pub details: String,
    /// The room whose content is concerned, if known.
    pub room_id: Option<String>,
}

/// The report's receipt.
#[derive(Serialize, ToSchema)]
pub struct LeakReceiptDto {
    /// The case opened for it.
    pub id: String,
    pub reported_at: String,
}

/// Reports a suspected leak (anyone signed in, external users included): a
/// case is opened for the owner's security officers, who are told.
#[utoipa::path(post, path = "/leak-reports", tag = "incidents", security(("bearer" = [])), request_body = LeakReportDto, responses((status = 201, body = LeakReceiptDto), (status = 400, body = ErrorBody, description = "bad_incident_text"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report_leak(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<LeakReportDto>,
) -> Result<(StatusCode, Json<LeakReceiptDto>), ApiError> {
    let room = filter_id("room_id", req.room_id.as_deref())?;
    let auth = app.system(&meta, &a.principal, act::IncidentReport).await?;
    let case = Incidents(&app)
        .report(auth, &req.what, &req.details, room)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(LeakReceiptDto {
            id: case.id.to_string(),
            reported_at: rfc3339(case.opened_ms),
        }),
    ))
}

/// The owner's incident settings.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentSettingsDto {
    /// Hours from a case's opening to its notification deadline (1 to 8760),
    /// or null for no clock.
    pub notify_hours: Option<i64>,
}

/// The incident settings (security officers, admins).
#[utoipa::path(get, path = "/incident-settings", tag = "incidents", security(("bearer" = [])), responses((status = 200, body = IncidentSettingsDto), (status = 403, body = ErrorBody)))]
pub async fn get_incident_settings(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<IncidentSettingsDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::IncidentRead).await?;
    let notify_hours = Incidents(&app).notify_hours(auth).await?;
    Ok(Json(IncidentSettingsDto { notify_hours }))
}

/// Sets the hours from a case's opening to its notification deadline
/// (security officers, admins); cases opened later get that clock.
#[utoipa::path(put, path = "/incident-settings", tag = "incidents", security(("bearer" = [])), request_body = IncidentSettingsDto, responses((status = 200, body = IncidentSettingsDto), (status = 400, body = ErrorBody, description = "bad_notify_hours"), (status = 403, body = ErrorBody)))]
pub async fn put_incident_settings(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<IncidentSettingsDto>,
) -> Result<Json<IncidentSettingsDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::IncidentManage).await?;
    let notify_hours = Incidents(&app)
        .set_notify_hours(auth, req.notify_hours)
        .await?;
    Ok(Json(IncidentSettingsDto { notify_hours }))
}
