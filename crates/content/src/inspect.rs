//! Data-loss prevention of content as it streams: an upload's plaintext on its
//! way to the vault, or a stored version's plaintext when its verdict must be
//! renewed. The text is scanned in batches that keep the previous batch's last
//! 16 KiB as overlap so a secret split across pieces is still seen (a finding
//! seen twice in the overlap is counted once). Documents and containers (by
//! name or magic: zip, Office, ODF, PDF, gzip, tar, e-mail) are also kept in
//! memory up to [`EXTRACT_CAP`] and run through dlp's extractor at the end —
//! no second pass over the disk; a larger one is uninspectable.
//!
//! With a gate (uploads), a finding whose action is `block` stops the stream
//! at once with [`AppError::Blocked`], so nothing is stored; the error carries
//! only the detector id, where it is and dlp's own message.
//!
//! Memory: dlp counts every finding but keeps only the first of each piece and
//! of each member (and those in a piece's overlaps, to count them once), so a
//! file of millions of findings costs its counts per detector; at most
//! [`EXTRACTIONS`] documents are extracted at once (each holds a member of up
//! to 32 MiB twice, as bytes and as text), the others wait up to
//! [`EXTRACTION_WAIT`] and then fail with [`AppError::Busy`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use dlp::{DocMatch, Finding, Scanner, Severity};
use serde::{Deserialize, Serialize};

use crate::dlp_policy::{DirectionPolicy, DlpAction};
use kernel::AppError;

/// Bytes of the previous batch scanned again with the next one.
const OVERLAP: usize = 16 << 10;
/// Bytes gathered before one scan (the overlap included).
const SCAN_BATCH: usize = 1 << 20;
/// Largest document or container extracted (it is held in memory).
pub const EXTRACT_CAP: usize = 64 << 20;
/// Bytes seen before deciding whether the content is a document.
const SNIFF: usize = 512;
/// The reason recorded for a document larger than [`EXTRACT_CAP`].
pub const TOO_LARGE: &str = "too_large";
/// Documents extracted at once, in the whole process.
pub const EXTRACTIONS: usize = 2;
/// Longest wait for a turn to extract before the inspection fails as busy.
pub const EXTRACTION_WAIT: Duration = Duration::from_secs(120);

/// The turns to extract a document: a counting semaphore for the threads
/// inspections run on (which are not async).
struct Turns {
    taken: Mutex<usize>,
    freed: Condvar,
}

static TURNS: Turns = Turns {
    taken: Mutex::new(0),
    freed: Condvar::new(),
};

/// A turn to extract, given back when dropped.
struct Turn;

impl Turns {
    /// Waits up to `wait` for one of the [`EXTRACTIONS`] turns.
    fn take(&'static self, wait: Duration) -> Result<Turn, AppError> {
        let deadline = Instant::now() + wait;
        let mut taken = self.taken.lock().map_err(AppError::internal)?;
        while *taken >= EXTRACTIONS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AppError::Busy);
            }
            taken = self
                .freed
                .wait_timeout(taken, left)
                .map_err(AppError::internal)?
                .0;
        }
        *taken += 1;
        Ok(Turn)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Ok(mut taken) = TURNS.taken.lock() {
            *taken = taken.saturating_sub(1);
        }
        TURNS.freed.notify_one();
    }
}

/// Name endings of documents the extractor opens whose first bytes alone do
/// not say so to [`dlp::is_container`] by name (Office and OpenDocument files
/// are zips it knows by their first bytes; these keep a short or damaged
/// head from being streamed as text).
const DOC_EXTENSIONS: &[&str] = &[
    ".jar", ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods", ".odp",
];

/// Whether content named `name` starting with `head` is a document or
/// container the extractor expands (zip, tar, gzip, xz, zstd, 7z, PDF, mail
/// and the zip-based document formats) rather than text to stream.
fn is_document(name: &str, head: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    dlp::is_container(name, head) || DOC_EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// The most telling finding: where it is and what it says (redacted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Top {
    pub detector: String,
    pub severity: Severity,
    pub message: String,
    /// The member of a container, when it was found in one.
    pub item: Option<String>,
    /// 1-based line in the decoded text.
    pub line: u64,
}

/// A registered crown jewel that content overlaps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JewelHit {
    /// The registered document's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The share of the content's fingerprints that are the document's
    /// (0 to 1, three decimals).
    pub share: f64,
}

impl From<&DocMatch> for JewelHit {
    fn from(m: &DocMatch) -> Self {
        JewelHit {
            id: m.doc_id.clone(),
            name: m.name.clone(),
            share: (m.share * 1000.0).round() / 1000.0,
        }
    }
}

/// What one inspection found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scanned {
    /// The highest severity of the content's findings (extraction problems
    /// aside).
    pub max_severity: Option<Severity>,
    /// Findings per detector id.
    pub detectors: BTreeMap<String, i64>,
    /// Why (part of) the content could not be inspected: an extraction
    /// problem's detector id, or [`TOO_LARGE`].
    pub uninspectable: Option<String>,
    /// The first finding of the highest severity.
    pub top: Option<Top>,
    /// The crown jewels the content overlaps, each once with its largest
    /// share, largest first.
    pub jewels: Vec<JewelHit>,
}

impl Scanned {
    /// Counts `n` findings of detector `id`.
    fn count(&mut self, id: &str, n: u64) {
        if n > 0 {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            let mine = self.detectors.entry(id.to_owned()).or_default();
            *mine = mine.saturating_add(n);
        }
    }

    /// Takes `f` as the top finding if it is more severe than the top so far.
    fn consider(&mut self, f: &Finding, item: Option<&str>, line: u64) {
        if self.max_severity.is_none_or(|s| f.severity > s) {
            self.max_severity = Some(f.severity);
            self.top = Some(Top {
                detector: f.detector.clone(),
                severity: f.severity,
                message: f.message.clone(),
                item: item.map(str::to_owned),
                line,
            });
        }
    }

    /// Notes the crown jewels a report names.
    fn jewels_of(&mut self, found: &[DocMatch]) {
        for m in found {
            let hit = JewelHit::from(m);
            match self.jewels.iter_mut().find(|j| j.id == hit.id) {
                Some(j) if j.share < hit.share => *j = hit,
                Some(_) => {}
                None => self.jewels.push(hit),
            }
        }
        self.jewels
            .sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.id.cmp(&b.id)));
    }

    /// Folds in the findings of the extracted text: counts per detector are
    /// the larger of the two passes (the stream saw some of the same text).
    fn merge(&mut self, other: Scanned) {
        let jewels: Vec<DocMatch> = other
            .jewels
            .iter()
            .map(|j| DocMatch {
                doc_id: j.id.clone(),
                name: j.name.clone(),
                matched: 0,
                share: j.share,
                doc_share: 0.0,
                run: 0,
            })
            .collect();
        self.jewels_of(&jewels);
        for (id, n) in other.detectors {
            let mine = self.detectors.entry(id).or_default();
            *mine = (*mine).max(n);
        }
        if self.uninspectable.is_none() {
            self.uninspectable = other.uninspectable;
        }
        if other.max_severity > self.max_severity {
            self.max_severity = other.max_severity;
            self.top = other.top;
        }
    }
}

/// Stops an upload as soon as a finding's action is `block`, and at its end
/// when the whole verdict's action is `block`, or `justify` without a reason.
pub(crate) struct Gate {
    pub policy: DirectionPolicy,
    /// Whether the uploader gave a justification.
    pub justified: bool,
}

/// Scans one stream of plaintext as it arrives.
pub(crate) struct Inspector {
    scanner: Arc<Scanner>,
    name: String,
    gate: Option<Gate>,
    /// The overlap kept from the last scan followed by bytes not yet scanned.
    buf: Vec<u8>,
    /// How many bytes at the start of `buf` were already scanned.
    scanned: usize,
    /// Line breaks in the bytes before `buf`.
    lines_before: u64,
    /// Findings of the last batch, to count those in the overlap once.
    seen: HashSet<(String, u64, String)>,
    /// The whole content while it may still be extracted.
    whole: Option<Vec<u8>>,
    /// Whether the content is a document (decided after [`SNIFF`] bytes).
    document: Option<bool>,
    found: Scanned,
}

impl Inspector {
    pub(crate) fn new(scanner: Arc<Scanner>, name: &str, gate: Option<Gate>) -> Self {
        Inspector {
            scanner,
            name: name.rsplit('/').next().unwrap_or(name).to_owned(),
            gate,
            buf: Vec::new(),
            scanned: 0,
            lines_before: 0,
            seen: HashSet::new(),
            whole: Some(Vec::new()),
            document: None,
            found: Scanned::default(),
        }
    }

    /// Takes the next piece; scans once a batch is full.
    pub(crate) fn push(&mut self, piece: &[u8]) -> Result<(), AppError> {
        self.keep(piece);
        self.buf.extend_from_slice(piece);
        if self.buf.len() >= SCAN_BATCH {
            self.scan()?;
        }
        Ok(())
    }

    /// Scans what is left at the end of the stream and extracts a document.
    pub(crate) fn finish(mut self) -> Result<Scanned, AppError> {
        if self.buf.len() > self.scanned {
            self.scan()?;
        }
        // Rules on file paths alone (the stream's pieces leave them out).
        let named = self.scanner.scan_path(&self.name);
        if named.total > 0 {
            let mut found = Scanned::default();
            for (id, n) in &named.counts {
                found.count(id, *n);
            }
            if let Some(f) = &named.worst {
                found.consider(f, None, 0);
            }
            self.found.merge(found);
        }
        if let Some(whole) = self.whole.take()
            && (self.document == Some(true) || is_document(&self.name, &whole))
        {
            let report = {
                let _turn = TURNS.take(EXTRACTION_WAIT)?;
                self.scanner.scan(&self.name, &whole)
            };
            drop(whole);
            let mut extracted = Scanned::default();
            for (id, n) in &report.counts {
                extracted.count(id, *n);
            }
            extracted.jewels_of(&report.jewels);
            extracted.uninspectable = report
                .findings
                .iter()
                .find(|f| f.detector.starts_with("extract."))
                .map(|f| f.detector.clone());
            if let Some(f) = &report.worst {
                let item = (f.location.path != self.name).then_some(f.location.path.as_str());
                extracted.consider(f, item, u64::from(f.location.line));
            }
            self.found.merge(extracted);
        }
        if let Some(gate) = &self.gate {
            let found = &self.found;
            match gate
                .policy
                .decide(found.max_severity, found.uninspectable.is_some())
            {
                DlpAction::Block => {
                    return Err(match &found.top {
                        Some(top) if gate.policy.for_severity(top.severity) == DlpAction::Block => {
                            blocked(top)
                        }
                        _ => uninspectable_blocked(found),
                    });
                }
                DlpAction::Justify if !gate.justified => {
                    return Err(crate::dlp_policy::justification_required("upload", found));
                }
                _ => {}
            }
        }
        Ok(self.found)
    }

    /// Keeps the content for extraction while it may be a document below the cap.
    fn keep(&mut self, piece: &[u8]) {
        let Some(whole) = self.whole.as_mut() else {
            return;
        };
        if whole.len() + piece.len() > EXTRACT_CAP {
            let head = if whole.is_empty() { piece } else { whole };
            let document = self
                .document
                .unwrap_or_else(|| is_document(&self.name, head));
            self.whole = None;
            if document {
                self.found.uninspectable = Some(TOO_LARGE.to_owned());
            }
            return;
        }
        whole.extend_from_slice(piece);
        if self.document.is_none() && whole.len() >= SNIFF {
            let document = is_document(&self.name, whole);
            self.document = Some(document);
            if !document {
                self.whole = None;
            }
        }
    }

    fn scan(&mut self) -> Result<(), AppError> {
        let text = dlp::stream_text(&self.buf);
        // The overlaps with the last batch (this one's start) and with the
        // next (this one's end) in the text: the same bytes when the piece is
        // UTF-8, fewer as printable runs, at most three times as many when
        // invalid bytes were replaced.
        let widen = if matches!(text, Cow::Borrowed(_)) {
            1
        } else {
            3
        };
        let overlaps = [
            0..self.scanned.saturating_mul(widen),
            text.len().saturating_sub(OVERLAP.saturating_mul(widen))..text.len(),
        ];
        let report = self.scanner.scan_piece(&self.name, &text, &overlaps);
        let mut counts = report.counts;
        let mut seen = HashSet::new();
        for f in &report.findings {
            let line = self.lines_before + u64::from(f.location.line);
            let key = (f.detector.clone(), line, f.snippet.clone());
            if self.seen.contains(&key)
                && let Some(n) = counts.get_mut(&f.detector)
            {
                *n = n.saturating_sub(1);
            }
            seen.insert(key);
        }
        for (id, n) in &counts {
            self.found.count(id, *n);
        }
        self.found.jewels_of(&report.jewels);
        if let Some(f) = &report.worst {
            let line = self.lines_before + u64::from(f.location.line);
            self.found.consider(f, None, line);
        }
        self.seen = seen;
        if let Some(gate) = &self.gate
            && let Some(top) = &self.found.top
            && gate.policy.for_severity(top.severity) == DlpAction::Block
        {
            return Err(blocked(top));
        }
        let drop = self.buf.len().saturating_sub(OVERLAP);
        let dropped = self.buf.get(..drop).unwrap_or_default();
        self.lines_before += memchr::memchr_iter(b'\n', dropped).count() as u64;
        self.buf.drain(..drop);
        self.scanned = self.buf.len();
        Ok(())
    }
}

/// An inspector on a thread of its own, fed the pieces the writer seals, so
/// that scanning overlaps sealing and writing instead of adding to them.
pub(crate) struct Background {
    feed: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    worker: Option<std::thread::JoinHandle<Result<Scanned, AppError>>>,
}

impl Background {
    /// Starts `ins` on its own thread; at most `depth` pieces wait for it.
    pub(crate) fn start(mut ins: Inspector, depth: usize) -> Result<Background, AppError> {
        let (feed, pieces) = std::sync::mpsc::sync_channel::<bytes::Bytes>(depth);
        let worker = std::thread::Builder::new()
            .name("dlp-inspect".into())
            .spawn(move || {
                for piece in pieces {
                    ins.push(&piece)?;
                }
                ins.finish()
            })
            .map_err(AppError::internal)?;
        Ok(Background {
            feed: Some(feed),
            worker: Some(worker),
        })
    }

    /// Hands over the next piece; fails with the inspector's error once it
    /// stopped (a blocking finding).
    pub(crate) fn push(&mut self, piece: bytes::Bytes) -> Result<(), AppError> {
        let sent = self.feed.as_ref().map(|f| f.send(piece));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self
                .join()
                .err()
                .unwrap_or_else(|| AppError::internal("the inspector stopped early"))),
        }
    }

    /// Waits for the inspector to scan the rest and returns what it found.
    pub(crate) fn finish(mut self) -> Result<Scanned, AppError> {
        self.join()
    }

    fn join(&mut self) -> Result<Scanned, AppError> {
        self.feed = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(AppError::internal("the inspector panicked")),
            None => Err(AppError::internal("the inspector was already joined")),
        }
    }
}

/// Where a finding is, for a person: `line 4`, or `line 4 of `a.zip!/b.txt``.
pub(crate) fn place(top: &Top) -> String {
    match (&top.item, top.line) {
        (Some(item), 0) => format!("in `{item}`"),
        (None, 0) => "in the file as a whole".to_owned(),
        (Some(item), line) => format!("line {line} of `{item}`"),
        (None, line) => format!("line {line}"),
    }
}

/// The error for content blocked because it cannot be inspected.
fn uninspectable_blocked(found: &Scanned) -> AppError {
    let why = found.uninspectable.clone().unwrap_or_default();
    AppError::Blocked {
        detector: why.clone(),
        line: 0,
        message: format!(
            "the upload was blocked: it cannot be inspected (`{why}`), and the room's \
             data-loss policy blocks what it cannot inspect"
        ),
    }
}

/// The error for the blocking finding `top`.
pub(crate) fn blocked(top: &Top) -> AppError {
    let what = if top.severity == Severity::Critical {
        "a secret"
    } else {
        "sensitive content"
    };
    AppError::Blocked {
        detector: top.detector.clone(),
        line: top.line,
        message: format!(
            "the upload was blocked: it contains {what} ({message}, `{id}`, {place}); \
             remove it before sharing with an external party",
            message = top.message,
            id = top.detector,
            place = place(top),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_xz_zstd_and_7z_uploads_were_streamed_as_text() {
        // (name, first bytes, a document or container)
        let cases: &[(&str, &[u8], bool)] = &[
            ("drawings.tar.xz", b"\xfd7zXZ\x00\x00", true),
            ("noname", b"\xfd7zXZ\x00\x00", true),
            ("drawings.tar.zst", b"\x28\xb5\x2f\xfd", true),
            ("noname", b"\x28\xb5\x2f\xfd", true),
            ("sources.7z", b"7z\xbc\xaf\x27\x1c", true),
            ("noname", b"7z\xbc\xaf\x27\x1c", true),
            ("report.docx", b"PK\x03\x04", true),
            ("report.docx", b"", true),
            ("drawing.pdf", b"%PDF-1.7", true),
            ("sources.tgz", b"\x1f\x8b\x08", true),
            ("notes.txt", b"just text", false),
            ("main.rs", b"fn main() {}", false),
        ];
        for (name, head, want) in cases {
            assert_eq!(is_document(name, head), *want, "{name}");
        }
    }

    fn pem() -> String {
        let body: String = (0..20)
            .map(|i| {
                format!(
                    "{}\n",
                    "QUJDRA==".repeat(8).replace('Q', &(i % 10).to_string())
                )
            })
            .collect();
        format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
    }

    /// The detector and line that blocked an upload, or the findings' counts.
    type Outcome = Result<BTreeMap<String, i64>, (String, u64)>;

    fn scanner() -> Arc<Scanner> {
        Arc::new(Scanner::new(dlp::ScanConfig::default()).unwrap())
    }

    /// Feeds `pieces` (named `name`) through an inspector that blocks critical
    /// findings when `gated`.
    fn run(name: &str, pieces: &[Vec<u8>], gated: bool) -> Outcome {
        let gate = gated.then(|| Gate {
            policy: crate::dlp_policy::DlpPolicy::default_for(true).inbound,
            justified: false,
        });
        let mut ins = Inspector::new(scanner(), name, gate);
        let result = pieces
            .iter()
            .try_for_each(|p| ins.push(p))
            .and_then(|()| ins.finish());
        match result {
            Ok(found) => Ok(found.detectors),
            Err(AppError::Blocked { detector, line, .. }) => Err((detector, line)),
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
            }
        }
        !crc
    }

    /// A zip archive of one stored (uncompressed) member.
    fn zip_of(name: &str, content: &[u8]) -> Vec<u8> {
        let (crc, len, name_len) = (crc32(content), content.len() as u32, name.len() as u16);
        let mut out = Vec::new();
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(content);
        let central = out.len() as u32;
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        let central_len = out.len() as u32 - central;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, 1, 1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [central_len, central] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn critical_findings_block_even_when_split() {
        let filler = "lorem ipsum dolor sit amet\n".repeat(50_000); // 1.35 MB, 50 000 lines
        let key = pem();
        let whole = format!("{filler}{key}");
        let bytes = whole.as_bytes();
        let split_at = filler.len() + 40; // inside the key
        let blocked = Err(("pem.rsa_private_key".to_owned(), 50_001));
        let one_key = Ok(BTreeMap::from([("pem.rsa_private_key".to_owned(), 1)]));
        let cases: Vec<(&str, Vec<Vec<u8>>, bool, Outcome)> = vec![
            (
                "clean",
                vec![filler.clone().into_bytes()],
                true,
                Ok(BTreeMap::new()),
            ),
            (
                "key in one piece",
                vec![bytes.to_vec()],
                true,
                blocked.clone(),
            ),
            (
                "key split across pieces",
                vec![bytes[..split_at].to_vec(), bytes[split_at..].to_vec()],
                true,
                blocked.clone(),
            ),
            (
                "small pieces",
                bytes.chunks(7_000).map(<[u8]>::to_vec).collect(),
                true,
                blocked,
            ),
            (
                "ungated: counted once though scanned in two batches",
                bytes.chunks(7_000).map(<[u8]>::to_vec).collect(),
                false,
                one_key,
            ),
        ];
        for (name, pieces, gated, want) in cases {
            assert_eq!(run("notes.txt", &pieces, gated), want, "{name}");
        }
    }

    #[test]
    fn binary_content_is_scanned_for_its_printable_runs() {
        let mut noise: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
            .collect();
        let key = pem();
        let cases: Vec<(&str, Vec<u8>, Outcome)> = vec![
            ("noise", noise.clone(), Ok(BTreeMap::new())),
            (
                "a key inside noise",
                {
                    noise.splice(100_000..100_000, key.bytes());
                    noise
                },
                Err(("pem.rsa_private_key".to_owned(), 0)),
            ),
        ];
        for (label, bytes, want) in cases {
            let got = run("firmware.bin", &[bytes], true);
            match (&got, &want) {
                (Err((d, _)), Err((w, _))) => assert_eq!(d, w, "{label}"),
                _ => assert_eq!(got, want, "{label}"),
            }
        }
    }

    #[test]
    fn millions_of_findings_are_counted_once_across_batches() {
        // 3 MiB of markings, fed in pieces of every size: scanned in batches
        // of 1 MiB with overlaps, each line counted once.
        let lines = 3 * 209_715;
        let text = b"ITAR\n".repeat(lines);
        let whole = Ok(BTreeMap::from([("marking.itar".to_owned(), lines as i64)]));
        for piece in [4_096, 65_536, 1 << 20, 3 << 20] {
            let pieces: Vec<Vec<u8>> = text.chunks(piece).map(<[u8]>::to_vec).collect();
            assert_eq!(
                run("markings.txt", &pieces, false),
                whole,
                "pieces of {piece}"
            );
        }
        let zipped = zip_of("inner/markings.txt", &text[..1 << 20]);
        let members = Ok(BTreeMap::from([("marking.itar".to_owned(), 209_715)]));
        assert_eq!(run("markings.zip", &[zipped], false), members);
    }

    #[test]
    fn extractions_wait_for_a_turn_then_fail_as_busy() {
        let turns: Vec<Turn> = (0..EXTRACTIONS)
            .map(|_| TURNS.take(Duration::from_secs(30)).unwrap())
            .collect();
        let busy = TURNS.take(Duration::from_millis(20)).map(|_| ());
        assert!(matches!(busy, Err(AppError::Busy)), "{busy:?}");
        let waiter = std::thread::spawn(|| TURNS.take(Duration::from_secs(10)).map(|_| ()));
        drop(turns);
        assert!(waiter.join().unwrap().is_ok());
    }

    #[test]
    fn documents_are_extracted_in_memory() {
        let zipped = zip_of("inner/deploy.txt", pem().as_bytes());
        let clean = zip_of("inner/notes.txt", &b"nothing to see here\n".repeat(100));
        let cases: Vec<(&str, &str, Vec<u8>, Outcome)> = vec![
            (
                "a key inside a zip is found",
                "bundle.bin",
                zipped.clone(),
                Err(("pem.rsa_private_key".to_owned(), 2)),
            ),
            (
                "a truncated zip is uninspectable, not a crash",
                "bundle.zip",
                clean.get(..clean.len() - 30).unwrap_or_default().to_vec(),
                Ok(BTreeMap::from([("extract.corrupt".to_owned(), 1)])),
            ),
        ];
        for (label, name, bytes, want) in cases {
            let got = run(name, &[bytes], true);
            match (&got, &want) {
                (Err((d, _)), Err((w, _))) => assert_eq!(d, w, "{label}"),
                _ => assert_eq!(got, want, "{label}"),
            }
        }
    }
}
