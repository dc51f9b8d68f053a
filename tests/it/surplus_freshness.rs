//! Freshness and bad input through a real broker: sign and unit handling, a missing field, max_age
//! expiry, garbage payloads (counted, logged, never fatal).

use crate::support::harness::Harness;
use crate::support::kinds;
use sunplug::control::observation::PowerBalance;
use sunplug::sources::surplus::State;
use sunplug::units::Watts;

#[tokio::test]
async fn sign_and_unit_are_applied_per_value() {
    let cfg = r#"
topic = "meter/json"
pointer = "/power/active"
unit = "kW"
sign = "export_positive"
"#;
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        h.send("meter/json", r#"{"power":{"active":1.25}}"#, false)
            .await;
        assert_eq!(h.grid_w(), Some(-1250.0), "1.25 kW exported = −1250 W grid");
        h.send("meter/json", r#"{"power":{"active":"-0.4"}}"#, false)
            .await;
        assert_eq!(
            h.grid_w(),
            Some(400.0),
            "numeric strings count; −0.4 kW export = 400 W import"
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn a_surplus_topic_without_the_car_and_pv_and_load_with_a_battery() {
    let surplus = "kind = \"surplus\"\ntopic = \"site/surplus\"\nincludes_car = false";
    let pv_load = r#"
kind = "pv_and_load"
includes_car = false
[pv]
topic = "inverter/pv"
[load]
topic = "house/load"
unit = "kW"
[battery]
topic = "battery/power"
sign = "discharge_positive"
"#;
    for kind in kinds() {
        let mut h = Harness::start(&kind, surplus).await;
        h.send("site/surplus", "1800", false).await;
        assert_eq!(
            h.available_w(),
            Some(1800.0),
            "export positive, the car not counted"
        );
        h.shutdown().await;

        let mut h = Harness::start(&kind, pv_load).await;
        h.send("inverter/pv", "5200", false).await;
        h.send("house/load", "0.7", false).await;
        assert_eq!(h.reading(), None, "the configured battery has not reported");
        h.send("battery/power", "-2000", false).await;
        let r = h.reading().unwrap().value;
        assert_eq!(
            r.battery,
            Some(Watts(2000.0)),
            "−2000 discharge positive = charging 2000 W"
        );
        assert_eq!(
            r.balance,
            PowerBalance::Available(Watts(5200.0 - 700.0 - 2000.0))
        );
        assert_eq!(
            (r.pv, r.house_load),
            (Some(Watts(5200.0)), Some(Watts(700.0)))
        );
        h.shutdown().await;
    }
}

#[tokio::test]
async fn a_missing_field_is_no_update_and_max_age_expires() {
    let cfg = "topic = \"meter/p1\"\npointer = \"/active_power_w\"\nmax_age = \"30s\"";
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        h.send(
            "meter/p1",
            r#"{"active_power_w":-640,"total_power_import_kwh":1234.5}"#,
            false,
        )
        .await;
        let at = h.reading().unwrap().at;
        h.advance(20);
        let out = h
            .send("meter/p1", r#"{"total_power_import_kwh":1234.6}"#, false)
            .await;
        assert_eq!((out.updated, out.missing), (0, 1));
        assert_eq!(h.reading().unwrap().at, at, "the old value keeps its age");
        h.advance(10);
        assert!(h.reading().is_some(), "exactly max_age old is still fresh");
        h.advance(1);
        assert_eq!(h.reading(), None, "31 s old: stale, so unknown");
        assert!(
            matches!(h.tracker.snapshot(h.now).state, State::Stale { age } if age.as_secs() == 31)
        );
        h.send("meter/p1", r#"{"active_power_w":-700}"#, false)
            .await;
        assert_eq!(h.grid_w(), Some(-700.0));
        h.shutdown().await;
    }
}

#[tokio::test]
async fn garbage_payloads_are_ignored_counted_and_never_fatal() {
    let cfg =
        "topic = \"meter/p1\"\npointer = \"/w\"\nplausible_min_w = -30000\nplausible_max_w = 30000";
    let garbage: [&[u8]; 8] = [
        b"not json at all {",
        br#"{"w":"n/a"}"#,
        br#"{"w":[1,2]}"#,
        br#"{"w":NaN}"#,
        br#"{"w":1e400}"#,
        br#"{"w":250000}"#,
        b"\xff\xfe\x00garbage",
        br#"{"w":{"nested":true}}"#,
    ];
    for kind in kinds() {
        let mut h = Harness::start(&kind, cfg).await;
        h.send("meter/p1", r#"{"w":1200}"#, false).await;
        for g in garbage {
            let out = h.send("meter/p1", g.to_vec(), false).await;
            assert!(
                out.rejected.is_some(),
                "{:?} was not rejected",
                String::from_utf8_lossy(g)
            );
            assert_eq!(h.grid_w(), Some(1200.0), "a bad payload changes nothing");
        }
        let stats = h.tracker.stats();
        assert_eq!(stats.bad, garbage.len() as u64);
        h.send("meter/p1", r#"{"w":-300}"#, false).await;
        assert_eq!(h.grid_w(), Some(-300.0), "and the next good one is read");
        h.shutdown().await;
    }
}
