//! The JSON shapes of the REST API. Requests refuse unknown fields; times are
//! RFC 3339; enum values are the model's stable names.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use app::ErrorCode;

use crate::error::ApiError;

/// RFC 3339 text of a Unix-milliseconds time.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Unix milliseconds of an RFC 3339 text.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<i64, ApiError> {
    let t = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidTime,
            format!("`{field}` must be an RFC 3339 time"),
        )
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::new(ErrorCode::InvalidTime, format!("`{field}` is out of range")))
}

/// The largest index or size the ledger stores (its rows hold signed 64-bit
/// integers).
pub const MAX_LEDGER_INDEX: u64 = i64::MAX as u64;

/// An optional ledger index or size from the query string: a number up to
/// [`MAX_LEDGER_INDEX`]; a larger one is refused with the other malformed
/// parameters (400 `invalid_query`).
pub fn ledger_index<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Option::<u64>::deserialize(d)? {
        Some(n) if n > MAX_LEDGER_INDEX => Err(serde::de::Error::custom(format!(
            "`{n}` is larger than {MAX_LEDGER_INDEX}"
        ))),
        other => Ok(other),
    }
}

macro_rules! list_of {
    ($name:ident, $item:ty) => {
        /// A list.
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
        }
    };
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The 6-digit code of the authenticator app, when enrolled.
    pub totp: Option<String>,
    /// One of the account's recovery codes, in place of `totp` (each works once).
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token; shown once.
    pub token: String,
    pub expires_at: String,
    /// Whether this session used a second factor.
    pub mfa: bool,
    pub user: UserDto,
    /// On confirming an authenticator app only: ten single-use recovery
    /// codes, shown this once, each good for one sign-in in place of a code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub system_role: String,
    pub party_id: String,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub mfa_required: bool,
    pub created_at: String,
    /// Until when the user's security training is current.
    pub training_until: Option<String>,
}
list_of!(UserList, UserDto);

impl From<&model::User> for UserDto {
    fn from(u: &model::User) -> Self {
        UserDto {
            id: u.id.to_string(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            system_role: u.system_role.as_str().into(),
            party_id: u.party_id.to_string(),
            disabled: u.disabled,
            totp_enabled: u.totp_enabled,
            mfa_required: u.mfa_required,
            created_at: rfc3339(u.created_ms),
            training_until: u.training_until_ms.map(rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub display_name: String,
    pub party_id: String,
    /// admin, security_officer, auditor or member.
    pub system_role: String,
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub display_name: Option<String>,
    pub system_role: Option<String>,
    pub disabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PartyDto {
    pub id: String,
    pub name: String,
    /// owner or external.
    pub kind: String,
    pub country: Option<String>,
    /// prospective, active, suspended or offboarded.
    pub status: String,
    pub created_at: String,
    /// The risk tier its signed-off due diligence decided (low, medium, high,
    /// critical), and until when it is in term; the tier counts only until then.
    pub tier: Option<String>,
    pub tier_until: Option<String>,
}
list_of!(PartyList, PartyDto);

impl From<&model::Party> for PartyDto {
    fn from(p: &model::Party) -> Self {
        PartyDto {
            id: p.id.to_string(),
            name: p.name.clone(),
            kind: p.kind.as_str().into(),
            country: p.country.clone(),
            status: p.status.as_str().into(),
            created_at: rfc3339(p.created_ms),
            tier: p.tier.map(|t| t.as_str().into()),
            tier_until: p.tier_until_ms.map(rfc3339),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParty {
    pub name: String,
    pub country: Option<String>,
    /// A new party is `prospective` (being onboarded) until an admin activates
    /// it after its due diligence; a reason here makes it `active` at once,
    /// recorded with the event (1 to 500 characters, one line).
    pub active_reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchParty {
    pub name: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    pub display_name: String,
    pub party_id: String,
    /// Defaults to member.
    pub system_role: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationDto {
    pub id: String,
    pub email: String,
    pub party_id: String,
    pub expires_at: String,
    /// The single-use secret of the invitation link; shown once.
    pub token: String,
    /// The page where the invitee sets a password.
    pub accept_path: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolmentDto {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirm {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RoomDto {
    pub id: String,
    pub name: String,
    /// public, internal, confidential or restricted.
    pub classification: String,
    pub created_at: String,
    /// The caller's role in the room, if any.
    pub role: Option<String>,
    /// Agreements (kinds such as `nda`, or template names) an external party
    /// must have signed, and in term, to reach the room's content.
    pub required_agreements: Vec<String>,
    /// Field-of-use tags an external party's agreements must cover.
    pub tags: Vec<String>,
    /// When external parties may reach the content; always when absent.
    pub access_window: Option<AccessWindowDto>,
}
list_of!(RoomList, RoomDto);

/// When a room's content may be reached by external parties.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct AccessWindowDto {
    /// ISO weekdays, 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    /// `HH:MM`, local time at `utc_offset_min`.
    pub start: String,
    /// `HH:MM` after `start`; `24:00` is the end of the day.
    pub end: String,
    /// Minutes east of UTC (e.g. 60 for CET).
    #[serde(default)]
    pub utc_offset_min: i32,
}

impl From<&model::AccessWindow> for AccessWindowDto {
    fn from(w: &model::AccessWindow) -> Self {
        AccessWindowDto {
            days: w.days.clone(),
            start: w.start.clone(),
            end: w.end.clone(),
            utc_offset_min: w.utc_offset_min,
        }
    }
}

impl From<AccessWindowDto> for model::AccessWindow {
    fn from(w: AccessWindowDto) -> Self {
        model::AccessWindow {
            days: w.days,
            start: w.start,
            end: w.end,
            utc_offset_min: w.utc_offset_min,
        }
    }
}

/// `null` → `Some(None)` (remove), a value → `Some(Some(_))`, absent (with
/// `#[serde(default)]`) → `None` (keep).
fn set_or_clear<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl From<&app::RoomInfo> for RoomDto {
    fn from(r: &app::RoomInfo) -> Self {
        RoomDto {
            id: r.room.id.to_string(),
            name: r.room.name.clone(),
            classification: r.room.classification.as_str().into(),
            created_at: rfc3339(r.room.created_ms),
            role: r.role.map(|x| x.as_str().to_owned()),
            required_agreements: r.required_agreements.clone(),
            tags: r.room.tags.clone(),
            access_window: r.room.access_window.as_ref().map(AccessWindowDto::from),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    pub name: String,
    pub classification: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRoom {
    pub name: Option<String>,
    pub classification: Option<String>,
    /// Replaces the agreements the room requires: agreement kinds (`nda`,
    /// `ip_assignment`, `licence`) or template names (e.g. `mutual-nda-2026`).
    pub required_agreements: Option<Vec<String>>,
    /// Replaces the field-of-use tags (lowercase, e.g. `automotive`).
    pub tags: Option<Vec<String>>,
    /// Sets the access window; `null` removes it.
    #[serde(default, deserialize_with = "set_or_clear")]
    #[schema(value_type = Option<AccessWindowDto>)]
    pub access_window: Option<Option<AccessWindowDto>>,
}

#[derive(Serialize, ToSchema)]
pub struct GrantDto {
    pub id: String,
    pub room_id: String,
    /// user or party.
    pub subject_kind: String,
    pub subject_id: String,
    /// viewer, downloader, contributor or manager.
    pub role: String,
    pub expires_at: Option<String>,
    pub granted_by: String,
    pub reason: String,
    pub created_at: String,
}
list_of!(GrantList, GrantDto);

impl From<&model::Grant> for GrantDto {
    fn from(g: &model::Grant) -> Self {
        GrantDto {
            id: g.id.to_string(),
            room_id: g.room_id.to_string(),
            subject_kind: g.subject_kind.as_str().into(),
            subject_id: g.subject_id.to_string(),
            role: g.role.as_str().into(),
            expires_at: g.expires_ms.map(rfc3339),
            granted_by: g.granted_by.to_string(),
            reason: g.reason.clone(),
            created_at: rfc3339(g.created_ms),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    pub subject_kind: String,
    pub subject_id: String,
    pub role: String,
    pub expires_at: Option<String>,
    /// Why the access is needed (kept for reviews).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct FileDto {
    pub id: String,
    pub room_id: String,
    pub path: String,
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub version: i64,
    pub version_id: String,
    pub updated_at: String,
}
/// A page of a room's files, in path order.
#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub items: Vec<FileDto>,
    /// The `after` of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which page of a room's files to list.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FileListQuery {
    /// Files whose path sorts after this one (the `next` of the previous page).
    pub after: Option<String>,
    /// At most this many files (1 to 1000; default 1000).
    pub limit: Option<i64>,
}

impl From<&app::FileInfo> for FileDto {
    fn from(f: &app::FileInfo) -> Self {
        FileDto {
            id: f.id.to_string(),
            room_id: f.room_id.to_string(),
            path: f.path.clone(),
            size: f.size,
            sha256: hex::encode(&f.sha256),
            version: f.version,
            version_id: f.version_id.to_string(),
            updated_at: rfc3339(f.updated_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionDto {
    pub id: String,
    pub number: i64,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: String,
}
list_of!(VersionList, VersionDto);

impl From<&app::VersionInfo> for VersionDto {
    fn from(v: &app::VersionInfo) -> Self {
        VersionDto {
            id: v.id.to_string(),
            number: v.number,
            size: v.size,
            sha256: hex::encode(&v.sha256),
            uploaded_by: v.uploaded_by.to_string(),
            created_at: rfc3339(v.created_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub seq: i64,
    pub time: String,
    pub actor_user: Option<String>,
    pub actor_party: Option<String>,
    pub action: String,
    pub target: String,
    /// allowed or denied.
    pub outcome: String,
    pub reason: Option<String>,
    pub source_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The mark id of the copy or page this event issued (16 hex digits).
    pub mark_id: Option<String>,
    /// What the action was about; `null` when the event carries nothing more
    /// (or its personal data was redacted).
    #[schema(value_type = Option<Object>)]
    pub detail: serde_json::Value,
}
list_of!(EventList, EventDto);

impl From<&model::Event> for EventDto {
    fn from(e: &model::Event) -> Self {
        EventDto {
            seq: e.seq,
            time: rfc3339(e.time_ms),
            actor_user: e.actor_user.map(|u| u.to_string()),
            actor_party: e.actor_party.map(|p| p.to_string()),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.as_str().into(),
            reason: e.reason.clone(),
            source_addr: e.source_addr.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            mark_id: e.mark_id.clone(),
            detail: e.detail.clone(),
        }
    }
}

// ---- one's own account: sessions, tokens, recovery codes; an admin's remedies

/// A session of the caller's (a browser's, or an API token).
#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    pub id: String,
    /// browser or api.
    pub kind: String,
    /// The name of a token made with `POST /auth/tokens`; `null` for a sign-in.
    pub name: Option<String>,
    /// Whether it was signed in with a second factor.
    pub mfa: bool,
    pub created_at: String,
    pub expires_at: String,
    /// When it was last used (to the minute); `null` when not since it was made.
    pub last_seen_at: Option<String>,
    /// The client address it was last used from.
    pub address: Option<String>,
    /// Whether it is the one making this request.
    pub current: bool,
}
list_of!(SessionList, SessionDto);

impl SessionDto {
    pub fn of(s: &model::Session, current: model::SessionId) -> Self {
        SessionDto {
            id: s.id.to_string(),
            kind: s.kind.as_str().into(),
            name: s.name.clone(),
            mfa: s.mfa,
            created_at: rfc3339(s.created_ms),
            expires_at: rfc3339(s.expires_ms),
            last_seen_at: s.last_seen_ms.map(rfc3339),
            address: s.address.clone(),
            current: s.id == current,
        }
    }
}

/// How the caller's notifications that are not security-critical are mailed
/// (security notices always come at once).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MailPreferenceDto {
    /// `immediate` (each at once) or `daily` (one digest a day).
    #[schema(example = "daily")]
    pub digest: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionsEnded {
    /// How many sessions and tokens were ended.
    pub ended: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for (1 to 200 characters).
    pub name: String,
    /// Its lifetime in days, from 1 to the server's `token_days`.
    pub days: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenDto {
    /// The bearer secret; shown once.
    pub token: String,
    pub session: SessionDto,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once; the earlier ones no longer work.
    pub codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminReason {
    /// Why (1 to 500 characters, one line); recorded with the event.
    pub reason: String,
}

/// What an offboarding ended, counted.
#[derive(Serialize, ToSchema)]
pub struct OffboardedDto {
    pub grants: u64,
    pub links: u64,
    pub sessions: u64,
    pub invitations: u64,
    pub agreements: u64,
    pub users: u64,
}

impl From<&app::Offboarded> for OffboardedDto {
    fn from(o: &app::Offboarded) -> Self {
        OffboardedDto {
            grants: o.grants,
            links: o.links,
            sessions: o.sessions,
            invitations: o.invitations,
            agreements: o.agreements,
            users: o.users,
        }
    }
}

/// A party offboarded, and what ended.
#[derive(Serialize, ToSchema)]
pub struct PartyOffboarded {
    pub party: PartyDto,
    pub ended: OffboardedDto,
    /// The destruction attestation opened to the party (`GET /attestations/{id}`).
    pub attestation: String,
}

/// Offboarding a party.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardParty {
    /// Why (1 to 500 characters, one line); recorded with the event.
    pub reason: String,
    /// The party's officer asked to sign its destruction attestation (none:
    /// its first admin or security officer, else its first user).
    #[serde(default)]
    pub officer_email: Option<String>,
    /// Days the party has to sign (1 to 365; default 30).
    #[serde(default)]
    pub attestation_days: Option<i64>,
}

/// A user offboarded, and what ended.
#[derive(Serialize, ToSchema)]
pub struct UserOffboarded {
    pub user: UserDto,
    pub ended: OffboardedDto,
}
