//! Pacing tests: budgets over whole simulated days, state-dependent intervals, backoff.

use super::*;
use crate::sources::vehicle::state::Observed;
use crate::units::Soc;
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn mins(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

fn state(plugged: Option<bool>, charging: bool, captured: DateTime<Utc>) -> VehicleState {
    let mut s = VehicleState::empty("test", captured);
    s.soc = Some(Observed::new(Soc::new(50.0).unwrap(), Some(captured)));
    s.plugged = plugged.map(|p| Observed::new(p, Some(captured)));
    s.charging = Some(Observed::new(charging, Some(captured)));
    s
}

fn enode_pace() -> EnodePace {
    EnodePace {
        charging: Duration::from_secs(120),
        plugged: Duration::from_secs(300),
        away: Duration::from_secs(1800),
        max_per_hour: 30,
    }
}

#[test]
fn hourly_budget_is_a_sliding_hour() {
    let mut b = HourlyBudget::new(3);
    for m in [0, 10, 20] {
        b.record(t0() + mins(m));
    }
    assert_eq!(b.earliest(t0() + mins(25)), t0() + mins(60));
    assert_eq!(b.earliest(t0() + mins(61)), t0() + mins(61));
    assert_eq!(b.used(t0() + mins(30)), 3);
}

#[test]
fn enode_interval_follows_the_car() {
    let p = EnodePacer::new(enode_pace());
    assert_eq!(
        p.interval(&state(Some(true), true, t0())),
        Duration::from_secs(120)
    );
    assert_eq!(
        p.interval(&state(Some(true), false, t0())),
        Duration::from_secs(300)
    );
    assert_eq!(
        p.interval(&state(Some(false), false, t0())),
        Duration::from_secs(1800)
    );
    assert_eq!(
        p.interval(&state(None, false, t0())),
        Duration::from_secs(300)
    );
}

#[test]
fn enode_aligns_with_its_refresh_only_late_in_the_interval() {
    let mut p = EnodePacer::new(enode_pace());
    let now = t0() + mins(60);
    // Plugged in, data captured 3 min ago: Enode refreshes at +4 min (+20 s), inside 2.5..5 min.
    p.on_success(now, &state(Some(true), false, now - mins(3)));
    assert_eq!(p.due(now), now + mins(4) + TimeDelta::seconds(20));
    // Captured 6 min ago: the refresh is due in 1 min 20 s, too early: the plain interval.
    p.on_success(now, &state(Some(true), false, now - mins(6)));
    assert_eq!(p.due(now), now + mins(5));
    // Away: 30 min, whatever Enode refreshes.
    p.on_success(now, &state(Some(false), false, now - mins(1)));
    assert_eq!(p.due(now), now + mins(30));
}

#[test]
fn enode_never_exceeds_its_hourly_budget_over_a_day() {
    let pace = EnodePace {
        charging: Duration::from_secs(60),
        max_per_hour: 20,
        ..enode_pace()
    };
    let mut p = EnodePacer::new(pace);
    let mut now = t0();
    let mut calls = Vec::new();
    while now < t0() + TimeDelta::days(1) {
        now = p.due(now).max(now);
        p.on_call(now);
        calls.push(now);
        // Charging all day, data always fresh.
        p.on_success(now, &state(Some(true), true, now));
    }
    for (i, c) in calls.iter().enumerate() {
        let in_hour = calls[i..]
            .iter()
            .take_while(|d| **d < *c + TimeDelta::hours(1))
            .count();
        assert!(in_hour <= 20, "{in_hour} calls in the hour from {c}");
    }
    assert!(
        calls.len() >= 20 * 23,
        "the budget is used, not starved: {}",
        calls.len()
    );
}

#[test]
fn enode_honours_retry_after_and_backs_off() {
    let mut p = EnodePacer::new(enode_pace());
    let now = t0();
    let limited = VendorError::RateLimited {
        vendor: "enode",
        retry_after: Some(Duration::from_secs(900)),
    };
    p.on_error(now, &limited);
    assert_eq!(p.due(now), now + mins(15));
    let down = VendorError::Transient {
        vendor: "enode",
        detail: "502".into(),
    };
    let mut p = EnodePacer::new(enode_pace());
    let waits: Vec<i64> = (0..8)
        .map(|_| {
            p.on_error(now, &down);
            (p.due(now) - now).num_seconds()
        })
        .collect();
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800]);
}

#[test]
fn daily_budget_resets_at_local_midnight_even_on_dst_days() {
    let tz: Tz = "Europe/Brussels".parse().unwrap();
    let mut b = DailyBudget::new(10, 0, tz);
    // 2026-03-29 is the spring-forward day: the local day is 23 h long.
    let noon = Utc.with_ymd_and_hms(2026, 3, 28, 11, 0, 0).unwrap();
    assert_eq!(
        b.next_reset(noon),
        Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap()
    );
    let sunday = Utc.with_ymd_and_hms(2026, 3, 29, 11, 0, 0).unwrap();
    assert_eq!(
        b.next_reset(sunday),
        Utc.with_ymd_and_hms(2026, 3, 29, 22, 0, 0).unwrap()
    );
    for _ in 0..10 {
        b.record(noon);
    }
    assert_eq!(b.remaining(noon), 0);
    assert_eq!(
        b.remaining(Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap()),
        10
    );
}

#[test]
fn vendor_count_and_reserve_lower_the_remaining_calls() {
    let mut b = DailyBudget::new(200, 50, Tz::UTC);
    let now = t0() + TimeDelta::hours(12);
    b.record(now);
    assert_eq!(b.remaining(now), 199);
    b.observe_vendor_remaining(now, 120);
    assert_eq!(
        b.remaining(now),
        70,
        "120 left on the account, 50 kept for the app"
    );
    b.observe_vendor_remaining(now, 30);
    assert_eq!(b.remaining(now), 0);
}

fn cariad_day(
    budget: u32,
    charging_from: i64,
    charging_to: i64,
    vcf: Option<u32>,
) -> Vec<DateTime<Utc>> {
    let pace = CariadPace {
        charging: Duration::from_secs(300),
        idle: Duration::from_secs(1200),
    };
    let mut p = CariadPacer::new(pace, DailyBudget::new(budget, 50, Tz::UTC));
    let mut now = t0();
    let mut calls = Vec::new();
    let mut account = vcf;
    loop {
        now = p.due(now).max(now);
        if now >= t0() + TimeDelta::days(1) {
            return calls;
        }
        p.on_call(now);
        calls.push(now);
        if let Some(a) = account.as_mut() {
            *a = a.saturating_sub(3); // the app and others use the account too
            p.on_remaining_calls(now, *a);
        }
        let h = (now - t0()).num_hours();
        p.on_success(
            now,
            &state(Some(true), (charging_from..charging_to).contains(&h), now),
        );
    }
}

#[test]
fn cariad_respects_the_daily_budget_and_the_minimum_spacing() {
    // Charging all day would be 288 calls at 5 min; the budget is 200.
    let calls = cariad_day(200, 0, 24, None);
    assert!(calls.len() <= 200, "{} calls", calls.len());
    assert!(
        calls.len() >= 190,
        "the budget is spread, not wasted: {}",
        calls.len()
    );
    assert!(calls.windows(2).all(|w| w[1] - w[0] >= mins(5)));
    // Idle all day: 20 min apart, 72 calls.
    let calls = cariad_day(200, 0, 0, None);
    assert_eq!(calls.len(), 72);
    assert!(calls.windows(2).all(|w| w[1] - w[0] >= mins(20)));
    // Charging 10:00-16:00 after an idle morning: 5 min apart then.
    let calls = cariad_day(200, 10, 16, None);
    let midday: Vec<_> = calls
        .iter()
        .filter(|c| (**c - t0()).num_hours() == 12)
        .collect();
    assert_eq!(midday.len(), 12);
}

#[test]
fn cariad_slows_down_when_the_account_runs_low() {
    let calls = cariad_day(200, 0, 24, Some(400));
    // Each call costs the account 3 (ours plus others'), 50 are kept: at most (400 - 50) / 3 calls.
    assert!(calls.len() <= 117, "{} calls", calls.len());
    let last = *calls.last().unwrap();
    assert!(calls.windows(2).all(|w| w[1] - w[0] >= mins(5)));
    assert!(
        last > t0() + TimeDelta::hours(12),
        "spread over the day, not spent by noon: {last}"
    );
}

#[test]
fn cariad_429_waits_for_retry_after_or_midnight() {
    let pace = CariadPace {
        charging: Duration::from_secs(300),
        idle: Duration::from_secs(1200),
    };
    let mut p = CariadPacer::new(pace, DailyBudget::new(200, 50, Tz::UTC));
    let now = t0() + TimeDelta::hours(15);
    let e = VendorError::RateLimited {
        vendor: "cariad",
        retry_after: None,
    };
    p.on_error(now, &e);
    assert_eq!(p.due(now), t0() + TimeDelta::days(1));
    let e = VendorError::RateLimited {
        vendor: "cariad",
        retry_after: Some(Duration::from_secs(3600)),
    };
    p.on_error(now, &e);
    assert_eq!(p.due(now), now + TimeDelta::hours(1));
}
