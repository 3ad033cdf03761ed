//! Files (soft-deleted, one live file per room and path), their immutable
//! versions, and the bookkeeping the vault needs (blob ids, wrapped keys).
//!
//! `files.version_count` is the number of the newest version: bumping it with
//! `UPDATE … RETURNING` locks the file row, so concurrent uploads of one path get
//! 1, 2, 3 … without collisions, and it lets a file be joined to its newest
//! version without a subquery.

use sqlx::any::AnyRow;

use super::search::Search;
use super::{NewVersion, Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// A version from `row`, whose columns carry the name prefix `p` (`""` or `"v_"`).
fn version(row: &AnyRow, p: &str) -> Result<Version, StoreError> {
    Ok(Version {
        id: row.parsed(&format!("{p}id"))?,
        file_id: row.parsed(&format!("{p}file_id"))?,
        number: row.int(&format!("{p}number"))?,
        blob_id: row.parsed(&format!("{p}blob_id"))?,
        size: row.int(&format!("{p}size"))?,
        sha256: row.bytes(&format!("{p}sha256"))?,
        wrapped_key: row.bytes(&format!("{p}wrapped_key"))?,
        kek_id: row.text(&format!("{p}kek_id"))?,
        uploaded_by: row.parsed(&format!("{p}uploaded_by"))?,
        created_ms: row.int(&format!("{p}created_ms"))?,
    })
}

/// A file joined to its newest version (`v_` columns, all null when it has none).
fn file(row: &AnyRow) -> Result<File, StoreError> {
    let has_version = row.opt_text("v_id")?.is_some();
    Ok(File {
        id: row.parsed("id")?,
        room_id: row.parsed("room_id")?,
        path: row.text("path")?,
        created_ms: row.int("created_ms")?,
        current: if has_version {
            Some(version(row, "v_")?)
        } else {
            None
        },
    })
}

/// The live files with their newest version; callers append a `WHERE` condition.
macro_rules! select_files {
    ($condition:literal) => {
        concat!(
            "SELECT f.id, f.room_id, f.path, f.created_ms, \
             v.id AS v_id, v.file_id AS v_file_id, v.number AS v_number, \
             v.blob_id AS v_blob_id, v.size AS v_size, v.sha256 AS v_sha256, \
             v.wrapped_key AS v_wrapped_key, v.kek_id AS v_kek_id, \
             v.uploaded_by AS v_uploaded_by, v.created_ms AS v_created_ms \
             FROM files f LEFT JOIN versions v \
             ON v.file_id = f.id AND v.number = f.version_count \
             WHERE f.deleted_ms IS NULL AND ",
            $condition
        )
    };
}

impl Tx {
    /// The id of the live file at `path` in `room`, creating it with `new_id` when
    /// there is none. Safe under concurrent calls for the same path.
    pub async fn ensure_file(
        &mut self,
        room: RoomId,
        path: &str,
        new_id: FileId,
        now_ms: i64,
    ) -> Result<FileId, StoreError> {
        // A concurrent creator makes this wait for its commit, then do nothing.
        sql(
            "INSERT INTO files (id, room_id, path, created_ms, version_count) \
             VALUES ($1, $2, $3, $4, 0) \
             ON CONFLICT (room_id, path) WHERE deleted_ms IS NULL DO NOTHING",
        )
        .bind(new_id.to_string())
        .bind(room.to_string())
        .bind(path.to_owned())
        .bind(now_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "file")]))?;
        let row = sql("SELECT id FROM files WHERE room_id = $1 AND path = $2 \
             AND deleted_ms IS NULL")
        .bind(room.to_string())
        .bind(path.to_owned())
        .fetch_one(self.conn())
        .await?;
        row.parsed("id")
    }

    /// Records a completely written version; numbers are 1, 2, 3 … per file and
    /// never collide under concurrent uploads of the same path. Fails with "row not
    /// found" when the file is not live.
    pub async fn insert_version(
        &mut self,
        file: FileId,
        v: &NewVersion,
    ) -> Result<Version, StoreError> {
        let row = sql("UPDATE files SET version_count = version_count + 1 \
             WHERE id = $1 AND deleted_ms IS NULL RETURNING version_count")
        .bind(file.to_string())
        .fetch_optional(self.conn())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
        let number = row.int("version_count")?;
        sql(
            "INSERT INTO versions (id, file_id, number, blob_id, size, sha256, wrapped_key, \
             kek_id, uploaded_by, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(v.id.to_string())
        .bind(file.to_string())
        .bind(number)
        .bind(v.blob_id.to_string())
        .bind(v.size)
        .bind(v.sha256.clone())
        .bind(v.wrapped_key.clone())
        .bind(v.kek_id.clone())
        .bind(v.uploaded_by.to_string())
        .bind(v.created_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "version")]))?;
        Ok(Version {
            id: v.id,
            file_id: file,
            number,
            blob_id: v.blob_id,
            size: v.size,
            sha256: v.sha256.clone(),
            wrapped_key: v.wrapped_key.clone(),
            kek_id: v.kek_id.clone(),
            uploaded_by: v.uploaded_by,
            created_ms: v.created_ms,
        })
    }

    /// A live file with its newest version.
    pub async fn get_file(&mut self, id: FileId) -> Result<Option<File>, StoreError> {
        sql(select_files!("f.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(file)
            .transpose()
    }

    /// Live files of a room with their newest version, ordered by path.
    pub async fn list_files(&mut self, room: RoomId) -> Result<Vec<File>, StoreError> {
        sql(select_files!("f.room_id = $1 ORDER BY f.path"))
            .bind(room.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(file)
            .collect()
    }

    /// At most `limit` files of a room whose path sorts after `after` (all
    /// when `None`), in path order: a page of a listing.
    pub async fn list_files_page(
        &mut self,
        room: RoomId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<File>, StoreError> {
        sql(select_files!(
            "f.room_id = $1 AND f.path > $2 ORDER BY f.path LIMIT $3"
        ))
        .bind(room.to_string())
        .bind(after.unwrap_or_default().to_owned())
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(file)
        .collect()
    }

    /// At most `limit` files of a room whose path sorts after `after` and
    /// contains each of `needles` in any ASCII case, in path order: a page of
    /// the candidates of a search by path. Needles are matched with `LIKE`
    /// (their `%`, `_` and `\\` escaped) on the path lowered by the database,
    /// which both backends do for ASCII letters; the caller confirms the
    /// match on the whole text.
    pub async fn find_files_page(
        &mut self,
        room: RoomId,
        needles: &[String],
        after: &str,
        limit: i64,
    ) -> Result<Vec<File>, StoreError> {
        use super::search::Bound::{Int, Text};
        let mut q = Search::default();
        q.push(
            select_files!("f.room_id = ? AND f.path > ?"),
            vec![Text(room.to_string()), Text(after.to_owned())],
        );
        for needle in needles {
            let mut pattern = String::from("%");
            for c in needle.to_ascii_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            pattern.push('%');
            q.push(" AND lower(f.path) LIKE ? ESCAPE '\\'", vec![Text(pattern)]);
        }
        q.push(" ORDER BY f.path LIMIT ?", vec![Int(limit.max(0))]);
        q.query()
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(file)
            .collect()
    }

    /// Versions of a live file, newest first (none for a deleted file).
    pub async fn list_versions(&mut self, file: FileId) -> Result<Vec<Version>, StoreError> {
        sql(
            "SELECT v.* FROM versions v JOIN files f ON f.id = v.file_id \
             WHERE v.file_id = $1 AND f.deleted_ms IS NULL ORDER BY v.number DESC",
        )
        .bind(file.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| version(row, ""))
        .collect()
    }

    /// A version of a live file.
    pub async fn get_version(&mut self, id: VersionId) -> Result<Option<Version>, StoreError> {
        sql(
            "SELECT v.* FROM versions v JOIN files f ON f.id = v.file_id \
             WHERE v.id = $1 AND f.deleted_ms IS NULL",
        )
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?
        .as_ref()
        .map(|row| version(row, ""))
        .transpose()
    }

    /// Soft delete; returns whether a live file was deleted.
    pub async fn delete_file(&mut self, id: FileId, now_ms: i64) -> Result<bool, StoreError> {
        let done = sql("UPDATE files SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL")
            .bind(id.to_string())
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- vault bookkeeping
    /// Every blob id referenced by any version (deleted files included), sorted.
    pub async fn blob_ids(&mut self) -> Result<Vec<BlobId>, StoreError> {
        sql("SELECT DISTINCT blob_id FROM versions ORDER BY blob_id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| row.parsed("blob_id"))
            .collect()
    }

    /// `(version, wrapped_key, kek_id)` of every version whose data key is wrapped
    /// directly by a KEK other than `except_kek` (none wrapped by a room key, none
    /// of a destroyed room).
    pub async fn wrapped_keys(
        &mut self,
        except_kek: &str,
    ) -> Result<Vec<(VersionId, Vec<u8>, String)>, StoreError> {
        sql(
            "SELECT id, wrapped_key, kek_id FROM versions WHERE kek_id <> $1 \
             AND kek_id NOT LIKE 'room-%' AND wrapped_key <> $2 ORDER BY id",
        )
        .bind(except_kek.to_owned())
        .bind(Vec::<u8>::new())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.parsed("id")?,
                row.bytes("wrapped_key")?,
                row.text("kek_id")?,
            ))
        })
        .collect()
    }

    /// `(version, room, wrapped_key, kek_id)` of every version whose data key is
    /// still wrapped directly by a KEK (stored before rooms had keys), at most `limit`.
    pub async fn kek_wrapped_versions(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(VersionId, RoomId, Vec<u8>, String)>, StoreError> {
        sql(
            "SELECT v.id, f.room_id, v.wrapped_key, v.kek_id FROM versions v \
             JOIN files f ON f.id = v.file_id \
             WHERE v.kek_id NOT LIKE 'room-%' AND v.wrapped_key <> $1 ORDER BY v.id LIMIT $2",
        )
        .bind(Vec::<u8>::new())
        .bind(limit)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.parsed("id")?,
                row.parsed("room_id")?,
                row.bytes("wrapped_key")?,
                row.text("kek_id")?,
            ))
        })
        .collect()
    }

    /// Every room's id, deleted or not.
    pub async fn all_room_ids(&mut self) -> Result<Vec<RoomId>, StoreError> {
        sql("SELECT id FROM rooms WHERE destroyed_ms IS NULL ORDER BY id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| row.parsed("id"))
            .collect()
    }

    /// Fails with "row not found" when there is no such version.
    pub async fn set_wrapped_key(
        &mut self,
        version: VersionId,
        wrapped_key: &[u8],
        kek_id: &str,
    ) -> Result<(), StoreError> {
        let done = sql("UPDATE versions SET wrapped_key = $2, kek_id = $3 WHERE id = $1")
            .bind(version.to_string())
            .bind(wrapped_key.to_vec())
            .bind(kek_id.to_owned())
            .execute(self.conn())
            .await?;
        touched(done.rows_affected())
    }
}
