//! The seam between [`link`](super::link) and rumqttc: one enum per side (client, event loop) with a
//! 3.1.1 and a 5 variant, so the link's logic is written once.
//!
//! Owns: building rumqttc's options from [`MqttOptions`] (the only place the password is exposed),
//! mapping polled events onto [`Polled`], and turning connection errors into sentences a person can
//! act on ([`describe_v4`], [`describe_v5`]).

use super::QoS;
use super::options::{HARD_PACKET_LIMIT, MqttOptions, Protocol};
use rumqttc::v5 as r5;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// What one poll of the event loop yielded, as far as the link cares.
#[derive(Debug)]
pub(crate) enum Polled {
    Connected,
    Message {
        topic: String,
        payload: Vec<u8>,
        retained: bool,
    },
    /// Our DISCONNECT went out (clean shutdown).
    DisconnectSent,
    Other,
}

/// The sending side, cloned into every handle. Never blocks: the `try_` calls fail when the request
/// queue is full.
#[derive(Clone)]
pub(crate) enum Client {
    V4(rumqttc::AsyncClient),
    V5(r5::AsyncClient),
}

/// The receiving side, owned by the link task.
pub(crate) enum Loop {
    V4(Box<rumqttc::EventLoop>),
    V5(Box<r5::EventLoop>),
}

fn qos4(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(q: QoS) -> r5::mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => r5::mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => r5::mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => r5::mqttbytes::QoS::ExactlyOnce,
    }
}

/// Requests the link can hold before `try_` calls report "busy".
const REQUEST_QUEUE: usize = 256;

/// Build the client and event loop. Fails only on a TLS setup problem (unreadable `ca_file`...).
pub(crate) fn build(o: &MqttOptions) -> Result<(Client, Loop), String> {
    let transport = match &o.tls {
        None => rumqttc::Transport::Tcp,
        Some(tls) => {
            crate::vendor::install_crypto_provider();
            let cfg = tls.client_config()?;
            rumqttc::Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(Arc::new(cfg)))
        }
    };
    let timeout_s = o.connect_timeout.as_secs().max(1);
    match o.protocol {
        Protocol::V311 => {
            let mut m = rumqttc::MqttOptions::new(o.client_id.clone(), o.host.clone(), o.port);
            m.set_keep_alive(o.keep_alive.max(std::time::Duration::from_secs(1)))
                .set_clean_session(true)
                .set_max_packet_size(HARD_PACKET_LIMIT, HARD_PACKET_LIMIT)
                .set_transport(transport);
            if let Some((user, pass)) = &o.credentials {
                m.set_credentials(user.clone(), pass.expose_secret().to_string());
            }
            if let Some(w) = &o.last_will {
                m.set_last_will(rumqttc::LastWill::new(
                    &w.topic,
                    w.payload.clone(),
                    qos4(w.qos),
                    w.retain,
                ));
            }
            let (client, mut eventloop) = rumqttc::AsyncClient::new(m, REQUEST_QUEUE);
            eventloop.network_options.set_connection_timeout(timeout_s);
            Ok((Client::V4(client), Loop::V4(Box::new(eventloop))))
        }
        Protocol::V5 => {
            let mut m = r5::MqttOptions::new(o.client_id.clone(), o.host.clone(), o.port);
            m.set_keep_alive(o.keep_alive.max(std::time::Duration::from_secs(5)))
                .set_clean_start(true)
                .set_max_packet_size(Some(HARD_PACKET_LIMIT as u32))
                .set_connection_timeout(timeout_s)
                .set_transport(transport);
            if let Some((user, pass)) = &o.credentials {
                m.set_credentials(user.clone(), pass.expose_secret().to_string());
            }
            if let Some(w) = &o.last_will {
                m.set_last_will(r5::mqttbytes::v5::LastWill::new(
                    &w.topic,
                    w.payload.clone(),
                    qos5(w.qos),
                    w.retain,
                    None,
                ));
            }
            let (client, eventloop) = r5::AsyncClient::new(m, REQUEST_QUEUE);
            Ok((Client::V5(client), Loop::V5(Box::new(eventloop))))
        }
    }
}

/// Why a `try_` request was not queued.
#[derive(Debug)]
pub(crate) struct Busy;

impl Client {
    pub fn try_publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
        qos: QoS,
    ) -> Result<(), Busy> {
        match self {
            Client::V4(c) => c
                .try_publish(topic, qos4(qos), retain, payload)
                .map_err(|_| Busy),
            Client::V5(c) => c
                .try_publish(topic, qos5(qos), retain, payload)
                .map_err(|_| Busy),
        }
    }

    pub fn try_subscribe(&self, filter: &str, qos: QoS) -> Result<(), Busy> {
        match self {
            Client::V4(c) => c.try_subscribe(filter, qos4(qos)).map_err(|_| Busy),
            Client::V5(c) => c.try_subscribe(filter, qos5(qos)).map_err(|_| Busy),
        }
    }

    pub fn try_unsubscribe(&self, filter: &str) -> Result<(), Busy> {
        match self {
            Client::V4(c) => c.try_unsubscribe(filter).map_err(|_| Busy),
            Client::V5(c) => c.try_unsubscribe(filter).map_err(|_| Busy),
        }
    }

    /// Queue a DISCONNECT behind the requests already queued (a last "offline" goes out first).
    pub fn try_disconnect(&self) -> Result<(), Busy> {
        match self {
            Client::V4(c) => c.try_disconnect().map_err(|_| Busy),
            Client::V5(c) => c.try_disconnect().map_err(|_| Busy),
        }
    }
}

impl Loop {
    /// One step of the event loop; `Err` is a sentence describing why the connection is gone.
    /// `session_up`: whether the broker had accepted us (CONNACK) before this error — a socket
    /// closed then is the broker going away, not a refusal of our credentials.
    pub async fn poll(&mut self, session_up: bool) -> Result<Polled, String> {
        match self {
            Loop::V4(l) => {
                use rumqttc::{Event, Outgoing, Packet};
                match l.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Ok(Polled::Connected),
                    Ok(Event::Incoming(Packet::Publish(p))) => Ok(Polled::Message {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    }),
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => Ok(Polled::DisconnectSent),
                    Ok(_) => Ok(Polled::Other),
                    Err(e) => Err(describe_v4(&e, session_up)),
                }
            }
            Loop::V5(l) => {
                use r5::Event;
                use r5::mqttbytes::v5::Packet;
                match l.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => Ok(Polled::Connected),
                    Ok(Event::Incoming(Packet::Publish(p))) => Ok(Polled::Message {
                        topic: String::from_utf8_lossy(&p.topic).into_owned(),
                        payload: p.payload.to_vec(),
                        retained: p.retain,
                    }),
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                        Ok(Polled::DisconnectSent)
                    }
                    Ok(_) => Ok(Polled::Other),
                    Err(e) => Err(describe_v5(&e, session_up)),
                }
            }
        }
    }

    /// Queue a SUBSCRIBE ahead of anything the handles sent (used right after CONNACK, so the
    /// broker's fresh session gets every remembered subscription back).
    pub fn queue_subscribe(&mut self, filters: &[(String, QoS)]) {
        if filters.is_empty() {
            return;
        }
        match self {
            Loop::V4(l) => {
                let many = filters
                    .iter()
                    .map(|(f, q)| rumqttc::SubscribeFilter::new(f.clone(), qos4(*q)));
                l.pending
                    .push_back(rumqttc::Request::Subscribe(rumqttc::Subscribe::new_many(
                        many,
                    )));
            }
            Loop::V5(l) => {
                let many = filters
                    .iter()
                    .map(|(f, q)| r5::mqttbytes::v5::Filter::new(f.clone(), qos5(*q)));
                l.pending.push_back(r5::Request::Subscribe(
                    r5::mqttbytes::v5::Subscribe::new_many(many, None),
                ));
            }
        }
    }

    /// Queue a DISCONNECT ahead of everything else (when the request queue is full).
    pub fn queue_disconnect(&mut self) {
        match self {
            Loop::V4(l) => l
                .pending
                .push_front(rumqttc::Request::Disconnect(rumqttc::Disconnect)),
            Loop::V5(l) => l.pending.push_front(r5::Request::Disconnect),
        }
    }
}

fn refused_v4(code: rumqttc::ConnectReturnCode) -> String {
    use rumqttc::ConnectReturnCode as C;
    match code {
        C::BadUserNamePassword => "the broker refused the user name or password (check mqtt.username and the password)".into(),
        C::NotAuthorized => "the broker refused us: not authorized (check mqtt.username, the password and the broker's ACL)".into(),
        C::BadClientId => "the broker refused the client id (check mqtt.client_id)".into(),
        C::ServiceUnavailable => "the broker is unavailable (it refused the connection)".into(),
        C::RefusedProtocolVersion => "the broker does not speak MQTT 3.1.1 (try mqtt.protocol = \"5\")".into(),
        C::Success => "connection refused".into(),
    }
}

/// A 3.1.1 connection error as a sentence (no credentials are ever part of rumqttc's errors).
pub(crate) fn describe_v4(e: &rumqttc::ConnectionError, session_up: bool) -> String {
    use rumqttc::ConnectionError as E;
    match e {
        E::ConnectionRefused(code) => refused_v4(*code),
        E::Io(io) => describe_io(io),
        E::MqttState(rumqttc::StateError::ConnectionAborted) if session_up => LOST_BY_BROKER.into(),
        E::MqttState(rumqttc::StateError::Io(io)) => describe_io(io),
        E::NetworkTimeout => {
            "no answer from the broker in time (is host/port right, or is a firewall dropping it?)"
                .into()
        }
        E::Tls(t) => describe_tls(t),
        E::MqttState(rumqttc::StateError::ConnectionAborted) => CLOSED_BY_BROKER.into(),
        E::MqttState(s) => format!("connection lost: {s}"),
        other => format!("connection lost: {other}"),
    }
}

const TLS_HINT: &str =
    "(check mqtt.ca_file, and that mqtt.host is a name or address in the broker's certificate)";

/// Some brokers (rumqttd) close the socket instead of answering CONNECT with a refusal.
const CLOSED_BY_BROKER: &str = "the broker closed the connection (right after connecting, this usually means a wrong \
                                user name or password, or a client id or ACL rule)";

/// The broker closed a session it had accepted: it stopped, crashed or restarted.
const LOST_BY_BROKER: &str = "the broker closed the connection (it stopped, restarted or crashed; our credentials were accepted)";

/// A TLS failure: a certificate the broker's chain or name does not match is said as such.
fn describe_tls(t: &rumqttc::TlsError) -> String {
    let text = t.to_string();
    if is_certificate_error(&text) {
        format!(
            "TLS handshake failed: the broker's TLS certificate was not accepted: {text} {TLS_HINT}"
        )
    } else {
        format!("TLS handshake failed: {text} {TLS_HINT}")
    }
}

fn is_certificate_error(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "certificate",
        "unknownissuer",
        "notvalidforname",
        "expired",
        "badsignature",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// A 5 connection error as a sentence.
pub(crate) fn describe_v5(e: &r5::ConnectionError, session_up: bool) -> String {
    use r5::ConnectionError as E;
    use r5::mqttbytes::v5::ConnectReturnCode as C;
    match e {
        E::ConnectionRefused(C::BadUserNamePassword) => {
            refused_v4(rumqttc::ConnectReturnCode::BadUserNamePassword)
        }
        E::ConnectionRefused(C::NotAuthorized) => {
            refused_v4(rumqttc::ConnectReturnCode::NotAuthorized)
        }
        E::ConnectionRefused(C::UnsupportedProtocolVersion) => {
            "the broker does not speak MQTT 5 (use mqtt.protocol = \"3.1.1\")".into()
        }
        E::ConnectionRefused(code) => format!("the broker refused the connection: {code:?}"),
        E::Io(io) => describe_io(io),
        E::Timeout(_) => {
            "no answer from the broker in time (is host/port right, or is a firewall dropping it?)"
                .into()
        }
        E::Tls(t) => describe_tls(t),
        E::MqttState(r5::StateError::ConnectionAborted) if session_up => LOST_BY_BROKER.into(),
        E::MqttState(r5::StateError::ConnectionAborted) => CLOSED_BY_BROKER.into(),
        E::MqttState(r5::StateError::Io(io)) => describe_io(io),
        E::MqttState(s) => format!("connection lost: {s}"),
        other => format!("connection lost: {other}"),
    }
}

fn describe_io(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => {
            "connection refused (is the broker running on that host and port?)".into()
        }
        K::ConnectionReset | K::ConnectionAborted | K::UnexpectedEof | K::BrokenPipe => {
            format!("the broker closed the connection ({io})")
        }
        _ => format!("network error: {io}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{ConnectReturnCode, ConnectionError as E, StateError};

    #[test]
    fn a_broker_that_goes_away_is_not_called_a_wrong_password() {
        let crash = E::MqttState(StateError::ConnectionAborted);
        let up = describe_v4(&crash, true);
        assert!(!up.contains("password"), "{up}");
        assert!(up.contains("stopped, restarted or crashed"), "{up}");
        let reset = E::MqttState(StateError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        let r = describe_v4(&reset, true);
        assert!(
            !r.contains("password") && r.contains("closed the connection"),
            "{r}"
        );
        // Closed right after CONNECT (no CONNACK yet): then credentials are a likely cause.
        assert!(describe_v4(&crash, false).contains("password"));
        let v5 = describe_v5(
            &r5::ConnectionError::MqttState(r5::StateError::ConnectionAborted),
            true,
        );
        assert!(!v5.contains("password"), "{v5}");
        // A real refusal still says so, and a service refusal does not blame the password.
        assert!(
            describe_v4(
                &E::ConnectionRefused(ConnectReturnCode::BadUserNamePassword),
                false
            )
            .contains("password")
        );
        assert!(
            !describe_v4(
                &E::ConnectionRefused(ConnectReturnCode::ServiceUnavailable),
                false
            )
            .contains("password")
        );
    }

    #[test]
    fn a_certificate_failure_is_named_as_such() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        );
        let d = describe_v4(&E::Tls(rumqttc::TlsError::Io(io)), false);
        assert!(d.contains("TLS certificate was not accepted"), "{d}");
        assert!(d.contains("mqtt.ca_file"), "{d}");
        assert!(
            !d.contains("connect failed") && !d.contains("could not connect"),
            "{d}"
        );
    }
}
