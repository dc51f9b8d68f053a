//! The ENTSO-E client against its emulator: the documented A44 request (token, zone's EIC code in
//! both domains, the period in UTC), the XML price document with A03 curves (left-out positions
//! repeat the price before them) mapped to the household's price; errors: a refused token (401), no
//! data (an acknowledgement, a clear error naming the zone), 500, a timeout, 429 with Retry-After,
//! garbage; and a partial day (tomorrow not yet published) planned at the fallback.

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use sunplug::config::prices::{PriceSource, PricesSection};
use sunplug::control::plan::series::{Series, slots};
use sunplug::emulators::common::Fault;
use sunplug::emulators::entsoe::{Day, EntsoeEmulator};
use sunplug::sources::prices;
use sunplug::vendor::{Timeouts, VendorError, http_client};

const TOKEN: &str = "4b1e6a0c-2d5f-4f3a-9c1e-0a7b3c9d2e11";
const BE: &str = "10YBE----------2";

fn now() -> DateTime<Utc> {
    "2026-06-01T18:20:00Z".parse().unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The market day starting at `start` (22:00Z in summer): 96 quarters of 100 €/MWh, 20 €/MWh from
/// 03:00 to 04:00 local.
fn day(start: &str) -> Day {
    Day {
        start: t(start),
        step: Duration::minutes(15),
        prices: (0..96)
            .map(|i| if (12..16).contains(&i) { 20.0 } else { 100.0 })
            .collect(),
    }
}

fn section(base: String) -> PricesSection {
    PricesSection {
        source: PriceSource::Entsoe,
        zone: Some("BE".into()),
        factor: 1.06,
        adder: 0.15,
        fallback: Some(0.40),
        base_url: Some(base),
        ..PricesSection::default()
    }
}

async fn get(s: &PricesSection, tok: &str) -> Result<Series, VendorError> {
    let http = http_client(Timeouts::default());
    let tok = SecretString::from(tok);
    prices::fetch(s, Some(&tok), &http, chrono_tz::Europe::Brussels, now()).await
}

fn at(s: &Series, when: DateTime<Utc>) -> f64 {
    s.mean(when, when + Duration::minutes(15)).unwrap()
}

#[tokio::test]
async fn the_a44_request_and_the_compressed_curve() {
    let emu = EntsoeEmulator::start(
        TOKEN,
        BE,
        vec![day("2026-05-31T22:00:00Z"), day("2026-06-01T22:00:00Z")],
    )
    .await
    .unwrap();
    let s = section(emu.url());
    let series = get(&s, TOKEN).await.unwrap();
    // Every quarter of both days, although the document names only the changes.
    assert_eq!(series.points().len(), 192);
    let spot = |eur_mwh: f64| eur_mwh / 1000.0 * 1.06 + 0.15;
    assert!((at(&series, now()) - spot(100.0)).abs() < 1e-12);
    let cheap = t("2026-06-02T03:15:00+02:00");
    assert!((at(&series, cheap) - spot(20.0)).abs() < 1e-12);
    assert!((at(&series, t("2026-06-02T04:00:00+02:00")) - spot(100.0)).abs() < 1e-12);

    let req = &emu.requests()[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/api"));
    let q = req.query.clone().unwrap();
    for part in [
        format!("securityToken={TOKEN}"),
        "documentType=A44".into(),
        "in_Domain=10YBE----------2".into(),
        "out_Domain=10YBE----------2".into(),
        "periodStart=202606011800".into(),
        "periodEnd=202606031800".into(),
    ] {
        assert!(q.contains(&part), "{part} in {q}");
    }

    // A zone given as its EIC code is the same zone.
    let raw = PricesSection {
        zone: Some(BE.into()),
        ..s
    };
    assert_eq!(get(&raw, TOKEN).await.unwrap(), series);
}

#[tokio::test]
async fn errors_are_classified_and_no_data_is_a_clear_error() {
    let emu = EntsoeEmulator::start(TOKEN, BE, vec![day("2026-05-31T22:00:00Z")])
        .await
        .unwrap();
    let s = section(emu.url());

    let e = get(&s, "wrong-token").await.unwrap_err();
    assert!(matches!(e, VendorError::Auth { .. }), "{e}");
    assert!(!e.to_string().contains("wrong-token"), "{e}");

    // Another zone: the platform acknowledges with "No matching data found".
    let nl = PricesSection {
        zone: Some("NL".into()),
        ..s.clone()
    };
    let e = get(&nl, TOKEN).await.unwrap_err();
    assert!(
        matches!(e, VendorError::Rejected { .. })
            && e.to_string().contains("10YNL----------L")
            && e.to_string().contains("No matching data found")
            && e.to_string().contains("[prices] zone"),
        "{e}"
    );

    emu.fail_next(Fault::Status(500));
    assert!(matches!(
        get(&s, TOKEN).await,
        Err(VendorError::Transient { .. })
    ));
    emu.fail_next(Fault::Garbage);
    let e = get(&s, TOKEN).await.unwrap_err();
    assert!(
        matches!(e, VendorError::Protocol { .. }) && e.to_string().contains("not XML"),
        "{e}"
    );
    emu.fail_next(Fault::RateLimited {
        retry_after: Some(600),
    });
    assert_eq!(
        get(&s, TOKEN).await.unwrap_err().retry_after(),
        Some(std::time::Duration::from_secs(600))
    );
    emu.set_rate(1, std::time::Duration::from_secs(60));
    assert!(get(&s, TOKEN).await.is_ok());
    let e = get(&s, TOKEN).await.unwrap_err();
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
    let emu = EntsoeEmulator::start(TOKEN, BE, vec![day("2026-05-31T22:00:00Z")])
        .await
        .unwrap();
    emu.fail_next(Fault::Delay(std::time::Duration::from_secs(60)));
    let e = get(&section(emu.url()), TOKEN).await.unwrap_err();
    assert!(
        matches!(&e, VendorError::Transient { detail, .. } if detail.contains("timed out")),
        "{e}"
    );
}

#[tokio::test]
async fn a_partial_day_is_planned_at_the_fallback_until_tomorrow_is_published() {
    let emu = EntsoeEmulator::start(TOKEN, BE, vec![day("2026-05-31T22:00:00Z")])
        .await
        .unwrap();
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
    let midnight = t("2026-06-01T22:00:00Z");
    let slot = plan_slots(&get(&s, TOKEN).await.unwrap());
    assert!(
        slot.iter()
            .filter(|x| x.start >= midnight)
            .all(|x| x.price == 0.40)
    );
    assert!(
        slot.iter()
            .filter(|x| x.end <= midnight)
            .all(|x| x.price < 0.40)
    );
    emu.publish(day("2026-06-01T22:00:00Z"));
    let slot = plan_slots(&get(&s, TOKEN).await.unwrap());
    assert!(slot.iter().all(|x| x.price < 0.40));
}
