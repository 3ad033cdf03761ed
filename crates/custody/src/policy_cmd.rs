//! `custody policy …`: the authorization policies of a server (admins). `list`
//! shows the set in force and the stored versions, `show` prints a version's
//! custom Cedar text, `whatif` replays the recorded requests of the last days
//! against a proposed file and lists the decisions that would change, and
//! `apply` makes a file the next version. The client profile and `CUSTODY_*`
//! environment are used as by the other client commands.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use client::{Client, Decision};

use crate::cli::{connect_to, explain};

/// The policy commands.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// The version in force, its policies and the stored versions.
    List(Server),
    /// Print the custom policies of a version (default: the one in force).
    Show {
        /// The version number.
        version: Option<i64>,
        #[command(flatten)]
        server: Server,
    },
    /// Apply FILE (custom Cedar policies) as the next version. Refused when the
    /// text does not validate, when no admin could change policies under it, or
    /// when another version was applied since `--expected-version`.
    Apply {
        /// The custom policies, Cedar text.
        file: PathBuf,
        #[command(flatten)]
        proposal: Proposal,
        /// Why the change is made (stored with the version and its event).
        #[arg(long, default_value = "")]
        comment: String,
        /// The version FILE was written against. Default: the one in force now.
        #[arg(long)]
        expected_version: Option<i64>,
        #[command(flatten)]
        server: Server,
    },
    /// Replay the recorded requests of the last days under the set in force and
    /// under FILE, and list every decision that would change. Changes nothing.
    Whatif {
        /// The proposed custom policies, Cedar text.
        file: PathBuf,
        #[command(flatten)]
        proposal: Proposal,
        /// How many days of recorded requests to replay (1 to 366).
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[command(flatten)]
        server: Server,
    },
}

/// Which server to ask.
#[derive(Args)]
pub struct Server {
    /// Server URL (default `CUSTODY_URL`, else the profile's).
    #[arg(long)]
    url: Option<String>,
}

/// The default policies a proposal switches off.
#[derive(Args)]
pub struct Proposal {
    /// Id of a default policy to switch off (repeat for several).
    #[arg(long = "disable", value_name = "ID")]
    disabled: Vec<String>,
}

/// Runs one policy command.
pub async fn run(cmd: PolicyCommand) -> anyhow::Result<()> {
    match cmd {
        PolicyCommand::List(server) => list(&connect_to(server.url)?).await,
        PolicyCommand::Show { version, server } => show(&connect_to(server.url)?, version).await,
        PolicyCommand::Apply {
            file,
            proposal,
            comment,
            expected_version,
            server,
        } => {
            let client = connect_to(server.url)?;
            let custom = read(&file)?;
            let expected = match expected_version {
                Some(v) => v,
                None => client.policies().await.map_err(explain)?.version,
            };
            let v = client
                .apply_policies(&custom, &proposal.disabled, &comment, expected)
                .await
                .map_err(explain)?;
            println!("applied version {} (sha256 {})", v.version, v.custom_sha256);
            Ok(())
        }
        PolicyCommand::Whatif {
            file,
            proposal,
            days,
            server,
        } => {
            let client = connect_to(server.url)?;
            let custom = read(&file)?;
            let report = client
                .policy_what_if(&custom, &proposal.disabled, days)
                .await
                .map_err(explain)?;
            println!(
                "replayed {} recorded requests since {} ({} skipped: user or target gone)",
                report.replayed, report.from, report.skipped
            );
            if report.changes.is_empty() {
                println!("no decision would change");
            }
            for c in &report.changes {
                println!(
                    "#{} {} {} {} on {}: {} -> {} [{}]",
                    c.seq,
                    c.time,
                    c.user,
                    c.action,
                    c.target,
                    outcome(&c.before),
                    outcome(&c.after),
                    c.after.policies.join(", ")
                );
            }
            Ok(())
        }
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))
}

/// `allow`, or `deny (reason)` / `hide (reason)`.
fn outcome(d: &Decision) -> String {
    match &d.reason {
        Some(reason) => format!("{} ({reason})", d.decision),
        None => d.decision.clone(),
    }
}

async fn list(client: &Client) -> anyhow::Result<()> {
    let set = client.policies().await.map_err(explain)?;
    println!("version in force  {}", set.version);
    if !set.disabled.is_empty() {
        println!("switched off      {}", set.disabled.join(", "));
    }
    println!();
    println!("{:<36} {:<7} ORIGIN", "POLICY", "EFFECT");
    for p in set.items.iter().filter(|p| p.origin != "explanation") {
        println!("{:<36} {:<7} {}", p.id, p.effect, p.origin);
    }
    let versions = client.policy_versions().await.map_err(explain)?;
    if !versions.is_empty() {
        println!();
        println!(
            "{:<8} {:<22} {:<38} COMMENT",
            "VERSION", "APPLIED", "AUTHOR"
        );
        for v in versions {
            println!(
                "{:<8} {:<22} {:<38} {}",
                v.version, v.created_at, v.author, v.comment
            );
        }
    }
    Ok(())
}

async fn show(client: &Client, version: Option<i64>) -> anyhow::Result<()> {
    let number = match version {
        Some(n) => n,
        None => client.policies().await.map_err(explain)?.version,
    };
    if number == 0 {
        println!("// version 0: the default policies, no custom policy");
        return Ok(());
    }
    let v = client.policy_version(number).await.map_err(explain)?;
    println!(
        "// version {} applied {} by {}; switched off: {}",
        v.version,
        v.created_at,
        v.author,
        if v.disabled.is_empty() {
            "none".to_owned()
        } else {
            v.disabled.join(", ")
        }
    );
    print!("{}", v.custom);
    Ok(())
}
