//! One power value of `[surplus]`: where it is published, how to read it, and which way is positive.
//!
//! Owns: [`Role`] (which quantity, and so which direction is positive), [`PartSpec`] (one number in
//! one topic), [`ValueSpec`] (the sum of its parts with unit and sign), [`merge`] (the user's keys
//! over a preset's) and [`resolve_value`] (keys → spec, or problems with their keys).
//!
//! Sign conventions after resolution, stated once: grid is import positive; surplus is export
//! positive; PV is production positive; load is consumption positive; battery is charge positive.

use crate::config::surplus::{PowerUnit, PowerValue, Sign};

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

/// A problem: key under `surplus.` and the message.
pub type Problem = (String, String);

pub(crate) fn has_location(v: &PowerValue) -> bool {
    v.topic.is_some()
        || !v.topics.is_empty()
        || v.import_topic.is_some()
        || v.export_topic.is_some()
}

pub(crate) fn has_pointer(v: &PowerValue) -> bool {
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
        if let Some(ptr) = &p.pointer
            && let Err(e) = check_pointer(ptr)
        {
            errs.push((key("pointer"), e));
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
