//! Certificates, qualifications (what rooms and classifications require),
//! parties' sponsors, the files shared with a party, and reminders, on both
//! backends.

use model::*;

use crate::util::*;

/// A certificate of `party` recorded by `by`, ending at `until_ms`.
pub fn certificate(party: PartyId, by: UserId, until_ms: i64, verified: bool) -> Certification {
    Certification {
        id: id(CertificationId::from_random),
        party_id: party,
        standard: "iso_27001".into(),
        issuer: "TUV".into(),
        scope: "design".into(),
        number: "N-1".into(),
        valid_from_ms: 0,
        valid_until_ms: until_ms,
        evidence: None,
        verified_by: verified.then_some(by),
        verified_ms: verified.then_some(1),
        recorded_by: by,
        recorded_ms: 1,
    }
}

#[tokio::test]
async fn certificates_are_recorded_verified_and_listed() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let file = tx
            .ensure_file(w.room.id, "/iso.pdf", id(FileId::from_random), 1)
            .await
            .unwrap();
        let mut a = certificate(w.party.id, w.user.id, 9_000, false);
        a.evidence = Some(file);
        a.standard = "custom:BSI C5".into();
        let b = certificate(w.party.id, w.user.id, 20_000, true);
        tx.insert_certification(&a).await.unwrap();
        tx.insert_certification(&b).await.unwrap();
        assert_eq!(tx.get_certification(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(
            tx.list_certifications(w.party.id).await.unwrap(),
            vec![b.clone(), a.clone()],
            "newest end first"
        );
        assert_eq!(tx.certified_until(w.party.id).await.unwrap(), Some(20_000));
        assert!(tx.verify_certification(a.id, w.user.id, 50).await.unwrap());
        assert!(!tx.verify_certification(a.id, w.user.id, 60).await.unwrap());
        let got = tx.get_certification(a.id).await.unwrap().unwrap();
        assert_eq!(
            (got.verified_by, got.verified_ms),
            (Some(w.user.id), Some(50))
        );
        assert_eq!(tx.delete_certifications(w.party.id).await.unwrap(), 2);
        assert_eq!(tx.certified_until(w.party.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn qualifications_sponsors_and_shared_files() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        // The seed of 0011.
        let kind = "certification";
        assert_eq!(
            tx.classification_qualifications(Classification::Confidential, kind)
                .await
                .unwrap(),
            vec!["any".to_owned()]
        );
        let keys = vec!["iso_27001".to_owned(), "tisax".to_owned()];
        tx.set_room_qualifications(w.room.id, kind, &keys)
            .await
            .unwrap();
        assert_eq!(tx.room_qualifications(w.room.id, kind).await.unwrap(), keys);
        let both = tx
            .required_qualifications(w.room.id, Classification::Confidential, kind)
            .await
            .unwrap();
        assert_eq!(both, vec!["any", "iso_27001", "tisax"]);
        tx.set_classification_qualifications(Classification::Internal, kind, &keys[..1])
            .await
            .unwrap();
        let internal = tx
            .required_qualifications(w.room.id, Classification::Internal, kind)
            .await
            .unwrap();
        assert_eq!(internal, vec!["iso_27001", "tisax"], "each once");
        tx.set_classification_qualifications(Classification::Internal, kind, &[])
            .await
            .unwrap();
        tx.set_room_qualifications(w.room.id, kind, &[])
            .await
            .unwrap();
        assert!(
            tx.room_qualifications(w.room.id, kind)
                .await
                .unwrap()
                .is_empty()
        );

        assert_eq!(tx.party_sponsor(w.party.id).await.unwrap(), None);
        tx.set_party_sponsor(w.party.id, Some(w.user.id), 5)
            .await
            .unwrap();
        tx.set_party_sponsor(w.party.id, Some(w.user.id), 6)
            .await
            .unwrap();
        assert_eq!(tx.party_sponsor(w.party.id).await.unwrap(), Some(w.user.id));
        tx.set_party_sponsor(w.party.id, None, 7).await.unwrap();
        assert_eq!(tx.party_sponsor(w.party.id).await.unwrap(), None);

        // Shared through a grant to one of the party's users.
        let file = tx
            .ensure_file(w.room.id, "/iso.pdf", id(FileId::from_random), 1)
            .await
            .unwrap();
        assert!(!tx.file_shared_with(file, w.party.id).await.unwrap());
        let grant = Grant {
            id: id(GrantId::from_random),
            room_id: w.room.id,
            subject_kind: SubjectKind::User,
            subject_id: w.user.id.0,
            role: RoomRole::Viewer,
            expires_ms: None,
            granted_by: w.user.id,
            reason: "r".into(),
            created_ms: 0,
        };
        tx.insert_grant(&grant).await.unwrap();
        assert!(tx.file_shared_with(file, w.party.id).await.unwrap());
        let shared = tx.files_shared_with(w.party.id, 10).await.unwrap();
        assert_eq!(shared.iter().map(|f| f.id).collect::<Vec<_>>(), vec![file]);
        assert!(tx.revoke_grant(grant.id, 9).await.unwrap());
        assert!(!tx.file_shared_with(file, w.party.id).await.unwrap());
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn reminders_are_due_once_per_threshold() {
    const DAY: i64 = 86_400_000;
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let start = 1_000 * DAY;
        let mut tx = store.begin().await.unwrap();
        let cert = certificate(w.party.id, w.user.id, start + 40 * DAY, true);
        tx.insert_certification(&cert).await.unwrap();
        let late = certificate(w.party.id, w.user.id, start + 5 * DAY, true);
        tx.insert_certification(&late).await.unwrap();
        let unverified = certificate(w.party.id, w.user.id, start + 5 * DAY, false);
        tx.insert_certification(&unverified).await.unwrap();
        tx.commit().await.unwrap();
        // (now, the certificates and thresholds due)
        let steps: [(i64, Vec<(CertificationId, i64)>); 5] = [
            (start, vec![(late.id, 7)]),
            (start + 10 * DAY, vec![(cert.id, 30)]),
            (start + 20 * DAY, vec![]),
            (start + 34 * DAY, vec![(cert.id, 7)]),
            (start + 41 * DAY, vec![]),
        ];
        for (now, want) in steps {
            let mut tx = store.begin().await.unwrap();
            let due = tx
                .due_certification_reminders(now, &[30, 7], 100)
                .await
                .unwrap();
            let mut got: Vec<(CertificationId, i64)> = due
                .iter()
                .map(|r| (CertificationId(r.subject_id), r.days))
                .collect();
            got.sort();
            let mut want = want;
            want.sort();
            assert_eq!(got, want, "at day {}", (now - start) / DAY);
            for r in &due {
                assert!(
                    tx.record_reminder(ExpiryKind::Certification, r, now)
                        .await
                        .unwrap()
                );
                assert!(
                    !tx.record_reminder(ExpiryKind::Certification, r, now)
                        .await
                        .unwrap()
                );
            }
            tx.commit().await.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn tier_reminders_and_lapses_are_due_once() {
    const DAY: i64 = 86_400_000;
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let start = 1_000 * DAY;
        let mut tx = store.begin().await.unwrap();
        let mut party = w.party.clone();
        party.tier = Some(model::diligence::RiskTier::Medium);
        party.tier_until_ms = Some(start + 40 * DAY);
        tx.update_party(&party).await.unwrap();
        tx.commit().await.unwrap();
        // (now, reminders due, lapse due)
        let steps: [(i64, Vec<i64>, bool); 5] = [
            (start, vec![], false),
            (start + 10 * DAY, vec![30], false),
            (start + 34 * DAY, vec![7], false),
            (start + 39 * DAY, vec![], false),
            (start + 40 * DAY, vec![], true),
        ];
        for (now, want, lapsed) in steps {
            let mut tx = store.begin().await.unwrap();
            let due = tx
                .due_reminders(ExpiryKind::Tier, now, &[30, 7], 100)
                .await
                .unwrap();
            let got: Vec<(PartyId, i64)> = due
                .iter()
                .map(|r| (PartyId(r.subject_id), r.days))
                .collect();
            let want: Vec<(PartyId, i64)> = want.iter().map(|d| (party.id, *d)).collect();
            assert_eq!(got, want, "at day {}", (now - start) / DAY);
            for r in &due {
                assert!(tx.record_reminder(ExpiryKind::Tier, r, now).await.unwrap());
            }
            let ends: Vec<Expiry> = tx
                .unnoticed_expiries(now, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind == ExpiryKind::Tier)
                .collect();
            let want_ends = if lapsed {
                vec![Expiry {
                    kind: ExpiryKind::Tier,
                    subject_id: party.id.0,
                    until_ms: start + 40 * DAY,
                }]
            } else {
                vec![]
            };
            assert_eq!(ends, want_ends, "at day {}", (now - start) / DAY);
            for e in &ends {
                assert!(tx.record_expiry(e, now).await.unwrap());
                assert!(!tx.record_expiry(e, now).await.unwrap());
            }
            tx.commit().await.unwrap();
        }
        // Kinds without reminders list none.
        let mut tx = store.begin().await.unwrap();
        let none = tx
            .due_reminders(ExpiryKind::Grant, start, &[30, 7], 100)
            .await
            .unwrap();
        assert!(none.is_empty());
        tx.commit().await.unwrap();
    })
    .await;
}
