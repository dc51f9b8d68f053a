//! Tibber's price list for the user's contract: today and, once published (about 13:00 CET),
//! tomorrow, per kWh in the contract's currency.
//!
//! Request, as Tibber's developer docs give it (https://developer.tibber.com/docs/reference,
//! `Subscription.priceInfo(resolution: PriceInfoResolution)`, `HOURLY` or `QUARTER_HOURLY` since the
//! 2025-09-01 changelog; `Price { total energy tax startsAt currency level }`): `POST {base}/v1-beta/gql`
//! with `Authorization: Bearer TOKEN` and the query [`query`]. Answer:
//!
//! ```json
//! {"data": {"viewer": {"homes": [{"id": "96a14971-...", "currentSubscription": {"priceInfo": {
//!   "today": [{"total": 0.2456, "energy": 0.1324, "tax": 0.1132,
//!              "startsAt": "2026-06-01T00:00:00.000+02:00", "currency": "EUR"}],
//!   "tomorrow": []}}}]}}}
//! ```
//!
//! `total` is what the contract bills (energy + Tibber's taxes and fees), `energy` the spot part.
//! Since 2025-01-03 a refused token is HTTP 200 with `{"errors": [{"message": "...", "extensions":
//! {"code": "UNAUTHENTICATED"}}]}`; older answers (and a proxy) may still send 400/401. Tibber asks for
//! at most 100 requests per 5 minutes per IP: 429 (or the GraphQL code `RATE_LIMIT_EXCEEDED`) is
//! `RateLimited`. A home without a current contract has `currentSubscription: null`.

use crate::config::prices::{TibberPrice, TibberResolution};
use crate::control::plan::series::{Point, Series};
use crate::vendor::{self, VendorError};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const VENDOR: &str = "tibber";
pub const BASE_URL: &str = "https://api.tibber.com";

/// The GraphQL query for `resolution`.
pub fn query(resolution: TibberResolution) -> String {
    let r = match resolution {
        TibberResolution::QuarterHourly => "QUARTER_HOURLY",
        TibberResolution::Hourly => "HOURLY",
    };
    format!(
        "{{ viewer {{ homes {{ id currentSubscription {{ priceInfo(resolution: {r}) {{ \
         today {{ total energy tax startsAt currency }} \
         tomorrow {{ total energy tax startsAt currency }} }} }} }} }} }}"
    )
}

/// The answer as sent.
#[derive(Debug, Deserialize)]
pub struct Response {
    pub data: Option<Data>,
    #[serde(default)]
    pub errors: Vec<GqlError>,
}

#[derive(Debug, Deserialize)]
pub struct GqlError {
    #[serde(default)]
    pub message: String,
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
pub struct Extensions {
    pub code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Data {
    pub viewer: Viewer,
}

#[derive(Debug, Deserialize)]
pub struct Viewer {
    pub homes: Vec<Option<Home>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Home {
    pub id: String,
    pub current_subscription: Option<Subscription>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub price_info: Option<PriceInfo>,
}

#[derive(Debug, Deserialize)]
pub struct PriceInfo {
    #[serde(default)]
    pub today: Vec<Option<Price>>,
    #[serde(default)]
    pub tomorrow: Vec<Option<Price>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    pub total: Option<f64>,
    pub energy: Option<f64>,
    pub starts_at: String,
    pub currency: Option<String>,
}

fn protocol(detail: String) -> VendorError {
    VendorError::Protocol {
        vendor: VENDOR,
        detail,
    }
}

/// GraphQL errors → the vocabulary. `None` when there are none.
pub fn classify_errors(errors: &[GqlError]) -> Option<VendorError> {
    let first = errors.first()?;
    let code = first
        .extensions
        .as_ref()
        .and_then(|e| e.code.as_deref())
        .unwrap_or("");
    let detail = vendor::excerpt(&format!("{} ({code})", first.message));
    Some(match code {
        "UNAUTHENTICATED" | "UNAUTHORIZED" | "FORBIDDEN" => VendorError::Auth {
            vendor: VENDOR,
            detail: format!("{detail}: check the token in [prices] token_file"),
        },
        "RATE_LIMIT_EXCEEDED" | "TOO_MANY_REQUESTS" => VendorError::RateLimited {
            vendor: VENDOR,
            retry_after: None,
        },
        "INTERNAL_SERVER_ERROR" | "SERVICE_UNAVAILABLE" => VendorError::Transient {
            vendor: VENDOR,
            detail,
        },
        _ => VendorError::Rejected {
            vendor: VENDOR,
            status: 200,
            detail,
        },
    })
}

/// The chosen home's prices (`total` or `energy`) per kWh. Each price lasts one step of the
/// resolution asked for, or until the next one starts if that is sooner. A price in another currency
/// than `currency` is an error: a NOK list must not be planned as euro.
pub fn map(
    r: &Response,
    home_id: Option<&str>,
    which: TibberPrice,
    step: Duration,
    currency: &str,
) -> Result<Series, VendorError> {
    if let Some(e) = classify_errors(&r.errors) {
        return Err(e);
    }
    let homes = r
        .data
        .as_ref()
        .ok_or_else(|| protocol("neither data nor errors".into()))?
        .viewer
        .homes
        .iter()
        .flatten();
    let mut with_contract = homes.filter(|h| {
        h.current_subscription
            .as_ref()
            .is_some_and(|s| s.price_info.is_some())
    });
    let home = match home_id {
        Some(id) => with_contract.find(|h| h.id == id).ok_or_else(|| VendorError::Rejected {
            vendor: VENDOR,
            status: 200,
            detail: format!(
                "no home with id \"{id}\" and a current contract in this account: check [prices] home_id"
            ),
        })?,
        None => with_contract.next().ok_or_else(|| VendorError::Rejected {
            vendor: VENDOR,
            status: 200,
            detail: "no home of this account has a current contract with prices".into(),
        })?,
    };
    let info = home
        .current_subscription
        .as_ref()
        .and_then(|s| s.price_info.as_ref())
        .ok_or_else(|| protocol("the home has no priceInfo".into()))?;
    let mut starts = Vec::new();
    for p in info.today.iter().chain(&info.tomorrow).flatten() {
        let at = DateTime::parse_from_rfc3339(&p.starts_at)
            .map_err(|_| protocol(format!("startsAt \"{}\" is not a time", p.starts_at)))?
            .with_timezone(&Utc);
        if let Some(c) = &p.currency
            && c != currency
        {
            return Err(protocol(format!(
                "prices in {c}, but [prices] currency = \"{currency}\": set currency = \"{c}\""
            )));
        }
        let v = match which {
            TibberPrice::Total => p.total,
            TibberPrice::Energy => p.energy,
        };
        let v = v.filter(|v| v.is_finite()).ok_or_else(|| {
            protocol(format!(
                "the price at {} has no {which:?} value",
                p.starts_at
            ))
        })?;
        starts.push((at, v));
    }
    starts.sort_by_key(|(t, _)| *t);
    let points = starts
        .iter()
        .enumerate()
        .map(|(i, (t, v))| {
            let end = starts
                .get(i + 1)
                .map_or(*t + step, |(next, _)| (*t + step).min(*next));
            Point {
                start: *t,
                end,
                value: *v,
            }
        })
        .collect();
    Ok(Series::new(points))
}

/// The list of the home `home_id` (or the first with a contract), per kWh.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: &SecretString,
    home_id: Option<&str>,
    which: TibberPrice,
    resolution: TibberResolution,
    currency: &str,
) -> Result<Series, VendorError> {
    let url = format!("{}/v1-beta/gql", base.trim_end_matches('/'));
    let req = http
        .post(url)
        .bearer_auth(token.expose_secret())
        .json(&serde_json::json!({ "query": query(resolution) }));
    let answer = vendor::send(VENDOR, req).await?;
    if !answer.status.is_success() {
        // A GraphQL error body says more than the status.
        let detail = answer
            .json::<Response>(VENDOR, "error")
            .ok()
            .and_then(|r| r.errors.into_iter().next())
            .map(|e| vendor::excerpt(&e.message))
            .unwrap_or_else(|| vendor::describe_body(&answer.body));
        let e = vendor::classify_status(VENDOR, answer.status, &answer.headers, detail);
        return Err(match e {
            // Before 2025 a refused token was a 400.
            VendorError::Rejected {
                status: 400,
                detail,
                ..
            } if detail.to_ascii_lowercase().contains("unauthor") => VendorError::Auth {
                vendor: VENDOR,
                detail,
            },
            e => e,
        });
    }
    let step = match resolution {
        TibberResolution::QuarterHourly => Duration::minutes(15),
        TibberResolution::Hourly => Duration::hours(1),
    };
    map(
        &answer.json::<Response>(VENDOR, "priceInfo")?,
        home_id,
        which,
        step,
        currency,
    )
}
