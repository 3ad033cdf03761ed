//! How failures reach a caller: JSON `{error: {code, message, request_id}}`
//! with a stable code. Internal errors answer a generic message and the request
//! id; the detail goes to the log only. "Forbidden" on a resource the caller may
//! not see is "not found".

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use app::{AppError, ErrorCode, Kind};

/// The error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A failure on its way to the caller: a code of the catalogue, whose kind
/// decides the status, and a sentence.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    /// An error with its code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The status it answers.
    pub fn status(&self) -> StatusCode {
        status_of(self.code.kind())
    }
}

/// The status of each kind of failure.
pub(crate) fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadRequest => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        Kind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let message = match &e {
            AppError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        ApiError {
            code: e.code(),
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The request id is filled in by the request-id middleware.
        let status = self.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_owned(),
                message: self.message,
                request_id: None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"custody\""),
            );
        }
        // A retry helps a server shedding load, not one missing a renderer.
        if self.code == ErrorCode::ServerBusy {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(ErrorMarker);
        response
    }
}

/// Marks a response as an error body, so the middleware adds the request id.
#[derive(Clone, Copy)]
pub struct ErrorMarker;

/// `Json` that refuses unknown fields and bad bodies with our error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send `Content-Type: application/json`",
        ),
        JsonRejection::JsonDataError(e) => ApiError::new(
            ErrorCode::InvalidRequest,
            format!("the request body does not fit: {}", e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(ErrorCode::InvalidJson, "the request body is not valid JSON")
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
        }
        other => ApiError::new(ErrorCode::InvalidRequest, other.body_text()),
    }
}

/// Declares an extractor wrapping one of axum's whose rejection becomes our
/// error format with `code`.
macro_rules! api_extractor {
    ($(#[$doc:meta])* $name:ident, $inner:ident, $code:expr, $what:literal) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<T, S> axum::extract::FromRequestParts<S> for $name<T>
        where
            T: DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                match axum::extract::$inner::<T>::from_request_parts(parts, state).await {
                    Ok(axum::extract::$inner(v)) => Ok($name(v)),
                    Err(e) => Err(ApiError::new(
                        $code,
                        format!(concat!("the ", $what, " is not valid: {}"), e.body_text()),
                    )),
                }
            }
        }
    };
}

api_extractor!(
    /// `Path` whose rejections use our error format.
    ApiPath, Path, ErrorCode::InvalidPathParameter, "URL path"
);
api_extractor!(
    /// `Query` whose rejections use our error format.
    ApiQuery, Query, ErrorCode::InvalidQuery, "query string"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/errors.md as the catalogue and the status of each kind say it.
    fn errors_markdown() -> String {
        let mut out = String::from(
            "# Error codes\n\n\
             <!-- Generated from `model::ErrorCode` (crates/model/src/codes.rs) and the \
             server's status of each kind (crates/server/src/error.rs); do not edit by hand. \
             After changing the catalogue, regenerate with \
             `CUSTODY_BLESS=1 cargo test -p server --lib errors_md`. -->\n\n\
             Every failure the API answers is a JSON body \
             `{\"error\": {\"code\", \"message\", \"request_id\"}}`. The `code` is one of \
             these and never changes; the `message` is for people and may. Each code always \
             answers the same status. The OpenAPI document (`/api/v1/openapi.json`) lists \
             under each operation's error responses the codes it can answer \
             (`x-error-codes`).\n\n\
             | Code | Status | Meaning |\n|---|---|---|\n",
        );
        for code in ErrorCode::ALL {
            let status = status_of(code.kind());
            let reason = status.canonical_reason().unwrap_or_default();
            let meaning = code.meaning().replace('|', "\\|");
            out.push_str(&format!(
                "| `{}` | {} {reason} | {meaning} |\n",
                code.as_str(),
                status.as_u16()
            ));
        }
        out
    }

    /// docs/errors.md is the catalogue; `CUSTODY_BLESS=1` rewrites it.
    #[test]
    fn errors_md_matches_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
        let want = errors_markdown();
        if std::env::var_os("CUSTODY_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "docs/errors.md is not the catalogue's: run `CUSTODY_BLESS=1 cargo test -p server --lib errors_md`"
        );
    }

    /// An error answers its code's status, and the body carries its string.
    #[test]
    fn an_error_answers_its_codes_status() {
        let check = |e: ApiError, status: u16, code: &str| {
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(e.code.as_str(), code);
        };
        check(
            ApiError::new(ErrorCode::CsrfFailed, "x"),
            403,
            "csrf_failed",
        );
        check(
            ApiError::new(ErrorCode::MethodNotAllowed, "x"),
            405,
            "method_not_allowed",
        );
        check(AppError::Quarantined.into(), 422, "dlp_quarantined");
        let invalid = AppError::invalid(ErrorCode::BadFilter, "x");
        check(invalid.into(), 400, "bad_filter");
    }
}
