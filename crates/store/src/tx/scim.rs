//! SCIM 2.0 provisioning: each party's bearer tokens (SHA-256 of the secret
//! only), the SCIM view of provisioned users and groups with their versions
//! (the ETags), group members, the admin's mappings of groups to roles, and
//! the grants those mappings made.

use model::{GrantId, PartyId, RoomId, RoomRole, SystemRole, UserId};
use sqlx::any::AnyRow;

use super::{Tx, sql, unique};
use crate::StoreError;
use crate::row::RowExt;

/// A party's SCIM bearer token (its secret is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimToken {
    pub id: String,
    pub party_id: PartyId,
    pub name: String,
    pub secret_hash: Vec<u8>,
    pub created_by: UserId,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// The SCIM view of a provisioned user, beside its user row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimUser {
    pub user_id: UserId,
    pub party_id: PartyId,
    pub external_id: Option<String>,
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub deprovisioned_ms: Option<i64>,
}

/// A provisioned group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimGroup {
    pub id: String,
    pub party_id: PartyId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A group of a party (by display name) mapped to a room role or a system role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimMapping {
    pub id: String,
    pub party_id: PartyId,
    pub group_name: String,
    pub room: Option<(RoomId, RoomRole)>,
    pub system_role: Option<SystemRole>,
    pub created_by: UserId,
    pub created_ms: i64,
}

fn token(row: &AnyRow) -> Result<ScimToken, StoreError> {
    Ok(ScimToken {
        id: row.text("id")?,
        party_id: row.parsed("party_id")?,
        name: row.text("name")?,
        secret_hash: row.bytes("secret_hash")?,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
        last_used_ms: row.opt_int("last_used_ms")?,
        revoked_ms: row.opt_int("revoked_ms")?,
    })
}

fn scim_user(row: &AnyRow) -> Result<ScimUser, StoreError> {
    Ok(ScimUser {
        user_id: row.parsed("user_id")?,
        party_id: row.parsed("party_id")?,
        external_id: row.opt_text("external_id")?,
        user_name: row.text("user_name")?,
        given_name: row.opt_text("given_name")?,
        family_name: row.opt_text("family_name")?,
        version: row.int("version")?,
        created_ms: row.int("created_ms")?,
        updated_ms: row.int("updated_ms")?,
        deprovisioned_ms: row.opt_int("deprovisioned_ms")?,
    })
}

fn group(row: &AnyRow) -> Result<ScimGroup, StoreError> {
    Ok(ScimGroup {
        id: row.text("id")?,
        party_id: row.parsed("party_id")?,
        display_name: row.text("display_name")?,
        external_id: row.opt_text("external_id")?,
        version: row.int("version")?,
        created_ms: row.int("created_ms")?,
        updated_ms: row.int("updated_ms")?,
    })
}

fn mapping(row: &AnyRow) -> Result<ScimMapping, StoreError> {
    let room = match row.opt_parsed::<RoomId>("room_id")? {
        Some(room) => {
            let role = row.name("room_role", RoomRole::parse)?;
            Some((room, role))
        }
        None => None,
    };
    let system_role = match row.opt_text("system_role")? {
        Some(raw) => Some(
            SystemRole::parse(&raw)
                .map_err(|e| StoreError::Corrupt(format!("column `system_role`: {e}")))?,
        ),
        None => None,
    };
    Ok(ScimMapping {
        id: row.text("id")?,
        party_id: row.parsed("party_id")?,
        group_name: row.text("group_name")?,
        room,
        system_role,
        created_by: row.parsed("created_by")?,
        created_ms: row.int("created_ms")?,
    })
}

impl Tx {
    // ---- tokens
    pub async fn insert_scim_token(&mut self, t: &ScimToken) -> Result<(), StoreError> {
        sql(
            "INSERT INTO scim_tokens (id, party_id, name, secret_hash, created_by, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.id.clone())
        .bind(t.party_id.to_string())
        .bind(t.name.clone())
        .bind(t.secret_hash.clone())
        .bind(t.created_by.to_string())
        .bind(t.created_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The token whose secret has this SHA-256, revoked or not.
    pub async fn scim_token_by_hash(
        &mut self,
        hash: &[u8],
    ) -> Result<Option<ScimToken>, StoreError> {
        sql("SELECT * FROM scim_tokens WHERE secret_hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(token)
            .transpose()
    }

    /// A party's tokens, newest first, revoked ones included.
    pub async fn scim_tokens(&mut self, party: PartyId) -> Result<Vec<ScimToken>, StoreError> {
        sql("SELECT * FROM scim_tokens WHERE party_id = $1 ORDER BY created_ms DESC, id")
            .bind(party.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(token)
            .collect()
    }

    /// Revokes a party's token; whether one was live.
    pub async fn revoke_scim_token(
        &mut self,
        party: PartyId,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sql("UPDATE scim_tokens SET revoked_ms = $3 \
                        WHERE party_id = $1 AND id = $2 AND revoked_ms IS NULL")
        .bind(party.to_string())
        .bind(id.to_owned())
        .bind(now_ms)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes a token's last use.
    pub async fn note_scim_token_used(&mut self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sql("UPDATE scim_tokens SET last_used_ms = $2 WHERE id = $1")
            .bind(id.to_owned())
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ---- users
    pub async fn insert_scim_user(&mut self, u: &ScimUser) -> Result<(), StoreError> {
        sql(
            "INSERT INTO scim_users (user_id, party_id, external_id, user_name, given_name, \
             family_name, version, created_ms, updated_ms, deprovisioned_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(u.user_id.to_string())
        .bind(u.party_id.to_string())
        .bind(u.external_id.clone())
        .bind(u.user_name.clone())
        .bind(u.given_name.clone())
        .bind(u.family_name.clone())
        .bind(u.version)
        .bind(u.created_ms)
        .bind(u.updated_ms)
        .bind(u.deprovisioned_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn update_scim_user(&mut self, u: &ScimUser) -> Result<(), StoreError> {
        sql(
            "UPDATE scim_users SET external_id = $2, user_name = $3, given_name = $4, \
             family_name = $5, version = $6, updated_ms = $7, deprovisioned_ms = $8 \
             WHERE user_id = $1",
        )
        .bind(u.user_id.to_string())
        .bind(u.external_id.clone())
        .bind(u.user_name.clone())
        .bind(u.given_name.clone())
        .bind(u.family_name.clone())
        .bind(u.version)
        .bind(u.updated_ms)
        .bind(u.deprovisioned_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn scim_user(&mut self, id: UserId) -> Result<Option<ScimUser>, StoreError> {
        sql("SELECT * FROM scim_users WHERE user_id = $1")
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(scim_user)
            .transpose()
    }

    /// A party's provisioned users that are not deprovisioned, oldest first.
    pub async fn scim_users(&mut self, party: PartyId) -> Result<Vec<ScimUser>, StoreError> {
        sql(
            "SELECT * FROM scim_users WHERE party_id = $1 AND deprovisioned_ms IS NULL \
             ORDER BY created_ms, user_id",
        )
        .bind(party.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(scim_user)
        .collect()
    }

    // ---- groups
    /// Fails with `StoreError::Conflict("group")` when the party has a group
    /// of that display name.
    pub async fn insert_scim_group(&mut self, g: &ScimGroup) -> Result<(), StoreError> {
        let query = sql(
            "INSERT INTO scim_groups (id, party_id, display_name, external_id, version, \
             created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(g.id.clone())
        .bind(g.party_id.to_string())
        .bind(g.display_name.clone())
        .bind(g.external_id.clone())
        .bind(g.version)
        .bind(g.created_ms)
        .bind(g.updated_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "group")]))?;
        Ok(())
    }

    /// Fails with `StoreError::Conflict("group")` on a display name taken.
    pub async fn update_scim_group(&mut self, g: &ScimGroup) -> Result<(), StoreError> {
        let query = sql(
            "UPDATE scim_groups SET display_name = $2, external_id = $3, version = $4, \
             updated_ms = $5 WHERE id = $1",
        )
        .bind(g.id.clone())
        .bind(g.display_name.clone())
        .bind(g.external_id.clone())
        .bind(g.version)
        .bind(g.updated_ms);
        self.execute_guarded(query)
            .await
            .map_err(|e| unique(e, &[("", "group")]))?;
        Ok(())
    }

    /// Removes a group and its memberships.
    pub async fn delete_scim_group(&mut self, id: &str) -> Result<(), StoreError> {
        sql("DELETE FROM scim_group_members WHERE group_id = $1")
            .bind(id.to_owned())
            .execute(self.conn())
            .await?;
        sql("DELETE FROM scim_groups WHERE id = $1")
            .bind(id.to_owned())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn scim_group(&mut self, id: &str) -> Result<Option<ScimGroup>, StoreError> {
        sql("SELECT * FROM scim_groups WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(group)
            .transpose()
    }

    /// A party's groups, oldest first.
    pub async fn scim_groups(&mut self, party: PartyId) -> Result<Vec<ScimGroup>, StoreError> {
        sql("SELECT * FROM scim_groups WHERE party_id = $1 ORDER BY created_ms, id")
            .bind(party.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(group)
            .collect()
    }

    /// A group's members.
    pub async fn scim_members(&mut self, group: &str) -> Result<Vec<UserId>, StoreError> {
        sql("SELECT user_id FROM scim_group_members WHERE group_id = $1 ORDER BY user_id")
            .bind(group.to_owned())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(|row| row.parsed("user_id"))
            .collect()
    }

    /// The groups a user is a member of: (id, display name).
    pub async fn scim_groups_of(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sql("SELECT g.id, g.display_name FROM scim_group_members m \
             JOIN scim_groups g ON g.id = m.group_id WHERE m.user_id = $1 \
             ORDER BY g.display_name")
        .bind(user.to_string())
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|row| Ok((row.text("id")?, row.text("display_name")?)))
        .collect()
    }

    pub async fn add_scim_member(&mut self, group: &str, user: UserId) -> Result<(), StoreError> {
        sql("INSERT INTO scim_group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group.to_owned())
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn remove_scim_member(
        &mut self,
        group: &str,
        user: UserId,
    ) -> Result<(), StoreError> {
        sql("DELETE FROM scim_group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.to_owned())
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ---- mappings
    pub async fn insert_scim_mapping(&mut self, m: &ScimMapping) -> Result<(), StoreError> {
        sql(
            "INSERT INTO scim_mappings (id, party_id, group_name, room_id, room_role, \
             system_role, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id.clone())
        .bind(m.party_id.to_string())
        .bind(m.group_name.clone())
        .bind(m.room.map(|(r, _)| r.to_string()))
        .bind(m.room.map(|(_, role)| role.as_str()))
        .bind(m.system_role.map(|r| r.as_str()))
        .bind(m.created_by.to_string())
        .bind(m.created_ms)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A party's mappings, oldest first.
    pub async fn scim_mappings(&mut self, party: PartyId) -> Result<Vec<ScimMapping>, StoreError> {
        sql("SELECT * FROM scim_mappings WHERE party_id = $1 ORDER BY created_ms, id")
            .bind(party.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(mapping)
            .collect()
    }

    /// Removes a party's mapping; returns it, if there was one.
    pub async fn delete_scim_mapping(
        &mut self,
        party: PartyId,
        id: &str,
    ) -> Result<Option<ScimMapping>, StoreError> {
        sql("DELETE FROM scim_mappings WHERE party_id = $1 AND id = $2 RETURNING *")
            .bind(party.to_string())
            .bind(id.to_owned())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(mapping)
            .transpose()
    }

    // ---- grants made by mappings
    pub async fn insert_scim_grant(
        &mut self,
        mapping: &str,
        user: UserId,
        grant: GrantId,
    ) -> Result<(), StoreError> {
        sql("DELETE FROM scim_grants WHERE mapping_id = $1 AND user_id = $2")
            .bind(mapping.to_owned())
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        sql("INSERT INTO scim_grants (mapping_id, user_id, grant_id) VALUES ($1, $2, $3)")
            .bind(mapping.to_owned())
            .bind(user.to_string())
            .bind(grant.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The grant a mapping made to a user, forgotten as it is returned.
    pub async fn take_scim_grant(
        &mut self,
        mapping: &str,
        user: UserId,
    ) -> Result<Option<GrantId>, StoreError> {
        sql("DELETE FROM scim_grants WHERE mapping_id = $1 AND user_id = $2 RETURNING grant_id")
            .bind(mapping.to_owned())
            .bind(user.to_string())
            .fetch_optional(self.conn())
            .await?
            .map(|row| row.parsed("grant_id"))
            .transpose()
    }
}
