//! The mail outbox: messages written in the transaction of the change that
//! causes them, claimed by one mail worker at a time through a conditional
//! UPDATE (a fresh attempt id and a lease), then marked sent, rescheduled or
//! given up on — each only by the attempt that holds the message.

use sqlx::any::AnyRow;

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A message to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMail {
    pub id: MailId,
    pub created_ms: i64,
    /// `addr` or `"Name" <addr>`, as [`MailAddress`]'s `Display` writes it.
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

/// A message claimed by one attempt: what the worker sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedMail {
    pub mail: NewMail,
    pub attempt: MailAttemptId,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// One message as the admin's outbox page lists it (no bodies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: MailId,
    pub created_ms: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub next_ms: i64,
    pub sent_ms: Option<i64>,
    pub failed_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// How the outbox stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub waiting: i64,
    pub sent: i64,
    pub failed: i64,
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The SMTP server took the message.
    Sent,
    /// Try again at this time.
    Retry(i64),
    /// Give up.
    Failed,
}

fn new_mail(row: &AnyRow) -> Result<NewMail, StoreError> {
    Ok(NewMail {
        id: row.parsed("id")?,
        created_ms: row.int("created_ms")?,
        recipient: row.text("recipient")?,
        kind: row.text("kind")?,
        subject: row.text("subject")?,
        body_text: row.text("body_text")?,
        body_html: row.text("body_html")?,
    })
}

fn entry(row: &AnyRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        id: row.parsed("id")?,
        created_ms: row.int("created_ms")?,
        recipient: row.text("recipient")?,
        kind: row.text("kind")?,
        subject: row.text("subject")?,
        attempts: row.int("attempts")?,
        next_ms: row.int("next_ms")?,
        sent_ms: row.opt_int("sent_ms")?,
        failed_ms: row.opt_int("failed_ms")?,
        last_error: row.opt_text("last_error")?,
    })
}

impl Tx {
    /// Queues `mail`, due at once.
    pub async fn insert_mail(&mut self, mail: &NewMail) -> Result<(), StoreError> {
        sql(
            "INSERT INTO outbox (id, created_ms, recipient, kind, subject, body_text, \
             body_html, attempts, next_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $2)",
        )
        .bind(mail.id.to_string())
        .bind(mail.created_ms)
        .bind(mail.recipient.clone())
        .bind(mail.kind.clone())
        .bind(mail.subject.clone())
        .bind(mail.body_text.clone())
        .bind(mail.body_html.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Up to `limit` messages due at `now` that no live lease holds, oldest first.
    pub async fn due_mail(&mut self, now: i64, limit: i64) -> Result<Vec<MailId>, StoreError> {
        sql(
            "SELECT id FROM outbox WHERE sent_ms IS NULL AND failed_ms IS NULL \
             AND next_ms <= $1 AND (leased_until_ms IS NULL OR leased_until_ms <= $1) \
             ORDER BY next_ms, created_ms, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("id"))
        .collect()
    }

    /// Claims message `id` for `attempt` until `lease_until` when it is still
    /// due and unheld at `now`, recording the attempt; `None` when another
    /// worker got it first or it is no longer due.
    pub async fn claim_mail(
        &mut self,
        id: MailId,
        attempt: MailAttemptId,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<ClaimedMail>, StoreError> {
        let done = sql("UPDATE outbox SET attempt_id = $1, leased_until_ms = $2, \
                        attempts = attempts + 1 \
                        WHERE id = $3 AND sent_ms IS NULL AND failed_ms IS NULL \
                        AND next_ms <= $4 AND (leased_until_ms IS NULL OR leased_until_ms <= $4)")
        .bind(attempt.to_string())
        .bind(lease_until)
        .bind(id.to_string())
        .bind(now)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        sql("INSERT INTO outbox_attempts (id, mail_id, started_ms) VALUES ($1, $2, $3)")
            .bind(attempt.to_string())
            .bind(id.to_string())
            .bind(now)
            .execute(self.conn())
            .await?;
        let row = sql("SELECT * FROM outbox WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.conn())
            .await?;
        Ok(Some(ClaimedMail {
            mail: new_mail(&row)?,
            attempt,
            attempts: row.int("attempts")?,
        }))
    }

    /// Records how `attempt` on message `id` ended. Returns false (and changes
    /// nothing) when the attempt no longer holds the message.
    pub async fn finish_mail_attempt(
        &mut self,
        id: MailId,
        attempt: MailAttemptId,
        now: i64,
        outcome: AttemptOutcome,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (query, name) = match outcome {
            AttemptOutcome::Sent => (
                sql(
                    "UPDATE outbox SET sent_ms = $1, leased_until_ms = NULL, last_error = $2, \
                     body_text = '', body_html = '' WHERE id = $3 AND attempt_id = $4 \
                     AND sent_ms IS NULL AND failed_ms IS NULL",
                )
                .bind(now),
                "sent",
            ),
            AttemptOutcome::Retry(next) => (
                sql(
                    "UPDATE outbox SET next_ms = $1, leased_until_ms = NULL, last_error = $2 \
                     WHERE id = $3 AND attempt_id = $4 AND sent_ms IS NULL AND failed_ms IS NULL",
                )
                .bind(next),
                "retry",
            ),
            AttemptOutcome::Failed => (
                sql(
                    "UPDATE outbox SET failed_ms = $1, leased_until_ms = NULL, last_error = $2, \
                     body_text = '', body_html = '' WHERE id = $3 AND attempt_id = $4 \
                     AND sent_ms IS NULL AND failed_ms IS NULL",
                )
                .bind(now),
                "failed",
            ),
        };
        let done = query
            .bind(error.map(str::to_owned))
            .bind(id.to_string())
            .bind(attempt.to_string())
            .execute(self.conn())
            .await?;
        // An attempt's outcome is written once: a late one changes nothing.
        sql(
            "UPDATE outbox_attempts SET finished_ms = $1, outcome = $2, error = $3 \
             WHERE id = $4 AND finished_ms IS NULL",
        )
        .bind(now)
        .bind(name)
        .bind(error.map(str::to_owned))
        .bind(attempt.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Message `id` (its bodies are empty once it was sent or given up on).
    pub async fn get_mail(&mut self, id: MailId) -> Result<Option<NewMail>, StoreError> {
        sql("SELECT * FROM outbox WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(new_mail)
            .transpose()
    }

    /// The newest `limit` messages, newest first.
    pub async fn list_outbox(&mut self, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        sql("SELECT * FROM outbox ORDER BY created_ms DESC, id LIMIT $1")
            .bind(limit)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(entry)
            .collect()
    }

    /// How many messages wait, were sent and were given up on.
    pub async fn outbox_counts(&mut self) -> Result<OutboxCounts, StoreError> {
        let row = sql("SELECT \
             COALESCE(SUM(CASE WHEN sent_ms IS NULL AND failed_ms IS NULL THEN 1 ELSE 0 END), 0) AS waiting, \
             COALESCE(SUM(CASE WHEN sent_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS sent, \
             COALESCE(SUM(CASE WHEN failed_ms IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed \
             FROM outbox")
        .fetch_one(self.conn())
        .await?;
        Ok(OutboxCounts {
            waiting: row.int("waiting")?,
            sent: row.int("sent")?,
            failed: row.int("failed")?,
        })
    }

    /// Attempts of message `id`: `(attempt, outcome)` in the order they began.
    pub async fn mail_attempts(
        &mut self,
        id: MailId,
    ) -> Result<Vec<(MailAttemptId, Option<String>)>, StoreError> {
        sql("SELECT id, outcome FROM outbox_attempts WHERE mail_id = $1 ORDER BY started_ms, id")
            .bind(id.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| Ok((row.parsed("id")?, row.opt_text("outcome")?)))
            .collect()
    }

    // ---- notifications by e-mail

    /// Users with notifications not yet handed to the outbox, the longest
    /// waiting first; at most `limit`.
    pub async fn users_with_unmailed(&mut self, limit: i64) -> Result<Vec<UserId>, StoreError> {
        sql(
            "SELECT user_id, MIN(created_ms) AS first FROM notifications \
             WHERE mailed_ms IS NULL GROUP BY user_id ORDER BY first, user_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("user_id"))
        .collect()
    }

    /// The notifications of `user` not yet handed to the outbox, oldest first.
    pub async fn unmailed_notifications(
        &mut self,
        user: UserId,
    ) -> Result<Vec<Notification>, StoreError> {
        sql(
            "SELECT * FROM notifications WHERE user_id = $1 AND mailed_ms IS NULL \
             ORDER BY created_ms, id",
        )
        .bind(user.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(super::conditions::notification)
        .collect()
    }

    /// Marks notification `id` handed to the outbox at `now`; false when it
    /// already was (another node's worker took it).
    pub async fn mark_notification_mailed(
        &mut self,
        id: NotificationId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sql("UPDATE notifications SET mailed_ms = $1 WHERE id = $2 AND mailed_ms IS NULL")
                .bind(now)
                .bind(id.to_string())
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `user`'s choice of mail for notifications that are not
    /// security-critical, and when their last daily digest was queued.
    pub async fn mail_preference(
        &mut self,
        user: UserId,
    ) -> Result<(MailDigest, Option<i64>), StoreError> {
        let row = sql("SELECT digest, last_digest_ms FROM mail_preferences WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(self.conn())
            .await?;
        match row {
            Some(row) => Ok((
                row.name("digest", MailDigest::parse)?,
                row.opt_int("last_digest_ms")?,
            )),
            None => Ok((MailDigest::Immediate, None)),
        }
    }

    /// Sets `user`'s choice of mail (the time of the last digest kept).
    pub async fn set_mail_preference(
        &mut self,
        user: UserId,
        digest: MailDigest,
    ) -> Result<(), StoreError> {
        sql(
            "INSERT INTO mail_preferences (user_id, digest, last_digest_ms) VALUES ($1, $2, NULL) \
             ON CONFLICT (user_id) DO UPDATE SET digest = excluded.digest",
        )
        .bind(user.to_string())
        .bind(digest.as_str())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records that `user`'s daily digest was queued at `now`.
    pub async fn set_last_digest(&mut self, user: UserId, now: i64) -> Result<(), StoreError> {
        sql(
            "INSERT INTO mail_preferences (user_id, digest, last_digest_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET last_digest_ms = excluded.last_digest_ms",
        )
        .bind(user.to_string())
        .bind(MailDigest::Daily.as_str())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
