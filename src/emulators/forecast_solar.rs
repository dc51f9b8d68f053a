//! forecast.solar's public estimate (`GET /estimate/:lat/:lon/:dec/:az/:kwp`), as documented at
//! https://doc.forecast.solar/api:estimate and https://doc.forecast.solar/api: `result.watts` (and
//! `watt_hours_period`, `watt_hours`, `watt_hours_day`) keyed by local time, plain
//! `2026-06-01 06:00:00` or, with `?time=iso8601`, with the offset; `message` with `code`, `type`,
//! `text`, `info.timezone` and `ratelimit {period, limit, remaining}`, and the `X-Ratelimit-*`
//! headers. Beyond 12 calls an hour it answers 429 with `message.ratelimit["retry-at"]` and
//! `X-Ratelimit-Retry-At` (https://doc.forecast.solar/facing429); parameters out of range get 400
//! with the reason in `message.text`.
//!
//! The forecast is a list of local stamps with watts per kWp (see [`clear_day`]); an answer scales
//! it by the plane's kWp. Its wall clock is set by the test ([`ForecastSolarEmulator::set_now`]) and
//! moves with tokio's clock, so `retry-at` is exact under a paused clock.

use super::common::{Fault, Incoming, Journal, RateWindow, Recorded, Server, answer, json, lock};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// One published value: a local time and the power per kWp at that instant, W.
pub type Stamp = (NaiveDateTime, f64);

/// A clear day: sunrise, every whole hour between, sunset; a half sine peaking at
/// `peak_w_per_kwp` halfway (as the public estimate's stamps fall).
pub fn clear_day(
    day: NaiveDate,
    sunrise: (u32, u32),
    sunset: (u32, u32),
    peak_w_per_kwp: f64,
) -> Vec<Stamp> {
    let at = |h: u32, m: u32| day.and_hms_opt(h, m, 0).unwrap_or_default();
    let (rise, set) = (at(sunrise.0, sunrise.1), at(sunset.0, sunset.1));
    let span = (set - rise).num_seconds().max(1) as f64;
    let mut stamps = vec![rise];
    stamps.extend(
        (sunrise.0 + 1..=sunset.0)
            .map(|h| at(h, 0))
            .filter(|t| *t < set),
    );
    stamps.push(set);
    stamps
        .into_iter()
        .map(|t| {
            let x = (t - rise).num_seconds() as f64 / span;
            (
                t,
                (peak_w_per_kwp * (std::f64::consts::PI * x).sin())
                    .max(0.0)
                    .round(),
            )
        })
        .collect()
}

struct Shared {
    tz: Tz,
    stamps: Vec<Stamp>,
    faults: VecDeque<Fault>,
    rate: RateWindow,
    requests: Vec<Recorded>,
    clock: (DateTime<Utc>, Instant),
}

impl Shared {
    fn now(&self) -> DateTime<Utc> {
        self.clock.0 + chrono::Duration::from_std(self.clock.1.elapsed()).unwrap_or_default()
    }
}

impl Journal for Shared {
    fn faults(&mut self) -> &mut VecDeque<Fault> {
        &mut self.faults
    }
    fn requests(&mut self) -> &mut Vec<Recorded> {
        &mut self.requests
    }
}

pub struct ForecastSolarEmulator {
    server: Server,
    shared: Arc<Mutex<Shared>>,
}

impl ForecastSolarEmulator {
    /// Serve `stamps` (local times in `tz`) on 127.0.0.1:0 until dropped.
    pub async fn start(tz: Tz, stamps: Vec<Stamp>) -> std::io::Result<ForecastSolarEmulator> {
        let shared = Arc::new(Mutex::new(Shared {
            tz,
            stamps,
            faults: VecDeque::new(),
            rate: RateWindow::new(12, Duration::from_secs(3600)),
            requests: Vec::new(),
            clock: (start_of_time(), Instant::now()),
        }));
        let s = shared.clone();
        let server = Server::start(move |req| answer(s.clone(), req, route)).await?;
        Ok(ForecastSolarEmulator { server, shared })
    }

    /// `[forecast] base_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The emulator's wall clock now (it moves with tokio's clock from here).
    pub fn set_now(&self, now: DateTime<Utc>) {
        lock(&self.shared).clock = (now, Instant::now());
    }

    /// The next request gets `fault` instead of its answer.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.shared).faults.push_back(fault);
    }

    /// Replace the forecast (a new run of the weather model; a shorter list is a partial day).
    pub fn publish(&self, stamps: Vec<Stamp>) {
        lock(&self.shared).stamps = stamps;
    }

    /// Allow `max` requests per `window` (12 an hour by default, the public tier).
    pub fn set_rate(&self, max: usize, window: Duration) {
        lock(&self.shared).rate = RateWindow::new(max, window);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }
}

/// Where the emulator's wall clock starts until a test sets it (only the daemon's clock reads the
/// system time).
fn start_of_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn error(status: StatusCode, code: i64, text: &str) -> axum::response::Response {
    json(
        status,
        &serde_json::json!({"result": null, "message": {"code": code, "type": "error", "text": text}}),
    )
}

fn route(s: &mut Shared, inc: &Incoming) -> axum::response::Response {
    let seg = inc.segments();
    if inc.method != axum::http::Method::GET || seg.len() != 6 || seg[0] != "estimate" {
        return error(StatusCode::NOT_FOUND, 404, "Not found");
    }
    let now = s.now();
    if let Err(secs) = s.rate.admit() {
        let retry_at = (now + chrono::Duration::seconds(secs as i64))
            .with_timezone(&s.tz)
            .to_rfc3339();
        let mut r = json(
            StatusCode::TOO_MANY_REQUESTS,
            &serde_json::json!({"result": null, "message": {"code": 429, "type": "error",
                "text": "Rate limit for API calls reached.",
                "ratelimit": {"period": 3600, "limit": s.rate.max, "retry-at": retry_at}}}),
        );
        let h = r.headers_mut();
        h.insert("x-ratelimit-limit", s.rate.max.into());
        h.insert("x-ratelimit-period", 3600.into());
        if let Ok(v) = retry_at.parse() {
            h.insert("x-ratelimit-retry-at", v);
        }
        return r;
    }
    let num = |i: usize| seg[i].parse::<f64>().ok().filter(|v| v.is_finite());
    let checks = [
        (num(1).filter(|v| (-90.0..=90.0).contains(v)), "latitude"),
        (num(2).filter(|v| (-180.0..=180.0).contains(v)), "longitude"),
        (num(3).filter(|v| (0.0..=90.0).contains(v)), "declination"),
        (num(4).filter(|v| (-180.0..=180.0).contains(v)), "azimuth"),
        (num(5).filter(|v| *v > 0.0), "kwp"),
    ];
    if let Some((_, what)) = checks.iter().find(|(v, _)| v.is_none()) {
        return error(StatusCode::BAD_REQUEST, 400, &format!("Invalid {what}"));
    }
    let kwp = num(5).unwrap_or(0.0);
    let iso = inc.param("time").as_deref() == Some("iso8601");
    let tz = s.tz;
    let key = |t: &NaiveDateTime| match tz.from_local_datetime(t).earliest() {
        Some(z) if iso => z.to_rfc3339(),
        _ => t.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    let today = now.with_timezone(&tz).date_naive();
    let mut watts = serde_json::Map::new();
    let mut period = serde_json::Map::new();
    let mut day_wh: BTreeMap<String, f64> = BTreeMap::new();
    let mut last: Option<Stamp> = None;
    // Today and tomorrow, as the public tier answers.
    for (t, w) in s
        .stamps
        .iter()
        .filter(|(t, _)| t.date() >= today && t.date() <= today + chrono::Days::new(1))
    {
        let w = (w * kwp).round();
        let wh = match last {
            Some((lt, lw)) if lt.date() == t.date() => {
                (lw + w) / 2.0 * (*t - lt).num_seconds() as f64 / 3600.0
            }
            _ => 0.0,
        };
        watts.insert(key(t), w.into());
        period.insert(key(t), wh.round().into());
        *day_wh.entry(t.date().to_string()).or_default() += wh.round();
        last = Some((*t, w));
    }
    let remaining = s.rate.remaining();
    let mut r = json(
        StatusCode::OK,
        &serde_json::json!({
            "result": {"watts": watts, "watt_hours_period": period, "watt_hours_day": day_wh},
            "message": {"code": 0, "type": "success", "text": "",
                "info": {"latitude": num(1), "longitude": num(2), "distance": 0, "place": "emulated",
                         "timezone": tz.name(), "time": now.with_timezone(&tz).to_rfc3339(),
                         "time_utc": now.to_rfc3339()},
                "ratelimit": {"period": 3600, "limit": s.rate.max, "remaining": remaining}}}),
    );
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", s.rate.max.into());
    h.insert("x-ratelimit-period", 3600.into());
    h.insert("x-ratelimit-remaining", remaining.into());
    r
}
