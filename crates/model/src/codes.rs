//! The catalogue of error codes: every code the API can answer, as one enum
//! with its stable string (`as_str`, sent in `{error: {code, …}}`), the class
//! of failure the edge turns into a status (`kind`), and a one-line meaning.
//! The strings are part of the API: do not change them. docs/errors.md is
//! rendered from this table (a test in the server checks it).

/// What class of failure an error is, for the edge to choose a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The path is known, the method is not (HTTP 405).
    MethodNotAllowed,
    Conflict,
    /// The resource changed since the version the request names (HTTP 412).
    PreconditionFailed,
    PayloadTooLarge,
    /// The body's content type is not one the operation takes (HTTP 415).
    UnsupportedMediaType,
    RangeNotSatisfiable,
    /// Well-formed but refused for its content (HTTP 422).
    Unprocessable,
    TooManyRequests,
    /// Not served now: shed under load (the caller may retry shortly), or a
    /// part of the server it needs is missing (HTTP 503).
    Unavailable,
    /// The server's storage is full; nothing was stored (HTTP 507).
    InsufficientStorage,
    Internal,
}

macro_rules! codes {
    ($($variant:ident = $text:literal, $kind:ident, $meaning:literal;)*) => {
        /// Every error code the API can answer. Each variant's documentation is
        /// its meaning; `as_str` is the stable string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the catalogue's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable string sent to API clients.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text),* }
            }

            /// The class of failure, which decides the HTTP status.
            pub const fn kind(self) -> Kind {
                match self { $(ErrorCode::$variant => Kind::$kind),* }
            }

            /// What the code means, in one line.
            pub const fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning),* }
            }

            /// The code of a stable string.
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($text => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    // Credentials and permission.
    Unauthenticated = "unauthenticated", Unauthenticated, "the session or token is missing, wrong or expired";
    InvalidCredentials = "invalid_credentials", Unauthenticated, "the e-mail or password is wrong";
    MfaRequired = "mfa_required", Unauthenticated, "the account needs a one-time code from its authenticator app";
    InvalidTotp = "invalid_totp", Unauthenticated, "the one-time code is wrong or was already used";
    InvalidRecoveryCode = "invalid_recovery_code", Unauthenticated, "the recovery code is wrong or was already used";
    AccountLocked = "account_locked", TooManyRequests, "too many failed sign-ins; the account is locked for a while";
    TooManyAttempts = "too_many_attempts", TooManyRequests, "too many sign-in attempts from this address in a minute, or too many failed ones in an hour (counted by every node): the message says how long to wait";
    CsrfFailed = "csrf_failed", Forbidden, "a request with the session cookie lacks a valid CSRF token";
    Forbidden = "forbidden", Forbidden, "the policies refuse the action; the message names the unmet condition";
    NotFound = "not_found", NotFound, "nothing there, or nothing the caller may see";

    // The request as HTTP.
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed, "the path does not take that method";
    UnsupportedMediaType = "unsupported_media_type", UnsupportedMediaType, "the body's content type is not one the operation takes";
    PayloadTooLarge = "payload_too_large", PayloadTooLarge, "the body or content is larger than the limit";
    BodyAborted = "body_aborted", BadRequest, "the upload was interrupted before its end";
    InvalidJson = "invalid_json", BadRequest, "the body is not valid JSON";
    InvalidRequest = "invalid_request", BadRequest, "the body does not fit the operation (a field missing, unknown or of the wrong type)";
    InvalidPathParameter = "invalid_path_parameter", BadRequest, "a path parameter is malformed";
    InvalidQuery = "invalid_query", BadRequest, "a query parameter is unknown, malformed or out of range";
    UnknownName = "unknown_name", BadRequest, "a role, classification, status or other name is not one the platform knows";
    InvalidTime = "invalid_time", BadRequest, "a time is not RFC 3339 or is out of range";
    RangeNotSatisfiable = "range_not_satisfiable", RangeNotSatisfiable, "the byte range is outside the content";
    Conflict = "conflict", Conflict, "the thing already exists";

    // The server's state.
    ServerBusy = "server_busy", Unavailable, "the server sheds load; retry after the `Retry-After` delay";
    StorageFull = "storage_full", InsufficientStorage, "the server is out of storage space; nothing was stored";
    IntegrityError = "integrity_error", Internal, "stored content failed its integrity check";
    Internal = "internal", Internal, "an internal failure; the details are in the server's log under the request id";

    // Parties, users, sign-in (identity).
    InvalidEmail = "invalid_email", BadRequest, "not an e-mail address";
    InvalidName = "invalid_name", BadRequest, "a name is empty, too long or holds control or bidirectional characters";
    InvalidCountry = "invalid_country", BadRequest, "not an ISO 3166-1 alpha-2 country code";
    PasswordTooShort = "password_too_short", BadRequest, "the password is shorter than the minimum";
    PasswordTooLong = "password_too_long", BadRequest, "the password is longer than the limit";
    RoleNotAllowed = "role_not_allowed", BadRequest, "the system role is not allowed for the party (external users are members)";
    OwnerPartyStatus = "owner_party_status", BadRequest, "the owner party stays active";
    CannotDisableSelf = "cannot_disable_self", BadRequest, "an admin may not disable their own account";
    UnknownParty = "unknown_party", BadRequest, "no party with that id";
    UnknownUser = "unknown_user", BadRequest, "no user with that id";
    TotpAlreadyEnabled = "totp_already_enabled", BadRequest, "the account already uses an authenticator app";
    TotpNotPending = "totp_not_pending", BadRequest, "no authenticator enrolment is waiting for confirmation";
    TotpNotEnabled = "totp_not_enabled", BadRequest, "the account has no authenticator app; enrol one first";
    MfaSessionRequired = "mfa_session_required", Forbidden, "this needs a session signed in with the second factor; sign in again with a one-time code";
    TokenLifetimeInvalid = "token_lifetime_invalid", BadRequest, "an API token's lifetime is out of range";

    // Rooms, grants and files (content).
    PathEmpty = "path_empty", BadRequest, "the file path is empty";
    PathAbsolute = "path_absolute", BadRequest, "the file path is absolute";
    PathTraversal = "path_traversal", BadRequest, "the file path has a `.` or `..` segment";
    PathEmptySegment = "path_empty_segment", BadRequest, "the file path has an empty segment";
    PathControlCharacter = "path_control_character", BadRequest, "the file path holds a NUL, a control character or a backslash";
    PathSegmentTooLong = "path_segment_too_long", BadRequest, "a segment of the file path is longer than 255 bytes";
    PathTooLong = "path_too_long", BadRequest, "the file path is longer than 4096 bytes";
    PathInvisibleCharacter = "path_invisible_character", BadRequest, "the file path holds a bidirectional control or an invisible character";
    PathTrailingDotOrSpace = "path_trailing_dot_or_space", BadRequest, "a segment of the file path ends with a dot or a space";
    UnknownSubject = "unknown_subject", BadRequest, "no user or party with that id to grant to";
    ReasonRequired = "reason_required", BadRequest, "a grant needs a reason of 1 to 1000 characters";
    ExpiryInPast = "expiry_in_past", BadRequest, "the expiry is already past";
    TagInvalid = "tag_invalid", BadRequest, "a field-of-use tag is malformed, or there are too many";
    WindowInvalid = "window_invalid", BadRequest, "an access window is malformed";
    InvalidRequirement = "invalid_requirement", BadRequest, "a required agreement is neither an agreement kind nor a template name";
    DuplicateRequirement = "duplicate_requirement", BadRequest, "a room lists the same required agreement twice";
    TooManyRequirements = "too_many_requirements", BadRequest, "a room requires more agreements than the limit";
    FileMissing = "file_missing", BadRequest, "the form has no file";
    InvalidForm = "invalid_form", BadRequest, "the form is malformed";
    FormFieldTooLarge = "form_field_too_large", BadRequest, "a text field of the form is larger than its limit";
    TooLargeToView = "too_large_to_view", BadRequest, "the file is too large for the viewer";
    RenderUnsupported = "render_unsupported", BadRequest, "the viewer cannot show content of this type";
    RenderEncrypted = "render_encrypted", BadRequest, "the document is encrypted; the viewer cannot open it";
    RenderMalformed = "render_malformed", BadRequest, "the document or image is malformed";
    RenderTooLarge = "render_too_large", BadRequest, "a page or image is over the viewer's limits";
    RenderTimeout = "render_timeout", BadRequest, "rendering the page took longer than allowed";
    RenderNoSuchPage = "render_no_such_page", BadRequest, "the file has no page of that number";
    RenderUnavailable = "render_unavailable", Unavailable, "the server has no renderer for this kind of file (poppler's `pdftoppm` for PDFs); its operator must install it";
    ViewExpired = "view_expired", Conflict, "the viewer's session of this file has ended (idle too long, or the file has a newer version); open the file again";

    // Share links (content) and e-mail (notify).
    LinkInvalid = "link_invalid", BadRequest, "a share link's settings are out of range (download limit, recipients, mode)";
    LinkRevoked = "link_revoked", Forbidden, "the share link was revoked";
    LinkExpired = "link_expired", Forbidden, "the share link has expired";
    LinkExhausted = "link_exhausted", Forbidden, "the share link's downloads are used up";
    LinkPassword = "link_password", Forbidden, "the share link needs its password, and none or a wrong one was given";
    LinkThrottled = "link_throttled", TooManyRequests, "too many wrong passwords or codes were tried at this share link from this address (or at it from everywhere): the message says how many seconds to wait";
    LinkCode = "link_code", Forbidden, "the share link is bound to recipients: the browser must first be verified with the code mailed to one of them (none, a wrong or an expired code was given)";
    LinkUnavailable = "link_unavailable", NotFound, "the share link's file was deleted or is held for review";
    LinkViewOnly = "link_view_only", Forbidden, "the share link lets its file be viewed, not downloaded";
    LinkAgreement = "link_agreement", Forbidden, "the share link's room requires agreements its recipient has not signed on this link yet: they are signed, click-through, on the link's page before the first byte";
    LinkRecipientsRequired = "link_recipients_required", BadRequest, "the room requires agreements of those who take its content: a share link to it must be bound to recipients, who sign them before the first byte";
    LinkAgreementUnavailable = "link_agreement_unavailable", BadRequest, "the room requires an agreement kind that no template has, so a link's recipient could not be shown its text: write a template of that kind first";
    UploadRequestInvalid = "upload_request_invalid", BadRequest, "an upload request's settings are out of range (folder, recipients, size or file limit, message)";
    UploadRequestRevoked = "upload_request_revoked", Forbidden, "the upload request was revoked";
    UploadRequestExpired = "upload_request_expired", Forbidden, "the upload request has expired";
    UploadRequestFull = "upload_request_full", Forbidden, "the upload request has taken all the files it allows";
    UploadRequestCode = "upload_request_code", Forbidden, "the upload request is for named recipients: the browser must first be verified with the code mailed to one of them (none, a wrong or an expired code was given)";
    UploadRequestThrottled = "upload_request_throttled", TooManyRequests, "too many wrong codes were tried at this upload request from this address (or at it from everywhere): the message says how many seconds to wait";
    UploadRequestUnavailable = "upload_request_unavailable", NotFound, "the upload request's folder can no longer be uploaded into (its creator lost access to the room)";
    MailUnavailable = "mail_unavailable", Unprocessable, "the action needs e-mail, and no SMTP server is configured";

    // Data-loss prevention (content).
    DlpBlocked = "dlp_blocked", Unprocessable, "data-loss prevention refused the content (a finding the room's policy blocks)";
    DlpJustificationRequired = "dlp_justification_required", Unprocessable, "data-loss prevention needs a justification for the content";
    DlpQuarantined = "dlp_quarantined", Unprocessable, "the upload is held for review by the room's data-loss policy";
    // Antivirus (content).
    AvInfected = "av_infected", Unprocessable, "antivirus (clamd) found malware in the file (the signature is named); the room's policy refuses it, and a held infected upload is never read";
    AvUninspectable = "av_uninspectable", Unprocessable, "the upload could not be scanned for malware (clamd unreachable, timed out, or the file beyond its stream limit) and the room's policy blocks what it cannot inspect";
    AvNotReleasable = "av_not_releasable", Conflict, "a held upload found infected cannot be released, only rejected";
    BadJustification = "bad_justification", BadRequest, "the justification is empty, too long or not printable text";
    DlpBadPolicy = "dlp_bad_policy", BadRequest, "a room's data-loss policy is malformed";
    DlpBadRegex = "dlp_bad_regex", BadRequest, "a custom detector's regular expression does not compile";
    DlpRegexTooLarge = "dlp_regex_too_large", BadRequest, "a custom detector's regular expression compiles too large";
    DlpBadRuleId = "dlp_bad_rule_id", BadRequest, "a custom detector's id is malformed";
    DlpEmptyRule = "dlp_empty_rule", BadRequest, "a custom detector has no usable term";
    DlpBadPatternRule = "dlp_bad_pattern_rule", BadRequest, "a custom pattern rule cannot be honoured (no expression and no path, a secret group its expression lacks, an entropy out of range)";
    DlpBadGitleaksConfig = "dlp_bad_gitleaks_config", BadRequest, "a gitleaks configuration is not TOML, or not shaped as one";
    JewelEmpty = "jewel_empty", BadRequest, "a crown jewel to register is empty";
    JewelNotText = "jewel_not_text", Unprocessable, "a crown jewel to register is neither text nor a document whose text can be extracted (an image, an executable, an encrypted archive)";
    JewelTooSmall = "jewel_too_small", Unprocessable, "a crown jewel to register has too little text to be recognised (fewer fingerprints than the registry needs)";
    JewelDuplicate = "jewel_duplicate", Conflict, "the same content is registered as a crown jewel already";
    JewelBadName = "jewel_bad_name", BadRequest, "a crown jewel's name is empty, longer than 200 characters or holds control characters";

    // SCIM provisioning (identity/src/scim.rs, docs/scim.md).
    ScimInvalidFilter = "scim_invalid_filter", BadRequest, "a SCIM filter does not parse or compares what cannot be compared (SCIM `invalidFilter`)";
    ScimInvalidPath = "scim_invalid_path", BadRequest, "a SCIM PATCH path does not parse or names no attribute that can be changed (SCIM `invalidPath`)";
    ScimInvalidValue = "scim_invalid_value", BadRequest, "a SCIM attribute is missing, of the wrong type or not a value the platform takes (SCIM `invalidValue`)";
    ScimInvalidSyntax = "scim_invalid_syntax", BadRequest, "a SCIM request body is not JSON of the resource or PATCH request it must be (SCIM `invalidSyntax`)";
    ScimNoTarget = "scim_no_target", BadRequest, "a SCIM PATCH removal names no path, or its filter matches nothing (SCIM `noTarget`)";
    ScimMutability = "scim_mutability", BadRequest, "a SCIM request changes an attribute that cannot change, such as `id` (SCIM `mutability`)";
    ScimUniqueness = "scim_uniqueness", Conflict, "a SCIM user's `userName` or a group's `displayName` is taken (SCIM `uniqueness`)";
    ScimVersionMismatch = "scim_version_mismatch", PreconditionFailed, "the SCIM resource changed since the version named in `If-Match`";
    ScimRoleNotAllowed = "scim_role_not_allowed", BadRequest, "a group of an external party maps only to room roles or the member system role";
    ScimMappingInvalid = "scim_mapping_invalid", BadRequest, "a group mapping names a group and either a room with a room role or a system role";

    // Agreements, conditions, policies (governance).
    InvalidField = "invalid_field", BadRequest, "a text field is empty, too long or holds control characters";
    InvalidTemplate = "invalid_template", BadRequest, "an agreement template or its name is malformed";
    UnknownTemplate = "unknown_template", BadRequest, "no agreement template with that name";
    InvalidTerm = "invalid_term", BadRequest, "an agreement's term (effective date, end) is malformed";
    InvalidTerms = "invalid_terms", BadRequest, "an agreement's terms (field of use, territories, actions) are malformed";
    NotADraft = "not_a_draft", BadRequest, "the agreement is not a draft any more";
    NotAwaitingSignature = "not_awaiting_signature", BadRequest, "the agreement is not awaiting a signature";
    NotAgreed = "not_agreed", BadRequest, "the signer did not confirm that they agree";
    TextMismatch = "text_mismatch", BadRequest, "the agreement text changed since it was shown to the signer";
    AlreadyTerminated = "already_terminated", BadRequest, "the agreement is already terminated";
    ZoneInvalid = "zone_invalid", BadRequest, "a network zone is malformed or defined twice";
    CidrInvalid = "cidr_invalid", BadRequest, "a CIDR range is malformed";
    PolicyInvalid = "policy_invalid", BadRequest, "a custom policy does not parse or does not validate against the schema";
    PolicyDisableInvalid = "policy_disable_invalid", BadRequest, "a default policy to switch off is unknown or may not be switched off";
    PolicyLockout = "policy_lockout", BadRequest, "the change would leave no active admin able to manage policies";
    UnknownResource = "unknown_resource", BadRequest, "the simulated resource does not exist";
    BadDays = "bad_days", BadRequest, "the number of days to replay is out of range";
    InvalidStandard = "invalid_standard", BadRequest, "a certification standard is unknown or malformed, or required twice";
    InvalidCertification = "invalid_certification", BadRequest, "a certification's term or fields are malformed";
    InvalidEvidence = "invalid_evidence", BadRequest, "the evidence file is not a file in a room shared with the party";
    InvalidSponsor = "invalid_sponsor", BadRequest, "a party's sponsor must be an active user of the owner";
    InvalidCourse = "invalid_course", BadRequest, "a course is malformed or over its limits (pages, questions, text lengths, pass mark, validity), or a course is required twice";
    UnknownCourse = "unknown_course", BadRequest, "no course with that id";
    InvalidQuizAnswers = "invalid_quiz_answers", BadRequest, "the quiz answers do not fit the questions (one missing, a choice that does not exist, several for a single-choice question)";
    QuizAttemptsExceeded = "quiz_attempts_exceeded", TooManyRequests, "too many quiz attempts at this course in the last hour; retry later";

    // Events, the ledger, tracing (audit).
    BadFilter = "bad_filter", BadRequest, "the event filter is malformed or contradictory";
    BadTimeRange = "bad_time_range", BadRequest, "`to` is earlier than `from`";
    LedgerIndexOutOfRange = "ledger_index_out_of_range", BadRequest, "a ledger index or size is beyond the ledger's entries";
    LedgerRangeTooLarge = "ledger_range_too_large", BadRequest, "a ledger range is larger than one request may ask";
    LedgerSizeOrder = "ledger_size_order", BadRequest, "the first of two ledger sizes or indexes is larger than the second";
    EventNotInLedger = "event_not_in_ledger", BadRequest, "the event was recorded before the ledger and cannot be redacted";
    BadReason = "bad_reason", BadRequest, "the reason is empty, too long or not printable text";
    NoMark = "no_mark", BadRequest, "the file carries no mark that Custody can read";
    MarkUnsupported = "mark_unsupported", BadRequest, "marks cannot be read from content of this type";
    MarkTooLarge = "mark_too_large", BadRequest, "the file is over the limits of mark reading";
    MarkBadImage = "mark_bad_image", BadRequest, "the image does not decode";
    MarkBadPdf = "mark_bad_pdf", BadRequest, "the PDF does not parse";
    MarkEncryptedPdf = "mark_encrypted_pdf", BadRequest, "the PDF is encrypted";
    MarkBadText = "mark_bad_text", BadRequest, "the text is not UTF-8";

    // Due diligence, risk tiers, the sharing risk matrix (governance).
    PartyNotAssessed = "party_not_assessed", Conflict, "a party is activated only once its due diligence is signed off with a risk tier in term";
    PartyOffboarded = "party_offboarded", Conflict, "an offboarded party stays offboarded until it is re-onboarded, which starts again from prospective";
    OffboardRequired = "offboard_required", BadRequest, "a party is offboarded only by the offboarding action, which ends all its access at once, never by changing its status";
    NotConfirmed = "not_confirmed", BadRequest, "an irreversible action was asked without its confirmation";
    ActivationRequired = "activation_required", BadRequest, "a prospective party becomes active only through activation, and no party becomes prospective again";
    InvalidQuestionnaire = "invalid_questionnaire", BadRequest, "a questionnaire template is malformed or over its limits";
    UnknownQuestionnaire = "unknown_questionnaire", BadRequest, "no questionnaire template with that name or id";
    InvalidAnswer = "invalid_answer", BadRequest, "an answer does not fit its question, or a required one is missing";
    InvalidContact = "invalid_contact", BadRequest, "the contact must be an enabled user of the assessed party";
    NotAssessmentContact = "not_assessment_contact", Forbidden, "only the party's contact named when the questionnaire was sent answers it";
    AssessmentState = "assessment_state", Conflict, "the assessment is not in a state that allows this (e.g. answers after sign-off)";
    InvalidDecision = "invalid_decision", BadRequest, "a sign-off needs a tier and reasons of 1 to 2000 characters";
    InvalidRiskSettings = "invalid_risk_settings", BadRequest, "the sharing risk matrix or a re-assessment period is malformed";

    // Access reviews (governance).
    InvalidCampaign = "invalid_campaign", BadRequest, "an access-review campaign is malformed: its name, scope, reviewers, dates or recurrence";
    NotReviewer = "not_reviewer", Forbidden, "the caller is not a reviewer of that grant in this campaign";
    ReviewClosed = "review_closed", Conflict, "the campaign takes no decisions: it has not started yet, or its due date came and it was applied";
    NotUnderReview = "not_under_review", BadRequest, "a grant named is not under review in this campaign";
    BadJustificationText = "bad_justification_text", BadRequest, "a review decision needs a justification of 1 to 500 characters on one line";
    AttestationCode = "attestation_code", Forbidden, "the attestation's signing page needs the browser verified first with the code mailed to the officer's address (none, a wrong or an expired code was given)";
    AttestationThrottled = "attestation_throttled", TooManyRequests, "too many wrong codes were tried at this attestation from this address (or at it from everywhere): the message says how many seconds to wait";
    AttestationSigned = "attestation_signed", Conflict, "the attestation is signed already: a signature is final";
    BadAttestation = "bad_attestation", BadRequest, "an attestation signature needs the signer's name (1 to 200 characters, one line) and the declaration's box ticked";
    AttestationOfficer = "attestation_officer", BadRequest, "the attestation has no officer address to mail: give one";
    BadAttestationDays = "bad_attestation_days", BadRequest, "an attestation's time to sign is 1 to 365 days";
    // Destruction, crypto-shredding and legal holds.
    RoomKeyMissing = "room_key_missing", Unavailable, "the room's key is not in the key directory: it was destroyed (the room was crypto-shredded) or the key directory is incomplete, and the content cannot be decrypted";
    LegalHold = "legal_hold", Conflict, "a legal hold covers this content: it cannot be destroyed, purged or redacted until a security officer releases the hold";
    FourEyes = "four_eyes", Forbidden, "a destruction needs the approval of a second person: whoever requested it cannot approve it";
    DestructionState = "destruction_state", Conflict, "the destruction request is not in a state that allows this (it runs, ran or was rejected), or what would be destroyed is not what was shown (the manifest's digest differs)";
    DestructionPending = "destruction_pending", Conflict, "the room has a destruction request that is neither executed nor rejected";
    BadRetention = "bad_retention", BadRequest, "a retention period is a whole number of days from 1 to 36500";
    // Incident cases.
    IncidentClosed = "incident_closed", Conflict, "the incident case is closed (its lessons learned are recorded): it takes no more changes";
    IncidentNoSubject = "incident_no_subject", BadRequest, "the incident case names no user, party or room this action could apply to: name one first";
    BadIncidentText = "bad_incident_text", BadRequest, "an incident's title is 1 to 200 characters on one line; a summary, note, task, message or lessons learned 1 to 10000 characters";
    BadNotifyHours = "bad_notify_hours", BadRequest, "the notification deadline is a whole number of hours from 1 to 8760, or none";
    NotStaff = "not_staff", BadRequest, "a stage's owner, a task's assignee and a message's recipient are active users of the owner's party";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code is snake_case ASCII, unique, parses back to itself, and
    /// means something in one lowercase line without a final period.
    #[test]
    fn codes_are_unique_stable_strings_with_a_meaning() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "`{s}` twice");
            assert!(
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "`{s}` is not snake_case"
            );
            assert_eq!(ErrorCode::parse(s), Some(code));
            let m = code.meaning();
            assert!(
                m.starts_with(|c: char| !c.is_uppercase())
                    && !m.ends_with('.')
                    && !m.contains('\n'),
                "`{s}`: {m:?}"
            );
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }
}
