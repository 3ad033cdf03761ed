//! The access conditions beyond roles and agreements, end to end through the
//! API: a confidential room asks an external user for current security
//! training and the party for a valid certification; a room's field-of-use
//! tags must be covered by a licence in force; a licence the room requires
//! limits the territories requests may come from (admin-defined network zones,
//! the client address taken from a trusted proxy's header only); a room's
//! access window; each end takes effect at the next request without any sweep,
//! and the sweep then records it once and tells the people concerned.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;
const LICENCE_TEXT: &str = "Licence to use the gearbox drawings for automotive work in France.";

/// Lists the room's files as `who` from `peer` (with an `x-forwarded-for`
/// header when given) and checks the answer: `want` is `"ok"` or the reason
/// the newest denial event records; the message must contain `piece`.
async fn expect(
    ctx: &Ctx,
    step: &str,
    who: &str,
    room: &str,
    (peer, forwarded): (&str, Option<&str>),
    want: &str,
    piece: &str,
) {
    let mut headers = vec![];
    if let Some(f) = forwarded {
        headers.push(("x-forwarded-for", f.to_owned()));
    }
    let r = ctx
        .send(&Case {
            who: Some(who.to_owned()),
            method: "GET",
            path: format!("{V1}/rooms/{room}/files"),
            headers,
            peer: Some(peer.parse::<SocketAddr>().unwrap()),
            ..Case::default()
        })
        .await;
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let got = if r.status.as_u16() == 200 {
        "ok".to_owned()
    } else {
        let denial = ctx
            .events()
            .await
            .into_iter()
            .rev()
            .find(|e| e["action"] == "file.list" && e["outcome"] == "denied")
            .unwrap_or(Value::Null);
        format!(
            "{}:{}",
            r.status.as_u16(),
            denial["reason"].as_str().unwrap_or_default()
        )
    };
    let want_full = if want == "ok" {
        "ok".to_owned()
    } else {
        format!("403:{want}")
    };
    assert_eq!(got, want_full, "{step}: {message}");
    assert!(
        message.contains(piece),
        "{step}: `{message}` lacks `{piece}`"
    );
}

/// Writes the template `name`, issues it to `party` and has `signer` sign it.
async fn sign_from_template(ctx: &Ctx, name: &str, template: Value, party: &str, signer: &str) {
    let text = template["text"].as_str().unwrap_or_default().to_owned();
    let path = format!("/agreement-templates/{name}");
    ctx.must(&ctx.admin, "PUT", &path, template, 200).await;
    let issue = json!({"party_id": party});
    let issued = ctx
        .must(&ctx.admin, "POST", &format!("{path}/issue"), issue, 201)
        .await;
    let id = issued["id"].as_str().unwrap_or_default();
    let sign = json!({"text_sha256": hex::encode(sha256(text.as_bytes()))});
    ctx.must(signer, "POST", &format!("/agreements/{id}/sign"), sign, 200)
        .await;
}

const HERE: (&str, Option<&str>) = ("192.0.2.9:40000", None);
const PARIS: (&str, Option<&str>) = ("203.0.113.7:40000", None);
const BERLIN: (&str, Option<&str>) = ("198.51.100.7:40000", None);

/// The scenario moves the clock by months: API tokens outlive it.
fn long_tokens(s: &mut app::Settings) {
    s.api_token_ttl_ms = 400 * DAY;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_scenario_sqlite() {
    conditions_scenario(&Ctx::with(Backend::Sqlite, long_tokens).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_scenario_postgres() {
    if let Some(url) = postgres().await {
        conditions_scenario(&Ctx::with(Backend::Postgres(url), long_tokens).await).await;
    }
}

async fn conditions_scenario(ctx: &Ctx) {
    let curator = ctx.staff("member").await;
    let party = ctx.party("Gear Supplier").await;
    let engineer = ctx.external(&party).await;
    let lead = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Gearbox").await;
    let path = format!("/rooms/{room}");
    ctx.must(
        &curator.token,
        "PATCH",
        &path,
        json!({"classification": "confidential"}),
        200,
    )
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
    ctx.grant(&curator.token, &room, "user", &lead.id, "manager", None)
        .await;
    let file = ctx
        .upload(&curator.token, &room, "gearbox.step", b"solid")
        .await;
    let e = engineer.token.as_str();

    // Confidential: training of the user, certification of the party.
    expect(
        ctx,
        "untrained",
        e,
        &room,
        HERE,
        "training_required",
        "classified `confidential`",
    )
    .await;
    let training = json!({"valid_until": rfc3339(ctx.now() + 30 * DAY)});
    let user = ctx
        .must(
            &ctx.admin,
            "PUT",
            &format!("/users/{}/training", engineer.id),
            training,
            200,
        )
        .await;
    assert_eq!(user["training_until"], rfc3339(ctx.now() + 30 * DAY));
    expect(
        ctx,
        "uncertified",
        e,
        &room,
        HERE,
        "certification_required",
        "valid security certification",
    )
    .await;
    let cert = json!({"name": "TISAX AL3", "valid_until": rfc3339(ctx.now() + 365 * DAY)});
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/parties/{party}/certification"),
        cert,
        200,
    )
    .await;
    expect(ctx, "trained and certified", e, &room, HERE, "ok", "").await;

    // What a room demands is the owner's to set: an external manager cannot loosen it.
    let r = ctx
        .must(
            &lead.token,
            "PATCH",
            &path,
            json!({"classification": "internal"}),
            403,
        )
        .await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("owner's managers"),
        "{r}"
    );
    let r = ctx
        .must(
            &lead.token,
            "PATCH",
            &path,
            json!({"name": "Gearbox v2"}),
            200,
        )
        .await;
    assert_eq!(r["classification"], "confidential");

    // Field of use: the room's tags need a licence in force that covers them.
    let r = ctx
        .must(
            &curator.token,
            "PATCH",
            &path,
            json!({"tags": ["automotive"]}),
            200,
        )
        .await;
    assert_eq!(r["tags"], json!(["automotive"]));
    expect(
        ctx,
        "tags uncovered",
        e,
        &room,
        HERE,
        "field_of_use_not_covered",
        "(automotive)",
    )
    .await;
    let template = json!({
        "kind": "licence", "title": "Gearbox licence FR", "text": LICENCE_TEXT,
        "terms": {"field_of_use": ["automotive"], "territories": ["FR"]}, "duration_days": 90,
    });
    let t = ctx
        .must(
            &ctx.admin,
            "PUT",
            "/agreement-templates/gearbox-licence",
            template,
            200,
        )
        .await;
    assert_eq!(t["duration_days"], 90);
    let issued = ctx
        .must(
            &ctx.admin,
            "POST",
            "/agreement-templates/gearbox-licence/issue",
            json!({"party_id": party, "draft": true}),
            201,
        )
        .await;
    assert_eq!(issued["status"], "draft");
    assert_eq!(issued["end_at"], rfc3339(ctx.now() + 90 * DAY));
    let licence = issued["id"].as_str().unwrap_or_default().to_owned();
    let sign = json!({"text_sha256": hex::encode(sha256(LICENCE_TEXT.as_bytes()))});
    ctx.must(
        e,
        "POST",
        &format!("/agreements/{licence}/sign"),
        sign.clone(),
        404,
    )
    .await;
    let offered = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/agreements/{licence}/offer"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(offered["status"], "awaiting_signature");
    ctx.must(e, "POST", &format!("/agreements/{licence}/sign"), sign, 200)
        .await;
    expect(ctx, "licence covers the tags", e, &room, HERE, "ok", "").await;

    // Territory: once the room requires the licence, requests must come from France.
    ctx.must(
        &curator.token,
        "PATCH",
        &path,
        json!({"required_agreements": ["gearbox-licence"]}),
        200,
    )
    .await;
    expect(
        ctx,
        "no zones yet",
        e,
        &room,
        HERE,
        "territory_not_covered",
        "outside every known network zone",
    )
    .await;
    let zones = json!({"items": [
        {"name": "paris-lab", "country": "FR", "ranges": ["203.0.113.0/24"]},
        {"name": "berlin", "country": "DE", "ranges": ["198.51.100.0/24", "2001:db8::/32"]},
    ]});
    ctx.must(&ctx.admin, "PUT", "/zones", zones, 200).await;
    expect(ctx, "from Paris", e, &room, PARIS, "ok", "").await;
    expect(
        ctx,
        "from Berlin",
        e,
        &room,
        BERLIN,
        "territory_not_covered",
        "network zone `berlin`, DE",
    )
    .await;
    // Without a trusted proxy configured, the header is not believed.
    expect(
        ctx,
        "forged header",
        e,
        &room,
        ("198.51.100.7:1", Some("203.0.113.7")),
        "territory_not_covered",
        "`berlin`",
    )
    .await;

    // Access window: T0 is a Sunday; the room opens on weekdays only.
    let window =
        json!({"access_window": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}});
    let r = ctx.must(&curator.token, "PATCH", &path, window, 200).await;
    assert_eq!(r["access_window"]["end"], "17:00");
    expect(
        ctx,
        "sunday",
        e,
        &room,
        PARIS,
        "outside_access_window",
        "Mon, Tue, Wed, Thu, Fri 09:00-17:00 UTC+00:00",
    )
    .await;
    ctx.advance(DAY);
    expect(ctx, "monday afternoon", e, &room, PARIS, "ok", "").await;

    // The training ends: refused at the next request, no sweep has run.
    ctx.advance(30 * DAY);
    expect(
        ctx,
        "training lapsed",
        e,
        &room,
        PARIS,
        "training_required",
        "missing or has lapsed",
    )
    .await;
    assert!(
        !ctx.events()
            .await
            .iter()
            .any(|e| e["action"] == "user.training_expire"),
        "no sweep ran yet"
    );

    // The sweep records it once and tells the user and the owner's admins.
    assert_eq!(app::Agreements(&ctx.app).sweep_expiries().await.unwrap(), 1);
    assert_eq!(
        app::Agreements(&ctx.app).sweep_expiries().await.unwrap(),
        0,
        "recorded once"
    );
    let expired: Vec<Value> = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "user.training_expire")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["target"], format!("user:{}", engineer.id));
    let mine = ctx
        .must(e, "GET", "/notifications?unread=true", Value::Null, 200)
        .await;
    // The licence offered to the party is a notification too.
    let items = mine["items"].as_array().cloned().unwrap_or_default();
    let (items, offers): (Vec<Value>, Vec<Value>) = items
        .into_iter()
        .partition(|n| n["kind"] != "agreement.offer");
    assert_eq!(offers.len(), 1, "{mine}");
    assert_eq!(items.len(), 1, "{mine}");
    assert!(
        items[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Your security training expired")
    );
    let admin = ctx
        .must(&ctx.admin, "GET", "/notifications", Value::Null, 200)
        .await;
    assert!(
        admin
            .to_string()
            .contains(&format!("security training of {}", engineer.email)),
        "{admin}"
    );
    // Read: one's own only.
    let nid = items[0]["id"].as_str().unwrap_or_default().to_owned();
    ctx.must(
        &ctx.admin,
        "POST",
        &format!("/notifications/{nid}/read"),
        Value::Null,
        404,
    )
    .await;
    ctx.must(
        e,
        "POST",
        &format!("/notifications/{nid}/read"),
        Value::Null,
        204,
    )
    .await;
    let mine = ctx
        .must(e, "GET", "/notifications?unread=true", Value::Null, 200)
        .await;
    let left: Vec<&Value> = mine["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|n| n["kind"] != "agreement.offer")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{mine}");

    // The licence ends at day 90: closed at once, then recorded by the sweep.
    let training = json!({"valid_until": rfc3339(ctx.now() + 365 * DAY)});
    ctx.must(
        &ctx.admin,
        "PUT",
        &format!("/users/{}/training", engineer.id),
        training,
        200,
    )
    .await;
    expect(ctx, "renewed training", e, &room, PARIS, "ok", "").await;

    // Permitted actions: a required view-only licence lets the files be
    // listed and viewed, not downloaded.
    let template = json!({"kind": "licence", "title": "View-only licence", "text": "View only.",
        "terms": {"permitted_actions": ["file.list", "file.view"]}});
    sign_from_template(ctx, "view-only", template, &party, e).await;
    let both = json!({"required_agreements": ["gearbox-licence", "view-only"]});
    ctx.must(&curator.token, "PATCH", &path, both, 200).await;
    expect(ctx, "listing is licensed", e, &room, PARIS, "ok", "").await;
    let file_id = file["id"].as_str().unwrap_or_default();
    let r = ctx
        .send(&Case {
            who: Some(e.to_owned()),
            method: "GET",
            path: format!("{V1}/files/{file_id}/content"),
            peer: Some(PARIS.0.parse().unwrap()),
            ..Case::default()
        })
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    assert_eq!(
        r.json()["error"]["message"],
        "the agreement `View-only licence` does not permit `file.download`"
    );
    let back = json!({"required_agreements": ["gearbox-licence"]});
    ctx.must(&curator.token, "PATCH", &path, back, 200).await;
    ctx.advance(60 * DAY);
    expect(
        ctx,
        "licence ended",
        e,
        &room,
        PARIS,
        "agreement_expired",
        "Gearbox licence FR",
    )
    .await;
    assert_eq!(app::Agreements(&ctx.app).sweep_expiries().await.unwrap(), 1);
    let mine = ctx
        .must(e, "GET", "/notifications?unread=true", Value::Null, 200)
        .await;
    assert!(mine.to_string().contains("Gearbox licence FR"), "{mine}");
}

/// Behind a reverse proxy: the header is believed only from a trusted proxy,
/// and only its right-most untrusted entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_from_trusted_proxies_only() {
    let addressing = server::ClientAddressing {
        header: Some("x-forwarded-for".into()),
        trusted_proxies: vec!["10.9.0.0/16".parse().unwrap()],
    };
    let ctx = Ctx::behind(Backend::Sqlite, |_| {}, addressing).await;
    let curator = ctx.staff("member").await;
    let party = ctx.party("Proxy Supplier").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Behind the proxy").await;
    ctx.grant(&curator.token, &room, "user", &engineer.id, "viewer", None)
        .await;
    let template = json!({"kind": "licence", "title": "FR only", "text": "FR only.",
        "terms": {"territories": ["FR"]}});
    sign_from_template(&ctx, "fr-only", template, &party, &engineer.token).await;
    ctx.must(
        &curator.token,
        "PATCH",
        &format!("/rooms/{room}"),
        json!({"required_agreements": ["fr-only"]}),
        200,
    )
    .await;
    let zones = json!({"items": [
        {"name": "paris", "country": "FR", "ranges": ["203.0.113.0/24"]},
        {"name": "proxies", "country": "DE", "ranges": ["10.9.0.0/16"]},
    ]});
    ctx.must(&ctx.admin, "PUT", "/zones", zones, 200).await;
    let e = engineer.token.as_str();
    type From<'a> = (&'a str, Option<&'a str>);
    let cases: &[(&str, From, &str, &str)] = &[
        (
            "trusted proxy, client in Paris",
            ("10.9.0.5:1", Some("203.0.113.7")),
            "ok",
            "",
        ),
        (
            "client-forged first entry is ignored",
            ("10.9.0.5:1", Some("203.0.113.7, 198.51.100.1")),
            "territory_not_covered",
            "outside every known",
        ),
        (
            "two trusted hops",
            ("10.9.0.5:1", Some("203.0.113.7, 10.9.1.1")),
            "ok",
            "",
        ),
        (
            "garbage header places nowhere",
            ("10.9.0.5:1", Some("not-an-address")),
            "territory_not_covered",
            "outside every known",
        ),
        (
            "no header: the proxy itself",
            ("10.9.0.5:1", None),
            "territory_not_covered",
            "`proxies`, DE",
        ),
        (
            "untrusted peer's header ignored",
            ("192.0.2.1:1", Some("203.0.113.7")),
            "territory_not_covered",
            "outside every known",
        ),
    ];
    for (step, from, want, piece) in cases {
        expect(&ctx, step, e, &room, *from, want, piece).await;
    }
}

/// Bad input to the condition settings: each a 400 (or 403) with its code,
/// nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_condition_settings_are_refused() {
    let ctx = Ctx::new().await;
    let officer = ctx.staff("security_officer").await;
    let curator = ctx.staff("member").await;
    let room = ctx.room(&curator.token, "Checks").await;
    let party = ctx.party("Checked").await;
    let zone = |name: &str, country: &str, range: &str| json!({"items": [{"name": name, "country": country, "ranges": [range]}]});
    let rows: Vec<(&str, &str, String, Value, u16, &str)> = vec![
        (
            "bad cidr",
            "PUT",
            "/zones".into(),
            zone("lab", "FR", "10.0.0.1/8"),
            400,
            "cidr_invalid",
        ),
        (
            "not a cidr",
            "PUT",
            "/zones".into(),
            zone("lab", "FR", "lab.example/24"),
            400,
            "cidr_invalid",
        ),
        (
            "bad country",
            "PUT",
            "/zones".into(),
            zone("lab", "France", "10.0.0.0/8"),
            400,
            "zone_invalid",
        ),
        (
            "bad name",
            "PUT",
            "/zones".into(),
            zone("Lab 1", "FR", "10.0.0.0/8"),
            400,
            "zone_invalid",
        ),
        (
            "twice",
            "PUT",
            "/zones".into(),
            json!({"items": [
            {"name": "a", "country": "FR", "ranges": ["10.0.0.0/8"]},
            {"name": "a", "country": "DE", "ranges": ["11.0.0.0/8"]}]}),
            400,
            "zone_invalid",
        ),
        (
            "bad tag",
            "PATCH",
            format!("/rooms/{room}"),
            json!({"tags": ["Automotive"]}),
            400,
            "tag_invalid",
        ),
        (
            "window backwards",
            "PATCH",
            format!("/rooms/{room}"),
            json!({"access_window": {"days": [1], "start": "18:00", "end": "08:00"}}),
            400,
            "window_invalid",
        ),
        (
            "window day 8",
            "PATCH",
            format!("/rooms/{room}"),
            json!({"access_window": {"days": [8], "start": "08:00", "end": "18:00"}}),
            400,
            "window_invalid",
        ),
        (
            "training time",
            "PUT",
            format!("/users/{}/training", curator.id),
            json!({"valid_until": "tomorrow"}),
            400,
            "invalid_time",
        ),
        (
            "certification name",
            "PUT",
            format!("/parties/{party}/certification"),
            json!({"name": " ", "valid_until": rfc3339(ctx.now())}),
            400,
            "invalid_field",
        ),
        (
            "template territory",
            "PUT",
            "/agreement-templates/t1".into(),
            json!({"kind": "licence", "title": "T", "text": "x", "terms": {"territories": ["fr"]}}),
            400,
            "invalid_terms",
        ),
        (
            "template action",
            "PUT",
            "/agreement-templates/t1".into(),
            json!({"kind": "licence", "title": "T", "text": "x", "terms": {"permitted_actions": ["file.explode"]}}),
            400,
            "invalid_terms",
        ),
        (
            "template name is a kind",
            "PUT",
            "/agreement-templates/nda".into(),
            json!({"kind": "nda", "title": "T", "text": "x"}),
            400,
            "invalid_template",
        ),
        (
            "template duration",
            "PUT",
            "/agreement-templates/t1".into(),
            json!({"kind": "nda", "title": "T", "text": "x", "duration_days": 0}),
            400,
            "invalid_term",
        ),
        (
            "unknown template",
            "POST",
            "/agreement-templates/nope/issue".into(),
            json!({"party_id": party}),
            400,
            "unknown_template",
        ),
    ];
    for (what, method, path, body, status, code) in rows {
        let who = if method == "PATCH" {
            &curator.token
        } else {
            &ctx.admin
        };
        let r = ctx.call(who, method, &path, body).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{what}");
    }
    // Only admins set zones; owner staff read them.
    let r = ctx
        .call(
            &officer.token,
            "PUT",
            "/zones",
            zone("lab", "FR", "10.0.0.0/8"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);
    let zones = ctx
        .must(&officer.token, "GET", "/zones", Value::Null, 200)
        .await;
    assert_eq!(zones["items"], json!([]), "nothing was stored");
    let r = ctx
        .must(
            &curator.token,
            "GET",
            &format!("/rooms/{room}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(
        (r["tags"].clone(), r["access_window"].clone()),
        (json!([]), Value::Null)
    );
}
