//! The Smappee charger below the actuator: a stateless translator from the actuator's [`Request`] to
//! Smappee's mode PUT, plus the station's discovery and state reads.
//!
//! Owns: [`SmappeeCharger`]. Dedupe, replugs, rejected requests, backoff and manual changes are the
//! actuator's (`control::actuate`); this type only:
//! - **translates** a request: PAUSED, or NORMAL with an AMPERE limit (capped at the station's
//!   maximum) or a PERCENTAGE;
//! - **discovers and verifies** the station: the connector is found in the metering configuration,
//!   and the config's current range is checked against the station's (see `mapping`) before the
//!   first limit is sent;
//! - **reads** the connector's state (smart device plus active session) for the controller;
//! - **logs** a rejected body once with the URL (the actuator never repeats a rejected request).

use super::auth::VENDOR;
use super::client::SmappeeClient;
use super::mapping::{self, ChargerState, Station};
use super::wire::ModeRequest;
use crate::config::ChargerLimits;
use crate::control::Reading;
use crate::control::actuate::Request;
use crate::units::{Amps, Watts};
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

/// Active sessions are looked up among those started this long ago at most.
pub const SESSION_LOOKBACK: chrono::Duration = chrono::Duration::days(30);

/// One connector of one Smappee charging station.
#[derive(Debug)]
pub struct SmappeeCharger {
    client: SmappeeClient,
    serial: String,
    position: u8,
    location_hint: Option<i64>,
    limits: ChargerLimits,
    station: Option<Station>,
    last: Option<ChargerState>,
    power: Option<Reading<Watts>>,
    /// The sessions endpoint answered 4xx once: not asked again.
    sessions_refused: bool,
}

impl SmappeeCharger {
    /// `location` is `[smappee] service_location_id` when set (else all locations are searched).
    pub fn new(
        client: SmappeeClient,
        serial: &str,
        position: u8,
        limits: ChargerLimits,
        location: Option<i64>,
    ) -> SmappeeCharger {
        SmappeeCharger {
            client,
            serial: serial.trim().to_string(),
            position,
            location_hint: location,
            limits,
            station: None,
            last: None,
            power: None,
            sessions_refused: false,
        }
    }

    pub fn client(&self) -> &SmappeeClient {
        &self.client
    }
    pub fn serial(&self) -> &str {
        &self.serial
    }
    pub fn position(&self) -> u8 {
        self.position
    }
    /// The limits in force (the station's maximum may have lowered the configured cap).
    pub fn limits(&self) -> &ChargerLimits {
        &self.limits
    }
    /// What the controller can command: `(base, step)`, values are `base + n·step`. Whole amps in
    /// ampere mode; `(max − floor)/100` from the floor in percentage mode (0.26 A for 32 A).
    pub fn resolution(&self) -> (Amps, Amps) {
        self.limits.resolution()
    }
    pub fn station(&self) -> Option<&Station> {
        self.station.as_ref()
    }
    /// The last state read successfully (kept through failed reads).
    pub fn last_state(&self) -> Option<&ChargerState> {
        self.last.as_ref()
    }
    /// The wire body of the actuator's `request`. A whole-ampere limit above the station's maximum
    /// (found when it was verified) is capped there.
    pub fn mode_request(&self, request: Request) -> ModeRequest {
        match request {
            Request::Ampere(a) => {
                let cap = (self.limits.max.0 + 1e-6).floor().max(0.0) as u32;
                mapping::mode_request(Request::Ampere(a.min(cap)))
            }
            other => mapping::mode_request(other),
        }
    }

    /// The charger's power from Smappee's realtime topic, reported with the next state.
    pub fn observe_power(&mut self, power: Reading<Watts>) {
        self.power = Some(power);
        if let Some(s) = &mut self.last {
            s.power = Some(power);
        }
    }

    /// Execute the actuator's `request`. Before the first limit is sent the station is verified
    /// (its range against the config, see [`SmappeeCharger::verify`]); a pause never waits for that.
    pub async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        if !request.is_pause() && self.station.is_none() {
            self.verify().await?;
        }
        self.send(self.mode_request(request)).await
    }

    /// Send `request` as it is (the `charger set` command, and [`SmappeeCharger::execute`]).
    pub async fn send(&self, request: ModeRequest) -> Result<(), VendorError> {
        match self
            .client
            .set_mode(&self.serial, self.position, &request)
            .await
        {
            Ok(()) => {
                info!(
                    "smappee: station {} connector {} set to {request}",
                    self.serial, self.position
                );
                Ok(())
            }
            Err(e) => {
                if let VendorError::Rejected { .. } = e {
                    error!(
                        "smappee: the API rejected {} with body {}: {e}. This is a bug in sunplug or a \
                         station setting; the same request will not be sent again",
                        self.client.mode_url(&self.serial, self.position).path(),
                        request.to_json()
                    );
                } else {
                    warn!("smappee: setting {request} failed: {e}");
                }
                Err(e)
            }
        }
    }

    /// Find the connector and check the config's current range against the station's. Done once.
    pub async fn verify(&mut self) -> Result<Station, VendorError> {
        if let Some(s) = &self.station {
            return Ok(s.clone());
        }
        let st = self.discover().await?;
        match mapping::check_station_limits(&self.limits, st.min_current, st.max_current) {
            Err(detail) => {
                return Err(VendorError::Unsupported {
                    vendor: VENDOR,
                    detail,
                });
            }
            Ok(Some(cap)) => {
                warn!(
                    "smappee: the station's maximum is {cap}, below the configured {}: commands are capped at {cap}",
                    self.limits.max
                );
                self.limits.max = cap;
            }
            Ok(None) => {}
        }
        self.station = Some(st.clone());
        Ok(st)
    }

    /// The station with its current range (from the smart device where the metering configuration
    /// lacks it).
    async fn discover(&self) -> Result<Station, VendorError> {
        let mut st = self.find_station().await?;
        st.smart_device_id = self.client.resolve_smart_device(&st).await?;
        if (st.min_current.is_none() || st.max_current.is_none())
            && let Some(id) = st.smart_device_id.clone()
        {
            let dev = self.client.smart_device(st.location_id, &id).await?;
            let (min, max) = mapping::device_range(&dev);
            st.min_current = st.min_current.or(min);
            st.max_current = st.max_current.or(max);
        }
        Ok(st)
    }

    async fn find_station(&self) -> Result<Station, VendorError> {
        let ids = match self.location_hint {
            Some(id) => vec![id],
            None => self
                .client
                .service_locations()
                .await?
                .service_locations
                .iter()
                .map(|l| l.service_location_id)
                .collect(),
        };
        let mut found = Vec::new();
        for id in ids {
            let cfg = match self.client.metering_configuration(id).await {
                Ok(c) => c,
                // A location without a metering configuration (older monitors) has no station.
                Err(VendorError::Rejected { status: 404, .. }) if self.location_hint.is_none() => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(st) = mapping::find_station(id, &cfg, &self.serial, self.position) {
                let positions: Vec<u8> = cfg
                    .charging_stations
                    .iter()
                    .filter(|s| s.serial_number.as_deref() == Some(st.serial.as_str()))
                    .flat_map(|s| s.chargers.iter().filter_map(|c| c.position))
                    .collect();
                if st.smart_device_id.is_none() && !positions.is_empty() {
                    return Err(VendorError::Unsupported {
                        vendor: VENDOR,
                        detail: format!(
                            "station {} has no connector at position {} (it has {positions:?}): \
                             set [smappee] connector",
                            self.serial, self.position
                        ),
                    });
                }
                return Ok(st);
            }
            found.extend(
                cfg.charging_stations
                    .iter()
                    .filter_map(|s| s.serial_number.clone()),
            );
        }
        Err(VendorError::Unsupported {
            vendor: VENDOR,
            detail: format!(
                "no charging station with serial {} in this account (found: {}); \
                 `sunplug smappee locations` lists them (the Connect hub's serial is not the station's)",
                self.serial,
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                }
            ),
        })
    }

    /// Read the connector's state: plug, charging, pause, limit (and the realtime power if fed).
    pub async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerState, VendorError> {
        let station = self.verify().await?;
        let s = self.read(now, &station).await?;
        self.last = Some(s.clone());
        Ok(s)
    }

    async fn read(
        &mut self,
        now: DateTime<Utc>,
        st: &Station,
    ) -> Result<ChargerState, VendorError> {
        let device = match &st.smart_device_id {
            Some(id) => Some(self.client.smart_device(st.location_id, id).await?),
            None => None,
        };
        let sessions = if self.sessions_refused {
            None
        } else {
            let from = now - SESSION_LOOKBACK;
            match self.client.sessions(&self.serial, from, true).await {
                Ok(s) => Some(s),
                // Some accounts or stations cannot list sessions: go on without the plug state.
                Err(VendorError::Rejected { status, .. }) => {
                    warn!(
                        "smappee: the sessions of station {} cannot be read (HTTP {status}); the plug \
                         state and replugs are unknown, only the charging state is read",
                        self.serial
                    );
                    self.sessions_refused = true;
                    None
                }
                Err(e) => return Err(e),
            }
        };
        // The sessions are the station's and do not name their connector: on a station with
        // several connectors an open session may be the other car's, so it says nothing about this
        // one (its own state word still does). No open session at all still means no car.
        let sessions = match sessions {
            Some(list) if st.positions.len() > 1 && list.iter().any(mapping::session_open) => None,
            other => other,
        };
        let mut s = mapping::charger_state(
            now,
            device.as_ref(),
            sessions.as_deref(),
            mapping::scale(&self.limits),
        );
        s.min_current = s.min_current.or(st.min_current);
        s.max_current = s.max_current.or(st.max_current);
        s.power = self.power;
        Ok(s)
    }
}
