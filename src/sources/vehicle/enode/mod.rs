//! Enode: the car's state from `GET /vehicles/{id}`, paced to what Enode delivers, and optional charge
//! control through Enode actions.
//!
//! Layout: `wire.rs` (payloads as sent), `client.rs` (token, calls, errors), `map.rs` (payload →
//! [`VehicleState`]), `actions.rs` (start/stop and following the action), `cli.rs` (`sunplug enode
//! link|vehicles`). This file owns [`EnodeSource`]: one client, one vehicle, one pacer.

pub mod actions;
pub mod client;
pub mod map;
pub mod wire;

use crate::clock::Clock;
use crate::config::vehicle::EnodeSection;
use crate::sources::vehicle::schedule::{EnodePace, EnodePacer};
use crate::sources::vehicle::state::VehicleState;
use crate::vendor::VendorError;
use actions::EnodeCharging;
use chrono::{DateTime, Utc};
use client::EnodeClient;
use secrecy::SecretString;

/// Polls one vehicle.
#[derive(Debug)]
pub struct EnodeSource {
    client: EnodeClient,
    vehicle_id: String,
    pacer: EnodePacer,
    control_charging: bool,
    last: Option<VehicleState>,
    /// The warning already logged (logged again only after it cleared).
    warned: Option<crate::sources::vehicle::state::VehicleWarning>,
}

impl EnodeSource {
    pub fn new(
        client: EnodeClient,
        vehicle_id: String,
        pace: EnodePace,
        control_charging: bool,
    ) -> EnodeSource {
        EnodeSource {
            client,
            vehicle_id,
            pacer: EnodePacer::new(pace),
            control_charging,
            last: None,
            warned: None,
        }
    }

    /// From `[enode]` and its secret. Needs `vehicle_id` (checked by `config::load` for `Needs::VEHICLE`).
    pub fn from_config(
        e: &EnodeSection,
        secret: SecretString,
        http: reqwest::Client,
    ) -> Result<EnodeSource, String> {
        let client = client_from_config(e, secret, http)?;
        let vehicle_id = e
            .vehicle_id
            .clone()
            .ok_or("enode.vehicle_id is missing: see `sunplug enode vehicles`")?;
        Ok(EnodeSource::new(
            client,
            vehicle_id,
            pace(e),
            e.control_charging,
        ))
    }

    /// When the next fetch is due.
    pub fn due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.pacer.due(now)
    }

    /// Fetch the vehicle once, now, and plan the next fetch.
    pub async fn poll(&mut self, clock: &dyn Clock) -> Result<VehicleState, VendorError> {
        self.pacer.on_call(clock.now());
        let result = self.client.vehicle(&self.vehicle_id).await;
        let now = clock.now();
        match result {
            Ok(v) => {
                let s = map::vehicle_state(&v, now);
                if s.warning != self.warned {
                    if let Some(w) = s.warning {
                        tracing::warn!("vehicle {}: {}", self.vehicle_id, w.message());
                    }
                    self.warned = s.warning;
                }
                self.pacer.on_success(now, &s);
                self.last = Some(s.clone());
                Ok(s)
            }
            Err(e) => {
                self.pacer.on_error(now, &e);
                Err(e)
            }
        }
    }

    pub fn latest(&self) -> Option<&VehicleState> {
        self.last.as_ref()
    }

    /// Charge control, when `control_charging = true`.
    pub fn charging_control(&self) -> Option<EnodeCharging> {
        self.control_charging
            .then(|| EnodeCharging::new(self.client.clone(), self.vehicle_id.clone()))
    }

    pub fn pacer(&self) -> &EnodePacer {
        &self.pacer
    }
}

/// The client `[enode]` describes.
pub fn client_from_config(
    e: &EnodeSection,
    secret: SecretString,
    http: reqwest::Client,
) -> Result<EnodeClient, String> {
    let client_id = e.client_id.as_deref().ok_or("enode.client_id is missing")?;
    EnodeClient::new(http, &e.api_url(), &e.oauth_url(), client_id, secret)
}

/// The pace `[enode]` asks for.
pub fn pace(e: &EnodeSection) -> EnodePace {
    EnodePace {
        charging: e.poll_charging.get(),
        plugged: e.poll_plugged.get(),
        away: e.poll_away.get(),
        max_per_hour: e.max_calls_per_hour,
    }
}
