//! The finishing pass over the generated OpenAPI document, done once in one
//! place rather than in each handler's attribute: every response gets its
//! required description; every operation lists the failures that the shared
//! layers can answer (bad input, no or wrong credentials, a denial, an unknown
//! id, a body too large, the wrong content type, an internal error, a full
//! disk, a shed request) with the `ErrorBody` schema; every error response
//! names its stable codes in `x-error-codes`; binary bodies are typed as bytes.

use serde_json::{Map, Value, json};

/// The operations that shed work under load with 503 `server_busy`: sign-in
/// (password hashing), uploads (content inspection) and the page viewer
/// (rendering).
const SHED_UNDER_LOAD: &[&str] = &["login", "put_file", "pages", "page"];

/// What the shared layers can answer, by status.
struct Common {
    status: u16,
    /// Whether `op` can answer it.
    applies: fn(&Facts) -> bool,
    /// The codes it carries, given the operation.
    codes: fn(&Facts) -> Vec<&'static str>,
}

const COMMON: &[Common] = &[
    Common {
        status: 400,
        applies: |f| f.json_body || f.raw_body || f.query || f.path,
        codes: |f| {
            let mut codes = Vec::new();
            if f.json_body {
                codes.extend(["invalid_json", "invalid_request"]);
            }
            if f.query {
                codes.push("invalid_query");
            }
            if f.path {
                codes.push("invalid_path_parameter");
            }
            if f.raw_body {
                codes.push("body_aborted");
            }
            codes
        },
    },
    Common {
        status: 401,
        applies: |f| f.secured,
        codes: |_| vec!["unauthenticated"],
    },
    Common {
        status: 403,
        applies: |f| f.secured,
        codes: |_| vec!["forbidden", "csrf_failed"],
    },
    Common {
        status: 404,
        applies: |f| f.path,
        codes: |_| vec!["not_found"],
    },
    Common {
        status: 413,
        applies: |f| f.json_body || f.raw_body,
        codes: |_| vec!["payload_too_large"],
    },
    Common {
        status: 415,
        applies: |f| f.json_body,
        codes: |_| vec!["unsupported_media_type"],
    },
    Common {
        status: 500,
        applies: |_| true,
        codes: |_| vec!["internal"],
    },
    Common {
        status: 503,
        applies: |f| SHED_UNDER_LOAD.contains(&f.id.as_str()),
        codes: |_| vec!["server_busy"],
    },
    Common {
        status: 507,
        applies: |_| true,
        codes: |_| vec!["storage_full"],
    },
];

/// The code of a status that only one error answers, for the responses whose
/// description names no code.
const ONE_CODE: &[(&str, &str)] = &[("409", "conflict"), ("416", "range_not_satisfiable")];

/// What an operation takes, as its generated description says.
struct Facts {
    id: String,
    secured: bool,
    path: bool,
    query: bool,
    json_body: bool,
    /// A body of bytes (an upload, a file to trace).
    raw_body: bool,
}

impl Facts {
    fn of(op: &Value) -> Facts {
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["in"].as_str())
            .collect();
        let body = op["requestBody"]["content"].as_object();
        let json_body = body.is_some_and(|c| c.contains_key("application/json"));
        Facts {
            id: op["operationId"].as_str().unwrap_or_default().to_owned(),
            secured: op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            }),
            path: params.contains(&"path"),
            query: params.contains(&"query"),
            json_body,
            raw_body: body.is_some() && !json_body,
        }
    }
}

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Finishes `doc` (the OpenAPI document as JSON) in place.
pub(super) fn finish(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(*method) {
                finish_operation(op);
            }
        }
    }
}

fn finish_operation(op: &mut Value) {
    let facts = Facts::of(op);
    // `get_mut`, not `[]`: indexing a JSON object mutably adds missing keys.
    let body = op.get_mut("requestBody").and_then(|b| b.get_mut("content"));
    if let Some(content) = body.and_then(Value::as_object_mut) {
        type_binary(content);
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for common in COMMON {
        if !(common.applies)(&facts) {
            continue;
        }
        let codes = (common.codes)(&facts);
        let response = responses
            .entry(common.status.to_string())
            .or_insert_with(|| json!({}));
        add_error_codes(response, &codes);
    }
    for (status, response) in responses.iter_mut() {
        finish_response(status, response);
    }
}

/// An error response: the `ErrorBody` schema, and `codes` added to its
/// `x-error-codes`.
fn add_error_codes(response: &mut Value, codes: &[&str]) {
    if response.get("content").is_none() {
        response["content"] = json!({
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
        });
    }
    let mut all = error_codes(response);
    for code in codes {
        if !all.iter().any(|c| c == code) {
            all.push((*code).to_owned());
        }
    }
    response["x-error-codes"] = json!(all);
}

/// The codes an error response already names: its `x-error-codes`, or the
/// snake_case words of its description (`ledger_range_too_large, …`).
fn error_codes(response: &Value) -> Vec<String> {
    if let Some(listed) = response["x-error-codes"].as_array() {
        return listed
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
    }
    let description = response["description"].as_str().unwrap_or_default();
    let mut codes: Vec<String> = Vec::new();
    for word in
        description.split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()))
    {
        let is_code = word.contains('_')
            && word.starts_with(|c: char| c.is_ascii_lowercase())
            && !word.ends_with('_');
        if is_code && !codes.iter().any(|c| c == word) {
            codes.push(word.to_owned());
        }
    }
    codes
}

fn finish_response(status: &str, response: &mut Value) {
    let Some(fields) = response.as_object_mut() else {
        return;
    };
    if let Some(content) = fields.get_mut("content").and_then(Value::as_object_mut) {
        type_binary(content);
    }
    let is_error = status.starts_with('4') || status.starts_with('5');
    if is_error && !fields.contains_key("x-error-codes") {
        let mut codes = error_codes(response);
        if codes.is_empty() {
            let implied = ONE_CODE.iter().filter(|(s, _)| *s == status);
            codes.extend(implied.map(|(_, code)| (*code).to_owned()));
        }
        if !codes.is_empty() {
            response["x-error-codes"] = json!(codes);
        }
    }
    let described = response["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty());
    if !described {
        response["description"] = json!(describe(status, &response["x-error-codes"]));
    }
}

/// A response's description: the status's reason phrase, and the codes.
fn describe(status: &str, codes: &Value) -> String {
    let reason = status
        .parse::<u16>()
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response");
    let codes: Vec<&str> = codes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if codes.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {}", codes.join(", "))
    }
}

/// Bodies that are not JSON are bytes, whatever Rust type produced them.
fn type_binary(content: &mut Map<String, Value>) {
    for (media, body) in content.iter_mut() {
        let textual = media.starts_with("text/") || media.contains("json");
        if !textual {
            body["schema"] = json!({"type": "string", "format": "binary"});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finishes a document of one operation and returns that operation.
    fn check(op: Value) -> Value {
        let mut doc = json!({"paths": {"/x/{id}": {"post": op}}});
        finish(&mut doc);
        doc["paths"]["/x/{id}"]["post"].take()
    }

    #[test]
    fn secured_operations_list_the_shared_failures() {
        let op = check(json!({
            "operationId": "put_thing",
            "security": [{"bearer": []}],
            "parameters": [{"name": "id", "in": "path"}],
            "requestBody": {"content": {"application/json": {}}},
            "responses": {
                "200": {},
                "400": {"description": "thing_too_big, …"},
            }
        }));
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(
            statuses,
            [
                "200", "400", "401", "403", "404", "413", "415", "500", "507"
            ]
        );
        assert_eq!(op["responses"]["200"]["description"], "OK");
        assert_eq!(
            op["responses"]["400"]["x-error-codes"],
            json!([
                "thing_too_big",
                "invalid_json",
                "invalid_request",
                "invalid_path_parameter"
            ])
        );
        assert_eq!(op["responses"]["400"]["description"], "thing_too_big, …");
        assert_eq!(
            op["responses"]["401"]["description"],
            "Unauthorized: unauthenticated"
        );
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }

    #[test]
    fn anonymous_uploads_of_bytes_are_binary_and_may_be_shed() {
        let op = check(json!({
            "operationId": "login",
            "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "array"}}}},
            "responses": {"200": {"content": {"image/png": {"schema": {"type": "array"}}}}}
        }));
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["200", "400", "413", "500", "503", "507"]);
        let binary = json!({"type": "string", "format": "binary"});
        assert_eq!(
            op["requestBody"]["content"]["application/octet-stream"]["schema"],
            binary
        );
        assert_eq!(
            op["responses"]["200"]["content"]["image/png"]["schema"],
            binary
        );
    }
}
