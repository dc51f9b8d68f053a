//! The real adapters behind the daemon's ports: the Smappee charger, the charger the config names
//! ([`AnyCharger`]: Smappee or OCPP), the vehicle sources, the surplus meter, Smappee's realtime power
//! and the MQTT vehicle tracker. Thin: each maps one type onto one port.

use super::ports::{
    ChargerPort, Location, MeterOutput, PowerOutput, TopicSource, VehiclePort, VehicleUpdate,
};
use crate::chargers::smappee::{ChargerPowerSource, SmappeeCharger};
use crate::clock::Clock;
use crate::control::actuate::Request;
use crate::control::{ChargerObs, Reading};
use crate::sources::surplus::SurplusTracker;
use crate::sources::vehicle::VehicleSource;
use crate::sources::vehicle::mqtt::MqttVehicle;
use crate::sources::vehicle::state::VehicleState;
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

impl ChargerPort for SmappeeCharger {
    async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        SmappeeCharger::execute(self, request).await
    }
    async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerObs, VendorError> {
        let mut obs = SmappeeCharger::read_state(self, now).await?.obs();
        // The adapter caps commands at the maximum it found when it verified the station; report the
        // lower of that and what the station says now, so the loop never plans above what is sent.
        let cap = self.limits().max;
        obs.max = Some(obs.max.map_or(cap, |m| m.min(cap)));
        Ok(obs)
    }
}

/// The charger `[charger] kind` names.
pub enum AnyCharger {
    Smappee(Box<SmappeeCharger>),
    Ocpp(crate::chargers::ocpp::OcppCharger),
}

impl ChargerPort for AnyCharger {
    async fn execute(&mut self, request: Request) -> Result<(), VendorError> {
        match self {
            AnyCharger::Smappee(c) => ChargerPort::execute(&mut **c, request).await,
            AnyCharger::Ocpp(c) => crate::chargers::ocpp::OcppCharger::execute(c, request).await,
        }
    }
    async fn read_state(&mut self, now: DateTime<Utc>) -> Result<ChargerObs, VendorError> {
        match self {
            AnyCharger::Smappee(c) => ChargerPort::read_state(&mut **c, now).await,
            AnyCharger::Ocpp(c) => crate::chargers::ocpp::OcppCharger::read_state(c, now),
        }
    }
}

/// A vehicle source polled with the service's clock.
pub struct PolledVehicle {
    pub source: VehicleSource,
    pub clock: Arc<dyn Clock>,
}

impl VehiclePort for PolledVehicle {
    async fn fetch(&mut self, _now: DateTime<Utc>) -> Result<VehicleUpdate, VendorError> {
        self.source.poll(&*self.clock).await.map(|s| update_of(&s))
    }
    fn next_poll(
        &mut self,
        now: DateTime<Utc>,
        _last: Option<&Result<VehicleUpdate, VendorError>>,
    ) -> Option<Duration> {
        self.source
            .due(now)
            .map(|due| (due - now).to_std().unwrap_or_default())
    }
}

/// What the daemon needs from a vehicle state.
pub fn update_of(s: &VehicleState) -> VehicleUpdate {
    VehicleUpdate {
        obs: s.observation(),
        location: s.location.as_ref().and_then(|o| {
            let at = o.at?;
            Some(Reading::new(
                Location {
                    latitude: o.value.latitude,
                    longitude: o.value.longitude,
                    accuracy_m: o.value.accuracy_m,
                },
                at,
            ))
        }),
        range_km: s.range_km.as_ref().and_then(|o| o.reading()),
        warning: s.warning,
    }
}

impl TopicSource for ChargerPowerSource {
    type Output = PowerOutput;
    fn topics(&self) -> Vec<String> {
        ChargerPowerSource::topics(self)
    }
    fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> bool {
        ChargerPowerSource::on_message(self, topic, payload, retained, now)
    }
    fn latest(&self, now: DateTime<Utc>) -> Option<PowerOutput> {
        ChargerPowerSource::latest(self, now)
    }
}

/// `[vehicle] kind = "mqtt"`: the car's values from topics.
pub struct MqttVehicleTopics(pub MqttVehicle);

impl TopicSource for MqttVehicleTopics {
    type Output = VehicleUpdate;
    fn topics(&self) -> Vec<String> {
        self.0.topics()
    }
    fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> bool {
        let out = self.0.on_message(topic, payload, retained, now);
        !out.updated.is_empty()
            || !out.errors.is_empty()
            || self.0.topics().iter().any(|t| t == topic)
    }
    fn latest(&self, _now: DateTime<Utc>) -> Option<VehicleUpdate> {
        Some(update_of(self.0.state()))
    }
}

/// The surplus meter, as the loop sees it.
pub struct Meter(pub SurplusTracker);

impl TopicSource for Meter {
    type Output = MeterOutput;
    fn topics(&self) -> Vec<String> {
        self.0.topics()
    }
    fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> bool {
        self.0.on_message(topic, payload, retained, now).ours
    }
    fn latest(&self, now: DateTime<Utc>) -> Option<MeterOutput> {
        self.0.reading(now)
    }
}
