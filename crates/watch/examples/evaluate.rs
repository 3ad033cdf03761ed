//! Evaluates the watcher on generated worlds of several seeds and writes the
//! report (docs/watch-evaluation.md by default, or the path given).
//!
//! `cargo run --release -p watch --example evaluate [-- PATH]`

use std::time::Instant;

use watch::eval;
use watch::generate::Spec;

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

fn main() -> Result<(), String> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/watch-evaluation.md".into());
    let mut runs = Vec::new();
    for seed in SEEDS {
        let started = Instant::now();
        let run = eval::run(&Spec {
            seed,
            ..Spec::default()
        });
        eprintln!(
            "seed {seed}: {} events in {:.1} s",
            run.events,
            started.elapsed().as_secs_f64()
        );
        runs.push(run);
    }
    let table = eval::report(&runs);
    println!("{table}");
    let mut today = Vec::new();
    for seed in SEEDS {
        today.push(eval::run(&Spec {
            seed,
            rooms_known: false,
            ..Spec::default()
        }));
    }
    let today = eval::report(&today);
    println!("{today}");
    let text = format!("{HEAD}{table}{MIDDLE}{today}{TAIL}");
    std::fs::write(&path, text).map_err(|e| format!("cannot write `{path}`: {e}"))
}

const HEAD: &str = include_str!("evaluation_head.md");
const MIDDLE: &str = include_str!("evaluation_middle.md");
const TAIL: &str = include_str!("evaluation_tail.md");
