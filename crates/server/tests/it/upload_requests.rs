//! Upload requests (file drops) through the API and their public pages, on
//! SQLite and PostgreSQL: made by who may upload (and refused to the rest),
//! capped ends, a recipient verified by a mailed code, many files in one
//! submission, names never overwritten, size and count limits (the count
//! exact under concurrency), expiry and revocation at once, wrong codes
//! throttled, a request that closes with its creator's access, a file the
//! room's data-loss policy holds reported as held; and one digest e-mail per
//! batch, read from a real SMTP server.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::smtp_server::{self, Options, SmtpServer};
use crate::util::*;

const DAY: i64 = 86_400_000;
const RECIPIENT: &str = "ana+quotes@vendor.example";

/// A room (the admin its manager) and an owner member who may upload in it
/// for ten days (and so ask for files).
struct Drop {
    room: String,
    requester: User,
}

async fn drop_room(ctx: &Ctx) -> Drop {
    let room = ctx.room(&ctx.admin, "Quotes").await;
    let admin_id = ctx
        .must(&ctx.admin, "GET", "/auth/me", Value::Null, 200)
        .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.grant(&ctx.admin, &room, "user", &admin_id, "manager", None)
        .await;
    let requester = ctx.staff("member").await;
    ctx.grant(
        &ctx.admin,
        &room,
        "user",
        &requester.id,
        "contributor",
        Some(ctx.now() + 10 * DAY),
    )
    .await;
    Drop { room, requester }
}

fn mail_on(s: &mut app::Settings) {
    s.mail_enabled = true;
}

async fn on_each_backend(test: impl AsyncFn(&Ctx)) {
    test(&Ctx::with(Backend::Sqlite, mail_on).await).await;
    match postgres().await {
        Some(url) => test(&Ctx::with(Backend::Postgres(url), mail_on).await).await,
        None => eprintln!("upload requests: NOT RUN on PostgreSQL"),
    }
}

/// Makes a request as `who` in `room`; returns the answer.
async fn make(ctx: &Ctx, who: &str, room: &str, body: Value, want: u16) -> Value {
    let path = format!("/rooms/{room}/upload-requests");
    ctx.must(who, "POST", &path, body, want).await
}

/// A public request (no credentials) with optional cookie, form and peer.
async fn public(
    ctx: &Ctx,
    method: &'static str,
    path: &str,
    cookie: Option<&str>,
    body: Payload,
    peer: Option<&str>,
) -> Resp {
    let mut headers = Vec::new();
    if let Some(c) = cookie {
        headers.push(("cookie", c.to_owned()));
    }
    ctx.send(&Case {
        method,
        path: path.to_owned(),
        body,
        headers,
        peer: peer.map(|p| p.parse().unwrap()),
        ..Case::default()
    })
    .await
}

fn form(text: &str) -> Payload {
    Payload::Raw(
        Some("application/x-www-form-urlencoded"),
        text.as_bytes().to_vec(),
    )
}

/// A multipart body of `files` under the field `files`.
fn multipart(files: &[(&str, &[u8])]) -> Payload {
    let mut body = Vec::new();
    for (name, content) in files {
        body.extend_from_slice(
            format!(
                "--XbOuNdArY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XbOuNdArY--\r\n");
    Payload::Raw(Some("multipart/form-data; boundary=XbOuNdArY"), body)
}

/// The newest code mailed to `to` through the outbox.
async fn code_in_outbox(ctx: &Ctx, to: &str) -> String {
    let mut tx = ctx.app.store().read().await.unwrap();
    let entries = tx.list_outbox(1000).await.unwrap();
    let entry = entries
        .iter()
        .filter(|e| e.kind == "upload_request.code" && e.recipient == to)
        .max_by_key(|e| e.created_ms)
        .expect("a code in the outbox");
    let mail = tx.get_mail(entry.id).await.unwrap().unwrap();
    mail.body_text
        .split("Your code: ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect())
        .unwrap()
}

/// Asks for a code as `address` on `path`: the session cookie.
async fn ask_code(ctx: &Ctx, path: &str, address: &str) -> String {
    // Each code is the newest by its time.
    ctx.advance(1);
    let r = public(
        ctx,
        "POST",
        &format!("{path}/address"),
        None,
        form(&format!("email={}", address.replace('+', "%2B"))),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let set = r.header("set-cookie").unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// A browser verified as the recipient on `path`: its cookie.
async fn verified(ctx: &Ctx, path: &str) -> String {
    let cookie = ask_code(ctx, path, RECIPIENT).await;
    let code = code_in_outbox(ctx, RECIPIENT).await;
    let r = public(
        ctx,
        "POST",
        &format!("{path}/code"),
        Some(&cookie),
        form(&format!("code={code}")),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    cookie
}

/// The paths of the room's live files.
async fn paths(ctx: &Ctx, room: &str) -> Vec<String> {
    let files = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    let mut out: Vec<String> = files
        .as_array()
        .or_else(|| files["items"].as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| f["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

async fn request_of(ctx: &Ctx, room: &str, id: &str) -> Value {
    let path = format!("/rooms/{room}/upload-requests/{id}");
    ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await
}

#[tokio::test]
async fn files_arrive_in_the_folder_under_fresh_names_on_both_backends() {
    on_each_backend(async |ctx: &Ctx| {
        let d = drop_room(ctx).await;
        ctx.upload(&ctx.admin, &d.room, "quotes/a.txt", b"the room's own a\n")
            .await;
        // An owner member without a role may not ask; the requester may, and
        // the end asked for is cut to their grant (10 days).
        let outsider = ctx.staff("member").await;
        let body = json!({"recipients": [RECIPIENT]});
        let r = ctx
            .call(
                &outsider.token,
                "POST",
                &format!("/rooms/{}/upload-requests", d.room),
                body,
            )
            .await;
        assert_eq!(r.status.as_u16(), 404, "{}", r.text());
        let made = make(
            ctx,
            &d.requester.token,
            &d.room,
            json!({"folder": "/quotes/", "recipients": [format!("Ana Lima <{RECIPIENT}>")],
                "expires_at": rfc3339(ctx.now() + 20 * DAY), "max_files": 5,
                "max_file_bytes": 100, "message": "Your quote, please"}),
            201,
        )
        .await;
        assert_eq!(made["expires_at"], json!(rfc3339(ctx.now() + 10 * DAY)));
        assert_eq!(made["folder"], "quotes/");
        assert_eq!(made["recipients"], json!([RECIPIENT]));
        let path = made["path"].as_str().unwrap().to_owned();
        let id = made["id"].as_str().unwrap().to_owned();

        // Without a verified address nothing is taken.
        let page = public(ctx, "GET", &path, None, Payload::None, None).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.text());
        assert!(page.text().contains("Your quote, please"));
        let r = public(
            ctx,
            "POST",
            &format!("{path}/files"),
            None,
            multipart(&[("x.txt", b"x")]),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 403, "{}", r.text());
        // A stranger's address gets the same answer and no mail.
        ask_code(ctx, &path, "mallory@evil.example").await;
        let cookie = verified(ctx, &path).await;
        let page = public(ctx, "GET", &path, Some(&cookie), Payload::None, None).await;
        assert!(page.text().contains(RECIPIENT), "{}", page.text());

        // One submission: a name the room holds, the same name twice, one
        // file over the size limit.
        let r = public(
            ctx,
            "POST",
            &format!("{path}/files"),
            Some(&cookie),
            multipart(&[
                ("a.txt", b"first a from ana\n"),
                ("a.txt", b"second a from ana\n"),
                ("big.bin", &[7u8; 200]),
                ("b.txt", b"b from ana\n"),
            ]),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        let text = String::from_utf8_lossy(&r.body).into_owned();
        assert!(text.contains("a (2).txt"), "{text}");
        assert!(text.contains("a (3).txt"), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert_eq!(
            paths(ctx, &d.room).await,
            [
                "quotes/a (2).txt",
                "quotes/a (3).txt",
                "quotes/a.txt",
                "quotes/b.txt"
            ]
        );
        // The room's own file is untouched: one version.
        let own = ctx
            .must(
                &ctx.admin,
                "GET",
                "/events?action=file.upload&limit=1000",
                Value::Null,
                200,
            )
            .await;
        let uploads: Vec<&Value> = own["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "allowed")
            .collect();
        assert_eq!(uploads.len(), 4, "{own}");
        // The drops' uploads name the request and the recipient.
        let via: Vec<&&Value> = uploads
            .iter()
            .filter(|e| e["detail"]["upload_request"] == json!(id))
            .collect();
        assert_eq!(via.len(), 3);
        assert!(via.iter().all(|e| e["detail"]["recipient"] == RECIPIENT));

        // Three files taken (the refused one gave its place back).
        let got = request_of(ctx, &d.room, &id).await;
        assert_eq!(got["request"]["files"], 3);
        let outcomes: Vec<&str> = got["received"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes.len(), 4);
        assert_eq!(outcomes.iter().filter(|o| **o == "refused").count(), 1);
        // One digest for the batch, to the requester; one notification.
        let mut tx = ctx.app.store().read().await.unwrap();
        let digests: Vec<_> = tx
            .list_outbox(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "upload_request.digest")
            .collect();
        drop(tx);
        assert_eq!(digests.len(), 1);
        assert_eq!(digests[0].recipient, d.requester.email);
        let notes = ctx
            .must(
                &d.requester.token,
                "GET",
                "/notifications",
                Value::Null,
                200,
            )
            .await;
        assert!(notes.to_string().contains("a (2).txt"), "{notes}");

        // Listed for the requester and the room's manager; revoked at once.
        for who in [&d.requester.token, &ctx.admin] {
            let list = ctx
                .must(
                    who,
                    "GET",
                    &format!("/rooms/{}/upload-requests", d.room),
                    Value::Null,
                    200,
                )
                .await;
            assert_eq!(list[0]["id"], json!(id));
            assert_eq!(list[0]["state"], "open");
        }
        let revoked = ctx
            .must(
                &d.requester.token,
                "POST",
                &format!("/rooms/{}/upload-requests/{id}/revoke", d.room),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(revoked["state"], "revoked");
        let r = public(
            ctx,
            "POST",
            &format!("{path}/files"),
            Some(&cookie),
            multipart(&[("late.txt", b"late")]),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 410);
        assert!(r.text().contains("revoked"), "{}", r.text());
        assert_eq!(paths(ctx, &d.room).await.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn bad_settings_expiry_and_a_lost_grant_close_a_request() {
    on_each_backend(async |ctx: &Ctx| {
        let d = drop_room(ctx).await;
        let room = &d.room;
        for (body, code) in [
            (json!({"recipients": []}), "upload_request_invalid"),
            (
                json!({"recipients": [RECIPIENT], "max_files": 0}),
                "upload_request_invalid",
            ),
            (
                json!({"recipients": [RECIPIENT], "max_files": 1001}),
                "upload_request_invalid",
            ),
            (
                json!({"recipients": [RECIPIENT], "max_file_bytes": 0}),
                "upload_request_invalid",
            ),
            (json!({"recipients": ["not an address"]}), "invalid_email"),
            (
                json!({"recipients": [RECIPIENT], "folder": "../up"}),
                "path_traversal",
            ),
            (
                json!({"recipients": [RECIPIENT], "expires_at": rfc3339(ctx.now() - DAY)}),
                "expiry_in_past",
            ),
            (
                json!({"recipients": [RECIPIENT], "message": "a\u{0}b"}),
                "upload_request_invalid",
            ),
        ] {
            let r = ctx
                .call(
                    &d.requester.token,
                    "POST",
                    &format!("/rooms/{room}/upload-requests"),
                    body.clone(),
                )
                .await;
            assert_eq!(r.json()["error"]["code"], code, "{body}: {}", r.text());
        }
        // Expiry: the page says so and nothing is taken.
        let made = make(
            ctx,
            &d.requester.token,
            room,
            json!({"recipients": [RECIPIENT], "expires_at": rfc3339(ctx.now() + DAY)}),
            201,
        )
        .await;
        let path = made["path"].as_str().unwrap().to_owned();
        let cookie = verified(ctx, &path).await;
        ctx.advance(DAY + 1);
        let r = public(ctx, "GET", &path, Some(&cookie), Payload::None, None).await;
        assert_eq!(r.status.as_u16(), 410);
        assert!(r.text().contains("expired"), "{}", r.text());

        // The creator losing access closes the request.
        let made = make(
            ctx,
            &d.requester.token,
            room,
            json!({"recipients": [RECIPIENT]}),
            201,
        )
        .await;
        let path = made["path"].as_str().unwrap().to_owned();
        let cookie = verified(ctx, &path).await;
        let grants = ctx
            .must(
                &ctx.admin,
                "GET",
                &format!("/rooms/{room}/grants"),
                Value::Null,
                200,
            )
            .await;
        let grant = grants["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["subject_id"] == json!(d.requester.id))
            .expect("the requester's grant");
        let gid = grant["id"].as_str().unwrap();
        ctx.must(
            &ctx.admin,
            "DELETE",
            &format!("/rooms/{room}/grants/{gid}"),
            Value::Null,
            204,
        )
        .await;
        let r = public(
            ctx,
            "POST",
            &format!("{path}/files"),
            Some(&cookie),
            multipart(&[("after.txt", b"after")]),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 404, "{}", r.text());
        assert!(r.text().contains("not available"), "{}", r.text());
        assert!(paths(ctx, room).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn ten_concurrent_files_against_a_count_of_three_store_three() {
    on_each_backend(async |ctx: &Ctx| {
        let d = drop_room(ctx).await;
        let made = make(
            ctx,
            &d.requester.token,
            &d.room,
            json!({"recipients": [RECIPIENT], "max_files": 3}),
            201,
        )
        .await;
        let path = made["path"].as_str().unwrap().to_owned();
        let cookie = verified(ctx, &path).await;
        let names: Vec<String> = (0..10).map(|i| format!("f{i}.txt")).collect();
        let sends = names.iter().map(|n| {
            let (path, cookie) = (path.clone(), cookie.clone());
            async move {
                public(
                    ctx,
                    "POST",
                    &format!("{path}/files"),
                    Some(&cookie),
                    multipart(&[(n.as_str(), b"concurrent")]),
                    None,
                )
                .await
            }
        });
        let answers = join_all(sends).await;
        let ok = answers.iter().filter(|r| r.status.as_u16() == 200).count();
        let full = answers.iter().filter(|r| r.status.as_u16() == 410).count();
        assert_eq!((ok, full), (3, 7));
        assert_eq!(paths(ctx, &d.room).await.len(), 3);
        let got = request_of(ctx, &d.room, made["id"].as_str().unwrap()).await;
        assert_eq!(got["request"]["state"], "full");
    })
    .await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_and_a_held_file_is_reported_held() {
    on_each_backend(async |ctx: &Ctx| {
        let d = drop_room(ctx).await;
        let made = make(
            ctx,
            &d.requester.token,
            &d.room,
            json!({"recipients": [RECIPIENT]}),
            201,
        )
        .await;
        let path = made["path"].as_str().unwrap().to_owned();
        // Wrong codes from one address: refused, then made to wait.
        let mut statuses = Vec::new();
        for _ in 0..7 {
            let cookie = ask_code(ctx, &path, RECIPIENT).await;
            let r = public(
                ctx,
                "POST",
                &format!("{path}/code"),
                Some(&cookie),
                form("code=000000x"),
                Some("203.0.113.9:4000"),
            )
            .await;
            statuses.push(r.status.as_u16());
        }
        assert_eq!(statuses[..5], [403; 5], "{statuses:?}");
        assert_eq!(statuses[5..], [429; 2], "{statuses:?}");
        // Another address gets in at once.
        let cookie = ask_code(ctx, &path, RECIPIENT).await;
        let code = code_in_outbox(ctx, RECIPIENT).await;
        let r = public(
            ctx,
            "POST",
            &format!("{path}/code"),
            Some(&cookie),
            form(&format!("code={code}")),
            Some("198.51.100.7:4000"),
        )
        .await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());

        // The room holds files naming the code word for review.
        let rule = json!({"id": "drop.hold", "message": "a code name", "severity": "high",
            "kind": {"keywords": ["zebracorn"]}});
        ctx.must(&ctx.admin, "POST", "/dlp/rules", rule, 201).await;
        let strict = json!({"low": "allow", "medium": "allow", "high": "quarantine",
            "critical": "block", "uninspectable": "allow"});
        let open = json!({"low": "allow", "medium": "allow", "high": "allow",
            "critical": "allow", "uninspectable": "allow"});
        let body = json!({"inbound": strict, "outbound": open});
        let dlp = format!("/rooms/{}/dlp", d.room);
        ctx.must(&ctx.admin, "PUT", &dlp, body, 200).await;
        let r = public(
            ctx,
            "POST",
            &format!("{path}/files"),
            Some(&cookie),
            multipart(&[
                ("plain.txt", b"a plain quote\n"),
                ("secret.txt", b"the zebracorn numbers\n"),
            ]),
            None,
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        assert!(r.text().contains("received, under review"), "{}", r.text());
        assert!(!r.text().contains("zebracorn"));
        assert_eq!(paths(ctx, &d.room).await, ["plain.txt"]);
        let got = request_of(ctx, &d.room, made["id"].as_str().unwrap()).await;
        let outcomes: Vec<(String, String)> = got["received"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            outcomes.contains(&("secret.txt".into(), "held".into())),
            "{outcomes:?}"
        );
        assert!(
            outcomes.contains(&("plain.txt".into(), "stored".into())),
            "{outcomes:?}"
        );
    })
    .await;
}

/// The messages received so far, once `n` have arrived.
async fn received(server: &SmtpServer, n: usize) -> Vec<String> {
    for _ in 0..300 {
        let got = server.messages();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} of {n} messages arrived", server.messages().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_three_files_sends_one_digest_that_names_the_held_one() {
    if !smtp_server::available("a_batch_of_three_files_sends_one_digest_that_names_the_held_one") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(
        smtp_server::free_port(),
        &dir.path().join("mail"),
        &Options::default(),
    );
    let ctx = Ctx::with(Backend::Sqlite, mail_on).await;
    let smtp = app::notify::SmtpSettings {
        host: "127.0.0.1".into(),
        port: server.port,
        security: app::notify::Security::None,
        credentials: None,
        from: model::MailAddress::parse("Custody <custody@owner.example>").unwrap(),
        ca_pem: None,
        timeout: Duration::from_secs(10),
    };
    let policy = app::notify::RetryPolicy {
        first_delay: Duration::from_secs(1),
        ..app::notify::RetryPolicy::default()
    };
    let _mailer = app::notify::spawn_mailer(
        ctx.app.clone(),
        app::notify::Mailer::new(&smtp).unwrap(),
        policy,
        Duration::from_millis(100),
    );
    let d = drop_room(&ctx).await;
    let rule = json!({"id": "drop.hold", "message": "a code name", "severity": "high",
        "kind": {"keywords": ["zebracorn"]}});
    ctx.must(&ctx.admin, "POST", "/dlp/rules", rule, 201).await;
    let strict = json!({"low": "allow", "medium": "allow", "high": "quarantine",
        "critical": "block", "uninspectable": "allow"});
    let open = json!({"low": "allow", "medium": "allow", "high": "allow",
        "critical": "allow", "uninspectable": "allow"});
    let dlp = format!("/rooms/{}/dlp", d.room);
    ctx.must(
        &ctx.admin,
        "PUT",
        &dlp,
        json!({"inbound": strict, "outbound": open}),
        200,
    )
    .await;
    let made = make(
        &ctx,
        &d.requester.token,
        &d.room,
        json!({"recipients": [RECIPIENT]}),
        201,
    )
    .await;
    let path = made["path"].as_str().unwrap().to_owned();
    let cookie = ask_code(&ctx, &path, RECIPIENT).await;
    // The code arrives at the SMTP server.
    let first = received(&server, 1).await;
    let code: String = first[0]
        .split("Your code: ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect())
        .unwrap();
    assert_eq!(
        smtp_server::headers(&first[0], "X-Envelope-To"),
        [RECIPIENT]
    );
    let r = public(
        &ctx,
        "POST",
        &format!("{path}/code"),
        Some(&cookie),
        form(&format!("code={code}")),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let r = public(
        &ctx,
        "POST",
        &format!("{path}/files"),
        Some(&cookie),
        multipart(&[
            ("one.txt", b"one\n"),
            ("<two>.txt", b"two\n"),
            ("three.txt", b"the zebracorn figures\n"),
        ]),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    // The code, the digest, and the held file's notice to the owner's admin
    // (a security notice, mailed at once).
    let all = received(&server, 3).await;
    // Give a second digest, were there one, time to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = if server.messages().len() > all.len() {
        server.messages()
    } else {
        all
    };
    let (notices, all): (Vec<String>, Vec<String>) = all
        .into_iter()
        .partition(|m| smtp_server::headers(m, "X-Envelope-To") == [ADMIN_EMAIL]);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("held for review"), "{}", notices[0]);
    assert_eq!(all.len(), 2, "{all:?}");
    let digest = &all[1];
    assert_eq!(
        smtp_server::headers(digest, "X-Envelope-To"),
        [d.requester.email.as_str()]
    );
    assert!(digest.contains("one.txt: stored"), "{digest}");
    assert!(digest.contains("three.txt: held for review"), "{digest}");
    assert!(digest.contains("- <two>.txt: stored"), "{digest}");
}
