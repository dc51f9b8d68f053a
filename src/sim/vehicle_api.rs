//! The car's cloud (Enode, Cariad): the SoC captured now and then, delivered late, rounded.
//!
//! Owns: [`VehicleApiModel`]. Every `period` the car captures its SoC (rounded to `resolution_pct`,
//! nearest) and its charge limit; the daemon has them `latency` later, stamped with the capture time
//! (Enode's `lastUpdated`, Cariad's `carCapturedTimestamp`), as `VehicleObs` readings.

use super::spec::{VehicleApiSpec, ms};
use crate::control::{Reading, VehicleObs};
use crate::units::Soc;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Capture {
    at_ms: i64,
    soc: f64,
    limit: f64,
}

#[derive(Debug, Clone)]
pub struct VehicleApiModel {
    enabled: bool,
    period_ms: i64,
    latency_ms: i64,
    resolution: f64,
    next_ms: i64,
    in_flight: VecDeque<Capture>,
    latest: Option<Capture>,
}

impl VehicleApiModel {
    pub fn new(spec: &VehicleApiSpec, start_ms: i64) -> VehicleApiModel {
        VehicleApiModel {
            enabled: spec.enabled,
            period_ms: ms(spec.period).max(1),
            latency_ms: ms(spec.latency),
            resolution: spec.resolution_pct,
            next_ms: start_ms,
            in_flight: VecDeque::with_capacity(8),
            latest: None,
        }
    }

    /// Advance to `t_ms` with the car's true SoC and charge limit.
    #[inline]
    pub fn step(&mut self, t_ms: i64, soc: f64, limit: f64) {
        if !self.enabled {
            return;
        }
        if t_ms >= self.next_ms {
            self.next_ms += self.period_ms;
            let soc = if self.resolution > 0.0 {
                (soc / self.resolution).round() * self.resolution
            } else {
                soc
            };
            self.in_flight.push_back(Capture {
                at_ms: t_ms,
                soc: soc.clamp(0.0, 100.0),
                limit,
            });
        }
        while let Some(c) = self.in_flight.front() {
            if c.at_ms + self.latency_ms > t_ms {
                break;
            }
            self.latest = self.in_flight.pop_front();
        }
    }

    /// What the daemon's vehicle source knows now.
    pub fn observation(&self) -> VehicleObs {
        let Some(c) = self.latest else {
            return VehicleObs::default();
        };
        let at = DateTime::<Utc>::from_timestamp_millis(c.at_ms).unwrap_or_default();
        VehicleObs {
            soc: Some(Reading::new(Soc::saturating(c.soc), at)),
            plugged: None,
            charging: None,
            charge_limit: Some(Reading::new(Soc::saturating(c.limit), at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::HumanDuration;

    #[test]
    fn late_rounded_and_stamped_with_the_capture_time() {
        let spec = VehicleApiSpec {
            period: HumanDuration::secs(600),
            latency: HumanDuration::secs(120),
            ..VehicleApiSpec::default()
        };
        let mut v = VehicleApiModel::new(&spec, 0);
        v.step(0, 41.6, 80.0);
        assert_eq!(v.observation(), VehicleObs::default(), "not delivered yet");
        v.step(120_000, 43.0, 80.0);
        let o = v.observation();
        let soc = o.soc.unwrap();
        assert_eq!(soc.value, Soc::new(42.0).unwrap(), "41.6 % rounds to 42");
        assert_eq!(
            soc.at.timestamp_millis(),
            0,
            "stamped when captured, not when received"
        );
        assert_eq!(o.charge_limit.unwrap().value, Soc::new(80.0).unwrap());

        let off = VehicleApiSpec {
            enabled: false,
            ..VehicleApiSpec::default()
        };
        let mut v = VehicleApiModel::new(&off, 0);
        v.step(1_000_000, 50.0, 80.0);
        assert_eq!(v.observation(), VehicleObs::default());
    }
}
