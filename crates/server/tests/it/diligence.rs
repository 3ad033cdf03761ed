//! Due diligence end to end through the API: a new party is `prospective`
//! (its user may answer the questionnaire and upload evidence to its evidence
//! room, nothing else), cannot be activated before sign-off; the admin writes
//! a questionnaire (a second version leaves the first untouched), sends it; the
//! contact uploads evidence (DLP-inspected like any upload) and answers, a
//! knock-out makes the tier `high`; a reviewer asks a follow-up, the contact
//! remediates, the reviewer signs off `medium`… and the sharing risk matrix
//! decides a `restricted` room at each step: view-only for `high`, marked
//! copies for `medium`, refused once the tier lapses — at the next request
//! after `tier_until_ms`, without any sweep. On SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;

/// The scenario moves the clock by months: API tokens outlive it.
fn long_tokens(s: &mut app::Settings) {
    s.api_token_ttl_ms = 400 * DAY;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diligence_scenario_sqlite() {
    diligence_scenario(&Ctx::with(Backend::Sqlite, long_tokens).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diligence_scenario_postgres() {
    if let Some(url) = postgres().await {
        diligence_scenario(&Ctx::with(Backend::Postgres(url), long_tokens).await).await;
    }
}

/// A questionnaire of three questions: encryption at rest (`no` knocks out to
/// at least `high`), the ISO status, and the security policy as evidence.
fn questionnaire(encrypt_points: i64) -> Value {
    json!({
        "name": "supplier-security",
        "title": "Supplier security",
        "body": {
            "sections": [{"title": "Security", "questions": [
                {"key": "encrypts", "text": "Do you encrypt data at rest?", "kind": "yes_no",
                 "required": true, "score": {"rule": "yes_no", "yes": encrypt_points, "no": 0},
                 "knock_out": {"answers": ["no"], "min_tier": "high"}},
                {"key": "iso", "text": "ISO/IEC 27001?", "kind": "choice",
                 "choices": ["certified", "in progress", "no"],
                 "score": {"rule": "choices", "points": [40, 10, 0]}},
                {"key": "policy", "text": "Your security policy", "kind": "file",
                 "score": {"rule": "answered", "points": 20}},
            ]}],
            "thresholds": {"low": 90, "medium": 60, "high": 20},
        },
    })
}

/// The status and, for a refusal, the error code and whether the message
/// contains `piece`.
async fn expect(
    ctx: &Ctx,
    who: &str,
    method: &'static str,
    path: &str,
    want: (u16, &str),
) -> Value {
    let r = ctx.call(who, method, path, Value::Null).await;
    let body = r.json();
    let got = (
        r.status.as_u16(),
        body["error"]["message"].as_str().unwrap_or_default(),
    );
    assert!(
        got.0 == want.0 && got.1.contains(want.1),
        "{method} {path}: got {} {}, want {} …{}…",
        got.0,
        r.text(),
        want.0,
        want.1
    );
    body
}

async fn diligence_scenario(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let officer = ctx.staff("security_officer").await;
    let party = ctx.prospective_party("Blade Works").await;
    let p = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/parties/{party}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(p["status"], "prospective");
    let contact = ctx.external(&party).await;

    // A restricted room the contact may download from, with a file in it.
    let room = ctx.room(&curator.token, "Turbine blades").await;
    ctx.must(
        &curator.token,
        "PATCH",
        &format!("/rooms/{room}"),
        json!({"classification": "restricted"}),
        200,
    )
    .await;
    let file = ctx
        .upload(&curator.token, &room, "blade.txt", b"blade drawing notes")
        .await;
    let file = file["id"].as_str().unwrap().to_owned();
    ctx.grant(
        &curator.token,
        &room,
        "user",
        &contact.id,
        "downloader",
        None,
    )
    .await;
    let training = json!({"valid_until": rfc3339(ctx.now() + 700 * DAY)});
    let path = format!("/users/{}/training", contact.id);
    ctx.must(&ctx.admin, "PUT", &path, training, 200).await;
    let cert = json!({"name": "ISO/IEC 27001", "valid_until": rfc3339(ctx.now() + 700 * DAY)});
    let path = format!("/parties/{party}/certification");
    ctx.must(&ctx.admin, "PUT", &path, cert, 200).await;

    // Prospective: the grant does not take effect; nothing but onboarding.
    let rooms = format!("/rooms/{room}/files");
    expect(ctx, &contact.token, "GET", &rooms, (403, "prospective")).await;
    expect(ctx, &contact.token, "GET", "/rooms", (403, "prospective")).await;
    let mine = expect(ctx, &contact.token, "GET", "/assessments/mine", (200, "")).await;
    assert_eq!(mine["items"], json!([]));
    // Not activated before its due diligence is signed off.
    let activate = format!("/parties/{party}/activate");
    let r = ctx.call(&ctx.admin, "POST", &activate, Value::Null).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "party_not_assessed");
    // Nor by a change of status.
    let r = ctx
        .call(
            &ctx.admin,
            "PATCH",
            &format!("/parties/{party}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "activation_required",
        "{}",
        r.text()
    );

    // Templates are versioned: a second version leaves the first as it was.
    let v1 = ctx
        .must(
            &ctx.admin,
            "POST",
            "/questionnaires",
            questionnaire(40),
            201,
        )
        .await;
    let v2 = ctx
        .must(
            &ctx.admin,
            "POST",
            "/questionnaires",
            questionnaire(10),
            201,
        )
        .await;
    assert_eq!(
        (v1["version"].as_i64(), v2["version"].as_i64()),
        (Some(1), Some(2))
    );
    let bad = json!({"name": "x", "title": "X", "body": {"sections": [], "thresholds": {"low": 1, "medium": 1, "high": 1}}});
    let r = ctx.call(&ctx.admin, "POST", "/questionnaires", bad).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_questionnaire",
        "{}",
        r.text()
    );
    let r = ctx
        .call(&officer.token, "POST", "/questionnaires", questionnaire(1))
        .await;
    assert_eq!(r.status.as_u16(), 403, "only admins write templates");

    // Sent (version 1) to the contact: the evidence room is made.
    let send = json!({"questionnaire_id": v1["id"], "contact_id": contact.id});
    let sent = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/parties/{party}/assessments"),
            send,
            201,
        )
        .await;
    let id = sent["assessment"]["id"].as_str().unwrap().to_owned();
    let mine = expect(ctx, &contact.token, "GET", "/assessments/mine", (200, "")).await;
    assert_eq!(mine["items"][0]["assessment"]["id"], id.as_str());
    let notes = ctx
        .must(&contact.token, "GET", "/notifications", Value::Null, 200)
        .await;
    assert!(notes.to_string().contains("Supplier security"), "{notes}");
    let listed = ctx
        .must(&contact.token, "GET", "/rooms", Value::Null, 403)
        .await;
    assert_eq!(listed["error"]["code"], "forbidden");
    let evidence = ctx
        .events()
        .await
        .into_iter()
        .find(|e| e["action"] == "assessment.send")
        .map(|e| {
            e["detail"]["evidence_room"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap();
    // The contact uploads the evidence into it (the normal upload: DLP runs).
    let uploaded = ctx
        .upload(
            &contact.token,
            &evidence,
            "policy.txt",
            b"we encrypt nothing yet",
        )
        .await;
    let evidence_file = uploaded["id"].as_str().unwrap().to_owned();
    // …but may not reach anything else of the room's kind.
    expect(ctx, &contact.token, "GET", &rooms, (403, "prospective")).await;

    // Answers: a draft, a refused answer, then the submission.
    let answers = format!("/assessments/{id}/answers");
    let draft = json!({"answers": {"iso": "certified"}});
    ctx.must(&contact.token, "PUT", &answers, draft, 200).await;
    let wrong = json!({"answers": {"iso": "soon"}});
    let r = ctx.call(&contact.token, "PUT", &answers, wrong).await;
    assert_eq!(r.json()["error"]["code"], "invalid_answer", "{}", r.text());
    let early = json!({"answers": {}, "submit": true});
    let r = ctx.call(&contact.token, "PUT", &answers, early).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_answer",
        "required `encrypts`"
    );
    let full = json!({"answers": {"encrypts": "no", "policy": evidence_file}, "submit": true});
    let done = ctx.must(&contact.token, "PUT", &answers, full, 200).await;
    // 40 + 20 = 60 is medium by score; the knock-out makes it high.
    assert_eq!(
        (done["score"].as_i64(), done["computed_tier"].as_str()),
        (Some(60), Some("high"))
    );
    // A new template version changes nothing of the recorded answers.
    ctx.must(
        &ctx.admin,
        "POST",
        "/questionnaires",
        questionnaire(99),
        201,
    )
    .await;
    let reviewed = format!("/parties/{party}/assessments");
    let seen = ctx
        .must(&officer.token, "GET", &reviewed, Value::Null, 200)
        .await;
    assert_eq!(seen["items"][0]["questionnaire"]["version"], 1);
    assert_eq!(seen["items"][0]["scored"]["tier"], "high");
    // The contact may not review its own party's assessments.
    let r = ctx
        .call(&contact.token, "GET", &reviewed, Value::Null)
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());

    // Signed off high: in term for 90 days; the party is activated.
    let decide = format!("/parties/{party}/assessments/{id}/decision");
    let no_reason = json!({"tier": "high", "reasons": " "});
    let r = ctx.call(&officer.token, "POST", &decide, no_reason).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_decision",
        "{}",
        r.text()
    );
    // A follow-up first: the sign-off waits for the reply.
    let ask = json!({"key": "encrypts", "question": "When will you encrypt at rest?"});
    let follow = format!("/parties/{party}/assessments/{id}/follow-ups");
    ctx.must(&officer.token, "POST", &follow, ask, 200).await;
    let high = json!({"tier": "high", "reasons": "no encryption at rest"});
    let r = ctx
        .call(&officer.token, "POST", &decide, high.clone())
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "assessment_state",
        "{}",
        r.text()
    );
    let reply = json!({"index": 0, "reply": "Next quarter."});
    ctx.must(
        &contact.token,
        "POST",
        &format!("/assessments/{id}/replies"),
        reply,
        200,
    )
    .await;
    ctx.must(&officer.token, "POST", &decide, high, 200).await;
    let p = ctx
        .must(&ctx.admin, "POST", &activate, Value::Null, 200)
        .await;
    assert_eq!(
        (p["status"].as_str(), p["tier"].as_str()),
        (Some("active"), Some("high"))
    );

    // High × restricted: view-only. Listing and the viewer open, download refused.
    expect(ctx, &contact.token, "GET", &rooms, (200, "")).await;
    let content = format!("/files/{file}/content");
    expect(
        ctx,
        &contact.token,
        "GET",
        &content,
        (
            403,
            "the party's risk tier `high` allows `restricted` rooms only view-only",
        ),
    )
    .await;
    expect(
        ctx,
        &contact.token,
        "GET",
        &format!("/files/{file}/pages"),
        (200, ""),
    )
    .await;

    // A second assessment: the remediation makes it medium; downloads are marked.
    let send = json!({"questionnaire_id": v1["id"], "contact_id": contact.id});
    let sent = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/parties/{party}/assessments"),
            send,
            201,
        )
        .await;
    let id2 = sent["assessment"]["id"].as_str().unwrap().to_owned();
    let full = json!({"answers": {"encrypts": "no", "iso": "in progress", "policy": evidence_file}, "submit": true});
    ctx.must(
        &contact.token,
        "PUT",
        &format!("/assessments/{id2}/answers"),
        full,
        200,
    )
    .await;
    let follow = format!("/parties/{party}/assessments/{id2}/follow-ups");
    let ask = json!({"key": "encrypts", "question": "Anything new?"});
    ctx.must(&officer.token, "POST", &follow, ask, 200).await;
    let reply = json!({"index": 0, "reply": "Done: AES-256 everywhere.", "remediation": "yes"});
    let after = ctx
        .must(
            &contact.token,
            "POST",
            &format!("/assessments/{id2}/replies"),
            reply,
            200,
        )
        .await;
    assert_eq!(after["computed_tier"], "medium", "{after}");
    assert_eq!(after["follow_ups"][0]["replaced"], "no", "{after}");
    let medium = json!({"tier": "medium", "reasons": "encryption remediated"});
    let decide = format!("/parties/{party}/assessments/{id2}/decision");
    ctx.must(&officer.token, "POST", &decide, medium, 200).await;
    let r = ctx.call(&contact.token, "GET", &content, Value::Null).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert_ne!(
        r.body, b"blade drawing notes",
        "a marked copy, not the original"
    );

    // Reminders of the re-assessment 30 and 7 days before the tier lapses,
    // each recorded once, to the contact and the owner's admins; then the
    // lapse itself: refused at the next request, before any sweep.
    let sweep = || async { app::Agreements(&ctx.app).sweep_expiries().await.unwrap() };
    let (target, token) = (format!("party:{party}"), contact.token.clone());
    let told = |action: &'static str| {
        let (target, token) = (target.clone(), token.clone());
        async move {
            let events = ctx
                .events()
                .await
                .iter()
                .filter(|e| e["action"] == action && e["target"] == target.as_str())
                .count();
            let mine = ctx
                .must(&token, "GET", "/notifications", Value::Null, 200)
                .await;
            let notes = mine["items"]
                .as_array()
                .map(|items| items.iter().filter(|n| n["kind"] == action).count())
                .unwrap_or_default();
            (events, notes)
        }
    };
    ctx.advance(140 * DAY);
    sweep().await;
    assert_eq!(told("party.tier_reminder").await, (0, 0), "50 days ahead");
    ctx.advance(11 * DAY);
    sweep().await;
    sweep().await;
    assert_eq!(told("party.tier_reminder").await, (1, 1), "29 days ahead");
    ctx.advance(25 * DAY);
    sweep().await;
    assert_eq!(told("party.tier_reminder").await, (2, 2), "4 days ahead");
    assert_eq!(told("party.tier_lapse").await, (0, 0));
    ctx.advance(4 * DAY);
    expect(
        ctx,
        &contact.token,
        "GET",
        &rooms,
        (
            403,
            "the party's risk tier `unassessed` does not allow `restricted` rooms",
        ),
    )
    .await;
    let denial = ctx
        .events()
        .await
        .into_iter()
        .rev()
        .find(|e| e["action"] == "file.list" && e["outcome"] == "denied")
        .unwrap();
    assert_eq!(denial["reason"], "risk_tier_refused", "{denial}");
    sweep().await;
    sweep().await;
    assert_eq!(told("party.tier_lapse").await, (1, 1), "lapsed");

    // Every step is an event.
    let actions: Vec<String> = ctx
        .events()
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for want in [
        "questionnaire.update",
        "assessment.send",
        "assessment.save",
        "assessment.submit",
        "assessment.follow_up",
        "assessment.reply",
        "assessment.decide",
        "party.activate",
        "party.tier_reminder",
        "party.tier_lapse",
    ] {
        assert!(actions.iter().any(|a| a == want), "no `{want}` event");
    }
}

/// The matrix editor: refused when incomplete, in force at once when saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_risk_matrix_is_validated_and_in_force_at_once() {
    let ctx = Ctx::new().await;
    let risk = ctx.must(&ctx.admin, "GET", "/risk", Value::Null, 200).await;
    assert_eq!(risk["periods"]["high"], 90);
    let mut broken = risk.clone();
    broken["matrix"]["cells"].as_array_mut().unwrap().pop();
    let r = ctx.call(&ctx.admin, "PUT", "/risk", broken).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_risk_settings",
        "{}",
        r.text()
    );
    // Internal × unassessed refused: an unassessed party's user loses the room.
    let party = ctx.party("Gear Supplier").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&ctx.admin, "Gears").await;
    ctx.grant(&ctx.admin, &room, "user", &engineer.id, "viewer", None)
        .await;
    let files = format!("/rooms/{room}/files");
    ctx.must(&engineer.token, "GET", &files, Value::Null, 200)
        .await;
    let mut strict = risk.clone();
    for cell in strict["matrix"]["cells"].as_array_mut().unwrap() {
        if cell["classification"] == "internal" && cell["tier"] == "unassessed" {
            cell["verdict"] = json!("refused");
        }
    }
    ctx.must(&ctx.admin, "PUT", "/risk", strict, 200).await;
    let r = ctx.call(&engineer.token, "GET", &files, Value::Null).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    // The owner's staff are not assessed.
    let staff = ctx.staff("member").await;
    ctx.grant(&ctx.admin, &room, "user", &staff.id, "viewer", None)
        .await;
    ctx.must(&staff.token, "GET", &files, Value::Null, 200)
        .await;
}
