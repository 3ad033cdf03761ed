//! The view-only viewer: opening the page opens a view of the file (one
//! decision, one mark id, one `file.view` event), and each page is an image
//! loaded from `/files/{id}/pages/{n}?view=…` (drawn and marked for the
//! signed-in user on the server, once per view); the original bytes never
//! reach the browser. Pages fit the column's width; `viewer.js` adds zoom
//! (buttons and the keys + − 0). The forensic mark is read from a screenshot
//! at any zoom from about 0.4 to 2 of the page as sent.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use app::viewer::OpenedView;
use app::{App, AppError};
use model::FileId;

use super::layout;
use super::rooms::room_href;
use super::{Viewer, WebError};
use crate::auth::Meta;

/// The viewer's pages.
pub fn router() -> Router<App> {
    Router::new()
        .route("/files/{id}/view", get(view))
        .route("/files/{id}/pages/{page}", get(page))
}

fn file_id(raw: &str) -> Result<FileId, WebError> {
    raw.parse().map_err(|_| WebError::App(AppError::NotFound))
}

/// `GET /files/{id}/view`: opens a view and shows its pages.
async fn view(
    State(app): State<App>,
    Meta(meta): Meta,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Result<Markup, WebError> {
    let id = file_id(&raw)?;
    let auth = app
        .file(&meta, &viewer.authed.principal, id, app::act::FileView)
        .await?;
    let opened = app::Files(&app).open_view(auth).await?;
    let name = opened
        .file
        .path
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .to_owned();
    let body = html! {
        (breadcrumbs(&opened, &name))
        div.titlebar {
            h1 #viewer-title { (name) }
            span.muted { "v" (opened.file.version) " · view only · " (opened.pages()) " page(s)" }
        }
        p.muted { "Every page is marked for you and every view is recorded." }
        (toolbar())
        p.notice #viewer-status role="status" hidden {}
        div #pages role="region" tabindex="0" aria-label=(format!("Pages of {name}"))
            data-pages=(opened.pages()) data-view=(opened.view) {
            @for (n, (w, h)) in (1..).zip(&opened.sizes) {
                img.page #(format!("page-{n}")) loading="lazy" alt=(format!("Page {n} of {name}"))
                    width=(w) height=(h)
                    src=(format!("/files/{id}/pages/{n}?view={}", opened.view));
            }
        }
    };
    Ok(layout::page_with(
        &name,
        Some(viewer.header()),
        &["viewer.js"],
        body,
    ))
}

/// Rooms / the room / each folder of the file's path / the file.
fn breadcrumbs(opened: &OpenedView, name: &str) -> Markup {
    let room = opened.room.id;
    let dir = opened.file.path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut so_far = String::new();
    let folders: Vec<(&str, String)> = dir
        .split('/')
        .filter(|f| !f.is_empty())
        .map(|folder| {
            so_far.push_str(folder);
            so_far.push('/');
            (folder, room_href(room, &so_far))
        })
        .collect();
    html! {
        nav.crumbs #viewer-crumbs aria-label="Location" {
            a href="/" { "Rooms" }
            span.sep { "/" }
            a #crumb-room href=(room_href(room, "")) { (opened.room.name) }
            @for (folder, href) in &folders {
                span.sep { "/" }
                a.crumb-folder href=(href) { (folder) }
            }
            span.sep { "/" }
            span aria-current="page" { (name) }
        }
    }
}

/// The zoom controls: hidden until `viewer.js` runs (the pages fit the
/// width without it).
pub(super) fn toolbar() -> Markup {
    html! {
        div.viewer-tools #viewer-tools role="toolbar" aria-label="Zoom" aria-controls="pages" hidden {
            button #zoom-out type="button" aria-keyshortcuts="-" { "Zoom out" }
            button #zoom-fit type="button" aria-keyshortcuts="0" aria-pressed="true" { "Fit width" }
            button #zoom-in type="button" aria-keyshortcuts="+" { "Zoom in" }
            output #zoom-level aria-live="polite" { "Fit width (100 %)" }
            span.muted.keys { "Keys: + zoom in, - zoom out, 0 fit width" }
        }
    }
}

/// Which view a page belongs to.
#[derive(Deserialize)]
struct PageQuery {
    view: Option<String>,
}

/// `GET /files/{id}/pages/{page}?view=…`: one page of a view, marked.
async fn page(
    State(app): State<App>,
    Meta(meta): Meta,
    Viewer { authed, .. }: Viewer,
    Path((raw, page)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let id = file_id(&raw)?;
    let page: u32 = page.parse().unwrap_or(0);
    let view = crate::api::view_of(q.view.as_deref())?;
    let auth = app
        .file(&meta, &authed.principal, id, app::act::FileView)
        .await?;
    let image = app::Files(&app).view_page(auth, view, page).await?;
    Ok(crate::api::page_response(image))
}
