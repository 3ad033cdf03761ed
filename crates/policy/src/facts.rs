//! What a decision is about — the caller, the resource, the request — as the
//! use-cases know it, and the small Cedar entity slice built from it for one
//! request (a handful of entities: the user, the party, the room or agreement
//! and its role groups, or the user or party acted on; the actions come from
//! the schema).

use std::collections::HashSet;
use std::str::FromStr;

use cedar_policy::{
    Context as CedarContext, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    RestrictedExpression, Schema,
};
use model::diligence::{MatrixControl, MatrixVerdict, RiskTier, tier_in_term, tier_name};
use model::{
    AgreementId, Classification, PartyId, PartyKind, PartyStatus, RoomId, RoomRole, SystemRole,
    UserId,
};

use crate::PolicyError;

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
    /// Until when the user's security training is current.
    pub training_until_ms: Option<i64>,
    /// Until when the party's security certification is valid.
    pub certified_until_ms: Option<i64>,
    /// The party's risk tier from its due diligence, and until when it is in
    /// term (the policy sees `unassessed` once it lapses).
    pub tier: Option<RiskTier>,
    pub tier_until_ms: Option<i64>,
}

/// An agreement a room requires: the key it is matched by (an agreement kind
/// such as `nda`, or a template name) and the title a denial names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub title: String,
}

/// What the action is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The platform itself (the lists of parties and users, the room list, the
    /// audit log, policies).
    System,
    /// One room, with the caller's effective role in it.
    Room {
        id: RoomId,
        classification: Classification,
        role: Option<RoomRole>,
        expired_grant: bool,
        /// The agreements the room requires of an external party.
        required_agreements: Vec<Requirement>,
        /// The certification standards the room (itself, or by its
        /// classification) requires of an external party; `any` is met by
        /// any verified certificate in term.
        required_certifications: Vec<Requirement>,
        /// The courses the room (itself, or by its classification) requires
        /// of an external user: key the course's id, title its title.
        required_courses: Vec<Requirement>,
        /// Field-of-use tags the agreements of an external party must cover.
        tags: Vec<String>,
        /// The room's access window in words, when it has one.
        window: Option<String>,
    },
    /// One agreement, issued to `party_id`.
    Agreement {
        id: AgreementId,
        party_id: PartyId,
        kind: String,
        status: String,
    },
    /// One user (to view it, to revoke its sessions), with the facts of its
    /// party: what a request by that user would be decided on (its `mfa`
    /// is not used). The caller itself when `user_id` is the caller's.
    User(Principal),
    /// One party (to view it).
    Party {
        id: PartyId,
        kind: PartyKind,
        status: PartyStatus,
        /// Until when its security certification is valid.
        certified_until_ms: Option<i64>,
        /// Its risk tier and until when it is in term.
        tier: Option<RiskTier>,
        tier_until_ms: Option<i64>,
    },
}

/// Facts about the request that policies may use, computed from the live state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub now_ms: i64,
    pub source_addr: Option<String>,
    /// Requirement keys the caller's party has signed and that are in term now.
    pub agreements_in_force: Vec<String>,
    /// Requirement keys whose signed agreement ended or was terminated, with
    /// no other one in force.
    pub agreements_lapsed: Vec<String>,
    /// The network zone the request comes from, and its country code.
    pub zone: Option<String>,
    pub zone_country: Option<String>,
    /// Whether an agreement in force that the room requires limits its
    /// territories, and the countries every such agreement allows.
    pub territory_limited: bool,
    pub territories: Vec<String>,
    /// Field-of-use tags of the agreements in force of the caller's party.
    pub fields_of_use: Vec<String>,
    /// Whether the room has an access window and now is outside it.
    pub outside_access_window: bool,
    /// Whether an agreement in force that the room requires names the
    /// actions it permits, and the actions every such agreement permits.
    pub actions_limited: bool,
    pub permitted_actions: Vec<String>,
    /// For a denial's message (not given to the policies): each required
    /// agreement in force that limits territories or actions, by requirement
    /// key, with what it allows.
    pub territory_limits: Vec<(String, Vec<String>)>,
    pub action_limits: Vec<(String, Vec<String>)>,
    /// What the sharing risk matrix says of the room's classification for
    /// the caller party's tier in term (`None`: no room, or the owner party —
    /// the policy sees `allowed`), and the controls it asks for.
    pub matrix: Option<MatrixVerdict>,
    pub matrix_controls: Vec<MatrixControl>,
    /// Whether the room is the evidence room of the caller's party.
    pub evidence_room: bool,
    /// Standards (and `any`) with a verified certificate of the caller's
    /// party in term now.
    pub certifications: Vec<String>,
    /// Standards (and `any`) of which the party's verified certificates have
    /// all ended, with none in term.
    pub certifications_lapsed: Vec<String>,
    /// For a denial's message (not given to the policies): each lapsed key
    /// with the standard's name and the day its newest certificate ended.
    pub certification_lapses: Vec<(String, String, String)>,
    /// Courses (ids) the caller has a completion of that counts and is in term now.
    pub courses: Vec<String>,
    /// Courses (ids) whose counting completions of the caller have all ended.
    pub courses_lapsed: Vec<String>,
    /// For a denial's message (not given to the policies): each lapsed
    /// course with the day its latest completion ended.
    pub course_lapses: Vec<(String, String)>,
    /// For a denial's message: what requires each course of the room —
    /// "rooms classified `confidential` require" or "this room requires".
    pub course_sources: Vec<(String, String)>,
}

/// The entity type names, parsed once.
pub(crate) struct Types {
    user: EntityTypeName,
    party: EntityTypeName,
    room: EntityTypeName,
    room_role: EntityTypeName,
    agreement: EntityTypeName,
    system: EntityTypeName,
}

impl Types {
    pub(crate) fn new() -> Result<Types, PolicyError> {
        let name = |n: &str| {
            EntityTypeName::from_str(n).map_err(|e| PolicyError::Schema(format!("`{n}`: {e}")))
        };
        Ok(Types {
            user: name("Custody::User")?,
            party: name("Custody::Party")?,
            room: name("Custody::Room")?,
            room_role: name("Custody::RoomRole")?,
            agreement: name("Custody::Agreement")?,
            system: name("Custody::System")?,
        })
    }

    fn uid(&self, ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// One request's principal, resource and entities.
pub(crate) struct Slice {
    pub(crate) principal: EntityUid,
    pub(crate) resource: EntityUid,
    /// The same as `resource`, kept for choosing the policies after `resource`
    /// moves into the request.
    pub(crate) resource_uid: EntityUid,
    pub(crate) entities: Entities,
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn strings(items: impl IntoIterator<Item = impl AsRef<str>>) -> RestrictedExpression {
    RestrictedExpression::new_set(items.into_iter().map(|s| string(s.as_ref())))
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(&str, RestrictedExpression)>,
    parents: HashSet<EntityUid>,
) -> Result<Entity, PolicyError> {
    let attrs = attrs.into_iter().map(|(k, v)| (k.to_owned(), v));
    Entity::new_with_tags(uid, attrs, parents, []).map_err(|e| PolicyError::Request(e.to_string()))
}

/// What the policy sees of a party.
struct PartyFacts {
    kind: PartyKind,
    status: PartyStatus,
    certified_until_ms: Option<i64>,
    tier: Option<RiskTier>,
    tier_until_ms: Option<i64>,
}

impl PartyFacts {
    fn of(p: &Principal) -> PartyFacts {
        PartyFacts {
            kind: p.party_kind,
            status: p.party_status,
            certified_until_ms: p.certified_until_ms,
            tier: p.tier,
            tier_until_ms: p.tier_until_ms,
        }
    }
}

/// The entity of a party at `now_ms`: its tier is `unassessed` when it has
/// none or it has lapsed.
fn party_entity(uid: EntityUid, f: &PartyFacts, now_ms: i64) -> Result<Entity, PolicyError> {
    let tier = tier_in_term(f.tier, f.tier_until_ms, now_ms);
    entity(
        uid,
        vec![
            ("kind", string(f.kind.as_str())),
            ("status", string(f.status.as_str())),
            (
                "certified_until_ms",
                RestrictedExpression::new_long(f.certified_until_ms.unwrap_or(0)),
            ),
            ("tier", string(tier_name(tier))),
            (
                "tier_until_ms",
                RestrictedExpression::new_long(f.tier_until_ms.unwrap_or(0)),
            ),
        ],
        HashSet::new(),
    )
}

/// The entity of user `u` of the party `party`, with `parents`.
fn user_entity(
    uid: EntityUid,
    u: &Principal,
    party: EntityUid,
    parents: HashSet<EntityUid>,
) -> Result<Entity, PolicyError> {
    entity(
        uid,
        vec![
            ("system_role", string(u.system_role.as_str())),
            ("disabled", RestrictedExpression::new_bool(u.disabled)),
            (
                "mfa_required",
                RestrictedExpression::new_bool(u.mfa_required),
            ),
            ("party", RestrictedExpression::new_entity_uid(party)),
            (
                "training_until_ms",
                RestrictedExpression::new_long(u.training_until_ms.unwrap_or(0)),
            ),
        ],
        parents,
    )
}

fn role_uid(t: &Types, room: RoomId, role: RoomRole) -> EntityUid {
    t.uid(&t.room_role, &format!("{room}/{role}"))
}

/// Builds the entity slice of one request, with `action`, the entity of the
/// request's action (from the schema, its groups already closed). Checked
/// against `schema` when given; decisions pass none: the slice is built here
/// to the schema, and a test checks it, so checking it on every request (and
/// adding every action of the schema) would only take time.
pub(crate) fn slice(
    t: &Types,
    schema: Option<&Schema>,
    action: &Entity,
    p: &Principal,
    res: &Resource,
    now_ms: i64,
) -> Result<Slice, PolicyError> {
    let party = t.uid(&t.party, &p.party_id.to_string());
    let principal = t.uid(&t.user, &p.user_id.to_string());
    let mut user_parents = HashSet::from([party.clone()]);
    let mut out = vec![party_entity(party.clone(), &PartyFacts::of(p), now_ms)?];
    let resource = match res {
        Resource::System => {
            let uid = t.uid(&t.system, "custody");
            out.push(entity(uid.clone(), vec![], HashSet::new())?);
            uid
        }
        Resource::Room {
            id,
            classification,
            role,
            required_agreements,
            required_certifications,
            required_courses,
            tags,
            ..
        } => {
            // The role groups of this room (manager ∈ contributor ∈ downloader
            // ∈ viewer) are not entities of the slice: the user is given its own
            // role's group and every weaker one as direct parents, which is all
            // `principal in resource.viewers` and the like need.
            for r in RoomRole::ALL {
                if role.is_some_and(|mine| *r <= mine) {
                    user_parents.insert(role_uid(t, *id, *r));
                }
            }
            let uid = t.uid(&t.room, &id.to_string());
            let group = |r| RestrictedExpression::new_entity_uid(role_uid(t, *id, r));
            out.push(entity(
                uid.clone(),
                vec![
                    ("classification", string(classification.as_str())),
                    ("viewers", group(RoomRole::Viewer)),
                    ("downloaders", group(RoomRole::Downloader)),
                    ("contributors", group(RoomRole::Contributor)),
                    ("managers", group(RoomRole::Manager)),
                    (
                        "required_agreements",
                        strings(required_agreements.iter().map(|r| r.key.as_str())),
                    ),
                    (
                        "required_certifications",
                        strings(required_certifications.iter().map(|r| r.key.as_str())),
                    ),
                    (
                        "required_courses",
                        strings(required_courses.iter().map(|r| r.key.as_str())),
                    ),
                    ("tags", strings(tags)),
                ],
                HashSet::new(),
            )?);
            uid
        }
        Resource::Agreement {
            id,
            party_id,
            kind,
            status,
        } => {
            let uid = t.uid(&t.agreement, &id.to_string());
            let owner = t.uid(&t.party, &party_id.to_string());
            out.push(entity(
                uid.clone(),
                vec![
                    ("party", RestrictedExpression::new_entity_uid(owner)),
                    ("kind", string(kind)),
                    ("status", string(status)),
                ],
                HashSet::new(),
            )?);
            uid
        }
        // Oneself: the resource is the principal's own entity.
        Resource::User(target) if target.user_id == p.user_id => principal.clone(),
        Resource::User(target) => {
            let owner = t.uid(&t.party, &target.party_id.to_string());
            if target.party_id != p.party_id {
                out.push(party_entity(
                    owner.clone(),
                    &PartyFacts::of(target),
                    now_ms,
                )?);
            }
            let uid = t.uid(&t.user, &target.user_id.to_string());
            out.push(user_entity(
                uid.clone(),
                target,
                owner.clone(),
                HashSet::from([owner]),
            )?);
            uid
        }
        // One's own party is already in the slice.
        Resource::Party { id, .. } if *id == p.party_id => party.clone(),
        Resource::Party {
            id,
            kind,
            status,
            certified_until_ms,
            tier,
            tier_until_ms,
        } => {
            let uid = t.uid(&t.party, &id.to_string());
            let facts = PartyFacts {
                kind: *kind,
                status: *status,
                certified_until_ms: *certified_until_ms,
                tier: *tier,
                tier_until_ms: *tier_until_ms,
            };
            out.push(party_entity(uid.clone(), &facts, now_ms)?);
            uid
        }
    };
    out.push(user_entity(principal.clone(), p, party, user_parents)?);
    out.push(action.clone());
    let entities =
        Entities::from_entities(out, schema).map_err(|e| PolicyError::Request(e.to_string()))?;
    Ok(Slice {
        principal,
        resource_uid: resource.clone(),
        resource,
        entities,
    })
}

/// The Cedar context of one request.
pub(crate) fn context(
    p: &Principal,
    action: &str,
    res: &Resource,
    ctx: &Context,
) -> Result<CedarContext, PolicyError> {
    let expired_grant = matches!(
        res,
        Resource::Room {
            expired_grant: true,
            ..
        }
    );
    let mut pairs = vec![
        ("mfa".to_owned(), RestrictedExpression::new_bool(p.mfa)),
        (
            "now_ms".to_owned(),
            RestrictedExpression::new_long(ctx.now_ms),
        ),
        (
            "expired_grant".to_owned(),
            RestrictedExpression::new_bool(expired_grant),
        ),
        (
            "agreements_in_force".to_owned(),
            strings(&ctx.agreements_in_force),
        ),
        (
            "agreements_lapsed".to_owned(),
            strings(&ctx.agreements_lapsed),
        ),
        ("zone".to_owned(), string(ctx.zone.as_deref().unwrap_or(""))),
        (
            "zone_country".to_owned(),
            string(ctx.zone_country.as_deref().unwrap_or("")),
        ),
        (
            "territory_limited".to_owned(),
            RestrictedExpression::new_bool(ctx.territory_limited),
        ),
        ("territories".to_owned(), strings(&ctx.territories)),
        ("fields_of_use".to_owned(), strings(&ctx.fields_of_use)),
        (
            "outside_access_window".to_owned(),
            RestrictedExpression::new_bool(ctx.outside_access_window),
        ),
        ("action_name".to_owned(), string(action)),
        (
            "actions_limited".to_owned(),
            RestrictedExpression::new_bool(ctx.actions_limited),
        ),
        (
            "permitted_actions".to_owned(),
            strings(&ctx.permitted_actions),
        ),
        (
            "matrix".to_owned(),
            string(ctx.matrix.map_or("allowed", MatrixVerdict::as_str)),
        ),
        (
            "matrix_controls".to_owned(),
            strings(ctx.matrix_controls.iter().map(|c| c.as_str())),
        ),
        (
            "evidence_room".to_owned(),
            RestrictedExpression::new_bool(ctx.evidence_room),
        ),
        ("certifications".to_owned(), strings(&ctx.certifications)),
        (
            "certifications_lapsed".to_owned(),
            strings(&ctx.certifications_lapsed),
        ),
        ("courses".to_owned(), strings(&ctx.courses)),
        ("courses_lapsed".to_owned(), strings(&ctx.courses_lapsed)),
    ];
    if let Some(addr) = &ctx.source_addr {
        pairs.push(("source_addr".to_owned(), string(addr)));
    }
    CedarContext::from_pairs(pairs).map_err(|e| PolicyError::Request(e.to_string()))
}
