//! What security officers and auditors read about a room: the room filter of
//! `GET /events` and of the evidence bundle covers every upload into the room,
//! held and refused ones too (defect 5 of issue 14); the quarantine page names
//! the room and the uploader (defect 7).

use serde_json::{Value, json};

use crate::util::*;

/// A room shared with an external party whose inbound policy holds `high`
/// findings and blocks `critical` ones, with a detector of each.
async fn guarded_room(ctx: &Ctx, name: &str) -> String {
    for (id, word, severity) in [
        ("acme.zebra", "zebracorn", "high"),
        ("acme.basilisk", "basilisk", "critical"),
    ] {
        let rule = json!({"id": id, "message": "a project code name",
            "severity": severity, "kind": {"keywords": [word]}});
        // The second room finds the rules there already.
        let r = ctx.call(&ctx.admin, "POST", "/dlp/rules", rule).await;
        assert!(
            [201, 409].contains(&r.status.as_u16()),
            "add rule {id}: {}",
            r.text()
        );
    }
    let room = ctx.room(&ctx.admin, name).await;
    let party = ctx.party(&format!("{name} Partner")).await;
    ctx.grant(&ctx.admin, &room, "party", &party, "viewer", None)
        .await;
    let direction = json!({"low": "allow", "medium": "allow", "high": "quarantine",
        "critical": "block", "uninspectable": "allow"});
    let outbound = json!({"low": "allow", "medium": "allow", "high": "allow",
        "critical": "block", "uninspectable": "allow"});
    let body = json!({"inbound": direction, "outbound": outbound});
    ctx.must(&ctx.admin, "PUT", &format!("/rooms/{room}/dlp"), body, 200)
        .await;
    room
}

/// `(action, target, outcome)` of each event, in order.
fn facts(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (field("action"), field("target"), field("outcome"))
        })
        .collect()
}

async fn room_filter_scenario(ctx: &Ctx) {
    let room = guarded_room(ctx, "Review").await;
    let other = guarded_room(ctx, "Elsewhere").await;
    let held = ctx
        .put(
            &ctx.admin,
            &room,
            "plans/held.txt",
            b"zebracorn plans\n".to_vec(),
        )
        .await;
    assert_eq!(held.status.as_u16(), 202, "{}", held.text());
    let version = held.json()["version_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let blocked = ctx
        .put(
            &ctx.admin,
            &room,
            "plans/blocked.txt",
            b"basilisk\n".to_vec(),
        )
        .await;
    assert_eq!(blocked.status.as_u16(), 422, "{}", blocked.text());
    assert_eq!(blocked.json()["error"]["code"], "dlp_blocked");
    // The same in another room: none of it may show under the first.
    for (path, content, status) in [
        ("plans/held.txt", "zebracorn\n", 202),
        ("plans/blocked.txt", "basilisk\n", 422),
    ] {
        let r = ctx
            .put(&ctx.admin, &other, path, content.as_bytes().to_vec())
            .await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
    }
    // The reviewer reads the held upload, then rejects it.
    let content = format!("/dlp/quarantine/{version}/content");
    let r = ctx.call(&ctx.admin, "GET", &content, Value::Null).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let reject = format!("/dlp/quarantine/{version}/reject");
    ctx.must(&ctx.admin, "POST", &reject, json!({"note": "no"}), 200)
        .await;

    let upload = format!("room:{room}/plans/held.txt");
    let refused = format!("room:{room}/plans/blocked.txt");
    let held_version = format!("version:{version}");
    let want = [
        ("file.upload", upload.as_str(), "allowed"),
        ("dlp.hold", held_version.as_str(), "allowed"),
        ("file.upload", refused.as_str(), "denied"),
        ("dlp.review_read", held_version.as_str(), "allowed"),
        ("dlp.reject", held_version.as_str(), "allowed"),
    ];
    let events = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/events?room={room}"),
            Value::Null,
            200,
        )
        .await;
    let events = events["items"].as_array().cloned().unwrap_or_default();
    let found = facts(&events);
    for (action, target, outcome) in want {
        let fact = (action.to_owned(), target.to_owned(), outcome.to_owned());
        assert!(
            found.contains(&fact),
            "GET /events?room= lacks {fact:?}: {found:?}"
        );
    }
    let refusal = events
        .iter()
        .find(|e| e["outcome"] == "denied")
        .cloned()
        .unwrap_or_default();
    assert_eq!(refusal["reason"], "dlp_blocked", "{refusal}");
    for (_, target, _) in &found {
        assert!(
            !target.contains(&other),
            "an event of the other room is listed: {target}"
        );
    }

    // The evidence bundle's room filter selects the same events.
    let bundle = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/ledger/bundle?room={room}"),
            Value::Null,
            200,
        )
        .await;
    let bundled: Vec<Value> = bundle["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["event"].clone())
        .collect();
    assert_eq!(facts(&bundled), found, "bundle and search differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_room_filter_includes_held_and_blocked_uploads() {
    room_filter_scenario(&Ctx::new().await).await;
    if let Some(url) = postgres().await {
        room_filter_scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_quarantine_page_names_room_and_uploader() {
    let ctx = Ctx::new().await;
    let room = guarded_room(&ctx, "Turbine Review").await;
    let engineer = ctx.staff("member").await;
    ctx.grant(&ctx.admin, &room, "user", &engineer.id, "contributor", None)
        .await;
    let r = ctx
        .put(
            &engineer.token,
            &room,
            "specs/held.txt",
            b"zebracorn\n".to_vec(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text());
    let version = r.json()["version_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let officer = page_session(&ctx, "security_officer").await;
    let html = page(&ctx, &officer, "/quarantine", 200).await;
    let start = html
        .find(&format!("id=\"held-{version}\""))
        .unwrap_or_else(|| panic!("no row for the held upload: {html}"));
    let row = &html[start..];
    let row = &row[..row.find("</tr>").unwrap_or(row.len())];
    for (what, want) in [
        ("room name", "Turbine Review"),
        ("path", "specs/held.txt"),
        ("uploader", engineer.email.as_str()),
        ("findings", "acme.zebra"),
    ] {
        assert!(
            row.contains(want),
            "the row lacks the {what} `{want}`: {row}"
        );
    }
    assert!(!row.contains(&room), "the row shows the room's id: {row}");
}

/// A browser session of a new owner-party user with `role`, enrolled in TOTP
/// (so that pages open whether or not the role needs a second factor): its
/// cookie header.
async fn page_session(ctx: &Ctx, role: &str) -> String {
    let owner = ctx.owner_party.clone();
    let user = ctx.user_in(&owner, role, true).await;
    // The next time step's code is not a replay of the enrolment's.
    ctx.advance(30_000);
    let code = ctx.code(user.totp.as_deref().unwrap_or_default());
    let browser = app::Identity(&ctx.app)
        .login(
            &app::RequestMeta::default(),
            &user.email,
            PASSWORD,
            Some(&code),
            model::SessionKind::Browser,
        )
        .await
        .expect("browser login");
    format!("custody_session={}", browser.token)
}

/// `GET path` as the page session `cookie`; the answer must be `status`.
async fn page(ctx: &Ctx, cookie: &str, path: &str, status: u16) -> String {
    let case = Case {
        label: format!("GET {path}"),
        method: "GET",
        path: path.into(),
        headers: vec![("cookie", cookie.to_owned())],
        ..Case::default()
    };
    let r = ctx.send(&case).await;
    let html = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status.as_u16(), status, "GET {path}: {html}");
    html
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_pages_serve_those_who_read_the_log() {
    let ctx = Ctx::new().await;
    let officer = page_session(&ctx, "security_officer").await;
    let auditor = page_session(&ctx, "auditor").await;
    let member = page_session(&ctx, "member").await;
    // Something to sign: a checkpoint of the log as it is.
    ctx.must(&ctx.admin, "GET", "/ledger/checkpoint", Value::Null, 200)
        .await;
    let key = ctx
        .call(&ctx.admin, "GET", "/ledger/verifier-key", Value::Null)
        .await
        .text();
    let key = key.trim_end();
    // (who, path, status, text the page must hold)
    let cases = [
        (&officer, "/audit", 200, "Export the evidence bundle"),
        (
            &auditor,
            "/audit?action=auth.",
            200,
            "data-action=\"auth.login\"",
        ),
        (&officer, "/audit/checkpoints", 200, key),
        (&officer, "/audit/checkpoints", 200, ">verified<"),
        (&member, "/audit", 403, ""),
        (&member, "/audit/checkpoints", 403, ""),
        (
            &officer,
            "/audit?actor=nobody%40nowhere.example",
            400,
            "no user has the e-mail `nobody@nowhere.example`",
        ),
        (&officer, "/audit?from=yesterday", 400, "is not a time"),
        (&officer, "/audit?room=r1", 400, "is not an id"),
        (
            &officer,
            "/audit?from=2026-03-02T00%3A00&to=2026-03-01T00%3A00",
            400,
            "`to` is earlier than `from`",
        ),
    ];
    for (who, path, status, want) in cases {
        let html = page(&ctx, who, path, status).await;
        assert!(html.contains(want), "GET {path}: no `{want}` in {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_pages_newest_first() {
    let ctx = Ctx::new().await;
    let officer = page_session(&ctx, "security_officer").await;
    // More uploads than a page holds (50), each an event on the room.
    let room = ctx.room(&ctx.admin, "Paged").await;
    for n in 0..60 {
        ctx.upload(&ctx.admin, &room, &format!("f{n}.txt"), b"x")
            .await;
    }
    let all = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/events?room={room}"),
            Value::Null,
            200,
        )
        .await;
    let total = all["items"].as_array().map_or(0, Vec::len);
    assert!(total > 60, "{total} events");
    let seqs = |html: &str| -> Vec<i64> {
        html.split("data-seq=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next()?.parse().ok())
            .collect()
    };
    let first = page(&ctx, &officer, &format!("/audit?room={room}"), 200).await;
    let newest = seqs(&first);
    assert_eq!(newest.len(), 50, "a full page");
    assert!(
        newest.windows(2).all(|w| w[0] > w[1]),
        "newest first: {newest:?}"
    );
    let last = newest.last().copied().unwrap_or_default();
    let older = format!("/audit?room={room}&amp;before={last}");
    assert!(first.contains(&older), "no link to the older page");
    let second = page(&ctx, &officer, &older.replace("&amp;", "&"), 200).await;
    let rest = seqs(&second);
    assert_eq!(rest.len(), total - 50, "{rest:?}");
    assert!(rest.iter().all(|s| *s < last), "{rest:?}");
    assert!(!second.contains("id=\"older-events\""), "a third page");
    assert!(second.contains("id=\"newest-events\""));
}
