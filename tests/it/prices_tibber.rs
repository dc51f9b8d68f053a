//! The Tibber client against its emulator: the documented `priceInfo` payload (the home with a
//! contract picked over one without), `total` taken as is and `energy` mapped, hourly and 15-min
//! lists, the bearer token and query sent; errors: a refused token (HTTP 200 with
//! `UNAUTHENTICATED`), 500, a timeout, 429 with Retry-After, garbage, another currency, an unknown
//! home; and a partial day (tomorrow not yet published, today cut short) planned at the fallback.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use secrecy::SecretString;
use sunplug::config::prices::{PriceSource, PricesSection, TibberPrice, TibberResolution};
use sunplug::control::plan::series::{Series, slots};
use sunplug::emulators::common::Fault;
use sunplug::emulators::tibber::{HOME_ID, Quarter, TibberEmulator};
use sunplug::sources::prices;
use sunplug::vendor::{Timeouts, VendorError, http_client};

const TOKEN: &str = "5K4MVS-OjfWhK_4yrjOlFe1F6kJXPVf7eQYggo8ebAE";

fn now() -> DateTime<Utc> {
    "2026-06-01T18:20:00Z".parse().unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// `n` quarters from local midnight of `day` (Europe/Berlin, +02:00): energy 0.10 (0.02 from 03:00 to
/// 04:00 local), tax 0.15.
fn quarters(day: &str, n: usize) -> Vec<Quarter> {
    let midnight = t(&format!("{day}T00:00:00+02:00"));
    (0..n)
        .map(|i| {
            let start = midnight + Duration::minutes(15 * i as i64);
            let energy = if (12..16).contains(&i) { 0.02 } else { 0.10 };
            (start, energy, 0.15)
        })
        .collect()
}

async fn emulator(q: Vec<Quarter>) -> TibberEmulator {
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    TibberEmulator::start(TOKEN, chrono_tz::Europe::Berlin, today, q)
        .await
        .unwrap()
}

fn section(base: String) -> PricesSection {
    PricesSection {
        source: PriceSource::Tibber,
        fallback: Some(0.40),
        base_url: Some(base),
        ..PricesSection::default()
    }
}

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

async fn get(s: &PricesSection, tok: &SecretString) -> Result<Series, VendorError> {
    let http = http_client(Timeouts::default());
    prices::fetch(s, Some(tok), &http, chrono_tz::Europe::Berlin, now()).await
}

fn at(s: &Series, when: DateTime<Utc>) -> f64 {
    s.mean(when, when + Duration::minutes(15)).unwrap()
}

#[tokio::test]
async fn the_total_is_taken_as_is_and_the_energy_part_is_mapped() {
    let mut q = quarters("2026-06-01", 96);
    q.extend(quarters("2026-06-02", 96));
    let emu = emulator(q).await;
    let s = section(emu.url());
    let series = get(&s, &token()).await.unwrap();
    assert_eq!(series.points().len(), 192, "both days, every quarter");
    assert!((at(&series, now()) - 0.25).abs() < 1e-9);
    let cheap = t("2026-06-02T03:00:00+02:00");
    assert!((at(&series, cheap) - 0.17).abs() < 1e-9);
    let req = &emu.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1-beta/gql")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        req.body.contains("priceInfo(resolution: QUARTER_HOURLY)"),
        "{}",
        req.body
    );

    // Energy, mapped by the user's own factor and adder.
    let energy = PricesSection {
        tibber_price: TibberPrice::Energy,
        factor: 1.19,
        adder: 0.21,
        ..s.clone()
    };
    let series = get(&energy, &token()).await.unwrap();
    assert!((at(&series, cheap) - (0.02 * 1.19 + 0.21)).abs() < 1e-9);

    // Hourly: 24 + 24 points of an hour each, the hour's mean.
    let hourly = PricesSection {
        resolution: TibberResolution::Hourly,
        ..s.clone()
    };
    let series = get(&hourly, &token()).await.unwrap();
    assert_eq!(series.points().len(), 48);
    let p = series.points()[0];
    assert_eq!(p.end - p.start, Duration::hours(1));
    assert!(emu.requests()[2].body.contains("resolution: HOURLY"));

    // A named home.
    let named = PricesSection {
        home_id: Some(HOME_ID.into()),
        ..s.clone()
    };
    assert!(get(&named, &token()).await.is_ok());
    let unknown = PricesSection {
        home_id: Some("not-my-home".into()),
        ..s
    };
    let e = get(&unknown, &token()).await.unwrap_err();
    assert!(e.to_string().contains("home_id"), "{e}");
}

#[tokio::test]
async fn errors_are_classified_and_the_token_never_shows() {
    let emu = emulator(quarters("2026-06-01", 96)).await;
    let s = section(emu.url());

    let wrong = SecretString::from("not-the-token");
    let e = get(&s, &wrong).await.unwrap_err();
    assert!(matches!(e, VendorError::Auth { .. }), "{e}");
    assert!(e.to_string().contains("token_file"), "{e}");
    assert!(!e.to_string().contains(TOKEN) && !format!("{e:?}").contains("not-the-token"));

    emu.fail_next(Fault::Status(500));
    assert!(matches!(
        get(&s, &token()).await,
        Err(VendorError::Transient { .. })
    ));
    emu.fail_next(Fault::Unauthorized);
    assert!(matches!(
        get(&s, &token()).await,
        Err(VendorError::Auth { .. })
    ));
    emu.fail_next(Fault::Garbage);
    assert!(matches!(
        get(&s, &token()).await,
        Err(VendorError::Protocol { .. })
    ));
    emu.fail_next(Fault::RateLimited {
        retry_after: Some(600),
    });
    assert_eq!(
        get(&s, &token()).await.unwrap_err().retry_after(),
        Some(std::time::Duration::from_secs(600))
    );

    // A list in another currency is never planned as euro.
    emu.set_currency("NOK");
    let e = get(&s, &token()).await.unwrap_err();
    assert!(e.to_string().contains("currency = \"NOK\""), "{e}");
    emu.set_currency("EUR");

    // Tibber's limit: 100 requests per 5 minutes (here 1), then 429 with the wait.
    emu.set_rate(1, std::time::Duration::from_secs(300));
    assert!(get(&s, &token()).await.is_ok());
    let e = get(&s, &token()).await.unwrap_err();
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

#[tokio::test(start_paused = true)]
async fn a_slow_answer_is_a_timeout() {
    let emu = emulator(quarters("2026-06-01", 96)).await;
    emu.fail_next(Fault::Delay(std::time::Duration::from_secs(60)));
    let e = get(&section(emu.url()), &token()).await.unwrap_err();
    assert!(
        matches!(&e, VendorError::Transient { detail, .. } if detail.contains("timed out")),
        "{e}"
    );
}

#[tokio::test]
async fn a_partial_day_is_planned_at_the_fallback_until_the_rest_is_published() {
    // Today only until 21:00 local (84 quarters), tomorrow not yet.
    let emu = emulator(quarters("2026-06-01", 84)).await;
    let s = section(emu.url());
    let until = now() + Duration::hours(12);
    let plan_slots = |series: &Series| {
        slots(
            now(),
            until,
            Duration::minutes(15),
            Some(series),
            0.40,
            None,
        )
    };
    let series = get(&s, &token()).await.unwrap();
    let cut = t("2026-06-01T21:00:00+02:00");
    let slot = plan_slots(&series);
    assert!(
        slot.iter()
            .filter(|x| x.start >= cut)
            .all(|x| x.price == 0.40)
    );
    assert!(
        slot.iter()
            .filter(|x| x.end <= cut)
            .all(|x| x.price == 0.25)
    );
    let mut rest = quarters("2026-06-01", 96).split_off(84);
    rest.extend(quarters("2026-06-02", 96));
    emu.publish(&rest);
    let slot = plan_slots(&get(&s, &token()).await.unwrap());
    assert!(slot.iter().all(|x| x.price < 0.40));
    assert!(
        slot.iter().any(|x| (x.price - 0.17).abs() < 1e-9),
        "tomorrow's cheap hour"
    );
}

#[tokio::test]
async fn the_daemon_task_fetches_with_the_token() {
    use std::sync::Arc;
    use sunplug::clock::TokioClock;
    let emu = emulator(quarters("2026-06-01", 96)).await;
    let (tx, mut rx) = tokio::sync::watch::channel(None);
    let stop = tokio_util::sync::CancellationToken::new();
    let task = sunplug::daemon::prices::spawn(
        section(emu.url()),
        Some(token()),
        chrono_tz::Europe::Berlin,
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
    let (series, _) = rx.borrow().clone().unwrap();
    assert_eq!(series.points().len(), 96);
    stop.cancel();
    task.await.unwrap();
}
