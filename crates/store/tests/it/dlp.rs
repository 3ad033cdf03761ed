//! Data-loss prevention tables on both backends: room policies, verdicts
//! (replaced on rescan), held versions that no file query sees until they
//! are released into the live file, decisions taken once, and custom rules.

use std::collections::BTreeMap;

use model::*;
use store::{CrownJewel, HoldState, StoredVerdict};

use crate::util::*;

#[tokio::test]
async fn room_policies_and_verdicts_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.room_dlp(w.room.id).await.unwrap(), None);
        tx.set_room_dlp(w.room.id, "{\"a\":1}").await.unwrap();
        tx.set_room_dlp(w.room.id, "{\"a\":2}").await.unwrap();
        assert_eq!(
            tx.room_dlp(w.room.id).await.unwrap().as_deref(),
            Some("{\"a\":2}")
        );

        let file = tx
            .ensure_file(w.room.id, "/v.txt", id(FileId::from_random), 1)
            .await
            .unwrap();
        let v = tx
            .insert_version(file, &new_version(w.user.id, "k1"))
            .await
            .unwrap();
        assert_eq!(tx.dlp_verdict(v.id).await.unwrap(), None);
        let first = StoredVerdict {
            version_id: v.id,
            max_severity: Some("high".into()),
            detectors: BTreeMap::from([("aws.key".to_owned(), 2), ("email".to_owned(), 1)]),
            uninspectable: None,
            ruleset: "aa".into(),
            scanned_ms: 5,
            jewels: None,
        };
        let rescanned = StoredVerdict {
            max_severity: None,
            detectors: BTreeMap::new(),
            uninspectable: Some("extract.encrypted".into()),
            ruleset: "bb".into(),
            scanned_ms: 6,
            jewels: Some("[{\"id\":\"j1\"}]".into()),
            ..first.clone()
        };
        for verdict in [&first, &rescanned] {
            tx.put_dlp_verdict(verdict).await.unwrap();
            assert_eq!(tx.dlp_verdict(v.id).await.unwrap().as_ref(), Some(verdict));
        }
        tx.commit().await.unwrap();
    })
    .await;
}

/// `(path, state)` of every hold in `state` (all when `None`).
async fn holds(tx: &mut store::Tx, state: Option<HoldState>) -> Vec<(String, HoldState)> {
    tx.list_holds(state, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.path, h.state))
        .collect()
}

#[tokio::test]
async fn held_versions_are_invisible_until_released() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let live = tx
            .ensure_file(w.room.id, "/spec.pdf", id(FileId::from_random), 1)
            .await
            .unwrap();
        let v1 = tx
            .insert_version(live, &new_version(w.user.id, "k1"))
            .await
            .unwrap();
        let mut held = Vec::new();
        for (n, path) in ["/spec.pdf", "/other.zip"].iter().enumerate() {
            let mut new = new_version(w.user.id, "k1");
            new.created_ms = 10 + n as i64;
            let v = tx
                .insert_held_version(
                    w.room.id,
                    path,
                    id(FileId::from_random),
                    &new,
                    "{\"action\":\"quarantine\"}",
                )
                .await
                .unwrap();
            held.push(v);
        }
        // Nothing that lists or reads files sees them; their blobs stay referenced.
        let listed = tx.list_files(w.room.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].current.as_ref(), Some(&v1));
        for v in &held {
            assert_eq!(tx.get_version(v.id).await.unwrap(), None);
            assert_eq!(tx.get_file(v.file_id).await.unwrap(), None);
            assert!(tx.blob_ids().await.unwrap().contains(&v.blob_id));
        }
        let want_held = vec![
            ("/spec.pdf".to_owned(), HoldState::Held),
            ("/other.zip".to_owned(), HoldState::Held),
        ];
        assert_eq!(holds(&mut tx, Some(HoldState::Held)).await, want_held);
        let hold = tx.get_hold(held[0].id).await.unwrap().unwrap();
        assert_eq!(
            (&hold.version, hold.room_id, hold.created_ms),
            (&held[0], w.room.id, 10)
        );
        assert_eq!(hold.reason, "{\"action\":\"quarantine\"}");

        // Release the first into the live file (version 2); reject the second.
        assert!(
            tx.decide_hold(held[0].id, HoldState::Released, w.user.id, 20, None)
                .await
                .unwrap()
        );
        let moved = tx.move_version(held[0].id, live).await.unwrap();
        assert_eq!((moved.file_id, moved.number), (live, 2));
        assert_eq!(moved.blob_id, held[0].blob_id);
        let file = tx.get_file(live).await.unwrap().unwrap();
        assert_eq!(file.current, Some(moved.clone()));
        assert!(
            tx.decide_hold(held[1].id, HoldState::Rejected, w.user.id, 21, Some("no"))
                .await
                .unwrap()
        );
        // A decision is taken once.
        for v in &held {
            let again = tx.decide_hold(v.id, HoldState::Released, w.user.id, 22, None);
            assert!(!again.await.unwrap());
        }
        assert_eq!(holds(&mut tx, Some(HoldState::Held)).await, vec![]);
        let all = holds(&mut tx, None).await;
        assert_eq!(
            all,
            vec![
                ("/spec.pdf".to_owned(), HoldState::Released),
                ("/other.zip".to_owned(), HoldState::Rejected),
            ]
        );
        let rejected = tx.get_hold(held[1].id).await.unwrap().unwrap();
        assert_eq!(
            (rejected.decided_by, rejected.decided_ms, rejected.note),
            (Some(w.user.id), Some(21), Some("no".to_owned()))
        );
        assert_eq!(tx.get_version(held[1].id).await.unwrap(), None);
        // Moving into a file that is not live fails.
        tx.delete_file(live, 30).await.unwrap();
        assert!(tx.move_version(held[1].id, live).await.is_err());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn custom_rules_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.dlp_rules().await.unwrap(), vec![]);
        tx.insert_dlp_rule("b.rule", "{\"b\":1}", w.user.id, 1)
            .await
            .unwrap();
        tx.insert_dlp_rule("a.rule", "{\"a\":1}", w.user.id, 2)
            .await
            .unwrap();
        assert_conflict(
            tx.insert_dlp_rule("a.rule", "{}", w.user.id, 3).await,
            "dlp rule",
        );
        // The conflict leaves the transaction usable.
        let rules = tx.dlp_rules().await.unwrap();
        let ids: Vec<&str> = rules.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a.rule", "b.rule"]);
        assert!(tx.delete_dlp_rule("a.rule").await.unwrap());
        assert!(!tx.delete_dlp_rule("a.rule").await.unwrap());
        assert_eq!(
            tx.dlp_rules().await.unwrap(),
            vec![("b.rule".to_owned(), "{\"b\":1}".to_owned())]
        );
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn crown_jewels_are_registered_once_and_move_the_generation() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let jewel = |id: &str, sha: u8| CrownJewel {
            id: id.into(),
            name: format!("src/{id}.rs"),
            source: "upload".into(),
            room_id: None,
            file_id: None,
            version_id: None,
            size: 10,
            sha256: vec![sha; 32],
            prints: b"CJFP\x01".to_vec(),
            print_count: 0,
            registered_by: w.user.id,
            registered_ms: 7,
        };
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.crown_jewel_generation().await.unwrap(), 0);
        assert_eq!(tx.insert_crown_jewel(&jewel("a", 1)).await.unwrap(), 1);
        assert_eq!(tx.insert_crown_jewel(&jewel("b", 2)).await.unwrap(), 2);
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let same_content = tx.insert_crown_jewel(&jewel("c", 1)).await;
        assert!(
            matches!(
                same_content,
                Err(store::StoreError::Conflict("crown jewel"))
            ),
            "{same_content:?}"
        );
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let listed = tx.crown_jewels(true).await.unwrap();
        assert_eq!(listed, vec![jewel("a", 1), jewel("b", 2)]);
        let bare = tx.crown_jewels(false).await.unwrap();
        assert!(bare.iter().all(|j| j.prints.is_empty()));
        let found = tx.crown_jewel_by_sha256(&[2; 32]).await.unwrap();
        assert_eq!(found.map(|j| j.id), Some("b".to_owned()));
        assert_eq!(
            tx.delete_crown_jewel("a").await.unwrap().map(|j| j.name),
            Some("src/a.rs".to_owned())
        );
        assert_eq!(tx.delete_crown_jewel("a").await.unwrap(), None);
        assert_eq!(tx.crown_jewel_generation().await.unwrap(), 3);
        tx.commit().await.unwrap();
    })
    .await;
}
