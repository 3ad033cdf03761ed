//! The audit pages (auditors, security officers, admins; `event.read`): the
//! audit log explorer (`/audit`) — events newest first, filtered by actor
//! e-mail, party, room, file, action, outcome and time, each with its ledger
//! index and a "Check proof" button whose script (`assets/audit.js`) fetches
//! the entry, the inclusion proof, the latest signed checkpoint and the
//! verifier key from the API and verifies them in the browser —, the export
//! of the filter's evidence bundle, and the ledger's signed checkpoints with
//! the verifier key (`/audit/checkpoints`), where the same script checks that
//! each checkpoint extends the one before (consistency proof). Whether the caller may read the
//! log is the seam's decision before `Audit::explore_events` and
//! `Audit::ledger_checkpoint_report`.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use app::events::EventFilter;
use app::{App, AppError, Audit, ErrorCode, EventAction, ExploreQuery, Explored, act};
use model::Outcome;

use super::layout;
use super::{Viewer, WebError};
use crate::auth::Meta;

/// Events per page of the explorer.
const PAGE: i64 = 50;
/// Checkpoints per page.
const CHECKPOINTS_PAGE: i64 = 100;

/// The audit pages (all are reads: no form posts).
pub fn router() -> Router<App> {
    Router::new()
        .route("/audit", get(explorer))
        .route("/audit/checkpoints", get(checkpoints))
}

/// The explorer's filters as the form sends them; empty fields are absent.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

fn given(field: &str) -> Option<&str> {
    Some(field.trim()).filter(|f| !f.is_empty())
}

fn bad_filter(message: String) -> AppError {
    AppError::invalid(ErrorCode::BadFilter, message)
}

fn id<T: std::str::FromStr>(name: &str, raw: &str) -> Result<Option<T>, AppError> {
    given(raw)
        .map(|r| {
            r.parse()
                .map_err(|_| bad_filter(format!("{name}: `{r}` is not an id")))
        })
        .transpose()
}

/// A time of the form: `datetime-local` (`2026-03-01T09:30`, seconds
/// optional), read as UTC, or RFC 3339.
fn time_ms(name: &str, raw: &str) -> Result<Option<i64>, AppError> {
    let Some(r) = given(raw) else {
        return Ok(None);
    };
    let bad = || bad_filter(format!("{name}: `{r}` is not a time (UTC)"));
    let with_zone = if r.len() <= 19 && !r.ends_with('Z') {
        let seconds = if r.len() == 16 { ":00" } else { "" };
        format!("{r}{seconds}Z")
    } else {
        r.to_owned()
    };
    let t = OffsetDateTime::parse(&with_zone, &Rfc3339).map_err(|_| bad())?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map(Some)
        .map_err(|_| bad())
}

/// `datetime-local` text of a Unix-milliseconds time, in UTC.
fn local_input(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

impl AuditQuery {
    /// The checked query of the use-case.
    fn explore(&self) -> Result<ExploreQuery, AppError> {
        let action = given(&self.action).map(str::to_owned);
        let (action, action_prefix) = match action {
            Some(a) if a.ends_with('.') => (None, Some(a)),
            other => (other, None),
        };
        let outcome = given(&self.outcome)
            .map(|o| {
                Outcome::parse(o)
                    .map_err(|_| bad_filter(format!("outcome: `{o}` is not allowed or denied")))
            })
            .transpose()?;
        let before = given(&self.before)
            .map(|b| {
                b.parse::<i64>()
                    .map_err(|_| bad_filter(format!("before: `{b}` is not a sequence number")))
            })
            .transpose()?;
        Ok(ExploreQuery {
            filter: EventFilter {
                party: id("party", &self.party)?,
                room: id("room", &self.room)?,
                file: id("file", &self.file)?,
                action,
                action_prefix,
                outcome,
                from_ms: time_ms("from", &self.from)?,
                to_ms: time_ms("to", &self.to)?,
                before,
                limit: PAGE,
                ..EventFilter::default()
            },
            actor_email: given(&self.actor).map(str::to_owned),
        })
    }

    /// This query's filters with `before` replaced, as a link's query string.
    fn href(&self, before: Option<i64>) -> String {
        let mut q = AuditQuery {
            before: before.map(|b| b.to_string()).unwrap_or_default(),
            ..self.clone()
        };
        q.before = q.before.trim().to_owned();
        let mut out = String::from("/audit");
        let pairs = [
            ("actor", &q.actor),
            ("party", &q.party),
            ("room", &q.room),
            ("file", &q.file),
            ("action", &q.action),
            ("outcome", &q.outcome),
            ("from", &q.from),
            ("to", &q.to),
            ("before", &q.before),
        ];
        let mut sep = '?';
        for (name, value) in pairs {
            if let Some(v) = given(value) {
                let _ = write!(out, "{sep}{name}={}", escape(v));
                sep = '&';
            }
        }
        out
    }
}

/// Percent-encodes a query value (unreserved characters kept).
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The API's evidence bundle of the filter as it ran (the actor resolved to
/// its id; no paging): `GET /api/v1/ledger/bundle?…`.
fn bundle_href(f: &EventFilter) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(v) = f.actor {
        pairs.push(("actor", v.to_string()));
    }
    if let Some(v) = f.party {
        pairs.push(("party", v.to_string()));
    }
    if let Some(v) = f.room {
        pairs.push(("room", v.to_string()));
    }
    if let Some(v) = f.file {
        pairs.push(("file", v.to_string()));
    }
    if let Some(v) = f.action.as_ref().or(f.action_prefix.as_ref()) {
        pairs.push(("action", v.clone()));
    }
    if let Some(v) = f.outcome {
        pairs.push(("outcome", v.as_str().to_owned()));
    }
    if let Some(v) = f.from_ms {
        pairs.push(("from", crate::dto::rfc3339(v)));
    }
    if let Some(v) = f.to_ms {
        pairs.push(("to", crate::dto::rfc3339(v)));
    }
    let mut out = String::from("/api/v1/ledger/bundle");
    for (n, (name, value)) in pairs.iter().enumerate() {
        let sep = if n == 0 { '?' } else { '&' };
        let _ = write!(out, "{sep}{name}={}", escape(value));
    }
    out
}

/// `GET /audit`: the explorer. A filter that cannot run (an unknown e-mail, a
/// malformed time) shows the form again with why, and no events.
pub async fn explorer(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::EventRead)
        .await?;
    let explored = match q.explore() {
        Ok(query) => Audit(&app).explore_events(auth, query).await,
        Err(e) => Err(e),
    };
    match explored {
        Ok(page) => Ok(render(&viewer, &q, &page, None).into_response()),
        Err(e @ AppError::Invalid { .. }) => {
            // The choices of the filters still show, so the form can be fixed.
            let auth = app
                .system(&meta, &viewer.authed.principal, act::EventRead)
                .await?;
            let query = ExploreQuery {
                filter: EventFilter {
                    limit: 1,
                    // No event has a sequence number below 1.
                    before: Some(1),
                    ..EventFilter::default()
                },
                actor_email: None,
            };
            let choices = Audit(&app).explore_events(auth, query).await?;
            let page = render(&viewer, &q, &choices, Some(&e.to_string()));
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The action filter's choices: each family (`file.`) then its actions.
fn action_choices(selected: &str) -> Markup {
    let mut names: Vec<&'static str> = EventAction::all().map(EventAction::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut families: Vec<&str> = names
        .iter()
        .filter_map(|n| n.split_once('.').map(|(f, _)| f))
        .collect();
    families.dedup();
    html! {
        option value="" selected[selected.is_empty()] { "Any action" }
        @for family in &families {
            @let prefix = format!("{family}.");
            optgroup label=(family) {
                option value=(prefix) selected[selected == prefix] { "every " (prefix) "* action" }
                @for name in names.iter().filter(|n| n.starts_with(&prefix)) {
                    option value=(name) selected[selected == *name] { (name) }
                }
            }
        }
    }
}

fn filters(q: &AuditQuery, page: &Explored) -> Markup {
    let from = page
        .filter
        .from_ms
        .map(local_input)
        .unwrap_or_else(|| q.from.clone());
    let to = page
        .filter
        .to_ms
        .map(local_input)
        .unwrap_or_else(|| q.to.clone());
    html! {
        form.filters #audit-filters method="get" action="/audit" {
            div.field {
                label for="filter-actor" { "Actor (e-mail)" }
                input #filter-actor type="email" name="actor" value=(q.actor);
            }
            div.field {
                label for="filter-party" { "Party" }
                select #filter-party name="party" {
                    option value="" selected[q.party.is_empty()] { "Any party" }
                    @for (id, name) in &page.parties {
                        @let v = id.to_string();
                        option value=(v) selected[q.party == v] { (name) }
                    }
                }
            }
            div.field {
                label for="filter-room" { "Room" }
                select #filter-room name="room" {
                    option value="" selected[q.room.is_empty()] { "Any room" }
                    @for (id, name) in &page.rooms {
                        @let v = id.to_string();
                        option value=(v) selected[q.room == v] { (name) }
                    }
                }
            }
            div.field {
                label for="filter-file" { "File id" }
                input #filter-file type="text" name="file" value=(q.file)
                    pattern="[0-9a-fA-F-]{36}" aria-describedby="filter-file-help";
                small #filter-file-help { "A file's events: follow a file's name in the list." }
            }
            div.field {
                label for="filter-action" { "Action" }
                select #filter-action name="action" { (action_choices(q.action.trim())) }
            }
            div.field {
                label for="filter-outcome" { "Outcome" }
                select #filter-outcome name="outcome" {
                    option value="" selected[q.outcome.is_empty()] { "Any outcome" }
                    option value="allowed" selected[q.outcome == "allowed"] { "allowed" }
                    option value="denied" selected[q.outcome == "denied"] { "denied" }
                }
            }
            div.field {
                label for="filter-from" { "From (UTC)" }
                input #filter-from type="datetime-local" step="1" name="from" value=(from);
            }
            div.field {
                label for="filter-to" { "Before (UTC)" }
                input #filter-to type="datetime-local" step="1" name="to" value=(to);
            }
            div.actions {
                button.primary #filter-apply type="submit" { "Show events" }
                " "
                a #filter-clear href="/audit" { "Clear filters" }
            }
        }
    }
}

/// A target for people, linked to its file's events when it is a file.
fn target_cell(e: &app::ExploredEvent) -> Markup {
    let file = e
        .event
        .target
        .strip_prefix("file:")
        .filter(|id| id.parse::<model::FileId>().is_ok());
    html! {
        @if let Some(id) = file {
            a.target href=(format!("/audit?file={id}")) title=(e.event.target) { (e.target_label) }
        } @else {
            span.target title=(e.event.target) { (e.target_label) }
        }
    }
}

fn events_table(page: &Explored) -> Markup {
    html! {
        div.table-scroll {
            table.listing #events {
                thead {
                    tr {
                        th scope="col" { "Time (UTC)" }
                        th scope="col" { "Actor" }
                        th scope="col" { "Action" }
                        th scope="col" { "Target" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "Ledger index" }
                        th scope="col" { "Inclusion proof" }
                    }
                }
                tbody {
                    @for e in &page.items {
                        @let ev = &e.event;
                        tr.event id=(format!("event-{}", ev.seq))
                            data-seq=(ev.seq) data-action=(ev.action) data-target=(ev.target)
                            data-outcome=(ev.outcome.as_str()) data-time-ms=(ev.time_ms) {
                            td { time datetime=(crate::dto::rfc3339(ev.time_ms)) { (layout::time(ev.time_ms)) } }
                            td.actor {
                                @if let Some(email) = &e.actor_email { (email) }
                                @else if let Some(u) = ev.actor_user { code { (u) } }
                                @else { "—" }
                            }
                            td.action { code { (ev.action) } }
                            td { (target_cell(e)) }
                            td {
                                span class=(format!("outcome outcome-{}", ev.outcome.as_str())) { (ev.outcome.as_str()) }
                                @if let Some(reason) = &ev.reason {
                                    " " code.reason { (reason) }
                                }
                            }
                            td.ledger-index {
                                @if let Some(i) = e.index { (i) } @else { "—" }
                            }
                            td.proof {
                                @if let Some(i) = e.index {
                                    button.check-proof id=(format!("check-proof-{i}")) type="button" data-index=(i)
                                        aria-describedby=(format!("proof-result-{i}")) { "Check proof" }
                                    " "
                                    span.proof-result id=(format!("proof-result-{i}")) role="status" {}
                                } @else {
                                    "not in the ledger"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn render(viewer: &Viewer, q: &AuditQuery, page: &Explored, error: Option<&str>) -> Markup {
    let body = html! {
        section.card {
            h1 { "Audit log" }
            p {
                "Every recorded event, newest first. Each is a leaf of the tamper-evident ledger: "
                "“Check proof” has your browser fetch the entry, its inclusion proof, the latest signed "
                "checkpoint and the verifier key, and verify them itself. "
                a #checkpoints-link href="/audit/checkpoints" { "Signed checkpoints and the verifier key" }
                "."
            }
            (filters(q, page))
            @if let Some(e) = error {
                p.error #audit-error role="alert" { (e) }
            }
        }
        @if error.is_none() {
            section.card #audit-results aria-labelledby="results-heading" {
                h2 #results-heading { "Events" }
                p.export {
                    a.button.primary #export-bundle href=(bundle_href(&page.filter)) download="custody-evidence.json" {
                        "Export the evidence bundle"
                    }
                    " of these filters (up to 10,000 events, with their inclusion proofs, a signed checkpoint "
                    "and the verifier key); it verifies offline with "
                    code { "custody ledger verify --bundle" } "."
                }
                @if page.items.is_empty() {
                    p #no-events { "No event matches these filters." }
                } @else {
                    (events_table(page))
                }
                nav.pager aria-label="Pages of events" {
                    @if given(&q.before).is_some() {
                        a #newest-events href=(q.href(None)) { "Newest events" }
                        " "
                    }
                    @if let Some(before) = page.older {
                        a #older-events href=(q.href(Some(before))) { "Older events" }
                    }
                }
            }
        }
    };
    layout::page_with("Audit log", Some(viewer.header()), &["audit.js"], body)
}

/// Which checkpoints: those below a size (the next page).
#[derive(Debug, Default, Deserialize)]
pub struct CheckpointsQuery {
    #[serde(default)]
    below: Option<u64>,
}

/// `GET /audit/checkpoints`: the stored signed checkpoints, the largest
/// first, each checked against the verifier key; the key, its fingerprint and
/// a link to download it.
pub async fn checkpoints(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(q): Query<CheckpointsQuery>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::EventRead)
        .await?;
    let report = Audit(&app)
        .ledger_checkpoint_report(auth, q.below, CHECKPOINTS_PAGE)
        .await?;
    // The fingerprint of the file the link downloads (the key and a newline),
    // so that `sha256sum` of the download shows the same.
    let fingerprint = hex::encode(app::secrets::sha256(
        format!("{}\n", report.verifier_key).as_bytes(),
    ));
    let body = html! {
        section.card {
            h1 { "Ledger checkpoints" }
            p {
                "A checkpoint is the ledger's size and Merkle root, signed with the ledger's key. "
                "Each one below is checked against the verifier key: its signature, its origin and its size. "
                "“Check against” has your browser verify, with the consistency proof, that the log of that \
                 checkpoint only added to the log of the one before. "
                a href="/audit" { "Back to the audit log" }
            }
            h2 { "Verifier key" }
            p { code #verifier-key { (report.verifier_key) } }
            p {
                "SHA-256 fingerprint of the key file: "
                code #verifier-key-fingerprint { (fingerprint) }
                " (compare with " code { "sha256sum" } " of the download and with the key the operator publishes)."
            }
            p {
                a.button.primary #verifier-key-download href="/api/v1/ledger/verifier-key" download="custody-verifier.key" {
                    "Download the verifier key"
                }
            }
        }
        section.card aria-labelledby="checkpoints-heading" {
            h2 #checkpoints-heading { "Signed checkpoints" }
            @if report.items.is_empty() {
                p #no-checkpoints { "No checkpoint has been signed yet: one is signed every minute once the log grows, and whenever a proof is asked for." }
            } @else {
                table.listing #checkpoints {
                    thead { tr { th scope="col" { "Size" } th scope="col" { "Root (base64)" } th scope="col" { "Signed (UTC)" } th scope="col" { "Signature" } th scope="col" { "Consistency with the one before" } } }
                    tbody {
                        @for (n, c) in report.items.iter().enumerate() {
                            @let previous = report.items.get(n + 1).map(|p| p.size);
                            tr id=(format!("checkpoint-{}", c.size)) {
                                td.size { (c.size) }
                                td.root { code { (c.root.as_deref().unwrap_or("—")) } }
                                td { (layout::time(c.created_ms)) }
                                td.signature {
                                    @match &c.signature {
                                        Ok(()) => span.outcome-allowed { "verified" },
                                        Err(why) => span.outcome-denied { "does not verify: " (why) },
                                    }
                                }
                                td.consistency {
                                    @if let Some(old) = previous {
                                        button.check-consistency id=(format!("check-consistency-{}", c.size)) type="button"
                                            data-old=(old) data-new=(c.size)
                                            aria-describedby=(format!("consistency-result-{}", c.size)) { "Check against " (old) }
                                        span.proof-result id=(format!("consistency-result-{}", c.size)) role="status" {}
                                    } @else {
                                        "—"
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(below) = report.older {
                    nav.pager aria-label="Pages of checkpoints" {
                        a #older-checkpoints href=(format!("/audit/checkpoints?below={below}")) { "Older checkpoints" }
                    }
                }
            }
        }
    };
    Ok(layout::page_with(
        "Ledger checkpoints",
        Some(viewer.header()),
        &["audit.js"],
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_read_as_utc() {
        for (raw, want) in [
            ("", Some(None)),
            ("2026-03-01T09:30", Some(Some(1_772_357_400_000))),
            ("2026-03-01T09:30:15", Some(Some(1_772_357_415_000))),
            ("2026-03-01T09:30:15Z", Some(Some(1_772_357_415_000))),
            ("2026-03-01T10:30:15+01:00", Some(Some(1_772_357_415_000))),
            ("yesterday", None),
        ] {
            assert_eq!(time_ms("from", raw).ok(), want, "{raw}");
        }
        assert_eq!(local_input(1_772_357_415_000), "2026-03-01T09:30:15");
    }

    #[test]
    fn links_keep_the_filters() {
        let q = AuditQuery {
            actor: "a+b@example.com".into(),
            action: "file.".into(),
            before: "9".into(),
            ..AuditQuery::default()
        };
        assert_eq!(
            q.href(None),
            "/audit?actor=a%2Bb%40example.com&action=file."
        );
        assert_eq!(
            q.href(Some(5)),
            "/audit?actor=a%2Bb%40example.com&action=file.&before=5"
        );
        let f = EventFilter {
            action_prefix: Some("file.".into()),
            outcome: Some(Outcome::Denied),
            from_ms: Some(0),
            ..EventFilter::default()
        };
        assert_eq!(
            bundle_href(&f),
            "/api/v1/ledger/bundle?action=file.&outcome=denied&from=1970-01-01T00%3A00%3A00Z"
        );
    }
}
