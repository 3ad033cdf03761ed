//! Access-review campaigns: the owner's admins and security officers say what
//! to review (every external grant, one party's, one room's, one
//! classification's), who reviews (each room's managers, each party's sponsor,
//! named staff, and a fallback for a grant no one else would review), when it
//! starts and is due, what happens to a grant nobody reviewed, and whether it
//! recurs. When a campaign starts, the grants it covers are gathered once with
//! their reviewers, who are told; a reviewer confirms or revokes each grant
//! with a justification, one by one or in bulk (the latest word counts, each is
//! recorded); two days before the due date those with grants still undecided
//! are reminded. At the due date the campaign applies itself in one
//! transaction: revoked grants end, unreviewed ones end too, stay, or stay
//! flagged as the campaign says, every grant's outcome is recorded as an event
//! of the campaign (so the report verifies offline from the ledger), and the
//! next campaign of a recurring one is scheduled.
//!
//! Nobody reviews their own grant: the subject of a grant is never among its
//! reviewers (the fallback then, unless it is the subject too — then nobody
//! can decide it, and the unreviewed rule applies).

use std::collections::BTreeSet;

use model::*;
use serde::Serialize;
use serde_json::json;

use kernel::events::{Fact, notify, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, Authorized, EventName, RequestMeta, System, act};
use store::Tx;

/// A day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// Reviewers with undecided grants are reminded this long before the due date.
pub const REMIND_BEFORE_MS: i64 = 2 * DAY_MS;
/// The activity a reviewer sees is counted from this long before the start.
pub const ACTIVITY_WINDOW_MS: i64 = 90 * DAY_MS;
/// Most characters of a campaign's name.
pub const MAX_NAME: usize = 200;
/// Most characters of a justification.
pub const MAX_JUSTIFICATION: usize = 500;
/// Most named staff reviewers.
pub const MAX_STAFF: usize = 50;
/// Longest recurrence, in days.
pub const MAX_EVERY_DAYS: i64 = 3660;
/// Campaigns listed at most.
pub const MAX_LISTED: i64 = 500;
/// Campaigns the sweep handles per run.
const SWEEP_BATCH: i64 = 50;

/// A campaign as an admin or security officer asks for it.
#[derive(Clone, Debug)]
pub struct NewCampaign {
    pub name: String,
    pub scope: ReviewScopeKind,
    /// The party id, room id or classification the scope names.
    pub scope_value: Option<String>,
    pub room_managers: bool,
    pub sponsors: bool,
    pub staff: Vec<UserId>,
    pub fallback: UserId,
    pub starts_ms: i64,
    pub due_ms: i64,
    pub unreviewed: Unreviewed,
    pub every_days: Option<i64>,
}

/// A campaign with how far its review got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    #[serde(flatten)]
    pub campaign: ReviewCampaign,
    /// What the scope names, in words (the party's or room's name).
    pub scope_label: String,
    pub grants: usize,
    pub decided: usize,
    /// Grants the caller reviews and has not decided (for a reviewer's list).
    pub pending_for_caller: usize,
}

/// What a reviewer decides on: one grant, with whom and what it opens, and
/// the decision helpers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReviewRow {
    #[serde(flatten)]
    pub item: ReviewItem,
    pub room_name: String,
    pub room_classification: Classification,
    /// The user's display name and e-mail, or the party's name.
    pub subject_label: String,
    pub party_id: Option<PartyId>,
    pub party_name: String,
    pub party_status: Option<PartyStatus>,
    pub tier: Option<model::diligence::RiskTier>,
    pub tier_until_ms: Option<i64>,
    /// The last allowed event of the subject on the room or its files.
    pub last_access_ms: Option<i64>,
    /// Allowed downloads and page views since [`ACTIVITY_WINDOW_MS`] before the start.
    pub downloads: i64,
    pub views: i64,
    pub activity_since_ms: i64,
    /// The party's agreements in force: (title, end).
    pub agreements: Vec<(String, Option<i64>)>,
    /// The party's verified certificates in term: (title, end).
    pub certifications: Vec<(String, i64)>,
    /// The user's security training end (a user's grant only).
    pub training_until_ms: Option<i64>,
    /// The reviewers' names, and who decided, in words.
    pub reviewer_labels: Vec<String>,
    pub decided_by_label: Option<String>,
    /// Whether the caller may decide it now.
    pub caller_decides: bool,
}

/// A campaign with the grants the caller sees in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CampaignView {
    #[serde(flatten)]
    pub summary: CampaignSummary,
    pub fallback_label: String,
    pub staff_labels: Vec<String>,
    pub rows: Vec<ReviewRow>,
}

/// Access-review campaigns.
pub struct Reviews<'a>(pub &'a App);

impl std::ops::Deref for Reviews<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::invalid(ErrorCode::InvalidCampaign, message)
}

/// One line of printable text, trimmed, of 1 to `max` characters.
fn line(raw: &str, max: usize) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control))
        .then(|| t.to_owned())
}

/// A justification: one line of 1 to [`MAX_JUSTIFICATION`] characters.
pub fn check_justification(raw: &str) -> Result<String, AppError> {
    line(raw, MAX_JUSTIFICATION).ok_or_else(|| {
        AppError::invalid(
            ErrorCode::BadJustificationText,
            format!("give a justification of 1 to {MAX_JUSTIFICATION} characters on one line"),
        )
    })
}

/// An active user of the owner party, or the campaign is refused.
async fn staff_user(tx: &mut Tx, id: UserId, owner: PartyId, what: &str) -> Result<User, AppError> {
    match tx.get_user(id).await? {
        Some(u) if u.party_id == owner && !u.disabled => Ok(u),
        _ => Err(invalid(format!(
            "the {what} `{id}` is not an enabled user of the owner"
        ))),
    }
}

/// Checks a campaign and names what its scope names.
async fn check(tx: &mut Tx, new: &NewCampaign, now: i64) -> Result<ReviewCampaignDraft, AppError> {
    let name = line(&new.name, MAX_NAME).ok_or_else(|| {
        invalid(format!(
            "give the campaign a name of 1 to {MAX_NAME} characters on one line"
        ))
    })?;
    let value = new
        .scope_value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let scope_value = match (new.scope, value) {
        (ReviewScopeKind::External, None) => None,
        (ReviewScopeKind::External, Some(_)) => {
            return Err(invalid("the scope `external` names nothing else"));
        }
        (_, None) => {
            return Err(invalid(format!(
                "the scope `{}` needs the {} it covers",
                new.scope,
                match new.scope {
                    ReviewScopeKind::Party => "party",
                    ReviewScopeKind::Room => "room",
                    _ => "classification",
                }
            )));
        }
        (ReviewScopeKind::Party, Some(v)) => {
            let id: PartyId = v
                .parse()
                .map_err(|_| invalid(format!("`{v}` is not a party id")))?;
            match tx.get_party(id).await? {
                Some(p) if p.kind == PartyKind::External => Some(id.to_string()),
                _ => return Err(invalid(format!("no external party `{v}`"))),
            }
        }
        (ReviewScopeKind::Room, Some(v)) => {
            let id: RoomId = v
                .parse()
                .map_err(|_| invalid(format!("`{v}` is not a room id")))?;
            match tx.get_room(id).await? {
                Some(_) => Some(id.to_string()),
                _ => return Err(invalid(format!("no room `{v}`"))),
            }
        }
        (ReviewScopeKind::Classification, Some(v)) => Some(
            Classification::parse(v)
                .map_err(|e| invalid(e.to_string()))?
                .as_str()
                .to_owned(),
        ),
    };
    let owner = tx
        .owner_party()
        .await?
        .ok_or_else(|| AppError::internal("no owner party"))?
        .id;
    if new.staff.len() > MAX_STAFF {
        return Err(invalid(format!("name at most {MAX_STAFF} staff reviewers")));
    }
    let mut staff = Vec::new();
    for id in &new.staff {
        if !staff.contains(id) {
            staff_user(tx, *id, owner, "reviewer").await?;
            staff.push(*id);
        }
    }
    staff_user(tx, new.fallback, owner, "fallback reviewer").await?;
    if new.due_ms <= new.starts_ms {
        return Err(invalid("the due date must come after the start"));
    }
    if new.due_ms <= now {
        return Err(invalid("the due date has passed already"));
    }
    if let Some(days) = new.every_days
        && !(1..=MAX_EVERY_DAYS).contains(&days)
    {
        return Err(invalid(format!(
            "a campaign recurs every 1 to {MAX_EVERY_DAYS} days"
        )));
    }
    if new
        .every_days
        .is_some_and(|d| d * DAY_MS < new.due_ms - new.starts_ms)
    {
        return Err(invalid(
            "a recurring campaign must be due before the next one starts",
        ));
    }
    Ok(ReviewCampaignDraft {
        name,
        scope_value,
        staff,
    })
}

struct ReviewCampaignDraft {
    name: String,
    scope_value: Option<String>,
    staff: Vec<UserId>,
}

fn campaign_detail(c: &ReviewCampaign) -> serde_json::Value {
    json!({
        "name": c.name, "scope": c.scope.as_str(), "scope_value": c.scope_value,
        "room_managers": c.room_managers, "sponsors": c.sponsors, "staff": c.staff,
        "fallback": c.fallback, "starts_ms": c.starts_ms, "due_ms": c.due_ms,
        "unreviewed": c.unreviewed.as_str(), "every_days": c.every_days,
    })
}

/// Gathers the grants a campaign covers with their reviewers, opens it and
/// tells each reviewer once. False when another node opened it first.
async fn open(tx: &mut Tx, c: &ReviewCampaign, now: i64) -> Result<bool, AppError> {
    if !tx
        .move_review_campaign(c.id, ReviewStatus::Scheduled, ReviewStatus::Open, None)
        .await?
    {
        return Ok(false);
    }
    let grants = tx
        .grants_in_scope(c.scope, c.scope_value.as_deref(), now)
        .await?;
    let mut told = BTreeSet::new();
    for g in &grants {
        let mut reviewers: Vec<UserId> = c.staff.clone();
        if c.room_managers {
            reviewers.extend(tx.owner_room_managers(g.grant.room_id, now).await?);
        }
        if c.sponsors
            && let Some(s) = tx.party_sponsor(g.subject_party).await?
            && tx.get_user(s).await?.is_some_and(|u| !u.disabled)
        {
            reviewers.push(s);
        }
        // Nobody reviews their own grant.
        let own =
            |u: &UserId| g.grant.subject_kind == SubjectKind::User && u.0 == g.grant.subject_id;
        reviewers.retain(|u| !own(u));
        let mut seen = BTreeSet::new();
        reviewers.retain(|u| seen.insert(*u));
        if reviewers.is_empty() && !own(&c.fallback) {
            reviewers.push(c.fallback);
        }
        told.extend(reviewers.iter().copied());
        tx.insert_review_item(&ReviewItem {
            campaign_id: c.id,
            grant_id: g.grant.id,
            room_id: g.grant.room_id,
            subject_kind: g.grant.subject_kind,
            subject_id: g.grant.subject_id,
            role: g.grant.role,
            reviewers,
            decision: None,
            decided_by: None,
            decided_ms: None,
            justification: None,
            outcome: None,
        })
        .await?;
    }
    let target = format!("review:{}", c.id);
    let detail = json!({"grants": grants.len(), "reviewers": told.len(), "due_ms": c.due_ms});
    record(
        tx,
        &RequestMeta::default(),
        now,
        Fact::allowed(None, EventName::ReviewOpen, target.clone()).with(detail),
    )
    .await?;
    for user in told {
        let message = format!(
            "The access review “{}” started: decide the grants you review by {}.",
            c.name,
            model::utc_date(c.due_ms)
        );
        notify(
            tx,
            user,
            now,
            EventName::ReviewOpen.as_str(),
            target.clone(),
            message,
        )
        .await?;
    }
    Ok(true)
}

/// What the due date does to one grant.
fn outcome_of(item: &ReviewItem, live: bool, unreviewed: Unreviewed) -> ReviewOutcome {
    match (live, item.decision, unreviewed) {
        (false, _, _) => ReviewOutcome::Gone,
        (true, Some(ReviewDecision::Revoke), _) | (true, None, Unreviewed::Remove) => {
            ReviewOutcome::Ended
        }
        (true, Some(ReviewDecision::Confirm), _) | (true, None, Unreviewed::Keep) => {
            ReviewOutcome::Kept
        }
        (true, None, Unreviewed::Flag) => ReviewOutcome::Flagged,
    }
}

/// Applies a campaign at its due date (see the module's documentation).
/// False when another node applied it first.
async fn apply(tx: &mut Tx, c: &ReviewCampaign, now: i64) -> Result<bool, AppError> {
    if !tx
        .move_review_campaign(c.id, ReviewStatus::Open, ReviewStatus::Applied, Some(now))
        .await?
    {
        return Ok(false);
    }
    let target = format!("review:{}", c.id);
    let meta = RequestMeta::default();
    let mut counts = [0usize; 4];
    for item in tx.review_items(c.id).await? {
        let live = match tx.get_grant(item.grant_id).await? {
            Some(g) => {
                g.expires_ms.is_none_or(|e| e > now) && grant_live(tx, item.grant_id).await?
            }
            None => false,
        };
        let mut outcome = outcome_of(&item, live, c.unreviewed);
        if outcome == ReviewOutcome::Ended && !tx.revoke_grant(item.grant_id, now).await? {
            outcome = ReviewOutcome::Gone;
        }
        counts[outcome as usize] += 1;
        tx.set_review_outcome(c.id, item.grant_id, outcome).await?;
        let detail = json!({
            "grant": item.grant_id, "room": item.room_id,
            "subject_kind": item.subject_kind.as_str(), "subject": item.subject_id,
            "role": item.role.as_str(), "outcome": outcome.as_str(),
            "decision": item.decision.map(ReviewDecision::as_str),
            "decided_by": item.decided_by, "decided_ms": item.decided_ms,
            "justification": item.justification,
        });
        record(
            tx,
            &meta,
            now,
            Fact::allowed(None, EventName::ReviewOutcome, target.clone()).with(detail),
        )
        .await?;
    }
    let next = match c.every_days {
        Some(days) => {
            let shift = days * DAY_MS;
            let next = ReviewCampaign {
                id: ReviewId::from_random(random()?),
                starts_ms: c.starts_ms + shift,
                due_ms: c.due_ms + shift,
                status: ReviewStatus::Scheduled,
                created_ms: now,
                applied_ms: None,
                ..c.clone()
            };
            tx.insert_review_campaign(&next).await?;
            let detail = json!({"after": c.id, "campaign": campaign_detail(&next)});
            record(
                tx,
                &meta,
                now,
                Fact::allowed(None, EventName::ReviewCreate, format!("review:{}", next.id))
                    .with(detail),
            )
            .await?;
            Some(next.id)
        }
        None => None,
    };
    let [kept, ended, flagged, gone] = counts;
    let detail = json!({
        "kept": kept, "ended": ended, "flagged": flagged, "gone": gone, "next": next,
    });
    record(
        tx,
        &meta,
        now,
        Fact::allowed(None, EventName::ReviewApply, target.clone()).with(detail),
    )
    .await?;
    let mut tell = BTreeSet::from([c.created_by, c.fallback]);
    if flagged > 0 {
        tell.extend(c.staff.iter().copied());
    }
    let message = format!(
        "The access review “{}” applied itself: {kept} grants kept, {ended} ended, {flagged} flagged for follow-up, {gone} ended before.",
        c.name
    );
    for user in tell {
        notify(
            tx,
            user,
            now,
            EventName::ReviewApply.as_str(),
            target.clone(),
            message.clone(),
        )
        .await?;
    }
    Ok(true)
}

/// Whether the grant is not revoked.
async fn grant_live(tx: &mut Tx, id: GrantId) -> Result<bool, AppError> {
    Ok(tx.grant_revoked_ms(id).await?.is_none())
}

/// Reminds once, two days before the due date, every reviewer with grants
/// still undecided. False when nothing was due or another node did it.
async fn remind(tx: &mut Tx, c: &ReviewCampaign, now: i64) -> Result<bool, AppError> {
    if !tx.mark_review_reminded(c.id, now).await? {
        return Ok(false);
    }
    let mut pending = BTreeSet::new();
    for item in tx.review_items(c.id).await? {
        if item.decision.is_none() {
            pending.extend(item.reviewers.iter().copied());
        }
    }
    let target = format!("review:{}", c.id);
    record(
        tx,
        &RequestMeta::default(),
        now,
        Fact::allowed(None, EventName::ReviewRemind, target.clone())
            .with(json!({"reviewers": pending.len(), "due_ms": c.due_ms})),
    )
    .await?;
    for user in pending {
        let message = format!(
            "The access review “{}” is due on {}: some grants you review are still undecided; at the due date they are {}.",
            c.name,
            model::utc_date(c.due_ms),
            match c.unreviewed {
                Unreviewed::Remove => "removed",
                Unreviewed::Keep => "kept",
                Unreviewed::Flag => "kept and flagged",
            }
        );
        notify(
            tx,
            user,
            now,
            EventName::ReviewRemind.as_str(),
            target.clone(),
            message,
        )
        .await?;
    }
    Ok(true)
}

/// The name of a user in words.
fn user_label(u: &User) -> String {
    format!("{} <{}>", u.display_name, u.email)
}

async fn label_of(tx: &mut Tx, id: UserId) -> Result<String, AppError> {
    Ok(match tx.get_user(id).await? {
        Some(u) => user_label(&u),
        None => id.to_string(),
    })
}

async fn scope_label(tx: &mut Tx, c: &ReviewCampaign) -> Result<String, AppError> {
    let value = c.scope_value.clone().unwrap_or_default();
    Ok(match c.scope {
        ReviewScopeKind::External => "every grant to an external party".to_owned(),
        ReviewScopeKind::Party => {
            let name = match value.parse::<PartyId>() {
                Ok(id) => tx.get_party(id).await?.map(|p| p.name),
                Err(_) => None,
            };
            format!("the party {}", name.unwrap_or(value))
        }
        ReviewScopeKind::Room => {
            let name = match value.parse::<RoomId>() {
                Ok(id) => tx.get_room(id).await?.map(|r| r.name),
                Err(_) => None,
            };
            format!("the room {}", name.unwrap_or(value))
        }
        ReviewScopeKind::Classification => format!("every room classified {value}"),
    })
}

/// A campaign with its counts, from its items (read once by the caller).
async fn summary(
    tx: &mut Tx,
    c: ReviewCampaign,
    items: &[ReviewItem],
    caller: UserId,
) -> Result<CampaignSummary, AppError> {
    let decided = items.iter().filter(|i| i.decision.is_some()).count();
    let pending_for_caller = items
        .iter()
        .filter(|i| i.decision.is_none() && i.reviewers.contains(&caller))
        .count();
    Ok(CampaignSummary {
        scope_label: scope_label(tx, &c).await?,
        grants: items.len(),
        decided,
        pending_for_caller,
        campaign: c,
    })
}

async fn row(
    tx: &mut Tx,
    c: &ReviewCampaign,
    item: ReviewItem,
    caller: UserId,
    now: i64,
) -> Result<ReviewRow, AppError> {
    let room = tx.get_room(item.room_id).await?;
    let (subject_label, party_id, training_until_ms) = match item.subject_kind {
        SubjectKind::User => match tx.get_user(UserId(item.subject_id)).await? {
            Some(u) => (user_label(&u), Some(u.party_id), u.training_until_ms),
            None => (item.subject_id.to_string(), None, None),
        },
        SubjectKind::Party => {
            let id = PartyId(item.subject_id);
            let name = tx.get_party(id).await?.map(|p| p.name);
            (
                format!("the party {}", name.unwrap_or_else(|| id.to_string())),
                Some(id),
                None,
            )
        }
    };
    let party = match party_id {
        Some(id) => tx.get_party(id).await?,
        None => None,
    };
    let (agreements, certifications) = match party_id {
        Some(id) => {
            let agreements = tx
                .list_agreements(Some(id))
                .await?
                .into_iter()
                .filter(|a| a.in_force(now))
                .map(|a| (a.title, a.end_ms))
                .collect();
            let certs = tx
                .list_certifications(id)
                .await?
                .into_iter()
                .filter(|x| x.in_term(now))
                .map(|x| (x.title(), x.valid_until_ms))
                .collect();
            (agreements, certs)
        }
        None => (Vec::new(), Vec::new()),
    };
    let since = c.starts_ms - ACTIVITY_WINDOW_MS;
    let activity = tx
        .room_activity(item.room_id, item.subject_kind, item.subject_id, since)
        .await?;
    let mut reviewer_labels = Vec::with_capacity(item.reviewers.len());
    for r in &item.reviewers {
        reviewer_labels.push(label_of(tx, *r).await?);
    }
    let decided_by_label = match item.decided_by {
        Some(u) => Some(label_of(tx, u).await?),
        None => None,
    };
    let caller_decides = c.status == ReviewStatus::Open && item.reviewers.contains(&caller);
    Ok(ReviewRow {
        room_name: room.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        room_classification: room
            .as_ref()
            .map_or(Classification::Internal, |r| r.classification),
        subject_label,
        party_id,
        party_name: party.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        party_status: party.as_ref().map(|p| p.status),
        tier: party.as_ref().and_then(|p| p.tier),
        tier_until_ms: party.as_ref().and_then(|p| p.tier_until_ms),
        last_access_ms: activity.last_ms,
        downloads: activity.downloads,
        views: activity.views,
        activity_since_ms: since,
        agreements,
        certifications,
        training_until_ms,
        reviewer_labels,
        decided_by_label,
        caller_decides,
        item,
    })
}

impl Reviews<'_> {
    /// Makes a campaign; one whose start has come opens at once (its grants
    /// gathered, its reviewers told) in the same transaction.
    pub async fn create(
        &self,
        auth: Authorized<'_, act::ReviewManage, System>,
        new: NewCampaign,
    ) -> Result<CampaignSummary, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let draft = check(&mut tx, &new, now).await?;
        let c = ReviewCampaign {
            id: ReviewId::from_random(random()?),
            name: draft.name,
            scope: new.scope,
            scope_value: draft.scope_value,
            room_managers: new.room_managers,
            sponsors: new.sponsors,
            staff: draft.staff,
            fallback: new.fallback,
            starts_ms: new.starts_ms,
            due_ms: new.due_ms,
            unreviewed: new.unreviewed,
            every_days: new.every_days,
            status: ReviewStatus::Scheduled,
            created_by: p.user_id,
            created_ms: now,
            applied_ms: None,
        };
        tx.insert_review_campaign(&c).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), EventName::ReviewCreate, format!("review:{}", c.id))
                .with(campaign_detail(&c)),
        )
        .await?;
        if c.starts_ms <= now {
            open(&mut tx, &c, now).await?;
        }
        let c = tx
            .get_review_campaign(c.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let items = tx.review_items(c.id).await?;
        let out = summary(&mut tx, c, &items, p.user_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The campaigns that review grants of `party`, newest due date first:
    /// the party page's section.
    pub async fn of_party(
        &self,
        _auth: Authorized<'_, act::ReviewManage, System>,
        party: PartyId,
    ) -> Result<Vec<store::PartyReview>, AppError> {
        Ok(self
            .store()
            .read()
            .await?
            .party_reviews(party, MAX_LISTED)
            .await?)
    }

    /// One campaign as stored (no grants, no helpers).
    pub async fn campaign(
        &self,
        _auth: Authorized<'_, act::ReviewManage, System>,
        id: ReviewId,
    ) -> Result<ReviewCampaign, AppError> {
        self.store()
            .read()
            .await?
            .get_review_campaign(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Every campaign, newest start first.
    pub async fn list(
        &self,
        auth: Authorized<'_, act::ReviewManage, System>,
    ) -> Result<Vec<CampaignSummary>, AppError> {
        let caller = auth.principal().user_id;
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for c in tx.list_review_campaigns(MAX_LISTED).await? {
            let items = tx.review_items(c.id).await?;
            out.push(summary(&mut tx, c, &items, caller).await?);
        }
        Ok(out)
    }

    /// The open campaigns in which the caller reviews grants.
    pub async fn assigned(
        &self,
        auth: Authorized<'_, act::ReviewDecide, System>,
    ) -> Result<Vec<CampaignSummary>, AppError> {
        let caller = auth.principal().user_id;
        let mut tx = self.store().read().await?;
        let mut out = Vec::new();
        for c in tx.list_review_campaigns(MAX_LISTED).await? {
            if c.status != ReviewStatus::Open {
                continue;
            }
            let items = tx.review_items(c.id).await?;
            if items.iter().any(|i| i.reviewers.contains(&caller)) {
                out.push(summary(&mut tx, c, &items, caller).await?);
            }
        }
        Ok(out)
    }

    /// The whole campaign: every grant, decision, reviewer, time and
    /// justification, with the decision helpers (the report).
    pub async fn report(
        &self,
        auth: Authorized<'_, act::ReviewManage, System>,
        id: ReviewId,
    ) -> Result<CampaignView, AppError> {
        let caller = auth.principal().user_id;
        self.view(id, caller, true).await
    }

    /// The grants of a campaign the caller reviews, with the decision
    /// helpers; `NotFound` when the caller reviews none of it.
    pub async fn for_reviewer(
        &self,
        auth: Authorized<'_, act::ReviewDecide, System>,
        id: ReviewId,
    ) -> Result<CampaignView, AppError> {
        let caller = auth.principal().user_id;
        let view = self.view(id, caller, false).await?;
        if view.rows.is_empty() {
            return Err(AppError::NotFound);
        }
        Ok(view)
    }

    async fn view(
        &self,
        id: ReviewId,
        caller: UserId,
        all: bool,
    ) -> Result<CampaignView, AppError> {
        let now = self.now();
        let mut tx = self.store().read().await?;
        let c = tx
            .get_review_campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let items = tx.review_items(id).await?;
        let mut rows = Vec::new();
        for item in &items {
            if all || item.reviewers.contains(&caller) {
                rows.push(row(&mut tx, &c, item.clone(), caller, now).await?);
            }
        }
        let fallback_label = label_of(&mut tx, c.fallback).await?;
        let mut staff_labels = Vec::new();
        for s in &c.staff {
            staff_labels.push(label_of(&mut tx, *s).await?);
        }
        Ok(CampaignView {
            summary: summary(&mut tx, c, &items, caller).await?,
            fallback_label,
            staff_labels,
            rows,
        })
    }

    /// Records the caller's decision on each grant named, with one
    /// justification (one grant, or many in bulk): all or none. Each is an
    /// event of the campaign; a later decision replaces an earlier one until
    /// the due date.
    pub async fn decide(
        &self,
        auth: Authorized<'_, act::ReviewDecide, System>,
        id: ReviewId,
        grants: &[GrantId],
        decision: ReviewDecision,
        justification: &str,
    ) -> Result<usize, AppError> {
        let (meta, p, _) = auth.into_parts();
        let justification = check_justification(justification)?;
        if grants.is_empty() {
            return Err(AppError::invalid(
                ErrorCode::NotUnderReview,
                "choose at least one grant to decide",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let c = tx
            .get_review_campaign(id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Taken on the campaign's row: a decision waits for an apply that
        // runs at the same time, and is then refused.
        if !tx.lock_open_review(id).await? {
            return Err(closed(&c));
        }
        let items = tx.review_items(id).await?;
        let target = format!("review:{id}");
        let mut seen = BTreeSet::new();
        for g in grants {
            if !seen.insert(*g) {
                continue;
            }
            let Some(item) = items.iter().find(|i| i.grant_id == *g) else {
                return Err(AppError::invalid(
                    ErrorCode::NotUnderReview,
                    format!("the grant `{g}` is not under review in this campaign"),
                ));
            };
            if !item.reviewers.contains(&p.user_id) {
                return Err(AppError::invalid(
                    ErrorCode::NotReviewer,
                    format!("you are not a reviewer of the grant `{g}` in this campaign"),
                ));
            }
            if !tx
                .decide_review_item(id, *g, decision, p.user_id, now, &justification)
                .await?
            {
                return Err(closed(&c));
            }
            let detail = json!({
                "grant": g, "room": item.room_id, "subject_kind": item.subject_kind.as_str(),
                "subject": item.subject_id, "role": item.role.as_str(),
                "decision": decision.as_str(), "justification": justification,
                "was": item.decision.map(ReviewDecision::as_str),
            });
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(Some(p), Action::ReviewDecide, target.clone()).with(detail),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(seen.len())
    }

    /// Opens campaigns whose start came, reminds reviewers two days before a
    /// due date, applies campaigns whose due date came. Returns how many
    /// campaigns it moved.
    pub async fn sweep(&self) -> Result<usize, AppError> {
        let now = self.now();
        let due = self
            .store()
            .read()
            .await?
            .due_review_campaigns(now + REMIND_BEFORE_MS, SWEEP_BATCH)
            .await?;
        let mut moved = 0;
        for c in due {
            let mut tx = self.store().begin().await?;
            let done = match c.status {
                ReviewStatus::Scheduled if c.starts_ms <= now => open(&mut tx, &c, now).await?,
                ReviewStatus::Open if c.due_ms <= now => apply(&mut tx, &c, now).await?,
                ReviewStatus::Open => remind(&mut tx, &c, now).await?,
                _ => false,
            };
            tx.commit().await?;
            moved += usize::from(done);
        }
        Ok(moved)
    }
}

fn closed(c: &ReviewCampaign) -> AppError {
    AppError::invalid(
        ErrorCode::ReviewClosed,
        match c.status {
            ReviewStatus::Scheduled => format!(
                "the campaign “{}” has not started: it opens on {}",
                c.name,
                model::utc_date(c.starts_ms)
            ),
            _ => format!(
                "the campaign “{}” reached its due date and was applied: it takes no more decisions",
                c.name
            ),
        },
    )
}

/// The report as CSV (RFC 4180): one line per grant with its decision,
/// reviewer, time, justification and outcome. A field that a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// is prefixed with `'`.
pub fn report_csv(view: &CampaignView) -> String {
    let mut out = String::from(
        "campaign,grant,room,classification,subject_kind,subject,party,role,reviewers,decision,decided_by,decided_at,justification,outcome,last_access,downloads,views\r\n",
    );
    for r in &view.rows {
        let fields = [
            view.summary.campaign.id.to_string(),
            r.item.grant_id.to_string(),
            r.room_name.clone(),
            r.room_classification.as_str().to_owned(),
            r.item.subject_kind.as_str().to_owned(),
            r.subject_label.clone(),
            r.party_name.clone(),
            r.item.role.as_str().to_owned(),
            r.reviewer_labels.join("; "),
            r.item
                .decision
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            r.decided_by_label.clone().unwrap_or_default(),
            r.item.decided_ms.map(model::utc_time).unwrap_or_default(),
            r.item.justification.clone().unwrap_or_default(),
            r.item
                .outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            r.last_access_ms.map(model::utc_time).unwrap_or_default(),
            r.downloads.to_string(),
            r.views.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        for (raw, want) in [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("two\nlines", "\"two\nlines\""),
            ("", ""),
        ] {
            assert_eq!(csv_field(raw), want, "{raw:?}");
        }
    }

    fn item(decision: Option<ReviewDecision>) -> ReviewItem {
        ReviewItem {
            campaign_id: ReviewId::from_random([1; 16]),
            grant_id: GrantId::from_random([2; 16]),
            room_id: RoomId::from_random([3; 16]),
            subject_kind: SubjectKind::User,
            subject_id: uuid::Uuid::from_bytes([4; 16]),
            role: RoomRole::Viewer,
            reviewers: vec![],
            decision,
            decided_by: None,
            decided_ms: None,
            justification: None,
            outcome: None,
        }
    }

    #[test]
    fn the_due_date_decides_each_grant() {
        use ReviewDecision::*;
        use ReviewOutcome::*;
        for (decision, live, unreviewed, want) in [
            (Some(Revoke), true, Unreviewed::Keep, Ended),
            (Some(Confirm), true, Unreviewed::Remove, Kept),
            (None, true, Unreviewed::Remove, Ended),
            (None, true, Unreviewed::Keep, Kept),
            (None, true, Unreviewed::Flag, Flagged),
            (Some(Confirm), false, Unreviewed::Keep, Gone),
            (Some(Revoke), false, Unreviewed::Keep, Gone),
            (None, false, Unreviewed::Remove, Gone),
        ] {
            assert_eq!(
                outcome_of(&item(decision), live, unreviewed),
                want,
                "{decision:?} live {live} {unreviewed:?}"
            );
        }
    }

    #[test]
    fn justifications_are_one_line_of_bounded_length() {
        assert_eq!(
            check_justification("  still on the project ").unwrap(),
            "still on the project"
        );
        for bad in ["", "   ", "two\nlines", &"x".repeat(MAX_JUSTIFICATION + 1)] {
            let e = check_justification(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::BadJustificationText, "{bad:?}");
        }
    }
}
