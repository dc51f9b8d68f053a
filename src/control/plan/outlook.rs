//! What the plan knows about the coming hours: the price list and the solar forecast, each with the
//! time it was fetched, and when each stops being trusted.
//!
//! Owns: [`Outlook`]. Sources (daemon) or the simulator's models fill it in; the controller hands it
//! to the policy. Stale means unknown: a price list older than `price_max_age` gives way to the
//! fallback price, a forecast older than `forecast_max_age` to "no sun" (the plan then buys what it
//! needs from the grid, never trusting an old forecast forever).

use super::series::Series;
use crate::control::Reading;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A day-ahead list is published once a day and covers up to 36 hours.
pub const DEFAULT_PRICE_MAX_AGE: Duration = Duration::from_secs(36 * 3600);
/// Solar forecasts are refreshed a few times a day.
pub const DEFAULT_FORECAST_MAX_AGE: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub struct Outlook {
    /// Import prices per kWh, the user's surcharges applied.
    pub prices: Option<Reading<Series>>,
    /// Forecast surplus (pv − house load), W.
    pub forecast: Option<Reading<Series>>,
    /// The price of a slot no fresh list covers.
    pub fallback_price: f64,
    pub price_max_age: Duration,
    pub forecast_max_age: Duration,
    /// Bumped by every change, so a policy re-plans when its inputs change.
    pub generation: u64,
}

impl Outlook {
    pub fn new(fallback_price: f64) -> Outlook {
        Outlook {
            prices: None,
            forecast: None,
            fallback_price,
            price_max_age: DEFAULT_PRICE_MAX_AGE,
            forecast_max_age: DEFAULT_FORECAST_MAX_AGE,
            generation: 0,
        }
    }

    pub fn set_prices(&mut self, prices: Series, fetched: DateTime<Utc>) {
        self.prices = Some(Reading::new(prices, fetched));
        self.generation += 1;
    }

    pub fn set_forecast(&mut self, forecast: Series, fetched: DateTime<Utc>) {
        self.forecast = Some(Reading::new(forecast, fetched));
        self.generation += 1;
    }

    /// The price list, if fresh at `now`.
    pub fn prices_at(&self, now: DateTime<Utc>) -> Option<&Series> {
        self.prices
            .as_ref()
            .and_then(|r| r.fresh(now, self.price_max_age))
    }

    /// The forecast, if fresh at `now`.
    pub fn forecast_at(&self, now: DateTime<Utc>) -> Option<&Series> {
        self.forecast
            .as_ref()
            .and_then(|r| r.fresh(now, self.forecast_max_age))
    }
}
