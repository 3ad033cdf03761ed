//! Who is who: parties, users, sign-in with password and TOTP, lockout,
//! sessions and API tokens, invitations, TOTP enrolment.

use model::*;
use serde_json::json;
use store::Offboarded;

use kernel::authz::{Authorized, Principal, System, act};
use kernel::events::{Fact, RequestMeta, notify, record};
use kernel::facts::principal_for;
use kernel::secrets::{base32, ct_eq, new_token, random, sha256};
use kernel::{Action, AppError, EventName};

use crate::lockout::UnknownAccounts;
use crate::{Identity, passwords, recovery, totp};
use kernel::passwords::LoginAdmission;

/// A successful sign-in: the bearer secret is shown once.
#[derive(Debug)]
pub struct Login {
    pub token: String,
    /// For browser sessions: the CSRF token to embed in forms.
    pub csrf: Option<String>,
    pub session: Session,
    pub user: User,
    /// The recovery codes made by confirming an authenticator app, to show
    /// once (empty for every other sign-in).
    pub recovery_codes: Vec<String>,
}

/// The second factor presented with a password at sign-in.
#[derive(Clone, Copy, Debug)]
pub enum SecondFactor<'a> {
    None,
    /// The 6-digit code of the authenticator app.
    Totp(&'a str),
    /// One of the account's single-use recovery codes, in place of a code.
    RecoveryCode(&'a str),
}

impl<'a> From<Option<&'a str>> for SecondFactor<'a> {
    /// A one-time code, when there is one.
    fn from(code: Option<&'a str>) -> Self {
        code.map_or(SecondFactor::None, SecondFactor::Totp)
    }
}

/// What an invitation link shows before it is accepted.
#[derive(Clone, Debug)]
pub struct InvitationView {
    pub email: String,
    pub display_name: String,
    pub party_name: String,
    /// The display name of the admin who invited.
    pub invited_by: String,
    pub expires_ms: i64,
}

/// An invitation as its link finds it.
#[derive(Clone, Debug)]
pub enum InvitationState {
    /// Waiting to be accepted.
    Open(InvitationView),
    /// Accepted already, or expired.
    Spent,
    /// No invitation has this secret.
    Unknown,
}

/// How a sign-in's password was completed.
enum Passed {
    /// No second factor: the account uses none.
    Password,
    Totp,
    RecoveryCode(RecoveryCodeId),
}

/// A new party. It starts `prospective` (being onboarded: its users may do
/// only what onboarding needs) unless `active_reason` says why it is to be
/// active at once, without due diligence (recorded with the event).
#[derive(Clone, Debug)]
pub struct NewParty {
    pub name: String,
    pub country: Option<String>,
    pub active_reason: Option<String>,
}

/// Changes to a party.
#[derive(Clone, Debug, Default)]
pub struct PartyPatch {
    pub name: Option<String>,
    pub country: Option<String>,
    pub status: Option<PartyStatus>,
}

/// A new user created directly by an admin.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub party_id: PartyId,
    pub system_role: SystemRole,
    pub password: Option<String>,
}

/// Changes to a user.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub system_role: Option<SystemRole>,
    pub disabled: Option<bool>,
}

/// A TOTP secret to show once to the user.
#[derive(Clone, Debug)]
pub struct TotpEnrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

const CSRF_CONTEXT: &str = "csrf";

/// What sign-in keeps per application (a slot of the `App`): the failure
/// counters of addresses that have no account, and the admission of sign-ins
/// to the password hashers.
#[derive(Default)]
struct SignIns {
    unknown: UnknownAccounts,
    admission: LoginAdmission,
}

/// The least time a refused sign-in takes to answer.
pub const REFUSAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(500);

/// Failed sign-ins an address may make in an hour before each further one
/// waits (one second, doubling up to five minutes), counted in the database
/// so every node sees them (`kernel::guesses`); the per-account lockout
/// comes on top.
pub const SIGNIN_FREE_FAILURES: i64 = 30;

/// The count a sign-in from `meta`'s address is made in; none when the
/// address is unknown (a request without a socket, as in tests).
fn signin_address(meta: &RequestMeta) -> Option<kernel::guesses::Count> {
    let source = meta.source_addr.as_deref()?;
    source.parse::<std::net::IpAddr>().ok()?;
    Some(kernel::guesses::Count {
        scope: "signin_address",
        key: kernel::guesses::address_key(Some(source)),
        free: SIGNIN_FREE_FAILURES,
    })
}

/// Whether a refused sign-in guessed a secret wrong (and counts against its address).
fn wrong_secret(e: &AppError) -> bool {
    matches!(
        e,
        AppError::InvalidCredentials
            | AppError::InvalidTotp
            | AppError::Invalid {
                code: ErrorCode::InvalidRecoveryCode,
                ..
            }
    )
}

pub(crate) fn normalize_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(AppError::invalid(
            ErrorCode::InvalidEmail,
            "the e-mail address is not valid",
        ))
    }
}

/// Whether a user of a party of `kind` with `role` must use a second factor:
/// the owner's admins and security officers always; everyone else as the
/// settings say.
pub(crate) fn must_use_mfa(settings: &kernel::Settings, kind: PartyKind, role: SystemRole) -> bool {
    match kind {
        PartyKind::External => settings.external_mfa_required,
        PartyKind::Owner => {
            matches!(role, SystemRole::Admin | SystemRole::SecurityOfficer)
                || settings.owner_everyone_mfa_required
        }
    }
}

/// Only the owner party's users may hold a system role other than member
/// (admin, security officer, auditor are the owner's own functions).
pub(crate) fn check_role_for(party: &Party, role: SystemRole) -> Result<(), AppError> {
    if party.kind == PartyKind::External && role != SystemRole::Member {
        return Err(AppError::invalid(
            ErrorCode::RoleNotAllowed,
            "users of external parties can only be members",
        ));
    }
    Ok(())
}

pub(crate) fn check_name(field: &'static str, raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let bad = |c: char| c.is_control() || model::invisible(c);
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(bad) {
        return Err(AppError::invalid(
            ErrorCode::InvalidName,
            format!(
                "`{field}` must be 1 to 200 characters without control or bidirectional characters"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// Whether an admin may move a party from `from` to `to` by a change: a
/// party leaves `prospective` for `active` only through activation (or for
/// `offboarded`), and none becomes `prospective` again.
fn check_transition(from: PartyStatus, to: PartyStatus) -> Result<(), AppError> {
    use PartyStatus::*;
    let refused = match (from, to) {
        (a, b) if a == b => false,
        (Offboarded, _) => {
            return Err(AppError::invalid(
                ErrorCode::PartyOffboarded,
                "an offboarded party stays offboarded: re-onboard it (`POST /parties/{id}/reonboard`), which starts again from `prospective`",
            ));
        }
        (Prospective, Offboarded) => false,
        (Prospective, _) | (_, Prospective) => true,
        _ => false,
    };
    if refused {
        return Err(AppError::invalid(
            ErrorCode::ActivationRequired,
            format!(
                "a party goes from `{from}` to `{to}` only through activation, once its due diligence is signed off"
            ),
        ));
    }
    Ok(())
}

fn check_country(raw: Option<String>) -> Result<Option<String>, AppError> {
    match raw {
        None => Ok(None),
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Some(c.to_ascii_uppercase()))
        }
        Some(_) => Err(AppError::invalid(
            ErrorCode::InvalidCountry,
            "`country` must be an ISO 3166-1 alpha-2 code",
        )),
    }
}

impl Identity<'_> {
    // ---------------------------------------------------------------- sign-in

    /// Signs in with e-mail, password and (when enrolled) a TOTP code.
    ///
    /// The password is checked before any write transaction starts (a hash
    /// takes tens of milliseconds and waits its turn among at most a few; a
    /// flood beyond that queue is shed with `server_busy`), so that a flood of
    /// wrong passwords never holds the write lock. An address with no account
    /// locks after as many failures as a known one, with the same answer.
    ///
    /// A refused sign-in is answered no sooner than [`REFUSAL_FLOOR`] after it
    /// arrived, whatever refused it (wrong password, unknown address, lockout,
    /// a full queue): a client that floods sign-ins waits between tries instead
    /// of looping on instant refusals, and the time of an answer tells nothing.
    pub async fn login(
        &self,
        meta: &RequestMeta,
        email: &str,
        password: &str,
        code: Option<&str>,
        kind: SessionKind,
    ) -> Result<Login, AppError> {
        self.login_with(meta, email, password, code.into(), kind)
            .await
    }

    /// [`Identity::login`] with any second factor: a one-time code, or one
    /// of the account's recovery codes in its place (used up by this sign-in,
    /// in the transaction that opens the session).
    pub async fn login_with(
        &self,
        meta: &RequestMeta,
        email: &str,
        password: &str,
        factor: SecondFactor<'_>,
        kind: SessionKind,
    ) -> Result<Login, AppError> {
        let arrived = tokio::time::Instant::now();
        let address = signin_address(meta);
        let result = match self.address_wait(meta, address.as_ref()).await {
            Ok(()) => self.login_now(meta, email, password, factor, kind).await,
            Err(e) => Err(e),
        };
        if let (Err(e), Some(count)) = (&result, &address)
            && wrong_secret(e)
        {
            kernel::guesses::fail(self.0, std::slice::from_ref(count)).await?;
        }
        if result.is_err() {
            tokio::time::sleep_until(arrived + REFUSAL_FLOOR).await;
        }
        result
    }

    /// Refuses (and records) a sign-in from an address that failed too often
    /// and must still wait, before anything is looked at.
    async fn address_wait(
        &self,
        meta: &RequestMeta,
        address: Option<&kernel::guesses::Count>,
    ) -> Result<(), AppError> {
        let Some(count) = address else {
            return Ok(());
        };
        let wait = kernel::guesses::wait_ms(self.0, std::slice::from_ref(count)).await?;
        if wait == 0 {
            return Ok(());
        }
        let fact = Fact::denied(
            None,
            EventName::AuthLogin,
            format!("address:{}", count.key),
            "signin_throttled",
        );
        self.record_alone(meta, fact).await?;
        let seconds = (wait + 999) / 1000;
        Err(AppError::invalid(
            ErrorCode::TooManyAttempts,
            format!("too many failed sign-ins from this address: wait {seconds} s before the next"),
        ))
    }

    async fn login_now(
        &self,
        meta: &RequestMeta,
        email: &str,
        password: &str,
        factor: SecondFactor<'_>,
        kind: SessionKind,
    ) -> Result<Login, AppError> {
        let now = self.now();
        let email: String = email.trim().to_lowercase().chars().take(254).collect();
        let found = self.store().read().await?.get_user_by_email(&email).await?;
        let Some(found) = found else {
            return Err(self.refuse_unknown(meta, &email, password, now).await);
        };
        if found.locked_until_ms.is_some_and(|until| until > now) {
            let fact = Fact::denied(
                None,
                EventName::AuthLogin,
                format!("user:{}", found.id),
                "account_locked",
            );
            self.record_alone(meta, fact).await?;
            return Err(AppError::AccountLocked);
        }
        let password_ok = passwords::verify_login(
            &self.slot::<SignIns>().admission,
            password.to_owned(),
            found.password_hash.clone(),
        )
        .await?;
        let mut tx = self.store().begin().await?;
        // Re-read in the write transaction: counters may have moved meanwhile.
        let Some(mut user) = tx.get_user(found.id).await? else {
            return Err(AppError::InvalidCredentials);
        };
        let recovery = match factor {
            SecondFactor::RecoveryCode(code) if user.totp_enabled => {
                let unused = tx.unused_recovery_codes(user.id).await?;
                recovery::find(user.id, code, &unused)
            }
            _ => None,
        };
        let mut result = if user.password_hash == found.password_hash {
            self.check_login(&mut user, password_ok, factor, recovery, now)
        } else {
            // The password changed while this one was being checked.
            Err(AppError::InvalidCredentials)
        };
        if let Ok(Passed::RecoveryCode(id)) = result
            && !tx.use_recovery_code(id, now).await?
        {
            // Used by a sign-in that committed while this one was checked.
            result = Err(invalid_recovery_code());
        }
        let fact = match &result {
            Ok(passed) => Fact::allowed(None, EventName::AuthLogin, format!("user:{}", user.id))
                .with(json!({"mfa": !matches!(passed, Passed::Password), "kind": kind.as_str()})),
            Err(e) => Fact::denied(
                None,
                EventName::AuthLogin,
                format!("user:{}", user.id),
                e.reason(),
            ),
        };
        let principal = principal_for(&mut tx, &user, false).await?;
        let fact = Fact {
            actor: Some(&principal),
            ..fact
        };
        tx.update_user(&user).await?;
        record(&mut tx, meta, now, fact).await?;
        if let Ok(Passed::RecoveryCode(_)) = result {
            let left = tx.unused_recovery_codes(user.id).await?.len();
            let fact = Fact::allowed(
                Some(&principal),
                EventName::AuthRecoveryCodeUsed,
                format!("user:{}", user.id),
            )
            .with(json!({"left": left}));
            record(&mut tx, meta, now, fact).await?;
        }
        let login = match result {
            Ok(passed) => {
                let mfa = !matches!(passed, Passed::Password);
                self.open_session(&mut tx, meta, &user, kind, mfa, now)
                    .await
            }
            Err(e) => Err(e),
        };
        tx.commit().await?;
        login
    }

    /// Refuses a sign-in to an address with no account, doing the work a
    /// known account's refusal does (a hash, unless locked) and counting the
    /// failure towards the same lockout; the refusal is recorded on its own.
    async fn refuse_unknown(
        &self,
        meta: &RequestMeta,
        email: &str,
        password: &str,
        now: i64,
    ) -> AppError {
        let state = self.slot::<SignIns>();
        let unknown = &state.unknown;
        let error = if unknown.locked(email, now) {
            AppError::AccountLocked
        } else {
            match passwords::verify_login(&state.admission, password.to_owned(), None).await {
                Err(e) => return e,
                Ok(_) => {
                    let settings = self.settings();
                    let max = settings.max_failed_logins;
                    if unknown.fail(email, now, max, settings.lockout_ms) {
                        AppError::AccountLocked
                    } else {
                        AppError::InvalidCredentials
                    }
                }
            }
        };
        let reason = match error {
            AppError::AccountLocked => "account_locked",
            _ => "unknown_user",
        };
        let fact = Fact::denied(None, EventName::AuthLogin, format!("user:{email}"), reason);
        match self.record_alone(meta, fact).await {
            Ok(_) => error,
            Err(e) => e,
        }
    }

    /// Applies a checked password and the second factor (a TOTP code, or the
    /// recovery code found among the unused ones: `recovery`) to the user's
    /// failure counters; returns how the sign-in passed.
    fn check_login(
        &self,
        user: &mut User,
        password_ok: bool,
        factor: SecondFactor<'_>,
        recovery: Option<RecoveryCodeId>,
        now: i64,
    ) -> Result<Passed, AppError> {
        if user.locked_until_ms.is_some_and(|until| until > now) {
            return Err(AppError::AccountLocked);
        }
        if !password_ok || user.disabled {
            return Err(self.count_failure(user, now, AppError::InvalidCredentials));
        }
        if !user.totp_enabled {
            user.failed_logins = 0;
            return Ok(Passed::Password);
        }
        match factor {
            SecondFactor::None => Err(AppError::MfaRequired),
            SecondFactor::RecoveryCode(_) => match recovery {
                Some(id) => {
                    user.failed_logins = 0;
                    Ok(Passed::RecoveryCode(id))
                }
                None => Err(self.count_failure(user, now, invalid_recovery_code())),
            },
            SecondFactor::Totp(code) => {
                let secret = self.totp_secret(user)?;
                match totp::verify(&secret, code, now, user.totp_last_step) {
                    Some(step) => {
                        user.totp_last_step = step;
                        user.failed_logins = 0;
                        Ok(Passed::Totp)
                    }
                    None => Err(self.count_failure(user, now, AppError::InvalidTotp)),
                }
            }
        }
    }

    fn count_failure(&self, user: &mut User, now: i64, error: AppError) -> AppError {
        user.failed_logins += 1;
        if user.failed_logins >= self.settings().max_failed_logins {
            user.failed_logins = 0;
            user.locked_until_ms = Some(now + self.settings().lockout_ms);
            return AppError::AccountLocked;
        }
        error
    }

    pub(crate) async fn open_session(
        &self,
        tx: &mut store::Tx,
        meta: &RequestMeta,
        user: &User,
        kind: SessionKind,
        mfa: bool,
        now: i64,
    ) -> Result<Login, AppError> {
        let (token, token_hash) = new_token()?;
        let (csrf, csrf_hash) = match kind {
            SessionKind::Browser => {
                let (c, _) = new_token()?;
                let h = sha256(format!("{CSRF_CONTEXT}:{c}").as_bytes());
                (Some(c), Some(h))
            }
            SessionKind::Api => (None, None),
        };
        let ttl = match kind {
            SessionKind::Browser => self.settings().browser_session_ttl_ms,
            SessionKind::Api => self.settings().api_token_ttl_ms,
        };
        let session = Session {
            id: SessionId::from_random(random()?),
            token_hash,
            user_id: user.id,
            kind,
            mfa,
            csrf_hash,
            name: None,
            created_ms: now,
            expires_ms: now + ttl,
            revoked: false,
            address: meta.source_addr.clone(),
            last_seen_ms: None,
        };
        tx.insert_session(&session).await?;
        Ok(Login {
            token,
            csrf,
            session,
            user: user.clone(),
            recovery_codes: vec![],
        })
    }

    /// Resolves a bearer secret to its principal. A revoked or expired session, a
    /// disabled user, or an unknown token: `Unauthenticated`.
    pub async fn authenticate(&self, token: &str) -> Result<(Principal, Session), AppError> {
        let now = self.now();
        let mut tx = self.store().read().await?;
        let session = tx
            .get_session_by_hash(&sha256(token.as_bytes()))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if session.revoked || session.expires_ms <= now {
            return Err(AppError::Unauthenticated);
        }
        let user = tx
            .get_user(session.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.disabled {
            return Err(AppError::Unauthenticated);
        }
        let principal = principal_for(&mut tx, &user, session.mfa).await?;
        Ok((principal, session))
    }

    /// Whether `csrf` is the token bound to this browser session.
    pub fn csrf_matches(session: &Session, csrf: &str) -> bool {
        let presented = sha256(format!("{CSRF_CONTEXT}:{csrf}").as_bytes());
        session
            .csrf_hash
            .as_deref()
            .is_some_and(|stored| ct_eq(stored, &presented))
    }

    /// Ends the caller's session.
    pub async fn logout(
        &self,
        meta: &RequestMeta,
        p: &Principal,
        session: &Session,
    ) -> Result<(), AppError> {
        let mut tx = self.store().begin().await?;
        tx.revoke_session(session.id).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(
                Some(p),
                EventName::AuthLogout,
                format!("session:{}", session.id),
            ),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    // ---------------------------------------------------------------- TOTP

    fn totp_secret(&self, user: &User) -> Result<Vec<u8>, AppError> {
        let sealed = user
            .totp_secret_sealed
            .as_deref()
            .ok_or_else(|| AppError::internal("totp enabled without secret"))?;
        Ok(self
            .keyring()?
            .open_secret(sealed, format!("totp:{}", user.id).as_bytes())?)
    }

    /// Starts TOTP enrolment: a new secret, sealed at rest, shown once.
    pub async fn totp_begin(
        &self,
        auth: Authorized<'_, act::TotpEnroll, System>,
    ) -> Result<TotpEnrolment, AppError> {
        let (meta, p, _) = auth.into_parts();
        let secret = random::<20>()?;
        let sealed = self.keyring()?.seal_secret(
            &secret,
            format!("totp:{}", p.user_id).as_bytes(),
            random()?,
        )?;
        let mut tx = self.store().begin().await?;
        let mut user = tx
            .get_user(p.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.totp_enabled {
            return Err(AppError::invalid(
                ErrorCode::TotpAlreadyEnabled,
                "an authenticator is already enrolled",
            ));
        }
        user.totp_secret_sealed = Some(sealed);
        tx.update_user(&user).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(
                Some(p),
                EventName::AuthTotpBegin,
                format!("user:{}", p.user_id),
            ),
        )
        .await?;
        tx.commit().await?;
        let secret_base32 = base32(&secret);
        let otpauth_uri = totp::otpauth_uri("Custody", &user.email, &secret_base32);
        Ok(TotpEnrolment {
            secret_base32,
            otpauth_uri,
        })
    }

    /// Confirms enrolment with a first code; the old session is replaced by a
    /// new one that counts as multi-factor, and ten recovery codes are made
    /// (in the returned [`Login`], shown once).
    pub async fn totp_confirm(
        &self,
        auth: Authorized<'_, act::TotpEnroll, System>,
        session: &Session,
        code: &str,
    ) -> Result<Login, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut user = tx
            .get_user(p.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.totp_enabled || user.totp_secret_sealed.is_none() {
            return Err(AppError::invalid(
                ErrorCode::TotpNotPending,
                "start enrolment first",
            ));
        }
        let Some(step) = totp::verify(&self.totp_secret(&user)?, code, now, user.totp_last_step)
        else {
            record(
                &mut tx,
                meta,
                now,
                Fact::denied(
                    Some(p),
                    EventName::AuthTotpConfirm,
                    format!("user:{}", p.user_id),
                    "invalid_totp",
                ),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::InvalidTotp);
        };
        user.totp_enabled = true;
        user.totp_last_step = step;
        tx.update_user(&user).await?;
        tx.revoke_session(session.id).await?;
        let mut login = self
            .open_session(&mut tx, meta, &user, session.kind, true, now)
            .await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                EventName::AuthTotpEnabled,
                format!("user:{}", p.user_id),
            ),
        )
        .await?;
        login.recovery_codes = recovery::renew(&mut tx, meta, p, now).await?;
        tx.commit().await?;
        Ok(login)
    }

    // ---------------------------------------------------------------- parties

    /// Every party (owner staff only).
    pub async fn list_parties(
        &self,
        _auth: Authorized<'_, act::PartyList, System>,
    ) -> Result<Vec<Party>, AppError> {
        Ok(self.store().read().await?.list_parties().await?)
    }

    /// One party, decided on that party: owner staff see any, others only
    /// their own (`self.party`).
    pub async fn get_party(
        &self,
        auth: Authorized<'_, act::PartyList, PartyId>,
    ) -> Result<Party, AppError> {
        let (_, _, id) = auth.into_parts();
        self.store()
            .read()
            .await?
            .get_party(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates an external party: `prospective`, or `active` at once when the
    /// admin gives a reason for skipping due diligence.
    pub async fn create_party(
        &self,
        auth: Authorized<'_, act::PartyCreate, System>,
        new: NewParty,
    ) -> Result<Party, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let reason = new
            .active_reason
            .as_deref()
            .map(crate::accounts::check_reason)
            .transpose()?;
        let party = Party {
            id: PartyId::from_random(random()?),
            name: check_name("name", &new.name)?,
            kind: PartyKind::External,
            country: check_country(new.country)?,
            status: if reason.is_some() {
                PartyStatus::Active
            } else {
                PartyStatus::Prospective
            },
            created_ms: now,
            tier: None,
            tier_until_ms: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::PartyCreate, format!("party:{}", party.id))
                .with(json!({"name": party.name, "status": party.status, "active_reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }

    /// Changes a party; suspending or offboarding takes effect on the next request.
    pub async fn update_party(
        &self,
        auth: Authorized<'_, act::PartyUpdate, System>,
        id: PartyId,
        patch: PartyPatch,
    ) -> Result<Party, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        if let Some(name) = patch.name {
            party.name = check_name("name", &name)?;
        }
        if patch.country.is_some() {
            party.country = check_country(patch.country)?;
        }
        if let Some(status) = patch.status {
            if party.kind == PartyKind::Owner && status != PartyStatus::Active {
                return Err(AppError::invalid(
                    ErrorCode::OwnerPartyStatus,
                    "the owner party stays active",
                ));
            }
            check_transition(party.status, status)?;
            if status == PartyStatus::Offboarded && party.status != status {
                return Err(AppError::invalid(
                    ErrorCode::OffboardRequired,
                    "offboard a party with `POST /parties/{id}/offboard` (with a reason): it ends every grant, session, token, invitation and agreement at once",
                ));
            }
            party.status = status;
        }
        tx.update_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::PartyUpdate, format!("party:{id}"))
                .with(json!({"status": party.status})),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }

    /// Activates a party being onboarded: only once its due diligence is
    /// signed off with a risk tier in term. Takes effect at its users' next request.
    pub async fn activate_party(
        &self,
        auth: Authorized<'_, act::PartyActivate, System>,
        id: PartyId,
    ) -> Result<Party, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        if party.status != PartyStatus::Prospective {
            return Err(AppError::invalid(
                ErrorCode::ActivationRequired,
                format!("the party is `{}`, not being onboarded", party.status),
            ));
        }
        let Some(tier) = model::diligence::tier_in_term(party.tier, party.tier_until_ms, now)
        else {
            let why = if party.tier.is_some() {
                "its risk tier has lapsed: its due diligence must be reviewed and signed off again"
            } else {
                "its due diligence has not been signed off with a risk tier: send it a questionnaire, review the answers and decide its tier"
            };
            return Err(AppError::invalid(
                ErrorCode::PartyNotAssessed,
                format!("`{}` cannot be activated yet: {why}", party.name),
            ));
        };
        party.status = PartyStatus::Active;
        tx.update_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::PartyActivate, format!("party:{id}"))
                .with(json!({"tier": tier, "tier_until_ms": party.tier_until_ms})),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }

    /// Offboards a party in one transaction: every grant to it and its users,
    /// every session and API token, every pending invitation end; its
    /// agreements are terminated; its users are disabled; the party is
    /// `offboarded` and stays so until it is re-onboarded; a destruction
    /// attestation request is opened to the party (`attestation`: its officer
    /// and time to sign). The owner's admins, the party's sponsor and the
    /// party's users are notified. A request
    /// decided before the commit completes; one decided after is refused.
    pub async fn offboard_party(
        &self,
        auth: Authorized<'_, act::PartyOffboard, System>,
        id: PartyId,
        reason: &str,
        attestation: crate::AttestationRequest,
    ) -> Result<(Party, Offboarded, AttestationId), AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = crate::accounts::check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        if party.kind == PartyKind::Owner {
            return Err(AppError::invalid(
                ErrorCode::OwnerPartyStatus,
                "the owner party stays active",
            ));
        }
        if party.status == PartyStatus::Offboarded {
            return Err(AppError::invalid(
                ErrorCode::PartyOffboarded,
                format!("`{}` is already offboarded", party.name),
            ));
        }
        let ended = tx.offboard(id.0, true, now).await?;
        party.status = PartyStatus::Offboarded;
        tx.update_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::PartyOffboard, format!("party:{id}"))
                .with(json!({"reason": reason, "ended": ended})),
        )
        .await?;
        let attested =
            crate::attestations::open(self.0, &mut tx, meta, p, &party, attestation).await?;
        let mut tell = tx.list_users(Some(id)).await?;
        if let Some(owner) = tx.owner_party().await? {
            tell.extend(
                tx.list_users(Some(owner.id))
                    .await?
                    .into_iter()
                    .filter(|u| {
                        u.system_role == SystemRole::Admin && !u.disabled && u.id != p.user_id
                    }),
            );
        }
        if let Some(sponsor) = tx.party_sponsor(id).await?
            && !tell.iter().any(|u| u.id == sponsor)
            && let Some(u) = tx.get_user(sponsor).await?
        {
            tell.push(u);
        }
        let message = format!(
            "{} has been offboarded: every grant, session, token and pending invitation has ended, its agreements are terminated and its users disabled. Reason: {reason}",
            party.name
        );
        for u in tell {
            notify(
                &mut tx,
                u.id,
                now,
                Action::PartyOffboard.as_str(),
                format!("party:{id}"),
                message.clone(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok((party, ended, attested))
    }

    /// Starts an offboarded party's onboarding again: it becomes
    /// `prospective` with no risk tier, so due diligence and activation come
    /// again before any grant takes effect. Its users stay disabled until an
    /// admin enables them.
    pub async fn reonboard_party(
        &self,
        auth: Authorized<'_, act::PartyReonboard, System>,
        id: PartyId,
        reason: &str,
    ) -> Result<Party, AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = crate::accounts::check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        if party.status != PartyStatus::Offboarded {
            return Err(AppError::invalid(
                ErrorCode::ActivationRequired,
                format!("`{}` is `{}`, not offboarded", party.name, party.status),
            ));
        }
        party.status = PartyStatus::Prospective;
        party.tier = None;
        party.tier_until_ms = None;
        tx.update_party(&party).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::PartyReonboard, format!("party:{id}"))
                .with(json!({"reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(party)
    }

    /// Offboards one user of an external party in one transaction: every
    /// grant to the user, every session and API token end, and the user is
    /// disabled; the user and their party's sponsor are notified.
    pub async fn offboard_user(
        &self,
        auth: Authorized<'_, act::UserOffboard, System>,
        id: UserId,
        reason: &str,
    ) -> Result<(User, Offboarded), AppError> {
        let (meta, p, _) = auth.into_parts();
        let reason = crate::accounts::check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        if user.id == p.user_id {
            return Err(AppError::invalid(
                ErrorCode::CannotDisableSelf,
                "you cannot offboard yourself",
            ));
        }
        let ended = tx.offboard(id.0, false, now).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::UserOffboard, format!("user:{id}"))
                .with(json!({"reason": reason, "ended": ended})),
        )
        .await?;
        let message = format!(
            "{} has been offboarded: every grant, session and token has ended and the account is disabled. Reason: {reason}",
            user.email
        );
        let mut tell = vec![user.id];
        if let Some(sponsor) = tx.party_sponsor(user.party_id).await?
            && sponsor != user.id
        {
            tell.push(sponsor);
        }
        for to in tell {
            notify(
                &mut tx,
                to,
                now,
                Action::UserOffboard.as_str(),
                format!("user:{id}"),
                message.clone(),
            )
            .await?;
        }
        let user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok((user, ended))
    }

    // ---------------------------------------------------------------- users

    /// Users, optionally of one party (owner staff only).
    pub async fn list_users(
        &self,
        _auth: Authorized<'_, act::UserList, System>,
        party: Option<PartyId>,
    ) -> Result<Vec<User>, AppError> {
        Ok(self.store().read().await?.list_users(party).await?)
    }

    /// One user, decided on that user: owner staff see any, others only
    /// themselves (`self.user`).
    pub async fn get_user(
        &self,
        auth: Authorized<'_, act::UserList, UserId>,
    ) -> Result<User, AppError> {
        let (_, _, id) = auth.into_parts();
        self.store()
            .read()
            .await?
            .get_user(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates a user directly (admin).
    pub async fn create_user(
        &self,
        auth: Authorized<'_, act::UserCreate, System>,
        new: NewUser,
    ) -> Result<User, AppError> {
        let (meta, p, _) = auth.into_parts();
        let hash = match new.password {
            Some(pw) => {
                passwords::check_rules(&pw)?;
                Some(passwords::hash(pw).await?)
            }
            None => None,
        };
        let mut tx = self.store().begin().await?;
        let user = self
            .insert_user(
                &mut tx,
                &new.email,
                &new.display_name,
                new.party_id,
                new.system_role,
                hash,
            )
            .await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), Action::UserCreate, format!("user:{}", user.id))
                .with(json!({"email": user.email, "role": user.system_role})),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub(crate) async fn insert_user(
        &self,
        tx: &mut store::Tx,
        email: &str,
        name: &str,
        party_id: PartyId,
        role: SystemRole,
        hash: Option<String>,
    ) -> Result<User, AppError> {
        let party = tx.get_party(party_id).await?.ok_or_else(|| {
            AppError::invalid(ErrorCode::UnknownParty, "the party does not exist")
        })?;
        check_role_for(&party, role)?;
        let user = User {
            id: UserId::from_random(random()?),
            party_id,
            email: normalize_email(email)?,
            display_name: check_name("display_name", name)?,
            system_role: role,
            password_hash: hash,
            totp_secret_sealed: None,
            totp_enabled: false,
            totp_last_step: 0,
            mfa_required: must_use_mfa(self.settings(), party.kind, role),
            disabled: false,
            failed_logins: 0,
            locked_until_ms: None,
            created_ms: self.now(),
            training_until_ms: None,
        };
        tx.insert_user(&user).await?;
        Ok(user)
    }

    /// Changes a user (admin). Disabling revokes every session at once.
    pub async fn update_user(
        &self,
        auth: Authorized<'_, act::UserUpdate, System>,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let mut user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        if let Some(name) = patch.display_name {
            user.display_name = check_name("display_name", &name)?;
        }
        if let Some(role) = patch.system_role {
            let party = tx
                .get_party(user.party_id)
                .await?
                .ok_or_else(|| AppError::internal("user without party"))?;
            check_role_for(&party, role)?;
            user.system_role = role;
            user.mfa_required = must_use_mfa(self.settings(), party.kind, role);
        }
        if let Some(disabled) = patch.disabled {
            if disabled && id == p.user_id {
                return Err(AppError::invalid(
                    ErrorCode::CannotDisableSelf,
                    "you cannot disable your own account",
                ));
            }
            user.disabled = disabled;
            if disabled {
                tx.revoke_user_sessions(id).await?;
            }
        }
        tx.update_user(&user).await?;
        let detail = json!({"role": user.system_role, "disabled": user.disabled});
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(Some(p), Action::UserUpdate, format!("user:{id}")).with(detail),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Revokes every session and token of a user, decided on that user:
    /// admins revoke anyone's, everyone their own (`self.user`).
    pub async fn revoke_sessions(
        &self,
        auth: Authorized<'_, act::UserUpdate, UserId>,
    ) -> Result<u64, AppError> {
        let (meta, p, id) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let n = tx.revoke_user_sessions(id).await?;
        record(
            &mut tx,
            meta,
            self.now(),
            Fact::allowed(
                Some(p),
                EventName::UserSessionsRevoked,
                format!("user:{id}"),
            )
            .with(json!({"count": n})),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    // ---------------------------------------------------------------- invitations

    /// Invites a person to a party; returns the single-use secret for the link.
    pub async fn invite(
        &self,
        auth: Authorized<'_, act::InvitationCreate, System>,
        email: &str,
        display_name: &str,
        party_id: PartyId,
        role: SystemRole,
    ) -> Result<(Invitation, String), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let (token, token_hash) = new_token()?;
        let inv = Invitation {
            id: InvitationId::from_random(random()?),
            token_hash,
            email: normalize_email(email)?,
            display_name: check_name("display_name", display_name)?,
            party_id,
            system_role: role,
            invited_by: p.user_id,
            created_ms: now,
            expires_ms: now + self.settings().invitation_ttl_ms,
            accepted_ms: None,
        };
        let mut tx = self.store().begin().await?;
        let Some(party) = tx.get_party(party_id).await? else {
            return Err(AppError::invalid(
                ErrorCode::UnknownParty,
                "the party does not exist",
            ));
        };
        check_role_for(&party, role)?;
        if tx.get_user_by_email(&inv.email).await?.is_some() {
            return Err(AppError::Conflict("a user with this e-mail"));
        }
        tx.insert_invitation(&inv).await?;
        // Mailed only to a link built from the configured address, never
        // from a request's `Host`, which the client chooses.
        let mailed = match (&self.settings().public_url, self.settings().mail_enabled) {
            (Some(base), true) => {
                let inviter = tx
                    .get_user(p.user_id)
                    .await?
                    .map(|u| u.display_name)
                    .unwrap_or_default();
                let to = MailAddress::parse(&inv.email).map_err(|e| {
                    AppError::invalid(ErrorCode::InvalidEmail, format!("`email`: {e}"))
                })?;
                let template = MailTemplate::Invitation {
                    inviter,
                    party: party.name.clone(),
                    link: format!("{base}/invite/{token}"),
                    days: self.settings().invitation_ttl_ms / 86_400_000,
                };
                kernel::outbox::enqueue(&mut tx, now, &to, &template).await?;
                true
            }
            _ => false,
        };
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(p),
                Action::InvitationCreate,
                format!("invitation:{}", inv.id),
            )
            .with(json!({"email": inv.email, "party": party_id, "mailed": mailed})),
        )
        .await?;
        tx.commit().await?;
        Ok((inv, token))
    }

    /// What the invitation of `token` shows: who invites whom into which
    /// party, while it waits to be accepted. Changes nothing.
    pub async fn invitation(&self, token: &str) -> Result<InvitationState, AppError> {
        let now = self.now();
        let mut tx = self.store().read().await?;
        let Some(inv) = tx.get_invitation_by_hash(&sha256(token.as_bytes())).await? else {
            return Ok(InvitationState::Unknown);
        };
        if inv.accepted_ms.is_some() || inv.expires_ms <= now {
            return Ok(InvitationState::Spent);
        }
        let party = tx.get_party(inv.party_id).await?;
        let inviter = tx.get_user(inv.invited_by).await?;
        Ok(InvitationState::Open(InvitationView {
            email: inv.email,
            display_name: inv.display_name,
            party_name: party.map(|p| p.name).unwrap_or_default(),
            invited_by: inviter.map(|u| u.display_name).unwrap_or_default(),
            expires_ms: inv.expires_ms,
        }))
    }

    /// Accepts an invitation: creates the user with `password`. Single use; an
    /// expired, used or unknown token is `NotFound`.
    pub async fn accept_invitation(
        &self,
        meta: &RequestMeta,
        token: &str,
        password: &str,
    ) -> Result<User, AppError> {
        passwords::check_rules(password)?;
        let hash = passwords::hash(password.to_owned()).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let inv = tx.get_invitation_by_hash(&sha256(token.as_bytes())).await?;
        let Some(inv) = inv.filter(|i| i.accepted_ms.is_none() && i.expires_ms > now) else {
            record(
                &mut tx,
                meta,
                now,
                Fact::denied(
                    None,
                    EventName::InvitationAccept,
                    "invitation:unknown".into(),
                    "invalid_invitation",
                ),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::NotFound);
        };
        if !tx.accept_invitation(inv.id, now).await? {
            return Err(AppError::NotFound);
        }
        let user = self
            .insert_user(
                &mut tx,
                &inv.email,
                &inv.display_name,
                inv.party_id,
                inv.system_role,
                Some(hash),
            )
            .await?;
        let principal = principal_for(&mut tx, &user, false).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                Some(&principal),
                EventName::InvitationAccept,
                format!("invitation:{}", inv.id),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }
}

/// A refused recovery code.
fn invalid_recovery_code() -> AppError {
    AppError::invalid(
        ErrorCode::InvalidRecoveryCode,
        "the recovery code is wrong or was already used",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_must_use_a_second_factor() {
        use PartyKind::*;
        use SystemRole::*;
        let relaxed = kernel::Settings {
            external_mfa_required: false,
            owner_everyone_mfa_required: false,
            ..kernel::Settings::default()
        };
        let strict = kernel::Settings {
            external_mfa_required: true,
            owner_everyone_mfa_required: true,
            ..kernel::Settings::default()
        };
        let defaults = kernel::Settings::default();
        for (kind, role, relaxed_wants, default_wants, strict_wants) in [
            (Owner, Admin, true, true, true),
            (Owner, SecurityOfficer, true, true, true),
            (Owner, Auditor, false, false, true),
            (Owner, Member, false, false, true),
            (External, Member, false, true, true),
        ] {
            assert_eq!(
                must_use_mfa(&relaxed, kind, role),
                relaxed_wants,
                "{role:?}"
            );
            assert_eq!(
                must_use_mfa(&defaults, kind, role),
                default_wants,
                "{role:?}"
            );
            assert_eq!(must_use_mfa(&strict, kind, role), strict_wants, "{role:?}");
        }
    }

    #[test]
    fn emails() {
        for (raw, ok) in [
            ("Alice@Example.COM ", Some("alice@example.com")),
            ("no-at-sign", None),
            ("a@nodot", None),
            ("@example.com", None),
            ("a b@example.com", None),
        ] {
            assert_eq!(normalize_email(raw).ok().as_deref(), ok, "{raw:?}");
        }
    }
}
