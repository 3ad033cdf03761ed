//! Store errors.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e-mail taken, party name taken…).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A stored value could not be decoded (corrupt row or unknown enum name).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The disk under the database is full (SQLite `SQLITE_FULL`, PostgreSQL
    /// `disk_full`, `ENOSPC`): nothing was written, and a later write may
    /// succeed once space is freed.
    #[error("the database's disk is full: {0}")]
    Full(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The database failed, seen through the batch writer's own connection.
    #[error("database error: {0}")]
    Native(String),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer Custody (its schema has a
    /// migration this binary does not know): an older binary never runs on a
    /// newer schema.
    #[error(
        "the database's schema is newer than this binary: migration {0} was applied by a newer \
         Custody; run that version or a later one (never downgrade a database)"
    )]
    SchemaNewer(i64),
    /// Another writer held the write lock for too long.
    #[error("the database stayed locked by another writer")]
    Busy,
    /// Committed data could not be made durable (a failed sync); the store
    /// refuses further work until it is reopened.
    #[error("cannot make the database durable: {0}")]
    Durability(String),
}

impl StoreError {
    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict(_) => "store_conflict",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Full(_) => "store_full",
            StoreError::Database(_) | StoreError::Native(_) => "store_database",
            StoreError::Migrate(_) => "store_migrate",
            StoreError::SchemaNewer(_) => "store_schema_newer",
            StoreError::Busy => "store_busy",
            StoreError::Durability(_) => "store_durability",
        }
    }
}

/// SQLite's primary result code `SQLITE_FULL` (sqlx gives the extended code,
/// which has no variants for it).
const SQLITE_FULL: &str = "13";

/// PostgreSQL's SQLSTATE `disk_full`.
const PG_DISK_FULL: &str = "53100";

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let full = match &e {
            sqlx::Error::Database(db) => {
                matches!(db.code().as_deref(), Some(SQLITE_FULL | PG_DISK_FULL))
            }
            sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        };
        if full {
            StoreError::Full(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            StoreError::Full(e.to_string())
        } else {
            StoreError::Native(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: StoreError, code: &str) {
        assert_eq!(err.code(), code, "{err}");
    }

    #[test]
    fn a_full_disk_has_its_own_code() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        check(full.into(), "store_full");
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        check(busy.into(), "store_database");
        let enospc = std::io::Error::from_raw_os_error(28);
        check(sqlx::Error::Io(enospc).into(), "store_full");
        check(sqlx::Error::RowNotFound.into(), "store_database");
    }
}
