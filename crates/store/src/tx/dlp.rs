//! Data-loss prevention: rooms' DLP policies, the stored verdict of each
//! scanned version, versions held in quarantine, and administrators' custom
//! detectors.
//!
//! A held version is recorded under a file row of its own that is deleted from
//! the start: every query that lists, reads or downloads files skips deleted
//! files, so nobody reaches a held version through them, while the blob stays
//! referenced (orphan clean-up keeps it) and key rotation re-wraps its key. A
//! release moves the version into the live file at its path, with the next
//! number; a rejection leaves it where it is, like a deleted file's versions.

use std::collections::BTreeMap;

use model::{FileId, RoomId, UserId, Version, VersionId};
use sqlx::any::AnyRow;

use super::{NewVersion, Tx, sql, unique};
use crate::StoreError;
use crate::row::RowExt;

/// The verdict of one scan of one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVerdict {
    pub version_id: VersionId,
    /// `low` … `critical`; `None` when nothing was found.
    pub max_severity: Option<String>,
    /// Findings per detector id.
    pub detectors: BTreeMap<String, i64>,
    /// Why (part of) the content could not be inspected.
    pub uninspectable: Option<String>,
    /// Hex SHA-256 of the ruleset the scan ran under.
    pub ruleset: String,
    pub scanned_ms: i64,
    /// The crown jewels the content overlaps (JSON written by the caller).
    pub jewels: Option<String>,
}

/// clamd's verdict on one inbound version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvVerdict {
    pub version_id: VersionId,
    /// `clean`, `infected` or `uninspectable`.
    pub verdict: String,
    /// The signature clamd named, when infected.
    pub signature: Option<String>,
    /// Why it could not be scanned, when uninspectable.
    pub reason: Option<String>,
    pub scanned_ms: i64,
}

/// Where a held version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldState {
    Held,
    Released,
    Rejected,
}

impl HoldState {
    /// The stable name; do not change.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Released => "released",
            HoldState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "held" => Ok(HoldState::Held),
            "released" => Ok(HoldState::Released),
            "rejected" => Ok(HoldState::Rejected),
            other => Err(StoreError::Corrupt(format!("hold state `{other}`"))),
        }
    }
}

/// A version held for review, with its decision once taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DlpHold {
    pub version: Version,
    pub room_id: RoomId,
    /// The room's name (a deleted room's too).
    pub room_name: String,
    pub path: String,
    /// The uploader's e-mail.
    pub uploader_email: String,
    /// Why it is held (JSON written by the caller: action and findings' summary).
    pub reason: String,
    pub created_ms: i64,
    pub state: HoldState,
    pub decided_by: Option<UserId>,
    pub decided_ms: Option<i64>,
    pub note: Option<String>,
    /// The malware signature clamd found in it, when it is held as infected.
    pub signature: Option<String>,
}

fn version(row: &AnyRow) -> Result<Version, StoreError> {
    Ok(Version {
        id: row.parsed("id")?,
        file_id: row.parsed("file_id")?,
        number: row.int("number")?,
        blob_id: row.parsed("blob_id")?,
        size: row.int("size")?,
        sha256: row.bytes("sha256")?,
        wrapped_key: row.bytes("wrapped_key")?,
        kek_id: row.text("kek_id")?,
        uploaded_by: row.parsed("uploaded_by")?,
        created_ms: row.int("created_ms")?,
    })
}

fn hold(row: &AnyRow) -> Result<DlpHold, StoreError> {
    Ok(DlpHold {
        version: version(row)?,
        room_id: row.parsed("h_room_id")?,
        room_name: row.text("h_room_name")?,
        path: row.text("h_path")?,
        uploader_email: row.text("h_uploader_email")?,
        reason: row.text("h_reason")?,
        created_ms: row.int("h_created_ms")?,
        state: HoldState::parse(&row.text("h_state")?)?,
        decided_by: row.opt_parsed("h_decided_by")?,
        decided_ms: row.opt_int("h_decided_ms")?,
        note: row.opt_text("h_note")?,
        signature: row.opt_text("h_signature")?,
    })
}

/// Holds joined to their versions, rooms and uploaders; callers append a
/// condition.
macro_rules! select_holds {
    ($condition:literal) => {
        concat!(
            "SELECT v.*, h.room_id AS h_room_id, h.path AS h_path, h.reason AS h_reason, \
             h.created_ms AS h_created_ms, h.state AS h_state, h.decided_by AS h_decided_by, \
             h.decided_ms AS h_decided_ms, h.note AS h_note, r.name AS h_room_name, \
             u.email AS h_uploader_email, a.signature AS h_signature \
             FROM dlp_holds h JOIN versions v ON v.id = h.version_id \
             JOIN rooms r ON r.id = h.room_id JOIN users u ON u.id = h.uploaded_by \
             LEFT JOIN av_verdicts a ON a.version_id = h.version_id AND a.verdict = 'infected' \
             WHERE ",
            $condition
        )
    };
}

fn verdict(row: &AnyRow) -> Result<StoredVerdict, StoreError> {
    let version_id: VersionId = row.parsed("version_id")?;
    let detectors = serde_json::from_str(&row.text("detectors")?)
        .map_err(|e| StoreError::Corrupt(format!("verdict of {version_id}: {e}")))?;
    Ok(StoredVerdict {
        version_id,
        max_severity: row.opt_text("max_severity")?,
        detectors,
        uninspectable: row.opt_text("uninspectable")?,
        ruleset: row.text("ruleset")?,
        scanned_ms: row.int("scanned_ms")?,
        jewels: row.opt_text("jewels")?,
    })
}

impl Tx {
    /// The DLP policy a room set (JSON), if it set one.
    pub async fn room_dlp(&mut self, room: RoomId) -> Result<Option<String>, StoreError> {
        sql("SELECT policy FROM room_dlp WHERE room_id = $1")
            .bind(room.to_string())
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.text("policy"))
            .transpose()
    }

    /// Sets (or replaces) a room's DLP policy (JSON).
    pub async fn set_room_dlp(&mut self, room: RoomId, policy: &str) -> Result<(), StoreError> {
        sql("INSERT INTO room_dlp (room_id, policy) VALUES ($1, $2) \
             ON CONFLICT (room_id) DO UPDATE SET policy = excluded.policy")
        .bind(room.to_string())
        .bind(policy.to_owned())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The stored verdict of a version, if it was scanned.
    pub async fn dlp_verdict(
        &mut self,
        version: VersionId,
    ) -> Result<Option<StoredVerdict>, StoreError> {
        sql("SELECT * FROM dlp_verdicts WHERE version_id = $1")
            .bind(version.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(verdict)
            .transpose()
    }

    /// Records (or replaces) the verdict of a version.
    pub async fn put_dlp_verdict(&mut self, v: &StoredVerdict) -> Result<(), StoreError> {
        let detectors = serde_json::to_string(&v.detectors)
            .map_err(|e| StoreError::Corrupt(format!("verdict detectors: {e}")))?;
        sql("INSERT INTO dlp_verdicts \
             (version_id, max_severity, detectors, uninspectable, ruleset, scanned_ms, jewels) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (version_id) DO UPDATE SET max_severity = excluded.max_severity, \
             detectors = excluded.detectors, uninspectable = excluded.uninspectable, \
             ruleset = excluded.ruleset, scanned_ms = excluded.scanned_ms, \
             jewels = excluded.jewels")
        .bind(v.version_id.to_string())
        .bind(v.max_severity.clone())
        .bind(detectors)
        .bind(v.uninspectable.clone())
        .bind(v.ruleset.clone())
        .bind(v.scanned_ms)
        .bind(v.jewels.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// clamd's verdict on a version, if it was scanned.
    pub async fn av_verdict(
        &mut self,
        version: VersionId,
    ) -> Result<Option<AvVerdict>, StoreError> {
        sql("SELECT * FROM av_verdicts WHERE version_id = $1")
            .bind(version.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(|row| {
                Ok(AvVerdict {
                    version_id: row.parsed("version_id")?,
                    verdict: row.text("verdict")?,
                    signature: row.opt_text("signature")?,
                    reason: row.opt_text("reason")?,
                    scanned_ms: row.int("scanned_ms")?,
                })
            })
            .transpose()
    }

    /// Records clamd's verdict on a version (once: a version is scanned as it
    /// is sealed).
    pub async fn put_av_verdict(&mut self, v: &AvVerdict) -> Result<(), StoreError> {
        sql(
            "INSERT INTO av_verdicts (version_id, verdict, signature, reason, scanned_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(v.version_id.to_string())
        .bind(v.verdict.clone())
        .bind(v.signature.clone())
        .bind(v.reason.clone())
        .bind(v.scanned_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records a completely written version as held: under a new file row
    /// `hidden` (deleted from the start) in `room` at `path`, with a hold row
    /// in state `held`. `reason` is the caller's JSON.
    pub async fn insert_held_version(
        &mut self,
        room: RoomId,
        path: &str,
        hidden: FileId,
        v: &NewVersion,
        reason: &str,
    ) -> Result<Version, StoreError> {
        sql(
            "INSERT INTO files (id, room_id, path, created_ms, deleted_ms, version_count) \
             VALUES ($1, $2, $3, $4, $4, 1)",
        )
        .bind(hidden.to_string())
        .bind(room.to_string())
        .bind(path.to_owned())
        .bind(v.created_ms)
        .execute(self.conn())
        .await
        .map_err(|e| unique(e, &[("", "file")]))?;
        sql(
            "INSERT INTO versions (id, file_id, number, blob_id, size, sha256, wrapped_key, \
             kek_id, uploaded_by, created_ms) \
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(v.id.to_string())
        .bind(hidden.to_string())
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
        sql(
            "INSERT INTO dlp_holds (version_id, room_id, path, uploaded_by, reason, created_ms, \
             state) VALUES ($1, $2, $3, $4, $5, $6, 'held')",
        )
        .bind(v.id.to_string())
        .bind(room.to_string())
        .bind(path.to_owned())
        .bind(v.uploaded_by.to_string())
        .bind(reason.to_owned())
        .bind(v.created_ms)
        .execute(self.conn())
        .await?;
        Ok(Version {
            id: v.id,
            file_id: hidden,
            number: 1,
            blob_id: v.blob_id,
            size: v.size,
            sha256: v.sha256.clone(),
            wrapped_key: v.wrapped_key.clone(),
            kek_id: v.kek_id.clone(),
            uploaded_by: v.uploaded_by,
            created_ms: v.created_ms,
        })
    }

    /// Holds in `state` (all when `None`), oldest first, at most `limit`.
    pub async fn list_holds(
        &mut self,
        state: Option<HoldState>,
        limit: i64,
    ) -> Result<Vec<DlpHold>, StoreError> {
        let query = match state {
            Some(s) => sql(select_holds!(
                "h.state = $1 ORDER BY h.created_ms, h.version_id LIMIT $2"
            ))
            .bind(s.as_str())
            .bind(limit),
            None => sql(select_holds!(
                "1 = 1 ORDER BY h.created_ms, h.version_id LIMIT $1"
            ))
            .bind(limit),
        };
        query
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(hold)
            .collect()
    }

    /// One hold, whatever its state.
    pub async fn get_hold(&mut self, version: VersionId) -> Result<Option<DlpHold>, StoreError> {
        sql(select_holds!("h.version_id = $1"))
            .bind(version.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(hold)
            .transpose()
    }

    /// Takes the decision on a version still held; returns whether it was held.
    pub async fn decide_hold(
        &mut self,
        version: VersionId,
        state: HoldState,
        by: UserId,
        now_ms: i64,
        note: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sql(
            "UPDATE dlp_holds SET state = $2, decided_by = $3, decided_ms = $4, note = $5 \
             WHERE version_id = $1 AND state = 'held'",
        )
        .bind(version.to_string())
        .bind(state.as_str())
        .bind(by.to_string())
        .bind(now_ms)
        .bind(note.map(str::to_owned))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves a (held) version into the live file `file` as its newest version;
    /// fails with "row not found" when `file` is not live.
    pub async fn move_version(
        &mut self,
        held: VersionId,
        file: FileId,
    ) -> Result<Version, StoreError> {
        let row = sql("UPDATE files SET version_count = version_count + 1 \
             WHERE id = $1 AND deleted_ms IS NULL RETURNING version_count")
        .bind(file.to_string())
        .fetch_optional(self.conn())
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
        let number = row.int("version_count")?;
        sql("UPDATE versions SET file_id = $2, number = $3 WHERE id = $1 RETURNING *")
            .bind(held.to_string())
            .bind(file.to_string())
            .bind(number)
            .fetch_optional(self.conn())
            .await?
            .ok_or(sqlx::Error::RowNotFound)
            .map_err(StoreError::from)
            .and_then(|row| version(&row))
    }

    /// The administrators' custom detectors: `(id, rule JSON)`, by id.
    pub async fn dlp_rules(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        sql("SELECT id, rule FROM dlp_rules ORDER BY id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| Ok((row.text("id")?, row.text("rule")?)))
            .collect()
    }

    /// Adds a custom detector; a taken id is a conflict (`dlp rule`).
    pub async fn insert_dlp_rule(
        &mut self,
        id: &str,
        rule: &str,
        by: UserId,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query =
            sql("INSERT INTO dlp_rules (id, rule, created_by, created_ms) VALUES ($1, $2, $3, $4)")
                .bind(id.to_owned())
                .bind(rule.to_owned())
                .bind(by.to_string())
                .bind(now_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "dlp rule")]))?;
        Ok(())
    }

    /// Removes a custom detector; returns whether there was one.
    pub async fn delete_dlp_rule(&mut self, id: &str) -> Result<bool, StoreError> {
        let done = sql("DELETE FROM dlp_rules WHERE id = $1")
            .bind(id.to_owned())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
