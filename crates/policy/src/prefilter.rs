//! A sound pre-filter: the policies of a set that a request's own facts
//! already prove false, left out before Cedar evaluates the rest. Cedar
//! evaluates every policy it is given, one by one (a few microseconds each);
//! a custom policy such as `forbid (…) when { resource.classification ==
//! "restricted" && principal.party.status == "x" }` is false on almost every
//! request, and is recognised as such from two attribute reads.
//!
//! From each policy's JSON form, its *guards*: the leading conditions that
//! compare an attribute path (`principal.party.status`, `resource.classification`,
//! `context.mfa`, …) with literals — `==`, `!=`, `!`, a set literal's
//! `contains`, a set attribute's `contains` of a literal
//! (`resource.tags.contains("aero")`), `<`, `<=`, `>`, `>=` of an integer
//! attribute and an integer, or the path alone as a boolean. Cedar evaluates a policy's
//! conditions left to right and stops at the first false one (`when` clauses
//! are conjunctions, an `unless` clause is the negation of a disjunction), so
//! when the path of each guard up to one that fails can be read from the
//! request's entities and context, the policy is false *without an error*, and
//! leaving it out changes neither the decision, nor the determining policies,
//! nor the errors. The guards stop at the first condition of another shape,
//! and a path that cannot be read (a missing attribute, a value of another
//! type than the test needs) never proves anything: Cedar then evaluates the
//! policy, and reports its errors, as before.
//!
//! The sets that remain are built once per combination of left-out policies
//! and cached (a bounded number per set; beyond that the whole set is used).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cedar_policy::{Entities, EvalResult, Policy, PolicySet, Request};
use serde_json::Value as Json;

use crate::PolicyError;

/// How many reduced sets one set keeps; a request that needs another one is
/// decided on the whole set (the same decision, more slowly).
const CACHE_LIMIT: usize = 256;

/// Where a path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    Principal,
    Resource,
    Context,
}

/// `var.a.b…`: at least one attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Path {
    var: Var,
    attrs: Vec<String>,
}

/// A literal a guard compares with, and a value read from a request (a set
/// only of such values).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Bool(bool),
    Long(i64),
    Str(String),
    Set(Vec<Val>),
}

/// What a guard asks of its path's value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Test {
    /// `path == literal`.
    Eq(Val),
    /// `[literals].contains(path)`.
    OneOf(Vec<Val>),
    /// `path` itself, which must then be a boolean.
    IsTrue,
    /// `path.contains(literal)`, `path` a set.
    Has(Val),
    /// `path < n` (`path <= n` is `path < n + 1`), `path` an integer.
    Below(i64),
    /// `path > n` (`path >= n` is `path > n - 1`), `path` an integer.
    Above(i64),
}

/// One guard: the policy can only be satisfied if `test` on the value of
/// path number `path` is `holds`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Guard {
    path: usize,
    test: Test,
    holds: bool,
}

impl Guard {
    /// Whether `v` proves the policy false; `None` when `v` cannot be tested
    /// (Cedar would raise an error there, or decide it otherwise).
    fn refutes(&self, v: &Val) -> Option<bool> {
        let result = match (&self.test, v) {
            (Test::Eq(lit), v) => lit == v,
            (Test::OneOf(lits), v) => lits.contains(v),
            (Test::IsTrue, Val::Bool(b)) => *b,
            (Test::Has(lit), Val::Set(items)) => items.contains(lit),
            (Test::Below(n), Val::Long(v)) => v < n,
            (Test::Above(n), Val::Long(v)) => v > n,
            (Test::IsTrue | Test::Has(_) | Test::Below(_) | Test::Above(_), _) => return None,
        };
        Some(result != self.holds)
    }
}

/// A policy of the set with its guards, in evaluation order.
struct Member {
    policy: Policy,
    guards: Vec<Guard>,
}

/// Which policies of a set remain: bit `i` for member `i`.
type Mask = Vec<u64>;

/// A policy set with the guards of its policies and the reduced sets built so far.
pub(crate) struct Guarded {
    full: PolicySet,
    members: Vec<Member>,
    paths: Vec<Path>,
    reduced: RwLock<HashMap<Mask, Arc<PolicySet>>>,
}

/// The policies chosen for one request.
pub(crate) enum Chosen<'a> {
    Full(&'a PolicySet),
    Reduced(Arc<PolicySet>),
}

impl Chosen<'_> {
    pub(crate) fn set(&self) -> &PolicySet {
        match self {
            Chosen::Full(set) => set,
            Chosen::Reduced(set) => set,
        }
    }
}

/// The JSON form of policies by id, converted once for all the sets that
/// hold them (their conditions are the same in every set).
pub(crate) type Forms = HashMap<String, Json>;

impl Guarded {
    /// The guards of every policy of `set`, from their JSON form in `forms`
    /// (added there when missing).
    pub(crate) fn new(set: PolicySet, forms: &mut Forms) -> Result<Guarded, PolicyError> {
        let mut paths = Vec::new();
        let mut members = Vec::new();
        for policy in set.policies() {
            let id = policy.id().to_string();
            let json = match forms.get(&id) {
                Some(json) => json,
                None => {
                    let json = policy
                        .to_json()
                        .map_err(|e| PolicyError::Id(format!("`{id}`: {e}")))?;
                    forms.entry(id).or_insert(json)
                }
            };
            members.push(Member {
                policy: policy.clone(),
                guards: guards(json, &mut paths),
            });
        }
        Ok(Guarded {
            full: set,
            members,
            paths,
            reduced: RwLock::new(HashMap::new()),
        })
    }

    /// The policies of the set that `request` (with `entities`) does not
    /// prove false; the whole set unless `filter`.
    pub(crate) fn choose(
        &self,
        request: &Request,
        entities: &Entities,
        filter: bool,
    ) -> Chosen<'_> {
        if !filter {
            return Chosen::Full(&self.full);
        }
        let mut values: Vec<Option<Option<Val>>> = vec![None; self.paths.len()];
        let mut mask: Mask = vec![0; self.members.len().div_ceil(64)];
        let mut all = true;
        for (i, member) in self.members.iter().enumerate() {
            if self.refuted(&member.guards, &mut values, request, entities) {
                all = false;
            } else if let Some(word) = mask.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        if all {
            return Chosen::Full(&self.full);
        }
        self.reduced(mask)
    }

    /// Whether `guards` prove their policy false: every guard up to a failing
    /// one reads its value (memoised in `values`, by path) and tests it.
    fn refuted(
        &self,
        guards: &[Guard],
        values: &mut [Option<Option<Val>>],
        request: &Request,
        entities: &Entities,
    ) -> bool {
        for g in guards {
            let Some(slot) = values.get_mut(g.path) else {
                return false;
            };
            let value = slot.get_or_insert_with(|| {
                let path = self.paths.get(g.path)?;
                read(path, request, entities)
            });
            match value.as_ref().and_then(|v| g.refutes(v)) {
                Some(true) => return true,
                Some(false) => {}
                // A value that cannot be read or tested stops the guards here.
                None => return false,
            }
        }
        false
    }

    /// The set of the members in `mask`, from the cache or built now.
    fn reduced(&self, mask: Mask) -> Chosen<'_> {
        if let Ok(cache) = self.reduced.read()
            && let Some(set) = cache.get(&mask)
        {
            return Chosen::Reduced(set.clone());
        }
        let Ok(mut cache) = self.reduced.write() else {
            return Chosen::Full(&self.full);
        };
        if let Some(set) = cache.get(&mask) {
            return Chosen::Reduced(set.clone());
        }
        if cache.len() >= CACHE_LIMIT {
            return Chosen::Full(&self.full);
        }
        let mut set = PolicySet::new();
        for (i, member) in self.members.iter().enumerate() {
            let kept = mask.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
            if kept && set.add(member.policy.clone()).is_err() {
                return Chosen::Full(&self.full);
            }
        }
        let set = Arc::new(set);
        cache.insert(mask, set.clone());
        Chosen::Reduced(set)
    }
}

/// The guards of a policy in its JSON form, interning their paths in `paths`.
fn guards(policy: &Json, paths: &mut Vec<Path>) -> Vec<Guard> {
    let mut out = Vec::new();
    let Some(conditions) = policy.get("conditions").and_then(Json::as_array) else {
        return out;
    };
    for condition in conditions {
        let (Some(kind), Some(body)) = (
            condition.get("kind").and_then(Json::as_str),
            condition.get("body"),
        ) else {
            return out;
        };
        // `when { a && b }` needs a, then b; `unless { a || b }` needs !a, then !b.
        let (op, holds) = match kind {
            "when" => ("&&", true),
            "unless" => ("||", false),
            _ => return out,
        };
        let mut parts = Vec::new();
        flatten(body, op, &mut parts);
        for part in parts {
            match guard(part, holds, paths) {
                Some(g) => out.push(g),
                None => return out,
            }
        }
    }
    out
}

/// The operands of a chain of `op` in evaluation order.
fn flatten<'a>(e: &'a Json, op: &str, out: &mut Vec<&'a Json>) {
    match e.get(op) {
        Some(both) => match (both.get("left"), both.get("right")) {
            (Some(left), Some(right)) => {
                flatten(left, op, out);
                flatten(right, op, out);
            }
            _ => out.push(e),
        },
        None => out.push(e),
    }
}

/// `e` as a guard that must evaluate to `holds`, if it has a guard's shape.
fn guard(e: &Json, holds: bool, paths: &mut Vec<Path>) -> Option<Guard> {
    let obj = e.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let (op, arg) = obj.iter().next()?;
    let (path, test, holds) = match op.as_str() {
        "==" | "!=" => {
            let (left, right) = (arg.get("left")?, arg.get("right")?);
            let (p, lit) = match (path(left), literal(right)) {
                (Some(p), Some(lit)) => (p, lit),
                _ => (path(right)?, literal(left)?),
            };
            (p, Test::Eq(lit), holds == (op == "=="))
        }
        "!" => return guard(arg.get("arg")?, !holds, paths),
        "contains" => {
            let (left, right) = (arg.get("left")?, arg.get("right")?);
            match left.get("Set").and_then(Json::as_array) {
                Some(set) => {
                    let lits = set.iter().map(literal).collect::<Option<Vec<Val>>>()?;
                    (path(right)?, Test::OneOf(lits), holds)
                }
                None => (path(left)?, Test::Has(literal(right)?), holds),
            }
        }
        "<" | "<=" | ">" | ">=" => {
            let (left, right) = (arg.get("left")?, arg.get("right")?);
            // With the literal on the left, `n < path` is `path > n`, and so on.
            let (p, n, op) = match (path(left), literal(right)) {
                (Some(p), Some(Val::Long(n))) => (p, n, op.as_str()),
                _ => match (literal(left)?, path(right)?) {
                    (Val::Long(n), p) => (p, n, mirror(op)),
                    _ => return None,
                },
            };
            let test = match op {
                "<" => Test::Below(n),
                "<=" => Test::Below(n.checked_add(1)?),
                ">" => Test::Above(n),
                _ => Test::Above(n.checked_sub(1)?),
            };
            (p, test, holds)
        }
        "." => (path(e)?, Test::IsTrue, holds),
        _ => return None,
    };
    let index = match paths.iter().position(|p| *p == path) {
        Some(i) => i,
        None => {
            paths.push(path);
            paths.len() - 1
        }
    };
    Some(Guard {
        path: index,
        test,
        holds,
    })
}

/// The comparison that reads the same with its operands swapped.
fn mirror(op: &str) -> &'static str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        _ => "<=",
    }
}

/// `e` as an attribute path from `principal`, `resource` or `context`.
fn path(e: &Json) -> Option<Path> {
    let mut attrs = Vec::new();
    let mut cur = e;
    while let Some(access) = cur.get(".") {
        attrs.push(access.get("attr")?.as_str()?.to_owned());
        cur = access.get("left")?;
    }
    let var = match cur.get("Var")?.as_str()? {
        "principal" => Var::Principal,
        "resource" => Var::Resource,
        "context" => Var::Context,
        _ => return None,
    };
    if attrs.is_empty() {
        return None;
    }
    attrs.reverse();
    Some(Path { var, attrs })
}

/// `e` as a boolean, integer or string literal.
fn literal(e: &Json) -> Option<Val> {
    match e.get("Value")? {
        Json::Bool(b) => Some(Val::Bool(*b)),
        Json::String(s) => Some(Val::Str(s.clone())),
        Json::Number(n) => n.as_i64().map(Val::Long),
        _ => None,
    }
}

/// The value of `path` in `request`, if it can be read and is a boolean,
/// an integer, a string or a set of those.
fn read(path: &Path, request: &Request, entities: &Entities) -> Option<Val> {
    let (first, rest) = path.attrs.split_first()?;
    let mut cur = match path.var {
        Var::Principal => attr(entities, request.principal()?, first)?,
        Var::Resource => attr(entities, request.resource()?, first)?,
        Var::Context => request.context()?.get(first)?,
    };
    for name in rest {
        cur = match cur {
            EvalResult::EntityUid(uid) => attr(entities, &uid, name)?,
            EvalResult::Record(record) => record.get(name)?.clone(),
            _ => return None,
        };
    }
    value(cur)
}

fn value(v: EvalResult) -> Option<Val> {
    match v {
        EvalResult::Bool(b) => Some(Val::Bool(b)),
        EvalResult::Long(n) => Some(Val::Long(n)),
        EvalResult::String(s) => Some(Val::Str(s)),
        // A set of sets is not read: Cedar compares sets regardless of
        // order, `Val::Set` in order.
        EvalResult::Set(set) => set
            .iter()
            .map(|item| match item {
                EvalResult::Set(_) => None,
                other => value(other.clone()),
            })
            .collect::<Option<Vec<Val>>>()
            .map(Val::Set),
        _ => None,
    }
}

fn attr(entities: &Entities, uid: &cedar_policy::EntityUid, name: &str) -> Option<EvalResult> {
    entities.get(uid)?.attr(name)?.ok()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use cedar_policy::RestrictedExpression;

    use super::*;

    /// The guards of `text` (one policy), as `path test holds` strings.
    fn check(text: &str, want: &[&str]) {
        let policy = Policy::from_str(text).unwrap();
        let mut paths = Vec::new();
        let got: Vec<String> = guards(&policy.to_json().unwrap(), &mut paths)
            .iter()
            .map(|g| {
                let p = &paths[g.path];
                format!("{:?}.{} {:?} {}", p.var, p.attrs.join("."), g.test, g.holds)
            })
            .collect();
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn guards_are_the_leading_attribute_comparisons() {
        let table: &[(&str, &[&str])] = &[
            ("permit(principal, action, resource);", &[]),
            (
                r#"forbid(principal, action, resource) when { resource.classification == "restricted" && principal.party.status == "x1" };"#,
                &[
                    r#"Resource.classification Eq(Str("restricted")) true"#,
                    r#"Principal.party.status Eq(Str("x1")) true"#,
                ],
            ),
            (
                r#"forbid(principal, action, resource) when { principal.party.status != "active" };"#,
                &[r#"Principal.party.status Eq(Str("active")) false"#],
            ),
            (
                r#"forbid(principal, action, resource) when { principal.mfa_required && !context.mfa } unless { action == Custody::Action::"a" };"#,
                &[
                    "Principal.mfa_required IsTrue true",
                    "Context.mfa IsTrue false",
                ],
            ),
            (
                r#"permit(principal, action, resource) when { "owner" == principal.party.kind && ["admin", "auditor"].contains(principal.system_role) };"#,
                &[
                    r#"Principal.party.kind Eq(Str("owner")) true"#,
                    r#"Principal.system_role OneOf([Str("admin"), Str("auditor")]) true"#,
                ],
            ),
            // A set attribute's `contains` of a literal; integer comparisons,
            // either way round, `<=` and `>=` as `<` and `>`.
            (
                r#"forbid(principal, action, resource) when { resource.tags.contains("aero") && context.now_ms < 0 && 5 <= context.now_ms } unless { context.now_ms >= 9 || 3 > principal.training_until_ms };"#,
                &[
                    r#"Resource.tags Has(Str("aero")) true"#,
                    "Context.now_ms Below(0) true",
                    "Context.now_ms Above(4) true",
                    "Context.now_ms Above(8) false",
                    "Principal.training_until_ms Below(3) false",
                ],
            ),
            // Guards stop at the first condition of another shape.
            (
                r#"forbid(principal, action, resource) when { context.now_ms * 2 < 0 && principal.disabled };"#,
                &[],
            ),
            (
                r#"forbid(principal, action, resource) when { principal.disabled && context.zone like "p*" && context.mfa };"#,
                &["Principal.disabled IsTrue true"],
            ),
            (
                r#"forbid(principal, action, resource) when { context.territories.contains(context.zone_country) && context.mfa };"#,
                &[],
            ),
            (
                r#"forbid(principal, action, resource) when { context.now_ms <= 9223372036854775807 && context.mfa };"#,
                &[],
            ),
            // `unless { a || b }`: neither a nor b may hold.
            (
                r#"forbid(principal, action, resource) when { context.now_ms == 5 } unless { principal.system_role == "admin" || context.expired_grant };"#,
                &[
                    "Context.now_ms Eq(Long(5)) true",
                    r#"Principal.system_role Eq(Str("admin")) false"#,
                    "Context.expired_grant IsTrue false",
                ],
            ),
            (
                r#"forbid(principal, action, resource) unless { principal.disabled && context.mfa };"#,
                &[],
            ),
            // A comparison of two paths, or with an entity, is no guard.
            (
                r#"forbid(principal, action, resource) when { principal.system_role == principal.party.kind };"#,
                &[],
            ),
            (
                r#"forbid(principal, action, resource) when { principal.party == Custody::Party::"p" };"#,
                &[],
            ),
        ];
        for (text, want) in table {
            check(text, want);
        }
    }
    /// The ids of the policies of `text` that `choose` keeps for a user of
    /// `status` in a context with `n`.
    fn kept(text: &str, status: &str, n: i64) -> Vec<String> {
        let set = PolicySet::from_str(text).unwrap();
        let entities = Entities::from_json_value(
            serde_json::json!([{
                "uid": {"type": "User", "id": "u"},
                "attrs": {"status": status, "tags": ["t", "u"], "party": {"__entity": {"type": "Party", "id": "gone"}}},
                "parents": []
            }]),
            None,
        )
        .unwrap();
        let user = cedar_policy::EntityUid::from_str(r#"User::"u""#).unwrap();
        let action = cedar_policy::EntityUid::from_str(r#"Action::"a""#).unwrap();
        let context = cedar_policy::Context::from_pairs([(
            "n".to_owned(),
            RestrictedExpression::new_long(n),
        )])
        .unwrap();
        let request = Request::new(user.clone(), action, user, context, None).unwrap();
        let guarded = Guarded::new(set, &mut Forms::new()).unwrap();
        let chosen = guarded.choose(&request, &entities, true);
        let mut ids: Vec<String> = chosen
            .set()
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn choose_leaves_out_the_policies_the_facts_refute_and_no_other() {
        let text = r#"
            forbid(principal, action, resource) when { principal.status == "x" };
            permit(principal, action, resource) when { principal.status == "active" && context.n == 1 };
            forbid(principal, action, resource) when { context.n < 0 && principal.status == "x" };
            forbid(principal, action, resource) when { principal.party.kind == "x" };
            forbid(principal, action, resource) unless { principal.status == "active" || context.n > 0 };
            forbid(principal, action, resource) when { principal.tags.contains("t") && context.n <= 1 };
            forbid(principal, action, resource) when { principal.status.contains("t") };
            forbid(principal, action, resource) when { 2 < context.n && principal.tags.contains("u") };
        "#;
        // policy3 reads a missing entity and policy6 asks a string's
        // `contains` (an error): Cedar decides them.
        let table: &[(&str, i64, &[&str])] = &[
            ("active", 1, &["policy1", "policy3", "policy5", "policy6"]),
            ("active", 2, &["policy3", "policy6"]),
            ("x", 1, &["policy0", "policy3", "policy5", "policy6"]),
            ("y", 5, &["policy3", "policy6", "policy7"]),
            ("y", -1, &["policy3", "policy4", "policy5", "policy6"]),
        ];
        for (status, n, want) in table {
            assert_eq!(kept(text, status, *n), *want, "{status} {n}");
        }
    }
}
