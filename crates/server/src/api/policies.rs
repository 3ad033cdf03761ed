//! The authorization policies (admins): the active set as text, a simulation
//! of any decision for any user, the stored versions, a what-if replay of a
//! proposed set against recorded requests, and applying a new version.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{
    App, AppError, DecisionChange, ErrorCode, Policies, PolicyChange, PolicyProposal,
    PolicyVersion, SimTarget, Simulation, WhatIf, WhatIfDecision, act,
};

use crate::auth::{Authed, Meta};
use crate::dto::{parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

/// One policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyDto {
    /// The policy's `@id`.
    pub id: String,
    /// permit or forbid.
    pub effect: String,
    /// `default`, `custom`, or `explanation` (explains a default denial).
    pub origin: String,
    /// The Cedar text.
    pub text: String,
}

/// The active policies.
#[derive(Serialize, ToSchema)]
pub struct PolicyList {
    /// The stored version in force (0: the defaults, never changed).
    pub version: i64,
    /// The default policies switched off.
    pub disabled: Vec<String>,
    pub items: Vec<PolicyDto>,
}

/// What to simulate on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimResource {
    /// system, room or agreement.
    #[serde(rename = "type")]
    pub kind: String,
    /// The room or agreement id.
    pub id: Option<String>,
}

/// Facts of the simulated request.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SimContext {
    /// Whether the session presented a second factor (default true).
    pub mfa: Option<bool>,
    /// Decide at this time (RFC 3339; default now).
    pub at: Option<String>,
    pub source_addr: Option<String>,
}

/// A decision to simulate.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The user the request is made as.
    pub principal: String,
    /// An action name, e.g. `file.download`.
    pub action: String,
    pub resource: SimResource,
    #[serde(default)]
    pub context: SimContext,
}

/// The simulated decision.
#[derive(Serialize, ToSchema)]
pub struct SimulateResponse {
    /// allow, deny or hide (hide: the caller would be told "not found").
    pub decision: String,
    /// The reason code of a denial.
    pub reason: Option<String>,
    /// The sentence the caller would be shown.
    pub message: Option<String>,
    /// Ids of the policies that determined the decision.
    pub policies: Vec<String>,
    /// Policies that could not be evaluated (the decision then denies).
    pub errors: Vec<String>,
}

fn invalid(code: ErrorCode, message: String) -> ApiError {
    ApiError::from(AppError::invalid(code, message))
}

/// The active policies and the explanations of denials (admins).
#[utoipa::path(get, path = "/policies", tag = "policies", security(("bearer" = [])), responses((status = 200, body = PolicyList), (status = 403, body = ErrorBody)))]
pub async fn list_policies(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<PolicyList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::PolicyRead).await?;
    let state = Policies(&app).policy_state(auth).await?;
    Ok(Json(PolicyList {
        version: state.version,
        disabled: state.disabled,
        items: state
            .policies
            .into_iter()
            .map(|t| PolicyDto {
                id: t.id,
                effect: t.effect.to_owned(),
                origin: t.origin.to_owned(),
                text: t.text,
            })
            .collect(),
    }))
}

/// Decides a request as if the given user had made it, against the live state (admins).
#[utoipa::path(post, path = "/policies/simulate", request_body = SimulateRequest, tag = "policies", security(("bearer" = [])), responses((status = 200, body = SimulateResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn simulate(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<SimulateRequest>,
) -> Result<Json<SimulateResponse>, ApiError> {
    let user = req.principal.parse().map_err(|_| {
        invalid(
            ErrorCode::UnknownUser,
            format!("`{}` is not an id", req.principal),
        )
    })?;
    let raw_id = req.resource.id.unwrap_or_default();
    let bad_id = || {
        invalid(
            ErrorCode::UnknownResource,
            format!("`{raw_id}` is not an id"),
        )
    };
    let target = match req.resource.kind.as_str() {
        "system" => SimTarget::System,
        "room" => SimTarget::Room(raw_id.parse().map_err(|_| bad_id())?),
        "agreement" => SimTarget::Agreement(raw_id.parse().map_err(|_| bad_id())?),
        other => {
            return Err(invalid(
                ErrorCode::UnknownResource,
                format!("resource `type` must be `system`, `room` or `agreement`, not `{other}`"),
            ));
        }
    };
    let sim = Simulation {
        user,
        action: req.action,
        target,
        mfa: req.context.mfa.unwrap_or(true),
        at_ms: req
            .context
            .at
            .as_deref()
            .map(|t| parse_rfc3339("context.at", t))
            .transpose()?,
        source_addr: req.context.source_addr,
    };
    let auth = app.system(&meta, &a.principal, act::PolicySimulate).await?;
    let verdict = Policies(&app).simulate(auth, sim).await?;
    let (decision, reason, message) = match verdict.decision {
        app::authz::Decision::Allow => ("allow", None, None),
        app::authz::Decision::Deny { reason, message } => ("deny", Some(reason), Some(message)),
        app::authz::Decision::Hide { reason } => ("hide", Some(reason), None),
    };
    Ok(Json(SimulateResponse {
        decision: decision.to_owned(),
        reason: reason.map(str::to_owned),
        message,
        policies: verdict.policies,
        errors: verdict.errors,
    }))
}

/// One stored version of the policy set.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersionDto {
    pub version: i64,
    /// The custom policies, Cedar text.
    pub custom: String,
    /// Lowercase hex SHA-256 of `custom` (as in the `policy.change` event).
    pub custom_sha256: String,
    /// The default policies switched off.
    pub disabled: Vec<String>,
    /// The user who applied it.
    pub author: String,
    /// RFC 3339.
    pub created_at: String,
    pub comment: String,
}

impl From<PolicyVersion> for PolicyVersionDto {
    fn from(v: PolicyVersion) -> Self {
        PolicyVersionDto {
            version: v.number,
            custom: v.custom,
            custom_sha256: v.custom_sha256,
            disabled: v.disabled,
            author: v.author.to_string(),
            created_at: rfc3339(v.created_ms),
            comment: v.comment,
        }
    }
}

/// The stored versions, newest first.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersionList {
    pub items: Vec<PolicyVersionDto>,
}

/// A new version of the policy set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPolicies {
    /// The custom policies, Cedar text (every policy with a unique `@id`).
    pub custom: String,
    /// Ids of default policies to switch off.
    #[serde(default)]
    pub disabled: Vec<String>,
    #[serde(default)]
    pub comment: String,
    /// The version this change was written against (0 before the first);
    /// 409 when another version was applied since.
    pub expected_version: i64,
}

/// A proposed set to replay recorded requests against.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    pub custom: String,
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Replay the access events of this many days up to now (1 to 366).
    pub days: i64,
}

/// A decision as the caller would meet it.
#[derive(Serialize, ToSchema)]
pub struct DecisionDto {
    /// allow, deny or hide.
    pub decision: String,
    pub reason: Option<String>,
    /// Ids of the policies that determined it.
    pub policies: Vec<String>,
}

/// One recorded request whose decision would change.
#[derive(Serialize, ToSchema)]
pub struct ChangeDto {
    /// The event's sequence number.
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    pub user: String,
    pub action: String,
    pub target: String,
    /// Under the set in force.
    pub before: DecisionDto,
    /// Under the proposed set.
    pub after: DecisionDto,
}

/// What a proposed set would change.
#[derive(Serialize, ToSchema)]
pub struct WhatIfResponse {
    /// RFC 3339 start of the window replayed.
    pub from: String,
    /// Access events decided again.
    pub replayed: u64,
    /// Access events whose user or target no longer exists.
    pub skipped: u64,
    /// The decisions that change, oldest first.
    pub changes: Vec<ChangeDto>,
}

fn decision(d: WhatIfDecision) -> DecisionDto {
    DecisionDto {
        decision: d.decision.to_owned(),
        reason: d.reason.map(str::to_owned),
        policies: d.policies,
    }
}

impl From<WhatIf> for WhatIfResponse {
    fn from(w: WhatIf) -> Self {
        let change = |c: DecisionChange| ChangeDto {
            seq: c.seq,
            time: rfc3339(c.time_ms),
            user: c.user.to_string(),
            action: c.action,
            target: c.target,
            before: decision(c.before),
            after: decision(c.after),
        };
        WhatIfResponse {
            from: rfc3339(w.from_ms),
            replayed: w.replayed,
            skipped: w.skipped,
            changes: w.changes.into_iter().map(change).collect(),
        }
    }
}

/// The stored versions of the policy set, newest first (admins).
#[utoipa::path(get, path = "/policies/versions", operation_id = "list_policy_versions", tag = "policies", security(("bearer" = [])), responses((status = 200, body = PolicyVersionList), (status = 403, body = ErrorBody)))]
pub async fn list_versions(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<PolicyVersionList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::PolicyRead).await?;
    let versions = Policies(&app).policy_versions(auth).await?;
    Ok(Json(PolicyVersionList {
        items: versions.into_iter().map(PolicyVersionDto::from).collect(),
    }))
}

/// One stored version of the policy set (admins).
#[utoipa::path(get, path = "/policies/versions/{n}", tag = "policies", security(("bearer" = [])), params(("n" = i64, Path)), responses((status = 200, body = PolicyVersionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_version(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PolicyVersionDto>, ApiError> {
    let number = super::id::<i64>(&raw)?;
    let auth = app.system(&meta, &a.principal, act::PolicyRead).await?;
    let version = Policies(&app).policy_version(auth, number).await?;
    Ok(Json(version.into()))
}

/// Applies a new version of the policy set: validated against the schema
/// (400 `policy_invalid` naming line and column), refused when no active
/// user could change policies under it (400 `policy_lockout`) or when
/// `expected_version` is stale (409), recorded as a `policy.change` event,
/// and in force from the next request (admins).
#[utoipa::path(put, path = "/policies", request_body = ApplyPolicies, tag = "policies", security(("bearer" = [])), responses((status = 200, body = PolicyVersionDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn apply(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<ApplyPolicies>,
) -> Result<Json<PolicyVersionDto>, ApiError> {
    let change = PolicyChange {
        proposal: PolicyProposal {
            custom: req.custom,
            disabled: req.disabled,
        },
        comment: req.comment,
        expected_version: req.expected_version,
    };
    let auth = app.system(&meta, &a.principal, act::PolicyApply).await?;
    let version = Policies(&app).apply_policies(auth, change).await?;
    Ok(Json(version.into()))
}

/// Replays the access events of the last `days` days under the set in force
/// and under a proposed set, and lists every decision that would change.
/// Nothing is changed (admins).
#[utoipa::path(post, path = "/policies/whatif", request_body = WhatIfRequest, tag = "policies", security(("bearer" = [])), responses((status = 200, body = WhatIfResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn what_if(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiJson(req): ApiJson<WhatIfRequest>,
) -> Result<Json<WhatIfResponse>, ApiError> {
    let proposal = PolicyProposal {
        custom: req.custom,
        disabled: req.disabled,
    };
    let auth = app.system(&meta, &a.principal, act::PolicySimulate).await?;
    let report = Policies(&app).what_if(auth, &proposal, req.days).await?;
    Ok(Json(report.into()))
}
