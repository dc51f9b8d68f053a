//! The emulated Cariad car: its state, and the `selectivestatus` body it produces.
//!
//! Owns: [`CarSim`] and [`Captured`]. The body starts from the seed-002 payload
//! (`tests/fixtures/cariad_selectivestatus_seed002.json`, an Audi Q4 e-tron), keeps the jobs asked for,
//! and patches the car's values in at the seed's own paths. Failed jobs become per-status `error`
//! objects (a 207), and sentinel mode sends the placeholders real cars send.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

/// The seed-002 answer.
pub const SEED_STATUS: &str =
    include_str!("../../../tests/fixtures/cariad_selectivestatus_seed002.json");
/// The error object a failed status carries (the BFF's shape).
pub fn status_error(now: DateTime<Utc>) -> Value {
    json!({ "message": "Bad Gateway", "errorTimeStamp": now.to_rfc3339(), "code": 4111, "group": 2, "retry": true,
            "info": "Upstream service responded with an unexpected status. If the problem persists, please contact our support." })
}

/// When the car captured its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Captured {
    /// The seed's own timestamps (2023-11-02).
    Seed,
    /// This long before the emulator's `now` (a car that uploads regularly).
    Ago(Duration),
    At(DateTime<Utc>),
}

/// One car of the emulated account.
#[derive(Debug, Clone, PartialEq)]
pub struct CarSim {
    pub vin: String,
    pub soc: Option<f64>,
    pub range_km: Option<f64>,
    pub plugged: bool,
    /// `chargingState` as the car reports it, e.g. "charging", "readyForCharging", "notReadyForCharging".
    pub charging_state: String,
    pub charge_power_kw: f64,
    pub target_soc: Option<f64>,
    pub odometer_km: Option<f64>,
    pub captured: Captured,
    pub online: bool,
    /// Where the car is parked; `None` while it drives (parkingposition answers 204).
    pub parked_at: Option<(f64, f64)>,
    /// Send the placeholders: range 16383, odometer 2147483647, battery captured 2000-01-01.
    pub sentinels: bool,
}

impl CarSim {
    /// The seed's car (63 %, 320 km, unplugged, target 100 %, 12357 km), captured a minute ago.
    pub fn seed(vin: &str) -> CarSim {
        CarSim {
            vin: vin.to_string(),
            soc: Some(63.0),
            range_km: Some(320.0),
            plugged: false,
            charging_state: "notReadyForCharging".into(),
            charge_power_kw: 0.0,
            target_soc: Some(100.0),
            odometer_km: Some(12357.0),
            captured: Captured::Ago(Duration::from_secs(60)),
            online: true,
            parked_at: Some((48.7665, 11.4258)),
            sentinels: false,
        }
    }

    /// Plug in and charge at `kw`, or stop (plugged, ready).
    pub fn set_charging(&mut self, kw: Option<f64>) {
        self.plugged = true;
        self.charging_state = if kw.is_some() {
            "charging"
        } else {
            "readyForCharging"
        }
        .into();
        self.charge_power_kw = kw.unwrap_or(0.0);
    }

    fn captured_at(&self, now: DateTime<Utc>) -> Option<String> {
        match self.captured {
            Captured::Seed => None,
            Captured::Ago(d) => {
                Some((now - chrono::TimeDelta::from_std(d).unwrap_or_default()).to_rfc3339())
            }
            Captured::At(t) => Some(t.to_rfc3339()),
        }
    }

    /// The `selectivestatus` body for `jobs`; `failed` jobs carry errors. Returns the body and whether
    /// it is a partial answer (207).
    pub fn status_body(
        &self,
        jobs: &[String],
        failed: &[String],
        now: DateTime<Utc>,
    ) -> (Value, bool) {
        let seed: Value = serde_json::from_str(SEED_STATUS).unwrap_or_else(|_| json!({}));
        let mut out = serde_json::Map::new();
        let mut partial = false;
        for job in jobs {
            let Some(mut v) = seed.get(job.as_str()).cloned() else {
                out.insert(
                    job.clone(),
                    json!({ "status": { "error": status_error(now) } }),
                );
                partial = true;
                continue;
            };
            self.patch(job, &mut v, now);
            if failed.contains(job) {
                if let Some(statuses) = v.as_object_mut() {
                    for status in statuses.values_mut() {
                        *status = json!({ "error": status_error(now) });
                    }
                }
                partial = true;
            }
            out.insert(job.clone(), v);
        }
        (Value::Object(out), partial)
    }

    fn patch(&self, job: &str, v: &mut Value, now: DateTime<Utc>) {
        let set = |v: &mut Value, path: &str, x: Value| {
            if let Some(slot) = v.pointer_mut(path) {
                *slot = x;
            }
        };
        if let Some(t) = self.captured_at(now) {
            stamp(v, &t);
        }
        let range = if self.sentinels {
            Some(16383.0)
        } else {
            self.range_km
        };
        match job {
            "charging" => {
                set(v, "/batteryStatus/value/currentSOC_pct", num(self.soc));
                set(
                    v,
                    "/batteryStatus/value/cruisingRangeElectric_km",
                    num(range),
                );
                set(
                    v,
                    "/chargingStatus/value/chargingState",
                    json!(self.charging_state),
                );
                set(
                    v,
                    "/chargingStatus/value/chargePower_kW",
                    num(Some(self.charge_power_kw)),
                );
                set(
                    v,
                    "/chargingStatus/value/chargeType",
                    json!(if self.charge_power_kw > 0.0 {
                        "ac"
                    } else {
                        "invalid"
                    }),
                );
                set(
                    v,
                    "/chargingSettings/value/targetSOC_pct",
                    num(self.target_soc),
                );
                let plug = if self.plugged {
                    "connected"
                } else {
                    "disconnected"
                };
                set(v, "/plugStatus/value/plugConnectionState", json!(plug));
                set(
                    v,
                    "/plugStatus/value/plugLockState",
                    json!(if self.plugged { "locked" } else { "unlocked" }),
                );
                set(
                    v,
                    "/plugStatus/value/externalPower",
                    json!(if self.plugged { "ready" } else { "unavailable" }),
                );
                if self.sentinels {
                    set(
                        v,
                        "/batteryStatus/value/carCapturedTimestamp",
                        json!("2000-01-01T00:00:00Z"),
                    );
                }
            }
            "measurements" => {
                let odo = if self.sentinels {
                    Some(2_147_483_647.0)
                } else {
                    self.odometer_km
                };
                set(v, "/odometerStatus/value/odometer", num(odo));
                set(v, "/rangeStatus/value/electricRange", num(self.range_km));
                set(v, "/rangeStatus/value/totalRange_km", num(self.range_km));
                set(v, "/fuelLevelStatus/value/currentSOC_pct", num(self.soc));
            }
            "fuelStatus" => {
                set(
                    v,
                    "/rangeStatus/value/primaryEngine/currentSOC_pct",
                    num(self.soc),
                );
                set(
                    v,
                    "/rangeStatus/value/primaryEngine/remainingRange_km",
                    num(range),
                );
                set(v, "/rangeStatus/value/totalRange_km", num(range));
            }
            "readiness" => set(
                v,
                "/readinessStatus/value/connectionState/isOnline",
                json!(self.online),
            ),
            _ => {}
        }
    }

    /// `parkingposition`'s body, or `None` while driving.
    pub fn parking_body(&self, now: DateTime<Utc>) -> Option<Value> {
        let (lat, lon) = self.parked_at?;
        let at = self
            .captured_at(now)
            .unwrap_or_else(|| "2023-11-02T11:33:10Z".into());
        Some(json!({ "data": { "lat": lat, "lon": lon, "carCapturedTimestamp": at } }))
    }
}

/// A number as the BFF writes it: whole numbers without a fraction (`63`, not `63.0`).
fn num(x: Option<f64>) -> Value {
    match x {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => json!(v as i64),
        Some(v) => json!(v),
        None => Value::Null,
    }
}

/// Replace every `carCapturedTimestamp` under `v`.
fn stamp(v: &mut Value, t: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "carCapturedTimestamp" {
                    *x = json!(t);
                } else {
                    stamp(x, t);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| stamp(x, t)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn seed_car_with_seed_times_reproduces_the_seed_jobs() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut car = CarSim::seed("WAUZZZF21NN000000");
        car.captured = Captured::Seed;
        let jobs: Vec<String> = ["charging", "measurements"].map(String::from).to_vec();
        let (body, partial) = car.status_body(&jobs, &[], now);
        let seed: Value = serde_json::from_str(SEED_STATUS).unwrap();
        assert!(!partial);
        assert_eq!(body["charging"], seed["charging"]);
        assert_eq!(body["measurements"], seed["measurements"]);
        assert!(body.get("access").is_none(), "only the jobs asked for");
        let (body, partial) = car.status_body(&jobs, &["measurements".into()], now);
        assert!(partial);
        assert_eq!(
            body["measurements"]["odometerStatus"]["error"]["code"],
            4111
        );
    }
}
