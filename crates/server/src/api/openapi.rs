//! The finishing pass over the generated OpenAPI document, done once in one
//! place rather than in each handler's attribute: every response gets its
//! required description; every operation lists the failures it can answer
//! with the `ErrorBody` schema, each error response naming its stable codes in
//! `x-error-codes`, all from the catalogue (`ErrorCode`): the codes the shared
//! layers can answer (bad input, no or wrong credentials, a denial, an unknown
//! id, a body too large, the wrong content type, an internal error, a full
//! disk, a shed request) and the codes of the operation's own use-case
//! ([`OPERATION_CODES`]), each under the status its kind answers; binary
//! bodies are typed as bytes.

use serde_json::{Map, Value, json};

use app::ErrorCode;
use app::ErrorCode as E;

use crate::error::status_of;

/// The operations that shed work under load with 503 `server_busy`: sign-in
/// (password hashing), uploads (content inspection) and the page viewer
/// (rendering).
const SHED_UNDER_LOAD: &[&str] = &["login", "put_file", "pages", "page"];

/// What the shared layers can answer.
struct Common {
    /// Whether `op` can answer it.
    applies: fn(&Facts) -> bool,
    /// The codes it carries, given the operation.
    codes: fn(&Facts) -> Vec<ErrorCode>,
}

const COMMON: &[Common] = &[
    Common {
        applies: |f| f.json_body || f.raw_body || f.query || f.path,
        codes: |f| {
            let mut codes = Vec::new();
            if f.json_body {
                codes.extend([E::InvalidJson, E::InvalidRequest]);
            }
            if f.query {
                codes.push(E::InvalidQuery);
            }
            if f.path {
                codes.push(E::InvalidPathParameter);
            }
            if f.raw_body {
                codes.push(E::BodyAborted);
            }
            codes
        },
    },
    Common {
        applies: |f| f.secured,
        codes: |_| vec![E::Unauthenticated],
    },
    Common {
        applies: |f| f.secured,
        codes: |_| vec![E::Forbidden, E::CsrfFailed],
    },
    Common {
        applies: |f| f.path,
        codes: |_| vec![E::NotFound],
    },
    Common {
        applies: |f| f.json_body || f.raw_body,
        codes: |_| vec![E::PayloadTooLarge],
    },
    Common {
        applies: |f| f.json_body,
        codes: |_| vec![E::UnsupportedMediaType],
    },
    Common {
        applies: |_| true,
        codes: |_| vec![E::Internal],
    },
    Common {
        applies: |f| SHED_UNDER_LOAD.contains(&f.id.as_str()),
        codes: |_| vec![E::ServerBusy],
    },
    Common {
        applies: |_| true,
        codes: |_| vec![E::StorageFull],
    },
];

/// The bad names a request may carry (roles, classifications …).
const NAMES: ErrorCode = E::UnknownName;

/// Every way a file path is refused.
const PATH: &[ErrorCode] = &[
    E::PathEmpty,
    E::PathAbsolute,
    E::PathTraversal,
    E::PathEmptySegment,
    E::PathControlCharacter,
    E::PathSegmentTooLong,
    E::PathTooLong,
    E::PathInvisibleCharacter,
    E::PathTrailingDotOrSpace,
];

/// What a file's content may be refused for on its way out.
const OUTBOUND: &[ErrorCode] = &[
    E::BadJustification,
    E::DlpJustificationRequired,
    E::DlpBlocked,
    E::IntegrityError,
];

/// What the antivirus may refuse an inbound file for.
const INBOUND_AV: &[ErrorCode] = &[E::AvInfected, E::AvUninspectable];

/// Why the viewer may not show a page.
const RENDER: &[ErrorCode] = &[
    E::TooLargeToView,
    E::RenderUnsupported,
    E::RenderEncrypted,
    E::RenderMalformed,
    E::RenderTooLarge,
    E::RenderTimeout,
    E::RenderUnavailable,
];

/// Why a document is not registered as a crown jewel.
const JEWEL: &[ErrorCode] = &[
    E::JewelEmpty,
    E::JewelNotText,
    E::JewelTooSmall,
    E::JewelDuplicate,
];

/// Why a policy set may be refused.
const POLICY_SET: &[ErrorCode] = &[E::PolicyInvalid, E::PolicyDisableInvalid, E::PolicyLockout];

/// An agreement's fields and terms.
const AGREEMENT: &[ErrorCode] = &[
    NAMES,
    E::InvalidTime,
    E::InvalidTemplate,
    E::InvalidField,
    E::InvalidTerm,
    E::InvalidTerms,
    E::TagInvalid,
];

/// The codes each operation's own handler and use-case can answer beyond
/// the shared ones ([`COMMON`]), by operation id; each lands under the status
/// of its kind. Every operation of the document has a row
/// (`tests::every_operation_has_its_codes`).
const OPERATION_CODES: &[(&str, &[&[ErrorCode]])] = &[
    // auth
    (
        "login",
        &[&[
            E::InvalidCredentials,
            E::MfaRequired,
            E::InvalidTotp,
            E::InvalidRecoveryCode,
            E::AccountLocked,
            E::TooManyAttempts,
        ]],
    ),
    ("logout", &[]),
    ("me", &[]),
    ("totp_enrol", &[&[E::TotpAlreadyEnabled]]),
    ("totp_confirm", &[&[E::InvalidTotp, E::TotpNotPending]]),
    // one's own account, and an admin's remedies
    ("list_sessions", &[]),
    ("get_mail_preference", &[]),
    ("put_mail_preference", &[&[NAMES]]),
    ("end_session", &[]),
    ("end_other_sessions", &[]),
    (
        "create_token",
        &[&[E::InvalidName, E::TokenLifetimeInvalid]],
    ),
    (
        "renew_recovery_codes",
        &[&[E::TotpNotEnabled, E::MfaSessionRequired]],
    ),
    ("reset_mfa", &[&[E::BadReason]]),
    ("unlock_user", &[&[E::BadReason]]),
    // parties and users
    ("list_parties", &[]),
    (
        "create_party",
        &[&[E::InvalidName, E::InvalidCountry, E::BadReason, E::Conflict]],
    ),
    ("get_party", &[]),
    (
        "activate_party",
        &[&[E::ActivationRequired, E::PartyNotAssessed]],
    ),
    (
        "offboard_party",
        &[&[
            E::BadReason,
            E::OwnerPartyStatus,
            E::PartyOffboarded,
            E::InvalidEmail,
            E::BadAttestationDays,
        ]],
    ),
    ("reonboard_party", &[&[E::BadReason, E::ActivationRequired]]),
    ("offboard_user", &[&[E::BadReason, E::CannotDisableSelf]]),
    (
        "patch_party",
        &[&[
            NAMES,
            E::InvalidName,
            E::InvalidCountry,
            E::OwnerPartyStatus,
            E::ActivationRequired,
            E::PartyOffboarded,
            E::OffboardRequired,
            E::Conflict,
        ]],
    ),
    ("list_users", &[]),
    (
        "create_user",
        &[&[
            NAMES,
            E::UnknownParty,
            E::RoleNotAllowed,
            E::InvalidEmail,
            E::InvalidName,
            E::PasswordTooShort,
            E::PasswordTooLong,
            E::Conflict,
        ]],
    ),
    ("get_user", &[]),
    (
        "patch_user",
        &[&[
            NAMES,
            E::InvalidName,
            E::RoleNotAllowed,
            E::CannotDisableSelf,
        ]],
    ),
    ("revoke_sessions", &[]),
    (
        "create_invitation",
        &[&[
            NAMES,
            E::UnknownParty,
            E::RoleNotAllowed,
            E::InvalidEmail,
            E::InvalidName,
            E::Conflict,
        ]],
    ),
    (
        "accept_invitation",
        &[&[E::PasswordTooShort, E::PasswordTooLong, E::Conflict]],
    ),
    // rooms and grants
    ("list_rooms", &[]),
    ("create_room", &[&[NAMES, E::InvalidName]]),
    ("get_room", &[]),
    (
        "patch_room",
        &[&[
            NAMES,
            E::InvalidName,
            E::InvalidRequirement,
            E::DuplicateRequirement,
            E::TooManyRequirements,
            E::TagInvalid,
            E::WindowInvalid,
        ]],
    ),
    ("delete_room", &[]),
    ("list_grants", &[]),
    (
        "create_grant",
        &[
            &[
                NAMES,
                E::UnknownSubject,
                E::InvalidTime,
                E::ReasonRequired,
                E::ExpiryInPast,
            ],
            OUTBOUND,
        ],
    ),
    ("revoke_grant", &[]),
    ("get_delivery", &[]),
    ("put_delivery", &[&[NAMES]]),
    // data-loss prevention
    ("get_room_dlp", &[]),
    ("put_room_dlp", &[&[E::DlpBadPolicy]]),
    ("list_quarantine", &[]),
    ("held_content", &[&[E::IntegrityError, E::AvInfected]]),
    (
        "release",
        &[&[E::BadJustification, E::Conflict, E::AvNotReleasable]],
    ),
    ("reject", &[&[E::BadJustification, E::Conflict]]),
    ("list_rules", &[]),
    (
        "add_rule",
        &[&[
            E::DlpBadRuleId,
            E::DlpBadRegex,
            E::DlpRegexTooLarge,
            E::DlpEmptyRule,
            E::Conflict,
        ]],
    ),
    ("remove_rule", &[]),
    (
        "import_rules",
        &[&[
            E::DlpBadGitleaksConfig,
            E::DlpBadPatternRule,
            E::DlpBadRuleId,
            E::DlpBadRegex,
            E::DlpRegexTooLarge,
            E::DlpEmptyRule,
            E::InvalidField,
        ]],
    ),
    // crown jewels
    ("list_jewels", &[]),
    (
        "register_file",
        &[JEWEL, &[E::PayloadTooLarge, E::IntegrityError]],
    ),
    ("register_tree", &[&[E::IntegrityError]]),
    ("register_upload", &[JEWEL, &[E::JewelBadName]]),
    ("unregister_jewel", &[]),
    ("export_jewels", &[]),
    // SCIM provisioning, administered
    ("list_scim_tokens", &[]),
    (
        "create_scim_token",
        &[&[E::InvalidName, E::PartyOffboarded]],
    ),
    ("revoke_scim_token", &[]),
    ("list_scim_mappings", &[]),
    (
        "create_scim_mapping",
        &[&[
            E::InvalidName,
            E::PartyOffboarded,
            E::ScimMappingInvalid,
            E::ScimRoleNotAllowed,
        ]],
    ),
    ("delete_scim_mapping", &[]),
    // files
    ("list_files", &[]),
    (
        "put_file",
        &[
            PATH,
            &[
                E::BadJustification,
                E::DlpBlocked,
                E::DlpJustificationRequired,
            ],
            INBOUND_AV,
        ],
    ),
    ("get_file", &[]),
    ("delete_file", &[]),
    ("list_versions", &[]),
    (
        "restore_version",
        &[
            &[
                E::DlpBlocked,
                E::DlpJustificationRequired,
                E::IntegrityError,
            ],
            INBOUND_AV,
        ],
    ),
    // share links
    (
        "create_link",
        &[&[
            NAMES,
            E::LinkInvalid,
            E::InvalidEmail,
            E::InvalidTime,
            E::ExpiryInPast,
            E::PasswordTooShort,
            E::PasswordTooLong,
            E::MailUnavailable,
            E::LinkRecipientsRequired,
            E::LinkAgreementUnavailable,
        ]],
    ),
    (
        "create_folder_link",
        &[&[
            NAMES,
            E::LinkInvalid,
            E::InvalidEmail,
            E::InvalidTime,
            E::ExpiryInPast,
            E::PasswordTooShort,
            E::PasswordTooLong,
            E::MailUnavailable,
            E::LinkRecipientsRequired,
            E::LinkAgreementUnavailable,
        ]],
    ),
    ("list_links", &[]),
    ("revoke_link", &[]),
    // upload requests
    (
        "create_upload_request",
        &[
            PATH,
            &[
                E::UploadRequestInvalid,
                E::InvalidEmail,
                E::InvalidTime,
                E::ExpiryInPast,
                E::MailUnavailable,
            ],
        ],
    ),
    ("list_upload_requests", &[]),
    ("get_upload_request", &[]),
    ("revoke_upload_request", &[]),
    ("get_content", &[OUTBOUND, &[E::RangeNotSatisfiable]]),
    ("pages", &[RENDER, OUTBOUND]),
    (
        "page",
        &[RENDER, &[E::RenderNoSuchPage, E::ViewExpired], OUTBOUND],
    ),
    (
        "trace",
        &[&[
            E::NoMark,
            E::MarkUnsupported,
            E::MarkTooLarge,
            E::MarkBadImage,
            E::MarkBadPdf,
            E::MarkEncryptedPdf,
            E::MarkBadText,
        ]],
    ),
    // alerts
    ("list_alerts", &[&[NAMES]]),
    ("get_alert", &[]),
    ("alert_feedback", &[&[NAMES, E::BadReason]]),
    // incident cases
    ("list_incidents", &[]),
    (
        "open_incident",
        &[&[NAMES, E::BadIncidentText, E::BadFilter, E::NotFound]],
    ),
    ("get_incident", &[]),
    ("assess_incident", &[&[NAMES, E::IncidentClosed]]),
    (
        "set_incident_stage",
        &[&[NAMES, E::NotStaff, E::InvalidRequest, E::IncidentClosed]],
    ),
    (
        "add_incident_entry",
        &[&[NAMES, E::BadIncidentText, E::NotStaff, E::IncidentClosed]],
    ),
    ("finish_incident_task", &[&[E::IncidentClosed]]),
    (
        "contain_incident",
        &[&[
            NAMES,
            E::IncidentNoSubject,
            E::OwnerPartyStatus,
            E::CannotDisableSelf,
            E::IncidentClosed,
        ]],
    ),
    (
        "trace_into_incident",
        &[&[
            E::NoMark,
            E::MarkUnsupported,
            E::MarkTooLarge,
            E::MarkBadImage,
            E::MarkBadPdf,
            E::MarkEncryptedPdf,
            E::MarkBadText,
            E::IncidentClosed,
        ]],
    ),
    (
        "hold_incident",
        &[&[E::IncidentNoSubject, E::IncidentClosed]],
    ),
    (
        "incident_notified",
        &[&[E::BadIncidentText, E::IncidentClosed]],
    ),
    (
        "incident_message",
        &[&[NAMES, E::NotStaff, E::BadIncidentText, E::IncidentClosed]],
    ),
    (
        "close_incident",
        &[&[E::BadIncidentText, E::IncidentClosed]],
    ),
    ("incident_timeline", &[]),
    ("incident_bundle", &[]),
    (
        "report_leak",
        &[&[E::BadIncidentText, E::BadFilter, E::NotFound]],
    ),
    ("get_incident_settings", &[]),
    ("put_incident_settings", &[&[E::BadNotifyHours]]),
    // access reviews
    ("list_reviews", &[]),
    (
        "create_review",
        &[&[NAMES, E::InvalidCampaign, E::InvalidTime]],
    ),
    ("assigned_reviews", &[]),
    ("get_review", &[]),
    ("my_review", &[]),
    (
        "decide_review",
        &[&[
            NAMES,
            E::BadJustificationText,
            E::NotUnderReview,
            E::NotReviewer,
            E::ReviewClosed,
        ]],
    ),
    ("review_csv", &[]),
    ("review_bundle", &[]),
    // destruction attestations
    ("list_attestations", &[&[E::BadFilter]]),
    ("get_attestation", &[]),
    (
        "send_attestation",
        &[&[E::InvalidEmail, E::AttestationOfficer, E::AttestationSigned]],
    ),
    // destruction, retention and legal holds
    (
        "request_destruction",
        &[&[E::BadReason, E::LegalHold, E::DestructionPending]],
    ),
    (
        "confirm_destruction",
        &[&[E::FourEyes, E::LegalHold, E::DestructionState]],
    ),
    ("put_retention", &[&[E::BadRetention]]),
    ("get_file_retention", &[]),
    ("put_file_retention", &[&[E::BadRetention]]),
    ("get_purge_settings", &[]),
    ("put_purge_settings", &[&[E::BadRetention]]),
    ("list_destructions", &[&[E::BadFilter]]),
    ("get_destruction", &[]),
    (
        "approve_destruction",
        &[&[E::FourEyes, E::LegalHold, E::DestructionState]],
    ),
    (
        "reject_destruction",
        &[&[E::BadReason, E::DestructionState]],
    ),
    ("certificate", &[&[E::DestructionState]]),
    ("list_holds", &[]),
    ("set_hold", &[&[NAMES, E::BadReason, E::NotFound]]),
    ("release_hold", &[&[E::BadReason, E::Conflict]]),
    // events and the ledger
    ("list_events", &[&[NAMES, E::BadFilter, E::BadTimeRange]]),
    (
        "redact_event",
        &[&[E::BadReason, E::EventNotInLedger, E::Conflict, E::LegalHold]],
    ),
    ("checkpoint", &[]),
    ("verifier_key", &[]),
    ("entries", &[&[E::LedgerSizeOrder, E::LedgerRangeTooLarge]]),
    ("inclusion_proof", &[&[E::LedgerIndexOutOfRange]]),
    (
        "consistency_proof",
        &[&[E::LedgerIndexOutOfRange, E::LedgerSizeOrder]],
    ),
    ("checkpoints", &[]),
    ("bundle", &[&[NAMES, E::BadFilter, E::BadTimeRange]]),
    ("audit", &[]),
    // agreements and templates
    ("list_agreements", &[]),
    ("create_agreement", &[AGREEMENT, &[E::UnknownParty]]),
    ("get_agreement", &[]),
    (
        "sign_agreement",
        &[&[E::TextMismatch, E::NotAwaitingSignature, E::Conflict]],
    ),
    ("terminate_agreement", &[&[E::AlreadyTerminated]]),
    ("list_templates", &[]),
    ("put_template", &[AGREEMENT]),
    (
        "issue_from_template",
        &[&[E::UnknownParty, E::UnknownTemplate, E::InvalidTime]],
    ),
    ("offer_agreement", &[&[E::NotADraft]]),
    // policies and conditions
    ("list_policies", &[]),
    ("apply", &[POLICY_SET, &[E::Conflict]]),
    (
        "simulate",
        &[&[E::UnknownUser, E::UnknownResource, E::InvalidTime]],
    ),
    ("what_if", &[POLICY_SET, &[E::BadDays]]),
    ("list_policy_versions", &[]),
    ("get_version", &[]),
    ("list_zones", &[]),
    ("put_zones", &[&[E::ZoneInvalid, E::CidrInvalid]]),
    ("put_training", &[&[E::InvalidTime]]),
    ("delete_training", &[]),
    ("put_certification", &[&[E::InvalidTime, E::InvalidField]]),
    ("delete_certification", &[]),
    ("list_certifications", &[]),
    (
        "record_certification",
        &[&[
            E::InvalidStandard,
            E::InvalidCertification,
            E::InvalidEvidence,
            E::InvalidTime,
        ]],
    ),
    ("verify_certification", &[]),
    ("get_room_certifications", &[]),
    ("put_room_certifications", &[&[E::InvalidStandard]]),
    ("list_classifications", &[]),
    ("put_classification", &[&[NAMES, E::InvalidStandard]]),
    ("put_sponsor", &[&[E::InvalidSponsor]]),
    // training courses
    ("list_courses", &[]),
    ("publish_course", &[&[E::InvalidCourse]]),
    ("get_course", &[]),
    ("publish_version", &[&[E::InvalidCourse]]),
    ("my_courses", &[]),
    ("take_course", &[]),
    (
        "attempt_course",
        &[&[E::InvalidQuizAnswers, E::QuizAttemptsExceeded]],
    ),
    (
        "record_completion",
        &[&[E::InvalidCourse, E::InvalidEvidence, E::InvalidTime]],
    ),
    (
        "put_classification_courses",
        &[&[NAMES, E::InvalidCourse, E::UnknownCourse]],
    ),
    ("get_room_courses", &[]),
    ("put_room_courses", &[&[E::InvalidCourse, E::UnknownCourse]]),
    ("list_notifications", &[]),
    ("read_notification", &[]),
    // due diligence
    ("list_questionnaires", &[]),
    ("save_questionnaire", &[&[E::InvalidQuestionnaire]]),
    ("get_questionnaire", &[]),
    (
        "send_questionnaire",
        &[&[E::UnknownQuestionnaire, E::InvalidContact]],
    ),
    ("party_assessments", &[]),
    ("my_assessments", &[]),
    (
        "answer",
        &[&[
            E::InvalidAnswer,
            E::NotAssessmentContact,
            E::AssessmentState,
        ]],
    ),
    (
        "reply",
        &[&[
            E::InvalidAnswer,
            E::NotAssessmentContact,
            E::AssessmentState,
        ]],
    ),
    ("follow_up", &[&[E::InvalidAnswer, E::AssessmentState]]),
    (
        "decide",
        &[&[NAMES, E::InvalidDecision, E::AssessmentState]],
    ),
    ("get_risk", &[]),
    ("put_risk", &[&[E::InvalidRiskSettings]]),
];

/// The codes of `id`'s own use-case ([`OPERATION_CODES`]).
fn operation_codes(id: &str) -> impl Iterator<Item = ErrorCode> {
    OPERATION_CODES
        .iter()
        .filter(move |(op, _)| *op == id)
        .flat_map(|(_, groups)| groups.iter().copied().flatten().copied())
}

/// What an operation takes, as its generated description says.
struct Facts {
    id: String,
    secured: bool,
    path: bool,
    query: bool,
    json_body: bool,
    /// A body of bytes (an upload, a file to trace).
    raw_body: bool,
}

impl Facts {
    fn of(op: &Value) -> Facts {
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["in"].as_str())
            .collect();
        let body = op["requestBody"]["content"].as_object();
        let json_body = body.is_some_and(|c| c.contains_key("application/json"));
        Facts {
            id: op["operationId"].as_str().unwrap_or_default().to_owned(),
            secured: op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            }),
            path: params.contains(&"path"),
            query: params.contains(&"query"),
            json_body,
            raw_body: body.is_some() && !json_body,
        }
    }
}

/// The HTTP methods an OpenAPI path item may hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Finishes `doc` (the OpenAPI document as JSON) in place.
pub(super) fn finish(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(op) = item.get_mut(*method) {
                finish_operation(op);
            }
        }
    }
}

fn finish_operation(op: &mut Value) {
    let facts = Facts::of(op);
    // `get_mut`, not `[]`: indexing a JSON object mutably adds missing keys.
    let body = op.get_mut("requestBody").and_then(|b| b.get_mut("content"));
    if let Some(content) = body.and_then(Value::as_object_mut) {
        type_binary(content);
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let common = COMMON
        .iter()
        .filter(|c| (c.applies)(&facts))
        .flat_map(|c| (c.codes)(&facts));
    for code in operation_codes(&facts.id).chain(common) {
        let status = status_of(code.kind()).as_u16().to_string();
        let response = responses.entry(status).or_insert_with(|| json!({}));
        add_error_code(response, code);
    }
    // By status, as a reader looks for them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
    for (status, response) in responses.iter_mut() {
        finish_response(status, response);
    }
}

/// An error response: the `ErrorBody` schema, and `code` in its
/// `x-error-codes`.
fn add_error_code(response: &mut Value, code: ErrorCode) {
    if response.get("content").is_none() {
        response["content"] = json!({
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
        });
    }
    let codes = response["x-error-codes"].as_array_mut();
    match codes {
        Some(codes) if codes.iter().any(|c| c == code.as_str()) => {}
        Some(codes) => codes.push(json!(code.as_str())),
        None => response["x-error-codes"] = json!([code.as_str()]),
    }
}

fn finish_response(status: &str, response: &mut Value) {
    let Some(fields) = response.as_object_mut() else {
        return;
    };
    if let Some(content) = fields.get_mut("content").and_then(Value::as_object_mut) {
        type_binary(content);
    }
    let described = response["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty());
    if !described {
        response["description"] = json!(describe(status, &response["x-error-codes"]));
    }
}

/// A response's description: the status's reason phrase, and the codes.
fn describe(status: &str, codes: &Value) -> String {
    let reason = status
        .parse::<u16>()
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response");
    let codes: Vec<&str> = codes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if codes.is_empty() {
        reason.to_owned()
    } else {
        format!("{reason}: {}", codes.join(", "))
    }
}

/// Bodies that are not JSON are bytes, whatever Rust type produced them.
fn type_binary(content: &mut Map<String, Value>) {
    for (media, body) in content.iter_mut() {
        let textual = media.starts_with("text/") || media.contains("json");
        if !textual {
            body["schema"] = json!({"type": "string", "format": "binary"});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finishes a document of one operation and returns that operation.
    fn check(op: Value) -> Value {
        let mut doc = json!({"paths": {"/x/{id}": {"post": op}}});
        finish(&mut doc);
        doc["paths"]["/x/{id}"]["post"].take()
    }

    #[test]
    fn secured_operations_list_the_shared_failures() {
        let op = check(json!({
            "operationId": "put_room_dlp",
            "security": [{"bearer": []}],
            "parameters": [{"name": "id", "in": "path"}],
            "requestBody": {"content": {"application/json": {}}},
            "responses": {
                "200": {},
                "400": {"description": "dlp_bad_policy"},
            }
        }));
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(
            statuses,
            [
                "200", "400", "401", "403", "404", "413", "415", "500", "507"
            ]
        );
        assert_eq!(op["responses"]["200"]["description"], "OK");
        assert_eq!(
            op["responses"]["400"]["x-error-codes"],
            json!([
                "dlp_bad_policy",
                "invalid_json",
                "invalid_request",
                "invalid_path_parameter"
            ])
        );
        assert_eq!(op["responses"]["400"]["description"], "dlp_bad_policy");
        assert_eq!(
            op["responses"]["401"]["description"],
            "Unauthorized: unauthenticated"
        );
        assert_eq!(
            op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }

    #[test]
    fn anonymous_uploads_of_bytes_are_binary_and_may_be_shed() {
        let op = check(json!({
            "operationId": "login",
            "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "array"}}}},
            "responses": {"200": {"content": {"image/png": {"schema": {"type": "array"}}}}}
        }));
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(
            statuses,
            ["200", "400", "401", "413", "429", "500", "503", "507"]
        );
        assert_eq!(
            op["responses"]["429"]["x-error-codes"],
            json!(["account_locked", "too_many_attempts"])
        );
        let binary = json!({"type": "string", "format": "binary"});
        assert_eq!(
            op["requestBody"]["content"]["application/octet-stream"]["schema"],
            binary
        );
        assert_eq!(
            op["responses"]["200"]["content"]["image/png"]["schema"],
            binary
        );
    }

    /// Every operation of the document, by id.
    fn document_operations() -> Vec<(String, Value)> {
        let generated = super::super::routes().split_for_parts().1;
        let mut doc = serde_json::to_value(&generated).expect("to JSON");
        finish(&mut doc);
        let mut ops = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for method in METHODS {
                if let Some(op) = item.get(*method) {
                    let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                    ops.push((id, op.clone()));
                }
            }
        }
        ops
    }

    /// The table of codes is the document's: one row per operation, each
    /// operation in it; and what a response's description names as codes is
    /// among its `x-error-codes`.
    #[test]
    fn every_operation_has_its_codes() {
        let ops = document_operations();
        let mut faults = Vec::new();
        for (id, op) in &ops {
            match OPERATION_CODES.iter().filter(|(o, _)| o == id).count() {
                1 => {}
                n => faults.push(format!("`{id}` has {n} rows in OPERATION_CODES")),
            }
            let responses = op["responses"].as_object().into_iter().flatten();
            for (status, response) in responses {
                let listed: Vec<&str> = response["x-error-codes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let description = response["description"].as_str().unwrap_or_default();
                let words = description.split(|c: char| !(c.is_ascii_lowercase() || c == '_'));
                for word in words.filter(|w| w.contains('_') && ErrorCode::parse(w).is_some()) {
                    if !listed.contains(&word) {
                        faults.push(format!("`{id}` {status} describes `{word}`, not listed"));
                    }
                }
                for code in &listed {
                    let Some(code) = ErrorCode::parse(code) else {
                        faults.push(format!("`{id}` {status}: `{code}` is not a code"));
                        continue;
                    };
                    if status_of(code.kind()).as_str() != status {
                        faults.push(format!("`{id}` {status}: `{code}` answers another status"));
                    }
                }
            }
        }
        for (row, _) in OPERATION_CODES {
            if !ops.iter().any(|(id, _)| id == row) {
                faults.push(format!("OPERATION_CODES names `{row}`, not an operation"));
            }
        }
        assert!(faults.is_empty(), "{}", faults.join("\n"));
    }
}
