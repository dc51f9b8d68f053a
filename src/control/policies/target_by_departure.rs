//! `target-by-departure`: reach the target SoC by a local departure time, solar first.
//!
//! Rule ("latest start"): charge from the surplus only, until the latest moment at which charging at
//! the full current would still reach the target by the departure (with a safety margin). From then on
//! the grid makes up the rest: the current never drops below what is needed to finish in time, and
//! solar above that is still taken. Solar charged before the latest start lowers the energy needed and
//! so pushes the latest start later. The departure is a wall-clock time in the site's timezone, found
//! with chrono-tz, so DST change days are handled (a time that does not exist that day means the first
//! minute after the gap; an ambiguous time means its first occurrence).
//!
//! With `use_plan = true` it follows the least-cost plan instead (the `planner` module's rule, from
//! the price list and the solar forecast), with the same departure, margin and fallback SoC.

use super::planner::{PlanParams, PlanRunner};
use super::{CheckParams, Module, load_module};
use crate::control::plan::Plan;
use crate::control::policy::{Policy, PolicyContext, Wish};
use crate::units::Watts;
use crate::units::{HumanDuration, LocalTime};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

pub const MODULE: Module = Module {
    name: "target-by-departure",
    summary: "reach the target SoC by a local departure time; solar first, grid for the rest",
    needs_soc: true,
    load: |path, text, _| {
        load_module::<Params>(path, text, &MODULE, |p, _| {
            let runner = p.use_plan.then(|| {
                PlanRunner::new(PlanParams {
                    departure: p.departure,
                    margin: p.margin,
                    fallback_soc: p.fallback_soc,
                    ..PlanParams::default()
                })
            });
            Box::new(TargetByDeparture { params: p, runner })
        })
    },
};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Local wall-clock departure time, every day.
    pub departure: LocalTime,
    /// Finish this long before the departure.
    pub margin: HumanDuration,
    /// The SoC assumed while the car has not reported one (low, so the car is never short).
    pub fallback_soc: f64,
    /// Follow the least-cost plan from prices and the solar forecast instead of "latest start".
    pub use_plan: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            departure: "07:30".parse().expect("a valid literal"),
            margin: HumanDuration::secs(30 * 60),
            fallback_soc: 20.0,
            use_plan: false,
        }
    }
}

impl CheckParams for Params {
    fn check(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !(0.0..=100.0).contains(&self.fallback_soc) {
            v.push((
                "fallback_soc",
                format!("{} is not a SoC: use 0..=100", self.fallback_soc),
            ));
        }
        v
    }
}

#[derive(Debug)]
pub struct TargetByDeparture {
    params: Params,
    runner: Option<PlanRunner>,
}

/// The next time the local clock shows `at`, strictly after `now`.
pub fn next_departure(now: DateTime<Utc>, tz: Tz, at: LocalTime) -> DateTime<Utc> {
    let local_today = now.with_timezone(&tz).date_naive();
    for day in 0..3 {
        let date = local_today + Duration::days(day);
        let t = resolve_local(tz, date.and_time(at.0));
        if t > now {
            return t;
        }
    }
    now + Duration::days(1)
}

/// A local wall-clock time as an instant: the earlier of two on an ambiguous hour, the end of the gap
/// on a skipped one.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&local)
}

impl Policy for TargetByDeparture {
    fn reset(&mut self) {
        self.reset_plan();
    }
    fn plan(&self) -> Option<&Plan> {
        self.runner.as_ref().and_then(PlanRunner::plan)
    }
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        if let Some(runner) = &mut self.runner {
            return runner.wish(ctx, "target by departure, planned");
        }
        let departure_at = ctx.departure.unwrap_or(self.params.departure);
        let departure = ctx
            .obs
            .overrides
            .departure_at
            .filter(|t| *t > ctx.now)
            .unwrap_or_else(|| next_departure(ctx.now, ctx.tz, departure_at));
        let (soc, soc_note) = match ctx.soc {
            Some(s) => (s.pct(), ""),
            None => (
                self.params.fallback_soc,
                " (SoC unknown, assuming the fallback)",
            ),
        };
        let Some(capacity) = ctx.capacity_kwh else {
            return Wish::Solar {
                minimum: None,
                reason: "solar only: no battery capacity configured to plan the departure".into(),
            };
        };
        let need_kwh =
            ((ctx.target.pct() - soc).max(0.0) / 100.0) * capacity / ctx.efficiency.max(0.1);
        let p_max = ctx.max_power().0.max(1.0);
        let hours_at_max = need_kwh * 1000.0 / p_max;
        let full_power_time = Duration::seconds((hours_at_max * 3600.0 * 1.1).ceil() as i64);
        let margin = Duration::from_std(self.params.margin.get()).unwrap_or_default();
        let latest_start = departure - full_power_time - margin;
        if ctx.now < latest_start {
            let local = latest_start.with_timezone(&ctx.tz).format("%H:%M");
            return Wish::Solar {
                minimum: None,
                reason: format!(
                    "solar until {local}: {need_kwh:.1} kWh needed by {departure_at}{soc_note}"
                )
                .into(),
            };
        }
        let left_h = ((departure - margin - ctx.now).num_seconds() as f64 / 3600.0).max(1.0 / 60.0);
        let needed = ctx
            .supply
            .current(Watts(need_kwh * 1000.0 * 1.1 / left_h))
            .clamp(ctx.floor, ctx.max);
        Wish::Solar {
            minimum: Some(needed),
            reason: format!(
                "grid makes up the rest: {need_kwh:.1} kWh needed by {departure_at}, at least {needed}{soc_note}"
            )
            .into(),
        }
    }
}

impl TargetByDeparture {
    fn reset_plan(&mut self) {
        if let Some(r) = &mut self.runner {
            r.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn next_departure_is_local_and_dst_correct() {
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        let at: LocalTime = "07:30".parse().unwrap();
        // Summer: 07:30 CEST = 05:30Z.
        assert_eq!(
            next_departure(utc("2026-06-01T03:00:00Z"), tz, at),
            utc("2026-06-01T05:30:00Z")
        );
        // Already past today: tomorrow.
        assert_eq!(
            next_departure(utc("2026-06-01T06:00:00Z"), tz, at),
            utc("2026-06-02T05:30:00Z")
        );
        // Evening before the spring change (29 March 2026): 07:30 CEST = 05:30Z, one hour less night.
        assert_eq!(
            next_departure(utc("2026-03-28T20:00:00Z"), tz, at),
            utc("2026-03-29T05:30:00Z")
        );
        // Evening before the autumn change (25 October 2026): 07:30 CET = 06:30Z.
        assert_eq!(
            next_departure(utc("2026-10-24T20:00:00Z"), tz, at),
            utc("2026-10-25T06:30:00Z")
        );
    }

    #[test]
    fn skipped_and_repeated_times() {
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        // 02:30 does not exist on 29 March 2026: the first minute after the gap, 03:00 CEST = 01:00Z.
        let at: LocalTime = "02:30".parse().unwrap();
        assert_eq!(
            next_departure(utc("2026-03-28T22:00:00Z"), tz, at),
            utc("2026-03-29T01:00:00Z")
        );
        // 02:30 happens twice on 25 October 2026: the first, 02:30 CEST = 00:30Z.
        assert_eq!(
            next_departure(utc("2026-10-24T22:00:00Z"), tz, at),
            utc("2026-10-25T00:30:00Z")
        );
    }
}
