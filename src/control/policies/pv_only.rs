//! `pv-only`: charge only from the solar surplus; pause when it stays below the floor. With
//! `min_soc` and a price list or forecast, the part below it is planned ([`super::min_plan`]).

use super::min_plan::MinPlan;
use super::{Module, NoParams, load_module};
use crate::control::plan::Plan;
use crate::control::policy::{Policy, PolicyContext, Wish};
use crate::units::{LocalTime, Soc};

pub const MODULE: Module = Module {
    name: "pv-only",
    summary: "charge only from solar surplus; pause below the floor",
    needs_soc: false,
    load: |path, text, _| {
        load_module::<NoParams>(path, text, &MODULE, |_, _| Box::new(PvOnly::default()))
    },
};

#[derive(Debug, Default)]
pub struct PvOnly {
    min: MinPlan,
}

impl Policy for PvOnly {
    fn wish(&mut self, _ctx: &PolicyContext<'_>) -> Wish {
        Wish::Solar {
            minimum: None,
            reason: "solar only".into(),
        }
    }
    fn below_min(
        &mut self,
        ctx: &PolicyContext<'_>,
        min: Soc,
        by: Option<LocalTime>,
    ) -> Option<Wish> {
        self.min.wish(ctx, min, by)
    }
    fn reset(&mut self) {
        self.min.reset();
    }
    fn plan(&self) -> Option<&Plan> {
        self.min.plan()
    }
}
