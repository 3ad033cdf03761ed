//! The alerts page (the owner's security officers and admins): what the
//! watcher raised, newest first, each with its score, whom it is about, the
//! sentence naming the features that caused it, the contributing features and
//! its status, and two forms, confirm and dismiss with a reason. Whether the
//! caller may read (`alert.read`) and give feedback (`alert.feedback`) is the
//! seam's decision; the forms are shown only when the policy would allow them.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use app::{Action, App, AppError, NamedAlert};
use model::{AlertId, AlertStatus};

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};

/// The alerts page's routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/alerts/{id}/confirm", post(confirm))
        .route("/alerts/{id}/dismiss", post(dismiss))
        .layer(Extension(FormCsrf));
    Router::new().route("/alerts", get(page)).merge(forms)
}

/// A confirmation or dismissal as posted.
#[derive(Deserialize)]
pub struct FeedbackForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `GET /alerts`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, app::act::AlertRead)
        .await?;
    let alerts = app::Alerts(&app).list(auth, None, 200).await?;
    let may = app.permits_system(
        &meta,
        &viewer.authed.principal,
        &[Action::AlertFeedback, Action::IncidentManage],
    );
    let may_decide = may.first().copied().unwrap_or(false);
    let may_open = may.get(1).copied().unwrap_or(false);
    Ok(render(&viewer, &alerts, may_decide, may_open))
}

/// `POST /alerts/{id}/confirm`.
pub async fn confirm(
    state: State<App>,
    meta: Meta,
    viewer: Viewer,
    id: Path<String>,
    form: Form<FeedbackForm>,
) -> Result<Response, WebError> {
    decide(state, meta, viewer, id, form, "confirm").await
}

/// `POST /alerts/{id}/dismiss`.
pub async fn dismiss(
    state: State<App>,
    meta: Meta,
    viewer: Viewer,
    id: Path<String>,
    form: Form<FeedbackForm>,
) -> Result<Response, WebError> {
    decide(state, meta, viewer, id, form, "dismiss").await
}

async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<FeedbackForm>,
    verdict: &str,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: AlertId = raw.parse().map_err(|_| AppError::NotFound)?;
    let feedback = match verdict {
        "confirm" => app::Feedback::Confirm,
        _ => app::Feedback::Dismiss(form.reason),
    };
    let auth = app
        .system(&meta, &viewer.authed.principal, app::act::AlertFeedback)
        .await?;
    app::Alerts(&app).feedback(auth, id, feedback).await?;
    Ok(Redirect::to(&format!("/alerts#alert-{id}")).into_response())
}

/// The contributing features, for people: `download_files 40 (median 2)`.
fn features(a: &model::Alert) -> Vec<String> {
    let mut out: Vec<String> = a.detail["contributions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let name = c["feature"].as_str()?;
            let value = c["value"].as_f64()?;
            Some(match c["median"].as_f64() {
                Some(m) => format!("{name} {value:.0} (median {m:.0})"),
                None => format!("{name} {value:.0}"),
            })
        })
        .collect();
    out.extend(
        a.detail["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| Some(format!("rule {}", r["rule"].as_str()?))),
    );
    out
}

fn render(viewer: &Viewer, alerts: &[NamedAlert], may_decide: bool, may_open: bool) -> Markup {
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Alerts" }
            p { "What the watcher raised from the recorded events: a rule at once (a burst of downloads, a mass download before an agreement ends, a new country, a traced leak), or the day's highest scores within the alert budget. Confirm an alert that was worth raising, or dismiss it with a reason; both are recorded and kept to evaluate the watcher." }
            @if alerts.is_empty() {
                p #alerts-empty { "No alert has been raised." }
            } @else {
                table #alerts {
                    thead { tr { th { "Raised" } th { "Score" } th { "Whom" } th { "Explanation" } th { "Status" } @if may_decide { th { "Feedback" } } @if may_open { th { "Case" } } } }
                    tbody {
                        @for named in alerts {
                            @let a = &named.alert;
                            @let id = a.id;
                            tr id=(format!("alert-{id}")) {
                                td { (layout::time(a.raised_ms)) br; span.kind { (a.kind) } }
                                td.score { (format!("{:.1}", a.score_milli as f64 / 1000.0)) }
                                td.who { (a.entity.as_str()) " " code { (named.who) } }
                                td.explanation {
                                    p { (a.sentence) }
                                    ul.features {
                                        @for f in features(a) { li { (f) } }
                                    }
                                }
                                td.status {
                                    (a.status.as_str())
                                    @if let Some(reason) = &a.feedback_reason { ": " (reason) }
                                }
                                @if may_decide {
                                    td {
                                        @if a.status != AlertStatus::Confirmed {
                                            form.inline method="post" action=(format!("/alerts/{id}/confirm")) {
                                                input type="hidden" name="csrf" value=(viewer.csrf);
                                                button.confirm type="submit" { "Confirm" }
                                            }
                                        }
                                        @if a.status != AlertStatus::Dismissed {
                                            form.inline method="post" action=(format!("/alerts/{id}/dismiss")) {
                                                input type="hidden" name="csrf" value=(viewer.csrf);
                                                label for=(format!("reason-{id}")) { "Reason" }
                                                " "
                                                input id=(format!("reason-{id}")) type="text" name="reason" maxlength="500" required;
                                                button.dismiss type="submit" { "Dismiss" }
                                            }
                                        }
                                    }
                                }
                                @if may_open {
                                    td {
                                        form.inline method="post" action=(format!("/alerts/{id}/case")) {
                                            input type="hidden" name="csrf" value=(viewer.csrf);
                                            button.open-case type="submit" { "Open a case" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page("Alerts", Some(header), body)
}
