//! The administration of the policy set in force (which the kernel holds,
//! parsed and validated once, behind an atomic swap: `App::policies`): listing
//! the active policies, simulating a decision for any user, and changing the
//! set safely.
//!
//! A change is custom Cedar text plus the ids of the default policies it
//! switches off. It is validated against the schema, refused when no active
//! user could change policies under it any more (`policy_lockout`), stored as
//! a new numbered version together with its `policy.change` event in one
//! transaction, and only then swapped in. At start the newest stored version
//! is installed ([`App::load_stored_policies`]); a stored version that no
//! longer validates stops the start instead of falling back to anything.

use model::*;
use serde_json::json;

use kernel::authz::{Context, Decision, Policies as PolicySet, Resource, Verdict};
use kernel::events::{Fact, RequestMeta, record};
use kernel::facts::{principal_for, request_facts};
use kernel::{Action, App, AppError, Authorized, EventName, SimTarget, System, act};

/// One policy as text.
pub use policy::PolicyText;

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

/// A policy set as an administrator proposes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyProposal {
    /// The custom policies, Cedar text (every policy with a unique `@id`).
    pub custom: String,
    /// The ids of the default policies to switch off.
    pub disabled: Vec<String>,
}

/// A change to apply.
#[derive(Clone, Debug)]
pub struct PolicyChange {
    pub proposal: PolicyProposal,
    pub comment: String,
    /// The version the change was written against (0 before the first): the
    /// change is refused as a conflict when another was applied since.
    pub expected_version: i64,
}

/// One stored version of the policy set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// 1 for the first change, then one more for each.
    pub number: i64,
    pub custom: String,
    pub disabled: Vec<String>,
    pub author: UserId,
    pub created_ms: i64,
    pub comment: String,
    /// Lowercase hex SHA-256 of `custom`, as recorded in the `policy.change` event.
    pub custom_sha256: String,
}

/// The policy set in force: its version (0: the defaults, never changed) and
/// what it is made of.
#[derive(Clone, Debug)]
pub struct PolicyState {
    pub version: i64,
    pub disabled: Vec<String>,
    pub policies: Vec<PolicyText>,
}

/// Lowercase hex SHA-256 of `text`.
fn text_sha256(text: &str) -> String {
    hex::encode(kernel::secrets::sha256(text.as_bytes()))
}

impl From<store::StoredPolicyVersion> for PolicyVersion {
    fn from(v: store::StoredPolicyVersion) -> Self {
        PolicyVersion {
            custom_sha256: text_sha256(&v.custom),
            number: v.number,
            custom: v.custom,
            disabled: v.disabled,
            author: v.author,
            created_ms: v.created_ms,
            comment: v.comment,
        }
    }
}

/// Builds and validates a proposed set; a refusal is a 400 naming each problem.
fn build(proposal: &PolicyProposal) -> Result<PolicySet, AppError> {
    PolicySet::with_changes(&proposal.custom, &proposal.disabled).map_err(|e| {
        let code = match e {
            policy::PolicyError::Disable { .. } => ErrorCode::PolicyDisableInvalid,
            _ => ErrorCode::PolicyInvalid,
        };
        AppError::invalid(code, e.to_string())
    })
}

/// The administration of the policy set and of the facts behind the access
/// conditions: the policies (list, versions, propose, apply, simulate,
/// what-if), the network zones, users' training, parties' certification.
#[derive(Clone, Copy)]
pub struct Policies<'a>(pub &'a App);

impl std::ops::Deref for Policies<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

impl Policies<'_> {
    /// The active policies and the explanations of denials, as text.
    pub async fn list_policies(
        &self,
        _auth: Authorized<'_, act::PolicyRead, System>,
    ) -> Result<Vec<PolicyText>, AppError> {
        Ok(self.policies()?.list().to_vec())
    }

    /// The set in force on this node with its version number.
    pub async fn policy_state(
        &self,
        _auth: Authorized<'_, act::PolicyRead, System>,
    ) -> Result<PolicyState, AppError> {
        let policies = self.policies()?;
        Ok(PolicyState {
            version: policies.version(),
            disabled: policies.disabled().to_vec(),
            policies: policies.list().to_vec(),
        })
    }

    /// Every stored version, newest first.
    pub async fn policy_versions(
        &self,
        _auth: Authorized<'_, act::PolicyRead, System>,
    ) -> Result<Vec<PolicyVersion>, AppError> {
        let rows = self.store().read().await?.list_policy_versions().await?;
        Ok(rows.into_iter().map(PolicyVersion::from).collect())
    }

    /// Stored version `number`.
    pub async fn policy_version(
        &self,
        _auth: Authorized<'_, act::PolicyRead, System>,
        number: i64,
    ) -> Result<PolicyVersion, AppError> {
        let row = self.store().read().await?.policy_version(number).await?;
        row.map(PolicyVersion::from).ok_or(AppError::NotFound)
    }

    /// Validates a proposed set and checks that it locks nobody out, without
    /// changing anything; returns its policies as they would be listed. (The
    /// what-if does the same before it replays.)
    pub async fn propose_policies(
        &self,
        auth: Authorized<'_, act::PolicySimulate, System>,
        proposal: &PolicyProposal,
    ) -> Result<Vec<PolicyText>, AppError> {
        let (meta, _, _) = auth.into_parts();
        Ok(self.proposed(meta, proposal).await?.list().to_vec())
    }

    /// A proposed set, validated and checked for lockout (the caller authorized).
    pub(crate) async fn proposed(
        &self,
        meta: &RequestMeta,
        proposal: &PolicyProposal,
    ) -> Result<PolicySet, AppError> {
        let candidate = build(proposal)?;
        let mut tx = self.store().read().await?;
        self.check_lockout(&mut tx, meta, &candidate).await?;
        Ok(candidate)
    }

    /// Applies a change: validated, checked for lockout, stored as the next
    /// version with its `policy.change` event in one transaction, then swapped
    /// in atomically. Refused as a conflict when `expected_version` is stale.
    pub async fn apply_policies(
        &self,
        auth: Authorized<'_, act::PolicyApply, System>,
        change: PolicyChange,
    ) -> Result<PolicyVersion, AppError> {
        let (meta, p, _) = auth.into_parts();
        let candidate = build(&change.proposal)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let current = tx.latest_policy_version().await?.map_or(0, |v| v.number);
        if current != change.expected_version {
            return Err(AppError::Conflict("a newer policy version"));
        }
        self.check_lockout(&mut tx, meta, &candidate).await?;
        let number = current + 1;
        let PolicyProposal { custom, disabled } = change.proposal;
        tx.insert_policy_version(number, &custom, &disabled, p.user_id, now, &change.comment)
            .await?;
        let sha = text_sha256(&custom);
        let detail = json!({
            "version": number,
            "sha256": sha,
            "disabled": disabled,
            "comment": change.comment,
        });
        let fact = Fact::allowed(
            Some(p),
            EventName::PolicyChange,
            format!("policy_version:{number}"),
        );
        record(&mut tx, meta, now, fact.with(detail)).await?;
        tx.commit().await?;
        self.install_policies(candidate.at_version(number));
        Ok(PolicyVersion {
            number,
            custom,
            disabled,
            author: p.user_id,
            created_ms: now,
            comment: change.comment,
            custom_sha256: sha,
        })
    }

    /// Refuses `candidate` when no active user could still change policies
    /// under it (decided as a session with a second factor, from the address
    /// of this request).
    async fn check_lockout(
        &self,
        tx: &mut store::Tx,
        meta: &RequestMeta,
        candidate: &PolicySet,
    ) -> Result<(), AppError> {
        let ctx = self.context(meta);
        for user in tx.list_users(None).await? {
            if user.disabled {
                continue;
            }
            let who = principal_for(tx, &user, true).await?;
            let decision =
                candidate.decide(&who, Action::PolicyApply.as_str(), &Resource::System, &ctx);
            if decision == Decision::Allow {
                return Ok(());
            }
        }
        Err(AppError::invalid(
            ErrorCode::PolicyLockout,
            "under these policies no active user could change policies any more",
        ))
    }

    /// Decides `sim` with the live state, as if its user had asked, and names
    /// the policies that determined the decision. Nothing is changed.
    pub async fn simulate(
        &self,
        _auth: Authorized<'_, act::PolicySimulate, System>,
        sim: Simulation,
    ) -> Result<Verdict, AppError> {
        let mut tx = self.store().read().await?;
        let user = tx.get_user(sim.user).await?.ok_or_else(|| {
            AppError::invalid(
                ErrorCode::UnknownUser,
                format!("no user with id `{}`", sim.user),
            )
        })?;
        let who = principal_for(&mut tx, &user, sim.mfa).await?;
        let mut ctx = Context {
            now_ms: sim.at_ms.unwrap_or_else(|| self.now()),
            source_addr: sim.source_addr,
            ..Context::default()
        };
        self.locate(&mut ctx);
        let risk = self.risk();
        let (res, ctx) = request_facts(&mut tx, &who, &sim.target, &risk.matrix, ctx)
            .await?
            .map_err(|(what, id)| {
                AppError::invalid(
                    ErrorCode::UnknownResource,
                    format!("no {what} with id `{id}`"),
                )
            })?;
        drop(tx);
        Ok(self.policies()?.explain(&who, &sim.action, &res, &ctx))
    }
}

/// Starts the background task that keeps this node's policy set the newest
/// stored version: every `every`, a version applied on another node is
/// installed here too. A failure is logged and the set in force kept. The
/// binary spawns it once; dropping the handle does not stop it.
pub fn spawn_refresher(app: App, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.load_stored_policies().await {
                Ok(_) => {}
                Err(AppError::Internal(detail)) => {
                    tracing::error!(%detail, "cannot install the stored policy version");
                }
                Err(e) => tracing::error!(error = %e, "cannot install the stored policy version"),
            }
            if let Err(e) = app.load_zones().await {
                tracing::error!(error = %e, "cannot re-read the network zones");
            }
            if let Err(e) = app.load_risk().await {
                tracing::error!(error = %e, "cannot re-read the risk matrix");
            }
        }
    })
}
