//! The evaluation: generated worlds replayed through watchers at several
//! alert budgets, the planted scenarios matched with the alerts, and a report.
//!
//! A scenario is detected at a budget when an alert within that budget names
//! its user or the user's party on a day from its first malicious event to
//! the day after its last. The time to alert runs from the first malicious
//! event to the alert (the end of the day for a budgeted alert).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::generate::{Planted, Scenario, Spec, World};
use crate::watcher::{Alert, Config, EntityKind, Watcher};
use crate::{HOUR_MS, day_of, explain, parse_line};

/// The alert budgets evaluated (share of active entity-days).
pub const RATES: [f64; 2] = [0.01, 0.05];

/// One scenario kind's results in one run.
#[derive(Clone, Debug, Default)]
pub struct KindResult {
    pub planted: usize,
    /// Detected at each of [`RATES`].
    pub detected: [usize; 2],
    /// Hours from the first malicious event to the first budgeted alert, at
    /// each rate.
    pub hours: [Vec<f64>; 2],
    /// Hours to the first immediate rule alert, where one fired.
    pub immediate_hours: Vec<f64>,
}

/// One seed's evaluation.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub seed: u64,
    pub events: u64,
    pub entity_days: u64,
    pub days: i64,
    /// Budgeted alerts raised at each rate.
    pub alerts: [usize; 2],
    /// Budgeted alerts that match no planted scenario, at each rate.
    pub unmatched: [usize; 2],
    pub immediate: usize,
    pub immediate_unmatched: usize,
    pub kinds: BTreeMap<Scenario, KindResult>,
    /// Alerts whose sentence does not name their top features and rules.
    pub unexplained: usize,
    pub malformed: u64,
    /// The budgeted alerts at 5 % that match no scenario (score, sentence).
    pub false_alerts: Vec<(f64, String)>,
}

/// Whether the sentence of `a` names its top features and every rule.
pub fn names_its_causes(a: &Alert) -> bool {
    let features = a
        .contributions
        .iter()
        .take(explain::TOP)
        .all(|c| a.sentence.contains(&c.feature.phrase(c.value)));
    let something = !a.contributions.is_empty() || !a.rules.is_empty();
    features && something && a.sentence.contains(&a.id)
}

fn matches(p: &Planted, a: &Alert) -> bool {
    let who = match a.entity {
        EntityKind::User => a.id == p.user,
        EntityKind::Party => a.id == p.party,
    };
    who && (day_of(p.first_ms)..=day_of(p.last_ms) + 1).contains(&a.day) && a.time_ms >= p.first_ms
}

/// Generates the world of `spec`, replays it and matches the alerts.
pub fn run(spec: &Spec) -> Run {
    let mut world = World::new(spec.clone());
    let mut watchers: Vec<Watcher> = RATES
        .iter()
        .map(|&alert_rate| {
            Watcher::new(Config {
                alert_rate,
                geo: world.geo().clone(),
                ..Config::default()
            })
        })
        .collect();
    let mut budgeted: [Vec<Alert>; 2] = [Vec::new(), Vec::new()];
    let mut immediate: Vec<Alert> = Vec::new();
    let mut open: Option<i64> = None;
    let mut malformed = 0;
    world.write(&mut |line| {
        let Ok(Some(e)) = parse_line(line) else {
            malformed += 1;
            return;
        };
        let day = day_of(e.time_ms);
        if let Some(d) = open
            && day > d
        {
            for (w, out) in watchers.iter_mut().zip(budgeted.iter_mut()) {
                out.extend(w.close_day(d));
            }
        }
        open = Some(day);
        for (i, w) in watchers.iter_mut().enumerate() {
            let now = w.observe(&e);
            if i == 0 {
                immediate.extend(now);
            }
        }
    });
    if let Some(d) = open {
        for (w, out) in watchers.iter_mut().zip(budgeted.iter_mut()) {
            out.extend(w.close_day(d));
        }
    }
    let planted = world.planted();
    let mut run = Run {
        seed: spec.seed,
        events: watchers.first().map_or(0, Watcher::observed),
        entity_days: watchers.first().map_or(0, Watcher::entity_days),
        days: spec.days,
        alerts: [budgeted[0].len(), budgeted[1].len()],
        immediate: immediate.len(),
        malformed,
        ..Run::default()
    };
    for (r, alerts) in budgeted.iter().enumerate() {
        run.unmatched[r] = alerts
            .iter()
            .filter(|a| !planted.iter().any(|p| matches(p, a)))
            .count();
        run.unexplained += alerts.iter().filter(|a| !names_its_causes(a)).count();
    }
    run.false_alerts = budgeted[1]
        .iter()
        .filter(|a| !planted.iter().any(|p| matches(p, a)))
        .map(|a| (a.score, a.sentence.clone()))
        .collect();
    run.immediate_unmatched = immediate
        .iter()
        .filter(|a| !planted.iter().any(|p| matches(p, a)))
        .count();
    for p in &planted {
        let k = run.kinds.entry(p.kind).or_default();
        k.planted += 1;
        for (r, alerts) in budgeted.iter().enumerate() {
            let first = alerts
                .iter()
                .filter(|a| matches(p, a))
                .map(|a| a.time_ms)
                .min();
            if let Some(t) = first {
                k.detected[r] += 1;
                k.hours[r].push((t - p.first_ms) as f64 / HOUR_MS as f64);
            }
        }
        let first = immediate
            .iter()
            .filter(|a| matches(p, a))
            .map(|a| a.time_ms)
            .min();
        if let Some(t) = first {
            k.immediate_hours
                .push((t - p.first_ms) as f64 / HOUR_MS as f64);
        }
    }
    run
}

fn median_of(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    (!v.is_empty()).then(|| crate::median(&mut v))
}

fn hours(values: &[f64]) -> String {
    match median_of(values) {
        Some(m) => {
            let max = values.iter().copied().fold(f64::MIN, f64::max);
            format!("{m:.1} h (max {max:.1} h)")
        }
        None => "–".to_owned(),
    }
}

/// The share of planted scenarios detected at rate index `r` over `runs`.
pub fn detection(runs: &[Run], r: usize) -> f64 {
    let (hit, all) = runs
        .iter()
        .flat_map(|run| run.kinds.values())
        .fold((0, 0), |(h, a), k| (h + k.detected[r], a + k.planted));
    if all == 0 {
        0.0
    } else {
        hit as f64 / all as f64
    }
}

/// The Markdown report of `runs`.
pub fn report(runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| seed | events | entity-days | alerts at 1 % | alerts at 5 % | immediate rule alerts | planted | detected at 1 % | detected at 5 % |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let planted: usize = run.kinds.values().map(|k| k.planted).sum();
        let d = |r: usize| run.kinds.values().map(|k| k.detected[r]).sum::<usize>();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({} unmatched) | {} ({} unmatched) | {} ({} unmatched) | {} | {} | {} |",
            run.seed,
            run.events,
            run.entity_days,
            run.alerts[0],
            run.unmatched[0],
            run.alerts[1],
            run.unmatched[1],
            run.immediate,
            run.immediate_unmatched,
            planted,
            d(0),
            d(1)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| scenario | planted | detected at 1 % | detected at 5 % | time to alert at 5 % (median, max) | immediate rule alert (share, median time) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for kind in Scenario::ALL {
        let mut all = KindResult::default();
        for k in runs.iter().filter_map(|run| run.kinds.get(&kind)) {
            all.planted += k.planted;
            for r in 0..2 {
                all.detected[r] += k.detected[r];
                all.hours[r].extend(&k.hours[r]);
            }
            all.immediate_hours.extend(&k.immediate_hours);
        }
        let share = |n: usize| {
            if all.planted == 0 {
                0.0
            } else {
                n as f64 / all.planted as f64
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} ({:.2}) | {} ({:.2}) | {} | {:.2}, {} |",
            kind.name(),
            all.planted,
            all.detected[0],
            share(all.detected[0]),
            all.detected[1],
            share(all.detected[1]),
            hours(&all.hours[1]),
            share(all.immediate_hours.len()),
            hours(&all.immediate_hours),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Overall: {:.3} of planted scenarios detected at a 1 % alert budget, {:.3} at 5 %. Alerts whose sentence does not name their top features: {}.",
        detection(runs, 0),
        detection(runs, 1),
        runs.iter().map(|r| r.unexplained).sum::<usize>()
    );
    out
}
