//! `pv-only`: charge only from the solar surplus; pause when it stays below the floor.

use super::{Module, NoParams, load_module};
use crate::control::policy::{Policy, PolicyContext, Wish};

pub const MODULE: Module = Module {
    name: "pv-only",
    summary: "charge only from solar surplus; pause below the floor",
    needs_soc: false,
    load: |path, text, _| load_module::<NoParams>(path, text, &MODULE, |_, _| Box::new(PvOnly)),
};

#[derive(Debug)]
pub struct PvOnly;

impl Policy for PvOnly {
    fn wish(&mut self, _ctx: &PolicyContext<'_>) -> Wish {
        Wish::Solar {
            minimum: None,
            reason: "solar only".into(),
        }
    }
}
