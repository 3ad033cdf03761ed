//! Crown jewels through the scanner: a registered source file's excerpt with
//! its identifiers renamed is a `fingerprint.crown_jewel` finding naming the
//! document (in a file and inside a zip), fingerprints travel through an
//! exported registry, and none of this workspace's own source files is
//! taken for the registered one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dlp::{CROWN_JEWEL, FingerprintConfig, Registry, RegistryFile, ScanConfig, Scanner};

const SOURCE: &str = include_str!("../corpus/crown-jewel/blade_scheduler.rs.txt");
const EXCERPT: &str = include_str!("../corpus/crown-jewel/blade_scheduler_excerpt.rs.txt");
const NAME: &str = "src/blade_scheduler.rs";

fn scanner(registry: Registry) -> Scanner {
    Scanner::new(ScanConfig {
        fingerprints: Some(Arc::new(registry)),
        ..ScanConfig::default()
    })
    .unwrap()
}

fn registered() -> Registry {
    let mut r = Registry::new(FingerprintConfig::default());
    r.register("j1", NAME, SOURCE).unwrap();
    r
}

/// The identifiers of `text`, in order.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect()
}

#[test]
fn the_excerpt_fixture_is_the_source_renamed() {
    let lines: Vec<&str> = SOURCE.lines().collect();
    let original = lines[236..286].join("\n");
    assert_eq!(EXCERPT.lines().count(), 50);
    // Same shape: every non-identifier character in the same order.
    let shape = |t: &str| -> String {
        t.split(|c: char| c.is_alphanumeric() || c == '_')
            .collect::<Vec<_>>()
            .concat()
    };
    assert_eq!(shape(EXCERPT.trim_end()), shape(&original));
    let (a, b) = (words(&original), words(EXCERPT));
    assert_eq!(a.len(), b.len());
    let renamed = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(renamed * 2 > a.len(), "{renamed} of {} renamed", a.len());
}

#[test]
fn a_renamed_excerpt_is_found_and_named() {
    let s = scanner(registered());
    let zipped = crate::util::zip(&[("vendor/planner.rs", EXCERPT.as_bytes())]);
    let cases: [(&str, &[u8]); 2] = [("planner.rs", EXCERPT.as_bytes()), ("bundle.zip", &zipped)];
    for (name, bytes) in cases {
        let report = s.scan(name, bytes);
        assert_eq!(
            report.counts.get(CROWN_JEWEL),
            Some(&1),
            "{name}: {report:?}"
        );
        let f = report
            .findings
            .iter()
            .find(|f| f.detector == CROWN_JEWEL)
            .unwrap();
        assert!(f.message.contains(NAME), "{}", f.message);
        let j = &report.jewels[0];
        assert_eq!((j.doc_id.as_str(), j.name.as_str()), ("j1", NAME));
        assert!(j.share >= 0.5, "{name}: share {}", j.share);
        assert!(f.message.contains(&format!("{:.0} %", j.share * 100.0)));
    }
    // The same scanner on a stream's piece.
    let piece = s.scan_piece("planner.rs", EXCERPT, &[]);
    assert_eq!(piece.jewels.len(), 1);
    // No registry, no such detector.
    let plain = Scanner::new(ScanConfig::default()).unwrap();
    assert!(plain.detectors().iter().all(|d| d.id != CROWN_JEWEL));
    assert!(s.detectors().iter().any(|d| d.id == CROWN_JEWEL));
    assert!(
        plain
            .scan("planner.rs", EXCERPT.as_bytes())
            .jewels
            .is_empty()
    );
}

#[test]
fn an_exported_registry_finds_the_excerpt() {
    let r = Registry::new(FingerprintConfig::default());
    let prints = r.fingerprint(SOURCE);
    let doc = dlp::ExportedDocument::new("j1", NAME, SOURCE.len() as u64, "00", &prints);
    let file = RegistryFile::new(r.config(), vec![doc]);
    let back = RegistryFile::parse(&file.to_json())
        .unwrap()
        .registry()
        .unwrap();
    let found = scanner(back).scan("planner.rs", EXCERPT.as_bytes());
    assert_eq!(found.jewels.first().map(|j| j.name.as_str()), Some(NAME));
    // The export holds no line of the source.
    let json = file.to_json();
    assert!(
        SOURCE
            .lines()
            .filter(|l| l.len() > 20)
            .all(|l| !json.contains(l.trim()))
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_of_this_workspace_is_taken_for_the_registered_one() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    assert!(files.len() > 200, "{} files", files.len());
    let r = registered();
    let mut taken = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        if let Some(m) = r.matches(&text).first() {
            taken.push(format!(
                "{} ({:.2}, {} of {}, run {})",
                f.display(),
                m.share,
                m.matched,
                text.len(),
                m.run
            ));
        }
    }
    assert!(
        taken.is_empty(),
        "{} of {}: {taken:?}",
        taken.len(),
        files.len()
    );
}
