//! Detectors an administrator defines: keyword lists, dictionaries (a
//! finding when enough distinct terms occur together) and regular
//! expressions. Everything is checked when the rule is entered: ids, empty
//! term lists, expressions that do not parse, match the empty string, or
//! compile beyond a size bound (the `regex` crate runs in linear time, so the
//! compiled size is what must be bounded).

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::{DlpError, Severity};

/// The compiled-size bound for an administrator's regular expression.
pub const DEFAULT_REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One administrator-defined detector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRule {
    /// The detector id (`[a-z0-9._-]{1,64}`, unique).
    pub id: String,
    /// What a finding says.
    pub message: String,
    /// How bad a finding is.
    pub severity: Severity,
    /// What to look for.
    pub kind: CustomKind,
}

/// What a custom rule looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    /// Any of these words or phrases, case-insensitive, on word boundaries.
    Keywords(Vec<String>),
    /// At least `min_distinct` distinct terms of the list in one item.
    Dictionary {
        /// The terms, case-insensitive, on word boundaries.
        terms: Vec<String>,
        /// How many distinct terms make a finding.
        min_distinct: usize,
    },
    /// A regular expression (RE2 syntax; the match is the sensitive value).
    Regex(String),
}

/// Checks a rule id.
pub(crate) fn check_id(id: &str) -> Result<(), DlpError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(DlpError::BadRuleId(id.to_owned()))
    }
}

/// The usable terms of a keyword or dictionary rule.
pub(crate) fn terms(rule: &str, terms: &[String]) -> Result<Vec<String>, DlpError> {
    let out: Vec<String> = terms
        .iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if out.is_empty() {
        return Err(DlpError::EmptyRule(rule.to_owned()));
    }
    Ok(out)
}

/// Compiles an administrator's regular expression within `size_limit` bytes.
pub(crate) fn compile(rule: &str, pattern: &str, size_limit: usize) -> Result<Regex, DlpError> {
    let regex = RegexBuilder::new(pattern)
        .size_limit(size_limit)
        .dfa_size_limit(size_limit)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => DlpError::RegexTooLarge {
                rule: rule.to_owned(),
                limit,
            },
            other => DlpError::BadRegex {
                rule: rule.to_owned(),
                reason: first_line(&other.to_string()),
            },
        })?;
    if regex.is_match(b"") {
        return Err(DlpError::BadRegex {
            rule: rule.to_owned(),
            reason: "it matches the empty string".to_owned(),
        });
    }
    Ok(regex)
}

fn first_line(s: &str) -> String {
    s.lines()
        .last()
        .unwrap_or(s)
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_checked_at_entry() {
        let check = |pattern: &str, expected: Result<(), &str>| {
            let got = compile("r", pattern, 64 << 10)
                .map(|_| ())
                .map_err(|e| e.code());
            assert_eq!(got, expected, "{pattern}");
        };
        check(r"PRJ-\d{4}", Ok(()));
        check(r"(unclosed", Err("dlp_bad_regex"));
        check(r"a*", Err("dlp_bad_regex"));
        check(r"\w{1000}\w{1000}", Err("dlp_regex_too_large"));
    }

    #[test]
    fn ids_are_checked() {
        let check = |id: &str, ok: bool| assert_eq!(check_id(id).is_ok(), ok, "{id}");
        check("acme.codename", true);
        check("", false);
        check("Upper", false);
        check(&"x".repeat(65), false);
    }
}
