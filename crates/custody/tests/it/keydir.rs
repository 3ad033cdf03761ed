//! The key directory under attack: the real `custody serve` on a data directory
//! prepared by a first start, then one inconsistent state of `data/keys` per row
//! (missing `current`, missing or extra key files, wrong modes, garbage, missing
//! ledger signer or manifest ...). Every row must refuse to start without
//! listening, say what is inconsistent, and leave every byte (and mode) of the
//! key directory as it found it. See issue 12, defects 1 and 13.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

/// How long a refusing server may take to exit.
const REFUSAL: Duration = Duration::from_secs(60);

/// A data directory after one clean first start that signed a ledger checkpoint.
async fn prepared() -> Scratch {
    let scratch = Scratch::new();
    let server = scratch.serve();
    let admin = server.admin().await;
    raw_http()
        .get(format!("{}/api/v1/ledger/checkpoint", server.url))
        .bearer_auth(admin.token().unwrap())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    server.stop().await;
    scratch
}

/// A copy of `from` (modes kept) at `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
    let mode = fs::metadata(from).unwrap().permissions().mode();
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).unwrap();
}

/// Everything observable about a key directory: whether it exists and its mode,
/// then each entry's name, mode and SHA-256.
fn snapshot(keys: &Path) -> (Option<u32>, BTreeMap<String, (u32, String)>) {
    let Ok(meta) = fs::metadata(keys) else {
        return (None, BTreeMap::new());
    };
    let mut entries = BTreeMap::new();
    for entry in fs::read_dir(keys).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mode = fs::symlink_metadata(&path).unwrap().mode() & 0o7777;
        entries.insert(name, (mode, sha256_file(&path)));
    }
    (Some(meta.mode() & 0o7777), entries)
}

/// Runs `custody serve` on `data` and returns its exit status, stdout and stderr;
/// fails the test if it starts listening.
fn serve_expecting_refusal(data: &Path) -> (std::process::ExitStatus, String, String) {
    let mut child = serve_command(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_timeout(&mut child, REFUSAL);
    (status, out.join().unwrap(), err.join().unwrap())
}

fn write_private(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// One inconsistent state: a name, how to make it from a prepared key
/// directory, and what the refusal must say (every piece).
struct Row {
    name: &'static str,
    edit: fn(&Path),
    says: &'static [&'static str],
}

/// Copies the prepared data directory, applies `row.edit` to its `keys/`, runs
/// the server and asserts that it refused, said `row.says`, and changed nothing
/// in the key directory.
fn check(prepared: &Scratch, n: usize, row: &Row) {
    let data = prepared.path(&format!("row-{n}"));
    copy_dir(&prepared.data(), &data);
    let keys = data.join("keys");
    (row.edit)(&keys);
    let before = snapshot(&keys);
    let (status, stdout, stderr) = serve_expecting_refusal(&data);
    let after = snapshot(&keys);
    let row_name = row.name;
    assert!(
        !status.success() && !stdout.contains("listening on"),
        "{row_name}: the server started ({status}):\nstdout: {stdout}\nstderr: {stderr}"
    );
    for piece in row.says {
        assert!(
            stderr.contains(piece),
            "{row_name}: stderr does not say `{piece}`:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("nothing was changed"),
        "{row_name}: stderr does not say that nothing was changed:\n{stderr}"
    );
    assert_eq!(before, after, "{row_name}: the key directory changed");
}

fn remove(keys: &Path, name: &str) {
    fs::remove_file(keys.join(name)).unwrap();
}

const MISSING_CURRENT: Row = Row {
    name: "missing current",
    edit: |k| remove(k, "current"),
    says: &[
        "current` is missing",
        "kek-k1.key",
        "restore the key directory from backup",
    ],
};

const MISSING_LEDGER_SIGNER: Row = Row {
    name: "missing ledger-signer.key",
    edit: |k| remove(k, "ledger-signer.key"),
    says: &["ledger-signer.key` is listed in the key manifest but missing"],
};

/// Defect 1: a missing `keys/current` made the server create a new KEK over
/// `kek-k1.key`, and every file and TOTP secret was lost for good.
#[tokio::test]
async fn regression_missing_current_never_replaces_the_kek() {
    let prepared = prepared().await;
    check(&prepared, 0, &MISSING_CURRENT);
}

/// Defect 13: a missing `ledger-signer.key` was silently regenerated, and every
/// checkpoint then failed.
#[tokio::test]
async fn regression_missing_ledger_signer_refuses_to_start() {
    let prepared = prepared().await;
    check(&prepared, 0, &MISSING_LEDGER_SIGNER);
}

#[tokio::test]
async fn inconsistent_key_directories_refuse_to_start() {
    let prepared = prepared().await;
    let rows = [
        MISSING_CURRENT,
        MISSING_LEDGER_SIGNER,
        Row {
            name: "missing key file",
            edit: |k| remove(k, "kek-k1.key"),
            says: &["kek-k1.key` is listed in the key manifest but missing"],
        },
        Row {
            name: "missing mark key",
            edit: |k| remove(k, "mark.key"),
            says: &["mark.key` is listed in the key manifest but missing"],
        },
        Row {
            name: "extra key file",
            edit: |k| write_private(&k.join("kek-k9.key"), &[9; 32]),
            says: &[
                "kek-k9.key` is not listed in the key manifest",
                "interrupted rotation",
            ],
        },
        Row {
            name: "key file readable by others",
            edit: |k| chmod(&k.join("kek-k1.key"), 0o644),
            says: &["kek-k1.key` is accessible to group or other"],
        },
        Row {
            name: "ledger signer readable by the group",
            edit: |k| chmod(&k.join("ledger-signer.key"), 0o640),
            says: &["ledger-signer.key` is accessible to group or other"],
        },
        Row {
            name: "key directory open to others",
            edit: |k| chmod(k, 0o755),
            says: &["keys` is accessible to group or other"],
        },
        Row {
            name: "garbage key file of the right length",
            edit: |k| write_private(&k.join("kek-k1.key"), &[0xAA; 32]),
            says: &["kek-k1.key` does not match its check value in the key manifest"],
        },
        Row {
            name: "garbage key file of the wrong length",
            edit: |k| write_private(&k.join("kek-k1.key"), &[0xAA; 31]),
            says: &["kek-k1.key`: expected exactly 32 bytes"],
        },
        Row {
            name: "garbage ledger signer",
            edit: |k| write_private(&k.join("ledger-signer.key"), b"PRIVATE+KEY+garbage\n"),
            says: &["ledger-signer.key` does not match its check value in the key manifest"],
        },
        Row {
            name: "current names an unlisted key",
            edit: |k| write_private(&k.join("current"), b"k9\n"),
            says: &["names `k9`, which the key manifest does not list"],
        },
        Row {
            name: "garbage manifest",
            edit: |k| write_private(&k.join("manifest"), b"hello\n"),
            says: &["manifest`: "],
        },
        Row {
            name: "unexpected entry",
            edit: |k| write_private(&k.join("notes.txt"), b"hello\n"),
            says: &["unexpected `", "notes.txt` in the key directory"],
        },
        Row {
            name: "no manifest and no current",
            edit: |k| {
                remove(k, "manifest");
                remove(k, "current");
            },
            says: &["current` is missing", "kek-k1.key"],
        },
        Row {
            name: "no manifest and a garbage key file",
            edit: |k| {
                remove(k, "manifest");
                write_private(&k.join("kek-k1.key"), &[0xAA; 33]);
            },
            says: &["kek-k1.key`: expected exactly 32 bytes"],
        },
        Row {
            name: "no manifest and no ledger signer after checkpoints",
            edit: |k| {
                remove(k, "manifest");
                remove(k, "ledger-signer.key");
            },
            says: &["ledger-signer.key` is missing but the ledger holds signed checkpoints"],
        },
        Row {
            name: "key directory removed",
            edit: |k| fs::remove_dir_all(k).unwrap(),
            says: &["keys` is missing or empty but the data directory holds data"],
        },
        Row {
            name: "key directory emptied",
            edit: |k| {
                for entry in fs::read_dir(k).unwrap() {
                    fs::remove_file(entry.unwrap().path()).unwrap();
                }
            },
            says: &["keys` is missing or empty but the data directory holds data"],
        },
    ];
    for (n, row) in rows.iter().enumerate() {
        check(&prepared, n, row);
    }
}

/// A data directory from before the manifest (same files, no `keys/manifest`)
/// starts, and gets the manifest a first start writes; nothing else changes.
#[tokio::test]
async fn a_key_directory_without_manifest_gets_one() {
    let prepared = prepared().await;
    let keys = prepared.data().join("keys");
    let manifest: PathBuf = keys.join("manifest");
    let before = snapshot(&keys);
    fs::remove_file(&manifest).unwrap();
    prepared.serve().stop().await;
    assert_eq!(snapshot(&keys), before);
}
