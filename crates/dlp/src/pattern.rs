//! Pattern rules compiled for the scanner: the expression with its secret
//! group, the entropy floor, the path filter and the allowlists, checked as
//! a gitleaks rule is (the secret must be random enough, then no allowlist
//! may allow it). The keyword prefilter is the scanner's (one automaton for
//! the keywords of every rule).

use std::ops::Range;

use regex::bytes::Regex;

use crate::DlpError;
use crate::checks;
use crate::custom::{self, Allowlist, Condition, PatternRule, RegexTarget};

/// The highest Shannon entropy of bytes, in bits per byte.
const MAX_ENTROPY: f64 = 8.0;

/// A pattern rule ready to run.
pub(crate) struct Pattern {
    regex: Option<Regex>,
    group: usize,
    entropy: f64,
    path: Option<Regex>,
    allow: Vec<Allow>,
}

/// An allowlist ready to run.
struct Allow {
    and: bool,
    regexes: Vec<Regex>,
    target: RegexTarget,
    /// Lowercased.
    stopwords: Vec<String>,
    paths: Vec<Regex>,
}

/// A match of a pattern rule: the whole match and the secret in it.
pub(crate) struct Match {
    pub whole: Range<usize>,
    pub secret: Range<usize>,
}

/// Compiles pattern rule `id`, its expressions within `limit` bytes each.
pub(crate) fn compile(id: &str, rule: &PatternRule, limit: usize) -> Result<Pattern, DlpError> {
    let bad = |reason: &str| DlpError::BadPatternRule {
        rule: id.to_owned(),
        reason: reason.to_owned(),
    };
    let regex = match rule.regex.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => Some(custom::compile_go(id, p, limit, true)?),
        _ => None,
    };
    let path = match rule.path.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => Some(custom::compile_go(id, p, limit, false)?),
        _ => None,
    };
    if regex.is_none() && path.is_none() {
        return Err(bad("it has neither a regular expression nor a path"));
    }
    if let Some(re) = &regex
        && rule.secret_group >= re.captures_len()
    {
        return Err(bad(&format!(
            "secret group {} is not a group of its regular expression",
            rule.secret_group
        )));
    }
    if !(0.0..=MAX_ENTROPY).contains(&rule.entropy) {
        return Err(bad("entropy must be between 0 and 8 bits"));
    }
    let allow = rule
        .allowlists
        .iter()
        .map(|a| compile_allow(id, a, limit))
        .collect::<Result<_, _>>()?;
    Ok(Pattern {
        regex,
        group: rule.secret_group,
        entropy: rule.entropy,
        path,
        allow,
    })
}

fn compile_allow(id: &str, a: &Allowlist, limit: usize) -> Result<Allow, DlpError> {
    let all = |list: &[String]| {
        list.iter()
            .map(|p| custom::compile_go(id, p, limit, false))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Allow {
        and: a.condition == Condition::And,
        regexes: all(&a.regexes)?,
        target: a.regex_target,
        stopwords: a
            .stopwords
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect(),
        paths: all(&a.paths)?,
    })
}

impl Pattern {
    /// Whether the rule looks at files alone (no expression).
    pub(crate) fn path_only(&self) -> bool {
        self.regex.is_none()
    }

    /// Whether the rule runs on the item at `path`.
    pub(crate) fn applies_to(&self, path: &str) -> bool {
        self.path
            .as_ref()
            .is_none_or(|re| custom::path_matches(re, path))
    }

    /// Whether a path-only rule finds the item at `path`.
    pub(crate) fn finds_path(&self, path: &str) -> bool {
        self.path_only() && self.applies_to(path) && !self.allowed(path, b"", b"", b"")
    }

    /// Calls `found` for every match in `text` (of the item at `path`)
    /// whose secret is random enough and not allowed.
    pub(crate) fn matches(&self, text: &str, path: &str, mut found: impl FnMut(Match)) {
        let Some(re) = &self.regex else { return };
        let bytes = text.as_bytes();
        for caps in re.captures_iter(bytes) {
            let Some(whole) = caps.get(0) else { continue };
            let secret = if self.group > 0 {
                caps.get(self.group)
            } else {
                caps.iter()
                    .skip(1)
                    .flatten()
                    .find(|m| !m.is_empty())
                    .or(Some(whole))
            };
            let Some(secret) = secret.filter(|s| !s.is_empty()) else {
                continue;
            };
            let value = secret.as_bytes();
            if self.entropy > 0.0 && shannon(value) < self.entropy {
                continue;
            }
            let line = line_around(bytes, whole.start(), whole.end());
            if self.allowed(path, value, whole.as_bytes(), line) {
                continue;
            }
            found(Match {
                whole: whole.range(),
                secret: secret.range(),
            });
        }
    }

    /// Whether an allowlist allows a finding.
    fn allowed(&self, path: &str, secret: &[u8], whole: &[u8], line: &[u8]) -> bool {
        self.allow
            .iter()
            .any(|a| a.allows(path, secret, whole, line))
    }
}

impl Allow {
    fn allows(&self, path: &str, secret: &[u8], whole: &[u8], line: &[u8]) -> bool {
        let target = match self.target {
            RegexTarget::Secret => secret,
            RegexTarget::Match => whole,
            RegexTarget::Line => line,
        };
        let mut criteria = Vec::with_capacity(3);
        if !self.regexes.is_empty() {
            criteria.push(self.regexes.iter().any(|re| re.is_match(target)));
        }
        if !self.stopwords.is_empty() {
            let lower = String::from_utf8_lossy(secret).to_lowercase();
            criteria.push(self.stopwords.iter().any(|w| lower.contains(w.as_str())));
        }
        if !self.paths.is_empty() {
            criteria.push(self.paths.iter().any(|re| custom::path_matches(re, path)));
        }
        if self.and {
            !criteria.is_empty() && criteria.iter().all(|&c| c)
        } else {
            criteria.iter().any(|&c| c)
        }
    }
}

fn shannon(value: &[u8]) -> f64 {
    checks::shannon(&String::from_utf8_lossy(value))
}

/// The lines holding `start..end` of `bytes`, without their line breaks.
fn line_around(bytes: &[u8], start: usize, end: usize) -> &[u8] {
    let head = bytes.get(..start).unwrap_or_default();
    let from = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
    let tail = bytes.get(end..).unwrap_or_default();
    let to = memchr::memchr(b'\n', tail).map_or(bytes.len(), |i| end + i);
    bytes.get(from..to).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_around_a_match() {
        let check = |text: &str, range: Range<usize>, expected: &str| {
            let got = line_around(text.as_bytes(), range.start, range.end);
            assert_eq!(String::from_utf8_lossy(got), expected, "{text:?} {range:?}");
        };
        check("a\nkey=v\nb", 2..5, "key=v");
        check("key=v", 0..5, "key=v");
        check("a\nx\ny\nb", 2..5, "x\ny");
        check("", 0..0, "");
    }

    #[test]
    fn allowlist_conditions_combine_the_criteria_set() {
        let allow = |condition, regexes: &[&str], stopwords: &[&str], paths: &[&str]| {
            let a = Allowlist {
                condition,
                regexes: regexes.iter().map(|s| s.to_string()).collect(),
                stopwords: stopwords.iter().map(|s| s.to_string()).collect(),
                paths: paths.iter().map(|s| s.to_string()).collect(),
                ..Allowlist::default()
            };
            compile_allow("r", &a, 1 << 20).unwrap()
        };
        let check = |a: &Allow, path: &str, secret: &str, expected: bool| {
            assert_eq!(
                a.allows(path, secret.as_bytes(), b"", b""),
                expected,
                "{path} {secret}"
            );
        };
        let or = allow(Condition::Or, &["^test"], &["example"], &[r"\.md$"]);
        check(&or, "a.txt", "testABC", true);
        check(&or, "a.txt", "xEXAMPLEx", true);
        check(&or, "README.md", "zzz", true);
        check(&or, "a.txt", "zzz", false);
        let and = allow(Condition::And, &["^test"], &[], &[r"\.md$"]);
        check(&and, "README.md", "testABC", true);
        check(&and, "a.txt", "testABC", false);
        check(&and, "README.md", "zzz", false);
        let none = allow(Condition::And, &[], &[], &[]);
        check(&none, "a.txt", "x", false);
    }
}
