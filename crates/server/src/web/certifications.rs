//! Certifications in the browser (the owner's staff): a party's certificates
//! — listed, recorded by an admin with an evidence file from a room shared
//! with the party, verified by an admin or security officer — and its
//! sponsor; and what each classification requires of external parties.
//! [`party_section`] is the part a party's page shows.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::authz::Action;
use app::{App, Certifications, Identity, NewCertification, RequestMeta, act};
use model::{
    ANY_STANDARD, CUSTOM_PREFIX, CertificationId, Classification, FileId, PartyId, PartyKind,
    STANDARDS, UserId, standard_title,
};

use super::admin::{
    Done, Failed, Fields, again, csrf_field, done, may, parse_date, path_id, refusal,
};
use super::{Viewer, WebError, check_csrf, layout};
use crate::auth::{FormCsrf, Meta};

/// The certification pages and their form posts (CSRF-checked).
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/admin/parties/{id}/certifications", post(record))
        .route("/admin/parties/{id}/sponsor", post(sponsor))
        .route("/admin/certifications/{id}/verify", post(verify))
        .route("/admin/classifications/{name}", post(classification))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/admin/parties/{id}/certifications", get(page))
        .route("/admin/classifications", get(classifications))
        .merge(forms)
}

/// A party's certificates and sponsor, for the party's pages: a table
/// (`#certifications`) with a verify button on each unverified certificate
/// when the viewer may verify, and the sponsor (`#party-sponsor`).
pub async fn party_section(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    party: PartyId,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::CertificationList).await?;
    let certs = Certifications(app).list(auth, party).await?;
    let auth = app.system(meta, p, act::CertificationList).await?;
    let sponsor = Certifications(app).sponsor(auth, party).await?;
    let may_verify = may(app, meta, viewer, Action::CertificationVerify);
    let now = app.now();
    Ok(html! {
        p #party-sponsor {
            "Sponsor: "
            @match &sponsor {
                Some(u) => { (u.display_name) " (" (u.email) ")" }
                None => { "none" }
            }
        }
        @if certs.is_empty() {
            p.empty #no-certifications { "No certificate recorded." }
        } @else {
            table.listing #certifications {
                thead { tr { th { "Standard" } th { "Issuer" } th { "Number" } th { "Scope" } th { "Valid" } th { "Evidence" } th { "State" } } }
                tbody {
                    @for c in &certs {
                        tr id=(format!("cert-{}", c.id)) {
                            td { (c.title()) }
                            td { (c.issuer) }
                            td { (c.number) }
                            td { (c.scope) }
                            td { (model::utc_date(c.valid_from_ms)) " – " (model::utc_date(c.valid_until_ms.saturating_sub(1))) }
                            td { @if let Some(f) = c.evidence { a href=(format!("/files/{f}/download")) { "certificate" } } @else { "—" } }
                            td.cert-state {
                                @if c.verified_ms.is_none() {
                                    "not verified"
                                    @if may_verify {
                                        form.inline method="post" action=(format!("/admin/certifications/{}/verify", c.id)) {
                                            (csrf_field(&viewer.csrf))
                                            button.secondary.verify type="submit" id=(format!("verify-{}", c.id)) { "Verify" }
                                        }
                                    }
                                } @else if c.in_term(now) {
                                    "verified, in term"
                                } @else if c.lapsed(now) {
                                    "expired"
                                } @else {
                                    "verified, not yet valid"
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `GET /admin/parties/{id}/certifications`.
async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render(&app, &meta, &viewer, path_id(&raw)?, &ok, None).await
}

async fn render(
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
    let section = party_section(app, meta, viewer, id).await?;
    let may_record = may(app, meta, viewer, Action::CertificationRecord);
    let may_sponsor = may(app, meta, viewer, Action::PartyUpdate);
    let files = if may_record {
        let auth = app.system(meta, p, act::CertificationList).await?;
        Certifications(app).evidence_files(auth, id).await?
    } else {
        vec![]
    };
    let owner_users = if may_sponsor {
        let auth = app.system(meta, p, act::PartyList).await?;
        let owner = Identity(app)
            .list_parties(auth)
            .await?
            .into_iter()
            .find(|x| x.kind == PartyKind::Owner);
        match owner {
            Some(o) => {
                let auth = app.system(meta, p, act::UserList).await?;
                let users = Identity(app).list_users(auth, Some(o.id)).await?;
                users.into_iter().filter(|u| !u.disabled).collect()
            }
            None => vec![],
        }
    } else {
        vec![]
    };
    let v = |name: &str, current: &str| Failed::value(failed, "cert-form", name, current);
    let standard = v("standard", "iso_27001");
    let evidence = v("evidence", "");
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" {
                a href="/admin/parties" { "Parties" } span.sep { "/" }
                a href=(format!("/admin/parties/{id}")) { (party.name) } span.sep { "/" }
                "Certifications"
            }
            h1 { "Certifications of " (party.name) }
            (ok.notice())
            p.muted { "A certificate counts once one of the owner's admins or security officers has verified it, and only in its term. "
                a href="/admin/classifications" { "What each classification requires" } "." }
            (section)
        }
        @if may_record && party.kind != PartyKind::Owner {
            section.card {
                h2 { "Record a certificate" }
                (Failed::alert_for(failed, "cert-form"))
                form.stack #cert-form method="post" action=(format!("/admin/parties/{id}/certifications")) {
                    (csrf_field(&viewer.csrf))
                    label { "Standard"
                        select #cert-standard name="standard" {
                            @for (key, title) in STANDARDS {
                                option value=(key) selected[*key == standard] { (title) }
                            }
                            option value="custom" selected[standard == "custom"] { "Another standard (name below)" }
                        }
                    }
                    label { "Name of another standard (when chosen above)"
                        input #cert-custom type="text" name="custom" maxlength="200" value=(v("custom", ""));
                    }
                    label { "Issuer (certification body)" input #cert-issuer type="text" name="issuer" required maxlength="200" value=(v("issuer", "")); }
                    label { "Scope" input #cert-scope type="text" name="scope" required maxlength="200" value=(v("scope", "")); }
                    label { "Certificate number" input #cert-number type="text" name="number" required maxlength="200" value=(v("number", "")); }
                    label { "Valid from (00:00 UTC of the date)" input #cert-from type="date" name="valid_from" required value=(v("valid_from", "")); }
                    label { "Valid until (00:00 UTC of the date, exclusive)" input #cert-until type="date" name="valid_until" required value=(v("valid_until", "")); }
                    label { "Evidence: the certificate, a file in a room shared with " (party.name)
                        select #cert-evidence name="evidence" {
                            option value="" selected[evidence.is_empty()] { "none" }
                            @for f in &files {
                                option value=(f.id) selected[f.id.to_string() == evidence] { (f.room_name) " / " (f.path) }
                            }
                        }
                    }
                    div { button.primary #cert-record type="submit" { "Record certificate" } }
                }
            }
        }
        @if may_sponsor && party.kind != PartyKind::Owner {
            section.card {
                h2 { "Sponsor" }
                p.muted { "The owner's user who answers for this party; reminded with its users before a certificate ends." }
                (Failed::alert_for(failed, "sponsor-form"))
                form.stack #sponsor-form method="post" action=(format!("/admin/parties/{id}/sponsor")) {
                    (csrf_field(&viewer.csrf))
                    label { "Sponsor"
                        select #sponsor-user name="user" {
                            option value="" { "none" }
                            @for u in &owner_users {
                                option value=(u.id) { (u.display_name) " (" (u.email) ")" }
                            }
                        }
                    }
                    div { button.primary #sponsor-save type="submit" { "Save sponsor" } }
                }
            }
        }
    };
    Ok(layout::page(
        &format!("Certifications of {}", party.name),
        Some(viewer.header()),
        body,
    ))
}

/// The certificate posted in `f` for `party`.
fn posted(f: &Fields, party: PartyId) -> Result<NewCertification, app::AppError> {
    let standard = match f.get("standard") {
        "custom" => format!("{CUSTOM_PREFIX}{}", f.get("custom")),
        key => key.to_owned(),
    };
    let date = |label: &str, name: &str| {
        parse_date(label, f.get(name))?.ok_or_else(|| {
            app::AppError::invalid(
                model::ErrorCode::InvalidTime,
                format!("{label}: give a date"),
            )
        })
    };
    let evidence = match f.opt("evidence") {
        None => None,
        Some(raw) => Some(raw.parse::<FileId>().map_err(|_| {
            app::AppError::invalid(model::ErrorCode::InvalidEvidence, "choose a listed file")
        })?),
    };
    Ok(NewCertification {
        party,
        standard,
        issuer: f.get("issuer").to_owned(),
        scope: f.get("scope").to_owned(),
        number: f.get("number").to_owned(),
        valid_from_ms: date("Valid from", "valid_from")?,
        valid_until_ms: date("Valid until", "valid_until")?,
        evidence,
    })
}

/// `POST /admin/parties/{id}/certifications`.
async fn record(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let made = async {
        let new = posted(&f, id)?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::CertificationRecord)
            .await?;
        Certifications(&app).record(auth, new).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        made.map(|_| "certificate-recorded"),
        "cert-form",
        &f,
    )
    .await
}

/// `POST /admin/parties/{id}/sponsor`.
async fn sponsor(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let saved = async {
        let user = match f.opt("user") {
            None => None,
            Some(raw) => Some(raw.parse::<UserId>().map_err(|_| {
                app::AppError::invalid(model::ErrorCode::InvalidSponsor, "choose a listed user")
            })?),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::PartyUpdate)
            .await?;
        Certifications(&app).set_sponsor(auth, id, user).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "sponsor-saved"),
        "sponsor-form",
        &f,
    )
    .await
}

/// `POST /admin/certifications/{id}/verify`: back to its party's page.
async fn verify(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: CertificationId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::CertificationVerify)
        .await?;
    let cert = Certifications(&app).verify(auth, id).await?;
    Ok(done(
        &format!("/admin/parties/{}/certifications", cert.party_id),
        "certificate-verified",
    ))
}

/// Back to the party's certifications with `key`, or the page again with the refusal.
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
        Ok(key) => Ok(done(&format!("/admin/parties/{id}/certifications"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /admin/classifications`: what each classification requires.
async fn classifications(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_classifications(&app, &meta, &viewer, &ok, None).await
}

async fn render_classifications(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::CertificationList)
        .await?;
    let all = Certifications(app).classifications(auth).await?;
    let may_update = may(app, meta, viewer, Action::ClassificationUpdate);
    let mut choices: Vec<(&str, String)> =
        vec![(ANY_STANDARD, "Any verified certificate".to_owned())];
    choices.extend(STANDARDS.iter().map(|(k, t)| (*k, (*t).to_owned())));
    let body = html! {
        section.card {
            h1 { "Certifications by classification" }
            (ok.notice())
            p.muted { "What rooms of each classification require of an external party, beyond what a room requires itself. Every standard listed is required; “any verified certificate” is met by a certificate of any standard." }
            table.listing #classifications {
                thead { tr { th { "Classification" } th { "Required" } } }
                tbody {
                    @for c in &all {
                        tr id=(format!("class-{}", c.classification)) {
                            td { (c.classification.as_str()) }
                            td.required {
                                @if c.certifications.is_empty() { "nothing" }
                                @else { (c.certifications.iter().map(|k| standard_title(k)).collect::<Vec<_>>().join(", ")) }
                            }
                        }
                    }
                }
            }
        }
        @if may_update {
            @for c in &all {
                @let form_id = format!("class-form-{}", c.classification);
                section.card {
                    h2 { "Rooms classified " (c.classification.as_str()) }
                    (Failed::alert_for(failed, class_form(c.classification)))
                    form.stack id=(form_id) method="post" action=(format!("/admin/classifications/{}", c.classification)) {
                        (csrf_field(&viewer.csrf))
                        fieldset {
                            legend { "Required certifications" }
                            @for (key, title) in &choices {
                                label.check {
                                    input type="checkbox" name="standard" value=(key)
                                        id=(format!("class-{}-{}", c.classification, key))
                                        checked[c.certifications.iter().any(|k| k == key)];
                                    " " (title)
                                }
                            }
                        }
                        label { "Other standards (names, comma-separated)"
                            input type="text" name="custom" maxlength="1000"
                                id=(format!("class-{}-custom", c.classification))
                                value=(c.certifications.iter().filter_map(|k| k.strip_prefix(CUSTOM_PREFIX)).collect::<Vec<_>>().join(", "));
                        }
                        div { button.primary type="submit" id=(format!("class-{}-save", c.classification)) { "Save" } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        "Certifications by classification",
        Some(viewer.header()),
        body,
    ))
}

/// The form id of a classification's settings.
fn class_form(c: Classification) -> &'static str {
    match c {
        Classification::Public => "class-form-public",
        Classification::Internal => "class-form-internal",
        Classification::Confidential => "class-form-confidential",
        Classification::Restricted => "class-form-restricted",
    }
}

/// `POST /admin/classifications/{name}`.
async fn classification(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let c = Classification::parse(&raw).map_err(|e| WebError::from(app::AppError::from(e)))?;
    let mut standards: Vec<String> = f.all("standard").into_iter().map(str::to_owned).collect();
    standards.extend(
        f.get("custom")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{CUSTOM_PREFIX}{s}")),
    );
    let saved = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::ClassificationUpdate)
            .await?;
        Certifications(&app)
            .set_classification(auth, c, &standards)
            .await
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/admin/classifications", "classification-saved")),
        Err(e) => {
            let failed = Failed {
                form: class_form(c),
                refusal: refusal(e)?,
                fields: &f,
            };
            let page =
                render_classifications(&app, &meta, &viewer, &Done::default(), Some(&failed))
                    .await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
