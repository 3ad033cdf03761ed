//! Audit events: each kind of action leaves an event with the expected action,
//! outcome and reason, readable by auditors and not by members.

use serde_json::{Value, json};

use crate::util::*;

/// An event must exist with this action, outcome, reason and target prefix.
struct Expect {
    action: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
    target: String,
}

fn expect(
    action: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
    target: impl Into<String>,
) -> Expect {
    Expect {
        action,
        outcome,
        reason,
        target: target.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_leave_events() {
    let ctx = Ctx::new().await;
    let auditor = ctx.staff("auditor").await;
    let member = ctx.staff("member").await;
    let party = ctx.party("Acme").await;
    let viewer = ctx.external(&party).await;
    let manager = ctx.external(&party).await;
    let room = ctx.room(&member.token, "Audited").await;
    let g = ctx
        .grant(&member.token, &room, "user", &viewer.id, "viewer", None)
        .await;
    ctx.grant(&member.token, &room, "user", &manager.id, "manager", None)
        .await;
    let f = ctx
        .upload(&manager.token, &room, "a.txt", b"audited content")
        .await;
    let file = f["id"].as_str().unwrap_or_default().to_owned();
    ctx.must(
        &manager.token,
        "GET",
        &format!("/files/{file}/content"),
        Value::Null,
        200,
    )
    .await;
    // Denied: a viewer downloads; a stranger's token is refused; a failed sign-in.
    let r = ctx
        .call(
            &viewer.token,
            "GET",
            &format!("/files/{file}/content"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    ctx.login(&member.email, "wrong password!!", None).await;
    ctx.login("ghost@owner.example", "wrong password!!", None)
        .await;
    let r = ctx
        .put(&viewer.token, &room, "b.txt", b"nope".to_vec())
        .await;
    assert_eq!(r.status.as_u16(), 403);
    let r = ctx.call(&member.token, "GET", "/events", Value::Null).await;
    assert_eq!(r.status.as_u16(), 403);
    ctx.must(
        &member.token,
        "PATCH",
        &format!("/rooms/{room}"),
        json!({"classification": "restricted"}),
        200,
    )
    .await;
    ctx.must(
        &member.token,
        "DELETE",
        &format!("/rooms/{room}/grants/{g}"),
        Value::Null,
        204,
    )
    .await;
    // Restricted: the external manager needs current training, a certified
    // party…
    ctx.must(
        &manager.token,
        "DELETE",
        &format!("/files/{file}"),
        Value::Null,
        403,
    )
    .await;
    let until = json!({"valid_until": rfc3339(ctx.now() + 86_400_000)});
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/users/{}/training", manager.id),
        until.clone(),
        200,
    )
    .await;
    let cert = json!({"name": "ISO/IEC 27001", "valid_until": rfc3339(ctx.now() + 86_400_000)});
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/parties/{party}/certification"),
        cert,
        200,
    )
    .await;
    // …and, restricted, its party assessed (the sharing risk matrix).
    ctx.assess(&party, &manager, "low").await;
    ctx.must(
        &manager.token,
        "DELETE",
        &format!("/files/{file}"),
        Value::Null,
        204,
    )
    .await;
    ctx.must(&member.token, "POST", "/auth/logout", Value::Null, 204)
        .await;
    let table = [
        expect("system.bootstrap", "allowed", None, "user:"),
        expect("party.create", "allowed", None, format!("party:{party}")),
        expect(
            "user.create",
            "allowed",
            None,
            format!("user:{}", viewer.id),
        ),
        expect("auth.login", "allowed", None, format!("user:{}", viewer.id)),
        expect(
            "auth.totp_begin",
            "allowed",
            None,
            format!("user:{}", viewer.id),
        ),
        expect(
            "auth.totp_enabled",
            "allowed",
            None,
            format!("user:{}", viewer.id),
        ),
        expect("room.create", "allowed", None, format!("room:{room}")),
        expect("grant.create", "allowed", None, format!("grant:{g}")),
        expect("file.upload", "allowed", None, format!("file:{file}")),
        expect("file.download", "allowed", None, format!("file:{file}")),
        expect(
            "file.download",
            "denied",
            Some("room_role_insufficient"),
            format!("file:{file}"),
        ),
        expect(
            "file.upload",
            "denied",
            Some("room_role_insufficient"),
            format!("room:{room}"),
        ),
        expect(
            "auth.login",
            "denied",
            Some("invalid_credentials"),
            format!("user:{}", member.id),
        ),
        expect(
            "auth.login",
            "denied",
            Some("unknown_user"),
            "user:ghost@owner.example",
        ),
        expect("event.read", "denied", Some("role_forbids"), "system"),
        expect("room.update", "allowed", None, format!("room:{room}")),
        expect(
            "file.delete",
            "denied",
            Some("training_required"),
            format!("file:{file}"),
        ),
        expect(
            "user.training",
            "allowed",
            None,
            format!("user:{}", manager.id),
        ),
        expect(
            "party.certification",
            "allowed",
            None,
            format!("party:{party}"),
        ),
        expect("grant.revoke", "allowed", None, format!("grant:{g}")),
        expect("file.delete", "allowed", None, format!("file:{file}")),
        expect("auth.logout", "allowed", None, "session:"),
    ];
    let r = ctx
        .call(&auditor.token, "GET", "/events?limit=1000", Value::Null)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let events = r.json()["items"].as_array().cloned().unwrap_or_default();
    let mut missing = Vec::new();
    for e in &table {
        let found = events.iter().any(|ev| {
            ev["action"] == e.action
                && ev["outcome"] == e.outcome
                && ev["reason"].as_str() == e.reason
                && ev["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&e.target))
        });
        if !found {
            missing.push(format!(
                "{} {} {:?} {}",
                e.action, e.outcome, e.reason, e.target
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "missing events:\n{}",
        missing.join("\n")
    );
    // Events are in order, carry the request id, and never a secret.
    let seqs: Vec<i64> = events.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "not ordered");
    let download = events
        .iter()
        .find(|e| e["action"] == "file.download" && e["outcome"] == "allowed")
        .expect("download event");
    assert!(
        download["request_id"]
            .as_str()
            .is_some_and(|s| s.len() == 24),
        "{download}"
    );
    let text = serde_json::to_string(&events).unwrap_or_default();
    assert!(
        !text.contains(PASSWORD) && !text.contains(&viewer.token),
        "an event holds a secret"
    );
    // Paging.
    let first = ctx
        .must(&auditor.token, "GET", "/events?limit=2", Value::Null, 200)
        .await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let after = first["items"][1]["seq"].as_i64().unwrap_or(0);
    let next = ctx
        .must(
            &auditor.token,
            "GET",
            &format!("/events?after={after}&limit=1"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(next["items"][0]["seq"], json!(after + 1));
    // Allowed reads record nothing: paging through everything sees the same list.
    let paged: Vec<i64> = ctx
        .events()
        .await
        .iter()
        .filter_map(|e| e["seq"].as_i64())
        .collect();
    assert_eq!(paged, seqs);
}
