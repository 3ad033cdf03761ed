//! A party's SCIM provisioning page (`/admin/parties/{id}/scim`, the owner's
//! admins, `scim.manage`): its SCIM tokens — a form that makes one and shows
//! its secret this once, the list with last use and Revoke — and its group
//! mappings — a form that maps a group (by display name) to a room and room
//! role or to a system role, the list with Remove (docs/scim.md).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};

use app::{
    App, AppError, ErrorCode, Identity, MappedRole, NewMapping, RequestMeta, Rooms, ScimAdmin, act,
};
use model::{PartyId, PartyKind, RoomId, RoomRole, SystemRole};

use super::admin::{Done, Failed, Fields, again, csrf_field, done, path_id, refusal};
use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};

/// The page's routes.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/admin/parties/{id}/scim/tokens", post(create_token))
        .route(
            "/admin/parties/{id}/scim/tokens/{token}/revoke",
            post(revoke_token),
        )
        .route("/admin/parties/{id}/scim/mappings", post(create_mapping))
        .route(
            "/admin/parties/{id}/scim/mappings/{mapping}/remove",
            post(remove_mapping),
        )
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/admin/parties/{id}/scim", get(page))
        .merge(forms)
}

/// `GET /admin/parties/{id}/scim`.
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Query(ok): Query<Done>,
) -> Result<Markup, WebError> {
    render(&app, &meta, &viewer, path_id(&raw)?, &ok, None, None).await
}

async fn render(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: PartyId,
    ok: &Done,
    secret: Option<&str>,
    failed: Option<&Failed<'_>>,
) -> Result<Markup, WebError> {
    let p = &viewer.authed.principal;
    let auth = app.system(meta, p, act::ScimManage).await?;
    let tokens = ScimAdmin(app).tokens(auth, id).await?;
    let auth = app.system(meta, p, act::ScimManage).await?;
    let maps = ScimAdmin(app).mappings(auth, id).await?;
    let auth = app.party(meta, p, id, act::PartyList).await?;
    let party = Identity(app).get_party(auth).await?;
    let auth = app.system(meta, p, act::RoomList).await?;
    let rooms: Vec<(String, String)> = Rooms(app)
        .list_rooms(auth)
        .await?
        .into_iter()
        .map(|r| (r.room.id.to_string(), r.room.name))
        .collect();
    let room_name = |r: RoomId| {
        let r = r.to_string();
        rooms
            .iter()
            .find(|(id, _)| *id == r)
            .map_or_else(|| r.clone(), |(_, n)| n.clone())
    };
    let system_roles: Vec<&str> = match party.kind {
        PartyKind::Owner => SystemRole::ALL.iter().map(|r| r.as_str()).collect(),
        PartyKind::External => vec![SystemRole::Member.as_str()],
    };
    let v = |form: &str, name: &str| Failed::value(failed, form, name, "");
    let base = format!("/admin/parties/{id}/scim");
    let body = html! {
        section.card {
            nav.crumbs.trail aria-label="Location" {
                a href="/admin/parties" { "Parties" } span.sep { "/" }
                a href=(format!("/admin/parties/{id}")) { (party.name) } span.sep { "/" } "SCIM"
            }
            h1 { "SCIM provisioning" }
            (ok.notice())
            p { "The party's identity provider creates, deactivates and deletes its users and groups at " code { "/scim/v2" } " with a token made here. A token reaches this party's users and groups only; deactivating a user there ends their sessions, tokens, links and grants at once." }
        }
        @if let Some(secret) = secret {
            section.card #scim-secret-card role="status" {
                h2 { "New token" }
                p { "Paste this secret into the identity provider as its bearer token. It is shown this once." }
                p { code #scim-secret { (secret) } }
            }
        }
        section.card {
            h2 { "Tokens" }
            @if tokens.is_empty() {
                p #scim-tokens-empty { "No token has been made." }
            } @else {
                table.listing #scim-tokens {
                    thead { tr { th { "Name" } th { "Made" } th { "Last used" } th { "State" } th {} } }
                    tbody {
                        @for t in &tokens {
                            tr id=(format!("scim-token-{}", t.id)) {
                                td.name { (t.name) }
                                td { (layout::time(t.created_ms)) }
                                td { @if let Some(ms) = t.last_used_ms { (layout::time(ms)) } @else { "never" } }
                                td.state { @if let Some(ms) = t.revoked_ms { "revoked " (layout::time(ms)) } @else { "live" } }
                                td {
                                    @if t.revoked_ms.is_none() {
                                        form.inline method="post" action=(format!("{base}/tokens/{}/revoke", t.id)) {
                                            (csrf_field(&viewer.csrf))
                                            button.revoke type="submit" aria-label=(format!("Revoke {}", t.name)) { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (Failed::alert_for(failed, "scim-token-form"))
            form.stack #scim-token-form method="post" action=(format!("{base}/tokens")) {
                (csrf_field(&viewer.csrf))
                label for="scim-token-name" { "Name" }
                input #scim-token-name type="text" name="name" maxlength="200" required placeholder="Okta" value=(v("scim-token-form", "name"));
                button.primary #scim-token-create type="submit" { "Make a token" }
            }
        }
        section.card {
            h2 { "Group mappings" }
            p.muted { "Members of a group gain what it is mapped to as they join and lose it as they leave. Room roles are granted on behalf of the admin who made the mapping." }
            @if maps.is_empty() {
                p #scim-mappings-empty { "No group is mapped." }
            } @else {
                table.listing #scim-mappings {
                    thead { tr { th { "Group" } th { "Gives" } th { "Made" } th {} } }
                    tbody {
                        @for m in &maps {
                            tr id=(format!("scim-mapping-{}", m.id)) {
                                td.group { (m.group_name) }
                                td.gives {
                                    @if let Some((room, role)) = m.room { (role.as_str()) " in " (room_name(room)) }
                                    @if let Some(role) = m.system_role { "system role " (role.as_str()) }
                                }
                                td { (layout::time(m.created_ms)) }
                                td {
                                    form.inline method="post" action=(format!("{base}/mappings/{}/remove", m.id)) {
                                        (csrf_field(&viewer.csrf))
                                        button.remove type="submit" aria-label=(format!("Remove the mapping of {}", m.group_name)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (Failed::alert_for(failed, "scim-mapping-form"))
            form.stack #scim-mapping-form method="post" action=(format!("{base}/mappings")) {
                (csrf_field(&viewer.csrf))
                label for="scim-group" { "Group (its display name in the identity provider)" }
                input #scim-group type="text" name="group" maxlength="200" required value=(v("scim-mapping-form", "group"));
                label for="scim-target" { "Gives" }
                select #scim-target name="target" required {
                    @for (rid, name) in &rooms {
                        @let key = format!("room:{rid}");
                        option value=(key) selected[key == v("scim-mapping-form", "target")] { "a role in " (name) }
                    }
                    @for role in &system_roles {
                        @let key = format!("system:{role}");
                        option value=(key) selected[key == v("scim-mapping-form", "target")] { "the system role " (role) }
                    }
                }
                label for="scim-room-role" { "Room role (for a room)" }
                select #scim-room-role name="room_role" {
                    @for role in RoomRole::ALL {
                        option value=(role.as_str()) selected[role.as_str() == v("scim-mapping-form", "room_role")] { (role.as_str()) }
                    }
                }
                button.primary #scim-mapping-create type="submit" { "Map the group" }
            }
        }
    };
    Ok(layout::page(
        "SCIM provisioning",
        Some(viewer.header()),
        body,
    ))
}

/// The page again with a form's refusal above it.
async fn refused(
    app: &App,
    meta: &RequestMeta,
    viewer: &Viewer,
    id: PartyId,
    form: &'static str,
    fields: &Fields,
    e: AppError,
) -> Result<Response, WebError> {
    let failed = Failed {
        form,
        refusal: refusal(e)?,
        fields,
    };
    let page = render(app, meta, viewer, id, &Done::default(), None, Some(&failed)).await?;
    Ok(again(failed.refusal.status, page))
}

/// `POST /admin/parties/{id}/scim/tokens` (`name`): the page with the secret.
pub async fn create_token(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::ScimManage)
        .await?;
    match ScimAdmin(&app).create_token(auth, id, f.get("name")).await {
        Ok((_, secret)) => {
            let page = render(
                &app,
                &meta,
                &viewer,
                id,
                &Done::default(),
                Some(secret.as_str()),
                None,
            )
            .await?;
            Ok(page.into_response())
        }
        Err(e) => refused(&app, &meta, &viewer, id, "scim-token-form", &f, e).await,
    }
}

/// `POST /admin/parties/{id}/scim/tokens/{token}/revoke`.
pub async fn revoke_token(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, token)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::ScimManage)
        .await?;
    ScimAdmin(&app).revoke_token(auth, id, &token).await?;
    Ok(done(
        &format!("/admin/parties/{id}/scim"),
        "scim-token-revoked",
    ))
}

/// The mapping a form asks for: `target` is `room:<id>` (with `room_role`)
/// or `system:<role>`.
fn mapping_of(f: &Fields) -> Result<NewMapping, AppError> {
    let bad = || {
        AppError::invalid(
            ErrorCode::ScimMappingInvalid,
            "choose a room and a room role, or a system role",
        )
    };
    let role = match f.get("target").split_once(':') {
        Some(("room", room)) => {
            let room = room.parse::<RoomId>().map_err(|_| bad())?;
            MappedRole::Room(room, RoomRole::parse(f.get("room_role"))?)
        }
        Some(("system", role)) => MappedRole::System(SystemRole::parse(role)?),
        _ => return Err(bad()),
    };
    Ok(NewMapping {
        group_name: f.get("group").to_owned(),
        role,
    })
}

/// `POST /admin/parties/{id}/scim/mappings` (`group`, `target`, `room_role`).
pub async fn create_mapping(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::ScimManage)
        .await?;
    let made = match mapping_of(&f) {
        Ok(new) => ScimAdmin(&app).create_mapping(auth, id, new).await,
        Err(e) => Err(e),
    };
    match made {
        Ok((_, changes)) => {
            crate::scim::apply_room_roles(&app, &meta, changes).await;
            Ok(done(&format!("/admin/parties/{id}/scim"), "scim-mapped"))
        }
        Err(e) => refused(&app, &meta, &viewer, id, "scim-mapping-form", &f, e).await,
    }
}

/// `POST /admin/parties/{id}/scim/mappings/{mapping}/remove`.
pub async fn remove_mapping(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, mapping)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, f.csrf())?;
    let id: PartyId = path_id(&raw)?;
    let auth = app
        .system(&meta, &viewer.authed.principal, act::ScimManage)
        .await?;
    let changes = ScimAdmin(&app).delete_mapping(auth, id, &mapping).await?;
    crate::scim::apply_room_roles(&app, &meta, changes).await;
    Ok(done(&format!("/admin/parties/{id}/scim"), "scim-unmapped"))
}
