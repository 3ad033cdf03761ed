//! The evaluation as a test: generated worlds of three seeds (others than
//! the five of docs/watch-evaluation.md), replayed through the watcher.

use watch::eval::{self, RATES, Run};
use watch::generate::Spec;

#[test]
fn detects_planted_scenarios_at_a_five_percent_budget() {
    let runs: Vec<Run> = [6, 7, 8]
        .into_iter()
        .map(|seed| {
            eval::run(&Spec {
                seed,
                ..Spec::default()
            })
        })
        .collect();
    let report = eval::report(&runs);
    for run in &runs {
        assert_eq!(
            run.unexplained, 0,
            "alerts that do not name their causes\n{report}"
        );
        assert_eq!(run.malformed, 0);
        for (r, rate) in RATES.iter().enumerate() {
            // The budget holds, within the moving mean's drift.
            let allowed = 1.1 * rate * run.entity_days as f64 + 2.0;
            assert!(
                run.alerts[r] as f64 <= allowed,
                "seed {} rate {rate}\n{report}",
                run.seed
            );
        }
    }
    let detected = eval::detection(&runs, 1);
    assert!(detected >= 0.9, "detected {detected:.3} at 5 %\n{report}");
}
