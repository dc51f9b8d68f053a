//! Hand-computable plans: two cheap slots, a forecast that covers half the need, DST nights of 23
//! and 25 hours, an infeasible need, negative prices, and the series/slot helpers.

use super::series::{Point, Series, local_hour_table, slot_grid, slots};
use super::*;
use crate::control::policies::next_departure;
use chrono::Duration;
use chrono_tz::Tz;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 6..16 A on three phases at 230 V: 4140..11040 W.
fn limits() -> Limits {
    Limits::new(
        Supply::new(crate::units::Phases::Three, crate::units::Volts(230.0)),
        Amps(6.0),
        Amps(16.0),
    )
}

fn hourly(from: &str, prices: &[f64], surplus: &[f64]) -> Vec<SlotInput> {
    let t0 = utc(from);
    prices
        .iter()
        .zip(surplus)
        .enumerate()
        .map(|(i, (&price, &s))| SlotInput {
            start: t0 + Duration::hours(i as i64),
            end: t0 + Duration::hours(i as i64 + 1),
            surplus: Watts(s),
            price,
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn two_cheap_slots_take_the_need() {
    let s = hourly("2026-06-01T20:00:00Z", &[0.30, 0.10, 0.10, 0.30], &[0.0; 4]);
    let p = plan(20_000.0, &s, limits());
    assert!(p.feasible());
    // The first cheap hour at full power (11.04 kWh), the second for the rest (8.96 kWh).
    assert!(close(p.slots[1].grid_wh(), 11_040.0), "{p:?}");
    assert!(close(p.slots[2].grid_wh(), 8_960.0));
    assert_eq!(p.slots[0].grid, Watts(0.0));
    assert_eq!(p.slots[3].grid, Watts(0.0));
    assert!(close(p.cost, 2.0));
    assert_eq!(p.start(), Some(utc("2026-06-01T21:00:00Z")));
    // The second cheap hour charges the whole hour (above the floor), at 8.96 kW.
    assert_eq!(p.slots[2].share, 1.0);
    assert!(close(p.slots[2].grid_rate.0, 8_960.0));
    let (now_cost, left) = cost_charge_now(20_000.0, &s, limits());
    assert_eq!(left, 0.0);
    assert!(close(now_cost, 11.04 * 0.30 + 8.96 * 0.10));
}

#[test]
fn a_small_need_charges_at_the_floor_for_part_of_the_slot() {
    let s = hourly("2026-06-01T20:00:00Z", &[0.30, 0.10], &[0.0; 2]);
    let p = plan(2_070.0, &s, limits());
    assert!(close(p.slots[1].share, 0.5), "{p:?}");
    assert!(close(p.slots[1].grid_rate.0, 4_140.0));
    assert!(close(p.cost, 0.207));
}

#[test]
fn a_forecast_covering_half_the_need_leaves_the_rest_to_the_cheap_night() {
    // 20 kWh by 16:00; 5 kW of sun from 12:00 to 14:00 gives 10; the night is cheaper than the day.
    let prices = [0.20, 0.20, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30];
    let sun = [0.0, 0.0, 0.0, 0.0, 5_000.0, 5_000.0, 0.0, 0.0];
    let s = hourly("2026-06-02T06:00:00Z", &prices, &sun);
    let p = plan(20_000.0, &s, limits());
    assert!(p.feasible());
    assert!(close(p.solar_wh, 10_000.0));
    assert!(close(p.grid_wh, 10_000.0));
    assert!(close(p.cost, 2.0), "{}", p.cost);
    assert!(p.slots[..2].iter().all(|s| s.price == 0.20));
    assert!(close(p.slots[4].solar.0, 5_000.0));
    assert_eq!(p.slots[4].grid, Watts(0.0));
    // Charging now at full power would have bought 20 kWh at 0.20 and 0.30 before the sun.
    let (now_cost, _) = cost_charge_now(20_000.0, &s, limits());
    assert!(close(now_cost, 11.04 * 0.20 + 8.96 * 0.20));
    // With the same price everywhere the sun is worth waiting for: 10 kWh from the grid, not 20.
    let flat = hourly("2026-06-02T06:00:00Z", &[0.30; 8], &sun);
    assert!(close(plan(20_000.0, &flat, limits()).cost, 3.0));
}

#[test]
fn weak_sun_makes_a_floor_slot_cheaper() {
    // 2 kW of sun below the 4.14 kW floor: charging at the floor there buys only 2.14 kW.
    let s = hourly("2026-06-02T06:00:00Z", &[0.30, 0.30], &[0.0, 2_000.0]);
    let p = plan(4_140.0, &s, limits());
    assert_eq!(p.slots[0].grid, Watts(0.0), "{p:?}");
    assert!(close(p.slots[1].grid.0, 2_140.0));
    assert!(close(p.slots[1].solar.0, 2_000.0));
    assert!(close(p.cost, 2.14 * 0.30));
}

#[test]
fn without_prices_weak_sun_still_comes_before_the_night() {
    // No price list (every slot at 0): the plan must still prefer the slot the sun helps with, or a
    // forecast-only site would buy the whole need at night.
    let s = hourly("2026-06-02T03:00:00Z", &[0.0, 0.0], &[0.0, 2_000.0]);
    let p = plan(4_140.0, &s, limits());
    assert_eq!(p.slots[0].grid, Watts(0.0), "{p:?}");
    assert!(close(p.slots[1].solar.0, 2_000.0), "{p:?}");
    assert!(close(p.grid_wh, 2_140.0), "{p:?}");
}

#[test]
fn an_infeasible_need_charges_everything() {
    let s = hourly("2026-06-01T20:00:00Z", &[0.30, 0.10], &[0.0, 0.0]);
    let p = plan(100_000.0, &s, limits());
    assert!(!p.feasible());
    assert!(close(p.shortfall_wh, 100_000.0 - 2.0 * 11_040.0));
    assert!(p.slots.iter().all(|s| close(s.grid.0, 11_040.0)));
    assert_eq!(p.start(), Some(utc("2026-06-01T20:00:00Z")));
}

#[test]
fn negative_prices_charge_at_full_power_first() {
    let s = hourly("2026-06-01T20:00:00Z", &[0.10, -0.05], &[0.0, 1_000.0]);
    let p = plan(5_520.0, &s, limits());
    assert!(p.feasible());
    assert_eq!(p.slots[0].grid, Watts(0.0));
    assert!(close(p.slots[1].share, 0.5));
    assert!(close(p.slots[1].grid_rate.0, 10_040.0));
    assert!(p.cost < 0.0);
}

fn dst_night(start: &str, depart_local: &str) -> (Vec<SlotInput>, Limits) {
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let now = utc(start);
    let departure = next_departure(now, tz, depart_local.parse().unwrap());
    let until = departure - Duration::minutes(30);
    let mut table = [0.30; 24];
    table[2..5].fill(0.10);
    let prices = local_hour_table(&table, tz, now, until);
    (
        slots(now, until, Duration::minutes(15), Some(&prices), 0.5, None),
        limits(),
    )
}

#[test]
fn dst_spring_night_has_23_hours_and_two_cheap_ones() {
    // 18:00 CET on 28 March 2026 to 07:30 CEST (less 30 min): 12 hours, and 02:00..03:00 never comes.
    let (s, l) = dst_night("2026-03-28T17:00:00Z", "07:30");
    assert_eq!(s.len(), 48);
    assert_eq!(s.last().unwrap().end, utc("2026-03-29T05:00:00Z"));
    let p = plan(3.0 * 11_040.0, &s, l);
    assert!(p.feasible());
    // Two cheap hours (03:00, 04:00 CEST = 01:00Z, 02:00Z) and one hour at 0.30.
    assert!(
        close(p.cost, 2.0 * 11.04 * 0.10 + 11.04 * 0.30),
        "{}",
        p.cost
    );
    assert_eq!(p.start(), Some(utc("2026-03-28T17:00:00Z")));
    // Twelve and a half hours at full power do not fit in this night.
    assert!(!plan(12.5 * 11_040.0, &s, l).feasible());
}

#[test]
fn dst_autumn_night_has_25_hours_and_four_cheap_ones() {
    // 18:00 CEST on 24 October 2026 to 07:30 CET (less 30 min): 14 hours; 02:00 comes twice.
    let (s, l) = dst_night("2026-10-24T16:00:00Z", "07:30");
    assert_eq!(s.len(), 56);
    let p = plan(3.0 * 11_040.0, &s, l);
    assert!(close(p.cost, 3.0 * 11.04 * 0.10), "{}", p.cost);
    // From 02:00 CEST (00:00Z), the first of the two 02:00 hours.
    assert_eq!(p.start(), Some(utc("2026-10-25T00:00:00Z")));
    assert!(plan(12.5 * 11_040.0, &s, l).feasible());
}

#[test]
fn series_means_and_slot_grid() {
    let t = utc("2026-06-01T00:00:00Z");
    let s = Series::new(vec![
        Point {
            start: t + Duration::hours(1),
            end: t + Duration::hours(2),
            value: 2.0,
        },
        Point {
            start: t,
            end: t + Duration::hours(1),
            value: 1.0,
        },
        // Overlaps the first: dropped.
        Point {
            start: t + Duration::minutes(30),
            end: t + Duration::minutes(90),
            value: 9.0,
        },
    ]);
    assert_eq!(s.points().len(), 2);
    assert_eq!(
        s.mean(t + Duration::minutes(30), t + Duration::minutes(90)),
        Some(1.5)
    );
    // Covered for a quarter only: unknown.
    assert_eq!(
        s.mean(t + Duration::minutes(105), t + Duration::minutes(165)),
        None
    );
    let g = slot_grid(
        t + Duration::minutes(7),
        t + Duration::minutes(40),
        Duration::minutes(15),
    );
    assert_eq!(g.len(), 3);
    assert_eq!(g[0].1, t + Duration::minutes(15));
    assert_eq!(g[2].1, t + Duration::minutes(40));
}
