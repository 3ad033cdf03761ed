//! Crypto-shredding end to end, with the real server and the real CLI:
//! - a backup made as docs/operations.md says (the database copied online, the
//!   blobs after it, the key directory kept as a mirror), a room destroyed, the
//!   mirror brought up to date, and the backup restored into a fresh server: the
//!   destroyed room's content cannot be decrypted (`room_key_missing`), the
//!   other room's reads back whole; the certificate verifies offline with
//!   `custody certificate verify`, names the destroyed versions by digest, and
//!   every tampering with it is refused;
//! - SIGKILL at each step of a destruction (the server stopped there by
//!   `CUSTODY_PAUSE_AT`), then a restart: never a record of destruction while
//!   the key exists, and the destruction finished at start.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use client::Progress;
use serde_json::{Value, json};

use crate::util::*;

/// Calls the API as `token`; the status and the JSON body.
pub(crate) async fn api(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let url = format!("{}/api/v1{path}", server.url);
    let req = match method {
        "GET" => raw_http().get(url),
        "PUT" => raw_http().put(url).json(&body),
        "DELETE" => raw_http().delete(url),
        _ => raw_http().post(url).json(&body),
    };
    let r = req.bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Copies a SQLite database while the server may run: Python's binding of
/// SQLite's online backup API, as the `sqlite3` shell's `.backup` does.
pub(crate) fn backup_database(from: &Path, to: &Path) {
    let script = "import sqlite3, sys\nsrc = sqlite3.connect(sys.argv[1])\ndst = sqlite3.connect(sys.argv[2])\nsrc.backup(dst)\ndst.close()\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One value of the database, read with Python's SQLite binding.
pub(crate) fn query(db: &Path, sql: &str) -> String {
    let script = "import sqlite3, sys\nrow = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()\nprint('' if row is None else row[0])\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A backup as docs/operations.md says: a directory for the metadata and the
/// blobs, and the key directory's mirror kept apart.
pub(crate) struct Backup {
    pub dir: PathBuf,
    pub keys: PathBuf,
}

impl Backup {
    pub fn new(scratch: &Scratch) -> Backup {
        let dir = scratch.path("backup");
        fs::create_dir_all(&dir).unwrap();
        Backup {
            dir,
            keys: scratch.path("keymirror"),
        }
    }

    /// After the metadata: the blobs (without `tmp/`), and the keys' mirror.
    pub fn files_and_keys(&self, data: &Path) {
        copy_tree(&data.join("blobs"), &self.dir.join("blobs"));
        let _ = fs::remove_dir_all(self.dir.join("blobs/tmp"));
        self.follow_keys(data);
    }

    /// Brings the keys' mirror up to date (`rsync -a --delete`).
    pub fn follow_keys(&self, data: &Path) {
        mirror(&data.join("keys"), &self.keys);
    }

    /// A fresh data directory (mode 0700) with the blobs and the keys put
    /// back; the caller puts the metadata back.
    pub fn restore(&self, scratch: &Scratch) -> PathBuf {
        let restored = scratch.path("restored");
        fs::create_dir_all(&restored).unwrap();
        fs::set_permissions(
            &restored,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        copy_tree(&self.dir.join("blobs"), &restored.join("blobs"));
        copy_tree(&self.keys, &restored.join("keys"));
        restored
    }
}

/// Makes `to` a copy of `from` that follows it (`rsync -a --delete`): files
/// gone from `from` leave `to` too; modes are kept.
pub(crate) fn mirror(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    copy_tree(from, to);
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::metadata(from).unwrap().permissions()).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Asks for room `room`'s destruction and confirms it (a room at or below
/// `internal`: no second person); returns the request.
async fn destroy(server: &Server, token: &str, room: &str) -> Value {
    let path = format!("/rooms/{room}/destructions");
    let (status, d) = api(
        server,
        token,
        "POST",
        &path,
        json!({"reason": "contract ended"}),
    )
    .await;
    assert_eq!(status, 201, "{d}");
    let path = format!(
        "/rooms/{room}/destructions/{}/confirm",
        d["id"].as_str().unwrap()
    );
    let body = json!({"manifest_sha256": d["manifest_sha256"]});
    let (status, done) = api(server, token, "POST", &path, body).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "destroyed", "{done}");
    done
}

/// The certificate of destruction `id` and the ledger's verifier key, as
/// `token` reads them.
pub(crate) async fn certificate_and_key(server: &Server, token: &str, id: &str) -> (Value, String) {
    let path = format!("/destructions/{id}/certificate");
    let (status, cert) = api(server, token, "GET", &path, Value::Null).await;
    assert_eq!(status, 200, "{cert}");
    let key = raw_http()
        .get(format!("{}/api/v1/ledger/verifier-key", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned();
    (cert, key)
}

pub(crate) fn verify_cli(scratch: &Scratch, cert: &Path, key: &str) -> std::process::Output {
    command()
        .args(["certificate", "verify"])
        .arg(cert)
        .args(["--key", key])
        .current_dir(scratch.dir.path())
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_destroyed_room_stays_unreadable_in_a_restored_backup() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let doomed = admin.create_room("Tooling", "internal").await.unwrap();
    let kept = admin.create_room("Brochures", "internal").await.unwrap();
    let (doomed_file, kept_file) = (scratch.path("jig.bin"), scratch.path("flyer.bin"));
    write_random_file(&doomed_file, 2 * CHUNK + 7);
    write_random_file(&kept_file, CHUNK + 3);
    let lost = admin
        .put_file(&doomed.id, "jig.bin", &doomed_file, Progress::Hidden)
        .await
        .unwrap();
    let safe = admin
        .put_file(&kept.id, "flyer.bin", &kept_file, Progress::Hidden)
        .await
        .unwrap();

    // The backup, as docs/operations.md says, while the server runs.
    let data = scratch.data();
    let backup = Backup::new(&scratch);
    backup_database(&data.join("custody.db"), &backup.dir.join("custody.db"));
    backup.files_and_keys(&data);
    let key_mirror = backup.keys.clone();
    assert!(
        key_mirror
            .join(format!("rooms/{}.key", doomed.id))
            .is_file()
    );

    let done = destroy(&server, &token, &doomed.id.to_string()).await;
    let id = done["id"].as_str().unwrap();
    let (cert, key) = certificate_and_key(&server, &token, id).await;
    // The key directory's mirror follows the destruction.
    backup.follow_keys(&data);
    server.stop().await;

    // Restored into a fresh data directory.
    let restored = backup.restore(&scratch);
    fs::copy(backup.dir.join("custody.db"), restored.join("custody.db")).unwrap();
    let again = Server::start_on(&restored, scratch.dir.path());
    let admin = again.admin().await;
    let token = admin.token().unwrap().to_owned();
    // The backup holds the room, its versions and their wrapped keys: only
    // the key is missing, and without it nothing decrypts.
    let path = format!("/files/{}/content", lost.id);
    let (status, body) = api(&again, &token, "GET", &path, Value::Null).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("room_key_missing")),
        "{body}"
    );
    let back = scratch.path("flyer.back");
    admin
        .get_file(&safe.id, &back, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(sha256_file(&back), sha256_file(&kept_file));
    again.stop().await;

    // The certificate verifies offline and names the destroyed version.
    let cert_file = scratch.path("certificate.json");
    fs::write(&cert_file, serde_json::to_vec_pretty(&cert).unwrap()).unwrap();
    let out = verify_cli(&scratch, &cert_file, &key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&sha256_file(&doomed_file)), "{said}");
    assert!(said.contains(&format!("room-{}", doomed.id)), "{said}");
    assert!(said.contains("1 file versions destroyed"), "{said}");
    assert!(!said.contains(&sha256_file(&kept_file)), "{said}");

    // Every tampering is refused.
    for (what, tamper, why) in tamperings(&cert) {
        let bad = scratch.path(&format!("tampered-{what}.json"));
        fs::write(&bad, serde_json::to_vec(&tamper).unwrap()).unwrap();
        let out = verify_cli(&scratch, &bad, &key);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(err.contains(why), "{what}: {err}");
    }
    let out = verify_cli(&scratch, &cert_file, "custody.local/ledger+00000000+AAAA");
    assert!(!out.status.success());
}

/// Altered copies of a certificate, each with what the verifier must say.
fn tamperings(cert: &Value) -> Vec<(&'static str, Value, &'static str)> {
    let note = cert["note"].as_str().unwrap();
    let alter = |f: &dyn Fn(&mut Value)| {
        let mut c = cert.clone();
        f(&mut c);
        c
    };
    let first_digest = |text: &str| {
        let at = text.find("sha256").unwrap();
        let start = at + text[at..].find(':').unwrap() + 1;
        start + text[start..].find(|c: char| c.is_ascii_hexdigit()).unwrap()
    };
    vec![
        (
            "statement",
            alter(&|c| {
                let mut text = note.to_owned();
                let at = first_digest(&text);
                let flip = if &text[at..=at] == "0" { "1" } else { "0" };
                text.replace_range(at..=at, flip);
                c["note"] = Value::String(text);
            }),
            "signature does not verify",
        ),
        (
            "event",
            alter(&|c| c["evidence"]["entries"][0]["event"]["target"] = "room:elsewhere".into()),
            "does not verify",
        ),
        (
            "proof",
            alter(&|c| {
                c["evidence"]["entries"][0]["index"] =
                    (c["evidence"]["entries"][0]["index"].as_u64().unwrap() + 1).into();
            }),
            "does not verify",
        ),
        (
            "checkpoint",
            alter(&|c| {
                let cp = c["evidence"]["checkpoint"]
                    .as_str()
                    .unwrap()
                    .replacen('\n', "\n1", 1);
                c["evidence"]["checkpoint"] = Value::String(cp);
            }),
            "does not verify",
        ),
        (
            "format",
            alter(&|c| c["format"] = "custody-destruction-certificate/0".into()),
            "not a custody certificate",
        ),
    ]
}

/// The steps a destruction can be stopped at, and whether its key still
/// exists and its request is recorded as destroyed when killed there.
const STEPS: &[(&str, bool, &str)] = &[
    ("destruction:started", true, "destroying"),
    ("destruction:key-destroyed", false, "destroying"),
    ("destruction:recorded", false, "destroyed"),
];

#[tokio::test]
async fn sigkill_at_each_step_of_a_destruction_never_leaves_readable_destroyed_content() {
    for (point, key_left, state) in STEPS {
        let scratch = Scratch::new();
        let server = scratch.serve_with(&[("CUSTODY_PAUSE_AT", (*point).to_owned())]);
        let admin = server.admin().await;
        let token = admin.token().unwrap().to_owned();
        let room = admin.create_room("Doomed", "internal").await.unwrap();
        let sample = scratch.path("part.bin");
        write_random_file(&sample, CHUNK + 1);
        let file = admin
            .put_file(&room.id, "part.bin", &sample, Progress::Hidden)
            .await
            .unwrap();
        let path = format!("/rooms/{}/destructions", room.id);
        let (status, d) = api(&server, &token, "POST", &path, json!({"reason": "r"})).await;
        assert_eq!(status, 201, "{d}");
        let id = d["id"].as_str().unwrap().to_owned();
        let confirm = format!("/rooms/{}/destructions/{id}/confirm", room.id);
        let body = json!({"manifest_sha256": d["manifest_sha256"]});
        let (url, t) = (server.url.clone(), token.clone());
        let pending = tokio::spawn(async move {
            raw_http()
                .post(format!("{url}/api/v1{confirm}"))
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
        });
        wait_for_log(&server.log, &format!("custody: paused at {point}")).await;
        server.kill();
        pending.abort();

        // On disk, as the crash left it.
        let data = scratch.data();
        let key = data.join(format!("keys/rooms/{}.key", room.id));
        let db = data.join("custody.db");
        let recorded = query(
            &db,
            &format!("SELECT state FROM destructions WHERE id = '{id}'"),
        );
        assert_eq!(key.exists(), *key_left, "{point}");
        assert_eq!(recorded, *state, "{point}");
        assert!(
            !(recorded == "destroyed" && key.exists()),
            "{point}: the invariant"
        );

        // Restarted: the destruction is finished before anything is served.
        let server = scratch.serve();
        let admin = server.admin().await;
        let token = admin.token().unwrap().to_owned();
        assert!(!key.exists(), "{point}");
        let (status, d) = api(
            &server,
            &token,
            "GET",
            &format!("/destructions/{id}"),
            Value::Null,
        )
        .await;
        assert_eq!(
            (status, d["state"].as_str()),
            (200, Some("destroyed")),
            "{point}: {d}"
        );
        let path = format!("/files/{}/content", file.id);
        let (status, _) = api(&server, &token, "GET", &path, Value::Null).await;
        assert_eq!(status, 404, "{point}");
        let (status, cert) = api(
            &server,
            &token,
            "GET",
            &format!("/destructions/{id}/certificate"),
            Value::Null,
        )
        .await;
        assert_eq!(status, 200, "{point}: {cert}");
        let count = query(
            &db,
            "SELECT COUNT(*) FROM events WHERE action = 'room.destroyed'",
        );
        server.stop().await;
        assert_eq!(count, "1", "{point}: one record of the destruction");
    }
}

pub(crate) async fn wait_for_log(log: &PathBuf, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if fs::read_to_string(log).unwrap_or_default().contains(line) {
            return;
        }
        assert!(Instant::now() < deadline, "`{line}` never logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
