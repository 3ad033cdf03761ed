//! Expiry made visible. Access never waits for this module: an agreement past
//! its end, an expired grant, certification, training or risk tier is refused
//! from its end on because every decision reads the live state. What the sweep
//! adds is the record and the word: once an end has passed, one event
//! (`agreement.expire`, `grant.expire`, `party.certification_expire`,
//! `user.training_expire`, `party.tier_lapse`) and a notification to each
//! person concerned, both in the transaction that marks the end as noticed —
//! so every end is recorded once, whichever node's sweep sees it first. Before
//! a verified certificate's end and a risk tier's lapse, 30 and 7 days ahead,
//! a reminder (`certification.reminder`, `party.tier_reminder`) goes the same
//! way to the party's users and its sponsor (and, for a tier, the owner's
//! admins, who send the re-assessment); before a course completion's end
//! (`course.reminder`), to the user and their party's sponsor. A course
//! completion's end is recorded as `course.expire`. Reading a notification is a
//! change too: it commits with its `notification.read` event.

use model::*;
use serde_json::json;

use kernel::events::{Fact, RequestMeta, notify, record};
use kernel::{App, AppError, Authorized, EventName, System, act};

use crate::Agreements;

/// Most ends of each kind handled by one sweep (the next sweep takes the rest).
const SWEEP_BATCH: i64 = 500;
/// Most notifications listed at once.
const MAX_LISTED: i64 = 200;

/// `YYYY-MM-DD HH:MM UTC` of a Unix-milliseconds time.
fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            t.format(&f).ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// How many days before a certificate's end its reminders go out.
const REMINDER_DAYS: [i64; 2] = [30, 7];

/// Records `notice`'s event and its notifications in `tx`.
async fn send(tx: &mut store::Tx, now: i64, notice: Notice) -> Result<(), AppError> {
    record(
        tx,
        &RequestMeta::default(),
        now,
        Fact::allowed(None, notice.action, notice.target.clone()).with(notice.detail),
    )
    .await?;
    for (user, message) in notice.tell {
        let kind = notice.action.as_str();
        notify(tx, user, now, kind, notice.target.clone(), message).await?;
    }
    Ok(())
}

/// The users of a party to tell about its certificate, with its sponsor (each once).
async fn party_and_sponsor(
    tx: &mut store::Tx,
    party: PartyId,
) -> Result<(Vec<User>, Option<User>), AppError> {
    let users = members(tx, party).await?;
    let sponsor = match tx.party_sponsor(party).await? {
        Some(id) => tx.get_user(id).await?.filter(|u| !u.disabled),
        None => None,
    };
    Ok((users, sponsor))
}

/// What to record about an end of `kind` coming in `r.days` days, and whom to tell.
async fn reminder(
    tx: &mut store::Tx,
    kind: ExpiryKind,
    r: &store::DueReminder,
) -> Result<Option<Notice>, AppError> {
    match kind {
        ExpiryKind::Certification => certification_reminder(tx, r).await,
        ExpiryKind::Tier => tier_reminder(tx, r).await,
        ExpiryKind::Course => course_reminder(tx, r).await,
        ExpiryKind::Agreement | ExpiryKind::Grant | ExpiryKind::Training => Ok(None),
    }
}

/// What to record about a certificate's end coming in `r.days` days, and whom to tell.
async fn certification_reminder(
    tx: &mut store::Tx,
    r: &store::DueReminder,
) -> Result<Option<Notice>, AppError> {
    let Some(cert) = tx.get_certification(CertificationId(r.subject_id)).await? else {
        return Ok(None);
    };
    let Some(party) = tx.get_party(cert.party_id).await? else {
        return Ok(None);
    };
    let at = utc_date(cert.valid_until_ms.saturating_sub(1));
    let title = cert.title();
    let (users, sponsor) = party_and_sponsor(tx, party.id).await?;
    let mut tell: Vec<(UserId, String)> = users
        .iter()
        .map(|u| {
            let m = format!(
                "Your organization's {title} certificate ends on {at}: renew it and send the new one, or rooms that require it close to you."
            );
            (u.id, m)
        })
        .collect();
    if let Some(s) = sponsor {
        tell.push((
            s.id,
            format!(
                "The {title} certificate of {}, whom you sponsor, ends on {at}.",
                party.name
            ),
        ));
    }
    Ok(Some(Notice {
        action: EventName::CertificationReminder,
        target: format!("certification:{}", cert.id),
        detail: json!({"party": party.id, "standard": cert.standard,
            "valid_until_ms": cert.valid_until_ms, "days": r.days}),
        tell,
    }))
}

/// What to record about a party's risk tier lapsing in `r.days` days: its
/// users learn that a re-assessment is coming, its sponsor and the owner's
/// admins that one is due (they send the questionnaire).
async fn tier_reminder(
    tx: &mut store::Tx,
    r: &store::DueReminder,
) -> Result<Option<Notice>, AppError> {
    let Some(party) = tx.get_party(PartyId(r.subject_id)).await? else {
        return Ok(None);
    };
    let tier = model::diligence::tier_name(party.tier);
    let at = utc_date(r.until_ms.saturating_sub(1));
    let (users, sponsor) = party_and_sponsor(tx, party.id).await?;
    let mut tell: Vec<(UserId, String)> = users
        .iter()
        .map(|u| {
            let m = format!(
                "Your organization's risk assessment ends on {at}: expect a new questionnaire; until it is reviewed, rooms that need an assessed supplier close to you."
            );
            (u.id, m)
        })
        .collect();
    for u in staff(tx, sponsor).await? {
        tell.push((
            u.id,
            format!(
                "The risk tier `{tier}` of {} lapses on {at}: send it a questionnaire for its re-assessment.",
                party.name
            ),
        ));
    }
    Ok(Some(Notice {
        action: EventName::PartyTierReminder,
        target: format!("party:{}", party.id),
        detail: json!({"tier": tier, "tier_until_ms": r.until_ms, "days": r.days}),
        tell,
    }))
}

/// The owner's admins and a party's sponsor, each once.
async fn staff(tx: &mut store::Tx, sponsor: Option<User>) -> Result<Vec<User>, AppError> {
    let mut staff = admins(tx).await?;
    staff.extend(sponsor);
    staff.sort_by_key(|u| u.id);
    staff.dedup_by_key(|u| u.id);
    Ok(staff)
}

/// A completion, its course and its user, and the user's party's sponsor
/// (when enabled and not the user); `None` when one of them is gone.
async fn completion_parts(
    tx: &mut store::Tx,
    id: CompletionId,
) -> Result<Option<(CourseCompletion, Course, User, Option<User>)>, AppError> {
    let Some(c) = tx.get_completion(id).await? else {
        return Ok(None);
    };
    let Some(course) = tx.get_course(c.course_id).await? else {
        return Ok(None);
    };
    let Some(user) = tx.get_user(c.user_id).await? else {
        return Ok(None);
    };
    let sponsor = match tx.party_sponsor(user.party_id).await? {
        Some(id) if id != user.id => tx.get_user(id).await?.filter(|u| !u.disabled),
        _ => None,
    };
    Ok(Some((c, course, user, sponsor)))
}

/// What to record about a course completion's end coming in `r.days` days,
/// and whom to tell: the user and their party's sponsor.
async fn course_reminder(
    tx: &mut store::Tx,
    r: &store::DueReminder,
) -> Result<Option<Notice>, AppError> {
    let id = CompletionId(r.subject_id);
    let Some((c, course, user, sponsor)) = completion_parts(tx, id).await? else {
        return Ok(None);
    };
    let at = utc_date(c.valid_until_ms);
    let mut tell = vec![(
        user.id,
        format!(
            "Your completion of the course “{}” lapses on {at}: take it again before then, or rooms that require it close to you.",
            course.title
        ),
    )];
    if let Some(s) = sponsor {
        tell.push((
            s.id,
            format!(
                "The completion of the course “{}” by {}, whose party you sponsor, lapses on {at}.",
                course.title, user.email
            ),
        ));
    }
    Ok(Some(Notice {
        action: EventName::CourseReminder,
        target: format!("completion:{}", c.id),
        detail: json!({"course": course.id, "user": user.id,
            "valid_until_ms": c.valid_until_ms, "days": r.days}),
        tell,
    }))
}

/// What to record and whom to tell about one end.
struct Notice {
    action: EventName,
    target: String,
    detail: serde_json::Value,
    /// (user, message) pairs.
    tell: Vec<(UserId, String)>,
}

impl Agreements<'_> {
    /// Records every end that has passed and is not yet recorded, and tells
    /// the people concerned. Returns how many ends it recorded.
    pub async fn sweep_expiries(&self) -> Result<usize, AppError> {
        let now = self.now();
        let due = self
            .store()
            .read()
            .await?
            .unnoticed_expiries(now, SWEEP_BATCH)
            .await?;
        let mut recorded = 0;
        for e in due {
            let mut tx = self.store().begin().await?;
            // Another node got there first: nothing more to say.
            if !tx.record_expiry(&e, now).await? {
                continue;
            }
            let Some(notice) = notice(&mut tx, &e).await? else {
                // The subject vanished between the two reads: keep the mark.
                tx.commit().await?;
                continue;
            };
            send(&mut tx, now, notice).await?;
            tx.commit().await?;
            recorded += 1;
        }
        Ok(recorded + self.sweep_reminders(now).await?)
    }

    /// Records a reminder for every verified certificate, every party's risk
    /// tier and every course completion that counts (the latest of its user
    /// and course) whose end is 30 or 7 days away or less (once per threshold;
    /// one that is recorded late gets only the nearest), and tells the
    /// party's users and sponsor (for a tier, the owner's admins too; for a
    /// completion, its user and their party's sponsor).
    async fn sweep_reminders(&self, now: i64) -> Result<usize, AppError> {
        let mut recorded = 0;
        for kind in [
            ExpiryKind::Certification,
            ExpiryKind::Tier,
            ExpiryKind::Course,
        ] {
            let due = self
                .store()
                .read()
                .await?
                .due_reminders(kind, now, &REMINDER_DAYS, SWEEP_BATCH)
                .await?;
            for r in due {
                let mut tx = self.store().begin().await?;
                if !tx.record_reminder(kind, &r, now).await? {
                    continue;
                }
                if let Some(notice) = reminder(&mut tx, kind, &r).await? {
                    send(&mut tx, now, notice).await?;
                    recorded += 1;
                }
                tx.commit().await?;
            }
        }
        Ok(recorded)
    }

    /// The caller's newest notifications.
    pub async fn notifications(
        &self,
        auth: Authorized<'_, act::Notifications, System>,
        unread_only: bool,
    ) -> Result<Vec<Notification>, AppError> {
        let (_, p, _) = auth.into_parts();
        Ok(self
            .store()
            .read()
            .await?
            .list_notifications(p.user_id, unread_only, MAX_LISTED)
            .await?)
    }

    /// Marks one of the caller's notifications read (another's is not found),
    /// with its `notification.read` event in the same transaction.
    pub async fn read_notification(
        &self,
        auth: Authorized<'_, act::Notifications, System>,
        id: NotificationId,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        if !tx.mark_notification_read(id, p.user_id, now).await? {
            return Err(AppError::NotFound);
        }
        let target = format!("notification:{id}");
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::NotificationRead, target),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The active users of `party`.
async fn members(tx: &mut store::Tx, party: PartyId) -> Result<Vec<User>, AppError> {
    let users = tx.list_users(Some(party)).await?;
    Ok(users.into_iter().filter(|u| !u.disabled).collect())
}

/// The owner's active admins.
async fn admins(tx: &mut store::Tx) -> Result<Vec<User>, AppError> {
    let Some(owner) = tx.owner_party().await? else {
        return Ok(vec![]);
    };
    let users = members(tx, owner.id).await?;
    Ok(users
        .into_iter()
        .filter(|u| u.system_role == SystemRole::Admin)
        .collect())
}

/// What to record about `e`, and whom to tell; `None` when its subject is gone.
async fn notice(tx: &mut store::Tx, e: &Expiry) -> Result<Option<Notice>, AppError> {
    let at = when(e.until_ms);
    let notice = match e.kind {
        ExpiryKind::Agreement => {
            let Some(a) = tx.get_agreement(AgreementId(e.subject_id)).await? else {
                return Ok(None);
            };
            let Some(party) = tx.get_party(a.party_id).await? else {
                return Ok(None);
            };
            let mut tell: Vec<(UserId, String)> = members(tx, party.id)
                .await?
                .into_iter()
                .map(|u| {
                    let m = format!(
                        "The agreement `{}` reached its end on {at}: rooms that require it are closed to {} until a new one is signed.",
                        a.title, party.name
                    );
                    (u.id, m)
                })
                .collect();
            tell.push((
                a.created_by,
                format!(
                    "The agreement `{}` with {} that you issued reached its end on {at}.",
                    a.title, party.name
                ),
            ));
            Notice {
                action: EventName::AgreementExpire,
                target: format!("agreement:{}", a.id),
                detail: json!({"party": party.id, "title": a.title, "end_ms": e.until_ms}),
                tell,
            }
        }
        ExpiryKind::Grant => {
            let Some(g) = tx.get_grant(GrantId(e.subject_id)).await? else {
                return Ok(None);
            };
            let Some(room) = tx.get_room(g.room_id).await? else {
                return Ok(None);
            };
            let (holders, subject) = match g.subject_kind {
                SubjectKind::User => {
                    let user = tx.get_user(UserId(g.subject_id)).await?;
                    let name = user.as_ref().map_or_else(String::new, |u| u.email.clone());
                    (user.into_iter().collect::<Vec<_>>(), name)
                }
                SubjectKind::Party => {
                    let party = PartyId(g.subject_id);
                    let name = tx
                        .get_party(party)
                        .await?
                        .map_or_else(String::new, |p| p.name);
                    (members(tx, party).await?, name)
                }
            };
            let mut tell: Vec<(UserId, String)> = holders
                .iter()
                .map(|u| {
                    let m = format!(
                        "Your {} access to the room `{}` expired on {at}.",
                        g.role, room.name
                    );
                    (u.id, m)
                })
                .collect();
            tell.push((
                g.granted_by,
                format!(
                    "The {} grant in the room `{}` to {subject} that you made expired on {at}.",
                    g.role, room.name
                ),
            ));
            Notice {
                action: EventName::GrantExpire,
                target: format!("grant:{}", g.id),
                detail: json!({"room": room.id, "subject": g.subject_id, "role": g.role, "expires_ms": e.until_ms}),
                tell,
            }
        }
        ExpiryKind::Certification => {
            let Some(cert) = tx.get_certification(CertificationId(e.subject_id)).await? else {
                return Ok(None);
            };
            let Some(party) = tx.get_party(cert.party_id).await? else {
                return Ok(None);
            };
            let title = cert.title();
            let (users, sponsor) = party_and_sponsor(tx, party.id).await?;
            let mut tell: Vec<(UserId, String)> = users
                .into_iter()
                .map(|u| {
                    let m = format!(
                        "Your organization's {title} certificate expired on {at}: rooms that require it are closed to you until a new one is verified."
                    );
                    (u.id, m)
                })
                .collect();
            for u in staff(tx, sponsor).await? {
                let m = format!("The {title} certificate of {} expired on {at}.", party.name);
                tell.push((u.id, m));
            }
            Notice {
                action: EventName::PartyCertificationExpire,
                target: format!("certification:{}", cert.id),
                detail: json!({"party": party.id, "standard": cert.standard, "certified_until_ms": e.until_ms}),
                tell,
            }
        }
        ExpiryKind::Training => {
            let Some(user) = tx.get_user(UserId(e.subject_id)).await? else {
                return Ok(None);
            };
            let mut tell = vec![(
                user.id,
                format!(
                    "Your security training expired on {at}: rooms classified confidential or above are closed to you until it is renewed."
                ),
            )];
            for admin in admins(tx).await? {
                tell.push((
                    admin.id,
                    format!("The security training of {} expired on {at}.", user.email),
                ));
            }
            Notice {
                action: EventName::UserTrainingExpire,
                target: format!("user:{}", user.id),
                detail: json!({"training_until_ms": e.until_ms}),
                tell,
            }
        }
        ExpiryKind::Tier => {
            let Some(party) = tx.get_party(PartyId(e.subject_id)).await? else {
                return Ok(None);
            };
            // A new assessment moved the end: this one is no longer an end.
            if party.tier_until_ms != Some(e.until_ms) || party.tier.is_none() {
                return Ok(None);
            }
            let tier = model::diligence::tier_name(party.tier);
            let (users, sponsor) = party_and_sponsor(tx, party.id).await?;
            let mut tell: Vec<(UserId, String)> = users
                .into_iter()
                .map(|u| {
                    let m = format!(
                        "Your organization's risk assessment lapsed on {at}: until a new one is reviewed, your organization counts as unassessed and rooms that need an assessed supplier are closed to you."
                    );
                    (u.id, m)
                })
                .collect();
            for u in staff(tx, sponsor).await? {
                let m = format!(
                    "The risk tier `{tier}` of {} lapsed on {at}: it counts as unassessed until a re-assessment is signed off.",
                    party.name
                );
                tell.push((u.id, m));
            }
            Notice {
                action: EventName::PartyTierLapse,
                target: format!("party:{}", party.id),
                detail: json!({"tier": tier, "tier_until_ms": e.until_ms}),
                tell,
            }
        }
        ExpiryKind::Course => {
            let Some((c, course, user, sponsor)) =
                completion_parts(tx, CompletionId(e.subject_id)).await?
            else {
                return Ok(None);
            };
            let mut tell = vec![(
                user.id,
                format!(
                    "Your completion of the course “{}” lapsed on {at}: rooms that require it are closed to you until you pass it again.",
                    course.title
                ),
            )];
            if let Some(s) = sponsor {
                tell.push((
                    s.id,
                    format!(
                        "The completion of the course “{}” by {} lapsed on {at}.",
                        course.title, user.email
                    ),
                ));
            }
            Notice {
                action: EventName::CourseExpire,
                target: format!("completion:{}", c.id),
                detail: json!({"course": course.id, "user": user.id, "version": c.version,
                    "valid_until_ms": e.until_ms}),
                tell,
            }
        }
    };
    Ok(Some(notice))
}

/// Starts the background task that runs [`Agreements::sweep_expiries`] and
/// [`crate::Reviews::sweep`] every `every`. A failure is logged and the next sweep tries again.
pub fn spawn_sweeper(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let swept = Agreements(&app).sweep_expiries().await;
            kernel::jobs::ran("expiry_sweep", &swept);
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(recorded = n, "expiry sweep"),
                Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
            }
            let swept = crate::Reviews(&app).sweep().await;
            kernel::jobs::ran("review_sweep", &swept);
            match swept {
                Ok(0) => {}
                Ok(n) => tracing::info!(campaigns = n, "access-review sweep"),
                Err(e) => tracing::error!(error = %e, "access-review sweep failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kernel::events::EventFilter;
    use kernel::facts::principal_for;

    use super::*;

    /// A fixed clock.
    struct At(i64);

    impl kernel::Clock for At {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

    const NOW: i64 = 1_700_000_000_000;

    async fn app(dir: &std::path::Path) -> App {
        let url = format!("sqlite://{}", dir.join("meta.db").display());
        let store = store::Store::connect(&url).await.unwrap();
        let key_dir = dir.join("keys");
        let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
        let blobs = vault::DiskBlobs::open(&dir.join("blobs"), kernel::blocking_pool())
            .await
            .unwrap();
        App::new(
            store,
            ring,
            key_dir,
            Arc::new(blobs),
            Arc::new(At(NOW)),
            kernel::Settings::default(),
        )
    }

    /// An active member of the owner party, stored.
    async fn member(tx: &mut store::Tx, party: PartyId, n: u8) -> User {
        let user = User {
            id: UserId::from_random([n; 16]),
            party_id: party,
            email: format!("user{n}@example.com"),
            display_name: format!("User {n}"),
            system_role: SystemRole::Member,
            password_hash: None,
            totp_secret_sealed: None,
            totp_enabled: false,
            totp_last_step: 0,
            mfa_required: false,
            disabled: false,
            failed_logins: 0,
            locked_until_ms: None,
            created_ms: 0,
            training_until_ms: None,
        };
        tx.insert_user(&user).await.unwrap();
        user
    }

    /// Marks notification `which` read as `reader`, and checks the answer and
    /// the `notification.read` events recorded (by whom, on what).
    async fn check(
        app: &App,
        reader: &User,
        which: NotificationId,
        want_ok: bool,
        want_events: &[(UserId, String)],
    ) {
        let meta = RequestMeta::default();
        let mut tx = app.store().read().await.unwrap();
        let p = principal_for(&mut tx, reader, true).await.unwrap();
        drop(tx);
        let auth = app.system(&meta, &p, act::Notifications).await.unwrap();
        let got = Agreements(app).read_notification(auth, which).await;
        assert_eq!(got.is_ok(), want_ok, "{got:?}");
        if !want_ok {
            assert!(matches!(got, Err(AppError::NotFound)), "{got:?}");
        }
        let filter = EventFilter {
            action: Some("notification.read".into()),
            limit: 100,
            ..EventFilter::default()
        };
        let mut tx = app.store().read().await.unwrap();
        let events = tx.search_events(&filter).await.unwrap();
        let seen: Vec<(UserId, String)> = events
            .iter()
            .map(|e| {
                (
                    e.actor_user.unwrap_or(UserId(uuid::Uuid::nil())),
                    e.target.clone(),
                )
            })
            .collect();
        assert_eq!(seen, want_events, "{which}");
        assert!(
            events
                .iter()
                .all(|e| e.outcome == Outcome::Allowed && e.time_ms == NOW)
        );
    }

    #[tokio::test]
    async fn reading_a_notification_commits_with_its_event() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let owner = Party {
            id: PartyId::from_random([9; 16]),
            name: "Owner".into(),
            kind: PartyKind::Owner,
            country: None,
            status: PartyStatus::Active,
            created_ms: 0,
            tier: None,
            tier_until_ms: None,
        };
        let mut tx = app.store().begin().await.unwrap();
        tx.insert_party(&owner).await.unwrap();
        let (alice, bob) = (
            member(&mut tx, owner.id, 1).await,
            member(&mut tx, owner.id, 2).await,
        );
        let note = Notification {
            id: NotificationId::from_random([7; 16]),
            user_id: alice.id,
            created_ms: 0,
            kind: "grant.expire".into(),
            subject: "grant:x".into(),
            message: "Your access expired.".into(),
            read_ms: None,
        };
        tx.insert_notification(&note).await.unwrap();
        tx.commit().await.unwrap();
        let read = (alice.id, format!("notification:{}", note.id));
        let ghost = NotificationId::from_random([8; 16]);

        // Another's notification and an unknown one are not found, and change nothing.
        check(&app, &bob, note.id, false, &[]).await;
        check(&app, &alice, ghost, false, &[]).await;
        // One's own: read, with its event in the same transaction.
        check(&app, &alice, note.id, true, std::slice::from_ref(&read)).await;
        let mut tx = app.store().read().await.unwrap();
        let listed = tx.list_notifications(alice.id, false, 10).await.unwrap();
        assert_eq!(listed.first().and_then(|n| n.read_ms), Some(NOW));
    }

    #[test]
    fn times_are_written_in_utc() {
        let cases = [
            (1_795_422_600_000, "2026-11-23 08:30 UTC"),
            (0, "1970-01-01 00:00 UTC"),
            (i64::MAX, "9223372036854775807 ms"),
        ];
        for (ms, want) in cases {
            assert_eq!(super::when(ms), want);
        }
    }
}
