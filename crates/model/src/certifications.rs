//! Security certifications as records: the standards a party may hold (ISO/IEC
//! 27001, SOC 2 Type II, TISAX, Cyber Essentials Plus, or a custom one by
//! name), one record per certificate with its issuer, scope, number and term,
//! and who of the owner's staff verified it. An unverified record counts for
//! nothing. What rooms and classifications require is a list of standard keys;
//! the key [`ANY_STANDARD`] is met by any verified certificate in term.

use serde::{Deserialize, Serialize};

use crate::{CertificationId, ErrorCode, FileId, PartyId, UserId};

/// The requirement met by any verified certificate in term: the default of
/// rooms classified `confidential` or `restricted` (0011's seed), which keeps
/// the rule that was in force before certifications became records.
pub const ANY_STANDARD: &str = "any";

/// The standards Custody knows by key, with the name shown.
pub const STANDARDS: &[(&str, &str)] = &[
    ("iso_27001", "ISO/IEC 27001"),
    ("soc2_type2", "SOC 2 Type II"),
    ("tisax", "TISAX"),
    ("cyber_essentials_plus", "Cyber Essentials Plus"),
];

/// The prefix of a custom standard's key (`custom:` and its name).
pub const CUSTOM_PREFIX: &str = "custom:";

/// Most standards a room or a classification may require.
pub const MAX_REQUIRED_STANDARDS: usize = 10;

/// Longest issuer, scope, certificate number or custom standard name, in characters.
pub const MAX_CERT_FIELD: usize = 200;

/// A validated standard key: a known one, `custom:<name>`, or [`ANY_STANDARD`]
/// when `allow_any` (requirements may name it, records may not). Known names
/// (`ISO/IEC 27001`) are accepted for their key.
pub fn standard_key(raw: &str, allow_any: bool) -> Result<String, (ErrorCode, String)> {
    let raw = raw.trim();
    if allow_any && raw == ANY_STANDARD {
        return Ok(ANY_STANDARD.to_owned());
    }
    if let Some((key, _)) = STANDARDS
        .iter()
        .find(|(k, name)| *k == raw || name.eq_ignore_ascii_case(raw))
    {
        return Ok((*key).to_owned());
    }
    if let Some(name) = raw.strip_prefix(CUSTOM_PREFIX) {
        let name =
            text_field("custom standard", name).map_err(|m| (ErrorCode::InvalidStandard, m))?;
        return Ok(format!("{CUSTOM_PREFIX}{name}"));
    }
    let shown: String = raw.chars().take(64).collect();
    Err((
        ErrorCode::InvalidStandard,
        format!(
            "`{shown}` is not a standard: use `iso_27001`, `soc2_type2`, `tisax`, `cyber_essentials_plus` or `custom:<name>`"
        ),
    ))
}

/// The name a key is shown by: `ISO/IEC 27001`, a custom name, or for
/// [`ANY_STANDARD`] `any security certification`.
pub fn standard_title(key: &str) -> String {
    if key == ANY_STANDARD {
        return "any security certification".to_owned();
    }
    if let Some((_, name)) = STANDARDS.iter().find(|(k, _)| *k == key) {
        return (*name).to_owned();
    }
    key.strip_prefix(CUSTOM_PREFIX).unwrap_or(key).to_owned()
}

/// Checks a list of required standards: valid keys, no repeats, bounded.
pub fn required_standards(raw: &[String]) -> Result<Vec<String>, (ErrorCode, String)> {
    if raw.len() > MAX_REQUIRED_STANDARDS {
        return Err((
            ErrorCode::InvalidStandard,
            format!("at most {MAX_REQUIRED_STANDARDS} standards may be required"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for r in raw {
        let key = standard_key(r, true)?;
        if out.contains(&key) {
            return Err((
                ErrorCode::InvalidStandard,
                format!("`{key}` is required twice"),
            ));
        }
        out.push(key);
    }
    Ok(out)
}

/// A trimmed text field of 1 to [`MAX_CERT_FIELD`] characters without
/// control characters.
pub fn text_field(what: &str, raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_CERT_FIELD || t.chars().any(char::is_control) {
        return Err(format!(
            "the {what} must be 1 to {MAX_CERT_FIELD} characters without control characters"
        ));
    }
    Ok(t.to_owned())
}

/// One certificate a party holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certification {
    pub id: CertificationId,
    pub party_id: PartyId,
    /// The standard's key (see [`standard_key`]).
    pub standard: String,
    pub issuer: String,
    pub scope: String,
    /// The certificate number.
    pub number: String,
    /// Its term: valid from (inclusive) until (exclusive).
    pub valid_from_ms: i64,
    pub valid_until_ms: i64,
    /// The certificate itself, a file in a room shared with the party.
    pub evidence: Option<FileId>,
    /// Who of the owner's staff verified it, and when; `None` until then.
    pub verified_by: Option<UserId>,
    pub verified_ms: Option<i64>,
    pub recorded_by: UserId,
    pub recorded_ms: i64,
}

impl Certification {
    /// Whether it counts at `now_ms`: verified, and in its term.
    pub fn in_term(&self, now_ms: i64) -> bool {
        self.verified_ms.is_some() && self.valid_from_ms <= now_ms && now_ms < self.valid_until_ms
    }

    /// Whether it was verified and its term has ended by `now_ms`.
    pub fn lapsed(&self, now_ms: i64) -> bool {
        self.verified_ms.is_some() && self.valid_until_ms <= now_ms
    }

    /// Whether it meets the requirement `key`.
    pub fn meets(&self, key: &str) -> bool {
        key == ANY_STANDARD || self.standard == key
    }

    /// The standard's name.
    pub fn title(&self) -> String {
        standard_title(&self.standard)
    }
}

/// The day `ms` falls on, in UTC (`2026-11-30`); the number itself when out of range.
pub fn utc_date(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            t.format(&f).ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `ms` in UTC to the second, RFC 3339 (`2026-11-30T09:05:00Z`); the number
/// itself when out of range.
pub fn utc_time(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            let f =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            t.format(&f).ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_keys_are_checked() {
        let cases: &[(&str, bool, Option<&str>)] = &[
            ("iso_27001", false, Some("iso_27001")),
            ("ISO/IEC 27001", false, Some("iso_27001")),
            (" tisax ", false, Some("tisax")),
            ("custom:BSI C5", false, Some("custom:BSI C5")),
            ("custom:", false, None),
            ("custom:a\u{7}", false, None),
            ("any", false, None),
            ("any", true, Some("any")),
            ("ISO 9001", false, None),
        ];
        for (raw, any, want) in cases {
            let got = standard_key(raw, *any).ok();
            assert_eq!(got.as_deref(), *want, "{raw}");
        }
        assert_eq!(standard_title("soc2_type2"), "SOC 2 Type II");
        assert_eq!(standard_title("custom:BSI C5"), "BSI C5");
        assert!(required_standards(&["tisax".into(), "TISAX".into()]).is_err());
        assert_eq!(utc_date(1_796_083_200_000), "2026-12-01");
    }
}
