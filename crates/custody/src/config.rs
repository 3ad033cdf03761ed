//! The server configuration: one TOML file (`deny_unknown_fields`), a default
//! for every field, environment overrides with the `CUSTODY_` prefix, then
//! command-line flags. `Config::load` is the raw input; `Config::validate`
//! turns it into the checked settings the server runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// The configuration file, as written by an operator. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// Directory holding the database, blobs, keys and TLS files. Default `data`. Env `CUSTODY_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// Address to listen on for HTTPS. Default `127.0.0.1:8443`. Env `CUSTODY_LISTEN`.
    pub listen: Option<String>,
    /// Metadata database: `sqlite://PATH` or `postgres://…`. Default SQLite in the data dir. Env `CUSTODY_DATABASE_URL`.
    pub database_url: Option<String>,
    /// PEM certificate chain; with `tls_key`, replaces the generated self-signed certificate. Env `CUSTODY_TLS_CERT`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (mode 0600). Env `CUSTODY_TLS_KEY`.
    pub tls_key: Option<PathBuf>,
    /// Name of the owner organization created on first start. Default `Owner`. Env `CUSTODY_OWNER_NAME`.
    pub owner_name: Option<String>,
    /// Largest accepted upload in bytes. Default 68719476736 (64 GiB). Env `CUSTODY_MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<u64>,
    /// Lifetime of a browser session in minutes. Default 720. Env `CUSTODY_SESSION_MINUTES`.
    pub session_minutes: Option<i64>,
    /// Lifetime of an API token in days. Default 30. Env `CUSTODY_TOKEN_DAYS`.
    pub token_days: Option<i64>,
    /// Failed sign-ins before an account locks. Default 5. Env `CUSTODY_MAX_FAILED_LOGINS`.
    pub max_failed_logins: Option<i64>,
    /// Minutes a locked account stays locked. Default 15. Env `CUSTODY_LOCKOUT_MINUTES`.
    pub lockout_minutes: Option<i64>,
    /// Days an invitation link stays valid. Default 7. Env `CUSTODY_INVITATION_DAYS`.
    pub invitation_days: Option<i64>,
    /// Whether users of external parties must use TOTP. Default true. Env `CUSTODY_EXTERNAL_MFA_REQUIRED`.
    pub external_mfa_required: Option<bool>,
    /// Whether every user of the owner party must use TOTP; its admins and security officers always must. Default false. Env `CUSTODY_OWNER_EVERYONE_MFA_REQUIRED`.
    pub owner_everyone_mfa_required: Option<bool>,
    /// Plaintext bytes per encrypted chunk (power of two, 4096..=16777216). Default 1048576. Env `CUSTODY_CHUNK_SIZE`.
    pub chunk_size: Option<u32>,
    /// Append every audit event as a JSON line to this file (`-`: standard output). Default none. Env `CUSTODY_SIEM_JSON_PATH`.
    pub siem_json_path: Option<PathBuf>,
    /// Send every audit event as RFC 5424 syslog to `tcp://HOST:PORT` or `tls://HOST:PORT`. Default none. Env `CUSTODY_SIEM_SYSLOG_URL`.
    pub siem_syslog_url: Option<String>,
    /// PEM CA certificates that a `tls://` syslog collector must chain to. Env `CUSTODY_SIEM_SYSLOG_CA_FILE`.
    pub siem_syslog_ca_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the `tls://` collector's certificate, instead of a CA file. Env `CUSTODY_SIEM_SYSLOG_FINGERPRINT`.
    pub siem_syslog_fingerprint: Option<String>,
    /// Syslog facility: a name (`authpriv`, `local0` …) or 0-23. Default `authpriv`. Env `CUSTODY_SIEM_FACILITY`.
    pub siem_facility: Option<String>,
    /// Seconds between ledger checkpoints signed while the log grows (each proven consistent with the previous). Default 60. Env `CUSTODY_LEDGER_CHECKPOINT_SECONDS`.
    pub ledger_checkpoint_seconds: Option<u64>,
    /// The header a reverse proxy puts the client's address in (e.g. `x-forwarded-for`); read only on connections from `trusted_proxies`. Default none (the peer address is the client's). Env `CUSTODY_CLIENT_ADDRESS_HEADER`.
    pub client_address_header: Option<String>,
    /// CIDR ranges of the reverse proxies whose `client_address_header` is believed, comma-separated in the environment. Default none. Env `CUSTODY_TRUSTED_PROXIES`.
    pub trusted_proxies: Option<Vec<String>>,
    /// Seconds between sweeps that record expired agreements, grants, certifications and trainings and notify the people concerned (access ends at the end itself, sweep or not). Default 300. Env `CUSTODY_EXPIRY_SWEEP_SECONDS`.
    pub expiry_sweep_seconds: Option<u64>,
    /// Whether the server scores events as they are recorded and raises alerts (docs/watch.md). Default true. Env `CUSTODY_WATCH`.
    pub watch: Option<bool>,
    /// Seconds the watcher waits for new events when it has caught up: an alert raised at once is stored at most this long after its event. Default 2. Env `CUSTODY_WATCH_PERIOD_SECONDS`.
    pub watch_period_seconds: Option<u64>,
    /// Seconds a TLS handshake may take. Default 10. Env `CUSTODY_TLS_HANDSHAKE_SECONDS`.
    pub tls_handshake_seconds: Option<u64>,
    /// Seconds a request head may take to arrive. Default 10. Env `CUSTODY_HEADER_READ_SECONDS`.
    pub header_read_seconds: Option<u64>,
    /// Seconds a connection stays open with no request in flight. Default 60. Env `CUSTODY_IDLE_SECONDS`.
    pub idle_seconds: Option<u64>,
    /// Seconds a request body may send nothing before the request is aborted. Default 30. Env `CUSTODY_BODY_PROGRESS_SECONDS`.
    pub body_progress_seconds: Option<u64>,
    /// Most connections open at once. Default 10000. Env `CUSTODY_MAX_CONNECTIONS`.
    pub max_connections: Option<usize>,
    /// Most connections open at once from one client address (an IPv6 /64 is one). Default 256. Env `CUSTODY_MAX_CONNECTIONS_PER_ADDRESS`.
    pub max_connections_per_address: Option<usize>,
    /// poppler's `pdftoppm`, which draws the viewer's PDF pages: a path, or a name looked up in `PATH`. Default `pdftoppm` (Debian package poppler-utils). Env `CUSTODY_PDFTOPPM`.
    pub pdftoppm: Option<PathBuf>,
    /// Whether the viewer shows PDFs. Default true: `serve` refuses to start when `pdftoppm` cannot be run. false: runs without it, and the viewer answers 503 `render_unavailable` for PDFs. Env `CUSTODY_PDF_VIEWER`.
    pub pdf_viewer: Option<bool>,
    /// Memory, in MiB, that the viewer keeps open views' pages (and the files they show) in. Default 256. Env `CUSTODY_VIEWER_CACHE_MIB`.
    pub viewer_cache_mib: Option<u64>,
    /// SMTP server that sends the platform's e-mail; none: no e-mail is sent (and links bound to recipients cannot be made). Env `CUSTODY_SMTP_HOST`.
    pub smtp_host: Option<String>,
    /// Its port. Default 587 (`starttls`), 465 (`tls`), 25 (`none`). Env `CUSTODY_SMTP_PORT`.
    pub smtp_port: Option<u16>,
    /// `starttls` (required), `tls` (implicit) or `none`. Default `starttls`. Env `CUSTODY_SMTP_SECURITY`.
    pub smtp_security: Option<String>,
    /// User name for SMTP AUTH; with `smtp_password_file`. Env `CUSTODY_SMTP_USERNAME`.
    pub smtp_username: Option<String>,
    /// File holding the SMTP password (mode 0600; refused when readable by others). Env `CUSTODY_SMTP_PASSWORD_FILE`.
    pub smtp_password_file: Option<PathBuf>,
    /// The sender of every message, e.g. `Custody <custody@example.com>`. Needed with `smtp_host`. Env `CUSTODY_SMTP_FROM`.
    pub smtp_from: Option<String>,
    /// PEM CA certificates trusted for the SMTP server beside the system's. Env `CUSTODY_SMTP_CA_FILE`.
    pub smtp_ca_file: Option<PathBuf>,
    /// Seconds one SMTP command may take. Default 30. Env `CUSTODY_SMTP_TIMEOUT_SECONDS`.
    pub smtp_timeout_seconds: Option<u64>,
    /// Seconds before the second attempt at a message; each failure doubles it, up to an hour. Default 30. Env `CUSTODY_MAIL_RETRY_SECONDS`.
    pub mail_retry_seconds: Option<u64>,
    /// Seconds between passes of the mail worker over the outbox. Default 5. Env `CUSTODY_MAIL_POLL_SECONDS`.
    pub mail_poll_seconds: Option<u64>,
    /// The longest a share link may live, in days, whatever its creator asks (it never outlives the room or the creator's grant either). Default 30. Env `CUSTODY_LINK_MAX_DAYS`.
    pub link_max_days: Option<i64>,
    /// The address people reach this server at, e.g. `https://custody.example.com` (https, a host and maybe a port, no path): the links in e-mail (invitations) start with it. Default none: invitations are not mailed, the admin hands their links over. Env `CUSTODY_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// Address of a plain-HTTP listener serving only `GET /metrics` (Prometheus text format), e.g. `127.0.0.1:9464`: keep it on a private interface. Default none (no metrics listener). Env `CUSTODY_METRICS_LISTEN`.
    pub metrics_listen: Option<String>,
    /// clamd, to which every inbound file is streamed while it is sealed: its socket's absolute path (`/run/clamav/clamd.ctl`, or `unix:/path`) or `host:port`. Default none: no antivirus, uploads are stored without a malware verdict. When set, `serve` refuses to start unless clamd answers PING. Env `CUSTODY_CLAMD_ADDRESS`.
    pub clamd_address: Option<String>,
}

/// Checked settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// The metrics listener's address, when there is one.
    pub metrics_listen: Option<SocketAddr>,
    pub database_url: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub owner_name: String,
    pub settings: app::Settings,
    pub siem: app::siem::SiemSettings,
    pub ledger_checkpoint: std::time::Duration,
    pub expiry_sweep: std::time::Duration,
    /// The watcher's pace, when it runs.
    pub watch: Option<app::alerts::WatchOptions>,
    /// The connection limits of the HTTPS edge.
    pub edge: server::Limits,
    /// The SMTP server, when e-mail is configured.
    pub mail: Option<MailConfig>,
}

/// The SMTP server and the mail worker's pace.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp: app::notify::SmtpSettings,
    pub retry: app::notify::RetryPolicy,
    pub poll: std::time::Duration,
}

macro_rules! env_override {
    ($file:ident, $field:ident, $var:literal) => {
        if let Ok(raw) = std::env::var($var) {
            $file.$field = Some(
                raw.parse()
                    .with_context(|| format!("environment variable `{}` has a bad value", $var))?,
            );
        }
    };
}

impl ConfigFile {
    /// Reads `path` (when given) and applies the `CUSTODY_*` environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
        let mut file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file `{}`", p.display())
                })?;
                toml::from_str(&text)
                    .with_context(|| format!("bad configuration file `{}`", p.display()))?
            }
            None => ConfigFile::default(),
        };
        env_override!(file, data_dir, "CUSTODY_DATA_DIR");
        env_override!(file, listen, "CUSTODY_LISTEN");
        env_override!(file, database_url, "CUSTODY_DATABASE_URL");
        env_override!(file, tls_cert, "CUSTODY_TLS_CERT");
        env_override!(file, tls_key, "CUSTODY_TLS_KEY");
        env_override!(file, owner_name, "CUSTODY_OWNER_NAME");
        env_override!(file, max_upload_bytes, "CUSTODY_MAX_UPLOAD_BYTES");
        env_override!(file, session_minutes, "CUSTODY_SESSION_MINUTES");
        env_override!(file, token_days, "CUSTODY_TOKEN_DAYS");
        env_override!(file, max_failed_logins, "CUSTODY_MAX_FAILED_LOGINS");
        env_override!(file, lockout_minutes, "CUSTODY_LOCKOUT_MINUTES");
        env_override!(file, invitation_days, "CUSTODY_INVITATION_DAYS");
        env_override!(file, external_mfa_required, "CUSTODY_EXTERNAL_MFA_REQUIRED");
        env_override!(
            file,
            owner_everyone_mfa_required,
            "CUSTODY_OWNER_EVERYONE_MFA_REQUIRED"
        );
        env_override!(file, chunk_size, "CUSTODY_CHUNK_SIZE");
        env_override!(file, siem_json_path, "CUSTODY_SIEM_JSON_PATH");
        env_override!(file, siem_syslog_url, "CUSTODY_SIEM_SYSLOG_URL");
        env_override!(file, siem_syslog_ca_file, "CUSTODY_SIEM_SYSLOG_CA_FILE");
        env_override!(
            file,
            siem_syslog_fingerprint,
            "CUSTODY_SIEM_SYSLOG_FINGERPRINT"
        );
        env_override!(file, siem_facility, "CUSTODY_SIEM_FACILITY");
        env_override!(
            file,
            ledger_checkpoint_seconds,
            "CUSTODY_LEDGER_CHECKPOINT_SECONDS"
        );
        env_override!(file, client_address_header, "CUSTODY_CLIENT_ADDRESS_HEADER");
        if let Ok(raw) = std::env::var("CUSTODY_TRUSTED_PROXIES") {
            file.trusted_proxies = Some(raw.split(',').map(|r| r.trim().to_owned()).collect());
        }
        env_override!(file, expiry_sweep_seconds, "CUSTODY_EXPIRY_SWEEP_SECONDS");
        env_override!(file, watch, "CUSTODY_WATCH");
        env_override!(file, watch_period_seconds, "CUSTODY_WATCH_PERIOD_SECONDS");
        env_override!(file, tls_handshake_seconds, "CUSTODY_TLS_HANDSHAKE_SECONDS");
        env_override!(file, header_read_seconds, "CUSTODY_HEADER_READ_SECONDS");
        env_override!(file, idle_seconds, "CUSTODY_IDLE_SECONDS");
        env_override!(file, body_progress_seconds, "CUSTODY_BODY_PROGRESS_SECONDS");
        env_override!(file, max_connections, "CUSTODY_MAX_CONNECTIONS");
        env_override!(
            file,
            max_connections_per_address,
            "CUSTODY_MAX_CONNECTIONS_PER_ADDRESS"
        );
        env_override!(file, pdftoppm, "CUSTODY_PDFTOPPM");
        env_override!(file, pdf_viewer, "CUSTODY_PDF_VIEWER");
        env_override!(file, viewer_cache_mib, "CUSTODY_VIEWER_CACHE_MIB");
        env_override!(file, smtp_host, "CUSTODY_SMTP_HOST");
        env_override!(file, smtp_port, "CUSTODY_SMTP_PORT");
        env_override!(file, smtp_security, "CUSTODY_SMTP_SECURITY");
        env_override!(file, smtp_username, "CUSTODY_SMTP_USERNAME");
        env_override!(file, smtp_password_file, "CUSTODY_SMTP_PASSWORD_FILE");
        env_override!(file, smtp_from, "CUSTODY_SMTP_FROM");
        env_override!(file, smtp_ca_file, "CUSTODY_SMTP_CA_FILE");
        env_override!(file, smtp_timeout_seconds, "CUSTODY_SMTP_TIMEOUT_SECONDS");
        env_override!(file, mail_retry_seconds, "CUSTODY_MAIL_RETRY_SECONDS");
        env_override!(file, mail_poll_seconds, "CUSTODY_MAIL_POLL_SECONDS");
        env_override!(file, link_max_days, "CUSTODY_LINK_MAX_DAYS");
        env_override!(file, metrics_listen, "CUSTODY_METRICS_LISTEN");
        env_override!(file, clamd_address, "CUSTODY_CLAMD_ADDRESS");
        env_override!(file, public_url, "CUSTODY_PUBLIC_URL");
        Ok(file)
    }

    /// Checks every value and fills the defaults.
    pub fn validate(self) -> anyhow::Result<Config> {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let listen = self.listen.as_deref().unwrap_or("127.0.0.1:8443");
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("`listen` must be an address like `127.0.0.1:8443`, not `{listen}`")
        })?;
        let metrics_listen = match self.metrics_listen.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(raw.parse::<SocketAddr>().with_context(|| {
                format!("`metrics_listen` must be an address like `127.0.0.1:9464`, not `{raw}`")
            })?),
        };
        if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
            bail!("`metrics_listen` must differ from `listen`");
        }
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("custody.db").display()));
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("`tls_cert` and `tls_key` go together: set both or neither"),
        };
        let defaults = app::Settings::default();
        let minutes = |m: Option<i64>, default_ms: i64, field: &str| -> anyhow::Result<i64> {
            match m {
                None => Ok(default_ms),
                Some(v) if v > 0 && v < 10_000_000 => Ok(v * 60_000),
                Some(v) => bail!("`{field}` must be a positive number, not `{v}`"),
            }
        };
        let chunk_size = self.chunk_size.unwrap_or(defaults.chunk_size);
        if !chunk_size.is_power_of_two() || !(4096..=16 << 20).contains(&chunk_size) {
            bail!("`chunk_size` must be a power of two from 4096 to 16777216, not `{chunk_size}`");
        }
        let settings = app::Settings {
            browser_session_ttl_ms: minutes(
                self.session_minutes,
                defaults.browser_session_ttl_ms,
                "session_minutes",
            )?,
            api_token_ttl_ms: minutes(
                self.token_days.map(|d| d * 24 * 60),
                defaults.api_token_ttl_ms,
                "token_days",
            )?,
            max_failed_logins: self
                .max_failed_logins
                .unwrap_or(defaults.max_failed_logins)
                .max(1),
            lockout_ms: minutes(self.lockout_minutes, defaults.lockout_ms, "lockout_minutes")?,
            invitation_ttl_ms: minutes(
                self.invitation_days.map(|d| d * 24 * 60),
                defaults.invitation_ttl_ms,
                "invitation_days",
            )?,
            external_mfa_required: self
                .external_mfa_required
                .unwrap_or(defaults.external_mfa_required),
            owner_everyone_mfa_required: self
                .owner_everyone_mfa_required
                .unwrap_or(defaults.owner_everyone_mfa_required),
            max_upload_bytes: self.max_upload_bytes.unwrap_or(defaults.max_upload_bytes),
            chunk_size,
            viewer: viewer_settings(self.pdftoppm, self.pdf_viewer, self.viewer_cache_mib)?,
            mail_enabled: self.smtp_host.is_some(),
            public_url: self.public_url.as_deref().map(public_url).transpose()?,
            links: app::LinkSettings {
                max_lifetime_ms: match self.link_max_days {
                    None => defaults.links.max_lifetime_ms,
                    Some(d) if (1..=3650).contains(&d) => d * 24 * 3600 * 1000,
                    Some(d) => bail!("`link_max_days` must be from 1 to 3650, not `{d}`"),
                },
                ..defaults.links
            },
            antivirus: match self.clamd_address.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(raw) => Some(app::AntivirusSettings::new(
                    app::ClamdAddress::parse(raw)
                        .map_err(|e| anyhow::anyhow!("`clamd_address`: {e}"))?,
                )),
            },
        };
        let mail = mail_config(MailFile {
            host: self.smtp_host,
            port: self.smtp_port,
            security: self.smtp_security,
            username: self.smtp_username,
            password_file: self.smtp_password_file,
            from: self.smtp_from,
            ca_file: self.smtp_ca_file,
            timeout_seconds: self.smtp_timeout_seconds,
            retry_seconds: self.mail_retry_seconds,
            poll_seconds: self.mail_poll_seconds,
        })?;
        let client_address_header = proxy_header(self.client_address_header)?;
        let trusted_proxies: Vec<model::Cidr> = self
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|r| {
                r.parse::<model::Cidr>()
                    .with_context(|| "`trusted_proxies` holds a bad range".to_owned())
            })
            .collect::<anyhow::Result<_>>()?;
        if client_address_header.is_some() && trusted_proxies.is_empty() {
            bail!(
                "`client_address_header` needs `trusted_proxies`: the proxies whose header is believed"
            );
        }
        let expiry_sweep = match self.expiry_sweep_seconds {
            None => 300,
            Some(n) if (1..=86_400).contains(&n) => n,
            Some(n) => bail!("`expiry_sweep_seconds` must be from 1 to 86400, not `{n}`"),
        };
        let expiry_sweep = std::time::Duration::from_secs(expiry_sweep);
        let watch_period = match self.watch_period_seconds {
            None => 2,
            Some(n) if (1..=60).contains(&n) => n,
            Some(n) => bail!("`watch_period_seconds` must be from 1 to 60, not `{n}`"),
        };
        let watch = self
            .watch
            .unwrap_or(true)
            .then(|| app::alerts::WatchOptions {
                period: std::time::Duration::from_secs(watch_period),
                ..app::alerts::WatchOptions::default()
            });
        let siem = siem_settings(
            self.siem_json_path,
            self.siem_syslog_url,
            self.siem_syslog_ca_file,
            self.siem_syslog_fingerprint,
            self.siem_facility,
        )?;
        let owner_name = self.owner_name.unwrap_or_else(|| "Owner".into());
        let ledger_checkpoint = match self.ledger_checkpoint_seconds {
            None => app::ledger::DEFAULT_CHECKPOINT_SECONDS,
            Some(n) if (1..=86_400).contains(&n) => n,
            Some(n) => bail!("`ledger_checkpoint_seconds` must be from 1 to 86400, not `{n}`"),
        };
        let ledger_checkpoint = std::time::Duration::from_secs(ledger_checkpoint);
        let edge = server::Limits {
            client_address_header,
            trusted_proxies,
            ..edge_limits(
                self.tls_handshake_seconds,
                self.header_read_seconds,
                self.idle_seconds,
                self.body_progress_seconds,
                self.max_connections,
                self.max_connections_per_address,
            )?
        };
        Ok(Config {
            edge,
            ledger_checkpoint,
            expiry_sweep,
            watch,
            data_dir,
            listen,
            metrics_listen,
            database_url,
            tls,
            owner_name,
            settings,
            siem,
            mail,
        })
    }
}

/// The mail settings as written.
struct MailFile {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
    timeout_seconds: Option<u64>,
    retry_seconds: Option<u64>,
    poll_seconds: Option<u64>,
}

/// Checks `public_url`: `https://`, a host name (and maybe a port), nothing
/// after it but a final `/`, which is dropped.
fn public_url(raw: &str) -> anyhow::Result<String> {
    let refuse = || {
        anyhow::anyhow!(
            "`public_url` must be like `https://custody.example.com` (https, a host, maybe a port, no path), not `{raw}`"
        )
    };
    let rest = raw.trim().strip_prefix("https://").ok_or_else(refuse)?;
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !name_ok || !port_ok {
        return Err(refuse());
    }
    Ok(format!("https://{host}"))
}

/// Checks the mail settings: none without `smtp_host`; with it a sender, a
/// known security, a username and password file together (the file private).
fn mail_config(f: MailFile) -> anyhow::Result<Option<MailConfig>> {
    use app::notify::{RetryPolicy, Secret, Security, SmtpSettings};
    let Some(host) = f.host else {
        if f.from.is_some() || f.username.is_some() || f.password_file.is_some() {
            bail!("`smtp_from`, `smtp_username` and `smtp_password_file` need `smtp_host`");
        }
        return Ok(None);
    };
    let raw = f.security.as_deref().unwrap_or("starttls");
    let Some(security) = Security::parse(raw) else {
        bail!("`smtp_security` must be `starttls`, `tls` or `none`, not `{raw}`");
    };
    let port = f.port.unwrap_or(match security {
        Security::StartTls => 587,
        Security::Tls => 465,
        Security::None => 25,
    });
    let Some(from) = f.from else {
        bail!("`smtp_host` needs `smtp_from`, the sender of every message");
    };
    let from = model::MailAddress::parse(&from)
        .map_err(|e| anyhow::anyhow!("`smtp_from` is not an address: {e}"))?;
    let credentials = match (f.username, f.password_file) {
        (None, None) => None,
        (Some(user), Some(path)) => Some((user, Secret::new(read_private(&path)?))),
        _ => bail!("`smtp_username` and `smtp_password_file` go together"),
    };
    let ca_pem = f
        .ca_file
        .map(|p| {
            std::fs::read(&p)
                .with_context(|| format!("cannot read `smtp_ca_file` `{}`", p.display()))
        })
        .transpose()?;
    let seconds = |v: Option<u64>, default: u64, field: &str| match v {
        None => Ok(std::time::Duration::from_secs(default)),
        Some(n) if (1..=3600).contains(&n) => Ok(std::time::Duration::from_secs(n)),
        Some(n) => bail!("`{field}` must be from 1 to 3600, not `{n}`"),
    };
    let timeout = seconds(f.timeout_seconds, 30, "smtp_timeout_seconds")?;
    let retry = RetryPolicy {
        first_delay: seconds(f.retry_seconds, 30, "mail_retry_seconds")?,
        // A claimed message is held well past the longest conversation
        // (a handful of commands, each within the timeout).
        lease: timeout * 10,
        ..RetryPolicy::default()
    };
    Ok(Some(MailConfig {
        smtp: SmtpSettings {
            host,
            port,
            security,
            credentials,
            from,
            ca_pem,
            timeout,
        },
        retry,
        poll: seconds(f.poll_seconds, 5, "mail_poll_seconds")?,
    }))
}

/// A secret file's text without its final line break; refused when group or
/// others may read it.
fn read_private(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read `smtp_password_file` `{}`", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "`smtp_password_file` `{}` is readable by group or others: chmod 600 it",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `smtp_password_file` `{}`", path.display()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// The connection limits: timeouts of 1 to 3600 seconds, caps of at least 1
/// (and per address no more than in all).
fn edge_limits(
    handshake: Option<u64>,
    header_read: Option<u64>,
    idle: Option<u64>,
    body_progress: Option<u64>,
    max_connections: Option<usize>,
    per_address: Option<usize>,
) -> anyhow::Result<server::Limits> {
    let defaults = server::Limits::default();
    let seconds = |v: Option<u64>, default: std::time::Duration, field: &str| match v {
        None => Ok(default),
        Some(n) if (1..=3600).contains(&n) => Ok(std::time::Duration::from_secs(n)),
        Some(n) => bail!("`{field}` must be from 1 to 3600, not `{n}`"),
    };
    let max_connections = max_connections.unwrap_or(defaults.max_connections);
    if max_connections == 0 {
        bail!("`max_connections` must be at least 1");
    }
    let max_connections_per_address =
        per_address.unwrap_or(defaults.max_connections_per_address.min(max_connections));
    if !(1..=max_connections).contains(&max_connections_per_address) {
        bail!(
            "`max_connections_per_address` must be from 1 to `max_connections` ({max_connections}), not `{max_connections_per_address}`"
        );
    }
    Ok(server::Limits {
        handshake: seconds(handshake, defaults.handshake, "tls_handshake_seconds")?,
        header_read: seconds(header_read, defaults.header_read, "header_read_seconds")?,
        idle: seconds(idle, defaults.idle, "idle_seconds")?,
        body_progress: seconds(
            body_progress,
            defaults.body_progress,
            "body_progress_seconds",
        )?,
        max_connections,
        max_connections_per_address,
        // The reverse proxies come from `client_address_header` and `trusted_proxies`.
        client_address_header: None,
        trusted_proxies: vec![],
    })
}

/// The viewer's renderer (none when `pdf_viewer` is false) and cache size
/// (16 MiB to 64 GiB).
fn viewer_settings(
    pdftoppm: Option<PathBuf>,
    pdf_viewer: Option<bool>,
    cache_mib: Option<u64>,
) -> anyhow::Result<app::ViewerSettings> {
    let defaults = app::ViewerSettings::default();
    let pdftoppm = match (pdf_viewer.unwrap_or(true), pdftoppm) {
        (false, _) => None,
        (true, Some(p)) if p.as_os_str().is_empty() => {
            bail!("`pdftoppm` must name a program; set `pdf_viewer = false` to run without one")
        }
        (true, Some(p)) => Some(p),
        (true, None) => defaults.pdftoppm,
    };
    let cache_bytes = match cache_mib {
        None => defaults.cache_bytes,
        Some(m) if (16..=65_536).contains(&m) => m << 20,
        Some(m) => bail!("`viewer_cache_mib` must be from 16 to 65536, not `{m}`"),
    };
    Ok(app::ViewerSettings {
        pdftoppm,
        cache_bytes,
    })
}

/// A header name: lowercase ASCII letters, digits and `-`.
fn proxy_header(raw: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(h) = raw else { return Ok(None) };
    let h = h.trim().to_ascii_lowercase();
    if h.is_empty() || h.len() > 64 || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        bail!("`client_address_header` must be a header name such as `x-forwarded-for`");
    }
    Ok(Some(h))
}

/// Checks the SIEM export settings: a `tls://` url needs exactly one of a CA
/// file and a fingerprint; trust settings without a `tls://` url are refused.
fn siem_settings(
    json_path: Option<PathBuf>,
    url: Option<String>,
    ca_file: Option<PathBuf>,
    fingerprint: Option<String>,
    facility: Option<String>,
) -> anyhow::Result<app::siem::SiemSettings> {
    use app::siem::{Facility, JsonTarget, SyslogSettings, SyslogUrl, Transport, Trust};
    let json = json_path.map(|p| {
        if p.as_os_str() == "-" {
            JsonTarget::Stdout
        } else {
            JsonTarget::File(p)
        }
    });
    let facility = match facility {
        Some(f) => Facility::parse(&f).context("bad `siem_facility`")?,
        None => Facility::default(),
    };
    let fingerprint = fingerprint
        .map(|f| app::siem::parse_fingerprint(&f))
        .transpose()
        .context("bad `siem_syslog_fingerprint`")?;
    let Some(url) = url else {
        if ca_file.is_some() || fingerprint.is_some() {
            bail!(
                "`siem_syslog_ca_file` and `siem_syslog_fingerprint` need a `tls://` `siem_syslog_url`"
            );
        }
        return Ok(app::siem::SiemSettings { json, syslog: None });
    };
    let url = SyslogUrl::parse(&url).context("bad `siem_syslog_url`")?;
    let trust = match (url.transport, ca_file, fingerprint) {
        (Transport::Tcp, None, None) => None,
        (Transport::Tcp, _, _) => {
            bail!(
                "`siem_syslog_ca_file` and `siem_syslog_fingerprint` need a `tls://` `siem_syslog_url`"
            )
        }
        (Transport::Tls, Some(ca), None) => Some(Trust::CaFile(ca)),
        (Transport::Tls, None, Some(pin)) => Some(Trust::Fingerprint(pin)),
        (Transport::Tls, _, _) => bail!(
            "a `tls://` `siem_syslog_url` needs one of `siem_syslog_ca_file` and `siem_syslog_fingerprint`"
        ),
    };
    Ok(app::siem::SiemSettings {
        json,
        syslog: Some(SyslogSettings {
            url,
            trust,
            facility,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str, want: Result<&str, &str>) {
        let parsed: Result<ConfigFile, _> = toml::from_str(toml_text);
        let got = parsed
            .map_err(|e| e.to_string())
            .and_then(|f| f.validate().map_err(|e| format!("{e:#}")));
        match (got, want) {
            (Ok(c), Ok(listen)) => assert_eq!(c.listen.to_string(), listen, "{toml_text}"),
            (Err(e), Err(needle)) => assert!(e.contains(needle), "{toml_text}: {e}"),
            (got, want) => panic!("{toml_text}: got {got:?}, want {want:?}"),
        }
    }

    /// Every key of the file is documented in docs/configuration.md. The exhaustive
    /// destructuring stops the build when a field is added without updating the list.
    #[test]
    fn every_setting_is_documented() {
        let ConfigFile {
            data_dir: _,
            listen: _,
            database_url: _,
            tls_cert: _,
            tls_key: _,
            owner_name: _,
            max_upload_bytes: _,
            session_minutes: _,
            token_days: _,
            max_failed_logins: _,
            lockout_minutes: _,
            invitation_days: _,
            external_mfa_required: _,
            owner_everyone_mfa_required: _,
            chunk_size: _,
            siem_json_path: _,
            siem_syslog_url: _,
            siem_syslog_ca_file: _,
            siem_syslog_fingerprint: _,
            siem_facility: _,
            ledger_checkpoint_seconds: _,
            client_address_header: _,
            trusted_proxies: _,
            expiry_sweep_seconds: _,
            watch: _,
            watch_period_seconds: _,
            tls_handshake_seconds: _,
            header_read_seconds: _,
            idle_seconds: _,
            body_progress_seconds: _,
            max_connections: _,
            max_connections_per_address: _,
            pdftoppm: _,
            pdf_viewer: _,
            viewer_cache_mib: _,
            smtp_host: _,
            smtp_port: _,
            smtp_security: _,
            smtp_username: _,
            smtp_password_file: _,
            smtp_from: _,
            smtp_ca_file: _,
            smtp_timeout_seconds: _,
            mail_retry_seconds: _,
            mail_poll_seconds: _,
            link_max_days: _,
            metrics_listen: _,
            clamd_address: _,
            public_url: _,
        } = ConfigFile::default();
        let keys = [
            "data_dir",
            "listen",
            "database_url",
            "tls_cert",
            "tls_key",
            "owner_name",
            "max_upload_bytes",
            "session_minutes",
            "token_days",
            "max_failed_logins",
            "lockout_minutes",
            "invitation_days",
            "external_mfa_required",
            "owner_everyone_mfa_required",
            "chunk_size",
            "siem_json_path",
            "siem_syslog_url",
            "siem_syslog_ca_file",
            "siem_syslog_fingerprint",
            "siem_facility",
            "ledger_checkpoint_seconds",
            "client_address_header",
            "trusted_proxies",
            "expiry_sweep_seconds",
            "watch",
            "watch_period_seconds",
            "tls_handshake_seconds",
            "header_read_seconds",
            "idle_seconds",
            "body_progress_seconds",
            "max_connections",
            "max_connections_per_address",
            "pdftoppm",
            "pdf_viewer",
            "viewer_cache_mib",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password_file",
            "smtp_from",
            "smtp_ca_file",
            "smtp_timeout_seconds",
            "mail_retry_seconds",
            "mail_poll_seconds",
            "link_max_days",
            "metrics_listen",
            "clamd_address",
            "public_url",
        ];
        let docs = include_str!("../../../docs/configuration.md");
        for key in keys {
            assert!(
                docs.contains(&format!("`{key}`")),
                "docs/configuration.md lacks `{key}`"
            );
            let env = format!("CUSTODY_{}", key.to_uppercase());
            assert!(docs.contains(&env), "docs/configuration.md lacks {env}");
        }
    }

    #[test]
    fn siem_settings_resolve() {
        use app::siem::{JsonTarget, Transport, Trust};
        fn check(toml_text: &str, want: &str) {
            let file: ConfigFile = toml::from_str(toml_text).unwrap();
            let siem = file.validate().unwrap().siem;
            let json = match &siem.json {
                None => "none".to_owned(),
                Some(JsonTarget::Stdout) => "stdout".to_owned(),
                Some(JsonTarget::File(p)) => p.display().to_string(),
            };
            let syslog = match &siem.syslog {
                None => "none".to_owned(),
                Some(s) => {
                    let transport = match s.url.transport {
                        Transport::Tcp => "tcp",
                        Transport::Tls => "tls",
                    };
                    let trust = match &s.trust {
                        None => "-".to_owned(),
                        Some(Trust::CaFile(p)) => p.display().to_string(),
                        Some(Trust::Fingerprint(f)) => format!("{:02x}..", f[0]),
                    };
                    format!(
                        "{transport} {}:{} {trust} {}",
                        s.url.host,
                        s.url.port,
                        s.facility.code()
                    )
                }
            };
            assert_eq!(format!("{json} / {syslog}"), want, "{toml_text}");
        }
        let pin = "ab".repeat(32);
        let table = [
            (String::new(), "none / none"),
            ("siem_json_path = \"-\"".to_owned(), "stdout / none"),
            ("siem_json_path = \"/var/log/c.jsonl\"".to_owned(), "/var/log/c.jsonl / none"),
            ("siem_syslog_url = \"tcp://h\"".to_owned(), "none / tcp h:514 - 10"),
            (
                "siem_syslog_url = \"tls://h\"\nsiem_syslog_ca_file = \"ca.pem\"\nsiem_facility = \"local3\"".to_owned(),
                "none / tls h:6514 ca.pem 19",
            ),
            (
                format!("siem_syslog_url = \"tls://h:7000\"\nsiem_syslog_fingerprint = \"{pin}\""),
                "none / tls h:7000 ab.. 10",
            ),
        ];
        for (text, want) in &table {
            check(text, want);
        }
    }

    #[test]
    fn config_files() {
        let table = [
            ("", Ok("127.0.0.1:8443")),
            ("listen = \"0.0.0.0:9443\"", Ok("0.0.0.0:9443")),
            ("listen = \"nowhere\"", Err("`listen` must be an address")),
            ("lisen = \"0.0.0.0:1\"", Err("unknown field")),
            ("tls_cert = \"a.pem\"", Err("go together")),
            ("chunk_size = 1000", Err("power of two")),
            ("session_minutes = -5", Err("positive")),
            (
                "siem_syslog_url = \"tcp://siem.example:514\"",
                Ok("127.0.0.1:8443"),
            ),
            (
                "siem_syslog_url = \"udp://siem.example\"",
                Err("bad `siem_syslog_url`"),
            ),
            (
                "siem_syslog_url = \"tls://siem.example\"",
                Err("needs one of"),
            ),
            (
                "siem_syslog_url = \"tls://s\"\nsiem_syslog_ca_file = \"ca.pem\"\nsiem_syslog_fingerprint = \"00\"",
                Err("bad `siem_syslog_fingerprint`"),
            ),
            ("siem_syslog_ca_file = \"ca.pem\"", Err("need a `tls://`")),
            ("siem_facility = \"local9\"", Err("bad `siem_facility`")),
            (
                "client_address_header = \"X-Forwarded-For\"\ntrusted_proxies = [\"10.0.0.0/8\"]",
                Ok("127.0.0.1:8443"),
            ),
            (
                "client_address_header = \"x-forwarded-for\"",
                Err("needs `trusted_proxies`"),
            ),
            (
                "client_address_header = \"x forwarded\"",
                Err("must be a header name"),
            ),
            (
                "trusted_proxies = [\"10.0.0.1/8\"]",
                Err("`trusted_proxies` holds a bad range"),
            ),
            (
                "expiry_sweep_seconds = 0",
                Err("`expiry_sweep_seconds` must be"),
            ),
            (
                "idle_seconds = 5\nmax_connections = 100\nmax_connections_per_address = 10",
                Ok("127.0.0.1:8443"),
            ),
            (
                "header_read_seconds = 0",
                Err("`header_read_seconds` must be"),
            ),
            ("max_connections = 0", Err("`max_connections` must be")),
            (
                "max_connections = 10\nmax_connections_per_address = 11",
                Err("`max_connections_per_address` must be"),
            ),
            ("pdftoppm = \"\"", Err("`pdftoppm` must name a program")),
            ("viewer_cache_mib = 8", Err("`viewer_cache_mib` must be")),
            ("pdf_viewer = false\npdftoppm = \"\"", Ok("127.0.0.1:8443")),
            (
                "smtp_host = \"mail.example\"\nsmtp_from = \"Custody <c@owner.example>\"",
                Ok("127.0.0.1:8443"),
            ),
            ("smtp_host = \"mail.example\"", Err("needs `smtp_from`")),
            ("smtp_from = \"c@owner.example\"", Err("need `smtp_host`")),
            (
                "smtp_host = \"m.example\"\nsmtp_from = \"c@owner.example\"\nsmtp_security = \"ssl\"",
                Err("`smtp_security` must be"),
            ),
            (
                "smtp_host = \"m.example\"\nsmtp_from = \"c@o.example\\r\\nBcc: x@e.example\"",
                Err("`smtp_from` is not an address"),
            ),
            (
                "smtp_host = \"m.example\"\nsmtp_from = \"c@o.example\"\nsmtp_username = \"u\"",
                Err("go together"),
            ),
            ("link_max_days = 0", Err("`link_max_days` must be")),
            (
                "metrics_listen = \"nowhere\"",
                Err("`metrics_listen` must be an address"),
            ),
            (
                "metrics_listen = \"127.0.0.1:8443\"",
                Err("`metrics_listen` must differ"),
            ),
        ];
        for (text, want) in table {
            check(text, want);
        }
    }

    #[test]
    fn the_viewer_settings_resolve() {
        fn check(toml_text: &str, want: (Option<&str>, u64)) {
            let file: ConfigFile = toml::from_str(toml_text).unwrap();
            let v = file.validate().unwrap().settings.viewer;
            let tool = v.pdftoppm.as_ref().map(|p| p.display().to_string());
            assert_eq!((tool.as_deref(), v.cache_bytes), want, "{toml_text}");
        }
        check("", (Some("pdftoppm"), 256 << 20));
        check(
            "pdftoppm = \"/opt/poppler/bin/pdftoppm\"\nviewer_cache_mib = 64",
            (Some("/opt/poppler/bin/pdftoppm"), 64 << 20),
        );
        check("pdf_viewer = false", (None, 256 << 20));
        check("pdf_viewer = true", (Some("pdftoppm"), 256 << 20));
    }
}
