//! Whether the JSON text of an event equals the decoded event, decided while
//! the text is parsed: the same answer as parsing it into a `Value` and
//! comparing that with [`EventLeaf::to_json`](super::EventLeaf::to_json),
//! without building either (a verifier compares a million of them).
//!
//! `Value` equality is emulated exactly: an object with exactly the twelve
//! names (a repeated name counts by its last value, as in a parsed map), text
//! fields equal as strings or both null, `time_ms` equal as a JSON number
//! (`1000.0` is not `1000`), and the detail equal as a parsed `Value`.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::LeafView;

/// The names of the decoded event's members, as `to_json` writes them.
const NAMES: [&str; 12] = [
    "time_ms",
    "actor_user",
    "actor_party",
    "action",
    "target",
    "outcome",
    "reason",
    "source_addr",
    "user_agent",
    "request_id",
    "mark_id",
    "detail",
];
const TIME: usize = 0;
const DETAIL: usize = 11;

impl LeafView<'_> {
    /// Whether `text`, a JSON value, is this event as
    /// [`EventLeaf::to_json`](super::EventLeaf::to_json) gives it (compared
    /// as values, so member order and spacing do not matter). Text that is
    /// not JSON does not match.
    pub fn matches_event_json(&self, text: &str) -> bool {
        let mut de = serde_json::Deserializer::from_str(text);
        Expect::Event(self).deserialize(&mut de).unwrap_or(false)
    }

    /// The text field at position `k` of [`NAMES`].
    fn text(&self, k: usize) -> Option<&str> {
        match k {
            1 => self.actor_user,
            2 => self.actor_party,
            3 => Some(self.action),
            4 => Some(self.target),
            5 => Some(self.outcome),
            6 => self.reason,
            7 => self.source_addr,
            8 => self.user_agent,
            9 => self.request_id,
            10 => self.mark_id,
            _ => None,
        }
    }
}

/// What a JSON value is compared with; deserializes to whether it matches.
#[derive(Clone, Copy)]
enum Expect<'v, 'a> {
    Event(&'v LeafView<'a>),
    Text(Option<&'v str>),
    Int(i64),
    /// Equal as `Value`s.
    Value(&'v Value),
}

impl<'de> DeserializeSeed<'de> for Expect<'_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Expect<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
        Ok(matches!(self, Expect::Value(Value::Bool(t)) if *t == v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
        Ok(self.number(Number::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
        Ok(self.number(Number::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
        // As a parsed `Value` holds it; a float never equals an integer.
        Ok(Number::from_f64(v).is_some_and(|n| self.number(n)))
    }

    fn visit_str<E>(self, v: &str) -> Result<bool, E> {
        Ok(match self {
            Expect::Text(Some(t)) => t == v,
            Expect::Value(Value::String(t)) => t == v,
            _ => false,
        })
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(matches!(
            self,
            Expect::Text(None) | Expect::Value(Value::Null)
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut want = match self {
            Expect::Value(Value::Array(items)) => Some(items.iter()),
            _ => None,
        };
        let mut same = want.is_some();
        loop {
            let next = want.as_mut().and_then(Iterator::next);
            let more = match next {
                Some(item) if same => seq.next_element_seed(Expect::Value(item))?,
                _ => seq.next_element::<IgnoredAny>()?.map(|_| false),
            };
            match more {
                Some(equal) => same &= equal,
                // The text ended: equal only if the expected array did too.
                None => return Ok(same && next.is_none()),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let leaf = match self {
            Expect::Event(leaf) => leaf,
            Expect::Value(Value::Object(want)) => return object(map, want),
            _ => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(false);
            }
        };
        // The last value of each name decides, as in a parsed map.
        let mut matched = [false; NAMES.len()];
        let mut seen = [false; NAMES.len()];
        let mut unknown = false;
        while let Some(name) = map.next_key_seed(Position(&NAMES))? {
            let Some(k) = name else {
                map.next_value::<IgnoredAny>()?;
                unknown = true;
                continue;
            };
            let same = match k {
                TIME => map.next_value_seed(Expect::Int(leaf.time_ms))?,
                DETAIL => map.next_value_seed(Expect::Value(&leaf.detail))?,
                _ => map.next_value_seed(Expect::Text(leaf.text(k)))?,
            };
            if let (Some(m), Some(s)) = (matched.get_mut(k), seen.get_mut(k)) {
                (*m, *s) = (same, true);
            }
        }
        Ok(!unknown && seen.iter().all(|&s| s) && matched.iter().all(|&m| m))
    }
}

impl Expect<'_, '_> {
    /// Whether the expected value is the JSON number `n`.
    fn number(self, n: Number) -> bool {
        match self {
            Expect::Int(t) => n == Number::from(t),
            Expect::Value(Value::Number(t)) => n == *t,
            _ => false,
        }
    }
}

/// Whether the object being parsed equals `want` as a `Value` (a repeated
/// name counts by its last value).
fn object<'de, A: MapAccess<'de>>(
    mut map: A,
    want: &serde_json::Map<String, Value>,
) -> Result<bool, A::Error> {
    let names: Vec<&str> = want.keys().map(String::as_str).collect();
    // Whether each expected member was seen, and equal the last time.
    let mut matched: Vec<Option<bool>> = vec![None; names.len()];
    let mut unknown = false;
    while let Some(name) = map.next_key_seed(Position(&names))? {
        let expected = name
            .and_then(|k| Some((names.get(k)?, k)))
            .and_then(|(n, k)| Some((want.get(*n)?, k)));
        match expected {
            Some((value, k)) => {
                let same = map.next_value_seed(Expect::Value(value))?;
                if let Some(m) = matched.get_mut(k) {
                    *m = Some(same);
                }
            }
            None => {
                map.next_value::<IgnoredAny>()?;
                unknown = true;
            }
        }
    }
    Ok(!unknown && matched.iter().all(|&m| m == Some(true)))
}

/// A member name: its position among the names given, or `None` for another.
struct Position<'n>(&'n [&'n str]);

impl<'de> DeserializeSeed<'de> for Position<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<usize>, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for Position<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| *n == v))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EventLeaf, LeafView};
    use serde_json::{Value, json};

    fn event() -> EventLeaf {
        EventLeaf {
            time_ms: 1_700_000_000_000,
            actor_user: Some("u".into()),
            actor_party: None,
            action: "file.download".into(),
            target: "file:42".into(),
            outcome: "allowed".into(),
            reason: None,
            source_addr: Some("192.0.2.7".into()),
            user_agent: None,
            request_id: Some("r1".into()),
            mark_id: None,
            detail_json: r#"{"a":{"b":[true,null,"x"]},"bytes":3,"v":[1,2.5]}"#.into(),
        }
    }

    /// The reference answer: `Value` equality with `to_json`.
    fn by_value(leaf: &EventLeaf, text: &str) -> bool {
        serde_json::from_str::<Value>(text).ok() == Some(leaf.to_json().unwrap())
    }

    fn check(what: &str, text: &str, want: bool) {
        let leaf = event();
        let bytes = leaf.encode().unwrap();
        let view = LeafView::decode(&bytes).unwrap();
        assert_eq!(
            by_value(&leaf, text),
            want,
            "{what}: the reference disagrees"
        );
        assert_eq!(view.matches_event_json(text), want, "{what}");
    }

    /// The event as `to_json` writes it, with `edit` applied.
    fn edited(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut value = event().to_json().unwrap();
        if let Value::Object(map) = &mut value {
            edit(map);
        }
        value.to_string()
    }

    #[test]
    fn matches_as_value_equality_does() {
        let exact = edited(|_| {});
        let reordered = format!(
            r#"{{ "detail" : {{"v":[1,2.5],"bytes":3}}, {} }}"#,
            // Exactly one brace each side: the last member may itself be an object.
            exact
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .unwrap()
        );
        let cases: Vec<(&str, String, bool)> = vec![
            ("as written", exact.clone(), true),
            ("reordered, spaced", reordered, true),
            (
                "repeated name, last right",
                exact.replacen('{', r#"{"target":"x","#, 1),
                true,
            ),
            (
                "repeated name, last wrong",
                format!(r#"{},"target":"x"}}"#, exact.strip_suffix('}').unwrap()),
                false,
            ),
            (
                "escaped text",
                exact.replace("file:42", r"file\u003a42"),
                true,
            ),
            (
                "other text",
                edited(|m| m["target"] = "file:43".into()),
                false,
            ),
            (
                "null for text",
                edited(|m| m["action"] = Value::Null),
                false,
            ),
            ("text for null", edited(|m| m["reason"] = "x".into()), false),
            (
                "number for text",
                edited(|m| m["target"] = 42.into()),
                false,
            ),
            (
                "missing member",
                edited(|m| drop(m.remove("mark_id"))),
                false,
            ),
            (
                "extra member",
                edited(|m| drop(m.insert("x".into(), Value::Null))),
                false,
            ),
            (
                "time as float",
                exact.replace("1700000000000", "1700000000000.0"),
                false,
            ),
            (
                "time off by one",
                exact.replace("1700000000000", "1700000000001"),
                false,
            ),
            (
                "time negative",
                exact.replace("1700000000000", "-1700000000000"),
                false,
            ),
            (
                "time as text",
                edited(|m| m["time_ms"] = "1700000000000".into()),
                false,
            ),
            ("detail float", exact.replace("2.5", "2.50"), true),
            ("detail other", exact.replace("2.5", "2.6"), false),
            (
                "detail as text",
                edited(|m| m["detail"] = "{}".into()),
                false,
            ),
            ("array", json!([1, 2]).to_string(), false),
            ("null", "null".into(), false),
            ("not json", "{".into(), false),
        ];
        for (what, text, want) in cases {
            check(what, &text, want);
        }
    }
}
