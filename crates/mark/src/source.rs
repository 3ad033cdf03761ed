//! Source code and configuration: the mark written as comments in the file's
//! own comment syntax, never touching an existing line.
//!
//! - A banner (the recipient, the time and the mark token) after the lines
//!   that must stay first: a byte-order mark, a `#!` line, a Python/Ruby-style
//!   coding declaration, `<?php`, CSS `@charset`, an HTML doctype.
//! - For languages with a lexer below, one compact comment (`cm:` and the 80
//!   payload bits in 16 base-32 letters, [`compact`]) at most every
//!   [`SPACING`] lines, so that an excerpt of the file still traces. A compact
//!   comment goes only on its own new line just before an existing blank line
//!   whose start the lexer proves is outside every string, comment and
//!   heredoc, after a line that does not end in `\`. Whatever the lexer does
//!   not understand (a heredoc, a C++ raw string, a template literal with
//!   `${`, a line left inside a one-line string) ends body marks for the rest
//!   of the file, and a file the lexer ends inside a string gets the banner only.
//!
//! Lines keep their bytes and their end of line; inserted lines use the file's
//! own (`\r\n` when the file has any).

use crate::Issue;
use crate::id::{PAYLOAD_BITS, decode_payload, payload_bits};
use crate::text::CommentStyle;

/// Fewest lines of the original between two compact comments.
pub const SPACING: usize = 40;

/// Where a language's banner may not go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum First {
    /// Nothing but a `#!` line.
    Shebang,
    /// A `#!` line and a coding declaration in one of the first two lines (Python).
    Coding,
    /// `<?php` (the banner goes after it; a file not starting with it is not PHP code).
    Php,
    /// CSS `@charset "…";` must be the first bytes.
    Charset,
    /// An HTML doctype.
    Doctype,
    /// Dockerfile parser directives (`# syntax=…`, `# escape=…`), read only
    /// before any other comment.
    Directives,
    /// Ruby: `#!` and the leading magic comments (`frozen_string_literal`,
    /// `encoding`, …), which count only in the first comment section.
    Magic,
}

/// One string or comment form of a lexer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delim {
    pub open: &'static str,
    pub close: &'static str,
    /// `\` escapes the next byte (a newline too).
    pub escape: bool,
    /// May span lines; a one-line form still open at a line end confuses the lexer.
    pub multiline: bool,
    /// Inside this form, these end body marks (nesting the lexer does not follow).
    pub unsure_inside: &'static [&'static str],
}

const fn d(open: &'static str, close: &'static str, escape: bool, multiline: bool) -> Delim {
    Delim {
        open,
        close,
        escape,
        multiline,
        unsure_inside: &[],
    }
}

/// What a lexer must know of a language to prove a line start is outside
/// every string and comment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lex {
    /// Line comment openers.
    pub line: &'static [&'static str],
    /// `#` starts a comment only at the start of a word (shell).
    pub line_at_word_start: bool,
    /// Block comment (open, close, nests).
    pub block: Option<(&'static str, &'static str, bool)>,
    /// String forms, longest opener first.
    pub strings: &'static [Delim],
    /// `'x'` / `'\n'` is a character literal; any other `'` is a lifetime or label.
    pub char_literals: bool,
    /// Rust raw strings `r"…"`, `r#"…"#`, `br"…"`.
    pub rust_raw: bool,
    /// Outside strings and comments, these end body marks.
    pub unsure: &'static [&'static str],
    /// JavaScript regular expression literals (`/…/` after an operator or keyword).
    pub js_regex: bool,
    /// Shell `${…}`: skipped to its `}` on the same line; a quote inside ends body marks.
    pub shell_braces: bool,
}

/// A source language of the registry.
#[derive(Debug)]
pub(crate) struct Lang {
    pub comment: CommentStyle,
    pub first: First,
    /// `None`: the banner only.
    pub lex: Option<Lex>,
}

pub(crate) const C_LIKE_STRINGS: &[Delim] = &[d("\"", "\"", true, false)];

pub(crate) const C: Lex = Lex {
    line: &["//"],
    line_at_word_start: false,
    block: Some(("/*", "*/", false)),
    strings: C_LIKE_STRINGS,
    char_literals: true,
    rust_raw: false,
    // C++ raw strings R"x(…)x"; trigraphs are gone since C23/C++17.
    unsure: &["R\"", "??/"],
    js_regex: false,
    shell_braces: false,
};

pub(crate) const RUST: Lex = Lex {
    line: &["//"],
    line_at_word_start: false,
    block: Some(("/*", "*/", true)),
    strings: &[d("\"", "\"", true, true)],
    char_literals: true,
    rust_raw: true,
    unsure: &[],
    js_regex: false,
    shell_braces: false,
};

pub(crate) const JAVA: Lex = Lex {
    line: &["//"],
    line_at_word_start: false,
    block: Some(("/*", "*/", false)),
    strings: &[
        d("\"\"\"", "\"\"\"", true, true),
        d("\"", "\"", true, false),
    ],
    char_literals: true,
    rust_raw: false,
    unsure: &[],
    js_regex: false,
    shell_braces: false,
};

pub(crate) const JS: Lex = Lex {
    line: &["//"],
    line_at_word_start: false,
    block: Some(("/*", "*/", false)),
    strings: &[
        Delim {
            open: "`",
            close: "`",
            escape: true,
            multiline: true,
            unsure_inside: &["${"],
        },
        d("\"", "\"", true, false),
        d("'", "'", true, false),
    ],
    char_literals: false,
    rust_raw: false,
    // A regular expression literal may hold any quote: `/` outside a comment
    // is not followed, so a quote in a regex leaves a one-line string open at
    // the line end, which ends body marks.
    unsure: &[],
    js_regex: true,
    shell_braces: false,
};

pub(crate) const PYTHON: Lex = Lex {
    line: &["#"],
    line_at_word_start: false,
    block: None,
    strings: &[
        d("\"\"\"", "\"\"\"", true, true),
        d("'''", "'''", true, true),
        d("\"", "\"", true, false),
        d("'", "'", true, false),
    ],
    char_literals: false,
    rust_raw: false,
    unsure: &[],
    js_regex: false,
    shell_braces: false,
};

pub(crate) const SHELL: Lex = Lex {
    line: &["#"],
    line_at_word_start: true,
    block: None,
    strings: &[
        Delim {
            open: "\"",
            close: "\"",
            escape: true,
            multiline: true,
            unsure_inside: &["$(", "`"],
            // `${…}` inside is skipped by `shell_braces`.
        },
        d("'", "'", false, true),
        d("`", "`", true, true),
    ],
    char_literals: false,
    rust_raw: false,
    // Heredocs, `$'…'` (escapes in single quotes), `$(` (nested quoting).
    unsure: &["<<", "$'", "$("],
    js_regex: false,
    shell_braces: true,
};

pub(crate) const SQL: Lex = Lex {
    line: &["--"],
    line_at_word_start: false,
    block: Some(("/*", "*/", true)),
    // '' inside a string closes and reopens it: the state at a line start is the same.
    strings: &[
        Delim {
            open: "'",
            close: "'",
            escape: false,
            multiline: true,
            unsure_inside: &["\\"],
        },
        d("\"", "\"", false, true),
    ],
    char_literals: false,
    rust_raw: false,
    // PostgreSQL dollar quoting, MySQL `#` comments, backslash escapes and
    // backquoted names.
    unsure: &["$", "#", "\\", "`"],
    js_regex: false,
    shell_braces: false,
};

pub(crate) const CSS: Lex = Lex {
    line: &[],
    line_at_word_start: false,
    block: Some(("/*", "*/", false)),
    strings: &[d("\"", "\"", true, false), d("'", "'", true, false)],
    char_literals: false,
    rust_raw: false,
    unsure: &[],
    js_regex: false,
    shell_braces: false,
};

/// Base-32 letters of the compact form (RFC 4648, lower case).
const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// The tag before a compact mark.
pub const COMPACT_TAG: &str = "cm:";

/// The compact form of a mark id: `cm:` and the 80 payload bits (id and
/// CRC-16) in 16 base-32 letters. Do not change: issued marks depend on it.
pub fn compact(id: crate::MarkId) -> String {
    let bits = payload_bits(id);
    let mut s = String::from(COMPACT_TAG);
    for c in bits.chunks(5) {
        let v = c.iter().fold(0usize, |v, &b| (v << 1) | usize::from(b));
        s.push(char::from(B32.get(v).copied().unwrap_or(b'a')));
    }
    s
}

/// Every valid compact mark in `text` (CRC-16 checked), in order.
pub fn find_compact(text: &[u8]) -> Vec<crate::MarkId> {
    let tag = COMPACT_TAG.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text
        .get(from..)
        .and_then(|h| h.windows(tag.len()).position(|w| w == tag))
    {
        let start = from + pos + tag.len();
        from = start;
        let Some(body) = text.get(start..start + 16) else {
            break;
        };
        if text
            .get(start + 16)
            .is_some_and(|b| b.is_ascii_alphanumeric())
        {
            continue;
        }
        let mut bits = Vec::with_capacity(PAYLOAD_BITS);
        let mut ok = true;
        for &c in body {
            match B32.iter().position(|&x| x == c) {
                Some(v) => bits.extend((0..5).rev().map(|i| (v >> i) & 1 == 1)),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if let Some(id) = ok.then(|| decode_payload(&bits)).flatten() {
            out.push(id);
        }
    }
    out
}

/// Text safe inside a comment of `style`: no line breaks or other control or
/// bidirectional-override characters, no closing delimiter, no trailing `\`.
pub(crate) fn comment_safe(s: &str, style: CommentStyle) -> String {
    let mut t: String = s
        .chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{feff}')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
                || ('\u{200b}'..='\u{200f}').contains(&c)
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    if let CommentStyle::Block(open, close) = style {
        for delim in [open, close, "--"] {
            // `--` is not allowed inside XML comments; a nested opener would
            // nest in languages with nesting comments.
            while t.contains(delim) {
                let mut spaced = String::new();
                let mut cs = delim.chars();
                if let Some(c) = cs.next() {
                    spaced.push(c);
                    spaced.push(' ');
                    spaced.extend(cs);
                }
                t = t.replace(delim, &spaced);
            }
        }
    }
    while t.ends_with('\\') || t.ends_with('-') && matches!(style, CommentStyle::Block("<!--", _)) {
        t.pop();
    }
    t
}

/// One comment line in `style` (line or block).
pub(crate) fn comment_line(style: CommentStyle, body: &str) -> String {
    let body = comment_safe(body, style);
    match style {
        CommentStyle::Line(p) => format!("{p} {body}"),
        CommentStyle::Block(open, close) => format!("{open} {body} {close}"),
        CommentStyle::Plain | CommentStyle::None => body,
    }
}

/// A file split into lines that keep their own end of line.
pub(crate) struct Lines<'a> {
    pub lines: Vec<&'a str>,
    pub eol: &'static str,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Self {
            lines: text.split_inclusive('\n').collect(),
            eol,
        }
    }
}

/// The content of a line without its end of line.
pub(crate) fn bare(line: &str) -> &str {
    let l = line.strip_suffix('\n').unwrap_or(line);
    l.strip_suffix('\r').unwrap_or(l)
}

/// How many lines at the top must stay first.
fn keep_first(lines: &[&str], first: First) -> usize {
    let mut at = 0;
    let line = |i: usize| lines.get(i).map(|l| bare(l).trim_start_matches('\u{feff}'));
    if line(0).is_some_and(|l| l.starts_with("#!") && !l.starts_with("#![")) {
        at = 1;
    }
    match first {
        First::Shebang => {}
        First::Coding => {
            // PEP 263: a coding declaration in line 1 or 2.
            // CPython reads line 2 only when line 1 is a comment or blank.
            let start = at;
            for i in start..2 {
                let Some(l) = line(i) else { break };
                let l = l.trim_start();
                if l.starts_with('#') && l.contains("coding") {
                    at = i + 1;
                } else if !(l.is_empty() || l.starts_with('#')) {
                    break;
                }
            }
        }
        First::Directives => {
            while line(at).is_some_and(|l| {
                l.strip_prefix('#').is_some_and(|d| {
                    d.split_once('=').is_some_and(|(k, _)| {
                        let k = k.trim();
                        !k.is_empty()
                            && k.chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    })
                })
            }) {
                at += 1;
            }
        }
        First::Magic => {
            while line(at).is_some_and(|l| {
                l.starts_with('#')
                    && [
                        "coding",
                        "frozen_string_literal",
                        "warn_indent",
                        "shareable_constant_value",
                        "warn_past_scope",
                        "typed:",
                    ]
                    .iter()
                    .any(|k| l.contains(k))
            }) {
                at += 1;
            }
        }
        First::Php => {
            if line(at).is_some_and(|l| l.trim_start().starts_with("<?php")) {
                at += 1;
            }
        }
        First::Charset => {
            if line(0).is_some_and(|l| l.starts_with("@charset")) {
                at = 1;
            }
        }
        First::Doctype => {
            // XHTML: an XML declaration must stay first. Each is kept only
            // when it is alone on its line: after it the banner could land in
            // a `<script>` or `<textarea>`; before it, a comment is allowed.
            let alone = |l: &str| l.trim_end().ends_with('>') && l.matches('>').count() == 1;
            if line(at).is_some_and(|l| l.starts_with("<?xml") && alone(l)) {
                at += 1;
            }
            if line(at).is_some_and(|l| {
                l.trim_start().to_ascii_lowercase().starts_with("<!doctype") && alone(l)
            }) {
                at += 1;
            }
        }
    }
    at
}

/// Whether `lang` can hold a mark in `text` (PHP must open with a `<?php`
/// line that stays in PHP).
pub(crate) fn accepts(lang: &Lang, text: &str) -> bool {
    if lang.first == First::Php {
        let lines = Lines::new(text);
        let at = keep_first(&lines.lines, First::Shebang);
        // `<?php … ?>` on the first line leaves PHP: a comment after it would
        // be output; a string, heredoc or comment opened there would hold it.
        return lines.lines.get(at).is_some_and(|l| {
            let l = bare(l).trim_start_matches('\u{feff}');
            l.strip_prefix("<?php").is_some_and(|rest| {
                !["?>", "<<<", "\"", "'", "`", "/*", "#["]
                    .iter()
                    .any(|t| rest.contains(t))
            })
        });
    }
    true
}

/// Marks `text` of language `lang`: the banner and the compact comments.
pub(crate) fn mark_source(text: &str, lang: &Lang, issue: &Issue) -> String {
    // A byte-order mark stays the first bytes.
    if let Some(rest) = text.strip_prefix('\u{feff}') {
        return format!("\u{feff}{}", mark_source(rest, lang, issue));
    }
    let Lines { lines, eol } = Lines::new(text);
    let at = keep_first(&lines, lang.first);
    let mut banner: Vec<String> = issue
        .lines()
        .iter()
        .map(|l| comment_line(lang.comment, l))
        .collect();
    banner.push(String::new());
    let points = lang
        .lex
        .as_ref()
        .map(|lex| safe_points(&lines, lex))
        .unwrap_or_default();
    let compact_line = comment_line(lang.comment, &compact(issue.mark_id));
    let mut out = String::with_capacity(text.len() + 400);
    let mut last = at;
    let push_banner = |out: &mut String| {
        for b in &banner {
            out.push_str(b);
            out.push_str(eol);
        }
    };
    if lines.is_empty() {
        push_banner(&mut out);
        return out;
    }
    for (i, line) in lines.iter().enumerate() {
        if i == at {
            push_banner(&mut out);
        } else if i > at && i >= last + SPACING && points.get(i).copied().unwrap_or(false) {
            out.push_str(&compact_line);
            out.push_str(eol);
            last = i;
        }
        out.push_str(line);
    }
    if at == lines.len() {
        // The file is only its first lines (a shebang): the banner goes last.
        if !out.ends_with('\n') {
            out.push_str(eol);
        }
        push_banner(&mut out);
    }
    out
}

/// For each line, whether a compact comment may go on a new line just
/// before it: the line is blank, its start is outside every string and
/// comment, the line before does not end in `\`, and the lexer has not met
/// anything it does not follow. Empty when the file ends inside a string.
pub(crate) fn safe_points(lines: &[&str], lex: &Lex) -> Vec<bool> {
    let mut lexer = Lexer::new(lex);
    let mut out = Vec::with_capacity(lines.len());
    let mut prev_backslash = false;
    for line in lines {
        let b = bare(line);
        let blank = b.trim().is_empty();
        out.push(blank && lexer.clean() && !prev_backslash);
        lexer.feed(line.as_bytes());
        prev_backslash = b.ends_with('\\');
    }
    if !matches!(lexer.state, State::Code) {
        return Vec::new();
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Block(u32),
    Str(usize),
    RawRust(usize),
}

struct Lexer<'l> {
    lex: &'l Lex,
    state: State,
    /// Met something it does not follow: no more safe points.
    lost: bool,
}

impl<'l> Lexer<'l> {
    fn new(lex: &'l Lex) -> Self {
        Self {
            lex,
            state: State::Code,
            lost: false,
        }
    }

    fn clean(&self) -> bool {
        !self.lost && self.state == State::Code
    }

    /// Feeds one line, its end of line included.
    fn feed(&mut self, line: &[u8]) {
        let lex = self.lex;
        let mut i = 0;
        let at = |i: usize, s: &str| line.get(i..).is_some_and(|r| r.starts_with(s.as_bytes()));
        while i < line.len() {
            let c = line.get(i).copied().unwrap_or(0);
            match self.state {
                State::Code => {
                    if lex.line.iter().any(|p| at(i, p))
                        && (!lex.line_at_word_start
                            || i == 0
                            || line
                                .get(i - 1)
                                .is_some_and(|b| b.is_ascii_whitespace() || b";|&(".contains(b)))
                    {
                        // A line comment ending in `\` goes on in C and C++.
                        if bare(std::str::from_utf8(line).unwrap_or_default()).ends_with('\\') {
                            self.lost = true;
                        }
                        return;
                    }
                    if lex.shell_braces && c == b'\\' {
                        // Shell: `\'` outside quotes is a quote character, not a string.
                        i += 2;
                        continue;
                    }
                    if let Some((open, _, _)) = lex.block
                        && at(i, open)
                    {
                        self.state = State::Block(1);
                        i += open.len();
                        continue;
                    }
                    if lex.unsure.iter().any(|u| at(i, u)) {
                        self.lost = true;
                    }
                    if lex.shell_braces && at(i, "${") {
                        match brace_span(line, i) {
                            Some(len) => i += len,
                            None => {
                                self.lost = true;
                                i += 2;
                            }
                        }
                        continue;
                    }
                    if lex.js_regex && c == b'/' && regex_may_start(line, i) {
                        match regex_len(line, i) {
                            Some(len) => i += len,
                            None => {
                                self.lost = true;
                                i += 1;
                            }
                        }
                        continue;
                    }
                    if lex.rust_raw
                        && let Some((hashes, len)) = rust_raw_open(line, i)
                    {
                        self.state = State::RawRust(hashes);
                        i += len;
                        continue;
                    }
                    if let Some(k) = lex.strings.iter().position(|s| at(i, s.open)) {
                        self.state = State::Str(k);
                        i += lex.strings.get(k).map_or(1, |s| s.open.len());
                        continue;
                    }
                    if lex.char_literals && c == b'\'' {
                        i += char_literal_len(line, i);
                        continue;
                    }
                    i += 1;
                }
                State::Block(depth) => {
                    let Some((open, close, nests)) = lex.block else {
                        self.state = State::Code;
                        continue;
                    };
                    if at(i, close) {
                        self.state = if depth <= 1 {
                            State::Code
                        } else {
                            State::Block(depth - 1)
                        };
                        i += close.len();
                    } else if nests && at(i, open) {
                        self.state = State::Block(depth + 1);
                        i += open.len();
                    } else {
                        i += 1;
                    }
                }
                State::Str(k) => {
                    let Some(s) = lex.strings.get(k) else {
                        self.state = State::Code;
                        continue;
                    };
                    if lex.shell_braces && at(i, "${") {
                        match brace_span(line, i) {
                            Some(len) => i += len,
                            None => {
                                self.lost = true;
                                i += 2;
                            }
                        }
                        continue;
                    }
                    if s.unsure_inside.iter().any(|u| at(i, u)) {
                        self.lost = true;
                    }
                    if s.escape && c == b'\\' {
                        i += 2;
                    } else if at(i, s.close) {
                        self.state = State::Code;
                        i += s.close.len();
                    } else {
                        if c == b'\n' && !s.multiline {
                            // A one-line string still open at the end of a line:
                            // something this lexer does not follow.
                            self.lost = true;
                            self.state = State::Code;
                        }
                        i += 1;
                    }
                }
                State::RawRust(hashes) => {
                    if c == b'"' && (1..=hashes).all(|h| line.get(i + h) == Some(&b'#')) {
                        self.state = State::Code;
                        i += 1 + hashes;
                    } else {
                        i += 1;
                    }
                }
            }
        }
    }
}

/// A Rust raw string opening at `i` (`r"`, `r#"`, `br##"`, not inside an
/// identifier): the number of `#` and the opener's length.
fn rust_raw_open(line: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0
        && line
            .get(i - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return None;
    }
    let mut j = i;
    if line.get(j) == Some(&b'b') || line.get(j) == Some(&b'c') {
        j += 1;
    }
    if line.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = line.get(j..)?.iter().take_while(|&&b| b == b'#').count();
    j += hashes;
    (line.get(j) == Some(&b'"')).then_some((hashes, j + 1 - i))
}

/// The length of a character literal at `i` (`'x'`, `'\n'`, `'\u{1F600}'`,
/// a multi-byte character), or 1 for a lifetime, label or C++ digit separator.
fn char_literal_len(line: &[u8], i: usize) -> usize {
    let rest = line.get(i + 1..).unwrap_or_default();
    if rest.first() == Some(&b'\\') {
        // An escape: up to the closing quote within a few bytes.
        if let Some(p) = rest.iter().skip(2).take(12).position(|&b| b == b'\'') {
            return p + 4;
        }
        return 1;
    }
    // One character (1–4 bytes of UTF-8) then `'`.
    let n = match rest.first() {
        Some(b) if *b < 0x80 => 1,
        Some(b) if *b >= 0xf0 => 4,
        Some(b) if *b >= 0xe0 => 3,
        Some(_) => 2,
        None => return 1,
    };
    if rest.get(n) == Some(&b'\'') && rest.first() != Some(&b'\'') {
        n + 2
    } else {
        1
    }
}

/// A shell `${…}` at `i` up to its `}` on the same line, if nothing inside
/// quotes or nests (`${x#"p"}`, `${x:-$(…)}`, `${a[${i}]}` are not followed).
fn brace_span(line: &[u8], i: usize) -> Option<usize> {
    let rest = line.get(i + 2..)?;
    let end = rest.iter().position(|&b| b == b'}')?;
    let inside = rest.get(..end)?;
    (!inside.iter().any(|b| b"'\"`${\\\n".contains(b))).then_some(end + 3)
}

/// Whether a `/` at `i` (not `//` or `/*`) starts a JavaScript regular
/// expression: after an operator, an opening bracket, a line start or a
/// keyword that takes an expression.
fn regex_may_start(line: &[u8], i: usize) -> bool {
    if matches!(line.get(i + 1), Some(b'/' | b'*')) {
        return false;
    }
    let before = line.get(..i).unwrap_or_default();
    let trimmed: &[u8] = {
        let end = before
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        before.get(..end).unwrap_or_default()
    };
    let Some(&last) = trimmed.last() else {
        return true;
    };
    if b"(,=:[!&|?{};+-*%<>~^".contains(&last) {
        return true;
    }
    let word_start = trimmed
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$'))
        .map_or(0, |p| p + 1);
    let word = trimmed.get(word_start..).unwrap_or_default();
    [
        &b"return"[..],
        b"typeof",
        b"case",
        b"do",
        b"else",
        b"in",
        b"of",
        b"void",
        b"yield",
        b"await",
        b"delete",
        b"throw",
        b"new",
    ]
    .contains(&word)
}

/// The length of a regular expression literal at `i` (to its closing `/`
/// outside a class, on the same line), if it closes.
fn regex_len(line: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut class = false;
    while let Some(&b) = line.get(j) {
        match b {
            b'\\' => j += 1,
            b'\n' | b'\r' => return None,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => return Some(j + 1 - i),
            _ => {}
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MarkId;

    /// The lines before which the lexer allows a compact comment.
    fn points(lex: &Lex, text: &str) -> Vec<usize> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        safe_points(&lines, lex)
            .iter()
            .enumerate()
            .filter_map(|(i, &ok)| ok.then_some(i))
            .collect()
    }

    #[test]
    fn compact_marks_go_only_where_the_lexer_proves_code() {
        // (case, lexer, text, lines a compact comment may go before)
        let cases: &[(&str, &Lex, &str, &[usize])] = &[
            (
                "python docstring with blank lines",
                &PYTHON,
                "\"\"\"a\n\nb\"\"\"\nx = 1\n\ny = 2\n",
                &[4],
            ),
            (
                "python one-line string continued by \\",
                &PYTHON,
                "s = 'a\\\nb'\n\nx\n",
                &[2],
            ),
            (
                "file ending inside a string",
                &PYTHON,
                "x = 1\n\ny = \"\"\"\n",
                &[],
            ),
            (
                "rust raw string with hashes",
                &RUST,
                "const A: &str = r#\"a \"q\"\n\n\"#;\n\nfn f() {}\n",
                &[3],
            ),
            (
                "rust lifetimes are not char literals",
                &RUST,
                "fn f<'a>(x: &'a str) {}\n\nfn g() {}\n",
                &[1],
            ),
            (
                "rust char literal quote",
                &RUST,
                "const Q: char = '\"';\n\nfn g() {}\n",
                &[1],
            ),
            (
                "rust nested block comments",
                &RUST,
                "/* a /* b */\n\n*/\n\nfn f() {}\n",
                &[3],
            ),
            (
                "rust multi-line string",
                &RUST,
                "const S: &str = \"a\n\nb\";\n\nfn f() {}\n",
                &[3],
            ),
            (
                "c macro continuation",
                &C,
                "#define X \\\n\nint y;\n\nint z;\n",
                &[3],
            ),
            (
                "c one-line string left open",
                &C,
                "int x;\n\nchar *s = \"abc\n\nint y;\n",
                &[1],
            ),
            (
                "c++ raw string ends body marks",
                &C,
                "int a;\n\nconst char *r = R\"(x\n\n)\";\n\nint b;\n",
                &[1],
            ),
            (
                "c++ digit separators",
                &C,
                "long m = 1'000'000;\n\nint b;\n",
                &[1],
            ),
            (
                "java text block",
                &JAVA,
                "String s = \"\"\"\n\n  x\n\"\"\";\n\nint b;\n",
                &[4],
            ),
            (
                "js template with a substitution",
                &JS,
                "let z;\n\nlet a = `${x}\n\n`;\n\nlet b;\n",
                &[1],
            ),
            (
                "js template without one",
                &JS,
                "let a = `x\n\n`;\n\nlet b;\n",
                &[3],
            ),
            (
                "js regex holding a quote",
                &JS,
                "const r = /\"'`/g;\n\nlet b = 1;\n",
                &[1],
            ),
            (
                "js division is no regex",
                &JS,
                "let a = b / c; let s = \"/\";\n\nlet d;\n",
                &[1],
            ),
            (
                "js regex after return",
                &JS,
                "function f() { return /'/; }\n\nlet d;\n",
                &[1],
            ),
            (
                "shell heredoc ends body marks",
                &SHELL,
                "a=1\n\ncat <<EOF\n\nEOF\n\nb=2\n",
                &[1],
            ),
            (
                "shell # inside a word",
                &SHELL,
                "echo a#b 'x\n\ny'\n\necho\n",
                &[3],
            ),
            (
                "shell ${#var}",
                &SHELL,
                "echo ${#x} 'y\n\nz'\n\necho\n",
                &[3],
            ),
            (
                "shell quoted braces",
                &SHELL,
                "echo \"${x}\"\n\necho\n",
                &[1],
            ),
            (
                "shell quotes inside braces",
                &SHELL,
                "echo \"${x#\"p\"}\"\n\necho\n",
                &[],
            ),
            (
                "sql dollar quoting ends body marks",
                &SQL,
                "select 1;\n\ncreate function f() returns int as $$\n\n$$;\n\nselect 2;\n",
                &[1],
            ),
            (
                "sql multi-line string",
                &SQL,
                "insert into t values ('a\n\n''b');\n\nselect 1;\n",
                &[3],
            ),
            (
                "c line comment continued by a backslash",
                &C,
                "// note \\\nchar *s = \"x;\n\nint b;\n",
                &[],
            ),
            (
                "shell escaped quote outside quotes",
                &SHELL,
                "echo \\' 'a\n\nb'\n\necho\n",
                &[3],
            ),
            (
                "sql backquoted names",
                &SQL,
                "select 1;\n\nselect `a'b` from t;\n\nselect 2;\n",
                &[],
            ),
            (
                "css string with a comment opener",
                &CSS,
                "a { content: \"/*\"; }\n\nb {}\n",
                &[1],
            ),
        ];
        for (case, lex, text, want) in cases {
            assert_eq!(points(lex, text), *want, "{case}");
        }
    }

    #[test]
    fn banners_go_after_the_lines_that_must_stay_first() {
        // (case, rule, text, lines kept before the banner)
        let cases: &[(&str, First, &str, usize)] = &[
            ("shebang", First::Shebang, "#!/bin/sh\necho\n", 1),
            (
                "rust inner attribute is no shebang",
                First::Shebang,
                "#![allow(x)]\nfn f() {}\n",
                0,
            ),
            (
                "python coding line 1",
                First::Coding,
                "# -*- coding: latin-1 -*-\nx = 1\n",
                1,
            ),
            (
                "python shebang and coding",
                First::Coding,
                "#!/usr/bin/python\n# coding=utf-8\nx = 1\n",
                2,
            ),
            (
                "python without either",
                First::Coding,
                "x = 1\n# coding: no\n",
                0,
            ),
            (
                "html doctype sharing its line",
                First::Doctype,
                "<!DOCTYPE html><script>\nlet a = 1;\n</script>\n",
                0,
            ),
            (
                "dockerfile parser directives",
                First::Directives,
                "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n",
                2,
            ),
            ("php", First::Php, "<?php\necho 1;\n", 1),
            (
                "css charset",
                First::Charset,
                "@charset \"UTF-8\";\na {}\n",
                1,
            ),
            (
                "html doctype",
                First::Doctype,
                "<!DOCTYPE html>\n<html>\n",
                1,
            ),
            (
                "xhtml declaration and doctype",
                First::Doctype,
                "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html>\n",
                2,
            ),
            (
                "byte-order mark and shebang",
                First::Shebang,
                "\u{feff}#!/bin/sh\necho\n",
                1,
            ),
        ];
        for (case, first, text, want) in cases {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(keep_first(&lines, *first), *want, "{case}");
        }
    }

    #[test]
    fn compact_form_round_trips_and_rejects_a_bad_check() {
        for id in [0u64, 7, 0x0123_4567_89ab_cdef, u64::MAX] {
            let c = compact(MarkId(id));
            assert_eq!(c.len(), COMPACT_TAG.len() + 16);
            assert_eq!(
                find_compact(format!("# {c}\n").as_bytes()),
                vec![MarkId(id)]
            );
            let mut bad = c.clone().into_bytes();
            let last = bad.len() - 1;
            bad[last] = if bad[last] == b'a' { b'b' } else { b'a' };
            assert!(find_compact(&bad).is_empty(), "{id:x}");
            // Glued to more letters it is not a compact mark.
            assert!(find_compact(format!("{c}x").as_bytes()).is_empty());
        }
    }

    #[test]
    fn comment_text_cannot_close_or_break_its_comment() {
        // (style, hostile text) → no closing delimiter, no line break, no trailing `\`.
        let cases = [
            (CommentStyle::Block("/*", "*/"), "a */ b /* c\nd"),
            (CommentStyle::Block("<!--", "-->"), "x -- y --> z-"),
            (CommentStyle::Line("//"), "name \\"),
            (CommentStyle::Line("#"), "a\rb\u{2028}c\u{202e}d"),
        ];
        for (style, text) in cases {
            let line = comment_line(style, text);
            let inner = match style {
                CommentStyle::Block(o, c) => {
                    let t = line
                        .strip_prefix(o)
                        .and_then(|l| l.strip_suffix(c))
                        .unwrap();
                    assert!(!t.contains(c) && !t.contains(o), "{line}");
                    if o == "<!--" {
                        assert!(!t.contains("--") && !t.trim_end().ends_with('-'), "{line}");
                    }
                    t.to_owned()
                }
                _ => line.clone(),
            };
            assert!(
                !inner
                    .chars()
                    .any(|c| c.is_control() || ('\u{2028}'..='\u{202e}').contains(&c)),
                "{line:?}"
            );
            assert!(!line.ends_with('\\'), "{line}");
        }
    }
}
