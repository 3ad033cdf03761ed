//! Decisions of the default policies, table-driven through one `check` helper.

use model::*;

use super::*;

fn principal(kind: PartyKind, role: SystemRole) -> Principal {
    Principal {
        user_id: UserId::from_random([1; 16]),
        email: "a@example.com".into(),
        party_id: PartyId::from_random([kind as u8 + 2; 16]),
        party_kind: kind,
        party_status: PartyStatus::Active,
        system_role: role,
        disabled: false,
        mfa_required: kind == PartyKind::External,
        mfa: true,
        // Trained and certified: the conditions of confidential rooms are met
        // unless a test says otherwise.
        training_until_ms: Some(i64::MAX),
        certified_until_ms: Some(i64::MAX),
        tier: Some(model::diligence::RiskTier::Low),
        tier_until_ms: Some(i64::MAX),
    }
}

fn room(role: Option<RoomRole>, required: &[&str]) -> Resource {
    Resource::Room {
        id: RoomId::from_random([3; 16]),
        classification: Classification::Confidential,
        role,
        expired_grant: false,
        required_agreements: required
            .iter()
            .map(|k| Requirement {
                key: (*k).to_owned(),
                title: format!("{k} title"),
            })
            .collect(),
        required_certifications: vec![],
        required_courses: vec![],
        tags: vec![],
        window: None,
    }
}

fn ctx(in_force: &[&str], lapsed: &[&str]) -> Context {
    Context {
        now_ms: 1_000,
        source_addr: Some("192.0.2.1".into()),
        agreements_in_force: in_force.iter().map(|s| (*s).to_owned()).collect(),
        agreements_lapsed: lapsed.iter().map(|s| (*s).to_owned()).collect(),
        ..Context::default()
    }
}

fn defaults() -> Policies {
    Policies::defaults().unwrap()
}

/// Outcome in short: "allow", "hide:<reason>", or the deny reason.
fn check(pol: &Policies, p: &Principal, action: &str, res: &Resource, c: &Context, want: &str) {
    let got = match pol.decide(p, action, res, c) {
        Decision::Allow => "allow".to_owned(),
        Decision::Hide { reason } => format!("hide:{reason}"),
        Decision::Deny { reason, .. } => reason.to_owned(),
    };
    assert_eq!(
        got, want,
        "{:?} {:?} {action} on {res:?}",
        p.party_kind, p.system_role
    );
}

#[test]
fn room_roles_are_ordered() {
    let pol = defaults();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let table = [
        (None, "room.view", "hide:no_grant"),
        (None, "file.download", "hide:no_grant"),
        (Some(RoomRole::Viewer), "room.view", "allow"),
        (Some(RoomRole::Viewer), "file.list", "allow"),
        (
            Some(RoomRole::Viewer),
            "file.download",
            "room_role_insufficient",
        ),
        (Some(RoomRole::Downloader), "file.download", "allow"),
        (
            Some(RoomRole::Downloader),
            "file.upload",
            "room_role_insufficient",
        ),
        (Some(RoomRole::Contributor), "file.upload", "allow"),
        (
            Some(RoomRole::Contributor),
            "grant.create",
            "room_role_insufficient",
        ),
        (Some(RoomRole::Manager), "grant.create", "allow"),
        (Some(RoomRole::Manager), "file.delete", "allow"),
        (Some(RoomRole::Manager), "file.view", "allow"),
        (Some(RoomRole::Manager), "party.create", "role_forbids"),
    ];
    for (role, action, want) in table {
        check(&pol, &ext, action, &room(role, &[]), &ctx(&[], &[]), want);
    }
}

#[test]
fn system_roles() {
    use SystemRole::*;
    let pol = defaults();
    let table = [
        (PartyKind::Owner, Admin, "user.create", "allow"),
        (
            PartyKind::Owner,
            SecurityOfficer,
            "user.create",
            "role_forbids",
        ),
        (PartyKind::Owner, Auditor, "event.read", "allow"),
        (PartyKind::Owner, Member, "event.read", "role_forbids"),
        (PartyKind::Owner, Member, "room.create", "allow"),
        (PartyKind::Owner, Admin, "event.redact", "allow"),
        (
            PartyKind::Owner,
            SecurityOfficer,
            "event.redact",
            "role_forbids",
        ),
        (PartyKind::Owner, Admin, "policy.simulate", "allow"),
        (PartyKind::Owner, Auditor, "policy.simulate", "role_forbids"),
        (PartyKind::External, Admin, "user.create", "role_forbids"),
        (PartyKind::External, Member, "room.create", "role_forbids"),
        (PartyKind::External, Member, "room.list", "allow"),
        (PartyKind::External, Member, "agreement.list", "allow"),
        (
            PartyKind::External,
            Member,
            "no.such_action",
            "role_forbids",
        ),
    ];
    for (kind, role, action, want) in table {
        let p = principal(kind, role);
        check(&pol, &p, action, &Resource::System, &ctx(&[], &[]), want);
    }
}

#[test]
fn admin_manages_rooms_but_reads_content_only_through_a_grant() {
    let pol = defaults();
    let c = ctx(&[], &[]);
    let admin = principal(PartyKind::Owner, SystemRole::Admin);
    let auditor = principal(PartyKind::Owner, SystemRole::Auditor);
    let table = [
        (&admin, None, "grant.create", "allow"),
        (&admin, None, "file.download", "room_role_missing"),
        (&admin, Some(RoomRole::Downloader), "file.download", "allow"),
        (&auditor, None, "file.list", "allow"),
        (&auditor, None, "grant.create", "room_role_missing"),
    ];
    for (p, role, action, want) in table {
        check(&pol, p, action, &room(role, &[]), &c, want);
    }
}

#[test]
fn account_state_denies_everything_but_totp_enrolment() {
    let pol = defaults();
    let c = ctx(&[], &[]);
    let base = principal(PartyKind::External, SystemRole::Member);
    let no_mfa = Principal {
        mfa: false,
        ..base.clone()
    };
    let suspended = Principal {
        party_status: PartyStatus::Suspended,
        ..base.clone()
    };
    let disabled = Principal {
        disabled: true,
        party_status: PartyStatus::Suspended,
        ..base.clone()
    };
    let manager = room(Some(RoomRole::Manager), &[]);
    let table = [
        (
            &no_mfa,
            "room.list",
            &Resource::System,
            "mfa_enrollment_required",
        ),
        (&no_mfa, "auth.totp_enroll", &Resource::System, "allow"),
        (&no_mfa, "file.list", &manager, "mfa_enrollment_required"),
        (&suspended, "file.download", &manager, "party_inactive"),
        // Several forbid policies apply: the lowest @priority is reported.
        (&disabled, "room.list", &Resource::System, "user_disabled"),
    ];
    for (p, action, res, want) in table {
        check(&pol, p, action, res, &c, want);
    }
}

#[test]
fn expired_grant_hides_the_room_with_its_own_reason() {
    let pol = defaults();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let res = Resource::Room {
        id: RoomId::from_random([3; 16]),
        classification: Classification::Internal,
        role: None,
        expired_grant: true,
        required_agreements: vec![],
        required_certifications: vec![],
        required_courses: vec![],
        tags: vec![],
        window: None,
    };
    assert_eq!(
        pol.decide(&ext, "room.view", &res, &ctx(&[], &[])),
        Decision::Hide {
            reason: "grant_expired"
        }
    );
}

#[test]
fn agreements_gate_room_content_for_external_parties() {
    let pol = defaults();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let staff = principal(PartyKind::Owner, SystemRole::Member);
    let dl = Some(RoomRole::Downloader);
    /// (who, required, in force, lapsed, action, outcome)
    type Row<'a> = (
        &'a Principal,
        &'a [&'a str],
        &'a [&'a str],
        &'a [&'a str],
        &'a str,
        &'a str,
    );
    let table: &[Row] = &[
        // (who, required, in force, lapsed, action, outcome)
        (&ext, &[], &[], &[], "file.download", "allow"),
        (
            &ext,
            &["nda"],
            &[],
            &[],
            "file.download",
            "agreement_missing",
        ),
        (&ext, &["nda"], &["nda"], &[], "file.download", "allow"),
        (
            &ext,
            &["nda", "licence"],
            &["nda"],
            &[],
            "file.list",
            "agreement_missing",
        ),
        (
            &ext,
            &["nda", "licence"],
            &["licence", "nda"],
            &[],
            "file.view",
            "allow",
        ),
        (
            &ext,
            &["nda"],
            &[],
            &["nda"],
            "file.download",
            "agreement_expired",
        ),
        (
            &ext,
            &["nda"],
            &["other"],
            &[],
            "file.upload",
            "agreement_missing",
        ),
        // Seeing the room itself is not gated: the caller learns what to sign.
        (&ext, &["nda"], &[], &[], "room.view", "allow"),
        // The owner's own staff sign nothing.
        (&staff, &["nda"], &[], &[], "file.download", "allow"),
    ];
    for (p, required, in_force, lapsed, action, want) in table {
        let res = room(dl, required);
        check(&pol, p, action, &res, &ctx(in_force, lapsed), want);
    }
}

/// One request's conditions for [`licence_place_training_and_window_conditions`].
#[derive(Clone)]
struct Cond {
    classification: Classification,
    tags: &'static [&'static str],
    fields_of_use: &'static [&'static str],
    territory_limited: bool,
    territories: &'static [&'static str],
    zone: Option<(&'static str, &'static str)>,
    trained: bool,
    certified: bool,
    outside_window: bool,
    actions: Option<&'static [&'static str]>,
}

const MET: Cond = Cond {
    classification: Classification::Internal,
    tags: &[],
    fields_of_use: &[],
    territory_limited: false,
    territories: &[],
    zone: None,
    trained: false,
    certified: false,
    outside_window: false,
    actions: None,
};

#[test]
fn licence_place_training_and_window_conditions() {
    let pol = defaults();
    let now = 1_000;
    let table: &[(&str, PartyKind, Cond, &str, &str)] = &[
        // (case, party, conditions, action, outcome; a denial's message piece after `|`)
        (
            "nothing asked",
            PartyKind::External,
            MET,
            "file.download",
            "allow",
        ),
        (
            "tags covered",
            PartyKind::External,
            Cond {
                tags: &["automotive"],
                fields_of_use: &["automotive", "rail"],
                ..MET
            },
            "file.download",
            "allow",
        ),
        (
            "tags not covered",
            PartyKind::External,
            Cond {
                tags: &["automotive", "defence"],
                fields_of_use: &["automotive"],
                ..MET
            },
            "file.list",
            "field_of_use_not_covered|field of use (automotive, defence)",
        ),
        (
            "owner staff need no licence",
            PartyKind::Owner,
            Cond {
                tags: &["defence"],
                ..MET
            },
            "file.download",
            "allow",
        ),
        (
            "seeing the room is not gated",
            PartyKind::External,
            Cond {
                tags: &["defence"],
                ..MET
            },
            "room.view",
            "allow",
        ),
        (
            "territory covers the zone",
            PartyKind::External,
            Cond {
                territory_limited: true,
                territories: &["DE", "FR"],
                zone: Some(("lab", "FR")),
                ..MET
            },
            "file.download",
            "allow",
        ),
        (
            "territory excludes the zone",
            PartyKind::External,
            Cond {
                territory_limited: true,
                territories: &["DE"],
                zone: Some(("lab", "FR")),
                ..MET
            },
            "file.download",
            "territory_not_covered|network zone `lab`, FR",
        ),
        (
            "limited territory, unknown address",
            PartyKind::External,
            Cond {
                territory_limited: true,
                territories: &["DE"],
                zone: None,
                ..MET
            },
            "file.view",
            "territory_not_covered|outside every known network zone",
        ),
        (
            "confidential, trained and certified",
            PartyKind::External,
            Cond {
                classification: Classification::Confidential,
                trained: true,
                certified: true,
                ..MET
            },
            "file.download",
            "allow",
        ),
        (
            "confidential, not trained",
            PartyKind::External,
            Cond {
                classification: Classification::Confidential,
                certified: true,
                ..MET
            },
            "file.download",
            "training_required|classified `confidential`",
        ),
        (
            "restricted, not certified",
            PartyKind::External,
            Cond {
                classification: Classification::Restricted,
                trained: true,
                ..MET
            },
            "file.upload",
            "certification_required|requires a valid security certification of your organization",
        ),
        (
            "internal needs neither",
            PartyKind::External,
            MET,
            "file.upload",
            "allow",
        ),
        (
            "owner staff need no training",
            PartyKind::Owner,
            Cond {
                classification: Classification::Restricted,
                ..MET
            },
            "file.download",
            "allow",
        ),
        (
            "outside the window",
            PartyKind::External,
            Cond {
                outside_window: true,
                ..MET
            },
            "file.download",
            "outside_access_window|only Mon 08:00-18:00 UTC+00:00",
        ),
        (
            "action outside the licence",
            PartyKind::External,
            Cond {
                actions: Some(&["file.list", "file.view"]),
                ..MET
            },
            "file.download",
            "action_not_licensed|`Licence 7` does not permit `file.download`",
        ),
        (
            "action inside the licence",
            PartyKind::External,
            Cond {
                actions: Some(&["file.list", "file.view"]),
                ..MET
            },
            "file.view",
            "allow",
        ),
        (
            "owner staff have no window",
            PartyKind::Owner,
            Cond {
                outside_window: true,
                ..MET
            },
            "file.download",
            "allow",
        ),
    ];
    for (case, kind, c, action, want) in table {
        let mut p = principal(*kind, SystemRole::Member);
        p.training_until_ms = c.trained.then_some(now + 1);
        p.certified_until_ms = c.certified.then_some(now + 1);
        // What the default classification settings require (migration 0011).
        let sensitive = matches!(
            c.classification,
            Classification::Confidential | Classification::Restricted
        );
        let res = Resource::Room {
            id: RoomId::from_random([3; 16]),
            classification: c.classification,
            role: Some(RoomRole::Contributor),
            expired_grant: false,
            required_agreements: vec![Requirement {
                key: "licence".into(),
                title: "Licence 7".into(),
            }],
            required_certifications: if sensitive {
                vec![Requirement {
                    key: "any".into(),
                    title: "any security certification".into(),
                }]
            } else {
                vec![]
            },
            required_courses: vec![],
            tags: c.tags.iter().map(|t| (*t).to_owned()).collect(),
            window: Some("Mon 08:00-18:00 UTC+00:00".into()),
        };
        let strings = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        let cx = Context {
            now_ms: now,
            agreements_in_force: strings(&["licence"]),
            zone: c.zone.map(|(z, _)| z.to_owned()),
            zone_country: c.zone.map(|(_, k)| k.to_owned()),
            territory_limited: c.territory_limited,
            territories: strings(c.territories),
            fields_of_use: strings(c.fields_of_use),
            outside_access_window: c.outside_window,
            actions_limited: c.actions.is_some(),
            permitted_actions: strings(c.actions.unwrap_or_default()),
            action_limits: c
                .actions
                .map(|a| vec![("licence".to_owned(), strings(a))])
                .unwrap_or_default(),
            territory_limits: if c.territory_limited {
                vec![("licence".to_owned(), strings(c.territories))]
            } else {
                vec![]
            },
            certifications: if c.certified {
                strings(&["any"])
            } else {
                vec![]
            },
            ..Context::default()
        };
        let got = match pol.decide(&p, action, &res, &cx) {
            Decision::Allow => "allow".to_owned(),
            Decision::Hide { reason } => format!("hide:{reason}"),
            Decision::Deny { reason, message } => format!("{reason}|{message}"),
        };
        let (reason, piece) = want.split_once('|').unwrap_or((want, ""));
        assert!(
            got == *want
                || (got.starts_with(&format!("{reason}|"))
                    && got.contains(piece)
                    && !piece.is_empty()),
            "{case}: got {got}, want {want}"
        );
    }
    // An expired training or certification counts as none.
    let mut p = principal(PartyKind::External, SystemRole::Member);
    p.training_until_ms = Some(now);
    let mut res = room(Some(RoomRole::Viewer), &[]);
    if let Resource::Room { classification, .. } = &mut res {
        *classification = Classification::Confidential;
    }
    check(
        &pol,
        &p,
        "file.list",
        &res,
        &Context {
            now_ms: now,
            ..Context::default()
        },
        "training_required",
    );
}

/// A room requiring standards: the denial names the missing standard, or the
/// expired certificate and its day; the owner's staff are not asked.
#[test]
fn certification_denials_name_the_standard_and_the_end() {
    let pol = defaults();
    let strings = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let mut res = room(Some(RoomRole::Downloader), &[]);
    if let Resource::Room {
        required_certifications,
        ..
    } = &mut res
    {
        *required_certifications = vec![
            Requirement {
                key: "iso_27001".into(),
                title: "ISO/IEC 27001".into(),
            },
            Requirement {
                key: "any".into(),
                title: "any security certification".into(),
            },
        ];
    }
    type Case<'a> = (&'a str, PartyKind, &'a [&'a str], &'a [&'a str], &'a str);
    let table: &[Case] = &[
        (
            "held",
            PartyKind::External,
            &["iso_27001", "any"],
            &[],
            "allow",
        ),
        (
            "another standard only",
            PartyKind::External,
            &["tisax", "any"],
            &[],
            "certification_required|requires a valid `ISO/IEC 27001` certificate",
        ),
        (
            "none at all",
            PartyKind::External,
            &[],
            &[],
            "certification_required|requires a valid `ISO/IEC 27001` certificate",
        ),
        (
            "expired",
            PartyKind::External,
            &["tisax", "any"],
            &["iso_27001"],
            "certification_expired|your organization's `ISO/IEC 27001` certificate expired on 2026-11-30",
        ),
        (
            "owner staff",
            PartyKind::Owner,
            &[],
            &["iso_27001"],
            "allow",
        ),
    ];
    for (case, kind, held, lapsed, want) in table {
        let p = principal(*kind, SystemRole::Member);
        let cx = Context {
            now_ms: 1_000,
            certifications: strings(held),
            certifications_lapsed: strings(lapsed),
            certification_lapses: lapsed
                .iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        "ISO/IEC 27001".to_owned(),
                        "2026-11-30".to_owned(),
                    )
                })
                .collect(),
            ..Context::default()
        };
        let got = match pol.decide(&p, "file.download", &res, &cx) {
            Decision::Allow => "allow".to_owned(),
            Decision::Hide { reason } => format!("hide:{reason}"),
            Decision::Deny { reason, message } => format!("{reason}|{message}"),
        };
        let (reason, piece) = want.split_once('|').unwrap_or((want, ""));
        assert!(
            got == *want || (got.starts_with(&format!("{reason}|")) && got.contains(piece)),
            "{case}: got {got}, want {want}"
        );
    }
}

/// A room requiring courses: the denial names the course, what requires it
/// and, once the completion lapsed, its day; the owner's staff need none.
#[test]
fn course_denials_name_the_course_and_the_end() {
    let pol = defaults();
    let strings = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    let mut res = room(Some(RoomRole::Downloader), &[]);
    if let Resource::Room {
        required_courses, ..
    } = &mut res
    {
        *required_courses = vec![
            Requirement {
                key: "c-drawings".into(),
                title: "Handling drawings".into(),
            },
            Requirement {
                key: "c-incidents".into(),
                title: "Reporting incidents".into(),
            },
        ];
    }
    let sources = vec![
        (
            "c-drawings".to_owned(),
            "rooms classified `confidential` require".to_owned(),
        ),
        ("c-incidents".to_owned(), "this room requires".to_owned()),
    ];
    type Case<'a> = (&'a str, PartyKind, &'a [&'a str], &'a [&'a str], &'a str);
    let table: &[Case] = &[
        (
            "both passed",
            PartyKind::External,
            &["c-drawings", "c-incidents"],
            &[],
            "allow",
        ),
        (
            "none passed",
            PartyKind::External,
            &[],
            &[],
            "course_required|rooms classified `confidential` require the course “Handling drawings”; you have not passed it",
        ),
        (
            "one passed",
            PartyKind::External,
            &["c-drawings"],
            &[],
            "course_required|this room requires the course “Reporting incidents”; you have not passed it",
        ),
        (
            "lapsed",
            PartyKind::External,
            &["c-incidents"],
            &["c-drawings"],
            "course_expired|rooms classified `confidential` require the course “Handling drawings”; your completion lapsed on 2026-11-30",
        ),
        (
            "owner staff",
            PartyKind::Owner,
            &[],
            &["c-drawings"],
            "allow",
        ),
    ];
    for (case, kind, passed, lapsed, want) in table {
        let p = principal(*kind, SystemRole::Member);
        let cx = Context {
            now_ms: 1_000,
            // What the room's certifications ask is met: only courses decide.
            certifications: strings(&["any"]),
            courses: strings(passed),
            courses_lapsed: strings(lapsed),
            course_lapses: lapsed
                .iter()
                .map(|k| ((*k).to_owned(), "2026-11-30".to_owned()))
                .collect(),
            course_sources: sources.clone(),
            ..Context::default()
        };
        let got = match pol.decide(&p, "file.download", &res, &cx) {
            Decision::Allow => "allow".to_owned(),
            Decision::Hide { reason } => format!("hide:{reason}"),
            Decision::Deny { reason, message } => format!("{reason}|{message}"),
        };
        assert_eq!(got, *want, "{case}");
    }
}

#[test]
fn denial_names_the_unmet_agreement_and_the_policy() {
    let pol = defaults();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let res = room(Some(RoomRole::Viewer), &["nda", "licence"]);
    let v = pol.explain(&ext, "file.list", &res, &ctx(&["nda"], &[]));
    assert_eq!(
        v.decision,
        Decision::Deny {
            reason: "agreement_missing",
            message: "your party has not signed the agreement `licence title`".into()
        }
    );
    assert_eq!(v.policies, vec!["agreement.missing".to_owned()]);
    let v = pol.explain(&ext, "file.download", &res, &ctx(&["nda", "licence"], &[]));
    assert_eq!(
        v.decision,
        Decision::Deny {
            reason: "room_role_insufficient",
            message: "your role in this room is `viewer`; `file.download` needs `downloader`"
                .into()
        }
    );
    assert_eq!(
        v.policies,
        vec!["explain.room_role_insufficient".to_owned()]
    );
    let v = pol.explain(&ext, "file.list", &res, &ctx(&["nda", "licence"], &[]));
    assert_eq!(v.decision, Decision::Allow);
    assert_eq!(v.policies, vec!["room.viewer".to_owned()]);
}

#[test]
fn agreements_are_seen_by_their_party_and_the_owner_staff_only() {
    let pol = defaults();
    let c = ctx(&[], &[]);
    let ext = principal(PartyKind::External, SystemRole::Member);
    let other = Principal {
        party_id: PartyId::from_random([9; 16]),
        ..ext.clone()
    };
    let admin = principal(PartyKind::Owner, SystemRole::Admin);
    let member = principal(PartyKind::Owner, SystemRole::Member);
    let agreement = Resource::Agreement {
        id: AgreementId::from_random([4; 16]),
        party_id: ext.party_id,
        kind: "nda".into(),
        status: "awaiting_signature".into(),
    };
    let table = [
        (&ext, "agreement.view", "allow"),
        (&ext, "agreement.sign", "allow"),
        (&ext, "agreement.terminate", "role_forbids"),
        (&other, "agreement.view", "hide:not_found"),
        (&other, "agreement.sign", "hide:not_found"),
        (&admin, "agreement.view", "allow"),
        (&admin, "agreement.sign", "role_forbids"),
        (&admin, "agreement.terminate", "allow"),
        (&member, "agreement.view", "hide:not_found"),
    ];
    for (p, action, want) in table {
        check(&pol, p, action, &agreement, &c, want);
    }
}

/// What loading `custom` with `disabled` switched off gives: "ok", or the
/// error code and, for located problems, each as "line:column policy: message".
fn load_outcome(custom: &str, disabled: &[&str]) -> String {
    let disabled: Vec<String> = disabled.iter().map(|s| (*s).to_owned()).collect();
    match Policies::with_changes(custom, &disabled) {
        Ok(_) => "ok".to_owned(),
        Err(PolicyError::Text(problems)) => {
            let all: Vec<String> = problems
                .iter()
                .map(|p| {
                    let id = p.policy.as_deref().unwrap_or("-");
                    format!("{}:{} {id}: {}", p.line, p.column, p.message)
                })
                .collect();
            format!("policy_invalid {}", all.join(" | "))
        }
        Err(e) => e.code().to_owned(),
    }
}

#[test]
fn custom_policies_are_validated_and_can_only_restrict_with_a_known_reason() {
    // (custom text, switched off, outcome: its start, or all of it when it is a code).
    let table: &[(&str, &[&str], &str)] = &[
        ("", &[], "ok"),
        (
            "permit(principal, action, resource);",
            &[],
            "policy_invalid 1:1 -: every policy needs a unique `@id` annotation: a custom policy has none",
        ),
        (
            "@id(\"room.viewer\") forbid(principal, action, resource);",
            &[],
            "policy_invalid 1:1 room.viewer: every policy needs a unique `@id` annotation: `room.viewer` is used twice",
        ),
        (
            "\n\n  @id(\"x\") permit(principal, action, resource) when { principal.nope };",
            &[],
            "policy_invalid 3:55 x: for policy `x`, attribute `nope` on entity type `Custody::User` not found",
        ),
        (
            "@id(\"x\")\npermit(principal,",
            &[],
            "policy_invalid 2:18 -: unexpected end of input",
        ),
        (
            "@id(\"x\") permit(principal, action == Custody::Action::\"file.explode\", resource);",
            &[],
            "policy_invalid 1:",
        ),
        (
            "@id(\"x\") permit(principal is Custody::Usr, action, resource);",
            &[],
            "policy_invalid 1:",
        ),
        (
            "@id(\"x\") @reason(\"made_up\") forbid(principal, action, resource);",
            &[],
            "policy_invalid 1:1 x: bad annotation on policy `x`: unknown reason `made_up`",
        ),
        (
            "@id(\"open\") permit(principal, action, resource);",
            &[],
            "policy_invalid 1:1 open: every policy needs a unique `@id` annotation: `open` permits every action to everyone; deny-by-default cannot be switched off",
        ),
        (
            "@id(\"no_restricted\") @reason(\"policy_forbids\") forbid(principal, action, resource is Custody::Room) when { resource.classification == \"restricted\" };",
            &[],
            "ok",
        ),
        ("", &["room.admin_manages", "account.mfa_required"], "ok"),
        ("", &["account.disabled"], "policy_disable_invalid"),
        ("", &["explain.no_grant"], "policy_disable_invalid"),
        ("", &["room.nothing"], "policy_disable_invalid"),
        (
            "@id(\"room.admin_manages\") permit(principal, action == Custody::Action::\"room.view\", resource is Custody::Room) when { principal.system_role == \"admin\" };",
            &["room.admin_manages"],
            "ok",
        ),
    ];
    for (custom, disabled, want) in table {
        let got = load_outcome(custom, disabled);
        assert!(
            got.starts_with(want),
            "{custom:?} {disabled:?}\n got: {got}\nwant: {want}"
        );
    }
}

#[test]
fn unknown_names_are_named_in_the_problem() {
    let table = [
        (
            "@id(\"x\") permit(principal, action == Custody::Action::\"file.explode\", resource);",
            "file.explode",
        ),
        (
            "@id(\"x\") permit(principal is Custody::Usr, action, resource);",
            "Custody::Usr",
        ),
    ];
    for (custom, name) in table {
        let got = load_outcome(custom, &[]);
        assert!(got.contains(name), "{custom}: {got}");
    }
}

#[test]
fn switching_off_and_replacing_a_default_policy_changes_decisions() {
    let admin = principal(PartyKind::Owner, SystemRole::Admin);
    let no_grant = room(None, &[]);
    let c = ctx(&[], &[]);
    let off = vec!["room.admin_manages".to_owned()];
    let table: &[(&str, &str, &str)] = &[
        // (custom, action, outcome) with `room.admin_manages` switched off
        ("", "room.update", "room_role_missing"),
        ("", "room.view", "allow"),
        (
            "@id(\"room.admin_manages\") permit(principal, action == Custody::Action::\"room.update\", resource is Custody::Room) when { principal.system_role == \"admin\" };",
            "room.update",
            "allow",
        ),
        (
            "@id(\"room.admin_manages\") permit(principal, action == Custody::Action::\"room.update\", resource is Custody::Room) when { principal.system_role == \"admin\" };",
            "grant.create",
            "room_role_missing",
        ),
    ];
    for (custom, action, want) in table {
        let pol = Policies::with_changes(custom, &off).unwrap();
        assert_eq!(pol.disabled(), off.as_slice());
        assert_eq!(pol.custom(), *custom);
        check(&pol, &admin, action, &no_grant, &c, want);
    }
}

#[test]
fn a_custom_forbid_reports_its_reason_and_message() {
    let pol = Policies::with_custom(
        "@id(\"no_restricted_downloads\") @reason(\"policy_forbids\") \
         @message(\"`{action}` is not allowed in restricted rooms\") \
         forbid(principal, action == Custody::Action::\"file.download\", resource is Custody::Room) \
         when { resource.classification == \"restricted\" };",
    )
    .unwrap();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let mut res = room(Some(RoomRole::Manager), &[]);
    check(&pol, &ext, "file.download", &res, &ctx(&[], &[]), "allow");
    if let Resource::Room { classification, .. } = &mut res {
        *classification = Classification::Restricted;
    }
    let v = pol.explain(&ext, "file.download", &res, &ctx(&[], &[]));
    assert_eq!(
        v.decision,
        Decision::Deny {
            reason: "policy_forbids",
            message: "`file.download` is not allowed in restricted rooms".into()
        }
    );
    assert_eq!(v.policies, vec!["no_restricted_downloads".to_owned()]);
    assert!(
        pol.list()
            .iter()
            .any(|t| t.id == "no_restricted_downloads" && t.origin == "custom")
    );
}

#[test]
fn slice_conforms_to_the_schema() {
    let pol = defaults();
    let p = principal(PartyKind::External, SystemRole::Member);
    let resources = [
        Resource::System,
        room(None, &[]),
        room(Some(RoomRole::Contributor), &["nda", "eu-licence"]),
        Resource::Agreement {
            id: AgreementId::from_random([4; 16]),
            party_id: p.party_id,
            kind: "nda".into(),
            status: "active".into(),
        },
    ];
    let colleague = Principal {
        user_id: UserId::from_random([6; 16]),
        ..p.clone()
    };
    let stranger = other_party_user(&p);
    let records = [
        user(&p),
        user(&colleague),
        user(&stranger),
        party(&p),
        party(&stranger),
    ];
    for res in resources.into_iter().chain(records) {
        assert!(pol.checked_slice(&p, &res).is_ok(), "{res:?}");
    }
}

/// `u` as the resource of a decision about a user.
fn user(u: &Principal) -> Resource {
    Resource::User(u.clone())
}

/// The party of `u` as the resource of a decision about a party.
fn party(u: &Principal) -> Resource {
    Resource::Party {
        id: u.party_id,
        kind: u.party_kind,
        status: u.party_status,
        certified_until_ms: u.certified_until_ms,
        tier: u.tier,
        tier_until_ms: u.tier_until_ms,
    }
}

/// A user of another (owner-side, when `p`'s is external) party than `p`'s.
fn other_party_user(p: &Principal) -> Principal {
    Principal {
        user_id: UserId::from_random([5; 16]),
        email: "b@example.com".into(),
        party_id: PartyId::from_random([9; 16]),
        party_kind: PartyKind::Owner,
        system_role: SystemRole::Admin,
        mfa_required: false,
        ..p.clone()
    }
}

#[test]
fn self_access_is_open_to_oneself_whatever_the_role_or_account_state() {
    use PartyKind::*;
    use SystemRole::*;
    let pol = defaults();
    let c = ctx(&[], &[]);
    // Another user than the owner-side callers below.
    let ext = Principal {
        user_id: UserId::from_random([4; 16]),
        ..principal(External, Member)
    };
    let pre_totp = Principal {
        mfa: false,
        ..ext.clone()
    };
    let suspended = Principal {
        party_status: PartyStatus::Suspended,
        ..ext.clone()
    };
    let disabled = Principal {
        disabled: true,
        ..ext.clone()
    };
    let colleague = Principal {
        user_id: UserId::from_random([6; 16]),
        ..ext.clone()
    };
    let stranger = other_party_user(&ext);
    let member = principal(Owner, Member);
    let auditor = principal(Owner, Auditor);
    let admin = principal(Owner, Admin);
    let table = [
        // Oneself: viewed, sessions ended, own party viewed.
        (&ext, "user.list", user(&ext), "allow"),
        (&ext, "user.update", user(&ext), "allow"),
        (&ext, "party.list", party(&ext), "allow"),
        (&member, "user.update", user(&member), "allow"),
        (&pre_totp, "user.list", user(&pre_totp), "allow"),
        (&pre_totp, "user.update", user(&pre_totp), "allow"),
        (&pre_totp, "party.list", party(&pre_totp), "allow"),
        (&suspended, "user.list", user(&suspended), "allow"),
        (&suspended, "user.update", user(&suspended), "allow"),
        (&suspended, "party.list", party(&suspended), "allow"),
        (&disabled, "user.list", user(&disabled), "user_disabled"),
        // Others: hidden from viewing, refused for their sessions.
        (&ext, "user.list", user(&colleague), "hide:role_forbids"),
        (&ext, "user.list", user(&stranger), "hide:role_forbids"),
        (&ext, "party.list", party(&stranger), "hide:role_forbids"),
        (&member, "user.list", user(&ext), "hide:role_forbids"),
        (&member, "party.list", party(&ext), "hide:role_forbids"),
        (&ext, "user.update", user(&colleague), "role_forbids"),
        (
            &pre_totp,
            "user.list",
            user(&stranger),
            "mfa_enrollment_required",
        ),
        (&suspended, "user.update", user(&stranger), "party_inactive"),
        // The owner's staff view anyone; only admins end others' sessions.
        (&auditor, "user.list", user(&ext), "allow"),
        (&auditor, "party.list", party(&ext), "allow"),
        (&auditor, "user.update", user(&ext), "role_forbids"),
        (&admin, "user.list", user(&ext), "allow"),
        (&admin, "user.update", user(&ext), "allow"),
        // A second factor is reset and an account unlocked by admins only,
        // never by the user: these are not self-access.
        (&admin, "user.mfa_reset", user(&ext), "allow"),
        (&admin, "user.unlock", user(&ext), "allow"),
        (&ext, "user.mfa_reset", user(&ext), "role_forbids"),
        (&ext, "user.unlock", user(&ext), "role_forbids"),
        (&auditor, "user.mfa_reset", user(&ext), "role_forbids"),
        (&pre_totp, "user.unlock", user(&pre_totp), "role_forbids"),
        // One's own sessions and tokens: open before enrolment; a new token
        // only with the second factor the account needs.
        (&pre_totp, "auth.session", Resource::System, "allow"),
        (
            &pre_totp,
            "auth.token_create",
            Resource::System,
            "mfa_enrollment_required",
        ),
        (&ext, "auth.token_create", Resource::System, "allow"),
        (
            &suspended,
            "auth.session",
            Resource::System,
            "party_inactive",
        ),
        // The platform-wide lists stay the staff's.
        (&ext, "user.list", Resource::System, "role_forbids"),
        (&ext, "party.list", Resource::System, "role_forbids"),
        (&ext, "user.update", Resource::System, "role_forbids"),
        (&auditor, "user.list", Resource::System, "allow"),
    ];
    for (p, action, res, want) in table {
        check(&pol, p, action, &res, &c, want);
    }
    let v = pol.explain(&pre_totp, "party.list", &party(&pre_totp), &c);
    assert_eq!(v.policies, vec!["self.party".to_owned()]);
    let v = pol.explain(&ext, "user.update", &user(&colleague), &c);
    assert_eq!(v.policies, vec!["explain.user_role".to_owned()]);
    assert!(
        matches!(&v.decision, Decision::Deny { message, .. } if message == "your role `member` does not allow `user.update`"),
        "{v:?}"
    );
}

#[test]
fn switching_off_self_access_leaves_oneself_to_the_staff_policies() {
    let pol =
        Policies::with_changes("", &["self.user".to_owned(), "self.party".to_owned()]).unwrap();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let c = ctx(&[], &[]);
    check(
        &pol,
        &ext,
        "user.list",
        &user(&ext),
        &c,
        "hide:role_forbids",
    );
    check(&pol, &ext, "user.update", &user(&ext), &c, "role_forbids");
    check(
        &pol,
        &ext,
        "party.list",
        &party(&ext),
        &c,
        "hide:role_forbids",
    );
    let auditor = principal(PartyKind::Owner, SystemRole::Auditor);
    check(&pol, &auditor, "user.list", &user(&auditor), &c, "allow");
}

#[test]
fn a_room_scoped_policy_applies_to_its_room_and_action_only() {
    let target = RoomId::from_random([3; 16]);
    let pol = Policies::with_custom(&format!(
        "@id(\"freeze_room\") @reason(\"policy_forbids\") @message(\"this room is frozen\") \
         forbid(principal, action in [Custody::Action::\"file.upload\", Custody::Action::\"file.delete\"], \
         resource == Custody::Room::\"{target}\");"
    ))
    .unwrap();
    let ext = principal(PartyKind::External, SystemRole::Member);
    let c = ctx(&[], &[]);
    let other = Resource::Room {
        id: RoomId::from_random([8; 16]),
        classification: Classification::Confidential,
        role: Some(RoomRole::Manager),
        expired_grant: false,
        required_agreements: vec![],
        required_certifications: vec![],
        required_courses: vec![],
        tags: vec![],
        window: None,
    };
    let frozen = room(Some(RoomRole::Manager), &[]);
    let table = [
        (&frozen, "file.upload", "policy_forbids"),
        (&frozen, "file.delete", "policy_forbids"),
        (&frozen, "file.download", "allow"),
        (&other, "file.upload", "allow"),
        (&other, "file.delete", "allow"),
    ];
    for (res, action, want) in table {
        check(&pol, &ext, action, res, &c, want);
    }
}

#[test]
fn each_action_is_decided_on_the_resource_type_the_schema_gives_it() {
    let pol = defaults();
    let table = [
        ("policy.apply", Some(ResourceType::System)),
        ("room.create", Some(ResourceType::System)),
        ("room.view", Some(ResourceType::Room)),
        ("file.download", Some(ResourceType::Room)),
        ("grant.revoke", Some(ResourceType::Room)),
        ("agreement.sign", Some(ResourceType::Agreement)),
        ("agreement.terminate", Some(ResourceType::Agreement)),
        // Also decided on one user or party (self-access), but platform
        // actions for simulations and what-if replays.
        ("user.list", Some(ResourceType::System)),
        ("party.list", Some(ResourceType::System)),
        ("user.update", Some(ResourceType::System)),
        ("room.content", None),
        ("room.explode", None),
    ];
    for (action, want) in table {
        assert_eq!(pol.resource_type(action), want, "{action}");
    }
}

/// A fixed-seed xorshift generator: the property tests below ask the same
/// questions on every run.
struct Draw(u64);

impl Draw {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next(items.len())]
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.next(one_in) == 0
    }
}

/// Conditions a custom policy on any resource may carry: guards the
/// pre-filter reads, and others (one of which overflows for some requests).
const ANY_CONDITIONS: &[&str] = &[
    r#"principal.party.status == "active""#,
    r#"principal.party.status != "suspended""#,
    r#"principal.party.kind == "owner""#,
    r#"principal.party.kind != "owner""#,
    r#"principal.system_role == "admin""#,
    r#"["admin", "auditor"].contains(principal.system_role)"#,
    r#"!["member"].contains(principal.system_role)"#,
    "principal.disabled",
    "!principal.mfa_required",
    "context.mfa",
    "!context.mfa",
    "context.expired_grant",
    "context.now_ms == 1000",
    "context.now_ms != 0",
    "context.now_ms < 5000",
    r#"context.agreements_in_force.contains("nda")"#,
    r#"context has source_addr && context.source_addr == "192.0.2.1""#,
    "context.now_ms * 9223372036854775807 > 0",
    r#"principal.party.kind like "own*""#,
    "context.outside_access_window",
    r#"context.zone_country == "DE""#,
    "principal.training_until_ms == 0",
    "principal.party.certified_until_ms <= context.now_ms",
    r#"context.territories.contains(context.zone_country)"#,
    "context.now_ms >= 2000",
    "5000 > context.now_ms",
    "!(context.now_ms <= 1000)",
    r#"context.permitted_actions.contains("file.download")"#,
];

/// Conditions a custom policy on rooms may carry besides those.
const ROOM_CONDITIONS: &[&str] = &[
    r#"resource.classification == "restricted""#,
    r#"resource.classification != "public""#,
    r#"["confidential", "restricted"].contains(resource.classification)"#,
    "principal in resource.viewers",
    "resource.required_agreements.containsAny(context.agreements_lapsed)",
    "context.agreements_in_force.containsAll(resource.required_agreements)",
    r#"resource.tags.contains("aero")"#,
    "context.fields_of_use.containsAll(resource.tags)",
    r#"resource.required_agreements.contains("nda")"#,
    r#"!resource.tags.contains("sea")"#,
];

/// The room that room-scoped custom policies name.
const SCOPED_ROOM: [u8; 16] = [3; 16];

/// A random custom policy `@id("random.{i}")`.
fn random_policy(d: &mut Draw, i: usize) -> String {
    let effect = if d.chance(3) { "permit" } else { "forbid" };
    let action = d.pick(&[
        "action",
        r#"action == Custody::Action::"file.download""#,
        r#"action in Custody::Action::"room.content""#,
        r#"action in [Custody::Action::"room.view", Custody::Action::"room.list"]"#,
    ]);
    let room = RoomId::from_random(SCOPED_ROOM);
    let (resource, on_rooms) = match d.next(3) {
        0 => ("resource".to_owned(), false),
        1 => ("resource is Custody::Room".to_owned(), true),
        _ => (format!(r#"resource == Custody::Room::"{room}""#), true),
    };
    let mut text = format!(
        "@id(\"random.{i}\") @reason(\"policy_forbids\")\n{effect} (principal, {action}, {resource})"
    );
    for _ in 0..=d.next(2) {
        let (kind, join) = if d.chance(3) {
            ("unless", " || ")
        } else {
            ("when", " && ")
        };
        let parts: Vec<String> = (0..=d.next(3))
            .map(|_| {
                let pool = if on_rooms && d.chance(3) {
                    ROOM_CONDITIONS
                } else {
                    ANY_CONDITIONS
                };
                format!("({})", d.pick(pool))
            })
            .collect();
        text.push_str(&format!(" {kind} {{ {} }}", parts.join(join)));
    }
    text.push_str(";\n");
    text
}

/// A random request on `action`, of the resource type the schema gives it.
fn random_request(d: &mut Draw, pol: &Policies, action: &str) -> (Principal, Resource, Context) {
    let p = random_principal(d);
    let keys = ["nda", "licence"];
    let some =
        |d: &mut Draw| -> Vec<&str> { keys.iter().copied().filter(|_| d.chance(2)).collect() };
    let res = match pol.resource_type(action) {
        Some(ResourceType::Room) => {
            let roles = [
                None,
                Some(RoomRole::Viewer),
                Some(RoomRole::Downloader),
                Some(RoomRole::Manager),
            ];
            let mut res = room(*d.pick(&roles), &some(d));
            if let Resource::Room {
                id,
                classification,
                expired_grant,
                tags,
                required_certifications,
                ..
            } = &mut res
            {
                *id = RoomId::from_random(*d.pick(&[SCOPED_ROOM, [8; 16]]));
                *required_certifications = ["any", "iso_27001"]
                    .iter()
                    .filter(|_| d.chance(3))
                    .map(|k| Requirement {
                        key: (*k).to_owned(),
                        title: (*k).to_owned(),
                    })
                    .collect();
                *classification = *d.pick(Classification::ALL);
                *expired_grant = d.chance(4);
                *tags = ["aero", "auto"]
                    .iter()
                    .filter(|_| d.chance(2))
                    .map(|t| (*t).to_owned())
                    .collect();
            }
            res
        }
        Some(ResourceType::Agreement) => Resource::Agreement {
            id: AgreementId::from_random([4; 16]),
            party_id: if d.chance(2) {
                p.party_id
            } else {
                PartyId::from_random([9; 16])
            },
            kind: "nda".into(),
            status: (*d.pick(&["draft", "awaiting_signature", "active"])).into(),
        },
        _ => Resource::System,
    };
    let mut c = ctx(&some(d), &some(d));
    c.now_ms = *d.pick(&[0, 1, 1000, 1_750_000_000_000]);
    let standards = |d: &mut Draw| -> Vec<String> {
        ["any", "iso_27001"]
            .iter()
            .filter(|_| d.chance(2))
            .map(|t| (*t).to_owned())
            .collect()
    };
    c.certifications = standards(d);
    c.certifications_lapsed = standards(d);
    if d.chance(3) {
        c.source_addr = None;
    }
    let countries = |d: &mut Draw| -> Vec<String> {
        ["DE", "FR"]
            .iter()
            .filter(|_| d.chance(2))
            .map(|t| (*t).to_owned())
            .collect()
    };
    c.zone_country = d.chance(2).then(|| "DE".to_owned());
    c.territory_limited = d.chance(2);
    c.territories = countries(d);
    c.fields_of_use = ["aero", "auto"]
        .iter()
        .filter(|_| d.chance(2))
        .map(|t| (*t).to_owned())
        .collect();
    c.outside_access_window = d.chance(5);
    c.matrix = *d.pick(&[
        None,
        Some(model::diligence::MatrixVerdict::Controls),
        Some(model::diligence::MatrixVerdict::Refused),
    ]);
    c.matrix_controls = [
        model::diligence::MatrixControl::ViewOnly,
        model::diligence::MatrixControl::Mfa,
    ]
    .into_iter()
    .filter(|_| d.chance(2))
    .collect();
    c.evidence_room = d.chance(4);
    (p, res, c)
}

/// A random caller: any party kind, status and system role, any account state.
fn random_principal(d: &mut Draw) -> Principal {
    let kind = *d.pick(PartyKind::ALL);
    Principal {
        party_status: *d.pick(PartyStatus::ALL),
        disabled: d.chance(8),
        mfa_required: d.chance(2),
        mfa: !d.chance(4),
        training_until_ms: *d.pick(&[None, Some(0), Some(2_000_000_000_000)]),
        certified_until_ms: *d.pick(&[None, Some(0), Some(2_000_000_000_000)]),
        tier: *d.pick(&[None, Some(model::diligence::RiskTier::High)]),
        tier_until_ms: *d.pick(&[None, Some(0), Some(2_000_000_000_000)]),
        ..principal(kind, *d.pick(SystemRole::ALL))
    }
}

/// The decision path (slice unchecked, pre-filter) against the reference
/// (slice checked against the schema, every policy evaluated by Cedar): the
/// same decision, determining policies and errors, on random policy sets and
/// requests.
#[test]
fn a_pre_filtered_decision_is_cedars_full_decision() {
    let actions = [
        "room.view",
        "file.list",
        "file.download",
        "file.upload",
        "file.delete",
        "grant.create",
        "room.list",
        "user.create",
        "auth.totp_enroll",
        "agreement.view",
        "agreement.sign",
        "agreement.terminate",
    ];
    let mut d = Draw(0x2545_F491_4F6C_DD1D);
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for set in 0..24 {
        let custom: String = (0..d.next(40)).map(|i| random_policy(&mut d, i)).collect();
        let pol = Policies::with_custom(&custom)
            .unwrap_or_else(|e| panic!("set {set} does not load: {e}\n{custom}"));
        for _ in 0..300 {
            let action = *d.pick(&actions);
            let (p, res, c) = random_request(&mut d, &pol, action);
            let fast = pol.verdict(&p, action, &res, &c, true);
            let reference = pol.verdict(&p, action, &res, &c, false);
            assert_eq!(
                fast, reference,
                "{custom}\n{p:?}\n{action} on {res:?}\n{c:?}"
            );
            assert!(pol.checked_slice(&p, &res).is_ok(), "{p:?} {res:?}");
            let outcome = match &fast.decision {
                Decision::Allow => "allow",
                Decision::Hide { .. } => "hide",
                Decision::Deny { reason, .. } => reason,
            };
            let by = if fast.policies.iter().any(|id| id.starts_with("random.")) {
                " by a custom policy"
            } else {
                ""
            };
            *outcomes.entry(format!("{outcome}{by}")).or_default() += 1;
        }
    }
    // The requests reach every kind of outcome, custom policies included.
    for want in [
        "allow",
        "allow by a custom policy",
        "hide",
        "policy_error",
        "policy_forbids by a custom policy",
        "party_inactive",
        "room_role_insufficient",
    ] {
        assert!(outcomes.contains_key(want), "no `{want}` in {outcomes:?}");
    }
}

/// Conditions a custom policy on users may carry.
const USER_CONDITIONS: &[&str] = &[
    r#"resource.system_role == "admin""#,
    "resource.disabled",
    "!resource.mfa_required",
    r#"resource.party.kind == "owner""#,
    r#"resource.party.status != "active""#,
    "resource.training_until_ms == 0",
    "resource == principal",
    "principal in resource.party",
];

/// Conditions a custom policy on parties may carry.
const PARTY_CONDITIONS: &[&str] = &[
    r#"resource.kind == "owner""#,
    r#"resource.status != "active""#,
    "resource.certified_until_ms <= context.now_ms",
    "principal in resource",
];

/// A random custom policy `@id("records.{i}")` on users or parties.
fn random_record_policy(d: &mut Draw, i: usize) -> String {
    let effect = if d.chance(3) { "permit" } else { "forbid" };
    let (scope, pool) = match d.next(3) {
        0 => (
            r#"action in [Custody::Action::"user.list", Custody::Action::"user.update"], resource is Custody::User"#,
            USER_CONDITIONS,
        ),
        1 => (
            r#"action == Custody::Action::"party.list", resource is Custody::Party"#,
            PARTY_CONDITIONS,
        ),
        _ => ("action, resource", ANY_CONDITIONS),
    };
    let parts: Vec<String> = (0..=d.next(3))
        .map(|_| {
            let pool = if d.chance(2) { pool } else { ANY_CONDITIONS };
            format!("({})", d.pick(pool))
        })
        .collect();
    let (kind, join) = if d.chance(3) {
        ("unless", " || ")
    } else {
        ("when", " && ")
    };
    format!(
        "@id(\"records.{i}\") @reason(\"policy_forbids\")\n{effect} (principal, {scope}) {kind} {{ {} }};\n",
        parts.join(join)
    )
}

/// The pre-filtered decision against the reference on requests about one
/// user or party (oneself, a colleague, another party's user; one's own
/// party or another), under random custom policies on those records.
#[test]
fn a_pre_filtered_decision_on_a_user_or_party_is_cedars_full_decision() {
    let actions = ["user.list", "user.update", "party.list"];
    let mut d = Draw(0x9E37_79B9_7F4A_7C15);
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for set in 0..12 {
        let custom: String = (0..d.next(20))
            .map(|i| random_record_policy(&mut d, i))
            .collect();
        let pol = Policies::with_custom(&custom)
            .unwrap_or_else(|e| panic!("set {set} does not load: {e}\n{custom}"));
        for _ in 0..200 {
            let action = *d.pick(&actions);
            let p = random_principal(&mut d);
            let mut target = random_principal(&mut d);
            match d.next(3) {
                0 => target = p.clone(),
                1 => {
                    target.user_id = UserId::from_random([6; 16]);
                    target.party_id = p.party_id;
                    target.party_kind = p.party_kind;
                    target.party_status = p.party_status;
                    target.certified_until_ms = p.certified_until_ms;
                }
                _ => {
                    target.user_id = UserId::from_random([5; 16]);
                    target.party_id = PartyId::from_random([9; 16]);
                }
            }
            let res = match (action, d.next(4)) {
                (_, 0) => Resource::System,
                ("party.list", _) => party(&target),
                _ => user(&target),
            };
            let c = ctx(&[], &[]);
            let fast = pol.verdict(&p, action, &res, &c, true);
            let reference = pol.verdict(&p, action, &res, &c, false);
            assert_eq!(fast, reference, "{custom}\n{p:?}\n{action} on {res:?}");
            assert!(pol.checked_slice(&p, &res).is_ok(), "{p:?} {res:?}");
            let outcome = match &fast.decision {
                Decision::Allow => "allow",
                Decision::Hide { .. } => "hide",
                Decision::Deny { reason, .. } => reason,
            };
            let by = if fast.policies.iter().any(|id| id.starts_with("records.")) {
                " by a custom policy"
            } else {
                ""
            };
            *outcomes.entry(format!("{outcome}{by}")).or_default() += 1;
        }
    }
    for want in [
        "allow",
        "allow by a custom policy",
        "hide",
        "role_forbids",
        "policy_forbids by a custom policy",
    ] {
        assert!(outcomes.contains_key(want), "no `{want}` in {outcomes:?}");
    }
}
