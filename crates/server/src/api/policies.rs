//! The authorization policies: the active set as text, and a simulation of any
//! decision for any user (admins). Editing policies is a follow-up.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use app::{App, AppError, SimTarget, Simulation};

use crate::auth::{Authed, Meta};
use crate::dto::parse_rfc3339;
use crate::error::{ApiError, ApiJson, ErrorBody};

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

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::from(AppError::invalid(code, message))
}

/// The active policies and the explanations of denials (admins).
#[utoipa::path(get, path = "/policies", tag = "policies", security(("bearer" = [])), responses((status = 200, body = PolicyList), (status = 403, body = ErrorBody)))]
pub async fn list_policies(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<PolicyList>, ApiError> {
    let texts = app.list_policies(&meta, &a.principal).await?;
    Ok(Json(PolicyList {
        items: texts
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
    let user = req
        .principal
        .parse()
        .map_err(|_| invalid("unknown_user", format!("`{}` is not an id", req.principal)))?;
    let raw_id = req.resource.id.unwrap_or_default();
    let bad_id = || invalid("unknown_resource", format!("`{raw_id}` is not an id"));
    let target = match req.resource.kind.as_str() {
        "system" => SimTarget::System,
        "room" => SimTarget::Room(raw_id.parse().map_err(|_| bad_id())?),
        "agreement" => SimTarget::Agreement(raw_id.parse().map_err(|_| bad_id())?),
        other => {
            return Err(invalid(
                "unknown_resource",
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
    let verdict = app.simulate(&meta, &a.principal, sim).await?;
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
