//! Imports a gitleaks configuration (TOML, as gitleaks documents it) as
//! pattern rules: `[[rules]]` with `id`, `description`, `regex`,
//! `secretGroup`, `entropy`, `keywords`, `path`, `tags` and their
//! allowlists (`[rules.allowlist]`, `[[rules.allowlists]]`: `regexes`,
//! `regexTarget`, `stopwords`, `paths`, `condition`), and the global
//! allowlists (`[allowlist]`, `[[allowlists]]` with `targetRules`), folded
//! into the allowlists of the rules they apply to.
//!
//! Nothing is dropped silently. What cannot be honoured is reported by name:
//! a setting that would only narrow what a rule reports (an allowlist entry,
//! commits) is left out and the rule kept, so it reports more, never less;
//! an allowlist that would widen once a criterion is left out (condition
//! AND) is left out whole; a rule whose findings would change (its
//! expression does not compile here, a composite rule, a secret group it
//! lacks) is skipped with its reason. `[extend]` is reported: gitleaks'
//! default rules are not imported (the built-in detectors cover those
//! providers) and no other file is read.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::custom::{
    self, Allowlist, Condition, CustomKind, CustomRule, DEFAULT_REGEX_SIZE_LIMIT, PatternRule,
    RegexTarget,
};
use crate::{DlpError, Severity, pattern, scanner};

/// What an import made of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Import {
    /// The rules imported, in the configuration's order.
    pub rules: Vec<CustomRule>,
    /// The rules left out, each with its reason.
    pub skipped: Vec<Skipped>,
    /// The settings left out or changed, by rule.
    pub unsupported: Vec<Unsupported>,
}

/// A rule left out of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The rule's id as written (or `rules[N]` when it has none).
    pub rule: String,
    /// Why.
    pub reason: String,
}

/// A setting an import did not honour as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsupported {
    /// The rule's id as imported; none for the configuration itself.
    pub rule: Option<String>,
    /// The setting, as named in the configuration (`extend.useDefault`,
    /// `allowlists[0].commits`).
    pub feature: String,
    /// What was done instead.
    pub detail: String,
}

/// Imports the gitleaks configuration `text`; its rules' findings have
/// `severity`. Fails only when the text is not TOML or not shaped as a
/// gitleaks configuration; everything else is reported in the [`Import`].
pub fn import(text: &str, severity: Severity) -> Result<Import, DlpError> {
    let table: Table = toml::from_str(text).map_err(|e| bad(&toml_error(text, &e)))?;
    let mut out = Import::default();
    let mut global: Vec<(Allowlist, Vec<String>)> = Vec::new();
    for (key, value) in &table {
        match key.as_str() {
            "title" | "description" | "minVersion" | "rules" => {}
            "extend" => extend(value, &mut out),
            "allowlist" => {
                let t = value
                    .as_table()
                    .ok_or_else(|| bad("`allowlist` must be a table"))?;
                global.extend(allowlist(t, "allowlist", None, true, &mut out));
            }
            "allowlists" => {
                for (i, t) in tables(value, "allowlists")?.into_iter().enumerate() {
                    let name = format!("allowlists[{i}]");
                    global.extend(allowlist(t, &name, None, true, &mut out));
                }
            }
            other => out.unsupported.push(Unsupported {
                rule: None,
                feature: other.to_owned(),
                detail: "not a gitleaks setting this import knows; left out".to_owned(),
            }),
        }
    }
    let rules = match table.get("rules") {
        Some(v) => tables(v, "rules")?,
        None => Vec::new(),
    };
    for (i, t) in rules.into_iter().enumerate() {
        match rule(t, i, severity, &global, &mut out) {
            Ok(r) => out.rules.push(r),
            Err(skip) => out.skipped.push(skip),
        }
    }
    Ok(out)
}

fn bad(reason: &str) -> DlpError {
    DlpError::BadGitleaksConfig(reason.to_owned())
}

/// A TOML error as one line with its line number.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().trim_end_matches('.');
    match e.span() {
        Some(span) => {
            let line = text
                .get(..span.start)
                .map_or(1, |s| s.bytes().filter(|&b| b == b'\n').count() + 1);
            format!("line {line}: {message}")
        }
        None => message.to_owned(),
    }
}

/// The tables of an array of tables named `name`.
fn tables<'v>(value: &'v Value, name: &str) -> Result<Vec<&'v Table>, DlpError> {
    let bad_shape = || bad(&format!("`{name}` must be an array of tables"));
    value
        .as_array()
        .ok_or_else(bad_shape)?
        .iter()
        .map(|v| v.as_table().ok_or_else(bad_shape))
        .collect()
}

/// Reports `[extend]`: nothing of it is honoured.
fn extend(value: &Value, out: &mut Import) {
    let Some(t) = value.as_table() else {
        out.unsupported.push(unsupported(
            None,
            "extend",
            "not a table; left out".to_owned(),
        ));
        return;
    };
    for key in t.keys() {
        let detail = match key.as_str() {
            "useDefault" => {
                "gitleaks' default rules are not imported (the built-in detectors cover those providers)"
            }
            "path" | "url" => "no other configuration is read: import its rules in the same text",
            "disabledRules" => "only rules of an extended configuration can be disabled",
            _ => "not a gitleaks setting this import knows; left out",
        };
        out.unsupported.push(unsupported(
            None,
            &format!("extend.{key}"),
            detail.to_owned(),
        ));
    }
}

fn unsupported(rule: Option<&str>, feature: &str, detail: String) -> Unsupported {
    Unsupported {
        rule: rule.map(str::to_owned),
        feature: feature.to_owned(),
        detail,
    }
}

/// One `[[rules]]` entry as a custom rule, or why it is skipped.
fn rule(
    t: &Table,
    index: usize,
    severity: Severity,
    global: &[(Allowlist, Vec<String>)],
    out: &mut Import,
) -> Result<CustomRule, Skipped> {
    let original = match t.get("id").and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            return Err(Skipped {
                rule: format!("rules[{index}]"),
                reason: "it has no `id`".to_owned(),
            });
        }
    };
    let skip = |reason: String| Skipped {
        rule: original.clone(),
        reason,
    };
    let id = original.to_lowercase();
    custom::check_id(&id).map_err(|e| skip(e.to_string()))?;
    if scanner::is_reserved(&id) || out.rules.iter().any(|r| r.id == id) {
        return Err(skip(DlpError::DuplicateRule(id).to_string()));
    }
    let mut notes = Vec::new();
    if id != original {
        notes.push(unsupported(
            Some(&id),
            "id",
            format!("ids are lowercase here: `{original}` is imported as `{id}`"),
        ));
    }
    let mut p = PatternRule::default();
    let mut message = String::new();
    // What the rule's allowlists leave out, reported only if the rule is kept.
    let mut allow = Import::default();
    for (key, value) in t {
        let wrong = |what: &str| skip(format!("`{key}` must be {what}"));
        match key.as_str() {
            "id" => {}
            "description" => message = string(value).ok_or_else(|| wrong("a string"))?,
            "regex" => p.regex = Some(string(value).ok_or_else(|| wrong("a string"))?),
            "path" => p.path = Some(string(value).ok_or_else(|| wrong("a string"))?),
            "secretGroup" => {
                p.secret_group = value
                    .as_integer()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| wrong("a whole number"))?;
            }
            "entropy" => {
                p.entropy = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|n| n as f64))
                    .ok_or_else(|| wrong("a number"))?;
            }
            "keywords" => p.keywords = strings(value).ok_or_else(|| wrong("a list of strings"))?,
            "tags" => p.tags = strings(value).ok_or_else(|| wrong("a list of strings"))?,
            "allowlist" => {
                let a = value.as_table().ok_or_else(|| wrong("a table"))?;
                p.allowlists.extend(
                    allowlist(a, "allowlist", Some(&id), false, &mut allow).map(|(a, _)| a),
                );
            }
            "allowlists" => {
                let list = tables(value, "allowlists").map_err(|_| wrong("an array of tables"))?;
                for (i, a) in list.into_iter().enumerate() {
                    let name = format!("allowlists[{i}]");
                    p.allowlists
                        .extend(allowlist(a, &name, Some(&id), false, &mut allow).map(|(a, _)| a));
                }
            }
            "skipReport" if value.as_bool() == Some(false) => {}
            "skipReport" => {
                return Err(skip(
                    "`skipReport`: the rule only serves composite rules, which are not supported"
                        .to_owned(),
                ));
            }
            "required" => {
                return Err(skip(
                    "`required`: composite rules (findings near another rule's) are not supported"
                        .to_owned(),
                ));
            }
            other => notes.push(unsupported(
                Some(&id),
                other,
                "not a gitleaks rule setting this import knows; left out".to_owned(),
            )),
        }
    }
    for (a, targets) in global {
        if targets.is_empty() || targets.iter().any(|t| t == &original) {
            p.allowlists.push(a.clone());
        }
    }
    pattern::compile(&id, &p, DEFAULT_REGEX_SIZE_LIMIT).map_err(|e| skip(e.to_string()))?;
    out.unsupported.extend(allow.unsupported);
    out.unsupported.extend(notes);
    if message.trim().is_empty() {
        message = format!("gitleaks rule `{original}`");
    }
    Ok(CustomRule {
        id,
        message: message.trim().to_owned(),
        severity,
        kind: CustomKind::Pattern(p),
    })
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(string).collect()
}

/// An allowlist named `name` (of rule `rule`, or global) with its target
/// rules (global ones only), or none when it cannot be honoured; what is
/// left out is reported.
fn allowlist(
    t: &Table,
    name: &str,
    rule: Option<&str>,
    global: bool,
    out: &mut Import,
) -> Option<(Allowlist, Vec<String>)> {
    let mut a = Allowlist::default();
    let mut targets = Vec::new();
    // Criteria left out: with condition AND the allowlist would widen.
    let mut narrowed = Vec::new();
    let mut report = |feature: String, detail: String| {
        out.unsupported.push(Unsupported {
            rule: rule.map(str::to_owned),
            feature,
            detail,
        });
    };
    let mut regexes = Vec::new();
    let mut target = Ok(RegexTarget::Secret);
    for (key, value) in t {
        let feature = format!("{name}.{key}");
        match key.as_str() {
            "description" => a.description = string(value).unwrap_or_default(),
            "condition" => match value.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("AND") => a.condition = Condition::And,
                Some("OR") => a.condition = Condition::Or,
                _ => {
                    report(
                        feature,
                        "not AND or OR: the allowlist is left out".to_owned(),
                    );
                    return None;
                }
            },
            "regexTarget" => {
                target = match value.as_str() {
                    Some("secret") => Ok(RegexTarget::Secret),
                    Some("match") => Ok(RegexTarget::Match),
                    Some("line") => Ok(RegexTarget::Line),
                    _ => Err(feature),
                }
            }
            "regexes" => regexes = strings(value).unwrap_or_default(),
            "stopwords" => match strings(value) {
                Some(list) => a.stopwords = list,
                None => narrowed.push((feature, "not a list of strings".to_owned())),
            },
            "paths" => match strings(value) {
                Some(list) => {
                    for (i, p) in list.into_iter().enumerate() {
                        match custom::compile_go("allowlist", &p, DEFAULT_REGEX_SIZE_LIMIT, false) {
                            Ok(_) => a.paths.push(p),
                            Err(e) => narrowed.push((format!("{feature}[{i}]"), reason(&e))),
                        }
                    }
                }
                None => narrowed.push((feature, "not a list of strings".to_owned())),
            },
            "commits" => narrowed.push((
                feature,
                "files are scanned, not commits: no commit ever matches".to_owned(),
            )),
            "targetRules" if global => targets = strings(value).unwrap_or_default(),
            _ => narrowed.push((
                feature,
                "not a gitleaks allowlist setting this import knows".to_owned(),
            )),
        }
    }
    match target {
        Ok(target) => a.regex_target = target,
        Err(feature) => {
            if !regexes.is_empty() {
                narrowed.push((feature, "not secret, match or line".to_owned()));
            }
            regexes.clear();
        }
    }
    for (i, p) in regexes.into_iter().enumerate() {
        match custom::compile_go("allowlist", &p, DEFAULT_REGEX_SIZE_LIMIT, false) {
            Ok(_) => a.regexes.push(p),
            Err(e) => narrowed.push((format!("{name}.regexes[{i}]"), reason(&e))),
        }
    }
    let and = a.condition == Condition::And;
    for (feature, why) in &narrowed {
        let then = if and {
            "the allowlist (condition AND) is left out"
        } else {
            "left out"
        };
        report(feature.clone(), format!("{why}; {then}"));
    }
    if and && !narrowed.is_empty() {
        return None;
    }
    let empty = a.regexes.is_empty() && a.stopwords.is_empty() && a.paths.is_empty();
    (!empty).then_some((a, targets))
}

/// A regex error's reason without the rule id.
fn reason(e: &DlpError) -> String {
    match e {
        DlpError::BadRegex { reason, .. } => format!("invalid regular expression: {reason}"),
        DlpError::RegexTooLarge { limit, .. } => {
            format!("regular expression too large once compiled (limit {limit} bytes)")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_toml_names_the_line() {
        let check = |text: &str, expected: &str| {
            let got = import(text, Severity::High)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(got, Err(expected.to_owned()), "{text}");
        };
        check(
            "[[rules]]\nid = \"a\"\nregex = '''x\n",
            "invalid gitleaks configuration: line 4: invalid multi-line literal string, expected `'`",
        );
        check(
            "[[rules]]\nid = \"a\"\nid = \"b\"\n",
            "invalid gitleaks configuration: line 3: duplicate key",
        );
        check(
            "rules = 3\n",
            "invalid gitleaks configuration: `rules` must be an array of tables",
        );
    }
}
