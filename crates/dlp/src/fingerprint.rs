//! Fingerprints of registered documents, to recognise excerpts of them in
//! other content. MOSS-style winnowing (Schleimer, Wilkerson, Aiken 2003):
//! hashes of every k-gram, and in every window of `w` consecutive hashes the
//! smallest is kept. Two streams are fingerprinted: the normalised text
//! (lowercase letters and digits only, so spacing and punctuation do not
//! matter) and, for code, a token stream in which identifiers, numbers and
//! strings are replaced by placeholders, so renaming does not hide an excerpt.
//!
//! The registry keeps only fingerprints (never the content) in an inverted
//! index from fingerprint to documents.

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
}

struct Doc {
    id: String,
    name: String,
    prints: usize,
}

/// The registered documents' fingerprints.
pub struct Registry {
    config: FingerprintConfig,
    docs: Vec<Doc>,
    ids: HashSet<String>,
    index: HashMap<u64, Vec<u32>>,
}

/// Fingerprints of one content, per stream.
struct Prints {
    text: Vec<u64>,
    code: Vec<u64>,
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

    /// Registers a document's fingerprints (its content is not kept).
    pub fn register(&mut self, doc_id: &str, name: &str, content: &str) -> Result<(), DlpError> {
        if !self.ids.insert(doc_id.to_owned()) {
            return Err(DlpError::DuplicateDocument(doc_id.to_owned()));
        }
        let number = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        let prints = self.prints(content);
        let all: HashSet<u64> = prints.text.iter().chain(&prints.code).copied().collect();
        for &fp in &all {
            self.index.entry(fp).or_default().push(number);
        }
        self.docs.push(Doc {
            id: doc_id.to_owned(),
            name: name.to_owned(),
            prints: all.len(),
        });
        Ok(())
    }

    /// The registered documents that `content` overlaps beyond the
    /// thresholds, largest share first.
    pub fn matches(&self, content: &str) -> Vec<DocMatch> {
        let prints = self.prints(content);
        let text_hits = self.count(&prints.text);
        let code_hits = self.count(&prints.code);
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
                (share >= self.config.min_share || matched >= self.config.min_matched).then(|| {
                    DocMatch {
                        doc_id: doc.id.clone(),
                        name: doc.name.clone(),
                        matched,
                        share,
                        doc_share: (t + c) as f64 / doc.prints.max(1) as f64,
                    }
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
        let text = dedup(winnow(
            &kgram_hashes(&normalised(content), c.text_k, TEXT_DOMAIN),
            c.window,
        ));
        let code = if looks_like_code(content) {
            dedup(winnow(
                &kgram_hashes(&code_tokens(content), c.code_k, CODE_DOMAIN),
                c.window,
            ))
        } else {
            Vec::new()
        };
        Prints { text, code }
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
