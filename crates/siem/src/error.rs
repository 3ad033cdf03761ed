//! The one error type of the crate, with stable codes.

use std::path::PathBuf;

/// Why configuring or feeding a sink failed. `InvalidUrl`, `InvalidFacility`,
/// `InvalidFingerprint` and `CaFile` are the operator's to fix; the others are
/// transient failures of a destination, retried by the caller.
#[derive(Debug, thiserror::Error)]
pub enum SiemError {
    #[error("bad syslog url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "unknown syslog facility `{input}`: use a name like `authpriv` or `local0`, or a number 0-23"
    )]
    InvalidFacility { input: String },
    #[error("bad certificate fingerprint `{input}`: want 64 hex digits")]
    InvalidFingerprint { input: String },
    #[error("cannot use the ca file `{}`: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot encode event {seq}: {reason}")]
    Encode { seq: i64, reason: String },
    #[error("cannot write to `{target}`: {source}")]
    Io {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tls with `{target}` failed: {detail}")]
    Tls { target: String, detail: String },
}

impl SiemError {
    /// A stable identifier of the error kind. Do not change: logs and alerts match on it.
    pub fn code(&self) -> &'static str {
        match self {
            SiemError::InvalidUrl { .. } => "siem_invalid_url",
            SiemError::InvalidFacility { .. } => "siem_invalid_facility",
            SiemError::InvalidFingerprint { .. } => "siem_invalid_fingerprint",
            SiemError::CaFile { .. } => "siem_ca_file",
            SiemError::Encode { .. } => "siem_encode",
            SiemError::Io { .. } => "siem_io",
            SiemError::Tls { .. } => "siem_tls",
        }
    }

    /// Whether the error is a destination's transient failure (retry later)
    /// rather than a configuration mistake.
    pub fn is_transient(&self) -> bool {
        matches!(self, SiemError::Io { .. } | SiemError::Tls { .. })
    }
}
