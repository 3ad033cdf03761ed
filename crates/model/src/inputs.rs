//! Typed inputs that every protocol parses at its edge and the use-cases take as
//! they are: a byte range of a download ([`ByteRange`]) and the reason a person
//! gives for moving content the data-loss policy asks about ([`Justification`]).
//! HTTP's `Range` header, a form field, an SFTP read offset or a CLI flag all
//! become these; no use-case sees how they were spelled.

use std::fmt;

/// A single byte range asked of a content of a size not yet known to the asker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// From `start` to the end.
    From { start: u64 },
    /// From `start` to `end`, both included (`end >= start`).
    FromTo { start: u64, end: u64 },
    /// The last `len` bytes (`len > 0`).
    Suffix { len: u64 },
}

/// A range that starts at or after the end of the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsatisfiable {
    /// The content's size.
    pub size: u64,
}

impl ByteRange {
    /// `start..=end`; `None` when `end < start` (not a range).
    pub fn from_to(start: u64, end: u64) -> Option<ByteRange> {
        (end >= start).then_some(ByteRange::FromTo { start, end })
    }

    /// The last `len` bytes; `None` for `len == 0` (not a range).
    pub fn suffix(len: u64) -> Option<ByteRange> {
        (len > 0).then_some(ByteRange::Suffix { len })
    }

    /// The inclusive bytes `(first, last)` of a content of `size` bytes this
    /// range covers: an end past the content is cut to its last byte, a suffix
    /// longer than the content is the whole content. A range starting at or
    /// after the end (including any range of an empty content) is
    /// [`Unsatisfiable`].
    pub fn resolve(self, size: u64) -> Result<(u64, u64), Unsatisfiable> {
        let last = size.checked_sub(1).ok_or(Unsatisfiable { size })?;
        let (first, end) = match self {
            ByteRange::From { start } => (start, last),
            ByteRange::FromTo { start, end } => (start, end.min(last)),
            ByteRange::Suffix { len } => (size.saturating_sub(len), last),
        };
        if first > last {
            return Err(Unsatisfiable { size });
        }
        Ok((first, end))
    }
}

/// Longest justification accepted, in characters.
pub const MAX_JUSTIFICATION: usize = 1000;

/// A person's reason for moving content: one line of at most
/// [`MAX_JUSTIFICATION`] characters, trimmed, not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification(String);

/// Why a justification was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a justification is one line of at most {MAX_JUSTIFICATION} characters")]
pub struct BadJustification;

impl BadJustification {
    /// The stable code.
    pub fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::BadJustification
    }
}

impl Justification {
    /// The justification in `raw`, trimmed; `Ok(None)` when there is none (absent,
    /// empty or blank).
    pub fn parse(raw: Option<&str>) -> Result<Option<Justification>, BadJustification> {
        let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if text.chars().count() > MAX_JUSTIFICATION || text.chars().any(char::is_control) {
            return Err(BadJustification);
        }
        Ok(Some(Justification(text.to_owned())))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Justification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: ByteRange, size: u64, want: Result<(u64, u64), Unsatisfiable>) {
        assert_eq!(range.resolve(size), want, "{range:?} of {size}");
    }

    #[test]
    fn ranges_resolve_against_the_size() {
        let from = |start| ByteRange::From { start };
        let ft = |a, b| ByteRange::from_to(a, b).unwrap();
        let suffix = |n| ByteRange::suffix(n).unwrap();
        let none = |size| Err(Unsatisfiable { size });
        let table = [
            (ft(0, 9), 100, Ok((0, 9))),
            (from(90), 100, Ok((90, 99))),
            (suffix(10), 100, Ok((90, 99))),
            (suffix(1000), 100, Ok((0, 99))),
            (ft(50, 1000), 100, Ok((50, 99))),
            (from(100), 100, none(100)),
            (ft(100, 200), 100, none(100)),
            (from(0), 0, none(0)),
            (suffix(5), 0, none(0)),
            (ft(u64::MAX, u64::MAX), 100, none(100)),
            (from(0), 1, Ok((0, 0))),
        ];
        for (range, size, want) in table {
            check(range, size, want);
        }
        assert_eq!(ByteRange::from_to(9, 0), None);
        assert_eq!(ByteRange::suffix(0), None);
    }

    #[test]
    fn justifications_are_one_trimmed_line() {
        let ok = |raw: &str| {
            Justification::parse(Some(raw))
                .unwrap()
                .map(|j| j.to_string())
        };
        assert_eq!(
            ok("  needed for the audit "),
            Some("needed for the audit".into())
        );
        assert_eq!(ok("   "), None);
        assert_eq!(Justification::parse(None), Ok(None));
        let long = "x".repeat(MAX_JUSTIFICATION + 1);
        for bad in ["two\nlines", "tab\there", long.as_str()] {
            assert_eq!(
                Justification::parse(Some(bad)),
                Err(BadJustification),
                "{bad:?}"
            );
        }
        assert_eq!(
            ok(&"é".repeat(MAX_JUSTIFICATION)).map(|j| j.chars().count()),
            Some(1000)
        );
    }
}
