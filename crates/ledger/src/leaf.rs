//! The leaf encoding of an audited event and the export line that carries it.
//!
//! A leaf is a canonical, deterministic, versioned binary encoding of one event:
//! the bytes that are hashed into the Merkle tree. The layout (docs/ledger.md,
//! "Leaf encoding") is part of the public format: **do not change** version 1;
//! add a new version instead. [`EventLeaf::decode`] is strict, so one event has
//! exactly one encoding. An [`ExportEntry`] is one line of an export: a leaf's
//! exact bytes beside its hash and its decoded event.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LedgerError;
use crate::merkle::{Hash, leaf_hash};

mod event_json;

/// The first byte of a version 1 leaf; do not change.
pub const LEAF_VERSION: u8 = 0x01;
/// Presence byte of an absent field; do not change.
pub const ABSENT: u8 = 0x00;
/// Presence byte of a present field (then a u32 length and the bytes); do not change.
pub const PRESENT: u8 = 0x01;

/// One audited event as the ledger records it.
///
/// Ids are in their text form (lowercase hyphenated UUIDs); `outcome` is
/// `allowed` or `denied`; `detail_json` is the canonical JSON of the detail
/// object ([`canonical_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLeaf {
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub actor_user: Option<String>,
    pub actor_party: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub source_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub mark_id: Option<String>,
    pub detail_json: String,
}

impl EventLeaf {
    /// The fields after the time, in their encoding order, with whether each
    /// is optional.
    fn fields(&self) -> [(Option<&str>, bool); 11] {
        [
            (self.actor_user.as_deref(), true),
            (self.actor_party.as_deref(), true),
            (Some(&self.action), false),
            (Some(&self.target), false),
            (Some(&self.outcome), false),
            (self.reason.as_deref(), true),
            (self.source_addr.as_deref(), true),
            (self.user_agent.as_deref(), true),
            (self.request_id.as_deref(), true),
            (self.mark_id.as_deref(), true),
            (Some(&self.detail_json), false),
        ]
    }

    /// The version 1 leaf bytes. Fails only on a field longer than 4 GiB.
    pub fn encode(&self) -> Result<Vec<u8>, LedgerError> {
        let mut out = vec![LEAF_VERSION];
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        for (field, _) in self.fields() {
            match field {
                None => out.push(ABSENT),
                Some(text) => {
                    let len = u32::try_from(text.len())
                        .map_err(|_| LedgerError::BadLeaf("field longer than 4 GiB"))?;
                    out.push(PRESENT);
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
            }
        }
        Ok(out)
    }

    /// Decodes leaf bytes strictly: the version must be known, every presence
    /// byte 0 or 1, required fields present, text valid UTF-8, the detail
    /// canonical JSON, and nothing may follow the last field.
    pub fn decode(bytes: &[u8]) -> Result<EventLeaf, LedgerError> {
        LeafView::decode(bytes).map(|view| view.to_owned())
    }

    /// The decoded event as a JSON object: the fields by name, absent ones as
    /// `null`, and the detail as a JSON value under `detail`.
    pub fn to_json(&self) -> Result<Value, LedgerError> {
        let detail: Value = serde_json::from_str(&self.detail_json)
            .map_err(|_| LedgerError::BadLeaf("detail is not valid json"))?;
        Ok(serde_json::json!({
            "time_ms": self.time_ms,
            "actor_user": self.actor_user,
            "actor_party": self.actor_party,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "reason": self.reason,
            "source_addr": self.source_addr,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
            "mark_id": self.mark_id,
            "detail": detail,
        }))
    }
}

fn required(field: Option<&str>) -> Result<&str, LedgerError> {
    field.ok_or(LedgerError::BadLeaf("required field absent"))
}

/// A decoded leaf that borrows its text from the leaf bytes, with its detail
/// parsed: what [`EventLeaf::decode`] checks, without copying the fields
/// (a verifier decodes a million of them).
#[derive(Debug, Clone, PartialEq)]
pub struct LeafView<'a> {
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub actor_user: Option<&'a str>,
    pub actor_party: Option<&'a str>,
    pub action: &'a str,
    pub target: &'a str,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub source_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub mark_id: Option<&'a str>,
    pub detail_json: &'a str,
    /// `detail_json` parsed.
    pub detail: Value,
}

impl<'a> LeafView<'a> {
    /// Decodes leaf bytes as strictly as [`EventLeaf::decode`] (which is this
    /// decoding, copied).
    pub fn decode(bytes: &'a [u8]) -> Result<LeafView<'a>, LedgerError> {
        let mut r = Reader { rest: bytes };
        if r.take(1)? != [LEAF_VERSION] {
            return Err(LedgerError::BadLeaf("unknown leaf version"));
        }
        let time = r.take(8)?;
        let time_ms = i64::from_be_bytes(
            time.try_into()
                .map_err(|_| LedgerError::BadLeaf("truncated leaf"))?,
        );
        let mut opt = || r.field();
        let (actor_user, actor_party) = (opt()?, opt()?);
        let (action, target, outcome) = (opt()?, opt()?, opt()?);
        let (reason, source_addr, user_agent) = (opt()?, opt()?, opt()?);
        let (request_id, mark_id, detail_json) = (opt()?, opt()?, opt()?);
        if !r.rest.is_empty() {
            return Err(LedgerError::BadLeaf("trailing bytes after the last field"));
        }
        let (action, target, outcome) = (required(action)?, required(target)?, required(outcome)?);
        let detail_json = required(detail_json)?;
        let detail: Value = serde_json::from_str(detail_json)
            .map_err(|_| LedgerError::BadLeaf("detail is not valid json"))?;
        if !is_canonical(&detail, detail_json)? {
            return Err(LedgerError::BadLeaf("detail is not canonical json"));
        }
        Ok(LeafView {
            time_ms,
            actor_user,
            actor_party,
            action,
            target,
            outcome,
            reason,
            source_addr,
            user_agent,
            request_id,
            mark_id,
            detail_json,
            detail,
        })
    }

    /// The owned event.
    pub fn to_owned(&self) -> EventLeaf {
        let own = |field: Option<&str>| field.map(str::to_owned);
        EventLeaf {
            time_ms: self.time_ms,
            actor_user: own(self.actor_user),
            actor_party: own(self.actor_party),
            action: self.action.to_owned(),
            target: self.target.to_owned(),
            outcome: self.outcome.to_owned(),
            reason: own(self.reason),
            source_addr: own(self.source_addr),
            user_agent: own(self.user_agent),
            request_id: own(self.request_id),
            mark_id: own(self.mark_id),
            detail_json: self.detail_json.to_owned(),
        }
    }
}

/// A cursor over leaf bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LedgerError> {
        if self.rest.len() < n {
            return Err(LedgerError::BadLeaf("truncated leaf"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn field(&mut self) -> Result<Option<&'a str>, LedgerError> {
        match self.take(1)? {
            [ABSENT] => Ok(None),
            [PRESENT] => {
                let len = self.take(4)?;
                let len = u32::from_be_bytes(
                    len.try_into()
                        .map_err(|_| LedgerError::BadLeaf("truncated leaf"))?,
                );
                let len = usize::try_from(len)
                    .map_err(|_| LedgerError::BadLeaf("field too long for this machine"))?;
                let text = std::str::from_utf8(self.take(len)?)
                    .map_err(|_| LedgerError::BadLeaf("field is not valid utf-8"))?;
                Ok(Some(text))
            }
            _ => Err(LedgerError::BadLeaf("presence byte is neither 0 nor 1")),
        }
    }
}

/// The canonical JSON text of `value`: compact (no whitespace), object members
/// sorted by the bytes of their keys, strings and numbers as serde_json
/// writes them. The same as serde_json's compact output with its default
/// (sorted) map, whatever features the build enables.
pub fn canonical_json(value: &Value) -> Result<String, LedgerError> {
    let mut out = Vec::new();
    write_canonical(value, &mut out)?;
    String::from_utf8(out).map_err(|_| LedgerError::BadLeaf("detail cannot be serialized"))
}

/// Whether `text` is the canonical JSON of `value`, written into a buffer
/// that is reused on each thread.
fn is_canonical(value: &Value, text: &str) -> Result<bool, LedgerError> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut out = buffer.take();
        out.clear();
        let same = write_canonical(value, &mut out).map(|()| out == text.as_bytes());
        buffer.replace(out);
        same
    })
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), LedgerError> {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(key, out)?;
                out.push(b':');
                write_canonical(item, out)?;
            }
            out.push(b'}');
        }
        scalar_value => scalar(scalar_value, out)?,
    }
    Ok(())
}

/// A string or scalar as serde_json writes it.
fn scalar<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), LedgerError> {
    serde_json::to_writer(out, value)
        .map_err(|_| LedgerError::BadLeaf("detail cannot be serialized"))
}

/// One line of a ledger export (JSON lines): a leaf's index, its exact bytes
/// (standard padded base64), its hash (lowercase hex) and the decoded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    pub index: u64,
    pub leaf: String,
    pub leaf_hash: String,
    pub event: Value,
}

impl ExportEntry {
    /// The export line of leaf `index` with bytes `leaf`.
    pub fn new(index: u64, leaf: &[u8]) -> Result<ExportEntry, LedgerError> {
        Ok(ExportEntry {
            index,
            leaf: STANDARD.encode(leaf),
            leaf_hash: hex(&leaf_hash(leaf)),
            event: EventLeaf::decode(leaf)?.to_json()?,
        })
    }

    /// Parses one export line.
    pub fn parse_line(line: &str) -> Result<ExportEntry, LedgerError> {
        serde_json::from_str(line).map_err(|_| LedgerError::BadLeaf("not a valid export line"))
    }

    /// The line as compact JSON (without its newline).
    pub fn to_line(&self) -> Result<String, LedgerError> {
        serde_json::to_string(self)
            .map_err(|_| LedgerError::BadLeaf("export line cannot be serialized"))
    }

    /// The exact leaf bytes carried by the line.
    pub fn leaf_bytes(&self) -> Result<Vec<u8>, LedgerError> {
        STANDARD
            .decode(&self.leaf)
            .map_err(|_| LedgerError::BadLeaf("leaf is not valid base64"))
    }

    /// The leaf hash the line claims.
    pub fn claimed_hash(&self) -> Result<Hash, LedgerError> {
        unhex(&self.leaf_hash).ok_or(LedgerError::BadLeaf("leaf hash is not 64 hex digits"))
    }
}

/// Lowercase hex of a hash.
pub fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from exactly 64 lowercase hex digits.
fn unhex(text: &str) -> Option<Hash> {
    if text.len() != 64 || text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/ledger.md, "Leaf encoding".
    fn example() -> EventLeaf {
        EventLeaf {
            time_ms: 1_700_000_000_000,
            actor_user: Some("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9".into()),
            actor_party: None,
            action: "file.download".into(),
            target: "file:42".into(),
            outcome: "allowed".into(),
            reason: None,
            source_addr: Some("192.0.2.7".into()),
            user_agent: None,
            request_id: Some("r1".into()),
            mark_id: None,
            detail_json: r#"{"bytes":3,"v":1}"#.into(),
        }
    }

    const EXAMPLE_HEX: &str = concat!(
        "01",
        "0000018bcfe56800",
        "01",
        "00000024",
        "30663165326433632d346235612d343937382d383639352d613462336332643165306639",
        "00",
        "01",
        "0000000d",
        "66696c652e646f776e6c6f6164",
        "01",
        "00000007",
        "66696c653a3432",
        "01",
        "00000007",
        "616c6c6f776564",
        "00",
        "01",
        "00000009",
        "3139322e302e322e37",
        "00",
        "01",
        "00000002",
        "7231",
        "00",
        "01",
        "00000011",
        "7b226279746573223a332c2276223a317d",
    );

    fn unhex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn worked_example_is_pinned() {
        let bytes = example().encode().unwrap();
        let hex_bytes: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex_bytes, EXAMPLE_HEX);
        assert_eq!(
            EventLeaf::decode(&unhex_bytes(EXAMPLE_HEX)).unwrap(),
            example()
        );
        assert_eq!(
            hex(&leaf_hash(&bytes)),
            "acef19a1a205d1c182d2a531cdf1af14ae97732bb18b3ff1ef3f737108d0ad91"
        );
    }

    #[test]
    fn round_trips() {
        let all_absent = EventLeaf {
            time_ms: -1,
            actor_user: None,
            actor_party: None,
            action: String::new(),
            target: String::new(),
            outcome: "denied".into(),
            reason: None,
            source_addr: None,
            user_agent: None,
            request_id: None,
            mark_id: None,
            detail_json: "null".into(),
        };
        let all_present = EventLeaf {
            time_ms: i64::MAX,
            actor_party: Some("p".into()),
            reason: Some("no_grant".into()),
            user_agent: Some("curl/8 — ünïcode".into()),
            mark_id: Some("m-1".into()),
            detail_json: r#"{"a":[1,2.5,"x\n"],"b":{"c":null}}"#.into(),
            ..example()
        };
        for leaf in [example(), all_absent, all_present] {
            let bytes = leaf.encode().unwrap();
            assert_eq!(EventLeaf::decode(&bytes).unwrap(), leaf);
            let entry = ExportEntry::new(7, &bytes).unwrap();
            let line = entry.to_line().unwrap();
            let back = ExportEntry::parse_line(&line).unwrap();
            assert_eq!(back, entry);
            assert_eq!(back.leaf_bytes().unwrap(), bytes);
            assert_eq!(back.claimed_hash().unwrap(), leaf_hash(&bytes));
        }
    }

    /// A detail with fractional numbers (an alert's score, a trace's
    /// confidence) decodes: the canonical text is the shortest that reads
    /// back as the same number, so parsing it must be exact (serde_json's
    /// `float_roundtrip`), or the leaf would not decode and no bundle holding
    /// it would verify.
    #[test]
    fn regression_float_details_decode() {
        for number in [
            0.1 + 0.2,
            0.9999999997671694,
            0.9999847412109375,
            7.123456789012345,
            1e-300,
            2.5e20,
            -0.0001234567890123,
            123456.78901234567,
        ] {
            let value = serde_json::json!({"confidence": number, "score": [number, 1.5]});
            let leaf = EventLeaf {
                detail_json: canonical_json(&value).unwrap(),
                ..example()
            };
            let bytes = leaf.encode().unwrap();
            assert_eq!(EventLeaf::decode(&bytes).unwrap(), leaf, "{number:e}");
        }
    }

    #[test]
    fn canonical_json_sorts_and_compacts() {
        let check = |input: &str, want: &str| {
            let value: Value = serde_json::from_str(input).unwrap();
            assert_eq!(canonical_json(&value).unwrap(), want, "{input}");
        };
        check("null", "null");
        check(
            r#"{ "b": 1, "a": [ true, false ] }"#,
            r#"{"a":[true,false],"b":1}"#,
        );
        check(r#"{"é":1,"z":2,"A":3}"#, r#"{"A":3,"z":2,"é":1}"#);
        check(
            r#"{"s":"tab\tquote\"slash/é\u0001"}"#,
            r#"{"s":"tab\tquote\"slash/é\u0001"}"#,
        );
        check(
            "[1.50, -0, 1e3, 18446744073709551615]",
            "[1.5,-0.0,1000.0,18446744073709551615]",
        );
    }

    #[test]
    fn malformed_leaves_are_rejected() {
        let good = example().encode().unwrap();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            b
        };
        // Offset of the presence byte of `actor_party` (absent in the example).
        let actor_party = 1 + 8 + 1 + 4 + 36;
        let detail_at = good.len() - 17;
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "truncated leaf"),
            ("version 2", with(&|b| b[0] = 2), "unknown leaf version"),
            ("version 0", with(&|b| b[0] = 0), "unknown leaf version"),
            ("short time", good[..5].to_vec(), "truncated leaf"),
            (
                "trailing",
                with(&|b| b.push(0)),
                "trailing bytes after the last field",
            ),
            ("cut", good[..good.len() - 1].to_vec(), "truncated leaf"),
            (
                "presence 2",
                with(&|b| b[actor_party] = 2),
                "presence byte is neither 0 nor 1",
            ),
            (
                "bad utf-8",
                with(&|b| b[actor_party - 1] = 0xff),
                "field is not valid utf-8",
            ),
            ("long length", with(&|b| b[10] = 0xff), "truncated leaf"),
            (
                "not json",
                with(&|b| b[detail_at] = b'['),
                "detail is not valid json",
            ),
        ];
        for (what, bytes, want) in cases {
            let got = EventLeaf::decode(&bytes).map_err(|e| e.to_string());
            assert_eq!(got, Err(format!("malformed leaf: {want}")), "{what}");
        }
        let mut spaced = example();
        spaced.detail_json = r#"{"v":1,"bytes":3}"#.into();
        let got = EventLeaf::decode(&spaced.encode().unwrap()).map_err(|e| e.code());
        assert_eq!(got, Err("ledger_bad_leaf"), "unsorted keys");
        let mut missing = good.clone();
        // `action` absent: drop its length and bytes, mark it absent.
        let action_at = actor_party + 1;
        missing.splice(action_at..action_at + 1 + 4 + 13, [ABSENT]);
        let got = EventLeaf::decode(&missing).map_err(|e| e.to_string());
        assert_eq!(got, Err("malformed leaf: required field absent".into()));
    }

    #[test]
    fn export_lines_are_strict() {
        let check = |line: &str| {
            let got = ExportEntry::parse_line(line).and_then(|e| {
                e.leaf_bytes()?;
                e.claimed_hash()
            });
            assert_eq!(got.map_err(|e| e.code()), Err("ledger_bad_leaf"), "{line}");
        };
        let hash = "a".repeat(64);
        check("");
        check("{}");
        check(&format!(
            r#"{{"index":0,"leaf":"AA==","leaf_hash":"{hash}","event":{{}},"x":1}}"#
        ));
        check(&format!(
            r#"{{"index":0,"leaf":"AA=","leaf_hash":"{hash}","event":{{}}}}"#
        ));
        check(r#"{"index":0,"leaf":"AA==","leaf_hash":"abc","event":{}}"#);
        let upper = "A".repeat(64);
        check(&format!(
            r#"{{"index":0,"leaf":"AA==","leaf_hash":"{upper}","event":{{}}}}"#
        ));
    }
}
