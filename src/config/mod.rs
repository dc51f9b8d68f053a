//! `sunplug.toml`: loading, checking every value, resolving secrets and the policy file.
//!
//! Owns: [`Config`] (the validated whole), [`load`] (file → `Config` or every [`Problem`] at once) and
//! [`Needs`] (which parts a command needs, so `probe surplus` works before the charger is set up).
//! The section structs are in `schema.rs`, `surplus.rs` and `vehicle.rs`; reporting is in `diag.rs`.

pub mod diag;
pub mod schema;
pub mod surplus;
pub mod values;
pub mod vehicle;

pub use diag::{Problem, Problems};
pub use schema::*;

use crate::control::controller::ControllerParams;
use crate::control::guard::GuardParams;
use crate::control::policies::{self, LoadedPolicy};
use crate::units::{Amps, Phases, Supply, Volts, Watts};
use chrono_tz::Tz;
use diag::{KeyIndex, parse_all};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use surplus::SurplusSection;
use values::{SecretSource, resolve_secret};
use vehicle::{CariadSection, EnodeSection, VehicleKind, VehicleSection};

/// Which parts of the file a command needs. Sections that are present are always checked; a needed
/// section that is missing, or a needed secret that cannot be read, is a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub mqtt: bool,
    pub surplus: bool,
    pub vehicle: bool,
    pub charger: bool,
    pub policy: bool,
}

impl Needs {
    /// Everything `sunplug run` needs.
    pub const RUN: Needs = Needs {
        mqtt: true,
        surplus: true,
        vehicle: true,
        charger: true,
        policy: true,
    };
    pub const CHARGER: Needs = Needs {
        mqtt: false,
        surplus: false,
        vehicle: false,
        charger: true,
        policy: false,
    };
    pub const SURPLUS: Needs = Needs {
        mqtt: true,
        surplus: true,
        vehicle: false,
        charger: false,
        policy: false,
    };
    pub const VEHICLE: Needs = Needs {
        mqtt: false,
        surplus: false,
        vehicle: true,
        charger: false,
        policy: false,
    };
}

/// Secrets read at load time. Each is `None` when its section is absent or not needed.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub mqtt_password: Option<SecretString>,
    pub smappee_client_secret: Option<SecretString>,
    pub smappee_password: Option<SecretString>,
    pub enode_client_secret: Option<SecretString>,
}

/// The charger's limits, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChargerLimits {
    pub unit: LimitUnit,
    pub floor: Amps,
    /// The station's configured maximum (Smappee's 100 %).
    pub station_max: Amps,
    /// The lowest of station, cable and car maximum.
    pub max: Amps,
}

impl ChargerLimits {
    /// Command resolution: (base, step). Whole amps from 0, or percent steps from the floor.
    pub fn resolution(&self) -> (Amps, Amps) {
        match self.unit {
            LimitUnit::Ampere => (Amps::ZERO, Amps(1.0)),
            LimitUnit::Percentage => (
                self.floor,
                Amps((self.station_max.0 - self.floor.0) / 100.0),
            ),
        }
    }
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub site_name: String,
    pub tz: Tz,
    pub supply: Supply,
    pub main_fuse: Option<Amps>,
    pub control: ControlSection,
    pub policy_path: Option<PathBuf>,
    pub policy: Option<LoadedPolicy>,
    pub mqtt: Option<MqttSection>,
    pub surplus: Option<SurplusSection>,
    pub vehicle: VehicleSection,
    pub enode: Option<EnodeSection>,
    pub cariad: Option<CariadSection>,
    pub charger: Option<ChargerLimits>,
    pub smappee: Option<SmappeeSection>,
    pub logging: LoggingSection,
    pub recording: RecordingSection,
    pub secrets: Secrets,
    pub state_dir: PathBuf,
}

impl Config {
    /// The controller's parameters. Needs the charger section (checked by `load` with `Needs::RUN`).
    pub fn controller_params(&self) -> Option<ControllerParams> {
        let charger = self.charger?;
        let surplus = self.surplus.clone().unwrap_or_default();
        let (step_base, step) = charger.resolution();
        Some(ControllerParams {
            tz: self.tz,
            guard: GuardParams {
                supply: self.supply,
                floor: charger.floor,
                max: charger.max,
                main_fuse: self.main_fuse,
                step,
                step_base,
                ramp_a_per_s: self.control.ramp_a_per_s,
                min_change_interval: self.control.min_change_interval.get(),
            },
            grid_setpoint: Watts(self.control.grid_setpoint_w),
            meter_max_age: surplus.max_age.get(),
            on_stale: surplus.on_stale,
            stale_pause_after: surplus.stale_pause_after.get(),
            vehicle_max_age: self.vehicle.max_age.get(),
            capacity_kwh: self.vehicle.capacity_kwh,
            efficiency: self.control.charge_efficiency,
        })
    }
}

/// Load and check `path` for a command that needs `needs`. Returns every problem found, not just the
/// first: unknown keys (with the nearest valid name), bad values, missing sections and secrets, and
/// the policy file's own problems.
pub fn load(path: &Path, needs: Needs) -> Result<Config, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            key: String::new(),
            line: None,
            message: format!("cannot read the config file: {e}"),
        }])
    })?;
    load_str(path, &text, needs)
}

/// As [`load`], from text already read (`path` names the file and anchors relative paths).
pub fn load_str(path: &Path, text: &str, needs: Needs) -> Result<Config, Problems> {
    let (raw, mut problems) = parse_all::<RawConfig>(path, text);
    let raw = raw.unwrap_or_default();
    let idx = KeyIndex::build(text);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut ck = Checker {
        file: path,
        idx: &idx,
        problems: &mut problems,
    };

    let tz = check_site(&mut ck, &raw.site);
    check_control(&mut ck, &raw.control);
    if let Some(m) = &raw.mqtt {
        if m.host.trim().is_empty() {
            ck.push("mqtt.host", "must not be empty".into());
        }
        if !matches!(m.protocol.as_str(), "3.1.1" | "5") {
            ck.push(
                "mqtt.protocol",
                format!(
                    "\"{}\" is not supported: use \"3.1.1\" or \"5\"",
                    m.protocol
                ),
            );
        }
        for (key, message) in crate::mqtt::check_section(m) {
            ck.push(key, message);
        }
    } else if needs.mqtt {
        ck.push(
            "mqtt",
            "missing section [mqtt]: the surplus comes from an MQTT broker".into(),
        );
    }
    if let Some(s) = &raw.surplus {
        crate::sources::surplus::check_config(s, &mut |k, m| ck.push(&format!("surplus.{k}"), m));
    } else if needs.surplus {
        ck.push(
            "surplus",
            "missing section [surplus]: say where the grid meter (or PV and load) publishes".into(),
        );
    }
    let charger = check_charger(&mut ck, &raw, needs);
    check_vehicle(&mut ck, &raw, needs);

    // Secrets, for the sections this command needs.
    let mut secrets = Secrets::default();
    let rel = |p: &Option<PathBuf>| p.as_ref().map(|p| dir.join(p));
    let secret = |ck: &mut Checker<'_>, src: SecretSource| match resolve_secret(&src) {
        Ok(s) => Some(s),
        Err(e) => {
            ck.push(src.key, e);
            None
        }
    };
    if let (true, Some(m)) = (needs.mqtt, &raw.mqtt)
        && (m.username.is_some() || m.password_file.is_some())
    {
        secrets.mqtt_password = secret(
            &mut ck,
            SecretSource {
                key: "mqtt.password_file",
                file: rel(&m.password_file),
                credential: "mqtt-password",
                env: "SUNPLUG_MQTT_PASSWORD",
            },
        );
    }
    if let (true, Some(s)) = (needs.charger, &raw.smappee) {
        secrets.smappee_client_secret = secret(
            &mut ck,
            SecretSource {
                key: "smappee.client_secret_file",
                file: rel(&s.client_secret_file),
                credential: "smappee-client-secret",
                env: "SUNPLUG_SMAPPEE_CLIENT_SECRET",
            },
        );
        secrets.smappee_password = secret(
            &mut ck,
            SecretSource {
                key: "smappee.password_file",
                file: rel(&s.password_file),
                credential: "smappee-password",
                env: "SUNPLUG_SMAPPEE_PASSWORD",
            },
        );
    }
    if let (true, VehicleKind::Enode, Some(e)) = (needs.vehicle, raw.vehicle.kind, &raw.enode) {
        secrets.enode_client_secret = secret(
            &mut ck,
            SecretSource {
                key: "enode.client_secret_file",
                file: rel(&e.client_secret_file),
                credential: "enode-client-secret",
                env: "SUNPLUG_ENODE_CLIENT_SECRET",
            },
        );
    }

    // The policy file, with its own problems.
    let policy_path = raw.control.policy.as_ref().map(|p| dir.join(p));
    let mut policy = None;
    match (&policy_path, needs.policy) {
        (Some(pp), _) if !pp.is_file() => ck.push(
            "control.policy",
            format!(
                "no policy file at {}: the path is relative to this config file; the shipped ones are in policies/",
                pp.display()
            ),
        ),
        (Some(pp), _) => match policies::load(pp) {
            Ok(p) => {
                if p.needs_soc && raw.vehicle.kind == VehicleKind::None {
                    ck.push(
                        "control.policy",
                        format!(
                            "policy module \"{}\" needs the car's SoC, but [vehicle] kind = \"none\": set kind to \
                             \"enode\", \"cariad\" or \"mqtt\", or choose another policy",
                            p.module
                        ),
                    );
                }
                if p.needs_soc && raw.vehicle.capacity_kwh.is_none() {
                    ck.push(
                        "vehicle.capacity_kwh",
                        format!("policy module \"{}\" plans with the battery size: set it in kWh", p.module),
                    );
                }
                policy = Some(p);
            }
            Err(ps) => ck.problems.extend(ps),
        },
        (None, true) => ck.push(
            "control.policy",
            "missing: name a policy file, e.g. policy = \"policies/pv-only.toml\"".into(),
        ),
        (None, false) => {}
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let site = raw.site;
    Ok(Config {
        path: path.to_path_buf(),
        site_name: site.name,
        tz: tz.unwrap_or(Tz::UTC),
        supply: Supply::new(
            Phases::try_from(site.phases).unwrap_or(Phases::Three),
            Volts(site.voltage_v),
        ),
        main_fuse: site.main_fuse_a.map(Amps),
        state_dir: state_dir(&raw.control, &dir),
        control: raw.control,
        policy_path,
        policy,
        mqtt: raw.mqtt,
        surplus: raw.surplus,
        vehicle: raw.vehicle,
        enode: raw.enode,
        cariad: raw.cariad,
        charger,
        smappee: raw.smappee,
        logging: raw.logging,
        recording: raw.recording,
        secrets,
    })
}

/// `[control] state_dir`, else `$STATE_DIRECTORY` (systemd), else `/var/lib/sunplug`.
fn state_dir(control: &ControlSection, dir: &Path) -> PathBuf {
    if let Some(d) = &control.state_dir {
        return dir.join(d);
    }
    if let Some(d) = std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several, colon-separated: the first is ours.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        if !first.is_empty() {
            return PathBuf::from(first);
        }
    }
    PathBuf::from("/var/lib/sunplug")
}

/// Collects problems with their lines.
pub struct Checker<'a> {
    file: &'a Path,
    idx: &'a KeyIndex,
    problems: &'a mut Problems,
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

fn check_site(ck: &mut Checker<'_>, site: &SiteSection) -> Option<Tz> {
    let tz = match &site.timezone {
        None => {
            ck.push(
                "site.timezone",
                "missing: set the site's IANA timezone, e.g. \"Europe/Brussels\" (departure times are local)".into(),
            );
            None
        }
        Some(name) => {
            match name.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    ck.push(
                    "site.timezone",
                    format!("unknown timezone \"{name}\": use an IANA name such as \"Europe/Brussels\""),
                );
                    None
                }
            }
        }
    };
    if Phases::try_from(site.phases).is_err() {
        ck.push(
            "site.phases",
            format!("{} is not possible: use 1 or 3", site.phases),
        );
    }
    if !(100.0..=260.0).contains(&site.voltage_v) {
        ck.push(
            "site.voltage_v",
            format!(
                "{} V is not a mains phase voltage: use 230 (or 120..260)",
                site.voltage_v
            ),
        );
    }
    if let Some(f) = site.main_fuse_a
        && !(6.0..=400.0).contains(&f)
    {
        ck.push(
            "site.main_fuse_a",
            format!("{f} A is not plausible: use the fuse rating per phase, e.g. 25"),
        );
    }
    tz
}

fn check_control(ck: &mut Checker<'_>, c: &ControlSection) {
    let interval = c.interval.as_secs_f64();
    if !(1.0..=300.0).contains(&interval) {
        ck.push(
            "control.interval",
            format!(
                "{} is out of range: use 1s..5m (10s is a good start)",
                c.interval
            ),
        );
    }
    if c.min_change_interval.as_secs_f64() < 5.0 {
        ck.push(
            "control.min_change_interval",
            format!(
                "{} is too short: cars need at least 5s between current changes (IEC 61851)",
                c.min_change_interval
            ),
        );
    }
    if !(c.ramp_a_per_s > 0.0 && c.ramp_a_per_s.is_finite()) {
        ck.push(
            "control.ramp_a_per_s",
            "must be more than 0 (1.0 is a good start)".into(),
        );
    }
    if !(0.5..=1.0).contains(&c.charge_efficiency) {
        ck.push(
            "control.charge_efficiency",
            format!("{} is not plausible: use 0.5..1.0", c.charge_efficiency),
        );
    }
    if c.grid_setpoint_w.abs() > 5000.0 {
        ck.push(
            "control.grid_setpoint_w",
            format!(
                "{} W is not plausible: use a value within ±5000",
                c.grid_setpoint_w
            ),
        );
    }
}

fn check_charger(ck: &mut Checker<'_>, raw: &RawConfig, needs: Needs) -> Option<ChargerLimits> {
    let Some(c) = &raw.charger else {
        if needs.charger {
            ck.push(
                "charger",
                "missing section [charger]: set at least max_current_a".into(),
            );
        }
        return None;
    };
    if c.kind != "smappee" {
        ck.push(
            "charger.kind",
            format!(
                "\"{}\" is not supported: the only charger kind is \"smappee\"",
                c.kind
            ),
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
    if let Some(car) = raw.vehicle.max_current_a
        && car < c.min_current_a
    {
        ck.push(
            "vehicle.max_current_a",
            format!("{car} A is below the floor ({} A)", c.min_current_a),
        );
    }
    match &raw.smappee {
        Some(s) => crate::chargers::smappee::check_config(s, needs.charger, &mut |k, m| {
            ck.push(&format!("smappee.{k}"), m)
        }),
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

fn check_vehicle(ck: &mut Checker<'_>, raw: &RawConfig, needs: Needs) {
    let v = &raw.vehicle;
    if let Some(cap) = v.capacity_kwh
        && !(5.0..=250.0).contains(&cap)
    {
        ck.push(
            "vehicle.capacity_kwh",
            format!("{cap} kWh is not plausible: use the usable capacity, 5..250"),
        );
    }
    let need = needs.vehicle;
    match v.kind {
        VehicleKind::Enode => match &raw.enode {
            Some(e) => crate::sources::vehicle::check_enode(e, need, &mut |k, m| {
                ck.push(&format!("enode.{k}"), m)
            }),
            None if need => ck.push(
                "enode",
                "missing section [enode] for [vehicle] kind = \"enode\"".into(),
            ),
            None => {}
        },
        VehicleKind::Cariad => match &raw.cariad {
            Some(c) => crate::sources::vehicle::check_cariad(c, need, &mut |k, m| {
                ck.push(&format!("cariad.{k}"), m)
            }),
            None if need => ck.push(
                "cariad",
                "missing section [cariad] for [vehicle] kind = \"cariad\"".into(),
            ),
            None => {}
        },
        VehicleKind::Mqtt => {
            if v.mqtt
                .as_ref()
                .is_none_or(|m| m.soc.is_none() && m.plugged.is_none())
            {
                ck.push(
                    "vehicle.mqtt",
                    "kind = \"mqtt\" needs [vehicle.mqtt] with at least soc or plugged topics"
                        .into(),
                );
            }
            if let Some(m) = &v.mqtt {
                crate::sources::vehicle::check_mqtt(m, &mut |k, m| ck.push(k, m));
            }
            if need && raw.mqtt.is_none() {
                ck.push(
                    "mqtt",
                    "missing section [mqtt]: [vehicle] kind = \"mqtt\" reads from the broker"
                        .into(),
                );
            }
        }
        VehicleKind::None => {}
    }
}
