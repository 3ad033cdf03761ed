//! The policy set in force — parsed and validated once, held behind an atomic
//! swap — and the administration use-cases over it: listing the active
//! policies and simulating a decision for any user. Adding and editing custom
//! policies (validated, versioned, replayed against recorded requests before
//! they go live) is the follow-up; it will call [`App::install_policies`].

use std::sync::Arc;

use model::*;

use crate::agreements::agreement_facts;
use crate::authz::{Action, Context, Policies, Principal, Resource, Verdict};
use crate::events::RequestMeta;
use crate::{App, AppError};

/// One policy as text.
pub use policy::PolicyText;

/// What a simulation asks about.
#[derive(Clone, Debug)]
pub enum SimTarget {
    System,
    Room(RoomId),
    Agreement(AgreementId),
}

/// A request to decide as if `user` had made it.
#[derive(Clone, Debug)]
pub struct Simulation {
    pub user: UserId,
    /// An action name, e.g. `file.download`.
    pub action: String,
    pub target: SimTarget,
    /// Whether the session presented a second factor (default: yes).
    pub mfa: bool,
    /// The time to decide at (default: now).
    pub at_ms: Option<i64>,
    pub source_addr: Option<String>,
}

impl App {
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

    /// The active policies and the explanations of denials, as text.
    pub async fn list_policies(
        &self,
        meta: &RequestMeta,
        p: &Principal,
    ) -> Result<Vec<PolicyText>, AppError> {
        self.check_system(meta, p, Action::PolicyRead).await?;
        Ok(self.policies()?.list().to_vec())
    }

    /// Decides `sim` with the live state, as if its user had asked, and names
    /// the policies that determined the decision. Nothing is changed.
    pub async fn simulate(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        sim: Simulation,
    ) -> Result<Verdict, AppError> {
        self.check_system(meta, p, Action::PolicySimulate).await?;
        let mut tx = self.store().read().await?;
        let user = tx.get_user(sim.user).await?.ok_or_else(|| {
            AppError::invalid("unknown_user", format!("no user with id `{}`", sim.user))
        })?;
        let who = self.principal_for(&mut tx, &user, sim.mfa).await?;
        let mut ctx = Context {
            now_ms: sim.at_ms.unwrap_or_else(|| self.now()),
            source_addr: sim.source_addr,
            ..Context::default()
        };
        let unknown = |what: &str, id: String| {
            AppError::invalid("unknown_resource", format!("no {what} with id `{id}`"))
        };
        let res = match sim.target {
            SimTarget::System => Resource::System,
            SimTarget::Agreement(id) => {
                let a = tx
                    .get_agreement(id)
                    .await?
                    .ok_or_else(|| unknown("agreement", id.to_string()))?;
                Resource::Agreement {
                    id,
                    party_id: a.party_id,
                    kind: a.kind.as_str().to_owned(),
                    status: a.status.as_str().to_owned(),
                }
            }
            SimTarget::Room(id) => {
                let room = tx
                    .get_room(id)
                    .await?
                    .ok_or_else(|| unknown("room", id.to_string()))?;
                let grants = tx.grants_for(who.user_id, who.party_id).await?;
                let required = tx.room_requirements(id).await?;
                let agreements = tx.list_agreements(Some(who.party_id)).await?;
                let (role, expired_grant) = crate::rooms::effective_role(&grants, id, ctx.now_ms);
                let facts = agreement_facts(&required, &agreements, ctx.now_ms);
                ctx.agreements_in_force = facts.in_force;
                ctx.agreements_lapsed = facts.lapsed;
                Resource::Room {
                    id,
                    classification: room.classification,
                    role,
                    expired_grant,
                    required_agreements: facts.requirements,
                }
            }
        };
        drop(tx);
        Ok(self.policies()?.explain(&who, &sim.action, &res, &ctx))
    }
}
