//! Import prices for the plan: a fixed table from the config, or a day-ahead list fetched from a
//! provider, each turned into a [`Series`] of the household's price per kWh.
//!
//! Owns: [`fixed`] (the `[prices] import` table laid out over a span), [`awattar`] (the aWATTar
//! client: wire types, request, mapping) and [`fetch`] (the one entry the daemon and `sunplug plan`
//! call). Freshness is the caller's: the series comes back with the time it was fetched
//! ([`crate::control::plan::outlook::Outlook`] ignores it after `[prices] max_age`).

pub mod awattar;

use crate::config::prices::{FixedImport, PriceSource, PricesSection};
use crate::control::plan::series::{Series, local_hour_table};
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The fixed table over `[from, until)`, `None` for a spot source.
pub fn fixed(
    section: &PricesSection,
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Series> {
    let table: [f64; 24] = match (&section.source, &section.import) {
        (PriceSource::Fixed, Some(FixedImport::Flat(p))) => [*p; 24],
        (PriceSource::Fixed, Some(FixedImport::ByHour(t))) => t.as_slice().try_into().ok()?,
        _ => return None,
    };
    Some(local_hour_table(&table, tz, from, until))
}

/// The prices from `now` on, as the section says: the fixed table for the next 48 hours, or the
/// provider's list (today and, once published, tomorrow), mapped to the household's price.
pub async fn fetch(
    section: &PricesSection,
    http: &reqwest::Client,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    match section.source {
        PriceSource::Fixed => {
            Ok(fixed(section, tz, now, now + chrono::Duration::hours(48)).unwrap_or_default())
        }
        PriceSource::Awattar => {
            let base = section
                .base_url
                .clone()
                .unwrap_or_else(|| awattar::base_url(section.market).to_string());
            let spot = awattar::fetch(http, &base, now).await?;
            Ok(spot.map(|v| section.map_spot(v)))
        }
    }
}
