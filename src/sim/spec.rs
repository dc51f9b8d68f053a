//! The model sections of a scenario (what only the simulator has), with their defaults and checks.
//!
//! Owns: [`ControlSpec`] (`[control]`, as in `sunplug.toml`), [`ChargerSpec`] (`[charger]`: the Smappee
//! model), [`MeterSpec`] (`[meter]`: the grid meter), [`VehicleApiSpec`] (`[vehicle_api]`: the car's
//! cloud), [`CarSpec`] and [`DataSpec`] (resolved from `[car]` and `[data]`). `[site]` is the config's
//! `SiteSection` and `[control]` its `ControlSection`: the daemon's keys, defaults and checks.

use super::data::Label;
use crate::config::ChargerLimits;
use crate::config::schema::LimitUnit;
use crate::config::surplus::OnStale;
use crate::config::values::{HumanDuration, LocalTime};
use crate::units::{Amps, PercentScale, Phases};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub type Push<'a> = dyn FnMut(&str, String) + 'a;

pub(crate) fn ms(d: HumanDuration) -> i64 {
    d.get().as_millis() as i64
}

/// `[control]`: the daemon's own section type ([`crate::config::ControlSection`]), so a scenario has
/// the same keys, defaults (`interval` 10 s) and range check as `sunplug.toml`.
pub type ControlSpec = crate::config::ControlSection;

/// Which charger the scenario models (`[charger] kind`, as in `sunplug.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargerModelKind {
    /// A Smappee station through its cloud API, with its quirks.
    #[default]
    Smappee,
    /// A local OCPP 1.6J charge point: exact amps, the profile survives a replug, its status is
    /// pushed, its power comes as MeterValues every `meter_interval`.
    Ocpp,
}

/// `[charger]`: a Smappee station (or an OCPP charge point) and its known behaviour.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChargerSpec {
    /// "smappee" (default) or "ocpp".
    pub kind: ChargerModelKind,
    /// OCPP only: how often the charge point sends MeterValues (the car's power for the loop).
    pub meter_interval: HumanDuration,
    /// How limits are sent: "percentage" (0 % = floor, 100 % = max, exact) or "ampere" (whole amps).
    pub limit_unit: LimitUnit,
    pub min_current_a: f64,
    /// The station's configured maximum (Smappee's 100 %).
    pub max_current_a: f64,
    pub cable_a: Option<f64>,
    /// AMPERE limits are not delivered exactly (seed 003, smappee_ev #157/#246): the car is offered
    /// `gain × asked + offset`. An assumption (5 % short by default); percentage limits are exact.
    pub ampere_gain: f64,
    pub ampere_offset_a: f64,
    /// Time from sending a command to the station applying it (cloud round trip).
    pub latency: HumanDuration,
    /// How often the daemon reads the station's state (plug, mode, limit) from the cloud API.
    pub state_poll: HumanDuration,
    /// The car's power reaches the daemon every second (Smappee's realtime topic, `[smappee]
    /// service_location_uuid` + `charger_channels`). `false`: only the state poll says whether the car
    /// charges, and the loop works from what its last command should draw.
    pub realtime_power: bool,
    /// The limit the station remembers from before the scenario (the limit persists between charges;
    /// on plug-in a PAUSED station resumes NORMAL at this limit). Default: the floor.
    pub initial_limit_a: Option<f64>,
}

impl Default for ChargerSpec {
    fn default() -> ChargerSpec {
        ChargerSpec {
            kind: ChargerModelKind::Smappee,
            meter_interval: HumanDuration::secs(10),
            limit_unit: LimitUnit::Percentage,
            min_current_a: 6.0,
            max_current_a: 32.0,
            cable_a: None,
            ampere_gain: 0.95,
            ampere_offset_a: 0.0,
            latency: HumanDuration::secs(3),
            state_poll: HumanDuration::secs(30),
            realtime_power: true,
            initial_limit_a: None,
        }
    }
}

impl ChargerSpec {
    pub fn check(&self, push: &mut Push<'_>) {
        if !(6.0..=16.0).contains(&self.min_current_a) {
            push(
                "charger.min_current_a",
                format!(
                    "{} A: use 6..16 (6 A is the IEC 61851 floor)",
                    self.min_current_a
                ),
            );
        }
        if self.max_current_a <= self.min_current_a || self.max_current_a > 80.0 {
            push(
                "charger.max_current_a",
                format!(
                    "{} A: must be above the floor and at most 80",
                    self.max_current_a
                ),
            );
        }
        if self.cable_a.is_some_and(|c| c < self.min_current_a) {
            push("charger.cable_a", "below the floor".into());
        }
        if !(0.5..=1.5).contains(&self.ampere_gain) || self.ampere_offset_a.abs() > 5.0 {
            push(
                "charger.ampere_gain",
                "use a gain within 0.5..1.5 and an offset within ±5 A".into(),
            );
        }
        if self.latency.as_secs_f64() > 600.0 {
            push("charger.latency", "at most 10m".into());
        }
        if self.state_poll.get().is_zero() {
            push("charger.state_poll", "must be more than 0s".into());
        }
        if self.kind == ChargerModelKind::Ocpp {
            if self.limit_unit != LimitUnit::Ampere {
                push(
                    "charger.limit_unit",
                    "an OCPP charge point takes amps: use limit_unit = \"ampere\"".into(),
                );
            }
            if self.meter_interval.get().is_zero() {
                push("charger.meter_interval", "must be more than 0s".into());
            }
        }
        if let Some(l) = self.initial_limit_a
            && (l < self.min_current_a || l > self.max_current_a)
        {
            push(
                "charger.initial_limit_a",
                "must be within min_current_a..=max_current_a".into(),
            );
        }
    }

    pub fn limits(&self, car_max: Amps) -> ChargerLimits {
        let max = [Some(self.max_current_a), self.cable_a, Some(car_max.0)]
            .into_iter()
            .flatten()
            .fold(f64::MAX, f64::min);
        ChargerLimits {
            unit: self.limit_unit,
            floor: Amps(self.min_current_a),
            station_max: Amps(self.max_current_a),
            max: Amps(max),
        }
    }

    pub fn percent_scale(&self) -> Option<PercentScale> {
        PercentScale::new(Amps(self.min_current_a), Amps(self.max_current_a))
    }

    /// The current the car is offered for an asked one, after the station's inexactness.
    pub fn delivered(&self, asked: Amps) -> Amps {
        match self.limit_unit {
            // An OCPP charge point applies the profile's amps as they are.
            _ if self.kind == ChargerModelKind::Ocpp => asked,
            LimitUnit::Percentage => asked,
            LimitUnit::Ampere => Amps((asked.0 * self.ampere_gain + self.ampere_offset_a).max(0.0)),
        }
    }
}

/// `[meter]`: the grid meter the daemon reads (import positive, including the car).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeterSpec {
    /// Time between samples (1s for a Shelly or Smappee, 10s for a DSMR 4 P1 port).
    pub period: HumanDuration,
    /// Transport delay from sampling to the daemon.
    pub delay: HumanDuration,
    /// Gaussian noise on each sample, standard deviation in W.
    pub noise_w: f64,
    /// Fraction of samples lost (Wi-Fi, broker restarts), in bursts of mean length `dropout_mean`.
    pub dropout_rate: f64,
    pub dropout_mean: HumanDuration,
    pub seed: u64,
    /// Whether the meter also reports PV and house load (when the data has them): the guard then caps
    /// by the main fuse minus the house load.
    pub reports_pv_and_load: bool,
    /// The daemon's `[surplus]` freshness settings.
    pub max_age: HumanDuration,
    pub on_stale: OnStale,
    pub stale_pause_after: HumanDuration,
}

impl Default for MeterSpec {
    fn default() -> MeterSpec {
        MeterSpec {
            period: HumanDuration::secs(1),
            delay: HumanDuration::secs(1),
            noise_w: 10.0,
            dropout_rate: 0.0,
            dropout_mean: HumanDuration::secs(20),
            seed: 1,
            reports_pv_and_load: true,
            max_age: HumanDuration::secs(30),
            on_stale: OnStale::Floor,
            stale_pause_after: HumanDuration::secs(60),
        }
    }
}

impl MeterSpec {
    pub fn check(&self, push: &mut Push<'_>) {
        if !(0.1..=300.0).contains(&self.period.as_secs_f64()) {
            push("meter.period", "use 100ms..5m".into());
        }
        if self.delay.as_secs_f64() > 300.0 {
            push("meter.delay", "at most 5m".into());
        }
        if !(0.0..=5000.0).contains(&self.noise_w) {
            push("meter.noise_w", "use 0..5000 W".into());
        }
        if !(0.0..0.9).contains(&self.dropout_rate) {
            push(
                "meter.dropout_rate",
                format!("{}: use a fraction within 0..0.9", self.dropout_rate),
            );
        }
        if self.dropout_mean < self.period {
            push("meter.dropout_mean", "must be at least one period".into());
        }
        if self.max_age.get().is_zero() {
            push("meter.max_age", "must be more than 0s".into());
        }
    }
}

/// `[vehicle_api]`: the car's SoC as Enode or Cariad deliver it: captured now and then, late, rounded.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleApiSpec {
    /// `false`: no vehicle integration (the controller never knows the SoC).
    pub enabled: bool,
    /// Time between the car's uploads of its state.
    pub period: HumanDuration,
    /// Time from the car capturing a value to the daemon having it.
    pub latency: HumanDuration,
    /// Reported SoC resolution in % (1 = whole percent, rounded to nearest).
    pub resolution_pct: f64,
    /// The daemon's `[vehicle] max_age`.
    pub max_age: HumanDuration,
}

impl Default for VehicleApiSpec {
    fn default() -> VehicleApiSpec {
        VehicleApiSpec {
            enabled: true,
            period: HumanDuration::secs(300),
            latency: HumanDuration::secs(180),
            resolution_pct: 1.0,
            max_age: HumanDuration::secs(6 * 3600),
        }
    }
}

impl VehicleApiSpec {
    pub fn check(&self, push: &mut Push<'_>) {
        if self.period.get().is_zero() {
            push("vehicle_api.period", "must be more than 0s".into());
        }
        if !(0.0..=10.0).contains(&self.resolution_pct) {
            push("vehicle_api.resolution_pct", "use 0 (exact) .. 10".into());
        }
    }
}

/// `[car]`, checked.
#[derive(Debug, Clone)]
pub struct CarSpec {
    pub capacity_kwh: f64,
    pub start_soc: f64,
    /// The car's own charge limit: it stops there by itself, and reports it through its API.
    pub target_soc: f64,
    /// Daily plug-in and departure, local time; `None`: plugged in for the whole data.
    pub plug_in: Option<LocalTime>,
    pub departure: Option<LocalTime>,
    /// The departure is this many days after the plug-in's day (default: the same day, or the next
    /// when the departure time is not after the plug-in time).
    pub stay_days: Option<u32>,
    /// Phases of the onboard charger (at most the site's).
    pub phases: Phases,
    pub max_current: Amps,
    /// Above this SoC the car accepts linearly less, down to the floor current at 100 %.
    pub taper_soc: f64,
    /// Time for the car to follow a new offered current, and to start drawing after a pause.
    pub response_delay_ms: i64,
    pub start_delay_ms: i64,
    /// Grid to battery.
    pub efficiency: f64,
}

/// `[data]`, resolved.
#[derive(Debug, Clone)]
pub struct DataSpec {
    /// `[data] days`: a corpus directory replayed day by day (as `simulate --days`), resolved.
    pub days: Option<PathBuf>,
    pub pv: Option<PathBuf>,
    pub load: Option<PathBuf>,
    pub net: Option<PathBuf>,
    pub pv_scale: f64,
    pub load_scale: f64,
    pub label: Label,
    pub max_gap_ms: i64,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}
