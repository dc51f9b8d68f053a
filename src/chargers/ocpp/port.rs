//! One connector of one OCPP charge point below the actuator: the translator from the actuator's
//! [`Request`] to SetChargingProfile, and the connector's state for the controller.
//!
//! Owns: [`OcppCharger`]. A request becomes a TxDefaultProfile in amps with one period (0 A when
//! paused); it is also left with the central system as the standing profile, so a charge point that
//! reconnects or reboots gets it again. The answer maps onto the shared error vocabulary:
//! `Accepted` is success; `Rejected`, `NotSupported`, a CALLERROR, no connection or no answer within
//! the timeout are [`VendorError::Transient`], which the actuator retries with its growing backoff
//! (a missing answer leaves the request unconfirmed). With `remote_start`, a charge on a plugged
//! connector without a transaction also sends RemoteStartTransaction.

use super::server::{CallFailure, CentralSystem};
use super::wire::{RemoteStartTransactionReq, SetChargingProfileReq};
use crate::control::ChargerObs;
use crate::control::actuate::Request;
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

pub const VENDOR: &str = "ocpp";

/// The idTag sunplug starts transactions with (`remote_start`).
pub const ID_TAG: &str = "sunplug";

/// One connector of one charge point.
#[derive(Debug, Clone)]
pub struct OcppCharger {
    cs: CentralSystem,
    cp: String,
    connector: u32,
    stack_level: u32,
    remote_start: bool,
    /// The last NotSupported was logged (it needs a person; said once until it changes).
    said_unsupported: bool,
}

impl OcppCharger {
    pub fn new(cs: CentralSystem, cp: &str, connector: u32, remote_start: bool) -> OcppCharger {
        OcppCharger {
            cs,
            cp: cp.to_string(),
            connector,
            stack_level: 0,
            remote_start,
            said_unsupported: false,
        }
    }
    pub fn central_system(&self) -> &CentralSystem {
        &self.cs
    }
    pub fn charge_point(&self) -> &str {
        &self.cp
    }
    pub fn connector(&self) -> u32 {
        self.connector
    }

    /// The profile `request` becomes.
    pub fn profile(&self, request: Request) -> Result<SetChargingProfileReq, VendorError> {
        let amps = match request {
            Request::Pause => 0,
            Request::Ampere(a) => a,
            Request::Percent(_) => {
                return Err(VendorError::Unsupported {
                    vendor: VENDOR,
                    detail: "OCPP limits are in amps: set [charger] limit_unit = \"ampere\"".into(),
                });
            }
        };
        Ok(SetChargingProfileReq::tx_default(
            self.connector,
            self.stack_level,
            amps,
        ))
    }

    /// Send `request` and wait for the charge point's answer.
    pub async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        let profile = self.profile(request)?;
        self.cs.set_standing(&self.cp, Some(profile.clone()));
        let payload = serde_json::to_value(&profile).unwrap_or(Value::Null);
        let answer = self.cs.call(&self.cp, "SetChargingProfile", payload).await;
        let transient = |detail: String| VendorError::Transient {
            vendor: VENDOR,
            detail,
        };
        let status = match answer {
            Ok(v) => v
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            Err(CallFailure::NotConnected) => {
                return Err(transient(format!(
                    "charge point {} is not connected; the profile goes out when it connects",
                    self.cp
                )));
            }
            Err(CallFailure::Timeout(t)) => {
                return Err(transient(format!(
                    "charge point {} did not answer SetChargingProfile within {}s: unconfirmed",
                    self.cp,
                    t.as_secs()
                )));
            }
            Err(e) => return Err(transient(format!("charge point {}: {e}", self.cp))),
        };
        match status.as_str() {
            "Accepted" => {
                self.said_unsupported = false;
                info!("ocpp: charge point {} set to {request}", self.cp);
                if self.remote_start && !request.is_pause() {
                    self.start_if_idle().await;
                }
                Ok(())
            }
            "NotSupported" => {
                if !self.said_unsupported {
                    warn!(
                        "ocpp: charge point {} does not support SetChargingProfile: enable its Smart \
                         Charging feature profile (retrying with backoff)",
                        self.cp
                    );
                    self.said_unsupported = true;
                }
                Err(transient(format!(
                    "charge point {} answered NotSupported to the {request} profile",
                    self.cp
                )))
            }
            other => Err(transient(format!(
                "charge point {} answered {} to the {request} profile",
                self.cp,
                if other.is_empty() { "no status" } else { other }
            ))),
        }
    }

    /// RemoteStartTransaction when the connector is plugged and has no transaction.
    async fn start_if_idle(&self) {
        let Some(state) = self.cs.state(&self.cp) else {
            return;
        };
        let obs = state.obs(self.connector);
        if obs.plugged != Some(true) || state.transactions.contains_key(&self.connector) {
            return;
        }
        let req = RemoteStartTransactionReq {
            connector_id: Some(self.connector),
            id_tag: ID_TAG.into(),
        };
        let payload = serde_json::to_value(&req).unwrap_or(Value::Null);
        match self
            .cs
            .call(&self.cp, "RemoteStartTransaction", payload)
            .await
        {
            Ok(v) => info!(
                "ocpp: charge point {}: RemoteStartTransaction {}",
                self.cp,
                v.get("status")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
            ),
            Err(e) => warn!(
                "ocpp: charge point {}: RemoteStartTransaction failed: {e}",
                self.cp
            ),
        }
    }

    /// The connector's state, from the charge point's StatusNotification and MeterValues.
    pub fn read_state(&self, _now: DateTime<Utc>) -> Result<ChargerObs, VendorError> {
        match self.cs.state(&self.cp) {
            Some(s) if s.connected => Ok(s.obs(self.connector)),
            _ => Err(VendorError::Transient {
                vendor: VENDOR,
                detail: format!("charge point {} is not connected", self.cp),
            }),
        }
    }
}

impl crate::daemon::ports::ChargerPort for OcppCharger {
    async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        OcppCharger::execute(self, request).await
    }
    async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerObs, VendorError> {
        OcppCharger::read_state(self, now)
    }
}
