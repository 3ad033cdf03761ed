//! Antivirus through the API, against a real clamd (scripts/test starts it
//! with a signature database of its own: the EICAR test file and one custom
//! signature). An EICAR upload by an external user is quarantined with its
//! signature, nobody can read or release it, the security officer is
//! notified and mailed; a file with the custom signature is refused in a
//! room whose policy blocks malware; a clean file is stored with its
//! verdict; a file beyond clamd's stream limit, and every file when clamd
//! cannot be reached, take the room's uninspectable action.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::util::*;

/// The EICAR test file (built from two pieces so this source is not itself
/// a test file for scanners).
pub fn eicar() -> Vec<u8> {
    format!(
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}}${}",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    )
    .into_bytes()
}

/// Content with the custom signature scripts/test puts in clamd's database.
fn custom() -> Vec<u8> {
    b"build notes\nCUSTODY-AV-TEST-SIGNATURE-7f3a\nend\n".to_vec()
}

/// clamd's socket: `CUSTODY_CLAMD_SOCKET`, else where scripts/test starts it.
pub fn clamd_socket() -> PathBuf {
    std::env::var_os("CUSTODY_CLAMD_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/custody-clamd/clamd.sock"))
}

/// The antivirus settings of the test clamd, when it answers; `None` (after
/// saying NOT RUN) when it does not and `CI` is not `true`; panics under `CI=true`.
pub fn clamd() -> Option<app::AntivirusSettings> {
    let settings = app::AntivirusSettings::new(app::ClamdAddress::Unix(clamd_socket()));
    match app::antivirus::ping(&settings) {
        Ok(()) => Some(settings),
        Err(why) => {
            use std::io::Write as _;
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let message = format!("NOT RUN: clamd unreachable ({why}): {test}");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}: required when CI=true"
            );
            let _ = std::io::stderr().write_all(format!("\n{message}\n\n").as_bytes());
            None
        }
    }
}

async fn ctx_with(backend: Backend, av: app::AntivirusSettings) -> Ctx {
    Ctx::with(backend, |s| {
        s.antivirus = Some(av);
        s.mail_enabled = true;
        s.max_upload_bytes = 8 << 20;
    })
    .await
}

/// A room shared with an external party's user, who may upload into it.
async fn shared_room(ctx: &Ctx, name: &str) -> (String, User) {
    let room = ctx.room(&ctx.admin, name).await;
    let party = ctx.party(&format!("Supplier {name}")).await;
    let supplier = ctx.external(&party).await;
    ctx.grant(&ctx.admin, &room, "user", &supplier.id, "contributor", None)
        .await;
    (room, supplier)
}

/// Paths of the live files of `room`, as the admin sees them.
async fn paths(ctx: &Ctx, room: &str) -> Vec<String> {
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{room}/files"),
            Value::Null,
            200,
        )
        .await;
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str().map(str::to_owned))
        .collect()
}

fn events_named<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infected_uploads_are_held_or_refused_and_reported_sqlite() {
    if let Some(av) = clamd() {
        infected_scenario(&ctx_with(Backend::Sqlite, av).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infected_uploads_are_held_or_refused_and_reported_postgres() {
    if let Some(av) = clamd()
        && let Some(url) = postgres().await
    {
        infected_scenario(&ctx_with(Backend::Postgres(url), av).await).await;
    }
}

async fn infected_scenario(ctx: &Ctx) {
    let officer = ctx.staff("security_officer").await;
    let (room, supplier) = shared_room(ctx, "Drop").await;

    // EICAR from the supplier: held (202) with the signature, not in the room.
    let r = ctx
        .put(&supplier.token, &room, "in/eicar.com", eicar())
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let held = r.json();
    let signature = held["signature"].as_str().unwrap_or_default().to_owned();
    assert!(signature.starts_with("Eicar-Test-Signature"), "{held}");
    assert_eq!(held["reason"]["antivirus"]["verdict"], "infected", "{held}");
    let version = held["version_id"].as_str().unwrap_or_default().to_owned();
    assert!(paths(ctx, &room).await.is_empty());

    // The officer sees the signature in the quarantine listing.
    let list = ctx
        .must(&officer.token, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    let listed: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h["version_id"] == version.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["signature"], signature.as_str());

    // Nobody reads it, nobody releases it; rejecting it is the way out.
    let content = format!("{V1}/dlp/quarantine/{version}/content");
    let release = format!("/dlp/quarantine/{version}/release");
    for who in [&officer.token, &ctx.admin] {
        let r = ctx
            .send(&Case {
                who: Some(who.clone()),
                method: "GET",
                path: content.clone(),
                ..Case::default()
            })
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "av_infected");
        let r = ctx
            .call(who, "POST", &release, json!({"note": "looks fine"}))
            .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], "av_not_releasable");
    }
    let r = ctx
        .call(
            &supplier.token,
            "GET",
            &format!("/files/{version}/content"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(paths(ctx, &room).await.is_empty());
    let rejected = ctx
        .must(
            &officer.token,
            "POST",
            &format!("/dlp/quarantine/{version}/reject"),
            json!({"note": "malware"}),
            200,
        )
        .await;
    assert_eq!(rejected["state"], "rejected");

    // The officer was notified, and mailed through the outbox.
    let notes = ctx
        .must(&officer.token, "GET", "/notifications", Value::Null, 200)
        .await;
    let told: Vec<&Value> = notes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "av.infected")
        .collect();
    assert_eq!(told.len(), 1, "{notes}");
    let message = told[0]["message"].as_str().unwrap_or_default();
    for want in [signature.as_str(), "in/eicar.com", supplier.email.as_str()] {
        assert!(message.contains(want), "`{message}` lacks `{want}`");
    }
    let outbox = ctx
        .app
        .store()
        .read()
        .await
        .unwrap()
        .list_outbox(100)
        .await
        .unwrap();
    let mailed: Vec<_> = outbox
        .iter()
        .filter(|m| m.recipient == officer.email && m.subject.contains("Malware"))
        .collect();
    assert_eq!(mailed.len(), 1, "{outbox:?}");
    // The mail worker's pass over notifications does not mail it again.
    app::notify::mail_notifications(&ctx.app).await.unwrap();
    let outbox = ctx
        .app
        .store()
        .read()
        .await
        .unwrap()
        .list_outbox(100)
        .await
        .unwrap();
    let to_officer = outbox
        .iter()
        .filter(|m| m.recipient == officer.email)
        .count();
    assert_eq!(to_officer, 1, "{outbox:?}");

    // A room that blocks malware refuses the custom signature; nothing stored.
    let strict = ctx.room(&ctx.admin, "Strict").await;
    let mut policy = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{strict}/dlp"),
            Value::Null,
            200,
        )
        .await["policy"]
        .clone();
    assert_eq!(policy["infected"], "quarantine");
    policy["infected"] = json!("block");
    let set = ctx
        .must(
            &ctx.admin,
            "PUT",
            &format!("/rooms/{strict}/dlp"),
            policy,
            200,
        )
        .await;
    assert_eq!(set["policy"]["infected"], "block");
    let r = ctx
        .put(&ctx.admin, &strict, "tools/custom.bin", custom())
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let error = r.json()["error"].clone();
    assert_eq!(error["code"], "av_infected");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("Custody.Test.Custom-1"), "{message}");
    assert!(paths(ctx, &strict).await.is_empty());

    // A clean file is stored with the verdict clean.
    let file = ctx
        .upload(&ctx.admin, &strict, "notes/clean.txt", b"nothing to see\n")
        .await;
    let version_id: model::VersionId = file["version_id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap();
    let verdict = ctx
        .app
        .store()
        .read()
        .await
        .unwrap()
        .av_verdict(version_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (verdict.verdict.as_str(), verdict.signature, verdict.reason),
        ("clean", None, None)
    );

    // The events: held and refused infections, each naming the signature.
    let events = ctx.events().await;
    let infected = events_named(&events, "av.infected");
    let seen: Vec<(String, String)> = infected
        .iter()
        .map(|e| {
            (
                e["detail"]["action"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["detail"]["signature"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], ("quarantine".to_owned(), signature.clone()));
    assert_eq!(seen[1].0, "block");
    assert!(seen[1].1.starts_with("Custody.Test.Custom-1"), "{seen:?}");
    let refused: Vec<&Value> = events_named(&events, "file.upload")
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["reason"], "av_infected");
    let clean: Vec<&Value> = events_named(&events, "file.upload")
        .into_iter()
        .filter(|e| e["detail"]["antivirus"]["verdict"] == "clean")
        .collect();
    assert_eq!(clean.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_clamd_cannot_scan_take_the_uninspectable_action_sqlite() {
    let Some(av) = clamd() else { return };
    uninspectable_scenario(&ctx_with(Backend::Sqlite, av).await, "av_too_large").await;
    let dead = dead_clamd();
    uninspectable_scenario(&ctx_with(Backend::Sqlite, dead).await, "av_unreachable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_clamd_cannot_scan_take_the_uninspectable_action_postgres() {
    let Some(av) = clamd() else { return };
    let Some(url) = postgres().await else { return };
    uninspectable_scenario(&ctx_with(Backend::Postgres(url), av).await, "av_too_large").await;
    let Some(url) = postgres().await else { return };
    let dead = dead_clamd();
    uninspectable_scenario(
        &ctx_with(Backend::Postgres(url), dead).await,
        "av_unreachable",
    )
    .await;
}

/// clamd settings pointing at a socket nobody listens on.
fn dead_clamd() -> app::AntivirusSettings {
    let path = std::env::temp_dir().join(format!("custody-dead-clamd-{}.sock", std::process::id()));
    app::AntivirusSettings::new(app::ClamdAddress::Unix(path))
}

/// Uploads clamd cannot scan (`why`: beyond its 2 MiB stream limit, or it
/// cannot be reached): held in a room shared externally, stored with
/// `av.uninspectable` in an internal one, refused where the policy blocks.
async fn uninspectable_scenario(ctx: &Ctx, why: &str) {
    let content = if why == "av_too_large" {
        b"quarterly figures, nothing secret\n".repeat(100_000) // 3.4 MB
    } else {
        b"quarterly figures\n".to_vec()
    };
    let (shared, supplier) = shared_room(ctx, "Drop").await;
    let r = ctx
        .put(&supplier.token, &shared, "big.txt", content.clone())
        .await;
    assert_eq!(r.status, 202, "{why}: {}", r.text());
    let held = r.json();
    assert_eq!(held["reason"]["antivirus"]["verdict"], "uninspectable");
    assert_eq!(held["reason"]["antivirus"]["reason"], why);
    assert_eq!(held["signature"], Value::Null);

    let internal = ctx.room(&ctx.admin, "Internal").await;
    let file = ctx.upload(&ctx.admin, &internal, "big.txt", &content).await;
    let version_id: model::VersionId = file["version_id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap();
    let verdict = ctx
        .app
        .store()
        .read()
        .await
        .unwrap()
        .av_verdict(version_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.verdict, "uninspectable");
    assert_eq!(verdict.reason.as_deref(), Some(why));

    let strict = ctx.room(&ctx.admin, "Strict").await;
    let mut policy = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{strict}/dlp"),
            Value::Null,
            200,
        )
        .await["policy"]
        .clone();
    policy["inbound"]["uninspectable"] = json!("block");
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/rooms/{strict}/dlp"),
        policy,
        200,
    )
    .await;
    let r = ctx.put(&ctx.admin, &strict, "big.txt", content).await;
    assert_eq!(r.status, 422, "{why}: {}", r.text());
    let error = r.json()["error"].clone();
    assert_eq!(error["code"], "av_uninspectable");
    assert!(error["message"].as_str().unwrap_or_default().contains(why));
    assert!(paths(ctx, &strict).await.is_empty());

    let events = ctx.events().await;
    let noted = events_named(&events, "av.uninspectable");
    assert_eq!(noted.len(), 1, "{why}");
    assert_eq!(noted[0]["detail"]["reason"], why);
    assert!(events_named(&events, "av.infected").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_request_holds_an_eicar_drop_sqlite() {
    if let Some(av) = clamd() {
        drop_scenario(&ctx_with(Backend::Sqlite, av).await).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_request_holds_an_eicar_drop_postgres() {
    if let Some(av) = clamd()
        && let Some(url) = postgres().await
    {
        drop_scenario(&ctx_with(Backend::Postgres(url), av).await).await;
    }
}

/// A form body.
fn form(text: &str) -> Payload {
    Payload::Raw(
        Some("application/x-www-form-urlencoded"),
        text.as_bytes().to_vec(),
    )
}

/// A public request (no credentials) with an optional cookie.
async fn public(ctx: &Ctx, path: &str, cookie: Option<&str>, body: Payload) -> Resp {
    let headers = cookie
        .map(|c| vec![("cookie", c.to_owned())])
        .unwrap_or_default();
    ctx.send(&Case {
        method: "POST",
        path: path.to_owned(),
        body,
        headers,
        ..Case::default()
    })
    .await
}

/// An upload request's recipient drops the EICAR file beside a clean one:
/// the clean one is stored, EICAR is held with its signature and nobody can
/// read it, and the security officer is notified and mailed.
async fn drop_scenario(ctx: &Ctx) {
    const RECIPIENT: &str = "quotes@vendor.example";
    let officer = ctx.staff("security_officer").await;
    let room = ctx.room(&ctx.admin, "Quotes").await;
    let requester = ctx.staff("member").await;
    ctx.grant(
        &ctx.admin,
        &room,
        "user",
        &requester.id,
        "contributor",
        None,
    )
    .await;
    let made = ctx
        .must(
            &requester.token,
            "POST",
            &format!("/rooms/{room}/upload-requests"),
            json!({"recipients": [RECIPIENT]}),
            201,
        )
        .await;
    let path = made["path"].as_str().unwrap_or_default().to_owned();
    let r = public(
        ctx,
        &format!("{path}/address"),
        None,
        form(&format!("email={RECIPIENT}")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let code = {
        let mut tx = ctx.app.store().read().await.unwrap();
        let entries = tx.list_outbox(100).await.unwrap();
        let entry = entries
            .iter()
            .find(|e| e.kind == "upload_request.code" && e.recipient == RECIPIENT)
            .expect("a code in the outbox");
        let mail = tx.get_mail(entry.id).await.unwrap().unwrap();
        mail.body_text
            .split("Your code: ")
            .nth(1)
            .map(|rest| rest.chars().take(6).collect::<String>())
            .unwrap_or_default()
    };
    let r = public(
        ctx,
        &format!("{path}/code"),
        Some(&cookie),
        form(&format!("code={code}")),
    )
    .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let mut body = Vec::new();
    for (name, content) in [
        ("quote.txt", b"a plain quote\n".to_vec()),
        ("quote.com", eicar()),
    ] {
        body.extend_from_slice(
            format!(
                "--XbOuNdArY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XbOuNdArY--\r\n");
    let files = Payload::Raw(Some("multipart/form-data; boundary=XbOuNdArY"), body);
    let r = public(ctx, &format!("{path}/files"), Some(&cookie), files).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert_eq!(paths(ctx, &room).await, ["quote.txt"]);

    let list = ctx
        .must(&officer.token, "GET", "/dlp/quarantine", Value::Null, 200)
        .await;
    let held: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h["path"] == "quote.com")
        .collect();
    assert_eq!(held.len(), 1, "{list}");
    let signature = held[0]["signature"].as_str().unwrap_or_default();
    assert!(signature.starts_with("Eicar-Test-Signature"), "{list}");
    let version = held[0]["version_id"].as_str().unwrap_or_default();
    let r = ctx
        .call(
            &officer.token,
            "GET",
            &format!("/dlp/quarantine/{version}/content"),
            Value::Null,
        )
        .await;
    assert_eq!(r.json()["error"]["code"], "av_infected", "{}", r.text());

    let notes = ctx
        .must(&officer.token, "GET", "/notifications", Value::Null, 200)
        .await;
    let told = notes["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "av.infected")
        .count();
    assert_eq!(told, 1, "{notes}");
    let outbox = ctx
        .app
        .store()
        .read()
        .await
        .unwrap()
        .list_outbox(100)
        .await
        .unwrap();
    assert!(
        outbox
            .iter()
            .any(|m| m.recipient == officer.email && m.subject.contains("Malware")),
        "{outbox:?}"
    );
}
