//! A whole export scored at once: every line of a reader through one
//! [`Watcher`], each alert written to a writer as a line, day by day — what
//! `custody watch replay EVENTS.jsonl` is to print. The caller opens the
//! files; nothing here reads a clock.

use std::io::{self, BufRead, Write};

use crate::watcher::{Alert, Config, EntityKind, Watcher};

/// What a replay saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub entity_days: u64,
    /// Budgeted alerts written.
    pub alerts: usize,
    /// Rules raised at once (written only when asked).
    pub immediate: usize,
    /// Malformed lines by kind.
    pub malformed: Vec<(&'static str, u64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let malformed: Vec<String> = self
            .malformed
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        write!(
            f,
            "replayed {} events ({} entity-days): {} alerts, {} raised at once; malformed lines: {}",
            self.events,
            self.entity_days,
            self.alerts,
            self.immediate,
            if malformed.is_empty() {
                "none".to_owned()
            } else {
                malformed.join(", ")
            }
        )
    }
}

/// Replays every line of `reader` (invalid UTF-8 is replaced, then counted
/// malformed if the line no longer reads), writing each budgeted alert to
/// `out` and, with `immediate`, the rules raised at once too.
pub fn replay(
    mut reader: impl BufRead,
    config: Config,
    immediate: bool,
    out: &mut impl Write,
) -> io::Result<Summary> {
    let mut watcher = Watcher::new(config);
    let mut line = Vec::new();
    let (mut alerts, mut raised) = (0, 0);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let now = watcher.observe_line(text.trim_end());
        raised += now.len();
        if immediate {
            for a in &now {
                write_alert(out, a)?;
            }
        }
        for a in watcher.take_closed() {
            write_alert(out, &a)?;
            alerts += 1;
        }
    }
    for a in watcher.finish() {
        write_alert(out, &a)?;
        alerts += 1;
    }
    Ok(Summary {
        events: watcher.observed(),
        entity_days: watcher.entity_days(),
        alerts,
        immediate: raised,
        malformed: watcher.malformed().iter().map(|(k, n)| (*k, *n)).collect(),
    })
}

/// One alert as one line: date, `now` (raised at once) or `day`, whom,
/// score, sentence.
pub fn write_alert(out: &mut impl Write, a: &Alert) -> io::Result<()> {
    let kind = match a.entity {
        EntityKind::User => "user",
        EntityKind::Party => "party",
    };
    let when = if a.immediate { "now" } else { "day" };
    writeln!(
        out,
        "{} {when} {kind} {} score {:.1}: {}",
        crate::date_of(a.day),
        a.id,
        a.score,
        a.sentence
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output and summary of replaying `lines`.
    fn check(lines: &[String], immediate: bool) -> (String, String) {
        let input = lines.join("\n");
        let mut out = Vec::new();
        let config = Config {
            alert_rate: 1.0,
            ..Config::default()
        };
        let summary = replay(input.as_bytes(), config, immediate, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), summary.to_string())
    }

    fn download(i: i64) -> String {
        // 2026-01-05 12:00 UTC plus `i` seconds.
        let t = 1_767_614_400_000 + i * 1000;
        format!(
            r#"{{"time_ms":{t},"action":"file.download","outcome":"allowed","actor":"u1","party":"p1","target":"file:f{i}","detail":{{}}}}"#
        )
    }

    #[test]
    fn replays_and_writes_alerts() {
        let burst: Vec<String> = (0..30).map(download).collect();
        let mut broken = burst.clone();
        broken.push("not json".into());
        broken.push("{}".into());
        let table: [(&[String], bool, &[&str], &str); 4] = [
            (
                &[],
                false,
                &[],
                "replayed 0 events (0 entity-days): 0 alerts, 0 raised at once; malformed lines: none",
            ),
            (
                &burst,
                true,
                &[
                    "2026-01-05 now user u1 score 8.0: user `u1` made 30 downloads, downloaded 30 files and took 30 files never taken before; 30 downloads and views in 29.0 s",
                ],
                "replayed 30 events (2 entity-days): 2 alerts, 2 raised at once",
            ),
            (
                &burst,
                false,
                &["2026-01-05 day user u1 score "],
                "2 alerts",
            ),
            (
                &broken,
                false,
                &[],
                "malformed lines: 1 no_time, 1 not_object",
            ),
        ];
        for (lines, immediate, want, summary) in table {
            let (out, got) = check(lines, immediate);
            for w in want {
                assert!(out.contains(w), "{w} not in {out}");
            }
            assert!(got.contains(summary), "{summary} not in {got}");
            assert_eq!(
                out.contains(" now "),
                immediate && !lines.is_empty(),
                "{out}"
            );
        }
    }
}
