//! Purging a deleted file end to end, with the real server and the real CLI:
//! - a backup made as docs/operations.md says, then the grace period of
//!   deleted files set and the file purged by the server's own sweep (the room
//!   re-keyed), the key mirror brought up to date and the backup restored into
//!   a fresh server: the purged version's key generation is gone and the
//!   room's carry file does not hold it, so it cannot be decrypted, while the
//!   kept version is re-keyed from the carry file at start and reads back
//!   whole, as does another room's content; the certificate verifies offline
//!   with `custody certificate verify`;
//! - SIGKILL at each step of a purge, then a restart: never a record of the
//!   purge while the old key exists, never a kept version whose key is gone,
//!   and the purge finished at start.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use client::Progress;
use serde_json::{Value, json};

use crate::destruction::{
    Backup, api, backup_database, certificate_and_key, query, verify_cli, wait_for_log,
};
use crate::util::*;

/// Waits until the room has a purge in state `destroyed`; returns it.
async fn purged(server: &Server, token: &str, room: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, list) = api(
            server,
            token,
            "GET",
            &format!("/destructions?room={room}"),
            Value::Null,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        if let Some(d) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "files" && d["state"] == "destroyed")
        {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "never purged: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sweep_every_second() -> Vec<(&'static str, String)> {
    vec![("CUSTODY_EXPIRY_SWEEP_SECONDS", "1".to_owned())]
}

async fn delete(server: &Server, token: &str, file: &str) {
    let (status, body) = api(
        server,
        token,
        "DELETE",
        &format!("/files/{file}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

async fn set_grace(server: &Server, token: &str, days: i64) {
    let body = json!({"grace_days": days});
    let (status, r) = api(server, token, "PUT", "/purge-settings", body).await;
    assert_eq!(status, 200, "{r}");
}

#[tokio::test]
async fn a_purged_file_stays_unreadable_in_a_restored_backup() {
    let scratch = Scratch::new();
    let server = scratch.serve_with(&sweep_every_second());
    let admin = server.admin().await;
    let token = admin.token().unwrap().to_owned();
    let room = admin.create_room("Tooling", "internal").await.unwrap();
    let other = admin.create_room("Brochures", "internal").await.unwrap();
    let (gone_file, kept_file, flyer_file) = (
        scratch.path("old-jig.bin"),
        scratch.path("jig.bin"),
        scratch.path("flyer.bin"),
    );
    write_random_file(&gone_file, 2 * CHUNK + 7);
    write_random_file(&kept_file, CHUNK + 3);
    write_random_file(&flyer_file, 1000);
    let gone = admin
        .put_file(&room.id, "old-jig.bin", &gone_file, Progress::Hidden)
        .await
        .unwrap();
    let kept = admin
        .put_file(&room.id, "jig.bin", &kept_file, Progress::Hidden)
        .await
        .unwrap();
    let flyer = admin
        .put_file(&other.id, "flyer.bin", &flyer_file, Progress::Hidden)
        .await
        .unwrap();
    delete(&server, &token, &gone.id.to_string()).await;

    // The backup holds the deleted file's version, wrapped under the room's key.
    let data = scratch.data();
    let backup = Backup::new(&scratch);
    backup_database(&data.join("custody.db"), &backup.dir.join("custody.db"));
    backup.files_and_keys(&data);
    let key_mirror = backup.keys.clone();

    // Grace period 0: the next sweep purges it and re-keys the room.
    set_grace(&server, &token, 0).await;
    let d = purged(&server, &token, &room.id.to_string()).await;
    let id = d["id"].as_str().unwrap();
    assert_eq!(
        d["manifest"]["versions"].as_array().unwrap().len(),
        1,
        "{d}"
    );
    let back = scratch.path("jig.back");
    admin
        .get_file(&kept.id, &back, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(sha256_file(&back), sha256_file(&kept_file), "kept, live");
    let (cert, key) = certificate_and_key(&server, &token, id).await;
    backup.follow_keys(&data);
    server.stop().await;
    assert!(!key_mirror.join(format!("rooms/{}.key", room.id)).exists());
    assert!(
        key_mirror
            .join(format!("rooms/{}-g1.key", room.id))
            .is_file()
    );

    // Restored: the purged version is wrapped under a generation no key
    // directory holds any more.
    let restored = backup.restore(&scratch);
    fs::copy(backup.dir.join("custody.db"), restored.join("custody.db")).unwrap();
    let db = restored.join("custody.db");
    let version_of = |file: &str| {
        query(
            &db,
            &format!("SELECT id FROM versions WHERE file_id = '{file}'"),
        )
    };
    let (gone_version, kept_version) = (
        version_of(&gone.id.to_string()),
        version_of(&kept.id.to_string()),
    );
    let wrapped_under = |version: &str| {
        query(
            &db,
            &format!("SELECT kek_id FROM versions WHERE id = '{version}'"),
        )
    };
    assert_eq!(wrapped_under(&gone_version), format!("room-{}", room.id));
    assert_eq!(wrapped_under(&kept_version), format!("room-{}", room.id));
    // The carry file holds the kept version's data key under the new
    // generation, and nothing of the purged one.
    let carry = fs::read_to_string(restored.join(format!("keys/rooms/{}.carry", room.id))).unwrap();
    assert!(carry.contains(&format!("\n{kept_version} ")), "{carry}");
    assert!(!carry.contains(&gone_version), "{carry}");
    let again = Server::start_on(&restored, scratch.dir.path());
    let admin = again.admin().await;
    let token = admin.token().unwrap().to_owned();
    // At start the kept version moved to the generation that exists; the
    // purged one stays under the destroyed one, which nothing can open.
    assert_eq!(wrapped_under(&kept_version), format!("room-{}-g1", room.id));
    assert_eq!(wrapped_under(&gone_version), format!("room-{}", room.id));
    let back = scratch.path("jig.restored");
    admin
        .get_file(&kept.id, &back, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(
        sha256_file(&back),
        sha256_file(&kept_file),
        "kept, restored"
    );
    let path = format!("/files/{}/content", gone.id);
    let (status, _) = api(&again, &token, "GET", &path, Value::Null).await;
    assert_eq!(status, 404, "deleted");
    let back = scratch.path("flyer.back");
    admin
        .get_file(&flyer.id, &back, Progress::Hidden)
        .await
        .unwrap();
    assert_eq!(sha256_file(&back), sha256_file(&flyer_file), "another room");
    again.stop().await;

    // The certificate verifies offline and names the purged version.
    let cert_file = scratch.path("certificate.json");
    fs::write(&cert_file, serde_json::to_vec_pretty(&cert).unwrap()).unwrap();
    let out = verify_cli(&scratch, &cert_file, &key);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&sha256_file(&gone_file)), "{said}");
    assert!(!said.contains(&sha256_file(&kept_file)), "{said}");
    assert!(
        said.contains(&format!("re-keyed under room-{}-g1", room.id)),
        "{said}"
    );
    assert!(
        said.contains(&format!("keys destroyed: room-{}", room.id)),
        "{said}"
    );
}

/// The steps a purge can be stopped at, whether the old generation's key
/// still exists there, and the request's state.
const STEPS: &[(&str, bool, &str)] = &[
    ("purge:started", true, "destroying"),
    ("purge:rekeyed", true, "destroying"),
    ("purge:key-destroyed", false, "destroying"),
    ("purge:recorded", false, "destroyed"),
];

/// Every key id that wraps a version of a live file is a key file on disk.
fn no_kept_version_lost(db: &Path, keys: &Path, point: &str) {
    let ids = query(
        db,
        "SELECT group_concat(DISTINCT v.kek_id) FROM versions v JOIN files f ON f.id = v.file_id \
         WHERE f.deleted_ms IS NULL AND length(v.wrapped_key) > 0",
    );
    for id in ids.split(',').filter(|i| !i.is_empty()) {
        let name = id.strip_prefix("room-").unwrap();
        assert!(
            keys.join(format!("rooms/{name}.key")).is_file(),
            "{point}: versions under {id}, whose key is gone"
        );
    }
}

#[tokio::test]
async fn sigkill_at_each_step_of_a_purge_never_loses_what_stays() {
    for (point, old_key_left, state) in STEPS {
        let scratch = Scratch::new();
        let mut env = sweep_every_second();
        env.push(("CUSTODY_PAUSE_AT", (*point).to_owned()));
        let server = scratch.serve_with(&env);
        let admin = server.admin().await;
        let token = admin.token().unwrap().to_owned();
        let room = admin.create_room("Drawings", "internal").await.unwrap();
        let (gone_file, kept_file) = (scratch.path("gone.bin"), scratch.path("kept.bin"));
        write_random_file(&gone_file, CHUNK + 1);
        write_random_file(&kept_file, CHUNK + 2);
        let gone = admin
            .put_file(&room.id, "gone.bin", &gone_file, Progress::Hidden)
            .await
            .unwrap();
        let kept = admin
            .put_file(&room.id, "kept.bin", &kept_file, Progress::Hidden)
            .await
            .unwrap();
        set_grace(&server, &token, 0).await;
        delete(&server, &token, &gone.id.to_string()).await;
        wait_for_log(&server.log, &format!("custody: paused at {point}")).await;
        server.kill();

        // On disk, as the crash left it.
        let data = scratch.data();
        let (db, keys) = (data.join("custody.db"), data.join("keys"));
        let old_key = keys.join(format!("rooms/{}.key", room.id));
        let recorded = query(&db, "SELECT state FROM destructions WHERE kind = 'files'");
        assert_eq!(old_key.exists(), *old_key_left, "{point}");
        assert_eq!(recorded, *state, "{point}");
        assert!(
            !(recorded == "destroyed" && old_key.exists()),
            "{point}: the invariant"
        );
        no_kept_version_lost(&db, &keys, point);

        // Restarted: the purge is finished before anything is served.
        let server = scratch.serve();
        let admin = server.admin().await;
        let token = admin.token().unwrap().to_owned();
        assert!(!old_key.exists(), "{point}");
        let d = purged(&server, &token, &room.id.to_string()).await;
        let path = format!("/destructions/{}/certificate", d["id"].as_str().unwrap());
        let (status, cert) = api(&server, &token, "GET", &path, Value::Null).await;
        assert_eq!(status, 200, "{point}: {cert}");
        let back = scratch.path("kept.back");
        admin
            .get_file(&kept.id, &back, Progress::Hidden)
            .await
            .unwrap();
        assert_eq!(sha256_file(&back), sha256_file(&kept_file), "{point}");
        no_kept_version_lost(&db, &keys, point);
        let count = query(
            &db,
            "SELECT COUNT(*) FROM events WHERE action = 'file.purged'",
        );
        server.stop().await;
        assert_eq!(count, "1", "{point}: one record of the purge");
    }
}
