//! The facts of the access conditions on both backends: room tags and access
//! windows, training, network zones, agreement templates,
//! the expiry sweep's notices (each end once, renewals again) and notifications.

use model::*;

use crate::certifications::certificate;
use crate::util::*;

#[tokio::test]
async fn conditions_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let mut room = w.room.clone();
        room.tags = vec!["automotive".into(), "rail".into()];
        room.access_window = Some(AccessWindow {
            days: vec![1, 5],
            start: "08:00".into(),
            end: "18:30".into(),
            utc_offset_min: -300,
        });
        tx.update_room(&room).await.unwrap();
        assert_eq!(tx.get_room(room.id).await.unwrap(), Some(room.clone()));
        room.access_window = None;
        tx.update_room(&room).await.unwrap();
        assert_eq!(tx.get_room(room.id).await.unwrap(), Some(room.clone()));

        let mut user = w.user.clone();
        user.training_until_ms = Some(77_000);
        tx.update_user(&user).await.unwrap();
        assert_eq!(tx.get_user(user.id).await.unwrap(), Some(user.clone()));
        let mut party = w.party.clone();
        party.country = Some("FR".into());
        tx.update_party(&party).await.unwrap();
        assert_eq!(tx.get_party(party.id).await.unwrap(), Some(party.clone()));

        let zones = vec![
            NetworkZone {
                name: "berlin".into(),
                country: "DE".into(),
                ranges: vec![
                    "198.51.100.0/24".parse().unwrap(),
                    "2001:db8::/32".parse().unwrap(),
                ],
            },
            NetworkZone {
                name: "paris".into(),
                country: "FR".into(),
                ranges: vec!["203.0.113.0/24".parse().unwrap()],
            },
        ];
        tx.replace_zones(&zones, 5).await.unwrap();
        assert_eq!(tx.list_zones().await.unwrap(), zones);
        tx.replace_zones(&zones[1..], 6).await.unwrap();
        assert_eq!(tx.list_zones().await.unwrap(), zones[1..].to_vec());
        let twice = vec![zones[0].clone(), zones[0].clone()];
        assert_conflict(tx.replace_zones(&twice, 7).await, "network zone");
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn templates_round_trip() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let mut t = AgreementTemplate {
            name: "gearbox-licence".into(),
            kind: AgreementKind::Licence,
            title: "Gearbox licence".into(),
            text: "You may use the drawings.".into(),
            terms: AgreementTerms {
                field_of_use: vec!["automotive".into()],
                territories: vec!["FR".into()],
                permitted_actions: vec!["file.view".into()],
            },
            duration_days: Some(90),
            created_by: w.user.id,
            created_ms: 10,
            updated_ms: 10,
        };
        tx.insert_template(&t).await.unwrap();
        assert_conflict(tx.insert_template(&t).await, "agreement template");
        t.text = "Revised.".into();
        t.duration_days = None;
        t.updated_ms = 20;
        tx.update_template(&t).await.unwrap();
        assert_eq!(tx.get_template(&t.name).await.unwrap(), Some(t.clone()));
        assert_eq!(tx.get_template("nope").await.unwrap(), None);
        assert_eq!(tx.list_templates().await.unwrap(), vec![t.clone()]);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn each_end_is_noticed_once_and_a_renewal_again() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let mut user = w.user.clone();
        user.training_until_ms = Some(1_000);
        tx.update_user(&user).await.unwrap();
        let cert = certificate(w.party.id, w.user.id, 5_000, true);
        tx.insert_certification(&cert).await.unwrap();
        // An unverified one is never noticed.
        let unverified = certificate(w.party.id, w.user.id, 4_000, false);
        tx.insert_certification(&unverified).await.unwrap();
        let grant = Grant {
            id: id(GrantId::from_random),
            room_id: w.room.id,
            subject_kind: SubjectKind::User,
            subject_id: user.id.0,
            role: RoomRole::Viewer,
            expires_ms: Some(2_000),
            granted_by: user.id,
            reason: "r".into(),
            created_ms: 0,
        };
        tx.insert_grant(&grant).await.unwrap();
        tx.commit().await.unwrap();

        // (now, the kinds due, in order)
        let steps: [(i64, &[ExpiryKind]); 4] = [
            (999, &[]),
            (2_000, &[ExpiryKind::Grant, ExpiryKind::Training]),
            (2_500, &[]),
            (9_000, &[ExpiryKind::Certification]),
        ];
        for (now, want) in steps {
            let mut tx = store.begin().await.unwrap();
            let due = tx.unnoticed_expiries(now, 100).await.unwrap();
            let kinds: Vec<ExpiryKind> = due.iter().map(|e| e.kind).collect();
            assert_eq!(kinds, want, "at {now}");
            for e in &due {
                assert!(tx.record_expiry(e, now).await.unwrap(), "{e:?}");
                assert!(!tx.record_expiry(e, now).await.unwrap(), "twice: {e:?}");
            }
            tx.commit().await.unwrap();
        }
        // Renewed training that ends again is a new end.
        let mut tx = store.begin().await.unwrap();
        user.training_until_ms = Some(10_000);
        tx.update_user(&user).await.unwrap();
        let due = tx.unnoticed_expiries(20_000, 100).await.unwrap();
        assert_eq!(
            due,
            vec![Expiry {
                kind: ExpiryKind::Training,
                subject_id: user.id.0,
                until_ms: 10_000
            }]
        );
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn notifications_are_read_by_their_user_only() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let other = user(
            w.party.id,
            &format!("{}@acme.example", uuid::Uuid::new_v4().simple()),
        );
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(&other).await.unwrap();
        let note = |n: i64| Notification {
            id: id(NotificationId::from_random),
            user_id: w.user.id,
            created_ms: n,
            kind: "grant.expire".into(),
            subject: format!("grant:{n}"),
            message: format!("message {n}"),
            read_ms: None,
        };
        let (a, b) = (note(1), note(2));
        tx.insert_notification(&a).await.unwrap();
        tx.insert_notification(&b).await.unwrap();
        assert_eq!(
            tx.list_notifications(w.user.id, false, 10).await.unwrap(),
            vec![b.clone(), a.clone()]
        );
        assert!(!tx.mark_notification_read(a.id, other.id, 5).await.unwrap());
        assert!(tx.mark_notification_read(a.id, w.user.id, 5).await.unwrap());
        assert!(tx.mark_notification_read(a.id, w.user.id, 9).await.unwrap());
        let unread = tx.list_notifications(w.user.id, true, 10).await.unwrap();
        assert_eq!(unread, vec![b.clone()]);
        let all = tx.list_notifications(w.user.id, false, 1).await.unwrap();
        assert_eq!(all, vec![b.clone()], "newest first, limited");
        let read = tx.list_notifications(w.user.id, false, 10).await.unwrap();
        assert_eq!(read[1].read_ms, Some(5), "the first read time stays");
        assert!(
            tx.list_notifications(other.id, false, 10)
                .await
                .unwrap()
                .is_empty()
        );
        tx.commit().await.unwrap();
    })
    .await;
}
