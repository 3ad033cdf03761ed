//! The `custody` binary: `serve` runs the server; `keys rotate` re-wraps every
//! data key; the client commands (`login`, `rooms`, `ls`, `put`, `get`) speak to
//! a server over HTTPS.

mod certificate_cmd;
mod cli;
mod config;
mod keydir;
mod ledger_cmd;
mod policy_cmd;
mod scan_cmd;
mod serve;
mod trace_cmd;
mod watch_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Share intellectual property with external parties and keep control of it.
#[derive(Parser)]
#[command(name = "custody", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Settings shared by commands that open the data directory.
#[derive(clap::Args)]
struct ServerArgs {
    /// Configuration file (TOML). Every setting is documented in docs/configuration.md.
    #[arg(long, env = "CUSTODY_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database, blobs, keys, TLS). Default `data`. Env `CUSTODY_DATA_DIR`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Every setting of `serve`, shown by `custody serve --help` (docs/configuration.md explains each).
const SERVE_SETTINGS: &str = "\
Settings (TOML key / environment variable, default):
  data_dir               CUSTODY_DATA_DIR               data
  listen                 CUSTODY_LISTEN                 127.0.0.1:8443
  database_url           CUSTODY_DATABASE_URL           sqlite://<data_dir>/custody.db (or postgres://…)
  tls_cert, tls_key      CUSTODY_TLS_CERT, _TLS_KEY     self-signed, generated in <data_dir>/tls
  owner_name             CUSTODY_OWNER_NAME             Owner
  max_upload_bytes       CUSTODY_MAX_UPLOAD_BYTES       68719476736
  session_minutes        CUSTODY_SESSION_MINUTES        720
  token_days             CUSTODY_TOKEN_DAYS             30
  max_failed_logins      CUSTODY_MAX_FAILED_LOGINS      5
  lockout_minutes        CUSTODY_LOCKOUT_MINUTES        15
  invitation_days        CUSTODY_INVITATION_DAYS        7
  external_mfa_required  CUSTODY_EXTERNAL_MFA_REQUIRED  true
  owner_everyone_mfa_required  CUSTODY_OWNER_EVERYONE_MFA_REQUIRED  false (admins, security officers: always TOTP)
  chunk_size             CUSTODY_CHUNK_SIZE             1048576
  ledger_checkpoint_seconds  CUSTODY_LEDGER_CHECKPOINT_SECONDS  60
  siem_json_path         CUSTODY_SIEM_JSON_PATH         none (`-`: standard output); audit events as JSON lines
  siem_syslog_url        CUSTODY_SIEM_SYSLOG_URL        none; RFC 5424 to tcp://HOST:PORT or tls://HOST:PORT
  siem_syslog_ca_file    CUSTODY_SIEM_SYSLOG_CA_FILE    none; CA file for tls://
  siem_syslog_fingerprint  CUSTODY_SIEM_SYSLOG_FINGERPRINT  none; pinned collector certificate for tls://
  siem_facility          CUSTODY_SIEM_FACILITY          authpriv
  client_address_header  CUSTODY_CLIENT_ADDRESS_HEADER  none; e.g. x-forwarded-for, read only from trusted_proxies
  trusted_proxies        CUSTODY_TRUSTED_PROXIES        none; CIDR ranges (comma-separated in the environment)
  expiry_sweep_seconds   CUSTODY_EXPIRY_SWEEP_SECONDS   300
  smtp_host              CUSTODY_SMTP_HOST              none; without it no e-mail is sent (docs/mail.md)
  smtp_port              CUSTODY_SMTP_PORT              587 / 465 / 25, following smtp_security
  smtp_security          CUSTODY_SMTP_SECURITY          starttls (or tls, none)
  smtp_username          CUSTODY_SMTP_USERNAME          none; SMTP AUTH with smtp_password_file
  smtp_password_file     CUSTODY_SMTP_PASSWORD_FILE     none; refused when readable by others, never logged
  smtp_from              CUSTODY_SMTP_FROM              none; `addr` or `Name <addr>`, needed with smtp_host
  smtp_ca_file           CUSTODY_SMTP_CA_FILE           none; PEM CAs trusted beside the system's
  smtp_timeout_seconds   CUSTODY_SMTP_TIMEOUT_SECONDS   30
  mail_retry_seconds     CUSTODY_MAIL_RETRY_SECONDS     30; doubled per failure, up to an hour
  mail_poll_seconds      CUSTODY_MAIL_POLL_SECONDS      5
  link_max_days          CUSTODY_LINK_MAX_DAYS          30; the longest a share link lives
  metrics_listen         CUSTODY_METRICS_LISTEN         none; plain-HTTP address serving GET /metrics only (keep it private)
  clamd_address          CUSTODY_CLAMD_ADDRESS          none (no antivirus); clamd's socket path or host:port, PING checked at start
  public_url             CUSTODY_PUBLIC_URL             none; https://host[:port] people reach; invitations are mailed with it
  watch                  CUSTODY_WATCH                  true
  watch_period_seconds   CUSTODY_WATCH_PERIOD_SECONDS   2
  tls_handshake_seconds  CUSTODY_TLS_HANDSHAKE_SECONDS  10
  header_read_seconds    CUSTODY_HEADER_READ_SECONDS    10
  idle_seconds           CUSTODY_IDLE_SECONDS           60
  body_progress_seconds  CUSTODY_BODY_PROGRESS_SECONDS  30
  max_connections        CUSTODY_MAX_CONNECTIONS        10000
  max_connections_per_address  CUSTODY_MAX_CONNECTIONS_PER_ADDRESS  256
  pdftoppm               CUSTODY_PDFTOPPM               pdftoppm (poppler-utils); draws the viewer's PDF pages, checked at start
  pdf_viewer             CUSTODY_PDF_VIEWER             true; false runs without pdftoppm (PDFs in the viewer: 503)
  viewer_cache_mib       CUSTODY_VIEWER_CACHE_MIB       256; memory for the pages of open views
Bootstrap (environment only): CUSTODY_ADMIN_EMAIL (admin@custody.local), CUSTODY_ADMIN_PASSWORD (generated when absent).
Logging: CUSTODY_LOG (info).";

#[derive(Subcommand)]
enum Command {
    /// Run the HTTPS server. On an empty data directory: creates the database, the
    /// keys (key-encryption, ledger signer and mark keys, 0600, listed in
    /// `keys/manifest`), a self-signed certificate and the first admin
    /// (`CUSTODY_ADMIN_EMAIL`, `CUSTODY_ADMIN_PASSWORD`; else a generated password is
    /// printed once). Keys are never created over existing data: a key directory that
    /// does not match the data refuses to start, saying what is wrong.
    #[command(after_long_help = SERVE_SETTINGS)]
    Serve {
        #[command(flatten)]
        args: ServerArgs,
        /// Address to listen on. Default `127.0.0.1:8443`. Env `CUSTODY_LISTEN`.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Key-encryption key management.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The tamper-evident ledger: export and verify evidence, check the stored log.
    Ledger {
        #[command(subcommand)]
        command: ledger_cmd::LedgerCommand,
    },
    /// Certificates of destruction: verify one offline.
    Certificate {
        #[command(subcommand)]
        command: certificate_cmd::CertificateCommand,
    },
    /// The authorization policies of a server (admins): list, show, what-if, apply.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Scan files and directories for secrets, personal data and markings,
    /// without a server (exit 0 clean, 1 found at or above `--fail-on`, 2 error).
    Scan(scan_cmd::ScanArgs),
    /// Read the watermark a file carries and print its mark id, kind and confidence.
    Trace(trace_cmd::TraceArgs),
    /// Behavioural analytics without a server: score an export of events.
    Watch {
        #[command(subcommand)]
        command: watch_cmd::WatchCommand,
    },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new key-encryption key and re-wrap every data key and secret under it (content is not rewritten).
    Rotate {
        #[command(flatten)]
        args: ServerArgs,
    },
}

fn load_config(args: ServerArgs, listen: Option<String>) -> anyhow::Result<config::Config> {
    let mut file = config::ConfigFile::load(args.config.as_deref())?;
    if args.data_dir.is_some() {
        file.data_dir = args.data_dir;
    }
    if listen.is_some() {
        file.listen = listen;
    }
    file.validate()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { args, listen } => serve::run(load_config(args, listen)?).await,
        Command::Keys {
            command: KeysCommand::Rotate { args },
        } => {
            let config = load_config(args, None)?;
            let opened = serve::open(&config).await?;
            let now = app::Clock::now_ms(&app::SystemClock);
            let r = app::rotate_keys(&opened.store, &config.data_dir.join("keys"), now)
                .await
                .map_err(|e| anyhow::anyhow!("key rotation failed: {e}"))?;
            println!(
                "new key-encryption key `{}`: re-wrapped {} data keys, {} room keys and {} secrets",
                r.new_kek_id, r.rewrapped_keys, r.rewrapped_room_keys, r.resealed_secrets
            );
            Ok(())
        }
        Command::Ledger { command } => ledger_cmd::run(command).await,
        Command::Certificate { command } => certificate_cmd::run(command),
        Command::Policy { command } => policy_cmd::run(command).await,
        Command::Trace(args) => trace_cmd::run(args).await,
        Command::Scan(args) => scan_cmd::run(args),
        Command::Watch { command } => watch_cmd::run(command),
        Command::Client(cmd) => cli::run(cmd).await,
    }
}

/// Logs to stderr, filtered by `CUSTODY_LOG` (default `info`), as text or —
/// with `CUSTODY_LOG_FORMAT=json` — one JSON object per line (docs/operations.md).
fn init_logs(format: Option<&str>) -> Result<(), String> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("CUSTODY_LOG").unwrap_or_else(|_| "info".into())
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    match format {
        None | Some("" | "text") => logs.init(),
        Some("json") => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        Some(other) => {
            return Err(format!(
                "CUSTODY_LOG_FORMAT is `text` or `json`, not `{other}`"
            ));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if let Err(e) = init_logs(std::env::var("CUSTODY_LOG_FORMAT").ok().as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<cli::HeldUpload>().is_some() => {
            eprintln!("held: {e:#}");
            ExitCode::from(cli::HeldUpload::EXIT_CODE)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key of the configuration file, as serde names them when it
    /// refuses an unknown one.
    fn config_keys() -> Vec<String> {
        let refused = toml::from_str::<config::ConfigFile>("not_a_setting = 1")
            .expect_err("an unknown key is refused");
        let text = refused.to_string();
        let listed = text
            .split("expected one of")
            .nth(1)
            .unwrap_or_else(|| panic!("no list of keys in: {text}"));
        listed
            .split(',')
            .map(|k| {
                k.trim()
                    .trim_matches(|c: char| c == '`' || c.is_whitespace())
                    .to_owned()
            })
            .filter(|k| !k.is_empty())
            .collect()
    }

    #[test]
    fn regression_serve_help_lists_every_setting() {
        let keys = config_keys();
        assert!(keys.len() > 20, "{keys:?}");
        for key in keys {
            // A line names one key, or several (`a, b`), before its variables.
            let line = SERVE_SETTINGS
                .lines()
                .find(|l| {
                    let names = l.split("CUSTODY_").next().unwrap_or_default();
                    names.split([',', ' ']).any(|n| n == key)
                })
                .unwrap_or_else(|| panic!("`custody serve --help` does not list `{key}`"));
            let env = format!("CUSTODY_{}", key.to_uppercase());
            let abbreviated = env.trim_start_matches("CUSTODY");
            assert!(
                line.contains(&env) || line.contains(abbreviated),
                "`{key}`: its environment variable `{env}` is not on its line: {line}"
            );
        }
    }
}
