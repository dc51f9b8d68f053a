//! One message from one topic, for the one-shot commands: `sunplug plan` reads the price list or the
//! forecast another tool keeps (retained) on the broker, then disconnects.
//!
//! Owns: [`first_message`]. The service itself never uses it: it keeps one link and routes events.

use super::{MqttEvent, MqttLink, MqttOptions, QoS};
use std::time::Duration;

/// What came within the wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstMessage {
    /// The payload of the first message on the topic (the retained one, if the broker keeps one).
    Payload(Vec<u8>),
    /// Nothing came; `broker` is the last reason the connection gave for being down, if any.
    Nothing { broker: Option<String> },
}

/// Connects with `options`, subscribes to `topic` and returns the first message on it, or
/// [`FirstMessage::Nothing`] after `wait`. The link is shut down either way. An error is a link
/// that could not start or subscribe.
pub async fn first_message(
    options: MqttOptions,
    topic: &str,
    wait: Duration,
) -> Result<FirstMessage, String> {
    let (link, mut events) = MqttLink::start(options).map_err(|e| format!("MQTT: {e}"))?;
    if let Err(e) = link.subscribe(topic, QoS::AtLeastOnce) {
        link.shutdown().await;
        return Err(format!("MQTT: {e}"));
    }
    let mut broker = None;
    let got = tokio::time::timeout(wait, async {
        while let Some(ev) = events.recv().await {
            match ev {
                MqttEvent::Message {
                    topic: t, payload, ..
                } if t == topic => return Some(payload),
                MqttEvent::Disconnected(why) => broker = Some(why),
                _ => {}
            }
        }
        None
    })
    .await;
    link.shutdown().await;
    Ok(match got {
        Ok(Some(payload)) => FirstMessage::Payload(payload),
        _ => FirstMessage::Nothing { broker },
    })
}
