//! `custody scan PATH…`: DLP scanning without a server. Files are read,
//! directories walked recursively, every file's text extracted (archives,
//! Office, PDF, e-mail) and scanned by the `dlp` crate. Results as text, JSON
//! or SARIF 2.1.0 (members of archives named `archive.zip!/member`). Exit
//! status 0 when nothing at or above `--fail-on` was found, 1 when something
//! was, 2 on a usage or I/O error.

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
    let scanner = Scanner::new(ScanConfig::default()).context("cannot set up the scanner")?;
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
        let report = scanner.scan(&file.to_string_lossy(), &bytes);
        unlisted += report.truncated;
        worst = worst.max(report.max_severity());
        findings.extend(report.findings);
    }
    let threshold = Severity::from(args.fail_on);
    let out = match args.format {
        Format::Text => text(&findings, files.len(), unlisted),
        Format::Json => serde_json::to_string_pretty(
            &json!({ "files": files.len(), "findings": findings, "unlisted": unlisted }),
        )?,
        Format::Sarif => serde_json::to_string_pretty(&sarif(&scanner.detectors(), &findings))?,
    };
    println!("{out}");
    Ok(worst.is_some_and(|w| w >= threshold))
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

fn text(findings: &[Finding], files: usize, unlisted: u64) -> String {
    let mut lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
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

/// A relative URI reference for an item path: characters outside the URI
/// grammar are percent-encoded; `/`, `!` and the `#page=N` fragment are kept.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!#=:@+,;$&'()*".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The SARIF 2.1.0 log of a scan.
fn sarif(detectors: &[DetectorInfo], findings: &[Finding]) -> Value {
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
        .map(|f| {
            let mut physical = json!({ "artifactLocation": { "uri": uri(&f.location.path) } });
            if f.location.line > 0 {
                physical["region"] = json!({ "startLine": f.location.line, "startColumn": f.location.column.max(1) });
            }
            let mut result = json!({
                "ruleId": f.detector,
                "level": level(f.severity),
                "message": { "text": format!("{} ({})", f.message, f.snippet) },
                "locations": [{ "physicalLocation": physical }],
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
        let mut findings = scanner.scan("bundle.zip", &zip).findings;
        zip.truncate(10);
        findings.extend(scanner.scan("broken.zip", &zip).findings);
        let log = sarif(&scanner.detectors(), &findings);
        check_sarif(&log);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let gh = results
            .iter()
            .find(|r| r["ruleId"] == "github.classic_pat")
            .unwrap();
        let loc = &gh["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "bundle.zip!/cfg/app%20env.txt"
        );
        assert_eq!(loc["region"]["startLine"], 2);
        assert_eq!(gh["level"], "error");
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

    #[test]
    fn uris_keep_member_separators_and_escape_the_rest() {
        let check = |path: &str, expected: &str| assert_eq!(uri(path), expected);
        check("a.zip!/dir/m.txt", "a.zip!/dir/m.txt");
        check("r.pdf#page=2", "r.pdf#page=2");
        check("my file%.txt", "my%20file%25.txt");
        check("café.txt", "caf%C3%A9.txt");
    }
}
