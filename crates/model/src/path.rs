//! File paths inside a room: relative, `/`-separated, no traversal, no control
//! characters, bounded lengths. Parsing is the only way to obtain a `FilePath`.

use std::fmt;

/// Longest accepted path, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest accepted segment, in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Why a path was refused. `code()` is stable and reaches API clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path `{0}` is absolute; paths are relative to the room")]
    Absolute(String),
    #[error("the path contains a `.` or `..` segment")]
    Traversal,
    #[error("the path contains an empty segment")]
    EmptySegment,
    #[error("the path contains a NUL, control character or backslash")]
    ControlCharacter,
    #[error("a path segment is longer than {MAX_SEGMENT_BYTES} bytes")]
    SegmentTooLong,
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
}

impl PathError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            PathError::Empty => "path_empty",
            PathError::Absolute(_) => "path_absolute",
            PathError::Traversal => "path_traversal",
            PathError::EmptySegment => "path_empty_segment",
            PathError::ControlCharacter => "path_control_character",
            PathError::SegmentTooLong => "path_segment_too_long",
            PathError::TooLong => "path_too_long",
        }
    }
}

/// A validated path of a file inside a room, e.g. `drawings/rev-b/part.step`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilePath(String);

impl FilePath {
    /// Checks `raw` and returns it as a `FilePath`.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.is_empty() {
            return Err(PathError::Empty);
        }
        if raw.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        if raw.starts_with('/') || raw.starts_with('\\') || looks_like_drive(raw) {
            return Err(PathError::Absolute(raw.chars().take(64).collect()));
        }
        if raw.chars().any(|c| c.is_control() || c == '\\') {
            return Err(PathError::ControlCharacter);
        }
        for segment in raw.split('/') {
            match segment {
                "" => return Err(PathError::EmptySegment),
                "." | ".." => return Err(PathError::Traversal),
                s if s.len() > MAX_SEGMENT_BYTES => return Err(PathError::SegmentTooLong),
                _ => {}
            }
        }
        Ok(Self(raw.to_owned()))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

fn looks_like_drive(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

impl fmt::Display for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<&str, &str>) {
        let got = FilePath::parse(raw);
        match (got, expected) {
            (Ok(p), Ok(want)) => assert_eq!(p.as_str(), want, "{raw:?}"),
            (Err(e), Err(code)) => assert_eq!(e.code(), code, "{raw:?}"),
            (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn paths() {
        let long_segment = "a".repeat(256);
        let ok_segment = "a".repeat(255);
        let long_path = vec!["abcdefgh"; 600].join("/");
        let table: Vec<(&str, Result<&str, &str>)> = vec![
            ("a.txt", Ok("a.txt")),
            ("dir/sub/a.txt", Ok("dir/sub/a.txt")),
            ("ünïcødé/文件.pdf", Ok("ünïcødé/文件.pdf")),
            ("..a/b..", Ok("..a/b..")),
            ("", Err("path_empty")),
            ("/etc/passwd", Err("path_absolute")),
            ("C:/x", Err("path_absolute")),
            ("\\\\server\\share", Err("path_absolute")),
            ("../secret", Err("path_traversal")),
            ("a/../../b", Err("path_traversal")),
            ("a/./b", Err("path_traversal")),
            ("a//b", Err("path_empty_segment")),
            ("a/", Err("path_empty_segment")),
            ("a\0b", Err("path_control_character")),
            ("a\nb", Err("path_control_character")),
            ("a\\b", Err("path_control_character")),
            ("a\u{7f}", Err("path_control_character")),
            (&long_segment, Err("path_segment_too_long")),
            (&ok_segment, Ok(&ok_segment)),
            (&long_path, Err("path_too_long")),
        ];
        for (raw, expected) in table {
            check(raw, expected);
        }
    }

    #[test]
    fn file_name_is_last_segment() {
        assert_eq!(FilePath::parse("a/b/c.txt").unwrap().file_name(), "c.txt");
    }
}
