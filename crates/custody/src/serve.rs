//! `custody serve`: prepare the data directory (database, blobs, keys, TLS,
//! first admin) and run the HTTPS server until interrupted. The key directory is
//! created or checked by `keydir.rs`.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::config::Config;

/// Everything `serve` and the offline commands open from the data directory.
pub struct Opened {
    pub app: app::App,
    pub store: store::Store,
}

/// Creates the data directory (mode 0700) or checks that others cannot read it.
fn data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the data directory `{}`", dir.display()))?;
    }
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("cannot read `{}`", dir.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the data directory `{}` is accessible to group or others (mode {:o}); run `chmod 700` on it",
            dir.display(),
            mode & 0o777
        );
    }
    Ok(())
}

/// How often a node installs a policy version applied on another node.
const POLICY_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens (creating on a first start) the store, the blobs and the key directory;
/// an inconsistent key directory is refused (`keydir.rs`).
pub async fn open(config: &Config) -> anyhow::Result<Opened> {
    data_dir(&config.data_dir)?;
    let store = store::Store::connect(&config.database_url)
        .await
        .context("cannot open the metadata database")?;
    restrict_database_files(&config.data_dir)?;
    let blobs: Arc<dyn vault::Blobs> = Arc::new(
        vault::DiskBlobs::open(&config.data_dir.join("blobs"), app::blocking_pool())
            .await
            .context("cannot open the blob directory")?,
    );
    let key_dir = config.data_dir.join("keys");
    let keys = crate::keydir::open(&key_dir, &store, &*blobs).await?;
    let app = crate::keydir::app_with(
        keys,
        &key_dir,
        (store.clone(), blobs),
        config.settings.clone(),
    )?;
    app.policies()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot start without valid authorization policies")?;
    app.load_stored_policies()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot start without valid authorization policies")?;
    app.load_zones()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot read the network zones")?;
    app.load_risk()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot read the risk matrix")?;
    let now = app::Clock::now_ms(&app::SystemClock);
    app::adopt_room_keys(&app, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("cannot give every room its key")?;
    Ok(Opened { app, store })
}

/// The SQLite files hold metadata (names, e-mails, wrapped keys): owner only.
fn restrict_database_files(dir: &Path) -> anyhow::Result<()> {
    for name in ["custody.db", "custody.db-wal", "custody.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict `{}`", path.display()))?;
        }
    }
    Ok(())
}

fn tls(config: &Config) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (cert, key) = match &config.tls {
        Some((c, k)) => (c.clone(), k.clone()),
        None => {
            let dir = config.data_dir.join("tls");
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .context("cannot create the TLS directory")?;
            let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
            let names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            if server::tls::ensure_self_signed(&c, &k, names)? {
                tracing::info!(cert = %c.display(), "generated a self-signed TLS certificate");
            }
            (c, k)
        }
    };
    let fingerprint = server::tls::fingerprint(&cert)?;
    println!("tls certificate sha256 fingerprint: {fingerprint}");
    Ok(server::tls::server_config(&cert, &key)?)
}

async fn bootstrap(app: &app::App, owner_name: &str) -> anyhow::Result<()> {
    let email =
        std::env::var("CUSTODY_ADMIN_EMAIL").unwrap_or_else(|_| "admin@custody.local".into());
    let password = std::env::var("CUSTODY_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let outcome = app::Identity(app)
        .bootstrap(owner_name, &email, password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first admin: {e}"))?;
    if let Some(email) = outcome.admin_email {
        println!("created the first admin `{email}`");
    }
    if let Some(pw) = outcome.generated_password {
        println!("generated admin password (shown once, store it now): {pw}");
    }
    Ok(())
}

/// The viewer draws PDF pages with poppler's `pdftoppm`: unless the
/// configuration turns PDFs off, a server that cannot run it refuses to start
/// (a security team would rather learn it at deployment than from a partner
/// who cannot see a view-only drawing; nothing else falls back to sending
/// the original).
async fn check_viewer(settings: &app::ViewerSettings) -> anyhow::Result<()> {
    let Some(tool) = &settings.pdftoppm else {
        println!(
            "pdf viewer: off (`pdf_viewer = false`): pdfs opened in the viewer answer 503 render_unavailable"
        );
        return Ok(());
    };
    match app::viewer::renderer(settings).check_pdf().await {
        Ok(version) => {
            tracing::info!(tool = %tool.display(), %version, "the viewer draws pdf pages");
            Ok(())
        }
        Err(e) => bail!(
            "the viewer cannot draw pdf pages: {e}; install poppler-utils (Debian, Ubuntu: \
             `apt-get install poppler-utils`), point `pdftoppm` (CUSTODY_PDFTOPPM) at the program, \
             or set `pdf_viewer = false` (CUSTODY_PDF_VIEWER=false) to run without viewing pdfs"
        ),
    }
}

/// Checks that clamd answers PING when antivirus is configured; says so when it is not.
async fn check_antivirus(settings: Option<&app::AntivirusSettings>) -> anyhow::Result<()> {
    let Some(av) = settings.cloned() else {
        println!(
            "antivirus: off (no `clamd_address`): uploads are stored without a malware verdict"
        );
        return Ok(());
    };
    let at = av.clamd.to_string();
    let pinged = tokio::task::spawn_blocking(move || app::antivirus::ping(&av)).await?;
    match pinged {
        Ok(()) => {
            println!("antivirus: every inbound file is streamed to clamd at {at}");
            Ok(())
        }
        Err(e) => bail!(
            "antivirus is configured but clamd does not answer PING: {e}; start clamd (Debian, \
             Ubuntu: `apt-get install clamav-daemon`), point `clamd_address` \
             (CUSTODY_CLAMD_ADDRESS) at its socket, or remove `clamd_address` to run without \
             antivirus"
        ),
    }
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    check_viewer(&config.settings.viewer).await?;
    check_antivirus(config.settings.antivirus.as_ref()).await?;
    let opened = open(&config).await?;
    let removed = app::Files(&opened.app)
        .remove_orphans()
        .await
        .map_err(|e| anyhow::anyhow!("cannot clean interrupted uploads: {e}"))?;
    if removed > 0 {
        tracing::warn!(removed, "removed blobs left by interrupted uploads");
    }
    let finished = app::destruction::resume_destructions(&opened.app)
        .await
        .map_err(|e| anyhow::anyhow!("cannot finish an interrupted destruction: {e}"))?;
    if finished > 0 {
        tracing::warn!(finished, "finished destructions a crash interrupted");
    }
    bootstrap(&opened.app, &config.owner_name).await?;
    let _checkpointer =
        app::ledger::spawn_checkpointer(opened.app.clone(), config.ledger_checkpoint);
    let _policies = app::spawn_refresher(opened.app.clone(), POLICY_REFRESH);
    let _sweeper = app::spawn_sweeper(opened.app.clone(), config.expiry_sweep);
    let _attestations = app::spawn_attestation_sweeper(opened.app.clone(), config.expiry_sweep);
    let _retention = app::destruction::spawn_retention(opened.app.clone(), config.expiry_sweep);
    let _mailer = match &config.mail {
        Some(mail) => {
            let mailer = app::notify::Mailer::new(&mail.smtp)
                .map_err(|e| anyhow::anyhow!("cannot set up the smtp client: {e}"))?;
            tracing::info!(host = %mail.smtp.host, port = mail.smtp.port, "e-mail through smtp");
            Some(app::notify::spawn_mailer(
                opened.app.clone(),
                mailer,
                mail.retry,
                mail.poll,
            ))
        }
        None => None,
    };
    let _watcher = config
        .watch
        .clone()
        .map(|options| app::alerts::spawn(opened.app.clone(), options));
    let options = app::siem::ForwarderOptions::default();
    let _siem = app::siem::spawn(
        &opened.app,
        &config.siem,
        &config.data_dir.join("siem"),
        &options,
    )
    .map_err(|e| anyhow::anyhow!("cannot start the siem export: {e:?}"))?;
    let tls = tls(&config)?;
    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on `{}`", config.listen))?;
    listener.set_nonblocking(true)?;
    let shutdown = shutdown_signal()?;
    let _metrics = match config.metrics_listen {
        Some(addr) => {
            let metrics = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on `{addr}`"))?;
            println!("metrics on http://{}/metrics", metrics.local_addr()?);
            let app = opened.app.clone();
            Some(tokio::spawn(async move {
                if let Err(e) = server::ops::serve_metrics(app, metrics).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            }))
        }
        None => None,
    };
    println!("listening on https://{}", listener.local_addr()?);
    server::serve_listener_with(opened.app, listener, tls, config.edge.clone(), shutdown)
        .await
        .context("the server failed")?;
    opened.store.close().await;
    Ok(())
}

/// Registers the SIGTERM and SIGINT handlers now (before the server announces
/// itself), and returns a future that resolves on the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
