//! Upload requests (file drops) as values: what a request is, why it takes no
//! more files, the folder it drops into, and the fresh names that keep an
//! upload from ever becoming a version of a file already there. No I/O.

use crate::{FilePath, PathError, RoomId, UploadRequestId, UserId};

/// Most files one request may take.
pub const MAX_REQUEST_FILES: i64 = 1000;
/// Longest message to the recipients, in characters.
pub const MAX_REQUEST_MESSAGE: usize = 2000;
/// Most numbered names tried for one upload (`name (2)` … `name (n)`).
pub const MAX_NAME_TRIES: u32 = 1000;

/// An upload request as stored (its secret only as SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRequest {
    pub id: UploadRequestId,
    pub token_sha256: Vec<u8>,
    pub room_id: RoomId,
    /// The folder files go into: `""` (the room's top) or a prefix ending in `/`.
    pub folder: String,
    pub created_by: UserId,
    pub created_mfa: bool,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// Largest file taken, in bytes.
    pub max_file_bytes: i64,
    /// Most files taken, whatever their outcome (stored or held).
    pub max_files: i64,
    /// Files taken so far.
    pub files: i64,
    /// The recipients' addresses (each proves it with a mailed code).
    pub recipients: Vec<String>,
    /// A message shown to the recipients on the request's page.
    pub message: Option<String>,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<UserId>,
}

/// Why an upload request takes no more files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestClosed {
    Revoked,
    Expired,
    /// Its files are used up.
    Full,
}

impl RequestClosed {
    /// The reason code recorded and shown.
    pub fn reason(self) -> &'static str {
        match self {
            RequestClosed::Revoked => "upload_request_revoked",
            RequestClosed::Expired => "upload_request_expired",
            RequestClosed::Full => "upload_request_full",
        }
    }

    /// The state as listed (`revoked`, `expired`, `full`).
    pub fn state(self) -> &'static str {
        self.reason().trim_start_matches("upload_request_")
    }
}

impl UploadRequest {
    /// Whether the request still takes files at `now`, and if not why
    /// (revoked first).
    pub fn closed(&self, now: i64) -> Option<RequestClosed> {
        if self.revoked_ms.is_some() {
            Some(RequestClosed::Revoked)
        } else if now >= self.expires_ms {
            Some(RequestClosed::Expired)
        } else if self.files >= self.max_files {
            Some(RequestClosed::Full)
        } else {
            None
        }
    }

    /// The state now: `open`, `revoked`, `expired` or `full`.
    pub fn state(&self, now: i64) -> &'static str {
        self.closed(now).map_or("open", RequestClosed::state)
    }
}

/// What became of one file dropped through a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropOutcome {
    /// Stored in the folder.
    Stored,
    /// Stored, held for review (data-loss prevention, antivirus).
    Held,
    /// Refused (blocked by the inbound policy, too large, the request full).
    Refused,
}

impl DropOutcome {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DropOutcome::Stored => "stored",
            DropOutcome::Held => "held",
            DropOutcome::Refused => "refused",
        }
    }

    /// The outcome of a stable name.
    pub fn parse(s: &str) -> Result<DropOutcome, crate::UnknownName> {
        match s {
            "stored" => Ok(DropOutcome::Stored),
            "held" => Ok(DropOutcome::Held),
            "refused" => Ok(DropOutcome::Refused),
            _ => Err(crate::UnknownName {
                kind: "drop outcome",
                value: s.to_owned(),
            }),
        }
    }
}

/// A folder typed by a person: `/` or empty for the room's top, else its
/// segments (checked as a path) with one trailing `/`.
pub fn folder_prefix(raw: &str) -> Result<String, PathError> {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    Ok(format!("{}/", FilePath::parse(trimmed)?.as_str()))
}

/// The `n`-th name for `name` (`n` ≥ 2): `report (2).pdf`, `notes (2)`,
/// `.env (2)`, `archive (2).tar.gz` is not attempted — only the last
/// extension is kept apart. `n` < 2 is the name itself.
pub fn numbered_name(name: &str, n: u32) -> String {
    if n < 2 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_keep_the_extension() {
        for (name, n, want) in [
            ("report.pdf", 1, "report.pdf"),
            ("report.pdf", 2, "report (2).pdf"),
            ("report.pdf", 10, "report (10).pdf"),
            ("notes", 2, "notes (2)"),
            (".env", 3, ".env (3)"),
            ("archive.tar.gz", 2, "archive.tar (2).gz"),
        ] {
            assert_eq!(numbered_name(name, n), want, "{name} {n}");
        }
    }

    #[test]
    fn folders_end_in_one_slash() {
        for (raw, want) in [
            ("", Some("")),
            ("/", Some("")),
            ("quotes", Some("quotes/")),
            ("/quotes/2025/", Some("quotes/2025/")),
            ("../up", None),
            ("a//b", None),
        ] {
            assert_eq!(folder_prefix(raw).ok().as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn closed_requests_say_why() {
        let mut r = UploadRequest {
            id: UploadRequestId::from_random([1; 16]),
            token_sha256: vec![],
            room_id: RoomId::from_random([2; 16]),
            folder: String::new(),
            created_by: UserId::from_random([4; 16]),
            created_mfa: false,
            created_ms: 0,
            expires_ms: 100,
            max_file_bytes: 10,
            max_files: 2,
            files: 1,
            recipients: vec![],
            message: None,
            revoked_ms: None,
            revoked_by: None,
        };
        assert_eq!(r.closed(50), None);
        assert_eq!(r.state(50), "open");
        assert_eq!(r.closed(100), Some(RequestClosed::Expired));
        r.files = 2;
        assert_eq!(r.state(50), "full");
        r.revoked_ms = Some(10);
        assert_eq!(r.closed(500), Some(RequestClosed::Revoked));
    }
}
