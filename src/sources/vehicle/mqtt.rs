//! `[vehicle] kind = "mqtt"`: the car's SoC, plug state and more from MQTT topics, for cars whose data
//! already reaches Home Assistant, evcc or another tool (and for VW group cars while their cloud is
//! closed to third parties).
//!
//! Owns: [`MqttVehicle`], a pure tracker: the topics to subscribe to, [`MqttVehicle::on_message`]
//! (topic, payload, retained flag, `now`) and the resulting [`VehicleState`]. The MQTT connection is the
//! service's. Values are read with the surplus source's rules (`payload::extract_number` /
//! `extract_bool`: JSON pointer or plain payload, "unavailable" is no news). A message received live is
//! dated `now`; a retained message was published at some unknown time, so its value has an unknown age
//! and is never fresh until a live message confirms it.

use crate::config::surplus::PowerUnit;
use crate::config::vehicle::{TopicValue, VehicleMqttSection};
use crate::sources::payload::{PayloadError, extract_bool, extract_number};
use crate::sources::vehicle::state::{Observed, PowerDelivery, VehicleState};
use crate::units::{Soc, Watts};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Which value a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Soc,
    Plugged,
    Charging,
    ChargeLimit,
    Range,
    Power(PowerUnit),
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Soc => "soc",
            Field::Plugged => "plugged",
            Field::Charging => "charging",
            Field::ChargeLimit => "charge_limit",
            Field::Range => "range",
            Field::Power(_) => "power",
        }
    }
}

/// Why a message did not update a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{0}")]
    Payload(#[from] PayloadError),
    #[error("{value} is out of range for {field}")]
    OutOfRange { field: &'static str, value: f64 },
}

#[derive(Debug, Clone)]
struct Binding {
    field: Field,
    topic: String,
    pointer: Option<String>,
}

/// What one message did.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub updated: Vec<&'static str>,
    pub errors: Vec<(&'static str, ValueError)>,
}

/// Tracks the car's values from MQTT.
#[derive(Debug, Clone)]
pub struct MqttVehicle {
    bindings: Vec<Binding>,
    max_age: Duration,
    state: VehicleState,
}

impl MqttVehicle {
    /// From `[vehicle.mqtt]`; `default_max_age` is `[vehicle] max_age`.
    pub fn new(
        m: &VehicleMqttSection,
        default_max_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<MqttVehicle, String> {
        let mut bindings = Vec::new();
        let mut bind = |field: Field, v: &Option<TopicValue>| {
            if let Some(TopicValue {
                topic: Some(topic),
                pointer,
            }) = v
            {
                bindings.push(Binding {
                    field,
                    topic: topic.clone(),
                    pointer: pointer.clone(),
                });
            }
        };
        bind(Field::Soc, &m.soc);
        bind(Field::Plugged, &m.plugged);
        bind(Field::Charging, &m.charging);
        bind(Field::ChargeLimit, &m.charge_limit);
        bind(Field::Range, &m.range);
        if let Some(p) = &m.power {
            let topic = p.topic.clone().ok_or("vehicle.mqtt.power needs a topic")?;
            bindings.push(Binding {
                field: Field::Power(p.unit.unwrap_or(PowerUnit::W)),
                topic,
                pointer: p.pointer.clone(),
            });
        }
        if bindings.is_empty() {
            return Err("[vehicle.mqtt] names no topic".into());
        }
        Ok(MqttVehicle {
            bindings,
            max_age: m.max_age.map(|d| d.get()).unwrap_or(default_max_age),
            state: VehicleState::empty("mqtt", now),
        })
    }

    /// Topics to subscribe to, each once.
    pub fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.bindings.iter().map(|b| b.topic.clone()).collect();
        t.sort();
        t.dedup();
        t
    }

    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    pub fn state(&self) -> &VehicleState {
        &self.state
    }

    /// Take one message. Several values may share a topic (one JSON object, several pointers).
    pub fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> Outcome {
        let at = if retained { None } else { Some(now) };
        let mut out = Outcome::default();
        let bindings: Vec<Binding> = self
            .bindings
            .iter()
            .filter(|b| b.topic == topic)
            .cloned()
            .collect();
        for b in bindings {
            match self.apply(&b, payload, at) {
                Ok(true) => out.updated.push(b.field.name()),
                Ok(false) => {}
                Err(e) => out.errors.push((b.field.name(), e)),
            }
        }
        if !out.updated.is_empty() {
            self.state.fetched_at = now;
            self.derive_power_delivery();
        }
        out
    }

    /// `Ok(false)`: the field is not in this message (a partial update).
    fn apply(
        &mut self,
        b: &Binding,
        payload: &[u8],
        at: Option<DateTime<Utc>>,
    ) -> Result<bool, ValueError> {
        let ptr = b.pointer.as_deref();
        let number = || match extract_number(payload, ptr) {
            Err(PayloadError::Missing(_)) => Ok(None),
            other => other.map(Some),
        };
        let flag = || match extract_bool(payload, ptr) {
            Err(PayloadError::Missing(_)) => Ok(None),
            other => other.map(Some),
        };
        let percent = |v: f64, field| Soc::new(v).ok_or(ValueError::OutOfRange { field, value: v });
        let s = &mut self.state;
        match b.field {
            Field::Soc => match number()? {
                Some(v) => s.soc = Some(Observed::new(percent(v, "soc")?, at)),
                None => return Ok(false),
            },
            Field::ChargeLimit => match number()? {
                Some(v) => s.charge_limit = Some(Observed::new(percent(v, "charge_limit")?, at)),
                None => return Ok(false),
            },
            Field::Range => match number()? {
                Some(v) if v >= 0.0 => s.range_km = Some(Observed::new(v, at)),
                Some(v) => {
                    return Err(ValueError::OutOfRange {
                        field: "range",
                        value: v,
                    });
                }
                None => return Ok(false),
            },
            Field::Power(unit) => match number()? {
                Some(v) => s.charge_power = Some(Observed::new(Watts(unit.to_watts(v)), at)),
                None => return Ok(false),
            },
            Field::Plugged => match flag()? {
                Some(v) => s.plugged = Some(Observed::new(v, at)),
                None => return Ok(false),
            },
            Field::Charging => match flag()? {
                Some(v) => s.charging = Some(Observed::new(v, at)),
                None => return Ok(false),
            },
        }
        Ok(true)
    }

    /// Plug and charging flags as one state, dated by the older of the two.
    fn derive_power_delivery(&mut self) {
        let s = &mut self.state;
        let pd = match (s.plugged.as_ref(), s.charging.as_ref()) {
            (Some(p), _) if !p.value => Some((PowerDelivery::Unplugged, p.at)),
            (_, Some(c)) if c.value => Some((PowerDelivery::Charging, c.at)),
            (Some(p), Some(c)) => Some((
                PowerDelivery::Stopped,
                p.at.zip(c.at).map(|(a, b)| a.min(b)),
            )),
            _ => None,
        };
        s.power_delivery = pd.map(|(v, at)| Observed::new(v, at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::surplus::PowerValue;
    use crate::sources::vehicle::state::Freshness;
    use chrono::TimeZone;

    fn t(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, s).unwrap()
    }

    fn tv(topic: &str, pointer: Option<&str>) -> Option<TopicValue> {
        Some(TopicValue {
            topic: Some(topic.into()),
            pointer: pointer.map(str::to_string),
        })
    }

    fn tracker() -> MqttVehicle {
        let m = VehicleMqttSection {
            soc: tv("homeassistant/sensor/car_soc/state", None),
            plugged: tv("car/state", Some("/plug")),
            charging: tv("car/state", Some("/charging")),
            charge_limit: tv("car/limit", None),
            power: Some(PowerValue {
                topic: Some("car/power".into()),
                unit: Some(PowerUnit::KW),
                ..PowerValue::default()
            }),
            ..VehicleMqttSection::default()
        };
        MqttVehicle::new(&m, Duration::from_secs(3600), t(0)).unwrap()
    }

    #[test]
    fn values_come_from_their_topics_and_pointers() {
        let mut v = tracker();
        assert_eq!(
            v.topics(),
            [
                "car/limit",
                "car/power",
                "car/state",
                "homeassistant/sensor/car_soc/state"
            ]
        );
        let o = v.on_message(
            "car/state",
            br#"{"plug":"connected","charging":"off"}"#,
            false,
            t(1),
        );
        assert_eq!(o.updated, ["plugged", "charging"]);
        v.on_message("homeassistant/sensor/car_soc/state", b"57.5", false, t(2));
        v.on_message("car/power", b"3.6", false, t(3));
        let s = v.state();
        assert_eq!(s.soc.as_ref().unwrap().value, Soc::new(57.5).unwrap());
        assert_eq!(s.plugged, Some(Observed::new(true, Some(t(1)))));
        assert_eq!(s.charge_power.as_ref().unwrap().value, Watts(3600.0));
        assert_eq!(
            s.power_delivery.as_ref().unwrap().value,
            PowerDelivery::Stopped
        );
        assert_eq!(s.observation().soc.unwrap().at, t(2));
    }

    #[test]
    fn retained_values_have_unknown_age_until_a_live_one_arrives() {
        let mut v = tracker();
        v.on_message("homeassistant/sensor/car_soc/state", b"80", true, t(0));
        let soc = v.state().soc.clone().unwrap();
        assert_eq!(soc.at, None);
        assert_eq!(
            soc.freshness(t(1), Duration::from_secs(3600)),
            Freshness::UnknownAge
        );
        assert!(
            v.state().observation().soc.is_none(),
            "never handed to the controller as fresh"
        );
        v.on_message("homeassistant/sensor/car_soc/state", b"81", false, t(5));
        assert_eq!(v.state().observation().soc.unwrap().at, t(5));
    }

    #[test]
    fn bad_values_are_reported_and_keep_the_last_good_one() {
        let mut v = tracker();
        v.on_message("car/limit", b"80", false, t(1));
        let o = v.on_message("car/limit", b"180", false, t(2));
        assert_eq!(
            o.errors,
            [(
                "charge_limit",
                ValueError::OutOfRange {
                    field: "charge_limit",
                    value: 180.0
                }
            )]
        );
        let o = v.on_message("car/limit", b"unavailable", false, t(3));
        assert_eq!(
            o,
            Outcome::default(),
            "Home Assistant's unavailable is no news"
        );
        let o = v.on_message("car/state", b"{\"plug\": [1]}", false, t(4));
        assert!(matches!(
            o.errors[0].1,
            ValueError::Payload(PayloadError::WrongType { .. })
        ));
        assert_eq!(v.state().charge_limit.as_ref().unwrap().at, Some(t(1)));
        assert!(
            v.on_message("other/topic", b"1", false, t(5))
                .updated
                .is_empty()
        );
    }

    #[test]
    fn an_empty_section_is_refused() {
        assert!(
            MqttVehicle::new(&VehicleMqttSection::default(), Duration::from_secs(1), t(0)).is_err()
        );
    }
}
