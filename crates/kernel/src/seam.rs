//! The authorization seam: the one place that decides, through the policy set
//! in force, whether a caller may do an action on a resource, records every
//! refusal, and hands out the proof ([`Authorized`]) that the use-cases take.
//! A caller who may not even see a resource is told "not found", never
//! "forbidden"; a store failure while deciding is an internal error, never a
//! "not found".

use std::net::IpAddr;
use std::sync::Arc;

use model::*;

use crate::authz::{
    Act, Action, Authorized, Context, Decision, Policies, Principal, Resource, System, authorize,
};
use crate::events::{Fact, RequestMeta};
use crate::facts::{
    CERTIFICATION, RequiredCourse, RoomRows, principal_for, required_courses, room_facts,
};
use crate::{App, AppError};

/// A room as the caller sees it, with the caller's effective role.
#[derive(Clone, Debug)]
pub struct RoomInfo {
    pub room: Room,
    pub role: Option<RoomRole>,
    /// The agreements (kinds or template names) an external party must have
    /// signed, and in term, to reach the room's content.
    pub required_agreements: Vec<String>,
    /// The controls the sharing risk matrix asks of the caller's party in
    /// this room (none for the owner party).
    pub matrix_controls: Vec<model::diligence::MatrixControl>,
}

impl App {
    /// Asks the seam about a platform-wide action; a denial is recorded.
    async fn check_system(
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
    pub fn context(&self, meta: &RequestMeta) -> Context {
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
    pub async fn enforce(
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
        let fact = Fact::denied(Some(p), action, target, reason);
        self.record_alone(meta, fact).await?;
        Err(error)
    }

    /// Loads a room and checks `action` on it. Unknown rooms and rooms the caller
    /// may not see are both `NotFound`.
    async fn room_access(
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
    async fn room_access_for(
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
        // Only a party being onboarded is let into its evidence room alone.
        let evidence = if p.party_status == PartyStatus::Prospective {
            tx.evidence_room(p.party_id).await?
        } else {
            None
        };
        let (required_certifications, certifications) = match &room {
            Some(room) => {
                let required = tx
                    .required_qualifications(room.id, room.classification, CERTIFICATION)
                    .await?;
                // The owner's staff are not asked for certificates.
                let held = if required.is_empty() || p.party_kind == PartyKind::Owner {
                    vec![]
                } else {
                    tx.list_certifications(p.party_id).await?
                };
                (required, held)
            }
            None => (vec![], vec![]),
        };
        let (required_courses, completions) = match &room {
            Some(room) => course_rows(&mut tx, room, p).await?,
            None => (vec![], vec![]),
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
        let risk = self.risk();
        let rows = RoomRows {
            room: &room,
            required: &required,
            grants: &grants,
            agreements: &agreements,
            caller: p,
            matrix: &risk.matrix,
            evidence_room: evidence == Some(id),
            required_certifications: &required_certifications,
            certifications: &certifications,
            required_courses: &required_courses,
            completions: &completions,
        };
        let (res, ctx) = room_facts(&rows, ctx);
        let matrix_controls = ctx.matrix_controls.clone();
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
            matrix_controls,
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
        let fact = Fact::denied(Some(p), action, target, reason);
        self.record_alone(meta, fact).await?;
        Ok(())
    }

    /// Loads an agreement and checks `action` on it; unknown agreements and
    /// those the caller may not see are both `NotFound`.
    async fn agreement_access(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: AgreementId,
        action: Action,
    ) -> Result<Agreement, AppError> {
        let found = self.store().read().await?.get_agreement(id).await?;
        let target = format!("agreement:{id}");
        let ctx = self.context(meta);
        let Some(agreement) = found else {
            self.enforce(
                meta,
                p,
                Action::RoomList,
                &Resource::System,
                &ctx,
                target.clone(),
            )
            .await?;
            let fact = Fact::denied(Some(p), action, target, "not_found");
            self.record_alone(meta, fact).await?;
            return Err(AppError::NotFound);
        };
        self.enforce(meta, p, action, &resource(&agreement), &ctx, target)
            .await?;
        Ok(agreement)
    }

    /// Loads a file and checks `action` on its room; unknown files and files in
    /// rooms the caller may not see are both `NotFound`.
    async fn file_access_in(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: FileId,
        action: Action,
    ) -> Result<(File, Version, RoomInfo), AppError> {
        let file = self.store().read().await?.get_file(id).await?;
        let Some(file) = file else {
            let fact = Fact::denied(Some(p), action, format!("file:{id}"), "not_found");
            self.record_alone(meta, fact).await?;
            return Err(AppError::NotFound);
        };
        let room = self
            .room_access_for(meta, p, file.room_id, action, format!("file:{id}"))
            .await?;
        let current = file.current.clone().ok_or(AppError::NotFound)?;
        Ok((file, current, room))
    }

    /// The risk settings in force on this node (the matrix, the periods).
    pub fn risk(&self) -> Arc<model::diligence::RiskSettings> {
        self.inner.risk.load_full()
    }

    /// Re-reads the risk settings from the store (another node may have
    /// changed them); the defaults when none are stored.
    pub async fn load_risk(&self) -> Result<(), AppError> {
        let stored = self.store().read().await?.risk_settings().await?;
        self.inner.risk.store(Arc::new(stored.unwrap_or_default()));
        Ok(())
    }

    /// Puts `risk` in force on this node (after the change that stored it committed).
    pub fn install_risk(&self, risk: model::diligence::RiskSettings) {
        self.inner.risk.store(Arc::new(risk));
    }

    /// The network zones in force on this node.
    pub fn zones(&self) -> Arc<Vec<NetworkZone>> {
        self.inner.zones.load_full()
    }

    /// Re-reads the zones from the store (another node may have changed them).
    pub async fn load_zones(&self) -> Result<(), AppError> {
        let zones = self.store().read().await?.list_zones().await?;
        self.inner.zones.store(Arc::new(zones));
        Ok(())
    }

    /// Puts `zones` in force on this node, atomically (after the change that
    /// stored them committed).
    pub fn install_zones(&self, zones: Vec<NetworkZone>) {
        self.inner.zones.store(Arc::new(zones));
    }

    /// Puts the zone of the request's address into `ctx` (the zones in force
    /// now; a simulation or a replay places its address as a request would be).
    pub fn locate(&self, ctx: &mut Context) {
        let ip: Option<IpAddr> = ctx.source_addr.as_deref().and_then(|a| a.parse().ok());
        let zones = self.inner.zones.load();
        let zone = ip.and_then(|ip| zone_of(&zones, ip));
        ctx.zone = zone.map(|z| z.name.clone());
        ctx.zone_country = zone.map(|z| z.country.clone());
    }

    /// The policy set in force. Fails (and so every request fails closed) only
    /// when the built-in policies could not be loaded at start.
    pub fn policies(&self) -> Result<Arc<Policies>, AppError> {
        self.inner.policies.load_full().ok_or_else(|| {
            let why = self
                .inner
                .policy_error
                .as_deref()
                .unwrap_or("none installed");
            AppError::internal(format!("the authorization policies failed to load: {why}"))
        })
    }

    /// Replaces the policy set in force, atomically; requests already deciding
    /// finish on the old one.
    pub fn install_policies(&self, policies: Policies) {
        self.inner.policies.store(Some(Arc::new(policies)));
    }

    /// Installs the newest stored version of the policy set, if it is not the
    /// one in force already, and returns its number (0: none stored, the
    /// defaults stay). Called at start and then periodically (another node may
    /// have applied a change). A stored version that no longer validates (the
    /// schema changed under it) is an error naming it, and the set in force
    /// stays: at start the caller must refuse to start rather than run on the
    /// defaults.
    pub async fn load_stored_policies(&self) -> Result<i64, AppError> {
        let latest = self.store().read().await?.latest_policy_version().await?;
        let Some(v) = latest else {
            return Ok(0);
        };
        if self.policies().is_ok_and(|p| p.version() == v.number) {
            return Ok(v.number);
        }
        let policies = Policies::with_changes(&v.custom, &v.disabled).map_err(|e| {
            AppError::internal(format!(
                "stored policy version {} no longer validates: {e}",
                v.number
            ))
        })?;
        self.install_policies(policies.at_version(v.number));
        tracing::info!(version = v.number, "installed the stored policy version");
        Ok(v.number)
    }
}

/// A file and its newest version, with the caller's place in its room.
#[derive(Clone, Debug)]
pub struct FileAccess {
    pub file: File,
    pub current: Version,
    pub room: RoomInfo,
}

/// The proofs: each asks the policy set in force and, when it allows, hands
/// the use-case an [`Authorized`] for exactly that action.
impl App {
    /// A platform-wide action.
    pub async fn system<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        _: A,
    ) -> Result<Authorized<'a, A, System>, AppError> {
        self.check_system(meta, p, A::ACTION).await?;
        Ok(Authorized::new(meta, p, System))
    }

    /// An action on a room (unknown and hidden rooms are both `NotFound`).
    pub async fn room<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: RoomId,
        _: A,
    ) -> Result<Authorized<'a, A, RoomInfo>, AppError> {
        let info = self.room_access(meta, p, id, A::ACTION).await?;
        Ok(Authorized::new(meta, p, info))
    }

    /// An action on a room, a denial recorded against `target` (the thing in
    /// the room the action is on, e.g. `file:<id>` or `grant:<id>`).
    pub async fn room_for<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: RoomId,
        target: String,
        _: A,
    ) -> Result<Authorized<'a, A, RoomInfo>, AppError> {
        let info = self.room_access_for(meta, p, id, A::ACTION, target).await?;
        Ok(Authorized::new(meta, p, info))
    }

    /// An action on a file, decided on its room.
    pub async fn file<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: FileId,
        _: A,
    ) -> Result<Authorized<'a, A, FileAccess>, AppError> {
        let (file, current, room) = self.file_access_in(meta, p, id, A::ACTION).await?;
        Ok(Authorized::new(
            meta,
            p,
            FileAccess {
                file,
                current,
                room,
            },
        ))
    }

    /// An action on an agreement (unknown and hidden ones are both `NotFound`).
    pub async fn agreement<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: AgreementId,
        _: A,
    ) -> Result<Authorized<'a, A, Agreement>, AppError> {
        let agreement = self.agreement_access(meta, p, id, A::ACTION).await?;
        Ok(Authorized::new(meta, p, agreement))
    }

    /// An action on one user (`user.list`: viewing it; `user.update`:
    /// revoking its sessions), decided on the stored user, the caller's own
    /// included (`self.user`). A user that does not exist is decided on the
    /// platform. A denied view is `NotFound`, whatever its reason.
    pub async fn user<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: UserId,
        _: A,
    ) -> Result<Authorized<'a, A, UserId>, AppError> {
        let mut tx = self.store().read().await?;
        let res = match tx.get_user(id).await? {
            Some(user) => Resource::User(principal_for(&mut tx, &user, false).await?),
            None => Resource::System,
        };
        drop(tx);
        self.record_access(meta, p, A::ACTION, &res).await?;
        Ok(Authorized::new(meta, p, id))
    }

    /// An action on one party (`party.list`: viewing it), decided on the
    /// stored party, the caller's own included (`self.party`). A party that
    /// does not exist is decided on the platform. A denied view is
    /// `NotFound`, whatever its reason.
    pub async fn party<'a, A: Act>(
        &self,
        meta: &'a RequestMeta,
        p: &'a Principal,
        id: PartyId,
        _: A,
    ) -> Result<Authorized<'a, A, PartyId>, AppError> {
        let mut tx = self.store().read().await?;
        let found = tx.get_party(id).await?;
        let res = match found {
            Some(party) => Resource::Party {
                id,
                kind: party.kind,
                status: party.status,
                certified_until_ms: tx.certified_until(id).await?,
                tier: party.tier,
                tier_until_ms: party.tier_until_ms,
            },
            None => Resource::System,
        };
        drop(tx);
        self.record_access(meta, p, A::ACTION, &res).await?;
        Ok(Authorized::new(meta, p, id))
    }
}

impl App {
    /// Asks the seam about `action` on one user or party (`res`; the platform
    /// when it does not exist). A denial is recorded against `system`, as the
    /// platform-wide check that decided these requests before recorded it; a
    /// denied view (`user.list`, `party.list`) is then `NotFound`, so that a
    /// caller who may not see the record learns neither that it exists nor
    /// why. A failure to decide or to record is the internal error it is.
    async fn record_access(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        action: Action,
        res: &Resource,
    ) -> Result<(), AppError> {
        let ctx = self.context(meta);
        let decided = self
            .enforce(meta, p, action, res, &ctx, "system".into())
            .await;
        match decided {
            Err(AppError::Forbidden { .. })
                if matches!(action, Action::UserList | Action::PartyList) =>
            {
                Err(AppError::NotFound)
            }
            // Reviewing a party the caller may not even see: not found.
            Err(e @ AppError::Forbidden { .. }) if action == Action::AssessmentReview => {
                let sees = authorize(&*self.policies()?, p, Action::PartyList, res, &ctx);
                if sees == Decision::Allow {
                    Err(e)
                } else {
                    Err(AppError::NotFound)
                }
            }
            other => other,
        }
    }
}

/// An agreement as the policy sees it.
fn resource(a: &Agreement) -> Resource {
    Resource::Agreement {
        id: a.id,
        party_id: a.party_id,
        kind: a.kind.as_str().to_owned(),
        status: a.status.as_str().to_owned(),
    }
}

/// What a page may offer: the same policy set answers, but nothing is recorded
/// and no proof is handed out. For choosing which links, buttons and forms a
/// page shows, never for doing — doing still goes through the proofs above.
impl App {
    /// Whether `p` may do each of `actions` on the platform.
    pub fn permits_system(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        actions: &[Action],
    ) -> Vec<bool> {
        let ctx = self.context(meta);
        let Ok(policies) = self.policies() else {
            return vec![false; actions.len()];
        };
        actions
            .iter()
            .map(|a| authorize(&policies, p, *a, &Resource::System, &ctx) == Decision::Allow)
            .collect()
    }

    /// Whether the policy in force holds `p` to enrolling a second factor
    /// before anything else: the room list, which everyone else may ask for,
    /// is refused with `mfa_enrollment_required`. For the web UI, to send
    /// such an account to enrolment from every page.
    pub fn must_enrol(&self, meta: &RequestMeta, p: &Principal) -> bool {
        if !p.mfa_required || p.mfa {
            return false;
        }
        let Ok(policies) = self.policies() else {
            return false;
        };
        let ctx = self.context(meta);
        matches!(
            authorize(&policies, p, Action::RoomList, &Resource::System, &ctx),
            Decision::Deny {
                reason: "mfa_enrollment_required",
                ..
            }
        )
    }

    /// Whether `p` may do each of `actions` in room `id` (all `false` for a
    /// room that does not exist).
    pub async fn permits_in_room(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        id: RoomId,
        actions: &[Action],
    ) -> Result<Vec<bool>, AppError> {
        let mut tx = self.store().read().await?;
        let Some(room) = tx.get_room(id).await? else {
            return Ok(vec![false; actions.len()]);
        };
        let grants = tx.grants_for(p.user_id, p.party_id).await?;
        let required = tx.room_requirements(id).await?;
        let agreements = if required.is_empty() && p.party_kind == PartyKind::Owner {
            vec![]
        } else {
            tx.list_agreements(Some(p.party_id)).await?
        };
        // Only a party being onboarded is let into its evidence room alone.
        let evidence = if p.party_status == PartyStatus::Prospective {
            tx.evidence_room(p.party_id).await?
        } else {
            None
        };
        let required_certifications = tx
            .required_qualifications(room.id, room.classification, CERTIFICATION)
            .await?;
        // The owner's staff are not asked for certificates.
        let certifications =
            if required_certifications.is_empty() || p.party_kind == PartyKind::Owner {
                vec![]
            } else {
                tx.list_certifications(p.party_id).await?
            };
        let (required_courses, completions) = course_rows(&mut tx, &room, p).await?;
        drop(tx);
        let risk = self.risk();
        let rows = RoomRows {
            room: &room,
            required: &required,
            grants: &grants,
            agreements: &agreements,
            caller: p,
            matrix: &risk.matrix,
            evidence_room: evidence == Some(id),
            required_certifications: &required_certifications,
            certifications: &certifications,
            required_courses: &required_courses,
            completions: &completions,
        };
        let (res, ctx) = room_facts(&rows, self.context(meta));
        let policies = self.policies()?;
        Ok(actions
            .iter()
            .map(|a| authorize(&policies, p, *a, &res, &ctx) == Decision::Allow)
            .collect())
    }
}

/// The courses `room` requires and the caller's completions; the owner's
/// staff need none (nothing is read for them).
async fn course_rows(
    tx: &mut store::Tx,
    room: &Room,
    p: &Principal,
) -> Result<(Vec<RequiredCourse>, Vec<CourseCompletion>), AppError> {
    if p.party_kind == PartyKind::Owner {
        return Ok((vec![], vec![]));
    }
    let required = required_courses(tx, room).await?;
    let completions = if required.is_empty() {
        vec![]
    } else {
        tx.user_completions(p.user_id).await?
    };
    Ok((required, completions))
}
