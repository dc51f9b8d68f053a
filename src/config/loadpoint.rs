//! `[[loadpoint]]`: several chargers (or connectors of one station) on one site, each with its car,
//! its policy and its priority, sharing the surplus and the main fuse.
//!
//! Owns: [`LoadpointSection`] (one table as written), [`Loadpoint`] (one resolved and checked),
//! [`ChargerRef`] (which connector it drives), [`Line`] (the phase a 1-phase car loads) and
//! [`resolve`], the one check of the list. The single-loadpoint form of today (`[smappee] connector`,
//! `[vehicle]`, `[control] policy`) resolves to one loadpoint named [`SINGLE`], so every config
//! describes its loadpoints the same way. Policy files are loaded by `config::load`, not here.

use super::ocpp::{ChargerKind, OcppSection};
use super::params::{ChargerLimits, Site};
use super::schema::SmappeeSection;
use super::vehicle::{VehicleKind, VehicleSection};
use crate::units::{Amps, Phases};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The name of the one loadpoint of a config written without `[[loadpoint]]`.
pub const SINGLE: &str = "car";

/// One `[[loadpoint]]` table, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadpointSection {
    /// Shown in logs and Home Assistant, and part of its MQTT topics: letters, digits, `-`, `_`.
    pub name: String,
    /// Who charges first when the surplus (or the fuse) is short: higher first; equals share.
    pub priority: i32,
    /// Smappee: the station's serial (defaults to `[smappee] serial`).
    pub serial: Option<String>,
    /// Smappee: the connector position, facing the LED right = 1, left = 2 (defaults to
    /// `[smappee] connector`).
    pub connector: Option<u8>,
    /// OCPP (`[charger] kind = "ocpp"`): the charge point id from `[ocpp] charge_points`.
    pub charge_point: Option<String>,
    /// The policy file, relative to this config file (defaults to `[control] policy`).
    pub policy: Option<PathBuf>,
    /// This loadpoint's maximum current per phase, when lower than the charger's.
    pub max_current_a: Option<f64>,
    /// Phases the car charges on (defaults to `[site] phases`).
    pub phases: Option<u8>,
    /// For a 1-phase car on a 3-phase site: the phase it loads, "L1", "L2" or "L3".
    pub phase: Option<String>,
    /// Smappee realtime `channelPowers[].publishIndex` values that measure this connector.
    pub charger_channels: Vec<u32>,
    /// The car on this loadpoint: the keys of `[vehicle]` (default: no vehicle data).
    pub vehicle: Option<VehicleSection>,
}

/// A phase of the site's supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Line {
    L1,
    L2,
    L3,
}

impl Line {
    pub const ALL: [Line; 3] = [Line::L1, Line::L2, Line::L3];

    pub fn parse(s: &str) -> Option<Line> {
        match s.trim().to_ascii_uppercase().as_str() {
            "L1" => Some(Line::L1),
            "L2" => Some(Line::L2),
            "L3" => Some(Line::L3),
            _ => None,
        }
    }
    /// 0, 1 or 2.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.index() + 1)
    }
}

/// Which charger a loadpoint drives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChargerRef {
    /// A connector of a Smappee station (all of them through the one `[smappee]` account).
    Smappee { serial: String, connector: u8 },
    /// An OCPP charge point (by its id in `[ocpp] charge_points`).
    Ocpp { charge_point: String },
}

impl fmt::Display for ChargerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChargerRef::Smappee { serial, connector } => {
                write!(f, "Smappee station {serial} connector {connector}")
            }
            ChargerRef::Ocpp { charge_point } => write!(f, "OCPP charge point \"{charge_point}\""),
        }
    }
}

/// One loadpoint, resolved and checked.
#[derive(Debug, Clone)]
pub struct Loadpoint {
    pub name: String,
    pub priority: i32,
    pub charger: ChargerRef,
    /// The charger's limits with this loadpoint's maximum (and its car's) applied.
    pub limits: ChargerLimits,
    pub phases: Phases,
    /// The phase a 1-phase car loads; `None` for a 3-phase car (or a 1-phase site).
    pub line: Option<Line>,
    pub vehicle: VehicleSection,
    /// The policy file (absolute, or relative to the working directory like `Config::policy_path`).
    pub policy_path: Option<PathBuf>,
    pub charger_channels: Vec<u32>,
    /// Written in the single-loadpoint form (no `[[loadpoint]]`): its MQTT topics and Home
    /// Assistant entities keep the names they always had.
    pub single: bool,
}

impl Loadpoint {
    /// The phases this loadpoint draws current on.
    pub fn lines(&self) -> Vec<Line> {
        match (self.phases, self.line) {
            (Phases::Three, _) => Line::ALL.to_vec(),
            (Phases::One, Some(l)) => vec![l],
            (Phases::One, None) => vec![Line::L1],
        }
    }
}

/// What [`resolve`] needs from the rest of the file.
pub struct Context<'a> {
    pub site: &'a Site,
    pub kind: ChargerKind,
    pub charger: Option<&'a ChargerLimits>,
    pub smappee: Option<&'a SmappeeSection>,
    pub ocpp: Option<&'a OcppSection>,
    /// `[vehicle]` as written (used by the single form, and by a lone loadpoint without its own).
    pub vehicle: &'a VehicleSection,
    /// Whether `[vehicle]` is written in the file at all.
    pub vehicle_written: bool,
    /// `[control] policy`, already joined to the config's directory.
    pub policy: Option<PathBuf>,
    /// The config's directory, for the loadpoints' policy paths.
    pub dir: PathBuf,
    /// Whether each loadpoint must name a policy (`sunplug run`).
    pub needs_policy: bool,
}

/// Check the `[[loadpoint]]` tables (or the single form when there are none) and resolve them.
/// Every problem is pushed with its key; the list is only meaningful when nothing was pushed.
pub fn resolve(
    sections: &[LoadpointSection],
    cx: &Context<'_>,
    push: &mut dyn FnMut(&str, String),
) -> Vec<Loadpoint> {
    let Some(limits) = cx.charger else {
        if !sections.is_empty() {
            push(
                "charger",
                "missing section [charger]: loadpoints share its kind and current range".into(),
            );
        }
        return Vec::new();
    };
    if sections.is_empty() {
        return single(cx, limits).into_iter().collect();
    }
    if cx.vehicle_written && sections.len() > 1 {
        push(
            "vehicle",
            "with several [[loadpoint]] tables each car is set in its loadpoint: move [vehicle] into \
             [loadpoint.vehicle] of the loadpoint it belongs to"
                .into(),
        );
    }
    let mut out = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut chargers: BTreeMap<ChargerRef, String> = BTreeMap::new();
    let mut account_vehicle: Option<(VehicleKind, String)> = None;
    for (i, s) in sections.iter().enumerate() {
        let key = |k: &str| format!("loadpoint[{i}].{k}");
        let name = s.name.trim().to_string();
        if name.is_empty() {
            push(
                &key("name"),
                "missing: give each loadpoint a name, e.g. name = \"garage\"".into(),
            );
        } else if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            push(
                &key("name"),
                format!(
                    "\"{name}\" cannot be part of an MQTT topic: use letters, digits, '-' and '_'"
                ),
            );
        } else if let Some(first) = names.insert(name.to_lowercase(), i) {
            push(
                &key("name"),
                format!(
                    "\"{name}\" is already the name of loadpoint {} (names must differ, ignoring case)",
                    first + 1
                ),
            );
        }
        let charger = match cx.kind {
            ChargerKind::Smappee => {
                if s.charge_point.is_some() {
                    push(
                        &key("charge_point"),
                        "is for [charger] kind = \"ocpp\": a Smappee loadpoint names its connector"
                            .into(),
                    );
                }
                let serial = s
                    .serial
                    .clone()
                    .or_else(|| cx.smappee.and_then(|m| m.serial.clone()))
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty());
                let connector = s
                    .connector
                    .or_else(|| cx.smappee.map(|m| m.connector))
                    .unwrap_or(1);
                if !(1..=8).contains(&connector) {
                    push(
                        &key("connector"),
                        format!(
                            "{connector} is not a connector position: facing the LED, right = 1, left = 2"
                        ),
                    );
                }
                match serial {
                    Some(serial) => Some(ChargerRef::Smappee { serial, connector }),
                    None => {
                        push(
                            &key("serial"),
                            "missing: set the station's serial here or in [smappee] serial".into(),
                        );
                        None
                    }
                }
            }
            ChargerKind::Ocpp => {
                if s.serial.is_some() || s.connector.is_some() {
                    push(
                        &key(if s.serial.is_some() {
                            "serial"
                        } else {
                            "connector"
                        }),
                        "is for Smappee stations: an OCPP loadpoint names its charge_point".into(),
                    );
                }
                let ids: Vec<&str> = cx
                    .ocpp
                    .map(|o| o.charge_points.iter().map(|c| c.id.as_str()).collect())
                    .unwrap_or_default();
                match (&s.charge_point, ids.as_slice()) {
                    (Some(cp), _) if ids.contains(&cp.as_str()) => Some(ChargerRef::Ocpp {
                        charge_point: cp.clone(),
                    }),
                    (Some(cp), _) => {
                        push(
                            &key("charge_point"),
                            format!(
                                "\"{cp}\" is not in [ocpp] charge_points (they are: {})",
                                if ids.is_empty() {
                                    "none".to_string()
                                } else {
                                    ids.join(", ")
                                }
                            ),
                        );
                        None
                    }
                    (None, [only]) if sections.len() == 1 => Some(ChargerRef::Ocpp {
                        charge_point: only.to_string(),
                    }),
                    (None, _) => {
                        push(
                            &key("charge_point"),
                            "missing: name the charge point this loadpoint drives (an id from [ocpp] \
                             charge_points)"
                                .into(),
                        );
                        None
                    }
                }
            }
        };
        if let Some(c) = &charger
            && let Some(other) = chargers.insert(c.clone(), name.clone())
        {
            push(
                &key(match c {
                    ChargerRef::Smappee { .. } => "connector",
                    ChargerRef::Ocpp { .. } => "charge_point",
                }),
                format!(
                    "{c} is already loadpoint \"{other}\": two loadpoints cannot drive one connector \
                     (a dual station has connector = 1 and connector = 2)"
                ),
            );
        }
        let phases = match s.phases.map(Phases::try_from) {
            None => cx.site.supply.phases,
            Some(Ok(p)) => {
                if p == Phases::Three && cx.site.supply.phases == Phases::One {
                    push(
                        &key("phases"),
                        "a 3-phase car on a 1-phase site ([site] phases = 1): use 1".into(),
                    );
                }
                p
            }
            Some(Err(_)) => {
                push(
                    &key("phases"),
                    format!("{} is not possible: use 1 or 3", s.phases.unwrap_or(0)),
                );
                cx.site.supply.phases
            }
        };
        let line = match (&s.phase, phases, cx.site.supply.phases) {
            (Some(text), Phases::One, Phases::Three) => match Line::parse(text) {
                Some(l) => Some(l),
                None => {
                    push(
                        &key("phase"),
                        format!("\"{text}\" is not a phase: use \"L1\", \"L2\" or \"L3\""),
                    );
                    None
                }
            },
            (None, Phases::One, Phases::Three) => {
                push(
                    &key("phase"),
                    "missing: a 1-phase car on a 3-phase site loads one phase; say which, e.g. \
                     phase = \"L1\" (the fuse is checked per phase)"
                        .into(),
                );
                None
            }
            (Some(text), Phases::Three, _) => {
                push(
                    &key("phase"),
                    format!(
                        "\"{text}\" is for a 1-phase car: this loadpoint charges on 3 phases (set \
                         phases = 1, or remove phase)"
                    ),
                );
                None
            }
            // A 1-phase site has one phase: L1.
            (Some(text), Phases::One, Phases::One) => match Line::parse(text) {
                Some(Line::L1) => None,
                _ => {
                    push(
                        &key("phase"),
                        format!("\"{text}\": a 1-phase site ([site] phases = 1) has only \"L1\""),
                    );
                    None
                }
            },
            (None, _, _) => None,
        };
        let vehicle = match &s.vehicle {
            Some(v) => v.clone(),
            None if sections.len() == 1 => cx.vehicle.clone(),
            None => VehicleSection::default(),
        };
        if matches!(vehicle.kind, VehicleKind::Enode | VehicleKind::Cariad) {
            match &account_vehicle {
                Some((kind, other)) if *kind == vehicle.kind => push(
                    &key("vehicle.kind"),
                    format!(
                        "loadpoint \"{other}\" already reads the car of [{}]: one account section \
                         names one car, so give this loadpoint kind = \"mqtt\" (or \"none\")",
                        kind_name(vehicle.kind)
                    ),
                ),
                _ => account_vehicle = Some((vehicle.kind, name.clone())),
            }
        }
        let mut lp_limits = *limits;
        for (k, cap) in [
            ("max_current_a", s.max_current_a),
            ("vehicle.max_current_a", vehicle.max_current_a),
        ] {
            let Some(cap) = cap else { continue };
            if !(cap >= limits.floor.0 && cap.is_finite()) {
                push(
                    &key(k),
                    format!(
                        "{cap} A is below the floor ({}): a loadpoint that cannot reach it never charges",
                        limits.floor
                    ),
                );
            } else if cap > limits.station_max.0 {
                push(
                    &key(k),
                    format!(
                        "{cap} A is above the charger's maximum ([charger] max_current_a = {}): use at most that",
                        limits.station_max.0
                    ),
                );
            } else {
                lp_limits.max = lp_limits.max.min(Amps(cap));
            }
        }
        if let Some(fuse) = cx.site.main_fuse
            && lp_limits.floor.0 > fuse.0
        {
            push(
                &key("name"),
                format!(
                    "the floor ({}) is above the main fuse ({fuse})",
                    lp_limits.floor
                ),
            );
        }
        let policy_path = s
            .policy
            .as_ref()
            .map(|p| cx.dir.join(p))
            .or_else(|| cx.policy.clone());
        if policy_path.is_none() && cx.needs_policy {
            push(
                &key("policy"),
                "missing: name a policy file here or in [control] policy, e.g. \"policies/pv-only.toml\""
                    .into(),
            );
        }
        if cx.kind == ChargerKind::Ocpp && !s.charger_channels.is_empty() {
            push(
                &key("charger_channels"),
                "is for Smappee realtime channels: an OCPP charge point reports its own power"
                    .into(),
            );
        }
        if let Some(charger) = charger {
            out.push(Loadpoint {
                name,
                priority: s.priority,
                charger,
                limits: lp_limits,
                phases,
                line,
                vehicle,
                policy_path,
                charger_channels: s.charger_channels.clone(),
                single: false,
            });
        }
    }
    out
}

fn kind_name(kind: VehicleKind) -> &'static str {
    match kind {
        VehicleKind::Enode => "enode",
        VehicleKind::Cariad => "cariad",
        VehicleKind::Mqtt => "mqtt",
        VehicleKind::None => "none",
    }
}

/// The single-loadpoint form: the charger of `[smappee]` (or the first OCPP charge point), the car
/// of `[vehicle]`, the policy of `[control]`. `None` when the charger is not named (its own checks
/// say why).
fn single(cx: &Context<'_>, limits: &ChargerLimits) -> Option<Loadpoint> {
    let charger = match cx.kind {
        ChargerKind::Smappee => {
            let s = cx.smappee?;
            ChargerRef::Smappee {
                serial: s.serial.clone()?.trim().to_string(),
                connector: s.connector,
            }
        }
        ChargerKind::Ocpp => ChargerRef::Ocpp {
            charge_point: cx.ocpp?.charge_points.first()?.id.clone(),
        },
    };
    Some(Loadpoint {
        name: SINGLE.into(),
        priority: 0,
        charger,
        limits: *limits,
        phases: cx.site.supply.phases,
        line: None,
        vehicle: cx.vehicle.clone(),
        policy_path: cx.policy.clone(),
        charger_channels: cx
            .smappee
            .map(|s| s.charger_channels.clone())
            .unwrap_or_default(),
        single: true,
    })
}
