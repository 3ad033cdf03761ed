//! The watcher's features, baselines, rules, budget and sentences on small
//! hand-made event sequences whose values are worked out by hand.

use serde_json::{Value, json};

use super::*;
use crate::generate::START_DAY;

/// Monday 5 January 2026, noon UTC.
const NOON: i64 = START_DAY * DAY_MS + 12 * HOUR_MS;

/// One event line: `(time, actor user and party, action, outcome, target,
/// detail, source, mark)`.
#[derive(Clone)]
struct E {
    t: i64,
    who: Option<(&'static str, &'static str)>,
    action: &'static str,
    allowed: bool,
    reason: Option<&'static str>,
    target: String,
    detail: Value,
    source: Option<&'static str>,
    mark: Option<&'static str>,
}

fn e(t: i64, who: (&'static str, &'static str), action: &'static str, target: &str) -> E {
    E {
        t,
        who: Some(who),
        action,
        allowed: true,
        reason: None,
        target: target.to_owned(),
        detail: Value::Null,
        source: None,
        mark: None,
    }
}

impl E {
    fn denied(mut self, reason: &'static str) -> E {
        self.allowed = false;
        self.reason = Some(reason);
        self
    }
    fn detail(mut self, d: Value) -> E {
        self.detail = d;
        self
    }
    fn from(mut self, source: &'static str) -> E {
        self.source = Some(source);
        self
    }
    fn mark(mut self, m: &'static str) -> E {
        self.mark = Some(m);
        self
    }
    fn system(mut self) -> E {
        self.who = None;
        self
    }
    fn line(&self) -> String {
        json!({
            "time_ms": self.t, "action": self.action,
            "outcome": if self.allowed { "allowed" } else { "denied" },
            "reason": self.reason, "actor": self.who.map(|w| w.0), "party": self.who.map(|w| w.1),
            "target": self.target, "source": self.source, "mark_id": self.mark, "detail": self.detail,
        })
        .to_string()
    }
}

const U1: (&str, &str) = ("u1", "p1");
const U2: (&str, &str) = ("u2", "p1");
const OFFICER: (&str, &str) = ("o1", "p0");

/// Ten files of 1 MB in room `r1` (`f0` … `f9`), uploaded by `o1` at the
/// start of the day.
fn room() -> Vec<E> {
    (0..10)
        .map(|i| {
            e(
                NOON - 11 * HOUR_MS,
                OFFICER,
                "file.upload",
                &format!("file:f{i}"),
            )
            .detail(json!({"size": 1_000_000, "room": "r1"}))
        })
        .collect()
}

fn watcher() -> Watcher {
    let mut geo = Geo::default();
    geo.add("10.1.0.0/16", "FR").unwrap();
    geo.add("192.0.2.0/24", "NG").unwrap();
    geo.add_zone("10.1.0.0/16", "FR", "office").unwrap();
    geo.add_zone("10.2.0.0/16", "FR", "home").unwrap();
    Watcher::new(Config {
        geo,
        alert_rate: 1.0,
        min_score: 0.0,
        ..Config::default()
    })
}

fn feed(w: &mut Watcher, events: &[E]) -> Vec<Alert> {
    events
        .iter()
        .flat_map(|x| w.observe_line(&x.line()))
        .collect()
}

/// Events, whose day, and the feature values expected.
type Case = (Vec<E>, EntityKind, &'static str, Vec<(Feature, f64)>);

#[test]
fn features_of_a_day_by_hand() {
    fn check(events: Vec<E>, kind: EntityKind, id: &str, want: &[(Feature, f64)]) {
        let mut w = watcher();
        let mut all = room();
        all.extend(events);
        feed(&mut w, &all);
        let v = w.today(kind, id).unwrap();
        for (f, value) in want {
            assert_eq!(v[f.index()], *value, "{} of {id}", f.name());
        }
    }
    let dl = |t: i64, who, f: &str| e(t, who, "file.download", &format!("file:{f}"));
    let table: Vec<Case> = vec![
        (
            // Three downloads of two files (1 MB each) of the ten in r1.
            vec![
                dl(NOON, U1, "f1"),
                dl(NOON + 1, U1, "f1"),
                dl(NOON + 2, U1, "f2"),
            ],
            EntityKind::User,
            "u1",
            vec![
                (Feature::Downloads, 3.0),
                (Feature::DownloadFiles, 2.0),
                (Feature::DownloadMb, 3.0),
                (Feature::Rooms, 1.0),
                (Feature::RoomShare, 20.0),
                (Feature::NewFiles, 2.0),
                (Feature::NewFilesWeek, 2.0),
                (Feature::PeakHour, 3.0),
                (Feature::OffHours, 0.0),
            ],
        ),
        (
            // Two views of 5 and 7 pages; a size in the detail wins.
            vec![
                e(NOON, U1, "file.view", "file:f3").detail(json!({"pages": 5})),
                e(NOON, U1, "file.view", "file:f4").detail(json!({"pages": 7})),
                dl(NOON, U1, "f5").detail(json!({"size": 3_000_000})),
            ],
            EntityKind::User,
            "u1",
            vec![
                (Feature::Views, 2.0),
                (Feature::ViewPages, 12.0),
                (Feature::DownloadMb, 3.0),
                (Feature::NewFiles, 3.0),
                (Feature::RoomShare, 30.0),
            ],
        ),
        (
            // Three refusals on two targets, one by data-loss prevention,
            // and a DLP notice.
            vec![
                e(NOON, U1, "room.view", "room:x").denied("not_found"),
                e(NOON, U1, "room.view", "room:x").denied("not_found"),
                e(NOON, U1, "file.download", "file:f1").denied("dlp_blocked"),
                e(NOON, U1, "dlp.notify", "file:f1"),
            ],
            EntityKind::User,
            "u1",
            vec![
                (Feature::Denials, 3.0),
                (Feature::DeniedTargets, 2.0),
                (Feature::DlpHits, 2.0),
                (Feature::Downloads, 0.0),
            ],
        ),
        (
            // Grants, invitations and tokens made; files deleted.
            vec![
                e(NOON, U1, "grant.create", "grant:g1").detail(json!({"subject": "user:x"})),
                e(NOON, U1, "invitation.create", "invitation:i1"),
                e(NOON, U1, "auth.token_create", "token:t1"),
                e(NOON, U1, "file.delete", "file:f1"),
                e(NOON, U1, "file.delete", "file:f2").denied("no_grant"),
            ],
            EntityKind::User,
            "u1",
            vec![
                (Feature::Shares, 3.0),
                (Feature::Deletes, 1.0),
                (Feature::Denials, 1.0),
            ],
        ),
        (
            // Failed sign-ins name the user in the target, not the actor; a
            // name never seen makes no entity.
            vec![
                e(NOON - 1, U1, "file.view", "file:f1"),
                e(NOON, U1, "auth.login", "user:u1")
                    .system()
                    .denied("invalid_credentials"),
                e(NOON, U1, "auth.login", "user:nobody")
                    .system()
                    .denied("unknown_user"),
                e(NOON, U1, "auth.totp_confirm", "user:u1").denied("invalid_code"),
            ],
            EntityKind::User,
            "u1",
            vec![(Feature::FailedSignIns, 2.0)],
        ),
        (
            // 03:00 UTC on a Monday and noon on a Saturday are off hours.
            vec![
                dl(NOON - 9 * HOUR_MS, U1, "f1"),
                dl(NOON + 5 * DAY_MS, U1, "f2"),
                dl(NOON + 5 * DAY_MS, U1, "f3"),
            ],
            EntityKind::User,
            "u1",
            vec![(Feature::OffHours, 2.0), (Feature::Downloads, 2.0)],
        ),
        (
            // The party adds up its users.
            vec![dl(NOON, U1, "f1"), dl(NOON, U2, "f1"), dl(NOON, U2, "f2")],
            EntityKind::Party,
            "p1",
            vec![(Feature::Downloads, 3.0), (Feature::DownloadFiles, 2.0)],
        ),
        (
            // A traced mark counts for the user who was given the copy.
            vec![
                dl(NOON, U1, "f1").mark("m1"),
                e(NOON + 1, OFFICER, "mark.trace", "system").detail(json!({"mark_id": "m1"})),
            ],
            EntityKind::Party,
            "p1",
            vec![(Feature::TraceHits, 1.0)],
        ),
    ];
    for (events, kind, id, want) in table {
        check(events, kind, id, &want);
    }
}

/// Ten active days of `per_day` new files for `u1`, then a day of `today`
/// new files; the alerts of that last day.
fn after_ten_days(per_day: usize, today: usize) -> Vec<Alert> {
    let mut w = watcher();
    let mut n = 0;
    let mut alerts = Vec::new();
    for day in 0..11 {
        let count = if day == 10 { today } else { per_day };
        let events: Vec<E> = (0..count)
            .map(|i| {
                n += 1;
                e(
                    NOON + day * DAY_MS + i as i64 * 600_000,
                    U1,
                    "file.download",
                    &format!("file:g{n}"),
                )
            })
            .collect();
        feed(&mut w, &events);
        alerts = w.close_day(START_DAY + day);
    }
    alerts
}

#[test]
fn baseline_deviation_by_hand() {
    // Ten days of 5 files: median 5, MAD 0, so the spread is the floor 4
    // (above 0.25 × 5); 25 files are (25 - 5) / 4 = 5 deviations; the
    // points are ln(1 + 5 - 1) = ln 5. No peers (one user in the party).
    let alerts = after_ten_days(5, 25);
    let a = alerts.iter().find(|a| a.id == "u1").unwrap();
    let c = a
        .contributions
        .iter()
        .find(|c| c.feature == Feature::DownloadFiles)
        .unwrap();
    assert_eq!((c.value, c.median, c.peer_median), (25.0, Some(5.0), None));
    assert!((c.z - 5.0).abs() < 1e-9, "{}", c.z);
    assert!((c.points - 5f64.ln()).abs() < 1e-9, "{}", c.points);
    assert!(
        a.sentence
            .contains("downloaded 25 files (5.0× this user's median)"),
        "{}",
        a.sentence
    );
    assert!(crate::eval::names_its_causes(a));
    // A usual day contributes nothing on that feature.
    let usual = after_ten_days(5, 5);
    assert!(usual.iter().filter(|a| a.id == "u1").all(|a| {
        a.contributions
            .iter()
            .all(|c| c.feature != Feature::DownloadFiles)
    }));
}

#[test]
fn rules_raise_alerts_at_once() {
    fn check(events: Vec<E>, rule: &str, sentence: &str) {
        let mut w = watcher();
        let mut all = room();
        all.extend(events);
        let alerts = feed(&mut w, &all);
        let hit = alerts
            .iter()
            .find(|a| a.rules.iter().any(|r| r.name() == rule) && a.id == "u1")
            .unwrap_or_else(|| panic!("no {rule} in {alerts:?}"));
        assert!(hit.immediate);
        assert!(hit.sentence.contains(sentence), "{}", hit.sentence);
    }
    let nda = e(
        NOON - 10 * HOUR_MS,
        OFFICER,
        "agreement.create",
        "agreement:a1",
    )
    .detail(json!({"party": "p1", "kind": "nda", "end_ms": NOON + 5 * DAY_MS + 3 * HOUR_MS}));
    let mut mass = vec![nda];
    mass.extend((0..40).map(|i| {
        e(
            NOON + i * 120_000,
            U1,
            "file.download",
            &format!("file:h{i}"),
        )
    }));
    let burst: Vec<E> = (0..30)
        .map(|i| e(NOON + i * 1_000, U1, "file.download", "file:f1"))
        .collect();
    let probing: Vec<E> = (0..15)
        .map(|i| e(NOON + i * 30_000, U1, "room.view", &format!("room:r{i}")).denied("not_found"))
        .collect();
    let trace = vec![
        e(NOON, U1, "file.download", "file:f1").mark("m9"),
        e(NOON + 1, OFFICER, "mark.trace", "system").detail(json!({"mark_id": "m9"})),
    ];
    let mut travel: Vec<E> = (0..10)
        .map(|d| e(NOON + d * DAY_MS, U1, "file.download", "file:f1").from("10.1.2.3"))
        .collect();
    travel.push(e(NOON + 10 * DAY_MS, U1, "file.download", "file:f1").from("192.0.2.9"));
    // u1 is known (it downloaded before); the other names are not, and
    // count as targets without becoming entities.
    let mut spraying = vec![e(NOON - HOUR_MS, U1, "file.download", "file:f1")];
    spraying.extend(
        ["u1", "w2", "w3", "w4", "w5"]
            .iter()
            .enumerate()
            .map(|(i, u)| {
                e(
                    NOON + i as i64 * 60_000,
                    U1,
                    "auth.login",
                    &format!("user:{u}"),
                )
                .system()
                .denied("invalid_credentials")
                .from("203.0.113.9")
            }),
    );
    let table = [
        (
            spraying,
            "spraying",
            "sign-ins failed for 5 users from `203.0.113.9` within the hour",
        ),
        (
            mass.clone(),
            "mass_before_end",
            "40 files taken while the party's nda ends in 5 days",
        ),
        // A new user has no baseline and no peers: the day's features so
        // far that stand out are named besides the rule.
        (
            mass,
            "mass_before_end",
            "user `u1` made 40 downloads, downloaded 40 files and took 40 files never taken before;",
        ),
        (burst, "burst", "30 downloads and views in 29.0 s"),
        (probing, "probing", "15 refusals in 7 min"),
        (trace, "trace", "a leaked copy was traced to this mark `m9`"),
        (travel, "new_country", "first access from NG"),
    ];
    for (events, rule, sentence) in table {
        check(events, rule, sentence);
    }
}

#[test]
fn the_budget_keeps_the_top_share() {
    // 100 users, user i downloading i + 1 files on one day; at 5 % the
    // day's budget is 5 of the 101 active entities (the party too): ceil(5.05)
    // = 6 alerts, the highest scores first.
    let mut w = Watcher::new(Config {
        alert_rate: 0.05,
        min_score: 0.0,
        ..Config::default()
    });
    for i in 0..100 {
        for k in 0..=i {
            let line = e(NOON + k, U1, "file.download", &format!("file:k{k}")).line();
            let line = line.replace("\"u1\"", &format!("\"v{i}\""));
            w.observe_line(&line);
        }
    }
    let alerts = w.close_day(START_DAY);
    assert_eq!(alerts.len(), 6);
    assert!(alerts.windows(2).all(|p| p[0].score >= p[1].score));
}

#[test]
fn malformed_lines_are_counted_by_kind() {
    let mut w = watcher();
    for line in [
        "{",
        "[]",
        "{}",
        "",
        r#"{"time_ms":1,"outcome":"allowed"}"#,
        "{",
    ] {
        assert!(w.observe_line(line).is_empty());
    }
    let want: BTreeMap<&str, u64> = [
        ("not_json", 2),
        ("not_object", 1),
        ("no_time", 1),
        ("no_action", 1),
    ]
    .into();
    assert_eq!(w.malformed(), &want);
    assert_eq!(w.observed(), 0);
}

#[test]
fn an_ended_agreement_or_grant_is_not_watched() {
    fn mass(ending: Vec<E>) -> bool {
        let mut w = watcher();
        let mut all = room();
        all.extend(ending);
        all.extend((0..40).map(|i| e(NOON + i * 1000, U1, "file.download", &format!("file:h{i}"))));
        let alerts = feed(&mut w, &all);
        alerts
            .iter()
            .any(|a| a.rules.iter().any(|r| r.name() == "mass_before_end"))
    }
    let start = NOON - 10 * HOUR_MS;
    let nda = e(start, OFFICER, "agreement.create", "agreement:a1")
        .detail(json!({"party": "p1", "kind": "nda", "end_ms": NOON + 3 * DAY_MS}));
    let grant = e(start, OFFICER, "grant.create", "grant:g1")
        .detail(json!({"subject": "party:p1", "expires_ms": NOON + 3 * DAY_MS}));
    let later = e(start, OFFICER, "agreement.create", "agreement:a2")
        .detail(json!({"party": "p1", "kind": "nda", "end_ms": NOON + 30 * DAY_MS}));
    let table = [
        (vec![nda.clone()], true),
        (vec![grant.clone()], true),
        (vec![later], false),
        (
            vec![
                nda.clone(),
                e(start + 1, OFFICER, "agreement.terminate", "agreement:a1"),
            ],
            false,
        ),
        (
            vec![
                grant.clone(),
                e(start + 1, OFFICER, "grant.revoke", "grant:g1"),
            ],
            false,
        ),
        (
            vec![
                nda,
                grant.clone(),
                e(start + 1, OFFICER, "agreement.expire", "agreement:a1"),
            ],
            true,
        ),
    ];
    for (ending, want) in table {
        assert_eq!(
            mass(ending.clone()),
            want,
            "{:?}",
            ending.iter().map(E::line).collect::<Vec<_>>()
        );
    }
}

#[test]
fn peers_by_hand() {
    // The same with one role for all (the role's group) and with three roles
    // (fewer than four of each: the party's group).
    for roles in [["member"; 4], ["member", "member", "viewer", "lead"]] {
        peers_of(roles);
    }
}

fn peers_of(roles: [&str; 4]) {
    // Four users of p1 on their first day: three take 2
    // files, one 20. The peers' median is 2 and their MAD 0 (deviations
    // 0 0 0 18), so the spread is the floor 4: 20 is (20 - 2) / 4 = 4.5
    // deviations; without an own baseline yet, 0.7 of it counts: 3.15, for
    // ln(1 + 3.15 - 1) = ln 3.15 points.
    let mut w = watcher();
    let mut events = Vec::new();
    let users = [("v1", 2), ("v2", 2), ("v3", 2), ("v4", 20)];
    for ((user, files), role) in users.into_iter().zip(roles) {
        events.push(
            e(
                NOON - HOUR_MS,
                OFFICER,
                "user.create",
                &format!("user:{user}"),
            )
            .detail(json!({"role": role, "party": "p1"})),
        );
        for i in 0..files {
            let line = e(NOON + i, U1, "file.download", &format!("file:{user}-{i}"));
            events.push(E {
                who: Some((Box::leak(user.to_owned().into_boxed_str()), "p1")),
                ..line
            });
        }
    }
    feed(&mut w, &events);
    let alerts = w.close_day(START_DAY);
    let v4 = alerts.iter().find(|a| a.id == "v4").unwrap();
    let c = v4
        .contributions
        .iter()
        .find(|c| c.feature == Feature::DownloadFiles)
        .unwrap();
    assert_eq!((c.value, c.median, c.peer_median), (20.0, None, Some(2.0)));
    assert!((c.z - 3.15).abs() < 1e-9, "{}", c.z);
    assert!((c.points - 3.15f64.ln()).abs() < 1e-9, "{}", c.points);
    assert!(
        v4.sentence
            .contains("downloaded 20 files (10× the party's peers)"),
        "{}",
        v4.sentence
    );
    // The three alike get nothing for it.
    for a in alerts.iter().filter(|a| a.id != "v4") {
        assert!(
            a.contributions
                .iter()
                .all(|c| c.feature != Feature::DownloadFiles),
            "{a:?}"
        );
    }
}

#[test]
fn guessed_names_make_no_entities() {
    let mut w = watcher();
    let guesses: Vec<E> = (0..100)
        .map(|i| {
            e(
                NOON + i,
                U1,
                "auth.login",
                &format!("user:guess{i}@example.com"),
            )
            .system()
            .denied("unknown_user")
            .from("203.0.113.9")
        })
        .collect();
    feed(&mut w, &guesses);
    assert!(w.entities.is_empty());
    assert_eq!(w.today(EntityKind::User, "guess1@example.com"), None);
}

#[test]
fn new_addresses_zones_and_countries_after_the_warm_up() {
    // Ten active days from the office, then one from home (same country)
    // and one from Nigeria.
    fn last_day(from: &'static str) -> [f64; NF] {
        let mut w = watcher();
        let mut events: Vec<E> = (0..10)
            .map(|d| e(NOON + d * DAY_MS, U1, "file.download", "file:f1").from("10.1.2.3"))
            .collect();
        events.push(e(NOON + 10 * DAY_MS, U1, "file.download", "file:f1").from(from));
        feed(&mut w, &events);
        w.today(EntityKind::User, "u1").unwrap()
    }
    let table = [
        ("10.1.2.3", [0.0, 0.0, 0.0]),
        ("10.1.9.9", [1.0, 0.0, 0.0]),
        ("10.2.0.5", [1.0, 1.0, 0.0]),
        ("192.0.2.9", [1.0, 0.0, 1.0]),
    ];
    for (from, [sources, zones, countries]) in table {
        let v = last_day(from);
        let got = [
            v[Feature::NewSources.index()],
            v[Feature::NewZones.index()],
            v[Feature::NewCountries.index()],
        ];
        assert_eq!(got, [sources, zones, countries], "{from}");
    }
}
