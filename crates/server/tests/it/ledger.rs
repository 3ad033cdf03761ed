//! The ledger's auditor features through the router: event search, evidence
//! bundles whose proofs have the RFC 9162 length, stored checkpoints and the
//! background checkpointer, redaction, the audit of the stored log against
//! rows changed directly in the SQLite database, and a failing event append
//! that leaves no state change behind.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::util::*;

/// A room with two external users, one upload and three downloads (one
/// denied, one an hour later).
struct Scene {
    ctx: Ctx,
    auditor: User,
    member: User,
    party: String,
    manager: User,
    viewer: User,
    room: String,
    file: String,
}

async fn scene() -> Scene {
    let ctx = Ctx::new().await;
    let auditor = ctx.staff("auditor").await;
    let member = ctx.staff("member").await;
    let party = ctx.party("Acme").await;
    let viewer = ctx.external(&party).await;
    let manager = ctx.external(&party).await;
    let room = ctx.room(&member.token, "Evidence").await;
    ctx.grant(&member.token, &room, "user", &viewer.id, "viewer", None)
        .await;
    ctx.grant(&member.token, &room, "user", &manager.id, "manager", None)
        .await;
    let f = ctx.upload(&manager.token, &room, "a.txt", b"secret").await;
    let file = f["id"].as_str().unwrap().to_owned();
    let content = format!("/files/{file}/content");
    ctx.must(&manager.token, "GET", &content, Value::Null, 200)
        .await;
    let r = ctx.call(&viewer.token, "GET", &content, Value::Null).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    ctx.advance(3_600_000);
    download_as(&ctx, &manager.token, &file, "curl/8.0 (Alice's laptop)").await;
    Scene {
        ctx,
        auditor,
        member,
        party,
        manager,
        viewer,
        room,
        file,
    }
}

async fn download_as(ctx: &Ctx, token: &str, file: &str, agent: &str) {
    let r = ctx
        .send(&Case {
            who: Some(token.to_owned()),
            method: "GET",
            path: format!("{V1}/files/{file}/content"),
            headers: vec![("user-agent", agent.to_owned())],
            ..Case::default()
        })
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
}

/// `GET path` as `who`, answering `status`.
fn get(label: &str, who: &str, path: String, status: u16) -> Case {
    Case {
        label: label.into(),
        who: Some(who.to_owned()),
        method: "GET",
        path: format!("{V1}{path}"),
        want_status: status,
        ..Case::default()
    }
}

fn items(r: &Resp) -> Vec<Value> {
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

/// `action/outcome` of each event.
fn actions(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_search_events_by_every_filter() {
    let s = scene().await;
    let (ctx, a) = (&s.ctx, &s.auditor.token);
    let (f, r, m) = (&s.file, &s.room, &s.manager.id);
    let half_hour = rfc3339(T0 + 1_800_000);
    let up = "file.upload/allowed";
    let dl = "file.download/allowed";
    let no = "file.download/denied";
    let grant = "grant.create/allowed";
    let cases: Vec<(String, Vec<&str>)> = vec![
        // The viewer's refused download is recorded against the file.
        (format!("file={f}"), vec![up, dl, no, dl]),
        (format!("file={f}&outcome=denied"), vec![no]),
        (format!("room={r}&outcome=denied"), vec![no]),
        (format!("file={f}&action=file.download"), vec![dl, no, dl]),
        (format!("file={f}&from={half_hour}"), vec![dl]),
        (format!("file={f}&to={half_hour}"), vec![up, dl, no]),
        (format!("file={f}&limit=2"), vec![up, dl]),
        (
            format!("room={r}"),
            vec!["room.create/allowed", grant, grant, up, dl, no, dl],
        ),
        (format!("room={r}&action=grant."), vec![grant, grant]),
        (format!("actor={m}&action=file."), vec![up, dl, dl]),
        (format!("actor={}&action=file.", s.viewer.id), vec![no]),
        (format!("actor={m}&action=file"), vec![]),
        (
            format!("room={r}&action=room.create&outcome=denied"),
            vec![],
        ),
    ];
    for (query, want) in cases {
        let resp = check(ctx, get(&query, a, format!("/events?{query}"), 200)).await;
        assert_eq!(actions(&items(&resp)), want, "{query}");
    }
    // Paging continues after the last sequence number seen.
    let first = items(
        &check(
            ctx,
            get("page 1", a, format!("/events?file={f}&limit=2"), 200),
        )
        .await,
    );
    let after = first[1]["seq"].as_i64().unwrap();
    let rest = check(
        ctx,
        get("page 2", a, format!("/events?file={f}&after={after}"), 200),
    )
    .await;
    assert_eq!(actions(&items(&rest)), vec![no, dl]);
    // The party filter: by its users, about it, or about its users.
    let party = check(
        ctx,
        get(
            "party",
            a,
            format!("/events?party={}&limit=1000", s.party),
            200,
        ),
    )
    .await;
    let party_events = items(&party);
    let ours = [
        format!("party:{}", s.party),
        format!("user:{}", s.viewer.id),
        format!("user:{}", s.manager.id),
    ];
    for e in &party_events {
        let by_party = e["actor_party"].as_str() == Some(s.party.as_str());
        let about = ours
            .iter()
            .any(|t| e["target"].as_str() == Some(t.as_str()));
        assert!(by_party || about, "{e}");
    }
    let party_actions = actions(&party_events);
    for want in ["party.create/allowed", "user.create/allowed", up, no] {
        assert!(
            party_actions.iter().any(|a| a == want),
            "{want} in {party_actions:?}"
        );
    }
    let member_only = check(
        ctx,
        get("member", a, format!("/events?actor={}", s.member.id), 200),
    )
    .await;
    assert!(
        items(&member_only)
            .iter()
            .all(|e| e["actor_user"] == json!(s.member.id))
    );
    // Bad filters and callers.
    let bad = |q: &str, code: &'static str| Case {
        want_code: Some(code),
        ..get(q, a, format!("/events?{q}"), 400)
    };
    for case in [
        bad("actor=nobody", "bad_filter"),
        bad("from=yesterday", "bad_filter"),
        bad(
            &format!("from={half_hour}&to={}", rfc3339(T0)),
            "bad_time_range",
        ),
        bad("outcome=maybe", "unknown_name"),
        bad("colour=red", "invalid_query"),
    ] {
        check(ctx, case).await;
    }
    for who in [&s.member.token, &s.manager.token] {
        check(
            ctx,
            get("not an auditor", who, "/events?action=file.".into(), 403),
        )
        .await;
    }
}

/// The length of RFC 6962 `PATH(m, D[n])` (§2.1.1), by its recursion.
fn path_len(m: u64, n: u64) -> usize {
    if n <= 1 {
        return 0;
    }
    let k = 1u64 << (63 - (n - 1).leading_zeros());
    if m < k {
        1 + path_len(m, k)
    } else {
        1 + path_len(m - k, n - k)
    }
}

fn hash_of(text: &str) -> [u8; 32] {
    STANDARD.decode(text).unwrap().try_into().unwrap()
}

/// Checks a bundle as an independent verifier would; returns `(entries, redacted)`.
fn verify_bundle(b: &Value) -> (usize, usize) {
    assert_eq!(b["format"], "custody-evidence-bundle/1");
    let key = ledger::Verifier::parse(b["verifier_key"].as_str().unwrap()).unwrap();
    let body = key.verify(b["checkpoint"].as_str().unwrap()).unwrap();
    let cp = ledger::Checkpoint::parse(&body).unwrap();
    let entries = b["entries"].as_array().unwrap();
    let mut redacted = 0;
    for e in entries {
        let index = e["index"].as_u64().unwrap();
        let bytes = STANDARD.decode(e["leaf"].as_str().unwrap()).unwrap();
        let hash: [u8; 32] = hex::decode(e["leaf_hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        if e["redacted"] == json!(true) {
            redacted += 1;
            assert_ne!(
                ledger::leaf_hash(&bytes),
                hash,
                "a redacted leaf keeps its old hash"
            );
        } else {
            assert_eq!(ledger::leaf_hash(&bytes), hash, "entry {index}");
        }
        let decoded = ledger::EventLeaf::decode(&bytes)
            .unwrap()
            .to_json()
            .unwrap();
        assert_eq!(decoded, e["event"], "entry {index}");
        let proof: Vec<[u8; 32]> = e["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| hash_of(h.as_str().unwrap()))
            .collect();
        let ceil_log2 = (64 - (cp.size - 1).leading_zeros()) as usize;
        assert_eq!(
            proof.len(),
            path_len(index, cp.size),
            "entry {index} of {}",
            cp.size
        );
        assert!(proof.len() <= ceil_log2, "entry {index} of {}", cp.size);
        ledger::verify_inclusion(&hash, index, cp.size, &proof, &cp.root).unwrap();
    }
    (entries.len(), redacted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_bundles_verify_on_their_own() {
    let s = scene().await;
    let (ctx, a) = (&s.ctx, &s.auditor.token);
    let path = format!("/ledger/bundle?file={}", s.file);
    let b = check(ctx, get("bundle", a, path.clone(), 200)).await.json();
    assert_eq!(verify_bundle(&b), (4, 0));
    let got: Vec<&str> = b["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "file.upload",
            "file.download",
            "file.download",
            "file.download"
        ]
    );
    // The key in the bundle is the ledger's.
    let key = check(ctx, get("key", a, "/ledger/verifier-key".into(), 200)).await;
    assert_eq!(
        format!("{}\n", b["verifier_key"].as_str().unwrap()),
        key.text()
    );
    // A bundle of everything: every index of a ragged tree (proofs of the
    // left edge longer than those of the right edge) has the RFC length.
    let all = check(ctx, get("all", a, "/ledger/bundle?limit=10000".into(), 200))
        .await
        .json();
    let (n, _) = verify_bundle(&all);
    assert!(n >= 20 && !n.is_power_of_two(), "{n} entries");
    check(ctx, get("member", &s.member.token, path, 403)).await;
    // The exports were themselves recorded.
    let exports = check(
        ctx,
        get("exports", a, "/events?action=ledger.export".into(), 200),
    )
    .await;
    assert_eq!(items(&exports).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_stored_when_the_log_grows() {
    let ctx = Ctx::new().await;
    let auditor = ctx.staff("auditor").await;
    let list = |from: u64| {
        get(
            "list",
            &auditor.token,
            format!("/ledger/checkpoints?from_size={from}"),
            200,
        )
    };
    assert!(items(&check(&ctx, list(0)).await).is_empty());
    let first = ctx.app.checkpoint_if_grown().await.unwrap().unwrap();
    assert_eq!(
        ctx.app.checkpoint_if_grown().await.unwrap(),
        None,
        "nothing new"
    );
    ctx.room(&ctx.admin, "Grows").await;
    let second = ctx.app.checkpoint_if_grown().await.unwrap().unwrap();
    assert!(second > first, "{second} > {first}");
    let sizes = |r: &Resp| -> Vec<u64> {
        items(r)
            .iter()
            .map(|c| c["size"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(sizes(&check(&ctx, list(0)).await), [first, second]);
    assert_eq!(sizes(&check(&ctx, list(first + 1)).await), [second]);
    let stored = items(&check(&ctx, list(second)).await);
    let note = check(
        &ctx,
        get("now", &auditor.token, "/ledger/checkpoint".into(), 200),
    )
    .await;
    assert_eq!(stored[0]["note"].as_str(), Some(note.text().as_str()));
    // The background task signs one soon after the log grows.
    let task = app::ledger::spawn_checkpointer(ctx.app.clone(), Duration::from_millis(50));
    ctx.room(&ctx.admin, "Grows again").await;
    let mut latest = second;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        latest = *sizes(&check(&ctx, list(0)).await).last().unwrap();
        if latest > second {
            break;
        }
    }
    task.abort();
    assert!(
        latest > second,
        "the checkpointer signed nothing after {second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redaction_removes_personal_data_and_keeps_the_tree() {
    let s = scene().await;
    let (ctx, a) = (&s.ctx, &s.auditor.token);
    let q = format!(
        "/events?file={}&action=file.download&outcome=allowed",
        s.file
    );
    let downloads = items(&check(ctx, get("find", a, q.clone(), 200)).await);
    let target = &downloads[1];
    assert_eq!(target["user_agent"], "curl/8.0 (Alice's laptop)");
    let seq = target["seq"].as_i64().unwrap();
    let officer = ctx.staff("security_officer").await;
    let redact = |who: &str, seq: i64, reason: &str, status: u16| Case {
        label: format!("redact {seq}"),
        who: Some(who.to_owned()),
        method: "POST",
        path: format!("{V1}/events/{seq}/redact"),
        body: Payload::Json(json!({"reason": reason})),
        want_status: status,
        ..Case::default()
    };
    let erasure = "GDPR art. 17 request #12";
    check(ctx, redact(&officer.token, seq, erasure, 403)).await;
    check(ctx, redact(a, seq, erasure, 403)).await;
    check(
        ctx,
        Case {
            want_code: Some("bad_reason"),
            ..redact(&ctx.admin, seq, " ", 400)
        },
    )
    .await;
    // One line only: a line break could forge rows in exports of the log.
    check(
        ctx,
        Case {
            want_code: Some("bad_reason"),
            ..redact(&ctx.admin, seq, "erasure\nsecond line", 400)
        },
    )
    .await;
    check(ctx, redact(&ctx.admin, 999_999, erasure, 404)).await;
    let done = check(ctx, redact(&ctx.admin, seq, erasure, 200))
        .await
        .json();
    assert_eq!(done["seq"], json!(seq));
    check(
        ctx,
        Case {
            want_code: Some("conflict"),
            ..redact(&ctx.admin, seq, erasure, 409)
        },
    )
    .await;
    // The row lost its personal data; the rest stays.
    let after = items(&check(ctx, get("after", a, q, 200)).await);
    let e = &after[1];
    assert_eq!(
        (e["seq"].as_i64(), &e["user_agent"], &e["source_addr"]),
        (Some(seq), &Value::Null, &Value::Null)
    );
    assert_eq!(e["detail"], json!({"redacted": true}));
    assert_eq!(
        (&e["actor_user"], &e["action"], &e["target"]),
        (&target["actor_user"], &target["action"], &target["target"])
    );
    // The redaction is an event of its own.
    let r = items(
        &check(
            ctx,
            get(
                "redactions",
                a,
                "/events?action=event.redact&outcome=allowed".into(),
                200,
            ),
        )
        .await,
    );
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0]["target"].as_str(), &r[0]["detail"]["reason"]),
        (Some(format!("event:{seq}").as_str()), &json!(erasure))
    );
    assert_eq!(r[0]["seq"], done["redaction_seq"]);
    // Bundles still verify, by the retained hash; the stored log is intact.
    let b = check(
        ctx,
        get("bundle", a, format!("/ledger/bundle?file={}", s.file), 200),
    )
    .await
    .json();
    assert_eq!(verify_bundle(&b), (4, 1));
    let index = done["index"].as_u64().unwrap();
    let line = check(
        ctx,
        get(
            "entry",
            a,
            format!("/ledger/entries?from={index}&to={}", index + 1),
            200,
        ),
    )
    .await;
    let line: Value = serde_json::from_slice(&line.body).unwrap();
    assert_eq!(
        (
            line["redacted"].clone(),
            line["event"]["user_agent"].clone()
        ),
        (json!(true), Value::Null)
    );
    let audit = ctx
        .must(&ctx.admin, "POST", "/ledger/audit", Value::Null, 200)
        .await;
    assert_eq!(
        (audit["faults"].clone(), audit["redacted"].clone()),
        (json!([]), json!(1))
    );
}

/// A fresh App with some history and a stored checkpoint; returns it and the
/// database URL.
async fn logged() -> (Ctx, String) {
    let ctx = Ctx::new().await;
    for i in 0..4 {
        ctx.room(&ctx.admin, &format!("Room {i}")).await;
    }
    ctx.must(&ctx.admin, "GET", "/ledger/checkpoint", Value::Null, 200)
        .await;
    let url = format!("sqlite://{}", ctx.dir.path().join("c.db").display());
    (ctx, url)
}

async fn tamper(url: &str, statements: &[&'static str]) {
    let mut db = sqlx::SqliteConnection::connect(url).await.unwrap();
    // Someone editing the file behind Custody's back ignores its constraints.
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut db)
        .await
        .unwrap();
    for s in statements {
        sqlx::query(*s).execute(&mut db).await.unwrap();
    }
    db.close().await.unwrap();
}

/// A checkpoint of size 3 signed by some other key.
fn forged_note() -> String {
    let signer = ledger::Signer::from_seed("custody.local/ledger", [9; 32]).unwrap();
    let body = ledger::Checkpoint {
        origin: signer.name().into(),
        size: 3,
        root: [1; 32],
        extensions: vec![],
    };
    signer.sign(&body.to_note_body().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_names_the_first_tampered_row() {
    let swap_2_and_3: &[&'static str] = &[
        "UPDATE ledger_leaves SET idx = 1000000 WHERE idx = 2",
        "UPDATE ledger_leaves SET idx = 2 WHERE idx = 3",
        "UPDATE ledger_leaves SET idx = 3 WHERE idx = 1000000",
    ];
    let cases: Vec<(&str, &[&'static str], Option<&str>)> = vec![
        ("untouched", &[], None),
        (
            "modified leaf bytes",
            &[
                "UPDATE ledger_leaves SET leaf = (SELECT leaf FROM ledger_leaves WHERE idx = 0) WHERE idx = 5",
            ],
            Some("leaf 5: stored bytes do not hash to the stored leaf hash"),
        ),
        (
            "modified event row",
            &[
                "UPDATE events SET target = 'room:elsewhere' WHERE seq = (SELECT event_seq FROM ledger_leaves WHERE idx = 1)",
            ],
            Some("leaf 1: event"),
        ),
        (
            "deleted leaf row",
            &["DELETE FROM ledger_leaves WHERE idx = 4"],
            Some("leaf 4 is missing"),
        ),
        (
            "deleted event row",
            &["DELETE FROM events WHERE seq = (SELECT event_seq FROM ledger_leaves WHERE idx = 3)"],
            Some("leaf 3: its event"),
        ),
        (
            "inserted event row",
            &[
                "INSERT INTO events (time_ms, action, target, outcome, detail) VALUES (1, 'room.delete', 'room:x', 'allowed', '{}')",
            ],
            Some("has no leaf in the ledger"),
        ),
        (
            "reordered leaf rows",
            swap_2_and_3,
            Some("node (0, 2) does not match the leaves it covers"),
        ),
        (
            "deleted node",
            &["DELETE FROM ledger_nodes WHERE level = 1 AND idx = 1"],
            Some("node (1, 1) is missing"),
        ),
        (
            "rewritten leaf with its hash and level-0 node",
            &[
                "UPDATE ledger_leaves SET leaf = (SELECT leaf FROM ledger_leaves WHERE idx = 0), leaf_hash = (SELECT leaf_hash FROM ledger_leaves WHERE idx = 0) WHERE idx = 1",
                "UPDATE ledger_nodes SET hash = (SELECT hash FROM ledger_nodes WHERE level = 0 AND idx = 0) WHERE level = 0 AND idx = 1",
            ],
            Some("leaf 1: event"),
        ),
        (
            "truncated log",
            &["UPDATE ledger_state SET size = 4"],
            Some("leaf 4 is beyond the ledger size 4"),
        ),
        (
            "redaction without a recorded redaction",
            &[
                "INSERT INTO ledger_redactions (idx, event_seq, reason, redacted_by, redacted_ms) SELECT idx, event_seq, 'x', 'y', 1 FROM ledger_leaves WHERE idx = 2",
            ],
            Some("leaf 2: redacted bytes are not a redaction"),
        ),
    ];
    for (what, statements, want) in cases {
        let (ctx, url) = logged().await;
        tamper(&url, statements).await;
        // What `custody ledger check` runs; the API would also record the
        // audit, which a truncated log refuses (its next index is taken).
        let report =
            serde_json::to_value(app::Audit(&ctx.app).audit_ledger().await.unwrap()).unwrap();
        let first = report["faults"][0]["message"].as_str();
        match want {
            None => assert_eq!(report["faults"], json!([]), "{what}"),
            Some(w) => assert!(first.is_some_and(|m| m.contains(w)), "{what}: {report}"),
        }
    }
    // A checkpoint replaced by one of another key and tree.
    let (ctx, url) = logged().await;
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO ledger_checkpoints (size, note, created_ms) VALUES (3, $1, 1)")
        .bind(forged_note())
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    let report = ctx
        .must(&ctx.admin, "POST", "/ledger/audit", Value::Null, 200)
        .await;
    let first = report["faults"][0]["message"].as_str().unwrap_or_default();
    assert!(
        first.starts_with("checkpoint 3: signature does not verify"),
        "{report}"
    );
    // Only admins audit; the audit is itself recorded.
    let officer = ctx.staff("security_officer").await;
    let r = ctx
        .call(&officer.token, "POST", "/ledger/audit", Value::Null)
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    let audits = ctx
        .must(
            &ctx.admin,
            "GET",
            "/events?action=ledger.audit&outcome=allowed",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(audits["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_append_applies_no_change() {
    let (ctx, url) = logged().await;
    let before = ctx.events().await.len();
    // The ledger refuses every append, as a full disk would.
    tamper(
        &url,
        &["CREATE TRIGGER full_disk BEFORE INSERT ON ledger_leaves BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"],
    )
    .await;
    let body = json!({"name": "Unaudited", "classification": "internal"});
    let r = ctx.call(&ctx.admin, "POST", "/rooms", body).await;
    assert_eq!(r.status.as_u16(), 500, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "internal");
    tamper(&url, &["DROP TRIGGER full_disk"]).await;
    let rooms = ctx
        .must(&ctx.admin, "GET", "/rooms", Value::Null, 200)
        .await;
    let names: Vec<&str> = rooms["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(!names.contains(&"Unaudited"), "{names:?}");
    assert_eq!(ctx.events().await.len(), before, "no event either");
    let report = ctx
        .must(&ctx.admin, "POST", "/ledger/audit", Value::Null, 200)
        .await;
    assert_eq!(report["faults"], json!([]));
}
