//! The site controller's safety rules as a property test, stated first in words.
//!
//! For any set of 1 to 4 loadpoints (1- or 3-phase, any line, any priorities, pv-only, min-plus-pv
//! or fast, whole-amp or percentage resolution, any or no main fuse) and any few observations
//! (a fresh, stale or missing meter, any grid power and house load, cars plugged or not, measured
//! or not, "charge now" or not), at every step:
//! 1. **fuse**: on each line, the commands' currents add up to at most the main fuse minus the
//!    house load per phase (nothing at all when the house alone is over it);
//! 2. **floor**: every command is a pause or at least its loadpoint's floor, never between;
//! 3. **max**: never above a loadpoint's maximum (its own override included);
//! 4. **stagger**: at most one loadpoint goes from paused to charging in one step.
//!
//! 100,000 cases, each a few steps.

use super::tests::{V, at, params};
use super::*;
use crate::control::policies;
use proptest::prelude::*;
use std::sync::OnceLock;

const EPS: f64 = 1e-6;

/// The three built-in kinds of wish, as in `policies/`: parsing a policy file per loadpoint per case
/// would cost more than the case itself, so the common knobs are parsed once and cloned.
#[derive(Debug)]
struct Kind(u8);

impl crate::control::Policy for Kind {
    fn wish(&mut self, ctx: &crate::control::PolicyContext<'_>) -> crate::control::Wish {
        use crate::control::Wish;
        match self.0 {
            0 => Wish::Solar {
                minimum: None,
                reason: "solar only".into(),
            },
            1 => Wish::Solar {
                minimum: Some(ctx.floor),
                reason: "floor from the grid, solar on top".into(),
            },
            _ => Wish::Fixed {
                current: ctx.max,
                reason: "fast".into(),
            },
        }
    }
}

fn policy(k: u8) -> LoadedPolicy {
    static COMMON: OnceLock<policies::Common> = OnceLock::new();
    let common = COMMON.get_or_init(|| super::tests::shipped("pv-only").common);
    LoadedPolicy {
        name: ["pv-only", "min-plus-pv", "fast"][usize::from(k.min(2))].into(),
        module: "test",
        needs_soc: false,
        common: common.clone(),
        policy: Box::new(Kind(k)),
        files: Vec::new(),
    }
}

#[derive(Debug, Clone)]
struct Lp {
    three: bool,
    line: u8,
    priority: i32,
    policy: u8,
    percent: bool,
    max: f64,
    max_override: Option<f64>,
}

fn lp() -> impl Strategy<Value = Lp> {
    (
        any::<bool>(),
        0u8..3,
        -2i32..=2,
        0u8..3,
        any::<bool>(),
        10.0f64..=32.0,
        prop::option::of(4.0f64..=20.0),
    )
        .prop_map(
            |(three, line, priority, policy, percent, max, max_override)| Lp {
                three,
                line,
                priority,
                policy,
                percent,
                max,
                max_override,
            },
        )
}

#[derive(Debug, Clone)]
struct Car {
    plugged: Option<bool>,
    measured: Option<f64>,
    charge_now: bool,
}

#[derive(Debug, Clone)]
struct Step {
    dt_s: i64,
    /// 0: fresh, 1: stale, 2: none.
    meter: u8,
    grid_w: f64,
    house_w: Option<f64>,
    cars: Vec<Car>,
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    let car = (
        prop::option::of(prop_oneof![4 => Just(true), 1 => Just(false)]),
        prop::option::of(0.0f64..=25_000.0),
        prop_oneof![5 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(plugged, measured, charge_now)| Car {
            plugged,
            measured,
            charge_now,
        });
    (
        0i64..=40,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        -25_000.0f64..=15_000.0,
        prop::option::of(0.0f64..=20_000.0),
        prop::collection::vec(car, n),
    )
        .prop_map(|(dt_s, meter, grid_w, house_w, cars)| Step {
            dt_s,
            meter,
            grid_w,
            house_w,
            cars,
        })
}

fn case() -> impl Strategy<Value = (Vec<Lp>, Option<f64>, Vec<Step>)> {
    (1usize..=4).prop_flat_map(|n| {
        (
            prop::collection::vec(lp(), n),
            prop::option::of(10.0f64..=63.0),
            prop::collection::vec(step(n), 1..5),
        )
    })
}

fn build(lps: &[Lp], fuse: Option<f64>) -> SiteController {
    let loadpoints = lps
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let phases = if l.three { Phases::Three } else { Phases::One };
            let mut p = params(phases);
            p.guard.max = Amps(l.max);
            p.guard.main_fuse = None;
            if l.percent {
                p.guard.step_base = Amps(6.0);
                p.guard.step = Amps((l.max - 6.0) / 100.0);
            }
            let spec = LoadpointSpec {
                name: format!("lp{i}"),
                priority: l.priority,
                phases,
                phase: [Line::L1, Line::L2, Line::L3][usize::from(l.line)],
                max_current: l.max_override.map(Amps),
            };
            Loadpoint::new(spec, p, policy(l.policy))
        })
        .collect();
    SiteController::new(
        SiteParams {
            main_fuse: fuse.map(Amps),
            supply: Supply::new(Phases::Three, V),
            stagger: None,
        },
        loadpoints,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100_000))]

    #[test]
    fn the_site_never_exceeds_the_fuse_nor_leaves_a_car_below_its_floor(
        (lps, fuse, steps) in case()
    ) {
        let mut site = build(&lps, fuse);
        let mut t = 0;
        let mut last: Vec<Command> = vec![Command::Pause; lps.len()];
        for s in &steps {
            t += s.dt_s;
            let now = at(t);
            let meter_at = match s.meter {
                0 => Some(now),
                1 => Some(now - chrono::Duration::seconds(600)),
                _ => None,
            };
            let meter = meter_at.map(|a| Reading::new(
                MeterSample {
                    house_load: s.house_w.map(Watts),
                    ..MeterSample::grid(Watts(s.grid_w))
                },
                a,
            ));
            let obs = SiteObservation {
                meter,
                loadpoints: s.cars.iter().map(|c| LoadpointObs {
                    charger: ChargerObs {
                        plugged: c.plugged,
                        power: c.measured.map(|w| Reading::new(Watts(w), now)),
                        ..ChargerObs::default()
                    },
                    overrides: Overrides { charge_now: c.charge_now, ..Overrides::default() },
                    ..LoadpointObs::default()
                }).collect(),
            };
            let d = site.step(now, &obs);
            let house = match (s.meter, s.house_w) {
                (0, Some(h)) => h,
                _ => 0.0,
            };
            let commands: Vec<(Command, Wire)> = d.commands()
                .zip(site.loadpoints())
                .map(|(c, l)| (c, l.spec().wire()))
                .collect();
            if let Some(f) = fuse {
                let room = (f - house / (3.0 * V.0)).max(0.0);
                let load = fuse::loads(Phases::Three, &commands);
                for (k, l) in load.iter().enumerate() {
                    prop_assert!(*l <= room + EPS, "L{} carries {l} A, room {room} A: {d:?}", k + 1);
                }
            }
            let mut starts = 0;
            for (i, (c, l)) in d.commands().zip(site.loadpoints()).enumerate() {
                let g = &l.controller().params().guard;
                if let Command::Charge { current, .. } = c {
                    prop_assert!(current.0 >= g.floor.0 - EPS, "{} below the floor {}", current, g.floor);
                    prop_assert!(current.0 <= g.max.0 + EPS, "{} above the max {}", current, g.max);
                    if let Some(o) = lps[i].max_override {
                        prop_assert!(current.0 <= o.max(g.floor.0) + EPS);
                    }
                    if !last[i].is_charging() {
                        starts += 1;
                    }
                }
                last[i] = c;
            }
            prop_assert!(starts <= 1, "{starts} starts in one step");
        }
    }
}
