//! XML and SVG: one comment holding the banner. XML documents get it after
//! the prolog (XML declaration, comments, processing instructions, doctype
//! with its internal subset), just before the root element — a comment there
//! is allowed by the grammar (`Misc`) and adds nothing to the root's content;
//! SVG gets it just inside the root element, after its start tag. The
//! comment holds no `--`; a document whose declaration names an encoding
//! other than UTF-8 gets an ASCII comment.

use crate::Issue;
use crate::source::{Lines, comment_safe};
use crate::text::CommentStyle;

/// The root element's start tag.
pub(crate) struct Root {
    /// Byte offset of its `<`.
    pub start: usize,
    /// Byte offset just after its `>`.
    pub end: usize,
    /// `<svg …>` (any prefix).
    pub is_svg: bool,
    /// `<x … />`.
    pub empty: bool,
    /// The declaration names an encoding other than UTF-8.
    pub legacy_encoding: bool,
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| from + p)
}

/// The end of a tag-like construct starting at `i`, skipping quoted values
/// (and, for a doctype, its `[ … ]` internal subset).
fn tag_end(b: &[u8], mut i: usize, subset: bool) -> Option<usize> {
    let mut quote = None;
    let mut depth = 0u32;
    while let Some(&c) = b.get(i) {
        // A comment in the internal subset may hold quotes and brackets.
        if subset && quote.is_none() && b.get(i..).is_some_and(|r| r.starts_with(b"<!--")) {
            i = find(b, i + 4, b"-->")? + 3;
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'[') if subset => depth += 1,
            (None, b']') if subset => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Finds the root element after a well-formed-looking prolog.
pub(crate) fn root(text: &str) -> Option<Root> {
    let b = text.as_bytes();
    let mut i = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut legacy_encoding = false;
    let mut seen_decl = false;
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = b.get(i..)?;
        if rest.starts_with(b"<?xml")
            && !seen_decl
            && rest.get(5).is_some_and(u8::is_ascii_whitespace)
        {
            let end = find(b, i, b"?>")? + 2;
            let decl = text.get(i..end)?.to_ascii_lowercase();
            if let Some(p) = decl.find("encoding") {
                let v = decl.get(p + 8..).unwrap_or_default();
                let v = v.trim_start().trim_start_matches('=').trim_start();
                let v = v.trim_start_matches(['"', '\'']);
                legacy_encoding = !(v.starts_with("utf-8") || v.starts_with("utf8"));
            }
            seen_decl = true;
            i = end;
        } else if rest.starts_with(b"<?") {
            i = find(b, i, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i = find(b, i + 4, b"-->")? + 3;
        } else if rest.starts_with(b"<!DOCTYPE") {
            i = tag_end(b, i, true)?;
        } else if rest.first() == Some(&b'<')
            && rest
                .get(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b':')
        {
            let end = tag_end(b, i, false)?;
            let tag = text.get(i + 1..end - 1)?;
            let name = tag
                .split(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
                .next()?;
            let local = name.rsplit(':').next().unwrap_or(name);
            return Some(Root {
                start: i,
                end,
                is_svg: local == "svg",
                empty: tag.ends_with('/'),
                legacy_encoding,
            });
        } else {
            return None;
        }
    }
}

/// Marks an XML document (`svg`: inside an SVG root element).
pub(crate) fn mark_xml(text: &str, issue: &Issue, svg: bool) -> Option<String> {
    let r = root(text)?;
    if svg && !r.is_svg {
        return None;
    }
    let eol = Lines::new(text).eol;
    let lines = issue.lines();
    let body = lines
        .iter()
        .map(|l| {
            let s = comment_safe(l, CommentStyle::Block("<!--", "-->"));
            if r.legacy_encoding {
                crate::cad::ascii(&s)
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let comment = format!("<!-- {body} -->");
    let b = text.as_bytes();
    // Inside the root after its start tag (SVG, not an empty element), else before it.
    let (at, line_start) = if svg && !r.empty {
        let nl = text.get(r.end..)?.find('\n');
        match nl.filter(|&p| {
            text.get(r.end..r.end + p)
                .is_some_and(|s| s.trim().is_empty())
        }) {
            Some(p) => (r.end + p + 1, true),
            None => (r.end, false),
        }
    } else {
        let line_start = r.start == 0 || b.get(r.start - 1) == Some(&b'\n');
        (r.start, line_start)
    };
    let mut out = String::with_capacity(text.len() + comment.len() + 2);
    out.push_str(text.get(..at)?);
    out.push_str(&comment);
    if line_start {
        out.push_str(eol);
    }
    out.push_str(text.get(at..)?);
    Some(out)
}
