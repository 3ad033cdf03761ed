//! Percent-encoding of room-relative paths and ids for use inside request URLs:
//! each segment is encoded on its own and `/` between segments is kept. Segments
//! that a URL parser would collapse (`.`, `..`, empty) are refused rather than sent.

use crate::ClientError;

/// Encode a room-relative path (`reports/q1 draft.pdf` → `reports/q1%20draft.pdf`).
/// One leading `/` is tolerated; empty, `.` and `..` segments are refused.
pub fn encode_path(path: &str) -> Result<String, ClientError> {
    let invalid = |reason| ClientError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    let relative = path.strip_prefix('/').unwrap_or(path);
    if relative.is_empty() {
        return Err(invalid("the path is empty"));
    }
    let mut segments = Vec::new();
    for segment in relative.split('/') {
        match segment {
            "" => return Err(invalid("the path has an empty segment")),
            "." | ".." => return Err(invalid("`.` and `..` segments are not allowed")),
            _ => segments.push(encode_segment(segment)),
        }
    }
    Ok(segments.join("/"))
}

/// Encode one path segment: RFC 3986 unreserved characters stay, every other byte
/// of the UTF-8 encoding becomes `%XX` (upper-case hex).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push_str(&hex::encode_upper([byte]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let got = encode_path(input).ok();
        assert_eq!(got.as_deref(), expected, "input `{input}`");
    }

    #[test]
    fn encode_path_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("a.txt", Some("a.txt")),
            ("/a.txt", Some("a.txt")),
            (
                "dir/sub/file-1_v2~.tar.gz",
                Some("dir/sub/file-1_v2~.tar.gz"),
            ),
            ("q1 draft.pdf", Some("q1%20draft.pdf")),
            ("a?b#c%d", Some("a%3Fb%23c%25d")),
            ("plus+and&eq=;", Some("plus%2Band%26eq%3D%3B")),
            ("back\\slash", Some("back%5Cslash")),
            ("résumé.txt", Some("r%C3%A9sum%C3%A9.txt")),
            ("日本/x", Some("%E6%97%A5%E6%9C%AC/x")),
            ("..hidden/.x", Some("..hidden/.x")),
            ("", None),
            ("/", None),
            ("a//b", None),
            ("a/", None),
            ("./a", None),
            ("a/../b", None),
            ("..", None),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }
}
