//! Property tests of the safety rules, stated first in words.
//!
//! For any sequence of wishes, house loads and step times, whatever a policy asks:
//! 1. **floor**: the command is a pause or at least the floor — never in (0 A, floor);
//! 2. **caps**: never above the charger/cable/car maximum, nor the main fuse minus the house load per
//!    phase at that step;
//! 3. **resolution**: a current is always `base + n × step` (what the charger can really be sent);
//! 4. **ramp**: an increase between two charging commands is at most `ramp × time since the last
//!    change`, and a start (from pause or after a restart) is at the floor;
//! 5. **change interval**: two changes are at least `min_change_interval` apart, except a decrease
//!    forced by a cap the previous command exceeds;
//! 6. **no change without cause**: the same wish and load twice in a row gives the same command.
//!
//! The guard is checked over 100,000 random sequences; the whole controller (every built-in policy,
//! random observations including stale and garbage ones) over fewer, longer ones.

use crate::support::control::*;
use crate::support::t0;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use std::time::Duration;
use sunplug::control::guard::{Guard, GuardParams};
use sunplug::control::{Command, Controller, MeterSample, Observation, Reading};
use sunplug::units::{Amps, Phases, Soc, Supply, Volts, Watts};

const EPS: f64 = 1e-9;

#[derive(Debug, Clone)]
struct Step {
    dt_s: u32,
    wanted: Option<f64>,
    house_w: Option<f64>,
}

fn guard_params() -> impl Strategy<Value = GuardParams> {
    (
        prop_oneof![Just(Phases::One), Just(Phases::Three)],
        10.0f64..=32.0,
        prop::option::of(16.0f64..=63.0),
        any::<bool>(),
        0.1f64..=5.0,
        5u64..=30,
    )
        .prop_map(|(phases, max, fuse, percent, ramp, interval)| {
            let (step_base, step) = if percent {
                (Amps(6.0), Amps((max - 6.0) / 100.0))
            } else {
                (Amps(0.0), Amps(1.0))
            };
            GuardParams {
                supply: Supply::new(phases, Volts(230.0)),
                floor: Amps(6.0),
                max: Amps(max),
                main_fuse: fuse.map(Amps),
                step,
                step_base,
                ramp_a_per_s: ramp,
                min_change_interval: Duration::from_secs(interval),
            }
        })
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let wanted = prop_oneof![
        3 => prop::option::of(-5.0f64..=50.0),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => Just(Some(5.999_999)),
    ];
    let step = (0u32..=40, wanted, prop::option::of(0.0f64..=20_000.0)).prop_map(
        |(dt_s, wanted, house_w)| Step {
            dt_s,
            wanted,
            house_w,
        },
    );
    prop::collection::vec(step, 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn guard_invariants_hold(p in guard_params(), seq in steps(), resumed in prop::option::of(6.0f64..=32.0)) {
        let mut g = Guard::new(p);
        let mut now = t0();
        if let Some(a) = resumed {
            g.resume(Command::Charge { current: Amps(a), phases: p.supply.phases }, now);
        }
        let mut last: Option<(Command, DateTime<Utc>)> = g.last();
        if let Some((Command::Charge { current, .. }, _)) = last {
            let n = (current.0 - p.step_base.0) / p.step.0;
            prop_assert!((n - n.round()).abs() < 1e-6 && current.0 <= p.max.0 + EPS && current >= p.floor, "resumed off-grid: {current}");
        }
        for s in &seq {
            now += chrono::Duration::seconds(i64::from(s.dt_s));
            let house = s.house_w.map(Watts);
            let out = g.apply(now, s.wanted.map(Amps), house).command;
            let a = out.current().0;
            // 1. floor
            prop_assert!(a == 0.0 || a >= p.floor.0 - EPS, "in (0, floor): {a}");
            // 2. caps
            let (cap, _) = p.cap(house);
            prop_assert!(a <= p.max.0 + EPS, "above max: {a} > {}", p.max.0);
            prop_assert!(a == 0.0 || a <= cap.0 + EPS, "above the fuse cap: {a} > {}", cap.0);
            // 3. resolution
            if a > 0.0 {
                let n = (a - p.step_base.0) / p.step.0;
                prop_assert!((n - n.round()).abs() < 1e-6, "not a step: {a}");
            }
            if let Some((prev, at)) = last {
                if out != prev {
                    let since = (now - at).to_std().unwrap().as_secs_f64();
                    // 4. ramp
                    match prev {
                        Command::Charge { current, .. } if a > current.0 => {
                            prop_assert!(a - current.0 <= p.ramp_a_per_s * since + EPS, "ramp: {} → {a} in {since}s", current.0);
                        }
                        Command::Pause if a > 0.0 => prop_assert!((a - p.floor.0).abs() < EPS, "start above the floor: {a}"),
                        _ => {}
                    }
                    // 5. change interval
                    let forced = prev.current() > cap && a < prev.current().0;
                    prop_assert!(since >= p.min_change_interval.as_secs_f64() || forced, "changed after {since}s");
                    last = Some((out, now));
                }
            } else if a > 0.0 {
                prop_assert!((a - p.floor.0).abs() < EPS, "first command above the floor: {a}");
                last = Some((out, now));
            } else {
                last = Some((out, now));
            }
            // 6. same input again, same time: same command.
            let again = g.apply(now, s.wanted.map(Amps), house).command;
            prop_assert_eq!(again, out);
        }
    }
}

/// Random observations for the whole controller: meter readings fresh, stale or absent, absurd
/// values, plug flapping, SoC reports of any age.
#[derive(Debug, Clone)]
struct ObsStep {
    dt_s: u32,
    grid_w: Option<f64>,
    meter_age_s: u32,
    house_w: Option<f64>,
    car_w: Option<f64>,
    plugged: Option<bool>,
    soc: Option<(f64, u32)>,
    charge_now: bool,
    /// The station's own maximum, as it reports it (sometimes nonsense).
    station_max: Option<f64>,
}

fn obs_steps() -> impl Strategy<Value = Vec<ObsStep>> {
    let step = (
        (
            1u32..=30,
            prop::option::of(-30_000.0f64..=30_000.0),
            0u32..=120,
        ),
        (
            prop::option::of(0.0f64..=15_000.0),
            prop::option::of(0.0f64..=25_000.0),
        ),
        (
            prop::option::weighted(0.9, any::<bool>()),
            prop::option::of((0.0f64..=100.0, 0u32..=30_000)),
            prop::bool::weighted(0.05),
            prop::option::weighted(0.2, -5.0f64..=40.0),
        ),
    )
        .prop_map(
            |(
                (dt_s, grid_w, meter_age_s),
                (house_w, car_w),
                (plugged, soc, charge_now, station_max),
            )| ObsStep {
                dt_s,
                grid_w,
                meter_age_s,
                house_w,
                car_w,
                plugged,
                soc,
                charge_now,
                station_max,
            },
        );
    prop::collection::vec(step, 1..120)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn controller_commands_are_always_safe(seq in obs_steps(), policy_ix in 0usize..5) {
        let name = ["pv-only", "min-plus-pv", "target-by-departure", "fast", "evcc-like"][policy_ix];
        let p = params();
        let mut c = Controller::new(p, policy(name));
        let mut now = t0();
        for s in &seq {
            now += chrono::Duration::seconds(i64::from(s.dt_s));
            let mut obs = Observation::default();
            if let Some(g) = s.grid_w {
                let mut m = MeterSample::grid(Watts(g));
                m.house_load = s.house_w.map(Watts);
                obs.meter = Some(Reading::new(m, now - chrono::Duration::seconds(i64::from(s.meter_age_s))));
            }
            obs.charger.plugged = s.plugged;
            obs.charger.power = s.car_w.map(|w| Reading::new(Watts(w), now));
            obs.vehicle.soc = s.soc.map(|(v, age)| Reading::new(Soc::new(v).unwrap(), now - chrono::Duration::seconds(i64::from(age))));
            obs.overrides.charge_now = s.charge_now;
            obs.charger.max = s.station_max.map(Amps);
            let d = c.step(now, &obs);
            let a = d.command.current().0;
            let house = obs.meter.filter(|m| m.is_fresh(now, p.meter_max_age)).and_then(|m| m.value.house_load);
            let (cap, _) = p.guard.cap(house);
            prop_assert!(a == 0.0 || a >= p.guard.floor.0 - EPS, "{name}: in (0, floor): {a}");
            prop_assert!(a == 0.0 || a <= cap.0 + EPS, "{name}: above cap {}: {a}", cap.0);
            if let Some(m) = s.station_max.filter(|m| *m >= p.guard.floor.0) {
                prop_assert!(a <= m + EPS, "{name}: above the station's {m} A: {a}");
            }
            if s.plugged == Some(false) {
                prop_assert_eq!(d.command, Command::Pause, "{} charges with no car", name);
            }
            prop_assert!(!d.reason.is_empty());
        }
    }
}
