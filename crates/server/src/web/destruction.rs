//! Destruction, retention and legal holds in the browser (docs/destruction.md).
//! `/rooms/{id}/destroy`: the room's managers (owner side) and admins set its
//! retention, ask for its destruction, see exactly what would be destroyed and,
//! at or below `internal`, confirm it. `/destructions`: the owner's staff read
//! every request; admins and security officers who did not ask approve (the
//! destruction then runs) or reject; a destroyed room's certificate downloads
//! from its request. `/legal-holds`: security officers and admins set and
//! release holds.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::{Action, App, AppError, Destruction, Holds, Identity, Rooms, act};
use model::{PartyKind, RoomId};

use super::admin::{Done, Failed, Fields, again, csrf_field, done, may, path_id, refusal, select};
use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};

/// The pages' routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/rooms/{id}/destroy", post(request))
        .route("/rooms/{id}/retention", post(retention))
        .route("/rooms/{id}/destroy/{did}/confirm", post(confirm))
        .route("/destructions/{id}/{decision}", post(decide))
        .route("/legal-holds", post(set_hold))
        .route("/purge-settings", post(grace))
        .route("/legal-holds/{id}/release", post(release_hold))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/rooms/{id}/destroy", get(room_page))
        .route("/destructions", get(list_page))
        .route("/destructions/{id}", get(show))
        .route("/destructions/{id}/certificate.json", get(certificate))
        .route("/legal-holds", get(holds_page))
        .merge(forms)
}

/// A form's number of days (empty: none); anything else is `bad_retention`
/// naming `what` ("a retention period").
pub(crate) fn days_field(raw: Option<&str>, what: &str) -> Result<Option<i64>, AppError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    raw.parse().map(Some).map_err(|_| {
        AppError::invalid(
            model::ErrorCode::BadRetention,
            format!("{what} is a whole number of days"),
        )
    })
}

/// The manifest of a request as a table: what is (to be) destroyed.
fn manifest_table(d: &Destruction) -> Markup {
    let manifest: serde_json::Value = serde_json::from_str(&d.manifest).unwrap_or_default();
    let versions = manifest["versions"].as_array().cloned().unwrap_or_default();
    let keys: Vec<String> = manifest["key_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    html! {
        p #destruction-summary {
            "Room " strong { (manifest["room"]["name"].as_str().unwrap_or("")) }
            " (" (manifest["room"]["classification"].as_str().unwrap_or("")) "): "
            strong #destruction-count { (versions.len()) } " file versions; key "
            code { (keys.join(", ")) } " will be destroyed. Digest of this list: "
            code #manifest-sha { (d.manifest_sha256) }
        }
        @if let Some(to) = manifest["rekeyed_to"].as_str() {
            p #purge-rekey { "A purge of these files only: everything else in the room is first re-wrapped under the room's new key " code { (to) } "." }
        }
        @if versions.is_empty() {
            p.muted { "The room holds no file." }
        } @else {
            table #destruction-manifest {
                thead { tr { th { "File" } th { "Version" } th { "SHA-256" } th { "Bytes" } } }
                tbody {
                    @for v in &versions {
                        tr {
                            td {
                                (v["file"].as_str().unwrap_or(""))
                                @if v["deleted"].as_bool() == Some(true) { " " span.muted { "(deleted)" } }
                            }
                            td { (v["number"]) }
                            td { code { (v["sha256"].as_str().unwrap_or("")) } }
                            td { (v["size"]) }
                        }
                    }
                }
            }
        }
    }
}

fn state_line(d: &Destruction) -> Markup {
    html! {
        p { "State: " strong #destruction-state { (d.state) } " · requested " (layout::time(d.requested_ms)) " · reason: " (d.reason) }
        @if let Some(note) = &d.decision_note { p { "Decision: " (note) } }
        @if let Some(at) = d.destroyed_ms { p { "Destroyed " (layout::time(at)) "." } }
    }
}

/// `GET /rooms/{id}/destroy`.
pub async fn room_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_room(&app, &meta, &viewer, path_id(&raw)?, &ok, None).await
}

async fn render_room(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: RoomId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .room(meta, &viewer.authed.principal, id, act::RoomDestroy)
        .await?;
    let room = auth.target().room.clone();
    let (days, last) = Rooms(app).room_destruction(auth).await?;
    let open = last.as_ref().filter(|d| d.state == "requested");
    let v = |form: &str, name: &str, current: &str| Failed::value(failed, form, name, current);
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href=(format!("/rooms/{id}")) { (room.name) } span.sep { "/" } a href=(format!("/rooms/{id}/settings")) { "Settings" } span.sep { "/" } "Destruction" }
            h1 { "Destroy " (room.name) }
            (ok.notice())
            p { "A destroyed room's key is destroyed: every copy of its content, here and in every backup of the data directory, can never be decrypted again. A certificate of destruction records what was destroyed, when and by whose decision." }
            @if room.classification > model::Classification::Internal {
                p #four-eyes-note { "This room is " strong { (room.classification.as_str()) } ": a second person — an admin or security officer other than you — must approve its destruction." }
            }
        }
        section.card {
            h2 { "Retention" }
            p #retention-current {
                @match days {
                    Some(d) => { "This room is destroyed " (d) " days after its creation (" (layout::time(room.created_ms + d * 86_400_000)) ")." }
                    None => { "No retention period: the room is kept until someone destroys it." }
                }
            }
            (Failed::alert_for(failed, "retention-form"))
            form.stack #retention-form method="post" action=(format!("/rooms/{id}/retention")) {
                (csrf_field(&viewer.csrf))
                label for="retention-days" { "Days after creation (empty: keep)" }
                input #retention-days type="number" name="days" min="1" max="36500" value=(v("retention-form", "days", &days.map(|d| d.to_string()).unwrap_or_default()));
                button #retention-save type="submit" { "Save the retention period" }
            }
        }
        @if let Some(d) = open {
            section.card #open-destruction {
                h2 { "Requested destruction" }
                (state_line(d))
                (manifest_table(d))
                (Failed::alert_for(failed, "confirm-form"))
                @if d.needs_approval {
                    p #awaiting-approval { "Waiting for approval by an admin or security officer other than the requester." }
                } @else {
                    form.stack #confirm-form method="post" action=(format!("/rooms/{id}/destroy/{}/confirm", d.id)) {
                        (csrf_field(&viewer.csrf))
                        input type="hidden" name="manifest_sha256" value=(d.manifest_sha256);
                        button.danger #destroy-confirm type="submit" { "Destroy exactly this, for good" }
                    }
                }
            }
        } @else {
            section.card {
                h2 { "Ask for its destruction" }
                @if let Some(d) = &last { (state_line(d)) }
                (Failed::alert_for(failed, "destroy-form"))
                form.stack #destroy-form method="post" action=(format!("/rooms/{id}/destroy")) {
                    (csrf_field(&viewer.csrf))
                    label for="destroy-reason" { "Reason" }
                    input #destroy-reason type="text" name="reason" maxlength="500" required value=(v("destroy-form", "reason", ""));
                    button.danger #destroy-request type="submit" { "Show what would be destroyed" }
                }
            }
        }
    };
    Ok(layout::page(
        &format!("Destroy {}", room.name),
        Some(viewer.header()),
        body,
    ))
}

/// Runs a room form's use-case; on refusal, the page again with the message.
async fn room_form(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: RoomId,
    f: &Fields,
    form: &'static str,
    result: Result<&'static str, AppError>,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/rooms/{id}/destroy"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_room(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `POST /rooms/{id}/destroy`.
pub async fn request(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let result = async {
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomDestroy)
            .await?;
        Rooms(&app)
            .request_destruction(auth, f.get("reason"))
            .await?;
        Ok("destruction-requested")
    }
    .await;
    room_form(&app, &meta, &viewer, id, &f, "destroy-form", result).await
}

/// `POST /rooms/{id}/retention`.
pub async fn retention(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let result = async {
        let days = days_field(f.opt("days"), "a retention period")?;
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomDestroy)
            .await?;
        Rooms(&app).set_retention(auth, days).await?;
        Ok("retention-saved")
    }
    .await;
    room_form(&app, &meta, &viewer, id, &f, "retention-form", result).await
}

/// `POST /rooms/{id}/destroy/{did}/confirm`: destroys; then the rooms.
pub async fn confirm(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, did)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let result = async {
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomDestroy)
            .await?;
        Rooms(&app)
            .confirm_destruction(auth, &did, f.get("manifest_sha256"))
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(done("/", "room-destroyed")),
        Err(e) => room_form(&app, &meta, &viewer, id, &f, "confirm-form", Err(e)).await,
    }
}

/// `GET /destructions`.
pub async fn list_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::DestructionRead)
        .await?;
    let items = Rooms(&app).list_destructions(auth, None).await?;
    let grace = if may(&app, &meta, &viewer, Action::RetentionManage) {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::RetentionManage)
            .await?;
        Some(app::Purges(&app).purge_grace(auth).await?)
    } else {
        None
    };
    let body = html! {
        section.card {
            h1 { "Destruction" }
            (ok.notice())
            p { "Requests to destroy rooms, and purges of files (crypto-shredding), newest first. A room above " code { "internal" } " is destroyed only once a second person approves; a legal hold refuses it." }
            @if items.is_empty() {
                p #destructions-empty { "No destruction was requested." }
            } @else {
                table #destructions {
                    thead { tr { th { "Room" } th { "What" } th { "State" } th { "Requested" } th { "Reason" } th { "Approval" } } }
                    tbody {
                        @for d in &items {
                            tr id=(format!("destruction-{}", d.id)) {
                                td { a href=(format!("/destructions/{}", d.id)) { (room_name(d)) } }
                                td.kind { @if d.kind == app::purge::KIND { "files purged" } @else { "whole room" } }
                                td.state { (d.state) }
                                td { (layout::time(d.requested_ms)) }
                                td { (d.reason) }
                                td { @if d.needs_approval { "four eyes" } @else { "not needed" } }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        (body)
        @if let Some(g) = grace {
            section.card #purge-grace {
                h2 { "Purge of deleted files" }
                p #purge-grace-current {
                    @match g.days {
                        Some(d) => { "Deleted files are purged " (d) " days after their deletion: their room is re-keyed and the old key destroyed, so no copy, here or in a backup, can be decrypted again." }
                        None => { "Deleted files are kept (encrypted, out of every listing) until their room is destroyed." }
                    }
                    @if let Some(at) = g.set_ms { " Set " (layout::time(at)) "." }
                }
                form.stack #purge-grace-form method="post" action="/purge-settings" {
                    (csrf_field(&viewer.csrf))
                    label for="purge-grace-days" { "Days after deletion (empty: keep deleted files)" }
                    input #purge-grace-days type="number" name="days" min="0" max="36500" value=(g.days.map(|d| d.to_string()).unwrap_or_default());
                    button #purge-grace-save type="submit" { "Save the grace period" }
                }
            }
        }
    };
    Ok(layout::page("Destruction", Some(viewer.header()), body))
}

/// `POST /purge-settings`: the grace period of deleted files (admins).
pub async fn grace(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let days = days_field(f.opt("days"), "a grace period")?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::RetentionManage)
        .await?;
    app::Purges(&app).set_purge_grace(auth, days).await?;
    Ok(done("/destructions", "grace-saved"))
}

fn room_name(d: &Destruction) -> String {
    serde_json::from_str::<serde_json::Value>(&d.manifest)
        .ok()
        .and_then(|m| m["room"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| d.room_id.to_string())
}

/// `GET /destructions/{id}`.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_show(&app, &meta, &viewer, &raw, &ok, None).await
}

async fn render_show(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    id: &str,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::DestructionRead)
        .await?;
    let d = Rooms(app).get_destruction(auth, id).await?;
    let decides = may(app, meta, viewer, Action::DestructionDecide)
        && d.state == "requested"
        && d.needs_approval;
    let own = d.requested_by == viewer.authed.principal.user_id;
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/destructions" { "Destruction" } span.sep { "/" } (room_name(&d)) }
            h1 { "Destruction of " (room_name(&d)) }
            (ok.notice())
            (state_line(&d))
            (manifest_table(&d))
            @if d.state == "destroyed" {
                p { a #certificate-link href=(format!("/destructions/{}/certificate.json", d.id)) download { "Download the certificate of destruction" } }
                p.muted { "Check it offline with " code { "custody certificate verify FILE --key VERIFIER-KEY" } "." }
            }
        }
        @if decides {
            section.card {
                h2 { "Decide" }
                @if own {
                    p #own-request { "You asked for this destruction: a second person must approve it." }
                } @else {
                    (Failed::alert_for(failed, "approve-form"))
                    form.stack #approve-form method="post" action=(format!("/destructions/{}/approve", d.id)) {
                        (csrf_field(&viewer.csrf))
                        input type="hidden" name="manifest_sha256" value=(d.manifest_sha256);
                        button.danger #destruction-approve type="submit" { "Approve: destroy exactly this, for good" }
                    }
                }
                (Failed::alert_for(failed, "reject-form"))
                form.stack #reject-form method="post" action=(format!("/destructions/{}/reject", d.id)) {
                    (csrf_field(&viewer.csrf))
                    label for="reject-reason" { "Reason to reject" }
                    input #reject-reason type="text" name="reason" maxlength="500" required value=(Failed::value(failed, "reject-form", "reason", ""));
                    button #destruction-reject type="submit" { "Reject" }
                }
            }
        }
    };
    Ok(layout::page("Destruction", Some(viewer.header()), body))
}

/// `POST /destructions/{id}/approve` (the destruction then runs) and
/// `POST /destructions/{id}/reject`: back to the request, or its page again
/// with the refusal above the form that was posted.
pub async fn decide(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((id, decision)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let (form, key) = match decision.as_str() {
        "approve" => ("approve-form", "destruction-approved"),
        "reject" => ("reject-form", "destruction-rejected"),
        _ => return Err(WebError::App(AppError::NotFound)),
    };
    let result = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::DestructionDecide)
            .await?;
        let rooms = Rooms(&app);
        if decision == "approve" {
            rooms
                .approve_destruction(auth, &id, f.get("manifest_sha256"))
                .await
        } else {
            rooms.reject_destruction(auth, &id, f.get("reason")).await
        }
    }
    .await;
    match result {
        Ok(d) => Ok(done(&format!("/destructions/{}", d.id), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: &f,
            };
            let page =
                render_show(&app, &meta, &viewer, &id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /destructions/{id}/certificate.json`.
pub async fn certificate(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let auth = app
        .system(&meta, &viewer.authed.principal, act::DestructionRead)
        .await?;
    let cert = Rooms(&app).certificate(auth, &id).await?;
    let body =
        serde_json::to_vec_pretty(&cert).map_err(|e| WebError::App(AppError::internal(e)))?;
    let name = format!("attachment; filename=\"certificate-of-destruction-{id}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}

/// `GET /legal-holds`.
pub async fn holds_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_holds(&app, &meta, &viewer, &ok, None).await
}

async fn render_holds(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::LegalHoldManage).await?;
    let holds = Holds(app).list_holds(auth, false).await?;
    let auth = app.system(meta, p, act::RoomList).await?;
    let rooms: Vec<(String, String)> = Rooms(app)
        .list_rooms(auth)
        .await?
        .into_iter()
        .map(|r| (r.room.id.to_string(), r.room.name))
        .collect();
    let auth = app.system(meta, p, act::PartyList).await?;
    let parties: Vec<(String, String)> = Identity(app)
        .list_parties(auth)
        .await?
        .into_iter()
        .filter(|x| x.kind == PartyKind::External)
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let label = |scope: &str, target: &str| -> String {
        let list = if scope == "room" { &rooms } else { &parties };
        list.iter()
            .find(|(id, _)| id == target)
            .map_or_else(|| target.to_owned(), |(_, name)| name.clone())
    };
    let v = |name: &str, current: &str| Failed::value(failed, "hold-form", name, current);
    let body = html! {
        section.card {
            h1 { "Legal holds" }
            (ok.notice())
            p { "While a hold is in force, nothing it covers can be destroyed (destruction, retention) or redacted from the audit log. A hold on a party covers every room it or one of its users has or had a grant in, and its users' events." }
            @if holds.is_empty() {
                p #holds-empty { "No legal hold was set." }
            } @else {
                table #holds {
                    thead { tr { th { "Covers" } th { "Reason" } th { "Set" } th { "State" } th {} } }
                    tbody {
                        @for h in &holds {
                            tr id=(format!("hold-{}", h.id)) {
                                td { (h.scope) ": " (label(&h.scope, &h.target_id)) }
                                td { (h.reason) }
                                td { (layout::time(h.set_ms)) }
                                td.state {
                                    @match h.released_ms {
                                        Some(at) => { "released " (layout::time(at)) }
                                        None => { "in force" }
                                    }
                                }
                                td {
                                    @if h.released_ms.is_none() {
                                        form.inline method="post" action=(format!("/legal-holds/{}/release", h.id)) {
                                            (csrf_field(&viewer.csrf))
                                            label.visually-hidden for=(format!("release-reason-{}", h.id)) { "Reason to release" }
                                            input id=(format!("release-reason-{}", h.id)) type="text" name="reason" maxlength="500" required placeholder="reason to release";
                                            button.release type="submit" { "Release" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Set a hold" }
            (Failed::alert_for(failed, "hold-form"))
            form.stack #hold-form method="post" action="/legal-holds" {
                (csrf_field(&viewer.csrf))
                label for="hold-scope" { "Covers" }
                (select("hold-scope", "scope", &[("room", "one room"), ("party", "one party")], &v("scope", "room")))
                label for="hold-room" { "Room (covers: one room)" }
                select #hold-room name="room" {
                    option value="" { "—" }
                    @for (id, name) in &rooms { option value=(id) selected[*id == v("room", "")] { (name) } }
                }
                label for="hold-party" { "Party (covers: one party)" }
                select #hold-party name="party" {
                    option value="" { "—" }
                    @for (id, name) in &parties { option value=(id) selected[*id == v("party", "")] { (name) } }
                }
                label for="hold-reason" { "Reason" }
                input #hold-reason type="text" name="reason" maxlength="500" required value=(v("reason", ""));
                button.primary #hold-set type="submit" { "Set the hold" }
            }
        }
    };
    Ok(layout::page("Legal holds", Some(viewer.header()), body))
}

async fn hold_form(
    app: &App,
    meta: &app::RequestMeta,
    viewer: &Viewer,
    f: &Fields,
    result: Result<&'static str, AppError>,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done("/legal-holds", key)),
        Err(e) => {
            let failed = Failed {
                form: "hold-form",
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_holds(app, meta, viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `POST /legal-holds`.
pub async fn set_hold(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let result = async {
        let scope = f.get("scope");
        let target = if scope == "party" {
            f.get("party")
        } else {
            f.get("room")
        };
        let scope = crate::api::hold_scope(scope, target).map_err(|_| {
            AppError::invalid(
                model::ErrorCode::UnknownName,
                "choose the room or party the hold covers",
            )
        })?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::LegalHoldManage)
            .await?;
        Holds(&app).set_hold(auth, scope, f.get("reason")).await?;
        Ok("hold-set")
    }
    .await;
    hold_form(&app, &meta, &viewer, &f, result).await
}

/// `POST /legal-holds/{id}/release`.
pub async fn release_hold(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let result = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::LegalHoldManage)
            .await?;
        Holds(&app).release_hold(auth, &id, f.get("reason")).await?;
        Ok("hold-released")
    }
    .await;
    hold_form(&app, &meta, &viewer, &f, result).await
}
