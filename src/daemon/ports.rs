//! The daemon's view of the outside world: small traits each adapter implements, so the loop can be
//! tested with fakes and each adapter stays testable alone.
//!
//! Owns: [`ChargerPort`] (a charger below the actuator, owned by the writer task), [`VehiclePort`] (polled),
//! [`TopicSource`] (anything fed by MQTT messages: the surplus meter, a vehicle on MQTT, Smappee's
//! realtime power), [`MqttPort`] (publish/subscribe on the shared link) and [`MqttIn`] (what arrives).

use crate::control::actuate::Request;
use crate::control::{ChargerObs, MeterSample, Reading, VehicleObs};
use crate::units::Watts;
use crate::vendor::VendorError;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::time::Duration;

/// A charger that executes requests and reads its state: everything the writer needs, nothing
/// more. Dedupe, backoff, replugs and manual changes are the actuator's (`control::actuate`), so a new
/// charger (OCPP, a second connector) only translates. One owner, one call at a time.
pub trait ChargerPort: Send + 'static {
    /// Send `request` to the charger: `Ok` once it acknowledged it.
    fn execute(&mut self, request: Request)
    -> impl Future<Output = Result<(), VendorError>> + Send;
    /// Read the charger's state for the controller.
    fn read_state(
        &mut self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ChargerObs, VendorError>> + Send;
}

/// The car's location, for Home Assistant's map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: Option<f64>,
}

/// One vehicle fetch: what the controller needs plus what Home Assistant shows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VehicleUpdate {
    pub obs: VehicleObs,
    pub location: Option<Reading<Location>>,
    pub range_km: Option<Reading<f64>>,
    /// Something about the car that works against sunplug (shown in Home Assistant).
    pub warning: Option<crate::sources::vehicle::state::VehicleWarning>,
}

/// Something fed by MQTT messages.
pub trait TopicSource: Send + 'static {
    type Output;
    /// The topics to subscribe to (re-subscribed after every reconnect by the link).
    fn topics(&self) -> Vec<String>;
    /// Offer a message; returns whether it was one of ours.
    fn on_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        retained: bool,
        now: DateTime<Utc>,
    ) -> bool;
    /// The latest value, with the time it was true.
    fn latest(&self, now: DateTime<Utc>) -> Option<Self::Output>;
}

/// The meter: a [`TopicSource`] of meter samples.
pub type MeterOutput = Reading<MeterSample>;
/// The charger's power from a push stream.
pub type PowerOutput = Reading<Watts>;

/// The vehicle's cloud (or nothing), polled on its own schedule.
pub trait VehiclePort: Send + 'static {
    fn fetch(
        &mut self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<VehicleUpdate, VendorError>> + Send;
    /// How long to wait before the next fetch, given the last result (budgets, charging or not,
    /// Retry-After). `None`: never poll (no vehicle source).
    fn next_poll(
        &mut self,
        now: DateTime<Utc>,
        last: Option<&Result<VehicleUpdate, VendorError>>,
    ) -> Option<Duration>;
}

/// Publishing on the shared MQTT link. Fire-and-forget: the link queues and retries.
pub trait MqttPort: Send + Sync + 'static {
    fn publish(&self, topic: &str, payload: &str, retain: bool);
    fn subscribe(&self, topic: &str);
}

/// What arrives from the MQTT link (the link's own event type).
pub use crate::mqtt::MqttEvent as MqttIn;
