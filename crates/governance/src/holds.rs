//! Legal holds: a security officer (or admin) puts a room, or a party, under
//! a legal hold with a reason; while it is in force nothing it covers can be
//! destroyed (a room's destruction, its retention, a purge) nor redacted from
//! the audit log, and both are refused with `legal_hold` (409). A party's hold
//! covers every room the party or one of its users has or had a grant in, and
//! the events of its users. Releasing a hold takes a reason too; both are
//! recorded (docs/destruction.md).

use kernel::authz::{Authorized, System, act};
use kernel::events::{Fact, record};
use kernel::secrets::random;
use kernel::{Action, App, AppError, EventName, check_reason};
use model::*;
use serde_json::json;
use store::LegalHold;

/// What a hold covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldScope {
    Room(RoomId),
    Party(PartyId),
}

/// Legal holds: set, listed and released by the owner's security officers and admins.
#[derive(Clone, Copy)]
pub struct Holds<'a>(pub &'a App);

impl std::ops::Deref for Holds<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

impl Holds<'_> {
    /// Puts `scope` under a legal hold for `reason`.
    pub async fn set_hold(
        &self,
        auth: Authorized<'_, act::LegalHoldManage, System>,
        scope: HoldScope,
        reason: &str,
    ) -> Result<LegalHold, AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let hold = put_hold(&mut tx, meta, p, now, scope, &reason).await?;
        tx.commit().await?;
        Ok(hold)
    }

    /// Holds, newest first: those in force, or all.
    pub async fn list_holds(
        &self,
        _auth: Authorized<'_, act::LegalHoldManage, System>,
        active_only: bool,
    ) -> Result<Vec<LegalHold>, AppError> {
        Ok(self
            .store()
            .read()
            .await?
            .list_legal_holds(active_only)
            .await?)
    }

    /// Releases hold `id` for `reason`; a hold already released is `conflict`.
    pub async fn release_hold(
        &self,
        auth: Authorized<'_, act::LegalHoldManage, System>,
        id: &str,
        reason: &str,
    ) -> Result<LegalHold, AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let hold = tx.get_legal_hold(id).await?.ok_or(AppError::NotFound)?;
        if !tx.release_legal_hold(id, p.user_id, now, &reason).await? {
            return Err(AppError::Conflict("release of this hold"));
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::LegalHoldRelease,
                format!("{}:{}", hold.scope, hold.target_id),
            )
            .with(json!({"hold": hold.id, "reason": reason})),
        )
        .await?;
        let released = tx.get_legal_hold(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(released)
    }
}

/// Puts `scope` under a legal hold for `reason` (checked) in the caller's
/// transaction, recorded as `legal_hold.manage`: for [`Holds::set_hold`] and
/// the holds an incident case sets.
pub(crate) async fn put_hold(
    tx: &mut store::Tx,
    meta: &kernel::RequestMeta,
    p: &kernel::Principal,
    now: i64,
    scope: HoldScope,
    reason: &str,
) -> Result<LegalHold, AppError> {
    let (kind, target) = match scope {
        HoldScope::Room(id) => {
            tx.room_any(id)
                .await?
                .filter(|(_, _, destroyed)| destroyed.is_none())
                .ok_or(AppError::NotFound)?;
            ("room", id.to_string())
        }
        HoldScope::Party(id) => {
            tx.get_party(id).await?.ok_or(AppError::NotFound)?;
            ("party", id.to_string())
        }
    };
    let hold = LegalHold {
        id: uuid::Uuid::from_bytes(random()?).to_string(),
        scope: kind.to_owned(),
        target_id: target.clone(),
        reason: reason.to_owned(),
        set_by: p.user_id,
        set_ms: now,
        released_by: None,
        released_ms: None,
        release_reason: None,
    };
    tx.insert_legal_hold(&hold).await?;
    record(
        tx,
        meta,
        now,
        Fact::allowed(Some(p), Action::LegalHoldManage, format!("{kind}:{target}"))
            .with(json!({"hold": hold.id, "reason": reason})),
    )
    .await?;
    Ok(hold)
}
