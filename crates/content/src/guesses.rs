//! Back-off for wrong guesses at a share link's secrets (its password, the
//! codes mailed to its recipients) and at an upload request's codes, kept in
//! the database so every node sees it (`guess_failures`). A link and an
//! upload request are both keyed by their id (`link` below); the per-address
//! count is shared by both. Three counts, each over an hour:
//!
//! | scope | key | wrong guesses before the first wait | then |
//! |---|---|---|---|
//! | `link_address` | the link and the guesser's address | 5 | 1 s, doubling with each failure, up to 5 min |
//! | `link` | the link, from every address | 50 | the same |
//! | `address` | the address, at every link | 100 | the same |
//!
//! A guess that must wait is refused before it is evaluated (`link_throttled`,
//! with the seconds left), so a guesser behind one address gets a handful of
//! tries an hour, while someone else with the right password, from another
//! address, gets in at once — until many addresses together have failed on
//! the same link (the per-link count, much higher than the per-address one,
//! so one guesser cannot lock everyone out). A verified recipient's browser
//! is held to its own (link, address) count only. A right guess clears the
//! (link, address) count. An IPv6 address counts by its /64.

use std::net::IpAddr;

use std::fmt::Display;

use kernel::{App, AppError, ErrorCode};

/// The window failures are counted over.
pub const WINDOW_MS: i64 = 3_600_000;
/// The first wait after the free failures.
pub const BASE_WAIT_MS: i64 = 1_000;
/// The longest wait.
pub const MAX_WAIT_MS: i64 = 300_000;

/// Wrong guesses before the first wait, per scope.
const FREE: [(&str, i64); 3] = [("link_address", 5), ("link", 50), ("address", 100)];

/// The wait after the `failures`-th failure of a scope with `free` free
/// failures: none before the `free`-th, then one second, doubling with each.
pub(crate) fn wait_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    BASE_WAIT_MS.saturating_mul(1 << doublings).min(MAX_WAIT_MS)
}

/// The address a guess is counted by: the IP, an IPv6 one by its /64.
pub(crate) fn address_key(source: Option<&str>) -> String {
    match source.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

/// The (scope, key) pairs a guess at `link` from `address` counts in.
fn keys(link: impl Display, address: &str, verified: bool) -> Vec<(&'static str, String)> {
    let mut out = vec![("link_address", format!("{link}/{address}"))];
    if !verified {
        out.push(("link", link.to_string()));
        out.push(("address", address.to_owned()));
    }
    out
}

/// Refuses a guess that must still wait.
pub(crate) async fn check(
    app: &App,
    link: impl Display,
    address: &str,
    verified: bool,
) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store().read().await?;
    let mut until = 0;
    for (scope, key) in keys(link, address, verified) {
        until = until.max(tx.guess_blocked_until(scope, &key).await?);
    }
    if until > now {
        let seconds = (until - now + 999) / 1000;
        return Err(AppError::invalid(
            ErrorCode::LinkThrottled,
            format!(
                "too many wrong tries at this link from your address: wait {seconds} s before the next"
            ),
        ));
    }
    Ok(())
}

/// Counts a wrong guess; the waits it sets apply from the next guess.
pub(crate) async fn fail(
    app: &App,
    link: impl Display,
    address: &str,
    verified: bool,
) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store().begin().await?;
    for (scope, key) in keys(link, address, verified) {
        let failures = tx.guess_fail(scope, &key, now, WINDOW_MS).await?;
        let free = FREE
            .iter()
            .find(|(s, _)| *s == scope)
            .map_or(0, |(_, f)| *f);
        let wait = wait_after(failures, free);
        if wait > 0 {
            tx.guess_block(scope, &key, now + wait).await?;
        }
    }
    tx.guess_prune(now - 2 * WINDOW_MS, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A right guess: the (link, address) count starts again.
pub(crate) async fn succeed(app: &App, link: impl Display, address: &str) -> Result<(), AppError> {
    let mut tx = app.store().begin().await?;
    tx.guess_clear("link_address", &format!("{link}/{address}"))
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_longest() {
        for (failures, free, want) in [
            (1, 5, 0),
            (4, 5, 0),
            (5, 5, 1_000),
            (6, 5, 2_000),
            (9, 5, 16_000),
            (13, 5, 256_000),
            (14, 5, MAX_WAIT_MS),
            (1_000, 5, MAX_WAIT_MS),
            (i64::MAX, 5, MAX_WAIT_MS),
        ] {
            assert_eq!(
                wait_after(failures, free),
                want,
                "{failures} of {free} free"
            );
        }
    }

    #[test]
    fn an_ipv6_address_counts_by_its_64() {
        for (source, want) in [
            (Some("203.0.113.9"), "203.0.113.9"),
            (Some("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"),
            (Some("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64"),
            (Some("not an address"), "unknown"),
            (None, "unknown"),
        ] {
            assert_eq!(address_key(source), want, "{source:?}");
        }
    }
}
