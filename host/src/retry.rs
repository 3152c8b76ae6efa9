//! [`Backoff`]: the one exponential back-off the crate uses (restarting a faulting guest,
//! retrying a rejected file).

use std::time::Duration;

/// Waits that double with every consecutive failure, from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) first: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The wait after the `failures`-th failure in a row: `first` after the first one,
    /// then doubling, never more than `max` (and zero for no failure).
    pub(crate) fn after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(30);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_first_wait_to_the_cap() {
        let backoff = Backoff {
            first: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        let waits: Vec<u128> = (0..=5).map(|n| backoff.after(n).as_millis()).collect();
        assert_eq!(waits, [0, 10, 20, 40, 50, 50]);
        assert_eq!(backoff.after(u32::MAX), Duration::from_millis(50));
    }
}
