//! The ENTSO-E transparency platform's day-ahead prices (A44) of one bidding zone, with a token.
//!
//! Request, as the platform's RESTful API guide documents it
//! (https://transparency.entsoe.eu/content/static_content/Static%20content/web%20api/Guide.html,
//! "4.2.10 Day Ahead Prices [12.1.D]"): `GET {base}/api?securityToken=TOKEN&documentType=A44&
//! in_Domain=EIC&out_Domain=EIC&periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm` (UTC). The answer is
//! XML ([`wire`]): a `Publication_MarketDocument` of €/MWh per 15 or 60 min, or an
//! `Acknowledgement_MarketDocument` when there is no data (wrong zone, tomorrow not yet published)
//! or the request was refused. 401 means the token was refused; the platform allows 400 requests a
//! minute per token and answers 429 beyond. The token travels in the query: errors never carry the
//! URL (see [`crate::vendor::VendorError::from_reqwest`]).
//!
//! Owns: [`fetch`], the request and the classification; [`zones`] (names → EIC codes); [`wire`].

pub mod wire;
pub mod zones;

pub use zones::{zone_eic, zone_names};

use crate::control::plan::series::Series;
use crate::vendor::{self, VendorError};
use chrono::{DateTime, Duration, DurationRound, Utc};
use secrecy::{ExposeSecret, SecretString};

pub const VENDOR: &str = "entsoe";
pub const BASE_URL: &str = "https://web-api.tp.entsoe.eu";

/// `yyyyMMddHHmm` in UTC.
pub fn period(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M").to_string()
}

/// Today's and (once published, about 13:00 CET) tomorrow's prices of the zone with EIC code `eic`,
/// in €/MWh: from the start of the current hour to 48 hours later.
pub async fn fetch(
    http: &reqwest::Client,
    base: &str,
    token: &SecretString,
    eic: &str,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let end = start + Duration::hours(48);
    let url = format!("{}/api", base.trim_end_matches('/'));
    let req = http.get(url).query(&[
        ("securityToken", token.expose_secret()),
        ("documentType", "A44"),
        ("in_Domain", eic),
        ("out_Domain", eic),
        ("periodStart", &period(start)),
        ("periodEnd", &period(end)),
    ]);
    let answer = vendor::send(VENDOR, req).await?;
    let body = answer.text();
    let parsed = wire::parse(&body);
    if !answer.status.is_success() {
        // A refused request still explains itself in an acknowledgement: say its reason.
        let detail = match &parsed {
            Ok(wire::Answer::Acknowledgement { code, text }) => format!("{code}: {text}"),
            _ => vendor::describe_body(&answer.body),
        };
        return Err(vendor::classify_status(
            VENDOR,
            answer.status,
            &answer.headers,
            detail,
        ));
    }
    match parsed {
        Ok(wire::Answer::Prices(s)) if !s.is_empty() => Ok(s),
        Ok(wire::Answer::Prices(_)) => Err(VendorError::Protocol {
            vendor: VENDOR,
            detail: "a price document without a single price".into(),
        }),
        Ok(wire::Answer::Acknowledgement { code, text }) => Err(VendorError::Rejected {
            vendor: VENDOR,
            status: answer.status.as_u16(),
            detail: format!(
                "no prices for zone {eic} from {start} to {end} (reason {code}: {text}); check [prices] zone"
            ),
        }),
        Err(e) => Err(VendorError::Protocol {
            vendor: VENDOR,
            detail: format!("{e} ({})", vendor::describe_body(&answer.body)),
        }),
    }
}
