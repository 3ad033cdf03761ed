//! Agreements issued to parties (with their signature and termination) and the
//! agreements each room requires.

use sqlx::any::AnyRow;

use super::{Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn agreement(row: &AnyRow) -> Result<Agreement, StoreError> {
    let terms: AgreementTerms = serde_json::from_str(&row.text("terms")?)
        .map_err(|e| StoreError::Corrupt(format!("column `terms`: {e}")))?;
    let signature = match row.opt_parsed::<UserId>("signed_by")? {
        None => None,
        Some(user_id) => Some(Signature {
            user_id,
            text_sha256: row.opt_text("signed_sha256")?.unwrap_or_default(),
            signed_ms: row.opt_int("signed_ms")?.unwrap_or_default(),
            source_addr: row.opt_text("signed_addr")?,
        }),
    };
    Ok(Agreement {
        id: row.parsed("id")?,
        party_id: row.parsed("party_id")?,
        kind: row.name("kind", AgreementKind::parse)?,
        template: row.text("template")?,
        title: row.text("title")?,
        text: row.text("text")?,
        text_sha256: row.text("text_sha256")?,
        terms,
        status: row.name("status", AgreementStatus::parse)?,
        effective_ms: row.int("effective_ms")?,
        end_ms: row.opt_int("end_ms")?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        signature,
        terminated_ms: row.opt_int("terminated_ms")?,
    })
}

impl Tx {
    pub async fn insert_agreement(&mut self, a: &Agreement) -> Result<(), StoreError> {
        let terms = serde_json::to_string(&a.terms)
            .map_err(|e| StoreError::Corrupt(format!("terms: {e}")))?;
        sql(
            "INSERT INTO agreements (id, party_id, kind, template, title, text, text_sha256, \
             terms, status, effective_ms, end_ms, created_by, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(a.id.to_string())
        .bind(a.party_id.to_string())
        .bind(a.kind.as_str())
        .bind(a.template.clone())
        .bind(a.title.clone())
        .bind(a.text.clone())
        .bind(a.text_sha256.clone())
        .bind(terms)
        .bind(a.status.as_str())
        .bind(a.effective_ms)
        .bind(a.end_ms)
        .bind(a.created_by.to_string())
        .bind(a.created_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "agreement")]))?;
        Ok(())
    }

    pub async fn get_agreement(
        &mut self,
        id: AgreementId,
    ) -> Result<Option<Agreement>, StoreError> {
        sql("SELECT * FROM agreements WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(agreement)
            .transpose()
    }

    /// Every agreement, or those of one party, newest first.
    pub async fn list_agreements(
        &mut self,
        party: Option<PartyId>,
    ) -> Result<Vec<Agreement>, StoreError> {
        let rows = match party {
            Some(party) => {
                sql("SELECT * FROM agreements WHERE party_id = $1 ORDER BY created_ms DESC, id")
                    .bind(party.to_string())
                    .fetch_all(self.conn())
                    .await?
            }
            None => {
                sql("SELECT * FROM agreements ORDER BY created_ms DESC, id")
                    .fetch_all(self.conn())
                    .await?
            }
        };
        rows.iter().map(agreement).collect()
    }

    /// Records the signature and makes the agreement active, if it still awaits
    /// one; returns whether it did.
    pub async fn sign_agreement(
        &mut self,
        id: AgreementId,
        sig: &Signature,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE agreements SET status = $2, signed_by = $3, signed_ms = $4, \
             signed_sha256 = $5, signed_addr = $6 WHERE id = $1 AND status = $7",
        )
        .bind(id.to_string())
        .bind(AgreementStatus::Active.as_str())
        .bind(sig.user_id.to_string())
        .bind(sig.signed_ms)
        .bind(sig.text_sha256.clone())
        .bind(sig.source_addr.clone())
        .bind(AgreementStatus::AwaitingSignature.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Offers a draft for signature; false when it is no longer a draft.
    pub async fn offer_agreement(&mut self, id: AgreementId) -> Result<bool, StoreError> {
        let done = sql("UPDATE agreements SET status = $2 WHERE id = $1 AND status = $3")
            .bind(id.to_string())
            .bind(AgreementStatus::AwaitingSignature.as_str())
            .bind(AgreementStatus::Draft.as_str())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Terminates an agreement that is not terminated yet.
    pub async fn terminate_agreement(
        &mut self,
        id: AgreementId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let done = sql(
            "UPDATE agreements SET status = $2, terminated_ms = $3 WHERE id = $1 AND status <> $2",
        )
        .bind(id.to_string())
        .bind(AgreementStatus::Terminated.as_str())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// The agreements `room` requires, in the order they were declared.
    pub async fn room_requirements(&mut self, room: RoomId) -> Result<Vec<String>, StoreError> {
        sql("SELECT requirement FROM room_agreements WHERE room_id = $1 ORDER BY position")
            .bind(room.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| row.text("requirement"))
            .collect()
    }

    /// The requirements of every room that has any.
    pub async fn all_room_requirements(
        &mut self,
    ) -> Result<std::collections::HashMap<RoomId, Vec<String>>, StoreError> {
        let rows =
            sql("SELECT room_id, requirement FROM room_agreements ORDER BY room_id, position")
                .fetch_all(self.conn())
                .await?;
        let mut out: std::collections::HashMap<RoomId, Vec<String>> = Default::default();
        for row in &rows {
            out.entry(row.parsed("room_id")?)
                .or_default()
                .push(row.text("requirement")?);
        }
        Ok(out)
    }

    /// Replaces the agreements `room` requires.
    pub async fn set_room_requirements(
        &mut self,
        room: RoomId,
        requirements: &[String],
    ) -> Result<(), StoreError> {
        sql("DELETE FROM room_agreements WHERE room_id = $1")
            .bind(room.to_string())
            .execute(self.conn())
            .await?;
        for (position, requirement) in (0_i64..).zip(requirements) {
            sql("INSERT INTO room_agreements (room_id, requirement, position) VALUES ($1, $2, $3)")
                .bind(room.to_string())
                .bind(requirement.clone())
                .bind(position)
                .execute(self.conn())
                .await
                .map_err(|e| unique(e, &[("", "requirement")]))?;
        }
        Ok(())
    }
}
