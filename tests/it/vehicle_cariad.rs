//! The Cariad client, source and poller against the Cariad emulator, under tokio's paused clock.

use crate::support::t0;
use crate::support::vehicle::clock;
use chrono::Utc;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use sunplug::clock::Clock;
use sunplug::emulators::cariad::{
    CLIENT_ID, Captured, CariadEmulator, FIRST_REFRESH_TOKEN, Rotation, TOKEN_PATH, VIN,
};
use sunplug::emulators::common::Fault;
use sunplug::sources::vehicle::VehicleSource;
use sunplug::sources::vehicle::cariad::CariadSource;
use sunplug::sources::vehicle::cariad::client::CariadClient;
use sunplug::sources::vehicle::cariad::token_store::TokenStore;
use sunplug::sources::vehicle::poller::{self, VehicleUpdate};
use sunplug::sources::vehicle::schedule::{CariadPace, CariadPacer, DailyBudget};
use sunplug::sources::vehicle::state::{Freshness, PowerDelivery};
use sunplug::units::{Soc, Watts};
use sunplug::vendor::{Timeouts, http_client};
use tokio_util::sync::CancellationToken;

async fn emulator() -> CariadEmulator {
    CariadEmulator::start_with(clock()).await.unwrap()
}

fn token_file(dir: &Path, token: &str) -> std::path::PathBuf {
    let f = dir.join("cariad-refresh-token");
    std::fs::write(&f, format!("{token}\n")).unwrap();
    f
}

fn source(emu: &CariadEmulator, file: &Path, budget: u32) -> CariadSource {
    let store = TokenStore::open(file, file.parent().unwrap()).unwrap();
    let http = http_client(Timeouts::default());
    let client =
        CariadClient::new(http, &emu.base_url(), &emu.token_url(), CLIENT_ID, store).unwrap();
    let pace = CariadPace {
        charging: Duration::from_secs(300),
        idle: Duration::from_secs(1200),
    };
    CariadSource::new(
        client,
        VIN.into(),
        CariadPacer::new(pace, DailyBudget::new(budget, 50, chrono_tz::Tz::UTC)),
    )
}

#[tokio::test(start_paused = true)]
async fn seed_payload_parses_through_the_client_with_an_explicit_job_list() {
    let emu = emulator().await;
    emu.update_car(|c| c.captured = Captured::Seed);
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    let s = src.poll(&*clock()).await.unwrap();
    let at = Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2023, 11, 2, 11, 33, 10).unwrap());
    assert_eq!(s.soc.as_ref().unwrap().value, Soc::new(63.0).unwrap());
    assert_eq!(s.soc.as_ref().unwrap().at, at);
    assert_eq!(s.range_km.as_ref().unwrap().value, 320.0);
    assert!(!s.plugged.as_ref().unwrap().value);
    assert!(!s.charging.as_ref().unwrap().value);
    assert_eq!(
        s.charge_limit.as_ref().unwrap().value,
        Soc::new(100.0).unwrap()
    );
    assert_eq!(s.odometer_km.as_ref().unwrap().value, 12357.0);
    assert_eq!(
        s.freshness(t0(), Duration::from_secs(6 * 3600)),
        Freshness::Stale,
        "captured in 2023"
    );
    let call = &emu.requests_to("selectivestatus")[0];
    assert_eq!(
        call.query.as_deref(),
        Some("jobs=charging%2Cmeasurements%2CfuelStatus%2Creadiness")
    );
    assert_eq!(call.header("accept"), Some("application/json"));
}

#[tokio::test(start_paused = true)]
async fn rotated_refresh_token_is_persisted_and_survives_a_restart() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), FIRST_REFRESH_TOKEN);
    let mut src = source(&emu, &file, 200);
    src.poll(&*clock()).await.unwrap();
    assert_eq!(emu.rotations(), 1);
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        on_disk.trim(),
        emu.refresh_token(),
        "the rotated token is on disk"
    );
    assert_ne!(on_disk.trim(), FIRST_REFRESH_TOKEN);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Access token expiry forces another refresh: rotated again, saved again.
    emu.set_token_ttl(Duration::from_secs(600));
    emu.revoke_access_tokens();
    src.poll(&*clock()).await.unwrap();
    assert_eq!(emu.rotations(), 2);
    drop(src);
    // A restart reads the file: the old token would be refused, the saved one works.
    let mut restarted = source(&emu, &file, 200);
    restarted.poll(&*clock()).await.unwrap();
    assert_eq!(emu.rotations(), 3);
    let stale = dir.path().join("old");
    std::fs::write(&stale, FIRST_REFRESH_TOKEN).unwrap();
    let e = source(&emu, &stale, 200).poll(&*clock()).await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    assert!(
        e.to_string().contains("refresh token was refused")
            && e.to_string().contains("docs/vehicles.md"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_refreshed_before_expiry_and_after_a_401() {
    let emu = emulator().await;
    emu.set_rotation(Rotation::Omit);
    emu.set_token_ttl(Duration::from_secs(900));
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), FIRST_REFRESH_TOKEN);
    let mut src = source(&emu, &file, 200);
    let c = clock();
    for _ in 0..3 {
        src.poll(&*c).await.unwrap();
    }
    assert_eq!(emu.requests_to(TOKEN_PATH).len(), 1);
    tokio::time::advance(Duration::from_secs(841)).await;
    src.poll(&*c).await.unwrap();
    assert_eq!(
        emu.requests_to(TOKEN_PATH).len(),
        2,
        "refreshed a minute before expiry"
    );
    emu.revoke_access_tokens();
    src.poll(&*c).await.unwrap();
    assert_eq!(
        emu.requests_to(TOKEN_PATH).len(),
        3,
        "a 401 refreshes and retries once"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        FIRST_REFRESH_TOKEN,
        "no token in the answer: kept"
    );
}

#[tokio::test(start_paused = true)]
async fn a_207_with_a_failed_job_keeps_the_other_jobs_and_the_last_values() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    let c = clock();
    let first = src.poll(&*c).await.unwrap();
    tokio::time::advance(Duration::from_secs(600)).await;
    emu.fail_jobs(&["measurements"]);
    emu.update_car(|car| {
        car.soc = Some(70.0);
        car.set_charging(Some(7.4));
    });
    let s = src.poll(&*c).await.unwrap();
    assert_eq!(emu.requests_to("selectivestatus")[1].status, 207);
    assert_eq!(
        s.soc.as_ref().unwrap().value,
        Soc::new(70.0).unwrap(),
        "charging job read"
    );
    assert!(s.is_charging() && s.is_plugged());
    assert_eq!(s.charge_power.as_ref().unwrap().value, Watts(7400.0));
    assert_eq!(
        s.power_delivery.as_ref().unwrap().value,
        PowerDelivery::Charging
    );
    assert_eq!(
        s.odometer_km, first.odometer_km,
        "odometer kept from the last answer, with its old time"
    );
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("odometerStatus failed: Bad Gateway (code 4111)")),
        "{:?}",
        s.notes
    );
}

#[tokio::test(start_paused = true)]
async fn sentinels_read_as_unknown() {
    let emu = emulator().await;
    emu.update_car(|c| c.sentinels = true);
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    let s = src.poll(&*clock()).await.unwrap();
    assert_eq!(s.odometer_km, None, "2147483647 is no odometer");
    assert_eq!(
        s.range_km.as_ref().unwrap().value,
        320.0,
        "16383 replaced by the measured range"
    );
    assert_eq!(
        s.soc.as_ref().unwrap().at,
        None,
        "2000-01-01 is no capture time"
    );
    assert!(
        s.observation().soc.is_none(),
        "a SoC of unknown age never reaches the controller"
    );
    assert!(s.notes.iter().any(|n| n.contains("16383")), "{:?}", s.notes);
}

#[tokio::test(start_paused = true)]
async fn failures_are_classified_and_garbage_is_a_protocol_error() {
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    let c = clock();
    emu.inject(Fault::Status(503));
    assert_eq!(src.poll(&*c).await.unwrap_err().kind(), "transient");
    emu.inject(Fault::Garbage);
    assert_eq!(src.poll(&*c).await.unwrap_err().kind(), "protocol");
    emu.inject(Fault::Delay(Duration::from_secs(60)));
    assert!(
        src.poll(&*c)
            .await
            .unwrap_err()
            .to_string()
            .contains("timed out")
    );
    emu.inject_token(Fault::Status(502));
    emu.revoke_access_tokens();
    assert_eq!(
        src.poll(&*c).await.unwrap_err().kind(),
        "transient",
        "token endpoint down: retry later"
    );
    src.poll(&*c).await.unwrap();
}

/// From the tests' start ([`t0`]) to the next UTC midnight, when the daily call budget resets.
fn until_midnight() -> Duration {
    let midnight = (t0().date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    (midnight - t0()).to_std().unwrap()
}

async fn run_day(src: CariadSource, clk: Arc<dyn Clock>) -> VehicleUpdate {
    let (tx, rx) = tokio::sync::watch::channel(VehicleUpdate::default());
    let stop = CancellationToken::new();
    let task = tokio::spawn(poller::run(
        VehicleSource::Cariad(Box::new(src)),
        clk,
        tx,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(24 * 3600 - 60)).await;
    stop.cancel();
    task.await.unwrap();
    rx.borrow().clone()
}

#[tokio::test(start_paused = true)]
async fn the_daily_budget_holds_over_a_simulated_day_and_the_car_is_never_woken() {
    let emu = emulator().await;
    emu.update_car(|c| c.set_charging(Some(11.0)));
    let dir = tempfile::tempdir().unwrap();
    // The test day starts at t0 (10:00 UTC): 14 h until the reset, then the rest of the 24 h run
    // (10 h less a minute) on a fresh budget.
    let src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 100);
    let last = run_day(src, clock()).await;
    let calls = emu.requests_to("selectivestatus");
    let day_one = until_midnight();
    let (today, tomorrow): (Vec<_>, Vec<_>) = calls
        .iter()
        .partition(|r| r.at.duration_since(calls[0].at) < day_one);
    // Charging wants a call every 5 min (168 in 14 h); the budget spreads 100 over them.
    assert!(
        (95..=100).contains(&today.len()),
        "{} calls before midnight",
        today.len()
    );
    // A fresh 100 for the new day, spread over its 24 h: about one per 14.4 min.
    assert!(
        tomorrow
            .windows(2)
            .all(|w| w[1].at - w[0].at >= Duration::from_secs(864))
    );
    let rest = Duration::from_secs(24 * 3600 - 60) - day_one;
    let paced = (rest.as_secs() / 864) as usize; // 41 in 10 h
    assert!(
        (paced - 3..=paced + 1).contains(&tomorrow.len()),
        "{} calls in the {rest:?} of the next day (about {paced})",
        tomorrow.len()
    );
    assert!(
        calls
            .windows(2)
            .all(|w| w[1].at - w[0].at >= Duration::from_secs(300)),
        "at least 5 min apart"
    );
    assert!(calls.iter().all(|r| r.status == 200));
    assert!(emu.requests_to("wakeup").is_empty(), "never woken");
    assert!(last.state.unwrap().is_charging());
}

#[tokio::test(start_paused = true)]
async fn vcf_remaining_calls_lowers_the_pace() {
    let emu = emulator().await;
    emu.update_car(|c| c.set_charging(Some(11.0)));
    emu.set_daily_calls(200, true);
    emu.spend_calls(110); // the app used its share: 90 left, 50 of them kept for it.
    let dir = tempfile::tempdir().unwrap();
    let src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    run_day(src, clock()).await;
    let calls = emu.requests_to("selectivestatus");
    let today: Vec<_> = calls
        .iter()
        .filter(|r| r.at.duration_since(calls[0].at) < until_midnight())
        .collect();
    assert!(
        today.len() <= 41,
        "{} calls: 40 left above the reserve (+1 to learn it)",
        today.len()
    );
    assert!(today.len() >= 30, "{} calls", today.len());
    let spread = today.last().unwrap().at - today[0].at;
    assert!(
        spread > Duration::from_secs(12 * 3600),
        "spread until midnight, not spent at once: {spread:?}"
    );
    assert!(
        calls.iter().all(|r| r.status == 200),
        "never ran the account into a 429"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_retry_after_or_until_midnight() {
    let emu = emulator().await;
    emu.inject(Fault::RateLimited {
        retry_after: Some(1800),
    });
    let dir = tempfile::tempdir().unwrap();
    let src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    run_day(src, clock()).await;
    let calls = emu.requests_to("selectivestatus");
    assert_eq!(calls[0].status, 429);
    assert!(calls[1].at - calls[0].at >= Duration::from_secs(1800));
    // An exhausted account (429 without Retry-After): nothing until midnight.
    let emu = emulator().await;
    emu.set_daily_calls(0, true);
    let dir = tempfile::tempdir().unwrap();
    let src = source(&emu, &token_file(dir.path(), FIRST_REFRESH_TOKEN), 200);
    run_day(src, clock()).await;
    let calls = emu.requests_to("selectivestatus");
    assert_eq!(
        calls.len(),
        2,
        "one refused call, then the next day's (also refused)"
    );
    assert_eq!(calls[1].at - calls[0].at, until_midnight());
}
