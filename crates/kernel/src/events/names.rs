//! The catalogue of event actions: what an event's `action` may be. Either an
//! authorization [`Action`] (the seam records every denial under the action's
//! name, and a use-case records what it did under the same name) or one of the
//! [`EventName`]s, the facts that are not requests decided by the policies
//! (a sign-in, a key rotation, a data-loss hold …). [`EventAction`] is either;
//! `Fact` records one. The strings are part of the ledger's stable leaf
//! encoding: do not change them. docs/events.md is rendered from this table
//! (`tests::events_md_matches_the_catalogue`).

use model::Outcome;

use crate::authz::Action;

/// The outcomes an event action is recorded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcomes {
    Allowed,
    Denied,
    Both,
}

impl Outcomes {
    /// Whether events of this action may have `outcome`.
    pub const fn has(self, outcome: Outcome) -> bool {
        matches!(
            (self, outcome),
            (Outcomes::Both, _)
                | (Outcomes::Allowed, Outcome::Allowed)
                | (Outcomes::Denied, Outcome::Denied)
        )
    }

    /// As the documentation lists them.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcomes::Allowed => "allowed",
            Outcomes::Denied => "denied",
            Outcomes::Both => "allowed, denied",
        }
    }
}

macro_rules! event_names {
    ($($variant:ident = $text:literal, $outcomes:ident, $meaning:literal;)*) => {
        /// An event action that is not an authorization [`Action`]. Each
        /// variant's documentation is its meaning; `as_str` is the stable name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EventName {
            $(#[doc = $meaning] $variant,)*
        }

        impl EventName {
            /// Every name, in the catalogue's order.
            pub const ALL: &'static [EventName] = &[$(EventName::$variant),*];

            /// The stable name, as recorded.
            pub const fn as_str(self) -> &'static str {
                match self { $(EventName::$variant => $text),* }
            }

            /// The outcomes it is recorded with.
            pub const fn outcomes(self) -> Outcomes {
                match self { $(EventName::$variant => Outcomes::$outcomes),* }
            }

            /// What it records, in one line.
            pub const fn meaning(self) -> &'static str {
                match self { $(EventName::$variant => $meaning),* }
            }

            /// The name of a stable string.
            pub fn parse(s: &str) -> Option<EventName> {
                match s {
                    $($text => Some(EventName::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_names! {
    SystemBootstrap = "system.bootstrap", Allowed, "the first admin and the owner party were created";
    AuthLogin = "auth.login", Both, "a sign-in; a refusal names its reason (`invalid_credentials`, `account_locked` …)";
    AuthLogout = "auth.logout", Allowed, "a session was ended by its user";
    ScimUserCreate = "scim.user_create", Allowed, "a party's identity provider created a user through SCIM (the detail names the token)";
    ScimUserUpdate = "scim.user_update", Allowed, "a party's identity provider changed a user through SCIM (name, e-mail, external id)";
    ScimUserDeprovision = "scim.user_deprovision", Allowed, "a party's identity provider deactivated (`active=false`) or deleted a user through SCIM: the user is disabled and every session, API token, share link and grant ended in the same transaction (the detail counts them)";
    ScimUserReactivate = "scim.user_reactivate", Allowed, "a party's identity provider reactivated a deactivated user through SCIM (`active=true`)";
    ScimGroupChange = "scim.group_change", Allowed, "a party's identity provider created, renamed, deleted a group or changed its members through SCIM (the detail lists who joined and left)";
    ScimRoleChange = "scim.role_change", Both, "a group mapping gave or took a system role or a room role as a member joined or left the group; refused when the grant code refused it (the reason says why)";
    ScimRefused = "scim.refused", Denied, "a SCIM request was refused: a wrong or revoked token, a resource of another party, invalid input (the reason is the error code)";
    AuthTotpBegin = "auth.totp_begin", Allowed, "a user began enrolling an authenticator app";
    AuthTotpConfirm = "auth.totp_confirm", Denied, "a wrong one-time code while confirming an authenticator app";
    AuthTotpEnabled = "auth.totp_enabled", Allowed, "a user's authenticator app was confirmed and is required from now on";
    UserSessionsRevoked = "user.sessions_revoked", Allowed, "every session of a user was ended";
    AuthSessionEnd = "auth.session_end", Allowed, "a user ended sessions or API tokens of their own: one (named in the detail), or every one but the current (counted)";
    AuthRecoveryCodes = "auth.recovery_codes", Allowed, "new recovery codes were made for a user (at enrolment, or on their request); the earlier ones no longer work";
    AuthRecoveryCodeUsed = "auth.recovery_code_used", Allowed, "a recovery code was used in place of a one-time code to sign in; it no longer works (the detail says how many are left)";
    InvitationAccept = "invitation.accept", Both, "an invitation was accepted and its user created; refused for an unknown, used or expired one";
    UserTraining = "user.training", Allowed, "a user's training was recorded or removed";
    PartyCertification = "party.certification", Allowed, "a party's certificates were replaced by one verified record, or removed (`PUT`/`DELETE /parties/{id}/certification`)";
    PolicyChange = "policy.change", Allowed, "a new version of the policy set was applied";
    AgreementOffer = "agreement.offer", Allowed, "a draft agreement was offered to its party for signature";
    AgreementExpire = "agreement.expire", Allowed, "an agreement reached its end (recorded once, by the expiry sweep)";
    GrantExpire = "grant.expire", Allowed, "a grant reached its expiry (recorded once, by the expiry sweep)";
    PartyCertificationExpire = "party.certification_expire", Allowed, "a party's verified certificate reached its end (recorded once, by the expiry sweep; the target is the certificate)";
    CertificationReminder = "certification.reminder", Allowed, "a party's verified certificate ends within 30 or 7 days: its users and sponsor were told (recorded once per threshold, by the expiry sweep)";
    RoomCertifications = "room.certifications", Allowed, "the certification standards a room requires of external parties were set";
    PartySponsor = "party.sponsor", Allowed, "a party's sponsor (the owner's user who answers for it) was set or removed";
    PartyTierLapse = "party.tier_lapse", Allowed, "a party's risk tier reached the end of its assessment's term and lapsed: it counts as unassessed until a new assessment is signed off (recorded once, by the expiry sweep)";
    PartyTierReminder = "party.tier_reminder", Allowed, "a party's risk tier lapses within 30 or 7 days: its users, its sponsor and the owner's admins were told that a re-assessment is due (recorded once per threshold, by the expiry sweep)";
    UserTrainingExpire = "user.training_expire", Allowed, "a user's training lapsed (recorded once, by the expiry sweep)";
    NotificationRead = "notification.read", Allowed, "a user read one of their notifications";
    RoomDelivery = "room.delivery", Allowed, "a room's delivery policy (original, marked copy, view only) was set";
    DlpNotify = "dlp.notify", Allowed, "content with findings the room's data-loss policy notifies of was moved";
    DlpJustified = "dlp.justified", Allowed, "content with findings was moved with the justification the policy asks for";
    DlpScan = "dlp.scan", Allowed, "a stored version was scanned again under a changed ruleset";
    DlpHold = "dlp.hold", Allowed, "an upload was stored but held for review by the room's data-loss policy";
    DlpReviewRead = "dlp.review_read", Allowed, "a reviewer read a held upload's content";
    DlpRelease = "dlp.release", Allowed, "a held upload was released and became its file's newest version";
    DlpReject = "dlp.reject", Allowed, "a held upload was rejected";
    AvInfected = "av.infected", Allowed, "antivirus found an inbound file infected (the signature named); the room's policy held or refused it and the security officers were told";
    AvUninspectable = "av.uninspectable", Allowed, "an inbound file could not be scanned for malware (clamd unreachable, timed out, or the file beyond its stream limit); the room's uninspectable action applied";
    DlpRuleAdd = "dlp.rule_add", Allowed, "a custom detector was added";
    DlpRuleRemove = "dlp.rule_remove", Allowed, "a custom detector was removed";
    JewelRegister = "jewel.register", Allowed, "a crown-jewel document was registered as its fingerprints (from a file in a room, or uploaded for registration only; its content is not kept); the detail names it, its size, SHA-256 and number of fingerprints";
    JewelUnregister = "jewel.unregister", Allowed, "a crown-jewel document was removed from the registry";
    JewelExport = "jewel.export", Allowed, "the crown-jewel registry (fingerprints only) was exported, for `custody scan --registry`; the detail holds how many documents";
    MarkTrace = "mark.trace", Both, "a leaked copy was traced by its mark; refused when it carries none that can be read";
    LedgerExport = "ledger.export", Allowed, "an evidence bundle of ledger entries with their proofs was issued";
    KeysRotate = "keys.rotate", Allowed, "a new key-encryption key was made current";
    KeysRewrap = "keys.rewrap", Allowed, "a batch of data keys was re-wrapped under the current key-encryption key";
    KeysReseal = "keys.reseal", Allowed, "the sealed secrets were re-sealed under the current key-encryption key";
    AssessmentSave = "assessment.save", Allowed, "a party's contact saved draft answers to a questionnaire";
    AssessmentSubmit = "assessment.submit", Allowed, "a party's contact submitted answers to a questionnaire; the detail holds the computed score and tier";
    AssessmentFollowUp = "assessment.follow_up", Allowed, "a reviewer asked a follow-up question about one answer";
    AssessmentReply = "assessment.reply", Allowed, "a party's contact answered a follow-up; a remediation replaced the scored answer (the replaced one kept)";
    AssessmentDecide = "assessment.decide", Allowed, "a reviewer signed off an assessment with a decided tier and reasons; the party's tier and its validity were set";
    CoursePublish = "course.publish", Allowed, "an admin published a training course, or a new version of one (the detail says whether it requires retaking)";
    CourseAttempt = "course.attempt", Allowed, "a user answered a course's quiz: the detail holds the version, score and whether it passed (never the answers)";
    CourseComplete = "course.complete", Allowed, "a user passed a course's quiz: a completion was recorded, valid until the detail's end";
    CourseRecordExternal = "course.record_external", Allowed, "the owner's staff recorded a course a user completed elsewhere, with evidence; it counts as a completion";
    CourseRequirements = "course.requirements", Allowed, "the courses a classification or a room requires of external users were set";
    CourseReminder = "course.reminder", Allowed, "a user's course completion ends within 30 or 7 days: the user and their party's sponsor were told (recorded once per threshold, by the expiry sweep)";
    CourseExpire = "course.expire", Allowed, "a user's course completion reached its end (recorded once, by the expiry sweep; the target is the completion)";
    LinkOpen = "link.open", Both, "a share link was opened by its secret (the detail names the link and the verified recipient); refused when it is revoked, expired, used up, or its password or code was wrong";
    LinkCode = "link.code", Allowed, "a one-time code was mailed to a share link's recipient, who asked for it from a browser";
    LinkVerify = "link.verify", Both, "a share link's recipient typed the code mailed to them: their browser session is verified; refused for a wrong or expired code";
    AccountMail = "account.mail", Allowed, "a user chose how notifications that are not security-critical are mailed to them: each at once, or a daily digest (the detail holds the choice)";
    LinkSign = "link.sign", Both, "a share link's verified recipient signed one of the room's required agreements, click-through, before the first byte (the detail names the link, the recipient, the requirement, the template and the text's SHA-256; the text is kept with the link); refused when the text shown is not the text in force";
    LinkRevoke = "link.revoke", Allowed, "a share link was revoked: it opens no more";
    UploadRequestOpen = "upload_request.open", Both, "an upload request's page was opened by its secret (the detail names the request and the verified recipient); refused when it is revoked, expired, full or no longer available";
    UploadRequestCode = "upload_request.code", Allowed, "a one-time code was mailed to an upload request's recipient, who asked for it from a browser";
    UploadRequestVerify = "upload_request.verify", Both, "an upload request's recipient typed the code mailed to them: their browser session is verified; refused for a wrong or expired code";
    UploadRequestUpload = "upload_request.upload", Both, "a file arrived through an upload request (the detail names the request, the recipient, the name it was stored under and its outcome: stored or held); refused when the request was closed or full, the file too large, or the room's inbound policy refused it";
    UploadRequestRevoke = "upload_request.revoke", Allowed, "an upload request was revoked: it takes no more files";
    MailFail = "mail.fail", Allowed, "the outbox gave up on an e-mail: the SMTP server refused it for good or every attempt failed (the detail holds the template, the attempts and the last error; the target is the message)";
    ReviewCreate = "review.create", Allowed, "an access-review campaign was made (the target is the campaign; the detail holds its scope, reviewers, dates, what happens to unreviewed grants and its recurrence); by the sweep for the next of a recurring one";
    ReviewOpen = "review.open", Allowed, "an access-review campaign started: the grants it covers were gathered with their reviewers, who were told";
    ReviewRemind = "review.remind", Allowed, "reviewers with grants still undecided two days before a campaign's due date were reminded";
    ReviewOutcome = "review.outcome", Allowed, "at a campaign's due date, what it did to one grant (kept, ended, flagged, or gone already), with the decision, reviewer and justification it rests on";
    ReviewApply = "review.apply", Allowed, "an access-review campaign reached its due date and applied itself (the detail counts the grants kept, ended and flagged, and names the next campaign of a recurring one)";
    AttestationOpen = "attestation.open", Allowed, "an offboarding opened a destruction attestation request to the party: the copies it received, frozen with the declaration into the text to sign (the detail holds the officer's address, the due date, the copies counted and the text's SHA-256)";
    AttestationMail = "attestation.mail", Allowed, "an admin sent an attestation request to its officer again, with a fresh signing link (the old one stops working); the detail names the address";
    AttestationCode = "attestation.code", Allowed, "a one-time code was mailed to an attestation's officer, who asked for it on the signing page";
    AttestationVerify = "attestation.verify", Both, "an attestation's officer typed the code mailed to them: their browser session is verified; refused for a wrong or expired code";
    AttestationSign = "attestation.sign", Both, "the party's officer signed the destruction attestation, click-through (the detail names the signer, the address, the text's SHA-256 and the copies counted; the text is kept with the request); refused when the hash sent is not the text's";
    AttestationRemind = "attestation.remind", Allowed, "an overdue attestation request was mailed again to its officer (at most once a week)";
    AttestationEscalate = "attestation.escalate", Allowed, "an overdue attestation request was escalated to the owner's security officers (else its admins), told and mailed (at most once a week)";
    RoomDestroyStart = "room.destroy_start", Allowed, "a room's destruction started: the room is closed to every access and its key is about to be destroyed (the detail names the request and the SHA-256 of what will be destroyed); a restart finishes what a crash interrupted";
    RoomDestroyed = "room.destroyed", Allowed, "a room was destroyed: its key is gone, so every copy of its content, in the data directory and in every backup, is unreadable (the detail names the request, the key ids, every version by digest and the SHA-256 of the statement its certificate of destruction carries); refused by a legal hold";
    RoomRetention = "room.retention", Allowed, "a room's retention period ended, or that of some of its files: a destruction or a purge was requested for it, which a second person must approve (the room is above `internal`); at or below, it was destroyed or purged at once";
    FilePurgeStart = "file.purge_start", Allowed, "a purge of some of a room's files started (deleted files past the admin's grace period, or files past their own retention period): they are closed to every access, and the room is about to be re-keyed (the detail names the request, the versions and the key generations)";
    FilePurged = "file.purged", Allowed, "files of a room were purged: what stays in the room was re-keyed under a new generation of the room's key and the old generation was destroyed, so the purged versions are unreadable in the data directory and in every backup (the detail names the request, the destroyed key id, every version by digest and the SHA-256 of the statement its certificate carries)";
    LegalHoldRelease = "legal_hold.release", Allowed, "a legal hold was released (the detail holds the reason)";
    IncidentOpen = "incident.open", Allowed, "an incident case was opened (the target is the case; the detail names its source — an alert, a trace, a DLP event, a report or by hand — and whom it is about); the owner's security officers were told";
    IncidentAssess = "incident.assess", Allowed, "an incident case was assessed and classified (the detail holds the severity and the category)";
    IncidentStage = "incident.stage", Allowed, "an incident case moved to another stage, or a stage got its owner (the detail names the stage and the owner)";
    IncidentNote = "incident.note", Allowed, "a note or a task was added to an incident case, or a task was done (the detail names the stage, the kind and the assignee)";
    IncidentContain = "incident.contain", Allowed, "a containment action of an incident case was taken: a user or a party suspended, their links and sessions ended, a room frozen to view-only, or a user made to verify again (the detail names the action, its target and what it ended)";
    IncidentTrace = "incident.trace", Allowed, "a trace result was added to an incident case: the leaked copy's SHA-256 and size, the mark read, and its recipients";
    IncidentHold = "incident.hold", Allowed, "legal holds were set on everything an incident case covers (the detail names the holds, the party and the room)";
    IncidentNotified = "incident.notified", Allowed, "the notification an incident case required was made (the detail names to whom, and the deadline)";
    IncidentMessage = "incident.message", Allowed, "a message from a template was sent about an incident case to internal stakeholders (notifications, and e-mail through the outbox where mail is set up)";
    IncidentClose = "incident.close", Allowed, "an incident case was closed with its lessons learned";
    IncidentExport = "incident.export", Allowed, "an incident case's evidence bundle was exported (the detail counts its entries and names the checkpoint's size)";
    WatchAlert = "watch.alert", Allowed, "the watcher raised an alert on a user or a party (the target is the alert; the detail names whom, the score and the sentence); the owner's security officers were told";
}

/// What the events of an authorization action mean, and whether a use-case
/// records it as allowed too (every action is recorded when it is denied).
const fn action_doc(action: Action) -> (Outcomes, &'static str) {
    use Outcomes::{Both, Denied};
    match action {
        Action::PartyList => (Denied, "listing the parties"),
        Action::PartyCreate => (Both, "creating a party"),
        Action::PartyUpdate => (
            Both,
            "changing a party (name, status, country, certification)",
        ),
        Action::UserList => (Denied, "listing users or reading one"),
        Action::UserCreate => (Both, "creating a user"),
        Action::UserUpdate => (
            Both,
            "changing a user (name, role, status, training) or ending their sessions",
        ),
        Action::InvitationCreate => (Both, "inviting a person by e-mail"),
        Action::UserMfaReset => (
            Both,
            "removing a user's second factor (authenticator app and recovery codes) and ending their sessions, so that they enrol again; the detail holds the admin's reason",
        ),
        Action::UserUnlock => (
            Both,
            "unlocking an account locked by failed sign-ins; the detail holds the admin's reason",
        ),
        Action::EventRead => (
            Denied,
            "reading events, the ledger, its proofs and bundles, or tracing a copy",
        ),
        Action::EventRedact => (Both, "removing personal data from a recorded event"),
        Action::LedgerAudit => (Both, "re-checking the whole stored ledger"),
        Action::RoomList => (Denied, "listing rooms"),
        Action::RoomCreate => (Both, "creating a room"),
        Action::RoomView => (Denied, "seeing a room"),
        Action::RoomUpdate => (Both, "changing a room (name, classification, conditions)"),
        Action::RoomDelete => (Both, "deleting a room"),
        Action::GrantList => (Denied, "listing a room's grants"),
        Action::GrantCreate => (
            Both,
            "granting a room role; refused by data-loss prevention too",
        ),
        Action::GrantRevoke => (Both, "revoking a grant"),
        Action::FileList => (Denied, "listing a room's files or a file's versions"),
        Action::FileView => (
            Both,
            "a file opened in the viewer (its mark id is carried by every page of the view); refused by data-loss prevention or the renderer too",
        ),
        Action::FileDownload => (
            Both,
            "a download or marked copy; refused by the delivery policy, data-loss prevention or an integrity failure too",
        ),
        Action::FileUpload => (
            Both,
            "an upload; refused by data-loss prevention or the size limit too",
        ),
        Action::FileDelete => (Both, "deleting a file"),
        Action::TotpEnroll => (Denied, "enrolling an authenticator app"),
        Action::SessionSelf => (
            Denied,
            "reading or ending one's own sessions and API tokens (an ending is `auth.session_end`)",
        ),
        Action::TokenCreate => (Both, "making a named API token for oneself"),
        Action::AgreementList => (Denied, "listing agreements"),
        Action::AgreementCreate => (
            Both,
            "creating an agreement, or issuing one from a template",
        ),
        Action::AgreementView => (Denied, "reading an agreement"),
        Action::AgreementSign => (Both, "signing an agreement"),
        Action::AgreementTerminate => (Both, "terminating an agreement"),
        Action::PolicyRead => (Denied, "reading the policies and their versions"),
        Action::PolicySimulate => (Denied, "simulating a decision or replaying a what-if"),
        Action::PolicyApply => (
            Denied,
            "changing the policies or the custom detectors (done: `policy.change`, `dlp.rule_add`, `dlp.rule_remove`)",
        ),
        Action::DlpReview => (
            Denied,
            "reviewing held uploads and custom detectors (done: `dlp.review_read`, `dlp.release`, `dlp.reject`)",
        ),
        Action::DlpPolicy => (Both, "reading or setting a room's data-loss policy"),
        Action::LinkCreate => (
            Both,
            "making a share link to a file (the detail holds its end, mode, limit, whether a password guards it and its recipients), or revoking one's own",
        ),
        Action::LinkManage => (Both, "listing or revoking any share link of a room"),
        Action::UploadRequestCreate => (
            Both,
            "asking named recipients for files into a folder of a room (the detail holds the folder, end, limits and recipients), or listing and revoking one's own requests",
        ),
        Action::UploadRequestManage => (Both, "listing or revoking any upload request of a room"),
        Action::Notifications => (Denied, "reading one's notifications"),
        Action::ZoneList => (Denied, "listing the network zones"),
        Action::ZoneUpdate => (Both, "replacing the network zones"),
        Action::TemplateList => (Denied, "listing agreement templates"),
        Action::TemplateUpdate => (Both, "creating or changing an agreement template"),
        Action::CertificationList => (
            Denied,
            "reading parties' certificates, sponsors and what each classification requires",
        ),
        Action::CertificationRecord => (Both, "recording a party's certificate (unverified)"),
        Action::CertificationVerify => (
            Both,
            "verifying a party's recorded certificate: from then on it counts",
        ),
        Action::CourseTake => (
            Denied,
            "reading the courses required of oneself, a course's pages and quiz, and answering it (done: `course.attempt`)",
        ),
        Action::CourseList => (
            Denied,
            "reading courses, their versions and completions (the owner's staff)",
        ),
        Action::CourseUpdate => (
            Denied,
            "publishing a course or setting the courses rooms require (done: `course.publish`, `course.requirements`)",
        ),
        Action::CourseRecord => (
            Denied,
            "recording a course completed elsewhere (done: `course.record_external`)",
        ),
        Action::ClassificationUpdate => (
            Both,
            "setting the certification standards rooms of a classification require of external parties",
        ),
        Action::RoomConditions => (
            Denied,
            "changing what a room demands of external parties (done: `room.update`)",
        ),
        Action::PartyActivate => (
            Both,
            "activating a party being onboarded; refused unless its due diligence is signed off with a tier in term",
        ),
        Action::PartyOffboard => (
            Both,
            "offboarding a party: every grant, session, token and pending invitation ended, agreements terminated, users disabled, in one transaction",
        ),
        Action::PartyReonboard => (
            Both,
            "starting an offboarded party's onboarding again from `prospective` (its risk tier cleared)",
        ),
        Action::UserOffboard => (
            Both,
            "offboarding one user: grants, sessions and tokens ended, the user disabled",
        ),
        Action::QuestionnaireList => (Denied, "listing or reading questionnaire templates"),
        Action::QuestionnaireUpdate => (Both, "writing a new version of a questionnaire template"),
        Action::AssessmentSend => (
            Both,
            "sending a questionnaire to a party's contact (its evidence room made on the first)",
        ),
        Action::AssessmentReview => (
            Denied,
            "reviewing a party's assessment (done: `assessment.follow_up`, `assessment.decide`)",
        ),
        Action::AssessmentAnswer => (
            Denied,
            "answering one's party's questionnaire (done: `assessment.save`, `assessment.submit`, `assessment.reply`)",
        ),
        Action::RiskRead => (
            Denied,
            "reading the sharing risk matrix and re-assessment periods",
        ),
        Action::RiskUpdate => (
            Both,
            "changing the sharing risk matrix or the re-assessment periods",
        ),
        Action::ReviewManage => (
            Denied,
            "making access-review campaigns and reading their reports (done: `review.create`)",
        ),
        Action::ReviewDecide => (
            Both,
            "a reviewer's decision on a grant under review: confirm or revoke, with a justification (the target is the campaign; the detail names the grant)",
        ),
        Action::RoomDestroy => (
            Both,
            "asking for a room's destruction (crypto-shredding): the request lists every version that would be destroyed; or setting a room's retention period",
        ),
        Action::DestructionRead => (
            Denied,
            "reading destruction requests and certificates of destruction",
        ),
        Action::DestructionDecide => (
            Both,
            "approving a destruction (it then runs: `room.destroy_start`, `room.destroyed`) or rejecting it; refused to its requester (four eyes)",
        ),
        Action::RetentionManage => (
            Both,
            "reading or setting the grace period after which deleted files are purged (the detail holds the days)",
        ),
        Action::ScimManage => (
            Both,
            "making or revoking a party's SCIM token, or mapping a group to a role or removing the mapping (the detail says which)",
        ),
        Action::JewelsManage => (
            Denied,
            "registering, listing, removing or exporting crown-jewel documents (done: `jewel.register`, `jewel.unregister`, `jewel.export`)",
        ),
        Action::LegalHoldManage => (
            Both,
            "setting or releasing a legal hold on a room or a party (the detail holds the reason)",
        ),
        Action::AlertRead => (Denied, "reading the alerts the watcher raised"),
        Action::AttestationRead => (
            Denied,
            "reading the destruction attestations asked of offboarded parties",
        ),
        Action::AttestationSend => (
            Denied,
            "sending an attestation request to its officer again (done: `attestation.mail`)",
        ),
        Action::IncidentRead => (
            Denied,
            "reading incident cases, their timelines and evidence",
        ),
        Action::IncidentManage => (
            Both,
            "running an incident case, or setting the hours from a case's opening to its notification deadline (done: the `incident.` events)",
        ),
        Action::IncidentReport => (
            Both,
            "reporting a suspected leak: a case is opened for the owner's security officers (the detail names the reporter's party)",
        ),
        Action::AlertFeedback => (
            Both,
            "confirming an alert, or dismissing it with a reason (kept for evaluation)",
        ),
    }
}

/// What an event records as its action: an authorization [`Action`] or an
/// [`EventName`]. `Fact::allowed` and `Fact::denied` take either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventAction {
    /// A request the policies decide; a denial by the seam, or what was done.
    Action(Action),
    /// A fact that is not a request the policies decide.
    Event(EventName),
}

impl EventAction {
    /// The stable name, as recorded.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventAction::Action(a) => a.as_str(),
            EventAction::Event(e) => e.as_str(),
        }
    }

    /// The event action of a recorded name.
    pub fn parse(s: &str) -> Option<EventAction> {
        Action::parse(s)
            .map(EventAction::Action)
            .or_else(|| EventName::parse(s).map(EventAction::Event))
    }

    /// The outcomes it is recorded with.
    pub const fn outcomes(self) -> Outcomes {
        match self {
            EventAction::Action(a) => action_doc(a).0,
            EventAction::Event(e) => e.outcomes(),
        }
    }

    /// What it records, in one line.
    pub const fn meaning(self) -> &'static str {
        match self {
            EventAction::Action(a) => action_doc(a).1,
            EventAction::Event(e) => e.meaning(),
        }
    }

    /// Every event action: the authorization actions, then the other names.
    pub fn all() -> impl Iterator<Item = EventAction> {
        let actions = Action::ALL.iter().map(|a| EventAction::Action(*a));
        actions.chain(EventName::ALL.iter().map(|e| EventAction::Event(*e)))
    }
}

impl From<Action> for EventAction {
    fn from(a: Action) -> Self {
        EventAction::Action(a)
    }
}

impl From<EventName> for EventAction {
    fn from(e: EventName) -> Self {
        EventAction::Event(e)
    }
}

impl std::fmt::Display for EventAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/events.md as the catalogue says it.
    fn events_markdown() -> String {
        let mut out = String::from(
            "# Events\n\n\
             <!-- Generated from `kernel::events::EventAction` (crates/kernel/src/events/names.rs); \
             do not edit by hand. After changing the catalogue, regenerate with \
             `CUSTODY_BLESS=1 cargo test -p kernel events_md`. -->\n\n\
             Every security-relevant fact is an event with an `action`, a `target`, an `outcome` \
             (`allowed` or `denied`, with a reason code) and detail, recorded in the ledger \
             (docs/ledger.md). The action names are stable: they are part of the ledger's leaf \
             encoding.\n\n\
             ## Authorization actions\n\n\
             Each is a Cedar action of the same name (docs/policy.md). The seam records every \
             denial under it; a use-case records what it did under the same name where the \
             outcomes say `allowed`.\n\n",
        );
        table(
            &mut out,
            Action::ALL.iter().map(|a| EventAction::Action(*a)),
        );
        out.push_str(
            "\n## Other events\n\n\
             Facts that are not requests decided by the policies.\n\n",
        );
        table(
            &mut out,
            EventName::ALL.iter().map(|e| EventAction::Event(*e)),
        );
        out
    }

    fn table(out: &mut String, actions: impl Iterator<Item = EventAction>) {
        out.push_str("| Action | Outcomes | Meaning |\n|---|---|---|\n");
        for a in actions {
            let meaning = a.meaning().replace('|', "\\|");
            let line = format!(
                "| `{}` | {} | {meaning} |\n",
                a.as_str(),
                a.outcomes().as_str()
            );
            out.push_str(&line);
        }
    }

    /// Every name is unique across actions and names, parses back to itself,
    /// and means something in one lowercase line without a final period.
    #[test]
    fn event_actions_are_unique_stable_names() {
        let mut seen = std::collections::HashSet::new();
        for a in EventAction::all() {
            let s = a.as_str();
            assert!(seen.insert(s), "`{s}` twice");
            assert!(s.contains('.'), "`{s}` has no area");
            assert_eq!(EventAction::parse(s), Some(a));
            let m = a.meaning();
            assert!(
                m.starts_with(|c: char| !c.is_uppercase()) && !m.ends_with('.'),
                "`{s}`: {m:?}"
            );
        }
        assert_eq!(EventAction::parse("test.event"), None);
    }

    /// docs/events.md is the catalogue; `CUSTODY_BLESS=1` rewrites it.
    #[test]
    fn events_md_matches_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/events.md");
        let want = events_markdown();
        if std::env::var_os("CUSTODY_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "docs/events.md is not the catalogue's: run `CUSTODY_BLESS=1 cargo test -p kernel events_md`"
        );
    }
}
