//! Rooms (soft-deleted) and the grants of room roles (soft-revoked).

use sqlx::any::AnyRow;

use super::{Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

pub(super) fn room(row: &AnyRow) -> Result<Room, StoreError> {
    let tags: Vec<String> = serde_json::from_str(&row.text("tags")?)
        .map_err(|e| StoreError::Corrupt(format!("column `tags`: {e}")))?;
    let access_window = match row.opt_text("access_window")? {
        None => None,
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("column `access_window`: {e}")))?,
        ),
    };
    Ok(Room {
        id: row.parsed("id")?,
        name: row.text("name")?,
        classification: row.name("classification", Classification::parse)?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        tags,
        access_window,
    })
}

/// The JSON columns of a room's conditions: tags and access window.
fn room_conditions(room: &Room) -> Result<(String, Option<String>), StoreError> {
    let tags =
        serde_json::to_string(&room.tags).map_err(|e| StoreError::Corrupt(format!("tags: {e}")))?;
    let window = room
        .access_window
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("access window: {e}")))?;
    Ok((tags, window))
}

pub(super) fn grant(row: &AnyRow) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: row.parsed("id")?,
        room_id: row.parsed("room_id")?,
        subject_kind: row.name("subject_kind", SubjectKind::parse)?,
        subject_id: row.parsed("subject_id")?,
        role: row.name("role", RoomRole::parse)?,
        expires_ms: row.opt_int("expires_ms")?,
        granted_by: row.parsed("granted_by")?,
        reason: row.text("reason")?,
        created_ms: row.int("created_ms")?,
    })
}

impl Tx {
    // ---- rooms
    pub async fn insert_room(&mut self, room: &Room) -> Result<(), StoreError> {
        let (tags, window) = room_conditions(room)?;
        sql(
            "INSERT INTO rooms (id, name, classification, created_by, created_ms, tags, \
             access_window) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(room.id.to_string())
        .bind(room.name.clone())
        .bind(room.classification.as_str())
        .bind(room.created_by.to_string())
        .bind(room.created_ms)
        .bind(tags)
        .bind(window)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "room")]))?;
        Ok(())
    }

    /// A room that is not deleted.
    pub async fn get_room(&mut self, id: RoomId) -> Result<Option<Room>, StoreError> {
        sql("SELECT * FROM rooms WHERE id = $1 AND deleted_ms IS NULL")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(room)
            .transpose()
    }

    /// Rooms not deleted, ordered by name.
    pub async fn list_rooms(&mut self) -> Result<Vec<Room>, StoreError> {
        sql("SELECT * FROM rooms WHERE deleted_ms IS NULL ORDER BY name, id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(room)
            .collect()
    }

    /// Updates name, classification, tags and access window.
    pub async fn update_room(&mut self, room: &Room) -> Result<(), StoreError> {
        let (tags, window) = room_conditions(room)?;
        let done = sql(
            "UPDATE rooms SET name = $2, classification = $3, tags = $4, access_window = $5 \
             WHERE id = $1 AND deleted_ms IS NULL",
        )
        .bind(room.id.to_string())
        .bind(room.name.clone())
        .bind(room.classification.as_str())
        .bind(tags)
        .bind(window)
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// Soft delete; returns whether a live room was deleted.
    pub async fn delete_room(&mut self, id: RoomId, now_ms: i64) -> Result<bool, StoreError> {
        let done = sql("UPDATE rooms SET deleted_ms = $2 WHERE id = $1 AND deleted_ms IS NULL")
            .bind(id.to_string())
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- grants
    pub async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        sql(
            "INSERT INTO grants (id, room_id, subject_kind, subject_id, role, expires_ms, \
             granted_by, reason, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(grant.id.to_string())
        .bind(grant.room_id.to_string())
        .bind(grant.subject_kind.as_str())
        .bind(grant.subject_id.to_string())
        .bind(grant.role.as_str())
        .bind(grant.expires_ms)
        .bind(grant.granted_by.to_string())
        .bind(grant.reason.clone())
        .bind(grant.created_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "grant")]))?;
        Ok(())
    }

    /// A grant not revoked.
    pub async fn get_grant(&mut self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        sql("SELECT * FROM grants WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(grant)
            .transpose()
    }

    /// Grants of a room not revoked (expired ones included), oldest first.
    pub async fn list_grants(&mut self, room: RoomId) -> Result<Vec<Grant>, StoreError> {
        sql(
            "SELECT * FROM grants WHERE room_id = $1 AND revoked_ms IS NULL \
             ORDER BY created_ms, id",
        )
        .bind(room.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(grant)
        .collect()
    }

    /// Grants not revoked whose subject is the user or the user's party, over all
    /// rooms (rooms that are deleted excluded), oldest first.
    pub async fn grants_for(
        &mut self,
        user: UserId,
        party: PartyId,
    ) -> Result<Vec<Grant>, StoreError> {
        sql("SELECT g.* FROM grants g JOIN rooms r ON r.id = g.room_id \
             WHERE g.revoked_ms IS NULL AND r.deleted_ms IS NULL \
             AND ((g.subject_kind = $1 AND g.subject_id = $2) \
               OR (g.subject_kind = $3 AND g.subject_id = $4)) \
             ORDER BY g.created_ms, g.id")
        .bind(SubjectKind::User.as_str())
        .bind(user.to_string())
        .bind(SubjectKind::Party.as_str())
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(grant)
        .collect()
    }

    /// Grants not revoked of live rooms whose subject is `party` or one of its
    /// users, each with its room's name and classification, by room name.
    pub async fn party_grants(
        &mut self,
        party: PartyId,
    ) -> Result<Vec<(Grant, String, Classification)>, StoreError> {
        let rows = sql(
            "SELECT g.*, r.name AS room_name, r.classification AS room_class \
             FROM grants g JOIN rooms r ON r.id = g.room_id \
             WHERE g.revoked_ms IS NULL AND r.deleted_ms IS NULL \
             AND ((g.subject_kind = $1 AND g.subject_id = $2) \
               OR (g.subject_kind = $3 AND g.subject_id IN \
                   (SELECT id FROM users WHERE party_id = $2))) \
             ORDER BY r.name, g.created_ms, g.id",
        )
        .bind(SubjectKind::Party.as_str())
        .bind(party.to_string())
        .bind(SubjectKind::User.as_str())
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    grant(row)?,
                    row.text("room_name")?,
                    row.name("room_class", Classification::parse)?,
                ))
            })
            .collect()
    }

    /// Returns whether a live grant was revoked.
    pub async fn revoke_grant(&mut self, id: GrantId, now_ms: i64) -> Result<bool, StoreError> {
        let done = sql("UPDATE grants SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL")
            .bind(id.to_string())
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
