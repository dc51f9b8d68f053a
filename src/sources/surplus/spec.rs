//! `[surplus]` resolved: the preset's defaults under the user's keys, checked, and turned into the
//! exact topics, pointers and sign factors the tracker reads.
//!
//! Owns: [`MeterSpec`] (what the meter is), [`ValueSpec`] (one power value: its parts, unit and
//! sign), [`PartSpec`] (one number in one topic), [`Role`] (which quantity a value is, and so which
//! direction is positive) and [`resolve`] (file keys → spec, or every problem with its key).
//!
//! Sign conventions after resolution, stated once: grid is import positive; surplus is export
//! positive; PV is production positive; load is consumption positive; battery is charge positive.

use super::presets::{DeviceRule, Preset};
use crate::config::surplus::{PowerUnit, PowerValue, Sign, SurplusKind, SurplusSection};
use crate::mqtt::PeriodicPublish;
use std::time::Duration;

/// Which quantity a value measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Grid,
    Surplus,
    Pv,
    Load,
    Battery,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Grid => "grid",
            Role::Surplus => "surplus",
            Role::Pv => "pv",
            Role::Load => "load",
            Role::Battery => "battery",
        }
    }

    fn default_sign(self) -> Sign {
        match self {
            Role::Grid | Role::Load => Sign::ImportPositive,
            Role::Surplus | Role::Pv => Sign::ExportPositive,
            Role::Battery => Sign::ChargePositive,
        }
    }

    /// The factor that turns a published number with `sign` into this role's direction.
    fn factor(self, sign: Sign) -> Result<f64, String> {
        use Sign::*;
        match (self, sign) {
            (Role::Grid | Role::Load, ImportPositive)
            | (Role::Surplus | Role::Pv, ExportPositive) => Ok(1.0),
            (Role::Grid | Role::Load, ExportPositive)
            | (Role::Surplus | Role::Pv, ImportPositive) => Ok(-1.0),
            (Role::Battery, ChargePositive) => Ok(1.0),
            (Role::Battery, DischargePositive) => Ok(-1.0),
            (Role::Battery, _) => {
                Err("a battery is \"charge_positive\" or \"discharge_positive\"".into())
            }
            (_, _) => Err(format!(
                "{} power is \"import_positive\" or \"export_positive\" (charge/discharge are for the battery)",
                self.name()
            )),
        }
    }
}

/// One number: a topic and where in its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSpec {
    pub topic: String,
    /// JSON pointer; `None` for a plain-number payload.
    pub pointer: Option<String>,
    /// An export topic in an import/export pair: subtracted.
    pub negate: bool,
}

impl PartSpec {
    /// "topic" or "topic pointer", for messages.
    pub fn describe(&self) -> String {
        match &self.pointer {
            Some(p) => format!("{} {p}", self.topic),
            None => self.topic.clone(),
        }
    }
}

/// One power value: the sum of its parts, each converted to watts in the role's direction.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSpec {
    pub role: Role,
    pub parts: Vec<PartSpec>,
    pub unit: PowerUnit,
    pub sign: Sign,
    factor: f64,
}

impl ValueSpec {
    /// A published number of `part` in watts, in this value's direction.
    pub fn watts(&self, part: &PartSpec, raw: f64) -> f64 {
        let w = self.unit.to_watts(raw) * self.factor;
        if part.negate { -w } else { w }
    }
}

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

/// A problem: key under `surplus.` and the message.
pub type Problem = (String, String);

fn has_location(v: &PowerValue) -> bool {
    v.topic.is_some()
        || !v.topics.is_empty()
        || v.import_topic.is_some()
        || v.export_topic.is_some()
}

fn has_pointer(v: &PowerValue) -> bool {
    v.pointer.is_some()
        || !v.pointers.is_empty()
        || v.import_pointer.is_some()
        || v.export_pointer.is_some()
}

/// The user's keys over the preset's, by group: where (topic, topics, import/export topics), which
/// field (pointer, pointers, import/export pointers), unit, sign. Writing any key of a group replaces
/// the preset's whole group, so `topic = ...` over a three-topic preset means one topic.
pub fn merge(user: &PowerValue, preset: Option<&PowerValue>) -> PowerValue {
    let Some(p) = preset else { return user.clone() };
    let loc = if has_location(user) { user } else { p };
    let ptr = if has_pointer(user) { user } else { p };
    PowerValue {
        topic: loc.topic.clone(),
        topics: loc.topics.clone(),
        import_topic: loc.import_topic.clone(),
        export_topic: loc.export_topic.clone(),
        pointer: ptr.pointer.clone(),
        pointers: ptr.pointers.clone(),
        import_pointer: ptr.import_pointer.clone(),
        export_pointer: ptr.export_pointer.clone(),
        unit: user.unit.or(p.unit),
        sign: user.sign.or(p.sign),
    }
}

fn check_topic(t: &str) -> Result<(), String> {
    if t.trim().is_empty() {
        Err("empty topic".into())
    } else if t.contains(['+', '#']) {
        Err(format!(
            "\"{t}\" has a wildcard: name the exact topic the meter publishes on"
        ))
    } else if t.contains('\0') {
        Err("a topic cannot contain NUL".into())
    } else {
        Ok(())
    }
}

fn check_pointer(p: &str) -> Result<(), String> {
    if p.is_empty() || p.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "\"{p}\" is not a JSON pointer: start it with '/', e.g. \"/{p}\""
        ))
    }
}

/// Resolve one value. `prefix` is "" for the main value, else "pv", "load" or "battery".
pub fn resolve_value(
    v: &PowerValue,
    role: Role,
    prefix: &str,
    errs: &mut Vec<Problem>,
) -> Option<ValueSpec> {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    let start = errs.len();
    let pair = v.import_topic.is_some() || v.export_topic.is_some();
    let forms = [v.topic.is_some(), !v.topics.is_empty(), pair]
        .iter()
        .filter(|b| **b)
        .count();
    if forms == 0 {
        errs.push((
            key("topic"),
            "missing: set topic (or topics, or import_topic and export_topic), or a preset".into(),
        ));
        return None;
    }
    if forms > 1 {
        errs.push((
            key("topic"),
            "set only one of: topic, topics, or import_topic with export_topic".into(),
        ));
    }
    if pair && (v.import_topic.is_none() || v.export_topic.is_none()) {
        errs.push((
            key("export_topic"),
            "import_topic and export_topic go together (value = import − export)".into(),
        ));
    }
    if v.pointer.is_some() && !v.pointers.is_empty() {
        errs.push((key("pointers"), "set pointer or pointers, not both".into()));
    }
    if !v.topics.is_empty() && !v.pointers.is_empty() {
        errs.push((
            key("pointers"),
            "pointers sums several fields of one topic; with topics, set a single pointer that applies to each".into(),
        ));
    }
    if pair && (v.pointer.is_some() || !v.pointers.is_empty()) {
        errs.push((
            key("pointer"),
            "with import_topic/export_topic, use import_pointer and export_pointer".into(),
        ));
    }
    if !pair && (v.import_pointer.is_some() || v.export_pointer.is_some()) {
        errs.push((
            key("import_pointer"),
            "only used with import_topic and export_topic".into(),
        ));
    }
    let sign = v.sign.unwrap_or(role.default_sign());
    let factor = role.factor(sign).unwrap_or_else(|e| {
        errs.push((key("sign"), e));
        1.0
    });

    let part = |topic: &String, pointer: &Option<String>, negate: bool| PartSpec {
        topic: topic.clone(),
        pointer: pointer.clone().filter(|p| !p.is_empty()),
        negate,
    };
    let mut parts = Vec::new();
    if let Some(t) = &v.topic {
        if v.pointers.is_empty() {
            parts.push(part(t, &v.pointer, false));
        } else {
            parts.extend(v.pointers.iter().map(|p| part(t, &Some(p.clone()), false)));
        }
    }
    parts.extend(v.topics.iter().map(|t| part(t, &v.pointer, false)));
    if let (Some(i), Some(e)) = (&v.import_topic, &v.export_topic) {
        parts.push(part(i, &v.import_pointer, false));
        parts.push(part(e, &v.export_pointer, true));
    }
    for p in &parts {
        if let Err(e) = check_topic(&p.topic) {
            errs.push((key("topic"), e));
        }
        if let Some(ptr) = &p.pointer {
            if let Err(e) = check_pointer(ptr) {
                errs.push((key("pointer"), e));
            }
        }
    }
    for (i, p) in parts.iter().enumerate() {
        if parts[..i]
            .iter()
            .any(|q| q.topic == p.topic && q.pointer == p.pointer)
        {
            errs.push((
                key("topics"),
                format!(
                    "{} is listed twice: the sum would count it twice",
                    p.describe()
                ),
            ));
        }
    }
    (errs.len() == start).then(|| ValueSpec {
        role,
        parts,
        unit: v.unit.unwrap_or(PowerUnit::W),
        sign,
        factor,
    })
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
