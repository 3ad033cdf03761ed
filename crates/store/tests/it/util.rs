//! Shared helpers of the conformance suite: running one test body against every
//! backend (SQLite in a temporary directory, PostgreSQL in a fresh schema), and
//! building domain records with fresh ids.

use std::future::Future;
use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use model::*;
use sqlx::{AnyConnection, Connection};
use store::{NewVersion, Store, StoreError};

/// The PostgreSQL server used when `CUSTODY_TEST_PG_URL` is not set.
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs `test` against a fresh store of every backend.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    for_each_backend_url(move |url| {
        let test = test.clone();
        async move {
            let store = Store::connect(&url).await.unwrap();
            test(store.clone()).await;
            store.close().await;
        }
    })
    .await;
}

/// Runs `test` with the url of a fresh, empty database of every backend.
pub async fn for_each_backend_url<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    let outcome = tokio::spawn(test(url)).await;
    rethrow("sqlite", outcome);

    let Some(schema) = PgSchema::create().await else {
        postgres_unreachable();
        return;
    };
    let outcome = tokio::spawn(test(schema.url.clone())).await;
    schema.drop().await;
    rethrow("postgres", outcome);
}

/// Re-raises the panic of a test body, saying on which backend it happened.
fn rethrow(backend: &str, outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        eprintln!("conformance test failed on the {backend} backend");
        std::panic::resume_unwind(err.into_panic());
    }
}

/// Warns (once per run, past the test harness's output capture) that the
/// PostgreSQL half did NOT run; fails instead when `CI=true`. The one skip policy
/// of every suite that needs PostgreSQL (server's `tests/it/util.rs` too).
fn postgres_unreachable() {
    static WARN: Once = Once::new();
    let base = std::env::var("CUSTODY_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let message = format!("NOT RUN: postgres unreachable at {base}");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message}: required when CI=true"
    );
    WARN.call_once(|| {
        let warning = format!(
            "\n\
             ==========================================================================\n\
             {message} — the PostgreSQL half\n\
             of the conformance suite did NOT run (set CUSTODY_TEST_PG_URL).\n\
             ==========================================================================\n\n"
        );
        // Written to the stream itself: `eprintln!` would be captured and hidden.
        let _ = std::io::stderr().write_all(warning.as_bytes());
    });
}

/// A schema of its own for one test, on the test PostgreSQL server.
struct PgSchema {
    base: String,
    name: String,
    url: String,
}

impl PgSchema {
    /// Creates a fresh schema, or `None` when the server cannot be reached.
    async fn create() -> Option<PgSchema> {
        sqlx::any::install_default_drivers();
        let base = std::env::var("CUSTODY_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
        let mut admin = admin(&base).await?;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let create = format!("CREATE SCHEMA {name}");
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Some(PgSchema { base, name, url })
    }

    async fn drop(self) {
        let mut admin = admin(&self.base).await.unwrap();
        let drop = format!("DROP SCHEMA {} CASCADE", self.name);
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
    }
}

async fn admin(url: &str) -> Option<AnyConnection> {
    let connect = AnyConnection::connect(url);
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(err)) => {
            eprintln!("cannot connect to {url}: {err}");
            None
        }
        Err(_) => {
            eprintln!("cannot connect to {url}: timed out");
            None
        }
    }
}

/// A fresh random id of any kind: `id(RoomId::from_random)`.
pub fn id<T>(make: fn([u8; 16]) -> T) -> T {
    make(*uuid::Uuid::new_v4().as_bytes())
}

/// Fails unless `result` is a conflict on `what`.
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(got)) => assert_eq!(got, what),
        other => panic!("expected a conflict on {what}, got {other:?}"),
    }
}

pub fn party(name: &str, kind: PartyKind) -> Party {
    Party {
        id: id(PartyId::from_random),
        name: name.into(),
        kind,
        country: Some("FR".into()),
        status: PartyStatus::Active,
        created_ms: 1_000,
        tier: None,
        tier_until_ms: None,
    }
}

pub fn user(party: PartyId, email: &str) -> User {
    User {
        id: id(UserId::from_random),
        party_id: party,
        email: email.into(),
        display_name: format!("user {email}"),
        system_role: SystemRole::Member,
        password_hash: None,
        totp_secret_sealed: None,
        totp_enabled: false,
        totp_last_step: 0,
        mfa_required: false,
        disabled: false,
        failed_logins: 0,
        locked_until_ms: None,
        created_ms: 2_000,
        training_until_ms: None,
    }
}

pub fn room(name: &str, created_by: UserId) -> Room {
    Room {
        id: id(RoomId::from_random),
        name: name.into(),
        classification: Classification::Confidential,
        created_by,
        created_ms: 3_000,
        tags: vec![],
        access_window: None,
    }
}

pub fn new_version(uploaded_by: UserId, kek_id: &str) -> NewVersion {
    NewVersion {
        id: id(VersionId::from_random),
        blob_id: id(BlobId::from_random),
        size: 42,
        sha256: vec![7; 32],
        wrapped_key: vec![1, 2, 3],
        kek_id: kek_id.into(),
        uploaded_by,
        created_ms: 4_000,
    }
}

/// One party with one user and one room, committed.
pub struct World {
    pub party: Party,
    pub user: User,
    pub room: Room,
}

pub async fn world(store: &Store) -> World {
    let party = party(
        &format!("acme {}", uuid::Uuid::new_v4()),
        PartyKind::External,
    );
    let user = user(
        party.id,
        &format!("{}@acme.example", uuid::Uuid::new_v4().simple()),
    );
    let room = room("designs", user.id);
    let mut tx = store.begin().await.unwrap();
    tx.insert_party(&party).await.unwrap();
    tx.insert_user(&user).await.unwrap();
    tx.insert_room(&room).await.unwrap();
    tx.commit().await.unwrap();
    World { party, user, room }
}
