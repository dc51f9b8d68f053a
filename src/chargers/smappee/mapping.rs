//! Pure mapping between Smappee's wire types and the crate's types. No I/O, no clock.
//!
//! Owns:
//! - [`resolution`] / [`mode_request`]: the station's limits as the actuator's resolution, and its
//!   request as the mode PUT body; [`charge_request`] / [`request_for`]: amps → the mode request
//!   (`AMPERE` whole amps, or
//!   `PERCENTAGE` through [`PercentScale`]), never below the floor (pause instead) nor above the max;
//! - [`Station`] and [`find_station`]: the connector to drive, found in the metering configuration
//!   (serial, position, smart device, current range, CT channels);
//! - [`check_station_limits`]: the config's current range against the station's;
//! - [`ChargerState`] and [`charger_state`]: the connector's smart device plus its active session,
//!   as the controller's [`ChargerObs`] and as `charger status` shows it.

use super::state_words::{self, ConnectorMode, StateWord, SuspendCause};
use super::wire::{
    CONFIG_MAX_CURRENT, CONFIG_MIN_CURRENT, MeteringConfiguration, ModeRequest, Property, Session,
    SmartDevice, WireUnit,
};
use crate::config::{ChargerLimits, LimitUnit};
use crate::control::actuate::{Request, Resolution};
use crate::control::{ChargerObs, Command, Reading};
use crate::units::{Amps, PercentScale, Phases, Watts};
use chrono::{DateTime, Utc};

/// The percentage scale of `limits`: 0 % = the floor, 100 % = the station's maximum.
pub fn scale(limits: &ChargerLimits) -> Option<PercentScale> {
    PercentScale::new(limits.floor, limits.station_max)
}

/// What the actuator may ask of a station with these limits (whole amps, or percentages of
/// `floor..station_max`).
pub fn resolution(limits: &ChargerLimits) -> Resolution {
    Resolution {
        floor: limits.floor,
        percent: match limits.unit {
            LimitUnit::Ampere => None,
            LimitUnit::Percentage => scale(limits),
        },
        max: Some(limits.max),
    }
}

/// The mode request body of the actuator's `request`.
pub fn mode_request(request: Request) -> ModeRequest {
    match request {
        Request::Pause => ModeRequest::PAUSED,
        Request::Ampere(a) => ModeRequest::normal(WireUnit::Ampere, a),
        Request::Percent(p) => ModeRequest::normal(WireUnit::Percentage, u32::from(p.min(100))),
    }
}

/// The request for a charging current, or `None` when it is below the floor (pause instead).
/// Above the max it is capped at the max. Rounded by the actuator's one rule
/// ([`Resolution::request`]: down to the step), so the car never gets more than asked.
pub fn charge_request(current: Amps, limits: &ChargerLimits) -> Option<ModeRequest> {
    if !current.is_finite() {
        return None;
    }
    let charge = Command::Charge {
        current: current.min(limits.max),
        phases: Phases::One,
    };
    match resolution(limits).request(charge) {
        Request::Pause => None,
        r => Some(mode_request(r)),
    }
}

/// The request for a controller command. A charge below the floor becomes `PAUSED`.
pub fn request_for(command: &Command, limits: &ChargerLimits) -> ModeRequest {
    mode_request(resolution(limits).request(*command))
}

/// The current a `NORMAL` request asks for (`None` for PAUSED, SMART or NORMAL without a limit).
pub fn requested_amps(request: &ModeRequest, limits: &ChargerLimits) -> Option<Amps> {
    let limit = request.limit?;
    match limit.unit {
        WireUnit::Ampere => Some(Amps(f64::from(limit.value))),
        WireUnit::Percentage => Some(scale(limits)?.amps(limit.value.min(100) as u8)),
    }
}

/// The connector sunplug drives, as found in the metering configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub location_id: i64,
    pub location_name: Option<String>,
    pub location_uuid: Option<String>,
    pub serial: String,
    pub position: u8,
    /// The connector's `uuid` in the metering configuration: how its smart device is found in the
    /// `/smartdevices` list (see [`smart_device_for`]).
    pub connector_uuid: Option<String>,
    /// The connector's smart device id: where its state is read. From the metering configuration
    /// (`chargers[].id`, the fallback) until discovery resolves it through the `/smartdevices` list.
    pub smart_device_id: Option<String>,
    pub min_current: Option<Amps>,
    pub max_current: Option<Amps>,
    /// The local realtime topic's `publishIndex` values of the connector's CTs: their
    /// `consumptionIndex` (not `powerTopicIndex`, which is the cloud `/power` topic's).
    pub channels: Vec<u32>,
    /// Every connector position of the station (one for a single station, 1 and 2 for a dual).
    pub positions: Vec<u8>,
}

/// The connector `position` of station `serial` in `cfg`, if it is there. A station with a single
/// connector that does not state its position is position 1.
pub fn find_station(
    location_id: i64,
    cfg: &MeteringConfiguration,
    serial: &str,
    position: u8,
) -> Option<Station> {
    let st = cfg
        .charging_stations
        .iter()
        .find(|s| s.serial_number.as_deref().map(str::trim) == Some(serial.trim()))?;
    let single = st.chargers.len() == 1;
    let c = st.chargers.iter().find(|c| {
        c.position == Some(position) || (c.position.is_none() && single && position == 1)
    });
    Some(Station {
        location_id,
        location_name: cfg.name.clone(),
        location_uuid: cfg.service_location_uuid.clone(),
        serial: serial.trim().to_string(),
        position,
        connector_uuid: c.and_then(|c| c.uuid.clone()),
        smart_device_id: c.and_then(|c| {
            c.id.clone()
                .or_else(|| c.smart_device_id.clone())
                .or_else(|| c.uuid.clone())
        }),
        min_current: c.and_then(|c| c.min_current).map(Amps),
        max_current: c.and_then(|c| c.max_current).map(Amps),
        channels: c
            .map(|c| {
                c.channels
                    .iter()
                    .filter_map(|ch| ch.consumption_index)
                    .collect()
            })
            .unwrap_or_default(),
        positions: if single {
            vec![st.chargers[0].position.unwrap_or(1)]
        } else {
            st.chargers.iter().filter_map(|c| c.position).collect()
        },
    })
}

/// The connector's smart device in the `/smartdevices` list: the one whose `uuid` (or id) is the
/// metering configuration's `chargers[].uuid`; `fallback_id` (`chargers[].id`) only when no uuid
/// matches. This is how myny-git/smappee_ev finds it (vendor-apis.md §3.8 quirk 7). Unconfirmed: what
/// `chargers[].id` holds on a real account (the smart device id or another number); a metering
/// configuration dump next to the `/smartdevices` list of the same account would confirm it.
pub fn smart_device_for<'a>(
    devices: &'a [SmartDevice],
    uuid: Option<&str>,
    fallback_id: Option<&str>,
) -> Option<&'a SmartDevice> {
    let is = |d: &SmartDevice, want: &str| {
        let want = want.trim();
        d.uuid.as_deref().map(str::trim) == Some(want)
            || d.id.as_deref().map(str::trim) == Some(want)
    };
    uuid.and_then(|u| devices.iter().find(|d| is(d, u)))
        .or_else(|| fallback_id.and_then(|f| devices.iter().find(|d| is(d, f))))
}

/// The station's current range from its smart device configuration, where the metering
/// configuration did not carry it.
pub fn device_range(device: &SmartDevice) -> (Option<Amps>, Option<Amps>) {
    let get = |n| device.config(n).and_then(Property::number).map(Amps);
    (get(CONFIG_MIN_CURRENT), get(CONFIG_MAX_CURRENT))
}

/// Compare the config's range with the station's. `Err` when a command would deliver something other
/// than intended: in percentage mode 0 % and 100 % are the station's own minimum and maximum, so
/// `[charger] min_current_a` and `max_current_a` must equal them. `Ok(Some(max))` when the station's
/// maximum is below the configured cap (ampere mode): commands are capped there.
pub fn check_station_limits(
    limits: &ChargerLimits,
    min: Option<Amps>,
    max: Option<Amps>,
) -> Result<Option<Amps>, String> {
    let differs = |a: Amps, b: Amps| (a.0 - b.0).abs() > 0.05;
    if limits.unit == LimitUnit::Percentage {
        if let Some(m) = max.filter(|m| differs(*m, limits.station_max)) {
            return Err(format!(
                "the station's maximum is {m} but [charger] max_current_a is {}: in percentage mode \
                 100 % is the station's maximum, so every command would be off; set max_current_a = {} \
                 (use cable_a or [vehicle] max_current_a for a lower cap)",
                limits.station_max, m.0
            ));
        }
        if let Some(m) = min.filter(|m| differs(*m, limits.floor)) {
            return Err(format!(
                "the station's minimum is {m} but [charger] min_current_a is {}: in percentage mode 0 % \
                 is the station's minimum; set min_current_a = {}",
                limits.floor, m.0
            ));
        }
        return Ok(None);
    }
    Ok(max.filter(|m| m.0 + 1e-6 < limits.max.0))
}

/// The connector's state at one read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerState {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// A car is connected. `None`: unknown.
    pub plugged: Option<bool>,
    /// The car draws current, as the state words say (measured power outranks it in [`Self::obs`]).
    /// `None`: unknown (an unknown state word is never "not charging").
    pub charging: Option<bool>,
    pub paused: Option<bool>,
    /// The smart device's `chargingState`, as sent (e.g. `STARTED`, `SUSPENDED`, `INITIALIZE`).
    pub charging_state: Option<String>,
    /// `chargingState` parsed; `StateWord::Unknown` for a word sunplug does not know.
    pub state_word: Option<StateWord>,
    /// The connector's mode (`chargingMode`), where the smart device reports it.
    pub mode: Option<ConnectorMode>,
    /// The smart device's `percentageLimit`.
    pub percentage_limit: Option<u8>,
    /// The limit in amps: the confirmed `AMPERE` request, else the percentage through the scale.
    pub limit: Option<Amps>,
    /// The active session, if any.
    pub session: Option<ActiveSession>,
    /// The connector's configured range, as the station reports it.
    pub min_current: Option<Amps>,
    pub max_current: Option<Amps>,
    /// What the car draws, from Smappee's realtime channels.
    pub power: Option<Reading<Watts>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSession {
    pub id: Option<String>,
    pub status: Option<String>,
    pub started: Option<DateTime<Utc>>,
}

/// Above this measured power the car is charging (as in the simulator).
pub const DRAWING_W: f64 = 100.0;
/// A power reading older than this before the state read does not speak for it.
const POWER_MAX_LAG: chrono::Duration = chrono::Duration::seconds(120);

impl ChargerState {
    /// Whether the car draws current: the measured power when there is a recent reading, else what
    /// the state words say (issue 11: measured power first, the session status as the fallback).
    pub fn charging_now(&self) -> Option<bool> {
        match self.power {
            Some(p) if p.at + POWER_MAX_LAG >= self.at && p.value.0.is_finite() => {
                Some(p.value.0 > DRAWING_W)
            }
            _ => self.charging,
        }
    }

    /// The controller's view.
    pub fn obs(&self) -> ChargerObs {
        ChargerObs {
            plugged: self.plugged,
            charging: self.charging_now(),
            offered: if self.paused == Some(true) {
                Some(Amps::ZERO)
            } else {
                self.limit
            },
            paused: self.paused,
            power: self.power,
            max: self.max_current,
            session: self.session_id().map(session_tag),
        }
    }
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().and_then(|s| s.id.as_deref())
    }
}

/// A session id as the controller's tag: only equality matters.
fn session_tag(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

fn upper(s: Option<&str>) -> Option<String> {
    s.map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
}

/// Whether a session status means the car is still connected.
pub fn session_open(s: &Session) -> bool {
    !matches!(upper(s.status.as_deref()).as_deref(), Some("STOPPED"))
}

/// The suspension cause anywhere in the device's live properties: a text value, or the `current`
/// of an object (the MQTT payload's `status: {current: "SUSPENDED_EVSE_USER"}`). Where the REST
/// answer carries it is unconfirmed (see `state_words`).
fn suspend_cause(device: &SmartDevice) -> Option<SuspendCause> {
    device.properties.iter().find_map(|p| {
        let text = p
            .text()
            .or_else(|| p.value.get("current").and_then(|v| v.as_str()))?;
        SuspendCause::parse(text)
    })
}

/// Combine the connector's smart device (`None` when it could not be identified) and the station's
/// active sessions (`None` when the account cannot read them) into its state. `scale` turns
/// `percentageLimit` into amps. The device's words come first; the session's status speaks where
/// the device says nothing known.
pub fn charger_state(
    at: DateTime<Utc>,
    device: Option<&SmartDevice>,
    active_sessions: Option<&[Session]>,
    scale: Option<PercentScale>,
) -> ChargerState {
    let charging_state = device
        .and_then(|d| d.property("chargingState"))
        .and_then(Property::text)
        .map(str::to_string);
    let state_word = charging_state.as_deref().and_then(StateWord::parse);
    let mode = device
        .and_then(|d| d.property("chargingMode"))
        .and_then(Property::text)
        .and_then(ConnectorMode::parse);
    let cause = device.and_then(suspend_cause);
    let percentage_limit = device
        .and_then(|d| d.property("percentageLimit"))
        .and_then(Property::number)
        .filter(|p| (0.0..=100.0).contains(p))
        .map(|p| p.round() as u8);
    let session = active_sessions
        .unwrap_or_default()
        .iter()
        .filter(|s| session_open(s))
        .max_by_key(|s| s.from.unwrap_or(i64::MIN))
        .map(|s| ActiveSession {
            id: s.id.clone(),
            status: s.status.clone(),
            started: s.from.and_then(DateTime::from_timestamp_millis),
        });
    let session_word = session
        .as_ref()
        .and_then(|s| s.status.as_deref())
        .and_then(StateWord::parse);
    let dev = state_words::interpret(state_word.as_ref(), mode, cause);
    let from_session = state_words::interpret(session_word.as_ref(), None, None);
    let mut charging = dev.charging.or(from_session.charging);
    let plugged = if dev.plugged == Some(true) || charging == Some(true) {
        // A session state or a charging connector means a car, even if the session list lags.
        Some(true)
    } else {
        active_sessions.map(|_| session.is_some())
    };
    if plugged == Some(false) {
        // No car, no current.
        charging = Some(false);
    }
    let (min_current, max_current) = device.map(device_range).unwrap_or((None, None));
    ChargerState {
        at,
        plugged,
        charging,
        paused: dev.paused,
        charging_state,
        state_word,
        mode,
        percentage_limit,
        limit: percentage_limit.and_then(|p| scale.map(|s| s.amps(p))),
        session,
        min_current,
        max_current,
        power: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Phases;

    fn limits(unit: LimitUnit, max: f64) -> ChargerLimits {
        ChargerLimits {
            unit,
            floor: Amps(6.0),
            station_max: Amps(32.0),
            max: Amps(max),
        }
    }

    fn json(r: Option<ModeRequest>) -> String {
        r.map(|r| r.to_json()).unwrap_or_else(|| "pause".into())
    }

    #[test]
    fn percentage_edges_of_a_32_a_station() {
        let l = limits(LimitUnit::Percentage, 32.0);
        let pct = |a| json(charge_request(Amps(a), &l));
        assert_eq!(
            pct(6.0),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":0}}"#
        );
        assert_eq!(
            pct(8.6),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#
        );
        assert_eq!(
            pct(32.0),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":100}}"#
        );
        assert_eq!(pct(40.0), pct(32.0), "above max is capped");
        assert_eq!(pct(5.9), "pause", "below the floor there is no percentage");
    }

    #[test]
    fn percentage_is_capped_by_cable_or_car_below_the_station() {
        // Cable 20 A on a 32 A station: 100 % would be 32 A; 20 A is 53.8 % → 53 % = 19.78 A.
        let l = limits(LimitUnit::Percentage, 20.0);
        assert_eq!(
            json(charge_request(Amps(32.0), &l)),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":53}}"#
        );
        let got = requested_amps(&charge_request(Amps(32.0), &l).unwrap(), &l).unwrap();
        assert!(got.0 <= 20.0 && got.0 > 19.7, "{got}");
    }

    #[test]
    fn ampere_is_whole_amps_rounded_down_within_floor_and_max() {
        let l = limits(LimitUnit::Ampere, 16.0);
        let amp = |a| json(charge_request(Amps(a), &l));
        assert_eq!(
            amp(10.0),
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#
        );
        assert_eq!(amp(10.9), amp(10.0));
        assert_eq!(amp(9.9999999), amp(10.0), "float noise is not a step down");
        assert_eq!(
            amp(6.0),
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":6}}"#
        );
        assert_eq!(
            amp(25.0),
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":16}}"#
        );
        assert_eq!(amp(5.5), "pause");
        assert_eq!(amp(f64::NAN), "pause");
        let odd = ChargerLimits {
            floor: Amps(6.5),
            ..l
        };
        assert_eq!(
            json(charge_request(Amps(6.8), &odd)),
            "pause",
            "6 A whole is below a 6.5 A floor"
        );
    }

    #[test]
    fn commands_map_to_requests() {
        let l = limits(LimitUnit::Ampere, 32.0);
        assert_eq!(request_for(&Command::Pause, &l), ModeRequest::PAUSED);
        let c = Command::Charge {
            current: Amps(3.0),
            phases: Phases::Three,
        };
        assert_eq!(request_for(&c, &l), ModeRequest::PAUSED);
    }

    fn device(state: &str, pct: u32) -> SmartDevice {
        serde_json::from_value(serde_json::json!({"id": "CARCHARGER-299", "properties": [
            {"spec": {"name": "chargingState"}, "value": state},
            {"spec": {"name": "percentageLimit"}, "value": pct}]}))
        .unwrap()
    }

    fn session(id: &str, from: i64, status: &str) -> Session {
        serde_json::from_value(serde_json::json!({"id": id, "from": from, "status": status}))
            .unwrap()
    }

    #[test]
    fn state_from_device_and_sessions() {
        let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let scale = scale(&limits(LimitUnit::Percentage, 32.0));
        let sessions = [session("41", 1, "STOPPED"), session("42", 2, "STARTED")];
        let s = charger_state(at, Some(&device("STARTED", 10)), Some(&sessions), scale);
        assert_eq!(
            (s.plugged, s.charging, s.paused),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(
            s.session_id(),
            Some("42"),
            "the stopped session is not the active one"
        );
        assert!((s.obs().offered.unwrap().0 - 8.6).abs() < 1e-9);

        // A pause the way the station shows it: SUSPENDED with cause SUSPENDED_EVSE, or mode PAUSED.
        let mut d = device("SUSPENDED", 10);
        d.properties.push(
            serde_json::from_value(serde_json::json!(
                {"spec": {"name": "status"}, "value": {"current": "SUSPENDED_EVSE_USER"}}))
            .unwrap(),
        );
        let s = charger_state(at, Some(&d), Some(&sessions), scale);
        assert_eq!(
            (s.paused, s.charging, s.obs().offered),
            (Some(true), Some(false), Some(Amps::ZERO))
        );
        let mut d = device("started", 10);
        d.properties.push(
            serde_json::from_value(serde_json::json!(
                {"spec": {"name": "chargingMode"}, "value": "PAUSED"}))
            .unwrap(),
        );
        let s = charger_state(at, Some(&d), Some(&sessions), scale);
        assert_eq!((s.paused, s.charging), (Some(true), Some(false)));

        let s = charger_state(at, Some(&device("Initialize", 10)), Some(&[]), scale);
        assert_eq!(
            (s.plugged, s.charging, s.session),
            (Some(false), Some(false), None)
        );
        // An unknown word is unknown, not "not charging"...
        let s = charger_state(at, Some(&device("WARPING", 10)), None, scale);
        assert_eq!((s.plugged, s.charging, s.paused), (None, None, None));
        assert_eq!(s.state_word, Some(StateWord::Unknown("WARPING".into())));
        // ...and the session's status speaks for it.
        let s = charger_state(at, Some(&device("WARPING", 10)), Some(&sessions), scale);
        assert_eq!((s.plugged, s.charging), (Some(true), Some(true)));
        // Without sessions the plug state is unknown, unless a session runs.
        let s = charger_state(at, Some(&device("STOPPED", 10)), None, scale);
        assert_eq!((s.plugged, s.charging), (None, Some(false)));
        let s = charger_state(at, Some(&device("suspended", 10)), None, scale);
        assert_eq!(
            (s.plugged, s.charging, s.paused),
            (Some(true), Some(false), None),
            "case does not matter; no cause, no mode: the pause is unknown"
        );
        // Without a device the session's status speaks.
        let s = charger_state(at, None, Some(&sessions), scale);
        assert_eq!(
            (s.plugged, s.charging, s.paused, s.limit),
            (Some(true), Some(true), None, None)
        );
    }

    #[test]
    fn measured_power_outranks_the_words() {
        let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let mut s = charger_state(at, Some(&device("STOPPED", 10)), None, None);
        assert_eq!(s.obs().charging, Some(false));
        // STOPPED seen while a car charged (smappee_ev #143): the CTs know better.
        s.power = Some(Reading::new(Watts(4100.0), at));
        assert_eq!(s.obs().charging, Some(true));
        let mut s = charger_state(at, Some(&device("WARPING", 10)), None, None);
        s.power = Some(Reading::new(Watts(3.0), at));
        assert_eq!(s.obs().charging, Some(false));
        // A reading from long before the poll does not speak for it.
        s.power = Some(Reading::new(
            Watts(4100.0),
            at - chrono::Duration::minutes(10),
        ));
        assert_eq!(s.obs().charging, None);
    }

    #[test]
    fn the_smart_device_is_found_by_the_connector_uuid() {
        let dev = |id: &str, uuid: &str| -> SmartDevice {
            serde_json::from_value(serde_json::json!({"id": id, "uuid": uuid})).unwrap()
        };
        let list = [
            dev("CARCHARGER-300", "u-2"),
            dev("CARCHARGER-299", "u-1"),
            dev("7001", "u-9"),
        ];
        let id = |u, f| smart_device_for(&list, u, f).and_then(|d| d.id.clone());
        assert_eq!(
            id(Some("u-1"), Some("7001")).as_deref(),
            Some("CARCHARGER-299"),
            "uuid first"
        );
        assert_eq!(
            id(Some("u-x"), Some("7001")).as_deref(),
            Some("7001"),
            "id as the fallback"
        );
        assert_eq!(
            id(None, Some("CARCHARGER-300")).as_deref(),
            Some("CARCHARGER-300")
        );
        assert_eq!(id(Some("u-x"), None), None);
    }

    #[test]
    fn realtime_channels_are_the_consumption_indices() {
        let m: MeteringConfiguration = serde_json::from_str(
            r#"{"chargingStations":[{"serialNumber":"5010000123","chargers":[{"uuid":"c1","id":7001,"position":1,
               "channels":[{"consumptionIndex":4,"powerTopicIndex":14},{"consumptionIndex":5,"powerTopicIndex":15}]}]}]}"#,
        )
        .unwrap();
        let st = find_station(1, &m, "5010000123", 1).unwrap();
        assert_eq!(st.channels, [4, 5], "consumptionIndex, not powerTopicIndex");
        assert_eq!(st.connector_uuid.as_deref(), Some("c1"));
        assert_eq!(st.smart_device_id.as_deref(), Some("7001"));
    }

    #[test]
    fn percentage_mode_refuses_a_station_with_another_range() {
        let l = limits(LimitUnit::Percentage, 32.0);
        assert_eq!(
            check_station_limits(&l, Some(Amps(6.0)), Some(Amps(32.0))),
            Ok(None)
        );
        let e = check_station_limits(&l, Some(Amps(6.0)), Some(Amps(16.0))).unwrap_err();
        assert!(e.contains("max_current_a = 16"), "{e}");
        assert!(check_station_limits(&l, Some(Amps(8.0)), None).is_err());
        let a = limits(LimitUnit::Ampere, 32.0);
        assert_eq!(
            check_station_limits(&a, None, Some(Amps(16.0))),
            Ok(Some(Amps(16.0)))
        );
        assert_eq!(check_station_limits(&a, None, Some(Amps(40.0))), Ok(None));
    }
}
