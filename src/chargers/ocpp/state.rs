//! What the central system knows about one charge point, and the pure mappings from OCPP's words
//! to the controller's.
//!
//! Owns: [`ChargePointState`] (boot info, per connector status, meter readings and transaction),
//! [`status_words`] (StatusNotification status → plugged / charging / paused) and
//! [`MeterReading::apply`] (MeterValues → power, per phase currents, energy register). No I/O.

use super::wire::{MeterValuesReq, SampledValue};
use crate::control::{ChargerObs, Reading};
use crate::units::Watts;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A connector's last StatusNotification.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    pub status: String,
    pub error_code: String,
    pub at: DateTime<Utc>,
}

/// The latest metered values of a connector (received at `at`, on sunplug's clock: a charge
/// point's own clock may be anything).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeterReading {
    pub power: Option<Reading<Watts>>,
    /// Current.Import on L1, L2, L3 (A).
    pub currents: [Option<f64>; 3],
    /// Energy.Active.Import.Register (Wh).
    pub energy_wh: Option<f64>,
}

/// A transaction the charge point started (and sunplug accepted).
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub id: i64,
    pub id_tag: String,
    pub meter_start_wh: i64,
    pub started: DateTime<Utc>,
}

/// One charge point, connected or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargePointState {
    pub connected: bool,
    /// Vendor and model from its BootNotification.
    pub boot: Option<(String, String)>,
    pub connectors: BTreeMap<u32, ConnectorStatus>,
    pub meters: BTreeMap<u32, MeterReading>,
    pub transactions: BTreeMap<u32, Transaction>,
    pub last_seen: Option<DateTime<Utc>>,
    /// The last transaction that ended on each connector (id, energy in Wh), for `charger status`.
    pub last_stopped: BTreeMap<u32, (i64, i64)>,
}

/// What a StatusNotification status means for the controller: `(plugged, charging, paused)`.
/// `SuspendedEVSE` is the charge point holding back current (sunplug's 0 A profile): paused.
/// `SuspendedEV` is the car declining current: plugged, not charging, not paused by us.
pub fn status_words(status: &str) -> (Option<bool>, Option<bool>, Option<bool>) {
    match status {
        "Available" => (Some(false), Some(false), None),
        "Preparing" => (Some(true), Some(false), None),
        "Charging" => (Some(true), Some(true), Some(false)),
        "SuspendedEV" => (Some(true), Some(false), Some(false)),
        "SuspendedEVSE" => (Some(true), Some(false), Some(true)),
        "Finishing" => (Some(true), Some(false), None),
        "Reserved" => (Some(false), Some(false), None),
        // Faulted, Unavailable and anything unknown: the charger does not say.
        _ => (None, Some(false), None),
    }
}

impl MeterReading {
    /// Take in a MeterValues request received at `now`. Only the last sample of each value counts;
    /// units kW/kWh are scaled to W/Wh. Values that are not numbers are skipped.
    pub fn apply(&mut self, req: &MeterValuesReq, now: DateTime<Utc>) {
        let mut power_total: Option<f64> = None;
        let mut power_phases: [Option<f64>; 3] = [None; 3];
        for mv in &req.meter_value {
            for s in &mv.sampled_value {
                let Some(v) = number(s) else { continue };
                let phase = phase_index(s.phase.as_deref());
                match s
                    .measurand
                    .as_deref()
                    .unwrap_or("Energy.Active.Import.Register")
                {
                    "Power.Active.Import" => match phase {
                        Some(i) => power_phases[i] = Some(v),
                        None => power_total = Some(v),
                    },
                    "Current.Import" => {
                        if let Some(i) = phase.or(Some(0)) {
                            self.currents[i] = Some(v);
                        }
                    }
                    "Energy.Active.Import.Register" if phase.is_none() => {
                        self.energy_wh = Some(v);
                    }
                    _ => {}
                }
            }
        }
        let summed = power_phases.iter().flatten().copied().reduce(|a, b| a + b);
        if let Some(w) = power_total.or(summed) {
            self.power = Some(Reading::new(Watts(w), now));
        }
    }
}

/// A sampled value as a number in W, Wh or A (kW and kWh scaled).
fn number(s: &SampledValue) -> Option<f64> {
    let v: f64 = s.value.trim().parse().ok()?;
    if !v.is_finite() {
        return None;
    }
    Some(match s.unit.as_deref() {
        Some("kW") | Some("kWh") => v * 1000.0,
        _ => v,
    })
}

/// L1, L2, L3 (also L1-N…) → 0, 1, 2; no phase or N → `None`.
fn phase_index(phase: Option<&str>) -> Option<usize> {
    let p = phase?;
    ["L1", "L2", "L3"].iter().position(|l| p.starts_with(l))
}

impl ChargePointState {
    /// The controller's view of `connector`. The power is the charge point's own meter.
    pub fn obs(&self, connector: u32) -> ChargerObs {
        let (plugged, charging, paused) = self
            .connectors
            .get(&connector)
            .map_or((None, None, None), |c| status_words(&c.status));
        let tx = self.transactions.get(&connector);
        ChargerObs {
            plugged,
            charging,
            offered: None,
            paused,
            power: self.meters.get(&connector).and_then(|m| m.power),
            max: None,
            session: tx.map(|t| t.id as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chargers::ocpp::wire::MeterValue;

    fn sv(value: &str, measurand: &str, phase: Option<&str>, unit: Option<&str>) -> SampledValue {
        SampledValue {
            value: value.into(),
            context: None,
            measurand: Some(measurand.into()),
            phase: phase.map(str::to_string),
            unit: unit.map(str::to_string),
        }
    }

    #[test]
    fn status_words_cover_the_controller_states() {
        assert_eq!(
            status_words("Charging"),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(status_words("SuspendedEVSE").2, Some(true));
        assert_eq!(status_words("Available").0, Some(false));
        assert_eq!(status_words("Faulted").0, None);
    }

    #[test]
    fn meter_values_give_power_currents_and_energy() {
        let now = DateTime::<Utc>::from_timestamp(1_780_000_000, 0).unwrap();
        let req = MeterValuesReq {
            connector_id: 1,
            transaction_id: Some(3),
            meter_value: vec![MeterValue {
                timestamp: "2026-06-01T12:00:00Z".into(),
                sampled_value: vec![
                    sv("2.3", "Power.Active.Import", None, Some("kW")),
                    sv("10.0", "Current.Import", Some("L1"), Some("A")),
                    sv("9.5", "Current.Import", Some("L2"), Some("A")),
                    sv("1234", "Energy.Active.Import.Register", None, Some("Wh")),
                    sv("oops", "Power.Active.Import", None, Some("W")),
                ],
            }],
        };
        let mut m = MeterReading::default();
        m.apply(&req, now);
        assert_eq!(m.power, Some(Reading::new(Watts(2300.0), now)));
        assert_eq!(m.currents, [Some(10.0), Some(9.5), None]);
        assert_eq!(m.energy_wh, Some(1234.0));
        // Per-phase power only: summed.
        let req = MeterValuesReq {
            meter_value: vec![MeterValue {
                timestamp: "x".into(),
                sampled_value: vec![
                    sv("1000", "Power.Active.Import", Some("L1-N"), Some("W")),
                    sv("1100", "Power.Active.Import", Some("L2-N"), Some("W")),
                ],
            }],
            ..req
        };
        m.apply(&req, now);
        assert_eq!(m.power.map(|p| p.value), Some(Watts(2100.0)));
    }
}
