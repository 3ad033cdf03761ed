//! The closed vocabularies of the domain and the records that carry them.
//! Times are Unix milliseconds (`i64`), supplied by the caller.

use serde::{Deserialize, Serialize};

use crate::conditions::AccessWindow;
use crate::ids::*;

/// An unknown name for one of the closed vocabularies below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! name_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable name, as stored and as sent over the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// Parses the stable name.
            pub fn parse(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownName { kind: $kind, value: s.chars().take(64).collect() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_enum!(
    /// Whether a party is the platform's owner or an outside organization.
    PartyKind, "party kind" { Owner = "owner", External = "external" }
);
name_enum!(
    /// Lifecycle of a party.
    PartyStatus, "party status" {
        Prospective = "prospective", Active = "active", Suspended = "suspended", Offboarded = "offboarded",
    }
);
name_enum!(
    /// A user's role across the whole platform.
    SystemRole, "system role" {
        Admin = "admin", SecurityOfficer = "security_officer", Auditor = "auditor", Member = "member",
    }
);
name_enum!(
    /// Sensitivity of a room, in increasing order.
    Classification, "classification" {
        Public = "public", Internal = "internal", Confidential = "confidential", Restricted = "restricted",
    }
);
name_enum!(
    /// A role in one room, in increasing order of power: each includes the ones before.
    RoomRole, "room role" {
        Viewer = "viewer", Downloader = "downloader", Contributor = "contributor", Manager = "manager",
    }
);
name_enum!(
    /// What a grant is given to.
    SubjectKind, "subject kind" { User = "user", Party = "party" }
);
name_enum!(
    /// Browser session or API token.
    SessionKind, "session kind" { Browser = "browser", Api = "api" }
);
name_enum!(
    /// Whether an audited attempt was allowed.
    Outcome, "outcome" { Allowed = "allowed", Denied = "denied" }
);

name_enum!(
    /// What a download hands out: the original bytes, a copy marked for its
    /// recipient, or nothing (the view-only viewer only).
    Delivery, "delivery" { Original = "original", Marked = "marked", ViewOnly = "view_only" }
);
name_enum!(
    /// What a download gets when its file cannot be marked.
    Unmarkable, "unmarkable action" { Deny = "deny", Original = "original" }
);

/// How a room's copies leave it, per room role (viewers always use the viewer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryPolicy {
    pub downloader: Delivery,
    pub contributor: Delivery,
    /// Managers, and admins acting without a grant.
    pub manager: Delivery,
    /// When a file cannot be marked (format, malformed, encrypted, too large).
    pub unmarkable: Unmarkable,
}

impl Default for DeliveryPolicy {
    /// Every copy a downloader or contributor takes is marked; managers get
    /// originals; a file that cannot be marked is not handed out.
    fn default() -> Self {
        DeliveryPolicy {
            downloader: Delivery::Marked,
            contributor: Delivery::Marked,
            manager: Delivery::Original,
            unmarkable: Unmarkable::Deny,
        }
    }
}

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: PartyId,
    pub name: String,
    pub kind: PartyKind,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    pub status: PartyStatus,
    pub created_ms: i64,
    /// The risk tier its last signed-off due diligence decided.
    pub tier: Option<crate::diligence::RiskTier>,
    /// Until when that tier is in term (exclusive); it lapses then.
    pub tier_until_ms: Option<i64>,
}

/// A person, with the security state the platform keeps about them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub party_id: PartyId,
    /// Lower-cased e-mail address; unique.
    pub email: String,
    pub display_name: String,
    pub system_role: SystemRole,
    /// PHC string of the argon2id hash; `None` until the user sets a password.
    pub password_hash: Option<String>,
    /// TOTP secret sealed by the app layer (never stored in clear).
    pub totp_secret_sealed: Option<Vec<u8>>,
    pub totp_enabled: bool,
    /// The last TOTP time step accepted, so a code cannot be replayed.
    pub totp_last_step: i64,
    /// Whether this user must use TOTP to sign in.
    pub mfa_required: bool,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until_ms: Option<i64>,
    pub created_ms: i64,
    /// Until when the user's security training is current (exclusive), as
    /// recorded by an admin; rooms classified confidential or above require it
    /// of users of external parties.
    pub training_until_ms: Option<i64>,
}

/// A browser session or an API token. Only the SHA-256 of the secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: Vec<u8>,
    pub user_id: UserId,
    pub kind: SessionKind,
    /// Whether a second factor was verified for this session.
    pub mfa: bool,
    /// SHA-256 of the CSRF token bound to a browser session.
    pub csrf_hash: Option<Vec<u8>>,
    /// The name its user gave an API token (`None`: a sign-in's session).
    pub name: Option<String>,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub revoked: bool,
    /// The client address it was last used from (at first, signed in from).
    pub address: Option<String>,
    /// When it was last used, to the minute (`None`: not since it was made).
    pub last_seen_ms: Option<i64>,
}

/// One of a user's single-use recovery codes: only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryCode {
    pub id: RecoveryCodeId,
    pub user_id: UserId,
    /// SHA-256 of the user's id and the code (see `identity`'s recovery codes).
    pub code_hash: Vec<u8>,
    pub created_ms: i64,
    /// When it was used to sign in; a used code never works again.
    pub used_ms: Option<i64>,
}

/// A single-use invitation to join a party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub token_hash: Vec<u8>,
    pub email: String,
    pub display_name: String,
    pub party_id: PartyId,
    pub system_role: SystemRole,
    pub invited_by: UserId,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub accepted_ms: Option<i64>,
}

/// A data room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: RoomId,
    pub name: String,
    pub classification: Classification,
    pub created_by: UserId,
    pub created_ms: i64,
    /// Field-of-use tags: an external party reaches the content only under an
    /// agreement in force whose field of use covers every one.
    pub tags: Vec<String>,
    /// When external parties may reach the content; always when `None`.
    pub access_window: Option<AccessWindow>,
}

/// A role in a room given to a user or to every user of a party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub room_id: RoomId,
    pub subject_kind: SubjectKind,
    /// A `UserId` or a `PartyId`, depending on `subject_kind`.
    pub subject_id: uuid::Uuid,
    pub role: RoomRole,
    pub expires_ms: Option<i64>,
    pub granted_by: UserId,
    pub reason: String,
    pub created_ms: i64,
}

/// A file in a room: a path and its versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub id: FileId,
    pub room_id: RoomId,
    pub path: String,
    pub created_ms: i64,
    /// The newest version, if any version is complete.
    pub current: Option<Version>,
}

/// One immutable, completely written version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub id: VersionId,
    pub file_id: FileId,
    /// 1, 2, 3 … per file.
    pub number: i64,
    pub blob_id: BlobId,
    pub size: i64,
    pub sha256: Vec<u8>,
    /// The data key, wrapped by the key-encryption key `kek_id`.
    pub wrapped_key: Vec<u8>,
    pub kek_id: String,
    pub uploaded_by: UserId,
    pub created_ms: i64,
}

name_enum!(
    /// What an agreement is.
    AgreementKind, "agreement kind" {
        Nda = "nda", IpAssignment = "ip_assignment", Licence = "licence",
    }
);
name_enum!(
    /// The stored lifecycle of an agreement. `expired` is never stored: an
    /// active agreement is expired from its end date on (see `Agreement::status_at`).
    AgreementStatus, "agreement status" {
        Draft = "draft", AwaitingSignature = "awaiting_signature", Active = "active",
        Expired = "expired", Terminated = "terminated",
    }
);

/// The terms of an agreement (what a licence permits); empty for an NDA.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementTerms {
    /// Field-of-use tags, e.g. `automotive`.
    #[serde(default)]
    pub field_of_use: Vec<String>,
    /// ISO 3166-1 alpha-2 country codes where the licence applies.
    #[serde(default)]
    pub territories: Vec<String>,
    /// Action names the agreement permits, e.g. `file.download`.
    #[serde(default)]
    pub permitted_actions: Vec<String>,
}

/// A signature: who signed the exact text with this SHA-256, when, from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub user_id: UserId,
    pub text_sha256: String,
    pub signed_ms: i64,
    pub source_addr: Option<String>,
}

/// An agreement issued to a party, made from a template (a named text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub party_id: PartyId,
    pub kind: AgreementKind,
    /// The template the text comes from, e.g. `mutual-nda-2026`.
    pub template: String,
    pub title: String,
    pub text: String,
    /// Lowercase hex SHA-256 of `text`.
    pub text_sha256: String,
    pub terms: AgreementTerms,
    /// As stored: never `Expired`.
    pub status: AgreementStatus,
    pub effective_ms: i64,
    pub end_ms: Option<i64>,
    pub created_by: UserId,
    pub created_ms: i64,
    pub signature: Option<Signature>,
    pub terminated_ms: Option<i64>,
}

impl Agreement {
    /// The status at `now_ms`: an active agreement past its end is `Expired`.
    pub fn status_at(&self, now_ms: i64) -> AgreementStatus {
        match self.status {
            AgreementStatus::Active if self.end_ms.is_some_and(|end| end <= now_ms) => {
                AgreementStatus::Expired
            }
            s => s,
        }
    }

    /// Whether the agreement binds at `now_ms`: signed, not terminated, and in
    /// term (effective ≤ now < end).
    pub fn in_force(&self, now_ms: i64) -> bool {
        self.status_at(now_ms) == AgreementStatus::Active && self.effective_ms <= now_ms
    }

    /// Whether a room requirement (`kind` or template name) is met by this agreement.
    pub fn satisfies(&self, requirement: &str) -> bool {
        self.kind.as_str() == requirement || self.template == requirement
    }
}

/// One audited fact. `seq` is assigned by the store and totally orders events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub time_ms: i64,
    pub actor_user: Option<UserId>,
    pub actor_party: Option<PartyId>,
    /// Dotted action name, e.g. `file.download`, `auth.login`.
    pub action: String,
    /// What the action was on, e.g. `room:<id>`, `file:<id>`, `user:<email>`.
    pub target: String,
    pub outcome: Outcome,
    /// Reason code for a denial or failure.
    pub reason: Option<String>,
    pub source_addr: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The watermark id issued for a download (reserved for watermarking).
    pub mark_id: Option<String>,
    /// Extra facts as a JSON object (sizes, digests, roles…); never secrets.
    pub detail: serde_json::Value,
}

/// The text and terms agreements of one kind are issued from; rooms may
/// require an agreement by its template's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementTemplate {
    /// Lowercase letters, digits and `-`, e.g. `mutual-nda-2026`; unique.
    pub name: String,
    pub kind: AgreementKind,
    pub title: String,
    pub text: String,
    pub terms: AgreementTerms,
    /// The term of an agreement issued from it; open-ended when `None`.
    pub duration_days: Option<i64>,
    pub created_by: UserId,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A message to one user, shown in the web UI until read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub created_ms: i64,
    /// The event kind it is about, e.g. `agreement.expire`.
    pub kind: String,
    /// What it is about, e.g. `agreement:<id>`.
    pub subject: String,
    pub message: String,
    pub read_ms: Option<i64>,
}

/// Something with an end that the expiry sweep records once it has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpiryKind {
    Agreement,
    Grant,
    Certification,
    Training,
    /// A party's risk tier (its assessment's term).
    Tier,
    /// A user's course completion (its `valid_until`).
    Course,
}

impl ExpiryKind {
    pub const ALL: [ExpiryKind; 6] = [
        ExpiryKind::Agreement,
        ExpiryKind::Grant,
        ExpiryKind::Certification,
        ExpiryKind::Training,
        ExpiryKind::Tier,
        ExpiryKind::Course,
    ];

    /// The stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryKind::Agreement => "agreement",
            ExpiryKind::Grant => "grant",
            ExpiryKind::Certification => "certification",
            ExpiryKind::Training => "training",
            ExpiryKind::Tier => "tier",
            ExpiryKind::Course => "course",
        }
    }
}

/// An end that has passed and was not yet recorded: `subject_id` is the
/// agreement, grant, certification, user (training), party (tier) or course
/// completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub kind: ExpiryKind,
    pub subject_id: uuid::Uuid,
    pub until_ms: i64,
}

name_enum!(
    /// Whom an alert is about.
    AlertEntity, "alert entity" { User = "user", Party = "party" }
);
name_enum!(
    /// Where an alert stands: open until a security officer confirms it or
    /// dismisses it with a reason (both kept for evaluation).
    AlertStatus, "alert status" { Open = "open", Confirmed = "confirmed", Dismissed = "dismissed" }
);

/// An alert the watcher raised (crates/watch), as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    pub entity: AlertEntity,
    /// The user's or party's id.
    pub entity_id: uuid::Uuid,
    /// The user's party, for an alert about a user.
    pub party_id: Option<PartyId>,
    /// The day (since the Unix epoch, UTC) it is about.
    pub day: i64,
    pub raised_ms: i64,
    /// `day` for an alert of the day's budget, else the rule raised at once
    /// (`burst`, `mass_before_end` …).
    pub kind: String,
    /// The score in thousandths of a point.
    pub score_milli: i64,
    /// The sentence naming the top contributing features and rules.
    pub sentence: String,
    /// The contributions, rules and nearby end, as JSON.
    pub detail: serde_json::Value,
    pub status: AlertStatus,
    pub feedback_reason: Option<String>,
    pub feedback_by: Option<UserId>,
    pub feedback_ms: Option<i64>,
}

name_enum!(
    /// The stages an incident case runs through, in order (docs/incidents.md):
    /// the last, the lessons learned, closes it.
    IncidentStage, "incident stage" {
        Identification = "identification", ResponseTeam = "response_team",
        Assessment = "assessment", Containment = "containment",
        Investigation = "investigation", Legal = "legal",
        Communication = "communication", Remediation = "remediation",
        LessonsLearned = "lessons_learned",
    }
);

impl IncidentStage {
    /// The stage's name as people read it.
    pub fn title(self) -> &'static str {
        match self {
            IncidentStage::Identification => "Identification and reporting",
            IncidentStage::ResponseTeam => "Response team",
            IncidentStage::Assessment => "Assessment and classification",
            IncidentStage::Containment => "Containment",
            IncidentStage::Investigation => "Forensic investigation",
            IncidentStage::Legal => "Legal and regulatory obligations",
            IncidentStage::Communication => "Communication",
            IncidentStage::Remediation => "Remediation and recovery",
            IncidentStage::LessonsLearned => "Lessons learned",
        }
    }
}

name_enum!(
    /// How grave an incident is, once assessed.
    IncidentSeverity, "incident severity" { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
);
name_enum!(
    /// Where an incident case came from.
    IncidentSource, "incident source" {
        Alert = "alert", Trace = "trace", Dlp = "dlp", Report = "report", Manual = "manual",
    }
);
name_enum!(
    /// What an incident case is about, once classified.
    IncidentCategory, "incident category" {
        Leak = "leak", Exfiltration = "exfiltration", AccountCompromise = "account_compromise",
        UnauthorisedAccess = "unauthorised_access", PolicyViolation = "policy_violation",
        Other = "other",
    }
);
name_enum!(
    /// One entry of an incident case.
    IncidentEntryKind, "incident entry kind" {
        Note = "note", Task = "task", Containment = "containment", Trace = "trace",
        Hold = "hold", Notification = "notification", Message = "message", Stage = "stage",
        Owner = "owner", Assessment = "assessment",
    }
);
name_enum!(
    /// The one-click containment actions of an incident case; each is
    /// recorded as the case's entry and as an event.
    ContainAction, "containment action" {
        SuspendUser = "suspend_user", SuspendParty = "suspend_party",
        RevokeAccess = "revoke_access", FreezeRoom = "freeze_room",
        RequireReverification = "require_reverification",
    }
);

/// An incident case as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    pub summary: String,
    pub source: IncidentSource,
    /// What the source names: an alert's id, an event's seq, a mark id.
    pub source_ref: Option<String>,
    pub stage: IncidentStage,
    pub severity: Option<IncidentSeverity>,
    pub category: Option<IncidentCategory>,
    pub opened_by: UserId,
    pub opened_ms: i64,
    pub party_id: Option<PartyId>,
    pub user_id: Option<UserId>,
    pub room_id: Option<RoomId>,
    /// When notification (of a regulator, a customer) is due by.
    pub notify_due_ms: Option<i64>,
    pub notified_ms: Option<i64>,
    /// The legal holds the case set.
    pub holds: Vec<String>,
    pub closed_ms: Option<i64>,
    pub lessons: Option<String>,
}

/// One entry of an incident case.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEntry {
    pub id: IncidentEntryId,
    pub incident_id: IncidentId,
    pub stage: IncidentStage,
    pub kind: IncidentEntryKind,
    pub body: String,
    pub detail: serde_json::Value,
    pub author: UserId,
    pub created_ms: i64,
    pub assignee: Option<UserId>,
    pub done_ms: Option<i64>,
}

name_enum!(
    /// What an access review covers: every grant to an external party or its
    /// users, the grants to one party and its users, the grants of one room,
    /// or the grants of the rooms of one classification.
    ReviewScopeKind, "review scope" {
        External = "external", Party = "party", Room = "room", Classification = "classification",
    }
);
name_enum!(
    /// What happens at the due date to a grant nobody reviewed.
    Unreviewed, "unreviewed outcome" { Remove = "remove", Keep = "keep", Flag = "flag" }
);
name_enum!(
    /// Where a campaign stands: scheduled until its start, open for decisions
    /// until its due date, then applied (its decisions took effect).
    ReviewStatus, "review status" { Scheduled = "scheduled", Open = "open", Applied = "applied" }
);
name_enum!(
    /// A reviewer's word on one grant.
    ReviewDecision, "review decision" { Confirm = "confirm", Revoke = "revoke" }
);
name_enum!(
    /// What the campaign did to a grant at its due date: kept it, ended it,
    /// kept it flagged for follow-up (unreviewed, under `flag`), or found it
    /// ended already (revoked, expired or offboarded meanwhile).
    ReviewOutcome, "review outcome" { Kept = "kept", Ended = "ended", Flagged = "flagged", Gone = "gone" }
);

/// An access-review campaign, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewCampaign {
    pub id: ReviewId,
    pub name: String,
    pub scope: ReviewScopeKind,
    /// The party id, room id or classification name the scope names (none
    /// for `external`).
    pub scope_value: Option<String>,
    /// Each room's managers on the owner's side review its grants.
    pub room_managers: bool,
    /// Each party's sponsor on the owner's side reviews the grants to it.
    pub sponsors: bool,
    /// Named staff who review every grant of the campaign.
    pub staff: Vec<UserId>,
    /// Who reviews a grant that no one else would.
    pub fallback: UserId,
    pub starts_ms: i64,
    pub due_ms: i64,
    pub unreviewed: Unreviewed,
    /// The next campaign starts this many days after this one did (none: once).
    pub every_days: Option<i64>,
    pub status: ReviewStatus,
    pub created_by: UserId,
    pub created_ms: i64,
    pub applied_ms: Option<i64>,
}

/// One grant under review in a campaign, with its decision and outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub campaign_id: ReviewId,
    pub grant_id: GrantId,
    pub room_id: RoomId,
    pub subject_kind: SubjectKind,
    pub subject_id: uuid::Uuid,
    pub role: RoomRole,
    /// Who may decide it.
    pub reviewers: Vec<UserId>,
    pub decision: Option<ReviewDecision>,
    pub decided_by: Option<UserId>,
    pub decided_ms: Option<i64>,
    pub justification: Option<String>,
    pub outcome: Option<ReviewOutcome>,
}
