//! Typed request and response bodies of the Custody REST API (`/api/v1`). Responses
//! ignore unknown fields so a newer server can add some; timestamps stay RFC 3339
//! strings because the client only shows them.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// Server-assigned id of a room.
    RoomId
);
id_type!(
    /// Server-assigned id of a file (stable across its versions).
    FileId
);
id_type!(
    /// Server-assigned id of one stored version of a file.
    VersionId
);
id_type!(
    /// Server-assigned id of a user.
    UserId
);

/// `POST /auth/login` request body.
#[derive(Serialize)]
pub(crate) struct LoginRequest<'a> {
    pub(crate) email: &'a str,
    pub(crate) password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) totp: Option<&'a str>,
}

/// `POST /rooms` request body.
#[derive(Serialize)]
pub(crate) struct CreateRoomRequest<'a> {
    pub(crate) name: &'a str,
    pub(crate) classification: &'a str,
}

/// `POST /auth/login` answer: a bearer token and who it belongs to.
#[derive(Debug, Clone, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
    pub user: User,
}

/// The logged-in user as the server describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub system_role: String,
    #[serde(default)]
    pub party_id: Option<String>,
    /// Whether the account must sign in with a second factor.
    #[serde(default)]
    pub mfa_required: bool,
    /// Whether it has enrolled an authenticator app.
    #[serde(default)]
    pub totp_enabled: bool,
}

/// A data room and the caller's effective role in it.
#[derive(Debug, Clone, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub classification: String,
    pub created_at: String,
    /// `None` when the caller has no role of their own (e.g. a system administrator).
    #[serde(default)]
    pub role: Option<String>,
}

/// The current version of a file in a room.
#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub id: FileId,
    pub room_id: RoomId,
    pub path: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub version: u64,
    pub version_id: VersionId,
    pub updated_at: String,
}

/// One stored version of a file.
#[derive(Debug, Clone, Deserialize)]
pub struct FileVersion {
    pub id: VersionId,
    pub number: u64,
    pub size: u64,
    pub sha256: String,
    #[serde(default)]
    pub uploaded_by: Option<UserId>,
    pub created_at: String,
}

/// The `{items: [...]}` envelope of list endpoints.
#[derive(Deserialize)]
pub(crate) struct Items<T> {
    pub(crate) items: Vec<T>,
}

/// A page of a room's files: `next` is the `after` of the next page.
#[derive(Deserialize)]
pub(crate) struct FilePage {
    pub(crate) items: Vec<FileInfo>,
    #[serde(default)]
    pub(crate) next: Option<String>,
}

/// The `{error: {...}}` envelope of every error answer.
#[derive(Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub(crate) error: ErrorBody,
}

#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) code: String,
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) request_id: Option<String>,
}
