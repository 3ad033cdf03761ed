//! Isolation between parties: a user of party A who guesses the ids of party
//! B's rooms, files, grants, users, party, agreements, notifications and held
//! uploads learns nothing — the answer is the same as for an id that does not
//! exist, and the body carries none of B's data. Runs on SQLite, and on
//! PostgreSQL when one is reachable.

use serde_json::{Value, json};

use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_a_cannot_reach_party_b_sqlite() {
    party_a_cannot_reach_party_b(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_a_cannot_reach_party_b_postgres() {
    if let Some(url) = postgres().await {
        party_a_cannot_reach_party_b(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}

async fn party_a_cannot_reach_party_b(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let (pa, pb) = (ctx.party("Alpha").await, ctx.party("Beta").await);
    let (a, b) = (ctx.external(&pa).await, ctx.external(&pb).await);
    let (room_a, room_b) = (
        ctx.room(&curator.token, "Alpha room").await,
        ctx.room(&curator.token, "Beta secret room").await,
    );
    let c = &curator.token;
    ctx.grant(c, &room_a, "user", &a.id, "manager", None).await;
    let grant_b = ctx.grant(c, &room_b, "party", &pb, "manager", None).await;
    let file_b = ctx
        .upload(&b.token, &room_b, "beta/plan.txt", b"beta plan")
        .await;
    let (file_b, version_b) = (
        file_b["id"].as_str().unwrap_or_default().to_owned(),
        file_b["version_id"].as_str().unwrap_or_default().to_owned(),
    );
    ctx.upload(&a.token, &room_a, "alpha.txt", b"alpha").await;
    let ghost = "00000000-0000-4000-8000-000000000000";
    // B's agreement (awaiting B's signature) and a notification of B's user.
    let nda = "Beta keeps the plans secret.";
    let agreement_b = ctx
        .must(
            &ctx.admin,
            "POST",
            "/agreements",
            json!({"party_id": pb, "kind": "nda", "template": "beta-nda",
                "title": "Beta NDA", "text": nda}),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let soon = json!({"valid_until": rfc3339(ctx.now() + 1000)});
    let training_b = format!("/users/{}/training", b.id);
    ctx.must(&ctx.admin, "PUT", &training_b, soon, 200).await;
    ctx.advance(2000);
    assert_eq!(
        app::Agreements(&ctx.app)
            .sweep_expiries()
            .await
            .unwrap_or(0),
        1
    );
    let notes = ctx
        .must(&b.token, "GET", "/notifications", Value::Null, 200)
        .await;
    let note_b = notes["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!note_b.is_empty(), "{notes}");
    let sign_body = json!({"text_sha256": hex::encode(sha256(nda.as_bytes()))});
    let training = json!({"valid_until": rfc3339(ctx.now() + 1000)});
    let cert = json!({"name": "TISAX", "valid_until": rfc3339(ctx.now() + 1000)});
    let template = json!({"kind": "nda", "title": "T", "text": "x"});
    let review = json!({"note": "x"});
    let grant_body =
        json!({"subject_kind": "user", "subject_id": a.id, "role": "viewer", "reason": "x"});
    // (method, path with B's id, path with an id that does not exist, body, status, code)
    let table: Vec<(&'static str, String, String, Value, u16, &'static str)> = vec![
        (
            "GET",
            format!("/rooms/{room_b}"),
            format!("/rooms/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "PATCH",
            format!("/rooms/{room_b}"),
            format!("/rooms/{ghost}"),
            json!({"name": "x"}),
            404,
            "not_found",
        ),
        (
            "DELETE",
            format!("/rooms/{room_b}"),
            format!("/rooms/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/rooms/{room_b}/files"),
            format!("/rooms/{ghost}/files"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/rooms/{room_b}/grants"),
            format!("/rooms/{ghost}/grants"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("/rooms/{room_b}/grants"),
            format!("/rooms/{ghost}/grants"),
            grant_body,
            404,
            "not_found",
        ),
        (
            "DELETE",
            format!("/rooms/{room_b}/grants/{grant_b}"),
            format!("/rooms/{ghost}/grants/{grant_b}"),
            Value::Null,
            404,
            "not_found",
        ),
        // A's own room with B's grant id: still not found.
        (
            "DELETE",
            format!("/rooms/{room_a}/grants/{grant_b}"),
            format!("/rooms/{room_a}/grants/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}"),
            format!("/files/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}/versions"),
            format!("/files/{ghost}/versions"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}/content"),
            format!("/files/{ghost}/content"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}/content?version={version_b}"),
            format!("/files/{ghost}/content?version={version_b}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "DELETE",
            format!("/files/{file_b}"),
            format!("/files/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/users/{}", b.id),
            format!("/users/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/parties/{pb}"),
            format!("/parties/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        // Administrative writes are refused by system role before any look-up:
        // the same 403 whether the id exists or not.
        (
            "PATCH",
            format!("/users/{}", b.id),
            format!("/users/{ghost}"),
            json!({"display_name": "x"}),
            403,
            "forbidden",
        ),
        (
            "POST",
            format!("/users/{}/revoke-sessions", b.id),
            format!("/users/{ghost}/revoke-sessions"),
            Value::Null,
            403,
            "forbidden",
        ),
        (
            "PATCH",
            format!("/parties/{pb}"),
            format!("/parties/{ghost}"),
            json!({"name": "x"}),
            403,
            "forbidden",
        ),
        // Agreements, notifications, delivery, DLP and pages of B: not found.
        (
            "GET",
            format!("/agreements/{agreement_b}"),
            format!("/agreements/{ghost}"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("/agreements/{agreement_b}/sign"),
            format!("/agreements/{ghost}/sign"),
            sign_body,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("/agreements/{agreement_b}/terminate"),
            format!("/agreements/{ghost}/terminate"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "POST",
            format!("/notifications/{note_b}/read"),
            format!("/notifications/{ghost}/read"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/rooms/{room_b}/delivery"),
            format!("/rooms/{ghost}/delivery"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "PUT",
            format!("/rooms/{room_b}/delivery"),
            format!("/rooms/{ghost}/delivery"),
            json!({"downloader": "original", "contributor": "original",
                "manager": "original", "unmarkable": "original"}),
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/rooms/{room_b}/dlp"),
            format!("/rooms/{ghost}/dlp"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}/pages"),
            format!("/files/{ghost}/pages"),
            Value::Null,
            404,
            "not_found",
        ),
        (
            "GET",
            format!("/files/{file_b}/pages/1"),
            format!("/files/{ghost}/pages/1"),
            Value::Null,
            404,
            "not_found",
        ),
        // Admin-only endpoints that take B's ids: refused by system role first.
        (
            "POST",
            format!("/agreements/{agreement_b}/offer"),
            format!("/agreements/{ghost}/offer"),
            Value::Null,
            403,
            "forbidden",
        ),
        (
            "PUT",
            training_b.clone(),
            format!("/users/{ghost}/training"),
            training,
            403,
            "forbidden",
        ),
        (
            "DELETE",
            training_b.clone(),
            format!("/users/{ghost}/training"),
            Value::Null,
            403,
            "forbidden",
        ),
        (
            "PUT",
            format!("/parties/{pb}/certification"),
            format!("/parties/{ghost}/certification"),
            cert,
            403,
            "forbidden",
        ),
        (
            "DELETE",
            format!("/parties/{pb}/certification"),
            format!("/parties/{ghost}/certification"),
            Value::Null,
            403,
            "forbidden",
        ),
        (
            "PUT",
            "/agreement-templates/beta-nda".into(),
            "/agreement-templates/no-such-template".into(),
            template,
            403,
            "forbidden",
        ),
        (
            "POST",
            "/agreement-templates/beta-nda/issue".into(),
            "/agreement-templates/no-such-template/issue".into(),
            json!({"party_id": pb}),
            403,
            "forbidden",
        ),
        (
            "POST",
            format!("/dlp/quarantine/{version_b}/release"),
            format!("/dlp/quarantine/{ghost}/release"),
            review.clone(),
            403,
            "forbidden",
        ),
        (
            "POST",
            format!("/dlp/quarantine/{version_b}/reject"),
            format!("/dlp/quarantine/{ghost}/reject"),
            review,
            403,
            "forbidden",
        ),
        (
            "GET",
            format!("/ledger/bundle?file={file_b}"),
            format!("/ledger/bundle?file={ghost}"),
            Value::Null,
            403,
            "forbidden",
        ),
    ];
    let secrets = [
        room_b.as_str(),
        file_b.as_str(),
        grant_b.as_str(),
        &b.id,
        &pb,
        &agreement_b,
        &note_b,
        "Beta",
        "beta",
    ];
    for (method, real, fake, body, status, code) in table {
        let mut bodies = Vec::new();
        for path in [real, fake] {
            let r = check(
                ctx,
                Case {
                    label: "party A member".into(),
                    who: Some(a.token.clone()),
                    method,
                    path: format!("{V1}{path}"),
                    body: if body.is_null() {
                        Payload::None
                    } else {
                        Payload::Json(body.clone())
                    },
                    want_status: status,
                    want_code: Some(code),
                    ..Case::default()
                },
            )
            .await;
            let mut j = r.json();
            j["error"]["request_id"] = Value::Null;
            let text = r.text();
            for s in secrets {
                assert!(
                    !text.contains(s),
                    "{method} {path}: body leaks `{s}`: {text}"
                );
            }
            bodies.push(j);
        }
        assert_eq!(
            bodies[0], bodies[1],
            "{method}: B's id answers unlike a missing id"
        );
    }
    // Lists show only A's own things.
    let rooms = ctx.must(&a.token, "GET", "/rooms", Value::Null, 200).await;
    let ids: Vec<&str> = rooms["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, vec![room_a.as_str()]);
    let files = ctx
        .must(
            &a.token,
            "GET",
            &format!("/rooms/{room_a}/files"),
            Value::Null,
            200,
        )
        .await;
    assert!(!files.to_string().contains("beta"), "{files}");
    for list in ["/agreements", "/notifications"] {
        let mine = ctx.must(&a.token, "GET", list, Value::Null, 200).await;
        let text = mine.to_string();
        assert!(
            !text.contains(&agreement_b) && !text.contains(&note_b) && !text.contains("Beta"),
            "{list} shows B's: {text}"
        );
    }
    // B's file is intact after A's attempts.
    ctx.must(
        &b.token,
        "GET",
        &format!("/files/{file_b}"),
        Value::Null,
        200,
    )
    .await;
}

/// Regression: a user whose account state denies everything (TOTP not yet
/// enrolled) got 403 for a room id that does not exist but 404 for a real room
/// with a grant — an existence oracle (`app/src/rooms.rs`, `enforce_visible`
/// turns a `Deny` into `NotFound`, while the missing-room path answers the
/// `Deny` as 403). Both must answer alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_state_denial_is_no_existence_oracle() {
    let ctx = Ctx::new().await;
    let curator = ctx.staff("member").await;
    let party = ctx.party("Alpha").await;
    let pre = ctx.user_in(&party, "member", false).await;
    let room = ctx.room(&curator.token, "Real room").await;
    ctx.grant(&curator.token, &room, "user", &pre.id, "manager", None)
        .await;
    let ghost = "00000000-0000-4000-8000-000000000000";
    for suffix in ["/files", "/grants"] {
        let mut answers = Vec::new();
        for id in [room.as_str(), ghost] {
            let r = ctx
                .call(
                    &pre.token,
                    "GET",
                    &format!("/rooms/{id}{suffix}"),
                    Value::Null,
                )
                .await;
            answers.push((r.status.as_u16(), r.json()["error"]["code"].clone()));
        }
        assert_eq!(
            answers[0], answers[1],
            "{suffix}: real room vs missing room"
        );
    }
}
