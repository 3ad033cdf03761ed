//! Text extraction from untrusted content, with limits of our own: plain text
//! in any common encoding, ZIP / TAR / GZIP archives nested to a bounded depth,
//! Office Open XML and OpenDocument files, PDF pages and e-mail messages with
//! their attachments. Every extracted [`Item`] keeps its path
//! (`archive.zip!/dir/member.txt`, `report.pdf#page=3`); what could not be
//! expanded (a zip bomb, a too-deep nesting, an encrypted member) becomes a
//! [`Problem`], never an expansion.
//!
//! Memory: [`extract`] returns every item at once; the scanner uses
//! [`extract_each`], which hands each item over as soon as it is extracted, so
//! what is held at once is the input, the member being read (at most
//! [`Limits::max_item_bytes`]) and the containers it is nested in.

mod archive;
mod mail;
mod office;
mod pdf;
mod text;

pub use text::{decode_text, stream_text};

/// The limits that keep extraction bounded. Time is the caller's to bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How many containers deep to expand; the outer file is at depth 0.
    pub max_depth: u32,
    /// How many items (members, attachments, pages) in total.
    pub max_entries: usize,
    /// How many bytes may be produced by decompression and decoding in total.
    pub max_total_bytes: u64,
    /// The largest allowed ratio of decompressed to compressed size of one member…
    pub max_ratio: u64,
    /// …once it has produced more than this many bytes (small members compress
    /// well without being bombs).
    pub ratio_floor_bytes: u64,
    /// The most bytes one member may decompress to: it is held in memory
    /// (twice, as bytes then as text) while it is scanned. A larger member is
    /// not expanded and becomes a problem.
    pub max_item_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 5,
            max_entries: 10_000,
            max_total_bytes: 512 << 20,
            max_ratio: 200,
            ratio_floor_bytes: 1 << 20,
            max_item_bytes: 32 << 20,
        }
    }
}

/// One piece of extracted text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The path: the outer name, then members joined with `!/`, pages as `#page=N`.
    pub path: String,
    /// The extracted text.
    pub text: String,
}

/// What kind of thing stopped extraction of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// Decompression would exceed the expansion ratio (a compression bomb).
    Bomb,
    /// A container nested deeper than the depth limit (or a recursive archive).
    Depth,
    /// More items than the entry limit.
    Entries,
    /// More extracted bytes than the total limit.
    TotalBytes,
    /// A member larger than the limit of one item.
    ItemBytes,
    /// A member or page is encrypted and cannot be inspected.
    Encrypted,
    /// A container or document is malformed.
    Corrupt,
}

impl ProblemKind {
    /// The detector id under which this problem is reported; do not change.
    pub fn detector(self) -> &'static str {
        match self {
            Self::Bomb => "extract.bomb",
            Self::Depth => "extract.depth",
            Self::Entries => "extract.entries",
            Self::TotalBytes => "extract.total_bytes",
            Self::ItemBytes => "extract.item_bytes",
            Self::Encrypted => "extract.encrypted",
            Self::Corrupt => "extract.corrupt",
        }
    }
}

/// Something that could not be extracted, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The path of the part that was not expanded.
    pub path: String,
    /// What went wrong.
    pub kind: ProblemKind,
    /// A lowercase explanation.
    pub detail: String,
}

/// Everything extracted from one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// The text items, in the order met.
    pub items: Vec<Item>,
    /// The parts that could not be expanded.
    pub problems: Vec<Problem>,
}

/// Extracts the text of `bytes`, named `name` (a file name; its extension
/// helps recognise e-mail), within `limits`.
pub fn extract(name: &str, bytes: &[u8], limits: &Limits) -> Extraction {
    let mut items = Vec::new();
    let problems = extract_each(name, bytes, limits, &mut |item| items.push(item));
    Extraction { items, problems }
}

/// Extracts as [`extract`] does, handing each item to `found` as soon as it is
/// extracted instead of keeping them all; returns the problems.
pub fn extract_each(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    found: &mut dyn FnMut(Item),
) -> Vec<Problem> {
    let mut x = Extractor {
        limits,
        found,
        problems: Vec::new(),
        entries: 0,
        total: 0,
    };
    if x.account(name, bytes.len() as u64) {
        x.visit(name.to_owned(), bytes, 0);
    }
    x.problems
}

/// The state of one extraction: limits, what has been spent of them, where
/// items go and the problems met.
pub(crate) struct Extractor<'l> {
    limits: &'l Limits,
    found: &'l mut dyn FnMut(Item),
    problems: Vec<Problem>,
    entries: usize,
    total: u64,
}

/// The formats recognised by content (and, for e-mail, by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Gzip,
    Xz,
    Zstd,
    SevenZip,
    Tar,
    Pdf,
    Mail,
    Media,
    Text,
}

/// Name endings of the containers [`extract`] opens (besides Office and
/// OpenDocument files, which are zips).
const CONTAINER_EXTENSIONS: &[&str] = &[
    ".zip", ".gz", ".tgz", ".tar", ".xz", ".txz", ".zst", ".zstd", ".tzst", ".7z", ".pdf", ".eml",
];

/// Whether content named `name` whose first bytes are `head` (512 are
/// enough) is a container or document that [`extract`] expands rather than
/// text: for callers that stream text and hand containers to the extractor.
pub fn is_container(name: &str, head: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    CONTAINER_EXTENSIONS.iter().any(|e| lower.ends_with(e))
        || !matches!(sniff("", head), Format::Text | Format::Media | Format::Mail)
}

fn sniff(name: &str, bytes: &[u8]) -> Format {
    let lower = name.to_ascii_lowercase();
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Format::Zip
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Format::Gzip
    } else if bytes.starts_with(b"\xfd7zXZ\x00") {
        Format::Xz
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Format::Zstd
    } else if bytes.starts_with(b"7z\xbc\xaf\x27\x1c") {
        Format::SevenZip
    } else if bytes.get(257..262) == Some(b"ustar") {
        Format::Tar
    } else if bytes.starts_with(b"%PDF-") {
        Format::Pdf
    } else if lower.ends_with(".eml") || mail::looks_like_mail(bytes) {
        Format::Mail
    } else if is_media(bytes) {
        Format::Media
    } else {
        Format::Text
    }
}

/// Images, audio and video carry no text worth scanning.
fn is_media(bytes: &[u8]) -> bool {
    const MAGICS: [&[u8]; 6] = [
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"GIF87a",
        b"GIF89a",
        b"\x1aE\xdf\xa3",
        b"OggS",
    ];
    MAGICS.iter().any(|m| bytes.starts_with(m))
        || (bytes.get(4..8) == Some(b"ftyp"))
        || (bytes.starts_with(b"RIFF")
            && bytes
                .get(8..12)
                .is_some_and(|t| t == b"WEBP" || t == b"WAVE" || t == b"AVI "))
}

impl Extractor<'_> {
    /// Expands `bytes`, found at `path`, at nesting `depth`.
    fn visit(&mut self, path: String, bytes: &[u8], depth: u32) {
        let format = sniff(&path, bytes);
        let container = !matches!(format, Format::Text | Format::Media);
        if container && depth >= self.limits.max_depth {
            self.problem(
                path,
                ProblemKind::Depth,
                format!(
                    "container nested deeper than {} levels",
                    self.limits.max_depth
                ),
            );
            return;
        }
        match format {
            Format::Zip => archive::zip(self, &path, bytes, depth),
            Format::Gzip => archive::gzip(self, &path, bytes, depth),
            Format::Xz => archive::xz(self, &path, bytes, depth),
            Format::Zstd => archive::zstd(self, &path, bytes, depth),
            Format::SevenZip => archive::seven_zip(self, &path, bytes, depth),
            Format::Tar => archive::tar(self, &path, bytes, depth),
            Format::Pdf => pdf::pdf(self, &path, bytes),
            Format::Mail => mail::mail(self, &path, bytes, depth),
            Format::Media => {}
            Format::Text => {
                let text = decode_text(bytes);
                self.item(path, text);
            }
        }
    }

    /// Records a text item.
    fn item(&mut self, path: String, text: String) {
        if !text.trim().is_empty() {
            (self.found)(Item { path, text });
        }
    }

    /// Records a problem.
    fn problem(&mut self, path: String, kind: ProblemKind, detail: String) {
        self.problems.push(Problem { path, kind, detail });
    }

    /// Counts one more entry of `bytes` bytes against the limits; false (and a
    /// problem recorded) when a limit is exceeded.
    fn account(&mut self, path: &str, bytes: u64) -> bool {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            if self.entries == self.limits.max_entries + 1 {
                self.problem(
                    path.to_owned(),
                    ProblemKind::Entries,
                    format!("more than {} entries", self.limits.max_entries),
                );
            }
            return false;
        }
        self.total = self.total.saturating_add(bytes);
        if self.total > self.limits.max_total_bytes {
            self.problem(
                path.to_owned(),
                ProblemKind::TotalBytes,
                format!("more than {} bytes extracted", self.limits.max_total_bytes),
            );
            return false;
        }
        true
    }

    /// How many more bytes one member compressed to `compressed` bytes may
    /// produce: the rest of the total budget, and at most the ratio allows.
    fn member_budget(&self, compressed: u64) -> (u64, bool) {
        let remaining = self.limits.max_total_bytes.saturating_sub(self.total);
        let by_ratio = compressed
            .saturating_mul(self.limits.max_ratio)
            .max(self.limits.ratio_floor_bytes);
        if by_ratio < remaining {
            (by_ratio, true)
        } else {
            (remaining, false)
        }
    }

    /// Reads a decompressing reader for a member of `compressed` bytes,
    /// within the budget and the limit of one item; `None` (and a problem
    /// recorded) when it overflows.
    fn read_bounded(
        &mut self,
        path: &str,
        compressed: u64,
        reader: impl std::io::Read,
    ) -> Option<Vec<u8>> {
        use std::io::Read;
        let (budget, ratio_bound) = self.member_budget(compressed);
        let item_bound = self.limits.max_item_bytes < budget;
        let budget = budget.min(self.limits.max_item_bytes);
        let mut out = Vec::new();
        if let Err(e) = reader.take(budget.saturating_add(1)).read_to_end(&mut out) {
            self.problem(
                path.to_owned(),
                ProblemKind::Corrupt,
                format!("cannot decompress: {e}"),
            );
            return None;
        }
        if out.len() as u64 > budget {
            if item_bound {
                self.problem(
                    path.to_owned(),
                    ProblemKind::ItemBytes,
                    format!("member larger than {} bytes", self.limits.max_item_bytes),
                );
            } else if ratio_bound {
                self.problem(
                    path.to_owned(),
                    ProblemKind::Bomb,
                    format!(
                        "expands more than {} times its compressed size of {compressed} bytes",
                        self.limits.max_ratio
                    ),
                );
            } else {
                self.problem(
                    path.to_owned(),
                    ProblemKind::TotalBytes,
                    format!("more than {} bytes extracted", self.limits.max_total_bytes),
                );
            }
            return None;
        }
        Some(out)
    }
}

/// Joins a container path and a member name.
fn member_path(container: &str, member: &str) -> String {
    format!("{container}!/{}", member.trim_start_matches('/'))
}
