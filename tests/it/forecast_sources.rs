//! The solar forecast clients against their emulators, and the daemon's forecast feed.
//!
//! forecast.solar: planes summed, the documented request (integer declination and azimuth,
//! `time=iso8601`), surplus after the house load, 500/garbage/timeout/429 with Retry-After and with
//! the API's own `retry-at`, a refused plane, a partial day. Open-Meteo: tilted irradiance per plane,
//! GHI transposed with the solar geometry, nulls as a partial day, 400/429/garbage. The feed: the
//! retry budget within 12 calls an hour, `retry-at` honoured, a stale forecast ignored, the MQTT
//! shapes. `sunplug plan` with a forecast from the emulator.

use crate::support::sim::{Dir, root, sunplug};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use sunplug::clock::TokioClock;
use sunplug::config::forecast::{ForecastSection, ForecastSource, Irradiance, Plane};
use sunplug::control::plan::outlook::Outlook;
use sunplug::control::plan::series::slots;
use sunplug::daemon::forecast::ForecastFeed;
use sunplug::emulators::common::Fault;
use sunplug::emulators::forecast_solar::{ForecastSolarEmulator, Stamp, clear_day};
use sunplug::emulators::open_meteo::OpenMeteoEmulator;
use sunplug::sources::forecast::{self, Forecast, solar};
use sunplug::vendor::{Timeouts, VendorError, http_client};
use tokio_util::sync::CancellationToken;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Brussels;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 10:00 local on 1 June 2026.
fn now() -> DateTime<Utc> {
    t("2026-06-01T08:00:00Z")
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
}

/// Today and tomorrow, sunrise 05:30, sunset 21:50 local, 800 W per kWp at the peak.
fn two_days() -> Vec<Stamp> {
    let mut s = clear_day(day(1), (5, 30), (21, 50), 800.0);
    s.extend(clear_day(day(2), (5, 30), (21, 50), 800.0));
    s
}

fn plane(declination: f64, azimuth: f64, kwp: f64) -> Plane {
    Plane {
        declination,
        azimuth,
        kwp,
    }
}

fn section(source: ForecastSource, base: &str, planes: Vec<Plane>) -> ForecastSection {
    ForecastSection {
        source: Some(source),
        latitude: Some(50.85),
        longitude: Some(4.35),
        planes,
        base_url: Some(base.to_string()),
        house_load_w: Some(400.0),
        ..ForecastSection::default()
    }
}

async fn solar_emulator() -> ForecastSolarEmulator {
    let emu = ForecastSolarEmulator::start(TZ, two_days()).await.unwrap();
    emu.set_now(now());
    emu
}

#[tokio::test]
async fn forecast_solar_planes_are_summed_and_become_surplus() {
    let emu = solar_emulator().await;
    let s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.4, 0.0, 5.0), plane(20.0, 90.0, 2.0)],
    );
    let http = http_client(Timeouts::default());
    let pv = forecast::fetch(&s, &http, TZ, now()).await.unwrap();
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/estimate/50.8500/4.3500/35/0/5");
    assert_eq!(reqs[1].path, "/estimate/50.8500/4.3500/20/90/2");
    assert_eq!(reqs[0].query.as_deref(), Some("time=iso8601"));
    // 13:00–14:00 local: the stamps' mean per kWp, times 7 kWp.
    let stamps = clear_day(day(1), (5, 30), (21, 50), 800.0);
    let w = |h: u32| {
        stamps
            .iter()
            .find(|(t, _)| t.time() == chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap())
            .unwrap()
            .1
    };
    let expected = ((w(13) * 5.0).round() + (w(14) * 5.0).round()) / 2.0
        + ((w(13) * 2.0).round() + (w(14) * 2.0).round()) / 2.0;
    let got = pv
        .mean(t("2026-06-01T11:00:00Z"), t("2026-06-01T12:00:00Z"))
        .unwrap();
    assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
    // Today and tomorrow, the night not covered.
    assert_eq!(pv.end(), Some(t("2026-06-02T19:50:00Z")));
    assert_eq!(
        pv.mean(t("2026-06-01T21:00:00Z"), t("2026-06-02T02:00:00Z")),
        None
    );
    let f = Forecast::new(pv, &s, TZ);
    let surplus = f
        .surplus
        .mean(t("2026-06-01T11:00:00Z"), t("2026-06-01T12:00:00Z"))
        .unwrap();
    assert!((surplus - (expected - 400.0)).abs() < 1e-9);
    // Sunrise: less PV than the house takes, no surplus.
    let dawn = f
        .surplus
        .mean(t("2026-06-01T03:30:00Z"), t("2026-06-01T04:00:00Z"))
        .unwrap();
    assert_eq!(dawn, 0.0);
}

#[tokio::test(start_paused = true)]
async fn forecast_solar_errors_are_classified() {
    let emu = solar_emulator().await;
    let s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    let http = http_client(Timeouts::default());
    let get = || forecast::fetch(&s, &http, TZ, now());

    emu.fail_next(Fault::Status(500));
    assert!(matches!(get().await, Err(VendorError::Transient { .. })));
    emu.fail_next(Fault::Garbage);
    assert!(matches!(get().await, Err(VendorError::Protocol { .. })));
    emu.fail_next(Fault::Delay(std::time::Duration::from_secs(60)));
    let e = get().await.unwrap_err();
    assert!(matches!(e, VendorError::Transient { .. }), "{e}");
    emu.fail_next(Fault::RateLimited {
        retry_after: Some(600),
    });
    assert_eq!(
        get().await.unwrap_err().retry_after(),
        Some(std::time::Duration::from_secs(600))
    );
    // A plane the API refuses: 400, its reason in the error.
    let bad = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(95.0, 0.0, 5.0)],
    );
    let e = forecast::fetch(&bad, &http, TZ, now()).await.unwrap_err();
    assert!(
        matches!(e, VendorError::Rejected { status: 400, .. })
            && e.to_string().contains("Invalid declination"),
        "{e}"
    );
    assert!(get().await.is_ok());
}

#[tokio::test]
async fn forecast_solar_retry_at_is_the_wait() {
    let emu = solar_emulator().await;
    emu.set_rate(1, std::time::Duration::from_secs(3600));
    let s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    let http = http_client(Timeouts::default());
    assert!(forecast::fetch(&s, &http, TZ, now()).await.is_ok());
    let e = forecast::fetch(&s, &http, TZ, now()).await.unwrap_err();
    let wait = e.retry_after().expect("a wait").as_secs();
    assert!((3590..=3600).contains(&wait), "{e}");
    let r = emu.requests();
    assert_eq!(r[1].status, 429);
    assert_eq!(r[0].status, 200);
}

#[tokio::test]
async fn forecast_solar_partial_day_leaves_the_rest_uncovered() {
    let emu = solar_emulator().await;
    // The model run stops at noon local today.
    let partial: Vec<Stamp> = clear_day(day(1), (5, 30), (21, 50), 800.0)
        .into_iter()
        .filter(|(t, _)| t.time() <= chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap())
        .collect();
    emu.publish(partial);
    let s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    let http = http_client(Timeouts::default());
    let pv = forecast::fetch(&s, &http, TZ, now()).await.unwrap();
    assert_eq!(pv.end(), Some(t("2026-06-01T10:00:00Z")));
    let f = Forecast::new(pv, &s, TZ);
    let slot = slots(
        now(),
        now() + Duration::hours(8),
        Duration::minutes(15),
        None,
        0.3,
        Some(&f.surplus),
    );
    assert!(
        slot.iter()
            .filter(|s| s.end <= t("2026-06-01T10:00:00Z"))
            .all(|s| s.surplus.0 > 0.0)
    );
    assert!(
        slot.iter()
            .filter(|s| s.start >= t("2026-06-01T10:00:00Z"))
            .all(|s| s.surplus.0 == 0.0)
    );
}

fn quarter_hours(n: usize, f: impl Fn(usize) -> Option<f64>) -> Vec<Option<f64>> {
    (0..n).map(f).collect()
}

#[tokio::test]
async fn open_meteo_tilted_irradiance_per_plane() {
    let emu = OpenMeteoEmulator::start(t("2026-06-01T00:00:00Z"))
        .await
        .unwrap();
    // 600 W/m² on the south plane and 300 on the west one between 10:00Z and 12:00Z.
    let window = |v: f64| move |i: usize| Some(if (40..48).contains(&i) { v } else { 0.0 });
    emu.set_tilted(35.0, 0.0, quarter_hours(192, window(600.0)));
    emu.set_tilted(35.0, 90.0, quarter_hours(192, window(300.0)));
    let mut s = section(
        ForecastSource::OpenMeteo,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0), plane(35.0, 90.0, 2.0)],
    );
    s.efficiency = 0.9;
    let http = http_client(Timeouts::default());
    let pv = forecast::fetch(&s, &http, TZ, now()).await.unwrap();
    let q = emu.requests()[1].query.clone().unwrap();
    assert!(
        q.contains("minutely_15=global_tilted_irradiance")
            && q.contains("tilt=35")
            && q.contains("azimuth=90")
            && q.contains("forecast_days=2")
            && q.contains("timezone=GMT"),
        "{q}"
    );
    // The value stamped 10:15 covers 10:00–10:15: the window is 10:00–12:00Z.
    let inside = pv
        .mean(t("2026-06-01T10:00:00Z"), t("2026-06-01T12:00:00Z"))
        .unwrap();
    assert!(
        (inside - (600.0 * 5.0 + 300.0 * 2.0) * 0.9).abs() < 1e-9,
        "{inside}"
    );
    assert_eq!(
        pv.mean(t("2026-06-01T08:00:00Z"), t("2026-06-01T10:00:00Z")),
        Some(0.0)
    );
    assert_eq!(pv.end(), Some(t("2026-06-03T00:00:00Z")));
}

#[tokio::test]
async fn open_meteo_ghi_is_transposed_with_the_solar_geometry() {
    let emu = OpenMeteoEmulator::start(t("2026-06-21T00:00:00Z"))
        .await
        .unwrap();
    // Hour ending 12:00Z (11:00–12:00): GHI 800, diffuse 150; other hours dark.
    let hour = |v: f64| {
        (0..48)
            .map(|h| Some(if h == 11 { v } else { 0.0 }))
            .collect()
    };
    emu.set_hourly(hour(800.0), hour(150.0));
    let mut s = section(
        ForecastSource::OpenMeteo,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0), plane(90.0, 180.0, 1.0)],
    );
    s.irradiance = Irradiance::Ghi;
    let http = http_client(Timeouts::default());
    let pv = forecast::fetch(&s, &http, TZ, now()).await.unwrap();
    assert_eq!(emu.requests().len(), 1, "one call for every plane");
    let q = emu.requests()[0].query.clone().unwrap();
    assert!(
        q.contains("hourly=shortwave_radiation%2Cdiffuse_radiation"),
        "{q}"
    );
    let sun = solar::position(t("2026-06-21T11:30:00Z"), 50.85, 4.35);
    let expected: f64 = [(35.0, 0.0, 5.0), (90.0, 180.0, 1.0)]
        .iter()
        .map(|(b, a, k)| {
            solar::pv_watts(
                solar::plane_irradiance(&sun, 800.0, 150.0, *b, *a, 0.2),
                *k,
                0.85,
            )
        })
        .sum();
    let got = pv
        .mean(t("2026-06-21T11:00:00Z"), t("2026-06-21T12:00:00Z"))
        .unwrap();
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    // The south plane gets more than the horizontal 800 W/m² in June at 50° N.
    assert!(got > 800.0 * 5.0 * 0.85, "{got}");
}

#[tokio::test]
async fn open_meteo_errors_and_a_partial_day() {
    let emu = OpenMeteoEmulator::start(t("2026-06-01T00:00:00Z"))
        .await
        .unwrap();
    // Values for the first 10 hours only: the rest is null.
    emu.set_tilted(35.0, 0.0, quarter_hours(40, |_| Some(100.0)));
    let s = section(
        ForecastSource::OpenMeteo,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    let http = http_client(Timeouts::default());
    let pv = forecast::fetch(&s, &http, TZ, now()).await.unwrap();
    assert_eq!(pv.end(), Some(t("2026-06-01T10:00:00Z")));

    emu.fail_next(Fault::Garbage);
    let e = forecast::fetch(&s, &http, TZ, now()).await.unwrap_err();
    assert!(matches!(e, VendorError::Protocol { .. }), "{e}");
    emu.fail_next(Fault::Status(502));
    let e = forecast::fetch(&s, &http, TZ, now()).await.unwrap_err();
    assert!(matches!(e, VendorError::Transient { .. }), "{e}");
    let bad = section(
        ForecastSource::OpenMeteo,
        &emu.url(),
        vec![plane(95.0, 0.0, 5.0)],
    );
    let e = forecast::fetch(&bad, &http, TZ, now()).await.unwrap_err();
    assert!(
        matches!(e, VendorError::Rejected { status: 400, .. }) && e.to_string().contains("Tilt"),
        "{e}"
    );
    emu.set_rate(0, std::time::Duration::from_secs(60));
    let e = forecast::fetch(&s, &http, TZ, now()).await.unwrap_err();
    assert!(
        matches!(
            e,
            VendorError::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{e}"
    );
}

fn feed(s: ForecastSection, stop: &CancellationToken) -> ForecastFeed {
    ForecastFeed::start(
        s,
        TZ,
        Arc::new(TokioClock::starting_at(now())),
        stop.clone(),
        1.0,
    )
}

/// Let the feed's task run for `minutes` of tokio time, a minute at a time.
async fn run_for(minutes: u64) {
    for _ in 0..minutes {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_feed_keeps_within_the_free_tier_and_drops_a_stale_forecast() {
    let emu = solar_emulator().await;
    let mut s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    s.refresh = "15m".parse().unwrap();
    s.max_age = "1h".parse().unwrap();
    let stop = CancellationToken::new();
    let mut f = feed(s, &stop);
    let mut outlook = Outlook::new(0.3);
    run_for(1).await;
    assert!(f.poll(&mut outlook));
    assert!(outlook.forecast_at(now() + Duration::minutes(1)).is_some());
    assert!(f.remaining_today_kwh(now()).unwrap() > 10.0);
    // The provider goes down for good.
    for _ in 0..100 {
        emu.fail_next(Fault::Status(503));
    }
    run_for(3 * 60).await;
    assert!(
        !f.poll(&mut outlook),
        "no new forecast while the provider is down"
    );
    let later = now() + Duration::minutes(3 * 60 + 1);
    assert!(
        outlook.forecast_at(later).is_none(),
        "a forecast older than max_age is ignored"
    );
    assert!(f.remaining_today_kwh(later).is_none());
    // Never more than 12 calls in any hour.
    let at: Vec<_> = emu.requests().iter().map(|r| r.at).collect();
    for (i, a) in at.iter().enumerate() {
        let within = at[i..]
            .iter()
            .filter(|b| **b - *a < std::time::Duration::from_secs(3600))
            .count();
        assert!(within <= 12, "{within} calls within an hour");
    }
    assert!(at.len() >= 5, "it keeps trying: {}", at.len());
    stop.cancel();
}

#[tokio::test(start_paused = true)]
async fn the_feed_waits_until_retry_at() {
    let emu = solar_emulator().await;
    emu.set_rate(1, std::time::Duration::from_secs(3600));
    let mut s = section(
        ForecastSource::ForecastSolar,
        &emu.url(),
        vec![plane(35.0, 0.0, 5.0)],
    );
    s.refresh = "15m".parse().unwrap();
    let stop = CancellationToken::new();
    let _f = feed(s, &stop);
    run_for(90).await;
    let r = emu.requests();
    // 0 min: served; 15 min: 429, retry-at 60 min; 60 min: served again; 75 min: 429 again.
    assert_eq!(
        r.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 429, 200, 429],
        "{r:?}"
    );
    let gap = r[2].at - r[1].at;
    assert!(
        gap >= std::time::Duration::from_secs(45 * 60)
            && gap <= std::time::Duration::from_secs(47 * 60),
        "{gap:?}"
    );
    stop.cancel();
}

#[tokio::test]
async fn an_mqtt_forecast_reaches_the_outlook_and_a_bad_one_changes_nothing() {
    let s = ForecastSection {
        source: Some(ForecastSource::Mqtt),
        topic: Some("solcast/forecast".into()),
        house_load_w: Some(500.0),
        ..ForecastSection::default()
    };
    let stop = CancellationToken::new();
    let mut f = feed(s, &stop);
    assert_eq!(f.topics(), ["solcast/forecast"]);
    let mut outlook = Outlook::new(0.3);
    assert!(!f.on_message("meter/power", b"{}", now()));
    let payload = br#"{"detailedForecast": [
        {"period_start": "2026-06-01T12:00:00+02:00", "pv_estimate": 3.5, "pv_estimate10": 2.0, "pv_estimate90": 4.0},
        {"period_start": "2026-06-01T12:30:00+02:00", "pv_estimate": 4.0, "pv_estimate10": 2.5, "pv_estimate90": 4.5}]}"#;
    assert!(f.on_message("solcast/forecast", payload, now()));
    assert!(f.poll(&mut outlook));
    let surplus = outlook.forecast_at(now()).unwrap().clone();
    assert_eq!(
        surplus.mean(t("2026-06-01T10:00:00Z"), t("2026-06-01T10:30:00Z")),
        Some(3000.0)
    );
    assert_eq!(
        surplus.mean(t("2026-06-01T10:30:00Z"), t("2026-06-01T11:00:00Z")),
        Some(3500.0)
    );
    assert!(f.on_message("solcast/forecast", b"not a forecast", now()));
    assert!(!f.poll(&mut outlook));
    assert_eq!(outlook.forecast_at(now()), Some(&surplus));
}

#[tokio::test]
async fn sunplug_plan_shows_the_forecast_column() {
    let emu = solar_emulator().await;
    emu.set_now(t("2026-06-01T04:00:00Z"));
    let dir = Dir::new();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    // Departure at 18:00: the day's sun can do it.
    let policy = std::fs::read_to_string(root().join("policies/planner.toml"))
        .unwrap()
        .replace("departure = \"07:30\"", "departure = \"18:00\"");
    assert!(policy.contains("18:00"));
    dir.write("policies/planner.toml", &policy);
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\npolicy = \"policies/planner.toml\"\n\
         [vehicle]\nkind = \"mqtt\"\ncapacity_kwh = 60\n[vehicle.mqtt]\nsoc = {{ topic = \"car/soc\" }}\n\
         [charger]\nmax_current_a = 16\n[prices]\nimport = 0.30\n\
         [forecast]\nsource = \"forecast_solar\"\nbase_url = \"{}\"\nlatitude = 50.85\nlongitude = 4.35\n\
         house_load_w = 400\n[[forecast.planes]]\ndeclination = 35\nazimuth = 0\nkwp = 8\n",
        emu.url()
    );
    let path = dir.write("sunplug.toml", &text).display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        sunplug(&[
            "plan",
            "--config",
            &path,
            "--soc",
            "60",
            "--at",
            "2026-06-01T04:00:00Z",
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.0, 0, "{}", out.2);
    assert_eq!(emu.requests().len(), 1);
    // 13:00 local: 8 kWp under a clear sky, less the house.
    let row = out
        .1
        .lines()
        .find(|l| l.starts_with("Mon 13:00"))
        .unwrap_or_else(|| panic!("{}", out.1));
    let forecast_kw: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(forecast_kw > 4.0, "{row}");
    let summary = out.1.lines().find(|l| l.starts_with("need ")).unwrap();
    assert!(
        summary.contains("solar") && !summary.contains("solar 0.0 kWh"),
        "{summary}"
    );
    assert!(!out.1.contains("counts on no sun"), "{}", out.1);
}

#[test]
fn check_config_names_forecast_problems_with_their_lines() {
    let dir = Dir::new();
    let path = dir.write(
        "sunplug.toml",
        "[site]\ntimezone = \"Europe/Brussels\"\n\n[forecast]\nsource = \"forecast_solar\"\n\
         latitude = 50.85\nlongitude = 4.35\nrefresh = \"10m\"\n\n[[forecast.planes]]\n\
         declination = 35\nazimuth = 200\nkwp = 5\n",
    );
    let (code, out, err) = sunplug(&["check-config", &path.display().to_string()]);
    let all = format!("{out}{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains(":12: forecast.planes[0].azimuth: 200"),
        "{all}"
    );
    assert!(all.contains(":8: forecast.refresh: at least 15m"), "{all}");
    assert!(all.contains(":4: forecast.house_load_w: missing"), "{all}");
}

#[test]
fn the_examples_forecast_block_passes_its_check() {
    let text = std::fs::read_to_string(root().join("examples/sunplug.toml")).unwrap();
    let block: String = text
        .split("# [forecast]\n")
        .nth(1)
        .expect("the example has a [forecast] block")
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    #[derive(serde::Deserialize)]
    struct File {
        forecast: ForecastSection,
    }
    let file: File =
        toml::from_str(&format!("[forecast]\n{block}")).unwrap_or_else(|e| panic!("{e}\n{block}"));
    let section = file.forecast;

    assert!(section.check().is_empty(), "{:?}", section.check());
    assert_eq!(section.planes.len(), 1);
}

/// `sunplug plan` with an MQTT forecast: the retained Solcast forecast on a real broker, or a clear
/// error when the topic stays silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sunplug_plan_reads_a_retained_mqtt_forecast() {
    use crate::support::{Kind, Publisher, TestBroker};
    let broker = TestBroker::start(&Kind::Rumqttd);
    let dir = Dir::new();
    let policy = std::fs::read_to_string(root().join("policies/planner.toml"))
        .unwrap()
        .replace("departure = \"07:30\"", "departure = \"18:00\"");
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    dir.write("policies/planner.toml", &policy);
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\npolicy = \"policies/planner.toml\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {}\n\
         [vehicle]\nkind = \"mqtt\"\ncapacity_kwh = 60\n[vehicle.mqtt]\nsoc = {{ topic = \"car/soc\" }}\n\
         [charger]\nmax_current_a = 16\n[prices]\nimport = 0.30\n\
         [forecast]\nsource = \"mqtt\"\ntopic = \"solcast/forecast\"\nhouse_load_w = 500\n",
        broker.port
    );
    let path = dir.write("sunplug.toml", &text).display().to_string();
    let plan = |path: String, wait: &'static str| {
        tokio::task::spawn_blocking(move || {
            sunplug(&[
                "plan",
                "--config",
                &path,
                "--soc",
                "60",
                "--at",
                "2026-06-01T04:00:00Z",
                "--mqtt-wait",
                wait,
            ])
        })
    };
    // Nothing published yet: a clear error naming the topic (after a short wait: nothing is
    // retained, so nothing can come).
    let (code, _, err) = plan(path.clone(), "300ms").await.unwrap();
    assert_ne!(code, 0);
    assert!(err.contains("no forecast on solcast/forecast"), "{err}");
    // 13:00 to 16:00 local at 6 kW, retained.
    let periods: Vec<String> = (0..6)
        .map(|i| {
            let t = t("2026-06-01T11:00:00Z") + Duration::minutes(30 * i);
            format!(
                r#"{{"period_start": "{}", "pv_estimate": 6.0, "pv_estimate10": 3.0}}"#,
                t.with_timezone(&TZ).to_rfc3339()
            )
        })
        .collect();
    let mut publisher = Publisher::connect(broker.port, "ha-solcast").await;
    publisher
        .publish(
            "solcast/forecast",
            format!(r#"{{"detailedForecast": [{}]}}"#, periods.join(",")),
            true,
        )
        .await;
    let (code, out, err) = plan(path, "10s").await.unwrap();
    assert_eq!(code, 0, "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("Mon 13:00"))
        .unwrap_or_else(|| panic!("{out}"));
    let forecast_kw: f64 = row.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!((forecast_kw - 5.5).abs() < 1e-9, "{row}");
    assert!(!out.contains("counts on no sun"), "{out}");
}
