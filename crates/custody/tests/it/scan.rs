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

/// A gitleaks configuration with a custom rule and a global allowlist.
const GITLEAKS: &str = r#"
[extend]
useDefault = true

[allowlist]
description = "documented examples"
regexes = ['''^ACME-EXAMPLE''']

[[rules]]
id = "acme-deploy-token"
description = "Acme deploy token"
regex = '''\b(ACME-[A-Z0-9]{16})\b'''
secretGroup = 1
keywords = ["acme-"]

[[rules]]
id = "composite"
regex = "x{3}"
[[rules.required]]
id = "acme-deploy-token"
"#;

/// `custody scan --gitleaks FILE`: the configuration's rule finds its
/// tokens (the finding carries the rule id), its allowlist allows the
/// documented one, and what cannot be honoured is said on standard error.
#[test]
fn scan_runs_the_rules_of_a_gitleaks_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gitleaks.toml");
    fs::write(&config, GITLEAKS).unwrap();
    let file = dir.path().join("deploy.txt");
    fs::write(
        &file,
        "# deploy\ntoken ACME-7QX2LP9RT4YB8NC3\nexample ACME-EXAMPLE0000000\n",
    )
    .unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = command().arg("scan").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[
        "--gitleaks".as_ref(),
        config.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ours: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["detector"] == "acme-deploy-token")
        .collect();
    assert_eq!(ours.len(), 1, "{stdout}");
    assert_eq!(ours[0]["location"]["line"], 2);
    assert_eq!(ours[0]["message"], "Acme deploy token");
    assert!(!stdout.contains("ACME-7QX2LP9RT4YB8NC3"), "{stdout}");
    assert!(stderr.contains("`extend.useDefault`"), "{stderr}");
    assert!(stderr.contains("rule `composite` skipped"), "{stderr}");
    assert!(stderr.contains("1 rules imported"), "{stderr}");

    // A lower severity for them: below the threshold, exit 0.
    let (code, _, _) = run(&[
        "--gitleaks".as_ref(),
        config.as_os_str(),
        "--gitleaks-severity".as_ref(),
        "low".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(code, Some(0));

    fs::write(&config, "[[rules]\nid = 1\n").unwrap();
    let (code, _, stderr) = run(&["--gitleaks".as_ref(), config.as_os_str(), file.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid gitleaks configuration: line 1"),
        "{stderr}"
    );
}

/// The SARIF of a scan with findings in a file's text, on a PDF page, in a
/// zip member and of a gitleaks rule passes the SARIF 2.1.0 JSON schema
/// (OASIS's, which scripts/test unpacks from an npm package, validated by
/// python's jsonschema). Without them the test says NOT RUN, and fails
/// under `CI=true`.
#[test]
fn sarif_passes_the_sarif_2_1_0_schema() {
    let home = std::env::var("HOME").unwrap_or_default();
    let schema = std::env::var("CUSTODY_SARIF_SCHEMA")
        .unwrap_or_else(|_| format!("{home}/.cache/custody/sarif/sarif-schema-2.1.0.json"));
    let python = std::env::var("CUSTODY_SARIF_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/custody-sarif-venv/bin/python".to_owned());
    let ready = std::path::Path::new(&schema).is_file()
        && std::process::Command::new(&python)
            .args(["-c", "import jsonschema"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ready {
        let message = format!(
            "sarif_passes_the_sarif_2_1_0_schema: NOT RUN: no SARIF schema at {schema} or no jsonschema for {python} (scripts/test installs them)"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{message}: required when CI=true"
        );
        eprintln!("{message}");
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    let key = ["sk_", "live_", &"Zq7Xw2Lp9Rt4".repeat(2)].concat();
    fs::write(tree.join("app #1.env"), format!("# x\nSTRIPE_KEY={key}\n")).unwrap();
    fs::write(
        tree.join("report.pdf"),
        pdf(&["cover page", &format!("STRIPE_KEY={key}")]),
    )
    .unwrap();
    fs::write(
        tree.join("bundle.zip"),
        stored_zip("cfg/deploy.txt", b"token ACME-7QX2LP9RT4YB8NC3\n"),
    )
    .unwrap();
    let config = dir.path().join("gitleaks.toml");
    fs::write(&config, GITLEAKS).unwrap();
    let out = command()
        .args(["scan", "--format", "sarif", "--gitleaks"])
        .arg(&config)
        .arg(&tree)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let find = |rule: &str, uri_end: &str| {
        results
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .is_some_and(|u| u.ends_with(uri_end))
            })
            .unwrap_or_else(|| panic!("{rule} in {uri_end}: {stdout}"))
    };
    let page = &find("stripe.live_key", "tree/report.pdf")["locations"][0];
    assert_eq!(page["logicalLocations"][0]["kind"], "page");
    assert_eq!(page["logicalLocations"][0]["name"], "page 2");
    let text = &find("stripe.live_key", "tree/app%20%231.env")["locations"][0];
    assert_eq!(text["physicalLocation"]["region"]["startLine"], 2);
    let member = &find("acme-deploy-token", "tree/bundle.zip")["locations"][0];
    assert_eq!(member["logicalLocations"][0]["name"], "cfg/deploy.txt");
    for r in results {
        let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
        assert!(
            uri.as_str()
                .is_some_and(|u| !u.contains('#') && !u.contains("!/")),
            "not a file: {uri}"
        );
    }

    let path = dir.path().join("scan.sarif");
    fs::write(&path, stdout.as_bytes()).unwrap();
    // The validator refuses what the schema refuses.
    let broken = dir.path().join("broken.sarif");
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    fs::write(&broken, bad.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sarif/validate.py");
    let out = std::process::Command::new(&python)
        .arg(script)
        .arg(&schema)
        .arg(&path)
        .arg(&broken)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("ok {}", path.display())),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("'fatal' is not one of"), "{said}");
    assert_eq!(out.status.code(), Some(1), "{said}");
}

/// A PDF of one page per entry, each a line of text in Courier, written by
/// hand (uncompressed, with its cross-reference table).
fn pdf(pages: &[&str]) -> Vec<u8> {
    let n = pages.len();
    let font = 3 + 2 * n;
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
    ];
    for (i, text) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Resources << /Font << /F1 {font} 0 R >> >> >>",
            4 + 2 * i
        ));
        let stream = format!("BT /F1 9 Tf 40 760 Td ({text}) Tj ET");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ));
    }
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>".to_owned());
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A zip of one stored (uncompressed) member, written by hand (APPNOTE 4.3).
fn stored_zip(name: &str, bytes: &[u8]) -> Vec<u8> {
    let crc = crc32(bytes);
    let (n, len) = (name.len() as u16, bytes.len() as u32);
    let mut out = Vec::new();
    out.extend(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    out.extend(crc.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(n.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(name.as_bytes());
    out.extend(bytes);
    let central = out.len() as u32;
    out.extend(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    out.extend(crc.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(n.to_le_bytes());
    out.extend([0u8; 12]);
    out.extend(0u32.to_le_bytes());
    out.extend(name.as_bytes());
    let size = out.len() as u32 - central;
    out.extend(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    out.extend(size.to_le_bytes());
    out.extend(central.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
