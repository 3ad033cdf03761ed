//! Metadata storage on SQLite (embedded default) or PostgreSQL (scale-out).
//! **The only crate that knows SQL.** One interface for both backends, through
//! sqlx's `Any` driver with portable SQL; one migration directory per backend,
//! applied at connect. Every state change happens inside a [`Tx`] so that the
//! change and its audit event commit together.
//!
//! On SQLite, write transactions queue in-process for the one write lock and
//! commit in groups: `synchronous = NORMAL` plus one shared `fdatasync` of the
//! write-ahead log per group, before `commit` returns (see `durability.rs`).
//! PostgreSQL already flushes concurrent commits together (one WAL flush
//! serves every commit record written before it; `commit_delay` can widen the
//! groups), so nothing is added there.

mod batch;
mod conn_thread;
mod durability;
mod error;
mod migrate;
mod reader;
mod row;
mod tx;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection};

use crate::durability::Durability;
pub use batch::{BuildLeaves, ledger_frontier};
pub use durability::DurabilityStats;
pub use error::StoreError;
pub use reader::LedgerView;
pub use tx::WatchState;
pub use tx::{
    AttemptOutcome, ClaimedMail, LinkCode, LinkSignature, NewMail, OutboxCounts, OutboxEntry,
    ReceivedFile, UploadCode,
};
pub use tx::{AttestationCode, CrownJewel, FilePlace};
pub use tx::{AvVerdict, DlpHold, DueReminder, HoldState, Offboarded, SharedFile, StoredVerdict};
pub use tx::{Destruction, LegalHold, PurgeCandidate, PurgeSettings, RoomVersion};
pub use tx::{
    EventFilter, LabelIds, Labels, LeafRow, LedgerLeaf, LedgerNode, NewLeaf, NewVersion, Redaction,
    StoredCheckpoint, StoredPolicyVersion, Tx,
};
pub use tx::{PartyReview, RoomActivity, ScopedGrant};
pub use tx::{ScimGroup, ScimMapping, ScimToken, ScimUser};

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend named by the scheme of `url`.
    fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database url scheme `{scheme}`").into(),
            )))
        }
    }
}

/// A connection pool to the metadata database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the in-process write queue and the group commit.
    sqlite: Option<Group>,
    /// SQLite only: the database file (`None` in memory), for the batch writer.
    sqlite_path: Option<PathBuf>,
    /// SQLite only: the batch writer's thread and connection (`batch.rs`).
    writer: Arc<batch::Writer>,
    /// SQLite only: the ledger reader's thread and connection (`reader.rs`).
    reader: Arc<reader::Reader>,
}

/// What SQLite write transactions share.
#[derive(Clone, Debug)]
struct Group {
    /// Taken before `BEGIN IMMEDIATE`: writers of this process queue here, in
    /// order, instead of polling SQLite's lock with the busy handler's sleeps.
    gate: Arc<tokio::sync::Mutex<()>>,
    durability: Arc<Durability>,
}

/// How long a writer waits for the write lock (SQLite's busy timeout too).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating the SQLite
    /// file if missing (WAL mode, foreign keys on, busy timeout), and applies the
    /// backend's migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (url, sqlite, sqlite_path) = match backend {
            Backend::Sqlite => {
                let url = sqlite_create_if_missing(url);
                prepare_sqlite(&url).await?;
                let file = sqlite_file(&url)?;
                let wal = file.as_ref().map(|file| {
                    let mut wal = file.as_os_str().to_owned();
                    wal.push("-wal");
                    PathBuf::from(wal)
                });
                let group = Group {
                    gate: Arc::new(tokio::sync::Mutex::new(())),
                    durability: Durability::new(wal),
                };
                (url, Some(group), file)
            }
            Backend::Postgres => (url.to_owned(), None, None),
        };
        let pool = AnyPoolOptions::new()
            // SQLite connections are in-process: no liveness ping per acquire.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_pragmas(conn).await?;
                    }
                    Ok(())
                })
            })
            .before_acquire(|conn, _meta| Box::pin(std::future::ready(Ok(reusable(conn)))))
            .connect(&url)
            .await?;
        migrate::run(&pool, backend).await?;
        if let Some(group) = &sqlite {
            // The migrations committed without a sync.
            let durability = group.durability.clone();
            tokio::task::spawn_blocking(move || durability.sync())
                .await
                .map_err(|e| StoreError::Durability(e.to_string()))?
                .map_err(StoreError::Durability)?;
        }
        Ok(Store {
            pool,
            backend,
            sqlite,
            sqlite_path,
            writer: Arc::new(batch::writer()),
            reader: Arc::new(reader::reader()),
        })
    }

    /// The group-commit counters (SQLite only).
    pub fn durability_stats(&self) -> Option<DurabilityStats> {
        self.sqlite.as_ref().map(|g| g.durability.stats())
    }

    /// The backend behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a read-write transaction. On SQLite the writers of this process
    /// queue in order for the write lock, then `BEGIN IMMEDIATE` (which waits
    /// for writers of other processes); `commit` returns once the transaction
    /// is on disk. Dropped without `commit`, it rolls back.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let Some(group) = &self.sqlite else {
            let inner = self.pool.begin_with("BEGIN").await?;
            return Ok(Tx::new(inner, self.backend, None));
        };
        group.durability.check()?;
        let gate = tokio::time::timeout(BUSY_TIMEOUT, group.gate.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Busy)?;
        let inner = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let commit = tx::GroupCommit {
            durability: group.durability.clone(),
            gate,
        };
        Ok(Tx::new(inner, self.backend, Some(commit)))
    }

    /// Starts a read-only transaction (a consistent snapshot for reads). On
    /// SQLite it first waits until every commit its snapshot sees is durable.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let Some(group) = &self.sqlite else {
            let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
            let inner = self.pool.begin_with(begin).await?;
            return Ok(Tx::new(inner, self.backend, None));
        };
        // A deferred transaction takes its WAL snapshot at its first read.
        let mut inner = self.pool.begin_with("BEGIN DEFERRED").await?;
        sqlx::query("SELECT count(*) FROM sqlite_schema")
            .execute(&mut *inner)
            .await?;
        let durability = &group.durability;
        durability.wait(durability.latest()).await?;
        Ok(Tx::new(inner, self.backend, None))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether an idle connection may be handed out again: not while sqlx counts
/// a transaction on it. A transaction that ended without a successful commit
/// queued its `ROLLBACK` on the connection, and the pool's ping on release ran
/// after it, so the count is settled here without a round trip. When that
/// rollback failed (SQLite refuses it after ending the transaction itself on
/// a full disk or an I/O error), the connection's next `BEGIN` would fail
/// ("begin_with at non-zero transaction depth"): the pool closes it instead
/// and opens another.
fn reusable(conn: &AnyConnection) -> bool {
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a database connection left inside a transaction");
    }
    clean
}

/// Adds `mode=rwc` to an SQLite url that names no mode, so the file is created.
fn sqlite_create_if_missing(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The database file of an SQLite url; `None` in memory.
fn sqlite_file(url: &str) -> Result<Option<PathBuf>, StoreError> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    Ok(Some(options.get_filename().to_path_buf()))
}

/// Switches the database to WAL once, on a lone connection: changing the journal
/// mode takes an exclusive lock that the busy timeout does not wait for.
async fn prepare_sqlite(url: &str) -> Result<(), StoreError> {
    let mut conn = AnyConnection::connect(url).await?;
    sqlite_pragmas(&mut conn).await?;
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// The per-connection SQLite settings.
async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // How long a connection waits for a lock held by another writer: 10 s.
    sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut *conn)
        .await?;
    // No sync at COMMIT: `Tx::commit` syncs the WAL, shared by a group of
    // commits (see `durability.rs`); checkpoints still sync under NORMAL.
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
