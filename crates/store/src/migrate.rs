//! The schema migrations of each backend, embedded in the binary and applied at
//! connect by sqlx's migrator: each in its own transaction, recorded in
//! `_sqlx_migrations`, so connecting again applies nothing twice.

use std::borrow::Cow;

use sqlx::AnyPool;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Backend, StoreError};

/// `(version, description, sql)` of every SQLite migration, in order. Do not
/// change a released entry: add a new one.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "ledger",
        include_str!("../migrations/sqlite/0002_ledger.sql"),
    ),
    (
        3,
        "ledger audit",
        include_str!("../migrations/sqlite/0003_ledger_audit.sql"),
    ),
    (
        4,
        "agreements",
        include_str!("../migrations/sqlite/0004_agreements.sql"),
    ),
    (
        5,
        "delivery",
        include_str!("../migrations/sqlite/0005_delivery.sql"),
    ),
    (
        6,
        "policies",
        include_str!("../migrations/sqlite/0006_policies.sql"),
    ),
    (7, "dlp", include_str!("../migrations/sqlite/0007_dlp.sql")),
    (
        8,
        "conditions",
        include_str!("../migrations/sqlite/0008_conditions.sql"),
    ),
    (
        9,
        "accounts",
        include_str!("../migrations/sqlite/0009_accounts.sql"),
    ),
    (
        10,
        "assessments",
        include_str!("../migrations/sqlite/0010_assessments.sql"),
    ),
    (
        11,
        "certifications courses",
        include_str!("../migrations/sqlite/0011_certifications_courses.sql"),
    ),
    (
        12,
        "courses",
        include_str!("../migrations/sqlite/0012_courses.sql"),
    ),
    (
        13,
        "alerts",
        include_str!("../migrations/sqlite/0013_alerts.sql"),
    ),
    (
        14,
        "outbox",
        include_str!("../migrations/sqlite/0014_outbox.sql"),
    ),
    (
        16,
        "links",
        include_str!("../migrations/sqlite/0016_links.sql"),
    ),
    (
        17,
        "reviews",
        include_str!("../migrations/sqlite/0017_reviews.sql"),
    ),
    (
        18,
        "guesses",
        include_str!("../migrations/sqlite/0018_guesses.sql"),
    ),
    (
        19,
        "antivirus",
        include_str!("../migrations/sqlite/0019_antivirus.sql"),
    ),
    (
        20,
        "upload requests",
        include_str!("../migrations/sqlite/0020_upload_requests.sql"),
    ),
    (
        21,
        "link_signatures",
        include_str!("../migrations/sqlite/0021_link_signatures.sql"),
    ),
    (
        22,
        "notification_mail",
        include_str!("../migrations/sqlite/0022_notification_mail.sql"),
    ),
];

/// `(version, description, sql)` of every PostgreSQL migration, in order. Do not
/// change a released entry: add a new one.
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "ledger",
        include_str!("../migrations/postgres/0002_ledger.sql"),
    ),
    (
        3,
        "ledger audit",
        include_str!("../migrations/postgres/0003_ledger_audit.sql"),
    ),
    (
        4,
        "agreements",
        include_str!("../migrations/postgres/0004_agreements.sql"),
    ),
    (
        5,
        "delivery",
        include_str!("../migrations/postgres/0005_delivery.sql"),
    ),
    (
        6,
        "policies",
        include_str!("../migrations/postgres/0006_policies.sql"),
    ),
    (
        7,
        "dlp",
        include_str!("../migrations/postgres/0007_dlp.sql"),
    ),
    (
        8,
        "conditions",
        include_str!("../migrations/postgres/0008_conditions.sql"),
    ),
    (
        9,
        "accounts",
        include_str!("../migrations/postgres/0009_accounts.sql"),
    ),
    (
        10,
        "assessments",
        include_str!("../migrations/postgres/0010_assessments.sql"),
    ),
    (
        11,
        "certifications courses",
        include_str!("../migrations/postgres/0011_certifications_courses.sql"),
    ),
    (
        12,
        "courses",
        include_str!("../migrations/postgres/0012_courses.sql"),
    ),
    (
        13,
        "alerts",
        include_str!("../migrations/postgres/0013_alerts.sql"),
    ),
    (
        14,
        "outbox",
        include_str!("../migrations/postgres/0014_outbox.sql"),
    ),
    (
        16,
        "links",
        include_str!("../migrations/postgres/0016_links.sql"),
    ),
    (
        17,
        "reviews",
        include_str!("../migrations/postgres/0017_reviews.sql"),
    ),
    (
        18,
        "guesses",
        include_str!("../migrations/postgres/0018_guesses.sql"),
    ),
    (
        19,
        "antivirus",
        include_str!("../migrations/postgres/0019_antivirus.sql"),
    ),
    (
        20,
        "upload requests",
        include_str!("../migrations/postgres/0020_upload_requests.sql"),
    ),
    (
        21,
        "link_signatures",
        include_str!("../migrations/postgres/0021_link_signatures.sql"),
    ),
    (
        22,
        "notification_mail",
        include_str!("../migrations/postgres/0022_notification_mail.sql"),
    ),
];

/// Applies the migrations of `backend` that the database has not seen yet.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let table = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations = table
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(sql),
                false,
            )
        })
        .collect();
    let mut conn = pool.acquire().await?;
    Migrator::with_migrations(migrations)
        .run_direct(None, &mut *conn, false)
        .await
        .map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::SchemaNewer(v),
            other => other.into(),
        })?;
    tracing::debug!(?backend, "metadata schema up to date");
    Ok(())
}
