//! Text and source code: a visible header banner written in the file's own
//! comment syntax (chosen by extension), and an invisible mark repeated on
//! every line so that any ten consecutive lines carry the whole id.
//!
//! The invisible mark splits the 80 payload bits (id + CRC-16) into ten bytes;
//! line *n* ends with chunk *n* mod 10: a 4-symbol preamble `0110`, the 4-bit
//! chunk index and the 8 bits of that byte, 16 symbols in all. Source code
//! uses trailing whitespace (space = 0, tab = 1); prose (`.txt`, `.md`,
//! unknown extensions) uses zero-width characters (U+200B = 0, U+200C = 1).
//! Do not change the layout: issued marks depend on it.
//!
//! Fragility: both carriers are removed by anything that normalises
//! whitespace or Unicode — editors that trim trailing whitespace, `rustfmt`,
//! `black`, `prettier`, `git diff --ignore-space-at-eol`-style pastes, most
//! chat and e-mail clients, retyping, OCR of a screenshot. The visible banner
//! carries the mark token (`mark <id>-<crc>`) as a second, easily deleted,
//! witness. Lines ending in `\` (continuations) carry nothing, and so does a
//! file without line breaks.

use crate::id::{PAYLOAD_BITS, decode_payload, payload_bits};
use crate::{Issue, MarkId};

const CHUNKS: usize = PAYLOAD_BITS / 8;
const PREAMBLE: [bool; 4] = [false, true, true, false];
const SYMBOLS: usize = 16;

/// Which invisible carrier a text mark uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Trailing spaces and tabs (source code, data files).
    Whitespace,
    /// Zero-width space / non-joiner at line ends (prose).
    ZeroWidth,
}

impl Carrier {
    fn symbols(self) -> (char, char) {
        match self {
            Self::Whitespace => (' ', '\t'),
            Self::ZeroWidth => ('\u{200B}', '\u{200C}'),
        }
    }
}

/// How a file's comments are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentStyle {
    /// One prefix per line (`//`, `#`, `--`, `;`, `%`, `'`, `!`).
    Line(&'static str),
    /// A block (`/* … */`, `<!-- … -->`).
    Block(&'static str, &'static str),
    /// Plain lines (prose).
    Plain,
    /// The format has no comments (JSON, CSV): no banner is written.
    None,
}

/// The comment style and invisible carrier for a file name (by extension).
pub fn style_for(file_name: &str) -> (CommentStyle, Carrier) {
    let lower = file_name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    let ext = base.rsplit_once('.').map_or(base, |(_, e)| e);
    let comment = match ext {
        "rs" | "cpp" | "cc" | "cxx" | "hpp" | "hh" | "java" | "js" | "mjs" | "ts" | "jsx"
        | "tsx" | "go" | "swift" | "kt" | "kts" | "scala" | "cs" | "dart" | "php" | "groovy"
        | "gradle" | "proto" | "zig" | "v" | "sv" | "fs" => CommentStyle::Line("//"),
        "py" | "sh" | "bash" | "zsh" | "rb" | "pl" | "pm" | "r" | "yaml" | "yml" | "toml"
        | "conf" | "cfg" | "mk" | "makefile" | "cmake" | "dockerfile" | "tf" | "ps1" | "jl"
        | "ex" | "exs" | "nix" => CommentStyle::Line("#"),
        "sql" | "lua" | "hs" | "ada" | "adb" | "ads" | "vhd" | "vhdl" | "elm" => {
            CommentStyle::Line("--")
        }
        "c" | "h" | "css" | "less" => CommentStyle::Block("/*", "*/"),
        "html" | "htm" | "xml" | "svg" | "xhtml" | "vue" | "xsd" | "xsl" => {
            CommentStyle::Block("<!--", "-->")
        }
        "asm" | "s" | "lisp" | "clj" | "el" | "scm" | "ini" => CommentStyle::Line(";"),
        "tex" | "sty" | "m" | "erl" | "bib" => CommentStyle::Line("%"),
        "vb" | "bas" | "vbs" => CommentStyle::Line("'"),
        "f90" | "f95" | "f03" => CommentStyle::Line("!"),
        "json" | "csv" | "tsv" | "ipynb" => CommentStyle::None,
        _ => CommentStyle::Plain,
    };
    let carrier = match comment {
        CommentStyle::Plain => Carrier::ZeroWidth,
        _ => Carrier::Whitespace,
    };
    (comment, carrier)
}

/// The banner lines for `issue` in `style` (empty for [`CommentStyle::None`]).
pub fn banner(style: CommentStyle, issue: &Issue) -> Vec<String> {
    let lines = issue.lines();
    match style {
        CommentStyle::Line(p) => lines.iter().map(|l| format!("{p} {l}")).collect(),
        CommentStyle::Block(open, close) => {
            let mut v = vec![open.to_string()];
            v.extend(lines.iter().map(|l| format!("  {l}")));
            v.push(close.to_string());
            v
        }
        CommentStyle::Plain => {
            let mut v: Vec<String> = lines.to_vec();
            v.push(String::new());
            v
        }
        CommentStyle::None => Vec::new(),
    }
}

/// Marks `text`: the banner after any `#!` or `<?xml` first line, then the
/// invisible mark on every line. Line endings (`\n` or `\r\n`) are kept.
pub fn mark_text(text: &str, file_name: &str, issue: &Issue) -> String {
    let (style, carrier) = style_for(file_name);
    let crlf = text.contains("\r\n");
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect();
    let trailing_newline = text.ends_with('\n');
    if trailing_newline {
        lines.pop();
    }
    let at = usize::from(
        lines
            .first()
            .is_some_and(|l| l.starts_with("#!") || l.starts_with("<?xml")),
    );
    let banner = banner(style, issue);
    lines.splice(at..at, banner);
    let bits = payload_bits(issue.mark_id);
    let mut out = String::with_capacity(text.len() + lines.len() * 20 + 200);
    // A file shorter than ten lines carries several chunks per line.
    let period = lines.len().clamp(1, CHUNKS);
    for (n, line) in lines.iter().enumerate() {
        out.push_str(line);
        if !line.ends_with('\\') {
            for chunk in (n % CHUNKS..CHUNKS).step_by(period) {
                push_chunk(&mut out, carrier, &bits, chunk);
            }
        }
        if n + 1 < lines.len() || trailing_newline {
            out.push_str(eol);
        }
    }
    out
}

fn push_chunk(out: &mut String, carrier: Carrier, bits: &[bool; PAYLOAD_BITS], chunk: usize) {
    let (zero, one) = carrier.symbols();
    let sym = |b: bool| if b { one } else { zero };
    for b in PREAMBLE {
        out.push(sym(b));
    }
    for i in (0..4).rev() {
        out.push(sym((chunk >> i) & 1 == 1));
    }
    for b in bits.iter().skip(chunk * 8).take(8) {
        out.push(sym(*b));
    }
}

/// What [`detect_text`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct TextReading {
    /// The mark id (its CRC-16 checked).
    pub mark_id: MarkId,
    /// The carrier it was read from.
    pub carrier: Carrier,
    /// Lines that carried a chunk.
    pub lines: usize,
    /// Share of those lines that agree with the id read (1.0 when all agree).
    pub agreement: f64,
}

/// Reads the invisible mark: a majority vote per chunk over every line, then the CRC-16.
pub fn detect_text(text: &str) -> Option<TextReading> {
    [Carrier::Whitespace, Carrier::ZeroWidth]
        .into_iter()
        .find_map(|c| detect_with(text, c))
}

fn detect_with(text: &str, carrier: Carrier) -> Option<TextReading> {
    let mut votes = vec![[0u32; 256]; CHUNKS];
    let mut lines = 0usize;
    for line in text.split('\n') {
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        let mut carried = false;
        while let Some((chunk, byte, rest)) = read_chunk(line, carrier) {
            if let Some(slot) = votes
                .get_mut(chunk)
                .and_then(|v| v.get_mut(usize::from(byte)))
            {
                *slot += 1;
                carried = true;
            }
            line = rest;
        }
        lines += usize::from(carried);
    }
    let mut bits = Vec::with_capacity(PAYLOAD_BITS);
    let mut agree = 0u32;
    let total: u32 = votes.iter().flatten().sum();
    for v in &votes {
        let (byte, &count) = v.iter().enumerate().max_by_key(|(_, c)| **c)?;
        if count == 0 {
            return None;
        }
        agree += count;
        bits.extend((0..8).rev().map(|i| (byte >> i) & 1 == 1));
    }
    let mark_id = decode_payload(&bits)?;
    Some(TextReading {
        mark_id,
        carrier,
        lines,
        agreement: f64::from(agree) / f64::from(total.max(1)),
    })
}

/// The last chunk of `line`, and what precedes it.
fn read_chunk(line: &str, carrier: Carrier) -> Option<(usize, u8, &str)> {
    let (zero, one) = carrier.symbols();
    let tail: Vec<char> = line.chars().rev().take(SYMBOLS).collect();
    if tail.len() != SYMBOLS {
        return None;
    }
    let tail_bytes: usize = tail.iter().map(|c| c.len_utf8()).sum();
    let rest = line.get(..line.len() - tail_bytes)?;
    let mut bits = [false; SYMBOLS];
    for (i, c) in tail.iter().rev().enumerate() {
        let slot = bits.get_mut(i)?;
        *slot = match *c {
            c if c == zero => false,
            c if c == one => true,
            _ => return None,
        };
    }
    if bits.get(..4)? != PREAMBLE {
        return None;
    }
    let value = |r: &[bool]| r.iter().fold(0usize, |v, &b| (v << 1) | usize::from(b));
    let chunk = value(bits.get(4..8)?);
    let byte = u8::try_from(value(bits.get(8..16)?)).ok()?;
    (chunk < CHUNKS).then_some((chunk, byte, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Recipient;

    fn issue(id: u64) -> Issue {
        Issue {
            recipient: Recipient {
                name: "Zoë Ångström".into(),
                email: "zoe@vendor.example".into(),
                party: "Vendor GmbH".into(),
            },
            issued_at: time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap(),
            mark_id: MarkId(id),
        }
    }

    #[test]
    fn banner_uses_the_comment_syntax_of_the_extension() {
        fn check(name: &str, first: &str, carrier: Carrier) {
            let (style, c) = style_for(name);
            let b = banner(style, &issue(7));
            assert_eq!(b.first().map(String::as_str).unwrap_or(""), first, "{name}");
            assert_eq!(c, carrier, "{name}");
        }
        check(
            "src/main.rs",
            "// Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::Whitespace,
        );
        check(
            "x.py",
            "# Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::Whitespace,
        );
        check(
            "q.SQL",
            "-- Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::Whitespace,
        );
        check("a.c", "/*", Carrier::Whitespace);
        check("page.html", "<!--", Carrier::Whitespace);
        check(
            "boot.asm",
            "; Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::Whitespace,
        );
        check(
            "paper.tex",
            "% Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::Whitespace,
        );
        check(
            "notes.txt",
            "Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::ZeroWidth,
        );
        check(
            "README",
            "Confidential: issued to Zoë Ångström <zoe@vendor.example>",
            Carrier::ZeroWidth,
        );
        check("data.json", "", Carrier::Whitespace);
    }

    fn source(lines: usize) -> String {
        (0..lines)
            .map(|i| format!("let v{i} = {i} * 2;\n"))
            .collect()
    }

    #[test]
    fn excerpts_and_carriers_round_trip() {
        // (file name, text, keep lines from..to of the marked output, line ending)
        fn check(name: &str, text: &str, from: usize, to: usize) {
            let id = 0xfeed_0000_0000_0001 ^ (from as u64) << 8;
            let marked = mark_text(text, name, &issue(id));
            let excerpt: String = marked
                .split_inclusive('\n')
                .skip(from)
                .take(to - from)
                .collect();
            let r = detect_text(&excerpt).unwrap_or_else(|| panic!("{name} {from}..{to}"));
            assert_eq!(r.mark_id, MarkId(id));
            assert!((r.agreement - 1.0).abs() < 1e-9);
        }
        let code = source(1000);
        check("a.rs", &code, 0, 1003);
        check("a.rs", &code, 400, 500);
        check("a.rs", &code, 400, 410);
        check("a.txt", &code, 123, 223);
        check("a.txt", &code.replace('\n', "\r\n"), 10, 30);
        check("run.sh", "#!/bin/sh\necho hi\n", 0, 6);
    }

    #[test]
    fn marked_text_keeps_shebang_first_and_content_visible() {
        let marked = mark_text("#!/bin/sh\necho hi\n", "run.sh", &issue(9));
        let visible: Vec<&str> = marked.lines().map(|l| l.trim_end()).collect();
        assert_eq!(visible.first(), Some(&"#!/bin/sh"));
        assert_eq!(visible.last(), Some(&"echo hi"));
        assert!(visible.iter().any(|l| l.ends_with(&MarkId(9).token())));
        assert!(marked.ends_with('\n'));
    }

    #[test]
    fn too_short_trimmed_or_unmarked_text_reads_nothing() {
        let marked = mark_text(&source(50), "a.rs", &issue(5));
        let trimmed: String = marked
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        let nine: String = marked.split_inclusive('\n').take(9).collect();
        for t in [&source(200), &trimmed, &nine, &String::new()] {
            assert_eq!(detect_text(t), None);
        }
    }
}
