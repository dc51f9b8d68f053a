//! The `planner` policy (and `target-by-departure` with `use_plan`) inside the daemon's controller:
//! it waits for the cheap slots, charges in them, re-plans when the price list changes, and a stale
//! list gives way to the fallback price.

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
