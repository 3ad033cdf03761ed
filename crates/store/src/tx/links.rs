//! Share links: stored by the SHA-256 of their secret, listed per room,
//! revoked, and counted — a download takes one of the link's downloads by a
//! conditional UPDATE, so a limit of five gives five downloads however many
//! arrive at once. Recipients' one-time codes and the sessions they verify.

use sqlx::any::AnyRow;

use super::{Tx, flag, sql, touched};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A one-time code mailed to a link's recipient, and the session it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCode {
    pub id: LinkCodeId,
    pub link_id: LinkId,
    pub recipient: String,
    pub session_sha256: Vec<u8>,
    pub code_sha256: Vec<u8>,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub attempts: i64,
    pub verified_ms: Option<i64>,
}

/// An agreement a link's verified recipient signed before the first byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSignature {
    pub link_id: LinkId,
    /// The verified address, lowercase.
    pub recipient: String,
    /// The room's requirement it meets (an agreement kind or a template name).
    pub requirement: String,
    /// The template whose text was shown.
    pub template: String,
    pub title: String,
    pub text: String,
    /// Lowercase hex SHA-256 of `text`.
    pub text_sha256: String,
    pub signed_ms: i64,
    pub source_addr: Option<String>,
}

fn signature(row: &AnyRow) -> Result<LinkSignature, StoreError> {
    Ok(LinkSignature {
        link_id: row.parsed("link_id")?,
        recipient: row.text("recipient")?,
        requirement: row.text("requirement")?,
        template: row.text("template")?,
        title: row.text("title")?,
        text: row.text("text")?,
        text_sha256: row.text("text_sha256")?,
        signed_ms: row.int("signed_ms")?,
        source_addr: row.opt_text("source_addr")?,
    })
}

fn link(row: &AnyRow) -> Result<Link, StoreError> {
    let recipients = row.text("recipients")?;
    Ok(Link {
        id: row.parsed("id")?,
        token_sha256: row.bytes("token_sha256")?,
        room_id: row.parsed("room_id")?,
        file_id: row.parsed("file_id")?,
        created_by: row.parsed("created_by")?,
        created_mfa: row.flag("created_mfa")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        password_hash: row.opt_text("password_hash")?,
        mode: row.name("mode", LinkMode::parse)?,
        max_downloads: row.opt_int("max_downloads")?,
        downloads: row.int("downloads")?,
        recipients: serde_json::from_str(&recipients)
            .map_err(|e| StoreError::Corrupt(format!("column `recipients`: {e}")))?,
        revoked_ms: row.opt_int("revoked_ms")?,
        revoked_by: row.opt_parsed("revoked_by")?,
    })
}

fn code(row: &AnyRow) -> Result<LinkCode, StoreError> {
    Ok(LinkCode {
        id: row.parsed("id")?,
        link_id: row.parsed("link_id")?,
        recipient: row.text("recipient")?,
        session_sha256: row.bytes("session_sha256")?,
        code_sha256: row.bytes("code_sha256")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        attempts: row.int("attempts")?,
        verified_ms: row.opt_int("verified_ms")?,
    })
}

impl Tx {
    /// Stores a new link.
    pub async fn insert_link(&mut self, l: &Link) -> Result<(), StoreError> {
        let recipients = serde_json::to_string(&l.recipients)
            .map_err(|e| StoreError::Corrupt(format!("recipients: {e}")))?;
        sql(
            "INSERT INTO links (id, token_sha256, room_id, file_id, created_by, created_mfa, \
             created_ms, expires_ms, password_hash, mode, max_downloads, downloads, recipients, \
             revoked_ms, revoked_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(l.id.to_string())
        .bind(l.token_sha256.clone())
        .bind(l.room_id.to_string())
        .bind(l.file_id.to_string())
        .bind(l.created_by.to_string())
        .bind(flag(l.created_mfa))
        .bind(l.created_ms)
        .bind(l.expires_ms)
        .bind(l.password_hash.clone())
        .bind(l.mode.as_str())
        .bind(l.max_downloads)
        .bind(l.downloads)
        .bind(recipients)
        .bind(l.revoked_ms)
        .bind(l.revoked_by.map(|u| u.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The link whose secret has this SHA-256.
    pub async fn link_by_token(&mut self, sha256: &[u8]) -> Result<Option<Link>, StoreError> {
        sql("SELECT * FROM links WHERE token_sha256 = $1")
            .bind(sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(link)
            .transpose()
    }

    /// Link `id`.
    pub async fn get_link(&mut self, id: LinkId) -> Result<Option<Link>, StoreError> {
        sql("SELECT * FROM links WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(link)
            .transpose()
    }

    /// The links of a room (only `creator`'s when given), newest first.
    pub async fn list_links(
        &mut self,
        room: RoomId,
        creator: Option<UserId>,
    ) -> Result<Vec<Link>, StoreError> {
        let rows = match creator {
            Some(u) => {
                sql(
                    "SELECT * FROM links WHERE room_id = $1 AND created_by = $2 \
                     ORDER BY created_ms DESC, id",
                )
                .bind(room.to_string())
                .bind(u.to_string())
                .fetch_all(self.conn())
                .await?
            }
            None => {
                sql("SELECT * FROM links WHERE room_id = $1 ORDER BY created_ms DESC, id")
                    .bind(room.to_string())
                    .fetch_all(self.conn())
                    .await?
            }
        };
        rows.iter().map(link).collect()
    }

    /// Revokes link `id` (a revoked link stays revoked, first revocation kept).
    pub async fn revoke_link(
        &mut self,
        id: LinkId,
        by: UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sql("UPDATE links SET revoked_ms = COALESCE(revoked_ms, $1), \
                        revoked_by = COALESCE(revoked_by, $2) WHERE id = $3")
        .bind(now)
        .bind(by.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// Takes one download of link `id` if it is open at `now` and has one
    /// left; false otherwise. Atomic: concurrent callers never take more than
    /// the limit.
    pub async fn take_link_download(&mut self, id: LinkId, now: i64) -> Result<bool, StoreError> {
        let done = sql("UPDATE links SET downloads = downloads + 1 \
                        WHERE id = $1 AND revoked_ms IS NULL AND expires_ms > $2 \
                        AND (max_downloads IS NULL OR downloads < max_downloads)")
        .bind(id.to_string())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a code mailed to a recipient (replacing none: each has its own session).
    pub async fn insert_link_code(&mut self, c: &LinkCode) -> Result<(), StoreError> {
        sql(
            "INSERT INTO link_codes (id, link_id, recipient, session_sha256, code_sha256, \
             created_ms, expires_ms, attempts, verified_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id.to_string())
        .bind(c.link_id.to_string())
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

    /// The code (and session) of this browser session's secret.
    pub async fn link_code_by_session(
        &mut self,
        sha256: &[u8],
    ) -> Result<Option<LinkCode>, StoreError> {
        sql("SELECT * FROM link_codes WHERE session_sha256 = $1")
            .bind(sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(code)
            .transpose()
    }

    /// Counts one attempt at code `id`; with `verified`, marks it verified at
    /// `now`.
    pub async fn link_code_attempt(
        &mut self,
        id: LinkCodeId,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = if verified {
            sql("UPDATE link_codes SET attempts = attempts + 1, verified_ms = $1 WHERE id = $2")
                .bind(now)
                .bind(id.to_string())
                .execute(self.conn())
                .await?
        } else {
            sql("UPDATE link_codes SET attempts = attempts + 1 WHERE id = $1")
                .bind(id.to_string())
                .execute(self.conn())
                .await?
        };
        touched(done.rows_affected())
    }

    /// Records `s`; false when the recipient already signed that requirement
    /// on that link (the first signature is kept).
    pub async fn insert_link_signature(&mut self, s: &LinkSignature) -> Result<bool, StoreError> {
        let done = sql(
            "INSERT INTO link_signatures (link_id, recipient, requirement, template, title, \
             text, text_sha256, signed_ms, source_addr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (link_id, recipient, requirement) DO NOTHING",
        )
        .bind(s.link_id.to_string())
        .bind(s.recipient.clone())
        .bind(s.requirement.clone())
        .bind(s.template.clone())
        .bind(s.title.clone())
        .bind(s.text.clone())
        .bind(s.text_sha256.clone())
        .bind(s.signed_ms)
        .bind(s.source_addr.clone())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// What `recipient` signed on link `link`, by requirement.
    pub async fn link_signatures(
        &mut self,
        link: LinkId,
        recipient: &str,
    ) -> Result<Vec<LinkSignature>, StoreError> {
        sql(
            "SELECT * FROM link_signatures WHERE link_id = $1 AND recipient = $2 \
             ORDER BY requirement",
        )
        .bind(link.to_string())
        .bind(recipient.to_owned())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(signature)
        .collect()
    }
}
