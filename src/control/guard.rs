//! The last line of safety, whatever a policy asks for.
//!
//! Owns: [`Guard`]. Its rules, in order:
//! 1. **caps**: never above the charger's max, the cable, the car's own max, or the main fuse minus the
//!    house load per phase (the house load is assumed balanced over the phases; with no load reading the
//!    fuse alone caps);
//! 2. **resolution**: round down to what the charger can be commanded (whole amps, or Smappee's
//!    percentage steps), so the car never draws more than asked;
//! 3. **floor**: never between 0 and the floor (6 A): below it, pause;
//! 4. **ramp**: an increase is limited to `ramp_a_per_s` × the time since the last change; a start
//!    (from pause, or from nothing after a restart) begins at the floor. Decreases are never limited;
//! 5. **change interval**: at most one change per `min_change_interval` (IEC 61851 cars need ≥ 5 s),
//!    except a decrease forced by a cap that the present command exceeds (safety before comfort), and
//!    a pause when no car is connected ([`Guard::idle`]).
//!
//! These are proptested over random sequences in `tests/it/guard_props.rs`.

use super::decision::Command;
use crate::units::{Amps, Supply, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardParams {
    pub supply: Supply,
    /// The floor (6 A): the lowest current a car accepts.
    pub floor: Amps,
    /// The lowest of the charger's max, the cable and the car's max.
    pub max: Amps,
    pub main_fuse: Option<Amps>,
    /// Command resolution: values are `step_base + n × step`.
    pub step: Amps,
    pub step_base: Amps,
    pub ramp_a_per_s: f64,
    pub min_change_interval: Duration,
}

impl GuardParams {
    /// The cap at this moment, given the house load (without the car) if known.
    pub fn cap(&self, house_load: Option<Watts>) -> (Amps, &'static str) {
        let mut cap = (self.max, "max");
        if let Some(fuse) = self.main_fuse {
            let house_per_phase = house_load.map(|w| self.supply.current(w.max(Watts::ZERO)));
            let room = fuse - house_per_phase.unwrap_or(Amps::ZERO);
            if room < cap.0 {
                cap = (room, "fuse");
            }
        }
        cap
    }

    /// Round a current down to the command resolution.
    pub fn quantize(&self, a: Amps) -> Amps {
        a.floor_to_step(self.step_base, self.step)
    }

    /// Round down to the command resolution without ever exceeding `cap`: the rounding tolerance
    /// (a value within 1e-6 A of the next step counts as that step) must not lift a current over a cap
    /// that lies just below a step (a fuse room of 11.9999991 A is 11 A, not 12).
    pub fn quantize_within(&self, a: Amps, cap: Amps) -> Amps {
        let q = self.quantize(a.min(cap));
        if q > cap { q - self.step } else { q }
    }
}

/// The guard's memory: the last command it let through and when it changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guard {
    params: GuardParams,
    last: Option<(Command, DateTime<Utc>)>,
}

/// A guarded command and the rule that shaped it, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guarded {
    pub command: Command,
    pub clamp: Option<&'static str>,
}

impl Guard {
    pub fn new(params: GuardParams) -> Guard {
        Guard { params, last: None }
    }

    pub fn params(&self) -> &GuardParams {
        &self.params
    }

    /// Change the maximum (the station reported a lower one, or stopped doing so). The next command
    /// obeys it; a current above it comes down at once, as any cap does.
    pub fn set_max(&mut self, max: Amps) {
        self.params.max = max;
    }

    /// The last command let through, and when it changed.
    pub fn last(&self) -> Option<(Command, DateTime<Utc>)> {
        self.last
    }

    /// Start from a known command (the charger's state after a restart). The ramp then counts from
    /// `at`, so a restart never jumps to a higher current.
    /// The reported current is brought onto the command resolution and within the floor and max, so
    /// whatever the guard lets through stays a command the charger can be sent.
    pub fn resume(&mut self, command: Command, at: DateTime<Utc>) {
        let p = self.params;
        let command = match command {
            Command::Charge { current, phases } => {
                let a = p.quantize_within(current, p.max);
                if a < p.floor || !a.is_finite() {
                    Command::Pause
                } else {
                    Command::Charge { current: a, phases }
                }
            }
            Command::Pause => Command::Pause,
        };
        self.last = Some((command, at));
    }

    /// Something after the guard (the site controller: a staggered start, the site's fuse) sent a
    /// lower command than the one this guard let through. Remember what was really sent, so the
    /// ramp, the change interval and the car's power estimate count from it. `before` is what
    /// [`Guard::last`] said before this step: when the command sent is that one, nothing changed,
    /// and its time is kept.
    pub fn overrule(
        &mut self,
        command: Command,
        now: DateTime<Utc>,
        before: Option<(Command, DateTime<Utc>)>,
    ) {
        self.last = match before {
            Some((c, at)) if c == command => Some((c, at)),
            _ => Some((command, now)),
        };
    }

    /// No car is connected: pause at once. The change interval protects a car; with none there is
    /// nothing to protect, and a stale limit must not wait for the next car.
    pub fn idle(&mut self, now: DateTime<Utc>) -> Guarded {
        if self.last.is_none_or(|(c, _)| c != Command::Pause) {
            self.last = Some((Command::Pause, now));
        }
        Guarded {
            command: Command::Pause,
            clamp: None,
        }
    }

    /// Apply every rule to what the policy wants (`None` = pause).
    pub fn apply(
        &mut self,
        now: DateTime<Utc>,
        wanted: Option<Amps>,
        house_load: Option<Watts>,
    ) -> Guarded {
        let p = self.params;
        let mut clamp = None;
        let (cap, cap_rule) = p.cap(house_load);

        let mut current = wanted.filter(|a| a.is_finite());
        if let Some(a) = current
            && a > cap
        {
            clamp = Some(cap_rule);
            current = Some(cap);
        }
        current = current.map(|a| p.quantize_within(a, cap));
        if let Some(a) = current
            && a < p.floor
        {
            clamp = Some("floor");
            current = None;
        }

        // Ramp: increases only, counted from the last change; a start begins at the floor.
        if let Some(a) = current {
            let limit = match self.last {
                Some((Command::Charge { current: prev, .. }, at)) => {
                    let dt = (now - at).to_std().unwrap_or_default().as_secs_f64();
                    p.quantize(prev + Amps(p.ramp_a_per_s * dt)).max(prev)
                }
                _ => p.floor,
            };
            if a > limit {
                clamp = Some("ramp");
                current = Some(limit.max(p.floor));
            }
        }

        let mut command = match current {
            Some(a) => Command::Charge {
                current: a,
                phases: p.supply.phases,
            },
            None => Command::Pause,
        };

        if let Some((prev, at)) = self.last {
            let too_soon = (now - at).to_std().unwrap_or_default() < p.min_change_interval;
            if too_soon && command != prev {
                let prev_over_cap = prev.current() > cap;
                let is_decrease = command.current() < prev.current();
                if !(prev_over_cap && is_decrease) {
                    command = prev;
                    clamp = Some("interval");
                }
            }
            if command != prev {
                self.last = Some((command, now));
            }
        } else {
            self.last = Some((command, now));
        }
        Guarded { command, clamp }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Phases, Volts};
    use chrono::TimeZone;

    fn params() -> GuardParams {
        GuardParams {
            supply: Supply::new(Phases::Three, Volts(230.0)),
            floor: Amps(6.0),
            max: Amps(16.0),
            main_fuse: Some(Amps(25.0)),
            step: Amps(1.0),
            step_base: Amps(0.0),
            ramp_a_per_s: 1.0,
            min_change_interval: Duration::from_secs(10),
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    #[test]
    fn below_floor_pauses_and_starts_at_floor() {
        let mut g = Guard::new(params());
        assert_eq!(g.apply(t(0), Some(Amps(5.9)), None).command, Command::Pause);
        let out = g.apply(t(20), Some(Amps(16.0)), None);
        assert_eq!(out.command.current(), Amps(6.0));
        assert_eq!(out.clamp, Some("ramp"));
        // 10 s later the ramp allows +10 A.
        assert_eq!(
            g.apply(t(30), Some(Amps(16.0)), None).command.current(),
            Amps(16.0)
        );
    }

    #[test]
    fn caps_by_max_and_fuse_minus_house_load() {
        let mut g = Guard::new(params());
        g.resume(
            Command::Charge {
                current: Amps(16.0),
                phases: Phases::Three,
            },
            t(-100),
        );
        let out = g.apply(t(0), Some(Amps(40.0)), None);
        assert_eq!(
            (out.command.current(), out.clamp),
            (Amps(16.0), Some("max"))
        );
        // 13.8 kW of house load = 20 A per phase: 5 A left < floor: pause, at once.
        let out = g.apply(t(1), Some(Amps(16.0)), Some(Watts(13_800.0)));
        assert_eq!(out.command, Command::Pause);
    }

    #[test]
    fn holds_changes_within_the_interval() {
        let mut g = Guard::new(params());
        g.resume(
            Command::Charge {
                current: Amps(10.0),
                phases: Phases::Three,
            },
            t(0),
        );
        let out = g.apply(t(5), Some(Amps(8.0)), None);
        assert_eq!(
            (out.command.current(), out.clamp),
            (Amps(10.0), Some("interval"))
        );
        assert_eq!(
            g.apply(t(10), Some(Amps(8.0)), None).command.current(),
            Amps(8.0)
        );
    }

    #[test]
    fn an_overrule_counts_from_what_was_sent() {
        let mut g = Guard::new(params());
        g.resume(Command::Pause, t(-100));
        let before = g.last();
        // The guard let a start through; the site held it back: the pause since t(-100) stands.
        assert!(g.apply(t(0), Some(Amps(6.0)), None).command.is_charging());
        g.overrule(Command::Pause, t(0), before);
        assert_eq!(g.last(), before);
        // A cut to a lower current is a change now: the interval counts from it.
        g.resume(
            Command::Charge {
                current: Amps(16.0),
                phases: Phases::Three,
            },
            t(-100),
        );
        let before = g.last();
        let eight = Command::Charge {
            current: Amps(8.0),
            phases: Phases::Three,
        };
        g.overrule(eight, t(0), before);
        assert_eq!(g.last(), Some((eight, t(0))));
        let out = g.apply(t(5), Some(Amps(16.0)), None);
        assert_eq!((out.command, out.clamp), (eight, Some("interval")));
    }

    #[test]
    fn percentage_resolution_rounds_down() {
        let mut p = params();
        p.max = Amps(32.0);
        p.step = Amps(0.26);
        p.step_base = Amps(6.0);
        let mut g = Guard::new(p);
        g.resume(
            Command::Charge {
                current: Amps(6.0),
                phases: Phases::Three,
            },
            t(-100),
        );
        let a = g.apply(t(0), Some(Amps(8.7)), None).command.current();
        assert!((a.0 - 8.6).abs() < 1e-9, "{a}");
    }

    #[test]
    fn rounding_never_lifts_a_current_over_a_cap_just_below_a_step() {
        let mut p = params();
        p.max = Amps(11.999_999_141_579_375);
        let mut g = Guard::new(p);
        g.resume(
            Command::Charge {
                current: Amps(12.0),
                phases: Phases::Three,
            },
            t(-100),
        );
        assert_eq!(g.last().unwrap().0.current(), Amps(11.0));
        assert_eq!(
            g.apply(t(0), Some(Amps(16.0)), None).command.current(),
            Amps(11.0)
        );
        assert_eq!(
            p.quantize_within(Amps(8.6), Amps(16.0)),
            Amps(8.0),
            "whole amps"
        );
    }
}
