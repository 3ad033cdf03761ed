//! The events seam: every security-relevant fact becomes an [`Event`] written in
//! the same transaction as the change it records, and becomes a leaf of the
//! tamper-evident ledger in that transaction too (`crate::ledger::append`).

mod names;
mod recorder;

use model::{Event, Outcome};
use store::Tx;

pub use names::{EventAction, EventName, Outcomes};
pub(crate) use recorder::Recorder;

pub use store::EventFilter;

/// Most events one search returns.
pub const MAX_SEARCH: i64 = 1000;

use crate::authz::Principal;
use crate::{AppError, ErrorCode};

/// Facts about the request, attached to every event it causes.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub source_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Set when the request comes through a share link: every event it causes
    /// names the link and the verified recipient in its detail.
    pub via: Option<Via>,
    /// Set when the request comes through an upload request: every event it
    /// causes names the request and the verified recipient in its detail.
    pub upload_via: Option<UploadVia>,
}

/// A share link a request comes through, and its verified recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    pub link: model::LinkId,
    /// The address the recipient proved with a mailed code; `None` for a link
    /// bound to no one.
    pub recipient: Option<String>,
}

/// An upload request a request comes through, and its verified recipient
/// (a sibling of [`Via`], kept apart so a share link's events and an upload
/// request's never mix their names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadVia {
    pub request: model::UploadRequestId,
    /// The address the recipient proved with a mailed code.
    pub recipient: String,
}

/// One event about to be recorded.
pub struct Fact<'a> {
    pub actor: Option<&'a Principal>,
    pub action: EventAction,
    pub target: String,
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
    pub detail: serde_json::Value,
    /// The mark id of the copy or page this event issued.
    pub mark_id: Option<String>,
}

impl<'a> Fact<'a> {
    /// An allowed action by `actor` on `target`. (Debug builds check that
    /// the catalogue says `action` is recorded as allowed.)
    pub fn allowed(
        actor: Option<&'a Principal>,
        action: impl Into<EventAction>,
        target: String,
    ) -> Self {
        let action = action.into();
        debug_assert!(
            action.outcomes().has(Outcome::Allowed),
            "the catalogue does not list `{action}` as allowed"
        );
        Fact {
            actor,
            action,
            target,
            outcome: Outcome::Allowed,
            reason: None,
            detail: serde_json::Value::Null,
            mark_id: None,
        }
    }

    /// A denied or failed attempt, with its reason code. (Debug builds check
    /// that the catalogue says `action` is recorded as denied.)
    pub fn denied(
        actor: Option<&'a Principal>,
        action: impl Into<EventAction>,
        target: String,
        reason: &'a str,
    ) -> Self {
        let action = action.into();
        debug_assert!(
            action.outcomes().has(Outcome::Denied),
            "the catalogue does not list `{action}` as denied"
        );
        Fact {
            actor,
            action,
            target,
            outcome: Outcome::Denied,
            reason: Some(reason),
            detail: serde_json::Value::Null,
            mark_id: None,
        }
    }

    /// Adds detail facts (never secrets).
    pub fn with(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Names the mark id of the copy or page this event issued.
    pub fn marked(mut self, mark_id: String) -> Self {
        self.mark_id = Some(mark_id);
        self
    }
}

/// The event `fact` describes, as of `now_ms`.
/// Events made in this process, by action group (the action's name before its
/// first dot: `file`, `dlp`, `auth` …) and outcome: the process's metrics
/// (`/metrics`). Counted when the event is made, so an event whose
/// transaction then rolls back is counted too.
static MADE: std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The events made so far in this process: (action group, outcome, count).
pub fn made_counts() -> Vec<(String, &'static str, u64)> {
    let made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    made.iter().map(|((g, o), n)| (g.clone(), *o, *n)).collect()
}

fn count(action: &str, outcome: model::Outcome) {
    let group = action.split('.').next().unwrap_or(action).to_owned();
    let mut made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *made.entry((group, outcome.as_str())).or_default() += 1;
}

fn event_of(meta: &RequestMeta, now_ms: i64, fact: Fact<'_>) -> Event {
    count(fact.action.as_str(), fact.outcome);
    Event {
        seq: 0,
        time_ms: now_ms,
        actor_user: fact.actor.map(|p| p.user_id),
        actor_party: fact.actor.map(|p| p.party_id),
        action: fact.action.as_str().to_owned(),
        target: fact.target,
        outcome: fact.outcome,
        reason: fact.reason.map(str::to_owned),
        source_addr: meta.source_addr.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        mark_id: fact.mark_id,
        detail: with_upload_via(
            with_via(fact.detail, meta.via.as_ref()),
            meta.upload_via.as_ref(),
        ),
    }
}

/// `detail` with the link and recipient of `via` added (`link`, `recipient`);
/// a detail that is not an object is kept under `detail`.
fn with_via(detail: serde_json::Value, via: Option<&Via>) -> serde_json::Value {
    let Some(via) = via else { return detail };
    let mut out = match detail {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("detail".to_owned(), other)]),
    };
    out.insert("link".into(), serde_json::json!(via.link.to_string()));
    out.insert("recipient".into(), serde_json::json!(via.recipient));
    serde_json::Value::Object(out)
}

/// `detail` with the upload request and recipient of `via` added
/// (`upload_request`, `recipient`); a detail that is not an object is kept
/// under `detail`.
fn with_upload_via(detail: serde_json::Value, via: Option<&UploadVia>) -> serde_json::Value {
    let Some(via) = via else { return detail };
    let mut out = match detail {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        other => serde_json::Map::from_iter([("detail".to_owned(), other)]),
    };
    out.insert(
        "upload_request".into(),
        serde_json::json!(via.request.to_string()),
    );
    out.insert("recipient".into(), serde_json::json!(via.recipient));
    serde_json::Value::Object(out)
}

/// Appends the event and its ledger leaf inside `tx`; both commit or roll back
/// with the change. The domains record every state change through it, in the
/// change's own transaction.
pub async fn record(
    tx: &mut Tx,
    meta: &RequestMeta,
    now_ms: i64,
    fact: Fact<'_>,
) -> Result<i64, AppError> {
    let event = event_of(meta, now_ms, fact);
    let seq = tx.append_event(&event).await?;
    crate::ledger::append(tx, seq, &event).await?;
    Ok(seq)
}

impl crate::App {
    /// Records an event that is a transaction of its own (a download, a view,
    /// a refusal): it joins the recorder's next batch, and this returns its
    /// `seq` once it is durable. The events seam for what changes nothing but
    /// the log; it decides nothing (the caller has authorized the request).
    pub async fn record_alone(&self, meta: &RequestMeta, fact: Fact<'_>) -> Result<i64, AppError> {
        let event = event_of(meta, self.now(), fact);
        self.inner.recorder.record(self.store(), event).await
    }

    /// The events the recorder commits from now on, one batch (in `seq`
    /// order, with the `seq`s) per message, for a reader of the log in this
    /// process that would otherwise read them back from the table. At most
    /// `batches` wait; beyond that, and for every event recorded in a
    /// transaction that also changes state, the reader goes to the table. A
    /// new tap replaces the one before.
    pub fn tap_recorded(
        &self,
        batches: usize,
    ) -> tokio::sync::mpsc::Receiver<std::sync::Arc<Vec<model::Event>>> {
        self.inner.recorder.tap(batches)
    }
}

/// Refuses a filter that can match nothing for a reason the caller should know.
pub fn check_filter(filter: &EventFilter) -> Result<(), AppError> {
    if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms)
        && to < from
    {
        return Err(AppError::invalid(
            ErrorCode::BadTimeRange,
            "`to` is earlier than `from`",
        ));
    }
    if filter.action.is_some() && filter.action_prefix.is_some() {
        return Err(AppError::invalid(
            ErrorCode::BadFilter,
            "give an exact action or an action prefix, not both",
        ));
    }
    Ok(())
}

/// The owner's active security officers, else its active admins: whom
/// security notices (alerts, incidents, held uploads, destructions) go to.
pub async fn officers(tx: &mut Tx) -> Result<Vec<model::User>, AppError> {
    let Some(owner) = tx.owner_party().await? else {
        return Ok(vec![]);
    };
    let users: Vec<model::User> = tx
        .list_users(Some(owner.id))
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .collect();
    let of = |role| -> Vec<model::User> {
        users
            .iter()
            .filter(|u| u.system_role == role)
            .cloned()
            .collect()
    };
    let found = of(model::SystemRole::SecurityOfficer);
    Ok(if found.is_empty() {
        of(model::SystemRole::Admin)
    } else {
        found
    })
}

/// Tells `user` about `subject` (`kind`: the event or action it is about) in
/// the caller's transaction: one unread notification.
pub async fn notify(
    tx: &mut Tx,
    user: model::UserId,
    now_ms: i64,
    kind: &str,
    subject: String,
    message: String,
) -> Result<model::NotificationId, AppError> {
    let n = model::Notification {
        id: model::NotificationId::from_random(crate::secrets::random()?),
        user_id: user,
        created_ms: now_ms,
        kind: kind.to_owned(),
        subject,
        message,
        read_ms: None,
    };
    tx.insert_notification(&n).await?;
    Ok(n.id)
}
