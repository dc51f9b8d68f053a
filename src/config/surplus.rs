//! `[surplus]`: where the solar surplus comes from (an MQTT meter), as written in the file.
//!
//! A preset fills in topics, pointers, units and signs for a known meter; any key the user writes
//! overrides the preset. Resolving presets and checking the result is `sources::surplus`'s job
//! (`spec.rs`, `presets.rs`); this file only holds the keys. User documentation:
//! `docs/surplus-presets.md`.

use super::values::HumanDuration;
use serde::{Deserialize, Serialize};

/// How the meter describes the power balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SurplusKind {
    /// A net grid meter (the preferred input): import positive after `sign`, includes the car.
    Grid,
    /// Two values, PV production and house load: surplus = pv − load.
    PvAndLoad,
    /// One value that already is the surplus (export positive after `sign`).
    Surplus,
}

/// Sign convention of a power value as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    ImportPositive,
    ExportPositive,
    /// Home battery: charging is positive.
    ChargePositive,
    /// Home battery: discharging is positive.
    DischargePositive,
}

/// Unit of a published power value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PowerUnit {
    W,
    #[serde(alias = "KW")]
    #[serde(rename = "kW")]
    KW,
}

impl PowerUnit {
    pub fn to_watts(self, v: f64) -> f64 {
        match self {
            PowerUnit::W => v,
            PowerUnit::KW => v * 1000.0,
        }
    }
}

/// What to do when the surplus reading is older than `max_age` (the controller's type).
pub use crate::control::controller::OnStale;

/// One power value read from MQTT. Every key is optional so that a preset can fill it in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowerValue {
    /// Topic carrying the value.
    pub topic: Option<String>,
    /// Several topics whose values are summed (e.g. one per phase).
    pub topics: Vec<String>,
    /// RFC 6901 JSON pointer into the payload, e.g. "/total_act_power". Absent: the payload is a number.
    pub pointer: Option<String>,
    /// Several pointers into the same payload, summed.
    pub pointers: Vec<String>,
    /// Separate import and export topics (DSMR-reader style): value = import − export.
    pub import_topic: Option<String>,
    pub import_pointer: Option<String>,
    pub export_topic: Option<String>,
    pub export_pointer: Option<String>,
    pub unit: Option<PowerUnit>,
    pub sign: Option<Sign>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurplusSection {
    pub kind: SurplusKind,
    /// A known meter: "shelly-pro-3em", "shelly-3em", "tasmota-sml", "dsmr-reader", "victron",
    /// "smappee", "homeassistant", "evcc".
    pub preset: Option<String>,
    /// The preset's device part of the topic (Shelly/Tasmota device name, Victron portal id,
    /// Smappee service location UUID, Home Assistant entity id...).
    pub device: Option<String>,
    /// Preset "smappee": the realtime `channelPowers[].publishIndex` values to sum: the grid CTs
    /// (kind `grid`) or the solar CTs (kind `pv_and_load`).
    pub channels: Vec<u32>,
    /// The value itself (kinds `grid` and `surplus`): the keys of [`PowerValue`], written directly in
    /// `[surplus]` (serde cannot flatten a struct that denies unknown keys).
    pub topic: Option<String>,
    pub topics: Vec<String>,
    pub pointer: Option<String>,
    pub pointers: Vec<String>,
    pub import_topic: Option<String>,
    pub import_pointer: Option<String>,
    pub export_topic: Option<String>,
    pub export_pointer: Option<String>,
    pub unit: Option<PowerUnit>,
    pub sign: Option<Sign>,
    /// PV production (kind `pv_and_load`).
    pub pv: Option<PowerValue>,
    /// House load (kind `pv_and_load`).
    pub load: Option<PowerValue>,
    /// Whether `load` (or a `surplus` value) already includes the car's own consumption. Most
    /// inverters report the whole house including the car.
    pub includes_car: bool,
    /// Optional home battery power.
    pub battery: Option<PowerValue>,
    /// A reading older than this is stale.
    pub max_age: HumanDuration,
    pub on_stale: OnStale,
    /// With `on_stale = "floor"`, pause when the reading stays stale this long.
    pub stale_pause_after: HumanDuration,
    /// Values outside this range (in W, after unit and sign) are rejected as absurd.
    pub plausible_min_w: f64,
    pub plausible_max_w: f64,
}

impl Default for SurplusSection {
    fn default() -> SurplusSection {
        SurplusSection {
            kind: SurplusKind::Grid,
            preset: None,
            device: None,
            channels: Vec::new(),
            topic: None,
            topics: Vec::new(),
            pointer: None,
            pointers: Vec::new(),
            import_topic: None,
            import_pointer: None,
            export_topic: None,
            export_pointer: None,
            unit: None,
            sign: None,
            pv: None,
            load: None,
            includes_car: true,
            battery: None,
            max_age: HumanDuration::secs(30),
            on_stale: OnStale::Floor,
            stale_pause_after: HumanDuration::secs(60),
            plausible_min_w: -100_000.0,
            plausible_max_w: 100_000.0,
        }
    }
}

impl SurplusSection {
    /// The main value's keys as one [`PowerValue`].
    pub fn value(&self) -> PowerValue {
        PowerValue {
            topic: self.topic.clone(),
            topics: self.topics.clone(),
            pointer: self.pointer.clone(),
            pointers: self.pointers.clone(),
            import_topic: self.import_topic.clone(),
            import_pointer: self.import_pointer.clone(),
            export_topic: self.export_topic.clone(),
            export_pointer: self.export_pointer.clone(),
            unit: self.unit,
            sign: self.sign,
        }
    }
}
