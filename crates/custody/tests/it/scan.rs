//! `custody scan` as a user runs it: no server, directories walked, exit
//! status 0 (clean), 1 (found at or above `--fail-on`), 2 (usage or I/O error).

use std::fs;

use crate::util::command;

#[test]
fn scan_exit_status_follows_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let dirty = dir.path().join("dirty/nested");
    fs::create_dir_all(&clean).unwrap();
    fs::create_dir_all(&dirty).unwrap();
    fs::write(
        clean.join("notes.txt"),
        "bracket drawing rev C, contact m.rossi@fornitore.it\n",
    )
    .unwrap();
    let key = ["sk_", "live_", &"Zq7Xw2Lp9Rt4".repeat(2)].concat();
    fs::write(
        dirty.join("app.env"),
        format!("# settings\nSTRIPE_KEY={key}\n"),
    )
    .unwrap();

    let run = |args: &[&str]| {
        let out = command().arg("scan").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let root = path(dir.path());

    let (code, stdout, _) = run(&[&path(&clean)]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("pii.email"), "{stdout}");
    let (code, _, _) = run(&["--fail-on", "low", &path(&clean)]);
    assert_eq!(code, Some(1));

    let (code, stdout, _) = run(&["--format", "sarif", &root]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(!stdout.contains(&key), "{stdout}");
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let result = &log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "stripe.live_key")
        .cloned()
        .unwrap();
    assert_eq!(result["level"], "error");
    let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("dirty/nested/app.env"), "{uri}");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );

    let (code, stdout, _) = run(&["--format", "json", "--fail-on", "critical", &path(&dirty)]);
    assert_eq!(code, Some(1), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["files"], 1);

    let (code, _, stderr) = run(&[&path(&dir.path().join("missing"))]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    let (code, _, _) = run(&["--format", "xml", &root]);
    assert_eq!(code, Some(2));
}

/// The scanner keeps the first findings of a file and counts the rest; the
/// exit status must follow the worst finding even when it was not kept, and
/// the report must say how many were not listed.
#[test]
fn regression_findings_beyond_the_cap_still_decide_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let key = ["sk_", "live_", &"Zq7Xw2Lp9Rt4".repeat(2)].concat();
    let mut text = String::new();
    for n in 0..1500 {
        text.push_str(&format!("contact person{n}@fornitore.it\n"));
    }
    text.push_str(&format!("STRIPE_KEY={key}\n"));
    let file = dir.path().join("dump.txt");
    fs::write(&file, text).unwrap();
    let out = command()
        .args(["scan", "--fail-on", "high"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        stdout.lines().last().unwrap_or("")
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains("more counted but not listed"), "{summary}");
}
