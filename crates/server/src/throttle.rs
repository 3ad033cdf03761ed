//! Per-address throttling of sign-in attempts: a fixed window counter per
//! source address, in memory, bounded in size. It complements the per-account
//! lockout (which `app` enforces): one address cannot try many accounts quickly.

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

#[cfg(test)]
mod tests {
    use super::*;

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
