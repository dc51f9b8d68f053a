//! `fast`: the highest current the charger, cable, car and fuse allow, now.

use super::{Module, NoParams, load_module};
use crate::control::policy::{Policy, PolicyContext, Wish};

pub const MODULE: Module = Module {
    name: "fast",
    summary: "maximum current now",
    needs_soc: false,
    load: |path, text, _| load_module::<NoParams>(path, text, &MODULE, |_, _| Box::new(Fast)),
};

#[derive(Debug)]
pub struct Fast;

impl Policy for Fast {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish {
        Wish::Fixed {
            current: ctx.max,
            reason: "fast: maximum current".into(),
        }
    }
}
