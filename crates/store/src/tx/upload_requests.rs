//! Upload requests (file drops): stored by the SHA-256 of their secret, listed
//! per room, revoked, and counted — a file takes one of the request's files by
//! a conditional UPDATE, so a limit of three stores three however many arrive
//! at once. Recipients' one-time codes and the sessions they verify; the files
//! each batch received; and a new file made only under a name no live file
//! holds, so a drop never becomes a version of a file already there.

use sqlx::any::AnyRow;

use super::{Tx, flag, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A one-time code mailed to a request's recipient, and the session it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadCode {
    pub id: UploadCodeId,
    pub request_id: UploadRequestId,
    pub recipient: String,
    pub session_sha256: Vec<u8>,
    pub code_sha256: Vec<u8>,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub attempts: i64,
    pub verified_ms: Option<i64>,
}

/// One file a request received, in its batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFile {
    pub batch_id: UploadBatchId,
    pub seq: i64,
    pub request_id: UploadRequestId,
    pub recipient: String,
    pub name: String,
    pub outcome: DropOutcome,
    pub size: Option<i64>,
    pub created_ms: i64,
}

fn request(row: &AnyRow) -> Result<UploadRequest, StoreError> {
    let recipients = row.text("recipients")?;
    Ok(UploadRequest {
        id: row.parsed("id")?,
        token_sha256: row.bytes("token_sha256")?,
        room_id: row.parsed("room_id")?,
        folder: row.text("folder")?,
        created_by: row.parsed("created_by")?,
        created_mfa: row.flag("created_mfa")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        max_file_bytes: row.int("max_file_bytes")?,
        max_files: row.int("max_files")?,
        files: row.int("files")?,
        recipients: serde_json::from_str(&recipients)
            .map_err(|e| StoreError::Corrupt(format!("column `recipients`: {e}")))?,
        message: row.opt_text("message")?,
        revoked_ms: row.opt_int("revoked_ms")?,
        revoked_by: row.opt_parsed("revoked_by")?,
    })
}

fn code(row: &AnyRow) -> Result<UploadCode, StoreError> {
    Ok(UploadCode {
        id: row.parsed("id")?,
        request_id: row.parsed("request_id")?,
        recipient: row.text("recipient")?,
        session_sha256: row.bytes("session_sha256")?,
        code_sha256: row.bytes("code_sha256")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        attempts: row.int("attempts")?,
        verified_ms: row.opt_int("verified_ms")?,
    })
}

fn received(row: &AnyRow) -> Result<ReceivedFile, StoreError> {
    Ok(ReceivedFile {
        batch_id: row.parsed("batch_id")?,
        seq: row.int("seq")?,
        request_id: row.parsed("request_id")?,
        recipient: row.text("recipient")?,
        name: row.text("name")?,
        outcome: row.name("outcome", DropOutcome::parse)?,
        size: row.opt_int("size")?,
        created_ms: row.int("created_ms")?,
    })
}

impl Tx {
    /// Stores a new upload request.
    pub async fn insert_upload_request(&mut self, r: &UploadRequest) -> Result<(), StoreError> {
        let recipients = serde_json::to_string(&r.recipients)
            .map_err(|e| StoreError::Corrupt(format!("recipients: {e}")))?;
        sql(
            "INSERT INTO upload_requests (id, token_sha256, room_id, folder, created_by, \
             created_mfa, created_ms, expires_ms, max_file_bytes, max_files, files, recipients, \
             message, revoked_ms, revoked_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(r.id.to_string())
        .bind(r.token_sha256.clone())
        .bind(r.room_id.to_string())
        .bind(r.folder.clone())
        .bind(r.created_by.to_string())
        .bind(flag(r.created_mfa))
        .bind(r.created_ms)
        .bind(r.expires_ms)
        .bind(r.max_file_bytes)
        .bind(r.max_files)
        .bind(r.files)
        .bind(recipients)
        .bind(r.message.clone())
        .bind(r.revoked_ms)
        .bind(r.revoked_by.map(|u| u.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The upload request whose secret has this SHA-256.
    pub async fn upload_request_by_token(
        &mut self,
        sha256: &[u8],
    ) -> Result<Option<UploadRequest>, StoreError> {
        sql("SELECT * FROM upload_requests WHERE token_sha256 = $1")
            .bind(sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    /// Upload request `id`.
    pub async fn get_upload_request(
        &mut self,
        id: UploadRequestId,
    ) -> Result<Option<UploadRequest>, StoreError> {
        sql("SELECT * FROM upload_requests WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(request)
            .transpose()
    }

    /// The upload requests of a room (only `creator`'s when given), newest first.
    pub async fn list_upload_requests(
        &mut self,
        room: RoomId,
        creator: Option<UserId>,
    ) -> Result<Vec<UploadRequest>, StoreError> {
        let rows = sql("SELECT * FROM upload_requests WHERE room_id = $1 \
             AND ($2 = '' OR created_by = $2) ORDER BY created_ms DESC, id")
        .bind(room.to_string())
        .bind(creator.map(|u| u.to_string()).unwrap_or_default())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(request).collect()
    }

    /// Revokes upload request `id` (the first revocation is kept).
    pub async fn revoke_upload_request(
        &mut self,
        id: UploadRequestId,
        by: UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sql(
            "UPDATE upload_requests SET revoked_ms = COALESCE(revoked_ms, $1), \
                        revoked_by = COALESCE(revoked_by, $2) WHERE id = $3",
        )
        .bind(now)
        .bind(by.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// Takes one of request `id`'s files if it is open at `now` and has one
    /// left; false otherwise. Atomic: concurrent callers never take more than
    /// the limit.
    pub async fn take_upload_slot(
        &mut self,
        id: UploadRequestId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE upload_requests SET files = files + 1 \
                        WHERE id = $1 AND revoked_ms IS NULL AND expires_ms > $2 \
                        AND files < max_files")
        .bind(id.to_string())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back a file taken by [`Tx::take_upload_slot`] whose upload stored nothing.
    pub async fn give_back_upload_slot(&mut self, id: UploadRequestId) -> Result<(), StoreError> {
        let done = sql("UPDATE upload_requests SET files = files - 1 WHERE id = $1 AND files > 0")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        touched(done.rows_affected())
    }

    /// Stores a code mailed to a recipient (each has its own session).
    pub async fn insert_upload_code(&mut self, c: &UploadCode) -> Result<(), StoreError> {
        sql(
            "INSERT INTO upload_request_codes (id, request_id, recipient, session_sha256, \
             code_sha256, created_ms, expires_ms, attempts, verified_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.id.to_string())
        .bind(c.request_id.to_string())
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
    pub async fn upload_code_by_session(
        &mut self,
        sha256: &[u8],
    ) -> Result<Option<UploadCode>, StoreError> {
        sql("SELECT * FROM upload_request_codes WHERE session_sha256 = $1")
            .bind(sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(code)
            .transpose()
    }

    /// Counts one attempt at code `id`; with `verified`, marks it verified at `now`.
    pub async fn upload_code_attempt(
        &mut self,
        id: UploadCodeId,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sql("UPDATE upload_request_codes SET attempts = attempts + 1, \
                        verified_ms = CASE WHEN $1 = 1 THEN $2 ELSE verified_ms END WHERE id = $3")
        .bind(flag(verified))
        .bind(now)
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// Makes a new, empty live file at `path` if no live file holds it;
    /// false when one does (a concurrent maker's commit is waited for).
    pub async fn create_file(
        &mut self,
        room: RoomId,
        path: &str,
        id: FileId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "INSERT INTO files (id, room_id, path, created_ms, version_count) \
             VALUES ($1, $2, $3, $4, 0) \
             ON CONFLICT (room_id, path) WHERE deleted_ms IS NULL DO NOTHING",
        )
        .bind(id.to_string())
        .bind(room.to_string())
        .bind(path.to_owned())
        .bind(now_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "file")]))?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether a live file holds `path` in `room`.
    pub async fn live_file_at(&mut self, room: RoomId, path: &str) -> Result<bool, StoreError> {
        Ok(sql("SELECT id FROM files WHERE room_id = $1 AND path = $2 \
                AND deleted_ms IS NULL")
        .bind(room.to_string())
        .bind(path.to_owned())
        .fetch_optional(self.conn())
        .await?
        .is_some())
    }

    /// Records one file a request received.
    pub async fn insert_received_file(&mut self, f: &ReceivedFile) -> Result<(), StoreError> {
        sql(
            "INSERT INTO upload_request_files (batch_id, seq, request_id, recipient, name, \
             outcome, size, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(f.batch_id.to_string())
        .bind(f.seq)
        .bind(f.request_id.to_string())
        .bind(f.recipient.clone())
        .bind(f.name.clone())
        .bind(f.outcome.as_str())
        .bind(f.size)
        .bind(f.created_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The files of one batch, in the order they arrived.
    pub async fn received_batch(
        &mut self,
        batch: UploadBatchId,
    ) -> Result<Vec<ReceivedFile>, StoreError> {
        let rows = sql("SELECT * FROM upload_request_files WHERE batch_id = $1 ORDER BY seq")
            .bind(batch.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(received).collect()
    }

    /// The files request `id` received, newest first.
    pub async fn received_files(
        &mut self,
        id: UploadRequestId,
    ) -> Result<Vec<ReceivedFile>, StoreError> {
        let rows = sql("SELECT * FROM upload_request_files WHERE request_id = $1 \
             ORDER BY created_ms DESC, batch_id, seq")
        .bind(id.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(received).collect()
    }
}
