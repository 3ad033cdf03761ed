//! `custody trace FILE [--key-file K]`: reads the watermark a file carries —
//! the PDF metadata entry or stamp text, the forensic image mark (with the
//! mark key), or the invisible text mark or banner — and prints the mark id,
//! which mark it came from and the confidence. The mark id names the issue in
//! the ledger (who received the copy, when); looking it up there comes with
//! the ledger integration.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Arguments of `custody trace`.
#[derive(clap::Args)]
pub struct TraceArgs {
    /// The file to read (PDF, PNG, JPEG, WebP, or UTF-8 text / source code).
    pub file: PathBuf,
    /// The mark key file (needed for images). Env `CUSTODY_MARK_KEY_FILE`.
    #[arg(long, env = "CUSTODY_MARK_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

/// Runs `custody trace`; an error when no mark is found.
pub fn run(args: TraceArgs) -> anyhow::Result<()> {
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
            let got = run(TraceArgs { file, key_file });
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
