//! The Smappee charger adapter against the emulator: exact request bodies, dedupe against the
//! confirmed state, PAUSED re-asserted after a replug, the state the controller sees, discovery.

use crate::support::smappee::{Actuated, Applied, Harness, limits};
use std::time::Duration;
use sunplug::chargers::smappee::realtime;
use sunplug::chargers::smappee::wire::Mode;
use sunplug::chargers::smappee::{ModeRequest, SmappeeCharger};
use sunplug::config::LimitUnit;
use sunplug::control::Command;
use sunplug::emulators::smappee::EmulatorConfig;
use sunplug::units::{Amps, Phases};
use tokio::time::advance;

fn charge(a: f64) -> Command {
    Command::Charge {
        current: Amps(a),
        phases: Phases::Three,
    }
}

#[tokio::test(start_paused = true)]
async fn ampere_bodies_are_whole_amps() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    assert_eq!(c.apply(h.now(), &charge(16.7)).await, Ok(Applied::Sent));
    assert_eq!(c.apply(h.now(), &charge(40.0)).await, Ok(Applied::Sent));
    assert_eq!(
        h.mode_bodies(),
        [
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":16}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":32}}"#,
        ]
    );
    let put = h.emu.requests().into_iter().find(|r| r.is_mode()).unwrap();
    assert_eq!(
        put.path,
        "/dev/v3/chargingstations/5010000123/connectors/1/mode"
    );
    assert_eq!(put.content_type.as_deref(), Some("application/json"));
    assert!(put.authorization.unwrap().starts_with("Bearer "));
}

#[tokio::test(start_paused = true)]
async fn percentage_bodies_map_amps_onto_the_station_range() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Percentage);
    for a in [6.0, 8.6, 32.0] {
        assert_eq!(c.apply(h.now(), &charge(a)).await, Ok(Applied::Sent));
    }
    assert_eq!(
        h.mode_bodies(),
        [
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":0}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":100}}"#,
        ]
    );
    // The station delivers what the percentage means: 32 A at 100 %.
    h.emu.plug_in(1);
    assert_eq!(h.emu.connector(1).unwrap().delivered(), 32.0);
}

#[tokio::test(start_paused = true)]
async fn never_below_the_floor_nor_above_the_cap() {
    let h = Harness::new().await;
    let serial = h.emu.config().station_serial;
    // A 20 A cable on a 32 A station, in both units.
    for unit in [LimitUnit::Ampere, LimitUnit::Percentage] {
        let mut c = Actuated::new(SmappeeCharger::new(
            h.client(),
            &serial,
            1,
            limits(unit, 20.0),
            None,
        ));
        c.apply(h.now(), &charge(5.0)).await.unwrap();
        c.apply(h.now(), &charge(31.0)).await.unwrap();
    }
    assert_eq!(
        h.mode_bodies(),
        [
            r#"{"mode":"PAUSED"}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":20}}"#,
            r#"{"mode":"PAUSED"}"#,
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":53}}"#,
        ]
    );
    h.emu.plug_in(1);
    assert!(h.emu.connector(1).unwrap().delivered() <= 20.0);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_when_the_wish_equals_the_confirmed_state() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    assert_eq!(
        c.apply(h.now(), &charge(10.0)).await,
        Ok(Applied::Unchanged)
    );
    assert_eq!(
        c.apply(h.now(), &charge(10.4)).await,
        Ok(Applied::Unchanged),
        "same whole amps"
    );
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged)
    );
    assert_eq!(c.apply(h.now(), &charge(10.0)).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies().len(), 3);
    // Reads in between do not make it forget (same session, still not paused as wanted).
    h.emu.plug_in(1);
    c.read_state(h.now()).await.unwrap();
    c.apply(h.now(), &charge(10.0)).await.unwrap();
    c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.apply(h.now(), &charge(10.0)).await,
        Ok(Applied::Unchanged)
    );
}

#[tokio::test(start_paused = true)]
async fn paused_is_sent_again_after_a_replug() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!((s.plugged, s.charging), (Some(true), Some(true)));
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!((s.paused, s.charging), (Some(true), Some(false)));
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged)
    );

    // The driver unplugs and plugs again between two polls: the station resets to NORMAL and the
    // car charges; the next polls see the pause gone, and after the grace minute it is sent again.
    h.emu.replug(1);
    assert_eq!(
        h.emu.connector(1).unwrap().mode,
        Mode::Normal,
        "the station's quirk"
    );
    advance(Duration::from_secs(30)).await;
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!((s.paused, s.charging), (Some(false), Some(true)));
    advance(Duration::from_secs(60)).await;
    c.read_state(h.now()).await.unwrap();
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(h.emu.connector(1).unwrap().mode, Mode::Paused);

    // Unplugged seen, then plugged seen: the same.
    h.emu.unplug(1);
    c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged),
        "nothing to re-assert while unplugged"
    );
    h.emu.plug_in(1);
    c.read_state(h.now()).await.unwrap();
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies(), [r#"{"mode":"PAUSED"}"#; 3]);
}

#[tokio::test(start_paused = true)]
async fn a_pause_lifted_in_the_app_is_reasserted_after_a_grace_minute() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    c.read_state(h.now()).await.unwrap();
    c.apply(h.now(), &Command::Pause).await.unwrap();
    h.emu.set_mode_externally(1, Mode::Normal);
    advance(Duration::from_secs(30)).await;
    c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged),
        "the cloud may lag: wait"
    );
    advance(Duration::from_secs(31)).await;
    c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged),
        "a minute from when the change was first read"
    );
    advance(Duration::from_secs(30)).await;
    c.read_state(h.now()).await.unwrap();
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    // Re-asserted once: a station that keeps reporting otherwise is not hammered.
    h.emu.set_mode_externally(1, Mode::Normal);
    for _ in 0..10 {
        advance(Duration::from_secs(30)).await;
        c.read_state(h.now()).await.unwrap();
        c.apply(h.now(), &Command::Pause).await.unwrap();
    }
    assert_eq!(h.mode_bodies(), [r#"{"mode":"PAUSED"}"#; 2]);
}

#[tokio::test(start_paused = true)]
async fn the_state_tells_plug_charging_pause_and_limit() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Percentage);
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(
        (s.plugged, s.charging, s.paused),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(s.obs().offered, Some(Amps(32.0)), "no limit yet: 100 %");
    assert_eq!(
        (s.min_current, s.max_current),
        (Some(Amps(6.0)), Some(Amps(32.0)))
    );

    h.emu.plug_in(1);
    c.apply(h.now(), &charge(8.6)).await.unwrap();
    let s = c.read_state(h.now()).await.unwrap();
    let obs = s.obs();
    assert_eq!(
        (obs.plugged, obs.charging, obs.paused),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(s.percentage_limit, Some(10));
    assert!((obs.offered.unwrap().0 - 8.6).abs() < 1e-9);
    assert_eq!(s.charging_state.as_deref(), Some("STARTED"));
    assert_eq!(s.session_id(), Some("4001"));

    c.apply(h.now(), &Command::Pause).await.unwrap();
    let obs = c.read_state(h.now()).await.unwrap().obs();
    assert_eq!(
        (obs.paused, obs.charging, obs.offered),
        (Some(true), Some(false), Some(Amps::ZERO))
    );

    // The car is full: plugged, not paused, not charging.
    c.apply(h.now(), &charge(16.0)).await.unwrap();
    h.emu.set_car_max(1, 0.0);
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(
        (s.plugged, s.charging, s.paused),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(s.charging_state.as_deref(), Some("SUSPENDED"));
}

#[tokio::test(start_paused = true)]
async fn ampere_delivery_is_inexact_and_the_realtime_power_shows_it() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    c.read_state(h.now()).await.unwrap();
    h.emu.set_ampere_error(1, -1.4);
    c.apply(h.now(), &charge(10.0)).await.unwrap();
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.act.offered(Some(&s.obs())),
        Some(Amps(10.0)),
        "the limit is what was asked"
    );
    let rt = realtime::parse(h.emu.realtime_payload().as_bytes()).unwrap();
    let power = rt.power_of(&h.emu.config().charger_channels).unwrap();
    assert_eq!(
        power.0,
        (8.6f64 * 230.0).round() * 3.0,
        "what the car really draws"
    );
}

#[tokio::test(start_paused = true)]
async fn discovery_finds_the_station_or_says_how_to() {
    let h = Harness::new().await;
    let mut c = h.charger(LimitUnit::Percentage);
    let st = c.verify().await.unwrap();
    assert_eq!((st.location_id, st.position), (12345, 1));
    assert_eq!(
        st.smart_device_id.as_deref(),
        Some("CARCHARGER-299"),
        "found in /smartdevices by the connector's uuid, not the metering configuration's id"
    );
    assert_eq!(
        st.channels,
        [4, 5, 6],
        "consumptionIndex, not powerTopicIndex"
    );
    assert_eq!(c.resolution(), (Amps(6.0), Amps(0.26)));

    let mut wrong = SmappeeCharger::new(
        h.client(),
        "5100000123",
        1,
        limits(LimitUnit::Ampere, 32.0),
        None,
    );
    let e = wrong.verify().await.unwrap_err().to_string();
    assert!(
        e.contains("5010000123") && e.contains("smappee locations"),
        "{e}"
    );

    let mut left = SmappeeCharger::new(
        h.client(),
        "5010000123",
        2,
        limits(LimitUnit::Ampere, 32.0),
        Some(12345),
    );
    let e = left.verify().await.unwrap_err().to_string();
    assert!(e.contains("no connector at position 2"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_station_range_other_than_the_config_is_refused_in_percentage_mode() {
    let h = Harness::with(EmulatorConfig {
        connectors: vec![(1, 6.0, 16.0)],
        ..EmulatorConfig::default()
    })
    .await;
    let mut pct = h.actuated(LimitUnit::Percentage);
    let e = pct.read_state(h.now()).await.unwrap_err();
    assert_eq!(e.kind(), "unsupported");
    assert!(e.to_string().contains("max_current_a = 16"), "{e}");
    // No limit goes out against that station; a pause still does.
    let e = pct.apply(h.now(), &charge(10.0)).await.unwrap_err();
    assert_eq!(e.kind(), "unsupported");
    assert_eq!(pct.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies(), [r#"{"mode":"PAUSED"}"#]);
    h.emu.clear_requests();
    // In ampere mode the station's lower maximum caps the commands instead.
    let mut amp = h.actuated(LimitUnit::Ampere);
    amp.read_state(h.now()).await.unwrap();
    assert_eq!(amp.c.limits().max, Amps(16.0));
    amp.apply(h.now(), &charge(25.0)).await.unwrap();
    assert_eq!(
        h.mode_bodies(),
        [r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":16}}"#]
    );
    // And the control loop is told, so it plans with 16 A, not the configured 32 A.
    let obs = sunplug::daemon::ports::ChargerPort::read_state(&mut amp.c, h.now())
        .await
        .unwrap();
    assert_eq!(obs.max, Some(Amps(16.0)));
}

#[tokio::test(start_paused = true)]
async fn smart_and_resume_hand_back_or_keep_the_limit() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    c.apply(h.now(), &charge(12.0)).await.unwrap();
    c.c.send(ModeRequest::PAUSED).await.unwrap();
    c.c.send(ModeRequest::RESUME).await.unwrap();
    let conn = h.emu.connector(1).unwrap();
    assert_eq!(
        (conn.mode, conn.offered()),
        (Mode::Normal, 12.0),
        "resume keeps the last limit"
    );
    c.c.send(ModeRequest::SMART).await.unwrap();
    assert_eq!(h.emu.connector(1).unwrap().mode, Mode::Smart);
    assert_eq!(h.mode_bodies().last().unwrap(), r#"{"mode":"SMART"}"#);
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_a_long_running_session_is_not_mistaken_for_a_replug() {
    let h = Harness::new().await;
    h.emu.plug_in(1);
    advance(Duration::from_secs(3600)).await;
    // A fresh adapter writes before its first read (as after a restart).
    let mut c = h.actuated(LimitUnit::Ampere);
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    c.read_state(h.now()).await.unwrap();
    assert_eq!(
        c.apply(h.now(), &Command::Pause).await,
        Ok(Applied::Unchanged)
    );

    // The same situation, but the car is replugged right after the write.
    let mut c = h.actuated(LimitUnit::Ampere);
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    advance(Duration::from_secs(120)).await;
    h.emu.replug(1);
    c.read_state(h.now()).await.unwrap();
    advance(Duration::from_secs(60)).await;
    c.read_state(h.now()).await.unwrap();
    assert_eq!(c.apply(h.now(), &Command::Pause).await, Ok(Applied::Sent));
    assert_eq!(h.mode_bodies().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn without_sessions_the_plug_state_is_unknown_but_the_rest_is_read() {
    let h = Harness::new().await;
    let mut c = h.actuated(LimitUnit::Ampere);
    h.emu.plug_in(1);
    c.apply(h.now(), &Command::Pause).await.unwrap();
    h.emu.inject(
        sunplug::emulators::smappee::Target::PathContains("/sessions"),
        sunplug::emulators::smappee::Fault::Status(404),
    );
    let s = c.read_state(h.now()).await.unwrap();
    // The sessions list is gone, but SUSPENDED is itself a session state: a car is connected.
    assert_eq!(
        (s.plugged, s.paused, s.session),
        (Some(true), Some(true), None)
    );
    h.emu.unplug(1);
    let s = c.read_state(h.now()).await.unwrap();
    assert_eq!(
        (s.plugged, s.charging),
        (None, Some(false)),
        "INITIALIZE: no current; without sessions the plug state is unknown"
    );
    h.emu.clear_requests();
    c.read_state(h.now()).await.unwrap();
    assert!(
        h.emu
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/sessions")),
        "not asked again"
    );
}

/// The daemon's writer task needs `Send` futures (checked at compile time).
#[allow(dead_code)]
fn the_adapter_futures_are_send(c: &mut SmappeeCharger, now: chrono::DateTime<chrono::Utc>) {
    fn send<T: Send>(_: T) {}
    send(c.execute(sunplug::control::actuate::Request::Pause));
    send(c.read_state(now));
    send(c.verify());
}
