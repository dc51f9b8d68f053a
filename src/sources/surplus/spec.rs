//! `[surplus]` resolved: the preset's defaults under the user's keys, checked, and turned into the
//! exact topics, pointers and sign factors the tracker reads.
//!
//! Owns: [`MeterSpec`] (what the meter is) and [`resolve`] (file keys → spec, or every problem with
//! its key). One value's resolution is in `value.rs`.

use super::presets::{DeviceRule, Preset};
use super::value::{Problem, Role, ValueSpec, has_location, has_pointer, merge, resolve_value};
use crate::config::surplus::{SurplusKind, SurplusSection};
use crate::mqtt::PeriodicPublish;
use std::time::Duration;

/// The whole meter.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSpec {
    pub kind: SurplusKind,
    pub preset: Option<Preset>,
    /// The grid value (kind `grid`) or the surplus value (kind `surplus`).
    pub main: Option<ValueSpec>,
    pub pv: Option<ValueSpec>,
    pub load: Option<ValueSpec>,
    pub battery: Option<ValueSpec>,
    pub includes_car: bool,
    pub max_age: Duration,
    pub plausible_min_w: f64,
    pub plausible_max_w: f64,
    /// A periodic publish the meter needs (Victron keep-alive).
    pub keepalive: Option<PeriodicPublish>,
}

impl MeterSpec {
    /// Every value in a fixed order: main, pv, load, battery.
    pub fn values(&self) -> impl Iterator<Item = &ValueSpec> {
        [&self.main, &self.pv, &self.load, &self.battery]
            .into_iter()
            .flatten()
    }

    /// The topics to subscribe to, each once.
    pub fn topics(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.values().flat_map(|v| &v.parts) {
            if !out.contains(&p.topic) {
                out.push(p.topic.clone());
            }
        }
        out
    }
}

/// `[surplus]` → [`MeterSpec`], or every problem found (keys relative to `surplus.`).
pub fn resolve(s: &SurplusSection) -> Result<MeterSpec, Vec<Problem>> {
    let mut errs: Vec<Problem> = Vec::new();
    let preset = match s.preset.as_deref() {
        None => None,
        Some(name) => match Preset::parse(name) {
            Some(p) => Some(p),
            None => {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                let hint = crate::config::diag::nearest(name, &names)
                    .map(|n| format!("did you mean \"{n}\"? Known presets: "))
                    .unwrap_or_else(|| "use one of ".into());
                errs.push((
                    "preset".into(),
                    format!("unknown preset \"{name}\": {hint}{}", names.join(", ")),
                ));
                None
            }
        },
    };
    let device = s.device.as_deref().map(str::trim).filter(|d| !d.is_empty());
    let defaults = preset.map(|p| {
        let device = match (p.device_rule(), device) {
            (DeviceRule::Required(what), None) => {
                errs.push((
                    "device".into(),
                    format!("preset \"{}\" needs device: {what}", p.name()),
                ));
                "<device>"
            }
            (DeviceRule::Default(d), None) => d,
            (_, Some(d)) => d,
            (DeviceRule::Unused, None) => "",
        };
        p.defaults(device, s.kind, &s.channels)
    });
    match (preset, s.channels.is_empty()) {
        (Some(Preset::Smappee), true) => {
            let user_fields = match s.kind {
                SurplusKind::PvAndLoad => s.pv.as_ref().is_some_and(has_pointer),
                _ => has_pointer(&s.value()),
            };
            if !user_fields && s.kind != SurplusKind::Surplus {
                errs.push((
                    "channels".into(),
                    "preset \"smappee\" needs channels = [...]: the publishIndex of the grid CTs (kind grid) or of the \
                     solar CTs (kind pv_and_load), as listed in the retained topic servicelocation/<uuid>/channelConfigV2"
                        .into(),
                ));
            }
        }
        (Some(Preset::Smappee), false) | (_, true) => {}
        (_, false) => errs.push((
            "channels".into(),
            "only used with preset = \"smappee\"".into(),
        )),
    }

    if s.preset.is_some() && preset.is_none() {
        // Everything else would only repeat that the preset's defaults are missing.
        return Err(errs);
    }
    let d = defaults.unwrap_or_default();
    let user_main = s.value();
    let (mut main, mut pv, mut load) = (None, None, None);
    match s.kind {
        SurplusKind::Grid | SurplusKind::Surplus => {
            let role = if s.kind == SurplusKind::Grid {
                Role::Grid
            } else {
                Role::Surplus
            };
            let preset_main = has_location(&d.main).then_some(&d.main);
            main = resolve_value(&merge(&user_main, preset_main), role, "", &mut errs);
            for (k, v) in [("pv", &s.pv), ("load", &s.load)] {
                if v.is_some() {
                    errs.push((
                        k.into(),
                        format!("[surplus.{k}] is only read with kind = \"pv_and_load\""),
                    ));
                }
            }
        }
        SurplusKind::PvAndLoad => {
            if has_location(&user_main) {
                errs.push((
                    "topic".into(),
                    "kind = \"pv_and_load\" reads [surplus.pv] and [surplus.load]: move the topic there, or use kind \
                     = \"grid\""
                        .into(),
                ));
            }
            for (k, role, user, def, slot) in [
                ("pv", Role::Pv, &s.pv, &d.pv, &mut pv),
                ("load", Role::Load, &s.load, &d.load, &mut load),
            ] {
                match (user, def) {
                    (None, None) => errs.push((
                        k.into(),
                        format!("kind = \"pv_and_load\" needs [surplus.{k}] with its topic (or a preset that has it)"),
                    )),
                    (u, def) => {
                        let merged = merge(&u.clone().unwrap_or_default(), def.as_ref());
                        *slot = resolve_value(&merged, role, k, &mut errs);
                    }
                }
            }
        }
    }
    let battery = s.battery.as_ref().and_then(|b| {
        resolve_value(
            &merge(b, d.battery.as_ref()),
            Role::Battery,
            "battery",
            &mut errs,
        )
    });

    if s.max_age.get().is_zero() {
        errs.push((
            "max_age".into(),
            "must be more than 0s (30s is a good start)".into(),
        ));
    }
    if s.plausible_min_w.partial_cmp(&s.plausible_max_w) != Some(std::cmp::Ordering::Less) {
        errs.push((
            "plausible_min_w".into(),
            "must be below plausible_max_w".into(),
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(MeterSpec {
        kind: s.kind,
        preset,
        main,
        pv,
        load,
        battery,
        includes_car: s.includes_car,
        max_age: s.max_age.get(),
        plausible_min_w: s.plausible_min_w,
        plausible_max_w: s.plausible_max_w,
        keepalive: d.keepalive,
    })
}
