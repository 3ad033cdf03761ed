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
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database failed, seen through the batch writer's own connection.
    #[error("database error: {0}")]
    Native(String),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
            StoreError::Database(_) | StoreError::Native(_) => "store_database",
            StoreError::Migrate(_) => "store_migrate",
            StoreError::Busy => "store_busy",
            StoreError::Durability(_) => "store_durability",
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Native(e.to_string())
    }
}
