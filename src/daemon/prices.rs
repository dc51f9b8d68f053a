//! The daemon's prices: for a fetched source, a task that fetches `[prices]` every `refresh` (a
//! fixed table or a provider's list), hands each list to the loop with the time it was fetched, and
//! backs off on errors (honouring a provider's `Retry-After`); for `source = "mqtt"`, [`MqttPrices`],
//! which the loop offers every message of the one broker connection. The loop gives the list to the
//! controller's outlook, which ignores it once it is older than `max_age`: a provider that stays
//! down, or a publisher that falls silent, never leaves an old list in charge. A list counts from
//! when it arrived; a retained one re-sent after a reconnect counts anew, which is safe because a
//! list prices only the slots it names (an old one names past slots).

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::config::prices::{FixedImport, PriceSource, PricesSection};
use crate::control::plan::outlook::Outlook;
use crate::control::plan::series::Series;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A fetched list and when.
pub type Fetched = Option<(Series, DateTime<Utc>)>;

/// The outlook the loop starts from: no list yet, the fallback price and the section's max age.
pub fn outlook(p: &PricesSection) -> Outlook {
    let mut o = Outlook::new(fallback(p));
    o.price_max_age = p.max_age.get();
    o
}

/// The price of a slot no list covers: `fallback`, or the mean of a fixed table.
pub fn fallback(p: &PricesSection) -> f64 {
    match (&p.import, p.fallback) {
        (_, Some(f)) => f,
        (Some(FixedImport::Flat(v)), None) => *v,
        (Some(FixedImport::ByHour(t)), None) => t.iter().sum::<f64>() / t.len().max(1) as f64,
        (None, None) => 0.0,
    }
}

/// The price list of `[prices] source = "mqtt"`: its topic and its parser.
#[derive(Debug, Clone)]
pub struct MqttPrices {
    pub topic: String,
    section: PricesSection,
}

impl MqttPrices {
    /// `None` unless the section's source is MQTT.
    pub fn new(section: &PricesSection) -> Option<MqttPrices> {
        (section.source == PriceSource::Mqtt).then(|| MqttPrices {
            topic: section.topic.clone().unwrap_or_default(),
            section: section.clone(),
        })
    }

    /// A message on our topic: `Some` with the household's prices, or why the list was refused
    /// (the list before it stays). `None` for another topic.
    pub fn on_message(&self, topic: &str, payload: &[u8]) -> Option<Result<Series, String>> {
        (topic == self.topic).then(|| {
            let raw = crate::sources::prices::mqtt::parse(payload)?;
            if raw.is_empty() {
                return Err("a list without a single price".into());
            }
            Ok(crate::sources::prices::household(&self.section, raw))
        })
    }
}

/// The fetch task of a fetched source (`None` for MQTT, which is pushed).
pub fn spawn(
    section: PricesSection,
    token: Option<SecretString>,
    tz: Tz,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<Fetched>,
    stop: CancellationToken,
    speed: f64,
) -> Option<tokio::task::JoinHandle<()>> {
    if section.source == PriceSource::Mqtt {
        return None;
    }
    Some(tokio::spawn(async move {
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        let mut backoff = Backoff::new(Duration::from_secs(60), section.refresh.get());
        loop {
            let now = clock.now();
            let result = tokio::select! {
                _ = stop.cancelled() => return,
                r = crate::sources::prices::fetch(&section, token.as_ref(), &http, tz, now) => r,
            };
            let wait = match result {
                Ok(series) => {
                    if backoff.failures() > 0 {
                        info!("prices: fetched again ({} slots)", series.points().len());
                    }
                    backoff.reset();
                    tx.send_replace(Some((series, now)));
                    section.refresh.get()
                }
                Err(e) => {
                    let wait = e.retry_after().unwrap_or_else(|| backoff.next_delay());
                    warn!("prices: {e}; next try in {}s", wait.as_secs());
                    wait
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait.div_f64(speed.max(1e-3))) => {}
            }
        }
    }))
}
