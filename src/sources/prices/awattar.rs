//! aWATTar's public day-ahead list (EPEX spot, Germany or Austria): no account, no token.
//!
//! Request: `GET {base}/v1/marketdata?start={ms}&end={ms}` (UTC epoch milliseconds; without them the
//! API answers the next 24 hours). Answer, as documented at https://www.awattar.de/services/api
//! (and its JSON schema mirrored by api-evangelist/awattar):
//!
//! ```json
//! {"object": "list",
//!  "data": [{"start_timestamp": 1428591600000, "end_timestamp": 1428595200000,
//!            "marketprice": 42.09, "unit": "Eur/MWh"}],
//!  "url": "/at/v1/marketdata"}
//! ```
//!
//! Fair use: about 100 requests a day per IP (hence `[prices] refresh` ≥ 15 min). Errors go through
//! the shared vocabulary ([`crate::vendor`]): 429 with `Retry-After` is `RateLimited`, 5xx
//! `Transient`, a body of another shape `Protocol`.

use crate::config::prices::Market;
use crate::control::plan::series::{Point, Series};
use crate::vendor::{self, VendorError};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub const VENDOR: &str = "awattar";

pub fn base_url(market: Market) -> &'static str {
    match market {
        Market::De => "https://api.awattar.de",
        Market::At => "https://api.awattar.at",
    }
}

/// `/v1/marketdata` as sent.
#[derive(Debug, Deserialize)]
pub struct MarketData {
    pub data: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    pub start_timestamp: i64,
    pub end_timestamp: i64,
    pub marketprice: f64,
    pub unit: String,
}

/// The list as spot €/MWh per interval. An entry in another unit, or one with an end not after its
/// start, makes the whole answer a protocol error (a price off by a factor 1000 must not plan a night).
pub fn map(m: &MarketData) -> Result<Series, VendorError> {
    let mut points = Vec::with_capacity(m.data.len());
    for e in &m.data {
        let bad = |what: &str| VendorError::Protocol {
            vendor: VENDOR,
            detail: format!("entry at {}: {what}", e.start_timestamp),
        };
        if !e.unit.eq_ignore_ascii_case("Eur/MWh") {
            return Err(bad(&format!("unit \"{}\", expected Eur/MWh", e.unit)));
        }
        if e.end_timestamp <= e.start_timestamp || !e.marketprice.is_finite() {
            return Err(bad("not an interval with a price"));
        }
        let t = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| bad("time out of range"))
        };
        points.push(Point {
            start: t(e.start_timestamp)?,
            end: t(e.end_timestamp)?,
            value: e.marketprice,
        });
    }
    Ok(Series::new(points))
}

/// Today's and (once published, about 14:00 CET) tomorrow's prices: from the start of the current
/// hour to 48 hours later.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    let start = now.timestamp_millis().div_euclid(3_600_000) * 3_600_000;
    let end = (now + Duration::hours(48)).timestamp_millis();
    let url = format!("{}/v1/marketdata", base.trim_end_matches('/'));
    let req = http
        .get(url)
        .query(&[("start", start.to_string()), ("end", end.to_string())]);
    let answer = vendor::send(VENDOR, req).await?;
    if !answer.status.is_success() {
        return Err(vendor::classify_status(
            VENDOR,
            answer.status,
            &answer.headers,
            vendor::describe_body(&answer.body),
        ));
    }
    map(&answer.json::<MarketData>(VENDOR, "marketdata")?)
}
