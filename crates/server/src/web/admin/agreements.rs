//! Agreements in the browser: everyone's list of the agreements they may see
//! (an external user: their party's, with status, dates and a page to read
//! and sign each); for admins also issuing one (written out, or from a
//! template), offering a draft for signature and terminating one after a
//! confirmation; and the agreement templates (`/admin/templates`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};

use app::authz::Action;
use app::{
    Agreements, App, AppError, ErrorCode, Identity, NewAgreement, NewTemplate, RequestMeta, act,
};
use model::{
    Agreement, AgreementId, AgreementKind, AgreementStatus, AgreementTemplate, AgreementTerms,
    Party, PartyId,
};

use super::{Done, Failed, Fields, again, csrf_field, done, names, path_id, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// What the agreements page needs besides the agreements.
struct Context {
    /// Every party, when the caller may list them.
    parties: Vec<Party>,
    /// The templates, when the caller may list them.
    templates: Vec<AgreementTemplate>,
    may_issue: bool,
}

async fn context(app: &App, meta: &RequestMeta, viewer: &Viewer) -> Result<Context, WebError> {
    let p = &viewer.authed.principal;
    let may = app.permits_system(
        meta,
        p,
        &[
            Action::PartyList,
            Action::TemplateList,
            Action::AgreementCreate,
        ],
    );
    let (parties, templates, may_issue) = match may.as_slice() {
        [parties, templates, issue] => (*parties, *templates, *issue),
        _ => (false, false, false),
    };
    let parties = if parties {
        let auth = app.system(meta, p, act::PartyList).await?;
        Identity(app).list_parties(auth).await?
    } else {
        vec![]
    };
    let templates = if templates {
        let auth = app.system(meta, p, act::TemplateList).await?;
        Agreements(app).list_templates(auth).await?
    } else {
        vec![]
    };
    Ok(Context {
        parties,
        templates,
        may_issue,
    })
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    names(AgreementKind::ALL, AgreementKind::as_str)
}

fn party_options(parties: &[Party]) -> Vec<(String, String)> {
    parties
        .iter()
        .filter(|p| p.kind == model::PartyKind::External)
        .map(|p| (p.id.to_string(), p.name.clone()))
        .collect()
}

fn owned_select(id: &str, name: &str, options: &[(String, String)], selected: &str) -> Markup {
    let borrowed: Vec<(&str, &str)> = options
        .iter()
        .map(|(v, l)| (v.as_str(), l.as_str()))
        .collect();
    select(id, name, &borrowed, selected)
}

fn date(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_owned(), layout::time)
}

/// `GET /agreements`.
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
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::AgreementList).await?;
    let items = Agreements(app).list_agreements(auth).await?;
    let cx = context(app, meta, viewer).await?;
    let party_name: HashMap<PartyId, &str> =
        cx.parties.iter().map(|x| (x.id, x.name.as_str())).collect();
    let now = app.now_ms();
    let body = html! {
        section.card {
            h1 { "Agreements" }
            (ok.notice())
            @if cx.may_issue { p { a #templates-link href="/admin/templates" { "Agreement templates" } } }
            (Failed::alert_for(failed, "agreement-actions"))
            @if items.is_empty() {
                p.empty #no-agreements { "No agreement yet." }
            } @else {
                table.listing #agreements {
                    thead { tr {
                        th { "Agreement" } th { "Party" } th { "Kind" } th { "Status" }
                        th { "Signed" } th { "In force from" } th { "Ends" }
                        @if cx.may_issue { th { span.visually-hidden { "Actions" } } }
                    } }
                    tbody {
                        @for a in &items {
                            @let status = a.status_at(now);
                            tr id=(format!("agreement-{}", a.id)) {
                                td { a.agreement-link href=(format!("/agreements/{}", a.id)) { (a.title) } }
                                td { (party_name.get(&a.party_id).copied().unwrap_or(if a.party_id == p.party_id { "your party" } else { "—" })) }
                                td { (a.kind.as_str()) }
                                td { span.status { (status.as_str()) } }
                                td.signed { (date(a.signature.as_ref().map(|s| s.signed_ms))) }
                                td { (layout::time(a.effective_ms)) }
                                td { (date(a.end_ms)) }
                                @if cx.may_issue { td.actions { (actions(viewer, a, status)) } }
                            }
                        }
                    }
                }
            }
        }
        @if cx.may_issue {
            (issue_form(viewer, &cx, failed))
            (template_issue_form(viewer, &cx, failed))
        }
    };
    Ok(layout::page("Agreements", Some(viewer.header()), body))
}

/// An admin's buttons on one agreement: offer a draft, terminate.
fn actions(viewer: &Viewer, a: &Agreement, status: AgreementStatus) -> Markup {
    html! {
        @if status == AgreementStatus::Draft {
            form.inline method="post" action=(format!("/agreements/{}/offer", a.id)) {
                (csrf_field(&viewer.csrf))
                button.secondary.offer id=(format!("offer-{}", a.id)) type="submit" { "Offer for signature" }
            }
            " "
        }
        @if status != AgreementStatus::Terminated {
            a.terminate id=(format!("terminate-{}", a.id)) href=(format!("/agreements/{}/terminate", a.id)) { "Terminate…" }
        }
    }
}

fn issue_form(viewer: &Viewer, cx: &Context, failed: Option<&Failed<'_>>) -> Markup {
    let form = "issue-form";
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let draft = failed
        .filter(|f| f.form == form)
        .is_some_and(|f| f.fields.checked("draft"));
    html! {
        section.card {
            h2 { "Issue an agreement" }
            p.muted { "Offered for signature at once, unless kept as a draft. A room may require it by its kind or its template name." }
            (Failed::alert_for(failed, form))
            form.stack #issue-form method="post" action="/agreements" {
                (csrf_field(&viewer.csrf))
                label { "Party" (owned_select("issue-party", "party", &party_options(&cx.parties), &v("party", ""))) }
                label { "Kind" (select("issue-kind", "kind", &kinds(), &v("kind", "nda"))) }
                label { "Template name (a-z, 0-9, -; e.g. mutual-nda-2026)" input #issue-template-name type="text" name="template" required maxlength="64" value=(v("template", "")); }
                label { "Title" input #issue-title type="text" name="title" required maxlength="200" value=(v("title", "")); }
                label { "Text" textarea #issue-text name="text" rows="8" required { (v("text", "")) } }
                div.row {
                    label { "In force from (from 00:00 UTC of the date; empty: now)" input #issue-effective type="date" name="effective" value=(v("effective", "")); }
                    label { "Ends (at 00:00 UTC of the date; empty: open-ended)" input #issue-end type="date" name="end" value=(v("end", "")); }
                }
                (terms_fields("issue", failed, form, &AgreementTerms::default()))
                label.check { input #issue-draft type="checkbox" name="draft" value="on" checked[draft]; "Keep as a draft (offer it later)" }
                div { button.primary #issue-submit type="submit" { "Issue agreement" } }
            }
        }
    }
}

/// The terms fields of a form (ids `{prefix}-field-of-use`, …).
fn terms_fields(
    prefix: &str,
    failed: Option<&Failed<'_>>,
    form: &str,
    terms: &AgreementTerms,
) -> Markup {
    let v = |name: &str, current: &[String]| Failed::value(failed, form, name, &current.join(", "));
    html! {
        fieldset id=(format!("{prefix}-terms")) {
            legend { "Terms (empty for an NDA)" }
            label { "Field of use (tags, comma-separated)" input id=(format!("{prefix}-field-of-use")) type="text" name="field_of_use" value=(v("field_of_use", &terms.field_of_use)); }
            label { "Territories (country codes, comma-separated)" input id=(format!("{prefix}-territories")) type="text" name="territories" value=(v("territories", &terms.territories)); }
            label { "Permitted actions (e.g. file.view, file.download)" input id=(format!("{prefix}-actions")) type="text" name="permitted_actions" value=(v("permitted_actions", &terms.permitted_actions)); }
        }
    }
}

fn terms_of(f: &Fields) -> AgreementTerms {
    AgreementTerms {
        field_of_use: super::list(f.get("field_of_use")),
        territories: super::list(f.get("territories"))
            .into_iter()
            .map(|t| t.to_ascii_uppercase())
            .collect(),
        permitted_actions: super::list(f.get("permitted_actions")),
    }
}

fn template_issue_form(viewer: &Viewer, cx: &Context, failed: Option<&Failed<'_>>) -> Markup {
    let form = "issue-template-form";
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let draft = failed
        .filter(|f| f.form == form)
        .is_some_and(|f| f.fields.checked("draft"));
    let templates: Vec<(String, String)> = cx
        .templates
        .iter()
        .map(|t| (t.name.clone(), format!("{} ({})", t.title, t.name)))
        .collect();
    html! {
        section.card {
            h2 { "Issue from a template" }
            @if templates.is_empty() {
                p.muted #no-templates { "No template yet: " a href="/admin/templates" { "write one" } "." }
            } @else {
                (Failed::alert_for(failed, form))
                form.stack #issue-template-form method="post" action="/agreements/from-template" {
                    (csrf_field(&viewer.csrf))
                    label { "Template" (owned_select("issue-from-template", "template", &templates, &v("template", ""))) }
                    label { "Party" (owned_select("issue-template-party", "party", &party_options(&cx.parties), &v("party", ""))) }
                    label { "In force from (from 00:00 UTC of the date; empty: now)" input #issue-template-effective type="date" name="effective" value=(v("effective", "")); }
                    label.check { input #issue-template-draft type="checkbox" name="draft" value="on" checked[draft]; "Keep as a draft (offer it later)" }
                    div { button.primary #issue-template-submit type="submit" { "Issue from template" } }
                }
            }
        }
    }
}

fn party_of(f: &Fields) -> Result<PartyId, AppError> {
    f.get("party")
        .parse()
        .map_err(|_| AppError::invalid(ErrorCode::UnknownParty, "choose the party"))
}

/// `POST /agreements`: issues an agreement written out in the form.
pub async fn issue(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let new = NewAgreement {
            party_id: party_of(&f)?,
            kind: AgreementKind::parse(f.get("kind"))?,
            template: f.get("template").trim().to_owned(),
            title: f.get("title").to_owned(),
            // Browsers send CRLF line ends; the stored text keeps LF.
            text: f.get("text").replace("\r\n", "\n"),
            terms: terms_of(&f),
            effective_ms: super::parse_date("In force from", f.get("effective"))?,
            end_ms: super::parse_date("Ends", f.get("end"))?,
            draft: f.checked("draft"),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::AgreementCreate)
            .await?;
        Agreements(&app).create_agreement(auth, new).await
    }
    .await;
    finish_list(
        &app,
        &meta,
        &viewer,
        made.map(|_| "agreement-issued"),
        "issue-form",
        &f,
    )
    .await
}

/// `POST /agreements/from-template`.
pub async fn issue_from_template(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let party = party_of(&f)?;
        let effective = super::parse_date("In force from", f.get("effective"))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::AgreementCreate)
            .await?;
        Agreements(&app)
            .issue_from_template(
                auth,
                party,
                f.get("template"),
                effective,
                f.checked("draft"),
            )
            .await
    }
    .await;
    finish_list(
        &app,
        &meta,
        &viewer,
        made.map(|_| "agreement-issued"),
        "issue-template-form",
        &f,
    )
    .await
}

/// `POST /agreements/{id}/offer`.
pub async fn offer(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: AgreementId = path_id(&raw)?;
    let offered = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::AgreementCreate)
            .await?;
        Agreements(&app).offer_agreement(auth, id).await
    }
    .await;
    finish_list(
        &app,
        &meta,
        &viewer,
        offered.map(|_| "agreement-offered"),
        "agreement-actions",
        &f,
    )
    .await
}

async fn finish_list(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done("/agreements", key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_list(app, meta, viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /agreements/{id}`: the agreement, its text, and for a user of its
/// party while it awaits a signature, the form to sign it.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id: AgreementId = path_id(&raw)?;
    let p = &viewer.authed.principal;
    let auth = app.agreement(&meta, p, id, act::AgreementView).await?;
    let a = Agreements(&app).get_agreement(auth).await?;
    let status = a.status_at(app.now_ms());
    let may_issue = app.permits_system(&meta, p, &[Action::AgreementCreate]) == [true];
    // Whether to offer the signature form; signing is the seam's decision.
    let to_sign = status == AgreementStatus::AwaitingSignature && a.party_id == p.party_id;
    let body = html! {
        section.card.agreement data-agreement=(a.id.to_string()) {
            nav.crumbs.trail aria-label="Location" { a href="/agreements" { "Agreements" } span.sep { "/" } (a.title) }
            h1.agreement-title { (a.title) }
            dl.facts #agreement-facts {
                dt { "Status" } dd #agreement-status { (status.as_str()) }
                dt { "Kind" } dd { (a.kind.as_str()) " · template " code { (a.template) } }
                dt { "In force from" } dd { (layout::time(a.effective_ms)) }
                dt { "Ends" } dd #agreement-end { (date(a.end_ms)) }
                @if let Some(s) = &a.signature {
                    dt { "Signed" } dd #agreement-signed { (layout::time(s.signed_ms)) }
                }
                @if let Some(t) = a.terminated_ms {
                    dt { "Terminated" } dd { (layout::time(t)) }
                }
                @if !a.terms.field_of_use.is_empty() { dt { "Field of use" } dd { (a.terms.field_of_use.join(", ")) } }
                @if !a.terms.territories.is_empty() { dt { "Territories" } dd { (a.terms.territories.join(", ")) } }
                @if !a.terms.permitted_actions.is_empty() { dt { "Permitted actions" } dd { (a.terms.permitted_actions.join(", ")) } }
                dt { "SHA-256 of the text" } dd { code { (a.text_sha256) } }
            }
            pre.agreement-text tabindex="0" aria-label="Agreement text" { (a.text) }
            @if to_sign {
                form.sign #sign-form method="post" action=(format!("/agreements/{}/sign", a.id)) {
                    (csrf_field(&viewer.csrf))
                    input type="hidden" name="text_sha256" value=(a.text_sha256);
                    input type="hidden" name="room" value="";
                    label.check {
                        input.agree #agree type="checkbox" name="agree" value="yes" required;
                        "I have read this agreement and sign it for my organization"
                    }
                    button.primary.sign-button #sign type="submit" { "Sign" }
                }
            }
            @if may_issue { p { (actions(&viewer, &a, status)) } }
        }
    };
    Ok(layout::page(&a.title, Some(viewer.header()), body))
}

/// `GET /agreements/{id}/terminate`: the confirmation.
pub async fn terminate_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id: AgreementId = path_id(&raw)?;
    let auth = app
        .agreement(&meta, &viewer.authed.principal, id, act::AgreementTerminate)
        .await?;
    Ok(render_terminate(&viewer, auth.target(), None))
}

fn render_terminate(viewer: &Viewer, a: &Agreement, failed: Option<&Failed<'_>>) -> Markup {
    let body = html! {
        section.card.narrow {
            h1 { "Terminate " (a.title) "?" }
            p { "From the next request on it meets no room requirement: the party loses the access it opened. This cannot be undone; a new agreement would have to be issued and signed." }
            (Failed::alert_for(failed, "terminate-form"))
            form.stack #terminate-form method="post" action=(format!("/agreements/{}/terminate", a.id)) {
                (csrf_field(&viewer.csrf))
                div.buttons {
                    button.danger #terminate-confirm type="submit" { "Terminate the agreement" }
                    " "
                    a #terminate-cancel href="/agreements" { "Cancel" }
                }
            }
        }
    };
    layout::page("Terminate the agreement", Some(viewer.header()), body)
}

/// `POST /agreements/{id}/terminate`.
pub async fn terminate(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: AgreementId = path_id(&raw)?;
    let auth = app
        .agreement(&meta, &viewer.authed.principal, id, act::AgreementTerminate)
        .await?;
    let shown = auth.target().clone();
    match Agreements(&app).terminate_agreement(auth).await {
        Ok(_) => Ok(done("/agreements", "agreement-terminated")),
        Err(e) => {
            let failed = Failed {
                form: "terminate-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            Ok(again(
                failed.refusal.status,
                render_terminate(&viewer, &shown, Some(&failed)),
            ))
        }
    }
}

/// `GET /admin/templates`.
pub async fn templates(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_templates(&app, &meta, &viewer, &ok, None, None).await
}

/// `GET /admin/templates/{name}`: the templates, with this one in the form.
pub async fn template(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, WebError> {
    render_templates(&app, &meta, &viewer, &Done::default(), Some(&name), None).await
}

async fn render_templates(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    ok: &Done,
    editing: Option<&str>,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::TemplateList).await?;
    let items = Agreements(app).list_templates(auth).await?;
    let edited = match editing {
        Some(name) => Some(
            items
                .iter()
                .find(|t| t.name == name)
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let may_write = app.permits_system(meta, p, &[Action::TemplateUpdate]) == [true];
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/agreements" { "Agreements" } span.sep { "/" } "Templates" }
            h1 { "Agreement templates" }
            (ok.notice())
            @if items.is_empty() {
                p.empty #no-templates { "No template yet." }
            } @else {
                table.listing #templates {
                    thead { tr { th { "Name" } th { "Kind" } th { "Title" } th { "Term" } th { "Updated" } } }
                    tbody {
                        @for t in &items {
                            tr id=(format!("template-{}", t.name)) {
                                td { a href=(format!("/admin/templates/{}", t.name)) { code { (t.name) } } }
                                td { (t.kind.as_str()) }
                                td { (t.title) }
                                td { @match t.duration_days { Some(d) => { (d) " days" }, None => { "open-ended" } } }
                                td.muted { (layout::time(t.updated_ms)) }
                            }
                        }
                    }
                }
            }
        }
        @if may_write { (template_form(viewer, edited, failed)) }
    };
    Ok(layout::page(
        "Agreement templates",
        Some(viewer.header()),
        body,
    ))
}

fn template_form(
    viewer: &Viewer,
    t: Option<&AgreementTemplate>,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let form = "template-form";
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let none = AgreementTerms::default();
    let duration = t
        .and_then(|t| t.duration_days)
        .map(|d| d.to_string())
        .unwrap_or_default();
    html! {
        section.card {
            h2 { @if let Some(t) = t { "Edit " code { (t.name) } } @else { "New template" } }
            p.muted { "Saving under an existing name replaces that template; agreements already issued keep their text." }
            (Failed::alert_for(failed, form))
            form.stack #template-form method="post" action="/admin/templates" {
                (csrf_field(&viewer.csrf))
                label { "Name (a-z, 0-9, -; rooms may require it by this name)" input #template-name type="text" name="name" required maxlength="64" value=(v("name", t.map_or("", |t| t.name.as_str()))); }
                label { "Kind" (select("template-kind", "kind", &kinds(), &v("kind", t.map_or("nda", |t| t.kind.as_str())))) }
                label { "Title" input #template-title type="text" name="title" required maxlength="200" value=(v("title", t.map_or("", |t| t.title.as_str()))); }
                label { "Text" textarea #template-text name="text" rows="10" required { (v("text", t.map_or("", |t| t.text.as_str()))) } }
                label { "Term in days (empty: open-ended)" input #template-duration type="number" name="duration_days" min="1" max="36500" value=(v("duration_days", &duration)); }
                (terms_fields("template", failed, form, t.map_or(&none, |t| &t.terms)))
                div { button.primary #template-save type="submit" { "Save template" } }
            }
        }
    }
}

/// `POST /admin/templates`: creates or replaces the template of that name.
pub async fn put_template(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let saved = async {
        let duration_days = match f.opt("duration_days") {
            None => None,
            Some(d) => Some(d.parse::<i64>().map_err(|_| {
                AppError::invalid(ErrorCode::InvalidTerm, "the term is a number of days")
            })?),
        };
        let new = NewTemplate {
            name: f.get("name").trim().to_owned(),
            kind: AgreementKind::parse(f.get("kind"))?,
            title: f.get("title").to_owned(),
            text: f.get("text").replace("\r\n", "\n"),
            terms: terms_of(&f),
            duration_days,
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::TemplateUpdate)
            .await?;
        Agreements(&app).put_template(auth, new).await
    }
    .await;
    match saved {
        Ok(_) => Ok(done("/admin/templates", "template-saved")),
        Err(e) => {
            let failed = Failed {
                form: "template-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page =
                render_templates(&app, &meta, &viewer, &Done::default(), None, Some(&failed))
                    .await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
