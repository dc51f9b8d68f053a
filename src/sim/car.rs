//! The car model: battery, onboard charger, and how it answers the offered current.
//!
//! Owns: [`CarModel`] and [`Draw`]. What it models:
//! - the **onboard charger**: its phases (at most the site's) and maximum current per phase;
//! - **response delay**: a new offered current is followed `response_delay` later; after a pause the
//!   car needs `start_delay` to start drawing (IEC 61851 handshake, contactor);
//! - **taper**: above `taper_soc` the car accepts linearly less, down to the floor (6 A) at 100 %;
//! - its **own charge limit** (the scenario's `target_soc`): it stops there by itself, exactly.
//!
//! The battery takes `efficiency` of the energy drawn. In the step in which the car reaches its limit
//! it draws its power for the part of the step needed and nothing after ([`Draw::fraction`]), so the
//! energy drawn never exceeds the room to the limit.

use super::spec::CarSpec;

/// What the car draws during one physics step: `power_w` for `fraction` of it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Draw {
    pub power_w: f64,
    pub fraction: f64,
}

impl Draw {
    /// The mean power over the step.
    pub fn mean_w(self) -> f64 {
        self.power_w * self.fraction
    }
    pub fn is_drawing(self) -> bool {
        self.power_w > 0.0 && self.fraction > 0.0
    }
}

/// The floor current every car accepts (IEC 61851).
const CAR_FLOOR_A: f64 = 6.0;

#[derive(Debug, Clone)]
pub struct CarModel {
    max_a: f64,
    taper_soc: f64,
    limit: f64,
    watts_per_amp: f64,
    /// SoC points per watt-second drawn.
    pct_per_ws: f64,
    response_ms: i64,
    start_ms: i64,
    soc: f64,
    plugged: bool,
    /// The offer as last seen on the pilot signal, and the one the car follows now.
    seen_a: f64,
    following_a: f64,
    pending_at: Option<i64>,
}

impl CarModel {
    pub fn new(spec: &CarSpec, watts_per_amp: f64) -> CarModel {
        CarModel {
            max_a: spec.max_current.0,
            taper_soc: spec.taper_soc,
            limit: spec.target_soc,
            watts_per_amp,
            pct_per_ws: spec.efficiency * 100.0 / (spec.capacity_kwh * 3.6e6),
            response_ms: spec.response_delay_ms,
            start_ms: spec.start_delay_ms,
            soc: spec.start_soc,
            plugged: false,
            seen_a: 0.0,
            following_a: 0.0,
            pending_at: None,
        }
    }

    /// The car arrives with `soc` and is plugged in.
    pub fn arrive(&mut self, soc: f64) {
        self.soc = soc;
        self.plugged = true;
    }

    /// The car is unplugged and leaves.
    pub fn depart(&mut self) {
        self.plugged = false;
        self.seen_a = 0.0;
        self.following_a = 0.0;
        self.pending_at = None;
    }

    pub fn soc(&self) -> f64 {
        self.soc
    }

    pub fn plugged(&self) -> bool {
        self.plugged
    }

    /// The current the battery accepts at this SoC.
    pub fn acceptance(&self) -> f64 {
        if self.soc <= self.taper_soc {
            self.max_a
        } else {
            let x = ((self.soc - self.taper_soc) / (100.0 - self.taper_soc)).min(1.0);
            self.max_a - (self.max_a - CAR_FLOOR_A.min(self.max_a)) * x
        }
    }

    /// One physics step of `dt_s` starting at `t_ms`, with `offered_a` on the pilot signal.
    #[inline]
    pub fn step(&mut self, t_ms: i64, offered_a: f64, dt_s: f64) -> Draw {
        if !self.plugged {
            return Draw::default();
        }
        if offered_a != self.seen_a {
            self.seen_a = offered_a;
            let delay = if self.following_a > 0.0 {
                self.response_ms
            } else {
                self.start_ms
            };
            self.pending_at = Some(t_ms + delay);
        }
        if self.pending_at.is_some_and(|at| at <= t_ms) {
            self.following_a = self.seen_a;
            self.pending_at = None;
        }
        if self.soc >= self.limit {
            return Draw::default();
        }
        let amps = self.following_a.min(self.acceptance());
        if amps <= 0.0 {
            return Draw::default();
        }
        let power_w = amps * self.watts_per_amp;
        let room_ws = (self.limit - self.soc) / self.pct_per_ws;
        let energy_ws = power_w * dt_s;
        if energy_ws >= room_ws {
            self.soc = self.limit;
            Draw {
                power_w,
                fraction: room_ws / energy_ws,
            }
        } else {
            self.soc += energy_ws * self.pct_per_ws;
            Draw {
                power_w,
                fraction: 1.0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Amps, Phases};

    fn spec() -> CarSpec {
        CarSpec {
            capacity_kwh: 50.0,
            start_soc: 50.0,
            target_soc: 80.0,
            plug_in: None,
            departure: None,
            phases: Phases::Three,
            max_current: Amps(16.0),
            taper_soc: 80.0,
            response_delay_ms: 2000,
            start_delay_ms: 10_000,
            efficiency: 0.9,
        }
    }

    #[test]
    fn starts_late_follows_late_and_integrates_energy() {
        let mut car = CarModel::new(&spec(), 690.0);
        car.arrive(50.0);
        for t in 0..10 {
            assert_eq!(
                car.step(t * 1000, 10.0, 1.0).mean_w(),
                0.0,
                "start delay, {t} s"
            );
        }
        assert_eq!(car.step(10_000, 10.0, 1.0).mean_w(), 6900.0);
        assert_eq!(
            car.step(11_000, 8.0, 1.0).mean_w(),
            6900.0,
            "still the old offer"
        );
        assert_eq!(car.step(12_000, 8.0, 1.0).mean_w(), 6900.0);
        assert_eq!(car.step(13_000, 8.0, 1.0).mean_w(), 5520.0, "2 s later");
        // One hour at 5.52 kW, 90 % into 50 kWh: +9.936 %.
        let before = car.soc();
        for t in 0..3600 {
            car.step(14_000 + t * 1000, 8.0, 1.0);
        }
        assert!((car.soc() - before - 9.936).abs() < 1e-9, "{}", car.soc());
    }

    #[test]
    fn stops_exactly_at_its_limit_and_tapers_above_taper_soc() {
        let mut s = spec();
        s.target_soc = 90.0;
        let mut car = CarModel::new(&s, 690.0);
        car.arrive(79.99);
        car.step(0, 16.0, 1.0);
        let mut drawn_ws = 0.0;
        let mut t = 10_000;
        let mut last = Draw::default();
        while car.soc() < 90.0 {
            last = car.step(t, 16.0, 1.0);
            assert!(
                last.power_w >= 6.0 * 690.0 - 1e-9,
                "never below the floor while drawing"
            );
            drawn_ws += last.mean_w();
            t += 1000;
        }
        assert!(last.fraction < 1.0, "the last step is partial");
        assert_eq!(car.soc(), 90.0);
        let expected_ws = 10.01 / 100.0 * 50.0 * 3.6e6 / 0.9;
        assert!(
            (drawn_ws - expected_ws).abs() < 1e-3 * expected_ws,
            "{drawn_ws} vs {expected_ws}"
        );
        assert!(
            (car.acceptance() - 11.0).abs() < 1e-9,
            "halfway from 80 to 100 %: halfway from 16 to 6 A"
        );
        assert_eq!(car.step(t, 16.0, 1.0), Draw::default());
    }
}
