//! Purging single files on SQLite and PostgreSQL, at the test clock: deleted
//! files kept until an admin sets a grace period and purged once it passed;
//! files past their own retention purged at once at or below `internal` and
//! after a second person's approval above; the room re-keyed each time (the
//! old generation's key file gone, the kept files read back whole, uploads
//! racing the re-keying never lost); a legal hold keeps a room's files; the
//! certificate names the purged versions and the new key.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::util::{Backend, Ctx, postgres, sha256};

const DAY: i64 = 86_400_000;

async fn room_of(ctx: &Ctx, name: &str, classification: &str) -> String {
    let body = json!({"name": name, "classification": classification});
    let r = ctx.must(&ctx.admin, "POST", "/rooms", body, 201).await;
    r["id"].as_str().unwrap().to_owned()
}

/// The names of a room's key files (`<room>`, `<room>-g1`…), sorted.
fn key_files(ctx: &Ctx, room: &str) -> BTreeSet<String> {
    std::fs::read_dir(ctx.dir.path().join("keys/rooms"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".key")?.to_owned();
            stem.starts_with(room).then_some(stem)
        })
        .collect()
}

fn id(file: &Value) -> String {
    file["id"].as_str().unwrap().to_owned()
}

/// The file reads back as `content` (or, with `None`, is gone: 404).
async fn reads(ctx: &Ctx, file: &str, content: Option<&[u8]>) {
    let r = ctx
        .call(
            &ctx.admin,
            "GET",
            &format!("/files/{file}/content"),
            Value::Null,
        )
        .await;
    match content {
        Some(bytes) => assert_eq!(
            (r.status.as_u16(), r.body.as_slice()),
            (200, bytes),
            "{file}"
        ),
        None => assert_eq!(r.status.as_u16(), 404, "{file}: {}", r.text()),
    }
}

async fn sweep(ctx: &Ctx) -> usize {
    app::purge::purge_sweep(&ctx.app).await.unwrap()
}

/// The room's requests of kind `files`, newest first.
async fn purges(ctx: &Ctx, room: &str) -> Vec<Value> {
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/destructions?room={room}"),
            Value::Null,
            200,
        )
        .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "files")
        .cloned()
        .collect()
}

/// Table-driven bad input on the settings: `(who, path, body, status, code)`.
async fn refusals(ctx: &Ctx, officer: &str, file: &str) {
    let admin = ctx.admin.as_str();
    let grace = "/purge-settings";
    let retention = format!("/files/{file}/retention");
    let cases: [(&str, &str, Value, u16, &str); 6] = [
        (
            admin,
            grace,
            json!({"grace_days": -1}),
            400,
            "bad_retention",
        ),
        (
            admin,
            grace,
            json!({"grace_days": 36_501}),
            400,
            "bad_retention",
        ),
        (admin, grace, json!({"days": 3}), 400, "invalid_request"),
        (officer, grace, json!({"grace_days": 3}), 403, "forbidden"),
        (admin, &retention, json!({"days": 0}), 400, "bad_retention"),
        (
            admin,
            &retention,
            json!({"days": "ten"}),
            400,
            "invalid_request",
        ),
    ];
    for (who, path, body, status, code) in cases {
        let r = ctx.call(who, "PUT", path, body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{path} {body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{path} {body}");
    }
}

async fn scenario(ctx: &Ctx) {
    let admin = ctx.admin.clone();
    let officer = ctx.staff("security_officer").await;
    let drawings = room_of(ctx, "Drawings", "internal").await;
    let secret = room_of(ctx, "Secret", "confidential").await;
    let held = room_of(ctx, "Held", "internal").await;
    let old = ctx.upload(&admin, &drawings, "old.txt", b"old v1").await;
    ctx.upload(&admin, &drawings, "old.txt", b"old v2").await;
    let keep = ctx
        .upload(&admin, &drawings, "keep.txt", b"kept drawing")
        .await;
    let short = ctx
        .upload(&admin, &drawings, "short.txt", b"short-lived")
        .await;
    let s = ctx
        .upload(&admin, &secret, "s.txt", b"secret, short-lived")
        .await;
    let s2 = ctx.upload(&admin, &secret, "s2.txt", b"secret, kept").await;
    let h = ctx.upload(&admin, &held, "h.txt", b"evidence").await;
    for f in [&old, &h] {
        let path = format!("/files/{}", id(f));
        let r = ctx.call(&admin, "DELETE", &path, Value::Null).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.text());
    }
    refusals(ctx, &officer.token, &id(&short)).await;

    // No grace period set: deleted files are kept, however old.
    ctx.advance(10 * DAY);
    assert_eq!(sweep(ctx).await, 0);
    let grace = ctx
        .must(&admin, "GET", "/purge-settings", Value::Null, 200)
        .await;
    assert_eq!(grace["grace_days"], Value::Null);
    ctx.must(
        &admin,
        "PUT",
        "/purge-settings",
        json!({"grace_days": 15}),
        200,
    )
    .await;
    for f in [&short, &s] {
        let path = format!("/files/{}/retention", id(f));
        ctx.must(&admin, "PUT", &path, json!({"days": 11}), 200)
            .await;
        let r = ctx.must(&admin, "GET", &path, Value::Null, 200).await;
        assert_eq!(r["days"], 11);
    }
    ctx.must(
        &officer.token,
        "POST",
        "/legal-holds",
        json!({"scope": "room", "target": held, "reason": "claim"}),
        201,
    )
    .await;

    // Day 11: the two retentions end; `old` (deleted 11 days ago) is in grace.
    ctx.advance(DAY + 1);
    assert_eq!(sweep(ctx).await, 2);
    let done = purges(ctx, &drawings).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0]["state"], "destroyed");
    assert_eq!(
        done[0]["manifest"]["versions"].as_array().unwrap().len(),
        1,
        "only short.txt"
    );
    reads(ctx, &id(&short), None).await;
    reads(ctx, &id(&keep), Some(b"kept drawing")).await;
    assert_eq!(
        key_files(ctx, &drawings),
        BTreeSet::from([format!("{drawings}-g1")]),
        "re-keyed: the first generation is destroyed"
    );

    // The certificate names the purged version and the new key.
    let cert = ctx
        .must(
            &officer.token,
            "GET",
            &format!(
                "/destructions/{}/certificate",
                done[0]["id"].as_str().unwrap()
            ),
            Value::Null,
            200,
        )
        .await;
    let event = &cert["evidence"]["entries"][0]["event"];
    assert_eq!(event["action"], "file.purged");
    let note = cert["note"].as_str().unwrap();
    let body: Value = serde_json::from_str(note.split("\n\n").next().unwrap()).unwrap();
    let text = body["statement"].as_str().unwrap();
    assert_eq!(
        event["detail"]["statement_sha256"],
        hex::encode(sha256(text.as_bytes())).as_str()
    );
    let statement: Value = serde_json::from_str(text).unwrap();
    assert_eq!(statement["key_ids"], json!([format!("room-{drawings}")]));
    assert_eq!(statement["rekeyed_to"], format!("room-{drawings}-g1"));
    assert_eq!(
        statement["versions"][0]["sha256"],
        hex::encode(sha256(b"short-lived")).as_str()
    );

    // Above `internal`: requested, the file still readable, four eyes.
    let pending = purges(ctx, &secret).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["state"], "requested");
    assert_eq!(pending[0]["needs_approval"], true);
    reads(ctx, &id(&s), Some(b"secret, short-lived")).await;
    let approve = format!(
        "/destructions/{}/approve",
        pending[0]["id"].as_str().unwrap()
    );
    let shown = json!({"manifest_sha256": pending[0]["manifest_sha256"]});
    let r = ctx.call(&admin, "POST", &approve, shown.clone()).await;
    assert_eq!(r.json()["error"]["code"], "four_eyes", "{}", r.text());
    let done = ctx.must(&officer.token, "POST", &approve, shown, 200).await;
    assert_eq!(done["state"], "destroyed");
    reads(ctx, &id(&s), None).await;
    reads(ctx, &id(&s2), Some(b"secret, kept")).await;
    assert_eq!(
        key_files(ctx, &secret),
        BTreeSet::from([format!("{secret}-g1")])
    );

    // Day 15: `old` is past the grace period; uploads race the re-keying
    // and none is lost; the held room keeps its deleted file.
    ctx.advance(4 * DAY);
    let racers = (0..12).map(|n| {
        let admin = admin.clone();
        let room = drawings.clone();
        async move {
            let body = format!("racer {n}").into_bytes();
            let f = ctx
                .upload(&admin, &room, &format!("race/{n}.txt"), &body)
                .await;
            (id(&f), body)
        }
    });
    let (uploaded, opened) = tokio::join!(futures_util::future::join_all(racers), sweep(ctx));
    assert_eq!(opened, 1);
    for (file, body) in uploaded {
        reads(ctx, &file, Some(&body)).await;
    }
    reads(ctx, &id(&keep), Some(b"kept drawing")).await;
    assert_eq!(
        key_files(ctx, &drawings),
        BTreeSet::from([format!("{drawings}-g2")])
    );
    let fresh = ctx.upload(&admin, &drawings, "new.txt", b"after").await;
    reads(ctx, &id(&fresh), Some(b"after")).await;
    assert_eq!(purges(ctx, &held).await.len(), 0, "the hold keeps it");
    assert_eq!(key_files(ctx, &held), BTreeSet::from([held.clone()]));
    // The purged versions' wrapped keys are forgotten; nothing is due again.
    let room: model::RoomId = drawings.parse().unwrap();
    let mut tx = ctx.app.store().read().await.unwrap();
    for generation in [format!("room-{drawings}"), format!("room-{drawings}-g1")] {
        let left = tx.room_versions_under(room, &generation).await.unwrap();
        assert!(left.is_empty(), "{generation}: {left:?}");
    }
    drop(tx);
    assert_eq!(sweep(ctx).await, 0);
    let actions: Vec<String> = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["target"] == format!("room:{drawings}"))
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for want in ["file.purge_start", "keys.rewrap", "file.purged"] {
        assert!(actions.iter().any(|a| a == want), "{want}: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_sqlite() {
    scenario(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_postgres() {
    if let Some(url) = postgres().await {
        scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}
