//! Parties' security certifications, what rooms and classifications require
//! of an external party beyond agreements (qualifications: certification
//! standards), each party's sponsor on the owner's side, the files of the
//! rooms shared with a party (evidence), and the reminders sent before an end.

use sqlx::any::AnyRow;

use super::courses::LATEST_COUNTING;
use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn certification(row: &AnyRow) -> Result<Certification, StoreError> {
    Ok(Certification {
        id: row.parsed("id")?,
        party_id: row.parsed("party_id")?,
        standard: row.text("standard")?,
        issuer: row.text("issuer")?,
        scope: row.text("scope")?,
        number: row.text("number")?,
        valid_from_ms: row.int("valid_from_ms")?,
        valid_until_ms: row.int("valid_until_ms")?,
        evidence: row.opt_parsed("evidence_file")?,
        verified_by: row.opt_parsed("verified_by")?,
        verified_ms: row.opt_int("verified_ms")?,
        recorded_by: row.parsed("recorded_by")?,
        recorded_ms: row.int("recorded_ms")?,
    })
}

/// A reminder due: `days` before the end `until_ms` of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueReminder {
    /// The certification, or the party (its risk tier).
    pub subject_id: uuid::Uuid,
    pub until_ms: i64,
    pub days: i64,
}

/// A file of a room shared with a party: what evidence may point at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedFile {
    pub id: FileId,
    pub room_id: RoomId,
    pub room_name: String,
    pub path: String,
}

/// The rooms shared with `$1` (a party): a live grant to the party or to one
/// of its users, in a room not deleted.
const SHARED_ROOMS: &str = "SELECT g.room_id FROM grants g \
     WHERE g.revoked_ms IS NULL AND (g.subject_id = $1 OR g.subject_id IN \
       (SELECT u.id FROM users u WHERE u.party_id = $1))";

const DAY_MS: i64 = 86_400_000;

/// The query listing the ends of `kind` due a reminder: `$1` now, `$2` the
/// threshold in ms, `$3` in days, `$4` the limit; each row is `(id, until_ms)`.
fn reminder_query(kind: ExpiryKind) -> Option<String> {
    let query = match kind {
        ExpiryKind::Certification => {
            "SELECT c.id AS id, c.valid_until_ms AS until_ms FROM certifications c \
             WHERE c.verified_ms IS NOT NULL AND c.valid_until_ms > $1 \
             AND c.valid_until_ms <= $1 + $2 \
             AND NOT EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.kind = 'certification' \
               AND r.subject_id = c.id AND r.until_ms = c.valid_until_ms AND r.days <= $3) \
             ORDER BY c.valid_until_ms, c.id LIMIT $4"
        }
        ExpiryKind::Tier => {
            "SELECT p.id AS id, p.tier_until_ms AS until_ms FROM parties p \
             WHERE p.tier IS NOT NULL AND p.status <> 'offboarded' \
             AND p.tier_until_ms > $1 AND p.tier_until_ms <= $1 + $2 \
             AND NOT EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.kind = 'tier' \
               AND r.subject_id = p.id AND r.until_ms = p.tier_until_ms AND r.days <= $3) \
             ORDER BY p.tier_until_ms, p.id LIMIT $4"
        }
        // The completions that count, the latest of their user and course.
        ExpiryKind::Course => {
            return Some(format!(
                "SELECT c.id AS id, c.valid_until_ms AS until_ms FROM course_completions c \
                 WHERE c.valid_until_ms > $1 AND c.valid_until_ms <= $1 + $2 \
                 AND {LATEST_COUNTING} \
                 AND NOT EXISTS (SELECT 1 FROM expiry_reminders r WHERE r.kind = 'course' \
                   AND r.subject_id = c.id AND r.until_ms = c.valid_until_ms AND r.days <= $3) \
                 ORDER BY c.valid_until_ms, c.id LIMIT $4"
            ));
        }
        ExpiryKind::Agreement | ExpiryKind::Grant | ExpiryKind::Training => return None,
    };
    Some(query.to_owned())
}

impl Tx {
    // ---- certifications

    pub async fn insert_certification(&mut self, c: &Certification) -> Result<(), StoreError> {
        sql(
            "INSERT INTO certifications (id, party_id, standard, issuer, scope, number, \
             valid_from_ms, valid_until_ms, evidence_file, verified_by, verified_ms, \
             recorded_by, recorded_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(c.id.to_string())
        .bind(c.party_id.to_string())
        .bind(c.standard.clone())
        .bind(c.issuer.clone())
        .bind(c.scope.clone())
        .bind(c.number.clone())
        .bind(c.valid_from_ms)
        .bind(c.valid_until_ms)
        .bind(c.evidence.map(|f| f.to_string()))
        .bind(c.verified_by.map(|u| u.to_string()))
        .bind(c.verified_ms)
        .bind(c.recorded_by.to_string())
        .bind(c.recorded_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_certification(
        &mut self,
        id: CertificationId,
    ) -> Result<Option<Certification>, StoreError> {
        sql("SELECT * FROM certifications WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(certification)
            .transpose()
    }

    /// The certifications of `party`, newest end first.
    pub async fn list_certifications(
        &mut self,
        party: PartyId,
    ) -> Result<Vec<Certification>, StoreError> {
        sql("SELECT * FROM certifications WHERE party_id = $1 \
             ORDER BY valid_until_ms DESC, id")
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(certification)
        .collect()
    }

    /// The latest end of the verified certifications of `party`.
    pub async fn certified_until(&mut self, party: PartyId) -> Result<Option<i64>, StoreError> {
        let row = sql(
            "SELECT MAX(valid_until_ms) AS until_ms FROM certifications \
             WHERE party_id = $1 AND verified_ms IS NOT NULL",
        )
        .bind(party.to_string())
        .fetch_one(self.conn())
        .await?;
        row.opt_int("until_ms")
    }

    /// Marks a certification verified by `by` at `now_ms`; false when it is
    /// unknown or already verified.
    pub async fn verify_certification(
        &mut self,
        id: CertificationId,
        by: UserId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE certifications SET verified_by = $2, verified_ms = $3 \
             WHERE id = $1 AND verified_ms IS NULL",
        )
        .bind(id.to_string())
        .bind(by.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes every certification of `party`; how many there were.
    pub async fn delete_certifications(&mut self, party: PartyId) -> Result<u64, StoreError> {
        let done = sql("DELETE FROM certifications WHERE party_id = $1")
            .bind(party.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    // ---- qualifications (what rooms and classifications require)

    /// The keys of `kind` that `room` requires, ordered.
    pub async fn room_qualifications(
        &mut self,
        room: RoomId,
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        sql("SELECT key FROM room_qualifications WHERE room_id = $1 AND kind = $2 ORDER BY key")
            .bind(room.to_string())
            .bind(kind.to_owned())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| row.text("key"))
            .collect()
    }

    /// The keys of `kind` that `room` requires, itself or by its
    /// `classification`, ordered, each once.
    pub async fn required_qualifications(
        &mut self,
        room: RoomId,
        classification: Classification,
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        sql(
            "SELECT key FROM room_qualifications WHERE room_id = $1 AND kind = $2 \
             UNION SELECT key FROM classification_qualifications \
             WHERE classification = $3 AND kind = $2 ORDER BY key",
        )
        .bind(room.to_string())
        .bind(kind.to_owned())
        .bind(classification.as_str())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.text("key"))
        .collect()
    }

    /// Replaces the keys of `kind` that `room` requires.
    pub async fn set_room_qualifications(
        &mut self,
        room: RoomId,
        kind: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        sql("DELETE FROM room_qualifications WHERE room_id = $1 AND kind = $2")
            .bind(room.to_string())
            .bind(kind.to_owned())
            .execute(self.conn())
            .await?;
        for key in keys {
            sql("INSERT INTO room_qualifications (room_id, kind, key) VALUES ($1, $2, $3)")
                .bind(room.to_string())
                .bind(kind.to_owned())
                .bind(key.clone())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// The keys of `kind` that rooms of `classification` require, ordered.
    pub async fn classification_qualifications(
        &mut self,
        classification: Classification,
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        sql("SELECT key FROM classification_qualifications \
             WHERE classification = $1 AND kind = $2 ORDER BY key")
        .bind(classification.as_str())
        .bind(kind.to_owned())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.text("key"))
        .collect()
    }

    /// Replaces the keys of `kind` that rooms of `classification` require.
    pub async fn set_classification_qualifications(
        &mut self,
        classification: Classification,
        kind: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        sql("DELETE FROM classification_qualifications WHERE classification = $1 AND kind = $2")
            .bind(classification.as_str())
            .bind(kind.to_owned())
            .execute(self.conn())
            .await?;
        for key in keys {
            sql(
                "INSERT INTO classification_qualifications (classification, kind, key) \
                 VALUES ($1, $2, $3)",
            )
            .bind(classification.as_str())
            .bind(kind.to_owned())
            .bind(key.clone())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    // ---- sponsors

    /// The owner's user who sponsors `party`.
    pub async fn party_sponsor(&mut self, party: PartyId) -> Result<Option<UserId>, StoreError> {
        sql("SELECT user_id FROM party_sponsors WHERE party_id = $1")
            .bind(party.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(|row| row.parsed("user_id"))
            .transpose()
    }

    /// Sets (or, with `None`, removes) the sponsor of `party`.
    pub async fn set_party_sponsor(
        &mut self,
        party: PartyId,
        user: Option<UserId>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql("DELETE FROM party_sponsors WHERE party_id = $1")
            .bind(party.to_string())
            .execute(self.conn())
            .await?;
        if let Some(user) = user {
            sql("INSERT INTO party_sponsors (party_id, user_id, set_ms) VALUES ($1, $2, $3)")
                .bind(party.to_string())
                .bind(user.to_string())
                .bind(now_ms)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    // ---- evidence

    /// The live files of the rooms shared with `party`, by room and path (at most `limit`).
    pub async fn files_shared_with(
        &mut self,
        party: PartyId,
        limit: i64,
    ) -> Result<Vec<SharedFile>, StoreError> {
        let query = format!(
            "SELECT f.id AS id, f.room_id AS room_id, r.name AS room_name, f.path AS path \
             FROM files f JOIN rooms r ON r.id = f.room_id \
             WHERE f.deleted_ms IS NULL AND r.deleted_ms IS NULL \
             AND f.room_id IN ({SHARED_ROOMS}) ORDER BY r.name, f.path LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(party.to_string())
            .bind(limit)
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SharedFile {
                    id: row.parsed("id")?,
                    room_id: row.parsed("room_id")?,
                    room_name: row.text("room_name")?,
                    path: row.text("path")?,
                })
            })
            .collect()
    }

    /// Whether `file` is a live file of a room shared with `party`.
    pub async fn file_shared_with(
        &mut self,
        file: FileId,
        party: PartyId,
    ) -> Result<bool, StoreError> {
        let query = format!(
            "SELECT f.id FROM files f JOIN rooms r ON r.id = f.room_id \
             WHERE f.id = $2 AND f.deleted_ms IS NULL AND r.deleted_ms IS NULL \
             AND f.room_id IN ({SHARED_ROOMS})"
        );
        let found = sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(party.to_string())
            .bind(file.to_string())
            .fetch_optional(self.conn())
            .await?;
        Ok(found.is_some())
    }

    // ---- reminders

    /// Ends of `kind` within one of `days` of `now_ms` (and still ahead) with
    /// no reminder recorded for that many days, the fewest days first for each
    /// end, at most `limit`: verified certifications, parties' risk tiers, and
    /// course completions that count. Other kinds have no reminders (an empty
    /// list).
    pub async fn due_reminders(
        &mut self,
        kind: ExpiryKind,
        now_ms: i64,
        days: &[i64],
        limit: i64,
    ) -> Result<Vec<DueReminder>, StoreError> {
        let Some(query) = reminder_query(kind) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for d in days {
            let rows = sqlx::query(sqlx::AssertSqlSafe(query.clone()))
                .bind(now_ms)
                .bind(d * DAY_MS)
                .bind(*d)
                .bind(limit)
                .fetch_all(self.conn())
                .await?;
            for row in &rows {
                out.push(DueReminder {
                    subject_id: row.parsed("id")?,
                    until_ms: row.int("until_ms")?,
                    days: *d,
                });
            }
        }
        // One reminder per end: the nearest threshold it has crossed.
        out.sort_by_key(|r| (r.subject_id, r.until_ms, r.days));
        out.dedup_by_key(|r| (r.subject_id, r.until_ms));
        Ok(out)
    }

    /// [`Tx::due_reminders`] of verified certifications.
    pub async fn due_certification_reminders(
        &mut self,
        now_ms: i64,
        days: &[i64],
        limit: i64,
    ) -> Result<Vec<DueReminder>, StoreError> {
        self.due_reminders(ExpiryKind::Certification, now_ms, days, limit)
            .await
    }

    /// Records a reminder; false when it already was (by another node).
    pub async fn record_reminder(
        &mut self,
        kind: ExpiryKind,
        r: &DueReminder,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "INSERT INTO expiry_reminders (kind, subject_id, until_ms, days, sent_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(kind.as_str())
        .bind(r.subject_id.to_string())
        .bind(r.until_ms)
        .bind(r.days)
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
