//! Alerts and the watcher's marks: one alert per entity, day and kind
//! (whichever node raises it first), listed newest first and by status,
//! feedback kept on the alert, and `watch_state` that only moves forward.

use model::*;
use store::WatchState;

use crate::util::*;

fn alert(w: &World, day: i64, kind: &str, raised_ms: i64) -> Alert {
    Alert {
        id: id(AlertId::from_random),
        entity: AlertEntity::User,
        entity_id: w.user.id.0,
        party_id: Some(w.party.id),
        day,
        raised_ms,
        kind: kind.into(),
        score_milli: 33_000,
        sentence: "user `u` downloaded 40 files".into(),
        detail: serde_json::json!({"contributions": [{"feature": "download_files", "value": 40.0}]}),
        status: AlertStatus::Open,
        feedback_reason: None,
        feedback_by: None,
        feedback_ms: None,
    }
}

#[tokio::test]
async fn alerts_are_raised_once_and_keep_their_feedback() {
    for_each_backend(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let burst = alert(&w, 20_000, "burst", 10);
        let day = alert(&w, 20_000, "day", 20);
        assert!(tx.insert_alert(&burst).await.unwrap());
        assert!(tx.insert_alert(&day).await.unwrap());
        let again = alert(&w, 20_000, "burst", 30);
        assert!(!tx.insert_alert(&again).await.unwrap(), "raised already");
        assert!(
            tx.insert_alert(&alert(&w, 20_001, "burst", 40))
                .await
                .unwrap()
        );
        assert_eq!(tx.get_alert(burst.id).await.unwrap(), Some(burst.clone()));
        assert_eq!(tx.get_alert(again.id).await.unwrap(), None);
        let listed = tx.list_alerts(None, 2).await.unwrap();
        assert_eq!(listed.len(), 2, "limited");
        assert_eq!(listed[1], day, "newest first");

        assert!(
            tx.set_alert_feedback(
                burst.id,
                AlertStatus::Dismissed,
                Some("planned"),
                w.user.id,
                50
            )
            .await
            .unwrap()
        );
        assert!(
            !tx.set_alert_feedback(again.id, AlertStatus::Confirmed, None, w.user.id, 50)
                .await
                .unwrap()
        );
        let dismissed = tx
            .list_alerts(Some(AlertStatus::Dismissed), 10)
            .await
            .unwrap();
        assert_eq!(dismissed.len(), 1);
        let got = &dismissed[0];
        assert_eq!(
            (
                got.id,
                got.feedback_reason.as_deref(),
                got.feedback_by,
                got.feedback_ms
            ),
            (burst.id, Some("planned"), Some(w.user.id), Some(50))
        );
        assert_eq!(
            tx.list_alerts(Some(AlertStatus::Open), 10)
                .await
                .unwrap()
                .len(),
            2
        );

        let table = [
            ((0, -1), (5, 20_000), (5, 20_000)),
            ((5, 20_000), (3, 20_001), (5, 20_001)),
            ((5, 20_001), (9, 19_000), (9, 20_001)),
        ];
        for (before, to, want) in table {
            let state = |(scored_seq, closed_day)| WatchState {
                scored_seq,
                closed_day,
            };
            assert_eq!(tx.watch_state().await.unwrap(), state(before));
            tx.advance_watch_state(state(to)).await.unwrap();
            assert_eq!(tx.watch_state().await.unwrap(), state(want), "{to:?}");
        }
        tx.commit().await.unwrap();
    })
    .await;
}
