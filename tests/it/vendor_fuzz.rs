//! Fuzz-style property tests over the vendors' JSON (issue 12, defect 2): whatever a Smappee, Enode
//! or Cariad server answers — arbitrary bytes, or any JSON value shaped with the fields they use —
//! parsing and mapping it never panics.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;
use sunplug::chargers::smappee::{mapping, wire as smappee};
use sunplug::sources::vehicle::cariad::{map as cariad_map, wire as cariad};
use sunplug::sources::vehicle::enode::{map as enode_map, wire as enode};
use sunplug::units::{Amps, PercentScale};

/// The field names of the three vendors' wire types (snake_case; camelCase is derived).
const KEYS: &[&str] = &[
    "access_token",
    "action",
    "after",
    "app_name",
    "authentication_type",
    "available_charge_modes",
    "battery_capacity",
    "battery_level",
    "battery_power_level",
    "battery_status",
    "before",
    "brand",
    "capabilities",
    "captured",
    "carCapturedTimestamp",
    "carType",
    "car_type",
    "channels",
    "chargeMode",
    "chargePower_kW",
    "chargeRate_kmph",
    "chargeType",
    "charge_limit",
    "charge_mode",
    "charge_power_kw",
    "charge_rate",
    "charge_rate_kmph",
    "charge_state",
    "charge_time_remaining",
    "charge_type",
    "chargers",
    "charging",
    "chargingState",
    "charging_settings",
    "charging_state",
    "charging_stations",
    "charging_status",
    "code",
    "completed_at",
    "configuration_properties",
    "connect_serial_number",
    "connection_state",
    "consumption_index",
    "created_at",
    "cruisingRangeElectric_km",
    "cruising_range_electric_km",
    "currentSOC_pct",
    "current_soc_pct",
    "daily_power_budget_available",
    "data",
    "deadline",
    "detail",
    "device_serial_number",
    "display_name",
    "distance",
    "electricRange",
    "electric_range",
    "error",
    "error_description",
    "error_time_stamp",
    "expires_in",
    "external_power",
    "failure_reason",
    "from",
    "fuelStatus",
    "fuel_level_status",
    "fuel_status",
    "group",
    "id",
    "info",
    "information",
    "intervention_ids",
    "is_active",
    "is_capable",
    "is_charging",
    "is_enabled",
    "is_fully_charged",
    "is_online",
    "is_plugged_in",
    "is_reachable",
    "kind",
    "language",
    "last_seen",
    "last_updated",
    "lat",
    "latitude",
    "led_color",
    "limit",
    "link_token",
    "link_url",
    "location",
    "lon",
    "longitude",
    "max_current",
    "measurements",
    "message",
    "min_current",
    "minimum_charge_limit",
    "mode",
    "model",
    "name",
    "odometer",
    "odometer_status",
    "pagination",
    "phase",
    "plug_connection_state",
    "plug_lock_state",
    "plug_status",
    "plugged_in_charger_id",
    "position",
    "power_delivery_state",
    "power_topic_index",
    "preferred_charge_mode",
    "primaryEngine",
    "primaryEngineType",
    "primary_engine",
    "primary_engine_type",
    "properties",
    "range",
    "range_status",
    "readiness",
    "readiness_status",
    "redirect_uri",
    "refresh_token",
    "remainingChargingTimeToComplete_min",
    "remainingRange_km",
    "remaining_min",
    "remaining_range_km",
    "retry",
    "scopes",
    "serial_number",
    "service_location_id",
    "service_location_uuid",
    "service_locations",
    "set_max_current",
    "smart_charging",
    "smart_charging_policy",
    "smart_device_id",
    "spec",
    "species",
    "start_charging",
    "state",
    "status",
    "stop_charging",
    "targetSOC_pct",
    "target_id",
    "target_soc_pct",
    "target_type",
    "timezone",
    "title",
    "to",
    "token_type",
    "totalRange_km",
    "total_range_km",
    "type",
    "unit",
    "updated_at",
    "user_id",
    "uuid",
    "value",
    "vendor",
    "vendor_type",
    "vin",
    "year",
];

fn camel(k: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_string),
        prop::sample::select(KEYS).prop_map(camel),
        "[a-zA-Z_]{0,8}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            0.0,
            -1.0,
            1e13,
            1e300,
            -1e300,
            9.007e15,
            2_147_483_647.0,
            0.5
        ])
        .prop_map(Value::from),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop_oneof![
            ".{0,12}",
            Just("2026-06-01T12:00:00Z".to_string()),
            Just("2026-06-01T12:00:00.123+02:00".to_string()),
            Just("CHARGING".to_string()),
            Just("PAUSED".to_string()),
            Just("connected".to_string()),
            Just("-1".to_string()),
            Just("99999999999999999999".to_string()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Parse  as every vendor type and map what parses; panics are the failure.
fn exercise(bytes: &[u8]) {
    let at = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
    let scale = PercentScale::new(Amps(6.0), Amps(32.0));

    // Smappee.
    let _ = serde_json::from_slice::<smappee::TokenResponse>(bytes);
    let _ = serde_json::from_slice::<smappee::OAuthError>(bytes);
    let _ = serde_json::from_slice::<smappee::ServiceLocationList>(bytes);
    if let Ok(cfg) = serde_json::from_slice::<smappee::MeteringConfiguration>(bytes) {
        let _ = mapping::find_station(1, &cfg, "5010000001", 1);
        let _ = mapping::find_station(1, &cfg, "", 2);
    }
    let devices = serde_json::from_slice::<Vec<smappee::SmartDevice>>(bytes).ok();
    let one = serde_json::from_slice::<smappee::SmartDevice>(bytes).ok();
    let sessions = serde_json::from_slice::<smappee::Sessions>(bytes)
        .ok()
        .map(smappee::Sessions::into_vec);
    for d in devices.iter().flatten().chain(one.iter()) {
        let _ = mapping::device_range(d);
        for p in [d.property("chargingState"), d.config("max_current")]
            .into_iter()
            .flatten()
        {
            let _ = (p.number(), p.text(), p.scalar());
        }
        let _ = mapping::charger_state(at, Some(d), sessions.as_deref(), scale);
        let _ = mapping::charger_state(at, Some(d), None, None);
    }
    if let Some(ds) = &devices {
        let _ = mapping::smart_device_for(ds, Some("uuid"), Some("id"));
    }
    let _ = mapping::charger_state(at, None, sessions.as_deref(), scale);

    // Enode.
    let _ = serde_json::from_slice::<enode::TokenResponse>(bytes);
    let _ = serde_json::from_slice::<enode::Problem>(bytes);
    let _ = serde_json::from_slice::<enode::LinkResponse>(bytes);
    if let Ok(a) = serde_json::from_slice::<enode::ChargeAction>(bytes) {
        let _ = format!("{a:?}");
    }
    if let Ok(v) = serde_json::from_slice::<enode::Vehicle>(bytes) {
        let _ = enode_map::vehicle_state(&v, at);
    }
    if let Ok(p) = serde_json::from_slice::<enode::Page<enode::Vehicle>>(bytes) {
        for v in &p.data {
            let _ = enode_map::vehicle_state(v, at);
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        let _ = enode::ActionState::parse(s).is_final();
    }

    // Cariad.
    let _ = serde_json::from_slice::<cariad::TokenResponse>(bytes);
    let _ = serde_json::from_slice::<cariad::OAuthError>(bytes);
    if let Ok(s) = serde_json::from_slice::<cariad::SelectiveStatus>(bytes) {
        let _ = cariad_map::vehicle_state(&s, "WVWZZZ00000000000", at);
        let _ = cariad_map::failed_jobs(&s);
    }
}

/// Wrap a value where each vendor puts its payload, so the deep types are reached.
fn wrapped(v: &Value) -> Vec<Value> {
    vec![
        v.clone(),
        serde_json::json!({ "data": [v], "pagination": { "after": null, "before": null } }),
        serde_json::json!({ "charging": { "batteryStatus": { "value": v } } }),
        serde_json::json!({ "charging": { "chargingStatus": v, "plugStatus": v, "batteryStatus": v } }),
        serde_json::json!([v]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn vendor_parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn vendor_parsers_and_mappings_never_panic_on_arbitrary_json(v in json()) {
        for w in wrapped(&v) {
            exercise(&serde_json::to_vec(&w).unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    /// The Enode and Cariad token lifetime from any `expires_in` a server sends: no panic, at most a day.
    #[test]
    fn any_expires_in_gives_a_bounded_token_lifetime(e in prop_oneof![
        any::<f64>().prop_map(Some),
        Just(None),
        Just(Some(f64::MAX)),
        Just(Some(1e13)),
        Just(Some(f64::NAN)),
        Just(Some(-0.0)),
    ]) {
        let i = sunplug::sources::vehicle::http::Issued::new(secrecy::SecretString::from("t"), e);
        prop_assert!(i.lifetime <= std::time::Duration::from_secs(86_400));
    }
}
