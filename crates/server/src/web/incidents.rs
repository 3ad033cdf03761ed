//! Incident cases in the browser (docs/incidents.md). The owner's security
//! officers and admins list cases (`/incidents`, with the form that opens one
//! by hand and the notification clock), open one from an alert (the button on
//! `/alerts`), and run a case on its page (`/incidents/{id}`): the nine
//! stages with their owners, the assessment, notes and tasks, one-click
//! containment, a leaked copy traced into the case, the legal hold and the
//! notification clock, messages to internal stakeholders, the lessons learned
//! that close it, the timeline from the ledger and the evidence bundle.
//! Anyone signed in reports a suspected leak at `/report`. Each form is the
//! API's use-case behind the same seam decision.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use app::{
    Action, App, AppError, Audit, Authorized, ErrorCode, IncidentView, Incidents, MessageTemplate,
    NewIncident, System, act,
};
use model::*;

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};
use crate::limited;

/// The incident pages' routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/incidents", post(open))
        .route("/incidents/settings", post(settings))
        .route("/alerts/{id}/case", post(open_from_alert))
        .route("/incidents/{id}/assess", post(assess))
        .route("/incidents/{id}/stage", post(stage))
        .route("/incidents/{id}/entries", post(entry))
        .route("/incidents/{id}/tasks/{task}/done", post(task_done))
        .route("/incidents/{id}/contain", post(contain))
        .route("/incidents/{id}/hold", post(hold))
        .route("/incidents/{id}/notified", post(notified))
        .route("/incidents/{id}/message", post(message))
        .route("/incidents/{id}/close", post(close))
        .route(
            "/incidents/{id}/trace",
            post(trace).layer(DefaultBodyLimit::max(
                super::trace::MAX_TRACE_BYTES + (1 << 20),
            )),
        )
        .route("/report", post(report))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(case))
        .route("/report", get(report_page))
        .merge(forms)
}

fn case_id(raw: &str) -> Result<IncidentId, WebError> {
    raw.parse().map_err(|_| AppError::NotFound.into())
}

/// The case `raw` names, and the proof that the viewer may run cases, after
/// the form's CSRF token `csrf` is checked.
async fn running<'a>(
    app: &App,
    meta: &'a app::RequestMeta,
    viewer: &'a Viewer,
    csrf: &str,
    raw: &str,
) -> Result<(IncidentId, Authorized<'a, act::IncidentManage, System>), WebError> {
    check_csrf(&viewer.authed.session, csrf)?;
    let id = case_id(raw)?;
    let auth = app
        .system(meta, &viewer.authed.principal, act::IncidentManage)
        .await?;
    Ok((id, auth))
}

fn to_case(id: IncidentId, anchor: &str) -> Response {
    Redirect::to(&format!("/incidents/{id}#{anchor}")).into_response()
}

fn opt_id<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, WebError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| AppError::invalid(ErrorCode::InvalidForm, "a chosen id is malformed").into())
}

fn parsed<T>(parse: impl Fn(&str) -> Result<T, UnknownName>, raw: &str) -> Result<T, WebError> {
    parse(raw).map_err(|e| AppError::from(e).into())
}

/// `GET /incidents`: the cases, the form that opens one, the clock.
pub async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(&meta, p, act::IncidentRead).await?;
    let cases = Incidents(&app).list(auth, false, 200).await?;
    let auth = app.system(&meta, p, act::IncidentRead).await?;
    let hours = Incidents(&app).notify_hours(auth).await?;
    let may_run = may(&app, &meta, &viewer, Action::IncidentManage);
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Incidents" }
            p { "Cases run from detection to lessons learned: identification, response team, assessment, containment, investigation, legal obligations, communication, remediation, lessons learned. Open one from an alert (on the alerts page), from a trace, or here." }
            @if cases.is_empty() {
                p #incidents-empty { "No case has been opened." }
            } @else {
                table #incidents {
                    thead { tr { th { "Opened" } th { "Case" } th { "Source" } th { "Stage" } th { "Severity" } th { "Notification due" } th { "Status" } } }
                    tbody {
                        @for c in &cases {
                            tr id=(format!("incident-{}", c.id)) {
                                td { (layout::time(c.opened_ms)) }
                                td { a href=(format!("/incidents/{}", c.id)) { (c.title) } }
                                td { (c.source.as_str()) }
                                td.stage { (c.stage.title()) }
                                td { (c.severity.map_or("—", |s| s.as_str())) }
                                td { (clock(c, app.now())) }
                                td.status { @if c.closed_ms.is_some() { "closed" } @else { "open" } }
                            }
                        }
                    }
                }
            }
        }
        @if may_run {
            section.card {
                h2 { "Open a case" }
                form.stack #open-incident method="post" action="/incidents" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label { "Title" input name="title" type="text" maxlength="200" required; }
                    label { "What is known" textarea name="summary" rows="3" maxlength="10000" required {} }
                    label { "User id (optional)" input name="user_id" type="text"; }
                    label { "Party id (optional)" input name="party_id" type="text"; }
                    label { "Room id (optional)" input name="room_id" type="text"; }
                    button type="submit" { "Open the case" }
                }
            }
            section.card {
                h2 { "Notification clock" }
                p { "Hours from a case's opening to the deadline for notifying regulators or customers (for example 72). Cases opened later get that clock." }
                form.inline #incident-settings method="post" action="/incidents/settings" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="notify-hours" { "Hours" }
                    " "
                    input #notify-hours name="notify_hours" type="number" min="1" max="8760" value=[hours];
                    button type="submit" { "Save" }
                }
            }
        }
    };
    Ok(layout::page("Incidents", Some(header), body))
}

/// Whether the policy lets the viewer do `action` on the platform.
fn may(app: &App, meta: &app::RequestMeta, viewer: &Viewer, action: Action) -> bool {
    app.permits_system(meta, &viewer.authed.principal, &[action])
        .first()
        .copied()
        .unwrap_or(false)
}

/// The notification clock as people read it.
fn clock(c: &Incident, now: i64) -> String {
    match (c.notify_due_ms, c.notified_ms) {
        (_, Some(done)) => format!("notified {}", layout::time(done)),
        (None, None) => "no clock".into(),
        (Some(due), None) => {
            let left = due - now;
            let hours = left.abs() / 3_600_000;
            let minutes = (left.abs() % 3_600_000) / 60_000;
            if left >= 0 {
                format!("{} ({hours} h {minutes} min left)", layout::time(due))
            } else {
                format!("{} (overdue by {hours} h {minutes} min)", layout::time(due))
            }
        }
    }
}

/// A case opened by hand, as posted.
#[derive(Deserialize)]
pub struct OpenForm {
    csrf: String,
    title: String,
    summary: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    party_id: String,
    #[serde(default)]
    room_id: String,
}

/// `POST /incidents`.
pub async fn open(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<OpenForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let new = NewIncident {
        title: form.title,
        summary: form.summary,
        party: opt_id(&form.party_id)?,
        user: opt_id(&form.user_id)?,
        room: opt_id(&form.room_id)?,
    };
    let auth = app
        .system(&meta, &viewer.authed.principal, act::IncidentManage)
        .await?;
    let case = Incidents(&app)
        .open(auth, new, IncidentSource::Manual, None)
        .await?;
    Ok(to_case(case.id, "case"))
}

/// The clock, as posted.
#[derive(Deserialize)]
pub struct SettingsForm {
    csrf: String,
    #[serde(default)]
    notify_hours: String,
}

/// `POST /incidents/settings`.
pub async fn settings(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let raw = form.notify_hours.trim();
    let hours = if raw.is_empty() {
        None
    } else {
        Some(raw.parse::<i64>().map_err(|_| {
            AppError::invalid(ErrorCode::BadNotifyHours, "give a whole number of hours")
        })?)
    };
    let auth = app
        .system(&meta, &viewer.authed.principal, act::IncidentManage)
        .await?;
    Incidents(&app).set_notify_hours(auth, hours).await?;
    Ok(Redirect::to("/incidents").into_response())
}

/// A form with nothing but its token.
#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// `POST /alerts/{id}/case`: a case from an alert (its case, when it has one).
pub async fn open_from_alert(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let alert: AlertId = raw.parse().map_err(|_| AppError::NotFound)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::IncidentManage)
        .await?;
    let case = Incidents(&app).open_from_alert(auth, alert).await?;
    Ok(to_case(case.id, "case"))
}

/// `GET /incidents/{id}`: the case.
pub async fn case(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id = case_id(&raw)?;
    let p = &viewer.authed.principal;
    let auth = app.system(&meta, p, act::IncidentRead).await?;
    let view = Incidents(&app).get(auth, id).await?;
    let auth = app.system(&meta, p, act::IncidentRead).await?;
    let timeline = Incidents(&app).timeline(auth, id).await?;
    let may_run =
        view.incident.closed_ms.is_none() && may(&app, &meta, &viewer, Action::IncidentManage);
    let staff = if may_run {
        match app.system(&meta, p, act::UserList).await {
            Ok(auth) => app::Identity(&app)
                .list_users(auth, Some(p.party_id))
                .await?
                .into_iter()
                .filter(|u| !u.disabled)
                .collect(),
            Err(_) => vec![],
        }
    } else {
        vec![]
    };
    Ok(render_case(
        &viewer,
        &view,
        &timeline,
        &staff,
        may_run,
        app.now(),
    ))
}

fn staff_select(name: &str, id: &str, staff: &[User], required: bool) -> Markup {
    html! {
        select id=(id) name=(name) required[required] {
            @if !required { option value="" { "—" } }
            @for u in staff {
                option value=(u.id) { (u.email) " (" (u.system_role.as_str()) ")" }
            }
        }
    }
}

fn render_case(
    viewer: &Viewer,
    v: &IncidentView,
    timeline: &[Event],
    staff: &[User],
    may_run: bool,
    now: i64,
) -> Markup {
    let c = &v.incident;
    let id = c.id;
    let csrf = &viewer.csrf;
    let header = viewer.header();
    let owner_of = |s: IncidentStage| {
        v.owners
            .iter()
            .find(|(st, _)| *st == s)
            .map(|(_, u)| v.name_of(*u))
    };
    let tasks: Vec<&IncidentEntry> = v
        .entries
        .iter()
        .filter(|e| e.kind == IncidentEntryKind::Task)
        .collect();
    let body = html! {
        section.card #case {
            h1 { (c.title) }
            p #case-status {
                @if c.closed_ms.is_some() { strong { "Closed" } } @else { strong { "Open" } }
                " · stage " span #case-stage { (c.stage.title()) }
                " · severity " span #case-severity { (c.severity.map_or("not assessed", |s| s.as_str())) }
                @if let Some(cat) = c.category { " · " (cat.as_str()) }
            }
            p #case-summary { (c.summary) }
            dl.facts {
                dt { "Source" } dd { (c.source.as_str()) @if let Some(r) = &c.source_ref { " " code { (r) } } }
                dt { "Opened" } dd { (layout::time(c.opened_ms)) " by " (v.name_of(c.opened_by)) }
                @if let Some(u) = c.user_id { dt { "User" } dd #case-user { (v.name_of(u)) } }
                @if let Some(name) = &v.party_name { dt { "Party" } dd #case-party { (name) } }
                @if let Some(name) = &v.room_name { dt { "Room" } dd #case-room { (name) } }
                dt { "Notification" } dd #case-clock { (clock(c, now)) }
                dt { "Legal holds" } dd #case-holds { @if c.holds.is_empty() { "none" } @else { (c.holds.len()) " in force since set (see Legal holds)" } }
                @if let Some(l) = &c.lessons { dt { "Lessons learned" } dd #case-lessons { (l) } }
            }
            p {
                a.button #export-bundle href=(format!("/api/v1/incidents/{id}/bundle")) download=(format!("incident-{id}.json")) { "Export the evidence bundle" }
            }
            p.muted { "The evidence bundle holds every event of the case and its timeline — each action and decision with who took it, the traced copies' digests and marks — with its ledger proof; check it offline with " code { "custody ledger verify --bundle" } "." }
        }
        section.card #stages {
            h2 { "Stages" }
            ol.stages {
                @for s in IncidentStage::ALL {
                    li class=(if *s == c.stage { "current" } else { "" }) {
                        (s.title())
                        @if let Some(o) = owner_of(*s) { " — owner " (o) }
                    }
                }
            }
            @if may_run {
                form.inline #stage-form method="post" action=(format!("/incidents/{id}/stage")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="stage" { "Stage" }
                    " "
                    select #stage name="stage" {
                        @for s in IncidentStage::ALL.iter().filter(|s| **s != IncidentStage::LessonsLearned) {
                            option value=(s.as_str()) selected[*s == c.stage] { (s.title()) }
                        }
                    }
                    " "
                    label for="stage-owner" { "Owner" }
                    " "
                    (staff_select("owner_id", "stage-owner", staff, false))
                    button type="submit" { "Set" }
                }
            }
        }
        @if may_run {
            section.card #assessment {
                h2 { "Assessment and classification" }
                form.inline #assess-form method="post" action=(format!("/incidents/{id}/assess")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="severity" { "Severity" }
                    " "
                    select #severity name="severity" {
                        @for s in IncidentSeverity::ALL { option value=(s.as_str()) selected[c.severity == Some(*s)] { (s.as_str()) } }
                    }
                    " "
                    label for="category" { "Category" }
                    " "
                    select #category name="category" {
                        @for k in IncidentCategory::ALL { option value=(k.as_str()) selected[c.category == Some(*k)] { (k.as_str()) } }
                    }
                    button type="submit" { "Assess" }
                }
            }
            section.card #containment {
                h2 { "Containment" }
                p { "Each button acts at once and is recorded." }
                @for (action, label, needs) in [
                    (ContainAction::SuspendParty, "Suspend the party", c.party_id.is_some()),
                    (ContainAction::SuspendUser, "Suspend the user", c.user_id.is_some()),
                    (ContainAction::RevokeAccess, "End their links and sessions", c.user_id.is_some() || c.party_id.is_some()),
                    (ContainAction::FreezeRoom, "Freeze the room to view-only", c.room_id.is_some()),
                    (ContainAction::RequireReverification, "Make the user verify again", c.user_id.is_some()),
                ] {
                    @if needs {
                        form.inline method="post" action=(format!("/incidents/{id}/contain")) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="action" value=(action.as_str());
                            button class=(format!("contain {}", action.as_str())) type="submit" { (label) }
                        }
                    }
                }
            }
            section.card #investigation {
                h2 { "Forensic investigation" }
                form.stack #case-trace-form method="post" action=(format!("/incidents/{id}/trace")) enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "A leaked copy to trace into the case" input #case-trace-file type="file" name="file" required; }
                    button type="submit" { "Trace and add" }
                }
            }
            section.card #legal {
                h2 { "Legal and regulatory obligations" }
                form.inline #hold-form method="post" action=(format!("/incidents/{id}/hold")) {
                    input type="hidden" name="csrf" value=(csrf);
                    button #set-hold type="submit" { "Put the case's party and room under legal hold" }
                }
                form.stack #notified-form method="post" action=(format!("/incidents/{id}/notified")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Notified (whom)" input name="to" type="text" maxlength="200" required; }
                    label { "What was said" textarea name="text" rows="2" required {} }
                    button type="submit" { "Record the notification" }
                }
            }
            section.card #communication {
                h2 { "Communication" }
                form.stack #message-form method="post" action=(format!("/incidents/{id}/message")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Template"
                        select name="template" {
                            @for t in MessageTemplate::ALL { option value=(t.as_str()) { (t.as_str()) } }
                        }
                    }
                    fieldset {
                        legend { "To" }
                        @for u in staff {
                            label.check { input type="checkbox" name="to" value=(u.id); " " (u.email) }
                        }
                    }
                    label { "Added words (optional)" textarea name="text" rows="2" {} }
                    button type="submit" { "Send" }
                }
            }
            section.card #notes {
                h2 { "Notes and tasks" }
                form.stack #entry-form method="post" action=(format!("/incidents/{id}/entries")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Kind" select name="kind" { option value="note" { "note" } option value="task" { "task (remediation and others)" } } }
                    label { "Text" textarea name="text" rows="2" required {} }
                    label { "Assignee (a task)" (staff_select("assignee_id", "assignee", staff, false)) }
                    button type="submit" { "Add" }
                }
            }
            section.card #close {
                h2 { "Lessons learned" }
                form.stack #close-form method="post" action=(format!("/incidents/{id}/close")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "What we learned, and what changes" textarea name="lessons" rows="3" required {} }
                    button type="submit" { "Close the case" }
                }
            }
        }
        @if !tasks.is_empty() {
            section.card #tasks {
                h2 { "Tasks" }
                ul {
                    @for t in &tasks {
                        li id=(format!("task-{}", t.id)) {
                            (t.body)
                            @if let Some(a) = t.assignee { " — " (v.name_of(a)) }
                            @if let Some(done) = t.done_ms { " — done " (layout::time(done)) }
                            @else if may_run {
                                form.inline method="post" action=(format!("/incidents/{id}/tasks/{}/done", t.id)) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Done" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #entries {
            h2 { "Record of the case" }
            table {
                thead { tr { th { "When" } th { "Stage" } th { "Kind" } th { "What" } th { "By" } } }
                tbody {
                    @for e in &v.entries {
                        tr class=(format!("entry {}", e.kind.as_str())) {
                            td { (layout::time(e.created_ms)) }
                            td { (e.stage.title()) }
                            td { (e.kind.as_str()) }
                            td { (e.body) }
                            td { (v.name_of(e.author)) }
                        }
                    }
                }
            }
        }
        section.card #timeline {
            h2 { "Timeline from the ledger" }
            p.muted { "The events of the case, its alert, the people and the room involved (from 30 days before the opening) and of the marks traced." }
            table {
                thead { tr { th { "Seq" } th { "When" } th { "Action" } th { "Target" } th { "Outcome" } } }
                tbody {
                    @for e in timeline.iter().rev() {
                        tr {
                            td { (e.seq) }
                            td { (layout::time(e.time_ms)) }
                            td { code { (e.action) } }
                            td { code { (e.target) } }
                            td { (e.outcome.as_str()) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&c.title, Some(header), body)
}

/// An assessment as posted.
#[derive(Deserialize)]
pub struct AssessForm {
    csrf: String,
    severity: String,
    category: String,
}

/// `POST /incidents/{id}/assess`.
pub async fn assess(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<AssessForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    let severity = parsed(IncidentSeverity::parse, &form.severity)?;
    let category = parsed(IncidentCategory::parse, &form.category)?;
    Incidents(&app).assess(auth, id, severity, category).await?;
    Ok(to_case(id, "assessment"))
}

/// A stage as posted.
#[derive(Deserialize)]
pub struct StageForm {
    csrf: String,
    stage: String,
    #[serde(default)]
    owner_id: String,
}

/// `POST /incidents/{id}/stage`.
pub async fn stage(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    let stage = parsed(IncidentStage::parse, &form.stage)?;
    if stage == IncidentStage::LessonsLearned {
        return Err(AppError::invalid(
            ErrorCode::InvalidForm,
            "the lessons learned close the case: use the closing form",
        )
        .into());
    }
    let owner = opt_id(&form.owner_id)?;
    Incidents(&app).set_stage(auth, id, stage, owner).await?;
    Ok(to_case(id, "stages"))
}

/// A note or task as posted.
#[derive(Deserialize)]
pub struct EntryForm {
    csrf: String,
    kind: String,
    text: String,
    #[serde(default)]
    assignee_id: String,
}

/// `POST /incidents/{id}/entries`.
pub async fn entry(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<EntryForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    let task = form.kind == "task";
    let assignee = opt_id(&form.assignee_id)?;
    Incidents(&app)
        .add_note(auth, id, &form.text, task, assignee)
        .await?;
    Ok(to_case(id, "entries"))
}

/// `POST /incidents/{id}/tasks/{task}/done`.
pub async fn task_done(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, task)): Path<(String, String)>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    let task: IncidentEntryId = task.parse().map_err(|_| AppError::NotFound)?;
    Incidents(&app).finish_task(auth, id, task).await?;
    Ok(to_case(id, "tasks"))
}

/// A containment action as posted.
#[derive(Deserialize)]
pub struct ContainForm {
    csrf: String,
    action: String,
}

/// `POST /incidents/{id}/contain`.
pub async fn contain(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<ContainForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    let action = parsed(ContainAction::parse, &form.action)?;
    Incidents(&app).contain(auth, id, action).await?;
    Ok(to_case(id, "entries"))
}

/// `POST /incidents/{id}/hold`.
pub async fn hold(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<TokenForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    Incidents(&app).hold(auth, id).await?;
    Ok(to_case(id, "case"))
}

/// A notification made, as posted.
#[derive(Deserialize)]
pub struct NotifiedForm {
    csrf: String,
    to: String,
    text: String,
}

/// `POST /incidents/{id}/notified`.
pub async fn notified(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<NotifiedForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    Incidents(&app)
        .notified(auth, id, &form.to, &form.text)
        .await?;
    Ok(to_case(id, "case"))
}

/// `POST /incidents/{id}/message`: the form repeats `to`, so it is read as pairs.
pub async fn message(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    check_csrf(&viewer.authed.session, field("csrf"))?;
    let id = case_id(&raw)?;
    let template = MessageTemplate::parse(field("template"))?;
    let mut to = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "to") {
        to.extend(opt_id::<UserId>(v)?);
    }
    let auth = app
        .system(&meta, &viewer.authed.principal, act::IncidentManage)
        .await?;
    Incidents(&app)
        .message(auth, id, template, &to, field("text"))
        .await?;
    Ok(to_case(id, "entries"))
}

/// The lessons learned, as posted.
#[derive(Deserialize)]
pub struct CloseForm {
    csrf: String,
    lessons: String,
}

/// `POST /incidents/{id}/close`.
pub async fn close(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CloseForm>,
) -> Result<Response, WebError> {
    let (id, auth) = running(&app, &meta, &viewer, &form.csrf, &raw).await?;
    Incidents(&app).close(auth, id, &form.lessons).await?;
    Ok(to_case(id, "case"))
}

/// `POST /incidents/{id}/trace` (multipart: `csrf`, then `file`): the leaked
/// copy traced and the result added to the case. Whether the caller may run
/// the case and trace is decided before the file is read.
pub async fn trace(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let id = case_id(&raw)?;
    let Some(field) = form.next_field().await.map_err(super::trace::bad_form)? else {
        return Err(WebError::Csrf);
    };
    if field.name() != Some("csrf") {
        return Err(WebError::Csrf);
    }
    let token = limited::text(limited::field(field))
        .await
        .map_err(super::trace::short)?;
    check_csrf(&viewer.authed.session, &token)?;
    let p = &viewer.authed.principal;
    let auth = app.system(&meta, p, act::IncidentRead).await?;
    Incidents(&app).get(auth, id).await?;
    let _may_run = app.system(&meta, p, act::IncidentManage).await?;
    let auth = app.system(&meta, p, act::EventRead).await?;
    let permit = Audit(&app).permit_trace(auth);
    let max = permit.max_bytes;
    let too_large = || WebError::from(AppError::TooLarge { limit: max });
    if limited::declared(&headers).is_some_and(|n| n > max + (64 << 10)) {
        return Err(too_large());
    }
    let content = match form.next_field().await.map_err(super::trace::bad_form)? {
        Some(field) if field.name() == Some("file") => {
            limited::read(limited::field(field), None, max)
                .await
                .map_err(|s| match s {
                    limited::Short::TooLarge => too_large(),
                    other => super::trace::short(other),
                })?
        }
        Some(_) => return Err(WebError::Csrf),
        None => {
            return Err(AppError::invalid(ErrorCode::FileMissing, "choose a file to trace").into());
        }
    };
    let found = crate::api::trace_of(&app, permit, content).await?;
    let auth = app.system(&meta, p, act::IncidentManage).await?;
    Incidents(&app).add_trace(auth, id, found).await?;
    Ok(to_case(id, "entries"))
}

/// `GET /report`: the form to report a suspected leak (everyone).
pub async fn report_page(viewer: Viewer) -> Markup {
    render_report(&viewer, None)
}

fn render_report(viewer: &Viewer, done: Option<&Incident>) -> Markup {
    let header = viewer.header();
    let body = html! {
        section.card.narrow {
            h1 { "Report a suspected leak" }
            @if let Some(c) = done {
                p #report-done role="status" { "Thank you: your report was received at " (layout::time(c.opened_ms)) " and the owner's security officers were told. Reference " code { (c.id) } "." }
            }
            p { "Seen designs, code or documents shared here somewhere they should not be? Lost a copy, or suspect an account was misused? Tell the owner's security team. Your report is recorded." }
            form.stack #report-form method="post" action="/report" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "What you suspect (one line)" input name="what" type="text" maxlength="200" required; }
                label { "What you saw, where and when" textarea name="details" rows="5" maxlength="10000" required {} }
                label { "Room id, if you know it (optional)" input name="room_id" type="text"; }
                button #report-button type="submit" { "Send the report" }
            }
        }
    };
    layout::page("Report a suspected leak", Some(header), body)
}

/// A report as posted.
#[derive(Deserialize)]
pub struct ReportForm {
    csrf: String,
    what: String,
    details: String,
    #[serde(default)]
    room_id: String,
}

/// `POST /report`.
pub async fn report(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<ReportForm>,
) -> Result<Markup, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let room = opt_id(&form.room_id)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::IncidentReport)
        .await?;
    let case = Incidents(&app)
        .report(auth, &form.what, &form.details, room)
        .await?;
    Ok(render_report(&viewer, Some(&case)))
}
