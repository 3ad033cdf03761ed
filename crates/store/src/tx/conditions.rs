//! The network zones requests come from, agreement templates, the ends the
//! expiry sweep has recorded, and notifications to users.

use sqlx::any::AnyRow;

use super::{Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column `{col}`: {e}"))
}

fn zone(row: &AnyRow) -> Result<NetworkZone, StoreError> {
    Ok(NetworkZone {
        name: row.text("name")?,
        country: row.text("country")?,
        ranges: serde_json::from_str(&row.text("ranges")?).map_err(|e| corrupt("ranges", e))?,
    })
}

fn template(row: &AnyRow) -> Result<AgreementTemplate, StoreError> {
    Ok(AgreementTemplate {
        name: row.text("name")?,
        kind: row.name("kind", AgreementKind::parse)?,
        title: row.text("title")?,
        text: row.text("text")?,
        terms: serde_json::from_str(&row.text("terms")?).map_err(|e| corrupt("terms", e))?,
        duration_days: row.opt_int("duration_days")?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        updated_ms: row.int("updated_ms")?,
    })
}

pub(super) fn notification(row: &AnyRow) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: row.parsed("id")?,
        user_id: row.parsed("user_id")?,
        created_ms: row.int("created_ms")?,
        kind: row.text("kind")?,
        subject: row.text("subject")?,
        message: row.text("message")?,
        read_ms: row.opt_int("read_ms")?,
    })
}

/// The query listing the ends of one kind that have passed by `$1` and are not
/// yet in `expiry_notices`; each row is `(id, until_ms)`.
fn unnoticed_query(kind: ExpiryKind) -> &'static str {
    match kind {
        ExpiryKind::Agreement => {
            "SELECT a.id AS id, a.end_ms AS until_ms FROM agreements a \
             WHERE a.status = 'active' AND a.end_ms IS NOT NULL AND a.end_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'agreement' \
               AND n.subject_id = a.id AND n.until_ms = a.end_ms) \
             ORDER BY a.end_ms, a.id LIMIT $2"
        }
        ExpiryKind::Grant => {
            "SELECT g.id AS id, g.expires_ms AS until_ms FROM grants g \
             JOIN rooms r ON r.id = g.room_id \
             WHERE g.revoked_ms IS NULL AND r.deleted_ms IS NULL \
             AND g.expires_ms IS NOT NULL AND g.expires_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'grant' \
               AND n.subject_id = g.id AND n.until_ms = g.expires_ms) \
             ORDER BY g.expires_ms, g.id LIMIT $2"
        }
        ExpiryKind::Certification => {
            "SELECT c.id AS id, c.valid_until_ms AS until_ms FROM certifications c \
             WHERE c.verified_ms IS NOT NULL AND c.valid_until_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'certification' \
               AND n.subject_id = c.id AND n.until_ms = c.valid_until_ms) \
             ORDER BY c.valid_until_ms, c.id LIMIT $2"
        }
        ExpiryKind::Training => {
            "SELECT u.id AS id, u.training_until_ms AS until_ms FROM users u \
             WHERE u.training_until_ms IS NOT NULL AND u.training_until_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'training' \
               AND n.subject_id = u.id AND n.until_ms = u.training_until_ms) \
             ORDER BY u.training_until_ms, u.id LIMIT $2"
        }
        ExpiryKind::Tier => {
            "SELECT p.id AS id, p.tier_until_ms AS until_ms FROM parties p \
             WHERE p.tier IS NOT NULL AND p.tier_until_ms IS NOT NULL AND p.tier_until_ms <= $1 \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'tier' \
               AND n.subject_id = p.id AND n.until_ms = p.tier_until_ms) \
             ORDER BY p.tier_until_ms, p.id LIMIT $2"
        }
        // The latest-ending completion of each user and course that still
        // counts (see `courses::LATEST_COUNTING`).
        ExpiryKind::Course => {
            "SELECT c.id AS id, c.valid_until_ms AS until_ms FROM course_completions c \
             WHERE c.valid_until_ms <= $1 \
             AND c.version >= (SELECT k.retake_from FROM courses k WHERE k.id = c.course_id) \
             AND NOT EXISTS (SELECT 1 FROM course_completions d WHERE d.user_id = c.user_id \
               AND d.course_id = c.course_id AND d.valid_until_ms > c.valid_until_ms) \
             AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.kind = 'course' \
               AND n.subject_id = c.id AND n.until_ms = c.valid_until_ms) \
             ORDER BY c.valid_until_ms, c.id LIMIT $2"
        }
    }
}

impl Tx {
    // ---- network zones

    /// Every zone, ordered by name.
    pub async fn list_zones(&mut self) -> Result<Vec<NetworkZone>, StoreError> {
        sql("SELECT * FROM network_zones ORDER BY name")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(zone)
            .collect()
    }

    /// Replaces every zone with `zones`.
    pub async fn replace_zones(
        &mut self,
        zones: &[NetworkZone],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql("DELETE FROM network_zones")
            .execute(self.conn())
            .await?;
        for z in zones {
            let ranges = serde_json::to_string(&z.ranges).map_err(|e| corrupt("ranges", e))?;
            let query = sql(
                "INSERT INTO network_zones (name, country, ranges, updated_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(z.name.clone())
            .bind(z.country.clone())
            .bind(ranges)
            .bind(now_ms);
            self.execute_guarded(query)
                .await
                .map_err(|e| unique(e, &[("", "network zone")]))?;
        }
        Ok(())
    }

    // ---- agreement templates

    pub async fn insert_template(&mut self, t: &AgreementTemplate) -> Result<(), StoreError> {
        let terms = serde_json::to_string(&t.terms).map_err(|e| corrupt("terms", e))?;
        let query = sql(
            "INSERT INTO agreement_templates (name, kind, title, text, terms, duration_days, \
             created_by, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(t.name.clone())
        .bind(t.kind.as_str())
        .bind(t.title.clone())
        .bind(t.text.clone())
        .bind(terms)
        .bind(t.duration_days)
        .bind(t.created_by.to_string())
        .bind(t.created_ms)
        .bind(t.updated_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "agreement template")]))?;
        Ok(())
    }

    /// Writes kind, title, text, terms, duration and `updated_ms`.
    pub async fn update_template(&mut self, t: &AgreementTemplate) -> Result<(), StoreError> {
        let terms = serde_json::to_string(&t.terms).map_err(|e| corrupt("terms", e))?;
        let done = sql(
            "UPDATE agreement_templates SET kind = $2, title = $3, text = $4, \
             terms = $5, duration_days = $6, updated_ms = $7 WHERE name = $1",
        )
        .bind(t.name.clone())
        .bind(t.kind.as_str())
        .bind(t.title.clone())
        .bind(t.text.clone())
        .bind(terms)
        .bind(t.duration_days)
        .bind(t.updated_ms)
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    pub async fn get_template(
        &mut self,
        name: &str,
    ) -> Result<Option<AgreementTemplate>, StoreError> {
        sql("SELECT * FROM agreement_templates WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(template)
            .transpose()
    }

    /// Every template, ordered by name.
    pub async fn list_templates(&mut self) -> Result<Vec<AgreementTemplate>, StoreError> {
        sql("SELECT * FROM agreement_templates ORDER BY name")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(template)
            .collect()
    }

    // ---- expiry

    /// Ends that have passed by `now_ms` and are not yet recorded, at most
    /// `limit` of each kind, oldest first.
    pub async fn unnoticed_expiries(
        &mut self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Expiry>, StoreError> {
        let mut out = Vec::new();
        for kind in ExpiryKind::ALL {
            let rows = sql(unnoticed_query(kind))
                .bind(now_ms)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
            for row in &rows {
                out.push(Expiry {
                    kind,
                    subject_id: row.parsed("id")?,
                    until_ms: row.int("until_ms")?,
                });
            }
        }
        Ok(out)
    }

    /// Records that `e` was noticed; false when it already was (by another
    /// node, say), in which case the caller records nothing more.
    pub async fn record_expiry(&mut self, e: &Expiry, now_ms: i64) -> Result<bool, StoreError> {
        let done = sql(
            "INSERT INTO expiry_notices (kind, subject_id, until_ms, noticed_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(e.kind.as_str())
        .bind(e.subject_id.to_string())
        .bind(e.until_ms)
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- notifications

    pub async fn insert_notification(&mut self, n: &Notification) -> Result<(), StoreError> {
        sql(
            "INSERT INTO notifications (id, user_id, created_ms, kind, subject, message, \
             read_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(n.id.to_string())
        .bind(n.user_id.to_string())
        .bind(n.created_ms)
        .bind(n.kind.clone())
        .bind(n.subject.clone())
        .bind(n.message.clone())
        .bind(n.read_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The newest `limit` notifications of `user` (unread ones only when asked).
    pub async fn list_notifications(
        &mut self,
        user: UserId,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let query = if unread_only {
            sql(
                "SELECT * FROM notifications WHERE user_id = $1 AND read_ms IS NULL \
                 ORDER BY created_ms DESC, id DESC LIMIT $2",
            )
        } else {
            sql("SELECT * FROM notifications WHERE user_id = $1 \
                 ORDER BY created_ms DESC, id DESC LIMIT $2")
        };
        query
            .bind(user.to_string())
            .bind(limit)
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(notification)
            .collect()
    }

    /// Marks a notification of `user` read; false when `user` has none with this id.
    pub async fn mark_notification_read(
        &mut self,
        id: NotificationId,
        user: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE notifications SET read_ms = COALESCE(read_ms, $3) \
             WHERE id = $1 AND user_id = $2")
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
