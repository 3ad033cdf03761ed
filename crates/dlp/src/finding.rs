//! What a scan reports: a [`Finding`] names the detector, its severity and
//! confidence, where the match is (item path, line, column) and a redacted
//! snippet. The matched value itself is never stored, so no Debug, Display or
//! serialized form of a finding can leak it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DlpError;

/// How bad a finding is, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (an e-mail address, a corrupt member).
    Low,
    /// Worth a look (a phone number, a classification marking).
    Medium,
    /// Should not leave (a credential, a national identifier).
    High,
    /// Must not leave (a private key, a cloud root credential).
    Critical,
}

impl Severity {
    /// The stable lowercase name; do not change.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Result<Self, DlpError> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            other => Err(DlpError::BadSeverity(other.to_owned())),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding is: the item (a file, or a member inside containers, as
/// `archive.zip!/dir/member.txt`) and the 1-based line and column (in
/// characters) of the match in the item's extracted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The item path, members of containers joined with `!/`.
    pub path: String,
    /// 1-based line of the match in the extracted text (0 when not applicable).
    pub line: u32,
    /// 1-based column, in characters (0 when not applicable).
    pub column: u32,
}

/// One thing a detector found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The detector id, e.g. `aws.access_key_id` or `pii.card_number`.
    pub detector: String,
    /// How bad it is.
    pub severity: Severity,
    /// How sure the detector is, from 0 to 1.
    pub confidence: f32,
    /// Where it is.
    pub location: Location,
    /// A human description of what was found (no matched value in it).
    pub message: String,
    /// The redacted value: its first characters, `…`, and its length.
    pub snippet: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} [{}] {} ({})",
            self.location.path,
            self.location.line,
            self.location.column,
            self.severity,
            self.detector,
            self.message,
            self.snippet
        )
    }
}

/// Redacts a matched value: at most its first 4 characters (fewer for short
/// values, never more than a quarter of it), `…`, and its length in characters.
pub fn redact(value: &str) -> String {
    let len = value.chars().count();
    let shown = (len / 4).min(4);
    let head: String = value.chars().take(shown).collect();
    format!("{head}…({len} chars)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_shows_a_short_prefix_and_the_length() {
        let check = |value: &str, expected: &str| assert_eq!(redact(value), expected, "{value}");
        check("AKIAZZZZZZZZZZZZZZZZ", "AKIA…(20 chars)");
        check("hunter2", "h…(7 chars)");
        check("abc", "…(3 chars)");
        check("", "…(0 chars)");
        check("éééééééé", "éé…(8 chars)");
    }

    #[test]
    fn severities_order_and_round_trip() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
        for s in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(Severity::parse(s.as_str()), Ok(s));
        }
        assert_eq!(
            Severity::parse("severe").map_err(|e| e.code()),
            Err("dlp_bad_severity")
        );
    }
}
