//! Helpers for the simulator tests: scenario directories written on the fly, and the built binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (scenarios, policies).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory holding a scenario and its files.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    pub fn path(&self) -> &Path {
        self.0.path()
    }
    /// Write `name` with `text`; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A CSV of `time,<column>` from (RFC 3339 time, value) pairs.
pub fn csv(column: &str, rows: &[(&str, f64)]) -> String {
    let mut s = format!("time,{column}\n");
    for (t, v) in rows {
        s.push_str(&format!("{t},{v}\n"));
    }
    s
}

/// Run the built `sunplug` with `args`; returns (exit code, stdout, stderr).
pub fn sunplug(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A 3-phase site with an exact meter, charger and car (no noise, no delays), stepping the controller
/// every second: every number of a run can be worked out by hand. `extra` is appended (it may add
/// keys to the last section, `[vehicle_api]`).
pub fn exact_scenario(policies: &[&str], extra: &str) -> String {
    let list = policies
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"name = "exact"
step = "1s"
policies = [{list}]

[data]
pv = "pv.csv"
load = "load.csv"
label = "instant"

[site]
timezone = "UTC"
phases = 3
voltage_v = 230

[control]
interval = "1s"
grid_setpoint_w = 0
min_change_interval = "10s"
ramp_a_per_s = 1.0

[car]
capacity_kwh = 77
start_soc = 20
target_soc = 100
plug_in = "09:00"
departure = "13:00"
max_current_a = 16
response_delay = "0s"
start_delay = "0s"
efficiency = 0.9

[charger]
limit_unit = "percentage"
max_current_a = 16
latency = "0s"
state_poll = "1s"

[meter]
period = "1s"
delay = "0s"
noise_w = 0
dropout_rate = 0

[vehicle_api]
enabled = false
{extra}"#
    )
}

/// pv-only without the integral term: the current is the feed-forward, rounded down.
pub const PV_ONLY_NO_I: &str = "module = \"pv-only\"\n[pi]\nki = 0.0\n";
