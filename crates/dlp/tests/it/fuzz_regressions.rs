//! Inputs that once made extraction hang or allocate without bound, found by
//! fuzzing and by probing the fuzz targets with crafted files (`scripts/fuzz`,
//! docs/FUZZING.md). Each file in `tests/fuzz-regressions/` is the named file
//! a harness hands to dlp (what `fuzz-tool materialise` writes; the file name
//! is the name passed) and goes through the same entry points as the
//! harnesses — `decode_text`, `extract` and `Scanner::scan` — and must come
//! back within the limits, with the problem named in [`EXPECTED`] if any.

use std::path::{Path, PathBuf};

use dlp::{Limits, ProblemKind, ScanConfig, Scanner};

/// The problem a regression input must be reported with, by file name.
const EXPECTED: [(&str, ProblemKind); 4] = [
    // 1,000 pages decoding one 200 KB content stream each: the document's
    // pages may decompress to at most the expansion ratio times its size.
    (
        "pdf-pages-sharing-one-content-stream.pdf",
        ProblemKind::Bomb,
    ),
    // Thirty object streams of 1 MB of `0 ` each: 2 GB of objects in lopdf.
    (
        "pdf-object-streams-expanding-to-gigabytes.pdf",
        ProblemKind::Bomb,
    ),
    // 200 members of one object stream at the same offset: a 1.2 KB file
    // made 2.7 GB of objects.
    (
        "pdf-object-stream-members-at-one-offset.pdf",
        ProblemKind::Corrupt,
    ),
    // A member claiming 4 GB of compressed data escaped the expansion ratio.
    (
        "zip-member-declaring-a-huge-compressed-size.zip",
        ProblemKind::Bomb,
    ),
];

fn regressions() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    files
}

#[test]
fn fuzz_regressions_come_back_within_the_limits() {
    let scanner = Scanner::new(ScanConfig::default()).unwrap();
    let limits = Limits::default();
    let files = regressions();
    for (name, _) in EXPECTED {
        assert!(
            files.iter().any(|f| f.ends_with(name)),
            "{name} is expected but missing"
        );
    }
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let _ = dlp::decode_text(&bytes);
        let x = dlp::extract(&name, &bytes, &limits);
        let text: usize = x.items.iter().map(|i| i.text.len()).sum();
        assert!(
            text as u64 <= limits.max_total_bytes,
            "{name}: {text} bytes of text"
        );
        assert!(
            x.items.len() <= limits.max_entries,
            "{name}: {} items",
            x.items.len()
        );
        if let Some((_, kind)) = EXPECTED.iter().find(|(n, _)| *n == name) {
            assert!(
                x.problems.iter().any(|p| p.kind == *kind),
                "{name}: expected {kind:?}, got {:?}",
                x.problems
            );
        }
        let report = scanner.scan(&name, &bytes);
        assert_eq!(report.items, x.items.len(), "{name}");
    }
}
