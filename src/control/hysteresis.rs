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
//!   A productive session earns more patience: while the grid energy the session imported is below
//!   `bridge_share_pct` of the solar energy it took, the stop window does not stop it. A cloud after
//!   hours of sun is bridged, a cloud after a brief spell stops the car, and the session's solar share
//!   stays near 1/(1 + share) or better.
//! - **Restarts** within `restart_window` of a stop need `restart_energy_wh` instead: a sky that just
//!   took the sun away must show a steadier return before the contactor cycles again.
//! - **A solar-share budget** (`solar_share_pct`, off by default): the grid energy the plug-in session
//!   may still take while keeping that share of solar, `solar × (100 / share − 1) − grid`, capped at
//!   `budget_max_wh`. While it lasts the car may charge *below* the floor: on, the stop window counts
//!   only the deficit below `budget_stop_pct` of the floor power; off, a start needs surplus above
//!   `budget_start_pct` of it (when the budget covers `min_on` at the present deficit). A minute at
//!   80 % of the floor buys four watts of sun for each watt of grid, a minute at 20 % a quarter: the
//!   budget is spent where the sun is nearly enough, and earned by the sun above the floor. Bridging
//!   spends the same budget, and once it is spent a dip stops the car after `spent_stop_energy_wh`
//!   (0 = at once, after `min_on`) instead of the stop window, so the session's share stays near the
//!   target. The
//!   optimum in money (flat tariff) charges at the floor whenever any sun is there; the share caps
//!   how far a solar-only policy follows it.
//! - **The budget is for clouds** (`budget_min_volatility_w`): it holds the floor through a dip and
//!   starts the car below the floor only while the surplus is changing (its [`Volatility`] at least
//!   that). A cloud passes and the sun it hid comes back; a sunset, a clear morning's slow rise or an
//!   overcast plateau does not move, and there a dip is not bridged: the car stops after the
//!   spent budget's window (`spent_stop_energy_wh` below the floor) instead of spending the budget
//!   at the floor until the sun is gone.
//! - **An overdrawn day is judged strictly** (`debt_stop_weight`, `debt_start_energy_wh`): each stop
//!   after a spent budget leaves the plug-in's account up to `spent_stop_energy_wh` over its share, and
//!   a poor, broken day that never earns it back ends below the share. While the account is over, its
//!   debt (the grid energy beyond the share) shortens that window (`debt_stop_weight` Wh of window per
//!   Wh of debt) and a start or restart needs at least `debt_start_energy_wh` above the floor: the
//!   day stops sooner in a dip and does not start on a brief peak that would hold the floor from the
//!   grid for `min_on`. A day in credit is not affected.
//! - **A start under a changing sky needs a margin** (`start_sky_margin`): the surplus counted into
//!   the start window is less `start_sky_margin` × the sky's [`Volatility`] (W per W/min). A minute-
//!   to-minute swing of 1 kW makes a surplus 500 W above the floor a coin toss for the next five
//!   minutes, and a start commits the car to `min_on` at the floor; under a steady sky the margin is
//!   tens of watts and the car starts as before.
//! - **Minimum on/off times** protect the car's contactor whatever the windows say.

use crate::units::HumanDuration;
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
    /// A session keeps charging through a dip while its grid import is below this share (%) of the
    /// solar energy it took...
    pub bridge_share_pct: f64,
    /// ...and while this dip has cost less than this much grid energy (Wh)...
    pub bridge_max_wh: f64,
    /// ...and while the sky is changing: the surplus moved by at least this much (W per minute,
    /// smoothed over ten minutes). A cloud passes; a sunset or a steady decline does not come back.
    pub bridge_min_volatility_w: f64,
    /// While off, surplus above the floor counts into the start window up to this much (W): a
    /// cloud-enhancement peak of a few minutes then weighs like a few minutes, not like an hour.
    pub start_cap_w: f64,
    /// Energy above the floor (Wh) needed to start again within `restart_window` of a stop.
    pub restart_energy_wh: f64,
    pub restart_window: HumanDuration,
    /// The solar share (%) the plug-in session keeps; the grid energy it leaves is the budget that
    /// lets the car charge below the floor. 0 = no budget.
    pub solar_share_pct: f64,
    /// While the budget lasts, the stop window counts only the deficit below this share of the floor
    /// power (%).
    pub budget_stop_pct: f64,
    /// While the budget covers `min_on` at the present deficit, a start needs surplus above this
    /// share of the floor power (%).
    pub budget_start_pct: f64,
    /// The budget never exceeds this (Wh): a sunny week does not buy a grid-charged evening.
    pub budget_max_wh: f64,
    /// Once the budget is spent (or on a steady sky, see `budget_min_volatility_w`), a dip stops the
    /// car after this much energy below the floor (Wh; 0 = at once, after `min_on`).
    pub spent_stop_energy_wh: f64,
    /// The budget is spent only while the sky is changing: the surplus moves by at least this much
    /// (W per minute, see [`Volatility`]). On a steady sky (a sunset, a clear morning, an overcast
    /// plateau) a dip below the floor does not pass: the car stops after `spent_stop_energy_wh`
    /// below the floor, as with a spent budget, and starts on the floor's power. 0 = whatever the
    /// sky.
    pub budget_min_volatility_w: f64,
    /// While the plug-in's account is over its share, the spent budget's window shrinks by this many
    /// Wh per Wh of debt (0 = not at all, 1 = the debt is paid out of the window). The present dip's
    /// grid counts too: on a day just at its share the window ends after `1 / (1 + weight)` of it.
    pub debt_stop_weight: f64,
    /// While the account is over its share, a start or restart needs at least this much energy above
    /// the floor (Wh; 0 = as any other start).
    pub debt_start_energy_wh: f64,
    /// While off, the surplus counted into the start window is less this many W per W/min of the
    /// sky's volatility: under broken clouds a start needs a surplus clear of the floor by about the
    /// sky's swing, and a peak that is gone within `min_on` does not start the car (0 = off).
    pub start_sky_margin: f64,
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
            bridge_share_pct: 0.0,
            start_cap_w: 100_000.0,
            bridge_max_wh: 0.0,
            bridge_min_volatility_w: 0.0,
            restart_energy_wh: 20.0,
            restart_window: HumanDuration::secs(0),
            solar_share_pct: 0.0,
            budget_stop_pct: 100.0,
            budget_start_pct: 100.0,
            budget_max_wh: 2000.0,
            spent_stop_energy_wh: 0.0,
            budget_min_volatility_w: 0.0,
            debt_stop_weight: 0.0,
            debt_start_energy_wh: 0.0,
            start_sky_margin: 0.0,
        }
    }
}

/// What the switch sees at one step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SwitchInput {
    /// Power the car may take (the surplus plus any import the set point allows), W.
    pub available_w: f64,
    /// The floor power, W: starts and stops are judged against (shares of) it.
    pub floor_w: f64,
    /// Solar and grid power going into the car now, W.
    pub solar_w: f64,
    pub grid_w: f64,
    /// How fast the surplus moves (see [`Volatility`]), W per minute.
    pub volatility_w: f64,
}

impl SwitchInput {
    /// Only the excess over the floor (tests, and callers that do not bridge).
    pub fn excess(excess_w: f64) -> SwitchInput {
        SwitchInput {
            available_w: excess_w,
            ..SwitchInput::default()
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
    /// Solar energy into the car since the last start, Wh.
    #[serde(default)]
    pub session_solar_wh: f64,
    /// Grid energy into the car since the last start, Wh.
    #[serde(default)]
    pub session_grid_wh: f64,
    /// Grid energy into the car since the present dip began (the stop window last left zero), Wh.
    #[serde(default)]
    pub dip_grid_wh: f64,
    /// When charging last stopped.
    #[serde(default)]
    pub last_stop: Option<DateTime<Utc>>,
    /// Solar and grid energy into the car since it was plugged in (all sessions), Wh: the
    /// solar-share budget's account.
    #[serde(default)]
    pub plug_solar_wh: f64,
    #[serde(default)]
    pub plug_grid_wh: f64,
}

impl Default for Switch {
    fn default() -> Switch {
        Switch {
            on: false,
            since: None,
            window_wh: 0.0,
            session_solar_wh: 0.0,
            session_grid_wh: 0.0,
            dip_grid_wh: 0.0,
            last_stop: None,
            plug_solar_wh: 0.0,
            plug_grid_wh: 0.0,
        }
    }
}

impl Switch {
    /// Feed one step. Returns whether to charge.
    pub fn update(
        &mut self,
        p: &SwitchParams,
        now: DateTime<Utc>,
        dt_s: f64,
        input: SwitchInput,
    ) -> bool {
        let SwitchInput {
            available_w,
            floor_w,
            solar_w,
            grid_w,
            volatility_w,
        } = input;
        let budget = self.budget_wh(p);
        // The budget buys sun that comes back: only under a changing sky.
        let changing = volatility_w >= p.budget_min_volatility_w;
        let reference_pct = if self.on {
            if budget > 0.0 && changing {
                p.stop_below_pct.min(p.budget_stop_pct)
            } else {
                p.stop_below_pct
            }
        } else {
            let min_on_h = p.min_on.get().as_secs_f64() / 3600.0;
            let floor_for_min_on = (floor_w - available_w).max(0.0) * min_on_h;
            if budget > 0.0 && changing && budget >= floor_for_min_on {
                p.budget_start_pct.min(100.0)
            } else {
                100.0
            }
        };
        let excess_w = available_w - floor_w * reference_pct / 100.0;
        let toward_change = if self.on {
            -excess_w
        } else {
            (excess_w - volatility_w * p.start_sky_margin).min(p.start_cap_w)
        };
        let factor = if toward_change >= 0.0 { 1.0 } else { p.drain };
        self.window_wh = (self.window_wh + toward_change * factor * dt_s / 3600.0).max(0.0);
        if self.on {
            let grid_wh = grid_w.max(0.0) * dt_s / 3600.0;
            self.session_solar_wh += solar_w.max(0.0) * dt_s / 3600.0;
            self.session_grid_wh += grid_wh;
            self.plug_solar_wh += solar_w.max(0.0) * dt_s / 3600.0;
            self.plug_grid_wh += grid_wh;
            self.dip_grid_wh = if self.window_wh > 0.0 {
                self.dip_grid_wh + grid_wh
            } else {
                0.0
            };
        }
        // With a share budget, bridging spends it too, and a spent budget ends a dip at once.
        let sharing = p.solar_share_pct > 0.0;
        let bridging = self.on
            && self.session_grid_wh < p.bridge_share_pct / 100.0 * self.session_solar_wh
            && self.dip_grid_wh < p.bridge_max_wh
            && volatility_w >= p.bridge_min_volatility_w
            && (!sharing || budget > 0.0);
        // A steady sky's dip is not the budget's: it stops the car as a spent budget does.
        let spent = self.on && sharing && (budget <= 0.0 || !changing) && excess_w < 0.0;
        // An overdrawn account stops sooner and starts on more sun.
        let debt = self.debt_wh(p);
        let threshold = if spent {
            (p.spent_stop_energy_wh.min(p.stop_energy_wh) - debt * p.debt_stop_weight).max(0.0)
        } else if self.on {
            p.stop_energy_wh
        } else {
            let restarting = self
                .last_stop
                .is_some_and(|t| (now - t).to_std().unwrap_or_default() < p.restart_window.get());
            let base = if restarting {
                p.restart_energy_wh
            } else {
                p.start_energy_wh
            };
            if debt > 0.0 {
                base.max(p.debt_start_energy_wh)
            } else {
                base
            }
        };
        let min_time = if self.on { p.min_on } else { p.min_off };
        let held = self
            .since
            .is_some_and(|t| (now - t).to_std().unwrap_or_default() < min_time.get());
        if self.window_wh >= threshold && !held && !bridging {
            self.set(!self.on, now);
        }
        self.on
    }

    /// The grid energy the plug-in session may still take and keep `solar_share_pct` (Wh, ≥ 0).
    pub fn budget_wh(&self, p: &SwitchParams) -> f64 {
        self.account_wh(p).clamp(0.0, p.budget_max_wh)
    }

    /// The grid energy the plug-in session took beyond `solar_share_pct` (Wh, ≥ 0): its debt.
    pub fn debt_wh(&self, p: &SwitchParams) -> f64 {
        (-self.account_wh(p)).max(0.0)
    }

    /// The grid energy the share allows less the grid energy taken (Wh; 0 without a share).
    fn account_wh(&self, p: &SwitchParams) -> f64 {
        if p.solar_share_pct <= 0.0 || p.solar_share_pct >= 100.0 {
            return 0.0;
        }
        self.plug_solar_wh * (100.0 / p.solar_share_pct - 1.0) - self.plug_grid_wh
    }

    /// The car was unplugged: the next one starts a new account.
    pub fn unplugged(&mut self) {
        self.plug_solar_wh = 0.0;
        self.plug_grid_wh = 0.0;
    }

    /// Force a state (a policy or override decided), restarting the minimum-time clock if it changes.
    pub fn set(&mut self, on: bool, now: DateTime<Utc>) {
        if on != self.on {
            self.on = on;
            self.since = Some(now);
            if on {
                self.session_solar_wh = 0.0;
                self.session_grid_wh = 0.0;
                self.dip_grid_wh = 0.0;
            } else {
                self.last_stop = Some(now);
            }
        }
        self.window_wh = 0.0;
    }
}

/// How fast the surplus moves: the change between consecutive one-minute means, smoothed over ten
/// minutes (W per minute). Minute means keep meter noise out; broken clouds read in the hundreds or
/// thousands, a clear sky or a sunset in the tens. [`Volatility::now_w`] adds the present minute's
/// swing, so a fresh cloud counts before its minute is over.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Volatility {
    sum_w: f64,
    secs: f64,
    last_mean: Option<f64>,
    value: f64,
}

impl Volatility {
    const MINUTE_S: f64 = 60.0;
    const SMOOTHING_MIN: f64 = 10.0;
    const SWING_MIN_S: f64 = 15.0;

    pub fn update(&mut self, available_w: f64, dt_s: f64) -> f64 {
        self.sum_w += available_w * dt_s;
        self.secs += dt_s;
        if self.secs >= Self::MINUTE_S {
            let mean = self.sum_w / self.secs;
            if let Some(prev) = self.last_mean {
                let step = (mean - prev).abs() * Self::MINUTE_S / self.secs;
                self.value += (step - self.value) / Self::SMOOTHING_MIN;
            }
            self.last_mean = Some(mean);
            self.sum_w = 0.0;
            self.secs = 0.0;
        }
        self.value
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    /// The sky now: [`Volatility::value`], or the present minute's swing from the last minute's
    /// mean when that is larger (once `SWING_MIN_S` of the minute are in, so one odd sample does not
    /// count). A cloud that has just arrived reads as a changing sky at once, not a minute later; a
    /// sunset moves the mean by tens of watts a minute and does not.
    pub fn now_w(&self) -> f64 {
        match self.last_mean {
            Some(prev) if self.secs >= Self::SWING_MIN_S => {
                self.value.max((self.sum_w / self.secs - prev).abs())
            }
            _ => self.value,
        }
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
            .map(|(i, e)| sw.update(p, t(i as i64 * 5), 5.0, SwitchInput::excess(*e)))
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
            assert!(sw.update(&p, t(i * 5), 5.0, SwitchInput::excess(-1000.0)));
        }
        // Sun back: the window drains.
        for i in 24..60 {
            sw.update(&p, t(i * 5), 5.0, SwitchInput::excess(1000.0));
        }
        assert_eq!(sw.window_wh, 0.0);
        // A 5 min cloud does stop it.
        let stopped =
            (60..120).any(|i| !sw.update(&p, t(i * 5), 5.0, SwitchInput::excess(-1000.0)));
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
            assert!(
                sw.update(&p, t(i * 5), 5.0, SwitchInput::excess(-5000.0)),
                "step {i}"
            );
        }
        assert!(!sw.update(&p, t(300), 5.0, SwitchInput::excess(-5000.0)));
        // Now off: a big surplus cannot restart it before min_off (120 s).
        for i in 61..84 {
            assert!(
                !sw.update(&p, t(i * 5), 5.0, SwitchInput::excess(5000.0)),
                "step {i}"
            );
        }
        assert!(sw.update(&p, t(420), 5.0, SwitchInput::excess(5000.0)));
    }

    #[test]
    fn a_peak_weighs_by_its_duration_with_a_start_cap() {
        let p = SwitchParams {
            start_energy_wh: 15.0,
            start_cap_w: 1000.0,
            ..SwitchParams::default()
        };
        // 5 kW above the floor for 30 s: 41 Wh uncapped, but only 8 Wh counted.
        let mut excess = vec![5000.0; 6];
        excess.extend(vec![-100.0; 40]);
        assert!(run(&p, &excess).iter().all(|on| !on));
        // 1 kW above the floor starts after 54 s, as before.
        let trace = run(&p, &[1000.0; 20]);
        assert_eq!(trace.iter().position(|on| *on), Some(10));
    }

    #[test]
    fn a_restart_soon_after_a_stop_needs_more_energy() {
        let p = SwitchParams {
            start_energy_wh: 10.0,
            restart_energy_wh: 50.0,
            restart_window: HumanDuration::secs(1800),
            min_off: HumanDuration::secs(0),
            ..SwitchParams::default()
        };
        let mut sw = Switch::default();
        sw.set(true, t(0));
        sw.set(false, t(10));
        let steps_to_start = |sw: &mut Switch, from: i64| {
            (0..200)
                .position(|i| sw.update(&p, t(from + i * 5), 5.0, SwitchInput::excess(1000.0)))
                .unwrap()
        };
        // 50 Wh at 1 kW: 180 s (36 steps of 5 s).
        assert!((35..=36).contains(&steps_to_start(&mut sw, 20)));
        sw.set(false, t(1000));
        // Outside the window (stopped 1800 s before), 10 Wh: 36 s.
        assert_eq!(steps_to_start(&mut sw, 2800), 7);
    }

    #[test]
    fn a_productive_session_bridges_a_passing_cloud_but_not_a_sunset() {
        let p = SwitchParams {
            stop_energy_wh: 10.0,
            bridge_share_pct: 4.0,
            bridge_max_wh: 300.0,
            bridge_min_volatility_w: 200.0,
            min_on: HumanDuration::secs(0),
            ..SwitchParams::default()
        };
        let cloud = |volatility_w| SwitchInput {
            available_w: -2000.0,
            floor_w: 0.0,
            solar_w: 2140.0,
            grid_w: 2000.0,
            volatility_w,
        };
        let sunny = SwitchInput {
            available_w: 3000.0,
            floor_w: 0.0,
            solar_w: 7000.0,
            grid_w: 0.0,
            volatility_w: 800.0,
        };
        let mut sw = Switch::default();
        sw.set(true, t(0));
        // Two hours of sun: 14 kWh solar, so 560 Wh of bridging allowed, at most 300 Wh per cloud.
        for i in 0..1440 {
            sw.update(&p, t(i * 5), 5.0, sunny);
        }
        // A changing sky: bridged for 300 Wh (9 min at 2 kW), then stopped.
        let on_for = (0..400)
            .take_while(|i| sw.update(&p, t(7200 + i * 5), 5.0, cloud(800.0)))
            .count();
        assert!((100..=115).contains(&on_for), "bridged {on_for} steps");
        // The same with a steady sky (a sunset): stops after the plain 10 Wh window.
        let mut sw2 = Switch::default();
        sw2.set(true, t(0));
        for i in 0..1440 {
            sw2.update(&p, t(i * 5), 5.0, sunny);
        }
        let on_for = (0..400)
            .take_while(|i| sw2.update(&p, t(7200 + i * 5), 5.0, cloud(50.0)))
            .count();
        assert!(on_for <= 4, "stopped after the window: {on_for} steps");
    }

    #[test]
    fn the_share_budget_lets_the_car_hold_the_floor_on_nearly_enough_sun_until_it_is_spent() {
        let p = SwitchParams {
            stop_energy_wh: 10.0,
            stop_below_pct: 100.0,
            solar_share_pct: 95.0,
            budget_stop_pct: 60.0,
            budget_start_pct: 80.0,
            min_on: HumanDuration::secs(0),
            min_off: HumanDuration::secs(0),
            ..SwitchParams::default()
        };
        let at = |available_w: f64| SwitchInput {
            available_w,
            floor_w: 4000.0,
            solar_w: available_w.clamp(0.0, 4000.0),
            grid_w: (4000.0 - available_w).max(0.0),
            volatility_w: 0.0,
        };
        let mut sw = Switch::default();
        sw.set(true, t(0));
        // Without sun taken yet there is no budget: 3.5 kW (88 % of the floor) stops the car.
        let on_for = (0..100)
            .take_while(|i| sw.update(&p, t(i * 5), 5.0, at(3500.0)))
            .count();
        assert!(on_for < 20, "stopped without a budget: {on_for} steps");
        sw.unplugged();
        // An hour at the floor on sunshine earns 4000 × 5/95 = 210 Wh of grid.
        sw.set(true, t(1000));
        for i in 0..720 {
            sw.update(&p, t(1000 + i * 5), 5.0, at(4000.0));
        }
        assert!(
            (sw.budget_wh(&p) - 210.5).abs() < 1.0,
            "{}",
            sw.budget_wh(&p)
        );
        // 3 kW (75 %, above 60 %) now holds the floor: 1 kW of grid for 3 of sun, each step
        // spending 1.39 Wh and earning 0.22, until 210 Wh are spent (180 steps); then the dip
        // stops the car at once.
        let on_for = (0..400)
            .take_while(|i| sw.update(&p, t(5000 + i * 5), 5.0, at(3000.0)))
            .count();
        assert!((178..=182).contains(&on_for), "held {on_for} steps");
        // The share ends at the target (within the one step that spent the last of the budget).
        let share = sw.plug_solar_wh / (sw.plug_solar_wh + sw.plug_grid_wh);
        assert!((0.9495..0.9505).contains(&share), "{share}");
        // Off, a start needs the floor's power unless the budget covers min_on: no budget left now.
        assert!(!sw.update(&p, t(8000), 5.0, at(3500.0)));
        // A new car starts a new account.
        sw.unplugged();
        assert_eq!(sw.budget_wh(&p), 0.0);
    }

    #[test]
    fn with_a_budget_a_start_needs_only_budget_start_pct_of_the_floor() {
        let p = SwitchParams {
            start_energy_wh: 9.0,
            solar_share_pct: 90.0,
            budget_start_pct: 80.0,
            min_on: HumanDuration::secs(300),
            min_off: HumanDuration::secs(0),
            ..SwitchParams::default()
        };
        let mut sw = Switch {
            plug_solar_wh: 1000.0,
            ..Switch::default()
        };
        // Budget 111 Wh covers 5 min at a 500 W deficit (42 Wh): 3.5 kW of a 4 kW floor starts
        // once 9 Wh above 3.2 kW are in (300 W: 108 s, the 22nd step of 5 s).
        let at = |available_w| SwitchInput {
            available_w,
            floor_w: 4000.0,
            ..SwitchInput::default()
        };
        let first = (0..100).position(|i| sw.update(&p, t(i * 5), 5.0, at(3500.0)));
        assert_eq!(first, Some(21));
        // With a budget too small for min_on at that deficit, it waits for the floor.
        let mut poor = Switch {
            plug_solar_wh: 300.0,
            ..Switch::default()
        };
        assert!((0..100).all(|i| !poor.update(&p, t(i * 5), 5.0, at(3500.0))));
    }

    /// A car on a 4 kW floor that has earned a share budget under two hours of sun, then the
    /// `evening` profile (available W per 5 s step) with the sky read by a [`Volatility`] as the
    /// controller reads it: how many steps it stays on, and the grid it took meanwhile (Wh).
    fn after_a_sunny_noon(p: &SwitchParams, evening: impl Iterator<Item = f64>) -> (usize, f64) {
        let at = |available_w: f64, volatility_w| {
            let car = available_w.max(4000.0);
            let solar = car.min(available_w.max(0.0));
            SwitchInput {
                available_w,
                floor_w: 4000.0,
                solar_w: solar,
                grid_w: car - solar,
                volatility_w,
            }
        };
        let mut sw = Switch::default();
        let mut sky = Volatility::default();
        sw.set(true, t(0));
        for i in 0..1440 {
            sky.update(6000.0, 5.0);
            assert!(sw.update(p, t(i * 5), 5.0, at(6000.0, sky.now_w())));
        }
        assert!(sw.budget_wh(p) > 600.0, "{}", sw.budget_wh(p));
        let grid_before = sw.plug_grid_wh;
        let on_for = evening
            .enumerate()
            .take_while(|(i, a)| {
                sky.update(*a, 5.0);
                sw.update(p, t(7200 + *i as i64 * 5), 5.0, at(*a, sky.now_w()))
            })
            .count();
        (on_for, sw.plug_grid_wh - grid_before)
    }

    fn budget_for_clouds(min_volatility_w: f64) -> SwitchParams {
        SwitchParams {
            stop_energy_wh: 60.0,
            spent_stop_energy_wh: 30.0,
            solar_share_pct: 95.0,
            budget_stop_pct: 0.0,
            budget_min_volatility_w: min_volatility_w,
            min_on: HumanDuration::secs(0),
            ..SwitchParams::default()
        }
    }

    #[test]
    fn a_steady_decline_stops_after_the_spent_window_instead_of_spending_the_budget() {
        // A sunset: 50 W less each minute, from 6 kW; the floor is crossed after 40 min (480
        // steps), and the 30 Wh below it that stop the car take another 8.5 min (102 steps: a
        // deficit growing by 50 W per minute).
        let sunset = (0..2000).map(|i| 6000.0 - 50.0 * i as f64 / 12.0);
        let (on_for, grid_wh) = after_a_sunny_noon(&budget_for_clouds(200.0), sunset.clone());
        assert!(
            (578..=586).contains(&on_for),
            "stopped after {on_for} steps"
        );
        assert!(grid_wh < 35.0, "took {grid_wh} Wh of grid");
        // Whatever the sky (the rule off), the budget holds the floor far into the dusk.
        let (on_for, grid_wh) = after_a_sunny_noon(&budget_for_clouds(0.0), sunset);
        assert!(on_for > 800, "stopped after {on_for} steps");
        assert!(grid_wh > 600.0, "took {grid_wh} Wh of grid");
    }

    #[test]
    fn a_dip_under_broken_clouds_is_bridged_on_the_budget() {
        // Broken clouds: two minutes of sun, two in the shade at 1.5 kW, for 20 minutes.
        let broken = (0..240).map(|i| if (i / 24) % 2 == 0 { 6000.0 } else { 1500.0 });
        let (on_for, grid_wh) = after_a_sunny_noon(&budget_for_clouds(200.0), broken.clone());
        assert_eq!(on_for, 240, "bridged every cloud");
        // Five clouds of 2 min at 2.5 kW below the floor.
        assert!(
            (400.0..=425.0).contains(&grid_wh),
            "took {grid_wh} Wh of grid"
        );
        // Judged as a steady sky, the first cloud stops the car after 30 Wh below the floor.
        let (on_for, _) = after_a_sunny_noon(&budget_for_clouds(1e9), broken);
        assert!((31..=33).contains(&on_for), "stopped after {on_for} steps");
    }

    /// A switch that has taken `solar_wh` and `grid_wh` since the plug-in, charging since long ago.
    fn account(solar_wh: f64, grid_wh: f64, on: bool) -> Switch {
        let mut sw = Switch::default();
        sw.set(on, t(-10_000));
        sw.plug_solar_wh = solar_wh;
        sw.plug_grid_wh = grid_wh;
        sw
    }

    fn debt_rules(stop_weight: f64, start_wh: f64) -> SwitchParams {
        SwitchParams {
            start_energy_wh: 10.0,
            spent_stop_energy_wh: 80.0,
            stop_energy_wh: 120.0,
            solar_share_pct: 96.0,
            debt_stop_weight: stop_weight,
            debt_start_energy_wh: start_wh,
            ..SwitchParams::default()
        }
    }

    /// Steps of 5 s until the switch changes under a constant excess over the floor (4140 W) and a
    /// steady sky; `None` if it does not within 1000.
    fn steps_to(
        p: &SwitchParams,
        mut sw: Switch,
        excess_w: f64,
        volatility_w: f64,
    ) -> Option<usize> {
        let was = sw.on;
        let input = SwitchInput {
            available_w: 4140.0 + excess_w,
            floor_w: 4140.0,
            solar_w: if was { 4140.0 + excess_w.min(0.0) } else { 0.0 },
            grid_w: if was { (-excess_w).max(0.0) } else { 0.0 },
            volatility_w,
        };
        (1..=1000).find(|i| sw.update(p, t(*i as i64 * 5), 5.0, input) != was)
    }

    fn steps_to_change(p: &SwitchParams, sw: Switch, excess_w: f64) -> usize {
        steps_to(p, sw, excess_w, 0.0).expect("changes within 1000 steps")
    }

    #[test]
    fn the_debt_is_what_the_account_took_beyond_its_share() {
        let p = debt_rules(0.0, 0.0);
        // 960 Wh of sun allow 40 Wh of grid at 96 %.
        assert!((account(960.0, 100.0, true).debt_wh(&p) - 60.0).abs() < 1e-9);
        assert_eq!(account(960.0, 30.0, true).debt_wh(&p), 0.0);
        assert!((account(960.0, 30.0, true).budget_wh(&p) - 10.0).abs() < 1e-9);
        // Without a share there is neither budget nor debt.
        let none = SwitchParams::default();
        assert_eq!(account(960.0, 500.0, true).debt_wh(&none), 0.0);
    }

    #[test]
    fn an_overdrawn_day_stops_sooner_in_a_dip() {
        // A dip 1 kW below the floor on a spent budget: without the rule 80 Wh take 288 s (58
        // steps), whatever the debt.
        let at_share = account(960.0, 40.0, true);
        let overdrawn = account(960.0, 140.0, true);
        assert_eq!(
            steps_to_change(&debt_rules(0.0, 0.0), at_share, -1000.0),
            58
        );
        assert_eq!(
            steps_to_change(&debt_rules(0.0, 0.0), overdrawn, -1000.0),
            58
        );
        // With it, the dip's own grid is debt too: at the share, the window ends after
        // 80 / 1.75 = 46 Wh (33 steps of 1.39 Wh, and two more as the window fills a step late).
        assert_eq!(
            steps_to_change(&debt_rules(0.75, 0.0), at_share, -1000.0),
            35
        );
        // 100 Wh over the share: 80 − 0.75 × 100 = 5 Wh, less the dip's own: 3 steps.
        assert_eq!(
            steps_to_change(&debt_rules(0.75, 0.0), overdrawn, -1000.0),
            3
        );
        // A debt beyond the window stops at the first step below the floor.
        let deep = account(960.0, 400.0, true);
        assert_eq!(steps_to_change(&debt_rules(0.75, 0.0), deep, -1000.0), 1);
    }

    #[test]
    fn an_overdrawn_day_needs_more_sun_to_start() {
        // 500 W above the floor: 10 Wh take 72 s (15 steps), 20 Wh 144 s (29 steps).
        let p = debt_rules(0.0, 20.0);
        assert_eq!(steps_to_change(&p, account(960.0, 40.0, false), 500.0), 15);
        assert_eq!(steps_to_change(&p, account(960.0, 41.0, false), 500.0), 29);
        // A restart too: its own window is only the floor of what it needs.
        let restart = SwitchParams {
            restart_energy_wh: 30.0,
            restart_window: HumanDuration::secs(100_000),
            ..p
        };
        let mut sw = account(960.0, 41.0, false);
        sw.last_stop = Some(t(-60));
        assert_eq!(steps_to_change(&restart, sw, 500.0), 44);
    }

    #[test]
    fn a_start_under_a_changing_sky_needs_a_margin_of_its_swing() {
        let p = SwitchParams {
            start_energy_wh: 10.0,
            start_sky_margin: 1.0,
            ..SwitchParams::default()
        };
        let steps =
            |p: &SwitchParams, volatility_w| steps_to(p, Switch::default(), 500.0, volatility_w);
        // 500 W above the floor under a steady sky (50 W/min): 450 W count, 10 Wh in 80 s.
        assert_eq!(steps(&p, 50.0), Some(16));
        // Under broken clouds swinging 1 kW a minute the same surplus never starts the car...
        assert_eq!(steps(&p, 1000.0), None);
        // ...which it does without the margin, after 72 s.
        let off = SwitchParams {
            start_sky_margin: 0.0,
            ..p
        };
        assert_eq!(steps(&off, 1000.0), Some(15));
    }

    #[test]
    fn volatility_reads_minute_means_not_noise() {
        let mut v = Volatility::default();
        // ±20 W of noise around a steady 3 kW: stays near zero.
        for i in 0..1200 {
            v.update(3000.0 + if i % 2 == 0 { 20.0 } else { -20.0 }, 1.0);
        }
        assert!(v.value() < 5.0, "{}", v.value());
        // A cloud every other minute (3 kW swings): hundreds of W per minute.
        for i in 0..1200 {
            v.update(if (i / 60) % 2 == 0 { 6000.0 } else { 3000.0 }, 1.0);
        }
        assert!(v.value() > 1000.0, "{}", v.value());
    }

    #[test]
    fn a_fresh_cloud_reads_as_a_changing_sky_before_its_minute_is_over() {
        let mut v = Volatility::default();
        // Twenty steady minutes at 6 kW, then a sunset's pace: 50 W less each minute.
        for i in 0..1200 {
            v.update(6000.0, 1.0);
            assert!(v.now_w() < 1.0, "second {i}: {}", v.now_w());
        }
        for i in 0..600 {
            v.update(6000.0 - 50.0 * f64::from(i) / 60.0, 1.0);
            assert!(v.now_w() < 100.0, "second {i}: {}", v.now_w());
        }
        // A cloud takes 3 kW: the smoothed value has not seen it yet, the swing has after 15 s.
        for i in 0..20 {
            v.update(2500.0, 1.0);
            let swing = v.now_w();
            assert!(
                (i < 14 && swing < 100.0) || (i >= 14 && swing > 2000.0),
                "{i}: {swing}"
            );
        }
        assert!(v.value() < 100.0, "{}", v.value());
    }
}
