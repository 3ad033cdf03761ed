//! File paths inside a room: relative, `/`-separated, no traversal, no control
//! characters, bounded lengths. Parsing is the only way to obtain a `FilePath`.
//!
//! Names people could confuse are refused or made one: a path is stored in
//! Unicode normalization form C (so `café` typed as `e` + combining accent and
//! as `é` name one file), and bidirectional controls (which show `gpj.exe` as
//! `exe.jpg`), invisible characters and segments ending in a dot or a space
//! (which several systems drop) are refused.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::ErrorCode;

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
    #[error("the path contains a bidirectional control or invisible character")]
    InvisibleCharacter,
    #[error("a path segment ends with a dot or a space")]
    TrailingDotOrSpace,
}

impl PathError {
    /// Stable error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            PathError::Empty => ErrorCode::PathEmpty,
            PathError::Absolute(_) => ErrorCode::PathAbsolute,
            PathError::Traversal => ErrorCode::PathTraversal,
            PathError::EmptySegment => ErrorCode::PathEmptySegment,
            PathError::ControlCharacter => ErrorCode::PathControlCharacter,
            PathError::SegmentTooLong => ErrorCode::PathSegmentTooLong,
            PathError::TooLong => ErrorCode::PathTooLong,
            PathError::InvisibleCharacter => ErrorCode::PathInvisibleCharacter,
            PathError::TrailingDotOrSpace => ErrorCode::PathTrailingDotOrSpace,
        }
    }
}

/// A validated path of a file inside a room, e.g. `drawings/rev-b/part.step`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FilePath(String);

impl FilePath {
    /// Checks `raw` and returns it, in normalization form C, as a `FilePath`.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let normal: String = raw.nfc().collect();
        let raw = normal.as_str();
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
        if raw.chars().any(invisible) {
            return Err(PathError::InvisibleCharacter);
        }
        for segment in raw.split('/') {
            match segment {
                "" => return Err(PathError::EmptySegment),
                "." | ".." => return Err(PathError::Traversal),
                s if s.len() > MAX_SEGMENT_BYTES => return Err(PathError::SegmentTooLong),
                s if s.ends_with(|c: char| c == '.' || c.is_whitespace()) => {
                    return Err(PathError::TrailingDotOrSpace);
                }
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

/// Bidirectional controls (embeddings, overrides, isolates, marks) and
/// characters that show nothing (zero-width space, word joiner, byte order
/// mark, soft hyphen, invisible operators). Zero-width (non-)joiners stay:
/// some scripts need them in ordinary words. Names of people, parties and
/// rooms refuse them too.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        | '\u{00AD}' | '\u{180E}' | '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{206A}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
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
            (Err(e), Err(code)) => assert_eq!(e.code().as_str(), code, "{raw:?}"),
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
            ("..a/b", Ok("..a/b")),
            ("a/b..", Err("path_trailing_dot_or_space")),
            ("a./b", Err("path_trailing_dot_or_space")),
            ("café.txt ", Err("path_trailing_dot_or_space")),
            ("café.txt\u{3000}", Err("path_trailing_dot_or_space")),
            (" leading.txt", Ok(" leading.txt")),
            ("cafe\u{301}.txt", Ok("caf\u{e9}.txt")),
            ("caf\u{e9}.txt", Ok("caf\u{e9}.txt")),
            ("Ångström/x", Ok("\u{c5}ngstr\u{f6}m/x")),
            ("invoice\u{202E}gpj.exe", Err("path_invisible_character")),
            ("a\u{2066}b", Err("path_invisible_character")),
            ("a\u{200F}b", Err("path_invisible_character")),
            ("a\u{200B}b", Err("path_invisible_character")),
            ("\u{FEFF}a", Err("path_invisible_character")),
            (
                "\u{645}\u{6cc}\u{200C}\u{62e}\u{648}\u{627}\u{647}\u{645}",
                Ok("\u{645}\u{6cc}\u{200C}\u{62e}\u{648}\u{627}\u{647}\u{645}"),
            ),
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
