//! The solar surplus from MQTT meters.
//!
//! Owns:
//! - `presets.rs`: the meters people have ([`Preset`]), each with the payload it publishes;
//! - `spec.rs` and `value.rs`: `[surplus]` resolved over its preset into topics, pointers and signs
//!   ([`MeterSpec`], [`ValueSpec`]);
//! - `tracker.rs`: messages in, a timestamped `MeterSample` out, with the freshness rules
//!   ([`SurplusTracker`]);
//! - `probe.rs`: `sunplug probe surplus`, the first thing a user runs.
//!
//! The daemon wires it as: `spec::resolve(&cfg.surplus)` → `SurplusTracker::new`; subscribe
//! `tracker.topics()` on the shared [`crate::mqtt::MqttLink`] (with `spec.keepalive` among the link's
//! periodic publishes); route each `MqttEvent::Message` to `tracker.on_message(.., now)`; put
//! `tracker.reading(now)` into `Observation::meter` at each step. The battery is reported as measured
//! (charge positive); the policy's `home_battery` rule decides what the car may take from it.

pub mod presets;
pub mod probe;
pub mod spec;
pub mod tracker;
pub mod value;

pub use presets::Preset;
pub use probe::probe;
pub use spec::{MeterSpec, resolve};
pub use tracker::{Outcome, Snapshot, State, Stats, SurplusTracker};
pub use value::{PartSpec, Role, ValueSpec};

use crate::config::surplus::SurplusSection;

/// Check `[surplus]` beyond its types: the preset and device, every value's topics, pointers and
/// sign, what the kind needs. `push(key, message)` reports a problem under `surplus.<key>`.
pub fn check_config(s: &SurplusSection, push: &mut dyn FnMut(&str, String)) {
    if let Err(problems) = resolve(s) {
        for (key, message) in problems {
            push(&key, message);
        }
    }
}
