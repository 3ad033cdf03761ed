//! The restore drill of docs/operations.md, on SQLite and on PostgreSQL: a
//! running installation is backed up as the procedure says (the metadata
//! online — `sqlite3 .backup`, `pg_dump` — then the blobs, the key directory
//! as a mirror, a signed checkpoint and the verifier key kept outside), the
//! server is killed, everything is restored into a fresh data directory and a
//! fresh database, and the restored server serves: the ledger verifies
//! offline against the checkpoint kept (`custody ledger verify --entries`),
//! and every file downloads byte-identical.

use std::fs;
use std::path::Path;
use std::process::Command;

use client::Progress;
use serde_json::Value;

use crate::destruction::{Backup, api};
use crate::util::*;

/// Runs a program; panics with its output when it fails.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const PG: [&str; 4] = ["-h", "127.0.0.1", "-U", "postgres"];

/// Where the metadata lives: SQLite in the data directory, or a schema of
/// its own in PostgreSQL's `test` database (restored into a database of its own).
enum Meta {
    Sqlite,
    Postgres { schema: String },
}

impl Meta {
    /// A fresh PostgreSQL schema; `None` (said loudly, a failure under
    /// `CI=true`) when PostgreSQL is unreachable.
    fn postgres() -> Option<Meta> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let schema = format!("drill_{}_{nanos}", std::process::id());
        let made = Command::new("psql")
            .args(PG)
            .args(["-d", "test", "-c", &format!("CREATE SCHEMA {schema}")])
            .output();
        match made {
            Ok(out) if out.status.success() => Some(Meta::Postgres { schema }),
            other => {
                let why = format!("NOT RUN: postgres unreachable at 127.0.0.1:5432 ({other:?})");
                assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
                eprintln!("\n{why}\n");
                None
            }
        }
    }

    fn url(&self, database: &str) -> Vec<(&'static str, String)> {
        match self {
            Meta::Sqlite => vec![],
            Meta::Postgres { schema } => vec![(
                "CUSTODY_DATABASE_URL",
                format!(
                    "postgres://postgres@127.0.0.1:5432/{database}?options=-c%20search_path%3D{schema}"
                ),
            )],
        }
    }

    /// The online metadata backup of docs/operations.md, into `to`.
    fn backup(&self, data: &Path, to: &Path) {
        match self {
            Meta::Sqlite => {
                let target = format!(".backup '{}'", to.join("custody.db").display());
                run(Command::new("sqlite3")
                    .arg(data.join("custody.db"))
                    .arg(target));
            }
            Meta::Postgres { schema } => {
                run(Command::new("pg_dump")
                    .args(PG)
                    .args(["--format=custom", "--schema", schema, "--file"])
                    .arg(to.join("custody.pgdump"))
                    .arg("test"));
            }
        }
    }

    /// Removes what the drill made in PostgreSQL.
    fn drop(&self, database: &str) {
        if let Meta::Postgres { schema } = self {
            run(Command::new("dropdb").args(PG).arg(database));
            run(Command::new("psql").args(PG).args([
                "-d",
                "test",
                "-c",
                &format!("DROP SCHEMA {schema} CASCADE"),
            ]));
        }
    }

    /// Puts the metadata back into a fresh data directory or database; returns
    /// the database the restored server uses.
    fn restore(&self, from: &Path, data: &Path) -> String {
        match self {
            Meta::Sqlite => {
                fs::copy(from.join("custody.db"), data.join("custody.db")).unwrap();
                String::new()
            }
            Meta::Postgres { schema } => {
                let database = format!("{schema}_restored");
                run(Command::new("createdb").args(PG).arg(&database));
                run(Command::new("pg_restore")
                    .args(PG)
                    .args(["--dbname", &database])
                    .arg(from.join("custody.pgdump")));
                database
            }
        }
    }
}

async fn drill(meta: Meta) {
    let scratch = Scratch::new();
    let server = scratch.serve_with(&meta.url("test"));
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let rooms = [
        admin.create_room("Turbine", "confidential").await.unwrap(),
        admin.create_room("Brochures", "internal").await.unwrap(),
    ];
    let mut files = Vec::new();
    for (n, len) in [0, 1, 4096, CHUNK - 1, CHUNK, 2 * CHUNK + 17]
        .into_iter()
        .enumerate()
    {
        let path = scratch.path(&format!("f{n}.bin"));
        write_random_file(&path, len);
        let room = &rooms[n % 2];
        let name = format!("dir{n}/f{n}.bin");
        let info = admin
            .put_file(&room.id, &name, &path, Progress::Hidden)
            .await
            .unwrap();
        files.push((info.id, sha256_file(&path)));
    }

    // The checkpoint and verifier key kept outside, then the backup.
    let (status, checkpoint) = text(&server, &token, "/ledger/checkpoint").await;
    assert_eq!(status, 200, "{checkpoint}");
    let (status, key) = text(&server, &token, "/ledger/verifier-key").await;
    assert_eq!(status, 200, "{key}");
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    let data = scratch.data();
    let backup = Backup::new(&scratch);
    meta.backup(&data, &backup.dir);
    backup.files_and_keys(&data);
    server.kill();

    // Restored into fresh places.
    let restored = backup.restore(&scratch);
    let database = meta.restore(&backup.dir, &restored);
    let again = Server::start_on_with(&restored, scratch.dir.path(), &meta.url(&database));
    let admin = again.admin().await;
    let token = admin.token().unwrap().to_owned();

    // The ledger verifies offline against the checkpoint kept.
    let (status, entries) =
        text(&again, &token, &format!("/ledger/entries?from=0&to={size}")).await;
    assert_eq!(status, 200, "{entries}");
    for (name, body) in [
        ("entries.jsonl", &entries),
        ("checkpoint.txt", &checkpoint),
        ("verifier.key", &key),
    ] {
        fs::write(scratch.path(name), body).unwrap();
    }
    let said = run(command()
        .args(["ledger", "verify", "--entries"])
        .arg(scratch.path("entries.jsonl"))
        .arg("--checkpoint")
        .arg(scratch.path("checkpoint.txt"))
        .arg("--key")
        .arg(scratch.path("verifier.key")));
    assert!(
        said.contains(&format!(
            "ok: {size} entries verify against checkpoint of size {size}"
        )),
        "{said}"
    );
    // Every file byte-identical.
    for (n, (file, digest)) in files.iter().enumerate() {
        let back = scratch.path(&format!("back{n}.bin"));
        admin.get_file(file, &back, Progress::Hidden).await.unwrap();
        assert_eq!(&sha256_file(&back), digest, "file {n}");
    }
    let (status, _) = api(&again, &token, "GET", "/rooms", Value::Null).await;
    assert_eq!(status, 200);
    again.stop().await;
    meta.drop(&database);
}

/// `GET /api/v1{path}` as `token`: the status and the body as text.
async fn text(server: &Server, token: &str, path: &str) -> (u16, String) {
    let r = raw_http()
        .get(format!("{}/api/v1{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_sqlite() {
    drill(Meta::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_postgres() {
    if let Some(meta) = Meta::postgres() {
        drill(meta).await;
    }
}
