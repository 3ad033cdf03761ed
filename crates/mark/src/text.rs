//! Prose (`.txt`, `README`, …): a visible banner before the text, and an
//! invisible mark repeated on every line so that any ten consecutive lines
//! carry the whole id. Prose has no syntax for a zero-width character to
//! break; lightweight markup (Markdown, reStructuredText) has, and
//! carries the mark on its plain-text lines only ([`mark_markup`]). Source
//! code and the other registered formats are marked in their own syntax
//! instead ([`crate::formats`], [`crate::source`]): no existing line of them
//! is touched.
//!
//! The invisible mark splits the 80 payload bits (id + CRC-16) into ten bytes;
//! the *k*-th line that carries the mark ends with chunk *k* mod 10: a
//! 4-symbol preamble `0110`, the 4-bit chunk index and the 8 bits of that
//! byte, 16 symbols in all, as zero-width characters (U+200B = 0,
//! U+200C = 1). The reader needs no line numbers. Copies issued before the
//! format registry carried the same chunks in trailing whitespace (space = 0,
//! tab = 1) on source code: [`detect_text`] still reads them.
//! Do not change the layout: issued marks depend on it.
//!
//! Fragility: the carrier is removed by anything that normalises Unicode —
//! most chat and e-mail clients, retyping, OCR of a screenshot. The visible
//! banner carries the mark token (`mark <id>-<crc>`) as a second, easily
//! deleted, witness. Lines ending in `\` carry nothing, and neither does a
//! file without line breaks.

use crate::id::{PAYLOAD_BITS, decode_payload, payload_bits};
use crate::{Issue, MarkId};

const CHUNKS: usize = PAYLOAD_BITS / 8;
const PREAMBLE: [bool; 4] = [false, true, true, false];
const SYMBOLS: usize = 16;

/// Which carrier a text mark was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Trailing spaces and tabs (source code marked before the format registry).
    Whitespace,
    /// Zero-width space / non-joiner at line ends (prose).
    ZeroWidth,
    /// Compact `cm:` comments in source code ([`crate::source::compact`]).
    Comment,
}

impl Carrier {
    fn symbols(self) -> (char, char) {
        match self {
            Self::Whitespace | Self::Comment => (' ', '\t'),
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

/// The comment style and invisible carrier of a file name, from the format
/// registry ([`crate::formats`]): formats without a comment syntax of their
/// own (prose, and anything not registered) are [`CommentStyle::Plain`] with
/// zero-width characters; registered formats marked otherwise (STEP, DXF, …)
/// and unmarkable ones are [`CommentStyle::None`].
pub fn style_for(file_name: &str) -> (CommentStyle, Carrier) {
    match crate::formats::by_name(file_name).map(|e| &e.marker) {
        Some(crate::formats::Marker::Source(lang)) => (lang.comment, Carrier::Comment),
        Some(crate::formats::Marker::Prose | crate::formats::Marker::Markup { .. }) => {
            (CommentStyle::Plain, Carrier::ZeroWidth)
        }
        Some(_) => (CommentStyle::None, Carrier::Comment),
        None => (CommentStyle::Plain, Carrier::ZeroWidth),
    }
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

/// Marks `text` named `file_name` as [`crate::mark`] does: in the syntax of
/// its registered format ([`crate::formats`]). Text that is not of a
/// registered text format, or that the format cannot hold a mark in, comes
/// back unchanged — [`crate::mark`] reports it as unsupported instead.
pub fn mark_text(text: &str, file_name: &str, issue: &Issue) -> String {
    match crate::formats::mark_registered(text.as_bytes(), file_name, issue) {
        Ok(bytes) => String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

/// Marks prose: the banner (after a `#!` or `<?xml` first line), then the
/// zero-width mark on every line. Line endings (`\n` or `\r\n`) are kept.
pub fn mark_prose(text: &str, issue: &Issue) -> String {
    prose(text, issue, false, false)
}

/// Marks lightweight markup (Markdown, reStructuredText) as prose,
/// but where zero-width characters cannot change what the markup means: the
/// banner goes after any front matter (`---` / `+++` block), and only lines
/// of plain text carry the mark — not front matter, code fences or what they
/// hold, indented lines, headings, tables, HTML, directives, link
/// definitions, setext underlines and the lines they underline, lines
/// ending in a URL or an address, hard line breaks, or blank lines.
pub fn mark_markup(text: &str, issue: &Issue) -> String {
    prose(text, issue, true, false)
}

/// [`mark_markup`], with the banner at the end when `banner_last`
/// (reStructuredText, where a paragraph before the title demotes it).
pub(crate) fn markup(text: &str, issue: &Issue, banner_last: bool) -> String {
    prose(text, issue, true, banner_last)
}

/// Whether a markup line is plain text that a zero-width character at its
/// end leaves meaning the same.
fn plain_text_line(l: &str, next: Option<&str>) -> bool {
    let t = l.trim_end();
    let underline = |n: &str| {
        let n = n.trim();
        !n.is_empty() && n.chars().all(|c| "=-~^\"'`#*+_:.".contains(c))
    };
    t == l
        && t.chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || ".,;!?)\"'*_`".contains(c))
        && t.chars().any(char::is_alphanumeric)
        && !t.starts_with(|c: char| c.is_whitespace() || "#<|:[.".contains(c))
        && !t.contains('|')
        && !t
            .split_whitespace()
            .last()
            .is_some_and(|w| w.contains("://") || w.contains("www.") || w.contains('@'))
        && !next.is_some_and(underline)
}

fn prose(text: &str, issue: &Issue, markup: bool, banner_last: bool) -> String {
    // A byte-order mark stays the first bytes.
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        return format!("\u{feff}{}", prose(rest, issue, markup, banner_last));
    }
    let (style, carrier) = (CommentStyle::Plain, Carrier::ZeroWidth);
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
    let mut at = usize::from(
        lines
            .first()
            .is_some_and(|l| l.starts_with("#!") || l.starts_with("<?xml")),
    );
    let mut carries: Vec<bool> = vec![true; lines.len()];
    if markup {
        // Front matter: the banner after it, no carriers in it.
        if let Some(open) = lines.first().filter(|l| *l == "---" || *l == "+++")
            && let Some(close) = lines
                .iter()
                .skip(1)
                .position(|l| l == open || open == "---" && l == "...")
        {
            at = close + 2;
        }
        let mut fence: Option<char> = None;
        for (i, c) in carries.iter_mut().enumerate() {
            let l = lines.get(i).map_or("", String::as_str);
            let lead = l.trim_start_matches(' ');
            let opener = ['`', '~'].into_iter().find(|&f| {
                lead.starts_with(&String::from(f).repeat(3)) && l.len() - lead.len() <= 3
            });
            match (fence, opener) {
                (None, Some(f)) => fence = Some(f),
                (Some(f), Some(g)) if f == g => fence = None,
                _ => {}
            }
            *c = i >= at
                && fence.is_none()
                && opener.is_none()
                && plain_text_line(l, lines.get(i + 1).map(String::as_str));
        }
    }
    let mut banner = banner(style, issue);
    if banner_last {
        // After the text, as a paragraph of its own.
        if lines.last().is_some_and(|l| !l.trim().is_empty()) {
            banner.insert(0, String::new());
        }
        at = lines.len();
    }
    // The banner's lines carry, its blank lines do not (in markup they end its paragraph).
    let banner_carries: Vec<bool> = banner.iter().map(|l| !markup || !l.is_empty()).collect();
    lines.splice(at..at, banner);
    carries.splice(at..at, banner_carries);
    for (c, line) in carries.iter_mut().zip(&lines) {
        *c = *c && !line.ends_with('\\');
    }
    let bits = payload_bits(issue.mark_id);
    let mut out = String::with_capacity(text.len() + lines.len() * 20 + 200);
    // The k-th carrying line holds chunk k mod 10 (the reader does not need
    // line numbers); fewer than ten carrying lines hold several chunks each.
    let period = carries.iter().filter(|c| **c).count().clamp(1, CHUNKS);
    let mut k = 0;
    for (n, line) in lines.iter().enumerate() {
        out.push_str(line);
        if carries.get(n).copied().unwrap_or(false) {
            for chunk in (k % CHUNKS..CHUNKS).step_by(period) {
                push_chunk(&mut out, carrier, &bits, chunk);
            }
            k += 1;
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

/// Reads the invisible mark (a majority vote per chunk over every line,
/// then the CRC-16), else the compact comments of source code (the id most of
/// them name).
pub fn detect_text(text: &str) -> Option<TextReading> {
    [Carrier::Whitespace, Carrier::ZeroWidth]
        .into_iter()
        .find_map(|c| detect_with(text, c))
        .or_else(|| detect_compact(text))
}

fn detect_compact(text: &str) -> Option<TextReading> {
    let ids = crate::source::find_compact(text.as_bytes());
    let mut counts: Vec<(MarkId, usize)> = Vec::new();
    for id in &ids {
        match counts.iter_mut().find(|(i, _)| i == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((*id, 1)),
        }
    }
    let (mark_id, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    Some(TextReading {
        mark_id,
        carrier: Carrier::Comment,
        lines: ids.len(),
        agreement: n as f64 / ids.len() as f64,
    })
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
    fn banner_uses_the_comment_syntax_of_the_registered_format() {
        // (file name, first banner line, carrier): source code is marked in
        // comments, prose and unregistered names are plain with zero-width
        // characters, registered formats without comments have no banner.
        fn check(name: &str, first: &str, carrier: Carrier) {
            let (style, c) = style_for(name);
            let b = banner(style, &issue(7));
            assert_eq!(b.first().map(String::as_str).unwrap_or(""), first, "{name}");
            assert_eq!(c, carrier, "{name}");
        }
        let plain = "Confidential: issued to Zoë Ångström <zoe@vendor.example>";
        check("src/main.rs", &format!("// {plain}"), Carrier::Comment);
        check("x.py", &format!("# {plain}"), Carrier::Comment);
        check("q.SQL", &format!("-- {plain}"), Carrier::Comment);
        check("settings.ini", &format!("; {plain}"), Carrier::Comment);
        check("a.c", "/*", Carrier::Comment);
        check("page.html", "<!--", Carrier::Comment);
        check("notes.txt", plain, Carrier::ZeroWidth);
        check("README", plain, Carrier::ZeroWidth);
        check("boot.asm", plain, Carrier::ZeroWidth);
        check("data.json", "", Carrier::Comment);
        check("drawing.step", "", Carrier::Comment);
    }

    fn source(lines: usize) -> String {
        (0..lines)
            .map(|i| {
                if i % 5 == 4 {
                    "\n".to_owned()
                } else {
                    format!("let v{i} = {i} * 2;\n")
                }
            })
            .collect()
    }

    #[test]
    fn excerpts_and_carriers_round_trip() {
        // (file name, text, keep lines from..to of the marked output, carrier read)
        fn check(name: &str, text: &str, from: usize, to: usize, carrier: Carrier) {
            let id = 0xfeed_0000_0000_0001 ^ (from as u64) << 8;
            let marked = mark_text(text, name, &issue(id));
            let excerpt: String = marked
                .split_inclusive('\n')
                .skip(from)
                .take(to - from)
                .collect();
            let r = detect_text(&excerpt).unwrap_or_else(|| panic!("{name} {from}..{to}"));
            assert_eq!((r.mark_id, r.carrier), (MarkId(id), carrier), "{name}");
            assert!((r.agreement - 1.0).abs() < 1e-9);
        }
        let code = source(1000);
        check("a.rs", &code, 0, 1003, Carrier::Comment);
        check("a.rs", &code, 400, 500, Carrier::Comment);
        check(
            "a.rs",
            &code.replace('\n', "\r\n"),
            400,
            450,
            Carrier::Comment,
        );
        check("a.txt", &code, 123, 223, Carrier::ZeroWidth);
        check("a.txt", &code, 400, 410, Carrier::ZeroWidth);
        check(
            "a.txt",
            &code.replace('\n', "\r\n"),
            10,
            30,
            Carrier::ZeroWidth,
        );
        check("README", "#!/bin/sh\necho hi\n", 0, 6, Carrier::ZeroWidth);
    }

    #[test]
    fn a_byte_order_mark_stays_first() {
        for name in ["a.py", "a.rs", "notes.txt", "page.html"] {
            let marked = mark_text("\u{feff}x = 1\n", name, &issue(4));
            assert!(marked.starts_with('\u{feff}'), "{name}");
            assert_eq!(marked.matches('\u{feff}').count(), 1, "{name}");
        }
    }

    #[test]
    fn source_code_lines_are_never_changed() {
        // Every line of the original is in the marked copy, unchanged and in order.
        let code = source(300).replace('\n', "\r\n");
        let marked = mark_text(&code, "a.rs", &issue(11));
        let mut rest = marked.split_inclusive('\n');
        for line in code.split_inclusive('\n') {
            assert!(rest.any(|m| m == line), "{line:?}");
        }
        assert!(!marked.contains(" \r\n") && !marked.contains('\u{200B}'));
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
        let marked = mark_text(&source(50), "a.txt", &issue(5));
        let trimmed: String = marked
            .lines()
            .map(|l| format!("{}\n", l.trim_end_matches(['\u{200B}', '\u{200C}'])))
            .collect();
        let nine: String = marked.split_inclusive('\n').take(9).collect();
        for t in [&source(200), &trimmed, &nine, &String::new()] {
            assert_eq!(detect_text(t), None);
        }
        // Comments in source code survive editors that trim trailing white space.
        let code = mark_text(&source(100), "a.rs", &issue(5));
        let trimmed: String = code
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        assert_eq!(detect_text(&trimmed).map(|r| r.mark_id), Some(MarkId(5)));
    }
}
