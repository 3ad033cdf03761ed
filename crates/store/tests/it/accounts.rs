//! A user's own sessions (listed, touched, ended one by one or all but one)
//! and the recovery codes of a second factor (replaced whole, each used once).

use model::*;

use crate::session;
use crate::util::*;

#[tokio::test]
async fn own_sessions_are_listed_touched_and_ended() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let other = user(w.party.id, "someone@example.com");
        let current = Session {
            created_ms: 10,
            expires_ms: 1_000,
            ..session(w.user.id, 1)
        };
        let token = Session {
            kind: SessionKind::Api,
            csrf_hash: None,
            name: Some("ci".into()),
            created_ms: 11,
            expires_ms: 1_000,
            ..session(w.user.id, 2)
        };
        let expired = Session {
            created_ms: 12,
            expires_ms: 50,
            ..session(w.user.id, 3)
        };
        let theirs = Session {
            expires_ms: 1_000,
            ..session(other.id, 4)
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&other).await.unwrap();
        for s in [&current, &token, &expired, &theirs] {
            tx.insert_session(s).await.unwrap();
        }
        let live = tx.live_sessions(w.user.id, 100).await.unwrap();
        assert_eq!(live, vec![token.clone(), current.clone()]);

        tx.touch_session(current.id, 90, Some("198.51.100.9"))
            .await
            .unwrap();
        tx.touch_session(token.id, 95, None).await.unwrap();
        let live = tx.live_sessions(w.user.id, 100).await.unwrap();
        let seen: Vec<_> = live
            .iter()
            .map(|s| (s.id, s.last_seen_ms, s.address.as_deref()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (token.id, Some(95), Some("192.0.2.1")),
                (current.id, Some(90), Some("198.51.100.9")),
            ]
        );

        // Another user's session is not the user's to end.
        assert!(!tx.revoke_session_of(w.user.id, theirs.id).await.unwrap());
        assert!(tx.revoke_session_of(w.user.id, token.id).await.unwrap());
        assert!(!tx.revoke_session_of(w.user.id, token.id).await.unwrap());
        let second = Session {
            expires_ms: 1_000,
            ..session(w.user.id, 5)
        };
        tx.insert_session(&second).await.unwrap();
        assert_eq!(
            tx.revoke_other_sessions(w.user.id, current.id, 100)
                .await
                .unwrap(),
            1
        );
        let live = tx.live_sessions(w.user.id, 100).await.unwrap();
        assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), [current.id]);
        assert_eq!(tx.live_sessions(other.id, 100).await.unwrap().len(), 1);
        tx.commit().await.unwrap();
    })
    .await;
}

fn code(user: UserId, byte: u8, at: i64) -> RecoveryCode {
    RecoveryCode {
        id: id(RecoveryCodeId::from_random),
        user_id: user,
        code_hash: vec![byte; 32],
        created_ms: at,
        used_ms: None,
    }
}

#[tokio::test]
async fn recovery_codes_are_replaced_whole_and_used_once() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let first: Vec<_> = (1..=3).map(|b| code(w.user.id, b, 10)).collect();
        let mut tx = store.begin().await.unwrap();
        tx.replace_recovery_codes(w.user.id, &first).await.unwrap();
        assert_eq!(tx.unused_recovery_codes(w.user.id).await.unwrap().len(), 3);

        assert!(tx.use_recovery_code(first[1].id, 20).await.unwrap());
        assert!(!tx.use_recovery_code(first[1].id, 21).await.unwrap());
        let unused = tx.unused_recovery_codes(w.user.id).await.unwrap();
        let mut want = vec![first[0].clone(), first[2].clone()];
        want.sort_by_key(|c| c.id.to_string());
        assert_eq!(unused, want);

        tx.commit().await.unwrap();

        // A hash is unique: a clash is a conflict; rolled back, the codes stay.
        let mut tx = store.begin().await.unwrap();
        let clash = vec![code(w.user.id, 9, 30), code(w.user.id, 9, 30)];
        assert_conflict(
            tx.replace_recovery_codes(w.user.id, &clash).await,
            "recovery code",
        );
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.unused_recovery_codes(w.user.id).await.unwrap(), want);
        let second: Vec<_> = (4..=5).map(|b| code(w.user.id, b, 40)).collect();
        tx.replace_recovery_codes(w.user.id, &second).await.unwrap();
        let mut unused = tx.unused_recovery_codes(w.user.id).await.unwrap();
        unused.sort_by_key(|c| c.code_hash.clone());
        assert_eq!(unused, second);
        assert_eq!(tx.delete_recovery_codes(w.user.id).await.unwrap(), 2);
        assert!(
            tx.unused_recovery_codes(w.user.id)
                .await
                .unwrap()
                .is_empty()
        );
        tx.commit().await.unwrap();
    })
    .await;
}
