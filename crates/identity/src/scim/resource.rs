//! SCIM resources as JSON (RFC 7643): a provisioned user or group rendered
//! as the identity provider reads it, and a body (from POST, PUT, or a
//! resource after PATCH) read back into the checked values the use-cases
//! store. Identity providers differ in small ways and both are taken: Entra
//! sends `active` as the string `"False"`, Okta as a boolean.

use model::{ErrorCode, User};
use serde_json::{Value, json};
use store::{ScimGroup, ScimUser};

use kernel::AppError;

use super::filter::member;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Longest text attribute taken.
const MAX_TEXT: usize = 256;
/// Most members one group body may name.
pub const MAX_MEMBERS: usize = 10_000;

/// A version as its ETag (`meta.version`).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn meta(kind: &str, id: &str, created: i64, modified: i64, version: i64) -> Value {
    let plural = if kind == "User" { "Users" } else { "Groups" };
    json!({
        "resourceType": kind,
        "created": iso(created),
        "lastModified": iso(modified),
        "version": etag(version),
        "location": format!("/scim/v2/{plural}/{id}"),
    })
}

/// A user as SCIM shows it; `groups` are (id, display name).
pub fn user_json(user: &User, s: &ScimUser, groups: &[(String, String)]) -> Value {
    let id = user.id.to_string();
    let mut name = serde_json::Map::new();
    if let Some(g) = &s.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &s.family_name {
        name.insert("familyName".into(), json!(f));
    }
    name.insert("formatted".into(), json!(user.display_name));
    let mut out = json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": s.user_name,
        "name": name,
        "displayName": user.display_name,
        "active": !user.disabled,
        "emails": [{"value": user.email, "type": "work", "primary": true}],
        "groups": groups.iter().map(|(id, name)| json!({"value": id, "display": name, "$ref": format!("/scim/v2/Groups/{id}")})).collect::<Vec<_>>(),
        "meta": meta("User", &id, s.created_ms, s.updated_ms, s.version),
    });
    if let Some(x) = &s.external_id {
        out["externalId"] = json!(x);
    }
    out
}

/// A group as SCIM shows it; `members` are (id, display name).
pub fn group_json(g: &ScimGroup, members: &[(String, String)]) -> Value {
    let mut out = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.display_name,
        "members": members.iter().map(|(id, name)| json!({"value": id, "display": name, "$ref": format!("/scim/v2/Users/{id}")})).collect::<Vec<_>>(),
        "meta": meta("Group", &g.id, g.created_ms, g.updated_ms, g.version),
    });
    if let Some(x) = &g.external_id {
        out["externalId"] = json!(x);
    }
    out
}

/// A user body, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInput {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: String,
    /// The address the user signs in with: the primary (or first work, or
    /// first) e-mail, else the `userName`.
    pub email: String,
    pub active: bool,
}

/// A group body, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInput {
    pub display_name: String,
    pub external_id: Option<String>,
    /// The members' ids, as given.
    pub members: Vec<String>,
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::invalid(code, message)
}

fn need_schema(body: &Value, schema: &str) -> Result<(), AppError> {
    let has = member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(schema)))
        });
    if !body.is_object() {
        return Err(invalid(
            ErrorCode::ScimInvalidSyntax,
            "the body must be a JSON object",
        ));
    }
    if has {
        Ok(())
    } else {
        Err(invalid(
            ErrorCode::ScimInvalidSyntax,
            format!("`schemas` must list `{schema}`"),
        ))
    }
}

/// An optional text attribute: absent or null is `None`; anything but a
/// short string without control characters is refused.
fn text(obj: &Value, name: &str) -> Result<Option<String>, AppError> {
    match member(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_TEXT
                || s.chars().any(|c| c.is_control() || model::invisible(c))
            {
                return Err(invalid(
                    ErrorCode::ScimInvalidValue,
                    format!(
                        "`{name}` must be at most {MAX_TEXT} characters without control characters"
                    ),
                ));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(invalid(
            ErrorCode::ScimInvalidValue,
            format!("`{name}` must be a string"),
        )),
    }
}

/// `active`: a boolean, or the strings `"true"`/`"false"` in any case (as
/// Entra sends it); absent means active.
fn active(body: &Value) -> Result<bool, AppError> {
    match member(body, "active") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(invalid(
            ErrorCode::ScimInvalidValue,
            format!("`active` must be true or false, not `{other}`"),
        )),
    }
}

fn primary_email(body: &Value) -> Result<Option<String>, AppError> {
    let emails = match member(body, "emails") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(invalid(
                ErrorCode::ScimInvalidValue,
                "`emails` must be a list",
            ));
        }
    };
    let truthy = |v: Option<&Value>| match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let pick = emails
        .iter()
        .find(|e| truthy(member(e, "primary")))
        .or_else(|| {
            emails.iter().find(|e| {
                member(e, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| emails.first());
    match pick {
        None => Ok(None),
        Some(e) if e.is_object() => text(e, "value"),
        Some(_) => Err(invalid(
            ErrorCode::ScimInvalidValue,
            "each of `emails` must be an object with a `value`",
        )),
    }
}

/// Reads a User body.
pub fn user_input(body: &Value) -> Result<UserInput, AppError> {
    need_schema(body, USER_SCHEMA)?;
    let user_name = text(body, "userName")?
        .ok_or_else(|| invalid(ErrorCode::ScimInvalidValue, "`userName` is required"))?;
    let name = match member(body, "name") {
        None | Some(Value::Null) => Value::Null,
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => {
            return Err(invalid(
                ErrorCode::ScimInvalidValue,
                "`name` must be an object",
            ));
        }
    };
    let given_name = text(&name, "givenName")?;
    let family_name = text(&name, "familyName")?;
    let joined = match (&given_name, &family_name) {
        (Some(g), Some(f)) => Some(format!("{g} {f}")),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    };
    let display_name = text(body, "displayName")?
        .or(text(&name, "formatted")?)
        .or(joined)
        .unwrap_or_else(|| user_name.clone());
    let email = primary_email(body)?.unwrap_or_else(|| user_name.clone());
    Ok(UserInput {
        external_id: text(body, "externalId")?,
        active: active(body)?,
        user_name,
        given_name,
        family_name,
        display_name,
        email,
    })
}

/// Reads a Group body.
pub fn group_input(body: &Value) -> Result<GroupInput, AppError> {
    need_schema(body, GROUP_SCHEMA)?;
    let display_name = text(body, "displayName")?
        .ok_or_else(|| invalid(ErrorCode::ScimInvalidValue, "`displayName` is required"))?;
    let members = match member(body, "members") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => {
            if items.len() > MAX_MEMBERS {
                return Err(invalid(
                    ErrorCode::ScimInvalidValue,
                    format!("a group body names at most {MAX_MEMBERS} members"),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let id = text(item, "value")?.ok_or_else(|| {
                    invalid(
                        ErrorCode::ScimInvalidValue,
                        "each of `members` needs a `value` (the user's id)",
                    )
                })?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            out
        }
        Some(_) => {
            return Err(invalid(
                ErrorCode::ScimInvalidValue,
                "`members` must be a list",
            ));
        }
    };
    Ok(GroupInput {
        external_id: text(body, "externalId")?,
        display_name,
        members,
    })
}

/// Whether `If-Match` (absent: no condition) allows a change of the resource at `version`.
pub fn if_match(header: Option<&str>, version: i64) -> Result<(), AppError> {
    let Some(header) = header else { return Ok(()) };
    let current = etag(version);
    let strong = format!("\"{version}\"");
    let ok = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current || tag == strong);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            ErrorCode::ScimVersionMismatch,
            format!(
                "the resource is at version `{current}`, not `{}`",
                header.trim()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_and_entra_user_bodies_read_the_same() {
        let okta = json!({
            "schemas": [USER_SCHEMA],
            "userName": "ada@supplier.example",
            "name": {"givenName": "Ada", "familyName": "Byron"},
            "emails": [{"primary": true, "value": "ada@supplier.example", "type": "work"}],
            "displayName": "Ada Byron",
            "locale": "en-US",
            "externalId": "00u1abcd",
            "groups": [],
            "password": "ignored",
            "active": true
        });
        let entra = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": "00u1abcd",
            "userName": "ada@supplier.example",
            "active": "True",
            "emails": [{"primary": "true", "type": "work", "value": "ada@supplier.example"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Ada Byron", "familyName": "Byron", "givenName": "Ada"},
            "roles": []
        });
        let a = user_input(&okta).unwrap();
        assert_eq!(a, user_input(&entra).unwrap());
        assert!(a.active);
        assert_eq!(a.display_name, "Ada Byron");
    }

    #[test]
    fn bad_bodies_name_the_attribute() {
        for (body, code, piece) in [
            (json!([]), ErrorCode::ScimInvalidSyntax, "JSON object"),
            (
                json!({"userName": "a@b.example"}),
                ErrorCode::ScimInvalidSyntax,
                "`schemas`",
            ),
            (
                json!({"schemas": [USER_SCHEMA]}),
                ErrorCode::ScimInvalidValue,
                "`userName` is required",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": 7}),
                ErrorCode::ScimInvalidValue,
                "must be a string",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a@b.example", "active": "nope"}),
                ErrorCode::ScimInvalidValue,
                "`active`",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a@b.example", "emails": "x"}),
                ErrorCode::ScimInvalidValue,
                "`emails`",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a\u{202e}@b.example"}),
                ErrorCode::ScimInvalidValue,
                "control",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "a@b.example", "name": "x"}),
                ErrorCode::ScimInvalidValue,
                "`name`",
            ),
        ] {
            let e = user_input(&body).unwrap_err();
            assert_eq!(e.code(), code, "{body}");
            assert!(e.to_string().contains(piece), "{body}: {e}");
        }
        for (body, piece) in [
            (
                json!({"schemas": [GROUP_SCHEMA]}),
                "`displayName` is required",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": [{}]}),
                "needs a `value`",
            ),
            (
                json!({"schemas": [GROUP_SCHEMA], "displayName": "x", "members": {}}),
                "must be a list",
            ),
        ] {
            let e = group_input(&body).unwrap_err();
            assert!(e.to_string().contains(piece), "{body}: {e}");
        }
    }

    #[test]
    fn if_match_takes_the_current_version_or_a_star() {
        assert!(if_match(None, 3).is_ok());
        assert!(if_match(Some("W/\"3\""), 3).is_ok());
        assert!(if_match(Some("\"3\""), 3).is_ok());
        assert!(if_match(Some("W/\"1\", W/\"3\""), 3).is_ok());
        assert!(if_match(Some("*"), 3).is_ok());
        assert_eq!(
            if_match(Some("W/\"2\""), 3).unwrap_err().code(),
            ErrorCode::ScimVersionMismatch
        );
    }
}
