//! What operators watch, on a real `custody serve`: `/healthz` answers,
//! `/readyz` is ready while the database, the blob store and the keys are
//! reachable and says which failed when the blob store is gone, and the
//! metrics listener's `/metrics` parses with the Prometheus project's own
//! text-format parser (prometheus-client from PyPI, installed by
//! scripts/test) and counts what the server did.

use std::path::PathBuf;

use crate::util::{ADMIN_EMAIL, Scratch, raw_http, serve_command};

/// The interpreter of the venv holding prometheus-client (scripts/test makes it).
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("CUSTODY_OPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/custody-ops-venv/bin/python"));
    p.exists().then_some(p)
}

/// Parses the text format with prometheus-client: every sample as
/// `[name, labels, value]`, and every family's type.
fn parse(text: &str, py: &PathBuf) -> serde_json::Value {
    use std::io::Write as _;
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(sys.stdin.read()))
print(json.dumps({
    "types": {f.name: f.type for f in families},
    "samples": [[s.name, s.labels, s.value] for f in families for s in f.samples],
}))
"#;
    let mut child = std::process::Command::new(py)
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the first sample named `name` whose labels include `labels`.
fn sample(parsed: &serde_json::Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parsed["samples"].as_array()?.iter().find_map(|s| {
        let ok = s[0] == name && labels.iter().all(|(k, v)| s[1][*k] == *v);
        ok.then(|| s[2].as_f64()).flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_tell_an_operator_what_the_server_does() {
    let py = python();
    if py.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "prometheus-client (/var/tmp/custody-ops-venv, made by scripts/test) is missing"
        );
        eprintln!(
            "NOT RUN: the Prometheus parser (no /var/tmp/custody-ops-venv; scripts/test makes it)"
        );
    }
    let scratch = Scratch::new();
    let server = scratch.serve_with(&[("CUSTODY_METRICS_LISTEN", "127.0.0.1:0".into())]);
    let http = raw_http();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };

    let (status, body) = get(format!("{}/healthz", server.url)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"alive"}"#));
    let (status, body) = get(format!("{}/readyz", server.url)).await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        ready["checks"],
        serde_json::json!({"database": "ok", "blobs": "ok", "keys": "ok"})
    );

    // Some work: the admin signs in (a login, a TOTP enrolment) and lists rooms.
    let admin = server.admin().await;
    admin.list_rooms().await.unwrap();
    let missing = format!(
        "{}/api/v1/rooms/00000000-0000-4000-8000-000000000000",
        server.url
    );
    assert_eq!(
        http.get(missing).send().await.unwrap().status().as_u16(),
        401
    );

    // The blob store goes away: not ready, and it says which check failed.
    let blobs = server.data.join("blobs");
    let away = server.data.join("blobs.away");
    std::fs::rename(&blobs, &away).unwrap();
    let (status, body) = get(format!("{}/readyz", server.url)).await;
    assert_eq!(status, 503, "{body}");
    let unready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(unready["status"], "unready");
    assert_eq!(unready["checks"]["blobs"], "failed");
    assert_eq!(unready["checks"]["database"], "ok");
    std::fs::rename(&away, &blobs).unwrap();
    let (status, _) = get(format!("{}/readyz", server.url)).await;
    assert_eq!(status, 200, "ready again");

    // The metrics listener: plain HTTP, /metrics only.
    let metrics = server
        .metrics
        .clone()
        .expect("the metrics listener's address");
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    let r = reqwest::get(&metrics).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "the text exposition format"
    );
    let text = r.text().await.unwrap();
    let other = metrics.replace("/metrics", "/api/v1/rooms");
    assert_eq!(
        reqwest::get(&other).await.unwrap().status().as_u16(),
        404,
        "nothing else there"
    );
    // Route templates only: no id, no token in a label.
    assert!(
        !text.contains("00000000-0000-4000-8000-000000000000"),
        "{text}"
    );

    let Some(py) = py else { return };
    let parsed = parse(&text, &py);
    let types = &parsed["types"];
    for (family, kind) in [
        ("custody_http_requests", "counter"),
        ("custody_http_request_duration_seconds", "histogram"),
        ("custody_events", "counter"),
        ("custody_ledger_entries", "gauge"),
        ("custody_outbox_messages", "gauge"),
        ("custody_database_up", "gauge"),
        ("custody_job_runs", "counter"),
    ] {
        assert_eq!(types[family], kind, "{family}: {types}");
    }
    // Every job ran once at start (their first tick is immediate), and did not fail.
    for job in [
        "expiry_sweep",
        "review_sweep",
        "attestation_sweep",
        "retention_sweep",
        "purge_sweep",
        "ledger_checkpoint",
    ] {
        let ok = [("job", job), ("outcome", "ok")];
        let failed = [("job", job), ("outcome", "failed")];
        assert!(
            sample(&parsed, "custody_job_runs_total", &ok) >= Some(1.0),
            "{job}: {text}"
        );
        assert_eq!(
            sample(&parsed, "custody_job_runs_total", &failed),
            None,
            "{job}: {text}"
        );
    }
    let login = [
        ("route", "/api/v1/auth/login"),
        ("method", "POST"),
        ("status", "2xx"),
    ];
    assert!(
        sample(&parsed, "custody_http_requests_total", &login) >= Some(1.0),
        "{text}"
    );
    let refused = [
        ("route", "/api/v1/rooms/{id}"),
        ("method", "GET"),
        ("status", "4xx"),
    ];
    assert_eq!(
        sample(&parsed, "custody_http_requests_total", &refused),
        Some(1.0),
        "{text}"
    );
    let all = [
        ("route", "/api/v1/auth/login"),
        ("method", "POST"),
        ("le", "+Inf"),
    ];
    let count = [("route", "/api/v1/auth/login"), ("method", "POST")];
    assert_eq!(
        sample(
            &parsed,
            "custody_http_request_duration_seconds_bucket",
            &all
        ),
        sample(
            &parsed,
            "custody_http_request_duration_seconds_count",
            &count
        ),
        "the +Inf bucket holds every request"
    );
    assert!(
        sample(
            &parsed,
            "custody_events_total",
            &[("group", "auth"), ("outcome", "allowed")]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(&parsed, "custody_ledger_entries", &[]) >= Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&parsed, "custody_database_up", &[]), Some(1.0));
    server.stop().await;
}

/// `CUSTODY_LOG_FORMAT=json`: every line the server logs is one JSON object
/// with a time, a level and a message (a failed sign-in among them, with no
/// secret in it); an unknown format is refused before anything starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_and_a_bad_format_is_refused() {
    let scratch = Scratch::new();
    let server = scratch.serve_with(&[
        ("CUSTODY_LOG_FORMAT", "json".into()),
        (
            "CUSTODY_LOG",
            "debug,hyper=info,rustls=info,sqlx=info,h2=info".into(),
        ),
    ]);
    let r = raw_http()
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&serde_json::json!({"email": ADMIN_EMAIL, "password": "not the password 77"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let log = server.log.clone();
    server.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        for field in ["timestamp", "level", "target"] {
            assert!(entry[field].is_string(), "{field} in {line}");
        }
        lines += 1;
    }
    assert!(lines >= 2, "{text}");
    assert!(text.contains("\"message\""), "a message is logged: {text}");
    assert!(!text.contains("not the password 77"), "a secret logged");

    let out = serve_command(&scratch.path("other"))
        .env("CUSTODY_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("CUSTODY_LOG_FORMAT is `text` or `json`, not `xml`"),
        "{said}"
    );
}
