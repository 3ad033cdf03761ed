//! Parties: the list with a form to register one, and one party's page —
//! name, country and status, its certificates in term (the quick form
//! replaces them by one verified record; `web/certifications.rs` records,
//! verifies and lists them one by one), its users and a link to invite one.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};

use app::authz::Action;
use app::{
    App, AppError, Certifications, ErrorCode, Identity, NewParty, PartyPatch, RequestMeta, act,
};
use model::{Certification, PartyId, PartyStatus, User};

use super::{Done, Failed, Fields, again, csrf_field, done, may, names, path_id, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// `GET /admin/parties`.
pub async fn list(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_list(&app, &meta, &viewer, &ok, None).await
}

async fn render_list(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::PartyList)
        .await?;
    let parties = Identity(app).list_parties(auth).await?;
    let may_create = may(app, meta, viewer, Action::PartyCreate);
    let v = |name: &str| Failed::value(failed, "party-form", name, "");
    let body = html! {
        section.card {
            h1 { "Parties" }
            (ok.notice())
            @if parties.is_empty() {
                p.empty { "No party yet." }
            } @else {
                table.listing #parties {
                    thead { tr { th { "Name" } th { "Kind" } th { "Country" } th { "Status" } } }
                    tbody {
                        @for p in &parties {
                            tr id=(format!("party-{}", p.id)) {
                                td { a.party-link href=(format!("/admin/parties/{}", p.id)) { (p.name) } }
                                td { (p.kind.as_str()) }
                                td { (p.country.as_deref().unwrap_or("—")) }
                                td { span.status { (p.status.as_str()) } }
                            }
                        }
                    }
                }
            }
        }
        @if may_create {
            section.card {
                h2 { "Register a party" }
                (Failed::alert_for(failed, "party-form"))
                form.stack #party-form method="post" action="/admin/parties" {
                    (csrf_field(&viewer.csrf))
                    label { "Name" input #party-name type="text" name="name" required maxlength="200" value=(v("name")); }
                    label { "Country (ISO code, e.g. DE; optional)"
                        input #party-country type="text" name="country" maxlength="2" value=(v("country"));
                    }
                    p.muted { "A new party is being onboarded (prospective) until it is activated after its due diligence." }
                    label { "Or activate it at once, because (optional; recorded)"
                        input #party-active-reason type="text" name="active_reason" maxlength="500" value=(v("active_reason"));
                    }
                    div { button.primary #party-create type="submit" { "Create party" } }
                }
            }
        }
    };
    Ok(layout::page("Parties", Some(viewer.header()), body))
}

/// The certificates of a party in term now, verified: `name, until …` each.
fn certified(certs: &[Certification], now: i64) -> String {
    let held: Vec<String> = certs
        .iter()
        .filter(|c| c.in_term(now))
        .map(|c| format!("{}, until {}", c.title(), layout::time(c.valid_until_ms)))
        .collect();
    if held.is_empty() {
        "—".to_owned()
    } else {
        held.join("; ")
    }
}

/// `POST /admin/parties`.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let new = NewParty {
        name: f.get("name").to_owned(),
        country: f.opt("country").map(str::to_ascii_uppercase),
        active_reason: f.opt("active_reason").map(str::to_owned),
    };
    let made = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyCreate)
            .await?;
        Identity(&app).create_party(auth, new).await
    }
    .await;
    match made {
        Ok(p) => Ok(done(&format!("/admin/parties/{}", p.id), "party-created")),
        Err(e) => {
            let failed = Failed {
                form: "party-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_list(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /admin/parties/{id}`.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_party(&app, &meta, &viewer, path_id(&raw)?, &ok, None).await
}

async fn render_party(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: PartyId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.party(meta, p, id, act::PartyList).await?;
    let party = Identity(app).get_party(auth).await?;
    let auth = app.system(meta, p, act::UserList).await?;
    let users = Identity(app).list_users(auth, Some(id)).await?;
    let may_update = may(app, meta, viewer, Action::PartyUpdate);
    let may_activate =
        party.status == PartyStatus::Prospective && may(app, meta, viewer, Action::PartyActivate);
    let may_invite = may(app, meta, viewer, Action::InvitationCreate);
    let may_scim = may(app, meta, viewer, Action::ScimManage);
    // Offboarding and onboarding are actions of their own, not a status to pick.
    let statuses: Vec<_> = names(PartyStatus::ALL, PartyStatus::as_str)
        .into_iter()
        .filter(|(k, _)| ["active", "suspended", party.status.as_str()].contains(k))
        .collect();
    let offboarded = party.status == PartyStatus::Offboarded;
    let may_offboard = party.kind == model::PartyKind::External
        && !offboarded
        && may(app, meta, viewer, Action::PartyOffboard);
    let may_reonboard = offboarded && may(app, meta, viewer, Action::PartyReonboard);
    let may_attestations = may(app, meta, viewer, Action::AttestationRead);
    let v = |form: &str, name: &str, current: &str| Failed::value(failed, form, name, current);
    let country = party.country.clone().unwrap_or_default();
    let status = v("party-edit", "status", party.status.as_str());
    let auth = app.system(meta, p, act::CertificationList).await?;
    let certs = Certifications(app).list(auth, id).await?;
    let now = app.now();
    let held = certs.iter().find(|c| c.in_term(now));
    let cert_name = held.map(Certification::title).unwrap_or_default();
    let cert_until = held.map(|c| c.valid_until_ms);
    let overview = super::overview::sections(app, meta, viewer, &party, &users).await?;
    let reviews = if may(app, meta, viewer, Action::ReviewManage) {
        let auth = app.system(meta, p, act::ReviewManage).await?;
        Some(app::Reviews(app).of_party(auth, id).await?)
    } else {
        None
    };
    let auth = app.system(meta, p, act::CourseList).await?;
    let courses = app::Courses(app).party_statuses(auth, id).await?;
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/admin/parties" { "Parties" } span.sep { "/" } (party.name) }
            h1 #party-title { (party.name) }
            (ok.notice())
            p.muted {
                (party.kind.as_str()) " party · status " span #party-status { (party.status.as_str()) }
                " · certification: " span #party-certification { (certified(&certs, now)) }
                " · " a #party-certifications href=(format!("/admin/parties/{id}/certifications")) { "certifications and sponsor" }
                @if may_scim {
                    " · " a #party-scim href=(format!("/admin/parties/{id}/scim")) { "SCIM provisioning" }
                }
            }
        }
        (crate::web::assessments::party_section(&party, app.now()))
        @if may_activate {
            section.card {
                h2 { "Onboarding" }
                p.muted { "The party's users may only answer its questionnaire and upload evidence until it is activated; activation needs its due diligence signed off with a risk tier in term." }
                (Failed::alert_for(failed, "party-activate"))
                form.stack #party-activate method="post" action=(format!("/admin/parties/{id}/activate")) {
                    (csrf_field(&viewer.csrf))
                    div { button.primary #party-activate-submit type="submit" { "Activate party" } }
                }
            }
        }
        @if may_offboard {
            section.card {
                h2 { "Offboard" }
                p.muted { "Ends the relationship in one step: every grant to the party and its users, every session, API token and pending invitation ends; its agreements are terminated; its users are disabled. The party cannot be made active again without starting its onboarding over." }
                (Failed::alert_for(failed, "party-offboard"))
                form.stack #party-offboard method="post" action=(format!("/admin/parties/{id}/offboard")) {
                    (csrf_field(&viewer.csrf))
                    label { "Reason (recorded and sent to those notified)"
                        input #party-offboard-reason type="text" name="reason" required maxlength="500" value=(v("party-offboard", "reason", ""));
                    }
                    label { "The party's officer, asked to sign the declaration of return or destruction (empty: its first admin or security officer, else its first user)"
                        input #party-offboard-officer type="email" name="officer_email" value=(v("party-offboard", "officer_email", ""));
                    }
                    label { "Days to sign"
                        input #party-offboard-days type="number" name="attestation_days" min="1" max="365" value=(v("party-offboard", "attestation_days", "30"));
                    }
                    label.check { input #party-offboard-confirm type="checkbox" name="confirm" value="yes" required; "I understand that this ends all access of " (party.name) " at once." }
                    div { button.danger #party-offboard-submit type="submit" { "Offboard party" } }
                }
            }
        }
        @if offboarded && may_attestations {
            section.card #party-attestations {
                h2 { "Return or destruction" }
                p.muted { "The offboarding asked the party's officer to declare that every copy it received was returned or destroyed." }
                p { a #party-attestations-link href=(format!("/attestations?party={id}")) { "Its destruction attestations" } }
            }
        }
        @if may_reonboard {
            section.card {
                h2 { "Re-onboard" }
                p.muted { "The party is offboarded. Re-onboarding makes it prospective again with no risk tier: due diligence and activation come again before any grant takes effect; its users stay disabled until enabled." }
                (Failed::alert_for(failed, "party-reonboard"))
                form.stack #party-reonboard method="post" action=(format!("/admin/parties/{id}/reonboard")) {
                    (csrf_field(&viewer.csrf))
                    label { "Reason"
                        input #party-reonboard-reason type="text" name="reason" required maxlength="500" value=(v("party-reonboard", "reason", ""));
                    }
                    div { button.primary #party-reonboard-submit type="submit" { "Start onboarding again" } }
                }
            }
        }
        @if may_update {
            section.card {
                h2 { "Edit" }
                (Failed::alert_for(failed, "party-edit"))
                form.stack #party-edit method="post" action=(format!("/admin/parties/{id}")) {
                    (csrf_field(&viewer.csrf))
                    label { "Name" input #party-edit-name type="text" name="name" required maxlength="200" value=(v("party-edit", "name", &party.name)); }
                    label { "Country (ISO code)" input #party-edit-country type="text" name="country" maxlength="2" value=(v("party-edit", "country", &country)); }
                    label { "Status" (select("party-edit-status", "status", &statuses, &status)) }
                    div { button.primary #party-save type="submit" { "Save" } }
                }
            }
        }
        @if may_update {
            section.card {
                h2 { "Security certification" }
                p.muted { "Rooms classified confidential or above require a valid certification of an external party. Recording one here replaces the party's certificates by one, verified by you; "
                    a href=(format!("/admin/parties/{id}/certifications")) { "record and verify certificates one by one" } "." }
                (Failed::alert_for(failed, "certification-form"))
                form.stack #certification-form method="post" action=(format!("/admin/parties/{id}/certification")) {
                    (csrf_field(&viewer.csrf))
                    label { "Certification (e.g. ISO/IEC 27001:2022)"
                        input #certification-name type="text" name="name" maxlength="200" value=(v("certification-form", "name", &cert_name));
                    }
                    label { "Valid until (00:00 UTC of the date)"
                        input #certification-until type="date" name="valid_until" value=(v("certification-form", "valid_until", &super::date_value(cert_until)));
                    }
                    div.buttons {
                        button.primary #certification-save type="submit" name="action" value="save" { "Record certification" }
                        " "
                        button.secondary #certification-clear type="submit" name="action" value="clear" formnovalidate { "Clear" }
                    }
                }
            }
        }
        section.card {
            h2 { "Users" }
            @if may_invite { p { a #invite-link href=(format!("/admin/users/invite?party={id}")) { "Invite a user to " (party.name) } } }
            (users_table(&users, &courses, now))
        }
        (overview)
        @if let Some(reviews) = &reviews {
            section.card #party-reviews {
                h2 { "Access reviews" }
                @if reviews.is_empty() {
                    p.muted { "No access review has covered this party's grants yet. " a href="/reviews" { "Start one" } "." }
                } @else {
                    table {
                        thead { tr { th { "Campaign" } th { "Status" } th { "Due" } th { "Grants" } th { "Decided" } th { "Ended" } } }
                        tbody {
                            @for r in reviews {
                                tr {
                                    td { a href=(format!("/reviews/{}", r.campaign)) { (r.name) } }
                                    td.status { (r.status.as_str()) }
                                    td { (layout::time(r.due_ms)) }
                                    td.grants { (r.grants) }
                                    td.decided { (r.decided) }
                                    td.ended { (r.ended) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&party.name, Some(viewer.header()), body))
}

/// Each user's standing with each course: `(user, title, status, until)`.
type CourseRows = [(model::UserId, String, app::CourseStatus, Option<i64>)];

fn users_table(users: &[User], courses: &CourseRows, now: i64) -> Markup {
    html! {
        @if users.is_empty() {
            p.empty #no-party-users { "No user yet." }
        } @else {
            table.listing #party-users {
                thead { tr { th { "E-mail" } th { "Name" } th { "Role" } th { "Second factor" } th { "Security training" } th { "Courses" } th { "Disabled" } } }
                tbody {
                    @for u in users {
                        tr {
                            td { a href=(format!("/admin/users/{}", u.id)) { (u.email) } }
                            td { (u.display_name) }
                            td { (u.system_role.as_str()) }
                            td {
                                @if u.totp_enabled { "enrolled" }
                                @else if u.mfa_required { "required, not enrolled" }
                                @else { "none" }
                            }
                            td {
                                @match u.training_until_ms {
                                    Some(end) if end > now => { "current until " (layout::time(end)) }
                                    Some(end) => { "lapsed " (layout::time(end)) }
                                    None => { "none recorded" }
                                }
                            }
                            td.courses {
                                @let mine: Vec<_> = courses.iter().filter(|c| c.0 == u.id).collect();
                                @if mine.is_empty() { "none required" }
                                @for (i, (_, title, status, until)) in mine.iter().enumerate() {
                                    @if i > 0 { "; " }
                                    (title) ": "
                                    @match (status, until) {
                                        (app::CourseStatus::Passed, Some(end)) => { "passed, until " (layout::time(*end)) }
                                        (app::CourseStatus::Lapsed, Some(end)) => { "lapsed " (layout::time(*end)) }
                                        _ => { "not passed" }
                                    }
                                }
                            }
                            td { @if u.disabled { "disabled" } @else { "no" } }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /admin/parties/{id}`: name, country, status.
pub async fn update(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let saved = async {
        let patch = PartyPatch {
            name: Some(f.get("name").to_owned()),
            country: f.opt("country").map(str::to_ascii_uppercase),
            status: Some(PartyStatus::parse(f.get("status"))?),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyUpdate)
            .await?;
        Identity(&app).update_party(auth, id, patch).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "party-saved"),
        "party-edit",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/activate`.
pub async fn activate(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let saved = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyActivate)
            .await?;
        Identity(&app).activate_party(auth, id).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "party-activated"),
        "party-activate",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/offboard`: ends everything the party holds.
pub async fn offboard(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let saved = async {
        if f.get("confirm") != "yes" {
            return Err(AppError::invalid(
                ErrorCode::NotConfirmed,
                "tick the box to confirm that all access ends at once",
            ));
        }
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyOffboard)
            .await?;
        let officer = match f.get("officer_email").trim() {
            "" => None,
            raw => Some(
                model::MailAddress::parse(raw)
                    .map(|a| a.bare())
                    .map_err(|e| {
                        AppError::invalid(ErrorCode::InvalidEmail, format!("`officer_email`: {e}"))
                    })?,
            ),
        };
        let due_days = match f.get("attestation_days").trim() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| {
                AppError::invalid(
                    ErrorCode::BadAttestationDays,
                    "give the party a number of days to sign",
                )
            })?),
        };
        let attestation = app::AttestationRequest { officer, due_days };
        Identity(&app)
            .offboard_party(auth, id, f.get("reason"), attestation)
            .await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "party-offboarded"),
        "party-offboard",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/reonboard`: prospective again, no tier.
pub async fn reonboard(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let saved = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyReonboard)
            .await?;
        Identity(&app)
            .reonboard_party(auth, id, f.get("reason"))
            .await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "party-reonboarded"),
        "party-reonboard",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/certification`: record (`action=save`) or clear.
pub async fn certify(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let clear = f.get("action") == "clear";
    let saved = async {
        let certification = if clear {
            None
        } else {
            let until =
                super::parse_date("Valid until", f.get("valid_until"))?.ok_or_else(|| {
                    app::AppError::invalid(
                        model::ErrorCode::InvalidTime,
                        "give the date until which the certification is valid",
                    )
                })?;
            Some((f.get("name").to_owned(), until))
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyUpdate)
            .await?;
        Certifications(&app).replace(auth, id, certification).await
    }
    .await;
    let key = if clear {
        "certification-cleared"
    } else {
        "certification-saved"
    };
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| key),
        "certification-form",
        &f,
    )
    .await
}

/// Back to the party's page with `key`, or the page again with the refusal.
async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: PartyId,
    result: Result<&str, app::AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/admin/parties/{id}"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_party(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
