//! PDF text through `lopdf`: each page's content streams are decompressed and
//! their text-showing operators (`Tj`, `TJ`, `'`, `"`) decoded with the page's
//! font encodings; one item per page, at `file.pdf#page=N`. Pages given as
//! images (scans) have no text to find: OCR is out of scope.
//!
//! The document is one member for the limits: everything decompressed for it
//! — the streams read while loading, each on its own (object streams are
//! also checked before they are expanded, [`pdfload`]), then the
//! content of every page (a stream shared by many pages is decoded, and
//! counted, once per page) and every font's encoding map — comes to at most
//! the expansion ratio times the file's size and is counted against the total. Each font's
//! encoding is resolved once per document. The page tree is walked once (a
//! walk per page made a file of a few thousand pages take minutes).
//!
//! A string a font cannot decode is skipped, not the page. A parser panic on
//! hostile input is caught and reported as a corrupt document rather than
//! taking the scan down.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::content::Content;
use lopdf::{DecompressError, Dictionary, Document, Encoding, Object, ObjectId};

use super::{Extractor, ProblemKind};
use pdfload::Refused;

/// Extracts the text of each page.
pub(super) fn pdf(x: &mut Extractor<'_>, path: &str, bytes: &[u8]) {
    let outcome = catch_unwind(AssertUnwindSafe(|| pages(x, path, bytes)));
    if outcome.is_err() {
        x.problem(
            path.to_owned(),
            ProblemKind::Corrupt,
            "the pdf parser failed on this document".to_owned(),
        );
    }
}

/// Why a page yielded no text.
enum PageError {
    /// The document's decompression budget is spent.
    Budget,
    /// The page is malformed.
    Pdf(lopdf::Error),
}

impl From<lopdf::Error> for PageError {
    fn from(e: lopdf::Error) -> Self {
        match e {
            lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. }) => Self::Budget,
            other => Self::Pdf(other),
        }
    }
}

/// What has been decoded for one document: the budget left, and the font
/// encodings resolved so far, by the address of their (immutable) dictionary.
struct Decoded<'d> {
    left: u64,
    encodings: HashMap<*const Dictionary, Option<Encoding<'d>>>,
}

impl Decoded<'_> {
    fn limit(&self) -> usize {
        usize::try_from(self.left).unwrap_or(usize::MAX)
    }

    /// Takes `n` decoded bytes from the budget.
    fn spend(&mut self, n: usize) -> Result<(), PageError> {
        let n = n as u64;
        if n > self.left {
            return Err(PageError::Budget);
        }
        self.left -= n;
        Ok(())
    }
}

fn pages(x: &mut Extractor<'_>, path: &str, bytes: &[u8]) {
    let (budget, ratio_bound) = x.member_budget(bytes.len() as u64);
    let Some(doc) = load(x, path, bytes, budget) else {
        return;
    };
    let mut decoded = Decoded {
        left: budget,
        encodings: HashMap::new(),
    };
    for (number, page) in doc.get_pages() {
        let ppath = format!("{path}#page={number}");
        let before = decoded.left;
        match page_text(&doc, page, &mut decoded) {
            Ok(text) => {
                let spent = before - decoded.left;
                if !x.account(&ppath, spent.saturating_add(text.len() as u64)) {
                    return;
                }
                x.item(ppath, text);
            }
            Err(PageError::Budget) => {
                let (kind, detail) = if ratio_bound {
                    let ratio = x.limits.max_ratio;
                    let detail = format!(
                        "its pages decompress to more than {ratio} times its size of {} bytes",
                        bytes.len()
                    );
                    (ProblemKind::Bomb, detail)
                } else {
                    let total = x.limits.max_total_bytes;
                    let detail = format!("more than {total} bytes extracted");
                    (ProblemKind::TotalBytes, detail)
                };
                x.problem(ppath, kind, detail);
                return;
            }
            Err(PageError::Pdf(e)) => x.problem(
                ppath,
                ProblemKind::Corrupt,
                format!("cannot extract page text: {e}"),
            ),
        }
    }
}

/// Loads the document, each stream within `budget`; `None` (and a problem
/// recorded) when it cannot be read.
fn load(x: &mut Extractor<'_>, path: &str, bytes: &[u8], budget: u64) -> Option<Document> {
    let (kind, detail) = match pdfload::load(bytes, usize::try_from(budget).unwrap_or(usize::MAX)) {
        Ok(Ok(doc)) => return Some(doc),
        Ok(Err(Refused::Overlap(n))) => (
            ProblemKind::Corrupt,
            format!("object stream {n} has overlapping or unordered objects"),
        ),
        Ok(Err(Refused::Budget { limit, .. })) => (
            ProblemKind::Bomb,
            format!("its object streams decompress to more than {limit} bytes"),
        ),
        Err(e) => {
            let message = e.to_string();
            let kind = if matches!(
                e,
                lopdf::Error::Decompress(DecompressError::MemoryLimitExceeded { .. })
            ) {
                ProblemKind::Bomb
            } else if message.to_ascii_lowercase().contains("decrypt")
                || message.contains("password")
            {
                ProblemKind::Encrypted
            } else {
                ProblemKind::Corrupt
            };
            (kind, format!("cannot read the pdf: {message}"))
        }
    };
    x.problem(path.to_owned(), kind, detail);
    None
}

/// The text of one page, its decoding charged to `decoded`.
fn page_text<'d>(
    doc: &'d Document,
    page: ObjectId,
    decoded: &mut Decoded<'d>,
) -> Result<String, PageError> {
    let fonts = doc.get_page_fonts(page)?;
    for font in fonts.values() {
        let key: *const Dictionary = *font;
        if !decoded.encodings.contains_key(&key) {
            let encoding = font_encoding(doc, font, decoded)?;
            decoded.encodings.insert(key, encoding);
        }
    }
    let content = doc.get_page_content_with_limit(page, decoded.limit())?;
    decoded.spend(content.len())?;
    let content = Content::decode(&content)?;
    let mut text = String::new();
    let mut current: Option<&Encoding<'_>> = None;
    for op in &content.operations {
        match op.operator.as_str() {
            "Tf" => {
                current = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|name| fonts.get(name))
                    .and_then(|font| decoded.encodings.get(&std::ptr::from_ref(*font)))
                    .and_then(Option::as_ref);
            }
            "Tj" | "TJ" => show(&mut text, current, &op.operands),
            "'" | "\"" => {
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                let at = if op.operator == "'" { 0 } else { 2 };
                show(
                    &mut text,
                    current,
                    op.operands.get(at..=at).unwrap_or_default(),
                );
            }
            "T*" | "ET" if !text.ends_with('\n') => text.push('\n'),
            _ => {}
        }
    }
    Ok(text)
}

/// A font's encoding (`None` when it cannot be resolved: its text is not
/// decoded), with its encoding streams charged to the budget.
fn font_encoding<'d>(
    doc: &'d Document,
    font: &'d Dictionary,
    decoded: &mut Decoded<'d>,
) -> Result<Option<Encoding<'d>>, PageError> {
    for key in [b"ToUnicode".as_slice(), b"Encoding"] {
        if let Ok(stream) = font.get_deref(key, doc).and_then(Object::as_stream) {
            match stream.decompressed_content_with_limit(decoded.limit()) {
                Ok(data) => decoded.spend(data.len())?,
                Err(e) => PageError::from(e).budget()?,
            }
        }
    }
    match font.get_font_encoding_with_limit(doc, decoded.limit()) {
        Ok(encoding) => Ok(Some(encoding)),
        Err(e) => PageError::from(e).budget().map(|()| None),
    }
}

impl PageError {
    /// `Err` if the budget is spent, else nothing (the error is tolerated).
    fn budget(self) -> Result<(), PageError> {
        match self {
            Self::Budget => Err(Self::Budget),
            Self::Pdf(_) => Ok(()),
        }
    }
}

/// Appends the strings shown by a `Tj` or `TJ` (whose large negative kerns
/// become spaces); nothing without a known encoding.
fn show(text: &mut String, encoding: Option<&Encoding<'_>>, operands: &[Object]) {
    let Some(encoding) = encoding else { return };
    for operand in operands {
        match operand {
            Object::String(bytes, _) => {
                let _ = encoding.write_to_string(bytes, text);
            }
            Object::Array(items) => {
                for item in items {
                    match item {
                        Object::String(bytes, _) => {
                            let _ = encoding.write_to_string(bytes, text);
                        }
                        Object::Integer(i) if *i < -100 => text.push(' '),
                        _ => {}
                    }
                }
                text.push(' ');
            }
            _ => {}
        }
    }
}
