//! Custody's authorization policies, in Cedar: the schema (what a policy may
//! name), the default policies (deny by default, least privilege), the entity
//! slice built for each request, and decisions that say why — the reason code,
//! a sentence naming the unmet condition, and the ids of the policies that
//! determined it. Pure: no clock, no I/O; the caller passes every fact in.
//!
//! A [`Policies`] is parsed and validated once and then shared; each decision
//! builds a few entities and evaluates the cached policy sets. A default denial
//! (no permit applied, no forbid applied) is explained by a second policy set,
//! `cedar/explain.cedar`, whose permits each name one unmet condition.
//! Before Cedar evaluates a set, the policies that the request's own facts
//! prove false are left out (`prefilter.rs`); the decision is the same.

mod custom;
mod error;
mod facts;
mod index;
mod prefilter;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Effect, Entity, EntityUid, Policy, PolicyId, PolicySet, Request, Schema,
    ValidationMode, Validator,
};
use model::RoomRole;

pub use custom::Problem;
pub use error::PolicyError;
pub use facts::{Context, Principal, Requirement, Resource};

/// The Cedar schema. Do not rename an entity, attribute or action without a
/// migration of stored custom policies.
pub const SCHEMA: &str = include_str!("cedar/schema.cedarschema");
/// The default policies.
pub const DEFAULT_POLICIES: &str = include_str!("cedar/defaults.cedar");
/// The explanations of default denials.
pub const EXPLANATIONS: &str = include_str!("cedar/explain.cedar");

/// Every reason code a decision may carry (a policy's `@reason` must be one).
pub const REASONS: &[&str] = &[
    "user_disabled",
    "party_inactive",
    "mfa_enrollment_required",
    "role_forbids",
    "room_role_insufficient",
    "room_role_missing",
    "grant_expired",
    "no_grant",
    "not_found",
    "agreement_missing",
    "agreement_expired",
    "field_of_use_not_covered",
    "territory_not_covered",
    "training_required",
    "certification_required",
    "certification_expired",
    "course_required",
    "course_expired",
    "outside_access_window",
    "action_not_licensed",
    "risk_tier_refused",
    "risk_tier_view_only",
    "risk_tier_mfa",
    "risk_tier_zone",
    "policy_forbids",
    "policy_error",
];

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

/// A decision with the ids of the policies that determined it (the permits
/// that allowed, the forbid or explanation that denied) and of any policy that
/// could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub policies: Vec<String>,
    pub errors: Vec<String>,
}

/// The type of resource an action is decided on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceType {
    System,
    Room,
    Agreement,
}

/// One policy as text, for listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyText {
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// `default`, `custom` or `explanation`.
    pub origin: &'static str,
    pub text: String,
}

/// What the annotations of one policy say.
struct Meta {
    reason: &'static str,
    priority: i64,
    message: String,
    hide: bool,
}

/// A validated, parsed policy set with its explanations: built once, shared.
pub struct Policies {
    schema: Schema,
    types: facts::Types,
    actions: HashMap<String, EntityUid>,
    /// The entity of each action, with its groups, for the slice.
    action_entities: HashMap<String, Entity>,
    /// The least room role whose group holds each room action.
    needed: HashMap<String, RoomRole>,
    rules: index::Index,
    explain: prefilter::Guarded,
    meta: HashMap<String, Meta>,
    texts: Vec<PolicyText>,
    /// The custom text this set was built with.
    custom: String,
    /// The default policies switched off.
    disabled: Vec<String>,
    /// The stored version this set is (0: the defaults, never changed).
    version: i64,
    authorizer: Authorizer,
}

impl Policies {
    /// The default policies.
    pub fn defaults() -> Result<Policies, PolicyError> {
        Policies::with_custom("")
    }

    /// The default policies plus `custom` (Cedar text; every policy with a
    /// unique `@id`), validated together against the schema.
    pub fn with_custom(custom: &str) -> Result<Policies, PolicyError> {
        Policies::with_changes(custom, &[])
    }

    /// The default policies without those whose `@id` is in `disabled`, plus
    /// `custom`, validated together against the schema. A default policy may
    /// be replaced by a custom one of the same `@id` (to tighten it). Refused:
    /// switching off an unknown, explanation or `@locked` policy; custom text
    /// that does not parse, lacks or reuses an `@id`, carries a bad annotation,
    /// names what the schema does not declare, or permits everything (which
    /// would switch off deny-by-default) — each problem located in `custom`.
    pub fn with_changes(custom: &str, disabled: &[String]) -> Result<Policies, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let mut meta = HashMap::new();
        let mut texts = Vec::new();
        let mut rules = PolicySet::new();
        let off: HashSet<&str> = disabled.iter().map(String::as_str).collect();
        let mut source = Source {
            text: DEFAULT_POLICIES,
            origin: "default",
            off: &off,
        };
        let defaults = load(&mut rules, &mut meta, &mut texts, &source)?;
        if let Some(id) = off.iter().find(|id| !defaults.contains(**id)) {
            return Err(PolicyError::Disable {
                id: (*id).to_owned(),
                detail: "there is no default policy with this id".into(),
            });
        }
        source.text = custom;
        source.origin = "custom";
        load(&mut rules, &mut meta, &mut texts, &source)?;
        let mut explain = PolicySet::new();
        source.text = EXPLANATIONS;
        source.origin = "explanation";
        load(&mut explain, &mut meta, &mut texts, &source)?;
        let validator = Validator::new(schema.clone());
        for set in [&rules, &explain] {
            let result = validator.validate(set, ValidationMode::Strict);
            if !result.validation_passed() {
                return Err(invalid(&result, custom, &texts));
            }
        }
        let (actions, needed, ancestors) = actions(&schema)?;
        let action_entities = action_entities(&schema)?;
        let types = facts::Types::new()?;
        Ok(Policies {
            schema,
            types,
            actions,
            action_entities,
            needed,
            rules: index::Index::new(&rules, &ancestors)?,
            explain: prefilter::Guarded::new(explain, &mut prefilter::Forms::new())?,
            meta,
            texts,
            custom: custom.to_owned(),
            disabled: disabled.to_vec(),
            version: 0,
            authorizer: Authorizer::new(),
        })
    }

    /// This set, labelled as stored version `version`.
    pub fn at_version(mut self, version: i64) -> Policies {
        self.version = version;
        self
    }

    /// The stored version this set is (0: the defaults, never changed).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The custom text this set was built with.
    pub fn custom(&self) -> &str {
        &self.custom
    }

    /// The ids of the default policies this set switches off.
    pub fn disabled(&self) -> &[String] {
        &self.disabled
    }

    /// The policies in force and the explanations, as text.
    pub fn list(&self) -> &[PolicyText] {
        &self.texts
    }

    /// The resource type the schema says `action` applies to; `None` for an
    /// unknown action or an action group. An action on the platform that also
    /// applies to one user or party (`user.list`, `party.list`, `user.update`)
    /// is a platform action here: its denials are recorded against the
    /// platform, and simulations and what-if replays decide it there.
    pub fn resource_type(&self, action: &str) -> Option<ResourceType> {
        let uid = self.actions.get(action)?;
        let types: Vec<String> = self
            .schema
            .resources_for_action(uid)?
            .map(ToString::to_string)
            .collect();
        let system = "Custody::System";
        let ty = if types.iter().any(|t| t == system) {
            system
        } else {
            types.first()?.as_str()
        };
        match ty {
            "Custody::System" => Some(ResourceType::System),
            "Custody::Room" => Some(ResourceType::Room),
            "Custody::Agreement" => Some(ResourceType::Agreement),
            _ => None,
        }
    }

    /// Whether the schema declares `action`.
    pub fn knows_action(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    /// Decides `action` by `p` on `res`.
    pub fn decide(&self, p: &Principal, action: &str, res: &Resource, ctx: &Context) -> Decision {
        self.explain(p, action, res, ctx).decision
    }

    /// Decides and says which policies determined the decision. Fails closed: a
    /// request that cannot be built, or a policy that cannot be evaluated, denies.
    pub fn explain(&self, p: &Principal, action: &str, res: &Resource, ctx: &Context) -> Verdict {
        self.verdict(p, action, res, ctx, true)
    }

    /// [`Policies::explain`] when `fast`; otherwise the reference evaluation
    /// (which the tests compare with it): the slice checked against the
    /// schema, and Cedar evaluating every policy that can apply.
    fn verdict(
        &self,
        p: &Principal,
        action: &str,
        res: &Resource,
        ctx: &Context,
        fast: bool,
    ) -> Verdict {
        match self.evaluate(p, action, res, ctx, fast) {
            Ok(verdict) => verdict,
            Err(e) => Verdict {
                decision: Decision::Deny {
                    reason: "policy_error",
                    message: format!("`{action}` could not be decided"),
                },
                policies: vec![],
                errors: vec![e.to_string()],
            },
        }
    }

    fn evaluate(
        &self,
        p: &Principal,
        action: &str,
        res: &Resource,
        ctx: &Context,
        fast: bool,
    ) -> Result<Verdict, PolicyError> {
        let Some(action_uid) = self.actions.get(action) else {
            return Ok(Verdict {
                decision: Decision::Deny {
                    reason: "role_forbids",
                    message: format!("`{action}` is not an action"),
                },
                policies: vec![],
                errors: vec![],
            });
        };
        let action_entity = self
            .action_entities
            .get(action)
            .ok_or_else(|| PolicyError::Request(format!("`{action}` has no entity")))?;
        // The reference evaluation checks the slice against the schema.
        let schema = (!fast).then_some(&self.schema);
        let slice = facts::slice(&self.types, schema, action_entity, p, res, ctx.now_ms)?;
        let context = facts::context(p, action, res, ctx)?;
        let request = Request::new(
            slice.principal,
            action_uid.clone(),
            slice.resource,
            context,
            None,
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        // The position of the resource's type in `index::RESOURCE_TYPES`.
        let ty = match res {
            Resource::System => 0,
            Resource::Room { .. } => 1,
            Resource::Agreement { .. } => 2,
            Resource::User(_) => 3,
            Resource::Party { .. } => 4,
        };
        let rules = self
            .rules
            .get(action, ty, &slice.resource_uid)
            .ok_or_else(|| PolicyError::Request(format!("no policies indexed for `{action}`")))?;
        let response = self.authorizer.is_authorized(
            &request,
            rules.choose(&request, &slice.entities, fast).set(),
            &slice.entities,
        );
        let mut errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        errors.sort_unstable();
        let mut determining: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        determining.sort_unstable();
        if !errors.is_empty() {
            return Ok(Verdict {
                decision: Decision::Deny {
                    reason: "policy_error",
                    message: format!("`{action}` could not be decided"),
                },
                policies: determining,
                errors,
            });
        }
        if response.decision() == cedar_policy::Decision::Allow {
            return Ok(Verdict {
                decision: Decision::Allow,
                policies: determining,
                errors,
            });
        }
        let (policies, chosen) = if determining.is_empty() {
            let why = self.authorizer.is_authorized(
                &request,
                self.explain.choose(&request, &slice.entities, fast).set(),
                &slice.entities,
            );
            let ids: Vec<String> = why
                .diagnostics()
                .reason()
                .map(ToString::to_string)
                .collect();
            let chosen = self.first(&ids).map(|(id, _)| id.to_owned());
            (chosen.clone().into_iter().collect(), chosen)
        } else {
            let chosen = self.first(&determining).map(|(id, _)| id.to_owned());
            (determining.clone(), chosen)
        };
        let chosen = chosen.and_then(|id| self.meta.get(&id).map(|m| (id, m)));
        let decision = match chosen {
            Some((_, m)) if m.hide => Decision::Hide { reason: m.reason },
            Some((_, m)) => Decision::Deny {
                reason: m.reason,
                message: fill(
                    &m.message,
                    p,
                    action,
                    res,
                    ctx,
                    m.reason,
                    self.needed.get(action),
                ),
            },
            None => Decision::Deny {
                reason: "role_forbids",
                message: format!("no policy allows `{action}`"),
            },
        };
        Ok(Verdict {
            decision,
            policies,
            errors,
        })
    }

    /// The policy with the lowest priority among `ids`.
    fn first<'a>(&'a self, ids: &'a [String]) -> Option<(&'a str, &'a Meta)> {
        ids.iter()
            .filter_map(|id| self.meta.get(id).map(|m| (id.as_str(), m)))
            .min_by_key(|(id, m)| (m.priority, *id))
    }
}

/// A policy text to load: where it comes from, and (for the defaults) the
/// ids of the policies to leave out.
struct Source<'a> {
    text: &'a str,
    /// `default`, `custom` or `explanation`.
    origin: &'static str,
    off: &'a HashSet<&'a str>,
}

impl Source<'_> {
    /// `e`, as a located problem when it is about custom text.
    fn fault(&self, policy: &Policy, id: Option<&str>, e: PolicyError) -> PolicyError {
        if self.origin != "custom" {
            return e;
        }
        let problem = Problem::on(self.text, policy, id.map(str::to_owned), e.to_string());
        PolicyError::Text(vec![problem])
    }
}

/// Parses the text of `src` into `set`, renaming every policy to its `@id`;
/// returns the ids of every policy of the text (those left out too).
fn load(
    set: &mut PolicySet,
    meta: &mut HashMap<String, Meta>,
    texts: &mut Vec<PolicyText>,
    src: &Source<'_>,
) -> Result<HashSet<String>, PolicyError> {
    let origin = src.origin;
    let parsed = PolicySet::from_str(src.text).map_err(|e| {
        if origin == "custom" {
            let problems = e.iter().map(|e| Problem::of(src.text, e, None)).collect();
            PolicyError::Text(problems)
        } else {
            PolicyError::Parse(e.to_string())
        }
    })?;
    let mut seen: HashSet<String> = texts.iter().map(|t| t.id.clone()).collect();
    let mut ids = HashSet::new();
    let mut policies: Vec<&Policy> = parsed.policies().collect();
    policies.sort_by_key(|p| p.id().to_string());
    for policy in policies {
        let id = policy
            .annotation("id")
            .ok_or_else(|| {
                let e = PolicyError::Id(format!("a {origin} policy has none"));
                src.fault(policy, None, e)
            })?
            .to_owned();
        ids.insert(id.clone());
        if origin == "default" && src.off.contains(id.as_str()) {
            if policy.annotation("locked") == Some("true") {
                return Err(PolicyError::Disable {
                    id,
                    detail: "it is part of the base that cannot be switched off".into(),
                });
            }
            continue;
        }
        if !seen.insert(id.clone()) {
            let e = PolicyError::Id(format!("`{id}` is used twice"));
            return Err(src.fault(policy, Some(&id), e));
        }
        if origin == "custom" && custom::permits_everything(policy) {
            let e = PolicyError::Id(format!(
                "`{id}` permits every action to everyone; deny-by-default cannot be switched off"
            ));
            return Err(src.fault(policy, Some(&id), e));
        }
        let renamed = policy.new_id(PolicyId::new(&id));
        let effect = match renamed.effect() {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
        };
        if effect == "forbid" || origin == "explanation" {
            let m = annotations(&renamed, &id).map_err(|e| src.fault(policy, Some(&id), e))?;
            meta.insert(id.clone(), m);
        }
        texts.push(PolicyText {
            id: id.clone(),
            effect,
            origin,
            text: renamed.to_string(),
        });
        set.add(renamed)
            .map_err(|e| PolicyError::Id(format!("`{id}`: {e}")))?;
    }
    Ok(ids)
}

/// The validation errors of `result`: located problems when they are about
/// custom policies (the defaults and explanations validate on their own).
fn invalid(
    result: &cedar_policy::ValidationResult,
    custom: &str,
    texts: &[PolicyText],
) -> PolicyError {
    let is_custom = |id: &str| texts.iter().any(|t| t.id == id && t.origin == "custom");
    let errors: Vec<&cedar_policy::ValidationError> = result.validation_errors().collect();
    if !errors.is_empty() && errors.iter().all(|e| is_custom(e.policy_id().as_ref())) {
        let problems = errors
            .iter()
            .map(|e| Problem::of(custom, *e, Some(e.policy_id().to_string())))
            .collect();
        return PolicyError::Text(problems);
    }
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    PolicyError::Invalid(errors.join("; "))
}

fn annotations(policy: &Policy, id: &str) -> Result<Meta, PolicyError> {
    let bad = |detail: String| PolicyError::Annotation {
        id: id.to_owned(),
        detail,
    };
    let reason = policy.annotation("reason").unwrap_or("policy_forbids");
    let reason = REASONS
        .iter()
        .copied()
        .find(|r| *r == reason)
        .ok_or_else(|| bad(format!("unknown reason `{reason}`")))?;
    let priority = match policy.annotation("priority") {
        None => 1000,
        Some(p) => p
            .parse()
            .map_err(|_| bad(format!("`@priority` must be an integer, not `{p}`")))?,
    };
    let message = policy.annotation("message").map_or_else(
        || format!("policy `{id}` forbids `{{action}}`"),
        str::to_owned,
    );
    let hide = match policy.annotation("hide") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad(format!(
                "`@hide` must be `true` or `false`, not `{other}`"
            )));
        }
    };
    Ok(Meta {
        reason,
        priority,
        message,
        hide,
    })
}

/// Every action of the schema by name, the least room role of each room
/// action, and each action's groups (with itself).
#[expect(clippy::type_complexity, reason = "three maps built in one pass")]
fn actions(
    schema: &Schema,
) -> Result<
    (
        HashMap<String, EntityUid>,
        HashMap<String, RoomRole>,
        HashMap<String, HashSet<EntityUid>>,
    ),
    PolicyError,
> {
    let entities = schema
        .action_entities()
        .map_err(|e| PolicyError::Schema(e.to_string()))?;
    let mut names = HashMap::new();
    let mut needed = HashMap::new();
    let mut groups = HashMap::new();
    for entity in entities.iter() {
        let uid = entity.uid();
        let name = uid.id().unescaped().to_owned();
        let mut mine: HashSet<EntityUid> = HashSet::from([uid.clone()]);
        for ancestor in entities.ancestors(&uid).into_iter().flatten() {
            mine.insert(ancestor.clone());
            let group = ancestor.id().unescaped();
            if let Some(role) = group.strip_prefix("role.") {
                let role = RoomRole::parse(role).map_err(|e| PolicyError::Schema(e.to_string()))?;
                needed.insert(name.clone(), role);
            }
        }
        groups.insert(name.clone(), mine);
        names.insert(name, uid);
    }
    Ok((names, needed, groups))
}

/// The entity of every action of the schema (with its groups), by name.
fn action_entities(schema: &Schema) -> Result<HashMap<String, Entity>, PolicyError> {
    let entities = schema
        .action_entities()
        .map_err(|e| PolicyError::Schema(e.to_string()))?;
    Ok(entities
        .iter()
        .map(|e| (e.uid().id().unescaped().to_owned(), e.clone()))
        .collect())
}

/// Fills the `{…}` placeholders of a policy's message from the request.
fn fill(
    template: &str,
    p: &Principal,
    action: &str,
    res: &Resource,
    ctx: &Context,
    reason: &str,
    needed: Option<&RoomRole>,
) -> String {
    let mut classification = "";
    let mut tags = String::new();
    let mut window = "";
    let mut certification = String::new();
    let mut certification_end = "";
    let mut course = "";
    let mut course_end = "";
    let mut course_requirement = "";
    let (role, agreement) = match res {
        Resource::Room {
            role,
            required_agreements,
            required_certifications,
            required_courses,
            classification: c,
            tags: t,
            window: w,
            ..
        } => {
            classification = c.as_str();
            tags = t.join(", ");
            window = w.as_deref().unwrap_or("");
            // The requirement whose agreement excludes what was asked.
            let excludes = |limits: &[(String, Vec<String>)], key: &str, asked: &str| {
                limits
                    .iter()
                    .any(|(k, allowed)| k == key && !allowed.iter().any(|a| a == asked))
            };
            let country = ctx.zone_country.as_deref().unwrap_or("");
            let unmet = required_agreements.iter().find(|r| match reason {
                "agreement_expired" => ctx.agreements_lapsed.contains(&r.key),
                "territory_not_covered" => excludes(&ctx.territory_limits, &r.key, country),
                "action_not_licensed" => excludes(&ctx.action_limits, &r.key, action),
                _ => !ctx.agreements_in_force.contains(&r.key),
            });
            if let Some(lapse) = ctx.certification_lapses.iter().find(|(key, ..)| {
                reason == "certification_expired"
                    && required_certifications.iter().any(|r| &r.key == key)
            }) {
                certification = format!("`{}`", lapse.1);
                certification_end = lapse.2.as_str();
            } else if let Some(r) = required_certifications
                .iter()
                .find(|r| !ctx.certifications.contains(&r.key))
            {
                certification = if r.key == "any" {
                    "a valid security certification".to_owned()
                } else {
                    format!("a valid `{}` certificate", r.title)
                };
            }
            // The course the denial is about: a lapsed one for
            // `course_expired`, else the first not passed.
            let unpassed = required_courses.iter().find(|r| {
                if reason == "course_expired" {
                    ctx.courses_lapsed.contains(&r.key)
                } else {
                    !ctx.courses.contains(&r.key)
                }
            });
            if let Some(r) = unpassed {
                course = r.title.as_str();
                course_end = ctx
                    .course_lapses
                    .iter()
                    .find(|(k, _)| k == &r.key)
                    .map_or("", |(_, d)| d.as_str());
                course_requirement = ctx
                    .course_sources
                    .iter()
                    .find(|(k, _)| k == &r.key)
                    .map_or("this room requires", |(_, s)| s.as_str());
            }
            (
                role.map_or("none", RoomRole::as_str),
                unmet.map_or("", |r| r.title.as_str()),
            )
        }
        _ => ("none", ""),
    };
    let tier = model::diligence::tier_name(model::diligence::tier_in_term(
        p.tier,
        p.tier_until_ms,
        ctx.now_ms,
    ));
    let zone = match (&ctx.zone, &ctx.zone_country) {
        (Some(z), Some(c)) => format!("network zone `{z}`, {c}"),
        _ => "an address outside every known network zone".to_owned(),
    };
    template
        .replace("{action}", action)
        .replace("{role}", role)
        .replace("{needed}", needed.map_or("a room role", |r| r.as_str()))
        .replace("{system_role}", p.system_role.as_str())
        .replace("{party_status}", p.party_status.as_str())
        .replace("{agreement}", agreement)
        .replace("{classification}", classification)
        .replace("{tags}", &tags)
        .replace("{window}", window)
        .replace("{certification_end}", certification_end)
        .replace("{certification}", &certification)
        .replace("{zone}", &zone)
        .replace("{tier}", tier)
        // Last: a course's title is the admin's text, not a template.
        .replace("{course_requirement}", course_requirement)
        .replace("{course_end}", course_end)
        .replace("{course}", course)
}

impl Policies {
    /// Builds the entity slice of a request on `res` (with an action on its
    /// type), validated against the schema.
    #[cfg(test)]
    fn checked_slice(&self, p: &Principal, res: &Resource) -> Result<(), PolicyError> {
        let action = match res {
            Resource::System => "room.list",
            Resource::Room { .. } => "file.download",
            Resource::Agreement { .. } => "agreement.view",
            Resource::User(_) => "user.list",
            Resource::Party { .. } => "party.list",
        };
        let entity = self
            .action_entities
            .get(action)
            .ok_or_else(|| PolicyError::Request(format!("`{action}` has no entity")))?;
        facts::slice(&self.types, Some(&self.schema), entity, p, res, 0).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
