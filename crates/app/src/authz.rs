//! The authorization seam: every use-case asks [`authorize`] — (principal,
//! action, resource, context) → decision with a reason — before it does
//! anything. The policy issue replaces the body with Cedar; callers do not change.
//!
//! Rules today (deny by default):
//! - a disabled user, or a user of a party that is not active, may do nothing;
//! - a session without MFA, for a user who must use MFA, may do nothing but
//!   enrol TOTP;
//! - room actions need a room role (from unexpired grants) covering the action,
//!   except the management actions an admin holds over every room;
//! - a caller who may not even see a room is told "not found", never "forbidden".

use model::{
    Classification, PartyId, PartyKind, PartyStatus, RoomId, RoomRole, SystemRole, UserId,
};

/// Everything the platform does that needs permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    PartyList,
    PartyCreate,
    PartyUpdate,
    UserList,
    UserCreate,
    UserUpdate,
    InvitationCreate,
    EventRead,
    /// Remove personal data from a recorded event (the leaf hash stays).
    EventRedact,
    /// Recompute and check the stored ledger.
    LedgerAudit,
    RoomList,
    RoomCreate,
    RoomView,
    RoomUpdate,
    RoomDelete,
    GrantList,
    GrantCreate,
    GrantRevoke,
    FileList,
    FileView,
    FileDownload,
    FileUpload,
    FileDelete,
    TotpEnroll,
    SessionSelf,
}

impl Action {
    /// The stable name, as recorded in events.
    pub fn as_str(self) -> &'static str {
        use Action::*;
        match self {
            PartyList => "party.list",
            PartyCreate => "party.create",
            PartyUpdate => "party.update",
            UserList => "user.list",
            UserCreate => "user.create",
            UserUpdate => "user.update",
            InvitationCreate => "invitation.create",
            EventRead => "event.read",
            EventRedact => "event.redact",
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
            SessionSelf => "auth.session",
        }
    }

    /// The least room role that allows this action, for room-scoped actions.
    fn room_role(self) -> Option<RoomRole> {
        use Action::*;
        match self {
            RoomView | FileList | FileView => Some(RoomRole::Viewer),
            FileDownload => Some(RoomRole::Downloader),
            FileUpload => Some(RoomRole::Contributor),
            FileDelete | RoomUpdate | RoomDelete | GrantList | GrantCreate | GrantRevoke => {
                Some(RoomRole::Manager)
            }
            _ => None,
        }
    }
}

/// The authenticated caller, as the policy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub party_id: PartyId,
    pub party_kind: PartyKind,
    pub party_status: PartyStatus,
    pub system_role: SystemRole,
    pub disabled: bool,
    /// Whether this user must present a second factor.
    pub mfa_required: bool,
    /// Whether this session presented one.
    pub mfa: bool,
}

/// What the action is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The platform itself (parties, users, the room list, the audit log).
    System,
    /// One room, with the caller's effective role in it.
    Room {
        id: RoomId,
        classification: Classification,
        role: Option<RoomRole>,
        expired_grant: bool,
    },
}

/// Facts about the request that policies may use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub now_ms: i64,
    pub source_addr: Option<String>,
}

/// A decision. A denial carries a stable reason code and a sentence for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The caller may see that the resource exists but may not do this.
    Deny {
        reason: &'static str,
        message: String,
    },
    /// The caller may not know the resource exists.
    Hide {
        reason: &'static str,
    },
}

impl Decision {
    fn deny(reason: &'static str, message: impl Into<String>) -> Self {
        Decision::Deny {
            reason,
            message: message.into(),
        }
    }
}

/// THE authorization function. Every endpoint's action is checked here before
/// the handler body runs.
pub fn authorize(p: &Principal, action: Action, resource: &Resource, ctx: &Context) -> Decision {
    let _ = ctx;
    if let Some(denied) = account_state(p, action) {
        return denied;
    }
    match resource {
        Resource::System => system(p, action),
        Resource::Room {
            role,
            expired_grant,
            ..
        } => room(p, action, *role, *expired_grant),
    }
}

fn account_state(p: &Principal, action: Action) -> Option<Decision> {
    if p.disabled {
        return Some(Decision::deny("user_disabled", "this account is disabled"));
    }
    if p.party_status != PartyStatus::Active {
        return Some(Decision::deny(
            "party_inactive",
            format!("your organization is {}", p.party_status),
        ));
    }
    let exempt = matches!(action, Action::TotpEnroll | Action::SessionSelf);
    if p.mfa_required && !p.mfa && !exempt {
        return Some(Decision::deny(
            "mfa_enrollment_required",
            "this account must sign in with a one-time code; enrol an authenticator app first",
        ));
    }
    None
}

fn system(p: &Principal, action: Action) -> Decision {
    use Action::*;
    use SystemRole::*;
    let owner = p.party_kind == PartyKind::Owner;
    let allowed = match action {
        TotpEnroll | SessionSelf | RoomList => true,
        PartyList | UserList => owner && matches!(p.system_role, Admin | SecurityOfficer | Auditor),
        PartyCreate | PartyUpdate | UserCreate | UserUpdate | InvitationCreate => {
            owner && p.system_role == Admin
        }
        EventRead => owner && matches!(p.system_role, Admin | SecurityOfficer | Auditor),
        // Rewriting or re-checking the evidence is kept apart from reading it.
        EventRedact | LedgerAudit => owner && p.system_role == Admin,
        RoomCreate => owner && matches!(p.system_role, Admin | Member),
        _ => false,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::deny(
            "role_forbids",
            format!(
                "your role `{}` does not allow `{}`",
                p.system_role,
                action.as_str()
            ),
        )
    }
}

fn room(p: &Principal, action: Action, role: Option<RoomRole>, expired_grant: bool) -> Decision {
    let owner_staff = p.party_kind == PartyKind::Owner
        && matches!(
            p.system_role,
            SystemRole::Admin | SystemRole::SecurityOfficer | SystemRole::Auditor
        );
    let admin_manages = p.party_kind == PartyKind::Owner
        && p.system_role == SystemRole::Admin
        && matches!(
            action,
            Action::RoomView
                | Action::RoomUpdate
                | Action::RoomDelete
                | Action::GrantList
                | Action::GrantCreate
                | Action::GrantRevoke
                | Action::FileList
                | Action::FileView
        );
    let oversight = owner_staff
        && matches!(
            action,
            Action::RoomView | Action::FileList | Action::FileView | Action::GrantList
        );
    if admin_manages || oversight {
        return Decision::Allow;
    }
    let Some(needed) = action.room_role() else {
        return Decision::deny(
            "role_forbids",
            format!("`{}` is not a room action", action.as_str()),
        );
    };
    match role {
        Some(have) if have >= needed => Decision::Allow,
        Some(have) => Decision::deny(
            "room_role_insufficient",
            format!(
                "your role in this room is `{have}`; `{}` needs `{needed}`",
                action.as_str()
            ),
        ),
        None if owner_staff => Decision::deny(
            "room_role_missing",
            format!(
                "you have no role in this room; `{}` needs `{needed}`",
                action.as_str()
            ),
        ),
        None if expired_grant => Decision::Hide {
            reason: "grant_expired",
        },
        None => Decision::Hide { reason: "no_grant" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(kind: PartyKind, role: SystemRole) -> Principal {
        Principal {
            user_id: UserId::from_random([1; 16]),
            email: "a@example.com".into(),
            party_id: PartyId::from_random([2; 16]),
            party_kind: kind,
            party_status: PartyStatus::Active,
            system_role: role,
            disabled: false,
            mfa_required: kind == PartyKind::External,
            mfa: true,
        }
    }

    fn room_res(role: Option<RoomRole>) -> Resource {
        Resource::Room {
            id: RoomId::from_random([3; 16]),
            classification: Classification::Confidential,
            role,
            expired_grant: false,
        }
    }

    /// Outcome in short: "allow", "hide", or the deny reason.
    fn check(p: &Principal, action: Action, resource: &Resource, want: &str) {
        let got = match authorize(p, action, resource, &Context::default()) {
            Decision::Allow => "allow".to_owned(),
            Decision::Hide { .. } => "hide".to_owned(),
            Decision::Deny { reason, .. } => reason.to_owned(),
        };
        assert_eq!(
            got, want,
            "{:?} {:?} {action:?} on {resource:?}",
            p.party_kind, p.system_role
        );
    }

    #[test]
    fn room_roles_are_ordered() {
        let ext = principal(PartyKind::External, SystemRole::Member);
        let table = [
            (None, Action::RoomView, "hide"),
            (None, Action::FileDownload, "hide"),
            (Some(RoomRole::Viewer), Action::FileList, "allow"),
            (
                Some(RoomRole::Viewer),
                Action::FileDownload,
                "room_role_insufficient",
            ),
            (Some(RoomRole::Downloader), Action::FileDownload, "allow"),
            (
                Some(RoomRole::Downloader),
                Action::FileUpload,
                "room_role_insufficient",
            ),
            (Some(RoomRole::Contributor), Action::FileUpload, "allow"),
            (
                Some(RoomRole::Contributor),
                Action::GrantCreate,
                "room_role_insufficient",
            ),
            (Some(RoomRole::Manager), Action::GrantCreate, "allow"),
            (Some(RoomRole::Manager), Action::FileDelete, "allow"),
            (Some(RoomRole::Manager), Action::PartyCreate, "role_forbids"),
        ];
        for (role, action, want) in table {
            check(&ext, action, &room_res(role), want);
        }
    }

    #[test]
    fn system_roles() {
        use SystemRole::*;
        let table = [
            (PartyKind::Owner, Admin, Action::UserCreate, "allow"),
            (
                PartyKind::Owner,
                SecurityOfficer,
                Action::UserCreate,
                "role_forbids",
            ),
            (PartyKind::Owner, Auditor, Action::EventRead, "allow"),
            (PartyKind::Owner, Member, Action::EventRead, "role_forbids"),
            (PartyKind::Owner, Member, Action::RoomCreate, "allow"),
            (
                PartyKind::External,
                Admin,
                Action::UserCreate,
                "role_forbids",
            ),
            (
                PartyKind::External,
                Member,
                Action::RoomCreate,
                "role_forbids",
            ),
            (PartyKind::External, Member, Action::RoomList, "allow"),
        ];
        for (kind, role, action, want) in table {
            check(&principal(kind, role), action, &Resource::System, want);
        }
    }

    #[test]
    fn admin_manages_rooms_but_reads_content_only_through_a_grant() {
        let admin = principal(PartyKind::Owner, SystemRole::Admin);
        check(&admin, Action::GrantCreate, &room_res(None), "allow");
        check(
            &admin,
            Action::FileDownload,
            &room_res(None),
            "room_role_missing",
        );
        check(
            &admin,
            Action::FileDownload,
            &room_res(Some(RoomRole::Downloader)),
            "allow",
        );
        let auditor = principal(PartyKind::Owner, SystemRole::Auditor);
        check(&auditor, Action::FileList, &room_res(None), "allow");
        check(
            &auditor,
            Action::GrantCreate,
            &room_res(None),
            "room_role_missing",
        );
    }

    #[test]
    fn account_state_denies_everything() {
        let mut p = principal(PartyKind::External, SystemRole::Member);
        p.mfa = false;
        check(
            &p,
            Action::RoomList,
            &Resource::System,
            "mfa_enrollment_required",
        );
        check(&p, Action::TotpEnroll, &Resource::System, "allow");
        p.mfa = true;
        p.party_status = PartyStatus::Suspended;
        check(
            &p,
            Action::FileDownload,
            &room_res(Some(RoomRole::Manager)),
            "party_inactive",
        );
        p.party_status = PartyStatus::Active;
        p.disabled = true;
        check(&p, Action::RoomList, &Resource::System, "user_disabled");
    }

    #[test]
    fn expired_grant_hides_the_room_with_its_own_reason() {
        let ext = principal(PartyKind::External, SystemRole::Member);
        let res = Resource::Room {
            id: RoomId::from_random([3; 16]),
            classification: Classification::Internal,
            role: None,
            expired_grant: true,
        };
        assert_eq!(
            authorize(&ext, Action::RoomView, &res, &Context::default()),
            Decision::Hide {
                reason: "grant_expired"
            }
        );
    }
}
