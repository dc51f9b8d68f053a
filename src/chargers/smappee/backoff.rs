//! How long the Smappee adapter waits after a failure before it calls the API again.
//!
//! Owns: [`Backoff`]. A 429 waits for its `Retry-After` (at least 1 s), else like a transient failure:
//! 5 s, doubling up to 5 min; any success resets it. Rejections, auth and protocol errors do not wait
//! (repeating them is decided elsewhere). Based on tokio time, so a paused test clock drives it.

use super::auth::VENDOR;
use crate::vendor::VendorError;
use std::time::Duration;
use tokio::time::Instant;

const BACKOFF_START: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const RETRY_AFTER_MIN: Duration = Duration::from_secs(1);

/// The wait before the next call.
#[derive(Debug, Default)]
pub struct Backoff {
    until: Option<Instant>,
    next: Duration,
    cause: Option<VendorError>,
}

impl Backoff {
    /// `Err` while waiting, saying how long is left.
    pub fn check(&self) -> Result<(), VendorError> {
        let (Some(until), Some(cause)) = (self.until, &self.cause) else {
            return Ok(());
        };
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        let left = until - now;
        Err(match cause {
            VendorError::RateLimited { .. } => VendorError::RateLimited {
                vendor: VENDOR,
                retry_after: Some(left),
            },
            other => VendorError::Transient {
                vendor: VENDOR,
                detail: format!("waiting {:.0}s after: {other}", left.as_secs_f64().ceil()),
            },
        })
    }

    /// Start (or lengthen) the wait after `e`, if it is worth waiting for.
    pub fn failed(&mut self, e: &VendorError) -> Option<Duration> {
        let base = if self.next.is_zero() {
            BACKOFF_START
        } else {
            self.next
        };
        let wait = match e {
            VendorError::RateLimited { retry_after, .. } => {
                retry_after.unwrap_or(base).max(RETRY_AFTER_MIN)
            }
            VendorError::Transient { .. } => base,
            _ => return None,
        };
        self.next = (base * 2).min(BACKOFF_MAX);
        self.until = Some(Instant::now() + wait);
        self.cause = Some(e.clone());
        Some(wait)
    }

    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transient() -> VendorError {
        VendorError::Transient {
            vendor: VENDOR,
            detail: "HTTP 503".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn doubles_to_five_minutes_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8)
            .map(|_| b.failed(&transient()).unwrap().as_secs())
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert!(
            b.check()
                .unwrap_err()
                .to_string()
                .contains("waiting 300s after")
        );
        b.reset();
        assert!(b.check().is_ok());
        assert_eq!(b.failed(&transient()), Some(BACKOFF_START));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_counts_down() {
        let mut b = Backoff::default();
        let e = VendorError::RateLimited {
            vendor: VENDOR,
            retry_after: Some(Duration::from_secs(42)),
        };
        assert_eq!(b.failed(&e), Some(Duration::from_secs(42)));
        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(
            b.check().unwrap_err().retry_after(),
            Some(Duration::from_secs(2))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(b.check().is_ok());
        let zero = VendorError::RateLimited {
            vendor: VENDOR,
            retry_after: Some(Duration::ZERO),
        };
        assert_eq!(b.failed(&zero), Some(RETRY_AFTER_MIN), "never a busy loop");
    }

    #[test]
    fn rejections_do_not_wait() {
        let mut b = Backoff::default();
        let e = VendorError::Rejected {
            vendor: VENDOR,
            status: 400,
            detail: String::new(),
        };
        assert_eq!(b.failed(&e), None);
        assert!(b.check().is_ok());
    }
}
