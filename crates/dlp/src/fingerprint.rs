//! Fingerprints of registered documents, to recognise excerpts of them in
//! other content. MOSS-style winnowing (Schleimer, Wilkerson, Aiken 2003):
//! hashes of every k-gram, and in every window of `w` consecutive hashes the
//! smallest is kept. Two streams are fingerprinted: the normalised text
//! (lowercase letters and digits only, so spacing and punctuation do not
//! matter) and, for code, a token stream in which identifiers, numbers and
//! strings are replaced by placeholders, so renaming does not hide an excerpt.
//!
//! The registry keeps only fingerprints (never the content) in an inverted
//! index from fingerprint to documents. A document's fingerprints are a
//! [`DocPrints`]: computed once ([`Registry::fingerprint`]), stored in a
//! versioned compact encoding ([`DocPrints::encode`]), and inserted into any
//! registry of the same parameters ([`Registry::insert`]) — so a server keeps
//! them in its database and `custody scan --registry` reads an export of
//! them (`crate::registry_file`), neither ever holding the documents.

use std::collections::{HashMap, HashSet};

use crate::DlpError;

/// Fingerprinting parameters and match thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintConfig {
    /// k-gram length over normalised text, in characters.
    pub text_k: usize,
    /// k-gram length over code tokens.
    pub code_k: usize,
    /// Winnowing window, in k-grams.
    pub window: usize,
    /// A document matches when this share of the content's fingerprints (of
    /// either stream) are its…
    pub min_share: f64,
    /// …or when at least this many fingerprints are.
    pub min_matched: usize,
    /// Fingerprints shared by more documents than this are too common to count.
    pub max_postings: usize,
    /// And in every case at least this many consecutive fingerprints of the
    /// content (in the order they occur) must be the document's: an excerpt
    /// is a run of them, while the generic shapes that unrelated code shares
    /// (`let I = I.I(I)?;`) match here and there.
    pub min_run: usize,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        Self {
            text_k: 32,
            code_k: 12,
            window: 6,
            min_share: 0.3,
            min_matched: 40,
            max_postings: 50,
            min_run: 20,
        }
    }
}

/// A registered document that content overlaps.
#[derive(Debug, Clone, PartialEq)]
pub struct DocMatch {
    /// The registered document's id.
    pub doc_id: String,
    /// Its name.
    pub name: String,
    /// How many of the content's fingerprints are the document's.
    pub matched: usize,
    /// The share of the content's fingerprints that are the document's (the
    /// larger of the text and the code stream's).
    pub share: f64,
    /// The share of the document's fingerprints found in the content.
    pub doc_share: f64,
    /// The longest run of consecutive fingerprints of the content (in either
    /// stream, in the order they occur) that are all the document's.
    pub run: usize,
}

struct Doc {
    id: String,
    name: String,
    prints: usize,
}

/// The magic of an encoded [`DocPrints`].
const PRINTS_MAGIC: &[u8; 4] = b"CJFP";
/// The version of the encoding [`DocPrints::encode`] writes.
pub const PRINTS_VERSION: u8 = 1;
/// Bytes before the fingerprints: magic, version, three parameters, count.
const PRINTS_HEADER: usize = 4 + 1 + 2 * 3 + 4;

/// One document's fingerprints (both streams, as one sorted set) and the
/// parameters they were computed with. Holds no content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocPrints {
    text_k: u16,
    code_k: u16,
    window: u16,
    prints: Vec<u64>,
}

impl DocPrints {
    /// How many fingerprints.
    pub fn len(&self) -> usize {
        self.prints.len()
    }

    /// Whether there are none (the content was too short to fingerprint).
    pub fn is_empty(&self) -> bool {
        self.prints.is_empty()
    }

    /// The encoding, version [`PRINTS_VERSION`]: `CJFP`, the version byte,
    /// `text_k`, `code_k` and `window` as little-endian u16, the count as a
    /// little-endian u32, then each fingerprint as a little-endian u64 in
    /// increasing order (docs/crown-jewels.md).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PRINTS_HEADER + 8 * self.prints.len());
        out.extend_from_slice(PRINTS_MAGIC);
        out.push(PRINTS_VERSION);
        for v in [self.text_k, self.code_k, self.window] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let count = u32::try_from(self.prints.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for p in self.prints.iter().take(count as usize) {
            out.extend_from_slice(&p.to_le_bytes());
        }
        out
    }

    /// Reads [`DocPrints::encode`]'s bytes back; anything else (another
    /// magic or version, a wrong length, fingerprints out of order) is
    /// [`DlpError::BadFingerprints`].
    pub fn decode(bytes: &[u8]) -> Result<DocPrints, DlpError> {
        let bad = |why: &str| DlpError::BadFingerprints(why.to_owned());
        let header = bytes
            .get(..PRINTS_HEADER)
            .ok_or_else(|| bad("shorter than its header"))?;
        if header.get(..4) != Some(PRINTS_MAGIC.as_slice()) {
            return Err(bad("not an encoded fingerprint set"));
        }
        if header.get(4) != Some(&PRINTS_VERSION) {
            return Err(bad("an encoding version this build does not read"));
        }
        let u16_at = |i: usize| {
            header
                .get(i..i + 2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_le_bytes)
                .unwrap_or(0)
        };
        let count = header
            .get(11..15)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0) as usize;
        let body = bytes.get(PRINTS_HEADER..).unwrap_or_default();
        if body.len() != count.saturating_mul(8) {
            return Err(bad("its length does not match its count"));
        }
        let prints: Vec<u64> = body
            .chunks_exact(8)
            .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
            .collect();
        if prints.windows(2).any(|w| w.first() >= w.get(1)) {
            return Err(bad("its fingerprints are not in increasing order"));
        }
        Ok(DocPrints {
            text_k: u16_at(5),
            code_k: u16_at(7),
            window: u16_at(9),
            prints,
        })
    }

    /// The parameters as a configuration with the default thresholds.
    pub fn config(&self) -> FingerprintConfig {
        FingerprintConfig {
            text_k: usize::from(self.text_k),
            code_k: usize::from(self.code_k),
            window: usize::from(self.window),
            ..FingerprintConfig::default()
        }
    }
}

/// The registered documents' fingerprints.
pub struct Registry {
    config: FingerprintConfig,
    docs: Vec<Doc>,
    ids: HashSet<String>,
    index: HashMap<u64, Vec<u32>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.config)
            .field("documents", &self.docs.len())
            .field("fingerprints", &self.index.len())
            .finish()
    }
}

/// Fingerprints of one content, per stream: as a set, and in the order
/// they occur.
struct Prints {
    text: Vec<u64>,
    code: Vec<u64>,
    text_seq: Vec<u64>,
    code_seq: Vec<u64>,
}

impl Registry {
    /// An empty registry.
    pub fn new(config: FingerprintConfig) -> Self {
        Self {
            config,
            docs: Vec::new(),
            ids: HashSet::new(),
            index: HashMap::new(),
        }
    }

    /// How many documents are registered.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document is registered.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The parameters and thresholds.
    pub fn config(&self) -> &FingerprintConfig {
        &self.config
    }

    /// The registered documents' ids and names, in registration order.
    pub fn documents(&self) -> impl Iterator<Item = (&str, &str)> {
        self.docs.iter().map(|d| (d.id.as_str(), d.name.as_str()))
    }

    /// Registers a document's fingerprints (its content is not kept).
    pub fn register(&mut self, doc_id: &str, name: &str, content: &str) -> Result<(), DlpError> {
        let prints = self.fingerprint(content);
        self.insert(doc_id, name, &prints)
    }

    /// The fingerprints of `content` under this registry's parameters, to
    /// store and [`Registry::insert`] later (here or in another registry).
    pub fn fingerprint(&self, content: &str) -> DocPrints {
        let prints = self.prints(content);
        let mut all: Vec<u64> = prints.text.into_iter().chain(prints.code).collect();
        all.sort_unstable();
        all.dedup();
        let p = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        DocPrints {
            text_k: p(self.config.text_k),
            code_k: p(self.config.code_k),
            window: p(self.config.window),
            prints: all,
        }
    }

    /// Registers a document by its fingerprints, computed with this
    /// registry's parameters (else [`DlpError::BadFingerprints`]).
    pub fn insert(&mut self, doc_id: &str, name: &str, prints: &DocPrints) -> Result<(), DlpError> {
        let theirs = prints.config();
        let c = &self.config;
        if (theirs.text_k, theirs.code_k, theirs.window) != (c.text_k, c.code_k, c.window) {
            return Err(DlpError::BadFingerprints(format!(
                "document `{doc_id}` was fingerprinted with other parameters (k {}/{}, window {})",
                theirs.text_k, theirs.code_k, theirs.window
            )));
        }
        if !self.ids.insert(doc_id.to_owned()) {
            return Err(DlpError::DuplicateDocument(doc_id.to_owned()));
        }
        let number = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        for &fp in &prints.prints {
            self.index.entry(fp).or_default().push(number);
        }
        self.docs.push(Doc {
            id: doc_id.to_owned(),
            name: name.to_owned(),
            prints: prints.prints.len(),
        });
        Ok(())
    }

    /// The registered documents that `content` overlaps beyond the
    /// thresholds, largest share first.
    pub fn matches(&self, content: &str) -> Vec<DocMatch> {
        let prints = self.prints(content);
        let text_hits = self.count(&prints.text);
        let code_hits = self.count(&prints.code);
        let mut runs = self.runs(&prints.text_seq);
        for (d, r) in self.runs(&prints.code_seq) {
            let best = runs.entry(d).or_default();
            *best = (*best).max(r);
        }
        let (nt, nc) = (
            prints.text.len().max(1) as f64,
            prints.code.len().max(1) as f64,
        );
        let mut docs: Vec<u32> = text_hits.keys().chain(code_hits.keys()).copied().collect();
        docs.sort_unstable();
        docs.dedup();
        let mut out: Vec<DocMatch> = docs
            .into_iter()
            .filter_map(|d| {
                let t = text_hits.get(&d).copied().unwrap_or(0);
                let c = code_hits.get(&d).copied().unwrap_or(0);
                let share = (t as f64 / nt).max(c as f64 / nc);
                let matched = t.max(c);
                let doc = self.docs.get(usize::try_from(d).ok()?)?;
                let run = runs.get(&d).copied().unwrap_or(0);
                let enough = share >= self.config.min_share || matched >= self.config.min_matched;
                (enough && run >= self.config.min_run).then(|| DocMatch {
                    doc_id: doc.id.clone(),
                    name: doc.name.clone(),
                    matched,
                    share,
                    doc_share: (t + c) as f64 / doc.prints.max(1) as f64,
                    run,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.doc_id.cmp(&b.doc_id))
        });
        out
    }

    /// Per document, the longest run of consecutive fingerprints of `seq`
    /// (winnowed, in position order, each at its first occurrence only: a
    /// pattern repeated over and over is one run of one) that are all the
    /// document's.
    fn runs(&self, seq: &[u64]) -> HashMap<u32, usize> {
        let mut seen = HashSet::with_capacity(seq.len());
        let firsts: Vec<u64> = seq.iter().copied().filter(|fp| seen.insert(*fp)).collect();
        // (current run, its last position, best run)
        let mut at: HashMap<u32, (usize, usize, usize)> = HashMap::new();
        for (i, fp) in firsts.iter().enumerate() {
            let Some(docs) = self
                .index
                .get(fp)
                .filter(|d| d.len() <= self.config.max_postings)
            else {
                continue;
            };
            for &d in docs {
                let e = at.entry(d).or_insert((0, usize::MAX, 0));
                e.0 = if e.1.wrapping_add(1) == i { e.0 + 1 } else { 1 };
                e.1 = i;
                e.2 = e.2.max(e.0);
            }
        }
        at.into_iter().map(|(d, (_, _, best))| (d, best)).collect()
    }

    fn count(&self, prints: &[u64]) -> HashMap<u32, usize> {
        let mut hits: HashMap<u32, usize> = HashMap::new();
        for fp in prints {
            if let Some(docs) = self.index.get(fp)
                && docs.len() <= self.config.max_postings
            {
                for &d in docs {
                    *hits.entry(d).or_default() += 1;
                }
            }
        }
        hits
    }

    fn prints(&self, content: &str) -> Prints {
        let c = &self.config;
        let text_seq = winnow(
            &kgram_hashes(&normalised(content), c.text_k, TEXT_DOMAIN),
            c.window,
        );
        let code_seq = if looks_like_code(content) {
            winnow(
                &kgram_hashes(&code_tokens(content), c.code_k, CODE_DOMAIN),
                c.window,
            )
        } else {
            Vec::new()
        };
        Prints {
            text: dedup(text_seq.clone()),
            code: dedup(code_seq.clone()),
            text_seq,
            code_seq,
        }
    }
}

/// Separates text and code fingerprints in the one index.
const TEXT_DOMAIN: u64 = 0x7465_7874;
const CODE_DOMAIN: u64 = 0x636f_6465;

fn dedup(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Lowercase letters and digits, as code points.
fn normalised(content: &str) -> Vec<u64> {
    content
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(u64::from)
        .collect()
}

/// Keywords kept as themselves in the token stream (C family, Rust, Go,
/// Python, Java, JavaScript); every other identifier becomes one placeholder.
const KEYWORDS: &[&str] = &[
    "if",
    "else",
    "for",
    "while",
    "do",
    "return",
    "break",
    "continue",
    "switch",
    "case",
    "default",
    "match",
    "fn",
    "func",
    "def",
    "function",
    "class",
    "struct",
    "enum",
    "impl",
    "trait",
    "interface",
    "let",
    "var",
    "const",
    "static",
    "mut",
    "pub",
    "public",
    "private",
    "protected",
    "import",
    "from",
    "use",
    "package",
    "new",
    "try",
    "catch",
    "except",
    "finally",
    "throw",
    "raise",
    "in",
    "is",
    "not",
    "and",
    "or",
    "true",
    "false",
    "null",
    "nil",
    "None",
    "True",
    "False",
    "self",
    "this",
    "int",
    "void",
    "char",
    "float",
    "double",
    "bool",
    "string",
    "async",
    "await",
    "yield",
    "lambda",
    "with",
    "as",
    "type",
    "go",
    "defer",
    "range",
];

/// The token stream of code without its comments: identifiers `I`, numbers
/// `N`, strings `S`, keywords and each punctuation character as themselves.
fn code_tokens(content: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let line_comment = c == '#' || (c == '/' && chars.peek() == Some(&'/'));
        if line_comment {
            chars.by_ref().find(|&n| n == '\n');
            continue;
        }
        if c == '/' && chars.peek() == Some(&'*') {
            let mut prev = ' ';
            for n in chars.by_ref() {
                if prev == '*' && n == '/' {
                    break;
                }
                prev = n;
            }
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_') {
                    break;
                }
                word.push(n);
                chars.next();
            }
            let token = if KEYWORDS.contains(&word.as_str()) {
                fnv(word.as_bytes())
            } else {
                fnv(b"I")
            };
            out.push(token);
        } else if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '.' || *n == '_')
            {
                chars.next();
            }
            out.push(fnv(b"N"));
        } else if c == '"' || c == '\'' || c == '`' {
            let mut escaped = false;
            for n in chars.by_ref() {
                if n == '\n' || (n == c && !escaped) {
                    break;
                }
                escaped = n == '\\' && !escaped;
            }
            out.push(fnv(b"S"));
        } else {
            out.push(u64::from(c));
        }
    }
    out
}

/// Whether content reads as source code: enough of its lines end like
/// statements or blocks.
fn looks_like_code(content: &str) -> bool {
    let (mut lines, mut codeish) = (0usize, 0usize);
    for line in content
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
    {
        lines += 1;
        if line.ends_with([';', '{', '}', ')', ':', ',', '(', '[', ']']) || line.contains(" = ") {
            codeish += 1;
        }
    }
    lines > 0 && codeish * 2 >= lines
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Rolling polynomial hashes of every k-gram, mixed, in a domain.
fn kgram_hashes(symbols: &[u64], k: usize, domain: u64) -> Vec<u64> {
    const BASE: u64 = 0x100_0000_01b3;
    if k == 0 || symbols.len() < k {
        return Vec::new();
    }
    let top = (1..k).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = 0u64;
    let mut out = Vec::with_capacity(symbols.len() - k + 1);
    for (i, &s) in symbols.iter().enumerate() {
        if i >= k {
            let gone = symbols.get(i - k).copied().unwrap_or(0);
            h = h.wrapping_sub(gone.wrapping_mul(top));
        }
        h = h.wrapping_mul(BASE).wrapping_add(s);
        if i + 1 >= k {
            out.push(mix(h ^ domain));
        }
    }
    out
}

/// Winnowing: the rightmost minimum of every window of `w` hashes, each
/// recorded once per position.
fn winnow(hashes: &[u64], w: usize) -> Vec<u64> {
    if hashes.len() <= w || w == 0 {
        return hashes.iter().min().copied().into_iter().collect();
    }
    let mut out = Vec::new();
    let mut last: Option<usize> = None;
    for start in 0..=hashes.len() - w {
        let window = hashes.get(start..start + w).unwrap_or_default();
        let mut best = 0;
        for (j, h) in window.iter().enumerate() {
            if window.get(best).is_some_and(|b| h <= b) {
                best = j;
            }
        }
        let pos = start + best;
        if last != Some(pos) {
            if let Some(&h) = hashes.get(pos) {
                out.push(h);
            }
            last = Some(pos);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_keeps_the_token_stream() {
        let a = code_tokens("let total = count + 1; // sum");
        let b = code_tokens("let s = n + 42; // other words");
        assert_eq!(a, b);
        let c = code_tokens("let s = n - 42;");
        assert_ne!(a, c);
    }

    #[test]
    fn winnowing_keeps_window_minima() {
        let check = |hashes: &[u64], w: usize, expected: &[u64]| {
            assert_eq!(winnow(hashes, w), expected, "{hashes:?}")
        };
        check(
            &[
                77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98,
            ],
            4,
            &[17, 17, 8, 39, 17],
        );
        check(&[5, 3], 4, &[3]);
        check(&[], 4, &[]);
    }

    #[test]
    fn normalisation_ignores_case_spacing_and_punctuation() {
        assert_eq!(normalised("Hello,  World!"), normalised("hello world"));
    }

    #[test]
    fn fingerprints_survive_their_encoding_and_nothing_else_decodes() {
        let r = Registry::new(FingerprintConfig::default());
        let text: String = (0..40)
            .map(|i| {
                format!("fn step_{i}(count: u32) -> u32 {{ let total = count * {i} + 7; total }}\n")
            })
            .collect();
        let prints = r.fingerprint(&text);
        assert!(prints.len() > 10, "{}", prints.len());
        let bytes = prints.encode();
        assert_eq!(bytes.len(), PRINTS_HEADER + 8 * prints.len());
        assert_eq!(DocPrints::decode(&bytes), Ok(prints.clone()));
        let mut unordered = bytes.clone();
        unordered.extend_from_slice(&0u64.to_le_bytes());
        let count = u32::try_from(prints.len() + 1).unwrap();
        unordered.splice(11..15, count.to_le_bytes());
        let mut other_version = bytes.clone();
        other_version[4] = 9;
        let cases: [(&str, Vec<u8>); 5] = [
            ("empty", Vec::new()),
            ("truncated", bytes[..bytes.len() - 3].to_vec()),
            ("other magic", [b"XXXX", &bytes[4..]].concat()),
            ("other version", other_version),
            ("out of order", unordered),
        ];
        for (label, bytes) in cases {
            assert_eq!(
                DocPrints::decode(&bytes).map_err(|e| e.code()),
                Err("dlp_bad_fingerprints"),
                "{label}"
            );
        }
        // Inserted prints match as registered content does.
        let mut a = Registry::new(FingerprintConfig::default());
        a.insert("d1", "main.rs", &prints).unwrap();
        let mut b = Registry::new(FingerprintConfig::default());
        b.register("d1", "main.rs", &text).unwrap();
        assert_eq!(a.matches(&text), b.matches(&text));
        assert_eq!(
            a.matches(&text).first().map(|m| m.name.as_str()),
            Some("main.rs")
        );
        // Prints of other parameters are refused.
        let mut c = Registry::new(FingerprintConfig {
            window: 4,
            ..FingerprintConfig::default()
        });
        assert_eq!(
            c.insert("d1", "main.rs", &prints).map_err(|e| e.code()),
            Err("dlp_bad_fingerprints")
        );
    }

    #[test]
    fn documents_are_registered_once() {
        let mut r = Registry::new(FingerprintConfig::default());
        assert_eq!(r.register("d1", "a", "text"), Ok(()));
        assert_eq!(
            r.register("d1", "b", "text").map_err(|e| e.code()),
            Err("dlp_duplicate_document")
        );
        assert_eq!(r.len(), 1);
    }
}
