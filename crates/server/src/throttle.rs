//! Per-address throttling of sign-in attempts: a fixed window counter per
//! source address, in memory, bounded in size. It complements the per-account
//! lockout (which `app` enforces): one address cannot try many accounts quickly.
//!
//! [`GuessThrottle`] slows down guessing of share links' passwords and
//! one-time codes: failures are counted per key (a link and an address; an
//! address across links) over a window, and past a free allowance each further
//! attempt of that key waits twice as long as the one before, from one second
//! up to a cap. Keys are per address, so one address guessing never slows
//! another address down (an honest recipient behind another NAT is not locked
//! out); the per-address key, with a much larger allowance, catches one address
//! spreading its guesses over many links.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses tracked at once; beyond it, expired windows are dropped first
/// and then the table is reset (failing open for throttling, never for auth).
const MAX_TRACKED: usize = 100_000;

/// Attempts allowed per address per window.
pub struct LoginThrottle {
    limit: u32,
    window_ms: u128,
    started: Instant,
    seen: Mutex<HashMap<IpAddr, (u128, u32)>>,
}

impl LoginThrottle {
    /// `limit` attempts per `window_ms` per address.
    pub fn new(limit: u32, window_ms: u128) -> Self {
        LoginThrottle {
            limit,
            window_ms,
            started: Instant::now(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` at `now_ms` (milliseconds on any monotonic
    /// scale); returns whether it is within the limit.
    pub fn allow_at(&self, ip: IpAddr, now_ms: u128) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, (start, _)| now_ms.saturating_sub(*start) < self.window_ms);
            if seen.len() >= MAX_TRACKED {
                seen.clear();
            }
        }
        let entry = seen.entry(ip).or_insert((now_ms, 0));
        if now_ms.saturating_sub(entry.0) >= self.window_ms {
            *entry = (now_ms, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }

    /// Counts an attempt now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.allow_at(ip, self.started.elapsed().as_millis())
    }
}

impl Default for LoginThrottle {
    /// 30 attempts per minute per address.
    fn default() -> Self {
        LoginThrottle::new(30, 60_000)
    }
}

/// Failed guesses per key, with growing back-off (see the module's text).
pub struct GuessThrottle {
    /// Failures of a key in the window that cost no wait.
    free: u32,
    window_ms: u128,
    max_delay_ms: u128,
    started: Instant,
    /// key → (first failure of the window, failures, last failure).
    seen: Mutex<HashMap<String, (u128, u32, u128)>>,
}

impl GuessThrottle {
    /// `free` failures per `window_ms` per key, then waits doubling from one
    /// second up to `max_delay_ms`.
    pub fn new(free: u32, window_ms: u128, max_delay_ms: u128) -> Self {
        GuessThrottle {
            free,
            window_ms,
            max_delay_ms,
            started: Instant::now(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The time since start, on the throttle's own scale.
    pub fn now_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    /// How long `key` must still wait at `now_ms` before its next attempt (0: none).
    pub fn wait_ms(&self, key: &str, now_ms: u128) -> u128 {
        let Ok(seen) = self.seen.lock() else {
            return self.max_delay_ms;
        };
        let Some(&(first, count, last)) = seen.get(key) else {
            return 0;
        };
        if now_ms.saturating_sub(first) >= self.window_ms || count < self.free {
            return 0;
        }
        let doublings = (count - self.free).min(30);
        let delay = (1000u128 << doublings).min(self.max_delay_ms);
        (last + delay).saturating_sub(now_ms)
    }

    /// Counts a failure of `key` at `now_ms`.
    pub fn fail(&self, key: &str, now_ms: u128) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= MAX_TRACKED {
            seen.retain(|_, (first, _, _)| now_ms.saturating_sub(*first) < self.window_ms);
            if seen.len() >= MAX_TRACKED {
                seen.clear();
            }
        }
        let entry = seen.entry(key.to_owned()).or_insert((now_ms, 0, now_ms));
        if now_ms.saturating_sub(entry.0) >= self.window_ms {
            *entry = (now_ms, 0, now_ms);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.2 = now_ms;
    }
}

impl Default for GuessThrottle {
    /// 5 free failures per key per hour, then waits up to 5 minutes.
    fn default() -> Self {
        GuessThrottle::new(5, 3_600_000, 300_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(key, at, fail?)` steps and the wait each key has after its step.
    #[test]
    fn guesses_wait_longer_after_each_failure_past_the_allowance() {
        let t = GuessThrottle::new(2, 100_000, 8_000);
        let steps: &[(&str, u128, u128)] = &[
            // key, at (a failure there), the wait the key then has
            ("a", 0, 0),
            ("a", 10, 1_000),
            ("a", 1_010, 2_000),
            ("a", 3_010, 4_000),
            ("a", 7_010, 8_000),
            ("a", 15_010, 8_000),
            // another key is not slowed down
            ("b", 15_010, 0),
        ];
        for &(key, at, want) in steps {
            t.fail(key, at);
            assert_eq!(t.wait_ms(key, at), want, "{key} at {at}");
        }
        assert_eq!(t.wait_ms("a", 20_000), 3_010);
        assert_eq!(t.wait_ms("c", 0), 0);
        // A new window forgets.
        assert_eq!(t.wait_ms("a", 200_000), 0);
    }

    #[test]
    fn limits_per_address_and_window() {
        let t = LoginThrottle::new(3, 1_000);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let steps = [
            (a, 0, true),
            (a, 10, true),
            (a, 20, true),
            (a, 30, false),
            (b, 30, true),
            (a, 999, false),
            (a, 1_000, true),
        ];
        for (ip, at, want) in steps {
            assert_eq!(t.allow_at(ip, at), want, "{ip} at {at}");
        }
    }
}
