//! What authorization adds to a metadata request, end to end: the real router
//! over HTTPS (rustls, self-signed) in process, on SQLite in a temporary
//! directory, with an admin, an external party, 1,000 rooms and one user of
//! that party (TOTP enrolled) holding grants in 100 of them. A keep-alive
//! HTTPS client times `GET /api/v1/rooms/{id}` on the granted rooms; then the
//! same decisions are timed alone — `app::authz::authorize` with the principal,
//! resource and context the request builds (checked against the app's own
//! `simulate` for every granted room). Prints `key value` lines: requests,
//! rooms, policies, request_p50_us, request_p99_us, request_mean_us,
//! authz_p50_us, authz_p99_us, authz_mean_us, share_p50_pct, share_mean_pct.
//!
//! Usage: authz_overhead [REQUESTS] (default 5000).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly"
)]

use std::sync::Arc;
use std::time::Instant;

use app::authz::{Action, Context, Decision, Principal, Resource, authorize};
use app::{Clock, NewGrant, NewParty, NewUser, RequestMeta, SimTarget, Simulation};
use model::{Classification, RoomId, RoomRole, SessionKind, SubjectKind, SystemRole};

const ROOMS: usize = 1_000;
const GRANTED: usize = 100;
const PASSWORD: &str = "correct horse battery";
const WARM_UP: usize = 300;

/// RFC 4648 base32 (no padding), as the TOTP secret is shown.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut out) = (0u32, 0u64, Vec::new());
    for c in text.trim().bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

async fn open_app(dir: &std::path::Path) -> app::App {
    let url = format!("sqlite://{}", dir.join("custody.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let key = app::secrets::random::<32>().unwrap();
    let ring = vault::Keyring::init(&key_dir, "k1", key).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), app::blocking_pool())
        .await
        .unwrap();
    app::App::new(
        store,
        ring,
        key_dir,
        Arc::new(blobs),
        Arc::new(app::SystemClock),
        app::Settings::default(),
    )
}

/// Signs `email` in and enrols TOTP; returns the multi-factor API token.
async fn sign_in_with_totp(app: &app::App, email: &str) -> String {
    let meta = RequestMeta::default();
    let id = app::Identity(app);
    let login = id
        .login(&meta, email, PASSWORD, None, SessionKind::Api)
        .await
        .unwrap();
    let (p, session) = id.authenticate(&login.token).await.unwrap();
    let auth = app.system(&meta, &p, app::act::TotpEnroll).await.unwrap();
    let enrolment = id.totp_begin(auth).await.unwrap();
    let secret = base32_decode(&enrolment.secret_base32);
    let step = app::totp::step_of(app::SystemClock.now_ms());
    let code = format!("{:06}", app::totp::code_at(&secret, step, 6));
    let auth = app.system(&meta, &p, app::act::TotpEnroll).await.unwrap();
    let login = id.totp_confirm(auth, &session, &code).await.unwrap();
    login.token
}

/// The granted rooms, with their classification and the user's role.
type Granted = Vec<(RoomId, Classification, RoomRole)>;

/// The platform: an admin, a party, the rooms, and a user of the party with
/// grants; returns the admin's and the user's tokens and the granted rooms.
async fn populate(app: &app::App) -> (String, String, Granted) {
    let meta = RequestMeta::default();
    let admin_email = "admin@owner.example";
    let id = app::Identity(app);
    id.bootstrap("Owner Corp", admin_email, Some(PASSWORD.into()))
        .await
        .unwrap();
    let admin_token = sign_in_with_totp(app, admin_email).await;
    let (admin, _) = id.authenticate(&admin_token).await.unwrap();
    let auth = app
        .system(&meta, &admin, app::act::PartyCreate)
        .await
        .unwrap();
    let party = id
        .create_party(
            auth,
            NewParty {
                name: "Supplier GmbH".into(),
                country: None,
                active_reason: Some("a test fixture, onboarded before the test".into()),
            },
        )
        .await
        .unwrap();
    let user_email = "engineer@supplier.example";
    let auth = app
        .system(&meta, &admin, app::act::UserCreate)
        .await
        .unwrap();
    let user = id
        .create_user(
            auth,
            NewUser {
                email: user_email.into(),
                display_name: "Some Engineer".into(),
                party_id: party.id,
                system_role: SystemRole::Member,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap();
    let mut granted = Vec::new();
    for i in 0..ROOMS {
        let classification = Classification::ALL[i % Classification::ALL.len()];
        let auth = app
            .system(&meta, &admin, app::act::RoomCreate)
            .await
            .unwrap();
        let room = app::Rooms(app)
            .create_room(auth, &format!("Room {i}"), classification)
            .await
            .unwrap();
        if i % (ROOMS / GRANTED) == 0 {
            let role = RoomRole::ALL[granted.len() % RoomRole::ALL.len()];
            let grant = NewGrant {
                subject_kind: SubjectKind::User,
                subject_id: user.id.0,
                role,
                expires_ms: None,
                reason: "benchmark".into(),
            };
            let auth = app
                .room(&meta, &admin, room.room.id, app::act::GrantCreate)
                .await
                .unwrap();
            app::Rooms(app).create_grant(auth, grant).await.unwrap();
            granted.push((room.room.id, classification, role));
        }
    }
    let token = sign_in_with_totp(app, user_email).await;
    (admin_token, token, granted)
}

/// Starts the server on a free port of 127.0.0.1; returns its base URL.
fn serve(app: &app::App, dir: &std::path::Path) -> String {
    let tls_dir = dir.join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let (cert, key) = (tls_dir.join("cert.pem"), tls_dir.join("key.pem"));
    let names = vec!["localhost".into(), "127.0.0.1".into()];
    server::tls::ensure_self_signed(&cert, &key, names).unwrap();
    let tls = server::tls::server_config(&cert, &key).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = app.clone();
    tokio::spawn(async move {
        server::serve_listener(served, listener, tls, std::future::pending())
            .await
            .unwrap();
    });
    format!("https://127.0.0.1:{port}")
}

/// The resource and context `GET /rooms/{id}` builds for this user: a room
/// the user holds `role` in, requiring nothing, without tags or window; the
/// request from 127.0.0.1 in no network zone.
fn facts(id: RoomId, classification: Classification, role: RoomRole) -> (Resource, Context) {
    let res = Resource::Room {
        id,
        classification,
        role: Some(role),
        expired_grant: false,
        required_agreements: vec![],
        required_certifications: vec![],
        required_courses: vec![],
        tags: vec![],
        window: None,
    };
    let ctx = Context {
        now_ms: app::SystemClock.now_ms(),
        source_addr: Some("127.0.0.1".into()),
        ..Context::default()
    };
    (res, ctx)
}

/// p50, p99 and mean of `ns`, in µs.
fn stats(ns: &mut [u64]) -> (f64, f64, f64) {
    ns.sort_unstable();
    let pct = |q: f64| ns[((ns.len() as f64 - 1.0) * q).round() as usize] as f64 / 1e3;
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3;
    (pct(0.50), pct(0.99), mean)
}

/// The decision the app itself makes for `user` on each granted room must be
/// the one [`facts`] gives: otherwise the timing below is of another question.
async fn check_facts(
    app: &app::App,
    admin_token: &str,
    p: &Principal,
    granted: &[(RoomId, Classification, RoomRole)],
) {
    let (admin, _) = app::Identity(app).authenticate(admin_token).await.unwrap();
    let policies = app.policies().unwrap();
    for &(id, classification, role) in granted {
        let (res, ctx) = facts(id, classification, role);
        let sim = Simulation {
            user: p.user_id,
            action: Action::RoomView.as_str().into(),
            target: SimTarget::Room(id),
            mfa: true,
            at_ms: Some(ctx.now_ms),
            source_addr: ctx.source_addr.clone(),
        };
        let meta = RequestMeta::default();
        let auth = app
            .system(&meta, &admin, app::act::PolicySimulate)
            .await
            .unwrap();
        let by_app = app::Policies(app).simulate(auth, sim).await.unwrap();
        let alone = policies.explain(p, Action::RoomView.as_str(), &res, &ctx);
        assert_eq!(by_app, alone, "room {id}");
        assert_eq!(alone.decision, Decision::Allow, "room {id}");
    }
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("REQUESTS is a number"))
        .unwrap_or(5000);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let app = open_app(dir.path()).await;
    let t = Instant::now();
    let (admin_token, token, granted) = populate(&app).await;
    eprintln!(
        "authz_overhead: {ROOMS} rooms, {} grants in {:.1} s",
        granted.len(),
        t.elapsed().as_secs_f64()
    );
    let (p, _) = app::Identity(&app).authenticate(&token).await.unwrap();
    check_facts(&app, &admin_token, &p, &granted).await;
    let base = serve(&app, dir.path());
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let mut request_ns = Vec::with_capacity(requests);
    for i in 0..WARM_UP + requests {
        let (id, _, _) = granted[i % granted.len()];
        let url = format!("{base}/api/v1/rooms/{id}");
        let t = Instant::now();
        let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
        let status = r.status();
        let body = r.bytes().await.unwrap();
        let ns = t.elapsed().as_nanos() as u64;
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
        if i >= WARM_UP {
            request_ns.push(ns);
        }
    }
    let policies = app.policies().unwrap();
    let mut authz_ns = Vec::with_capacity(requests);
    for i in 0..WARM_UP + requests {
        let (id, classification, role) = granted[i % granted.len()];
        let (res, ctx) = facts(id, classification, role);
        let t = Instant::now();
        let d = authorize(&policies, &p, Action::RoomView, &res, &ctx);
        let ns = t.elapsed().as_nanos() as u64;
        assert_eq!(d, Decision::Allow);
        if i >= WARM_UP {
            authz_ns.push(ns);
        }
    }
    let (rq50, rq99, rqmean) = stats(&mut request_ns);
    let (az50, az99, azmean) = stats(&mut authz_ns);
    println!("requests {requests}");
    println!("rooms {ROOMS}");
    println!("granted {}", granted.len());
    println!("policies {}", policies.list().len());
    println!("request_p50_us {rq50:.1}");
    println!("request_p99_us {rq99:.1}");
    println!("request_mean_us {rqmean:.1}");
    println!("authz_p50_us {az50:.1}");
    println!("authz_p99_us {az99:.1}");
    println!("authz_mean_us {azmean:.1}");
    println!("share_p50_pct {:.1}", 100.0 * az50 / rq50);
    println!("share_mean_pct {:.1}", 100.0 * azmean / rqmean);
}
