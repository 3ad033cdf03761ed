//! `custody put` and `custody get` against a room's data-loss policy, over
//! real HTTPS: a download the policy wants justified is refused without
//! `--justification` and served with it; an upload the policy holds for review
//! is reported as held (its own exit code 3, the detectors named, no
//! `error:`), not as a stored file and not as a failure.

use std::fs;

use serde_json::{Value, json};

use crate::util::*;

/// Sends one API request as `token`; returns the status and the JSON body.
/// `METHOD /api/v1{path}` with `token` and a JSON body: the status and the JSON answer.
pub(crate) async fn api(
    server: &Server,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = raw_http()
        .request(method, format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn transfers_follow_the_rooms_data_loss_policy() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    scratch.cli_login(&server).await;
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let created = scratch.cli_ok(&[
        "rooms",
        "create",
        "Supplier share",
        "--classification",
        "internal",
    ]);
    let room = field(&created, "room");

    // Shared with an external party: the default policy holds high findings
    // coming in and asks a justification for them going out.
    let (status, party) = api(
        &server,
        &token,
        reqwest::Method::POST,
        "/parties",
        json!({"name": "Gear Supplier", "active_reason": "a test fixture, onboarded before the test"}),
    )
    .await;
    assert_eq!(status, 201, "{party}");
    let grant = json!({"subject_kind": "party", "subject_id": party["id"], "role": "viewer", "reason": "rfq"});
    let (status, body) = api(
        &server,
        &token,
        reqwest::Method::POST,
        &format!("/rooms/{room}/grants"),
        grant,
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let notes = scratch.path("notes.txt");
    fs::write(&notes, "Part list for project zebracorn.\n").unwrap();
    let put = scratch.cli_ok(&["put", &room, notes.to_str().unwrap()]);
    let file = field(&put, "file");

    // The project's code name becomes a high-severity rule: the stored
    // verdict is stale, the download rescans it.
    let rule = json!({"id": "acme.zebra", "message": "a project code name", "severity": "high",
        "kind": {"keywords": ["zebracorn"]}});
    let (status, body) = api(&server, &token, reqwest::Method::POST, "/dlp/rules", rule).await;
    assert_eq!(status, 201, "{body}");
    let out = scratch.path("back.txt");
    let refused = scratch.cli(&[], &["get", &file, out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`dlp_justification_required`"), "{stderr}");
    // regression: the message named the HTTP header instead of the CLI's flag.
    assert!(stderr.contains("--justification"), "{stderr}");
    assert!(!stderr.contains("custody-justification"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    let got = scratch.cli_ok(&[
        "get",
        &file,
        out.to_str().unwrap(),
        "--justification",
        "the supplier quotes from this list",
    ]);
    assert_eq!(field(&got, "file"), file);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&notes).unwrap());

    // Coming in, the same finding is held for review.
    let more = scratch.path("more.txt");
    fs::write(&more, "zebracorn gearbox, revision B\n").unwrap();
    let held = scratch.cli(&[], &["put", &room, more.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&held.stderr);
    // regression: a held upload printed `error:` and exited 1 although it was stored.
    assert_eq!(held.status.code(), Some(3), "{stderr}");
    assert!(stderr.starts_with("held: "), "{stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    assert!(stderr.contains("held for review"), "{stderr}");
    assert!(stderr.contains("high findings: acme.zebra x1"), "{stderr}");
    let ls = scratch.cli_ok(&["ls", &room]);
    assert!(!ls.contains("more.txt"), "a held upload is listed: {ls}");

    let events = server.events(&admin).await;
    let justified = events
        .iter()
        .find(|e| e["action"] == "dlp.justified")
        .cloned()
        .unwrap_or(Value::Null);
    assert!(
        justified
            .to_string()
            .contains("the supplier quotes from this list"),
        "{justified}"
    );
    assert!(
        events.iter().any(|e| e["action"] == "dlp.hold"),
        "no hold event"
    );
}
