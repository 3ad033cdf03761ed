//! The HTTP edge under abuse (issue 12, defects 6, 7 and 8): connections that
//! are slow or idle, request bodies that stall or are sent to a caller who
//! may not use them, oversized form fields, and the 416 answer. The body tests
//! go through the router with bodies that count what the server pulled and
//! then stall; the connection tests run a real HTTPS server on 127.0.0.1 with
//! short limits and a TLS client of their own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use model::SessionKind;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tower::ServiceExt;

use crate::util::*;

/// Longest a test waits for an answer or a close that must come.
const PATIENCE: Duration = Duration::from_secs(30);

/// A body that yields `chunks` (counting into `pulled` what the server took),
/// then sends nothing more, like a client that declared more than it sends.
/// Like a connection's body, each chunk is ready only after the previous one
/// was taken (hyper reads the next one from the socket when asked).
fn stalling(chunks: Vec<Bytes>, pulled: Arc<AtomicU64>) -> Body {
    let chunks = futures_util::stream::iter(chunks).then(move |c| {
        let pulled = pulled.clone();
        async move {
            tokio::task::yield_now().await;
            pulled.fetch_add(c.len() as u64, Ordering::SeqCst);
            Ok::<_, std::io::Error>(c)
        }
    });
    Body::from_stream(chunks.chain(futures_util::stream::pending()))
}

/// Sends `req` through the router; the answer must come without the rest of
/// the body. Returns the status and the body text.
async fn answer(ctx: &Ctx, req: Request<Body>, label: &str) -> (u16, String) {
    let router = server::router(ctx.app.clone());
    let resp = tokio::time::timeout(PATIENCE, router.oneshot(req))
        .await
        .unwrap_or_else(|_| panic!("{label}: no answer; the server waits for the whole body"))
        .expect("infallible");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A browser session of `email` (signed in with TOTP when enrolled): the
/// cookie token and the CSRF token.
async fn browser(ctx: &Ctx, email: &str, totp: Option<&[u8]>) -> (String, String) {
    ctx.advance(30_000);
    let code = totp.map(|s| ctx.code(s));
    let login = app::Identity(&ctx.app)
        .login(
            &app::RequestMeta::default(),
            email,
            PASSWORD,
            code.as_deref(),
            SessionKind::Browser,
        )
        .await
        .expect("browser login");
    (login.token, login.csrf.expect("csrf"))
}

const BOUNDARY: &str = "edgeboundary";

/// The opening of a multipart part named `name` (a file part when `file`).
fn part(name: &str, file: bool) -> Bytes {
    let disposition = if file {
        format!(
            "form-data; name=\"{name}\"; filename=\"leak.pdf\"\r\nContent-Type: application/pdf"
        )
    } else {
        format!("form-data; name=\"{name}\"")
    };
    Bytes::from(format!(
        "--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n"
    ))
}

/// A complete text part.
fn text_part(name: &str, value: &str) -> Bytes {
    let mut b = part(name, false).to_vec();
    b.extend_from_slice(value.as_bytes());
    b.extend_from_slice(b"\r\n");
    Bytes::from(b)
}

/// A multipart form post with a browser session and a stalling body.
fn form_post(
    path: &str,
    cookie: &str,
    declared: u64,
    chunks: Vec<Bytes>,
    pulled: Arc<AtomicU64>,
) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("cookie", format!("custody_session={cookie}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("content-length", declared)
        .body(stalling(chunks, pulled))
        .expect("request")
}

/// One `POST /trace` row: who posts, through which door, what it declares.
struct TraceRow {
    label: &'static str,
    web: bool,
    /// Bearer token (API) or session cookie (web), with its CSRF token.
    who: (String, String),
    declared: u64,
    want_status: u16,
    want_text: &'static str,
}

async fn check_trace(ctx: &Ctx, row: TraceRow) {
    let pulled = Arc::new(AtomicU64::new(0));
    let few = Bytes::from_static(&[0x25; 1024]);
    let req = if row.web {
        let chunks = vec![text_part("csrf", &row.who.1), part("file", true), few];
        form_post("/trace", &row.who.0, row.declared, chunks, pulled.clone())
    } else {
        Request::builder()
            .method("POST")
            .uri(format!("{V1}/trace"))
            .header("authorization", format!("Bearer {}", row.who.0))
            .header("content-type", "application/octet-stream")
            .header("content-length", row.declared)
            .body(stalling(vec![few], pulled.clone()))
            .expect("request")
    };
    let (status, text) = answer(ctx, req, row.label).await;
    assert_eq!(status, row.want_status, "{}: {text}", row.label);
    assert!(text.contains(row.want_text), "{}: {text}", row.label);
    // Nothing of the file itself was needed to refuse (the web form's CSRF
    // part comes first; a multipart reader may look one chunk ahead).
    let most = if row.web { 4096 } else { 0 };
    let got = pulled.load(Ordering::SeqCst);
    assert!(got <= most, "{}: the server pulled {got} bytes", row.label);
}

/// Defect 7: `POST /trace` read the whole body (up to 256 MiB) before asking
/// whether the caller may trace; eight refused posts held 2.7 GB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_post_trace_reads_the_whole_body_before_deciding() {
    let ctx = Ctx::new().await;
    let party = ctx.party("Supplier").await;
    let member = ctx.external(&party).await;
    let web_member = browser(&ctx, &member.email, member.totp.as_deref()).await;
    let web_admin = browser(&ctx, ADMIN_EMAIL, Some(&ctx.admin_totp)).await;
    let huge = 250 << 20;
    let table = [
        TraceRow {
            label: "api, external member",
            web: false,
            who: (member.token.clone(), String::new()),
            declared: huge,
            want_status: 403,
            want_text: "forbidden",
        },
        TraceRow {
            label: "web, external member",
            web: true,
            who: web_member,
            declared: huge,
            want_status: 403,
            want_text: "",
        },
        TraceRow {
            label: "api, admin, more than a traced file can be",
            web: false,
            who: (ctx.admin.clone(), String::new()),
            declared: 300 << 20,
            want_status: 413,
            want_text: "payload_too_large",
        },
        TraceRow {
            label: "web, admin, more than a traced file can be",
            web: true,
            who: web_admin,
            declared: 300 << 20,
            want_status: 413,
            want_text: "larger than the limit",
        },
    ];
    for row in table {
        check_trace(&ctx, row).await;
    }
}

/// One upload-form row: the text fields sent before the stall.
struct FormRow {
    label: &'static str,
    /// Parts sent whole, then `(name, bytes)` of a text part that never ends.
    parts: Vec<(&'static str, String)>,
    endless: Option<(&'static str, usize)>,
    want_status: u16,
    want_text: &'static str,
}

/// Defect 8: the web upload form read each text field whole
/// (`DefaultBodyLimit::disable()`): a 1.5 GB `prefix` field took 3 GB before
/// its 400. Each text field is now read to 4 KiB at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_web_upload_text_fields_are_unbounded() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Uploads").await;
    let (cookie, csrf) = browser(&ctx, ADMIN_EMAIL, Some(&ctx.admin_totp)).await;
    let table = [
        FormRow {
            label: "endless prefix",
            parts: vec![("csrf", csrf.clone())],
            endless: Some(("prefix", 1 << 20)),
            want_status: 400,
            want_text: "at most 4096 bytes",
        },
        FormRow {
            label: "endless justification",
            parts: vec![("csrf", csrf.clone()), ("prefix", "docs/".into())],
            endless: Some(("justification", 1 << 20)),
            want_status: 400,
            want_text: "at most 4096 bytes",
        },
        FormRow {
            label: "endless csrf",
            parts: vec![],
            endless: Some(("csrf", 1 << 20)),
            want_status: 400,
            want_text: "at most 4096 bytes",
        },
        FormRow {
            label: "a prefix of 4097 bytes",
            parts: vec![("csrf", csrf.clone()), ("prefix", "a".repeat(4097))],
            endless: Some(("justification", 10)),
            want_status: 400,
            want_text: "at most 4096 bytes",
        },
    ];
    for row in table {
        let pulled = Arc::new(AtomicU64::new(0));
        let mut chunks: Vec<Bytes> = row.parts.iter().map(|(n, v)| text_part(n, v)).collect();
        if let Some((name, size)) = row.endless {
            chunks.push(part(name, false));
            chunks.extend(std::iter::repeat_n(
                Bytes::from_static(&[b'a'; 1024]),
                size / 1024,
            ));
        }
        let sent: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        let path = format!("/rooms/{room}/upload");
        let req = form_post(&path, &cookie, 2 << 30, chunks, pulled.clone());
        let (status, text) = answer(&ctx, req, row.label).await;
        assert_eq!(status, row.want_status, "{}: {text}", row.label);
        assert!(text.contains(row.want_text), "{}: {text}", row.label);
        let got = pulled.load(Ordering::SeqCst);
        assert!(
            got < 64 * 1024,
            "{}: the server pulled {got} of {sent} bytes",
            row.label
        );
    }
}

/// A 416 answer did not say the size (RFC 9110: `Content-Range: bytes */SIZE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_416_answer_carries_no_content_range() {
    let ctx = Ctx::new().await;
    let room = ctx.room(&ctx.admin, "Ranges").await;
    let file = ctx.upload(&ctx.admin, &room, "a.bin", &[7; 1000]).await;
    let id = file["id"].as_str().expect("id");
    for range in ["bytes=1000-", "bytes=5000-6000"] {
        let r = check(
            &ctx,
            Case {
                label: range.into(),
                who: Some(ctx.admin.clone()),
                method: "GET",
                path: format!("{V1}/files/{id}/content"),
                headers: vec![("range", range.to_owned())],
                want_status: 416,
                want_code: Some("range_not_satisfiable"),
                ..Case::default()
            },
        )
        .await;
        assert_eq!(r.header("content-range"), Some("bytes */1000"), "{range}");
    }
}

/// A real HTTPS server on 127.0.0.1 with `limits`; it stops when dropped.
struct Served {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    /// The server's certificate (PEM).
    cert: std::path::PathBuf,
    /// The admin's bearer token and a room of theirs.
    admin: String,
    room: String,
    _ctx: Ctx,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(limits: server::Limits) -> Served {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ctx = Ctx::new().await;
    let (cert, key) = (
        ctx.dir.path().join("cert.pem"),
        ctx.dir.path().join("key.pem"),
    );
    let names = vec!["localhost".into(), "127.0.0.1".into()];
    server::tls::ensure_self_signed(&cert, &key, names).expect("certificate");
    let server_tls = server::tls::server_config(&cert, &key).expect("tls");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = ctx.app.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        server::serve_listener_with(app, listener, server_tls, limits, shutdown)
            .await
            .expect("serve");
    });
    let room = ctx.room(&ctx.admin, "Edge").await;
    Served {
        addr,
        tls: client_config(&cert),
        cert,
        admin: ctx.admin.clone(),
        room,
        _ctx: ctx,
        _stop: stop,
    }
}

/// A TLS client trusting only the server's certificate, speaking HTTP/1.1.
fn client_config(cert: &std::path::Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(cert).expect("pem") {
        roots.add(c.expect("cert")).expect("root");
    }
    let mut client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(client)
}

/// A TCP connection to `to` from the loopback address `from`.
async fn connect(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
    socket.connect(to).await
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn handshake(served: &Served, tcp: TcpStream) -> std::io::Result<Tls> {
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    tokio_rustls::TlsConnector::from(served.tls.clone())
        .connect(name, tcp)
        .await
}

/// Reads until the server closes the connection (end of stream or reset);
/// returns what came. Panics when it stays open past [`PATIENCE`].
async fn until_closed(mut s: impl AsyncRead + Unpin, label: &str) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "{label}: the server kept the connection open");
    String::from_utf8_lossy(&got).into_owned()
}

/// One honest request on a new connection from `from`: its status line.
async fn ask(served: &Served, from: Ipv4Addr) -> Result<String, String> {
    let exchange = async {
        let tcp = connect(from, served.addr)
            .await
            .map_err(|e| e.to_string())?;
        let mut tls = handshake(served, tcp).await.map_err(|e| e.to_string())?;
        tls.write_all(
            b"GET /api/v1/auth/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        Ok(text.lines().next().unwrap_or_default().to_owned())
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .map_err(|_| "no answer".to_owned())?
}

/// How a slow client behaves on its connection.
#[derive(Clone, Copy, Debug)]
enum Slow {
    /// Connects and sends nothing (not even a TLS hello).
    Silent,
    /// Completes the handshake and sends nothing.
    Handshaken,
    /// Sends part of a request head, then nothing.
    PartialHead,
    /// Sends one request, reads the answer, then keeps the connection idle.
    IdleAfterRequest,
    /// Sends a head declaring a body, a few bytes of it, then nothing.
    StalledBody,
}

/// Opens a connection behaving as `slow`; returns it (still open) with what it already read.
async fn misbehave(
    served: &Served,
    from: Ipv4Addr,
    slow: Slow,
) -> Box<dyn AsyncRead + Unpin + Send> {
    let tcp = connect(from, served.addr).await.expect("connect");
    if let Slow::Silent = slow {
        return Box::new(tcp);
    }
    let mut tls = handshake(served, tcp).await.expect("handshake");
    let sent = match slow {
        Slow::Silent | Slow::Handshaken => String::new(),
        Slow::PartialHead => "GET /api/v1/auth/me HTTP/1.1\r\nHost: loc".into(),
        Slow::IdleAfterRequest => "GET /api/v1/auth/me HTTP/1.1\r\nHost: localhost\r\n\r\n".into(),
        Slow::StalledBody => format!(
            "PUT /api/v1/rooms/{}/files/stalled.bin HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Length: 100000\r\n\r\nabc",
            served.room, served.admin
        ),
    };
    tls.write_all(sent.as_bytes()).await.expect("write");
    tls.flush().await.expect("flush");
    Box::new(tls)
}

fn quick() -> server::Limits {
    server::Limits {
        handshake: Duration::from_secs(1),
        header_read: Duration::from_secs(1),
        idle: Duration::from_secs(2),
        body_progress: Duration::from_secs(1),
        ..server::Limits::default()
    }
}

/// Defect 6: after the TLS handshake nothing was timed; slow connections
/// stayed open (an idle upload body over 70 s) until descriptors ran out.
/// Each kind of slow connection is now closed, and what the server said
/// before closing is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_no_header_read_or_idle_timeout_after_the_handshake() {
    let served = serve(quick()).await;
    let table = [
        (Slow::Silent, ""),
        (Slow::Handshaken, ""),
        (Slow::PartialHead, ""),
        (Slow::IdleAfterRequest, "HTTP/1.1 401"),
        (Slow::StalledBody, "HTTP/1.1 400"),
    ];
    for (slow, want) in table {
        let label = format!("{slow:?}");
        let conn = misbehave(&served, Ipv4Addr::LOCALHOST, slow).await;
        let said = until_closed(conn, &label).await;
        assert!(said.starts_with(want), "{label}: {said}");
    }
    // The server still answers.
    assert_eq!(
        ask(&served, Ipv4Addr::LOCALHOST).await.as_deref(),
        Ok("HTTP/1.1 401 Unauthorized")
    );
}

/// In a child process of the slow test: `PORT FIRST_ADDRESS COUNT CERT_PATH`.
const CLIENTS_ENV: &str = "CUSTODY_EDGE_SLOW_CLIENTS";
/// The slow test's own name, for its child processes.
const SLOW_TEST: &str = "edge::regression_twenty_thousand_slow_connections_exhaust_the_server";

/// Defect 6 at scale: 19,979 slow connections exhausted the descriptors and new
/// handshakes timed out. 20,000 slow connections (from ten loopback addresses,
/// in two child processes: one process may open 20,000 files here) while an
/// honest client asks again and again: every honest request is answered, the
/// server holds no more connections than its cap, and every slow connection
/// is closed (to make room, or by its timeout). Runs with `CUSTODY_SLOW_TESTS=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_twenty_thousand_slow_connections_exhaust_the_server() {
    if let Ok(spec) = std::env::var(CLIENTS_ENV) {
        return slow_clients(&spec).await;
    }
    if std::env::var("CUSTODY_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!();
        eprintln!("!!! SKIPPED {SLOW_TEST}:");
        eprintln!("!!! set CUSTODY_SLOW_TESTS=1 to run it (scripts/test does)");
        eprintln!();
        return;
    }
    const CAP: usize = 4_000;
    let served = serve(server::Limits {
        handshake: Duration::from_secs(3),
        header_read: Duration::from_secs(3),
        idle: Duration::from_secs(3),
        body_progress: Duration::from_secs(3),
        max_connections: CAP,
        max_connections_per_address: 1_000,
        trusted_proxies: vec![],
        client_address_header: None,
    })
    .await;
    let (events, mut reports) = tokio::sync::mpsc::unbounded_channel::<(usize, String)>();
    let mut children = Vec::new();
    for k in 0..2usize {
        let spec = format!(
            "{} {} 10000 {}",
            served.addr.port(),
            2 + 5 * k,
            served.cert.display()
        );
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("exe"))
            .args([SLOW_TEST, "--exact", "--nocapture", "--test-threads", "1"])
            .env(CLIENTS_ENV, spec)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the slow clients");
        let stdout = child.stdout.take().expect("stdout");
        let events = events.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(report) = line.strip_prefix("edge-clients ") {
                    let _ = events.send((k, report.to_owned()));
                }
            }
        });
        children.push(child);
    }
    // Honest requests, one connection each, until both children have opened
    // everything and twenty more were answered.
    let (mut opened, mut closed) = ([None::<(u64, u64)>; 2], [None::<u64>; 2]);
    let (mut answered, mut after_open, mut failures) = (0, 0, Vec::new());
    let mut most_files = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut next_status = tokio::time::Instant::now();
    while closed.iter().any(Option::is_none) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow clients did not finish: opened {opened:?}, closed {closed:?}"
        );
        while let Ok((k, report)) = reports.try_recv() {
            let n: Vec<u64> = report
                .split_whitespace()
                .skip(1)
                .filter_map(|w| w.parse().ok())
                .collect();
            match (report.split_whitespace().next(), n.as_slice()) {
                (Some("opened"), [ok, failed]) => opened[k] = Some((*ok, *failed)),
                (Some("closed"), [n]) => closed[k] = Some(*n),
                (Some("progress"), _) => eprintln!("edge: child {k}: {report}"),
                _ => panic!("child {k}: {report}"),
            }
        }
        most_files = most_files.max(open_files());
        if tokio::time::Instant::now() >= next_status {
            next_status += Duration::from_secs(5);
            eprintln!(
                "edge: opened {opened:?} closed {closed:?} answered {answered} failures {} open files {} (most {most_files})",
                failures.len(),
                open_files()
            );
        }
        if opened.iter().all(Option::is_some) && after_open >= 20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        match ask(&served, Ipv4Addr::LOCALHOST).await {
            Ok(line) if line.starts_with("HTTP/1.1 401") => answered += 1,
            other => failures.push(other),
        }
        if opened.iter().all(Option::is_some) {
            after_open += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for mut child in children {
        let status = child.wait().await.expect("child");
        assert!(status.success(), "a slow client process failed: {status}");
    }
    eprintln!(
        "edge: opened {opened:?}, closed {closed:?}, honest answered {answered}, failed {}, most open files {most_files}",
        failures.len()
    );
    assert!(failures.is_empty(), "honest requests failed: {failures:?}");
    let (ok, failed) = opened
        .iter()
        .flatten()
        .fold((0, 0), |(a, b), (ok, f)| (a + ok, b + f));
    assert_eq!((ok, failed), (20_000, 0), "slow connections opened, failed");
    let closed: u64 = closed.iter().flatten().sum();
    assert_eq!(closed, ok, "slow connections the server closed");
    assert!(
        most_files < CAP + 1_000,
        "the server held {most_files} files with a cap of {CAP} connections"
    );
}

/// The open files of this process (the server's connections among them).
fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// A connection of the slow clients, TLS or not.
trait Duplex: AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Duplex for T {}

/// When a slow client sends its first byte, past every timeout of the test.
const PROBE_AFTER: Duration = Duration::from_secs(20);

/// The child's part: `COUNT` slow connections to `PORT` from 127.0.0.FIRST..+5
/// (one in ten completes its handshake and sends half a request head, the
/// others send nothing until a single byte after [`PROBE_AFTER`]). Prints `opened OK FAILED` once every connection is
/// attempted, then `closed N` once the server closed them all (or after four
/// minutes).
async fn slow_clients(spec: &str) {
    let mut words = spec.splitn(4, ' ');
    let mut number = || -> usize {
        let w = words.next().unwrap_or_default();
        w.parse()
            .unwrap_or_else(|_| panic!("bad {CLIENTS_ENV} `{spec}`"))
    };
    let (port, first, count) = (number(), number(), number());
    let cert = words.next().expect("certificate path");
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port as u16);
    let tls = client_config(std::path::Path::new(cert));
    let gate = Arc::new(tokio::sync::Semaphore::new(200));
    let (tried, ok, closed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let progress = |what: &str| {
        println!(
            "edge-clients progress {what} tried {} ok {} closed {}",
            tried.load(Ordering::SeqCst),
            ok.load(Ordering::SeqCst),
            closed.load(Ordering::SeqCst)
        );
    };
    for i in 0..count {
        if i % 1000 == 0 {
            progress("spawning");
        }
        let from = Ipv4Addr::new(127, 0, 0, (first + i % 5) as u8);
        let (gate, tried, ok, closed, tls) = (
            gate.clone(),
            tried.clone(),
            ok.clone(),
            closed.clone(),
            tls.clone(),
        );
        let permit = gate.acquire_owned().await.expect("gate");
        tokio::spawn(async move {
            let tcp = tokio::time::timeout(PATIENCE, connect(from, server)).await;
            tried.fetch_add(1, Ordering::SeqCst);
            let Ok(Ok(tcp)) = tcp else { return };
            ok.fetch_add(1, Ordering::SeqCst);
            let conn: Box<dyn Duplex> = if i % 10 == 0 {
                let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
                match tokio_rustls::TlsConnector::from(tls)
                    .connect(name, tcp)
                    .await
                {
                    Ok(mut s) => {
                        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: lo").await;
                        let _ = s.flush().await;
                        Box::new(s)
                    }
                    // Closed during the handshake: closed by the server.
                    Err(_) => {
                        closed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
            } else {
                Box::new(tcp)
            };
            drop(permit);
            let (mut rd, mut wr) = tokio::io::split(conn);
            let gone = async {
                let mut buf = [0u8; 256];
                while let Ok(1..) = rd.read(&mut buf).await {}
            };
            // A connection the kernel completed but dropped from a full accept
            // queue was never the server's: it learns so when it sends.
            let probe = async {
                tokio::time::sleep(PROBE_AFTER).await;
                let _ = wr.write_all(b"\x16").await;
                let _ = wr.flush().await;
                std::future::pending::<()>().await
            };
            tokio::select! {
                () = gone => {}
                () = probe => {}
            }
            closed.fetch_add(1, Ordering::SeqCst);
        });
    }
    while tried.load(Ordering::SeqCst) < count as u64 {
        progress("connecting");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let ok = ok.load(Ordering::SeqCst);
    println!("edge-clients opened {ok} {}", count as u64 - ok);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    while closed.load(Ordering::SeqCst) < ok && tokio::time::Instant::now() < deadline {
        progress("waiting");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("edge-clients closed {}", closed.load(Ordering::SeqCst));
}
