//! `[forecast]` of a scenario, and the outlook (prices and solar forecast) a planning policy sees
//! during a run, as the daemon's sources would hand it over.
//!
//! Owns: [`ForecastSpec`] (the section, checked) and [`OutlookModel`] (issues forecasts every
//! `issue_every` and publishes prices, built once per run). Forecast modes:
//!
//! - `perfect`: the real surplus (pv − house load), hourly means;
//! - `persistence`: yesterday's surplus at the same hour (none for the data's first day);
//! - `noisy`: the real day with a stated error model: PV × (1 + `bias_pct`/100) × (1 + e), e an
//!   hourly AR(1) error (correlation 0.7) of standard deviation `noise_pct`/100, seeded, and the PV
//!   curve moved `shift_minutes` later (earlier when negative); the house load is taken as known;
//! - `none`: no forecast (the plan then counts on no sun).
//!
//! Each forecast reaches to the end of the local day after its issue (what forecast.solar's free
//! tier gives). Prices: a fixed tariff is known for the whole span; a day-ahead list (`[tariff]
//! import_csv`) is published at 13:00 local for the next day, so at 18:00 the plan sees prices until
//! the next midnight and no further, and prices the rest at the fallback (`[tariff]
//! import_eur_kwh`).

use super::input::Input;
use super::rng::Rng;
use super::tariff::{ImportPrice, Prices, TariffSpec};
use crate::config::values::HumanDuration;
use crate::control::plan::outlook::Outlook;
use crate::control::plan::series::{Point, Series};
use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForecastMode {
    #[default]
    Perfect,
    Persistence,
    Noisy,
    None,
}

/// `[forecast]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastSpec {
    pub mode: ForecastMode,
    pub bias_pct: f64,
    pub noise_pct: f64,
    pub shift_minutes: i64,
    pub seed: u64,
    /// A new forecast this often.
    pub issue_every: HumanDuration,
}

impl Default for ForecastSpec {
    fn default() -> ForecastSpec {
        ForecastSpec {
            mode: ForecastMode::Perfect,
            bias_pct: 0.0,
            noise_pct: 0.0,
            shift_minutes: 0,
            seed: 1,
            issue_every: HumanDuration::secs(6 * 3600),
        }
    }
}

impl ForecastSpec {
    pub fn check(&self, push: &mut impl FnMut(&str, String)) {
        if !(-90.0..=200.0).contains(&self.bias_pct) {
            push(
                "forecast.bias_pct",
                format!("{}: use -90..200", self.bias_pct),
            );
        }
        if !(0.0..=200.0).contains(&self.noise_pct) {
            push(
                "forecast.noise_pct",
                format!("{}: use 0..200", self.noise_pct),
            );
        }
        if self.shift_minutes.abs() > 360 {
            push("forecast.shift_minutes", "use -360..360".into());
        }
        if !(900.0..=86_400.0).contains(&self.issue_every.as_secs_f64()) {
            push("forecast.issue_every", "use 15m..24h".into());
        }
        let noisy = self.bias_pct != 0.0 || self.noise_pct != 0.0 || self.shift_minutes != 0;
        if noisy && self.mode != ForecastMode::Noisy {
            push(
                "forecast.mode",
                "bias_pct, noise_pct and shift_minutes apply to mode = \"noisy\" only".into(),
            );
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// The outlook over one run.
#[derive(Debug, Clone)]
pub struct OutlookModel {
    tz: Tz,
    start_ms: i64,
    end_ms: i64,
    issue_ms: i64,
    /// The forecast surplus per hour from `hour0_ms`, W (`None`: no forecast for that hour).
    hour0_ms: i64,
    forecast: Vec<Option<f64>>,
    has_forecast: bool,
    /// Import prices, €/kWh.
    prices: Series,
    day_ahead: bool,
    fallback: f64,
    /// (forecast issue index, price publication) of the last outlook handed out.
    last: Option<(i64, i64)>,
}

impl OutlookModel {
    pub fn new(
        spec: &ForecastSpec,
        tariff: &TariffSpec,
        prices: &Prices,
        input: &Input,
        tz: Tz,
    ) -> OutlookModel {
        let (start, end) = (input.start_ms, input.end_ms);
        let hour0 = start.div_euclid(HOUR_MS) * HOUR_MS;
        let hours = ((end - hour0) as u64).div_ceil(HOUR_MS as u64) as usize;
        // Per-minute pv and load over [hour0 - 1 day, end + 1 day) where the data has them.
        let minutes = |from: i64, to: i64| {
            let mut s = input.sampler();
            let n = ((to - from).max(0) / MINUTE_MS) as usize + 1;
            let mut pv = Vec::with_capacity(n);
            let mut load = Vec::with_capacity(n);
            let mut t = from;
            while t < to {
                let inside = t >= start && t < end;
                let x = if inside { Some(s.at(t)) } else { None };
                pv.push(x.map(|x| x.pv_w.unwrap_or(x.surplus_w.max(0.0))));
                load.push(x.map(|x| x.load_w.unwrap_or((-x.surplus_w).max(0.0))));
                t += MINUTE_MS;
            }
            (pv, load)
        };
        let (pv, load) = minutes(hour0, hour0 + hours as i64 * HOUR_MS);
        let mean = |v: &[Option<f64>], from: i64| -> Option<f64> {
            let i0 = (from - hour0).div_euclid(MINUTE_MS);
            let (sum, n) = (i0..i0 + 60)
                .filter_map(|i| {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| v.get(i).copied().flatten())
                })
                .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
            (n >= 30).then(|| sum / n as f64)
        };
        let mut rng = Rng::stream(spec.seed, 7);
        let mut err = 0.0;
        let sd = spec.noise_pct / 100.0;
        let forecast = (0..hours)
            .map(|h| {
                let t = hour0 + h as i64 * HOUR_MS;
                match spec.mode {
                    ForecastMode::None => None,
                    ForecastMode::Perfect => Some(mean(&pv, t)? - mean(&load, t)?),
                    ForecastMode::Persistence => {
                        Some(mean(&pv, t - 24 * HOUR_MS)? - mean(&load, t - 24 * HOUR_MS)?)
                    }
                    ForecastMode::Noisy => {
                        err = 0.7 * err + (1.0f64 - 0.49).sqrt() * sd * rng.normal();
                        let p = mean(&pv, t - spec.shift_minutes * MINUTE_MS).unwrap_or(0.0);
                        let p = p * (1.0 + spec.bias_pct / 100.0) * (1.0 + err).max(0.0);
                        Some(p - mean(&load, t)?)
                    }
                }
            })
            .collect();
        let mut points = Vec::new();
        let mut run: Option<(i64, f64)> = None;
        for (i, &p) in prices.import.iter().enumerate() {
            let t = prices.start_ms + i as i64 * MINUTE_MS;
            match run {
                Some((_, v)) if v == p => {}
                Some((s, v)) => {
                    points.push(point(s, t, v));
                    run = Some((t, p));
                }
                None => run = Some((t, p)),
            }
        }
        if let Some((s, v)) = run {
            points.push(point(
                s,
                prices.start_ms + prices.import.len() as i64 * MINUTE_MS,
                v,
            ));
        }
        let fallback = match &tariff.import_eur_kwh {
            ImportPrice::Flat(v) => *v,
            ImportPrice::ByHour(v) => v.iter().sum::<f64>() / v.len().max(1) as f64,
        };
        OutlookModel {
            tz,
            start_ms: start,
            end_ms: end,
            issue_ms: spec.issue_every.get().as_millis().max(1) as i64,
            hour0_ms: hour0,
            forecast,
            has_forecast: spec.mode != ForecastMode::None,
            prices: Series::new(points),
            day_ahead: !tariff.csv.is_empty(),
            fallback,
            last: None,
        }
    }

    /// The outlook at `t_ms` when it differs from the last one handed out (a new forecast issued,
    /// new prices published), else `None`.
    pub fn update(&mut self, t_ms: i64) -> Option<Outlook> {
        let issue = (t_ms - self.start_ms).div_euclid(self.issue_ms);
        let published = self.published_at(t_ms);
        if self.last == Some((issue, published)) {
            return None;
        }
        self.last = Some((issue, published));
        let issued = self.start_ms + issue * self.issue_ms;
        let mut o = Outlook::new(self.fallback);
        let known_until = if self.day_ahead {
            self.end_of_local_day(published, 1)
        } else {
            self.end_ms
        };
        let prices: Vec<Point> = self
            .prices
            .points()
            .iter()
            .filter(|p| p.start.timestamp_millis() < known_until)
            .map(|p| Point {
                end: p.end.min(utc(known_until)),
                ..*p
            })
            .collect();
        o.set_prices(Series::new(prices), utc(published));
        if self.has_forecast {
            let horizon = self.end_of_local_day(issued, 1);
            let points = self
                .forecast
                .iter()
                .enumerate()
                .filter_map(|(h, v)| {
                    let s = self.hour0_ms + h as i64 * HOUR_MS;
                    (s + HOUR_MS > issued && s < horizon).then_some(point(s, s + HOUR_MS, (*v)?))
                })
                .collect();
            o.set_forecast(Series::new(points), utc(issued));
        }
        Some(o)
    }

    /// When the price list in force at `t_ms` was published: 13:00 local of the day (or the day
    /// before, before 13:00); the data's start for a fixed tariff or the first day.
    fn published_at(&self, t_ms: i64) -> i64 {
        if !self.day_ahead {
            return self.start_ms;
        }
        let local = utc(t_ms).with_timezone(&self.tz);
        let one_pm = NaiveTime::from_hms_opt(13, 0, 0).unwrap_or_default();
        let today = self
            .tz
            .from_local_datetime(&local.date_naive().and_time(one_pm))
            .earliest()
            .map_or(t_ms, |t| t.timestamp_millis());
        let p = if t_ms >= today {
            today
        } else {
            today - 24 * HOUR_MS
        };
        p.max(self.start_ms)
    }

    /// The end (local midnight) of the day `days` after the local day of `t_ms`.
    fn end_of_local_day(&self, t_ms: i64, days: u64) -> i64 {
        let date = utc(t_ms).with_timezone(&self.tz).date_naive() + Days::new(days + 1);
        self.tz
            .from_local_datetime(&date.and_time(NaiveTime::MIN))
            .earliest()
            .map_or(t_ms + (days as i64 + 1) * 24 * HOUR_MS, |t| {
                t.timestamp_millis()
            })
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn point(s: i64, e: i64, value: f64) -> Point {
    Point {
        start: utc(s),
        end: utc(e),
        value,
    }
}
