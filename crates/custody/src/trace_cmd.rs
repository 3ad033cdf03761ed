//! `custody trace FILE [--key-file K]`: reads the watermark a file carries —
//! the PDF metadata entry or stamp text, the forensic image mark (with the
//! mark key), or the invisible text mark or banner — and prints the mark id,
//! which mark it came from and the confidence.
//!
//! `custody trace --online FILE [--url URL] [--evidence OUT]` sends the file
//! to the server (`POST /api/v1/trace`, as a security officer, auditor or
//! admin), which reads the mark with its own key and looks the mark id up in
//! the ledger: it prints who received the copy (the download or page view
//! that issued it; through a share link, the link and its verified
//! recipient), checks the evidence bundle of those events here (each
//! event's inclusion proof against the signed checkpoint and its key) and
//! writes it with `--evidence`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Arguments of `custody trace`.
#[derive(clap::Args)]
pub struct TraceArgs {
    /// The file to read (PDF, PNG, JPEG, WebP, or UTF-8 text / source code).
    pub file: PathBuf,
    /// The mark key file (needed for images). Env `CUSTODY_MARK_KEY_FILE`.
    #[arg(long, env = "CUSTODY_MARK_KEY_FILE", conflicts_with = "online")]
    pub key_file: Option<PathBuf>,
    /// Ask the server: it reads the mark with its own key and names the
    /// download or page view that issued the copy, with ledger evidence.
    /// Uses the client profile and `CUSTODY_*` environment as the other
    /// client commands do.
    #[arg(long)]
    pub online: bool,
    /// Server URL (default `CUSTODY_URL`, else the profile's); with `--online`.
    #[arg(long, requires = "online")]
    pub url: Option<String>,
    /// Write the evidence bundle (verifiable with `custody ledger verify
    /// --bundle`) to this file; with `--online`.
    #[arg(long, requires = "online")]
    pub evidence: Option<PathBuf>,
}

/// The largest file the server traces.
const MAX_ONLINE_BYTES: u64 = 256 << 20;

/// Runs `custody trace`; an error when no mark is found (or, online, when no
/// event in the ledger issued it).
pub async fn run(args: TraceArgs) -> anyhow::Result<()> {
    if args.online {
        online(&args).await
    } else {
        offline(&args)
    }
}

/// Reads the mark here, with the mark key file for images.
fn offline(args: &TraceArgs) -> anyhow::Result<()> {
    let content = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let key = args.key_file.as_deref().map(read_key).transpose()?;
    let found = mark::trace(&content, key.as_ref(), &mark::Limits::default())
        .map_err(|e| anyhow::anyhow!("{e} ({})", e.code()))
        .with_context(|| format!("cannot trace `{}`", args.file.display()))?;
    let Some(t) = found else {
        bail!("no watermark found in `{}`", args.file.display());
    };
    println!("mark id:    {}", t.mark_id);
    println!("kind:       {}", t.kind.name());
    println!("confidence: {:.9}", t.confidence);
    println!("detail:     {}", t.detail);
    Ok(())
}

/// Asks the server to trace the file and checks the evidence it returns.
async fn online(args: &TraceArgs) -> anyhow::Result<()> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?
        .len();
    if size > MAX_ONLINE_BYTES {
        bail!(
            "`{}` is larger than the 256 MiB the server traces",
            args.file.display()
        );
    }
    let content = std::fs::read(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let client = crate::cli::connect_to(args.url.clone())?;
    let text = client
        .trace(content)
        .await
        .map_err(crate::cli::explain)
        .with_context(|| format!("cannot trace `{}`", args.file.display()))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).context("the server sent a report that is not JSON")?;
    let mark_id = report["mark_id"].as_str().unwrap_or_default();
    println!("mark id:    {mark_id}");
    println!(
        "kind:       {}",
        report["kind"].as_str().unwrap_or_default()
    );
    println!(
        "confidence: {:.9}",
        report["confidence"].as_f64().unwrap_or_default()
    );
    println!(
        "detail:     {}",
        report["detail"].as_str().unwrap_or_default()
    );
    let issued = report["issued_by"].as_array().cloned().unwrap_or_default();
    let recipients = report["recipients"].as_array().cloned().unwrap_or_default();
    for (n, event) in issued.iter().enumerate() {
        let who = recipients.get(n).unwrap_or(&serde_json::Value::Null);
        // A copy taken through a share link went to the link's verified
        // recipient (or whoever held it); its user is the link's creator.
        if let Some(link) = event["detail"]["link"].as_str() {
            let to = event["detail"]["recipient"]
                .as_str()
                .unwrap_or("whoever held the link (bound to no one)");
            let by = who["email"].as_str().unwrap_or("-");
            println!("recipient:  {to} through share link {link} (shared by {by})");
        } else if who.is_object() {
            let text = |field: &str| who[field].as_str().unwrap_or("-").to_owned();
            println!(
                "recipient:  {} <{}> of {}",
                text("name"),
                text("email"),
                text("party_name")
            );
        }
        println!("issued by:  {}", describe(event));
    }
    let evidence = match &report["evidence"] {
        serde_json::Value::Null => None,
        value => Some(value),
    };
    let (Some(evidence), false) = (evidence, issued.is_empty()) else {
        bail!("no download or view in the ledger issued mark id `{mark_id}`");
    };
    let evidence_text =
        serde_json::to_string_pretty(evidence).context("cannot encode the evidence bundle")?;
    let bundle = crate::ledger_cmd::parse_bundle(&evidence_text)
        .context("the server sent a bad evidence bundle")?;
    let summary = crate::ledger_cmd::verify_bundle(&bundle)
        .context("the server sent an evidence bundle that does not verify")?;
    // The events named are the bundle's own, each proven in the checkpoint.
    let proven: Vec<&serde_json::Value> = bundle.entries.iter().map(|e| &e.event).collect();
    if issued.iter().any(|event| !proven.contains(&event)) {
        bail!("the server named an issuing event that its evidence bundle does not prove");
    }
    for entry in &bundle.entries {
        println!(
            "ledger:     entry {} of {}, leaf hash {}, inclusion proof of {} hashes",
            entry.index,
            summary.size,
            entry.leaf_hash,
            entry.proof.as_ref().map_or(0, Vec::len)
        );
    }
    println!(
        "evidence:   {} event(s) proven against the signed checkpoint of size {}",
        summary.entries, summary.size
    );
    if let Some(path) = &args.evidence {
        crate::ledger_cmd::write_new(path, evidence_text.as_bytes())?;
        println!("wrote the evidence bundle to `{}`", path.display());
    }
    Ok(())
}

/// One issuing event as a line: when, who, what.
fn describe(event: &serde_json::Value) -> String {
    let text = |field: &str| event[field].as_str().unwrap_or("-").to_owned();
    let when = event["time_ms"]
        .as_i64()
        .and_then(|ms| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        })
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".into());
    let version = event["detail"]["version"]
        .as_i64()
        .map_or_else(|| "-".to_owned(), |v| v.to_string());
    format!(
        "{when} user {} of party {} {} {} version {version} (request {}, from {})",
        text("actor_user"),
        text("actor_party"),
        text("action"),
        text("target"),
        text("request_id"),
        text("source_addr"),
    )
}

/// Reads a mark key file, refusing one that others can read.
fn read_key(path: &Path) -> anyhow::Result<mark::MarkKey> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read the mark key file `{}`", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the mark key file `{}` is readable by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    let material = std::fs::read(path)
        .with_context(|| format!("cannot read the mark key file `{}`", path.display()))?;
    if material.len() < 16 {
        bail!(
            "the mark key file `{}` holds fewer than 16 bytes",
            path.display()
        );
    }
    // The server's `mark.key` is hex text and a newline; the key is derived
    // from the content without surrounding whitespace, as the server does.
    Ok(mark::MarkKey::derive(material.trim_ascii()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue() -> mark::Issue {
        mark::Issue {
            recipient: mark::Recipient {
                name: "Ann".into(),
                email: "ann@vendor.example".into(),
                party: "Vendor".into(),
            },
            issued_at: time_zero(),
            mark_id: mark::MarkId(0x1234_5678_9abc_def0),
        }
    }

    fn time_zero() -> mark::OffsetDateTime {
        mark::OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn traces_marked_files_and_refuses_the_rest() {
        // (file content, key file mode or none, expected error fragment or none)
        fn check(content: &[u8], key_mode: Option<u32>, err: Option<&str>) {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("f.txt");
            std::fs::write(&file, content).unwrap();
            let key_file = key_mode.map(|mode| {
                let k = dir.path().join("key");
                std::fs::write(&k, [7u8; 32]).unwrap();
                std::fs::set_permissions(&k, std::fs::Permissions::from_mode(mode)).unwrap();
                k
            });
            let got = offline(&TraceArgs {
                file,
                key_file,
                online: false,
                url: None,
                evidence: None,
            });
            match err {
                None => assert!(got.is_ok(), "{got:?}"),
                Some(e) => assert!(format!("{:#}", got.unwrap_err()).contains(e)),
            }
        }
        let body: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let marked = mark::text::mark_text(&body, "a.rs", &issue());
        check(marked.as_bytes(), None, None);
        check(marked.as_bytes(), Some(0o600), None);
        check(body.as_bytes(), None, Some("no watermark found"));
        check(marked.as_bytes(), Some(0o644), Some("readable by others"));
        check(&[0, 1, 2], None, Some("mark_unsupported"));
    }
}
