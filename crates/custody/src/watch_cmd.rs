//! `custody watch replay EVENTS.jsonl`: the behavioural scoring of the `watch`
//! library over an export of events (the JSON lines the SIEM export and the
//! ledger export write), offline: each alert on a line of its own, then a
//! summary with the events read, the malformed lines by kind and the peak
//! memory of the process. For threat hunting on history and for evaluation.

use std::io::{BufReader, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;

/// The `watch` command.
#[derive(clap::Subcommand)]
pub enum WatchCommand {
    /// Score an export of events (JSON lines; `-` reads standard input) and
    /// print the day's top alerts, each with the features that caused it.
    Replay(ReplayArgs),
}

/// The `watch replay` command's arguments.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The export: one event per line, as `custody ledger export` or a SIEM
    /// JSON-lines sink writes them.
    events: PathBuf,
    /// The share of a day's active users and parties alerted at most (the
    /// top ones): 0.05 is 5 %.
    #[arg(long, default_value_t = 0.05)]
    alert_rate: f64,
    /// Also print what the rules raise at once (a burst, a new country, a
    /// traced leak), as it happens.
    #[arg(long)]
    immediate: bool,
    /// Where addresses are: a file of `CIDR COUNTRY [ZONE]` lines.
    #[arg(long)]
    geo: Option<PathBuf>,
}

pub fn run(command: WatchCommand) -> anyhow::Result<()> {
    let WatchCommand::Replay(args) = command;
    if !(args.alert_rate > 0.0 && args.alert_rate <= 1.0) {
        anyhow::bail!(
            "`--alert-rate` must be above 0 and at most 1, not `{}`",
            args.alert_rate
        );
    }
    let mut config = watch::Config {
        alert_rate: args.alert_rate,
        ..watch::Config::default()
    };
    if let Some(path) = &args.geo {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        config.geo =
            watch::Geo::parse(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display()))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = if args.events.as_os_str() == "-" {
        watch::replay::replay(std::io::stdin().lock(), config, args.immediate, &mut out)
    } else {
        let file = std::fs::File::open(&args.events)
            .with_context(|| format!("cannot open `{}`", args.events.display()))?;
        watch::replay::replay(
            BufReader::with_capacity(1 << 20, file),
            config,
            args.immediate,
            &mut out,
        )
    }
    .context("cannot read the events")?;
    out.flush()?;
    eprintln!("{summary}; peak memory {}", peak_memory());
    Ok(())
}

/// The process's peak resident memory, as Linux reports it (`VmHWM`).
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
