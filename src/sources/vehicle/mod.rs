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
use crate::config::vehicle::VehicleKind;
use crate::control::VehicleObs;
use crate::vendor::VendorError;
use cariad::CariadSource;
use chrono::{DateTime, Utc};
use enode::EnodeSource;
use enode::actions::EnodeCharging;
use mqtt::MqttVehicle;
use state::VehicleState;

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
