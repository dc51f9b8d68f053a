//! End to end with two loadpoints: the real service (`run_service` with `[[loadpoint]]` tables,
//! every real adapter) against a real MQTT broker (rumqttd, and mosquitto when installed) and one
//! emulated Smappee station with two connectors, at 20× speed on a scaled clock. The test plays the
//! grid meter from the sun it sets and what the emulated cars draw, and Home Assistant: it reads
//! the discovery of both loadpoint devices and presses one loadpoint's "charge now".

use crate::support::{Kind, Publisher, TestBroker, kinds};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::clock::{Clock, ScaledClock};
use sunplug::config::{self, Needs};
use sunplug::daemon::service::{Options, run_service};
use sunplug::daemon::systemd::Notifier;
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};

const SPEED: f64 = 20.0;
/// Real seconds any one condition may take.
const WAIT: Duration = Duration::from_secs(40);
const HOUSE_W: f64 = 500.0;

fn config(dir: &Path, port: u16, emu: &SmappeeEmulator) -> config::Config {
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    // pv-only with short windows, so a start takes simulated seconds.
    std::fs::write(
        dir.join("policies/quick-pv.toml"),
        "module = \"pv-only\"\n[switch]\nstart_energy_wh = 10\nstop_energy_wh = 20\nmin_on = \"1m\"\nmin_off = \"30s\"\n",
    )
    .unwrap();
    let e = emu.config();
    std::fs::write(dir.join("pw"), &e.password).unwrap();
    std::fs::write(dir.join("cs"), &e.client_secret).unwrap();
    let text = format!(
        r#"
[site]
name = "e2e"
timezone = "Europe/Brussels"
main_fuse_a = 40
[control]
interval = "5s"
policy = "policies/quick-pv.toml"
state_dir = "state"
min_change_interval = "10s"
ramp_a_per_s = 1.0
on_shutdown = "pause"
[mqtt]
host = "127.0.0.1"
port = {port}
client_id = "sunplug-e2e-site"
[surplus]
kind = "grid"
topic = "meter/grid"
max_age = "30s"
[charger]
limit_unit = "ampere"
max_current_a = 16
[smappee]
client_id = "{client}"
client_secret_file = "cs"
username = "{user}"
password_file = "pw"
serial = "{serial}"
base_url = "{base}"
poll_interval = "10s"

[[loadpoint]]
name = "first"
connector = 1
priority = 2

[[loadpoint]]
name = "second"
connector = 2
"#,
        client = e.client_id,
        user = e.username,
        serial = e.station_serial,
        base = emu.base_url(),
    );
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, &text).unwrap();
    config::load(&path, Needs::RUN).unwrap_or_else(|e| panic!("{e}"))
}

async fn until(emu: &SmappeeEmulator, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "timed out waiting for {what}; writes: {:#?}",
                emu.write_log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn two_connectors_with(kind: Kind) {
    let broker = TestBroker::start(&kind);
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        SPEED,
    ));
    let emu = SmappeeEmulator::start(
        EmulatorConfig {
            connectors: vec![(1, 6.0, 16.0), (2, 6.0, 16.0)],
            ..EmulatorConfig::default()
        },
        clock.clone(),
    )
    .await
    .unwrap();
    emu.plug_in(1);
    emu.plug_in(2);
    let pv_w = Arc::new(Mutex::new(0.0));
    let meter = {
        let (pv_w, emu) = (pv_w.clone(), emu.clone());
        let mut publisher = Publisher::connect(broker.port, "meter").await;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let cars: f64 = emu.phase_currents().iter().sum::<f64>() * 230.0;
                let grid = HOUSE_W + cars - *pv_w.lock().unwrap();
                publisher
                    .publish("meter/grid", format!("{grid:.0}"), false)
                    .await;
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ha = Publisher::connect(broker.port, "home-assistant").await;
    ha.subscribe("homeassistant/#").await;
    let cfg = config(dir.path(), broker.port, &emu);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let opts = Options {
        clock: clock.clone(),
        speed: SPEED,
        notifier: Notifier::disabled(),
        dry_run: false,
    };
    let task = tokio::spawn(run_service(cfg, opts, async {
        let _ = stop_rx.await;
    }));

    // Home Assistant: a device per loadpoint, the site's sensors once.
    let mut configs = std::collections::HashMap::new();
    while !(configs.contains_key("homeassistant/button/sunplug_e2e_second/charge_now/config")
        && configs.contains_key("homeassistant/sensor/sunplug_e2e/surplus/config")
        && configs.contains_key("homeassistant/select/sunplug_e2e_first/policy_select/config"))
    {
        let (topic, payload) = ha.next_received().await;
        if topic.ends_with("/config") {
            let v: Value = serde_json::from_slice(&payload).expect("discovery payload is JSON");
            assert_eq!(v["availability_topic"], "sunplug/status", "{topic}");
            configs.insert(topic, v);
        }
    }
    assert_eq!(
        configs["homeassistant/button/sunplug_e2e_second/charge_now/config"]["command_topic"],
        "sunplug/second/set/charge_now"
    );

    // No sun: sunplug takes both connectors over (the station starts them in NORMAL) and pauses them.
    until(&emu, "both connectors paused by sunplug", || {
        [1, 2].iter().all(|p| {
            emu.write_log().iter().any(|w| w.position == *p)
                && emu.connector(*p).is_some_and(|c| c.delivered() == 0.0)
        })
    })
    .await;
    // Sun for one floor (5 kW − 500 W house): the higher priority charges, the other waits.
    *pv_w.lock().unwrap() = 5000.0;
    until(&emu, "the first car charging", || {
        emu.write_log()
            .iter()
            .any(|w| w.position == 1 && w.offered_a >= 6.0)
            && emu.connector(1).is_some_and(|c| c.delivered() >= 6.0)
    })
    .await;
    assert_eq!(emu.connector(2).unwrap().delivered(), 0.0);

    // "Charge now" for the second car, pressed in Home Assistant.
    ha.publish("sunplug/second/set/charge_now", "PRESS", false)
        .await;
    until(&emu, "the second car charging on request", || {
        emu.connector(2).is_some_and(|c| c.delivered() >= 6.0)
    })
    .await;
    for w in emu.write_log() {
        assert!(w.phase_a.iter().all(|a| *a <= 40.0), "{w:?}");
    }

    // A clean stop: both connectors paused, "offline" retained, one login for both.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops in time")
        .unwrap()
        .unwrap();
    for pos in [1, 2] {
        assert_eq!(emu.connector(pos).unwrap().mode_word(), "PAUSED", "{pos}");
    }
    let mut late = Publisher::connect(broker.port, "late").await;
    late.subscribe("sunplug/status").await;
    let (_, payload) = late.next_received().await;
    assert_eq!(payload, b"offline");
    assert_eq!(emu.token_grants(), ["password"]);
    meter.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connectors_against_the_emulator_and_a_real_broker() {
    for kind in kinds() {
        two_connectors_with(kind).await;
    }
}
