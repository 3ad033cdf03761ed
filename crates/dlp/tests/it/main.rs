//! Integration tests of the dlp crate: the labelled corpus with its
//! precision and recall (written to docs/DLP.md), containers and limits,
//! fingerprints of registered documents, custom rules and redaction.

#![allow(
    clippy::unwrap_used,
    reason = "corpus generators and helpers outside #[test] functions may unwrap"
)]

mod bounds;
mod code;
mod corpus;
mod fuzz_regressions;
mod gitleaks;
mod jewels;
mod scan;
mod util;
