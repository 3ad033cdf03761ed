//! `custody policy …` over real HTTPS: list, what-if, apply, show; a refused
//! file changes nothing; the newest stored version is in force after a
//! restart; and a stored version that no longer validates stops the start.

use std::fs;
use std::time::Duration;

use crate::util::*;

/// Forbids admins to create rooms.
const NO_ADMIN_ROOMS: &str = "@id(\"no_admin_rooms\")\n\
@reason(\"policy_forbids\")\n\
forbid (principal, action == Custody::Action::\"room.create\", resource)\n\
when { principal.system_role == \"admin\" };\n";

/// Runs the CLI and asserts failure; returns stderr.
fn cli_fails(scratch: &Scratch, args: &[&str]) -> String {
    let out = scratch.cli(&[], args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

#[tokio::test]
async fn policy_commands_list_replay_apply_and_survive_a_restart() {
    let scratch = Scratch::new();
    let server = scratch.serve();
    scratch.cli_login(&server).await;
    let list = scratch.cli_ok(&["policy", "list"]);
    assert!(list.contains("version in force  0"), "{list}");
    assert!(list.contains("room.viewer"), "{list}");

    let created = scratch.cli_ok(&["rooms", "create", "Designs", "--classification", "internal"]);
    let room = field(&created, "room");
    let file = scratch.path("policies.cedar");
    fs::write(&file, NO_ADMIN_ROOMS).unwrap();
    let file = file.to_str().unwrap();

    let whatif = scratch.cli_ok(&["policy", "whatif", file, "--days", "1"]);
    let wanted =
        format!("room.create on room:{room}: allow -> deny (policy_forbids) [no_admin_rooms]");
    assert!(whatif.contains(&wanted), "{whatif}");

    let bad = scratch.path("bad.cedar");
    fs::write(
        &bad,
        "@id(\"x\")\npermit (principal, action, resource) when { principal.nope };",
    )
    .unwrap();
    let stderr = cli_fails(&scratch, &["policy", "apply", bad.to_str().unwrap()]);
    assert!(
        stderr.contains("policy_invalid") && stderr.contains("line 2, column"),
        "{stderr}"
    );

    let applied = scratch.cli_ok(&["policy", "apply", file, "--comment", "no admin rooms"]);
    let sha = sha256_hex(NO_ADMIN_ROOMS.as_bytes());
    assert_eq!(applied.trim(), format!("applied version 1 (sha256 {sha})"));
    let stale = cli_fails(
        &scratch,
        &["policy", "apply", file, "--expected-version", "0"],
    );
    assert!(stale.contains("conflict"), "{stale}");
    let show = scratch.cli_ok(&["policy", "show"]);
    assert!(
        show.starts_with("// version 1 applied") && show.ends_with(NO_ADMIN_ROOMS),
        "{show}"
    );
    let refused = cli_fails(
        &scratch,
        &["rooms", "create", "After", "--classification", "internal"],
    );
    assert!(refused.contains("forbidden"), "{refused}");

    // After a restart the stored version is still in force.
    server.stop().await;
    let server = scratch.serve();
    scratch.cli_login(&server).await;
    let refused = cli_fails(
        &scratch,
        &["rooms", "create", "Again", "--classification", "internal"],
    );
    assert!(refused.contains("forbidden"), "{refused}");
    server.stop().await;

    // A stored version that no longer validates stops the start, naming it.
    let url = format!("sqlite://{}", scratch.data().join("custody.db").display());
    let store = store::Store::connect(&url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let author = tx.latest_policy_version().await.unwrap().unwrap().author;
    let gone = "@id(\"x\") permit (principal is Custody::Robot, action, resource);";
    tx.insert_policy_version(2, gone, &[], author, 0, "from an older schema")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
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
    assert!(
        stderr.contains("stored policy version 2 no longer validates"),
        "{stderr}"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
