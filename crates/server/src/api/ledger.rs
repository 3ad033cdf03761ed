//! The tamper-evident ledger, for auditors, security officers and admins:
//! signed checkpoints, the verifier key, entries as JSON lines carrying each
//! leaf's exact bytes, inclusion and consistency proofs, the stored
//! checkpoints, evidence bundles (docs/ledger.md), and the audit of the stored
//! log (admins).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use app::ledger::{AuditReport, Bundle, MAX_ENTRIES};
use app::{App, Audit, act};

use crate::auth::{Authed, Meta};
use crate::error::{ApiError, ApiQuery, ErrorBody};

/// A response body with its content type.
fn typed(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn base64_all(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

/// The signed checkpoint of the ledger as it is now (a C2SP signed note);
/// signed afresh when the log has grown since the last one.
#[utoipa::path(get, path = "/ledger/checkpoint", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 403, body = ErrorBody)))]
pub async fn checkpoint(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Response, ApiError> {
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let note = Audit(&app).ledger_checkpoint(auth).await?;
    Ok(typed("text/plain; charset=utf-8", note))
}

/// The key that verifies checkpoints, in the signed-note `name+id+key` form.
#[utoipa::path(get, path = "/ledger/verifier-key", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 403, body = ErrorBody)))]
pub async fn verifier_key(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Response, ApiError> {
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let key = Audit(&app).ledger_verifier_key(auth).await?;
    Ok(typed("text/plain; charset=utf-8", format!("{key}\n")))
}

/// A range of entries.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntriesQuery {
    /// First index (default 0).
    #[serde(default, deserialize_with = "crate::dto::ledger_index")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub from: Option<u64>,
    /// One past the last index (default `from` + 10000; at most 10000 per call).
    #[serde(default, deserialize_with = "crate::dto::ledger_index")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub to: Option<u64>,
}

/// Entries `from <= index < to` as JSON lines, one object per entry:
/// `{index, leaf (base64 of the exact leaf bytes), leaf_hash (hex), event}`,
/// and `redacted: true` on a redacted entry (its `leaf_hash` is then that of
/// the original bytes).
#[utoipa::path(get, path = "/ledger/entries", params(EntriesQuery), tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = String, content_type = "application/x-ndjson"), (status = 400, body = ErrorBody, description = "ledger_range_too_large, ledger_size_order"), (status = 403, body = ErrorBody)))]
pub async fn entries(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<Response, ApiError> {
    let from = q.from.unwrap_or(0);
    let to = q.to.unwrap_or_else(|| from.saturating_add(MAX_ENTRIES));
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let entries = Audit(&app).ledger_entries(auth, from, to).await?;
    let mut body = String::new();
    for entry in entries {
        let line = serde_json::to_string(&entry)
            .map_err(|e| ApiError::from(app::AppError::internal(e)))?;
        body.push_str(&line);
        body.push('\n');
    }
    Ok(typed("application/x-ndjson", body))
}

/// Which leaf, in which tree.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The leaf index.
    pub index: u64,
    /// The tree size (a checkpoint's size).
    pub size: u64,
}

/// An RFC 9162 inclusion proof; hashes in standard base64, bottom up.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InclusionDto {
    pub index: u64,
    pub size: u64,
    /// The root of the tree of `size` leaves (base64).
    pub root: String,
    pub hashes: Vec<String>,
}

/// The proof that leaf `index` is in the tree of `size` leaves.
#[utoipa::path(get, path = "/ledger/proof/inclusion", params(InclusionQuery), tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = InclusionDto), (status = 400, body = ErrorBody, description = "ledger_index_out_of_range"), (status = 403, body = ErrorBody)))]
pub async fn inclusion_proof(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let p = Audit(&app)
        .ledger_inclusion_proof(auth, q.index, q.size)
        .await?;
    Ok(Json(InclusionDto {
        index: p.index,
        size: p.size,
        root: STANDARD.encode(p.root),
        hashes: base64_all(&p.hashes),
    }))
}

/// Which two tree sizes.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The older (smaller) tree size.
    pub old: u64,
    /// The newer tree size.
    pub new: u64,
}

/// An RFC 9162 consistency proof; hashes in standard base64, bottom up.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsistencyDto {
    pub old: u64,
    pub new: u64,
    pub hashes: Vec<String>,
}

/// The proof that the tree of `new` leaves extends the tree of `old` leaves.
#[utoipa::path(get, path = "/ledger/proof/consistency", params(ConsistencyQuery), tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = ConsistencyDto), (status = 400, body = ErrorBody, description = "ledger_index_out_of_range, ledger_size_order"), (status = 403, body = ErrorBody)))]
pub async fn consistency_proof(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyDto>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let p = Audit(&app)
        .ledger_consistency_proof(auth, q.old, q.new)
        .await?;
    Ok(Json(ConsistencyDto {
        old: p.old,
        new: p.new,
        hashes: base64_all(&p.hashes),
    }))
}

/// Which stored checkpoints.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckpointsQuery {
    /// Only checkpoints of at least this size (default 0).
    #[serde(default, deserialize_with = "crate::dto::ledger_index")]
    #[param(maximum = 9_223_372_036_854_775_807_u64)]
    pub from_size: Option<u64>,
}

/// A stored signed checkpoint.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckpointDto {
    pub size: u64,
    /// The signed note.
    pub note: String,
    pub created_at: String,
}
/// A list of stored checkpoints.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckpointList {
    pub items: Vec<CheckpointDto>,
}

/// The stored checkpoints, smallest first (at most 1000 per call).
#[utoipa::path(get, path = "/ledger/checkpoints", params(CheckpointsQuery), tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = CheckpointList), (status = 403, body = ErrorBody)))]
pub async fn checkpoints(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<CheckpointsQuery>,
) -> Result<Json<CheckpointList>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    let stored = Audit(&app)
        .ledger_checkpoints(auth, q.from_size.unwrap_or(0))
        .await?;
    Ok(Json(CheckpointList {
        items: stored
            .into_iter()
            .map(|c| CheckpointDto {
                size: c.size,
                note: c.note,
                created_at: crate::dto::rfc3339(c.created_ms),
            })
            .collect(),
    }))
}

/// An evidence bundle of the events the filters select (as `GET /events`;
/// `limit` up to 10000, default 10000): each entry's exact leaf bytes and its
/// inclusion proof against one freshly signed checkpoint, the checkpoint and
/// the verifier key. `custody ledger verify --bundle` checks it offline.
#[utoipa::path(get, path = "/ledger/bundle", params(super::events::EventQuery), tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn bundle(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
    ApiQuery(q): ApiQuery<super::events::EventQuery>,
) -> Result<Json<Bundle>, ApiError> {
    let filter = q.filter(i64::try_from(MAX_ENTRIES).unwrap_or(i64::MAX))?;
    let auth = app.system(&meta, &a.principal, act::EventRead).await?;
    Ok(Json(Audit(&app).ledger_bundle(auth, filter).await?))
}

/// Re-checks the whole stored log: every leaf hash from the stored bytes,
/// every stored node, every checkpoint's root, every event row against its
/// leaf. The answer lists the faults, the lowest leaf index first; the audit
/// is itself recorded.
#[utoipa::path(post, path = "/ledger/audit", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(app): State<App>,
    Meta(meta): Meta,
    a: Authed,
) -> Result<Json<AuditReport>, ApiError> {
    let auth = app.system(&meta, &a.principal, act::LedgerAudit).await?;
    Ok(Json(Audit(&app).ledger_audit(auth).await?))
}
