//! The one MQTT connection the service uses for everything: the surplus meter, vehicle topics, Home
//! Assistant discovery and commands, Smappee realtime.
//!
//! Owns: [`MqttLink::start`] → ([`MqttHandle`], a receiver of [`MqttEvent`]s); [`MqttOptions`]
//! (from `[mqtt]` plus the password); [`QoS`] and [`MqttError`]. rumqttc stays behind this module
//! (`session.rs`), MQTT 3.1.1 and 5 alike.
//!
//! Does not own: what the messages mean. The surplus source parses meter payloads
//! (`sources::surplus`), the daemon routes events to whoever subscribed.

mod link;
mod once;
mod options;
mod session;

pub use link::{LinkState, LinkStatus, MqttEvent, MqttHandle, MqttLink};
pub use once::{FirstMessage, first_message};
pub use options::{
    Backoff, DEFAULT_MAX_PACKET, HARD_PACKET_LIMIT, LastWill, MqttOptions, PeriodicPublish,
    Protocol, TlsOptions,
};

/// Delivery guarantee of a publish or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QoS {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
}

/// Why a handle call did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    /// The broker is away; the link is reconnecting.
    #[error("not connected to the MQTT broker")]
    NotConnected,
    /// Too many requests queued; try again later.
    #[error("the MQTT request queue is full")]
    Busy,
    /// The link was shut down.
    #[error("the MQTT link is shut down")]
    Stopped,
    /// The options cannot work (TLS roots, empty topic...).
    #[error("MQTT setup: {0}")]
    Setup(String),
}
