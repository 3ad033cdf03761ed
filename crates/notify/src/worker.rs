//! The mail worker: drains the outbox on every node. Each due message is
//! claimed in a transaction of its own (a fresh attempt id and a lease, by a
//! conditional UPDATE: one worker in all the nodes wins), sent, and its
//! outcome recorded by that attempt only. A refused or unreachable server
//! schedules the next attempt with a growing delay; a permanent refusal, or
//! too many attempts, gives the message up (recorded as a `mail.fail` event).
//! A crash between the claim and the outcome leaves the lease to run out; the
//! next attempt takes a new id, so nothing is lost and no attempt id is sent
//! twice.

use std::time::Duration;

use kernel::events::{Fact, RequestMeta, record};
use kernel::secrets::random;
use kernel::{App, AppError, EventName};
use model::{MailAttemptId, MailId};
use serde_json::json;
use store::AttemptOutcome;

use crate::smtp::Mailer;

/// When attempts are made.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; each further failure doubles it.
    pub first_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// Attempts before the message is given up on.
    pub max_attempts: i64,
    /// How long a claimed message is held by its attempt: longer than an SMTP
    /// conversation can take, so only a crashed attempt's lease runs out.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
            max_attempts: 30,
            lease: Duration::from_secs(300),
            batch: 50,
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl RetryPolicy {
    /// The delay after `attempts` failed attempts (1 → `first_delay`).
    pub fn delay(&self, attempts: i64) -> i64 {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
        ms(self.first_delay)
            .saturating_mul(1_i64 << doublings.min(40))
            .min(ms(self.max_delay))
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// One pass over the outbox: every message due now is attempted once.
/// A pass ends early (counting what it did) when the store fails.
pub async fn drain_outbox(
    app: &App,
    mailer: &Mailer,
    policy: &RetryPolicy,
) -> Result<Drained, AppError> {
    let mut done = Drained::default();
    let due = app
        .store()
        .read()
        .await?
        .due_mail(app.now(), policy.batch)
        .await?;
    for id in due {
        let now = app.now();
        let attempt = MailAttemptId::from_random(random()?);
        let mut tx = app.store().begin().await?;
        let claimed = tx
            .claim_mail(id, attempt, now, now.saturating_add(ms(policy.lease)))
            .await?;
        tx.commit().await?;
        let Some(claimed) = claimed else { continue };
        let result = mailer.send(&claimed.mail, attempt).await;
        let now = app.now();
        let (outcome, error) = match &result {
            Ok(()) => (AttemptOutcome::Sent, None),
            Err(e) if e.permanent || claimed.attempts >= policy.max_attempts => {
                (AttemptOutcome::Failed, Some(e.message.as_str()))
            }
            Err(e) => (
                AttemptOutcome::Retry(now.saturating_add(policy.delay(claimed.attempts))),
                Some(e.message.as_str()),
            ),
        };
        finish(app, id, attempt, now, outcome, error, &claimed).await?;
        match outcome {
            AttemptOutcome::Sent => done.sent += 1,
            AttemptOutcome::Retry(_) => done.retried += 1,
            AttemptOutcome::Failed => done.failed += 1,
        }
    }
    Ok(done)
}

/// Records how the attempt ended (and, when given up, the `mail.fail` event).
async fn finish(
    app: &App,
    id: MailId,
    attempt: MailAttemptId,
    now: i64,
    outcome: AttemptOutcome,
    error: Option<&str>,
    claimed: &store::ClaimedMail,
) -> Result<(), AppError> {
    let mut tx = app.store().begin().await?;
    let held = tx
        .finish_mail_attempt(id, attempt, now, outcome, error)
        .await?;
    if held && outcome == AttemptOutcome::Failed {
        let fact = Fact::allowed(None, EventName::MailFail, format!("mail:{id}")).with(json!({
            "kind": claimed.mail.kind,
            "attempts": claimed.attempts,
            "error": error.unwrap_or_default(),
        }));
        record(&mut tx, &RequestMeta::default(), now, fact).await?;
    }
    tx.commit().await?;
    if !held {
        tracing::warn!(mail = %id, "a mail attempt outlived its lease; its outcome was not recorded");
    }
    Ok(())
}

/// Starts the task that, every `every`, hands the notifications due for mail
/// to the outbox (`digest.rs`) and drains the outbox (and logs what failed;
/// the next pass tries again).
pub fn spawn_mailer(
    app: App,
    mailer: Mailer,
    policy: RetryPolicy,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match crate::digest::mail_notifications(&app).await {
                Ok(q) if q == crate::digest::Queued::default() => {}
                Ok(q) => tracing::info!(
                    single = q.single,
                    digests = q.digests,
                    skipped = q.skipped,
                    "notifications queued for mail"
                ),
                Err(e) => tracing::error!(error = %e, "queueing notifications for mail failed"),
            }
            match drain_outbox(&app, &mailer, &policy).await {
                Ok(d) if d == Drained::default() => {}
                Ok(d) => tracing::info!(
                    sent = d.sent,
                    retried = d.retried,
                    failed = d.failed,
                    "mail"
                ),
                Err(e) => tracing::error!(error = %e, "mail worker failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_growing() {
        let p = RetryPolicy {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        for (attempts, want_s) in [
            (0, 30),
            (1, 30),
            (2, 60),
            (3, 120),
            (5, 480),
            (6, 600),
            (99, 600),
        ] {
            assert_eq!(p.delay(attempts), want_s * 1000, "after {attempts}");
        }
    }
}
