//! `[forecast]` in `sunplug.toml`: where the solar forecast comes from, the PV array it is for, and
//! the house load subtracted from it (the plan wants surplus, not PV power).
//!
//! Owns: [`ForecastSection`] (with its `[[forecast.planes]]`, [`Plane`]) and its check, which
//! reports every problem with its key (`forecast.planes[1].azimuth`). Sources:
//!
//! - `forecast_solar`: forecast.solar's public estimate, one call per plane (12 calls an hour per
//!   IP on the free tier, so `refresh` must leave room for every plane);
//! - `open_meteo`: Open-Meteo's irradiance forecast turned into PV power with the array model
//!   (`irradiance = "tilted"`: the API's plane-of-array irradiance; `"ghi"`: GHI and diffuse with
//!   the crate's solar geometry);
//! - `mqtt`: a forecast another tool publishes on `topic` (shapes in `sources::forecast::mqtt`).
//!
//! The house load is a configured baseline (`house_load_w`) or a table of 24 local hours
//! (`house_load_by_hour`); the clients and the mapping live in `sources::forecast`.

use super::values::HumanDuration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastSource {
    /// forecast.solar's public estimate endpoint.
    ForecastSolar,
    /// Open-Meteo's irradiance forecast and the array model.
    OpenMeteo,
    /// A forecast published on an MQTT topic.
    Mqtt,
}

/// What Open-Meteo is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Irradiance {
    /// `minutely_15=global_tilted_irradiance` with the plane's `tilt` and `azimuth`: one call per plane.
    #[default]
    Tilted,
    /// `hourly=shortwave_radiation,diffuse_radiation` once, transposed to each plane here.
    Ghi,
}

/// One PV array: its tilt, its orientation and its peak power.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plane {
    /// Tilt from horizontal: 0 (flat) … 90 (vertical), degrees.
    pub declination: f64,
    /// -180 … 180 degrees: -90 east, 0 south, 90 west, ±180 north (forecast.solar's and
    /// Open-Meteo's convention).
    pub azimuth: f64,
    /// Installed module power, kWp.
    pub kwp: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastSection {
    pub source: Option<ForecastSource>,
    /// The site, degrees (north and east positive): for the HTTP sources.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub planes: Vec<Plane>,
    /// `open_meteo`: what reaches the AC side of the irradiance on the modules (inverter, wiring,
    /// temperature, soiling), 0.5 … 1.
    pub efficiency: f64,
    /// `open_meteo`: which irradiance to ask for.
    pub irradiance: Irradiance,
    /// `open_meteo` with `irradiance = "ghi"`: ground reflectance.
    pub albedo: f64,
    /// `mqtt`: the topic the forecast is published on.
    pub topic: Option<String>,
    /// The API's base URL (tests aim it at the emulator).
    pub base_url: Option<String>,
    /// Fetch this often.
    pub refresh: HumanDuration,
    /// A forecast older than this is ignored (the plan then counts on no sun).
    pub max_age: HumanDuration,
    /// The house's expected load, W, subtracted from the PV forecast.
    pub house_load_w: Option<f64>,
    /// Or 24 values by local hour (0..23), W.
    pub house_load_by_hour: Option<Vec<f64>>,
}

impl Default for ForecastSection {
    fn default() -> ForecastSection {
        ForecastSection {
            source: None,
            latitude: None,
            longitude: None,
            planes: Vec::new(),
            efficiency: 0.85,
            irradiance: Irradiance::Tilted,
            albedo: 0.2,
            topic: None,
            base_url: None,
            refresh: HumanDuration::secs(3600),
            max_age: HumanDuration::secs(6 * 3600),
            house_load_w: None,
            house_load_by_hour: None,
        }
    }
}

/// forecast.solar's free tier: calls per hour per IP.
pub const FORECAST_SOLAR_CALLS_PER_HOUR: u32 = 12;
/// Neither provider changes its forecast more often than every 15 minutes.
const MIN_REFRESH_S: f64 = 900.0;

fn load_ok(w: f64) -> bool {
    w.is_finite() && (0.0..=50_000.0).contains(&w)
}

impl ForecastSection {
    fn is_http(&self) -> bool {
        matches!(
            self.source,
            Some(ForecastSource::ForecastSolar | ForecastSource::OpenMeteo)
        )
    }

    /// Calls one refresh makes.
    pub fn calls_per_refresh(&self) -> u32 {
        match (self.source, self.irradiance) {
            (Some(ForecastSource::ForecastSolar), _)
            | (Some(ForecastSource::OpenMeteo), Irradiance::Tilted) => self.planes.len() as u32,
            (Some(ForecastSource::OpenMeteo), Irradiance::Ghi) => 1,
            _ => 0,
        }
    }

    /// Every problem, as (key under `forecast.`, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, m: String| v.push((k.to_string(), m));
        match self.source {
            None => push(
                "source",
                "missing: say where the forecast comes from: \"forecast_solar\", \"open_meteo\" or \"mqtt\""
                    .into(),
            ),
            Some(ForecastSource::Mqtt) => {
                match &self.topic {
                    None => push(
                        "topic",
                        "missing: the MQTT topic the forecast is published on".into(),
                    ),
                    Some(t) if t.is_empty() || t.contains(['+', '#']) => push(
                        "topic",
                        format!("\"{t}\": give one topic, without wildcards"),
                    ),
                    _ => {}
                }
                for (key, set) in [
                    ("latitude", self.latitude.is_some()),
                    ("longitude", self.longitude.is_some()),
                    ("planes", !self.planes.is_empty()),
                    ("base_url", self.base_url.is_some()),
                ] {
                    if set {
                        push(
                            key,
                            "not used with source = \"mqtt\" (the publisher knows the array)".into(),
                        );
                    }
                }
            }
            Some(_) => {
                if self.topic.is_some() {
                    push("topic", "only used with source = \"mqtt\"".into());
                }
                match self.latitude {
                    None => push("latitude", "missing: the site's latitude, degrees north".into()),
                    Some(l) if !(l.is_finite() && (-90.0..=90.0).contains(&l)) => {
                        push("latitude", format!("{l}: use -90 … 90 (north positive)"))
                    }
                    _ => {}
                }
                match self.longitude {
                    None => push("longitude", "missing: the site's longitude, degrees east".into()),
                    Some(l) if !(l.is_finite() && (-180.0..=180.0).contains(&l)) => {
                        push("longitude", format!("{l}: use -180 … 180 (east positive)"))
                    }
                    _ => {}
                }
                if self.planes.is_empty() {
                    push(
                        "planes",
                        "missing: at least one [[forecast.planes]] with declination, azimuth and kwp"
                            .into(),
                    );
                }
            }
        }
        for (i, p) in self.planes.iter().enumerate() {
            let key = |k: &str| format!("planes[{i}].{k}");
            if !(p.declination.is_finite() && (0.0..=90.0).contains(&p.declination)) {
                push(
                    &key("declination"),
                    format!("{}: use 0 (flat) … 90 (vertical) degrees", p.declination),
                );
            }
            if !(p.azimuth.is_finite() && (-180.0..=180.0).contains(&p.azimuth)) {
                push(
                    &key("azimuth"),
                    format!(
                        "{}: use -180 … 180 (-90 east, 0 south, 90 west); a compass bearing b is b - 180",
                        p.azimuth
                    ),
                );
            }
            if !(p.kwp.is_finite() && p.kwp > 0.0 && p.kwp <= 1000.0) {
                push(
                    &key("kwp"),
                    format!("{}: use more than 0 and at most 1000 kWp", p.kwp),
                );
            }
        }
        if !(self.efficiency.is_finite() && (0.5..=1.0).contains(&self.efficiency)) {
            push(
                "efficiency",
                format!(
                    "{}: use 0.5 … 1 (e.g. 0.85 for 15 % losses)",
                    self.efficiency
                ),
            );
        }
        if !(self.albedo.is_finite() && (0.0..=1.0).contains(&self.albedo)) {
            push(
                "albedo",
                format!("{}: use 0 … 1 (grass about 0.2)", self.albedo),
            );
        }
        if let Some(u) = &self.base_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            push("base_url", format!("\"{u}\" is not an http(s) URL"));
        }
        let refresh = self.refresh.as_secs_f64();
        if self.is_http() && refresh < MIN_REFRESH_S {
            push(
                "refresh",
                "at least 15m: the providers change their forecast at most every 15 minutes".into(),
            );
        }
        if self.source == Some(ForecastSource::ForecastSolar) {
            let per_hour = self.calls_per_refresh() as f64 * 3600.0 / refresh.max(1.0);
            if per_hour > FORECAST_SOLAR_CALLS_PER_HOUR as f64 {
                let need = (self.planes.len() as f64 * 3600.0
                    / FORECAST_SOLAR_CALLS_PER_HOUR as f64
                    / 60.0)
                    .ceil()
                    .max(15.0);
                push(
                    "refresh",
                    format!(
                        "{} planes every {} make {per_hour:.0} calls an hour; forecast.solar's free tier allows {FORECAST_SOLAR_CALLS_PER_HOUR}: use at least {need:.0}m",
                        self.planes.len(),
                        self.refresh
                    ),
                );
            }
        }
        if self.max_age < self.refresh {
            push("max_age", "must be at least refresh".into());
        }
        if self.max_age.as_secs_f64() > 48.0 * 3600.0 {
            push(
                "max_age",
                "at most 48h: an older forecast is no forecast".into(),
            );
        }
        match (&self.house_load_w, &self.house_load_by_hour) {
            (None, None) => push(
                "house_load_w",
                "missing: the house's expected load, W, to subtract from the PV forecast (e.g. 400), or house_load_by_hour"
                    .into(),
            ),
            (Some(_), Some(_)) => push(
                "house_load_by_hour",
                "give house_load_w or house_load_by_hour, not both".into(),
            ),
            (Some(w), None) if !load_ok(*w) => {
                push("house_load_w", format!("{w}: use 0 … 50000 W"))
            }
            (None, Some(t)) if t.len() != 24 => push(
                "house_load_by_hour",
                format!("needs 24 values (local hours 0..23), not {}", t.len()),
            ),
            (None, Some(t)) => {
                if let Some((h, w)) = t.iter().enumerate().find(|(_, w)| !load_ok(**w)) {
                    push(
                        "house_load_by_hour",
                        format!("hour {h}: {w}: use 0 … 50000 W"),
                    );
                }
            }
            _ => {}
        }
        v
    }

    /// The house load in local hour `h` (0..23), W.
    pub fn house_load(&self, hour: u32) -> f64 {
        match (&self.house_load_by_hour, self.house_load_w) {
            (Some(t), _) if t.len() == 24 => t[hour as usize % 24],
            (_, Some(w)) => w,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ForecastSection {
        toml::from_str(text).unwrap()
    }

    fn keys(s: &ForecastSection) -> Vec<String> {
        s.check().into_iter().map(|(k, _)| k).collect()
    }

    const GOOD: &str = "source = \"forecast_solar\"\nlatitude = 50.85\nlongitude = 4.35\n\
        house_load_w = 400\n[[planes]]\ndeclination = 35\nazimuth = 0\nkwp = 5.2\n";

    #[test]
    fn a_good_section_passes() {
        assert!(parse(GOOD).check().is_empty(), "{:?}", parse(GOOD).check());
        let m = parse("source = \"mqtt\"\ntopic = \"solcast/forecast\"\nhouse_load_w = 300");
        assert!(m.check().is_empty(), "{:?}", m.check());
    }

    #[test]
    fn every_problem_is_named_with_its_key() {
        assert_eq!(keys(&parse("")), ["source", "house_load_w"]);
        let s = parse(
            "source = \"open_meteo\"\nlatitude = 95\nefficiency = 2\nhouse_load_by_hour = [1, 2]\n\
             [[planes]]\ndeclination = 100\nazimuth = 200\nkwp = 0\n",
        );
        assert_eq!(
            keys(&s),
            [
                "latitude",
                "longitude",
                "planes[0].declination",
                "planes[0].azimuth",
                "planes[0].kwp",
                "efficiency",
                "house_load_by_hour"
            ]
        );
        let azimuth = &s.check()[3].1;
        assert!(azimuth.contains("0 south"), "{azimuth}");
        let m = parse("source = \"mqtt\"\ntopic = \"a/#\"\nlatitude = 1\nhouse_load_w = -5");
        assert_eq!(keys(&m), ["topic", "latitude", "house_load_w"]);
        assert!(toml::from_str::<ForecastSection>("source = \"solcast\"").is_err());
        assert!(toml::from_str::<ForecastSection>("lat = 1").is_err());
    }

    #[test]
    fn the_free_tier_rate_limit_bounds_refresh() {
        // Three planes every 15 minutes: 12 calls an hour, the limit itself.
        let three = format!(
            "{GOOD}[[planes]]\ndeclination = 35\nazimuth = -90\nkwp = 2\n\
             [[planes]]\ndeclination = 35\nazimuth = 90\nkwp = 2\n"
        );
        let ok = parse(&format!("refresh = \"15m\"\n{three}"));
        assert!(ok.check().is_empty(), "{:?}", ok.check());
        let four = format!(
            "refresh = \"15m\"\n{three}[[planes]]\ndeclination = 10\nazimuth = 0\nkwp = 1\n"
        );
        let problems = parse(&four).check();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "refresh");
        assert!(
            problems[0].1.contains("16 calls") && problems[0].1.contains("20m"),
            "{}",
            problems[0].1
        );
        assert_eq!(
            keys(&parse(&format!("refresh = \"5m\"\n{GOOD}"))),
            ["refresh"]
        );
    }

    #[test]
    fn house_load_by_hour_wins() {
        let mut s = parse(GOOD);
        assert_eq!(s.house_load(13), 400.0);
        s.house_load_w = None;
        s.house_load_by_hour = Some((0..24).map(|h| h as f64 * 10.0).collect());
        assert_eq!(s.house_load(13), 130.0);
        assert!(s.check().is_empty());
    }
}
