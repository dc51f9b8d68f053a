//! Physical units as types, and the conversions between them.
//!
//! Owns: [`Watts`], [`Amps`], [`Volts`], [`Percent`], [`Soc`], [`Phases`], the A ↔ W conversion of a
//! supply ([`Supply`]) and the Smappee percentage mapping ([`PercentScale`]); durations and times of
//! day as people write them ([`HumanDuration`], [`LocalTime`], in `time.rs`).
//!
//! Sign conventions are stated once, on the type that carries them:
//! - grid power is **import positive** (a negative grid reading is export);
//! - surplus (power available for the car) is **export positive**;
//! - car, PV and house-load power are positive when energy flows the usual way.
//!
//! Rounding rules (tested at the edges below):
//! - whole-amp commands ([`Amps::floor_to_step`]) round **down**, so the charger never draws more than the
//!   controller asked for; a value within 1e-6 A of the next step counts as that step (8.6 A asked with
//!   0.26 A steps is exactly 10 %, not 9 %);
//! - amps → Smappee percent rounds down the same way; percent → amps is exact.

mod time;

pub use time::{HumanDuration, LocalTime};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Mul, Neg, Sub};

/// Tolerance used when snapping a float to a step: absorbs binary rounding (2.6 * 100 / 26 = 9.999…).
const STEP_EPSILON: f64 = 1e-6;

macro_rules! unit_newtype {
    ($(#[$doc:meta])* $name:ident, $suffix:literal, $precision:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            pub const ZERO: $name = $name(0.0);
            pub fn value(self) -> f64 {
                self.0
            }
            pub fn abs(self) -> $name {
                $name(self.0.abs())
            }
            pub fn max(self, other: $name) -> $name {
                $name(self.0.max(other.0))
            }
            pub fn min(self, other: $name) -> $name {
                $name(self.0.min(other.0))
            }
            pub fn clamp(self, lo: $name, hi: $name) -> $name {
                $name(self.0.max(lo.0).min(hi.0))
            }
            pub fn is_finite(self) -> bool {
                self.0.is_finite()
            }
        }

        impl Add for $name {
            type Output = $name;
            fn add(self, o: $name) -> $name {
                $name(self.0 + o.0)
            }
        }
        impl Sub for $name {
            type Output = $name;
            fn sub(self, o: $name) -> $name {
                $name(self.0 - o.0)
            }
        }
        impl Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                $name(-self.0)
            }
        }
        impl Mul<f64> for $name {
            type Output = $name;
            fn mul(self, k: f64) -> $name {
                $name(self.0 * k)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!("{:.", $precision, "} ", $suffix), self.0)
            }
        }
    };
}

unit_newtype!(
    /// Electrical power in watts. The sign convention is the one of the quantity it measures
    /// (grid: import positive; surplus: export positive; car, PV, load: consumption/production positive).
    Watts,
    "W",
    "0"
);
unit_newtype!(
    /// Current per phase in amperes.
    Amps,
    "A",
    "2"
);
unit_newtype!(
    /// Voltage per phase (line to neutral) in volts.
    Volts,
    "V",
    "0"
);
unit_newtype!(
    /// A percentage, 0..=100 where the context requires it (Smappee limits, charge limits).
    Percent,
    "%",
    "1"
);

impl Watts {
    pub fn kilowatts(self) -> f64 {
        self.0 / 1000.0
    }
    pub fn from_kw(kw: f64) -> Watts {
        Watts(kw * 1000.0)
    }
}

impl Amps {
    /// Round down to a multiple of `step` above `base` (`base + n·step`), treating values within
    /// 1e-6 A of the next multiple as that multiple. Used for commands: never more than asked.
    pub fn floor_to_step(self, base: Amps, step: Amps) -> Amps {
        if step.0 <= 0.0 {
            return self;
        }
        let n = ((self.0 - base.0) / step.0 + STEP_EPSILON).floor();
        Amps(base.0 + n * step.0)
    }
}

/// Vehicle state of charge, 0..=100 %. Construct with [`Soc::new`], which refuses anything else.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Soc(f64);

impl Soc {
    pub const EMPTY: Soc = Soc(0.0);
    pub const FULL: Soc = Soc(100.0);

    /// A SoC in 0..=100 %; `None` for anything else (including NaN).
    pub fn new(pct: f64) -> Option<Soc> {
        (0.0..=100.0).contains(&pct).then_some(Soc(pct))
    }
    /// Clamp an estimate (e.g. a simulated battery) into 0..=100 %.
    pub fn saturating(pct: f64) -> Soc {
        if pct.is_nan() {
            Soc(0.0)
        } else {
            Soc(pct.clamp(0.0, 100.0))
        }
    }
    pub fn pct(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Soc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Soc, D::Error> {
        let v = f64::deserialize(d)?;
        Soc::new(v)
            .ok_or_else(|| serde::de::Error::custom(format!("SoC {v} is not within 0..=100 %")))
    }
}

impl fmt::Display for Soc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.0} %", self.0)
    }
}

/// Number of phases the car charges on. Only 1 and 3 exist on home chargers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Phases {
    One,
    Three,
}

impl Phases {
    pub fn count(self) -> u8 {
        match self {
            Phases::One => 1,
            Phases::Three => 3,
        }
    }
}

impl TryFrom<u8> for Phases {
    type Error = String;
    fn try_from(n: u8) -> Result<Phases, String> {
        match n {
            1 => Ok(Phases::One),
            3 => Ok(Phases::Three),
            _ => Err(format!("phases must be 1 or 3, not {n}")),
        }
    }
}

impl From<Phases> for u8 {
    fn from(p: Phases) -> u8 {
        p.count()
    }
}

impl fmt::Display for Phases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}p", self.count())
    }
}

/// An AC supply: phases × voltage. Converts a per-phase current to total power and back,
/// assuming a unity power factor (what EV chargers present in practice).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Supply {
    pub phases: Phases,
    pub voltage: Volts,
}

impl Supply {
    pub fn new(phases: Phases, voltage: Volts) -> Supply {
        Supply { phases, voltage }
    }
    /// Total power drawn at `amps` per phase.
    pub fn power(self, amps: Amps) -> Watts {
        Watts(amps.0 * self.voltage.0 * f64::from(self.phases.count()))
    }
    /// Per-phase current that draws `watts` in total.
    pub fn current(self, watts: Watts) -> Amps {
        Amps(watts.0 / (self.voltage.0 * f64::from(self.phases.count())))
    }
}

/// Smappee's percentage limit: 0 % is the floor (6 A), 100 % the configured maximum, linear between.
/// One percent is `(max − floor) / 100` amps (0.26 A for a 32 A station).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PercentScale {
    floor: Amps,
    max: Amps,
}

impl PercentScale {
    /// `None` unless `max > floor > 0`.
    pub fn new(floor: Amps, max: Amps) -> Option<PercentScale> {
        (floor.0 > 0.0 && max.0 > floor.0).then_some(PercentScale { floor, max })
    }
    pub fn floor(self) -> Amps {
        self.floor
    }
    pub fn max(self) -> Amps {
        self.max
    }
    /// Amps per percent step.
    pub fn step(self) -> Amps {
        Amps((self.max.0 - self.floor.0) / 100.0)
    }
    /// The current a percentage delivers. Exact; values above 100 are treated as 100.
    pub fn amps(self, pct: u8) -> Amps {
        let p = f64::from(pct.min(100));
        Amps(self.floor.0 + p * self.step().0)
    }
    /// The largest percentage that does not exceed `amps`, or `None` below the floor (pause instead).
    /// Above the maximum it is 100.
    pub fn percent(self, amps: Amps) -> Option<u8> {
        if amps.0 + STEP_EPSILON < self.floor.0 || amps.0.is_nan() {
            return None;
        }
        let raw = ((amps.0 - self.floor.0) / self.step().0 + STEP_EPSILON).floor();
        Some(raw.clamp(0.0, 100.0) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale32() -> PercentScale {
        PercentScale::new(Amps(6.0), Amps(32.0)).unwrap()
    }

    #[test]
    fn supply_converts_both_ways() {
        let three = Supply::new(Phases::Three, Volts(230.0));
        assert_eq!(three.power(Amps(6.0)), Watts(4140.0));
        assert!((three.current(Watts(4140.0)).0 - 6.0).abs() < 1e-12);
        let one = Supply::new(Phases::One, Volts(230.0));
        assert_eq!(one.power(Amps(16.0)), Watts(3680.0));
        assert_eq!(one.current(Watts(-230.0)), Amps(-1.0));
    }

    #[test]
    fn percent_edges() {
        let s = scale32();
        assert_eq!(s.percent(Amps(6.0)), Some(0));
        assert_eq!(
            s.percent(Amps(8.6)),
            Some(10),
            "seed 003: 10 % of a 32 A station is 8.6 A"
        );
        assert!((s.amps(10).0 - 8.6).abs() < 1e-9);
        assert_eq!(s.percent(Amps(32.0)), Some(100));
        assert_eq!(
            s.percent(Amps(40.0)),
            Some(100),
            "above max is capped, never > 100"
        );
        assert_eq!(
            s.percent(Amps(5.99)),
            None,
            "below the floor there is no percentage: pause"
        );
        assert_eq!(
            s.percent(Amps(5.9999999)),
            Some(0),
            "float noise at the floor is the floor"
        );
        assert_eq!(
            s.percent(Amps(8.85)),
            Some(10),
            "rounds down: 8.85 A is not yet 11 %"
        );
        assert_eq!(s.percent(Amps(f64::NAN)), None);
        assert!((s.step().0 - 0.26).abs() < 1e-12);
        assert_eq!(s.amps(250), Amps(32.0));
    }

    #[test]
    fn every_percent_round_trips() {
        for max in [10.0, 16.0, 20.0, 25.0, 32.0] {
            let s = PercentScale::new(Amps(6.0), Amps(max)).unwrap();
            for p in 0..=100u8 {
                assert_eq!(s.percent(s.amps(p)), Some(p), "max {max} A, {p} %");
            }
        }
    }

    #[test]
    fn percent_scale_refuses_nonsense() {
        assert!(PercentScale::new(Amps(6.0), Amps(6.0)).is_none());
        assert!(PercentScale::new(Amps(0.0), Amps(16.0)).is_none());
    }

    #[test]
    fn floor_to_step_rounds_down_with_tolerance() {
        assert_eq!(Amps(7.99).floor_to_step(Amps(0.0), Amps(1.0)), Amps(7.0));
        assert_eq!(
            Amps(7.9999999).floor_to_step(Amps(0.0), Amps(1.0)),
            Amps(8.0)
        );
        assert_eq!(Amps(16.0).floor_to_step(Amps(0.0), Amps(1.0)), Amps(16.0));
        let a = Amps(8.6).floor_to_step(Amps(6.0), Amps(0.26));
        assert!((a.0 - 8.6).abs() < 1e-9);
    }

    #[test]
    fn soc_is_validated() {
        assert!(Soc::new(-0.1).is_none());
        assert!(Soc::new(100.1).is_none());
        assert!(Soc::new(f64::NAN).is_none());
        assert_eq!(Soc::new(100.0), Some(Soc::FULL));
        assert_eq!(Soc::saturating(120.0), Soc::FULL);
        assert!(serde_json::from_str::<Soc>("101").is_err());
    }

    #[test]
    fn phases_only_one_or_three() {
        assert_eq!(Phases::try_from(3), Ok(Phases::Three));
        assert!(Phases::try_from(2).is_err());
    }
}
