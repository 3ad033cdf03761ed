//! Server-side rendering of files, page by page, to pixels that carry the
//! recipient's visible and forensic marks: what the view-only viewer streams to
//! a browser instead of the original bytes.
//!
//! | content | pages | how a page is drawn |
//! |---|---|---|
//! | PDF | the document's pages | poppler's `pdftoppm`, fed on standard input, under a timeout and a pixel cap |
//! | PNG, JPEG, WebP | 1 | decoded by `mark::image::decode` under its pixel limit |
//! | text, source code | [`LINES_PER_PAGE`] lines a page | drawn with the embedded font on an A4 canvas |
//!
//! The plaintext never touches the disk: the PDF goes to the renderer through a
//! pipe and the pixels come back through another. Hostile input ends in a
//! [`RenderError`] with a stable code, never in a crash or an unbounded
//! allocation. [`mark_page`] then stamps and marks a page, and [`for_screen`]
//! encodes it for the kind of page [`classify`] saw before it was marked
//! (grey JPEG for text, colour JPEG for drawings and pictures; [`to_png`]
//! keeps it lossless).
//!
//! The PDF parse (to count pages and read the page box), image decoding, text
//! drawing and marking are CPU work done on the calling task; a server runs them
//! where blocking is allowed (`spawn_blocking`, `block_in_place`): images and
//! text are drawn by [`Renderer::draw_page`], a blocking call, and
//! [`Renderer::page_bytes`] says from the content's header how much memory a
//! page will take, so a server can bound the pages drawn at once by memory
//! (a 50-Mpx image decodes to 200 MB).

mod error;
mod pdf;
mod screen;
mod text;

use std::path::PathBuf;
use std::time::Duration;

use mark::image::{ImageFormat, Pixels};
use mark::{Format, Issue, MarkKey, Style};

pub use error::RenderError;
pub use screen::{
    DRAWING_QUALITY, PICTURE_QUALITY, PageKind, ScreenPage, TEXT_QUALITY, classify, for_screen,
};

/// The resolution of rendered pages unless configured otherwise: the detail
/// resolution of drawings and pictures on a screen.
pub const DEFAULT_DPI: u32 = 150;
/// The resolution of text on a screen: an A4 page is 992 px wide, the width
/// of the viewer's column in a 1280-px window, so a page is read at its own
/// size (and a marked A4 page of dense text is under 300 KB as grey JPEG).
pub const READING_DPI: u32 = 120;
/// Lines of a text file shown on one page.
pub const LINES_PER_PAGE: usize = 60;

/// Bounds on untrusted input and on the work one page may cost.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderLimits {
    /// Input size, image pixels, PDF pages and decompressed PDF streams (mark's defaults).
    pub input: mark::Limits,
    /// Most pixels in a rendered PDF page (default 16 Mi, 4096 × 4096): a larger
    /// page is rendered at a lower resolution so that it fits.
    pub max_page_pixels: u64,
    /// Lowest resolution a large page is scaled down to (default 18 dpi, a
    /// quarter of a point per pixel); a page that does not fit even then is refused.
    pub min_dpi: u32,
    /// Longest time the PDF renderer may take for one page (default 20 s); it is killed then.
    pub timeout: Duration,
}

impl Default for RenderLimits {
    fn default() -> Self {
        Self {
            input: mark::Limits::default(),
            max_page_pixels: 1 << 24,
            min_dpi: 18,
            timeout: Duration::from_secs(20),
        }
    }
}

impl RenderLimits {
    fn check_input(&self, len: usize) -> Result<(), RenderError> {
        let len = len as u64;
        if len > self.input.max_input_bytes {
            return Err(RenderError::TooLarge {
                what: "input size",
                limit: self.input.max_input_bytes,
                actual: len,
            });
        }
        Ok(())
    }
}

/// Renders pages of PDFs, images and text files to pixels.
#[derive(Debug, Clone)]
pub struct Renderer {
    dpi: u32,
    /// The resolution of text for a screen: [`READING_DPI`], or `dpi` if lower.
    reading_dpi: u32,
    limits: RenderLimits,
    /// `None`: PDFs are refused as [`RenderError::ToolMissing`].
    pdftoppm: Option<PathBuf>,
}

impl Renderer {
    /// A renderer drawing pages at `dpi` (clamped to 18–600) that runs the
    /// `pdftoppm` program (a path, or a name looked up in `PATH`) for PDFs.
    pub fn new(dpi: u32, limits: RenderLimits, pdftoppm: impl Into<PathBuf>) -> Self {
        let dpi = dpi.clamp(18, 600);
        Self {
            dpi,
            reading_dpi: READING_DPI.min(dpi),
            limits,
            pdftoppm: Some(pdftoppm.into()),
        }
    }

    /// The same renderer without a PDF renderer: PDF pages are refused with
    /// [`RenderError::ToolMissing`] (images and text are drawn as before).
    pub fn without_pdf(self) -> Self {
        Self {
            pdftoppm: None,
            ..self
        }
    }

    fn pdftoppm(&self) -> Result<&std::path::Path, RenderError> {
        self.pdftoppm
            .as_deref()
            .ok_or_else(|| RenderError::ToolMissing {
                tool: "pdftoppm".into(),
                detail: "the pdf renderer is turned off by the configuration".into(),
            })
    }

    /// Checks that the PDF renderer can be run (`pdftoppm -v` answers as
    /// poppler's does, within the timeout); returns its version line.
    pub async fn check_pdf(&self) -> Result<String, RenderError> {
        pdf::check_tool(self.pdftoppm()?, self.limits.timeout).await
    }

    /// Whether `content` is a PDF (whose pages need the PDF renderer).
    pub fn is_pdf(content: &[u8]) -> bool {
        Format::sniff(content) == Some(Format::Pdf)
    }

    /// The resolution pages are drawn at.
    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// The limits in force.
    pub fn limits(&self) -> &RenderLimits {
        &self.limits
    }

    /// How many pages `content` has: a PDF's pages, 1 for an image, and for
    /// text one page per [`LINES_PER_PAGE`] lines (at least 1).
    pub async fn page_count(&self, content: &[u8]) -> Result<u32, RenderError> {
        self.limits.check_input(content.len())?;
        match Format::sniff(content) {
            Some(Format::Pdf) => pdf::page_count(content, &self.limits),
            Some(Format::Image(_)) => Ok(1),
            Some(Format::Text) => Ok(text::page_count(as_text(content)?)),
            None => Err(unsupported("the content")),
        }
    }

    /// The size in pixels of every page of `content` as it is first drawn
    /// for a screen, first page first (one entry per page, so also the page
    /// count): a PDF's pages from their boxes (a document's page that is not
    /// text is then sent at the detail resolution, in the same proportions),
    /// an image's own size, A4 for text. Parses a PDF whole: a blocking call.
    pub fn page_sizes(&self, content: &[u8]) -> Result<Vec<(u32, u32)>, RenderError> {
        self.limits.check_input(content.len())?;
        let side = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        match Format::sniff(content) {
            Some(Format::Pdf) => {
                let dpis = (self.reading_dpi, self.dpi);
                Ok(pdf::page_sizes(content, dpis, &self.limits)?
                    .into_iter()
                    .map(|(w, h)| (side(w), side(h)))
                    .collect())
            }
            Some(Format::Image(_)) => Ok(vec![mark::image::dimensions(content)?]),
            Some(Format::Text) => {
                let pages = text::page_count(as_text(content)?);
                let (w, h) = text::page_pixels(self.reading_dpi);
                Ok(vec![(side(w as u64), side(h as u64)); pages as usize])
            }
            None => Err(unsupported("the content")),
        }
    }

    /// Renders page `page` of `content` for a screen, with the kind of page
    /// it is ([`classify`]): a PDF through the PDF renderer (see
    /// `pdf::render_for_screen`), images and text as
    /// [`Renderer::draw_screen_page`] does (on the calling task).
    pub async fn render_screen_page(
        &self,
        content: &[u8],
        file_name: &str,
        page: u32,
    ) -> Result<(Pixels, PageKind), RenderError> {
        self.limits.check_input(content.len())?;
        match Format::sniff(content) {
            Some(Format::Pdf) => {
                let dpis = (self.reading_dpi, self.dpi);
                pdf::render_for_screen(self.pdftoppm()?, content, page, dpis, &self.limits).await
            }
            _ => self.draw_screen_page(content, file_name, page),
        }
    }

    /// Draws page `page` of an image or text file for a screen, with its
    /// kind: an image at its own size, text at the reading resolution. A
    /// blocking call; a PDF is refused.
    pub fn draw_screen_page(
        &self,
        content: &[u8],
        file_name: &str,
        page: u32,
    ) -> Result<(Pixels, PageKind), RenderError> {
        match Format::sniff(content) {
            Some(Format::Text) => {
                self.limits.check_input(content.len())?;
                let p = text::render_page(as_text(content)?, file_name, page, self.reading_dpi)?;
                Ok((p, PageKind::Text))
            }
            _ => {
                let p = self.draw_page(content, file_name, page)?;
                let kind = classify(&p);
                Ok((p, kind))
            }
        }
    }

    /// Renders page `page` (1-based) of `content` to pixels (RGB, or RGBA for
    /// an image with alpha). `file_name` names the file in messages and in the
    /// footer of text pages. Images and text are drawn on the calling task
    /// ([`Renderer::draw_page`]).
    pub async fn render_page(
        &self,
        content: &[u8],
        file_name: &str,
        page: u32,
    ) -> Result<Pixels, RenderError> {
        self.limits.check_input(content.len())?;
        match Format::sniff(content) {
            Some(Format::Pdf) => {
                pdf::render_page(self.pdftoppm()?, content, page, self.dpi, &self.limits).await
            }
            _ => self.draw_page(content, file_name, page),
        }
    }

    /// Whether pages of `content` are drawn in process by
    /// [`Renderer::draw_page`] (images and text), not by the PDF renderer.
    pub fn is_drawn(content: &[u8]) -> bool {
        matches!(
            Format::sniff(content),
            Some(Format::Image(_) | Format::Text)
        )
    }

    /// Draws page `page` of an image or text file: a blocking call (decoding
    /// a 50-Mpx image takes seconds). A PDF is refused: its pages come from
    /// [`Renderer::render_page`].
    pub fn draw_page(
        &self,
        content: &[u8],
        file_name: &str,
        page: u32,
    ) -> Result<Pixels, RenderError> {
        self.limits.check_input(content.len())?;
        match Format::sniff(content) {
            Some(Format::Image(_)) => {
                if page != 1 {
                    return Err(RenderError::NoSuchPage { page, pages: 1 });
                }
                Ok(mark::image::decode(content, &self.limits.input)?)
            }
            Some(Format::Text) => text::render_page(as_text(content)?, file_name, page, self.dpi),
            Some(Format::Pdf) | None => Err(unsupported(&format!("`{file_name}`"))),
        }
    }

    /// The most bytes one page of `content` takes as pixels, read from its
    /// header without decoding: an image's width × height × 4, a PDF page's
    /// pixel cap × 3, an A4 text page at the resolution × 3. Content that is
    /// none of these (or a header that cannot be read) takes nothing: it is
    /// refused before anything is allocated.
    pub fn page_bytes(&self, content: &[u8]) -> u64 {
        match Format::sniff(content) {
            Some(Format::Image(_)) => {
                mark::image::dimensions(content).map_or(0, |(w, h)| u64::from(w) * u64::from(h) * 4)
            }
            Some(Format::Pdf) => self.limits.max_page_pixels.saturating_mul(3),
            Some(Format::Text) => {
                let (w, h) = text::page_pixels(self.dpi.max(self.reading_dpi));
                (w as u64) * (h as u64) * 3
            }
            None => 0,
        }
    }
}

fn as_text(content: &[u8]) -> Result<&str, RenderError> {
    std::str::from_utf8(content)
        .map_err(|_| RenderError::Unsupported("text content is not valid utf-8".into()))
}

fn unsupported(what: &str) -> RenderError {
    RenderError::Unsupported(format!(
        "{what} is not a pdf, png, jpeg, webp or utf-8 text file"
    ))
}

/// Applies the recipient's visible stamp and the forensic mark of
/// `issue.mark_id` (keyed by `key`) to a rendered page, in place.
pub fn mark_page(
    pixels: &mut Pixels,
    issue: &Issue,
    style: &Style,
    key: &MarkKey,
) -> Result<(), RenderError> {
    style.validate()?;
    mark::image::stamp_visible(pixels, &issue.lines(), style)?;
    mark::image::forensic::embed(
        &mut pixels.data,
        pixels.width,
        pixels.height,
        pixels.channels,
        key,
        issue.mark_id,
        style.forensic_strength,
    );
    Ok(())
}

/// Encodes a page as PNG (lossless, so the forensic mark is kept whole).
pub fn to_png(pixels: &Pixels) -> Result<Vec<u8>, RenderError> {
    mark::image::encode(pixels, ImageFormat::Png).map_err(|e| RenderError::Failed(e.to_string()))
}
