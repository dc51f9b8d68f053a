//! Built-in policies and the policy file format.
//!
//! A policy file (`policies/*.toml`) names a built-in `module`, sets the knobs every policy has (target
//! SoC, minimum SoC, grid set point, home battery rule, PI and start/stop tuning) and the module's own
//! knobs under `[params]`. Example:
//!
//! ```toml
//! module = "target-by-departure"
//! description = "80 % by 07:30, solar first"
//! target_soc = 80
//! [params]
//! departure = "07:30"
//! ```
//!
//! **Adding a policy**: write `policies/<name>.rs` with a `Params` struct (serde, deny unknown keys), a
//! type implementing [`Policy`], and `pub const MODULE: Module`; then add one line to [`MODULES`].

mod evcc_like;
mod fast;
mod min_plan;
mod min_plus_pv;
pub mod planner;
mod pv_only;
pub mod script;
mod script_ctx;
mod target_by_departure;

pub use target_by_departure::next_departure;

use super::hysteresis::SwitchParams;
use super::pi::PiParams;
use super::policy::Policy;
use crate::diag::{KeyIndex, Problem, Problems, parse_all};
use crate::units::{HumanDuration, LocalTime};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Every built-in module. One line per module.
pub const MODULES: &[Module] = &[
    pv_only::MODULE,
    min_plus_pv::MODULE,
    target_by_departure::MODULE,
    fast::MODULE,
    evcc_like::MODULE,
    script::MODULE,
    planner::MODULE,
];

/// A built-in policy module.
pub struct Module {
    pub name: &'static str,
    pub summary: &'static str,
    /// Whether the module needs the car's SoC (and `[vehicle] capacity_kwh`) to work.
    pub needs_soc: bool,
    /// Build the policy from its file's text and, for `script`, the text of the script the file
    /// names ([`script_file`]), read by `config`: nothing under `control` reads a file.
    pub load: fn(&Path, &str, Option<&str>) -> Built,
}

/// What a module's loader gives: the policy if the file is good, and every problem found.
pub type Built = (Option<LoadedPolicy>, Problems);

/// What the car may take from a home battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeBattery {
    /// Power going into the home battery counts as surplus (the car comes first); a discharging
    /// battery counts as a deficit, so the car never drains it.
    #[default]
    CarFirst,
    /// Only what is exported is surplus: the battery fills first. Discharge still counts as a deficit.
    BatteryFirst,
    /// The car may also take what the battery discharges.
    AllowDischarge,
}

/// The knobs every policy file has.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Common {
    pub description: String,
    /// Stop charging at this SoC (the car's own limit applies too, whichever is lower).
    pub target_soc: f64,
    /// Charge from the grid at full power up to this SoC first (a policy that plans the minimum,
    /// such as pv-only with a price list, charges it in the cheapest slots before `min_soc_by`).
    pub min_soc: Option<f64>,
    /// The local time `min_soc` must be reached by, for a policy that plans it (else the departure).
    pub min_soc_by: Option<LocalTime>,
    /// Let a policy that can (pv-only) plan the part below `min_soc` when prices or a forecast are
    /// known; `false` charges it at full power at once, whatever it costs.
    pub plan_min_soc: bool,
    /// Overrides `[control] grid_setpoint_w` for this policy.
    pub grid_setpoint_w: Option<f64>,
    pub home_battery: HomeBattery,
    pub pi: PiParams,
    pub switch: SwitchParams,
    /// Hold the present current while the wanted one is less than this much lower: fewer writes for
    /// a little import during noise.
    pub hold_band_a: f64,
    /// Hold the present current while the wanted one is less than this much higher: fewer writes
    /// (each a call to the charger's cloud) for a little surplus exported meanwhile.
    pub raise_band_a: f64,
    /// A change smaller than `small_change_a` waits until the present command is this old.
    pub hold_small_for: HumanDuration,
    pub small_change_a: f64,
}

impl Default for Common {
    fn default() -> Common {
        Common {
            description: String::new(),
            target_soc: 100.0,
            min_soc: None,
            min_soc_by: None,
            plan_min_soc: true,
            grid_setpoint_w: None,
            home_battery: HomeBattery::CarFirst,
            pi: PiParams::default(),
            switch: SwitchParams::default(),
            hold_band_a: 0.0,
            raise_band_a: 0.0,
            hold_small_for: HumanDuration::secs(0),
            small_change_a: 0.0,
        }
    }
}

/// A policy file as written: the module name, the common knobs and the module's `[params]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile<P> {
    module: String,
    #[serde(default)]
    description: String,
    #[serde(default = "hundred")]
    target_soc: f64,
    #[serde(default)]
    min_soc: Option<f64>,
    #[serde(default)]
    min_soc_by: Option<LocalTime>,
    #[serde(default = "yes")]
    plan_min_soc: bool,
    #[serde(default)]
    grid_setpoint_w: Option<f64>,
    #[serde(default)]
    home_battery: HomeBattery,
    #[serde(default)]
    pi: PiParams,
    #[serde(default)]
    switch: SwitchParams,
    #[serde(default)]
    hold_band_a: f64,
    #[serde(default)]
    raise_band_a: f64,
    #[serde(default)]
    hold_small_for: HumanDuration,
    #[serde(default)]
    small_change_a: f64,
    /// `module = "script"` only: the Rhai file, relative to the policy file.
    #[serde(default)]
    script: Option<String>,
    /// `module = "script"` only: what a step does when the script fails.
    #[serde(default)]
    on_error: Option<script::OnError>,
    #[serde(default)]
    params: P,
}

fn hundred() -> f64 {
    100.0
}

fn yes() -> bool {
    true
}

/// A policy ready to run, with its common knobs.
#[derive(Debug)]
pub struct LoadedPolicy {
    /// The file's name without `.toml`, e.g. "pv-only".
    pub name: String,
    pub module: &'static str,
    pub needs_soc: bool,
    pub common: Common,
    pub policy: Box<dyn Policy>,
    /// The files it was built from, the policy file first (then a script), for hot reload.
    pub files: Vec<std::path::PathBuf>,
}

/// Module-specific checks beyond types, as (key under `params`, message).
pub trait CheckParams {
    fn check(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// Load a policy that names no other file from its text (`path` names it in messages and gives its
/// name). A `script` policy needs its script's text too: [`load_with_script`].
pub fn load_str(path: &Path, text: &str) -> Result<LoadedPolicy, Problems> {
    load_with_script(path, text, None)
}

/// The script a policy file names (`module = "script"`, `script = "x.rhai"`, relative to the file),
/// for `config` to read and hand to [`load_with_script`]. `None` for every other file, and for one
/// that does not parse (loading it then says why).
pub fn script_file(path: &Path, text: &str) -> Option<PathBuf> {
    #[derive(Deserialize)]
    struct Header {
        module: Option<String>,
        script: Option<String>,
    }
    let h: Header = toml::from_str(text).ok()?;
    match (h.module.as_deref(), h.script) {
        (Some(m), Some(s)) if m == script::MODULE.name => Some(script::resolve(path, &s)),
        _ => None,
    }
}

/// Load a policy from its text and, for a `script` policy, its script's text (`path` names the
/// policy file in messages and gives its name).
pub fn load_with_script(
    path: &Path,
    text: &str,
    script: Option<&str>,
) -> Result<LoadedPolicy, Problems> {
    #[derive(Deserialize)]
    struct Header {
        module: Option<String>,
    }
    let problem = |key: &str, message: String| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            key: key.into(),
            line: KeyIndex::build(text).line(key),
            message,
        }])
    };
    let header: Header = toml::from_str(text)
        .map_err(|e| problem("", format!("not valid TOML: {}", e.message())))?;
    let names: Vec<&str> = MODULES.iter().map(|m| m.name).collect();
    let Some(name) = header.module else {
        return Err(problem(
            "module",
            format!(
                "missing: name the built-in policy module, one of {}",
                names.join(", ")
            ),
        ));
    };
    let Some(module) = MODULES.iter().find(|m| m.name == name) else {
        let hint = crate::diag::nearest(&name, &names)
            .map(|n| format!("did you mean \"{n}\"? "))
            .unwrap_or_default();
        return Err(problem(
            "module",
            format!(
                "unknown module \"{name}\": {hint}the built-in modules are {}",
                names.join(", ")
            ),
        ));
    };
    match (module.load)(path, text, script) {
        (Some(p), problems) if problems.is_empty() => Ok(p),
        (_, problems) => Err(problems),
    }
}

/// The shared loader the modules call: parse `PolicyFile<P>`, check common and module knobs, build.
fn load_module<P>(
    path: &Path,
    text: &str,
    module: &'static Module,
    build: impl FnOnce(P, &Common) -> Box<dyn Policy>,
) -> (Option<LoadedPolicy>, Problems)
where
    P: DeserializeOwned + Default + CheckParams,
{
    let (checked, mut problems) = parse_checked::<P>(path, text, module);
    let Some(c) = checked else {
        return (None, problems);
    };
    for key in ["script", "on_error"] {
        let set = match key {
            "script" => c.script.is_some(),
            _ => c.on_error.is_some(),
        };
        if set {
            problems.push(Problem {
                file: path.to_path_buf(),
                key: key.into(),
                line: c.idx.line(key),
                message: format!(
                    "only used with module = \"script\" (this file uses \"{}\")",
                    module.name
                ),
            });
        }
    }
    if !problems.is_empty() {
        return (None, problems);
    }
    let policy = build(c.params, &c.common);
    let common = c.common;
    let loaded = Checked {
        common,
        params: (),
        script: None,
        on_error: None,
        idx: c.idx,
    }
    .into_loaded(path, module, policy, Vec::new());
    (Some(loaded), problems)
}

/// A policy file parsed, with its common knobs checked.
struct Checked<P> {
    common: Common,
    params: P,
    script: Option<String>,
    on_error: Option<script::OnError>,
    idx: KeyIndex,
}

impl<P> Checked<P> {
    fn into_loaded(
        self,
        path: &Path,
        module: &'static Module,
        policy: Box<dyn Policy>,
        files: Vec<std::path::PathBuf>,
    ) -> LoadedPolicy {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| module.name.to_string());
        LoadedPolicy {
            name,
            module: module.name,
            needs_soc: module.needs_soc,
            common: self.common,
            policy,
            files: std::iter::once(path.to_path_buf()).chain(files).collect(),
        }
    }
}

/// Parse `PolicyFile<P>` and check every common and module knob.
fn parse_checked<P>(
    path: &Path,
    text: &str,
    _module: &'static Module,
) -> (Option<Checked<P>>, Problems)
where
    P: DeserializeOwned + Default + CheckParams,
{
    let (file, mut problems) = parse_all::<PolicyFile<P>>(path, text);
    let Some(file) = file else {
        return (None, problems);
    };
    let idx = KeyIndex::build(text);
    let mut push = |key: String, message: String| {
        problems.push(Problem {
            file: path.to_path_buf(),
            line: idx.line(&key),
            key,
            message,
        })
    };
    let pct = |v: f64| (0.0..=100.0).contains(&v);
    if !pct(file.target_soc) {
        push(
            "target_soc".into(),
            format!("{} is not a SoC: use 0..=100", file.target_soc),
        );
    }
    if let Some(m) = file.min_soc
        && (!pct(m) || m > file.target_soc)
    {
        push(
            "min_soc".into(),
            format!("{m} must be within 0..=target_soc ({})", file.target_soc),
        );
    }
    if file.min_soc_by.is_some() && file.min_soc.is_none() {
        push(
            "min_soc_by".into(),
            "is the time min_soc must be reached by: set min_soc too, or remove it".into(),
        );
    }
    if file.pi.ki < 0.0 || file.pi.kp < 0.0 || file.pi.max_correction_a < 0.0 {
        push(
            "pi".into(),
            "gains and max_correction_a must not be negative".into(),
        );
    }
    let s = &file.switch;
    let non_negative = [
        ("start_energy_wh", s.start_energy_wh),
        ("stop_energy_wh", s.stop_energy_wh),
        ("restart_energy_wh", s.restart_energy_wh),
        ("bridge_share_pct", s.bridge_share_pct),
        ("bridge_max_wh", s.bridge_max_wh),
        ("bridge_min_volatility_w", s.bridge_min_volatility_w),
        ("budget_max_wh", s.budget_max_wh),
        ("spent_stop_energy_wh", s.spent_stop_energy_wh),
        ("budget_min_volatility_w", s.budget_min_volatility_w),
        ("debt_stop_weight", s.debt_stop_weight),
        ("debt_start_energy_wh", s.debt_start_energy_wh),
        ("start_sky_margin", s.start_sky_margin),
    ];
    for (key, v) in non_negative {
        if !(v >= 0.0 && v.is_finite()) {
            push(format!("switch.{key}"), format!("{v} must be a number ≥ 0"));
        }
    }
    if s.drain.is_nan() || s.drain <= 0.0 {
        push(
            "switch.drain".into(),
            "must be more than 0 (1 drains as fast as it fills)".into(),
        );
    }
    if s.start_cap_w.is_nan() || s.start_cap_w <= 0.0 {
        push("switch.start_cap_w".into(), "must be more than 0 W".into());
    }
    if !(1.0..=100.0).contains(&s.stop_below_pct) {
        push(
            "switch.stop_below_pct".into(),
            format!(
                "{} must be within 1..=100 (% of the floor power)",
                s.stop_below_pct
            ),
        );
    }
    if !(0.0..100.0).contains(&s.solar_share_pct) {
        push(
            "switch.solar_share_pct".into(),
            format!(
                "{} must be within 0..100 (% of the car's energy from the sun; 0 = no budget)",
                s.solar_share_pct
            ),
        );
    }
    for (key, v) in [
        ("budget_stop_pct", s.budget_stop_pct),
        ("budget_start_pct", s.budget_start_pct),
    ] {
        if !(0.0..=100.0).contains(&v) {
            push(
                format!("switch.{key}"),
                format!("{v} must be within 0..=100 (% of the floor power)"),
            );
        }
    }
    for (key, v) in [
        ("hold_band_a", file.hold_band_a),
        ("raise_band_a", file.raise_band_a),
        ("small_change_a", file.small_change_a),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            push(key.into(), format!("{v} must be a number of ampere ≥ 0"));
        }
    }
    for (key, message) in file.params.check() {
        push(format!("params.{key}"), message);
    }
    if !problems.is_empty() {
        return (None, problems);
    }
    let common = Common {
        description: file.description,
        target_soc: file.target_soc,
        min_soc: file.min_soc,
        min_soc_by: file.min_soc_by,
        plan_min_soc: file.plan_min_soc,
        grid_setpoint_w: file.grid_setpoint_w,
        home_battery: file.home_battery,
        pi: file.pi,
        switch: file.switch,
        hold_band_a: file.hold_band_a,
        raise_band_a: file.raise_band_a,
        hold_small_for: file.hold_small_for,
        small_change_a: file.small_change_a,
    };
    let _ = file.module;
    (
        Some(Checked {
            common,
            params: file.params,
            script: file.script,
            on_error: file.on_error,
            idx,
        }),
        problems,
    )
}

/// Parameters for modules that have none.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

impl CheckParams for NoParams {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_module_is_named_with_a_suggestion() {
        let e = load_str(Path::new("p.toml"), "module = \"pv-onyl\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("did you mean \"pv-only\""), "{msg}");
        assert_eq!(e.0[0].line, Some(1));
    }

    #[test]
    fn bad_knobs_are_all_reported() {
        let text =
            "module = \"pv-only\"\ntarget_soc = 120\n[switch]\nstart_energy_wh = -1\nstrat = 3\n";
        let e = load_str(Path::new("p.toml"), text).unwrap_err();
        let keys: Vec<&str> = e.iter().map(|p| p.key.as_str()).collect();
        for key in ["switch.strat", "target_soc", "switch.start_energy_wh"] {
            assert!(keys.contains(&key), "{key} missing from {e}");
        }
    }
}
