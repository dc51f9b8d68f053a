//! State-of-charge estimate between the car's (slow, late) reports.
//!
//! Owns: [`SocEstimator`]. The car's cloud reports SoC minutes to hours late. Between reports the
//! estimate adds the energy the car took since the report's capture time, times the charging
//! efficiency, over the usable capacity. A new report replaces the estimate; an unplug forgets it (the
//! car may drive away). An estimate whose base report is older than the vehicle `max_age` is unknown.

use super::observation::Reading;
use crate::units::{Soc, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SocEstimator {
    base: Option<Reading<Soc>>,
    /// Energy into the battery since the base reading, kWh.
    added_kwh: f64,
}

impl SocEstimator {
    /// Feed one step: the latest report (if any), the car's power over the last `dt_s`.
    pub fn update(
        &mut self,
        report: Option<Reading<Soc>>,
        car_power: Watts,
        dt_s: f64,
        efficiency: f64,
    ) {
        if let Some(r) = report
            && self.base.is_none_or(|b| r.at > b.at)
        {
            self.base = Some(r);
            self.added_kwh = 0.0;
            return;
        }
        if self.base.is_some() {
            self.added_kwh += car_power.0.max(0.0) * dt_s / 3_600_000.0 * efficiency;
        }
    }

    /// Forget everything (unplugged).
    pub fn reset(&mut self) {
        *self = SocEstimator::default();
    }

    /// The estimate at `now`, or `None` when there is no report younger than `max_age`, or no capacity
    /// to convert energy into percent (then the report itself, if fresh).
    pub fn estimate(
        &self,
        now: DateTime<Utc>,
        max_age: Duration,
        capacity_kwh: Option<f64>,
    ) -> Option<Soc> {
        let base = self.base.filter(|b| b.is_fresh(now, max_age))?;
        match capacity_kwh {
            Some(cap) if cap > 0.0 => Some(Soc::saturating(
                base.value.pct() + self.added_kwh / cap * 100.0,
            )),
            _ => Some(base.value),
        }
    }

    /// The latest report itself.
    pub fn report(&self) -> Option<Reading<Soc>> {
        self.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn integrates_energy_between_reports() {
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut est = SocEstimator::default();
        let r = Reading::new(Soc::new(50.0).unwrap(), t0);
        est.update(Some(r), Watts(0.0), 0.0, 0.9);
        // 11 kW for one hour at 90 % into 55 kWh: +18 %.
        for _ in 0..360 {
            est.update(Some(r), Watts(11_000.0), 10.0, 0.9);
        }
        let now = t0 + chrono::Duration::hours(1);
        let s = est
            .estimate(now, Duration::from_secs(7200), Some(55.0))
            .unwrap();
        assert!((s.pct() - 68.0).abs() < 1e-6, "{s}");
        // Too old a base: unknown, never passed off as fresh.
        assert_eq!(
            est.estimate(now, Duration::from_secs(1800), Some(55.0)),
            None
        );
        // A newer report rebases.
        est.update(
            Some(Reading::new(Soc::new(70.0).unwrap(), now)),
            Watts(0.0),
            10.0,
            0.9,
        );
        assert_eq!(
            est.estimate(now, Duration::from_secs(60), Some(55.0)),
            Soc::new(70.0)
        );
    }
}
