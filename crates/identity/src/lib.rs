//! Who is who: parties and users, sign-in with password and TOTP, lockout,
//! sessions and API tokens, invitations, TOTP enrolment, and the first
//! start's owner party and admin. One service over the kernel's [`App`],
//! [`Identity`]. Every use-case that reads or changes protected state takes
//! the seam's proof (`kernel::Authorized`) for its action — viewing a user or
//! a party, and revoking a user's sessions, are decided on that user or
//! party, the caller's own included (the `self.*` policies); sign-in,
//! authentication, invitation acceptance and the first start come before
//! any caller exists and take none. Passwords are hashed with argon2id off
//! the async threads (`kernel::passwords`); the per-application sign-in state
//! (unknown addresses' lockout, admission to the hashers) is a slot of the
//! [`App`]. A second service, [`Accounts`], keeps accounts safe: a user's
//! own sessions and API tokens, their recovery codes (`recovery`: made at
//! enrolment, each good for one sign-in in place of a one-time code), and an
//! admin's reset of a second factor and unlock of a locked account. A third,
//! [`Attestations`], holds the destruction attestations that offboarding a
//! party opens (docs/attestations.md). Two more, [`ScimAdmin`] and [`Scim`],
//! provision a party's users and groups from its identity provider (SCIM
//! 2.0, docs/scim.md).

mod accounts;
mod attestations;
mod bootstrap;
mod identity;
mod lockout;
/// Password hashing and rules live in the kernel (share links use them too).
use kernel::passwords;
mod recovery;
mod scim;
pub mod totp;

use kernel::App;

pub use accounts::{
    Accounts, MAX_REASON as MAX_ADMIN_REASON, NewToken, SEEN_EVERY_MS, SecurityState,
};
pub use attestations::{
    AttestationPage, AttestationRequest, AttestationStep, Attestations, SignedAttestation, Signing,
    signed_attestations, spawn_attestation_sweeper,
};
pub use bootstrap::Bootstrap;
pub use identity::{
    InvitationState, InvitationView, Login, NewParty, NewUser, PartyPatch, SecondFactor,
    TotpEnrolment, UserPatch,
};
pub use passwords::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
pub use recovery::RECOVERY_CODES;
pub use scim::{
    ENTERPRISE_SCHEMA, ERROR_SCHEMA, Filter as ScimFilter, FilterError as ScimFilterError,
    GROUP_SCHEMA, LIST_SCHEMA, MAX_PAGE as SCIM_MAX_PAGE, MappedRole, NewMapping, PATCH_SCHEMA,
    Page as ScimPage, RoomRoleChange, Scim, ScimAdmin, ScimCaller, USER_SCHEMA, Written,
    etag as scim_etag, parse_filter as parse_scim_filter,
};
pub use store::Offboarded;
pub use store::{ScimMapping, ScimToken};

/// Parties, users, sign-in, sessions, TOTP enrolment, invitations and the
/// first start.
#[derive(Clone, Copy)]
pub struct Identity<'a>(pub &'a App);

impl std::ops::Deref for Identity<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

#[cfg(test)]
mod tests;
