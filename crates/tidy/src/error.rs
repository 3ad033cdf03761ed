//! Errors of reading the workspace (never a broken rule: those are messages).

use std::path::PathBuf;

/// What stopped the workspace from being read.
#[derive(Debug, thiserror::Error)]
pub enum TidyError {
    /// A file or directory could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A manifest is not valid TOML or lacks `package.name`.
    #[error("bad manifest `{path}`: {reason}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `cargo metadata` failed or printed something unreadable.
    #[error("cargo metadata: {0}")]
    Metadata(String),
}

impl TidyError {
    /// A stable name of the error's kind.
    pub fn code(&self) -> &'static str {
        match self {
            TidyError::Read { .. } => "read_failed",
            TidyError::Manifest { .. } => "bad_manifest",
            TidyError::Metadata(_) => "metadata_failed",
        }
    }
}
