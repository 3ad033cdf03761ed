//! The load of `bench/login_flood.sh`: against a running `custody serve`,
//! clients flood `POST /api/v1/auth/login` with wrong passwords (each request
//! with an `X-Forwarded-For` address of its own, so that the per-address
//! throttle does not stop them: the server must trust 127.0.0.1 as a proxy)
//! while one probe uploads and downloads a file in a loop; the probe's
//! latencies are measured quiet first, then under the flood.
//!
//! Usage: login_flood URL FINGERPRINT ADMIN_EMAIL ADMIN_PASSWORD CLIENTS PROBES
//! Prints `key value` lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark driver"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PROBE_BYTES: usize = 256 * 1024;
const PASSWORD: &str = "probe password 1234";

struct Target {
    url: String,
    fingerprint: [u8; 32],
}

impl Target {
    fn client(&self) -> client::Client {
        client::Client::new(
            &self.url,
            client::Trust::Fingerprint(self.fingerprint),
            None,
        )
        .expect("client")
    }
}

async fn call(
    c: &client::Client,
    token: &str,
    method: reqwest::Method,
    route: &str,
    body: Value,
) -> Value {
    let r = c
        .http()
        .request(method, c.url(route))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{route}: {status} {v}");
    v
}

/// A room and a contributor in it; returns the contributor's token and the room.
async fn setup(t: &Target, email: &str, password: &str) -> (String, String) {
    let c = t.client();
    let first = c
        .login(email, password, None)
        .await
        .expect("admin login")
        .token;
    let admin = enrol(&c, &first).await;
    let room = call(
        &c,
        &admin,
        reqwest::Method::POST,
        "/rooms",
        json!({"name": format!("flood {}", std::process::id()), "classification": "internal"}),
    )
    .await;
    let room = room["id"].as_str().unwrap().to_owned();
    let me: Value = call(&c, &admin, reqwest::Method::GET, "/auth/me", Value::Null).await;
    let party = me["party_id"].as_str().unwrap().to_owned();
    let probe_email = format!("probe{}@owner.example", std::process::id());
    let user = call(
        &c,
        &admin,
        reqwest::Method::POST,
        "/users",
        json!({"email": probe_email,
        "display_name": "Probe", "party_id": party, "system_role": "member", "password": PASSWORD}),
    )
    .await;
    let grant = json!({"subject_kind": "user", "subject_id": user["id"], "role": "contributor", "reason": "bench"});
    call(
        &c,
        &admin,
        reqwest::Method::POST,
        &format!("/rooms/{room}/grants"),
        grant,
    )
    .await;
    let token = c
        .login(&probe_email, PASSWORD, None)
        .await
        .expect("probe login")
        .token;
    (token, room)
}

/// Enrols the fresh server's admin, who must use a second factor, in TOTP;
/// returns its multi-factor token.
async fn enrol(c: &client::Client, token: &str) -> String {
    let begun = call(c, token, reqwest::Method::POST, "/auth/totp", Value::Null).await;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut secret, mut buffer, mut bits) = (Vec::new(), 0u64, 0u32);
    for ch in begun["secret"].as_str().unwrap().bytes() {
        let v = ALPHABET.iter().position(|&a| a == ch).unwrap() as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            secret.push((buffer >> bits) as u8);
        }
    }
    let now = app::Clock::now_ms(&app::SystemClock);
    let code = format!(
        "{:06}",
        app::totp::code_at(&secret, app::totp::step_of(now), 6)
    );
    let confirmed = call(
        c,
        token,
        reqwest::Method::POST,
        "/auth/totp/confirm",
        json!({"code": code}),
    )
    .await;
    confirmed["token"].as_str().unwrap().to_owned()
}

#[derive(Default)]
struct Probe {
    put_ms: Vec<f64>,
    get_ms: Vec<f64>,
    errors: u64,
    server_errors: u64,
}

async fn probe(t: &Target, token: &str, room: &str, rounds: usize, tag: &str) -> Probe {
    let c = t.client();
    let mut out = Probe::default();
    let body = vec![b'p'; PROBE_BYTES];
    for n in 0..rounds {
        let route = format!("/rooms/{room}/files/{tag}/{n}.bin");
        let started = Instant::now();
        let r = c
            .http()
            .put(c.url(&route))
            .bearer_auth(token)
            .body(body.clone())
            .send()
            .await;
        let id = match r {
            Ok(r) if r.status().is_success() => {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                out.put_ms.push(started.elapsed().as_secs_f64() * 1e3);
                v["id"].as_str().map(str::to_owned)
            }
            Ok(r) => {
                out.errors += 1;
                out.server_errors += u64::from(r.status().is_server_error());
                eprintln!(
                    "probe put: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
                None
            }
            Err(e) => {
                out.errors += 1;
                eprintln!("probe put: {e}");
                None
            }
        };
        let Some(id) = id else { continue };
        let started = Instant::now();
        let r = c
            .http()
            .get(c.url(&format!("/files/{id}/content")))
            .bearer_auth(token)
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {
                let bytes = r.bytes().await.map(|b| b.len()).unwrap_or(0);
                // A marked copy carries its mark: a little more than was uploaded.
                if bytes >= PROBE_BYTES {
                    out.get_ms.push(started.elapsed().as_secs_f64() * 1e3);
                } else {
                    out.errors += 1;
                    eprintln!("probe get: {bytes} bytes, not {PROBE_BYTES}");
                }
            }
            Ok(r) => {
                out.errors += 1;
                out.server_errors += u64::from(r.status().is_server_error());
                eprintln!("probe get: {}", r.status());
            }
            Err(e) => {
                out.errors += 1;
                eprintln!("probe get: {e}");
            }
        }
    }
    out
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn report(name: &str, p: &mut Probe) {
    println!("{name}_put_p50_ms {:.1}", percentile(&mut p.put_ms, 0.5));
    println!("{name}_put_p99_ms {:.1}", percentile(&mut p.put_ms, 0.99));
    println!("{name}_get_p50_ms {:.1}", percentile(&mut p.get_ms, 0.5));
    println!("{name}_get_p99_ms {:.1}", percentile(&mut p.get_ms, 0.99));
    println!("{name}_probe_errors {}", p.errors);
    println!("{name}_probe_5xx {}", p.server_errors);
}

#[derive(Default)]
struct Counts {
    unauthorized: AtomicU64,
    locked: AtomicU64,
    busy: AtomicU64,
    server_error: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let [_, url, fingerprint, email, password, clients, probes] = &args[..] else {
        panic!("usage: login_flood URL FINGERPRINT ADMIN_EMAIL ADMIN_PASSWORD CLIENTS PROBES");
    };
    let target = Arc::new(Target {
        url: url.clone(),
        fingerprint: client::parse_fingerprint(fingerprint).expect("fingerprint"),
    });
    let clients: usize = clients.parse().expect("clients");
    let probes: usize = probes.parse().expect("probes");
    let (token, room) = setup(&target, email, password).await;

    let mut quiet = probe(&target, &token, &room, probes, "quiet").await;
    report("quiet", &mut quiet);

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let flood_client = target.client();
    let mut tasks = Vec::new();
    let started = Instant::now();
    for n in 0..clients {
        let (c, stop, counts) = (flood_client.clone(), stop.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // One in ten tries a known account (the admin's), the rest unknown ones.
                let email = if i.is_multiple_of(10) {
                    "admin@custody.local".to_owned()
                } else {
                    format!("flood{n}-{i}@attacker.example")
                };
                let forwarded = format!("10.{}.{}.{}", n / 256 % 256, n % 256, i % 250 + 1);
                let r = c
                    .http()
                    .post(c.url("/auth/login"))
                    .header("x-forwarded-for", forwarded)
                    .json(&json!({"email": email, "password": "wrong password"}))
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await;
                let slot = match r.as_ref().map(|r| r.status().as_u16()) {
                    Ok(401) => &counts.unauthorized,
                    Ok(429) => &counts.locked,
                    Ok(503) => &counts.busy,
                    Ok(s) if s >= 500 => &counts.server_error,
                    Ok(_) => &counts.other,
                    Err(_) => &counts.failed,
                };
                slot.fetch_add(1, Ordering::Relaxed);
                if let Ok(r) = r {
                    let _ = r.bytes().await;
                }
            }
        }));
    }
    // Let every flood client connect and start before probing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut flood = probe(&target, &token, &room, probes, "flood").await;
    stop.store(true, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    for t in tasks {
        let _ = t.await;
    }
    report("flood", &mut flood);
    let c = &counts;
    let total = [
        &c.unauthorized,
        &c.locked,
        &c.busy,
        &c.server_error,
        &c.other,
        &c.failed,
    ]
    .iter()
    .map(|a| a.load(Ordering::Relaxed))
    .sum::<u64>();
    println!("flood_clients {clients}");
    println!("flood_requests {total}");
    println!("flood_rate_per_s {:.0}", total as f64 / seconds);
    println!("flood_401 {}", c.unauthorized.load(Ordering::Relaxed));
    println!("flood_429 {}", c.locked.load(Ordering::Relaxed));
    println!("flood_503 {}", c.busy.load(Ordering::Relaxed));
    println!("flood_5xx_other {}", c.server_error.load(Ordering::Relaxed));
    println!("flood_other {}", c.other.load(Ordering::Relaxed));
    println!(
        "flood_transport_errors {}",
        c.failed.load(Ordering::Relaxed)
    );
}
