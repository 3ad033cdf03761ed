//! Runs of the background jobs in this process (sweeps, checkpoint signing),
//! by job and outcome, for `/metrics` (`custody_job_runs_total`). Counters
//! start from zero when the process starts, as Prometheus expects.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

static RUNS: Mutex<BTreeMap<(&'static str, &'static str), u64>> = Mutex::new(BTreeMap::new());

/// Counts one run of `job` (a stable snake_case name) with `result`'s outcome:
/// `ok` or `failed`.
pub fn ran<T, E>(job: &'static str, result: &Result<T, E>) {
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    *runs.entry((job, outcome)).or_default() += 1;
}

/// The runs so far: (job, outcome, count), sorted.
pub fn run_counts() -> Vec<(&'static str, &'static str, u64)> {
    let runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    runs.iter().map(|((j, o), n)| (*j, *o, *n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_counted_by_job_and_outcome() {
        ran::<(), ()>("test_job", &Ok(()));
        ran::<(), ()>("test_job", &Ok(()));
        ran::<(), ()>("test_job", &Err(()));
        let mine: Vec<_> = run_counts()
            .into_iter()
            .filter(|(j, _, _)| *j == "test_job")
            .collect();
        assert_eq!(mine, [("test_job", "failed", 1), ("test_job", "ok", 2)]);
    }
}
