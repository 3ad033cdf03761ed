//! The one error type of the client library, with a stable `code()` per variant
//! so the CLI (and scripts driving it) can tell trust failures, server refusals,
//! integrity failures and local I/O problems apart.

use std::path::PathBuf;

/// Everything that can go wrong talking to a Custody server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not an absolute `https://` URL with a host.
    #[error("invalid server url `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// A certificate fingerprint could not be parsed.
    #[error("invalid certificate fingerprint `{input}`: expected 64 hex digits, colons allowed")]
    InvalidFingerprint { input: String },

    /// A remote path is empty or holds an empty, `.` or `..` segment.
    #[error("invalid remote path `{path}`: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    /// The trust anchors file could not be read or holds no certificate.
    #[error("cannot use CA file `{}`: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },

    /// The server presented a certificate other than the pinned one.
    #[error("server certificate fingerprint {actual} does not match the pinned fingerprint")]
    FingerprintMismatch { actual: String },

    /// The server certificate failed validation against the trust anchors.
    #[error("server certificate is not trusted: {detail}")]
    UntrustedCertificate { detail: String },

    /// Any other TLS failure (protocol version, handshake, configuration).
    #[error("tls failure: {detail}")]
    Tls { detail: String },

    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server: {source}")]
    Connect { source: reqwest::Error },

    /// The HTTP exchange failed after connecting (including a body cut short).
    #[error("http exchange failed: {source}")]
    Http { source: reqwest::Error },

    /// The download stopped before the announced end of the content.
    #[error("the download was cut short after {received} bytes: {source}")]
    Truncated {
        received: u64,
        source: reqwest::Error,
    },

    /// The server answered with an error document (or a bare error status).
    /// `request_id` is what the server logged the failure under, for support.
    #[error("server refused ({status} {code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },

    /// The upload was stored but the room's data-loss policy holds it until a
    /// security officer releases it: nobody can download it until then.
    #[error(
        "the upload was stored as version {version} but is held for review by the room's data-loss policy ({why}); a security officer must release it before anyone can use it"
    )]
    Held { version: String, why: String },

    /// The server answered with a body this client does not understand.
    #[error("unexpected server response: {detail}")]
    BadResponse { detail: String },

    /// Downloaded or uploaded bytes do not match the digest the server announced.
    #[error("integrity check failed: {detail}")]
    Integrity { detail: String },

    /// A local file could not be read, written or renamed.
    #[error("local file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ClientError {
    /// A stable, machine-readable code; do not change existing values.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "invalid_url",
            Self::InvalidFingerprint { .. } => "invalid_fingerprint",
            Self::InvalidPath { .. } => "invalid_path",
            Self::CaFile { .. } => "ca_file",
            Self::FingerprintMismatch { .. } => "fingerprint_mismatch",
            Self::UntrustedCertificate { .. } => "untrusted_certificate",
            Self::Tls { .. } => "tls",
            Self::Connect { .. } => "connect",
            Self::Http { .. } => "http",
            Self::Truncated { .. } => "truncated",
            Self::Api { .. } => "api",
            Self::Held { .. } => "held",
            Self::BadResponse { .. } => "bad_response",
            Self::Integrity { .. } => "integrity",
            Self::Io { .. } => "io",
        }
    }

    /// True for the trust failures a user fixes by changing `--fingerprint` or `--ca-file`.
    pub fn is_trust_failure(&self) -> bool {
        matches!(
            self,
            Self::FingerprintMismatch { .. } | Self::UntrustedCertificate { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Classify a transport error, digging the rustls error out of its source chain.
    pub(crate) fn transport(err: reqwest::Error) -> Self {
        if let Some(tls) = find_rustls_error(&err) {
            return Self::from_rustls(tls);
        }
        if err.is_connect() || err.is_timeout() {
            Self::Connect { source: err }
        } else {
            Self::Http { source: err }
        }
    }

    pub(crate) fn from_rustls(err: &rustls::Error) -> Self {
        use rustls::{CertificateError, Error};
        match err {
            Error::InvalidCertificate(CertificateError::Other(other)) => {
                match other.0.downcast_ref::<crate::trust::PinMismatch>() {
                    Some(pin) => Self::FingerprintMismatch {
                        actual: pin.actual.clone(),
                    },
                    None => Self::UntrustedCertificate {
                        detail: err.to_string(),
                    },
                }
            }
            Error::InvalidCertificate(_) => Self::UntrustedCertificate {
                detail: err.to_string(),
            },
            _ => Self::Tls {
                detail: err.to_string(),
            },
        }
    }
}

/// `io::Error::source()` skips the error it wraps (and io errors nest), so step
/// into each `io::Error`'s inner error instead of following `source()` there.
pub(crate) fn find_rustls_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}
