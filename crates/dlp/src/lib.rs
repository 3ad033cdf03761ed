//! Data-loss prevention for Custody: text extraction from untrusted files
//! and archives with limits of its own, detectors for credentials, personal
//! data, classification markings and administrator-defined terms and
//! patterns (gitleaks configurations imported, see [`gitleaks`]), and
//! fingerprints of registered documents to recognise excerpts of them.
//!
//! Pure: no clock, no randomness, no I/O except the bytes the caller passes.
//! Findings never carry a matched value, only a redacted snippet.

mod anchors;
mod checks;
mod custom;
mod error;
mod extract;
mod finding;
mod fingerprint;
pub mod gitleaks;
mod pattern;
pub mod registry_file;
mod rules;
mod scanner;

pub use checks::iban_countries;
pub use custom::{
    Allowlist, Condition, CustomKind, CustomRule, DEFAULT_REGEX_SIZE_LIMIT, PatternRule,
    RegexTarget,
};
pub use error::DlpError;
pub use extract::{
    Extraction, Item, Limits, Problem, ProblemKind, decode_text, extract, extract_each,
    is_container, stream_text,
};
pub use finding::{Finding, Location, Severity, redact};
pub use fingerprint::{DocMatch, DocPrints, FingerprintConfig, PRINTS_VERSION, Registry};
pub use registry_file::{ExportedDocument, RegistryFile};
pub use rules::{BuiltinPattern, builtin_patterns};
pub use scanner::{
    CROWN_JEWEL, CROWN_JEWEL_SEVERITY, DEFAULT_MAX_FINDINGS, DEFAULT_MAX_ITEM_FINDINGS,
    DetectorInfo, Report, ScanConfig, Scanner,
};
