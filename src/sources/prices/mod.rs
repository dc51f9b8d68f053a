//! Import prices for the plan: a fixed table from the config, a day-ahead list fetched from a
//! provider, or a list another tool publishes on MQTT, each turned into a [`Series`] of the
//! household's price per kWh.
//!
//! Owns: [`fixed`] (the `[prices] import` table laid out over a span), the provider clients
//! ([`awattar`], [`entsoe`], [`tibber`]: wire types, request, mapping), the MQTT payload shapes
//! ([`mqtt`]) and [`fetch`] (the one entry the daemon and `sunplug plan` call for fetched sources).
//! Freshness is the caller's: the series comes back with the time it was fetched (or received), and
//! [`crate::control::plan::outlook::Outlook`] ignores it after `[prices] max_age`; a slot no list
//! covers is planned at `[prices] fallback`.

pub mod awattar;
pub mod entsoe;
pub mod mqtt;
pub mod tibber;

use crate::config::prices::{FixedImport, PriceSource, PricesSection};
use crate::control::plan::series::{Series, local_hour_table};
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;

/// The fixed table over `[from, until)`, `None` for a provider's source.
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

/// A series of the household's price from a list as `section`'s source publishes it (€/MWh for
/// the spot sources, per kWh for Tibber and MQTT), through the section's linear map.
pub fn household(section: &PricesSection, raw: Series) -> Series {
    match section.source {
        PriceSource::Awattar | PriceSource::Entsoe => raw.map(|v| section.map_spot(v)),
        PriceSource::Fixed | PriceSource::Tibber | PriceSource::Mqtt => {
            raw.map(|v| section.map_per_kwh(v))
        }
    }
}

/// The prices from `now` on, as the section says: the fixed table for the next 48 hours, or the
/// provider's list (today and, once published, tomorrow), mapped to the household's price. `token`
/// is `[prices] token_file`'s secret (ENTSO-E, Tibber). An MQTT source is not fetched: it is an
/// `Unsupported` error here (the daemon subscribes to it, `sunplug plan` waits for one message).
pub async fn fetch(
    section: &PricesSection,
    token: Option<&SecretString>,
    http: &reqwest::Client,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Series, VendorError> {
    let base = |default: &str| section.base_url.clone().unwrap_or_else(|| default.into());
    let need_token = |vendor: &'static str| {
        token.ok_or_else(|| VendorError::Auth {
            vendor,
            detail: "no token: set [prices] token_file".into(),
        })
    };
    let raw = match section.source {
        PriceSource::Fixed => {
            return Ok(
                fixed(section, tz, now, now + chrono::Duration::hours(48)).unwrap_or_default()
            );
        }
        PriceSource::Awattar => {
            awattar::fetch(http, &base(awattar::base_url(section.market)), now).await?
        }
        PriceSource::Entsoe => {
            let zone = section.zone.as_deref().unwrap_or_default();
            // `check-config` refuses an unknown zone; this only guards a section built in code.
            let eic = entsoe::zone_eic(zone).map_err(|detail| VendorError::Unsupported {
                vendor: entsoe::VENDOR,
                detail,
            })?;
            entsoe::fetch(
                http,
                &base(entsoe::BASE_URL),
                need_token(entsoe::VENDOR)?,
                eic,
                now,
            )
            .await?
        }
        PriceSource::Tibber => {
            tibber::fetch(
                http,
                &base(tibber::BASE_URL),
                need_token(tibber::VENDOR)?,
                section.home_id.as_deref(),
                section.tibber_price,
                section.resolution,
                &section.currency,
            )
            .await?
        }
        PriceSource::Mqtt => {
            return Err(VendorError::Unsupported {
                vendor: "mqtt",
                detail: "MQTT prices are published to sunplug, not fetched".into(),
            });
        }
    };
    Ok(household(section, raw))
}
