//! The brokers: embedded rumqttd (stoppable, restartable on the same port) and mosquitto.

use super::DEADLINE;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use sunplug::mqtt::Protocol;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Rumqttd,
    Mosquitto(String),
}

/// rumqttd always; mosquitto too when it is installed: `SUNPLUG_TEST_MOSQUITTO` names the binary
/// (set but empty: skip it), else `mosquitto` on `PATH` or in `/usr/sbin` is used.
pub fn kinds() -> Vec<Kind> {
    let mut out = vec![Kind::Rumqttd];
    if let Some(bin) = mosquitto() {
        out.push(Kind::Mosquitto(bin));
    }
    out
}

/// The mosquitto binary to test against, if any.
pub fn mosquitto() -> Option<String> {
    if let Some(bin) = std::env::var_os("SUNPLUG_TEST_MOSQUITTO") {
        return (!bin.is_empty()).then(|| bin.to_string_lossy().into_owned());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/sbin")])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
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
                max_payload_size: 4 * 1024 * 1024,
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
