//! Incident cases (docs/incidents.md): opened from an alert, a trace, a DLP
//! event, a report (an external user's "report a suspected leak" form) or by
//! hand, and run by the owner's security officers through nine stages —
//! identification, response team, assessment, containment, investigation,
//! legal, communication, remediation, lessons learned — each with its owner,
//! tasks and notes. Containment is one click per action (suspend a user or a
//! party, end their links and sessions, freeze a room to view-only, make a
//! user verify again); the legal stage has a notification clock the owner
//! sets and a legal hold on everything the case covers; messages go to
//! internal stakeholders as notifications (mailed through the outbox where
//! mail is set up); the lessons learned close the case. Everything done is an
//! event targeting `incident:<id>`, so the case's evidence bundle is a ledger
//! bundle that `custody ledger verify --bundle` accepts offline.

use kernel::authz::{Authorized, System, act};
use kernel::events::{EventFilter, Fact, notify, officers, record};
use kernel::ledger::Bundle;
use kernel::secrets::random;
use kernel::{Action, App, AppError, ErrorCode, EventName, Principal, RequestMeta};
use model::*;
use serde_json::{Value, json};

use crate::holds::{HoldScope, put_hold};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest summary, note, task, message or lessons learned, in characters.
pub const MAX_TEXT: usize = 10_000;
/// Most events of the people involved a case's timeline and bundle carry.
pub const MAX_TIMELINE: i64 = 2000;
/// How far before a case's opening its timeline reaches.
pub const TIMELINE_DAYS: i64 = 30;
/// Longest notification clock, in hours (a year).
pub const MAX_NOTIFY_HOURS: i64 = 8760;

const DAY_MS: i64 = 86_400_000;

/// What a new case is opened with.
#[derive(Clone, Debug, Default)]
pub struct NewIncident {
    pub title: String,
    pub summary: String,
    pub party: Option<PartyId>,
    pub user: Option<UserId>,
    pub room: Option<RoomId>,
}

/// A trace result added to a case: what the leaked copy was, the mark read
/// from it and whom it names.
#[derive(Clone, Debug)]
pub struct TraceResult {
    /// The leaked copy's SHA-256, lowercase hex.
    pub sha256: String,
    pub size: u64,
    pub mark_id: String,
    /// Which mark it was read from (`pdf-metadata`, `image-forensic`, …).
    pub kind: String,
    pub confidence: f64,
    /// The recipients (user id, e-mail, party id, party name).
    pub recipients: Vec<(UserId, String, PartyId, String)>,
}

/// A case as read: the case, its stage owners and entries, and the names of
/// the people it refers to.
#[derive(Clone, Debug)]
pub struct IncidentView {
    pub incident: Incident,
    pub owners: Vec<(IncidentStage, UserId)>,
    pub entries: Vec<IncidentEntry>,
    /// E-mail of every user the case, its owners and entries name.
    pub names: Vec<(UserId, String)>,
    pub party_name: Option<String>,
    pub room_name: Option<String>,
}

impl IncidentView {
    /// The e-mail of `user`, or its id when unknown.
    pub fn name_of(&self, user: UserId) -> String {
        self.names
            .iter()
            .find(|(id, _)| *id == user)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| user.to_string())
    }
}

/// The message templates for internal stakeholders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageTemplate {
    /// Where the case stands.
    StatusUpdate,
    /// What was contained.
    Containment,
    /// The case is closed.
    Closure,
}

impl MessageTemplate {
    pub const ALL: [MessageTemplate; 3] = [
        MessageTemplate::StatusUpdate,
        MessageTemplate::Containment,
        MessageTemplate::Closure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageTemplate::StatusUpdate => "status_update",
            MessageTemplate::Containment => "containment",
            MessageTemplate::Closure => "closure",
        }
    }

    pub fn parse(s: &str) -> Result<Self, AppError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                AppError::invalid(
                    ErrorCode::UnknownName,
                    format!(
                        "unknown message template `{}`: status_update, containment or closure",
                        s.chars().take(64).collect::<String>()
                    ),
                )
            })
    }

    /// The message, from the case as it stands, and the sender's own words.
    fn render(self, i: &Incident, extra: &str) -> String {
        let severity = i.severity.map_or("not yet assessed", |s| s.as_str());
        let head = match self {
            MessageTemplate::StatusUpdate => format!(
                "Incident \"{}\" is at the stage {} (severity {severity}).",
                i.title,
                i.stage.title()
            ),
            MessageTemplate::Containment => format!(
                "Incident \"{}\" (severity {severity}): containment actions were taken; see the case for what was ended.",
                i.title
            ),
            MessageTemplate::Closure => format!(
                "Incident \"{}\" is closed. Lessons learned: {}",
                i.title,
                i.lessons.as_deref().unwrap_or("see the case")
            ),
        };
        if extra.is_empty() {
            head
        } else {
            format!("{head} {extra}")
        }
    }
}

fn title(raw: &str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > MAX_TITLE || t.chars().any(char::is_control) {
        return Err(AppError::invalid(
            ErrorCode::BadIncidentText,
            format!("give a title of 1 to {MAX_TITLE} characters on one line"),
        ));
    }
    Ok(t.to_owned())
}

fn text(raw: &str) -> Result<String, AppError> {
    let t = raw.trim();
    if t.is_empty()
        || t.chars().count() > MAX_TEXT
        || t.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::invalid(
            ErrorCode::BadIncidentText,
            format!("give a text of 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(t.replace("\r\n", "\n"))
}

fn target(id: IncidentId) -> String {
    format!("incident:{id}")
}

/// Incident cases: opened, run and exported by the owner's security officers
/// and admins; reported by anyone.
#[derive(Clone, Copy)]
pub struct Incidents<'a>(pub &'a App);

impl std::ops::Deref for Incidents<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// The open case `id` in `tx` (not found, or closed: `incident_closed`).
async fn open_case(tx: &mut store::Tx, id: IncidentId) -> Result<Incident, AppError> {
    let case = tx.get_incident(id).await?.ok_or(AppError::NotFound)?;
    if case.closed_ms.is_some() {
        return Err(AppError::invalid(
            ErrorCode::IncidentClosed,
            "the case is closed",
        ));
    }
    Ok(case)
}

/// `user` is an active user of the owner's party.
async fn staff(tx: &mut store::Tx, user: UserId) -> Result<User, AppError> {
    let not_staff = || {
        AppError::invalid(
            ErrorCode::NotStaff,
            "name an active user of the owner's party",
        )
    };
    let u = tx.get_user(user).await?.ok_or_else(not_staff)?;
    let owner = tx.owner_party().await?.ok_or_else(not_staff)?;
    if u.party_id != owner.id || u.disabled {
        return Err(not_staff());
    }
    Ok(u)
}

#[allow(
    clippy::too_many_arguments,
    reason = "an entry is its case, kind, text, detail, assignee and event, recorded by whom, when and how"
)]
async fn add_entry(
    tx: &mut store::Tx,
    meta: &RequestMeta,
    p: &Principal,
    now: i64,
    case: &Incident,
    kind: IncidentEntryKind,
    body: String,
    detail: Value,
    assignee: Option<UserId>,
    event: EventName,
) -> Result<IncidentEntry, AppError> {
    let entry = IncidentEntry {
        id: IncidentEntryId::from_random(random()?),
        incident_id: case.id,
        stage: case.stage,
        kind,
        body,
        detail,
        author: p.user_id,
        created_ms: now,
        assignee,
        done_ms: None,
    };
    tx.insert_incident_entry(&entry).await?;
    let mut recorded = json!({
        "entry": entry.id, "kind": kind.as_str(), "stage": case.stage.as_str(),
        "text": entry.body,
    });
    if let (Some(obj), Some(more)) = (recorded.as_object_mut(), entry.detail.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    if let Some(a) = assignee {
        recorded["assignee"] = json!(a);
    }
    record(
        tx,
        meta,
        now,
        Fact::allowed(Some(p), event, target(case.id)).with(recorded),
    )
    .await?;
    Ok(entry)
}

impl Incidents<'_> {
    /// Opens a case by hand, or from what the caller found (`source`,
    /// `source_ref`): an alert, a trace, a DLP event. The owner's security
    /// officers are told.
    pub async fn open(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        new: NewIncident,
        source: IncidentSource,
        source_ref: Option<String>,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let case = self
            .open_in(&mut tx, meta, p, new, source, source_ref)
            .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Opens a case from alert `alert`: about its user and party, titled by
    /// its rule, its sentence as the summary. An alert already opened as a
    /// case answers that case.
    pub async fn open_from_alert(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        alert: AlertId,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let a = tx.get_alert(alert).await?.ok_or(AppError::NotFound)?;
        if let Some(case) = tx
            .incident_from(IncidentSource::Alert, &alert.to_string())
            .await?
        {
            return Ok(case);
        }
        let user = (a.entity == AlertEntity::User).then_some(UserId(a.entity_id));
        let party = match a.entity {
            AlertEntity::Party => Some(PartyId(a.entity_id)),
            AlertEntity::User => a.party_id,
        };
        let mut who = String::new();
        if let Some(u) = user
            && let Some(u) = tx.get_user(u).await?
        {
            who = u.email;
        } else if let Some(pid) = party
            && let Some(party) = tx.get_party(pid).await?
        {
            who = party.name;
        }
        let new = NewIncident {
            title: format!("Alert `{}` on {who}", a.kind)
                .chars()
                .take(MAX_TITLE)
                .collect(),
            summary: a.sentence.chars().take(MAX_TEXT).collect(),
            party,
            user,
            room: None,
        };
        let case = self
            .open_in(
                &mut tx,
                meta,
                p,
                new,
                IncidentSource::Alert,
                Some(alert.to_string()),
            )
            .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// A signed-in user reports a suspected leak (of a room's content, when
    /// they name one they can see): a case is opened for the owner's security
    /// officers, who are told. Recorded as `incident.report`.
    pub async fn report(
        &self,
        auth: Authorized<'_, act::IncidentReport, System>,
        what: &str,
        details: &str,
        room: Option<RoomId>,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let what = title(what)?;
        let details = text(details)?;
        let mut tx = self.store().begin().await?;
        let party = tx.get_party(p.party_id).await?.ok_or(AppError::NotFound)?;
        let reporter = tx.get_user(p.user_id).await?.ok_or(AppError::NotFound)?;
        let room = match room {
            Some(r) => Some(tx.room_any(r).await?.map(|_| r).ok_or(AppError::NotFound)?),
            None => None,
        };
        let new = NewIncident {
            title: what,
            summary: format!("Reported by {} ({}): {details}", reporter.email, party.name),
            party: None,
            user: None,
            room,
        };
        let case = self
            .open_in(
                &mut tx,
                meta,
                p,
                new,
                IncidentSource::Report,
                Some(p.user_id.to_string()),
            )
            .await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), Action::IncidentReport, target(case.id))
                .with(json!({"party": p.party_id, "room": room})),
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    async fn open_in(
        &self,
        tx: &mut store::Tx,
        meta: &RequestMeta,
        p: &Principal,
        new: NewIncident,
        source: IncidentSource,
        source_ref: Option<String>,
    ) -> Result<Incident, AppError> {
        let now = self.now();
        let title = title(&new.title)?;
        let summary = text(&new.summary)?;
        let mut party = new.party;
        if let Some(u) = new.user {
            let user = tx.get_user(u).await?.ok_or(AppError::NotFound)?;
            party = party.or(Some(user.party_id));
        }
        if let Some(pid) = party {
            tx.get_party(pid).await?.ok_or(AppError::NotFound)?;
        }
        if let Some(r) = new.room {
            tx.room_any(r).await?.ok_or(AppError::NotFound)?;
        }
        let hours = tx.incident_notify_hours().await?;
        let case = Incident {
            id: IncidentId::from_random(random()?),
            title,
            summary,
            source,
            source_ref,
            stage: IncidentStage::Identification,
            severity: None,
            category: None,
            opened_by: p.user_id,
            opened_ms: now,
            party_id: party,
            user_id: new.user,
            room_id: new.room,
            notify_due_ms: hours.map(|h| now + h * 3_600_000),
            notified_ms: None,
            holds: vec![],
            closed_ms: None,
            lessons: None,
        };
        tx.insert_incident(&case).await?;
        let detail = json!({
            "title": case.title, "source": source.as_str(), "source_ref": case.source_ref,
            "party": case.party_id, "user": case.user_id, "room": case.room_id,
            "notify_due_ms": case.notify_due_ms,
        });
        record(
            tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::IncidentOpen, target(case.id)).with(detail),
        )
        .await?;
        let message = format!("incident opened ({}): {}", source.as_str(), case.title);
        for officer in officers(tx).await? {
            let kind = EventName::IncidentOpen.as_str();
            notify(tx, officer.id, now, kind, target(case.id), message.clone()).await?;
        }
        Ok(case)
    }

    /// Cases, newest first: the open ones, or all.
    pub async fn list(
        &self,
        _auth: Authorized<'_, act::IncidentRead, System>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<Incident>, AppError> {
        let limit = limit.clamp(1, 500);
        Ok(self
            .store()
            .read()
            .await?
            .list_incidents(open_only, limit)
            .await?)
    }

    /// One case with its owners, entries and the names they refer to.
    pub async fn get(
        &self,
        _auth: Authorized<'_, act::IncidentRead, System>,
        id: IncidentId,
    ) -> Result<IncidentView, AppError> {
        let mut tx = self.store().read().await?;
        let incident = tx.get_incident(id).await?.ok_or(AppError::NotFound)?;
        let owners = tx.incident_owners(id).await?;
        let entries = tx.incident_entries(id).await?;
        let mut ids: Vec<UserId> = vec![incident.opened_by];
        ids.extend(incident.user_id);
        ids.extend(owners.iter().map(|(_, u)| *u));
        for e in &entries {
            ids.push(e.author);
            ids.extend(e.assignee);
        }
        ids.sort();
        ids.dedup();
        let mut names = Vec::with_capacity(ids.len());
        for u in ids {
            if let Some(user) = tx.get_user(u).await? {
                names.push((u, user.email));
            }
        }
        let party_name = match incident.party_id {
            Some(pid) => tx.get_party(pid).await?.map(|p| p.name),
            None => None,
        };
        let room_name = match incident.room_id {
            Some(r) => tx.room_any(r).await?.map(|(room, _, _)| room.name),
            None => None,
        };
        Ok(IncidentView {
            incident,
            owners,
            entries,
            names,
            party_name,
            room_name,
        })
    }

    /// Assesses and classifies a case: its severity and category.
    pub async fn assess(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        severity: IncidentSeverity,
        category: IncidentCategory,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        case.severity = Some(severity);
        case.category = Some(category);
        tx.update_incident(&case).await?;
        let body = format!(
            "assessed: severity {}, category {}",
            severity.as_str(),
            category.as_str()
        );
        let detail = json!({"severity": severity.as_str(), "category": category.as_str()});
        add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Assessment,
            body,
            detail,
            None,
            EventName::IncidentAssess,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Moves a case to `stage` (forward or back; the last stage is reached by
    /// [`Incidents::close`]), and makes `owner` its owner when given.
    pub async fn set_stage(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        stage: IncidentStage,
        owner: Option<UserId>,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        let mut body = String::new();
        let mut detail = json!({"to": stage.as_str(), "from": case.stage.as_str()});
        if let Some(owner) = owner {
            let user = staff(&mut tx, owner).await?;
            tx.set_incident_owner(id, stage, owner).await?;
            body = format!("{} owns the stage {}", user.email, stage.title());
            detail["owner"] = json!(owner);
        }
        let kind = if case.stage != stage {
            case.stage = stage;
            tx.update_incident(&case).await?;
            body = if body.is_empty() {
                format!("moved to the stage {}", stage.title())
            } else {
                format!("moved to the stage {}; {body}", stage.title())
            };
            IncidentEntryKind::Stage
        } else {
            IncidentEntryKind::Owner
        };
        if body.is_empty() {
            return Ok(case);
        }
        add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            kind,
            body,
            detail,
            None,
            EventName::IncidentStage,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Adds a note to a case, or a task when `task` (with its assignee, told).
    pub async fn add_note(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        body: &str,
        task: bool,
        assignee: Option<UserId>,
    ) -> Result<IncidentEntry, AppError> {
        let (meta, p, _) = auth.into_parts();
        let body = text(body)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let case = open_case(&mut tx, id).await?;
        if let Some(a) = assignee {
            staff(&mut tx, a).await?;
        }
        let kind = if task {
            IncidentEntryKind::Task
        } else {
            IncidentEntryKind::Note
        };
        let assignee = assignee.filter(|_| task);
        let entry = add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            kind,
            body.clone(),
            json!({}),
            assignee,
            EventName::IncidentNote,
        )
        .await?;
        if let Some(a) = assignee
            && a != p.user_id
        {
            let message = format!("task in incident \"{}\": {body}", case.title);
            let kind = EventName::IncidentNote.as_str();
            notify(&mut tx, a, now, kind, target(id), message).await?;
        }
        tx.commit().await?;
        Ok(entry)
    }

    /// Marks a task of a case done.
    pub async fn finish_task(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        task: IncidentEntryId,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        open_case(&mut tx, id).await?;
        if !tx.finish_incident_task(id, task, now).await? {
            return Err(AppError::NotFound);
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::IncidentNote, target(id))
                .with(json!({"entry": task, "kind": "task", "done": true})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes one containment action on what the case names, at once, and
    /// records it: suspending the user (disabled, sessions and tokens ended)
    /// or the party (`suspended`: its users may do nothing until an admin
    /// activates it again), ending the links and sessions of the user (or
    /// the party's users), freezing the room to view-only (every role's
    /// downloads become the viewer; the policy before is kept in the entry),
    /// or making the user verify again (sessions ended, a second factor
    /// required at the next sign-in).
    pub async fn contain(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        action: ContainAction,
    ) -> Result<IncidentEntry, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let case = open_case(&mut tx, id).await?;
        let none = |what: &str| {
            AppError::invalid(
                ErrorCode::IncidentNoSubject,
                format!("the case names no {what} to {}", action.as_str()),
            )
        };
        let (body, detail) = match action {
            ContainAction::SuspendUser | ContainAction::RequireReverification => {
                let uid = case.user_id.ok_or_else(|| none("user"))?;
                if uid == p.user_id {
                    return Err(AppError::invalid(
                        ErrorCode::CannotDisableSelf,
                        "you cannot contain your own account",
                    ));
                }
                let mut user = tx.get_user(uid).await?.ok_or(AppError::NotFound)?;
                let sessions = tx.revoke_user_sessions(uid).await?;
                let body = if action == ContainAction::SuspendUser {
                    user.disabled = true;
                    format!(
                        "{} suspended: the account is disabled, {sessions} sessions and tokens ended",
                        user.email
                    )
                } else {
                    user.mfa_required = true;
                    format!(
                        "{} must verify again: {sessions} sessions and tokens ended, a second factor is required at the next sign-in",
                        user.email
                    )
                };
                tx.update_user(&user).await?;
                (
                    body,
                    json!({"action": action.as_str(), "user": uid, "sessions": sessions}),
                )
            }
            ContainAction::SuspendParty => {
                let pid = case.party_id.ok_or_else(|| none("party"))?;
                let mut party = tx.get_party(pid).await?.ok_or(AppError::NotFound)?;
                if party.kind == PartyKind::Owner {
                    return Err(AppError::invalid(
                        ErrorCode::OwnerPartyStatus,
                        "the owner party stays active",
                    ));
                }
                let before = party.status;
                party.status = PartyStatus::Suspended;
                tx.update_party(&party).await?;
                let (links, sessions) = tx.end_links_and_sessions(pid.0, now).await?;
                (
                    format!(
                        "{} suspended (was {}): its users may do nothing; {links} links and {sessions} sessions ended",
                        party.name,
                        before.as_str()
                    ),
                    json!({"action": action.as_str(), "party": pid, "before": before.as_str(),
                        "links": links, "sessions": sessions}),
                )
            }
            ContainAction::RevokeAccess => {
                let (subject, who) = match (case.user_id, case.party_id) {
                    (Some(u), _) => (u.0, "user"),
                    (None, Some(pid)) => (pid.0, "party"),
                    (None, None) => return Err(none("user or party")),
                };
                let (links, sessions) = tx.end_links_and_sessions(subject, now).await?;
                (
                    format!(
                        "{links} share links and {sessions} sessions and tokens of the {who} ended"
                    ),
                    json!({"action": action.as_str(), who: subject, "links": links,
                        "sessions": sessions}),
                )
            }
            ContainAction::FreezeRoom => {
                let rid = case.room_id.ok_or_else(|| none("room"))?;
                let (room, _, destroyed) = tx.room_any(rid).await?.ok_or(AppError::NotFound)?;
                if destroyed.is_some() {
                    return Err(AppError::NotFound);
                }
                let before = tx.room_delivery(rid).await?.unwrap_or_default();
                let frozen = DeliveryPolicy {
                    downloader: Delivery::ViewOnly,
                    contributor: Delivery::ViewOnly,
                    manager: Delivery::ViewOnly,
                    unmarkable: before.unmarkable,
                };
                tx.set_room_delivery(rid, &frozen).await?;
                (
                    format!(
                        "room {} frozen to view-only: no role downloads, the viewer stays open",
                        room.name
                    ),
                    json!({"action": action.as_str(), "room": rid,
                        "before": serde_json::to_value(before).map_err(AppError::internal)?}),
                )
            }
        };
        let entry = add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Containment,
            body,
            detail,
            None,
            EventName::IncidentContain,
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Adds a trace result to a case: the case then names the first
    /// recipient and their party when it named nobody.
    pub async fn add_trace(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        trace: TraceResult,
    ) -> Result<IncidentEntry, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        if let Some((user, _, party, _)) = trace.recipients.first()
            && case.user_id.is_none()
            && case.party_id.is_none()
        {
            case.user_id = Some(*user);
            case.party_id = Some(*party);
            tx.update_incident(&case).await?;
        }
        let names: Vec<String> = trace
            .recipients
            .iter()
            .map(|(_, email, _, party)| format!("{email} ({party})"))
            .collect();
        let body = if names.is_empty() {
            format!(
                "a copy (SHA-256 {}) carries mark {} ({}), issued to nobody on record",
                trace.sha256, trace.mark_id, trace.kind
            )
        } else {
            format!(
                "a copy (SHA-256 {}) carries mark {} ({}), issued to {}",
                trace.sha256,
                trace.mark_id,
                trace.kind,
                names.join(", ")
            )
        };
        let recipients: Vec<Value> = trace
            .recipients
            .iter()
            .map(|(u, email, party, party_name)| {
                json!({"user": u, "email": email, "party": party, "party_name": party_name})
            })
            .collect();
        let detail = json!({
            "sha256": trace.sha256, "size": trace.size, "mark_id": trace.mark_id,
            "mark_kind": trace.kind, "confidence": trace.confidence, "recipients": recipients,
        });
        let entry = add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Trace,
            body,
            detail,
            None,
            EventName::IncidentTrace,
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Puts everything the case covers under legal holds: its party (every
    /// room the party or its users have or had a grant in, and its users'
    /// events) unless it is the owner, and its room. Destruction, purge and
    /// redaction of them are refused until a security officer releases the
    /// holds (on `/destructions`).
    pub async fn hold(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        let reason = format!("incident {}: {}", case.id, case.title)
            .chars()
            .take(kernel::MAX_REASON)
            .collect::<String>();
        let mut scopes = Vec::new();
        if let Some(pid) = case.party_id {
            let party = tx.get_party(pid).await?.ok_or(AppError::NotFound)?;
            if party.kind != PartyKind::Owner {
                scopes.push(HoldScope::Party(pid));
            }
        }
        if let Some(r) = case.room_id {
            scopes.push(HoldScope::Room(r));
        }
        if scopes.is_empty() {
            return Err(AppError::invalid(
                ErrorCode::IncidentNoSubject,
                "the case names no external party and no room to hold",
            ));
        }
        let mut held = Vec::new();
        for scope in scopes {
            let hold = put_hold(&mut tx, meta, p, now, scope, &reason).await?;
            held.push(json!({"hold": hold.id, "scope": hold.scope, "target": hold.target_id}));
            case.holds.push(hold.id);
        }
        tx.update_incident(&case).await?;
        let body = format!(
            "legal hold set on {}",
            held.iter()
                .map(|h| format!(
                    "{} {}",
                    h["scope"].as_str().unwrap_or(""),
                    h["target"].as_str().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join(" and ")
        );
        add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Hold,
            body,
            json!({"holds": held}),
            None,
            EventName::IncidentHold,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Records that the notification the case required was made, to `to`
    /// (a regulator, a customer), with what was said.
    pub async fn notified(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        to: &str,
        what: &str,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let to = title(to)?;
        let what = text(what)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        case.notified_ms = Some(now);
        tx.update_incident(&case).await?;
        let late = case.notify_due_ms.is_some_and(|due| now > due);
        add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Notification,
            format!("notified {to}: {what}"),
            json!({"to": to, "due_ms": case.notify_due_ms, "late": late}),
            None,
            EventName::IncidentNotified,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Sends a message from `template` about the case to internal
    /// stakeholders (active users of the owner's party): each gets a
    /// notification, mailed through the outbox where mail is set up.
    pub async fn message(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        template: MessageTemplate,
        to: &[UserId],
        extra: &str,
    ) -> Result<IncidentEntry, AppError> {
        let (meta, p, _) = auth.into_parts();
        let extra = if extra.trim().is_empty() {
            String::new()
        } else {
            text(extra)?
        };
        if to.is_empty() || to.len() > 100 {
            return Err(AppError::invalid(
                ErrorCode::NotStaff,
                "name 1 to 100 recipients of the owner's party",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let case = open_case(&mut tx, id).await?;
        let mut emails = Vec::new();
        for u in to {
            emails.push(staff(&mut tx, *u).await?.email);
        }
        let message = template.render(&case, &extra);
        for u in to {
            let kind = EventName::IncidentMessage.as_str();
            notify(&mut tx, *u, now, kind, target(id), message.clone()).await?;
        }
        let entry = add_entry(
            &mut tx,
            meta,
            p,
            now,
            &case,
            IncidentEntryKind::Message,
            message,
            json!({"template": template.as_str(), "to": emails}),
            None,
            EventName::IncidentMessage,
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Closes a case with its lessons learned (the last stage).
    pub async fn close(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        id: IncidentId,
        lessons: &str,
    ) -> Result<Incident, AppError> {
        let (meta, p, _) = auth.into_parts();
        let lessons = text(lessons)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut case = open_case(&mut tx, id).await?;
        case.stage = IncidentStage::LessonsLearned;
        let entry_case = case.clone();
        case.lessons = Some(lessons.clone());
        case.closed_ms = Some(now);
        tx.update_incident(&case).await?;
        add_entry(
            &mut tx,
            meta,
            p,
            now,
            &entry_case,
            IncidentEntryKind::Stage,
            format!("closed; lessons learned: {lessons}"),
            json!({"to": IncidentStage::LessonsLearned.as_str(), "closed": true}),
            None,
            EventName::IncidentClose,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// The case's timeline from the ledger: the events of the case itself,
    /// of its alert, of the people and the room involved (from
    /// [`TIMELINE_DAYS`] before its opening, at most [`MAX_TIMELINE`] of
    /// them) and of the marks its traces read; oldest first.
    pub async fn timeline(
        &self,
        _auth: Authorized<'_, act::IncidentRead, System>,
        id: IncidentId,
    ) -> Result<Vec<Event>, AppError> {
        self.timeline_of(id).await
    }

    async fn timeline_of(&self, id: IncidentId) -> Result<Vec<Event>, AppError> {
        let mut tx = self.store().read().await?;
        let case = tx.get_incident(id).await?.ok_or(AppError::NotFound)?;
        let entries = tx.incident_entries(id).await?;
        let from = case.opened_ms - TIMELINE_DAYS * DAY_MS;
        let mut filters = vec![EventFilter {
            target: Some(target(id)),
            ..Default::default()
        }];
        if case.source == IncidentSource::Alert
            && let Some(alert) = &case.source_ref
        {
            filters.push(EventFilter {
                target: Some(format!("alert:{alert}")),
                ..Default::default()
            });
        }
        if let Some(u) = case.user_id {
            filters.push(EventFilter {
                actor: Some(u),
                from_ms: Some(from),
                ..Default::default()
            });
        } else if let Some(pid) = case.party_id {
            filters.push(EventFilter {
                party: Some(pid),
                from_ms: Some(from),
                ..Default::default()
            });
        }
        if let Some(r) = case.room_id {
            filters.push(EventFilter {
                room: Some(r),
                from_ms: Some(from),
                ..Default::default()
            });
        }
        for e in entries
            .iter()
            .filter(|e| e.kind == IncidentEntryKind::Trace)
        {
            if let Some(mark) = e.detail["mark_id"].as_str() {
                filters.push(EventFilter {
                    mark_id: Some(mark.to_owned()),
                    ..Default::default()
                });
            }
        }
        let mut events: Vec<Event> = Vec::new();
        for mut f in filters {
            f.newest_first = true;
            f.limit = MAX_TIMELINE;
            events.extend(tx.search_events(&f).await?);
        }
        events.sort_by_key(|e| e.seq);
        events.dedup_by_key(|e| e.seq);
        if events.len() > MAX_TIMELINE as usize {
            events.drain(..events.len() - MAX_TIMELINE as usize);
        }
        Ok(events)
    }

    /// The case's evidence bundle: every event of its timeline with its
    /// inclusion proof against a checkpoint signed now, the checkpoint and the
    /// verifier key — the traced copies' digests and marks, the containment
    /// and every decision with who took it are events of the case. Recorded
    /// as `incident.export`.
    pub async fn evidence(
        &self,
        auth: Authorized<'_, act::IncidentRead, System>,
        id: IncidentId,
    ) -> Result<Bundle, AppError> {
        let (meta, p, _) = auth.into_parts();
        let events = self.timeline_of(id).await?;
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let bundle = self.evidence_of(&seqs).await?;
        let mut tx = self.store().begin().await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), EventName::IncidentExport, target(id))
                .with(json!({"entries": bundle.entries.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(bundle)
    }

    /// Hours from a case's opening to its notification deadline.
    pub async fn notify_hours(
        &self,
        _auth: Authorized<'_, act::IncidentRead, System>,
    ) -> Result<Option<i64>, AppError> {
        Ok(self.store().read().await?.incident_notify_hours().await?)
    }

    /// Sets the hours from a case's opening to its notification deadline
    /// (1 to a year, or none); cases opened later get that clock.
    pub async fn set_notify_hours(
        &self,
        auth: Authorized<'_, act::IncidentManage, System>,
        hours: Option<i64>,
    ) -> Result<Option<i64>, AppError> {
        let (meta, p, _) = auth.into_parts();
        if hours.is_some_and(|h| !(1..=MAX_NOTIFY_HOURS).contains(&h)) {
            return Err(AppError::invalid(
                ErrorCode::BadNotifyHours,
                format!("give 1 to {MAX_NOTIFY_HOURS} hours, or none"),
            ));
        }
        let mut tx = self.store().begin().await?;
        tx.set_incident_notify_hours(hours).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), Action::IncidentManage, "system".to_owned())
                .with(json!({"notify_hours": hours})),
        )
        .await?;
        tx.commit().await?;
        Ok(hours)
    }
}
