//! The authorization seam: every use-case asks [`authorize`] — (principal,
//! action, resource, context) → decision with a reason — before it does
//! anything. The rules are Cedar policies in the `policy` crate (schema,
//! default policies, explanations of denials: docs/policy.md); this module
//! names the actions and hands every request to the policy set in force.
//!
//! What the default policies say (deny by default):
//! - a disabled user, or a user of a party that is not active, may do nothing;
//! - a session without MFA, for a user who must use MFA, may do nothing but
//!   enrol TOTP;
//! - room actions need a room role (from unexpired grants) covering the action,
//!   except the management actions an admin holds over every room;
//! - an external party reaches a room's content only while the agreements the
//!   room requires are signed by the party and in term;
//! - a caller who may not even see a room is told "not found", never "forbidden".
//!
//! The seam's answer is a proof: [`Authorized`], which only this crate can make
//! (`crate::seam`), names the action in its type and carries the caller and the
//! resource it was decided on. Every use-case that reads or changes protected
//! state takes one, so a use-case that skips the decision does not compile.

use std::marker::PhantomData;

use crate::events::RequestMeta;

pub use policy::{Context, Decision, Policies, Principal, Requirement, Resource, Verdict};

/// An action as a type: what an [`Authorized`] proof was decided for.
pub trait Act: Copy + Send + Sync + 'static {
    const ACTION: Action;
}

/// Declares every action once: the [`Action`] enum, its stable names, the list
/// of all, and one zero-sized type per action in [`act`].
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)*) => {
        /// Everything the platform does that needs permission. Each is a Cedar action
        /// of the same name (`as_str`) in the policy schema.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The stable name, as recorded in events and named in the Cedar schema.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => $text,)*
                }
            }
        }

        /// One zero-sized type per [`Action`], to name it in an [`Authorized`] proof.
        pub mod act {
            $(
                #[doc = concat!("The action [`super::Action::", stringify!($name), "`].")]
                #[derive(Clone, Copy, Debug, Default)]
                pub struct $name;
                impl super::Act for $name {
                    const ACTION: super::Action = super::Action::$name;
                }
            )*
        }
    };
}

actions! {
    PartyList => "party.list",
    PartyCreate => "party.create",
    PartyUpdate => "party.update",
    UserList => "user.list",
    UserCreate => "user.create",
    UserUpdate => "user.update",
    InvitationCreate => "invitation.create",
    /// Removing a user's second factor (authenticator app and recovery
    /// codes), so that they enrol again (admins).
    UserMfaReset => "user.mfa_reset",
    /// Unlocking an account locked by failed sign-ins (admins).
    UserUnlock => "user.unlock",
    EventRead => "event.read",
    /// Removing personal data from a recorded event (admin only).
    EventRedact => "event.redact",
    /// Re-checking the whole stored ledger (admin only).
    LedgerAudit => "ledger.audit",
    RoomList => "room.list",
    RoomCreate => "room.create",
    RoomView => "room.view",
    RoomUpdate => "room.update",
    RoomDelete => "room.delete",
    GrantList => "grant.list",
    GrantCreate => "grant.create",
    GrantRevoke => "grant.revoke",
    FileList => "file.list",
    FileView => "file.view",
    FileDownload => "file.download",
    FileUpload => "file.upload",
    FileDelete => "file.delete",
    TotpEnroll => "auth.totp_enroll",
    /// Seeing and ending one's own sessions and API tokens.
    SessionSelf => "auth.session",
    /// Making a named API token for oneself.
    TokenCreate => "auth.token_create",
    AgreementList => "agreement.list",
    AgreementCreate => "agreement.create",
    AgreementView => "agreement.view",
    AgreementSign => "agreement.sign",
    AgreementTerminate => "agreement.terminate",
    PolicyRead => "policy.read",
    PolicySimulate => "policy.simulate",
    /// Changing the policy set (admins, unless the policies say otherwise).
    PolicyApply => "policy.apply",
    /// Reviewing data-loss findings: the quarantine, the custom rules
    /// (security officers and admins of the owner party).
    DlpReview => "dlp.review",
    /// Reading and setting a room's data-loss policy (room managers, admins).
    DlpPolicy => "dlp.policy",
    /// Reading one's own notifications.
    Notifications => "auth.notifications",
    ZoneList => "zone.list",
    ZoneUpdate => "zone.update",
    TemplateList => "template.list",
    TemplateUpdate => "template.update",
    /// Changing what a room demands of external parties.
    RoomConditions => "room.conditions",
    /// Activating a party being onboarded, once its due diligence is signed
    /// off with a tier in term (admins).
    PartyActivate => "party.activate",
    /// Offboarding a party in one transaction: every grant, session, token
    /// and pending invitation ends, agreements are terminated, users are
    /// disabled (admins).
    PartyOffboard => "party.offboard",
    /// Starting an offboarded party's onboarding again from `prospective`
    /// (admins).
    PartyReonboard => "party.reonboard",
    /// Offboarding one user: grants, sessions and tokens end, the user is
    /// disabled (admins).
    UserOffboard => "user.offboard",
    /// Listing and reading due-diligence questionnaire templates (owner staff).
    QuestionnaireList => "questionnaire.list",
    /// Writing a questionnaire template (a new version) (admins).
    QuestionnaireUpdate => "questionnaire.update",
    /// Sending a questionnaire to a party's contact (admins).
    AssessmentSend => "assessment.send",
    /// Reviewing a party's assessment: follow-ups and sign-off (admins and
    /// security officers).
    AssessmentReview => "assessment.review",
    /// Answering one's own party's questionnaire (its contact).
    AssessmentAnswer => "assessment.answer",
    /// Reading the sharing risk matrix and re-assessment periods (owner staff).
    RiskRead => "risk.read",
    /// Changing the sharing risk matrix and re-assessment periods (admins).
    RiskUpdate => "risk.update",
    /// Reading parties' certifications and what each classification
    /// requires (the owner's staff).
    CertificationList => "certification.list",
    /// Recording a party's certificate (admins).
    CertificationRecord => "certification.record",
    /// Verifying a recorded certificate: only then does it count (the owner's
    /// admins and security officers).
    CertificationVerify => "certification.verify",
    /// Setting what rooms of each classification require of external
    /// parties (admins).
    ClassificationUpdate => "classification.update",
    /// Listing the courses required of oneself, reading one and answering
    /// its quiz (everyone).
    CourseTake => "course.take",
    /// Reading courses, their versions and completions (the owner's staff).
    CourseList => "course.list",
    /// Publishing a course (a new version) and setting which courses rooms
    /// of each classification require (admins).
    CourseUpdate => "course.update",
    /// Recording a course a user completed elsewhere, with evidence (the
    /// owner's admins and security officers).
    CourseRecord => "course.record",
    /// Making a share link to a file of a room (the owner's users who may
    /// download in it), and listing and revoking one's own links.
    LinkCreate => "link.create",
    /// Listing and revoking every share link of a room (its managers on the
    /// owner's side, the owner's admins).
    LinkManage => "link.manage",
    /// Asking named recipients for files into a folder of a room (the
    /// owner's users who may upload in it), and listing and revoking one's
    /// own upload requests.
    UploadRequestCreate => "upload_request.create",
    /// Listing and revoking every upload request of a room (its managers on
    /// the owner's side, the owner's admins).
    UploadRequestManage => "upload_request.manage",
    /// Reading the alerts the watcher raised (the owner's security officers
    /// and admins).
    AlertRead => "alert.read",
    /// Confirming an alert or dismissing it with a reason (the owner's
    /// security officers and admins).
    AlertFeedback => "alert.feedback",
    /// Reading incident cases, their timelines and evidence (the owner's
    /// security officers and admins).
    IncidentRead => "incident.read",
    /// Opening and running incident cases: assessment, owners, tasks and
    /// notes, containment, traces, holds, notifications, messages, closing;
    /// and the notification clock (the owner's security officers and admins).
    IncidentManage => "incident.manage",
    /// Reporting a suspected leak (everyone).
    IncidentReport => "incident.report",
    /// Making access-review campaigns and reading their reports (the owner's
    /// admins and security officers).
    ReviewManage => "review.manage",
    /// Deciding grants under review (the owner's users; the use-case checks
    /// the caller reviews the grant in the campaign).
    ReviewDecide => "review.decide",
    /// Reading the destruction attestations asked of offboarded parties (the
    /// owner's admins, security officers and auditors).
    AttestationRead => "attestation.read",
    /// Sending an attestation request to its officer again, with a fresh
    /// link (the owner's admins).
    AttestationSend => "attestation.send",
    /// Asking for a room's destruction (crypto-shredding) and setting its
    /// retention, and confirming the destruction of a room at or below
    /// `internal`: the room's managers on the owner's side and the owner's admins.
    RoomDestroy => "room.destroy",
    /// Reading destruction requests and certificates of destruction: the
    /// owner's admins, security officers and auditors.
    DestructionRead => "destruction.read",
    /// Approving (the destruction then runs) or rejecting the destruction of
    /// a room: the owner's admins and security officers, never the requester.
    DestructionDecide => "destruction.decide",
    /// Setting, listing and releasing legal holds: the owner's security
    /// officers and admins.
    LegalHoldManage => "legal_hold.manage",
    /// Reading and setting the grace period after which deleted files are
    /// purged (admins).
    RetentionManage => "retention.manage",
    /// Registering crown-jewel documents (as fingerprints), listing,
    /// removing and exporting them: the owner's admins and security officers.
    JewelsManage => "jewels.manage",
    /// Making, listing and revoking a party's SCIM tokens and mapping its
    /// groups to room roles or system roles: the owner's admins, for any party.
    ScimManage => "scim.manage",
}

impl Action {
    /// The action of a stable name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

/// The platform itself, as the resource of a platform-wide decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct System;

/// The proof that the seam allowed `principal` the action `A` on `target`, for
/// the request `meta`. Made only by the seam (its fields are private to this
/// crate); the use-cases take it by value, so each decision serves one call.
#[must_use = "a decision that is not used is a use-case that was not run"]
pub struct Authorized<'a, A: Act, R> {
    pub(crate) meta: &'a RequestMeta,
    pub(crate) principal: &'a Principal,
    pub(crate) target: R,
    pub(crate) act: PhantomData<A>,
}

impl<'a, A: Act, R> Authorized<'a, A, R> {
    /// Made by the seam only.
    pub(crate) fn new(meta: &'a RequestMeta, principal: &'a Principal, target: R) -> Self {
        Authorized {
            meta,
            principal,
            target,
            act: PhantomData,
        }
    }

    /// The action that was allowed.
    pub fn action(&self) -> Action {
        A::ACTION
    }

    /// The request facts.
    pub fn meta(&self) -> &'a RequestMeta {
        self.meta
    }

    /// Who was allowed.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// What the decision was made on.
    pub fn target(&self) -> &R {
        &self.target
    }

    /// The request facts, the caller, and what the decision was made on.
    pub fn into_parts(self) -> (&'a RequestMeta, &'a Principal, R) {
        (self.meta, self.principal, self.target)
    }
}

/// THE authorization function. Every endpoint's action is checked here before
/// the handler body runs, against the policy set in force.
pub fn authorize(
    policies: &Policies,
    p: &Principal,
    action: Action,
    resource: &Resource,
    ctx: &Context,
) -> Decision {
    policies.decide(p, action.as_str(), resource, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_declares_every_action_and_nothing_unknown_is_an_action() {
        let policies = Policies::defaults().unwrap();
        for action in Action::ALL {
            assert!(policies.knows_action(action.as_str()), "{action:?}");
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        assert_eq!(Action::parse("room.explode"), None);
    }
}
