//! The car's state (SoC, plug, charging, charge limit, range, location...) from Enode, Cariad or MQTT.
//!
//! Owns: [`VehicleSource`], the one thing the service sees, built by one `match` on `[vehicle] kind`;
//! the config checks of `[enode]`, `[cariad]` and `[vehicle.mqtt]`; and the `probe vehicle` and
//! `enode` commands. Layout:
//! - `state.rs`: [`state::VehicleState`], every value with the time the car captured it;
//! - `timestamps.rs`: capture times as sent → trusted (sentinels, clock bugs);
//! - `schedule.rs`: when to fetch next (car state, hourly/daily budgets, Retry-After, backoff);
//! - `poller.rs`: the task that fetches on schedule and publishes on a watch channel;
//! - `http.rs`: bounded requests and the access-token cache both clients share;
//! - `enode/`, `cariad/`: one vendor each (`wire`, `client`, `map`); `mqtt.rs`: the MQTT tracker;
//! - `probe.rs`: `sunplug probe vehicle`.

pub mod cariad;
pub mod enode;
pub mod http;
pub mod mqtt;
pub mod poller;
pub mod probe;
pub mod schedule;
pub mod state;
pub mod timestamps;

pub use probe::probe;

use crate::clock::Clock;
use crate::config::Config;
use crate::config::vehicle::{CariadSection, EnodeSection, VehicleKind, VehicleMqttSection};
use crate::control::VehicleObs;
use crate::vendor::VendorError;
use cariad::CariadSource;
use chrono::{DateTime, Utc};
use enode::EnodeSource;
use enode::actions::EnodeCharging;
use mqtt::MqttVehicle;
use state::VehicleState;
use std::time::Duration;

/// Where the car's state comes from, as configured.
#[derive(Debug)]
pub enum VehicleSource {
    Enode(EnodeSource),
    Cariad(Box<CariadSource>),
    /// Fed by the service's MQTT connection through [`VehicleSource::mqtt_mut`].
    Mqtt(MqttVehicle),
    None,
}

impl VehicleSource {
    /// The source `[vehicle] kind` names. `cfg` must have been loaded with `Needs::VEHICLE` (so the
    /// secrets are resolved); `http` is the client for vendor calls (`vendor::http_client`).
    pub fn from_config(
        cfg: &Config,
        clock: &dyn Clock,
        http: reqwest::Client,
    ) -> Result<VehicleSource, String> {
        match cfg.vehicle.kind {
            VehicleKind::Enode => {
                let e = cfg
                    .enode
                    .as_ref()
                    .ok_or("[vehicle] kind = \"enode\" needs an [enode] section")?;
                let secret = cfg
                    .secrets
                    .enode_client_secret
                    .clone()
                    .ok_or("the Enode client secret is not set")?;
                Ok(VehicleSource::Enode(EnodeSource::from_config(
                    e, secret, http,
                )?))
            }
            VehicleKind::Cariad => {
                let mut c = cfg
                    .cariad
                    .clone()
                    .ok_or("[vehicle] kind = \"cariad\" needs a [cariad] section")?;
                // Like every file key, a relative path is relative to the config file.
                let dir = cfg.path.parent().unwrap_or(std::path::Path::new("."));
                c.refresh_token_file = c.refresh_token_file.map(|f| dir.join(f));
                let s = CariadSource::from_config(&c, &cfg.state_dir, cfg.tz, clock.now(), http)?;
                Ok(VehicleSource::Cariad(Box::new(s)))
            }
            VehicleKind::Mqtt => {
                let m = cfg
                    .vehicle
                    .mqtt
                    .as_ref()
                    .ok_or("[vehicle] kind = \"mqtt\" needs [vehicle.mqtt]")?;
                Ok(VehicleSource::Mqtt(MqttVehicle::new(
                    m,
                    cfg.vehicle.max_age.get(),
                    clock.now(),
                )?))
            }
            VehicleKind::None => Ok(VehicleSource::None),
        }
    }

    pub fn kind(&self) -> VehicleKind {
        match self {
            VehicleSource::Enode(_) => VehicleKind::Enode,
            VehicleSource::Cariad(_) => VehicleKind::Cariad,
            VehicleSource::Mqtt(_) => VehicleKind::Mqtt,
            VehicleSource::None => VehicleKind::None,
        }
    }

    /// When the next fetch is due; `None` for sources that are not polled (MQTT, none).
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            VehicleSource::Enode(s) => Some(s.due(now)),
            VehicleSource::Cariad(s) => Some(s.due(now)),
            VehicleSource::Mqtt(_) | VehicleSource::None => None,
        }
    }

    /// Fetch once, now (polled sources only).
    pub async fn poll(&mut self, clock: &dyn Clock) -> Result<VehicleState, VendorError> {
        match self {
            VehicleSource::Enode(s) => s.poll(clock).await,
            VehicleSource::Cariad(s) => s.poll(clock).await,
            VehicleSource::Mqtt(_) => Err(VendorError::Unsupported {
                vendor: "mqtt",
                detail: "the MQTT vehicle source is fed by messages, not polled".into(),
            }),
            VehicleSource::None => Err(VendorError::Unsupported {
                vendor: "none",
                detail: "[vehicle] kind = \"none\": there is no vehicle source".into(),
            }),
        }
    }

    /// The last state known.
    pub fn latest(&self) -> Option<&VehicleState> {
        match self {
            VehicleSource::Enode(s) => s.latest(),
            VehicleSource::Cariad(s) => s.latest(),
            VehicleSource::Mqtt(m) => Some(m.state()),
            VehicleSource::None => None,
        }
    }

    /// The control core's input from the last state.
    pub fn observation(&self) -> VehicleObs {
        self.latest()
            .map(VehicleState::observation)
            .unwrap_or_default()
    }

    pub fn mqtt_mut(&mut self) -> Option<&mut MqttVehicle> {
        match self {
            VehicleSource::Mqtt(m) => Some(m),
            _ => None,
        }
    }

    /// Enode charge control, when configured (`[enode] control_charging = true`).
    pub fn charging_control(&self) -> Option<EnodeCharging> {
        match self {
            VehicleSource::Enode(s) => s.charging_control(),
            _ => None,
        }
    }
}

fn is_url(s: &str) -> bool {
    reqwest::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

fn check_interval(
    push: &mut dyn FnMut(&str, String),
    key: &str,
    d: Duration,
    min: u64,
    max: u64,
    why: &str,
) {
    if d.as_secs() < min || d.as_secs() > max {
        let f = |s: u64| humantime::format_duration(Duration::from_secs(s)).to_string();
        push(
            key,
            format!(
                "{} is out of range: use {}..{} ({why})",
                humantime::format_duration(d),
                f(min),
                f(max)
            ),
        );
    }
}

/// Check `[enode]` beyond its types. `need`: the command polls the car (`vehicle_id` required).
pub fn check_enode(e: &EnodeSection, need: bool, push: &mut dyn FnMut(&str, String)) {
    if e.client_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "client_id",
            "missing: the Enode client id of your application".into(),
        );
    }
    if need && e.vehicle_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "vehicle_id",
            "missing: find it with `sunplug enode vehicles`".into(),
        );
    }
    for (key, url) in [("api_url", &e.api_url), ("oauth_url", &e.oauth_url)] {
        if let Some(u) = url.as_deref().filter(|u| !is_url(u)) {
            push(key, format!("\"{u}\" is not an http(s) URL"));
        }
    }
    if !(1..=600).contains(&e.max_calls_per_hour) {
        push(
            "max_calls_per_hour",
            format!(
                "{} is out of range: use 1..600 (30 is a good start)",
                e.max_calls_per_hour
            ),
        );
    }
    let why = "Enode refreshes about every 2 min while charging, 7 min otherwise";
    check_interval(push, "poll_charging", e.poll_charging.get(), 60, 3600, why);
    check_interval(
        push,
        "poll_plugged",
        e.poll_plugged.get(),
        60,
        6 * 3600,
        why,
    );
    check_interval(push, "poll_away", e.poll_away.get(), 60, 24 * 3600, why);
}

/// Check `[cariad]` beyond its types. `need`: the command talks to the car's cloud.
pub fn check_cariad(c: &CariadSection, need: bool, push: &mut dyn FnMut(&str, String)) {
    let vin_ok = |v: &str| {
        v.len() == 17
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"IOQioq".contains(c))
    };
    if c.vin.as_deref().is_none_or(|v| !vin_ok(v)) {
        push(
            "vin",
            "missing or not a VIN: 17 letters and digits (no I, O or Q), as on the registration"
                .into(),
        );
    }
    if need && c.refresh_token_file.is_none() {
        push(
            "refresh_token_file",
            "missing: the file holding the refresh token (see docs/vehicles.md)".into(),
        );
    }
    if c.client_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        push(
            "client_id",
            "missing: the OAuth client id the refresh token was issued to (see docs/vehicles.md)"
                .into(),
        );
    }
    for (key, url) in [("base_url", &c.base_url), ("token_url", &c.token_url)] {
        if !is_url(url) {
            push(key, format!("\"{url}\" is not an http(s) URL"));
        }
    }
    if !(1..=500).contains(&c.daily_budget) {
        push(
            "daily_budget",
            format!(
                "{} is out of range: use 1..500 (the account's ~500 calls a day are shared with the app)",
                c.daily_budget
            ),
        );
    }
    if c.reserve_calls >= 500 {
        push(
            "reserve_calls",
            format!(
                "{} leaves nothing to sunplug: use 0..499 (50 is the default)",
                c.reserve_calls
            ),
        );
    }
    check_interval(
        push,
        "poll_charging",
        c.poll_charging.get(),
        300,
        3600,
        "at least 5 min apart while charging",
    );
    check_interval(
        push,
        "poll_idle",
        c.poll_idle.get(),
        900,
        1800,
        "15 to 30 min when not charging",
    );
}

/// Check `[vehicle.mqtt]` beyond its types.
pub fn check_mqtt(m: &VehicleMqttSection, push: &mut dyn FnMut(&str, String)) {
    let values = [
        ("soc", &m.soc),
        ("plugged", &m.plugged),
        ("charging", &m.charging),
        ("charge_limit", &m.charge_limit),
        ("range", &m.range),
    ];
    for (name, v) in values {
        let Some(v) = v else { continue };
        if v.topic.as_deref().is_none_or(|t| t.trim().is_empty()) {
            push(
                &format!("vehicle.mqtt.{name}.topic"),
                "missing: the topic that carries this value".into(),
            );
        }
        if let Some(p) = v
            .pointer
            .as_deref()
            .filter(|p| !p.is_empty() && !p.starts_with('/'))
        {
            push(
                &format!("vehicle.mqtt.{name}.pointer"),
                format!("\"{p}\" is not a JSON pointer: write \"/{p}\""),
            );
        }
    }
    if let Some(p) = &m.power {
        if p.topic.is_none() {
            push(
                "vehicle.mqtt.power.topic",
                "missing: the topic of the car's charging power".into(),
            );
        }
        if !p.topics.is_empty()
            || !p.pointers.is_empty()
            || p.import_topic.is_some()
            || p.export_topic.is_some()
            || p.sign.is_some()
        {
            push(
                "vehicle.mqtt.power",
                "only topic, pointer and unit are read here (one value, consumption positive)"
                    .into(),
            );
        }
    }
    if m.max_age.is_some_and(|d| d.get().is_zero()) {
        push("vehicle.mqtt.max_age", "must be more than 0s".into());
    }
}
