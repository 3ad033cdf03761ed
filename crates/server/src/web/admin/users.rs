//! Users: the list (party, system role, disabled, second factor, lockout)
//! with a form to create one directly; invitations, whose link is shown once
//! in a field made to be copied; and one user's page — system role, disable
//! or enable, revoke every session, the security training record — with the
//! link to their security page (second-factor reset, unlock).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use app::authz::Action;
use app::{App, AppError, ErrorCode, Identity, NewUser, Policies, RequestMeta, UserPatch, act};
use model::{Party, PartyId, SystemRole, User, UserId};

use super::{Done, Failed, Fields, again, csrf_field, done, may, names, path_id, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// The parties by id (for names) and as select options.
async fn parties(app: &App, meta: &RequestMeta, viewer: &Viewer) -> Result<Vec<Party>, WebError> {
    let auth = app
        .system(meta, &viewer.authed.principal, act::PartyList)
        .await?;
    Ok(Identity(app).list_parties(auth).await?)
}

fn party_options(parties: &[Party]) -> Vec<(String, String)> {
    parties
        .iter()
        .map(|p| {
            (
                p.id.to_string(),
                format!("{} ({})", p.name, p.kind.as_str()),
            )
        })
        .collect()
}

fn owned_select(id: &str, name: &str, options: &[(String, String)], selected: &str) -> Markup {
    let borrowed: Vec<(&str, &str)> = options
        .iter()
        .map(|(v, l)| (v.as_str(), l.as_str()))
        .collect();
    select(id, name, &borrowed, selected)
}

/// Whether and until when the account is locked after failed sign-ins.
fn lock_state(u: &User, now_ms: i64) -> String {
    match u.locked_until_ms {
        Some(until) if until > now_ms => format!("locked until {}", layout::time(until)),
        _ if u.failed_logins > 0 => format!("{} failed sign-ins", u.failed_logins),
        _ => "no".to_owned(),
    }
}

/// `GET /admin/users`.
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
        .system(meta, &viewer.authed.principal, act::UserList)
        .await?;
    let users = Identity(app).list_users(auth, None).await?;
    let parties = parties(app, meta, viewer).await?;
    let may_create = may(app, meta, viewer, Action::UserCreate);
    let may_invite = may(app, meta, viewer, Action::InvitationCreate);
    let by_id: HashMap<PartyId, &str> = parties.iter().map(|p| (p.id, p.name.as_str())).collect();
    let now = app.now_ms();
    let roles = names(SystemRole::ALL, SystemRole::as_str);
    let v = |name: &str, current: &str| Failed::value(failed, "user-form", name, current);
    let body = html! {
        section.card {
            h1 { "Users" }
            (ok.notice())
            @if may_invite { p { a #invite-user href="/admin/users/invite" { "Invite a user" } " — the usual way: they set their own password from the link." } }
            table.listing #users {
                thead { tr { th { "E-mail" } th { "Party" } th { "System role" } th { "Disabled" } th { "Second factor" } th { "Locked" } } }
                tbody {
                    @for u in &users {
                        tr id=(format!("user-{}", u.id)) {
                            td { a.user-link href=(format!("/admin/users/{}", u.id)) { (u.email) } }
                            td { (by_id.get(&u.party_id).copied().unwrap_or("—")) }
                            td { (u.system_role.as_str()) }
                            td { @if u.disabled { "disabled" } @else { "no" } }
                            td { @if u.totp_enabled { "enrolled" } @else if u.mfa_required { "required, not enrolled" } @else { "not enrolled" } }
                            td { (lock_state(u, now)) }
                        }
                    }
                }
            }
        }
        @if may_create {
            section.card {
                h2 { "Create a user directly" }
                p.muted { "Without a password the account cannot sign in; an invitation lets the person choose their own." }
                (Failed::alert_for(failed, "user-form"))
                form.stack #user-form method="post" action="/admin/users" {
                    (csrf_field(&viewer.csrf))
                    label { "E-mail" input #user-email type="email" name="email" required value=(v("email", "")); }
                    label { "Name" input #user-name type="text" name="display_name" required maxlength="200" value=(v("display_name", "")); }
                    label { "Party" (owned_select("user-party", "party", &party_options(&parties), &v("party", ""))) }
                    label { "System role" (select("user-role", "system_role", &roles, &v("system_role", "member"))) }
                    label { "Initial password (optional)" input #user-password type="password" name="password" autocomplete="new-password"; }
                    div { button.primary #user-create type="submit" { "Create user" } }
                }
            }
        }
    };
    Ok(layout::page("Users", Some(viewer.header()), body))
}

/// `POST /admin/users`.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let new = NewUser {
            email: f.get("email").to_owned(),
            display_name: f.get("display_name").to_owned(),
            party_id: party_of(&f)?,
            system_role: SystemRole::parse(f.get("system_role"))?,
            password: f.opt("password").map(str::to_owned),
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::UserCreate)
            .await?;
        Identity(&app).create_user(auth, new).await
    }
    .await;
    match made {
        Ok(u) => Ok(done(&format!("/admin/users/{}", u.id), "user-created")),
        Err(e) => {
            let failed = Failed {
                form: "user-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_list(&app, &meta, &viewer, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

fn party_of(f: &Fields) -> Result<PartyId, AppError> {
    f.get("party")
        .parse()
        .map_err(|_| AppError::invalid(ErrorCode::UnknownParty, "choose the party"))
}

/// Which party the invitation form starts with.
#[derive(Deserialize)]
pub struct InviteQuery {
    #[serde(default)]
    party: String,
}

/// `GET /admin/users/invite?party=`.
pub async fn invite_page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Query(q): Query<InviteQuery>,
) -> Result<Markup, WebError> {
    // Only those who may invite get the form.
    let _may = app
        .system(&meta, &viewer.authed.principal, act::InvitationCreate)
        .await?;
    let fields = Fields::default();
    render_invite(&app, &meta, &viewer, &q.party, None, &fields, None).await
}

/// An invitation just made: what to show once.
struct Made {
    email: String,
    link: String,
    expires_ms: i64,
    /// Whether the link was e-mailed too (mail and `public_url` are set).
    mailed: bool,
}

async fn render_invite(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    party: &str,
    made: Option<&Made>,
    f: &Fields,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let parties = parties(app, meta, viewer).await?;
    let roles = names(SystemRole::ALL, SystemRole::as_str);
    let v = |name: &str, current: &str| match failed {
        Some(_) => f.get(name).to_owned(),
        None => current.to_owned(),
    };
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/admin/users" { "Users" } span.sep { "/" } "Invite" }
            h1 { "Invite a user" }
            @if let Some(m) = made {
                div #invitation role="status" {
                    @if m.mailed {
                        p.notice #invitation-mailed { "Invitation created for " strong { (m.email) } " and e-mailed to them. The link below is shown only now and works once, until " (layout::time(m.expires_ms)) "." }
                    } @else {
                        p.notice { "Invitation created for " strong { (m.email) } ". Send them this link; it is shown only now and works once, until " (layout::time(m.expires_ms)) "." }
                    }
                    label { "Invitation link"
                        input #invitation-link type="text" readonly value=(m.link);
                    }
                }
            }
        }
        section.card {
            h2 { "New invitation" }
            (Failed::alert_for(failed, "invite-form"))
            form.stack #invite-form method="post" action="/admin/users/invite" {
                (csrf_field(&viewer.csrf))
                label { "Party" (owned_select("invite-party", "party", &party_options(&parties), &v("party", party))) }
                label { "E-mail" input #invite-email type="email" name="email" required value=(v("email", "")); }
                label { "Name" input #invite-name type="text" name="display_name" required maxlength="200" value=(v("display_name", "")); }
                label { "System role (external parties: member only)" (select("invite-role", "system_role", &roles, &v("system_role", "member"))) }
                div { button.primary #invite-submit type="submit" { "Create invitation" } }
            }
        }
    };
    Ok(layout::page("Invite a user", Some(viewer.header()), body))
}

/// `POST /admin/users/invite`: the page again, with the link shown once (it
/// is a secret: never put in a redirect or stored).
pub async fn invite(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let made = async {
        let party = party_of(&f)?;
        let role = SystemRole::parse(f.get("system_role"))?;
        let auth = app
            .system(&meta, &viewer.authed.principal, act::InvitationCreate)
            .await?;
        Identity(&app)
            .invite(auth, f.get("email"), f.get("display_name"), party, role)
            .await
    }
    .await;
    match made {
        Ok((inv, token)) => {
            let made = Made {
                email: inv.email,
                link: match &app.settings().public_url {
                    Some(base) => format!("{base}/invite/{token}"),
                    None => super::site_url(&headers, &uri, &format!("/invite/{token}")),
                },
                expires_ms: inv.expires_ms,
                mailed: app.settings().mail_enabled && app.settings().public_url.is_some(),
            };
            let party = inv.party_id.to_string();
            let page = render_invite(
                &app,
                &meta,
                &viewer,
                &party,
                Some(&made),
                &Fields::default(),
                None,
            )
            .await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(e) => {
            let failed = Failed {
                form: "invite-form",
                refusal: refusal(e)?,
                fields: &f,
            };
            let page = render_invite(&app, &meta, &viewer, "", None, &f, Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

/// `GET /admin/users/{id}`.
pub async fn show(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render_user(&app, &meta, &viewer, path_id(&raw)?, &ok, None).await
}

async fn render_user(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: UserId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.user(meta, p, id, act::UserList).await?;
    let user = Identity(app).get_user(auth).await?;
    let auth = app.party(meta, p, user.party_id, act::PartyList).await?;
    let party = Identity(app).get_party(auth).await?;
    let may_update = may(app, meta, viewer, Action::UserUpdate);
    let may_offboard =
        !user.disabled && user.id != p.user_id && may(app, meta, viewer, Action::UserOffboard);
    let roles = names(SystemRole::ALL, SystemRole::as_str);
    let role = Failed::value(
        failed,
        "user-role-form",
        "system_role",
        user.system_role.as_str(),
    );
    let training = Failed::value(
        failed,
        "training-form",
        "valid_until",
        &super::date_value(user.training_until_ms),
    );
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href="/admin/users" { "Users" } span.sep { "/" } (user.email) }
            h1 #user-title { (user.display_name) }
            (ok.notice())
            dl.facts #user-facts {
                dt { "E-mail" } dd { (user.email) }
                dt { "Party" } dd { a href=(format!("/admin/parties/{}", party.id)) { (party.name) } }
                dt { "System role" } dd #user-role-now { (user.system_role.as_str()) }
                dt { "Account" } dd #user-state { @if user.disabled { "disabled" } @else { "enabled" } }
                dt { "Second factor" } dd { @if user.totp_enabled { "enrolled" } @else { "not enrolled" } }
                dt { "Locked" } dd { (lock_state(&user, app.now_ms())) }
                dt { "Security training" } dd #user-training {
                    @match user.training_until_ms { Some(t) => { "current until " (layout::time(t)) }, None => { "none recorded" } }
                }
            }
            p { a #user-security href=(format!("/admin/users/{id}/security")) { "Security: reset the second factor, unlock" } }
        }
        @if may_update {
            section.card {
                h2 { "Role and access" }
                (Failed::alert_for(failed, "user-role-form"))
                form.stack #user-role-form method="post" action=(format!("/admin/users/{id}")) {
                    (csrf_field(&viewer.csrf))
                    label { "System role" (select("user-edit-role", "system_role", &roles, &role)) }
                    div.buttons {
                        button.primary #user-save-role type="submit" name="action" value="role" { "Change role" }
                        " "
                        @if user.disabled {
                            button.secondary #user-enable type="submit" name="action" value="enable" { "Enable account" }
                        } @else {
                            button.secondary #user-disable type="submit" name="action" value="disable" { "Disable account" }
                        }
                    }
                }
                (Failed::alert_for(failed, "sessions-form"))
                form.stack #sessions-form method="post" action=(format!("/admin/users/{id}/sessions")) {
                    (csrf_field(&viewer.csrf))
                    div { button.secondary #revoke-sessions type="submit" { "Revoke every session and token" } }
                }
            }
        }
        @if may_offboard {
            section.card {
                h2 { "Offboard" }
                p.muted { "For someone who leaves: every grant to them, every session and API token ends and the account is disabled, in one step; they and their party's sponsor are told." }
                (Failed::alert_for(failed, "user-offboard"))
                form.stack #user-offboard method="post" action=(format!("/admin/users/{id}/offboard")) {
                    (csrf_field(&viewer.csrf))
                    label { "Reason (recorded)"
                        input #user-offboard-reason type="text" name="reason" required maxlength="500" value=(Failed::value(failed, "user-offboard", "reason", ""));
                    }
                    div { button.danger #user-offboard-submit type="submit" { "Offboard user" } }
                }
            }
        }
        @if may_update {
            section.card {
                h2 { "Security training" }
                p.muted { "Rooms classified confidential or above require current training of users of external parties." }
                (Failed::alert_for(failed, "training-form"))
                form.stack #training-form method="post" action=(format!("/admin/users/{id}/training")) {
                    (csrf_field(&viewer.csrf))
                    label { "Current until (00:00 UTC of the date)" input #training-until type="date" name="valid_until" value=(training); }
                    div.buttons {
                        button.primary #training-save type="submit" name="action" value="save" { "Record training" }
                        " "
                        button.secondary #training-clear type="submit" name="action" value="clear" { "Clear" }
                    }
                }
            }
        }
    };
    Ok(layout::page(&user.email, Some(viewer.header()), body))
}

/// `POST /admin/users/{id}`: `action` = `role` (with `system_role`),
/// `disable` or `enable`.
pub async fn update(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: UserId = path_id(&raw)?;
    let saved = async {
        let patch = match f.get("action") {
            "disable" => UserPatch {
                disabled: Some(true),
                ..UserPatch::default()
            },
            "enable" => UserPatch {
                disabled: Some(false),
                ..UserPatch::default()
            },
            _ => UserPatch {
                system_role: Some(SystemRole::parse(f.get("system_role"))?),
                ..UserPatch::default()
            },
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::UserUpdate)
            .await?;
        Identity(&app).update_user(auth, id, patch).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| "user-saved"),
        "user-role-form",
        &f,
    )
    .await
}

/// `POST /admin/users/{id}/sessions`.
pub async fn revoke_sessions(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: UserId = path_id(&raw)?;
    let revoked = async {
        let auth = app
            .user(&meta, &viewer.authed.principal, id, act::UserUpdate)
            .await?;
        Identity(&app).revoke_sessions(auth).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        revoked.map(|_| "sessions-revoked"),
        "sessions-form",
        &f,
    )
    .await
}

/// `POST /admin/users/{id}/offboard`.
pub async fn offboard(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: UserId = path_id(&raw)?;
    let done = async {
        let auth = app
            .system(&meta, &viewer.authed.principal, act::UserOffboard)
            .await?;
        Identity(&app)
            .offboard_user(auth, id, f.get("reason"))
            .await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        done.map(|_| "user-offboarded"),
        "user-offboard",
        &f,
    )
    .await
}

/// `POST /admin/users/{id}/training`: record (`action=save`) or clear.
pub async fn training(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: UserId = path_id(&raw)?;
    let clear = f.get("action") == "clear";
    let saved = async {
        let until = if clear {
            None
        } else {
            Some(
                super::parse_date("Current until", f.get("valid_until"))?.ok_or_else(|| {
                    AppError::invalid(
                        ErrorCode::InvalidTime,
                        "give the date until which the training is current",
                    )
                })?,
            )
        };
        let auth = app
            .system(&meta, &viewer.authed.principal, act::UserUpdate)
            .await?;
        Policies(&app).set_training(auth, id, until).await
    }
    .await;
    let key = if clear {
        "training-cleared"
    } else {
        "training-saved"
    };
    finish(
        &app,
        &meta,
        &viewer,
        id,
        saved.map(|_| key),
        "training-form",
        &f,
    )
    .await
}

/// Back to the user's page with `key`, or the page again with the refusal.
async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: UserId,
    result: Result<&str, AppError>,
    form: &'static str,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/admin/users/{id}"), key)),
        Err(e) => {
            let failed = Failed {
                form,
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render_user(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}
