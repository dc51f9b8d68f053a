//! The OCPP central system against a minimal charge point written in the test (`support::ocpp`):
//! boot, status and meter values reach the charger port; the actuator's requests arrive as
//! TxDefaultProfiles with the right limit; Rejected is retried with backoff by the writer; a charge
//! point that reconnects gets its profile again; TLS with Basic auth; and bad input (not JSON, an
//! unknown action, a wrong subprotocol, an unknown id with auth on, a wrong password, a 1 MB
//! frame) is refused once each while the server keeps serving.

use crate::support::ocpp::{central, connect, connect_over, entry, settings, until};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use sunplug::chargers::ocpp::{OcppCharger, OcppEvent};
use sunplug::clock::TokioClock;
use sunplug::control::actuate::{ActuatorSettings, OnManualChange, Request, Resolution};
use sunplug::control::{ChargerObs, Command};
use sunplug::daemon::ports::ChargerPort;
use sunplug::daemon::writer::{ChargerReport, WriterSettings, spawn_writer};
use sunplug::units::{Amps, Phases, Watts};
use sunplug::vendor::VendorError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn boot_status_and_meter_values_reach_the_port_and_profiles_carry_the_limit() {
    let (cs, _stop) = central(settings(vec![entry("CP1", None)])).await;
    let mut port = OcppCharger::new(cs.clone(), "CP1", 1, false);
    let now = crate::support::t0();
    assert!(matches!(
        ChargerPort::read_state(&mut port, now).await,
        Err(VendorError::Transient { .. })
    ));
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("Charging").await;
    cp.meter(2300.0).await;
    let obs: ChargerObs = ChargerPort::read_state(&mut port, now).await.unwrap();
    assert_eq!(obs.plugged, Some(true));
    assert_eq!(obs.charging, Some(true));
    assert_eq!(obs.paused, Some(false));
    assert_eq!(obs.power.map(|p| p.value), Some(Watts(2300.0)));
    // It was asked for its meter values and status at connection.
    let (action, payload) = cp.calls.recv().await.unwrap();
    assert_eq!(action, "ChangeConfiguration");
    assert_eq!(payload["key"], "MeterValueSampleInterval");

    port.execute(Request::Ampere(10)).await.unwrap();
    assert_eq!(cp.next_profile().await, 10.0);
    port.execute(Request::Pause).await.unwrap();
    assert_eq!(cp.next_profile().await, 0.0);
    cp.set_answer(Some("Rejected"));
    let e = port.execute(Request::Ampere(7)).await.unwrap_err();
    assert_eq!(e.kind(), "transient", "{e}");
    assert!(e.to_string().contains("Rejected"), "{e}");
    cp.set_answer(Some("NotSupported"));
    let e = port.execute(Request::Ampere(7)).await.unwrap_err();
    assert!(e.to_string().contains("NotSupported"), "{e}");
    let e = port.execute(Request::Percent(50)).await.unwrap_err();
    assert_eq!(e.kind(), "unsupported");

    // SuspendedEVSE: the charge point holds current back, i.e. paused.
    cp.status("SuspendedEVSE").await;
    assert_eq!(
        ChargerPort::read_state(&mut port, now)
            .await
            .unwrap()
            .paused,
        Some(true)
    );
    // Transactions are accepted and give the session tag.
    let r = cp
        .call(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "ANY", "meterStart": 0, "timestamp": "2026-06-01T12:00:00Z"}),
        )
        .await;
    assert_eq!(r[2]["idTagInfo"]["status"], "Accepted");
    let tx = r[2]["transactionId"].as_i64().unwrap();
    assert_eq!(
        ChargerPort::read_state(&mut port, now)
            .await
            .unwrap()
            .session,
        Some(tx as u64)
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_answer_is_unconfirmed_after_the_timeout() {
    let (cs, _stop) = central(settings(vec![entry("CP1", None)])).await;
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("Charging").await;
    cp.set_answer(None);
    let mut port = OcppCharger::new(cs.clone(), "CP1", 1, false);
    let started = tokio::time::Instant::now();
    let e = port.execute(Request::Ampere(9)).await.unwrap_err();
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test]
async fn a_charge_point_that_reconnects_gets_its_profile_again() {
    let (cs, _stop) = central(settings(vec![entry("CP1", None)])).await;
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("Charging").await;
    let mut port = OcppCharger::new(cs.clone(), "CP1", 1, false);
    port.execute(Request::Ampere(12)).await.unwrap();
    assert_eq!(cp.next_profile().await, 12.0);
    cp.drop_connection();
    until(&cs, |cs| cs.state("CP1").is_some_and(|s| !s.connected)).await;
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    // No boot and no new request: the standing profile arrives by itself.
    assert_eq!(cp.next_profile().await, 12.0);
}

fn writer_settings() -> WriterSettings {
    WriterSettings {
        poll_interval: Duration::from_secs(10),
        safe_state: sunplug::config::SafeState::Keep,
        actuator: ActuatorSettings {
            resolution: Resolution {
                floor: Amps(6.0),
                percent: None,
                max: Some(Amps(16.0)),
            },
            on_manual_change: OnManualChange::Reassert,
            manual_grace: Duration::from_secs(60),
        },
        dry_run: false,
    }
}

#[tokio::test(start_paused = true)]
async fn a_rejected_profile_is_retried_with_backoff_not_hammered() {
    let (cs, _stop) = central(settings(vec![entry("CP1", None)])).await;
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("SuspendedEV").await;
    cp.set_answer(Some("Rejected"));
    let port = OcppCharger::new(cs.clone(), "CP1", 1, false);
    let clock = Arc::new(TokioClock::starting_at(crate::support::t0()));
    let (wish_tx, wish_rx) = watch::channel(None);
    let (report_tx, report_rx) = watch::channel(ChargerReport::default());
    let stop = CancellationToken::new();
    let writer = spawn_writer(
        port,
        clock,
        wish_rx,
        report_tx,
        writer_settings(),
        stop.clone(),
    );
    wish_tx
        .send(Some(Command::Charge {
            current: Amps(11.0),
            phases: Phases::Three,
        }))
        .unwrap();
    let start = tokio::time::Instant::now();
    let mut at = Vec::new();
    for _ in 0..4 {
        assert_eq!(cp.next_profile_within(Duration::from_secs(600)).await, 11.0);
        at.push((tokio::time::Instant::now() - start).as_secs());
    }
    // 5 s, then 10 s, then 20 s between the attempts: a growing wait, never a burst.
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[1] > g[0]), "gaps {gaps:?}");
    assert!(gaps[0] >= 5, "gaps {gaps:?}");
    // The charge point accepts at last: confirmed, and nothing more is sent.
    cp.set_answer(Some("Accepted"));
    assert_eq!(cp.next_profile_within(Duration::from_secs(600)).await, 11.0);
    let mut rx = report_rx.clone();
    tokio::time::timeout(
        Duration::from_secs(5),
        rx.wait_for(|r| r.confirmed == Some(Request::Ampere(11))),
    )
    .await
    .unwrap()
    .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    while let Ok((action, _)) = cp.calls.try_recv() {
        assert_ne!(
            action, "SetChargingProfile",
            "a confirmed profile was sent again"
        );
    }
    stop.cancel();
    writer.await.unwrap();
}

#[tokio::test]
async fn tls_with_basic_auth_is_security_profile_2() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let mut s = settings(vec![entry("CP1", Some("a-long-password-16"))]);
    s.tls = Some(
        sunplug::chargers::ocpp::handshake::tls_config(
            &dir.join("server.pem"),
            &dir.join("server.key"),
        )
        .unwrap(),
    );
    let (cs, _stop) = central(s).await;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for c in rustls::pki_types::CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(cs.local_addr())
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let url = format!("wss://localhost:{}/ocpp/CP1", cs.local_addr().port());
    let mut cp = connect_over(
        tls,
        &url,
        Some("ocpp1.6"),
        Some(("CP1", "a-long-password-16")),
    )
    .await
    .unwrap();
    cp.boot("Available").await;
    assert_eq!(cs.state("CP1").unwrap().boot.unwrap().1, "TestCP");
    // Plain WebSocket to a TLS server: refused, and the server goes on.
    let plain = connect(
        cs.local_addr(),
        "CP1",
        Some("ocpp1.6"),
        Some(("CP1", "a-long-password-16")),
    )
    .await;
    assert!(plain.is_err());
}

/// Collect the events until `n` of the kind `pick` returns `Some` for have arrived.
async fn events_until(
    rx: &mut tokio::sync::broadcast::Receiver<OcppEvent>,
    n: usize,
    pick: impl Fn(&OcppEvent) -> bool,
) -> Vec<OcppEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(crate::support::DEADLINE, async {
        while seen.iter().filter(|e| pick(e)).count() < n {
            seen.push(rx.recv().await.unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("events so far: {seen:#?}"));
    seen
}

#[tokio::test]
async fn bad_input_is_refused_once_each_and_the_server_stays_up() {
    let (cs, _stop) = central(settings(vec![entry("CP1", Some("secret-password-1"))])).await;
    let addr = cs.local_addr();
    let mut events = cs.events();
    let auth = Some(("CP1", "secret-password-1"));

    // Refused at the upgrade: wrong subprotocol, unknown id (auth is on), wrong password.
    let e = connect(addr, "CP1", Some("ocpp2.0.1"), auth)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("400"), "{e}");
    let e = connect(addr, "CP9", Some("ocpp1.6"), None)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("404"), "{e}");
    let e = connect(addr, "CP1", Some("ocpp1.6"), Some(("CP1", "guess")))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("401"), "{e}");
    let refused = events_until(&mut events, 3, |e| matches!(e, OcppEvent::Refused { .. })).await;
    let whys: Vec<String> = refused.iter().map(|e| e.to_string()).collect();
    assert!(whys.iter().any(|w| w.contains("subprotocol")), "{whys:?}");
    assert!(whys.iter().any(|w| w.contains("CP9")), "{whys:?}");
    assert!(whys.iter().all(|w| !w.contains("guess")), "{whys:?}");

    // Inside a session: not JSON, then an unknown action; the session goes on.
    let mut cp = connect(addr, "CP1", Some("ocpp1.6"), auth).await.unwrap();
    cp.send_text("this is not json".into());
    let r = cp.call("FlyToTheMoon", json!({})).await;
    assert_eq!(r[0], 4);
    assert_eq!(r[2], "NotImplemented");
    let r = cp.call("Heartbeat", json!({})).await;
    assert_eq!(r[0], 3, "{r}");
    let bad = events_until(&mut events, 2, |e| matches!(e, OcppEvent::BadInput { .. })).await;
    let bad: Vec<_> = bad
        .iter()
        .filter(|e| matches!(e, OcppEvent::BadInput { .. }))
        .collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].to_string().contains("not JSON"), "{bad:?}");
    assert!(bad[1].to_string().contains("FlyToTheMoon"), "{bad:?}");

    // A 1 MB frame: the connection is closed, once; a new one is welcome.
    cp.send_text(format!(
        "[2,\"big\",\"DataTransfer\",{{\"data\":\"{}\"}}]",
        "x".repeat(1 << 20)
    ));
    cp.wait_closed().await;
    let big = events_until(&mut events, 1, |e| matches!(e, OcppEvent::BadInput { .. })).await;
    assert!(
        big.iter().any(|e| e.to_string().contains("limit")),
        "{big:?}"
    );
    let mut again = connect(addr, "CP1", Some("ocpp1.6"), auth).await.unwrap();
    again.boot("Available").await;
    // Nothing refused or bad more than once.
    let rest: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, OcppEvent::Refused { .. } | OcppEvent::BadInput { .. }))
        .collect();
    assert!(rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn remote_start_only_when_the_user_set_it_and_the_connector_is_idle() {
    let (cs, _stop) = central(settings(vec![entry("CP1", None)])).await;
    let mut cp = connect(cs.local_addr(), "CP1", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("Preparing").await;
    let mut plain = OcppCharger::new(cs.clone(), "CP1", 1, false);
    plain.execute(Request::Ampere(8)).await.unwrap();
    let mut starting = OcppCharger::new(cs.clone(), "CP1", 1, true);
    starting.execute(Request::Ampere(9)).await.unwrap();
    let mut actions = Vec::new();
    while actions.last().map(String::as_str) != Some("RemoteStartTransaction") {
        let (action, payload) = tokio::time::timeout(crate::support::DEADLINE, cp.calls.recv())
            .await
            .expect("no RemoteStartTransaction")
            .unwrap();
        if action == "RemoteStartTransaction" {
            assert_eq!(payload["connectorId"], 1);
            assert_eq!(payload["idTag"], "sunplug");
        }
        actions.push(action);
    }
    let profiles = actions
        .iter()
        .filter(|a| *a == "SetChargingProfile")
        .count();
    assert_eq!(profiles, 2, "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "RemoteStartTransaction")
            .count(),
        1,
        "only the charger with remote_start asked: {actions:?}"
    );
    // With a transaction running, no second start.
    let r = cp
        .call(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "sunplug", "meterStart": 0, "timestamp": "2026-06-01T12:00:00Z"}),
        )
        .await;
    assert_eq!(r[2]["idTagInfo"]["status"], "Accepted");
    starting.execute(Request::Ampere(10)).await.unwrap();
    let r = cp.call("Heartbeat", json!({})).await;
    assert_eq!(r[0], 3);
    while let Ok((action, _)) = cp.calls.try_recv() {
        assert_ne!(action, "RemoteStartTransaction");
    }
}
