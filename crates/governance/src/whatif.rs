//! What-if: replays the recorded access events of the last days under the
//! policy set in force and under a proposed one, and reports every decision
//! that would change — before the proposed set is applied. Nothing is changed.
//!
//! An access event is one whose action is an authorized request (an
//! [`Action`] name) with an acting user. Each is decided again as `simulate`
//! decides: the user, the room (reached through the file or grant the event
//! names), its grants and the party's agreements from the current state, at
//! the event's time and source address, as a session with a second factor
//! (events do not record whether the session had one). A room action is
//! decided as a request is: a room the caller may not see hides every action
//! on it. Events whose user or target no longer exists are counted as skipped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use model::*;

use policy::ResourceType;

use kernel::authz::{Context, Decision, Policies as PolicySet, Principal, Resource, Verdict};
use kernel::events::EventFilter;
use kernel::facts::{CERTIFICATION, RoomRows, principal_for, required_courses, room_facts};
use kernel::{Action, AppError, Authorized, EventAction, System, act};
use store::Tx;

use crate::{Policies, PolicyProposal};

/// Longest window a what-if may replay, in days.
pub const MAX_DAYS: i64 = 366;

const DAY_MS: i64 = 86_400_000;

/// Events read per query while replaying.
const PAGE: i64 = 1000;

/// A decision as the caller would meet it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIfDecision {
    /// `allow`, `deny` or `hide` (the caller is told "not found").
    pub decision: &'static str,
    /// The reason code of a denial.
    pub reason: Option<&'static str>,
    /// The ids of the policies that determined it.
    pub policies: Vec<String>,
}

/// One recorded request whose decision would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionChange {
    pub seq: i64,
    pub time_ms: i64,
    pub user: UserId,
    pub action: String,
    pub target: String,
    /// Under the set in force.
    pub before: WhatIfDecision,
    /// Under the proposed set.
    pub after: WhatIfDecision,
}

/// The report of a what-if.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIf {
    /// The start of the window replayed (the end is now).
    pub from_ms: i64,
    /// Access events decided again.
    pub replayed: u64,
    /// Access events whose user or target no longer exists.
    pub skipped: u64,
    /// The decisions that change, oldest first.
    pub changes: Vec<DecisionChange>,
}

impl WhatIfDecision {
    fn of(v: &Verdict) -> WhatIfDecision {
        let (decision, reason) = match &v.decision {
            Decision::Allow => ("allow", None),
            Decision::Deny { reason, .. } => ("deny", Some(*reason)),
            Decision::Hide { reason } => ("hide", Some(*reason)),
        };
        WhatIfDecision {
            decision,
            reason,
            policies: v.policies.clone(),
        }
    }
}

/// Decides `action` as a request would be decided: a room action on a room
/// the caller may not see is hidden, whatever the action.
fn decide(
    pol: &PolicySet,
    who: &Principal,
    action: Action,
    res: &Resource,
    ctx: &Context,
) -> Verdict {
    if matches!(res, Resource::Room { .. }) && action != Action::RoomView {
        let visible = pol.explain(who, Action::RoomView.as_str(), res, ctx);
        if matches!(visible.decision, Decision::Hide { .. }) {
            return visible;
        }
    }
    pol.explain(who, action.as_str(), res, ctx)
}

/// The stored rows replayed events are decided from, each read once per
/// what-if (a long history of the same users and rooms costs few queries).
#[derive(Default)]
struct Cache {
    users: HashMap<UserId, Option<Principal>>,
    rooms: HashMap<RoomId, Option<(Room, Vec<String>)>>,
    grants: HashMap<UserId, Vec<Grant>>,
    agreements: HashMap<PartyId, Vec<Agreement>>,
    agreement: HashMap<AgreementId, Option<Agreement>>,
    file_rooms: HashMap<FileId, Option<RoomId>>,
    grant_rooms: HashMap<GrantId, Option<RoomId>>,
    /// The risk matrix in force when the what-if began.
    matrix: model::diligence::RiskMatrix,
}

impl Cache {
    /// The room a `room:`, `file:` or `grant:` target is in.
    async fn room_of(&mut self, tx: &mut Tx, target: &str) -> Result<Option<RoomId>, AppError> {
        let (kind, id) = target.split_once(':').unwrap_or((target, ""));
        let room = match kind {
            "room" => id.parse().ok(),
            "file" => match id.parse::<FileId>() {
                Ok(file) => match self.file_rooms.entry(file) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => *e.insert(tx.get_file(file).await?.map(|f| f.room_id)),
                },
                Err(_) => None,
            },
            "grant" => match id.parse::<GrantId>() {
                Ok(grant) => match self.grant_rooms.entry(grant) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => *e.insert(tx.get_grant(grant).await?.map(|g| g.room_id)),
                },
                Err(_) => None,
            },
            _ => None,
        };
        Ok(room)
    }

    /// The resource and context of a request by `who` on `target` at `ctx.now_ms`;
    /// `None` when the target no longer exists.
    async fn facts(
        &mut self,
        tx: &mut Tx,
        who: &Principal,
        ty: Option<ResourceType>,
        target: &str,
        ctx: Context,
    ) -> Result<Option<(Resource, Context)>, AppError> {
        match ty {
            Some(ResourceType::System) => Ok(Some((Resource::System, ctx))),
            Some(ResourceType::Agreement) => {
                let Some(id) = target
                    .strip_prefix("agreement:")
                    .and_then(|s| s.parse().ok())
                else {
                    return Ok(None);
                };
                if let Entry::Vacant(e) = self.agreement.entry(id) {
                    e.insert(tx.get_agreement(id).await?);
                }
                let res =
                    self.agreement
                        .get(&id)
                        .and_then(Option::as_ref)
                        .map(|a| Resource::Agreement {
                            id,
                            party_id: a.party_id,
                            kind: a.kind.as_str().to_owned(),
                            status: a.status.as_str().to_owned(),
                        });
                Ok(res.map(|res| (res, ctx)))
            }
            Some(ResourceType::Room) => {
                let Some(id) = self.room_of(tx, target).await? else {
                    return Ok(None);
                };
                if let Entry::Vacant(e) = self.rooms.entry(id) {
                    let room = match tx.get_room(id).await? {
                        Some(room) => Some((room, tx.room_requirements(id).await?)),
                        None => None,
                    };
                    e.insert(room);
                }
                if let Entry::Vacant(e) = self.grants.entry(who.user_id) {
                    e.insert(tx.grants_for(who.user_id, who.party_id).await?);
                }
                if let Entry::Vacant(e) = self.agreements.entry(who.party_id) {
                    e.insert(tx.list_agreements(Some(who.party_id)).await?);
                }
                let (Some(Some((room, required))), Some(grants), Some(agreements)) = (
                    self.rooms.get(&id),
                    self.grants.get(&who.user_id),
                    self.agreements.get(&who.party_id),
                ) else {
                    return Ok(None);
                };
                let required_certifications = tx
                    .required_qualifications(room.id, room.classification, CERTIFICATION)
                    .await?;
                let certifications = tx.list_certifications(who.party_id).await?;
                let required_courses = required_courses(tx, room).await?;
                let completions = tx.user_completions(who.user_id).await?;
                let rows = RoomRows {
                    room,
                    required,
                    grants,
                    agreements,
                    caller: who,
                    matrix: &self.matrix,
                    // Replays do not re-read evidence rooms: a prospective
                    // party's uploads replay as refused.
                    evidence_room: false,
                    required_certifications: &required_certifications,
                    certifications: &certifications,
                    required_courses: &required_courses,
                    completions: &completions,
                };
                Ok(Some(room_facts(&rows, ctx)))
            }
            None => Ok(None),
        }
    }
}

impl Policies<'_> {
    /// Replays the access events of the last `days` days under the set in
    /// force and under `proposal`, and lists the decisions that change. The
    /// proposal is first validated and checked for lockout, as by `apply`.
    pub async fn what_if(
        &self,
        auth: Authorized<'_, act::PolicySimulate, System>,
        proposal: &PolicyProposal,
        days: i64,
    ) -> Result<WhatIf, AppError> {
        let (meta, _, _) = auth.into_parts();
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(AppError::invalid(
                ErrorCode::BadDays,
                format!("`days` must be between 1 and {MAX_DAYS}"),
            ));
        }
        let proposed = self.proposed(meta, proposal).await?;
        let current = self.policies()?;
        let from_ms = self.now() - days * DAY_MS;
        let mut report = WhatIf {
            from_ms,
            replayed: 0,
            skipped: 0,
            changes: vec![],
        };
        let mut tx = self.store().read().await?;
        let sets = Sets {
            current: &current,
            proposed: &proposed,
        };
        let mut cache = Cache {
            matrix: self.risk().matrix.clone(),
            ..Cache::default()
        };
        let mut after = 0;
        loop {
            let filter = EventFilter {
                from_ms: Some(from_ms),
                after,
                limit: PAGE,
                ..EventFilter::default()
            };
            let events = tx.search_events(&filter).await?;
            let Some(last) = events.last() else {
                break;
            };
            after = last.seq;
            for event in &events {
                match self.replay(&mut tx, &mut cache, &sets, event).await? {
                    Replay::NotAccess => {}
                    Replay::Skipped => report.skipped += 1,
                    Replay::Same => report.replayed += 1,
                    Replay::Changed(change) => {
                        report.replayed += 1;
                        report.changes.push(*change);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Decides the request `event` recorded again under both sets.
    async fn replay(
        &self,
        tx: &mut Tx,
        cache: &mut Cache,
        sets: &Sets<'_>,
        event: &Event,
    ) -> Result<Replay, AppError> {
        // Only the catalogue's authorization actions are requests to decide
        // again; its other names (sign-ins, holds, key rotations) are not.
        let recorded = EventAction::parse(&event.action);
        let (Some(EventAction::Action(action)), Some(user)) = (recorded, event.actor_user) else {
            return Ok(Replay::NotAccess);
        };
        if let Entry::Vacant(slot) = cache.users.entry(user) {
            let who = match tx.get_user(user).await? {
                Some(u) => Some(principal_for(tx, &u, true).await?),
                None => None,
            };
            slot.insert(who);
        }
        let Some(Some(who)) = cache.users.get(&user).cloned() else {
            return Ok(Replay::Skipped);
        };
        let mut ctx = Context {
            now_ms: event.time_ms,
            source_addr: event.source_addr.clone(),
            ..Context::default()
        };
        // The zones in force now: the recorded address is placed as it would be today.
        self.locate(&mut ctx);
        let ty = sets.current.resource_type(action.as_str());
        let Some((res, ctx)) = cache.facts(tx, &who, ty, &event.target, ctx).await? else {
            return Ok(Replay::Skipped);
        };
        let who = &who;
        let before = WhatIfDecision::of(&decide(sets.current, who, action, &res, &ctx));
        let after = WhatIfDecision::of(&decide(sets.proposed, who, action, &res, &ctx));
        if before.decision == after.decision {
            return Ok(Replay::Same);
        }
        Ok(Replay::Changed(Box::new(DecisionChange {
            seq: event.seq,
            time_ms: event.time_ms,
            user,
            action: event.action.clone(),
            target: event.target.clone(),
            before,
            after,
        })))
    }
}

/// The two sets a what-if compares.
struct Sets<'a> {
    current: &'a PolicySet,
    proposed: &'a PolicySet,
}

/// What replaying one event gave.
enum Replay {
    /// Not an authorized request.
    NotAccess,
    /// Its user or target no longer exists.
    Skipped,
    Same,
    Changed(Box<DecisionChange>),
}
