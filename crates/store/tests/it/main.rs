//! The store conformance suite: every test runs against SQLite and PostgreSQL
//! through [`util::for_each_backend`], so both backends keep one behaviour.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")]

mod accounts;
mod agreements;
mod alerts;
mod certifications;
mod conditions;
mod dlp;
mod durability;
mod ledger;
mod outbox;
mod policies;
mod regression;
mod reviews;
mod util;

use model::*;
use store::{Backend, Store, StoreError};
use util::*;

#[tokio::test]
async fn parties_round_trip() {
    for_each_backend(|store| async move {
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.owner_party().await.unwrap(), None);
        let owner = party("Zeta Owner", PartyKind::Owner);
        let mut vendor = party("Alpha Vendor", PartyKind::External);
        vendor.country = None;
        tx.insert_party(&owner).await.unwrap();
        tx.insert_party(&vendor).await.unwrap();
        assert_eq!(tx.get_party(owner.id).await.unwrap(), Some(owner.clone()));
        assert_eq!(tx.get_party(vendor.id).await.unwrap(), Some(vendor.clone()));
        assert_eq!(tx.get_party(id(PartyId::from_random)).await.unwrap(), None);
        assert_eq!(
            tx.list_parties().await.unwrap(),
            vec![vendor.clone(), owner.clone()]
        );
        assert_eq!(tx.owner_party().await.unwrap(), Some(owner.clone()));

        vendor.name = "Beta Vendor".into();
        vendor.country = Some("DE".into());
        vendor.status = PartyStatus::Suspended;
        tx.update_party(&vendor).await.unwrap();
        assert_eq!(tx.get_party(vendor.id).await.unwrap(), Some(vendor.clone()));
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn conflicts_are_reported_as_such() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_party(&party("Owner", PartyKind::Owner))
            .await
            .unwrap();
        let same_name = party(&w.party.name, PartyKind::External);
        assert_conflict(tx.insert_party(&same_name).await, "party name");
        let second_owner = party("Another owner", PartyKind::Owner);
        assert_conflict(tx.insert_party(&second_owner).await, "owner party");
        let same_email = user(w.party.id, &w.user.email.to_uppercase());
        assert_conflict(tx.insert_user(&same_email).await, "e-mail");

        // A conflict leaves the transaction usable on both backends.
        tx.insert_user(&user(w.party.id, "fine@example.com"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.count_users().await.unwrap(), 2);
        assert_eq!(tx.list_parties().await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn email_is_unique_case_insensitively() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let mut other = user(w.party.id, "Bob@Example.COM");
        tx.insert_user(&other).await.unwrap();
        let shouting = user(w.party.id, "BOB@example.com");
        assert_conflict(tx.insert_user(&shouting).await, "e-mail");
        other.email = w.user.email.to_uppercase();
        assert_conflict(tx.update_user(&other).await, "e-mail");
    })
    .await;
}

#[tokio::test]
async fn users_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let other_party = party("Other", PartyKind::External);
        let mut alice = user(w.party.id, "Alice@Example.com");
        let carol = user(other_party.id, "carol@example.com");
        let mut tx = store.begin().await.unwrap();
        tx.insert_party(&other_party).await.unwrap();
        tx.insert_user(&alice).await.unwrap();
        tx.insert_user(&carol).await.unwrap();
        alice.email = "alice@example.com".into();

        assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(tx.get_user(id(UserId::from_random)).await.unwrap(), None);
        let by_email = tx.get_user_by_email("ALICE@example.COM").await.unwrap();
        assert_eq!(by_email, Some(alice.clone()));
        assert_eq!(tx.count_users().await.unwrap(), 3);
        let by_email = |mut users: Vec<User>| {
            users.sort_by(|a, b| a.email.cmp(&b.email));
            users
        };
        let all = tx.list_users(None).await.unwrap();
        assert_eq!(
            all,
            by_email(vec![alice.clone(), carol.clone(), w.user.clone()])
        );
        let of_party = tx.list_users(Some(w.party.id)).await.unwrap();
        assert_eq!(of_party, by_email(vec![alice.clone(), w.user.clone()]));

        alice.email = "alice@new.example".into();
        alice.display_name = "Alice A.".into();
        alice.system_role = SystemRole::SecurityOfficer;
        alice.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into());
        alice.totp_secret_sealed = Some(vec![0, 1, 2, 255]);
        alice.totp_enabled = true;
        alice.totp_last_step = 57_000_000;
        alice.mfa_required = true;
        alice.disabled = true;
        alice.failed_logins = 4;
        alice.locked_until_ms = Some(9_999);
        tx.update_user(&alice).await.unwrap();
        assert_eq!(tx.get_user(alice.id).await.unwrap(), Some(alice.clone()));
        tx.commit().await.unwrap();
    })
    .await;
}

pub(crate) fn session(user: UserId, hash: u8) -> Session {
    Session {
        id: id(SessionId::from_random),
        token_hash: vec![hash; 32],
        user_id: user,
        kind: SessionKind::Browser,
        mfa: true,
        csrf_hash: Some(vec![hash ^ 0xff; 32]),
        name: None,
        created_ms: 10,
        expires_ms: 20,
        revoked: false,
        address: Some("192.0.2.1".into()),
        last_seen_ms: None,
    }
}

#[tokio::test]
async fn sessions_lookup_and_revoke() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let other = user(w.party.id, "other@example.com");
        let first = session(w.user.id, 1);
        let token = Session {
            kind: SessionKind::Api,
            mfa: false,
            csrf_hash: None,
            name: Some("ci".into()),
            ..session(w.user.id, 2)
        };
        let theirs = session(other.id, 3);
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&other).await.unwrap();
        for s in [&first, &token, &theirs] {
            tx.insert_session(s).await.unwrap();
        }
        assert_conflict(tx.insert_session(&session(w.user.id, 1)).await, "session");
        assert_eq!(
            tx.get_session_by_hash(&[2; 32]).await.unwrap(),
            Some(token.clone())
        );
        assert_eq!(tx.get_session_by_hash(&[9; 32]).await.unwrap(), None);

        assert!(tx.revoke_session(first.id).await.unwrap());
        assert!(!tx.revoke_session(first.id).await.unwrap());
        let revoked = tx.get_session_by_hash(&[1; 32]).await.unwrap();
        assert_eq!(revoked.map(|s| s.revoked), Some(true));
        assert_eq!(tx.revoke_user_sessions(w.user.id).await.unwrap(), 1);
        assert_eq!(tx.revoke_user_sessions(w.user.id).await.unwrap(), 0);
        let token_now = tx.get_session_by_hash(&[2; 32]).await.unwrap();
        assert_eq!(token_now.map(|s| s.revoked), Some(true));
        let theirs_now = tx.get_session_by_hash(&[3; 32]).await.unwrap();
        assert_eq!(theirs_now, Some(theirs));
    })
    .await;
}

#[tokio::test]
async fn invitation_is_accepted_once() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let inv = Invitation {
            id: id(InvitationId::from_random),
            token_hash: vec![5; 32],
            email: "new@vendor.example".into(),
            display_name: "New Person".into(),
            party_id: w.party.id,
            system_role: SystemRole::Auditor,
            invited_by: w.user.id,
            created_ms: 100,
            expires_ms: 200,
            accepted_ms: None,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_invitation(&inv).await.unwrap();
        assert_eq!(
            tx.get_invitation_by_hash(&[5; 32]).await.unwrap(),
            Some(inv.clone())
        );
        assert_eq!(tx.get_invitation_by_hash(&[6; 32]).await.unwrap(), None);
        assert!(tx.accept_invitation(inv.id, 150).await.unwrap());
        assert!(!tx.accept_invitation(inv.id, 160).await.unwrap());
        let accepted = tx.get_invitation_by_hash(&[5; 32]).await.unwrap();
        assert_eq!(accepted.and_then(|i| i.accepted_ms), Some(150));
    })
    .await;
}

#[tokio::test]
async fn rooms_round_trip_and_soft_delete() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut archive = room("archive", w.user.id);
        let mut tx = store.begin().await.unwrap();
        tx.insert_room(&archive).await.unwrap();
        assert_eq!(
            tx.get_room(archive.id).await.unwrap(),
            Some(archive.clone())
        );
        assert_eq!(
            tx.list_rooms().await.unwrap(),
            vec![archive.clone(), w.room.clone()]
        );

        archive.name = "zz archive".into();
        archive.classification = Classification::Restricted;
        tx.update_room(&archive).await.unwrap();
        assert_eq!(
            tx.get_room(archive.id).await.unwrap(),
            Some(archive.clone())
        );
        assert_eq!(
            tx.list_rooms().await.unwrap(),
            vec![w.room.clone(), archive.clone()]
        );

        assert!(tx.delete_room(archive.id, 5_000).await.unwrap());
        assert!(!tx.delete_room(archive.id, 5_001).await.unwrap());
        assert_eq!(tx.get_room(archive.id).await.unwrap(), None);
        assert_eq!(tx.list_rooms().await.unwrap(), vec![w.room.clone()]);
        assert!(tx.update_room(&archive).await.is_err());
        tx.commit().await.unwrap();
    })
    .await;
}

fn grant(room: RoomId, kind: SubjectKind, subject: uuid::Uuid, by: UserId, at: i64) -> Grant {
    Grant {
        id: id(GrantId::from_random),
        room_id: room,
        subject_kind: kind,
        subject_id: subject,
        role: RoomRole::Downloader,
        expires_ms: Some(at + 1_000),
        granted_by: by,
        reason: "project x".into(),
        created_ms: at,
    }
}

#[tokio::test]
async fn grants_for_user_and_party() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let stranger = user(w.party.id, "stranger@example.com");
        let to_user = grant(w.room.id, SubjectKind::User, w.user.id.0, w.user.id, 1);
        let to_party = Grant {
            expires_ms: None,
            role: RoomRole::Viewer,
            ..grant(w.room.id, SubjectKind::Party, w.party.id.0, w.user.id, 2)
        };
        let to_stranger = grant(w.room.id, SubjectKind::User, stranger.id.0, w.user.id, 3);
        let revoked = grant(w.room.id, SubjectKind::User, w.user.id.0, w.user.id, 4);
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&stranger).await.unwrap();
        for g in [&to_user, &to_party, &to_stranger, &revoked] {
            tx.insert_grant(g).await.unwrap();
        }
        assert!(tx.revoke_grant(revoked.id, 10).await.unwrap());
        assert!(!tx.revoke_grant(revoked.id, 11).await.unwrap());

        assert_eq!(
            tx.get_grant(to_party.id).await.unwrap(),
            Some(to_party.clone())
        );
        assert_eq!(tx.get_grant(revoked.id).await.unwrap(), None);
        let listed = tx.list_grants(w.room.id).await.unwrap();
        assert_eq!(
            listed,
            vec![to_user.clone(), to_party.clone(), to_stranger.clone()]
        );
        let mine = tx.grants_for(w.user.id, w.party.id).await.unwrap();
        assert_eq!(mine, vec![to_user.clone(), to_party.clone()]);

        tx.delete_room(w.room.id, 20).await.unwrap();
        assert_eq!(tx.grants_for(w.user.id, w.party.id).await.unwrap(), vec![]);
    })
    .await;
}

#[tokio::test]
async fn ensure_file_is_idempotent() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let first = id(FileId::from_random);
        let got = tx.ensure_file(w.room.id, "/a.txt", first, 1).await.unwrap();
        assert_eq!(got, first);
        let again = tx
            .ensure_file(w.room.id, "/a.txt", id(FileId::from_random), 2)
            .await;
        assert_eq!(again.unwrap(), first);
        let other = tx
            .ensure_file(w.room.id, "/b.txt", id(FileId::from_random), 3)
            .await;
        assert_ne!(other.unwrap(), first);

        assert!(tx.delete_file(first, 4).await.unwrap());
        let reborn = id(FileId::from_random);
        let got = tx
            .ensure_file(w.room.id, "/a.txt", reborn, 5)
            .await
            .unwrap();
        assert_eq!(got, reborn);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads_of_one_path_get_distinct_numbers() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let (room, user) = (w.room.id, w.user.id);
                tokio::spawn(async move {
                    let mut tx = store.begin().await?;
                    let new_id = id(FileId::from_random);
                    let file = tx.ensure_file(room, "/shared/spec.pdf", new_id, 7).await?;
                    let version = tx.insert_version(file, &new_version(user, "k1")).await?;
                    tx.commit().await?;
                    Ok::<_, StoreError>((file, version.number))
                })
            })
            .collect();
        let mut files = Vec::new();
        let mut numbers = Vec::new();
        for task in tasks {
            let (file, number) = task.await.unwrap().unwrap();
            files.push(file);
            numbers.push(number);
        }
        files.dedup();
        assert_eq!(files.len(), 1, "one file for one path");
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>());

        let mut tx = store.read().await.unwrap();
        let listed = tx.list_files(w.room.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].current.as_ref().map(|v| v.number), Some(8));
        assert_eq!(tx.list_versions(files[0]).await.unwrap().len(), 8);
    })
    .await;
}

#[tokio::test]
async fn files_and_versions_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let b = tx
            .ensure_file(w.room.id, "/b.txt", id(FileId::from_random), 10)
            .await
            .unwrap();
        let a = tx
            .ensure_file(w.room.id, "/a.txt", id(FileId::from_random), 11)
            .await
            .unwrap();
        let empty = tx.get_file(a).await.unwrap().unwrap();
        assert_eq!(
            (empty.path.as_str(), empty.created_ms, empty.current),
            ("/a.txt", 11, None)
        );

        let v1 = tx
            .insert_version(a, &new_version(w.user.id, "k1"))
            .await
            .unwrap();
        let v2 = tx
            .insert_version(a, &new_version(w.user.id, "k1"))
            .await
            .unwrap();
        assert_eq!((v1.number, v2.number, v2.file_id), (1, 2, a));
        let file_a = tx.get_file(a).await.unwrap().unwrap();
        assert_eq!(file_a.current, Some(v2.clone()));
        assert_eq!(file_a.room_id, w.room.id);

        let listed = tx.list_files(w.room.id).await.unwrap();
        let summary: Vec<_> = listed.iter().map(|f| (f.id, f.current.clone())).collect();
        assert_eq!(summary, vec![(a, Some(v2.clone())), (b, None)]);
        assert_eq!(
            tx.list_versions(a).await.unwrap(),
            vec![v2.clone(), v1.clone()]
        );
        assert_eq!(tx.get_version(v1.id).await.unwrap(), Some(v1.clone()));
        assert_eq!(
            tx.get_version(id(VersionId::from_random)).await.unwrap(),
            None
        );

        assert!(tx.delete_file(a, 12).await.unwrap());
        assert!(!tx.delete_file(a, 13).await.unwrap());
        assert_eq!(tx.get_file(a).await.unwrap(), None);
        assert_eq!(tx.get_version(v1.id).await.unwrap(), None);
        let ids: Vec<_> = tx
            .list_files(w.room.id)
            .await
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, vec![b]);
        assert!(
            tx.insert_version(a, &new_version(w.user.id, "k1"))
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn vault_bookkeeping() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let file = tx
            .ensure_file(w.room.id, "/k.bin", id(FileId::from_random), 1)
            .await
            .unwrap();
        let old = tx
            .insert_version(file, &new_version(w.user.id, "old"))
            .await
            .unwrap();
        let new = tx
            .insert_version(file, &new_version(w.user.id, "new"))
            .await
            .unwrap();
        tx.delete_file(file, 2).await.unwrap();

        let mut blobs = tx.blob_ids().await.unwrap();
        let mut expected = vec![old.blob_id, new.blob_id];
        blobs.sort();
        expected.sort();
        assert_eq!(blobs, expected, "deleted files keep their blobs listed");

        let stale = tx.wrapped_keys("new").await.unwrap();
        assert_eq!(
            stale,
            vec![(old.id, old.wrapped_key.clone(), "old".to_owned())]
        );
        tx.set_wrapped_key(old.id, &[9, 9], "new").await.unwrap();
        assert_eq!(tx.wrapped_keys("new").await.unwrap(), vec![]);
        assert_eq!(tx.wrapped_keys("old").await.unwrap().len(), 2);
        assert!(
            tx.set_wrapped_key(id(VersionId::from_random), &[1], "new")
                .await
                .is_err()
        );
    })
    .await;
}

fn event(action: &str, actor: Option<&World>) -> Event {
    Event {
        seq: 0,
        time_ms: 77,
        actor_user: actor.map(|w| w.user.id),
        actor_party: actor.map(|w| w.party.id),
        action: action.into(),
        target: "room:x".into(),
        outcome: if actor.is_some() {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        reason: actor.is_none().then(|| "no_grant".into()),
        source_addr: Some("192.0.2.1".into()),
        user_agent: Some("curl/8".into()),
        request_id: Some("req-1".into()),
        mark_id: None,
        detail: serde_json::json!({ "size": 3, "names": ["a", "b"] }),
    }
}

#[tokio::test]
async fn events_are_sequenced_and_paged() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut appended = Vec::new();
        for i in 0..5 {
            let mut tx = store.begin().await.unwrap();
            let actor = (i % 2 == 0).then_some(&w);
            let mut e = event(&format!("file.download.{i}"), actor);
            e.seq = tx.append_event(&e).await.unwrap();
            tx.commit().await.unwrap();
            appended.push(e);
        }
        assert!(appended.windows(2).all(|p| p[0].seq < p[1].seq));

        let mut tx = store.read().await.unwrap();
        let first = tx.list_events(0, 2).await.unwrap();
        assert_eq!(first, appended[..2]);
        let rest = tx.list_events(first[1].seq, 10).await.unwrap();
        assert_eq!(rest, appended[2..]);
        assert_eq!(tx.list_events(appended[4].seq, 10).await.unwrap(), vec![]);
        assert_eq!(tx.list_events(0, 0).await.unwrap(), vec![]);
    })
    .await;
}

#[tokio::test]
async fn dropped_transaction_leaves_nothing() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let ghost = party("Ghost", PartyKind::External);
        {
            let mut tx = store.begin().await.unwrap();
            tx.insert_party(&ghost).await.unwrap();
            tx.ensure_file(w.room.id, "/ghost", id(FileId::from_random), 1)
                .await
                .unwrap();
            tx.append_event(&event("party.create", Some(&w)))
                .await
                .unwrap();
        }
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.get_party(ghost.id).await.unwrap(), None);
        assert_eq!(tx.list_files(w.room.id).await.unwrap(), vec![]);
        assert_eq!(tx.list_events(0, 10).await.unwrap(), vec![]);
        assert_eq!(tx.get_room(w.room.id).await.unwrap(), Some(w.room.clone()));
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for_each_backend_url(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let w = world(&store).await;
        // The second store connects while the first one is still open.
        let again = Store::connect(&url).await.unwrap();
        store.close().await;
        let expected = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        assert_eq!(again.backend(), expected);
        let mut tx = again.read().await.unwrap();
        assert_eq!(tx.get_user(w.user.id).await.unwrap(), Some(w.user.clone()));
        drop(tx);
        again.close().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_url_scheme_is_refused() {
    let err = Store::connect("mysql://localhost/x").await.err();
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("unsupported database url scheme `mysql`"),
        "{message}"
    );
}

#[tokio::test]
async fn files_are_found_by_words_of_their_path_with_wildcards_taken_literally() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let paths = [
            "/specs/Gearbox-Rev-B.step",
            "/specs/gearbox-rev-c.step",
            "/notes/100%_done.txt",
            "/notes/100x_done.txt",
            "/notes/back\\slash.txt",
            "/Änderungen/übersicht.pdf",
        ];
        for (i, path) in paths.iter().enumerate() {
            let file = tx
                .ensure_file(w.room.id, path, id(FileId::from_random), i as i64)
                .await
                .unwrap();
            tx.insert_version(file, &new_version(w.user.id, "k1"))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        for (needles, after, limit, want) in [
            (
                vec!["gearbox"],
                "",
                10,
                vec!["/specs/Gearbox-Rev-B.step", "/specs/gearbox-rev-c.step"],
            ),
            (
                vec!["GEARBOX", "rev-b"],
                "",
                10,
                vec!["/specs/Gearbox-Rev-B.step"],
            ),
            (
                vec!["gearbox"],
                "/specs/Gearbox-Rev-B.step",
                10,
                vec!["/specs/gearbox-rev-c.step"],
            ),
            (vec!["gearbox"], "", 1, vec!["/specs/Gearbox-Rev-B.step"]),
            (vec!["100%_"], "", 10, vec!["/notes/100%_done.txt"]),
            (vec!["k\\s"], "", 10, vec!["/notes/back\\slash.txt"]),
            (vec!["%"], "", 10, vec!["/notes/100%_done.txt"]),
            (vec![".pdf"], "", 10, vec!["/Änderungen/übersicht.pdf"]),
            (
                vec![],
                "/notes/back\\slash.txt",
                10,
                vec![
                    "/specs/Gearbox-Rev-B.step",
                    "/specs/gearbox-rev-c.step",
                    "/Änderungen/übersicht.pdf",
                ],
            ),
            (vec!["nothing"], "", 10, vec![]),
        ] {
            let needles: Vec<String> = needles.into_iter().map(String::from).collect();
            let found: Vec<String> = tx
                .find_files_page(w.room.id, &needles, after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|f| f.path)
                .collect();
            assert_eq!(found, want, "{needles:?} after {after:?} limit {limit}");
        }
    })
    .await;
}
