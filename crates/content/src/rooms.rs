//! Rooms and grants: the rooms a caller may see, creating, changing and
//! deleting them, and granting and revoking roles in them. Each use-case takes
//! the seam's proof for its action; a change that needs a second decision
//! (what a room demands of external parties) asks the seam again.

use kernel::authz::{Action, Decision, Principal, Resource, authorize};
use kernel::events::{Fact, RequestMeta, record};
use kernel::facts::{RoomRows, requirements_valid, room_facts};
use kernel::secrets::random;
use kernel::{AppError, Authorized, RoomInfo, System, act};
use model::*;
use serde_json::json;

use crate::Rooms;

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

/// A grant held by a party or one of its users, with what it opens.
#[derive(Clone, Debug)]
pub struct PartyGrant {
    pub grant: Grant,
    pub room_name: String,
    pub classification: Classification,
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

impl Rooms<'_> {
    /// Rooms the caller may see, with the caller's role in each.
    pub async fn list_rooms(
        &self,
        auth: Authorized<'_, act::RoomList, System>,
    ) -> Result<Vec<RoomInfo>, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().read().await?;
        let rooms = tx.list_rooms().await?;
        let grants = tx.grants_for(p.user_id, p.party_id).await?;
        let mut required = tx.all_room_requirements().await?;
        let agreements = if required.is_empty() && p.party_kind == PartyKind::Owner {
            vec![]
        } else {
            tx.list_agreements(Some(p.party_id)).await?
        };
        let evidence = if p.party_status == PartyStatus::Prospective {
            tx.evidence_room(p.party_id).await?
        } else {
            None
        };
        drop(tx);
        let risk = self.risk();
        let policies = self.policies()?;
        let base = self.context(meta);
        let visible = rooms.into_iter().filter_map(|room| {
            let keys = required.remove(&room.id).unwrap_or_default();
            // Seeing a room asks for no certificate: the list reads none
            // (a room's page decides its content with them, `App::room`).
            let rows = RoomRows {
                room: &room,
                required: &keys,
                grants: &grants,
                agreements: &agreements,
                caller: p,
                matrix: &risk.matrix,
                evidence_room: evidence == Some(room.id),
                required_certifications: &[],
                certifications: &[],
                required_courses: &[],
                completions: &[],
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
                    matrix_controls: ctx.matrix_controls.clone(),
                },
            )
        });
        Ok(visible.collect())
    }

    /// Creates a room; its creator becomes its manager.
    pub async fn create_room(
        &self,
        auth: Authorized<'_, act::RoomCreate, System>,
        name: &str,
        classification: Classification,
    ) -> Result<RoomInfo, AppError> {
        let (meta, p, _) = auth.into_parts();
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
        // The key first: a room row never exists without its key.
        self.create_room_key(room.id)?;
        let mut tx = self.store().begin().await?;
        tx.insert_room(&room).await?;
        tx.insert_grant(&grant).await?;
        let detail = json!({"name": room.name, "classification": classification});
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::RoomCreate, format!("room:{}", room.id)).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(RoomInfo {
            room,
            role: Some(RoomRole::Manager),
            required_agreements: vec![],
            matrix_controls: vec![],
        })
    }

    /// One room.
    pub async fn get_room(
        &self,
        auth: Authorized<'_, act::RoomView, RoomInfo>,
    ) -> Result<RoomInfo, AppError> {
        let (_, _, info) = auth.into_parts();
        Ok(info)
    }

    /// Renames a room, or changes what it demands of external parties: its
    /// classification, the agreements it requires, its field-of-use tags and
    /// its access window (the owner's managers and admins only: an external
    /// manager cannot loosen them).
    pub async fn update_room(
        &self,
        auth: Authorized<'_, act::RoomUpdate, RoomInfo>,
        patch: RoomPatch,
    ) -> Result<RoomInfo, AppError> {
        let (meta, p, mut info) = auth.into_parts();
        let id = info.room.id;
        if patch.changes_conditions() {
            let _conditions = self.room(meta, p, id, act::RoomConditions).await?;
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
            Fact::allowed(Some(p), Action::RoomUpdate, format!("room:{id}")).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Deletes a room (its content stays encrypted at rest for the record).
    pub async fn delete_room(
        &self,
        auth: Authorized<'_, act::RoomDelete, RoomInfo>,
    ) -> Result<(), AppError> {
        let (meta, p, info) = auth.into_parts();
        let id = info.room.id;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.delete_room(id, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::RoomDelete, format!("room:{id}")),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// Grants of a room.
    pub async fn list_grants(
        &self,
        auth: Authorized<'_, act::GrantList, RoomInfo>,
    ) -> Result<Vec<Grant>, AppError> {
        let (_, p, info) = auth.into_parts();
        let room = info.room.id;
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

    /// The access a party holds: the grants, not revoked, in live rooms, to
    /// the party or to one of its users, with the room's name and
    /// classification. Decided on the party (`party.list`).
    pub async fn party_grants(
        &self,
        auth: Authorized<'_, act::PartyList, PartyId>,
    ) -> Result<Vec<PartyGrant>, AppError> {
        let (_, _, party) = auth.into_parts();
        let rows = self.store().read().await?.party_grants(party).await?;
        Ok(rows
            .into_iter()
            .map(|(grant, room_name, classification)| PartyGrant {
                grant,
                room_name,
                classification,
            })
            .collect())
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
            let _conditions = self.room(meta, p, room, act::RoomConditions).await?;
        }
        Ok(())
    }

    /// Grants a role in a room to a user or a whole party.
    pub async fn create_grant(
        &self,
        auth: Authorized<'_, act::GrantCreate, RoomInfo>,
        new: NewGrant,
    ) -> Result<Grant, AppError> {
        let (meta, p, info) = auth.into_parts();
        let room = info.room.id;
        let now = self.now();
        if new.expires_ms.is_some_and(|e| e <= now) {
            return Err(AppError::invalid(
                ErrorCode::ExpiryInPast,
                "`expires_at` must be in the future",
            ));
        }
        let reason = new.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(AppError::invalid(
                ErrorCode::ReasonRequired,
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
                ErrorCode::UnknownSubject,
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
            crate::dlp_policy::check_share(self, meta, p, room, &reason).await?;
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
            Fact::allowed(Some(p), Action::GrantCreate, format!("grant:{}", grant.id)).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Revokes a grant; it stops counting on the next request.
    pub async fn revoke_grant(
        &self,
        auth: Authorized<'_, act::GrantRevoke, RoomInfo>,
        grant: GrantId,
    ) -> Result<(), AppError> {
        let (meta, p, info) = auth.into_parts();
        let room = info.room.id;
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
            Fact::allowed(Some(p), Action::GrantRevoke, format!("grant:{grant}")),
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
            ErrorCode::InvalidName,
            "`name` must be 1 to 200 characters without control or bidirectional characters",
        ));
    }
    Ok(name.to_owned())
}
