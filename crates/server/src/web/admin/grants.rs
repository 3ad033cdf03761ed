//! A room's grants, for its managers and the owner's admins: who holds which
//! role until when and why, a form to grant a role to a user or a whole party
//! (with an expiry and the reason kept for reviews), and revocation. The
//! seam decides each (`grant.list`, `grant.create`, `grant.revoke`); granting
//! outside one's own party is the owner's side's (asked by the use-case).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};

use app::authz::Action;
use app::{App, AppError, ErrorCode, Identity, NewGrant, RequestMeta, Rooms, act};
use model::{Grant, GrantId, RoomId, RoomRole, SubjectKind};

use super::{Done, Failed, Fields, again, csrf_field, done, names, path_id, refusal, select};
use crate::auth::Meta;
use crate::web::layout;
use crate::web::{Viewer, WebError, check_csrf};

/// Who may be granted to, as far as the caller may list them: options
/// (`party:<id>`, `user:<id>`) and the name of each.
struct Subjects {
    parties: Vec<(String, String)>,
    users: Vec<(String, String)>,
}

impl Subjects {
    fn listed(&self) -> bool {
        !self.parties.is_empty() || !self.users.is_empty()
    }

    fn names(&self) -> HashMap<&str, &str> {
        self.parties
            .iter()
            .chain(&self.users)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

async fn subjects(app: &App, meta: &RequestMeta, viewer: &Viewer) -> Result<Subjects, WebError> {
    let p = &viewer.authed.principal;
    let may = app.permits_system(meta, p, &[Action::PartyList, Action::UserList]);
    let mut s = Subjects {
        parties: vec![],
        users: vec![],
    };
    if may == [true, true] {
        let auth = app.system(meta, p, act::PartyList).await?;
        let parties = Identity(app).list_parties(auth).await?;
        let auth = app.system(meta, p, act::UserList).await?;
        let users = Identity(app).list_users(auth, None).await?;
        let party_name: HashMap<_, _> = parties.iter().map(|x| (x.id, x.name.clone())).collect();
        s.parties = parties
            .iter()
            .map(|x| {
                (
                    format!("party:{}", x.id),
                    format!("{} (every user)", x.name),
                )
            })
            .collect();
        s.users = users
            .iter()
            .map(|u| {
                let party = party_name.get(&u.party_id).map_or("", String::as_str);
                (
                    format!("user:{}", u.id),
                    format!("{} <{}>, {party}", u.display_name, u.email),
                )
            })
            .collect();
    }
    Ok(s)
}

/// `GET /rooms/{id}/grants`.
pub async fn page(
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
    id: RoomId,
    ok: &Done,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.room(meta, p, id, act::GrantList).await?;
    let room = auth.target().room.clone();
    let grants = Rooms(app).list_grants(auth).await?;
    let may = app
        .permits_in_room(
            meta,
            p,
            id,
            &[Action::GrantCreate, Action::GrantRevoke, Action::RoomUpdate],
        )
        .await?;
    let (may_grant, may_revoke, may_settle) = match may.as_slice() {
        [grant, revoke, settle] => (*grant, *revoke, *settle),
        _ => (false, false, false),
    };
    let subjects = subjects(app, meta, viewer).await?;
    let names_of = subjects.names();
    let now = app.now_ms();
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" { a href=(format!("/rooms/{id}")) { (room.name) } span.sep { "/" } "Grants" }
            h1 { "Grants of " (room.name) }
            (ok.notice())
            @if may_settle { p { a #room-settings-link href=(format!("/rooms/{id}/settings")) { "Room settings" } } }
            @if grants.is_empty() {
                p.empty #no-grants { "Nobody holds a grant in this room." }
            } @else {
                table.listing #grants {
                    thead { tr { th { "Who" } th { "Role" } th { "Expires" } th { "Reason" } th { "Granted" } @if may_revoke { th { span.visually-hidden { "Revoke" } } } } }
                    tbody {
                        @for g in &grants {
                            tr id=(format!("grant-{}", g.id)) {
                                td.subject { (subject_label(g, &names_of)) }
                                td.role { (g.role.as_str()) }
                                td.expires { (expiry(g, now)) }
                                td.reason { (g.reason) }
                                td.muted { (layout::time(g.created_ms)) }
                                @if may_revoke {
                                    td.actions {
                                        form.inline method="post" action=(format!("/rooms/{id}/grants/{}/revoke", g.id)) {
                                            (csrf_field(&viewer.csrf))
                                            button.secondary.revoke id=(format!("revoke-{}", g.id)) type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may_grant { (grant_form(viewer, id, &subjects, failed)) }
    };
    Ok(layout::page(
        &format!("Grants of {}", room.name),
        Some(viewer.header()),
        body,
    ))
}

fn subject_label(g: &Grant, names: &HashMap<&str, &str>) -> String {
    let key = format!("{}:{}", g.subject_kind.as_str(), g.subject_id);
    match names.get(key.as_str()) {
        Some(name) => format!("{}: {name}", g.subject_kind.as_str()),
        None => key,
    }
}

fn expiry(g: &Grant, now: i64) -> String {
    match g.expires_ms {
        None => "never".to_owned(),
        Some(e) if e <= now => format!("expired {}", layout::time(e)),
        Some(e) => layout::time(e),
    }
}

fn grant_form(
    viewer: &Viewer,
    id: RoomId,
    subjects: &Subjects,
    failed: Option<&Failed<'_>>,
) -> Markup {
    let form = "grant-form";
    let v = |name: &str, current: &str| Failed::value(failed, form, name, current);
    let roles = names(RoomRole::ALL, RoomRole::as_str);
    let chosen = v("subject", "");
    html! {
        section.card {
            h2 { "Grant access" }
            (Failed::alert_for(failed, form))
            form.stack #grant-form method="post" action=(format!("/rooms/{id}/grants")) {
                (csrf_field(&viewer.csrf))
                @if subjects.listed() {
                    label { "To"
                        select #grant-subject name="subject" required {
                            option value="" { "Choose a party or a user" }
                            optgroup label="Parties (every user of the party)" {
                                @for (value, label) in &subjects.parties {
                                    option value=(value) selected[*value == chosen] { (label) }
                                }
                            }
                            optgroup label="Users" {
                                @for (value, label) in &subjects.users {
                                    option value=(value) selected[*value == chosen] { (label) }
                                }
                            }
                        }
                    }
                } @else {
                    label { "To (user:<id> or party:<id>)"
                        input #grant-subject type="text" name="subject" required value=(chosen);
                    }
                }
                label { "Role" (select("grant-role", "role", &roles, &v("role", "viewer"))) }
                label { "Expires (at 00:00 UTC of the date; empty: never)" input #grant-expires type="date" name="expires" value=(v("expires", "")); }
                label { "Reason (kept for access reviews)" input #grant-reason type="text" name="reason" required maxlength="1000" value=(v("reason", "")); }
                div { button.primary #grant-submit type="submit" { "Grant" } }
            }
        }
    }
}

/// A subject from the form: `user:<id>` or `party:<id>`.
fn subject_of(raw: &str) -> Result<(SubjectKind, uuid::Uuid), AppError> {
    let bad = || {
        AppError::invalid(
            ErrorCode::UnknownSubject,
            "choose a party or a user to grant to",
        )
    };
    let (kind, id) = raw.trim().split_once(':').ok_or_else(bad)?;
    let kind = SubjectKind::parse(kind).map_err(|_| bad())?;
    let id = id.parse().map_err(|_| bad())?;
    Ok((kind, id))
}

/// `POST /rooms/{id}/grants`.
pub async fn create(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let made = async {
        let (subject_kind, subject_id) = subject_of(f.get("subject"))?;
        let new = NewGrant {
            subject_kind,
            subject_id,
            role: RoomRole::parse(f.get("role"))?,
            expires_ms: super::parse_date("Expires", f.get("expires"))?,
            reason: f.get("reason").to_owned(),
        };
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::GrantCreate)
            .await?;
        Rooms(&app).create_grant(auth, new).await
    }
    .await;
    finish(&app, &meta, &viewer, id, made.map(|_| "grant-created"), &f).await
}

/// `POST /rooms/{id}/grants/{grant}/revoke`.
pub async fn revoke(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, grant)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: RoomId = path_id(&raw)?;
    let grant: GrantId = path_id(&grant)?;
    let revoked = async {
        let auth = app
            .room(&meta, &viewer.authed.principal, id, act::GrantRevoke)
            .await?;
        Rooms(&app).revoke_grant(auth, grant).await
    }
    .await;
    finish(
        &app,
        &meta,
        &viewer,
        id,
        revoked.map(|()| "grant-revoked"),
        &f,
    )
    .await
}

async fn finish(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: RoomId,
    result: Result<&str, AppError>,
    f: &Fields,
) -> Result<Response, WebError> {
    match result {
        Ok(key) => Ok(done(&format!("/rooms/{id}/grants"), key)),
        Err(e) => {
            let failed = Failed {
                form: "grant-form",
                refusal: refusal(e)?,
                fields: f,
            };
            let page = render(app, meta, viewer, id, &Done::default(), Some(&failed)).await?;
            Ok(again(failed.refusal.status, page))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_a_kind_and_an_id() {
        let id = uuid::Uuid::from_u128(7);
        assert_eq!(
            subject_of(&format!("party:{id}")).unwrap(),
            (SubjectKind::Party, id)
        );
        assert_eq!(
            subject_of(&format!(" user:{id} ")).unwrap(),
            (SubjectKind::User, id)
        );
        for bad in [
            "",
            "party",
            "party:x",
            &format!("room:{id}"),
            &id.to_string(),
        ] {
            let e = subject_of(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::UnknownSubject, "{bad}");
        }
    }
}
