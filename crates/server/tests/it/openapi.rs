//! The OpenAPI document: valid JSON, OpenAPI 3.x, and exactly the routes of
//! `api.rs` with their methods; every operation documents the failures it can
//! answer with the error body's schema and codes; and every query parameter
//! the document declares is checked: a malformed one is 400 `invalid_query`.
//! (`scripts/api-fuzz` validates the document against the OpenAPI 3.1 schema
//! and fuzzes every operation against it.)

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::*;

/// Every route of `api.rs` (relative to `/api/v1`) and method.
const ROUTES: &[(&str, &str)] = &[
    ("/auth/login", "POST"),
    ("/auth/logout", "POST"),
    ("/auth/me", "GET"),
    ("/auth/totp", "POST"),
    ("/auth/totp/confirm", "POST"),
    ("/auth/sessions", "GET"),
    ("/auth/mail-preference", "GET"),
    ("/auth/mail-preference", "PUT"),
    ("/auth/sessions/{id}", "DELETE"),
    ("/auth/sessions/end-others", "POST"),
    ("/auth/tokens", "POST"),
    ("/auth/recovery-codes", "POST"),
    ("/parties", "GET"),
    ("/parties", "POST"),
    ("/parties/{id}", "GET"),
    ("/parties/{id}", "PATCH"),
    ("/users", "GET"),
    ("/users", "POST"),
    ("/users/{id}", "GET"),
    ("/users/{id}", "PATCH"),
    ("/users/{id}/revoke-sessions", "POST"),
    ("/users/{id}/mfa/reset", "POST"),
    ("/users/{id}/unlock", "POST"),
    ("/invitations", "POST"),
    ("/invitations/{token}/accept", "POST"),
    ("/rooms", "GET"),
    ("/rooms", "POST"),
    ("/rooms/{id}", "GET"),
    ("/rooms/{id}", "PATCH"),
    ("/rooms/{id}", "DELETE"),
    ("/rooms/{id}/grants", "GET"),
    ("/rooms/{id}/grants", "POST"),
    ("/rooms/{id}/grants/{grant_id}", "DELETE"),
    ("/rooms/{id}/links", "POST"),
    ("/files/{id}/links", "POST"),
    ("/rooms/{id}/links", "GET"),
    ("/rooms/{id}/links/{link_id}", "DELETE"),
    ("/rooms/{id}/upload-requests", "GET"),
    ("/rooms/{id}/upload-requests", "POST"),
    ("/rooms/{id}/upload-requests/{request_id}", "GET"),
    ("/rooms/{id}/upload-requests/{request_id}/revoke", "POST"),
    ("/rooms/{id}/delivery", "GET"),
    ("/rooms/{id}/delivery", "PUT"),
    ("/rooms/{id}/dlp", "GET"),
    ("/rooms/{id}/dlp", "PUT"),
    ("/dlp/quarantine", "GET"),
    ("/alerts", "GET"),
    ("/alerts/{id}", "GET"),
    ("/alerts/{id}/feedback", "POST"),
    ("/incidents", "GET"),
    ("/incidents", "POST"),
    ("/incidents/{id}", "GET"),
    ("/incidents/{id}/assessment", "POST"),
    ("/incidents/{id}/stage", "POST"),
    ("/incidents/{id}/entries", "POST"),
    ("/incidents/{id}/tasks/{task}/done", "POST"),
    ("/incidents/{id}/containment", "POST"),
    ("/incidents/{id}/traces", "POST"),
    ("/incidents/{id}/hold", "POST"),
    ("/incidents/{id}/notification", "POST"),
    ("/incidents/{id}/messages", "POST"),
    ("/incidents/{id}/close", "POST"),
    ("/incidents/{id}/timeline", "GET"),
    ("/incidents/{id}/bundle", "GET"),
    ("/leak-reports", "POST"),
    ("/incident-settings", "GET"),
    ("/incident-settings", "PUT"),
    ("/rooms/{id}/destructions", "POST"),
    ("/rooms/{id}/destructions/{destruction}/confirm", "POST"),
    ("/rooms/{id}/retention", "PUT"),
    ("/files/{id}/retention", "GET"),
    ("/files/{id}/retention", "PUT"),
    ("/purge-settings", "GET"),
    ("/purge-settings", "PUT"),
    ("/destructions", "GET"),
    ("/destructions/{id}", "GET"),
    ("/destructions/{id}/approve", "POST"),
    ("/destructions/{id}/reject", "POST"),
    ("/destructions/{id}/certificate", "GET"),
    ("/legal-holds", "GET"),
    ("/legal-holds", "POST"),
    ("/legal-holds/{id}/release", "POST"),
    ("/reviews", "GET"),
    ("/reviews", "POST"),
    ("/reviews/assigned", "GET"),
    ("/reviews/{id}", "GET"),
    ("/reviews/{id}/mine", "GET"),
    ("/reviews/{id}/decisions", "POST"),
    ("/reviews/{id}/report.csv", "GET"),
    ("/reviews/{id}/bundle", "GET"),
    ("/attestations", "GET"),
    ("/attestations/{id}", "GET"),
    ("/attestations/{id}/send", "POST"),
    ("/dlp/quarantine/{version}/content", "GET"),
    ("/dlp/quarantine/{version}/release", "POST"),
    ("/dlp/quarantine/{version}/reject", "POST"),
    ("/dlp/rules", "GET"),
    ("/dlp/rules", "POST"),
    ("/dlp/rules/{id}", "DELETE"),
    ("/dlp/rules/import", "POST"),
    ("/jewels", "GET"),
    ("/jewels/export", "GET"),
    ("/jewels/files/{id}", "POST"),
    ("/jewels/rooms/{id}", "POST"),
    ("/jewels/uploads", "POST"),
    ("/jewels/{id}", "DELETE"),
    ("/parties/{id}/scim/tokens", "GET"),
    ("/parties/{id}/scim/tokens", "POST"),
    ("/parties/{id}/scim/tokens/{token_id}", "DELETE"),
    ("/parties/{id}/scim/mappings", "GET"),
    ("/parties/{id}/scim/mappings", "POST"),
    ("/parties/{id}/scim/mappings/{mapping_id}", "DELETE"),
    ("/rooms/{id}/files", "GET"),
    ("/rooms/{id}/files/{path}", "PUT"),
    ("/files/{id}", "GET"),
    ("/files/{id}", "DELETE"),
    ("/files/{id}/content", "GET"),
    ("/files/{id}/versions", "GET"),
    ("/files/{id}/versions/{version}/restore", "POST"),
    ("/files/{id}/pages", "GET"),
    ("/files/{id}/pages/{page}", "GET"),
    ("/trace", "POST"),
    ("/events", "GET"),
    ("/ledger/checkpoint", "GET"),
    ("/ledger/verifier-key", "GET"),
    ("/ledger/entries", "GET"),
    ("/ledger/proof/inclusion", "GET"),
    ("/ledger/proof/consistency", "GET"),
    ("/ledger/checkpoints", "GET"),
    ("/ledger/bundle", "GET"),
    ("/ledger/audit", "POST"),
    ("/events/{seq}/redact", "POST"),
    ("/agreements", "GET"),
    ("/agreements", "POST"),
    ("/agreements/{id}", "GET"),
    ("/agreements/{id}/sign", "POST"),
    ("/agreements/{id}/terminate", "POST"),
    ("/policies", "GET"),
    ("/policies", "PUT"),
    ("/policies/simulate", "POST"),
    ("/policies/whatif", "POST"),
    ("/policies/versions", "GET"),
    ("/policies/versions/{n}", "GET"),
    ("/zones", "GET"),
    ("/zones", "PUT"),
    ("/users/{id}/training", "PUT"),
    ("/users/{id}/training", "DELETE"),
    ("/parties/{id}/certification", "PUT"),
    ("/parties/{id}/certification", "DELETE"),
    ("/parties/{id}/certifications", "GET"),
    ("/parties/{id}/certifications", "POST"),
    ("/certifications/{id}/verify", "POST"),
    ("/rooms/{id}/certifications", "GET"),
    ("/rooms/{id}/certifications", "PUT"),
    ("/classifications", "GET"),
    ("/classifications/{classification}", "PUT"),
    ("/classifications/{classification}/courses", "PUT"),
    ("/courses", "GET"),
    ("/courses", "POST"),
    ("/courses/mine", "GET"),
    ("/courses/{id}", "GET"),
    ("/courses/{id}", "PUT"),
    ("/courses/{id}/take", "GET"),
    ("/courses/{id}/attempts", "POST"),
    ("/courses/{id}/completions", "POST"),
    ("/rooms/{id}/courses", "GET"),
    ("/rooms/{id}/courses", "PUT"),
    ("/parties/{id}/sponsor", "PUT"),
    ("/agreement-templates", "GET"),
    ("/agreement-templates/{name}", "PUT"),
    ("/agreement-templates/{name}/issue", "POST"),
    ("/agreements/{id}/offer", "POST"),
    ("/notifications", "GET"),
    ("/notifications/{id}/read", "POST"),
    ("/parties/{id}/activate", "POST"),
    ("/questionnaires", "GET"),
    ("/questionnaires", "POST"),
    ("/questionnaires/{id}", "GET"),
    ("/parties/{id}/assessments", "GET"),
    ("/parties/{id}/assessments", "POST"),
    ("/assessments/mine", "GET"),
    ("/assessments/{id}/answers", "PUT"),
    ("/assessments/{id}/replies", "POST"),
    ("/parties/{id}/assessments/{assessment}/follow-ups", "POST"),
    ("/parties/{id}/assessments/{assessment}/decision", "POST"),
    ("/risk", "GET"),
    ("/risk", "PUT"),
    ("/parties/{id}/offboard", "POST"),
    ("/parties/{id}/reonboard", "POST"),
    ("/users/{id}/offboard", "POST"),
];

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The document, as an anonymous caller gets it.
async fn document(ctx: &Ctx) -> Value {
    let r = check(
        ctx,
        Case {
            label: "anonymous".into(),
            method: "GET",
            path: format!("{V1}/openapi.json"),
            want_status: 200,
            ..Case::default()
        },
    )
    .await;
    serde_json::from_slice(&r.body).expect("OpenAPI is JSON")
}

/// Every operation of `doc`: `(path, method, operation)`.
fn operations(doc: &Value) -> Vec<(String, &'static str, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter_map(|m| item.get(*m).map(|op| (path.clone(), *m, op)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The parameters of `op` that are `in` one place (`path`, `query`).
fn params<'a>(op: &'a Value, place: &str) -> Vec<&'a Value> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == place)
        .collect()
}

/// `path` with each `{name}` replaced by an id that names nothing.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-4000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let ctx = Ctx::new().await;
    let doc = document(&ctx).await;
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi {version:?}");
    let got: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method.to_uppercase()))
        .collect();
    let want: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    // Each documented route is served: an anonymous call is never a 404 or 405.
    for (path, method) in ROUTES {
        let path = path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{grant_id}", "00000000-0000-4000-8000-000000000000")
            .replace("{token}", "t")
            .replace("{path}", "a.txt");
        let resp = ctx
            .send(&Case {
                method,
                path: format!("{V1}{path}"),
                body: Payload::Json(serde_json::json!({})),
                ..Case::default()
            })
            .await;
        assert!(
            ![404, 405].contains(&resp.status.as_u16()),
            "{method} {path}: {}",
            resp.status
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// What the document must say of one operation, given what it takes.
fn operation_faults(path: &str, method: &str, op: &Value) -> Vec<String> {
    let mut faults = Vec::new();
    let responses = op["responses"].as_object().cloned().unwrap_or_default();
    let secured = op["security"].as_array().is_some_and(|s| {
        s.iter()
            .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
    });
    let json_body = op["requestBody"]["content"]["application/json"].is_object();
    let mut want = vec!["500"];
    if secured {
        want.extend(["401", "403"]);
    }
    if !params(op, "path").is_empty() {
        want.extend(["400", "404"]);
    }
    if !params(op, "query").is_empty() {
        want.push("400");
    }
    if json_body {
        want.extend(["400", "413", "415"]);
    }
    for status in want {
        if !responses.contains_key(status) {
            faults.push(format!("no {status}"));
        }
    }
    for (status, response) in &responses {
        if response["description"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            faults.push(format!("{status} has no description"));
        }
        if status.starts_with('4') || status.starts_with('5') {
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            if schema != "#/components/schemas/ErrorBody" {
                faults.push(format!("{status} is not an ErrorBody"));
            }
            if response["x-error-codes"]
                .as_array()
                .is_none_or(|c| c.is_empty())
            {
                faults.push(format!("{status} names no x-error-codes"));
            }
        }
    }
    for p in params(op, "path") {
        let name = p["name"].as_str().unwrap_or_default();
        if !path.contains(&format!("{{{name}}}")) {
            faults.push(format!("path parameter `{name}` is not in the path"));
        }
    }
    faults
        .into_iter()
        .map(|f| format!("{} {path}: {f}", method.to_uppercase()))
        .collect()
}

/// Every operation documents each failure the shared layers can answer (401
/// and 403 when secured, 404 for an id in the path, 400/413/415 for a JSON
/// body…) with a description, the `ErrorBody` schema and its codes; operation
/// ids are unique; and what may be `null` is typed so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_failure() {
    let ctx = Ctx::new().await;
    let doc = document(&ctx).await;
    let mut faults = Vec::new();
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        faults.extend(operation_faults(&path, method, op));
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        if !ids.insert(id.clone()) {
            faults.push(format!("operation id `{id}` is not unique"));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
    let detail = &doc["components"]["schemas"]["EventDto"]["properties"]["detail"]["type"];
    assert_eq!(
        detail,
        &serde_json::json!(["object", "null"]),
        "EventDto.detail"
    );
}

/// A request whose query parameter `name` is `value`, as the admin.
fn query_case(ctx: &Ctx, path: &str, method: &'static str, query: String) -> Case {
    Case {
        label: "admin".into(),
        who: Some(ctx.admin.clone()),
        method,
        path: format!("{V1}{}?{query}", concrete(path)),
        want_status: 400,
        want_code: Some("invalid_query"),
        ..Case::default()
    }
}

/// Regression: `GET /ledger/entries?from=abc` was said to answer 200 with the
/// default range (issue 13), and `?from=9223372036854775808` answered 500.
/// Every query parameter the document types as a number or a boolean refuses
/// a value of another type or just past its documented bounds, and every
/// operation with query parameters refuses one it does not know, with 400
/// `invalid_query`, before anything else is done. The table is the document's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_entries_with_a_malformed_from_is_400() {
    let ctx = Ctx::new().await;
    let doc = document(&ctx).await;
    let mut cases = Vec::new();
    for (path, method, op) in operations(&doc) {
        let query = params(op, "query");
        if query.is_empty() {
            continue;
        }
        let method = match method {
            "get" => "GET",
            "post" => "POST",
            other => panic!("a query parameter on `{other} {path}`: extend this table"),
        };
        cases.push(query_case(&ctx, &path, method, "colour=red".into()));
        for p in query {
            let types = &p["schema"]["type"];
            let typed = ["integer", "number", "boolean"]
                .iter()
                .any(|t| types == t || types.as_array().is_some_and(|a| a.contains(&(*t).into())));
            if !typed {
                continue;
            }
            let name = p["name"].as_str().unwrap_or_default();
            cases.push(query_case(&ctx, &path, method, format!("{name}=abc")));
            // Just past the bounds the document gives.
            let bound = |key: &str| p["schema"][key].as_i64().map(i128::from);
            if let Some(min) = bound("minimum") {
                cases.push(query_case(
                    &ctx,
                    &path,
                    method,
                    format!("{name}={}", min - 1),
                ));
            }
            if let Some(max) = bound("maximum") {
                cases.push(query_case(
                    &ctx,
                    &path,
                    method,
                    format!("{name}={}", max + 1),
                ));
            }
        }
    }
    for bug in ["from=abc", "from=9223372036854775808"] {
        assert!(
            cases
                .iter()
                .any(|c| c.path == format!("{V1}/ledger/entries?{bug}")),
            "the table lost the case `{bug}`"
        );
    }
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = try_check(&ctx, case).await {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The gitleaks import once documented its body as `application/toml`, which
/// no generic client (schemathesis among them) can produce from the schema:
/// every request body is of a media type clients serialize.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_every_request_body_has_a_media_type_clients_serialize() {
    const KNOWN: [&str; 5] = [
        "application/json",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ];
    let ctx = Ctx::new().await;
    let doc = document(&ctx).await;
    let mut odd = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for media in content.keys() {
                    if !KNOWN.contains(&media.as_str()) {
                        odd.push(format!("{method} {path}: {media}"));
                    }
                }
            }
        }
    }
    assert!(odd.is_empty(), "{odd:?}");
}
