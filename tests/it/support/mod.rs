//! The one support module of the integration tests (`tests/it` and `tests/log_capture`):
//! - here and in `broker`/`harness`: real MQTT brokers started by the tests themselves, and the
//!   surplus-tracker harness;
//! - [`control`]: the controller's sites, policies and parameters;
//! - [`sim`]: scenario files and the `sunplug simulate` runner;
//! - [`smappee`]: the Smappee emulator harness;
//! - [`vehicle`]: the vehicle tests' clock and temp configs;
//! - [`logs`]: capturing log lines.
//!
//! # MQTT brokers
//!
//! - rumqttd, embedded (a dev-dependency): always. Its router lives for the whole test; the TCP
//!   listener and every connection run on their own runtime, so `stop()` really closes every socket
//!   and `restart()` listens again on the same port with no memory of any session.
//! - mosquitto, when installed (on `PATH` or `/usr/sbin`; `SUNPLUG_TEST_MOSQUITTO` names another binary
//!   or, set empty, skips it; CI sets it): started on a free port
//!   from a temporary config. If it does not come up, the test fails; it is never skipped.
//!
//! Also: [`Publisher`], a plain rumqttc client that plays the meter, and [`Events`] helpers that wait
//! for link events with a deadline (tests never sleep for timing).
#![allow(dead_code)]

mod broker;
pub mod control;
pub mod fakes;
pub mod harness;
pub mod logs;
pub mod ocpp;
pub mod sim;
pub mod smappee;
pub mod vehicle;

#[allow(unused_imports)]
pub use broker::{Kind, TestBroker, free_port, kinds, mosquitto};
use chrono::{DateTime, TimeZone, Utc};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::time::{Duration, Instant};
use sunplug::mqtt::MqttEvent;
use tokio::sync::mpsc;

/// The one start of the tests' time: 2026-06-01 10:00 UTC (midday in Brussels, the sun up), for
/// paused clocks, trackers, controllers and the emulators alike. A test that needs another hour
/// adds to it.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 10, 0, 0).unwrap()
}

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Plays the meter: publishes with QoS 1 and waits for the broker's PUBACK, so a publish is at the
/// broker when `publish` returns.
///
/// Every connection gets its own client id (`id` plus a serial number) and its event loop stops
/// when the `Publisher` is dropped: a replaced publisher that reconnects on its own after a broker
/// restart must not take over the new one's session (same id), which would cost the new one its
/// in-flight PUBACK.
pub struct Publisher {
    client: AsyncClient,
    task: tokio::task::JoinHandle<()>,
    acks: mpsc::UnboundedReceiver<()>,
    pub received: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
}

impl Publisher {
    pub async fn connect(port: u16, id: &str) -> Publisher {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut o = MqttOptions::new(format!("{id}-{serial}"), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        // Big enough for the oversized retained messages of the packet-limit tests.
        o.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
        let (client, mut lp): (AsyncClient, EventLoop) = AsyncClient::new(o, 64);
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (msg_tx, received) = mpsc::unbounded_channel();
        let (up_tx, mut up_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match lp.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = up_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = msg_tx.send((p.topic, p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        if ack_tx.is_closed() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        tokio::time::timeout(DEADLINE, up_rx.recv())
            .await
            .expect("test publisher could not connect");
        Publisher {
            client,
            task,
            acks,
            received,
        }
    }

    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>, retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.into())
            .await
            .unwrap();
        tokio::time::timeout(DEADLINE, self.acks.recv())
            .await
            .expect("no PUBACK from the broker");
    }

    pub async fn subscribe(&self, filter: &str) {
        self.client
            .subscribe(filter, QoS::AtMostOnce)
            .await
            .unwrap();
    }

    /// The next message this publisher received on its own subscriptions (the canary skipped).
    pub async fn next_received(&mut self) -> (String, Vec<u8>) {
        loop {
            let m = tokio::time::timeout(DEADLINE, self.received.recv())
                .await
                .expect("nothing received in time")
                .expect("publisher stopped");
            if m.0 != CANARY {
                return m;
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The next link event, or fail after [`DEADLINE`].
pub async fn next_event(events: &mut mpsc::Receiver<MqttEvent>) -> MqttEvent {
    tokio::time::timeout(DEADLINE, events.recv())
        .await
        .expect("no MQTT event in time")
        .expect("link stopped")
}

/// Skip events until `pred` holds for one; return it.
pub async fn wait_for(
    events: &mut mpsc::Receiver<MqttEvent>,
    mut pred: impl FnMut(&MqttEvent) -> bool,
) -> MqttEvent {
    loop {
        let ev = next_event(events).await;
        if pred(&ev) {
            return ev;
        }
    }
}

/// The topic every harness subscribes to as a "subscriptions are active" signal.
pub const CANARY: &str = "sunplug-test/canary";

/// Publish the canary until the link delivers it: then every subscription sent with it is active.
/// Returns the other events seen meanwhile (retained messages may arrive before the canary).
pub async fn until_subscribed(
    publisher: &mut Publisher,
    events: &mut mpsc::Receiver<MqttEvent>,
) -> Vec<MqttEvent> {
    let mut seen = Vec::new();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < DEADLINE,
            "subscriptions never became active"
        );
        publisher.publish(CANARY, "ping", false).await;
        let got = tokio::time::timeout(Duration::from_millis(300), async {
            loop {
                match events.recv().await {
                    Some(MqttEvent::Message { topic, .. }) if topic == CANARY => return true,
                    Some(ev) => seen.push(ev),
                    None => return false,
                }
            }
        })
        .await;
        if got == Ok(true) {
            return seen;
        }
    }
}
