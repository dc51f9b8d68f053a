//! Start and stop charging through Enode, for cars that ignore a paused charger.
//!
//! Owns: [`EnodeCharging`] (a handle the charger writer can hold) and [`ActionOutcome`].
//! The car's capabilities are checked first (no request for a car that cannot do it); the action
//! Enode returns is then read until it is CONFIRMED, FAILED or CANCELLED, at a slowing pace and for
//! at most [`FOLLOW_TIMEOUT`]. A still-pending action is an outcome too: Enode keeps trying on its side.

use super::client::{ChargeKind, EnodeClient, VENDOR};
use super::wire::ActionState;
use crate::sources::vehicle::state::Capabilities;
use crate::vendor::VendorError;
use std::time::Duration;

/// How long an action is followed before giving the caller a PENDING outcome.
pub const FOLLOW_TIMEOUT: Duration = Duration::from_secs(300);
/// Waits between reads of a pending action; the last one repeats.
const FOLLOW_STEPS: &[u64] = &[5, 5, 10, 10, 15, 15, 30];

/// How a charge action ended (or where it stood when we stopped following it).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    pub id: String,
    pub kind: ChargeKind,
    pub state: ActionState,
    /// `failureReason` as "TYPE: detail", for FAILED and CANCELLED.
    pub failure: Option<String>,
}

impl ActionOutcome {
    pub fn confirmed(&self) -> bool {
        self.state == ActionState::Confirmed
    }
}

/// Charge control for one vehicle.
#[derive(Debug, Clone)]
pub struct EnodeCharging {
    client: EnodeClient,
    vehicle_id: String,
    timeout: Duration,
}

impl EnodeCharging {
    pub fn new(client: EnodeClient, vehicle_id: String) -> EnodeCharging {
        EnodeCharging {
            client,
            vehicle_id,
            timeout: FOLLOW_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> EnodeCharging {
        self.timeout = timeout;
        self
    }

    /// Start or stop charging and follow the action. `known` are the capabilities from the last
    /// fetch; when they do not say, the vehicle is read once to find out.
    pub async fn set(
        &self,
        kind: ChargeKind,
        known: Option<Capabilities>,
    ) -> Result<ActionOutcome, VendorError> {
        let pick = |c: &Capabilities| match kind {
            ChargeKind::Start => c.start_charging,
            ChargeKind::Stop => c.stop_charging,
        };
        let capable = match known.as_ref().and_then(pick) {
            Some(c) => c,
            None => {
                let v = self.client.vehicle(&self.vehicle_id).await?;
                let caps = v.capabilities.unwrap_or_default();
                let cap = match kind {
                    ChargeKind::Start => caps.start_charging,
                    ChargeKind::Stop => caps.stop_charging,
                };
                cap.and_then(|c| c.is_capable).unwrap_or(false)
            }
        };
        if !capable {
            let name = match kind {
                ChargeKind::Start => "startCharging",
                ChargeKind::Stop => "stopCharging",
            };
            return Err(VendorError::Unsupported {
                vendor: VENDOR,
                detail: format!(
                    "this car cannot {} charging through Enode (capability {name} is not available); linking the \
                     charger to the same Enode user can unlock it",
                    kind.as_str().to_lowercase()
                ),
            });
        }
        let action = self.client.charging(&self.vehicle_id, kind).await?;
        tracing::info!(vendor = VENDOR, kind = kind.as_str(), state = %action.state, "charge action created");
        self.follow(kind, action).await
    }

    async fn follow(
        &self,
        kind: ChargeKind,
        mut action: super::wire::ChargeAction,
    ) -> Result<ActionOutcome, VendorError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut step = 0;
        loop {
            let state = ActionState::parse(&action.state);
            if state.is_final() || tokio::time::Instant::now() >= deadline {
                let failure = action.failure_reason.as_ref().map(|f| {
                    let kind = f.kind.as_deref().unwrap_or("UNKNOWN");
                    match &f.detail {
                        Some(d) => format!("{kind}: {}", crate::vendor::excerpt(d)),
                        None => kind.to_string(),
                    }
                });
                if state != ActionState::Confirmed {
                    tracing::warn!(vendor = VENDOR, kind = kind.as_str(), state = %action.state, failure = ?failure, "charge action did not succeed");
                }
                return Ok(ActionOutcome {
                    id: action.id,
                    kind,
                    state,
                    failure,
                });
            }
            let wait = Duration::from_secs(FOLLOW_STEPS[step.min(FOLLOW_STEPS.len() - 1)]);
            step += 1;
            tokio::time::sleep_until((tokio::time::Instant::now() + wait).min(deadline)).await;
            match self.client.action(&action.id).await {
                Ok(a) => action = a,
                // A hiccup while following does not undo the action: keep reading until the deadline.
                Err(e) if e.is_retryable() => {
                    tracing::debug!(vendor = VENDOR, error = %e, "reading the action failed")
                }
                Err(e) => return Err(e),
            }
        }
    }
}
