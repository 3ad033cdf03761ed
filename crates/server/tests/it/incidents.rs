//! Incident cases through the API (docs/incidents.md): an external user
//! reports a suspected leak; the security officer opens a case on the
//! engineer who received the copy, assesses it, gives stages owners, adds a
//! note and a task, traces the leaked copy into the case, contains (the
//! party suspended and its user's next request refused, the room frozen to
//! view-only), puts the case under legal hold (destruction and redaction of
//! its items refused), records the notification that stops the clock, sends
//! a message to a stakeholder, reads the timeline, exports an evidence
//! bundle that verifies on its own, and closes the case with its lessons
//! learned, after which it takes no change. Bad input is refused with a
//! stable code, each through one helper.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::util::*;

/// Posts `body` to `path` as `who`; asserts the status and the error code.
async fn refused(
    ctx: &Ctx,
    who: &str,
    method: &'static str,
    path: &str,
    body: Value,
    want: (u16, &str),
) {
    let r = ctx.call(who, method, path, body).await;
    assert_eq!(r.status.as_u16(), want.0, "{method} {path}: {}", r.text());
    assert_eq!(
        r.json()["error"]["code"],
        want.1,
        "{method} {path}: {}",
        r.text()
    );
}

/// Checks every entry of an evidence bundle against its signed checkpoint,
/// with nothing but the bundle; answers the decoded events.
fn verify_bundle(bundle: &Value) -> Vec<Value> {
    let verifier = ledger::Verifier::parse(bundle["verifier_key"].as_str().unwrap()).unwrap();
    let body = verifier
        .verify(bundle["checkpoint"].as_str().unwrap())
        .expect("the checkpoint's signature");
    let checkpoint = ledger::Checkpoint::parse(&body).unwrap();
    let mut events = Vec::new();
    for entry in bundle["entries"].as_array().unwrap() {
        let leaf = STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
        let proof: Vec<[u8; 32]> = entry["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                STANDARD
                    .decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        ledger::verify_inclusion(
            &ledger::leaf_hash(&leaf),
            entry["index"].as_u64().unwrap(),
            checkpoint.size,
            &proof,
            &checkpoint.root,
        )
        .expect("each entry's inclusion proof");
        events.push(entry["event"].clone());
    }
    events
}

/// A row of bad input: its label, the method, the path, the body, and the
/// status and code it must answer.
type BadRow = (
    &'static str,
    &'static str,
    String,
    Value,
    (u16, &'static str),
);

fn entries(case: &Value) -> Vec<Value> {
    case["entries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_runs_from_report_to_lessons_learned_sqlite() {
    scenario(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_runs_from_report_to_lessons_learned_postgres() {
    if let Some(url) = postgres().await {
        scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}

async fn scenario(ctx: &Ctx) {
    let admin = ctx.admin.clone();
    let officer = ctx.staff("security_officer").await;
    let member = ctx.staff("member").await;
    let party = ctx.party("Acme Tooling").await;
    let engineer = ctx.external(&party).await;
    let reporter_party = ctx.party("Honest Castings").await;
    let reporter = ctx.external(&reporter_party).await;
    let room = ctx.room(&admin, "Bracket tooling").await;
    ctx.grant(&admin, &room, "user", &engineer.id, "downloader", None)
        .await;
    let f = ctx
        .upload(&admin, &room, "bracket.pdf", &crate::marks::pdf(2))
        .await;
    let file = f["id"].as_str().unwrap().to_owned();
    let r = ctx
        .call(
            &engineer.token,
            "GET",
            &format!("/files/{file}/content"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let mark_id = r.header("custody-mark-id").unwrap().to_owned();
    let leaked = r.body.clone();

    // An outsider reports what they saw; the officers are told.
    let report = json!({"what": "Bracket drawings on a public forum",
        "details": "Page 2 of the bracket drawing was posted on a forum today.",
        "room_id": room});
    let receipt = ctx
        .must(&reporter.token, "POST", "/leak-reports", report, 201)
        .await;
    let listed = ctx
        .must(&officer.token, "GET", "/incidents", Value::Null, 200)
        .await;
    let reported = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == receipt["id"])
        .cloned()
        .expect("the report's case");
    assert_eq!(reported["source"], "report");
    assert_eq!(reported["source_ref"], reporter.id.as_str());
    assert_eq!(reported["room_id"], room.as_str());
    assert!(
        reported["summary"]
            .as_str()
            .unwrap()
            .contains(&reporter.email)
    );
    assert!(
        reported["notify_due_at"].is_string(),
        "the 72 h clock: {reported}"
    );
    let told = ctx
        .must(&officer.token, "GET", "/notifications", Value::Null, 200)
        .await;
    assert!(
        told.to_string()
            .contains("Bracket drawings on a public forum"),
        "{told}"
    );

    // The case on the engineer: about their party too.
    let opened = ctx
        .must(
            &officer.token,
            "POST",
            "/incidents",
            json!({"title": "Bracket drawing leaked", "summary": "Found on a forum.",
                "user_id": engineer.id, "room_id": room}),
            201,
        )
        .await;
    let id = opened["id"].as_str().unwrap().to_owned();
    let case = |tail: &str| format!("/incidents/{id}{tail}");
    assert_eq!(opened["party_id"], party.as_str());
    assert_eq!(opened["stage"], "identification");

    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/assessment"),
            json!({"severity": "high", "category": "leak"}),
            200,
        )
        .await;
    assert_eq!(
        (c["severity"].clone(), c["category"].clone()),
        (json!("high"), json!("leak"))
    );
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/stage"),
            json!({"stage": "response_team", "owner_id": officer.id}),
            200,
        )
        .await;
    assert_eq!(c["stage"], "response_team");
    assert_eq!(c["owners"][0]["email"], officer.email.as_str());
    ctx.must(
        &officer.token,
        "POST",
        &case("/entries"),
        json!({"kind": "note", "text": "The forum post is dated this morning."}),
        200,
    )
    .await;
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/entries"),
            json!({"kind": "task", "text": "Ask the forum to take the post down.",
                "assignee_id": member.id}),
            200,
        )
        .await;
    let task = entries(&c)
        .into_iter()
        .find(|e| e["kind"] == "task")
        .unwrap();
    assert_eq!(task["assignee"], member.email.as_str());
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case(&format!("/tasks/{}/done", task["id"].as_str().unwrap())),
            Value::Null,
            200,
        )
        .await;
    assert!(
        entries(&c)
            .iter()
            .any(|e| e["kind"] == "task" && e["done_at"].is_string())
    );

    // The leaked copy traced into the case: its digest, its mark, its recipient.
    let r = ctx
        .send(&Case {
            label: "trace into the case".into(),
            who: Some(officer.token.clone()),
            method: "POST",
            path: format!("{V1}{}", case("/traces")),
            body: Payload::Raw(Some("application/octet-stream"), leaked.clone()),
            ..Case::default()
        })
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let traced = entries(&r.json())
        .into_iter()
        .find(|e| e["kind"] == "trace")
        .unwrap();
    assert_eq!(traced["detail"]["mark_id"], mark_id.as_str());
    assert_eq!(traced["detail"]["sha256"], hex::encode(sha256(&leaked)));
    assert_eq!(
        traced["detail"]["recipients"][0]["email"],
        engineer.email.as_str()
    );

    // Containment: the party suspended, the engineer's next request refused;
    // the room frozen to view-only.
    ctx.must(&engineer.token, "GET", "/rooms", Value::Null, 200)
        .await;
    ctx.must(
        &officer.token,
        "POST",
        &case("/stage"),
        json!({"stage": "containment"}),
        200,
    )
    .await;
    ctx.must(
        &officer.token,
        "POST",
        &case("/containment"),
        json!({"action": "suspend_party"}),
        200,
    )
    .await;
    refused(
        ctx,
        &engineer.token,
        "GET",
        "/rooms",
        Value::Null,
        (401, "unauthenticated"),
    )
    .await;
    let again = ctx
        .login_totp(&engineer.email, engineer.totp.as_deref().unwrap())
        .await;
    let token = again["token"].as_str().unwrap().to_owned();
    let r = ctx.call(&token, "GET", "/rooms", Value::Null).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{}",
        r.text()
    );
    ctx.must(
        &officer.token,
        "POST",
        &case("/containment"),
        json!({"action": "freeze_room"}),
        200,
    )
    .await;
    let delivery = ctx
        .must(
            &admin,
            "GET",
            &format!("/rooms/{room}/delivery"),
            Value::Null,
            200,
        )
        .await;
    for role in ["downloader", "contributor", "manager"] {
        assert_eq!(delivery[role], "view_only", "{delivery}");
    }
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/containment"),
            json!({"action": "require_reverification"}),
            200,
        )
        .await;
    let contained: Vec<String> = entries(&c)
        .iter()
        .filter(|e| e["kind"] == "containment")
        .map(|e| e["detail"]["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        contained,
        ["suspend_party", "freeze_room", "require_reverification"]
    );

    // The legal hold: the room's destruction and the engineer's events' redaction refused.
    let c = ctx
        .must(&officer.token, "POST", &case("/hold"), Value::Null, 200)
        .await;
    assert_eq!(
        c["holds"].as_array().unwrap().len(),
        2,
        "party and room: {c}"
    );
    refused(
        ctx,
        &admin,
        "POST",
        &format!("/rooms/{room}/destructions"),
        json!({"reason": "the project ended"}),
        (409, "legal_hold"),
    )
    .await;
    let download = ctx
        .events()
        .await
        .into_iter()
        .find(|e| e["action"] == "file.download" && e["actor_user"] == engineer.id.as_str())
        .unwrap();
    refused(
        ctx,
        &admin,
        "POST",
        &format!("/events/{}/redact", download["seq"]),
        json!({"reason": "privacy request"}),
        (409, "legal_hold"),
    )
    .await;

    // The legal clock stops; a stakeholder is told.
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/notification"),
            json!({"to": "the customer's security team", "text": "A drawing leaked; contained."}),
            200,
        )
        .await;
    assert!(c["notified_at"].is_string());
    ctx.must(
        &officer.token,
        "POST",
        &case("/messages"),
        json!({"template": "containment", "to": [member.id], "text": "No action needed from you."}),
        200,
    )
    .await;
    let told = ctx
        .must(&member.token, "GET", "/notifications", Value::Null, 200)
        .await;
    assert!(
        told.to_string().contains("containment actions were taken"),
        "{told}"
    );

    // The timeline and the evidence bundle: the download, the trace, every decision.
    let timeline = ctx
        .must(&officer.token, "GET", &case("/timeline"), Value::Null, 200)
        .await;
    let actions: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for want in [
        "file.download",
        "incident.open",
        "incident.trace",
        "incident.contain",
        "incident.hold",
        "incident.notified",
    ] {
        assert!(
            actions.contains(&want),
            "the timeline lacks {want}: {actions:?}"
        );
    }
    let bundle = ctx
        .must(&officer.token, "GET", &case("/bundle"), Value::Null, 200)
        .await;
    let events = verify_bundle(&bundle);
    let in_bundle = |action: &str| events.iter().filter(|e| e["action"] == action).count();
    assert_eq!(in_bundle("incident.contain"), 3);
    assert_eq!(in_bundle("incident.trace"), 1);
    assert!(in_bundle("file.download") >= 1);
    let trace = events
        .iter()
        .find(|e| e["action"] == "incident.trace")
        .unwrap();
    assert_eq!(
        trace["actor_user"],
        officer.id.as_str(),
        "who decided: {trace}"
    );
    assert!(
        trace.to_string().contains(&hex::encode(sha256(&leaked))),
        "{trace}"
    );

    // Closed with its lessons learned; no change after.
    let c = ctx
        .must(
            &officer.token,
            "POST",
            &case("/close"),
            json!({"lessons": "Downloads of drawings become view-only for this tier."}),
            200,
        )
        .await;
    assert_eq!(c["stage"], "lessons_learned");
    assert!(c["closed_at"].is_string());
    refused(
        ctx,
        &officer.token,
        "POST",
        &case("/entries"),
        json!({"kind": "note", "text": "late"}),
        (409, "incident_closed"),
    )
    .await;
    refused(
        ctx,
        &officer.token,
        "POST",
        &case("/containment"),
        json!({"action": "suspend_user"}),
        (409, "incident_closed"),
    )
    .await;
}

/// Bad input: each refused with its stable code, and nobody but the owner's
/// security officers and admins runs a case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_incident_input_is_refused_with_a_stable_code() {
    let ctx = Ctx::new().await;
    let officer = ctx.staff("security_officer").await;
    let auditor = ctx.staff("auditor").await;
    let party = ctx.party("Acme").await;
    let outsider = ctx.external(&party).await;
    let bare = ctx
        .must(
            &officer.token,
            "POST",
            "/incidents",
            json!({"title": "Nobody named", "summary": "An anonymous tip."}),
            201,
        )
        .await;
    let id = bare["id"].as_str().unwrap().to_owned();
    let case = |tail: &str| format!("/incidents/{id}{tail}");
    let long = "x".repeat(201);
    let rows: Vec<BadRow> = vec![
        (
            "blank title",
            "POST",
            "/incidents".into(),
            json!({"title": " ", "summary": "s"}),
            (400, "bad_incident_text"),
        ),
        (
            "long title",
            "POST",
            "/incidents".into(),
            json!({"title": long, "summary": "s"}),
            (400, "bad_incident_text"),
        ),
        (
            "unknown source",
            "POST",
            "/incidents".into(),
            json!({"title": "t", "summary": "s", "source": "rumour"}),
            (400, "unknown_name"),
        ),
        (
            "unknown user",
            "POST",
            "/incidents".into(),
            json!({"title": "t", "summary": "s", "user_id": "00000000-0000-4000-8000-000000000001"}),
            (404, "not_found"),
        ),
        (
            "malformed room",
            "POST",
            "/incidents".into(),
            json!({"title": "t", "summary": "s", "room_id": "room-7"}),
            (400, "bad_filter"),
        ),
        (
            "unknown alert",
            "POST",
            "/incidents".into(),
            json!({"alert_id": "00000000-0000-4000-8000-000000000002"}),
            (404, "not_found"),
        ),
        (
            "unknown severity",
            "POST",
            case("/assessment"),
            json!({"severity": "apocalyptic", "category": "leak"}),
            (400, "unknown_name"),
        ),
        (
            "closing by stage",
            "POST",
            case("/stage"),
            json!({"stage": "lessons_learned"}),
            (400, "invalid_request"),
        ),
        (
            "external owner",
            "POST",
            case("/stage"),
            json!({"stage": "legal", "owner_id": outsider.id}),
            (400, "not_staff"),
        ),
        (
            "unknown entry kind",
            "POST",
            case("/entries"),
            json!({"kind": "rumour", "text": "t"}),
            (400, "unknown_name"),
        ),
        (
            "blank note",
            "POST",
            case("/entries"),
            json!({"kind": "note", "text": "  "}),
            (400, "bad_incident_text"),
        ),
        (
            "no party to suspend",
            "POST",
            case("/containment"),
            json!({"action": "suspend_party"}),
            (400, "incident_no_subject"),
        ),
        (
            "no room to freeze",
            "POST",
            case("/containment"),
            json!({"action": "freeze_room"}),
            (400, "incident_no_subject"),
        ),
        (
            "unknown containment",
            "POST",
            case("/containment"),
            json!({"action": "nuke"}),
            (400, "unknown_name"),
        ),
        (
            "nothing to hold",
            "POST",
            case("/hold"),
            Value::Null,
            (400, "incident_no_subject"),
        ),
        (
            "external recipient",
            "POST",
            case("/messages"),
            json!({"template": "status_update", "to": [outsider.id]}),
            (400, "not_staff"),
        ),
        (
            "no recipient",
            "POST",
            case("/messages"),
            json!({"template": "status_update", "to": []}),
            (400, "not_staff"),
        ),
        (
            "unknown template",
            "POST",
            case("/messages"),
            json!({"template": "gossip", "to": [officer.id]}),
            (400, "unknown_name"),
        ),
        (
            "blank lessons",
            "POST",
            case("/close"),
            json!({"lessons": ""}),
            (400, "bad_incident_text"),
        ),
        (
            "a year and more",
            "PUT",
            "/incident-settings".into(),
            json!({"notify_hours": 8761}),
            (400, "bad_notify_hours"),
        ),
        (
            "no hours",
            "PUT",
            "/incident-settings".into(),
            json!({"notify_hours": 0}),
            (400, "bad_notify_hours"),
        ),
        (
            "unknown field",
            "POST",
            case("/close"),
            json!({"lessons": "l", "mood": "tired"}),
            (400, "invalid_request"),
        ),
    ];
    for (label, method, path, body, want) in rows {
        let r = ctx.call(&officer.token, method, &path, body).await;
        assert_eq!(
            (
                r.status.as_u16(),
                r.json()["error"]["code"].as_str().unwrap_or("").to_owned()
            ),
            (want.0, want.1.to_owned()),
            "{label}: {}",
            r.text()
        );
    }
    // Nobody else runs or reads a case; an auditor and an outsider may report.
    for who in [&auditor.token, &outsider.token] {
        refused(&ctx, who, "GET", &case(""), Value::Null, (403, "forbidden")).await;
        refused(
            &ctx,
            who,
            "POST",
            &case("/entries"),
            json!({"kind": "note", "text": "n"}),
            (403, "forbidden"),
        )
        .await;
        ctx.must(
            who,
            "POST",
            "/leak-reports",
            json!({"what": "w", "details": "d"}),
            201,
        )
        .await;
    }
    // No clock: cases opened later have none.
    ctx.must(
        &officer.token,
        "PUT",
        "/incident-settings",
        json!({"notify_hours": null}),
        200,
    )
    .await;
    let later = ctx
        .must(
            &officer.token,
            "POST",
            "/incidents",
            json!({"title": "t", "summary": "s"}),
            201,
        )
        .await;
    assert!(later["notify_due_at"].is_null(), "{later}");
    let settings = ctx
        .must(
            &officer.token,
            "GET",
            "/incident-settings",
            Value::Null,
            200,
        )
        .await;
    assert!(settings["notify_hours"].is_null());
}
