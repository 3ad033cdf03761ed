//! How copies leave a room. Each room says, per room role, whether a download
//! hands out the original bytes, a copy marked for its recipient (visible stamp
//! and forensic mark carrying a fresh mark id, recorded in the download's
//! ledger event), or nothing at all (the view-only viewer only). A file that
//! cannot be marked (a format the marks do not cover, a malformed or encrypted
//! PDF, a bomb) gets the room's fallback: deny (the default) or the original.
//!
//! The mark key that keys the forensic image marks lives in
//! `<key dir>/mark.key` (0600, the kernel's `MARK_KEY_FILE`), created on first
//! use; `custody trace --key-file` reads it.

use kernel::events::{Fact, record};
use kernel::{AppError, Authorized, EventName, RoomInfo, act};
use model::{Delivery, DeliveryPolicy, RoomRole, Unmarkable};

use crate::Rooms;

/// Largest file marked per download, in bytes: marking holds the whole copy
/// in memory. Larger files get the room's fallback.
pub const MAX_MARKED_BYTES: u64 = 64 << 20;

/// What a download of this role in this room hands out.
pub(crate) fn mode_for(policy: &DeliveryPolicy, role: Option<RoomRole>) -> Delivery {
    match role {
        Some(RoomRole::Viewer) => Delivery::ViewOnly,
        Some(RoomRole::Downloader) => policy.downloader,
        Some(RoomRole::Contributor) => policy.contributor,
        // Managers, and system roles acting without a grant (admins).
        Some(RoomRole::Manager) | None => policy.manager,
    }
}

impl Rooms<'_> {
    /// The delivery policy of a room (managers, security officers, admins).
    pub async fn room_delivery(
        &self,
        auth: Authorized<'_, act::RoomUpdate, RoomInfo>,
    ) -> Result<DeliveryPolicy, AppError> {
        let (_, _, info) = auth.into_parts();
        let id = info.room.id;
        Ok(self
            .store()
            .read()
            .await?
            .room_delivery(id)
            .await?
            .unwrap_or_default())
    }

    /// Sets the delivery policy of a room; recorded as `room.delivery`.
    pub async fn set_room_delivery(
        &self,
        auth: Authorized<'_, act::RoomUpdate, RoomInfo>,
        policy: DeliveryPolicy,
    ) -> Result<DeliveryPolicy, AppError> {
        let (meta, p, info) = auth.into_parts();
        let id = info.room.id;
        // Watermarking is an owner-side condition: an external manager may
        // read it, not switch it off.
        let _conditions = self.room(meta, p, id, act::RoomConditions).await?;
        let mut tx = self.store().begin().await?;
        tx.set_room_delivery(id, &policy).await?;
        let detail = serde_json::to_value(policy).map_err(AppError::internal)?;
        let fact =
            Fact::allowed(Some(p), EventName::RoomDelivery, format!("room:{id}")).with(detail);
        record(&mut tx, meta, self.now(), fact).await?;
        tx.commit().await?;
        Ok(policy)
    }
}

/// The reason code and sentence of a refused unmarkable copy.
pub(crate) fn unmarkable(policy: &DeliveryPolicy, why: &str) -> Option<AppError> {
    match policy.unmarkable {
        Unmarkable::Original => None,
        Unmarkable::Deny => Some(AppError::Forbidden {
            reason: "unmarkable",
            message: format!(
                "this file cannot be watermarked ({why}), and the room hands out marked copies only"
            ),
        }),
    }
}

/// The refusal of a download in a view-only room.
pub(crate) fn view_only() -> AppError {
    AppError::Forbidden {
        reason: "view_only",
        message: "your role in this room may view the file in the viewer but not download it"
            .into(),
    }
}
