//! Watermarks for copies that leave Custody, and tracing of leaked copies.
//!
//! Every copy issued to a recipient carries who received it, visibly (a stamp
//! with name, e-mail, party, time and mark token) and forensically (the
//! 64-bit [`MarkId`] with a CRC-16, hidden so that an excerpt or a re-encoded
//! copy still names it):
//!
//! | format | visible | forensic |
//! |---|---|---|
//! | PDF | stamp on every page ([`pdf`]) | token in the document information and the stamp's text |
//! | PNG, JPEG, WebP | diagonal text, tiled ([`image`]) | keyed spread spectrum in the block DCT of the luminance ([`image::forensic`]) |
//! | source code (C, C++, Rust, Java, JavaScript, Python, shell, SQL, CSS, Perl, HTML, YAML, TOML, INI, Makefile) | banner comment in the file's own syntax ([`source`]) | compact `cm:` comment lines between top-level blank lines, outside strings ([`source::compact`]) |
//! | prose (`.txt`, `README`, …), markup (`.md`, `.rst`) | banner lines ([`text`]) | zero-width characters on every line (markup: on plain-text lines) |
//! | STEP, DXF, STL ([`cad`]), SVG, XML ([`xml`]) | the token in a header comment, 999 groups, the `solid` line or binary header | — |
//! | DOCX, XLSX, PPTX ([`office`]) | a footer line (PPTX: on the slide masters) | the token in the custom document properties |
//!
//! Besides PDF and images, a file is marked only if the registry
//! ([`formats`]) knows its format by name and its content matches; each
//! marker writes only where its format allows, and no existing line of a
//! text format is changed but prose's and markup's line ends. Anything else is
//! [`MarkError::Unsupported`] and never altered: the room's `unmarkable`
//! action decides.
//!
//! Pure: bytes in, bytes out; the mark id, key and time come from the caller;
//! no clock, no randomness, no I/O. Untrusted input is bounded by [`Limits`].

pub mod cad;
mod ecc;
mod error;
pub mod formats;
mod glyphs;
mod id;
pub mod image;
pub mod office;
pub mod pdf;
mod prng;
pub mod source;
pub mod text;
pub mod xml;

pub use error::MarkError;
pub use id::{Issue, MarkId, MarkKey, Recipient};
/// The time type of [`Issue::issued_at`], re-exported so callers need not name the `time` crate.
pub use time::OffsetDateTime;

/// Where the visible stamp goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// One stamp across the middle, at the style's angle, as large as fits.
    Center,
    /// One small horizontal stamp at the bottom.
    Footer,
    /// Repeated over the whole surface (images: a staggered grid; PDF: three per page).
    Tiled,
}

/// How the visible stamp looks, and how strong the forensic image mark is.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Counter-clockwise angle of the text, in degrees (default 30).
    pub angle_deg: f32,
    /// Opacity of the text, in (0, 1] (default 0.25).
    pub opacity: f32,
    /// Placement (default [`Placement::Tiled`]).
    pub placement: Placement,
    /// Text colour (default mid grey).
    pub color: [u8; 3],
    /// Forensic image mark amplitude in grey levels before masking, in (0, 16] (default 3).
    pub forensic_strength: f32,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            angle_deg: 30.0,
            opacity: 0.25,
            placement: Placement::Tiled,
            color: [128, 128, 128],
            forensic_strength: 3.0,
        }
    }
}

impl Style {
    /// Checks every setting's range.
    pub fn validate(&self) -> Result<(), MarkError> {
        if !(self.opacity > 0.0 && self.opacity <= 1.0) {
            return Err(MarkError::BadStyle(format!(
                "opacity `{}` is not in (0, 1]",
                self.opacity
            )));
        }
        if !(self.angle_deg.is_finite() && self.angle_deg.abs() <= 360.0) {
            return Err(MarkError::BadStyle(format!(
                "angle `{}` is not in [-360, 360]",
                self.angle_deg
            )));
        }
        if !(self.forensic_strength > 0.0 && self.forensic_strength <= 16.0) {
            return Err(MarkError::BadStyle(format!(
                "forensic strength `{}` is not in (0, 16]",
                self.forensic_strength
            )));
        }
        Ok(())
    }
}

/// Bounds on untrusted input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input in bytes (default 256 MiB).
    pub max_input_bytes: u64,
    /// Largest image in pixels, checked from the header before decoding (default 50 million).
    pub max_pixels: u64,
    /// Most pages in a PDF (default 5,000).
    pub max_pages: u32,
    /// Largest decoded size of any one compressed PDF stream (default 256 MiB).
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 256 << 20,
            max_pixels: 50_000_000,
            max_pages: 5_000,
            max_decompressed_bytes: 256 << 20,
        }
    }
}

impl Limits {
    pub(crate) fn check_input(&self, len: usize) -> Result<(), MarkError> {
        let len = len as u64;
        if len > self.max_input_bytes {
            return Err(MarkError::TooLarge {
                what: "input size",
                limit: self.max_input_bytes,
                actual: len,
            });
        }
        Ok(())
    }
}

/// The kinds of content this crate marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A PDF document.
    Pdf,
    /// An image.
    Image(image::ImageFormat),
    /// UTF-8 text or source code.
    Text,
}

impl Format {
    /// Recognises content by its first bytes: PDF, PNG, JPEG, WebP signatures,
    /// else UTF-8 without NUL bytes is text.
    pub fn sniff(content: &[u8]) -> Option<Self> {
        let head = content.get(..1024).unwrap_or(content);
        if head.windows(5).any(|w| w == b"%PDF-") {
            return Some(Self::Pdf);
        }
        if let Some(f) = image::ImageFormat::sniff(content) {
            return Some(Self::Image(f));
        }
        (std::str::from_utf8(content).is_ok() && !content.contains(&0)).then_some(Self::Text)
    }
}

/// Marks one copy for one recipient: visible and forensic marks, same format out.
/// PDF and images are recognised by content; everything else goes by the
/// format registry ([`formats`]), by `file_name` and content, and is
/// [`MarkError::Unsupported`] (unaltered) when no registered format matches.
pub fn mark(
    content: &[u8],
    file_name: &str,
    issue: &Issue,
    style: &Style,
    key: &MarkKey,
    limits: &Limits,
) -> Result<Vec<u8>, MarkError> {
    style.validate()?;
    limits.check_input(content.len())?;
    match Format::sniff(content) {
        Some(Format::Pdf) => pdf::mark_pdf(content, issue, style, key, limits),
        Some(Format::Image(_)) => image::mark_image(content, issue, style, key, limits),
        Some(Format::Text) | None => formats::mark_registered(content, file_name, issue),
    }
}

/// Which mark a trace was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    /// The PDF document information entry.
    PdfMetadata,
    /// The text of a PDF stamp.
    PdfStampText,
    /// The forensic image mark.
    ImageForensic,
    /// Trailing whitespace in text.
    TextWhitespace,
    /// Zero-width characters in text.
    TextZeroWidth,
    /// The visible banner's token in text.
    TextBanner,
    /// Compact comments in source code.
    TextComment,
    /// The custom document properties of an Office (OOXML) package.
    OfficeProperties,
    /// The 80-byte header of a binary STL file.
    StlHeader,
}

impl TraceKind {
    /// A stable name; do not change.
    pub fn name(self) -> &'static str {
        match self {
            Self::PdfMetadata => "pdf-metadata",
            Self::PdfStampText => "pdf-stamp-text",
            Self::ImageForensic => "image-forensic",
            Self::TextWhitespace => "text-whitespace",
            Self::TextZeroWidth => "text-zero-width",
            Self::TextBanner => "text-banner",
            Self::TextComment => "text-comment",
            Self::OfficeProperties => "office-properties",
            Self::StlHeader => "stl-header",
        }
    }
}

/// A mark read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The mark id (its CRC-16 checked).
    pub mark_id: MarkId,
    /// Where it was read.
    pub kind: TraceKind,
    /// 1 − (bound on the chance of this reading on unmarked content).
    pub confidence: f64,
    /// Details for a human (score, scale, lines read).
    pub detail: String,
}

/// Reads whatever mark `content` carries (by content sniffing). Image marks
/// need the `key` they were made with; the others are read without it.
pub fn trace(
    content: &[u8],
    key: Option<&MarkKey>,
    limits: &Limits,
) -> Result<Option<Trace>, MarkError> {
    limits.check_input(content.len())?;
    match Format::sniff(content) {
        Some(Format::Pdf) => Ok(
            pdf::detect_pdf(content, limits)?.map(|(mark_id, src)| Trace {
                mark_id,
                kind: match src {
                    pdf::PdfSource::Metadata => TraceKind::PdfMetadata,
                    pdf::PdfSource::StampText => TraceKind::PdfStampText,
                },
                confidence: 1.0 - 1.0 / 65536.0,
                detail: "token with a valid crc-16".into(),
            }),
        ),
        Some(Format::Image(_)) => {
            let Some(key) = key else {
                return Err(MarkError::Unsupported(
                    "reading an image mark needs the mark key".into(),
                ));
            };
            let r = image::detect_image(content, key, limits)?;
            Ok(r.mark_id.map(|mark_id| Trace {
                mark_id,
                kind: TraceKind::ImageForensic,
                confidence: 1.0 - r.false_positive_bound,
                detail: format!(
                    "sync score {:.1} (threshold {:.1}), scale {:.2}, false-positive bound {:.1e}",
                    r.score,
                    image::THRESHOLD,
                    r.scale,
                    r.false_positive_bound
                ),
            }))
        }
        Some(Format::Text) => {
            let t = std::str::from_utf8(content).map_err(|_| MarkError::BadText)?;
            if let Some(r) = text::detect_text(t) {
                return Ok(Some(Trace {
                    mark_id: r.mark_id,
                    kind: match r.carrier {
                        text::Carrier::Whitespace => TraceKind::TextWhitespace,
                        text::Carrier::ZeroWidth => TraceKind::TextZeroWidth,
                        text::Carrier::Comment => TraceKind::TextComment,
                    },
                    confidence: 1.0 - 1.0 / 65536.0,
                    detail: format!(
                        "{} {} carried the mark, {:.0} % agree",
                        r.lines,
                        if r.carrier == text::Carrier::Comment {
                            "comments"
                        } else {
                            "lines"
                        },
                        r.agreement * 100.0
                    ),
                }));
            }
            Ok(MarkId::find_token(content).map(|mark_id| Trace {
                mark_id,
                kind: TraceKind::TextBanner,
                confidence: 1.0 - 1.0 / 65536.0,
                detail: "banner token with a valid crc-16".into(),
            }))
        }
        None if office::is_zip(content) => {
            Ok(office::detect_office(content)?.map(|mark_id| Trace {
                mark_id,
                kind: TraceKind::OfficeProperties,
                confidence: 1.0 - 1.0 / 65536.0,
                detail: "custom property token with a valid crc-16".into(),
            }))
        }
        None if cad::is_binary_stl(content) => {
            Ok(cad::stl_header_token(content).map(|mark_id| Trace {
                mark_id,
                kind: TraceKind::StlHeader,
                confidence: 1.0 - 1.0 / 65536.0,
                detail: "stl header token with a valid crc-16".into(),
            }))
        }
        None => Err(MarkError::Unsupported(
            "not a pdf, png, jpeg, webp, office open xml, binary stl or utf-8 text file".into(),
        )),
    }
}
