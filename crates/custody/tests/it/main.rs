//! End-to-end tests of the `custody` binary over real HTTPS: the server runs as a
//! child process on a scratch data directory, the CLI as a subprocess, and the
//! `client` crate sets things up where the CLI is not the point. The 1 GiB memory
//! test runs only with `CUSTODY_SLOW_TESTS=1` (scripts/test sets it).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions may unwrap"
)]

mod antivirus;
mod destruction;
mod diskfull;
mod dlp_cli;
mod jewels;
mod keydir;
mod ledger_kill;
mod mail_kill;
mod memory;
mod ops;
mod policy;
mod purge;
mod restore;
mod scan;
// The SMTP test server of the mail tests (aiosmtpd), shared with `notify`.
#[allow(dead_code, reason = "these tests use part of the helpers")]
#[path = "../../../notify/tests/it/smtp_server.rs"]
mod smtp_server;
mod trace_online;
mod util;
mod viewer;
mod watch;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use client::{ClientError, Progress, RoomId};
use util::*;

#[tokio::test]
async fn cli_round_trip() {
    let scratch = Scratch::new();
    let server = scratch.serve();

    let refused = scratch.cli(
        &[("CUSTODY_PASSWORD", ADMIN_PASSWORD)],
        &["login", "--url", &server.url, "--email", ADMIN_EMAIL],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&server.fingerprint), "{stderr}");
    assert!(stderr.contains("error: refusing to trust"), "{stderr}");
    assert!(!scratch.profile().exists());

    scratch.cli_login(&server).await;
    let mode = fs::metadata(scratch.profile())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let created = scratch.cli_ok(&[
        "rooms",
        "create",
        "Designs",
        "--classification",
        "confidential",
    ]);
    let room = field(&created, "room");
    let listed = scratch.cli_ok(&["rooms", "list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&room) && l.contains("Designs") && l.contains("confidential")),
        "{listed}"
    );

    let local = scratch.path("spec.bin");
    let size = 3 * CHUNK + 12_345;
    write_random_file(&local, size);
    let local_sha = sha256_file(&local);
    let put = scratch.cli_ok(&["put", &room, local.to_str().unwrap(), "docs/spec.bin"]);
    assert_eq!(field(&put, "sha256"), local_sha);
    assert_eq!(field(&put, "version"), "1");
    let file = field(&put, "file");

    let ls = scratch.cli_ok(&["ls", &room]);
    let row: Vec<&str> = ls
        .lines()
        .find(|l| l.starts_with(&file))
        .unwrap_or_else(|| panic!("{ls}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1..4], ["docs/spec.bin", &size.to_string(), "1"], "{ls}");

    let out = scratch.path("back.bin");
    let got = scratch.cli_ok(&["get", &file, out.to_str().unwrap()]);
    assert_eq!(field(&got, "sha256"), local_sha);
    assert_eq!(fs::read(&out).unwrap(), fs::read(&local).unwrap());

    let zeros = "0".repeat(64);
    let missing = scratch.path("missing.bin");
    let failures: [Failure; 5] = [
        (
            &[],
            &["rooms", "create", "X", "--classification", "top-secret"],
            "error: `unknown_name`: unknown classification `top-secret`",
        ),
        (
            &[("CUSTODY_TOKEN", "forged")],
            &["rooms", "list"],
            "error: `unauthenticated`: ",
        ),
        (
            &[("CUSTODY_FINGERPRINT", &zeros)],
            &["ls", &room],
            "does not match the pinned fingerprint",
        ),
        (
            &[],
            &["get", "no-such-file", out.to_str().unwrap()],
            "error: `not_found`: ",
        ),
        (
            &[],
            &["put", &room, missing.to_str().unwrap()],
            "error: local file",
        ),
    ];
    for (env, args, needle) in failures {
        check_cli_failure(&scratch, env, args, needle);
    }

    scratch.cli_ok(&["logout"]);
    check_cli_failure(&scratch, &[], &["rooms", "list"], "error: not logged in");

    // Trust on first use, with the password on stdin: pins what the server presents.
    let code = server.admin_code().await;
    let args = [
        "login",
        "--url",
        &server.url,
        "--email",
        ADMIN_EMAIL,
        "--insecure-trust-on-first-use",
        "--totp",
        &code,
    ];
    let tofu = scratch.cli_stdin(&[], &args, &format!("{ADMIN_PASSWORD}\n"));
    assert_success(&tofu, &args);
    let profile = fs::read_to_string(scratch.profile()).unwrap();
    assert!(
        profile.contains(&format!("fingerprint = \"{}\"", server.fingerprint)),
        "{profile}"
    );
    assert!(scratch.cli_ok(&["rooms", "list"]).contains(&room));
}

/// A CLI call expected to fail: its environment, its arguments, a piece of its stderr.
type Failure<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);

/// Runs the CLI, expects exit status 1 and one line on stderr holding `needle`,
/// with no cause printed twice in a row (`local file …: No such file…: No such file…`).
fn check_cli_failure(scratch: &Scratch, env: &[(&str, &str)], args: &[&str], needle: &str) {
    let out = scratch.cli(env, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: want `{needle}` in {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    let causes: Vec<&str> = stderr.trim_end().split(": ").collect();
    assert!(
        causes.windows(2).all(|w| w[0] != w[1]),
        "{args:?}: {stderr}"
    );
}

#[tokio::test]
async fn one_gib_round_trip_through_the_cli_stays_under_100_mib_rss() {
    if std::env::var("CUSTODY_SLOW_TESTS").as_deref() != Ok("1") {
        eprintln!();
        eprintln!("!!! SKIPPED one_gib_round_trip_through_the_cli_stays_under_100_mib_rss:");
        eprintln!("!!! set CUSTODY_SLOW_TESTS=1 to run it (scripts/test does)");
        eprintln!();
        return;
    }
    const SIZE: u64 = 1 << 30;
    const LIMIT_KIB: u64 = 100 * 1024;
    let scratch = Scratch::new();
    let server = scratch.serve();
    scratch.cli_login(&server).await;
    let room = field(
        &scratch.cli_ok(&["rooms", "create", "Big", "--classification", "internal"]),
        "room",
    );
    let local = scratch.path("big.bin");
    write_random_file(&local, SIZE);

    let sampler = RssSampler::start(server.pid());
    let started = Instant::now();
    let put = scratch.cli_ok(&["put", &room, local.to_str().unwrap()]);
    let up = started.elapsed();
    let out = scratch.path("big.out");
    let started = Instant::now();
    scratch.cli_ok(&["get", &field(&put, "file"), out.to_str().unwrap()]);
    let down = started.elapsed();
    let peak_sampled = sampler.stop();
    let hwm = server.status_kib("VmHWM");
    let (anon, file) = (server.status_kib("RssAnon"), server.status_kib("RssFile"));

    let (sent, received) = (sha256_file(&local), sha256_file(&out));
    assert_eq!(fs::metadata(&out).unwrap().len(), SIZE);
    assert_eq!(sent, received);
    assert_eq!(field(&put, "sha256"), sent);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let rate = |d: Duration| SIZE as f64 / (1 << 20) as f64 / d.as_secs_f64();
    eprintln!(
        "1 GiB round trip: {SIZE} bytes; put {:.1} s ({:.0} MiB/s); get {:.1} s ({:.0} MiB/s); \
         server peak RSS VmHWM {:.1} MiB, highest sampled VmRSS {:.1} MiB \
         (at the end: {:.1} MiB anonymous, {:.1} MiB of files: the binary's pages)",
        up.as_secs_f64(),
        rate(up),
        down.as_secs_f64(),
        rate(down),
        mib(hwm),
        mib(peak_sampled),
        mib(anon),
        mib(file)
    );
    // The peak RSS, not counting the pages of files mapped (the binary's:
    // 44 MiB of a debug build's code, which grows with every feature and is
    // not memory the streaming uses; a release build maps far less).
    let peak = hwm.saturating_sub(file);
    assert!(
        peak < LIMIT_KIB,
        "server peak RSS {} MiB, of which {} MiB are not the binary's pages",
        mib(hwm),
        mib(peak)
    );
}

/// Polls a process's VmRSS every 50 ms until stopped; returns the highest seen.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(proc_status_kib(pid, "VmRSS").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[tokio::test]
async fn marker_string_appears_nowhere_under_the_data_dir() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let room = admin.create_room("Secrets", "restricted").await.unwrap();
    let marker = format!("CUSTODY-MARKER-{}", hex::encode(random_bytes(12)));
    let mut content = random_bytes(200_000);
    for at in [0, 65_536, 150_000] {
        content.splice(at..at, marker.bytes());
    }
    content.extend_from_slice(marker.as_bytes());
    let local = scratch.path("secret.txt");
    fs::write(&local, &content).unwrap();
    admin
        .put_file(&room.id, "plans/secret.txt", &local, Progress::Hidden)
        .await
        .unwrap();
    let data = server.data.clone();
    server.stop().await;

    let utf16 = |big_endian: bool| -> Vec<u8> {
        marker
            .encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    };
    let needles = [marker.as_bytes().to_vec(), utf16(false), utf16(true)];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(&content, &needles[0]),
        "the scan finds the marker where it is"
    );

    let files = files_under(&data);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&data).unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "custody.db"), "{names:?}");
    assert!(blob_files(&data).len() == 1, "{names:?}");
    for file in &files {
        let bytes = fs::read(file).unwrap();
        for needle in &needles {
            assert!(
                !contains(&bytes, needle),
                "the marker is in `{}`",
                file.display()
            );
        }
    }
    eprintln!(
        "scanned {} files under the data dir: {names:?}",
        files.len()
    );

    let keys: Vec<_> = files_under(&data.join("keys"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .collect();
    assert!(!keys.is_empty());
    for key in keys {
        let mode = fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "`{}`", key.display());
    }
}

#[tokio::test]
async fn altered_blob_fails_its_download_with_an_integrity_error() {
    let second_chunk_middle = BLOB_HEADER + (CHUNK + TAG) + CHUNK / 2;
    check_altered_blob(
        "in the middle of a later chunk",
        second_chunk_middle,
        &["truncated"],
    )
    .await;
    check_altered_blob(
        "in the first chunk",
        BLOB_HEADER + 100,
        &["api:integrity_error"],
    )
    .await;
}

/// Flips the byte at `offset` of a fresh upload's blob, downloads it and expects
/// one of the `expected` error codes (`api:<server code>` for a refusal).
async fn check_altered_blob(case: &str, offset: u64, expected: &[&str]) {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let room = admin.create_room("Tamper", "internal").await.unwrap();
    let local = scratch.path("design.bin");
    write_random_file(&local, 3 * CHUNK + 777);
    let info = admin
        .put_file(&room.id, "design.bin", &local, Progress::Hidden)
        .await
        .unwrap();

    let blobs = blob_files(&server.data);
    assert_eq!(blobs.len(), 1, "{case}: {blobs:?}");
    let blob = blobs.first().unwrap();
    let mut bytes = fs::read(blob).unwrap();
    bytes[offset as usize] ^= 0x01;
    fs::write(blob, &bytes).unwrap();

    let out_dir = scratch.path("downloads");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("design.bin");
    let Err(err) = admin.get_file(&info.id, &out, Progress::Hidden).await else {
        panic!("{case}: the altered blob downloaded without error");
    };
    let code = match &err {
        ClientError::Api { code, .. } => format!("api:{code}"),
        other => other.code().to_owned(),
    };
    assert!(expected.contains(&code.as_str()), "{case}: {err}");
    eprintln!("altered {case}: the download failed with `{code}`: {err}");
    assert!(!out.exists(), "{case}");
    let leftovers: Vec<_> = fs::read_dir(&out_dir).unwrap().collect();
    assert!(leftovers.is_empty(), "{case}: {leftovers:?}");

    let target = format!("file:{}", info.id);
    let events = server.events(&admin).await;
    let denied = events.iter().find(|e| {
        e["action"] == "file.download"
            && e["target"] == target.as_str()
            && e["outcome"] == "denied"
            && e["reason"] == "integrity_error"
    });
    assert!(
        denied.is_some(),
        "{case}: no integrity event in {events:#?}"
    );
}

#[tokio::test]
async fn sigkill_during_upload_leaves_no_partial_version() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let room = admin.create_room("Crash", "internal").await.unwrap();
    let mut acknowledged = Vec::new();
    for (name, size) in [
        ("a.bin", 100_000),
        ("b.bin", 3 * CHUNK / 2),
        ("c.bin", 4 * CHUNK + 1),
    ] {
        let local = scratch.path(name);
        write_random_file(&local, size);
        let info = admin
            .put_file(&room.id, name, &local, Progress::Hidden)
            .await
            .unwrap();
        acknowledged.push((info.id, name, sha256_file(&local)));
    }

    // Two uploads that never finish: a new version of `b.bin` and a new path.
    let uploads: Vec<_> = ["b.bin", "never.bin"]
        .into_iter()
        .map(|path| {
            tokio::spawn(endless_upload(
                server.url.clone(),
                admin.token().unwrap().to_owned(),
                room.id.clone(),
                path,
            ))
        })
        .collect();
    let tmp = server.data.join("blobs/tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    while files_under(&tmp)
        .iter()
        .filter(|f| fs::metadata(f).unwrap().len() > 0)
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the uploads never reached the disk"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data = server.data.clone();
    server.kill();
    for upload in uploads {
        upload.abort();
    }
    assert!(
        !files_under(&data.join("blobs/tmp")).is_empty(),
        "the crash left partial blobs"
    );

    let server = scratch.serve();
    assert_eq!(
        files_under(&data.join("blobs/tmp")),
        Vec::<std::path::PathBuf>::new()
    );
    let admin = server.admin().await;
    let files = admin.list_files(&room.id).await.unwrap();
    let mut paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["a.bin", "b.bin", "c.bin"]);
    for (id, name, sha) in &acknowledged {
        let versions = admin.list_versions(id).await.unwrap();
        assert_eq!(versions.len(), 1, "{name}: {versions:?}");
        let out = scratch.path(&format!("{name}.back"));
        let info = admin.get_file(id, &out, Progress::Hidden).await.unwrap();
        assert_eq!((info.version, &sha256_file(&out)), (1, sha), "{name}");
    }
    assert_eq!(
        blob_files(&data).len(),
        3,
        "only the acknowledged blobs remain"
    );
}

/// PUTs a body announced as 1 GiB that sends 8 MiB and then stalls forever.
async fn endless_upload(url: String, token: String, room: RoomId, path: &'static str) {
    let first = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(random_bytes(CHUNK as usize)))),
    );
    let stall = futures_util::stream::pending();
    let body = reqwest::Body::wrap_stream(futures_util::StreamExt::chain(first, stall));
    let _killed = raw_http()
        .put(format!("{url}/api/v1/rooms/{room}/files/{path}"))
        .bearer_auth(token)
        .header("content-length", 1u64 << 30)
        .body(body)
        .send()
        .await;
}

#[tokio::test]
async fn key_file_readable_by_others_refuses_to_start() {
    let scratch = Scratch::new();
    scratch.serve().stop().await;
    let kek = scratch.data().join("keys/kek-k1.key");
    fs::set_permissions(&kek, fs::Permissions::from_mode(0o644)).unwrap();

    let mut child = command()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(scratch.data())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&kek.display().to_string()), "{stderr}");
}

#[tokio::test]
async fn keys_rotate_rewraps_without_rewriting_content() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    let room = admin.create_room("Rotate", "internal").await.unwrap();
    let local = scratch.path("doc.bin");
    write_random_file(&local, 2 * CHUNK + 5);
    let info = admin
        .put_file(&room.id, "doc.bin", &local, Progress::Hidden)
        .await
        .unwrap();
    server.stop().await;

    let data = scratch.data();
    let before = hash_blobs(&data);
    let out = command()
        .args(["keys", "rotate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_success(&out, &["keys", "rotate"]);
    let said = String::from_utf8_lossy(&out.stdout);
    // The data keys are under the room's key, which alone is re-wrapped.
    assert!(
        said.contains("re-wrapped 0 data keys, 1 room keys"),
        "{said}"
    );
    let room_key =
        std::fs::read_to_string(data.join("keys/rooms").join(format!("{}.key", room.id))).unwrap();
    assert_eq!(hash_blobs(&data), before, "the blobs are untouched");
    let keks = files_under(&data.join("keys"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("kek-") && name.ends_with(".key")
        })
        .count();
    assert_eq!(keks, 2);

    let server = scratch.serve();
    let admin = server.admin().await;
    let back = scratch.path("doc.back");
    admin
        .get_file(&info.id, &back, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(sha256_file(&back), sha256_file(&local));

    // The rotation is recorded after the re-sealing of the admin's TOTP secret;
    // the room key file names the new KEK.
    let bundle = admin
        .ledger_bundle(&[("action".into(), "keys.".into())])
        .await
        .unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let events: Vec<&serde_json::Value> = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"])
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["keys.reseal", "keys.rotate"], "{bundle}");
    let reseal = &events[0]["detail"];
    let rotate = &events[1]["detail"];
    assert_eq!(reseal["users"].as_array().unwrap().len(), 1, "{reseal}");
    assert_eq!(reseal["kek_id"], rotate["kek_id"], "{reseal} {rotate}");
    assert_eq!(rotate["rewrapped_keys"], 0, "{rotate}");
    assert_eq!(rotate["rewrapped_room_keys"], 1, "{rotate}");
    let kek = rotate["kek_id"].as_str().unwrap();
    assert!(room_key.contains(&format!("\nkek {kek}\n")), "{room_key}");
}

fn hash_blobs(data: &Path) -> Vec<(std::path::PathBuf, String)> {
    let blobs = blob_files(data);
    assert!(!blobs.is_empty());
    blobs
        .into_iter()
        .map(|b| (b.clone(), sha256_file(&b)))
        .collect()
}
