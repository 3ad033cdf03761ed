//! One event as one line of JSON (JSON Lines), for Splunk's and Elastic's file
//! and HTTP inputs. The field names below are a stable interface: do not
//! rename or remove one; add new fields at the end and bump [`SCHEMA`] only for
//! an incompatible change.
//!
//! ```json
//! {"schema":"custody.event/1","seq":42,"ledger_index":41,"time":"2023-11-14T22:13:20.123Z",
//!  "time_ms":1700000000123,"severity":"warning","action":"file.download","outcome":"denied",
//!  "reason":"no_grant","actor":"…","party":"…","target":"file:…","request_id":"…",
//!  "source":"192.0.2.7","user_agent":"…","mark_id":null,"detail":{…}}
//! ```
//!
//! Absent values are `null`, never left out, so every line has every field.

use serde::Serialize;

use crate::syslog::Severity;
use crate::{Item, SiemError};

/// The value of the `schema` field. Do not change for a compatible addition.
pub const SCHEMA: &str = "custody.event/1";

#[derive(Serialize)]
struct Line<'a> {
    schema: &'static str,
    seq: i64,
    ledger_index: Option<u64>,
    /// RFC 3339 UTC with milliseconds; `null` for a time RFC 3339 cannot write.
    time: Option<String>,
    time_ms: i64,
    severity: &'static str,
    action: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    actor: Option<String>,
    party: Option<String>,
    target: &'a str,
    request_id: Option<&'a str>,
    source: Option<&'a str>,
    user_agent: Option<&'a str>,
    mark_id: Option<&'a str>,
    detail: &'a serde_json::Value,
}

/// The JSON line of `item`, with its final `\n`.
pub fn line(item: Item<'_>) -> Result<String, SiemError> {
    let e = item.event;
    let line = Line {
        schema: SCHEMA,
        seq: e.seq,
        ledger_index: item.ledger_index,
        time: crate::rfc3339(e.time_ms),
        time_ms: e.time_ms,
        severity: Severity::of(e).name(),
        action: &e.action,
        outcome: e.outcome.as_str(),
        reason: e.reason.as_deref(),
        actor: e.actor_user.map(|id| id.to_string()),
        party: e.actor_party.map(|id| id.to_string()),
        target: &e.target,
        request_id: e.request_id.as_deref(),
        source: e.source_addr.as_deref(),
        user_agent: e.user_agent.as_deref(),
        mark_id: e.mark_id.as_deref(),
        detail: &e.detail,
    };
    let mut text = serde_json::to_string(&line).map_err(|err| SiemError::Encode {
        seq: e.seq,
        reason: err.to_string(),
    })?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use model::{Event, Outcome, PartyId, UserId};
    use serde_json::{Value, json};
    use uuid::Uuid;

    use super::*;

    fn event() -> Event {
        Event {
            seq: 42,
            time_ms: 1_700_000_000_123,
            actor_user: Some(UserId(Uuid::from_u128(2))),
            actor_party: Some(PartyId(Uuid::from_u128(1))),
            action: "file.download".into(),
            target: "file:7\nnext".into(),
            outcome: Outcome::Denied,
            reason: Some("integrity_error".into()),
            source_addr: Some("192.0.2.7".into()),
            user_agent: None,
            request_id: Some("req-1".into()),
            mark_id: None,
            detail: json!({"version": 3}),
        }
    }

    /// Format-pinning known-answer test: the expected line was written by hand;
    /// the field order is part of the format.
    #[test]
    fn line_known_answer() {
        let e = event();
        let got = line(Item {
            event: &e,
            ledger_index: Some(41),
        })
        .unwrap();
        let want = concat!(
            r#"{"schema":"custody.event/1","seq":42,"ledger_index":41,"#,
            r#""time":"2023-11-14T22:13:20.123Z","time_ms":1700000000123,"#,
            r#""severity":"alert","action":"file.download","outcome":"denied","#,
            r#""reason":"integrity_error","actor":"00000000-0000-0000-0000-000000000002","#,
            r#""party":"00000000-0000-0000-0000-000000000001","target":"file:7\nnext","#,
            r#""request_id":"req-1","source":"192.0.2.7","user_agent":null,"#,
            r#""mark_id":null,"detail":{"version":3}}"#,
            "\n"
        );
        assert_eq!(got, want);
    }

    #[test]
    fn one_line_per_event_with_every_field() {
        fn check(e: &Event, index: Option<u64>, field: &str, want: Value) {
            let text = line(Item {
                event: e,
                ledger_index: index,
            })
            .unwrap();
            assert_eq!(text.matches('\n').count(), 1, "{text}");
            assert!(text.ends_with('\n'));
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 17, "{text}");
            assert_eq!(v[field], want, "{field} in {text}");
        }
        let mut bare = event();
        bare.actor_user = None;
        bare.reason = None;
        bare.outcome = Outcome::Allowed;
        bare.time_ms = i64::MIN;
        let full = event();
        let table = [
            (&full, Some(41), "ledger_index", json!(41)),
            (&full, None, "ledger_index", Value::Null),
            (&full, None, "target", json!("file:7\nnext")),
            (&bare, None, "actor", Value::Null),
            (&bare, None, "reason", Value::Null),
            (&bare, None, "severity", json!("informational")),
            (&bare, None, "time", Value::Null),
            (&bare, None, "time_ms", json!(i64::MIN)),
        ];
        for (e, index, field, want) in table {
            check(e, index, field, want);
        }
    }
}
