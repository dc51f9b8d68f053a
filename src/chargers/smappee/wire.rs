//! Smappee API payloads exactly as they travel: the OAuth token answer, the service location list,
//! the metering configuration with its charging stations, smart devices (connector state and
//! configuration), charging sessions and the connector mode request.
//!
//! Owns the serde types only; no I/O and no interpretation (that is `mapping.rs`). Field names follow
//! the Smappee developer docs (DEVAPI pages) and the payloads in seed 003. Answers are parsed leniently:
//! unknown fields are ignored, identifiers and serials arrive as strings or numbers (the sessions page
//! shows `"serialNumber": 5820999999`, the service location list a string), and optional fields may be
//! missing or `null`. The request body ([`ModeRequest`]) is strict: it serialises to exactly what the
//! API documents.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `POST /dev/v1/oauth2/token`, for both the password and the refresh_token grant.
/// The `Debug` of the tokens is redacted by `secrecy`.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: SecretString,
    /// A new refresh token (Smappee rotates it on every refresh).
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Seconds. Seen as 36000 (the docs) and 86400 (seed 003): trust the field.
    #[serde(default)]
    pub expires_in: Option<f64>,
}

/// An OAuth error body, e.g. `{"error":"invalid_grant","error_description":"Invalid refresh token"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OAuthError {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// `GET /dev/v3/servicelocation`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLocationList {
    /// The API client id the token belongs to.
    #[serde(default)]
    pub app_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_locations: Vec<ServiceLocation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLocation {
    pub service_location_id: i64,
    #[serde(default)]
    pub service_location_uuid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The monitor or Connect hub's serial: **not** the charging station's (seed 003).
    #[serde(default, deserialize_with = "flex_string")]
    pub device_serial_number: Option<String>,
}

/// `GET /dev/v3/servicelocation/{id}/meteringconfiguration` (Infinity generation), abridged to what
/// sunplug reads. Appliances, actuators and sensors are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeteringConfiguration {
    #[serde(default)]
    pub service_location_id: Option<i64>,
    #[serde(default)]
    pub service_location_uuid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub measurements: Vec<Measurement>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub charging_stations: Vec<ChargingStation>,
}

/// A CT measurement (grid, production, a submeter), with its channels.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub channels: Vec<Channel>,
}

/// One CT channel: `consumptionIndex` for REST consumption calls, `powerTopicIndex` for the MQTT
/// power topics (the realtime topic's `publishIndex`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub consumption_index: Option<u32>,
    #[serde(default)]
    pub power_topic_index: Option<u32>,
    #[serde(default)]
    pub phase: Option<String>,
}

/// A charging station in the metering configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingStation {
    /// The station's serial: what the mode and sessions endpoints take.
    #[serde(default, deserialize_with = "flex_string")]
    pub serial_number: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub connect_serial_number: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// One entry per connector.
    #[serde(default, deserialize_with = "null_as_default")]
    pub chargers: Vec<StationConnector>,
}

/// A connector of a charging station.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StationConnector {
    #[serde(default)]
    pub uuid: Option<String>,
    /// The connector's smart device id (e.g. "CARCHARGER-299"); some answers call it `smartDeviceId`.
    #[serde(default, deserialize_with = "flex_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub smart_device_id: Option<String>,
    /// Facing the LED: right = 1, left = 2; single-connector stations use 1.
    #[serde(default)]
    pub position: Option<u8>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub serial_number: Option<String>,
    /// Configured current range, when the answer carries it (else read from the smart device).
    #[serde(default)]
    pub min_current: Option<f64>,
    #[serde(default)]
    pub max_current: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub channels: Vec<Channel>,
}

/// `GET /dev/v3/servicelocation/{id}/smartdevices/{smartDeviceId}`: a connector as a smart device.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmartDevice {
    #[serde(default, deserialize_with = "flex_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Live values: `chargingState`, `percentageLimit`, ...
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Vec<Property>,
    /// Settings: `etc.smart.device.type.car.charger.config.min.current`, `...max.current`, ...
    #[serde(default, deserialize_with = "null_as_default")]
    pub configuration_properties: Vec<Property>,
}

/// `{spec: {name, species}, value}`. The value is a scalar or `{"value": ...}` depending on the
/// firmware; [`Property::scalar`] unwraps both.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Property {
    pub spec: PropertySpec,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PropertySpec {
    pub name: String,
    #[serde(default)]
    pub species: Option<String>,
}

impl Property {
    /// The value, unwrapped from `{"value": x}` when nested.
    pub fn scalar(&self) -> &Value {
        match &self.value {
            Value::Object(m) => m.get("value").unwrap_or(&Value::Null),
            v => v,
        }
    }
    /// The value as a finite number (numbers and numeric strings).
    pub fn number(&self) -> Option<f64> {
        let n = match self.scalar() {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.filter(|x| x.is_finite())
    }
    pub fn text(&self) -> Option<&str> {
        self.scalar().as_str()
    }
}

impl SmartDevice {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.spec.name == name)
    }
    pub fn config(&self, name: &str) -> Option<&Property> {
        self.configuration_properties
            .iter()
            .find(|p| p.spec.name == name)
    }
}

/// Configuration property names of a car charger smart device.
pub const CONFIG_MIN_CURRENT: &str = "etc.smart.device.type.car.charger.config.min.current";
pub const CONFIG_MAX_CURRENT: &str = "etc.smart.device.type.car.charger.config.max.current";

/// `GET /dev/v3/chargingstations/{serial}/sessions?range=<fromMs>[,<toMs>]&active=<bool>`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[serde(default, deserialize_with = "flex_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "flex_string")]
    pub serial_number: Option<String>,
    #[serde(default)]
    pub authentication_type: Option<String>,
    /// Start and end, epoch milliseconds. `to` is absent while the session runs.
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
    pub to: Option<i64>,
    /// `INITIAL`, `STARTED`, `CHARGING`, `SUSPENDED`, `STOPPING` or `STOPPED`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The sessions answer: a list, or (as the docs' example shows) a single object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Sessions {
    Many(Vec<Session>),
    One(Session),
}

impl Sessions {
    pub fn into_vec(self) -> Vec<Session> {
        match self {
            Sessions::Many(v) => v,
            Sessions::One(s) => vec![s],
        }
    }
}

/// Connector modes of `PUT /dev/v3/chargingstations/{serial}/connectors/{position}/mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// Charge, with an optional limit.
    Normal,
    /// Smappee's own smart charging (schedules, solar) decides.
    Smart,
    /// The connector is disabled until set otherwise, or until the cable is unplugged.
    Paused,
}

/// The unit of a [`Limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WireUnit {
    /// 0..=100: 0 % is the minimum current (6 A), 100 % the connector's maximum.
    Percentage,
    /// Whole amps, 0..=the connector's maximum.
    Ampere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct Limit {
    pub unit: WireUnit,
    pub value: u32,
}

/// The mode request body. `limit` only with `NORMAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct ModeRequest {
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
}

impl ModeRequest {
    pub const PAUSED: ModeRequest = ModeRequest {
        mode: Mode::Paused,
        limit: None,
    };
    pub const SMART: ModeRequest = ModeRequest {
        mode: Mode::Smart,
        limit: None,
    };
    /// NORMAL without a limit: resume at the limit the station already has.
    pub const RESUME: ModeRequest = ModeRequest {
        mode: Mode::Normal,
        limit: None,
    };
    pub fn normal(unit: WireUnit, value: u32) -> ModeRequest {
        ModeRequest {
            mode: Mode::Normal,
            limit: Some(Limit { unit, value }),
        }
    }
    /// The JSON body, exactly as sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl std::fmt::Display for ModeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.mode, self.limit) {
            (Mode::Paused, _) => write!(f, "PAUSED"),
            (Mode::Smart, _) => write!(f, "SMART"),
            (Mode::Normal, None) => write!(f, "NORMAL"),
            (Mode::Normal, Some(l)) => match l.unit {
                WireUnit::Ampere => write!(f, "NORMAL at {} A", l.value),
                WireUnit::Percentage => write!(f, "NORMAL at {} %", l.value),
            },
        }
    }
}

/// A string or a number, as a string; `null` and absence are `None`.
fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

/// `null` as the type's default (an empty list).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn seed_token_answer_parses_and_hides_tokens() {
        // Seed 003, as printed there (values replaced).
        let t: TokenResponse = serde_json::from_str(
            r#"{"access_token":"SOME_VALID_ACCESS_TOKEN","refresh_token":"SOME_VALID_REFRESH_TOKEN","expires_in":86400}"#,
        )
        .unwrap();
        assert_eq!(t.access_token.expose_secret(), "SOME_VALID_ACCESS_TOKEN");
        assert_eq!(t.expires_in, Some(86400.0));
        let debug = format!("{t:?}");
        assert!(!debug.contains("SOME_VALID"), "{debug}");
    }

    #[test]
    fn seed_service_locations_parse() {
        // Seed 003's shape, with numbers where the seed had placeholders.
        let l: ServiceLocationList = serde_json::from_str(
            r#"{"appName":"my-client","serviceLocations":[{"serviceLocationId":12345,
               "serviceLocationUuid":"6eefadeb-5c08-47cd-87b6-9897acb9fb8f","name":"Home",
               "deviceSerialNumber":"5100000123"}]}"#,
        )
        .unwrap();
        assert_eq!(l.service_locations[0].service_location_id, 12345);
        assert_eq!(
            l.service_locations[0].device_serial_number.as_deref(),
            Some("5100000123")
        );
    }

    #[test]
    fn metering_configuration_with_stations_parses() {
        let m: MeteringConfiguration = serde_json::from_str(
            r#"{"serviceLocationId":123,"serviceLocationUuid":"6eefadeb","name":"My Place",
               "timezone":"Europe/Brussels","lon":0.0,"lat":0.0,"appliances":[],"sensors":null,
               "chargingStations":[{"serialNumber":5010000123,"id":123,"connectSerialNumber":"5100000123",
                 "chargers":[{"uuid":"c1","id":"CARCHARGER-299","position":1,"minCurrent":6,"maxCurrent":32,
                   "channels":[{"consumptionIndex":4,"powerTopicIndex":4}]}]}]}"#,
        )
        .unwrap();
        let st = &m.charging_stations[0];
        assert_eq!(
            st.serial_number.as_deref(),
            Some("5010000123"),
            "numeric serials become strings"
        );
        assert_eq!(st.chargers[0].position, Some(1));
        assert_eq!(st.chargers[0].max_current, Some(32.0));
    }

    #[test]
    fn smart_device_properties_scalar_or_nested() {
        let d: SmartDevice = serde_json::from_str(
            r#"{"id":"CARCHARGER-299","uuid":"c1","properties":[
                 {"spec":{"name":"chargingState","species":"String"},"value":"CHARGING"},
                 {"spec":{"name":"percentageLimit","species":"Integer"},"value":"40"}],
               "configurationProperties":[
                 {"spec":{"name":"etc.smart.device.type.car.charger.config.max.current","species":"Integer"},
                  "value":{"value":32,"unit":"A"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            d.property("chargingState").and_then(Property::text),
            Some("CHARGING")
        );
        assert_eq!(
            d.property("percentageLimit").and_then(Property::number),
            Some(40.0)
        );
        assert_eq!(
            d.config(CONFIG_MAX_CURRENT).and_then(Property::number),
            Some(32.0)
        );
    }

    #[test]
    fn sessions_as_list_or_single_object() {
        let one: Sessions = serde_json::from_str(
            r#"{"id":123,"serialNumber":5820999999,"authenticationType":"RFID","from":1635721200000,
               "to":1637190000000,"status":"STOPPED","range":100,"startReading":100.96}"#,
        )
        .unwrap();
        let v = one.into_vec();
        assert_eq!(v[0].id.as_deref(), Some("123"));
        assert_eq!(v[0].status.as_deref(), Some("STOPPED"));
        let many: Sessions =
            serde_json::from_str(r#"[{"id":"a","status":"CHARGING","from":1}]"#).unwrap();
        assert_eq!(many.into_vec().len(), 1);
    }

    #[test]
    fn mode_bodies_are_exact() {
        assert_eq!(
            ModeRequest::normal(WireUnit::Percentage, 75).to_json(),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":75}}"#
        );
        assert_eq!(
            ModeRequest::normal(WireUnit::Ampere, 10).to_json(),
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#
        );
        // Seed 003 prints "PAUSE"; the documented value is "PAUSED".
        assert_eq!(ModeRequest::PAUSED.to_json(), r#"{"mode":"PAUSED"}"#);
        assert_eq!(ModeRequest::SMART.to_json(), r#"{"mode":"SMART"}"#);
        assert_eq!(ModeRequest::RESUME.to_json(), r#"{"mode":"NORMAL"}"#);
        assert!(serde_json::from_str::<ModeRequest>(r#"{"mode":"PAUSE"}"#).is_err());
    }
}
