//! Conformance of the ledger tables: the sequencer hands out gap-free indices
//! even to concurrent appenders, stored nodes rebuild the same tree as the
//! `ledger` crate's in-memory store, and checkpoints are kept one per size.

use std::collections::HashMap;

use ledger::{Hash, HashStore, LedgerError, MemoryStore, leaf_hash};
use store::{Store, StoreError, Tx};

use crate::util::for_each_backend;

/// Nodes fetched from the store, as the `ledger` crate reads them.
struct Fetched(HashMap<(u8, u64), Hash>);

impl HashStore for Fetched {
    fn get(&self, level: u8, index: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self.0.get(&(level, index)).copied())
    }
}

async fn fetch(tx: &mut Tx, wanted: &[(u8, u64)]) -> Result<Fetched, StoreError> {
    let nodes = tx.ledger_nodes(wanted).await?;
    Ok(Fetched(
        nodes.into_iter().map(|(l, i, h)| ((l, i), h)).collect(),
    ))
}

/// Records an event and appends its leaf, as the events seam does.
async fn append(tx: &mut Tx, leaf: &[u8]) -> Result<u64, StoreError> {
    let seq = tx.append_event(&crate::event("ledger.test", None)).await?;
    let index = tx.ledger_reserve().await?;
    let wanted: Vec<(u8, u64)> = (0..64u8)
        .take_while(|&l| (index >> l) & 1 == 1)
        .map(|l| (l, (index >> l) - 1))
        .collect();
    let fetched = fetch(tx, &wanted).await?;
    let hash = leaf_hash(leaf);
    let nodes = ledger::append(&fetched, index, hash).unwrap();
    tx.ledger_insert(index, seq, leaf, &hash, &nodes).await?;
    Ok(index)
}

/// The root of the first `size` leaves, read from the store.
async fn stored_root(store: &Store, size: u64) -> Hash {
    let mut tx = store.read().await.unwrap();
    let wanted: Vec<(u8, u64)> = (0..64u8)
        .rev()
        .filter(|&l| (size >> l) & 1 == 1)
        .scan(0u64, |pos, l| {
            let node = (l, *pos >> l);
            *pos += 1 << l;
            Some(node)
        })
        .collect();
    let fetched = fetch(&mut tx, &wanted).await.unwrap();
    ledger::root(&fetched, size).unwrap()
}

fn leaf(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

#[tokio::test]
async fn ledger_appends_rebuild_the_reference_tree() {
    for_each_backend(|store| async move {
        let mut reference = MemoryStore::new();
        for i in 0..21u64 {
            let mut tx = store.begin().await.unwrap();
            assert_eq!(append(&mut tx, &leaf(i)).await.unwrap(), i);
            tx.commit().await.unwrap();
            reference.push(leaf_hash(&leaf(i))).unwrap();
            let want = ledger::root(&reference, i + 1).unwrap();
            assert_eq!(stored_root(&store, i + 1).await, want, "size {}", i + 1);
        }
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.ledger_size().await.unwrap(), 21);
        let leaves = tx.ledger_leaves(3, 6).await.unwrap();
        let want: Vec<_> = (3..6).map(|i| (i, leaf(i), leaf_hash(&leaf(i)))).collect();
        assert_eq!(leaves, want);
        assert_eq!(tx.ledger_leaves(20, 100).await.unwrap().len(), 1);
        assert_eq!(tx.ledger_leaves(21, 100).await.unwrap(), vec![]);
        assert_eq!(tx.ledger_leaves(5, 5).await.unwrap(), vec![]);
        // Nodes asked for that are not stored are left out, order is kept.
        let got = tx
            .ledger_nodes(&[(4, 0), (2, 9), (0, 20), (0, 21)])
            .await
            .unwrap();
        let keys: Vec<_> = got.iter().map(|&(l, i, _)| (l, i)).collect();
        assert_eq!(keys, vec![(4, 0), (0, 20)]);
        assert_eq!(got[1].2, leaf_hash(&leaf(20)));
    })
    .await;
}

#[tokio::test]
async fn ledger_rolled_back_append_leaves_no_gap() {
    for_each_backend(|store| async move {
        {
            let mut tx = store.begin().await.unwrap();
            assert_eq!(append(&mut tx, b"ghost").await.unwrap(), 0);
        }
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.ledger_size().await.unwrap(), 0);
        assert_eq!(append(&mut tx, b"real").await.unwrap(), 0);
        assert_eq!(append(&mut tx, b"second in one tx").await.unwrap(), 1);
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let leaves = tx.ledger_leaves(0, 10).await.unwrap();
        assert_eq!(leaves.len(), 2);
        assert_eq!(leaves[0].1, b"real".to_vec());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_concurrent_appends_are_gap_free() {
    const TASKS: u64 = 8;
    const EACH: u64 = 5;
    for_each_backend(|store| async move {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    for i in 0..EACH {
                        let mut tx = store.begin().await?;
                        got.push(append(&mut tx, &leaf(t * 100 + i)).await?);
                        tx.commit().await?;
                    }
                    Ok::<_, StoreError>(got)
                })
            })
            .collect();
        let mut indices = Vec::new();
        for task in tasks {
            indices.extend(task.await.unwrap().unwrap());
        }
        indices.sort_unstable();
        let n = TASKS * EACH;
        assert_eq!(indices, (0..n).collect::<Vec<_>>());

        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.ledger_size().await.unwrap(), n);
        let leaves = tx.ledger_leaves(0, n).await.unwrap();
        drop(tx);
        let mut reference = MemoryStore::new();
        for (i, (index, bytes, hash)) in leaves.iter().enumerate() {
            assert_eq!(*index, i as u64);
            assert_eq!(*hash, leaf_hash(bytes));
            reference.push(*hash).unwrap();
        }
        let want = ledger::root(&reference, n).unwrap();
        assert_eq!(stored_root(&store, n).await, want);
    })
    .await;
}

#[tokio::test]
async fn ledger_checkpoints_one_per_size() {
    for_each_backend(|store| async move {
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.latest_checkpoint().await.unwrap(), None);
        assert!(tx.insert_checkpoint(3, "note three\n", 10).await.unwrap());
        assert!(tx.insert_checkpoint(7, "note seven\n", 20).await.unwrap());
        assert!(!tx.insert_checkpoint(7, "another\n", 30).await.unwrap());
        assert!(tx.insert_checkpoint(5, "note five\n", 40).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let latest = tx.latest_checkpoint().await.unwrap().unwrap();
        assert_eq!(
            (latest.size, latest.note.as_str(), latest.created_ms),
            (7, "note seven\n", 20)
        );
    })
    .await;
}

/// Event search and redaction, on every backend: each filter keeps exactly the
/// events it names; a redacted leaf keeps its hash and is marked.
#[tokio::test]
async fn events_are_searched_and_leaves_redacted() {
    for_each_backend(|store| async move {
        let w = crate::util::world(&store).await;
        // (action, target, by the world's user, time)
        let made = [
            ("file.upload", "file:f1", true, 100),
            ("file.download", "file:f1", true, 200),
            ("file.download", "room:r1", false, 300),
            ("room.create", "room:r1", true, 400),
            (
                "auth.login",
                format!("user:{}", w.user.id).leak() as &str,
                false,
                500,
            ),
        ];
        let mut seqs = Vec::new();
        for (action, target, by, time) in made {
            let mut tx = store.begin().await.unwrap();
            let mut e = crate::event(action, by.then_some(&w));
            e.target = target.into();
            e.time_ms = time;
            let seq = tx.append_event(&e).await.unwrap();
            let index = tx.ledger_reserve().await.unwrap();
            tx.ledger_insert(index, seq, &leaf(index), &leaf_hash(&leaf(index)), &[])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            seqs.push(seq);
        }
        let check = |filter: store::EventFilter, want: Vec<i64>| {
            let store = store.clone();
            async move {
                let mut tx = store.read().await.unwrap();
                let got: Vec<i64> = tx
                    .search_events(&store::EventFilter {
                        limit: if filter.limit == 0 { 100 } else { filter.limit },
                        ..filter.clone()
                    })
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.seq)
                    .collect();
                assert_eq!(got, want, "{filter:?}");
            }
        };
        let s = |i: usize| seqs[i];
        let none = store::EventFilter::default();
        check(none.clone(), seqs.clone()).await;
        check(
            store::EventFilter {
                action_prefix: Some("file.".into()),
                ..none.clone()
            },
            vec![s(0), s(1), s(2)],
        )
        .await;
        check(
            store::EventFilter {
                action: Some("file.download".into()),
                ..none.clone()
            },
            vec![s(1), s(2)],
        )
        .await;
        check(
            store::EventFilter {
                action_prefix: Some("file".into()),
                outcome: Some(model::Outcome::Denied),
                ..none.clone()
            },
            vec![s(2)],
        )
        .await;
        check(
            store::EventFilter {
                actor: Some(w.user.id),
                ..none.clone()
            },
            vec![s(0), s(1), s(3)],
        )
        .await;
        check(
            store::EventFilter {
                party: Some(w.party.id),
                ..none.clone()
            },
            vec![s(0), s(1), s(3), s(4)],
        )
        .await;
        check(
            store::EventFilter {
                from_ms: Some(200),
                to_ms: Some(400),
                ..none.clone()
            },
            vec![s(1), s(2)],
        )
        .await;
        check(
            store::EventFilter {
                after: s(2),
                ..none.clone()
            },
            vec![s(3), s(4)],
        )
        .await;
        check(
            store::EventFilter {
                limit: 2,
                ..none.clone()
            },
            vec![s(0), s(1)],
        )
        .await;
        check(
            store::EventFilter {
                newest_first: true,
                ..none.clone()
            },
            vec![s(4), s(3), s(2), s(1), s(0)],
        )
        .await;
        check(
            store::EventFilter {
                before: Some(s(3)),
                newest_first: true,
                limit: 2,
                ..none.clone()
            },
            vec![s(2), s(1)],
        )
        .await;
        check(
            store::EventFilter {
                before: Some(s(3)),
                action_prefix: Some("file.".into()),
                ..none.clone()
            },
            vec![s(0), s(1), s(2)],
        )
        .await;

        // Redaction: new bytes, the original hash kept, the row marked.
        let mut tx = store.begin().await.unwrap();
        let r = store::Redaction {
            index: 1,
            event_seq: s(1),
            reason: "erasure".into(),
            redacted_by: w.user.id.to_string(),
            redacted_ms: 9,
        };
        tx.ledger_redact(&r, b"redacted").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        let rows = tx.ledger_leaf_rows(0, 3).await.unwrap();
        let marks: Vec<bool> = rows.iter().map(|r| r.redacted).collect();
        assert_eq!(marks, [false, true, false]);
        assert_eq!(
            (rows[1].leaf.as_slice(), rows[1].leaf_hash),
            (&b"redacted"[..], leaf_hash(&leaf(1)))
        );
        assert_eq!(tx.ledger_redactions().await.unwrap(), vec![r.clone()]);
        let of_events = tx.ledger_leaves_of_events(&[s(4), s(1)]).await.unwrap();
        assert_eq!(
            of_events.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 4]
        );
        assert_eq!(tx.first_event_without_leaf(s(0)).await.unwrap(), None);
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(
            tx.ledger_redact(&r, b"again").await,
            Err(StoreError::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn ledger_batched_appends_match_single_ones() {
    for_each_backend(|store| async move {
        let mut reference = MemoryStore::new();
        let mut next = 0u64;
        // (single appends, then one batch of): batches start at sizes with
        // various low-bit patterns.
        for (singles, batch) in [(0u64, 1u64), (1, 2), (0, 5), (2, 8), (1, 17)] {
            let mut tx = store.begin().await.unwrap();
            for _ in 0..singles {
                assert_eq!(append(&mut tx, &leaf(next)).await.unwrap(), next);
                reference.push(leaf_hash(&leaf(next))).unwrap();
                next += 1;
            }
            let events: Vec<_> = (0..batch)
                .map(|i| crate::event(&format!("batch.{}", next + i), None))
                .collect();
            let seqs = tx.append_events(&events).await.unwrap();
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
            let first = tx.ledger_reserve_many(batch).await.unwrap();
            assert_eq!(first, next);
            let wanted: Vec<(u8, u64)> = (0..64u8)
                .filter(|&l| (first >> l) & 1 == 1)
                .map(|l| (l, (first >> l) - 1))
                .collect();
            let mut known = fetch(&mut tx, &wanted).await.unwrap();
            let (mut leaves, mut nodes) = (vec![], vec![]);
            for (k, &seq) in seqs.iter().enumerate() {
                let index = first + k as u64;
                let hash = leaf_hash(&leaf(index));
                let made = ledger::append(&known, index, hash).unwrap();
                known.0.extend(made.iter().map(|&(l, i, h)| ((l, i), h)));
                nodes.extend(made);
                leaves.push(store::NewLeaf {
                    index,
                    event_seq: seq,
                    leaf: leaf(index),
                    leaf_hash: hash,
                });
                reference.push(hash).unwrap();
            }
            tx.ledger_insert_many(&leaves, &nodes).await.unwrap();
            tx.commit().await.unwrap();
            next += batch;
            let want = ledger::root(&reference, next).unwrap();
            assert_eq!(stored_root(&store, next).await, want, "size {next}");
            // Every batched event is stored under the seq it was given.
            let mut tx = store.read().await.unwrap();
            for (event, &seq) in events.iter().zip(&seqs) {
                let stored = tx.event(seq).await.unwrap().unwrap();
                assert_eq!(stored.action, event.action);
            }
        }
    })
    .await;
}

/// The `BuildLeaves` of a batch of `leaf(index)` leaves, as the app computes them.
fn build_batch() -> store::BuildLeaves {
    Box::new(|seqs, first, frontier| {
        let mut known = Fetched(frontier.iter().map(|&(l, i, h)| ((l, i), h)).collect());
        let (mut leaves, mut nodes) = (vec![], vec![]);
        for (index, &seq) in (first..).zip(seqs) {
            let hash = leaf_hash(&leaf(index));
            let made = ledger::append(&known, index, hash).map_err(|e| e.to_string())?;
            known.0.extend(made.iter().map(|&(l, i, h)| ((l, i), h)));
            nodes.extend(made);
            leaves.push(store::NewLeaf {
                index,
                event_seq: seq,
                leaf: leaf(index),
                leaf_hash: hash,
            });
        }
        Ok((leaves, nodes))
    })
}

#[tokio::test]
async fn ledger_frontier_is_the_right_edge() {
    // (size, its perfect subtrees on the right edge, largest first)
    let table: &[(u64, &[(u8, u64)])] = &[
        (0, &[]),
        (1, &[(0, 0)]),
        (2, &[(1, 0)]),
        (3, &[(1, 0), (0, 2)]),
        (6, &[(2, 0), (1, 2)]),
        (13, &[(3, 0), (2, 2), (0, 12)]),
    ];
    for &(size, want) in table {
        assert_eq!(store::ledger_frontier(size), want, "size {size}");
    }
}

#[tokio::test]
async fn ledger_append_batch_matches_single_ones() {
    for_each_backend(|store| async move {
        let mut reference = MemoryStore::new();
        let mut next = 0u64;
        // (single appends in a transaction, then a batch of; whether the
        // batch's build fails): batches start at sizes with various low-bit
        // patterns, and a failed batch leaves nothing behind.
        let table = [
            (0u64, 1u64, false),
            (1, 2, false),
            (0, 5, true),
            (0, 5, false),
            (2, 8, false),
            (1, 17, true),
            (1, 17, false),
            (3, 64, false),
        ];
        for (singles, batch, fails) in table {
            let mut tx = store.begin().await.unwrap();
            for _ in 0..singles {
                assert_eq!(append(&mut tx, &leaf(next)).await.unwrap(), next);
                reference.push(leaf_hash(&leaf(next))).unwrap();
                next += 1;
            }
            tx.commit().await.unwrap();
            let events: Vec<_> = (0..batch)
                .map(|i| crate::event(&format!("batch.{}", next + i), None))
                .collect();
            let build: store::BuildLeaves = if fails {
                Box::new(|_, _, _| Err("refused".to_owned()))
            } else {
                build_batch()
            };
            let outcome = store.append_batch(events.clone(), build).await;
            let mut tx = store.read().await.unwrap();
            if fails {
                let err = outcome.unwrap_err();
                assert_eq!(err.code(), "store_corrupt", "{err}");
                assert_eq!(tx.ledger_size().await.unwrap(), next, "nothing reserved");
                continue;
            }
            let seqs: Vec<i64> = outcome.unwrap().iter().map(|e| e.seq).collect();
            assert_eq!(seqs.len(), events.len());
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
            for index in next..next + batch {
                reference.push(leaf_hash(&leaf(index))).unwrap();
            }
            next += batch;
            assert_eq!(tx.ledger_size().await.unwrap(), next);
            // Every batched event is stored under the seq it was given, and
            // its leaf records that seq.
            for (event, &seq) in events.iter().zip(&seqs) {
                let stored = tx.event(seq).await.unwrap().unwrap();
                assert_eq!(stored.action, event.action);
            }
            let leaves = tx.ledger_leaf_rows(next - batch, next).await.unwrap();
            let recorded: Vec<i64> = leaves.iter().map(|l| l.event_seq).collect();
            assert_eq!(recorded, seqs);
            drop(tx);
            let want = ledger::root(&reference, next).unwrap();
            assert_eq!(stored_root(&store, next).await, want, "size {next}");
        }
    })
    .await;
}
