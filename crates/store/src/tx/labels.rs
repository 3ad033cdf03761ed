//! Names for people of what events point at: rooms, files, held versions,
//! grants, users and parties, deleted ones included (the log outlives them).
//! Read in a few `IN` queries per page of events rather than one per event.

use std::collections::HashMap;

use sqlx::any::AnyRow;

use super::Tx;
use crate::StoreError;
use crate::row::RowExt;
use model::*;

/// The ids to name.
#[derive(Clone, Debug, Default)]
pub struct LabelIds {
    pub rooms: Vec<RoomId>,
    pub files: Vec<FileId>,
    pub versions: Vec<VersionId>,
    pub grants: Vec<GrantId>,
    pub users: Vec<UserId>,
    pub parties: Vec<PartyId>,
}

/// What the ids are called. A file, version or grant names its room too, so
/// the room of each is in `rooms` as well.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    /// Room names.
    pub rooms: HashMap<RoomId, String>,
    /// Each file's room and path.
    pub files: HashMap<FileId, (RoomId, String)>,
    /// Each version's file and number.
    pub versions: HashMap<VersionId, (FileId, i64)>,
    /// Each grant's room.
    pub grants: HashMap<GrantId, RoomId>,
    /// User e-mails.
    pub users: HashMap<UserId, String>,
    /// Party names.
    pub parties: HashMap<PartyId, String>,
}

/// Ids per `IN` list.
const CHUNK: usize = 500;

impl Tx {
    /// The rows of `select … WHERE <column> IN (…)` for `ids`, in chunks.
    async fn rows_in(
        &mut self,
        select: &'static str,
        ids: Vec<String>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let mut ids = ids;
        ids.sort();
        ids.dedup();
        let mut rows = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            // The text is a fixed select and numbered placeholders only.
            let text = format!("{select} ({})", marks.join(", "));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(text));
            for id in chunk {
                query = query.bind(id.clone());
            }
            rows.extend(query.fetch_all(self.conn()).await?);
        }
        Ok(rows)
    }

    /// Names for `ids` (those that exist; deleted rooms and files too).
    pub async fn labels(&mut self, ids: &LabelIds) -> Result<Labels, StoreError> {
        fn texts<T: ToString>(ids: &[T]) -> Vec<String> {
            ids.iter().map(ToString::to_string).collect()
        }
        let mut labels = Labels::default();
        let select = "SELECT id, file_id, number FROM versions WHERE id IN";
        for row in self.rows_in(select, texts(&ids.versions)).await? {
            let id = row.parsed("id")?;
            labels
                .versions
                .insert(id, (row.parsed("file_id")?, row.int("number")?));
        }
        let mut files = texts(&ids.files);
        files.extend(labels.versions.values().map(|(f, _)| f.to_string()));
        let select = "SELECT id, room_id, path FROM files WHERE id IN";
        for row in self.rows_in(select, files).await? {
            let id = row.parsed("id")?;
            labels
                .files
                .insert(id, (row.parsed("room_id")?, row.text("path")?));
        }
        let select = "SELECT id, room_id FROM grants WHERE id IN";
        for row in self.rows_in(select, texts(&ids.grants)).await? {
            labels
                .grants
                .insert(row.parsed("id")?, row.parsed("room_id")?);
        }
        let mut rooms = texts(&ids.rooms);
        rooms.extend(labels.files.values().map(|(r, _)| r.to_string()));
        rooms.extend(labels.grants.values().map(ToString::to_string));
        let select = "SELECT id, name FROM rooms WHERE id IN";
        for row in self.rows_in(select, rooms).await? {
            labels.rooms.insert(row.parsed("id")?, row.text("name")?);
        }
        let select = "SELECT id, email FROM users WHERE id IN";
        for row in self.rows_in(select, texts(&ids.users)).await? {
            labels.users.insert(row.parsed("id")?, row.text("email")?);
        }
        let select = "SELECT id, name FROM parties WHERE id IN";
        for row in self.rows_in(select, texts(&ids.parties)).await? {
            labels.parties.insert(row.parsed("id")?, row.text("name")?);
        }
        Ok(labels)
    }
}
