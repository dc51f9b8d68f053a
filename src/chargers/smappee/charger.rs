//! The Smappee charger as the daemon's writer task drives it: one owner, one write at a time.
//!
//! Owns: [`SmappeeCharger`] and [`Applied`]. What it adds to the client:
//! - **dedupe**: nothing is sent when the wanted request equals the last *confirmed* one;
//! - **replug**: Smappee resets PAUSED to NORMAL when the cable is unplugged and plugged again, so a
//!   new session (a new session id, or plugged again after an unplugged read) forgets the confirmed
//!   state and the next `apply` sends PAUSED again. A pause that is gone a minute after it was
//!   confirmed (someone pressed resume in the app) is re-asserted the same way;
//! - **uncertain writes**: a write that failed in transit (timeout, 5xx) may have been applied, so the
//!   confirmed state is forgotten (the next wish is always sent); a 429, 400 or 401 changed nothing;
//! - **backoff**: after a 429 (`Retry-After` honoured) or a transient failure, calls wait, doubling
//!   from 5 s to 5 min (tokio time, so tests drive it with a paused clock);
//! - **rejections**: a 400 is a bug (in sunplug or a station setting): logged once with both bodies,
//!   and the same request is not sent again until another one succeeded;
//! - **discovery and limits**: the station and connector are found in the metering configuration,
//!   and the config's current range is checked against the station's (see `mapping`).

use super::auth::VENDOR;
use super::backoff::Backoff;
use super::client::SmappeeClient;
use super::mapping::{self, ChargerState, Station};
use super::wire::{Mode, ModeRequest, WireUnit};
use crate::config::ChargerLimits;
use crate::control::{Command, Reading};
use crate::units::{Amps, Watts};
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use tracing::{debug, error, info, warn};

/// Active sessions are looked up among those started this long ago at most.
pub const SESSION_LOOKBACK: chrono::Duration = chrono::Duration::days(30);
/// A confirmed pause that reads as not paused this long after is re-asserted.
const DRIFT_GRACE: chrono::Duration = chrono::Duration::seconds(60);
/// How far Smappee's session times and ours may disagree.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// What `apply` did. A command that was not confirmed is an `Err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Sent and acknowledged by the API.
    Sent,
    /// Already confirmed earlier; nothing was sent.
    Unchanged,
}

/// The last request the API acknowledged, and what was known when it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmed {
    pub request: ModeRequest,
    pub at: DateTime<Utc>,
    session: Option<String>,
    plugged: Option<bool>,
}

/// One connector of one Smappee charging station.
#[derive(Debug)]
pub struct SmappeeCharger {
    client: SmappeeClient,
    serial: String,
    position: u8,
    location_hint: Option<i64>,
    limits: ChargerLimits,
    station: Option<Station>,
    confirmed: Option<Confirmed>,
    rejected: Option<(ModeRequest, VendorError)>,
    backoff: Backoff,
    seen_plugged: Option<bool>,
    seen_session: Option<String>,
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
            confirmed: None,
            rejected: None,
            backoff: Backoff::default(),
            seen_plugged: None,
            seen_session: None,
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
    pub fn confirmed(&self) -> Option<&Confirmed> {
        self.confirmed.as_ref()
    }
    /// The last state read successfully (kept through failed reads).
    pub fn last_state(&self) -> Option<&ChargerState> {
        self.last.as_ref()
    }
    /// The request `command` becomes.
    pub fn request_for(&self, command: &Command) -> ModeRequest {
        mapping::request_for(command, &self.limits)
    }

    /// The charger's power from Smappee's realtime topic, reported with the next state.
    pub fn observe_power(&mut self, power: Reading<Watts>) {
        self.power = Some(power);
        if let Some(s) = &mut self.last {
            s.power = Some(power);
        }
    }

    /// Forget the confirmed state: the next `apply` sends whatever is wanted.
    pub fn invalidate(&mut self) {
        self.confirmed = None;
    }

    /// Bring the connector to `command`. Before the first limit is sent the station is verified
    /// (its range against the config, see [`SmappeeCharger::verify`]); a pause never waits for that.
    pub async fn apply(
        &mut self,
        now: DateTime<Utc>,
        command: &Command,
    ) -> Result<Applied, VendorError> {
        let mut request = self.request_for(command);
        if request.limit.is_some() && self.station.is_none() {
            self.verify().await?;
            request = self.request_for(command);
        }
        self.apply_request(now, request).await
    }

    /// Send `request` unless it is the confirmed one, the rejected one, or the API asked us to wait.
    pub async fn apply_request(
        &mut self,
        now: DateTime<Utc>,
        request: ModeRequest,
    ) -> Result<Applied, VendorError> {
        if self
            .confirmed
            .as_ref()
            .is_some_and(|c| c.request == request)
        {
            debug!("smappee: connector already at {request}");
            return Ok(Applied::Unchanged);
        }
        if let Some((r, e)) = &self.rejected
            && *r == request
        {
            return Err(e.clone());
        }
        self.backoff.check()?;
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
                self.backoff.reset();
                self.rejected = None;
                self.confirmed = Some(Confirmed {
                    request,
                    at: now,
                    session: self.seen_session.clone(),
                    plugged: self.seen_plugged,
                });
                Ok(Applied::Sent)
            }
            Err(e) => {
                self.write_failed(request, &e);
                Err(e)
            }
        }
    }

    fn write_failed(&mut self, request: ModeRequest, e: &VendorError) {
        match e {
            VendorError::Rejected { .. } => {
                if self.rejected.as_ref().is_none_or(|(r, _)| *r != request) {
                    error!(
                        "smappee: the API rejected {} with body {}: {e}. This is a bug in sunplug or a \
                         station setting; the same request will not be sent again",
                        self.client.mode_url(&self.serial, self.position).path(),
                        request.to_json()
                    );
                }
                self.rejected = Some((request, e.clone()));
            }
            VendorError::Transient { .. } => {
                // It may have been applied before the answer was lost.
                self.confirmed = None;
                if let Some(wait) = self.backoff.failed(e) {
                    warn!(
                        "smappee: setting {request} failed: {e}; waiting {}s",
                        wait.as_secs()
                    );
                }
            }
            VendorError::RateLimited { .. } => {
                if let Some(wait) = self.backoff.failed(e) {
                    warn!(
                        "smappee: rate limited while setting {request}; waiting {}s",
                        wait.as_secs()
                    );
                }
            }
            _ => warn!("smappee: setting {request} failed: {e}"),
        }
    }

    /// Find the connector and check the config's current range against the station's. Done once.
    pub async fn verify(&mut self) -> Result<Station, VendorError> {
        if let Some(s) = &self.station {
            return Ok(s.clone());
        }
        self.backoff.check()?;
        let st = match self.discover().await {
            Ok(st) => st,
            Err(e) => {
                self.backoff.failed(&e);
                return Err(e);
            }
        };
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
    /// A new session or a lost pause forgets the confirmed state (see the module doc).
    pub async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerState, VendorError> {
        let station = self.verify().await?;
        self.backoff.check()?;
        match self.read(now, &station).await {
            Ok(mut s) => {
                self.backoff.reset();
                self.observe(&s);
                if let Some(c) = &self.confirmed {
                    // The amps we asked for, where the API only reports a percentage.
                    if let (Some(l), false) = (c.request.limit, s.paused == Some(true))
                        && l.unit == WireUnit::Ampere
                    {
                        s.limit = Some(Amps(f64::from(l.value)));
                    }
                }
                self.last = Some(s.clone());
                Ok(s)
            }
            Err(e) => {
                self.backoff.failed(&e);
                Err(e)
            }
        }
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

    /// Take in a state read elsewhere (or by `read_state`): remember the plug and session, and forget
    /// the confirmed state when the charger has reset it.
    pub fn observe(&mut self, s: &ChargerState) {
        if s.plugged.is_some() {
            self.seen_plugged = s.plugged;
        }
        if let Some(id) = s.session_id() {
            self.seen_session = Some(id.to_string());
        } else if s.plugged == Some(false) {
            self.seen_session = None;
        }
        let Some(c) = &mut self.confirmed else {
            return;
        };
        // A session we did not know when the write was confirmed is new if we knew another one, or
        // if it started after the write (give or take the clocks' disagreement).
        let new_session = match (c.session.as_deref(), s.session.as_ref()) {
            (Some(known), Some(now)) => now.id.as_deref().is_some_and(|id| id != known),
            (None, Some(now)) => {
                now.id.is_some() && now.started.is_none_or(|t| t + CLOCK_SKEW > c.at)
            }
            _ => false,
        };
        let plugged_in = c.plugged == Some(false) && s.plugged == Some(true);
        let unpaused = c.request.mode == Mode::Paused
            && s.paused == Some(false)
            && s.plugged == Some(true)
            && s.at >= c.at + DRIFT_GRACE;
        if s.plugged == Some(false) {
            c.plugged = Some(false);
        }
        let why = if new_session || plugged_in {
            "a new charging session (replug): the station reset the connector"
        } else if unpaused {
            "the pause was lifted outside sunplug"
        } else {
            return;
        };
        info!("smappee: {why}; {} will be sent again", c.request);
        self.confirmed = None;
    }
}
