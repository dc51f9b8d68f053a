//! The pure control core: observations in, a safe charger command out.
//!
//! Owns: [`Observation`] and [`Reading`] (what is known, with its age), the [`Policy`] trait and the
//! built-in [`policies`], the [`Controller`] (PI loop, start/stop switch, SoC estimate, fail-safe) and
//! the [`guard`] (floor, caps, ramp, change interval), and the [`actuate`] actuator (command → charger
//! request: dedupe, replug, backoff, manual changes), and the departure [`plan`] (least-cost grid
//! slots from a price list and a solar forecast), and the [`site`] controller (several loadpoints on
//! one connection: shared surplus by priority, staggered starts, the per-phase fuse). No I/O, no
//! async, no clock: `now` comes in.
//! `clippy.toml` forbids `Utc::now()` and friends outside `crate::clock`.

pub mod actuate;
pub mod controller;
pub mod decision;
pub mod guard;
pub mod hysteresis;
pub mod observation;
pub mod pi;
pub mod plan;
pub mod policies;
pub mod policy;
pub mod site;
pub mod soc;

pub use controller::{Controller, ControllerParams, Snapshot};
pub use decision::{Command, Decision, Factors};
pub use observation::{
    ChargerObs, MeterSample, Observation, Overrides, PowerBalance, Reading, VehicleObs,
};
pub use policy::{Policy, PolicyContext, Wish};
