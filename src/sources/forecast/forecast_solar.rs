//! forecast.solar's public estimate: no account, one plane per call, 12 calls an hour per IP.
//!
//! Request: `GET {base}/estimate/{lat}/{lon}/{dec}/{az}/{kwp}?time=iso8601` (declination and azimuth
//! are integers, azimuth -180 … 180 with 0 south; documented at
//! https://doc.forecast.solar/api:estimate and, for `time`, https://doc.forecast.solar/api).
//! Answer (the documented example's shape):
//!
//! ```json
//! {"result": {"watts": {"2026-06-01T05:12:00+02:00": 0, "2026-06-01T06:00:00+02:00": 180, ...},
//!             "watt_hours_period": {...}, "watt_hours": {...}, "watt_hours_day": {"2026-06-01": 31200}},
//!  "message": {"code": 0, "type": "success", "text": "",
//!              "info": {"latitude": 50.85, "longitude": 4.35, "place": "...", "timezone": "Europe/Brussels"},
//!              "ratelimit": {"period": 3600, "limit": 12, "remaining": 11}}}
//! ```
//!
//! `watts` is the power at each instant, from sunrise to sunset of today and tomorrow; without
//! `time=iso8601` the stamps are plain local times (`2026-06-01 06:00:00`) in `message.info.timezone`,
//! which this client also reads. Consecutive stamps of one day become one interval at their mean;
//! the night between two days is not covered (the plan counts no sun there).
//!
//! Rate limit (https://doc.forecast.solar/facing429): beyond the limit the API answers 429 with
//! `message.ratelimit["retry-at"]` and the header `X-Ratelimit-Retry-At` (ISO 8601); asking again
//! before then prolongs the block, so the wait is honoured ([`VendorError::RateLimited`]) and never
//! shorter than a minute.

use crate::control::plan::series::{Point, Series};
use crate::vendor::{self, VendorError};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub const VENDOR: &str = "forecast.solar";
pub const BASE_URL: &str = "https://api.forecast.solar";
/// The least wait after a 429, whatever `retry-at` says (a clock off, or a stamp in the past).
const MIN_RATE_WAIT: Duration = Duration::from_secs(60);

/// The estimate as sent.
#[derive(Debug, Deserialize)]
pub struct Estimate {
    pub result: Option<EstimateResult>,
    pub message: Message,
}

#[derive(Debug, Deserialize)]
pub struct EstimateResult {
    pub watts: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub code: i64,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    pub info: Option<Info>,
    pub ratelimit: Option<RateLimit>,
}

#[derive(Debug, Deserialize)]
pub struct Info {
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RateLimit {
    pub period: Option<u64>,
    pub limit: Option<u32>,
    pub remaining: Option<i64>,
    #[serde(rename = "retry-at")]
    pub retry_at: Option<String>,
}

fn protocol(detail: String) -> VendorError {
    VendorError::Protocol {
        vendor: VENDOR,
        detail,
    }
}

/// A stamp with an offset, or a plain local time in `tz`.
fn instant(stamp: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(stamp) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    // An autumn night's doubled hour: the earlier one (forecast.solar has no sun then anyway).
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The `watts` map as power over intervals (W). `tz` reads plain local stamps when the answer does
/// not name its time zone.
pub fn map(e: &Estimate, tz: Tz) -> Result<Series, VendorError> {
    let Some(result) = &e.result else {
        return Err(protocol(format!(
            "no result (message {} \"{}\")",
            e.message.code,
            vendor::excerpt(&e.message.text)
        )));
    };
    let tz = e
        .message
        .info
        .as_ref()
        .and_then(|i| i.timezone.as_deref())
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(tz);
    let mut stamps = Vec::with_capacity(result.watts.len());
    for (k, w) in &result.watts {
        let t =
            instant(k, tz).ok_or_else(|| protocol(format!("time \"{}\"", vendor::excerpt(k))))?;
        if !(w.is_finite() && *w >= 0.0) {
            return Err(protocol(format!("{w} W at {k}")));
        }
        stamps.push((t, *w));
    }
    if stamps.is_empty() {
        return Err(protocol("no watts in the answer".into()));
    }
    stamps.sort_by_key(|s| s.0);
    let points = stamps
        .windows(2)
        .filter(|w| {
            w[0].0.with_timezone(&tz).date_naive() == w[1].0.with_timezone(&tz).date_naive()
        })
        .map(|w| Point {
            start: w[0].0,
            end: w[1].0,
            value: (w[0].1 + w[1].1) / 2.0,
        })
        .collect();
    Ok(Series::new(points))
}

/// How long a 429 asks us to wait: `Retry-After`, else `X-Ratelimit-Retry-At`, else the body's
/// `retry-at`, at least [`MIN_RATE_WAIT`].
fn rate_wait(answer: &vendor::Answer, now: DateTime<Utc>) -> Duration {
    let until = |s: &str| {
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .and_then(|t| (t.with_timezone(&Utc) - now).to_std().ok())
    };
    let from_header = answer
        .headers
        .get("x-ratelimit-retry-at")
        .and_then(|v| v.to_str().ok())
        .and_then(until);
    let from_body = || {
        serde_json::from_slice::<Estimate>(&answer.body)
            .ok()
            .and_then(|e| e.message.ratelimit?.retry_at)
            .and_then(|s| until(&s))
    };
    vendor::retry_after(&answer.headers)
        .or(from_header)
        .or_else(from_body)
        .unwrap_or(MIN_RATE_WAIT)
        .max(MIN_RATE_WAIT)
}

/// One plane's estimate, W over time.
#[allow(clippy::too_many_arguments)]
pub async fn fetch_plane(
    http: &reqwest::Client,
    base: &str,
    latitude: f64,
    longitude: f64,
    plane: &crate::config::forecast::Plane,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    let url = format!(
        "{}/estimate/{:.4}/{:.4}/{}/{}/{}",
        base.trim_end_matches('/'),
        latitude,
        longitude,
        plane.declination.round() as i64,
        plane.azimuth.round() as i64,
        plane.kwp
    );
    let req = http
        .get(url)
        .header("accept", "application/json")
        .query(&[("time", "iso8601")]);
    let answer = vendor::send(VENDOR, req).await?;
    if answer.status.as_u16() == 429 {
        return Err(VendorError::RateLimited {
            vendor: VENDOR,
            retry_after: Some(rate_wait(&answer, now)),
        });
    }
    if !answer.status.is_success() {
        // The API explains a refused request in `message.text`.
        let detail = serde_json::from_slice::<Estimate>(&answer.body)
            .ok()
            .map(|e| vendor::excerpt(&e.message.text))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| vendor::describe_body(&answer.body));
        return Err(vendor::classify_status(
            VENDOR,
            answer.status,
            &answer.headers,
            detail,
        ));
    }
    map(&answer.json::<Estimate>(VENDOR, "estimate")?, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"result":{"watts":{"2026-06-01 05:30:00":0,"2026-06-01 06:00:00":200,
        "2026-06-01 07:00:00":1000,"2026-06-01 21:40:00":0,"2026-06-02 05:31:00":0,
        "2026-06-02 06:00:00":100},
        "watt_hours_period":{},"watt_hours":{},"watt_hours_day":{"2026-06-01":31200}},
        "message":{"code":0,"type":"success","text":"",
        "info":{"latitude":50.85,"longitude":4.35,"distance":0,"place":"Brussels","timezone":"Europe/Brussels"},
        "ratelimit":{"period":3600,"limit":12,"remaining":11}}}"#;

    #[test]
    fn plain_local_stamps_are_read_in_the_answers_time_zone() {
        let e: Estimate = serde_json::from_str(DOC).unwrap();
        let s = map(&e, chrono_tz::UTC).unwrap();
        let p = s.points();
        // Three intervals today, one tomorrow; none across the night.
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[0].start,
            "2026-06-01T03:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(p[0].value, 100.0);
        assert_eq!(p[1].value, 600.0);
        assert_eq!(
            p[3].end,
            "2026-06-02T04:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(e.message.ratelimit.unwrap().remaining, Some(11));
    }

    #[test]
    fn garbage_values_are_protocol_errors() {
        let bad = DOC.replace("\"2026-06-01 06:00:00\":200", "\"2026-06-01 06:00:00\":-5");
        let e: Estimate = serde_json::from_str(&bad).unwrap();
        assert!(matches!(
            map(&e, chrono_tz::UTC),
            Err(VendorError::Protocol { .. })
        ));
        let bad = DOC.replace("2026-06-01 06:00:00", "six o'clock");
        let e: Estimate = serde_json::from_str(&bad).unwrap();
        let err = map(&e, chrono_tz::UTC).unwrap_err().to_string();
        assert!(err.contains("six o'clock"), "{err}");
        let none: Estimate = serde_json::from_str(
            r#"{"result":null,"message":{"code":2,"type":"error","text":"Invalid longitude"}}"#,
        )
        .unwrap();
        let err = map(&none, chrono_tz::UTC).unwrap_err().to_string();
        assert!(err.contains("Invalid longitude"), "{err}");
    }
}
