//! Errors of the use-cases. Each carries a stable `code()` and a `Kind` that the
//! server maps to an HTTP status; internal details are kept for the log only.

use model::{PathError, UnknownName};

/// What class of failure, for the edge to choose a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    RangeNotSatisfiable,
    /// Well-formed but refused for its content (HTTP 422).
    Unprocessable,
    TooManyRequests,
    /// Shed under load; the caller may retry shortly (HTTP 503).
    Unavailable,
    /// The server's storage is full; nothing was stored (HTTP 507).
    InsufficientStorage,
    Internal,
}

/// A use-case failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("{0}")]
    UnknownName(#[from] UnknownName),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("the e-mail or password is wrong")]
    InvalidCredentials,
    #[error("this account needs a one-time code from its authenticator app")]
    MfaRequired,
    #[error("the one-time code is wrong or was already used")]
    InvalidTotp,
    #[error("too many failed sign-ins; the account is locked for a while")]
    AccountLocked,
    #[error("the session or token is missing, wrong or expired")]
    Unauthenticated,
    #[error("{message}")]
    Forbidden {
        reason: &'static str,
        message: String,
    },
    #[error("not found")]
    NotFound,
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("the content is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the upload was interrupted: {0}")]
    BodyAborted(String),
    #[error("the range is outside the content of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    /// Data-loss prevention refused the content: `detector` found a critical
    /// secret at `line` (1-based, in the decoded text).
    #[error("{message}")]
    Blocked {
        detector: String,
        line: u64,
        message: String,
    },
    /// Data-loss prevention needs a justification for the content (HTTP 422).
    #[error("{message}")]
    JustificationRequired { message: String },
    /// The upload was stored but is held for review by the room's data-loss
    /// policy (the web form's answer; the API answers 202).
    #[error(
        "the upload is held for review: the room's data-loss policy quarantines what it \
         contains; a security officer will release or reject it"
    )]
    Quarantined,
    #[error("the server is busy; try again in a moment")]
    Busy,
    #[error("stored content failed its integrity check")]
    Integrity,
    /// The disk under the data directory is full; nothing was stored.
    #[error("the server is out of storage space; try again later")]
    StorageFull,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The stable code sent to API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Path(e) => e.code(),
            AppError::UnknownName(_) => "unknown_name",
            AppError::Invalid { code, .. } => code,
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::MfaRequired => "mfa_required",
            AppError::InvalidTotp => "invalid_totp",
            AppError::AccountLocked => "account_locked",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden { .. } => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge { .. } => "payload_too_large",
            AppError::BodyAborted(_) => "body_aborted",
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::Blocked { .. } => "dlp_blocked",
            AppError::JustificationRequired { .. } => "dlp_justification_required",
            AppError::Quarantined => "dlp_quarantined",
            AppError::Busy => "server_busy",
            AppError::Integrity => "integrity_error",
            AppError::StorageFull => "storage_full",
            AppError::Internal(_) => "internal",
        }
    }

    /// The class of failure.
    pub fn kind(&self) -> Kind {
        match self {
            AppError::Path(_) | AppError::UnknownName(_) | AppError::Invalid { .. } => {
                Kind::BadRequest
            }
            AppError::BodyAborted(_) => Kind::BadRequest,
            AppError::InvalidCredentials | AppError::MfaRequired | AppError::InvalidTotp => {
                Kind::Unauthenticated
            }
            AppError::Unauthenticated => Kind::Unauthenticated,
            AppError::AccountLocked => Kind::TooManyRequests,
            AppError::Forbidden { .. } => Kind::Forbidden,
            AppError::NotFound => Kind::NotFound,
            AppError::Conflict(_) => Kind::Conflict,
            AppError::TooLarge { .. } => Kind::PayloadTooLarge,
            AppError::RangeNotSatisfiable { .. } => Kind::RangeNotSatisfiable,
            AppError::Blocked { .. }
            | AppError::JustificationRequired { .. }
            | AppError::Quarantined => Kind::Unprocessable,
            AppError::Busy => Kind::Unavailable,
            AppError::StorageFull => Kind::InsufficientStorage,
            AppError::Integrity | AppError::Internal(_) => Kind::Internal,
        }
    }

    /// The reason code of a denial, for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            AppError::Forbidden { reason, .. } => reason,
            other => other.code(),
        }
    }

    /// A bad-request error with its own code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// An internal failure; `detail` goes to the log, never to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(what) => AppError::Conflict(what),
            store::StoreError::Full(detail) => storage_full(&detail),
            other => AppError::internal(other),
        }
    }
}

impl From<vault::VaultError> for AppError {
    fn from(e: vault::VaultError) -> Self {
        match e {
            vault::VaultError::Integrity { .. } | vault::VaultError::BadHeader(_) => {
                AppError::Integrity
            }
            vault::VaultError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                storage_full(&e)
            }
            other => AppError::internal(other),
        }
    }
}

/// A full disk: the caller learns only that; the cause goes to the log.
fn storage_full(detail: &dyn std::fmt::Display) -> AppError {
    tracing::error!(%detail, "out of storage space");
    AppError::StorageFull
}
