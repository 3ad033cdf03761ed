//! Destruction attestations as values: when a party is offboarded, it is asked
//! to declare that it returned or destroyed every copy it received through
//! Custody. What it is asked to sign is one text — the declaration and the
//! list of copies, frozen when the request opens — and its SHA-256 is what the
//! signer's browser sends back (docs/attestations.md). No I/O.

use serde::{Deserialize, Serialize};

use crate::{AttestationId, FileId, PartyId, RoomId, UserId, utc_time};

/// Days a party has to sign, unless the offboarding says otherwise.
pub const DEFAULT_ATTESTATION_DAYS: i64 = 30;
/// The longest an offboarding may give a party to sign.
pub const MAX_ATTESTATION_DAYS: i64 = 365;
/// An overdue request reminds its officer, and escalates to the owner's
/// security officers, at most once per this period (a week).
pub const ATTESTATION_PERIOD_MS: i64 = 7 * 86_400_000;
/// Most characters of a signer's typed name.
pub const MAX_SIGNER_NAME: usize = 200;

/// The declaration a party signs, `{party}` standing for its name. Do not
/// change without thought: requests keep the text they opened with.
pub const DEFAULT_DECLARATION: &str = "On behalf of {party}, I declare that {party} has returned or destroyed every copy listed below that it received through Custody, and every copy made from them (prints, extracts, copies on any device, storage or service, backups included), and that it has kept none. I am authorised to make this declaration for {party}.";

/// How a copy left the custody of the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    /// A download of the original by one of the party's users.
    Download,
    /// A marked copy downloaded by one of the party's users.
    Marked,
    /// A view in the view-only viewer by one of the party's users.
    View,
    /// A download through a share link by a recipient who is one of the party's users.
    LinkDownload,
    /// A marked copy through a share link, for such a recipient.
    LinkMarked,
    /// A view through a share link by such a recipient.
    LinkView,
}

impl CopyKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyKind::Download => "download",
            CopyKind::Marked => "marked",
            CopyKind::View => "view",
            CopyKind::LinkDownload => "link_download",
            CopyKind::LinkMarked => "link_marked",
            CopyKind::LinkView => "link_view",
        }
    }

    /// In words, for the text signed.
    pub fn words(self) -> &'static str {
        match self {
            CopyKind::Download => "download",
            CopyKind::Marked => "marked copy",
            CopyKind::View => "view in the viewer",
            CopyKind::LinkDownload => "download through a share link",
            CopyKind::LinkMarked => "marked copy through a share link",
            CopyKind::LinkView => "view through a share link",
        }
    }
}

/// One copy the party received, as the ledger recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedCopy {
    /// The event that issued it.
    pub seq: i64,
    pub kind: CopyKind,
    pub file_id: FileId,
    pub room_id: Option<RoomId>,
    pub room_name: String,
    /// The file's path in its room (as it is when the request opens).
    pub path: String,
    pub version: Option<i64>,
    /// Lowercase hex SHA-256 of the version's plaintext.
    pub sha256: String,
    /// The mark id of a marked copy or a view's pages.
    pub mark_id: Option<String>,
    /// A partial download's byte range (`first-last`).
    pub range: Option<String>,
    pub time_ms: i64,
    /// Who took it: the user's or the link recipient's address.
    pub by: String,
    pub user_id: Option<UserId>,
    /// The share link it came through.
    pub link: Option<String>,
}

impl ReceivedCopy {
    /// The copy in one line of the text signed.
    pub fn line(&self) -> String {
        let mut what = self.kind.words().to_owned();
        if let Some(mark) = &self.mark_id {
            what.push_str(&format!(", mark {mark}"));
        }
        if let Some(range) = &self.range {
            what.push_str(&format!(", bytes {range}"));
        }
        let version = self
            .version
            .map(|v| format!(", version {v}"))
            .unwrap_or_default();
        format!(
            "{} | {what} | {} / {}{version} | SHA-256 {} | by {}",
            utc_time(self.time_ms),
            self.room_name,
            self.path,
            self.sha256,
            self.by
        )
    }
}

/// The officer's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationSignature {
    /// The name the signer typed.
    pub name: String,
    /// The address the signer proved with a mailed code.
    pub email: String,
    /// Lowercase hex SHA-256 of the text shown, as the browser sent it back
    /// (equal to the request's).
    pub text_sha256: String,
    pub signed_ms: i64,
    pub source_addr: Option<String>,
}

/// A destruction attestation requested of an offboarded party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub id: AttestationId,
    pub party_id: PartyId,
    pub party_name: String,
    /// The address of the party's officer who is asked to sign; none when
    /// nobody could be named (an admin gives one when sending the request).
    pub officer_email: Option<String>,
    pub copies: Vec<ReceivedCopy>,
    /// The declaration and the list: exactly what is signed.
    pub text: String,
    /// Lowercase hex SHA-256 of `text`.
    pub text_sha256: String,
    pub opened_ms: i64,
    pub opened_by: UserId,
    pub due_ms: i64,
    /// When the request was last mailed to the officer.
    pub mailed_ms: Option<i64>,
    pub reminded_ms: Option<i64>,
    pub reminders: i64,
    pub escalated_ms: Option<i64>,
    pub escalations: i64,
    pub signature: Option<AttestationSignature>,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttestationState {
    /// Waiting for the signature, before its due date.
    Open,
    /// Waiting for the signature, past its due date.
    Overdue,
    Signed,
}

impl AttestationState {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationState::Open => "open",
            AttestationState::Overdue => "overdue",
            AttestationState::Signed => "signed",
        }
    }
}

impl Attestation {
    /// Where the request stands at `now`.
    pub fn state(&self, now: i64) -> AttestationState {
        if self.signature.is_some() {
            AttestationState::Signed
        } else if now >= self.due_ms {
            AttestationState::Overdue
        } else {
            AttestationState::Open
        }
    }
}

/// The text a party's officer signs: the declaration for `party`, then every
/// copy, one numbered line each.
pub fn attestation_text(declaration: &str, party: &str, copies: &[ReceivedCopy]) -> String {
    let mut text = declaration.replace("{party}", party);
    text.push_str("\n\n");
    if copies.is_empty() {
        text.push_str(&format!(
            "Copies received by {party} through Custody: none recorded.\n"
        ));
        return text;
    }
    text.push_str(&format!(
        "Copies received by {party} through Custody ({}):\n",
        copies.len()
    ));
    for (i, c) in copies.iter().enumerate() {
        text.push_str(&format!("{}. {}\n", i + 1, c.line()));
    }
    text
}

/// A signer's typed name: trimmed, 1 to [`MAX_SIGNER_NAME`] characters, no
/// control characters.
pub fn signer_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_SIGNER_NAME
        && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(kind: CopyKind, mark: Option<&str>) -> ReceivedCopy {
        ReceivedCopy {
            seq: 7,
            kind,
            file_id: FileId::from_random([1; 16]),
            room_id: None,
            room_name: "Blades".into(),
            path: "b7.txt".into(),
            version: Some(2),
            sha256: "ab".repeat(32),
            mark_id: mark.map(str::to_owned),
            range: None,
            time_ms: 1_750_000_000_000,
            by: "eng@vendor.example".into(),
            user_id: None,
            link: None,
        }
    }

    #[test]
    fn the_text_names_the_party_and_every_copy() {
        let copies = [
            copy(CopyKind::Download, None),
            copy(CopyKind::Marked, Some("00ff")),
        ];
        let cases: &[(&[ReceivedCopy], &[&str])] = &[
            (&[], &["On behalf of Acme,", "none recorded"]),
            (
                &copies,
                &[
                    "(2):\n1. 2025-06-15T15:06:40Z | download | Blades / b7.txt, version 2 | SHA-256 abab",
                    "2. 2025-06-15T15:06:40Z | marked copy, mark 00ff |",
                    "by eng@vendor.example\n",
                ],
            ),
        ];
        for (copies, want) in cases {
            let text = attestation_text(DEFAULT_DECLARATION, "Acme", copies);
            assert!(!text.contains("{party}"), "{text}");
            for w in *want {
                assert!(text.contains(w), "{w:?} in {text}");
            }
        }
    }

    #[test]
    fn signer_names_are_checked() {
        let long = "x".repeat(MAX_SIGNER_NAME + 1);
        for (raw, want) in [
            ("  Ada Lovelace ", Some("Ada Lovelace")),
            ("", None),
            ("   ", None),
            ("Ada\nEve", None),
            (long.as_str(), None),
        ] {
            assert_eq!(signer_name(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn the_state_follows_the_signature_and_the_due_date() {
        let mut a = Attestation {
            id: AttestationId::from_random([2; 16]),
            party_id: PartyId::from_random([3; 16]),
            party_name: "Acme".into(),
            officer_email: None,
            copies: Vec::new(),
            text: String::new(),
            text_sha256: String::new(),
            opened_ms: 0,
            opened_by: UserId::from_random([4; 16]),
            due_ms: 100,
            mailed_ms: None,
            reminded_ms: None,
            reminders: 0,
            escalated_ms: None,
            escalations: 0,
            signature: None,
        };
        assert_eq!(a.state(99), AttestationState::Open);
        assert_eq!(a.state(100), AttestationState::Overdue);
        a.signature = Some(AttestationSignature {
            name: "Ada".into(),
            email: "ada@acme.example".into(),
            text_sha256: String::new(),
            signed_ms: 150,
            source_addr: None,
        });
        assert_eq!(a.state(200), AttestationState::Signed);
    }
}
