//! Regressions, each named after the defect it pins (issue 12).
//!
//! The disk-full cases run SQLite on a small tmpfs of their own (mounted with
//! `mount -t tmpfs`, which needs root): a filler file takes the space that is
//! left, so the next `COMMIT` cannot grow the write-ahead log and fails with
//! `SQLITE_FULL`; deleting the filler frees the space. They fail when the
//! tmpfs cannot be mounted and `CI=true`, and say loudly that they did not run
//! otherwise. PostgreSQL is not run: it ends a transaction whose `COMMIT`
//! failed and answers the `ROLLBACK` after it with a warning, not an error, so
//! sqlx's count of the transaction goes back to zero there; and none of the
//! store's writes can make its `COMMIT` fail on demand (no deferred
//! constraint).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use model::*;
use store::{LedgerNode, NewLeaf, Store};

/// The size of the tmpfs under the database.
const TMPFS_SIZE: &str = "16m";

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or `None` (after a loud warning; a failure when `CI=true`)
    /// when this machine cannot.
    fn mount(test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let size = format!("size={TMPFS_SIZE}");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(out) if out.status.success() => return Some(Tmpfs { dir }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            Err(e) => e.to_string(),
        };
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: cannot mount a tmpfs (needed when CI=true): {why}"
        );
        let warning =
            format!("\n!!! {test} did NOT run: cannot mount a tmpfs ({why}); run it as root\n\n");
        // Past the harness's output capture, as util.rs does.
        let _ = std::io::stderr().write_all(warning.as_bytes());
        None
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: threads of the store may still hold files open.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0x5a_u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
            break;
        }
    }
    let _ = file.sync_all();
}

/// An event large enough that its `COMMIT` writes many WAL frames.
fn big_event(n: usize) -> Event {
    let mut event = crate::event("regression.disk_full", None);
    event.detail = serde_json::json!({ "n": n, "pad": "x".repeat(256 * 1024) });
    event
}

/// What a batch of `n` events needs: leaves that record their `seq`s, no node.
fn build_batch() -> store::BuildLeaves {
    Box::new(|seqs: &[i64], first: u64, _: &[LedgerNode]| {
        let leaves = (first..)
            .zip(seqs)
            .map(|(index, &seq)| NewLeaf {
                index,
                event_seq: seq,
                leaf: vec![1, 2, 3],
                leaf_hash: [7; 32],
            })
            .collect();
        Ok((leaves, Vec::new()))
    })
}

/// One write, one batch and one read on `store`: the error code of each
/// (`ok` when it succeeded).
async fn try_all(store: &Store, n: usize) -> [String; 3] {
    let write = async {
        let mut tx = store.begin().await?;
        tx.append_event(&big_event(n)).await?;
        tx.commit().await
    };
    let write = code(write.await);
    let batch = store
        .append_batch(vec![big_event(n + 1), big_event(n + 2)], build_batch())
        .await;
    let batch = code(batch);
    let read = async {
        let mut tx = store.read().await?;
        tx.list_events(0, 1).await
    };
    let read = code(read.await);
    [write, batch, read]
}

fn code<T>(result: Result<T, store::StoreError>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => format!("{}: {e}", e.code()),
    }
}

/// Issue 12, defect 5: a `COMMIT` that failed on a full disk left its pooled
/// connection counted inside a transaction, and every later transaction
/// handed that connection failed ("attempted to call begin_with at non-zero
/// transaction depth") until a restart.
#[tokio::test]
async fn regression_failed_commit_never_returns_a_connection_mid_transaction() {
    let test = "regression_failed_commit_never_returns_a_connection_mid_transaction";
    let Some(fs) = Tmpfs::mount(test) else {
        return;
    };
    let url = format!("sqlite://{}", fs.path("meta.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(try_all(&store, 0).await, ["ok", "ok", "ok"]);

    fill(&fs.path("filler"));
    for round in 1..=4 {
        let [write, batch, read] = try_all(&store, round * 10).await;
        assert!(write.contains("full"), "round {round}: {write}");
        assert!(batch.contains("full"), "round {round}: {batch}");
        // Reading needs no space: it works while the disk is full.
        assert_eq!(read, "ok", "round {round}");
    }

    std::fs::remove_file(fs.path("filler")).unwrap();
    // Every connection the pool holds is used again: none is left inside a
    // transaction, on the same store, without reconnecting.
    for round in 5..=12 {
        assert_eq!(
            try_all(&store, round * 10).await,
            ["ok", "ok", "ok"],
            "round {round}"
        );
    }
    let mut tx = store.read().await.unwrap();
    let events = tx.list_events(0, 1000).await.unwrap();
    // 3 events per successful round (1 write, 2 in the batch): rounds 0 and
    // 5..=12; nothing of the failed rounds.
    assert_eq!(events.len(), 3 * 9);
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| e.detail["n"].as_u64())
        .filter(|n| (1..=4).contains(&(n / 10)))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    drop(tx);
    store.close().await;
}

/// An older binary once ran on a schema a newer one had migrated, with no
/// word but sqlx's "previously applied but missing": it is refused with
/// `SchemaNewer`, on both backends, and the data stay untouched.
#[tokio::test]
async fn regression_an_older_binary_refuses_a_newer_schema() {
    crate::util::for_each_backend_url(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        store.close().await;
        // A migration from the future, as a newer Custody would have left it.
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', TRUE, $1, 0)",
        )
        .bind(vec![0u8; 48])
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::Connection::close(conn).await.unwrap();
        match Store::connect(&url).await {
            Err(store::StoreError::SchemaNewer(9999)) => {}
            Err(other) => panic!("refused, but not as a newer schema: {other}"),
            Ok(_) => panic!("an older binary ran on a newer schema"),
        }
    })
    .await;
}
