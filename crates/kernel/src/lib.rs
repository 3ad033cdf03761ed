//! The kernel of Custody's use-cases: what every domain needs and nothing
//! more. The context ([`App`]: store, vault keys and blobs, clock, settings,
//! the policy set and network zones in force), the caller's request facts,
//! [`AppError`], the authorization seam and its proof ([`authz::Authorized`],
//! made only by [`seam`]), the facts decisions are made from ([`facts`]), and
//! the events recorder with the ledger it feeds. Knows neither HTTP nor SQL.
//! The use-cases live in the domain crates (identity, content, governance,
//! audit), which depend on this crate and never on each other.

pub mod authz;
mod blobs;
pub mod certificate;
mod error;
pub mod events;
pub mod facts;
pub mod guesses;
pub mod jobs;
mod keys;
pub mod ledger;
pub mod outbox;
pub mod passwords;
mod seam;
pub mod secrets;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

pub use crate::ledger::{ConsistencyProof, InclusionProof};
pub use ::ledger::ExportEntry as LedgerEntry;
pub use authz::{Act, Action, Authorized, Principal, System, act};
pub use blobs::{BlobWorker, blocking_pool, spawn_blob_worker};
pub use error::{AppError, ErrorCode, Kind};
pub use events::{EventAction, EventName, Fact, RequestMeta};
pub use facts::SimTarget;
pub use keys::{Rotation, adopt_room_keys, room_key_id, room_key_name, rotate_keys};
pub use seam::{FileAccess, RoomInfo};

/// Longest reason a person gives for a decision (an offboarding, a dismissal,
/// a destruction, a legal hold …), in characters.
pub const MAX_REASON: usize = 500;

/// A person's reason for a decision, trimmed: 1 to [`MAX_REASON`] characters
/// on one line (no control character), else `bad_reason`.
pub fn check_reason(raw: &str) -> Result<String, AppError> {
    let reason = raw.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            ErrorCode::BadReason,
            format!("give a reason of 1 to {MAX_REASON} characters on one line"),
        ));
    }
    Ok(reason.to_owned())
}

/// A hook for crash tests: when the environment variable `CUSTODY_PAUSE_AT`
/// names `point`, the process says so on standard error and stops there for
/// good, so that a test can SIGKILL it at exactly that step. Unset (as in
/// production), it does nothing.
pub fn pause_point(point: &str) {
    if std::env::var_os("CUSTODY_PAUSE_AT").is_some_and(|v| v == point) {
        eprintln!("custody: paused at {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

use vault::{Blobs, Keyring};

/// The file under the key directory that holds the mark key.
pub const MARK_KEY_FILE: &str = "mark.key";

/// The source of time; injected so that tests control it.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Tunables of the use-cases (the binary fills them from the configuration).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Lifetime of a browser session.
    pub browser_session_ttl_ms: i64,
    /// Lifetime of an API token issued by `POST /auth/login`.
    pub api_token_ttl_ms: i64,
    /// Failed sign-ins before the account locks.
    pub max_failed_logins: i64,
    /// How long a locked account stays locked.
    pub lockout_ms: i64,
    /// Lifetime of an invitation link.
    pub invitation_ttl_ms: i64,
    /// Whether users of external parties must use TOTP.
    pub external_mfa_required: bool,
    /// Whether every user of the owner party must use TOTP. Its admins and
    /// security officers always must, whatever this says.
    pub owner_everyone_mfa_required: bool,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Plaintext bytes per encrypted chunk.
    pub chunk_size: u32,
    /// The view-only viewer's renderer and page cache.
    pub viewer: ViewerSettings,
    /// Whether an SMTP server is configured: without one, nothing that needs
    /// an e-mail (a recipient-bound link's code) is offered, and notifications
    /// stay in the pages only.
    pub mail_enabled: bool,
    /// The address people reach this server at (`https://custody.example.com`),
    /// for the links in e-mail (an invitation's); none: invitations are not
    /// mailed, the admin hands their links over.
    pub public_url: Option<String>,
    /// Share links' limits.
    pub links: LinkSettings,
    /// The clamd every inbound file is streamed to; `None`: no antivirus
    /// (uploads are stored without a malware verdict, as before it existed).
    pub antivirus: Option<AntivirusSettings>,
}

/// Where clamd listens and how long to wait for it.
#[derive(Clone, Debug)]
pub struct AntivirusSettings {
    pub clamd: ClamdAddress,
    /// Longest wait to connect, and for each write and the reply.
    pub timeout: std::time::Duration,
}

impl AntivirusSettings {
    /// clamd at `clamd`, with the default timeout (60 s).
    pub fn new(clamd: ClamdAddress) -> Self {
        AntivirusSettings {
            clamd,
            timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// clamd's address: its local (Unix) socket, or `host:port` over TCP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    Unix(PathBuf),
    Tcp(String),
}

impl ClamdAddress {
    /// `/path`, `unix:/path` or `host:port` (`tcp://host:port`).
    pub fn parse(text: &str) -> Result<ClamdAddress, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            return Ok(ClamdAddress::Unix(PathBuf::from(path)));
        }
        if text.starts_with('/') {
            return Ok(ClamdAddress::Unix(PathBuf::from(text)));
        }
        let hostport = text.strip_prefix("tcp://").unwrap_or(text);
        match hostport.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
                Ok(ClamdAddress::Tcp(hostport.to_owned()))
            }
            _ => Err(format!(
                "`{text}` is not a clamd address: give its socket's absolute path \
                 (`/run/clamav/clamd.ctl`) or `host:port`"
            )),
        }
    }
}

impl std::fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClamdAddress::Unix(p) => write!(f, "unix:{}", p.display()),
            ClamdAddress::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// Share links' limits, set by the admin.
#[derive(Clone, Debug)]
pub struct LinkSettings {
    /// The longest a link may live from its creation, whatever its creator asks.
    pub max_lifetime_ms: i64,
    /// How long a one-time code mailed to a link's recipient stays valid.
    pub code_ttl_ms: i64,
    /// How long a recipient's verified session on a link lasts.
    pub session_ttl_ms: i64,
}

impl Default for LinkSettings {
    fn default() -> Self {
        LinkSettings {
            max_lifetime_ms: 30 * 24 * 3600 * 1000,
            code_ttl_ms: 15 * 60 * 1000,
            session_ttl_ms: 8 * 3600 * 1000,
        }
    }
}

/// The view-only viewer's tunables.
#[derive(Clone, Debug)]
pub struct ViewerSettings {
    /// poppler's `pdftoppm` (a path, or a name looked up in `PATH`) that draws
    /// PDF pages; `None`: PDFs are not shown (their views answer `render_unavailable`).
    pub pdftoppm: Option<PathBuf>,
    /// Most bytes the open views keep in memory: the files they show and
    /// their pages as sent, least recently used dropped first.
    pub cache_bytes: u64,
}

impl Default for ViewerSettings {
    fn default() -> Self {
        ViewerSettings {
            pdftoppm: Some(PathBuf::from("pdftoppm")),
            cache_bytes: 256 << 20,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            browser_session_ttl_ms: 12 * 3600 * 1000,
            api_token_ttl_ms: 30 * 24 * 3600 * 1000,
            max_failed_logins: 5,
            lockout_ms: 15 * 60 * 1000,
            invitation_ttl_ms: 7 * 24 * 3600 * 1000,
            external_mfa_required: true,
            owner_everyone_mfa_required: false,
            max_upload_bytes: 64 * 1024 * 1024 * 1024,
            chunk_size: vault::DEFAULT_CHUNK_SIZE,
            viewer: ViewerSettings::default(),
            mail_enabled: false,
            public_url: None,
            links: LinkSettings::default(),
            antivirus: None,
        }
    }
}

/// The application: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: store::Store,
    keyring: RwLock<Keyring>,
    /// The room keys unwrapped so far (`keys.rs`).
    room_keys: RwLock<keys::RoomKeyMap>,
    key_dir: PathBuf,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// The ledger's checkpoint signer: set by `with_ledger_signer`, else loaded on first use.
    ledger_signer: OnceLock<::ledger::Signer>,
    /// The policy set in force, parsed once and swapped whole; `None` when the
    /// built-in policies failed to load (every decision then fails closed).
    policies: arc_swap::ArcSwapOption<policy::Policies>,
    /// Why the built-in policies failed to load, if they did.
    policy_error: Option<String>,
    /// Writes events that are a transaction of their own in shared batches.
    recorder: events::Recorder,
    /// The key of the forensic image marks, loaded on first use.
    mark_key: OnceLock<mark::MarkKey>,
    /// The network zones, read at start and re-read with the policies.
    zones: arc_swap::ArcSwap<Vec<model::NetworkZone>>,
    /// The sharing risk matrix and re-assessment periods, read at start and
    /// re-read with the policies.
    risk: arc_swap::ArcSwap<model::diligence::RiskSettings>,
    /// State a domain keeps per application (its caches, counters, limits),
    /// one value per type, made on first use.
    slots: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl App {
    /// Assembles the application from its parts.
    pub fn new(
        store: store::Store,
        keyring: Keyring,
        key_dir: PathBuf,
        blobs: Arc<dyn Blobs>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> App {
        // Parsed and validated against the schema once, here, at start.
        let loaded = policy::Policies::defaults().map(Arc::new);
        let inner = Inner {
            store,
            keyring: RwLock::new(keyring),
            room_keys: RwLock::new(Default::default()),
            key_dir,
            blobs,
            clock,
            settings,
            ledger_signer: OnceLock::new(),
            policies: arc_swap::ArcSwapOption::new(loaded.as_ref().ok().cloned()),
            policy_error: loaded.err().map(|e| e.to_string()),
            recorder: events::Recorder::default(),
            mark_key: OnceLock::new(),
            zones: arc_swap::ArcSwap::from_pointee(vec![]),
            risk: arc_swap::ArcSwap::from_pointee(model::diligence::RiskSettings::default()),
            slots: Mutex::new(HashMap::new()),
        };
        App {
            inner: Arc::new(inner),
        }
    }

    /// The metadata store.
    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The time now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The time now, from the injected clock (for the edges' "as of now" views).
    pub fn now_ms(&self) -> i64 {
        self.now()
    }

    /// The content store.
    pub fn blobs(&self) -> Arc<dyn Blobs> {
        self.inner.blobs.clone()
    }

    /// The domain state of type `T` kept for this application, made with
    /// `T::default()` on first use and shared by every clone of the `App`.
    pub fn slot<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut slots = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = slots
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(entry).downcast::<T>() {
            Ok(found) => found,
            // Unreachable: the map is keyed by the value's own type.
            Err(_) => Arc::new(T::default()),
        }
    }

    /// The key of the forensic image marks (loaded or created on first use).
    pub fn mark_key(&self) -> Result<&mark::MarkKey, AppError> {
        if let Some(key) = self.inner.mark_key.get() {
            return Ok(key);
        }
        let key = load_or_create_mark_key(&self.inner.key_dir)?;
        Ok(self.inner.mark_key.get_or_init(|| key))
    }

    /// The key-encryption keys in force.
    pub fn keyring(&self) -> Result<std::sync::RwLockReadGuard<'_, Keyring>, AppError> {
        self.inner
            .keyring
            .read()
            .map_err(|_| AppError::internal("keyring lock poisoned"))
    }

    /// Reloads the key-encryption keys from disk (after `custody keys rotate`).
    pub fn reload_keys(&self) -> Result<(), AppError> {
        let fresh = Keyring::load(&self.inner.key_dir)?;
        let mut guard = self
            .inner
            .keyring
            .write()
            .map_err(|_| AppError::internal("keyring lock poisoned"))?;
        *guard = fresh;
        Ok(())
    }
}

/// Loads the mark key, creating it (32 random bytes, hex, 0600) on first use.
pub fn load_or_create_mark_key(key_dir: &std::path::Path) -> Result<mark::MarkKey, AppError> {
    let text = crate::secrets::load_or_create_private_file(&key_dir.join(MARK_KEY_FILE), || {
        Ok(hex::encode(crate::secrets::random::<32>()?))
    })?;
    Ok(mark::MarkKey::derive(text.trim().as_bytes()))
}
