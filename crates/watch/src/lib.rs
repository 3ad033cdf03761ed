//! Behavioural analytics over Custody's events, pure: events in, explained
//! alerts out. No clock, no randomness of its own, no I/O.
//!
//! Events arrive as the JSON lines the SIEM export and the ledger export write
//! ([`parse_line`]); a [`Watcher`] turns them into features per user and per
//! party and per day ([`Feature`]), keeps robust baselines (median and MAD over
//! the last [`HISTORY_DAYS`] days, after a warm-up), compares each entity with
//! its peers (same party and role; parties with parties), adds scenario rules
//! that need no baseline (a mass download before the party's agreement ends,
//! access from a new country, a leaked copy traced to the entity, bursts), and
//! at [`Watcher::close_day`] answers the day's top alerts within an alert
//! budget, each with a sentence naming the features that caused it.
//! [`generate`] writes synthetic activity with planted scenarios and [`eval`]
//! measures detection on it.

mod alert;
mod baseline;
pub mod eval;
mod event;
mod explain;
mod features;
pub mod generate;
mod geo;
mod intern;
pub mod replay;
mod watcher;

pub use baseline::{HISTORY_DAYS, mad, median};
pub use event::{ADMIN, Detail, Event, Kind, ParseError, Parsed, parse_line};
pub use features::{Feature, NF};
pub use watcher::{Alert, Config, Contribution, EndSoon, EntityKind, Geo, RuleHit, Watcher};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;

/// The day (since the Unix epoch, UTC) of a time in milliseconds.
pub fn day_of(time_ms: i64) -> i64 {
    time_ms.div_euclid(DAY_MS)
}

/// The date (`YYYY-MM-DD`, UTC) of a day since the Unix epoch.
pub fn date_of(day: i64) -> String {
    let mut text = generate::rfc3339(day.saturating_mul(DAY_MS));
    text.truncate(10);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_days() {
        let table = [
            (0, "1970-01-01"),
            (20_458, "2026-01-05"),
            (20_513, "2026-03-01"),
        ];
        for (day, want) in table {
            assert_eq!(date_of(day), want);
            assert_eq!(day_of(day * DAY_MS + DAY_MS - 1), day);
        }
        assert_eq!(day_of(-1), -1);
    }
}
