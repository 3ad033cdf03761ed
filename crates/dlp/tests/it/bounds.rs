//! Memory bounds of a scan: findings counted but only the first kept, long
//! items scanned in segments without losing or doubling a finding at their
//! seams, members larger than the item limit reported instead of expanded.

use dlp::{DEFAULT_MAX_FINDINGS, DEFAULT_MAX_ITEM_FINDINGS, Finding, Limits, ScanConfig, Scanner};

use crate::util;

/// `n` lines of the classification marking `ITAR` (209,715 make 1 MiB).
fn itar_lines(n: usize) -> Vec<u8> {
    b"ITAR\n".repeat(n)
}

fn scanner(limits: Limits) -> Scanner {
    Scanner::new(ScanConfig {
        limits,
        ..ScanConfig::default()
    })
    .unwrap()
}

/// Defect 4 of issue 12: a 105 KB zip of 64 members of 1 MiB of `ITAR`
/// lines kept 13 million findings (3.66 GB resident). Every finding is still
/// counted; the first of each member, and of the file, are kept.
#[test]
fn regression_dlp_findings_of_itar_zip_stay_bounded() {
    const MEMBERS: usize = 16;
    const LINES: usize = 209_715;
    let member = itar_lines(LINES);
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i:02}.txt")).collect();
    let members: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), member.as_slice()))
        .collect();
    let zip = util::zip(&members);
    assert!(zip.len() < 200 << 10, "{} bytes", zip.len());
    let report = scanner(Limits::default()).scan("itar.zip", &zip);
    let total = (MEMBERS * LINES) as u64;
    assert_eq!(report.total, total);
    assert_eq!(report.counts.get("marking.itar"), Some(&total));
    assert_eq!(report.findings.len(), DEFAULT_MAX_FINDINGS);
    assert_eq!(report.truncated, total - DEFAULT_MAX_FINDINGS as u64);
    let in_first: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.location.path == "itar.zip!/m00.txt")
        .collect();
    assert_eq!(in_first.len(), DEFAULT_MAX_ITEM_FINDINGS);
    let lines: Vec<u32> = in_first.iter().map(|f| f.location.line).collect();
    assert_eq!(lines, (1..=100).collect::<Vec<u32>>());
    let worst = report
        .worst
        .as_ref()
        .map(|f| (f.location.path.as_str(), f.location.line));
    assert_eq!(worst, Some(("itar.zip!/m00.txt", 1)));
    assert_eq!(report.max_severity(), Some(dlp::Severity::High));
}

/// A private key in PEM (synthetic base64 body), 1,700 bytes.
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

/// The 1-based line and column of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (u32, u32) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
    (line as u32, column as u32)
}

#[test]
fn long_items_are_scanned_in_segments_without_losing_or_doubling_findings() {
    const MIB: usize = 1 << 20;
    let scanner = scanner(Limits::default());
    // `placed`: what is written where (byte offsets into 3 MiB of filler),
    // its detector and where in it the value starts; every placed marking
    // or key must be found once, at its place.
    let check = |label: &str, placed: &[(usize, (&str, usize), &str)]| {
        let filler = "lorem ipsum dolor sit amet, consectetur adipiscing\n";
        let mut text = filler.repeat(3 * MIB / filler.len() + 1).into_bytes();
        for (at, (what, _), _) in placed {
            text[*at..*at + what.len()].copy_from_slice(what.as_bytes());
        }
        let text = String::from_utf8(text).unwrap();
        let found: Vec<(String, (u32, u32))> = scanner
            .scan_text("long.txt", &text)
            .into_iter()
            .map(|f| (f.detector, (f.location.line, f.location.column)))
            .collect();
        let want: Vec<(String, (u32, u32))> = placed
            .iter()
            .map(|(at, (_, value), detector)| {
                ((*detector).to_owned(), line_column(&text, at + value))
            })
            .collect();
        assert_eq!(found, want, "{label}");
    };
    let pem = format!("\n{}", pem());
    let (key, rsa) = (
        (pem.as_str(), pem.find("KEY-----").unwrap() + 8),
        "pem.rsa_private_key",
    );
    let (marking, itar) = ((" ITAR ", 1), "marking.itar");
    check("a marking at a seam", &[(MIB, marking, itar)]);
    check("a marking across a seam", &[(MIB - 3, marking, itar)]);
    check(
        "markings in the overlaps either side",
        &[
            (MIB - (10 << 10), marking, itar),
            (MIB + (10 << 10), marking, itar),
        ],
    );
    check("a key across a seam", &[(MIB - 700, key, rsa)]);
    check(
        "a key across the second seam, a marking after it",
        &[(2 * MIB - 40, key, rsa), (2 * MIB + 5_000, marking, itar)],
    );
}

#[test]
fn members_larger_than_the_item_limit_are_reported_not_expanded() {
    let limits = Limits {
        max_item_bytes: 1 << 20,
        max_ratio: 1 << 20,
        ..Limits::default()
    };
    let large = itar_lines(300_000);
    let small = itar_lines(3);
    let zip = util::zip(&[("large.txt", &large), ("small.txt", &small)]);
    let report = scanner(limits).scan("pair.zip", &zip);
    let problems: Vec<(&str, &str)> = report
        .findings
        .iter()
        .filter(|f| f.detector.starts_with("extract."))
        .map(|f| (f.detector.as_str(), f.location.path.as_str()))
        .collect();
    assert_eq!(problems, [("extract.item_bytes", "pair.zip!/large.txt")]);
    assert_eq!(report.counts.get("marking.itar"), Some(&3));
}

#[test]
fn pieces_keep_their_first_findings_and_those_in_their_overlaps() {
    let scanner = scanner(Limits::default());
    let text = String::from_utf8(itar_lines(300)).unwrap();
    let len = text.len();
    let check = |whole: &[std::ops::Range<usize>], kept_lines: &[std::ops::RangeInclusive<u32>]| {
        let report = scanner.scan_piece("piece", &text, whole);
        assert_eq!(report.total, 300);
        let lines: Vec<u32> = report.findings.iter().map(|f| f.location.line).collect();
        let want: Vec<u32> = kept_lines.iter().cloned().flatten().collect();
        assert_eq!(lines, want, "{whole:?}");
        assert_eq!(report.truncated, 300 - want.len() as u64);
    };
    check(&[], &[1..=100]);
    check(&[0..50, len - 50..len], &[1..=100, 291..=300]);
    check(&[500..1000, 1200..1250], &[1..=200, 241..=250]);
}
