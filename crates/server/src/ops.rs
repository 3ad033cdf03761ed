//! What operators watch (docs/operations.md): `GET /healthz` (the process
//! answers), `GET /readyz` (the database, the blob store and the keys are
//! reachable: 200, else 503 naming what failed), and the Prometheus metrics —
//! request counts and latency by route, bytes in and out, events by action
//! group and outcome, and gauges read from the database at each scrape
//! (ledger size, outbox depth) — served by [`metrics_router`] on an address of
//! their own, never on the public HTTPS listener.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use app::App;

/// Upper bounds (seconds) of the request-latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How long each readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// One route's and method's requests.
#[derive(Default)]
struct RouteStats {
    /// By status class (`2xx` …).
    by_class: BTreeMap<&'static str, u64>,
    /// Cumulative counts per bucket of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The process's request metrics, shared by the middleware and the scrape
/// (one per process, as the events' counts: every listener of the process
/// adds to it).
static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

#[derive(Default)]
struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    bytes_in: std::sync::atomic::AtomicU64,
    bytes_out: std::sync::atomic::AtomicU64,
}

impl Metrics {
    fn observe(&self, route: String, method: String, status: StatusCode, took: Duration) {
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let seconds = took.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let s = routes.entry((route, method)).or_default();
        *s.by_class.entry(class).or_default() += 1;
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }
}

/// The layer that counts every request: its route template (never the raw
/// path, which holds ids and secrets), method, status class and time to the
/// response's head; the bytes of bodies whose length is known.
pub async fn count(req: Request, next: Next) -> Response {
    use std::sync::atomic::Ordering;
    let metrics = &*METRICS;
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let inbound = axum::body::HttpBody::size_hint(req.body()).exact();
    let started = Instant::now();
    let resp = next.run(req).await;
    let outbound = axum::body::HttpBody::size_hint(resp.body()).exact();
    metrics.observe(route, method, resp.status(), started.elapsed());
    metrics
        .bytes_in
        .fetch_add(inbound.unwrap_or(0), Ordering::Relaxed);
    metrics
        .bytes_out
        .fetch_add(outbound.unwrap_or(0), Ordering::Relaxed);
    resp
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(json!({"status": "alive"})),
    )
        .into_response()
}

/// One readiness check's outcome; the cause goes to the log only.
async fn check<F, T, E>(name: &str, probe: F) -> bool
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::warn!(check = name, error = %e, "not ready");
            false
        }
        Err(_) => {
            tracing::warn!(check = name, "not ready: the check timed out");
            false
        }
    }
}

/// `GET /readyz`: 200 when the database answers a query, the blob store
/// answers (on disk: takes a file in its directory of partial writes), and the key-encryption key, the mark key and the ledger's signing
/// key are loaded; else 503 naming each check's result.
pub async fn readyz(State(app): State<App>) -> Response {
    let database = check("database", async {
        let mut tx = app.store().read().await?;
        tx.ledger_size().await
    })
    .await;
    let blobs = check("blobs", async { app.blobs().ready().await }).await;
    let keys = check("keys", async {
        drop(app.keyring()?);
        app.mark_key()?;
        app.ledger_signer()?;
        Ok::<_, app::AppError>(())
    })
    .await;
    let ok = database && blobs && keys;
    let word = |b: bool| if b { "ok" } else { "failed" };
    let body = json!({
        "status": if ok { "ready" } else { "unready" },
        "checks": {"database": word(database), "blobs": word(blobs), "keys": word(keys)},
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn metrics_router(app: App) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            get(|State(app): State<App>| async move { scrape(&app, &METRICS).await }),
        )
        .with_state(app)
}

/// Serves [`metrics_router`] on `listener` (plain HTTP) until the process ends.
pub async fn serve_metrics(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(app)).await
}

/// A label value in the text format: `\`, `"` and line breaks escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

async fn scrape(app: &App, metrics: &Metrics) -> Response {
    use std::sync::atomic::Ordering;
    let mut out = String::new();
    let routes: Vec<_> = {
        let routes = metrics
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        routes
            .iter()
            .map(|((r, m), s)| {
                (
                    label(r),
                    label(m),
                    s.by_class.clone(),
                    s.buckets,
                    s.count,
                    s.sum_seconds,
                )
            })
            .collect()
    };
    out.push_str("# HELP custody_http_requests_total HTTP requests answered, by route template, method and status class.\n");
    out.push_str("# TYPE custody_http_requests_total counter\n");
    for (r, m, by_class, ..) in &routes {
        for (class, n) in by_class {
            let _ = writeln!(
                out,
                "custody_http_requests_total{{route=\"{r}\",method=\"{m}\",status=\"{class}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP custody_http_request_duration_seconds Time from a request's arrival to its response's head, by route template and method.\n");
    out.push_str("# TYPE custody_http_request_duration_seconds histogram\n");
    for (r, m, _, buckets, count, sum) in &routes {
        for (bound, n) in BUCKETS.iter().zip(buckets) {
            let _ = writeln!(
                out,
                "custody_http_request_duration_seconds_bucket{{route=\"{r}\",method=\"{m}\",le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "custody_http_request_duration_seconds_bucket{{route=\"{r}\",method=\"{m}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "custody_http_request_duration_seconds_sum{{route=\"{r}\",method=\"{m}\"}} {sum}"
        );
        let _ = writeln!(
            out,
            "custody_http_request_duration_seconds_count{{route=\"{r}\",method=\"{m}\"}} {count}"
        );
    }
    out.push_str(
        "# HELP custody_http_request_bytes_total Request body bytes of known length received.\n",
    );
    out.push_str("# TYPE custody_http_request_bytes_total counter\n");
    let _ = writeln!(
        out,
        "custody_http_request_bytes_total {}",
        metrics.bytes_in.load(Ordering::Relaxed)
    );
    out.push_str("# HELP custody_http_response_bytes_total Response body bytes of known length sent (streamed downloads are counted by custody_events_total).\n");
    out.push_str("# TYPE custody_http_response_bytes_total counter\n");
    let _ = writeln!(
        out,
        "custody_http_response_bytes_total {}",
        metrics.bytes_out.load(Ordering::Relaxed)
    );
    out.push_str("# HELP custody_events_total Audit events made by this process, by action group (file, dlp, auth …) and outcome: the authorization decisions and DLP verdicts among them.\n");
    out.push_str("# TYPE custody_events_total counter\n");
    for (group, outcome, n) in app::events::made_counts() {
        let _ = writeln!(
            out,
            "custody_events_total{{group=\"{}\",outcome=\"{outcome}\"}} {n}",
            label(&group)
        );
    }
    out.push_str("# HELP custody_job_runs_total Runs of the background jobs in this process (sweeps, checkpoint signing), by job and outcome.\n");
    out.push_str("# TYPE custody_job_runs_total counter\n");
    for (job, outcome, n) in app::jobs::run_counts() {
        let _ = writeln!(
            out,
            "custody_job_runs_total{{job=\"{job}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    // Gauges read from the database: shared by every node.
    let gauges = async {
        let mut tx = app.store().read().await?;
        let size = tx.ledger_size().await?;
        let outbox = tx.outbox_counts().await?;
        Ok::<_, app::AppError>((size, outbox))
    };
    match tokio::time::timeout(CHECK_TIMEOUT, gauges).await {
        Ok(Ok((size, outbox))) => {
            out.push_str("# HELP custody_ledger_entries Entries in the ledger.\n");
            out.push_str("# TYPE custody_ledger_entries gauge\n");
            let _ = writeln!(out, "custody_ledger_entries {size}");
            out.push_str("# HELP custody_outbox_messages E-mails in the outbox, by state.\n");
            out.push_str("# TYPE custody_outbox_messages gauge\n");
            for (state, n) in [
                ("waiting", outbox.waiting),
                ("sent", outbox.sent),
                ("failed", outbox.failed),
            ] {
                let _ = writeln!(out, "custody_outbox_messages{{state=\"{state}\"}} {n}");
            }
            out.push_str("# HELP custody_database_up Whether the database answered this scrape.\n");
            out.push_str("# TYPE custody_database_up gauge\n");
            out.push_str("custody_database_up 1\n");
        }
        _ => {
            out.push_str("# HELP custody_database_up Whether the database answered this scrape.\n");
            out.push_str("# TYPE custody_database_up gauge\n");
            out.push_str("custody_database_up 0\n");
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_every_bucket_at_or_above_them() {
        let m = Metrics::default();
        for ms in [0, 3, 40, 20_000] {
            m.observe(
                "/api/v1/rooms".into(),
                "GET".into(),
                StatusCode::OK,
                Duration::from_millis(ms),
            );
        }
        m.observe(
            "/api/v1/rooms".into(),
            "GET".into(),
            StatusCode::NOT_FOUND,
            Duration::from_millis(1),
        );
        let routes = m.routes.lock().unwrap();
        let s = &routes[&("/api/v1/rooms".to_owned(), "GET".to_owned())];
        assert_eq!(s.count, 5);
        assert_eq!((s.by_class["2xx"], s.by_class["4xx"]), (4, 1));
        // ≤1 ms: 0 and 1; ≤5 ms: also 3; ≤50 ms: also 40; 20 s in none.
        assert_eq!(s.buckets[0], 2);
        assert_eq!(s.buckets[2], 3);
        assert_eq!(s.buckets[5], 4);
        assert_eq!(s.buckets[BUCKETS.len() - 1], 4);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("x\ny"), "x\\ny");
    }
}
