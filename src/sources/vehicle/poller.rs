//! The vehicle poll task: fetch when the pacer says, publish the result, stop when told.
//!
//! Owns: [`run`] and [`VehicleUpdate`]. The task sleeps until the source's next due time (tokio time,
//! so a paused test clock runs a whole day at once), polls, and publishes on a `watch` channel the
//! last good state together with the last error. It logs a failure when its kind changes and a
//! recovery once, not every retry. MQTT and `none` sources have nothing to poll: the task just waits
//! for shutdown.

use super::VehicleSource;
use super::state::VehicleState;
use crate::clock::Clock;
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the service knows about the car after each attempt.
#[derive(Debug, Clone, Default)]
pub struct VehicleUpdate {
    /// The last state fetched successfully (kept across failures: its capture times say how old it is).
    pub state: Option<VehicleState>,
    /// The last attempt's failure; `None` after a success.
    pub error: Option<VendorError>,
    /// When the last attempt was made.
    pub attempted_at: Option<DateTime<Utc>>,
    /// How many attempts were made so far.
    pub attempts: u64,
    /// When the next one is planned.
    pub next_poll: Option<DateTime<Utc>>,
}

/// Poll `source` until `shutdown` is cancelled, publishing each outcome on `tx`.
pub async fn run(
    mut source: VehicleSource,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<VehicleUpdate>,
    shutdown: CancellationToken,
) -> VehicleSource {
    let mut last_error_kind: Option<&'static str> = None;
    loop {
        let Some(due) = source.due(clock.now()) else {
            shutdown.cancelled().await;
            return source;
        };
        let wait = (due - clock.now()).to_std().unwrap_or_default();
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => continue,
                _ = shutdown.cancelled() => return source,
            }
        }
        let attempted_at = clock.now();
        let result = tokio::select! {
            r = source.poll(&*clock) => r,
            _ = shutdown.cancelled() => return source,
        };
        let next_poll = source.due(clock.now());
        match &result {
            Ok(s) => {
                if last_error_kind.take().is_some() {
                    tracing::info!(source = s.source, "vehicle data is back");
                }
                tracing::debug!(source = s.source, soc = ?s.soc.as_ref().map(|o| o.value.pct()),
                    plugged = ?s.plugged.as_ref().map(|o| o.value), next = ?next_poll, "vehicle polled");
            }
            Err(e) => {
                if last_error_kind != Some(e.kind()) {
                    tracing::warn!(error = %e, next = ?next_poll, "vehicle poll failed");
                } else {
                    tracing::debug!(error = %e, next = ?next_poll, "vehicle poll failed again");
                }
                last_error_kind = Some(e.kind());
            }
        }
        tx.send_modify(|u| {
            u.attempts += 1;
            u.attempted_at = Some(attempted_at);
            u.next_poll = next_poll;
            match result {
                Ok(s) => {
                    u.state = Some(s);
                    u.error = None;
                }
                Err(e) => u.error = Some(e),
            }
        });
    }
}
