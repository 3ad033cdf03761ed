//! One file's history: its versions, newest first, with restore (for those who
//! may upload to its room) and deletion (for those who may delete). Like every
//! page, it asks the seam before each use-case; the buttons shown are those the
//! policy in force would allow.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use app::authz::Action;
use app::{App, AppError, Identity};
use model::{FileId, UserId, VersionId};

use super::layout;
use super::{Viewer, WebError, check_csrf};
use crate::auth::{FormCsrf, Meta};

/// The history pages and their forms.
pub fn router() -> Router<App> {
    let forms = Router::new()
        .route("/files/{id}/versions/{version}/restore", post(restore))
        .route("/files/{id}/delete", post(delete))
        .route("/files/{id}/retention", post(retention))
        .layer(Extension(FormCsrf));
    Router::new()
        .route("/files/{id}/versions", get(versions))
        .merge(forms)
}

fn parse<T: std::str::FromStr>(raw: &str) -> Result<T, WebError> {
    raw.parse().map_err(|_| WebError::App(AppError::NotFound))
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `GET /files/{id}/versions`.
pub async fn versions(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id: FileId = parse(&raw)?;
    let p = &viewer.authed.principal;
    let auth = app.file(&meta, p, id, app::act::FileList).await?;
    let file = app::Files(&app).get_file(auth).await?;
    let auth = app.file(&meta, p, id, app::act::FileList).await?;
    let versions = app::Files(&app).list_versions(auth).await?;
    let room_auth = app.room(&meta, p, file.room_id, app::act::RoomView).await?;
    let room = app::Rooms(&app).get_room(room_auth).await?;
    let asked = [Action::FileUpload, Action::FileDelete, Action::RoomDestroy];
    let may = app.permits_in_room(&meta, p, file.room_id, &asked).await?;
    let (may_restore, may_delete, may_retain) = (
        may.first().copied().unwrap_or(false),
        may.get(1).copied().unwrap_or(false),
        may.get(2).copied().unwrap_or(false),
    );
    let created = versions
        .iter()
        .map(|v| v.created_ms)
        .min()
        .unwrap_or_default();
    let retention = if may_retain {
        let auth = app.file(&meta, p, id, app::act::RoomDestroy).await?;
        Some(app::Files(&app).file_retention(auth).await?)
    } else {
        None
    };
    let may_see_users = app
        .permits_system(&meta, p, &[Action::UserList])
        .first()
        .copied()
        .unwrap_or(false);
    let mut names: Vec<(UserId, String)> = Vec::new();
    for v in &versions {
        if names.iter().any(|(u, _)| *u == v.uploaded_by) {
            continue;
        }
        let name = if v.uploaded_by == p.user_id {
            "you".to_owned()
        } else if may_see_users {
            let auth = app
                .user(&meta, p, v.uploaded_by, app::act::UserList)
                .await?;
            match Identity(&app).get_user(auth).await {
                Ok(u) => u.email,
                Err(AppError::NotFound) => "a removed user".to_owned(),
                Err(e) => return Err(e.into()),
            }
        } else {
            "another user".to_owned()
        };
        names.push((v.uploaded_by, name));
    }
    let who = |u: UserId| {
        names
            .iter()
            .find(|(id, _)| *id == u)
            .map(|(_, n)| n.as_str())
            .unwrap_or("another user")
    };
    let folder = file
        .path
        .rsplit_once('/')
        .map(|(dir, _)| format!("{dir}/"))
        .unwrap_or_default();
    let room_href = format!("/rooms/{}", room.room.id);
    let body = html! {
        nav.crumbs aria-label="Location" {
            a href="/" { "Rooms" }
            span.sep { "/" }
            a href=(room_href) { (room.room.name) }
            @if !folder.is_empty() {
                span.sep { "/" }
                a href=(format!("{room_href}?prefix={}", super::rooms::escape(&folder))) { (folder.trim_end_matches('/')) }
            }
        }
        h1 { "History of " code { (file.path) } }
        table.listing #versions {
            thead { tr { th.num { "Version" } th.num { "Size" } th { "Uploaded by" } th { "When" } th { "SHA-256" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for v in &versions {
                    tr.version id=(format!("version-{}", v.number)) {
                        td.num { "v" (v.number) @if v.number == file.version { " (current)" } }
                        td.num { (layout::size(v.size)) }
                        td { (who(v.uploaded_by)) }
                        td.muted { (layout::time(v.created_ms)) }
                        td { code.digest { (hex::encode(&v.sha256).get(..16).unwrap_or_default()) "…" } }
                        td.actions {
                            @if may_restore && v.number != file.version {
                                form.inline method="post" action=(format!("/files/{}/versions/{}/restore", file.id, v.id)) {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    button.secondary.restore type="submit" aria-label=(format!("Restore version {}", v.number)) { "Restore" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(days) = retention {
            section.card #file-retention {
                h2 { "Retention" }
                p #file-retention-current {
                    @match days {
                        Some(d) => { "Every version of this file is purged " (d) " days after its creation (" (layout::time(created + d * 86_400_000)) "): the room is re-keyed and the old key destroyed, so no copy, here or in a backup, can be decrypted again." }
                        None => { "No retention period: the file is kept until it is deleted (deleted files are purged after the grace period an admin sets)." }
                    }
                }
                @if room.room.classification > model::Classification::Internal {
                    p.muted { "This room is " (room.room.classification.as_str()) ": when the period ends, a second person (an admin or security officer) must approve the purge." }
                }
                form.stack #file-retention-form method="post" action=(format!("/files/{}/retention", file.id)) {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="file-retention-days" { "Days after creation (empty: keep)" }
                    input #file-retention-days type="number" name="days" min="1" max="36500" value=(days.map(|d| d.to_string()).unwrap_or_default());
                    button #file-retention-save type="submit" { "Save the retention period" }
                }
            }
        }
        @if may_delete {
            section.card.danger-zone {
                h2 { "Delete this file" }
                p { "The file leaves the room's listing for everyone. Its versions stay encrypted at rest until the grace period an admin sets for deleted files ends; then they are purged for good. The deletion is recorded in the audit log." }
                form method="post" action=(format!("/files/{}/delete", file.id)) {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button.danger #delete-file type="submit" { "Delete " (file.path) }
                }
            }
        }
    };
    Ok(layout::page(
        &format!("History of {}", file.path),
        Some(viewer.header()),
        body,
    ))
}

/// `POST /files/{id}/versions/{version}/restore`: back to the history page,
/// where the restored content is now the newest version (or to the page that
/// says it is held for review).
pub async fn restore(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path((raw, version)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: FileId = parse(&raw)?;
    let version: VersionId = parse(&version)?;
    let auth = app
        .file(&meta, &viewer.authed.principal, id, app::act::FileUpload)
        .await?;
    match app::Files(&app).restore_version(auth, version).await? {
        app::Uploaded::Stored(_) => Ok(Redirect::to(&format!("/files/{id}/versions")).into_response()),
        app::Uploaded::Held(_) => Err(AppError::invalid(
            app::ErrorCode::DlpQuarantined,
            "the restored version was stored but is held for review by the room's data-loss policy: a security officer must release it before anyone can use it",
        )
        .into()),
    }
}

/// `POST /files/{id}/delete`: back to the room.
pub async fn delete(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: FileId = parse(&raw)?;
    let p = &viewer.authed.principal;
    let auth = app.file(&meta, p, id, app::act::FileList).await?;
    let room = app::Files(&app).get_file(auth).await?.room_id;
    let auth = app.file(&meta, p, id, app::act::FileDelete).await?;
    app::Files(&app).delete_file(auth).await?;
    Ok(Redirect::to(&format!("/rooms/{room}")).into_response())
}

/// The retention form: its CSRF token and the days (empty: keep).
#[derive(Deserialize)]
pub struct RetentionForm {
    csrf: String,
    #[serde(default)]
    days: String,
}

/// `POST /files/{id}/retention`: back to the file's history.
pub async fn retention(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<RetentionForm>,
) -> Result<Response, WebError> {
    check_csrf(&viewer.authed.session, &form.csrf)?;
    let id: FileId = parse(&raw)?;
    let days = super::destruction::days_field(Some(&form.days), "a retention period")?;
    let auth = app
        .file(&meta, &viewer.authed.principal, id, app::act::RoomDestroy)
        .await?;
    app::Files(&app).set_file_retention(auth, days).await?;
    Ok(Redirect::to(&format!("/files/{id}/versions")).into_response())
}
