//! E-mail messages (RFC 5322 with MIME): the addressing headers and the
//! text parts become the message's item; attachments (base64 or
//! quoted-printable) are decoded and expanded one level deeper, at
//! `message.eml!/attachment-name`. Multipart nesting is bounded.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{Extractor, decode_text, member_path};

/// How deep multiparts may nest inside one message.
const MAX_NEST: u32 = 16;

/// The headers copied into the message's text.
const TEXT_HEADERS: [&str; 7] = ["from", "to", "cc", "bcc", "reply-to", "subject", "date"];

const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Whether the bytes start like an RFC 5322 message.
pub(super) fn looks_like_mail(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(bytes.get(..2048).unwrap_or(bytes));
    let mut lines = head.lines();
    let first_is_header = lines.next().is_some_and(|l| header_name(l).is_some());
    let known = [
        "from",
        "to",
        "subject",
        "mime-version",
        "received",
        "message-id",
        "date",
        "return-path",
    ];
    let hits = head
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(header_name)
        .filter(|n| known.contains(&n.to_ascii_lowercase().as_str()))
        .count();
    first_is_header && hits >= 3
}

fn header_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(':')?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(name)
}

/// Expands a message.
pub(super) fn mail(x: &mut Extractor<'_>, path: &str, bytes: &[u8], depth: u32) {
    let mut m = Message {
        x,
        path,
        depth,
        text: String::new(),
        unnamed: 0,
    };
    m.part(bytes, 0);
    let text = std::mem::take(&mut m.text);
    x.item(path.to_owned(), text);
}

struct Message<'a, 'l> {
    x: &'a mut Extractor<'l>,
    path: &'a str,
    depth: u32,
    text: String,
    unnamed: usize,
}

impl Message<'_, '_> {
    fn part(&mut self, bytes: &[u8], nest: u32) {
        let (head, body) = split_head(bytes);
        let headers = parse_headers(&String::from_utf8_lossy(head));
        for (name, value) in &headers {
            if nest == 0 && TEXT_HEADERS.contains(&name.as_str()) {
                self.text.push_str(&format!("{name}: {value}\n"));
            }
        }
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        let (ctype, params) = split_params(get("content-type").unwrap_or("text/plain"));
        let encoding = get("content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        let (_, disposition) = split_params(get("content-disposition").unwrap_or(""));
        let filename = param(&disposition, "filename").or_else(|| param(&params, "name"));
        if let (true, Some(boundary)) = (
            ctype.starts_with("multipart/") && nest < MAX_NEST,
            param(&params, "boundary"),
        ) {
            for sub in split_multipart(body, &boundary) {
                self.part(sub, nest + 1);
            }
            return;
        }
        let data = match encoding.as_str() {
            "base64" => {
                let clean: Vec<u8> = body
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                B64.decode(clean).unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.to_vec(),
        };
        let is_text = ctype.starts_with("text/") || ctype.is_empty();
        if filename.is_none() && is_text {
            self.text.push_str(&decode_text(&data));
            self.text.push('\n');
            return;
        }
        let name = filename.unwrap_or_else(|| {
            self.unnamed += 1;
            let ext = if ctype == "message/rfc822" {
                ".eml"
            } else {
                ""
            };
            format!("attachment-{}{ext}", self.unnamed)
        });
        let mpath = member_path(self.path, &name);
        if self.x.account(&mpath, data.len() as u64) {
            self.x.visit(mpath, &data, self.depth + 1);
        }
    }
}

/// Splits a part into its header block and its body.
fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    for (i, w) in bytes.windows(2).enumerate() {
        if w == b"\n\n" {
            return (
                bytes.get(..i).unwrap_or_default(),
                bytes.get(i + 2..).unwrap_or_default(),
            );
        }
        if w == b"\n\r" && bytes.get(i + 2) == Some(&b'\n') {
            return (
                bytes.get(..i).unwrap_or_default(),
                bytes.get(i + 3..).unwrap_or_default(),
            );
        }
    }
    (bytes, &[])
}

/// Unfolds and splits header lines into lowercase names and values.
fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

/// Splits `type/subtype; k=v; …` into the lowercase type and its parameters.
fn split_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            )
        })
        .collect();
    (kind, params)
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

/// The parts between `--boundary` delimiter lines.
fn split_multipart<'b>(body: &'b [u8], boundary: &str) -> Vec<&'b [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.starts_with(delimiter.as_bytes()) {
            if let Some(s) = start {
                parts.push(body.get(s..offset).unwrap_or_default());
            }
            if trimmed.get(delimiter.len()..) == Some(b"--") {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    if let Some(s) = start {
        parts.push(body.get(s..).unwrap_or_default());
    }
    parts
}

/// Decodes quoted-printable (RFC 2045 §6.7), leniently.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (body.get(i + 1), body.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) => match (hex(h), hex(l)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_decodes() {
        let check = |input: &str, expected: &str| {
            assert_eq!(
                String::from_utf8_lossy(&quoted_printable(input.as_bytes())),
                expected
            );
        };
        check("caf=C3=A9", "café");
        check("soft=\r\nbreak", "softbreak");
        check("a=3Db", "a=b");
        check("bad=ZZ", "bad=ZZ");
    }

    #[test]
    fn mail_is_recognised_by_its_headers() {
        let check = |input: &str, expected: bool| {
            assert_eq!(looks_like_mail(input.as_bytes()), expected, "{input}")
        };
        check("From: a@b.c\nTo: d@e.f\nSubject: hi\n\nbody", true);
        check("key: value\nother: thing\n", false);
        check("just text", false);
    }
}
