//! OCPP-J 1.6 on the wire: the three frame kinds and the payloads sunplug reads or sends, as serde
//! types named after the specification's messages (camelCase fields as sent).
//!
//! Owns: [`Frame`] (`[2, id, action, payload]` CALL, `[3, id, payload]` CALLRESULT,
//! `[4, id, code, description, details]` CALLERROR) with [`Frame::parse`] and [`Frame::to_text`],
//! and the payload structs. Optional fields the specification allows are optional here, unknown
//! fields are ignored (chargers add vendor keys), so a payload decodes or says exactly what is
//! missing. Only the messages sunplug handles are typed; anything else is answered NotImplemented.
//!
//! Own types rather than the `rust-ocpp` crate: its 1.6 types fit, but the crate builds jsonschema,
//! regex, validator, rust_decimal and uuid unconditionally for a dozen small payloads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    Result {
        id: String,
        payload: Value,
    },
    Error {
        id: String,
        code: String,
        description: String,
        details: Value,
    },
}

/// Why a text frame is not an OCPP-J message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not an OCPP-J array [type, id, ...]")]
    NotArray,
    /// The message id, when one could be read (a CALL gets a CALLERROR back).
    #[error("malformed {kind} frame: {detail}")]
    Malformed {
        kind: &'static str,
        id: Option<String>,
        detail: String,
    },
}

impl FrameError {
    /// The id of a CALL that could not be read, so it can be answered with a CALLERROR.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            FrameError::Malformed {
                kind: "CALL",
                id: Some(id),
                ..
            } => Some(id),
            _ => None,
        }
    }
}

impl Frame {
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| FrameError::NotJson(e.to_string()))?;
        let arr = v.as_array().ok_or(FrameError::NotArray)?;
        let kind = arr
            .first()
            .and_then(Value::as_u64)
            .ok_or(FrameError::NotArray)?;
        let id = arr.get(1).and_then(Value::as_str).map(str::to_string);
        let bad = |kind: &'static str, detail: &str| FrameError::Malformed {
            kind,
            id: id.clone(),
            detail: detail.into(),
        };
        match kind {
            2 => {
                let (Some(i), 4) = (&id, arr.len()) else {
                    return Err(bad("CALL", "expected [2, id, action, payload]"));
                };
                let action = arr[2]
                    .as_str()
                    .ok_or_else(|| bad("CALL", "the action is not a string"))?;
                Ok(Frame::Call {
                    id: i.clone(),
                    action: action.to_string(),
                    payload: arr[3].clone(),
                })
            }
            3 => match (&id, arr.len()) {
                (Some(i), 3) => Ok(Frame::Result {
                    id: i.clone(),
                    payload: arr[2].clone(),
                }),
                _ => Err(bad("CALLRESULT", "expected [3, id, payload]")),
            },
            4 => match (&id, arr.len()) {
                (Some(i), 4 | 5) => Ok(Frame::Error {
                    id: i.clone(),
                    code: arr[2].as_str().unwrap_or("GenericError").to_string(),
                    description: arr[3].as_str().unwrap_or_default().to_string(),
                    details: arr
                        .get(4)
                        .cloned()
                        .unwrap_or(Value::Object(Default::default())),
                }),
                _ => Err(bad(
                    "CALLERROR",
                    "expected [4, id, code, description, details]",
                )),
            },
            _ => Err(bad("unknown", "the message type is not 2, 3 or 4")),
        }
    }

    pub fn to_text(&self) -> String {
        let v = match self {
            Frame::Call {
                id,
                action,
                payload,
            } => serde_json::json!([2, id, action, payload]),
            Frame::Result { id, payload } => serde_json::json!([3, id, payload]),
            Frame::Error {
                id,
                code,
                description,
                details,
            } => serde_json::json!([4, id, code, description, details]),
        };
        v.to_string()
    }

    /// A CALLERROR answering `id`.
    pub fn error(id: &str, code: &str, description: impl Into<String>) -> Frame {
        Frame::Error {
            id: id.to_string(),
            code: code.to_string(),
            description: description.into(),
            details: Value::Object(Default::default()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationReq {
    pub charge_point_vendor: String,
    pub charge_point_model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_point_serial_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationConf {
    pub status: String,
    pub current_time: String,
    /// Seconds.
    pub interval: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatConf {
    pub current_time: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotificationReq {
    pub connector_id: u32,
    pub error_code: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    pub timestamp: String,
    pub sampled_value: Vec<SampledValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValuesReq {
    pub connector_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    pub meter_value: Vec<MeterValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeReq {
    pub id_tag: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTagInfo {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeConf {
    pub id_tag_info: IdTagInfo,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionReq {
    pub connector_id: u32,
    pub id_tag: String,
    /// Wh.
    pub meter_start: i64,
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionConf {
    pub id_tag_info: IdTagInfo,
    pub transaction_id: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionReq {
    pub transaction_id: i64,
    /// Wh.
    pub meter_stop: i64,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionConf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_tag_info: Option<IdTagInfo>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedulePeriod {
    /// Seconds from the start of the schedule.
    pub start_period: u32,
    /// In the schedule's unit (A here).
    pub limit: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedule {
    pub charging_rate_unit: String,
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingProfile {
    pub charging_profile_id: i64,
    pub stack_level: u32,
    pub charging_profile_purpose: String,
    pub charging_profile_kind: String,
    pub charging_schedule: ChargingSchedule,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChargingProfileReq {
    pub connector_id: u32,
    pub cs_charging_profiles: ChargingProfile,
}

impl SetChargingProfileReq {
    /// A TxDefaultProfile of one period at `amps` (0 A pauses), relative to each transaction's
    /// start so no clock is involved. The same profile id every time: each replaces the last.
    pub fn tx_default(connector: u32, stack_level: u32, amps: u32) -> SetChargingProfileReq {
        SetChargingProfileReq {
            connector_id: connector,
            cs_charging_profiles: ChargingProfile {
                charging_profile_id: PROFILE_ID,
                stack_level,
                charging_profile_purpose: "TxDefaultProfile".into(),
                charging_profile_kind: "Relative".into(),
                charging_schedule: ChargingSchedule {
                    charging_rate_unit: "A".into(),
                    charging_schedule_period: vec![ChargingSchedulePeriod {
                        start_period: 0,
                        limit: f64::from(amps),
                        number_phases: None,
                    }],
                },
            },
        }
    }

    /// The limit of the first period, in the schedule's unit.
    pub fn limit(&self) -> Option<f64> {
        let s = &self.cs_charging_profiles.charging_schedule;
        s.charging_schedule_period.first().map(|p| p.limit)
    }
}

/// The id of sunplug's profile on every charge point.
pub const PROFILE_ID: i64 = 4711;

/// The `status` of a confirmation (SetChargingProfile, ChangeConfiguration, TriggerMessage,
/// RemoteStart…): `Accepted`, `Rejected`, `NotSupported`, …
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct StatusConf {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ChangeConfigurationReq {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerMessageReq {
    pub requested_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStartTransactionReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
    pub id_tag: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStopTransactionReq {
    pub transaction_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let call = r#"[2,"19223201","BootNotification",{"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"}]"#;
        let f = Frame::parse(call).unwrap();
        let Frame::Call {
            ref action,
            ref payload,
            ..
        } = f
        else {
            panic!("{f:?}")
        };
        assert_eq!(action, "BootNotification");
        let boot: BootNotificationReq = serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(boot.charge_point_model, "SingleSocketCharger");
        assert_eq!(Frame::parse(&f.to_text()).unwrap(), f);
        let res = Frame::parse(r#"[3,"a",{"status":"Accepted"}]"#).unwrap();
        assert_eq!(
            res,
            Frame::Result {
                id: "a".into(),
                payload: serde_json::json!({"status": "Accepted"})
            }
        );
        let err = Frame::parse(r#"[4,"b","NotImplemented","no",{}]"#).unwrap();
        assert!(matches!(err, Frame::Error { ref code, .. } if code == "NotImplemented"));
    }

    #[test]
    fn bad_frames_say_why() {
        assert!(matches!(Frame::parse("hello"), Err(FrameError::NotJson(_))));
        assert_eq!(Frame::parse("{}"), Err(FrameError::NotArray));
        let e = Frame::parse(r#"[2,"7","Heartbeat"]"#).unwrap_err();
        assert_eq!(e.call_id(), Some("7"));
        assert!(Frame::parse(r#"[9,"7",{}]"#).is_err());
    }

    #[test]
    fn the_profile_is_tx_default_in_amps() {
        let p = SetChargingProfileReq::tx_default(1, 0, 10);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": PROFILE_ID, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}})
        );
        assert_eq!(p.limit(), Some(10.0));
    }
}
