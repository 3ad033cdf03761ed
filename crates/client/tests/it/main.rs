//! Integration tests of the client against a real HTTPS server of the tests' own
//! (self-signed certificate, real TLS): trust modes, error mapping and transfers.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

mod server;

use std::path::Path;

use client::{Client, ClientError, FileId, Progress, RoomId, Trust};
use server::{TOKEN, TestServer};

fn client_for(server: &TestServer, trust: Trust, token: Option<&str>) -> Client {
    Client::new(&server.url(), trust, token.map(str::to_owned)).unwrap()
}

fn pinned(server: &TestServer, token: Option<&str>) -> Client {
    client_for(server, Trust::Fingerprint(server.fingerprint()), token)
}

/// The file names in a directory, to prove no temporary file is left behind.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn trust_modes_connect_or_refuse() {
    let server = TestServer::start().await;
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let own_ca = dir.path().join("own.pem");
    std::fs::write(&own_ca, &server.cert_pem).unwrap();
    let other_ca = dir.path().join("other.pem");
    std::fs::write(&other_ca, other.cert.pem()).unwrap();
    let localhost = format!("https://localhost:{}", server.addr.port());
    let mut wrong_pin = server.fingerprint();
    wrong_pin[0] ^= 1;

    let cases: Vec<(&str, String, Trust, Result<(), &str>)> = vec![
        (
            "pinned",
            server.url(),
            Trust::Fingerprint(server.fingerprint()),
            Ok(()),
        ),
        (
            "wrong pin",
            server.url(),
            Trust::Fingerprint(wrong_pin),
            Err("fingerprint_mismatch"),
        ),
        (
            "ca file by ip",
            server.url(),
            Trust::CaFile(own_ca.clone()),
            Ok(()),
        ),
        ("ca file by name", localhost, Trust::CaFile(own_ca), Ok(())),
        (
            "other ca",
            server.url(),
            Trust::CaFile(other_ca),
            Err("untrusted_certificate"),
        ),
    ];
    for (name, url, trust, expected) in cases {
        let client = Client::new(&url, trust, None).unwrap();
        let got = client.login("ann@example.org", "right", None).await;
        match (got, expected) {
            (Ok(login), Ok(())) => assert_eq!(login.token, TOKEN, "{name}"),
            (Err(err), Err(code)) => assert_eq!(err.code(), code, "{name}: {err}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[tokio::test]
async fn wrong_pin_names_the_presented_fingerprint() {
    let server = TestServer::start().await;
    let client = client_for(&server, Trust::Fingerprint([7; 32]), None);
    let err = client
        .login("ann@example.org", "right", None)
        .await
        .unwrap_err();
    assert!(err.is_trust_failure());
    let shown = client::format_fingerprint(&server.fingerprint());
    assert!(
        matches!(&err, ClientError::FingerprintMismatch { actual } if *actual == shown),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_ca_file_is_reported() {
    let err = Client::new(
        "https://127.0.0.1:1",
        Trust::CaFile("/nonexistent/ca.pem".into()),
        None,
    )
    .unwrap_err();
    assert_eq!(err.code(), "ca_file");
}

#[tokio::test]
async fn fetch_fingerprint_returns_the_leaf_digest() {
    let server = TestServer::start().await;
    let fp = client::fetch_fingerprint(&server.url()).await.unwrap();
    assert_eq!(fp, server.fingerprint());
}

#[tokio::test]
async fn api_errors_carry_the_server_code() {
    let server = TestServer::start().await;
    let anonymous = pinned(&server, None);
    let cases = [
        (
            "bad password",
            anonymous
                .login("ann@example.org", "wrong", None)
                .await
                .map(drop),
            401,
            "invalid_credentials",
        ),
        (
            "no token",
            anonymous.list_rooms().await.map(drop),
            401,
            "unauthenticated",
        ),
        (
            "non-json error",
            anonymous.get_room(&RoomId::from("r1")).await.map(drop),
            404,
            "not_found",
        ),
    ];
    for (name, got, want_status, want_code) in cases {
        match got {
            Err(ClientError::Api { status, code, .. }) => {
                assert_eq!((status, code.as_str()), (want_status, want_code), "{name}");
            }
            other => panic!("{name}: got {other:?}"),
        }
    }
}

#[tokio::test]
async fn token_is_sent_as_bearer() {
    let server = TestServer::start().await;
    let rooms = pinned(&server, Some(TOKEN)).list_rooms().await.unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].id, RoomId::from("r1"));
    assert_eq!(rooms[0].role, None);
}

/// Download `id` over an existing `out` holding `old`; check the result and that
/// only `out` remains in the directory.
async fn check_download(client: &Client, id: &str, expected: Result<(), &str>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    std::fs::write(&out, b"old").unwrap();
    let got = client
        .get_file(&FileId::from(id), &out, Progress::Hidden)
        .await;
    let after = std::fs::read(&out).unwrap();
    match (got, expected) {
        (Ok(info), Ok(())) => {
            assert_eq!(after, server::content(), "{id}");
            assert_eq!(info.size, after.len() as u64, "{id}");
        }
        (Err(err), Err(code)) => {
            assert_eq!(err.code(), code, "{id}: {err}");
            assert_eq!(after, b"old", "{id}: the old file must stay untouched");
        }
        (got, want) => panic!("{id}: got {got:?}, want {want:?}"),
    }
    assert_eq!(names_in(dir.path()), vec!["out.bin".to_owned()], "{id}");
}

#[tokio::test]
async fn downloads_land_only_when_intact() {
    let server = TestServer::start().await;
    let client = pinned(&server, Some(TOKEN));
    let cases = [
        ("good", Ok(())),
        ("bad-digest", Err("integrity")),
        ("no-digest", Err("integrity")),
        ("short", Err("truncated")),
        ("missing", Err("api")),
    ];
    for (id, expected) in cases {
        check_download(&client, id, expected).await;
    }
}

#[tokio::test]
async fn download_to_a_new_file_leaves_nothing_on_failure() {
    let server = TestServer::start().await;
    let client = pinned(&server, Some(TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new.bin");
    let err = client
        .get_file(&FileId::from("bad-digest"), &out, Progress::Hidden)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "integrity");
    assert!(names_in(dir.path()).is_empty());
}

#[tokio::test]
async fn uploads_stream_and_check_the_stored_digest() {
    let server = TestServer::start().await;
    let client = pinned(&server, Some(TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.bin");
    std::fs::write(&local, server::content()).unwrap();
    let room = RoomId::from("r1");

    let info = client
        .put_file(&room, "reports/q1 draft.bin", &local, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(info.path, "reports/q1%20draft.bin");
    assert_eq!(info.size, server::content().len() as u64);

    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let info = client
        .put_file(&room, "empty.bin", &empty, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(info.size, 0);

    let err = client
        .put_file(&room, "lying.bin", &local, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "integrity");

    let err = client
        .put_file(&room, "a/../b", &local, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_path");
}
