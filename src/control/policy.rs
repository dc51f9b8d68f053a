//! The policy interface: what a policy sees and what it may ask for.
//!
//! Owns: [`Policy`], [`PolicyContext`], [`Wish`] and [`MeterView`]. A policy turns the context into a
//! wish; the controller then does the common work (target SoC stop, fail-safe, PI, hysteresis, guard).
//! Built-in policies live in `policies/`, one file each.

use super::decision::Command;
use super::observation::Observation;
use super::plan::Plan;
use super::plan::outlook::Outlook;
use crate::units::LocalTime;
use crate::units::{Amps, Soc, Supply, Watts};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt::Debug;

/// The meter, when its reading is fresh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterView {
    /// Grid power, import positive (with a discharging home battery counted as import unless the
    /// policy allows the car to use it).
    pub grid: Watts,
    /// Power the car may take, export positive, not counting the car (= car − grid).
    pub available: Watts,
}

/// Everything a policy may look at.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub supply: Supply,
    pub floor: Amps,
    /// The highest current the charger, cable and car allow (before the fuse).
    pub max: Amps,
    /// Command resolution (1 A, or Smappee's percentage step).
    pub step: Amps,
    pub obs: &'a Observation,
    /// `None` when the meter reading is stale: the controller's fail-safe applies to solar wishes.
    pub meter: Option<MeterView>,
    /// What the car draws now (measured, or estimated from the last command).
    pub car_power: Watts,
    /// SoC now (reported, or estimated from energy since the report), if known.
    pub soc: Option<Soc>,
    /// The SoC charging stops at.
    pub target: Soc,
    pub capacity_kwh: Option<f64>,
    pub efficiency: f64,
    /// The departure time the user set in Home Assistant, over the policy file's.
    pub departure: Option<LocalTime>,
    /// The last command the guard let through.
    pub command: Command,
    /// Prices and solar forecast for the coming hours, when the site has any (the planner reads it).
    pub outlook: Option<&'a Outlook>,
}

impl PolicyContext<'_> {
    /// Power at the floor current.
    pub fn floor_power(&self) -> Watts {
        self.supply.power(self.floor)
    }
    pub fn max_power(&self) -> Watts {
        self.supply.power(self.max)
    }
}

/// Why a policy wishes what it does: a fixed sentence (`"solar only".into()`, no allocation, so a
/// step that asks for the same thing costs nothing) or one built for the step (`format!(..).into()`).
pub type Reason = std::borrow::Cow<'static, str>;

/// What a policy asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Wish {
    /// Do not charge.
    Pause { reason: Reason },
    /// Follow the surplus (feed-forward + PI on the grid). With a `minimum`, never go below it (taken
    /// from the grid when the sun does not give it) and never stop; without, start and stop with the
    /// hysteresis windows and hold the floor in between.
    Solar {
        minimum: Option<Amps>,
        reason: Reason,
    },
    /// This current, whatever the sun does.
    Fixed { current: Amps, reason: Reason },
    /// The policy runs its own loop (a baseline model): this current or a pause, as is. Only the guard
    /// and the stale-meter fail-safe apply.
    Direct {
        current: Option<Amps>,
        reason: Reason,
    },
}

impl Wish {
    pub fn reason(&self) -> &str {
        match self {
            Wish::Pause { reason }
            | Wish::Solar { reason, .. }
            | Wish::Fixed { reason, .. }
            | Wish::Direct { reason, .. } => reason,
        }
    }
    /// Whether the wish depends on a fresh meter reading.
    pub fn needs_meter(&self) -> bool {
        matches!(self, Wish::Solar { .. } | Wish::Direct { .. })
    }
}

/// A built-in policy module, configured from its policy file.
pub trait Policy: Send + Debug {
    fn wish(&mut self, ctx: &PolicyContext<'_>) -> Wish;
    /// The car was unplugged: forget per-session state.
    fn reset(&mut self) {}
    /// State worth keeping across a restart (a script's `state` map), as JSON.
    fn state(&self) -> Option<serde_json::Value> {
        None
    }
    /// Take back what [`Policy::state`] gave (after a restart or a reload).
    fn restore_state(&mut self, _state: &serde_json::Value) {}
    /// The departure plan the policy follows, if it plans (for `sunplug plan`, Home Assistant and the
    /// simulator's report).
    fn plan(&self) -> Option<&Plan> {
        None
    }
    /// The car is below the minimum SoC `min` (the policy file's `min_soc`, or the user's): how to
    /// charge up to it, by `by` (the file's `min_soc_by`) if set. `None`, the default: the
    /// controller charges at full power now.
    fn below_min(
        &mut self,
        _ctx: &PolicyContext<'_>,
        _min: Soc,
        _by: Option<LocalTime>,
    ) -> Option<Wish> {
        None
    }
}
