//! Tests of `map.rs` on the seed-002 payload and its variations.

use super::*;
use crate::sources::vehicle::state::Freshness;
use chrono::TimeZone;
use std::time::Duration;

const SEED_002: &str =
    include_str!("../../../../tests/fixtures/cariad_selectivestatus_seed002.json");
const VIN: &str = "WAUZZZF21NN000000";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 11, 2, 11, 40, 0).unwrap()
}

fn parse(body: &str) -> VehicleState {
    vehicle_state(&serde_json::from_str(body).unwrap(), VIN, now())
}

#[test]
fn seed_002_maps_to_the_expected_values() {
    let s = parse(SEED_002);
    let at = Some(Utc.with_ymd_and_hms(2023, 11, 2, 11, 33, 10).unwrap());
    assert_eq!(s.soc, Some(Observed::new(Soc::new(63.0).unwrap(), at)));
    assert_eq!(s.range_km, Some(Observed::new(320.0, at)));
    assert_eq!(s.plugged, Some(Observed::new(false, at)));
    assert_eq!(s.charging, Some(Observed::new(false, at)));
    assert_eq!(
        s.charge_limit,
        Some(Observed::new(Soc::new(100.0).unwrap(), at))
    );
    assert_eq!(s.charge_power, Some(Observed::new(Watts(0.0), at)));
    assert_eq!(
        s.power_delivery.as_ref().unwrap().value,
        PowerDelivery::Unplugged
    );
    assert_eq!(s.vendor_state.as_deref(), Some("notReadyForCharging"));
    let odo = s.odometer_km.clone().unwrap();
    assert_eq!(odo.value, 12357.0);
    assert_eq!(
        odo.at.unwrap().timestamp_millis(),
        Utc.with_ymd_and_hms(2023, 11, 2, 11, 33, 10)
            .unwrap()
            .timestamp_millis()
            + 241
    );
    assert_eq!(s.reachable, Some(true));
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    assert_eq!(
        s.freshness(now(), Duration::from_secs(600)),
        Freshness::Fresh
    );
}

#[test]
fn sentinels_are_unknown_not_data() {
    let body = SEED_002
        .replace(
            "\"cruisingRangeElectric_km\": 320",
            "\"cruisingRangeElectric_km\": 16383",
        )
        .replace("\"odometer\": 12357", "\"odometer\": 2147483647")
        .replace(
            "\"carCapturedTimestamp\": \"2023-11-02T11:33:10Z\",\n\"currentSOC_pct\"",
            "\"carCapturedTimestamp\": \"2000-01-01T00:00:00Z\",\n\"currentSOC_pct\"",
        );
    let s = parse(&body);
    assert_eq!(s.odometer_km, None);
    // The battery range is the error value: the measured electric range (320) takes its place.
    assert_eq!(s.range_km.as_ref().unwrap().value, 320.0);
    let soc = s.soc.unwrap();
    assert_eq!(soc.value, Soc::new(63.0).unwrap());
    assert_eq!(soc.at, None, "2000-01-01 is no capture time");
    assert!(s.notes.iter().any(|n| n.contains("16383")), "{:?}", s.notes);
    assert!(
        s.notes.iter().any(|n| n.contains("placeholder")),
        "{:?}",
        s.notes
    );
}

#[test]
fn one_failed_job_keeps_the_others() {
    let body = r#"{
      "charging": {"batteryStatus": {"value": {"carCapturedTimestamp": "2023-11-02T11:30:00Z", "currentSOC_pct": 71, "cruisingRangeElectric_km": 350}},
                   "plugStatus": {"value": {"carCapturedTimestamp": "2023-11-02T11:30:00Z", "plugConnectionState": "connected"}},
                   "chargingStatus": {"value": {"carCapturedTimestamp": "2023-11-02T11:30:00Z", "chargingState": "charging", "chargePower_kW": 7.2}}},
      "measurements": {"odometerStatus": {"error": {"message": "Bad Gateway", "code": 4111, "retry": true}}},
      "fuelStatus": {"error": {"message": "unsupported", "code": 2001}}
    }"#;
    let s = parse(body);
    assert_eq!(s.soc.unwrap().value, Soc::new(71.0).unwrap());
    assert!(s.plugged.unwrap().value);
    assert!(s.charging.unwrap().value);
    assert_eq!(s.charge_power.unwrap().value, Watts(7200.0));
    assert_eq!(s.power_delivery.unwrap().value, PowerDelivery::Charging);
    assert_eq!(s.odometer_km, None);
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("odometerStatus failed: Bad Gateway")),
        "{:?}",
        s.notes
    );
    assert!(
        s.notes.iter().any(|n| n.contains("job fuelStatus failed")),
        "{:?}",
        s.notes
    );
    assert!(
        s.notes.iter().any(|n| n.contains("job readiness missing")),
        "{:?}",
        s.notes
    );
    let parsed: wire::SelectiveStatus = serde_json::from_str(body).unwrap();
    assert_eq!(
        failed_jobs(&parsed),
        ["measurements", "fuelStatus", "readiness"]
    );
    assert!(failed_jobs(&serde_json::from_str(SEED_002).unwrap()).is_empty());
}

#[test]
fn soc_falls_back_to_fuel_status_when_charging_fails() {
    let body = r#"{"charging": {"error": {"message": "down"}},
      "fuelStatus": {"rangeStatus": {"value": {"carCapturedTimestamp": "2023-11-02T11:20:00Z",
         "primaryEngine": {"type": "electric", "currentSOC_pct": 55, "remainingRange_km": 280}}}}}"#;
    let s = parse(body);
    assert_eq!(s.soc.unwrap().value, Soc::new(55.0).unwrap());
    assert_eq!(s.range_km.unwrap().value, 280.0);
    assert!(s.plugged.is_none() && s.charging.is_none());
}

#[test]
fn miles_are_detected_against_the_measured_range() {
    let body = r#"{"charging": {"batteryStatus": {"value": {"currentSOC_pct": 60, "cruisingRangeElectric_km": 199}}},
      "measurements": {"rangeStatus": {"value": {"electricRange": 320}}}}"#;
    assert_eq!(parse(body).range_km.unwrap().value, 320.0);
}

#[test]
fn charging_states_map_with_the_plug() {
    assert_eq!(
        power_delivery("readyForCharging", Some(true)),
        PowerDelivery::Stopped
    );
    assert_eq!(power_delivery("off", Some(false)), PowerDelivery::Unplugged);
    assert_eq!(
        power_delivery("chargePurposeReachedAndConservation", Some(true)),
        PowerDelivery::Complete
    );
    assert_eq!(power_delivery("error", Some(true)), PowerDelivery::Fault);
    assert_eq!(power_delivery("somethingNew", None), PowerDelivery::Unknown);
    assert_eq!(
        power_delivery("readyForCharging", None),
        PowerDelivery::Unknown
    );
}
