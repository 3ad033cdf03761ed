//! A tiny HTTPS server for the tests: a self-signed certificate for `localhost` and
//! `127.0.0.1`, real TLS through tokio-rustls (aws-lc-rs), and a handful of fixed
//! routes answered by a hand-written HTTP/1.1 loop, one request per connection.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// The content served by the `good`, `bad-digest` and `short` files.
pub fn content() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

pub const TOKEN: &str = "test-token";

/// A running server and what a client needs to trust it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub cert_der: Vec<u8>,
    pub cert_pem: String,
}

impl TestServer {
    pub async fn start() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let cert_der = certified.cert.der().to_vec();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        serve(tls).await;
                    }
                });
            }
        });
        Self {
            addr,
            cert_der,
            cert_pem: certified.cert.pem(),
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub fn fingerprint(&self) -> [u8; 32] {
        client::certificate_fingerprint(&self.cert_der)
    }
}

struct Request {
    method: String,
    path: String,
    authorized: bool,
    body: Vec<u8>,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    answer(&mut stream, request).await;
    let _ = stream.shutdown().await;
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_owned();
    let path = start.next()?.to_owned();
    let mut length = 0usize;
    let mut authorized = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "authorization" => authorized = value.trim() == format!("Bearer {TOKEN}"),
            _ => {}
        }
    }
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        path,
        authorized,
        body,
    })
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

fn repr_digest(bytes: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha256(bytes))
    )
}

fn file_info(id: &str, path: &str, bytes: &[u8]) -> String {
    serde_json::json!({
        "id": id, "room_id": "r1", "path": path, "size": bytes.len(),
        "sha256": hex::encode(sha256(bytes)), "version": 1, "version_id": "v1",
        "updated_at": "2026-01-01T00:00:00Z", "extra_field_from_newer_server": true
    })
    .to_string()
}

fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message, "request_id": "req-1"}})
        .to_string()
}

async fn answer<S: AsyncWrite + Unpin>(stream: &mut S, req: Request) {
    let content = content();
    let route = (req.method.as_str(), req.path.as_str());
    match route {
        ("POST", "/api/v1/auth/login") => {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if body["password"] == "right" {
                let login = serde_json::json!({
                    "token": TOKEN, "expires_at": "2026-01-01T00:00:00Z",
                    "user": {"id": "u1", "email": body["email"], "display_name": "Ann",
                             "system_role": "user", "party_id": null}
                });
                respond(stream, "200 OK", &[], login.to_string().as_bytes()).await;
            } else {
                let err = error_body("invalid_credentials", "wrong email or password");
                respond(stream, "401 Unauthorized", &[], err.as_bytes()).await;
            }
        }
        ("GET", "/api/v1/rooms") if req.authorized => {
            let rooms = serde_json::json!({"items": [{"id": "r1", "name": "Deal", "classification":
                "confidential", "created_at": "2026-01-01T00:00:00Z", "role": null}]});
            respond(stream, "200 OK", &[], rooms.to_string().as_bytes()).await;
        }
        ("GET", "/api/v1/rooms") => {
            let err = error_body("unauthenticated", "log in first");
            respond(stream, "401 Unauthorized", &[], err.as_bytes()).await;
        }
        ("GET", path) if path.starts_with("/api/v1/files/") => {
            serve_file(stream, &path["/api/v1/files/".len()..], &content).await;
        }
        ("PUT", path) if path.starts_with("/api/v1/rooms/r1/files/") => {
            let remote = &path["/api/v1/rooms/r1/files/".len()..];
            let stored = if remote.starts_with("lying") {
                b"something else".to_vec()
            } else {
                req.body.clone()
            };
            let info = file_info("f-new", remote, &stored);
            respond(stream, "201 Created", &[], info.as_bytes()).await;
        }
        _ => respond(stream, "404 Not Found", &[], b"nope").await,
    }
}

async fn serve_file<S: AsyncWrite + Unpin>(stream: &mut S, rest: &str, content: &[u8]) {
    let (id, want_content) = match rest.strip_suffix("/content") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    if !want_content {
        let info = file_info(id, &format!("{id}.bin"), content);
        return respond(stream, "200 OK", &[], info.as_bytes()).await;
    }
    match id {
        "good" => {
            let digest = repr_digest(content);
            respond(stream, "200 OK", &[("Repr-Digest", &digest)], content).await;
        }
        "bad-digest" => {
            let digest = repr_digest(b"other bytes");
            respond(stream, "200 OK", &[("Repr-Digest", &digest)], content).await;
        }
        "no-digest" => respond(stream, "200 OK", &[], content).await,
        "short" => {
            let digest = repr_digest(content);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nRepr-Digest: {digest}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&content[..content.len() / 2]).await;
            let _ = stream.flush().await;
        }
        _ => respond(stream, "404 Not Found", &[], b"").await,
    }
}

async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.flush().await;
}
