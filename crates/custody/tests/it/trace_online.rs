//! `custody trace --online`: a marked copy downloaded from the server is sent
//! back to it by the CLI, which names the download that issued it and writes
//! an evidence bundle that `custody ledger verify --bundle` accepts on its own.

use std::process::Output;

use serde_json::{Value, json};

use crate::util::*;

/// One CLI run and what it must print.
struct Case<'a> {
    label: &'a str,
    args: Vec<&'a str>,
    /// Exit status 0 or not.
    ok: bool,
    /// Texts that stdout (when `ok`) or stderr (otherwise) must hold.
    says: Vec<String>,
}

fn check(scratch: &Scratch, case: &Case<'_>) -> Output {
    let out = scratch.cli(&[], &case.args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.success(),
        case.ok,
        "{}: {:?}\nstdout: {stdout}\nstderr: {stderr}",
        case.label,
        case.args
    );
    let text = if case.ok { &stdout } else { &stderr };
    for want in &case.says {
        assert!(
            text.contains(want.as_str()),
            "{}: `{want}` missing from\n{text}",
            case.label
        );
    }
    out
}

#[tokio::test]
async fn online_trace_names_the_download_and_its_evidence_verifies() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let http = raw_http();

    let room = admin.create_room("traced", "internal").await.unwrap();
    let text: String = (1..=40)
        .map(|n| format!("Design note line {n}: tolerances of bracket B-{n} are 0.{n} mm.\n"))
        .collect();
    let original = scratch.path("notes.txt");
    std::fs::write(&original, &text).unwrap();
    let file = admin
        .put_file(&room.id, "notes.txt", &original, client::Progress::Hidden)
        .await
        .unwrap();
    // Every role gets a marked copy in this room (the admin manages it).
    let policy = json!({"downloader": "marked", "contributor": "marked", "manager": "marked", "unmarkable": "deny"});
    let set = http
        .put(format!("{}/api/v1/rooms/{}/delivery", server.url, room.id))
        .bearer_auth(&token)
        .json(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200, "{}", set.text().await.unwrap());

    let got = http
        .get(format!("{}/api/v1/files/{}/content", server.url, file.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let header = |name: &str| {
        got.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap()
            .to_owned()
    };
    let (mark_id, request_id) = (header("custody-mark-id"), header("x-request-id"));
    let copy = scratch.path("leaked.txt");
    std::fs::write(&copy, got.bytes().await.unwrap()).unwrap();
    let (copy, original) = (
        copy.to_str().unwrap().to_owned(),
        original.to_str().unwrap().to_owned(),
    );
    let evidence = scratch.path("evidence.json");
    let evidence = evidence.to_str().unwrap().to_owned();

    scratch.cli_login(&server).await;
    let cases = [
        Case {
            label: "the marked copy names its download",
            args: vec!["trace", "--online", &copy, "--evidence", &evidence],
            ok: true,
            says: vec![
                format!("mark id:    {mark_id}"),
                format!("request {request_id}"),
                format!("file.download file:{} version 1", file.id),
                format!("<{ADMIN_EMAIL}> of "),
                "evidence:   1 event(s) proven".to_owned(),
            ],
        },
        Case {
            label: "the bundle verifies on its own",
            args: vec!["ledger", "verify", "--bundle", &evidence],
            ok: true,
            says: vec![],
        },
        Case {
            label: "the original carries no mark",
            args: vec!["trace", "--online", &original],
            ok: false,
            says: vec!["no_mark".to_owned()],
        },
        Case {
            label: "the server's key is not the client's to give",
            args: vec!["trace", "--online", &copy, "--key-file", &original],
            ok: false,
            says: vec!["--key-file".to_owned()],
        },
        Case {
            label: "evidence is only fetched online",
            args: vec!["trace", &copy, "--evidence", &evidence],
            ok: false,
            says: vec!["--online".to_owned()],
        },
    ];
    for case in &cases {
        check(&scratch, case);
    }

    // The bundle written holds exactly the download's event.
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&evidence).unwrap()).unwrap();
    let entries = bundle["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["event"]["mark_id"], mark_id.as_str());
    assert_eq!(entries[0]["event"]["request_id"], request_id.as_str());
}
