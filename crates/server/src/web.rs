//! The server-rendered web UI (filled in below).

use app::App;

/// The web UI routes.
pub fn router() -> axum::Router<App> {
    axum::Router::new()
}
