//! Alerts: the `watch` library run by the server as events are recorded, and
//! the security officers' reading of what it raised.
//!
//! The [`Scorer`] is a background task (like the SIEM forwarder) that feeds
//! each committed event, in `seq` order, to one [`watch::Watcher`]; recording
//! an event never waits for it and cannot fail because of it. It takes the
//! batches the events recorder commits from the recorder's tap, in memory
//! ([`App::tap_recorded`]), and reads the events table by `seq` for the rest:
//! the events recorded in transactions that also change state (the gaps
//! between the batches it was handed), batches the tap could not hold, and the
//! history a restart rebuilds from. Reading every event back from the table
//! cost the recorder a fifth of its rate (docs/watch.md).
//!
//! What the watcher raises — a rule at once (a burst, a mass download before
//! an agreement ends …), or the day's budgeted alerts once the
//! clock passes midnight UTC — is stored (one alert per entity, day and kind,
//! whichever node raises it first), recorded as a `watch.alert` event, and
//! told to the owner's security officers (its admins when it has none) in
//! their notifications, all in one transaction.
//!
//! A restart rebuilds the watcher's state from the events of the last
//! [`WatchOptions::history_days`] days, seeded with the agreements still
//! ahead and every user's role and party; alerts of events already scored
//! (`watch_state.scored_seq`) and of days already closed are not raised again.
//!
//! [`Alerts`] holds the use-cases: list, read, and feedback (confirm, or
//! dismiss with a reason), each taking the seam's proof.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use kernel::events::{notify, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, EventName, Fact, RequestMeta, System, act};
use model::{Alert, AlertEntity, AlertId, AlertStatus, User};
use store::WatchState;

/// Most alerts one list answers.
pub const MAX_ALERTS: i64 = 500;
/// Longest reason for dismissing an alert, in characters.
pub use kernel::MAX_REASON;
use kernel::check_reason;

/// The scorer's pace and the watcher's configuration.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// How long to wait when there is nothing new to score: an alert raised
    /// at once is stored at most this long after its event.
    pub period: Duration,
    /// Days of events a restart rebuilds the watcher from.
    pub history_days: i64,
    /// Most events read in one batch.
    pub batch: i64,
    /// The watcher's own configuration (alert budget, rules' thresholds).
    pub config: watch::Config,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            period: Duration::from_secs(2),
            history_days: watch::HISTORY_DAYS as i64,
            batch: 1000,
            config: watch::Config::default(),
        }
    }
}

/// Committed batches the recorder's tap holds for the scorer, at most.
const TAP_BATCHES: usize = 1024;
/// Events handed over in memory and kept for later, at most (beyond, they
/// are dropped and read from the table when their turn comes).
const MAX_WAITING: usize = 200_000;
/// How long a gap before the batches handed over may be filled by a batch
/// still on its way (two commit at once) before the table is read for it,
/// counted from the arrival of the first batch after the gap. A batch that
/// waited in the tap while the scorer was busy counts as arrived when the
/// scorer last looked: once behind, a gap is read at once.
const GAP_WAIT: Duration = Duration::from_millis(50);
/// How often, at most, the scoring's marks are saved while events keep
/// coming (they are saved at once when a step raises an alert or finds
/// nothing new); a restart scores again what came after the marks, and the
/// alerts it raises again are already stored.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The server's watcher: reads the recorded events and stores what it raises.
pub struct Scorer {
    app: App,
    watcher: watch::Watcher,
    /// The `seq` of the last event observed.
    cursor: i64,
    /// What was scored before this scorer started (not raised again).
    before: WatchState,
    /// What this scorer has scored.
    state: WatchState,
    /// What `watch_state` was last set to by this scorer.
    saved: WatchState,
    options: WatchOptions,
    /// The recorder's committed batches, as they commit.
    tap: mpsc::Receiver<Arc<Vec<model::Event>>>,
    /// Whether the tap still delivers.
    tapped: bool,
    /// Batches taken from the tap and not yet observed, by first `seq`,
    /// with when they arrived.
    waiting: BTreeMap<i64, (Instant, Arc<Vec<model::Event>>)>,
    /// How many events `waiting` holds.
    waiting_events: usize,
    /// When `watch_state` was last saved.
    saved_at: Instant,
    /// When the tap was last emptied or waited on.
    looked_at: Instant,
    /// When the table was last read, and whether that read was a full batch
    /// (more to read at once).
    read_at: Option<Instant>,
    behind: bool,
    /// How often the table is read when nothing waits; zero: at every step.
    poll: Duration,
    /// Events observed from memory and from the table.
    sources: Sources,
}

/// The events to observe next (batches in `seq` order), whether they reach
/// the newest event known, and whether they were read from the table.
type Next = (Vec<Arc<Vec<model::Event>>>, bool, bool);

/// Where the events a scorer observed came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// Handed over by the recorder's tap.
    pub memory: u64,
    /// Read back from the events table.
    pub table: u64,
}

impl Scorer {
    /// A scorer whose watcher is about to be rebuilt from the recent events
    /// (by the first calls of [`Scorer::step`]), seeded with the agreements
    /// still ahead and the users' roles and parties.
    pub async fn resume(app: &App, options: WatchOptions) -> Result<Scorer, AppError> {
        let now = app.now();
        let since = now.saturating_sub(options.history_days.saturating_mul(watch::DAY_MS));
        let mut tx = app.store().read().await?;
        let saved = tx.watch_state().await?;
        let mut before = saved;
        let cursor = tx.seq_before_time(since).await?;
        if before.scored_seq == 0 {
            // Never scored: the history builds baselines; it raises nothing.
            before = WatchState {
                scored_seq: tx.seq_before_time(i64::MAX).await?,
                closed_day: watch::day_of(now) - 1,
            };
        }
        let agreements = tx.list_agreements(None).await?;
        let users = tx.list_users(None).await?;
        drop(tx);
        let mut watcher = watch::Watcher::new(options.config.clone());
        seed(&mut watcher, since, now, &agreements, &users);
        Ok(Scorer {
            app: app.clone(),
            watcher,
            cursor,
            before,
            state: before,
            saved,
            options,
            tap: app.tap_recorded(TAP_BATCHES),
            tapped: true,
            waiting: BTreeMap::new(),
            waiting_events: 0,
            saved_at: Instant::now(),
            looked_at: Instant::now(),
            read_at: None,
            behind: true,
            poll: Duration::ZERO,
            sources: Sources::default(),
        })
    }

    /// Reads the table for what the tap did not bring at most once per
    /// `poll` while nothing waits in memory (gaps, a tap that fell behind and
    /// catching up are read at once). By default the table is read at every
    /// step that finds nothing to observe in memory.
    pub fn poll_every(&mut self, poll: Duration) {
        self.poll = poll;
    }

    /// How many events were observed from memory and from the table.
    pub fn sources(&self) -> Sources {
        self.sources
    }

    /// Waits up to `period` (less while a gap waits to be filled) for the
    /// recorder's next batch.
    pub async fn wait(&mut self, period: Duration) {
        let limit = if self.waiting.is_empty() {
            period
        } else {
            period.min(GAP_WAIT)
        };
        if !self.tapped {
            tokio::time::sleep(limit).await;
            return;
        }
        let received = tokio::time::timeout(limit, self.tap.recv()).await;
        self.looked_at = Instant::now();
        match received {
            Ok(Some(batch)) => self.keep(batch, self.looked_at),
            Ok(None) => self.tapped = false,
            Err(_) => {}
        }
    }

    /// Keeps a batch handed over (by `arrived`) for its turn (unless
    /// observed already, or too much waits).
    fn keep(&mut self, batch: Arc<Vec<model::Event>>, arrived: Instant) {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return;
        };
        if last.seq <= self.cursor {
            return;
        }
        if self.waiting_events + batch.len() > MAX_WAITING {
            // The table has them: drop the newest, keep what comes first.
            if self
                .waiting
                .keys()
                .next_back()
                .is_some_and(|k| *k > first.seq)
            {
                self.waiting.clear();
                self.waiting_events = 0;
            } else {
                return;
            }
        }
        self.waiting_events += batch.len();
        self.waiting.insert(first.seq, (arrived, batch));
    }

    /// Takes every batch the tap holds (each arrived after the scorer last
    /// looked).
    fn drain_tap(&mut self) {
        let since = std::mem::replace(&mut self.looked_at, Instant::now());
        while self.tapped {
            match self.tap.try_recv() {
                Ok(batch) => self.keep(batch, since),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.tapped = false,
            }
        }
    }

    /// The events to observe next, in `seq` order from the cursor on (from
    /// memory when what waits there follows the cursor, else from the
    /// table), and whether that reaches the newest event known.
    async fn next_events(&mut self) -> Result<Next, AppError> {
        self.drain_tap();
        // Forget what was observed meanwhile (through the table).
        while let Some(entry) = self.waiting.first_entry() {
            if entry.get().1.last().is_some_and(|e| e.seq > self.cursor) {
                break;
            }
            self.waiting_events -= entry.get().1.len();
            entry.remove();
        }
        let batch = usize::try_from(self.options.batch).unwrap_or(usize::MAX);
        let mut next = self.cursor + 1;
        let mut taken = Vec::new();
        let mut count = 0;
        while count < batch
            && let Some(entry) = self.waiting.first_entry()
            && *entry.key() <= next
        {
            let (_, events) = entry.remove();
            self.waiting_events -= events.len();
            next = events.last().map_or(next, |e| e.seq + 1);
            count += events.len();
            taken.push(events);
        }
        if !taken.is_empty() {
            return Ok((taken, self.waiting.is_empty(), false));
        }
        let limit = match self.waiting.iter().next() {
            Some((first, (arrived, _))) => {
                if !self.poll.is_zero() && arrived.elapsed() < GAP_WAIT {
                    return Ok((vec![], false, false));
                }
                (*first - next).clamp(1, self.options.batch)
            }
            None => {
                let due = self.read_at.is_none_or(|at| at.elapsed() >= self.poll);
                if !(self.behind || due || !self.tapped) {
                    return Ok((vec![], true, false));
                }
                self.options.batch
            }
        };
        let events = {
            let mut tx = self.app.store().read().await?;
            tx.list_events(self.cursor, limit).await?
        };
        self.read_at = Some(Instant::now());
        let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= limit;
        self.behind = full && self.waiting.is_empty();
        let caught_up = !full && self.waiting.is_empty();
        Ok((vec![Arc::new(events)], caught_up, true))
    }

    /// The `seq` of the last event observed.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Observes the next batch of events, if any, then closes the days the
    /// clock has passed; stores what was raised. Answers how many events
    /// were observed.
    pub async fn step(&mut self) -> Result<usize, AppError> {
        let (batches, caught_up, from_table) = self.next_events().await?;
        let mut observed = 0;
        let mut raised = Vec::new();
        for e in batches.iter().flat_map(|b| b.iter()) {
            if e.seq <= self.cursor {
                continue;
            }
            observed += 1;
            let now = self.watcher.observe(&watch_event(e));
            let later = e.seq > self.before.scored_seq;
            raised.extend(now.into_iter().filter(|_| later));
            let closed = self.watcher.take_closed();
            raised.extend(
                closed
                    .into_iter()
                    .filter(|a| a.day > self.before.closed_day),
            );
            self.cursor = e.seq;
        }
        if from_table {
            self.sources.table += observed as u64;
        } else {
            self.sources.memory += observed as u64;
        }
        self.state.scored_seq = self.state.scored_seq.max(self.cursor);
        let today = watch::day_of(self.app.now());
        if caught_up {
            // Caught up: the days before today are over.
            let closed = self.watcher.close_day(today - 1);
            raised.extend(
                closed
                    .into_iter()
                    .filter(|a| a.day > self.before.closed_day),
            );
            self.state.closed_day = self.state.closed_day.max(today - 1);
        }
        for a in &raised {
            self.store(a).await?;
        }
        let due = observed == 0 || !raised.is_empty() || self.saved_at.elapsed() >= SAVE_EVERY;
        if self.state != self.saved && due {
            let mut tx = self.app.store().begin().await?;
            tx.advance_watch_state(self.state).await?;
            tx.commit().await?;
            self.saved = self.state;
            self.saved_at = Instant::now();
        }
        Ok(observed)
    }

    /// Stores one alert; when it is new, records it and tells the security
    /// officers in the same transaction.
    async fn store(&self, a: &watch::Alert) -> Result<(), AppError> {
        let Some(alert) = stored(a, AlertId::from_random(random()?)) else {
            tracing::warn!(id = %a.id, "an alert about an id that is not a uuid was not stored");
            return Ok(());
        };
        let now = self.app.now();
        let mut tx = self.app.store().begin().await?;
        if !tx.insert_alert(&alert).await? {
            return Ok(());
        }
        let target = format!("alert:{}", alert.id);
        let detail = json!({
            "entity": alert.entity.as_str(), "id": alert.entity_id, "party": alert.party_id,
            "day": alert.day, "kind": alert.kind, "score": a.score, "sentence": alert.sentence,
        });
        let fact = Fact::allowed(None, EventName::WatchAlert, target.clone()).with(detail);
        record(&mut tx, &RequestMeta::default(), now, fact).await?;
        for user in kernel::events::officers(&mut tx).await? {
            let message = format!("alert (score {:.1}): {}", a.score, alert.sentence);
            let kind = EventName::WatchAlert.as_str();
            notify(&mut tx, user.id, now, kind, target.clone(), message).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Runs a scorer until the handle is dropped or aborted: a batch after
/// another while there are events, else waiting for the recorder's next batch
/// (the table read at least every `period`); a failure is logged and retried
/// after a growing pause.
pub fn spawn(app: App, options: WatchOptions) -> JoinHandle<()> {
    tokio::spawn(async move {
        let period = options.period;
        let mut pause = period;
        let mut scorer = loop {
            match Scorer::resume(&app, options.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::error!(error = %e, "the watcher cannot start; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(60));
                }
            }
        };
        scorer.poll_every(period);
        pause = period;
        loop {
            match scorer.step().await {
                Ok(n) if n > 0 => pause = period,
                Ok(_) => scorer.wait(period).await,
                Err(e) => {
                    tracing::error!(error = %e, "the watcher failed a step; retrying");
                    pause = (pause * 2).min(Duration::from_secs(60));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    })
}

/// Tells the watcher what the recent events may not say: the ends of the
/// agreements still ahead (made before `since`), and each user's role and
/// party.
fn seed(
    w: &mut watch::Watcher,
    since: i64,
    now: i64,
    agreements: &[model::Agreement],
    users: &[User],
) {
    for a in agreements {
        let Some(end) = a.end_ms else { continue };
        if a.terminated_ms.is_some() || end <= now || a.created_ms >= since {
            continue;
        }
        let (target, party) = (format!("agreement:{}", a.id), a.party_id.to_string());
        let mut e = synthetic(since, "agreement.create", target);
        e.detail.party = Some(Cow::Borrowed(&party));
        e.detail.end_ms = Some(end as f64);
        e.detail.kind = Some(Cow::Borrowed(a.kind.as_str()));
        w.observe(&e);
    }
    for u in users {
        let party = u.party_id.to_string();
        let mut e = synthetic(since, "user.create", format!("user:{}", u.id));
        e.detail.party = Some(Cow::Borrowed(&party));
        e.detail.role = Some(Cow::Borrowed(u.system_role.as_str()));
        w.observe(&e);
    }
}

/// An event made up to seed the watcher (never recorded).
fn synthetic<'a>(time_ms: i64, action: &'static str, target: String) -> watch::Event<'a> {
    watch::Event {
        time_ms,
        action: Cow::Borrowed(action),
        kind: watch::Kind::of(action, true),
        allowed: true,
        reason: None,
        actor: None,
        party: None,
        target: Cow::Owned(target),
        source: None,
        mark_id: None,
        detail: watch::Detail::default(),
    }
}

/// A recorded event as the watcher reads it.
fn watch_event(e: &model::Event) -> watch::Event<'_> {
    let allowed = e.outcome == model::Outcome::Allowed;
    watch::Event {
        time_ms: e.time_ms,
        action: Cow::Borrowed(&e.action),
        kind: watch::Kind::of(&e.action, allowed),
        allowed,
        reason: e.reason.as_deref().map(Cow::Borrowed),
        actor: e.actor_user.map(|u| Cow::Owned(u.to_string())),
        party: e.actor_party.map(|p| Cow::Owned(p.to_string())),
        target: Cow::Borrowed(&e.target),
        source: e.source_addr.as_deref().map(Cow::Borrowed),
        mark_id: e.mark_id.as_deref().map(Cow::Borrowed),
        detail: watch::Detail::from_value(&e.detail),
    }
}

/// The stored form of what the watcher raised; `None` for an id that is not
/// a uuid (never from recorded events).
fn stored(a: &watch::Alert, id: AlertId) -> Option<Alert> {
    let entity = match a.entity {
        watch::EntityKind::User => AlertEntity::User,
        watch::EntityKind::Party => AlertEntity::Party,
    };
    let kind = match (a.immediate, a.rules.first()) {
        (true, Some(rule)) => rule.name().to_owned(),
        _ => "day".to_owned(),
    };
    let contributions: Vec<_> = a
        .contributions
        .iter()
        .map(|c| {
            json!({
                "feature": c.feature.name(), "value": c.value, "median": c.median,
                "peer_median": c.peer_median, "z": c.z, "points": c.points,
            })
        })
        .collect();
    let rules: Vec<_> = a
        .rules
        .iter()
        .map(|r| json!({"rule": r.name(), "points": r.points()}))
        .collect();
    let end = a
        .end
        .as_ref()
        .map(|e| json!({"days_left": e.days_left, "what": e.what}));
    Some(Alert {
        id,
        entity,
        entity_id: a.id.parse().ok()?,
        party_id: a.party.as_deref().and_then(|p| p.parse().ok()),
        day: a.day,
        raised_ms: a.time_ms,
        kind,
        score_milli: (a.score * 1000.0).round() as i64,
        sentence: a.sentence.clone(),
        detail: json!({"contributions": contributions, "rules": rules, "end": end}),
        status: AlertStatus::Open,
        feedback_reason: None,
        feedback_by: None,
        feedback_ms: None,
    })
}

/// A security officer's word on an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// It was worth raising.
    Confirm,
    /// It was not, and why (1 to [`MAX_REASON`] characters on one line).
    Dismiss(String),
}

/// An alert with the name of whom it is about: the user's e-mail, or the
/// party's name (the id when it is gone).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedAlert {
    pub alert: Alert,
    pub who: String,
}

/// The e-mail or name of whom `a` is about.
async fn who(tx: &mut store::Tx, a: &Alert) -> Result<String, AppError> {
    let name = match a.entity {
        AlertEntity::User => tx
            .get_user(model::UserId(a.entity_id))
            .await?
            .map(|u| u.email),
        AlertEntity::Party => tx
            .get_party(model::PartyId(a.entity_id))
            .await?
            .map(|p| p.name),
    };
    Ok(name.unwrap_or_else(|| a.entity_id.to_string()))
}

async fn named(tx: &mut store::Tx, alert: Alert) -> Result<NamedAlert, AppError> {
    let who = who(tx, &alert).await?;
    Ok(NamedAlert { alert, who })
}

/// The alerts the watcher raised, as the owner's security officers read them.
#[derive(Clone, Copy)]
pub struct Alerts<'a>(pub &'a App);

impl Alerts<'_> {
    /// The newest alerts (of one status when asked), newest first.
    pub async fn list(
        &self,
        _auth: Authorized<'_, act::AlertRead, System>,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> Result<Vec<NamedAlert>, AppError> {
        let mut tx = self.0.store().read().await?;
        let alerts = tx.list_alerts(status, limit.clamp(1, MAX_ALERTS)).await?;
        let mut out = Vec::with_capacity(alerts.len());
        for a in alerts {
            out.push(named(&mut tx, a).await?);
        }
        Ok(out)
    }

    /// One alert.
    pub async fn get(
        &self,
        _auth: Authorized<'_, act::AlertRead, System>,
        id: AlertId,
    ) -> Result<NamedAlert, AppError> {
        let mut tx = self.0.store().read().await?;
        let alert = tx.get_alert(id).await?.ok_or(AppError::NotFound)?;
        named(&mut tx, alert).await
    }

    /// Confirms an alert or dismisses it with a reason (it may be given
    /// again: the latest word counts, each is recorded as an
    /// `alert.feedback` event).
    pub async fn feedback(
        &self,
        auth: Authorized<'_, act::AlertFeedback, System>,
        id: AlertId,
        feedback: Feedback,
    ) -> Result<NamedAlert, AppError> {
        let (meta, p, _) = auth.into_parts();
        let (status, reason) = match feedback {
            Feedback::Confirm => (AlertStatus::Confirmed, None),
            Feedback::Dismiss(raw) => (AlertStatus::Dismissed, Some(check_reason(&raw)?)),
        };
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        let Some(before) = tx.get_alert(id).await? else {
            return Err(AppError::NotFound);
        };
        tx.set_alert_feedback(id, status, reason.as_deref(), p.user_id, now)
            .await?;
        let detail = json!({
            "status": status.as_str(), "reason": reason, "was": before.status.as_str(),
            "entity": before.entity.as_str(), "id": before.entity_id, "kind": before.kind,
            "day": before.day,
        });
        let fact =
            Fact::allowed(Some(p), Action::AlertFeedback, format!("alert:{id}")).with(detail);
        record(&mut tx, meta, now, fact).await?;
        let after = tx.get_alert(id).await?.ok_or(AppError::NotFound)?;
        let after = named(&mut tx, after).await?;
        tx.commit().await?;
        Ok(after)
    }
}
