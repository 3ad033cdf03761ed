//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`,
//! `replace` and `remove` operations (the op in any case, as Entra writes
//! `Replace`), with a path (`active`, `name.givenName`,
//! `emails[type eq "work"].value`, `members[value eq "…"]`, an extension's
//! `urn:…:department`) or without one (the value an object of attributes, as
//! Okta's `{"op":"replace","value":{"active":false}}`). The patched resource
//! is then read like a PUT body, so one set of checks covers both.

use model::ErrorCode;
use serde_json::{Map, Value};

use kernel::AppError;

use super::filter::{self, AttrPath, Filter, Lit, Op};
use super::resource::PATCH_SCHEMA;

/// Most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Add,
    Replace,
    Remove,
}

/// A PATCH path: an attribute, an optional value filter, an optional sub-attribute.
#[derive(Debug)]
struct Path {
    attr: AttrPath,
    filter: Option<Filter>,
}

fn bad_path(path: &str, why: impl std::fmt::Display) -> AppError {
    AppError::invalid(ErrorCode::ScimInvalidPath, format!("path `{path}`: {why}"))
}

fn parse_path(text: &str) -> Result<Path, AppError> {
    let text = text.trim();
    let Some(open) = text.find('[') else {
        let attr = filter::parse_path(text).map_err(|e| bad_path(text, e))?;
        return Ok(Path { attr, filter: None });
    };
    let close = text
        .rfind(']')
        .ok_or_else(|| bad_path(text, "`[` is not closed"))?;
    if close < open {
        return Err(bad_path(text, "`]` before `[`"));
    }
    let mut attr = filter::parse_path(&text[..open]).map_err(|e| bad_path(text, e))?;
    if attr.sub.is_some() {
        return Err(bad_path(
            text,
            "a filter follows an attribute, not a sub-attribute",
        ));
    }
    let inner = filter::parse(&text[open + 1..close]).map_err(|e| bad_path(text, e))?;
    let rest = &text[close + 1..];
    if !rest.is_empty() {
        let sub = rest
            .strip_prefix('.')
            .filter(|s| {
                s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && s.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .ok_or_else(|| bad_path(text, format!("`{rest}` after the filter")))?;
        attr.sub = Some(sub.to_owned());
    }
    Ok(Path {
        attr,
        filter: Some(inner),
    })
}

/// The key of `obj` that names `name` without regard to case, or `name`.
fn key_of(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

const CORE: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
];

/// The object the path's attribute lives in (the resource, or an
/// extension's object, made when a value is to be set).
fn container<'a>(
    doc: &'a mut Value,
    uri: Option<&str>,
    make: bool,
) -> Option<&'a mut Map<String, Value>> {
    let obj = doc.as_object_mut()?;
    match uri {
        None => Some(obj),
        Some(u) if CORE.iter().any(|c| c.eq_ignore_ascii_case(u)) => Some(obj),
        Some(u) => {
            let key = key_of(obj, u);
            if !obj.contains_key(&key) {
                if !make {
                    return None;
                }
                obj.insert(key.clone(), Value::Object(Map::new()));
            }
            obj.get_mut(&key)?.as_object_mut()
        }
    }
}

/// Values equal as SCIM compares multi-valued members: by `value` when both have one.
fn same_item(a: &Value, b: &Value) -> bool {
    match (filter::member(a, "value"), filter::member(b, "value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The element a filter of `eq` comparisons joined by `and` describes, to
/// add when nothing matches (Entra's `emails[type eq "work"].value`).
fn element_of(f: &Filter, into: &mut Map<String, Value>) -> bool {
    match f {
        Filter::And(a, b) => element_of(a, into) && element_of(b, into),
        Filter::Compare(p, Op::Eq, lit) if p.sub.is_none() && p.uri.is_none() => {
            let v = match lit {
                Lit::Str(s) => Value::String(s.clone()),
                Lit::Bool(b) => Value::Bool(*b),
                Lit::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
                Lit::Null => return false,
            };
            into.insert(p.name.clone(), v);
            true
        }
        _ => false,
    }
}

fn apply_one(
    doc: &mut Value,
    kind: Kind,
    raw_path: &str,
    value: Option<&Value>,
) -> Result<(), AppError> {
    let path = parse_path(raw_path)?;
    let value = match (kind, value) {
        (Kind::Remove, v) => v,
        (_, Some(v)) => Some(v),
        (_, None) => {
            return Err(AppError::invalid(
                ErrorCode::ScimInvalidValue,
                format!("the operation on `{raw_path}` needs a `value`"),
            ));
        }
    };
    let obj = container(doc, path.attr.uri.as_deref(), kind != Kind::Remove)
        .ok_or_else(|| bad_path(raw_path, "names no attribute of this resource"))?;
    let key = key_of(obj, &path.attr.name);
    match (&path.filter, &path.attr.sub) {
        (None, None) => match kind {
            Kind::Remove => match (obj.get_mut(&key), value) {
                // Entra removes members by listing them in the value.
                (Some(Value::Array(items)), Some(Value::Array(gone))) => {
                    items.retain(|i| !gone.iter().any(|g| same_item(i, g)));
                }
                _ => {
                    obj.remove(&key);
                }
            },
            Kind::Add => match (obj.get_mut(&key), value) {
                (Some(Value::Array(items)), Some(Value::Array(more))) => {
                    for m in more {
                        if !items.iter().any(|i| same_item(i, m)) {
                            items.push(m.clone());
                        }
                    }
                }
                (Some(Value::Object(o)), Some(Value::Object(more))) => {
                    for (k, v) in more {
                        let k = key_of(o, k);
                        o.insert(k, v.clone());
                    }
                }
                (_, Some(v)) => {
                    obj.insert(key, v.clone());
                }
                (_, None) => {}
            },
            Kind::Replace => {
                if let Some(v) = value {
                    obj.insert(key, v.clone());
                }
            }
        },
        (None, Some(sub)) => {
            let target = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let targets: Vec<&mut Value> = match target {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for t in targets {
                let Some(o) = t.as_object_mut() else {
                    return Err(bad_path(raw_path, "is not a complex attribute"));
                };
                let k = key_of(o, sub);
                match (kind, value) {
                    (Kind::Remove, _) => {
                        o.remove(&k);
                    }
                    (_, Some(v)) => {
                        o.insert(k, v.clone());
                    }
                    (_, None) => {}
                }
            }
        }
        (Some(f), sub) => {
            let items = match obj.get_mut(&key) {
                Some(Value::Array(items)) => items,
                _ if kind == Kind::Remove => return Ok(()),
                _ => {
                    obj.insert(key.clone(), Value::Array(vec![]));
                    match obj.get_mut(&key) {
                        Some(Value::Array(items)) => items,
                        _ => return Err(bad_path(raw_path, "is not multi-valued")),
                    }
                }
            };
            let hits: Vec<usize> = (0..items.len())
                .filter(|&i| items.get(i).is_some_and(|v| f.matches(v)))
                .collect();
            match (kind, sub) {
                (Kind::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !hits.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (Kind::Remove, Some(sub)) => {
                    for &i in &hits {
                        if let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) {
                            let k = key_of(o, sub);
                            o.remove(&k);
                        }
                    }
                }
                (_, sub) => {
                    let Some(v) = value else { return Ok(()) };
                    if hits.is_empty() {
                        let mut fresh = Map::new();
                        if !element_of(f, &mut fresh) {
                            return Err(AppError::invalid(
                                ErrorCode::ScimNoTarget,
                                format!("path `{raw_path}` matches no value"),
                            ));
                        }
                        match sub {
                            Some(sub) => {
                                fresh.insert(sub.clone(), v.clone());
                            }
                            None => {
                                if let Value::Object(more) = v {
                                    fresh.extend(more.clone());
                                }
                            }
                        }
                        items.push(Value::Object(fresh));
                        return Ok(());
                    }
                    for &i in &hits {
                        let Some(o) = items.get_mut(i).and_then(Value::as_object_mut) else {
                            continue;
                        };
                        match (sub, v) {
                            (Some(sub), v) => {
                                let k = key_of(o, sub);
                                o.insert(k, v.clone());
                            }
                            (None, Value::Object(more)) => {
                                for (k, v) in more {
                                    let k = key_of(o, k);
                                    o.insert(k, v.clone());
                                }
                            }
                            (None, _) => {
                                return Err(AppError::invalid(
                                    ErrorCode::ScimInvalidValue,
                                    format!("the value for `{raw_path}` must be an object"),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Applies a PATCH request body to `doc`.
pub fn apply(doc: &mut Value, body: &Value) -> Result<(), AppError> {
    let schemas_ok = filter::member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|v| {
                v.as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(PATCH_SCHEMA))
            })
        });
    if !schemas_ok {
        return Err(AppError::invalid(
            ErrorCode::ScimInvalidSyntax,
            format!("a PATCH body's `schemas` must list `{PATCH_SCHEMA}`"),
        ));
    }
    let ops = filter::member(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            AppError::invalid(
                ErrorCode::ScimInvalidSyntax,
                "a PATCH body needs a list of `Operations`",
            )
        })?;
    if ops.len() > MAX_OPERATIONS {
        return Err(AppError::invalid(
            ErrorCode::ScimInvalidSyntax,
            format!("a PATCH body carries at most {MAX_OPERATIONS} operations"),
        ));
    }
    for op in ops {
        let kind = match filter::member(op, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Kind::Add,
            Some("replace") => Kind::Replace,
            Some("remove") => Kind::Remove,
            _ => {
                return Err(AppError::invalid(
                    ErrorCode::ScimInvalidSyntax,
                    "each operation's `op` is `add`, `replace` or `remove`",
                ));
            }
        };
        let value = filter::member(op, "value");
        match filter::member(op, "path") {
            Some(Value::String(path)) if !path.trim().is_empty() => {
                apply_one(doc, kind, path, value)?
            }
            None | Some(Value::Null) => match (kind, value) {
                (Kind::Remove, _) => {
                    return Err(AppError::invalid(
                        ErrorCode::ScimNoTarget,
                        "a `remove` needs a `path`",
                    ));
                }
                (_, Some(Value::Object(attrs))) => {
                    for (name, v) in attrs {
                        // An extension's attributes come as one object under its URI.
                        if name.starts_with("urn:") && v.is_object() && is_schema_uri(name) {
                            if let Value::Object(inner) = v {
                                for (k, v) in inner {
                                    apply_one(doc, kind, &format!("{name}:{k}"), Some(v))?;
                                }
                            }
                            continue;
                        }
                        apply_one(doc, kind, name, Some(v))?;
                    }
                }
                _ => {
                    return Err(AppError::invalid(
                        ErrorCode::ScimInvalidValue,
                        "an operation without a `path` needs an object `value`",
                    ));
                }
            },
            Some(_) => {
                return Err(AppError::invalid(
                    ErrorCode::ScimInvalidPath,
                    "`path` must be a string",
                ));
            }
        }
    }
    Ok(())
}

/// Whether `name` is a schema URI (ends with the resource's name, `User`,
/// `Group`), not an attribute of one.
fn is_schema_uri(name: &str) -> bool {
    name.rsplit(':')
        .next()
        .is_some_and(|last| last == "User" || last == "Group")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "userName": "ada@supplier.example",
            "name": {"givenName": "Ada", "familyName": "Byron"},
            "active": true,
            "emails": [{"value": "ada@supplier.example", "type": "work", "primary": true}],
        })
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    /// One row: operations, then a JSON pointer into the result and what it must hold.
    fn check(doc: Value, ops: Value, pointer: &str, want: Value) {
        let mut doc = doc;
        apply(&mut doc, &patch(ops.clone())).unwrap_or_else(|e| panic!("{ops}: {e}"));
        assert_eq!(
            doc.pointer(pointer).cloned().unwrap_or(Value::Null),
            want,
            "{ops} → {doc}"
        );
    }

    #[test]
    fn okta_and_entra_operations_apply() {
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Eng", "members": [{"value": "u1"}, {"value": "u2"}]});
        for (doc, ops, pointer, want) in [
            (
                user(),
                json!([{"op": "replace", "value": {"active": false}}]),
                "/active",
                json!(false),
            ),
            (
                user(),
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                "/active",
                json!("False"),
            ),
            (
                user(),
                json!([{"op": "replace", "path": "name.givenName", "value": "Augusta"}]),
                "/name/givenName",
                json!("Augusta"),
            ),
            (
                user(),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ab@supplier.example"}]),
                "/emails/0/value",
                json!("ab@supplier.example"),
            ),
            (
                json!({"schemas": [], "id": "u"}),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.example"}]),
                "/emails/0/type",
                json!("work"),
            ),
            (
                user(),
                json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Tooling"}]),
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                json!("Tooling"),
            ),
            (
                user(),
                json!([{"op": "replace", "value": {"name.familyName": "King", "displayName": "Ada King"}}]),
                "/name/familyName",
                json!("King"),
            ),
            (
                user(),
                json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}}]),
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                json!("R&D"),
            ),
            (
                user(),
                json!([{"op": "remove", "path": "name.givenName"}]),
                "/name/givenName",
                Value::Null,
            ),
            (
                group.clone(),
                json!([{"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]}]),
                "/members",
                json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]),
            ),
            (
                group.clone(),
                json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
                "/members",
                json!([{"value": "u2"}]),
            ),
            (
                group.clone(),
                json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]),
                "/members",
                json!([{"value": "u1"}]),
            ),
            (
                group.clone(),
                json!([{"op": "remove", "path": "members"}]),
                "/members",
                Value::Null,
            ),
            (
                group.clone(),
                json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}]),
                "/members",
                json!([{"value": "u9"}]),
            ),
            (
                group.clone(),
                json!([{"op": "replace", "value": {"id": "g1", "displayName": "Engineering"}}]),
                "/displayName",
                json!("Engineering"),
            ),
            (
                group,
                json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
                "/members",
                json!([{"value": "u1"}, {"value": "u2"}]),
            ),
        ] {
            check(doc, ops, pointer, want);
        }
    }

    #[test]
    fn bad_patches_are_refused_with_their_scim_type() {
        for (body, code) in [
            (
                json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}),
                ErrorCode::ScimInvalidSyntax,
            ),
            (patch(json!([])), ErrorCode::ScimInvalidSyntax),
            (patch(json!({})), ErrorCode::ScimInvalidSyntax),
            (
                patch(json!([{"op": "move", "path": "title", "value": "x"}])),
                ErrorCode::ScimInvalidSyntax,
            ),
            (patch(json!([{"op": "remove"}])), ErrorCode::ScimNoTarget),
            (
                patch(json!([{"op": "replace", "value": "x"}])),
                ErrorCode::ScimInvalidValue,
            ),
            (
                patch(json!([{"op": "add", "path": "title"}])),
                ErrorCode::ScimInvalidValue,
            ),
            (
                patch(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
                ErrorCode::ScimInvalidPath,
            ),
            (
                patch(json!([{"op": "add", "path": "1bad", "value": "x"}])),
                ErrorCode::ScimInvalidPath,
            ),
            (
                patch(json!([{"op": "add", "path": 7, "value": "x"}])),
                ErrorCode::ScimInvalidPath,
            ),
            (
                patch(
                    json!([{"op": "replace", "path": "emails[type co \"w\"].value", "value": "x"}]),
                ),
                ErrorCode::ScimNoTarget,
            ),
            (
                patch(
                    json!([{"op": "replace", "path": "emails[type eq \"work\"]x", "value": "x"}]),
                ),
                ErrorCode::ScimInvalidPath,
            ),
        ] {
            let mut doc = json!({"id": "u1", "emails": []});
            let e = apply(&mut doc, &body).unwrap_err();
            assert_eq!(e.code(), code, "{body}: {e}");
        }
    }
}
