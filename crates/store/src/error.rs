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
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}
