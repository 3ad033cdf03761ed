//! Changing the policy set safely: only admins read versions, replay a
//! proposal (what-if) or apply one; bad text is refused with its line and
//! column and changes nothing; a set that would lock every admin out is
//! refused; a stale change is a conflict; an applied version is stored,
//! recorded as a `policy.change` event and in force from the next request;
//! and the what-if lists exactly the recorded decisions that would change.

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;

/// Forbids members of the owner to create rooms.
const NO_MEMBER_ROOMS: &str = "// members may no longer create rooms\n\
@id(\"no_member_rooms\")\n\
@reason(\"policy_forbids\")\n\
forbid (principal, action == Custody::Action::\"room.create\", resource)\n\
when { principal.system_role == \"member\" };\n";

/// Forbids downloads to users of external parties.
const NO_EXTERNAL_DOWNLOADS: &str = "@id(\"no_external_downloads\")\n\
@reason(\"policy_forbids\")\n\
forbid (principal, action == Custody::Action::\"file.download\", resource is Custody::Room)\n\
when { principal.party.kind == \"external\" };\n";

fn apply_body(custom: &str, disabled: &[&str], expected: i64) -> Value {
    json!({"custom": custom, "disabled": disabled, "comment": "test", "expected_version": expected})
}

/// A PUT /policies that must be refused with `code` and a message containing `message`.
fn refused(token: &str, body: Value, code: &'static str, message: &'static str) -> Case {
    Case {
        label: format!("admin, {code}"),
        who: Some(token.to_owned()),
        method: "PUT",
        path: format!("{V1}/policies"),
        body: Payload::Json(body),
        want_status: 400,
        want_code: Some(code),
        want_message: Some(message),
        ..Case::default()
    }
}

/// The version in force and the number of stored versions.
async fn versions(ctx: &Ctx) -> (i64, usize) {
    let state = ctx
        .must(&ctx.admin, "GET", "/policies", Value::Null, 200)
        .await;
    let list = ctx
        .must(&ctx.admin, "GET", "/policies/versions", Value::Null, 200)
        .await;
    let n = list["items"].as_array().map_or(0, Vec::len);
    (state["version"].as_i64().unwrap_or(-1), n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_reach_the_policy_administration() {
    let ctx = Ctx::new().await;
    ctx.must(&ctx.admin, "PUT", "/policies", apply_body("", &[], 0), 200)
        .await;
    let party = ctx.party("Vendor").await;
    let mut callers = vec![("admin".to_owned(), ctx.admin.clone(), true)];
    for role in ["security_officer", "auditor", "member"] {
        callers.push((role.to_owned(), ctx.staff(role).await.token, false));
    }
    callers.push((
        "external".to_owned(),
        ctx.external(&party).await.token,
        false,
    ));
    let whatif = json!({"custom": "", "days": 7});
    // (method, path, body, status for an admin)
    let endpoints = [
        ("GET", "/policies", Value::Null, 200),
        ("GET", "/policies/versions", Value::Null, 200),
        ("GET", "/policies/versions/1", Value::Null, 200),
        ("GET", "/policies/versions/99", Value::Null, 404),
        ("POST", "/policies/whatif", whatif, 200),
        ("PUT", "/policies", apply_body("", &[], 0), 409),
    ];
    let mut failures = Vec::new();
    for (label, token, admin) in &callers {
        for (method, path, body, admin_status) in &endpoints {
            let case = Case {
                label: label.clone(),
                who: Some(token.clone()),
                method,
                path: format!("{V1}{path}"),
                body: if body.is_null() {
                    Payload::None
                } else {
                    Payload::Json(body.clone())
                },
                want_status: if *admin { *admin_status } else { 403 },
                want_code: (!admin).then_some("forbidden"),
                ..Case::default()
            };
            if let Err(e) = try_check(&ctx, &case).await {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        versions(&ctx).await,
        (1, 1),
        "the refused calls changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_text_and_lockouts_are_refused_and_change_nothing() {
    let ctx = Ctx::new().await;
    let admin = ctx.admin.clone();
    let locks_out = "@id(\"frozen\")\n@reason(\"policy_forbids\")\nforbid (principal, action == Custody::Action::\"policy.apply\", resource);";
    let table = [
        refused(
            &admin,
            apply_body("@id(\"x\")\npermit (principal,", &[], 0),
            "policy_invalid",
            "line 2, column 19",
        ),
        refused(
            &admin,
            apply_body(
                "\n@id(\"x\") permit (principal, action, resource) when { principal.clearance };",
                &[],
                0,
            ),
            "policy_invalid",
            "line 2, column 54: for policy `x`, attribute `clearance`",
        ),
        refused(
            &admin,
            apply_body(
                "@id(\"x\") permit (principal, action == Custody::Action::\"file.explode\", resource);",
                &[],
                0,
            ),
            "policy_invalid",
            "file.explode",
        ),
        refused(
            &admin,
            apply_body(
                "@id(\"x\") permit (principal is Custody::Robot, action, resource);",
                &[],
                0,
            ),
            "policy_invalid",
            "Custody::Robot",
        ),
        refused(
            &admin,
            apply_body("@id(\"all\") permit (principal, action, resource);", &[], 0),
            "policy_invalid",
            "deny-by-default cannot be switched off",
        ),
        refused(
            &admin,
            apply_body("", &["room.nothing"], 0),
            "policy_disable_invalid",
            "`room.nothing`",
        ),
        refused(
            &admin,
            apply_body("", &["account.disabled"], 0),
            "policy_disable_invalid",
            "cannot be switched off",
        ),
        refused(
            &admin,
            apply_body("", &["system.admin"], 0),
            "policy_lockout",
            "no active user could change policies",
        ),
        refused(&admin, apply_body(locks_out, &[], 0), "policy_lockout", ""),
    ];
    for case in table {
        check(&ctx, case).await;
    }
    // The what-if refuses the same proposals.
    let proposals = [
        (
            json!({"custom": "@id(\"x\") permit (principal,", "days": 1}),
            "policy_invalid",
        ),
        (
            json!({"custom": "", "disabled": ["system.admin"], "days": 1}),
            "policy_lockout",
        ),
        (json!({"custom": "", "days": 0}), "bad_days"),
    ];
    for (body, code) in proposals {
        let r = ctx
            .must(&admin, "POST", "/policies/whatif", body, 400)
            .await;
        assert_eq!(r["error"]["code"], code);
    }
    assert_eq!(versions(&ctx).await, (0, 0), "nothing was stored");
    let changes = ctx
        .events()
        .await
        .into_iter()
        .filter(|e| e["action"] == "policy.change")
        .count();
    assert_eq!(changes, 0, "nothing was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_version_is_stored_recorded_and_in_force_at_the_next_request() {
    let ctx = Ctx::new().await;
    let member = ctx.staff("member").await;
    ctx.room(&member.token, "Before").await;

    let v1 = ctx
        .must(
            &ctx.admin,
            "PUT",
            "/policies",
            apply_body(NO_MEMBER_ROOMS, &[], 0),
            200,
        )
        .await;
    assert_eq!(v1["version"], 1);
    let sha = hex::encode(sha256(NO_MEMBER_ROOMS.as_bytes()));
    assert_eq!(v1["custom_sha256"], json!(sha));
    let body = json!({"name": "After", "classification": "internal"});
    let denied = ctx
        .must(&member.token, "POST", "/rooms", body.clone(), 403)
        .await;
    assert_eq!(denied["error"]["code"], "forbidden");

    let event = ctx
        .events()
        .await
        .into_iter()
        .find(|e| e["action"] == "policy.change")
        .unwrap_or(Value::Null);
    assert_eq!(event["target"], "policy_version:1");
    assert_eq!(event["detail"]["version"], 1);
    assert_eq!(event["detail"]["sha256"], json!(sha));

    // A change written against version 0 is stale now.
    let stale = ctx
        .call(&ctx.admin, "PUT", "/policies", apply_body("", &[], 0))
        .await;
    assert_eq!(stale.status.as_u16(), 409, "{}", stale.text());

    // Version 2 goes back to the defaults; version 1 stays readable.
    ctx.must(&ctx.admin, "PUT", "/policies", apply_body("", &[], 1), 200)
        .await;
    ctx.must(&member.token, "POST", "/rooms", body, 201).await;
    let one = ctx
        .must(&ctx.admin, "GET", "/policies/versions/1", Value::Null, 200)
        .await;
    assert_eq!(one["custom"], NO_MEMBER_ROOMS);
    let list = ctx
        .must(&ctx.admin, "GET", "/policies/versions", Value::Null, 200)
        .await;
    let numbers: Vec<i64> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["version"].as_i64())
        .collect();
    assert_eq!(numbers, vec![2, 1]);

    // A restart installs the newest stored version.
    ctx.must(
        &ctx.admin,
        "PUT",
        "/policies",
        apply_body(NO_MEMBER_ROOMS, &[], 2),
        200,
    )
    .await;
    ctx.app
        .install_policies(app::authz::Policies::defaults().unwrap());
    assert_eq!(ctx.app.load_stored_policies().await.unwrap(), 3);
    let body = json!({"name": "Restarted", "classification": "internal"});
    ctx.must(&member.token, "POST", "/rooms", body, 403).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_lists_exactly_the_decisions_that_change_sqlite() {
    what_if_scenario(&Ctx::new().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_if_lists_exactly_the_decisions_that_change_postgres() {
    if let Some(url) = postgres().await {
        what_if_scenario(&Ctx::on(Backend::Postgres(url)).await).await;
    }
}

/// `(seq, user, action, target, before, after, policies after)` of each change.
type Row = (i64, String, String, String, String, String, Vec<String>);

async fn what_if(ctx: &Ctx, custom: &str, disabled: &[&str], days: i64) -> (Vec<Row>, u64) {
    let body = json!({"custom": custom, "disabled": disabled, "days": days});
    let r = ctx
        .must(&ctx.admin, "POST", "/policies/whatif", body, 200)
        .await;
    let rows = r["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let policies = c["after"]["policies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect();
            (
                c["seq"].as_i64().unwrap_or_default(),
                s(&c["user"]),
                s(&c["action"]),
                s(&c["target"]),
                s(&c["before"]["decision"]),
                s(&c["after"]["decision"]),
                policies,
            )
        })
        .collect();
    (rows, r["replayed"].as_u64().unwrap_or_default())
}

/// The seq of the newest event of `action` by `user` with `outcome`.
fn seq_of(events: &[Value], user: &str, action: &str, outcome: &str) -> i64 {
    events
        .iter()
        .rev()
        .find(|e| e["actor_user"] == user && e["action"] == action && e["outcome"] == outcome)
        .and_then(|e| e["seq"].as_i64())
        .unwrap_or_else(|| panic!("no {outcome} {action} by {user}"))
}

/// The default policies the what-if proposal switches off.
const PROPOSED_OFF: [&str; 2] = ["system.room_create", "agreement.own_party"];

async fn what_if_scenario(ctx: &Ctx) {
    // A small history: allowed and denied requests.
    let curator = ctx.staff("member").await;
    let reader = ctx.staff("member").await;
    let outsider = ctx.staff("member").await;
    let party = ctx.party("Vendor").await;
    let engineer = ctx.external(&party).await;
    let room = ctx.room(&curator.token, "Designs").await;
    let file = ctx
        .upload(&curator.token, &room, "spec.txt", b"the spec")
        .await;
    let file = file["id"].as_str().unwrap_or_default().to_owned();
    for (user, role) in [(&engineer.id, "downloader"), (&reader.id, "viewer")] {
        ctx.grant(&curator.token, &room, "user", user, role, None)
            .await;
    }
    let nda_text = "We keep each other's secrets.";
    let nda = json!({"party_id": party, "kind": "nda", "template": "mutual-nda-2026",
        "title": "Mutual NDA", "text": nda_text});
    let nda = ctx.must(&ctx.admin, "POST", "/agreements", nda, 201).await;
    let nda = nda["id"].as_str().unwrap_or_default().to_owned();
    let sign = json!({"text_sha256": hex::encode(sha256(nda_text.as_bytes()))});
    ctx.must(
        &engineer.token,
        "POST",
        &format!("/agreements/{nda}/sign"),
        sign,
        200,
    )
    .await;
    let content = format!("/files/{file}/content");
    ctx.must(&engineer.token, "GET", &content, Value::Null, 200)
        .await;
    ctx.must(&reader.token, "GET", &content, Value::Null, 403)
        .await;
    ctx.must(&outsider.token, "GET", &content, Value::Null, 404)
        .await;

    let events = ctx.events().await;
    let created = seq_of(&events, &curator.id, "room.create", "allowed");
    let downloaded = seq_of(&events, &engineer.id, "file.download", "allowed");
    let signed = seq_of(&events, &engineer.id, "agreement.sign", "allowed");
    seq_of(&events, &reader.id, "file.download", "denied");
    seq_of(&events, &outsider.id, "file.download", "denied");

    let (changes, replayed) = what_if(ctx, NO_EXTERNAL_DOWNLOADS, &PROPOSED_OFF, 7).await;
    let want: Vec<Row> = vec![
        (
            created,
            curator.id.clone(),
            "room.create".into(),
            format!("room:{room}"),
            "allow".into(),
            "deny".into(),
            vec!["explain.role_forbids".into()],
        ),
        (
            signed,
            engineer.id.clone(),
            "agreement.sign".into(),
            format!("agreement:{nda}"),
            "allow".into(),
            "deny".into(),
            vec!["explain.agreement_role".into()],
        ),
        (
            downloaded,
            engineer.id.clone(),
            "file.download".into(),
            format!("file:{file}"),
            "allow".into(),
            "deny".into(),
            vec!["no_external_downloads".into()],
        ),
    ];
    assert_eq!(changes, want);
    assert!(replayed >= 6, "replayed {replayed}");

    // The set in force, proposed again, changes nothing.
    let (same, replayed_again) = what_if(ctx, "", &[], 7).await;
    assert_eq!(same, vec![]);
    assert_eq!(replayed_again, replayed);

    // Nothing was applied by the what-if.
    assert_eq!(versions(ctx).await, (0, 0));
    ctx.must(&engineer.token, "GET", &content, Value::Null, 200)
        .await;

    // Two days later, a one-day window holds none of it.
    ctx.advance(2 * DAY);
    let (later, replayed_later) = what_if(ctx, NO_EXTERNAL_DOWNLOADS, &PROPOSED_OFF, 1).await;
    assert_eq!((later, replayed_later), (vec![], 0));
}

/// A browser session of `email` (signed in with TOTP when enrolled): its
/// cookie header and CSRF token.
async fn browser(ctx: &Ctx, email: &str, totp: Option<&[u8]>) -> (String, String) {
    ctx.advance(30_000);
    let code = totp.map(|s| ctx.code(s));
    let login = app::Identity(&ctx.app)
        .login(
            &app::RequestMeta::default(),
            email,
            PASSWORD,
            code.as_deref(),
            model::SessionKind::Browser,
        )
        .await
        .expect("browser login");
    let csrf = login.csrf.unwrap_or_default();
    let cookie = format!("custody_session={}; custody_csrf={csrf}", login.token);
    (cookie, csrf)
}

/// `application/x-www-form-urlencoded` of `fields`.
fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let pairs: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    pairs.join("&").into_bytes()
}

/// A page request with the browser session `cookie`: (status, body).
async fn web(
    ctx: &Ctx,
    cookie: &str,
    method: &'static str,
    path: &str,
    body: Option<Vec<u8>>,
) -> (u16, String) {
    let r = ctx
        .send(&Case {
            method,
            path: path.to_owned(),
            headers: vec![("cookie", cookie.to_owned())],
            body: match body {
                Some(b) => Payload::Raw(Some("application/x-www-form-urlencoded"), b),
                None => Payload::None,
            },
            ..Case::default()
        })
        .await;
    (
        r.status.as_u16(),
        String::from_utf8_lossy(&r.body).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_page_replays_and_applies_for_admins_only() {
    let ctx = Ctx::new().await;
    let member = ctx.staff("member").await;
    ctx.room(&member.token, "Designs").await;
    let (admin, csrf) = browser(&ctx, ADMIN_EMAIL, Some(&ctx.admin_totp)).await;
    let (member_cookie, member_csrf) = browser(&ctx, &member.email, None).await;
    let change = |csrf: &str, custom: &str, expected: &str| {
        form(&[
            ("csrf", csrf),
            ("custom", custom),
            ("disabled", ""),
            ("comment", "from the page"),
            ("expected_version", expected),
            ("days", "7"),
        ])
    };

    let (status, page) = web(&ctx, &admin, "GET", "/policies", None).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("In force: version 0") && page.contains("room.viewer"),
        "{page}"
    );
    let (status, _) = web(&ctx, &member_cookie, "GET", "/policies", None).await;
    assert_eq!(status, 403);
    let body = change(&member_csrf, NO_MEMBER_ROOMS, "0");
    let (status, _) = web(&ctx, &member_cookie, "POST", "/policies/apply", Some(body)).await;
    assert_eq!(status, 403);
    let body = change("forged", NO_MEMBER_ROOMS, "0");
    let (status, _) = web(&ctx, &admin, "POST", "/policies/apply", Some(body)).await;
    assert_eq!(status, 403, "a form without the session's CSRF token");

    let body = change(&csrf, NO_MEMBER_ROOMS, "0");
    let (status, page) = web(&ctx, &admin, "POST", "/policies/whatif", Some(body)).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Decisions that would change: 1.") && page.contains("room.create"),
        "{page}"
    );

    let body = change(&csrf, "@id(\"x\")\r\npermit (principal,", "0");
    let (status, page) = web(&ctx, &admin, "POST", "/policies/apply", Some(body)).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("line 2, column 19"), "{page}");

    let body = change(&csrf, NO_MEMBER_ROOMS, "0");
    let (status, _) = web(&ctx, &admin, "POST", "/policies/apply", Some(body)).await;
    assert_eq!(status, 303);
    let (_, page) = web(&ctx, &admin, "GET", "/policies", None).await;
    assert!(
        page.contains("In force: version 1") && page.contains("no_member_rooms"),
        "{page}"
    );
    let body = json!({"name": "After", "classification": "internal"});
    ctx.must(&member.token, "POST", "/rooms", body, 403).await;
}
