//! Open-Meteo's forecast API (`GET /v1/forecast`), as documented at https://open-meteo.com/en/docs:
//! `latitude`, `longitude`, `hourly=` and `minutely_15=` lists of variables, `tilt` and `azimuth`
//! for `global_tilted_irradiance`, `forecast_days`, `timezone`. The answer carries
//! `utc_offset_seconds`, `timezone`, `<block>_units` and `<block>: {time: [...], <variable>: [...]}`
//! with local times without an offset and each radiation value the mean of the preceding interval;
//! values the model does not have are `null`. A bad request gets 400 `{"error": true, "reason":
//! "..."}`; past the fair-use limit, 429 with the same shape (Open-Meteo sends no `Retry-After`).
//!
//! The data is set by the test: hourly GHI and diffuse from a start instant, and 15-minute tilted
//! irradiance per plane (`tilt`, `azimuth`), each padded with `null` to the days asked for (a list
//! shorter than that is a partial day). Only `timezone=GMT`/`UTC` is served.

use super::common::{Fault, Incoming, Journal, RateWindow, Recorded, Server, answer, json, lock};
use axum::http::StatusCode;
use chrono::{DateTime, Duration as CDuration, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Irradiance values, W/m², one per interval from the emulator's start; `None` is `null`.
pub type Values = Vec<Option<f64>>;

struct Shared {
    /// The first interval's start (midnight UTC of the first forecast day).
    start: DateTime<Utc>,
    ghi: Values,
    dhi: Values,
    /// 15-minute tilted irradiance by (tilt, azimuth) rounded to degrees.
    tilted: BTreeMap<(i64, i64), Values>,
    faults: VecDeque<Fault>,
    rate: RateWindow,
    requests: Vec<Recorded>,
}

impl Journal for Shared {
    fn faults(&mut self) -> &mut VecDeque<Fault> {
        &mut self.faults
    }
    fn requests(&mut self) -> &mut Vec<Recorded> {
        &mut self.requests
    }
}

pub struct OpenMeteoEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl OpenMeteoEmulator {
    /// Serve forecasts starting at `start` (midnight UTC) on 127.0.0.1:0 until dropped.
    pub async fn start(start: DateTime<Utc>) -> std::io::Result<OpenMeteoEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            start,
            ghi: Vec::new(),
            dhi: Vec::new(),
            tilted: BTreeMap::new(),
            faults: VecDeque::new(),
            rate: RateWindow::new(600, Duration::from_secs(60)),
            requests: Vec::new(),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| answer(s.clone(), req, route)).await?;
        Ok(OpenMeteoEmulator { server, shared })
    }

    /// `[forecast] base_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Hourly `shortwave_radiation` (GHI) and `diffuse_radiation`, one per hour from the start.
    pub fn set_hourly(&self, ghi: Values, dhi: Values) {
        let mut s = lock(&self.shared);
        s.ghi = ghi;
        s.dhi = dhi;
    }

    /// 15-minute `global_tilted_irradiance` for the plane (`tilt`, `azimuth`).
    pub fn set_tilted(&self, tilt: f64, azimuth: f64, values: Values) {
        lock(&self.shared)
            .tilted
            .insert((tilt.round() as i64, azimuth.round() as i64), values);
    }

    /// The next request gets `fault` instead of its answer.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared).faults.push_back(fault);
    }

    /// Allow `max` requests per `window` (600 a minute by default, the free tier's).
    pub fn set_rate(&self, max: usize, window: Duration) {
        lock(&self.shared).rate = RateWindow::new(max, window);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
}

fn error(status: StatusCode, reason: &str) -> axum::response::Response {
    json(
        status,
        &serde_json::json!({"error": true, "reason": reason}),
    )
}

fn route(s: &mut Shared, inc: &Incoming) -> axum::response::Response {
    if s.rate.admit().is_err() {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "Minutely API request limit exceeded. Please try again in one minute.",
        );
    }
    if inc.method != axum::http::Method::GET || inc.path != "/v1/forecast" {
        return error(StatusCode::NOT_FOUND, "Not found");
    }
    let num = |k: &str| inc.param(k).and_then(|v| v.parse::<f64>().ok());
    let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Parameter 'latitude' and 'longitude' must be set",
        );
    };
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return error(
            StatusCode::BAD_REQUEST,
            "Latitude must be in range of -90 to 90°. Longitude must be in range of -180 to 180°.",
        );
    }
    let tz = inc.param("timezone").unwrap_or_else(|| "GMT".into());
    if !matches!(tz.as_str(), "GMT" | "UTC") {
        return error(
            StatusCode::BAD_REQUEST,
            "the emulator serves timezone=GMT only",
        );
    }
    let days = num("forecast_days").unwrap_or(7.0);
    if !(0.0..=16.0).contains(&days) || days.fract() != 0.0 {
        return error(
            StatusCode::BAD_REQUEST,
            "Forecast days is invalid. Allowed range 0 to 16.",
        );
    }
    let days = days as i64;
    let list = |k: &str| -> Vec<String> {
        inc.param(k)
            .map(|v| {
                v.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let stamps = |step: CDuration, n: i64| -> Vec<String> {
        (1..=n)
            .map(|i| {
                (s.start + step * i as i32)
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .collect()
    };
    let padded = |v: &Values, n: i64| -> Values {
        (0..n as usize)
            .map(|i| v.get(i).copied().flatten())
            .collect()
    };
    let mut body = serde_json::json!({
        "latitude": lat, "longitude": lon, "generationtime_ms": 0.1, "utc_offset_seconds": 0,
        "timezone": "GMT", "timezone_abbreviation": "GMT", "elevation": 60.0,
    });
    let hourly = list("hourly");
    if !hourly.is_empty() {
        let n = 24 * days;
        let mut block = serde_json::json!({"time": stamps(CDuration::hours(1), n)});
        let mut units = serde_json::json!({"time": "iso8601"});
        for v in &hourly {
            let data = match v.as_str() {
                "shortwave_radiation" => &s.ghi,
                "diffuse_radiation" => &s.dhi,
                other => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "Cannot initialize ForecastVariable from invalid String value {other} for key hourly"
                        ),
                    );
                }
            };
            block[v] = serde_json::json!(padded(data, n));
            units[v] = "W/m²".into();
        }
        body["hourly"] = block;
        body["hourly_units"] = units;
    }
    let quarter = list("minutely_15");
    if !quarter.is_empty() {
        let n = 96 * days;
        if let Some(other) = quarter.iter().find(|v| *v != "global_tilted_irradiance") {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Cannot initialize ForecastVariable from invalid String value {other} for key minutely_15"
                ),
            );
        }
        let tilt = num("tilt").unwrap_or(0.0);
        let azimuth = num("azimuth").unwrap_or(0.0);
        if !(0.0..=90.0).contains(&tilt) || !(-180.0..=180.0).contains(&azimuth) {
            return error(
                StatusCode::BAD_REQUEST,
                "Tilt must be between 0 and 90°, azimuth between -180 and 180°",
            );
        }
        let none = Values::new();
        let data = s
            .tilted
            .get(&(tilt.round() as i64, azimuth.round() as i64))
            .unwrap_or(&none);
        body["minutely_15"] = serde_json::json!({
            "time": stamps(CDuration::minutes(15), n),
            "global_tilted_irradiance": padded(data, n),
        });
        body["minutely_15_units"] =
            serde_json::json!({"time": "iso8601", "global_tilted_irradiance": "W/m²"});
    }
    json(StatusCode::OK, &body)
}
