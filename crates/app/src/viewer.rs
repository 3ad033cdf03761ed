//! The view-only viewer: a file's pages rendered on the server (PDF through
//! poppler's `pdftoppm`, images decoded, text drawn), each page marked for its
//! viewer (visible stamp and a forensic mark with a fresh mark id) and sent
//! as a PNG; the original bytes never leave. Every page view is a `file.view`
//! event carrying the page's mark id, so a screenshot of the viewer traces
//! back to the person who looked at it.

use model::FileId;
use render::{RenderError, RenderLimits, Renderer};

use crate::authz::{Action, Principal};
use crate::events::{Fact, RequestMeta};
use crate::{App, AppError};

/// Resolution of rendered pages, in dots per inch.
pub const VIEW_DPI: u32 = 150;

/// Largest file the viewer renders, in bytes (rendering holds it in memory).
pub const MAX_VIEWED_BYTES: u64 = 64 << 20;

/// One rendered page, marked for its viewer.
#[derive(Debug)]
pub struct PageImage {
    /// The page as PNG.
    pub png: Vec<u8>,
    /// The mark id the page carries (also in the `file.view` event).
    pub mark_id: String,
    /// How many pages the file has.
    pub pages: u32,
}

/// A renderer's failure as the caller should see it.
fn render_error(e: RenderError) -> AppError {
    if e.is_client_error() {
        AppError::invalid(e.code(), e.to_string())
    } else {
        AppError::internal(format!("rendering: {e}"))
    }
}

fn renderer() -> Renderer {
    Renderer::new(VIEW_DPI, RenderLimits::default(), "pdftoppm")
}

impl App {
    /// The file's newest version, whole, for the viewer (after `file.view`
    /// is authorized).
    async fn viewed_content(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: FileId,
    ) -> Result<(model::File, model::Version, Vec<u8>), AppError> {
        let (file, v, _) = self.file_access_in(meta, p, id, Action::FileView).await?;
        // A view takes the content out as a download does: the room's
        // outbound DLP policy decides on the version's verdict.
        self.check_outbound(meta, p, (&file, &v), "file.view", None)
            .await?;
        let size = u64::try_from(v.size).map_err(AppError::internal)?;
        if size > MAX_VIEWED_BYTES {
            return Err(AppError::invalid(
                "too_large_to_view",
                "the viewer shows files of at most 64 MiB",
            ));
        }
        let content = self.read_whole(meta, p, &file, &v, size).await?;
        Ok((file, v, content))
    }

    /// How many pages the viewer shows for the file.
    pub async fn page_count(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: FileId,
    ) -> Result<u32, AppError> {
        let (_, _, content) = self.viewed_content(meta, p, id).await?;
        renderer().page_count(&content).await.map_err(render_error)
    }

    /// Page `page` (from 1) of the file's newest version, rendered and marked
    /// for `p`; recorded as `file.view` with the page's mark id.
    pub async fn view_page(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: FileId,
        page: u32,
    ) -> Result<PageImage, AppError> {
        let (file, v, content) = self.viewed_content(meta, p, id).await?;
        let r = renderer();
        let pages = r.page_count(&content).await.map_err(render_error)?;
        let rendered = r
            .render_page(
                &content,
                file.path.rsplit('/').next().unwrap_or("file"),
                page,
            )
            .await;
        let mut pixels = match rendered {
            Ok(pixels) => pixels,
            Err(e) => {
                let fact = Fact::denied(Some(p), "file.view", format!("file:{id}"), e.code())
                    .with(serde_json::json!({"version": v.number, "page": page}));
                self.record_alone(meta, fact).await?;
                return Err(render_error(e));
            }
        };
        let issue = self.issue_for(p).await?;
        let mark_id = issue.mark_id.to_string();
        let key = self.mark_key()?.clone();
        let png = tokio::task::spawn_blocking(move || {
            render::mark_page(&mut pixels, &issue, &mark::Style::default(), &key)?;
            render::to_png(&pixels)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(render_error)?;
        let detail = serde_json::json!({
            "version": v.number, "page": page, "pages": pages, "sha256": hex::encode(&v.sha256),
        });
        let fact = Fact::allowed(Some(p), "file.view", format!("file:{id}"))
            .with(detail)
            .marked(mark_id.clone());
        self.record_alone(meta, fact).await?;
        Ok(PageImage {
            png,
            mark_id,
            pages,
        })
    }
}
