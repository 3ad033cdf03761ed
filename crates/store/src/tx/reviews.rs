//! Access-review campaigns: the campaign, the grants it covers (gathered once
//! when it opens), each reviewer's decision and what the due date did to each
//! grant; and the activity a reviewer decides on.

use sqlx::any::AnyRow;

use super::rooms::grant;
use super::{Tx, flag, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A grant a campaign covers, with what its reviewers are chosen by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopedGrant {
    pub grant: Grant,
    /// The party of the grant's subject (the party itself, or the user's).
    pub subject_party: PartyId,
}

/// What a subject did in a room since a time: the reviewer's decision help.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomActivity {
    /// The last allowed event of the subject on the room or one of its files.
    pub last_ms: Option<i64>,
    pub downloads: i64,
    pub views: i64,
}

fn ids(text: &str, col: &str) -> Result<Vec<UserId>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("column `{col}`: {e}")))
}

fn ids_text(ids: &[UserId]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

fn campaign(row: &AnyRow) -> Result<ReviewCampaign, StoreError> {
    Ok(ReviewCampaign {
        id: row.parsed("id")?,
        name: row.text("name")?,
        scope: row.name("scope", ReviewScopeKind::parse)?,
        scope_value: row.opt_text("scope_value")?,
        room_managers: row.flag("room_managers")?,
        sponsors: row.flag("sponsors")?,
        staff: ids(&row.text("staff")?, "staff")?,
        fallback: row.parsed("fallback")?,
        starts_ms: row.int("starts_ms")?,
        due_ms: row.int("due_ms")?,
        unreviewed: row.name("unreviewed", Unreviewed::parse)?,
        every_days: row.opt_int("every_days")?,
        status: row.name("status", ReviewStatus::parse)?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        applied_ms: row.opt_int("applied_ms")?,
    })
}

fn item(row: &AnyRow) -> Result<ReviewItem, StoreError> {
    let decision = row
        .opt_text("decision")?
        .map(|d| ReviewDecision::parse(&d))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("column `decision`: {e}")))?;
    let outcome = row
        .opt_text("outcome")?
        .map(|d| ReviewOutcome::parse(&d))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("column `outcome`: {e}")))?;
    Ok(ReviewItem {
        campaign_id: row.parsed("campaign_id")?,
        grant_id: row.parsed("grant_id")?,
        room_id: row.parsed("room_id")?,
        subject_kind: row.name("subject_kind", SubjectKind::parse)?,
        subject_id: row.parsed("subject_id")?,
        role: row.name("role", RoomRole::parse)?,
        reviewers: ids(&row.text("reviewers")?, "reviewers")?,
        decision,
        decided_by: row.opt_parsed("decided_by")?,
        decided_ms: row.opt_int("decided_ms")?,
        justification: row.opt_text("justification")?,
        outcome,
    })
}

/// A campaign as it concerns one party: its grants under review in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyReview {
    pub campaign: ReviewId,
    pub name: String,
    pub status: ReviewStatus,
    pub due_ms: i64,
    /// The party's grants (to it or its users) under review.
    pub grants: i64,
    pub decided: i64,
    /// Ended at the due date (revoked or unreviewed under `remove`).
    pub ended: i64,
}

/// The live grants (not revoked, not expired, of rooms not deleted) with the
/// party of their subject; each scope adds one condition on `$2`.
macro_rules! scoped {
    ($cond:literal) => {
        concat!(
            "SELECT g.*, CASE WHEN g.subject_kind = 'user' THEN u.party_id ELSE g.subject_id END \
               AS subject_party \
             FROM grants g JOIN rooms r ON r.id = g.room_id \
             LEFT JOIN users u ON g.subject_kind = 'user' AND u.id = g.subject_id \
             JOIN parties p ON p.id = CASE WHEN g.subject_kind = 'user' THEN u.party_id \
               ELSE g.subject_id END \
             WHERE g.revoked_ms IS NULL AND r.deleted_ms IS NULL \
             AND (g.expires_ms IS NULL OR g.expires_ms > $1) AND ",
            $cond,
            " ORDER BY r.name, g.created_ms, g.id"
        )
    };
}

/// The subject's allowed events on a room (`$1`) and its files, by one
/// condition on `$2`; downloads and views counted from `$3`.
macro_rules! activity {
    ($cond:literal) => {
        concat!(
            "SELECT MAX(e.time_ms) AS last_ms, \
             SUM(CASE WHEN e.action = 'file.download' AND e.time_ms >= $3 THEN 1 ELSE 0 END) \
               AS downloads, \
             SUM(CASE WHEN e.action = 'file.view' AND e.time_ms >= $3 THEN 1 ELSE 0 END) AS views \
             FROM events e WHERE e.outcome = 'allowed' AND ",
            $cond,
            " AND (e.target = 'room:' || $1 OR e.target IN \
               (SELECT 'file:' || f.id FROM files f WHERE f.room_id = $1))"
        )
    };
}

impl Tx {
    pub async fn insert_review_campaign(&mut self, c: &ReviewCampaign) -> Result<(), StoreError> {
        sql(
            "INSERT INTO review_campaigns (id, name, scope, scope_value, room_managers, sponsors, \
             staff, fallback, starts_ms, due_ms, unreviewed, every_days, status, created_by, \
             created_ms, applied_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(c.id.to_string())
        .bind(c.name.clone())
        .bind(c.scope.as_str())
        .bind(c.scope_value.clone())
        .bind(flag(c.room_managers))
        .bind(flag(c.sponsors))
        .bind(ids_text(&c.staff))
        .bind(c.fallback.to_string())
        .bind(c.starts_ms)
        .bind(c.due_ms)
        .bind(c.unreviewed.as_str())
        .bind(c.every_days)
        .bind(c.status.as_str())
        .bind(c.created_by.to_string())
        .bind(c.created_ms)
        .bind(c.applied_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_review_campaign(
        &mut self,
        id: ReviewId,
    ) -> Result<Option<ReviewCampaign>, StoreError> {
        sql("SELECT * FROM review_campaigns WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(campaign)
            .transpose()
    }

    /// The newest campaigns first, at most `limit`.
    pub async fn list_review_campaigns(
        &mut self,
        limit: i64,
    ) -> Result<Vec<ReviewCampaign>, StoreError> {
        sql("SELECT * FROM review_campaigns ORDER BY starts_ms DESC, id LIMIT $1")
            .bind(limit)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(campaign)
            .collect()
    }

    /// Campaigns with something due at `now`: scheduled ones whose start has
    /// come, open ones whose due date has.
    pub async fn due_review_campaigns(
        &mut self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<ReviewCampaign>, StoreError> {
        sql("SELECT * FROM review_campaigns \
             WHERE (status = 'scheduled' AND starts_ms <= $1) OR (status = 'open' AND due_ms <= $1) \
             ORDER BY starts_ms, id LIMIT $2")
        .bind(now)
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(campaign)
        .collect()
    }

    /// Moves a campaign from `from` to `to`; false when it was not at `from`
    /// (another node, or a request, moved it first).
    pub async fn move_review_campaign(
        &mut self,
        id: ReviewId,
        from: ReviewStatus,
        to: ReviewStatus,
        applied_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE review_campaigns SET status = $3, applied_ms = $4 \
                        WHERE id = $1 AND status = $2")
        .bind(id.to_string())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(applied_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the campaign's row for the rest of the transaction if it is
    /// open (a decision then waits for an apply running at the same time);
    /// false when it is not open.
    pub async fn lock_open_review(&mut self, id: ReviewId) -> Result<bool, StoreError> {
        let done =
            sql("UPDATE review_campaigns SET status = status WHERE id = $1 AND status = 'open'")
                .bind(id.to_string())
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Notes the reminder of an open campaign once; false when it was noted
    /// already or the campaign is not open.
    pub async fn mark_review_reminded(
        &mut self,
        id: ReviewId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE review_campaigns SET reminded_ms = $2 \
                        WHERE id = $1 AND status = 'open' AND reminded_ms IS NULL")
        .bind(id.to_string())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When a grant was revoked (`None`: it was not, or there is no such grant).
    pub async fn grant_revoked_ms(&mut self, id: GrantId) -> Result<Option<i64>, StoreError> {
        Ok(sql("SELECT revoked_ms FROM grants WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.opt_int("revoked_ms"))
            .transpose()?
            .flatten())
    }

    /// The live grants a scope covers at `now`.
    pub async fn grants_in_scope(
        &mut self,
        scope: ReviewScopeKind,
        value: Option<&str>,
        now: i64,
    ) -> Result<Vec<ScopedGrant>, StoreError> {
        let value = value.unwrap_or_default().to_owned();
        let q = match scope {
            ReviewScopeKind::External => sql(scoped!("p.kind = 'external' AND $2 = $2")),
            ReviewScopeKind::Party => sql(scoped!("p.id = $2")),
            ReviewScopeKind::Room => sql(scoped!("g.room_id = $2")),
            ReviewScopeKind::Classification => sql(scoped!("r.classification = $2")),
        };
        q.bind(now)
            .bind(value)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| {
                Ok(ScopedGrant {
                    grant: grant(row)?,
                    subject_party: row.parsed("subject_party")?,
                })
            })
            .collect()
    }

    /// The owner's users who manage `room` through a live grant of their own.
    pub async fn owner_room_managers(
        &mut self,
        room: RoomId,
        now: i64,
    ) -> Result<Vec<UserId>, StoreError> {
        sql(
            "SELECT DISTINCT u.id FROM grants g JOIN users u ON u.id = g.subject_id \
             JOIN parties p ON p.id = u.party_id \
             WHERE g.room_id = $1 AND g.subject_kind = 'user' AND g.role = 'manager' \
             AND g.revoked_ms IS NULL AND (g.expires_ms IS NULL OR g.expires_ms > $2) \
             AND p.kind = 'owner' AND u.disabled = 0 ORDER BY u.id",
        )
        .bind(room.to_string())
        .bind(now)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("id"))
        .collect()
    }

    pub async fn insert_review_item(&mut self, i: &ReviewItem) -> Result<(), StoreError> {
        sql(
            "INSERT INTO review_items (campaign_id, grant_id, room_id, subject_kind, subject_id, \
             role, reviewers, decision, decided_by, decided_ms, justification, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(i.campaign_id.to_string())
        .bind(i.grant_id.to_string())
        .bind(i.room_id.to_string())
        .bind(i.subject_kind.as_str())
        .bind(i.subject_id.to_string())
        .bind(i.role.as_str())
        .bind(ids_text(&i.reviewers))
        .bind(i.decision.map(|d| d.as_str()))
        .bind(i.decided_by.map(|u| u.to_string()))
        .bind(i.decided_ms)
        .bind(i.justification.clone())
        .bind(i.outcome.map(|o| o.as_str()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The grants under review in a campaign, in the order they were gathered.
    pub async fn review_items(&mut self, id: ReviewId) -> Result<Vec<ReviewItem>, StoreError> {
        sql(
            "SELECT i.* FROM review_items i JOIN rooms r ON r.id = i.room_id \
             WHERE i.campaign_id = $1 ORDER BY r.name, i.subject_id, i.grant_id",
        )
        .bind(id.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(item)
        .collect()
    }

    /// The campaigns that review grants of `party` (to it or its users),
    /// newest due date first, at most `limit`.
    pub async fn party_reviews(
        &mut self,
        party: PartyId,
        limit: i64,
    ) -> Result<Vec<PartyReview>, StoreError> {
        sql(
            "SELECT c.id, c.name, c.status, c.due_ms, COUNT(*) AS grants, \
             SUM(CASE WHEN i.decision IS NULL THEN 0 ELSE 1 END) AS decided, \
             SUM(CASE WHEN i.outcome = 'ended' THEN 1 ELSE 0 END) AS ended \
             FROM review_items i JOIN review_campaigns c ON c.id = i.campaign_id \
             LEFT JOIN users u ON i.subject_kind = 'user' AND u.id = i.subject_id \
             WHERE (i.subject_kind = 'party' AND i.subject_id = $1) OR u.party_id = $1 \
             GROUP BY c.id, c.name, c.status, c.due_ms \
             ORDER BY c.due_ms DESC, c.id LIMIT $2",
        )
        .bind(party.to_string())
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            Ok(PartyReview {
                campaign: row.parsed("id")?,
                name: row.text("name")?,
                status: row.name("status", ReviewStatus::parse)?,
                due_ms: row.int("due_ms")?,
                grants: row.int("grants")?,
                decided: row.opt_int("decided")?.unwrap_or(0),
                ended: row.opt_int("ended")?.unwrap_or(0),
            })
        })
        .collect()
    }

    /// Records a decision while the campaign is open; false when it is not
    /// (applied meanwhile) or the grant is not under review in it.
    pub async fn decide_review_item(
        &mut self,
        id: ReviewId,
        grant: GrantId,
        decision: ReviewDecision,
        by: UserId,
        now: i64,
        justification: &str,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE review_items SET decision = $3, decided_by = $4, decided_ms = $5, \
                        justification = $6 \
                        WHERE campaign_id = $1 AND grant_id = $2 AND \
                        (SELECT status FROM review_campaigns WHERE id = $1) = 'open'",
        )
        .bind(id.to_string())
        .bind(grant.to_string())
        .bind(decision.as_str())
        .bind(by.to_string())
        .bind(now)
        .bind(justification.to_owned())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_review_outcome(
        &mut self,
        id: ReviewId,
        grant: GrantId,
        outcome: ReviewOutcome,
    ) -> Result<(), StoreError> {
        sql("UPDATE review_items SET outcome = $3 WHERE campaign_id = $1 AND grant_id = $2")
            .bind(id.to_string())
            .bind(grant.to_string())
            .bind(outcome.as_str())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// What a grant's subject did in `room` since `since`: its last allowed
    /// event there (on the room or one of its files), and its allowed
    /// downloads and page views. A party's grant counts what its users did.
    pub async fn room_activity(
        &mut self,
        room: RoomId,
        subject_kind: SubjectKind,
        subject: uuid::Uuid,
        since: i64,
    ) -> Result<RoomActivity, StoreError> {
        let q = match subject_kind {
            SubjectKind::User => sql(activity!("e.actor_user = $2")),
            SubjectKind::Party => sql(activity!("e.actor_party = $2")),
        };
        let row = q
            .bind(room.to_string())
            .bind(subject.to_string())
            .bind(since)
            .fetch_one(self.conn())
            .await?;
        Ok(RoomActivity {
            last_ms: row.opt_int("last_ms")?,
            downloads: row.opt_int("downloads")?.unwrap_or(0),
            views: row.opt_int("views")?.unwrap_or(0),
        })
    }
}
