//! Data-loss prevention through the API: a file carrying a private key is
//! refused (422 `dlp_blocked`, nothing stored, a denied event naming the
//! detector) when the room is shared with an external party, and accepted
//! into a room granted only to the owner party; each action of a room's
//! policy per direction; the quarantine's release and rejection (API and web
//! form); a rescan when the ruleset changes; uninspectable files.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::*;

/// An RSA private key in PEM armour, generated here: 20 base64 lines of 64
/// characters that decode to nothing in particular. It starts on line 4 of
/// [`with_key`].
fn pem_text() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body: String = (0..20usize)
        .map(|row| {
            let line: String = (0..64usize)
                .map(|i| char::from(alphabet[(row * 7 + i * 13) % 64]))
                .collect();
            format!("{line}\n")
        })
        .collect();
    format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
}

fn with_key() -> Vec<u8> {
    format!(
        "deploy notes\nhost: build-7\nkey below\n{}done\n",
        pem_text()
    )
    .into_bytes()
}

/// Committed blobs (`blobs/<2 hex>/<32 hex>`).
fn committed_blobs(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).map(|r| r.count()).unwrap_or(0))
        .sum()
}

fn put(room: &str, path: &str, content: Vec<u8>, status: u16, code: Option<&'static str>) -> Case {
    Case {
        label: format!("put {path} into {room}"),
        method: "PUT",
        path: format!("{V1}/rooms/{room}/files/{path}"),
        body: Payload::Raw(Some("application/octet-stream"), content),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_is_blocked_only_in_rooms_shared_externally() {
    let ctx = Ctx::new().await;
    let shared = ctx.room(&ctx.admin, "Shared").await;
    let party = ctx.party("Acme").await;
    ctx.grant(&ctx.admin, &shared, "party", &party, "viewer", None)
        .await;
    let internal = ctx.room(&ctx.admin, "Internal").await;
    let owner = ctx.owner_party.clone();
    ctx.grant(&ctx.admin, &internal, "party", &owner, "viewer", None)
        .await;
    let clean = b"quarterly figures, nothing secret\n".repeat(100);
    let cases = [
        put(
            &shared,
            "ops/deploy.txt",
            with_key(),
            422,
            Some("dlp_blocked"),
        ),
        put(&internal, "ops/deploy.txt", with_key(), 201, None),
        put(&shared, "ops/figures.txt", clean, 201, None),
    ];
    for mut case in cases {
        case.who = Some(ctx.admin.clone());
        let r = check(&ctx, case).await;
        if r.status == 422 {
            let message = r.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for want in ["`pem.rsa_private_key`", "line 4", "external party"] {
                assert!(message.contains(want), "message `{message}` lacks `{want}`");
            }
        }
    }

    // Only the clean file is in the shared room; two blobs exist in all.
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{shared}/files"),
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
    assert_eq!(paths, ["ops/figures.txt"]);
    assert_eq!(committed_blobs(ctx.dir.path()), 2);

    // One denied upload event, naming the detector and line, without the key.
    let events = ctx.events().await;
    let denied: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "file.upload" && e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    let ev = denied.first().copied().unwrap_or(&Value::Null);
    assert_eq!(ev["reason"], "dlp_blocked", "{ev}");
    assert_eq!(ev["detail"]["detector"], "pem.rsa_private_key", "{ev}");
    assert_eq!(ev["detail"]["line"], 4, "{ev}");
    let key_line = pem_text().lines().nth(1).unwrap_or_default().to_owned();
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(&key_line), "an event carries the key");
}

// ---- policies, actions, quarantine, rescans

/// A custom detector of `severity` for the word `word`, as the admin adds it.
async fn add_rule(ctx: &Ctx, id: &str, word: &str, severity: &str) {
    let rule = json!({"id": id, "message": "a project code name",
        "severity": severity, "kind": {"keywords": [word]}});
    ctx.must(&ctx.admin, "POST", "/dlp/rules", rule, 201).await;
}

/// A room shared with an external party, created by the admin.
async fn shared_room(ctx: &Ctx, name: &str) -> String {
    let room = ctx.room(&ctx.admin, name).await;
    let party = ctx.party(&format!("{name} Partner")).await;
    ctx.grant(&ctx.admin, &room, "party", &party, "viewer", None)
        .await;
    room
}

/// A direction's actions: low and medium allow, `high` as given, critical block.
fn direction(high: &str, uninspectable: &str) -> Value {
    json!({"low": "allow", "medium": "allow", "high": high, "critical": "block",
        "uninspectable": uninspectable})
}

async fn set_policy(ctx: &Ctx, room: &str, inbound: Value, outbound: Value) {
    let body = json!({"inbound": inbound, "outbound": outbound});
    let r = ctx
        .must(&ctx.admin, "PUT", &format!("/rooms/{room}/dlp"), body, 200)
        .await;
    assert_eq!(r["source"], "room", "{r}");
}

/// Events of `action`, oldest first.
async fn events_of(ctx: &Ctx, action: &str) -> Vec<Value> {
    ctx.events()
        .await
        .into_iter()
        .filter(|e| e["action"] == action)
        .collect()
}

/// One row of the per-action tables: the action for `high` findings, whether
/// a justification is sent, and what must come back.
struct ActionRow {
    high: &'static str,
    justification: Option<&'static str>,
    status: u16,
    code: Option<&'static str>,
    /// The decision event the request must add, if any.
    event: Option<&'static str>,
}

fn row(
    high: &'static str,
    justification: Option<&'static str>,
    status: u16,
    code: Option<&'static str>,
    event: Option<&'static str>,
) -> ActionRow {
    ActionRow {
        high,
        justification,
        status,
        code,
        event,
    }
}

fn with_justification(mut case: Case, justification: Option<&str>) -> Case {
    if let Some(j) = justification {
        case.headers.push(("custody-justification", j.to_owned()));
    }
    case
}

/// Checks that one request under `r` added the event `r.event` (with the
/// justification, when one was sent), and no other decision event.
async fn check_decision_events(ctx: &Ctx, before: &[usize; 3], r: &ActionRow, label: &str) {
    let names = ["dlp.notify", "dlp.justified", "dlp.hold"];
    for (n, name) in names.iter().enumerate() {
        let now = events_of(ctx, name).await;
        let want = before[n] + usize::from(r.event == Some(*name));
        assert_eq!(now.len(), want, "{label}: {name} events");
        if r.event == Some(*name) && *name == "dlp.justified" {
            let last = now.last().cloned().unwrap_or_default();
            assert_eq!(
                last["detail"]["justification"],
                r.justification.unwrap_or_default()
            );
            assert_eq!(last["detail"]["detectors"]["acme.zebra"], 1, "{last}");
        }
    }
}

async fn decision_counts(ctx: &Ctx) -> [usize; 3] {
    [
        events_of(ctx, "dlp.notify").await.len(),
        events_of(ctx, "dlp.justified").await.len(),
        events_of(ctx, "dlp.hold").await.len(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_inbound_action_does_what_it_says() {
    let ctx = Ctx::new().await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    let room = shared_room(&ctx, "Inbound").await;
    let table = [
        row("allow", None, 201, None, None),
        row("notify", None, 201, None, Some("dlp.notify")),
        row(
            "justify",
            None,
            422,
            Some("dlp_justification_required"),
            None,
        ),
        row(
            "justify",
            Some("the partner needs the spec"),
            201,
            None,
            Some("dlp.justified"),
        ),
        row("quarantine", None, 202, None, Some("dlp.hold")),
        row("block", None, 422, Some("dlp_blocked"), None),
    ];
    for (n, r) in table.iter().enumerate() {
        set_policy(
            &ctx,
            &room,
            direction(r.high, "allow"),
            direction("allow", "allow"),
        )
        .await;
        let path = format!("in/{n}-{}.txt", r.high);
        let content = b"notes on project zebracorn\n".to_vec();
        let before = decision_counts(&ctx).await;
        let mut case = put(&room, &path, content, r.status, r.code);
        case.who = Some(ctx.admin.clone());
        let resp = check(&ctx, with_justification(case, r.justification)).await;
        let label = format!("inbound {} {:?}", r.high, r.justification);
        check_decision_events(&ctx, &before, r, &label).await;
        if r.status == 422 {
            let message = resp.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(message.contains("acme.zebra"), "{label}: {message}");
            assert!(
                !message.contains("zebracorn"),
                "{label}: the value leaks: {message}"
            );
        }
        // Listed exactly when stored and not held.
        let list = ctx
            .must(
                &ctx.admin,
                "GET",
                &format!("/rooms/{room}/files"),
                Value::Null,
                200,
            )
            .await;
        let listed = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["path"] == path.as_str());
        assert_eq!(listed, r.status == 201, "{label}: listed");
    }
    let held = ctx
        .must(&ctx.admin, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    assert_eq!(held["items"].as_array().map(Vec::len), Some(1), "{held}");
    assert_eq!(
        held["items"][0]["reason"]["detectors"]["acme.zebra"], 1,
        "{held}"
    );
    assert_eq!(held["items"][0]["reason"]["max_severity"], "high", "{held}");
    // The owner's admin (no security officer here) is told of the hold.
    let notes = ctx
        .must(&ctx.admin, "GET", "/notifications", Value::Null, 200)
        .await;
    let holds: Vec<&Value> = notes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "dlp.hold")
        .collect();
    assert_eq!(holds.len(), 1, "{notes}");
    let said = holds[0]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("held for review") && said.contains("Quarantine"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outbound_action_does_what_it_says() {
    let ctx = Ctx::new().await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    let room = shared_room(&ctx, "Outbound").await;
    set_policy(
        &ctx,
        &room,
        direction("allow", "allow"),
        direction("allow", "allow"),
    )
    .await;
    let file = ctx
        .upload(&ctx.admin, &room, "out/spec.txt", b"project zebracorn\n")
        .await;
    let id = file["id"].as_str().unwrap_or_default().to_owned();
    let table = [
        row("allow", None, 200, None, None),
        row("notify", None, 200, None, Some("dlp.notify")),
        row(
            "justify",
            None,
            422,
            Some("dlp_justification_required"),
            None,
        ),
        row(
            "justify",
            Some("audit request 7"),
            200,
            None,
            Some("dlp.justified"),
        ),
        row("block", None, 422, Some("dlp_blocked"), None),
    ];
    for r in &table {
        set_policy(
            &ctx,
            &room,
            direction("allow", "allow"),
            direction(r.high, "allow"),
        )
        .await;
        let before = decision_counts(&ctx).await;
        let case = Case {
            label: format!("outbound {}", r.high),
            who: Some(ctx.admin.clone()),
            method: "GET",
            path: format!("{V1}/files/{id}/content"),
            want_status: r.status,
            want_code: r.code,
            ..Case::default()
        };
        let resp = check(&ctx, with_justification(case, r.justification)).await;
        check_decision_events(
            &ctx,
            &before,
            r,
            &format!("outbound {} {:?}", r.high, r.justification),
        )
        .await;
        if r.status == 200 {
            assert_eq!(resp.body, b"project zebracorn\n");
        }
    }
    // The verdict stored at upload served every row: no rescan.
    assert_eq!(events_of(&ctx, "dlp.scan").await.len(), 0);
    // Refusals are recorded as denied downloads with their reason.
    let denied: Vec<Value> = events_of(&ctx, "file.download")
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    let reasons: Vec<&str> = denied.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(reasons, ["dlp_justification_required", "dlp_blocked"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_validated_and_guarded() {
    let ctx = Ctx::new().await;
    let room = shared_room(&ctx, "Guarded").await;
    let defaults = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/dlp"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(defaults["source"], "default");
    assert_eq!(defaults["policy"]["inbound"]["high"], "quarantine");
    assert_eq!(defaults["policy"]["inbound"]["uninspectable"], "quarantine");
    assert_eq!(defaults["policy"]["outbound"]["high"], "justify");
    let member = ctx.staff("member").await;
    let put = |who: &str, body: Value, status: u16, code: Option<&'static str>| Case {
        label: format!("put policy {body}"),
        who: Some(who.to_owned()),
        method: "PUT",
        path: format!("{V1}/rooms/{room}/dlp"),
        body: Payload::Json(body),
        want_status: status,
        want_code: code,
        ..Case::default()
    };
    let ok = json!({"inbound": direction("quarantine", "quarantine"), "outbound": direction("justify", "allow")});
    let table = [
        put(
            &ctx.admin,
            json!({"inbound": direction("hold", "allow"), "outbound": direction("allow", "allow")}),
            400,
            Some("dlp_bad_policy"),
        ),
        put(
            &ctx.admin,
            json!({"inbound": direction("allow", "allow"), "outbound": direction("quarantine", "allow")}),
            400,
            Some("dlp_bad_policy"),
        ),
        put(
            &ctx.admin,
            json!({"inbound": {"low": "block", "medium": "allow", "high": "block", "critical": "block", "uninspectable": "allow"}, "outbound": direction("allow", "allow")}),
            400,
            Some("dlp_bad_policy"),
        ),
        put(
            &ctx.admin,
            json!({"inbound": direction("allow", "allow")}),
            400,
            Some("invalid_request"),
        ),
        put(&member.token, ok.clone(), 404, Some("not_found")),
        put(&ctx.admin, ok, 200, None),
    ];
    for case in table {
        check(&ctx, case).await;
    }
    // Only security staff review; only admins change the rules.
    let officer = ctx.staff("security_officer").await;
    let rule = json!({"id": "x.y", "message": "m", "severity": "low", "kind": {"keywords": ["q"]}});
    let bad_rule = json!({"id": "x.z", "message": "m", "severity": "low", "kind": {"regex": "a*"}});
    let cases = [
        (
            member.token.clone(),
            "GET",
            "/dlp/quarantine",
            Value::Null,
            403,
        ),
        (
            officer.token.clone(),
            "GET",
            "/dlp/quarantine",
            Value::Null,
            200,
        ),
        (officer.token.clone(), "GET", "/dlp/rules", Value::Null, 200),
        (
            officer.token.clone(),
            "POST",
            "/dlp/rules",
            rule.clone(),
            403,
        ),
        (ctx.admin.clone(), "POST", "/dlp/rules", bad_rule, 400),
        (ctx.admin.clone(), "POST", "/dlp/rules", rule.clone(), 201),
        (ctx.admin.clone(), "POST", "/dlp/rules", rule, 409),
        (
            ctx.admin.clone(),
            "DELETE",
            "/dlp/rules/x.y",
            Value::Null,
            204,
        ),
        (
            ctx.admin.clone(),
            "DELETE",
            "/dlp/rules/x.y",
            Value::Null,
            404,
        ),
    ];
    for (who, method, path, body, status) in cases {
        let r = ctx.call(&who, method, path, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text());
    }
    let changes = events_of(&ctx, "dlp.policy").await;
    let outcomes: Vec<&str> = changes
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["denied", "allowed"],
        "the member's refusal and the change"
    );
}

/// A zip archive of one stored member; `encrypted` sets the member's
/// encryption flag (the content is then not what an extractor can read).
fn zip_of(name: &str, content: &[u8], encrypted: bool) -> Vec<u8> {
    let crc = crc32(content);
    let (len, name_len) = (content.len() as u32, name.len() as u16);
    let flags = u16::from(encrypted);
    let mut out = Vec::new();
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    for v in [20u16, flags, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, len, len] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(content);
    let central = out.len() as u32;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    for v in [20u16, 20, flags, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, len, len] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [name_len, 0, 0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(name.as_bytes());
    let central_len = out.len() as u32 - central;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, 1, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [central_len, central] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & 0u32.wrapping_sub(crc & 1));
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_cannot_be_inspected_get_the_uninspectable_action() {
    let ctx = Ctx::new().await;
    let room = shared_room(&ctx, "Opaque").await;
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x2b\x49\x2d".to_vec();
    // (path, content, status, why) under the default policy of a shared room.
    let table: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        (
            "a/secret.zip",
            zip_of("plan.txt", b"\x8a\x13\xfe\x01 cipher", true),
            202,
            Some("extract.encrypted"),
        ),
        (
            "a/broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog".to_vec(),
            202,
            Some("extract.corrupt"),
        ),
        ("a/short.gz", gzip, 202, Some("extract.corrupt")),
        (
            "a/plain.zip",
            zip_of("plan.txt", b"nothing secret", false),
            201,
            None,
        ),
    ];
    for (path, content, status, why) in table {
        let mut case = put(&room, path, content, status, None);
        case.who = Some(ctx.admin.clone());
        let r = check(&ctx, case).await;
        if let Some(why) = why {
            assert_eq!(
                r.json()["reason"]["uninspectable"],
                why,
                "{path}: {}",
                r.text()
            );
            assert_eq!(r.json()["state"], "held", "{path}");
        }
    }
    // With `allow` for what cannot be inspected, the same files are stored.
    set_policy(
        &ctx,
        &room,
        direction("quarantine", "allow"),
        direction("justify", "allow"),
    )
    .await;
    let r = ctx
        .put(
            &ctx.admin,
            &room,
            "b/secret.zip",
            zip_of("p.txt", b"\x8a\x13", true),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text());
    set_policy(
        &ctx,
        &room,
        direction("quarantine", "block"),
        direction("justify", "allow"),
    )
    .await;
    let r = ctx
        .put(
            &ctx.admin,
            &room,
            "c/secret.zip",
            zip_of("p.txt", b"\x8a\x13", true),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "dlp_blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_release_and_reject() {
    let ctx = Ctx::new().await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    let room = shared_room(&ctx, "Review").await;
    let v1 = ctx
        .upload(&ctx.admin, &room, "spec.txt", b"version one\n")
        .await;
    let mut held = Vec::new();
    for path in ["spec.txt", "other.txt"] {
        ctx.advance(1_000);
        let r = ctx
            .put(&ctx.admin, &room, path, b"zebracorn details\n".to_vec())
            .await;
        assert_eq!(r.status.as_u16(), 202, "{}", r.text());
        held.push(
            r.json()["version_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    // Held versions are neither listed nor served.
    let id = v1["id"].as_str().unwrap_or_default().to_owned();
    let versions = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/files/{id}/versions"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(1));
    let r = ctx
        .call(
            &ctx.admin,
            "GET",
            &format!("/files/{id}/content?version={}", held[0]),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);

    let officer = ctx.staff("security_officer").await;
    let list = ctx
        .must(&officer.token, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    let listed: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["version_id"].as_str())
        .collect();
    assert_eq!(listed, [held[0].as_str(), held[1].as_str()]);

    // The reviewers read a held upload; nobody else does.
    let content = format!("/dlp/quarantine/{}/content", held[0]);
    let r = ctx.call(&officer.token, "GET", &content, Value::Null).await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_slice()),
        (200, b"zebracorn details\n".as_slice())
    );
    let member = ctx.staff("member").await;
    let r = ctx.call(&member.token, "GET", &content, Value::Null).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    assert_eq!(events_of(&ctx, "dlp.review_read").await.len(), 1);

    let release = format!("/dlp/quarantine/{}/release", held[0]);
    let reject = format!("/dlp/quarantine/{}/reject", held[1]);
    let cases = [
        (member.token.clone(), release.clone(), 403),
        (officer.token.clone(), release.clone(), 200),
        (officer.token.clone(), release.clone(), 409),
        (officer.token.clone(), reject.clone(), 200),
        (
            officer.token.clone(),
            format!("/dlp/quarantine/{}/release", held[1]),
            409,
        ),
        (
            officer.token.clone(),
            format!(
                "/dlp/quarantine/{}/release",
                v1["version_id"].as_str().unwrap_or_default()
            ),
            404,
        ),
    ];
    for (who, path, status) in cases {
        let r = ctx
            .call(&who, "POST", &path, json!({"note": "checked with legal"}))
            .await;
        assert_eq!(r.status.as_u16(), status, "POST {path}: {}", r.text());
    }
    // The released version is the file's newest; the rejected one is nowhere.
    let file = ctx
        .must(&ctx.admin, "GET", &format!("/files/{id}"), Value::Null, 200)
        .await;
    assert_eq!(
        (file["version"].as_i64(), file["version_id"].as_str()),
        (Some(2), Some(held[0].as_str()))
    );
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
    assert_eq!(paths, ["spec.txt"]);
    let left = ctx
        .must(&officer.token, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    assert_eq!(left["items"].as_array().map(Vec::len), Some(0));
    let all = ctx
        .must(
            &officer.token,
            "GET",
            "/dlp/quarantine?all=true",
            Value::Null,
            200,
        )
        .await;
    let states: Vec<&str> = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["state"].as_str())
        .collect();
    assert_eq!(states, ["released", "rejected"]);
    for action in ["dlp.hold", "dlp.release", "dlp.reject"] {
        let n = if action == "dlp.hold" { 2 } else { 1 };
        assert_eq!(events_of(&ctx, action).await.len(), n, "{action}");
    }
    let released = events_of(&ctx, "dlp.release").await;
    assert_eq!(released[0]["detail"]["note"], "checked with legal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarantine_page_releases_through_its_form() {
    let ctx = Ctx::new().await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    let room = shared_room(&ctx, "Page").await;
    let r = ctx
        .put(&ctx.admin, &room, "held.txt", b"zebracorn\n".to_vec())
        .await;
    let version = r.json()["version_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.advance(30_000);
    let code = ctx.code(&ctx.admin_totp);
    let browser = app::Identity(&ctx.app)
        .login(
            &app::RequestMeta::default(),
            ADMIN_EMAIL,
            PASSWORD,
            Some(&code),
            model::SessionKind::Browser,
        )
        .await
        .expect("browser login");
    let csrf = browser.csrf.clone().expect("csrf");
    let cookie = format!("custody_session={}", browser.token);
    let page = |status: u16| Case {
        label: "quarantine page".into(),
        method: "GET",
        path: "/quarantine".into(),
        headers: vec![("cookie", cookie.clone())],
        want_status: status,
        ..Case::default()
    };
    let html = String::from_utf8_lossy(&check(&ctx, page(200)).await.body).into_owned();
    assert!(
        html.contains("held.txt") && html.contains("acme.zebra"),
        "{html}"
    );
    let form = |token: &str, status: u16| Case {
        label: format!("release form with csrf {token}"),
        method: "POST",
        path: format!("/quarantine/{version}/release"),
        headers: vec![("cookie", cookie.clone())],
        body: Payload::Raw(
            Some("application/x-www-form-urlencoded"),
            format!("csrf={token}&note=ok").into_bytes(),
        ),
        want_status: status,
        ..Case::default()
    };
    // A forged form changes nothing; the page's own releases and redirects back.
    ctx.send(&form("forged", 403)).await;
    assert_eq!(events_of(&ctx, "dlp.release").await.len(), 0);
    let r = ctx.send(&form(&csrf, 303)).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/quarantine"));
    assert_eq!(events_of(&ctx, "dlp.release").await.len(), 1);
    let html = String::from_utf8_lossy(&check(&ctx, page(200)).await.body).into_owned();
    assert!(html.contains("Nothing is waiting for review"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_rescans_when_the_ruleset_changes() {
    let ctx = Ctx::new().await;
    let room = shared_room(&ctx, "Rescan").await;
    let file = ctx
        .upload(&ctx.admin, &room, "memo.txt", b"the walrus plan\n")
        .await;
    let path = format!("/files/{}/content", file["id"].as_str().unwrap_or_default());
    // (rule change before the download, status, dlp.scan events after it)
    let steps: [(Option<bool>, u16, usize); 4] = [
        (None, 200, 0),
        (Some(true), 422, 1),
        (None, 422, 1),
        (Some(false), 200, 2),
    ];
    for (n, (change, status, scans)) in steps.into_iter().enumerate() {
        match change {
            Some(true) => add_rule(&ctx, "acme.walrus", "walrus", "critical").await,
            Some(false) => {
                ctx.must(
                    &ctx.admin,
                    "DELETE",
                    "/dlp/rules/acme.walrus",
                    Value::Null,
                    204,
                )
                .await;
            }
            None => {}
        }
        let r = ctx.call(&ctx.admin, "GET", &path, Value::Null).await;
        assert_eq!(r.status.as_u16(), status, "step {n}: {}", r.text());
        let scanned = events_of(&ctx, "dlp.scan").await;
        assert_eq!(scanned.len(), scans, "step {n}");
        if status == 422 {
            assert_eq!(r.json()["error"]["code"], "dlp_blocked");
            let message = r.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                message.contains("acme.walrus") && !message.contains("walrus plan"),
                "{message}"
            );
        }
        if let Some(last) = scanned.last() {
            assert_eq!(last["detail"]["rescan"], true);
            assert_ne!(
                last["detail"]["ruleset"],
                last["detail"]["previous_ruleset"]
            );
        }
    }
}

/// Sharing a room with an external party takes its files out: a grant to an
/// external party or its user is decided under the room's outbound policy as
/// it will be once shared — a private key blocks the grant, naming the file;
/// a `justify` finding takes the grant's reason as the justification. Grants
/// to the owner's own people are not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_a_room_externally_is_an_outbound_decision() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Internal tools").await;
    let file = ctx
        .upload(&ctx.admin, &room, "ops/deploy.txt", &with_key())
        .await;
    let party = ctx.party("Tooling Vendor").await;
    let colleague = ctx.staff("member").await;
    let grant = |kind: &str, subject: &str, reason: &str| json!({"subject_kind": kind, "subject_id": subject, "role": "viewer", "reason": reason});
    let path = format!("/rooms/{room}/grants");
    ctx.must(
        &ctx.admin,
        "POST",
        &path,
        grant("user", &colleague.id, "team"),
        201,
    )
    .await;
    let r = ctx
        .must(
            &ctx.admin,
            "POST",
            &path,
            grant("party", &party, "tool support"),
            422,
        )
        .await;
    assert_eq!(r["error"]["code"], "dlp_blocked", "{r}");
    let denied = events_of(&ctx, "grant.create")
        .await
        .into_iter()
        .find(|e| e["outcome"] == "denied")
        .unwrap_or(Value::Null);
    assert_eq!(denied["reason"], "dlp_blocked", "{denied}");
    assert_eq!(
        denied["target"],
        format!("file:{}", file["id"].as_str().unwrap_or_default())
    );
    let grants = ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await;
    assert_eq!(
        grants["items"].as_array().map(Vec::len),
        Some(2),
        "creator and colleague only"
    );

    // Without the key, a high finding asks a justification: the grant's reason.
    let id = file["id"].as_str().unwrap_or_default();
    ctx.must(
        &ctx.admin,
        "DELETE",
        &format!("/files/{id}"),
        Value::Null,
        204,
    )
    .await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    ctx.upload(&ctx.admin, &room, "plans.txt", b"zebracorn timeline")
        .await;
    ctx.must(
        &ctx.admin,
        "POST",
        &path,
        grant("party", &party, "tool support"),
        201,
    )
    .await;
    let justified = events_of(&ctx, "dlp.justified").await;
    assert_eq!(justified.len(), 1, "{justified:?}");
    assert_eq!(justified[0]["detail"]["justification"], "tool support");
    assert_eq!(justified[0]["detail"]["via"], "grant.create");
}

// ---- gitleaks configurations imported as rules

/// A gitleaks configuration: a custom rule with keywords and a secret
/// group, a rule on paths alone, a global allowlist, and settings that
/// cannot be honoured.
const GITLEAKS: &str = r#"
[extend]
useDefault = true

[allowlist]
description = "documented examples"
regexes = ['''^ACME-EXAMPLE''']

[[rules]]
id = "acme-deploy-token"
description = "Acme deploy token"
regex = '''\b(ACME-[A-Z0-9]{16})\b'''
secretGroup = 1
keywords = ["acme-"]

[[rules]]
id = "keystore-file"
description = "a Java keystore"
path = '''\.jks$'''

[[rules]]
id = "composite"
regex = "x{3}"
[[rules.required]]
id = "acme-deploy-token"
"#;

/// `POST /dlp/rules/import` with `query`, as `who`, a TOML body.
fn import(who: &str, query: &str, toml: &str, status: u16, code: Option<&'static str>) -> Case {
    Case {
        label: format!("import {query}"),
        who: Some(who.to_owned()),
        method: "POST",
        path: format!("{V1}/dlp/rules/import{query}"),
        body: Payload::Raw(Some("application/toml"), toml.as_bytes().to_vec()),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitleaks_configuration_imports_and_holds_what_its_rules_find() {
    let ctx = Ctx::new().await;
    add_rule(&ctx, "acme.zebra", "zebracorn", "high").await;
    let got = check(&ctx, import(&ctx.admin, "", GITLEAKS, 200, None))
        .await
        .json();
    assert_eq!(
        got["imported"],
        json!(["acme-deploy-token", "keystore-file"]),
        "{got}"
    );
    assert_eq!(got["skipped"][0]["rule"], "composite", "{got}");
    assert_eq!(
        got["unsupported"][0]["feature"], "extend.useDefault",
        "{got}"
    );
    assert_eq!(got["unsupported"][0]["rule"], Value::Null, "{got}");
    assert_eq!(got["removed"], json!([]), "{got}");
    let rules = ctx
        .must(&ctx.admin, "GET", "/dlp/rules", Value::Null, 200)
        .await;
    let ids: Vec<&str> = rules["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["acme-deploy-token", "acme.zebra", "keystore-file"]);
    let added = events_of(&ctx, "dlp.rule_add").await;
    assert_eq!(added.len(), 3, "{added:?}");
    assert_eq!(added[2]["detail"]["import"], "gitleaks");

    // Uploads into a room shared externally, high findings held.
    let room = shared_room(&ctx, "Imported").await;
    set_policy(
        &ctx,
        &room,
        direction("quarantine", "allow"),
        direction("allow", "allow"),
    )
    .await;
    let table: [(&str, &[u8], u16); 3] = [
        ("ci/deploy.txt", b"token ACME-7QX2LP9RT4YB8NC3\n", 202),
        // Allowed by the configuration's allowlist.
        ("docs/example.txt", b"example ACME-EXAMPLE0000000\n", 201),
        // Found by its name alone.
        ("keys/store.jks", b"\xfe\xed\xfe\xed\x00\x00\x00\x02", 202),
    ];
    for (path, content, status) in table {
        let mut case = put(&room, path, content.to_vec(), status, None);
        case.who = Some(ctx.admin.clone());
        check(&ctx, case).await;
    }
    let held = ctx
        .must(&ctx.admin, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    let mut reasons: Vec<(String, Value)> = held["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["path"].as_str().unwrap_or("").to_owned(),
                h["reason"]["detectors"].clone(),
            )
        })
        .collect();
    reasons.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0].0, "ci/deploy.txt");
    assert_eq!(reasons[0].1["acme-deploy-token"], 1, "{reasons:?}");
    assert_eq!(reasons[1].1["keystore-file"], 1, "{reasons:?}");
    assert!(!held.to_string().contains("ACME-7QX2LP9RT4YB8NC3"));

    // Merge replaces rules of the same id; replace removes the others.
    let second = "[[rules]]\nid = \"acme-deploy-token\"\nregex = '''ACME2-[A-Z0-9]{16}'''\n";
    let got = check(
        &ctx,
        import(&ctx.admin, "?mode=merge&severity=low", second, 200, None),
    )
    .await
    .json();
    assert_eq!(got["removed"], json!(["acme-deploy-token"]), "{got}");
    let got = check(&ctx, import(&ctx.admin, "?mode=replace", second, 200, None))
        .await
        .json();
    assert_eq!(
        got["removed"],
        json!(["acme-deploy-token", "acme.zebra", "keystore-file"]),
        "{got}"
    );
    let rules = ctx
        .must(&ctx.admin, "GET", "/dlp/rules", Value::Null, 200)
        .await;
    assert_eq!(rules["items"].as_array().map(Vec::len), Some(1), "{rules}");
    assert_eq!(rules["items"][0]["severity"], "high", "{rules}");

    // Refusals: bad TOML, bad options, other roles; nothing changes.
    let officer = ctx.staff("security_officer").await.token;
    let table = [
        import(
            &ctx.admin,
            "",
            "[[rules]\n",
            400,
            Some("dlp_bad_gitleaks_config"),
        ),
        import(
            &ctx.admin,
            "",
            "rules = 1\n",
            400,
            Some("dlp_bad_gitleaks_config"),
        ),
        import(
            &ctx.admin,
            "?mode=append",
            second,
            400,
            Some("invalid_field"),
        ),
        import(
            &ctx.admin,
            "?severity=severe",
            second,
            400,
            Some("invalid_field"),
        ),
        import(&officer, "", second, 403, Some("forbidden")),
    ];
    for case in table {
        check(&ctx, case).await;
    }
    let mut not_utf8 = import(&ctx.admin, "", "", 400, Some("dlp_bad_gitleaks_config"));
    not_utf8.body = Payload::Raw(Some("application/toml"), vec![0xff, 0xfe]);
    check(&ctx, not_utf8).await;
    let after = ctx
        .must(&ctx.admin, "GET", "/dlp/rules", Value::Null, 200)
        .await;
    assert_eq!(after, rules);
}
