//! Several cars in one scenario: `[[loadpoint]]` tables (each its own car and charger) and the
//! `[[variant]]`s of sharing to compare.
//!
//! Owns: the raw schema of both tables, [`LoadpointModel`], [`Variant`] and [`resolve`] (every problem
//! reported with its key, `loadpoint[1].car.start_soc`). A scenario with `[[loadpoint]]` has no
//! `[car]`; each loadpoint's charger is its `[loadpoint.charger]`, else the scenario's `[charger]`.
//! A scenario with a single `[car]` is one loadpoint, as before.
//!
//! ```toml
//! [[loadpoint]]
//! name = "commuter"
//! priority = 1            # higher goes first; equals split fairly (default 0)
//! phase = "L1"            # a 1-phase car: the line it loads (default L1)
//! [loadpoint.car]         # the keys of [car]
//! capacity_kwh = 58
//! ...
//!
//! [[variant]]             # optional: one run per policy and variant
//! name = "home car first"
//! priority = { home = 1, commuter = 0 }
//! ```

use super::scenario::{RawCar, check_car};
use super::spec::{CarSpec, ChargerSpec};
use crate::control::site::Line;
use crate::units::Phases;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// At most this many loadpoints in one scenario.
const MAX_LOADPOINTS: usize = 8;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLoadpoint {
    name: Option<String>,
    priority: i32,
    phase: Option<Line>,
    /// This loadpoint's policy file, over the scenario's `policies` (which then name the runs).
    policy: Option<PathBuf>,
    car: RawCar,
    charger: Option<ChargerSpec>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawVariant {
    name: String,
    priority: BTreeMap<String, i32>,
}

/// One car and its charger.
#[derive(Debug, Clone)]
pub struct LoadpointModel {
    pub name: String,
    pub priority: i32,
    /// The line a 1-phase car loads.
    pub phase: Line,
    /// Its own policy file (resolved), if it has one.
    pub policy: Option<PathBuf>,
    pub car: CarSpec,
    pub charger: ChargerSpec,
}

/// One way of sharing: each loadpoint's priority, in loadpoint order.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: String,
    pub priorities: Vec<i32>,
}

/// Check and resolve the tables. `charger` is the scenario's `[charger]`.
pub(super) fn resolve(
    raw: &[RawLoadpoint],
    variants: &[RawVariant],
    site_phases: Phases,
    charger: &ChargerSpec,
    dir: &Path,
    push: &mut impl FnMut(&str, String),
) -> (Vec<LoadpointModel>, Vec<Variant>) {
    if raw.len() > MAX_LOADPOINTS {
        push(
            "loadpoint",
            format!(
                "{} loadpoints: at most {MAX_LOADPOINTS} in one scenario",
                raw.len()
            ),
        );
    }
    let mut out = Vec::new();
    for (k, lp) in raw.iter().enumerate() {
        let key = |rest: &str| format!("loadpoint[{k}].{rest}");
        let name = match lp.name.as_deref().map(str::trim) {
            None | Some("") => {
                push(
                    &key("name"),
                    "missing: name each loadpoint, e.g. name = \"commuter\"".into(),
                );
                format!("loadpoint {}", k + 1)
            }
            Some(n) => n.to_string(),
        };
        if raw[..k]
            .iter()
            .any(|o| o.name.as_deref().map(str::trim) == Some(name.as_str()))
        {
            push(
                &key("name"),
                format!("\"{name}\" is used twice: names must differ"),
            );
        }
        let charger = lp.charger.clone().unwrap_or_else(|| charger.clone());
        charger.check(&mut |k2: &str, m: String| push(&key(k2), m));
        let car = check_car(
            &lp.car,
            site_phases,
            &charger,
            &mut |k2: &str, m: String| push(&key(k2), m),
        );
        if let (Some(c), Some(_)) = (&car, lp.phase)
            && c.phases == Phases::Three
        {
            push(
                &key("phase"),
                "only for a 1-phase car: a 3-phase car loads every line".into(),
            );
        }
        if let Some(car) = car {
            out.push(LoadpointModel {
                name,
                priority: lp.priority,
                phase: lp.phase.unwrap_or_default(),
                policy: lp.policy.as_ref().map(|p| dir.join(p)),
                car,
                charger,
            });
        }
    }
    let names: Vec<&str> = out.iter().map(|l| l.name.as_str()).collect();
    let mut resolved = Vec::new();
    for (k, v) in variants.iter().enumerate() {
        let key = |rest: &str| format!("variant[{k}].{rest}");
        if v.name.trim().is_empty() {
            push(
                &key("name"),
                "missing: name each variant, e.g. name = \"commuter first\"".into(),
            );
        } else if variants[..k].iter().any(|o| o.name == v.name) {
            push(&key("name"), format!("\"{}\" is used twice", v.name));
        }
        if raw.is_empty() {
            push(
                &key("name"),
                "a variant shares between loadpoints: add [[loadpoint]] tables".into(),
            );
        }
        for n in v.priority.keys() {
            if !names.contains(&n.as_str()) {
                push(
                    &key("priority"),
                    format!(
                        "\"{n}\" is no loadpoint of this scenario (they are: {})",
                        names.join(", ")
                    ),
                );
            }
        }
        resolved.push(Variant {
            name: v.name.clone(),
            priorities: out
                .iter()
                .map(|l| v.priority.get(&l.name).copied().unwrap_or(l.priority))
                .collect(),
        });
    }
    (out, resolved)
}
