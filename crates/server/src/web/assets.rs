//! The stylesheet and the script of the web UI, compiled into the binary and
//! served with their content types (the CSP allows only same-origin scripts and
//! styles, so nothing is inline).

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
}

/// `GET /assets/app.css`.
pub async fn css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /assets/app.js`.
pub async fn js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", JS)
}
