//! Destruction attestations, on SQLite and PostgreSQL: offboarding a party
//! opens a request listing every copy its users took (a marked copy and an
//! original here, nothing another party took), frozen into the text to sign;
//! the officer's secret page refuses unknown secrets, wrong codes and wrong
//! hashes with stable codes, and records the signature; an overdue request
//! reminds its officer and escalates to the security officers once a week
//! (test clock); sending it again makes a new link and voids the old one.

use serde_json::{Value, json};

use crate::util::{Backend, Case, Ctx, Payload, Resp, postgres, sha256};

const DAY: i64 = 86_400_000;
const BASE: &str = "https://custody.test";
const BLADE: &[u8] = b"bracket B7, revision C: 40 mm bore, 4 x M6\n";
const SPEC: &[u8] = b"spec S1: tolerances +/- 0.05 mm\n";

async fn on_each_backend(test: impl AsyncFn(&Ctx)) {
    let mail = |s: &mut app::Settings| {
        s.mail_enabled = true;
        s.public_url = Some(BASE.to_owned());
    };
    test(&Ctx::with(Backend::Sqlite, mail).await).await;
    match postgres().await {
        Some(url) => test(&Ctx::with(Backend::Postgres(url), mail).await).await,
        None => eprintln!("attestations: NOT RUN on PostgreSQL"),
    }
}

/// The text bodies of the outbox's messages to `address`, oldest first.
async fn mails_to(ctx: &Ctx, address: &str) -> Vec<String> {
    let mut tx = ctx.app.store().read().await.unwrap();
    let mut out = Vec::new();
    for id in tx.due_mail(ctx.now() + 365 * DAY, 1000).await.unwrap() {
        let mail = tx.get_mail(id).await.unwrap().unwrap();
        if mail.recipient == address {
            out.push(mail.body_text);
        }
    }
    out
}

/// The signing page's path in the newest request mailed to `address`.
async fn mailed_page(ctx: &Ctx, address: &str) -> String {
    let found = mails_to(ctx, address)
        .await
        .into_iter()
        .rev()
        .find_map(|m| {
            m.split(&format!("{BASE}/a/")).nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        });
    format!("/a/{}", found.expect("a request was mailed"))
}

/// The code in the newest message to `address`.
async fn mailed_code(ctx: &Ctx, address: &str) -> String {
    let found = mails_to(ctx, address)
        .await
        .into_iter()
        .rev()
        .find_map(|m| {
            m.split("Your code: ")
                .nth(1)
                .map(|rest| rest.chars().take(6).collect::<String>())
        });
    found.expect("a code was mailed")
}

/// A browser without an account on an attestation's page: its cookie, once
/// a code was asked.
struct Officer<'a> {
    ctx: &'a Ctx,
    path: String,
    cookie: Option<String>,
}

impl Officer<'_> {
    async fn send(&self, method: &'static str, tail: &str, form: Option<&str>) -> Resp {
        let body = match form {
            Some(f) => Payload::Raw(
                Some("application/x-www-form-urlencoded"),
                f.as_bytes().to_vec(),
            ),
            None => Payload::None,
        };
        let headers = self.cookie.iter().map(|c| ("cookie", c.clone())).collect();
        self.ctx
            .send(&Case {
                method,
                path: format!("{}{tail}", self.path),
                body,
                headers,
                ..Case::default()
            })
            .await
    }

    /// Asks for a code: the browser's session starts.
    async fn ask_code(&mut self) {
        let r = self.send("POST", "/address", None).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap_or_default();
        self.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
    }
}

/// The stable code a public page shows (`data-code`), or "" when none.
fn page_code(r: &Resp) -> String {
    let html = String::from_utf8_lossy(&r.body);
    html.split("data-code=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// A public request checked against its status and code.
async fn refused(
    o: &Officer<'_>,
    method: &'static str,
    tail: &str,
    form: Option<&str>,
    want: (u16, &str),
) {
    let r = o.send(method, tail, form).await;
    assert_eq!(
        (r.status.as_u16(), page_code(&r).as_str()),
        want,
        "{method} {}{tail}: {}",
        o.path,
        String::from_utf8_lossy(&r.body)
    );
}

/// A party with an engineer, who downloads a marked copy and an original;
/// a user of another party downloads too. Returns (party, engineer email,
/// file ids).
async fn downloads(ctx: &Ctx, name: &str) -> (String, String, [String; 2]) {
    let admin = &ctx.admin;
    let party = ctx.party(name).await;
    let engineer = ctx.external(&party).await;
    let other_party = ctx.party(&format!("{name} Rival")).await;
    let other = ctx.external(&other_party).await;
    let blades = ctx.room(admin, &format!("{name} Blades")).await;
    let specs = ctx.room(admin, &format!("{name} Specs")).await;
    let original = json!({"downloader": "original", "contributor": "marked", "manager": "original", "unmarkable": "deny"});
    ctx.must(
        admin,
        "PUT",
        &format!("/rooms/{specs}/delivery"),
        original,
        200,
    )
    .await;
    for (room, who) in [
        (&blades, &engineer.id),
        (&specs, &engineer.id),
        (&blades, &other.id),
    ] {
        ctx.grant(admin, room, "user", who, "downloader", None)
            .await;
    }
    let blade = ctx.upload(admin, &blades, "b7.txt", BLADE).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spec = ctx.upload(admin, &specs, "s1.txt", SPEC).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, file) in [
        (&engineer.token, &blade),
        (&engineer.token, &spec),
        (&other.token, &blade),
    ] {
        let path = format!("/files/{file}/content");
        ctx.must(who, "GET", &path, Value::Null, 200).await;
        ctx.advance(1000);
    }
    (party, engineer.email, [blade, spec])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_opens_an_attestation_the_officer_signs() {
    on_each_backend(async |ctx: &Ctx| {
        let admin = &ctx.admin;
        let (party, engineer, [blade, spec]) = downloads(ctx, "Bladeworks").await;
        let officer = "officer@bladeworks.example";
        let offboard = format!("/parties/{party}/offboard");

        // Bad input refuses the whole offboarding.
        for (body, code) in [
            (
                json!({"reason": "ended", "attestation_days": 0}),
                "bad_attestation_days",
            ),
            (
                json!({"reason": "ended", "officer_email": "not an address"}),
                "invalid_email",
            ),
        ] {
            let r = ctx.call(admin, "POST", &offboard, body).await;
            assert_eq!(r.json()["error"]["code"], code, "{}", r.text());
        }
        let p = ctx
            .must(admin, "GET", &format!("/parties/{party}"), Value::Null, 200)
            .await;
        assert_eq!(p["status"], "active", "nothing was offboarded: {p}");

        let why = json!({"reason": "the subcontract ended", "officer_email": officer});
        let out = ctx.must(admin, "POST", &offboard, why, 200).await;
        let id = out["attestation"].as_str().unwrap().to_owned();

        // The request lists the engineer's two copies, nothing the rival took.
        let list = ctx
            .must(
                admin,
                "GET",
                &format!("/attestations?party={party}"),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list["items"][0]["state"], "open");
        let a = ctx
            .must(
                admin,
                "GET",
                &format!("/attestations/{id}"),
                Value::Null,
                200,
            )
            .await;
        let items = a["items"].as_array().unwrap();
        let got: Vec<(&str, &str, &str, bool, &str)> = items
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().unwrap(),
                    c["file"].as_str().unwrap(),
                    c["path"].as_str().unwrap(),
                    c["mark_id"].is_string(),
                    c["by"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("marked", blade.as_str(), "b7.txt", true, engineer.as_str()),
                (
                    "download",
                    spec.as_str(),
                    "s1.txt",
                    false,
                    engineer.as_str()
                ),
            ],
            "{a}"
        );
        for (c, content) in items.iter().zip([BLADE, SPEC]) {
            assert_eq!(c["sha256"], hex::encode(sha256(content)), "{c}");
            assert_eq!(c["version"], 1, "{c}");
        }
        let events = ctx.events().await;
        let issued = events
            .iter()
            .find(|e| e["seq"] == items[0]["event"])
            .expect("the copy's event");
        assert_eq!(issued["mark_id"], items[0]["mark_id"], "{issued}");
        let text = a["text"].as_str().unwrap().to_owned();
        assert!(text.starts_with("On behalf of Bladeworks,"), "{text}");
        assert!(text.contains("b7.txt") && text.contains("s1.txt"), "{text}");
        assert_eq!(a["text_sha256"], hex::encode(sha256(text.as_bytes())));
        assert_eq!(a["officer_email"], officer);
        let open = events
            .iter()
            .find(|e| e["action"] == "attestation.open")
            .expect("attestation.open");
        assert_eq!(open["target"], format!("attestation:{id}"));
        assert_eq!(open["detail"]["copies"], 2);

        // Unknown secrets are not found, and say nothing more.
        let page = mailed_page(ctx, officer).await;
        let strangers = [
            "/a/nothing",
            "/a/0000000000000000000000000000000000000000000",
        ];
        let mut bodies = Vec::new();
        for path in strangers {
            let o = Officer {
                ctx,
                path: path.to_owned(),
                cookie: None,
            };
            refused(&o, "GET", "", None, (404, "not_found")).await;
            refused(&o, "POST", "/address", None, (404, "not_found")).await;
            bodies.push(o.send("GET", "", None).await.body);
        }
        assert_eq!(
            bodies[0], bodies[1],
            "no secret looks different from another"
        );

        // The officer: a code, then the signature.
        let mut o = Officer {
            ctx,
            path: page.clone(),
            cookie: None,
        };
        let first = o.send("GET", "", None).await;
        assert!(String::from_utf8_lossy(&first.body).contains("o***@bladeworks.example"));
        refused(
            &o,
            "POST",
            "/code",
            Some("code=123456"),
            (403, "attestation_code"),
        )
        .await;
        o.ask_code().await;
        let code = mailed_code(ctx, officer).await;
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let sha = hex::encode(sha256(text.as_bytes()));
        let sign = |hash: &str, name: &str, tick: bool| {
            let tick = if tick { "&accept=yes" } else { "" };
            format!("text_sha256={hash}&name={name}{tick}")
        };
        // Signing before the code is verified is refused.
        refused(
            &o,
            "POST",
            "/sign",
            Some(&sign(&sha, "Ada", true)),
            (403, "attestation_code"),
        )
        .await;
        refused(
            &o,
            "POST",
            "/code",
            Some(&format!("code={wrong}")),
            (403, "attestation_code"),
        )
        .await;
        let r = o.send("POST", "/code", Some(&format!("code={code}"))).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());
        let shown = o.send("GET", "", None).await;
        let html = String::from_utf8_lossy(&shown.body).into_owned();
        assert!(
            html.contains("Verified as officer@bladeworks.example"),
            "{html}"
        );
        assert!(html.contains(&sha), "{html}");
        let stale = hex::encode(sha256(b"another text"));
        for (form, want) in [
            (sign(&stale, "Ada+Lovelace", true), (409, "text_mismatch")),
            (sign(&sha, "Ada+Lovelace", false), (400, "bad_attestation")),
            (sign(&sha, "", true), (400, "bad_attestation")),
        ] {
            refused(&o, "POST", "/sign", Some(&form), want).await;
        }
        let r = o
            .send("POST", "/sign", Some(&sign(&sha, "Ada+Lovelace", true)))
            .await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());
        let done = o.send("GET", "", None).await;
        assert_eq!(page_code(&done), "signed");
        refused(
            &o,
            "POST",
            "/sign",
            Some(&sign(&sha, "Ada+Lovelace", true)),
            (409, "attestation_signed"),
        )
        .await;

        // Recorded: the signature, its events, and what certificates read.
        let a = ctx
            .must(
                admin,
                "GET",
                &format!("/attestations/{id}"),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(a["state"], "signed", "{a}");
        let s = &a["signature"];
        assert_eq!(
            (s["name"].as_str(), s["email"].as_str()),
            (Some("Ada Lovelace"), Some(officer)),
            "{s}"
        );
        assert_eq!(s["text_sha256"], sha.as_str());
        let events = ctx.events().await;
        let of = |action: &str, outcome: &str| -> Vec<Value> {
            events
                .iter()
                .filter(|e| e["action"] == action && e["outcome"] == outcome)
                .cloned()
                .collect()
        };
        let signed = of("attestation.sign", "allowed");
        assert_eq!(signed.len(), 1, "{signed:?}");
        assert_eq!(signed[0]["detail"]["name"], "Ada Lovelace");
        assert_eq!(signed[0]["detail"]["text_sha256"], sha.as_str());
        let denied = of("attestation.sign", "denied");
        assert_eq!(denied.len(), 1, "{denied:?}");
        assert_eq!(denied[0]["reason"], "text_mismatch");
        assert_eq!(of("attestation.verify", "denied").len(), 1);
        assert_eq!(of("attestation.code", "allowed").len(), 1);
        let party_id = party.parse().unwrap();
        let mut tx = ctx.app.store().read().await.unwrap();
        let kept = app::signed_attestations(&mut tx, party_id).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].text.as_str(), kept[0].text_sha256.as_str()),
            (text.as_str(), sha.as_str())
        );
        assert_eq!(kept[0].signer_email, officer);
        // A signed request cannot be sent again.
        let r = ctx
            .call(
                admin,
                "POST",
                &format!("/attestations/{id}/send"),
                json!({}),
            )
            .await;
        assert_eq!(
            r.json()["error"]["code"],
            "attestation_signed",
            "{}",
            r.text()
        );
        drop(tx);

        // Destroying a room the party had access to: its certificate carries
        // the party's signed declaration, text and digest.
        let file = ctx
            .must(admin, "GET", &format!("/files/{blade}"), Value::Null, 200)
            .await;
        let room = file["room_id"].as_str().unwrap().to_owned();
        let path = format!("/rooms/{room}/destructions");
        let reason = json!({"reason": "Bladeworks offboarded"});
        let d = ctx.must(admin, "POST", &path, reason, 201).await;
        let did = d["id"].as_str().unwrap().to_owned();
        let path = format!("/rooms/{room}/destructions/{did}/confirm");
        let shown = json!({"manifest_sha256": d["manifest_sha256"]});
        ctx.must(admin, "POST", &path, shown, 200).await;
        let path = format!("/destructions/{did}/certificate");
        let cert = ctx.must(admin, "GET", &path, Value::Null, 200).await;
        let note = cert["note"].as_str().unwrap();
        let body: Value = serde_json::from_str(note.split("\n\n").next().unwrap()).unwrap();
        let declarations = body["declarations"].as_array().unwrap();
        assert_eq!(declarations.len(), 1, "{body}");
        assert_eq!(declarations[0]["text"], text.as_str());
        assert_eq!(declarations[0]["text_sha256"], sha.as_str());
        assert_eq!(declarations[0]["signed_by"]["email"], officer);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_attestation_reminds_and_escalates_once_a_week() {
    on_each_backend(async |ctx: &Ctx| {
        let admin = &ctx.admin;
        let secoff = ctx.staff("security_officer").await;
        let (party, engineer, _) = downloads(ctx, "Rotorline").await;
        let why = json!({"reason": "ended", "attestation_days": 2});
        let id = ctx
            .must(
                admin,
                "POST",
                &format!("/parties/{party}/offboard"),
                why,
                200,
            )
            .await["attestation"]
            .as_str()
            .unwrap()
            .to_owned();
        // No address given: the party's first user is its officer.
        let a = ctx
            .must(
                admin,
                "GET",
                &format!("/attestations/{id}"),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(a["officer_email"], engineer.as_str(), "{a}");
        let first_page = mailed_page(ctx, &engineer).await;

        let sweep = || async {
            app::Attestations(&ctx.app)
                .sweep_attestations()
                .await
                .unwrap()
        };
        // (clock moved by, recorded by the sweep, reminders, escalations, state)
        let steps: &[(i64, usize, i64, i64, &str)] = &[
            (DAY, 0, 0, 0, "open"),
            (DAY, 2, 1, 1, "overdue"),
            (0, 0, 1, 1, "overdue"),
            (6 * DAY, 0, 1, 1, "overdue"),
            (DAY, 2, 2, 2, "overdue"),
        ];
        for (i, (advance, recorded, reminders, escalations, state)) in steps.iter().enumerate() {
            ctx.advance(*advance);
            assert_eq!(sweep().await, *recorded, "step {i}");
            let a = ctx
                .must(
                    admin,
                    "GET",
                    &format!("/attestations/{id}"),
                    Value::Null,
                    200,
                )
                .await;
            assert_eq!(
                (
                    a["reminders"].as_i64(),
                    a["escalations"].as_i64(),
                    a["state"].as_str()
                ),
                (Some(*reminders), Some(*escalations), Some(*state)),
                "step {i}: {a}"
            );
        }
        let events = ctx.events().await;
        for action in ["attestation.remind", "attestation.escalate"] {
            let n = events
                .iter()
                .filter(|e| e["action"] == action && e["target"] == format!("attestation:{id}"))
                .count();
            assert_eq!(n, 2, "{action}");
        }
        // The officer is mailed a reminder with a new link; the old one is void.
        let reminders = mails_to(ctx, &engineer).await;
        assert_eq!(
            reminders
                .iter()
                .filter(|m| m.contains("is overdue"))
                .count(),
            2
        );
        let page = mailed_page(ctx, &engineer).await;
        assert_ne!(page, first_page);
        let old = Officer {
            ctx,
            path: first_page,
            cookie: None,
        };
        refused(&old, "GET", "", None, (404, "not_found")).await;
        // The security officer is told (and mailed at once: a security notice).
        let told = ctx
            .must(&secoff.token, "GET", "/notifications", Value::Null, 200)
            .await;
        let escalated = told["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "attestation.escalate")
            .count();
        assert_eq!(escalated, 2, "{told}");
        assert!(app::notify::digest::critical("attestation.escalate"));

        // An admin sends it to another officer: a new link, the last one void.
        let r = ctx
            .must(
                admin,
                "POST",
                &format!("/attestations/{id}/send"),
                json!({"officer_email": "cso@rotorline.example"}),
                200,
            )
            .await;
        let path = r["path"].as_str().unwrap().to_owned();
        assert_eq!(r["attestation"]["officer_email"], "cso@rotorline.example");
        assert_eq!(mailed_page(ctx, "cso@rotorline.example").await, path);
        let last = Officer {
            ctx,
            path: page,
            cookie: None,
        };
        refused(&last, "GET", "", None, (404, "not_found")).await;
        let mut o = Officer {
            ctx,
            path,
            cookie: None,
        };
        o.ask_code().await;
        assert_eq!(mailed_code(ctx, "cso@rotorline.example").await.len(), 6);
    })
    .await;
}
