//! The authorization matrix: every endpoint of `api.rs` × every kind of caller
//! → the status and error code it must answer, and for a denial the reason
//! its audit event records. Account-state denials (suspended party, TOTP not
//! enrolled) are 403 with their reason in the message; a room or record the
//! caller may not see is 404, never 403.
//!
//! The room of the matrix is classified `confidential`, tagged `automotive`
//! and requires a licence limited to France; the regular external callers
//! meet every condition (training, certification, the course `confidential`
//! rooms require, a signed licence covering the tag, requests from a French
//! network zone). Each condition column is an
//! external contributor for whom exactly one condition is unmet: it is refused
//! the content with that condition's reason, and allowed everything else.
//! Runs on SQLite, and on PostgreSQL when one is reachable.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::util::*;

const DAY: i64 = 86_400_000;
/// A client address in the `paris` zone (FR, which the licence covers).
const PARIS: &str = "203.0.113.7:40000";
/// A client address in the `berlin` zone (DE, which the licence excludes).
const BERLIN: &str = "198.51.100.7:40000";
const LICENCE_TEXT: &str = "Licence of the matrix drawings for automotive work in France.";
/// A word that a custom DLP rule finds with high severity.
const HOLD_WORD: &str = "zebracorn";
const NDA_TEXT: &str = "Keep the matrix drawings secret.";

/// The kinds of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Who {
    Admin,
    SecurityOfficer,
    Auditor,
    /// Owner-party member without any grant in the room.
    Member,
    Viewer,
    Downloader,
    Contributor,
    Manager,
    /// External member whose party holds a downloader grant.
    PartyGrant,
    NoGrant,
    /// External member whose manager grant has expired.
    Expired,
    /// External member (manager grant) of a suspended party.
    Suspended,
    /// Owner member (manager grant) disabled after signing in.
    Disabled,
    /// External member (manager grant) who has not enrolled TOTP.
    PreTotp,
    // The condition columns: external contributors, one condition unmet each.
    /// The party was offered the required licence but has not signed it.
    NoAgreement,
    /// The party signed the required licence; it has ended.
    AgreementEnded,
    /// The party's licence in force covers `aerospace`, not the room's `automotive`.
    TagsUncovered,
    /// Requests from Berlin (DE); the licence covers FR only.
    OutOfTerritory,
    /// No security training.
    Untrained,
    /// The party holds no security certification.
    Uncertified,
    /// The party's only certificate, verified, has ended.
    CertExpired,
    /// Works in the closed room: the same conditions, plus an access window
    /// (Wednesdays 09:00–10:00 UTC) that the matrix's Monday is outside.
    OutsideWindow,
    /// Has not passed the course `confidential` rooms require.
    NoCourse,
    /// Passed the course; the completion's validity has ended.
    CourseLapsed,
    /// The party's risk tier, signed off, is `critical`: the default sharing
    /// risk matrix refuses `confidential` rooms to it.
    Critical,
    /// The party's tier (`medium`) was signed off for a day and has lapsed:
    /// it counts as `unassessed`, which the matrix world refuses
    /// `confidential` rooms (every other external party holds `low`).
    TierLapsed,
}

use Who::*;

/// The column order of [`TABLE`].
const WHO: [Who; 26] = [
    Admin,
    SecurityOfficer,
    Auditor,
    Member,
    Viewer,
    Downloader,
    Contributor,
    Manager,
    PartyGrant,
    NoGrant,
    Expired,
    Suspended,
    Disabled,
    PreTotp,
    NoAgreement,
    AgreementEnded,
    TagsUncovered,
    OutOfTerritory,
    Untrained,
    Uncertified,
    CertExpired,
    OutsideWindow,
    NoCourse,
    CourseLapsed,
    Critical,
    TierLapsed,
];

/// The condition columns.
const CONDITIONS: [Who; 12] = [
    NoAgreement,
    AgreementEnded,
    TagsUncovered,
    OutOfTerritory,
    Untrained,
    Uncertified,
    CertExpired,
    OutsideWindow,
    NoCourse,
    CourseLapsed,
    Critical,
    TierLapsed,
];

/// Status, error code, a piece of the message, and the reason the newest
/// denial event of the caller must record.
#[derive(Clone, Copy, Debug)]
struct Want(
    u16,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

const OK: Want = Want(200, None, None, None);
const NEW: Want = Want(201, None, None, None);
const GONE: Want = Want(204, None, None, None);
const NF: Want = Want(404, Some("not_found"), None, None);
/// A room hidden from a caller without a grant.
const HID: Want = Want(404, Some("not_found"), None, Some("no_grant"));
/// A room hidden from a caller whose grant has expired.
const GEXP: Want = Want(404, Some("not_found"), None, Some("grant_expired"));
/// Another party's agreement.
const ANF: Want = Want(404, Some("not_found"), None, Some("not_found"));
/// The system role does not allow the action.
const ROLE: Want = Want(
    403,
    Some("forbidden"),
    Some("does not allow"),
    Some("role_forbids"),
);
/// The room role is too low.
const LOW: Want = Want(
    403,
    Some("forbidden"),
    Some("your role in this room"),
    Some("room_role_insufficient"),
);
/// What a room demands of external parties is the owner's side's to set.
const OWN: Want = Want(
    403,
    Some("forbidden"),
    Some("only the owner's managers and admins"),
    Some("role_forbids"),
);
/// Owner staff who see the room but hold no role in it.
const NOROLE: Want = Want(
    403,
    Some("forbidden"),
    Some("no role in this room"),
    Some("room_role_missing"),
);
const OFF: Want = Want(
    403,
    Some("forbidden"),
    Some("suspended"),
    Some("party_inactive"),
);
const MFA: Want = Want(
    403,
    Some("forbidden"),
    Some("enrol"),
    Some("mfa_enrollment_required"),
);
const OUT: Want = Want(401, Some("unauthenticated"), None, None);
/// Allowed, with a reason the use-case refuses.
const BADR: Want = Want(400, Some("bad_reason"), None, None);
/// Allowed, with a retention period the use-case refuses.
const BADRET: Want = Want(400, Some("bad_retention"), None, None);
/// Allowed, with an incident's text the use-case refuses.
const BADTXT: Want = Want(400, Some("bad_incident_text"), None, None);
/// Allowed, with a notification clock the use-case refuses.
const BADHRS: Want = Want(400, Some("bad_notify_hours"), None, None);
/// A room's destruction is the owner's side's to ask for.
const DOWN: Want = Want(
    403,
    Some("forbidden"),
    Some("destroy this room"),
    Some("role_forbids"),
);
const TOTP_ON: Want = Want(400, Some("totp_already_enabled"), None, None);
/// Signing in without the one-time code of an enrolled account.
const CODE: Want = Want(401, Some("mfa_required"), None, None);
/// Signing in to a disabled account: the same as a wrong password.
const NOLOGIN: Want = Want(401, Some("invalid_credentials"), None, None);
/// Confirming an enrolment that was never begun (accounts already enrolled).
const NOTPEND: Want = Want(400, Some("totp_not_pending"), None, None);
/// New recovery codes asked from a session without a second factor.
const NOMFA: Want = Want(403, Some("mfa_session_required"), None, None);
/// A wrong first code when confirming enrolment.
const BADCODE: Want = Want(401, Some("invalid_totp"), None, None);
/// Activating a party whose due diligence is not signed off.
const UNASSD: Want = Want(409, Some("party_not_assessed"), None, None);
/// Registering an empty crown jewel (allowed, but nothing to register).
const JEMPTY: Want = Want(400, Some("jewel_empty"), None, None);
/// Mapping an external party's group to an owner's system role (allowed,
/// refused by the use-case).
const SCIMROLE: Want = Want(400, Some("scim_role_not_allowed"), None, None);
/// Tracing a file that carries no mark (allowed, but nothing to find).
const NOMARK: Want = Want(400, Some("no_mark"), None, None);
// The unmet conditions, each with its reason.
const AGR: Want = Want(
    403,
    Some("forbidden"),
    Some("has not signed"),
    Some("agreement_missing"),
);
const LAPSED: Want = Want(
    403,
    Some("forbidden"),
    Some("no longer in term"),
    Some("agreement_expired"),
);
const TAGS: Want = Want(
    403,
    Some("forbidden"),
    Some("(automotive)"),
    Some("field_of_use_not_covered"),
);
const TERR: Want = Want(
    403,
    Some("forbidden"),
    Some("network zone `berlin`, DE"),
    Some("territory_not_covered"),
);
const TRAIN: Want = Want(
    403,
    Some("forbidden"),
    Some("require current security training"),
    Some("training_required"),
);
const CERT: Want = Want(
    403,
    Some("forbidden"),
    Some("valid security certification"),
    Some("certification_required"),
);
const CEXP: Want = Want(
    403,
    Some("forbidden"),
    Some("certificate expired on"),
    Some("certification_expired"),
);
const COURSE: Want = Want(
    403,
    Some("forbidden"),
    Some("you have not passed it"),
    Some("course_required"),
);
const CLAPSE: Want = Want(
    403,
    Some("forbidden"),
    Some("your completion lapsed on"),
    Some("course_expired"),
);
const TIER: Want = Want(
    403,
    Some("forbidden"),
    Some("risk tier `critical` does not allow `confidential` rooms"),
    Some("risk_tier_refused"),
);
const TLAPSE: Want = Want(
    403,
    Some("forbidden"),
    Some("risk tier `unassessed` does not allow `confidential` rooms"),
    Some("risk_tier_refused"),
);
/// Share links are the owner's side's.
const LINKOWN: Want = Want(
    403,
    Some("forbidden"),
    Some("owner's side only"),
    Some("role_forbids"),
);
const WIN: Want = Want(
    403,
    Some("forbidden"),
    Some("can be reached only"),
    Some("outside_access_window"),
);

/// Every endpoint (and target) of the matrix.
#[derive(Clone, Copy, Debug)]
enum Ep {
    /// Signing in as oneself without a one-time code (no bearer needed).
    Login,
    Me,
    TotpBegin,
    /// Confirming enrolment with a wrong code.
    TotpConfirm,
    ListSessions,
    GetMailPreference,
    PutMailPreference,
    /// The bystander's session: not the caller's to end.
    EndSession,
    CreateToken,
    RenewRecoveryCodes,
    ListParties,
    CreateParty,
    /// A party the caller does not belong to.
    GetParty,
    GetOwnParty,
    PatchParty,
    ListUsers,
    CreateUser,
    /// A user of another party.
    GetUser,
    GetSelf,
    PatchUser,
    RevokeSessions,
    /// Of the patient, an external user of another party.
    ResetMfa,
    /// Of the patient.
    UnlockUser,
    CreateInvitation,
    /// An invitation token that does not exist (no bearer needed).
    AcceptInvitation,
    PutTraining,
    DeleteTraining,
    PutCertification,
    DeleteCertification,
    ListCertifications,
    /// Of the bystander's party (unverified).
    RecordCertification,
    /// A fresh certificate of the bystander's party.
    VerifyCertification,
    /// The admin as the bystander's party's sponsor.
    PutSponsor,
    ListClassifications,
    /// `confidential` requires what it requires already.
    PutClassification,
    ListCourses,
    /// A new course each time.
    PublishCourse,
    /// The spare course (required nowhere).
    GetCourse,
    /// A new version of the spare course (no retake).
    PublishVersion,
    MyCourses,
    /// The quiz course (required nowhere, never republished).
    TakeCourse,
    /// Wrong answers to the quiz course: recorded, not passed.
    AttemptCourse,
    /// The bystander's completion of the spare course.
    RecordCompletion,
    /// `confidential` requires what it requires already.
    PutClassificationCourses,
    GetRoomCourses,
    /// What the room requires already (nothing of its own).
    PutRoomCourses,
    ListRooms,
    CreateRoom,
    GetRoom,
    PatchRoom,
    DeleteRoom,
    ListGrants,
    /// To a user of another party (the bystander).
    CreateGrant,
    /// To a user of the caller's own party (owner callers: an owner engineer).
    CreateGrantOwnParty,
    /// The bystander's grant.
    RevokeGrant,
    /// An owner engineer's grant.
    RevokeOwnerSideGrant,
    GetDelivery,
    PutDelivery,
    GetRoomDlp,
    PutRoomDlp,
    GetRoomCertifications,
    /// What the room requires already (nothing of its own).
    PutRoomCertifications,
    ListFiles,
    PutFile,
    GetFile,
    ListVersions,
    RestoreVersion,
    GetContent,
    /// A share link to the room's file.
    CreateLink,
    CreateFolderLink,
    ListLinks,
    /// A fresh link the curator made.
    RevokeLink,
    /// An upload request into the room.
    CreateUploadRequest,
    ListUploadRequests,
    /// A fresh upload request the curator made.
    GetUploadRequest,
    RevokeUploadRequest,
    Pages,
    Page,
    DeleteFile,
    ListAgreements,
    CreateAgreement,
    /// Another party's agreement (the bystander's).
    GetAgreement,
    /// The caller's party's licence (owner callers: the regular party's).
    GetOwnAgreement,
    /// A fresh agreement of the caller's party (owner callers: another party's).
    SignAgreement,
    /// Likewise.
    TerminateAgreement,
    OfferAgreement,
    ListTemplates,
    PutTemplate,
    IssueTemplate,
    ListZones,
    PutZones,
    ListNotifications,
    /// Another user's notification.
    ReadNotification,
    Events,
    RedactEvent,
    Checkpoint,
    VerifierKey,
    Entries,
    InclusionProof,
    ConsistencyProof,
    Checkpoints,
    Bundle,
    LedgerAudit,
    Trace,
    ListPolicies,
    ApplyPolicies,
    Simulate,
    WhatIf,
    PolicyVersions,
    /// Version 1, which the admin's cell of `ApplyPolicies` stored.
    PolicyVersion,
    Quarantine,
    /// A fresh upload held for review (each of the three).
    HeldContent,
    Release,
    Reject,
    ListRules,
    AddRule,
    RemoveRule,
    ImportRules,
    ListAlerts,
    /// An alert that does not exist.
    GetAlert,
    /// Likewise.
    AlertFeedback,
    ListIncidents,
    /// With a blank title: refused for it when allowed.
    OpenIncident,
    /// The incident operations below name a case that does not exist.
    GetIncident,
    AssessIncident,
    IncidentStage,
    IncidentEntry,
    IncidentTaskDone,
    ContainIncident,
    TraceIncident,
    HoldIncident,
    IncidentNotified,
    IncidentMessage,
    CloseIncident,
    IncidentTimeline,
    IncidentBundle,
    /// With a blank summary line: refused for it when allowed (everyone).
    ReportLeak,
    GetIncidentSettings,
    /// With zero hours: refused for them when allowed.
    PutIncidentSettings,
    /// With an empty reason: refused for it when allowed.
    RequestDestruction,
    /// A destruction that does not exist.
    ConfirmDestruction,
    /// With zero days: refused for it when allowed.
    PutRetention,
    GetFileRetention,
    /// With zero days: refused for it when allowed.
    PutFileRetention,
    GetPurgeSettings,
    /// Cleared (no grace period), as it was.
    PutPurgeSettings,
    ListDestructions,
    GetDestruction,
    ApproveDestruction,
    RejectDestruction,
    Certificate,
    ListHolds,
    /// With an empty reason.
    SetHold,
    /// A hold that does not exist.
    ReleaseHold,
    ListJewels,
    /// A file that does not exist.
    RegisterJewelFile,
    /// A room that does not exist.
    RegisterJewelTree,
    /// An empty document: refused for it when allowed.
    RegisterJewelUpload,
    /// A crown jewel that does not exist.
    UnregisterJewel,
    ExportJewels,
    ListScimTokens,
    CreateScimToken,
    RevokeScimToken,
    ListScimMappings,
    CreateScimMapping,
    DeleteScimMapping,
    ListReviews,
    /// A campaign of every external grant, opened at once.
    CreateReview,
    AssignedReviews,
    /// A campaign that does not exist.
    GetReview,
    /// Likewise.
    MyReview,
    /// Likewise.
    DecideReview,
    /// Likewise.
    ReviewCsv,
    /// Likewise.
    ReviewBundle,
    ListAttestations,
    /// An attestation that does not exist.
    GetAttestation,
    /// Likewise.
    SendAttestation,
    ListQuestionnaires,
    SaveQuestionnaire,
    GetQuestionnaire,
    /// A fresh prospective party, never assessed.
    ActivateParty,
    /// A fresh party of its own each time.
    OffboardParty,
    /// A fresh party, offboarded by the admin first.
    ReonboardParty,
    /// A fresh user of a fresh party.
    OffboardUser,
    /// To the contact of the bystander's party.
    SendQuestionnaire,
    /// The bystander's party's.
    PartyAssessments,
    /// The caller's own party's (empty for most).
    MyAssessments,
    /// An assessment that does not exist.
    Answer,
    /// Likewise.
    Reply,
    /// A submitted assessment of the bystander's party.
    FollowUp,
    /// A fresh submitted assessment of the bystander's party.
    Decide,
    GetRisk,
    /// The settings in force, stored again.
    PutRisk,
    /// It ends the caller's session.
    Logout,
    /// Asked with the spare session (the admin: with `ctx.admin`), which it
    /// keeps.
    EndOtherSessions,
    /// The caller's own: self-access, open whatever the role or account
    /// state (`self.user`). Last: it ends every session of the caller
    /// (`ctx.admin`'s too, for the admin's column), so it is asked with a
    /// spare session ([`World::spare`]) that `Logout` left alone.
    RevokeOwnSessions,
}

/// An incident id that no case has.
const NO_INCIDENT: &str = "00000000-0000-4000-8000-000000c0ffee";
/// An alert id that no alert has.
const NO_ALERT: &str = "00000000-0000-4000-8000-00000000a1e7";
/// A campaign id that no access review has.
const NO_REVIEW: &str = "00000000-0000-4000-8000-0000000e1e77";
/// An attestation id that no attestation has.
const NO_ATTESTATION: &str = "00000000-0000-4000-8000-00000a77e570";

#[rustfmt::skip]
const TABLE: &[(Ep, [Want; 26])] = &[
    //                         Admin    SecOff   Auditor  Member   Viewer   Downl.   Contrib.  Manager  PartyG.  NoGrant  Expired  Susp.  Disabl.  PreTotp  NoAgr.   Ended    Tags     Territ.  Untrain.  Uncert.  CertExp. Window   NoCourse CLapsed  Tier    TLapsed
    // The owner's admins and security officers must use TOTP: enrolled, they
    // sign in with a code.
    (Ep::Login,               [CODE,    CODE,    OK,      OK,      CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    NOLOGIN, OK,      CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE,    CODE]),
    (Ep::Me,                  [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::TotpBegin,           [TOTP_ON, TOTP_ON, OK,      OK,      TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, OFF,     OUT,     OK,      TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON, TOTP_ON]),
    (Ep::TotpConfirm,         [NOTPEND, NOTPEND, BADCODE, BADCODE, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, OFF,     OUT,     BADCODE, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND, NOTPEND]),
    // One's own sessions stay open before enrolment; a token needs the factor the account must use.
    (Ep::ListSessions,        [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::GetMailPreference,   [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PutMailPreference,   [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::EndSession,          [NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OFF,     OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::CreateToken,         [NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     OFF,     OUT,     MFA,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW,     NEW]),
    (Ep::RenewRecoveryCodes,  [OK,      OK,      NOMFA,   NOMFA,   OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     NOMFA,   OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::ListParties,         [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateParty,         [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetParty,            [OK,      OK,      OK,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::GetOwnParty,         [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PatchParty,          [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListUsers,           [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateUser,          [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetUser,             [OK,      OK,      OK,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::GetSelf,             [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PatchUser,           [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RevokeSessions,      [GONE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ResetMfa,            [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::UnlockUser,          [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateInvitation,    [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::AcceptInvitation,    [NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::PutTraining,         [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::DeleteTraining,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutCertification,    [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::DeleteCertification, [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Certificates: the owner's staff read them, admins record them, admins
    // and security officers verify them.
    (Ep::ListCertifications,   [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RecordCertification,  [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::VerifyCertification,  [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutSponsor,           [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListClassifications,  [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutClassification,    [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Training courses: the owner's staff read them, admins publish them and
    // set what classifications require, admins and security officers record
    // courses completed elsewhere; everyone takes them.
    (Ep::ListCourses,         [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PublishCourse,       [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetCourse,           [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PublishVersion,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::MyCourses,           [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::TakeCourse,          [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::AttemptCourse,       [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::RecordCompletion,    [NEW,     NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutClassificationCourses,[OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetRoomCourses,      [OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PutRoomCourses,      [OK,      NOROLE,  NOROLE,  HID,     OWN,     OWN,     OWN,     OWN,     OWN,     HID,     GEXP,    OFF,     OUT,     MFA,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN]),
    (Ep::ListRooms,           [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::CreateRoom,          [NEW,     ROLE,    ROLE,    NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetRoom,             [OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PatchRoom,           [OK,      NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OK,      LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::DeleteRoom,          [GONE,    NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     GONE,    LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::ListGrants,          [OK,      OK,      OK,      HID,     LOW,     LOW,     LOW,     OK,      LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    // An external manager manages its own party's access only: granting to
    // another party, or revoking the owner's side's grants, is the owner's.
    (Ep::CreateGrant,         [NEW,     NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OWN,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::CreateGrantOwnParty, [NEW,     NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     NEW,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::RevokeGrant,         [GONE,    NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OWN,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::RevokeOwnerSideGrant,[GONE,    NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OWN,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::GetDelivery,         [OK,      NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OK,      LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    // Watermarking is an owner-side condition: an external manager reads it only.
    (Ep::PutDelivery,         [OK,      NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     OWN,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW,     LOW]),
    (Ep::GetRoomDlp,          [OK,      NOROLE,  NOROLE,  HID,     OWN,     OWN,     OWN,     OWN,     OWN,     HID,     GEXP,    OFF,     OUT,     MFA,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN]),
    (Ep::PutRoomDlp,          [OK,      NOROLE,  NOROLE,  HID,     OWN,     OWN,     OWN,     OWN,     OWN,     HID,     GEXP,    OFF,     OUT,     MFA,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN]),
    (Ep::GetRoomCertifications,[OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::PutRoomCertifications,[OK,      NOROLE,  NOROLE,  HID,     OWN,     OWN,     OWN,     OWN,     OWN,     HID,     GEXP,    OFF,     OUT,     MFA,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN,     OWN]),
    (Ep::ListFiles,           [OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::PutFile,             [NOROLE,  NOROLE,  NOROLE,  HID,     LOW,     LOW,     NEW,     NEW,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::GetFile,             [OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::ListVersions,        [OK,      OK,      OK,      HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    // Restoring is uploading the old content again: the upload's rules.
    (Ep::RestoreVersion,      [NOROLE,  NOROLE,  NOROLE,  HID,     LOW,     LOW,     NEW,     NEW,     LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::GetContent,          [NOROLE,  NOROLE,  NOROLE,  HID,     LOW,     OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    // Share links: made by the owner's users who may download in the room,
    // listed and revoked by its owner managers and the owner's admins.
    (Ep::CreateLink,          [NOROLE,  NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::CreateFolderLink,    [NOROLE,  NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::ListLinks,           [OK,      NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::RevokeLink,          [OK,      NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    // Upload requests: made by the owner's users who may upload in the room,
    // listed, read and revoked by its owner managers and the owner's admins.
    (Ep::CreateUploadRequest, [NOROLE,  NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::ListUploadRequests,  [OK,      NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::GetUploadRequest,    [OK,      NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::RevokeUploadRequest, [OK,      NOROLE,  NOROLE,  HID,     LINKOWN, LINKOWN, LINKOWN, LINKOWN, LINKOWN, HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    // Owner staff see file metadata without a room role, never content: the
    // viewer's pages are `file.view`, refused as `GetContent` is.
    (Ep::Pages,               [NOROLE,  NOROLE,  NOROLE,  HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::Page,                [NOROLE,  NOROLE,  NOROLE,  HID,     OK,      OK,      OK,      OK,      OK,      HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::DeleteFile,          [NOROLE,  NOROLE,  NOROLE,  HID,     LOW,     LOW,     LOW,     GONE,    LOW,     HID,     GEXP,    OFF,     OUT,     MFA,     AGR,     LAPSED,  TAGS,    TERR,    TRAIN,   CERT,    CEXP,    WIN,     COURSE,  CLAPSE,  TIER,    TLAPSE]),
    (Ep::ListAgreements,      [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::CreateAgreement,     [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetAgreement,        [OK,      OK,      OK,      ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     OFF,     OUT,     MFA,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF,     ANF]),
    (Ep::GetOwnAgreement,     [OK,      OK,      OK,      ANF,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::SignAgreement,       [ROLE,    ROLE,    ROLE,    ANF,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::TerminateAgreement,  [OK,      ROLE,    ROLE,    ANF,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::OfferAgreement,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListTemplates,       [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutTemplate,         [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IssueTemplate,       [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListZones,           [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutZones,            [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListNotifications,   [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::ReadNotification,    [NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OFF,     OUT,     MFA,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::Events,              [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RedactEvent,         [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Checkpoint,          [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::VerifierKey,         [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Entries,             [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::InclusionProof,      [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ConsistencyProof,    [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Checkpoints,         [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Bundle,              [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::LedgerAudit,         [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Trace,               [NOMARK,  NOMARK,  NOMARK,  ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListPolicies,        [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ApplyPolicies,       [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Simulate,            [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::WhatIf,              [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PolicyVersions,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PolicyVersion,       [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Quarantine,          [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::HeldContent,         [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Release,             [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Reject,              [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListRules,           [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::AddRule,             [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ImportRules,         [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RemoveRule,          [GONE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListAlerts,          [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetAlert,            [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::AlertFeedback,       [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Incident cases: the owner's security officers and admins; reporting a leak: everyone.
    (Ep::ListIncidents,       [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::OpenIncident,        [BADTXT,  BADTXT,  ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetIncident,         [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::AssessIncident,      [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentStage,       [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentEntry,       [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentTaskDone,    [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ContainIncident,     [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::TraceIncident,       [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::HoldIncident,        [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentNotified,    [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentMessage,     [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CloseIncident,       [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentTimeline,    [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::IncidentBundle,      [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ReportLeak,          [BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  OFF,     OUT,     MFA,     BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT,  BADTXT]),
    (Ep::GetIncidentSettings, [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutIncidentSettings, [BADHRS,  BADHRS,  ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Destruction: asked for by the room's owner side; read by the owner's
    // staff; decided, and legal holds set, by admins and security officers.
    (Ep::RequestDestruction,  [BADR,    NOROLE,  NOROLE,  HID,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    HID,     GEXP,    OFF,     OUT,     MFA,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN]),
    (Ep::ConfirmDestruction,  [NF,      NOROLE,  NOROLE,  HID,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    HID,     GEXP,    OFF,     OUT,     MFA,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN]),
    (Ep::PutRetention,        [BADRET,  NOROLE,  NOROLE,  HID,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    HID,     GEXP,    OFF,     OUT,     MFA,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN]),
    (Ep::GetFileRetention,    [OK,      NOROLE,  NOROLE,  HID,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    HID,     GEXP,    OFF,     OUT,     MFA,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN]),
    (Ep::PutFileRetention,    [BADRET,  NOROLE,  NOROLE,  HID,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    HID,     GEXP,    OFF,     OUT,     MFA,     DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN,    DOWN]),
    (Ep::GetPurgeSettings,    [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutPurgeSettings,    [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListDestructions,    [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetDestruction,      [NF,      NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ApproveDestruction,  [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RejectDestruction,   [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Certificate,         [NF,      NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListHolds,           [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::SetHold,             [BADR,    BADR,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ReleaseHold,         [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Crown jewels: the owner's admins and security officers only.
    (Ep::ListJewels,           [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RegisterJewelFile,    [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RegisterJewelTree,    [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RegisterJewelUpload,  [JEMPTY,  JEMPTY,  ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::UnregisterJewel,      [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ExportJewels,         [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // SCIM provisioning, administered: the owner's admins only.
    (Ep::ListScimTokens,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateScimToken,     [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::RevokeScimToken,     [NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListScimMappings,    [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateScimMapping,   [SCIMROLE,ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::DeleteScimMapping,   [NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Access reviews: the owner's admins and security officers run
    // campaigns; the owner's users decide what they review (the use-case
    // admits a grant's reviewers only); an external party never reviews.
    (Ep::ListReviews,         [OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::CreateReview,        [NEW,     NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::AssignedReviews,     [OK,      OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetReview,           [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::MyReview,            [NF,      NF,      NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::DecideReview,        [NF,      NF,      NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ReviewCsv,           [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ReviewBundle,        [NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Destruction attestations: read by the owner's admins, security
    // officers and auditors; sent again by its admins.
    (Ep::ListAttestations,    [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetAttestation,      [NF,      NF,      NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::SendAttestation,     [NF,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ListQuestionnaires,  [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::SaveQuestionnaire,   [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::GetQuestionnaire,    [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ActivateParty,       [UNASSD,  ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::OffboardParty,       [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::ReonboardParty,      [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::OffboardUser,        [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::SendQuestionnaire,   [NEW,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    // Reviewing a party: the owner's admins and security officers; a caller
    // who may not see the party is told it is not there.
    (Ep::PartyAssessments,    [OK,      OK,      ROLE,    NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::MyAssessments,       [ROLE,    ROLE,    ROLE,    ROLE,    OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     MFA,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::Answer,              [ROLE,    ROLE,    ROLE,    ROLE,    NF,      NF,      NF,      NF,      NF,      NF,      NF,      OFF,     OUT,     MFA,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::Reply,               [ROLE,    ROLE,    ROLE,    ROLE,    NF,      NF,      NF,      NF,      NF,      NF,      NF,      OFF,     OUT,     MFA,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::FollowUp,            [OK,      OK,      ROLE,    NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::Decide,              [OK,      OK,      ROLE,    NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      OUT,     NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF,      NF]),
    (Ep::GetRisk,             [OK,      OK,      OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::PutRisk,             [OK,      ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    OFF,     OUT,     MFA,     ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE,    ROLE]),
    (Ep::Logout,              [GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    OUT,     GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE]),
    (Ep::EndOtherSessions,    [OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OFF,     OUT,     OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK,      OK]),
    (Ep::RevokeOwnSessions,   [GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    OUT,     GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE,    GONE]),
];

impl Ep {
    /// The route of the endpoint: method and path template under `/api/v1`,
    /// as the OpenAPI document names it.
    fn route(self) -> (&'static str, &'static str) {
        match self {
            Ep::Login => ("POST", "/auth/login"),
            Ep::Me => ("GET", "/auth/me"),
            Ep::TotpBegin => ("POST", "/auth/totp"),
            Ep::TotpConfirm => ("POST", "/auth/totp/confirm"),
            Ep::ListSessions => ("GET", "/auth/sessions"),
            Ep::GetMailPreference => ("GET", "/auth/mail-preference"),
            Ep::PutMailPreference => ("PUT", "/auth/mail-preference"),
            Ep::EndSession => ("DELETE", "/auth/sessions/{id}"),
            Ep::EndOtherSessions => ("POST", "/auth/sessions/end-others"),
            Ep::CreateToken => ("POST", "/auth/tokens"),
            Ep::RenewRecoveryCodes => ("POST", "/auth/recovery-codes"),
            Ep::ResetMfa => ("POST", "/users/{id}/mfa/reset"),
            Ep::UnlockUser => ("POST", "/users/{id}/unlock"),
            Ep::ListParties => ("GET", "/parties"),
            Ep::CreateParty => ("POST", "/parties"),
            Ep::GetParty | Ep::GetOwnParty => ("GET", "/parties/{id}"),
            Ep::PatchParty => ("PATCH", "/parties/{id}"),
            Ep::ListUsers => ("GET", "/users"),
            Ep::CreateUser => ("POST", "/users"),
            Ep::GetUser | Ep::GetSelf => ("GET", "/users/{id}"),
            Ep::PatchUser => ("PATCH", "/users/{id}"),
            Ep::RevokeSessions | Ep::RevokeOwnSessions => ("POST", "/users/{id}/revoke-sessions"),
            Ep::CreateInvitation => ("POST", "/invitations"),
            Ep::AcceptInvitation => ("POST", "/invitations/{token}/accept"),
            Ep::PutTraining => ("PUT", "/users/{id}/training"),
            Ep::DeleteTraining => ("DELETE", "/users/{id}/training"),
            Ep::PutCertification => ("PUT", "/parties/{id}/certification"),
            Ep::DeleteCertification => ("DELETE", "/parties/{id}/certification"),
            Ep::ListCertifications => ("GET", "/parties/{id}/certifications"),
            Ep::RecordCertification => ("POST", "/parties/{id}/certifications"),
            Ep::VerifyCertification => ("POST", "/certifications/{id}/verify"),
            Ep::PutSponsor => ("PUT", "/parties/{id}/sponsor"),
            Ep::ListClassifications => ("GET", "/classifications"),
            Ep::PutClassification => ("PUT", "/classifications/{classification}"),
            Ep::ListCourses => ("GET", "/courses"),
            Ep::PublishCourse => ("POST", "/courses"),
            Ep::GetCourse => ("GET", "/courses/{id}"),
            Ep::PublishVersion => ("PUT", "/courses/{id}"),
            Ep::MyCourses => ("GET", "/courses/mine"),
            Ep::TakeCourse => ("GET", "/courses/{id}/take"),
            Ep::AttemptCourse => ("POST", "/courses/{id}/attempts"),
            Ep::RecordCompletion => ("POST", "/courses/{id}/completions"),
            Ep::PutClassificationCourses => ("PUT", "/classifications/{classification}/courses"),
            Ep::GetRoomCourses => ("GET", "/rooms/{id}/courses"),
            Ep::PutRoomCourses => ("PUT", "/rooms/{id}/courses"),
            Ep::ListRooms => ("GET", "/rooms"),
            Ep::CreateRoom => ("POST", "/rooms"),
            Ep::GetRoom => ("GET", "/rooms/{id}"),
            Ep::PatchRoom => ("PATCH", "/rooms/{id}"),
            Ep::DeleteRoom => ("DELETE", "/rooms/{id}"),
            Ep::ListGrants => ("GET", "/rooms/{id}/grants"),
            Ep::CreateGrant | Ep::CreateGrantOwnParty => ("POST", "/rooms/{id}/grants"),
            Ep::RevokeGrant | Ep::RevokeOwnerSideGrant => {
                ("DELETE", "/rooms/{id}/grants/{grant_id}")
            }
            Ep::GetDelivery => ("GET", "/rooms/{id}/delivery"),
            Ep::PutDelivery => ("PUT", "/rooms/{id}/delivery"),
            Ep::GetRoomDlp => ("GET", "/rooms/{id}/dlp"),
            Ep::PutRoomDlp => ("PUT", "/rooms/{id}/dlp"),
            Ep::GetRoomCertifications => ("GET", "/rooms/{id}/certifications"),
            Ep::PutRoomCertifications => ("PUT", "/rooms/{id}/certifications"),
            Ep::ListFiles => ("GET", "/rooms/{id}/files"),
            Ep::PutFile => ("PUT", "/rooms/{id}/files/{path}"),
            Ep::GetFile => ("GET", "/files/{id}"),
            Ep::ListVersions => ("GET", "/files/{id}/versions"),
            Ep::RestoreVersion => ("POST", "/files/{id}/versions/{version}/restore"),
            Ep::GetContent => ("GET", "/files/{id}/content"),
            Ep::CreateLink => ("POST", "/files/{id}/links"),
            Ep::CreateFolderLink => ("POST", "/rooms/{id}/links"),
            Ep::ListLinks => ("GET", "/rooms/{id}/links"),
            Ep::RevokeLink => ("DELETE", "/rooms/{id}/links/{link_id}"),
            Ep::CreateUploadRequest => ("POST", "/rooms/{id}/upload-requests"),
            Ep::ListUploadRequests => ("GET", "/rooms/{id}/upload-requests"),
            Ep::GetUploadRequest => ("GET", "/rooms/{id}/upload-requests/{request_id}"),
            Ep::RevokeUploadRequest => ("POST", "/rooms/{id}/upload-requests/{request_id}/revoke"),
            Ep::Pages => ("GET", "/files/{id}/pages"),
            Ep::Page => ("GET", "/files/{id}/pages/{page}"),
            Ep::DeleteFile => ("DELETE", "/files/{id}"),
            Ep::ListAgreements => ("GET", "/agreements"),
            Ep::CreateAgreement => ("POST", "/agreements"),
            Ep::GetAgreement | Ep::GetOwnAgreement => ("GET", "/agreements/{id}"),
            Ep::SignAgreement => ("POST", "/agreements/{id}/sign"),
            Ep::TerminateAgreement => ("POST", "/agreements/{id}/terminate"),
            Ep::OfferAgreement => ("POST", "/agreements/{id}/offer"),
            Ep::ListTemplates => ("GET", "/agreement-templates"),
            Ep::PutTemplate => ("PUT", "/agreement-templates/{name}"),
            Ep::IssueTemplate => ("POST", "/agreement-templates/{name}/issue"),
            Ep::ListQuestionnaires => ("GET", "/questionnaires"),
            Ep::SaveQuestionnaire => ("POST", "/questionnaires"),
            Ep::GetQuestionnaire => ("GET", "/questionnaires/{id}"),
            Ep::ActivateParty => ("POST", "/parties/{id}/activate"),
            Ep::OffboardParty => ("POST", "/parties/{id}/offboard"),
            Ep::ReonboardParty => ("POST", "/parties/{id}/reonboard"),
            Ep::OffboardUser => ("POST", "/users/{id}/offboard"),
            Ep::SendQuestionnaire => ("POST", "/parties/{id}/assessments"),
            Ep::PartyAssessments => ("GET", "/parties/{id}/assessments"),
            Ep::MyAssessments => ("GET", "/assessments/mine"),
            Ep::Answer => ("PUT", "/assessments/{id}/answers"),
            Ep::Reply => ("POST", "/assessments/{id}/replies"),
            Ep::FollowUp => ("POST", "/parties/{id}/assessments/{assessment}/follow-ups"),
            Ep::Decide => ("POST", "/parties/{id}/assessments/{assessment}/decision"),
            Ep::GetRisk => ("GET", "/risk"),
            Ep::PutRisk => ("PUT", "/risk"),
            Ep::ListZones => ("GET", "/zones"),
            Ep::PutZones => ("PUT", "/zones"),
            Ep::ListNotifications => ("GET", "/notifications"),
            Ep::ReadNotification => ("POST", "/notifications/{id}/read"),
            Ep::Events => ("GET", "/events"),
            Ep::RedactEvent => ("POST", "/events/{seq}/redact"),
            Ep::Checkpoint => ("GET", "/ledger/checkpoint"),
            Ep::VerifierKey => ("GET", "/ledger/verifier-key"),
            Ep::Entries => ("GET", "/ledger/entries"),
            Ep::InclusionProof => ("GET", "/ledger/proof/inclusion"),
            Ep::ConsistencyProof => ("GET", "/ledger/proof/consistency"),
            Ep::Checkpoints => ("GET", "/ledger/checkpoints"),
            Ep::Bundle => ("GET", "/ledger/bundle"),
            Ep::LedgerAudit => ("POST", "/ledger/audit"),
            Ep::Trace => ("POST", "/trace"),
            Ep::ListPolicies => ("GET", "/policies"),
            Ep::ApplyPolicies => ("PUT", "/policies"),
            Ep::Simulate => ("POST", "/policies/simulate"),
            Ep::WhatIf => ("POST", "/policies/whatif"),
            Ep::PolicyVersions => ("GET", "/policies/versions"),
            Ep::PolicyVersion => ("GET", "/policies/versions/{n}"),
            Ep::Quarantine => ("GET", "/dlp/quarantine"),
            Ep::HeldContent => ("GET", "/dlp/quarantine/{version}/content"),
            Ep::Release => ("POST", "/dlp/quarantine/{version}/release"),
            Ep::Reject => ("POST", "/dlp/quarantine/{version}/reject"),
            Ep::ListRules => ("GET", "/dlp/rules"),
            Ep::AddRule => ("POST", "/dlp/rules"),
            Ep::RemoveRule => ("DELETE", "/dlp/rules/{id}"),
            Ep::ImportRules => ("POST", "/dlp/rules/import"),
            Ep::ListAlerts => ("GET", "/alerts"),
            Ep::GetAlert => ("GET", "/alerts/{id}"),
            Ep::AlertFeedback => ("POST", "/alerts/{id}/feedback"),
            Ep::ListIncidents => ("GET", "/incidents"),
            Ep::OpenIncident => ("POST", "/incidents"),
            Ep::GetIncident => ("GET", "/incidents/{id}"),
            Ep::AssessIncident => ("POST", "/incidents/{id}/assessment"),
            Ep::IncidentStage => ("POST", "/incidents/{id}/stage"),
            Ep::IncidentEntry => ("POST", "/incidents/{id}/entries"),
            Ep::IncidentTaskDone => ("POST", "/incidents/{id}/tasks/{task}/done"),
            Ep::ContainIncident => ("POST", "/incidents/{id}/containment"),
            Ep::TraceIncident => ("POST", "/incidents/{id}/traces"),
            Ep::HoldIncident => ("POST", "/incidents/{id}/hold"),
            Ep::IncidentNotified => ("POST", "/incidents/{id}/notification"),
            Ep::IncidentMessage => ("POST", "/incidents/{id}/messages"),
            Ep::CloseIncident => ("POST", "/incidents/{id}/close"),
            Ep::IncidentTimeline => ("GET", "/incidents/{id}/timeline"),
            Ep::IncidentBundle => ("GET", "/incidents/{id}/bundle"),
            Ep::ReportLeak => ("POST", "/leak-reports"),
            Ep::GetIncidentSettings => ("GET", "/incident-settings"),
            Ep::PutIncidentSettings => ("PUT", "/incident-settings"),
            Ep::RequestDestruction => ("POST", "/rooms/{id}/destructions"),
            Ep::ConfirmDestruction => ("POST", "/rooms/{id}/destructions/{destruction}/confirm"),
            Ep::PutRetention => ("PUT", "/rooms/{id}/retention"),
            Ep::GetFileRetention => ("GET", "/files/{id}/retention"),
            Ep::PutFileRetention => ("PUT", "/files/{id}/retention"),
            Ep::GetPurgeSettings => ("GET", "/purge-settings"),
            Ep::PutPurgeSettings => ("PUT", "/purge-settings"),
            Ep::ListDestructions => ("GET", "/destructions"),
            Ep::GetDestruction => ("GET", "/destructions/{id}"),
            Ep::ApproveDestruction => ("POST", "/destructions/{id}/approve"),
            Ep::RejectDestruction => ("POST", "/destructions/{id}/reject"),
            Ep::Certificate => ("GET", "/destructions/{id}/certificate"),
            Ep::ListHolds => ("GET", "/legal-holds"),
            Ep::SetHold => ("POST", "/legal-holds"),
            Ep::ReleaseHold => ("POST", "/legal-holds/{id}/release"),
            Ep::ListJewels => ("GET", "/jewels"),
            Ep::RegisterJewelFile => ("POST", "/jewels/files/{id}"),
            Ep::RegisterJewelTree => ("POST", "/jewels/rooms/{id}"),
            Ep::RegisterJewelUpload => ("POST", "/jewels/uploads"),
            Ep::UnregisterJewel => ("DELETE", "/jewels/{id}"),
            Ep::ExportJewels => ("GET", "/jewels/export"),
            Ep::ListScimTokens => ("GET", "/parties/{id}/scim/tokens"),
            Ep::CreateScimToken => ("POST", "/parties/{id}/scim/tokens"),
            Ep::RevokeScimToken => ("DELETE", "/parties/{id}/scim/tokens/{token_id}"),
            Ep::ListScimMappings => ("GET", "/parties/{id}/scim/mappings"),
            Ep::CreateScimMapping => ("POST", "/parties/{id}/scim/mappings"),
            Ep::DeleteScimMapping => ("DELETE", "/parties/{id}/scim/mappings/{mapping_id}"),
            Ep::ListReviews => ("GET", "/reviews"),
            Ep::CreateReview => ("POST", "/reviews"),
            Ep::AssignedReviews => ("GET", "/reviews/assigned"),
            Ep::GetReview => ("GET", "/reviews/{id}"),
            Ep::MyReview => ("GET", "/reviews/{id}/mine"),
            Ep::DecideReview => ("POST", "/reviews/{id}/decisions"),
            Ep::ReviewCsv => ("GET", "/reviews/{id}/report.csv"),
            Ep::ReviewBundle => ("GET", "/reviews/{id}/bundle"),
            Ep::ListAttestations => ("GET", "/attestations"),
            Ep::GetAttestation => ("GET", "/attestations/{id}"),
            Ep::SendAttestation => ("POST", "/attestations/{id}/send"),
            Ep::Logout => ("POST", "/auth/logout"),
        }
    }
}

/// Whether `path` (its query aside) is an instance of the route `template`;
/// the last placeholder of a template may take several segments.
fn on_route(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (want, got): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    let last_takes_rest = template.ends_with("{path}");
    let lengths_fit = want.len() == got.len() || (last_takes_rest && got.len() > want.len());
    lengths_fit
        && want
            .iter()
            .zip(&got)
            .all(|(w, g)| (w.starts_with('{') && !g.is_empty()) || w == g)
}

/// The fixtures the matrix runs against.
struct World {
    users: HashMap<Who, User>,
    /// Owner member who created the rooms (their manager); not a matrix column.
    curator: User,
    /// External member of a party of its own: the target of user look-ups and grants.
    bystander: User,
    /// A session of the bystander's (which no one else may end).
    bystander_session: String,
    /// External member of the bystander's party: whose second factor is
    /// reset and account unlocked.
    patient: User,
    /// `ctx.admin`: the admin's token for the rows that end every other
    /// session of the caller's.
    admin: String,
    /// Owner member with no column: the target of owner-side grants.
    engineer: User,
    /// External member of the regular party with no column: the target of
    /// grants an external manager makes to its own party.
    acme_spare: User,
    partner: String,
    room: String,
    file: String,
    /// The room of the `OutsideWindow` column: the matrix room's conditions
    /// and grants, plus an access window that is closed.
    closed_room: String,
    closed_file: String,
    /// The licence issued to each external party, by party id.
    licences: HashMap<String, String>,
    /// A notification of the bystander.
    notification: String,
    /// An event that the admin may redact.
    redactable: i64,
    /// A second session of each caller, signed in before its party was
    /// suspended or its account disabled: the token of `RevokeOwnSessions`.
    spare: HashMap<Who, String>,
    /// A questionnaire version of one yes/no question `q`.
    questionnaire: String,
    /// A submitted assessment of the bystander's party.
    assessment: String,
    /// External member of the bystander's party with no column, whose
    /// sessions no row ends: the contact its questionnaires are sent to.
    contact: User,
    /// The course `confidential` rooms require; a spare course and a quiz
    /// course, required nowhere, for the course rows.
    course: String,
    spare_course: String,
    quiz_course: String,
}

/// The questionnaire of the matrix: one required yes/no question `q`.
fn questionnaire() -> Value {
    json!({"name": "matrix-diligence", "title": "Matrix", "body": {
        "sections": [{"title": "S", "questions": [
            {"key": "q", "text": "Q?", "kind": "yes_no", "required": true,
             "score": {"rule": "yes_no", "yes": 10, "no": 0}}]}],
        "thresholds": {"low": 10, "medium": 5, "high": 1}}})
}

/// A course of the matrix: one page, one question (the second choice is right).
fn matrix_course(title: &str, validity_days: i64) -> Value {
    json!({"title": title, "pages": [{"title": "P", "body": "Read this."}],
        "questions": [{"text": "Q?", "choices": ["no", "yes"], "correct": [1]}],
        "pass_percent": 100, "validity_days": validity_days})
}

/// The zones of the matrix.
fn zones() -> Value {
    json!({"items": [
        {"name": "paris", "country": "FR", "ranges": ["203.0.113.0/24"]},
        {"name": "berlin", "country": "DE", "ranges": ["198.51.100.0/24"]},
    ]})
}

/// The `id` of a JSON answer.
fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// The parties of the matrix (ids).
struct Parties {
    /// The regular party: certified, its licence signed.
    acme: String,
    partner: String,
    suspended: String,
    /// The bystander's.
    other: String,
    unsigned: String,
    lapsed: String,
    narrow: String,
    uncertified: String,
    /// Its only certificate ends while the matrix is built.
    cert_lapsed: String,
    /// Signed off `critical`.
    critical: String,
    /// Signed off `medium`, in term for a day only.
    tier_lapsed: String,
}

impl Parties {
    async fn create(ctx: &Ctx) -> Parties {
        Parties {
            acme: ctx.party("Acme").await,
            partner: ctx.party("Partner").await,
            suspended: ctx.party("Suspended Co").await,
            other: ctx.party("Other").await,
            unsigned: ctx.party("Unsigned Co").await,
            lapsed: ctx.party("Lapsed Co").await,
            narrow: ctx.party("Narrow Co").await,
            uncertified: ctx.party("Uncertified Co").await,
            cert_lapsed: ctx.party("Lapsed Cert Co").await,
            critical: ctx.party("Critical Co").await,
            tier_lapsed: ctx.party("Lapsed Tier Co").await,
        }
    }
}

/// A user of each column, signed in.
async fn callers(ctx: &Ctx, p: &Parties) -> HashMap<Who, User> {
    // A session of its own, so that the logout row leaves `ctx.admin` alone.
    let login = ctx.login_totp(ADMIN_EMAIL, &ctx.admin_totp).await;
    let admin = User {
        id: login["user"]["id"].as_str().unwrap_or_default().to_owned(),
        email: ADMIN_EMAIL.into(),
        party: ctx.owner_party.clone(),
        token: login["token"].as_str().unwrap_or_default().to_owned(),
        totp: Some(ctx.admin_totp.clone()),
    };
    let mut users = HashMap::from([(Admin, admin)]);
    for (who, role) in [
        (SecurityOfficer, "security_officer"),
        (Auditor, "auditor"),
        (Member, "member"),
        (Disabled, "member"),
    ] {
        users.insert(who, ctx.staff(role).await);
    }
    for who in [
        Viewer,
        Downloader,
        Contributor,
        Manager,
        NoGrant,
        Expired,
        OutOfTerritory,
        Untrained,
        OutsideWindow,
        NoCourse,
        CourseLapsed,
    ] {
        users.insert(who, ctx.external(&p.acme).await);
    }
    users.insert(PreTotp, ctx.user_in(&p.acme, "member", false).await);
    for (who, party) in [
        (PartyGrant, &p.partner),
        (Suspended, &p.suspended),
        (NoAgreement, &p.unsigned),
        (AgreementEnded, &p.lapsed),
        (TagsUncovered, &p.narrow),
        (Uncertified, &p.uncertified),
        (CertExpired, &p.cert_lapsed),
        (Critical, &p.critical),
        (TierLapsed, &p.tier_lapsed),
    ] {
        users.insert(who, ctx.external(party).await);
    }
    users
}

/// A second session of each caller (signed in, when enrolled, with the next
/// step's one-time code: the current one may be spent).
async fn spare_sessions(ctx: &Ctx, users: &HashMap<Who, User>) -> HashMap<Who, String> {
    let mut spare = HashMap::new();
    for (who, user) in users {
        let code = user.totp.as_deref().map(|secret| {
            let next = app::totp::step_of(ctx.now()) + 1;
            format!("{:06}", app::totp::code_at(secret, next, 6))
        });
        let login = ctx.login_ok(&user.email, code.as_deref()).await;
        let token = login["token"].as_str().unwrap_or_default().to_owned();
        spare.insert(*who, token);
    }
    spare
}

/// Trains every external caller but the untrained one, and certifies every
/// party but the uncertified one (and the bystander's).
async fn train_and_certify(ctx: &Ctx, users: &HashMap<Who, User>, p: &Parties) {
    let year = json!({"valid_until": rfc3339(ctx.now() + 365 * DAY)});
    for (who, user) in users {
        if user.party != ctx.owner_party && *who != Untrained {
            let path = format!("/users/{}/training", user.id);
            ctx.must(&ctx.admin, "PUT", &path, year.clone(), 200).await;
        }
    }
    for party in [
        &p.acme,
        &p.partner,
        &p.suspended,
        &p.unsigned,
        &p.lapsed,
        &p.narrow,
        &p.critical,
        &p.tier_lapsed,
    ] {
        let path = format!("/parties/{party}/certification");
        let mut body = year.clone();
        body["name"] = json!("TISAX AL3");
        ctx.must(&ctx.admin, "PUT", &path, body, 200).await;
    }
    // The lapsed party's certificate ends before the first row is asked.
    let path = format!("/parties/{}/certification", p.cert_lapsed);
    let body = json!({"name": "ISO/IEC 27001", "valid_until": rfc3339(ctx.now() + 1000)});
    ctx.must(&ctx.admin, "PUT", &path, body, 200).await;
}

/// Signs off every external party of a condition column: `low` (in term a
/// year), the critical column's `critical`, and the lapsed column's `medium`,
/// whose term the matrix world sets to one day and lets pass (the clock moves
/// a day before anything else is made: from Sunday to Monday). The matrix
/// world refuses `confidential` rooms to `unassessed` parties, as an admin
/// wanting a stricter default sets it (docs/policy.md), so the lapse shows.
/// The bystander's party stays unassessed: it has no grant to the rooms.
async fn assess_parties(ctx: &Ctx, p: &Parties) {
    let mut risk = ctx.must(&ctx.admin, "GET", "/risk", Value::Null, 200).await;
    for cell in risk["matrix"]["cells"].as_array_mut().into_iter().flatten() {
        if cell["classification"] == "confidential" && cell["tier"] == "unassessed" {
            cell["verdict"] = json!("refused");
            cell["controls"] = json!([]);
        }
    }
    risk["periods"]["medium"] = json!(1);
    ctx.must(&ctx.admin, "PUT", "/risk", risk, 200).await;
    let sign_off = |party: String, tier: &'static str| async move {
        let contact = ctx.external(&party).await;
        ctx.assess(&party, &contact, tier).await;
    };
    sign_off(p.tier_lapsed.clone(), "medium").await;
    ctx.advance(DAY + 1000);
    sign_off(p.critical.clone(), "critical").await;
    for party in [
        &p.acme,
        &p.partner,
        &p.suspended,
        &p.unsigned,
        &p.lapsed,
        &p.narrow,
        &p.uncertified,
        &p.cert_lapsed,
    ] {
        sign_off(party.clone(), "low").await;
    }
}

/// Issues a licence (FR only) to each external party: signed by the regular
/// parties, offered but unsigned, ending at once, or covering another field of
/// use. Returns the licence of each party.
async fn issue_licences(
    ctx: &Ctx,
    users: &HashMap<Who, User>,
    p: &Parties,
) -> HashMap<String, String> {
    let year = Some(ctx.now() + 365 * DAY);
    let now = Some(ctx.now() + 1000);
    let mut licences = HashMap::new();
    for (party, field, end, signer) in [
        (&p.acme, "automotive", year, Some(Viewer)),
        (&p.partner, "automotive", year, Some(PartyGrant)),
        (&p.uncertified, "automotive", year, Some(Uncertified)),
        (&p.cert_lapsed, "automotive", year, Some(CertExpired)),
        (&p.critical, "automotive", year, Some(Critical)),
        (&p.tier_lapsed, "automotive", year, Some(TierLapsed)),
        (&p.suspended, "automotive", year, None),
        (&p.other, "automotive", year, None),
        (&p.unsigned, "automotive", year, None),
        (&p.lapsed, "automotive", now, Some(AgreementEnded)),
        (&p.narrow, "aerospace", year, Some(TagsUncovered)),
    ] {
        let terms = json!({"field_of_use": [field], "territories": ["FR"]});
        let id = agreement(ctx, party, "licence", LICENCE_TEXT, terms, end, false).await;
        if let Some(who) = signer {
            sign(ctx, &users[&who], &id, LICENCE_TEXT).await;
        }
        licences.insert(party.clone(), id);
    }
    licences
}

impl World {
    async fn build(ctx: &Ctx) -> World {
        let p = Parties::create(ctx).await;
        let q = ctx
            .must(&ctx.admin, "POST", "/questionnaires", questionnaire(), 201)
            .await;
        let questionnaire = id_of(&q);
        assess_parties(ctx, &p).await;
        let users = callers(ctx, &p).await;
        let curator = ctx.staff("member").await;
        let bystander = ctx.external(&p.other).await;
        let engineer = ctx.staff("member").await;
        let acme_spare = ctx.external(&p.acme).await;
        let patient = ctx.external(&p.other).await;
        let theirs = ctx
            .must(&bystander.token, "GET", "/auth/sessions", Value::Null, 200)
            .await;
        let bystander_session = id_of(&theirs["items"][0]);
        ctx.must(&ctx.admin, "PUT", "/zones", zones(), 200).await;
        train_and_certify(ctx, &users, &p).await;
        // The bystander's training ends at once (for a notification).
        let soon = json!({"valid_until": rfc3339(ctx.now() + 1000)});
        let path = format!("/users/{}/training", bystander.id);
        ctx.must(&ctx.admin, "PUT", &path, soon, 200).await;
        let licences = issue_licences(ctx, &users, &p).await;
        let rule = json!({"id": "matrix.hold", "message": "a code name", "severity": "high",
            "kind": {"keywords": [HOLD_WORD]}});
        ctx.must(&ctx.admin, "POST", "/dlp/rules", rule, 201).await;
        let nda = json!({"kind": "nda", "title": "Matrix NDA", "text": NDA_TEXT});
        let path = "/agreement-templates/matrix-nda";
        ctx.must(&ctx.admin, "PUT", path, nda, 200).await;
        // What a share link's recipient signs in the rooms requiring a licence.
        let licence = json!({"kind": "licence", "title": "Matrix licence", "text": NDA_TEXT});
        let path = "/agreement-templates/matrix-licence";
        ctx.must(&ctx.admin, "PUT", path, licence, 200).await;

        let mut w = World {
            users,
            curator,
            bystander,
            bystander_session,
            patient,
            admin: ctx.admin.clone(),
            engineer,
            acme_spare,
            partner: p.partner,
            room: String::new(),
            file: String::new(),
            closed_room: String::new(),
            closed_file: String::new(),
            licences,
            notification: String::new(),
            redactable: 0,
            spare: HashMap::new(),
            questionnaire,
            assessment: String::new(),
            contact: ctx.external(&p.other).await,
            course: String::new(),
            spare_course: String::new(),
            quiz_course: String::new(),
        };
        w.assessment = w.submitted(ctx).await;
        w.take_courses(ctx).await;
        // Each room moves the clock 2 s: the short licence and training end.
        w.room = w.fresh_room(ctx, false).await;
        w.closed_room = w.fresh_room(ctx, true).await;
        let c = &w.curator.token;
        let file = ctx.upload(c, &w.room, "docs/spec.txt", b"the spec").await;
        w.file = id_of(&file);
        let file = ctx
            .upload(c, &w.closed_room, "docs/spec.txt", b"the spec")
            .await;
        w.closed_file = id_of(&file);

        assert!(
            app::Agreements(&ctx.app)
                .sweep_expiries()
                .await
                .unwrap_or(0)
                > 0,
            "nothing ended"
        );
        let by = &w.bystander.token;
        let mine = ctx
            .must(by, "GET", "/notifications", Value::Null, 200)
            .await;
        w.notification = id_of(&mine["items"][0]);
        assert!(!w.notification.is_empty(), "no notification: {mine}");
        let path = format!("/events?actor={}&limit=1", w.bystander.id);
        let first = ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await;
        w.redactable = first["items"][0]["seq"].as_i64().unwrap_or_default();
        w.spare = spare_sessions(ctx, &w.users).await;

        let suspend = json!({"status": "suspended"});
        let path = format!("/parties/{}", p.suspended);
        ctx.must(&ctx.admin, "PATCH", &path, suspend, 200).await;
        let disabled = &w.users[&Disabled].id;
        let off = json!({"disabled": true});
        ctx.must(&ctx.admin, "PATCH", &format!("/users/{disabled}"), off, 200)
            .await;
        w
    }

    /// A confidential room made by the curator, tagged `automotive`, requiring
    /// a licence, with every column's grant (closed: with an access window the
    /// matrix's Monday is outside); the expiring grant has expired when this
    /// returns.
    async fn fresh_room(&self, ctx: &Ctx, closed: bool) -> String {
        let c = &self.curator.token;
        let name = format!("Room {}", ctx.unique());
        let body = json!({"name": name, "classification": "confidential"});
        let room = id_of(&ctx.must(c, "POST", "/rooms", body, 201).await);
        let mut conditions = json!({"tags": ["automotive"], "required_agreements": ["licence"]});
        if closed {
            conditions["access_window"] = json!({"days": [3], "start": "09:00", "end": "10:00"});
        }
        let path = format!("/rooms/{room}");
        ctx.must(c, "PATCH", &path, conditions, 200).await;
        let roles = [
            (Viewer, "viewer"),
            (Downloader, "downloader"),
            (Contributor, "contributor"),
            (Manager, "manager"),
            (Suspended, "manager"),
            (Disabled, "manager"),
            (PreTotp, "manager"),
        ];
        let conditions = CONDITIONS.map(|who| (who, "contributor"));
        for (who, role) in roles.into_iter().chain(conditions) {
            let id = &self.users[&who].id;
            ctx.grant(c, &room, "user", id, role, None).await;
        }
        ctx.grant(c, &room, "party", &self.partner, "downloader", None)
            .await;
        let soon = Some(ctx.now() + 1000);
        let expired = &self.users[&Expired].id;
        ctx.grant(c, &room, "user", expired, "manager", soon).await;
        ctx.advance(2000);
        room
    }

    /// Publishes the matrix's courses and requires one for `confidential`
    /// (valid a year): every external user has completed it (recorded by the
    /// admin) but the course columns; the lapsed column's completion ends
    /// before the first row is asked (each room moves the clock 2 s).
    async fn take_courses(&mut self, ctx: &Ctx) {
        let admin = &ctx.admin;
        let publish = |title: &'static str, days: i64| async move {
            let v = ctx
                .must(admin, "POST", "/courses", matrix_course(title, days), 201)
                .await;
            v["course_id"].as_str().unwrap_or_default().to_owned()
        };
        self.course = publish("Matrix handling", 365).await;
        self.spare_course = publish("Matrix spare", 30).await;
        self.quiz_course = publish("Matrix quiz", 30).await;
        let required = json!({"courses": [self.course]});
        let path = "/classifications/confidential/courses";
        ctx.must(admin, "PUT", path, required, 200).await;
        let path = format!("/courses/{}/completions", self.course);
        let mut passed: Vec<&User> = self
            .users
            .iter()
            .filter(|(who, u)| {
                u.party != ctx.owner_party && !matches!(who, NoCourse | CourseLapsed)
            })
            .map(|(_, u)| u)
            .collect();
        passed.extend([
            &self.bystander,
            &self.patient,
            &self.contact,
            &self.acme_spare,
        ]);
        for u in passed {
            let done = json!({"user_id": u.id, "completed_at": rfc3339(ctx.now())});
            ctx.must(admin, "POST", &path, done, 201).await;
        }
        let ending = rfc3339(ctx.now() - 365 * DAY + 1000);
        let lapsed = json!({"user_id": self.users[&CourseLapsed].id, "completed_at": ending});
        ctx.must(admin, "POST", &path, lapsed, 201).await;
    }

    /// A fresh upload of the curator held for review (the matrix room is
    /// shared externally: its default inbound policy holds high findings);
    /// returns its version id.
    async fn held(&self, ctx: &Ctx) -> String {
        let path = format!("held/{}.txt", ctx.unique());
        let content = format!("{HOLD_WORD} details\n").into_bytes();
        let r = ctx
            .put(&self.curator.token, &self.room, &path, content)
            .await;
        assert_eq!(r.status.as_u16(), 202, "held upload: {}", r.text());
        r.json()["version_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A questionnaire sent to the bystander's party's contact and submitted: its id.
    async fn submitted(&self, ctx: &Ctx) -> String {
        let send = json!({"questionnaire_id": self.questionnaire, "contact_id": self.contact.id});
        let path = format!("/parties/{}/assessments", self.bystander.party);
        let sent = ctx.must(&ctx.admin, "POST", &path, send, 201).await;
        let id = sent["assessment"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let answers = json!({"answers": {"q": "yes"}, "submit": true});
        let path = format!("/assessments/{id}/answers");
        ctx.must(&self.contact.token, "PUT", &path, answers, 200)
            .await;
        id
    }

    /// The token `who` asks `ep` with: its spare session for the rows that
    /// end every other session of its own or every one, else its matrix
    /// session. The admin asks those with `ctx.admin`, which the checks of
    /// denial events read with and which ending the admin's other sessions
    /// therefore keeps.
    fn token(&self, ep: Ep, who: Who) -> String {
        match ep {
            Ep::EndOtherSessions | Ep::RevokeOwnSessions if who == Admin => self.admin.clone(),
            Ep::EndOtherSessions | Ep::RevokeOwnSessions => self.spare[&who].clone(),
            _ => self.users[&who].token.clone(),
        }
    }

    /// The room and file `who` works on.
    fn room_of(&self, who: Who) -> (&str, &str) {
        if who == OutsideWindow {
            (&self.closed_room, &self.closed_file)
        } else {
            (&self.room, &self.file)
        }
    }

    /// The party whose agreements `who` acts on: its own when external and
    /// active, else the bystander's.
    fn agreement_party(&self, ctx: &Ctx, who: Who) -> &str {
        let me = &self.users[&who];
        if me.party == ctx.owner_party || who == Suspended {
            &self.bystander.party
        } else {
            &me.party
        }
    }

    /// The request of `ep` as `who` (creating what a destructive call consumes).
    async fn request(&self, ctx: &Ctx, ep: Ep, who: Who) -> (&'static str, String, Payload) {
        let me = &self.users[&who];
        let (room, file) = self.room_of(who);
        let by = &self.bystander;
        let n = ctx.unique();
        let admin = &ctx.admin;
        let none = Payload::None;
        let j = Payload::Json;
        match ep {
            Ep::Login => (
                "POST",
                "/auth/login".into(),
                j(json!({"email": me.email, "password": PASSWORD})),
            ),
            Ep::Me => ("GET", "/auth/me".into(), none),
            Ep::TotpBegin => ("POST", "/auth/totp".into(), none),
            Ep::TotpConfirm => (
                "POST",
                "/auth/totp/confirm".into(),
                j(json!({"code": "000000"})),
            ),
            Ep::ListSessions => ("GET", "/auth/sessions".into(), none),
            Ep::GetMailPreference => ("GET", "/auth/mail-preference".into(), none),
            Ep::PutMailPreference => (
                "PUT",
                "/auth/mail-preference".into(),
                j(json!({"digest": "daily"})),
            ),
            Ep::EndSession => (
                "DELETE",
                format!("/auth/sessions/{}", self.bystander_session),
                none,
            ),
            Ep::EndOtherSessions => ("POST", "/auth/sessions/end-others".into(), none),
            Ep::CreateToken => (
                "POST",
                "/auth/tokens".into(),
                j(json!({"name": format!("matrix {n}"), "days": 1})),
            ),
            Ep::RenewRecoveryCodes => ("POST", "/auth/recovery-codes".into(), none),
            Ep::ResetMfa => (
                "POST",
                format!("/users/{}/mfa/reset", self.patient.id),
                j(json!({"reason": "matrix: lost the phone"})),
            ),
            Ep::UnlockUser => (
                "POST",
                format!("/users/{}/unlock", self.patient.id),
                j(json!({"reason": "matrix: identity checked"})),
            ),
            Ep::ListParties => ("GET", "/parties".into(), none),
            Ep::CreateParty => (
                "POST",
                "/parties".into(),
                j(json!({"name": format!("P{n}")})),
            ),
            Ep::GetParty => ("GET", format!("/parties/{}", by.party), none),
            Ep::GetOwnParty => ("GET", format!("/parties/{}", me.party), none),
            Ep::PatchParty => (
                "PATCH",
                format!("/parties/{}", by.party),
                j(json!({"name": "Other"})),
            ),
            Ep::ListUsers => ("GET", "/users".into(), none),
            Ep::CreateUser => (
                "POST",
                "/users".into(),
                j(
                    json!({"email": format!("new{n}@owner.example"), "display_name": "New",
                    "party_id": ctx.owner_party, "system_role": "member"}),
                ),
            ),
            Ep::GetUser => ("GET", format!("/users/{}", by.id), none),
            Ep::GetSelf => ("GET", format!("/users/{}", me.id), none),
            Ep::PatchUser => (
                "PATCH",
                format!("/users/{}", by.id),
                j(json!({"display_name": "By Stander"})),
            ),
            Ep::RevokeSessions => ("POST", format!("/users/{}/revoke-sessions", by.id), none),
            Ep::RevokeOwnSessions => ("POST", format!("/users/{}/revoke-sessions", me.id), none),
            Ep::CreateInvitation => (
                "POST",
                "/invitations".into(),
                j(
                    json!({"email": format!("inv{n}@acme.example"), "display_name": "Invitee",
                    "party_id": by.party}),
                ),
            ),
            Ep::AcceptInvitation => (
                "POST",
                format!("/invitations/nope{n}/accept"),
                j(json!({"password": PASSWORD})),
            ),
            Ep::PutTraining => (
                "PUT",
                format!("/users/{}/training", by.id),
                j(json!({"valid_until": rfc3339(ctx.now() + DAY)})),
            ),
            Ep::DeleteTraining => ("DELETE", format!("/users/{}/training", by.id), none),
            Ep::PutCertification => (
                "PUT",
                format!("/parties/{}/certification", by.party),
                j(json!({"name": "ISO 27001", "valid_until": rfc3339(ctx.now() + DAY)})),
            ),
            Ep::DeleteCertification => (
                "DELETE",
                format!("/parties/{}/certification", by.party),
                none,
            ),
            Ep::ListCertifications => {
                ("GET", format!("/parties/{}/certifications", by.party), none)
            }
            Ep::RecordCertification => (
                "POST",
                format!("/parties/{}/certifications", by.party),
                j(certificate(ctx)),
            ),
            Ep::VerifyCertification => {
                let path = format!("/parties/{}/certifications", by.party);
                let cert = ctx.must(admin, "POST", &path, certificate(ctx), 201).await;
                (
                    "POST",
                    format!("/certifications/{}/verify", id_of(&cert)),
                    none,
                )
            }
            Ep::PutSponsor => (
                "PUT",
                format!("/parties/{}/sponsor", by.party),
                j(json!({"user_id": self.users[&Admin].id})),
            ),
            Ep::ListClassifications => ("GET", "/classifications".into(), none),
            Ep::PutClassification => (
                "PUT",
                "/classifications/confidential".into(),
                j(json!({"certifications": ["any"]})),
            ),
            Ep::ListCourses => ("GET", "/courses".into(), none),
            Ep::PublishCourse => (
                "POST",
                "/courses".into(),
                j(matrix_course(&format!("Course {n}"), 30)),
            ),
            Ep::GetCourse => ("GET", format!("/courses/{}", self.spare_course), none),
            Ep::PublishVersion => (
                "PUT",
                format!("/courses/{}", self.spare_course),
                j(matrix_course("Matrix spare", 30)),
            ),
            Ep::MyCourses => ("GET", "/courses/mine".into(), none),
            Ep::TakeCourse => ("GET", format!("/courses/{}/take", self.quiz_course), none),
            Ep::AttemptCourse => (
                "POST",
                format!("/courses/{}/attempts", self.quiz_course),
                j(json!({"version": 1, "answers": [[0]]})),
            ),
            Ep::RecordCompletion => (
                "POST",
                format!("/courses/{}/completions", self.spare_course),
                j(json!({"user_id": by.id, "completed_at": rfc3339(ctx.now())})),
            ),
            Ep::PutClassificationCourses => (
                "PUT",
                "/classifications/confidential/courses".into(),
                j(json!({"courses": [self.course]})),
            ),
            Ep::GetRoomCourses => ("GET", format!("/rooms/{room}/courses"), none),
            Ep::PutRoomCourses => (
                "PUT",
                format!("/rooms/{room}/courses"),
                j(json!({"courses": []})),
            ),
            Ep::ListRooms => ("GET", "/rooms".into(), none),
            Ep::CreateRoom => (
                "POST",
                "/rooms".into(),
                j(json!({"name": format!("R{n}"), "classification": "internal"})),
            ),
            Ep::GetRoom => ("GET", format!("/rooms/{room}"), none),
            Ep::PatchRoom => (
                "PATCH",
                format!("/rooms/{room}"),
                j(json!({"name": "Room R"})),
            ),
            Ep::DeleteRoom => {
                let fresh = self.fresh_room(ctx, who == OutsideWindow).await;
                ("DELETE", format!("/rooms/{fresh}"), none)
            }
            Ep::ListGrants => ("GET", format!("/rooms/{room}/grants"), none),
            Ep::CreateGrant => (
                "POST",
                format!("/rooms/{room}/grants"),
                j(
                    json!({"subject_kind": "user", "subject_id": by.id, "role": "viewer",
                    "reason": "matrix"}),
                ),
            ),
            Ep::CreateGrantOwnParty => {
                let mate = if me.party == ctx.owner_party {
                    &self.engineer
                } else {
                    &self.acme_spare
                };
                let body = json!({"subject_kind": "user", "subject_id": mate.id,
                    "role": "viewer", "reason": "matrix"});
                ("POST", format!("/rooms/{room}/grants"), j(body))
            }
            Ep::RevokeGrant => {
                let c = &self.curator.token;
                let g = ctx.grant(c, room, "user", &by.id, "viewer", None).await;
                ("DELETE", format!("/rooms/{room}/grants/{g}"), none)
            }
            Ep::RevokeOwnerSideGrant => {
                let c = &self.curator.token;
                let id = &self.engineer.id;
                let g = ctx.grant(c, room, "user", id, "viewer", None).await;
                ("DELETE", format!("/rooms/{room}/grants/{g}"), none)
            }
            Ep::GetDelivery => ("GET", format!("/rooms/{room}/delivery"), none),
            Ep::PutDelivery => {
                let path = format!("/rooms/{room}/delivery");
                let now = ctx.must(admin, "GET", &path, Value::Null, 200).await;
                ("PUT", path, j(now))
            }
            Ep::GetRoomDlp => ("GET", format!("/rooms/{room}/dlp"), none),
            Ep::PutRoomDlp => {
                let path = format!("/rooms/{room}/dlp");
                let now = ctx.must(admin, "GET", &path, Value::Null, 200).await;
                ("PUT", path, j(now["policy"].clone()))
            }
            Ep::GetRoomCertifications => ("GET", format!("/rooms/{room}/certifications"), none),
            Ep::PutRoomCertifications => (
                "PUT",
                format!("/rooms/{room}/certifications"),
                j(json!({"certifications": []})),
            ),
            Ep::ListFiles => ("GET", format!("/rooms/{room}/files"), none),
            Ep::PutFile => (
                "PUT",
                format!("/rooms/{room}/files/up/{who:?}.txt"),
                Payload::Raw(Some("application/octet-stream"), b"hello".to_vec()),
            ),
            Ep::GetFile => ("GET", format!("/files/{file}"), none),
            Ep::ListVersions => ("GET", format!("/files/{file}/versions"), none),
            Ep::RestoreVersion => {
                let path = format!("/files/{file}");
                let now = ctx.must(admin, "GET", &path, Value::Null, 200).await;
                let version = now["version_id"].as_str().unwrap_or_default().to_owned();
                ("POST", format!("{path}/versions/{version}/restore"), none)
            }
            Ep::GetContent => ("GET", format!("/files/{file}/content"), none),
            Ep::CreateLink => (
                "POST",
                format!("/files/{file}/links"),
                j(json!({"recipients": ["matrix@vendor.example"]})),
            ),
            Ep::CreateFolderLink => (
                "POST",
                format!("/rooms/{room}/links"),
                j(json!({"folder": "up/", "recipients": ["matrix@vendor.example"]})),
            ),
            Ep::ListLinks => ("GET", format!("/rooms/{room}/links"), none),
            Ep::RevokeLink => {
                let path = format!("/files/{file}/links");
                let bound = json!({"recipients": ["matrix@vendor.example"]});
                let made = ctx
                    .must(&self.curator.token, "POST", &path, bound, 201)
                    .await;
                let link = made["id"].as_str().unwrap_or_default();
                ("DELETE", format!("/rooms/{room}/links/{link}"), none)
            }
            Ep::CreateUploadRequest => (
                "POST",
                format!("/rooms/{room}/upload-requests"),
                j(json!({"recipients": ["ana@vendor.example"]})),
            ),
            Ep::ListUploadRequests => ("GET", format!("/rooms/{room}/upload-requests"), none),
            Ep::GetUploadRequest | Ep::RevokeUploadRequest => {
                let path = format!("/rooms/{room}/upload-requests");
                let body = json!({"recipients": ["ana@vendor.example"]});
                let made = ctx
                    .must(&self.curator.token, "POST", &path, body, 201)
                    .await;
                let id = made["id"].as_str().unwrap_or_default();
                match ep {
                    Ep::GetUploadRequest => ("GET", format!("{path}/{id}"), none),
                    _ => ("POST", format!("{path}/{id}/revoke"), none),
                }
            }
            Ep::Pages => ("GET", format!("/files/{file}/pages"), none),
            Ep::Page => ("GET", format!("/files/{file}/pages/1"), none),
            Ep::DeleteFile => {
                let path = format!("tmp/{n}.txt");
                let f = ctx.upload(&self.curator.token, room, &path, b"x").await;
                ("DELETE", format!("/files/{}", id_of(&f)), none)
            }
            Ep::ListAgreements => ("GET", "/agreements".into(), none),
            Ep::CreateAgreement => (
                "POST",
                "/agreements".into(),
                j(
                    json!({"party_id": by.party, "kind": "nda", "template": "matrix-nda",
                    "title": "NDA", "text": NDA_TEXT}),
                ),
            ),
            Ep::GetAgreement => (
                "GET",
                format!("/agreements/{}", self.licences[&by.party]),
                none,
            ),
            Ep::GetOwnAgreement => {
                let party = if me.party == ctx.owner_party {
                    &self.users[&Viewer].party
                } else {
                    &me.party
                };
                ("GET", format!("/agreements/{}", self.licences[party]), none)
            }
            Ep::SignAgreement => {
                let party = self.agreement_party(ctx, who);
                let id = agreement(ctx, party, "nda", NDA_TEXT, json!({}), None, false).await;
                let hash = hex::encode(sha256(NDA_TEXT.as_bytes()));
                let body = json!({"text_sha256": hash});
                ("POST", format!("/agreements/{id}/sign"), j(body))
            }
            Ep::TerminateAgreement => {
                let party = self.agreement_party(ctx, who);
                let id = agreement(ctx, party, "nda", NDA_TEXT, json!({}), None, false).await;
                ("POST", format!("/agreements/{id}/terminate"), none)
            }
            Ep::OfferAgreement => {
                let id = agreement(ctx, &by.party, "nda", NDA_TEXT, json!({}), None, true).await;
                ("POST", format!("/agreements/{id}/offer"), none)
            }
            Ep::ListTemplates => ("GET", "/agreement-templates".into(), none),
            Ep::PutTemplate => (
                "PUT",
                format!("/agreement-templates/scratch-{n}"),
                j(json!({"kind": "nda", "title": "Scratch", "text": "Scratch."})),
            ),
            Ep::IssueTemplate => (
                "POST",
                "/agreement-templates/matrix-nda/issue".into(),
                j(json!({"party_id": by.party})),
            ),
            Ep::ListQuestionnaires => ("GET", "/questionnaires".into(), none),
            Ep::SaveQuestionnaire => ("POST", "/questionnaires".into(), j(questionnaire())),
            Ep::GetQuestionnaire => (
                "GET",
                format!("/questionnaires/{}", self.questionnaire),
                none,
            ),
            Ep::ActivateParty => {
                let party = ctx.prospective_party(&format!("Prospect {n}")).await;
                ("POST", format!("/parties/{party}/activate"), none)
            }
            Ep::OffboardParty => {
                let party = ctx.party(&format!("Leaving {n}")).await;
                let why = json!({"reason": "the contract ended"});
                ("POST", format!("/parties/{party}/offboard"), j(why))
            }
            Ep::ReonboardParty => {
                let party = ctx.party(&format!("Returning {n}")).await;
                let why = json!({"reason": "the contract ended"});
                let path = format!("/parties/{party}/offboard");
                ctx.must(admin, "POST", &path, why, 200).await;
                let why = json!({"reason": "a new contract"});
                ("POST", format!("/parties/{party}/reonboard"), j(why))
            }
            Ep::OffboardUser => {
                let party = ctx.party(&format!("Staffing {n}")).await;
                let leaver = ctx.external(&party).await;
                let why = json!({"reason": "left the supplier"});
                ("POST", format!("/users/{}/offboard", leaver.id), j(why))
            }
            Ep::SendQuestionnaire => (
                "POST",
                format!("/parties/{}/assessments", by.party),
                j(json!({"questionnaire_id": self.questionnaire, "contact_id": self.contact.id})),
            ),
            Ep::PartyAssessments => ("GET", format!("/parties/{}/assessments", by.party), none),
            Ep::MyAssessments => ("GET", "/assessments/mine".into(), none),
            Ep::Answer => (
                "PUT",
                format!("/assessments/{}/answers", uuid::Uuid::nil()),
                j(json!({"answers": {"q": "yes"}})),
            ),
            Ep::Reply => (
                "POST",
                format!("/assessments/{}/replies", uuid::Uuid::nil()),
                j(json!({"index": 0, "reply": "matrix"})),
            ),
            Ep::FollowUp => (
                "POST",
                format!(
                    "/parties/{}/assessments/{}/follow-ups",
                    by.party, self.assessment
                ),
                j(json!({"key": "q", "question": "matrix?"})),
            ),
            Ep::Decide => {
                let id = if matches!(who, Admin | SecurityOfficer) {
                    self.submitted(ctx).await
                } else {
                    self.assessment.clone()
                };
                (
                    "POST",
                    format!("/parties/{}/assessments/{id}/decision", by.party),
                    j(json!({"tier": "low", "reasons": "matrix"})),
                )
            }
            Ep::GetRisk => ("GET", "/risk".into(), none),
            Ep::PutRisk => {
                let risk = ctx.must(admin, "GET", "/risk", Value::Null, 200).await;
                ("PUT", "/risk".into(), j(risk))
            }
            Ep::ListZones => ("GET", "/zones".into(), none),
            Ep::PutZones => ("PUT", "/zones".into(), j(zones())),
            Ep::ListNotifications => ("GET", "/notifications".into(), none),
            Ep::ReadNotification => (
                "POST",
                format!("/notifications/{}/read", self.notification),
                none,
            ),
            Ep::Events => ("GET", "/events?limit=1".into(), none),
            Ep::RedactEvent => (
                "POST",
                format!("/events/{}/redact", self.redactable),
                j(json!({"reason": "matrix"})),
            ),
            Ep::Checkpoint => ("GET", "/ledger/checkpoint".into(), none),
            Ep::VerifierKey => ("GET", "/ledger/verifier-key".into(), none),
            Ep::Entries => ("GET", "/ledger/entries?from=0&to=1".into(), none),
            Ep::InclusionProof => ("GET", "/ledger/proof/inclusion?index=0&size=2".into(), none),
            Ep::ConsistencyProof => ("GET", "/ledger/proof/consistency?old=1&new=2".into(), none),
            Ep::Checkpoints => ("GET", "/ledger/checkpoints".into(), none),
            Ep::Bundle => ("GET", format!("/ledger/bundle?file={file}"), none),
            Ep::LedgerAudit => ("POST", "/ledger/audit".into(), none),
            Ep::Trace => (
                "POST",
                "/trace".into(),
                Payload::Raw(Some("application/octet-stream"), b"no mark here".to_vec()),
            ),
            Ep::ListPolicies => ("GET", "/policies".into(), none),
            Ep::ApplyPolicies => {
                let now = ctx.must(admin, "GET", "/policies", Value::Null, 200).await;
                let body = json!({"custom": "", "comment": "matrix",
                    "expected_version": now["version"]});
                ("PUT", "/policies".into(), j(body))
            }
            Ep::Simulate => (
                "POST",
                "/policies/simulate".into(),
                j(json!({"principal": me.id, "action": "room.view",
                    "resource": {"type": "room", "id": room}})),
            ),
            Ep::WhatIf => (
                "POST",
                "/policies/whatif".into(),
                j(json!({"custom": "", "days": 1})),
            ),
            Ep::PolicyVersions => ("GET", "/policies/versions".into(), none),
            Ep::PolicyVersion => ("GET", "/policies/versions/1".into(), none),
            Ep::Quarantine => ("GET", "/dlp/quarantine".into(), none),
            Ep::HeldContent => {
                let v = self.held(ctx).await;
                ("GET", format!("/dlp/quarantine/{v}/content"), none)
            }
            Ep::Release => {
                let v = self.held(ctx).await;
                let body = j(json!({"note": "matrix"}));
                ("POST", format!("/dlp/quarantine/{v}/release"), body)
            }
            Ep::Reject => {
                let v = self.held(ctx).await;
                let body = j(json!({"note": "matrix"}));
                ("POST", format!("/dlp/quarantine/{v}/reject"), body)
            }
            Ep::ListRules => ("GET", "/dlp/rules".into(), none),
            Ep::AddRule => (
                "POST",
                "/dlp/rules".into(),
                j(
                    json!({"id": format!("matrix.a{n}"), "message": "a code name",
                    "severity": "low", "kind": {"keywords": [format!("zqxjv{n}")]}}),
                ),
            ),
            Ep::ImportRules => (
                "POST",
                "/dlp/rules/import".into(),
                Payload::Raw(
                    Some("application/toml"),
                    format!("[[rules]]\nid = \"matrix.i{n}\"\nregex = '''zqxjy{n}[0-9]{{4}}'''\n")
                        .into_bytes(),
                ),
            ),
            Ep::RemoveRule => {
                let id = format!("matrix.r{n}");
                let rule = json!({"id": id, "message": "a code name",
                    "severity": "low", "kind": {"keywords": [format!("zqxjw{n}")]}});
                ctx.must(admin, "POST", "/dlp/rules", rule, 201).await;
                ("DELETE", format!("/dlp/rules/{id}"), none)
            }
            Ep::ListAlerts => ("GET", "/alerts".into(), none),
            Ep::GetAlert => ("GET", format!("/alerts/{NO_ALERT}"), none),
            Ep::AlertFeedback => (
                "POST",
                format!("/alerts/{NO_ALERT}/feedback"),
                j(json!({"verdict": "confirm"})),
            ),
            Ep::ListIncidents => ("GET", "/incidents".into(), none),
            Ep::OpenIncident => (
                "POST",
                "/incidents".into(),
                j(json!({"title": " ", "summary": "a matrix case"})),
            ),
            Ep::GetIncident => ("GET", format!("/incidents/{NO_INCIDENT}"), none),
            Ep::AssessIncident => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/assessment"),
                j(json!({"severity": "high", "category": "leak"})),
            ),
            Ep::IncidentStage => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/stage"),
                j(json!({"stage": "containment"})),
            ),
            Ep::IncidentEntry => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/entries"),
                j(json!({"kind": "note", "text": "a note"})),
            ),
            Ep::IncidentTaskDone => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/tasks/{NO_ALERT}/done"),
                none,
            ),
            Ep::ContainIncident => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/containment"),
                j(json!({"action": "suspend_party"})),
            ),
            Ep::TraceIncident => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/traces"),
                Payload::Raw(Some("application/octet-stream"), b"no mark here".to_vec()),
            ),
            Ep::HoldIncident => ("POST", format!("/incidents/{NO_INCIDENT}/hold"), none),
            Ep::IncidentNotified => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/notification"),
                j(json!({"to": "the regulator", "text": "told"})),
            ),
            Ep::IncidentMessage => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/messages"),
                j(json!({"template": "status_update", "to": [NO_ALERT]})),
            ),
            Ep::CloseIncident => (
                "POST",
                format!("/incidents/{NO_INCIDENT}/close"),
                j(json!({"lessons": "learned"})),
            ),
            Ep::IncidentTimeline => ("GET", format!("/incidents/{NO_INCIDENT}/timeline"), none),
            Ep::IncidentBundle => ("GET", format!("/incidents/{NO_INCIDENT}/bundle"), none),
            Ep::ReportLeak => (
                "POST",
                "/leak-reports".into(),
                j(json!({"what": " ", "details": "a matrix report"})),
            ),
            Ep::GetIncidentSettings => ("GET", "/incident-settings".into(), none),
            Ep::PutIncidentSettings => (
                "PUT",
                "/incident-settings".into(),
                j(json!({"notify_hours": 0})),
            ),
            Ep::RequestDestruction => (
                "POST",
                format!("/rooms/{room}/destructions"),
                j(json!({"reason": " "})),
            ),
            Ep::ConfirmDestruction => (
                "POST",
                format!("/rooms/{room}/destructions/{NO_REVIEW}/confirm"),
                j(json!({"manifest_sha256": "00"})),
            ),
            Ep::PutRetention => (
                "PUT",
                format!("/rooms/{room}/retention"),
                j(json!({"days": 0})),
            ),
            Ep::GetFileRetention => ("GET", format!("/files/{file}/retention"), none),
            Ep::PutFileRetention => (
                "PUT",
                format!("/files/{file}/retention"),
                j(json!({"days": 0})),
            ),
            Ep::GetPurgeSettings => ("GET", "/purge-settings".into(), none),
            Ep::PutPurgeSettings => (
                "PUT",
                "/purge-settings".into(),
                j(json!({"grace_days": null})),
            ),
            Ep::ListDestructions => ("GET", "/destructions".into(), none),
            Ep::GetDestruction => ("GET", format!("/destructions/{NO_REVIEW}"), none),
            Ep::ApproveDestruction => (
                "POST",
                format!("/destructions/{NO_REVIEW}/approve"),
                j(json!({"manifest_sha256": "00"})),
            ),
            Ep::RejectDestruction => (
                "POST",
                format!("/destructions/{NO_REVIEW}/reject"),
                j(json!({"reason": "matrix"})),
            ),
            Ep::Certificate => (
                "GET",
                format!("/destructions/{NO_REVIEW}/certificate"),
                none,
            ),
            Ep::ListHolds => ("GET", "/legal-holds".into(), none),
            Ep::SetHold => (
                "POST",
                "/legal-holds".into(),
                j(json!({"scope": "room", "target": room, "reason": ""})),
            ),
            Ep::ReleaseHold => (
                "POST",
                format!("/legal-holds/{NO_REVIEW}/release"),
                j(json!({"reason": "matrix"})),
            ),
            Ep::ListJewels => ("GET", "/jewels".into(), none),
            Ep::RegisterJewelFile => ("POST", format!("/jewels/files/{NO_REVIEW}"), none),
            Ep::RegisterJewelTree => ("POST", format!("/jewels/rooms/{NO_REVIEW}"), j(json!({}))),
            Ep::RegisterJewelUpload => (
                "POST",
                "/jewels/uploads?name=engine.rs".into(),
                Payload::Raw(Some("application/octet-stream"), Vec::new()),
            ),
            Ep::UnregisterJewel => ("DELETE", format!("/jewels/{NO_REVIEW}"), none),
            Ep::ExportJewels => ("GET", "/jewels/export".into(), none),
            Ep::ListScimTokens => (
                "GET",
                format!("/parties/{}/scim/tokens", self.bystander.party),
                none,
            ),
            Ep::CreateScimToken => (
                "POST",
                format!("/parties/{}/scim/tokens", self.bystander.party),
                j(json!({"name": format!("Matrix IdP {n}")})),
            ),
            Ep::RevokeScimToken => (
                "DELETE",
                format!("/parties/{}/scim/tokens/{NO_REVIEW}", self.bystander.party),
                none,
            ),
            Ep::ListScimMappings => (
                "GET",
                format!("/parties/{}/scim/mappings", self.bystander.party),
                none,
            ),
            Ep::CreateScimMapping => (
                "POST",
                format!("/parties/{}/scim/mappings", self.bystander.party),
                j(json!({"group": "Matrix admins", "system_role": "admin"})),
            ),
            Ep::DeleteScimMapping => (
                "DELETE",
                format!(
                    "/parties/{}/scim/mappings/{NO_REVIEW}",
                    self.bystander.party
                ),
                none,
            ),
            Ep::ListReviews => ("GET", "/reviews".into(), none),
            Ep::CreateReview => (
                "POST",
                "/reviews".into(),
                j(
                    json!({"name": format!("Matrix review {n}"), "scope": "external",
                    "fallback": self.users[&Admin].id, "due_at": "2999-01-01T00:00:00Z"}),
                ),
            ),
            Ep::AssignedReviews => ("GET", "/reviews/assigned".into(), none),
            Ep::GetReview => ("GET", format!("/reviews/{NO_REVIEW}"), none),
            Ep::MyReview => ("GET", format!("/reviews/{NO_REVIEW}/mine"), none),
            Ep::DecideReview => (
                "POST",
                format!("/reviews/{NO_REVIEW}/decisions"),
                j(json!({"grants": [NO_REVIEW], "decision": "confirm", "justification": "matrix"})),
            ),
            Ep::ReviewCsv => ("GET", format!("/reviews/{NO_REVIEW}/report.csv"), none),
            Ep::ReviewBundle => ("GET", format!("/reviews/{NO_REVIEW}/bundle"), none),
            Ep::ListAttestations => ("GET", "/attestations".into(), none),
            Ep::GetAttestation => ("GET", format!("/attestations/{NO_ATTESTATION}"), none),
            Ep::SendAttestation => (
                "POST",
                format!("/attestations/{NO_ATTESTATION}/send"),
                j(json!({})),
            ),
            Ep::Logout => ("POST", "/auth/logout".into(), none),
        }
    }
}

/// A certificate to record (a year from now).
fn certificate(ctx: &Ctx) -> Value {
    json!({"standard": "tisax", "issuer": "Matrix Cert GmbH", "scope": "engineering",
        "number": format!("TX-{}", ctx.unique()), "valid_from": rfc3339(ctx.now() - DAY),
        "valid_until": rfc3339(ctx.now() + 365 * DAY)})
}

/// Issues an agreement to `party` as the admin (`end_ms`: its end); returns its id.
async fn agreement(
    ctx: &Ctx,
    party: &str,
    kind: &str,
    text: &str,
    terms: Value,
    end_ms: Option<i64>,
    draft: bool,
) -> String {
    let mut body = json!({"party_id": party, "kind": kind, "template": format!("matrix-{kind}"),
        "title": format!("Matrix {kind}"), "text": text, "terms": terms, "draft": draft});
    if let Some(end) = end_ms {
        body["end_at"] = json!(rfc3339(end));
    }
    id_of(&ctx.must(&ctx.admin, "POST", "/agreements", body, 201).await)
}

/// Signs agreement `id` as `user`, who read `text`.
async fn sign(ctx: &Ctx, user: &User, id: &str, text: &str) {
    let body = json!({"text_sha256": hex::encode(sha256(text.as_bytes()))});
    let path = format!("/agreements/{id}/sign");
    ctx.must(&user.token, "POST", &path, body, 200).await;
}

/// The sequence number of the newest event.
async fn newest_seq(ctx: &Ctx, mut after: i64) -> i64 {
    loop {
        let path = format!("/events?after={after}&limit=1000");
        let page = ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await;
        match page["items"].as_array().and_then(|items| items.last()) {
            Some(last) => after = last["seq"].as_i64().unwrap_or(i64::MAX),
            None => return after,
        }
    }
}

/// The newest denial of `user` after `after` must record `reason`.
async fn check_reason(ctx: &Ctx, user: &User, after: i64, reason: &str) -> Result<(), String> {
    let path = format!(
        "/events?actor={}&outcome=denied&after={after}&limit=1000",
        user.id
    );
    let page = ctx.must(&ctx.admin, "GET", &path, Value::Null, 200).await;
    let newest = page["items"].as_array().and_then(|items| items.last());
    let Some(event) = newest else {
        return Err(format!("no denial event (want reason `{reason}`)"));
    };
    match event["reason"].as_str() {
        Some(got) if got == reason => Ok(()),
        got => Err(format!("denial reason {got:?} want `{reason}`")),
    }
}

async fn run_matrix(ctx: &Ctx) {
    let w = World::build(ctx).await;
    rooms_listed(ctx, &w).await;
    // First, while every caller's credential is alive (rows below end the
    // admin's own sessions).
    let mut failures = scim_callers(ctx, &w).await;
    let mut count = 0;
    let mut cursor = 0;
    for (ep, wants) in TABLE {
        for (who, want) in WHO.iter().zip(wants) {
            let (method, path, body) = w.request(ctx, *ep, *who).await;
            let (route_method, template) = ep.route();
            assert!(
                method == route_method && on_route(template, &path),
                "{ep:?}: {method} {path} is not {route_method} {template}"
            );
            let peer = match (ep, who) {
                // Sign-ins are throttled per address.
                (Ep::Login, _) => None,
                (_, OutOfTerritory) => Some(BERLIN),
                _ => Some(PARIS),
            };
            let case = Case {
                label: format!("{who:?} ({ep:?})"),
                who: Some(w.token(*ep, *who)),
                method,
                path: format!("{V1}{path}"),
                body,
                peer: peer.and_then(|p| p.parse::<SocketAddr>().ok()),
                want_status: want.0,
                want_code: want.1,
                want_message: want.2,
                ..Case::default()
            };
            if want.3.is_some() {
                cursor = newest_seq(ctx, cursor).await;
            }
            count += 1;
            let mut result = try_check(ctx, &case).await.map(|_| ());
            if let (Ok(()), Some(reason)) = (&result, want.3) {
                result = check_reason(ctx, &w.users[who], cursor, reason)
                    .await
                    .map_err(|e| format!("{method} {} as {}: {e}", case.path, case.label));
            }
            if let Err(e) = result {
                failures.push(e);
            }
        }
    }
    assert_eq!(count, TABLE.len() * WHO.len());
    assert!(
        failures.is_empty(),
        "{} of {count} matrix cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The SCIM token as a kind of caller: every API route answers it as it
/// answers the `Disabled` column's dead credential (it is no session nor API
/// token); and every SCIM route refuses every other caller's token (401 in
/// the SCIM error format), the admin's included.
async fn scim_callers(ctx: &Ctx, w: &World) -> Vec<String> {
    let mut failures = Vec::new();
    let made = ctx
        .must(
            &ctx.admin,
            "POST",
            &format!("/parties/{}/scim/tokens", w.bystander.party),
            json!({"name": "Matrix SCIM"}),
            201,
        )
        .await;
    let secret = made["secret"].as_str().unwrap_or_default().to_owned();
    let disabled = WHO.iter().position(|w| *w == Disabled).unwrap_or_default();
    for (ep, wants) in TABLE {
        let want = wants[disabled];
        let (method, path, body) = w.request(ctx, *ep, Disabled).await;
        let case = Case {
            label: format!("a SCIM token ({ep:?})"),
            who: Some(secret.clone()),
            method,
            path: format!("{V1}{path}"),
            body,
            peer: PARIS.parse::<SocketAddr>().ok(),
            want_status: want.0,
            want_code: want.1,
            ..Case::default()
        };
        if let Err(e) = try_check(ctx, &case).await {
            failures.push(e);
        }
    }
    let user = &w.bystander.id;
    let routes = [
        ("GET", "/ServiceProviderConfig".to_owned()),
        ("GET", "/ResourceTypes".to_owned()),
        ("GET", "/ResourceTypes/User".to_owned()),
        ("GET", "/Schemas".to_owned()),
        (
            "GET",
            format!("/Schemas/{}", "urn:ietf:params:scim:schemas:core:2.0:User"),
        ),
        ("GET", "/Users".to_owned()),
        ("POST", "/Users".to_owned()),
        ("GET", format!("/Users/{user}")),
        ("PUT", format!("/Users/{user}")),
        ("PATCH", format!("/Users/{user}")),
        ("DELETE", format!("/Users/{user}")),
        ("GET", "/Groups".to_owned()),
        ("POST", "/Groups".to_owned()),
        ("GET", format!("/Groups/{NO_REVIEW}")),
        ("PUT", format!("/Groups/{NO_REVIEW}")),
        ("PATCH", format!("/Groups/{NO_REVIEW}")),
        ("DELETE", format!("/Groups/{NO_REVIEW}")),
    ];
    let mut tokens: Vec<(String, String)> = WHO
        .iter()
        .map(|who| (format!("{who:?}"), w.users[who].token.clone()))
        .collect();
    tokens.push(("the bootstrap admin".into(), ctx.admin.clone()));
    for (label, token) in &tokens {
        for (method, path) in &routes {
            let r = ctx
                .send(&Case {
                    who: Some(token.clone()),
                    method,
                    path: format!("/scim/v2{path}"),
                    body: Payload::Raw(Some("application/scim+json"), b"{}".to_vec()),
                    ..Case::default()
                })
                .await;
            let body = r.json();
            if r.status.as_u16() != 401
                || body["code"] != "unauthenticated"
                || body["status"] != "401"
                || r.header("content-type") != Some("application/scim+json")
            {
                failures.push(format!(
                    "{method} /scim/v2{path} as {label}: {} {}",
                    r.status,
                    r.text()
                ));
            }
        }
    }
    failures
}

/// `GET /rooms` lists the room exactly for those who may see it, with their
/// role; an unmet condition does not hide it.
async fn rooms_listed(ctx: &Ctx, w: &World) {
    let mut table = vec![
        (Admin, Some(None)),
        (Auditor, Some(None)),
        (Member, None),
        (Viewer, Some(Some("viewer"))),
        (Manager, Some(Some("manager"))),
        (PartyGrant, Some(Some("downloader"))),
        (NoGrant, None),
        (Expired, None),
    ];
    table.extend(CONDITIONS.map(|who| (who, Some(Some("contributor")))));
    for (who, want) in table {
        let list = ctx
            .must(&w.users[&who].token, "GET", "/rooms", Value::Null, 200)
            .await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let found = items.iter().find(|r| r["id"] == json!(w.room));
        let got = found.map(|r| r["role"].as_str());
        assert_eq!(got, want, "{who:?} lists the room as {found:?}");
    }
}

/// The matrix has a row for every route of the OpenAPI document, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_covers_every_route() {
    let ctx = Ctx::new().await;
    let doc = ctx
        .send(&Case {
            method: "GET",
            path: format!("{V1}/openapi.json"),
            ..Case::default()
        })
        .await
        .json();
    let methods = ["get", "put", "post", "delete", "patch"];
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            methods
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(documented.len() > 50, "{doc}");
    let rows: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(ep, _)| {
            let (method, path) = ep.route();
            (method.to_owned(), path.to_owned())
        })
        .collect();
    let missing: Vec<_> = documented.difference(&rows).collect();
    let unknown: Vec<_> = rows.difference(&documented).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "routes without a matrix row: {missing:?}; rows of no route: {unknown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_sqlite() {
    // Mail on: recipient-bound links and upload requests need it (nothing is
    // sent without a mailer).
    run_matrix(&Ctx::with(Backend::Sqlite, |s| s.mail_enabled = true).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_postgres() {
    if let Some(url) = postgres().await {
        // Mail on, as on SQLite.
        run_matrix(&Ctx::with(Backend::Postgres(url), |s| s.mail_enabled = true).await).await;
    }
}
