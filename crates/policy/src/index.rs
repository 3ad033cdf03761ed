//! The policies that can apply to a request, chosen by its scope before Cedar
//! evaluates anything. Cedar evaluates every policy of the set it is given, one
//! by one; a policy whose action scope excludes the request's action, or whose
//! resource scope names another entity type or another entity, cannot apply, so
//! each (action, resource type) gets the set of the others — and, for policies
//! scoped to one resource (`resource == Custody::Room::"…"`), each such resource
//! its own set. The decision is the one the whole set gives. In these sets the
//! action scope, already decided, is widened to `action` (Cedar would otherwise
//! check it again, through the action groups, for every policy). Each set is
//! then [`Guarded`]: the policies a request's facts prove false are left out
//! of it per request (`prefilter.rs`).

use std::collections::{HashMap, HashSet};

use cedar_policy::{ActionConstraint, EntityUid, Policy, PolicyId, PolicySet, ResourceConstraint};

use crate::PolicyError;
use crate::prefilter::{Forms, Guarded};

/// The resource types a request can be on.
pub(crate) const RESOURCE_TYPES: [&str; 5] = [
    "Custody::System",
    "Custody::Room",
    "Custody::Agreement",
    "Custody::User",
    "Custody::Party",
];

/// The policies of one (action, resource type).
struct Scoped {
    /// Policies that apply to any resource of the type.
    generic: Guarded,
    /// For each resource named by a `resource ==` scope: `generic` plus those.
    by_resource: HashMap<EntityUid, Guarded>,
}

/// The policy set, split by scope.
pub(crate) struct Index {
    /// By action name, then by the position of the type in [`RESOURCE_TYPES`].
    by_action: HashMap<String, Vec<Scoped>>,
}

impl Index {
    /// Splits `set`; `ancestors` gives each action's groups (and itself).
    pub(crate) fn new(
        set: &PolicySet,
        ancestors: &HashMap<String, HashSet<EntityUid>>,
    ) -> Result<Index, PolicyError> {
        let mut by_action = HashMap::new();
        // Each policy is widened once, whatever the number of sets it is in.
        let mut forms = Forms::new();
        let mut widened = HashMap::new();
        for policy in set.policies() {
            let (json, policy) = widen(policy)?;
            forms.insert(policy.id().to_string(), json);
            widened.insert(policy.id().clone(), policy);
        }
        let mut all = Widened {
            set,
            widened,
            forms,
        };
        for (action, groups) in ancestors {
            let mut per_type = Vec::with_capacity(RESOURCE_TYPES.len());
            for ty in RESOURCE_TYPES {
                per_type.push(scoped(&mut all, groups, ty)?);
            }
            by_action.insert(action.clone(), per_type);
        }
        Ok(Index { by_action })
    }

    /// The policies that can apply to `action` on `resource` (of `RESOURCE_TYPES[ty]`).
    pub(crate) fn get(&self, action: &str, ty: usize, resource: &EntityUid) -> Option<&Guarded> {
        let scoped = self.by_action.get(action)?.get(ty)?;
        Some(scoped.by_resource.get(resource).unwrap_or(&scoped.generic))
    }
}

/// The policy set with each policy widened, and their JSON forms.
struct Widened<'a> {
    set: &'a PolicySet,
    widened: HashMap<PolicyId, Policy>,
    forms: Forms,
}

impl Widened<'_> {
    /// Adds the widened `policy` to `to`.
    fn add(&self, to: &mut PolicySet, policy: &Policy) -> Result<(), PolicyError> {
        let id = policy.id();
        let bad = |e: String| PolicyError::Id(format!("`{id}`: {e}"));
        let widened = self
            .widened
            .get(id)
            .ok_or_else(|| bad("not widened".into()))?;
        to.add(widened.clone()).map_err(|e| bad(e.to_string()))
    }
}

fn scoped(
    all: &mut Widened<'_>,
    groups: &HashSet<EntityUid>,
    ty: &str,
) -> Result<Scoped, PolicyError> {
    let set = all.set;
    let mut generic = PolicySet::new();
    let mut by_resource: HashMap<EntityUid, PolicySet> = HashMap::new();
    let mut specific: Vec<(EntityUid, &Policy)> = Vec::new();
    for policy in set.policies() {
        let action_fits = match policy.action_constraint() {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(a) => groups.contains(&a),
            ActionConstraint::In(list) => list.iter().any(|a| groups.contains(a)),
        };
        if !action_fits {
            continue;
        }
        match policy.resource_constraint() {
            ResourceConstraint::Any | ResourceConstraint::In(_) => all.add(&mut generic, policy)?,
            ResourceConstraint::Is(t) | ResourceConstraint::IsIn(t, _) => {
                if t.to_string() == ty {
                    all.add(&mut generic, policy)?;
                }
            }
            ResourceConstraint::Eq(uid) => {
                if uid.type_name().to_string() == ty {
                    specific.push((uid, policy));
                }
            }
        }
    }
    for (uid, policy) in specific {
        let set = match by_resource.get_mut(&uid) {
            Some(set) => set,
            None => by_resource.entry(uid).or_insert(generic.clone()),
        };
        all.add(set, policy)?;
    }
    let by_resource = by_resource
        .into_iter()
        .map(|(uid, set)| Ok((uid, Guarded::new(set, &mut all.forms)?)))
        .collect::<Result<_, PolicyError>>()?;
    Ok(Scoped {
        generic: Guarded::new(generic, &mut all.forms)?,
        by_resource,
    })
}

/// `policy` with its action scope widened to any action, and its JSON form.
fn widen(policy: &Policy) -> Result<(serde_json::Value, Policy), PolicyError> {
    let id = policy.id().clone();
    let bad = |e: String| PolicyError::Id(format!("`{id}`: {e}"));
    let mut json = policy.to_json().map_err(|e| bad(e.to_string()))?;
    if let Some(scope) = json.get_mut("action") {
        *scope = serde_json::json!({"op": "All"});
    }
    let widened =
        Policy::from_json(Some(id.clone()), json.clone()).map_err(|e| bad(e.to_string()))?;
    Ok((json, widened))
}
