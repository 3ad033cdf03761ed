//! The facts every authorization decision is made from: the caller's role in a
//! room from its grants, the agreements of the caller's party in force and
//! lapsed for what a room requires, what they allow (field of use,
//! territories, actions), the room's access window and the request's network
//! zone. Read from the live state at the moment of the request, so an end
//! (of a grant, an agreement, a window) is refused from that moment on.

use model::diligence::{MatrixControl, MatrixVerdict, RiskMatrix, tier_in_term};
use model::*;

use crate::AppError;
use crate::authz::{Context, Principal, Requirement, Resource};

/// Most requirements a room may declare.
pub const MAX_REQUIREMENTS: usize = 20;

/// A template name: 1 to 64 of `a-z`, `0-9`, `-`, starting with a letter or digit.
pub fn is_template_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What a simulation asks about.
#[derive(Clone, Debug)]
pub enum SimTarget {
    System,
    Room(RoomId),
    Agreement(AgreementId),
}

/// The caller's role in `room` from unexpired grants, and whether an expired one exists.
pub fn effective_role(grants: &[Grant], room: RoomId, now: i64) -> (Option<RoomRole>, bool) {
    let in_room = grants.iter().filter(|g| g.room_id == room);
    let (live, expired): (Vec<&Grant>, Vec<&Grant>) =
        in_room.partition(|g| g.expires_ms.is_none_or(|e| e > now));
    (live.iter().map(|g| g.role).max(), !expired.is_empty())
}

/// Checks a room's requirement list: kinds or template names, no repeats.
pub fn requirements_valid(required: Vec<String>) -> Result<Vec<String>, AppError> {
    if required.len() > MAX_REQUIREMENTS {
        return Err(AppError::invalid(
            ErrorCode::TooManyRequirements,
            format!("a room may require at most {MAX_REQUIREMENTS} agreements"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(required.len());
    for key in required {
        if AgreementKind::parse(&key).is_err() && !is_template_name(&key) {
            return Err(AppError::invalid(
                ErrorCode::InvalidRequirement,
                format!(
                    "`{}` is neither an agreement kind (`nda`, `ip_assignment`, `licence`) nor a template name",
                    key.chars().take(64).collect::<String>()
                ),
            ));
        }
        if out.contains(&key) {
            return Err(AppError::invalid(
                ErrorCode::DuplicateRequirement,
                format!("`{key}` is required twice"),
            ));
        }
        out.push(key);
    }
    Ok(out)
}

/// What a party's agreements in force allow, for one room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LicenceFacts {
    /// Field-of-use tags of every agreement in force.
    pub fields_of_use: Vec<String>,
    /// Whether an agreement in force that meets a requirement of the room
    /// names territories.
    pub territory_limited: bool,
    /// The countries every such agreement allows.
    pub territories: Vec<String>,
    /// Whether an agreement in force that meets a requirement of the room
    /// names the actions it permits.
    pub actions_limited: bool,
    /// The actions every such agreement permits.
    pub permitted_actions: Vec<String>,
    /// Each requirement met by an agreement in force that limits territories
    /// or actions, with what it allows (for a denial's message).
    pub territory_limits: Vec<(String, Vec<String>)>,
    pub action_limits: Vec<(String, Vec<String>)>,
}

/// The licence facts of `agreements` (one party's) at `now_ms` for a room
/// requiring `required`.
pub fn licence_facts(required: &[String], agreements: &[Agreement], now_ms: i64) -> LicenceFacts {
    let mut facts = LicenceFacts::default();
    let mut territories: Option<Vec<String>> = None;
    let mut actions: Option<Vec<String>> = None;
    for a in agreements.iter().filter(|a| a.in_force(now_ms)) {
        facts
            .fields_of_use
            .extend(a.terms.field_of_use.iter().cloned());
        let Some(key) = required.iter().find(|r| a.satisfies(r)) else {
            continue;
        };
        if !a.terms.territories.is_empty() {
            facts
                .territory_limits
                .push((key.clone(), a.terms.territories.clone()));
        }
        if !a.terms.permitted_actions.is_empty() {
            facts
                .action_limits
                .push((key.clone(), a.terms.permitted_actions.clone()));
        }
        intersect(&mut territories, &a.terms.territories);
        intersect(&mut actions, &a.terms.permitted_actions);
    }
    facts.actions_limited = actions.is_some();
    facts.permitted_actions = actions.unwrap_or_default();
    facts.fields_of_use.sort();
    facts.fields_of_use.dedup();
    facts.territory_limited = territories.is_some();
    facts.territories = territories.unwrap_or_default();
    facts
}

/// Narrows `acc` to the items of `limit`, when `limit` names any (an empty
/// list limits nothing).
fn intersect(acc: &mut Option<Vec<String>>, limit: &[String]) {
    if limit.is_empty() {
        return;
    }
    *acc = Some(match acc.take() {
        None => limit.to_vec(),
        Some(have) => have.into_iter().filter(|x| limit.contains(x)).collect(),
    });
}

/// Puts the room-specific facts of `room` into `ctx`: the licence facts and
/// whether now is outside the room's access window.
pub fn room_conditions(
    ctx: &mut Context,
    room: &Room,
    required: &[String],
    agreements: &[Agreement],
) {
    let licence = licence_facts(required, agreements, ctx.now_ms);
    ctx.fields_of_use = licence.fields_of_use;
    ctx.territory_limited = licence.territory_limited;
    ctx.territories = licence.territories;
    ctx.actions_limited = licence.actions_limited;
    ctx.permitted_actions = licence.permitted_actions;
    ctx.territory_limits = licence.territory_limits;
    ctx.action_limits = licence.action_limits;
    ctx.outside_access_window = room
        .access_window
        .as_ref()
        .is_some_and(|w| !w.contains(ctx.now_ms));
}

/// What the policy needs about a room's required agreements for one party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgreementFacts {
    pub requirements: Vec<Requirement>,
    pub in_force: Vec<String>,
    pub lapsed: Vec<String>,
}

/// For each requirement (a kind or a template name): whether one of the party's
/// agreements meeting it is in force at `now_ms`, else whether one was signed
/// and has ended or been terminated; and the title a denial names — the newest
/// such agreement the party was offered, else the requirement itself.
pub fn agreement_facts(
    required: &[String],
    agreements: &[Agreement],
    now_ms: i64,
) -> AgreementFacts {
    let mut facts = AgreementFacts::default();
    for key in required {
        let offered = agreements
            .iter()
            .filter(|a| a.satisfies(key) && a.status != AgreementStatus::Draft);
        let title = offered
            .clone()
            .max_by_key(|a| (a.created_ms, a.id))
            .map_or_else(|| key.clone(), |a| a.title.clone());
        if offered.clone().any(|a| a.in_force(now_ms)) {
            facts.in_force.push(key.clone());
        } else if offered.clone().any(|a| {
            a.signature.is_some()
                && matches!(
                    a.status_at(now_ms),
                    AgreementStatus::Expired | AgreementStatus::Terminated
                )
        }) {
            facts.lapsed.push(key.clone());
        }
        facts.requirements.push(Requirement {
            key: key.clone(),
            title,
        });
    }
    facts
}

/// The resource and the context of a request by `who` on `target`, from the
/// live state at `ctx.now_ms`: the caller's role in a room from its grants,
/// and the agreements in force. `Err((what, id))` when the target does not exist.
pub async fn request_facts(
    tx: &mut store::Tx,
    who: &Principal,
    target: &SimTarget,
    matrix: &RiskMatrix,
    ctx: Context,
) -> Result<Result<(Resource, Context), (&'static str, String)>, AppError> {
    let res = match *target {
        SimTarget::System => Resource::System,
        SimTarget::Agreement(id) => {
            let Some(a) = tx.get_agreement(id).await? else {
                return Ok(Err(("agreement", id.to_string())));
            };
            Resource::Agreement {
                id,
                party_id: a.party_id,
                kind: a.kind.as_str().to_owned(),
                status: a.status.as_str().to_owned(),
            }
        }
        SimTarget::Room(id) => {
            let Some(room) = tx.get_room(id).await? else {
                return Ok(Err(("room", id.to_string())));
            };
            let evidence = tx.evidence_room(who.party_id).await?;
            let rows = RoomRows {
                room: &room,
                required: &tx.room_requirements(id).await?,
                grants: &tx.grants_for(who.user_id, who.party_id).await?,
                agreements: &tx.list_agreements(Some(who.party_id)).await?,
                caller: who,
                matrix,
                evidence_room: evidence == Some(id),
                required_certifications: &tx
                    .required_qualifications(id, room.classification, CERTIFICATION)
                    .await?,
                certifications: &tx.list_certifications(who.party_id).await?,
                required_courses: &required_courses(tx, &room).await?,
                completions: &tx.user_completions(who.user_id).await?,
            };
            return Ok(Ok(room_facts(&rows, ctx)));
        }
    };
    Ok(Ok((res, ctx)))
}

/// The kind of qualification a certification standard is (rooms and
/// classifications require qualifications of external parties).
pub const CERTIFICATION: &str = "certification";

/// The kind of qualification a training course is (its key: the course's id).
pub const COURSE: &str = "course";

/// A course a room requires: the key (the course's id), its title, since
/// which version completions count, and whether the room's classification
/// requires it (else the room itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredCourse {
    pub key: String,
    pub title: String,
    pub retake_from: i64,
    pub by_classification: bool,
}

/// The courses `room` requires, itself or by its classification. A key that
/// names no course is still required (and can never be met).
pub async fn required_courses(
    tx: &mut store::Tx,
    room: &Room,
) -> Result<Vec<RequiredCourse>, AppError> {
    let own = tx.room_qualifications(room.id, COURSE).await?;
    let by_class = tx
        .classification_qualifications(room.classification, COURSE)
        .await?;
    let mut keys: Vec<(String, bool)> = by_class.into_iter().map(|k| (k, true)).collect();
    for k in own {
        if !keys.iter().any(|(have, _)| *have == k) {
            keys.push((k, false));
        }
    }
    let mut out = Vec::with_capacity(keys.len());
    for (key, by_classification) in keys {
        let course = match key.parse::<CourseId>() {
            Ok(id) => tx.get_course(id).await?,
            Err(_) => None,
        };
        out.push(RequiredCourse {
            title: course
                .as_ref()
                .map_or_else(|| key.clone(), |c| c.title.clone()),
            retake_from: course.as_ref().map_or(i64::MAX, |c| c.retake_from),
            key,
            by_classification,
        });
    }
    Ok(out)
}

/// What the policy needs about a user's completions of required courses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CourseFacts {
    /// Required courses with a counting completion in term.
    pub in_term: Vec<String>,
    /// Required courses whose counting completions have all ended.
    pub lapsed: Vec<String>,
    /// Each lapsed course and the day its latest completion ended.
    pub lapses: Vec<(String, String)>,
}

/// The course facts of `completions` (one user's) at `now_ms` for the
/// courses `required`: a completion counts when it is of a version from the
/// course's `retake_from` on.
pub fn course_facts(
    required: &[RequiredCourse],
    completions: &[CourseCompletion],
    now_ms: i64,
) -> CourseFacts {
    let mut facts = CourseFacts::default();
    for r in required {
        let counting = completions
            .iter()
            .filter(|c| c.course_id.to_string() == r.key && c.version >= r.retake_from);
        if counting
            .clone()
            .any(|c| c.completed_ms <= now_ms && now_ms < c.valid_until_ms)
        {
            facts.in_term.push(r.key.clone());
        } else if let Some(latest) = counting
            .filter(|c| c.valid_until_ms <= now_ms)
            .max_by_key(|c| c.valid_until_ms)
        {
            facts
                .lapses
                .push((r.key.clone(), utc_date(latest.valid_until_ms)));
            facts.lapsed.push(r.key.clone());
        }
    }
    facts
}

/// The stored rows a request on a room is decided from: the room, what it
/// requires, the caller's grants, the agreements and certifications of the
/// caller's party; the caller (its party's kind and tier) and the risk matrix
/// in force; and whether the room is the evidence room of the caller's party.
pub struct RoomRows<'a> {
    pub room: &'a Room,
    pub required: &'a [String],
    pub grants: &'a [Grant],
    pub agreements: &'a [Agreement],
    pub caller: &'a Principal,
    pub matrix: &'a RiskMatrix,
    pub evidence_room: bool,
    /// The standards the room requires (its own and its classification's).
    pub required_certifications: &'a [String],
    pub certifications: &'a [Certification],
    /// The courses the room requires (its own and its classification's).
    pub required_courses: &'a [RequiredCourse],
    /// The caller's course completions.
    pub completions: &'a [CourseCompletion],
}

/// What the matrix says of a room of `classification` for `caller` at
/// `now_ms`: nothing for the owner party; else the verdict and controls of
/// its tier in term (`unassessed` when none or lapsed).
pub fn matrix_facts(
    matrix: &RiskMatrix,
    caller: &Principal,
    classification: Classification,
    now_ms: i64,
) -> (Option<MatrixVerdict>, Vec<MatrixControl>) {
    if caller.party_kind == PartyKind::Owner {
        return (None, vec![]);
    }
    let tier = tier_in_term(caller.tier, caller.tier_until_ms, now_ms);
    let (verdict, controls) = matrix.verdict(classification, tier);
    (Some(verdict), controls.to_vec())
}

/// What the policy needs about a party's certifications at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificationFacts {
    /// Standards with a verified certificate in term (and `any` when there is one).
    pub in_term: Vec<String>,
    /// Standards whose verified certificates have all ended, none in term
    /// (and `any` when every verified one has ended).
    pub lapsed: Vec<String>,
    /// Each lapsed key, the name of the standard of its newest ended
    /// certificate and the day that one ended.
    pub lapses: Vec<(String, String, String)>,
}

/// The certification facts of `certs` (one party's) at `now_ms`; unverified
/// certificates count for nothing.
pub fn certification_facts(certs: &[Certification], now_ms: i64) -> CertificationFacts {
    let mut keys: Vec<String> = certs.iter().map(|c| c.standard.clone()).collect();
    keys.sort();
    keys.dedup();
    keys.push(ANY_STANDARD.to_owned());
    let mut facts = CertificationFacts::default();
    for key in keys {
        let meeting = certs.iter().filter(|c| c.meets(&key));
        if meeting.clone().any(|c| c.in_term(now_ms)) {
            facts.in_term.push(key);
        } else if let Some(newest) = meeting
            .filter(|c| c.lapsed(now_ms))
            .max_by_key(|c| (c.valid_until_ms, c.id))
        {
            let ended = utc_date(newest.valid_until_ms.saturating_sub(1));
            facts.lapses.push((key.clone(), newest.title(), ended));
            facts.lapsed.push(key);
        }
    }
    facts
}

/// The room resource and the context of a request at `ctx.now_ms`: the
/// caller's role from unexpired grants, the agreements in force and lapsed,
/// what they allow (field of use, territories), and the room's access window.
/// `ctx` already carries the request's zone.
pub fn room_facts(rows: &RoomRows<'_>, mut ctx: Context) -> (Resource, Context) {
    let id = rows.room.id;
    let (role, expired_grant) = effective_role(rows.grants, id, ctx.now_ms);
    let facts = agreement_facts(rows.required, rows.agreements, ctx.now_ms);
    ctx.agreements_in_force = facts.in_force;
    ctx.agreements_lapsed = facts.lapsed;
    room_conditions(&mut ctx, rows.room, rows.required, rows.agreements);
    let (verdict, controls) = matrix_facts(
        rows.matrix,
        rows.caller,
        rows.room.classification,
        ctx.now_ms,
    );
    ctx.matrix = verdict;
    ctx.matrix_controls = controls;
    ctx.evidence_room = rows.evidence_room;
    let certs = certification_facts(rows.certifications, ctx.now_ms);
    ctx.certifications = certs.in_term;
    ctx.certifications_lapsed = certs.lapsed;
    ctx.certification_lapses = certs.lapses;
    let required_certifications = rows
        .required_certifications
        .iter()
        .map(|key| Requirement {
            key: key.clone(),
            title: standard_title(key),
        })
        .collect();
    let courses = course_facts(rows.required_courses, rows.completions, ctx.now_ms);
    ctx.courses = courses.in_term;
    ctx.courses_lapsed = courses.lapsed;
    ctx.course_lapses = courses.lapses;
    let classified = format!(
        "rooms classified `{}` require",
        rows.room.classification.as_str()
    );
    ctx.course_sources = rows
        .required_courses
        .iter()
        .map(|r| {
            let by = if r.by_classification {
                classified.clone()
            } else {
                "this room requires".to_owned()
            };
            (r.key.clone(), by)
        })
        .collect();
    let required_courses = rows
        .required_courses
        .iter()
        .map(|r| Requirement {
            key: r.key.clone(),
            title: r.title.clone(),
        })
        .collect();
    let res = Resource::Room {
        id,
        classification: rows.room.classification,
        role,
        expired_grant,
        required_agreements: facts.requirements,
        required_certifications,
        required_courses,
        tags: rows.room.tags.clone(),
        window: rows.room.access_window.as_ref().map(AccessWindow::describe),
    };
    (res, ctx)
}

/// The principal `user` is, as of the stored rows of its party, for a session
/// with (`mfa`) or without a second factor: what a decision about a request by
/// that user is made on (sign-in, simulations, what-if replays, lockout checks).
pub async fn principal_for(
    tx: &mut store::Tx,
    user: &User,
    mfa: bool,
) -> Result<Principal, AppError> {
    let party = tx
        .get_party(user.party_id)
        .await?
        .ok_or_else(|| AppError::internal("user without party"))?;
    Ok(Principal {
        user_id: user.id,
        email: user.email.clone(),
        party_id: party.id,
        party_kind: party.kind,
        party_status: party.status,
        system_role: user.system_role,
        disabled: user.disabled,
        mfa_required: user.mfa_required,
        mfa,
        training_until_ms: user.training_until_ms,
        certified_until_ms: tx.certified_until(party.id).await?,
        tier: party.tier,
        tier_until_ms: party.tier_until_ms,
    })
}

#[cfg(test)]
mod licence_tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn licence(
        template: &str,
        fields: &[&str],
        territories: &[&str],
        end: Option<i64>,
    ) -> Agreement {
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        Agreement {
            id: AgreementId::from_random([template.len() as u8; 16]),
            party_id: PartyId::from_random([1; 16]),
            kind: AgreementKind::Licence,
            template: template.into(),
            title: template.into(),
            text: "text".into(),
            text_sha256: String::new(),
            terms: AgreementTerms {
                field_of_use: s(fields),
                territories: s(territories),
                permitted_actions: vec![],
            },
            status: AgreementStatus::Active,
            effective_ms: 0,
            end_ms: end,
            created_by: UserId::from_random([2; 16]),
            created_ms: 0,
            signature: None,
            terminated_ms: None,
        }
    }

    #[test]
    fn permitted_actions_intersect_over_required_licences() {
        let with = |template: &str, actions: &[&str]| {
            let mut a = licence(template, &[], &[], None);
            a.terms.permitted_actions = actions.iter().map(|x| (*x).to_owned()).collect();
            a
        };
        let a = with("lic-a", &["file.list", "file.view"]);
        let b = with("lic-bb", &["file.view", "file.download"]);
        let open = with("lic-ccc", &[]);
        let req = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        type Case<'a> = (&'a str, Vec<String>, Vec<Agreement>, Option<&'a [&'a str]>);
        let cases: [Case; 4] = [
            (
                "one licence",
                req(&["lic-a"]),
                vec![a.clone()],
                Some(&["file.list", "file.view"]),
            ),
            (
                "both required",
                req(&["lic-a", "lic-bb"]),
                vec![a.clone(), b.clone()],
                Some(&["file.view"]),
            ),
            ("not required", req(&["nda"]), vec![a.clone()], None),
            ("no limit named", req(&["lic-ccc"]), vec![open], None),
        ];
        for (case, required, agreements, want) in cases {
            let got = licence_facts(&required, &agreements, 0);
            let got = got.actions_limited.then_some(got.permitted_actions);
            let want = want.map(|w| w.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn licence_facts_union_fields_and_intersect_territories() {
        let now = 10 * DAY;
        let a = licence("lic-a", &["automotive"], &["DE", "FR"], None);
        let b = licence("lic-bb", &["rail"], &["FR", "IT"], None);
        let ended = licence("lic-ccc", &["defence"], &["US"], Some(5 * DAY));
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        // (case, required, agreements, fields, limited, territories)
        type Case<'a> = (
            &'a str,
            Vec<String>,
            Vec<Agreement>,
            Vec<String>,
            bool,
            Vec<String>,
        );
        let cases: Vec<Case> = vec![
            ("none", s(&["lic-a"]), vec![], vec![], false, vec![]),
            (
                "one",
                s(&["lic-a"]),
                vec![a.clone()],
                s(&["automotive"]),
                true,
                s(&["DE", "FR"]),
            ),
            (
                "not required: no territory limit",
                s(&["nda"]),
                vec![a.clone()],
                s(&["automotive"]),
                false,
                vec![],
            ),
            (
                "two required",
                s(&["lic-a", "lic-bb"]),
                vec![a.clone(), b.clone()],
                s(&["automotive", "rail"]),
                true,
                s(&["FR"]),
            ),
            (
                "ended agreements count for nothing",
                s(&["lic-ccc"]),
                vec![ended],
                vec![],
                false,
                vec![],
            ),
        ];
        for (case, required, agreements, fields, limited, territories) in cases {
            let got = licence_facts(&required, &agreements, now);
            assert_eq!(
                (got.fields_of_use, got.territory_limited, got.territories),
                (fields, limited, territories),
                "{case}"
            );
        }
    }
}

#[cfg(test)]
mod agreement_tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    /// Requirement keys in force, lapsed, and the titles a denial would name.
    type Want<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str]);

    fn agreement(
        key: (AgreementKind, &str),
        status: AgreementStatus,
        signed: bool,
        term: (i64, Option<i64>),
        created_ms: i64,
    ) -> Agreement {
        Agreement {
            id: AgreementId::from_random([created_ms as u8; 16]),
            party_id: PartyId::from_random([1; 16]),
            kind: key.0,
            template: key.1.to_owned(),
            title: format!("{} from day {}", key.1, created_ms / DAY),
            text: "text".into(),
            text_sha256: String::new(),
            terms: AgreementTerms::default(),
            status,
            effective_ms: term.0,
            end_ms: term.1,
            created_by: UserId::from_random([2; 16]),
            created_ms,
            signature: signed.then(|| Signature {
                user_id: UserId::from_random([3; 16]),
                text_sha256: String::new(),
                signed_ms: created_ms,
                source_addr: None,
            }),
            terminated_ms: None,
        }
    }

    /// `(in force, lapsed, titles)` for `required` at day 10.
    fn check(required: &[&str], agreements: &[Agreement], want: Want) {
        let required: Vec<String> = required.iter().map(|s| (*s).to_owned()).collect();
        let got = agreement_facts(&required, agreements, 10 * DAY);
        let titles: Vec<&str> = got.requirements.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(
            (
                got.in_force.as_slice(),
                got.lapsed.as_slice(),
                titles.as_slice()
            ),
            (
                want.0
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
                    .as_slice(),
                want.1
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
                    .as_slice(),
                want.2
            ),
            "{required:?}"
        );
    }

    #[test]
    fn a_requirement_is_met_by_a_signed_agreement_in_term_only() {
        use AgreementStatus::*;
        let nda = (AgreementKind::Nda, "mutual-nda-2026");
        let lic = (AgreementKind::Licence, "eu-licence");
        let open = (0, None);
        let table: Vec<(&[&str], Vec<Agreement>, Want)> = vec![
            // nothing offered: missing, named by the requirement itself
            (&["nda"], vec![], (&[], &[], &["nda"])),
            // offered, not signed yet: missing, named by the agreement's title
            (
                &["nda"],
                vec![agreement(nda, AwaitingSignature, false, open, DAY)],
                (&[], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // a draft is not offered
            (
                &["nda"],
                vec![agreement(nda, Draft, false, open, DAY)],
                (&[], &[], &["nda"]),
            ),
            // signed, by kind or by template name
            (
                &["nda", "mutual-nda-2026"],
                vec![agreement(nda, Active, true, open, DAY)],
                (
                    &["nda", "mutual-nda-2026"],
                    &[],
                    &["mutual-nda-2026 from day 1"; 2],
                ),
            ),
            // signed but not yet effective
            (
                &["nda"],
                vec![agreement(nda, Active, true, (11 * DAY, None), DAY)],
                (&[], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // the end date is exclusive: ending at day 10 is lapsed at day 10
            (
                &["nda"],
                vec![agreement(nda, Active, true, (0, Some(10 * DAY)), DAY)],
                (&[], &["nda"], &["mutual-nda-2026 from day 1"]),
            ),
            (
                &["nda"],
                vec![agreement(nda, Active, true, (0, Some(10 * DAY + 1)), DAY)],
                (&["nda"], &[], &["mutual-nda-2026 from day 1"]),
            ),
            // terminated: lapsed; a newer one in force wins
            (
                &["nda"],
                vec![agreement(nda, Terminated, true, open, DAY)],
                (&[], &["nda"], &["mutual-nda-2026 from day 1"]),
            ),
            (
                &["nda"],
                vec![
                    agreement(nda, Terminated, true, open, DAY),
                    agreement(nda, Active, true, open, 2 * DAY),
                ],
                (&["nda"], &[], &["mutual-nda-2026 from day 2"]),
            ),
            // the wrong kind meets nothing
            (
                &["nda", "licence"],
                vec![agreement(lic, Active, true, open, DAY)],
                (&["licence"], &[], &["nda", "eu-licence from day 1"]),
            ),
        ];
        for (required, agreements, want) in table {
            check(required, &agreements, want);
        }
    }

    #[test]
    fn room_requirements_are_kinds_or_template_names() {
        let check = |input: &[&str], want: Result<(), &str>| {
            let got = requirements_valid(input.iter().map(|s| (*s).to_owned()).collect())
                .map(|_| ())
                .map_err(|e| e.code().as_str());
            assert_eq!(got, want, "{input:?}");
        };
        check(&[], Ok(()));
        check(&["nda", "ip_assignment", "mutual-nda-2026"], Ok(()));
        check(&["NDA"], Err("invalid_requirement"));
        check(&["-x"], Err("invalid_requirement"));
        check(&["nda", "nda"], Err("duplicate_requirement"));
        check(&["a"; 21], Err("too_many_requirements"));
    }
}

#[cfg(test)]
mod role_tests {
    use super::*;
    use crate::secrets::random;

    fn grant(room: RoomId, role: RoomRole, expires_ms: Option<i64>) -> Grant {
        Grant {
            id: GrantId::from_random(random().unwrap()),
            room_id: room,
            subject_kind: SubjectKind::User,
            subject_id: uuid::Uuid::nil(),
            role,
            expires_ms,
            granted_by: UserId(uuid::Uuid::nil()),
            reason: "test".into(),
            created_ms: 0,
        }
    }

    #[test]
    fn effective_role_takes_the_highest_live_grant() {
        let (a, b) = (RoomId::from_random([1; 16]), RoomId::from_random([2; 16]));
        let grants = vec![
            grant(a, RoomRole::Viewer, None),
            grant(a, RoomRole::Manager, Some(100)),
            grant(a, RoomRole::Downloader, Some(1_000)),
            grant(b, RoomRole::Manager, None),
        ];
        assert_eq!(
            effective_role(&grants, a, 500),
            (Some(RoomRole::Downloader), true)
        );
        assert_eq!(
            effective_role(&grants, a, 50),
            (Some(RoomRole::Manager), false)
        );
        assert_eq!(
            effective_role(&grants, a, 5_000),
            (Some(RoomRole::Viewer), true)
        );
        assert_eq!(effective_role(&[], a, 0), (None, false));
    }
}
