//! TLS through the link against mosquitto with a private CA (`tests/fixtures/tls`, certificate for
//! localhost and 127.0.0.1). rumqttd is built without TLS here, so this runs where mosquitto is
//! installed (CI installs it; `SUNPLUG_TEST_MOSQUITTO` overrides); `mqtt::options` unit tests cover
//! the CA loading.

use crate::support::harness::options;
use crate::support::{TestBroker, next_event};
use std::path::Path;
use sunplug::mqtt::{MqttEvent, MqttLink, QoS, TlsOptions};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

#[tokio::test]
async fn tls_with_a_private_ca_and_a_clear_error_for_the_wrong_one() {
    let Some(bin) = crate::support::mosquitto() else {
        eprintln!("tls test not run: mosquitto is not installed (CI installs it)");
        return;
    };
    let broker = TestBroker::start_mosquitto_tls(&bin);
    for host in ["127.0.0.1", "localhost"] {
        let mut o = options(broker.port, "tls-test");
        o.host = host.into();
        o.tls = Some(TlsOptions {
            system_roots: false,
            ca_file: Some(fixture("ca.pem")),
        });
        let (handle, mut events) = MqttLink::start(o).unwrap();
        handle.subscribe("tls/echo", QoS::AtMostOnce).unwrap();
        assert_eq!(
            next_event(&mut events).await,
            MqttEvent::Connected,
            "{host}"
        );
        // Our own publish comes back through the encrypted session.
        loop {
            handle
                .publish("tls/echo", "hello", false, QoS::AtMostOnce)
                .unwrap();
            let got =
                tokio::time::timeout(std::time::Duration::from_millis(300), events.recv()).await;
            if let Ok(Some(MqttEvent::Message { payload, .. })) = got {
                assert_eq!(payload, b"hello");
                break;
            }
        }
        handle.shutdown().await;
    }

    let mut o = options(broker.port, "tls-wrong-ca");
    o.tls = Some(TlsOptions {
        system_roots: false,
        ca_file: Some(fixture("other-ca.pem")),
    });
    let (handle, mut events) = MqttLink::start(o).unwrap();
    match next_event(&mut events).await {
        MqttEvent::Disconnected(reason) => {
            assert!(reason.contains("TLS handshake failed"), "{reason}");
            assert!(
                reason.contains("mqtt.ca_file"),
                "the hint names the key to check: {reason}"
            );
        }
        other => panic!("connected with an untrusted certificate: {other:?}"),
    }
    handle.shutdown().await;
}
