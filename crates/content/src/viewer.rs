//! The view-only viewer: a file's pages rendered on the server (PDF through
//! poppler's `pdftoppm`, images decoded, text drawn), each page marked for its
//! viewer (visible stamp and a forensic mark) and sent as an image encoded for
//! its kind of page (`render::for_screen`); the original bytes never leave.
//!
//! Opening a file ([`Files::open_view`]) is the decision: the seam, the room's
//! outbound data-loss policy (one `dlp.notify` or `dlp.justified` at most),
//! a fresh mark id, and one `file.view` event carrying it, so a screenshot of
//! any page of the view traces back to the person who looked at it. The pages
//! are then asked for by the view's id ([`Files::view_page`]; the seam is
//! asked again each time, so a revoked grant stops a view at once) and each is
//! drawn once per view and kept (`viewer/views.rs`). A page asked for without
//! a view opens one of its own.
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
//! [`MAX_VIEWED_BYTES`] a request) and the page once it is encoded, which
//! the views' cache bounds apart.

mod views;

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kernel::events::{Fact, RequestMeta};
use kernel::secrets::random;
use kernel::{Action, AppError, Authorized, ErrorCode, FileAccess, Principal, act};
use model::ViewId;
use render::{RenderError, RenderLimits, Renderer};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{FileInfo, Files};
use views::{Cached, View, Views};

pub use views::{MAX_VIEWS, VIEW_IDLE_MS, VIEW_MAX_AGE_MS};

/// Resolution of rendered pages, in dots per inch (`render::for_screen`
/// may send a page at less).
pub const VIEW_DPI: u32 = render::DEFAULT_DPI;

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

/// A file opened in the viewer.
#[derive(Debug, Clone)]
pub struct OpenedView {
    /// Names the view in its page requests.
    pub view: ViewId,
    /// The mark id every page of the view carries (also in its `file.view` event).
    pub mark_id: String,
    /// The file and the version shown.
    pub file: FileInfo,
    /// The room the file is in.
    pub room: model::Room,
    /// Each page's size in pixels as it will be sent, first page first.
    pub sizes: Vec<(u32, u32)>,
}

impl OpenedView {
    /// How many pages the file has.
    pub fn pages(&self) -> u32 {
        u32::try_from(self.sizes.len()).unwrap_or(u32::MAX)
    }
}

/// One rendered page, marked for its viewer.
#[derive(Debug)]
pub struct PageImage {
    /// The page as sent.
    pub bytes: Bytes,
    /// Its media type (`image/jpeg`, `image/png`).
    pub mime: &'static str,
    /// The mark id the page carries (that of its view).
    pub mark_id: String,
    /// How many pages the file has.
    pub pages: u32,
}

/// A renderer's failure as the caller should see it: the content's fault is a
/// bad request with the renderer's code, a missing renderer is unavailable,
/// anything else of ours is internal.
fn render_error(e: RenderError) -> AppError {
    let code = match &e {
        RenderError::Unsupported(_) => ErrorCode::RenderUnsupported,
        RenderError::Encrypted => ErrorCode::RenderEncrypted,
        RenderError::Malformed(_) => ErrorCode::RenderMalformed,
        RenderError::TooLarge { .. } => ErrorCode::RenderTooLarge,
        RenderError::Timeout(_) => ErrorCode::RenderTimeout,
        RenderError::NoSuchPage { .. } => ErrorCode::RenderNoSuchPage,
        RenderError::ToolMissing { .. } => {
            tracing::error!(error = %e, "the viewer cannot render pdfs");
            return AppError::invalid(
                ErrorCode::RenderUnavailable,
                "this server cannot show pdf files: its pdf renderer (poppler's `pdftoppm`, \
                 Debian package poppler-utils) is not installed or not configured; \
                 ask its operator",
            );
        }
        RenderError::Failed(_) => return AppError::internal(format!("rendering: {e}")),
    };
    AppError::invalid(code, e.to_string())
}

/// The renderer the settings describe.
pub fn renderer(settings: &kernel::ViewerSettings) -> Renderer {
    match &settings.pdftoppm {
        Some(tool) => Renderer::new(VIEW_DPI, RenderLimits::default(), tool.clone()),
        None => Renderer::new(VIEW_DPI, RenderLimits::default(), "pdftoppm").without_pdf(),
    }
}

/// A page of `view` as the caller gets it.
fn page_image(view: &View, page: Cached) -> PageImage {
    PageImage {
        bytes: page.bytes,
        mime: page.mime,
        mark_id: view.issue.mark_id.to_string(),
        pages: view.pages,
    }
}

impl Files<'_> {
    fn renderer(&self) -> Renderer {
        renderer(&self.settings().viewer)
    }

    /// Records a refused view (or page) of `file` and returns the refusal.
    async fn refused(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        (file, version): (&model::File, &model::Version),
        page: Option<u32>,
        e: RenderError,
    ) -> AppError {
        let detail = serde_json::json!({"version": version.number, "page": page});
        let fact = Fact::denied(
            Some(p),
            Action::FileView,
            format!("file:{}", file.id),
            e.code(),
        )
        .with(detail);
        match self.record_alone(meta, fact).await {
            Ok(_) => render_error(e),
            Err(recording) => recording,
        }
    }

    /// Opens the file's newest version in the viewer for `p`: the room's
    /// outbound data-loss policy decides once, the pages are counted and
    /// sized, and a `file.view` event records the view with its mark id.
    pub async fn open_view(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
    ) -> Result<OpenedView, AppError> {
        let (opened, view, content) = self.open(auth).await?;
        let views = self.slot::<Views>();
        views.open(view, self.now());
        let cached = Cached {
            bytes: content,
            mime: "",
        };
        views.keep(opened.view, 0, cached, self.settings().viewer.cache_bytes);
        Ok(opened)
    }

    /// Opens a view (see [`Files::open_view`]) without keeping it: the
    /// view, and the content it shows.
    async fn open(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
    ) -> Result<(OpenedView, Arc<View>, Bytes), AppError> {
        let (meta, p, access) = auth.into_parts();
        let (file, v, room) = (access.file, access.current, access.room.room);
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
        let r = self.renderer();
        if Renderer::is_pdf(&content)
            && let Err(e) = r.check_pdf().await
        {
            return Err(self.refused(meta, p, (&file, &v), None, e).await);
        }
        let content = Bytes::from(content);
        let sized = {
            let (r, content) = (r.clone(), content.clone());
            tokio::task::spawn_blocking(move || r.page_sizes(&content))
                .await
                .map_err(AppError::internal)?
        };
        let sizes = match sized {
            Ok(sizes) => sizes,
            Err(e) => return Err(self.refused(meta, p, (&file, &v), None, e).await),
        };
        let issue = self.issue_for(meta, p).await?;
        let mark_id = issue.mark_id.to_string();
        let id = ViewId::from_random(random::<16>()?);
        let pages = u32::try_from(sizes.len()).unwrap_or(u32::MAX);
        let detail = serde_json::json!({
            "version": v.number, "room": file.room_id, "pages": pages,
            "sha256": hex::encode(&v.sha256), "view": id,
        });
        let fact = Fact::allowed(Some(p), Action::FileView, format!("file:{}", file.id))
            .with(detail)
            .marked(mark_id.clone());
        self.record_alone(meta, fact).await?;
        let opened = OpenedView {
            view: id,
            mark_id,
            file: crate::files::info(&file, &v),
            room,
            sizes,
        };
        let view = View::new(id, p.user_id, (file, v), issue, pages, self.now());
        Ok((opened, Arc::new(view), content))
    }

    /// Page `page` (from 1) of view `view`, drawn and marked for `p` the
    /// first time it is asked, then as kept. Without a view, the page opens
    /// a view of its own (as [`Files::open_view`] does) that is not kept:
    /// nobody can name it again.
    pub async fn view_page(
        &self,
        auth: Authorized<'_, act::FileView, FileAccess>,
        view: Option<ViewId>,
        page: u32,
    ) -> Result<PageImage, AppError> {
        let (meta, p) = (auth.meta(), auth.principal());
        let file_id = auth.target().file.id;
        let views = self.slot::<Views>();
        let Some(id) = view else {
            let (_, view, content) = self.open(auth).await?;
            self.check_page(meta, p, &view, page).await?;
            let drawn = self.draw(meta, p, &view, page, content).await?;
            return Ok(page_image(&view, drawn));
        };
        // Another user's view, or another file's, is no view of this request.
        let Some(view) = views
            .get(id, self.now())
            .filter(|v| v.user == p.user_id && v.file.id == file_id)
        else {
            return Err(AppError::invalid(
                ErrorCode::ViewExpired,
                "this view of the file has ended; open the file again",
            ));
        };
        self.check_page(meta, p, &view, page).await?;
        if let Some(hit) = views.cached(view.id, page) {
            return Ok(page_image(&view, hit));
        }
        let turn = view.turn(page);
        let _turn = turn.lock().await;
        if let Some(hit) = views.cached(view.id, page) {
            return Ok(page_image(&view, hit));
        }
        let content = self.view_content(meta, p, &view).await?;
        let drawn = self.draw(meta, p, &view, page, content).await?;
        let cap = self.settings().viewer.cache_bytes;
        views.keep(view.id, page, drawn.clone(), cap);
        Ok(page_image(&view, drawn))
    }

    /// Refuses (and records) a page number the view does not have.
    async fn check_page(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        view: &View,
        page: u32,
    ) -> Result<(), AppError> {
        if page == 0 || page > view.pages {
            let e = RenderError::NoSuchPage {
                page,
                pages: view.pages,
            };
            return Err(self
                .refused(meta, p, (&view.file, &view.version), Some(page), e)
                .await);
        }
        Ok(())
    }

    /// The content of the view's version: kept, or read again.
    async fn view_content(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        view: &View,
    ) -> Result<Bytes, AppError> {
        let views = self.slot::<Views>();
        if let Some(hit) = views.cached(view.id, 0) {
            return Ok(hit.bytes);
        }
        let turn = view.turn(0);
        let _turn = turn.lock().await;
        if let Some(hit) = views.cached(view.id, 0) {
            return Ok(hit.bytes);
        }
        let size = u64::try_from(view.version.size).map_err(AppError::internal)?;
        let content = self
            .read_whole(meta, p, &view.file, &view.version, size)
            .await?;
        let content = Bytes::from(content);
        let cached = Cached {
            bytes: content.clone(),
            mime: "",
        };
        views.keep(view.id, 0, cached, self.settings().viewer.cache_bytes);
        Ok(content)
    }

    /// Draws page `page` of the view, marks it and encodes it for the screen.
    async fn draw(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        view: &View,
        page: u32,
        content: Bytes,
    ) -> Result<Cached, AppError> {
        let r = self.renderer();
        let need = (content.len() as u64).saturating_add(r.page_bytes(&content).saturating_mul(2));
        let turn = reserve(need).await?;
        let name = view.name();
        let rendered = if Renderer::is_drawn(&content) {
            let r = r.clone();
            on_pixel_thread(move || r.draw_screen_page(&content, &name, page)).await?
        } else {
            r.render_screen_page(&content, &name, page).await
        };
        let (mut pixels, kind) = match rendered {
            Ok(drawn) => drawn,
            Err(e) => {
                let at = (&view.file, &view.version);
                return Err(self.refused(meta, p, at, Some(page), e).await);
            }
        };
        let (issue, key) = (view.issue.clone(), self.mark_key()?.clone());
        let shown = on_pixel_thread(move || {
            let _turn = turn;
            render::mark_page(&mut pixels, &issue, &mark::Style::default(), &key)?;
            render::for_screen(&pixels, kind)
        })
        .await?
        .map_err(render_error)?;
        Ok(Cached {
            bytes: Bytes::from(shown.bytes),
            mime: shown.mime,
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
        assert_eq!(render_error(missing).code(), ErrorCode::RenderUnavailable);
        check(RenderError::Failed("x".into()), true);
    }
}
