//! The `sunplug.toml` schema: one struct per section, exactly as written in the file.
//!
//! Every struct denies unknown keys and gives each key its default, so a minimal file stays short.
//! Keys with no sensible default are `Option` and their absence is reported by `config::validate`,
//! together with every other problem, instead of stopping at the first one.
//! Vendor- and source-specific sections live in their own files: `surplus.rs`, `vehicle.rs`.

use super::surplus::SurplusSection;
use super::values::HumanDuration;
use super::vehicle::{CariadSection, EnodeSection, VehicleSection};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub site: SiteSection,
    pub control: ControlSection,
    pub mqtt: Option<MqttSection>,
    pub surplus: Option<SurplusSection>,
    pub vehicle: VehicleSection,
    pub enode: Option<EnodeSection>,
    pub cariad: Option<CariadSection>,
    pub charger: Option<ChargerSection>,
    pub smappee: Option<SmappeeSection>,
    /// The OCPP central system (`[charger] kind = "ocpp"`).
    pub ocpp: Option<super::ocpp::OcppSection>,
    pub logging: LoggingSection,
    pub recording: RecordingSection,
    pub prices: Option<super::prices::PricesSection>,
    /// `[[loadpoint]]`: several chargers or connectors on one site (none: the single form).
    pub loadpoint: Vec<super::loadpoint::LoadpointSection>,
    pub forecast: Option<super::forecast::ForecastSection>,
}

/// `[site]`, in `sunplug.toml` and in a scenario: one type, one set of defaults, one check
/// ([`SiteSection::resolve`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSection {
    /// Shown in logs and as the Home Assistant device name.
    pub name: String,
    /// IANA timezone of the site, e.g. "Europe/Brussels": departure times are local wall-clock times.
    pub timezone: Option<String>,
    /// Phases the car charges on (1 or 3).
    pub phases: u8,
    /// Nominal phase voltage.
    pub voltage_v: f64,
    /// Main fuse per phase. With a known house load the car gets at most fuse − house load.
    pub main_fuse_a: Option<f64>,
}

impl Default for SiteSection {
    fn default() -> SiteSection {
        SiteSection {
            name: "home".into(),
            timezone: None,
            phases: 3,
            voltage_v: 230.0,
            main_fuse_a: None,
        }
    }
}

/// What the service leaves the charger in when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SafeState {
    /// Leave the last command in place.
    Keep,
    /// Drop to the floor current (6 A).
    Floor,
    /// Pause charging.
    Pause,
}

/// `[control]`, in `sunplug.toml` and in a scenario (`simulations/*.toml`): one type, one set of
/// defaults, one check ([`ControlSection::check`]), so a site steps the same in the service and in
/// its simulation. `policy`, `state_dir` and `on_shutdown` are the service's only: a scenario that
/// sets them is refused with the reason.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// How often the controller steps (the simulator steps its physics every scenario `step` and
    /// the controller every `interval`).
    pub interval: HumanDuration,
    /// The policy file, relative to this config file. Service only (a scenario lists `policies`).
    pub policy: Option<PathBuf>,
    /// Grid power the loop steers toward (import positive). A small negative value keeps a margin of
    /// export, a positive one allows that much import.
    pub grid_setpoint_w: f64,
    /// Where state (tokens, hysteresis timers, recordings) is kept. Defaults to `$STATE_DIRECTORY`
    /// under systemd, else `/var/lib/sunplug`. Service only.
    pub state_dir: Option<PathBuf>,
    /// The shortest time between two setpoint changes (IEC 61851 cars need at least 5 s).
    pub min_change_interval: HumanDuration,
    /// The largest increase of the current per second. Decreases are never limited.
    pub ramp_a_per_s: f64,
    /// What the charger is left in when the service stops. Service only.
    pub on_shutdown: SafeState,
    /// Charging efficiency from the grid connection into the battery, for SoC estimates between
    /// vehicle reports and for the simulator.
    pub charge_efficiency: f64,
}

impl Default for ControlSection {
    fn default() -> ControlSection {
        ControlSection {
            interval: HumanDuration::secs(10),
            policy: None,
            grid_setpoint_w: 0.0,
            state_dir: None,
            min_change_interval: HumanDuration::secs(10),
            ramp_a_per_s: 1.0,
            on_shutdown: SafeState::Floor,
            charge_efficiency: 0.9,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    /// File holding the broker password (or SUNPLUG_MQTT_PASSWORD, or the credential "mqtt-password").
    pub password_file: Option<PathBuf>,
    /// Connect with TLS (port 8883 is the usual one). The system's roots are trusted, plus `ca_file`.
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    /// MQTT protocol version: "3.1.1" or "5".
    pub protocol: String,
    pub keep_alive: HumanDuration,
    /// Prefix of every topic sunplug publishes (state, Home Assistant commands).
    pub base_topic: String,
    /// Home Assistant discovery prefix.
    pub discovery_prefix: String,
    /// Publish Home Assistant discovery messages.
    pub discovery: bool,
    /// Largest message (bytes) passed on; a larger one is dropped with one log line per topic.
    pub max_packet_size: u64,
}

impl Default for MqttSection {
    fn default() -> MqttSection {
        MqttSection {
            host: "localhost".into(),
            port: 1883,
            client_id: "sunplug".into(),
            max_packet_size: DEFAULT_MAX_PACKET as u64,
            username: None,
            password_file: None,
            tls: false,
            ca_file: None,
            protocol: "3.1.1".into(),
            keep_alive: HumanDuration::secs(30),
            base_topic: "sunplug".into(),
            discovery_prefix: "homeassistant".into(),
            discovery: true,
        }
    }
}

pub use crate::control::actuate::OnManualChange;

/// The unit `[charger]` limits are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Whole amps (the Smappee API refuses fractions): 1 A steps, 690 W at 3 phases.
    Ampere,
    /// 0 % = the floor, 100 % = max_current_a: steps of (max − 6 A)/100, 0.26 A for 32 A.
    Percentage,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChargerSection {
    /// "smappee" (its cloud API, `[smappee]`) or "ocpp" (a local OCPP 1.6J charge point, `[ocpp]`).
    pub kind: String,
    pub limit_unit: LimitUnit,
    /// The lowest current a car accepts (IEC 61851: 6 A). Below it the charger pauses.
    pub min_current_a: f64,
    /// The station's configured maximum (Smappee's 100 %).
    pub max_current_a: Option<f64>,
    /// Rating of the charging cable, when lower than the station.
    pub cable_a: Option<f64>,
    /// When the charger is changed outside sunplug (in the vendor's app): "reassert" sunplug's
    /// request once the change has stood `manual_grace`, or "yield" to it until the car is unplugged.
    pub on_manual_change: OnManualChange,
    /// How long a change made outside sunplug stands before sunplug re-asserts or yields (0..1 h).
    pub manual_grace: HumanDuration,
}

impl Default for ChargerSection {
    fn default() -> ChargerSection {
        ChargerSection {
            kind: "smappee".into(),
            limit_unit: LimitUnit::Ampere,
            min_current_a: 6.0,
            max_current_a: None,
            cable_a: None,
            on_manual_change: OnManualChange::Reassert,
            manual_grace: HumanDuration::secs(60),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmappeeSection {
    /// API client id (request API access from Smappee support).
    pub client_id: Option<String>,
    /// File holding the client secret (or SUNPLUG_SMAPPEE_CLIENT_SECRET).
    pub client_secret_file: Option<PathBuf>,
    /// Smappee account user name.
    pub username: Option<String>,
    /// File holding the account password (or SUNPLUG_SMAPPEE_PASSWORD).
    pub password_file: Option<PathBuf>,
    /// Serial number of the charging station (not the Connect hub's `deviceSerialNumber`).
    pub serial: Option<String>,
    /// Connector position: facing the LED, right = 1, left = 2.
    pub connector: u8,
    /// Scheme and host of the API; the client adds `/dev/v1/oauth2/token` and `/dev/v3/...`.
    pub base_url: String,
    /// Numeric service location id, for status reads (see `sunplug smappee locations`).
    pub service_location_id: Option<i64>,
    /// Service location UUID: enables the local MQTT realtime topic for the charger's power.
    pub service_location_uuid: Option<String>,
    /// Smappee realtime `channelPowers[].publishIndex` values that measure the charger.
    pub charger_channels: Vec<u32>,
    /// How often the charger's state is read from the cloud API.
    pub poll_interval: HumanDuration,
    /// Connect and total timeouts of each API call.
    pub connect_timeout: HumanDuration,
    pub request_timeout: HumanDuration,
}

impl Default for SmappeeSection {
    fn default() -> SmappeeSection {
        SmappeeSection {
            client_id: None,
            client_secret_file: None,
            username: None,
            password_file: None,
            serial: None,
            connector: 1,
            base_url: "https://app1pub.smappee.net".into(),
            service_location_id: None,
            service_location_uuid: None,
            charger_channels: Vec::new(),
            poll_interval: HumanDuration::secs(30),
            connect_timeout: HumanDuration::secs(5),
            request_timeout: HumanDuration::secs(15),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// A tracing filter, e.g. "info" or "sunplug=debug".
    pub level: String,
    pub format: LogFormat,
}

impl Default for LoggingSection {
    fn default() -> LoggingSection {
        LoggingSection {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

/// Daily CSV recordings of what the service saw and did, for `sunplug simulate`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingSection {
    pub enabled: bool,
    /// Recordings older than this many days are removed.
    pub keep_days: u32,
    /// The oldest recordings are removed beyond this total size.
    pub max_mb: u64,
}

impl Default for RecordingSection {
    fn default() -> RecordingSection {
        RecordingSection {
            enabled: true,
            keep_days: 60,
            max_mb: 200,
        }
    }
}

/// The default `[mqtt] max_packet_size`: 1 MiB (Smappee realtime messages are several kB, some
/// Home Assistant and Zigbee2MQTT retained topics a few hundred).
pub const DEFAULT_MAX_PACKET: usize = 1024 * 1024;
/// What the MQTT connection reads at most: a packet above it is a protocol error for rumqttc.
pub const HARD_PACKET_LIMIT: usize = 64 * 1024 * 1024;
