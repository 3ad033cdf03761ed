//! Replays an export of events through the watcher, as `custody watch
//! replay` would, and prints the alerts' count and the time taken; with
//! `--generate N`, first writes a generated export of at least N events.
//!
//! ```text
//! cargo run --release -p watch --example replay -- --generate 1000000 /tmp/events.jsonl
//! /usr/bin/time -v target/release/examples/replay /tmp/events.jsonl
//! ```

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use watch::generate::{Spec, World};
use watch::{Config, Watcher};

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
    let mut watcher = Watcher::new(Config {
        geo: world.geo().clone(),
        ..Config::default()
    });
    let started = Instant::now();
    let file = std::fs::File::open(&path).map_err(|e| format!("`{path}`: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let (mut immediate, mut alerts) = (0usize, 0usize);
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        immediate += watcher.observe_line(line.trim_end()).len();
        alerts += watcher.take_closed().len();
    }
    alerts += watcher.finish().len();
    let took = started.elapsed().as_secs_f64();
    println!(
        "replayed {} events ({} entity-days) in {took:.2} s ({:.0} events/s): {alerts} alerts, {immediate} immediate; malformed {:?}",
        watcher.observed(),
        watcher.entity_days(),
        watcher.observed() as f64 / took,
        watcher.malformed()
    );
    Ok(())
}
