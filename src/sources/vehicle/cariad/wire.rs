//! Cariad BFF payloads, exactly as sent (seed 002; vendor-apis.md §2.5).
//!
//! A `selectivestatus` answer (HTTP 200 or 207) has one object per job, each holding statuses of the
//! form `{"value": {...}}` or, when that part failed, `{"error": {...}}`. Every job and every status is
//! parsed on its own ([`Part`], [`Status`]), so one failed or malformed job never discards the others.
//! Field names keep the API's spelling (`currentSOC_pct`) through `rename`.

use crate::sources::vehicle::timestamps::lenient_time;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

/// The jobs sunplug asks for: never `all` (a wasteful payload, and not promised to keep working).
/// `plugStatus` and `chargingSettings` live inside `charging`.
pub const JOBS: &[&str] = &["charging", "measurements", "fuelStatus", "readiness"];

/// `POST {token_url}` answer to a refresh grant. `refresh_token` is the rotated one, when sent.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: SecretString,
    pub expires_in: Option<f64>,
    pub refresh_token: Option<SecretString>,
}

/// An OAuth error body (`{"error": "invalid_grant", "error_description": ...}`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OAuthError {
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The jobs of one `selectivestatus` answer that sunplug reads; the others are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SelectiveStatus {
    pub charging: Option<Part<ChargingJob>>,
    pub measurements: Option<Part<MeasurementsJob>>,
    #[serde(rename = "fuelStatus")]
    pub fuel_status: Option<Part<FuelStatusJob>>,
    pub readiness: Option<Part<ReadinessJob>>,
}

/// A job (or anything) parsed on its own: its value, or why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Part<T> {
    Ok(T),
    Unreadable(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Part<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Part<T>, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(match serde_json::from_value(v) {
            Ok(t) => Part::Ok(t),
            Err(e) => Part::Unreadable(e.to_string()),
        })
    }
}

/// One status of a job: its value, or the error the BFF put in its place (or both missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Status<T> {
    pub value: Option<T>,
    pub error: Option<StatusError>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Status<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status<T>, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            value: Option<serde_json::Value>,
            error: Option<serde_json::Value>,
        }
        let raw = match serde_json::Value::deserialize(d)? {
            v @ serde_json::Value::Object(_) => {
                serde_json::from_value::<Raw>(v).map_err(serde::de::Error::custom)?
            }
            other => {
                return Ok(Status::unreadable(format!(
                    "not an object: {}",
                    crate::vendor::excerpt(&other.to_string())
                )));
            }
        };
        let mut error = raw.error.map(|e| {
            serde_json::from_value(e).unwrap_or_else(|_| StatusError::unreadable("error object"))
        });
        let value = match raw.value {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => match serde_json::from_value(v) {
                Ok(t) => Some(t),
                Err(e) => {
                    error.get_or_insert_with(|| StatusError::unreadable(&e.to_string()));
                    None
                }
            },
        };
        Ok(Status { value, error })
    }
}

impl<T> Status<T> {
    fn unreadable(why: String) -> Status<T> {
        Status {
            value: None,
            error: Some(StatusError::unreadable(&why)),
        }
    }
}

/// The per-status error object (WeConnect-python `generic_status.py`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatusError {
    pub code: Option<i64>,
    pub message: Option<String>,
    pub group: Option<i64>,
    pub info: Option<String>,
    pub error_time_stamp: Option<String>,
    pub retry: Option<bool>,
}

impl StatusError {
    fn unreadable(why: &str) -> StatusError {
        StatusError {
            message: Some(format!("unreadable {why}")),
            ..StatusError::default()
        }
    }

    /// One line for notes and logs.
    pub fn describe(&self) -> String {
        let mut s = self.message.clone().unwrap_or_else(|| "error".into());
        if let Some(c) = self.code {
            s.push_str(&format!(" (code {c})"));
        }
        crate::vendor::excerpt(&s)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ChargingJob {
    pub battery_status: Option<Status<BatteryStatus>>,
    pub charging_status: Option<Status<ChargingStatus>>,
    pub charging_settings: Option<Status<ChargingSettings>>,
    pub plug_status: Option<Status<PlugStatus>>,
    pub charge_mode: Option<Status<ChargeMode>>,
    /// Set when the whole job failed.
    pub error: Option<StatusError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BatteryStatus {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "currentSOC_pct")]
    pub current_soc_pct: Option<f64>,
    /// 16383 (0x3FFF) is an error value, not a range.
    #[serde(rename = "cruisingRangeElectric_km")]
    pub cruising_range_electric_km: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChargingStatus {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "remainingChargingTimeToComplete_min")]
    pub remaining_min: Option<f64>,
    /// `off`, `readyForCharging`, `notReadyForCharging`, `conservation`, `charging`, `discharging`,
    /// `chargePurposeReachedAndNotConservationCharging`, `chargePurposeReachedAndConservation`, `error`,
    /// `unsupported`.
    #[serde(rename = "chargingState")]
    pub charging_state: Option<String>,
    #[serde(rename = "chargeMode")]
    pub charge_mode: Option<String>,
    #[serde(rename = "chargePower_kW")]
    pub charge_power_kw: Option<f64>,
    #[serde(rename = "chargeRate_kmph")]
    pub charge_rate_kmph: Option<f64>,
    #[serde(rename = "chargeType")]
    pub charge_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChargingSettings {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "targetSOC_pct")]
    pub target_soc_pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PlugStatus {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    /// `connected` or `disconnected`.
    pub plug_connection_state: Option<String>,
    pub plug_lock_state: Option<String>,
    pub external_power: Option<String>,
    pub led_color: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ChargeMode {
    pub preferred_charge_mode: Option<String>,
    pub available_charge_modes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MeasurementsJob {
    pub range_status: Option<Status<MeasuredRange>>,
    pub odometer_status: Option<Status<OdometerStatus>>,
    pub fuel_level_status: Option<Status<FuelLevelStatus>>,
    pub error: Option<StatusError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MeasuredRange {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "electricRange")]
    pub electric_range: Option<f64>,
    #[serde(rename = "totalRange_km")]
    pub total_range_km: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OdometerStatus {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    /// Kilometres; 2147483647 is a placeholder, not a distance.
    pub odometer: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FuelLevelStatus {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "currentSOC_pct")]
    pub current_soc_pct: Option<f64>,
    #[serde(rename = "primaryEngineType")]
    pub primary_engine_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FuelStatusJob {
    pub range_status: Option<Status<FuelRange>>,
    pub error: Option<StatusError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FuelRange {
    #[serde(rename = "carCapturedTimestamp", deserialize_with = "lenient_time")]
    pub captured: Option<DateTime<Utc>>,
    #[serde(rename = "carType")]
    pub car_type: Option<String>,
    #[serde(rename = "primaryEngine")]
    pub primary_engine: Option<Engine>,
    #[serde(rename = "totalRange_km")]
    pub total_range_km: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Engine {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "currentSOC_pct")]
    pub current_soc_pct: Option<f64>,
    #[serde(rename = "remainingRange_km")]
    pub remaining_range_km: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReadinessJob {
    pub readiness_status: Option<Status<Readiness>>,
    pub error: Option<StatusError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Readiness {
    pub connection_state: Option<ConnectionState>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConnectionState {
    pub is_online: Option<bool>,
    pub is_active: Option<bool>,
    pub battery_power_level: Option<String>,
    pub daily_power_budget_available: Option<bool>,
}

/// `GET .../parkingposition`: `{"data": {"lat", "lon", "carCapturedTimestamp"}}`; no body while driving.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ParkingPosition {
    pub data: Option<ParkingData>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ParkingData {
    #[serde(alias = "latitude")]
    pub lat: Option<f64>,
    #[serde(alias = "longitude")]
    pub lon: Option<f64>,
    #[serde(
        rename = "carCapturedTimestamp",
        default,
        deserialize_with = "lenient_time"
    )]
    pub captured: Option<DateTime<Utc>>,
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
