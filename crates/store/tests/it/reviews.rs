//! Access-review campaigns: the grants a scope covers, the owner's room
//! managers, decisions taken only while a campaign is open, a reminder noted
//! once, the campaign moved by conditional updates, and the activity a
//! reviewer decides on.

use model::*;

use crate::util::*;

fn grant(
    room: RoomId,
    kind: SubjectKind,
    subject: uuid::Uuid,
    role: RoomRole,
    by: UserId,
) -> Grant {
    Grant {
        id: id(GrantId::from_random),
        room_id: room,
        subject_kind: kind,
        subject_id: subject,
        role,
        expires_ms: None,
        granted_by: by,
        reason: "work package".into(),
        created_ms: 1,
    }
}

fn campaign(fallback: UserId, scope: ReviewScopeKind, value: Option<String>) -> ReviewCampaign {
    ReviewCampaign {
        id: id(ReviewId::from_random),
        name: "Q4 review".into(),
        scope,
        scope_value: value,
        room_managers: true,
        sponsors: true,
        staff: vec![fallback],
        fallback,
        starts_ms: 1_000,
        due_ms: 5_000,
        unreviewed: Unreviewed::Remove,
        every_days: Some(91),
        status: ReviewStatus::Scheduled,
        created_by: fallback,
        created_ms: 10,
        applied_ms: None,
    }
}

fn event(actor: &User, action: &str, target: String, time_ms: i64) -> Event {
    Event {
        seq: 0,
        time_ms,
        actor_user: Some(actor.id),
        actor_party: Some(actor.party_id),
        action: action.into(),
        target,
        outcome: Outcome::Allowed,
        reason: None,
        source_addr: None,
        user_agent: None,
        request_id: None,
        mark_id: None,
        detail: serde_json::json!({}),
    }
}

#[tokio::test]
async fn campaigns_cover_their_scope_and_take_decisions_only_while_open() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let owner = party("owner corp", PartyKind::Owner);
        let manager = user(owner.id, "manager@owner.example");
        let mut tx = store.begin().await.unwrap();
        tx.insert_party(&owner).await.unwrap();
        tx.insert_user(&manager).await.unwrap();
        let other = room("other", manager.id);
        tx.insert_room(&other).await.unwrap();
        let to_user = grant(
            w.room.id,
            SubjectKind::User,
            w.user.id.0,
            RoomRole::Viewer,
            manager.id,
        );
        let to_party = grant(
            other.id,
            SubjectKind::Party,
            w.party.id.0,
            RoomRole::Downloader,
            manager.id,
        );
        let to_manager = grant(
            w.room.id,
            SubjectKind::User,
            manager.id.0,
            RoomRole::Manager,
            manager.id,
        );
        let mut expired = grant(
            other.id,
            SubjectKind::User,
            w.user.id.0,
            RoomRole::Viewer,
            manager.id,
        );
        expired.expires_ms = Some(50);
        let revoked = grant(
            other.id,
            SubjectKind::User,
            w.user.id.0,
            RoomRole::Viewer,
            manager.id,
        );
        for g in [&to_user, &to_party, &to_manager, &expired, &revoked] {
            tx.insert_grant(g).await.unwrap();
        }
        assert!(tx.revoke_grant(revoked.id, 20).await.unwrap());
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let ids = |got: Vec<store::ScopedGrant>| {
            let mut v: Vec<GrantId> = got.iter().map(|g| g.grant.id).collect();
            v.sort();
            v
        };
        let sorted = |mut v: Vec<GrantId>| {
            v.sort();
            v
        };
        // Each scope, at a time after the expired grant's end.
        let table: [(ReviewScopeKind, Option<String>, Vec<GrantId>); 5] = [
            (
                ReviewScopeKind::External,
                None,
                vec![to_user.id, to_party.id],
            ),
            (
                ReviewScopeKind::Party,
                Some(w.party.id.to_string()),
                vec![to_user.id, to_party.id],
            ),
            (
                ReviewScopeKind::Room,
                Some(w.room.id.to_string()),
                vec![to_user.id, to_manager.id],
            ),
            (
                ReviewScopeKind::Room,
                Some(other.id.to_string()),
                vec![to_party.id],
            ),
            (
                ReviewScopeKind::Classification,
                Some(w.room.classification.as_str().into()),
                vec![to_user.id, to_manager.id, to_party.id],
            ),
        ];
        for (scope, value, want) in table {
            let got = tx
                .grants_in_scope(scope, value.as_deref(), 100)
                .await
                .unwrap();
            assert_eq!(ids(got.clone()), sorted(want), "{scope:?} {value:?}");
            for g in got {
                let party = if g.grant.id == to_manager.id {
                    owner.id
                } else {
                    w.party.id
                };
                assert_eq!(g.subject_party, party, "the subject's party");
            }
        }
        assert_eq!(
            tx.owner_room_managers(w.room.id, 100).await.unwrap(),
            vec![manager.id]
        );
        assert!(
            tx.owner_room_managers(other.id, 100)
                .await
                .unwrap()
                .is_empty()
        );

        let c = campaign(manager.id, ReviewScopeKind::External, None);
        tx.insert_review_campaign(&c).await.unwrap();
        assert_eq!(tx.get_review_campaign(c.id).await.unwrap(), Some(c.clone()));
        let item = ReviewItem {
            campaign_id: c.id,
            grant_id: to_user.id,
            room_id: w.room.id,
            subject_kind: SubjectKind::User,
            subject_id: w.user.id.0,
            role: RoomRole::Viewer,
            reviewers: vec![manager.id],
            decision: None,
            decided_by: None,
            decided_ms: None,
            justification: None,
            outcome: None,
        };
        tx.insert_review_item(&item).await.unwrap();
        // Scheduled: no decision yet, no lock, no reminder.
        assert!(!tx.lock_open_review(c.id).await.unwrap());
        assert!(
            !tx.decide_review_item(
                c.id,
                to_user.id,
                ReviewDecision::Revoke,
                manager.id,
                1_100,
                "left"
            )
            .await
            .unwrap()
        );
        assert!(!tx.mark_review_reminded(c.id, 1_100).await.unwrap());
        assert_eq!(
            tx.due_review_campaigns(999, 10).await.unwrap(),
            vec![],
            "not started"
        );
        assert_eq!(tx.due_review_campaigns(1_000, 10).await.unwrap().len(), 1);
        assert!(
            tx.move_review_campaign(c.id, ReviewStatus::Scheduled, ReviewStatus::Open, None)
                .await
                .unwrap()
        );
        assert!(
            !tx.move_review_campaign(c.id, ReviewStatus::Scheduled, ReviewStatus::Open, None)
                .await
                .unwrap(),
            "once"
        );
        assert_eq!(
            tx.due_review_campaigns(4_999, 10).await.unwrap(),
            vec![],
            "open, not due"
        );
        assert!(tx.lock_open_review(c.id).await.unwrap());
        assert!(
            tx.decide_review_item(
                c.id,
                to_user.id,
                ReviewDecision::Revoke,
                manager.id,
                1_100,
                "left the project"
            )
            .await
            .unwrap()
        );
        assert!(
            !tx.decide_review_item(
                c.id,
                to_party.id,
                ReviewDecision::Revoke,
                manager.id,
                1_100,
                "x"
            )
            .await
            .unwrap(),
            "not under review"
        );
        assert!(tx.mark_review_reminded(c.id, 3_000).await.unwrap());
        assert!(!tx.mark_review_reminded(c.id, 3_001).await.unwrap(), "once");
        let items = tx.review_items(c.id).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].decision, Some(ReviewDecision::Revoke));
        assert_eq!(items[0].decided_by, Some(manager.id));
        assert_eq!(items[0].justification.as_deref(), Some("left the project"));
        assert_eq!(tx.due_review_campaigns(5_000, 10).await.unwrap().len(), 1);
        assert!(
            tx.move_review_campaign(c.id, ReviewStatus::Open, ReviewStatus::Applied, Some(5_000))
                .await
                .unwrap()
        );
        tx.set_review_outcome(c.id, to_user.id, ReviewOutcome::Ended)
            .await
            .unwrap();
        assert!(!tx.lock_open_review(c.id).await.unwrap(), "applied");
        assert!(
            !tx.decide_review_item(
                c.id,
                to_user.id,
                ReviewDecision::Confirm,
                manager.id,
                5_100,
                "late"
            )
            .await
            .unwrap()
        );
        let items = tx.review_items(c.id).await.unwrap();
        assert_eq!(items[0].outcome, Some(ReviewOutcome::Ended));
        assert_eq!(
            items[0].decision,
            Some(ReviewDecision::Revoke),
            "the late word was refused"
        );
        let got = tx.get_review_campaign(c.id).await.unwrap().unwrap();
        assert_eq!(
            (got.status, got.applied_ms),
            (ReviewStatus::Applied, Some(5_000))
        );
        assert_eq!(tx.list_review_campaigns(10).await.unwrap().len(), 1);
        let of_party = tx.party_reviews(w.party.id, 10).await.unwrap();
        assert_eq!(of_party.len(), 1);
        assert_eq!(
            (
                of_party[0].campaign,
                of_party[0].grants,
                of_party[0].decided,
                of_party[0].ended
            ),
            (c.id, 1, 1, 1)
        );
        assert!(
            tx.party_reviews(owner.id, 10).await.unwrap().is_empty(),
            "no owner grant in it"
        );
        assert_eq!(tx.grant_revoked_ms(revoked.id).await.unwrap(), Some(20));
        assert_eq!(tx.grant_revoked_ms(to_user.id).await.unwrap(), None);
        tx.commit().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn room_activity_counts_what_the_subject_did_in_the_room() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let other = world(&store).await;
        let room_target = format!("room:{}", w.room.id);
        let mut tx = store.begin().await.unwrap();
        for e in [
            event(&w.user, "file.download", room_target.clone(), 100),
            event(&w.user, "file.download", room_target.clone(), 300),
            event(&w.user, "file.view", room_target.clone(), 400),
            event(&w.user, "room.view", room_target.clone(), 500),
            // Another room, another user: not counted.
            event(
                &w.user,
                "file.download",
                format!("room:{}", other.room.id),
                900,
            ),
            event(&other.user, "file.download", room_target.clone(), 950),
        ] {
            tx.append_event(&e).await.unwrap();
        }
        let mut denied = event(&w.user, "file.download", room_target.clone(), 990);
        denied.outcome = Outcome::Denied;
        tx.append_event(&denied).await.unwrap();
        // Counted from 200; the last access is any allowed event.
        let got = tx
            .room_activity(w.room.id, SubjectKind::User, w.user.id.0, 200)
            .await
            .unwrap();
        assert_eq!(
            got,
            store::RoomActivity {
                last_ms: Some(500),
                downloads: 1,
                views: 1
            }
        );
        let party = tx
            .room_activity(w.room.id, SubjectKind::Party, w.party.id.0, 0)
            .await
            .unwrap();
        assert_eq!(
            party,
            store::RoomActivity {
                last_ms: Some(500),
                downloads: 2,
                views: 1
            }
        );
        let none = tx
            .room_activity(other.room.id, SubjectKind::User, other.user.id.0, 0)
            .await
            .unwrap();
        assert_eq!(none, store::RoomActivity::default());
        tx.commit().await.unwrap();
    })
    .await;
}
