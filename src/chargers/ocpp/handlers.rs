//! The answers to what a charge point sends: BootNotification, Heartbeat, StatusNotification,
//! MeterValues, Authorize, StartTransaction and StopTransaction. Pure: each takes the payload, the
//! charge point's state and `now`, updates the state and returns the CALLRESULT payload or the
//! CALLERROR code. Any other action is `NotImplemented`.
//!
//! Owns: [`handle`], [`Authorize`] (which idTags are accepted) and [`CallRefusal`].

use super::state::{ChargePointState, ConnectorStatus, Transaction};
use super::wire::*;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// `[ocpp] authorize`: every idTag, or only these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorize {
    All,
    Tags(Vec<String>),
}

impl Authorize {
    pub fn accepts(&self, tag: &str) -> bool {
        match self {
            Authorize::All => true,
            Authorize::Tags(tags) => tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
        }
    }
    fn info(&self, tag: &str) -> IdTagInfo {
        IdTagInfo {
            status: if self.accepts(tag) {
                "Accepted"
            } else {
                "Invalid"
            }
            .into(),
        }
    }
}

/// A CALLERROR to send back: OCPP's error code and a description.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRefusal {
    pub code: &'static str,
    pub description: String,
}

/// What the handlers need besides the charge point's state.
#[derive(Debug, Clone)]
pub struct HandlerCtx<'a> {
    pub authorize: &'a Authorize,
    pub heartbeat: Duration,
    /// The id of a new transaction (the caller keeps the counter).
    pub next_transaction: i64,
}

pub fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn decode<T: DeserializeOwned>(action: &str, payload: &Value) -> Result<T, CallRefusal> {
    serde_json::from_value(payload.clone()).map_err(|e| CallRefusal {
        code: "FormationViolation",
        description: format!("{action}: {e}"),
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Answer one CALL from a charge point.
pub fn handle(
    action: &str,
    payload: &Value,
    cp: &mut ChargePointState,
    ctx: &HandlerCtx<'_>,
    now: DateTime<Utc>,
) -> Result<Value, CallRefusal> {
    cp.last_seen = Some(now);
    match action {
        "BootNotification" => {
            let req: BootNotificationReq = decode(action, payload)?;
            cp.boot = Some((req.charge_point_vendor, req.charge_point_model));
            Ok(to_value(&BootNotificationConf {
                status: "Accepted".into(),
                current_time: timestamp(now),
                interval: ctx.heartbeat.as_secs().max(1) as u32,
            }))
        }
        "Heartbeat" => Ok(to_value(&HeartbeatConf {
            current_time: timestamp(now),
        })),
        "StatusNotification" => {
            let req: StatusNotificationReq = decode(action, payload)?;
            cp.connectors.insert(
                req.connector_id,
                ConnectorStatus {
                    status: req.status,
                    error_code: req.error_code,
                    at: now,
                },
            );
            Ok(serde_json::json!({}))
        }
        "MeterValues" => {
            let req: MeterValuesReq = decode(action, payload)?;
            cp.meters
                .entry(req.connector_id)
                .or_default()
                .apply(&req, now);
            Ok(serde_json::json!({}))
        }
        "Authorize" => {
            let req: AuthorizeReq = decode(action, payload)?;
            Ok(to_value(&AuthorizeConf {
                id_tag_info: ctx.authorize.info(&req.id_tag),
            }))
        }
        "StartTransaction" => {
            let req: StartTransactionReq = decode(action, payload)?;
            let info = ctx.authorize.info(&req.id_tag);
            if info.status == "Accepted" {
                cp.transactions.insert(
                    req.connector_id,
                    Transaction {
                        id: ctx.next_transaction,
                        id_tag: req.id_tag,
                        meter_start_wh: req.meter_start,
                        started: now,
                    },
                );
            }
            Ok(to_value(&StartTransactionConf {
                id_tag_info: info,
                transaction_id: ctx.next_transaction,
            }))
        }
        "StopTransaction" => {
            let req: StopTransactionReq = decode(action, payload)?;
            let ended = cp
                .transactions
                .iter()
                .find(|(_, t)| t.id == req.transaction_id)
                .map(|(c, t)| (*c, t.meter_start_wh));
            if let Some((connector, start)) = ended {
                cp.transactions.remove(&connector);
                cp.last_stopped
                    .insert(connector, (req.transaction_id, req.meter_stop - start));
            }
            Ok(to_value(&StopTransactionConf {
                id_tag_info: req.id_tag.as_deref().map(|t| ctx.authorize.info(t)),
            }))
        }
        // Accepted and ignored: nothing sunplug acts on.
        "DiagnosticsStatusNotification" | "FirmwareStatusNotification" => Ok(serde_json::json!({})),
        other => Err(CallRefusal {
            code: "NotImplemented",
            description: format!("sunplug does not handle {other}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_780_000_000, 0).unwrap()
    }

    #[test]
    fn boot_status_and_transactions_update_the_state() {
        let mut cp = ChargePointState::default();
        let tags = Authorize::Tags(vec!["CAFE01".into()]);
        let ctx = HandlerCtx {
            authorize: &tags,
            heartbeat: Duration::from_secs(300),
            next_transaction: 7,
        };
        let boot = json!({"chargePointVendor": "Alfen", "chargePointModel": "Eve"});
        let r = handle("BootNotification", &boot, &mut cp, &ctx, now()).unwrap();
        assert_eq!(r["status"], "Accepted");
        assert_eq!(r["interval"], 300);
        let st = json!({"connectorId": 1, "errorCode": "NoError", "status": "Preparing"});
        handle("StatusNotification", &st, &mut cp, &ctx, now()).unwrap();
        assert_eq!(cp.obs(1).plugged, Some(true));
        let start =
            json!({"connectorId": 1, "idTag": "cafe01", "meterStart": 100, "timestamp": "t"});
        let r = handle("StartTransaction", &start, &mut cp, &ctx, now()).unwrap();
        assert_eq!(r["transactionId"], 7);
        assert_eq!(r["idTagInfo"]["status"], "Accepted");
        assert_eq!(cp.obs(1).session, Some(7));
        let bad = json!({"connectorId": 1, "idTag": "STRANGER", "meterStart": 0, "timestamp": "t"});
        let r = handle("StartTransaction", &bad, &mut cp, &ctx, now()).unwrap();
        assert_eq!(r["idTagInfo"]["status"], "Invalid");
        assert_eq!(cp.obs(1).session, Some(7));
        let stop = json!({"transactionId": 7, "meterStop": 5100, "timestamp": "t"});
        handle("StopTransaction", &stop, &mut cp, &ctx, now()).unwrap();
        assert_eq!(cp.last_stopped.get(&1), Some(&(7, 5000)));
        assert_eq!(cp.obs(1).session, None);
    }

    #[test]
    fn unknown_actions_and_bad_payloads_are_refused() {
        let mut cp = ChargePointState::default();
        let ctx = HandlerCtx {
            authorize: &Authorize::All,
            heartbeat: Duration::from_secs(60),
            next_transaction: 1,
        };
        let e = handle("FlyToTheMoon", &json!({}), &mut cp, &ctx, now()).unwrap_err();
        assert_eq!(e.code, "NotImplemented");
        let e = handle("StatusNotification", &json!({"x": 1}), &mut cp, &ctx, now()).unwrap_err();
        assert_eq!(e.code, "FormationViolation");
        assert!(e.description.contains("connectorId"), "{}", e.description);
    }
}
