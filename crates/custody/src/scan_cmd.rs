//! `custody scan PATH…`: DLP scanning without a server. Files are read,
//! directories walked recursively, every file's text extracted (archives,
//! Office, PDF, e-mail) and scanned by the `dlp` crate, with the rules of a
//! gitleaks configuration too (`--gitleaks FILE`), and against the crown
//! jewels of a registry exported by a server (`--registry FILE`: excerpts of
//! a registered document, even with identifiers renamed, are
//! `fingerprint.crown_jewel` findings naming it; docs/crown-jewels.md).
//! Results as text, JSON or
//! SARIF 2.1.0 (members of archives named `archive.zip!/member`; in SARIF the
//! artifact is the file scanned, a member or page its logical location).
//! Exit status 0 when nothing at or above `--fail-on` was found, 1 when
//! something was, 2 on a usage or I/O error.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;
use dlp::{DetectorInfo, Finding, ScanConfig, Scanner, Severity};
use serde_json::{Value, json};

/// The `scan` command's arguments.
#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit with status 1 when a finding of this severity or higher is found.
    #[arg(long, value_enum, default_value_t = Level::High)]
    fail_on: Level,
    /// Also run the rules of this gitleaks configuration (TOML); what it
    /// holds that cannot be honoured is listed on standard error.
    #[arg(long, value_name = "FILE")]
    gitleaks: Option<PathBuf>,
    /// The severity of the gitleaks rules' findings.
    #[arg(long, value_enum, default_value_t = Level::High)]
    gitleaks_severity: Level,
    /// Also look for excerpts of the crown jewels of this exported registry
    /// (`GET /api/v1/jewels/export`, or Export on the Crown jewels page).
    #[arg(long, value_name = "FILE")]
    registry: Option<PathBuf>,
}

/// Output formats.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One line per finding.
    Text,
    /// A JSON document with every finding.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Severities, as named on the command line.
#[derive(Clone, Copy, ValueEnum)]
enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl From<Level> for Severity {
    fn from(l: Level) -> Self {
        match l {
            Level::Low => Severity::Low,
            Level::Medium => Severity::Medium,
            Level::High => Severity::High,
            Level::Critical => Severity::Critical,
        }
    }
}

/// Runs the scan and exits with its status (0 clean, 1 found, 2 error).
pub fn run(args: ScanArgs) -> ! {
    let code = match scan(&args) {
        Ok(true) => 1,
        Ok(false) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// Scans every path and prints the report; true when something at or above
/// the threshold was found.
fn scan(args: &ScanArgs) -> anyhow::Result<bool> {
    let custom = match &args.gitleaks {
        Some(file) => gitleaks_rules(file, args.gitleaks_severity.into())?,
        None => Vec::new(),
    };
    let fingerprints = match &args.registry {
        Some(file) => Some(std::sync::Arc::new(registry(file)?)),
        None => None,
    };
    let scanner = Scanner::new(ScanConfig {
        custom,
        fingerprints,
        ..ScanConfig::default()
    })
    .context("cannot set up the scanner")?;
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files)?;
    }
    let mut findings = Vec::new();
    // Findings beyond the scanner's caps are counted, not kept: the exit
    // status still follows the worst of them, and the report says how many.
    let mut unlisted = 0;
    let mut worst = None;
    for file in &files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        let name = file.to_string_lossy();
        let report = scanner.scan(&name, &bytes);
        unlisted += report.truncated;
        worst = worst.max(report.max_severity());
        findings.extend(report.findings.into_iter().map(|f| (name.to_string(), f)));
    }
    let threshold = Severity::from(args.fail_on);
    let out = match args.format {
        Format::Text => text(&findings, files.len(), unlisted),
        Format::Json => {
            let findings: Vec<&Finding> = findings.iter().map(|(_, f)| f).collect();
            serde_json::to_string_pretty(
                &json!({ "files": files.len(), "findings": findings, "unlisted": unlisted }),
            )?
        }
        Format::Sarif => serde_json::to_string_pretty(&sarif(&scanner.detectors(), &findings))?,
    };
    println!("{out}");
    Ok(worst.is_some_and(|w| w >= threshold))
}

/// The rules of the gitleaks configuration in `file`; what they hold that
/// cannot be honoured is said on standard error.
fn gitleaks_rules(file: &Path, severity: Severity) -> anyhow::Result<Vec<dlp::CustomRule>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let import = dlp::gitleaks::import(&text, severity)
        .with_context(|| format!("cannot import `{}`", file.display()))?;
    for s in &import.skipped {
        eprintln!("gitleaks: rule `{}` skipped: {}", s.rule, s.reason);
    }
    for u in &import.unsupported {
        match &u.rule {
            Some(rule) => eprintln!("gitleaks: rule `{rule}`: `{}`: {}", u.feature, u.detail),
            None => eprintln!("gitleaks: `{}`: {}", u.feature, u.detail),
        }
    }
    eprintln!("gitleaks: {} rules imported", import.rules.len());
    Ok(import.rules)
}

/// The crown-jewel registry exported to `file`.
fn registry(file: &Path) -> anyhow::Result<dlp::Registry> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let registry = dlp::RegistryFile::parse(&text)
        .and_then(|f| f.registry())
        .with_context(|| format!("cannot read the registry `{}`", file.display()))?;
    eprintln!("registry: {} crown jewels", registry.len());
    Ok(registry)
}

/// The files under `path`, in name order.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list `{}`", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list `{}`", path.display()))?;
        entries.sort();
        for entry in entries {
            collect(&entry, out)?;
        }
    } else if meta.is_file() {
        out.push(path.to_owned());
    }
    Ok(())
}

fn text(findings: &[(String, Finding)], files: usize, unlisted: u64) -> String {
    let mut lines: Vec<String> = findings.iter().map(|(_, f)| f.to_string()).collect();
    let mut summary = format!("scanned {files} files: {} findings", findings.len());
    if unlisted > 0 {
        summary.push_str(&format!(
            " listed, and {unlisted} more counted but not listed"
        ));
    }
    lines.push(summary);
    lines.join("\n")
}

/// The SARIF level of a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// A relative URI reference for a file path: characters outside the URI
/// path grammar (and `#`, `?`, `%`) are percent-encoded; `/` is kept.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!=:@+,;$&'()*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a finding is, in SARIF: the artifact is the file scanned (`file`);
/// a finding in the file's own text has a region, one in a member of a
/// container or a page of a document has a logical location naming it
/// (`bundle.zip!/dir/a.txt`, `report.pdf#page=2`, kind `member` or `page`),
/// its line and column in that item's text as properties.
fn location(file: &str, f: &Finding) -> Value {
    let mut physical = json!({ "artifactLocation": { "uri": uri(file) } });
    let path = &f.location.path;
    let inner = path.strip_prefix(file).filter(|rest| !rest.is_empty());
    let Some(inner) = inner else {
        if f.location.line > 0 {
            physical["region"] =
                json!({ "startLine": f.location.line, "startColumn": f.location.column.max(1) });
        }
        return json!({ "physicalLocation": physical });
    };
    let page = path
        .rsplit_once("#page=")
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let (name, kind) = match page {
        Some((_, n)) => (format!("page {n}"), "page"),
        None => (
            path.rsplit_once("!/").map_or(inner, |m| m.1).to_owned(),
            "member",
        ),
    };
    let mut out = json!({
        "physicalLocation": physical,
        "logicalLocations": [{ "name": name, "fullyQualifiedName": path, "kind": kind }],
    });
    if f.location.line > 0 {
        out["properties"] =
            json!({ "itemLine": f.location.line, "itemColumn": f.location.column.max(1) });
    }
    out
}

/// The SARIF 2.1.0 log of a scan: each finding with the file it was found in.
fn sarif(detectors: &[DetectorInfo], findings: &[(String, Finding)]) -> Value {
    let rules: Vec<Value> = detectors
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "shortDescription": { "text": d.message },
                "defaultConfiguration": { "level": level(d.severity) },
                "properties": { "severity": d.severity.as_str() },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|(file, f)| {
            let text = if f.snippet.is_empty() {
                f.message.clone()
            } else {
                format!("{} ({})", f.message, f.snippet)
            };
            let mut result = json!({
                "ruleId": f.detector,
                "level": level(f.severity),
                "message": { "text": text },
                "locations": [location(file, f)],
                "properties": { "severity": f.severity.as_str(), "confidence": f.confidence },
            });
            if let Some(index) = detectors.iter().position(|d| d.id == f.detector) {
                result["ruleIndex"] = json!(index);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "custody-scan", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the SARIF 2.1.0 properties a consumer requires.
    fn check_sarif(log: &Value) {
        assert_eq!(log["version"], "2.1.0");
        assert!(
            log["$schema"]
                .as_str()
                .is_some_and(|s| s.contains("sarif-2.1.0"))
        );
        let runs = log["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert!(driver["name"].is_string());
        let rules = driver["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        for r in rules {
            assert!(
                ["none", "note", "warning", "error"]
                    .contains(&r["defaultConfiguration"]["level"].as_str().unwrap())
            );
        }
        for r in runs[0]["results"].as_array().unwrap() {
            let rule = r["ruleId"].as_str().unwrap();
            assert!(ids.contains(&rule), "{rule}");
            assert_eq!(ids[r["ruleIndex"].as_u64().unwrap() as usize], rule);
            assert!(["none", "note", "warning", "error"].contains(&r["level"].as_str().unwrap()));
            assert!(r["message"]["text"].is_string());
            let loc = &r["locations"][0]["physicalLocation"];
            assert!(loc["artifactLocation"]["uri"].is_string());
            if let Some(line) = loc["region"]["startLine"].as_u64() {
                assert!(line >= 1);
            }
        }
    }

    #[test]
    fn sarif_has_the_required_shape() {
        let scanner = Scanner::new(ScanConfig::default()).unwrap();
        // (Not letters and digits typed in order: those read as a placeholder.)
        let secret = ["gh", "p_", "R8xkQ2mZt7LwV4nP", "b9YcJ3hD6sFgA1uKe5Wq"].concat();
        let mut zip = zip_with(
            "cfg/app env.txt",
            format!("x\ntoken = {secret}\n").as_bytes(),
        );
        let of = |name: &str, bytes: &[u8]| -> Vec<(String, Finding)> {
            let found = scanner.scan(name, bytes).findings;
            found.into_iter().map(|f| (name.to_owned(), f)).collect()
        };
        let mut findings = of("bundle.zip", &zip);
        zip.truncate(10);
        findings.extend(of("broken.zip", &zip));
        findings.extend(of(
            "plain #1.txt",
            format!("\n token = {secret}").as_bytes(),
        ));
        let log = sarif(&scanner.detectors(), &findings);
        check_sarif(&log);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let gh: Vec<&Value> = results
            .iter()
            .filter(|r| r["ruleId"] == "github.classic_pat")
            .collect();
        // In a member: the artifact is the zip, the member a logical location.
        let member = &gh[0]["locations"][0];
        assert_eq!(
            member["physicalLocation"]["artifactLocation"]["uri"],
            "bundle.zip"
        );
        assert!(member["physicalLocation"].get("region").is_none());
        assert_eq!(
            member["logicalLocations"][0],
            json!({ "name": "cfg/app env.txt", "fullyQualifiedName": "bundle.zip!/cfg/app env.txt", "kind": "member" })
        );
        assert_eq!(member["properties"]["itemLine"], 2);
        assert_eq!(gh[0]["level"], "error");
        // In the file's own text: a region.
        let plain = &gh[1]["locations"][0];
        assert_eq!(
            plain["physicalLocation"]["artifactLocation"]["uri"],
            "plain%20%231.txt"
        );
        assert_eq!(plain["physicalLocation"]["region"]["startLine"], 2);
        assert_eq!(plain["physicalLocation"]["region"]["startColumn"], 10);
        assert!(plain.get("logicalLocations").is_none());
        assert!(!log.to_string().contains(&secret));
        let corrupt = results
            .iter()
            .find(|r| r["ruleId"] == "extract.corrupt")
            .unwrap();
        assert!(
            corrupt["locations"][0]["physicalLocation"]
                .get("region")
                .is_none()
        );
    }

    fn zip_with(name: &str, bytes: &[u8]) -> Vec<u8> {
        // A stored (uncompressed) single-member zip, written by hand (APPNOTE 4.3).
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

    /// A finding on a page of a PDF was once written as the artifact
    /// `report.pdf#page=1`: code-scanning tools read that as a file that
    /// does not exist. The artifact is the PDF, the page a logical location.
    #[test]
    fn regression_a_pdf_page_was_written_into_the_artifact_uri() {
        let check = |file: &str, item: &str, uri: &str, logical: Value| {
            let f = Finding {
                detector: "d".into(),
                severity: Severity::High,
                confidence: 1.0,
                location: dlp::Location {
                    path: item.into(),
                    line: 3,
                    column: 4,
                },
                message: "m".into(),
                snippet: String::new(),
            };
            let loc = location(file, &f);
            assert_eq!(
                loc["physicalLocation"]["artifactLocation"]["uri"], uri,
                "{item}"
            );
            assert_eq!(loc["logicalLocations"][0], logical, "{item}");
        };
        check(
            "docs/report.pdf",
            "docs/report.pdf#page=1",
            "docs/report.pdf",
            json!({ "name": "page 1", "fullyQualifiedName": "docs/report.pdf#page=1", "kind": "page" }),
        );
        check(
            "b.zip",
            "b.zip!/in/r.pdf#page=12",
            "b.zip",
            json!({ "name": "page 12", "fullyQualifiedName": "b.zip!/in/r.pdf#page=12", "kind": "page" }),
        );
        check(
            "b.zip",
            "b.zip!/in/a.zip!/x.txt",
            "b.zip",
            json!({ "name": "x.txt", "fullyQualifiedName": "b.zip!/in/a.zip!/x.txt", "kind": "member" }),
        );
        check("notes.txt", "notes.txt", "notes.txt", Value::Null);
    }

    #[test]
    fn uris_keep_member_separators_and_escape_the_rest() {
        let check = |path: &str, expected: &str| assert_eq!(uri(path), expected);
        check("a.zip!/dir/m.txt", "a.zip!/dir/m.txt");
        check("r#2.pdf", "r%232.pdf");
        check("my file%.txt", "my%20file%25.txt");
        check("café.txt", "caf%C3%A9.txt");
    }
}
