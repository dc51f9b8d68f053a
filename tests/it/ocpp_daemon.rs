//! `[charger] kind = "ocpp"` end to end: the config (with a charge point password file) loads and
//! builds the central system's settings; the daemon's loop, fed a grid meter under tokio's paused
//! clock, drives a test charge point over OCPP: the car's surplus becomes a TxDefaultProfile and a
//! clean stop leaves it paused. And check-config names every bad `[ocpp]` value.

use crate::support::fakes::{GridMeter, NoVehicle};
use crate::support::ocpp::connect;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use sunplug::chargers::ocpp::{CentralSystem, setup};
use sunplug::clock::{Clock, TokioClock};
use sunplug::config::{self, Needs};
use sunplug::daemon::ports::MqttIn;
use sunplug::daemon::run::{Wiring, run};
use sunplug::daemon::systemd::Notifier;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn write_config(dir: &Path, ocpp: &str) -> std::path::PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::copy(
        repo.join("policies/pv-only.toml"),
        dir.join("policies/pv-only.toml"),
    )
    .unwrap();
    std::fs::write(dir.join("cp1.secret"), "a-long-password-16\n").unwrap();
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\ninterval = \"5s\"\npolicy = \"policies/pv-only.toml\"\n\
         state_dir = \"state\"\nmin_change_interval = \"5s\"\nramp_a_per_s = 2.0\non_shutdown = \"pause\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\n[surplus]\ntopic = \"meter\"\n[charger]\nkind = \"ocpp\"\nmax_current_a = 16\n\
         {ocpp}"
    );
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = "[ocpp]\nlisten = \"127.0.0.1:0\"\n\
    charge_points = [{ id = \"CP1\", password_file = \"cp1.secret\" }]\n";

#[tokio::test(start_paused = true)]
async fn the_daemon_drives_an_ocpp_charge_point_from_the_surplus() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), GOOD);
    let cfg = config::load(&path, Needs::RUN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.charger_kind, config::ocpp::ChargerKind::Ocpp);
    let settings = setup::server_settings(&cfg, false).unwrap();
    assert!(settings.charge_points[0].password.is_some());
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(crate::support::t0()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cs_stop = CancellationToken::new();
    let cs = CentralSystem::start(listener, settings, clock.clone(), cs_stop.clone()).unwrap();
    let charger = setup::charger(&cfg, cs.clone()).unwrap();

    let mut cp = connect(
        cs.local_addr(),
        "CP1",
        Some("ocpp1.6"),
        Some(("CP1", "a-long-password-16")),
    )
    .await
    .unwrap();
    cp.boot("SuspendedEVSE").await;

    let (tx, rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mqtt = Arc::new(crate::support::ocpp::NullMqtt);
    let wiring = Wiring {
        clock,
        charger,
        vehicle: NoVehicle,
        meter: Box::new(GridMeter::default()),
        charger_power: None,
        vehicle_topics: None,
        mqtt: Some((mqtt as Arc<dyn sunplug::daemon::ports::MqttPort>, rx)),
        notifier: Notifier::disabled(),
        dry_run: false,
        speed: 1.0,
        decisions: None,
    };
    let task = tokio::spawn(run(cfg, wiring, async {
        let _ = stop_rx.await;
    }));
    // 8 kW of export: the daemon starts at the floor, then follows the surplus.
    let mut limits = Vec::new();
    for _ in 0..180 {
        let car_w = limits.last().copied().unwrap_or(0.0) * 690.0;
        tx.send(MqttIn::Message {
            topic: "meter".into(),
            payload: format!("{}", car_w - 8000.0).into_bytes(),
            retained: false,
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        while let Ok((action, p)) = cp.calls.try_recv() {
            if action == "SetChargingProfile" {
                let limit = p["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]
                    [0]["limit"]
                    .as_f64()
                    .unwrap();
                if limit > 0.0 && limits.is_empty() {
                    cp.status("Charging").await;
                }
                limits.push(limit);
            }
        }
    }
    assert_eq!(
        limits.first(),
        Some(&6.0),
        "starts at the floor: {limits:?}"
    );
    assert_eq!(
        limits.last(),
        Some(&11.0),
        "8000 W / 690 = 11.6 → 11 A: {limits:?}"
    );
    assert!(limits.len() <= 6, "no write storm: {limits:?}");
    // A clean stop leaves the charge point paused: a 0 A profile.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(cp.next_profile().await, 0.0);
    cs_stop.cancel();
}

#[test]
fn check_config_names_every_bad_ocpp_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "[ocpp]\nlisten = \"everywhere\"\npath = \"ocpp\"\nauthorize = \"nobody\"\n\
         tls_cert_file = \"cert.pem\"\n\
         charge_points = [{ id = \"A/B\" }, { id = \"CP2\", password_file = \"missing.secret\", connector = 0 }]\n",
    );
    let problems = config::load(&path, Needs::RUN).unwrap_err().to_string();
    for want in [
        "ocpp.listen",
        "\"everywhere\"",
        "ocpp.path",
        "ocpp.authorize",
        "\"nobody\"",
        "ocpp.tls_key_file",
        "\"A/B\"",
        "connector 0",
        "missing.secret",
    ] {
        assert!(problems.contains(want), "{want} not in:\n{problems}");
    }
    // OCPP takes amps only, and [ocpp] is needed.
    let path = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "kind = \"ocpp\"",
        "kind = \"ocpp\"\nlimit_unit = \"percentage\"",
    );
    std::fs::write(&path, text).unwrap();
    let problems = config::load(&path, Needs::RUN).unwrap_err().to_string();
    assert!(problems.contains("missing section [ocpp]"), "{problems}");
    assert!(problems.contains("charger.limit_unit"), "{problems}");
    assert!(!problems.contains("smappee"), "{problems}");
}

#[test]
fn existing_smappee_configs_stay_smappee() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("kind = \"ocpp\"\n", "");
    std::fs::write(&path, text).unwrap();
    let cfg = config::load(
        &path,
        Needs {
            charger: false,
            ..Needs::RUN
        },
    )
    .unwrap();
    assert_eq!(cfg.charger_kind, config::ocpp::ChargerKind::Smappee);
}
