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
    (
        23,
        "folder_links",
        include_str!("../migrations/sqlite/0023_folder_links.sql"),
    ),
    (
        24,
        "destruction",
        include_str!("../migrations/sqlite/0024_destruction.sql"),
    ),
    (
        25,
        "attestations",
        include_str!("../migrations/sqlite/0025_attestations.sql"),
    ),
    (
        26,
        "purge",
        include_str!("../migrations/sqlite/0026_purge.sql"),
    ),
    (
        27,
        "crown jewels",
        include_str!("../migrations/sqlite/0027_crown_jewels.sql"),
    ),
    (
        28,
        "incidents",
        include_str!("../migrations/sqlite/0028_incidents.sql"),
    ),
    (
        30,
        "scim",
        include_str!("../migrations/sqlite/0030_scim.sql"),
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
    (
        23,
        "folder_links",
        include_str!("../migrations/postgres/0023_folder_links.sql"),
    ),
    (
        24,
        "destruction",
        include_str!("../migrations/postgres/0024_destruction.sql"),
    ),
    (
        25,
        "attestations",
        include_str!("../migrations/postgres/0025_attestations.sql"),
    ),
    (
        26,
        "purge",
        include_str!("../migrations/postgres/0026_purge.sql"),
    ),
    (
        27,
        "crown jewels",
        include_str!("../migrations/postgres/0027_crown_jewels.sql"),
    ),
    (
        28,
        "incidents",
        include_str!("../migrations/postgres/0028_incidents.sql"),
    ),
    (
        30,
        "scim",
        include_str!("../migrations/postgres/0030_scim.sql"),
    ),
];

/// Applies the migrations of `backend` that the database has not seen yet.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let table = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    run_table(pool, table).await
}

/// Applies the migrations of `table` that the database has not seen yet.
async fn run_table(
    pool: &AnyPool,
    table: &[(i64, &'static str, &'static str)],
) -> Result<(), StoreError> {
    let migrations = table
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(sql),
                // A migration that manages its own transaction (to turn
                // SQLite's foreign keys off around a table rebuild) says so.
                sql.starts_with("-- no-transaction"),
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
    tracing::debug!(migrations = table.len(), "metadata schema up to date");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// Migration 0023 rebuilds SQLite's `links` table: links made before it
    /// keep their ids and files (and get no folder), the codes and
    /// signatures pointing at them still do, and foreign keys are on again.
    #[tokio::test]
    async fn the_folder_links_rebuild_keeps_existing_links() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
        let pool = AnyPool::connect(&url).await.expect("connect");
        let before: Vec<_> = SQLITE.iter().copied().filter(|m| m.0 < 23).collect();
        run_table(&pool, &before).await.expect("up to 22");
        let mut conn = pool.acquire().await.expect("conn");
        // Rows without their parents (rooms, files, users): foreign keys off.
        for sql in [
            "PRAGMA foreign_keys = OFF",
            "INSERT INTO links (id, token_sha256, room_id, file_id, created_by, created_mfa, \
             created_ms, expires_ms, password_hash, mode, max_downloads, downloads, recipients, \
             revoked_ms, revoked_by) VALUES ('l1', x'01', 'r1', 'f1', 'u1', 0, 1, 2, NULL, \
             'download', 5, 3, '[\"a@b.example\"]', NULL, NULL)",
            "INSERT INTO link_codes (id, link_id, recipient, session_sha256, code_sha256, \
             created_ms, expires_ms, attempts, verified_ms) \
             VALUES ('c1', 'l1', 'a@b.example', x'02', x'03', 1, 2, 0, NULL)",
            "PRAGMA foreign_keys = ON",
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await
                .expect(sql);
        }
        drop(conn);
        run_table(&pool, SQLITE).await.expect("0023");
        let mut conn = pool.acquire().await.expect("conn");
        let row = sqlx::query(
            "SELECT l.file_id, l.folder, l.downloads, c.id AS code FROM links l \
             JOIN link_codes c ON c.link_id = l.id WHERE l.id = 'l1'",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("the link and its code");
        assert_eq!(row.get::<String, _>("file_id"), "f1");
        assert_eq!(row.get::<Option<String>, _>("folder"), None);
        assert_eq!(row.get::<i64, _>("downloads"), 3);
        assert_eq!(row.get::<String, _>("code"), "c1");
        let on: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .expect("pragma")
            .get(0);
        assert_eq!(on, 1, "foreign keys are on again");
        // Exactly one of a file and a folder.
        let both = sqlx::raw_sql(sqlx::AssertSqlSafe(
            "INSERT INTO links (id, token_sha256, room_id, file_id, folder, created_by, \
             created_mfa, created_ms, expires_ms, mode, downloads, recipients) \
             VALUES ('l2', x'04', 'r1', NULL, NULL, 'u1', 0, 1, 2, 'view', 0, '[]')",
        ))
        .execute(&mut *conn)
        .await;
        assert!(both.is_err(), "a link with neither a file nor a folder");
    }
}
