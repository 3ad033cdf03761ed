//! The SIEM forwarder: one background task per configured sink tails the
//! events table by `seq` and sends each new batch (with each event's ledger
//! index) to its sink, then records how far it got in a cursor file,
//! `<state dir>/<sink>.cursor`, replaced atomically (written, fsynced, renamed,
//! directory fsynced).
//!
//! Delivery is **at-least-once**: the cursor moves only after a batch was
//! sent, so a restart never loses an event, and resends at most the one batch
//! whose cursor write was interrupted; collectors should deduplicate on `seq`.
//! A sink that is down is retried with exponential backoff; requests never
//! wait for it (events keep being recorded, the forwarder catches up). The
//! forwarder only reads the store, each batch in a short read transaction.
//!
//! The cursor belongs to the node: with several nodes on one database,
//! configure the sinks on one node only, or each node sends every event.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use ::siem::{
    Facility, Item, JsonTarget, Origin, SiemError, Sink, SyslogUrl, Transport, Trust,
    parse_fingerprint,
};
use tokio::task::JoinHandle;

use kernel::{App, AppError};

/// The first line of a cursor file. Do not change: it versions the file.
const CURSOR_TAG: &str = "custody-siem-cursor/1";

/// Which sinks to feed (the binary fills this from the configuration).
#[derive(Clone, Debug, Default)]
pub struct SiemSettings {
    /// JSON lines to a file or standard output.
    pub json: Option<JsonTarget>,
    /// RFC 5424 messages to a collector over TCP or TLS.
    pub syslog: Option<SyslogSettings>,
}

/// A syslog sink's settings.
#[derive(Clone, Debug)]
pub struct SyslogSettings {
    pub url: SyslogUrl,
    /// Required for `tls://`.
    pub trust: Option<Trust>,
    pub facility: Facility,
}

/// The forwarder's pace.
#[derive(Clone, Debug)]
pub struct ForwarderOptions {
    /// Most events per batch.
    pub batch: i64,
    /// How long to wait when there is nothing new.
    pub poll: Duration,
    /// First wait after a failure; doubled at each failure up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ForwarderOptions {
    fn default() -> Self {
        ForwarderOptions {
            batch: 500,
            poll: Duration::from_secs(1),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Tails the events into one sink.
pub struct Forwarder {
    store: store::Store,
    sink: Sink,
    cursor_path: PathBuf,
    cursor: i64,
    options: ForwarderOptions,
}

impl Forwarder {
    /// A forwarder for `sink` whose cursor lives in `state_dir` (created, mode
    /// 0700). Fails on a cursor file it cannot read.
    pub fn new(
        app: &App,
        sink: Sink,
        state_dir: &Path,
        options: ForwarderOptions,
    ) -> Result<Forwarder, AppError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .map_err(|e| internal(format!("cannot create `{}`: {e}", state_dir.display())))?;
        let cursor_path = state_dir.join(format!("{}.cursor", sink.name()));
        let cursor = read_cursor(&cursor_path)?;
        Ok(Forwarder {
            store: app.store().clone(),
            sink,
            cursor_path,
            cursor,
            options,
        })
    }

    /// The `seq` of the last event sent.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Sends the next batch, if any, and moves the cursor past it; returns how
    /// many events were sent.
    pub async fn step(&mut self) -> Result<usize, AppError> {
        let mut tx = self.store.read().await?;
        let events = tx.list_events(self.cursor, self.options.batch).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(0);
        };
        let indices: HashMap<i64, u64> = tx
            .ledger_indices(self.cursor, last)
            .await?
            .into_iter()
            .collect();
        drop(tx);
        let items: Vec<Item<'_>> = events
            .iter()
            .map(|event| Item {
                event,
                ledger_index: indices.get(&event.seq).copied(),
            })
            .collect();
        self.sink.send(&items).await.map_err(|e| {
            internal(format!(
                "sink `{}` failed ({}): {e}",
                self.sink.target(),
                e.code()
            ))
        })?;
        write_cursor(self.cursor_path.clone(), last).await?;
        self.cursor = last;
        Ok(events.len())
    }

    /// Forwards forever: a full batch is followed at once by the next, an
    /// empty one by a pause of `poll`, a failure by a growing backoff.
    pub async fn run(mut self) {
        let mut backoff = self.options.min_backoff;
        tracing::info!(sink = %self.sink.target(), cursor = self.cursor, "siem forwarder started");
        loop {
            match self.step().await {
                Ok(n) => {
                    backoff = self.options.min_backoff;
                    if i64::try_from(n).unwrap_or(i64::MAX) < self.options.batch {
                        tokio::time::sleep(self.options.poll).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = ?e, retry_in = ?backoff, cursor = self.cursor, "siem forwarding failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                }
            }
        }
    }

    /// Runs the forwarder on the tokio runtime.
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(self.run())
    }
}

/// Starts a forwarder for each configured sink, cursors in `state_dir`.
pub fn spawn(
    app: &App,
    settings: &SiemSettings,
    state_dir: &Path,
    options: &ForwarderOptions,
) -> Result<Vec<JoinHandle<()>>, AppError> {
    let mut sinks = Vec::new();
    if let Some(target) = &settings.json {
        sinks.push(Sink::json(target.clone()));
    }
    if let Some(syslog) = &settings.syslog {
        let origin = Origin {
            hostname: local_hostname(),
            procid: std::process::id().to_string(),
            facility: syslog.facility,
        };
        let sink = Sink::syslog(syslog.url.clone(), syslog.trust.as_ref(), origin)
            .map_err(|e| internal(format!("siem syslog sink: {e}")))?;
        sinks.push(sink);
    }
    sinks
        .into_iter()
        .map(|sink| Ok(Forwarder::new(app, sink, state_dir, options.clone())?.spawn()))
        .collect()
}

/// This machine's host name (Linux), or empty (the NILVALUE) when unknown.
fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The cursor in `path`; 0 (start from the first event) when there is none.
fn read_cursor(path: &Path) -> Result<i64, AppError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(internal(format!("cannot read `{}`: {e}", path.display()))),
    };
    parse_cursor(&text).ok_or_else(|| {
        internal(format!(
            "`{}` is not a siem cursor file; delete it to resend every event",
            path.display()
        ))
    })
}

fn parse_cursor(text: &str) -> Option<i64> {
    let rest = text.strip_prefix(CURSOR_TAG)?.strip_prefix(' ')?;
    let seq = rest.strip_suffix('\n')?;
    seq.parse::<i64>()
        .ok()
        .filter(|s| *s >= 0 && !seq.starts_with('+'))
}

/// Replaces the cursor file atomically and durably.
async fn write_cursor(path: PathBuf, seq: i64) -> Result<(), AppError> {
    let fail = |e: std::io::Error, path: &Path| {
        internal(format!(
            "cannot write the siem cursor `{}`: {e}",
            path.display()
        ))
    };
    tokio::task::spawn_blocking(move || {
        let tmp = path.with_extension("cursor.tmp");
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(format!("{CURSOR_TAG} {seq}\n").as_bytes())?;
                f.sync_all()
            });
        written.map_err(|e| fail(e, &tmp))?;
        std::fs::rename(&tmp, &path).map_err(|e| fail(e, &path))?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| fail(e, dir))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| internal(format!("cursor writer: {e}")))?
}

fn internal(message: String) -> AppError {
    AppError::internal(message)
}

#[cfg(test)]
mod tests;
