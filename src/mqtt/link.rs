//! The link task: keeps one broker connection alive for the life of the service.
//!
//! Owns: [`MqttLink::start`] (spawns the task), [`MqttHandle`] (subscribe, publish, shutdown; cheap
//! to clone) and [`MqttEvent`] (what the task reports). The task
//! - remembers every subscription and sends them all again right after each CONNACK (sessions are
//!   clean, so a restarted broker knows nothing of us);
//! - reconnects after any failure with capped exponential backoff on tokio time; the backoff starts
//!   over only once a connection has lasted [`STABLE_AFTER`], so a connection that fails right after
//!   each CONNACK (a packet it cannot take) backs off instead of looping;
//! - drops a message larger than `max_packet_bytes` with one warning per topic;
//! - publishes the configured periodic messages (Victron keep-alive) after each connect and then on
//!   their interval;
//! - on [`MqttHandle::shutdown`] sends DISCONNECT (so the broker does not publish the last will) and
//!   stops. Dropping the last handle stops it too.
//!
//! Publishing never blocks the caller: while the broker is away a publish fails with
//! [`MqttError::NotConnected`] and the caller republishes what matters on the next
//! [`MqttEvent::Connected`] (retained discovery, availability).

use super::options::{Backoff, MqttOptions, PeriodicPublish};
use super::session::{self, Client, Loop, Polled};
use super::{MqttError, QoS};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{debug, info, warn};

/// What the link reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttEvent {
    /// Connected (again); every remembered subscription has been requested.
    Connected,
    /// The connection is down: it was lost, or an attempt failed. The link retries by itself.
    Disconnected(String),
    /// A message on a subscribed topic. `retained` is true only for messages the broker stored
    /// earlier and hands over at subscribe time: their age is unknown.
    Message {
        topic: String,
        payload: Vec<u8>,
        retained: bool,
    },
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Waiting for the next attempt.
    Disconnected,
    /// Shut down for good.
    Stopped,
}

/// The state plus how many connections were made so far (a new number means a new session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkStatus {
    pub state: LinkState,
    pub connects: u64,
}

struct Shared {
    subscriptions: Mutex<BTreeMap<String, QoS>>,
    status: watch::Sender<LinkStatus>,
    cancel: CancellationToken,
}

impl Shared {
    fn set(&self, state: LinkState, new_connection: bool) {
        self.status.send_modify(|s| {
            s.state = state;
            if new_connection {
                s.connects += 1;
            }
        });
    }

    fn subscriptions(&self) -> Vec<(String, QoS)> {
        let subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        subs.iter().map(|(f, q)| (f.clone(), *q)).collect()
    }
}

/// A handle on the link. Clones share the connection; dropping the last one stops the link.
#[derive(Clone)]
pub struct MqttHandle {
    client: Client,
    shared: Arc<Shared>,
    _stop_on_drop: Arc<DropGuard>,
}

impl std::fmt::Debug for MqttHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttHandle")
            .field("status", &self.status())
            .finish()
    }
}

/// Events the link buffers for a slow reader before it waits (and stops reading the socket).
const EVENT_BUFFER: usize = 1024;
/// How long a clean shutdown may take before the socket is just dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// A connection that lasted this long starts the reconnect backoff over.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

/// Starts links. Needs a running tokio runtime.
pub struct MqttLink;

impl MqttLink {
    /// Spawn the link task and connect in the background. Fails only when the options cannot be
    /// turned into a connection (TLS roots unreadable...); a broker that is down is retried.
    pub fn start(
        options: MqttOptions,
    ) -> Result<(MqttHandle, mpsc::Receiver<MqttEvent>), MqttError> {
        let (client, lp) = session::build(&options).map_err(MqttError::Setup)?;
        let (status, _) = watch::channel(LinkStatus {
            state: LinkState::Connecting,
            connects: 0,
        });
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            subscriptions: Mutex::new(BTreeMap::new()),
            status,
            cancel: cancel.clone(),
        });
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let target = format!("{}:{}", options.host, options.port);
        tokio::spawn(run(
            lp,
            client.clone(),
            shared.clone(),
            tx,
            options.backoff,
            target,
            options.max_packet_bytes,
        ));
        for p in options.periodic {
            tokio::spawn(periodic(p, client.clone(), shared.clone()));
        }
        let handle = MqttHandle {
            client,
            shared,
            _stop_on_drop: Arc::new(cancel.drop_guard()),
        };
        Ok((handle, rx))
    }
}

impl MqttHandle {
    /// Subscribe to `filter` now (if connected) and after every reconnect.
    /// `Err(Busy)` means the request queue is full: the subscription is remembered and will be
    /// made on the next connect, or call again.
    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), MqttError> {
        if filter.is_empty() {
            return Err(MqttError::Setup("empty topic filter".into()));
        }
        self.check_running()?;
        let changed = {
            let mut subs = self
                .shared
                .subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            subs.insert(filter.to_string(), qos) != Some(qos)
        };
        if changed && self.is_connected() {
            self.client
                .try_subscribe(filter, qos)
                .map_err(|_| MqttError::Busy)?;
        }
        Ok(())
    }

    /// Forget `filter` and unsubscribe if connected.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), MqttError> {
        self.check_running()?;
        let had = {
            let mut subs = self
                .shared
                .subscriptions
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            subs.remove(filter).is_some()
        };
        if had && self.is_connected() {
            self.client
                .try_unsubscribe(filter)
                .map_err(|_| MqttError::Busy)?;
        }
        Ok(())
    }

    /// Publish now. Never waits: fails with `NotConnected` while the broker is away and with `Busy`
    /// when the request queue is full.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        retain: bool,
        qos: QoS,
    ) -> Result<(), MqttError> {
        self.check_running()?;
        if !self.is_connected() {
            return Err(MqttError::NotConnected);
        }
        self.client
            .try_publish(topic, payload.into(), retain, qos)
            .map_err(|_| MqttError::Busy)
    }

    pub fn status(&self) -> LinkStatus {
        *self.shared.status.borrow()
    }

    pub fn is_connected(&self) -> bool {
        self.status().state == LinkState::Connected
    }

    /// Follow the connection state (for health reporting).
    pub fn watch_status(&self) -> watch::Receiver<LinkStatus> {
        self.shared.status.subscribe()
    }

    /// The filters that are (re)subscribed on every connect.
    pub fn subscriptions(&self) -> Vec<String> {
        self.shared
            .subscriptions()
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// Send what is already queued, then DISCONNECT if connected (so no last will is published);
    /// stop the link and wait until it has stopped (at most a few seconds).
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        let mut rx = self.shared.status.subscribe();
        let stopped = rx.wait_for(|s| s.state == LinkState::Stopped);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), stopped).await;
    }

    fn check_running(&self) -> Result<(), MqttError> {
        if self.shared.cancel.is_cancelled() {
            Err(MqttError::Stopped)
        } else {
            Ok(())
        }
    }
}

/// Send an event unless the link is being stopped (a reader that stopped reading must not block
/// the shutdown).
async fn emit(tx: &mpsc::Sender<MqttEvent>, cancel: &CancellationToken, ev: MqttEvent) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tx.send(ev) => {}
    }
}

async fn run(
    mut lp: Loop,
    client: Client,
    shared: Arc<Shared>,
    tx: mpsc::Sender<MqttEvent>,
    mut backoff: Backoff,
    target: String,
    max_payload: usize,
) {
    let cancel = shared.cancel.clone();
    let mut connected = false;
    let mut connected_at: Option<tokio::time::Instant> = None;
    let mut oversized_topics: std::collections::HashSet<String> = Default::default();
    let mut last_failure: Option<String> = None;
    loop {
        let polled = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            p = lp.poll(connected) => p,
        };
        match polled {
            Ok(Polled::Connected) => {
                connected = true;
                connected_at = Some(tokio::time::Instant::now());
                last_failure = None;
                // State first, then read the subscriptions: a concurrent `subscribe` either lands in
                // this list or sees `Connected` and subscribes itself.
                shared.set(LinkState::Connected, true);
                let subs = shared.subscriptions();
                lp.queue_subscribe(&subs);
                info!(broker = %target, subscriptions = subs.len(), "MQTT connected");
                emit(&tx, &cancel, MqttEvent::Connected).await;
            }
            Ok(Polled::Message {
                topic,
                payload,
                retained: _,
            }) if payload.len() > max_payload => {
                if oversized_topics.insert(topic.clone()) {
                    warn!(
                        broker = %target,
                        %topic,
                        bytes = payload.len(),
                        limit = max_payload,
                        "MQTT message larger than mqtt.max_packet_size dropped (further ones on this topic are dropped silently)"
                    );
                }
            }
            Ok(Polled::Message {
                topic,
                payload,
                retained,
            }) => {
                emit(
                    &tx,
                    &cancel,
                    MqttEvent::Message {
                        topic,
                        payload,
                        retained,
                    },
                )
                .await;
            }
            Ok(Polled::DisconnectSent | Polled::Other) => {}
            Err(reason) => {
                if connected_at
                    .take()
                    .is_some_and(|t| t.elapsed() >= STABLE_AFTER)
                {
                    backoff.reset();
                }
                let delay = backoff.next_delay();
                if connected {
                    warn!(broker = %target, %reason, "MQTT connection lost; reconnecting");
                } else if last_failure.as_deref() != Some(reason.as_str()) {
                    warn!(broker = %target, %reason, retry_in = ?delay, "MQTT connect failed; retrying");
                } else {
                    debug!(broker = %target, %reason, retry_in = ?delay, "MQTT connect failed again");
                }
                connected = false;
                last_failure = Some(reason.clone());
                shared.set(LinkState::Disconnected, false);
                emit(&tx, &cancel, MqttEvent::Disconnected(reason)).await;
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
                shared.set(LinkState::Connecting, false);
            }
        }
    }
    if connected {
        if client.try_disconnect().is_err() {
            lp.queue_disconnect();
        }
        // Send what is queued and the DISCONNECT, then let the broker close the socket: closing it
        // ourselves right behind the DISCONNECT lets some brokers (rumqttd) see the close before
        // the packet, and publish the last will after all.
        let drain = async {
            let mut sent = false;
            loop {
                match lp.poll(true).await {
                    Ok(Polled::DisconnectSent) => sent = true,
                    Err(_) => return sent,
                    Ok(_) => {}
                }
            }
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, drain).await {
            Ok(true) => info!(broker = %target, "MQTT disconnected"),
            Ok(false) => debug!(broker = %target, "MQTT connection ended before our DISCONNECT"),
            Err(_) => {
                debug!(broker = %target, "the broker did not close after DISCONNECT; closing the socket")
            }
        }
    }
    shared.set(LinkState::Stopped, false);
    let _ = tx.try_send(MqttEvent::Disconnected("shut down".into()));
}

/// Publish `p.on_connect` after every connect and `p.payload` every `p.every` while connected.
async fn periodic(p: PeriodicPublish, client: Client, shared: Arc<Shared>) {
    let mut status = shared.status.subscribe();
    let cancel = shared.cancel.clone();
    let mut tick = tokio::time::interval(p.every.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen_connects = 0;
    loop {
        let s = *status.borrow_and_update();
        if s.state == LinkState::Stopped {
            break;
        }
        if s.state == LinkState::Connected && s.connects != seen_connects {
            seen_connects = s.connects;
            if client
                .try_publish(&p.topic, p.on_connect.clone(), false, QoS::AtMostOnce)
                .is_err()
            {
                debug!(topic = %p.topic, "periodic publish skipped: request queue full");
            }
            tick.reset();
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            changed = status.changed() => if changed.is_err() { break },
            _ = tick.tick() => {
                if status.borrow().state == LinkState::Connected && seen_connects > 0 {
                    let _ = client.try_publish(&p.topic, p.payload.clone(), false, QoS::AtMostOnce);
                }
            }
        }
    }
}
