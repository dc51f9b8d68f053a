//! `planner`: reach the target SoC by the departure at the least expected cost, from the price list
//! and the solar forecast (`control::plan`). Also what `target-by-departure` runs with `use_plan`.
//!
//! Owns: [`PlanParams`] (the knobs both modules share), [`PlanRunner`] (keeps the last plan, re-plans
//! when its inputs change and at least every `replan`, and turns the slot at `now` into a wish) and
//! the `planner` module. Solar is always followed; in a slot the plan buys grid energy for, the
//! current never drops below the slot's planned power (its forecast sun + its grid rate; the floor
//! for a slot planned at the floor). That minimum is fixed for the slot, so passing clouds do not
//! move it (each move is a write to the charger); what the sun gives above it is still taken, and
//! what it fails to give is re-planned. A slot planned for a share of its length charges from its
//! start.

use super::{CheckParams, Module, load_module};
use crate::control::plan::series::slots;
use crate::control::plan::{Limits, Plan, plan};
use crate::control::policy::{Policy, PolicyContext, Wish};
use crate::units::{HumanDuration, LocalTime, Watts};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub const MODULE: Module = Module {
    name: "planner",
    summary: "reach the target SoC by the departure at the least cost: price list and solar forecast",
    needs_soc: true,
    load: |path, text, _| {
        load_module::<PlanParams>(path, text, &MODULE, |p, _| {
            Box::new(Planner {
                runner: PlanRunner::new(p),
            })
        })
    },
};

/// Re-plan when the need moved by this much since the last plan.
const REPLAN_NEED_WH: f64 = 100.0;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanParams {
    /// Local wall-clock departure time, every day.
    pub departure: LocalTime,
    /// Plan to be done this long before the departure (forecasts are wrong).
    pub margin: HumanDuration,
    /// The SoC assumed while the car has not reported one (low, so the car is never short).
    pub fallback_soc: f64,
    /// The plan's slot length (prices are hourly or 15-min).
    pub slot: HumanDuration,
    /// Re-plan at least this often, even when nothing changed.
    pub replan: HumanDuration,
}

impl Default for PlanParams {
    fn default() -> PlanParams {
        PlanParams {
            departure: "07:30".parse().expect("a valid literal"),
            margin: HumanDuration::secs(30 * 60),
            fallback_soc: 20.0,
            slot: HumanDuration::secs(15 * 60),
            replan: HumanDuration::secs(15 * 60),
        }
    }
}

impl CheckParams for PlanParams {
    fn check(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !(0.0..=100.0).contains(&self.fallback_soc) {
            v.push((
                "fallback_soc",
                format!("{} is not a SoC: use 0..=100", self.fallback_soc),
            ));
        }
        if !(60.0..=3600.0).contains(&self.slot.as_secs_f64()) {
            v.push((
                "slot",
                "use 1m..1h (prices come hourly or by 15 min)".into(),
            ));
        }
        if !(1.0..=3600.0).contains(&self.replan.as_secs_f64()) {
            v.push(("replan", "use 1s..1h".into()));
        }
        if self.margin.as_secs_f64() > 12.0 * 3600.0 {
            v.push(("margin", "at most 12h".into()));
        }
        v
    }
}

/// What the last plan was made from.
#[derive(Debug, Clone, PartialEq)]
struct Made {
    at: DateTime<Utc>,
    generation: Option<u64>,
    departure: DateTime<Utc>,
    need_wh: f64,
}

/// Plans and follows the plan.
#[derive(Debug)]
pub struct PlanRunner {
    pub params: PlanParams,
    last: Option<(Made, Plan)>,
}

impl PlanRunner {
    pub fn new(params: PlanParams) -> PlanRunner {
        PlanRunner { params, last: None }
    }

    pub fn plan(&self) -> Option<&Plan> {
        self.last.as_ref().map(|(_, p)| p)
    }

    pub fn reset(&mut self) {
        self.last = None;
    }

    /// The wish at `ctx.now`, re-planning first when due: the target by the departure (the user's
    /// day of departure, else the next time the local clock shows the departure time).
    pub fn wish(&mut self, ctx: &PolicyContext<'_>, module: &str) -> Wish {
        let departure_at = ctx.departure.unwrap_or(self.params.departure);
        let departure = ctx
            .obs
            .overrides
            .departure_at
            .filter(|t| *t > ctx.now)
            .unwrap_or_else(|| super::next_departure(ctx.now, ctx.tz, departure_at));
        self.wish_until(ctx, module, departure)
    }

    /// The wish at `ctx.now` for `ctx.target` by `departure` (less the margin).
    pub fn wish_until(
        &mut self,
        ctx: &PolicyContext<'_>,
        module: &str,
        departure: DateTime<Utc>,
    ) -> Wish {
        let by = departure.with_timezone(&ctx.tz).format("%a %H:%M");
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
                reason: format!(
                    "{module}: solar only, no battery capacity configured to plan the departure"
                )
                .into(),
            };
        };
        let need_wh = ((ctx.target.pct() - soc).max(0.0) / 100.0) * capacity * 1000.0
            / ctx.efficiency.max(0.1);
        let made = Made {
            at: ctx.now,
            generation: ctx.outlook.map(|o| o.generation),
            departure,
            need_wh,
        };
        let due = match &self.last {
            None => true,
            Some((m, _)) => {
                m.generation != made.generation
                    || m.departure != made.departure
                    || (m.need_wh - need_wh).abs() >= REPLAN_NEED_WH
                    || ctx.now - m.at >= dur(self.params.replan)
                    || ctx.now < m.at
            }
        };
        if due {
            let until = departure - dur(self.params.margin);
            let (prices, fallback, forecast) = match ctx.outlook {
                Some(o) => (
                    o.prices_at(ctx.now),
                    o.fallback_price,
                    o.forecast_at(ctx.now),
                ),
                None => (None, 0.0, None),
            };
            let input = slots(
                ctx.now,
                until,
                dur(self.params.slot),
                prices,
                fallback,
                forecast,
            );
            let limits = Limits::new(ctx.supply, ctx.floor, ctx.max);
            self.last = Some((made, plan(need_wh, &input, limits)));
        }
        let Some((_, p)) = &self.last else {
            return Wish::Solar {
                minimum: None,
                reason: format!("{module}: no plan").into(),
            };
        };
        let local = |t: DateTime<Utc>| t.with_timezone(&ctx.tz).format("%a %H:%M").to_string();
        let summary = format!(
            "{:.1} kWh by {by}{soc_note}, planned start {}, expected cost {:.2}{}",
            need_wh / 1000.0,
            p.start().map_or("none (solar covers it)".into(), local),
            p.cost,
            if p.feasible() {
                String::new()
            } else {
                format!(", {:.1} kWh short", p.shortfall_wh / 1000.0)
            }
        );
        let slot = p.slot_at(ctx.now).filter(|s| {
            let charging_until = s.start
                + Duration::milliseconds(
                    ((s.end - s.start).num_milliseconds() as f64 * s.share) as i64,
                );
            s.grid_rate.0 > 0.0 && ctx.now < charging_until.max(s.start + Duration::seconds(1))
        });
        match slot {
            Some(s) => {
                // The slot's planned power (its forecast sun + the grid rate), fixed for the
                // slot: the sun above it is still followed, and a minimum that tracked the live
                // sun would move, and be written, at every passing cloud.
                let planned = Watts(s.surplus.0.clamp(0.0, ctx.max_power().0)) + s.grid_rate;
                let current = ctx.supply.current(planned).clamp(ctx.floor, ctx.max);
                Wish::Solar {
                    minimum: Some(current),
                    reason: format!(
                        "{module}: grid {:.1} kW on top of the sun at {:.3}/kWh (at least {current}): {summary}",
                        s.grid_rate.kilowatts(),
                        s.price
                    ).into(),
                }
            }
            None => Wish::Solar {
                minimum: None,
                reason: format!("{module}: solar only now: {summary}").into(),
            },
        }
    }
}

fn dur(d: HumanDuration) -> Duration {
    Duration::from_std(d.get()).unwrap_or_default()
}

#[derive(Debug)]
pub struct Planner {
    runner: PlanRunner,
}

impl Policy for Planner {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        self.runner.wish(ctx, "plan")
    }
    fn reset(&mut self) {
        self.runner.reset();
    }
    fn plan(&self) -> Option<&Plan> {
        self.runner.plan()
    }
}
