//! Certifications as records, end to end through the API with the clock
//! moved: what a classification and a room require, a certificate that counts
//! only once verified and only in its term, the denial naming the missing
//! standard or the expired certificate and its day at the next request after
//! the end (before any sweep), reminders 30 and 7 days ahead recorded once
//! each to the party's users and sponsor, and bad input. On SQLite, and on
//! PostgreSQL when one is reachable.

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;

/// The scenario moves the clock by weeks: API tokens outlive it.
pub(crate) fn long_tokens(s: &mut app::Settings) {
    s.api_token_ttl_ms = 400 * DAY;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certification_scenario_sqlite() {
    certification_scenario(&Ctx::with(Backend::Sqlite, long_tokens).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certification_scenario_postgres() {
    if let Some(url) = postgres().await {
        certification_scenario(&Ctx::with(Backend::Postgres(url), long_tokens).await).await;
    }
}

/// Lists the room's files as `who`: `want` is `ok` or `<reason>|<piece of the message>`.
pub(crate) async fn expect(ctx: &Ctx, step: &str, who: &str, room: &str, want: &str) {
    let r = ctx
        .call(who, "GET", &format!("/rooms/{room}/files"), Value::Null)
        .await;
    let got = if r.status.as_u16() == 200 {
        "ok".to_owned()
    } else {
        let body = r.json();
        let denial = ctx
            .events()
            .await
            .into_iter()
            .rev()
            .find(|e| e["action"] == "file.list" && e["outcome"] == "denied")
            .unwrap_or(Value::Null);
        format!(
            "{}:{}|{}",
            r.status.as_u16(),
            denial["reason"].as_str().unwrap_or_default(),
            body["error"]["message"].as_str().unwrap_or_default()
        )
    };
    let ok = match want.split_once('|') {
        None => got == want,
        Some((reason, piece)) => got.starts_with(&format!("403:{reason}|")) && got.contains(piece),
    };
    assert!(ok, "{step}: got `{got}`, want `{want}`");
}

/// How many events of `action` there are, and the notifications of `user`
/// of that kind.
pub(crate) async fn counted(ctx: &Ctx, action: &str, user: &User) -> (usize, usize) {
    let events = ctx
        .events()
        .await
        .iter()
        .filter(|e| e["action"] == action)
        .count();
    let mine = ctx
        .must(&user.token, "GET", "/notifications", Value::Null, 200)
        .await;
    let notes = mine["items"]
        .as_array()
        .map(|items| items.iter().filter(|n| n["kind"] == action).count())
        .unwrap_or_default();
    (events, notes)
}

async fn certification_scenario(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let officer = ctx.staff("security_officer").await;
    let party = ctx.party("Casting Supplier").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Castings").await;
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
    let e = engineer.token.as_str();

    // The seed: confidential rooms require a certificate of any standard.
    let classes = ctx
        .must(&ctx.admin, "GET", "/classifications", Value::Null, 200)
        .await;
    let confidential = classes["items"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["classification"] == "confidential"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(confidential["certifications"], json!(["any"]));
    expect(
        ctx,
        "none",
        e,
        &room,
        "certification_required|a valid security certification",
    )
    .await;

    // An admin tightens it to ISO/IEC 27001.
    let iso = json!({"certifications": ["iso_27001"]});
    ctx.must(&ctx.admin, "PUT", "/classifications/confidential", iso, 200)
        .await;
    expect(
        ctx,
        "no ISO",
        e,
        &room,
        "certification_required|`ISO/IEC 27001`",
    )
    .await;

    // Recorded, with its evidence from the shared room: not yet verified, it counts for nothing.
    let evidence = ctx
        .upload(
            &curator.token,
            &room,
            "iso-certificate.pdf",
            b"%PDF certificate",
        )
        .await;
    let end = ctx.now() + 40 * DAY;
    let body = json!({"standard": "ISO/IEC 27001", "issuer": "TUV", "scope": "casting design",
        "number": "ISO-1", "valid_from": rfc3339(ctx.now() - DAY), "valid_until": rfc3339(end),
        "evidence_file": evidence["id"]});
    let certs = format!("/parties/{party}/certifications");
    let cert = ctx.must(&ctx.admin, "POST", &certs, body, 201).await;
    assert_eq!(cert["standard"], "iso_27001");
    assert_eq!(cert["verified_at"], Value::Null);
    expect(
        ctx,
        "unverified",
        e,
        &room,
        "certification_required|`ISO/IEC 27001`",
    )
    .await;

    // Verified by a security officer: it counts.
    let id = cert["id"].as_str().unwrap_or_default().to_owned();
    let verify = format!("/certifications/{id}/verify");
    let done = ctx
        .must(&officer.token, "POST", &verify, Value::Null, 200)
        .await;
    assert_eq!(done["verified_by"], json!(officer.id));
    expect(ctx, "verified", e, &room, "ok").await;
    // An external user may neither verify nor read certificates.
    ctx.must(e, "POST", &verify, Value::Null, 403).await;
    ctx.must(e, "GET", &certs, Value::Null, 403).await;

    // The room itself may require more.
    let rc = format!("/rooms/{room}/certifications");
    let tisax = json!({"certifications": ["tisax"]});
    ctx.must(&curator.token, "PUT", &rc, tisax, 200).await;
    expect(
        ctx,
        "room wants TISAX",
        e,
        &room,
        "certification_required|`TISAX`",
    )
    .await;
    ctx.must(
        &curator.token,
        "PUT",
        &rc,
        json!({"certifications": []}),
        200,
    )
    .await;
    expect(ctx, "room wants nothing more", e, &room, "ok").await;

    // The sponsor: an owner user, told with the party's users.
    let sponsor = json!({"user_id": curator.id});
    let sp = format!("/parties/{party}/sponsor");
    ctx.must(&ctx.admin, "PUT", &sp, sponsor, 200).await;
    let stranger = json!({"user_id": engineer.id});
    let r = ctx.call(&ctx.admin, "PUT", &sp, stranger).await;
    assert_eq!(r.json()["error"]["code"], "invalid_sponsor", "{}", r.text());

    // Reminders: none 40 days ahead; one at 30 days, once; one at 7 days.
    let sweep = || async { app::Agreements(&ctx.app).sweep_expiries().await.unwrap() };
    sweep().await;
    assert_eq!(
        counted(ctx, "certification.reminder", &engineer).await,
        (0, 0)
    );
    ctx.advance(11 * DAY);
    sweep().await;
    sweep().await;
    assert_eq!(
        counted(ctx, "certification.reminder", &engineer).await,
        (1, 1)
    );
    assert_eq!(counted(ctx, "certification.reminder", &curator).await.1, 1);
    ctx.advance(22 * DAY);
    sweep().await;
    assert_eq!(
        counted(ctx, "certification.reminder", &engineer).await,
        (2, 2)
    );
    expect(ctx, "a week left", e, &room, "ok").await;

    // The end: refused at the next request, before any sweep, naming the day.
    ctx.advance(7 * DAY + 1);
    let day = last_day(end);
    let want = format!("certification_expired|`ISO/IEC 27001` certificate expired on {day}");
    expect(ctx, "expired", e, &room, &want).await;
    assert_eq!(
        counted(ctx, "party.certification_expire", &engineer).await,
        (0, 0)
    );
    sweep().await;
    sweep().await;
    assert_eq!(
        counted(ctx, "party.certification_expire", &engineer).await,
        (1, 1)
    );
    assert_eq!(
        counted(ctx, "party.certification_expire", &curator).await.1,
        1
    );

    // A new certificate, verified, opens the room again.
    let body = json!({"standard": "iso_27001", "issuer": "TUV", "scope": "casting design",
        "number": "ISO-2", "valid_from": rfc3339(ctx.now() - DAY),
        "valid_until": rfc3339(ctx.now() + 365 * DAY)});
    let renewed = ctx.must(&ctx.admin, "POST", &certs, body, 201).await;
    let verify = format!(
        "/certifications/{}/verify",
        renewed["id"].as_str().unwrap_or_default()
    );
    ctx.must(&ctx.admin, "POST", &verify, Value::Null, 200)
        .await;
    expect(ctx, "renewed", e, &room, "ok").await;
    let listed = ctx.must(&ctx.admin, "GET", &certs, Value::Null, 200).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    for action in [
        "certification.record",
        "certification.verify",
        "classification.update",
        "room.certifications",
        "party.sponsor",
    ] {
        assert!(
            ctx.events().await.iter().any(|e| e["action"] == action),
            "no `{action}` event"
        );
    }

    // Bad input: each refused with its code, nothing recorded.
    let other = ctx.room(&curator.token, "Not shared").await;
    let unshared = ctx.upload(&curator.token, &other, "x.pdf", b"x").await;
    let good = json!({"standard": "tisax", "issuer": "ENX", "scope": "all", "number": "T-1",
        "valid_from": rfc3339(ctx.now()), "valid_until": rfc3339(ctx.now() + DAY)});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("standard", json!("ISO 9001")), "invalid_standard"),
        (with("standard", json!("custom:")), "invalid_standard"),
        (with("issuer", json!("")), "invalid_certification"),
        (
            with("number", json!("x".repeat(201))),
            "invalid_certification",
        ),
        (
            with("valid_until", json!(rfc3339(ctx.now() - DAY))),
            "invalid_certification",
        ),
        (with("valid_until", json!("tomorrow")), "invalid_time"),
        (
            with("evidence_file", unshared["id"].clone()),
            "invalid_evidence",
        ),
        (with("evidence_file", json!("nope")), "invalid_evidence"),
    ];
    for (body, code) in cases {
        let r = ctx.call(&ctx.admin, "POST", &certs, body.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{body}");
    }
    let own = format!("/parties/{}/certifications", ctx.owner_party);
    let r = ctx.call(&ctx.admin, "POST", &own, good.clone()).await;
    assert_eq!(
        r.json()["error"]["code"],
        "invalid_certification",
        "{}",
        r.text()
    );
    for bad in [
        json!({"certifications": ["any", "any"]}),
        json!({"certifications": ["nope"]}),
    ] {
        let r = ctx
            .call(&ctx.admin, "PUT", "/classifications/restricted", bad)
            .await;
        assert_eq!(
            r.json()["error"]["code"],
            "invalid_standard",
            "{}",
            r.text()
        );
    }
    let r = ctx
        .call(
            &ctx.admin,
            "PUT",
            "/classifications/secret",
            json!({"certifications": []}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    let listed = ctx.must(&ctx.admin, "GET", &certs, Value::Null, 200).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
}

/// The last day a certificate ending at `end_ms` (exclusive) is valid, as the denial writes it.
fn last_day(end_ms: i64) -> String {
    rfc3339(end_ms - 1)[..10].to_owned()
}
