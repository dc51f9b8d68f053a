//! What the controller decides at each step, with its reasons.
//!
//! Owns: [`Command`] (what the charger should do, already safe: floor ≤ current ≤ max, or paused) and
//! [`Decision`] (the command, a sentence saying why, and the numbers behind it as [`Factors`], which the
//! daemon logs and the simulator writes as trace columns).

use crate::units::{Amps, Phases};
use std::fmt;

/// The charger command. The guard guarantees `Charge` is never below the floor or above the caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    Pause,
    Charge { current: Amps, phases: Phases },
}

impl Command {
    pub fn current(self) -> Amps {
        match self {
            Command::Pause => Amps::ZERO,
            Command::Charge { current, .. } => current,
        }
    }
    pub fn is_charging(self) -> bool {
        matches!(self, Command::Charge { .. })
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Pause => write!(f, "pause"),
            Command::Charge { current, phases } => write!(f, "{current} on {phases}"),
        }
    }
}

/// The numbers behind a decision. `None` where a number did not apply at this step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    /// Grid power, import positive.
    pub grid_w: Option<f64>,
    /// Power available for the car (export positive, without the car).
    pub available_w: Option<f64>,
    /// What the car draws.
    pub car_w: Option<f64>,
    /// Age of the meter reading.
    pub meter_age_s: Option<f64>,
    /// SoC used for the decision (reported or estimated).
    pub soc_pct: Option<f64>,
    /// The SoC the controller stops at.
    pub target_soc_pct: Option<f64>,
    /// Feed-forward current from the surplus.
    pub feed_forward_a: Option<f64>,
    /// PI terms.
    pub pi_p_a: Option<f64>,
    pub pi_i_a: Option<f64>,
    /// Start/stop energy window fill (Wh): toward a start while off, toward a stop while on.
    pub window_wh: Option<f64>,
    /// What the policy wanted before the guard.
    pub wanted_a: Option<f64>,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub command: Command,
    /// Why, in words, e.g. "solar: 3.2 kW surplus" or "meter stale for 45 s: holding the floor".
    pub reason: String,
    /// Which guard rule changed the policy's wish, if any (e.g. "max", "fuse", "ramp", "interval").
    pub clamp: Option<&'static str>,
    pub factors: Factors,
}
