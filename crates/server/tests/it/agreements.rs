//! Agreements and the policy condition they feed: a room that requires an NDA
//! is closed to an external party until one of its users signs it (proving the
//! text shown by its SHA-256), open while the NDA is in term, and closed again
//! at the first request after its end date or its termination — with no sweep.
//! Parties cannot see or sign each other's agreements; policies are listed and
//! simulated by admins only.

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;
const NDA_TEXT: &str =
    "Mutual non-disclosure agreement.\nThe parties keep each other's information secret.";

/// Issues an NDA to `party` as the admin, in term for `days` from now.
async fn issue_nda(ctx: &Ctx, party: &str, title: &str, days: i64) -> Value {
    let body = json!({
        "party_id": party, "kind": "nda", "template": "mutual-nda-2026", "title": title,
        "text": NDA_TEXT, "end_at": rfc3339(ctx.now() + days * DAY),
    });
    ctx.must(&ctx.admin, "POST", "/agreements", body, 201).await
}

fn sign_body(text: &str) -> Value {
    json!({"text_sha256": hex::encode(sha256(text.as_bytes()))})
}

/// The newest denial event of `action`.
async fn last_denial(ctx: &Ctx, action: &str) -> Value {
    let events = ctx.events().await;
    events
        .into_iter()
        .rev()
        .find(|e| e["action"] == action && e["outcome"] == "denied")
        .unwrap_or(Value::Null)
}

/// `(status, reason of the newest denial or "", message)` of listing the room's files.
async fn list_files(ctx: &Ctx, who: &str, room: &str) -> (u16, String, String) {
    let r = ctx
        .call(who, "GET", &format!("/rooms/{room}/files"), Value::Null)
        .await;
    let status = r.status.as_u16();
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reason = if status == 200 {
        String::new()
    } else {
        last_denial(ctx, "file.list").await["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (status, reason, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nda_opens_the_room_while_in_term_and_closes_it_at_its_end_sqlite() {
    nda_scenario(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nda_opens_the_room_while_in_term_and_closes_it_at_its_end_postgres() {
    if let Some(url) = postgres().await {
        nda_scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}

async fn nda_scenario(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let party = ctx.party("Vendor").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Designs").await;
    ctx.grant(
        &curator.token,
        &room,
        "user",
        &engineer.id,
        "downloader",
        None,
    )
    .await;
    ctx.upload(&curator.token, &room, "spec.txt", b"spec").await;
    let patched = ctx
        .must(
            &engineer.token,
            "PATCH",
            &format!("/rooms/{room}"),
            json!({"required_agreements": []}),
            403,
        )
        .await;
    assert_eq!(
        patched["error"]["code"], "forbidden",
        "a downloader cannot lift it"
    );
    let patched = ctx
        .must(
            &curator.token,
            "PATCH",
            &format!("/rooms/{room}"),
            json!({"required_agreements": ["nda"]}),
            200,
        )
        .await;
    assert_eq!(patched["required_agreements"], json!(["nda"]));
    let nda = issue_nda(ctx, &party, "Mutual NDA 2026", 10).await;
    let id = nda["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(nda["status"], "awaiting_signature");
    assert_eq!(nda["text_sha256"], hex::encode(sha256(NDA_TEXT.as_bytes())));

    // 1. A new external user with a grant: the room is visible, its content is not.
    ctx.must(
        &engineer.token,
        "GET",
        &format!("/rooms/{room}"),
        Value::Null,
        200,
    )
    .await;
    let (status, reason, message) = list_files(ctx, &engineer.token, &room).await;
    assert_eq!((status, reason.as_str()), (403, "agreement_missing"));
    assert_eq!(
        message,
        "your party has not signed the agreement `Mutual NDA 2026`"
    );

    // 2. Signing needs the hash of the exact text; then the party's user signs.
    let wrong = ctx
        .must(
            &engineer.token,
            "POST",
            &format!("/agreements/{id}/sign"),
            sign_body("some other text"),
            400,
        )
        .await;
    assert_eq!(wrong["error"]["code"], "text_mismatch");
    let signed = ctx
        .must(
            &engineer.token,
            "POST",
            &format!("/agreements/{id}/sign"),
            sign_body(NDA_TEXT),
            200,
        )
        .await;
    assert_eq!(signed["status"], "active");
    assert_eq!(signed["signature"]["user_id"], engineer.id.as_str());
    let event = ctx
        .events()
        .await
        .into_iter()
        .find(|e| e["action"] == "agreement.sign")
        .unwrap_or(Value::Null);
    assert_eq!(event["actor_user"], engineer.id.as_str(), "{event}");
    assert!(
        event
            .to_string()
            .contains(&hex::encode(sha256(NDA_TEXT.as_bytes()))),
        "the event carries the hash signed: {event}"
    );

    // 3. Allowed while in term.
    let (status, _, _) = list_files(ctx, &engineer.token, &room).await;
    assert_eq!(status, 200);
    ctx.advance(10 * DAY - 1);
    let (status, _, _) = list_files(ctx, &engineer.token, &room).await;
    assert_eq!(status, 200, "one millisecond before the end date");

    // 4. The end date passes: denied at the very next request, no sweep ran.
    ctx.advance(1);
    let (status, reason, message) = list_files(ctx, &engineer.token, &room).await;
    assert_eq!((status, reason.as_str()), (403, "agreement_expired"));
    assert!(message.contains("`Mutual NDA 2026`"), "{message}");
    let seen = ctx
        .must(
            &engineer.token,
            "GET",
            &format!("/agreements/{id}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(seen["status"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_closes_the_room_at_once() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Vendor").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&ctx.admin, "Designs").await;
    ctx.grant(&ctx.admin, &room, "party", &party, "viewer", None)
        .await;
    let path = format!("/rooms/{room}");
    ctx.must(
        &ctx.admin,
        "PATCH",
        &path,
        json!({"required_agreements": ["mutual-nda-2026"]}),
        200,
    )
    .await;
    let nda = issue_nda(&ctx, &party, "Mutual NDA 2026", 365).await;
    let id = nda["id"].as_str().unwrap_or_default().to_owned();
    ctx.must(
        &engineer.token,
        "POST",
        &format!("/agreements/{id}/sign"),
        sign_body(NDA_TEXT),
        200,
    )
    .await;
    assert_eq!(list_files(&ctx, &engineer.token, &room).await.0, 200);
    // Only the owner's admins terminate; the party's own user cannot.
    let r = ctx
        .must(
            &engineer.token,
            "POST",
            &format!("/agreements/{id}/terminate"),
            Value::Null,
            403,
        )
        .await;
    assert_eq!(r["error"]["code"], "forbidden");
    let ended = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/agreements/{id}/terminate"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(ended["status"], "terminated");
    let (status, reason, _) = list_files(&ctx, &engineer.token, &room).await;
    assert_eq!((status, reason.as_str()), (403, "agreement_expired"));
    // A terminated agreement cannot be signed again.
    let r = ctx
        .must(
            &engineer.token,
            "POST",
            &format!("/agreements/{id}/sign"),
            sign_body(NDA_TEXT),
            400,
        )
        .await;
    assert_eq!(r["error"]["code"], "not_awaiting_signature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parties_cannot_see_or_sign_each_others_agreements() {
    let ctx = Ctx::new().await;
    let (pa, pb) = (ctx.party("Alpha").await, ctx.party("Beta").await);
    let (a, b) = (ctx.external(&pa).await, ctx.external(&pb).await);
    let nda_b = issue_nda(&ctx, &pb, "Beta secret NDA", 30).await;
    let id_b = nda_b["id"].as_str().unwrap_or_default().to_owned();
    let ghost = "00000000-0000-4000-8000-000000000000";
    let table = [
        ("GET", "", Value::Null),
        ("POST", "/sign", sign_body(NDA_TEXT)),
        ("POST", "/terminate", Value::Null),
    ];
    for (method, suffix, body) in table {
        let real = ctx
            .call(
                &a.token,
                method,
                &format!("/agreements/{id_b}{suffix}"),
                body.clone(),
            )
            .await;
        let none = ctx
            .call(
                &a.token,
                method,
                &format!("/agreements/{ghost}{suffix}"),
                body,
            )
            .await;
        assert_eq!(
            real.status.as_u16(),
            404,
            "{method} {suffix}: {}",
            real.text()
        );
        assert_eq!(real.json()["error"]["code"], none.json()["error"]["code"]);
        assert!(!real.text().contains("Beta"), "{}", real.text());
    }
    let listed = ctx
        .must(&a.token, "GET", "/agreements", Value::Null, 200)
        .await;
    assert_eq!(listed["items"], json!([]), "A sees none of B's agreements");
    let listed = ctx
        .must(&b.token, "GET", "/agreements", Value::Null, 200)
        .await;
    assert_eq!(listed["items"][0]["id"], id_b.as_str());
    let listed = ctx
        .must(&ctx.admin, "GET", "/agreements", Value::Null, 200)
        .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    // A draft is not offered: its party does not see it.
    let body = json!({"party_id": pb, "kind": "licence", "template": "eu-licence",
        "title": "Licence", "text": "licence text", "draft": true,
        "terms": {"field_of_use": ["automotive"], "territories": ["DE"], "permitted_actions": ["file.view"]}});
    let draft = ctx.must(&ctx.admin, "POST", "/agreements", body, 201).await;
    assert_eq!(draft["terms"]["territories"], json!(["DE"]));
    let path = format!("/agreements/{}", draft["id"].as_str().unwrap_or_default());
    ctx.must(&b.token, "GET", &path, Value::Null, 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_and_simulate_policies() {
    let ctx = Ctx::new().await;
    let auditor = ctx.staff("auditor").await;
    let party = ctx.party("Vendor").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&ctx.admin, "Designs").await;
    ctx.grant(&ctx.admin, &room, "user", &engineer.id, "viewer", None)
        .await;
    ctx.must(
        &ctx.admin,
        "PATCH",
        &format!("/rooms/{room}"),
        json!({"required_agreements": ["nda"]}),
        200,
    )
    .await;
    let listed = ctx
        .must(&ctx.admin, "GET", "/policies", Value::Null, 200)
        .await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .collect();
    for id in [
        "account.disabled",
        "room.viewer",
        "agreement.missing",
        "explain.no_grant",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    ctx.must(&auditor.token, "GET", "/policies", Value::Null, 403)
        .await;
    ctx.must(&engineer.token, "GET", "/policies", Value::Null, 403)
        .await;

    let sim = |action: &str, resource: Value| json!({"principal": engineer.id, "action": action, "resource": resource});
    let room_res = json!({"type": "room", "id": room});
    // (action, resource, decision, reason, determining policies)
    let table = [
        (
            "file.list",
            room_res.clone(),
            "deny",
            json!("agreement_missing"),
            json!(["agreement.missing"]),
        ),
        (
            "room.view",
            room_res.clone(),
            "allow",
            Value::Null,
            json!(["room.viewer"]),
        ),
        (
            "file.download",
            room_res.clone(),
            "deny",
            json!("agreement_missing"),
            json!(["agreement.missing"]),
        ),
        (
            "room.list",
            json!({"type": "system"}),
            "allow",
            Value::Null,
            json!(["system.everyone"]),
        ),
        (
            "user.create",
            json!({"type": "system"}),
            "deny",
            json!("role_forbids"),
            json!(["explain.role_forbids"]),
        ),
    ];
    for (action, resource, decision, reason, policies) in table {
        let r = ctx
            .must(
                &ctx.admin,
                "POST",
                "/policies/simulate",
                sim(action, resource),
                200,
            )
            .await;
        assert_eq!(
            (&r["decision"], &r["reason"], &r["policies"]),
            (&json!(decision), &reason, &policies),
            "{action}: {r}"
        );
    }
    ctx.must(
        &auditor.token,
        "POST",
        "/policies/simulate",
        sim("room.list", json!({"type": "system"})),
        403,
    )
    .await;
}
