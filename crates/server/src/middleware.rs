//! Cross-cutting layers: a request id on every request and response (and in
//! every error body), security headers, and the JSON 404 fallback.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::ErrorCode;

use crate::auth::RequestId;
use crate::error::{ApiError, ErrorMarker};

/// Gives each request an id, exposes it as `x-request-id`, and writes it into error bodies.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = app::secrets::random::<12>()
        .map(hex::encode)
        .unwrap_or_else(|_| "unknown".into());
    req.extensions_mut().insert(RequestId(id.clone()));
    let response = next.run(req).await;
    let mut response = if response.extensions().get::<ErrorMarker>().is_some() {
        with_request_id(response, &id).await
    } else {
        response
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn with_request_id(response: Response, id: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(error) = value.get_mut("error").and_then(|e| e.as_object_mut()) {
        error.insert(
            "request_id".into(),
            serde_json::Value::String(id.to_owned()),
        );
    }
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Response::from_parts(parts, Body::from(bytes))
}

/// Headers every response carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let fixed = [
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Unknown routes answer the JSON error format.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "not found")
}

/// A known route with another method answers the JSON error format.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this path does not accept this method",
    )
}
