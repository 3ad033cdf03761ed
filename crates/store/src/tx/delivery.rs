//! Rooms' delivery policies, and events by the mark id of the copy they issued.

use model::{DeliveryPolicy, Event, RoomId};

use super::{Tx, sql};
use crate::StoreError;
use crate::row::RowExt;

impl Tx {
    /// The delivery policy a room set, if it set one.
    pub async fn room_delivery(
        &mut self,
        room: RoomId,
    ) -> Result<Option<DeliveryPolicy>, StoreError> {
        let row = sql("SELECT policy FROM room_delivery WHERE room_id = $1")
            .bind(room.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.map(|row| {
            let text = row.text("policy")?;
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("room {room} delivery policy: {e}")))
        })
        .transpose()
    }

    /// Sets (or replaces) a room's delivery policy.
    pub async fn set_room_delivery(
        &mut self,
        room: RoomId,
        policy: &DeliveryPolicy,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(policy)
            .map_err(|e| StoreError::Corrupt(format!("delivery policy: {e}")))?;
        sql(
            "INSERT INTO room_delivery (room_id, policy) VALUES ($1, $2) \
             ON CONFLICT (room_id) DO UPDATE SET policy = excluded.policy",
        )
        .bind(room.to_string())
        .bind(text)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The events that carry `mark_id` (the issue of a marked copy or page),
    /// ascending by `seq`.
    pub async fn events_by_mark(&mut self, mark_id: &str) -> Result<Vec<Event>, StoreError> {
        sql("SELECT * FROM events WHERE mark_id = $1 ORDER BY seq LIMIT 16")
            .bind(mark_id.to_owned())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(super::events::event)
            .collect()
    }
}
