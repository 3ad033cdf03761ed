//! SCIM 2.0 under `/scim/v2` (RFC 7644, docs/scim.md): the HTTP side of a
//! party's identity provider provisioning its users and groups. Every
//! request carries a party's SCIM bearer token (`Authorization: Bearer
//! scim_…`), which is the only credential these routes take and which no
//! other route takes. Bodies are `application/scim+json` (or
//! `application/json`), answers `application/scim+json`; errors follow the
//! SCIM error schema (`status`, `scimType`, `detail`) and carry the stable
//! `code` and the request id. `If-Match` is checked against `meta.version`
//! (412 on a mismatch); single resources answer their `ETag`. The room roles
//! that group membership gives and takes are granted and revoked here,
//! through the content crate's grant code, as the admin who made the mapping.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use app::{
    App, AppError, ErrorCode, GROUP_SCHEMA, LIST_SCHEMA, NewGrant, RequestMeta, RoomRoleChange,
    Rooms, Scim, ScimCaller, USER_SCHEMA, Written, act,
};
use model::SubjectKind;

use crate::auth::Meta;
use crate::error::status_of;

/// The content type of every answer.
pub const SCIM_JSON: &str = "application/scim+json";

/// The routes, to be nested under `/scim/v2`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// A SCIM error answer.
pub struct ScimError {
    code: ErrorCode,
    detail: String,
    request_id: Option<String>,
}

impl ScimError {
    fn new(code: ErrorCode, detail: impl Into<String>, meta: &RequestMeta) -> Self {
        ScimError {
            code,
            detail: detail.into(),
            request_id: meta.request_id.clone(),
        }
    }

    fn of(e: AppError, meta: &RequestMeta) -> Self {
        let detail = match &e {
            AppError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        ScimError::new(e.code(), detail, meta)
    }
}

/// SCIM's `scimType` for the codes that have one.
fn scim_type(code: ErrorCode) -> Option<&'static str> {
    Some(match code {
        ErrorCode::ScimInvalidFilter => "invalidFilter",
        ErrorCode::ScimInvalidPath => "invalidPath",
        ErrorCode::ScimInvalidValue | ErrorCode::InvalidQuery => "invalidValue",
        ErrorCode::ScimInvalidSyntax | ErrorCode::InvalidJson => "invalidSyntax",
        ErrorCode::ScimNoTarget => "noTarget",
        ErrorCode::ScimMutability => "mutability",
        ErrorCode::ScimUniqueness => "uniqueness",
        _ => return None,
    })
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = status_of(self.code.kind());
        let mut body = json!({
            "schemas": [app::ERROR_SCHEMA],
            "status": status.as_u16().to_string(),
            "detail": self.detail,
            "code": self.code.as_str(),
            "request_id": self.request_id,
        });
        if let Some(t) = scim_type(self.code) {
            body["scimType"] = json!(t);
        }
        let mut r = scim_json(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        r
    }
}

/// A request with a live SCIM token.
pub struct ScimAuth {
    caller: ScimCaller,
    meta: RequestMeta,
}

impl FromRequestParts<App> for ScimAuth {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Meta(meta) = match Meta::from_request_parts(parts, app).await {
            Ok(m) => m,
            Err(never) => match never {},
        };
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let Some(secret) = secret else {
            return Err(ScimError::of(AppError::Unauthenticated, &meta));
        };
        match Scim(app).authenticate(&meta, &secret).await {
            Ok(caller) => Ok(ScimAuth { caller, meta }),
            Err(e) => Err(ScimError::of(e, &meta)),
        }
    }
}

impl ScimAuth {
    /// A refusal made here, recorded like the use-cases'.
    async fn refuse(&self, app: &App, target: &str, e: AppError) -> ScimError {
        if let Err(failed) = Scim(app).refuse(&self.meta, &self.caller, target, &e).await {
            tracing::error!(error = %failed, "cannot record a SCIM refusal");
        }
        ScimError::of(e, &self.meta)
    }

    /// A request body: SCIM JSON (or JSON), parsed.
    async fn body(
        &self,
        app: &App,
        target: &str,
        headers: &HeaderMap,
        bytes: &Bytes,
    ) -> Result<Value, ScimError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        if !matches!(
            ct.as_deref(),
            Some("application/scim+json" | "application/json")
        ) {
            let e = AppError::invalid(
                ErrorCode::UnsupportedMediaType,
                "the body must be `application/scim+json` (or `application/json`)",
            );
            return Err(self.refuse(app, target, e).await);
        }
        match serde_json::from_slice(bytes) {
            Ok(v) => Ok(v),
            Err(e) => {
                let e = AppError::invalid(
                    ErrorCode::InvalidJson,
                    format!("the body is not valid JSON: {e}"),
                );
                Err(self.refuse(app, target, e).await)
            }
        }
    }
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn resource_response(status: StatusCode, w: &Written) -> Response {
    let mut r = scim_json(status, &w.resource);
    if let Ok(v) = HeaderValue::from_str(&app::scim_etag(w.version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(loc) = w.resource.pointer("/meta/location").and_then(Value::as_str)
        && let Ok(v) = HeaderValue::from_str(loc)
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Grants and revokes the room roles group membership gives and takes, as
/// the admin who made each mapping; a refusal is recorded and logged, and
/// the provisioning itself stands.
pub(crate) async fn apply_room_roles(app: &App, meta: &RequestMeta, changes: Vec<RoomRoleChange>) {
    for change in changes {
        if let Err(e) = apply_room_role(app, meta, &change).await {
            tracing::warn!(user = %change.user, mapping = %change.mapping.id, error = %e, "a SCIM mapping's room role was refused");
            if let Err(failed) = Scim(app).role_refused(meta, &change, &e).await {
                tracing::error!(error = %failed, "cannot record a refused SCIM room role");
            }
        }
    }
}

async fn apply_room_role(
    app: &App,
    meta: &RequestMeta,
    change: &RoomRoleChange,
) -> Result<(), AppError> {
    let Some((room, role)) = change.mapping.room else {
        return Ok(());
    };
    let p = Scim(app).mapping_principal(&change.mapping).await?;
    if change.join {
        let auth = app.room(meta, &p, room, act::GrantCreate).await?;
        let grant = Rooms(app)
            .create_grant(
                auth,
                NewGrant {
                    subject_kind: SubjectKind::User,
                    subject_id: change.user.0,
                    role,
                    expires_ms: None,
                    reason: format!(
                        "SCIM group `{}` (mapping {})",
                        change.mapping.group_name, change.mapping.id
                    ),
                },
            )
            .await?;
        Scim(app)
            .note_grant(&change.mapping, change.user, grant.id)
            .await?;
    } else if let Some(grant) = Scim(app).take_grant(&change.mapping, change.user).await? {
        let auth = app.room(meta, &p, room, act::GrantRevoke).await?;
        Rooms(app).revoke_grant(auth, grant).await?;
    }
    Ok(())
}

/// `filter`, `startIndex` and `count` of a list (other parameters, such as
/// `attributes`, are taken and ignored: every attribute is returned).
#[derive(Deserialize)]
pub struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
}

/// The page a list query asks for: `startIndex` below 1 is 1, `count`
/// below 0 is 0, absent is 100.
fn window(q: &ListQuery) -> Result<(usize, usize), AppError> {
    let num = |name: &str, raw: &Option<String>, default: i64| -> Result<i64, AppError> {
        match raw.as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(t) => t.parse::<i64>().map_err(|_| {
                AppError::invalid(
                    ErrorCode::InvalidQuery,
                    format!("`{name}` must be an integer, not `{t}`"),
                )
            }),
        }
    };
    let start = num("startIndex", &q.start_index, 1)?.max(1);
    let count = num("count", &q.count, 100)?.max(0);
    Ok((
        usize::try_from(start).unwrap_or(1),
        usize::try_from(count).unwrap_or(0),
    ))
}

fn list_response(page: app::ScimPage) -> Response {
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": page.total,
        "startIndex": page.start,
        "itemsPerPage": page.resources.len(),
        "Resources": page.resources,
    });
    scim_json(StatusCode::OK, &body)
}

type Answer = Result<Response, ScimError>;

async fn list_users(
    State(app): State<App>,
    a: ScimAuth,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Answer {
    list(&app, &a, q, true).await
}

async fn list_groups(
    State(app): State<App>,
    a: ScimAuth,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Answer {
    list(&app, &a, q, false).await
}

async fn list(
    app: &App,
    a: &ScimAuth,
    q: Result<Query<ListQuery>, QueryRejection>,
    users: bool,
) -> Answer {
    let target = if users { "users" } else { "groups" };
    let Ok(Query(q)) = q else {
        let e = AppError::invalid(ErrorCode::InvalidQuery, "the query string does not parse");
        return Err(a.refuse(app, target, e).await);
    };
    let (start, count) = match window(&q) {
        Ok(w) => w,
        Err(e) => return Err(a.refuse(app, target, e).await),
    };
    let scim = Scim(app);
    let page = if users {
        scim.list_users(&a.meta, &a.caller, q.filter.as_deref(), start, count)
            .await
    } else {
        scim.list_groups(&a.meta, &a.caller, q.filter.as_deref(), start, count)
            .await
    };
    page.map(list_response)
        .map_err(|e| ScimError::of(e, &a.meta))
}

async fn get_user(State(app): State<App>, a: ScimAuth, Path(id): Path<String>) -> Answer {
    let (resource, version) = Scim(&app)
        .user(&a.meta, &a.caller, &id)
        .await
        .map_err(|e| ScimError::of(e, &a.meta))?;
    Ok(resource_response(
        StatusCode::OK,
        &Written {
            resource,
            version,
            roles: vec![],
        },
    ))
}

async fn get_group(State(app): State<App>, a: ScimAuth, Path(id): Path<String>) -> Answer {
    let (resource, version) = Scim(&app)
        .group(&a.meta, &a.caller, &id)
        .await
        .map_err(|e| ScimError::of(e, &a.meta))?;
    Ok(resource_response(
        StatusCode::OK,
        &Written {
            resource,
            version,
            roles: vec![],
        },
    ))
}

/// Answers a write, after granting the room roles it moved.
async fn written(
    app: &App,
    a: &ScimAuth,
    status: StatusCode,
    w: Result<Written, AppError>,
) -> Answer {
    let w = w.map_err(|e| ScimError::of(e, &a.meta))?;
    apply_room_roles(app, &a.meta, w.roles.clone()).await;
    Ok(resource_response(status, &w))
}

async fn create_user(
    State(app): State<App>,
    a: ScimAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a.body(&app, "users", &headers, &bytes).await?;
    let w = Scim(&app).create_user(&a.meta, &a.caller, &body).await;
    written(&app, &a, StatusCode::CREATED, w).await
}

async fn replace_user(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a
        .body(&app, &format!("user:{id}"), &headers, &bytes)
        .await?;
    let w = Scim(&app)
        .replace_user(&a.meta, &a.caller, &id, &body, if_match(&headers))
        .await;
    written(&app, &a, StatusCode::OK, w).await
}

async fn patch_user(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a
        .body(&app, &format!("user:{id}"), &headers, &bytes)
        .await?;
    let w = Scim(&app)
        .patch_user(&a.meta, &a.caller, &id, &body, if_match(&headers))
        .await;
    written(&app, &a, StatusCode::OK, w).await
}

async fn delete_user(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let roles = Scim(&app)
        .delete_user(&a.meta, &a.caller, &id, if_match(&headers))
        .await
        .map_err(|e| ScimError::of(e, &a.meta))?;
    apply_room_roles(&app, &a.meta, roles).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_group(
    State(app): State<App>,
    a: ScimAuth,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a.body(&app, "groups", &headers, &bytes).await?;
    let w = Scim(&app).create_group(&a.meta, &a.caller, &body).await;
    written(&app, &a, StatusCode::CREATED, w).await
}

async fn replace_group(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a
        .body(&app, &format!("group:{id}"), &headers, &bytes)
        .await?;
    let w = Scim(&app)
        .replace_group(&a.meta, &a.caller, &id, &body, if_match(&headers))
        .await;
    written(&app, &a, StatusCode::OK, w).await
}

async fn patch_group(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = a
        .body(&app, &format!("group:{id}"), &headers, &bytes)
        .await?;
    let w = Scim(&app)
        .patch_group(&a.meta, &a.caller, &id, &body, if_match(&headers))
        .await;
    written(&app, &a, StatusCode::OK, w).await
}

async fn delete_group(
    State(app): State<App>,
    a: ScimAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let roles = Scim(&app)
        .delete_group(&a.meta, &a.caller, &id, if_match(&headers))
        .await
        .map_err(|e| ScimError::of(e, &a.meta))?;
    apply_room_roles(&app, &a.meta, roles).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn not_found(Meta(meta): Meta) -> ScimError {
    ScimError::new(ErrorCode::NotFound, "not found", &meta)
}

async fn method_not_allowed(Meta(meta): Meta) -> ScimError {
    ScimError::new(
        ErrorCode::MethodNotAllowed,
        "this path does not accept this method",
        &meta,
    )
}

// ---- discovery (RFC 7644 §4)

async fn service_provider_config(_a: ScimAuth) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://custody.invalid/docs/scim.md",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": app::SCIM_MAX_PAGE},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A party's SCIM token, made by an owner admin",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig"}
        }),
    )
}

fn user_type() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User", "name": "User", "endpoint": "/Users",
        "description": "A user of the token's party",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/User"}
    })
}

fn group_type() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group", "name": "Group", "endpoint": "/Groups",
        "description": "A group of the token's party; an admin maps it to room roles or system roles",
        "schema": GROUP_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/Group"}
    })
}

fn list_of(items: Vec<Value>) -> Response {
    list_response(app::ScimPage {
        total: items.len(),
        start: 1,
        resources: items,
    })
}

async fn resource_types(_a: ScimAuth) -> Response {
    list_of(vec![user_type(), group_type()])
}

async fn resource_type(a: ScimAuth, Path(id): Path<String>) -> Answer {
    match id.as_str() {
        "User" => Ok(scim_json(StatusCode::OK, &user_type())),
        "Group" => Ok(scim_json(StatusCode::OK, &group_type())),
        _ => Err(ScimError::new(ErrorCode::NotFound, "not found", &a.meta)),
    }
}

fn attr(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "required": required,
        "caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
    })
}

fn multi(name: &str, mutability: &str) -> Value {
    json!({
        "name": name, "type": "complex", "multiValued": true, "required": false,
        "mutability": mutability, "returned": "default",
        "subAttributes": [attr("value", "string", false, mutability, "none"), attr("display", "string", false, "readOnly", "none"), attr("type", "string", false, mutability, "none"), attr("primary", "boolean", false, mutability, "none")],
    })
}

fn user_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "User Account",
        "attributes": [
            attr("userName", "string", true, "readWrite", "server"),
            {"name": "name", "type": "complex", "multiValued": false, "required": false, "mutability": "readWrite", "returned": "default",
             "subAttributes": [attr("formatted", "string", false, "readWrite", "none"), attr("familyName", "string", false, "readWrite", "none"), attr("givenName", "string", false, "readWrite", "none")]},
            attr("displayName", "string", false, "readWrite", "none"),
            attr("active", "boolean", false, "readWrite", "none"),
            multi("emails", "readWrite"),
            multi("groups", "readOnly"),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{USER_SCHEMA}")}
    })
}

fn group_schema() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
        "attributes": [attr("displayName", "string", true, "readWrite", "server"), multi("members", "readWrite")],
        "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{GROUP_SCHEMA}")}
    })
}

async fn schemas(_a: ScimAuth) -> Response {
    list_of(vec![user_schema(), group_schema()])
}

async fn schema(a: ScimAuth, Path(id): Path<String>) -> Answer {
    if id.eq_ignore_ascii_case(USER_SCHEMA) {
        Ok(scim_json(StatusCode::OK, &user_schema()))
    } else if id.eq_ignore_ascii_case(GROUP_SCHEMA) {
        Ok(scim_json(StatusCode::OK, &group_schema()))
    } else {
        Err(ScimError::new(ErrorCode::NotFound, "not found", &a.meta))
    }
}
