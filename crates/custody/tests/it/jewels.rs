//! Crown jewels over real HTTPS and offline: a source file registered for
//! registration only survives a restart of `custody serve` (the excerpt
//! uploaded after it by `custody put` is still held, naming the document),
//! and the registry exported through the API lets `custody scan --registry`
//! find the 50-line excerpt with its identifiers renamed without any server.

use std::fs;

use serde_json::{Value, json};

use crate::dlp_cli::api;
use crate::util::*;

const SOURCE: &str = include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler.rs.txt");
const EXCERPT: &str =
    include_str!("../../../dlp/tests/corpus/crown-jewel/blade_scheduler_excerpt.rs.txt");
const NAME: &str = "src/blade_scheduler.rs";

#[tokio::test]
async fn the_registry_survives_a_restart_and_scans_offline_from_its_export() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    scratch.cli_login(&server).await;
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();

    let r = raw_http()
        .post(format!("{}/api/v1/jewels/uploads?name={NAME}", server.url))
        .bearer_auth(&token)
        .body(SOURCE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let jewel: Value = r.json().await.unwrap();
    assert_eq!(jewel["name"], NAME, "{jewel}");

    // A room shared with an external party.
    let created = scratch.cli_ok(&[
        "rooms",
        "create",
        "Supplier drop",
        "--classification",
        "internal",
    ]);
    let room = field(&created, "room");
    let body = json!({"name": "Blade Supplier", "active_reason": "a test fixture, onboarded before the test"});
    let (status, party) = api(&server, &token, reqwest::Method::POST, "/parties", body).await;
    assert_eq!(status, 201, "{party}");
    let grant = json!({"subject_kind": "party", "subject_id": party["id"], "role": "viewer", "reason": "rfq"});
    let path = format!("/rooms/{room}/grants");
    let (status, body) = api(&server, &token, reqwest::Method::POST, &path, grant).await;
    assert_eq!(status, 201, "{body}");

    // `custody put` of the excerpt: held, and the CLI names the document.
    let excerpt = scratch.path("planner.rs");
    fs::write(&excerpt, EXCERPT).unwrap();
    let held = scratch.cli(&[], &["put", &room, excerpt.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert_eq!(held.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("fingerprint.crown_jewel"), "{stderr}");
    assert!(stderr.contains(NAME), "{stderr}");

    // Restarted: the registry is read back from the database and still holds
    // an excerpt uploaded after the restart.
    server.stop().await;
    let server = scratch.serve();
    let (status, list) = api(
        &server,
        &token,
        reqwest::Method::GET,
        "/jewels",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["name"], NAME, "{list}");
    let r = raw_http()
        .put(format!(
            "{}/api/v1/rooms/{room}/files/vendor/again.rs",
            server.url
        ))
        .bearer_auth(&token)
        .body(EXCERPT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let held: Value = r.json().await.unwrap();
    assert_eq!(held["reason"]["crown_jewels"][0]["name"], NAME, "{held}");

    // Exported, then scanned offline: the server is gone.
    let export = raw_http()
        .get(format!("{}/api/v1/jewels/export", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    server.stop().await;
    let registry = scratch.path("crown-jewels.json");
    fs::write(&registry, &export).unwrap();
    let drop_dir = scratch.path("vendor-drop");
    fs::create_dir_all(&drop_dir).unwrap();
    fs::copy(&excerpt, drop_dir.join("planner.rs")).unwrap();
    fs::write(
        drop_dir.join("notes.txt"),
        "delivery notes, nothing of note\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = command().arg("scan").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let dir = drop_dir.to_str().unwrap();
    let reg = registry.to_str().unwrap();
    let (code, stdout, stderr) = run(&["--registry", reg, dir]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("registry: 1 crown jewels"), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("fingerprint.crown_jewel"))
        .unwrap_or_default();
    assert!(
        line.contains("planner.rs") && line.contains(NAME),
        "{stdout}"
    );
    // JSON names it too; without the registry the excerpt is just code.
    let (_, json_out, _) = run(&["--registry", reg, "--format", "json", dir]);
    let report: Value = serde_json::from_str(&json_out).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detector"] == "fingerprint.crown_jewel")
        .cloned()
        .unwrap();
    assert!(
        finding["message"].as_str().unwrap().contains(NAME),
        "{finding}"
    );
    let (code, stdout, _) = run(&[dir]);
    assert_eq!(code, Some(0), "{stdout}");
    // A damaged registry is a usage error, not a clean scan.
    fs::write(&registry, export.replace("custody-crown-jewels", "other")).unwrap();
    let (code, _, stderr) = run(&["--registry", reg, dir]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("not an exported crown-jewel registry"),
        "{stderr}"
    );
}
