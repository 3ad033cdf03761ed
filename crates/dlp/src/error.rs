//! The one error type of the dlp crate: what can be wrong with a rule an
//! administrator defines (a keyword list, a dictionary, a regular expression,
//! a pattern rule, a gitleaks configuration) or with a registry operation, each with a stable machine-readable code.
//!
//! Problems met while extracting text from untrusted content (a zip bomb, a
//! corrupt archive, an encrypted member) are not errors: they are reported as
//! findings, so one bad member never hides what the others contain.

use thiserror::Error;

/// Everything that can go wrong configuring or using the dlp crate.
///
/// Every variant is caused by the caller's input (see [`DlpError::code`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DlpError {
    /// A custom regular expression does not parse.
    #[error("rule `{rule}`: invalid regular expression: {reason}")]
    BadRegex {
        /// The rule id.
        rule: String,
        /// Why the expression was refused.
        reason: String,
    },
    /// A custom regular expression compiles to a program larger than allowed.
    #[error("rule `{rule}`: regular expression is too large once compiled (limit {limit} bytes)")]
    RegexTooLarge {
        /// The rule id.
        rule: String,
        /// The compiled-size limit in bytes.
        limit: usize,
    },
    /// A rule id is empty, too long, or uses characters outside `[a-z0-9._-]`.
    #[error("invalid rule id `{0}`: use 1 to 64 characters from a-z, 0-9, `.`, `_` and `-`")]
    BadRuleId(String),
    /// Two rules share an id.
    #[error("duplicate rule id `{0}`")]
    DuplicateRule(String),
    /// A keyword or dictionary rule has no usable term.
    #[error("rule `{0}` has no terms")]
    EmptyRule(String),
    /// A severity name is not one of `low`, `medium`, `high`, `critical`.
    #[error("unknown severity `{0}`: expected low, medium, high or critical")]
    BadSeverity(String),
    /// A document id was registered twice.
    #[error("document `{0}` is already registered")]
    DuplicateDocument(String),
    /// A pattern rule cannot be honoured as written (no expression and no
    /// path, a secret group the expression lacks, an entropy out of range).
    #[error("rule `{rule}`: {reason}")]
    BadPatternRule {
        /// The rule id.
        rule: String,
        /// What is wrong.
        reason: String,
    },
    /// A gitleaks configuration is not TOML, or not shaped as one.
    #[error("invalid gitleaks configuration: {0}")]
    BadGitleaksConfig(String),
    /// Encoded fingerprints or an exported registry cannot be read (another
    /// format or version, damaged, or computed with other parameters).
    #[error("unreadable fingerprints: {0}")]
    BadFingerprints(String),
}

impl DlpError {
    /// A stable code naming the kind of error; do not change.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRegex { .. } => "dlp_bad_regex",
            Self::RegexTooLarge { .. } => "dlp_regex_too_large",
            Self::BadRuleId(_) => "dlp_bad_rule_id",
            Self::DuplicateRule(_) => "dlp_duplicate_rule",
            Self::EmptyRule(_) => "dlp_empty_rule",
            Self::BadSeverity(_) => "dlp_bad_severity",
            Self::DuplicateDocument(_) => "dlp_duplicate_document",
            Self::BadPatternRule { .. } => "dlp_bad_pattern_rule",
            Self::BadGitleaksConfig(_) => "dlp_bad_gitleaks_config",
            Self::BadFingerprints(_) => "dlp_bad_fingerprints",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_prefixed_and_messages_lowercase() {
        let all = [
            DlpError::BadRegex {
                rule: "r".into(),
                reason: "x".into(),
            },
            DlpError::RegexTooLarge {
                rule: "r".into(),
                limit: 1,
            },
            DlpError::BadRuleId("R".into()),
            DlpError::DuplicateRule("r".into()),
            DlpError::EmptyRule("r".into()),
            DlpError::BadSeverity("x".into()),
            DlpError::DuplicateDocument("d".into()),
            DlpError::BadPatternRule {
                rule: "r".into(),
                reason: "x".into(),
            },
            DlpError::BadGitleaksConfig("x".into()),
            DlpError::BadFingerprints("x".into()),
        ];
        for e in &all {
            let msg = e.to_string();
            assert!(e.code().starts_with("dlp_"), "{}", e.code());
            assert!(!msg.ends_with('.'), "{msg}");
            assert_eq!(msg.chars().next().map(char::is_lowercase), Some(true));
        }
    }
}
