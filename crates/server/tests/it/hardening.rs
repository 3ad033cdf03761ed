//! Regressions of the defects found under attack (issue 12): each test is
//! named after the defect it pins and failed before its fix.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::util::*;

/// `POST /login` (the web form) from `peer`, without a CSRF problem.
fn web_login(email: &str, password: &str, peer: &str, want_status: u16) -> Case {
    let form = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    Case {
        label: format!("web login {email} from {peer}"),
        method: "POST",
        path: "/login".into(),
        body: Payload::Raw(Some("application/x-www-form-urlencoded"), form.into_bytes()),
        peer: peer.parse::<SocketAddr>().ok(),
        want_status,
        ..Case::default()
    }
}

/// A room of the admin's and an owner member who contributes to it.
async fn contributor_room(ctx: &Ctx, name: &str) -> (String, User) {
    let room = ctx.room(&ctx.admin, name).await;
    let me = ctx.staff("member").await;
    ctx.grant(&ctx.admin, &room, "user", &me.id, "contributor", None)
        .await;
    (room, me)
}

/// The first page of `room`'s files as `me` sees it.
async fn list_files(ctx: &Ctx, me: &User, room: &str) -> Value {
    let path = format!("/rooms/{room}/files");
    ctx.must(&me.token, "GET", &path, Value::Null, 200).await
}

/// Web sign-ins share the API's per-address throttle: one address cannot try
/// many accounts through the form (30 a minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_web_login_has_a_per_address_throttle() {
    let ctx = Ctx::new().await;
    let mut refused = 0;
    for n in 0..35 {
        let email = format!("nobody{n}@acme.example");
        let r = ctx
            .send(&web_login(&email, "wrong password", "192.0.2.9:5000", 0))
            .await;
        match r.status.as_u16() {
            401 => {}
            429 => {
                refused += 1;
                assert!(
                    r.text().contains("Too many sign-in attempts"),
                    "{}",
                    r.text()
                );
            }
            other => panic!("attempt {n}: status {other}: {}", r.text()),
        }
    }
    assert_eq!(refused, 5, "the 31st to 35th attempts are refused");
    // Another address is not held back, and the API counts with the form.
    let other = ctx
        .send(&web_login(
            "someone@acme.example",
            "wrong",
            "192.0.2.10:5000",
            0,
        ))
        .await;
    assert_eq!(other.status.as_u16(), 401, "{}", other.text());
    let api = ctx
        .send(&Case {
            method: "POST",
            path: format!("{V1}/auth/login"),
            body: Payload::Json(json!({"email": "x@acme.example", "password": "wrong"})),
            peer: "192.0.2.9:5001".parse().ok(),
            ..Case::default()
        })
        .await;
    assert_eq!(api.status.as_u16(), 429, "{}", api.text());
}

/// Failed sign-ins from one address are counted in the database, so another
/// node (a second router over the same store, with its own in-memory
/// throttle) makes the address wait too, while another address signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_from_one_address_wait_on_every_node() {
    let ctx = Ctx::new().await;
    let member = ctx.staff("member").await;
    for n in 0..30 {
        let email = format!("nobody{n}@acme.example");
        ctx.send(&web_login(&email, "wrong password", "192.0.2.50:5000", 401))
            .await;
    }
    let other_node = server::router(ctx.app.clone());
    let api_login = |email: &str, password: &str, peer: &str| {
        axum::http::Request::builder()
            .method("POST")
            .uri(format!("{V1}/auth/login"))
            .header("content-type", "application/json")
            .extension(axum::extract::ConnectInfo(
                peer.parse::<SocketAddr>().unwrap(),
            ))
            .body(axum::body::Body::from(
                json!({"email": email, "password": password}).to_string(),
            ))
            .unwrap()
    };
    use tower::ServiceExt;
    let r = other_node
        .clone()
        .oneshot(api_login(&member.email, PASSWORD, "192.0.2.50:6000"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429, "the right password waits too");
    let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("too_many_attempts") && body.contains("wait 1 s"),
        "{body}"
    );
    let r = other_node
        .clone()
        .oneshot(api_login(&member.email, PASSWORD, "192.0.2.51:6000"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "another address signs in at once");
    ctx.advance(1_000);
    let r = other_node
        .oneshot(api_login(&member.email, PASSWORD, "192.0.2.50:6001"))
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "after the wait, the right password gets in"
    );
    let throttled = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "auth.login" && e["reason"] == "signin_throttled")
        .count();
    assert_eq!(throttled, 1);
}

/// Unknown and known addresses lock after the same number of failures with
/// the same answer, so the lockout does not tell which accounts exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_lockout_does_not_reveal_which_accounts_exist() {
    let ctx = Ctx::new().await;
    let known = ctx.staff("member").await;
    for email in [known.email.as_str(), "ghost@owner.example"] {
        let mut answers = Vec::new();
        for _ in 0..7 {
            let r = ctx.login(email, "wrong horse battery", None).await;
            answers.push((r.status.as_u16(), r.json()["error"]["code"].clone()));
        }
        let want: Vec<(u16, Value)> = [401, 401, 401, 401, 429, 429, 429]
            .into_iter()
            .map(|s| {
                let code = if s == 401 {
                    "invalid_credentials"
                } else {
                    "account_locked"
                };
                (s, json!(code))
            })
            .collect();
        assert_eq!(answers, want, "{email}");
    }
    // The right password of the locked account is refused as the unknown one is.
    let r = ctx.login(&known.email, PASSWORD, None).await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.text());
}

/// A flood of wrong passwords is shed beyond a bounded queue (503
/// `server_busy`, with `Retry-After`) and never fails a write: sign-ins hash
/// before any write transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regression_sign_in_flood_neither_queues_without_end_nor_blocks_writes() {
    let ctx = std::sync::Arc::new(Ctx::new().await);
    let (room, me) = contributor_room(&ctx, "Flood").await;
    let mut flood = tokio::task::JoinSet::new();
    for n in 0..150 {
        let ctx = ctx.clone();
        flood.spawn(async move {
            let r = ctx
                .send(&Case {
                    method: "POST",
                    path: format!("{V1}/auth/login"),
                    body: Payload::Json(
                        json!({"email": format!("f{n}@acme.example"), "password": "wrong password"}),
                    ),
                    // Each from an address of its own: the per-address throttle
                    // does not help here.
                    peer: format!("10.1.{}.{}:4000", n / 250, n % 250).parse().ok(),
                    ..Case::default()
                })
                .await;
            (r.status.as_u16(), r.header("retry-after").map(str::to_owned))
        });
    }
    for n in 0..10 {
        let path = format!("probe/{n}.txt");
        let r = ctx.put(&me.token, &room, &path, vec![b'x'; 10_000]).await;
        assert_eq!(r.status.as_u16(), 201, "probe upload {n}: {}", r.text());
    }
    let mut busy = 0;
    while let Some(answer) = flood.join_next().await {
        match answer.expect("flood task") {
            (401, _) => {}
            (503, Some(after)) if after == "1" => busy += 1,
            other => panic!("flood answer {other:?}"),
        }
    }
    assert!(busy > 0, "150 concurrent sign-ins were all queued");
}

/// Only owner-party users hold owner system roles: neither an update nor an
/// invitation gives an external user `admin`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_external_user_cannot_be_given_an_owner_system_role() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let outsider = ctx.external(&party).await;
    let admin = Some(ctx.admin.clone());
    for role in ["admin", "security_officer", "auditor"] {
        check(
            &ctx,
            Case {
                label: format!("patch to {role}"),
                who: admin.clone(),
                method: "PATCH",
                path: format!("{V1}/users/{}", outsider.id),
                body: Payload::Json(json!({"system_role": role})),
                want_status: 400,
                want_code: Some("role_not_allowed"),
                ..Case::default()
            },
        )
        .await;
        check(
            &ctx,
            Case {
                label: format!("invite as {role}"),
                who: admin.clone(),
                method: "POST",
                path: format!("{V1}/invitations"),
                body: Payload::Json(json!({"email": format!("{role}@acme.example"),
                    "display_name": "Out Sider", "party_id": party, "system_role": role})),
                want_status: 400,
                want_code: Some("role_not_allowed"),
                ..Case::default()
            },
        )
        .await;
    }
    let me = ctx
        .must(&outsider.token, "GET", "/auth/me", Value::Null, 200)
        .await;
    assert_eq!(me["system_role"], json!("member"));
}

/// An external manager may not switch watermarking off, grant to another
/// party, revoke the owner's side's grants, or see who else is in the room;
/// it manages its own party's access.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_external_manager_manages_its_own_party_only() {
    let ctx = Ctx::new().await;
    let acme = ctx.party("Acme").await;
    let rival = ctx.party("Rival").await;
    let manager = ctx.external(&acme).await;
    let colleague = ctx.external(&acme).await;
    let competitor = ctx.external(&rival).await;
    let engineer = ctx.staff("member").await;
    let room = ctx.room(&ctx.admin, "Shared").await;
    let a = &ctx.admin;
    ctx.grant(a, &room, "user", &manager.id, "manager", None)
        .await;
    let owner_grant = ctx
        .grant(a, &room, "user", &engineer.id, "viewer", None)
        .await;
    let rival_grant = ctx
        .grant(a, &room, "user", &competitor.id, "viewer", None)
        .await;
    let m = &manager.token;
    let delivery = format!("/rooms/{room}/delivery");
    let policy = ctx.must(m, "GET", &delivery, Value::Null, 200).await;
    let grant = |subject: &str, role: &str| json!({"subject_kind": "user", "subject_id": subject, "role": role, "reason": "test"});
    let grants = format!("/rooms/{room}/grants");
    let refused = [
        ("PUT", delivery.clone(), policy),
        ("POST", grants.clone(), grant(&competitor.id, "manager")),
        ("POST", grants.clone(), grant(&engineer.id, "manager")),
        ("DELETE", format!("{grants}/{owner_grant}"), Value::Null),
        ("DELETE", format!("{grants}/{rival_grant}"), Value::Null),
    ];
    for (method, path, body) in refused {
        let r = ctx.call(m, method, &path, body).await;
        assert_eq!(r.status.as_u16(), 403, "{method} {path}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], json!("forbidden"));
    }
    // Its own party's access it manages.
    let made = ctx
        .must(m, "POST", &grants, grant(&colleague.id, "contributor"), 201)
        .await;
    let listed = ctx.must(m, "GET", &grants, Value::Null, 200).await;
    let mut subjects: Vec<String> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| g["subject_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    subjects.sort();
    let mut want = vec![manager.id.clone(), colleague.id.clone()];
    want.sort();
    assert_eq!(
        subjects, want,
        "an external manager lists its own party's grants"
    );
    let own = made["id"].as_str().unwrap_or_default();
    ctx.must(m, "DELETE", &format!("{grants}/{own}"), Value::Null, 204)
        .await;
    // The owner's side still sees every grant.
    let all = ctx.must(a, "GET", &grants, Value::Null, 200).await;
    // The room creator's, the manager's, the engineer's and the competitor's.
    assert_eq!(all["items"].as_array().map(Vec::len), Some(4), "{all}");
}

/// NFC and NFD spellings of a name are one file; bidirectional overrides and
/// trailing dots or spaces are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_confusable_file_names() {
    let ctx = Ctx::new().await;
    let (room, me) = contributor_room(&ctx, "Names").await;
    let nfc = ctx.upload(&me.token, &room, "caf%C3%A9.txt", b"one").await;
    let nfd = ctx.upload(&me.token, &room, "cafe%CC%81.txt", b"two").await;
    assert_eq!(nfc["id"], nfd["id"], "one file: {nfc} {nfd}");
    assert_eq!(nfd["path"], json!("caf\u{e9}.txt"));
    for (path, code) in [
        ("invoice%E2%80%AEfdp.exe", "path_invisible_character"),
        ("report.pdf%20", "path_trailing_dot_or_space"),
        ("report.pdf.", "path_trailing_dot_or_space"),
        ("dir%20/a.txt", "path_trailing_dot_or_space"),
    ] {
        let r = ctx.put(&me.token, &room, path, b"x".to_vec()).await;
        assert_eq!(r.status.as_u16(), 400, "{path}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], json!(code), "{path}");
    }
    let list = list_files(&ctx, &me, &room).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    // Names people read: rooms, parties, users.
    let spoof = "Q3 report\u{202E}fdp.exe";
    let r = ctx
        .call(
            &ctx.admin,
            "POST",
            "/rooms",
            json!({"name": spoof, "classification": "internal"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], json!("invalid_name"));
    let r = ctx
        .call(&ctx.admin, "POST", "/parties", json!({"name": spoof}))
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
}

/// A room's file listing comes a page at a time: `limit` files in path order
/// and the `next` cursor, absent on the last page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_file_listing_is_paginated() {
    let ctx = Ctx::new().await;
    let (room, me) = contributor_room(&ctx, "Many").await;
    let mut want = Vec::new();
    for n in [3, 1, 4, 0, 2] {
        let path = format!("f{n}.txt");
        ctx.upload(&me.token, &room, &path, b"x").await;
        want.push(path);
    }
    want.sort();
    let mut got = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let path = format!("/rooms/{room}/files?limit=2&after={after}");
        let page = ctx.must(&me.token, "GET", &path, Value::Null, 200).await;
        pages += 1;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2, "{page}");
        got.extend(
            items
                .iter()
                .map(|f| f["path"].as_str().unwrap_or_default().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
        assert!(pages < 10, "the cursor does not move on");
    }
    assert_eq!(got, want);
    assert_eq!(pages, 3);
    let all = list_files(&ctx, &me, &room).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(5));
    assert!(all.get("next").is_none(), "{all}");
    let bad = ctx
        .call(
            &me.token,
            "GET",
            &format!("/rooms/{room}/files?limit=x"),
            Value::Null,
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text());
}
