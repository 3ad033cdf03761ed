//! The shared fixture of the web tests: a real server over HTTPS (self-signed
//! TLS, a fresh SQLite store, key ring and blob directory in a temporary
//! directory, the system clock that a test may move forward) whose admin has enrolled TOTP and owns one room;
//! and the one-time codes the tests type.

use std::path::PathBuf;
use std::sync::Arc;

use app::{Clock, RequestMeta};
use model::{RoomId, SessionKind};

pub const EMAIL: &str = "admin@owner.example";
pub const PASSWORD: &str = "correct horse battery";
pub const ROOM: &str = "Turbine blade programme";

/// A running server and what the tests need to act on it.
pub struct Site {
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// The admin's TOTP secret.
    pub totp_secret: Vec<u8>,
    pub app: app::App,
    /// An API token of the admin (multi-factor), to check results through the use-cases.
    pub admin_token: String,
    pub room: RoomId,
    /// The server's clock: the system's, moved forward by [`Site::advance`].
    pub clock: Arc<Skew>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The system clock plus an offset a test moves forward (a due date reached
/// without waiting for it).
#[derive(Default)]
pub struct Skew(std::sync::atomic::AtomicI64);

impl Clock for Skew {
    fn now_ms(&self) -> i64 {
        app::SystemClock.now_ms() + self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Site {
    /// The server's time.
    pub fn clock_now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Moves the server's clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.clock
            .0
            .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// A one-time code of the admin's that the server, on its own clock,
    /// accepts now (the next step, as [`next_code`]).
    pub fn admin_code(&self) -> String {
        let step = app::totp::step_of(self.clock.now_ms()) + 1;
        format!("{:06}", app::totp::code_at(&self.totp_secret, step, 6))
    }

    /// The admin as a principal, for calling use-cases directly.
    pub async fn admin(&self) -> app::authz::Principal {
        app::Identity(&self.app)
            .authenticate(&self.admin_token)
            .await
            .unwrap()
            .0
    }

    /// The site's data directory (its `keys/`, `blobs/` …).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The SHA-256 of the site's certificate (hex), as `CUSTODY_FINGERPRINT` pins it.
    pub fn fingerprint(&self) -> String {
        use base64::Engine;
        use sha2::Digest;
        let pem = std::fs::read_to_string(self._dir.path().join("tls/cert.pem")).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        hex::encode(sha2::Sha256::digest(&der))
    }
}

/// RFC 4648 base32 (no padding), as the TOTP secret is shown.
pub fn base32_decode(text: &str) -> Vec<u8> {
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

fn step_now() -> i64 {
    app::totp::step_of(app::SystemClock.now_ms())
}

/// The code of the current time step.
pub fn current_code(secret: &[u8]) -> String {
    format!("{:06}", app::totp::code_at(secret, step_now(), 6))
}

/// The code of the next time step: newer than any step used so far, and
/// inside the ±1 step window the server accepts.
pub fn next_code(secret: &[u8]) -> String {
    format!("{:06}", app::totp::code_at(secret, step_now() + 1, 6))
}

/// A code that matches none of the steps the server would accept now.
pub fn wrong_code(secret: &[u8]) -> String {
    let now = step_now();
    let valid: Vec<u32> = (now - 2..=now + 2)
        .map(|s| app::totp::code_at(secret, s, 6))
        .collect();
    let wrong = (0..).find(|c| !valid.contains(c)).unwrap_or(0);
    format!("{wrong:06}")
}

/// Pseudo-random content (xorshift), spanning several encrypted chunks.
pub fn content(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Where the screenshot goes: the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

async fn open_app(dir: &std::path::Path, settings: app::Settings, clock: Arc<Skew>) -> app::App {
    let url = format!("sqlite://{}", dir.join("custody.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let key = app::secrets::random::<32>().unwrap();
    let ring = vault::Keyring::init(&key_dir, "k1", key).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), app::blocking_pool())
        .await
        .unwrap();
    app::App::new(store, ring, key_dir, Arc::new(blobs), clock, settings)
}

/// Bootstraps the admin, enrols TOTP for it, and creates the room; returns
/// the secret, a multi-factor API token and the room.
async fn prepare(app: &app::App) -> (Vec<u8>, String, RoomId) {
    let id = app::Identity(app);
    id.bootstrap("Owner Corp", EMAIL, Some(PASSWORD.into()))
        .await
        .unwrap();
    let meta = RequestMeta::default();
    let login = id
        .login(&meta, EMAIL, PASSWORD, None, SessionKind::Api)
        .await
        .unwrap();
    let (p, session) = id.authenticate(&login.token).await.unwrap();
    let auth = app.system(&meta, &p, app::act::TotpEnroll).await.unwrap();
    let enrolment = id.totp_begin(auth).await.unwrap();
    let secret = base32_decode(&enrolment.secret_base32);
    let auth = app.system(&meta, &p, app::act::TotpEnroll).await.unwrap();
    let login = id
        .totp_confirm(auth, &session, &current_code(&secret))
        .await
        .unwrap();
    let (p, _) = id.authenticate(&login.token).await.unwrap();
    let auth = app.system(&meta, &p, app::act::RoomCreate).await.unwrap();
    let room = app::Rooms(app)
        .create_room(auth, ROOM, model::Classification::Confidential)
        .await
        .unwrap();
    (secret, login.token, room.room.id)
}

/// Starts a site on a free port of 127.0.0.1; it stops when dropped.
pub async fn start_site() -> Site {
    start_site_with(app::Settings::default()).await
}

/// [`start_site`] with `settings`.
pub async fn start_site_with(settings: app::Settings) -> Site {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Skew::default());
    let app = open_app(dir.path(), settings, clock.clone()).await;
    let (totp_secret, admin_token, room) = prepare(&app).await;

    let tls_dir = dir.path().join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let (cert, key) = (tls_dir.join("cert.pem"), tls_dir.join("key.pem"));
    let names = vec!["localhost".into(), "127.0.0.1".into()];
    server::tls::ensure_self_signed(&cert, &key, names).unwrap();
    let tls = server::tls::server_config(&cert, &key).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        server::serve_listener(served, listener, tls, shutdown)
            .await
            .unwrap();
    });
    Site {
        base: format!("https://127.0.0.1:{port}"),
        totp_secret,
        app,
        admin_token,
        room,
        clock,
        _dir: dir,
        _stop: stop,
    }
}
