//! Destruction requests (a room crypto-shredded: requested, approved by a
//! second person when the room is above `internal`, executed in steps that a
//! crash cannot split wrongly) and legal holds, which block destruction and
//! redaction of what they cover.

use sqlx::any::AnyRow;

use super::{Tx, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// One request to destroy a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destruction {
    pub id: String,
    pub room_id: RoomId,
    /// `room` (the whole room) or `files` (a purge of some of its files).
    pub kind: String,
    pub reason: String,
    /// `requested`, `approved`, `rejected`, `cancelled`, `destroying`, `destroyed`.
    pub state: String,
    pub needs_approval: bool,
    pub requested_by: UserId,
    pub requested_ms: i64,
    pub decided_by: Option<UserId>,
    pub decided_ms: Option<i64>,
    pub decision_note: Option<String>,
    pub executed_by: Option<UserId>,
    pub started_ms: Option<i64>,
    pub destroyed_ms: Option<i64>,
    /// The exact JSON of what is (to be) destroyed, and its SHA-256 (hex).
    pub manifest: String,
    pub manifest_sha256: String,
    /// The exact JSON the certificate states (set when the destruction is recorded).
    pub statement: Option<String>,
    /// The `room.destroy` event.
    pub event_seq: Option<i64>,
}

/// One stored version of a room, as a destruction names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomVersion {
    pub file_id: FileId,
    pub path: String,
    pub file_deleted: bool,
    pub version_id: VersionId,
    pub number: i64,
    pub sha256: Vec<u8>,
    pub size: i64,
    pub blob_id: BlobId,
    pub key_id: String,
}

/// A legal hold on a room, or on every room a party has (had) a grant in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    pub id: String,
    /// `room` or `party`.
    pub scope: String,
    pub target_id: String,
    pub reason: String,
    pub set_by: UserId,
    pub set_ms: i64,
    pub released_by: Option<UserId>,
    pub released_ms: Option<i64>,
    pub release_reason: Option<String>,
}

fn destruction(row: &AnyRow) -> Result<Destruction, StoreError> {
    Ok(Destruction {
        id: row.text("id")?,
        room_id: row.parsed("room_id")?,
        kind: row.text("kind")?,
        reason: row.text("reason")?,
        state: row.text("state")?,
        needs_approval: row.int("needs_approval")? != 0,
        requested_by: row.parsed("requested_by")?,
        requested_ms: row.int("requested_ms")?,
        decided_by: row.opt_parsed("decided_by")?,
        decided_ms: row.opt_int("decided_ms")?,
        decision_note: row.opt_text("decision_note")?,
        executed_by: row.opt_parsed("executed_by")?,
        started_ms: row.opt_int("started_ms")?,
        destroyed_ms: row.opt_int("destroyed_ms")?,
        manifest: row.text("manifest")?,
        manifest_sha256: row.text("manifest_sha256")?,
        statement: row.opt_text("statement")?,
        event_seq: row.opt_int("event_seq")?,
    })
}

fn hold(row: &AnyRow) -> Result<LegalHold, StoreError> {
    Ok(LegalHold {
        id: row.text("id")?,
        scope: row.text("scope")?,
        target_id: row.text("target_id")?,
        reason: row.text("reason")?,
        set_by: row.parsed("set_by")?,
        set_ms: row.int("set_ms")?,
        released_by: row.opt_parsed("released_by")?,
        released_ms: row.opt_int("released_ms")?,
        release_reason: row.opt_text("release_reason")?,
    })
}

impl Tx {
    // ---- destructions
    /// Fails with `Conflict("destruction")` when the room has an open request.
    pub async fn insert_destruction(&mut self, d: &Destruction) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO destructions (id, room_id, reason, state, needs_approval, requested_by, \
             requested_ms, manifest, manifest_sha256, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.id.clone())
        .bind(d.room_id.to_string())
        .bind(d.reason.clone())
        .bind(d.state.clone())
        .bind(i64::from(d.needs_approval))
        .bind(d.requested_by.to_string())
        .bind(d.requested_ms)
        .bind(d.manifest.clone())
        .bind(d.manifest_sha256.clone())
        .bind(d.kind.clone());
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "destruction")]))?;
        Ok(())
    }

    /// Writes every changeable column of a request that is still in state
    /// `from` (a conditional update: of two deciders racing, one wins);
    /// returns whether it was.
    pub async fn update_destruction(
        &mut self,
        d: &Destruction,
        from: &str,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE destructions SET state = $2, decided_by = $3, decided_ms = $4, \
             decision_note = $5, executed_by = $6, started_ms = $7, destroyed_ms = $8, \
             manifest = $9, manifest_sha256 = $10, statement = $11, event_seq = $12 \
             WHERE id = $1 AND state = $13",
        )
        .bind(d.id.clone())
        .bind(d.state.clone())
        .bind(d.decided_by.map(|u| u.to_string()))
        .bind(d.decided_ms)
        .bind(d.decision_note.clone())
        .bind(d.executed_by.map(|u| u.to_string()))
        .bind(d.started_ms)
        .bind(d.destroyed_ms)
        .bind(d.manifest.clone())
        .bind(d.manifest_sha256.clone())
        .bind(d.statement.clone())
        .bind(d.event_seq)
        .bind(from.to_owned())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get_destruction(&mut self, id: &str) -> Result<Option<Destruction>, StoreError> {
        sql("SELECT * FROM destructions WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(destruction)
            .transpose()
    }

    /// Requests, newest first; of one room, or in one state, or all.
    pub async fn list_destructions(
        &mut self,
        room: Option<RoomId>,
        state: Option<&str>,
    ) -> Result<Vec<Destruction>, StoreError> {
        sql(
            "SELECT * FROM destructions WHERE ($1 IS NULL OR room_id = $1) \
             AND ($2 IS NULL OR state = $2) ORDER BY requested_ms DESC, id",
        )
        .bind(room.map(|r| r.to_string()))
        .bind(state.map(str::to_owned))
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(destruction)
        .collect()
    }

    /// Every stored version of a room — of live, deleted and held files —
    /// by path and number.
    pub async fn room_versions(&mut self, room: RoomId) -> Result<Vec<RoomVersion>, StoreError> {
        sql(
            "SELECT f.id AS file_id, f.path, f.deleted_ms, v.id AS version_id, v.number, \
             v.sha256, v.size, v.blob_id, v.kek_id FROM versions v JOIN files f ON f.id = v.file_id \
             WHERE f.room_id = $1 ORDER BY f.path, f.id, v.number",
        )
        .bind(room.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| {
            Ok(RoomVersion {
                file_id: row.parsed("file_id")?,
                path: row.text("path")?,
                file_deleted: row.opt_int("deleted_ms")?.is_some(),
                version_id: row.parsed("version_id")?,
                number: row.int("number")?,
                sha256: row.bytes("sha256")?,
                size: row.int("size")?,
                blob_id: row.parsed("blob_id")?,
                key_id: row.text("kek_id")?,
            })
        })
        .collect()
    }

    /// A room, deleted or not, with when it was deleted and destroyed.
    pub async fn room_any(
        &mut self,
        id: RoomId,
    ) -> Result<Option<(Room, Option<i64>, Option<i64>)>, StoreError> {
        let Some(row) = sql("SELECT * FROM rooms WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let room = super::rooms::room(&row)?;
        Ok(Some((
            room,
            row.opt_int("deleted_ms")?,
            row.opt_int("destroyed_ms")?,
        )))
    }

    /// Marks a room destroyed (and deleted, if it was not) and forgets the
    /// wrapped data keys of its versions, which nothing can open any more.
    pub async fn mark_room_destroyed(&mut self, id: RoomId, now_ms: i64) -> Result<(), StoreError> {
        let done = sql(
            "UPDATE rooms SET destroyed_ms = $2, deleted_ms = COALESCE(deleted_ms, $2) \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())?;
        sql("UPDATE versions SET wrapped_key = $2 \
             WHERE file_id IN (SELECT id FROM files WHERE room_id = $1)")
        .bind(id.to_string())
        .bind(Vec::<u8>::new())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Sets or clears a room's retention period (days after its creation),
    /// with who set it.
    pub async fn set_room_retention(
        &mut self,
        id: RoomId,
        days: Option<i64>,
        by: UserId,
    ) -> Result<(), StoreError> {
        let done = sql(
            "UPDATE rooms SET retention_days = $2, retention_set_by = $3 \
             WHERE id = $1 AND deleted_ms IS NULL",
        )
        .bind(id.to_string())
        .bind(days)
        .bind(days.map(|_| by.to_string()))
        .execute(self.conn())
        .await?;
        touched(done.rows_affected())
    }

    /// A room's retention period in days and who set it, if it has one.
    pub async fn room_retention(
        &mut self,
        id: RoomId,
    ) -> Result<Option<(i64, UserId)>, StoreError> {
        let Some(row) = sql(
            "SELECT retention_days, retention_set_by FROM rooms WHERE id = $1 \
             AND retention_days IS NOT NULL AND retention_set_by IS NOT NULL",
        )
        .bind(id.to_string())
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

    /// Live rooms whose retention ended at `now_ms` (created + days ≤ now).
    pub async fn rooms_past_retention(&mut self, now_ms: i64) -> Result<Vec<RoomId>, StoreError> {
        sql(
            "SELECT id FROM rooms WHERE deleted_ms IS NULL AND retention_days IS NOT NULL \
             AND created_ms + retention_days * 86400000 <= $1 ORDER BY created_ms, id",
        )
        .bind(now_ms)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("id"))
        .collect()
    }

    /// The room of a file, deleted or not.
    pub async fn file_room(&mut self, file: FileId) -> Result<Option<RoomId>, StoreError> {
        sql("SELECT room_id FROM files WHERE id = $1")
            .bind(file.to_string())
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.parsed("room_id"))
            .transpose()
    }

    // ---- legal holds
    pub async fn insert_legal_hold(&mut self, h: &LegalHold) -> Result<(), StoreError> {
        sql(
            "INSERT INTO legal_holds (id, scope, target_id, reason, set_by, set_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(h.id.clone())
        .bind(h.scope.clone())
        .bind(h.target_id.clone())
        .bind(h.reason.clone())
        .bind(h.set_by.to_string())
        .bind(h.set_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn get_legal_hold(&mut self, id: &str) -> Result<Option<LegalHold>, StoreError> {
        sql("SELECT * FROM legal_holds WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(hold)
            .transpose()
    }

    /// Holds, newest first; only those in force when `active`.
    pub async fn list_legal_holds(&mut self, active: bool) -> Result<Vec<LegalHold>, StoreError> {
        sql(
            "SELECT * FROM legal_holds WHERE ($1 = 0 OR released_ms IS NULL) \
             ORDER BY set_ms DESC, id",
        )
        .bind(i64::from(active))
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(hold)
        .collect()
    }

    /// Releases a hold in force; returns whether one was released.
    pub async fn release_legal_hold(
        &mut self,
        id: &str,
        by: UserId,
        now_ms: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE legal_holds SET released_by = $2, released_ms = $3, release_reason = $4 \
             WHERE id = $1 AND released_ms IS NULL",
        )
        .bind(id.to_owned())
        .bind(by.to_string())
        .bind(now_ms)
        .bind(reason.to_owned())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The holds in force that cover room `room`: on the room itself, or on a
    /// party that has or had a grant in it (to the party or to one of its users).
    pub async fn holds_on_room(&mut self, room: RoomId) -> Result<Vec<LegalHold>, StoreError> {
        sql("SELECT * FROM legal_holds WHERE released_ms IS NULL AND ( \
               (scope = 'room' AND target_id = $1) OR \
               (scope = 'party' AND target_id IN ( \
                  SELECT subject_id FROM grants WHERE room_id = $1 AND subject_kind = 'party' \
                  UNION SELECT u.party_id FROM grants g JOIN users u ON u.id = g.subject_id \
                  WHERE g.room_id = $1 AND g.subject_kind = 'user'))) \
             ORDER BY set_ms, id")
        .bind(room.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(hold)
        .collect()
    }

    /// The parties that have or had a grant in room `room`, to themselves or
    /// to one of their users (revoked and expired grants too), by id.
    pub async fn room_parties(&mut self, room: RoomId) -> Result<Vec<PartyId>, StoreError> {
        sql(
            "SELECT subject_id AS party FROM grants WHERE room_id = $1 AND subject_kind = 'party' \
             UNION SELECT u.party_id AS party FROM grants g JOIN users u ON u.id = g.subject_id \
             WHERE g.room_id = $1 AND g.subject_kind = 'user' ORDER BY party",
        )
        .bind(room.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| row.parsed("party"))
        .collect()
    }

    /// The holds in force on party `party` itself.
    pub async fn holds_on_party(&mut self, party: PartyId) -> Result<Vec<LegalHold>, StoreError> {
        sql(
            "SELECT * FROM legal_holds WHERE released_ms IS NULL AND scope = 'party' \
             AND target_id = $1 ORDER BY set_ms, id",
        )
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(hold)
        .collect()
    }
}
