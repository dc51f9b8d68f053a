//! The aWATTar client against its emulator: the documented payload mapped to the household's price,
//! the asked span in the query, a 429 with Retry-After from the fair-use window, a 5xx, garbage, a
//! changed unit, and a partial day (tomorrow not yet published) that the plan prices at the fallback
//! until the list grows.

use chrono::{DateTime, Duration, Utc};
use sunplug::config::prices::{PriceSource, PricesSection};
use sunplug::control::plan::series::slots;
use sunplug::emulators::awattar::AwattarEmulator;
use sunplug::emulators::common::Fault;
use sunplug::sources::prices;
use sunplug::vendor::{Timeouts, VendorError, http_client};

fn now() -> DateTime<Utc> {
    "2026-06-01T18:20:00Z".parse().unwrap()
}

/// Hourly prices from 2026-06-01T00:00Z for `hours` hours: 100 €/MWh, 20 from 01:00Z to 04:00Z.
fn day(hours: i64) -> Vec<(i64, i64, f64)> {
    let t0 = "2026-06-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .unwrap()
        .timestamp_millis();
    (0..hours)
        .map(|h| {
            let s = t0 + h * 3_600_000;
            let p = if (25..28).contains(&h) { 20.0 } else { 100.0 };
            (s, s + 3_600_000, p)
        })
        .collect()
}

fn section(base: String) -> PricesSection {
    PricesSection {
        source: PriceSource::Awattar,
        factor: 1.19,
        adder: 0.21,
        fallback: Some(0.40),
        base_url: Some(base),
        ..PricesSection::default()
    }
}

#[tokio::test]
async fn prices_are_mapped_and_the_span_is_asked_for() {
    let emu = AwattarEmulator::start(day(48)).await.unwrap();
    let http = http_client(Timeouts::default());
    let s = section(emu.url());
    let series = prices::fetch(&s, None, &http, chrono_tz::UTC, now())
        .await
        .unwrap();
    // From the current hour (18:00Z) to the end of the list.
    assert_eq!(series.points().len(), 48 - 18);
    let p = |h: i64| {
        series.mean(
            now() + Duration::hours(h),
            now() + Duration::hours(h) + Duration::minutes(10),
        )
    };
    assert!((p(0).unwrap() - (0.1 * 1.19 + 0.21)).abs() < 1e-12);
    // 01:00Z tomorrow is cheap.
    let cheap = "2026-06-02T01:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert!(
        (series.mean(cheap, cheap + Duration::hours(1)).unwrap() - (0.02 * 1.19 + 0.21)).abs()
            < 1e-12
    );
    let req = &emu.requests()[0];
    assert_eq!(req.path, "/v1/marketdata");
    let q = req.query.clone().unwrap();
    assert!(q.contains("start=1780336800000"), "{q}");
    assert!(
        q.contains(&format!(
            "end={}",
            (now() + Duration::hours(48)).timestamp_millis()
        )),
        "{q}"
    );
}

#[tokio::test]
async fn errors_are_classified() {
    let emu = AwattarEmulator::start(day(24)).await.unwrap();
    let http = http_client(Timeouts::default());
    let s = section(emu.url());
    let get = || prices::fetch(&s, None, &http, chrono_tz::UTC, now());

    emu.fail_next(Fault::Status(503));
    assert!(matches!(get().await, Err(VendorError::Transient { .. })));
    emu.fail_next(Fault::Garbage);
    assert!(matches!(get().await, Err(VendorError::Protocol { .. })));
    emu.fail_next(Fault::RateLimited {
        retry_after: Some(600),
    });
    assert_eq!(
        get().await.unwrap_err().retry_after(),
        Some(std::time::Duration::from_secs(600))
    );
    // A changed unit is never read as €/MWh.
    emu.set_unit("Eur/kWh");
    let e = get().await.unwrap_err();
    assert!(
        matches!(e, VendorError::Protocol { .. }) && e.to_string().contains("unit"),
        "{e}"
    );
    emu.set_unit("Eur/MWh");
    // The fair-use window: one more request allowed, then 429 with the wait.
    emu.set_rate(1, std::time::Duration::from_secs(86_400));
    assert!(get().await.is_ok());
    let e = get().await.unwrap_err();
    assert!(
        matches!(
            e,
            VendorError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_partial_day_is_planned_at_the_fallback_until_tomorrow_is_published() {
    let emu = AwattarEmulator::start(day(24)).await.unwrap();
    let http = http_client(Timeouts::default());
    let s = section(emu.url());
    let until = now() + Duration::hours(12);
    let series = prices::fetch(&s, None, &http, chrono_tz::UTC, now())
        .await
        .unwrap();
    let slot = slots(
        now(),
        until,
        Duration::minutes(15),
        Some(&series),
        0.40,
        None,
    );
    let tomorrow = "2026-06-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    assert!(
        slot.iter()
            .filter(|s| s.start >= tomorrow)
            .all(|s| s.price == 0.40)
    );
    assert!(
        slot.iter()
            .filter(|s| s.end <= tomorrow)
            .all(|s| s.price < 0.40)
    );
    emu.publish(&day(48)[24..]);
    let series = prices::fetch(&s, None, &http, chrono_tz::UTC, now())
        .await
        .unwrap();
    let slot = slots(
        now(),
        until,
        Duration::minutes(15),
        Some(&series),
        0.40,
        None,
    );
    assert!(slot.iter().all(|s| s.price < 0.40));
}

#[tokio::test]
async fn the_daemon_task_hands_each_list_over_with_its_fetch_time() {
    use std::sync::Arc;
    use sunplug::clock::TokioClock;
    let emu = AwattarEmulator::start(day(48)).await.unwrap();
    let (tx, mut rx) = tokio::sync::watch::channel(None);
    let stop = tokio_util::sync::CancellationToken::new();
    let task = sunplug::daemon::prices::spawn(
        section(emu.url()),
        None,
        chrono_tz::UTC,
        Arc::new(TokioClock::starting_at(now())),
        tx,
        stop.clone(),
        1.0,
    )
    .expect("a fetched source has a task");
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.changed())
        .await
        .expect("a list within 10 s")
        .unwrap();
    let (series, at) = rx.borrow().clone().unwrap();
    assert!(at >= now() && at - now() < Duration::seconds(10), "{at}");
    assert_eq!(series.points().len(), 30);
    let mut outlook = sunplug::daemon::prices::outlook(&section(emu.url()));
    outlook.set_prices(series, at);
    assert!(outlook.prices_at(now() + Duration::hours(35)).is_some());
    assert!(
        outlook.prices_at(now() + Duration::hours(37)).is_none(),
        "stale after max_age"
    );
    stop.cancel();
    task.await.unwrap();
}
