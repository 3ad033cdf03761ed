//! Bad input: hostile file paths, unknown or malformed JSON, wrong content
//! types, bodies over the limits, bad or expired tokens, unknown routes and
//! names. Every answer is the JSON error format with the request id.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::*;

fn raw(
    who: &str,
    method: &'static str,
    path: String,
    ct: Option<&'static str>,
    body: &[u8],
) -> Case {
    Case {
        label: "bad input".into(),
        who: Some(who.to_owned()),
        method,
        path,
        body: Payload::Raw(ct, body.to_vec()),
        ..Case::default()
    }
}

fn want(case: Case, status: u16, code: &'static str) -> Case {
    Case {
        want_status: status,
        want_code: (!code.is_empty()).then_some(code),
        ..case
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_file_paths() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Paths").await;
    let long_segment = "a".repeat(256);
    let long_path = vec!["abcdefgh"; 600].join("/");
    let table: Vec<(String, &'static str)> = vec![
        ("../escape.txt".into(), "path_traversal"),
        ("a/../../b".into(), "path_traversal"),
        ("%2E%2E/escape.txt".into(), "path_traversal"),
        ("a/./b".into(), "path_traversal"),
        ("%2Fetc%2Fpasswd".into(), "path_absolute"),
        ("C%3A/windows".into(), "path_absolute"),
        ("%5C%5Cserver%5Cshare".into(), "path_absolute"),
        ("a%00b".into(), "path_control_character"),
        ("a%0Ab".into(), "path_control_character"),
        ("a%1Bb".into(), "path_control_character"),
        ("a%7F".into(), "path_control_character"),
        ("a%5Cb".into(), "path_control_character"),
        ("a//b".into(), "path_empty_segment"),
        ("dir/".into(), "path_empty_segment"),
        (long_segment, "path_segment_too_long"),
        (long_path, "path_too_long"),
    ];
    let mut failures = Vec::new();
    for (path, code) in table {
        let case = raw(
            &ctx.admin,
            "PUT",
            format!("{V1}/rooms/{room}/files/{path}"),
            Some("application/octet-stream"),
            b"x",
        );
        if let Err(e) = try_check(&ctx, &want(case, 400, code)).await {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(list["items"], json!([]), "a refused path was stored");
    // The creator (manager) of the room stores good paths, at the limits too.
    let longest = format!("{}/ok.txt", "a".repeat(255));
    for path in [
        "ok.txt",
        "..a/..b",
        "%C3%BCn%C3%AFc%C3%B8d%C3%A9/%E6%96%87.pdf",
        &longest,
    ] {
        let case = raw(
            &ctx.admin,
            "PUT",
            format!("{V1}/rooms/{room}/files/{path}"),
            Some("application/octet-stream"),
            b"x",
        );
        check(&ctx, want(case, 201, "")).await;
    }
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    let paths: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"ünïcødé/文.pdf"), "{paths:?}");
    assert_eq!(paths.len(), 4, "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_names_tokens_and_routes() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Inputs").await;
    let user = ctx.staff("member").await;
    let admin = ctx.admin.clone();
    let rooms = format!("{V1}/rooms");
    let json_ct = Some("application/json");
    let big = format!(
        "{{\"name\":\"{}\",\"classification\":\"internal\"}}",
        "x".repeat(300 * 1024)
    );
    let table: Vec<(Case, u16, &'static str)> = vec![
        (raw(&admin, "POST", rooms.clone(), json_ct, br#"{"name":"r","classification":"internal","owner":"me"}"#), 400, "invalid_request"),
        (raw(&admin, "POST", rooms.clone(), json_ct, br#"{"name":"r"}"#), 400, "invalid_request"),
        (raw(&admin, "POST", rooms.clone(), json_ct, br#"{"name":"r","classification":"#), 400, "invalid_json"),
        (raw(&admin, "POST", rooms.clone(), json_ct, b"not json"), 400, "invalid_json"),
        (raw(&admin, "POST", rooms.clone(), Some("text/plain"), br#"{"name":"r","classification":"internal"}"#), 415, "unsupported_media_type"),
        (raw(&admin, "POST", rooms.clone(), None, br#"{"name":"r","classification":"internal"}"#), 415, "unsupported_media_type"),
        (raw(&admin, "POST", rooms.clone(), json_ct, big.as_bytes()), 413, "payload_too_large"),
        (raw(&admin, "POST", rooms.clone(), json_ct, br#"{"name":"r","classification":"top-secret"}"#), 400, "unknown_name"),
        (raw(&admin, "PATCH", format!("{rooms}/{room}"), json_ct, br#"{"classification":"secret"}"#), 400, "unknown_name"),
        (raw(&admin, "POST", format!("{rooms}/{room}/grants"), json_ct, format!(r#"{{"subject_kind":"user","subject_id":"{}","role":"owner","reason":"r"}}"#, user.id).as_bytes()), 400, "unknown_name"),
        (raw(&admin, "POST", format!("{rooms}/{room}/grants"), json_ct, format!(r#"{{"subject_kind":"team","subject_id":"{}","role":"viewer","reason":"r"}}"#, user.id).as_bytes()), 400, "unknown_name"),
        (raw(&admin, "POST", format!("{V1}/users"), json_ct, format!(r#"{{"email":"z@owner.example","display_name":"Z","party_id":"{}","system_role":"root"}}"#, ctx.owner_party).as_bytes()), 400, "unknown_name"),
        (raw(&admin, "PATCH", format!("{V1}/users/{}", user.id), json_ct, br#"{"system_role":"superuser"}"#), 400, "unknown_name"),
        (raw(&admin, "PATCH", format!("{V1}/parties/{}", ctx.owner_party), json_ct, br#"{"status":"dormant"}"#), 400, "unknown_name"),
        (raw(&admin, "POST", format!("{rooms}/{room}/grants"), json_ct, format!(r#"{{"subject_kind":"user","subject_id":"{}","role":"viewer","reason":"r","expires_at":"tomorrow"}}"#, user.id).as_bytes()), 400, "invalid_time"),
        (raw(&admin, "GET", format!("{rooms}/not-a-uuid"), None, b""), 404, "not_found"),
        (raw(&admin, "GET", format!("{V1}/nope"), None, b""), 404, "not_found"),
        (raw(&admin, "GET", "/nope".into(), None, b""), 404, "not_found"),
        // Query strings that do not fit are refused in the error format too.
        (raw(&admin, "GET", format!("{V1}/events?bogus=1"), None, b""), 400, ""),
        (raw(&admin, "GET", format!("{V1}/events?limit=many"), None, b""), 400, ""),
        // A method the route lacks answers the error format too.
        (raw(&admin, "PUT", format!("{V1}/events"), None, b""), 405, ""),
        // Invalid UTF-8 in a path segment.
        (raw(&admin, "PUT", format!("{rooms}/{room}/files/a%FFb"), Some("application/octet-stream"), b"x"), 400, ""),
        (raw("no-such-token", "GET", rooms.clone(), None, b""), 401, "unauthenticated"),
        (raw("", "GET", rooms.clone(), None, b""), 401, "unauthenticated"),
        (Case { who: None, ..raw("", "GET", rooms.clone(), None, b"") }, 401, "unauthenticated"),
        (Case { headers: vec![("authorization", format!("Basic {admin}"))], who: None, ..raw("", "GET", rooms.clone(), None, b"") }, 401, "unauthenticated"),
    ];
    let mut failures = Vec::new();
    for (case, status, code) in table {
        if let Err(e) = try_check(&ctx, &want(case, status, code)).await {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // An API token stops working when it expires (30 days).
    check(
        &ctx,
        want(raw(&user.token, "GET", rooms.clone(), None, b""), 200, ""),
    )
    .await;
    ctx.advance(30 * 24 * 3600 * 1000 + 1);
    check(
        &ctx,
        want(
            raw(&user.token, "GET", rooms, None, b""),
            401,
            "unauthenticated",
        ),
    )
    .await;
}

/// Committed blobs (`blobs/<2 hex>/<32 hex>`) and files left in `blobs/tmp`.
fn blob_files(dir: &Path) -> (usize, usize) {
    let count = |d: &Path| std::fs::read_dir(d).map(|r| r.count()).unwrap_or(0);
    let root = dir.join("blobs");
    let committed = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| count(&e.path()))
        .sum();
    (committed, count(&root.join("tmp")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_over_the_limit_stores_nothing() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Limits").await;
    let party = ctx.party("Acme").await;
    let up = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &up.id, "contributor", None)
        .await;
    let big = vec![0x5a; UPLOAD_LIMIT as usize + 1];
    for (declared, path) in [(true, "declared.bin"), (false, "streamed.bin")] {
        let case = Case {
            label: format!("contributor, length declared: {declared}"),
            no_length: !declared,
            ..raw(
                &up.token,
                "PUT",
                format!("{V1}/rooms/{room}/files/{path}"),
                Some("application/octet-stream"),
                &big,
            )
        };
        check(&ctx, want(case, 413, "payload_too_large")).await;
    }
    let list = ctx
        .must(
            &up.token,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        blob_files(ctx.dir.path()),
        (0, 0),
        "(committed blobs, partial files)"
    );
    // Exactly at the limit is accepted.
    let exact = vec![0x5a; UPLOAD_LIMIT as usize];
    ctx.upload(&up.token, &room, "exact.bin", &exact).await;
    assert_eq!(blob_files(ctx.dir.path()), (1, 0));
}
