//! A PV forecast another tool publishes on MQTT, read from one JSON payload.
//!
//! Accepted shapes (times RFC 3339 with an offset; a period lasts until the next one starts, the
//! last as long as the shortest period seen, 30 minutes when there is only one):
//!
//! 1. Home Assistant's Solcast integration, its `detailedForecast` attribute as published (e.g. by
//!    an automation, or `mqtt_statestream` with attributes), kW over 30-minute periods:
//!    `{"detailedForecast": [{"period_start": "2026-06-01T10:00:00+02:00", "pv_estimate": 2.5,
//!    "pv_estimate10": 1.1, "pv_estimate90": 3.0}, ...]}`, or that list alone;
//! 2. a plain list in watts: `[{"start": "2026-06-01T10:00:00Z", "watts": 2500}, ...]` (an `end`
//!    per entry is taken when given), or `{"forecast": [...]}`.
//!
//! Anything else is refused with the reason, and the forecast in use stays as it was.

use crate::control::plan::series::{Point, Series};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Payload {
    Solcast {
        #[serde(rename = "detailedForecast")]
        detailed_forecast: Vec<SolcastPeriod>,
    },
    SolcastList(Vec<SolcastPeriod>),
    Plain {
        forecast: Vec<PlainEntry>,
    },
    PlainList(Vec<PlainEntry>),
}

#[derive(Debug, Deserialize)]
struct SolcastPeriod {
    period_start: String,
    /// kW, the period's mean.
    pv_estimate: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainEntry {
    start: String,
    end: Option<String>,
    watts: f64,
}

const SHAPES: &str = "expected {\"detailedForecast\": [{\"period_start\", \"pv_estimate\" (kW)}]} \
    (Home Assistant's Solcast) or [{\"start\", \"watts\"}]";

fn time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("\"{s}\" is not an RFC 3339 time with an offset"))
}

/// The payload as PV power over time, W.
pub fn parse(payload: &[u8]) -> Result<Series, String> {
    let p: Payload = serde_json::from_slice(payload).map_err(|_| {
        format!(
            "not a forecast ({}): {SHAPES}",
            crate::vendor::describe_body(payload)
        )
    })?;
    // (start, explicit end, W)
    let entries: Vec<(DateTime<Utc>, Option<DateTime<Utc>>, f64)> = match p {
        Payload::Solcast { detailed_forecast } | Payload::SolcastList(detailed_forecast) => {
            detailed_forecast
                .iter()
                .map(|e| Ok((time(&e.period_start)?, None, e.pv_estimate * 1000.0)))
                .collect::<Result<_, String>>()?
        }
        Payload::Plain { forecast } | Payload::PlainList(forecast) => forecast
            .iter()
            .map(|e| {
                let end = e.end.as_deref().map(time).transpose()?;
                Ok((time(&e.start)?, end, e.watts))
            })
            .collect::<Result<_, String>>()?,
    };
    if entries.is_empty() {
        return Err(format!("an empty forecast: {SHAPES}"));
    }
    if let Some(bad) = entries.iter().find(|e| !(e.2.is_finite() && e.2 >= 0.0)) {
        return Err(format!("{} W at {} is not a PV power", bad.2, bad.0));
    }
    let mut entries = entries;
    entries.sort_by_key(|e| e.0);
    let shortest = entries
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| *d > Duration::zero())
        .min()
        .unwrap_or(Duration::minutes(30));
    let points = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let next = entries
                .get(i + 1)
                .map(|n| n.0)
                .filter(|n| *n - e.0 <= shortest);
            Point {
                start: e.0,
                end: e.1.or(next).unwrap_or(e.0 + shortest),
                value: e.2,
            }
        })
        .collect();
    Ok(Series::new(points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn solcasts_detailed_forecast_is_kw_per_half_hour() {
        let s = parse(
            br#"{"detailedForecast": [
              {"period_start": "2026-06-01T10:00:00+02:00", "pv_estimate": 2.5, "pv_estimate10": 1.0, "pv_estimate90": 3.1},
              {"period_start": "2026-06-01T10:30:00+02:00", "pv_estimate": 3.0, "pv_estimate10": 1.2, "pv_estimate90": 3.6}]}"#,
        )
        .unwrap();
        let p = s.points();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].start, t("2026-06-01T08:00:00Z"));
        assert_eq!(p[0].value, 2500.0);
        assert_eq!(p[1].end, t("2026-06-01T09:00:00Z"));
        // The list alone is the same forecast.
        let alone =
            parse(br#"[{"period_start": "2026-06-01T10:00:00+02:00", "pv_estimate": 2.5}]"#)
                .unwrap();
        assert_eq!(alone.points()[0].end, t("2026-06-01T08:30:00Z"));
    }

    #[test]
    fn a_plain_list_in_watts_with_a_gap() {
        let s = parse(
            br#"[{"start": "2026-06-01T08:00:00Z", "watts": 1000},
                 {"start": "2026-06-01T08:15:00Z", "watts": 1200},
                 {"start": "2026-06-01T12:00:00Z", "watts": 900, "end": "2026-06-01T13:00:00Z"}]"#,
        )
        .unwrap();
        let p = s.points();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].end, t("2026-06-01T08:30:00Z"), "a gap stays uncovered");
        assert_eq!(p[2].end, t("2026-06-01T13:00:00Z"));
        assert!(parse(br#"{"forecast": [{"start": "2026-06-01T08:00:00Z", "watts": 5}]}"#).is_ok());
    }

    #[test]
    fn other_payloads_are_refused_with_the_reason() {
        let e = parse(b"on").unwrap_err();
        assert!(e.contains("detailedForecast"), "{e}");
        let e = parse(br#"[{"start": "2026-06-01 08:00", "watts": 5}]"#).unwrap_err();
        assert!(e.contains("offset"), "{e}");
        let e = parse(br#"[{"start": "2026-06-01T08:00:00Z", "watts": -5}]"#).unwrap_err();
        assert!(e.contains("-5"), "{e}");
        assert!(parse(b"[]").unwrap_err().contains("empty"));
        // A typo in a key is not silently a forecast of nothing.
        assert!(parse(br#"[{"start": "2026-06-01T08:00:00Z", "wats": 5}]"#).is_err());
    }
}
