//! Parties, users, sessions and API tokens, invitations.

use sqlx::any::AnyRow;

use super::{Tx, flag, sql, touched, unique};
use crate::StoreError;
use crate::row::RowExt;
use model::*;

fn party(row: &AnyRow) -> Result<Party, StoreError> {
    Ok(Party {
        id: row.parsed("id")?,
        name: row.text("name")?,
        kind: row.name("kind", PartyKind::parse)?,
        country: row.opt_text("country")?,
        status: row.name("status", PartyStatus::parse)?,
        created_ms: row.int("created_ms")?,
        tier: row
            .opt_text("tier")?
            .map(|t| diligence::RiskTier::parse(&t))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("column `tier`: {e}")))?,
        tier_until_ms: row.opt_int("tier_until_ms")?,
    })
}

/// How a party insert or update can collide.
const PARTY_CONFLICTS: &[(&str, &str)] = &[
    ("owner", "owner party"),
    ("kind", "owner party"),
    ("name", "party name"),
    ("", "party"),
];

fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.parsed("id")?,
        party_id: row.parsed("party_id")?,
        email: row.text("email")?,
        display_name: row.text("display_name")?,
        system_role: row.name("system_role", SystemRole::parse)?,
        password_hash: row.opt_text("password_hash")?,
        totp_secret_sealed: row.opt_bytes("totp_secret_sealed")?,
        totp_enabled: row.flag("totp_enabled")?,
        totp_last_step: row.int("totp_last_step")?,
        mfa_required: row.flag("mfa_required")?,
        disabled: row.flag("disabled")?,
        failed_logins: row.int("failed_logins")?,
        locked_until_ms: row.opt_int("locked_until_ms")?,
        created_ms: row.int("created_ms")?,
        training_until_ms: row.opt_int("training_until_ms")?,
    })
}

/// How a user insert or update can collide.
const USER_CONFLICTS: &[(&str, &str)] = &[("email", "e-mail"), ("", "user")];

fn session(row: &AnyRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: row.parsed("id")?,
        token_hash: row.bytes("token_hash")?,
        user_id: row.parsed("user_id")?,
        kind: row.name("kind", SessionKind::parse)?,
        mfa: row.flag("mfa")?,
        csrf_hash: row.opt_bytes("csrf_hash")?,
        name: row.opt_text("name")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        revoked: row.flag("revoked")?,
        address: row.opt_text("address")?,
        last_seen_ms: row.opt_int("last_seen_ms")?,
    })
}

fn recovery_code(row: &AnyRow) -> Result<RecoveryCode, StoreError> {
    Ok(RecoveryCode {
        id: row.parsed("id")?,
        user_id: row.parsed("user_id")?,
        code_hash: row.bytes("code_hash")?,
        created_ms: row.int("created_ms")?,
        used_ms: row.opt_int("used_ms")?,
    })
}

fn invitation(row: &AnyRow) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: row.parsed("id")?,
        token_hash: row.bytes("token_hash")?,
        email: row.text("email")?,
        display_name: row.text("display_name")?,
        party_id: row.parsed("party_id")?,
        system_role: row.name("system_role", SystemRole::parse)?,
        invited_by: row.parsed("invited_by")?,
        created_ms: row.int("created_ms")?,
        expires_ms: row.int("expires_ms")?,
        accepted_ms: row.opt_int("accepted_ms")?,
    })
}

impl Tx {
    // ---- parties
    pub async fn insert_party(&mut self, party: &Party) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO parties (id, name, kind, country, status, created_ms, tier, tier_until_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(party.id.to_string())
        .bind(party.name.clone())
        .bind(party.kind.as_str())
        .bind(party.country.clone())
        .bind(party.status.as_str())
        .bind(party.created_ms)
        .bind(party.tier.map(diligence::RiskTier::as_str))
        .bind(party.tier_until_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, PARTY_CONFLICTS))?;
        Ok(())
    }

    pub async fn get_party(&mut self, id: PartyId) -> Result<Option<Party>, StoreError> {
        sql("SELECT * FROM parties WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(party)
            .transpose()
    }

    /// Ordered by name.
    pub async fn list_parties(&mut self) -> Result<Vec<Party>, StoreError> {
        sql("SELECT * FROM parties ORDER BY name, id")
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(party)
            .collect()
    }

    /// Updates name, country, status and risk tier.
    pub async fn update_party(&mut self, party: &Party) -> Result<(), StoreError> {
        let query = sql("UPDATE parties SET name = $2, country = $3, status = $4, \
             tier = $5, tier_until_ms = $6 WHERE id = $1")
        .bind(party.id.to_string())
        .bind(party.name.clone())
        .bind(party.country.clone())
        .bind(party.status.as_str())
        .bind(party.tier.map(diligence::RiskTier::as_str))
        .bind(party.tier_until_ms);
        let done = self
            .execute_guarded(query)
            .await
            .map_err(|e| unique(e, PARTY_CONFLICTS))?;
        touched(done.rows_affected())
    }

    /// The single party of kind `owner`, if created.
    pub async fn owner_party(&mut self) -> Result<Option<Party>, StoreError> {
        sql("SELECT * FROM parties WHERE kind = $1")
            .bind(PartyKind::Owner.as_str())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(party)
            .transpose()
    }

    // ---- users
    /// Fails with `StoreError::Conflict` when the e-mail is taken.
    pub async fn insert_user(&mut self, user: &User) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO users (id, party_id, email, display_name, system_role, password_hash, \
             totp_secret_sealed, totp_enabled, totp_last_step, mfa_required, disabled, \
             failed_logins, locked_until_ms, created_ms, training_until_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(user.id.to_string())
        .bind(user.party_id.to_string())
        .bind(user.email.to_lowercase())
        .bind(user.display_name.clone())
        .bind(user.system_role.as_str())
        .bind(user.password_hash.clone())
        .bind(user.totp_secret_sealed.clone())
        .bind(flag(user.totp_enabled))
        .bind(user.totp_last_step)
        .bind(flag(user.mfa_required))
        .bind(flag(user.disabled))
        .bind(user.failed_logins)
        .bind(user.locked_until_ms)
        .bind(user.created_ms)
        .bind(user.training_until_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, USER_CONFLICTS))?;
        Ok(())
    }

    pub async fn get_user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        sql("SELECT * FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// `email` is compared lower-cased.
    pub async fn get_user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError> {
        sql("SELECT * FROM users WHERE email = $1")
            .bind(email.to_lowercase())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// All users, or those of one party; ordered by e-mail.
    pub async fn list_users(&mut self, party: Option<PartyId>) -> Result<Vec<User>, StoreError> {
        let query = match party {
            None => sql("SELECT * FROM users ORDER BY email"),
            Some(party) => sql("SELECT * FROM users WHERE party_id = $1 ORDER BY email")
                .bind(party.to_string()),
        };
        query
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(user)
            .collect()
    }

    /// Writes every mutable field of `user` (all but id, party_id, created_ms).
    pub async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        let query = sql(
            "UPDATE users SET email = $2, display_name = $3, system_role = $4, \
             password_hash = $5, totp_secret_sealed = $6, totp_enabled = $7, \
             totp_last_step = $8, mfa_required = $9, disabled = $10, failed_logins = $11, \
             locked_until_ms = $12, training_until_ms = $13 WHERE id = $1",
        )
        .bind(user.id.to_string())
        .bind(user.email.to_lowercase())
        .bind(user.display_name.clone())
        .bind(user.system_role.as_str())
        .bind(user.password_hash.clone())
        .bind(user.totp_secret_sealed.clone())
        .bind(flag(user.totp_enabled))
        .bind(user.totp_last_step)
        .bind(flag(user.mfa_required))
        .bind(flag(user.disabled))
        .bind(user.failed_logins)
        .bind(user.locked_until_ms)
        .bind(user.training_until_ms);
        let done = self
            .execute_guarded(query)
            .await
            .map_err(|e| unique(e, USER_CONFLICTS))?;
        touched(done.rows_affected())
    }

    pub async fn count_users(&mut self) -> Result<i64, StoreError> {
        let row = sql("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.conn())
            .await?;
        row.int("n")
    }

    // ---- sessions and API tokens
    pub async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO sessions (id, token_hash, user_id, kind, mfa, csrf_hash, name, \
             created_ms, expires_ms, revoked, address, last_seen_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(session.id.to_string())
        .bind(session.token_hash.clone())
        .bind(session.user_id.to_string())
        .bind(session.kind.as_str())
        .bind(flag(session.mfa))
        .bind(session.csrf_hash.clone())
        .bind(session.name.clone())
        .bind(session.created_ms)
        .bind(session.expires_ms)
        .bind(flag(session.revoked))
        .bind(session.address.clone())
        .bind(session.last_seen_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "session")]))?;
        Ok(())
    }

    pub async fn get_session_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<Session>, StoreError> {
        sql("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(session)
            .transpose()
    }

    /// Returns whether a live session was revoked.
    pub async fn revoke_session(&mut self, id: SessionId) -> Result<bool, StoreError> {
        let done = sql("UPDATE sessions SET revoked = 1 WHERE id = $1 AND revoked = 0")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes every session and token of the user; returns how many.
    pub async fn revoke_user_sessions(&mut self, user: UserId) -> Result<u64, StoreError> {
        let done = sql("UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0")
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// The user's sessions and tokens that are neither revoked nor expired at
    /// `now_ms`, newest first.
    pub async fn live_sessions(
        &mut self,
        user: UserId,
        now_ms: i64,
    ) -> Result<Vec<Session>, StoreError> {
        sql(
            "SELECT * FROM sessions WHERE user_id = $1 AND revoked = 0 AND expires_ms > $2 \
             ORDER BY created_ms DESC, id",
        )
        .bind(user.to_string())
        .bind(now_ms)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(session)
        .collect()
    }

    /// Revokes session `id` if it is the user's and live; returns whether it was.
    pub async fn revoke_session_of(
        &mut self,
        user: UserId,
        id: SessionId,
    ) -> Result<bool, StoreError> {
        let done =
            sql("UPDATE sessions SET revoked = 1 WHERE id = $1 AND user_id = $2 AND revoked = 0")
                .bind(id.to_string())
                .bind(user.to_string())
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes every session and token of the user but `keep` that is live
    /// at `now_ms`; returns how many.
    pub async fn revoke_other_sessions(
        &mut self,
        user: UserId,
        keep: SessionId,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = sql("UPDATE sessions SET revoked = 1 \
             WHERE user_id = $1 AND id <> $2 AND revoked = 0 AND expires_ms > $3")
        .bind(user.to_string())
        .bind(keep.to_string())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Notes that session `id` was used at `now_ms` from `address`.
    pub async fn touch_session(
        &mut self,
        id: SessionId,
        now_ms: i64,
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        sql("UPDATE sessions SET last_seen_ms = $2, address = COALESCE($3, address) WHERE id = $1")
            .bind(id.to_string())
            .bind(now_ms)
            .bind(address.map(str::to_owned))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ---- recovery codes
    /// Replaces every recovery code of `user` (used or not) with `codes`.
    pub async fn replace_recovery_codes(
        &mut self,
        user: UserId,
        codes: &[RecoveryCode],
    ) -> Result<(), StoreError> {
        self.delete_recovery_codes(user).await?;
        for code in codes {
            let query = sql(
                "INSERT INTO recovery_codes (id, user_id, code_hash, created_ms, used_ms) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(code.id.to_string())
            .bind(code.user_id.to_string())
            .bind(code.code_hash.clone())
            .bind(code.created_ms)
            .bind(code.used_ms);
            self.execute_guarded(query)
                .await
                .map_err(|e| unique(e, &[("", "recovery code")]))?;
        }
        Ok(())
    }

    /// Deletes every recovery code of `user`; returns how many.
    pub async fn delete_recovery_codes(&mut self, user: UserId) -> Result<u64, StoreError> {
        let done = sql("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// The recovery codes of `user` not used yet, oldest first.
    pub async fn unused_recovery_codes(
        &mut self,
        user: UserId,
    ) -> Result<Vec<RecoveryCode>, StoreError> {
        sql(
            "SELECT * FROM recovery_codes WHERE user_id = $1 AND used_ms IS NULL \
             ORDER BY created_ms, id",
        )
        .bind(user.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(recovery_code)
        .collect()
    }

    /// Marks code `id` used at `now_ms` if it was not yet; returns whether this call did.
    pub async fn use_recovery_code(
        &mut self,
        id: RecoveryCodeId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE recovery_codes SET used_ms = $2 WHERE id = $1 AND used_ms IS NULL")
            .bind(id.to_string())
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    // ---- invitations
    pub async fn insert_invitation(&mut self, inv: &Invitation) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO invitations (id, token_hash, email, display_name, party_id, \
             system_role, invited_by, created_ms, expires_ms, accepted_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(inv.id.to_string())
        .bind(inv.token_hash.clone())
        .bind(inv.email.clone())
        .bind(inv.display_name.clone())
        .bind(inv.party_id.to_string())
        .bind(inv.system_role.as_str())
        .bind(inv.invited_by.to_string())
        .bind(inv.created_ms)
        .bind(inv.expires_ms)
        .bind(inv.accepted_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "invitation")]))?;
        Ok(())
    }

    pub async fn get_invitation_by_hash(
        &mut self,
        token_hash: &[u8],
    ) -> Result<Option<Invitation>, StoreError> {
        sql("SELECT * FROM invitations WHERE token_hash = $1")
            .bind(token_hash.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(invitation)
            .transpose()
    }

    /// Marks it accepted only if it was not yet; returns whether this call did.
    pub async fn accept_invitation(
        &mut self,
        id: InvitationId,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done =
            sql("UPDATE invitations SET accepted_ms = $2 WHERE id = $1 AND accepted_ms IS NULL")
                .bind(id.to_string())
                .bind(now_ms)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// What an offboarding ended, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Offboarded {
    pub grants: u64,
    /// Share links its users created (a link acts as its creator).
    pub links: u64,
    pub sessions: u64,
    pub invitations: u64,
    pub agreements: u64,
    pub users: u64,
}

/// The users an offboarding covers: `$1` is a party (all its users) or a
/// user (that one).
pub(super) const OFFBOARDED_USERS: &str =
    "SELECT u.id FROM users u WHERE u.party_id = $1 OR u.id = $1";

impl Tx {
    /// Ends everything `subject` (a party, or one user) holds, at `now_ms`, in
    /// this transaction: every live grant to it (and, for a party, to its
    /// users), every share link its users created, every session and API token, every pending invitation (it
    /// expires now), every agreement not yet terminated (a party only); its
    /// users are disabled. The caller sets the party's status and records why.
    pub async fn offboard(
        &mut self,
        subject: uuid::Uuid,
        party: bool,
        now_ms: i64,
    ) -> Result<Offboarded, StoreError> {
        let id = subject.to_string();
        let grants = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE grants SET revoked_ms = $2 WHERE revoked_ms IS NULL \
             AND (subject_id = $1 OR subject_id IN ({OFFBOARDED_USERS}))"
        )))
        .bind(id.clone())
        .bind(now_ms)
        .execute(self.conn())
        .await?
        .rows_affected();
        let (links, sessions) = self.end_links_and_sessions(subject, now_ms).await?;
        let invitations = if party {
            sql("UPDATE invitations SET expires_ms = $2 \
                 WHERE party_id = $1 AND accepted_ms IS NULL AND expires_ms > $2")
            .bind(id.clone())
            .bind(now_ms)
            .execute(self.conn())
            .await?
            .rows_affected()
        } else {
            0
        };
        let agreements = if party {
            sql("UPDATE agreements SET status = $2, terminated_ms = $3 \
                 WHERE party_id = $1 AND status <> $2")
            .bind(id.clone())
            .bind(AgreementStatus::Terminated.as_str())
            .bind(now_ms)
            .execute(self.conn())
            .await?
            .rows_affected()
        } else {
            0
        };
        let users = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE users SET disabled = 1 WHERE disabled = 0 AND id IN ({OFFBOARDED_USERS})"
        )))
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(Offboarded {
            grants,
            links,
            sessions,
            invitations,
            agreements,
            users,
        })
    }
}
