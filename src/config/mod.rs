//! `sunplug.toml`: loading, checking every value, resolving secrets and the policy file.
//!
//! Owns: [`Config`] (the validated whole), [`load`] (file → `Config` or every [`Problem`] at once) and
//! [`Needs`] (which parts a command needs, so `probe surplus` works before the charger is set up).
//! The section structs are in `schema.rs`, `surplus.rs` and `vehicle.rs`; reporting is in `diag.rs`;
//! the one way from sections to the controller's parameters (for the daemon and the simulator) is in
//! `params.rs`; policy files and their scripts are read in `policy_file.rs`.

mod checks;
pub mod loadpoint;
pub use crate::diag;
pub mod forecast;
pub mod ocpp;
mod params;
mod policy_file;
pub mod prices;
pub mod schema;
pub mod sections;
pub mod surplus;
pub mod values;
pub mod vehicle;

pub use diag::{Problem, Problems};
pub use loadpoint::{ChargerRef, Line, Loadpoint};
pub use params::{ChargerLimits, Feeds, Site, controller_params};
pub use policy_file::{load_policy, load_policy_str};
pub use schema::*;

use crate::control::controller::ControllerParams;
use crate::control::policies::LoadedPolicy;
use crate::units::{Amps, Supply};
use checks::{Checker, check_charger, check_control, check_vehicle};
use chrono_tz::Tz;
use diag::{KeyIndex, parse_all};
use secrecy::{ExposeSecret, SecretString};
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
    /// `[prices] token_file`: the ENTSO-E or Tibber API token.
    pub prices_token: Option<SecretString>,
    /// OCPP charge points' Basic auth passwords, by charge point id.
    pub ocpp_passwords: std::collections::BTreeMap<String, SecretString>,
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
    /// `[charger] on_manual_change` and `manual_grace`.
    pub on_manual_change: schema::OnManualChange,
    pub manual_grace: std::time::Duration,
    pub smappee: Option<SmappeeSection>,
    /// `[charger] kind`.
    pub charger_kind: ocpp::ChargerKind,
    pub ocpp: Option<ocpp::OcppSection>,
    pub logging: LoggingSection,
    pub recording: RecordingSection,
    /// `[prices]`, when the site plans with prices.
    pub prices: Option<prices::PricesSection>,
    /// The loadpoints: the `[[loadpoint]]` tables, or the one of the single form (named
    /// [`loadpoint::SINGLE`], its policy in `policy`). Empty when the charger is not configured.
    pub loadpoints: Vec<Loadpoint>,
    /// The policies of `[[loadpoint]]` tables, one per loadpoint (empty in the single form: see
    /// [`Config::take_loadpoint_policies`]).
    pub loadpoint_policies: Vec<Option<LoadedPolicy>>,
    /// `[forecast]`, when the site plans with a solar forecast.
    pub forecast: Option<forecast::ForecastSection>,
    pub secrets: Secrets,
    pub state_dir: PathBuf,
    /// Not errors, but worth saying: e.g. secrets still holding the example's `REPLACE-ME`.
    pub warnings: Problems,
}

impl Config {
    /// The site as `[site]` resolved it.
    pub fn site(&self) -> Site {
        Site {
            tz: self.tz,
            supply: self.supply,
            main_fuse: self.main_fuse,
        }
    }

    /// Whether the file lists `[[loadpoint]]` tables (else it is the single form).
    pub fn has_loadpoint_tables(&self) -> bool {
        self.loadpoints.iter().any(|l| !l.single)
    }

    /// Each loadpoint's policy, in the order of [`Config::loadpoints`] (taken: the daemon owns them).
    pub fn take_loadpoint_policies(&mut self) -> Vec<Option<LoadedPolicy>> {
        if self.has_loadpoint_tables() {
            std::mem::take(&mut self.loadpoint_policies)
        } else {
            vec![self.policy.take()]
        }
    }

    /// The controller's parameters for one loadpoint: the site's, with the loadpoint's limits,
    /// phases and car.
    pub fn loadpoint_params(&self, lp: &Loadpoint) -> ControllerParams {
        let surplus = self.surplus.clone().unwrap_or_default();
        let feeds = Feeds {
            meter_max_age: surplus.max_age.get(),
            on_stale: surplus.on_stale,
            stale_pause_after: surplus.stale_pause_after.get(),
            vehicle_max_age: lp.vehicle.max_age.get(),
            capacity_kwh: lp.vehicle.capacity_kwh,
        };
        let mut site = self.site();
        site.supply = Supply::new(lp.phases, site.supply.voltage);
        controller_params(&site, &self.control, &lp.limits, &feeds)
    }

    /// The controller's parameters ([`controller_params`], as the simulator builds them for a
    /// scenario). Needs the charger section (checked by `load` with `Needs::RUN`).
    pub fn controller_params(&self) -> Option<ControllerParams> {
        let charger = self.charger?;
        let surplus = self.surplus.clone().unwrap_or_default();
        let feeds = Feeds {
            meter_max_age: surplus.max_age.get(),
            on_stale: surplus.on_stale,
            stale_pause_after: surplus.stale_pause_after.get(),
            vehicle_max_age: self.vehicle.max_age.get(),
            capacity_kwh: self.vehicle.capacity_kwh,
        };
        Some(controller_params(
            &self.site(),
            &self.control,
            &charger,
            &feeds,
        ))
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
    // A file that does not parse at all (e.g. one unquoted value) is one problem: checking the
    // defaults that stand in for it would only add "missing section" noise.
    let Some(raw) = raw else {
        return Err(problems);
    };
    let idx = KeyIndex::build(text);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut ck = Checker {
        file: path,
        idx: &idx,
        problems: &mut problems,
    };

    let site = raw.site.resolve(&mut |k, m| ck.push(k, m));
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
        for (key, message) in sections::check_mqtt_broker(m) {
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
    if let Some(p) = &raw.prices {
        for (key, message) in p.check() {
            ck.push(&format!("prices.{key}"), message);
        }
        if p.source == prices::PriceSource::Mqtt && raw.mqtt.is_none() {
            ck.push(
                "prices.source",
                "\"mqtt\" reads the list from the broker of [mqtt]: add that section".into(),
            );
        }
    }
    if let Some(f) = &raw.forecast {
        for (key, message) in f.check() {
            ck.push(&format!("forecast.{key}"), message);
        }
        if f.source == Some(forecast::ForecastSource::Mqtt) && raw.mqtt.is_none() {
            ck.push(
                "forecast.source",
                "source = \"mqtt\" needs the [mqtt] section (the broker the forecast is published on)"
                    .into(),
            );
        }
    }
    let charger = check_charger(&mut ck, &raw, needs);
    if raw.loadpoint.is_empty() {
        check_vehicle(&mut ck, &raw.vehicle, "vehicle", &raw, needs);
    }
    for (i, l) in raw.loadpoint.iter().enumerate() {
        if let Some(v) = &l.vehicle {
            check_vehicle(&mut ck, v, &format!("loadpoint[{i}].vehicle"), &raw, needs);
        } else if raw.loadpoint.len() == 1 {
            check_vehicle(&mut ck, &raw.vehicle, "vehicle", &raw, needs);
        }
    }
    let charger_kind = raw
        .charger
        .as_ref()
        .and_then(|c| ocpp::ChargerKind::parse(&c.kind))
        .unwrap_or_default();
    let loadpoints = loadpoint::resolve(
        &raw.loadpoint,
        &loadpoint::Context {
            site: &site,
            kind: charger_kind,
            charger: charger.as_ref(),
            smappee: raw.smappee.as_ref(),
            ocpp: raw.ocpp.as_ref(),
            vehicle: &raw.vehicle,
            vehicle_written: idx.has("vehicle"),
            policy: raw.control.policy.as_ref().map(|p| dir.join(p)),
            dir: dir.clone(),
            needs_policy: needs.policy,
        },
        &mut |k, m| ck.push(k, m),
    );
    let vehicle_kinds: Vec<VehicleKind> = if raw.loadpoint.is_empty() {
        vec![raw.vehicle.kind]
    } else {
        loadpoints.iter().map(|l| l.vehicle.kind).collect()
    };

    // Secrets, for the sections this command needs.
    let mut secrets = Secrets::default();
    let mut warnings = Problems::default();
    let rel = |p: &Option<PathBuf>| p.as_ref().map(|p| dir.join(p));
    let mut secret = |ck: &mut Checker<'_>, src: SecretSource| match resolve_secret(&src) {
        Ok(s) => {
            if s.expose_secret().contains(PLACEHOLDER) {
                warnings.push(Problem {
                    file: path.to_path_buf(),
                    key: src.key.to_string(),
                    line: idx.line(src.key),
                    message: format!(
                        "the secret is still the example's placeholder {PLACEHOLDER}: put the real one in its file \
                         (or the systemd credential \"{}\", or {})",
                        src.credential, src.env
                    ),
                });
            }
            Some(s)
        }
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
    if let (true, ocpp::ChargerKind::Ocpp, Some(o)) = (needs.charger, charger_kind, &raw.ocpp) {
        for cp in &o.charge_points {
            match ocpp::charge_point_password(cp, &dir) {
                Ok(Some(pw)) => {
                    secrets.ocpp_passwords.insert(cp.id.clone(), pw);
                }
                Ok(None) => {}
                Err(e) => ck.push("ocpp.charge_points", e),
            }
        }
    }
    if let (true, ocpp::ChargerKind::Smappee, Some(s)) = (needs.charger, charger_kind, &raw.smappee)
    {
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
    if let (true, true, Some(e)) = (
        needs.vehicle,
        vehicle_kinds.contains(&VehicleKind::Enode),
        &raw.enode,
    ) {
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

    // The price provider's token: the commands that plan (they need the policy) read it.
    if let (true, Some(p)) = (needs.policy, &raw.prices)
        && p.source.needs_token()
    {
        let (credential, env) = match p.source {
            prices::PriceSource::Tibber => ("tibber-token", "SUNPLUG_TIBBER_TOKEN"),
            _ => ("entsoe-token", "SUNPLUG_ENTSOE_TOKEN"),
        };
        secrets.prices_token = secret(
            &mut ck,
            SecretSource {
                key: "prices.token_file",
                file: rel(&p.token_file),
                credential,
                env,
            },
        );
    }

    // The policy file, with its own problems.
    let policy_path = raw.control.policy.as_ref().map(|p| dir.join(p));
    let mut policy = None;
    let mut loadpoint_policies = Vec::new();
    if !raw.loadpoint.is_empty() {
        for (i, lp) in loadpoints.iter().enumerate() {
            loadpoint_policies.push(loadpoint_policy(&mut ck, i, lp));
        }
    }
    match (&policy_path, needs.policy && raw.loadpoint.is_empty()) {
        (Some(_), _) if !raw.loadpoint.is_empty() => {}
        (Some(pp), _) if !pp.is_file() => ck.push(
            "control.policy",
            format!(
                "no policy file at {}: the path is relative to this config file; the shipped ones are in policies/",
                pp.display()
            ),
        ),
        (Some(pp), _) => match load_policy(pp) {
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
    placeholder_warnings(path, text, &mut warnings);
    warnings.sort();
    Ok(Config {
        path: path.to_path_buf(),
        site_name: raw.site.name,
        tz: site.tz,
        supply: site.supply,
        main_fuse: site.main_fuse,
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
        on_manual_change: raw.charger.as_ref().map_or_else(
            || schema::ChargerSection::default().on_manual_change,
            |c| c.on_manual_change,
        ),
        manual_grace: raw
            .charger
            .as_ref()
            .map_or_else(
                || schema::ChargerSection::default().manual_grace,
                |c| c.manual_grace,
            )
            .get(),
        smappee: raw.smappee,
        charger_kind,
        ocpp: raw.ocpp,
        logging: raw.logging,
        recording: raw.recording,
        prices: raw.prices,
        loadpoints,
        loadpoint_policies,
        forecast: raw.forecast,
        secrets,
        warnings,
    })
}

/// Load the policy of `[[loadpoint]]` number `i` and check it against its car.
fn loadpoint_policy(ck: &mut Checker<'_>, i: usize, lp: &Loadpoint) -> Option<LoadedPolicy> {
    let key = |k: &str| format!("loadpoint[{i}].{k}");
    let pp = lp.policy_path.as_ref()?;
    if !pp.is_file() {
        ck.push(
            &key("policy"),
            format!(
                "no policy file at {} (loadpoint \"{}\"): the path is relative to this config file; \
                 the shipped ones are in policies/",
                pp.display(),
                lp.name
            ),
        );
        return None;
    }
    match load_policy(pp) {
        Ok(p) => {
            if p.needs_soc && lp.vehicle.kind == VehicleKind::None {
                ck.push(
                    &key("policy"),
                    format!(
                        "policy module \"{}\" needs the car's SoC, but loadpoint \"{}\" has no vehicle: \
                         set [loadpoint.vehicle] kind, or choose another policy",
                        p.module, lp.name
                    ),
                );
            }
            if p.needs_soc && lp.vehicle.capacity_kwh.is_none() {
                ck.push(
                    &key("vehicle.capacity_kwh"),
                    format!(
                        "policy module \"{}\" plans with the battery size: set it in kWh",
                        p.module
                    ),
                );
            }
            Some(p)
        }
        Err(ps) => {
            ck.problems.extend(ps);
            None
        }
    }
}

/// The word the shipped examples use where a real value must go.
pub const PLACEHOLDER: &str = "REPLACE-ME";

/// Warnings for values still holding [`PLACEHOLDER`] in the config text itself.
fn placeholder_warnings(path: &Path, text: &str, warnings: &mut Problems) {
    for (n, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or_default();
        if code.contains(PLACEHOLDER) {
            let key = code.split('=').next().unwrap_or_default().trim();
            warnings.push(Problem {
                file: path.to_path_buf(),
                key: String::new(),
                line: Some(n + 1),
                message: format!("`{key}` is still the example's placeholder {PLACEHOLDER}"),
            });
        }
    }
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
