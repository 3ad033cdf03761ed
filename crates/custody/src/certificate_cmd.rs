//! `custody certificate verify FILE`: checks a certificate of destruction
//! offline (docs/destruction.md): its evidence bundle (the checkpoint's
//! signature, the `room.destroyed` leaf and its inclusion proof), the note's
//! signature by the same key, the statement's SHA-256 against the one the
//! destruction event holds, and that event's target, request and ledger index
//! against the statement's.

use std::path::PathBuf;

use anyhow::{Context, bail};
use app::certificate::{
    CERTIFICATE_FORMAT, Certificate, CertificateBody, STATEMENT_FORMAT, Statement,
};
use clap::Subcommand;
use ledger::Verifier;

use crate::ledger_cmd::verify_bundle;

/// The certificate commands.
#[derive(Subcommand)]
pub enum CertificateCommand {
    /// Verify a certificate of destruction offline; prints what it certifies.
    Verify {
        /// The certificate (JSON, as `GET /api/v1/destructions/{id}/certificate` serves it).
        file: PathBuf,
        /// The ledger's verifier key the certificate must be signed by
        /// (`name+id+key`, or a file holding it); without it, the key the
        /// certificate carries is trusted and printed.
        #[arg(long)]
        key: Option<String>,
    },
}

pub fn run(command: CertificateCommand) -> anyhow::Result<()> {
    match command {
        CertificateCommand::Verify { file, key } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let key = match key {
                Some(k) if std::path::Path::new(&k).is_file() => Some(
                    std::fs::read_to_string(&k)
                        .with_context(|| format!("cannot read `{k}`"))?
                        .trim()
                        .to_owned(),
                ),
                other => other.map(|k| k.trim().to_owned()),
            };
            let checked = verify(&text, key.as_deref())?;
            println!("{checked}");
            Ok(())
        }
    }
}

/// What a verified certificate certifies.
#[derive(Debug)]
pub struct Verified {
    pub statement: Statement,
    pub declarations: usize,
    pub ledger_index: u64,
    pub checkpoint_size: u64,
    pub verifier_key: String,
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.statement;
        writeln!(
            f,
            "ok: certificate of destruction {} verifies against checkpoint of size {} signed by {}",
            s.destruction, self.checkpoint_size, self.verifier_key
        )?;
        match &s.rekeyed_to {
            None => writeln!(
                f,
                "room `{}` ({}, {}) destroyed at {} ms; ledger index {}",
                s.room.name, s.room.id, s.room.classification, s.destroyed_ms, self.ledger_index
            )?,
            Some(key) => writeln!(
                f,
                "files of room `{}` ({}, {}) purged at {} ms; ledger index {}; the rest of the room re-keyed under {key}",
                s.room.name, s.room.id, s.room.classification, s.destroyed_ms, self.ledger_index
            )?,
        }
        writeln!(f, "keys destroyed: {}", s.key_ids.join(", "))?;
        writeln!(
            f,
            "requested by {} ({}); approved by {}; executed by {}",
            s.requested_by.email,
            s.reason,
            s.approved_by
                .as_ref()
                .map_or("nobody (no approval needed)", |p| p.email.as_str()),
            s.executed_by.email
        )?;
        writeln!(f, "{} declarations attached", self.declarations)?;
        write!(f, "{} file versions destroyed:", s.versions.len())?;
        for v in &s.versions {
            write!(
                f,
                "\n  {} v{} sha256:{} ({} bytes){}",
                v.file,
                v.number,
                v.sha256,
                v.size,
                if v.deleted { " [deleted]" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// Verifies a certificate's text; with `key`, it must be signed by that key.
pub fn verify(text: &str, key: Option<&str>) -> anyhow::Result<Verified> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("the certificate is not JSON")?;
    let format = value["format"].as_str().unwrap_or_default();
    if format != CERTIFICATE_FORMAT {
        bail!(
            "not a custody certificate of destruction (format `{format}`, expected `{CERTIFICATE_FORMAT}`)"
        );
    }
    let cert: Certificate =
        serde_json::from_value(value).context("the certificate is malformed")?;
    let bundle = &cert.evidence;
    if let Some(key) = key
        && key != bundle.verifier_key
    {
        bail!(
            "the certificate is signed by `{}`, not by the given key `{key}`",
            bundle.verifier_key
        );
    }
    let summary =
        verify_bundle(bundle).context("the certificate's ledger evidence does not verify")?;
    let verifier = Verifier::parse(&bundle.verifier_key)
        .with_context(|| format!("the verifier key `{}` is not valid", bundle.verifier_key))?;
    let body_text = verifier
        .verify(&cert.note)
        .map_err(|e| anyhow::anyhow!("the certificate's signature does not verify: {e}"))?;
    let body: CertificateBody = serde_json::from_str(body_text.trim_end_matches('\n'))
        .context("the certificate's signed body is malformed")?;
    let statement: Statement = serde_json::from_str(&body.statement)
        .context("the certificate's statement is malformed")?;
    if statement.format != STATEMENT_FORMAT {
        bail!("the statement's format is `{}`", statement.format);
    }
    let [entry] = bundle.entries.as_slice() else {
        bail!(
            "the evidence holds {} entries; a certificate's holds exactly its destruction event",
            bundle.entries.len()
        );
    };
    if entry.redacted {
        bail!("the destruction event was redacted: its detail no longer binds the statement");
    }
    if entry.index != body.ledger_index {
        bail!(
            "the signed ledger index {} is not the evidence's entry {}",
            body.ledger_index,
            entry.index
        );
    }
    let event = &entry.event;
    let expected = if statement.rekeyed_to.is_some() {
        "file.purged"
    } else {
        "room.destroyed"
    };
    if event["action"] != expected {
        bail!(
            "the evidence is a `{}` event, not `{expected}`",
            event["action"]
        );
    }
    if event["target"] != format!("room:{}", statement.room.id) {
        bail!(
            "the destruction event is about `{}`, the statement about room {}",
            event["target"],
            statement.room.id
        );
    }
    let detail = &event["detail"];
    if detail["destruction"] != statement.destruction.as_str() {
        bail!("the destruction event names another request than the statement");
    }
    let digest = hex::encode(app::secrets::sha256(body.statement.as_bytes()));
    if detail["statement_sha256"] != digest.as_str() {
        bail!(
            "the statement's SHA-256 {digest} is not the one the destruction event holds ({})",
            detail["statement_sha256"]
        );
    }
    let keys: Vec<&str> = detail["key_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k.as_str()).collect())
        .unwrap_or_default();
    if keys
        != statement
            .key_ids
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    {
        bail!("the destruction event names other keys than the statement");
    }
    Ok(Verified {
        declarations: body.declarations.len(),
        ledger_index: entry.index,
        checkpoint_size: summary.size,
        verifier_key: bundle.verifier_key.clone(),
        statement,
    })
}
