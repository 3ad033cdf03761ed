//! Shared fixtures of the API tests: an `App` on a temporary directory (SQLite,
//! or PostgreSQL in a fresh schema) with a manual clock, the router driven
//! without a socket, helpers that act through the API as the admin, and the
//! one `check` helper through which every table goes. The admin, and every
//! owner admin and security officer the fixtures make, enrol TOTP at once:
//! their accounts must use it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Prefix of every API path.
pub const V1: &str = "/api/v1";
pub const ADMIN_EMAIL: &str = "admin@owner.example";
/// The password of every user the fixtures create.
pub const PASSWORD: &str = "correct horse battery";
/// The manual clock starts here (2025-06-15).
pub const T0: i64 = 1_750_000_000_000;
/// The configured upload limit.
pub const UPLOAD_LIMIT: u64 = 1 << 20;
/// Plaintext bytes per chunk, small so that files span several chunks.
pub const CHUNK: u32 = 4096;

/// A clock the test moves by hand.
pub struct ManualClock(AtomicI64);

impl app::Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which metadata database the App runs on.
pub enum Backend {
    Sqlite,
    /// A URL whose connections use a fresh schema.
    Postgres(String),
}

/// One App with its router, temporary directory, clock and admin token.
pub struct Ctx {
    pub app: app::App,
    router: Router,
    clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    /// Bearer token of the bootstrap admin (signed in with TOTP).
    pub admin: String,
    /// The bootstrap admin's TOTP secret.
    pub admin_totp: Vec<u8>,
    pub owner_party: String,
    seq: AtomicU64,
}

/// A user made by the fixtures, signed in.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub party: String,
    pub token: String,
    /// The TOTP secret, when enrolled.
    pub totp: Option<Vec<u8>>,
}

/// A response, fully read.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(600)
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request body.
#[derive(Default, Clone)]
pub enum Payload {
    #[default]
    None,
    Json(Value),
    /// Raw bytes with a content type (`None`: no `Content-Type` header).
    Raw(Option<&'static str>, Vec<u8>),
}

/// One row of a table: a request and what it must answer.
#[derive(Default, Clone)]
pub struct Case {
    /// Who asks, for failure messages.
    pub label: String,
    /// Bearer token; `None` sends none.
    pub who: Option<String>,
    pub method: &'static str,
    /// The whole path (most start with [`V1`]).
    pub path: String,
    pub body: Payload,
    pub headers: Vec<(&'static str, String)>,
    /// Whether to send `Content-Length` for raw bodies.
    pub no_length: bool,
    /// The peer address the request comes from (none, as without a socket, when unset).
    pub peer: Option<std::net::SocketAddr>,
    pub want_status: u16,
    /// The error code, for error answers.
    pub want_code: Option<&'static str>,
    /// A piece the error message must contain.
    pub want_message: Option<&'static str>,
}

/// Sends `case` and checks its answer; panics with the row on a mismatch.
pub async fn check(ctx: &Ctx, case: Case) -> Resp {
    match try_check(ctx, &case).await {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// [`check`] that returns the mismatch instead of panicking (to list every
/// failure of a large table at once).
pub async fn try_check(ctx: &Ctx, case: &Case) -> Result<Resp, String> {
    let resp = ctx.send(case).await;
    let row = format!("{} {} as {}", case.method, case.path, case.label);
    let row: String = row.chars().take(300).collect();
    if resp.status.as_u16() != case.want_status {
        return Err(format!(
            "{row}: status {} want {} — {}",
            resp.status.as_u16(),
            case.want_status,
            resp.text()
        ));
    }
    if resp.status.as_u16() >= 400 {
        check_error_shape(&resp).map_err(|e| format!("{row}: {e} — {}", resp.text()))?;
        let body = resp.json();
        let code = body["error"]["code"].as_str().unwrap_or_default();
        if let Some(want) = case.want_code
            && code != want
        {
            return Err(format!("{row}: code `{code}` want `{want}`"));
        }
        let message = body["error"]["message"].as_str().unwrap_or_default();
        if let Some(want) = case.want_message
            && !message.contains(want)
        {
            return Err(format!("{row}: message `{message}` lacks `{want}`"));
        }
    }
    Ok(resp)
}

/// Every error: JSON `{error: {code, message, request_id}}`, the request id
/// equal to `x-request-id`, and `WWW-Authenticate` on 401.
fn check_error_shape(resp: &Resp) -> Result<(), String> {
    let body: Value = serde_json::from_slice(&resp.body).map_err(|_| "body is not JSON")?;
    let error = &body["error"];
    if !error["code"].is_string() || !error["message"].is_string() {
        return Err("no error.code / error.message".into());
    }
    let header = resp.header("x-request-id").ok_or("no x-request-id")?;
    if error["request_id"].as_str() != Some(header) {
        return Err(format!(
            "request_id {} != header {header}",
            error["request_id"]
        ));
    }
    if resp.status == StatusCode::UNAUTHORIZED && resp.header("www-authenticate").is_none() {
        return Err("401 without WWW-Authenticate".into());
    }
    Ok(())
}

/// A PostgreSQL URL with a fresh schema on `CUSTODY_TEST_PG_URL` (by default the
/// server `scripts/test` starts). The one skip policy of every suite that needs
/// PostgreSQL: unreachable is a failure when `CI=true`; otherwise the test says
/// loudly that it did NOT run, and returns.
pub async fn postgres() -> Option<String> {
    use sqlx::Connection;
    use std::io::Write as _;
    let base = std::env::var("CUSTODY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let connect = sqlx::PgConnection::connect(&base);
    let reached = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(reached) => reached.map_err(|e| e.to_string()),
        Err(_) => Err("timed out after 5 s".to_owned()),
    };
    let mut conn = match reached {
        Ok(conn) => conn,
        Err(why) => {
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let message = format!("NOT RUN: postgres unreachable at {base} ({why}): {test}");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}: required when CI=true"
            );
            // Written to the stream itself: `eprintln!` would be captured and hidden.
            let _ = std::io::stderr().write_all(format!("\n{message}\n\n").as_bytes());
            return None;
        }
    };
    let schema = format!(
        "t_{}",
        hex::encode(app::secrets::random::<8>().expect("random"))
    );
    // The schema name is generated here: hex digits only.
    let sql = format!("CREATE SCHEMA {schema}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

impl Ctx {
    /// A fresh App on SQLite.
    pub async fn new() -> Ctx {
        Ctx::on(Backend::Sqlite).await
    }

    /// A fresh App on `backend`, bootstrapped, the admin signed in.
    pub async fn on(backend: Backend) -> Ctx {
        Ctx::with(backend, |_| {}).await
    }

    /// Like [`Ctx::on`], with settings changed by `change`.
    pub async fn with(backend: Backend, change: impl FnOnce(&mut app::Settings)) -> Ctx {
        Ctx::behind(backend, change, server::ClientAddressing::default()).await
    }

    /// Like [`Ctx::with`], behind the reverse proxies of `addressing`.
    pub async fn behind(
        backend: Backend,
        change: impl FnOnce(&mut app::Settings),
        addressing: server::ClientAddressing,
    ) -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("c.db").display()),
            Backend::Postgres(url) => url,
        };
        let store = store::Store::connect(&url).await.expect("store");
        let keys = dir.path().join("keys");
        let keyring = vault::Keyring::init(&keys, "k1", [7; 32]).expect("keyring");
        let blobs = vault::DiskBlobs::open(&dir.path().join("blobs"), app::blocking_pool())
            .await
            .expect("blobs");
        let clock = Arc::new(ManualClock(AtomicI64::new(T0)));
        let mut settings = app::Settings {
            max_upload_bytes: UPLOAD_LIMIT,
            chunk_size: CHUNK,
            ..app::Settings::default()
        };
        change(&mut settings);
        let app = app::App::new(
            store,
            keyring,
            keys,
            Arc::new(blobs),
            clock.clone(),
            settings,
        );
        app::Identity(&app)
            .bootstrap("Owner Corp", ADMIN_EMAIL, Some(PASSWORD.into()))
            .await
            .expect("bootstrap");
        let router = server::router_with(app.clone(), addressing);
        let mut ctx = Ctx {
            app,
            router,
            clock,
            dir,
            admin: String::new(),
            admin_totp: Vec::new(),
            owner_party: String::new(),
            seq: AtomicU64::new(0),
        };
        let login = ctx.login_ok(ADMIN_EMAIL, None).await;
        let first = login["token"].as_str().unwrap_or_default().to_owned();
        (ctx.admin, ctx.admin_totp) = ctx.enrol_totp(&first).await;
        ctx.owner_party = login["user"]["party_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        ctx
    }

    pub fn now(&self) -> i64 {
        self.clock.0.load(Ordering::SeqCst)
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: i64) {
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// A number unique within this App (for e-mails and paths).
    pub fn unique(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst)
    }

    /// Sends one request through the router.
    pub async fn send(&self, case: &Case) -> Resp {
        let mut req = Request::builder().method(case.method).uri(&case.path);
        if let Some(token) = &case.who {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in &case.headers {
            req = req.header(*name, value);
        }
        if let Some(peer) = case.peer {
            req = req.extension(axum::extract::ConnectInfo(peer));
        }
        let body = match &case.body {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(v).unwrap_or_default())
            }
            Payload::Raw(ct, bytes) => {
                if let Some(ct) = ct {
                    req = req.header("content-type", *ct);
                }
                if !case.no_length {
                    req = req.header("content-length", bytes.len());
                }
                Body::from(bytes.clone())
            }
        };
        let req = req.body(body).expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// A request with a JSON body (or none) as `who`, not checked.
    pub async fn call(&self, who: &str, method: &'static str, path: &str, body: Value) -> Resp {
        let body = if body.is_null() {
            Payload::None
        } else {
            Payload::Json(body)
        };
        self.send(&Case {
            who: Some(who.to_owned()),
            method,
            path: format!("{V1}{path}"),
            body,
            ..Case::default()
        })
        .await
    }

    /// Like [`Ctx::call`], and the answer must be `status`.
    pub async fn must(
        &self,
        who: &str,
        method: &'static str,
        path: &str,
        body: Value,
        status: u16,
    ) -> Value {
        let r = self.call(who, method, path, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text());
        r.json()
    }

    /// `POST /auth/login`, unchecked.
    pub async fn login(&self, email: &str, password: &str, totp: Option<&str>) -> Resp {
        let mut body = json!({"email": email, "password": password});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        self.send(&Case {
            method: "POST",
            path: format!("{V1}/auth/login"),
            body: Payload::Json(body),
            ..Case::default()
        })
        .await
    }

    /// A successful sign-in with [`PASSWORD`].
    pub async fn login_ok(&self, email: &str, totp: Option<&str>) -> Value {
        let r = self.login(email, PASSWORD, totp).await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text());
        r.json()
    }

    /// A sign-in with [`PASSWORD`] and a one-time code of `secret` that no
    /// sign-in used yet: the clock moves one 30-second step forward first.
    pub async fn login_totp(&self, email: &str, secret: &[u8]) -> Value {
        self.advance(30_000);
        let code = self.code(secret);
        self.login_ok(email, Some(&code)).await
    }

    /// The current TOTP code of `secret`.
    pub fn code(&self, secret: &[u8]) -> String {
        let step = app::totp::step_of(self.now());
        format!("{:06}", app::totp::code_at(secret, step, 6))
    }

    /// Enrols TOTP through the API; returns the new (multi-factor) token and the secret.
    pub async fn enrol_totp(&self, token: &str) -> (String, Vec<u8>) {
        let e = self
            .must(token, "POST", "/auth/totp", Value::Null, 200)
            .await;
        let secret = base32_decode(e["secret"].as_str().unwrap_or_default());
        let code = self.code(&secret);
        let r = self
            .must(
                token,
                "POST",
                "/auth/totp/confirm",
                json!({"code": code}),
                200,
            )
            .await;
        let new = r["token"].as_str().unwrap_or_default().to_owned();
        (new, secret)
    }

    /// Creates an external party as the admin, active at once (its due
    /// diligence is not what these tests are about: the admin gives the
    /// reason); returns its id.
    pub async fn party(&self, name: &str) -> String {
        let body =
            json!({"name": name, "active_reason": "a test fixture, onboarded before the test"});
        let r = self.must(&self.admin, "POST", "/parties", body, 201).await;
        r["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Creates an external party as the admin, `prospective` (being
    /// onboarded); returns its id.
    pub async fn prospective_party(&self, name: &str) -> String {
        let r = self
            .must(&self.admin, "POST", "/parties", json!({"name": name}), 201)
            .await;
        r["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Signs off the due diligence of `party` with `tier` (in term for the
    /// tier's period): a one-question questionnaire sent to `contact`, a user
    /// of the party, answered, and decided by the admin.
    pub async fn assess(&self, party: &str, contact: &User, tier: &str) {
        let q = json!({"name": "fixture-diligence", "title": "Fixture", "body": {
            "sections": [{"title": "S", "questions": [
                {"key": "q", "text": "Q?", "kind": "yes_no", "required": true}]}],
            "thresholds": {"low": 0, "medium": 0, "high": 0}}});
        let q = self
            .must(&self.admin, "POST", "/questionnaires", q, 201)
            .await;
        let send = json!({"questionnaire_id": q["id"], "contact_id": contact.id});
        let path = format!("/parties/{party}/assessments");
        let sent = self.must(&self.admin, "POST", &path, send, 201).await;
        let id = sent["assessment"]["id"].as_str().unwrap_or_default();
        let answers = json!({"answers": {"q": "yes"}, "submit": true});
        let path = format!("/assessments/{id}/answers");
        self.must(&contact.token, "PUT", &path, answers, 200).await;
        let decision = json!({"tier": tier, "reasons": "a test fixture"});
        let path = format!("/parties/{party}/assessments/{id}/decision");
        self.must(&self.admin, "POST", &path, decision, 200).await;
    }

    /// Creates a user as the admin (with [`PASSWORD`]) and signs them in;
    /// users of external parties are enrolled in TOTP when `enrol`.
    pub async fn user_in(&self, party: &str, role: &str, enrol: bool) -> User {
        let email = format!("u{}@{}.example", self.unique(), &party[..8]);
        let body = json!({"email": email, "display_name": "Some One", "party_id": party,
            "system_role": role, "password": PASSWORD});
        let r = self.must(&self.admin, "POST", "/users", body, 201).await;
        let id = r["id"].as_str().unwrap_or_default().to_owned();
        let login = self.login_ok(&email, None).await;
        let mut token = login["token"].as_str().unwrap_or_default().to_owned();
        let mut totp = None;
        if enrol {
            let (t, secret) = self.enrol_totp(&token).await;
            token = t;
            totp = Some(secret);
        }
        User {
            id,
            email,
            party: party.to_owned(),
            token,
            totp,
        }
    }

    /// An owner-party user with `role`; admins and security officers, who
    /// must use TOTP, are enrolled.
    pub async fn staff(&self, role: &str) -> User {
        let party = self.owner_party.clone();
        let enrol = matches!(role, "admin" | "security_officer");
        self.user_in(&party, role, enrol).await
    }

    /// An external member, enrolled in TOTP.
    pub async fn external(&self, party: &str) -> User {
        self.user_in(party, "member", true).await
    }

    /// Creates a room as `who`; returns its id.
    pub async fn room(&self, who: &str, name: &str) -> String {
        // Internal: confidential rooms also ask external users for training
        // and certification (tests/it/conditions.rs).
        let body = json!({"name": name, "classification": "internal"});
        let r = self.must(who, "POST", "/rooms", body, 201).await;
        r["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Grants `role` in `room` to a user or party (`kind`), as `who`.
    pub async fn grant(
        &self,
        who: &str,
        room: &str,
        kind: &str,
        subject: &str,
        role: &str,
        expires_ms: Option<i64>,
    ) -> String {
        let mut body =
            json!({"subject_kind": kind, "subject_id": subject, "role": role, "reason": "test"});
        if let Some(ms) = expires_ms {
            body["expires_at"] = json!(rfc3339(ms));
        }
        let r = self
            .must(who, "POST", &format!("/rooms/{room}/grants"), body, 201)
            .await;
        r["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Uploads `content` to `path` in `room` as `who`; returns the file JSON.
    pub async fn upload(&self, who: &str, room: &str, path: &str, content: &[u8]) -> Value {
        let r = self.put(who, room, path, content.to_vec()).await;
        assert_eq!(r.status, StatusCode::CREATED, "upload {path}: {}", r.text());
        r.json()
    }

    /// `PUT /rooms/{room}/files/{path}`, unchecked.
    pub async fn put(&self, who: &str, room: &str, path: &str, content: Vec<u8>) -> Resp {
        self.send(&Case {
            who: Some(who.to_owned()),
            method: "PUT",
            path: format!("{V1}/rooms/{room}/files/{path}"),
            body: Payload::Raw(Some("application/octet-stream"), content),
            ..Case::default()
        })
        .await
    }

    /// Every event, oldest first, read as the admin.
    pub async fn events(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let path = format!("/events?after={after}&limit=1000");
            let page = self.must(&self.admin, "GET", &path, Value::Null, 200).await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            let Some(last) = items.last() else {
                return all;
            };
            after = last["seq"].as_i64().unwrap_or(i64::MAX);
            all.extend(items);
        }
    }
}

/// RFC 3339 text of a Unix-milliseconds time (UTC, whole seconds).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// RFC 4648 base32 without padding, as the enrolment answer carries it.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u64, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    app::secrets::sha256(bytes)
}

#[test]
fn rfc3339_and_base32_helpers() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(T0), "2025-06-15T15:06:40Z");
    assert_eq!(
        base32_decode(&app::secrets::base32(b"hello world!")),
        b"hello world!"
    );
}
