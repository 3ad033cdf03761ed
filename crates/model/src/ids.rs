//! Typed identifiers: a `RoomId` can never be passed where a `UserId` is meant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Wraps 16 random bytes supplied by the caller (libraries take no randomness of their own).
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

typed_id!(
    /// An organization: the owner or an external party.
    PartyId,
    /// A person.
    UserId,
    /// A data room.
    RoomId,
    /// A file (all its versions) inside a room.
    FileId,
    /// One immutable version of a file.
    VersionId,
    /// An encrypted blob in the vault.
    BlobId,
    /// A grant of a room role to a user or a party.
    GrantId,
    /// An invitation.
    InvitationId,
    /// A browser session or API token.
    SessionId,
    /// One single-use recovery code of a user's second factor.
    RecoveryCodeId,
    /// An agreement (NDA, IP assignment, licence) issued to a party.
    AgreementId,
    /// A message to one user (e.g. that an agreement has expired).
    NotificationId,
    /// One opening of a file in the view-only viewer (held in memory, never stored).
    ViewId,
    /// One version of a due-diligence questionnaire template.
    QuestionnaireId,
    /// A questionnaire sent to a party, its answers and its review.
    AssessmentId,
    /// One security certificate a party holds.
    CertificationId,
    /// A training course (all its versions).
    CourseId,
    /// A user's completion of a course (a passed quiz or one recorded with evidence).
    CompletionId,
    /// One quiz attempt at a course.
    AttemptId,
    /// One e-mail in the outbox.
    MailId,
    /// One attempt to hand an e-mail to the SMTP server (never reused).
    MailAttemptId,
    /// A share link.
    LinkId,
    /// A one-time code mailed to a share link's recipient (and the session it verifies).
    LinkCodeId,
    /// An alert the watcher raised.
    AlertId,
    /// An incident case.
    IncidentId,
    /// One entry of an incident case (a note, a task, an action taken …).
    IncidentEntryId,
    /// An access-review campaign.
    ReviewId,
    /// An upload request (a file drop).
    UploadRequestId,
    /// A one-time code mailed to an upload request's recipient (and the session it verifies).
    UploadCodeId,
    /// One submission of files through an upload request (its digest's batch).
    UploadBatchId,
    /// A destruction attestation requested of an offboarded party.
    AttestationId,
    /// A one-time code mailed to an attestation's officer (and the session it verifies).
    AttestationCodeId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = RoomId::from_random([7; 16]);
        let parsed: RoomId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert!("not-a-uuid".parse::<RoomId>().is_err());
    }
}
