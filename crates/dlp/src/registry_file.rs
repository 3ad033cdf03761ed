//! The exported crown-jewel registry: the fingerprints of every registered
//! document, without their content, in one JSON document that
//! `custody scan --registry FILE` reads offline (docs/crown-jewels.md).
//!
//! ```json
//! {"format": "custody-crown-jewels", "version": 1,
//!  "fingerprints": {"text_k": 32, "code_k": 12, "window": 6},
//!  "documents": [{"id": "…", "name": "src/engine.rs", "size": 18211,
//!                 "sha256": "…", "prints": "<base64 of DocPrints::encode>"}]}
//! ```
//!
//! A reader refuses another `format`, a `version` it does not know, and
//! documents whose fingerprints were computed with other parameters than
//! the file's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::DlpError;
use crate::fingerprint::{DocPrints, FingerprintConfig, Registry};

/// The `format` of an exported registry.
pub const REGISTRY_FORMAT: &str = "custody-crown-jewels";
/// The `version` this build writes and reads.
pub const REGISTRY_VERSION: u32 = 1;

/// The fingerprinting parameters of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// k-gram length over normalised text, in characters.
    pub text_k: usize,
    /// k-gram length over code tokens.
    pub code_k: usize,
    /// Winnowing window, in k-grams.
    pub window: usize,
}

impl From<&FingerprintConfig> for Parameters {
    fn from(c: &FingerprintConfig) -> Self {
        Parameters {
            text_k: c.text_k,
            code_k: c.code_k,
            window: c.window,
        }
    }
}

/// One registered document of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedDocument {
    /// The document's id in the registry it came from.
    pub id: String,
    /// The name findings give it.
    pub name: String,
    /// The size in bytes of what was registered.
    pub size: u64,
    /// Hex SHA-256 of what was registered.
    pub sha256: String,
    /// The fingerprints: base64 of [`DocPrints::encode`].
    pub prints: String,
}

impl ExportedDocument {
    /// A document of an export, its fingerprints encoded.
    pub fn new(id: &str, name: &str, size: u64, sha256: &str, prints: &DocPrints) -> Self {
        ExportedDocument {
            id: id.to_owned(),
            name: name.to_owned(),
            size,
            sha256: sha256.to_owned(),
            prints: STANDARD.encode(prints.encode()),
        }
    }

    /// The fingerprints, decoded.
    pub fn fingerprints(&self) -> Result<DocPrints, DlpError> {
        let bytes = STANDARD.decode(&self.prints).map_err(|e| {
            DlpError::BadFingerprints(format!("document `{}`: not base64: {e}", self.id))
        })?;
        DocPrints::decode(&bytes)
    }
}

/// An exported registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryFile {
    /// Always [`REGISTRY_FORMAT`].
    pub format: String,
    /// [`REGISTRY_VERSION`].
    pub version: u32,
    /// The parameters every document's fingerprints were computed with.
    pub fingerprints: Parameters,
    /// The documents, in the order they were registered.
    pub documents: Vec<ExportedDocument>,
}

impl RegistryFile {
    /// An export of `documents`, fingerprinted under `config`.
    pub fn new(config: &FingerprintConfig, documents: Vec<ExportedDocument>) -> Self {
        RegistryFile {
            format: REGISTRY_FORMAT.to_owned(),
            version: REGISTRY_VERSION,
            fingerprints: config.into(),
            documents,
        }
    }

    /// The export as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads an export; another format or version, or JSON of another
    /// shape, is [`DlpError::BadFingerprints`].
    pub fn parse(text: &str) -> Result<RegistryFile, DlpError> {
        let bad = |why: String| DlpError::BadFingerprints(why);
        let head: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(REGISTRY_FORMAT) {
            return Err(bad(format!(
                "not an exported crown-jewel registry (`format` is not `{REGISTRY_FORMAT}`)"
            )));
        }
        let version = head.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(REGISTRY_VERSION)) {
            return Err(bad(format!(
                "registry version {} is not one this build reads ({REGISTRY_VERSION})",
                version.map_or_else(|| "?".to_owned(), |v| v.to_string())
            )));
        }
        serde_json::from_value(head).map_err(|e| bad(format!("malformed registry: {e}")))
    }

    /// A registry of the documents, with the default thresholds.
    pub fn registry(&self) -> Result<Registry, DlpError> {
        let p = self.fingerprints;
        let mut registry = Registry::new(FingerprintConfig {
            text_k: p.text_k,
            code_k: p.code_k,
            window: p.window,
            ..FingerprintConfig::default()
        });
        for d in &self.documents {
            registry.insert(&d.id, &d.name, &d.fingerprints()?)?;
        }
        Ok(registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_reads_back_into_a_registry_that_finds_the_same() {
        let config = FingerprintConfig::default();
        let source: String = (0..30)
            .map(|n| format!("for (i, x) in items_{n}.iter().enumerate() {{ total += x * weights[i + {n}]; }}\n"))
            .collect();
        let prints = Registry::new(config.clone()).fingerprint(&source);
        let file = RegistryFile::new(
            &config,
            vec![ExportedDocument::new("j1", "mix.rs", 42, "00", &prints)],
        );
        let back = RegistryFile::parse(&file.to_json()).unwrap();
        assert_eq!(back, file);
        let registry = back.registry().unwrap();
        let found = registry.matches(&source);
        assert_eq!(found.first().map(|m| m.name.as_str()), Some("mix.rs"));

        let json = file.to_json();
        let cases = [
            ("not json", "{".to_owned()),
            (
                "other format",
                json.replace(REGISTRY_FORMAT, "something-else"),
            ),
            (
                "other version",
                json.replace("\"version\": 1", "\"version\": 2"),
            ),
            (
                "damaged prints",
                json.replace(&file.documents[0].prints, "AAAA"),
            ),
        ];
        for (label, text) in cases {
            let got = RegistryFile::parse(&text).and_then(|f| f.registry().map(|_| ()));
            assert_eq!(
                got.map_err(|e| e.code()),
                Err("dlp_bad_fingerprints"),
                "{label}"
            );
        }
    }
}
