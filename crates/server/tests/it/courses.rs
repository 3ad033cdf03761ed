//! Training courses end to end through the API with the clock moved: an
//! admin publishes a course with a quiz and requires it for `confidential`;
//! an external engineer is refused the room naming the course, fails the
//! quiz once (never told the correct answers), passes, and reaches the room;
//! reminders 30 and 7 days before the completion's end go to the engineer and
//! the party's sponsor, once each; at the next request after the end the room
//! is refused naming the day (before any sweep), and the sweep records the
//! end once; a course completed elsewhere, recorded with evidence, counts; a
//! version requiring retaking makes older completions stop counting; attempts
//! per hour are bounded; bad input is refused with stable codes. On SQLite,
//! and on PostgreSQL when one is reachable.

use serde_json::{Value, json};

use crate::certifications::{counted, expect, long_tokens};
use crate::util::*;

const DAY: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_scenario_sqlite() {
    course_scenario(&Ctx::with(Backend::Sqlite, long_tokens).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_scenario_postgres() {
    if let Some(url) = postgres().await {
        course_scenario(&Ctx::with(Backend::Postgres(url), long_tokens).await).await;
    }
}

/// A course as an admin writes it: two questions, all must be right.
fn course(title: &str, retake: bool) -> Value {
    json!({
        "title": title,
        "pages": [
            {"title": "Why", "body": "Drawings are **confidential**.\n\n<script>alert(1)</script>"},
            {"title": "How", "body": "- share them in Custody only\n- [report](mailto:security@example.com) a leak"}
        ],
        "questions": [
            {"text": "May drawings go by e-mail?", "choices": ["Yes", "No"], "correct": [1]},
            {"text": "Which channels are allowed?", "choices": ["Custody", "USB stick", "The viewer"],
             "multiple": true, "correct": [0, 2]}
        ],
        "pass_percent": 100,
        "validity_days": 60,
        "requires_retake": retake
    })
}

/// Answers the course's quiz as `who`: the response.
async fn answer(ctx: &Ctx, who: &str, id: &str, version: i64, answers: Value) -> Resp {
    let body = json!({"version": version, "answers": answers});
    ctx.call(who, "POST", &format!("/courses/{id}/attempts"), body)
        .await
}

async fn course_scenario(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let officer = ctx.staff("security_officer").await;
    let party = ctx.party("Drawing Office").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Drawings").await;
    let path = format!("/rooms/{room}");
    let confidential = json!({"classification": "confidential"});
    ctx.must(&curator.token, "PATCH", &path, confidential, 200)
        .await;
    ctx.grant(
        &curator.token,
        &room,
        "user",
        &engineer.id,
        "downloader",
        None,
    )
    .await;
    let training = json!({"valid_until": rfc3339(ctx.now() + 365 * DAY)});
    let t = format!("/users/{}/training", engineer.id);
    ctx.must(&ctx.admin, "PUT", &t, training, 200).await;
    // Certificates are not what this test is about.
    let none = json!({"certifications": []});
    ctx.must(
        &ctx.admin,
        "PUT",
        "/classifications/confidential",
        none,
        200,
    )
    .await;
    let sponsor = json!({"user_id": curator.id});
    let sp = format!("/parties/{party}/sponsor");
    ctx.must(&ctx.admin, "PUT", &sp, sponsor, 200).await;
    let e = engineer.token.as_str();
    expect(ctx, "no course required", e, &room, "ok").await;

    // An admin publishes a course; neither the engineer nor a curator may.
    ctx.must(
        e,
        "POST",
        "/courses",
        course("Handling drawings", false),
        403,
    )
    .await;
    ctx.must(
        &curator.token,
        "POST",
        "/courses",
        course("Handling drawings", false),
        403,
    )
    .await;
    let v1 = ctx
        .must(
            &ctx.admin,
            "POST",
            "/courses",
            course("Handling drawings", false),
            201,
        )
        .await;
    assert_eq!(v1["version"], 1);
    let id = v1["course_id"].as_str().unwrap_or_default().to_owned();
    ctx.must(e, "GET", "/courses", Value::Null, 403).await;
    ctx.must(e, "GET", &format!("/courses/{id}"), Value::Null, 403)
        .await;

    // Required for `confidential`: the room is refused naming the course.
    let req = json!({"courses": [id]});
    let classes = ctx
        .must(
            &ctx.admin,
            "PUT",
            "/classifications/confidential/courses",
            req,
            200,
        )
        .await;
    assert_eq!(classes["courses"], json!([id]));
    let listed = ctx
        .must(&ctx.admin, "GET", "/classifications", Value::Null, 200)
        .await;
    assert!(
        listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["classification"] == "confidential" && c["courses"] == json!([id])),
        "{listed}"
    );
    let required = "course_required|rooms classified `confidential` require the course “Handling drawings”; you have not passed it";
    expect(ctx, "not passed", e, &room, required).await;
    // The owner's staff need none.
    expect(ctx, "owner staff", &curator.token, &room, "ok").await;

    // The engineer sees it due, reads it without the correct answers.
    let mine = ctx.must(e, "GET", "/courses/mine", Value::Null, 200).await;
    assert_eq!(mine["items"][0]["status"], "due", "{mine}");
    assert_eq!(mine["items"][0]["required"], true, "{mine}");
    let take = ctx
        .call(e, "GET", &format!("/courses/{id}/take"), Value::Null)
        .await;
    assert_eq!(take.status.as_u16(), 200, "{}", take.text());
    assert!(!take.text().contains("correct"), "{}", take.text());
    assert!(!take.text().contains("<script>"), "{}", take.text());
    let shown = take.json();
    assert_eq!(
        shown["pages"][0]["html"],
        "<p>Drawings are <strong>confidential</strong>.</p>\n<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    );
    assert_eq!(shown["questions"][1]["multiple"], true);

    // A failed attempt: recorded, the score only; still refused.
    let r = answer(ctx, e, &id, 1, json!([[1], [0]])).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let failed = r.json();
    assert_eq!(
        (failed["passed"].clone(), failed["score_percent"].clone()),
        (json!(false), json!(50))
    );
    assert!(!r.text().contains("correct"), "{}", r.text());
    expect(ctx, "failed once", e, &room, required).await;
    // Passed: a completion valid 60 days; the room opens.
    let r = answer(ctx, e, &id, 1, json!([[1], [2, 0]])).await;
    let passed = r.json();
    assert_eq!(passed["passed"], true, "{}", r.text());
    let end = ctx.now() + 60 * DAY;
    assert_eq!(passed["valid_until"], rfc3339(end));
    expect(ctx, "passed", e, &room, "ok").await;
    let attempts: Vec<Value> = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "course.attempt")
        .collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["detail"]["passed"], false, "{}", attempts[0]);
    assert_eq!(
        attempts[0]["detail"]["answers"],
        Value::Null,
        "{}",
        attempts[0]
    );
    assert_eq!(counted(ctx, "course.complete", &engineer).await.0, 1);

    // The staff's page of the course: its version and the completion.
    let detail = ctx
        .must(
            &officer.token,
            "GET",
            &format!("/courses/{id}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(detail["completions"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        detail["versions"][0]["content"]["questions"][0]["correct"],
        json!([1])
    );

    // Attempts per hour are bounded: three more, then refused.
    for _ in 0..3 {
        let r = answer(ctx, e, &id, 1, json!([[0], [0]])).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    }
    let r = answer(ctx, e, &id, 1, json!([[1], [0, 2]])).await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "quiz_attempts_exceeded");
    expect(ctx, "failures after a pass change nothing", e, &room, "ok").await;

    // Reminders: none 31 days ahead; one at 30 days, once; one at 7 days.
    let sweep = || async { app::Agreements(&ctx.app).sweep_expiries().await.unwrap() };
    ctx.advance(29 * DAY);
    sweep().await;
    assert_eq!(counted(ctx, "course.reminder", &engineer).await, (0, 0));
    ctx.advance(2 * DAY);
    sweep().await;
    sweep().await;
    assert_eq!(counted(ctx, "course.reminder", &engineer).await, (1, 1));
    assert_eq!(counted(ctx, "course.reminder", &curator).await.1, 1);
    ctx.advance(23 * DAY);
    sweep().await;
    assert_eq!(counted(ctx, "course.reminder", &engineer).await, (2, 2));
    expect(ctx, "a week left", e, &room, "ok").await;

    // The end: refused at the next request, before any sweep, naming the day.
    ctx.advance(7 * DAY);
    assert!(ctx.now() >= end);
    let day = &rfc3339(end)[..10];
    let want = format!(
        "course_expired|rooms classified `confidential` require the course “Handling drawings”; your completion lapsed on {day}"
    );
    expect(ctx, "lapsed", e, &room, &want).await;
    assert_eq!(counted(ctx, "course.expire", &engineer).await, (0, 0));
    sweep().await;
    sweep().await;
    assert_eq!(counted(ctx, "course.expire", &engineer).await, (1, 1));
    assert_eq!(counted(ctx, "course.expire", &curator).await.1, 1);
    let mine = ctx.must(e, "GET", "/courses/mine", Value::Null, 200).await;
    assert_eq!(mine["items"][0]["status"], "lapsed", "{mine}");

    // Completed elsewhere: recorded with evidence by a security officer, it counts.
    let evidence = ctx
        .upload(
            &curator.token,
            &room,
            "course-certificate.pdf",
            b"%PDF done",
        )
        .await;
    let record = json!({"user_id": engineer.id, "completed_at": rfc3339(ctx.now() - DAY),
        "evidence_file": evidence["id"]});
    let completions = format!("/courses/{id}/completions");
    ctx.must(e, "POST", &completions, record.clone(), 403).await;
    let done = ctx
        .must(&officer.token, "POST", &completions, record, 201)
        .await;
    assert_eq!(done["recorded_by"], json!(officer.id));
    assert_eq!(done["valid_until"], rfc3339(ctx.now() + 59 * DAY));
    expect(ctx, "recorded", e, &room, "ok").await;

    // A new version that requires retaking: older completions stop counting.
    let v2 = ctx
        .must(
            &ctx.admin,
            "PUT",
            &format!("/courses/{id}"),
            course("Handling drawings", true),
            200,
        )
        .await;
    assert_eq!(v2["version"], 2);
    expect(ctx, "retake", e, &room, required).await;
    // Answering the version before is refused: the questions may have changed.
    let r = answer(ctx, e, &id, 1, json!([[1], [0, 2]])).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_quiz_answers",
        "{}",
        r.text()
    );
    let r = answer(ctx, e, &id, 2, json!([[1], [0, 2]])).await;
    assert_eq!(r.json()["passed"], true, "{}", r.text());
    expect(ctx, "retaken", e, &room, "ok").await;

    // A room may require a course itself.
    let rc = format!("/rooms/{room}/courses");
    ctx.must(&curator.token, "PUT", &rc, json!({"courses": [id]}), 200)
        .await;
    let got = ctx.must(&curator.token, "GET", &rc, Value::Null, 200).await;
    assert_eq!(got["courses"], json!([id]));
    ctx.must(e, "PUT", &rc, json!({"courses": []}), 403).await;

    for action in [
        "course.publish",
        "course.attempt",
        "course.complete",
        "course.record_external",
        "course.requirements",
    ] {
        assert!(
            ctx.events().await.iter().any(|e| e["action"] == action),
            "no `{action}` event"
        );
    }

    // Bad input: each refused with its code.
    let with = |pointer: &str, v: Value| {
        let mut b = course("Bad", false);
        if let Some(slot) = b.pointer_mut(pointer) {
            *slot = v;
        }
        b
    };
    let cases = [
        (with("/title", json!("")), "invalid_course"),
        (with("/title", json!("x".repeat(201))), "invalid_course"),
        (with("/pages", json!([])), "invalid_course"),
        (
            with("/pages/0/body", json!("x".repeat(20_001))),
            "invalid_course",
        ),
        (with("/questions", json!([])), "invalid_course"),
        (
            with("/questions/0/choices", json!(["only"])),
            "invalid_course",
        ),
        (
            with("/questions/0/correct", json!([0, 1])),
            "invalid_course",
        ),
        (with("/questions/0/correct", json!([5])), "invalid_course"),
        (with("/pass_percent", json!(0)), "invalid_course"),
        (with("/validity_days", json!(0)), "invalid_course"),
        (with("/questions/0/correct", json!("1")), "invalid_request"),
    ];
    for (body, code) in cases {
        let r = ctx.call(&ctx.admin, "POST", "/courses", body.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{body}");
    }
    let quiz = [
        (json!([[1]]), "invalid_quiz_answers"),
        (json!([[0, 1], [0]]), "invalid_quiz_answers"),
        (json!([[1], [9]]), "invalid_quiz_answers"),
        (json!([[], [0]]), "invalid_quiz_answers"),
    ];
    for (answers, code) in quiz {
        let r = answer(ctx, &officer.token, &id, 2, answers.clone()).await;
        assert_eq!(r.json()["error"]["code"], code, "{answers}: {}", r.text());
    }
    let ghost = "00000000-0000-4000-8000-000000000000";
    for (body, code) in [
        (json!({"courses": [ghost]}), "unknown_course"),
        (json!({"courses": ["nope"]}), "unknown_course"),
        (json!({"courses": [id, id]}), "invalid_course"),
    ] {
        let r = ctx
            .call(
                &ctx.admin,
                "PUT",
                "/classifications/restricted/courses",
                body.clone(),
            )
            .await;
        assert_eq!(r.json()["error"]["code"], code, "{body}: {}", r.text());
    }
    let listed = ctx
        .must(&ctx.admin, "GET", "/courses", Value::Null, 200)
        .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}
