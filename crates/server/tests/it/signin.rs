//! Sign-in and sessions: wrong and unknown credentials look alike, lockout and
//! its end, TOTP (missing, wrong, replayed), tokens that die on disable,
//! revocation and logout, and the invitation flow up to TOTP enrolment.

use serde_json::{Value, json};

use crate::util::*;

/// `POST /auth/login` as a table row.
fn login(
    email: &str,
    password: &str,
    totp: Option<&str>,
    status: u16,
    code: Option<&'static str>,
) -> Case {
    let mut body = json!({"email": email, "password": password});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    Case {
        label: format!("login {email}"),
        method: "POST",
        path: format!("{V1}/auth/login"),
        body: Payload::Json(body),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

/// `GET /auth/me` with `token`, which must answer `status`.
fn me(token: &str, status: u16) -> Case {
    Case {
        label: "me".into(),
        who: Some(token.to_owned()),
        method: "GET",
        path: format!("{V1}/auth/me"),
        want_status: status,
        want_code: (status == 401).then_some("unauthenticated"),
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_look_alike() {
    let ctx = Ctx::new().await;
    let wrong = check(
        &ctx,
        login(
            ADMIN_EMAIL,
            "wrong password!!",
            None,
            401,
            Some("invalid_credentials"),
        ),
    )
    .await;
    let unknown = check(
        &ctx,
        login(
            "nobody@owner.example",
            PASSWORD,
            None,
            401,
            Some("invalid_credentials"),
        ),
    )
    .await;
    assert_eq!(
        wrong.json()["error"]["message"],
        unknown.json()["error"]["message"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_the_account_until_the_lockout_ends() {
    let ctx = Ctx::new().await;
    let u = ctx.staff("member").await;
    for _ in 0..4 {
        check(
            &ctx,
            login(
                &u.email,
                "wrong password!!",
                None,
                401,
                Some("invalid_credentials"),
            ),
        )
        .await;
    }
    check(
        &ctx,
        login(
            &u.email,
            "wrong password!!",
            None,
            429,
            Some("account_locked"),
        ),
    )
    .await;
    check(
        &ctx,
        login(&u.email, PASSWORD, None, 429, Some("account_locked")),
    )
    .await;
    ctx.advance(15 * 60 * 1000 - 1000);
    check(
        &ctx,
        login(&u.email, PASSWORD, None, 429, Some("account_locked")),
    )
    .await;
    ctx.advance(1001);
    check(&ctx, login(&u.email, PASSWORD, None, 200, None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_missing_wrong_and_replayed() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let u = ctx.external(&party).await;
    let secret = u.totp.clone().expect("enrolled");
    // The enrolment code's step is used: wait for the next one.
    ctx.advance(30_000);
    let good = ctx.code(&secret);
    let bad = if good == "000000" { "111111" } else { "000000" };
    check(
        &ctx,
        login(&u.email, PASSWORD, None, 401, Some("mfa_required")),
    )
    .await;
    check(
        &ctx,
        login(&u.email, PASSWORD, Some(bad), 401, Some("invalid_totp")),
    )
    .await;
    check(
        &ctx,
        login(
            &u.email,
            PASSWORD,
            Some("12ab56"),
            401,
            Some("invalid_totp"),
        ),
    )
    .await;
    let ok = check(&ctx, login(&u.email, PASSWORD, Some(&good), 200, None)).await;
    assert_eq!(ok.json()["mfa"], json!(true));
    check(
        &ctx,
        login(&u.email, PASSWORD, Some(&good), 401, Some("invalid_totp")),
    )
    .await;
    // A good code with a wrong password is still a wrong password.
    ctx.advance(30_000);
    let next = ctx.code(&secret);
    check(
        &ctx,
        login(
            &u.email,
            "wrong password!!",
            Some(&next),
            401,
            Some("invalid_credentials"),
        ),
    )
    .await;
    // Enrolment: a second enrolment is refused, a wrong confirmation too.
    let pre = ctx.user_in(&party, "member", false).await;
    ctx.must(&pre.token, "POST", "/auth/totp", Value::Null, 200)
        .await;
    let r = ctx
        .call(
            &pre.token,
            "POST",
            "/auth/totp/confirm",
            json!({"code": "abcdef"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "invalid_totp");
    let r = ctx.call(&u.token, "POST", "/auth/totp", Value::Null).await;
    assert_eq!(
        r.json()["error"]["code"],
        "totp_already_enabled",
        "{}",
        r.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_die_on_disable_revocation_and_logout() {
    let ctx = Ctx::new().await;
    let (a, b, c, d) = (
        ctx.staff("member").await,
        ctx.staff("member").await,
        ctx.staff("member").await,
        ctx.staff("member").await,
    );
    check(&ctx, me(&a.token, 200)).await;
    ctx.must(
        &ctx.admin,
        "PATCH",
        &format!("/users/{}", a.id),
        json!({"disabled": true}),
        200,
    )
    .await;
    check(&ctx, me(&a.token, 401)).await;
    check(
        &ctx,
        login(&a.email, PASSWORD, None, 401, Some("invalid_credentials")),
    )
    .await;
    // Re-enabled: old token stays dead, a new sign-in works.
    ctx.must(
        &ctx.admin,
        "PATCH",
        &format!("/users/{}", a.id),
        json!({"disabled": false}),
        200,
    )
    .await;
    check(&ctx, me(&a.token, 401)).await;
    check(&ctx, login(&a.email, PASSWORD, None, 200, None)).await;
    // The admin revokes b's sessions; c revokes its own.
    let second = ctx.login_ok(&b.email, None).await["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.must(
        &ctx.admin,
        "POST",
        &format!("/users/{}/revoke-sessions", b.id),
        Value::Null,
        204,
    )
    .await;
    check(&ctx, me(&b.token, 401)).await;
    check(&ctx, me(&second, 401)).await;
    ctx.must(
        &c.token,
        "POST",
        &format!("/users/{}/revoke-sessions", c.id),
        Value::Null,
        204,
    )
    .await;
    check(&ctx, me(&c.token, 401)).await;
    // Logout ends only this session.
    let other = ctx.login_ok(&d.email, None).await["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.must(&d.token, "POST", "/auth/logout", Value::Null, 204)
        .await;
    check(&ctx, me(&d.token, 401)).await;
    check(&ctx, me(&other, 200)).await;
    // The admin cannot disable itself.
    let admin_id = ctx
        .must(&ctx.admin, "GET", "/auth/me", Value::Null, 200)
        .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = ctx
        .call(
            &ctx.admin,
            "PATCH",
            &format!("/users/{admin_id}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        r.json()["error"]["code"],
        "cannot_disable_self",
        "{}",
        r.text()
    );
}

/// `POST /invitations/{token}/accept` as a table row.
fn accept(token: &str, password: &str, status: u16, code: Option<&'static str>) -> Case {
    Case {
        label: "invitee".into(),
        method: "POST",
        path: format!("{V1}/invitations/{token}/accept"),
        body: Payload::Json(json!({"password": password})),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_accept_once_then_enrol() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Acme").await;
    let invite =
        |email: &str| json!({"email": email, "display_name": "Invitee", "party_id": party});
    let inv = ctx
        .must(
            &ctx.admin,
            "POST",
            "/invitations",
            invite("eve@acme.example"),
            201,
        )
        .await;
    let token = inv["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(inv["accept_path"], json!(format!("/invite/{token}")));
    check(
        &ctx,
        accept(&token, "short", 400, Some("password_too_short")),
    )
    .await;
    let user = check(&ctx, accept(&token, PASSWORD, 201, None))
        .await
        .json();
    assert_eq!(user["email"], "eve@acme.example");
    assert_eq!(user["mfa_required"], json!(true));
    check(&ctx, accept(&token, PASSWORD, 404, Some("not_found"))).await;
    check(
        &ctx,
        accept("made-up-token", PASSWORD, 404, Some("not_found")),
    )
    .await;
    // Inviting an existing user's e-mail is a conflict.
    let r = ctx
        .call(
            &ctx.admin,
            "POST",
            "/invitations",
            invite("eve@acme.example"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text());
    // An invitation expires after seven days.
    let late = ctx
        .must(
            &ctx.admin,
            "POST",
            "/invitations",
            invite("late@acme.example"),
            201,
        )
        .await;
    ctx.advance(7 * 24 * 3600 * 1000 + 1);
    check(
        &ctx,
        accept(
            late["token"].as_str().unwrap_or_default(),
            PASSWORD,
            404,
            Some("not_found"),
        ),
    )
    .await;
    // The invitee signs in and must enrol TOTP before anything else.
    let t = ctx.login_ok("eve@acme.example", None).await["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    check(
        &ctx,
        Case {
            label: "invitee before TOTP".into(),
            who: Some(t.clone()),
            method: "GET",
            path: format!("{V1}/rooms"),
            want_status: 403,
            want_code: Some("forbidden"),
            want_message: Some("enrol"),
            ..Case::default()
        },
    )
    .await;
    check(&ctx, me(&t, 200)).await;
    let (mfa, _) = ctx.enrol_totp(&t).await;
    check(&ctx, me(&t, 401)).await;
    ctx.must(&mfa, "GET", "/rooms", Value::Null, 200).await;
}
