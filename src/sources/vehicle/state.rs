//! The car's state as sunplug keeps it, whatever the source: every value with the time the *car*
//! captured it, so that old data is shown as old and never passed off as fresh.
//!
//! Owns: [`Observed`] (a value and its capture time, which may be unknown), [`Freshness`],
//! [`PowerDelivery`] (the plug/charge state in one enum, Enode's vocabulary), [`Location`],
//! [`VehicleInfo`], [`Capabilities`] and [`VehicleState`], plus the mapping into the control core's
//! [`VehicleObs`]. Vendor-specific parsing lives in `enode/map.rs` and `cariad/map.rs`.

use crate::control::{Reading, VehicleObs};
use crate::units::{Amps, Soc, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A value the car reported, and when it captured it. `at` is `None` when the age is unknown (a
/// retained MQTT message, a missing or sentinel timestamp): such a value is shown, never fresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<T> {
    pub value: T,
    pub at: Option<DateTime<Utc>>,
}

/// Whether a value can be used for decisions at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Captured no longer than `max_age` ago.
    Fresh,
    /// Captured longer ago than `max_age`.
    Stale,
    /// Nobody knows when it was captured: treated like stale, but said differently.
    UnknownAge,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::UnknownAge => "unknown age",
        }
    }
}

impl<T> Observed<T> {
    pub fn new(value: T, at: Option<DateTime<Utc>>) -> Observed<T> {
        Observed { value, at }
    }

    /// Age at `now`; a capture time in the future counts as age zero. `None` when unknown.
    pub fn age(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.at
            .map(|at| (now - at).to_std().unwrap_or(Duration::ZERO))
    }

    pub fn freshness(&self, now: DateTime<Utc>, max_age: Duration) -> Freshness {
        match self.age(now) {
            None => Freshness::UnknownAge,
            Some(a) if a <= max_age => Freshness::Fresh,
            Some(_) => Freshness::Stale,
        }
    }

    /// The control core's view: only values whose capture time is known, since the controller judges
    /// freshness by it.
    pub fn reading(&self) -> Option<Reading<T>>
    where
        T: Copy,
    {
        self.at.map(|at| Reading::new(self.value, at))
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Observed<U> {
        Observed {
            value: f(self.value),
            at: self.at,
        }
    }
}

/// Plug and charge state in one value. The names follow Enode's `powerDeliveryState`; Cariad's
/// `chargingState` and MQTT flags are mapped onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerDelivery {
    Unplugged,
    /// Plugged in, the car and the charger are negotiating.
    Initializing,
    Charging,
    /// Plugged in, not charging (paused by the charger or the car, or waiting for a timer).
    Stopped,
    /// Plugged in, the car reached its own limit.
    Complete,
    /// Plugged in, the charger offers no power (needs a person).
    NoPower,
    /// Plugged in, a fault on the car or the charger (needs a person).
    Fault,
    /// Plugged in, the car feeds power back (V2X).
    Discharging,
    /// The vendor does not know, or sent a value this version of sunplug does not know.
    Unknown,
}

impl PowerDelivery {
    /// Enode's spelling, also used in JSON output and for Home Assistant.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerDelivery::Unplugged => "UNPLUGGED",
            PowerDelivery::Initializing => "PLUGGED_IN:INITIALIZING",
            PowerDelivery::Charging => "PLUGGED_IN:CHARGING",
            PowerDelivery::Stopped => "PLUGGED_IN:STOPPED",
            PowerDelivery::Complete => "PLUGGED_IN:COMPLETE",
            PowerDelivery::NoPower => "PLUGGED_IN:NO_POWER",
            PowerDelivery::Fault => "PLUGGED_IN:FAULT",
            PowerDelivery::Discharging => "PLUGGED_IN:DISCHARGING",
            PowerDelivery::Unknown => "UNKNOWN",
        }
    }

    /// Parse Enode's `powerDeliveryState`. Values Enode adds later read as `Unknown` (the Enode mapping
    /// still reads an unknown `PLUGGED_IN:*` value as plugged in).
    pub fn from_enode(s: &str) -> PowerDelivery {
        match s {
            "UNPLUGGED" => PowerDelivery::Unplugged,
            "PLUGGED_IN:INITIALIZING" => PowerDelivery::Initializing,
            "PLUGGED_IN:CHARGING" => PowerDelivery::Charging,
            "PLUGGED_IN:STOPPED" => PowerDelivery::Stopped,
            "PLUGGED_IN:COMPLETE" => PowerDelivery::Complete,
            "PLUGGED_IN:NO_POWER" => PowerDelivery::NoPower,
            "PLUGGED_IN:FAULT" => PowerDelivery::Fault,
            "PLUGGED_IN:DISCHARGING" => PowerDelivery::Discharging,
            _ => PowerDelivery::Unknown,
        }
    }

    /// Whether this state implies a cable in the car. `None` for `Unknown`.
    pub fn plugged(self) -> Option<bool> {
        match self {
            PowerDelivery::Unknown => None,
            PowerDelivery::Unplugged => Some(false),
            _ => Some(true),
        }
    }

    /// Whether this state means energy flows into the battery. `None` for `Unknown`.
    pub fn charging(self) -> Option<bool> {
        match self {
            PowerDelivery::Unknown => None,
            PowerDelivery::Charging => Some(true),
            _ => Some(false),
        }
    }

    /// A state no remote command can clear (Enode: NO_POWER and FAULT need a person).
    pub fn needs_attention(self) -> bool {
        matches!(self, PowerDelivery::NoPower | PowerDelivery::Fault)
    }
}

/// Where the car is (or was last parked).
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    /// GPS accuracy radius in metres, when the source gives one.
    pub accuracy_m: Option<f64>,
    /// The vendor's id of a known place the car is at (Enode `location.id`: within ~200 m of it).
    pub place_id: Option<String>,
}

impl Location {
    /// Coordinates that can be on Earth (and are not the 0,0 "null island" some clouds send).
    pub fn new(latitude: f64, longitude: f64) -> Option<Location> {
        let ok = (-90.0..=90.0).contains(&latitude)
            && (-180.0..=180.0).contains(&longitude)
            && !(latitude == 0.0 && longitude == 0.0);
        ok.then_some(Location {
            latitude,
            longitude,
            accuracy_m: None,
            place_id: None,
        })
    }
}

/// What the car is, for setup output and Home Assistant. VINs stay out of info logs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VehicleInfo {
    /// The vendor's id of the car (Enode vehicle id; the VIN for Cariad).
    pub id: Option<String>,
    pub vendor: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub year: Option<i32>,
    pub vin: Option<String>,
    pub display_name: Option<String>,
}

/// What the source can do with this car. `None`: the source did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub start_charging: Option<bool>,
    pub stop_charging: Option<bool>,
    pub location: Option<bool>,
}

/// Everything sunplug knows about the car after one fetch (or MQTT message).
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleState {
    /// "enode", "cariad" or "mqtt".
    pub source: &'static str,
    /// When sunplug received this (not when the car captured it).
    pub fetched_at: DateTime<Utc>,
    pub soc: Option<Observed<Soc>>,
    pub range_km: Option<Observed<f64>>,
    pub plugged: Option<Observed<bool>>,
    pub charging: Option<Observed<bool>>,
    /// The car's own charge limit.
    pub charge_limit: Option<Observed<Soc>>,
    /// Power flowing into the car, as the car (or a paired charger) reports it.
    pub charge_power: Option<Observed<Watts>>,
    pub power_delivery: Option<Observed<PowerDelivery>>,
    /// The vendor's own word for the charge state (`powerDeliveryState`, `chargingState`).
    pub vendor_state: Option<String>,
    /// Enode: the charger (linked to the same user) the car is plugged into right now.
    pub plugged_in_charger_id: Option<String>,
    pub location: Option<Observed<Location>>,
    pub odometer_km: Option<Observed<f64>>,
    /// `false`: the cloud cannot reach the car now, its data will be late.
    pub reachable: Option<bool>,
    pub capabilities: Capabilities,
    pub battery_capacity_kwh: Option<f64>,
    /// The largest current the car draws.
    pub max_current: Option<Amps>,
    pub info: VehicleInfo,
    /// Values that were sent but not used, and why (sentinels, failed jobs): for the probe and debug logs.
    pub notes: Vec<String>,
    /// Something on the vendor's side that works against sunplug.
    pub warning: Option<VehicleWarning>,
}

/// A vendor-side setting that fights sunplug, shown in the log and in Home Assistant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleWarning {
    /// Enode's smart charging is on for the car (`smartChargingPolicy.isEnabled`): Enode starts and
    /// stops the car itself.
    EnodeSmartCharging,
}

impl VehicleWarning {
    pub fn message(self) -> &'static str {
        match self {
            VehicleWarning::EnodeSmartCharging => {
                "Enode smart charging is on for this car: Enode starts and stops the charge itself and \
                 fights sunplug; turn it off in the app that set it up"
            }
        }
    }
}

impl VehicleState {
    pub fn empty(source: &'static str, fetched_at: DateTime<Utc>) -> VehicleState {
        VehicleState {
            source,
            fetched_at,
            soc: None,
            range_km: None,
            plugged: None,
            charging: None,
            charge_limit: None,
            charge_power: None,
            power_delivery: None,
            vendor_state: None,
            plugged_in_charger_id: None,
            location: None,
            odometer_km: None,
            reachable: None,
            capabilities: Capabilities::default(),
            battery_capacity_kwh: None,
            max_current: None,
            info: VehicleInfo::default(),
            notes: Vec::new(),
            warning: None,
        }
    }

    /// The control core's input. Values of unknown age are left out: the controller could not judge
    /// them, and "unknown" is what they are.
    pub fn observation(&self) -> VehicleObs {
        VehicleObs {
            soc: self.soc.as_ref().and_then(Observed::reading),
            plugged: self.plugged.as_ref().and_then(Observed::reading),
            charging: self.charging.as_ref().and_then(Observed::reading),
            charge_limit: self.charge_limit.as_ref().and_then(Observed::reading),
        }
    }

    /// The age of the charge data (SoC, plug, charging): the oldest of those present. `None` when none
    /// is present or any of them has an unknown age.
    pub fn data_age(&self, now: DateTime<Utc>) -> Option<Duration> {
        let ages = [
            self.soc.as_ref().map(|o| o.age(now)),
            self.plugged.as_ref().map(|o| o.age(now)),
            self.charging.as_ref().map(|o| o.age(now)),
        ];
        let present: Vec<Option<Duration>> = ages.into_iter().flatten().collect();
        if present.is_empty() || present.iter().any(Option::is_none) {
            return None;
        }
        present.into_iter().flatten().max()
    }

    /// Fresh only when the charge data is present, of known age, and no older than `max_age`.
    pub fn freshness(&self, now: DateTime<Utc>, max_age: Duration) -> Freshness {
        match self.data_age(now) {
            None => Freshness::UnknownAge,
            Some(a) if a <= max_age => Freshness::Fresh,
            Some(_) => Freshness::Stale,
        }
    }

    /// Plugged in and charging, as far as the last data says (for poll pacing).
    pub fn is_charging(&self) -> bool {
        self.charging.as_ref().is_some_and(|c| c.value)
    }

    pub fn is_plugged(&self) -> bool {
        self.plugged.as_ref().is_some_and(|p| p.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, h, m, 0).unwrap()
    }

    #[test]
    fn unknown_age_is_never_fresh_and_never_reaches_the_controller() {
        let mut s = VehicleState::empty("mqtt", t(12, 0));
        s.soc = Some(Observed::new(Soc::new(50.0).unwrap(), None));
        s.plugged = Some(Observed::new(true, Some(t(11, 59))));
        assert_eq!(
            s.soc
                .as_ref()
                .unwrap()
                .freshness(t(12, 0), Duration::from_secs(3600)),
            Freshness::UnknownAge
        );
        assert_eq!(
            s.freshness(t(12, 0), Duration::from_secs(3600)),
            Freshness::UnknownAge
        );
        let obs = s.observation();
        assert!(obs.soc.is_none());
        assert_eq!(obs.plugged, Some(Reading::new(true, t(11, 59))));
    }

    #[test]
    fn data_age_is_the_oldest_charge_value() {
        let mut s = VehicleState::empty("enode", t(12, 0));
        s.soc = Some(Observed::new(Soc::new(50.0).unwrap(), Some(t(10, 0))));
        s.plugged = Some(Observed::new(true, Some(t(11, 30))));
        assert_eq!(s.data_age(t(12, 0)), Some(Duration::from_secs(7200)));
        assert_eq!(
            s.freshness(t(12, 0), Duration::from_secs(3600)),
            Freshness::Stale
        );
        assert_eq!(
            s.freshness(t(12, 0), Duration::from_secs(7200)),
            Freshness::Fresh
        );
        assert_eq!(
            VehicleState::empty("x", t(0, 0)).freshness(t(0, 0), Duration::MAX),
            Freshness::UnknownAge
        );
    }

    #[test]
    fn power_delivery_round_trips_and_tolerates_new_values() {
        for s in [
            "UNPLUGGED",
            "PLUGGED_IN:INITIALIZING",
            "PLUGGED_IN:CHARGING",
            "PLUGGED_IN:STOPPED",
            "PLUGGED_IN:COMPLETE",
            "PLUGGED_IN:NO_POWER",
            "PLUGGED_IN:FAULT",
            "PLUGGED_IN:DISCHARGING",
            "UNKNOWN",
        ] {
            assert_eq!(PowerDelivery::from_enode(s).as_str(), s);
        }
        assert_eq!(
            PowerDelivery::from_enode("PLUGGED_IN:LEVITATING"),
            PowerDelivery::Unknown
        );
        assert_eq!(PowerDelivery::Complete.plugged(), Some(true));
        assert_eq!(PowerDelivery::Complete.charging(), Some(false));
        assert_eq!(PowerDelivery::Unknown.charging(), None);
        assert!(PowerDelivery::Fault.needs_attention());
    }

    #[test]
    fn locations_must_be_on_earth() {
        assert!(Location::new(50.85, 4.35).is_some());
        assert!(Location::new(0.0, 0.0).is_none());
        assert!(Location::new(91.0, 4.0).is_none());
        assert!(Location::new(f64::NAN, 4.0).is_none());
    }
}
