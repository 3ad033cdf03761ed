//! The outbox against a real SMTP server on the loopback: STARTTLS with
//! authentication, implicit TLS, header injection through template values, an
//! outage that loses nothing, a crashed attempt retried under a new id, and two
//! workers draining one outbox without sending anything twice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")]

mod smtp_server;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use kernel::App;
use model::{MailAddress, MailAttemptId, MailTemplate};
use notify::{Drained, Mailer, RetryPolicy, Secret, Security, SmtpSettings, drain_outbox};
use smtp_server::{Options, SmtpServer, available, free_port, headers};

const T0: i64 = 1_800_000_000_000;

struct Clock(AtomicI64);

impl kernel::Clock for Clock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct World {
    app: App,
    clock: Arc<Clock>,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("meta.db").display());
        let store = store::Store::connect(&url).await.unwrap();
        let key_dir = dir.path().join("keys");
        let ring = vault::Keyring::init(&key_dir, "k1", [1; 32]).unwrap();
        let blobs = vault::DiskBlobs::open(&dir.path().join("blobs"), kernel::blocking_pool())
            .await
            .unwrap();
        let clock = Arc::new(Clock(AtomicI64::new(T0)));
        let app = App::new(
            store,
            ring,
            key_dir,
            Arc::new(blobs),
            clock.clone(),
            kernel::Settings::default(),
        );
        World { app, clock, dir }
    }

    fn advance(&self, ms: i64) {
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }

    async fn queue(&self, to: &str, template: MailTemplate) {
        let mut tx = self.app.store().begin().await.unwrap();
        let to = MailAddress::parse(to).unwrap();
        kernel::outbox::enqueue(&mut tx, self.app.now(), &to, &template)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn counts(&self) -> store::OutboxCounts {
        let mut tx = self.app.store().read().await.unwrap();
        tx.outbox_counts().await.unwrap()
    }
}

fn note(n: usize) -> MailTemplate {
    MailTemplate::Notification {
        subject: format!("Notice {n}"),
        message: format!("Message number {n}."),
    }
}

fn settings(port: u16, security: Security) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".into(),
        port,
        security,
        credentials: None,
        from: MailAddress::parse("Custody <custody@owner.example>").unwrap(),
        ca_pem: None,
        timeout: Duration::from_secs(10),
    }
}

/// A self-signed certificate for `localhost`, written as (cert, key) files.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = cert.cert.pem();
    let (c, k) = (dir.join("smtp.crt"), dir.join("smtp.key"));
    std::fs::write(&c, &pem).unwrap();
    std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
    (c, k, pem.into_bytes())
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(60),
        max_attempts: 5,
        lease: Duration::from_secs(60),
        batch: 200,
    }
}

fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// `(security, with auth)`: each way of reaching the server delivers one
/// message with a text and an HTML part, to the recipient with its display
/// name, with the attempt id as its Message-ID.
#[tokio::test]
async fn messages_arrive_through_starttls_and_implicit_tls_with_auth() {
    if !available("messages_arrive_through_starttls_and_implicit_tls_with_auth") {
        return;
    }
    install_provider();
    for (security, auth) in [
        (Security::StartTls, true),
        (Security::Tls, true),
        (Security::None, false),
    ] {
        let w = World::new().await;
        let (cert, key, pem) = certificate(w.dir.path());
        let maildir = w.dir.path().join("mail");
        let mut o = Options::default();
        match security {
            Security::StartTls => o.starttls = Some((cert, key)),
            Security::Tls => o.tls = Some((cert, key)),
            Security::None => {}
        }
        if auth {
            o.auth = Some(("custody".into(), "s3cret-pass".into()));
        }
        let server = SmtpServer::start(free_port(), &maildir, &o);
        let mut s = settings(server.port, security);
        s.ca_pem = Some(pem);
        if auth {
            s.credentials = Some(("custody".into(), Secret::new("s3cret-pass".into())));
        }
        let mailer = Mailer::new(&s).unwrap();
        w.queue("\"Lima, Ana\" <ana+drawings@vendor.example>", note(1))
            .await;
        let done = drain_outbox(&w.app, &mailer, &policy()).await.unwrap();
        let listed = w
            .app
            .store()
            .read()
            .await
            .unwrap()
            .list_outbox(1)
            .await
            .unwrap();
        assert_eq!(
            done,
            Drained {
                sent: 1,
                retried: 0,
                failed: 0
            },
            "{security:?}: {:?}",
            listed[0].last_error
        );
        let got = server.messages();
        assert_eq!(got.len(), 1, "{security:?}");
        let m = &got[0];
        assert_eq!(headers(m, "X-Envelope-To"), ["ana+drawings@vendor.example"]);
        assert_eq!(headers(m, "Subject"), ["Notice 1"]);
        // The name, with its comma, as an RFC 2047 encoded word ("Lima, Ana").
        assert_eq!(
            headers(m, "To"),
            ["=?utf-8?b?TGltYSwgQW5h?= <ana+drawings@vendor.example>"]
        );
        assert!(m.contains("multipart/alternative"), "{m}");
        assert!(m.contains("text/plain") && m.contains("text/html"), "{m}");
        assert!(m.contains("<p>Message number 1.</p>"), "{m}");
        let id = headers(m, "Message-ID").pop().unwrap();
        let mut tx = w.app.store().read().await.unwrap();
        let sent = tx.list_outbox(10).await.unwrap();
        let attempts = tx.mail_attempts(sent[0].id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(id, format!("<{}@owner.example>", attempts[0].0));
        assert_eq!(w.counts().await.sent, 1);
    }
}

/// A wrong password is not given up on: the admin may fix it, so the message
/// waits for the next attempt.
#[tokio::test]
async fn a_wrong_password_is_retried_not_lost() {
    if !available("a_wrong_password_is_retried_not_lost") {
        return;
    }
    install_provider();
    let w = World::new().await;
    let (cert, key, pem) = certificate(w.dir.path());
    let o = Options {
        starttls: Some((cert, key)),
        auth: Some(("custody".into(), "right".into())),
        ..Options::default()
    };
    let server = SmtpServer::start(free_port(), &w.dir.path().join("mail"), &o);
    let mut s = settings(server.port, Security::StartTls);
    s.ca_pem = Some(pem);
    s.credentials = Some(("custody".into(), Secret::new("wrong".into())));
    w.queue("ana@vendor.example", note(1)).await;
    let done = drain_outbox(&w.app, &Mailer::new(&s).unwrap(), &policy())
        .await
        .unwrap();
    assert_eq!(
        done,
        Drained {
            sent: 0,
            retried: 1,
            failed: 0
        }
    );
    s.credentials = Some(("custody".into(), Secret::new("right".into())));
    w.advance(10_000);
    let done = drain_outbox(&w.app, &Mailer::new(&s).unwrap(), &policy())
        .await
        .unwrap();
    assert_eq!(
        done,
        Drained {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
    assert_eq!(server.messages().len(), 1);
}

/// Names typed by users (a sender's name, a file name) reach the subject and
/// the body; line breaks in them cannot add a header or a recipient.
#[tokio::test]
async fn header_injection_through_template_names_is_impossible() {
    if !available("header_injection_through_template_names_is_impossible") {
        return;
    }
    let w = World::new().await;
    let server = SmtpServer::start(free_port(), &w.dir.path().join("mail"), &Options::default());
    let mailer = Mailer::new(&settings(server.port, Security::None)).unwrap();
    for (sender, file) in [
        ("Eve\r\nBcc: victim@evil.example", "plan.pdf"),
        (
            "Eve",
            "plan.pdf\r\nBcc: victim@evil.example\r\n\r\nforged body",
        ),
        ("Eve", "plan.pdf\nCc: victim@evil.example"),
        ("Eve", "plan.pdf\u{2028}Reply-To: victim@evil.example"),
    ] {
        let template = MailTemplate::LinkCode {
            sender: sender.into(),
            file: file.into(),
            code: "482910".into(),
            minutes: 15,
        };
        w.queue("ana@vendor.example", template).await;
    }
    let done = drain_outbox(&w.app, &mailer, &policy()).await.unwrap();
    assert_eq!(done.sent, 4);
    let got = server.messages();
    assert_eq!(got.len(), 4);
    for m in &got {
        assert_eq!(headers(m, "X-Envelope-To"), ["ana@vendor.example"], "{m}");
        for h in ["Bcc", "Cc", "Reply-To"] {
            assert!(headers(m, h).is_empty(), "{h} in {m}");
        }
        assert_eq!(headers(m, "Subject").len(), 1, "{m}");
        assert!(m.contains("482910"), "{m}");
    }
    assert!(
        got.iter()
            .any(|m| headers(m, "Subject")[0].contains("plan.pdf Bcc: victim@evil.example"))
    );
    // A recipient whose name or address holds a line break is refused before
    // anything is queued.
    for raw in [
        "Ana\r\nBcc: victim@evil.example <ana@vendor.example>",
        "ana@vendor.example\r\nBcc: victim@evil.example",
    ] {
        assert!(MailAddress::parse(raw).is_err(), "{raw}");
    }
}

/// With the SMTP server down, messages wait and are attempted again later
/// with growing delays; once it is back, each arrives exactly once.
#[tokio::test]
async fn an_outage_loses_nothing_and_sends_nothing_twice() {
    if !available("an_outage_loses_nothing_and_sends_nothing_twice") {
        return;
    }
    let w = World::new().await;
    let port = free_port();
    let mailer = Mailer::new(&settings(port, Security::None)).unwrap();
    for n in 0..10 {
        w.queue("ana@vendor.example", note(n)).await;
    }
    let done = drain_outbox(&w.app, &mailer, &policy()).await.unwrap();
    assert_eq!(
        done,
        Drained {
            sent: 0,
            retried: 10,
            failed: 0
        }
    );
    // Not due again before the first delay.
    w.advance(9_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap(),
        Drained::default()
    );
    w.advance(1_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy())
            .await
            .unwrap()
            .retried,
        10
    );
    // The second delay is twice the first.
    w.advance(19_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap(),
        Drained::default()
    );
    let server = SmtpServer::start(port, &w.dir.path().join("mail"), &Options::default());
    w.advance(1_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap().sent,
        10
    );
    w.advance(3_600_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap(),
        Drained::default()
    );
    let subjects: Vec<String> = server
        .messages()
        .iter()
        .map(|m| headers(m, "Subject")[0].clone())
        .collect();
    let unique: HashSet<&String> = subjects.iter().collect();
    assert_eq!((subjects.len(), unique.len()), (10, 10), "{subjects:?}");
    assert_eq!(
        w.counts().await,
        store::OutboxCounts {
            waiting: 0,
            sent: 10,
            failed: 0
        }
    );
}

/// After the last attempt the message is given up on, with a `mail.fail` event.
#[tokio::test]
async fn the_last_failed_attempt_gives_up_with_an_event() {
    let w = World::new().await;
    let mailer = Mailer::new(&settings(free_port(), Security::None)).unwrap();
    w.queue("ana@vendor.example", note(1)).await;
    let p = RetryPolicy {
        max_attempts: 2,
        ..policy()
    };
    assert_eq!(drain_outbox(&w.app, &mailer, &p).await.unwrap().retried, 1);
    w.advance(10_000);
    assert_eq!(drain_outbox(&w.app, &mailer, &p).await.unwrap().failed, 1);
    assert_eq!(
        w.counts().await,
        store::OutboxCounts {
            waiting: 0,
            sent: 0,
            failed: 1
        }
    );
    let filter = kernel::events::EventFilter {
        action: Some("mail.fail".into()),
        limit: 10,
        ..Default::default()
    };
    let mut tx = w.app.store().read().await.unwrap();
    assert_eq!(tx.search_events(&filter).await.unwrap().len(), 1);
}

/// An attempt that claimed a message and never finished (the process died)
/// holds it until its lease ends; the next attempt has a new id and sends it.
#[tokio::test]
async fn a_crashed_attempt_is_retried_under_a_new_id() {
    if !available("a_crashed_attempt_is_retried_under_a_new_id") {
        return;
    }
    let w = World::new().await;
    let server = SmtpServer::start(free_port(), &w.dir.path().join("mail"), &Options::default());
    let mailer = Mailer::new(&settings(server.port, Security::None)).unwrap();
    w.queue("ana@vendor.example", note(1)).await;
    let id = {
        let mut tx = w.app.store().read().await.unwrap();
        tx.due_mail(w.app.now(), 10).await.unwrap()[0]
    };
    let crashed = MailAttemptId::from_random([9; 16]);
    let mut tx = w.app.store().begin().await.unwrap();
    let now = w.app.now();
    assert!(
        tx.claim_mail(id, crashed, now, now + 60_000)
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap(),
        Drained::default()
    );
    w.advance(60_000);
    assert_eq!(
        drain_outbox(&w.app, &mailer, &policy()).await.unwrap().sent,
        1
    );
    // The crashed attempt can no longer record an outcome.
    let mut tx = w.app.store().begin().await.unwrap();
    let late = tx
        .finish_mail_attempt(id, crashed, w.app.now(), store::AttemptOutcome::Sent, None)
        .await
        .unwrap();
    assert!(!late);
    let attempts = tx.mail_attempts(id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_ne!(attempts[0].0, attempts[1].0);
    let m = &server.messages()[0];
    assert!(!headers(m, "Message-ID")[0].contains(&crashed.to_string()));
}

/// Two workers draining one outbox at once send every message exactly once.
#[tokio::test]
async fn two_workers_send_each_message_once() {
    if !available("two_workers_send_each_message_once") {
        return;
    }
    let w = World::new().await;
    let server = SmtpServer::start(free_port(), &w.dir.path().join("mail"), &Options::default());
    let mailer = Mailer::new(&settings(server.port, Security::None)).unwrap();
    for n in 0..30 {
        w.queue("ana@vendor.example", note(n)).await;
    }
    let p = policy();
    let (a, b) = tokio::join!(
        drain_outbox(&w.app, &mailer, &p),
        drain_outbox(&w.app, &mailer, &p)
    );
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 30);
    let subjects: HashSet<String> = server
        .messages()
        .iter()
        .map(|m| headers(m, "Subject")[0].clone())
        .collect();
    assert_eq!((server.messages().len(), subjects.len()), (30, 30));
}
