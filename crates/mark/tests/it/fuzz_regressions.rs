//! Inputs that once made marking or tracing hang or allocate without bound,
//! found by fuzzing and by probing the fuzz targets with crafted files
//! (`scripts/fuzz`, docs/FUZZING.md). They live in
//! `tests/fuzz-regressions/<target>/`, one directory per fuzz target, and go
//! through that target's entry point with the harness's issue, key, style and
//! limits (`fuzz/src/lib.rs`): each must come back with a result or an error
//! caused by the input, with its stable code — the one in [`EXPECTED`] if
//! named there.

use std::path::{Path, PathBuf};

use mark::{Issue, Limits, MarkError, MarkId, MarkKey, Recipient, Style};

/// The outcome a regression input must have (`ok` or an error code), by
/// `target/file`.
const EXPECTED: [(&str, &str); 6] = [
    // 200 members of one object stream at the same offset: 2.7 GB of objects.
    (
        "mark_pdf_stamp/pdf-object-stream-members-at-one-offset.pdf",
        "mark_bad_pdf",
    ),
    (
        "mark_pdf_trace/pdf-object-stream-members-at-one-offset.pdf",
        "mark_bad_pdf",
    ),
    // Thirty object streams of 1 MB of `0 ` each: 2 GB of objects.
    (
        "mark_pdf_stamp/pdf-object-streams-expanding-to-gigabytes.pdf",
        "mark_too_large",
    ),
    (
        "mark_pdf_trace/pdf-object-streams-expanding-to-gigabytes.pdf",
        "mark_too_large",
    ),
    // The page tree is in an object stream the cross-reference table calls
    // free: the checked load must still rebuild it, as lopdf does unchecked.
    (
        "mark_pdf_stamp/pdf-page-tree-found-only-by-a-rebuild.pdf",
        "ok",
    ),
    (
        "mark_pdf_trace/pdf-page-tree-found-only-by-a-rebuild.pdf",
        "ok",
    ),
];

/// The harness's limits: the defaults but for 1 Mpx images.
fn limits() -> Limits {
    Limits {
        max_pixels: 1 << 20,
        ..Limits::default()
    }
}

fn issue() -> Issue {
    Issue {
        recipient: Recipient {
            name: "Zoë Ångström".to_owned(),
            email: "zoe@vendor.example".to_owned(),
            party: "Vendor GmbH".to_owned(),
        },
        issued_at: mark::OffsetDateTime::UNIX_EPOCH,
        mark_id: MarkId(0x0123_4567_89ab_cdef),
    }
}

/// The harness's text file names, picked by the first byte.
const TEXT_NAMES: [&str; 8] = [
    "notes.txt",
    "main.rs",
    "build.py",
    "page.html",
    "query.sql",
    "data.json",
    "style.c",
    "README",
];

/// Runs one input through the entry point of `target`.
fn run(target: &str, data: &[u8]) -> Result<(), MarkError> {
    let (issue, style, key, limits) = (
        issue(),
        Style::default(),
        MarkKey::derive(b"custody-fuzz"),
        limits(),
    );
    match target {
        "mark_image" => mark::image::mark_image(data, &issue, &style, &key, &limits).map(drop),
        "mark_image_detect" => mark::image::detect_image(data, &key, &limits).map(drop),
        "mark_pdf_stamp" => mark::pdf::stamp_pdf(data, &issue, &style, &limits).map(drop),
        "mark_pdf_trace" => mark::pdf::detect_pdf(data, &limits).map(drop),
        "mark_text" => {
            let Some((first, rest)) = data.split_first() else {
                return Ok(());
            };
            let Ok(text) = std::str::from_utf8(rest) else {
                return Ok(());
            };
            let name = TEXT_NAMES[usize::from(*first) % TEXT_NAMES.len()];
            let marked = mark::text::mark_text(text, name, &issue);
            let _ = mark::text::detect_text(&marked);
            let _ = mark::text::detect_text(text);
            let _ = MarkId::find_token(rest);
            Ok(())
        }
        other => panic!("unknown fuzz target directory `{other}`"),
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut v: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn fuzz_regressions_give_a_result_or_a_client_error() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = Vec::new();
    for dir in files(&root).into_iter().filter(|p| p.is_dir()) {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        for path in files(&dir) {
            let data = std::fs::read(&path).unwrap();
            let name = format!("{target}/{}", path.file_name().unwrap().to_string_lossy());
            let outcome = run(&target, &data);
            if let Err(e) = &outcome {
                assert!(
                    e.code().starts_with("mark_") && e.is_client_error(),
                    "{name}: {} ({e})",
                    e.code()
                );
            }
            if let Some((_, expected)) = EXPECTED.iter().find(|(n, _)| *n == name) {
                let got = outcome.as_ref().err().map_or("ok", MarkError::code);
                assert_eq!(got, *expected, "{name}: {outcome:?}");
            }
            seen.push(name);
        }
    }
    assert!(
        !seen.is_empty(),
        "no regression inputs under {}",
        root.display()
    );
    for (name, _) in EXPECTED {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} is expected but missing"
        );
    }
}
