//! Robust baselines: the median and the median absolute deviation (MAD) of a
//! feature over an entity's last [`HISTORY_DAYS`] days, kept in a ring so
//! the memory per entity is bounded.

use crate::features::NF;

/// Days of history kept per entity.
pub const HISTORY_DAYS: usize = 56;

/// The median of `values` (the mean of the two middle ones for an even
/// count); 0 for none. Sorts `values`.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let hi = values.get(n / 2).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        hi
    } else {
        let lo = values.get(n / 2 - 1).copied().unwrap_or(0.0);
        (lo + hi) / 2.0
    }
}

/// The median absolute deviation of `values` from `center`.
pub fn mad(values: &[f64], center: f64) -> f64 {
    let mut dev: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&mut dev)
}

/// An entity's daily feature vectors, the newest last, at most
/// [`HISTORY_DAYS`].
#[derive(Debug, Default, Clone)]
pub struct History {
    days: Vec<[f32; NF]>,
    next: usize,
    /// Days recorded since the entity was first seen (not capped).
    pub seen: u32,
}

impl History {
    /// Records one day.
    pub fn push(&mut self, day: [f32; NF]) {
        if self.days.len() < HISTORY_DAYS {
            self.days.push(day);
        } else if let Some(slot) = self.days.get_mut(self.next) {
            *slot = day;
        }
        self.next = (self.next + 1) % HISTORY_DAYS;
        self.seen = self.seen.saturating_add(1);
    }

    /// The sum of feature `f` over the last `n` kept days.
    pub fn last_sum(&self, f: usize, n: usize) -> f64 {
        let len = self.days.len();
        (1..=n.min(len))
            .filter_map(|back| {
                self.days
                    .get((self.next + HISTORY_DAYS - back) % HISTORY_DAYS % len.max(1))
            })
            .map(|d| f64::from(d.get(f).copied().unwrap_or(0.0)))
            .sum()
    }

    /// The median and MAD of feature `f` over the kept days.
    pub fn baseline(&self, f: usize) -> (f64, f64) {
        let mut values: Vec<f64> = self
            .days
            .iter()
            .map(|d| f64::from(d.get(f).copied().unwrap_or(0.0)))
            .collect();
        let m = median(&mut values);
        (m, mad(&values, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_mad_by_hand() {
        // Worked by hand: sorted 1 2 3 4 100 → median 3; deviations
        // 2 1 0 1 97 → sorted 0 1 1 2 97 → MAD 1.
        let table: [(&[f64], f64, f64); 5] = [
            (&[], 0.0, 0.0),
            (&[5.0], 5.0, 0.0),
            (&[100.0, 1.0, 3.0, 2.0, 4.0], 3.0, 1.0),
            // 0 0 10 10 → median 5, deviations all 5 → MAD 5.
            (&[0.0, 10.0, 0.0, 10.0], 5.0, 5.0),
            // 0 0 0 2 → median 0, deviations 0 0 0 2 → MAD 0.
            (&[0.0, 2.0, 0.0, 0.0], 0.0, 0.0),
        ];
        for (values, want_median, want_mad) in table {
            let mut v = values.to_vec();
            let m = median(&mut v);
            assert_eq!((m, mad(values, m)), (want_median, want_mad), "{values:?}");
        }
    }

    #[test]
    fn history_keeps_the_last_days() {
        let mut h = History::default();
        for i in 0..(HISTORY_DAYS + 10) {
            let mut d = [0.0; NF];
            d[0] = i as f32;
            h.push(d);
        }
        assert_eq!(h.seen as usize, HISTORY_DAYS + 10);
        // Kept: 10 ..= 65, median (37 + 38) / 2.
        assert_eq!(h.baseline(0).0, 37.5);
        // The last three: 63 + 64 + 65.
        assert_eq!(h.last_sum(0, 3), 192.0);
        let mut short = History::default();
        for i in 1..=2 {
            let mut d = [0.0; NF];
            d[0] = i as f32;
            short.push(d);
        }
        assert_eq!(short.last_sum(0, 6), 3.0);
        assert_eq!(short.last_sum(0, 1), 2.0);
    }
}
