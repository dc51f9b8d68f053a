//! The Smappee station as the vendor really reports it (issue 11), against the corrected emulator:
//! a session state `STARTED` and no realtime topic still lets the daemon's loop regulate on the car's
//! power; the realtime channels are the `consumptionIndex` values, not `powerTopicIndex`; the smart
//! device is found in the `/smartdevices` list by the connector's uuid.

use crate::support::fakes::{GridMeter, NoVehicle};
use crate::support::smappee::Harness;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use sunplug::chargers::smappee::ChargerPowerSource;
use sunplug::chargers::smappee::realtime::{self, RealtimeError};
use sunplug::config::{self, LimitUnit, Needs};
use sunplug::daemon::ports::*;
use sunplug::daemon::run::{Wiring, run};
use sunplug::daemon::systemd::Notifier;
use sunplug::emulators::smappee::EmulatorConfig;
use sunplug::units::Watts;
use tokio::sync::mpsc;

const VOLT: f64 = 230.0;
const HOUSE_W: f64 = 400.0;

#[derive(Default)]
struct NullMqtt(Mutex<Vec<String>>);
impl MqttPort for NullMqtt {
    fn publish(&self, topic: &str, _payload: &str, _retain: bool) {
        self.0.lock().unwrap().push(topic.into());
    }
    fn subscribe(&self, _topic: &str) {}
}

fn config(dir: &Path) -> config::Config {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::copy(
        repo.join("policies/pv-only.toml"),
        dir.join("policies/pv-only.toml"),
    )
    .unwrap();
    let text = "[site]\ntimezone = \"Europe/Brussels\"\n[control]\ninterval = \"5s\"\n\
        policy = \"policies/pv-only.toml\"\nstate_dir = \"state\"\nmin_change_interval = \"5s\"\n\
        ramp_a_per_s = 2.0\non_shutdown = \"pause\"\n[mqtt]\nhost = \"127.0.0.1\"\n\
        [surplus]\ntopic = \"meter\"\n[charger]\nmax_current_a = 32\n\
        [smappee]\nclient_id = \"c\"\nusername = \"u\"\nserial = \"5010000123\"\npoll_interval = \"5s\"\n";
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, text).unwrap();
    let needs = Needs {
        charger: false,
        ..Needs::RUN
    };
    config::load_str(&path, text, needs).unwrap_or_else(|e| panic!("{e}"))
}

/// With `chargingState = STARTED` and no realtime topic, the loop counts the car's power (it sees a
/// charging car) and follows the surplus, instead of reading the car as 0 W and throttling it.
#[tokio::test(start_paused = true)]
async fn started_without_realtime_the_loop_regulates_on_the_cars_power() {
    let h = Harness::new().await;
    h.emu.plug_in(1);
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let wiring = Wiring {
        clock: h.clock.clone(),
        charger: h.charger(LimitUnit::Ampere),
        vehicle: NoVehicle,
        meter: Box::new(GridMeter::default()),
        charger_power: None,
        vehicle_topics: None,
        mqtt: Some((Arc::new(NullMqtt::default()) as Arc<dyn MqttPort>, rx)),
        notifier: Notifier::disabled(),
        dry_run: false,
        speed: 1.0,
        decisions: None,
    };
    let task = tokio::spawn(run(config(dir.path()), wiring, async {
        let _ = stop_rx.await;
    }));
    // 8 kW of sun, 400 W of house: about 7.6 kW (11 A on three phases) for the car.
    let pv_w = 8000.0;
    let mut words = Vec::new();
    for _ in 0..240 {
        let c = h.emu.connector(1).unwrap();
        words.push(c.charging_state());
        let car_w = c.delivered() * VOLT * 3.0;
        let grid = HOUSE_W + car_w - pv_w;
        tx.send(MqttIn::Message {
            topic: "meter".into(),
            payload: format!("{grid}").into_bytes(),
            retained: false,
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let c = h.emu.connector(1).unwrap();
    let bodies = h.mode_bodies();
    assert!(
        words.iter().filter(|w| *w == "STARTED").count() > 100,
        "the station said STARTED while the car charged: {words:?}"
    );
    assert!(
        c.delivered() >= 10.0 && c.delivered() <= 11.0,
        "the car takes the surplus (about 11 A), not throttled to the floor: {} A after {bodies:?}",
        c.delivered()
    );
    let grid = HOUSE_W + c.delivered() * VOLT * 3.0 - pv_w;
    assert!(grid <= 0.0, "solar only: no import ({grid} W)");
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops in time")
        .unwrap()
        .unwrap();
}

/// The realtime source sums the connector's `consumptionIndex` channels, which differ from its
/// `powerTopicIndex` ones in the emulated metering configuration.
#[tokio::test(start_paused = true)]
async fn realtime_sums_the_consumption_index_channels() {
    let h = Harness::with(EmulatorConfig {
        charger_channels: vec![7, 8, 9],
        ..EmulatorConfig::default()
    })
    .await;
    let mut c = h.charger(LimitUnit::Ampere);
    let st = c.verify().await.unwrap();
    assert_eq!(
        st.channels,
        [7, 8, 9],
        "consumptionIndex (powerTopicIndex is 17, 18, 19)"
    );
    h.emu.plug_in(1);
    c.execute(sunplug::control::actuate::Request::Ampere(10))
        .await
        .unwrap();
    let uuid = h.emu.config().location_uuid;
    let mut src = ChargerPowerSource::new(&uuid, &st.channels);
    let now = h.now();
    assert!(src.on_message(
        &realtime::channel_config_topic(&uuid),
        h.emu.channel_config_payload().as_bytes(),
        true,
        now
    ));
    assert_eq!(src.last_error, None, "the channels are in channelConfigV2");
    assert!(src.on_message(
        &realtime::realtime_topic(&uuid),
        h.emu.realtime_payload().as_bytes(),
        false,
        now
    ));
    assert_eq!(
        src.latest(now).map(|r| r.value),
        Some(Watts(10.0 * VOLT * 3.0))
    );

    // The old keying (powerTopicIndex) finds no such channels, and channelConfigV2 says so.
    let mut wrong = ChargerPowerSource::new(&uuid, &[17, 18, 19]);
    wrong.on_message(
        &realtime::channel_config_topic(&uuid),
        h.emu.channel_config_payload().as_bytes(),
        true,
        now,
    );
    assert!(matches!(
        wrong.last_error,
        Some(RealtimeError::UnknownChannels(..))
    ));
    wrong.on_message(
        &realtime::realtime_topic(&uuid),
        h.emu.realtime_payload().as_bytes(),
        false,
        now,
    );
    assert_eq!(wrong.latest(now), None);
}

/// The smart device is looked up in the `/smartdevices` list by the connector's uuid; the state is
/// then read from that device, and a pause reads the way the station shows it.
#[tokio::test(start_paused = true)]
async fn the_smart_device_comes_from_the_list_and_a_pause_reads_as_paused() {
    let h = Harness::new().await;
    let mut c = h.charger(LimitUnit::Percentage);
    h.emu.plug_in(1);
    let s = c.read_state(h.now()).await.unwrap();
    let paths: Vec<String> = h.emu.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/dev/v3/servicelocation/12345/smartdevices"),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p == "/dev/v3/servicelocation/12345/smartdevices/CARCHARGER-299"),
        "{paths:?}"
    );
    assert_eq!(
        (s.state_word.as_ref().map(|w| w.label()), s.charging),
        (Some("started"), Some(true))
    );
    c.execute(sunplug::control::actuate::Request::Pause)
        .await
        .unwrap();
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(s.charging_state.as_deref(), Some("SUSPENDED"));
    let obs = s.obs();
    assert_eq!(
        (obs.paused, obs.charging, obs.offered),
        (Some(true), Some(false), Some(sunplug::units::Amps::ZERO))
    );
}
