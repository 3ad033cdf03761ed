//! The view-only viewer: a file's pages rendered on the server (PDF through
//! poppler's `pdftoppm`, images decoded, text drawn), each page marked for its
//! viewer (visible stamp and a forensic mark with a fresh mark id) and sent
//! as a PNG; the original bytes never leave. Every page view is a `file.view`
//! event carrying the page's mark id, so a screenshot of the viewer traces
//! back to the person who looked at it.
//!
//! Memory: a page's pixels are decoded, drawn and marked within one budget of
//! [`PIXEL_BUDGET_MIB`] for the whole process, shared with the marked copies of
//! downloads ([`mark_copy`]). Each takes what its header says it will need (a
//! 49-Mpx image all of it, so such views queue one behind the other) and waits
//! at most [`PIXEL_WAIT`], then fails as busy. The work runs on
//! [`PIXEL_THREADS`] threads of its own, not on any of tokio's blocking
//! threads: glibc keeps the blocks a thread freed in that thread's arena, up to
//! some 64 MiB each, and sixteen views spread over sixteen blocking threads
//! kept 470 MiB that way (measured: 724 MiB peak instead of 250). Outside the
//! budget: the content read before its header can be looked at (at most
//! [`MAX_VIEWED_BYTES`] a request) and the PNG once it is handed out.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use kernel::events::Fact;
use kernel::{Action, AppError, Authorized, ErrorCode, FileAccess, act};
use render::{RenderError, RenderLimits, Renderer};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Files;

/// Resolution of rendered pages, in dots per inch.
pub const VIEW_DPI: u32 = 150;

/// Largest file the viewer renders, in bytes (rendering holds it in memory).
pub const MAX_VIEWED_BYTES: u64 = 64 << 20;

/// Memory, in MiB, that pages being drawn and copies being marked may take at
/// once in the process: their content, decoded pixels and encoded output.
/// A page of a PDF takes at most 96 MiB of it, a 50-Mpx image all of it.
pub const PIXEL_BUDGET_MIB: u32 = 384;
/// Longest wait for a share of the pixel budget. Sixteen views of a 50-Mpx
/// image queue for some 30 s in a release build (some 4 min in a debug one).
pub const PIXEL_WAIT: Duration = Duration::from_secs(300);
/// The pixel budget, in MiB. Process-wide, as the memory it bounds is.
static PIXELS: Semaphore = Semaphore::const_new(PIXEL_BUDGET_MIB as usize);

/// Threads the pixel work runs on. One: the budget lets a 49-Mpx job run
/// alone anyway, and each thread's glibc arena keeps what its largest job
/// freed (sixteen 49-Mpx views then sixteen marked copies peaked the server at
/// 483 MiB on two threads, 350 MiB on one, with mark and render optimised).
pub const PIXEL_THREADS: usize = 1;

/// A piece of pixel work.
type Job = Box<dyn FnOnce() + Send>;

/// The queue of the pixel threads, started on first use.
static PIXEL_JOBS: LazyLock<Sender<Job>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..PIXEL_THREADS {
        let queue = queue.clone();
        let started = std::thread::Builder::new()
            .name(format!("pixels-{i}"))
            .spawn(move || {
                loop {
                    let next = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    // A panicking job drops its answer; the thread goes on.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start a pixel thread");
        }
    }
    jobs
});

/// Runs `work` on one of the [`PIXEL_THREADS`] and waits for its answer.
async fn on_pixel_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    PIXEL_JOBS
        .send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| AppError::internal("no pixel thread is running"))?;
    answered
        .await
        .map_err(|_| AppError::internal("the pixel work panicked"))
}

/// Waits up to [`PIXEL_WAIT`] for `bytes` of the pixel budget (all of it at
/// most, one MiB at least); [`AppError::Busy`] after that.
async fn reserve(bytes: u64) -> Result<SemaphorePermit<'static>, AppError> {
    let mib = u32::try_from(bytes.div_ceil(1 << 20))
        .unwrap_or(u32::MAX)
        .clamp(1, PIXEL_BUDGET_MIB);
    match tokio::time::timeout(PIXEL_WAIT, PIXELS.acquire_many(mib)).await {
        Ok(Ok(turn)) => Ok(turn),
        Ok(Err(closed)) => Err(AppError::internal(closed)),
        Err(_) => Err(AppError::Busy),
    }
}

/// Marks `content` for its recipient (a download's marked copy) on a
/// blocking thread, within the pixel budget: an image's decoded pixels twice
/// (decoded, and encoded again) plus the content, other content three times
/// its size.
pub(crate) async fn mark_copy(
    content: Vec<u8>,
    name: String,
    issue: mark::Issue,
    key: mark::MarkKey,
) -> Result<Result<Vec<u8>, mark::MarkError>, AppError> {
    let size = content.len() as u64;
    let need = match mark::image::ImageFormat::sniff(&content) {
        Some(_) => mark::image::dimensions(&content)
            .map_or(0, |(w, h)| u64::from(w) * u64::from(h) * 8)
            .saturating_add(size),
        None => size.saturating_mul(3),
    };
    let turn = reserve(need).await?;
    on_pixel_thread(move || {
        let _turn = turn;
        mark::mark(
            &content,
            &name,
            &issue,
            &mark::Style::default(),
            &key,
            &mark::Limits::default(),
        )
    })
    .await
}

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

/// A renderer's failure as the caller should see it: the content's fault is a
/// bad request with the renderer's code, ours is internal.
fn render_error(e: RenderError) -> AppError {
    let code = match &e {
        RenderError::Unsupported(_) => ErrorCode::RenderUnsupported,
        RenderError::Encrypted => ErrorCode::RenderEncrypted,
        RenderError::Malformed(_) => ErrorCode::RenderMalformed,
        RenderError::TooLarge { .. } => ErrorCode::RenderTooLarge,
        RenderError::Timeout(_) => ErrorCode::RenderTimeout,
        RenderError::NoSuchPage { .. } => ErrorCode::RenderNoSuchPage,
        RenderError::ToolMissing { .. } | RenderError::Failed(_) => {
            return AppError::internal(format!("rendering: {e}"));
        }
    };
    AppError::invalid(code, e.to_string())
}

fn renderer() -> Renderer {
    Renderer::new(VIEW_DPI, RenderLimits::default(), "pdftoppm")
}

impl Files<'_> {
    /// The file's newest version, whole, for the viewer (`file.view` is
    /// authorized by `auth`).
    async fn viewed_content(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
    ) -> Result<(model::File, model::Version, Vec<u8>), AppError> {
        let (meta, p, access) = auth.into_parts();
        let (file, v) = (access.file, access.current);
        // A view takes the content out as a download does: the room's
        // outbound DLP policy decides on the version's verdict.
        crate::dlp_policy::check_outbound(self, meta, p, (&file, &v), Action::FileView, None)
            .await?;
        let size = u64::try_from(v.size).map_err(AppError::internal)?;
        if size > MAX_VIEWED_BYTES {
            return Err(AppError::invalid(
                ErrorCode::TooLargeToView,
                "the viewer shows files of at most 64 MiB",
            ));
        }
        let content = self.read_whole(meta, p, &file, &v, size).await?;
        Ok((file, v, content))
    }

    /// How many pages the viewer shows for the file.
    pub async fn page_count(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
    ) -> Result<u32, AppError> {
        let (_, _, content) = self.viewed_content(auth).await?;
        renderer().page_count(&content).await.map_err(render_error)
    }

    /// Page `page` (from 1) of the file's newest version, rendered and marked
    /// for `p`; recorded as `file.view` with the page's mark id.
    pub async fn view_page(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
        page: u32,
    ) -> Result<PageImage, AppError> {
        let (meta, p) = (auth.meta(), auth.principal());
        let (file, v, content) = self.viewed_content(auth).await?;
        let id = file.id;
        let r = renderer();
        let need = (content.len() as u64).saturating_add(r.page_bytes(&content).saturating_mul(2));
        let turn = reserve(need).await?;
        let pages = r.page_count(&content).await.map_err(render_error)?;
        let name = file.path.rsplit('/').next().unwrap_or("file").to_owned();
        let rendered = if Renderer::is_drawn(&content) {
            let r = r.clone();
            on_pixel_thread(move || r.draw_page(&content, &name, page)).await?
        } else {
            r.render_page(&content, &name, page).await
        };
        let mut pixels = match rendered {
            Ok(pixels) => pixels,
            Err(e) => {
                let fact = Fact::denied(Some(p), Action::FileView, format!("file:{id}"), e.code())
                    .with(serde_json::json!({"version": v.number, "page": page}));
                self.record_alone(meta, fact).await?;
                return Err(render_error(e));
            }
        };
        let issue = self.issue_for(p).await?;
        let mark_id = issue.mark_id.to_string();
        let key = self.mark_key()?.clone();
        let png = on_pixel_thread(move || {
            let _turn = turn;
            render::mark_page(&mut pixels, &issue, &mark::Style::default(), &key)?;
            render::to_png(&pixels)
        })
        .await?
        .map_err(render_error)?;
        let detail = serde_json::json!({
            "version": v.number, "page": page, "pages": pages, "sha256": hex::encode(&v.sha256),
        });
        let fact = Fact::allowed(Some(p), Action::FileView, format!("file:{id}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's code of each refusal is the render crate's own string;
    /// the renderer's own failures are internal.
    #[test]
    fn render_refusals_keep_the_render_codes() {
        let check = |e: RenderError, internal: bool| {
            let want = if internal { "internal" } else { e.code() };
            assert_eq!(render_error(e).code().as_str(), want);
        };
        check(RenderError::Unsupported("x".into()), false);
        check(RenderError::Encrypted, false);
        check(RenderError::Malformed("x".into()), false);
        let too_large = RenderError::TooLarge {
            what: "pixels",
            limit: 1,
            actual: 2,
        };
        check(too_large, false);
        check(
            RenderError::Timeout(std::time::Duration::from_secs(1)),
            false,
        );
        check(RenderError::NoSuchPage { page: 2, pages: 1 }, false);
        let missing = RenderError::ToolMissing {
            tool: "pdftoppm".into(),
            detail: "gone".into(),
        };
        check(missing, true);
        check(RenderError::Failed("x".into()), true);
    }
}
