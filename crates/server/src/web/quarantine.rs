//! The quarantine page (security officers and admins of the owner party): the
//! uploads a room's data-loss policy holds for review, each with its room's
//! name, its path, who uploaded it and when, the findings' redacted summary, a
//! link to read the held content, and two buttons, release (the version becomes the newest
//! of its file) and reject (never shown). An upload the antivirus found
//! infected shows the signature clamd named, and neither the link nor the
//! release: it can only be rejected (docs/antivirus.md). Whether the caller may review is the
//! seam's decision (`dlp.review`) before `Rooms::list_quarantine` and
//! `Rooms::review_held`.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use app::dlp_policy::{HeldUpload, Review};
use app::{App, AppError};
use model::VersionId;

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::Meta;

/// A release or rejection as posted.
#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `GET /quarantine`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, app::act::DlpReview)
        .await?;
    let held = app::Rooms(&app).list_quarantine(auth, false).await?;
    Ok(render(&viewer, &held))
}

/// `POST /quarantine/{version}/release`.
pub async fn release(
    state: State<App>,
    meta: Meta,
    viewer: Viewer,
    version: Path<String>,
    form: Form<ReviewForm>,
) -> Result<Response, WebError> {
    decide(state, meta, viewer, version, form, Review::Release).await
}

/// `POST /quarantine/{version}/reject`.
pub async fn reject(
    state: State<App>,
    meta: Meta,
    viewer: Viewer,
    version: Path<String>,
    form: Form<ReviewForm>,
) -> Result<Response, WebError> {
    decide(state, meta, viewer, version, form, Review::Reject).await
}

async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<ReviewForm>,
    review: Review,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let version: VersionId = raw.parse().map_err(|_| AppError::NotFound)?;
    let note = Some(form.note.as_str()).filter(|n| !n.trim().is_empty());
    let auth = app
        .system(&meta, &viewer.authed.principal, app::act::DlpReview)
        .await?;
    app::Rooms(&app)
        .review_held(auth, version, review, note)
        .await?;
    Ok(Redirect::to("/quarantine").into_response())
}

/// The findings of a hold, for people: `pem.rsa_private_key ×1, …`.
fn findings(h: &HeldUpload) -> String {
    let mut parts: Vec<String> = h.reason["detectors"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, n)| format!("{id} ×{n}"))
        .collect();
    for j in h.reason["crown_jewels"].as_array().into_iter().flatten() {
        let share = j["share"].as_f64().unwrap_or(0.0) * 100.0;
        let name = j["name"].as_str().unwrap_or("?");
        parts.push(format!(
            "an excerpt of the crown jewel {name} ({share:.0} %)"
        ));
    }
    if let Some(why) = h.reason["uninspectable"].as_str() {
        parts.push(format!("uninspectable: {why}"));
    }
    parts.join(", ")
}

fn render(viewer: &Viewer, held: &[HeldUpload]) -> Markup {
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Quarantine" }
            p { "Uploads that a room's data-loss policy holds for review. Release one to make it the newest version of its file; reject it to keep it from everyone (it stays encrypted for the record). An upload the antivirus found infected can only be rejected, and nobody may read it." }
            @if held.is_empty() {
                p #quarantine-empty { "Nothing is waiting for review." }
            } @else {
                table #quarantine {
                    thead { tr { th { "File" } th { "Room" } th { "Uploaded by" } th { "Size" } th { "Held" } th { "Severity" } th { "Findings" } th { "Malware" } th { "Decision" } } }
                    tbody {
                        @for h in held {
                            @let v = h.version_id;
                            tr id=(format!("held-{v}")) {
                                td.path {
                                    code { (h.path) }
                                    @if h.signature.is_none() {
                                        " "
                                        a.held-content href=(format!("/api/v1/dlp/quarantine/{v}/content")) download
                                            aria-label=(format!("Review content of {}", h.path)) {
                                            "Review content"
                                        }
                                    }
                                }
                                td.room { (h.room_name) }
                                td.uploader { (h.uploader_email) }
                                td { (layout::size(h.size)) }
                                td { (layout::time(h.created_ms)) }
                                td { (h.reason["max_severity"].as_str().unwrap_or("-")) }
                                td.findings { (findings(h)) }
                                td.malware {
                                    @if let Some(signature) = &h.signature {
                                        strong.signature { (signature) }
                                    } @else {
                                        "-"
                                    }
                                }
                                td {
                                    @if h.signature.is_some() {
                                        form.inline method="post" action=(format!("/quarantine/{v}/reject")) {
                                            input type="hidden" name="csrf" value=(viewer.csrf);
                                            label for=(format!("note-{v}")) { "Note" }
                                            " "
                                            input id=(format!("note-{v}")) type="text" name="note" maxlength="1000";
                                            button.reject type="submit" { "Reject" }
                                        }
                                    } @else {
                                    form.inline method="post" action=(format!("/quarantine/{v}/release")) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        label for=(format!("note-{v}")) { "Note" }
                                        " "
                                        input id=(format!("note-{v}")) type="text" name="note" maxlength="1000";
                                        button.release type="submit" { "Release" }
                                    }
                                    form.inline method="post" action=(format!("/quarantine/{v}/reject")) {
                                        input type="hidden" name="csrf" value=(viewer.csrf);
                                        input type="hidden" name="note" value="";
                                        button.reject type="submit" { "Reject" }
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
    layout::page("Quarantine", Some(header), body)
}
