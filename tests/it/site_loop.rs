//! The site loop (`daemon::site_run`) with two loadpoints on the two connectors of one emulated
//! Smappee station, the real Smappee adapters (one client, one token) and tokio's paused clock.
//! The test plays the grid meter from the sun it sets and what the emulated cars draw.
//! - surplus for one floor goes to the higher priority, the other car waits;
//! - surplus for two floors starts the second car at least `min_change_interval` after the first;
//! - a fuse-limited site never carries more than the fuse on any phase, in the emulator's write log
//!   (every accepted write, with the per-phase sum of all cars right after it);
//! - Home Assistant gets one device per loadpoint and the site's sensors once; each loadpoint keeps
//!   its own state file.

use crate::support::fakes::NoVehicle;
use crate::support::t0;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::chargers::smappee::{SmappeeCharger, loadpoint_chargers};
use sunplug::clock::{Clock, TokioClock};
use sunplug::config::{self, Needs};
use sunplug::control::{MeterSample, Reading};
use sunplug::daemon::ports::*;
use sunplug::daemon::site_run::{LoadpointWiring, SiteWiring, run_site};
use sunplug::daemon::systemd::Notifier;
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator, WriteRec};
use sunplug::units::Watts;
use sunplug::vendor::VendorError;
use tokio::sync::mpsc;

const V: f64 = 230.0;

/// The real Smappee adapter as a daemon port.
struct Port(SmappeeCharger);
impl ChargerPort for Port {
    async fn execute(
        &mut self,
        request: sunplug::control::actuate::Request,
    ) -> Result<(), VendorError> {
        ChargerPort::execute(&mut self.0, request).await
    }
    async fn read_state(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<sunplug::control::ChargerObs, VendorError> {
        ChargerPort::read_state(&mut self.0, now).await
    }
}

/// A grid meter on topic "meter", payload = grid watts.
#[derive(Default)]
struct GridMeter(Option<Reading<MeterSample>>);
impl TopicSource for GridMeter {
    type Output = MeterOutput;
    fn topics(&self) -> Vec<String> {
        vec!["meter".into()]
    }
    fn on_message(&mut self, topic: &str, payload: &[u8], _r: bool, now: DateTime<Utc>) -> bool {
        if topic != "meter" {
            return false;
        }
        if let Ok(w) = std::str::from_utf8(payload).unwrap_or("").parse::<f64>() {
            self.0 = Some(Reading::new(MeterSample::grid(Watts(w)), now));
        }
        true
    }
    fn latest(&self, _now: DateTime<Utc>) -> Option<MeterOutput> {
        self.0
    }
}

#[derive(Default)]
struct FakeMqtt(Mutex<Vec<(String, String)>>);
impl FakeMqtt {
    fn topics(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }
    fn last(&self, topic: &str) -> Option<String> {
        let p = self.0.lock().unwrap();
        p.iter()
            .rev()
            .find(|(t, _)| t == topic)
            .map(|(_, v)| v.clone())
    }
}
impl MqttPort for FakeMqtt {
    fn publish(&self, topic: &str, payload: &str, _retain: bool) {
        self.0.lock().unwrap().push((topic.into(), payload.into()));
    }
    fn subscribe(&self, _topic: &str) {}
}

struct Site {
    emu: SmappeeEmulator,
    mqtt: Arc<FakeMqtt>,
    tx: mpsc::Sender<MqttIn>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pv_w: f64,
    dir: tempfile::TempDir,
}

/// Two loadpoints on one dual station, 6–16 A each, 3-phase, pv-only; "first" has the higher
/// priority. `fuse`: `[site] main_fuse_a`.
fn config(
    dir: &Path,
    url: &str,
    emu: &EmulatorConfig,
    fuse: Option<f64>,
    second: &str,
) -> config::Config {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::copy(
        repo.join("policies/pv-only.toml"),
        dir.join("policies/pv-only.toml"),
    )
    .unwrap();
    std::fs::write(dir.join("cs"), &emu.client_secret).unwrap();
    std::fs::write(dir.join("pw"), &emu.password).unwrap();
    let fuse = fuse
        .map(|f| format!("main_fuse_a = {f}\n"))
        .unwrap_or_default();
    let text = format!(
        r#"[site]
name = "Home"
timezone = "Europe/Brussels"
{fuse}
[control]
interval = "5s"
policy = "policies/pv-only.toml"
state_dir = "state"
min_change_interval = "10s"
ramp_a_per_s = 2.0
on_shutdown = "pause"

[mqtt]
host = "127.0.0.1"

[surplus]
topic = "meter"

[charger]
max_current_a = 16

[smappee]
client_id = "{client}"
client_secret_file = "cs"
username = "{user}"
password_file = "pw"
serial = "{serial}"
base_url = "{url}"
poll_interval = "5s"

[[loadpoint]]
name = "first"
connector = 1
priority = 2

[[loadpoint]]
name = "second"
connector = 2
priority = 1
{second}"#,
        client = emu.client_id,
        user = emu.username,
        serial = emu.station_serial,
    );
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, &text).unwrap();
    config::load_str(&path, &text, Needs::RUN).unwrap_or_else(|e| panic!("{e}"))
}

impl Site {
    async fn start(fuse: Option<f64>) -> Site {
        Site::start_in(tempfile::tempdir().unwrap(), fuse, "").await
    }

    /// `second`: more keys for the second loadpoint.
    async fn start_in(dir: tempfile::TempDir, fuse: Option<f64>, second: &str) -> Site {
        let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
        let emu_cfg = EmulatorConfig {
            connectors: vec![(1, 6.0, 16.0), (2, 6.0, 16.0)],
            house_w: 0.0,
            ..EmulatorConfig::default()
        };
        let emu = SmappeeEmulator::start(emu_cfg.clone(), clock.clone())
            .await
            .unwrap();
        for pos in [1, 2] {
            emu.plug_in(pos);
            emu.set_car_max(pos, 16.0);
        }
        let cfg = config(dir.path(), &emu.base_url(), &emu_cfg, fuse, second);
        let chargers = loadpoint_chargers(&cfg, clock.clone()).unwrap();
        let loadpoints = chargers
            .into_iter()
            .map(|(_, c)| LoadpointWiring {
                charger: Port(c),
                vehicle: NoVehicle,
                charger_power: None,
                vehicle_topics: None,
            })
            .collect();
        let mqtt = Arc::new(FakeMqtt::default());
        let (tx, rx) = mpsc::channel(64);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let wiring = SiteWiring {
            clock,
            loadpoints,
            meter: Box::new(GridMeter::default()),
            mqtt: Some((mqtt.clone() as Arc<dyn MqttPort>, rx)),
            notifier: Notifier::disabled(),
            dry_run: false,
            speed: 1.0,
            decisions: None,
        };
        let task = tokio::spawn(run_site(cfg, wiring, async {
            let _ = stop_rx.await;
        }));
        Site {
            emu,
            mqtt,
            tx,
            stop: Some(stop_tx),
            task,
            pv_w: 0.0,
            dir,
        }
    }

    /// Advance `secs` seconds, publishing the grid meter every second.
    async fn run_for(&mut self, secs: u64) {
        for _ in 0..secs {
            let cars: f64 = self.emu.phase_currents().iter().sum::<f64>() * V;
            let grid = cars - self.pv_w;
            self.tx
                .send(MqttIn::Message {
                    topic: "meter".into(),
                    payload: format!("{grid:.0}").into_bytes(),
                    retained: false,
                })
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn delivered(&self, pos: u8) -> f64 {
        self.emu.connector(pos).unwrap().delivered()
    }

    /// The first write that made connector `pos` charge.
    fn first_start(&self, pos: u8) -> Option<WriteRec> {
        self.emu
            .write_log()
            .into_iter()
            .find(|w| w.position == pos && w.offered_a >= 6.0)
    }

    async fn send(&self, topic: &str, payload: &str) {
        self.tx
            .send(MqttIn::Message {
                topic: topic.into(),
                payload: payload.as_bytes().to_vec(),
                retained: false,
            })
            .await
            .unwrap();
    }

    async fn stop(mut self) -> (SmappeeEmulator, Arc<FakeMqtt>, tempfile::TempDir) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("stops in time")
            .unwrap()
            .unwrap();
        (self.emu, self.mqtt, self.dir)
    }
}

#[tokio::test(start_paused = true)]
async fn surplus_for_one_floor_goes_to_the_higher_priority() {
    let mut site = Site::start(None).await;
    // 5 kW: one 3-phase floor (6 A × 3 × 230 V = 4.1 kW), not two.
    site.pv_w = 5000.0;
    site.run_for(240).await;
    assert!(
        site.delivered(1) >= 6.0,
        "the higher priority charges: {:?}",
        site.emu.write_log()
    );
    assert_eq!(
        site.delivered(2),
        0.0,
        "the other waits: {:?}",
        site.emu.write_log()
    );
    assert!(
        site.first_start(2).is_none(),
        "the lower priority never started"
    );
    let (emu, mqtt, dir) = site.stop().await;
    // The safe state: both paused.
    for pos in [1, 2] {
        assert_eq!(emu.connector(pos).unwrap().delivered(), 0.0);
    }
    // One Home Assistant device per loadpoint, the site's sensors once.
    let topics = mqtt.topics();
    for want in [
        "homeassistant/sensor/sunplug_home/surplus/config",
        "homeassistant/sensor/sunplug_home_first/charger_power/config",
        "homeassistant/select/sunplug_home_second/policy_select/config",
        "homeassistant/button/sunplug_home_second/charge_now/config",
    ] {
        assert!(topics.iter().any(|t| t == want), "{want} not published");
    }
    assert!(
        !topics
            .iter()
            .any(|t| t == "homeassistant/sensor/sunplug_home_first/surplus/config")
    );
    let first: Value = serde_json::from_str(&mqtt.last("sunplug/first/state").unwrap()).unwrap();
    assert_eq!(first["policy"], "pv-only");
    let site_state: Value = serde_json::from_str(&mqtt.last("sunplug/state").unwrap()).unwrap();
    assert!(site_state.get("load_l1_a").is_some(), "{site_state}");
    assert_eq!(mqtt.last("sunplug/status").as_deref(), Some("offline"));
    // State per loadpoint.
    for name in ["first", "second"] {
        assert!(
            dir.path()
                .join(format!("state/loadpoint-{name}.json"))
                .exists(),
            "no state file for {name}"
        );
    }
    // One login for both connectors.
    assert_eq!(emu.token_grants(), ["password"]);
}

#[tokio::test(start_paused = true)]
async fn surplus_for_two_floors_starts_the_second_car_a_step_later() {
    let mut site = Site::start(None).await;
    // 11 kW: room for both floors (8.3 kW) and then some.
    site.pv_w = 11_000.0;
    site.run_for(300).await;
    assert!(
        site.delivered(1) >= 6.0 && site.delivered(2) >= 6.0,
        "both charge"
    );
    let a = site.first_start(1).expect("the first car started");
    let b = site.first_start(2).expect("the second car started");
    assert!(
        b.at - a.at >= chrono::Duration::seconds(10),
        "the second start ({}) is at least min_change_interval after the first ({})",
        b.at,
        a.at
    );
    // The recording holds each loadpoint's power.
    let (_emu, _mqtt, dir) = site.stop().await;
    let rec = std::fs::read_dir(dir.path().join("state/recordings"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(rec).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(",first_car_w,first_command_a,second_car_w,second_command_a"),
        "{header}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fuse_limited_site_never_exceeds_the_fuse_per_phase() {
    let fuse = 20.0;
    let mut site = Site::start(Some(fuse)).await;
    // Sun for two full cars (2 × 16 A × 3 × 230 V = 22 kW): only the fuse holds them back.
    site.pv_w = 25_000.0;
    site.run_for(240).await;
    // Then the sun drops and comes back: the shares move both ways.
    site.pv_w = 6_000.0;
    site.run_for(120).await;
    site.pv_w = 25_000.0;
    site.run_for(240).await;
    let log = site.emu.write_log();
    assert!(log.len() >= 4, "the loadpoints were driven: {log:?}");
    for w in &log {
        for (line, a) in w.phase_a.iter().enumerate() {
            assert!(
                *a <= fuse + 1e-9,
                "L{} carried {a} A > the {fuse} A fuse after {w:?}\nlog: {log:#?}",
                line + 1
            );
        }
    }
    let now = site.emu.phase_currents();
    assert!(
        now[0] >= 12.0,
        "the fuse is used, not left idle: {now:?} ({log:#?})"
    );
    site.stop().await;
}

#[tokio::test(start_paused = true)]
async fn each_loadpoint_keeps_its_settings_and_the_first_resumes_an_old_state_file() {
    use sunplug::daemon::state::{Persisted, StateStore};
    let dir = tempfile::tempdir().unwrap();
    // The state of the single charger this site was before.
    let store = StateStore::open(&dir.path().join("state")).unwrap();
    let mut old = Persisted::default();
    old.settings.target_soc = sunplug::units::Soc::new(70.0);
    store.save("state.json", &old).unwrap();

    let mut site = Site::start_in(dir, None, "").await;
    site.run_for(10).await;
    let state = |mqtt: &FakeMqtt, name: &str| -> Value {
        serde_json::from_str(&mqtt.last(&format!("sunplug/{name}/state")).unwrap()).unwrap()
    };
    assert_eq!(state(&site.mqtt, "first")["target_soc_setting"], 70.0);
    assert_eq!(
        state(&site.mqtt, "second")["target_soc_setting"],
        Value::Null
    );

    // A Home Assistant command for one loadpoint changes that one only.
    site.send("sunplug/second/set/target_soc", "55").await;
    site.send("sunplug/second/set/target_soc", "555").await; // refused: outside 0..=100
    site.run_for(10).await;
    assert_eq!(state(&site.mqtt, "second")["target_soc_setting"], 55.0);
    assert_eq!(state(&site.mqtt, "first")["target_soc_setting"], 70.0);
    let (_emu, _mqtt, dir) = site.stop().await;
    let store = StateStore::open(&dir.path().join("state")).unwrap();
    let second: Persisted = store.load("loadpoint-second.json").unwrap().unwrap();
    assert_eq!(second.settings.target_soc, sunplug::units::Soc::new(55.0));
    let first: Persisted = store.load("loadpoint-first.json").unwrap().unwrap();
    assert_eq!(first.settings.target_soc, sunplug::units::Soc::new(70.0));
}

#[tokio::test(start_paused = true)]
async fn a_one_phase_car_shares_only_its_own_phase_of_the_fuse() {
    let fuse = 20.0;
    let mut site = Site::start_in(
        tempfile::tempdir().unwrap(),
        Some(fuse),
        "phases = 1\nphase = \"L2\"\n",
    )
    .await;
    site.emu.set_lines(2, &[1]);
    site.pv_w = 25_000.0;
    site.run_for(300).await;
    let log = site.emu.write_log();
    for w in &log {
        assert!(
            w.phase_a.iter().all(|a| *a <= fuse + 1e-9),
            "over the fuse after {w:?}\nlog: {log:#?}"
        );
    }
    let [l1, l2, l3] = site.emu.phase_currents();
    assert!(
        site.delivered(2) >= 6.0,
        "the 1-phase car charges: {log:#?}"
    );
    assert_eq!(l1, l3, "the 1-phase car loads L2 only");
    assert!(l2 > l1, "L2 carries both cars: {l1} {l2}");
    assert!(l2 >= 18.0, "L2's share of the fuse is used: {l2}");
    site.stop().await;
}
