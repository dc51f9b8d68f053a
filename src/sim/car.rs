//! The car model: battery, onboard charger, and how it answers the offered current.
//!
//! Owns: [`CarModel`] and [`Draw`]. What it models:
//! - the **onboard charger**: its phases (at most the site's) and maximum current per phase;
//! - **response delay**: the car follows the offered current as it was `response_delay` ago (a pure
//!   delay line); after the pilot goes from paused to available it needs `start_delay` before it
//!   draws anything (IEC 61851 handshake, contactor), whatever the offer does meanwhile;
//! - **taper**: above `taper_soc` the car accepts linearly less, down to the floor (6 A) at 100 %;
//! - its **own charge limit** (the scenario's `target_soc`): it stops there by itself, exactly.
//!
//! The battery takes `efficiency` of the energy drawn. In the step in which the car reaches its limit
//! it draws its power for the part of the step needed and nothing after ([`Draw::fraction`]), so the
//! energy drawn never exceeds the room to the limit.

use super::spec::CarSpec;
use std::collections::VecDeque;

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
    /// The offer on the pilot now, and since when it has been non-zero.
    pilot_a: f64,
    available_since: Option<i64>,
    /// Offer changes not yet followed: (time of the change, new offer).
    changes: VecDeque<(i64, f64)>,
    /// The offer the car follows now (the pilot `response_delay` ago).
    following_a: f64,
    drawing: bool,
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
            pilot_a: 0.0,
            available_since: None,
            changes: VecDeque::with_capacity(8),
            following_a: 0.0,
            drawing: false,
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
        self.pilot_a = 0.0;
        self.available_since = None;
        self.changes.clear();
        self.following_a = 0.0;
        self.drawing = false;
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
        if offered_a != self.pilot_a {
            if self.pilot_a <= 0.0 {
                self.available_since = Some(t_ms);
            } else if offered_a <= 0.0 {
                self.available_since = None;
            }
            self.pilot_a = offered_a;
            self.changes.push_back((t_ms, offered_a));
        }
        while let Some(&(at, a)) = self.changes.front() {
            if at + self.response_ms > t_ms {
                break;
            }
            self.following_a = a;
            self.changes.pop_front();
        }
        if self.following_a <= 0.0 {
            self.drawing = false;
        } else if !self.drawing {
            self.drawing = self
                .available_since
                .is_some_and(|s| t_ms >= s + self.start_ms);
        }
        if !self.drawing || self.soc >= self.limit {
            return Draw::default();
        }
        let amps = self.following_a.min(self.acceptance());
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
            stay_days: None,
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
    fn offer_changes_during_the_start_do_not_restart_it() {
        let mut car = CarModel::new(&spec(), 690.0);
        car.arrive(50.0);
        let offers = [6.0, 6.0, 6.0, 6.0, 7.0, 7.0, 7.0, 7.0, 8.0, 8.0, 8.0, 8.0];
        let drawn: Vec<f64> = offers
            .iter()
            .enumerate()
            .map(|(t, a)| car.step(t as i64 * 1000, *a, 1.0).mean_w() / 690.0)
            .collect();
        assert_eq!(
            drawn,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 8.0]
        );
        // A pause is followed after the response delay, and a new start waits again.
        let t = 12_000;
        assert_eq!(car.step(t, 0.0, 1.0).mean_w(), 8.0 * 690.0);
        assert_eq!(car.step(t + 1000, 0.0, 1.0).mean_w(), 8.0 * 690.0);
        assert_eq!(
            car.step(t + 2000, 6.0, 1.0).mean_w(),
            0.0,
            "paused 2 s after the pause"
        );
        assert_eq!(car.step(t + 11_000, 6.0, 1.0).mean_w(), 0.0);
        assert_eq!(car.step(t + 12_000, 6.0, 1.0).mean_w(), 6.0 * 690.0);
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
