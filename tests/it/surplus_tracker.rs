//! The tracker alone (no broker): the arithmetic of the kinds, the sum's time, the plausible range,
//! retained repeats, and rate-limited warnings for bad payloads.

use crate::support::harness::tracker;
use crate::support::logs::LogBuffer;
use crate::support::t0;
use chrono::Duration as Secs;
use sunplug::control::observation::PowerBalance;
use sunplug::sources::surplus::State;
use sunplug::units::Watts;

#[test]
fn pv_and_load_with_the_car_inside_the_load_is_a_grid_balance() {
    let mut t = tracker(
        "kind = \"pv_and_load\"\n[pv]\ntopic = \"pv\"\n[load]\ntopic = \"load\"\n[battery]\ntopic = \"bat\"",
    );
    for (topic, w) in [("pv", "6000"), ("load", "2500"), ("bat", "1500")] {
        assert_eq!(t.on_message(topic, w.as_bytes(), false, t0()).updated, 1);
    }
    let r = t.reading(t0()).unwrap().value;
    // Grid = load − pv + battery charging: 2500 − 6000 + 1500 = −2000 (exporting 2 kW).
    assert_eq!(r.balance, PowerBalance::Grid(Watts(-2000.0)));
    assert_eq!(
        r.house_load, None,
        "the load includes the car, so the house alone is unknown"
    );
}

#[test]
fn a_sum_is_as_old_as_its_oldest_part_and_waiting_names_the_silent_ones() {
    let mut t = tracker("topics = [\"l1\", \"l2\", \"l3\"]\nmax_age = \"10s\"");
    t.on_message("l1", b"100", false, t0());
    match t.snapshot(t0()).state {
        State::Waiting { missing } => assert_eq!(missing, ["l2", "l3"]),
        other => panic!("{other:?}"),
    }
    t.on_message("l2", b"100", false, t0() + Secs::seconds(8));
    t.on_message("l3", b"100", false, t0() + Secs::seconds(9));
    let r = t.reading(t0() + Secs::seconds(9)).unwrap();
    assert_eq!(r.at, t0(), "the oldest part's time");
    assert_eq!(t.reading(t0() + Secs::seconds(11)), None, "l1 is 11 s old");
    // A clock behind the reading's time (NTP step back) counts as age zero, not as an error.
    assert!(t.reading(t0() - Secs::seconds(5)).is_some());
}

#[test]
fn the_plausible_range_applies_after_unit_and_sign() {
    let mut t = tracker(
        "topic = \"m\"\nunit = \"kW\"\nsign = \"export_positive\"\nplausible_min_w = -20000\nplausible_max_w = 40000",
    );
    assert_eq!(
        t.on_message("m", b"25", false, t0())
            .rejected
            .as_deref()
            .map(|r| r.contains("-25000 W")),
        Some(true)
    );
    assert_eq!(
        t.on_message("m", b"-35", false, t0()).updated,
        1,
        "35 kW import is within range"
    );
    assert_eq!(
        t.reading(t0()).unwrap().value.balance,
        PowerBalance::Grid(Watts(35000.0))
    );
}

#[test]
fn a_retained_copy_of_the_live_value_keeps_the_live_time() {
    let mut t = tracker("topic = \"m\"");
    t.on_message("m", b"500", false, t0());
    t.on_message("m", b"500", true, t0() + Secs::seconds(20));
    assert_eq!(t.reading(t0() + Secs::seconds(20)).unwrap().at, t0());
    t.on_message("m", b"600", true, t0() + Secs::seconds(21));
    assert_eq!(
        t.reading(t0() + Secs::seconds(21)),
        None,
        "a different retained value is of unknown age"
    );
    assert!(matches!(t.snapshot(t0()).state, State::RetainedOnly { .. }));
}

#[test]
fn bad_payload_warnings_are_rate_limited_per_topic_with_an_excerpt() {
    let (logs, _g) = LogBuffer::capture_thread();
    let mut t = tracker("topics = [\"a\", \"b\"]");
    let long = format!("garbage-{}", "x".repeat(500));
    let warned: Vec<bool> = [0, 10, 59, 60, 61]
        .iter()
        .map(|s| {
            t.on_message("a", long.as_bytes(), false, t0() + Secs::seconds(*s))
                .warned
        })
        .collect();
    assert_eq!(
        warned,
        [true, false, false, true, false],
        "once a minute per topic"
    );
    assert!(
        t.on_message("b", b"{oops", false, t0()).warned,
        "another topic has its own limit"
    );
    assert_eq!(
        t.stats().bad,
        6,
        "every bad payload is counted, logged or not"
    );
    let text = logs.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("topic=\"a\"") && lines[0].contains("garbage-xxx"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].len() < 400,
        "the payload is cut to an excerpt: {}",
        lines[0]
    );
    assert!(lines[1].contains("suppressed=2"), "{}", lines[1]);
}

#[tokio::test(start_paused = true)]
async fn max_age_on_tokio_time_as_the_daemon_runs_it() {
    use sunplug::clock::{Clock, TokioClock};
    let clock = TokioClock::starting_at(t0());
    let mut t = tracker("topic = \"m\"\nmax_age = \"30s\"");
    t.on_message("m", b"-900", false, clock.now());
    tokio::time::advance(std::time::Duration::from_secs(30)).await;
    assert_eq!(
        t.reading(clock.now()).map(|r| r.value.balance),
        Some(PowerBalance::Grid(Watts(-900.0)))
    );
    tokio::time::advance(std::time::Duration::from_millis(1)).await;
    assert_eq!(t.reading(clock.now()), None, "30.001 s old: stale");
    assert!(matches!(t.snapshot(clock.now()).state, State::Stale { .. }));
}

#[test]
fn an_empty_or_null_payload_is_no_update_and_the_value_ages_out_at_max_age() {
    for nothing in [&b""[..], b"  \n", b"null", b" null\n"] {
        let mut t = tracker("topic = \"m\"\nmax_age = \"30s\"");
        t.on_message("m", b"-2000", false, t0());
        let out = t.on_message("m", nothing, false, t0() + Secs::seconds(5));
        assert_eq!(
            (out.updated, out.unavailable, out.rejected.is_none()),
            (0, 0, true),
            "{nothing:?}"
        );
        let r = t
            .reading(t0() + Secs::seconds(10))
            .unwrap_or_else(|| panic!("{nothing:?} kept the last value until max_age"));
        assert_eq!(r.at, t0(), "with its own time");
        assert_eq!(t.reading(t0() + Secs::seconds(31)), None, "then it expires");
    }
}
