//! The emulated Enode vehicle: its state, and its rendering as `GET /vehicles/{id}` sends it.
//!
//! Owns: [`VehicleSim`] (what a test or the demo sets: SoC, plug, charging, location, data age...)
//! and [`Timing`]. The rendering starts from the seed-001 example payload
//! (`tests/fixtures/enode_vehicle_seed001.json`) and fills in the full shape of ENODE-SPEC
//! 2024-10-01, so the client sees what Enode sends, including the fields the seed leaves out.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// The seed-001 example vehicle, as served by default.
pub const SEED_VEHICLE: &str = include_str!("../../../tests/fixtures/enode_vehicle_seed001.json");

/// When the car's data was last updated, as Enode reports it in `lastUpdated`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timing {
    /// A fixed time (a car that stopped reporting: stale data).
    At(DateTime<Utc>),
    /// Enode's own refresh: the last multiple of 2 min (charging) or 7 min (otherwise) since start.
    Refreshing,
    /// `null`.
    Null,
}

/// One vehicle of the emulated client.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleSim {
    pub id: String,
    pub user_id: String,
    pub vendor: String,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub year: Option<i32>,
    pub vin: Option<String>,
    pub battery_level: Option<f64>,
    pub range_km: Option<f64>,
    pub battery_capacity_kwh: Option<f64>,
    pub plugged: bool,
    pub charging: bool,
    pub charge_limit: Option<f64>,
    pub charge_rate_kw: Option<f64>,
    pub max_current: Option<f64>,
    /// Sent as is when set (for values the client must tolerate); otherwise derived from plug and charge.
    pub power_delivery_override: Option<String>,
    pub charger_id: Option<String>,
    pub last_updated: Timing,
    pub location: Option<(f64, f64)>,
    pub location_id: Option<String>,
    pub location_updated: Timing,
    pub odometer_km: Option<f64>,
    pub is_reachable: Option<bool>,
    pub can_start: bool,
    pub can_stop: bool,
    /// An Enode smart-charging plan controls the car: charge actions answer 422.
    pub smart_charging: bool,
}

impl VehicleSim {
    /// The seed-001 vehicle (a Tesla paired with a charger, charging at 66 %).
    pub fn seed() -> VehicleSim {
        let v: Value = serde_json::from_str(SEED_VEHICLE).unwrap_or_default();
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        let f = |p: &str| v.pointer(p).and_then(Value::as_f64);
        let cap = |p: &str| v.pointer(p).and_then(Value::as_bool).unwrap_or(false);
        let pds = s("/chargeState/powerDeliveryState").unwrap_or_default();
        VehicleSim {
            id: s("/id").unwrap_or_default(),
            user_id: s("/userId").unwrap_or_default(),
            vendor: s("/vendor").unwrap_or_default(),
            brand: s("/vendor").map(|b| b[..1].to_uppercase() + b[1..].to_lowercase().as_str()),
            model: s("/information/model"),
            year: v
                .pointer("/information/year")
                .and_then(Value::as_i64)
                .map(|y| y as i32),
            vin: s("/information/vin"),
            battery_level: f("/chargeState/batteryLevel"),
            range_km: f("/chargeState/range"),
            battery_capacity_kwh: f("/chargeState/batteryCapacity"),
            plugged: pds.starts_with("PLUGGED_IN"),
            charging: pds == "PLUGGED_IN:CHARGING",
            charge_limit: Some(80.0),
            charge_rate_kw: f("/chargeState/chargeRate"),
            max_current: f("/chargeState/maxCurrent"),
            power_delivery_override: None,
            charger_id: s("/chargeState/pluggedInChargerId"),
            last_updated: Timing::Refreshing,
            location: Some((50.8467, 4.3525)),
            location_id: Some("4eaeb363-296d-4ccc-a973-7805e6f40001".into()),
            location_updated: Timing::Refreshing,
            odometer_km: None,
            is_reachable: Some(true),
            can_start: cap("/capabilities/startCharging/isCapable"),
            can_stop: cap("/capabilities/stopCharging/isCapable"),
            smart_charging: false,
        }
    }

    pub fn power_delivery_state(&self) -> String {
        if let Some(o) = &self.power_delivery_override {
            return o.clone();
        }
        let full = matches!((self.battery_level, self.charge_limit), (Some(b), Some(l)) if b >= l);
        match (self.plugged, self.charging) {
            (false, _) => "UNPLUGGED",
            (true, true) => "PLUGGED_IN:CHARGING",
            (true, false) if full => "PLUGGED_IN:COMPLETE",
            (true, false) => "PLUGGED_IN:STOPPED",
        }
        .into()
    }

    fn time(&self, t: Timing, now: DateTime<Utc>, start: DateTime<Utc>) -> Value {
        match t {
            Timing::At(at) => json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            Timing::Null => Value::Null,
            Timing::Refreshing => {
                let period = if self.charging { 120 } else { 420 };
                let k = (now - start).num_seconds().max(0) / period;
                let at = start + TimeDelta::seconds(k * period);
                json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }
        }
    }

    /// The payload of `GET /vehicles/{id}` at `now` (`start`: when the emulator started).
    pub fn render(&self, now: DateTime<Utc>, start: DateTime<Utc>) -> Value {
        let mut v: Value = serde_json::from_str(SEED_VEHICLE).unwrap_or_else(|_| json!({}));
        let updated = self.time(self.last_updated, now, start);
        let full = matches!((self.battery_level, self.charge_limit), (Some(b), Some(l)) if b >= l);
        let capability = |ok: bool| json!({ "isCapable": ok, "interventionIds": [] });
        let obj = v.as_object_mut().expect("the seed is an object");
        obj.insert("id".into(), json!(self.id));
        obj.insert("userId".into(), json!(self.user_id));
        obj.insert("vendor".into(), json!(self.vendor));
        obj.insert(
            "lastSeen".into(),
            json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        obj.insert("isReachable".into(), json!(self.is_reachable));
        obj.insert(
            "information".into(),
            json!({ "vin": self.vin, "brand": self.brand, "model": self.model, "year": self.year,
                    "displayName": self.model }),
        );
        obj.insert(
            "chargeState".into(),
            json!({
                "batteryLevel": self.battery_level,
                "range": self.range_km,
                "isPluggedIn": self.plugged,
                "isCharging": self.charging,
                "isFullyCharged": self.plugged.then_some(full),
                "batteryCapacity": self.battery_capacity_kwh,
                "chargeLimit": self.charge_limit,
                "chargeRate": if self.charging { self.charge_rate_kw } else { None },
                "chargeTimeRemaining": if self.charging { Some(285) } else { None },
                "lastUpdated": updated,
                "maxCurrent": self.max_current,
                "powerDeliveryState": self.power_delivery_state(),
                "pluggedInChargerId": if self.plugged { self.charger_id.clone() } else { None },
            }),
        );
        obj.insert(
            "smartChargingPolicy".into(),
            json!({ "isEnabled": self.smart_charging, "deadline": null, "minimumChargeLimit": 0 }),
        );
        obj.insert(
            "odometer".into(),
            json!({ "distance": self.odometer_km, "lastUpdated": self.odometer_km.map(|_| updated.clone()) }),
        );
        obj.insert(
            "location".into(),
            match self.location {
                Some((lat, lon)) => json!({ "latitude": lat, "longitude": lon, "id": self.location_id,
                                            "lastUpdated": self.time(self.location_updated, now, start) }),
                None => json!({ "latitude": null, "longitude": null, "id": null, "lastUpdated": null }),
            },
        );
        if let Some(caps) = obj.get_mut("capabilities").and_then(Value::as_object_mut) {
            caps.insert("startCharging".into(), capability(self.can_start));
            caps.insert("stopCharging".into(), capability(self.can_stop));
            caps.insert("smartCharging".into(), capability(true));
        }
        obj.insert(
            "scopes".into(),
            json!([
                "vehicle:read:data",
                "vehicle:read:location",
                "vehicle:control:charging"
            ]),
        );
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seed_vehicle_renders_with_the_seed_values() {
        let start = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let v = VehicleSim::seed();
        assert_eq!(v.battery_level, Some(66.0));
        assert!(v.plugged && v.charging && v.can_start);
        let r = v.render(start + TimeDelta::seconds(250), start);
        assert_eq!(r["id"], "05ee9df5-d072-4ee8-b773-399dec8f5693");
        assert_eq!(
            r["chargeState"]["powerDeliveryState"],
            "PLUGGED_IN:CHARGING"
        );
        assert_eq!(
            r["chargeState"]["lastUpdated"], "2026-06-01T12:04:00.000Z",
            "2-min refresh while charging"
        );
        assert_eq!(
            r["capabilities"]["odometer"]["isCapable"], false,
            "seed value kept"
        );
    }
}
