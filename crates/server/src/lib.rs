//! The HTTP edge of Custody: the REST API under `/api/v1` with its OpenAPI
//! description, SCIM 2.0 under `/scim/v2`, the server-rendered web UI, and HTTPS. **The only crate that
//! knows HTTP.** It maps requests to `app` use-cases and failures to stable
//! error codes; it holds no business rule of its own.

mod api;
pub mod auth;
mod dto;
mod edge;
mod error;
mod limited;
mod middleware;
pub mod ops;
pub mod scim;
pub mod throttle;
pub mod tls;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub use auth::ClientAddressing;
pub use edge::Limits;
pub use error::{ApiError, ErrorBody};

use app::App;

/// Largest JSON or form body accepted (uploads stream and have their own limit).
pub const JSON_BODY_LIMIT: usize = 256 * 1024;

/// The whole router: API, OpenAPI document, web UI. Usable without a socket.
pub fn router(app: App) -> Router {
    router_with(app, auth::ClientAddressing::default())
}

/// [`router`] behind reverse proxies: the client's address is read from
/// `addressing.header` on connections from `addressing.trusted_proxies`.
pub fn router_with(app: App, addressing: auth::ClientAddressing) -> Router {
    let (api, openapi) = api::router();
    let openapi = Arc::new(openapi);
    // Counted after routing, so by route template (`ops::count`).
    let api = api
        .route(
            "/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route_layer(axum::middleware::from_fn(ops::count));
    Router::new()
        .nest("/api/v1", api)
        .nest(
            "/scim/v2",
            scim::router().route_layer(axum::middleware::from_fn(ops::count)),
        )
        .merge(web::router(&app).route_layer(axum::middleware::from_fn(ops::count)))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::Extension(
            Arc::new(throttle::LoginThrottle::default()),
        ))
        .layer(axum::Extension(Arc::new(addressing)))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(app)
}

/// Serves `router` over HTTPS on `listen` until `shutdown` resolves.
pub async fn serve(
    app: App,
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind(listen)?;
    serve_listener_with(app, listener, tls, limits, shutdown).await
}

/// Binds first, then serves: returns the bound address (for `--listen
/// 127.0.0.1:0`). The connection limits are the defaults.
pub async fn serve_listener(
    app: App,
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_listener_with(app, listener, tls, Limits::default(), shutdown).await
}

/// [`serve_listener`] with the connection limits given: handshake, request
/// head, idle and body-progress timeouts, and the connection caps (`edge`).
pub async fn serve_listener_with(
    app: App,
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addressing = auth::ClientAddressing {
        header: limits.client_address_header.clone(),
        trusted_proxies: limits.trusted_proxies.clone(),
    };
    edge::serve(
        router_with(app, addressing),
        listener,
        tls,
        limits,
        shutdown,
    )
    .await
}
