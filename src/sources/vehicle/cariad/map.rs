//! Cariad `selectivestatus` → [`VehicleState`]: a pure function, tested on the seed's payload.
//!
//! Each value carries its own status's `carCapturedTimestamp`. Sentinels are "unknown", not data
//! (vendor-apis.md §2.9): range 16383, odometer 2147483647 (and anything above 400,000,000 km),
//! a capture time of 2000-01-01; power while not charging reads as 0. A job that failed (in a 207)
//! leaves its values unknown and says so in `notes`; SoC and range then come from another job that
//! carries them (`fuelStatus`, `measurements`) when it can.

use super::wire::{self, Part, Status};
use crate::sources::vehicle::state::{Observed, PowerDelivery, VehicleInfo, VehicleState};
use crate::sources::vehicle::timestamps::captured_noted;
use crate::units::{Soc, Watts};
use chrono::{DateTime, Utc};

/// `cruisingRangeElectric_km` error value (0x3FFF).
pub const RANGE_SENTINEL: f64 = 16383.0;
/// Odometer placeholder (i32::MAX).
pub const ODOMETER_SENTINEL: f64 = 2_147_483_647.0;
/// Above this an odometer is a placeholder too (a related VAG API sends 429496729).
pub const ODOMETER_MAX_KM: f64 = 400_000_000.0;

/// Map one answer for the car `vin`, received at `fetched_at`.
pub fn vehicle_state(
    s: &wire::SelectiveStatus,
    vin: &str,
    fetched_at: DateTime<Utc>,
) -> VehicleState {
    let mut out = VehicleState::empty("cariad", fetched_at);
    out.info = VehicleInfo {
        id: Some(vin.to_string()),
        vin: Some(vin.to_string()),
        ..VehicleInfo::default()
    };
    let notes = &mut out.notes;
    let charging = job(&s.charging, "charging", |j| &j.error, notes);
    let measurements = job(&s.measurements, "measurements", |j| &j.error, notes);
    let fuel = job(&s.fuel_status, "fuelStatus", |j| &j.error, notes);
    let readiness = job(&s.readiness, "readiness", |j| &j.error, notes);

    // Plug and charge state.
    let plug = charging.and_then(|c| status(&c.plug_status, "charging.plugStatus", notes));
    if let Some(p) = plug {
        let at = captured_noted(p.captured, fetched_at, "plugStatus", notes);
        match p.plug_connection_state.as_deref() {
            Some("connected") => out.plugged = Some(Observed::new(true, at)),
            Some("disconnected") => out.plugged = Some(Observed::new(false, at)),
            Some(other) => notes.push(format!(
                "plugConnectionState \"{other}\" is new to sunplug: unknown"
            )),
            None => {}
        }
    }
    let plugged = out.plugged.as_ref().map(|p| p.value);
    if let Some(cs) =
        charging.and_then(|c| status(&c.charging_status, "charging.chargingStatus", notes))
    {
        let at = captured_noted(cs.captured, fetched_at, "chargingStatus", notes);
        if let Some(state) = cs.charging_state.as_deref() {
            let pd = power_delivery(state, plugged);
            out.vendor_state = Some(state.to_string());
            out.power_delivery = Some(Observed::new(pd, at));
            let is_charging = match state {
                "charging" | "conservation" => Some(true),
                "unsupported" => None,
                _ => pd.charging(),
            };
            out.charging = is_charging.map(|c| Observed::new(c, at));
            if let Some(kw) = cs.charge_power_kw.filter(|k| k.is_finite() && *k >= 0.0) {
                // Power reported while not charging is a leftover (WeConnect-python): it is 0.
                let kw = if is_charging == Some(false) { 0.0 } else { kw };
                out.charge_power = Some(Observed::new(Watts::from_kw(kw), at));
            }
        }
    }
    if let Some(set) =
        charging.and_then(|c| status(&c.charging_settings, "charging.chargingSettings", notes))
    {
        let at = captured_noted(set.captured, fetched_at, "chargingSettings", notes);
        out.charge_limit = set
            .target_soc_pct
            .and_then(Soc::new)
            .map(|l| Observed::new(l, at));
    }

    // SoC and range: the charging job's battery status first, then fuelStatus, then measurements.
    let battery = charging.and_then(|c| status(&c.battery_status, "charging.batteryStatus", notes));
    let fuel_range = fuel.and_then(|f| status(&f.range_status, "fuelStatus.rangeStatus", notes));
    let measured =
        measurements.and_then(|m| status(&m.range_status, "measurements.rangeStatus", notes));
    let level = measurements
        .and_then(|m| status(&m.fuel_level_status, "measurements.fuelLevelStatus", notes));
    let engine = fuel_range.and_then(|f| f.primary_engine.as_ref());
    let soc_sources = [
        battery.map(|b| (b.current_soc_pct, b.captured, "batteryStatus")),
        fuel_range.map(|f| {
            (
                engine.and_then(|e| e.current_soc_pct),
                f.captured,
                "fuelStatus",
            )
        }),
        level.map(|l| (l.current_soc_pct, l.captured, "fuelLevelStatus")),
    ];
    if let Some((pct, raw_at, what)) = soc_sources
        .into_iter()
        .flatten()
        .find(|(p, _, _)| p.is_some())
    {
        let pct = pct.unwrap_or_default();
        match Soc::new(pct) {
            Some(soc) => {
                out.soc = Some(Observed::new(
                    soc,
                    captured_noted(raw_at, fetched_at, what, notes),
                ))
            }
            None => notes.push(format!("{what}: SoC {pct} is not a percentage, ignored")),
        }
    }
    let measured_range = measured.and_then(|m| {
        m.electric_range
            .filter(|r| valid_range(*r))
            .map(|r| (r, m.captured))
    });
    let mut range = None;
    if let Some(b) = battery {
        match b.cruising_range_electric_km {
            Some(r) if r == RANGE_SENTINEL => {
                notes.push("cruisingRangeElectric_km is 16383 (error value): unknown".into())
            }
            Some(r) if looks_like_miles(r, measured_range.map(|m| m.0)) => {
                notes.push(format!(
                    "cruisingRangeElectric_km {r} looks converted to miles: using measurements"
                ));
            }
            Some(r) if valid_range(r) => range = Some((r, b.captured, "batteryStatus")),
            _ => {}
        }
    }
    let range = range
        .or_else(|| measured_range.map(|(r, at)| (r, at, "measurements.rangeStatus")))
        .or_else(|| {
            let r = engine
                .and_then(|e| e.remaining_range_km)
                .filter(|r| valid_range(*r))?;
            Some((r, fuel_range.and_then(|f| f.captured), "fuelStatus"))
        });
    if let Some((r, raw_at, what)) = range {
        out.range_km = Some(Observed::new(
            r,
            captured_noted(raw_at, fetched_at, what, notes),
        ));
    }

    if let Some(o) =
        measurements.and_then(|m| status(&m.odometer_status, "measurements.odometerStatus", notes))
    {
        match o.odometer {
            Some(km) if km == ODOMETER_SENTINEL || !(0.0..=ODOMETER_MAX_KM).contains(&km) => {
                notes.push(format!("odometer {km} is a placeholder: unknown"));
            }
            Some(km) => {
                let at = captured_noted(o.captured, fetched_at, "odometerStatus", notes);
                out.odometer_km = Some(Observed::new(km, at));
            }
            None => {}
        }
    }
    if let Some(r) =
        readiness.and_then(|r| status(&r.readiness_status, "readiness.readinessStatus", notes))
    {
        out.reachable = r.connection_state.as_ref().and_then(|c| c.is_online);
    }
    out
}

/// The jobs of `s` that did not come back whole (missing, unreadable, or with an error in them).
pub fn failed_jobs(s: &wire::SelectiveStatus) -> Vec<&'static str> {
    fn failed<T>(p: &Option<Part<T>>, errors: impl Fn(&T) -> bool) -> bool {
        match p {
            Some(Part::Ok(j)) => errors(j),
            _ => true,
        }
    }
    fn bad<T>(s: &Option<Status<T>>) -> bool {
        s.as_ref().is_some_and(|s| s.error.is_some())
    }
    let mut out = Vec::new();
    let charging = |j: &wire::ChargingJob| {
        j.error.is_some()
            || bad(&j.battery_status)
            || bad(&j.charging_status)
            || bad(&j.charging_settings)
            || bad(&j.plug_status)
    };
    if failed(&s.charging, charging) {
        out.push("charging");
    }
    let measurements = |j: &wire::MeasurementsJob| {
        j.error.is_some()
            || bad(&j.odometer_status)
            || bad(&j.range_status)
            || bad(&j.fuel_level_status)
    };
    if failed(&s.measurements, measurements) {
        out.push("measurements");
    }
    if failed(&s.fuel_status, |j| {
        j.error.is_some() || bad(&j.range_status)
    }) {
        out.push("fuelStatus");
    }
    if failed(&s.readiness, |j| {
        j.error.is_some() || bad(&j.readiness_status)
    }) {
        out.push("readiness");
    }
    out
}

/// A job's content, or a note saying why there is none.
fn job<'a, T>(
    part: &'a Option<Part<T>>,
    name: &str,
    error: impl Fn(&T) -> &Option<wire::StatusError>,
    notes: &mut Vec<String>,
) -> Option<&'a T> {
    match part {
        None => {
            notes.push(format!("job {name} missing from the answer"));
            None
        }
        Some(Part::Unreadable(why)) => {
            notes.push(format!(
                "job {name} unreadable: {}",
                crate::vendor::excerpt(why)
            ));
            None
        }
        Some(Part::Ok(j)) => {
            if let Some(e) = error(j) {
                notes.push(format!("job {name} failed: {}", e.describe()));
            }
            Some(j)
        }
    }
}

fn status<'a, T>(s: &'a Option<Status<T>>, name: &str, notes: &mut Vec<String>) -> Option<&'a T> {
    let s = s.as_ref()?;
    if let Some(e) = &s.error {
        notes.push(format!("{name} failed: {}", e.describe()));
    }
    s.value.as_ref()
}

fn valid_range(r: f64) -> bool {
    r.is_finite() && (0.0..RANGE_SENTINEL).contains(&r)
}

/// Range sometimes arrives already converted to miles (×0.621; WeConnect-python `battery_status.py`).
fn looks_like_miles(r: f64, km: Option<f64>) -> bool {
    km.is_some_and(|km| km >= 20.0 && (r - km * 0.621371).abs() <= 1.0)
}

/// Cariad's `chargingState`, with the plug state, in Enode's vocabulary.
pub fn power_delivery(state: &str, plugged: Option<bool>) -> PowerDelivery {
    let plugged_or = |p: PowerDelivery| match plugged {
        Some(false) => PowerDelivery::Unplugged,
        _ => p,
    };
    match state {
        "charging" | "conservation" => PowerDelivery::Charging,
        "discharging" => PowerDelivery::Discharging,
        "chargePurposeReachedAndNotConservationCharging"
        | "chargePurposeReachedAndConservation" => PowerDelivery::Complete,
        "error" => plugged_or(PowerDelivery::Fault),
        "readyForCharging" | "notReadyForCharging" | "off" => match plugged {
            Some(true) => PowerDelivery::Stopped,
            Some(false) => PowerDelivery::Unplugged,
            None => PowerDelivery::Unknown,
        },
        _ => plugged_or(PowerDelivery::Unknown),
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
