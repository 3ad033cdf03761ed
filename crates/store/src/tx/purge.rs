//! Purging single files: the generation of each room's key, files' own
//! retention periods, the admin's grace period for deleted files, and the
//! versions a purge destroys (content/src/purge.rs).

use super::{Tx, sql, touched};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// One version due to be purged, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeCandidate {
    pub room_id: RoomId,
    pub file_id: FileId,
    pub version_id: VersionId,
    /// When the file was deleted (none: live, its retention ended).
    pub deleted_ms: Option<i64>,
    /// The file's retention period and who set it, if it has one.
    pub retention: Option<(i64, UserId)>,
}

/// The grace period of deleted files, as the admin left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgeSettings {
    pub grace_days: Option<i64>,
    pub set_by: Option<UserId>,
    pub set_ms: i64,
}

impl Tx {
    /// The generation of room `room`'s key that wraps new data keys, with the
    /// room's row locked until the transaction ends (a no-op update: PostgreSQL
    /// takes the row lock, SQLite holds its write lock already), so that a
    /// re-keying of the room waits for this transaction or this one sees it.
    pub async fn lock_room_key_generation(&mut self, room: RoomId) -> Result<i64, StoreError> {
        let done = sql("UPDATE rooms SET key_generation = key_generation WHERE id = $1")
            .bind(room.to_string())
            .execute(self.conn())
            .await?;
        touched(done.rows_affected())?;
        self.room_key_generation(room)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// The generation of room `room`'s key that wraps new data keys (a room
    /// deleted or not); `None` when there is no such room.
    pub async fn room_key_generation(&mut self, room: RoomId) -> Result<Option<i64>, StoreError> {
        sql("SELECT key_generation FROM rooms WHERE id = $1")
            .bind(room.to_string())
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.int("key_generation"))
            .transpose()
    }

    /// Every room that is not destroyed, with its key's generation.
    pub async fn room_key_generations(&mut self) -> Result<Vec<(RoomId, i64)>, StoreError> {
        sql("SELECT id, key_generation FROM rooms WHERE destroyed_ms IS NULL ORDER BY id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| Ok((row.parsed("id")?, row.int("key_generation")?)))
            .collect()
    }

    /// Moves room `room`'s key from generation `from` to `to`; returns whether
    /// it was at `from` (false: it moved already).
    pub async fn set_room_key_generation(
        &mut self,
        room: RoomId,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sql("UPDATE rooms SET key_generation = $3 WHERE id = $1 AND key_generation = $2")
                .bind(room.to_string())
                .bind(from)
                .bind(to)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `(version, wrapped key)` of every version of room `room` (of live,
    /// deleted and held files) whose data key is wrapped under key `key_id`.
    pub async fn room_versions_under(
        &mut self,
        room: RoomId,
        key_id: &str,
    ) -> Result<Vec<(VersionId, Vec<u8>)>, StoreError> {
        sql(
            "SELECT v.id, v.wrapped_key FROM versions v JOIN files f ON f.id = v.file_id \
             WHERE f.room_id = $1 AND v.kek_id = $2 AND v.wrapped_key <> $3 ORDER BY v.id",
        )
        .bind(room.to_string())
        .bind(key_id.to_owned())
        .bind(Vec::<u8>::new())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| Ok((row.parsed("id")?, row.bytes("wrapped_key")?)))
        .collect()
    }

    /// Versions due to be purged at `now_ms`, of rooms that are not deleted: of
    /// files deleted at or before `deleted_before` (none: deleted files are
    /// kept), and of files whose own retention period ended. Versions held for
    /// review (DLP or antivirus) wait for their decision; versions purged
    /// already (their wrapped key forgotten) are not named again.
    pub async fn purge_candidates(
        &mut self,
        now_ms: i64,
        deleted_before: Option<i64>,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        sql(
            "SELECT f.room_id, f.id AS file_id, v.id AS version_id, f.deleted_ms, \
             f.retention_days, f.retention_set_by FROM versions v \
             JOIN files f ON f.id = v.file_id JOIN rooms r ON r.id = f.room_id \
             WHERE r.deleted_ms IS NULL AND v.wrapped_key <> $1 AND f.purged_ms IS NULL \
             AND ((f.deleted_ms IS NOT NULL AND f.deleted_ms <= $2) \
                  OR (f.retention_days IS NOT NULL \
                      AND f.created_ms + f.retention_days * 86400000 <= $3)) \
             AND NOT EXISTS (SELECT 1 FROM dlp_holds h \
                             WHERE h.version_id = v.id AND h.state = 'held') \
             ORDER BY f.room_id, f.id, v.number",
        )
        .bind(Vec::<u8>::new())
        .bind(deleted_before.unwrap_or(i64::MIN))
        .bind(now_ms)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            let days = row.opt_int("retention_days")?;
            let by: Option<UserId> = row.opt_parsed("retention_set_by")?;
            Ok(PurgeCandidate {
                room_id: row.parsed("room_id")?,
                file_id: row.parsed("file_id")?,
                version_id: row.parsed("version_id")?,
                deleted_ms: row.opt_int("deleted_ms")?,
                retention: days.zip(by),
            })
        })
        .collect()
    }

    /// Forgets the wrapped data keys of `versions` (their key is destroyed)
    /// and marks purged every file none of whose versions can be read any
    /// more (deleting it, when it was not).
    pub async fn forget_purged_versions(
        &mut self,
        versions: &[VersionId],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut files = Vec::new();
        for v in versions {
            let row = sql("UPDATE versions SET wrapped_key = $2 WHERE id = $1 RETURNING file_id")
                .bind(v.to_string())
                .bind(Vec::<u8>::new())
                .fetch_optional(self.conn())
                .await?;
            if let Some(row) = row {
                let file: String = row.text("file_id")?;
                if !files.contains(&file) {
                    files.push(file);
                }
            }
        }
        for file in files {
            sql(
                "UPDATE files SET purged_ms = $2, deleted_ms = COALESCE(deleted_ms, $2) \
                 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM versions \
                 WHERE file_id = $1 AND wrapped_key <> $3)",
            )
            .bind(file)
            .bind(now_ms)
            .bind(Vec::<u8>::new())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Sets or clears a live file's retention period (days after its
    /// creation), with who set it.
    pub async fn set_file_retention(
        &mut self,
        file: FileId,
        days: Option<i64>,
        by: UserId,
    ) -> Result<(), StoreError> {
        let done = sql(
            "UPDATE files SET retention_days = $2, retention_set_by = $3 \
             WHERE id = $1 AND deleted_ms IS NULL",
        )
        .bind(file.to_string())
        .bind(days)
        .bind(days.map(|_| by.to_string()))
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// A file's retention period in days and who set it, if it has one.
    pub async fn file_retention(
        &mut self,
        file: FileId,
    ) -> Result<Option<(i64, UserId)>, StoreError> {
        let Some(row) = sql(
            "SELECT retention_days, retention_set_by FROM files WHERE id = $1 \
             AND retention_days IS NOT NULL AND retention_set_by IS NOT NULL",
        )
        .bind(file.to_string())
        .fetch_optional(self.conn())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            row.int("retention_days")?,
            row.parsed("retention_set_by")?,
        )))
    }

    /// The grace period of deleted files, `None` when no admin ever set it.
    pub async fn purge_settings(&mut self) -> Result<Option<PurgeSettings>, StoreError> {
        sql("SELECT grace_days, set_by, set_ms FROM purge_settings WHERE id = 1")
            .fetch_optional(self.conn())
            .await?
            .map(|row| {
                Ok(PurgeSettings {
                    grace_days: row.opt_int("grace_days")?,
                    set_by: row.opt_parsed("set_by")?,
                    set_ms: row.int("set_ms")?,
                })
            })
            .transpose()
    }

    /// Sets (or, with `None`, clears) the grace period of deleted files.
    pub async fn set_purge_settings(&mut self, s: &PurgeSettings) -> Result<(), StoreError> {
        sql("DELETE FROM purge_settings WHERE id = 1")
            .execute(self.conn())
            .await?;
        sql("INSERT INTO purge_settings (id, grace_days, set_by, set_ms) VALUES (1, $1, $2, $3)")
            .bind(s.grace_days)
            .bind(s.set_by.map(|u| u.to_string()))
            .bind(s.set_ms)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
