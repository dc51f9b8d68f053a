//! Property tests of the departure plan, stated first in words.
//!
//! For any horizon of 1..=64 slots of 15 min to 2 h, any prices within 0..0.8 per kWh, any forecast
//! surplus within 0..12 kW, any charger limits (6..=16 A floor, up to 32 A, one or three phases) and
//! any need up to 120 kWh, with the forecast taken as the truth:
//! 1. **target met whenever feasible**: if charging at full power in every slot (the sun as it comes)
//!    delivers the need, the plan delivers it (no shortfall), and its solar plus grid energy is at
//!    least the need; if not, the plan charges every slot at full power (the most it can);
//! 2. **never dearer than charging now**: the plan's cost is at most that of charging at full power
//!    from the first slot until the need is met;
//! 3. **within the limits**: a slot's power while charging is at most the maximum, a grid rate never
//!    negative, a share within 0..=1, and no slot charges below the floor.
//!
//! 10,000 random cases.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use sunplug::control::plan::{Limits, SlotInput, cost_charge_now, plan};
use sunplug::units::{Amps, Phases, Supply, Volts, Watts};

#[derive(Debug, Clone)]
struct Case {
    slots: Vec<(i64, f64, f64)>,
    floor_a: f64,
    max_a: f64,
    three: bool,
    need_wh: f64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(
            (
                prop::sample::select(vec![15i64, 30, 60, 120]),
                0.0f64..0.8,
                prop_oneof![Just(0.0), 0.0f64..12_000.0],
            ),
            1..64,
        ),
        6.0f64..=16.0,
        0.0f64..=16.0,
        any::<bool>(),
        0.0f64..120_000.0,
    )
        .prop_map(|(slots, floor_a, extra, three, need_wh)| Case {
            slots,
            floor_a,
            max_a: floor_a + extra,
            three,
            need_wh,
        })
}

fn inputs(c: &Case) -> (Vec<SlotInput>, Limits) {
    let t0: DateTime<Utc> = "2026-06-01T16:07:00Z".parse().unwrap();
    let mut t = t0;
    let slots = c
        .slots
        .iter()
        .map(|&(min, price, surplus)| {
            let s = SlotInput {
                start: t,
                end: t + Duration::minutes(min),
                surplus: Watts(surplus),
                price,
            };
            t = s.end;
            s
        })
        .collect();
    let phases = if c.three { Phases::Three } else { Phases::One };
    let limits = Limits::new(
        Supply::new(phases, Volts(230.0)),
        Amps(c.floor_a),
        Amps(c.max_a),
    );
    (slots, limits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn plans_meet_the_target_and_never_cost_more_than_charging_now(c in case()) {
        let (slots, limits) = inputs(&c);
        let p = plan(c.need_wh, &slots, limits);
        let (now_cost, now_left) = cost_charge_now(c.need_wh, &slots, limits);
        let tol = 1e-6 * (1.0 + c.need_wh);
        // 1. Target met whenever feasible.
        if now_left <= tol {
            prop_assert!(p.shortfall_wh <= tol, "feasible but short {} Wh", p.shortfall_wh);
            let delivered: f64 = p.slots.iter().map(|s| s.solar_wh() + s.grid_wh()).sum();
            prop_assert!(delivered + tol >= c.need_wh, "{delivered} < {}", c.need_wh);
        } else {
            for (s, i) in p.slots.iter().zip(&slots) {
                let full = limits.max.0 * i.hours();
                prop_assert!((s.solar_wh() + s.grid_wh() - full).abs() <= 1e-6 * (1.0 + full));
            }
        }
        // 2. Never dearer than charging now.
        prop_assert!(p.cost <= now_cost + 1e-9 * (1.0 + now_cost.abs()), "{} > {now_cost}", p.cost);
        // 3. Within the limits.
        for s in &p.slots {
            prop_assert!(s.grid_rate.0 >= 0.0 && s.grid.0 >= -1e-9);
            prop_assert!((0.0..=1.0).contains(&s.share));
            if s.grid.0 > 0.0 {
                let power = s.grid_rate.0 + s.surplus.0.clamp(0.0, limits.max.0);
                prop_assert!(power <= limits.max.0 + 1e-6, "{power} above {}", limits.max.0);
                prop_assert!(power + 1e-6 >= limits.floor.0, "{power} below the floor");
            }
        }
    }
}
