//! Enode vehicle → [`VehicleState`]: a pure function, tested on the seed's payload.
//!
//! `chargeState.lastUpdated` dates every charge value (SoC, range, plug, charging, limit, rate):
//! it is the car's data age, and a missing one makes those values "unknown age", never "now".
//! `isPluggedIn`/`isCharging` are used when sent; otherwise they are read from `powerDeliveryState`
//! (seed 001 sends only the latter). A null is never read as zero or false.

use super::wire;
use crate::sources::vehicle::state::{
    Capabilities, Location, Observed, PowerDelivery, VehicleInfo, VehicleState, VehicleWarning,
};
use crate::sources::vehicle::timestamps::captured_noted;
use crate::units::{Amps, Soc, Watts};
use chrono::{DateTime, Utc};

/// Map one vehicle as received at `fetched_at`.
pub fn vehicle_state(v: &wire::Vehicle, fetched_at: DateTime<Utc>) -> VehicleState {
    let mut s = VehicleState::empty("enode", fetched_at);
    let notes = &mut s.notes;
    s.reachable = v.is_reachable;
    if v.is_reachable != Some(true) {
        notes.push("Enode cannot reach the car right now: its data may be late".into());
    }
    if v.smart_charging_policy.as_ref().and_then(|p| p.is_enabled) == Some(true) {
        s.warning = Some(VehicleWarning::EnodeSmartCharging);
    }
    if let Some(cs) = &v.charge_state {
        let at = captured_noted(cs.last_updated, fetched_at, "chargeState", notes);
        if cs.last_updated.is_none() {
            notes.push("chargeState has no lastUpdated: its age is unknown".into());
        }
        s.soc = cs
            .battery_level
            .and_then(|p| percent(p, "batteryLevel", notes))
            .map(|v| Observed::new(v, at));
        s.range_km = cs
            .range
            .filter(|r| r.is_finite() && *r >= 0.0)
            .map(|v| Observed::new(v, at));
        s.charge_limit = cs
            .charge_limit
            .and_then(|p| percent(p, "chargeLimit", notes))
            .map(|v| Observed::new(v, at));
        let pd = cs
            .power_delivery_state
            .as_deref()
            .map(|raw| (raw, PowerDelivery::from_enode(raw)));
        let pd_plugged = pd.and_then(|(raw, p)| {
            p.plugged()
                .or_else(|| raw.starts_with("PLUGGED_IN:").then_some(true))
        });
        let plugged = cs.is_plugged_in.or(pd_plugged);
        let charging = cs.is_charging.or(pd.and_then(|(_, p)| p.charging()));
        s.plugged = plugged.map(|v| Observed::new(v, at));
        s.charging = charging.map(|v| Observed::new(v, at));
        if let Some((raw, p)) = pd {
            s.power_delivery = Some(Observed::new(p, at));
            s.vendor_state = Some(raw.to_string());
            if p == PowerDelivery::Unknown && raw != "UNKNOWN" {
                notes.push(format!(
                    "powerDeliveryState \"{raw}\" is new to sunplug: read as unknown"
                ));
            }
        }
        s.charge_power = cs
            .charge_rate
            .filter(|r| r.is_finite() && *r >= 0.0)
            .map(|kw| Observed::new(Watts::from_kw(kw), at));
        s.battery_capacity_kwh = cs.battery_capacity.filter(|c| c.is_finite() && *c > 0.0);
        s.max_current = cs
            .max_current
            .filter(|a| a.is_finite() && *a > 0.0)
            .map(Amps);
        s.plugged_in_charger_id = cs.plugged_in_charger_id.clone();
    }
    if let Some(loc) = &v.location
        && let (Some(lat), Some(lon)) = (loc.latitude, loc.longitude)
    {
        match Location::new(lat, lon) {
            Some(mut l) => {
                l.place_id = loc.id.clone();
                let at = captured_noted(loc.last_updated, fetched_at, "location", notes);
                s.location = Some(Observed::new(l, at));
            }
            None => notes.push("location: coordinates not on Earth, ignored".into()),
        }
    }
    if let Some(o) = &v.odometer
        && let Some(d) = o.distance.filter(|d| d.is_finite() && *d >= 0.0)
    {
        let at = captured_noted(o.last_updated, fetched_at, "odometer", notes);
        s.odometer_km = Some(Observed::new(d, at));
    }
    let cap = |c: &Option<wire::Capability>| c.as_ref().and_then(|c| c.is_capable);
    if let Some(c) = &v.capabilities {
        s.capabilities = Capabilities {
            start_charging: cap(&c.start_charging),
            stop_charging: cap(&c.stop_charging),
            location: cap(&c.location),
        };
    }
    let info = v.information.clone().unwrap_or_default();
    s.info = VehicleInfo {
        id: Some(v.id.clone()),
        vendor: v.vendor.clone(),
        brand: info.brand.or_else(|| v.vendor.clone()),
        model: info.model,
        year: info.year,
        vin: info.vin,
        display_name: info.display_name,
    };
    s
}

fn percent(p: f64, what: &str, notes: &mut Vec<String>) -> Option<Soc> {
    let soc = Soc::new(p);
    if soc.is_none() {
        notes.push(format!("{what} {p} is not a percentage, ignored"));
    }
    soc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::vehicle::state::Freshness;
    use chrono::TimeZone;
    use std::time::Duration;

    const SEED_001: &str = include_str!("../../../../tests/fixtures/enode_vehicle_seed001.json");

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn seed_001_maps_to_the_expected_values() {
        let v: wire::Vehicle = serde_json::from_str(SEED_001).unwrap();
        let s = vehicle_state(&v, now());
        let captured = Utc.with_ymd_and_hms(2020, 4, 7, 17, 4, 26).unwrap();
        assert_eq!(
            s.soc,
            Some(Observed::new(Soc::new(66.0).unwrap(), Some(captured)))
        );
        assert_eq!(s.range_km, Some(Observed::new(228.0, Some(captured))));
        assert_eq!(
            s.plugged.as_ref().map(|p| p.value),
            Some(true),
            "from PLUGGED_IN:CHARGING"
        );
        assert_eq!(s.charging.as_ref().map(|p| p.value), Some(true));
        assert_eq!(s.charge_limit, None, "not sent: unknown, not 100");
        assert_eq!(
            s.charge_power.as_ref().map(|p| p.value),
            Some(Watts(2300.0))
        );
        assert_eq!(
            s.power_delivery.as_ref().map(|p| p.value),
            Some(PowerDelivery::Charging)
        );
        assert_eq!(
            s.plugged_in_charger_id.as_deref(),
            Some("07f8368d-be7e-4dbd-8cf0-94d00dd67ad3")
        );
        assert_eq!(s.max_current, Some(Amps(16.0)));
        assert_eq!(s.battery_capacity_kwh, Some(48.1));
        assert_eq!(s.capabilities.start_charging, Some(true));
        assert_eq!(s.capabilities.location, Some(true));
        assert_eq!(s.info.vin.as_deref(), Some("2HGFB2F5XEH542858"));
        assert_eq!(s.info.brand.as_deref(), Some("TESLA"));
        assert_eq!(s.reachable, Some(true));
        // Captured in 2020: six years old at `now`, and said so.
        assert_eq!(
            s.freshness(now(), Duration::from_secs(6 * 3600)),
            Freshness::Stale
        );
        let obs = s.observation();
        assert_eq!(
            obs.soc.unwrap().at,
            captured,
            "the controller gets the car's time, not ours"
        );
    }

    #[test]
    fn explicit_flags_win_and_new_states_are_tolerated() {
        let v: wire::Vehicle = serde_json::from_str(
            r#"{"id":"v","chargeState":{"isPluggedIn":true,"isCharging":false,"batteryLevel":140,
            "powerDeliveryState":"PLUGGED_IN:WARP_DRIVE","lastUpdated":"2026-06-01T11:58:00Z"}}"#,
        )
        .unwrap();
        let s = vehicle_state(&v, now());
        assert!(s.plugged.unwrap().value);
        assert!(!s.charging.unwrap().value);
        assert_eq!(s.soc, None, "140 % is not a SoC");
        assert_eq!(s.power_delivery.unwrap().value, PowerDelivery::Unknown);
        assert!(
            s.notes.iter().any(|n| n.contains("WARP_DRIVE")),
            "{:?}",
            s.notes
        );
        assert!(s.notes.iter().any(|n| n.contains("140")), "{:?}", s.notes);
    }

    #[test]
    fn unknown_plugged_in_state_still_means_plugged() {
        let v: wire::Vehicle = serde_json::from_str(
            r#"{"id":"v","chargeState":{"powerDeliveryState":"PLUGGED_IN:NEWTHING"}}"#,
        )
        .unwrap();
        let s = vehicle_state(&v, now());
        assert!(s.plugged.unwrap().value);
        assert!(s.charging.is_none());
    }

    #[test]
    fn missing_last_updated_is_unknown_age_not_now() {
        let v: wire::Vehicle = serde_json::from_str(
            r#"{"id":"v","chargeState":{"batteryLevel":50,"lastUpdated":null}}"#,
        )
        .unwrap();
        let s = vehicle_state(&v, now());
        assert_eq!(s.soc.as_ref().unwrap().at, None);
        assert_eq!(s.freshness(now(), Duration::MAX), Freshness::UnknownAge);
        assert!(s.observation().soc.is_none());
    }

    #[test]
    fn location_keeps_its_own_time_and_place() {
        let v: wire::Vehicle = serde_json::from_str(
            r#"{"id":"v","location":{"latitude":50.85,"longitude":4.35,"lastUpdated":"2026-06-01T10:00:00Z","id":"home"}}"#,
        )
        .unwrap();
        let s = vehicle_state(&v, now());
        let l = s.location.unwrap();
        assert_eq!((l.value.latitude, l.value.longitude), (50.85, 4.35));
        assert_eq!(l.value.place_id.as_deref(), Some("home"));
        assert_eq!(
            l.at,
            Some(Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap())
        );
    }
}
