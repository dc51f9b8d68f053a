//! A meter, a broker and the real link feeding a [`SurplusTracker`]: the path the daemon takes, with
//! the test owning `now` (message arrival times) so freshness is checked without waiting.

use super::t0;
use super::{CANARY, Kind, Publisher, TestBroker, next_event, until_subscribed};
use chrono::{DateTime, Utc};
use std::time::Duration;
use sunplug::config::surplus::SurplusSection;
use sunplug::control::observation::{MeterSample, PowerBalance, Reading};
use sunplug::mqtt::{Backoff, MqttEvent, MqttHandle, MqttLink, MqttOptions, QoS};
use sunplug::sources::surplus::{Outcome, SurplusTracker, resolve};
use tokio::sync::mpsc;

/// `[surplus]` from TOML text (without the header).
pub fn section(toml_text: &str) -> SurplusSection {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("bad test config: {e}\n{toml_text}"))
}

pub fn tracker(toml_text: &str) -> SurplusTracker {
    let spec = resolve(&section(toml_text)).unwrap_or_else(|e| panic!("config problems: {e:?}"));
    SurplusTracker::new(spec)
}

/// Test link options: fast reconnects.
pub fn options(port: u16, id: &str) -> MqttOptions {
    let mut o = MqttOptions::new("127.0.0.1", port, id);
    o.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400));
    o
}

pub struct Harness {
    pub broker: TestBroker,
    pub handle: MqttHandle,
    pub events: mpsc::Receiver<MqttEvent>,
    pub tracker: SurplusTracker,
    pub meter: Publisher,
    /// Arrival time given to the next message.
    pub now: DateTime<Utc>,
}

impl Harness {
    pub async fn start(kind: &Kind, surplus: &str) -> Harness {
        Harness::start_with_retained(kind, surplus, &[]).await
    }

    /// Publish `retained` (topic, payload) before the link subscribes, so they arrive as retained
    /// messages at subscribe time; returns once the tracker has seen each of them.
    pub async fn start_with_retained(
        kind: &Kind,
        surplus: &str,
        retained: &[(&str, &str)],
    ) -> Harness {
        Harness::start_full(kind, surplus, retained, None).await.0
    }

    /// As [`Harness::start_with_retained`], plus an observer subscribed to `watch` before the link
    /// connects (to see what the link publishes). Periodic publishes are sped up to every 300 ms.
    pub async fn start_full(
        kind: &Kind,
        surplus: &str,
        retained: &[(&str, &str)],
        watch: Option<&str>,
    ) -> (Harness, Option<Publisher>) {
        let broker = TestBroker::start(kind);
        let mut meter = Publisher::connect(broker.port, "meter").await;
        for (t, p) in retained {
            meter.publish(t, *p, true).await;
        }
        let observer = match watch {
            Some(filter) => {
                let mut o = Publisher::connect(broker.port, "observer").await;
                o.subscribe(filter).await;
                // Make sure the subscription is active before the link connects.
                o.subscribe(super::CANARY).await;
                loop {
                    o.publish(super::CANARY, "x", false).await;
                    if let Ok(Some(_)) =
                        tokio::time::timeout(Duration::from_millis(200), o.received.recv()).await
                    {
                        break;
                    }
                }
                Some(o)
            }
            None => None,
        };
        let tracker = tracker(surplus);
        let mut o = options(broker.port, "sunplug-test");
        o.periodic
            .extend(tracker.spec().keepalive.clone().map(|mut k| {
                k.every = Duration::from_millis(300);
                k
            }));
        let (handle, events) = MqttLink::start(o).unwrap();
        for t in tracker.topics() {
            handle.subscribe(&t, QoS::AtMostOnce).unwrap();
        }
        handle.subscribe(CANARY, QoS::AtMostOnce).unwrap();
        let mut h = Harness {
            broker,
            handle,
            events,
            tracker,
            meter,
            now: t0(),
        };
        let early = until_subscribed(&mut h.meter, &mut h.events).await;
        let mut pending: Vec<&str> = retained.iter().map(|(t, _)| *t).collect();
        for ev in early {
            if let Some(t) = h.feed(ev) {
                pending.retain(|p| *p != t);
            }
        }
        while !pending.is_empty() {
            let ev = next_event(&mut h.events).await;
            if let Some(t) = h.feed(ev) {
                pending.retain(|p| *p != t);
            }
        }
        (h, observer)
    }

    /// Give one event to the tracker (at `self.now`); the topic if it was a message.
    pub fn feed(&mut self, ev: MqttEvent) -> Option<String> {
        match ev {
            MqttEvent::Message { topic, .. } if topic == CANARY => None,
            MqttEvent::Message {
                topic,
                payload,
                retained,
            } => {
                self.tracker
                    .on_message(&topic, &payload, retained, self.now);
                Some(topic)
            }
            _ => None,
        }
    }

    /// Publish as the meter and return what the tracker made of it once the link delivered it.
    pub async fn send(
        &mut self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        retain: bool,
    ) -> Outcome {
        let payload = payload.into();
        self.meter.publish(topic, payload.clone(), retain).await;
        loop {
            match next_event(&mut self.events).await {
                MqttEvent::Message {
                    topic: t,
                    payload: p,
                    retained,
                } if t == topic => {
                    assert_eq!(
                        p, payload,
                        "the broker delivered another payload than published"
                    );
                    return self.tracker.on_message(&t, &p, retained, self.now);
                }
                other => {
                    self.feed(other);
                }
            }
        }
    }

    pub fn advance(&mut self, secs: i64) {
        self.now += chrono::Duration::seconds(secs);
    }

    pub fn reading(&self) -> Option<Reading<MeterSample>> {
        self.tracker.reading(self.now)
    }

    /// Grid power (import positive) of the current reading.
    pub fn grid_w(&self) -> Option<f64> {
        self.reading()
            .map(|r| r.value.balance.grid(sunplug::units::Watts::ZERO).0)
    }

    pub fn available_w(&self) -> Option<f64> {
        self.reading().and_then(|r| match r.value.balance {
            PowerBalance::Available(a) => Some(a.0),
            PowerBalance::Grid(_) => None,
        })
    }

    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}
