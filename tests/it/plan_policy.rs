//! The `planner` policy (and `target-by-departure` with `use_plan`) inside the daemon's controller:
//! it waits for the cheap slots, charges in them, re-plans when the price list changes, and a stale
//! list gives way to the fallback price. pv-only's `min_soc` is planned the same way when prices are
//! known, and charged at full power at once when they are not (or `plan_min_soc = false`).

use crate::support::control::*;
use chrono::{DateTime, Duration, Utc};
use sunplug::control::Controller;
use sunplug::control::plan::outlook::Outlook;
use sunplug::control::plan::series::local_hour_table;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// 0.30 per kWh, 0.10 from 02:00 to 04:00 local, laid out over two days from `from`.
fn outlook(from: DateTime<Utc>, fetched: DateTime<Utc>, cheap: &[usize]) -> Outlook {
    let mut table = [0.30; 24];
    for &h in cheap {
        table[h] = 0.10;
    }
    let mut o = Outlook::new(0.40);
    let tz = "Europe/Brussels".parse().unwrap();
    o.set_prices(
        local_hour_table(&table, tz, from, from + Duration::hours(48)),
        fetched,
    );
    o
}

fn step(c: &mut Controller, site: &mut Site, now: DateTime<Utc>) -> sunplug::control::Decision {
    site.soc = Some((50.0, now));
    site.step(c, now)
}

#[test]
fn the_planner_waits_for_the_cheap_hours_and_charges_in_them() {
    let mut c = Controller::new(params(), policy("planner"));
    let evening = utc("2026-06-01T18:00:00Z"); // 20:00 in Brussels
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let mut site = Site::new(0.0);
    let d = step(&mut c, &mut site, evening);
    assert!(!d.command.is_charging(), "{d:?}");
    assert!(d.reason.contains("planned start Tue 02:00"), "{}", d.reason);
    let plan = c.plan().expect("a plan");
    // 50 → 80 % of 60 kWh at 90 %: 20 kWh, from the two cheap hours (00:00Z..02:00Z).
    assert!((plan.need_wh - 20_000.0).abs() < 1e-6);
    assert_eq!(plan.start(), Some(utc("2026-06-02T00:00:00Z")));
    assert!((plan.cost - 2.0).abs() < 1e-6, "{}", plan.cost);

    let night = utc("2026-06-02T00:00:00Z");
    let mut last = None;
    for i in 0..5 {
        last = Some(step(&mut c, &mut site, night + Duration::seconds(10 * i)));
    }
    let d = last.unwrap();
    assert!(d.command.is_charging(), "{d:?}");
    assert_eq!(d.command.current().0, 16.0, "{}", d.reason);
    assert!(d.reason.contains("grid 11.0 kW"), "{}", d.reason);
}

#[test]
fn a_new_price_list_re_plans_at_once_and_a_stale_one_is_ignored() {
    let mut c = Controller::new(params(), policy("planner"));
    let evening = utc("2026-06-01T18:00:00Z");
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let mut site = Site::new(0.0);
    step(&mut c, &mut site, evening);
    assert_eq!(c.plan().unwrap().start(), Some(utc("2026-06-02T00:00:00Z")));
    // A list with 21:00 and 22:00 cheap: the plan moves there one minute later.
    c.set_outlook(outlook(evening, evening, &[21, 22]));
    step(&mut c, &mut site, evening + Duration::minutes(1));
    assert_eq!(c.plan().unwrap().start(), Some(utc("2026-06-01T19:00:00Z")));
    // A list fetched two days ago is not trusted: every slot costs the fallback, so the plan charges
    // from now (the earliest of equal prices).
    let old = evening - Duration::hours(40);
    c.set_outlook(outlook(old, old, &[2, 3]));
    let now = evening + Duration::minutes(2);
    let d = step(&mut c, &mut site, now);
    let p = c.plan().unwrap();
    assert_eq!(p.start(), Some(now));
    assert!(p.slots.iter().all(|s| s.price == 0.40));
    assert!(d.command.is_charging(), "{d:?}");
}

#[test]
fn target_by_departure_with_use_plan_follows_the_plan() {
    let text = "module = \"target-by-departure\"\ntarget_soc = 80\n[params]\ndeparture = \"07:30\"\nuse_plan = true\n";
    let mut c = Controller::new(params(), policy_str(text));
    let evening = utc("2026-06-01T18:00:00Z");
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let mut site = Site::new(0.0);
    let d = step(&mut c, &mut site, evening);
    assert!(d.reason.contains("planned start Tue 02:00"), "{}", d.reason);
    assert_eq!(c.plan().unwrap().start(), Some(utc("2026-06-02T00:00:00Z")));
    // Without use_plan there is no plan.
    let mut plain = Controller::new(params(), policy("target-by-departure"));
    step(&mut plain, &mut Site::new(0.0), evening);
    assert!(plain.plan().is_none());
}

/// pv-only with a 60 % minimum to reach by 07:00 local (the car is at 50 %: 6.7 kWh at the charger).
const PV_ONLY_MIN: &str = "module = \"pv-only\"\nmin_soc = 60\nmin_soc_by = \"07:00\"\n";

#[test]
fn pv_only_plans_its_minimum_in_the_cheap_hours_when_prices_are_known() {
    let mut c = Controller::new(params(), policy_str(PV_ONLY_MIN));
    let evening = utc("2026-06-01T18:00:00Z"); // 20:00 in Brussels, no sun
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let mut site = Site::new(0.0);
    let d = step(&mut c, &mut site, evening);
    assert!(!d.command.is_charging(), "waits for the cheap hours: {d:?}");
    assert!(
        d.reason.contains("minimum SoC 60") && d.reason.contains("planned start Tue 02:00"),
        "{}",
        d.reason
    );
    let plan = c.plan().expect("the minimum's plan");
    // 50 → 60 % of 60 kWh at 90 %: 6.67 kWh, all of it at 0.10 in the first cheap hour.
    assert!((plan.need_wh - 6_666.7).abs() < 0.1, "{}", plan.need_wh);
    assert!((plan.cost - 0.6667).abs() < 1e-3, "{}", plan.cost);
    assert_eq!(plan.start(), Some(utc("2026-06-02T00:00:00Z")));

    let night = utc("2026-06-02T00:00:00Z");
    let mut last = None;
    for i in 0..5 {
        last = Some(step(&mut c, &mut site, night + Duration::seconds(10 * i)));
    }
    let d = last.unwrap();
    assert!(d.command.is_charging(), "{d:?}");
    assert_eq!(d.command.current().0, 16.0, "{}", d.reason);
}

/// Five steps 10 s apart from `now` (the guard starts at the floor and ramps): the last decision.
fn settle(c: &mut Controller, site: &mut Site, now: DateTime<Utc>) -> sunplug::control::Decision {
    (0..5)
        .map(|i| step(c, site, now + Duration::seconds(10 * i)))
        .last()
        .unwrap()
}

#[test]
fn pv_only_charges_its_minimum_at_once_without_prices_or_when_told_to() {
    let evening = utc("2026-06-01T18:00:00Z");
    // No outlook at all: as before, full power now.
    let mut c = Controller::new(params(), policy_str(PV_ONLY_MIN));
    let d = settle(&mut c, &mut Site::new(0.0), evening);
    assert!(d.command.is_charging(), "{d:?}");
    assert_eq!(d.command.current().0, 16.0);
    assert!(d.reason.contains("below the minimum SoC"), "{}", d.reason);
    assert!(c.plan().is_none());

    // A price list, but `plan_min_soc = false`.
    let text = format!("{PV_ONLY_MIN}plan_min_soc = false\n");
    let mut c = Controller::new(params(), policy_str(&text));
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let d = settle(&mut c, &mut Site::new(0.0), evening);
    assert_eq!(d.command.current().0, 16.0, "{}", d.reason);
    assert!(c.plan().is_none());

    // A price list two days old is not trusted (and there is no forecast): full power now.
    let old = evening - Duration::hours(40);
    let mut c = Controller::new(params(), policy_str(PV_ONLY_MIN));
    c.set_outlook(outlook(old, old, &[2, 3]));
    let d = settle(&mut c, &mut Site::new(0.0), evening);
    assert_eq!(d.command.current().0, 16.0, "{}", d.reason);

    // Too late to plan: 06:50 local for 07:00 (less the margin): full power now.
    let late = utc("2026-06-02T04:50:00Z");
    let mut c = Controller::new(params(), policy_str(PV_ONLY_MIN));
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let d = settle(&mut c, &mut Site::new(0.0), late);
    assert!(d.command.is_charging(), "{d:?}");
    assert_eq!(d.command.current().0, 16.0, "{}", d.reason);

    // Above the minimum, pv-only is solar only again: no sun, no charge.
    let mut c = Controller::new(params(), policy_str(PV_ONLY_MIN));
    c.set_outlook(outlook(evening, evening, &[2, 3]));
    let mut site = Site::new(0.0);
    site.soc = Some((65.0, evening));
    let d = site.step(&mut c, evening);
    assert!(!d.command.is_charging(), "{d:?}");
}

#[test]
fn min_soc_by_needs_min_soc() {
    let e = sunplug::control::policies::load_str(
        std::path::Path::new("p.toml"),
        "module = \"pv-only\"\nmin_soc_by = \"07:00\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("min_soc_by") && e.contains("set min_soc too"),
        "{e}"
    );
}
