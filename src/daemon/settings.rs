//! What the loop keeps and changes besides the controller: the user's Home Assistant settings, the
//! saved state, the policies that can be switched to, and the vehicle's merged view.

use super::ha::HaCommand;
use super::ports::VehicleUpdate;
use super::state::{Persisted, PolicyState, StateStore};
use crate::control::Controller;
use crate::control::policies::LoadedPolicy;
use std::path::{Path, PathBuf};
use tracing::warn;

pub(super) const STATE_FILE: &str = "state.json";

/// A vehicle update from the cloud, completed by MQTT topics where those are newer.
pub(super) fn merge_vehicle(
    cloud: Option<VehicleUpdate>,
    topics: Option<VehicleUpdate>,
) -> VehicleUpdate {
    match (cloud, topics) {
        (Some(c), None) => c,
        (None, Some(t)) => t,
        (None, None) => VehicleUpdate::default(),
        (Some(c), Some(t)) => {
            let mut m = c;
            m.obs.soc = newer(c.obs.soc, t.obs.soc);
            m.obs.plugged = newer(c.obs.plugged, t.obs.plugged);
            m.obs.charging = newer(c.obs.charging, t.obs.charging);
            m.obs.charge_limit = newer(c.obs.charge_limit, t.obs.charge_limit);
            m
        }
    }
}

/// The newer of two readings.
pub(super) fn newer<T>(
    a: Option<crate::control::Reading<T>>,
    b: Option<crate::control::Reading<T>>,
) -> Option<crate::control::Reading<T>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.at > x.at { y } else { x }),
        (x, y) => x.or(y),
    }
}

pub(super) fn apply_command(
    cmd: HaCommand,
    p: &mut Persisted,
    controller: &mut Controller,
    dir: Option<&Path>,
    base: &str,
) {
    let s = &mut p.settings;
    match cmd {
        HaCommand::Policy(name) => match dir.and_then(|d| load_named(d, &name)) {
            Some(policy) => {
                controller.set_policy(policy);
                s.policy = (name != base).then_some(name);
            }
            None => warn!(
                "policy \"{name}\" could not be loaded; keeping {}",
                controller.policy_name()
            ),
        },
        HaCommand::TargetSoc(t) => s.target_soc = Some(t),
        HaCommand::MinSoc(m) => s.min_soc = m,
        HaCommand::Departure(d) => s.departure = d,
        HaCommand::ChargeNow => s.charge_now = true,
        HaCommand::BackToPolicy => s.charge_now = false,
    }
}

pub(super) fn save(store: &StateStore, p: &Persisted, controller: &Controller) {
    save_as(store, STATE_FILE, p, controller);
}

/// Save `p` with the controller's snapshot and policy state as `file` (one per loadpoint on a site).
pub(super) fn save_as(store: &StateStore, file: &str, p: &Persisted, controller: &Controller) {
    let mut p = p.clone();
    p.snapshot = Some(controller.snapshot());
    p.policy_state = controller.policy_state().map(|state| PolicyState {
        policy: controller.policy_name().to_string(),
        state,
    });
    if let Err(e) = store.save(file, &p) {
        warn!("cannot save state: {e}");
    }
}

/// The policy files of a directory that load.
pub fn list_policies(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml") && crate::config::load_policy(p).is_ok()
        })
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

pub(super) fn load_named(dir: &Path, name: &str) -> Option<LoadedPolicy> {
    let path: PathBuf = dir.join(format!("{name}.toml"));
    match crate::config::load_policy(&path) {
        Ok(p) => Some(p),
        Err(e) => {
            warn!("{e}");
            None
        }
    }
}
