//! `min-plus-pv`: always at least the floor while plugged in (from the grid if needed), solar on top.

use super::{Module, NoParams, load_module};
use crate::control::policy::{Policy, PolicyContext, Wish};

pub const MODULE: Module = Module {
    name: "min-plus-pv",
    summary: "always at least the floor while plugged in, solar surplus on top",
    needs_soc: false,
    load: |path, text, _| load_module::<NoParams>(path, text, &MODULE, |_, _| Box::new(MinPlusPv)),
};

#[derive(Debug)]
pub struct MinPlusPv;

impl Policy for MinPlusPv {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        Wish::Solar {
            minimum: Some(ctx.floor),
            reason: "floor from the grid, solar on top".into(),
        }
    }
}
