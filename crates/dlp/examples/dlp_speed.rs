//! Measures the scanner's single-threaded throughput on plain text with the
//! full built-in ruleset, and the fingerprint lookup of a 200-line excerpt
//! against 10,000 registered documents. Run in release:
//! `cargo run --release -p dlp --example dlp_speed` (add `scan` to skip the
//! fingerprint part).

use std::time::Instant;

use dlp::{FingerprintConfig, Registry, ScanConfig, Scanner};

/// A deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

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

fn main() -> Result<(), dlp::DlpError> {
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

    if std::env::args().nth(1).as_deref() == Some("scan") {
        return Ok(());
    }
    let mut registry = Registry::new(FingerprintConfig::default());
    let t = Instant::now();
    let mut docs = Vec::new();
    for i in 0..10_000 {
        let doc = code_doc(&mut rng, 300);
        registry.register(&format!("doc-{i}"), &format!("src/file{i}.rs"), &doc)?;
        if i % 1000 == 0 {
            docs.push(doc);
        }
    }
    println!(
        "fingerprint: registered 10,000 documents of 300 lines in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let mut worst = 0.0f64;
    let mut total = 0.0;
    for doc in &docs {
        let excerpt: Vec<&str> = doc.lines().skip(50).take(200).collect();
        let excerpt = excerpt.join("\n");
        let t = Instant::now();
        let m = registry.matches(&excerpt);
        let e = t.elapsed().as_secs_f64() * 1e3;
        worst = worst.max(e);
        total += e;
        assert!(!m.is_empty());
    }
    println!(
        "fingerprint: 200-line excerpt lookup: mean {:.2} ms, worst {:.2} ms over {} lookups",
        total / docs.len() as f64,
        worst,
        docs.len()
    );
    Ok(())
}
