//! Measures the scanner's single-threaded throughput on plain text with the
//! full built-in ruleset, and the fingerprint lookup of a 200-line excerpt
//! against 10,000 registered documents. Run in release:
//! `cargo run --release -p dlp --example dlp_speed` (add `scan` to skip the
//! fingerprint part).
//!
//! `bench/dlp.sh` drives it through subcommands that print `key=value` lines:
//! - `corpus FILE MIB`: writes MIB MiB of generated prose with a planted
//!   secret, card number or marking after every MiB;
//! - `patterns FILE`: writes the built-in detectors' patterns for `rg -f`, one
//!   a line (their ids, line by line, in `FILE.ids`);
//! - `scan-file FILE RUNS`: reads FILE into memory and scans it RUNS times;
//! - `fingerprint EXCERPTS`: registers 10,000 documents and times three
//!   lookups each of EXCERPTS excerpts.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::time::Instant;

use dlp::{BuiltinPattern, FingerprintConfig, Registry, ScanConfig, Scanner, builtin_patterns};

type Res = Result<(), Box<dyn Error>>;

/// A deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DIGITS: &[u8] = b"0123456789";

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        let i = (self.next() % words.len() as u64) as usize;
        words.get(i).copied().unwrap_or("the")
    }

    /// `n` characters drawn from `set`.
    fn from(&mut self, set: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| {
                let i = (self.next() % set.len() as u64) as usize;
                char::from(set.get(i).copied().unwrap_or(b'a'))
            })
            .collect()
    }
}

const WORDS: &[&str] = &[
    "the",
    "design",
    "of",
    "a",
    "bracket",
    "is",
    "reviewed",
    "by",
    "engineering",
    "and",
    "quality",
    "teams",
    "before",
    "release",
    "to",
    "supplier",
    "with",
    "tolerance",
    "measured",
    "in",
    "millimetres",
    "for",
    "each",
    "part",
    "number",
    "drawing",
    "revision",
    "approved",
    "on",
    "schedule",
    "meeting",
    "notes",
    "follow",
    "up",
    "assembly",
    "torque",
    "value",
    "steel",
    "alloy",
    "surface",
    "finish",
    "inspection",
    "report",
    "batch",
];

fn prose(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 64);
    let mut n = 0;
    while s.len() < bytes {
        let word = rng.pick(WORDS);
        if n % 11 == 0 {
            s.push_str(&word[..1].to_uppercase());
            s.push_str(&word[1..]);
        } else {
            s.push_str(word);
        }
        n += 1;
        if n % 11 == 10 {
            s.push_str(if n % 3 == 0 { "," } else { "." });
        }
        if n % 97 == 0 {
            s.push_str(&format!(" {} ", rng.next() % 10_000));
        }
        s.push(if n % 14 == 0 { '\n' } else { ' ' });
    }
    s
}

fn code_doc(rng: &mut Rng, lines: usize) -> String {
    let names = [
        "alpha", "beta", "gamma", "delta", "index", "count", "buffer", "offset", "total", "value",
        "node", "edge",
    ];
    let mut s = String::new();
    for i in 0..lines {
        let a = rng.pick(&names);
        let b = rng.pick(&names);
        let line = match rng.next() % 8 {
            0 => format!("let {a}{i} = {b}.get({});", rng.next() % 100),
            1 => format!("if {a} > {b} {{ return {a} - {}; }}", rng.next() % 9),
            2 => format!(
                "for {a} in 0..{b}.len() {{ {b}[{a}] += {}; }}",
                rng.next() % 7
            ),
            3 => format!(
                "fn {a}_{i}({b}: &[u8]) -> usize {{ {b}.len() * {} }}",
                rng.next() % 5
            ),
            4 => format!(
                "match {a} {{ Some(x) => x, None => {b}({}), }}",
                rng.next() % 3
            ),
            5 => format!("{a}.push(({b}, \"{}\"));", rng.next() % 1000),
            6 => format!("while {a} < {} {{ {a} = {a} * 2 + {b}; }}", rng.next() % 64),
            _ => format!("struct {a}{i} {{ {b}: Vec<u{}> }}", 8 << (rng.next() % 3)),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// `body` followed by its Luhn check digit.
fn with_luhn(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            match (i % 2 == 0, d * 2) {
                (true, v) if v > 9 => v - 9,
                (true, v) => v,
                (false, _) => d,
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A German IBAN for `bban` (18 digits) with its mod-97 check digits.
fn de_iban(bban: &str) -> String {
    // D = 13, E = 14, then 00 in place of the check digits.
    let rem = format!("{bban}131400")
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    let compact = format!("DE{:02}{bban}", 98 - rem);
    let groups: Vec<&str> = compact
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    groups.join(" ")
}

/// The kinds planted in the corpus, in turn: (the detector expected, the lines).
fn plant(rng: &mut Rng, turn: usize) -> (&'static str, String) {
    match turn % 10 {
        0 => (
            "aws.access_key_id",
            format!("aws_access_key_id = AKIA{}", rng.from(BASE32, 16)),
        ),
        1 => (
            "github.classic_pat",
            format!("export GH_TOKEN=ghp_{}", rng.from(ALNUM, 36)),
        ),
        2 => (
            "pii.card_number",
            format!(
                "Card on file: {}",
                with_luhn(&format!("4{}", rng.from(DIGITS, 14)))
                    .as_bytes()
                    .chunks(4)
                    .filter_map(|c| std::str::from_utf8(c).ok())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
        3 => (
            "stripe.live_key",
            format!("stripe.api_key(\"sk_live_{}\")", rng.from(ALNUM, 24)),
        ),
        4 => (
            "pii.iban",
            format!("Pay to IBAN {} by Friday", de_iban(&rng.from(DIGITS, 18))),
        ),
        5 => (
            "slack.token",
            format!(
                "SLACK_BOT=xoxb-{}-{}-{}",
                rng.from(DIGITS, 11),
                rng.from(DIGITS, 12),
                rng.from(ALNUM, 24)
            ),
        ),
        6 => {
            let body: Vec<String> = (0..5).map(|_| rng.from(B64, 64)).collect();
            (
                "pem.rsa_private_key",
                format!(
                    "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                    body.join("\n")
                ),
            )
        }
        7 => (
            "generic.secret_assignment",
            format!(
                "db_password = \"{}{}\"",
                rng.from(ALNUM, 14),
                rng.from(DIGITS, 2)
            ),
        ),
        8 => (
            "pii.email",
            format!(
                "Send the drawings to {}.{}@acme-tooling.de",
                rng.pick(WORDS),
                rng.from(DIGITS, 3)
            ),
        ),
        _ => (
            "marking.confidential",
            "COMPANY CONFIDENTIAL: do not distribute".to_owned(),
        ),
    }
}

/// Writes `mib` MiB of prose with one planted line after every MiB.
fn write_corpus(path: &str, mib: usize) -> Res {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut written, mut planted) = (0usize, BTreeMap::<&str, usize>::new());
    for turn in 0..mib {
        let mut chunk = prose(&mut rng, 1 << 20);
        if !chunk.ends_with('\n') {
            chunk.push('\n');
        }
        let (detector, lines) = plant(&mut rng, turn);
        chunk.push_str(&lines);
        chunk.push('\n');
        out.write_all(chunk.as_bytes())?;
        written += chunk.len();
        *planted.entry(detector).or_default() += 1;
    }
    out.flush()?;
    println!("corpus_bytes={written}");
    println!("planted={}", planted.values().sum::<usize>());
    println!("planted_by_detector={}", joined(&planted));
    Ok(())
}

fn joined(counts: &BTreeMap<&str, usize>) -> String {
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    parts.join(",")
}

/// The position of the first `\n` escape outside a character class (not
/// `\\n`, a backslash and an `n`): where a match runs onto the next line.
fn newline_escape(pattern: &str) -> Option<usize> {
    let bytes = pattern.as_bytes();
    let (mut i, mut in_class) = (0, false);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if !in_class && bytes.get(i + 1) == Some(&b'n') => return Some(i),
            b'\\' => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The pattern in a form `rg -f` takes, and whether it was cut to one line.
/// `rg -f` joins the patterns into one alternation, so each is wrapped in a
/// group (ripgrep 13 joins them bare: a leading `(?i)` would make every later
/// pattern case-insensitive) and the value groups (`(?P<s>…)`, `(?P<s2>…)`)
/// become plain groups (a name may appear once). rg matches a line at a time: a key block,
/// whose body spans lines (a `\n` in the pattern, or a base64 body allowing
/// white space before `-----END`), is cut to its first line, the header.
fn for_ripgrep(p: &BuiltinPattern) -> (String, bool) {
    let block_body = p.pattern.find("(?P<s>").filter(|&i| {
        p.pattern
            .get(i..)
            .and_then(|rest| rest.find("-----END").map(|e| rest.get(..e)))
            .flatten()
            .is_some_and(|body| body.contains(r"\s"))
    });
    let cut = block_body.or_else(|| newline_escape(p.pattern));
    let kept = cut.and_then(|c| p.pattern.get(..c)).unwrap_or(p.pattern);
    (format!("(?:{})", unnamed(kept)), cut.is_some())
}

/// `pattern` with its value groups (`(?P<s>…)`, `(?P<s2>…)`, …) made plain.
fn unnamed(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find("(?P<s") {
        let close = rest.get(i..).and_then(|r| r.find('>')).map(|c| i + c);
        let Some(close) = close else { break };
        out.push_str(rest.get(..i).unwrap_or(""));
        out.push_str("(?:");
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Writes the `rg -f` pattern file and the ids beside it.
fn write_patterns(path: &str) -> Res {
    let (mut lines, mut ids, mut cut) = (String::new(), String::new(), Vec::new());
    let mut checked = Vec::new();
    for p in builtin_patterns() {
        let (pattern, was_cut) = for_ripgrep(&p);
        lines.push_str(&pattern);
        lines.push('\n');
        ids.push_str(p.id);
        ids.push('\n');
        if was_cut {
            cut.push(p.id);
        }
        if p.check != "none" && p.check != "not a placeholder" {
            checked.push(format!("{} ({})", p.id, p.check));
        }
    }
    std::fs::write(path, lines)?;
    std::fs::write(format!("{path}.ids"), ids)?;
    println!("patterns={}", builtin_patterns().len());
    println!("cut_to_first_line={}", cut.join(","));
    println!("checked_after_regex={}", checked.join("; "));
    Ok(())
}

/// Scans FILE (read into memory first) `runs` times; the best run counts.
fn scan_file(path: &str, runs: usize) -> Res {
    let text = std::fs::read_to_string(path)?;
    let scanner = Scanner::new(ScanConfig::default())?;
    let (mut best, mut found) = (f64::MAX, Vec::new());
    let mut all = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        found = scanner.scan_text("corpus.txt", &text);
        let s = t.elapsed().as_secs_f64();
        all.push(format!("{:.0}", text.len() as f64 / 1e6 / s));
        best = best.min(s);
    }
    let mut by = BTreeMap::<&str, usize>::new();
    for f in &found {
        *by.entry(f.detector.as_str()).or_default() += 1;
    }
    println!("scan_bytes={}", text.len());
    println!("scan_runs={}", runs.max(1));
    println!("scan_best_s={best:.4}");
    println!("scan_mb_s={:.0}", text.len() as f64 / 1e6 / best);
    println!("scan_all_mb_s={}", all.join(","));
    println!("scan_findings={}", found.len());
    println!("scan_findings_by_detector={}", joined(&by));
    Ok(())
}

/// Registers 10,000 generated documents of 300 lines and times lookups of a
/// 200-line excerpt of `excerpts` evenly spaced ones.
fn fingerprint(excerpts: usize) -> Res {
    let (total, excerpts) = (10_000usize, excerpts.clamp(1, 10_000));
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut registry = Registry::new(FingerprintConfig::default());
    let mut docs = Vec::new();
    let t = Instant::now();
    for i in 0..total {
        let doc = code_doc(&mut rng, 300);
        registry.register(&format!("doc-{i}"), &format!("src/file{i}.rs"), &doc)?;
        if i % (total / excerpts) == 0 && docs.len() < excerpts {
            docs.push(doc);
        }
    }
    println!("fp_documents={total}");
    println!("fp_register_s={:.2}", t.elapsed().as_secs_f64());
    let excerpt = |doc: &str| {
        doc.lines()
            .skip(50)
            .take(200)
            .collect::<Vec<_>>()
            .join("\n")
    };
    if let Some(first) = docs.first() {
        registry.matches(&excerpt(first));
    }
    // Each excerpt is looked up REPEATS times: every lookup counts in the
    // distribution; the fastest of each excerpt's shows what is left when
    // the scheduler does not preempt the thread (the machine is shared).
    const REPEATS: usize = 3;
    let (mut all, mut best, mut missed) = (Vec::new(), Vec::new(), 0);
    for doc in &docs {
        let e = excerpt(doc);
        let mut fastest = f64::MAX;
        for _ in 0..REPEATS {
            let t = Instant::now();
            let m = registry.matches(&e);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            all.push(ms);
            fastest = fastest.min(ms);
            missed += usize::from(m.is_empty());
        }
        best.push(fastest);
    }
    all.sort_by(f64::total_cmp);
    best.sort_by(f64::total_cmp);
    println!("fp_excerpts={}", docs.len());
    println!("fp_lookups={}", all.len());
    println!("fp_missed={missed}");
    println!("fp_p50_ms={:.3}", quantile(&all, 0.5));
    println!("fp_p99_ms={:.3}", quantile(&all, 0.99));
    println!(
        "fp_mean_ms={:.3}",
        all.iter().sum::<f64>() / all.len() as f64
    );
    println!("fp_max_ms={:.3}", quantile(&all, 1.0));
    println!("fp_best_p99_ms={:.3}", quantile(&best, 0.99));
    Ok(())
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
    sorted.get(i).copied().unwrap_or(0.0)
}

/// The original measurement, in memory, printed for people.
fn speed(scan_only: bool) -> Res {
    let scanner = Scanner::new(ScanConfig::default())?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let text = prose(&mut rng, 64 << 20);
    let runs = 5;
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        found = scanner.scan_text("bench.txt", &text).len();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mb = text.len() as f64 / 1e6;
    println!(
        "scan: {:.0} MB plain text, best of {runs}: {:.3} s = {:.0} MB/s single-threaded ({found} findings)",
        mb,
        best,
        mb / best
    );

    let code = code_doc(&mut rng, 64 << 14);
    let t = Instant::now();
    let n = scanner.scan_text("bench.rs", &code).len();
    let s = t.elapsed().as_secs_f64();
    println!(
        "scan: {:.0} MB generated code: {:.0} MB/s ({n} findings)",
        code.len() as f64 / 1e6,
        code.len() as f64 / 1e6 / s
    );
    if scan_only {
        return Ok(());
    }
    fingerprint(10)
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let number = |i: usize, default: usize| arg(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match (arg(0), arg(1)) {
        (None, _) => speed(false),
        (Some("scan"), _) => speed(true),
        (Some("corpus"), Some(path)) => write_corpus(path, number(2, 256)),
        (Some("patterns"), Some(path)) => write_patterns(path),
        (Some("scan-file"), Some(path)) => scan_file(path, number(2, 5)),
        (Some("fingerprint"), _) => fingerprint(number(1, 100)),
        _ => Err("usage: dlp_speed [scan | corpus FILE MIB | patterns FILE | scan-file FILE RUNS | fingerprint EXCERPTS]".into()),
    }
}
