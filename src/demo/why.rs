//! Why the daemon's decision is not what the power available for the car allows, in words, for the
//! demo table's last column.
//!
//! Owns: [`Rules`] (what shapes a decision besides the surplus: floor, maximum, ramp, change interval,
//! start/stop windows, minimum on/off times), [`allowed`] and [`why`]. It only reads a [`Decision`]
//! (its command, guard clamp and factors) and how long its command has been charging or paused; the
//! controller itself is not consulted, so the words say what the numbers show.

use crate::control::hysteresis::SwitchParams;
use crate::control::{Command, Decision};
use std::time::Duration;

/// A decision within this many amps of what the power allows follows it (the PI loop's corrections
/// and the charger's command steps are smaller).
const FOLLOWS_WITHIN_A: f64 = 1.0;

/// The rules a decision obeys besides the surplus.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Watts per amp on the car's phases (volts × phases).
    pub watts_per_amp: f64,
    pub floor_a: f64,
    /// The most the charger and the car take.
    pub max_a: f64,
    pub ramp_a_per_s: f64,
    pub min_change_interval: Duration,
    /// The policy's bands: a current is kept while the wanted one is at most `hold_band_a` lower or
    /// `raise_band_a` higher, or is a raise of less than `small_change_a` within `hold_small_for`.
    pub hold_band_a: f64,
    pub raise_band_a: f64,
    pub small_change_a: f64,
    pub hold_small_for: Duration,
    pub switch: SwitchParams,
}

impl Rules {
    fn floor_w(&self) -> f64 {
        self.floor_a * self.watts_per_amp
    }
}

/// What `available_w` allows: its current between the floor and the maximum, or `None` (pause)
/// below the floor.
pub fn allowed(rules: &Rules, available_w: f64) -> Option<f64> {
    let a = available_w / rules.watts_per_amp;
    (a >= rules.floor_a).then(|| a.min(rules.max_a))
}

fn allows_text(allowed: Option<f64>, rules: &Rules) -> String {
    match allowed {
        Some(a) => format!("the surplus allows {:.0} A", a.floor()),
        None => format!("the surplus is below the {:.0} A floor", rules.floor_a),
    }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        _ => format!("{} min", s / 60),
    }
}

/// The reason column: the daemon's reason when the decision is what the available power allows
/// (or when no power figure applies); otherwise what held it back or kept it up, and what the power
/// would allow. `since` is how long the command has been charging (or paused), if known.
pub fn why(rules: &Rules, d: &Decision, since: Option<Duration>) -> String {
    let Some(available_w) = d.factors.available_w else {
        return d.reason.clone();
    };
    let allowed = allowed(rules, available_w);
    let decided = match d.command {
        Command::Pause => None,
        Command::Charge { current, .. } => Some(current.0),
    };
    let follows = match (decided, allowed) {
        (None, None) => true,
        (Some(d), Some(a)) => (d - a).abs() < FOLLOWS_WITHIN_A,
        _ => false,
    };
    if follows {
        return d.reason.clone();
    }
    let cause = cause(rules, d, (decided, allowed), available_w, since);
    format!("{cause} ({})", allows_text(allowed, rules))
}

fn cause(
    rules: &Rules,
    d: &Decision,
    (decided, allowed): (Option<f64>, Option<f64>),
    available_w: f64,
    since: Option<Duration>,
) -> String {
    let sw = &rules.switch;
    match d.clamp {
        Some("ramp") => {
            return format!("ramp: up {} A/s from the last change", rules.ramp_a_per_s);
        }
        Some("interval") => {
            return format!(
                "one change per {}: the last command holds",
                minutes(rules.min_change_interval)
            );
        }
        Some("floor") => return "below the floor: paused".into(),
        Some(rule) => return format!("capped by the {rule}"),
        None => {}
    }
    // Without the solar switch's window the policy itself chose (a minimum, a departure, a fixed
    // current, a stale meter): its reason says why.
    let Some(window_wh) = d.factors.window_wh else {
        return d.reason.clone();
    };
    let held = |min: Duration| since.filter(|s| *s < min);
    match (decided, allowed) {
        (None, Some(_)) => {
            if let Some(s) = held(sw.min_off.get()) {
                format!(
                    "minimum off time: paused {} ago, {} needed",
                    minutes(s),
                    minutes(sw.min_off.get())
                )
            } else if since.is_some_and(|s| s < sw.restart_window.get()) {
                format!(
                    "restart window after a recent stop: {window_wh:.0} of {:.0} Wh above the floor",
                    sw.restart_energy_wh
                )
            } else {
                format!(
                    "start window: {window_wh:.0} of {:.0} Wh above the floor",
                    sw.start_energy_wh
                )
            }
        }
        (Some(_), None) => {
            if let Some(s) = held(sw.min_on.get()) {
                format!(
                    "minimum on time: charging for {}, {} needed",
                    minutes(s),
                    minutes(sw.min_on.get())
                )
            } else if sw.solar_share_pct > 0.0 {
                format!(
                    "the floor through a dip on the session's solar-share budget ({:.0} % solar) \
                     and its stop window ({window_wh:.0} Wh so far)",
                    sw.solar_share_pct
                )
            } else if available_w >= rules.floor_w() * sw.stop_below_pct / 100.0 {
                format!(
                    "the floor kept: the surplus is above {:.0} % of its power, mostly sunshine",
                    sw.stop_below_pct
                )
            } else if window_wh < sw.stop_energy_wh {
                format!(
                    "stop window: the floor through a dip, {window_wh:.0} of {:.0} Wh below it",
                    sw.stop_energy_wh
                )
            } else {
                "bridging a passing cloud: this session has been mostly solar".into()
            }
        }
        (Some(dec), Some(a))
            if (dec - a).abs()
                < FOLLOWS_WITHIN_A
                    + if dec > a {
                        rules.hold_band_a
                    } else {
                        rules.small_change_a.max(rules.raise_band_a)
                    } =>
        {
            format!(
                "small change held: {dec:.1} A kept (a raise under {} A waits {}, a cut under {} A \
                 is held; each change is a call to the charger's cloud)",
                rules.small_change_a,
                minutes(rules.hold_small_for),
                rules.hold_band_a
            )
        }
        (Some(_), Some(_)) => match d.factors.pi_i_a {
            Some(i) if i.abs() >= 0.5 => {
                format!("the PI loop corrects the charger's delivery by {i:+.1} A")
            }
            _ => d.reason.clone(),
        },
        (None, None) => d.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Factors;
    use crate::units::{Amps, Phases};

    fn rules() -> Rules {
        Rules {
            watts_per_amp: 690.0,
            floor_a: 6.0,
            max_a: 16.0,
            ramp_a_per_s: 1.0,
            min_change_interval: Duration::from_secs(10),
            hold_band_a: 0.0,
            raise_band_a: 0.0,
            small_change_a: 0.0,
            hold_small_for: Duration::ZERO,
            switch: SwitchParams::default(),
        }
    }

    fn decision(amps: Option<f64>, available_w: f64, clamp: Option<&'static str>) -> Decision {
        Decision {
            command: match amps {
                Some(a) => Command::Charge {
                    current: Amps(a),
                    phases: Phases::Three,
                },
                None => Command::Pause,
            },
            reason: "solar only: the daemon's words".into(),
            clamp,
            factors: Factors {
                available_w: Some(available_w),
                window_wh: Some(5.0),
                ..Factors::default()
            },
        }
    }

    #[test]
    fn what_the_power_allows_is_its_current_between_floor_and_max() {
        let r = rules();
        assert_eq!(allowed(&r, 6210.0), Some(9.0));
        assert_eq!(allowed(&r, 4139.0), None);
        assert_eq!(allowed(&r, 20_000.0), Some(16.0));
    }

    #[test]
    fn a_decision_that_follows_the_power_gives_the_daemons_reason() {
        let r = rules();
        let d = decision(Some(9.3), 6300.0, None);
        assert_eq!(why(&r, &d, None), d.reason);
        let paused = decision(None, 2000.0, None);
        assert_eq!(why(&r, &paused, None), paused.reason);
    }

    #[test]
    fn a_ramp_or_the_change_interval_below_the_surplus_is_named_with_what_it_allows() {
        let r = rules();
        let ramp = why(&r, &decision(Some(6.0), 6210.0, Some("ramp")), None);
        assert_eq!(
            ramp,
            "ramp: up 1 A/s from the last change (the surplus allows 9 A)"
        );
        let interval = why(&r, &decision(Some(6.0), 6210.0, Some("interval")), None);
        assert!(interval.starts_with("one change per 10 s"), "{interval}");
        assert!(interval.ends_with("(the surplus allows 9 A)"), "{interval}");
    }

    #[test]
    fn a_pause_with_enough_surplus_is_the_min_off_time_or_the_start_window() {
        let r = rules();
        let d = decision(None, 6210.0, None);
        let min_off = r.switch.min_off.get();
        let held = why(&r, &d, Some(min_off / 2));
        assert!(held.starts_with("minimum off time: paused"), "{held}");
        assert!(held.ends_with("(the surplus allows 9 A)"), "{held}");
        let window = why(&r, &d, None);
        assert!(
            window.starts_with("start window: 5 of 20 Wh above the floor"),
            "{window}"
        );
    }

    #[test]
    fn charging_without_surplus_is_the_min_on_time_or_the_stop_window() {
        let r = rules();
        let d = decision(Some(6.0), 3000.0, None);
        let min_on = r.switch.min_on.get();
        let held = why(&r, &d, Some(min_on / 2));
        assert!(held.starts_with("minimum on time: charging for"), "{held}");
        assert!(
            held.ends_with("(the surplus is below the 6 A floor)"),
            "{held}"
        );
        let window = why(&r, &d, None);
        assert!(
            window.starts_with("stop window: the floor through a dip"),
            "{window}"
        );
        let mut r = rules();
        r.switch.stop_below_pct = 50.0;
        let kept = why(&r, &d, None);
        assert!(
            kept.starts_with("the floor kept: the surplus is above 50 %"),
            "{kept}"
        );
        r.switch.solar_share_pct = 96.0;
        let budget = why(&r, &d, None);
        assert!(
            budget.contains("solar-share budget (96 % solar)"),
            "{budget}"
        );
    }

    #[test]
    fn a_small_change_held_for_the_cloud_says_so() {
        let mut r = rules();
        r.small_change_a = 1.5;
        r.hold_small_for = Duration::from_secs(30);
        let d = decision(Some(8.0), 6900.0, None); // allows 10 A, 2 A more
        let held = why(&r, &d, None);
        assert!(held.starts_with("small change held: 8.0 A kept"), "{held}");
        assert!(held.contains("waits 30 s"), "{held}");
        let far = why(&r, &decision(Some(6.0), 8280.0, None), None); // allows 12 A
        assert!(!far.starts_with("small change"), "{far}");
    }

    #[test]
    fn a_policy_that_charges_from_the_grid_gives_its_own_reason() {
        let r = rules();
        let mut d = decision(Some(16.0), 0.0, None);
        d.factors.window_wh = None;
        d.reason = "below the minimum SoC 20 %: full power".into();
        assert_eq!(
            why(&r, &d, None),
            "below the minimum SoC 20 %: full power (the surplus is below the 6 A floor)"
        );
    }
}
