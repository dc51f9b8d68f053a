//! The solar forecast for the plan: PV power fetched from a provider (or received on MQTT), summed
//! over the site's planes, and turned into the surplus the plan wants by subtracting the house load.
//!
//! Owns: [`forecast_solar`], [`open_meteo`] and [`mqtt`] (wire types, requests, mapping), [`solar`]
//! (sun position and the tilted-plane model), [`fetch`] (the one entry the daemon and `sunplug plan`
//! call for the HTTP sources), [`sum`] (planes added up), [`surplus`] (PV − house load, never below
//! zero, on a 15-minute grid so a by-hour load table applies in every time zone) and
//! [`remaining_today_kwh`] (for Home Assistant). Freshness is the caller's: a forecast comes back
//! with the time it was fetched, and [`crate::control::plan::outlook::Outlook`] ignores it after
//! `[forecast] max_age`.
//!
//! The house load is the configured baseline or 24-hour table (`house_load_w`,
//! `house_load_by_hour`); it is not learnt from the recorder.

pub mod forecast_solar;
pub mod mqtt;
pub mod open_meteo;
pub mod solar;

use crate::config::forecast::{ForecastSection, ForecastSource};
use crate::control::plan::series::{Point, Series, slot_grid};
use crate::vendor::VendorError;
use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;

/// A forecast as the daemon hands it over: the PV power and the surplus made from it, W.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forecast {
    pub pv: Series,
    pub surplus: Series,
}

impl Forecast {
    pub fn new(pv: Series, section: &ForecastSection, tz: Tz) -> Forecast {
        let surplus = surplus(&pv, section, tz);
        Forecast { pv, surplus }
    }
}

/// The PV power the section's provider forecasts from `now` on (today and tomorrow), W. `mqtt`
/// is not fetched: the daemon receives it.
pub async fn fetch(
    section: &ForecastSection,
    http: &reqwest::Client,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    let (lat, lon) = (
        section.latitude.unwrap_or(0.0),
        section.longitude.unwrap_or(0.0),
    );
    match section.source {
        Some(ForecastSource::ForecastSolar) => {
            let base = section
                .base_url
                .as_deref()
                .unwrap_or(forecast_solar::BASE_URL);
            let mut planes = Vec::with_capacity(section.planes.len());
            for p in &section.planes {
                planes.push(forecast_solar::fetch_plane(http, base, lat, lon, p, tz, now).await?);
            }
            Ok(sum(&planes))
        }
        Some(ForecastSource::OpenMeteo) => {
            let base = section.base_url.as_deref().unwrap_or(open_meteo::BASE_URL);
            open_meteo::fetch(http, base, section).await
        }
        Some(ForecastSource::Mqtt) | None => Err(VendorError::Unsupported {
            vendor: "forecast",
            detail: "an MQTT forecast is received, not fetched".into(),
        }),
    }
}

/// The planes added up. Where one plane's forecast covers an interval and another's does not (the
/// night, or an answer cut short), the other counts as 0 W, but only within the span every plane
/// covers: past the shortest forecast the sum would understate, so it ends there.
pub fn sum(planes: &[Series]) -> Series {
    match planes {
        [] => return Series::default(),
        [one] => return one.clone(),
        _ => {}
    }
    let start = planes
        .iter()
        .filter_map(|s| s.points().first().map(|p| p.start))
        .max();
    let end = planes.iter().filter_map(Series::end).min();
    let (Some(start), Some(end)) = (start, end) else {
        return Series::default();
    };
    let mut cuts: Vec<DateTime<Utc>> = planes
        .iter()
        .flat_map(|s| s.points().iter().flat_map(|p| [p.start, p.end]))
        .filter(|t| *t >= start && *t <= end)
        .chain([start, end])
        .collect();
    cuts.sort();
    cuts.dedup();
    let points = cuts
        .windows(2)
        .filter_map(|w| {
            let covered: Vec<f64> = planes.iter().filter_map(|s| s.mean(w[0], w[1])).collect();
            (!covered.is_empty()).then(|| Point {
                start: w[0],
                end: w[1],
                value: covered.iter().sum(),
            })
        })
        .collect();
    Series::new(points)
}

/// PV − house load, W, never below zero (the car takes only what is left over), on a 15-minute
/// grid within each forecast interval. Where the PV forecast has no value the surplus has none.
pub fn surplus(pv: &Series, section: &ForecastSection, tz: Tz) -> Series {
    let quarter = Duration::minutes(15);
    let points = pv
        .points()
        .iter()
        .flat_map(|p| {
            slot_grid(p.start, p.end, quarter)
                .into_iter()
                .map(move |(start, end)| {
                    let load = section.house_load(start.with_timezone(&tz).hour());
                    Point {
                        start,
                        end,
                        value: (p.value - load).max(0.0),
                    }
                })
        })
        .collect();
    Series::new(points)
}

/// The PV energy the forecast expects from `now` to the end of the local day, kWh.
pub fn remaining_today_kwh(pv: &Series, tz: Tz, now: DateTime<Utc>) -> f64 {
    let local = now.with_timezone(&tz);
    let midnight = local
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or(now + Duration::hours(24), |t| t.with_timezone(&Utc));
    pv.points()
        .iter()
        .map(|p| {
            let (a, b) = (p.start.max(now), p.end.min(midnight));
            if b > a {
                p.value * (b - a).num_milliseconds() as f64 / 3_600_000.0 / 1000.0
            } else {
                0.0
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn pt(a: &str, b: &str, v: f64) -> Point {
        Point {
            start: t(a),
            end: t(b),
            value: v,
        }
    }

    #[test]
    fn planes_add_up_within_the_span_all_cover() {
        let east = Series::new(vec![
            pt("2026-06-01T04:00:00Z", "2026-06-01T08:00:00Z", 1000.0),
            pt("2026-06-01T08:00:00Z", "2026-06-01T12:00:00Z", 500.0),
        ]);
        let west = Series::new(vec![
            pt("2026-06-01T06:00:00Z", "2026-06-01T10:00:00Z", 200.0),
            pt("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z", 800.0),
        ]);
        let s = sum(&[east, west]);
        let p = s.points();
        assert_eq!(p.first().unwrap().start, t("2026-06-01T06:00:00Z"));
        assert_eq!(s.end(), Some(t("2026-06-01T11:00:00Z")));
        assert_eq!(
            s.mean(t("2026-06-01T06:00:00Z"), t("2026-06-01T08:00:00Z")),
            Some(1200.0)
        );
        assert_eq!(
            s.mean(t("2026-06-01T10:00:00Z"), t("2026-06-01T11:00:00Z")),
            Some(1300.0)
        );
    }

    #[test]
    fn the_surplus_subtracts_the_load_by_local_hour_and_never_goes_negative() {
        let pv = Series::new(vec![pt(
            "2026-06-01T09:00:00Z",
            "2026-06-01T11:00:00Z",
            1000.0,
        )]);
        let mut s: ForecastSection = toml::from_str("house_load_w = 400").unwrap();
        let flat = surplus(&pv, &s, chrono_tz::Europe::Brussels);
        assert_eq!(flat.points().len(), 8);
        assert_eq!(
            flat.mean(t("2026-06-01T09:00:00Z"), t("2026-06-01T11:00:00Z")),
            Some(600.0)
        );
        // 11:00 and 12:00 local (UTC+2) are 09:00Z and 10:00Z.
        let mut table = vec![0.0; 24];
        table[11] = 300.0;
        table[12] = 1500.0;
        s.house_load_w = None;
        s.house_load_by_hour = Some(table);
        let by_hour = surplus(&pv, &s, chrono_tz::Europe::Brussels);
        assert_eq!(
            by_hour.mean(t("2026-06-01T09:00:00Z"), t("2026-06-01T10:00:00Z")),
            Some(700.0)
        );
        assert_eq!(
            by_hour.mean(t("2026-06-01T10:00:00Z"), t("2026-06-01T11:00:00Z")),
            Some(0.0)
        );
        // Half an hour off UTC: India's local hours start at :30 UTC.
        let india = surplus(&pv, &s, chrono_tz::Asia::Kolkata);
        assert_eq!(
            india.mean(t("2026-06-01T09:00:00Z"), t("2026-06-01T09:30:00Z")),
            Some(1000.0)
        );
    }

    #[test]
    fn remaining_today_stops_at_local_midnight() {
        let pv = Series::new(vec![
            pt("2026-06-01T10:00:00Z", "2026-06-01T12:00:00Z", 3000.0),
            pt("2026-06-02T10:00:00Z", "2026-06-02T12:00:00Z", 3000.0),
        ]);
        let kwh = remaining_today_kwh(&pv, chrono_tz::Europe::Brussels, t("2026-06-01T11:00:00Z"));
        assert!((kwh - 3.0).abs() < 1e-9, "{kwh}");
        let evening =
            remaining_today_kwh(&pv, chrono_tz::Europe::Brussels, t("2026-06-01T20:00:00Z"));
        assert_eq!(evening, 0.0);
    }

    mod props {
        //! Invariants of the mapping, for any forecast and load: the surplus is never negative and
        //! never above the PV, it covers exactly what the PV covers, and the planes' sum is at least
        //! each plane wherever all of them are covered.
        use super::*;
        use proptest::prelude::*;

        /// Up to 12 intervals of 15..=120 min with gaps, from 2026-06-01T00:00Z.
        fn series() -> impl Strategy<Value = Series> {
            proptest::collection::vec((0i64..=4, 1i64..=8, 0.0f64..12_000.0), 1..12).prop_map(|v| {
                let mut t = t("2026-06-01T00:00:00Z");
                let mut points = Vec::new();
                for (gap, len, w) in v {
                    let start = t + Duration::minutes(15 * gap);
                    let end = start + Duration::minutes(15 * len);
                    points.push(Point {
                        start,
                        end,
                        value: w,
                    });
                    t = end;
                }
                Series::new(points)
            })
        }

        proptest! {
            #[test]
            fn the_surplus_stays_within_zero_and_the_pv(
                pv in series(),
                load in proptest::collection::vec(0.0f64..5_000.0, 24),
            ) {
                let s = ForecastSection {
                    house_load_by_hour: Some(load),
                    ..ForecastSection::default()
                };
                let out = surplus(&pv, &s, chrono_tz::Europe::Brussels);
                let quarter = Duration::minutes(15);
                let span = slot_grid(t("2026-06-01T00:00:00Z"), t("2026-06-02T06:00:00Z"), quarter);
                for (a, b) in span {
                    match (pv.mean(a, b), out.mean(a, b)) {
                        (Some(p), Some(x)) => prop_assert!(x >= 0.0 && x <= p + 1e-9),
                        (None, None) => {}
                        other => prop_assert!(false, "coverage differs at {a}: {other:?}"),
                    }
                }
            }

            #[test]
            fn the_sum_is_at_least_each_plane(a in series(), b in series()) {
                let s = sum(&[a.clone(), b.clone()]);
                for p in s.points() {
                    for plane in [&a, &b] {
                        let v = plane.mean(p.start, p.end).unwrap_or(0.0);
                        prop_assert!(p.value + 1e-9 >= v);
                    }
                }
            }
        }
    }
}
