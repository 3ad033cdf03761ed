//! Back-off for wrong guesses at secrets (share-link passwords, one-time
//! codes, sign-in passwords), kept in the database so every node sees it
//! (`guess_failures`). A guess counts in one or more scopes, each keyed (a
//! link and an address, an address, an account …) with its own allowance of
//! free failures per hour; past it, each further failure sets a wait that
//! starts at one second and doubles up to five minutes. A guess that must
//! wait is refused before it is evaluated. The use-cases choose the scopes
//! (content/src/guesses.rs for links, the sign-in for addresses).

use std::net::IpAddr;

use crate::{App, AppError};

/// The window failures are counted over.
pub const WINDOW_MS: i64 = 3_600_000;
/// The first wait after the free failures.
pub const BASE_WAIT_MS: i64 = 1_000;
/// The longest wait.
pub const MAX_WAIT_MS: i64 = 300_000;

/// One count a guess is made in: a scope, its key, and the failures it
/// allows in the window before the first wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    pub scope: &'static str,
    pub key: String,
    pub free: i64,
}

/// The wait after the `failures`-th failure of a count with `free` free
/// failures: none before the `free`-th, then one second, doubling with each.
pub fn wait_after(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    BASE_WAIT_MS.saturating_mul(1 << doublings).min(MAX_WAIT_MS)
}

/// The address a guess is counted by: the IP, an IPv6 one by its /64.
pub fn address_key(source: Option<&str>) -> String {
    match source.and_then(|s| s.parse::<IpAddr>().ok()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

/// How many milliseconds a guess counted in `counts` must still wait (0: none).
pub async fn wait_ms(app: &App, counts: &[Count]) -> Result<i64, AppError> {
    let now = app.now();
    let mut tx = app.store().read().await?;
    let mut until = 0;
    for c in counts {
        until = until.max(tx.guess_blocked_until(c.scope, &c.key).await?);
    }
    Ok(until.saturating_sub(now).max(0))
}

/// Counts a wrong guess in each of `counts`; the waits it sets apply from
/// the next guess. Old counts are pruned on the way.
pub async fn fail(app: &App, counts: &[Count]) -> Result<(), AppError> {
    let now = app.now();
    let mut tx = app.store().begin().await?;
    for c in counts {
        let failures = tx.guess_fail(c.scope, &c.key, now, WINDOW_MS).await?;
        let wait = wait_after(failures, c.free);
        if wait > 0 {
            tx.guess_block(c.scope, &c.key, now + wait).await?;
        }
    }
    tx.guess_prune(now - 2 * WINDOW_MS, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A right guess: the count `scope`/`key` starts again.
pub async fn clear(app: &App, scope: &str, key: &str) -> Result<(), AppError> {
    let mut tx = app.store().begin().await?;
    tx.guess_clear(scope, key).await?;
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
