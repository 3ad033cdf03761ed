//! Destruction attestations: opened with the offboarding of a party (the
//! copies it received read from the events), found by the SHA-256 of their
//! page's secret, signed once by a conditional UPDATE, and reminded and
//! escalated at most once a period each, also by conditional UPDATEs, so one
//! node in all does each. The officer's one-time codes and the sessions they
//! verify.

use sqlx::any::AnyRow;

use super::{Tx, sql, touched};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A one-time code mailed to an attestation's officer, and the session it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationCode {
    pub id: AttestationCodeId,
    pub attestation_id: AttestationId,
    pub recipient: String,
    pub session_sha256: Vec<u8>,
    pub code_sha256: Vec<u8>,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub attempts: i64,
    pub verified_ms: Option<i64>,
}

/// Where a file is, for the list of copies: its path, room and room's name
/// (deleted files and rooms too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlace {
    pub path: String,
    pub room_id: RoomId,
    pub room_name: String,
}

fn attestation(row: &AnyRow) -> Result<Attestation, StoreError> {
    let copies = row.text("copies")?;
    let signature = match row.opt_int("signed_ms")? {
        None => None,
        Some(signed_ms) => Some(AttestationSignature {
            name: row.opt_text("signer_name")?.unwrap_or_default(),
            email: row.opt_text("signer_email")?.unwrap_or_default(),
            text_sha256: row.opt_text("signed_sha256")?.unwrap_or_default(),
            signed_ms,
            source_addr: row.opt_text("signed_addr")?,
        }),
    };
    Ok(Attestation {
        id: row.parsed("id")?,
        party_id: row.parsed("party_id")?,
        party_name: row.text("party_name")?,
        officer_email: row.opt_text("officer_email")?,
        copies: serde_json::from_str(&copies)
            .map_err(|e| StoreError::Corrupt(format!("column `copies`: {e}")))?,
        text: row.text("text")?,
        text_sha256: row.text("text_sha256")?,
        opened_ms: row.int("opened_ms")?,
        opened_by: row.parsed("opened_by")?,
        due_ms: row.int("due_ms")?,
        mailed_ms: row.opt_int("mailed_ms")?,
        reminded_ms: row.opt_int("reminded_ms")?,
        reminders: row.int("reminders")?,
        escalated_ms: row.opt_int("escalated_ms")?,
        escalations: row.int("escalations")?,
        signature,
    })
}

fn code(row: &AnyRow) -> Result<AttestationCode, StoreError> {
    Ok(AttestationCode {
        id: row.parsed("id")?,
        attestation_id: row.parsed("attestation_id")?,
        recipient: row.text("recipient")?,
        session_sha256: row.bytes("session_sha256")?,
        code_sha256: row.bytes("code_sha256")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        attempts: row.int("attempts")?,
        verified_ms: row.opt_int("verified_ms")?,
    })
}

/// A query of attestations with their party's name, then `$tail`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT a.*, p.name AS party_name FROM attestations a ",
            "JOIN parties p ON p.id = a.party_id",
            $tail
        )
    };
}

impl Tx {
    /// Records a new attestation request, its page reached by the secret
    /// whose SHA-256 is `token_sha256`.
    pub async fn insert_attestation(
        &mut self,
        a: &Attestation,
        token_sha256: &[u8],
    ) -> Result<(), StoreError> {
        let copies = serde_json::to_string(&a.copies)
            .map_err(|e| StoreError::Corrupt(format!("copies: {e}")))?;
        sql(
            "INSERT INTO attestations (id, party_id, officer_email, token_sha256, copies, text, \
             text_sha256, opened_ms, opened_by, due_ms, mailed_ms, reminded_ms, reminders, \
             escalated_ms, escalations) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, 0, NULL, 0)",
        )
        .bind(a.id.to_string())
        .bind(a.party_id.to_string())
        .bind(a.officer_email.clone())
        .bind(token_sha256.to_vec())
        .bind(copies)
        .bind(a.text.clone())
        .bind(a.text_sha256.clone())
        .bind(a.opened_ms)
        .bind(a.opened_by.to_string())
        .bind(a.due_ms)
        .bind(a.mailed_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_attestation(
        &mut self,
        id: AttestationId,
    ) -> Result<Option<Attestation>, StoreError> {
        sql(select!(" WHERE a.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(attestation)
            .transpose()
    }

    /// The attestation whose page's secret has SHA-256 `token_sha256`.
    pub async fn attestation_by_token(
        &mut self,
        token_sha256: &[u8],
    ) -> Result<Option<Attestation>, StoreError> {
        sql(select!(" WHERE a.token_sha256 = $1"))
            .bind(token_sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(attestation)
            .transpose()
    }

    /// Every attestation (or one party's), newest first.
    pub async fn list_attestations(
        &mut self,
        party: Option<PartyId>,
    ) -> Result<Vec<Attestation>, StoreError> {
        let query = match party {
            None => sql(select!(" ORDER BY a.opened_ms DESC, a.id")),
            Some(p) => sql(select!(
                " WHERE a.party_id = $1 ORDER BY a.opened_ms DESC, a.id"
            ))
            .bind(p.to_string()),
        };
        query
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(attestation)
            .collect()
    }

    /// Unsigned attestations whose due date has come, oldest due first.
    pub async fn overdue_attestations(
        &mut self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Attestation>, StoreError> {
        sql(select!(
            " WHERE a.signed_ms IS NULL AND a.due_ms <= $1 ORDER BY a.due_ms, a.id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(attestation)
        .collect()
    }

    /// Gives an unsigned attestation a new page secret (the old one stops
    /// working) and officer, mailed at `now`; false when it is signed.
    pub async fn reissue_attestation(
        &mut self,
        id: AttestationId,
        token_sha256: &[u8],
        officer_email: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE attestations SET token_sha256 = $1, officer_email = $2, \
                        mailed_ms = $3 WHERE id = $4 AND signed_ms IS NULL",
        )
        .bind(token_sha256.to_vec())
        .bind(officer_email.to_owned())
        .bind(now)
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the signature; false when it was signed already (the first
    /// signature is kept).
    pub async fn sign_attestation(
        &mut self,
        id: AttestationId,
        s: &AttestationSignature,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE attestations SET signer_name = $1, signer_email = $2, \
                        signed_sha256 = $3, signed_ms = $4, signed_addr = $5 \
                        WHERE id = $6 AND signed_ms IS NULL",
        )
        .bind(s.name.clone())
        .bind(s.email.clone())
        .bind(s.text_sha256.clone())
        .bind(s.signed_ms)
        .bind(s.source_addr.clone())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the reminder of an overdue, unsigned attestation for the period
    /// ending at `now`: false when it was reminded less than `period_ms` ago
    /// (by this node or another) or is signed.
    pub async fn take_attestation_reminder(
        &mut self,
        id: AttestationId,
        now: i64,
        period_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE attestations SET reminded_ms = $1, reminders = reminders + 1 \
                        WHERE id = $2 AND signed_ms IS NULL AND due_ms <= $1 \
                        AND (reminded_ms IS NULL OR reminded_ms <= $3)",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(now.saturating_sub(period_ms))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// As [`Tx::take_attestation_reminder`], for the escalation.
    pub async fn take_attestation_escalation(
        &mut self,
        id: AttestationId,
        now: i64,
        period_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE attestations SET escalated_ms = $1, escalations = escalations + 1 \
                        WHERE id = $2 AND signed_ms IS NULL AND due_ms <= $1 \
                        AND (escalated_ms IS NULL OR escalated_ms <= $3)",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(now.saturating_sub(period_ms))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_attestation_code(&mut self, c: &AttestationCode) -> Result<(), StoreError> {
        sql(
            "INSERT INTO attestation_codes (id, attestation_id, recipient, session_sha256, \
             code_sha256, created_ms, expires_ms, attempts, verified_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id.to_string())
        .bind(c.attestation_id.to_string())
        .bind(c.recipient.clone())
        .bind(c.session_sha256.clone())
        .bind(c.code_sha256.clone())
        .bind(c.created_ms)
        .bind(c.expires_ms)
        .bind(c.attempts)
        .bind(c.verified_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The code whose browser session has SHA-256 `session_sha256`.
    pub async fn attestation_code_by_session(
        &mut self,
        session_sha256: &[u8],
    ) -> Result<Option<AttestationCode>, StoreError> {
        sql("SELECT * FROM attestation_codes WHERE session_sha256 = $1")
            .bind(session_sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(code)
            .transpose()
    }

    /// Counts an attempt at a code; a right one verifies its session at `now`.
    pub async fn attestation_code_attempt(
        &mut self,
        id: AttestationCodeId,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sql("UPDATE attestation_codes SET attempts = attempts + 1, \
                        verified_ms = CASE WHEN $1 = 1 THEN $2 ELSE verified_ms END WHERE id = $3")
        .bind(i64::from(verified))
        .bind(now)
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// The allowed downloads and views that may have handed a copy to
    /// `party`: those by its users, and those through a share link to a
    /// recipient (the caller keeps the recipients who are the party's), in
    /// ledger order.
    pub async fn copy_events(&mut self, party: PartyId) -> Result<Vec<Event>, StoreError> {
        sql("SELECT * FROM events WHERE outcome = 'allowed' \
             AND action IN ('file.download', 'file.view') \
             AND (actor_party = $1 OR detail LIKE $2) ORDER BY seq")
        .bind(party.to_string())
        .bind("%\"recipient\":\"%".to_owned())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(super::events::event)
        .collect()
    }

    /// Where file `id` is (or was, when deleted).
    pub async fn file_place(&mut self, id: FileId) -> Result<Option<FilePlace>, StoreError> {
        sql(
            "SELECT f.path, f.room_id, r.name FROM files f JOIN rooms r ON r.id = f.room_id \
             WHERE f.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?
        .as_ref()
        .map(|row| {
            Ok(FilePlace {
                path: row.text("path")?,
                room_id: row.parsed("room_id")?,
                room_name: row.text("name")?,
            })
        })
        .transpose()
    }
}
