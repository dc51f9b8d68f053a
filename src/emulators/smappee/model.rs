//! The emulated Smappee account: tokens, one service location with one charging station, its
//! connectors and the car on them, the sessions, and the JSON the API answers with.
//!
//! Behaviour copied from the real API and station (vendor-apis.md §3): tokens expire after
//! `expires_in`; refresh tokens rotate; a limit is only valid with NORMAL, PERCENTAGE 0..=100 and
//! AMPERE whole amps 0..=max; unplugging ends the session and plugging in starts a new one and resets
//! PAUSED to NORMAL; AMPERE limits may be delivered inexactly (`ampere_error`). Below the minimum
//! current a car does not charge.

use crate::chargers::smappee::wire::{Limit, Mode, WireUnit};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// The emulated account and site.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    pub password: String,
    /// Token lifetime in seconds (Smappee: 36000 in the docs, 86400 seen).
    pub expires_in: u64,
    pub location_id: i64,
    pub location_uuid: String,
    pub location_name: String,
    /// The monitor / Connect hub serial (what `/servicelocation` calls `deviceSerialNumber`).
    pub hub_serial: String,
    pub station_serial: String,
    /// `(position, min A, max A)` per connector.
    pub connectors: Vec<(u8, f64, f64)>,
    /// Realtime `publishIndex` values of connector 1's CTs (one per phase).
    pub charger_channels: Vec<u32>,
    /// Realtime `publishIndex` values of the other connectors' CTs, by position.
    pub other_channels: Vec<(u8, Vec<u32>)>,
    /// Phase voltage for the realtime payload.
    pub voltage: f64,
    /// House load without the car, for the realtime payload.
    pub house_w: f64,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            client_id: "sunplug-test-client".into(),
            client_secret: "emu-client-secret-5f1c".into(),
            username: "owner@example.com".into(),
            password: "emu-password-93ab".into(),
            expires_in: 36_000,
            location_id: 12345,
            location_uuid: "6eefadeb-5c08-47cd-87b6-9897acb9fb8f".into(),
            location_name: "Home".into(),
            hub_serial: "5100000123".into(),
            station_serial: "5010000123".into(),
            connectors: vec![(1, 6.0, 32.0)],
            charger_channels: vec![4, 5, 6],
            other_channels: vec![(2, vec![7, 8, 9])],
            voltage: 230.0,
            house_w: 900.0,
        }
    }
}

/// One connector and the car on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    pub position: u8,
    pub min: f64,
    pub max: f64,
    pub mode: Mode,
    /// The limit in force (NORMAL without a limit keeps it; initially none = 100 %).
    pub limit: Option<Limit>,
    pub plugged: bool,
    /// Index into the sessions of the running session.
    pub session: Option<usize>,
    /// The most the car takes.
    pub car_max: f64,
    /// Added to an AMPERE limit before it is delivered (the station's inexact ampere control).
    pub ampere_error: f64,
    /// A `chargingState` word to report instead of the modelled one (tests of unknown words).
    pub state_word: Option<String>,
    /// The site's phases the car loads: 0, 1, 2 for L1..L3 (all three for a 3-phase car).
    pub lines: Vec<usize>,
}

impl Connector {
    pub fn smart_device_id(&self) -> String {
        format!("CARCHARGER-{}", 298 + u32::from(self.position))
    }
    pub fn uuid(&self) -> String {
        format!("c0ffee00-0000-4000-8000-00000000000{}", self.position)
    }
    /// The current the station offers.
    pub fn offered(&self) -> f64 {
        match self.limit {
            None => self.max,
            Some(Limit {
                unit: WireUnit::Percentage,
                value,
            }) => self.min + f64::from(value.min(100)) / 100.0 * (self.max - self.min),
            Some(Limit {
                unit: WireUnit::Ampere,
                value,
            }) => (f64::from(value) + self.ampere_error).clamp(0.0, self.max),
        }
    }
    /// What the car draws per phase.
    pub fn delivered(&self) -> f64 {
        if !self.plugged || self.mode == Mode::Paused {
            return 0.0;
        }
        let offered = self.offered();
        if offered + 1e-9 < self.min {
            0.0
        } else {
            offered.min(self.car_max)
        }
    }
    /// The connector's `chargingState`, a session state as the real station reports it
    /// (vendor-apis.md §3.4, corrected 2026-12): `STARTED` while a session draws current,
    /// `SUSPENDED` while it does not, `INITIALIZE` with no car. `state_word` overrides it (a firmware
    /// word sunplug does not know).
    pub fn charging_state(&self) -> String {
        if let Some(w) = &self.state_word {
            return w.clone();
        }
        match (self.plugged, self.mode) {
            (false, _) => "INITIALIZE",
            (true, Mode::Paused) => "SUSPENDED",
            (true, _) if self.delivered() > 0.0 => "STARTED",
            (true, _) => "SUSPENDED",
        }
        .into()
    }
    /// Why a session is suspended (the MQTT payload's `status.current`): `SUSPENDED_EVSE_USER` when
    /// the station paused it, `SUSPENDED_EV` when the car takes nothing. Unconfirmed on the REST
    /// smart device (see `chargers::smappee::state_words`); served there as a `status` property.
    pub fn suspend_cause(&self) -> Option<&'static str> {
        match (self.plugged, self.mode) {
            (true, Mode::Paused) => Some("SUSPENDED_EVSE_USER"),
            (true, _) if self.delivered() <= 0.0 => Some("SUSPENDED_EV"),
            _ => None,
        }
    }
    /// The connector's mode as the station reports it (`chargingMode`).
    pub fn mode_word(&self) -> &'static str {
        match self.mode {
            Mode::Normal => "NORMAL",
            Mode::Smart => "SMART",
            Mode::Paused => "PAUSED",
        }
    }
    /// The limit as the smart device reports it.
    pub fn percentage_limit(&self) -> u32 {
        let span = self.max - self.min;
        match self.limit {
            None => 100,
            Some(Limit {
                unit: WireUnit::Percentage,
                value,
            }) => value.min(100),
            Some(Limit {
                unit: WireUnit::Ampere,
                value,
            }) => (((f64::from(value) - self.min) / span * 100.0).round()).clamp(0.0, 100.0) as u32,
        }
    }
}

/// One accepted mode write, and what every car draws per phase right after it.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRec {
    pub at: DateTime<Utc>,
    pub position: u8,
    pub mode: Mode,
    /// The current the connector offers after the write (0 when paused).
    pub offered_a: f64,
    /// Every car together, per phase (L1, L2, L3), right after the write.
    pub phase_a: [f64; 3],
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRec {
    pub id: i64,
    pub position: u8,
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// The whole emulated state.
#[derive(Debug)]
pub struct Model {
    pub cfg: EmulatorConfig,
    pub access: HashMap<String, DateTime<Utc>>,
    pub refresh: HashSet<String>,
    pub issued: u64,
    pub connectors: Vec<Connector>,
    pub sessions: Vec<SessionRec>,
    pub next_session: i64,
    /// Every accepted mode write, in order.
    pub writes: Vec<WriteRec>,
}

impl Model {
    pub fn new(cfg: EmulatorConfig) -> Model {
        let connectors = cfg
            .connectors
            .iter()
            .map(|&(position, min, max)| Connector {
                position,
                min,
                max,
                mode: Mode::Normal,
                limit: None,
                plugged: false,
                session: None,
                car_max: 32.0,
                ampere_error: 0.0,
                state_word: None,
                lines: vec![0, 1, 2],
            })
            .collect();
        Model {
            cfg,
            access: HashMap::new(),
            refresh: HashSet::new(),
            issued: 0,
            connectors,
            sessions: Vec::new(),
            next_session: 4001,
            writes: Vec::new(),
        }
    }

    /// Record an accepted write to `position`.
    pub fn log_write(&mut self, position: u8, at: DateTime<Utc>) {
        let Some(c) = self.connectors.iter().find(|c| c.position == position) else {
            return;
        };
        let offered_a = if c.mode == Mode::Paused {
            0.0
        } else {
            c.offered()
        };
        let rec = WriteRec {
            at,
            position,
            mode: c.mode,
            offered_a,
            phase_a: self.phase_currents(),
        };
        self.writes.push(rec);
    }

    pub fn connector_mut(&mut self, position: u8) -> Option<&mut Connector> {
        self.connectors.iter_mut().find(|c| c.position == position)
    }

    /// A new token pair, valid from `now`.
    pub fn issue(&mut self, now: DateTime<Utc>) -> Value {
        self.issued += 1;
        let n = self.issued;
        let access = format!("emu-at-{n:04}-{:08x}", n.wrapping_mul(0x9e37_79b9));
        let refresh = format!("emu-rt-{n:04}-{:08x}", n.wrapping_mul(0x85eb_ca6b));
        // Saturating: tests send absurd lifetimes (issue 12) and the emulator must outlive them.
        let life =
            chrono::Duration::try_seconds(i64::try_from(self.cfg.expires_in).unwrap_or(i64::MAX))
                .unwrap_or(chrono::Duration::MAX);
        let expires = now
            .checked_add_signed(life)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.access.insert(access.clone(), expires);
        self.refresh.insert(refresh.clone());
        json!({"access_token": access, "refresh_token": refresh, "expires_in": self.cfg.expires_in})
    }

    pub fn token_valid(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.access.get(token).is_some_and(|exp| now < *exp)
    }

    pub fn plug_in(&mut self, position: u8, now: DateTime<Utc>) {
        let id = self.next_session;
        let index = self.sessions.len();
        let Some(c) = self.connector_mut(position) else {
            return;
        };
        if c.plugged {
            return;
        }
        c.plugged = true;
        c.session = Some(index);
        // The quirk: a pause lasts only while the cable stays in.
        if c.mode == Mode::Paused {
            c.mode = Mode::Normal;
        }
        self.sessions.push(SessionRec {
            id,
            position,
            from: now,
            to: None,
        });
        self.next_session += 1;
    }

    pub fn unplug(&mut self, position: u8, now: DateTime<Utc>) {
        let Some(c) = self.connector_mut(position) else {
            return;
        };
        c.plugged = false;
        if let Some(i) = c.session.take() {
            self.sessions[i].to = Some(now);
        }
    }

    fn session_status(&self, s: &SessionRec) -> &'static str {
        if s.to.is_some() {
            return "STOPPED";
        }
        match self.connectors.iter().find(|c| c.position == s.position) {
            Some(c) if c.delivered() > 0.0 => "CHARGING",
            _ => "SUSPENDED",
        }
    }

    pub fn service_locations(&self) -> Value {
        json!({
            "appName": self.cfg.client_id,
            "serviceLocations": [{
                "serviceLocationId": self.cfg.location_id,
                "serviceLocationUuid": self.cfg.location_uuid,
                "name": self.cfg.location_name,
                "deviceSerialNumber": self.cfg.hub_serial,
            }]
        })
    }

    pub fn metering_configuration(&self) -> Value {
        let chargers: Vec<Value> = self
            .connectors
            .iter()
            .map(|c| {
                // The local realtime topic keys channels by `consumptionIndex` (Smappee's own
                // library, corrected 2026-12); `powerTopicIndex` belongs to the cloud `/power`
                // topic. They differ here so a client that mixes them up reads the wrong CTs.
                let channels: Vec<Value> = self
                    .channels_of(c.position)
                    .iter()
                    .enumerate()
                    .map(|(i, &idx)| json!({"name": format!("Car L{}", i + 1), "consumptionIndex": idx, "powerTopicIndex": idx + 10}))
                    .collect();
                // `chargers[].id` is not the smart device id here: clients find the smart device by
                // listing `/smartdevices` and matching `uuid` (smappee_ev); what `id` holds on a real
                // account is unconfirmed (a metering configuration dump next to a `/smartdevices`
                // list from the same account would confirm it).
                json!({"uuid": c.uuid(), "id": 7000 + u32::from(c.position), "position": c.position,
                       "name": format!("Connector {}", c.position), "minCurrent": c.min, "maxCurrent": c.max,
                       "channels": channels})
            })
            .collect();
        json!({
            "serviceLocationId": self.cfg.location_id,
            "serviceLocationUuid": self.cfg.location_uuid,
            "name": self.cfg.location_name,
            "timezone": "Europe/Brussels", "lon": 4.35, "lat": 50.85,
            "electricityCost": 0.3, "electricityCurrency": "EUR",
            "appliances": [], "actuators": [], "sensors": [],
            "measurements": [{"name": "Grid", "type": "GRID", "channels": [
                {"name": "L1", "consumptionIndex": 0, "powerTopicIndex": 0, "phase": "PHASE_A"},
                {"name": "L2", "consumptionIndex": 1, "powerTopicIndex": 1, "phase": "PHASE_B"},
                {"name": "L3", "consumptionIndex": 2, "powerTopicIndex": 2, "phase": "PHASE_C"}]}],
            "chargingStations": [{
                "serialNumber": self.cfg.station_serial, "id": self.cfg.location_id,
                "connectSerialNumber": self.cfg.hub_serial, "name": "EV Wall",
                "chargers": chargers,
            }]
        })
    }

    pub fn smart_device(&self, c: &Connector) -> Value {
        json!({
            "id": c.smart_device_id(), "uuid": c.uuid(), "name": format!("Connector {}", c.position),
            "type": {"category": "CARCHARGER", "name": "AC charging controller"},
            "properties": [
                {"spec": {"name": "chargingState", "species": "String"}, "value": c.charging_state()},
                {"spec": {"name": "chargingMode", "species": "String"}, "value": c.mode_word()},
                {"spec": {"name": "status", "species": "Object"}, "value": {"current": c.suspend_cause()}},
                {"spec": {"name": "percentageLimit", "species": "Integer"}, "value": c.percentage_limit()}
            ],
            "configurationProperties": [
                {"spec": {"name": "etc.smart.device.type.car.charger.config.min.current", "species": "Integer"},
                 "value": {"value": c.min}},
                {"spec": {"name": "etc.smart.device.type.car.charger.config.max.current", "species": "Integer"},
                 "value": {"value": c.max}}
            ],
            "actions": [{"name": "setChargingMode"}, {"name": "pauseCharging"}, {"name": "setPercentageLimit"}]
        })
    }

    /// Sessions started in `[from, to)`, active ones (not STOPPED) or completed ones.
    pub fn sessions(&self, from_ms: i64, to_ms: Option<i64>, active: bool) -> Value {
        let list: Vec<Value> = self
            .sessions
            .iter()
            .filter(|s| {
                let start = s.from.timestamp_millis();
                start >= from_ms && to_ms.is_none_or(|t| start < t) && (s.to.is_none() == active)
            })
            .map(|s| {
                let mut v = json!({
                    "id": s.id, "serialNumber": self.cfg.station_serial.parse::<i64>().ok(),
                    "authenticationType": "NONE", "from": s.from.timestamp_millis(),
                    "status": self.session_status(s),
                });
                if let Some(to) = s.to {
                    v["to"] = json!(to.timestamp_millis());
                }
                v
            })
            .collect();
        Value::Array(list)
    }

    /// The retained `channelConfigV2` (vendor-apis.md §3.6): the input channels and the measurements
    /// with their `publishIndex`, as pysmappee reads them. The exact nesting beyond
    /// `dataProcessingSpecification.measurements[].publishIndex` is unconfirmed (a retained message
    /// captured from a Genius would confirm it).
    pub fn channel_config_v2(&self) -> Value {
        let mut inputs: Vec<Value> = (0..3)
            .map(|i| json!({"ctInput": i, "name": format!("Grid L{}", i + 1), "inputChannelType": "PRODUCTION_CONSUMPTION", "inputChannelConnection": "GRID"}))
            .collect();
        let mut measurements: Vec<Value> = (0..3)
            .map(|i| json!({"name": format!("Grid L{}", i + 1), "flow": "CONSUMPTION", "connectionType": "GRID", "publishIndex": i}))
            .collect();
        for c in &self.connectors {
            for (i, &idx) in self.channels_of(c.position).iter().enumerate() {
                let name = format!("Car {} L{}", c.position, i + 1);
                inputs.push(json!({"ctInput": idx, "name": name, "inputChannelType": "CONSUMPTION", "inputChannelConnection": "SUBMETER"}));
                measurements.push(json!({"name": name, "flow": "CONSUMPTION", "connectionType": "SUBMETER", "publishIndex": idx}));
            }
        }
        json!({"inputChannels": inputs, "dataProcessingSpecification": {"phaseType": "THREE_PHASE_STAR", "measurements": measurements}})
    }

    /// The realtime channels of the connector at `position`.
    pub fn channels_of(&self, position: u8) -> &[u32] {
        if position == 1 {
            return &self.cfg.charger_channels;
        }
        self.cfg
            .other_channels
            .iter()
            .find(|(p, _)| *p == position)
            .map_or(&[], |(_, ch)| ch.as_slice())
    }

    /// The current every car draws together, per phase (L1, L2, L3).
    pub fn phase_currents(&self) -> [f64; 3] {
        let mut out = [0.0; 3];
        for c in &self.connectors {
            let a = c.delivered();
            for &l in &c.lines {
                if let Some(slot) = out.get_mut(l) {
                    *slot += a;
                }
            }
        }
        out
    }

    /// A local MQTT realtime payload: grid on channels 0..2 (the house plus every car on its
    /// phases), each connector's car on its channels (their `consumptionIndex`, which the monitor
    /// publishes as `publishIndex`).
    pub fn realtime(&self) -> Value {
        let v = self.cfg.voltage;
        let house_a = self.cfg.house_w / 3.0 / v;
        let cars = self.phase_currents();
        let mut channels: Vec<Value> = (0..3)
            .map(|i| {
                let a = house_a + cars[i];
                json!({"ctInput": i, "publishIndex": i, "power": (a * v).round(), "current": (a * 10.0).round(),
                       "phaseId": i, "importEnergy": 0, "exportEnergy": 0})
            })
            .collect();
        for c in &self.connectors {
            let car_a = c.delivered();
            for (k, &idx) in self.channels_of(c.position).iter().enumerate() {
                // A 1-phase car shows on its first CT only.
                let a = if c.lines.len() == 3 || k == 0 {
                    car_a
                } else {
                    0.0
                };
                channels.push(
                    json!({"ctInput": idx, "publishIndex": idx, "power": (a * v).round(),
                                     "current": (a * 10.0).round(), "phaseId": k % 3,
                                     "importEnergy": 0, "exportEnergy": 0}),
                );
            }
        }
        let total_cars: f64 = cars.iter().sum::<f64>() * v;
        json!({
            "totalPower": (self.cfg.house_w + total_cars).round(),
            "totalReactivePower": 0, "totalImportEnergy": 0, "totalExportEnergy": 0,
            "voltages": [{"voltage": v}, {"voltage": v}, {"voltage": v}],
            "channelPowers": channels,
        })
    }
}

/// Validate a mode body as the API does. `Ok((mode, limit))` or the 400 message.
pub fn parse_mode_body(body: &[u8], max: f64) -> Result<(Mode, Option<Limit>), String> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "Malformed JSON body".to_string())?;
    let mode = match v.get("mode").and_then(Value::as_str) {
        Some("NORMAL") => Mode::Normal,
        Some("SMART") => Mode::Smart,
        Some("PAUSED") => Mode::Paused,
        other => {
            return Err(format!(
                "Invalid mode {other:?}: expected NORMAL, SMART or PAUSED"
            ));
        }
    };
    let limit = match v.get("limit") {
        None | Some(Value::Null) => None,
        Some(_) if mode != Mode::Normal => {
            return Err("A limit is only allowed with mode NORMAL".into());
        }
        Some(l) => {
            let value = l
                .get("value")
                .and_then(Value::as_f64)
                .ok_or("Limit value missing")?;
            let (unit, top) = match l.get("unit").and_then(Value::as_str) {
                Some("PERCENTAGE") => (WireUnit::Percentage, 100.0),
                Some("AMPERE") => (WireUnit::Ampere, max),
                other => {
                    return Err(format!(
                        "Invalid limit unit {other:?}: expected PERCENTAGE or AMPERE"
                    ));
                }
            };
            if value.fract() != 0.0 {
                return Err(format!("Limit value {value} must be a whole number"));
            }
            if !(0.0..=top).contains(&value) {
                return Err(format!("Limit value {value} out of range 0..{top}"));
            }
            Some(Limit {
                unit,
                value: value as u32,
            })
        }
    };
    Ok((mode, limit))
}
