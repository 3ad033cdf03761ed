//! Accounts that protect themselves, through the API: recovery codes (ten
//! at enrolment, each good for one sign-in, made again on request), the
//! second factor the owner's admins and security officers must use, an
//! admin's removal of a second factor and unlock of a locked account (each an
//! event with the admin's reason), and a user's own sessions and named API
//! tokens.

use serde_json::{Value, json};

use crate::util::*;

/// Signs in `user` and enrols TOTP through the API; returns the
/// multi-factor token, the secret and the recovery codes shown once.
async fn enrolled(ctx: &Ctx, party: &str, role: &str) -> (User, Vec<u8>, Vec<String>) {
    let mut user = ctx.user_in(party, role, false).await;
    let e = ctx
        .must(&user.token, "POST", "/auth/totp", Value::Null, 200)
        .await;
    let secret = base32_decode(e["secret"].as_str().unwrap_or_default());
    let code = ctx.code(&secret);
    let r = ctx
        .must(
            &user.token,
            "POST",
            "/auth/totp/confirm",
            json!({"code": code}),
            200,
        )
        .await;
    user.token = r["token"].as_str().unwrap_or_default().to_owned();
    user.totp = Some(secret.clone());
    let codes: Vec<String> = r["recovery_codes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    (user, secret, codes)
}

/// `POST /auth/login` with a body of our own, as a table row.
fn sign_in(label: &str, body: Value, status: u16, code: Option<&'static str>) -> Case {
    Case {
        label: label.into(),
        method: "POST",
        path: format!("{V1}/auth/login"),
        body: Payload::Json(body),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

/// The events of `action` about `target`.
async fn events_of(ctx: &Ctx, action: &str, target: &str) -> Vec<Value> {
    ctx.events()
        .await
        .into_iter()
        .filter(|e| e["action"] == action && e["target"] == target)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_recovery_code_signs_in_once_and_new_ones_end_the_old() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let (user, _, codes) = enrolled(&ctx, &party, "member").await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    let with =
        |code: &str| json!({"email": user.email, "password": PASSWORD, "recovery_code": code});
    let table = [
        ("first use", with(&codes[0]), 200, None),
        (
            "second use",
            with(&codes[0]),
            401,
            Some("invalid_recovery_code"),
        ),
        (
            "lower case, no dashes",
            with(&codes[1].to_lowercase().replace('-', "")),
            200,
            None,
        ),
        (
            "not a code",
            with("123456"),
            401,
            Some("invalid_recovery_code"),
        ),
        (
            "another user's shape",
            with("AAAA-AAAA-AAAA-AAAA"),
            401,
            Some("invalid_recovery_code"),
        ),
        (
            "both factors",
            json!({"email": user.email, "password": PASSWORD, "totp": "123456", "recovery_code": codes[2]}),
            400,
            Some("invalid_request"),
        ),
        (
            "a code with the wrong password",
            json!({"email": user.email, "password": "wrong horse battery", "recovery_code": codes[2]}),
            401,
            Some("invalid_credentials"),
        ),
        ("the code still unused", with(&codes[2]), 200, None),
    ];
    for (label, body, status, code) in table {
        let r = check(&ctx, sign_in(label, body, status, code)).await;
        if status == 200 {
            assert_eq!(r.json()["mfa"], true, "{label}");
        }
    }
    let target = format!("user:{}", user.id);
    let used = events_of(&ctx, "auth.recovery_code_used", &target).await;
    let left: Vec<_> = used.iter().map(|e| e["detail"]["left"].clone()).collect();
    assert_eq!(left, [json!(9), json!(8), json!(7)]);
    let refused: Vec<_> = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "auth.login" && e["target"] == target.as_str())
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        refused,
        [
            "invalid_recovery_code",
            "invalid_recovery_code",
            "invalid_recovery_code",
            "invalid_credentials"
        ]
    );

    // New codes: the earlier ones stop working.
    let fresh = ctx
        .must(
            &user.token,
            "POST",
            "/auth/recovery-codes",
            Value::Null,
            200,
        )
        .await;
    let fresh: Vec<String> = fresh["codes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    assert_eq!(fresh.len(), 10);
    let table = [
        (
            "an old unused code",
            with(&codes[5]),
            401,
            Some("invalid_recovery_code"),
        ),
        ("a new code", with(&fresh[0]), 200, None),
    ];
    for (label, body, status, code) in table {
        check(&ctx, sign_in(label, body, status, code)).await;
    }
    let made = events_of(&ctx, "auth.recovery_codes", &target).await;
    assert_eq!(made.len(), 2, "{made:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_recovery_codes_count_towards_the_lockout() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let (user, _, codes) = enrolled(&ctx, &party, "member").await;
    let body =
        json!({"email": user.email, "password": PASSWORD, "recovery_code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"});
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = ctx.send(&sign_in("guess", body.clone(), 0, None)).await;
        got.push(
            r.json()["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        got,
        [
            "invalid_recovery_code",
            "invalid_recovery_code",
            "invalid_recovery_code",
            "invalid_recovery_code",
            "account_locked"
        ]
    );
    let right = json!({"email": user.email, "password": PASSWORD, "recovery_code": codes[0]});
    check(
        &ctx,
        sign_in("right code, locked", right, 429, Some("account_locked")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_admins_and_security_officers_enrol_before_anything_else() {
    let ctx = Ctx::new().await;
    let owner = ctx.owner_party.clone();
    for (role, must) in [
        ("admin", true),
        ("security_officer", true),
        ("auditor", false),
        ("member", false),
    ] {
        let user = ctx.user_in(&owner, role, false).await;
        let me = ctx
            .must(&user.token, "GET", "/auth/me", Value::Null, 200)
            .await;
        assert_eq!(me["mfa_required"], must, "{role}");
        let rooms = ctx.call(&user.token, "GET", "/rooms", Value::Null).await;
        if must {
            assert_eq!(rooms.status.as_u16(), 403, "{role}: {}", rooms.text());
            assert!(rooms.text().contains("enrol"), "{role}: {}", rooms.text());
            let events = ctx.events().await;
            let denial = events
                .iter()
                .rev()
                .find(|e| e["actor_user"] == user.id.as_str());
            assert_eq!(
                denial.map(|e| e["reason"].clone()),
                Some(json!("mfa_enrollment_required")),
                "{role}"
            );
            // Their own sessions stay theirs to see and end.
            ctx.must(&user.token, "GET", "/auth/sessions", Value::Null, 200)
                .await;
            let (mfa, _) = ctx.enrol_totp(&user.token).await;
            ctx.must(&mfa, "GET", "/rooms", Value::Null, 200).await;
        } else {
            assert_eq!(rooms.status.as_u16(), 200, "{role}: {}", rooms.text());
        }
    }
    // A member made an admin must use a second factor from then on.
    let member = ctx.staff("member").await;
    let path = format!("/users/{}", member.id);
    let made = ctx
        .must(
            &ctx.admin,
            "PATCH",
            &path,
            json!({"system_role": "admin"}),
            200,
        )
        .await;
    assert_eq!(made["mfa_required"], true);
    let rooms = ctx.call(&member.token, "GET", "/rooms", Value::Null).await;
    assert_eq!(rooms.status.as_u16(), 403, "{}", rooms.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setting_extends_the_second_factor_to_every_owner_user() {
    let ctx = Ctx::with(Backend::Sqlite, |s| s.owner_everyone_mfa_required = true).await;
    let member = ctx.staff("member").await;
    let me = ctx
        .must(&member.token, "GET", "/auth/me", Value::Null, 200)
        .await;
    assert_eq!(me["mfa_required"], true);
    let rooms = ctx.call(&member.token, "GET", "/rooms", Value::Null).await;
    assert_eq!(rooms.status.as_u16(), 403, "{}", rooms.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_unlocks_an_account_and_removes_its_second_factor_for_a_reason() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let (user, _, _) = enrolled(&ctx, &party, "member").await;
    for _ in 0..5 {
        ctx.login(&user.email, "wrong horse battery", None).await;
    }
    let locked = ctx.login(&user.email, PASSWORD, None).await;
    assert_eq!(
        locked.json()["error"]["code"],
        "account_locked",
        "{}",
        locked.text()
    );

    let unlock = format!("/users/{}/unlock", user.id);
    let reset = format!("/users/{}/mfa/reset", user.id);
    let long = "x".repeat(501);
    for (path, reason) in [
        (&unlock, ""),
        (&unlock, "  "),
        (&reset, "two\nlines"),
        (&reset, long.as_str()),
    ] {
        let r = ctx
            .call(&ctx.admin, "POST", path, json!({"reason": reason}))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{path} {reason:?}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "bad_reason");
    }
    let nobody = format!("/users/{}/unlock", "00000000-0000-4000-8000-000000000000");
    let r = ctx
        .call(&ctx.admin, "POST", &nobody, json!({"reason": "typo"}))
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text());

    ctx.must(
        &ctx.admin,
        "POST",
        &unlock,
        json!({"reason": "identity checked by phone"}),
        200,
    )
    .await;
    ctx.login_totp(&user.email, user.totp.as_deref().unwrap_or_default())
        .await;

    let removed = ctx
        .must(
            &ctx.admin,
            "POST",
            &reset,
            json!({"reason": "lost the phone"}),
            200,
        )
        .await;
    assert_eq!(removed["totp_enabled"], false);
    // Every session of theirs ended; the password alone signs in, and the
    // account enrols again before anything else.
    let me = ctx.call(&user.token, "GET", "/auth/me", Value::Null).await;
    assert_eq!(me.status.as_u16(), 401, "{}", me.text());
    let again = ctx.login_ok(&user.email, None).await;
    assert_eq!(again["mfa"], false);
    let token = again["token"].as_str().unwrap_or_default();
    let rooms = ctx.call(token, "GET", "/rooms", Value::Null).await;
    assert_eq!(rooms.status.as_u16(), 403, "{}", rooms.text());

    let target = format!("user:{}", user.id);
    let unlocked = events_of(&ctx, "user.unlock", &target).await;
    assert_eq!(unlocked.len(), 1, "{unlocked:?}");
    assert_eq!(unlocked[0]["detail"]["reason"], "identity checked by phone");
    assert_eq!(unlocked[0]["detail"]["was_locked"], true);
    let reset = events_of(&ctx, "user.mfa_reset", &target).await;
    assert_eq!(reset.len(), 1, "{reset:?}");
    assert_eq!(reset[0]["detail"]["reason"], "lost the phone");
    assert_eq!(reset[0]["detail"]["had_totp"], true);
    assert_eq!(reset[0]["detail"]["recovery_codes_removed"], 10);
    assert_eq!(reset[0]["outcome"], "allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_sessions_are_listed_and_ended_and_tokens_made() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let (user, secret, _) = enrolled(&ctx, &party, "member").await;
    let other = ctx.staff("member").await;
    let second = ctx.login_totp(&user.email, &secret).await["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list = ctx
        .must(&user.token, "GET", "/auth/sessions", Value::Null, 200)
        .await;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{list}");
    let current: Vec<_> = items.iter().map(|s| s["current"].clone()).collect();
    assert_eq!(current, [json!(false), json!(true)], "newest first: {list}");
    assert!(items.iter().all(|s| s["kind"] == "api" && s["mfa"] == true));
    let second_id = items[0]["id"].as_str().unwrap_or_default().to_owned();

    // Another user's session is not found; one's own ends, and stops working.
    let theirs = ctx
        .must(&other.token, "GET", "/auth/sessions", Value::Null, 200)
        .await;
    let theirs = theirs["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (path, status) in [
        (format!("/auth/sessions/{theirs}"), 404),
        ("/auth/sessions/not-an-id".to_owned(), 404),
        (format!("/auth/sessions/{second_id}"), 204),
        (format!("/auth/sessions/{second_id}"), 404),
    ] {
        let r = ctx.call(&user.token, "DELETE", &path, Value::Null).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {}", r.text());
    }
    let dead = ctx.call(&second, "GET", "/auth/me", Value::Null).await;
    assert_eq!(dead.status.as_u16(), 401);
    ctx.must(&other.token, "GET", "/auth/me", Value::Null, 200)
        .await;

    // Named tokens: a name, and a lifetime up to the configured one.
    for (name, days, code) in [
        ("", 1, "invalid_name"),
        ("ci", 0, "token_lifetime_invalid"),
        ("ci", 31, "token_lifetime_invalid"),
    ] {
        let r = ctx
            .call(
                &user.token,
                "POST",
                "/auth/tokens",
                json!({"name": name, "days": days}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{name:?} {days}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code);
    }
    let made = ctx
        .must(
            &user.token,
            "POST",
            "/auth/tokens",
            json!({"name": "build server", "days": 30}),
            201,
        )
        .await;
    let token = made["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(made["session"]["name"], "build server");
    assert_eq!(made["session"]["mfa"], true);
    ctx.must(&token, "GET", "/rooms", Value::Null, 200).await;
    let event = events_of(
        &ctx,
        "auth.token_create",
        &format!(
            "session:{}",
            made["session"]["id"].as_str().unwrap_or_default()
        ),
    )
    .await;
    assert_eq!(event.len(), 1);
    assert!(
        !event[0].to_string().contains(&token),
        "the secret is recorded"
    );

    // Every other session and token ends; this one stays.
    let ended = ctx
        .must(
            &user.token,
            "POST",
            "/auth/sessions/end-others",
            Value::Null,
            200,
        )
        .await;
    assert_eq!(ended["ended"], 1);
    let gone = ctx.call(&token, "GET", "/rooms", Value::Null).await;
    assert_eq!(gone.status.as_u16(), 401);
    let list = ctx
        .must(&user.token, "GET", "/auth/sessions", Value::Null, 200)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let ends = events_of(&ctx, "auth.session_end", &format!("user:{}", user.id)).await;
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["detail"]["others"], 1);
}
