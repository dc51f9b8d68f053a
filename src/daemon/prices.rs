//! The daemon's price task: fetch `[prices]` every `refresh` (a fixed table or a provider's list),
//! hand each list to the loop with the time it was fetched, and back off on errors (honouring a
//! provider's `Retry-After`). The loop gives the list to the controller's outlook, which ignores it
//! once it is older than `max_age`: a provider that stays down never leaves an old list in charge.

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::config::prices::{FixedImport, PricesSection};
use crate::control::plan::outlook::Outlook;
use crate::control::plan::series::Series;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A fetched list and when.
pub type Fetched = Option<(Series, DateTime<Utc>)>;

/// The outlook the loop starts from: no list yet, the fallback price and the section's max age.
pub fn outlook(p: &PricesSection) -> Outlook {
    let mut o = Outlook::new(match (&p.import, p.fallback) {
        (_, Some(f)) => f,
        (Some(FixedImport::Flat(v)), None) => *v,
        (Some(FixedImport::ByHour(t)), None) => t.iter().sum::<f64>() / t.len().max(1) as f64,
        (None, None) => 0.0,
    });
    o.price_max_age = p.max_age.get();
    o
}

pub fn spawn(
    section: PricesSection,
    tz: Tz,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<Fetched>,
    stop: CancellationToken,
    speed: f64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        let mut backoff = Backoff::new(Duration::from_secs(60), section.refresh.get());
        loop {
            let now = clock.now();
            let result = tokio::select! {
                _ = stop.cancelled() => return,
                r = crate::sources::prices::fetch(&section, &http, tz, now) => r,
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
    })
}
