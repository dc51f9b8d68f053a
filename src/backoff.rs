//! The crate's one backoff: a capped doubling wait, pure (the caller owns the clock).
//!
//! Owns: [`Backoff`]. Every retry loop uses it: the MQTT link's reconnects, the vehicle pollers and
//! the charger actuator (which adds the per-error-kind rules on top: a 429 waits its `Retry-After`,
//! a rejection does not wait at all). The sequence is `first`, 2·`first`, 4·`first`… up to `max`,
//! and back to `first` after any success. The arithmetic saturates, so no count of failures can
//! overflow.

use std::time::Duration;

/// A capped doubling wait: `first`, 2·`first`, … up to `max`; `reset` after a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// `first` is at least 10 ms (a zero wait would spin); `max` at least `first`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        let first = first.max(Duration::from_millis(10));
        Backoff {
            first,
            max: max.max(first),
            failures: 0,
        }
    }

    /// The wait the next failure gets, without counting one.
    pub fn peek(&self) -> Duration {
        self.first
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max)
    }

    /// Count a failure and return the wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.peek();
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The longest wait.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The first wait.
    pub fn first(&self) -> Duration {
        self.first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let waits: Vec<u64> = (0..5).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
        assert_eq!(b.failures(), 5);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::new(Duration::from_secs(3600), Duration::MAX);
        for _ in 0..200 {
            b.next_delay();
        }
        assert!(b.peek() >= Duration::from_secs(3600));
    }

    #[test]
    fn a_zero_first_wait_is_raised() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::from_millis(10));
    }
}
