//! Replays an export of events through the watcher, as `custody watch
//! replay` would, and prints the alerts' count and the time taken; with
//! `--generate N`, first writes a generated export of at least N events.
//!
//! ```text
//! cargo run --release -p watch --example replay -- --generate 1000000 /tmp/events.jsonl
//! /usr/bin/time -v target/release/examples/replay /tmp/events.jsonl
//! ```

use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

use watch::Config;
use watch::generate::{Spec, World};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (generate, path) = match args.as_slice() {
        [flag, n, path] if flag == "--generate" => (
            Some(n.parse::<u64>().map_err(|e| format!("`{n}`: {e}"))?),
            path.clone(),
        ),
        [path] => (None, path.clone()),
        _ => return Err("usage: replay [--generate N] EVENTS.jsonl".into()),
    };
    let spec = Spec {
        seed: 7,
        days: 180,
        external_parties: 40,
        users: (5, 30),
        activity: 2.0,
        ..Spec::default()
    };
    if let Some(n) = generate {
        let started = Instant::now();
        let file = std::fs::File::create(&path).map_err(|e| format!("`{path}`: {e}"))?;
        let mut out = BufWriter::new(file);
        let mut written = 0u64;
        let mut failed = None;
        World::new(spec.clone()).write(&mut |line| {
            if written < n {
                if let Err(e) = writeln!(out, "{line}") {
                    failed = Some(e.to_string());
                }
                written += 1;
            }
        });
        out.flush().map_err(|e| e.to_string())?;
        if let Some(e) = failed {
            return Err(e);
        }
        eprintln!(
            "wrote {written} events in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let world = World::new(spec);
    let started = Instant::now();
    let file = std::fs::File::open(&path).map_err(|e| format!("`{path}`: {e}"))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let config = Config {
        geo: world.geo().clone(),
        ..Config::default()
    };
    let mut alerts = Vec::new();
    let summary =
        watch::replay::replay(reader, config, false, &mut alerts).map_err(|e| e.to_string())?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "{summary} in {took:.2} s ({:.0} events/s); {} bytes of alert lines",
        summary.events as f64 / took,
        alerts.len()
    );
    Ok(())
}
