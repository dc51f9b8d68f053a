//! What an [`MqttLink`](super::MqttLink) connects to and how: broker, identity, credentials, TLS,
//! protocol version, last will, periodic publishes and the reconnect backoff.
//!
//! Owns: [`MqttOptions`] (built from `[mqtt]` plus the resolved password by
//! [`MqttOptions::from_section`]), [`TlsOptions`] and the rustls client configuration it becomes
//! ([`TlsOptions::client_config`]), [`LastWill`], [`PeriodicPublish`] and [`Backoff`].
//! The password is a [`SecretString`]: `Debug` prints it redacted and it is exposed only where the
//! CONNECT packet is built (`session.rs`).

use super::QoS;
use crate::config::MqttSection;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// MQTT protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    V311,
    V5,
}

/// Connect with TLS. Trusted roots: the system's (when `system_roots`), plus `ca_file` (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub system_roots: bool,
    pub ca_file: Option<PathBuf>,
}

/// A message the broker publishes for us when we vanish without a DISCONNECT (Home Assistant
/// availability: `offline`, retained).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// A message published right after every (re)connect and then every `every` while connected.
/// Victron Venus stops publishing unless `R/<portal id>/keepalive` arrives at least once a minute;
/// an empty payload asks it to republish every value, which is what we want after connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicPublish {
    pub topic: String,
    /// Sent once after each connect.
    pub on_connect: Vec<u8>,
    /// Sent every `every` afterwards.
    pub payload: Vec<u8>,
    pub every: Duration,
}

pub use crate::config::schema::{DEFAULT_MAX_PACKET, HARD_PACKET_LIMIT};

/// Capped exponential backoff between reconnect attempts: `min`, 2·`min`, 4·`min`… up to `max`,
/// back to `min` after a successful connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let min = min.max(Duration::from_millis(10));
        let max = max.max(min);
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The wait before the next attempt; each call doubles the following one, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    /// After a successful connect.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// Everything needed to connect.
#[derive(Debug, Clone)]
pub struct MqttOptions {
    pub host: String,
    pub port: u16,
    /// Must be unique on the broker: a second client with the same id disconnects the first.
    pub client_id: String,
    pub credentials: Option<(String, SecretString)>,
    pub tls: Option<TlsOptions>,
    pub protocol: Protocol,
    /// MQTT keep-alive (PINGREQ interval). At least 5 s with MQTT 5 (rumqttc refuses less).
    pub keep_alive: Duration,
    /// Limit for the TCP connect plus the CONNACK.
    pub connect_timeout: Duration,
    pub last_will: Option<LastWill>,
    pub periodic: Vec<PeriodicPublish>,
    pub backoff: Backoff,
    /// Largest message payload passed on (`[mqtt] max_packet_size`); a larger one is dropped with one
    /// log line per topic. The connection itself accepts up to [`HARD_PACKET_LIMIT`], so a big
    /// retained message on a subscribed topic never makes it fail and reconnect in a loop.
    pub max_packet_bytes: usize,
}

impl MqttOptions {
    /// Plain TCP, MQTT 3.1.1, no credentials, 30 s keep-alive.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> MqttOptions {
        MqttOptions {
            host: host.into(),
            port,
            client_id: client_id.into(),
            credentials: None,
            tls: None,
            protocol: Protocol::V311,
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            last_will: None,
            periodic: Vec::new(),
            backoff: Backoff::default(),
            max_packet_bytes: DEFAULT_MAX_PACKET,
        }
    }

    /// From `[mqtt]` and the password `config::load` resolved. `config_dir` anchors a relative
    /// `ca_file`. `client_suffix` is appended to the client id (`probe` uses its own id so it does
    /// not kick the running service off the broker).
    pub fn from_section(
        m: &MqttSection,
        password: Option<&SecretString>,
        config_dir: &Path,
        client_suffix: &str,
    ) -> Result<MqttOptions, String> {
        let protocol = match m.protocol.as_str() {
            "3.1.1" => Protocol::V311,
            "5" => Protocol::V5,
            other => {
                return Err(format!(
                    "mqtt.protocol \"{other}\" is not supported: use \"3.1.1\" or \"5\""
                ));
            }
        };
        let mut o = MqttOptions::new(
            m.host.clone(),
            m.port,
            format!("{}{client_suffix}", m.client_id),
        );
        o.protocol = protocol;
        o.keep_alive = m.keep_alive.get();
        o.max_packet_bytes = usize::try_from(m.max_packet_size)
            .unwrap_or(HARD_PACKET_LIMIT)
            .min(HARD_PACKET_LIMIT);
        if let Some(user) = &m.username {
            let pass = password
                .cloned()
                .unwrap_or_else(|| SecretString::from(String::new()));
            o.credentials = Some((user.clone(), pass));
        }
        if m.tls {
            o.tls = Some(TlsOptions {
                system_roots: true,
                ca_file: m.ca_file.as_ref().map(|p| config_dir.join(p)),
            });
        } else if m.ca_file.is_some() {
            return Err(
                "mqtt.ca_file is set but tls = false: set tls = true (and usually port = 8883)"
                    .into(),
            );
        }
        Ok(o)
    }
}

impl TlsOptions {
    /// A rustls client configuration on the ring provider with these roots. Fails when no root can
    /// be loaded, or when `ca_file` is missing or holds no certificate.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = &self.ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read mqtt.ca_file {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    format!(
                        "mqtt.ca_file {} is not a PEM certificate file: {e}",
                        path.display()
                    )
                })?;
            if certs.is_empty() {
                return Err(format!(
                    "mqtt.ca_file {} holds no certificate",
                    path.display()
                ));
            }
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "mqtt.ca_file {}: no usable certificate in it",
                    path.display()
                ));
            }
        }
        if self.system_roots {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
        if roots.is_empty() {
            return Err(
                "no trusted TLS roots: the system has none, and mqtt.ca_file is not set".into(),
            );
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let seq: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(seq, [1, 2, 4, 8, 10, 10]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn from_section_maps_every_key_and_hides_the_password() {
        let m = MqttSection {
            host: "broker.lan".into(),
            port: 8883,
            username: Some("sunplug".into()),
            tls: true,
            ca_file: Some("ca.pem".into()),
            protocol: "5".into(),
            ..MqttSection::default()
        };
        let pw = SecretString::from("hunter2-secret".to_string());
        let o =
            MqttOptions::from_section(&m, Some(&pw), Path::new("/etc/sunplug"), "-probe").unwrap();
        assert_eq!(o.client_id, "sunplug-probe");
        assert_eq!(o.protocol, Protocol::V5);
        assert_eq!(
            o.tls.as_ref().unwrap().ca_file.as_deref(),
            Some(Path::new("/etc/sunplug/ca.pem"))
        );
        let (user, pass) = o.credentials.as_ref().unwrap();
        assert_eq!(user, "sunplug");
        assert_eq!(pass.expose_secret(), "hunter2-secret");
        assert!(
            !format!("{o:?}").contains("hunter2"),
            "Debug must not show the password"
        );
    }

    #[test]
    fn tls_ca_file_errors_are_clear() {
        let missing = TlsOptions {
            system_roots: false,
            ca_file: Some("/nonexistent/ca.pem".into()),
        };
        let e = missing.client_config().unwrap_err();
        assert!(
            e.contains("cannot read mqtt.ca_file /nonexistent/ca.pem"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = TlsOptions {
            system_roots: false,
            ca_file: Some(junk),
        }
        .client_config()
        .unwrap_err();
        assert!(e.contains("holds no certificate"), "{e}");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
        let ok = TlsOptions {
            system_roots: false,
            ca_file: Some(fixture),
        };
        assert!(ok.client_config().is_ok(), "a PEM CA file is enough");
        let none = TlsOptions {
            system_roots: false,
            ca_file: None,
        };
        assert!(
            none.client_config()
                .unwrap_err()
                .contains("no trusted TLS roots")
        );
    }
}
