//! The policy administration page (admins): the policies in force, the stored
//! versions, and a form to propose a change — replayed against the recorded
//! requests of the last days first ("What if"), then applied. Every decision
//! is the use-cases': a caller who may not read policies gets the error page.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use app::{
    App, AppError, Policies, PolicyChange, PolicyProposal, PolicyState, PolicyVersion, WhatIf, act,
};

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::Meta;

/// Days replayed when the form does not say.
const DEFAULT_DAYS: i64 = 30;

/// The change form as posted.
#[derive(Deserialize)]
pub struct ChangeForm {
    csrf: String,
    custom: String,
    /// Ids of default policies to switch off, separated by commas or spaces.
    #[serde(default)]
    disabled: String,
    #[serde(default)]
    comment: String,
    expected_version: i64,
    #[serde(default)]
    days: Option<i64>,
}

impl ChangeForm {
    fn proposal(&self) -> PolicyProposal {
        let disabled = self
            .disabled
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        PolicyProposal {
            // Browsers send CRLF line ends; the stored text keeps LF.
            custom: self.custom.replace("\r\n", "\n"),
            disabled,
        }
    }
}

/// What the form shows: the text being edited and what happened to it.
struct Draft {
    custom: String,
    disabled: String,
    comment: String,
    days: i64,
    expected_version: i64,
    /// A refusal of the proposed text (shown above the form).
    error: Option<String>,
    whatif: Option<WhatIf>,
}

/// `GET /policies`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let (state, versions) = policy_pages(&app, &meta, &viewer.authed.principal).await?;
    let draft = Draft {
        custom: versions
            .first()
            .map(|v| v.custom.clone())
            .unwrap_or_default(),
        disabled: state.disabled.join(", "),
        comment: String::new(),
        days: DEFAULT_DAYS,
        expected_version: state.version,
        error: None,
        whatif: None,
    };
    Ok(render(&viewer, &state, &versions, &draft))
}

/// `POST /policies/whatif`: the page with the decisions the proposal would change.
pub async fn whatif(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<ChangeForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let p = &viewer.authed.principal;
    let (state, versions) = policy_pages(&app, &meta, p).await?;
    let days = form.days.unwrap_or(DEFAULT_DAYS);
    let mut draft = draft_of(&form, days);
    // A denial is the error page; only a refused proposal shows in the form.
    let auth = app.system(&meta, p, act::PolicySimulate).await?;
    match Policies(&app).what_if(auth, &form.proposal(), days).await {
        Ok(report) => draft.whatif = Some(report),
        Err(e) => draft.error = Some(refusal(e)?),
    }
    let status = if draft.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, render(&viewer, &state, &versions, &draft)).into_response())
}

/// `POST /policies/apply`: applies the proposal and shows the page again.
pub async fn apply(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(form): Form<ChangeForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let p = &viewer.authed.principal;
    let change = PolicyChange {
        proposal: form.proposal(),
        comment: form.comment.clone(),
        expected_version: form.expected_version,
    };
    let auth = app.system(&meta, p, act::PolicyApply).await?;
    let e = match Policies(&app).apply_policies(auth, change).await {
        Ok(_) => return Ok(Redirect::to("/policies").into_response()),
        Err(e) => e,
    };
    let status = if matches!(e, AppError::Conflict(_)) {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    let message = refusal(e)?;
    let (state, versions) = policy_pages(&app, &meta, p).await?;
    let mut draft = draft_of(&form, form.days.unwrap_or(DEFAULT_DAYS));
    draft.error = Some(message);
    Ok((status, render(&viewer, &state, &versions, &draft)).into_response())
}

/// The set in force and the stored versions, each read under its own decision.
async fn policy_pages(
    app: &App,
    meta: &app::RequestMeta,
    p: &app::Principal,
) -> Result<(PolicyState, Vec<PolicyVersion>), WebError> {
    let auth = app.system(meta, p, act::PolicyRead).await?;
    let state = Policies(app).policy_state(auth).await?;
    let auth = app.system(meta, p, act::PolicyRead).await?;
    let versions = Policies(app).policy_versions(auth).await?;
    Ok((state, versions))
}

fn draft_of(form: &ChangeForm, days: i64) -> Draft {
    Draft {
        custom: form.custom.replace("\r\n", "\n"),
        disabled: form.disabled.clone(),
        comment: form.comment.clone(),
        days,
        expected_version: form.expected_version,
        error: None,
        whatif: None,
    }
}

/// The message of a refusal the form should show; any other failure (not
/// allowed, internal) becomes the error page.
fn refusal(e: AppError) -> Result<String, WebError> {
    match e {
        AppError::Invalid { .. } => Ok(e.to_string()),
        AppError::Conflict(_) => Ok(
            "another administrator applied a newer version meanwhile; reload the page and redo the change"
                .to_owned(),
        ),
        other => Err(other.into()),
    }
}

fn render(viewer: &Viewer, state: &PolicyState, versions: &[PolicyVersion], d: &Draft) -> Markup {
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Policies" }
            p #policy-version {
                "In force: version " (state.version)
                @if state.version == 0 { " (the defaults, never changed)" }
                @if !state.disabled.is_empty() {
                    ". Default policies switched off: " (state.disabled.join(", "))
                }
            }
            table #policies {
                thead { tr { th { "Id" } th { "Effect" } th { "Origin" } } }
                tbody {
                    @for t in state.policies.iter().filter(|t| t.origin != "explanation") {
                        tr {
                            td { code { (t.id) } }
                            td { (t.effect) }
                            td { (t.origin) }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Propose a change" }
            p { "The custom policies are Cedar text, each with a unique " code { "@id" } ". Run " strong { "What if" } " to see which recorded requests would be decided differently before you apply." }
            @if let Some(e) = &d.error {
                p.error #policy-error role="alert" { (e) }
            }
            form.stack #policy-form method="post" action="/policies/apply" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="expected_version" value=(d.expected_version);
                label { "Custom policies"
                    textarea #custom name="custom" rows="14" spellcheck="false" { (d.custom) }
                }
                label { "Default policies to switch off (ids, separated by commas)"
                    input #disabled type="text" name="disabled" value=(d.disabled);
                }
                label { "Comment" input #comment type="text" name="comment" value=(d.comment); }
                label { "Days of recorded requests to replay"
                    input #days type="number" name="days" min="1" max="366" value=(d.days);
                }
                div.actions {
                    button #whatif type="submit" formaction="/policies/whatif" { "What if" }
                    button.primary #apply type="submit" { "Apply" }
                }
            }
            @if let Some(w) = &d.whatif { (whatif_report(w)) }
        }
        section.card {
            h2 { "Versions" }
            @if versions.is_empty() {
                p { "No change has been applied yet." }
            } @else {
                table #versions {
                    thead { tr { th { "Version" } th { "Applied" } th { "By" } th { "Comment" } th { "SHA-256 of the text" } } }
                    tbody {
                        @for v in versions {
                            tr {
                                td { (v.number) }
                                td { (layout::time(v.created_ms)) }
                                td { code { (v.author) } }
                                td { (v.comment) }
                                td { code { (v.custom_sha256.get(..16).unwrap_or_default()) "…" } }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page("Policies", Some(header), body)
}

fn whatif_report(w: &WhatIf) -> Markup {
    html! {
        div #whatif-report {
            h3 { "What if" }
            p {
                "Replayed " (w.replayed) " recorded requests since " (layout::time(w.from_ms))
                " (" (w.skipped) " skipped: their user or target no longer exists). "
                @if w.changes.is_empty() { "No decision would change." }
                @else { "Decisions that would change: " (w.changes.len()) "." }
            }
            @if !w.changes.is_empty() {
                table #changes {
                    thead { tr { th { "Event" } th { "Time" } th { "User" } th { "Action" } th { "Target" } th { "Now" } th { "Proposed" } } }
                    tbody {
                        @for c in &w.changes {
                            tr {
                                td { (c.seq) }
                                td { (layout::time(c.time_ms)) }
                                td { code { (c.user) } }
                                td { code { (c.action) } }
                                td { code { (c.target) } }
                                td { (c.before.decision) @if let Some(r) = c.before.reason { " (" (r) ")" } }
                                td { (c.after.decision) @if let Some(r) = c.after.reason { " (" (r) ")" }
                                    " " small { (c.after.policies.join(", ")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
