//! One event line of an export, read into a borrowed [`Event`].
//!
//! Two shapes are read: the SIEM export's line (`schema` `custody.event/1`:
//! `time_ms`, `action`, `outcome`, `reason`, `actor`, `party`, `target`,
//! `source`, `mark_id`, `detail`), and the ledger export's line (`index`,
//! `leaf`, `leaf_hash` and the decoded `event` with `actor_user`,
//! `actor_party`, `source_addr`). Detail fields are read leniently: a field of
//! an unexpected type is absent, not an error. A line that is not an event is
//! refused with a stable [`ParseError::kind`], never a panic.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The visitor methods of values a lenient field ignores.
macro_rules! other_values {
    ($none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok($none)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
}

/// The longest line read; longer ones are refused (`too_long`).
pub const MAX_LINE: usize = 1 << 20;

/// What an event is to the watcher (from its action and outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `file.download`, allowed.
    Download,
    /// `file.view`, allowed (a view in the viewer; `detail.pages` its pages).
    View,
    /// `file.upload`, allowed.
    Upload,
    /// Any refused request of a signed-in actor (but a sign-in).
    Denied,
    /// `auth.login`, allowed (the user is the target `user:ID`).
    SignIn,
    /// `auth.login` or `auth.totp_confirm`, denied.
    SignInFailed,
    /// `dlp.notify`, `dlp.justified`, `dlp.hold`: content with findings moved.
    Dlp,
    /// `agreement.create`: `detail.party`, `detail.end_ms`, `detail.kind`.
    AgreementCreate,
    /// `agreement.terminate`, `agreement.expire`, `grant.revoke`,
    /// `grant.expire`: the agreement or grant ended (its end is no longer
    /// ahead).
    AgreementEnd,
    /// `grant.create`: `detail.subject` (`party:ID` or `user:ID`), `detail.expires_ms`.
    GrantCreate,
    /// `invitation.create`, `auth.token_create`: a way in made for someone.
    Share,
    /// `file.delete`, allowed.
    Delete,
    /// A change of settings: users, parties, rooms, policies, zones,
    /// templates, detectors, delivery, redactions, keys (see [`ADMIN`]).
    Admin,
    /// `party.update`: `detail.status`.
    PartyUpdate,
    /// `user.create`: the target `user:ID`, `detail.role`.
    UserCreate,
    /// `mark.trace`, allowed: `detail.mark_id` names the traced copy's mark.
    Trace,
    /// Anything else.
    Other,
}

impl Kind {
    /// The kind of an event with `action`, allowed or not.
    pub fn of(action: &str, allowed: bool) -> Kind {
        match (action, allowed) {
            ("auth.login", true) => Kind::SignIn,
            ("auth.login" | "auth.totp_confirm", false) => Kind::SignInFailed,
            (_, false) => Kind::Denied,
            ("file.download", _) => Kind::Download,
            ("file.view", _) => Kind::View,
            ("file.upload", _) => Kind::Upload,
            ("dlp.notify" | "dlp.justified" | "dlp.hold", _) => Kind::Dlp,
            ("agreement.create", _) => Kind::AgreementCreate,
            ("agreement.terminate" | "agreement.expire" | "grant.revoke" | "grant.expire", _) => {
                Kind::AgreementEnd
            }
            ("grant.create", _) => Kind::GrantCreate,
            ("invitation.create" | "auth.token_create", _) => Kind::Share,
            ("file.delete", _) => Kind::Delete,
            (a, _) if ADMIN.contains(&a) => Kind::Admin,
            ("party.update", _) => Kind::PartyUpdate,
            ("user.create", _) => Kind::UserCreate,
            ("mark.trace", _) => Kind::Trace,
            _ => Kind::Other,
        }
    }
}

/// The actions that change settings (counted as `admin_changes`). A
/// `party.update` is also read for its status.
pub const ADMIN: &[&str] = &[
    "user.update",
    "user.mfa_reset",
    "user.unlock",
    "room.update",
    "room.delete",
    "room.delivery",
    "policy.change",
    "zone.update",
    "template.update",
    "dlp.policy",
    "dlp.release",
    "dlp.rule_add",
    "dlp.rule_remove",
    "event.redact",
    "keys.rotate",
];

/// A line that is not an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line longer than {MAX_LINE} bytes")]
    TooLong,
    #[error("not json: {0}")]
    NotJson(String),
    #[error("not a json object")]
    NotObject,
    #[error("no `time_ms`")]
    NoTime,
    #[error("no `action`")]
    NoAction,
    #[error("`outcome` is neither `allowed` nor `denied`")]
    BadOutcome,
}

impl ParseError {
    /// The stable name of the error's kind (counted by the watcher).
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::TooLong => "too_long",
            ParseError::NotJson(_) => "not_json",
            ParseError::NotObject => "not_object",
            ParseError::NoTime => "no_time",
            ParseError::NoAction => "no_action",
            ParseError::BadOutcome => "bad_outcome",
        }
    }
}

/// The detail fields the watcher reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Detail<'a> {
    pub size: Option<f64>,
    pub room: Option<Cow<'a, str>>,
    pub end_ms: Option<f64>,
    pub expires_ms: Option<f64>,
    pub pages: Option<f64>,
    pub party: Option<Cow<'a, str>>,
    pub subject: Option<Cow<'a, str>>,
    pub mark_id: Option<Cow<'a, str>>,
    pub role: Option<Cow<'a, str>>,
    pub status: Option<Cow<'a, str>>,
    pub kind: Option<Cow<'a, str>>,
    pub country: Option<Cow<'a, str>>,
    /// Whether the detail carries a `dlp` verdict with findings.
    pub dlp: bool,
}

impl<'a> Detail<'a> {
    /// The fields the watcher reads from an event's detail already parsed
    /// as JSON (as the server holds it), as leniently as from a line: a
    /// detail that is not an object reads as empty.
    pub fn from_value(value: &'a serde_json::Value) -> Detail<'a> {
        if !value.is_object() {
            // serde would read an array's items as the fields in order.
            return Detail::default();
        }
        RawDetail::deserialize(value)
            .map(Detail::from)
            .unwrap_or_default()
    }
}

/// One event, its text borrowed from the line where it can be.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    pub time_ms: i64,
    pub action: Cow<'a, str>,
    pub kind: Kind,
    pub allowed: bool,
    pub reason: Option<Cow<'a, str>>,
    pub actor: Option<Cow<'a, str>>,
    pub party: Option<Cow<'a, str>>,
    pub target: Cow<'a, str>,
    pub source: Option<Cow<'a, str>>,
    pub mark_id: Option<Cow<'a, str>>,
    pub detail: Detail<'a>,
}

/// A parsed line: an event, or a blank line to skip.
pub type Parsed<'a> = Option<Event<'a>>;

/// Reads one line of either export (blank lines are `None`).
pub fn parse_line(line: &str) -> Result<Parsed<'_>, ParseError> {
    if line.len() > MAX_LINE {
        return Err(ParseError::TooLong);
    }
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if !trimmed.starts_with('{') {
        return Err(ParseError::NotObject);
    }
    let raw: Raw<'_> =
        serde_json::from_str(line).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let raw = match raw.event {
        Some(inner) => *inner,
        None => raw,
    };
    let time_ms = raw.time_ms.0.ok_or(ParseError::NoTime)?;
    if !time_ms.is_finite() || time_ms.fract() != 0.0 {
        return Err(ParseError::NoTime);
    }
    let action = raw.action.0.ok_or(ParseError::NoAction)?;
    let allowed = match raw.outcome.0.as_deref() {
        Some("allowed") => true,
        Some("denied") => false,
        _ => return Err(ParseError::BadOutcome),
    };
    let time_ms = time_ms as i64;
    Ok(Some(Event {
        time_ms,
        kind: Kind::of(&action, allowed),
        action,
        allowed,
        reason: raw.reason.0,
        actor: raw.actor.0,
        party: raw.party.0,
        target: raw.target.0.unwrap_or(Cow::Borrowed("")),
        source: raw.source.0,
        mark_id: raw.mark_id.0,
        detail: raw.detail.unwrap_or_default().into(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw<'a> {
    time_ms: LNum,
    #[serde(borrow)]
    action: LStr<'a>,
    #[serde(borrow)]
    outcome: LStr<'a>,
    #[serde(borrow)]
    reason: LStr<'a>,
    #[serde(borrow, alias = "actor_user")]
    actor: LStr<'a>,
    #[serde(borrow, alias = "actor_party")]
    party: LStr<'a>,
    #[serde(borrow)]
    target: LStr<'a>,
    #[serde(borrow, alias = "source_addr")]
    source: LStr<'a>,
    #[serde(borrow)]
    mark_id: LStr<'a>,
    #[serde(borrow)]
    detail: Option<RawDetail<'a>>,
    #[serde(borrow)]
    event: Option<Box<Raw<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawDetail<'a> {
    size: LNum,
    #[serde(borrow)]
    room: LStr<'a>,
    end_ms: LNum,
    expires_ms: LNum,
    pages: LNum,
    #[serde(borrow)]
    party: LStr<'a>,
    #[serde(borrow)]
    subject: LStr<'a>,
    #[serde(borrow)]
    mark_id: LStr<'a>,
    #[serde(borrow)]
    role: LStr<'a>,
    #[serde(borrow)]
    status: LStr<'a>,
    #[serde(borrow)]
    kind: LStr<'a>,
    #[serde(borrow)]
    country: LStr<'a>,
    dlp: Present,
}

impl<'a> From<RawDetail<'a>> for Detail<'a> {
    fn from(d: RawDetail<'a>) -> Self {
        Detail {
            size: d.size.0,
            room: d.room.0,
            end_ms: d.end_ms.0,
            expires_ms: d.expires_ms.0,
            pages: d.pages.0,
            party: d.party.0,
            subject: d.subject.0,
            mark_id: d.mark_id.0,
            role: d.role.0,
            status: d.status.0,
            kind: d.kind.0,
            country: d.country.0,
            dlp: d.dlp.0,
        }
    }
}

/// A string if the value is one, else absent.
#[derive(Default)]
struct LStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(LStr(Some(Cow::Owned(v))))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LStr(None))
            }
            other_values!(LStr(None));
        }
        d.deserialize_any(V)
    }
}

/// A number if the value is one, else absent.
#[derive(Default)]
struct LNum(Option<f64>);

impl<'de> Deserialize<'de> for LNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LNum;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LNum(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LNum(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LNum(Some(v)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(LNum(None))
            }
            other_values!(LNum(None));
        }
        d.deserialize_any(V)
    }
}

/// Whether a value is there and is neither `null` nor `false`.
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Present(!matches!(
            v,
            serde_json::Value::Null | serde_json::Value::Bool(false)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIEM: &str = r#"{"schema":"custody.event/1","seq":42,"ledger_index":41,"time":"2023-11-14T22:13:20.123Z","time_ms":1700000000123,"severity":"warning","action":"file.download","outcome":"allowed","reason":null,"actor":"u1","party":"p1","target":"file:7","request_id":"req-1","source":"192.0.2.7","user_agent":null,"mark_id":"m1","detail":{"version":3,"size":2048,"room":"r1","dlp":{"findings":1}}}"#;
    const LEDGER: &str = r#"{"index":41,"leaf":"AQ==","leaf_hash":"00","event":{"time_ms":1700000000123,"actor_user":"u1","actor_party":"p1","action":"file.download","target":"file:7","outcome":"allowed","reason":null,"source_addr":"192.0.2.7","user_agent":null,"request_id":null,"mark_id":"m1","detail":{"version":3,"size":2048,"room":"r1","dlp":{"findings":1}}}}"#;

    #[test]
    fn a_detail_held_as_json_reads_like_a_line() {
        let line = parse_line(SIEM).unwrap().unwrap();
        let table = [
            (
                serde_json::json!({"version":3,"size":2048,"room":"r1","dlp":{"findings":1}}),
                line.detail.clone(),
            ),
            (serde_json::Value::Null, Detail::default()),
            (serde_json::json!([1, 2]), Detail::default()),
            (
                serde_json::json!({"size":"big","room":7}),
                Detail::default(),
            ),
        ];
        for (value, want) in table {
            assert_eq!(Detail::from_value(&value), want, "{value}");
        }
    }

    #[test]
    fn both_exports_read_alike() {
        let a = parse_line(SIEM).unwrap().unwrap();
        let b = parse_line(LEDGER).unwrap().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.kind, Kind::Download);
        assert_eq!(a.actor.as_deref(), Some("u1"));
        assert_eq!(a.party.as_deref(), Some("p1"));
        assert_eq!(a.source.as_deref(), Some("192.0.2.7"));
        assert_eq!(a.mark_id.as_deref(), Some("m1"));
        assert_eq!(a.detail.size, Some(2048.0));
        assert_eq!(a.detail.room.as_deref(), Some("r1"));
        assert!(a.detail.dlp);
    }

    #[test]
    fn malformed_lines_have_stable_kinds() {
        fn check(line: &str, want: Result<bool, &str>) {
            let got = parse_line(line).map(|p| p.is_some()).map_err(|e| e.kind());
            assert_eq!(got, want, "{line}");
        }
        let long = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_LINE));
        let table: [(&str, Result<bool, &str>); 10] = [
            ("", Ok(false)),
            ("   ", Ok(false)),
            ("{", Err("not_json")),
            ("[1,2]", Err("not_object")),
            ("{}", Err("no_time")),
            (
                r#"{"time_ms":1.5,"action":"a","outcome":"allowed"}"#,
                Err("no_time"),
            ),
            (r#"{"time_ms":1,"outcome":"allowed"}"#, Err("no_action")),
            (
                r#"{"time_ms":1,"action":"a","outcome":"maybe"}"#,
                Err("bad_outcome"),
            ),
            (
                r#"{"time_ms":1,"action":"a","outcome":"denied","detail":{"size":"big","room":7,"dlp":null}}"#,
                Ok(true),
            ),
            (&long, Err("too_long")),
        ];
        for (line, want) in table {
            check(line, want);
        }
    }

    #[test]
    fn kinds_of_actions() {
        let table = [
            ("file.download", true, Kind::Download),
            ("file.download", false, Kind::Denied),
            ("auth.login", true, Kind::SignIn),
            ("auth.login", false, Kind::SignInFailed),
            ("auth.totp_confirm", false, Kind::SignInFailed),
            ("dlp.hold", true, Kind::Dlp),
            ("agreement.expire", true, Kind::AgreementEnd),
            ("grant.revoke", true, Kind::AgreementEnd),
            ("mark.trace", true, Kind::Trace),
            ("mark.trace", false, Kind::Denied),
            ("room.create", true, Kind::Other),
            ("dlp.rule_remove", true, Kind::Admin),
            ("policy.change", true, Kind::Admin),
            ("policy.change", false, Kind::Denied),
        ];
        for (action, allowed, want) in table {
            assert_eq!(Kind::of(action, allowed), want, "{action} {allowed}");
        }
    }
}
