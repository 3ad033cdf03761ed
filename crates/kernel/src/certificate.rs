//! The certificate of destruction: what a room's destruction destroyed, signed
//! by the ledger's key and anchored in the ledger. Its layout (docs/destruction.md):
//!
//! ```text
//! { "format": "custody-destruction-certificate/1",
//!   "note": signed note whose text is the body JSON and a newline,
//!   "evidence": an evidence bundle of the one `room.destroyed` event }
//! body = { "statement": the exact statement JSON, as a string,
//!          "declarations": the party's signed declarations (may be empty),
//!          "ledger_index": the index of the `room.destroyed` leaf }
//! ```
//!
//! The statement names the room, the key ids, every version by digest, when,
//! and by whose decision; its SHA-256 is in the `room.destroyed` event's detail,
//! so the ledger (a signed checkpoint and an inclusion proof) and the note
//! signature both bind it. `custody certificate verify` checks all of it offline.

use serde::{Deserialize, Serialize};

use crate::ledger::Bundle;

/// The certificate's `format`. Do not change (a new layout gets a new name).
pub const CERTIFICATE_FORMAT: &str = "custody-destruction-certificate/1";
/// The statement's `format`. Do not change.
pub const STATEMENT_FORMAT: &str = "custody-destruction-statement/1";

/// A certificate of destruction, as served and verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub format: String,
    /// A signed note by the ledger's key over [`CertificateBody`] as JSON.
    pub note: String,
    /// The `room.destroyed` event with its inclusion proof and checkpoint.
    pub evidence: Bundle,
}

/// What the certificate's note signs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    /// The exact statement JSON whose SHA-256 the destruction event holds.
    pub statement: String,
    /// The offboarded parties' signed declarations of return or destruction.
    pub declarations: Vec<serde_json::Value>,
    pub ledger_index: u64,
}

/// A person named by the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub email: String,
}

/// One destroyed version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedVersion {
    pub file: String,
    pub file_id: String,
    pub version: String,
    pub number: i64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    pub size: i64,
    /// Whether the file was deleted (or held) before the destruction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The destroyed room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedRoom {
    pub id: String,
    pub name: String,
    pub classification: String,
}

/// What a destruction destroyed, by whose decision and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub format: String,
    pub destruction: String,
    pub room: DestroyedRoom,
    /// The ids of the destroyed keys (`room-<room id>`).
    pub key_ids: Vec<String>,
    pub versions: Vec<DestroyedVersion>,
    pub reason: String,
    pub requested_by: Person,
    pub requested_ms: i64,
    /// The second person who approved it (rooms above `internal`).
    pub approved_by: Option<Person>,
    pub executed_by: Person,
    pub started_ms: i64,
    pub destroyed_ms: i64,
    /// Set when only some files of the room were destroyed (a purge): the id
    /// of the new generation of the room's key, under which everything else
    /// in the room was re-wrapped before `key_ids` were destroyed. The event
    /// is then `file.purged`, not `room.destroyed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekeyed_to: Option<String>,
}
