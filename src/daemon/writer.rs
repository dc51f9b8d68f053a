//! The charger writer: the only task that talks to the charger.
//!
//! Owns: [`spawn_writer`] and [`ChargerReport`]. The control loop publishes the command it wants on a
//! watch channel (the latest wins, so a slow charger never builds a queue); the writer applies it, one
//! write at a time, and reports the charger's state back. Retry rules come from the error kind, never
//! from the vendor: transient and rate-limited errors back off (honouring `Retry-After`) and retry the
//! *latest* wish; a rejected command is logged once and not retried until the wish changes; an auth
//! failure is logged and retried slowly (a person has to fix it). `--dry-run` is honoured here and
//! only here. On shutdown the charger is left in the configured safe state.

use super::ports::{ChargerPort, Written};
use crate::clock::Clock;
use crate::config::SafeState;
use crate::control::{ChargerObs, Command};
use crate::units::{Amps, Phases};
use crate::vendor::VendorError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

const BACKOFF_START: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
const SHUTDOWN_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the writer tells the loop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargerReport {
    /// The charger's last read state.
    pub state: Option<ChargerObs>,
    /// The last command the charger confirmed.
    pub confirmed: Option<Command>,
    /// The wish the charger has not confirmed yet, and why (for logs and Home Assistant).
    pub unconfirmed: Option<(Command, String)>,
    /// Writes sent so far.
    pub writes: u64,
}

pub struct WriterSettings {
    pub poll_interval: Duration,
    pub safe_state: SafeState,
    pub floor: Amps,
    pub phases: Phases,
    pub dry_run: bool,
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
        let mut poll = tokio::time::interval(settings.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut backoff = BACKOFF_START;
        let mut rejected: Option<Command> = None;
        let mut read_error: Option<String> = None;
        loop {
            let pending = {
                let w = *wish.borrow();
                let confirmed = report.borrow().confirmed;
                w.filter(|c| Some(*c) != confirmed && Some(*c) != rejected)
            };
            let retry_sleep = async {
                match (pending, retry_at) {
                    (Some(_), Some(at)) => tokio::time::sleep_until(at).await,
                    (Some(_), None) => {}
                    (None, _) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                changed = wish.changed() => {
                    if changed.is_err() { break; }
                    retry_at = None;
                    backoff = BACKOFF_START;
                }
                _ = retry_sleep => {
                    let cmd = pending.expect("only armed with a pending command");
                    retry_at = None;
                    match write(&mut charger, &*clock, &cmd, settings.dry_run).await {
                        Ok(written) => {
                            backoff = BACKOFF_START;
                            rejected = None;
                            report.send_modify(|r| {
                                r.confirmed = Some(cmd);
                                r.unconfirmed = None;
                                if written == Written::Sent { r.writes += 1; }
                            });
                        }
                        Err(e) => {
                            let wait = e.retry_after().unwrap_or(backoff).max(BACKOFF_START);
                            match &e {
                                VendorError::Rejected { .. } | VendorError::Unsupported { .. } => {
                                    warn!("charger refused {cmd}: {e}; not retrying until the wish changes");
                                    rejected = Some(cmd);
                                }
                                _ => {
                                    warn!("charger write {cmd} failed: {e}; retrying in {}s", wait.as_secs());
                                    // A write that timed out may have been applied: the charger's state
                                    // is no longer known, so the next wish is sent even if it equals
                                    // the last confirmed one.
                                    report.send_modify(|r| r.confirmed = None);
                                    retry_at = Some(tokio::time::Instant::now() + wait);
                                    backoff = (backoff * 2).min(BACKOFF_MAX);
                                }
                            }
                            report.send_modify(|r| r.unconfirmed = Some((cmd, e.to_string())));
                        }
                    }
                }
                _ = poll.tick() => {
                    match charger.read_state(clock.now()).await {
                        Ok(state) => report.send_modify(|r| {
                            if read_error.take().is_some() {
                                info!("charger state readable again");
                            }
                            if drifted(r.state.as_ref(), &state, r.confirmed) {
                                info!("charger state changed behind our back (replug or reset): re-applying");
                                r.confirmed = None;
                            }
                            r.state = Some(state);
                        }),
                        Err(e) => {
                            if read_error.as_deref() != Some(e.kind()) {
                                warn!("charger state read failed: {e}");
                            } else {
                                debug!("charger state read failed again: {e}");
                            }
                            read_error = Some(e.kind().to_string());
                            continue;
                        }
                    }
                }
            }
        }
        // Leave the charger in the safe state.
        let safe = match settings.safe_state {
            SafeState::Keep => None,
            SafeState::Pause => Some(Command::Pause),
            SafeState::Floor => Some(Command::Charge {
                current: settings.floor,
                phases: settings.phases,
            }),
        };
        if let Some(cmd) = safe {
            match tokio::time::timeout(
                SHUTDOWN_WRITE_TIMEOUT,
                write(&mut charger, &*clock, &cmd, settings.dry_run),
            )
            .await
            {
                Ok(Ok(_)) => {
                    info!("charger left at {cmd}");
                    report.send_modify(|r| r.confirmed = Some(cmd));
                }
                Ok(Err(e)) => warn!("could not leave the charger at {cmd}: {e}"),
                Err(_) => warn!(
                    "charger did not answer within {}s at shutdown",
                    SHUTDOWN_WRITE_TIMEOUT.as_secs()
                ),
            }
        }
    })
}

/// Whether the charger is no longer in the confirmed state: a new plug-in (Smappee resets PAUSED to
/// NORMAL on replug), or a pause that is not there any more.
fn drifted(before: Option<&ChargerObs>, now: &ChargerObs, confirmed: Option<Command>) -> bool {
    let replugged = before.and_then(|b| b.plugged) == Some(false) && now.plugged == Some(true);
    let unpaused = confirmed == Some(Command::Pause) && now.paused == Some(false);
    replugged || unpaused
}

async fn write<C: ChargerPort>(
    charger: &mut C,
    clock: &dyn Clock,
    cmd: &Command,
    dry_run: bool,
) -> Result<Written, VendorError> {
    if dry_run {
        info!("dry run: would set the charger to {cmd}");
        return Ok(Written::Unchanged);
    }
    let written = charger.apply(clock.now(), cmd).await?;
    if written == Written::Sent {
        debug!("charger set to {cmd}");
    }
    Ok(written)
}
