//! What the fuzz targets share with the seed generator and with the
//! regression tests: how one fuzzer input becomes the file handed to a public
//! entry point of `dlp` or `mark`, and the fixed issue, key, style and limits
//! of the mark targets.
//!
//! Every target is `run(TARGET, data)`. The dlp targets (except the text and
//! scanner ones) turn their input into a named file for `dlp::extract`: the
//! container's signature is put in front of inputs without one, and the Office
//! and OpenDocument targets wrap their input, an XML part, in a stored ZIP, so
//! the fuzzer spends its time in the format under test rather than in CRCs.
//! `fuzz-tool materialise` writes that file, which is what the regression
//! tests in `crates/*/tests/fuzz-regressions/` keep.

pub mod seeds;

use std::io::Write;
use std::panic::PanicHookInfo;
use std::sync::{Mutex, Once, OnceLock};

/// Every dlp target.
pub const DLP_TARGETS: [&str; 10] = [
    "dlp_text",
    "dlp_pdf",
    "dlp_office",
    "dlp_opendocument",
    "dlp_eml",
    "dlp_zip",
    "dlp_tar",
    "dlp_gzip",
    "dlp_extract",
    "dlp_scan",
];

/// Every mark target.
pub const MARK_TARGETS: [&str; 5] = [
    "mark_image",
    "mark_image_detect",
    "mark_pdf_stamp",
    "mark_pdf_trace",
    "mark_text",
];

/// Runs one fuzzer input through the entry point of `target`.
pub fn run(target: &str, data: &[u8]) {
    if target.starts_with("dlp_") {
        quiet_caught_panics();
        run_dlp(target, data);
    } else {
        run_mark(target, data);
    }
}

fn run_dlp(target: &str, data: &[u8]) {
    match target {
        "dlp_text" => {
            let _ = dlp::decode_text(data);
            let _ = dlp::stream_text(data);
        }
        "dlp_scan" => {
            let _ = scanner().map(|s| s.scan("input", data));
        }
        _ => {
            if let Some((name, bytes)) = dlp_file(target, data) {
                let _ = dlp::extract(&name, &bytes, &dlp::Limits::default());
            }
        }
    }
}

fn scanner() -> Option<&'static dlp::Scanner> {
    static SCANNER: OnceLock<Option<dlp::Scanner>> = OnceLock::new();
    SCANNER
        .get_or_init(|| dlp::Scanner::new(dlp::ScanConfig::default()).ok())
        .as_ref()
}

/// dlp catches a panic of the PDF parser and reports the document as corrupt,
/// by design; libFuzzer's hook would abort on it all the same. This hook lets
/// a caught panic be, printing each distinct one once. A panic that escapes
/// dlp still aborts: libfuzzer-sys catches it around the target and aborts.
fn quiet_caught_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info: &PanicHookInfo<'_>| {
            static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            if let Ok(mut seen) = SEEN.lock()
                && !seen.contains(&at)
            {
                eprintln!("custody-fuzz: panic (caught by dlp or escaping): {info}");
                seen.push(at);
            }
        }));
    });
}

/// The named file a dlp extractor target hands to `dlp::extract`.
pub fn dlp_file(target: &str, data: &[u8]) -> Option<(String, Vec<u8>)> {
    let (name, bytes) = match target {
        "dlp_pdf" => ("input.pdf".to_owned(), with_prefix(b"%PDF-", data)),
        "dlp_eml" => ("input.eml".to_owned(), data.to_vec()),
        "dlp_zip" => ("input.zip".to_owned(), zip_signature(data)),
        "dlp_gzip" => ("input.gz".to_owned(), with_prefix(&[0x1f, 0x8b], data)),
        "dlp_tar" => ("input.tar".to_owned(), tar_header(data)),
        "dlp_office" => office(data)?,
        "dlp_opendocument" => opendocument(data)?,
        "dlp_extract" => {
            const NAMES: [&str; 8] = [
                "input",
                "input.txt",
                "input.eml",
                "input.gz",
                "input.tgz",
                "a/b.pdf",
                "x.zip",
                "m.EML",
            ];
            let (first, rest) = data.split_first()?;
            let name = NAMES.get(usize::from(*first) % NAMES.len())?;
            ((*name).to_owned(), rest.to_vec())
        }
        _ => return None,
    };
    Some((name, bytes))
}

fn with_prefix(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    if data.starts_with(prefix) {
        data.to_vec()
    } else {
        [prefix, data].concat()
    }
}

fn zip_signature(data: &[u8]) -> Vec<u8> {
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        data.to_vec()
    } else {
        with_prefix(b"PK\x03\x04", data)
    }
}

/// Makes the first 512-byte block a ustar header with a correct checksum
/// (the later headers are the fuzzer's).
fn tar_header(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    if v.len() < 512 {
        v.resize(512, 0);
    }
    if let Some(magic) = v.get_mut(257..265) {
        magic.copy_from_slice(b"ustar\x0000");
    }
    if let Some(field) = v.get_mut(148..156) {
        field.fill(b' ');
    }
    let sum: u32 = v.iter().take(512).map(|&b| u32::from(b)).sum();
    let octal = format!("{sum:06o}\0 ");
    if let Some(field) = v.get_mut(148..156) {
        field.copy_from_slice(octal.as_bytes());
    }
    v
}

/// A stored ZIP of `(name, bytes)` members.
pub fn stored_zip(members: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        w.start_file(*name, options).ok()?;
        w.write_all(bytes).ok()?;
    }
    Some(w.finish().ok()?.into_inner())
}

/// First byte: which Office file and part; the rest: that part's content.
fn office(data: &[u8]) -> Option<(String, Vec<u8>)> {
    const PARTS: [(&str, &str); 5] = [
        ("input.docx", "word/document.xml"),
        ("input.xlsx", "xl/sharedStrings.xml"),
        ("input.pptx", "ppt/slides/slide1.xml"),
        ("input.docx", "word/embeddings/object1.bin"),
        ("input.docx", "word/_rels/document.xml.rels"),
    ];
    let (first, part) = data.split_first()?;
    let (name, member) = PARTS.get(usize::from(*first) % PARTS.len())?;
    let zip = stored_zip(&[("[Content_Types].xml", b"<Types/>"), (member, part)])?;
    Some(((*name).to_owned(), zip))
}

/// First byte: which OpenDocument file and part; the rest: that part's content.
fn opendocument(data: &[u8]) -> Option<(String, Vec<u8>)> {
    const KINDS: [(&str, &str); 3] = [
        ("input.odt", "application/vnd.oasis.opendocument.text"),
        (
            "input.ods",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            "input.odp",
            "application/vnd.oasis.opendocument.presentation",
        ),
    ];
    const PARTS: [&str; 4] = [
        "content.xml",
        "meta.xml",
        "Object 1/content.xml",
        "Pictures/a.bin",
    ];
    let (first, part) = data.split_first()?;
    let (name, mime) = KINDS.get(usize::from(*first) % KINDS.len())?;
    let member = PARTS.get(usize::from(*first / 3) % PARTS.len())?;
    let mut members: Vec<(&str, &[u8])> = vec![("mimetype", mime.as_bytes())];
    if *member != "content.xml" {
        members.push(("content.xml", b"<office:document-content/>"));
    }
    members.push((member, part));
    members.push(("META-INF/manifest.xml", b"<manifest/>"));
    let zip = stored_zip(&members)?;
    Some(((*name).to_owned(), zip))
}

/// The limits of the mark targets: the defaults but for 1 Mpx images (larger
/// images cost time in proportion, which libFuzzer would report as slow).
pub fn mark_limits() -> mark::Limits {
    mark::Limits {
        max_pixels: 1 << 20,
        ..mark::Limits::default()
    }
}

/// The recipient and mark id of the mark targets.
pub fn mark_issue() -> mark::Issue {
    mark::Issue {
        recipient: mark::Recipient {
            name: "Zoë Ångström".to_owned(),
            email: "zoe@vendor.example".to_owned(),
            party: "Vendor GmbH".to_owned(),
        },
        issued_at: mark::OffsetDateTime::UNIX_EPOCH,
        mark_id: mark::MarkId(0x0123_4567_89ab_cdef),
    }
}

/// The key of the mark targets.
pub fn mark_key() -> mark::MarkKey {
    mark::MarkKey::derive(b"custody-fuzz")
}

/// File names for the text target, chosen by the input's first byte.
pub const TEXT_NAMES: [&str; 8] = [
    "notes.txt",
    "main.rs",
    "build.py",
    "page.html",
    "query.sql",
    "data.json",
    "style.c",
    "README",
];

fn run_mark(target: &str, data: &[u8]) {
    let (issue, style, key, limits) = (
        mark_issue(),
        mark::Style::default(),
        mark_key(),
        mark_limits(),
    );
    match target {
        "mark_image" => {
            let _ = mark::image::mark_image(data, &issue, &style, &key, &limits);
        }
        "mark_image_detect" => {
            let _ = mark::image::detect_image(data, &key, &limits);
        }
        "mark_pdf_stamp" => {
            let _ = mark::pdf::stamp_pdf(data, &issue, &style, &limits);
        }
        "mark_pdf_trace" => {
            let _ = mark::pdf::detect_pdf(data, &limits);
        }
        "mark_text" => {
            let Some((first, rest)) = data.split_first() else {
                return;
            };
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let name = TEXT_NAMES
                .get(usize::from(*first) % TEXT_NAMES.len())
                .copied()
                .unwrap_or("notes.txt");
            let marked = mark::text::mark_text(text, name, &issue);
            let _ = mark::text::detect_text(&marked);
            let _ = mark::text::detect_text(text);
            let _ = mark::MarkId::find_token(rest);
        }
        _ => {}
    }
}
