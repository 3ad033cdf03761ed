//! Errors of the use-cases. Each carries a stable code from the catalogue
//! ([`ErrorCode`], in `model`), whose [`Kind`] the server maps to an HTTP
//! status; internal details are kept for the log only.

use model::{PathError, UnknownName};

pub use model::{ErrorCode, Kind};

/// A use-case failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("{0}")]
    UnknownName(#[from] UnknownName),
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
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
    /// The antivirus found malware (clamd's signature `signature`): an
    /// upload the room's policy blocks, or a held infected file someone
    /// tried to read or release.
    #[error("{message}")]
    Infected { signature: String, message: String },
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
    /// The stable code sent to API clients (`code().as_str()` for its string).
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Path(e) => e.code(),
            AppError::UnknownName(_) => ErrorCode::UnknownName,
            AppError::Invalid { code, .. } => *code,
            AppError::InvalidCredentials => ErrorCode::InvalidCredentials,
            AppError::MfaRequired => ErrorCode::MfaRequired,
            AppError::InvalidTotp => ErrorCode::InvalidTotp,
            AppError::AccountLocked => ErrorCode::AccountLocked,
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden { .. } => ErrorCode::Forbidden,
            AppError::NotFound => ErrorCode::NotFound,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            AppError::BodyAborted(_) => ErrorCode::BodyAborted,
            AppError::RangeNotSatisfiable { .. } => ErrorCode::RangeNotSatisfiable,
            AppError::Blocked { .. } => ErrorCode::DlpBlocked,
            AppError::JustificationRequired { .. } => ErrorCode::DlpJustificationRequired,
            AppError::Quarantined => ErrorCode::DlpQuarantined,
            AppError::Infected { .. } => ErrorCode::AvInfected,
            AppError::Busy => ErrorCode::ServerBusy,
            AppError::Integrity => ErrorCode::IntegrityError,
            AppError::StorageFull => ErrorCode::StorageFull,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The class of failure: the catalogue's kind of [`AppError::code`], so
    /// one code always answers one status.
    pub fn kind(&self) -> Kind {
        self.code().kind()
    }

    /// The reason code of a denial, for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            AppError::Forbidden { reason, .. } => reason,
            other => other.code().as_str(),
        }
    }

    /// A refusal with its own code (a bad request for all but a few codes:
    /// its status follows the code's kind).
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
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

impl From<model::BadJustification> for AppError {
    fn from(e: model::BadJustification) -> Self {
        AppError::invalid(e.code(), e.to_string())
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
