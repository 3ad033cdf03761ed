//! The trace page (security officers, auditors, admins): a leaked copy is
//! uploaded, the server reads its watermark with its own key and shows who
//! received it — the download or page view that issued the mark, with the
//! recipient, party, time and file version — and the ledger evidence: each
//! issuing event's entry and inclusion proof, and the evidence bundle to save
//! (it verifies offline with `custody ledger verify --bundle`). Whether the
//! caller may trace is the seam's decision (`event.read`), asked before the
//! file is read; `Audit::trace_copy` takes the permit made of it.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use maud::{Markup, html};

use app::{App, AppError, Audit, ErrorCode, TraceReport, act};

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::Meta;
use crate::limited;

/// The largest file traced, as through the API.
pub const MAX_TRACE_BYTES: usize = 256 << 20;

/// What a trace form may hold besides the file: the token, the boundaries and
/// the part headers.
const FORM_OVERHEAD: u64 = 64 << 10;

/// `GET /trace`: the upload form.
pub async fn page(viewer: Viewer) -> Markup {
    render(&viewer, None, None)
}

/// `POST /trace` (multipart: `csrf`, then `file`): the report, or the form
/// again with the reason the file could not be traced. Whether the caller may
/// trace is decided after the CSRF token and before the file is read.
pub async fn trace(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let Some(field) = form.next_field().await.map_err(bad_form)? else {
        return Err(WebError::Csrf);
    };
    if field.name() != Some("csrf") {
        return Err(WebError::Csrf);
    }
    let token = limited::text(limited::field(field)).await.map_err(short)?;
    check_csrf(&viewer.authed.session, &token)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::EventRead)
        .await?;
    let permit = Audit(&app).permit_trace(auth);
    let max = permit.max_bytes;
    let too_large = || WebError::from(AppError::TooLarge { limit: max });
    // The form around the file (token, boundaries, part headers) is small.
    if limited::declared(&headers).is_some_and(|n| n > max + FORM_OVERHEAD) {
        return Err(too_large());
    }
    let content = match form.next_field().await.map_err(bad_form)? {
        Some(field) if field.name() == Some("file") => {
            limited::read(limited::field(field), None, max)
                .await
                .map_err(|s| match s {
                    limited::Short::TooLarge => too_large(),
                    other => short(other),
                })?
        }
        Some(_) => return Err(WebError::Csrf),
        None => {
            return Err(AppError::invalid(ErrorCode::FileMissing, "choose a file to trace").into());
        }
    };
    match Audit(&app).trace_copy(permit, content).await {
        Ok(report) => Ok(render(&viewer, Some(&report), None).into_response()),
        // The file carries no readable mark (or is not a format marks live
        // in): the form again, with why.
        Err(e @ AppError::Invalid { .. }) => {
            let page = render(&viewer, None, Some(&e.to_string()));
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn bad_form(e: axum::extract::multipart::MultipartError) -> WebError {
    AppError::invalid(
        ErrorCode::InvalidForm,
        format!(
            "the trace form is malformed: {}",
            limited::multipart_reason(&e)
        ),
    )
    .into()
}

pub(super) fn short(s: limited::Short) -> WebError {
    match s {
        limited::Short::TooLarge => AppError::invalid(
            ErrorCode::FormFieldTooLarge,
            format!(
                "a text field of the trace form is at most {} bytes",
                limited::MAX_FORM_TEXT
            ),
        )
        .into(),
        limited::Short::Failed(e) => AppError::invalid(
            ErrorCode::InvalidForm,
            format!("the trace form is malformed: {e}"),
        )
        .into(),
    }
}

fn render(viewer: &Viewer, report: Option<&TraceReport>, error: Option<&str>) -> Markup {
    let header = viewer.header();
    let body = html! {
        section.card {
            h1 { "Trace a leaked copy" }
            p { "Upload a file found outside: a downloaded copy, a page of the viewer, a screenshot. Custody reads the watermark it carries and names who received it, with evidence from the ledger." }
            @if let Some(e) = error {
                p.error #trace-error role="alert" { (e) }
            }
            form.stack #trace-form method="post" action="/trace" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                label { "File" input #trace-file type="file" name="file" required; }
                button #trace-button type="submit" { "Trace" }
            }
        }
        @if let Some(r) = report {
            (result(r))
        }
    };
    layout::page("Trace", Some(header), body)
}

fn result(r: &TraceReport) -> Markup {
    let bundle = r
        .evidence
        .as_ref()
        .and_then(|b| serde_json::to_vec_pretty(b).ok());
    html! {
        section.card #trace-result {
            h2 { "Mark " code #trace-mark-id { (r.mark_id) } }
            p { "Read from the " (r.kind) " mark, confidence " (format!("{:.9}", r.confidence)) ". " (r.detail) }
            @if r.issued_by.is_empty() {
                p.error #trace-unknown role="alert" { "No download or view in the ledger issued this mark." }
            } @else {
                table #trace-issues {
                    thead { tr { th { "Recipient" } th { "Party" } th { "When" } th { "What" } th { "Version" } th { "Request" } } }
                    tbody {
                        @for (n, event) in r.issued_by.iter().enumerate() {
                            @let who = r.recipients.get(n).and_then(Option::as_ref);
                            tr {
                                td {
                                    @if let Some(w) = who { (w.name) " <" (w.email) ">" }
                                    @else { (event["actor_user"].as_str().unwrap_or("-")) }
                                }
                                td { (who.map_or("-", |w| w.party_name.as_str())) }
                                td { (event["time_ms"].as_i64().map(layout::time).unwrap_or_default()) }
                                td { (event["action"].as_str().unwrap_or("-")) " " code { (event["target"].as_str().unwrap_or("-")) } }
                                td { (event["detail"]["version"].as_i64().map_or_else(|| "-".to_owned(), |v| v.to_string())) }
                                td { code { (event["request_id"].as_str().unwrap_or("-")) } }
                            }
                        }
                    }
                }
            }
            @if let (Some(evidence), Some(bundle)) = (&r.evidence, &bundle) {
                h3 { "Ledger evidence" }
                ul #trace-entries {
                    @for e in &evidence.entries {
                        li {
                            "Entry " (e.index) ", leaf hash " code { (e.leaf_hash) } ", inclusion proof of "
                            (e.proof.as_ref().map_or(0, Vec::len)) " hashes"
                        }
                    }
                }
                p {
                    a #trace-evidence download="custody-evidence.json"
                        href=(format!("data:application/json;base64,{}", STANDARD.encode(bundle))) {
                        "Save the evidence bundle"
                    }
                    " — it verifies offline with " code { "custody ledger verify --bundle" } ", against the signed checkpoint it carries."
                }
            }
        }
    }
}
