//! What the controller sees at each step: timestamped readings from the meter, the charger and the car,
//! plus the user's overrides.
//!
//! Owns: [`Reading`] (a value with the time it was true, and its freshness at `now`), [`Observation`]
//! and its parts. Sources fill these in; the controller only reads them.

use crate::units::LocalTime;
use crate::units::{Amps, Soc, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A value and the time it was measured (or, when the source cannot say, received).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading<T> {
    pub value: T,
    pub at: DateTime<Utc>,
}

impl<T> Reading<T> {
    pub fn new(value: T, at: DateTime<Utc>) -> Reading<T> {
        Reading { value, at }
    }

    /// Age at `now`. A timestamp in the future (a clock off on the device) counts as age zero.
    pub fn age(&self, now: DateTime<Utc>) -> Duration {
        (now - self.at).to_std().unwrap_or(Duration::ZERO)
    }

    /// Fresh means no older than `max_age` at `now`. Stale readings are "unknown", never "the last value".
    pub fn is_fresh(&self, now: DateTime<Utc>, max_age: Duration) -> bool {
        self.age(now) <= max_age
    }

    /// The value if fresh.
    pub fn fresh(&self, now: DateTime<Utc>, max_age: Duration) -> Option<&T> {
        self.is_fresh(now, max_age).then_some(&self.value)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reading<U> {
        Reading {
            value: f(self.value),
            at: self.at,
        }
    }
}

/// The site's power balance as a meter reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PowerBalance {
    /// Net grid power, import positive, including whatever the car draws now.
    Grid(Watts),
    /// Power available for the car, export positive, not counting the car itself (pv − house load).
    Available(Watts),
}

impl PowerBalance {
    /// Power the car could take right now (export positive), given what it draws now.
    pub fn available(self, car: Watts) -> Watts {
        match self {
            PowerBalance::Grid(g) => car - g,
            PowerBalance::Available(a) => a,
        }
    }
    /// Grid power (import positive), given what the car draws now.
    pub fn grid(self, car: Watts) -> Watts {
        match self {
            PowerBalance::Grid(g) => g,
            PowerBalance::Available(a) => car - a,
        }
    }
}

/// One meter sample: the balance plus whatever else the meter tells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterSample {
    pub balance: PowerBalance,
    /// PV production, when known.
    pub pv: Option<Watts>,
    /// House load without the car, when known.
    pub house_load: Option<Watts>,
    /// Home battery power, **charge positive** (discharging is negative), when known.
    pub battery: Option<Watts>,
}

impl MeterSample {
    pub fn grid(grid: Watts) -> MeterSample {
        MeterSample {
            balance: PowerBalance::Grid(grid),
            pv: None,
            house_load: None,
            battery: None,
        }
    }
}

/// The charger as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChargerObs {
    /// A car is connected. `None` when the charger has not said.
    pub plugged: Option<bool>,
    /// The car is drawing current.
    pub charging: Option<bool>,
    /// The limit the charger applies now (confirmed by the charger or by a successful write).
    pub offered: Option<Amps>,
    /// The charger is paused.
    pub paused: Option<bool>,
    /// What the car draws (from the charger's meter or Smappee's realtime channels).
    pub power: Option<Reading<Watts>>,
    /// The station's own maximum current, when it reports one. Below the configured maximum it
    /// caps every command (a station installed for 16 A behind a config that says 32 A).
    pub max: Option<Amps>,
    /// A tag of the charging session the charger reports (a hash of its id), when it has one. A
    /// new tag while plugged is a replug between two reads: the station reset the connector.
    pub session: Option<u64>,
}

/// The car as last reported by its cloud (Enode, Cariad) or MQTT. Each value carries the time the car
/// captured it, which can be hours ago.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VehicleObs {
    pub soc: Option<Reading<Soc>>,
    pub plugged: Option<Reading<bool>>,
    pub charging: Option<Reading<bool>>,
    /// The car's own charge limit.
    pub charge_limit: Option<Reading<Soc>>,
}

/// What the user asked for through Home Assistant (or MQTT), over the policy file's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Overrides {
    /// Charge at full power now, until unplugged or back to policy.
    pub charge_now: bool,
    pub target_soc: Option<Soc>,
    /// Charge from the grid up to this SoC right away.
    pub min_soc: Option<Soc>,
    pub departure: Option<LocalTime>,
    /// A one-off departure (date and time), over the daily `departure`: "back the day after next".
    pub departure_at: Option<DateTime<Utc>>,
}

/// Everything the controller knows at one step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    pub meter: Option<Reading<MeterSample>>,
    pub charger: ChargerObs,
    pub vehicle: VehicleObs,
    pub overrides: Overrides,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn freshness_and_future_timestamps() {
        let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let r = Reading::new(1, t0);
        let later = t0 + chrono::Duration::seconds(31);
        assert!(!r.is_fresh(later, Duration::from_secs(30)));
        assert!(r.is_fresh(later, Duration::from_secs(31)));
        assert_eq!(r.age(t0 - chrono::Duration::seconds(5)), Duration::ZERO);
    }

    #[test]
    fn balance_views_agree() {
        // Car at 2 kW, grid importing 500 W: 1.5 kW of the car's power is solar.
        let g = PowerBalance::Grid(Watts(500.0));
        assert_eq!(g.available(Watts(2000.0)), Watts(1500.0));
        let a = PowerBalance::Available(Watts(1500.0));
        assert_eq!(a.grid(Watts(2000.0)), Watts(500.0));
    }
}
