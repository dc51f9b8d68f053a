//! Open-Meteo's weather forecast API turned into PV power: no account, free for non-commercial use.
//!
//! Requests (documented at https://open-meteo.com/en/docs; `tilt` and `azimuth` with 0 south,
//! -90 east, 90 west are the API's parameters for `global_tilted_irradiance`):
//!
//! - `irradiance = "tilted"`, one call per plane: `GET {base}/v1/forecast?latitude=..&longitude=..
//!   &minutely_15=global_tilted_irradiance&tilt=35&azimuth=0&forecast_days=2&timezone=GMT`;
//! - `irradiance = "ghi"`, one call: `..&hourly=shortwave_radiation,diffuse_radiation..`, each
//!   hour transposed to every plane with [`super::solar`] (isotropic sky).
//!
//! Answer:
//!
//! ```json
//! {"latitude": 50.86, "longitude": 4.36, "generationtime_ms": 0.2, "utc_offset_seconds": 0,
//!  "timezone": "GMT", "timezone_abbreviation": "GMT", "elevation": 60.0,
//!  "minutely_15_units": {"time": "iso8601", "global_tilted_irradiance": "W/m²"},
//!  "minutely_15": {"time": ["2026-06-01T00:00", "2026-06-01T00:15", ...],
//!                  "global_tilted_irradiance": [0.0, 0.0, ...]}}
//! ```
//!
//! Times are local to `timezone` without an offset (`utc_offset_seconds` gives it). Every
//! radiation value is the mean over the *preceding* interval (Open-Meteo: "backwards averages over
//! the preceding hour", https://openmeteo.substack.com/p/improved-solar-radiation-forecast), so
//! the value stamped 10:00 covers 09:00–10:00 (09:45–10:00 for 15-minute data). A `null` is a
//! value the model does not have: that interval stays uncovered. Errors come as
//! `{"error": true, "reason": "..."}` with 400; 429 when the daily or hourly fair use is spent.

use super::solar;
use crate::config::forecast::{ForecastSection, Irradiance, Plane};
use crate::control::plan::series::{Point, Series};
use crate::vendor::{self, VendorError};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const VENDOR: &str = "open-meteo";
pub const BASE_URL: &str = "https://api.open-meteo.com";

/// The forecast as sent (only the blocks asked for are present).
#[derive(Debug, Deserialize)]
pub struct Forecast {
    #[serde(default)]
    pub utc_offset_seconds: i64,
    pub minutely_15: Option<Block>,
    pub minutely_15_units: Option<BTreeMap<String, String>>,
    pub hourly: Option<Block>,
    pub hourly_units: Option<BTreeMap<String, String>>,
}

/// `time` and one array per variable, the same length.
#[derive(Debug, Deserialize)]
pub struct Block {
    pub time: Vec<String>,
    #[serde(flatten)]
    pub values: BTreeMap<String, Vec<Option<f64>>>,
}

fn protocol(detail: String) -> VendorError {
    VendorError::Protocol {
        vendor: VENDOR,
        detail,
    }
}

/// One interval of a block: start, end, the values in the order asked for.
type Interval = (DateTime<Utc>, DateTime<Utc>, Vec<f64>);

/// The intervals of a block's `variables`: (start, end, values in `variables` order), or a protocol
/// error if the block, a variable or its unit is not what was asked for.
fn intervals(f: &Forecast, hourly: bool, variables: &[&str]) -> Result<Vec<Interval>, VendorError> {
    let (name, block, units, step) = if hourly {
        ("hourly", &f.hourly, &f.hourly_units, Duration::hours(1))
    } else {
        (
            "minutely_15",
            &f.minutely_15,
            &f.minutely_15_units,
            Duration::minutes(15),
        )
    };
    let block = block
        .as_ref()
        .ok_or_else(|| protocol(format!("no \"{name}\" block")))?;
    let mut columns = Vec::with_capacity(variables.len());
    for v in variables {
        let col = block
            .values
            .get(*v)
            .ok_or_else(|| protocol(format!("no \"{name}.{v}\"")))?;
        if col.len() != block.time.len() {
            return Err(protocol(format!(
                "\"{name}.{v}\" has {} values for {} times",
                col.len(),
                block.time.len()
            )));
        }
        let unit = units.as_ref().and_then(|u| u.get(*v)).map(String::as_str);
        if !matches!(unit, Some("W/m²" | "W/m2" | "Wm-2")) {
            return Err(protocol(format!(
                "\"{name}.{v}\" in {}, expected W/m²",
                unit.unwrap_or("no unit")
            )));
        }
        columns.push(col);
    }
    let offset = Duration::seconds(f.utc_offset_seconds);
    let mut out = Vec::with_capacity(block.time.len());
    for (i, stamp) in block.time.iter().enumerate() {
        let local = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M")
            .map_err(|_| protocol(format!("time \"{}\"", vendor::excerpt(stamp))))?;
        let end = local.and_utc() - offset;
        let mut values = Vec::with_capacity(columns.len());
        for (col, v) in columns.iter().zip(variables) {
            match col[i] {
                None => break,
                Some(x) if x.is_finite() && x > -50.0 && x < 2000.0 => values.push(x.max(0.0)),
                Some(x) => return Err(protocol(format!("{v} {x} W/m² at {stamp}"))),
            }
        }
        if values.len() == columns.len() {
            out.push((end - step, end, values));
        }
    }
    Ok(out)
}

/// One plane's PV power from a `minutely_15=global_tilted_irradiance` answer.
pub fn map_tilted(f: &Forecast, plane: &Plane, efficiency: f64) -> Result<Series, VendorError> {
    let points = intervals(f, false, &["global_tilted_irradiance"])?
        .into_iter()
        .map(|(start, end, v)| Point {
            start,
            end,
            value: solar::pv_watts(v[0], plane.kwp, efficiency),
        })
        .collect();
    Ok(Series::new(points))
}

/// Every plane's PV power, summed, from an `hourly=shortwave_radiation,diffuse_radiation` answer:
/// the sun at the middle of each hour, the isotropic-sky transposition to each plane.
pub fn map_ghi(f: &Forecast, s: &ForecastSection) -> Result<Series, VendorError> {
    let (lat, lon) = (s.latitude.unwrap_or(0.0), s.longitude.unwrap_or(0.0));
    let points = intervals(f, true, &["shortwave_radiation", "diffuse_radiation"])?
        .into_iter()
        .map(|(start, end, v)| {
            let sun = solar::position(start + (end - start) / 2, lat, lon);
            let watts = s
                .planes
                .iter()
                .map(|p| {
                    let poa = solar::plane_irradiance(
                        &sun,
                        v[0],
                        v[1],
                        p.declination,
                        p.azimuth,
                        s.albedo,
                    );
                    solar::pv_watts(poa, p.kwp, s.efficiency)
                })
                .sum();
            Point {
                start,
                end,
                value: watts,
            }
        })
        .collect();
    Ok(Series::new(points))
}

async fn get(
    http: &reqwest::Client,
    base: &str,
    query: &[(&str, String)],
) -> Result<Forecast, VendorError> {
    let url = format!("{}/v1/forecast", base.trim_end_matches('/'));
    let answer = vendor::send(VENDOR, http.get(url).query(query)).await?;
    if !answer.status.is_success() {
        return Err(vendor::classify_status(
            VENDOR,
            answer.status,
            &answer.headers,
            vendor::describe_body(&answer.body),
        ));
    }
    answer.json::<Forecast>(VENDOR, "forecast")
}

/// The section's PV power for today and tomorrow (UTC), W.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    s: &ForecastSection,
) -> Result<Series, VendorError> {
    let mut query = vec![
        ("latitude", format!("{:.4}", s.latitude.unwrap_or(0.0))),
        ("longitude", format!("{:.4}", s.longitude.unwrap_or(0.0))),
        ("forecast_days", "2".to_string()),
        ("timezone", "GMT".to_string()),
    ];
    match s.irradiance {
        Irradiance::Ghi => {
            query.push((
                "hourly",
                "shortwave_radiation,diffuse_radiation".to_string(),
            ));
            map_ghi(&get(http, base, &query).await?, s)
        }
        Irradiance::Tilted => {
            query.push(("minutely_15", "global_tilted_irradiance".to_string()));
            let mut planes = Vec::with_capacity(s.planes.len());
            for p in &s.planes {
                let mut q = query.clone();
                q.push(("tilt", format!("{}", p.declination)));
                q.push(("azimuth", format!("{}", p.azimuth)));
                planes.push(map_tilted(&get(http, base, &q).await?, p, s.efficiency)?);
            }
            Ok(super::sum(&planes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(times: &[&str], values: &[Option<f64>], unit: &str) -> Forecast {
        serde_json::from_value(serde_json::json!({
            "latitude": 50.86, "longitude": 4.36, "generationtime_ms": 0.1,
            "utc_offset_seconds": 7200, "timezone": "Europe/Brussels",
            "minutely_15_units": {"time": "iso8601", "global_tilted_irradiance": unit},
            "minutely_15": {"time": times, "global_tilted_irradiance": values},
        }))
        .unwrap()
    }

    #[test]
    fn a_value_covers_the_preceding_quarter_hour() {
        let plane = Plane {
            declination: 35.0,
            azimuth: 0.0,
            kwp: 4.0,
        };
        let f = answer(
            &["2026-06-01T12:00", "2026-06-01T12:15", "2026-06-01T12:30"],
            &[Some(500.0), None, Some(1000.0)],
            "W/m²",
        );
        let s = map_tilted(&f, &plane, 0.85).unwrap();
        let p = s.points();
        assert_eq!(p.len(), 2);
        // 12:00 local (UTC+2) is 10:00Z and covers 09:45–10:00Z.
        assert_eq!(
            p[0].start,
            "2026-06-01T09:45:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(p[0].value, 500.0 * 4.0 * 0.85);
        assert_eq!(
            p[1].end,
            "2026-06-01T10:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn another_unit_or_a_short_column_is_refused() {
        let plane = Plane {
            declination: 35.0,
            azimuth: 0.0,
            kwp: 4.0,
        };
        let f = answer(&["2026-06-01T12:00"], &[Some(0.5)], "kW/m²");
        let e = map_tilted(&f, &plane, 0.85).unwrap_err().to_string();
        assert!(e.contains("kW/m²"), "{e}");
        let f = answer(
            &["2026-06-01T12:00", "2026-06-01T12:15"],
            &[Some(5.0)],
            "W/m²",
        );
        assert!(map_tilted(&f, &plane, 0.85).is_err());
        let f = answer(&["noon"], &[Some(5.0)], "W/m²");
        assert!(map_tilted(&f, &plane, 0.85).is_err());
    }
}
