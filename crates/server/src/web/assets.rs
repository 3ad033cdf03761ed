//! The stylesheets and scripts of the web UI, compiled into the binary and
//! served with their content types (the CSP allows only same-origin scripts and
//! styles, so nothing is inline). A page that needs more than the shared
//! `app.css` and `app.js` names its own files (see `layout::page_with`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every asset: its name under `/assets/`, content type and text.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("../../assets/app.css")),
    ("app.js", JS, include_str!("../../assets/app.js")),
    ("audit.js", JS, include_str!("../../assets/audit.js")),
    ("viewer.js", JS, include_str!("../../assets/viewer.js")),
];

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        *body,
    )
        .into_response()
}
