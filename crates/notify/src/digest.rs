//! Notifications by e-mail. Every notification the platform makes is written
//! to `notifications` in the transaction of the change that causes it
//! (`kernel::events::notify`); each pass of the mail worker hands those not
//! yet mailed to the outbox, marking each in the same transaction as its
//! message is queued (a conditional UPDATE: one worker in all the nodes wins),
//! so none is lost and none is mailed twice.
//!
//! Security-critical notifications (alerts, data-loss and antivirus holds,
//! offboarding, overdue attestations, incidents) are mailed at once. The rest follow the user's
//! choice ([`MailDigest`]): each at once (the default), or one digest a day
//! listing everything since the last. Notifications of a disabled user, of a
//! user whose address cannot take mail, and those older than two days when a
//! pass first sees them (made while mail was off) are passed over unmailed.

use kernel::{App, AppError};
use model::{MailAddress, MailDigest, MailTemplate, Notification, UserId};

/// A day, in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// Notifications older than this when a pass first sees them are not mailed.
pub const STALE_MS: i64 = 2 * DAY_MS;
/// Users looked at per pass.
const USERS_PER_PASS: i64 = 200;

/// Whether notifications of `kind` are mailed at once whatever the user chose.
pub fn critical(kind: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "watch.",
        "dlp.",
        "av.",
        "incident.",
        "hold.",
        "attestation.",
    ];
    const KINDS: [&str; 4] = [
        "party.offboard",
        "user.offboard",
        "user.reset_mfa",
        "user.unlock",
    ];
    PREFIXES.iter().any(|p| kind.starts_with(p)) || KINDS.contains(&kind)
}

/// The subject of a notification's message: its sentence's start.
fn subject(n: &Notification) -> String {
    let first = n.message.split(". ").next().unwrap_or_default();
    let mut s: String = first.chars().take(90).collect();
    if s.len() < first.len() {
        s.push('…');
    }
    format!("Custody: {s}")
}

/// What one pass queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queued {
    /// Messages for one notification each.
    pub single: usize,
    /// Daily digests.
    pub digests: usize,
    /// Notifications passed over unmailed.
    pub skipped: usize,
}

/// One pass: the notifications not yet mailed go to the outbox (or wait for
/// their user's next daily digest).
pub async fn mail_notifications(app: &App) -> Result<Queued, AppError> {
    let mut done = Queued::default();
    let users = app
        .store()
        .read()
        .await?
        .users_with_unmailed(USERS_PER_PASS)
        .await?;
    for user in users {
        mail_user(app, user, &mut done).await?;
    }
    Ok(done)
}

/// Queues what is due of `user`'s notifications, in one transaction.
async fn mail_user(app: &App, user_id: UserId, done: &mut Queued) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store().begin().await?;
    let user = tx.get_user(user_id).await?;
    let pending = tx.unmailed_notifications(user_id).await?;
    let (choice, last_digest) = tx.mail_preference(user_id).await?;
    let to = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| MailAddress::parse(&u.email).ok());
    let mut daily = Vec::new();
    for n in pending {
        let stale = now.saturating_sub(n.created_ms) > STALE_MS;
        match &to {
            Some(to) if !stale && (critical(&n.kind) || choice == MailDigest::Immediate) => {
                if tx.mark_notification_mailed(n.id, now).await? {
                    let template = MailTemplate::Notification {
                        subject: subject(&n),
                        message: n.message.clone(),
                    };
                    kernel::outbox::enqueue(&mut tx, now, to, &template).await?;
                    done.single += 1;
                }
            }
            Some(_) if !stale => daily.push(n),
            _ => {
                if tx.mark_notification_mailed(n.id, now).await? {
                    done.skipped += 1;
                }
            }
        }
    }
    // A digest is due a day after the last one (or after the oldest waiting
    // notification, before the first).
    let since = last_digest.or_else(|| daily.first().map(|n| n.created_ms));
    let due = since.is_some_and(|t| now.saturating_sub(t) >= DAY_MS);
    if let (Some(to), true, false) = (&to, due, daily.is_empty()) {
        let mut items = Vec::with_capacity(daily.len());
        for n in &daily {
            if tx.mark_notification_mailed(n.id, now).await? {
                items.push((subject(n).replacen("Custody: ", "", 1), n.message.clone()));
            }
        }
        if !items.is_empty() {
            kernel::outbox::enqueue(&mut tx, now, to, &MailTemplate::Digest { items }).await?;
            tx.set_last_digest(user_id, now).await?;
            done.digests += 1;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_notices_are_critical_and_reminders_are_not() {
        for (kind, want) in [
            ("watch.alert", true),
            ("dlp.hold", true),
            ("party.offboard", true),
            ("user.offboard", true),
            ("attestation.escalate", true),
            ("incident.open", true),
            ("incident.message", true),
            ("review.remind", false),
            ("agreement.reminder", false),
            ("course.reminder", false),
            ("assessment.send", false),
        ] {
            assert_eq!(critical(kind), want, "{kind}");
        }
    }
}
