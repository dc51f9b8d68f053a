//! Tests of `wire.rs` on the seed-002 payload and its variations.

use super::*;

const SEED_002: &str =
    include_str!("../../../../tests/fixtures/cariad_selectivestatus_seed002.json");

#[test]
fn seed_002_parses_job_by_job() {
    let s: SelectiveStatus = serde_json::from_str(SEED_002).unwrap();
    let Some(Part::Ok(c)) = s.charging else {
        panic!("charging job")
    };
    let b = c.battery_status.unwrap().value.unwrap();
    assert_eq!(b.current_soc_pct, Some(63.0));
    assert_eq!(b.cruising_range_electric_km, Some(320.0));
    assert_eq!(
        b.captured.unwrap().to_rfc3339(),
        "2023-11-02T11:33:10+00:00"
    );
    let cs = c.charging_status.unwrap().value.unwrap();
    assert_eq!(cs.charging_state.as_deref(), Some("notReadyForCharging"));
    assert_eq!(cs.charge_type.as_deref(), Some("invalid"));
    assert_eq!(
        c.charging_settings.unwrap().value.unwrap().target_soc_pct,
        Some(100.0)
    );
    let p = c.plug_status.unwrap().value.unwrap();
    assert_eq!(p.plug_connection_state.as_deref(), Some("disconnected"));
    assert_eq!(p.plug_lock_state.as_deref(), Some("unlocked"));
    let Some(Part::Ok(m)) = s.measurements else {
        panic!("measurements job")
    };
    assert_eq!(
        m.odometer_status.unwrap().value.unwrap().odometer,
        Some(12357.0)
    );
    let Some(Part::Ok(r)) = s.readiness else {
        panic!("readiness job")
    };
    let cs = r
        .readiness_status
        .unwrap()
        .value
        .unwrap()
        .connection_state
        .unwrap();
    assert_eq!(cs.is_online, Some(true));
    let Some(Part::Ok(f)) = s.fuel_status else {
        panic!("fuelStatus job")
    };
    assert_eq!(
        f.range_status
            .unwrap()
            .value
            .unwrap()
            .primary_engine
            .unwrap()
            .current_soc_pct,
        Some(63.0)
    );
}

#[test]
fn a_failed_status_and_a_malformed_job_stay_local() {
    let body = r#"{
      "charging": {"batteryStatus": {"value": {"currentSOC_pct": 70}},
                   "plugStatus": {"error": {"message": "Bad Gateway", "code": 4111, "group": 2, "retry": true}}},
      "measurements": "garbage",
      "fuelStatus": {"rangeStatus": {"value": {"primaryEngine": {"currentSOC_pct": "many"}}}}
    }"#;
    let s: SelectiveStatus = serde_json::from_str(body).unwrap();
    let Some(Part::Ok(c)) = s.charging else {
        panic!()
    };
    assert_eq!(
        c.battery_status.unwrap().value.unwrap().current_soc_pct,
        Some(70.0)
    );
    let plug = c.plug_status.unwrap();
    assert!(plug.value.is_none());
    assert_eq!(plug.error.unwrap().describe(), "Bad Gateway (code 4111)");
    assert!(matches!(s.measurements, Some(Part::Unreadable(_))));
    let Some(Part::Ok(f)) = s.fuel_status else {
        panic!()
    };
    assert!(
        f.range_status
            .unwrap()
            .error
            .unwrap()
            .describe()
            .starts_with("unreadable")
    );
}
