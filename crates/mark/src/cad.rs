//! CAD exchange formats, marked where their specifications leave room and
//! nowhere else:
//!
//! - STEP (ISO 10303-21): comments (`/* … */`, allowed wherever white space
//!   is) on new lines right after `HEADER;`; `ISO-10303-21;` stays first and
//!   every keyword and entity is unchanged.
//! - DXF: 999 comment groups (code 999, then the comment line) before the
//!   first `0 SECTION`, which readers skip.
//! - STL: ASCII — the mark token appended to the `solid` line (the name);
//!   binary — bytes 54 to 80 of the 80-byte header (free text), every other
//!   byte and the triangle count unchanged.
//!
//! These formats are read by tools that may expect ASCII (older DXF code
//! pages, STEP's basic alphabet, the STL header): the recipient is written
//! with anything outside printable ASCII as `?`; the token is ASCII.

use crate::Issue;
use crate::source::{Lines, bare};

/// `s` in printable ASCII: anything else becomes `?`.
pub(crate) fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn skip_ws_and_comments(b: &[u8], mut i: usize) -> usize {
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if b.get(i..).is_some_and(|r| r.starts_with(b"/*")) {
            match b
                .get(i + 2..)
                .and_then(|r| r.windows(2).position(|w| w == b"*/"))
            {
                Some(p) => i += p + 4,
                None => return b.len(),
            }
        } else {
            return i;
        }
    }
}

/// The byte offset just after `HEADER;` of a STEP file, if it starts as one.
fn step_header_end(b: &[u8]) -> Option<usize> {
    let b0 = if b.starts_with("\u{feff}".as_bytes()) {
        3
    } else {
        0
    };
    let i = skip_ws_and_comments(b, b0);
    let i = i + b.get(i..)?.starts_with(b"ISO-10303-21;").then_some(13)?;
    let i = skip_ws_and_comments(b, i);
    b.get(i..)?.starts_with(b"HEADER;").then_some(i + 7)
}

/// Whether `content` is an ISO 10303-21 exchange structure.
pub(crate) fn is_step(content: &[u8]) -> bool {
    step_header_end(content).is_some()
}

/// Marks a STEP file: comment lines after `HEADER;`.
pub(crate) fn mark_step(text: &str, issue: &Issue) -> Option<String> {
    let end = step_header_end(text.as_bytes())?;
    let eol = Lines::new(text).eol;
    let comments: String = issue
        .lines()
        .iter()
        .map(|l| format!("/* {} */{eol}", ascii(l).replace("*/", "* /")))
        .collect();
    let rest = text.get(end..)?;
    // Right after the end of the `HEADER;` line when nothing follows it there.
    let line_end = rest
        .find('\n')
        .filter(|&p| rest.get(..p).is_some_and(|s| s.trim().is_empty()));
    let mut out = String::with_capacity(text.len() + comments.len() + 2);
    match line_end {
        Some(p) => {
            out.push_str(text.get(..end + p + 1)?);
            out.push_str(&comments);
            out.push_str(text.get(end + p + 1..)?);
        }
        None => {
            out.push_str(text.get(..end)?);
            out.push_str(eol);
            out.push_str(&comments);
            out.push_str(rest);
        }
    }
    Some(out)
}

/// Marks an ASCII DXF file: 999 comment groups before the first section.
pub(crate) fn mark_dxf(text: &str, issue: &Issue) -> Option<String> {
    let Lines { lines, eol } = Lines::new(text);
    // Group code / value pairs: leading 999 comments, then `0` / `SECTION`.
    let mut i = 0;
    while lines.get(i).map(|l| bare(l).trim()) == Some("999") {
        i += 2;
    }
    let code = lines
        .get(i)
        .map(|l| bare(l).trim().trim_start_matches('\u{feff}'));
    let value = lines.get(i + 1).map(|l| bare(l).trim());
    if code != Some("0") || value != Some("SECTION") {
        return None;
    }
    // Before the first group, keeping a byte-order mark first.
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let mut out = String::with_capacity(text.len() + 200);
    out.push_str(bom);
    for l in issue.lines() {
        out.push_str("999");
        out.push_str(eol);
        out.push_str(&ascii(&l));
        out.push_str(eol);
    }
    out.push_str(body);
    Some(out)
}

/// Where a binary STL header carries the token.
const STL_TOKEN_AT: usize = 54;

/// Whether `content` has the size a binary STL of its declared triangle count has.
pub(crate) fn is_binary_stl(content: &[u8]) -> bool {
    let Some(n) = content.get(80..84) else {
        return false;
    };
    let n = u64::from(u32::from_le_bytes([n[0], n[1], n[2], n[3]]));
    content.len() as u64 == 84 + 50 * n
}

/// Marks an STL file, binary (the header's last 26 bytes) or ASCII (the
/// `solid` line).
pub(crate) fn mark_stl(content: &[u8], issue: &Issue) -> Option<Vec<u8>> {
    let token = issue.mark_id.token();
    if is_binary_stl(content) {
        let mut out = content.to_vec();
        out.get_mut(STL_TOKEN_AT..STL_TOKEN_AT + token.len())?
            .copy_from_slice(token.as_bytes());
        return Some(out);
    }
    let text = std::str::from_utf8(content).ok()?;
    let first = text.lines().next()?;
    let body = text.trim_start();
    if !first.trim_start().starts_with("solid")
        || !body.contains("facet") && !body.contains("endsolid")
    {
        return None;
    }
    let end = bare(text.split_inclusive('\n').next()?).len();
    let mut out = String::with_capacity(text.len() + 30);
    out.push_str(text.get(..end)?);
    out.push(' ');
    out.push_str(&token);
    out.push_str(text.get(end..)?);
    Some(out.into_bytes())
}

/// The token in a binary STL header.
pub(crate) fn stl_header_token(content: &[u8]) -> Option<crate::MarkId> {
    if !is_binary_stl(content) {
        return None;
    }
    crate::MarkId::find_token(content.get(..80)?)
}
