//! The only place that reads a clock.
//!
//! Owns: [`Clock`], [`SystemClock`] (wall time, for the service) and [`TokioClock`] (a fixed start plus
//! tokio's monotonic time, so tests that pause and advance tokio time see `now` move with it).
//! Everything else receives `now` from here; `clippy.toml` forbids `Utc::now()` elsewhere.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time. Follows NTP corrections (a box without an RTC boots in the past and jumps).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// `start` plus the tokio time elapsed since construction. Under `tokio::time::pause()` it moves only
/// when the test advances time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now() - self.origin;
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// `start` plus `speed` × the tokio time elapsed since construction: the demo's and the end-to-end
/// tests' accelerated time (the daemon's own timers are divided by the same speed).
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    origin: tokio::time::Instant,
    speed: f64,
}

impl ScaledClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> ScaledClock {
        ScaledClock {
            start,
            origin: tokio::time::Instant::now(),
            speed: speed.max(1e-3),
        }
    }
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = (tokio::time::Instant::now() - self.origin).mul_f64(self.speed);
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}
