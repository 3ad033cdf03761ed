//! Offboarding, on SQLite and PostgreSQL: one user, then the whole party, in
//! one transaction each — every grant, session, API token and pending
//! invitation ends, the party's agreements are terminated, its users are
//! disabled, and the party cannot be made active again but by re-onboarding
//! from `prospective`. A download loop running while the party is offboarded
//! sees whole files, then refusals: never an error, never a partial file.

use serde_json::{Value, json};

use crate::util::{Backend, Ctx, PASSWORD, postgres};

const DRAWING: &[u8] = b"bracket B7, revision C: 40 mm bore, 4 x M6";

/// The status of each download in the loop, in order, until `stop` is true
/// and one refusal has been seen after it.
async fn download_loop(
    ctx: &Ctx,
    token: &str,
    file: &str,
    stop: &std::sync::atomic::AtomicBool,
    downloaded: &std::sync::atomic::AtomicBool,
) -> Vec<u16> {
    let path = format!("/files/{file}/content");
    let mut seen = Vec::new();
    loop {
        let r = ctx.call(token, "GET", &path, Value::Null).await;
        let status = r.status.as_u16();
        if status == 200 {
            // A copy marked for the engineer: the drawing whole, with the
            // mark's invisible characters woven in.
            let text = String::from_utf8(r.body.clone()).expect("a text file");
            let plain: String = text
                .chars()
                .filter(|c| !matches!(c, '\u{200b}' | '\u{200c}'))
                .collect();
            let drawing = std::str::from_utf8(DRAWING).unwrap();
            assert!(plain.trim_end().ends_with(drawing), "a whole file: {plain}");
        }
        seen.push(status);
        if status == 200 {
            downloaded.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if status != 200 && stop.load(std::sync::atomic::Ordering::SeqCst) {
            return seen;
        }
        assert!(seen.len() < 10_000, "the loop never saw a refusal");
        tokio::task::yield_now().await;
    }
}

async fn scenario(ctx: &Ctx) {
    let admin = &ctx.admin;
    let party = ctx.party("Bladeworks").await;
    let engineer = ctx.external(&party).await;
    let leaver = ctx.external(&party).await;
    let sponsor = ctx.staff("member").await;
    let path = format!("/parties/{party}/sponsor");
    ctx.must(admin, "PUT", &path, json!({"user_id": sponsor.id}), 200)
        .await;
    let room = ctx.room(admin, "Blades").await;
    let other = ctx.room(admin, "Rotors").await;
    ctx.grant(admin, &room, "user", &engineer.id, "downloader", None)
        .await;
    ctx.grant(admin, &room, "user", &leaver.id, "downloader", None)
        .await;
    ctx.grant(admin, &other, "party", &party, "viewer", None)
        .await;
    let file = ctx.upload(admin, &room, "b7.txt", DRAWING).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = ctx
        .must(
            &engineer.token,
            "POST",
            "/auth/tokens",
            json!({"name": "ci", "days": 30}),
            201,
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let invite =
        json!({"email": "new@bladeworks.example", "display_name": "New", "party_id": party});
    let invited = ctx.must(admin, "POST", "/invitations", invite, 201).await;
    let invitation = invited["accept_path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/invite/")
        .to_owned();
    let nda = json!({"party_id": party, "kind": "nda", "template": "mutual-nda",
        "title": "Mutual NDA", "text": "We keep each other's secrets.", "terms": {}, "draft": false});
    let nda = ctx.must(admin, "POST", "/agreements", nda, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // One user leaves: their grant, sessions and tokens end; the rest stays.
    let why = json!({"reason": "moved to another customer"});
    let r = ctx
        .call(
            admin,
            "POST",
            &format!("/users/{}/offboard", leaver.id),
            why,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let ended = &r.json()["ended"];
    assert_eq!(
        (ended["grants"].as_u64(), ended["users"].as_u64()),
        (Some(1), Some(1)),
        "{ended}"
    );
    assert!(ended["sessions"].as_u64() >= Some(1), "{ended}");
    let r = ctx
        .call(&leaver.token, "GET", "/auth/me", Value::Null)
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text());
    let me = json!({"email": leaver.email, "password": PASSWORD});
    let r = ctx.call("", "POST", "/auth/login", me).await;
    assert_eq!(
        r.status.as_u16(),
        401,
        "a disabled account signs in no more"
    );
    let content = format!("/files/{file}/content");
    ctx.must(&engineer.token, "GET", &content, Value::Null, 200)
        .await;
    let me = ctx.must(admin, "GET", "/auth/me", Value::Null, 200).await;
    let myself = format!("/users/{}/offboard", me["id"].as_str().unwrap());
    let r = ctx
        .call(admin, "POST", &myself, json!({"reason": "oops"}))
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "cannot_disable_self",
        "{}",
        r.text()
    );

    // A staff member who leaves: the share link they made ends with them.
    let courier = ctx.staff("member").await;
    ctx.grant(admin, &room, "user", &courier.id, "downloader", None)
        .await;
    let link = format!("/files/{file}/links");
    ctx.must(&courier.token, "POST", &link, json!({}), 201)
        .await;
    let why = json!({"reason": "left the company"});
    let r = ctx
        .call(
            admin,
            "POST",
            &format!("/users/{}/offboard", courier.id),
            why,
        )
        .await;
    assert_eq!(r.json()["ended"]["links"], 1, "{}", r.text());
    let links = ctx
        .must(
            admin,
            "GET",
            &format!("/rooms/{room}/links"),
            Value::Null,
            200,
        )
        .await;
    let open: Vec<&Value> = links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["revoked_at"].is_null())
        .collect();
    assert!(open.is_empty(), "no link left open: {links}");

    // Offboarding by a status change is refused: it would end nothing.
    let r = ctx
        .call(
            admin,
            "PATCH",
            &format!("/parties/{party}"),
            json!({"status": "offboarded"}),
        )
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "offboard_required",
        "{}",
        r.text()
    );
    let r = ctx
        .call(
            admin,
            "POST",
            &format!("/parties/{party}/offboard"),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(r.json()["error"]["code"], "bad_reason", "{}", r.text());

    // The party leaves while its engineer downloads in a loop.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let downloaded = std::sync::atomic::AtomicBool::new(false);
    let offboard = async {
        // Let the loop download a whole file first.
        while !downloaded.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let why = json!({"reason": "the subcontract ended"});
        let r = ctx
            .call(admin, "POST", &format!("/parties/{party}/offboard"), why)
            .await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    let (seen, r) = tokio::join!(
        download_loop(ctx, &engineer.token, &file, &stop, &downloaded),
        offboard
    );
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let first_refusal = seen.iter().position(|s| *s != 200).unwrap();
    assert!(first_refusal > 0, "allowed before: {seen:?}");
    assert!(
        // Signed out (401), or, for a request that passed sign-in just
        // before the commit, its grant gone (404): refused, never an error.
        seen[first_refusal..].iter().all(|s| matches!(s, 401 | 404)),
        "refused after, never an error: {seen:?}"
    );
    let out = r.json();
    assert_eq!(out["party"]["status"], "offboarded", "{out}");
    let ended = &out["ended"];
    assert_eq!(
        ended["grants"], 2,
        "the engineer's and the party's: {ended}"
    );
    assert_eq!(ended["invitations"], 1, "{ended}");
    assert_eq!(ended["agreements"], 1, "{ended}");
    assert_eq!(
        ended["users"], 1,
        "the leaver was disabled already: {ended}"
    );
    assert!(
        ended["sessions"].as_u64() >= Some(2),
        "session and token: {ended}"
    );

    // Everything it held has ended.
    let r = ctx.call(&token, "GET", "/auth/me", Value::Null).await;
    assert_eq!(r.status.as_u16(), 401, "the API token: {}", r.text());
    let accept = json!({"password": PASSWORD});
    let r = ctx
        .call(
            "",
            "POST",
            &format!("/invitations/{invitation}/accept"),
            accept,
        )
        .await;
    assert!(r.status.is_client_error(), "the invitation: {}", r.text());
    let a = ctx
        .must(
            admin,
            "GET",
            &format!("/agreements/{nda}"),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(a["status"], "terminated", "{a}");
    for (room, who) in [(&room, &engineer.id), (&other, &party)] {
        let grants = ctx
            .must(
                admin,
                "GET",
                &format!("/rooms/{room}/grants"),
                Value::Null,
                200,
            )
            .await;
        let live: Vec<&Value> = grants["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["subject_id"] == json!(who))
            .collect();
        assert!(live.is_empty(), "no live grant to {who}: {grants}");
    }
    let user = ctx
        .must(
            admin,
            "GET",
            &format!("/users/{}", engineer.id),
            Value::Null,
            200,
        )
        .await;
    assert_eq!(user["disabled"], true, "{user}");
    let told = ctx
        .must(&sponsor.token, "GET", "/notifications", Value::Null, 200)
        .await;
    assert!(
        told["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "party.offboard"),
        "the sponsor is told: {told}"
    );

    // It stays offboarded; re-onboarding starts again from prospective.
    let r = ctx
        .call(
            admin,
            "PATCH",
            &format!("/parties/{party}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "party_offboarded",
        "{}",
        r.text()
    );
    let r = ctx
        .call(
            admin,
            "POST",
            &format!("/parties/{party}/activate"),
            Value::Null,
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.text());
    let r = ctx
        .call(
            admin,
            "POST",
            &format!("/parties/{party}/offboard"),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "party_offboarded",
        "{}",
        r.text()
    );
    let back = ctx
        .must(
            admin,
            "POST",
            &format!("/parties/{party}/reonboard"),
            json!({"reason": "a new contract"}),
            200,
        )
        .await;
    assert_eq!(back["status"], "prospective", "{back}");
    assert!(back["tier"].is_null(), "due diligence again: {back}");
    let events = ctx
        .must(
            admin,
            "GET",
            "/events?action=party.offboard",
            Value::Null,
            200,
        )
        .await;
    let event = &events["items"][0];
    assert_eq!(
        event["detail"]["reason"], "the subcontract ended",
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_sqlite() {
    scenario(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_postgres() {
    if let Some(url) = postgres().await {
        scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}
