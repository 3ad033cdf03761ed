//! SCIM 2.0 provisioning (RFC 7643/7644, docs/scim.md): a party's identity
//! provider creates, changes, deactivates and deletes that party's users and
//! groups with a bearer token an owner admin made for the party. Two
//! services: [`ScimAdmin`], the admins' side under the seam's proof
//! (`scim.manage`: tokens, shown once and stored as SHA-256; group
//! mappings), and [`Scim`], the identity provider's side, whose permission
//! is the token itself: [`Scim::authenticate`] turns it into a
//! [`ScimCaller`] bound to its party, and every use-case reaches only that
//! party's users and groups (another party's user is "not found", recorded
//! as `other_party`). Deactivation (`active=false`) and deletion end the
//! user's sessions, API tokens, share links and grants in the same
//! transaction through the offboarding's store call (`Tx::offboard`).
//! Group membership gives and takes the system roles mapped in the same
//! transaction; room roles are granted and revoked by the edge through the
//! content crate's grant code, on behalf of the admin who made the mapping,
//! with the [`RoomRoleChange`]s returned here.

mod filter;
mod patch;
mod resource;

use std::collections::BTreeSet;

use model::*;
use serde_json::{Value, json};
use store::{ScimGroup, ScimMapping, ScimToken, ScimUser, StoreError};

use kernel::authz::{Authorized, Principal, System, act};
use kernel::events::{Fact, RequestMeta, record};
use kernel::facts::principal_for;
use kernel::secrets::{ct_eq, new_token, random, sha256};
use kernel::{Action, App, AppError, EventName};

use crate::Identity;
use crate::identity::{check_name, check_role_for, must_use_mfa, normalize_email};

pub use filter::{Filter, FilterError, parse as parse_filter};
pub use resource::{
    ENTERPRISE_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, etag,
};

/// The largest page a list answers (`count` above it is lowered).
pub const MAX_PAGE: usize = 200;
/// A token's last use is noted at most this often.
const NOTE_EVERY_MS: i64 = 60_000;
/// Prefix of every SCIM token secret (so a leaked one is recognisable).
const TOKEN_PREFIX: &str = "scim_";

/// The identity provider's side: the token is the permission.
#[derive(Clone, Copy)]
pub struct Scim<'a>(pub &'a App);

/// The admins' side: tokens and group mappings under `scim.manage`.
#[derive(Clone, Copy)]
pub struct ScimAdmin<'a>(pub &'a App);

/// A caller holding a live SCIM token: made only by [`Scim::authenticate`].
#[derive(Clone, Debug)]
pub struct ScimCaller {
    token: String,
    party: PartyId,
}

impl ScimCaller {
    /// The party the token acts for.
    pub fn party(&self) -> PartyId {
        self.party
    }
}

/// A page of a list.
#[derive(Clone, Debug)]
pub struct Page {
    pub total: usize,
    /// 1-based, as asked (at least 1).
    pub start: usize,
    pub resources: Vec<Value>,
}

/// A resource as written, with its version (the ETag) and the room roles
/// its membership changes give or take, for the edge to apply.
#[derive(Clone, Debug)]
pub struct Written {
    pub resource: Value,
    pub version: i64,
    pub roles: Vec<RoomRoleChange>,
}

/// A room role a mapping gives (`join`) or takes from a user.
#[derive(Clone, Debug)]
pub struct RoomRoleChange {
    pub mapping: ScimMapping,
    pub user: UserId,
    pub join: bool,
}

/// What a mapping maps a group to.
#[derive(Clone, Copy, Debug)]
pub enum MappedRole {
    Room(RoomId, RoomRole),
    System(SystemRole),
}

/// A refusal inside the SCIM use-cases: another party's resource is told
/// "not found" and recorded as `other_party`.
enum Refusal {
    App(AppError),
    OtherParty,
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::App(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::App(e.into())
    }
}

/// How a stored resource is to change.
enum Change<'b> {
    Replace(&'b Value),
    Patch(&'b Value),
    Delete,
}

fn uniqueness(what: &str) -> AppError {
    AppError::invalid(ErrorCode::ScimUniqueness, format!("{what} is taken"))
}

/// A group name taken is SCIM's `uniqueness`.
fn group_conflict(e: StoreError, name: &str) -> AppError {
    match e {
        StoreError::Conflict(_) => uniqueness(&format!("`displayName` `{name}`")),
        other => other.into(),
    }
}

/// An input check's refusal, as SCIM's `invalidValue`.
fn as_value(e: AppError) -> AppError {
    match e.code() {
        ErrorCode::InvalidEmail | ErrorCode::InvalidName => {
            AppError::invalid(ErrorCode::ScimInvalidValue, e.to_string())
        }
        ErrorCode::Conflict => uniqueness("the e-mail address"),
        _ => e,
    }
}

fn page(items: Vec<Value>, start: usize, count: usize) -> Page {
    let start = start.max(1);
    let total = items.len();
    let resources = items
        .into_iter()
        .skip(start - 1)
        .take(count.min(MAX_PAGE))
        .collect();
    Page {
        total,
        start,
        resources,
    }
}

fn filter_of(text: Option<&str>) -> Result<Option<Filter>, AppError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => parse_filter(t)
            .map(Some)
            .map_err(|e| AppError::invalid(ErrorCode::ScimInvalidFilter, e.0)),
    }
}

fn rank(role: SystemRole) -> u8 {
    match role {
        SystemRole::Member => 0,
        SystemRole::Auditor => 1,
        SystemRole::SecurityOfficer => 2,
        SystemRole::Admin => 3,
    }
}

fn names_match(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// The provisioned user `id` of the caller's party.
async fn own_user(
    tx: &mut store::Tx,
    c: &ScimCaller,
    id: &str,
) -> Result<(User, ScimUser), Refusal> {
    let Ok(id) = id.parse::<UserId>() else {
        return Err(AppError::NotFound.into());
    };
    let Some(user) = tx.get_user(id).await? else {
        return Err(AppError::NotFound.into());
    };
    if user.party_id != c.party {
        return Err(Refusal::OtherParty);
    }
    match tx.scim_user(id).await? {
        Some(s) if s.deprovisioned_ms.is_none() => Ok((user, s)),
        _ => Err(AppError::NotFound.into()),
    }
}

/// The group `id` of the caller's party with its members.
async fn own_group(
    tx: &mut store::Tx,
    c: &ScimCaller,
    id: &str,
) -> Result<(ScimGroup, Vec<UserId>), Refusal> {
    let Some(g) = tx.scim_group(id).await? else {
        return Err(AppError::NotFound.into());
    };
    if g.party_id != c.party {
        return Err(Refusal::OtherParty);
    }
    let members = tx.scim_members(&g.id).await?;
    Ok((g, members))
}

async fn user_view(tx: &mut store::Tx, user: &User, s: &ScimUser) -> Result<Value, AppError> {
    let groups = tx.scim_groups_of(user.id).await?;
    Ok(resource::user_json(user, s, &groups))
}

async fn group_view(
    tx: &mut store::Tx,
    g: &ScimGroup,
    members: &[UserId],
) -> Result<Value, AppError> {
    let mut named = Vec::with_capacity(members.len());
    for id in members {
        let name = tx
            .get_user(*id)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_default();
        named.push((id.to_string(), name));
    }
    Ok(resource::group_json(g, &named))
}

/// Gives a user the highest system role mapped to the groups they are in
/// (member when none), when the party maps any group to a system role. A
/// role the party may not hold (an external party's user is a member only)
/// is refused and recorded, never given.
async fn settle_system_role(
    app: &App,
    tx: &mut store::Tx,
    meta: &RequestMeta,
    party: &Party,
    user: UserId,
) -> Result<(), AppError> {
    let maps: Vec<ScimMapping> = tx
        .scim_mappings(party.id)
        .await?
        .into_iter()
        .filter(|m| m.system_role.is_some())
        .collect();
    if maps.is_empty() {
        return Ok(());
    }
    let groups = tx.scim_groups_of(user).await?;
    let role = maps
        .iter()
        .filter(|m| groups.iter().any(|(_, n)| names_match(n, &m.group_name)))
        .filter_map(|m| m.system_role)
        .max_by_key(|r| rank(*r))
        .unwrap_or(SystemRole::Member);
    let Some(mut u) = tx.get_user(user).await? else {
        return Ok(());
    };
    if u.system_role == role {
        return Ok(());
    }
    let now = app.now();
    if check_role_for(party, role).is_err() {
        return record(
            tx,
            meta,
            now,
            Fact::denied(
                None,
                EventName::ScimRoleChange,
                format!("user:{user}"),
                ErrorCode::ScimRoleNotAllowed.as_str(),
            )
            .with(json!({"party": party.id, "role": role})),
        )
        .await
        .map(|_| ());
    }
    let from = u.system_role;
    u.system_role = role;
    u.mfa_required = must_use_mfa(app.settings(), party.kind, role);
    tx.update_user(&u).await?;
    record(
        tx,
        meta,
        now,
        Fact::allowed(None, EventName::ScimRoleChange, format!("user:{user}"))
            .with(json!({"party": party.id, "from": from, "to": role})),
    )
    .await?;
    Ok(())
}

/// The room roles that members joining and leaving groups gain and lose:
/// `before`/`after` are (group name, members) as the change found and left them.
fn room_changes(
    maps: &[ScimMapping],
    before: Option<(&str, &[UserId])>,
    after: Option<(&str, &[UserId])>,
) -> Vec<RoomRoleChange> {
    let mut out = Vec::new();
    for m in maps.iter().filter(|m| m.room.is_some()) {
        let side = |s: Option<(&str, &[UserId])>| -> BTreeSet<UserId> {
            match s {
                Some((name, members)) if names_match(name, &m.group_name) => {
                    members.iter().copied().collect()
                }
                _ => BTreeSet::new(),
            }
        };
        let (was, is) = (side(before), side(after));
        for user in is.difference(&was) {
            out.push(RoomRoleChange {
                mapping: m.clone(),
                user: *user,
                join: true,
            });
        }
        for user in was.difference(&is) {
            out.push(RoomRoleChange {
                mapping: m.clone(),
                user: *user,
                join: false,
            });
        }
    }
    out
}

impl Scim<'_> {
    fn detail(&self, c: &ScimCaller, more: Value) -> Value {
        let mut d = json!({"party": c.party, "token": c.token});
        if let (Some(d), Value::Object(more)) = (d.as_object_mut(), more) {
            d.extend(more);
        }
        d
    }

    /// Turns a SCIM bearer secret into a caller bound to its party. A wrong
    /// or revoked token, or one of an offboarded party, is refused (and
    /// recorded).
    pub async fn authenticate(
        &self,
        meta: &RequestMeta,
        secret: &str,
    ) -> Result<ScimCaller, AppError> {
        let hash = sha256(secret.as_bytes());
        let now = self.0.now();
        let mut tx = self.0.store().read().await?;
        let token = tx.scim_token_by_hash(&hash).await?;
        let party = match &token {
            Some(t) => tx.get_party(t.party_id).await?,
            None => None,
        };
        drop(tx);
        let live = match (&token, &party) {
            (Some(t), Some(p)) => {
                ct_eq(&t.secret_hash, &hash)
                    && t.revoked_ms.is_none()
                    && p.status != PartyStatus::Offboarded
            }
            _ => false,
        };
        let (Some(token), Some(party), true) = (token, party, live) else {
            let target = "scim".to_owned();
            let fact = Fact::denied(
                None,
                EventName::ScimRefused,
                target,
                ErrorCode::Unauthenticated.as_str(),
            );
            self.0.record_alone(meta, fact).await?;
            return Err(AppError::Unauthenticated);
        };
        if token.last_used_ms.is_none_or(|t| now - t >= NOTE_EVERY_MS) {
            let mut tx = self.0.store().begin().await?;
            tx.note_scim_token_used(&token.id, now).await?;
            tx.commit().await?;
        }
        Ok(ScimCaller {
            token: token.id,
            party: party.id,
        })
    }

    /// Records a refusal the edge made of a SCIM request (a body that is
    /// not JSON, a content type it does not take).
    pub async fn refuse(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        target: &str,
        error: &AppError,
    ) -> Result<(), AppError> {
        let fact = Fact::denied(
            None,
            EventName::ScimRefused,
            target.to_owned(),
            error.reason(),
        )
        .with(self.detail(c, json!({})));
        self.0.record_alone(meta, fact).await.map(|_| ())
    }

    /// Ends a use-case: a refusal is recorded and answered.
    async fn settle<T>(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        target: &str,
        result: Result<T, Refusal>,
    ) -> Result<T, AppError> {
        match result {
            Ok(v) => Ok(v),
            Err(Refusal::OtherParty) => {
                let fact = Fact::denied(
                    None,
                    EventName::ScimRefused,
                    target.to_owned(),
                    "other_party",
                )
                .with(self.detail(c, json!({})));
                self.0.record_alone(meta, fact).await?;
                Err(AppError::NotFound)
            }
            Err(Refusal::App(e)) => {
                if !matches!(e, AppError::Internal(_)) {
                    self.refuse(meta, c, target, &e).await?;
                }
                Err(e)
            }
        }
    }

    /// The party's provisioned users that match `filter`, a page of them.
    pub async fn list_users(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        filter: Option<&str>,
        start: usize,
        count: usize,
    ) -> Result<Page, AppError> {
        let result = self.users_matching(c, filter).await;
        let items = self.settle(meta, c, "users", result).await?;
        Ok(page(items, start, count))
    }

    async fn users_matching(
        &self,
        c: &ScimCaller,
        filter: Option<&str>,
    ) -> Result<Vec<Value>, Refusal> {
        let f = filter_of(filter)?;
        let mut tx = self.0.store().read().await?;
        let mut out = Vec::new();
        for s in tx.scim_users(c.party).await? {
            let Some(user) = tx.get_user(s.user_id).await? else {
                continue;
            };
            let v = user_view(&mut tx, &user, &s).await?;
            if f.as_ref().is_none_or(|f| f.matches(&v)) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// One provisioned user of the caller's party, and its version.
    pub async fn user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
    ) -> Result<(Value, i64), AppError> {
        let result: Result<_, Refusal> = async {
            let mut tx = self.0.store().read().await?;
            let (user, s) = own_user(&mut tx, c, id).await?;
            Ok((user_view(&mut tx, &user, &s).await?, s.version))
        }
        .await;
        self.settle(meta, c, &format!("user:{id}"), result).await
    }

    /// Creates a user of the caller's party: a member with no grants and no
    /// password (it signs in as its party's configuration allows).
    pub async fn create_user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        body: &Value,
    ) -> Result<Written, AppError> {
        let result = self.create_user_inner(meta, c, body).await;
        self.settle(meta, c, "users", result).await
    }

    async fn create_user_inner(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        body: &Value,
    ) -> Result<Written, Refusal> {
        let input = resource::user_input(body)?;
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        self.user_name_free(&mut tx, c, &input.user_name, None)
            .await?;
        let email = normalize_email(&input.email).map_err(as_value)?;
        if tx.get_user_by_email(&email).await?.is_some() {
            return Err(uniqueness("the e-mail address").into());
        }
        let mut user = Identity(self.0)
            .insert_user(
                &mut tx,
                &email,
                &input.display_name,
                c.party,
                SystemRole::Member,
                None,
            )
            .await
            .map_err(as_value)?;
        if !input.active {
            user.disabled = true;
            tx.update_user(&user).await?;
        }
        let s = ScimUser {
            user_id: user.id,
            party_id: c.party,
            external_id: input.external_id,
            user_name: input.user_name,
            given_name: input.given_name,
            family_name: input.family_name,
            version: 1,
            created_ms: now,
            updated_ms: now,
            deprovisioned_ms: None,
        };
        tx.insert_scim_user(&s).await?;
        let detail = self.detail(
            c,
            json!({"user_name": s.user_name, "email": user.email, "active": !user.disabled}),
        );
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(None, EventName::ScimUserCreate, format!("user:{}", user.id))
                .with(detail),
        )
        .await?;
        let resource = user_view(&mut tx, &user, &s).await?;
        tx.commit().await?;
        Ok(Written {
            resource,
            version: s.version,
            roles: vec![],
        })
    }

    async fn user_name_free(
        &self,
        tx: &mut store::Tx,
        c: &ScimCaller,
        name: &str,
        except: Option<UserId>,
    ) -> Result<(), Refusal> {
        let taken = tx
            .scim_users(c.party)
            .await?
            .into_iter()
            .any(|s| Some(s.user_id) != except && names_match(&s.user_name, name));
        if taken {
            return Err(uniqueness(&format!("`userName` `{name}`")).into());
        }
        Ok(())
    }

    /// Replaces a user (PUT). `if_match` is the request's `If-Match`.
    pub async fn replace_user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Written, AppError> {
        let result = self
            .change_user(meta, c, id, Change::Replace(body), if_match)
            .await;
        self.settle(meta, c, &format!("user:{id}"), result).await
    }

    /// Changes a user by PATCH operations.
    pub async fn patch_user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Written, AppError> {
        let result = self
            .change_user(meta, c, id, Change::Patch(body), if_match)
            .await;
        self.settle(meta, c, &format!("user:{id}"), result).await
    }

    /// Deletes a user: deprovisioned as a deactivation is, and marked
    /// deleted (its rows and events stay).
    pub async fn delete_user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Vec<RoomRoleChange>, AppError> {
        let result = self
            .change_user(meta, c, id, Change::Delete, if_match)
            .await;
        self.settle(meta, c, &format!("user:{id}"), result)
            .await
            .map(|w| w.roles)
    }

    async fn change_user(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        change: Change<'_>,
        if_match: Option<&str>,
    ) -> Result<Written, Refusal> {
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        let (mut user, mut s) = own_user(&mut tx, c, id).await?;
        resource::if_match(if_match, s.version)?;
        let target = format!("user:{}", user.id);
        let input = match change {
            Change::Replace(body) => Some(resource::user_input(body)?),
            Change::Patch(body) => {
                let mut doc = user_view(&mut tx, &user, &s).await?;
                patch::apply(&mut doc, body)?;
                if doc.get("id").and_then(Value::as_str) != Some(target.trim_start_matches("user:"))
                {
                    return Err(
                        AppError::invalid(ErrorCode::ScimMutability, "`id` cannot change").into(),
                    );
                }
                Some(resource::user_input(&doc)?)
            }
            Change::Delete => None,
        };
        let was_active = !user.disabled;
        let mut roles = Vec::new();
        s.version += 1;
        s.updated_ms = now;
        let Some(input) = input else {
            // Deletion: deprovision, leave every group, keep the rows.
            let ended = tx.offboard(user.id.0, false, now).await?;
            s.deprovisioned_ms = Some(now);
            tx.update_scim_user(&s).await?;
            let maps = tx.scim_mappings(c.party).await?;
            for (gid, name) in tx.scim_groups_of(user.id).await? {
                tx.remove_scim_member(&gid, user.id).await?;
                if let Some(mut g) = tx.scim_group(&gid).await? {
                    g.version += 1;
                    g.updated_ms = now;
                    tx.update_scim_group(&g).await?;
                }
                let one = [user.id];
                roles.extend(room_changes(
                    &maps,
                    Some((name.as_str(), one.as_slice())),
                    None,
                ));
            }
            let detail = self.detail(c, json!({"deleted": true, "ended": ended}));
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(None, EventName::ScimUserDeprovision, target).with(detail),
            )
            .await?;
            tx.commit().await?;
            return Ok(Written {
                resource: Value::Null,
                version: s.version,
                roles,
            });
        };
        let email = normalize_email(&input.email).map_err(as_value)?;
        if email != user.email && tx.get_user_by_email(&email).await?.is_some() {
            return Err(uniqueness("the e-mail address").into());
        }
        self.user_name_free(&mut tx, c, &input.user_name, Some(user.id))
            .await?;
        let display_name = check_name("displayName", &input.display_name).map_err(as_value)?;
        let changed = json!({
            "email": (email != user.email).then_some(&email),
            "display_name": (display_name != user.display_name).then_some(&display_name),
            "user_name": (input.user_name != s.user_name).then_some(&input.user_name),
            "external_id": (input.external_id != s.external_id).then_some(&input.external_id),
        });
        let any_change = changed
            .as_object()
            .is_some_and(|o| o.values().any(|v| !v.is_null()))
            || input.given_name != s.given_name
            || input.family_name != s.family_name;
        user.email = email;
        user.display_name = display_name;
        s.user_name = input.user_name;
        s.external_id = input.external_id;
        s.given_name = input.given_name;
        s.family_name = input.family_name;
        tx.update_user(&user).await.map_err(|e| match e {
            StoreError::Conflict(_) => uniqueness("the e-mail address"),
            other => other.into(),
        })?;
        tx.update_scim_user(&s).await?;
        if any_change {
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(None, EventName::ScimUserUpdate, target.clone())
                    .with(self.detail(c, json!({"changed": changed}))),
            )
            .await?;
        }
        if was_active && !input.active {
            let ended = tx.offboard(user.id.0, false, now).await?;
            user.disabled = true;
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(None, EventName::ScimUserDeprovision, target.clone())
                    .with(self.detail(c, json!({"deleted": false, "ended": ended}))),
            )
            .await?;
        } else if !was_active && input.active {
            user.disabled = false;
            tx.update_user(&user).await?;
            record(
                &mut tx,
                meta,
                now,
                Fact::allowed(None, EventName::ScimUserReactivate, target.clone())
                    .with(self.detail(c, json!({}))),
            )
            .await?;
            // The room roles of the groups the user is in come back.
            let maps = tx.scim_mappings(c.party).await?;
            for (_, name) in tx.scim_groups_of(user.id).await? {
                let one = [user.id];
                roles.extend(room_changes(
                    &maps,
                    None,
                    Some((name.as_str(), one.as_slice())),
                ));
            }
        }
        let resource = user_view(&mut tx, &user, &s).await?;
        tx.commit().await?;
        Ok(Written {
            resource,
            version: s.version,
            roles,
        })
    }

    /// The party's groups that match `filter`, a page of them.
    pub async fn list_groups(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        filter: Option<&str>,
        start: usize,
        count: usize,
    ) -> Result<Page, AppError> {
        let result = async {
            let f = filter_of(filter)?;
            let mut tx = self.0.store().read().await?;
            let mut out = Vec::new();
            for g in tx.scim_groups(c.party).await? {
                let members = tx.scim_members(&g.id).await?;
                let v = group_view(&mut tx, &g, &members).await?;
                if f.as_ref().is_none_or(|f| f.matches(&v)) {
                    out.push(v);
                }
            }
            Ok::<_, Refusal>(out)
        }
        .await;
        let items = self.settle(meta, c, "groups", result).await?;
        Ok(page(items, start, count))
    }

    /// One group of the caller's party, and its version.
    pub async fn group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
    ) -> Result<(Value, i64), AppError> {
        let result: Result<_, Refusal> = async {
            let mut tx = self.0.store().read().await?;
            let (g, members) = own_group(&mut tx, c, id).await?;
            Ok((group_view(&mut tx, &g, &members).await?, g.version))
        }
        .await;
        self.settle(meta, c, &format!("group:{id}"), result).await
    }

    /// Creates a group of the caller's party, with its members.
    pub async fn create_group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        body: &Value,
    ) -> Result<Written, AppError> {
        let result = self
            .change_group(meta, c, None, Some(Change::Replace(body)), None)
            .await;
        self.settle(meta, c, "groups", result).await
    }

    /// Replaces a group (PUT), its members included.
    pub async fn replace_group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Written, AppError> {
        let result = self
            .change_group(meta, c, Some(id), Some(Change::Replace(body)), if_match)
            .await;
        self.settle(meta, c, &format!("group:{id}"), result).await
    }

    /// Changes a group by PATCH operations (`members` added and removed).
    pub async fn patch_group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Written, AppError> {
        let result = self
            .change_group(meta, c, Some(id), Some(Change::Patch(body)), if_match)
            .await;
        self.settle(meta, c, &format!("group:{id}"), result).await
    }

    /// Deletes a group: its members leave it (and the roles it mapped).
    pub async fn delete_group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Vec<RoomRoleChange>, AppError> {
        let result = self
            .change_group(meta, c, Some(id), Some(Change::Delete), if_match)
            .await;
        self.settle(meta, c, &format!("group:{id}"), result)
            .await
            .map(|w| w.roles)
    }

    async fn change_group(
        &self,
        meta: &RequestMeta,
        c: &ScimCaller,
        id: Option<&str>,
        change: Option<Change<'_>>,
        if_match: Option<&str>,
    ) -> Result<Written, Refusal> {
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        let party = tx.get_party(c.party).await?.ok_or(AppError::NotFound)?;
        let existing = match id {
            Some(id) => {
                let found = own_group(&mut tx, c, id).await?;
                resource::if_match(if_match, found.0.version)?;
                Some(found)
            }
            None => None,
        };
        let input = match (&change, &existing) {
            (Some(Change::Replace(body)), _) => Some(resource::group_input(body)?),
            (Some(Change::Patch(body)), Some((g, members))) => {
                let mut doc = group_view(&mut tx, g, members).await?;
                patch::apply(&mut doc, body)?;
                if doc.get("id").and_then(Value::as_str) != Some(g.id.as_str()) {
                    return Err(
                        AppError::invalid(ErrorCode::ScimMutability, "`id` cannot change").into(),
                    );
                }
                Some(resource::group_input(&doc)?)
            }
            _ => None,
        };
        let mut members = Vec::new();
        if let Some(input) = &input {
            for raw in &input.members {
                let (user, _) = own_user(&mut tx, c, raw).await?;
                members.push(user.id);
            }
        }
        if let Some(input) = &input {
            let own = existing.as_ref().map(|(g, _)| g.id.as_str());
            let taken = tx.scim_groups(c.party).await?.into_iter().any(|g| {
                Some(g.id.as_str()) != own && names_match(&g.display_name, &input.display_name)
            });
            if taken {
                let name = format!("`displayName` `{}`", input.display_name);
                return Err(uniqueness(&name).into());
            }
        }
        let before = existing
            .as_ref()
            .map(|(g, m)| (g.display_name.clone(), m.clone()));
        let (group, deleted) = match (existing, input) {
            (Some((g, _)), None) => {
                tx.delete_scim_group(&g.id).await?;
                (g, true)
            }
            (Some((mut g, _)), Some(input)) => {
                g.display_name =
                    check_name("displayName", &input.display_name).map_err(as_value)?;
                g.external_id = input.external_id;
                g.version += 1;
                g.updated_ms = now;
                tx.update_scim_group(&g)
                    .await
                    .map_err(|e| group_conflict(e, &g.display_name))?;
                (g, false)
            }
            (None, Some(input)) => {
                let g = ScimGroup {
                    id: uuid::Uuid::from_bytes(random()?).to_string(),
                    party_id: c.party,
                    display_name: check_name("displayName", &input.display_name)
                        .map_err(as_value)?,
                    external_id: input.external_id,
                    version: 1,
                    created_ms: now,
                    updated_ms: now,
                };
                tx.insert_scim_group(&g)
                    .await
                    .map_err(|e| group_conflict(e, &g.display_name))?;
                (g, false)
            }
            (None, None) => return Err(AppError::NotFound.into()),
        };
        let old: BTreeSet<UserId> = before
            .as_ref()
            .map(|(_, m)| m.iter().copied().collect())
            .unwrap_or_default();
        let new: BTreeSet<UserId> = members.iter().copied().collect();
        if !deleted {
            for u in new.difference(&old) {
                tx.add_scim_member(&group.id, *u).await?;
            }
            for u in old.difference(&new) {
                tx.remove_scim_member(&group.id, *u).await?;
            }
        }
        let joined: Vec<UserId> = new.difference(&old).copied().collect();
        let left: Vec<UserId> = old.difference(&new).copied().collect();
        let detail = self.detail(
            c,
            json!({
                "display_name": group.display_name,
                "created": before.is_none(),
                "deleted": deleted,
                "joined": joined,
                "left": left,
            }),
        );
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(
                None,
                EventName::ScimGroupChange,
                format!("group:{}", group.id),
            )
            .with(detail),
        )
        .await?;
        let renamed = before
            .as_ref()
            .is_some_and(|(n, _)| !names_match(n, &group.display_name));
        let touched: BTreeSet<UserId> = if renamed || deleted {
            old.union(&new).copied().collect()
        } else {
            joined.iter().chain(left.iter()).copied().collect()
        };
        for u in &touched {
            settle_system_role(self.0, &mut tx, meta, &party, *u).await?;
        }
        let maps = tx.scim_mappings(c.party).await?;
        let before_ref = before.as_ref().map(|(n, m)| (n.as_str(), m.as_slice()));
        let after = (!deleted).then_some((group.display_name.as_str(), members.as_slice()));
        let roles = room_changes(&maps, before_ref, after);
        let resource = if deleted {
            Value::Null
        } else {
            group_view(&mut tx, &group, &members).await?
        };
        tx.commit().await?;
        Ok(Written {
            resource,
            version: group.version,
            roles,
        })
    }

    /// The admin on whose behalf a mapping's room grants are made (the one
    /// who made it, as signed in with a second factor).
    pub async fn mapping_principal(&self, m: &ScimMapping) -> Result<Principal, AppError> {
        let mut tx = self.0.store().read().await?;
        let user = tx.get_user(m.created_by).await?.ok_or(AppError::NotFound)?;
        principal_for(&mut tx, &user, true).await
    }

    /// Notes the grant a mapping made to a user (to revoke it when they leave).
    pub async fn note_grant(
        &self,
        m: &ScimMapping,
        user: UserId,
        grant: GrantId,
    ) -> Result<(), AppError> {
        let mut tx = self.0.store().begin().await?;
        tx.insert_scim_grant(&m.id, user, grant).await?;
        Ok(tx.commit().await?)
    }

    /// The grant a mapping made to a user, forgotten.
    pub async fn take_grant(
        &self,
        m: &ScimMapping,
        user: UserId,
    ) -> Result<Option<GrantId>, AppError> {
        let mut tx = self.0.store().begin().await?;
        let grant = tx.take_scim_grant(&m.id, user).await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Records that the grant code refused a mapping's room role.
    pub async fn role_refused(
        &self,
        meta: &RequestMeta,
        change: &RoomRoleChange,
        error: &AppError,
    ) -> Result<(), AppError> {
        let fact = Fact::denied(None, EventName::ScimRoleChange, format!("user:{}", change.user), error.reason())
            .with(json!({"mapping": change.mapping.id, "party": change.mapping.party_id, "join": change.join}));
        self.0.record_alone(meta, fact).await.map(|_| ())
    }
}

/// A new mapping, as an admin asks for it.
#[derive(Clone, Debug)]
pub struct NewMapping {
    pub group_name: String,
    pub role: MappedRole,
}

impl ScimAdmin<'_> {
    async fn live_party(&self, tx: &mut store::Tx, id: PartyId) -> Result<Party, AppError> {
        let party = tx.get_party(id).await?.ok_or(AppError::NotFound)?;
        if party.status == PartyStatus::Offboarded {
            return Err(AppError::invalid(
                ErrorCode::PartyOffboarded,
                format!("`{}` is offboarded", party.name),
            ));
        }
        Ok(party)
    }

    /// Makes a SCIM token for a party; the secret is returned once.
    pub async fn create_token(
        &self,
        auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
        name: &str,
    ) -> Result<(ScimToken, String), AppError> {
        let (meta, p, _) = auth.into_parts();
        let name = check_name("name", name)?;
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        self.live_party(&mut tx, party).await?;
        let (raw, _) = new_token()?;
        let secret = format!("{TOKEN_PREFIX}{raw}");
        let token = ScimToken {
            id: uuid::Uuid::from_bytes(random()?).to_string(),
            party_id: party,
            name,
            secret_hash: sha256(secret.as_bytes()),
            created_by: p.user_id,
            created_ms: now,
            last_used_ms: None,
            revoked_ms: None,
        };
        tx.insert_scim_token(&token).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::ScimManage, format!("party:{party}"))
                .with(json!({"made": "token", "token": token.id, "name": token.name})),
        )
        .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// A party's SCIM tokens (never their secrets), revoked ones included.
    pub async fn tokens(
        &self,
        _auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
    ) -> Result<Vec<ScimToken>, AppError> {
        let mut tx = self.0.store().read().await?;
        tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        Ok(tx.scim_tokens(party).await?)
    }

    /// Revokes a party's token: its next request is refused.
    pub async fn revoke_token(
        &self,
        auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
        id: &str,
    ) -> Result<(), AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        if !tx.revoke_scim_token(party, id, now).await? {
            return Err(AppError::NotFound);
        }
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::ScimManage, format!("party:{party}"))
                .with(json!({"revoked": "token", "token": id})),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    /// A party's group mappings.
    pub async fn mappings(
        &self,
        _auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
    ) -> Result<Vec<ScimMapping>, AppError> {
        let mut tx = self.0.store().read().await?;
        tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        Ok(tx.scim_mappings(party).await?)
    }

    /// Maps a group (by display name) of a party to a room role or a system
    /// role. An external party's group maps to the member system role at
    /// most. The group's current members gain it at once: system roles in
    /// this transaction, room roles by the returned changes.
    pub async fn create_mapping(
        &self,
        auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
        new: NewMapping,
    ) -> Result<(ScimMapping, Vec<RoomRoleChange>), AppError> {
        let (meta, p, _) = auth.into_parts();
        let group_name = check_name("group", &new.group_name)?;
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        let found = self.live_party(&mut tx, party).await?;
        let (room, system_role) = match new.role {
            MappedRole::Room(room, role) => {
                if tx.get_room(room).await?.is_none() {
                    return Err(AppError::invalid(
                        ErrorCode::ScimMappingInvalid,
                        format!("no room with id `{room}`"),
                    ));
                }
                (Some((room, role)), None)
            }
            MappedRole::System(role) => {
                if check_role_for(&found, role).is_err() {
                    return Err(AppError::invalid(
                        ErrorCode::ScimRoleNotAllowed,
                        format!(
                            "a group of the external party `{}` cannot give the system role `{role}`",
                            found.name
                        ),
                    ));
                }
                (None, Some(role))
            }
        };
        let m = ScimMapping {
            id: uuid::Uuid::from_bytes(random()?).to_string(),
            party_id: party,
            group_name,
            room,
            system_role,
            created_by: p.user_id,
            created_ms: now,
        };
        tx.insert_scim_mapping(&m).await?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::ScimManage, format!("party:{party}")).with(json!({
                "made": "mapping", "mapping": m.id, "group": m.group_name,
                "room": m.room.map(|(r, _)| r), "room_role": m.room.map(|(_, r)| r), "system_role": m.system_role,
            })),
        )
        .await?;
        let changes = self
            .apply_to_members(&mut tx, meta, &found, &m, true)
            .await?;
        tx.commit().await?;
        Ok((m, changes))
    }

    /// Removes a mapping: the group's members lose what it gave.
    pub async fn delete_mapping(
        &self,
        auth: Authorized<'_, act::ScimManage, System>,
        party: PartyId,
        id: &str,
    ) -> Result<Vec<RoomRoleChange>, AppError> {
        let (meta, p, _) = auth.into_parts();
        let now = self.0.now();
        let mut tx = self.0.store().begin().await?;
        let found = tx.get_party(party).await?.ok_or(AppError::NotFound)?;
        let m = tx
            .delete_scim_mapping(party, id)
            .await?
            .ok_or(AppError::NotFound)?;
        record(
            &mut tx,
            meta,
            now,
            Fact::allowed(Some(p), Action::ScimManage, format!("party:{party}"))
                .with(json!({"removed": "mapping", "mapping": m.id, "group": m.group_name})),
        )
        .await?;
        let changes = self
            .apply_to_members(&mut tx, meta, &found, &m, false)
            .await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// The members of the mapped group gain (or lose) the mapping's role.
    async fn apply_to_members(
        &self,
        tx: &mut store::Tx,
        meta: &RequestMeta,
        party: &Party,
        m: &ScimMapping,
        join: bool,
    ) -> Result<Vec<RoomRoleChange>, AppError> {
        let group = tx
            .scim_groups(party.id)
            .await?
            .into_iter()
            .find(|g| names_match(&g.display_name, &m.group_name));
        let Some(group) = group else {
            return Ok(vec![]);
        };
        let members = tx.scim_members(&group.id).await?;
        if m.system_role.is_some() {
            for u in &members {
                settle_system_role(self.0, tx, meta, party, *u).await?;
            }
            return Ok(vec![]);
        }
        Ok(members
            .into_iter()
            .map(|user| RoomRoleChange {
                mapping: m.clone(),
                user,
                join,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_from_one_and_cap_their_size() {
        let items: Vec<Value> = (0..250).map(|i| json!(i)).collect();
        for (start, count, total, first, len) in [
            (1, 10, 250, Some(0), 10),
            (0, 10, 250, Some(0), 10),
            (241, 100, 250, Some(240), 10),
            (251, 10, 250, None, 0),
            (1, 0, 250, None, 0),
            (1, 1000, 250, Some(0), MAX_PAGE),
        ] {
            let p = page(items.clone(), start, count);
            assert_eq!(p.total, total);
            assert_eq!(p.resources.len(), len, "{start} {count}");
            assert_eq!(p.resources.first().and_then(Value::as_i64), first);
        }
    }
}
