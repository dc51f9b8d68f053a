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
//!
//! Owns: [`fetch`] (the request, the status classification) and [`query`]; the answer's types and
//! its mapping into a [`Series`] are in [`wire`].

pub mod wire;

use crate::config::prices::{TibberPrice, TibberResolution};
use crate::control::plan::series::Series;
use crate::vendor::{self, VendorError};
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use wire::{Response, map};

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
