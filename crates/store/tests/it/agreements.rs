//! Agreements and room requirements on both backends: round trip, signing only
//! what awaits a signature, termination, and ordered requirements.

use model::*;

use crate::util::*;

fn agreement(party: PartyId, by: UserId, created_ms: i64) -> Agreement {
    Agreement {
        id: id(AgreementId::from_random),
        party_id: party,
        kind: AgreementKind::Licence,
        template: "eu-licence".into(),
        title: "EU licence".into(),
        text: "licence text".into(),
        text_sha256: "ab".repeat(32),
        terms: AgreementTerms {
            field_of_use: vec!["automotive".into()],
            territories: vec!["DE".into(), "FR".into()],
            permitted_actions: vec!["file.view".into()],
        },
        status: AgreementStatus::AwaitingSignature,
        effective_ms: 1_000,
        end_ms: Some(9_000),
        created_by: by,
        created_ms,
        signature: None,
        terminated_ms: None,
    }
}

#[tokio::test]
async fn agreements_round_trip_sign_and_terminate() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let mut a = agreement(w.party.id, w.user.id, 10);
        let b = agreement(w.party.id, w.user.id, 20);
        tx.insert_agreement(&a).await.unwrap();
        tx.insert_agreement(&b).await.unwrap();
        assert_eq!(tx.get_agreement(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(
            tx.list_agreements(Some(w.party.id)).await.unwrap(),
            vec![b.clone(), a.clone()],
            "newest first"
        );
        let other = id(PartyId::from_random);
        assert_eq!(tx.list_agreements(Some(other)).await.unwrap(), vec![]);

        let sig = Signature {
            user_id: w.user.id,
            text_sha256: a.text_sha256.clone(),
            signed_ms: 2_000,
            source_addr: Some("192.0.2.7".into()),
        };
        assert!(tx.sign_agreement(a.id, &sig).await.unwrap());
        assert!(
            !tx.sign_agreement(a.id, &sig).await.unwrap(),
            "signed once only"
        );
        a.status = AgreementStatus::Active;
        a.signature = Some(sig);
        assert_eq!(tx.get_agreement(a.id).await.unwrap(), Some(a.clone()));

        tx.terminate_agreement(a.id, 3_000).await.unwrap();
        assert!(tx.terminate_agreement(a.id, 4_000).await.is_err());
        a.status = AgreementStatus::Terminated;
        a.terminated_ms = Some(3_000);
        assert_eq!(tx.get_agreement(a.id).await.unwrap(), Some(a));
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn room_requirements_keep_their_order_and_are_replaced_whole() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let keys = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(tx.room_requirements(w.room.id).await.unwrap(), keys(&[]));
        tx.set_room_requirements(w.room.id, &keys(&["nda", "eu-licence", "ip_assignment"]))
            .await
            .unwrap();
        assert_eq!(
            tx.room_requirements(w.room.id).await.unwrap(),
            keys(&["nda", "eu-licence", "ip_assignment"])
        );
        tx.set_room_requirements(w.room.id, &keys(&["ip_assignment"]))
            .await
            .unwrap();
        assert_eq!(
            tx.room_requirements(w.room.id).await.unwrap(),
            keys(&["ip_assignment"])
        );
        let all = tx.all_room_requirements().await.unwrap();
        assert_eq!(all.get(&w.room.id), Some(&keys(&["ip_assignment"])));
        tx.commit().await.unwrap();
    })
    .await;
}
