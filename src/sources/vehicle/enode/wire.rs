//! Enode API payloads, exactly as sent (API version 2024-10-01, vendor-apis.md §1.4–1.8).
//!
//! Every field the spec marks nullable is an `Option`, and so is every field a real answer has been
//! seen to leave out (seed 001 has no `isPluggedIn`). Unknown fields are ignored: Enode adds fields.
//! Enum-like strings stay strings here; `map.rs` and [`ActionState::parse`] interpret them, so a value
//! Enode adds later never fails a whole payload.

use crate::sources::vehicle::timestamps::lenient_time;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `POST {oauth}/oauth2/token` answer (client credentials).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: SecretString,
    /// Seconds; the docs' example says 3599.
    pub expires_in: Option<f64>,
    pub token_type: Option<String>,
}

/// `GET /vehicles/{id}`, and each element of the vehicle lists.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Vehicle {
    pub id: String,
    pub user_id: Option<String>,
    pub vendor: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_seen: Option<DateTime<Utc>>,
    /// `false`/`null`: Enode cannot reach the car now, updates are delayed.
    pub is_reachable: Option<bool>,
    pub information: Option<Information>,
    pub charge_state: Option<ChargeState>,
    pub smart_charging_policy: Option<SmartChargingPolicy>,
    pub odometer: Option<Odometer>,
    pub capabilities: Option<Capabilities>,
    pub scopes: Option<Vec<String>>,
    pub location: Option<Location>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Information {
    pub vin: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub year: Option<i32>,
    pub display_name: Option<String>,
}

/// `chargeState`: all nullable. `lastUpdated` dates every value in it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChargeState {
    /// Percent.
    pub battery_level: Option<f64>,
    /// Kilometres.
    pub range: Option<f64>,
    pub is_plugged_in: Option<bool>,
    pub is_charging: Option<bool>,
    pub is_fully_charged: Option<bool>,
    /// kWh, usable.
    pub battery_capacity: Option<f64>,
    /// Percent; `null` = the vendor does not report it.
    pub charge_limit: Option<f64>,
    /// kW, only while charging.
    pub charge_rate: Option<f64>,
    /// Minutes, only while charging.
    pub charge_time_remaining: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_updated: Option<DateTime<Utc>>,
    /// Amperes.
    pub max_current: Option<f64>,
    pub power_delivery_state: Option<String>,
    pub plugged_in_charger_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmartChargingPolicy {
    pub is_enabled: Option<bool>,
    pub deadline: Option<String>,
    pub minimum_charge_limit: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Odometer {
    /// Kilometres.
    pub distance: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Location {
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    #[serde(deserialize_with = "lenient_time")]
    pub last_updated: Option<DateTime<Utc>>,
    /// The user's Enode Location the car is at (within ~200 m), if any.
    pub id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capabilities {
    pub information: Option<Capability>,
    pub charge_state: Option<Capability>,
    pub location: Option<Capability>,
    pub odometer: Option<Capability>,
    pub set_max_current: Option<Capability>,
    pub start_charging: Option<Capability>,
    pub stop_charging: Option<Capability>,
    pub smart_charging: Option<Capability>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capability {
    pub is_capable: Option<bool>,
    pub intervention_ids: Option<Vec<String>>,
}

/// A page of a list endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pagination {
    pub after: Option<String>,
    pub before: Option<String>,
}

/// `POST /users/{userId}/link` body. `scopes`, `language` and `redirectUri` are required by the spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinkRequest {
    pub vendor_type: String,
    pub scopes: Vec<String>,
    pub language: String,
    pub redirect_uri: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vendor: Option<String>,
}

/// `POST /users/{userId}/link` answer. The token is for the SDK flow and is single use; it is not
/// printed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkResponse {
    pub link_url: String,
    pub link_token: Option<SecretString>,
}

/// `POST /vehicles/{id}/charging` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChargingRequest {
    /// "START" or "STOP".
    pub action: String,
}

/// A charge action (`POST /vehicles/{id}/charging`, `GET /vehicles/actions/{id}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChargeAction {
    pub id: String,
    pub user_id: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient_time")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient_time")]
    pub completed_at: Option<DateTime<Utc>>,
    pub state: String,
    pub target_id: Option<String>,
    pub target_type: Option<String>,
    /// "START" or "STOP".
    pub kind: Option<String>,
    pub failure_reason: Option<FailureReason>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FailureReason {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub detail: Option<String>,
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionState {
    /// Enode is still sending or watching.
    Pending,
    /// The target state was reached.
    Confirmed,
    /// Enode gave up.
    Failed,
    /// A precondition was not met in time, or a newer action replaced it.
    Cancelled,
    /// A state this version does not know: treated as still pending, bounded by the caller's timeout.
    Unknown,
}

impl ActionState {
    pub fn parse(s: &str) -> ActionState {
        match s {
            "PENDING" => ActionState::Pending,
            "CONFIRMED" => ActionState::Confirmed,
            "FAILED" => ActionState::Failed,
            "CANCELLED" => ActionState::Cancelled,
            _ => ActionState::Unknown,
        }
    }
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ActionState::Confirmed | ActionState::Failed | ActionState::Cancelled
        )
    }
}

/// An RFC 7807 problem, Enode's error body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_001: &str = include_str!("../../../../tests/fixtures/enode_vehicle_seed001.json");

    #[test]
    fn seed_001_vehicle_parses_as_sent() {
        let v: Vehicle = serde_json::from_str(SEED_001).unwrap();
        assert_eq!(v.id, "05ee9df5-d072-4ee8-b773-399dec8f5693");
        assert_eq!(v.vendor.as_deref(), Some("TESLA"));
        assert_eq!(v.is_reachable, Some(true));
        let info = v.information.unwrap();
        assert_eq!(info.vin.as_deref(), Some("2HGFB2F5XEH542858"));
        assert_eq!(info.model.as_deref(), Some("Model S P85"));
        assert_eq!(info.year, Some(2020));
        let cs = v.charge_state.unwrap();
        assert_eq!(cs.battery_level, Some(66.0));
        assert_eq!(cs.range, Some(228.0));
        assert_eq!(cs.battery_capacity, Some(48.1));
        assert_eq!(cs.charge_rate, Some(2.3));
        assert_eq!(cs.charge_time_remaining, Some(285.0));
        assert_eq!(cs.max_current, Some(16.0));
        assert_eq!(
            cs.power_delivery_state.as_deref(),
            Some("PLUGGED_IN:CHARGING")
        );
        assert_eq!(
            cs.plugged_in_charger_id.as_deref(),
            Some("07f8368d-be7e-4dbd-8cf0-94d00dd67ad3")
        );
        assert_eq!(
            cs.last_updated.unwrap().to_rfc3339(),
            "2020-04-07T17:04:26+00:00"
        );
        assert_eq!(cs.is_plugged_in, None, "the seed leaves it out");
        let caps = v.capabilities.unwrap();
        assert_eq!(caps.start_charging.unwrap().is_capable, Some(true));
        assert_eq!(caps.odometer.unwrap().intervention_ids.unwrap().len(), 1);
        assert!(v.location.is_none());
    }

    #[test]
    fn nulls_everywhere_still_parse() {
        let v: Vehicle = serde_json::from_str(
            r#"{"id":"x","isReachable":null,"information":null,"chargeState":{"batteryLevel":null,
            "lastUpdated":null,"powerDeliveryState":"SOMETHING_NEW"},"location":{"latitude":null},
            "scopes":null,"newField":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(
            v.charge_state.unwrap().power_delivery_state.as_deref(),
            Some("SOMETHING_NEW")
        );
    }

    #[test]
    fn action_states() {
        assert!(ActionState::parse("CONFIRMED").is_final());
        assert!(!ActionState::parse("PENDING").is_final());
        assert_eq!(ActionState::parse("PAUSED_BY_MOON"), ActionState::Unknown);
        let a: ChargeAction = serde_json::from_str(
            r#"{"id":"a1","state":"FAILED","kind":"START","failureReason":{"type":"NO_RESPONSE","detail":"no"}}"#,
        )
        .unwrap();
        assert_eq!(
            a.failure_reason.unwrap().kind.as_deref(),
            Some("NO_RESPONSE")
        );
    }
}
