//! The forwarder against real destinations: Debian's rsyslogd (imtcp, plain
//! and GnuTLS) parsing what it receives as RFC 5424 (its `mmpstrucdata`
//! module unescapes the structured data), a JSON-lines file across a restart,
//! and a collector that is down while events are recorded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::*;
use serde_json::Value;

use super::*;
use kernel::authz::{Action, Principal};
use kernel::events::{Fact, RequestMeta, record};

/// 2023-11-14T22:13:20.000Z
const T0: i64 = 1_700_000_000_000;
/// A target with every character RFC 5424 makes us escape, and a non-ASCII one.
const HOSTILE: &str = "file:a\"b\\c]d é";

struct At(i64);

impl kernel::Clock for At {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

async fn app(dir: &Path) -> App {
    let url = format!("sqlite://{}", dir.join("meta.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let key_dir = dir.join("keys");
    let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
    let blobs = vault::DiskBlobs::open(&dir.join("blobs"), kernel::blocking_pool())
        .await
        .unwrap();
    App::new(
        store,
        ring,
        key_dir,
        Arc::new(blobs),
        Arc::new(At(T0)),
        kernel::Settings::default(),
    )
    .with_ledger_signer("test.example/ledger", [7; 32])
    .unwrap()
}

fn actor() -> Principal {
    Principal {
        user_id: UserId::from_random([1; 16]),
        email: "a@example.com".into(),
        party_id: PartyId::from_random([2; 16]),
        party_kind: PartyKind::External,
        party_status: PartyStatus::Active,
        system_role: SystemRole::Member,
        disabled: false,
        mfa_required: false,
        mfa: true,
        training_until_ms: None,
        certified_until_ms: None,
        tier: None,
        tier_until_ms: None,
    }
}

/// Records event number `i` (1-based) at `T0 + (i - 1) * 1001` ms: every
/// third one allowed, then denied, then an integrity failure.
async fn record_event(app: &App, i: i64) {
    let actor = actor();
    let target = format!("{HOSTILE} #{i}");
    let fact = match i % 3 {
        1 => Fact::allowed(Some(&actor), Action::FileView, target),
        2 => Fact::denied(Some(&actor), Action::FileDownload, target, "no_grant"),
        _ => Fact::denied(
            Some(&actor),
            Action::FileDownload,
            target,
            "integrity_error",
        ),
    };
    let meta = RequestMeta {
        source_addr: Some("192.0.2.7".into()),
        user_agent: Some("agent ]\"\\".into()),
        request_id: Some(format!("req-{i}")),
        via: None,
        upload_via: None,
    };
    let mut tx = app.store().begin().await.unwrap();
    record(&mut tx, &meta, T0 + (i - 1) * 1001, fact)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn options() -> ForwarderOptions {
    ForwarderOptions {
        batch: 2,
        poll: Duration::from_millis(20),
        min_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

fn origin() -> Origin {
    Origin {
        hostname: "node1.example".into(),
        procid: "4242".into(),
        facility: Facility::AUTHPRIV,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The lines of `path` once there are `n` of them (waits up to 30 s).
async fn lines(path: &Path, n: usize, context: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{context}: {} of {n} lines in `{}`:\n{text}",
            lines.len(),
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An rsyslogd of our own on a loopback port, writing each message it
/// received as one JSON object of the fields *it* parsed.
struct Rsyslog {
    child: Child,
    out: PathBuf,
    log: PathBuf,
}

impl Rsyslog {
    /// `tls`: `(ca, cert, key)` PEM files for the gtls driver.
    fn start(dir: &Path, port: u16, tls: Option<(&Path, &Path, &Path)>) -> Rsyslog {
        std::fs::create_dir_all(dir).unwrap();
        let out = dir.join("received.jsonl");
        let (global_tls, driver) = match tls {
            Some((ca, cert, key)) => (
                format!(
                    "defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" \
                     defaultNetstreamDriverKeyFile=\"{}\"",
                    ca.display(),
                    cert.display(),
                    key.display()
                ),
                "streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\"",
            ),
            None => (String::new(), ""),
        };
        let conf = format!(
            r#"global(workDirectory="{dir}" maxMessageSize="64k" {global_tls})
module(load="imtcp" {driver})
module(load="mmpstrucdata")
template(name="fields" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="sd" name="$!rfc5424-sd" format="jsonf")
}}
ruleset(name="in") {{
  action(type="mmpstrucdata")
  action(type="omfile" file="{out}" template="fields")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="in")
"#,
            dir = dir.display(),
            out = out.display(),
        );
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = dir.join("rsyslogd.log");
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("rsyslogd.err")).unwrap(),
            ))
            .spawn()
            .expect("rsyslogd (Debian package `rsyslog`, plus `rsyslog-gnutls` for TLS)");
        Rsyslog { child, out, log }
    }

    async fn received(&self, n: usize) -> Vec<Received> {
        let context = std::fs::read_to_string(&self.log).unwrap_or_default();
        lines(&self.out, n, &context)
            .await
            .iter()
            .map(|l| Received::parse(l))
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as rsyslogd parsed it.
#[derive(Debug)]
struct Received {
    fields: Value,
    /// The parameters of our SD-ELEMENT, unescaped by rsyslog.
    params: Value,
}

impl Received {
    fn parse(line: &str) -> Received {
        let fields: Value = serde_json::from_str(line).unwrap();
        let sd: Value = serde_json::from_str(fields["sd"].as_str().unwrap()).unwrap();
        let params = sd["custody@32473"].clone();
        assert!(params.is_object(), "no custody@32473 element in {line}");
        Received { fields, params }
    }

    fn field(&self, name: &str) -> &str {
        self.fields[name].as_str().unwrap_or_default()
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params[name].as_str()
    }
}

/// What event `i` must look like once received (values written by hand).
fn check_received(got: &Received, i: i64, hostname: &str, procid: &str) {
    let (pri, msgid, reason) = match i % 3 {
        1 => ("86", "file.view", None), // authpriv 10 * 8 + informational 6
        2 => ("84", "file.download", Some("no_grant")), // + warning 4
        _ => ("81", "file.download", Some("integrity_error")), // + alert 1
    };
    let times = [
        "2023-11-14T22:13:20.000Z",
        "2023-11-14T22:13:21.001Z",
        "2023-11-14T22:13:22.002Z",
        "2023-11-14T22:13:23.003Z",
        "2023-11-14T22:13:24.004Z",
        "2023-11-14T22:13:25.005Z",
        "2023-11-14T22:13:26.006Z",
    ];
    let header = [
        got.field("pri"),
        got.field("version"),
        got.field("time"),
        got.field("hostname"),
        got.field("app"),
        got.field("procid"),
        got.field("msgid"),
    ];
    let time = times[usize::try_from(i - 1).unwrap()];
    assert_eq!(
        header,
        [pri, "1", time, hostname, "custody", procid, msgid],
        "{got:?}"
    );
    let target = format!("{HOSTILE} #{i}");
    let seq = i.to_string();
    let index = (i - 1).to_string();
    let request = format!("req-{i}");
    let params = [
        ("seq", Some(seq.as_str())),
        ("ledger_index", Some(index.as_str())),
        ("actor", Some("01010101-0101-4101-8101-010101010101")),
        ("party", Some("02020202-0202-4202-8202-020202020202")),
        ("target", Some(target.as_str())),
        (
            "outcome",
            Some(if reason.is_some() {
                "denied"
            } else {
                "allowed"
            }),
        ),
        ("reason", reason),
        ("request_id", Some(request.as_str())),
        ("source", Some("192.0.2.7")),
        ("user_agent", Some("agent ]\"\\")),
        ("mark_id", None),
    ];
    for (name, want) in params {
        assert_eq!(got.param(name), want, "param `{name}` of {got:?}");
    }
    let outcome = if reason.is_some() {
        "denied"
    } else {
        "allowed"
    };
    let mut msg = format!("{outcome} {msgid} on file:a\"b\\c]d ? #{i}");
    if let Some(reason) = reason {
        msg.push_str(&format!(" ({reason})"));
    }
    assert_eq!(got.field("msg"), msg);
}

fn syslog_sink(port: u16, scheme: &str, trust: Option<&Trust>) -> Sink {
    let url = SyslogUrl::parse(&format!("{scheme}://127.0.0.1:{port}")).unwrap();
    Sink::syslog(url, trust, origin()).unwrap()
}

#[tokio::test]
async fn rsyslog_parses_what_is_sent_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    for i in 1..=3 {
        record_event(&app, i).await;
    }
    let port = free_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), port, None);
    let forwarder = Forwarder::new(
        &app,
        syslog_sink(port, "tcp", None),
        &dir.path().join("state"),
        options(),
    )
    .unwrap()
    .spawn();
    let received = rsyslog.received(3).await;
    forwarder.abort();
    for (i, got) in (1..).zip(&received) {
        check_received(got, i, "node1.example", "4242");
    }
}

/// A CA and a leaf for `127.0.0.1` signed by it: `(ca.pem, cert.pem, key.pem, leaf DER)`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    (paths.0, paths.1, paths.2, leaf.der().to_vec())
}

#[tokio::test]
async fn rsyslog_parses_what_is_sent_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    for i in 1..=3 {
        record_event(&app, i).await;
    }
    let (ca, cert, key, leaf) = certificates(&dir.path().join("pki"));
    let port = free_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), port, Some((&ca, &cert, &key)));

    // Trusting the CA file.
    let by_ca = Trust::CaFile(ca.clone());
    let forwarder = Forwarder::new(
        &app,
        syslog_sink(port, "tls", Some(&by_ca)),
        &dir.path().join("s1"),
        options(),
    )
    .unwrap()
    .spawn();
    let received = rsyslog.received(3).await;
    forwarder.abort();
    for (i, got) in (1..).zip(&received) {
        check_received(got, i, "node1.example", "4242");
    }

    // Pinning the leaf's fingerprint (computed here, independently).
    let pin: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &leaf)
        .as_ref()
        .try_into()
        .unwrap();
    let mut pinned = Forwarder::new(
        &app,
        syslog_sink(port, "tls", Some(&Trust::Fingerprint(pin))),
        &dir.path().join("s2"),
        options(),
    )
    .unwrap();
    assert_eq!(pinned.step().await.unwrap(), 2);
    assert_eq!(pinned.step().await.unwrap(), 1);
    let received = rsyslog.received(6).await;
    for (i, got) in (1..).zip(&received[3..]) {
        check_received(got, i, "node1.example", "4242");
    }

    // A wrong pin, or a CA that did not sign the leaf: nothing is sent.
    let (other_ca, ..) = certificates(&dir.path().join("other"));
    let wrong = [Trust::Fingerprint([0; 32]), Trust::CaFile(other_ca)];
    for (n, trust) in wrong.iter().enumerate() {
        let state = dir.path().join(format!("wrong{n}"));
        let mut f = Forwarder::new(
            &app,
            syslog_sink(port, "tls", Some(trust)),
            &state,
            options(),
        )
        .unwrap();
        let err = format!("{:?}", f.step().await.unwrap_err());
        assert!(err.contains("siem_tls"), "{trust:?}: {err}");
        assert_eq!(f.cursor(), 0);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rsyslog.received(6).await.len(), 6);
}

#[tokio::test]
async fn json_file_gets_every_event_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let out = dir.path().join("events.jsonl");
    let state = dir.path().join("state");
    let cursor = state.join("json.cursor");
    for i in 1..=5 {
        record_event(&app, i).await;
    }
    let first = Forwarder::new(
        &app,
        Sink::json(JsonTarget::File(out.clone())),
        &state,
        options(),
    )
    .unwrap()
    .spawn();
    lines(&out, 5, "first run").await;
    wait_for_file(&cursor, "custody-siem-cursor/1 5\n").await;
    first.abort();
    let _ = first.await;

    record_event(&app, 6).await;
    record_event(&app, 7).await;
    let second = Forwarder::new(
        &app,
        Sink::json(JsonTarget::File(out.clone())),
        &state,
        options(),
    )
    .unwrap();
    assert_eq!(second.cursor(), 5);
    let second = second.spawn();
    lines(&out, 7, "second run").await;
    wait_for_file(&cursor, "custody-siem-cursor/1 7\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    second.abort();

    let got: Vec<Value> = lines(&out, 7, "end")
        .await
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<i64> = got.iter().map(|v| v["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
    let indices: Vec<u64> = got
        .iter()
        .map(|v| v["ledger_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(got[2]["severity"], "alert");
    assert_eq!(got[2]["time"], "2023-11-14T22:13:22.002Z");
    assert_eq!(got[1]["target"], "file:a\"b\\c]d é #2");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

async fn wait_for_file(path: &Path, want: &str) {
    let start = Instant::now();
    while std::fs::read_to_string(path).unwrap_or_default() != want {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "`{}` never became {want:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn events_recorded_while_the_collector_is_down_arrive_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let port = free_port();
    let state = dir.path().join("state");
    let forwarder = Forwarder::new(&app, syslog_sink(port, "tcp", None), &state, options())
        .unwrap()
        .spawn();
    // Nothing listens: recording goes on, and stays quick.
    let start = Instant::now();
    for i in 1..=3 {
        record_event(&app, i).await;
    }
    let recording = start.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !state.join("syslog.cursor").exists(),
        "a cursor moved with no collector"
    );
    assert!(
        recording < Duration::from_secs(5),
        "recording took {recording:?}"
    );

    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), port, None);
    record_event(&app, 4).await;
    let received = rsyslog.received(4).await;
    for (i, got) in (1..).zip(&received) {
        check_received(got, i, "node1.example", "4242");
    }
    wait_for_file(&state.join("syslog.cursor"), "custody-siem-cursor/1 4\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rsyslog.received(4).await.len(),
        4,
        "an event was sent twice"
    );
    forwarder.abort();
}

#[test]
fn cursor_files() {
    fn check(text: &str, want: Option<i64>) {
        assert_eq!(parse_cursor(text), want, "{text:?}");
    }
    let table = [
        ("custody-siem-cursor/1 0\n", Some(0)),
        ("custody-siem-cursor/1 1234\n", Some(1234)),
        ("custody-siem-cursor/1 1234", None),
        ("custody-siem-cursor/1 -1\n", None),
        ("custody-siem-cursor/1 +1\n", None),
        ("custody-siem-cursor/2 1\n", None),
        ("1234\n", None),
        ("", None),
    ];
    for (text, want) in table {
        check(text, want);
    }
}
