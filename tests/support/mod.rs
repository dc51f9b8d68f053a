//! Real MQTT brokers for the integration tests, started by the tests themselves.
//!
//! - rumqttd, embedded (a dev-dependency): always. Its router lives for the whole test; the TCP
//!   listener and every connection run on their own runtime, so `stop()` really closes every socket
//!   and `restart()` listens again on the same port with no memory of any session.
//! - mosquitto, when `SUNPLUG_TEST_MOSQUITTO` names its binary (CI sets it): started on a free port
//!   from a temporary config. If it does not come up, the test fails; it is never skipped.
//!
//! Also: [`Publisher`], a plain rumqttc client that plays the meter, and [`Events`] helpers that wait
//! for link events with a deadline (tests never sleep for timing).
#![allow(dead_code)]

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sunplug::mqtt::{MqttEvent, Protocol};
use tokio::sync::mpsc;

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Rumqttd,
    Mosquitto(String),
}

/// rumqttd always; mosquitto too when `SUNPLUG_TEST_MOSQUITTO` is set.
pub fn kinds() -> Vec<Kind> {
    let mut out = vec![Kind::Rumqttd];
    if let Some(bin) = std::env::var_os("SUNPLUG_TEST_MOSQUITTO") {
        out.push(Kind::Mosquitto(bin.to_string_lossy().into_owned()));
    }
    out
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what} did not listen on 127.0.0.1:{port} within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

type SpawnServer = Arc<dyn Fn(SocketAddr, bool) -> ServerThread + Send + Sync>;

struct ServerThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Inner {
    Rumqttd {
        spawn: SpawnServer,
        servers: Vec<ServerThread>,
    },
    Mosquitto {
        bin: String,
        dir: tempfile::TempDir,
        /// Listener options (TLS files).
        extra: String,
        child: Option<Child>,
    },
}

/// A broker on 127.0.0.1. MQTT 3.1.1 on `port`, MQTT 5 on `port_v5` (the same for mosquitto).
pub struct TestBroker {
    pub kind: Kind,
    pub port: u16,
    pub port_v5: u16,
    users: Option<HashMap<String, String>>,
    inner: Inner,
}

impl TestBroker {
    pub fn start(kind: &Kind) -> TestBroker {
        TestBroker::start_with_users(kind, None)
    }

    /// Only these user/password pairs may connect (rumqttd only).
    pub fn start_with_users(kind: &Kind, users: Option<HashMap<String, String>>) -> TestBroker {
        let (port, port_v5) = (free_port(), free_port());
        let inner = match kind {
            Kind::Rumqttd => Inner::Rumqttd {
                spawn: rumqttd_router(users.clone()),
                servers: Vec::new(),
            },
            Kind::Mosquitto(bin) => {
                assert!(users.is_none(), "password tests run on rumqttd");
                Inner::Mosquitto {
                    bin: bin.clone(),
                    dir: tempfile::tempdir().unwrap(),
                    extra: String::new(),
                    child: None,
                }
            }
        };
        let port_v5 = if matches!(kind, Kind::Mosquitto(_)) {
            port
        } else {
            port_v5
        };
        let mut b = TestBroker {
            kind: kind.clone(),
            port,
            port_v5,
            users,
            inner,
        };
        b.up();
        b
    }

    pub fn port_for(&self, p: Protocol) -> u16 {
        match p {
            Protocol::V311 => self.port,
            Protocol::V5 => self.port_v5,
        }
    }

    fn up(&mut self) {
        let (port, port_v5) = (self.port, self.port_v5);
        match &mut self.inner {
            Inner::Rumqttd { spawn, servers } => {
                servers.push(spawn(SocketAddr::from(([127, 0, 0, 1], port)), false));
                servers.push(spawn(SocketAddr::from(([127, 0, 0, 1], port_v5)), true));
                wait_listening(port, "rumqttd");
                wait_listening(port_v5, "rumqttd (MQTT 5)");
            }
            Inner::Mosquitto {
                bin,
                dir,
                extra,
                child,
            } => {
                let conf = dir.path().join("mosquitto.conf");
                let log = dir.path().join("mosquitto.log");
                std::fs::write(
                    &conf,
                    format!(
                        "listener {port} 127.0.0.1\n{extra}allow_anonymous true\npersistence false\nlog_dest stderr\n"
                    ),
                )
                .unwrap();
                let c = Command::new(&*bin)
                    .arg("-c")
                    .arg(&conf)
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .unwrap_or_else(|e| panic!("SUNPLUG_TEST_MOSQUITTO={bin} does not start: {e}"));
                *child = Some(c);
                let start = Instant::now();
                while TcpStream::connect(("127.0.0.1", port)).is_err() {
                    if let Some(status) = child.as_mut().unwrap().try_wait().unwrap() {
                        let text = std::fs::read_to_string(&log).unwrap_or_default();
                        panic!("mosquitto ({bin}) exited with {status}:\n{text}");
                    }
                    assert!(
                        start.elapsed() < DEADLINE,
                        "mosquitto did not listen on port {port}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Stop the broker: every connection is closed and the port stops listening.
    pub fn stop(&mut self) {
        match &mut self.inner {
            Inner::Rumqttd { servers, .. } => servers.drain(..).for_each(drop),
            Inner::Mosquitto { child, .. } => {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                start.elapsed() < DEADLINE,
                "broker still listening after stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// mosquitto with a TLS listener (certificate for localhost and 127.0.0.1 from
    /// `tests/fixtures/tls`).
    pub fn start_mosquitto_tls(bin: &str) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
        // mosquitto started as root drops to its own user: keep everything it reads world-readable.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut extra = String::new();
        for (key, file) in [
            ("cafile", "ca.pem"),
            ("certfile", "server.pem"),
            ("keyfile", "server.key"),
        ] {
            let to = dir.path().join(file);
            std::fs::copy(fixtures.join(file), &to).unwrap();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).unwrap();
            extra.push_str(&format!("{key} {}\n", to.display()));
        }
        let port = free_port();
        let mut b = TestBroker {
            kind: Kind::Mosquitto(bin.to_string()),
            port,
            port_v5: port,
            users: None,
            inner: Inner::Mosquitto {
                bin: bin.to_string(),
                dir,
                extra,
                child: None,
            },
        };
        b.up();
        b
    }

    /// Start again on the same ports.
    pub fn restart(&mut self) {
        self.up();
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Inner::Mosquitto { child: Some(c), .. } = &mut self.inner {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The router runs for the life of the test process (rumqttd has no way to stop it); each call of the
/// returned function runs one listener on its own runtime until stopped.
fn rumqttd_router(users: Option<HashMap<String, String>>) -> SpawnServer {
    use rumqttd::protocol::{v4::V4, v5::V5};
    use rumqttd::{ConnectionSettings, LinkType, Router, RouterConfig, Server, ServerSettings};
    let router = Router::new(
        0,
        RouterConfig {
            max_connections: 200,
            max_outgoing_packet_count: 200,
            max_segment_size: 10 * 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
    );
    let router_tx = router.spawn();
    Arc::new(move |listen: SocketAddr, v5: bool| {
        let settings = ServerSettings {
            name: format!("test-{}", listen.port()),
            listen,
            tls: None,
            next_connection_delay_ms: 0,
            connections: ConnectionSettings {
                connection_timeout_ms: 5000,
                max_payload_size: 256 * 1024,
                max_inflight_count: 100,
                auth: users.clone(),
                external_auth: None,
                dynamic_filters: true,
            },
        };
        let router_tx = router_tx.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let join = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let serve = async move {
                    let result = if v5 {
                        Server::new(settings, router_tx, V5)
                            .start(LinkType::Remote)
                            .await
                    } else {
                        Server::new(settings, router_tx, V4)
                            .start(LinkType::Remote)
                            .await
                    };
                    if let Err(e) = result {
                        eprintln!("rumqttd server on {listen} failed: {e}");
                    }
                };
                tokio::select! {
                    _ = serve => {}
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime drops the listener and every connection task: sockets close.
            drop(rt);
        });
        ServerThread {
            stop: Some(stop_tx),
            join: Some(join),
        }
    })
}

/// Plays the meter: publishes with QoS 1 and waits for the broker's PUBACK, so a publish is at the
/// broker when `publish` returns.
pub struct Publisher {
    client: AsyncClient,
    acks: mpsc::UnboundedReceiver<()>,
    pub received: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
}

impl Publisher {
    pub async fn connect(port: u16, id: &str) -> Publisher {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(30));
        let (client, mut lp): (AsyncClient, EventLoop) = AsyncClient::new(o, 64);
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (msg_tx, received) = mpsc::unbounded_channel();
        let (up_tx, mut up_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
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

pub mod harness;
