//! The charger writer: the only task that talks to the charger, a thin tokio shell around the pure
//! actuator ([`crate::control::actuate::Actuator`]).
//!
//! Owns: [`spawn_writer`], [`ChargerReport`] and [`outcome`] (a vendor error → its retry kind). The
//! control loop publishes the command it wants on a watch channel (the latest wins, so a slow charger
//! never builds a queue); the writer asks the actuator what to send, sends it, one write at a time, and
//! feeds back each answer and each state read with tokio's clock. Dedupe, replug, rejected requests,
//! backoff and manual changes are the actuator's. `--dry-run` is honoured here and only here. On
//! shutdown (also in the middle of a backoff wait) the charger is left in the configured safe state:
//! the floor only if sunplug was charging.

use super::ports::ChargerPort;
use crate::clock::Clock;
use crate::config::SafeState;
use crate::control::actuate::{Actuator, ActuatorSettings, Outcome, Request, SafeAction};
use crate::control::{ChargerObs, Command};
use crate::units::Amps;
use crate::vendor::VendorError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

const SHUTDOWN_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the writer tells the loop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargerReport {
    /// The charger's last read state.
    pub state: Option<ChargerObs>,
    /// The last request the charger confirmed.
    pub confirmed: Option<Request>,
    /// The request the charger has not confirmed yet, and why (for logs and Home Assistant).
    pub unconfirmed: Option<(Request, String)>,
    /// The current the charger offers: 0 A while paused.
    pub offered: Option<Amps>,
    /// A change made outside sunplug (in the vendor's app), and whether sunplug yields to it.
    pub manual: Option<(String, bool)>,
    /// Requests sent so far.
    pub writes: u64,
}

pub struct WriterSettings {
    pub poll_interval: Duration,
    pub safe_state: SafeState,
    pub actuator: ActuatorSettings,
    pub dry_run: bool,
}

/// The retry kind of a vendor error.
pub fn outcome(e: &VendorError) -> Outcome {
    match e {
        VendorError::Rejected { .. } | VendorError::Unsupported { .. } => Outcome::Rejected,
        VendorError::RateLimited { retry_after, .. } => Outcome::RateLimited(*retry_after),
        VendorError::Auth { .. } => Outcome::Auth,
        _ => Outcome::Transient,
    }
}

/// Start the writer. It runs until `stop` is cancelled, then applies the safe state and returns.
pub fn spawn_writer<C: ChargerPort>(
    mut charger: C,
    clock: Arc<dyn Clock>,
    mut wish: watch::Receiver<Option<Command>>,
    report: watch::Sender<ChargerReport>,
    settings: WriterSettings,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let origin = Instant::now();
        let since = move || Instant::now() - origin;
        let mut act = Actuator::new(settings.actuator);
        let mut poll = tokio::time::interval(settings.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut read_error: Option<String> = None;
        loop {
            act.command(*wish.borrow_and_update());
            if let Some(req) = act.next(since()) {
                act.sending(req);
                let result = send(&mut charger, req, settings.dry_run).await;
                let kind = result.as_ref().map_or_else(outcome, |_| Outcome::Ok);
                let wait = act.written(since(), req, kind);
                match result {
                    Ok(sent) => report.send_modify(|r| {
                        r.confirmed = Some(req);
                        r.unconfirmed = None;
                        r.offered = act.offered(r.state.as_ref());
                        r.writes += u64::from(sent);
                    }),
                    Err(e) => {
                        match (kind, wait) {
                            (Outcome::Rejected, _) => warn!(
                                "charger refused {req}: {e}; not retrying until the command changes"
                            ),
                            (_, Some(w)) => warn!(
                                "charger write {req} failed: {e}; retrying in {}s",
                                w.as_secs()
                            ),
                            (_, None) => warn!("charger write {req} failed: {e}"),
                        }
                        report.send_modify(|r| {
                            r.confirmed = act.confirmed();
                            r.unconfirmed = Some((req, e.to_string()));
                        });
                    }
                }
                continue;
            }
            let deadline = act.deadline().map(|d| origin + d);
            let retry_sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                changed = wish.changed() => if changed.is_err() { break },
                _ = retry_sleep => {}
                _ = poll.tick() => {
                    if !act.read_due(since()) {
                        continue;
                    }
                    match charger.read_state(clock.now()).await {
                        Ok(state) => {
                            if read_error.take().is_some() {
                                info!("charger state readable again");
                            }
                            let before = act.manual().map(|(w, y)| (w.to_string(), y));
                            act.observed(since(), &state);
                            let manual = act.manual().map(|(w, y)| (w.to_string(), y));
                            if manual != before && let Some((what, yielded)) = &manual {
                                let then = if *yielded { "yielding until the car is unplugged" } else { "will be corrected" };
                                info!("charger {what}: {then}");
                            }
                            report.send_modify(|r| {
                                r.state = Some(state);
                                r.confirmed = act.confirmed();
                                r.offered = act.offered(Some(&state));
                                r.manual = manual;
                            });
                        }
                        Err(e) => {
                            let wait = act.read_failed(since(), outcome(&e));
                            if read_error.as_deref() != Some(e.kind()) {
                                warn!("charger state read failed: {e}");
                            } else {
                                debug!("charger state read failed again: {e} (next in {wait:?})");
                            }
                            read_error = Some(e.kind().to_string());
                        }
                    }
                }
            }
        }
        // Leave the charger in the safe state (whatever backoff was running: this is the last word).
        let safe = match settings.safe_state {
            SafeState::Keep => SafeAction::Keep,
            SafeState::Pause => SafeAction::Pause,
            SafeState::Floor => SafeAction::Floor,
        };
        let Some(req) = act.shutdown_request(safe) else {
            info!("charger left as it is");
            return;
        };
        if act.confirmed() == Some(req) {
            info!("charger left at {req}");
            return;
        }
        match tokio::time::timeout(
            SHUTDOWN_WRITE_TIMEOUT,
            send(&mut charger, req, settings.dry_run),
        )
        .await
        {
            Ok(Ok(sent)) => {
                info!("charger left at {req}");
                report.send_modify(|r| {
                    r.confirmed = Some(req);
                    r.writes += u64::from(sent);
                });
            }
            Ok(Err(e)) => warn!("could not leave the charger at {req}: {e}"),
            Err(_) => warn!(
                "charger did not answer within {}s at shutdown",
                SHUTDOWN_WRITE_TIMEOUT.as_secs()
            ),
        }
    })
}

/// Send `req`; `Ok(true)` when it went out, `Ok(false)` in a dry run.
async fn send<C: ChargerPort>(
    charger: &mut C,
    req: Request,
    dry_run: bool,
) -> Result<bool, VendorError> {
    if dry_run {
        info!("dry run: would set the charger to {req}");
        return Ok(false);
    }
    charger.execute(req).await?;
    debug!("charger set to {req}");
    Ok(true)
}
