//! Rooms for their managers and the owner's admins: a new room, and a room's
//! settings — name, classification, required agreements, field-of-use tags,
//! access window, required certifications; how copies leave it (delivery per role, and what happens to
//! a file that cannot be marked); its data-loss policy in and out; deleting
//! it after a confirmation. Each form asks the seam for its own action
//! (`room.update`, `dlp.policy`, `room.delete`); the use-cases ask again for
//! what only the owner's side may change (`room.conditions`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use app::authz::Action;
use app::dlp_policy::{DirectionPolicy, DlpAction, DlpPolicy, RoomDlp};
use app::{
    Agreements, App, AppError, Certifications, Courses, ErrorCode, RequestMeta, RoomInfo,
    RoomPatch, Rooms, act,
};
use model::{
    ANY_STANDARD, AccessWindow, AgreementKind, CUSTOM_PREFIX, Classification, Delivery,
    DeliveryPolicy, RoomId, STANDARDS, Unmarkable,
};

use super::{Done, Failed, Fields, again, csrf_field, done, names, path_id, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const SEVERITIES: [&str; 5] = ["low", "medium", "high", "critical", "uninspectable"];

/// `GET /rooms/new`.
pub async fn new_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
) -> Result<Markup, WebError> {
    // Only those who may create a room get the form.
    let _may = app
        .system(&meta, &viewer.authed.principal, act::RoomCreate)
        .await?;
    Ok(render_new(&viewer, None))
}

fn render_new(viewer: &Viewer, failed: Option<&Failed<'_>>) -> Markup {
    let classes = names(Classification::ALL, Classification::as_str);
    let v = |name: &str, current: &str| Failed::value(failed, "room-new-form", name, current);
    let body = html! {
        section.card {
            h1 { "New room" }
            p.muted { "You become the room's manager. Its required agreements, delivery and data-loss policy are set on its settings page next." }
            (Failed::alert_for(failed, "room-new-form"))
            form.stack #room-new-form method="post" action="/rooms/new" {
                (csrf_field(&viewer.csrf))
                label { "Name" input #new-room-name type="text" name="name" required maxlength="200" value=(v("name", "")); }
                label { "Classification" (select("new-room-classification", "classification", &classes, &v("classification", "internal"))) }
                div { button.primary #room-create type="submit" { "Create room" } }
            }
        }
    };
    layout::page("New room", Some(viewer.header()), body)
}

/// `POST /rooms/new`: to the new room's settings.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let classification = Classification::parse(f.get("classification"))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::RoomCreate)
            .await?;
        Rooms(&app)
            .create_room(auth, f.get("name"), classification)
            .await
    }
    .await;
    match made {
        Ok(info) => Ok(done(
            &format!("/rooms/{}/settings", info.room.id),
            "room-created",
        )),
        Err(e) => {
            let failed = Failed {
                form: "room-new-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            Ok(again(
                failed.refusal.status,
                render_new(&viewer, Some(&failed)),
            ))
        }
    }
}

/// What the settings page shows besides the room.
struct Settings {
    info: RoomInfo,
    delivery: DeliveryPolicy,
    dlp: Option<RoomDlp>,
    may_delete: bool,
    may_destroy: bool,
    /// Requirement keys to offer: the kinds, the templates the caller may
    /// read, and what the room requires already.
    requirements: Vec<(String, String)>,
    /// The standards the room itself requires of external parties.
    certifications: Vec<String>,
    /// The courses the room itself requires of external users (ids).
    courses: Vec<String>,
    /// Courses to offer, `(id, title)`: every course when the caller may
    /// list them, and those the room requires already.
    course_choices: Vec<(String, String)>,
}

async fn settings_of(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: RoomId,
) -> Result<Settings, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.room(meta, p, id, act::RoomUpdate).await?;
    let info = auth.target().clone();
    let delivery = Rooms(app).room_delivery(auth).await?;
    let auth = app.room(meta, p, id, act::RoomView).await?;
    let certifications = Certifications(app).room_requirements(auth).await?;
    let auth = app.room(meta, p, id, act::RoomView).await?;
    let courses = Courses(app).room_requirements(auth).await?;
    let mut course_choices = Vec::new();
    if app.permits_system(meta, p, &[Action::CourseList]).first() == Some(&true) {
        let auth = app.system(meta, p, act::CourseList).await?;
        for c in Courses(app).list(auth).await? {
            course_choices.push((c.id.to_string(), c.title.clone()));
        }
    }
    for key in &courses {
        if !course_choices.iter().any(|(k, _)| k == key) {
            course_choices.push((key.clone(), key.clone()));
        }
    }
    let shown = app
        .permits_in_room(
            meta,
            p,
            id,
            &[Action::DlpPolicy, Action::RoomDelete, Action::RoomDestroy],
        )
        .await?;
    let dlp = if shown.first() == Some(&true) {
        let auth = app.room(meta, p, id, act::DlpPolicy).await?;
        Some(Rooms(app).room_dlp(auth).await?)
    } else {
        None
    };
    let mut requirements: Vec<(String, String)> = AgreementKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), format!("any {}", kind_label(*k))))
        .collect();
    if app.permits_system(meta, p, &[Action::TemplateList]).first() == Some(&true) {
        let auth = app.system(meta, p, act::TemplateList).await?;
        for t in Agreements(app).list_templates(auth).await? {
            requirements.push((t.name.clone(), format!("{} (template {})", t.title, t.name)));
        }
    }
    for key in &info.required_agreements {
        if !requirements.iter().any(|(k, _)| k == key) {
            requirements.push((key.clone(), key.clone()));
        }
    }
    Ok(Settings {
        info,
        delivery,
        dlp,
        may_delete: shown.get(1) == Some(&true),
        may_destroy: shown.get(2) == Some(&true),
        requirements,
        certifications,
        courses,
        course_choices,
    })
}

fn kind_label(k: AgreementKind) -> &'static str {
    match k {
        AgreementKind::Nda => "NDA",
        AgreementKind::IpAssignment => "IP assignment",
        AgreementKind::Licence => "licence",
    }
}

/// `GET /rooms/{id}/settings`.
pub async fn settings(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    let s = settings_of(&app, &meta, &viewer, path_id(&raw)?).await?;
    Ok(render_settings(&viewer, &s, &ok, None))
}

fn render_settings(
    viewer: &Viewer,
    s: &Settings,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let room = &s.info.room;
    let id = room.id;
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href=(format!("/rooms/{id}")) { (room.name) } span.sep { "/" } "Settings" }
            div.titlebar {
                h1 #room-title { (room.name) }
                span class=(format!("badge badge-{}", room.classification.as_str())) { (room.classification.as_str()) }
            }
            (ok.notice())
            p { a #room-grants-link href=(format!("/rooms/{id}/grants")) { "Grants of this room" } }
        }
        (room_form(viewer, s, failed))
        (certs_form(viewer, s, failed))
        (courses_form(viewer, s, failed))
        (delivery_form(viewer, s, failed))
        @if let Some(dlp) = &s.dlp { (dlp_form(viewer, id, dlp, failed)) }
        @if s.may_destroy {
            section.card {
                h2 { "Retention and destruction" }
                p { "Destroying the room destroys its key: its content can never be decrypted again, in any backup either, and a certificate of destruction records it." }
                p { a #room-destroy-link href=(format!("/rooms/{id}/destroy")) { "Retention and destruction…" } }
            }
        }
        @if s.may_delete {
            section.card {
                h2 { "Delete the room" }
                p { "Its files stay encrypted at rest for the record; nobody can reach them any more." }
                p { a #room-delete-link href=(format!("/rooms/{id}/delete")) { "Delete this room…" } }
            }
        }
    };
    layout::page(
        &format!("{} settings", room.name),
        Some(viewer.header()),
        body,
    )
}

fn room_form(viewer: &Viewer, s: &Settings, failed: Option<&Failed<'_>>) -> Markup {
    let room = &s.info.room;
    let form = "room-form";
    let posted = failed.filter(|f| f.form == form).map(|f| f.fields);
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let required: Vec<String> = match posted {
        Some(f) => f.all("required").into_iter().map(str::to_owned).collect(),
        None => s.info.required_agreements.clone(),
    };
    let window = room.access_window.as_ref();
    let window_on = posted.map_or(window.is_some(), |f| f.checked("window"));
    let days: Vec<String> = match posted {
        Some(f) => f.all("day").into_iter().map(str::to_owned).collect(),
        None => window.map_or_else(
            || {
                vec!["1", "2", "3", "4", "5"]
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            },
            |w| w.days.iter().map(ToString::to_string).collect(),
        ),
    };
    let classes = names(Classification::ALL, Classification::as_str);
    html! {
        section.card {
            h2 { "Room" }
            (Failed::alert_for(failed, form))
            form.stack #room-form method="post" action=(format!("/rooms/{}/settings", room.id)) {
                (csrf_field(&viewer.csrf))
                label { "Name" input #room-name type="text" name="name" required maxlength="200" value=(v("name", &room.name)); }
                label { "Classification" (select("room-classification", "classification", &classes, &v("classification", room.classification.as_str()))) }
                fieldset #room-required {
                    legend { "Agreements an external party must have signed, and in term" }
                    @for (key, label) in &s.requirements {
                        label.check {
                            input id=(format!("required-{key}")) type="checkbox" name="required" value=(key) checked[required.contains(key)];
                            (label)
                        }
                    }
                }
                label { "Field-of-use tags (comma-separated, e.g. automotive)"
                    input #room-tags type="text" name="tags" value=(v("tags", &room.tags.join(", ")));
                }
                fieldset #room-window {
                    legend { "Access window for external parties" }
                    label.check { input #room-window-on type="checkbox" name="window" value="on" checked[window_on]; "Limit access to these days and hours" }
                    div.days {
                        @for (i, day) in DAYS.iter().enumerate() {
                            @let n = (i + 1).to_string();
                            label.check { input id=(format!("room-day-{n}")) type="checkbox" name="day" value=(n) checked[days.contains(&n)]; (day) }
                        }
                    }
                    div.row {
                        label { "From (HH:MM)" input #room-window-start type="text" name="start" inputmode="numeric" maxlength="5" value=(v("start", window.map_or("08:00", |w| w.start.as_str()))); }
                        label { "Until (HH:MM, 24:00 = end of day)" input #room-window-end type="text" name="end" inputmode="numeric" maxlength="5" value=(v("end", window.map_or("18:00", |w| w.end.as_str()))); }
                        label { "UTC offset (minutes, e.g. 60)" input #room-window-offset type="number" name="offset" min="-840" max="840" value=(v("offset", &window.map_or(0, |w| w.utc_offset_min).to_string())); }
                    }
                    @if let Some(w) = window { p.muted #room-window-now { "Now: " (w.describe()) } }
                }
                div { button.primary #room-save type="submit" { "Save room settings" } }
            }
        }
    }
}

fn certs_form(viewer: &Viewer, s: &Settings, failed: Option<&Failed<'_>>) -> Markup {
    let form = "room-certs-form";
    let posted = failed.filter(|f| f.form == form).map(|f| f.fields);
    let chosen: Vec<String> = match posted {
        Some(f) => f.all("standard").into_iter().map(str::to_owned).collect(),
        None => s.certifications.clone(),
    };
    let mut choices: Vec<(&str, &str)> = vec![(ANY_STANDARD, "any verified certificate")];
    choices.extend(STANDARDS.iter().copied());
    let custom = s
        .certifications
        .iter()
        .filter_map(|k| k.strip_prefix(CUSTOM_PREFIX))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        section.card {
            h2 { "Required certifications" }
            p.muted { "Certificates an external party must hold, verified and in term, to reach this room's content — beyond what its classification requires ("
                a href="/admin/classifications" { "by classification" } ")." }
            (Failed::alert_for(failed, form))
            form.stack #room-certs-form method="post" action=(format!("/rooms/{}/certifications", s.info.room.id)) {
                (csrf_field(&viewer.csrf))
                fieldset {
                    legend { "Standards" }
                    @for (key, label) in &choices {
                        label.check {
                            input id=(format!("room-cert-{key}")) type="checkbox" name="standard" value=(key) checked[chosen.iter().any(|c| c == key)];
                            (label)
                        }
                    }
                }
                label { "Other standards (names, comma-separated)"
                    input #room-cert-custom type="text" name="custom" maxlength="1000" value=(Failed::value(failed, form, "custom", &custom));
                }
                div { button.primary #room-certs-save type="submit" { "Save required certifications" } }
            }
        }
    }
}

/// `POST /rooms/{id}/certifications`: the standards the room requires.
pub async fn certifications(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let mut standards: Vec<String> = f.all("standard").into_iter().map(str::to_owned).collect();
    standards.extend(
        super::list(f.get("custom"))
            .into_iter()
            .map(|s| format!("{CUSTOM_PREFIX}{s}")),
    );
    let saved = async {
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomConditions)
            .await?;
        Certifications(&app)
            .set_room_requirements(auth, &standards)
            .await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "room-certs-saved"),
        "room-certs-form",
        &f,
    )
    .await
}

fn courses_form(viewer: &Viewer, s: &Settings, failed: Option<&Failed<'_>>) -> Markup {
    let form = "room-courses-form";
    let chosen: Vec<String> = match failed.filter(|f| f.form == form) {
        Some(f) => f
            .fields
            .all("course")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        None => s.courses.clone(),
    };
    html! {
        section.card {
            h2 { "Required courses" }
            p.muted { "Courses each external user must have passed, in term, to reach this room's content — beyond what its classification requires ("
                a href="/admin/courses" { "courses by classification" } ")." }
            (Failed::alert_for(failed, form))
            @if s.course_choices.is_empty() {
                p #room-courses-none { "No course is published yet." }
            } @else {
                form.stack #room-courses-form method="post" action=(format!("/rooms/{}/courses", s.info.room.id)) {
                    (csrf_field(&viewer.csrf))
                    fieldset {
                        legend { "Courses" }
                        @for (key, title) in &s.course_choices {
                            label.check {
                                input id=(format!("room-course-{key}")) type="checkbox" name="course" value=(key) checked[chosen.iter().any(|c| c == key)];
                                (title)
                            }
                        }
                    }
                    div { button.primary #room-courses-save type="submit" { "Save required courses" } }
                }
            }
        }
    }
}

/// `POST /rooms/{id}/courses`: the courses the room requires.
pub async fn courses(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let courses: Vec<String> = f.all("course").into_iter().map(str::to_owned).collect();
    let saved = async {
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomConditions)
            .await?;
        Courses(&app).set_room_requirements(auth, &courses).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "room-courses-saved"),
        "room-courses-form",
        &f,
    )
    .await
}

fn delivery_form(viewer: &Viewer, s: &Settings, failed: Option<&Failed<'_>>) -> Markup {
    let form = "delivery-form";
    let d = &s.delivery;
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let modes = [
        ("original", "the original file"),
        ("marked", "a copy marked for its recipient"),
        ("view_only", "nothing: view in the browser only"),
    ];
    let unmarkable = [
        ("deny", "refuse the download"),
        ("original", "hand out the original"),
    ];
    html! {
        section.card {
            h2 { "Delivery" }
            p.muted { "What a download hands out, per room role. Viewers always use the viewer." }
            (Failed::alert_for(failed, form))
            form.stack #delivery-form method="post" action=(format!("/rooms/{}/delivery", s.info.room.id)) {
                (csrf_field(&viewer.csrf))
                label { "Downloaders get" (select("delivery-downloader", "downloader", &modes, &v("downloader", d.downloader.as_str()))) }
                label { "Contributors get" (select("delivery-contributor", "contributor", &modes, &v("contributor", d.contributor.as_str()))) }
                label { "Managers (and admins without a grant) get" (select("delivery-manager", "manager", &modes, &v("manager", d.manager.as_str()))) }
                label { "When a file cannot be marked" (select("delivery-unmarkable", "unmarkable", &unmarkable, &v("unmarkable", d.unmarkable.as_str()))) }
                div { button.primary #delivery-save type="submit" { "Save delivery" } }
            }
        }
    }
}

fn direction_values(d: &DirectionPolicy) -> [DlpAction; 5] {
    [d.low, d.medium, d.high, d.critical, d.uninspectable]
}

fn dlp_form(viewer: &Viewer, id: RoomId, dlp: &RoomDlp, failed: Option<&Failed<'_>>) -> Markup {
    let form = "dlp-form";
    let all = [
        DlpAction::Allow,
        DlpAction::Notify,
        DlpAction::Justify,
        DlpAction::Quarantine,
        DlpAction::Block,
    ];
    let inbound: Vec<(&str, &str)> = all.iter().map(|a| (a.as_str(), a.as_str())).collect();
    let outbound: Vec<(&str, &str)> = inbound
        .iter()
        .copied()
        .filter(|(a, _)| *a != "quarantine")
        .collect();
    let infected = [("quarantine", "quarantine"), ("block", "block")];
    let directions = [
        (
            "inbound",
            "Uploads into the room",
            &dlp.policy.inbound,
            &inbound,
        ),
        (
            "outbound",
            "Downloads and views out of the room",
            &dlp.policy.outbound,
            &outbound,
        ),
    ];
    html! {
        section.card {
            h2 { "Data-loss policy" }
            p.muted #dlp-source {
                @if dlp.set { "Set for this room." } @else { "The default for this room's sharing (not set for the room)." }
                " A higher severity needs an action at least as strict."
            }
            (Failed::alert_for(failed, form))
            form.stack #dlp-form method="post" action=(format!("/rooms/{id}/dlp")) {
                (csrf_field(&viewer.csrf))
                @for (dir, legend, policy, options) in directions {
                    fieldset id=(format!("dlp-{dir}")) {
                        legend { (legend) }
                        div.row {
                            @for (sev, now) in SEVERITIES.iter().zip(direction_values(policy)) {
                                @let name = format!("{dir}_{sev}");
                                label { (sev) (select(&format!("dlp-{dir}-{sev}"), &name, options, &Failed::value(failed, form, &name, now.as_str()))) }
                            }
                        }
                    }
                }
                fieldset #dlp-antivirus {
                    legend { "Malware (antivirus)" }
                    label { "Uploads found infected are" (select("dlp-infected", "infected", &infected, &Failed::value(failed, form, "infected", dlp.policy.infected.as_str()))) }
                    p.muted { "Held uploads found infected can only be rejected. Uploads that cannot be scanned take the inbound uninspectable action." }
                }
                div { button.primary #dlp-save type="submit" { "Save data-loss policy" } }
            }
        }
    }
}

/// `POST /rooms/{id}/settings`: only what changed goes into the patch (so a
/// manager who may rename but not change conditions can rename).
pub async fn update(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let saved = async {
        let p = &viewer.authed.principal;
        let auth = app.room(&meta, p, id, act::RoomUpdate).await?;
        let patch = patch_of(auth.target(), &f)?;
        Rooms(&app).update_room(auth, patch).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "room-saved"),
        "room-form",
        &f,
    )
    .await
}

/// The changes the room form asks for.
fn patch_of(info: &RoomInfo, f: &Fields) -> Result<RoomPatch, AppError> {
    let room = &info.room;
    let mut patch = RoomPatch::default();
    let name = f.get("name").trim();
    if name != room.name {
        patch.name = Some(name.to_owned());
    }
    let classification = Classification::parse(f.get("classification"))?;
    if classification != room.classification {
        patch.classification = Some(classification);
    }
    let required: Vec<String> = f.all("required").into_iter().map(str::to_owned).collect();
    let (mut want, mut have) = (required.clone(), info.required_agreements.clone());
    want.sort();
    have.sort();
    if want != have {
        patch.required_agreements = Some(required);
    }
    let mut tags = super::list(f.get("tags"));
    tags.sort();
    tags.dedup();
    if tags != room.tags {
        patch.tags = Some(tags);
    }
    let window = if f.checked("window") {
        let days = f
            .all("day")
            .into_iter()
            .map(|d| d.parse::<u8>())
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| {
                AppError::invalid(
                    ErrorCode::WindowInvalid,
                    "the access window's days are Monday to Sunday",
                )
            })?;
        let offset = match f.opt("offset") {
            None => 0,
            Some(o) => o.parse::<i32>().map_err(|_| {
                AppError::invalid(
                    ErrorCode::WindowInvalid,
                    "the access window's UTC offset is a number of minutes, e.g. 60",
                )
            })?,
        };
        Some(AccessWindow {
            days,
            start: f.get("start").trim().to_owned(),
            end: f.get("end").trim().to_owned(),
            utc_offset_min: offset,
        })
    } else {
        None
    };
    let unchanged = match (&window, &room.access_window) {
        (Some(w), Some(now)) => w.clone().validated().ok().as_ref() == Some(now),
        (None, None) => true,
        _ => false,
    };
    if !unchanged {
        patch.access_window = Some(window);
    }
    Ok(patch)
}

/// `POST /rooms/{id}/delivery`.
pub async fn delivery(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let saved = async {
        let policy = DeliveryPolicy {
            downloader: Delivery::parse(f.get("downloader"))?,
            contributor: Delivery::parse(f.get("contributor"))?,
            manager: Delivery::parse(f.get("manager"))?,
            unmarkable: Unmarkable::parse(f.get("unmarkable"))?,
        };
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::RoomUpdate)
            .await?;
        Rooms(&app).set_room_delivery(auth, policy).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "delivery-saved"),
        "delivery-form",
        &f,
    )
    .await
}

fn direction_of(f: &Fields, dir: &str) -> Result<DirectionPolicy, AppError> {
    let a = |sev: &str| DlpAction::parse(f.get(&format!("{dir}_{sev}")));
    Ok(DirectionPolicy {
        low: a("low")?,
        medium: a("medium")?,
        high: a("high")?,
        critical: a("critical")?,
        uninspectable: a("uninspectable")?,
    })
}

/// `POST /rooms/{id}/dlp`.
pub async fn dlp(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let saved = async {
        let policy = DlpPolicy {
            inbound: direction_of(&f, "inbound")?,
            outbound: direction_of(&f, "outbound")?,
            infected: match f.opt("infected") {
                Some(a) => DlpAction::parse(a)?,
                None => DlpAction::Quarantine,
            },
        };
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::DlpPolicy)
            .await?;
        Rooms(&app).set_room_dlp(auth, policy).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "dlp-saved"),
        "dlp-form",
        &f,
    )
    .await
}

/// Back to the settings with `key`, or the settings again with the refusal.
async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: RoomId,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/rooms/{id}/settings"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let s = settings_of(app, meta, viewer, id).await?;
            Ok(again(
                failed.refusal.status,
                render_settings(viewer, &s, &Done::default(), Some(&failed)),
            ))
        }
    }
}

/// `GET /rooms/{id}/delete`: the confirmation.
pub async fn delete_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id: RoomId = path_id(&raw)?;
    let auth = app
        .room(&meta, &viewer.authed.principal, id, act::RoomDelete)
        .await?;
    let room = &auth.target().room;
    let body = html! {
        section.card.narrow {
            h1 { "Delete " (room.name) "?" }
            p { "Nobody will reach the room or its files any more; its content stays encrypted at rest for the record. This cannot be undone from the web." }
            form.stack #room-delete-form method="post" action=(format!("/rooms/{id}/delete")) {
                (csrf_field(&viewer.csrf))
                div.buttons {
                    button.danger #room-delete-confirm type="submit" { "Delete the room" }
                    " "
                    a #room-delete-cancel href=(format!("/rooms/{id}/settings")) { "Cancel" }
                }
            }
        }
    };
    Ok(layout::page("Delete the room", Some(viewer.header()), body))
}

/// `POST /rooms/{id}/delete`: back to the rooms.
pub async fn delete(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let auth = app
        .room(&meta, &viewer.authed.principal, id, act::RoomDelete)
        .await?;
    Rooms(&app).delete_room(auth).await?;
    Ok(Redirect::to("/").into_response())
}
