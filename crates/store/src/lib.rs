//! Metadata storage on SQLite (embedded default) or PostgreSQL (scale-out).
//! **The only crate that knows SQL.** One interface for both backends, through
//! sqlx's `Any` driver with portable SQL; one migration directory per backend,
//! applied at connect. Every state change happens inside a [`Tx`] so that the
//! change and its audit event commit together.

mod error;
mod migrate;
mod row;
mod tx;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection};

pub use error::StoreError;
pub use tx::{LedgerLeaf, LedgerNode, NewVersion, StoredCheckpoint, Tx};

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
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`), creating the SQLite
    /// file if missing (WAL mode, foreign keys on, busy timeout), and applies the
    /// backend's migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let url = match backend {
            Backend::Sqlite => {
                let url = sqlite_create_if_missing(url);
                prepare_sqlite(&url).await?;
                url
            }
            Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_pragmas(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        migrate::run(&pool, backend).await?;
        Ok(Store { pool, backend })
    }

    /// The backend behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a read-write transaction (`BEGIN IMMEDIATE` on SQLite so that
    /// concurrent writers queue instead of failing). Dropped without `commit`, it
    /// rolls back.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let inner = self.pool.begin_with(statement).await?;
        Ok(Tx::new(inner, self.backend))
    }

    /// Starts a read-only transaction (a consistent snapshot for reads).
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let statement = match self.backend {
            // A deferred transaction takes its WAL snapshot at the first read.
            Backend::Sqlite => "BEGIN DEFERRED",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        };
        let inner = self.pool.begin_with(statement).await?;
        Ok(Tx::new(inner, self.backend))
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
    sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
