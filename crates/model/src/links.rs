//! Share links as values: what a link is, what it hands out, and the rules
//! on its end (never past the room's or the creator's grant, nor the admin's
//! maximum) and its download limit. No I/O.

use serde::{Deserialize, Serialize};

use crate::{FileId, LinkId, RoomId, UserId};

/// Most recipients one link may be bound to.
pub const MAX_LINK_RECIPIENTS: usize = 20;
/// Most downloads one link may allow.
pub const MAX_LINK_DOWNLOADS: i64 = 10_000;

/// What a link hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMode {
    /// The file, as the room's delivery policy makes it for its creator's role
    /// (marked for the recipient when the room marks copies).
    Download,
    /// The file in the view-only viewer; no download.
    View,
}

impl LinkMode {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMode::Download => "download",
            LinkMode::View => "view",
        }
    }

    /// The mode of a stable name.
    pub fn parse(s: &str) -> Result<LinkMode, crate::UnknownName> {
        match s {
            "download" => Ok(LinkMode::Download),
            "view" => Ok(LinkMode::View),
            _ => Err(crate::UnknownName {
                kind: "link mode",
                value: s.to_owned(),
            }),
        }
    }
}

/// A share link as stored (its secret only as SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub id: LinkId,
    pub token_sha256: Vec<u8>,
    pub room_id: RoomId,
    /// The file of a file link; `None` for a folder link.
    pub file_id: Option<FileId>,
    /// The folder of a folder link (a path prefix ending in `/`, e.g.
    /// `drawings/`); `None` for a file link. Exactly one of the two is set.
    pub folder: Option<String>,
    pub created_by: UserId,
    pub created_mfa: bool,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub password_hash: Option<String>,
    pub mode: LinkMode,
    pub max_downloads: Option<i64>,
    pub downloads: i64,
    /// Bound recipients' addresses; empty: whoever holds the link.
    pub recipients: Vec<String>,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<UserId>,
}

/// Why a link opens no more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkClosed {
    Revoked,
    Expired,
    Exhausted,
}

impl LinkClosed {
    /// The reason code recorded and shown.
    pub fn reason(self) -> &'static str {
        match self {
            LinkClosed::Revoked => "link_revoked",
            LinkClosed::Expired => "link_expired",
            LinkClosed::Exhausted => "link_exhausted",
        }
    }
}

impl Link {
    /// Whether the link still opens at `now`, and if not why (revoked first).
    pub fn closed(&self, now: i64) -> Option<LinkClosed> {
        if self.revoked_ms.is_some() {
            Some(LinkClosed::Revoked)
        } else if now >= self.expires_ms {
            Some(LinkClosed::Expired)
        } else if self.max_downloads.is_some_and(|max| self.downloads >= max) {
            Some(LinkClosed::Exhausted)
        } else {
            None
        }
    }
}

/// The end of a new link: what its creator asked, cut to the earliest of the
/// room's end, the creator's grant's end and `now + max_lifetime`. `None` when
/// what was asked is not after `now`.
pub fn link_end(
    now: i64,
    asked: Option<i64>,
    max_lifetime_ms: i64,
    limits: &[Option<i64>],
) -> Option<i64> {
    let cap = now.saturating_add(max_lifetime_ms);
    let end = limits
        .iter()
        .flatten()
        .fold(asked.unwrap_or(cap).min(cap), |e, l| e.min(*l));
    (end > now).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_capped() {
        const DAY: i64 = 86_400_000;
        for (asked, limits, want) in [
            (None, vec![], Some(30 * DAY)),
            (Some(5 * DAY), vec![], Some(5 * DAY)),
            (Some(90 * DAY), vec![], Some(30 * DAY)),
            (Some(20 * DAY), vec![Some(10 * DAY)], Some(10 * DAY)),
            (None, vec![None, Some(3 * DAY)], Some(3 * DAY)),
            (Some(0), vec![], None),
            (None, vec![Some(0)], None),
        ] {
            assert_eq!(
                link_end(0, asked, 30 * DAY, &limits),
                want,
                "{asked:?} {limits:?}"
            );
        }
    }

    #[test]
    fn closed_links_say_why() {
        let mut l = Link {
            id: LinkId::from_random([1; 16]),
            token_sha256: vec![],
            room_id: RoomId::from_random([2; 16]),
            file_id: Some(FileId::from_random([3; 16])),
            folder: None,
            created_by: UserId::from_random([4; 16]),
            created_mfa: false,
            created_ms: 0,
            expires_ms: 100,
            password_hash: None,
            mode: LinkMode::Download,
            max_downloads: Some(2),
            downloads: 1,
            recipients: vec![],
            revoked_ms: None,
            revoked_by: None,
        };
        assert_eq!(l.closed(50), None);
        assert_eq!(l.closed(100), Some(LinkClosed::Expired));
        l.downloads = 2;
        assert_eq!(l.closed(50), Some(LinkClosed::Exhausted));
        l.revoked_ms = Some(10);
        assert_eq!(l.closed(500), Some(LinkClosed::Revoked));
    }
}
