//! The Enode poller (pacing, budgets, Retry-After) and charge actions against the Enode emulator,
//! under tokio's paused clock.

use crate::support::vehicle::clock;
use crate::support::vehicle::{
    enode_client as client, enode_emulator as emulator, enode_pace as pace,
};
use std::sync::Arc;
use std::time::Duration;
use sunplug::clock::Clock;
use sunplug::emulators::common::Fault;
use sunplug::emulators::enode::{CLIENT_SECRET, EnodeEmulator, PlannedOutcome};
use sunplug::sources::vehicle::VehicleSource;
use sunplug::sources::vehicle::enode::EnodeSource;
use sunplug::sources::vehicle::enode::actions::EnodeCharging;
use sunplug::sources::vehicle::enode::client::ChargeKind;
use sunplug::sources::vehicle::enode::wire::ActionState;
use sunplug::sources::vehicle::poller::{self, VehicleUpdate};
use sunplug::sources::vehicle::schedule::EnodePace;
use tokio_util::sync::CancellationToken;

/// Run the real poller until `until` (paused time), then stop it.
async fn run_poller(
    src: VehicleSource,
    clk: Arc<dyn Clock>,
    until: Duration,
) -> (VehicleSource, VehicleUpdate) {
    let (tx, rx) = tokio::sync::watch::channel(VehicleUpdate::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(poller::run(src, clk, tx, stop.clone()));
    tokio::time::sleep(until).await;
    stop.cancel();
    let src = task.await.unwrap();
    let last = rx.borrow().clone();
    (src, last)
}

#[tokio::test(start_paused = true)]
async fn poller_honours_retry_after_on_429() {
    let emu = emulator().await;
    emu.inject(Fault::RateLimited {
        retry_after: Some(900),
    });
    let src = VehicleSource::Enode(EnodeSource::new(
        client(&emu, CLIENT_SECRET),
        emu.vehicle_id(),
        pace(),
        false,
    ));
    let (_, last) = run_poller(src, clock(), Duration::from_secs(1200)).await;
    let reads = emu.requests_to("/vehicles/");
    assert_eq!(reads[0].status, 429);
    assert_eq!(reads[1].status, 200);
    assert!(
        reads[1].at - reads[0].at >= Duration::from_secs(900),
        "{:?}",
        reads[1].at - reads[0].at
    );
    assert!(last.error.is_none() && last.state.is_some());
}

#[tokio::test(start_paused = true)]
async fn poller_keeps_the_hourly_budget_and_slows_down_when_away_over_a_day() {
    let emu = emulator().await;
    emu.set_rate_limit(20, Duration::from_secs(3600));
    let fast = EnodePace {
        charging: Duration::from_secs(60),
        max_per_hour: 20,
        ..pace()
    };
    let src = VehicleSource::Enode(EnodeSource::new(
        client(&emu, CLIENT_SECRET),
        emu.vehicle_id(),
        fast,
        false,
    ));
    // Charging for 12 hours...
    let clk = clock();
    let (src, _) = run_poller(src, clk.clone(), Duration::from_secs(12 * 3600)).await;
    let charging = emu.requests_to("/vehicles/");
    assert!(
        charging.iter().all(|r| r.status == 200),
        "never rate limited"
    );
    for (i, r) in charging.iter().enumerate() {
        let in_hour = charging[i..]
            .iter()
            .take_while(|x| x.at - r.at < Duration::from_secs(3600))
            .count();
        assert!(in_hour <= 20, "{in_hour} reads within an hour");
    }
    assert!(
        charging.len() >= 20 * 11,
        "the budget is used while charging: {}",
        charging.len()
    );
    // ...then the car drives away: one read per 30 minutes.
    emu.update_vehicle(|v| {
        v.plugged = false;
        v.charging = false;
    });
    let (_, last) = run_poller(src, clk, Duration::from_secs(12 * 3600)).await;
    let away = emu.requests_to("/vehicles/").len() - charging.len();
    assert!((24..=26).contains(&away), "{away} reads in 12 h away");
    assert!(!last.state.unwrap().is_plugged());
}

fn charging(emu: &EnodeEmulator) -> EnodeCharging {
    EnodeCharging::new(client(emu, CLIENT_SECRET), emu.vehicle_id())
}

#[tokio::test(start_paused = true)]
async fn charge_actions_are_followed_until_confirmed_or_failed() {
    let emu = emulator().await;
    emu.set_action_plan(3, PlannedOutcome::Confirmed);
    let out = charging(&emu).set(ChargeKind::Stop, None).await.unwrap();
    assert!(out.confirmed(), "{out:?}");
    assert!(!emu.vehicle().unwrap().charging, "the emulated car stopped");
    let posts = emu
        .requests_to("/vehicles/")
        .into_iter()
        .filter(|r| r.path.ends_with("/charging"))
        .collect::<Vec<_>>();
    assert_eq!(posts[0].body, r#"{"action":"STOP"}"#);
    assert_eq!(emu.requests_to("/vehicles/actions/").len(), 3);

    emu.set_action_plan(2, PlannedOutcome::Failed("NO_RESPONSE".into()));
    let out = charging(&emu).set(ChargeKind::Start, None).await.unwrap();
    assert_eq!(out.state, ActionState::Failed);
    assert_eq!(
        out.failure.as_deref(),
        Some("NO_RESPONSE: The vehicle did not respond")
    );

    emu.set_action_plan(1, PlannedOutcome::Never);
    let t = tokio::time::Instant::now();
    let out = charging(&emu)
        .with_timeout(Duration::from_secs(120))
        .set(ChargeKind::Start, None)
        .await
        .unwrap();
    assert_eq!(out.state, ActionState::Pending);
    assert_eq!(
        t.elapsed(),
        Duration::from_secs(120),
        "followed for exactly the timeout"
    );
}

#[tokio::test(start_paused = true)]
async fn charge_actions_respect_capabilities_and_smart_charging() {
    let emu = emulator().await;
    emu.update_vehicle(|v| v.can_start = false);
    emu.update_vehicle(|v| v.charging = false);
    let e = charging(&emu)
        .set(ChargeKind::Start, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "unsupported");
    assert!(e.to_string().contains("startCharging"), "{e}");
    assert!(
        !emu.requests().iter().any(|r| r.path.ends_with("/charging")),
        "nothing sent to an incapable car"
    );
    emu.update_vehicle(|v| {
        v.can_start = true;
        v.smart_charging = true;
    });
    let e = charging(&emu)
        .set(ChargeKind::Start, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("smart charging"), "{e}");
    emu.update_vehicle(|v| v.smart_charging = false);
    let e = charging(&emu)
        .set(ChargeKind::Stop, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "unsupported", "already stopped: the 400 says so");
}
