//! Share links through the API and their public pages, on SQLite and
//! PostgreSQL: made by who may share (and refused to the rest), capped ends,
//! passwords, download limits exact under concurrency, revocation at once,
//! pages that say revoked, expired, used up or wrong password and nothing
//! more, a link that closes with its creator's access, and every access
//! recorded with the link.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;

/// A room with a file, a manager (the admin, granted) and an owner member who
/// may download (and so share).
struct Shared {
    room: String,
    file: String,
    sharer: User,
}

async fn shared(ctx: &Ctx) -> Shared {
    let room = ctx.room(&ctx.admin, "Drawings").await;
    let admin_id = ctx
        .must(&ctx.admin, "GET", "/auth/me", Value::Null, 200)
        .await["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ctx.grant(&ctx.admin, &room, "user", &admin_id, "manager", None)
        .await;
    let file = ctx
        .upload(&ctx.admin, &room, "bracket.txt", b"bracket drawing v1\n")
        .await;
    let sharer = ctx.staff("member").await;
    ctx.grant(
        &ctx.admin,
        &room,
        "user",
        &sharer.id,
        "downloader",
        Some(ctx.now() + 10 * DAY),
    )
    .await;
    Shared {
        room,
        file: file["id"].as_str().unwrap_or_default().to_owned(),
        sharer,
    }
}

/// Makes a link as `who` with `body`; returns the answer.
async fn make(ctx: &Ctx, who: &str, file: &str, body: Value, want: u16) -> Value {
    ctx.must(who, "POST", &format!("/files/{file}/links"), body, want)
        .await
}

/// Whether `r` is the file as a copy marked for whoever holds the link (the
/// room's default delivery marks text files: a banner naming the link).
fn marked(r: &Resp) -> bool {
    let text = String::from_utf8_lossy(&r.body);
    text.contains("bracket drawing v1") && text.contains("issued to share link")
}

/// A public request on a link's page (no credentials).
async fn public(ctx: &Ctx, method: &'static str, path: &str, form: Option<&str>) -> Resp {
    let body = match form {
        Some(f) => Payload::Raw(
            Some("application/x-www-form-urlencoded"),
            f.as_bytes().to_vec(),
        ),
        None => Payload::None,
    };
    ctx.send(&Case {
        method,
        path: path.to_owned(),
        body,
        ..Case::default()
    })
    .await
}

async fn on_each_backend(test: impl AsyncFn(&Ctx)) {
    test(&Ctx::new().await).await;
    match postgres().await {
        Some(url) => test(&Ctx::on(Backend::Postgres(url)).await).await,
        None => eprintln!("links: NOT RUN on PostgreSQL"),
    }
}

#[tokio::test]
async fn a_link_opens_downloads_and_closes_on_both_backends() {
    on_each_backend(async |ctx: &Ctx| {
        let s = shared(ctx).await;
        // An outsider and an external user may not share; the sharer may.
        let outsider = ctx.staff("member").await;
        let r = ctx
            .call(
                &outsider.token,
                "POST",
                &format!("/files/{}/links", s.file),
                json!({}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 404, "{}", r.text());
        // The end asked for is cut to the sharer's grant (10 days).
        let link = make(
            ctx,
            &s.sharer.token,
            &s.file,
            json!({"expires_at": rfc3339(ctx.now() + 20 * DAY), "max_downloads": 2}),
            201,
        )
        .await;
        assert_eq!(link["expires_at"], json!(rfc3339(ctx.now() + 10 * DAY)));
        let path = link["path"].as_str().unwrap().to_owned();
        let page = public(ctx, "GET", &path, None).await;
        assert_eq!(page.status.as_u16(), 200, "{}", page.text());
        assert!(page.text().contains("bracket.txt"));
        for _ in 0..2 {
            let got = public(ctx, "GET", &format!("{path}/download"), None).await;
            assert_eq!(got.status.as_u16(), 200, "{}", got.text());
            assert!(marked(&got), "{}", got.text());
        }
        let used = public(ctx, "GET", &format!("{path}/download"), None).await;
        assert_eq!(used.status.as_u16(), 410);
        assert!(used.text().contains("used up"), "{}", used.text());
        // Listed for the room's manager (the admin) and for its maker.
        let all = ctx
            .must(
                &ctx.admin,
                "GET",
                &format!("/rooms/{}/links", s.room),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(all[0]["state"], "exhausted");
        assert_eq!(all[0]["downloads"], 2);
        assert!(
            all[0].get("path").is_none(),
            "the secret is shown once only"
        );
        let own = ctx
            .must(
                &s.sharer.token,
                "GET",
                &format!("/rooms/{}/links", s.room),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(own.as_array().unwrap().len(), 1);
        // Events name the link for every access.
        let id = link["id"].as_str().unwrap();
        let events = ctx.events().await;
        let downloads = events
            .iter()
            .filter(|e| e["action"] == "file.download" && e["detail"]["link"] == id)
            .count();
        assert_eq!(downloads, 2);
        assert!(events.iter().any(|e| e["action"] == "link.open"
            && e["outcome"] == "denied"
            && e["reason"] == "link_exhausted"));
        assert!(
            events
                .iter()
                .any(|e| e["action"] == "link.create" && e["target"] == format!("link:{id}"))
        );
    })
    .await;
}

/// Each closed or refused link says which, and an unknown one says only
/// "not available".
#[tokio::test]
async fn refused_links_say_which_and_nothing_more() {
    let ctx = Ctx::new().await;
    let s = shared(&ctx).await;
    let mk = async |body: Value| -> (String, String) {
        let made = make(&ctx, &s.sharer.token, &s.file, body, 201).await;
        let path = made["path"].as_str().unwrap().to_owned();
        (made["id"].as_str().unwrap().to_owned(), path)
    };
    let (revoked_id, revoked) = mk(json!({})).await;
    let (_, expired) = mk(json!({"expires_at": rfc3339(ctx.now() + DAY)})).await;
    let (_, guarded) = mk(json!({"password": "a long link password"})).await;
    let (_, viewing) = mk(json!({"mode": "view"})).await;
    let path = format!("/rooms/{}/links/{revoked_id}", s.room);
    let gone = ctx
        .must(&s.sharer.token, "DELETE", &path, Value::Null, 200)
        .await;
    assert_eq!(gone["state"], "revoked");
    ctx.advance(DAY + 1);
    for (label, method, path, form, status, says) in [
        ("revoked", "GET", revoked.clone(), None, 410, "revoked"),
        (
            "revoked download",
            "GET",
            format!("{revoked}/download"),
            None,
            410,
            "revoked",
        ),
        ("expired", "GET", expired.clone(), None, 410, "expired"),
        (
            "no password",
            "GET",
            format!("{guarded}/download"),
            None,
            403,
            "password is wrong",
        ),
        (
            "wrong password",
            "POST",
            format!("{guarded}/download"),
            Some("password=guess"),
            403,
            "password is wrong",
        ),
        (
            "view only",
            "GET",
            format!("{viewing}/download"),
            None,
            403,
            "viewed, not downloaded",
        ),
        (
            "unknown",
            "GET",
            "/l/not-a-link".to_owned(),
            None,
            404,
            "not available",
        ),
    ] {
        let r = public(&ctx, method, &path, form).await;
        assert_eq!(r.status.as_u16(), status, "{label}: {}", r.text());
        assert!(r.text().contains(says), "{label}: {}", r.text());
    }
    let r = public(
        &ctx,
        "POST",
        &format!("{guarded}/download"),
        Some("password=a+long+link+password"),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert!(marked(&r), "{}", r.text());
    // A view-only link opens its viewer; a password link's viewer needs the password.
    let r = public(&ctx, "GET", &format!("{viewing}/view"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    assert!(String::from_utf8_lossy(&r.body).contains("view only · 1 page(s)"));
    let r = public(&ctx, "GET", &format!("{guarded}/view"), None).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    let form = Some("password=a+long+link+password");
    let r = public(&ctx, "POST", &format!("{guarded}/view"), form).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    // Bad settings are refused with their codes.
    for (body, code) in [
        (json!({"max_downloads": 0}), "link_invalid"),
        (json!({"password": "short"}), "password_too_short"),
        (json!({"mode": "print"}), "unknown_name"),
        (
            json!({"recipients": ["ana@vendor.example"]}),
            "mail_unavailable",
        ),
        (
            json!({"recipients": ["ana@vendor.example\r\nBcc: x@evil.example"]}),
            "invalid_email",
        ),
        (
            json!({"expires_at": rfc3339(ctx.now() - 1000)}),
            "expiry_in_past",
        ),
    ] {
        let r = ctx
            .call(
                &s.sharer.token,
                "POST",
                &format!("/files/{}/links", s.file),
                body.clone(),
            )
            .await;
        assert_eq!(r.json()["error"]["code"], code, "{body}: {}", r.text());
    }
}

/// A link never gives more than its creator may still take: when the
/// creator's grant is revoked, the link's file is "not available".
#[tokio::test]
async fn a_link_closes_with_its_creators_access() {
    let ctx = Ctx::new().await;
    let s = shared(&ctx).await;
    let path = make(&ctx, &s.sharer.token, &s.file, json!({}), 201).await["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        public(&ctx, "GET", &format!("{path}/download"), None)
            .await
            .status
            .as_u16(),
        200
    );
    let grants = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{}/grants", s.room),
            Value::Null,
            200,
        )
        .await;
    let grant = grants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["subject_id"] == s.sharer.id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ctx.must(
        &ctx.admin,
        "DELETE",
        &format!("/rooms/{}/grants/{grant}", s.room),
        Value::Null,
        204,
    )
    .await;
    let r = public(&ctx, "GET", &format!("{path}/download"), None).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text());
    assert!(r.text().contains("not available"));
}

/// 20 concurrent downloads of a link limited to 5 give exactly 5 files and
/// 15 refusals, on both backends.
#[tokio::test]
async fn twenty_concurrent_downloads_of_a_link_limited_to_five() {
    on_each_backend(async |ctx: &Ctx| {
        let s = shared(ctx).await;
        let path = make(
            ctx,
            &s.sharer.token,
            &s.file,
            json!({"max_downloads": 5}),
            201,
        )
        .await["path"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = format!("{path}/download");
        let all = join_all((0..20).map(|_| public(ctx, "GET", &url, None))).await;
        let files = all
            .iter()
            .filter(|r| r.status.as_u16() == 200 && marked(r))
            .count();
        let refused = all.iter().filter(|r| r.status.as_u16() == 410).count();
        assert_eq!((files, refused), (5, 15));
        let listed = ctx
            .must(
                &ctx.admin,
                "GET",
                &format!("/rooms/{}/links", s.room),
                Value::Null,
                200,
            )
            .await;
        assert_eq!(listed[0]["downloads"], 5);
    })
    .await;
}

/// A wrong-password POST or the right one, from `peer`.
async fn guess(ctx: &Ctx, path: &str, password: &str, peer: &str) -> Resp {
    ctx.send(&Case {
        method: "POST",
        path: format!("{path}/download"),
        body: Payload::Raw(
            Some("application/x-www-form-urlencoded"),
            format!("password={password}").into_bytes(),
        ),
        peer: Some(peer.parse().unwrap()),
        ..Case::default()
    })
    .await
}

/// The seconds a throttled answer says to wait.
fn wait_of(r: &Resp) -> i64 {
    let text = r.text();
    let at = text
        .find("wait ")
        .unwrap_or_else(|| panic!("no wait in {text}"));
    text[at + 5..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no number in {text}"))
}

/// 1,000 wrong passwords at one link from one address are throttled with
/// growing waits — only the first few are even checked — while the right
/// password from another address opens the link at once; the waits are kept
/// in the database (both backends).
#[tokio::test]
async fn a_thousand_wrong_passwords_wait_while_another_address_gets_in() {
    on_each_backend(async |ctx: &Ctx| {
        let s = shared(ctx).await;
        let made = make(
            ctx,
            &s.sharer.token,
            &s.file,
            json!({"password": "a long link password"}),
            201,
        )
        .await;
        let path = made["path"].as_str().unwrap().to_owned();
        let attacker = "203.0.113.66:50000";
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let mut waits = Vec::new();
        for _ in 0..1_000 {
            let r = guess(ctx, &path, "guess", attacker).await;
            *statuses.entry(r.status.as_u16()).or_default() += 1;
            if r.status.as_u16() == 429 {
                waits.push(wait_of(&r));
            }
        }
        // Five free failures were checked; every other guess waited.
        assert_eq!(statuses.get(&403), Some(&5), "{statuses:?}");
        assert_eq!(statuses.get(&429), Some(&995), "{statuses:?}");
        assert!(
            waits.iter().all(|w| *w == 1),
            "the clock stood still: {:?}",
            &waits[..3]
        );
        // Each wait over, one more guess is checked and the next wait doubles.
        let mut expected = 1;
        for _ in 0..5 {
            ctx.advance(expected * 1_000);
            let r = guess(ctx, &path, "guess", attacker).await;
            assert_eq!(
                r.status.as_u16(),
                403,
                "checked after the wait: {}",
                r.text()
            );
            let r = guess(ctx, &path, "guess", attacker).await;
            assert_eq!(r.status.as_u16(), 429, "{}", r.text());
            expected *= 2;
            assert_eq!(wait_of(&r), expected, "doubled");
        }
        // Even the right password waits from the guesser's address…
        let r = guess(ctx, &path, "a+long+link+password", attacker).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text());
        // …while another address gets in at once.
        let r = guess(ctx, &path, "a+long+link+password", "198.51.100.20:40000").await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text());
        assert!(marked(&r), "{}", r.text());
        // The throttled tries are recorded as refusals of their own.
        let events = ctx.events().await;
        let throttled = events
            .iter()
            .filter(|e| e["action"] == "link.open" && e["reason"] == "link_throttled")
            .count();
        assert_eq!(throttled, 1_001);
    })
    .await;
}

/// A browser without an account holding a link: its cookie, once a code was asked.
struct Holder<'a> {
    ctx: &'a Ctx,
    path: String,
    cookie: Option<String>,
}

impl Holder<'_> {
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

    /// Proves `address` with the code mailed to it (read from the outbox).
    async fn verify(&mut self, address: &str) {
        let r = self
            .send("POST", "/address", Some(&format!("email={address}")))
            .await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap_or_default();
        self.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
        let code = mailed_code(self.ctx, address).await;
        let r = self
            .send("POST", "/code", Some(&format!("code={code}")))
            .await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    }
}

/// The code in the newest message to `address` in the outbox.
async fn mailed_code(ctx: &Ctx, address: &str) -> String {
    let mut tx = ctx.app.store().read().await.unwrap();
    let mut codes = Vec::new();
    for id in tx.due_mail(ctx.now() + DAY, 1000).await.unwrap() {
        let mail = tx.get_mail(id).await.unwrap().unwrap();
        if mail.recipient == address
            && let Some(rest) = mail.body_text.split("Your code: ").nth(1)
        {
            codes.push(rest.chars().take(6).collect::<String>());
        }
    }
    codes.pop().expect("a code was mailed")
}

/// A room that requires agreements hands its files through links only to
/// named recipients, each of whom signs every requirement, click-through,
/// on the link before the first byte — the newest template of a required
/// kind, a named template as it is — with the text's hash checked, the
/// signature kept with the text and recorded; on both backends.
#[tokio::test]
async fn a_recipient_signs_the_rooms_agreements_before_the_first_byte() {
    let mut backends = vec![Backend::Sqlite];
    match postgres().await {
        Some(url) => backends.push(Backend::Postgres(url)),
        None => eprintln!("links: NOT RUN on PostgreSQL"),
    }
    for backend in backends {
        let ctx = Ctx::with(backend, |s| s.mail_enabled = true).await;
        recipients_sign_first(&ctx).await;
    }
}

async fn recipients_sign_first(ctx: &Ctx) {
    let s = shared(ctx).await;
    let (ana, bob) = ("ana@vendor.example", "bob@vendor.example");
    let bound = json!({"recipients": [ana, bob]});
    // A link bound to nobody, made before the room required anything.
    let anyone = make(ctx, &s.sharer.token, &s.file, json!({}), 201).await["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let room = format!("/rooms/{}", s.room);
    let required = json!({"required_agreements": ["nda", "export-terms"]});
    ctx.must(&ctx.admin, "PATCH", &room, required, 200).await;
    // No template can show the requirements yet; nobody could sign a link bound to nobody.
    for (body, code) in [
        (bound.clone(), "link_agreement_unavailable"),
        (json!({}), "link_recipients_required"),
    ] {
        let path = format!("/files/{}/links", s.file);
        let r = ctx.call(&s.sharer.token, "POST", &path, body).await;
        assert_eq!(r.status.as_u16(), 400, "{}", r.text());
        assert_eq!(r.json()["error"]["code"], code, "{}", r.text());
    }
    let r = public(ctx, "GET", &format!("{anyone}/download"), None).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text());
    assert!(r.text().contains("accept agreements first"), "{}", r.text());

    let templates = [
        ("old-nda", "nda", "Old NDA", "The old words."),
        (
            "visitor-nda",
            "nda",
            "Visitor NDA",
            "Keep it secret.\n\nReturn it.",
        ),
        ("export-terms", "licence", "Export terms", "No re-export."),
    ];
    for (name, kind, title, text) in templates {
        let t = json!({"kind": kind, "title": title, "text": text});
        let path = format!("/agreement-templates/{name}");
        ctx.must(&ctx.admin, "PUT", &path, t, 200).await;
        ctx.advance(1000);
    }
    let made = make(ctx, &s.sharer.token, &s.file, bound, 201).await;
    let link_id = made["id"].as_str().unwrap().to_owned();
    let mut holder = Holder {
        ctx,
        path: made["path"].as_str().unwrap().to_owned(),
        cookie: None,
    };
    holder.verify(ana).await;

    // The newest NDA first; nothing is handed out before both are signed.
    let page = holder.send("GET", "", None).await;
    assert_eq!(page.status.as_u16(), 200);
    let text = String::from_utf8_lossy(&page.body).into_owned();
    assert!(
        text.contains("Visitor NDA") && text.contains("2 agreements"),
        "{text}"
    );
    assert!(!text.contains("The old words."), "{text}");
    for tail in ["/download", "/view"] {
        let r = holder.send("GET", tail, None).await;
        assert_eq!(r.status.as_u16(), 403, "{tail}: {}", r.text());
        assert!(
            r.text().contains("Agreement needed"),
            "{tail}: {}",
            r.text()
        );
    }
    let sha = |text: &str| hex::encode(sha256(text.as_bytes()));
    let sign = |requirement: &str, hash: String| {
        format!("requirement={requirement}&text_sha256={hash}&accept=yes")
    };
    // The text shown must be the text in force; an unticked box signs nothing.
    let r = holder
        .send("POST", "/sign", Some(&sign("nda", sha("The old words."))))
        .await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text());
    let unticked = format!(
        "requirement=nda&text_sha256={}",
        sha("Keep it secret.\n\nReturn it.")
    );
    let r = holder.send("POST", "/sign", Some(&unticked)).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text());
    let r = holder
        .send(
            "POST",
            "/sign",
            Some(&sign("nda", sha("Keep it secret.\n\nReturn it."))),
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let page = holder.send("GET", "", None).await;
    let text = String::from_utf8_lossy(&page.body).into_owned();
    assert!(
        text.contains("No re-export.") && text.contains("one agreement"),
        "{text}"
    );
    assert_eq!(
        holder.send("GET", "/download", None).await.status.as_u16(),
        403
    );
    let r = holder
        .send(
            "POST",
            "/sign",
            Some(&sign("export-terms", sha("No re-export."))),
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());

    // Signed: the viewer's pages and the download, marked for the recipient.
    let view = holder.send("GET", "/view", None).await;
    assert_eq!(view.status.as_u16(), 200, "{}", view.text());
    let html = String::from_utf8_lossy(&view.body).into_owned();
    let src = html
        .split("src=\"")
        .find_map(|rest| rest.split('"').next().filter(|s| s.contains("/pages/1")))
        .expect("the first page's image")
        .to_owned();
    let tail = src.strip_prefix(&holder.path).unwrap().to_owned();
    let image = holder.send("GET", &tail, None).await;
    assert_eq!(image.status.as_u16(), 200, "{}", image.text());
    assert!(
        image
            .header("content-type")
            .unwrap_or_default()
            .starts_with("image/")
    );
    let page_mark = image
        .header("custody-mark-id")
        .unwrap_or_default()
        .to_owned();
    let copy = holder.send("GET", "/download", None).await;
    assert_eq!(copy.status.as_u16(), 200, "{}", copy.text());
    assert!(marked(&copy), "{}", copy.text());
    assert!(String::from_utf8_lossy(&copy.body).contains(ana));

    // Bob signs for himself.
    let mut other = Holder {
        ctx,
        path: holder.path.clone(),
        cookie: None,
    };
    other.verify(bob).await;
    let page = other.send("GET", "", None).await;
    assert!(String::from_utf8_lossy(&page.body).contains("2 agreements"));
    assert_eq!(
        other.send("GET", "/download", None).await.status.as_u16(),
        403
    );

    // The ledger: each signature once, the refused one, the view's page mark.
    let events = ctx.events().await;
    let of = |action: &str, outcome: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .collect()
    };
    let signed = of("link.sign", "allowed");
    let mut names: Vec<&str> = signed
        .iter()
        .map(|e| e["detail"]["template"].as_str().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["export-terms", "visitor-nda"], "{signed:?}");
    assert!(
        signed
            .iter()
            .all(|e| e["detail"]["link"] == link_id.as_str() && e["detail"]["recipient"] == ana)
    );
    let refused = of("link.sign", "denied");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["reason"], "text_mismatch");
    let views = of("file.view", "allowed");
    let view = views
        .iter()
        .find(|e| e["mark_id"] == page_mark.as_str())
        .expect("the view's event carries the page's mark id");
    assert_eq!(view["detail"]["link"], link_id.as_str());
    assert_eq!(view["detail"]["recipient"], ana);
    // The signature keeps the text the recipient accepted.
    let mut tx = ctx.app.store().read().await.unwrap();
    let kept = tx
        .link_signatures(link_id.parse().unwrap(), ana)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .any(|k| k.text == "Keep it secret.\n\nReturn it.")
    );
}
