//! Access-review campaigns through the API, on SQLite and PostgreSQL: a
//! campaign of every external grant opens at once with each grant's
//! reviewers (room managers and the party's sponsor, never the subject);
//! reviewers confirm and revoke with a justification, others are refused;
//! two days before the due date the reviewers with grants undecided are
//! reminded; at the due date (test clock) the revoked and unreviewed grants
//! end and the confirmed one stays; decisions are then refused; the next
//! campaign of a recurring one is scheduled and opens on its day; the report
//! exports as CSV and as an evidence bundle of the campaign's events.

use serde_json::{Value, json};

use crate::util::{ADMIN_EMAIL, Backend, Ctx, postgres, rfc3339};

const DAY: i64 = 86_400_000;

async fn sweep(ctx: &Ctx) -> usize {
    app::Reviews(&ctx.app).sweep().await.unwrap()
}

/// The item of `grant` in a report.
fn item<'a>(report: &'a Value, grant: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["grant"] == grant)
        .unwrap_or_else(|| panic!("grant {grant} not in {report}"))
}

async fn scenario(ctx: &Ctx) {
    let admin = &ctx.admin;
    let party = ctx.party("Bladeworks").await;
    let e1 = ctx.external(&party).await;
    let e2 = ctx.external(&party).await;
    let sponsor = ctx.staff("member").await;
    let manager = ctx.staff("member").await;
    let bystander = ctx.staff("member").await;
    let path = format!("/parties/{party}/sponsor");
    ctx.must(admin, "PUT", &path, json!({"user_id": sponsor.id}), 200)
        .await;
    let blades = ctx.room(admin, "Blades").await;
    let rotors = ctx.room(admin, "Rotors").await;
    ctx.grant(admin, &blades, "user", &manager.id, "manager", None)
        .await;
    ctx.grant(admin, &blades, "user", &bystander.id, "viewer", None)
        .await;
    let g1 = ctx
        .grant(admin, &blades, "user", &e1.id, "downloader", None)
        .await;
    let g2 = ctx
        .grant(admin, &blades, "user", &e2.id, "viewer", None)
        .await;
    let gp = ctx
        .grant(admin, &rotors, "party", &party, "viewer", None)
        .await;
    let file = ctx.upload(admin, &blades, "b7.txt", b"bracket B7").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = ctx
        .call(
            &e1.token,
            "GET",
            &format!("/files/{file}/content"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());

    // Bad campaigns are refused with their code.
    let due = rfc3339(ctx.now() + 7 * DAY);
    for (body, code) in [
        (
            json!({"name": "", "scope": "external", "fallback": manager.id, "due_at": due}),
            "invalid_campaign",
        ),
        (
            json!({"name": "x", "scope": "party", "fallback": manager.id, "due_at": due}),
            "invalid_campaign",
        ),
        (
            json!({"name": "x", "scope": "external", "fallback": e1.id, "due_at": due}),
            "invalid_campaign",
        ),
        (
            json!({"name": "x", "scope": "external", "fallback": manager.id, "due_at": rfc3339(ctx.now() - DAY)}),
            "invalid_campaign",
        ),
        (
            json!({"name": "x", "scope": "external", "fallback": manager.id, "due_at": due, "every_days": 3}),
            "invalid_campaign",
        ),
        (
            json!({"name": "x", "scope": "everything", "fallback": manager.id, "due_at": due}),
            "unknown_name",
        ),
        (
            json!({"name": "x", "scope": "external", "fallback": manager.id, "due_at": "soon"}),
            "invalid_time",
        ),
    ] {
        let r = ctx.call(admin, "POST", "/reviews", body.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{body}");
    }

    let body = json!({"name": "Q4 external access", "scope": "external", "fallback": manager.id,
        "due_at": due, "unreviewed": "remove", "every_days": 91});
    let made = ctx.must(admin, "POST", "/reviews", body, 201).await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["status"], "open", "{made}");
    assert_eq!(made["grants"], 3, "the three external grants: {made}");

    let report = ctx
        .must(admin, "GET", &format!("/reviews/{id}"), Value::Null, 200)
        .await;
    let reviewers = |g: &str| -> Vec<String> {
        let mut v: Vec<String> = item(&report, g)["reviewers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let admin_id = ctx.must(admin, "GET", "/auth/me", Value::Null, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut want = vec![admin_id.clone(), manager.id.clone(), sponsor.id.clone()];
    want.sort();
    assert_eq!(reviewers(&g1), want, "the room's managers and the sponsor");
    let mut want = vec![admin_id.clone(), sponsor.id.clone()];
    want.sort();
    assert_eq!(reviewers(&gp), want);
    let i1 = item(&report, &g1);
    assert!(
        i1["last_access"].is_string(),
        "e1 downloaded the drawing: {i1}"
    );
    assert_eq!(i1["downloads"], 1, "{i1}");
    assert_eq!(
        item(&report, &g2)["last_access"],
        Value::Null,
        "e2 never came"
    );

    // Reviewers see what they review; others are refused.
    let mine = ctx
        .must(&manager.token, "GET", "/reviews/assigned", Value::Null, 200)
        .await;
    assert_eq!(mine["items"][0]["pending_for_caller"], 2, "{mine}");
    let path = format!("/reviews/{id}/mine");
    let view = ctx
        .must(&manager.token, "GET", &path, Value::Null, 200)
        .await;
    assert_eq!(
        view["items"].as_array().unwrap().len(),
        2,
        "blades only: {view}"
    );
    let r = ctx.call(&bystander.token, "GET", &path, Value::Null).await;
    assert_eq!(r.status.as_u16(), 404, "reviews nothing: {}", r.text());
    let r = ctx.call(&e1.token, "GET", &path, Value::Null).await;
    assert_eq!(
        r.status.as_u16(),
        403,
        "an external user never reviews: {}",
        r.text()
    );

    let decide = format!("/reviews/{id}/decisions");
    for (who, body, status, code) in [
        (
            &bystander.token,
            json!({"grants": [g1], "decision": "revoke", "justification": "no"}),
            403,
            "not_reviewer",
        ),
        (
            &manager.token,
            json!({"grants": [gp], "decision": "revoke", "justification": "no"}),
            403,
            "not_reviewer",
        ),
        (
            &manager.token,
            json!({"grants": [g1], "decision": "confirm", "justification": " "}),
            400,
            "bad_justification_text",
        ),
        (
            &manager.token,
            json!({"grants": [made["id"]], "decision": "confirm", "justification": "x"}),
            400,
            "not_under_review",
        ),
        (
            &manager.token,
            json!({"grants": [g1], "decision": "maybe", "justification": "x"}),
            400,
            "unknown_name",
        ),
    ] {
        let r = ctx.call(who, "POST", &decide, body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{body}");
    }
    // All or none: one grant the caller does not review refuses the lot.
    let r = ctx
        .call(
            &manager.token,
            "POST",
            &decide,
            json!({"grants": [g1, gp], "decision": "revoke", "justification": "x"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    let one = json!({"grants": [g1], "decision": "revoke", "justification": "first thought"});
    ctx.must(&manager.token, "POST", &decide, one, 200).await;
    let again = json!({"grants": [g1], "decision": "confirm", "justification": "still on the B7 work package"});
    ctx.must(&manager.token, "POST", &decide, again, 200).await;
    let party_off = json!({"grants": [gp], "decision": "revoke", "justification": "rotor work ended in October"});
    ctx.must(&sponsor.token, "POST", &decide, party_off, 200)
        .await;

    // Two days before the due date: the reviewers of e2's grant are reminded.
    assert_eq!(sweep(ctx).await, 0, "nothing due yet");
    ctx.advance(5 * DAY + 1);
    assert_eq!(sweep(ctx).await, 1, "the reminder");
    assert_eq!(sweep(ctx).await, 0, "once");
    let notes = ctx
        .must(&manager.token, "GET", "/notifications", Value::Null, 200)
        .await;
    let kinds: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"review.remind") && kinds.contains(&"review.open"),
        "{kinds:?}"
    );

    // The due date: revoked and unreviewed grants end, the confirmed stays.
    ctx.advance(2 * DAY);
    assert_eq!(sweep(ctx).await, 1, "applied");
    let report = ctx
        .must(admin, "GET", &format!("/reviews/{id}"), Value::Null, 200)
        .await;
    assert_eq!(report["campaign"]["status"], "applied");
    for (g, outcome, decision) in [
        (&g1, "kept", "confirm"),
        (&g2, "ended", ""),
        (&gp, "ended", "revoke"),
    ] {
        let i = item(&report, g);
        assert_eq!(i["outcome"], outcome, "{i}");
        assert_eq!(i["decision"].as_str().unwrap_or(""), decision, "{i}");
    }
    let grants = ctx
        .must(
            admin,
            "GET",
            &format!("/rooms/{blades}/grants"),
            Value::Null,
            200,
        )
        .await;
    let live: Vec<&str> = grants["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert!(
        live.contains(&g1.as_str()) && !live.contains(&g2.as_str()),
        "{live:?}"
    );
    let r = ctx
        .call(
            &e2.token,
            "GET",
            &format!("/rooms/{blades}/files"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "e2's access ended: {}", r.text());
    let r = ctx
        .call(
            &e1.token,
            "GET",
            &format!("/rooms/{blades}/files"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "e1's stays: {}", r.text());
    let late = json!({"grants": [g1], "decision": "revoke", "justification": "too late"});
    let r = ctx.call(&manager.token, "POST", &decide, late).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "review_closed");

    // The report as CSV.
    let r = ctx
        .call(
            admin,
            "GET",
            &format!("/reviews/{id}/report.csv"),
            Value::Null,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(
        r.header("content-type")
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(r.body.clone()).unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and three grants: {csv}");
    assert!(
        csv.contains("still on the B7 work package") && csv.contains("rotor work ended in October"),
        "{csv}"
    );
    assert!(csv.contains(",kept,") && csv.contains(",ended,"), "{csv}");

    // The evidence bundle: every event of the campaign with its proof.
    let bundle = ctx
        .must(
            admin,
            "GET",
            &format!("/reviews/{id}/bundle"),
            Value::Null,
            200,
        )
        .await;
    let entries = bundle["entries"].as_array().unwrap();
    let mut actions: Vec<String> = entries
        .iter()
        .map(|e| e["event"]["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "review.apply",
            "review.create",
            "review.decide",
            "review.decide",
            "review.decide",
            "review.open",
            "review.outcome",
            "review.outcome",
            "review.outcome",
            "review.remind"
        ],
        "{bundle}"
    );
    assert!(
        entries.iter().all(|e| e["proof"].is_array()),
        "each with its proof"
    );

    // The next one is scheduled 91 days on, and opens on its day with the
    // grants then live.
    let all = ctx.must(admin, "GET", "/reviews", Value::Null, 200).await;
    let next = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "scheduled")
        .expect("the next campaign")
        .clone();
    assert_eq!(next["name"], "Q4 external access");
    ctx.advance(91 * DAY);
    assert!(sweep(ctx).await >= 1);
    // The admin's token ran out meanwhile.
    let login = ctx.login_totp(ADMIN_EMAIL, &ctx.admin_totp).await;
    let admin = login["token"].as_str().unwrap();
    let path = format!("/reviews/{}", next["id"].as_str().unwrap());
    let next = ctx.must(admin, "GET", &path, Value::Null, 200).await;
    assert_eq!(next["campaign"]["status"], "open");
    assert_eq!(
        next["items"].as_array().unwrap().len(),
        1,
        "e1's grant only: {next}"
    );
}

#[tokio::test]
async fn a_campaign_is_reviewed_and_applies_itself_at_its_due_date_sqlite() {
    scenario(&Ctx::new().await).await;
}

#[tokio::test]
async fn a_campaign_is_reviewed_and_applies_itself_at_its_due_date_postgres() {
    if let Some(url) = postgres().await {
        scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}
