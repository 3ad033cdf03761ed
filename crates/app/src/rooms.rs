//! Rooms and grants, and the two helpers through which every use-case asks the
//! authorization seam: `check_system` and `room_access`.

use model::*;
use serde_json::json;

use crate::agreements::requirements_valid;
use crate::authz::{Action, Context, Decision, Principal, Resource, authorize};
use crate::events::{Fact, RequestMeta, record};
use crate::policies::{RoomRows, room_facts};
use crate::secrets::random;
use crate::{App, AppError};

/// A room as the caller sees it, with the caller's effective role.
#[derive(Clone, Debug)]
pub struct RoomInfo {
    pub room: Room,
    pub role: Option<RoomRole>,
    /// The agreements (kinds or template names) an external party must have
    /// signed, and in term, to reach the room's content.
    pub required_agreements: Vec<String>,
}

/// Changes to a room; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct RoomPatch {
    pub name: Option<String>,
    pub classification: Option<Classification>,
    /// Replaces the agreements the room requires.
    pub required_agreements: Option<Vec<String>>,
    /// Replaces the field-of-use tags.
    pub tags: Option<Vec<String>>,
    /// Sets (`Some(Some(_))`) or removes (`Some(None)`) the access window.
    pub access_window: Option<Option<AccessWindow>>,
}

impl RoomPatch {
    /// Whether the patch changes what the room demands of external parties.
    fn changes_conditions(&self) -> bool {
        self.classification.is_some()
            || self.required_agreements.is_some()
            || self.tags.is_some()
            || self.access_window.is_some()
    }
}

/// A grant about to be made.
#[derive(Clone, Debug)]
pub struct NewGrant {
    pub subject_kind: SubjectKind,
    pub subject_id: uuid::Uuid,
    pub role: RoomRole,
    pub expires_ms: Option<i64>,
    pub reason: String,
}

/// The caller's role in `room` from unexpired grants, and whether an expired one exists.
pub(crate) fn effective_role(grants: &[Grant], room: RoomId, now: i64) -> (Option<RoomRole>, bool) {
    let in_room = grants.iter().filter(|g| g.room_id == room);
    let (live, expired): (Vec<&Grant>, Vec<&Grant>) =
        in_room.partition(|g| g.expires_ms.is_none_or(|e| e > now));
    (live.iter().map(|g| g.role).max(), !expired.is_empty())
}

impl App {
    /// Asks the seam about a platform-wide action; a denial is recorded.
    pub(crate) async fn check_system(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        action: Action,
    ) -> Result<(), AppError> {
        let ctx = self.context(meta);
        self.enforce(meta, p, action, &Resource::System, &ctx, "system".into())
            .await
    }

    /// The request facts every decision sees.
    pub(crate) fn context(&self, meta: &RequestMeta) -> Context {
        let mut ctx = Context {
            now_ms: self.now(),
            source_addr: meta.source_addr.clone(),
            ..Context::default()
        };
        self.locate(&mut ctx);
        ctx
    }

    /// Asks the seam; a denial is recorded (in its own transaction) and returned
    /// as 403 with its reason, or as 404 when the caller may not see the resource.
    pub(crate) async fn enforce(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        action: Action,
        res: &Resource,
        ctx: &Context,
        target: String,
    ) -> Result<(), AppError> {
        let (error, reason) = match authorize(&*self.policies()?, p, action, res, ctx) {
            Decision::Allow => return Ok(()),
            Decision::Deny { reason, message } => (AppError::Forbidden { reason, message }, reason),
            Decision::Hide { reason } => (AppError::NotFound, reason),
        };
        let fact = Fact::denied(Some(p), action.as_str(), target, reason);
        self.record_alone(meta, fact).await?;
        Err(error)
    }

    /// Loads a room and checks `action` on it. Unknown rooms and rooms the caller
    /// may not see are both `NotFound`.
    pub(crate) async fn room_access(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
        action: Action,
    ) -> Result<RoomInfo, AppError> {
        self.room_access_for(meta, p, id, action, format!("room:{id}"))
            .await
    }

    /// Like `room_access`, recording a denial against `target` (e.g. the file
    /// inside the room that the action was on).
    pub(crate) async fn room_access_for(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
        action: Action,
        target: String,
    ) -> Result<RoomInfo, AppError> {
        let mut tx = self.store().read().await?;
        let room = tx.get_room(id).await?;
        let grants = tx.grants_for(p.user_id, p.party_id).await?;
        let required = tx.room_requirements(id).await?;
        // The owner's staff sign nothing; an external party's agreements
        // decide what it may reach.
        let agreements = if required.is_empty() && p.party_kind == PartyKind::Owner {
            vec![]
        } else {
            tx.list_agreements(Some(p.party_id)).await?
        };
        drop(tx);
        let ctx = self.context(meta);
        let Some(room) = room else {
            // An account that may do nothing is told so for every room alike;
            // anyone else learns only that there is nothing here.
            self.enforce(
                meta,
                p,
                Action::RoomList,
                &Resource::System,
                &ctx,
                target.clone(),
            )
            .await?;
            self.record_denial(meta, p, action, target, "not_found")
                .await?;
            return Err(AppError::NotFound);
        };
        let rows = RoomRows {
            room: &room,
            required: &required,
            grants: &grants,
            agreements: &agreements,
        };
        let (res, ctx) = room_facts(&rows, ctx);
        let role = match &res {
            Resource::Room { role, .. } => *role,
            _ => None,
        };
        // Seeing the room comes first: a caller who may not see it learns nothing more.
        if action != Action::RoomView {
            self.enforce_visible(meta, p, &res, &ctx, &target, action)
                .await?;
        }
        self.enforce(meta, p, action, &res, &ctx, target).await?;
        Ok(RoomInfo {
            room,
            role,
            required_agreements: required,
        })
    }

    async fn enforce_visible(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        res: &Resource,
        ctx: &Context,
        target: &str,
        action: Action,
    ) -> Result<(), AppError> {
        match authorize(&*self.policies()?, p, Action::RoomView, res, ctx) {
            // Only a hidden room is "not found"; a visible one that denies the
            // action answers 403 with its reason from `enforce` below.
            Decision::Hide { reason } => {
                self.record_denial(meta, p, action, target.to_owned(), reason)
                    .await?;
                Err(AppError::NotFound)
            }
            Decision::Deny { .. } | Decision::Allow => Ok(()),
        }
    }

    async fn record_denial(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        action: Action,
        target: String,
        reason: &str,
    ) -> Result<(), AppError> {
        let fact = Fact::denied(Some(p), action.as_str(), target, reason);
        self.record_alone(meta, fact).await?;
        Ok(())
    }

    /// Rooms the caller may see, with the caller's role in each.
    pub async fn list_rooms(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<Vec<RoomInfo>, AppError> {
        self.check_system(meta, p, Action::RoomList).await?;
        let mut tx = self.store().read().await?;
        let rooms = tx.list_rooms().await?;
        let grants = tx.grants_for(p.user_id, p.party_id).await?;
        let mut required = tx.all_room_requirements().await?;
        let agreements = if required.is_empty() && p.party_kind == PartyKind::Owner {
            vec![]
        } else {
            tx.list_agreements(Some(p.party_id)).await?
        };
        drop(tx);
        let policies = self.policies()?;
        let base = self.context(meta);
        let visible = rooms.into_iter().filter_map(|room| {
            let keys = required.remove(&room.id).unwrap_or_default();
            let rows = RoomRows {
                room: &room,
                required: &keys,
                grants: &grants,
                agreements: &agreements,
            };
            let (res, ctx) = room_facts(&rows, base.clone());
            let role = match &res {
                Resource::Room { role, .. } => *role,
                _ => None,
            };
            (authorize(&policies, p, Action::RoomView, &res, &ctx) == Decision::Allow).then_some(
                RoomInfo {
                    room,
                    role,
                    required_agreements: keys,
                },
            )
        });
        Ok(visible.collect())
    }

    /// Creates a room; its creator becomes its manager.
    pub async fn create_room(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        name: &str,
        classification: Classification,
    ) -> Result<RoomInfo, AppError> {
        self.check_system(meta, p, Action::RoomCreate).await?;
        let now = self.now();
        let room = Room {
            id: RoomId::from_random(random()?),
            name: room_name(name)?,
            classification,
            created_by: p.user_id,
            created_ms: now,
            tags: vec![],
            access_window: None,
        };
        let grant = Grant {
            id: GrantId::from_random(random()?),
            room_id: room.id,
            subject_kind: SubjectKind::User,
            subject_id: p.user_id.0,
            role: RoomRole::Manager,
            expires_ms: None,
            granted_by: p.user_id,
            reason: "room creator".into(),
            created_ms: now,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_room(&room).await?;
        tx.insert_grant(&grant).await?;
        let detail = json!({"name": room.name, "classification": classification});
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "room.create", format!("room:{}", room.id)).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(RoomInfo {
            room,
            role: Some(RoomRole::Manager),
            required_agreements: vec![],
        })
    }

    /// One room.
    pub async fn get_room(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
    ) -> Result<RoomInfo, AppError> {
        self.room_access(meta, p, id, Action::RoomView).await
    }

    /// Renames a room, or changes what it demands of external parties: its
    /// classification, the agreements it requires, its field-of-use tags and
    /// its access window (the owner's managers and admins only: an external
    /// manager cannot loosen them).
    pub async fn update_room(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
        patch: RoomPatch,
    ) -> Result<RoomInfo, AppError> {
        let mut info = self.room_access(meta, p, id, Action::RoomUpdate).await?;
        if patch.changes_conditions() {
            self.room_access(meta, p, id, Action::RoomConditions)
                .await?;
        }
        if let Some(name) = &patch.name {
            info.room.name = room_name(name)?;
        }
        if let Some(c) = patch.classification {
            info.room.classification = c;
        }
        if let Some(required) = patch.required_agreements {
            info.required_agreements = requirements_valid(required)?;
        }
        if let Some(raw) = &patch.tags {
            info.room.tags = tags(raw).map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        }
        if let Some(window) = patch.access_window {
            info.room.access_window = window
                .map(AccessWindow::validated)
                .transpose()
                .map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        }
        let mut tx = self.store().begin().await?;
        tx.update_room(&info.room).await?;
        tx.set_room_requirements(id, &info.required_agreements)
            .await?;
        let detail = json!({
            "name": info.room.name, "classification": info.room.classification,
            "required_agreements": info.required_agreements, "tags": info.room.tags,
            "access_window": info.room.access_window,
        });
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), "room.update", format!("room:{id}")).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Deletes a room (its content stays encrypted at rest for the record).
    pub async fn delete_room(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
    ) -> Result<(), AppError> {
        self.room_access(meta, p, id, Action::RoomDelete).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.delete_room(id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "room.delete", format!("room:{id}")),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Grants of a room.
    pub async fn list_grants(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
    ) -> Result<Vec<Grant>, AppError> {
        self.room_access(meta, p, room, Action::GrantList).await?;
        let mut tx = self.store().read().await?;
        let grants = tx.list_grants(room).await?;
        if p.party_kind == PartyKind::Owner {
            return Ok(grants);
        }
        // An external manager sees its own party's access, not who else
        // (the owner's staff, other suppliers) is in the room.
        let mut own = Vec::with_capacity(grants.len());
        for grant in grants {
            if subject_party(&mut tx, grant.subject_kind, grant.subject_id).await?
                == Some(p.party_id)
            {
                own.push(grant);
            }
        }
        Ok(own)
    }

    /// Granting to, or revoking the access of, someone outside the caller's
    /// own party is the owner's side's (`room.conditions`): an external
    /// manager manages its own party's access only.
    async fn check_subject_party(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
        subject: Option<PartyId>,
    ) -> Result<(), AppError> {
        if subject != Some(p.party_id) {
            self.room_access(meta, p, room, Action::RoomConditions)
                .await?;
        }
        Ok(())
    }

    /// Grants a role in a room to a user or a whole party.
    pub async fn create_grant(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
        new: NewGrant,
    ) -> Result<Grant, AppError> {
        self.room_access(meta, p, room, Action::GrantCreate).await?;
        let now = self.now();
        if new.expires_ms.is_some_and(|e| e <= now) {
            return Err(AppError::invalid(
                "expiry_in_past",
                "`expires_at` must be in the future",
            ));
        }
        let reason = new.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(AppError::invalid(
                "reason_required",
                "a grant needs a `reason` of 1 to 1000 characters",
            ));
        }
        let mut tx = self.store().begin().await?;
        let exists = match new.subject_kind {
            SubjectKind::User => tx.get_user(UserId(new.subject_id)).await?.is_some(),
            SubjectKind::Party => tx.get_party(PartyId(new.subject_id)).await?.is_some(),
        };
        if !exists {
            return Err(AppError::invalid(
                "unknown_subject",
                format!("no {} with id `{}`", new.subject_kind, new.subject_id),
            ));
        }
        let party = subject_party(&mut tx, new.subject_kind, new.subject_id).await?;
        if party != Some(p.party_id) {
            drop(tx);
            self.check_subject_party(meta, p, room, party).await?;
            tx = self.store().begin().await?;
        }
        let external = match party {
            Some(id) => tx
                .get_party(id)
                .await?
                .is_some_and(|party| party.kind == PartyKind::External),
            None => false,
        };
        if external {
            // The room's content is about to leave: its outbound DLP policy decides.
            drop(tx);
            self.check_share(meta, p, room, &reason).await?;
            tx = self.store().begin().await?;
        }
        let grant = Grant {
            id: GrantId::from_random(random()?),
            room_id: room,
            subject_kind: new.subject_kind,
            subject_id: new.subject_id,
            role: new.role,
            expires_ms: new.expires_ms,
            granted_by: p.user_id,
            reason,
            created_ms: now,
        };
        tx.insert_grant(&grant).await?;
        let detail = json!({"subject": format!("{}:{}", grant.subject_kind, grant.subject_id), "role": grant.role, "expires_ms": grant.expires_ms, "reason": grant.reason});
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "grant.create", format!("grant:{}", grant.id)).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Revokes a grant; it stops counting on the next request.
    pub async fn revoke_grant(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        room: RoomId,
        grant: GrantId,
    ) -> Result<(), AppError> {
        self.room_access(meta, p, room, Action::GrantRevoke).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let found = tx
            .get_grant(grant)
            .await?
            .filter(|g| g.room_id == room)
            .ok_or(AppError::NotFound)?;
        let party = subject_party(&mut tx, found.subject_kind, found.subject_id).await?;
        if party != Some(p.party_id) {
            drop(tx);
            self.check_subject_party(meta, p, room, party).await?;
            tx = self.store().begin().await?;
        }
        tx.revoke_grant(found.id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), "grant.revoke", format!("grant:{grant}")),
        )
        .await?;
        Ok(tx.commit().await?)
    }
}

/// The party a grant's subject is or belongs to (`None` for an unknown one).
async fn subject_party(
    tx: &mut store::Tx,
    kind: SubjectKind,
    id: uuid::Uuid,
) -> Result<Option<PartyId>, AppError> {
    Ok(match kind {
        SubjectKind::Party => Some(PartyId(id)),
        SubjectKind::User => tx.get_user(UserId(id)).await?.map(|u| u.party_id),
    })
}

fn room_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let bad = |c: char| c.is_control() || model::invisible(c);
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(bad) {
        return Err(AppError::invalid(
            "invalid_name",
            "`name` must be 1 to 200 characters without control or bidirectional characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(room: RoomId, role: RoomRole, expires_ms: Option<i64>) -> Grant {
        Grant {
            id: GrantId::from_random(random().unwrap()),
            room_id: room,
            subject_kind: SubjectKind::User,
            subject_id: uuid::Uuid::nil(),
            role,
            expires_ms,
            granted_by: UserId(uuid::Uuid::nil()),
            reason: "test".into(),
            created_ms: 0,
        }
    }

    #[test]
    fn effective_role_takes_the_highest_live_grant() {
        let (a, b) = (RoomId::from_random([1; 16]), RoomId::from_random([2; 16]));
        let grants = vec![
            grant(a, RoomRole::Viewer, None),
            grant(a, RoomRole::Manager, Some(100)),
            grant(a, RoomRole::Downloader, Some(1_000)),
            grant(b, RoomRole::Manager, None),
        ];
        assert_eq!(
            effective_role(&grants, a, 500),
            (Some(RoomRole::Downloader), true)
        );
        assert_eq!(
            effective_role(&grants, a, 50),
            (Some(RoomRole::Manager), false)
        );
        assert_eq!(
            effective_role(&grants, a, 5_000),
            (Some(RoomRole::Viewer), true)
        );
        assert_eq!(effective_role(&[], a, 0), (None, false));
    }
}
