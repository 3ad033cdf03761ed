//! Group commit: on SQLite every commit waits for a sync of the write-ahead
//! log, and concurrent commits share syncs; PostgreSQL groups commits itself
//! and reports no counters.

use std::sync::Arc;

use store::{Backend, DurabilityStats, Store};

use crate::util::for_each_backend;

/// Commits `per_writer` one-event transactions from each of `writers`
/// concurrent tasks; returns the counters added, `None` without them.
async fn commit_concurrently(
    store: &Store,
    writers: u64,
    per_writer: u64,
) -> Option<DurabilityStats> {
    let before = store.durability_stats();
    let store = Arc::new(store.clone());
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..per_writer {
                    let mut tx = store.begin().await.unwrap();
                    tx.append_event(&crate::event("durability.test", None))
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut tx = store.read().await.unwrap();
    let events = tx.list_events(0, 100_000).await.unwrap();
    assert_eq!(
        events.len() as u64,
        writers * per_writer,
        "every commit is visible"
    );
    let (before, after) = (before?, store.durability_stats()?);
    Some(DurabilityStats {
        commits: after.commits - before.commits,
        syncs: after.syncs - before.syncs,
    })
}

/// Runs `writers × per_writer` commits on a fresh store; on SQLite checks
/// the number of commits counted and hands the syncs to `want_syncs`.
async fn check(writers: u64, per_writer: u64, want_syncs: fn(u64, u64) -> bool) {
    for_each_backend(move |store| async move {
        let got = commit_concurrently(&store, writers, per_writer).await;
        match store.backend() {
            Backend::Postgres => assert_eq!(got, None),
            Backend::Sqlite => {
                let got = got.unwrap();
                let commits = writers * per_writer;
                eprintln!(
                    "{writers} writers × {per_writer} commits: {} commits, {} WAL syncs",
                    got.commits, got.syncs
                );
                assert_eq!(got.commits, commits);
                assert!(want_syncs(got.syncs, commits), "{got:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_lone_writer_waits_for_a_sync_per_commit() {
    check(1, 12, |syncs, commits| syncs == commits).await;
}

#[tokio::test]
async fn concurrent_committers_share_syncs() {
    check(32, 25, |syncs, commits| syncs >= 1 && syncs < commits).await;
}

#[tokio::test]
async fn reads_of_durable_data_sync_nothing() {
    for_each_backend(|store| async move {
        commit_concurrently(&store, 1, 3).await;
        let before = store.durability_stats();
        for _ in 0..5 {
            store
                .read()
                .await
                .unwrap()
                .list_events(0, 10)
                .await
                .unwrap();
        }
        assert_eq!(store.durability_stats(), before);
    })
    .await;
}
