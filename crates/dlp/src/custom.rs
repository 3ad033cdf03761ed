//! Detectors an administrator defines: keyword lists, dictionaries (a
//! finding when enough distinct terms occur together), regular expressions,
//! and pattern rules in the shape of a gitleaks rule (a secret group, an
//! entropy floor, keywords, a path filter and allowlists; see `gitleaks`).
//! Everything is checked when the rule is entered: ids, empty term lists,
//! expressions that do not parse, match the empty string, or compile beyond
//! a size bound (the `regex` crate runs in linear time, so the compiled size
//! is what must be bounded).

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::{DlpError, Severity};

/// The compiled-size bound for an administrator's regular expression.
pub const DEFAULT_REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One administrator-defined detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// What a custom rule looks for. Stored as JSON (`{"keywords": [..]}`,
/// `{"regex": ".."}`, `{"pattern": {..}}`): variants are only ever added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// A pattern rule, as imported from a gitleaks configuration.
    Pattern(PatternRule),
}

/// A rule in the shape of a gitleaks rule: a regular expression whose
/// secret (a capture group) must be random enough, run only where one of
/// its keywords occurs and on files whose path matches, its findings
/// dropped when an allowlist allows them. With no expression, every file
/// whose path matches is a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRule {
    /// The expression (RE2 syntax, ASCII `\w`, `\d`, `\s` and `\b` as in
    /// Go); none for a rule on file paths alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The capture group holding the secret; 0: the first group that
    /// matched something, else the whole match.
    #[serde(default)]
    pub secret_group: usize,
    /// The least Shannon entropy of the secret, in bits per byte (0: any).
    #[serde(default)]
    pub entropy: f64,
    /// The rule runs only on text containing one of these (ASCII
    /// case-insensitive); none: always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// An expression the file's path must match (see [`path_matches`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Labels, for the administrator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A finding any of these allows is dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlists: Vec<Allowlist>,
}

/// What a finding of a pattern rule may be allowed by: a finding is allowed
/// when one of the criteria set holds (`or`) or all of them do (`and`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowlist {
    /// What it is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How the criteria combine.
    #[serde(default)]
    pub condition: Condition,
    /// Expressions, one of which must match the [`Allowlist::regex_target`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regexes: Vec<String>,
    /// What the expressions are matched against.
    #[serde(default)]
    pub regex_target: RegexTarget,
    /// Words, one of which the secret must contain (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopwords: Vec<String>,
    /// Expressions, one of which the file's path must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

/// How the criteria of an allowlist combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// One criterion that holds allows the finding.
    #[default]
    Or,
    /// Every criterion set must hold.
    And,
}

/// What an allowlist's expressions are matched against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegexTarget {
    /// The secret (the capture group, or the match).
    #[default]
    Secret,
    /// The whole match.
    Match,
    /// The line (or lines) the match is on.
    Line,
}

/// Whether `re` matches the path of an item: the item path without a
/// trailing `#page=N` (a page is in its file), or the path of the innermost
/// member alone (`dir/.env` of `bundle.zip!/dir/.env`).
pub(crate) fn path_matches(re: &Regex, item: &str) -> bool {
    let file = strip_page(item);
    re.is_match(file.as_bytes())
        || file
            .rsplit_once("!/")
            .is_some_and(|(_, member)| re.is_match(member.as_bytes()))
}

/// An item path without its trailing `#page=N`.
pub(crate) fn strip_page(item: &str) -> &str {
    match item.rsplit_once("#page=") {
        Some((file, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => file,
        _ => item,
    }
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
    compile_with(rule, pattern, size_limit, true)
}

/// Compiles a pattern rule's expression within `size_limit` bytes, its
/// classes ASCII as in Go's RE2 (`\w` is `[0-9A-Za-z_]`). `nonempty`: an
/// expression that matches the empty string is refused.
pub(crate) fn compile_go(
    rule: &str,
    pattern: &str,
    size_limit: usize,
    nonempty: bool,
) -> Result<Regex, DlpError> {
    let regex = build(rule, pattern, size_limit, false)?;
    if nonempty && regex.is_match(b"") {
        return Err(empty_match(rule));
    }
    Ok(regex)
}

fn compile_with(
    rule: &str,
    pattern: &str,
    size_limit: usize,
    unicode: bool,
) -> Result<Regex, DlpError> {
    let regex = build(rule, pattern, size_limit, unicode)?;
    if regex.is_match(b"") {
        return Err(empty_match(rule));
    }
    Ok(regex)
}

fn empty_match(rule: &str) -> DlpError {
    DlpError::BadRegex {
        rule: rule.to_owned(),
        reason: "it matches the empty string".to_owned(),
    }
}

fn build(rule: &str, pattern: &str, size_limit: usize, unicode: bool) -> Result<Regex, DlpError> {
    RegexBuilder::new(pattern)
        .unicode(unicode)
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
        })
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

    /// Go's RE2 classes are ASCII; literals may still be any character.
    #[test]
    fn go_expressions_have_ascii_classes() {
        let check = |pattern: &str, text: &str, expected: bool| {
            let re = compile_go("r", pattern, 1 << 20, true).unwrap();
            assert_eq!(re.is_match(text.as_bytes()), expected, "{pattern} {text}");
        };
        check(r"^\w+$", "abc_09", true);
        check(r"^\w+$", "été", false);
        check(r"clé-\d+", "la clé-42", true);
        check(r"(?i)token", "TOKEN", true);
        check(r"\btok\b", "a tok b", true);
        let refused = |pattern: &str| compile_go("r", pattern, 1 << 20, true).is_err();
        assert!(refused(r"\pL+"));
        assert!(refused(r"\Qa.b\E"));
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
