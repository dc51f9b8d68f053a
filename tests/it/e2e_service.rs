//! End to end: the real service (`daemon::service::run_service`, every real adapter) against a real
//! MQTT broker, the Smappee emulator and the Enode emulator, at 20× speed on a scaled clock (the
//! controller's seconds are simulated; the broker and HTTP are real). The test plays the meter: it
//! publishes the grid power the site would show given the sun it sets and what the emulated charger
//! delivers. Waits are for conditions, with a deadline; nothing sleeps to let time pass.

use crate::support::{Kind, Publisher, TestBroker};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::clock::{Clock, ScaledClock};
use sunplug::config::{self, Needs};
use sunplug::daemon::service::{Options, run_service};
use sunplug::daemon::systemd::Notifier;
use sunplug::emulators::enode::{self, EnodeEmulator};
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};
use tokio::task::JoinHandle;

const SPEED: f64 = 20.0;
/// Real seconds any one condition may take.
const WAIT: Duration = Duration::from_secs(40);
const HOUSE_W: f64 = 500.0;

struct World {
    broker: TestBroker,
    smappee: SmappeeEmulator,
    enode: EnodeEmulator,
    dir: tempfile::TempDir,
    clock: Arc<dyn Clock>,
    pv_w: Arc<Mutex<f64>>,
    meter_on: Arc<AtomicBool>,
    _meter: JoinHandle<()>,
}

impl World {
    async fn start() -> World {
        let broker = TestBroker::start(&Kind::Rumqttd);
        let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(
            Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
            SPEED,
        ));
        let smappee = SmappeeEmulator::start(EmulatorConfig::default(), clock.clone())
            .await
            .unwrap();
        smappee.plug_in(1);
        let enode = EnodeEmulator::start_with(clock.clone()).await.unwrap();
        enode.update_vehicle(|v| {
            v.battery_level = Some(40.0);
            v.charge_limit = Some(90.0);
        });
        let pv_w = Arc::new(Mutex::new(0.0));
        let meter_on = Arc::new(AtomicBool::new(true));
        let meter = {
            let (pv_w, meter_on, smappee) = (pv_w.clone(), meter_on.clone(), smappee.clone());
            let mut publisher = Publisher::connect(broker.port, "meter").await;
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(200));
                loop {
                    tick.tick().await;
                    if !meter_on.load(Ordering::SeqCst) {
                        continue;
                    }
                    let car_w = smappee.connector(1).map(|c| c.delivered()).unwrap_or(0.0) * 690.0;
                    let grid = HOUSE_W + car_w - *pv_w.lock().unwrap();
                    publisher
                        .publish("meter/grid", format!("{grid:.0}"), false)
                        .await;
                }
            })
        };
        World {
            broker,
            smappee,
            enode,
            dir: tempfile::tempdir().unwrap(),
            clock,
            pv_w,
            meter_on,
            _meter: meter,
        }
    }

    fn set_pv(&self, w: f64) {
        *self.pv_w.lock().unwrap() = w;
    }

    /// A config for this world: `unit` "ampere" or "percentage", a policy file from `policies/`.
    fn config(&self, unit: &str, policy: &str, on_shutdown: &str) -> config::Config {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let d = self.dir.path();
        std::fs::create_dir_all(d.join("policies")).unwrap();
        std::fs::create_dir_all(d.join("secrets")).unwrap();
        if policy == "quick-pv" {
            // pv-only with short windows, so a test day passes in seconds.
            let quick = "module = \"pv-only\"\n[switch]\nstart_energy_wh = 10\nstop_energy_wh = 20\n\
                         min_on = \"1m\"\nmin_off = \"30s\"\n";
            std::fs::write(d.join("policies/quick-pv.toml"), quick).unwrap();
        } else {
            std::fs::copy(
                repo.join(format!("policies/{policy}.toml")),
                d.join(format!("policies/{policy}.toml")),
            )
            .unwrap();
        }
        let emu = self.smappee.config();
        std::fs::write(d.join("secrets/smappee-password"), &emu.password).unwrap();
        std::fs::write(d.join("secrets/smappee-client-secret"), &emu.client_secret).unwrap();
        std::fs::write(d.join("secrets/enode"), enode::CLIENT_SECRET).unwrap();
        let user = self.enode.vehicle().map(|v| v.user_id).unwrap_or_default();
        let text = format!(
            r#"
[site]
name = "e2e"
timezone = "Europe/Brussels"
phases = 3
main_fuse_a = 40
[control]
interval = "5s"
policy = "policies/{policy}.toml"
state_dir = "state"
min_change_interval = "10s"
ramp_a_per_s = 1.0
on_shutdown = "{on_shutdown}"
[mqtt]
host = "127.0.0.1"
port = {port}
client_id = "sunplug-e2e"
[surplus]
kind = "grid"
topic = "meter/grid"
max_age = "30s"
stale_pause_after = "60s"
[vehicle]
kind = "enode"
capacity_kwh = 60
[enode]
environment = "sandbox"
client_id = "{enode_id}"
client_secret_file = "secrets/enode"
user_id = "{user}"
vehicle_id = "{vehicle}"
api_url = "{api}"
oauth_url = "{oauth}"
max_calls_per_hour = 120
poll_charging = "1m"
poll_plugged = "1m"
[charger]
limit_unit = "{unit}"
max_current_a = 32
[smappee]
client_id = "{smappee_id}"
client_secret_file = "secrets/smappee-client-secret"
username = "{username}"
password_file = "secrets/smappee-password"
serial = "{serial}"
base_url = "{base}"
poll_interval = "10s"
"#,
            port = self.broker.port,
            enode_id = enode::CLIENT_ID,
            vehicle = self.enode.vehicle_id(),
            api = self.enode.api_url(),
            oauth = self.enode.oauth_url(),
            smappee_id = emu.client_id,
            username = emu.username,
            serial = emu.station_serial,
            base = self.smappee.base_url(),
        );
        let path: PathBuf = d.join("sunplug.toml");
        std::fs::write(&path, &text).unwrap();
        config::load(&path, Needs::RUN).unwrap_or_else(|e| panic!("{e}"))
    }

    fn start_service(&self, cfg: config::Config) -> Service {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let opts = Options {
            clock: self.clock.clone(),
            speed: SPEED,
            notifier: Notifier::disabled(),
            dry_run: false,
        };
        let task = tokio::spawn(run_service(cfg, opts, async {
            let _ = stop_rx.await;
        }));
        Service {
            stop: stop_tx,
            task,
        }
    }

    /// The mode requests the charger received, parsed.
    fn modes(&self) -> Vec<Value> {
        self.smappee
            .mode_bodies()
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    }

    fn last_mode(&self) -> Option<Value> {
        self.modes().pop()
    }
}

struct Service {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Stop as SIGTERM would; it must be done well within the systemd stop timeout.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops within 10 s")
            .expect("task")
            .expect("runs without error");
    }
}

/// Wait for `f`, or fail with what the charger was sent last (the modes tell the story).
async fn until(w: &World, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        if tokio::time::Instant::now() >= deadline {
            let modes = w.modes();
            let tail = &modes[modes.len().saturating_sub(12)..];
            panic!("timed out waiting for {what}; the last commands: {tail:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_paused(m: &Value) -> bool {
    m["mode"] == "PAUSED"
}

fn limit(m: &Value) -> Option<(String, f64)> {
    Some((
        m["limit"]["unit"].as_str()?.to_string(),
        m["limit"]["value"].as_f64()?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentage_day_pause_failsafe_replug_target_and_home_assistant() {
    let w = World::start().await;
    let mut ha = Publisher::connect(w.broker.port, "home-assistant").await;
    let svc = w.start_service(w.config("percentage", "quick-pv", "pause"));

    // No sun: paused (the station starts in NORMAL, so PAUSED is sent once).
    until(&w, "a first PAUSED", || {
        w.last_mode().is_some_and(|m| is_paused(&m))
    })
    .await;

    // 8.5 kW of sun, 500 W of house: 8 kW for the car = 11.6 A; on 6–32 A that is 21.5 % → 21 %.
    w.set_pv(8500.0);
    until(&w, "the limit to follow the sun", || {
        w.last_mode().and_then(|m| limit(&m)) == Some(("PERCENTAGE".into(), 21.0))
    })
    .await;
    let starts: Vec<Value> = w
        .modes()
        .into_iter()
        .filter(|m| limit(m).is_some())
        .collect();
    assert_eq!(
        limit(&starts[0]),
        Some(("PERCENTAGE".into(), 0.0)),
        "a start begins at the floor (0 % = 6 A)"
    );
    assert!(
        starts.iter().all(|m| limit(m).unwrap().1 <= 21.0),
        "never above what the sun gives: {starts:?}"
    );

    // Home Assistant: retained discovery with unique ids, and "online".
    ha.subscribe("homeassistant/#").await;
    let mut configs = std::collections::HashMap::new();
    // At least 14 sensors (the vehicle warning and the plan's start and cost included), a select, 2 numbers,
    // a text, 2 buttons and the car's device_tracker (the car on the map), in whatever order the
    // broker sends them; without the policy select or the tracker, `next_received` times out.
    let kind = |configs: &std::collections::HashMap<String, Value>, k: &str| {
        configs
            .keys()
            .any(|t| t.starts_with(&format!("homeassistant/{k}/")))
    };
    while configs.len() < 21 || !kind(&configs, "select") || !kind(&configs, "device_tracker") {
        let (topic, payload) = ha.next_received().await;
        if topic.ends_with("/config") {
            let v: Value = serde_json::from_slice(&payload).expect("discovery payload is JSON");
            assert!(
                v["unique_id"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("sunplug_e2e_")),
                "{v}"
            );
            assert_eq!(v["availability_topic"], "sunplug/status");
            configs.insert(topic, v);
        }
    }
    ha.subscribe("sunplug/status").await;
    loop {
        let (topic, payload) = ha.next_received().await;
        if topic == "sunplug/status" {
            assert_eq!(payload, b"online");
            break;
        }
    }

    // The sun goes: hold the floor through the dip, then pause.
    w.set_pv(1000.0);
    until(&w, "a pause below the floor", || {
        w.last_mode().is_some_and(|m| is_paused(&m))
    })
    .await;

    // Sun again, then the meter goes silent: the floor (0 %) at once, then a pause.
    w.set_pv(8500.0);
    until(&w, "charging again", || {
        w.last_mode().is_some_and(|m| limit(&m).is_some())
    })
    .await;
    until(&w, "the limit above the floor", || {
        w.last_mode()
            .and_then(|m| limit(&m))
            .is_some_and(|(_, v)| v > 10.0)
    })
    .await;
    let before = w.modes().len();
    w.meter_on.store(false, Ordering::SeqCst);
    until(&w, "the floor then a pause with a silent meter", || {
        let after: Vec<Value> = w.modes()[before..].to_vec();
        let floor_at = after
            .iter()
            .position(|m| limit(m).is_some_and(|(_, v)| v == 0.0));
        let pause_at = after.iter().position(is_paused);
        matches!((floor_at, pause_at), (Some(f), Some(p)) if f < p)
    })
    .await;

    // Paused with no sun: a replug resets the station to NORMAL; sunplug sends PAUSED again.
    w.set_pv(0.0);
    w.meter_on.store(true, Ordering::SeqCst);
    let pauses = w.modes().iter().filter(|m| is_paused(m)).count();
    w.smappee.replug(1);
    assert_ne!(w.smappee.connector(1).unwrap().mode_word(), "PAUSED");
    until(&w, "PAUSED re-asserted after the replug", || {
        w.modes().iter().filter(|m| is_paused(m)).count() > pauses
    })
    .await;

    // The car reports its target reached: charging stops even in full sun.
    w.set_pv(9000.0);
    until(&w, "charging in full sun", || {
        w.last_mode().is_some_and(|m| limit(&m).is_some())
    })
    .await;
    w.enode.update_vehicle(|v| v.battery_level = Some(90.0));
    until(&w, "a pause at the car's 90 % limit", || {
        w.last_mode().is_some_and(|m| is_paused(&m))
    })
    .await;

    // A clean stop: the charger is left paused (already), Home Assistant is told "offline" (retained).
    svc.stop().await;
    let mut late = Publisher::connect(w.broker.port, "late-subscriber").await;
    late.subscribe("sunplug/status").await;
    let (_, payload) = late.next_received().await;
    assert_eq!(payload, b"offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ampere_limits_are_whole_amps() {
    let w = World::start().await;
    let svc = w.start_service(w.config("ampere", "pv-only", "keep"));
    w.set_pv(8500.0);
    until(&w, "an 11 A limit", || {
        w.last_mode().and_then(|m| limit(&m)) == Some(("AMPERE".into(), 11.0))
    })
    .await;
    for m in w.modes() {
        if let Some((unit, v)) = limit(&m) {
            assert_eq!(unit, "AMPERE");
            assert!(v.fract() == 0.0 && (6.0..=11.0).contains(&v), "{m}");
        }
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_ramps_from_what_the_charger_does_and_never_jumps_to_max() {
    let w = World::start().await;
    let svc = w.start_service(w.config("ampere", "fast", "floor"));
    until(&w, "full power", || {
        w.last_mode().and_then(|m| limit(&m)) == Some(("AMPERE".into(), 32.0))
    })
    .await;
    // Stopping leaves the floor.
    svc.stop().await;
    assert_eq!(
        w.last_mode().and_then(|m| limit(&m)),
        Some(("AMPERE".into(), 6.0))
    );
    let before = w.modes().len();
    let svc = w.start_service(w.config("ampere", "fast", "floor"));
    until(&w, "a limit above the floor", || {
        w.modes()[before..]
            .iter()
            .any(|m| limit(m).is_some_and(|(_, v)| v > 6.0))
    })
    .await;
    // From the 6 A the charger reports, 1 A/s and one change per 10 s: never a jump to 32 A.
    let mut prev = 6.0;
    for m in &w.modes()[before..] {
        let (_, v) = limit(m).expect("a limit");
        assert!(v <= prev + 10.0, "restart jumped from {prev} A to {v} A");
        prev = v;
    }
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_cleanly_on_sigterm_leaving_the_charger_safe() {
    let w = World::start().await;
    w.config("percentage", "quick-pv", "pause");
    w.set_pv(8500.0);
    let mut ha = Publisher::connect(w.broker.port, "ha-sigterm").await;
    ha.subscribe("sunplug/status").await;
    let config = w.dir.path().join("sunplug.toml");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    loop {
        let (topic, payload) = ha.next_received().await;
        if topic == "sunplug/status" && payload == b"online" {
            break;
        }
    }
    // Let it take control of the charger (real time here: a start needs its energy window).
    until(&w, "a first command", || !w.modes().is_empty()).await;
    let pid = child.id().expect("running").to_string();
    let t0 = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(
        w.last_mode().is_some_and(|m| is_paused(&m)),
        "left paused: {:?}",
        w.last_mode()
    );
    // Earlier "online" messages may still be queued; an "offline" must follow.
    while ha.next_received().await != ("sunplug/status".to_string(), b"offline".to_vec()) {}
}
