//! `[vehicle]`, `[enode]`, `[cariad]`: where the car's state of charge and plug state come from.

use super::surplus::PowerValue;
use super::values::HumanDuration;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which vehicle source feeds the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    Enode,
    Cariad,
    Mqtt,
    /// No vehicle data: policies that need the SoC refuse to load.
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleSection {
    pub kind: VehicleKind,
    /// Usable battery capacity, for SoC estimates and departure planning.
    pub capacity_kwh: Option<f64>,
    /// Vehicle data older than this is not used for decisions (it is still shown, marked stale).
    pub max_age: HumanDuration,
    /// The car's own maximum AC current per phase, when lower than the charger's.
    pub max_current_a: Option<f64>,
    /// Topics for `kind = "mqtt"`.
    pub mqtt: Option<VehicleMqttSection>,
}

impl Default for VehicleSection {
    fn default() -> VehicleSection {
        VehicleSection {
            kind: VehicleKind::None,
            capacity_kwh: None,
            max_age: HumanDuration::secs(6 * 3600),
            max_current_a: None,
            mqtt: None,
        }
    }
}

/// A SoC (or charge limit) value: like a power value, but a percentage.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicValue {
    pub topic: Option<String>,
    pub pointer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleMqttSection {
    /// State of charge in %.
    pub soc: Option<TopicValue>,
    /// Plug state: true/false, "on"/"off", "connected"/"disconnected", 1/0.
    pub plugged: Option<TopicValue>,
    /// Charging state, same forms as `plugged`.
    pub charging: Option<TopicValue>,
    /// The car's charge limit in %.
    pub charge_limit: Option<TopicValue>,
    /// Range in km.
    pub range: Option<TopicValue>,
    /// The car's charging power (optional; helps when the charger does not report it).
    pub power: Option<PowerValue>,
    /// A value older than this is stale.
    pub max_age: Option<HumanDuration>,
}

/// Enode environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnodeEnvironment {
    Production,
    Sandbox,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnodeSection {
    pub environment: EnodeEnvironment,
    pub client_id: Option<String>,
    /// File holding the client secret (or SUNPLUG_ENODE_CLIENT_SECRET).
    pub client_secret_file: Option<PathBuf>,
    /// The Enode user the car is linked to (your choice of id at link time).
    pub user_id: Option<String>,
    /// The vehicle's Enode id (see `sunplug enode vehicles`).
    pub vehicle_id: Option<String>,
    /// API root; defaults from `environment`.
    pub api_url: Option<String>,
    /// Full token URL; defaults from `environment`.
    pub oauth_url: Option<String>,
    /// At most this many vehicle reads per hour.
    pub max_calls_per_hour: u32,
    /// Poll interval while plugged in and charging / plugged in / away.
    pub poll_charging: HumanDuration,
    pub poll_plugged: HumanDuration,
    pub poll_away: HumanDuration,
    /// Use Enode's start/stop charging actions for cars that ignore a paused charger.
    pub control_charging: bool,
}

impl Default for EnodeSection {
    fn default() -> EnodeSection {
        EnodeSection {
            environment: EnodeEnvironment::Production,
            client_id: None,
            client_secret_file: None,
            user_id: None,
            vehicle_id: None,
            api_url: None,
            oauth_url: None,
            max_calls_per_hour: 30,
            poll_charging: HumanDuration::secs(120),
            poll_plugged: HumanDuration::secs(300),
            poll_away: HumanDuration::secs(1800),
            control_charging: false,
        }
    }
}

impl EnodeSection {
    pub fn api_url(&self) -> String {
        self.api_url
            .clone()
            .unwrap_or_else(|| match self.environment {
                EnodeEnvironment::Production => "https://enode-api.production.enode.io".into(),
                EnodeEnvironment::Sandbox => "https://enode-api.sandbox.enode.io".into(),
            })
    }
    pub fn oauth_url(&self) -> String {
        self.oauth_url
            .clone()
            .unwrap_or_else(|| match self.environment {
                EnodeEnvironment::Production => {
                    "https://oauth.production.enode.io/oauth2/token".into()
                }
                EnodeEnvironment::Sandbox => "https://oauth.sandbox.enode.io/oauth2/token".into(),
            })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CariadSection {
    pub vin: Option<String>,
    /// File holding the refresh token. sunplug rewrites it (atomically, 0600) each time the token rotates,
    /// so it must be writable (under systemd it is copied into the state directory on first start).
    pub refresh_token_file: Option<PathBuf>,
    /// OAuth client id of the app the refresh token was issued to.
    pub client_id: Option<String>,
    /// Scheme and host of the BFF API.
    pub base_url: String,
    /// Full token URL.
    pub token_url: String,
    /// At most this many calls per day (the account's budget, about 500, is shared with the app).
    pub daily_budget: u32,
    /// Calls left for the phone app: when the account's remaining calls (`Vcf-Remaining-Calls`) come
    /// down to this, sunplug stops until midnight.
    pub reserve_calls: u32,
    /// Poll interval while charging (at least 5 min) and otherwise (15 to 30 min). The daily budget
    /// stretches both when it must.
    pub poll_charging: HumanDuration,
    pub poll_idle: HumanDuration,
    /// Also read the parking position (one more call, at most every 2 h or when the plug changes).
    pub parking_position: bool,
}

impl Default for CariadSection {
    fn default() -> CariadSection {
        CariadSection {
            vin: None,
            refresh_token_file: None,
            client_id: None,
            base_url: "https://emea.bff.cariad.digital".into(),
            token_url: "https://emea.bff.cariad.digital/auth/v1/idk/oidc/token".into(),
            daily_budget: 200,
            reserve_calls: 50,
            poll_charging: HumanDuration::secs(300),
            poll_idle: HumanDuration::secs(1200),
            parking_position: false,
        }
    }
}
