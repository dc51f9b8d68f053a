//! Start/stop decisions for solar charging: energy windows plus minimum on- and off-times.
//!
//! Owns: [`Switch`]. Modulation (how many amps) is the PI loop's job; this only decides *whether* to
//! charge from the surplus.
//!
//! - **Start** when the energy above the floor power, accumulated while off, reaches `start_energy_wh`.
//!   The window is leaky: time below the floor drains it (down to zero), so a single sample or a short
//!   burst of sun does not start the car, while a steady surplus just above the floor does, a little later.
//! - **Stop** when the energy *below* the floor power (or `stop_below_pct` of it), accumulated while
//!   on, reaches `stop_energy_wh`. While that window fills the car holds the floor, importing the
//!   deficit: the window is the grid energy a passing cloud may cost. Surplus above it drains it.
//! - **Minimum on/off times** protect the car's contactor whatever the windows say.

use crate::config::values::HumanDuration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwitchParams {
    /// Energy above the floor power (Wh) needed to start.
    pub start_energy_wh: f64,
    /// Energy below the floor power (Wh) after which charging stops.
    pub stop_energy_wh: f64,
    /// How fast the windows drain when the surplus goes the other way (1 = as fast as they fill).
    pub drain: f64,
    pub min_on: HumanDuration,
    pub min_off: HumanDuration,
    /// While charging, the stop window counts the deficit below this share of the floor power (%).
    /// Between it and the floor the car keeps the floor mostly on sunshine (at 75 %, at least three
    /// quarters of it), which costs less import than a stop and a restart; 100 = against the floor.
    pub stop_below_pct: f64,
}

impl Default for SwitchParams {
    fn default() -> SwitchParams {
        SwitchParams {
            start_energy_wh: 20.0,
            stop_energy_wh: 60.0,
            drain: 1.0,
            min_on: HumanDuration::secs(300),
            min_off: HumanDuration::secs(120),
            stop_below_pct: 100.0,
        }
    }
}

/// The on/off state and its windows. Persisted by the daemon across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    pub on: bool,
    /// When the state last changed; `None` = never (no minimum time applies).
    pub since: Option<DateTime<Utc>>,
    /// Fill of the window toward the next change, Wh.
    pub window_wh: f64,
}

impl Default for Switch {
    fn default() -> Switch {
        Switch {
            on: false,
            since: None,
            window_wh: 0.0,
        }
    }
}

impl Switch {
    /// Feed one step: `excess_w` is the available power minus the floor power (negative = deficit).
    /// Returns whether to charge.
    pub fn update(
        &mut self,
        p: &SwitchParams,
        now: DateTime<Utc>,
        dt_s: f64,
        excess_w: f64,
    ) -> bool {
        let toward_change = if self.on { -excess_w } else { excess_w };
        let factor = if toward_change >= 0.0 { 1.0 } else { p.drain };
        self.window_wh = (self.window_wh + toward_change * factor * dt_s / 3600.0).max(0.0);
        let threshold = if self.on {
            p.stop_energy_wh
        } else {
            p.start_energy_wh
        };
        let min_time = if self.on { p.min_on } else { p.min_off };
        let held = self
            .since
            .is_some_and(|t| (now - t).to_std().unwrap_or_default() < min_time.get());
        if self.window_wh >= threshold && !held {
            self.set(!self.on, now);
        }
        self.on
    }

    /// Force a state (a policy or override decided), restarting the minimum-time clock if it changes.
    pub fn set(&mut self, on: bool, now: DateTime<Utc>) {
        if on != self.on {
            self.on = on;
            self.since = Some(now);
        }
        self.window_wh = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    /// Run a surplus profile (excess over the floor, one value per 5 s) and return the on/off trace.
    fn run(p: &SwitchParams, excess: &[f64]) -> Vec<bool> {
        let mut sw = Switch::default();
        excess
            .iter()
            .enumerate()
            .map(|(i, e)| sw.update(p, t(i as i64 * 5), 5.0, *e))
            .collect()
    }

    #[test]
    fn a_single_crossing_does_not_start() {
        let p = SwitchParams::default();
        // One sample 5 kW above the floor in a sea of deficit.
        let mut excess = vec![-500.0; 100];
        excess[50] = 5000.0;
        assert!(run(&p, &excess).iter().all(|on| !on));
    }

    #[test]
    fn a_steady_surplus_starts_after_its_energy_window() {
        let p = SwitchParams::default();
        // 400 W above the floor: 20 Wh take 180 s = 36 steps of 5 s.
        let trace = run(&p, &[400.0; 60]);
        let first_on = trace.iter().position(|on| *on).unwrap();
        assert_eq!(first_on, 35, "starts once 20 Wh are in");
    }

    #[test]
    fn a_short_cloud_does_not_stop_but_a_long_one_does() {
        let p = SwitchParams::default();
        let mut sw = Switch::default();
        sw.set(true, t(-1000));
        // 1 kW deficit for 2 min = 33 Wh < 60 Wh: keeps charging.
        for i in 0..24 {
            assert!(sw.update(&p, t(i * 5), 5.0, -1000.0));
        }
        // Sun back: the window drains.
        for i in 24..60 {
            sw.update(&p, t(i * 5), 5.0, 1000.0);
        }
        assert_eq!(sw.window_wh, 0.0);
        // A 5 min cloud does stop it.
        let stopped = (60..120).any(|i| !sw.update(&p, t(i * 5), 5.0, -1000.0));
        assert!(stopped);
    }

    #[test]
    fn minimum_on_and_off_times_hold() {
        let p = SwitchParams {
            start_energy_wh: 1.0,
            stop_energy_wh: 1.0,
            ..SwitchParams::default()
        };
        let mut sw = Switch::default();
        sw.set(true, t(0));
        // A deep deficit right after the start: held on for min_on (300 s).
        for i in 1..60 {
            assert!(sw.update(&p, t(i * 5), 5.0, -5000.0), "step {i}");
        }
        assert!(!sw.update(&p, t(300), 5.0, -5000.0));
        // Now off: a big surplus cannot restart it before min_off (120 s).
        for i in 61..84 {
            assert!(!sw.update(&p, t(i * 5), 5.0, 5000.0), "step {i}");
        }
        assert!(sw.update(&p, t(420), 5.0, 5000.0));
    }
}
