//! The checks of `sunplug.toml` beyond its types: ranges, required keys, what each section needs.
//!
//! Owns: [`Checker`] (collects problems with their key and line) and one `check_*` function per
//! section. Vendor sections are checked by their own modules (`sources::surplus`, `sources::vehicle`,
//! `chargers::smappee`), called from here.

use super::diag::KeyIndex;
use super::schema::{ControlSection, RawConfig};
use super::vehicle::VehicleKind;
use super::{ChargerLimits, Needs, Problem, Problems};
use crate::units::Amps;
use std::path::Path;

/// Collects problems with their lines.
pub struct Checker<'a> {
    pub(super) file: &'a Path,
    pub(super) idx: &'a KeyIndex,
    pub(super) problems: &'a mut Problems,
}

impl Checker<'_> {
    pub fn push(&mut self, key: &str, message: String) {
        self.problems.push(Problem {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            line: self.idx.line(key),
            message,
        });
    }
}

pub(super) fn check_control(ck: &mut Checker<'_>, c: &ControlSection) {
    c.check(&mut |k, m| ck.push(k, m));
}

impl ControlSection {
    /// The one range check of `[control]`, for `sunplug.toml` and for a scenario's `[control]`.
    pub fn check(&self, push: &mut dyn FnMut(&str, String)) {
        let interval = self.interval.as_secs_f64();
        if !(1.0..=300.0).contains(&interval) {
            push(
                "control.interval",
                format!(
                    "{} is out of range: use 1s..5m (10s is a good start)",
                    self.interval
                ),
            );
        }
        if self.min_change_interval.as_secs_f64() < 5.0 {
            push(
                "control.min_change_interval",
                format!(
                    "{} is too short: cars need at least 5s between current changes (IEC 61851)",
                    self.min_change_interval
                ),
            );
        }
        if !(self.ramp_a_per_s > 0.0 && self.ramp_a_per_s.is_finite()) {
            push(
                "control.ramp_a_per_s",
                "must be more than 0 (1.0 is a good start)".into(),
            );
        }
        if !(0.5..=1.0).contains(&self.charge_efficiency) {
            push(
                "control.charge_efficiency",
                format!("{} is not plausible: use 0.5..1.0", self.charge_efficiency),
            );
        }
        if self.grid_setpoint_w.abs() > 5000.0 {
            push(
                "control.grid_setpoint_w",
                format!(
                    "{} W is not plausible: use a value within ±5000",
                    self.grid_setpoint_w
                ),
            );
        }
    }
}

pub(super) fn check_charger(
    ck: &mut Checker<'_>,
    raw: &RawConfig,
    needs: Needs,
) -> Option<ChargerLimits> {
    let Some(c) = &raw.charger else {
        if needs.charger {
            ck.push(
                "charger",
                "missing section [charger]: set at least max_current_a".into(),
            );
        }
        return None;
    };
    let kind = super::ocpp::ChargerKind::parse(&c.kind);
    if kind.is_none() {
        ck.push(
            "charger.kind",
            format!(
                "\"{}\" is not supported: use \"smappee\" (its cloud API) or \"ocpp\" (a charge point \
                 connecting to sunplug over OCPP 1.6J)",
                c.kind
            ),
        );
    }
    let ocpp = kind == Some(super::ocpp::ChargerKind::Ocpp);
    if ocpp && c.limit_unit != super::schema::LimitUnit::Ampere {
        ck.push(
            "charger.limit_unit",
            "OCPP charging profiles are in amps: use limit_unit = \"ampere\"".into(),
        );
    }
    if c.min_current_a < 6.0 || c.min_current_a > 16.0 {
        ck.push(
            "charger.min_current_a",
            format!(
                "{} A is out of range: 6 A is the IEC 61851 floor (use 6..16)",
                c.min_current_a
            ),
        );
    }
    let max = match c.max_current_a {
        None => {
            ck.push(
                "charger.max_current_a",
                "missing: set the station's maximum current, e.g. 16 or 32".into(),
            );
            None
        }
        Some(m) if m <= c.min_current_a || m > 80.0 => {
            ck.push(
                "charger.max_current_a",
                format!(
                    "{m} A is out of range: it must be above min_current_a ({}) and at most 80",
                    c.min_current_a
                ),
            );
            None
        }
        Some(m) => Some(m),
    };
    if let Some(cable) = c.cable_a
        && cable < c.min_current_a
    {
        ck.push(
            "charger.cable_a",
            format!("{cable} A is below the floor: a cable carries at least 13 A"),
        );
    }
    if c.manual_grace.get() > std::time::Duration::from_secs(3600) {
        ck.push(
            "charger.manual_grace",
            format!(
                "{} is out of range: at most 1 h (a change made in the app is corrected or yielded \
                 to after this long)",
                c.manual_grace
            ),
        );
    }
    if let Some(car) = raw.vehicle.max_current_a
        && car < c.min_current_a
    {
        ck.push(
            "vehicle.max_current_a",
            format!("{car} A is below the floor ({} A)", c.min_current_a),
        );
    }
    let dir = ck.file.parent().map(Path::to_path_buf).unwrap_or_default();
    match &raw.ocpp {
        Some(o) => super::ocpp::check_ocpp(o, &dir, needs.charger && ocpp, &mut |k, m| {
            ck.push(&format!("ocpp.{k}"), m)
        }),
        None if needs.charger && ocpp => ck.push(
            "ocpp",
            "missing section [ocpp]: at least charge_points = [{ id = \"<the charge point's id>\" }]"
                .into(),
        ),
        None => {}
    }
    match &raw.smappee {
        // Loadpoints that all name their station need no [smappee] serial.
        Some(s) => super::sections::check_smappee(
            s,
            needs.charger
                && !ocpp
                && (raw.loadpoint.is_empty() || raw.loadpoint.iter().any(|l| l.serial.is_none())),
            &mut |k, m| ck.push(&format!("smappee.{k}"), m),
        ),
        None if ocpp => {}
        None if needs.charger => ck.push(
            "smappee",
            "missing section [smappee]: client_id, username, serial and the secret files".into(),
        ),
        None => {}
    }
    let max = max?;
    let limit = [Some(max), c.cable_a, raw.vehicle.max_current_a]
        .into_iter()
        .flatten()
        .fold(f64::MAX, f64::min);
    Some(ChargerLimits {
        unit: c.limit_unit,
        floor: Amps(c.min_current_a),
        station_max: Amps(max),
        max: Amps(limit),
    })
}

/// Check a vehicle section: `[vehicle]` (with `key` = "vehicle") or a loadpoint's
/// (`key` = "loadpoint[i].vehicle"). The account sections it names (`[enode]`, `[cariad]`) and the
/// broker are the file's.
pub(super) fn check_vehicle(
    ck: &mut Checker<'_>,
    v: &super::vehicle::VehicleSection,
    key: &str,
    raw: &RawConfig,
    needs: Needs,
) {
    let mut push = |k: &str, m: String| match k.strip_prefix("vehicle") {
        Some(rest) => ck.push(&format!("{key}{rest}"), m),
        None => ck.push(k, m),
    };
    if let Some(cap) = v.capacity_kwh
        && !(5.0..=250.0).contains(&cap)
    {
        push(
            "vehicle.capacity_kwh",
            format!("{cap} kWh is not plausible: use the usable capacity, 5..250"),
        );
    }
    let need = needs.vehicle;
    match v.kind {
        VehicleKind::Enode => match &raw.enode {
            Some(e) => {
                super::sections::check_enode(e, need, &mut |k, m| push(&format!("enode.{k}"), m))
            }
            None if need => push(
                "enode",
                format!("missing section [enode] for [{key}] kind = \"enode\""),
            ),
            None => {}
        },
        VehicleKind::Cariad => match &raw.cariad {
            Some(c) => {
                super::sections::check_cariad(c, need, &mut |k, m| push(&format!("cariad.{k}"), m))
            }
            None if need => push(
                "cariad",
                format!("missing section [cariad] for [{key}] kind = \"cariad\""),
            ),
            None => {}
        },
        VehicleKind::Mqtt => {
            if v.mqtt
                .as_ref()
                .is_none_or(|m| m.soc.is_none() && m.plugged.is_none())
            {
                push(
                    "vehicle.mqtt",
                    format!(
                        "kind = \"mqtt\" needs [{key}.mqtt] with at least soc or plugged topics"
                    ),
                );
            }
            if let Some(m) = &v.mqtt {
                super::sections::check_mqtt(m, &mut |k, m| push(k, m));
            }
            if need && raw.mqtt.is_none() {
                push(
                    "mqtt",
                    format!(
                        "missing section [mqtt]: [{key}] kind = \"mqtt\" reads from the broker"
                    ),
                );
            }
        }
        VehicleKind::None => {}
    }
}
