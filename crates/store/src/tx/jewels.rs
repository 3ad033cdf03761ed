//! Crown jewels: registered documents kept as their fingerprints (an encoded
//! `dlp::DocPrints`, never the content), and the generation that every
//! registration and removal moves, which nodes check to reload their copy of
//! the registry.

use model::{FileId, RoomId, UserId, VersionId};
use sqlx::any::AnyRow;

use super::{Tx, sql, unique};
use crate::StoreError;
use crate::row::RowExt;

/// A registered crown jewel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrownJewel {
    pub id: String,
    /// The name findings give it.
    pub name: String,
    /// `file` or `upload`.
    pub source: String,
    pub room_id: Option<RoomId>,
    pub file_id: Option<FileId>,
    pub version_id: Option<VersionId>,
    pub size: i64,
    pub sha256: Vec<u8>,
    /// The encoded fingerprints; empty when a listing did not ask for them.
    pub prints: Vec<u8>,
    pub print_count: i64,
    pub registered_by: UserId,
    pub registered_ms: i64,
}

fn jewel(row: &AnyRow, with_prints: bool) -> Result<CrownJewel, StoreError> {
    Ok(CrownJewel {
        id: row.text("id")?,
        name: row.text("name")?,
        source: row.text("source")?,
        room_id: row.opt_parsed("room_id")?,
        file_id: row.opt_parsed("file_id")?,
        version_id: row.opt_parsed("version_id")?,
        size: row.int("size")?,
        sha256: row.bytes("sha256")?,
        prints: if with_prints {
            row.bytes("prints")?
        } else {
            Vec::new()
        },
        print_count: row.int("print_count")?,
        registered_by: row.parsed("registered_by")?,
        registered_ms: row.int("registered_ms")?,
    })
}

impl Tx {
    /// Registers a crown jewel and moves the generation; the same content
    /// (by SHA-256) or id twice is a conflict (`crown jewel`).
    pub async fn insert_crown_jewel(&mut self, j: &CrownJewel) -> Result<i64, StoreError> {
        let query = sql(
            "INSERT INTO crown_jewels (id, name, source, room_id, file_id, version_id, size, \
             sha256, prints, print_count, registered_by, registered_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(j.id.clone())
        .bind(j.name.clone())
        .bind(j.source.clone())
        .bind(j.room_id.map(|r| r.to_string()))
        .bind(j.file_id.map(|f| f.to_string()))
        .bind(j.version_id.map(|v| v.to_string()))
        .bind(j.size)
        .bind(j.sha256.clone())
        .bind(j.prints.clone())
        .bind(j.print_count)
        .bind(j.registered_by.to_string())
        .bind(j.registered_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "crown jewel")]))?;
        self.bump_crown_jewels().await
    }

    /// The registered crown jewels, oldest first; with their fingerprints
    /// when `with_prints`.
    pub async fn crown_jewels(&mut self, with_prints: bool) -> Result<Vec<CrownJewel>, StoreError> {
        sql("SELECT * FROM crown_jewels ORDER BY registered_ms, id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| jewel(row, with_prints))
            .collect()
    }

    /// The crown jewel registered with this content's SHA-256, if any.
    pub async fn crown_jewel_by_sha256(
        &mut self,
        sha256: &[u8],
    ) -> Result<Option<CrownJewel>, StoreError> {
        sql("SELECT * FROM crown_jewels WHERE sha256 = $1")
            .bind(sha256.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(|row| jewel(row, false))
            .transpose()
    }

    /// Removes a crown jewel and moves the generation; returns it, if it
    /// was registered.
    pub async fn delete_crown_jewel(&mut self, id: &str) -> Result<Option<CrownJewel>, StoreError> {
        let gone = sql("DELETE FROM crown_jewels WHERE id = $1 RETURNING *")
            .bind(id.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(|row| jewel(row, false))
            .transpose()?;
        if gone.is_some() {
            self.bump_crown_jewels().await?;
        }
        Ok(gone)
    }

    /// The registry's generation: it moves with every registration and removal.
    pub async fn crown_jewel_generation(&mut self) -> Result<i64, StoreError> {
        sql("SELECT generation FROM crown_jewel_state WHERE id = 1")
            .fetch_optional(self.conn())
            .await?
            .map_or(Ok(0), |row| row.int("generation"))
    }

    async fn bump_crown_jewels(&mut self) -> Result<i64, StoreError> {
        sql(
            "UPDATE crown_jewel_state SET generation = generation + 1 WHERE id = 1 \
             RETURNING generation",
        )
        .fetch_one(self.conn())
        .await?
        .int("generation")
    }
}
