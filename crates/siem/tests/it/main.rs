//! The sinks against real sockets and files: octet-counted frames as a
//! collector reads them off a TCP connection, reconnection after the collector
//! closed the connection between batches, and the appended JSON-lines file.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests may unwrap")]

use std::os::unix::fs::PermissionsExt;

use model::{Event, Outcome};
use siem::{Facility, Item, JsonTarget, Origin, Sink, SyslogUrl};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

fn event(seq: i64, target: &str) -> Event {
    Event {
        seq,
        time_ms: 1_700_000_000_000,
        actor_user: None,
        actor_party: None,
        action: "auth.login".into(),
        target: target.into(),
        outcome: Outcome::Denied,
        reason: Some("bad_password".into()),
        source_addr: None,
        user_agent: None,
        request_id: None,
        mark_id: None,
        detail: serde_json::Value::Null,
    }
}

fn items(events: &[Event]) -> Vec<Item<'_>> {
    events
        .iter()
        .map(|event| Item {
            event,
            ledger_index: None,
        })
        .collect()
}

/// Reads `n` octet-counted frames (`LEN SP MSG`) the way a collector does.
async fn frames(conn: &mut TcpStream, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut len = Vec::new();
        loop {
            let b = conn.read_u8().await.unwrap();
            if b == b' ' {
                break;
            }
            assert!(b.is_ascii_digit() && len.len() < 9, "bad MSG-LEN byte {b}");
            len.push(b);
        }
        assert_ne!(len.first(), Some(&b'0'), "MSG-LEN has a leading zero");
        let len: usize = String::from_utf8(len).unwrap().parse().unwrap();
        let mut msg = vec![0; len];
        conn.read_exact(&mut msg).await.unwrap();
        out.push(String::from_utf8(msg).unwrap());
    }
    out
}

fn origin() -> Origin {
    Origin {
        hostname: "h".into(),
        procid: "1".into(),
        facility: Facility::parse("auth").unwrap(),
    }
}

#[tokio::test]
async fn tcp_frames_are_octet_counted_and_survive_a_collector_restart() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = SyslogUrl::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let mut sink = Sink::syslog(url, None, origin()).unwrap();

    // A target with a newline and multi-byte characters: the frame counts octets.
    let first = [event(1, "user:é\nx"), event(2, "user:b")];
    sink.send(&items(&first)).await.unwrap();
    let (mut conn, _) = listener.accept().await.unwrap();
    let got = frames(&mut conn, 2).await;
    assert!(
        got[0].starts_with("<36>1 2023-11-14T22:13:20.000Z h custody 1 auth.login "),
        "{}",
        got[0]
    );
    assert!(got[0].contains("target=\"user:é\nx\""), "{}", got[0]);
    assert!(got[1].contains("seq=\"2\""), "{}", got[1]);

    // The collector goes away between batches: the next batch is not written
    // into the dead connection but sent on a new one.
    drop(conn);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let second = [event(3, "user:c")];
    sink.send(&items(&second)).await.unwrap();
    let wait = std::time::Duration::from_secs(5);
    let (mut conn, _) = tokio::time::timeout(wait, listener.accept())
        .await
        .expect("the batch went into the dead connection: no reconnection")
        .unwrap();
    let got = frames(&mut conn, 1).await;
    assert!(got[0].contains("seq=\"3\""), "{}", got[0]);
}

#[tokio::test]
async fn a_closed_port_is_a_transient_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = SyslogUrl::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let mut sink = Sink::syslog(url, None, origin()).unwrap();
    let events = [event(1, "x")];
    let err = sink.send(&items(&events)).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(err.code(), "siem_io");
    assert!(
        err.to_string().contains(&format!("tcp://127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn tls_needs_a_trust_choice() {
    let url = SyslogUrl::parse("tls://127.0.0.1").unwrap();
    let err = Sink::syslog(url, None, origin()).err().unwrap();
    assert_eq!(err.code(), "siem_invalid_url");
}

#[tokio::test]
async fn json_file_is_appended_per_batch_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut sink = Sink::json(JsonTarget::File(path.clone()));
    let a = [event(1, "a"), event(2, "b")];
    let b = [event(3, "c")];
    sink.send(&items(&a)).await.unwrap();
    sink.send(&items(&b)).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let seqs: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
