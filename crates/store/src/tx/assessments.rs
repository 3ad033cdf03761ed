//! Due diligence: questionnaire template versions, assessments (answers,
//! follow-ups, the reviewer's decision), each party's evidence room, and the
//! risk settings (the sharing risk matrix, the re-assessment periods).

use sqlx::any::AnyRow;

use super::{Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::diligence::{
    Assessment, AssessmentStatus, Questionnaire, RiskSettings, RiskTier, TierDecision,
};
use model::*;

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("column `{col}`: {e}"))
}

fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, StoreError> {
    serde_json::from_str(&row.text(col)?).map_err(|e| corrupt(col, e))
}

fn to_json(col: &str, v: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| corrupt(col, e))
}

fn opt_tier(row: &AnyRow, col: &str) -> Result<Option<RiskTier>, StoreError> {
    row.opt_text(col)?
        .map(|t| RiskTier::parse(&t).map_err(|e| corrupt(col, e)))
        .transpose()
}

fn questionnaire(row: &AnyRow) -> Result<Questionnaire, StoreError> {
    Ok(Questionnaire {
        id: row.parsed("id")?,
        name: row.text("name")?,
        version: row.int("version")?,
        title: row.text("title")?,
        body: json(row, "body")?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
    })
}

fn assessment(row: &AnyRow) -> Result<Assessment, StoreError> {
    let decision = match (opt_tier(row, "decided_tier")?, row.opt_int("decided_ms")?) {
        (Some(tier), Some(decided_ms)) => Some(TierDecision {
            tier,
            reasons: row.opt_text("reasons")?.unwrap_or_default(),
            decided_by: row
                .opt_parsed("decided_by")?
                .ok_or_else(|| corrupt("decided_by", "missing"))?,
            decided_ms,
            until_ms: row.opt_int("tier_until_ms")?.unwrap_or(decided_ms),
        }),
        _ => None,
    };
    Ok(Assessment {
        id: row.parsed("id")?,
        party_id: row.parsed("party_id")?,
        questionnaire_id: row.parsed("questionnaire_id")?,
        contact_id: row.parsed("contact_id")?,
        status: row.name("status", AssessmentStatus::parse)?,
        answers: json(row, "answers")?,
        follow_ups: json(row, "follow_ups")?,
        sent_by: row.parsed("sent_by")?,
        sent_ms: row.int("sent_ms")?,
        submitted_ms: row.opt_int("submitted_ms")?,
        score: row.opt_int("score")?,
        computed_tier: opt_tier(row, "computed_tier")?,
        decision,
    })
}

impl Tx {
    // ---- questionnaire templates

    /// Stores a new version; a version number already taken is a conflict.
    pub async fn insert_questionnaire(&mut self, q: &Questionnaire) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO questionnaires (id, name, version, title, body, created_by, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(q.id.to_string())
        .bind(q.name.clone())
        .bind(q.version)
        .bind(q.title.clone())
        .bind(to_json("body", &q.body)?)
        .bind(q.created_by.to_string())
        .bind(q.created_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "questionnaire version")]))?;
        Ok(())
    }

    pub async fn get_questionnaire(
        &mut self,
        id: QuestionnaireId,
    ) -> Result<Option<Questionnaire>, StoreError> {
        sql("SELECT * FROM questionnaires WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(questionnaire)
            .transpose()
    }

    /// The newest version of `name`.
    pub async fn latest_questionnaire(
        &mut self,
        name: &str,
    ) -> Result<Option<Questionnaire>, StoreError> {
        sql("SELECT * FROM questionnaires WHERE name = $1 ORDER BY version DESC LIMIT 1")
            .bind(name.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(questionnaire)
            .transpose()
    }

    /// Every version of every template, by name then newest first.
    pub async fn list_questionnaires(&mut self) -> Result<Vec<Questionnaire>, StoreError> {
        sql("SELECT * FROM questionnaires ORDER BY name, version DESC")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(questionnaire)
            .collect()
    }

    // ---- assessments

    pub async fn insert_assessment(&mut self, a: &Assessment) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO assessments (id, party_id, questionnaire_id, contact_id, status, \
             answers, follow_ups, sent_by, sent_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(a.id.to_string())
        .bind(a.party_id.to_string())
        .bind(a.questionnaire_id.to_string())
        .bind(a.contact_id.to_string())
        .bind(a.status.as_str())
        .bind(to_json("answers", &a.answers)?)
        .bind(to_json("follow_ups", &a.follow_ups)?)
        .bind(a.sent_by.to_string())
        .bind(a.sent_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "assessment")]))?;
        Ok(())
    }

    /// Writes status, answers, follow-ups, submission, score and decision.
    pub async fn update_assessment(&mut self, a: &Assessment) -> Result<(), StoreError> {
        let d = a.decision.as_ref();
        let done = sql(
            "UPDATE assessments SET status = $2, answers = $3, follow_ups = $4, \
             submitted_ms = $5, score = $6, computed_tier = $7, decided_tier = $8, \
             reasons = $9, decided_by = $10, decided_ms = $11, tier_until_ms = $12 \
             WHERE id = $1",
        )
        .bind(a.id.to_string())
        .bind(a.status.as_str())
        .bind(to_json("answers", &a.answers)?)
        .bind(to_json("follow_ups", &a.follow_ups)?)
        .bind(a.submitted_ms)
        .bind(a.score)
        .bind(a.computed_tier.map(RiskTier::as_str))
        .bind(d.map(|d| d.tier.as_str()))
        .bind(d.map(|d| d.reasons.clone()))
        .bind(d.map(|d| d.decided_by.to_string()))
        .bind(d.map(|d| d.decided_ms))
        .bind(d.map(|d| d.until_ms))
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    pub async fn get_assessment(
        &mut self,
        id: AssessmentId,
    ) -> Result<Option<Assessment>, StoreError> {
        sql("SELECT * FROM assessments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(assessment)
            .transpose()
    }

    /// The assessments of one party, or of every party; newest first.
    pub async fn list_assessments(
        &mut self,
        party: Option<PartyId>,
    ) -> Result<Vec<Assessment>, StoreError> {
        let query = match party {
            None => sql("SELECT * FROM assessments ORDER BY sent_ms DESC, id"),
            Some(p) => {
                sql("SELECT * FROM assessments WHERE party_id = $1 ORDER BY sent_ms DESC, id")
                    .bind(p.to_string())
            }
        };
        query
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(assessment)
            .collect()
    }

    // ---- evidence rooms

    pub async fn evidence_room(&mut self, party: PartyId) -> Result<Option<RoomId>, StoreError> {
        let row = sql("SELECT room_id FROM evidence_rooms WHERE party_id = $1")
            .bind(party.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(|r| r.parsed("room_id")).transpose()
    }

    pub async fn set_evidence_room(
        &mut self,
        party: PartyId,
        room: RoomId,
    ) -> Result<(), StoreError> {
        let query = sql("INSERT INTO evidence_rooms (party_id, room_id) VALUES ($1, $2)")
            .bind(party.to_string())
            .bind(room.to_string());
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "evidence room")]))?;
        Ok(())
    }

    // ---- risk settings

    /// The stored settings, `None` when admins never changed the defaults.
    pub async fn risk_settings(&mut self) -> Result<Option<RiskSettings>, StoreError> {
        let row = sql("SELECT * FROM risk_settings WHERE id = 1")
            .fetch_optional(self.conn())
            .await?;
        row.as_ref()
            .map(|r| {
                Ok(RiskSettings {
                    matrix: json(r, "matrix")?,
                    periods: json(r, "periods")?,
                })
            })
            .transpose()
    }

    /// Replaces the settings.
    pub async fn put_risk_settings(
        &mut self,
        s: &RiskSettings,
        by: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql("DELETE FROM risk_settings WHERE id = 1")
            .execute(self.conn())
            .await?;
        sql(
            "INSERT INTO risk_settings (id, matrix, periods, updated_by, updated_ms) \
             VALUES (1, $1, $2, $3, $4)",
        )
        .bind(to_json("matrix", &s.matrix)?)
        .bind(to_json("periods", &s.periods)?)
        .bind(by.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
