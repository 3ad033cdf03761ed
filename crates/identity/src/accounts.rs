//! Accounts that protect themselves: a user's own sessions and API tokens
//! (seen, ended one by one or all but the current one, a named token made
//! with its lifetime), their recovery codes (made again on request), and the
//! admin's remedies for an account in trouble — removing its second factor so
//! that it enrols again, unlocking it after failed sign-ins — each recorded
//! with the admin's reason — and their choice of mail for notifications. One service over the kernel's [`App`],
//! [`Accounts`].

use model::*;
use serde_json::json;

use kernel::authz::{Authorized, System, act};
use kernel::events::{Fact, RequestMeta, record};
use kernel::secrets::{new_token, random};
use kernel::{Action, App, AppError, EventName};

use crate::identity::check_name;
use crate::recovery;

/// A user's own sessions and tokens, recovery codes, and the admin's reset
/// and unlock.
#[derive(Clone, Copy)]
pub struct Accounts<'a>(pub &'a App);

impl std::ops::Deref for Accounts<'_> {
    type Target = App;
    fn deref(&self) -> &App {
        self.0
    }
}

/// How often a session's last use is written down: at most once this long.
pub const SEEN_EVERY_MS: i64 = 60_000;

/// Longest accepted reason of an admin, in characters.
pub use kernel::MAX_REASON;
pub(crate) use kernel::check_reason;

/// The protection of one account, as its user or the owner's staff see it.
#[derive(Clone, Debug)]
pub struct SecurityState {
    pub user: User,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    /// Whether the account is locked now by failed sign-ins.
    pub locked: bool,
}

/// A new API token: its secret is shown once.
#[derive(Debug)]
pub struct NewToken {
    pub token: String,
    pub session: Session,
}

impl Accounts<'_> {
    /// Notes that the caller's `session` was used now from the request's
    /// address: bookkeeping for the user's list of sessions, and no fact of
    /// the record (no event). Written at most once every [`SEEN_EVERY_MS`] per
    /// session (or when the address changed), on a task of its own, so that
    /// no request waits for the write; a failure is logged and forgotten.
    pub fn seen(&self, meta: &RequestMeta, session: &Session) {
        let now = self.now();
        let moved = meta.source_addr.is_some() && meta.source_addr != session.address;
        let stale = session
            .last_seen_ms
            .is_none_or(|seen| now - seen >= SEEN_EVERY_MS);
        if !stale && !moved {
            return;
        }
        let (app, id, address) = (self.0.clone(), session.id, meta.source_addr.clone());
        tokio::spawn(async move {
            let touched = async {
                let mut tx = app.store().begin().await?;
                tx.touch_session(id, now, address.as_deref()).await?;
                tx.commit().await
            };
            if let Err(e) = touched.await {
                tracing::warn!(error = %e, "cannot note when a session was last used");
            }
        });
    }

    /// The caller's sessions and API tokens that are neither ended nor
    /// expired, newest first.
    /// The caller's choice of mail for the notifications that are not
    /// security-critical (those always come at once).
    pub async fn mail_preference(
        &self,
        auth: Authorized<'_, act::SessionSelf, System>,
    ) -> Result<MailDigest, AppError> {
        let (_, p, _) = auth.into_parts();
        let mut tx = self.store().read().await?;
        Ok(tx.mail_preference(p.user_id).await?.0)
    }

    /// Sets the caller's choice of mail for notifications; recorded as
    /// `account.mail`.
    pub async fn set_mail_preference(
        &self,
        auth: Authorized<'_, act::SessionSelf, System>,
        digest: MailDigest,
    ) -> Result<MailDigest, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.set_mail_preference(p.user_id, digest).await?;
        let fact = Fact::allowed(
            Some(p),
            EventName::AccountMail,
            format!("user:{}", p.user_id),
        )
        .with(json!({"digest": digest.as_str()}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(digest)
    }

    pub async fn sessions(
        &self,
        auth: Authorized<'_, act::SessionSelf, System>,
    ) -> Result<Vec<Session>, AppError> {
        let (_, p, _) = auth.into_parts();
        let now = self.now();
        let mut tx = self.store().read().await?;
        Ok(tx.live_sessions(p.user_id, now).await?)
    }

    /// Ends one of the caller's own sessions or tokens (the current one
    /// too). Another user's, or one already ended: `NotFound`.
    pub async fn end_session(
        &self,
        auth: Authorized<'_, act::SessionSelf, System>,
        id: SessionId,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        if !tx.revoke_session_of(p.user_id, id).await? {
            return Err(AppError::NotFound);
        }
        let fact = Fact::allowed(Some(p), EventName::AuthSessionEnd, format!("session:{id}"))
            .with(json!({"sessions": [id]}));
        record(&mut tx, meta, self.now(), fact).await?;
        Ok(tx.commit().await?)
    }

    /// Ends every session and token of the caller but `current`, the one
    /// asking; returns how many.
    pub async fn end_other_sessions(
        &self,
        auth: Authorized<'_, act::SessionSelf, System>,
        current: &Session,
    ) -> Result<u64, AppError> {
        let (meta, p, _) = auth.into_parts();
        let mut tx = self.store().begin().await?;
        let now = self.now();
        let ended = tx.revoke_other_sessions(p.user_id, current.id, now).await?;
        let fact = Fact::allowed(
            Some(p),
            EventName::AuthSessionEnd,
            format!("user:{}", p.user_id),
        )
        .with(json!({"others": ended, "kept": current.id}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Makes a named API token for the caller, valid for `days` (1 to the
    /// configured lifetime of API tokens). It is no stronger than the session
    /// that makes it: multi-factor only if that one is.
    pub async fn create_token(
        &self,
        auth: Authorized<'_, act::TokenCreate, System>,
        current: &Session,
        name: &str,
        days: i64,
    ) -> Result<NewToken, AppError> {
        let (meta, p, _) = auth.into_parts();
        let name = check_name("name", name)?;
        let most = (self.settings().api_token_ttl_ms / 86_400_000).max(1);
        if !(1..=most).contains(&days) {
            return Err(AppError::invalid(
                ErrorCode::TokenLifetimeInvalid,
                format!("a token lasts 1 to {most} days"),
            ));
        }
        let now = self.now();
        let (token, token_hash) = new_token()?;
        let session = Session {
            id: SessionId::from_random(random()?),
            token_hash,
            user_id: p.user_id,
            kind: SessionKind::Api,
            mfa: p.mfa && current.mfa,
            csrf_hash: None,
            name: Some(name),
            created_ms: now,
            expires_ms: now + days * 86_400_000,
            revoked: false,
            address: meta.source_addr.clone(),
            last_seen_ms: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_session(&session).await?;
        let fact = Fact::allowed(
            Some(p),
            Action::TokenCreate,
            format!("session:{}", session.id),
        )
        .with(json!({"name": session.name, "expires_ms": session.expires_ms}));
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(NewToken { token, session })
    }

    /// How one account is protected (second factor, recovery codes left,
    /// lock), decided on that user: the user's own, or any for the owner's
    /// staff.
    pub async fn security(
        &self,
        auth: Authorized<'_, act::UserList, UserId>,
    ) -> Result<SecurityState, AppError> {
        let (_, _, id) = auth.into_parts();
        let mut tx = self.store().read().await?;
        let user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        let left = if user.totp_enabled {
            tx.unused_recovery_codes(id).await?.len()
        } else {
            0
        };
        let locked = user.locked_until_ms.is_some_and(|t| t > self.now());
        Ok(SecurityState {
            user,
            recovery_codes_left: left,
            locked,
        })
    }

    /// Makes ten new recovery codes for the caller, whose earlier ones stop
    /// working; returns them, to show once. Only from a session signed in
    /// with the second factor, of an account that has one.
    pub async fn renew_recovery_codes(
        &self,
        auth: Authorized<'_, act::TotpEnroll, System>,
    ) -> Result<Vec<String>, AppError> {
        let (meta, p, _) = auth.into_parts();
        if !p.mfa {
            return Err(AppError::invalid(
                ErrorCode::MfaSessionRequired,
                "sign in again with a one-time code to make new recovery codes",
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = tx
            .get_user(p.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !user.totp_enabled {
            return Err(AppError::invalid(
                ErrorCode::TotpNotEnabled,
                "enrol an authenticator app first",
            ));
        }
        let codes = recovery::renew(&mut tx, meta, p, now).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Removes a user's second factor — the authenticator app and every
    /// recovery code — and ends their sessions and tokens, for `reason`:
    /// they sign in with their password alone next time, and enrol again if
    /// their account must use one.
    pub async fn reset_mfa(
        &self,
        auth: Authorized<'_, act::UserMfaReset, UserId>,
        reason: &str,
    ) -> Result<User, AppError> {
        let (meta, p, id) = auth.into_parts();
        let reason = check_reason(reason)?;
        let mut tx = self.store().begin().await?;
        let mut user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        let had = user.totp_enabled;
        user.totp_enabled = false;
        user.totp_secret_sealed = None;
        tx.update_user(&user).await?;
        let codes = tx.delete_recovery_codes(id).await?;
        let sessions = tx.revoke_user_sessions(id).await?;
        let detail = json!({
            "reason": reason,
            "had_totp": had,
            "recovery_codes_removed": codes,
            "sessions_ended": sessions,
        });
        let fact = Fact::allowed(Some(p), Action::UserMfaReset, format!("user:{id}")).with(detail);
        record(&mut tx, meta, self.now(), fact).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Unlocks an account locked by failed sign-ins (and forgets the
    /// failures), for `reason`.
    pub async fn unlock(
        &self,
        auth: Authorized<'_, act::UserUnlock, UserId>,
        reason: &str,
    ) -> Result<User, AppError> {
        let (meta, p, id) = auth.into_parts();
        let reason = check_reason(reason)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut user = tx.get_user(id).await?.ok_or(AppError::NotFound)?;
        let was_locked = user.locked_until_ms.is_some_and(|t| t > now);
        user.locked_until_ms = None;
        user.failed_logins = 0;
        tx.update_user(&user).await?;
        let detail = json!({"reason": reason, "was_locked": was_locked});
        let fact = Fact::allowed(Some(p), Action::UserUnlock, format!("user:{id}")).with(detail);
        record(&mut tx, meta, now, fact).await?;
        tx.commit().await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        let long = "x".repeat(MAX_REASON + 1);
        for (raw, ok) in [
            ("  lost phone, ticket 42 ", Some("lost phone, ticket 42")),
            ("", None),
            ("   ", None),
            ("two\nlines", None),
            (long.as_str(), None),
        ] {
            assert_eq!(check_reason(raw).ok().as_deref(), ok, "{raw:?}");
        }
    }
}
