//! The view-only viewer: a page per rendered image, each loaded from
//! `/files/{id}/pages/{n}` (rendered and marked for the signed-in user on the
//! server, one `file.view` event each); the original bytes never reach the
//! browser. Images are shown at their natural size, so a screenshot keeps the
//! forensic mark at the scale it was embedded.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use app::{App, AppError};
use model::FileId;

use super::layout::{self, Header};
use super::{Viewer, WebError};
use crate::auth::Meta;

fn file_id(raw: &str) -> Result<FileId, WebError> {
    raw.parse().map_err(|_| WebError::App(AppError::NotFound))
}

/// `GET /files/{id}/view`: the viewer page.
pub async fn view(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, csrf, nav }: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id = file_id(&raw)?;
    let auth = app
        .file(&meta, &authed.principal, id, app::act::FileList)
        .await?;
    let info = app::Files(&app).get_file(auth).await?;
    let auth = app
        .file(&meta, &authed.principal, id, app::act::FileView)
        .await?;
    let pages = app::Files(&app).page_count(auth).await?;
    let header = Header {
        email: &authed.principal.email,
        csrf: &csrf,
        nav: &nav,
    };
    let name = info.path.rsplit('/').next().unwrap_or("file").to_owned();
    let body = html! {
        nav.crumbs aria-label="Location" {
            a href="/" { "Rooms" }
            span.sep { "/" }
            a href=(format!("/rooms/{}", info.room_id)) { "Room" }
        }
        div.titlebar {
            h1 { (name) }
            span.muted { "v" (info.version) " · view only · " (pages) " page(s)" }
        }
        p.muted { "Every page is marked for you and every view is recorded." }
        div #pages data-pages=(pages) {
            @for n in 1..=pages {
                img.page loading="lazy" alt=(format!("Page {n}"))
                    src=(format!("/files/{id}/pages/{n}"));
            }
        }
    };
    Ok(layout::page(&name, Some(header), body))
}

/// `GET /files/{id}/pages/{page}`: one page, rendered and marked (PNG).
pub async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, .. }: Viewer,
    Path((raw, page)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = file_id(&raw)?;
    let page: u32 = page.parse().unwrap_or(0);
    let auth = app
        .file(&meta, &authed.principal, id, app::act::FileView)
        .await?;
    let image = app::Files(&app).view_page(auth, page).await?;
    Ok(crate::api::page_response(image))
}
