//! The OpenAPI document: valid JSON, OpenAPI 3.x, and exactly the routes of
//! `api.rs` with their methods.

use std::collections::BTreeSet;

use crate::util::*;

/// Every route of `api.rs` (relative to `/api/v1`) and method.
const ROUTES: &[(&str, &str)] = &[
    ("/auth/login", "POST"),
    ("/auth/logout", "POST"),
    ("/auth/me", "GET"),
    ("/auth/totp", "POST"),
    ("/auth/totp/confirm", "POST"),
    ("/parties", "GET"),
    ("/parties", "POST"),
    ("/parties/{id}", "GET"),
    ("/parties/{id}", "PATCH"),
    ("/users", "GET"),
    ("/users", "POST"),
    ("/users/{id}", "GET"),
    ("/users/{id}", "PATCH"),
    ("/users/{id}/revoke-sessions", "POST"),
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
    ("/rooms/{id}/delivery", "GET"),
    ("/rooms/{id}/delivery", "PUT"),
    ("/rooms/{id}/dlp", "GET"),
    ("/rooms/{id}/dlp", "PUT"),
    ("/dlp/quarantine", "GET"),
    ("/dlp/quarantine/{version}/content", "GET"),
    ("/dlp/quarantine/{version}/release", "POST"),
    ("/dlp/quarantine/{version}/reject", "POST"),
    ("/dlp/rules", "GET"),
    ("/dlp/rules", "POST"),
    ("/dlp/rules/{id}", "DELETE"),
    ("/rooms/{id}/files", "GET"),
    ("/rooms/{id}/files/{path}", "PUT"),
    ("/files/{id}", "GET"),
    ("/files/{id}", "DELETE"),
    ("/files/{id}/content", "GET"),
    ("/files/{id}/versions", "GET"),
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
    ("/agreement-templates", "GET"),
    ("/agreement-templates/{name}", "PUT"),
    ("/agreement-templates/{name}/issue", "POST"),
    ("/agreements/{id}/offer", "POST"),
    ("/notifications", "GET"),
    ("/notifications/{id}/read", "POST"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route() {
    let ctx = Ctx::new().await;
    let r = check(
        &ctx,
        Case {
            label: "anonymous".into(),
            method: "GET",
            path: format!("{V1}/openapi.json"),
            want_status: 200,
            ..Case::default()
        },
    )
    .await;
    let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("OpenAPI is JSON");
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi {version:?}");
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let got: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            methods
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (path.clone(), m.to_uppercase()))
                .collect::<Vec<_>>()
        })
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
