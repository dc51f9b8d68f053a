//! Tibber's `priceInfo` answer as sent (serde types named after the GraphQL schema), its GraphQL
//! errors classified into the shared vocabulary, and the mapping of the chosen home's prices into a
//! [`Series`] per kWh. Pure: no I/O.

use super::VENDOR;
use crate::config::prices::TibberPrice;
use crate::control::plan::series::{Point, Series};
use crate::vendor::{self, VendorError};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

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

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"data": {"viewer": {"homes": [
        {"id": "a", "currentSubscription": null},
        {"id": "b", "currentSubscription": {"priceInfo": {
          "today": [{"total": 0.2456, "energy": 0.1324, "tax": 0.1132, "startsAt": "2026-06-01T00:00:00.000+02:00", "currency": "EUR"},
                    {"total": 0.3, "energy": 0.2, "tax": 0.1, "startsAt": "2026-06-01T00:15:00.000+02:00", "currency": "EUR"}],
          "tomorrow": []}}}]}}}"#;

    #[test]
    fn the_documented_answer_maps_to_the_home_with_a_contract() {
        let r: Response = serde_json::from_str(DOC).unwrap();
        let s = map(&r, None, TibberPrice::Total, Duration::hours(1), "EUR").unwrap();
        let p = s.points();
        assert_eq!(p.len(), 2);
        // An hour asked for, but the next price starts sooner: the first lasts until then.
        assert_eq!(p[0].end, p[1].start);
        assert_eq!(p[1].end - p[1].start, Duration::hours(1));
        assert_eq!(p[0].value, 0.2456);
        let e = map(&r, None, TibberPrice::Energy, Duration::minutes(15), "EUR").unwrap();
        assert_eq!(e.points()[0].value, 0.1324);
        assert!(map(&r, Some("a"), TibberPrice::Total, Duration::hours(1), "EUR").is_err());
        let nok = map(&r, None, TibberPrice::Total, Duration::hours(1), "NOK").unwrap_err();
        assert!(nok.to_string().contains("set currency = \"EUR\""), "{nok}");
    }

    #[test]
    fn graphql_errors_are_classified() {
        let r: Response = serde_json::from_str(
            r#"{"errors": [{"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}], "data": null}"#,
        )
        .unwrap();
        let e = map(&r, None, TibberPrice::Total, Duration::hours(1), "EUR").unwrap_err();
        assert!(matches!(e, VendorError::Auth { .. }), "{e}");
        let r: Response = serde_json::from_str(
            r#"{"errors": [{"message": "Too Many Requests", "extensions": {"code": "RATE_LIMIT_EXCEEDED"}}]}"#,
        )
        .unwrap();
        assert!(matches!(
            classify_errors(&r.errors),
            Some(VendorError::RateLimited { .. })
        ));
    }
}
