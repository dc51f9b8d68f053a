//! The minimum SoC planned from prices and the solar forecast, for a policy that otherwise only
//! follows the sun (pv-only): the part below `min_soc` is bought in the cheapest slots before the
//! departure, or before `min_soc_by`, by the departure planner (`control::plan` through
//! [`PlanRunner`]), instead of at full power at once.
//!
//! Owns: [`MinPlan`]. It declines (and the controller charges the minimum at full power now, as
//! without it) when there is nothing to plan with (no fresh price list and no fresh forecast in the
//! controller's `Outlook`), no deadline (no `min_soc_by` and no departure the user set), or no
//! time left to reach the minimum by the deadline.

use super::next_departure;
use super::planner::{PlanParams, PlanRunner};
use crate::control::plan::Plan;
use crate::control::policy::{PolicyContext, Wish};
use crate::units::{LocalTime, Soc};

#[derive(Debug)]
pub struct MinPlan {
    runner: PlanRunner,
}

impl Default for MinPlan {
    fn default() -> MinPlan {
        MinPlan {
            runner: PlanRunner::new(PlanParams::default()),
        }
    }
}

impl MinPlan {
    /// How to charge up to `min` now, or `None` to charge it at full power.
    pub fn wish(
        &mut self,
        ctx: &PolicyContext<'_>,
        min: Soc,
        by: Option<LocalTime>,
    ) -> Option<Wish> {
        let outlook = ctx.outlook?;
        if outlook.prices_at(ctx.now).is_none() && outlook.forecast_at(ctx.now).is_none() {
            return None;
        }
        ctx.capacity_kwh?;
        let deadline = match by {
            Some(t) => next_departure(ctx.now, ctx.tz, t),
            None => ctx
                .obs
                .overrides
                .departure_at
                .filter(|t| *t > ctx.now)
                .or_else(|| ctx.departure.map(|d| next_departure(ctx.now, ctx.tz, d)))?,
        };
        let to_min = PolicyContext {
            target: min,
            ..*ctx
        };
        let wish = self
            .runner
            .wish_until(&to_min, &format!("minimum SoC {min}"), deadline);
        let late = self
            .runner
            .plan()
            .is_some_and(|p| !p.feasible() && p.slot_at(ctx.now).is_none());
        (!late).then_some(wish)
    }

    /// The plan for the minimum, once one was made.
    pub fn plan(&self) -> Option<&Plan> {
        self.runner.plan()
    }

    pub fn reset(&mut self) {
        self.runner.reset();
    }
}
