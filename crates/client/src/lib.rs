//! HTTPS client library for a Custody server: trust setup (pinned fingerprint,
//! CA file or system roots over rustls with aws-lc-rs), the JSON endpoints of
//! `/api/v1`, and streaming, digest-checked file transfers with progress bars.
//! The `custody` CLI builds its `login`, `rooms`, `ls`, `put` and `get` on it.

mod api;
mod client;
mod error;
mod path;
mod policies;
mod progress;
mod transfer;
mod trust;

pub use api::{
    FileId, FileInfo, FileVersion, LoginResponse, Room, RoomId, User, UserId, VersionId,
};
pub use client::Client;
pub use error::ClientError;
pub use path::{encode_path, encode_segment};
pub use policies::{Decision, DecisionChange, Policy, PolicySet, PolicyVersion, WhatIfReport};
pub use progress::Progress;
pub use trust::{
    Trust, certificate_fingerprint, fetch_fingerprint, format_fingerprint, parse_fingerprint,
};
