//! Scenario files (`simulations/*.toml`): which data, which site, car, charger, meter and vehicle API,
//! and which policies to compare.
//!
//! Owns: the file's schema (strict: every unknown key is reported with its line and the nearest valid
//! name, through `config::diag::parse_all`), [`Scenario`] (the checked, resolved whole: paths made
//! relative to the scenario's directory, durations in ms) and [`load`]. The model sections' meaning
//! is documented on their structs in `spec.rs` and in `simulations/README.md`.

use super::data::Label;
use super::forecast::ForecastSpec;
use super::loadpoints::{self, LoadpointModel, RawLoadpoint, RawVariant, Variant};
use super::spec::{CarSpec, ChargerSpec, ControlSpec, DataSpec, MeterSpec, VehicleApiSpec};
use super::tariff::TariffSpec;
use crate::config::diag::{KeyIndex, Problem, Problems, parse_all};
use crate::config::schema::SiteSection;
use crate::config::values::{HumanDuration, LocalTime};
use crate::config::{Feeds, Site, controller_params};
use crate::control::ControllerParams;
use crate::units::{Amps, Phases, Supply};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawScenario {
    name: Option<String>,
    description: String,
    step: HumanDuration,
    policies: Vec<PathBuf>,
    data: RawData,
    site: SiteSection,
    control: ControlSpec,
    car: RawCar,
    charger: ChargerSpec,
    meter: MeterSpec,
    vehicle_api: VehicleApiSpec,
    tariff: TariffSpec,
    forecast: ForecastSpec,
    loadpoint: Vec<RawLoadpoint>,
    variant: Vec<RawVariant>,
}

impl Default for RawScenario {
    fn default() -> RawScenario {
        RawScenario {
            name: None,
            description: String::new(),
            step: HumanDuration::secs(1),
            policies: Vec::new(),
            data: RawData::default(),
            site: SiteSection::default(),
            control: ControlSpec::default(),
            car: RawCar::default(),
            charger: ChargerSpec::default(),
            meter: MeterSpec::default(),
            vehicle_api: VehicleApiSpec::default(),
            tariff: TariffSpec::default(),
            forecast: ForecastSpec::default(),
            loadpoint: Vec::new(),
            variant: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawData {
    /// A corpus directory (pv/ and load/ paired by date), replayed day by day like `--days DIR`.
    days: Option<PathBuf>,
    pv: Option<PathBuf>,
    load: Option<PathBuf>,
    net: Option<PathBuf>,
    pv_scale: f64,
    load_scale: f64,
    label: Label,
    max_gap: HumanDuration,
    start: Option<String>,
    end: Option<String>,
}

impl Default for RawData {
    fn default() -> RawData {
        RawData {
            days: None,
            pv: None,
            load: None,
            net: None,
            pv_scale: 1.0,
            load_scale: 1.0,
            label: Label::Start,
            max_gap: HumanDuration::secs(15 * 60),
            start: None,
            end: None,
        }
    }
}

/// `[car]` as written; `capacity_kwh` and `start_soc` have no sensible default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCar {
    capacity_kwh: Option<f64>,
    start_soc: Option<f64>,
    target_soc: f64,
    plug_in: Option<LocalTime>,
    departure: Option<LocalTime>,
    stay_days: Option<u32>,
    phases: Option<u8>,
    max_current_a: f64,
    taper_soc: f64,
    response_delay: HumanDuration,
    start_delay: HumanDuration,
    efficiency: f64,
}

impl Default for RawCar {
    fn default() -> RawCar {
        RawCar {
            capacity_kwh: None,
            start_soc: None,
            target_soc: 100.0,
            plug_in: None,
            departure: None,
            stay_days: None,
            phases: None,
            max_current_a: 16.0,
            taper_soc: 80.0,
            response_delay: HumanDuration::secs(2),
            start_delay: HumanDuration::secs(10),
            efficiency: 0.9,
        }
    }
}

/// A checked scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub step_ms: i64,
    /// Policy files, resolved against the scenario's directory.
    pub policies: Vec<PathBuf>,
    pub data: DataSpec,
    pub site_name: String,
    pub tz: Tz,
    /// The site's supply: the phases the controller is configured for.
    pub supply: Supply,
    pub main_fuse: Option<Amps>,
    pub control: ControlSpec,
    pub car: CarSpec,
    pub charger: ChargerSpec,
    pub meter: MeterSpec,
    pub vehicle_api: VehicleApiSpec,
    /// `[tariff]`, or the documented default when absent.
    pub tariff: TariffSpec,
    /// `[forecast]`: what a planning policy is told about the coming sun.
    pub forecast: ForecastSpec,
    /// `[[loadpoint]]`: several cars on the site (empty: the one `[car]` and `[charger]` above, which
    /// otherwise hold the first loadpoint's).
    pub loadpoints: Vec<LoadpointModel>,
    /// `[[variant]]`: the ways of sharing to compare (empty: the loadpoints' own priorities).
    pub variants: Vec<Variant>,
}

/// `[control]` keys that only the service uses, and why a scenario has no use for them.
const SERVICE_ONLY: [(&str, &str); 3] = [
    (
        "control.policy",
        "a scenario compares the policy files listed in `policies`",
    ),
    (
        "control.state_dir",
        "the simulator keeps no state between runs",
    ),
    (
        "control.on_shutdown",
        "a replayed day does not stop the service",
    ),
];

impl Scenario {
    /// The site as `[site]` resolved it.
    pub fn site(&self) -> Site {
        Site {
            tz: self.tz,
            supply: self.supply,
            main_fuse: self.main_fuse,
        }
    }

    /// The controller's parameters: the daemon's one builder ([`controller_params`]) on this site,
    /// its `[control]`, its charger and car, and the meter's and the car API's freshness.
    pub fn controller_params(&self) -> ControllerParams {
        let feeds = Feeds {
            meter_max_age: self.meter.max_age.get(),
            on_stale: self.meter.on_stale,
            stale_pause_after: self.meter.stale_pause_after.get(),
            vehicle_max_age: self.vehicle_api.max_age.get(),
            capacity_kwh: Some(self.car.capacity_kwh),
        };
        controller_params(
            &self.site(),
            &self.control,
            &self.charger.limits(self.car.max_current),
            &feeds,
        )
    }

    /// Watts per amp of the car's onboard charger.
    pub fn car_watts_per_amp(&self) -> f64 {
        self.supply.voltage.0 * f64::from(self.car.phases.count())
    }
}

/// Read and check a scenario file, reporting every problem at once.
pub fn load(path: &Path) -> Result<Scenario, Problems> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file (the shipped scenarios are in simulations/)".to_string()
        } else {
            e.to_string()
        };
        Problems(vec![problem(
            path,
            "",
            None,
            format!("cannot read the scenario: {why}"),
        )])
    })?;
    load_str(path, &text)
}

fn problem(path: &Path, key: &str, line: Option<usize>, message: String) -> Problem {
    Problem {
        file: path.to_path_buf(),
        key: key.to_string(),
        line,
        message,
    }
}

/// As [`load`], from text (`path` names it and anchors relative paths).
pub fn load_str(path: &Path, text: &str) -> Result<Scenario, Problems> {
    let (raw, mut problems) = parse_all::<RawScenario>(path, text);
    let Some(mut raw) = raw else {
        return Err(problems);
    };
    let idx = KeyIndex::build(text);
    let mut push =
        |key: &str, message: String| problems.push(problem(path, key, idx.line(key), message));
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

    let step_ms = raw.step.get().as_millis() as i64;
    if !(100..=60_000).contains(&step_ms) {
        push(
            "step",
            format!(
                "{} is out of range: use 100ms..1m (1s is the default)",
                raw.step
            ),
        );
    }
    if raw.policies.is_empty() {
        push(
            "policies",
            "missing: list the policy files to compare, e.g. [\"../policies/pv-only.toml\"]".into(),
        );
    }

    // [data]
    let d = &raw.data;
    if let Some(days) = &d.days {
        check_days(&dir.join(days), d, &mut push);
    } else {
        check_series(d, &mut push);
    }
    for (key, v) in [
        ("data.pv_scale", d.pv_scale),
        ("data.load_scale", d.load_scale),
    ] {
        if !(v > 0.0 && v.is_finite()) {
            push(key, format!("{v} must be more than 0"));
        }
    }
    let mut time = |key: &str, s: &Option<String>| {
        s.as_ref()
            .and_then(|s| match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.with_timezone(&Utc).timestamp_millis()),
                Err(_) => {
                    push(
                        key,
                        format!("\"{s}\" is not an RFC 3339 time, e.g. \"2016-06-17T04:00:00Z\""),
                    );
                    None
                }
            })
    };
    let (start, end) = (time("data.start", &d.start), time("data.end", &d.end));
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        push("data.end", "must be after data.start".into());
    }

    // [site] and [control]: the config's own sections and checks.
    let site = raw.site.resolve(&mut push);
    raw.control.check(&mut push);
    for (key, why) in SERVICE_ONLY {
        if idx.has(key) {
            push(
                key,
                format!("only used by the service (sunplug.toml): {why}"),
            );
        }
    }
    raw.charger.check(&mut push);
    raw.meter.check(&mut push);
    raw.vehicle_api.check(&mut push);
    raw.tariff.check(&mut push);
    raw.tariff.load_csv(&dir, &mut push);
    raw.forecast.check(&mut push);
    let multi = !raw.loadpoint.is_empty();
    if multi && idx.has("car") {
        push(
            "car",
            "a scenario with [[loadpoint]] gives each loadpoint its own [loadpoint.car]: remove [car]"
                .into(),
        );
    }
    let (lps, variants) = loadpoints::resolve(
        &raw.loadpoint,
        &raw.variant,
        site.supply.phases,
        &raw.charger,
        &dir,
        &mut push,
    );
    let car = if multi {
        lps.first().map(|l| l.car.clone())
    } else {
        check_car(&raw.car, site.supply.phases, &raw.charger, &mut push)
    };

    if !problems.is_empty() {
        problems.0.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        return Err(problems);
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        name: raw.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        description: raw.description,
        step_ms,
        policies: raw.policies.iter().map(|p| dir.join(p)).collect(),
        data: DataSpec {
            pv: raw.data.pv.map(|p| dir.join(p)),
            load: raw.data.load.map(|p| dir.join(p)),
            net: raw.data.net.map(|p| dir.join(p)),
            days: raw.data.days.map(|p| dir.join(p)),
            pv_scale: raw.data.pv_scale,
            load_scale: raw.data.load_scale,
            label: raw.data.label,
            max_gap_ms: raw.data.max_gap.get().as_millis() as i64,
            start_ms: start,
            end_ms: end,
        },
        site_name: raw.site.name,
        tz: site.tz,
        supply: site.supply,
        main_fuse: site.main_fuse,
        control: raw.control,
        car: car.expect("checked above"),
        charger: lps.first().map_or(raw.charger, |l| l.charger.clone()),
        meter: raw.meter,
        vehicle_api: raw.vehicle_api,
        tariff: raw.tariff,
        forecast: raw.forecast,
        loadpoints: lps,
        variants,
    })
}

/// `[data]` without `days`: pv and load, or net.
fn check_series(d: &RawData, push: &mut impl FnMut(&str, String)) {
    match (&d.pv, &d.load, &d.net) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => push(
            "data.net",
            "give either pv and load, or net, not both".into(),
        ),
        (Some(_), Some(_), None) | (None, None, Some(_)) => {}
        (None, None, None) => push(
            "data",
            "missing: set pv and load (CSV files), or net, or days (a corpus directory)".into(),
        ),
        (Some(_), None, None) => push(
            "data.load",
            "missing: pv needs a load file (or use net)".into(),
        ),
        (None, Some(_), None) => push(
            "data.pv",
            "missing: load needs a pv file (or use net)".into(),
        ),
    }
}

/// `[data] days`: a directory that exists, and no single-day files beside it.
fn check_days(dir: &Path, d: &RawData, push: &mut impl FnMut(&str, String)) {
    if d.pv.is_some() || d.load.is_some() || d.net.is_some() {
        push(
            "data.days",
            "give either days (a corpus directory), or pv and load, or net: not both".into(),
        );
    }
    if !dir.is_dir() {
        push(
            "data.days",
            format!(
                "{} is not a directory: days names a corpus directory with pv/ and load/ folders \
                 of CSV days (relative to the scenario file)",
                dir.display()
            ),
        );
    }
}

pub(super) fn check_car(
    c: &RawCar,
    site_phases: Phases,
    charger: &ChargerSpec,
    push: &mut impl FnMut(&str, String),
) -> Option<CarSpec> {
    let pct = |v: f64| (0.0..=100.0).contains(&v);
    let capacity = match c.capacity_kwh {
        None => {
            push(
                "car.capacity_kwh",
                "missing: the usable battery capacity in kWh, e.g. 58".into(),
            );
            None
        }
        Some(v) if !(5.0..=250.0).contains(&v) => {
            push(
                "car.capacity_kwh",
                format!("{v} kWh is not plausible: use 5..250"),
            );
            None
        }
        Some(v) => Some(v),
    };
    let start = match c.start_soc {
        None => {
            push(
                "car.start_soc",
                "missing: the SoC in % the car arrives with, e.g. 30".into(),
            );
            None
        }
        Some(v) if !pct(v) => {
            push("car.start_soc", format!("{v} is not a SoC: use 0..=100"));
            None
        }
        Some(v) => Some(v),
    };
    if !pct(c.target_soc) {
        push(
            "car.target_soc",
            format!("{} is not a SoC: use 0..=100", c.target_soc),
        );
    }
    if c.plug_in.is_some() != c.departure.is_some() {
        push(
            "car.departure",
            "set both plug_in and departure (a daily session), or neither (plugged in all the time)".into(),
        );
    }
    if let Some(n) = c.stay_days
        && (n > 14 || c.departure.is_none())
    {
        push(
            "car.stay_days",
            format!("{n}: use 0..=14 days, with plug_in and departure set"),
        );
    }
    let phases = match c.phases.map(Phases::try_from) {
        None => site_phases,
        Some(Ok(p)) if p.count() <= site_phases.count() => p,
        Some(Ok(p)) => {
            push(
                "car.phases",
                format!("{p} is more than the site's {site_phases}"),
            );
            site_phases
        }
        Some(Err(e)) => {
            push("car.phases", e);
            site_phases
        }
    };
    if c.max_current_a < charger.min_current_a || c.max_current_a > 80.0 {
        push(
            "car.max_current_a",
            format!(
                "{} A is out of range: from the floor ({} A) to 80",
                c.max_current_a, charger.min_current_a
            ),
        );
    }
    if !(0.0..100.0).contains(&c.taper_soc) {
        push(
            "car.taper_soc",
            format!("{} must be within 0..100", c.taper_soc),
        );
    }
    if !(0.5..=1.0).contains(&c.efficiency) {
        push(
            "car.efficiency",
            format!("{} is not plausible: use 0.5..1.0", c.efficiency),
        );
    }
    Some(CarSpec {
        capacity_kwh: capacity?,
        start_soc: start?,
        target_soc: c.target_soc,
        plug_in: c.plug_in,
        departure: c.departure,
        stay_days: c.stay_days,
        phases,
        max_current: Amps(c.max_current_a),
        taper_soc: c.taper_soc,
        response_delay_ms: c.response_delay.get().as_millis() as i64,
        start_delay_ms: c.start_delay.get().as_millis() as i64,
        efficiency: c.efficiency,
    })
}
