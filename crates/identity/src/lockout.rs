//! Lockout of e-mail addresses that have no account. A known account locks
//! after `max_failed_logins` failures (its counters are stored with the user);
//! an address with no account must lock after as many failures too, with the
//! same answer, or the lockout tells which accounts exist. Its counters are
//! kept here, in memory, bounded in size (per node: a cluster of N nodes lets
//! an unknown address try up to N times the limit before every node locks it).

use std::collections::HashMap;
use std::sync::Mutex;

/// Most addresses tracked at once; beyond it, expired entries are dropped
/// first and then the oldest half.
const MAX_TRACKED: usize = 100_000;

/// Failure counters of unknown addresses: failures and locked-until (ms).
#[derive(Debug, Default)]
pub(crate) struct UnknownAccounts {
    seen: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: i64,
    locked_until_ms: Option<i64>,
    last_ms: i64,
}

impl UnknownAccounts {
    /// Whether `email` is locked at `now`.
    pub(crate) fn locked(&self, email: &str, now: i64) -> bool {
        let Ok(seen) = self.seen.lock() else {
            return false;
        };
        seen.get(email)
            .and_then(|e| e.locked_until_ms)
            .is_some_and(|until| until > now)
    }

    /// Counts a failure of `email` at `now`; returns whether it is now locked
    /// (the failure that reaches `max` locks it for `lockout_ms` and resets
    /// the count, as for a known account).
    pub(crate) fn fail(&self, email: &str, now: i64, max: i64, lockout_ms: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.len() >= MAX_TRACKED && !seen.contains_key(email) {
            evict(&mut seen, now, lockout_ms);
        }
        let entry = seen.entry(email.to_owned()).or_insert(Entry {
            failures: 0,
            locked_until_ms: None,
            last_ms: now,
        });
        entry.last_ms = now;
        entry.failures += 1;
        if entry.failures >= max {
            entry.failures = 0;
            entry.locked_until_ms = Some(now + lockout_ms);
            return true;
        }
        false
    }
}

/// Drops entries neither locked nor touched within `lockout_ms`, then, if still
/// full, the least recently touched half.
fn evict(seen: &mut HashMap<String, Entry>, now: i64, lockout_ms: i64) {
    seen.retain(|_, e| e.locked_until_ms.is_some_and(|u| u > now) || now - e.last_ms < lockout_ms);
    if seen.len() >= MAX_TRACKED {
        let mut times: Vec<i64> = seen.values().map(|e| e.last_ms).collect();
        let middle = times.len() / 2;
        let (_, cut, _) = times.select_nth_unstable(middle);
        let cut = *cut;
        seen.retain(|_, e| e.last_ms > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_for_the_lockout() {
        let u = UnknownAccounts::default();
        // (at, fail?, locked after)
        let steps = [
            (0, true, false),
            (1, true, false),
            (2, true, true),
            (3, false, true),
            (1_002, false, false),
            (1_003, true, false),
        ];
        for (at, fail, want) in steps {
            if fail {
                u.fail("x@y.example", at, 3, 1_000);
            }
            assert_eq!(u.locked("x@y.example", at), want, "at {at}");
            assert!(!u.locked("other@y.example", at));
        }
    }

    #[test]
    fn eviction_keeps_locked_and_recent() {
        let mut seen = HashMap::new();
        let entry = |failures, locked_until_ms, last_ms| Entry {
            failures,
            locked_until_ms,
            last_ms,
        };
        seen.insert("locked".to_owned(), entry(0, Some(5_000), 0));
        seen.insert("recent".to_owned(), entry(1, None, 900));
        seen.insert("stale".to_owned(), entry(1, None, 0));
        evict(&mut seen, 1_500, 1_000);
        let mut kept: Vec<_> = seen.keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["locked", "recent"]);
    }
}
