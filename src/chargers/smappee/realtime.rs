//! Smappee's local MQTT realtime topic: `servicelocation/<uuid>/realtime`, published once a second by
//! a Genius-class monitor to the broker set in its Expert Portal. An Infinity **Connect** does not
//! publish it (smappee_ev docs/Smappee_mqtt.md; vendor-apis.md §3.8 quirk 8): with a Connect only,
//! there is no realtime power and the controller goes by the state poll.
//!
//! Owns: [`parse`] (payload → [`Realtime`]), [`Realtime::power_of`] (the charger's power: the sum of
//! the `channelPowers` whose `publishIndex` is in `[smappee] charger_channels`),
//! [`parse_channel_config`] (the retained `channelConfigV2`: which `publishIndex` values exist) and
//! [`ChargerPowerSource`] (topics, message in, latest reading out: what the daemon's MQTT loop feeds).
//! The connection itself is the MQTT link's job.
//!
//! Channel keys (corrected 2026-12): the local `publishIndex` is the metering configuration's
//! `consumptionIndex` (Smappee's own library keys it so); `powerTopicIndex` belongs to the cloud
//! `/power` topic. `sunplug smappee locations` prints the consumption indices to configure.
//!
//! Payload facts (vendor-apis.md §3.6): `totalPower` in W; `channelPowers[]` with `ctInput`,
//! `publishIndex`, `power` (W), `current` (0.1 A), `phaseId`, `importEnergy`, `exportEnergy`;
//! `voltages[]`. There is no trusted timestamp in the payload, so a reading is dated on arrival.
//! The sum is reported as measured: a CT mounted the wrong way round reads negative (fix it on the
//! monitor's channel configuration, or the controller sees the car as a producer).

use crate::control::Reading;
use crate::units::{Amps, Watts};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The realtime topic of a service location.
pub fn realtime_topic(service_location_uuid: &str) -> String {
    format!("servicelocation/{}/realtime", service_location_uuid.trim())
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RealtimeError {
    #[error("realtime payload is not valid JSON: {0}")]
    NotJson(String),
    #[error("realtime payload has no channelPowers entry with publishIndex {0}")]
    MissingChannel(u32),
    #[error("realtime channel {0} has no finite power")]
    BadPower(u32),
    #[error("no charger channels configured: set [smappee] charger_channels")]
    NoChannels,
    #[error(
        "[smappee] charger_channels {0:?} are not in the monitor's channelConfigV2 (it publishes {1:?}); \
         use the consumptionIndex values `sunplug smappee locations` lists"
    )]
    UnknownChannels(Vec<u32>, Vec<u32>),
}

/// The realtime channel configuration topic (retained) of a service location.
pub fn channel_config_topic(service_location_uuid: &str) -> String {
    format!(
        "servicelocation/{}/channelConfigV2",
        service_location_uuid.trim()
    )
}

/// The `publishIndex` values a retained `channelConfigV2` declares
/// (`dataProcessingSpecification.measurements[].publishIndex`, as pysmappee reads it), sorted.
/// Unconfirmed beyond that path (vendor-apis.md §3.6): a retained message captured from a Genius
/// would confirm the rest of its shape. A payload without the path yields no indices (no check).
pub fn parse_channel_config(payload: &[u8]) -> Result<Vec<u32>, RealtimeError> {
    let v: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| RealtimeError::NotJson(format!("line {}, column {}", e.line(), e.column())))?;
    let mut out: Vec<u32> = v
        .pointer("/dataProcessingSpecification/measurements")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("publishIndex")?.as_u64())
        .filter_map(|i| u32::try_from(i).ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// One CT channel's reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelPower {
    pub publish_index: u32,
    pub ct_input: Option<u32>,
    pub phase_id: Option<u32>,
    /// `None` when the payload carried no finite number.
    pub power: Option<Watts>,
    pub current: Option<Amps>,
}

/// A parsed realtime message.
#[derive(Debug, Clone, PartialEq)]
pub struct Realtime {
    /// The site's total (`totalPower`).
    pub total_power: Option<Watts>,
    pub channels: Vec<ChannelPower>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    total_power: Option<serde_json::Value>,
    #[serde(default)]
    channel_powers: Option<Vec<WireChannel>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireChannel {
    #[serde(default)]
    publish_index: Option<u32>,
    #[serde(default)]
    ct_input: Option<u32>,
    #[serde(default)]
    phase_id: Option<u32>,
    #[serde(default)]
    power: Option<serde_json::Value>,
    #[serde(default)]
    current: Option<serde_json::Value>,
}

fn finite(v: &Option<serde_json::Value>) -> Option<f64> {
    let n = match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|x| x.is_finite())
}

/// Parse a realtime payload. Never panics; entries without a `publishIndex` are skipped.
pub fn parse(payload: &[u8]) -> Result<Realtime, RealtimeError> {
    let w: Wire = serde_json::from_slice(payload)
        .map_err(|e| RealtimeError::NotJson(format!("line {}, column {}", e.line(), e.column())))?;
    let channels = w
        .channel_powers
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| {
            Some(ChannelPower {
                publish_index: c.publish_index?,
                ct_input: c.ct_input,
                phase_id: c.phase_id,
                power: finite(&c.power).map(Watts),
                current: finite(&c.current).map(|d| Amps(d / 10.0)),
            })
        })
        .collect();
    Ok(Realtime {
        total_power: finite(&w.total_power).map(Watts),
        channels,
    })
}

impl Realtime {
    /// The summed power of the channels `indices` (each must be present with a finite power).
    pub fn power_of(&self, indices: &[u32]) -> Result<Watts, RealtimeError> {
        if indices.is_empty() {
            return Err(RealtimeError::NoChannels);
        }
        indices.iter().try_fold(Watts::ZERO, |sum, &i| {
            let c = self
                .channels
                .iter()
                .find(|c| c.publish_index == i)
                .ok_or(RealtimeError::MissingChannel(i))?;
            Ok(sum + c.power.ok_or(RealtimeError::BadPower(i))?)
        })
    }
}

/// The charger's power from the realtime topic, for the daemon's MQTT loop.
#[derive(Debug, Clone)]
pub struct ChargerPowerSource {
    topic: String,
    config_topic: String,
    channels: Vec<u32>,
    /// The `publishIndex` values of the retained `channelConfigV2`, once seen.
    pub published: Option<Vec<u32>>,
    latest: Option<Reading<Watts>>,
    /// Messages on our topic that could not be used (counted for diagnostics).
    pub rejected: u64,
    pub last_error: Option<RealtimeError>,
}

impl ChargerPowerSource {
    pub fn new(service_location_uuid: &str, charger_channels: &[u32]) -> ChargerPowerSource {
        ChargerPowerSource {
            topic: realtime_topic(service_location_uuid),
            config_topic: channel_config_topic(service_location_uuid),
            channels: charger_channels.to_vec(),
            published: None,
            latest: None,
            rejected: 0,
            last_error: None,
        }
    }

    pub fn topics(&self) -> Vec<String> {
        vec![self.topic.clone(), self.config_topic.clone()]
    }

    /// Offer a message; `true` if it was on our topic. Retained messages are old by definition and
    /// are not used as a reading.
    pub fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> bool {
        if topic == self.config_topic {
            // The monitor's channel list: say loudly when the configured channels are not in it
            // (typically `powerTopicIndex` values configured instead of `consumptionIndex`).
            if let Ok(published) = parse_channel_config(payload)
                && !published.is_empty()
            {
                let missing: Vec<u32> = self
                    .channels
                    .iter()
                    .copied()
                    .filter(|c| !published.contains(c))
                    .collect();
                if !missing.is_empty() {
                    let e = RealtimeError::UnknownChannels(missing, published.clone());
                    tracing::warn!("smappee realtime: {e}");
                    self.last_error = Some(e);
                }
                self.published = Some(published);
            }
            return true;
        }
        if topic != self.topic {
            return false;
        }
        if retained {
            return true;
        }
        match parse(payload).and_then(|r| r.power_of(&self.channels)) {
            Ok(w) => self.latest = Some(Reading::new(w, now)),
            Err(e) => {
                self.rejected += 1;
                if self.last_error.as_ref() != Some(&e) {
                    tracing::warn!("smappee realtime: {e}");
                }
                self.last_error = Some(e);
            }
        }
        true
    }

    /// The latest reading (the controller judges its freshness).
    pub fn latest(&self, _now: DateTime<Utc>) -> Option<Reading<Watts>> {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// An Infinity Genius with a 3-phase grid meter on CTs 0..2, PV on 3 and a charger on 4..6,
    /// shaped like the payloads read by pysmappee and ioBroker.smappee.
    const GENIUS: &str = r#"{
      "totalPower": 2310, "totalReactivePower": 120, "totalExportEnergy": 0, "totalImportEnergy": 81234000,
      "monitorStatus": 0, "utcTimeStamp": 1717243200000,
      "voltages": [{"voltage": 231, "phaseId": 0}, {"voltage": 229, "phaseId": 1}, {"voltage": 232, "phaseId": 2}],
      "channelPowers": [
        {"ctInput": 0, "publishIndex": 0, "power": 1210, "exportEnergy": 0, "importEnergy": 27000000, "phaseId": 0, "current": 53},
        {"ctInput": 1, "publishIndex": 1, "power": 540,  "exportEnergy": 0, "importEnergy": 27000000, "phaseId": 1, "current": 24},
        {"ctInput": 2, "publishIndex": 2, "power": 560,  "exportEnergy": 0, "importEnergy": 27000000, "phaseId": 2, "current": 25},
        {"ctInput": 3, "publishIndex": 3, "power": -3120, "exportEnergy": 9000000, "importEnergy": 0, "phaseId": 0, "current": 136},
        {"ctInput": 4, "publishIndex": 4, "power": 1389, "exportEnergy": 0, "importEnergy": 500000, "phaseId": 0, "current": 60},
        {"ctInput": 5, "publishIndex": 5, "power": 1375, "exportEnergy": 0, "importEnergy": 500000, "phaseId": 1, "current": 60},
        {"ctInput": 6, "publishIndex": 6, "power": 1392, "exportEnergy": 0, "importEnergy": 500000, "phaseId": 2, "current": 60}
      ]}"#;

    #[test]
    fn charger_power_is_the_sum_of_its_channels() {
        let r = parse(GENIUS.as_bytes()).unwrap();
        assert_eq!(r.total_power, Some(Watts(2310.0)));
        assert_eq!(r.power_of(&[4, 5, 6]), Ok(Watts(4156.0)));
        assert_eq!(
            r.channels[4].current,
            Some(Amps(6.0)),
            "current is in 0.1 A"
        );
        assert_eq!(r.power_of(&[4, 9]), Err(RealtimeError::MissingChannel(9)));
        assert_eq!(r.power_of(&[]), Err(RealtimeError::NoChannels));
    }

    #[test]
    fn partial_and_odd_payloads() {
        let r = parse(br#"{"channelPowers":[{"publishIndex":4,"power":"712.5"},{"power":3},{"publishIndex":5,"power":null}]}"#)
            .unwrap();
        assert_eq!(r.total_power, None);
        assert_eq!(r.power_of(&[4]), Ok(Watts(712.5)));
        assert_eq!(r.power_of(&[5]), Err(RealtimeError::BadPower(5)));
        assert!(matches!(parse(b"<html>"), Err(RealtimeError::NotJson(_))));
        assert_eq!(parse(b"{}").unwrap().channels.len(), 0);
    }

    #[test]
    fn source_takes_live_messages_on_its_topic_only() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut s = ChargerPowerSource::new("6eefadeb-5c08", &[4, 5, 6]);
        assert_eq!(
            s.topics(),
            vec![
                "servicelocation/6eefadeb-5c08/realtime".to_string(),
                "servicelocation/6eefadeb-5c08/channelConfigV2".to_string()
            ]
        );
        assert!(!s.on_message(
            "servicelocation/other/realtime",
            GENIUS.as_bytes(),
            false,
            now
        ));
        assert!(s.on_message(&s.topics()[0].clone(), GENIUS.as_bytes(), true, now));
        assert_eq!(s.latest(now), None, "a retained message is old");
        assert!(s.on_message(&s.topics()[0].clone(), GENIUS.as_bytes(), false, now));
        assert_eq!(s.latest(now), Some(Reading::new(Watts(4156.0), now)));
        assert!(s.on_message(&s.topics()[0].clone(), b"garbage", false, now));
        assert_eq!(s.rejected, 1);
        assert_eq!(
            s.latest(now).unwrap().value,
            Watts(4156.0),
            "garbage does not erase the last reading"
        );
    }

    #[test]
    fn channel_config_names_what_the_monitor_publishes() {
        let cfg = br#"{"inputChannels":[],"dataProcessingSpecification":{"phaseType":"THREE_PHASE_STAR",
            "measurements":[{"name":"Grid","publishIndex":0},{"name":"Car","publishIndex":4},{"name":"Car","publishIndex":5}]}}"#;
        assert_eq!(parse_channel_config(cfg), Ok(vec![0, 4, 5]));
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut ok = ChargerPowerSource::new("u", &[4, 5]);
        assert!(ok.on_message("servicelocation/u/channelConfigV2", cfg, true, now));
        assert_eq!(
            (ok.published.as_deref(), &ok.last_error),
            (Some(&[0, 4, 5][..]), &None)
        );
        // powerTopicIndex values configured by mistake: named, with the fix.
        let mut wrong = ChargerPowerSource::new("u", &[14, 15]);
        wrong.on_message("servicelocation/u/channelConfigV2", cfg, true, now);
        let e = wrong.last_error.unwrap().to_string();
        assert!(
            e.contains("[14, 15]") && e.contains("consumptionIndex"),
            "{e}"
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes).map(|r| r.power_of(&[0, 1, 4]));
        }
    }
}
