//! The outbox loses nothing and sends nothing twice across a crash and an
//! SMTP outage: the real `custody serve` queues 100 one-time codes of a share
//! link while its SMTP server is down (each attempt fails and is scheduled
//! again), is SIGKILLed; the SMTP server (aiosmtpd) is started and the server
//! restarted on the same data directory: all 100 messages arrive, each once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::smtp_server::{self, Options, SmtpServer};
use crate::util::*;

const MESSAGES: usize = 100;
const RECIPIENT: &str = "ana+drawings@vendor.example";

/// The mail settings of the server under test: the SMTP server on `port`.
fn mail_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("CUSTODY_SMTP_HOST", "127.0.0.1".into()),
        ("CUSTODY_SMTP_PORT", port.to_string()),
        ("CUSTODY_SMTP_SECURITY", "none".into()),
        (
            "CUSTODY_SMTP_FROM",
            "Custody <custody@owner.example>".into(),
        ),
        ("CUSTODY_SMTP_TIMEOUT_SECONDS", "2".into()),
        ("CUSTODY_MAIL_RETRY_SECONDS", "1".into()),
        ("CUSTODY_MAIL_POLL_SECONDS", "1".into()),
    ]
}

/// A JSON call as the admin; the answer must be `want`.
async fn call(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
    want: u16,
) -> Value {
    let url = format!("{}/api/v1{path}", server.url);
    let req = raw_http()
        .request(method.parse().unwrap(), url)
        .bearer_auth(token);
    let req = if body.is_null() { req } else { req.json(&body) };
    let answer = req.send().await.unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    assert_eq!(status, want, "{method} {path}: {body}");
    body
}

#[tokio::test]
async fn an_smtp_outage_and_a_sigkill_lose_no_mail_and_send_none_twice() {
    if !smtp_server::available("an_smtp_outage_and_a_sigkill_lose_no_mail_and_send_none_twice") {
        return;
    }
    let scratch = Scratch::new();
    let port = smtp_server::free_port();
    let server = scratch.serve_with(&mail_env(port));
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let room = admin.create_room("drawings", "internal").await.unwrap();
    let sample = scratch.path("bracket.txt");
    std::fs::write(&sample, b"bracket drawing\n").unwrap();
    let file = admin
        .put_file(&room.id, "bracket.txt", &sample, client::Progress::Hidden)
        .await
        .unwrap();
    let me = call(&server, &token, "GET", "/auth/me", Value::Null, 200).await;
    let grant = json!({"subject_kind": "user", "subject_id": me["id"], "role": "manager", "reason": "shares drawings"});
    call(
        &server,
        &token,
        "POST",
        &format!("/rooms/{}/grants", room.id),
        grant,
        201,
    )
    .await;
    let link = json!({"recipients": [RECIPIENT]});
    let link = call(
        &server,
        &token,
        "POST",
        &format!("/files/{}/links", file.id),
        link,
        201,
    )
    .await;
    let address = format!("{}{}/address", server.url, link["path"].as_str().unwrap());
    // 100 codes asked while no SMTP server listens: each one queued.
    let http = raw_http();
    for _ in 0..MESSAGES {
        let answer = http
            .post(&address)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "email={}",
                RECIPIENT.replace('+', "%2B").replace('@', "%40")
            ))
            .send()
            .await
            .unwrap();
        // Redirected to the link's page (which the client follows).
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    // Let the worker fail at least once on the closed port, then crash.
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill();

    let smtp = SmtpServer::start(port, &scratch.path("mail"), &Options::default());
    let server = scratch.serve_with(&mail_env(port));
    let deadline = Instant::now() + Duration::from_secs(120);
    while smtp.messages().len() < MESSAGES {
        assert!(
            Instant::now() < deadline,
            "{} of {MESSAGES} messages arrived",
            smtp.messages().len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Give a duplicate time to show.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = smtp.messages();
    // Each queued message (its outbox id) once, each attempt (its Message-ID) once.
    let distinct = |header: &str| -> BTreeSet<String> {
        received
            .iter()
            .map(|m| smtp_server::headers(m, header).pop().unwrap_or_default())
            .collect()
    };
    let (messages, attempts) = (distinct("X-Custody-Message"), distinct("Message-ID"));
    assert_eq!(
        (received.len(), messages.len(), attempts.len()),
        (MESSAGES, MESSAGES, MESSAGES)
    );
    for m in &received {
        assert_eq!(smtp_server::headers(m, "X-Envelope-To"), [RECIPIENT]);
    }
    server.stop().await;
}
