//! Data-loss prevention on upload: a file carrying a private key is refused
//! (422 `dlp_blocked`, nothing stored, a denied event naming the detector)
//! when the room is shared with an external party, and accepted into a room
//! granted only to the owner party; a clean file is accepted either way.

use std::path::Path;

use serde_json::Value;

use crate::util::*;

/// An RSA private key in PEM armour, generated here: 20 base64 lines of 64
/// characters that decode to nothing in particular. It starts on line 4 of
/// [`with_key`].
fn pem_text() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let body: String = (0..20usize)
        .map(|row| {
            let line: String = (0..64usize)
                .map(|i| char::from(alphabet[(row * 7 + i * 13) % 64]))
                .collect();
            format!("{line}\n")
        })
        .collect();
    format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n")
}

fn with_key() -> Vec<u8> {
    format!(
        "deploy notes\nhost: build-7\nkey below\n{}done\n",
        pem_text()
    )
    .into_bytes()
}

/// Committed blobs (`blobs/<2 hex>/<32 hex>`).
fn committed_blobs(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).map(|r| r.count()).unwrap_or(0))
        .sum()
}

fn put(room: &str, path: &str, content: Vec<u8>, status: u16, code: Option<&'static str>) -> Case {
    Case {
        label: format!("put {path} into {room}"),
        method: "PUT",
        path: format!("{V1}/rooms/{room}/files/{path}"),
        body: Payload::Raw(Some("application/octet-stream"), content),
        want_status: status,
        want_code: code,
        ..Case::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_is_blocked_only_in_rooms_shared_externally() {
    let ctx = Ctx::new().await;
    let shared = ctx.room(&ctx.admin, "Shared").await;
    let party = ctx.party("Acme").await;
    ctx.grant(&ctx.admin, &shared, "party", &party, "viewer", None)
        .await;
    let internal = ctx.room(&ctx.admin, "Internal").await;
    let owner = ctx.owner_party.clone();
    ctx.grant(&ctx.admin, &internal, "party", &owner, "viewer", None)
        .await;
    let clean = b"quarterly figures, nothing secret\n".repeat(100);
    let cases = [
        put(
            &shared,
            "ops/deploy.txt",
            with_key(),
            422,
            Some("dlp_blocked"),
        ),
        put(&internal, "ops/deploy.txt", with_key(), 201, None),
        put(&shared, "ops/figures.txt", clean, 201, None),
    ];
    for mut case in cases {
        case.who = Some(ctx.admin.clone());
        let r = check(&ctx, case).await;
        if r.status == 422 {
            let message = r.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for want in ["`pem.rsa_private_key`", "line 4", "external party"] {
                assert!(message.contains(want), "message `{message}` lacks `{want}`");
            }
        }
    }

    // Only the clean file is in the shared room; two blobs exist in all.
    let list = ctx
        .must(
            &ctx.admin,
            "GET",
            &format!("/rooms/{shared}/files"),
            Value::Null,
            200,
        )
        .await;
    let paths: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, ["ops/figures.txt"]);
    assert_eq!(committed_blobs(ctx.dir.path()), 2);

    // One denied upload event, naming the detector and line, without the key.
    let events = ctx.events().await;
    let denied: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "file.upload" && e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    let ev = denied.first().copied().unwrap_or(&Value::Null);
    assert_eq!(ev["reason"], "dlp_blocked", "{ev}");
    assert_eq!(ev["detail"]["detector"], "pem.rsa_private_key", "{ev}");
    assert_eq!(ev["detail"]["line"], 4, "{ev}");
    let key_line = pem_text().lines().nth(1).unwrap_or_default().to_owned();
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(&key_line), "an event carries the key");
}
