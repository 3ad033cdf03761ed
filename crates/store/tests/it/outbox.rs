//! The mail outbox on both backends: due messages, one claim per message
//! whoever asks, outcomes recorded only by the attempt that holds the message,
//! bodies blanked once sent, counts.

use model::*;
use store::{AttemptOutcome, NewMail, OutboxCounts};

use crate::util::*;

fn mail(n: i64) -> NewMail {
    NewMail {
        id: id(MailId::from_random),
        created_ms: 1_000 + n,
        recipient: format!("\"Ana {n}\" <ana+{n}@vendor.example>"),
        kind: "notification".into(),
        subject: format!("Notice {n}"),
        body_text: "the code is 123456\n".into(),
        body_html: "<p>the code is 123456</p>".into(),
    }
}

#[tokio::test]
async fn the_outbox_claims_each_message_once_and_records_outcomes() {
    for_each_backend(|store| async move {
        let (a, b) = (mail(1), mail(2));
        let mut tx = store.begin().await.unwrap();
        tx.insert_mail(&a).await.unwrap();
        tx.insert_mail(&b).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.due_mail(999, 10).await.unwrap(), vec![]);
        assert_eq!(tx.due_mail(5_000, 10).await.unwrap(), vec![a.id, b.id]);
        let first = id(MailAttemptId::from_random);
        let claimed = tx
            .claim_mail(a.id, first, 5_000, 6_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.mail.clone(), claimed.attempts), (a.clone(), 1));
        // Held: neither due nor claimable until the lease ends.
        let second = id(MailAttemptId::from_random);
        assert!(
            tx.claim_mail(a.id, second, 5_500, 7_000)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(tx.due_mail(5_500, 10).await.unwrap(), vec![b.id]);
        // A retry by the holder sets the next time and frees it.
        let held = tx
            .finish_mail_attempt(
                a.id,
                first,
                5_600,
                AttemptOutcome::Retry(9_000),
                Some("421 busy"),
            )
            .await
            .unwrap();
        assert!(held);
        assert_eq!(tx.due_mail(8_999, 10).await.unwrap(), vec![b.id]);
        let claimed = tx
            .claim_mail(a.id, second, 9_000, 10_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempts, 2);
        // The earlier attempt no longer holds it.
        let late = tx
            .finish_mail_attempt(a.id, first, 9_100, AttemptOutcome::Sent, None)
            .await
            .unwrap();
        assert!(!late);
        assert!(
            tx.finish_mail_attempt(a.id, second, 9_200, AttemptOutcome::Sent, None)
                .await
                .unwrap()
        );
        // Sent: never due again, bodies gone.
        assert_eq!(tx.due_mail(99_999, 10).await.unwrap(), vec![b.id]);
        let listed = tx.list_outbox(10).await.unwrap();
        let sent = listed.iter().find(|e| e.id == a.id).unwrap();
        assert_eq!((sent.sent_ms, sent.attempts), (Some(9_200), 2));
        let attempts = tx.mail_attempts(a.id).await.unwrap();
        assert_eq!(
            attempts,
            vec![(first, Some("retry".into())), (second, Some("sent".into()))]
        );
        let third = id(MailAttemptId::from_random);
        tx.claim_mail(b.id, third, 10_000, 11_000)
            .await
            .unwrap()
            .unwrap();
        tx.finish_mail_attempt(
            b.id,
            third,
            10_001,
            AttemptOutcome::Failed,
            Some("550 no such user"),
        )
        .await
        .unwrap();
        assert_eq!(
            tx.outbox_counts().await.unwrap(),
            OutboxCounts {
                waiting: 0,
                sent: 1,
                failed: 1
            }
        );
        tx.commit().await.unwrap();
    })
    .await;
}

/// Bodies (which may hold a one-time code) do not stay once a message is done.
#[tokio::test]
async fn sent_and_failed_messages_keep_no_body() {
    for_each_backend(|store| async move {
        let m = mail(1);
        let mut tx = store.begin().await.unwrap();
        tx.insert_mail(&m).await.unwrap();
        let at = id(MailAttemptId::from_random);
        tx.claim_mail(m.id, at, 2_000, 3_000)
            .await
            .unwrap()
            .unwrap();
        tx.finish_mail_attempt(m.id, at, 2_001, AttemptOutcome::Sent, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.read().await.unwrap();
        assert_eq!(tx.outbox_counts().await.unwrap().sent, 1);
        let kept = tx.get_mail(m.id).await.unwrap().unwrap();
        assert_eq!((kept.body_text.as_str(), kept.body_html.as_str()), ("", ""));
        assert_eq!(kept.subject, m.subject);
    })
    .await;
}
