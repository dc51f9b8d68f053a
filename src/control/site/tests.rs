//! Hand cases of the site controller, a one-loadpoint site against a plain controller over a replayed
//! day, and the property test of the site's safety rules.

use super::*;
use crate::control::controller::OnStale;
use crate::control::guard::GuardParams;
use crate::control::policies;
use crate::units::Volts;
use chrono::TimeZone;
use std::path::Path;

pub(super) const V: Volts = Volts(230.0);

pub(super) fn at(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

/// A typical loadpoint: 6..16 A in whole amps, 25 A fuse, 5 s between changes.
pub(super) fn params(phases: Phases) -> ControllerParams {
    ControllerParams {
        tz: "Europe/Zurich".parse().unwrap(),
        guard: GuardParams {
            supply: Supply::new(phases, V),
            floor: Amps(6.0),
            max: Amps(16.0),
            main_fuse: Some(Amps(25.0)),
            step: Amps(1.0),
            step_base: Amps(0.0),
            ramp_a_per_s: 10.0,
            min_change_interval: Duration::from_secs(5),
        },
        grid_setpoint: Watts(0.0),
        meter_max_age: Duration::from_secs(30),
        on_stale: OnStale::Floor,
        stale_pause_after: Duration::from_secs(60),
        vehicle_max_age: Duration::from_secs(6 * 3600),
        capacity_kwh: Some(60.0),
        efficiency: 0.9,
    }
}

/// A shipped policy file, e.g. "pv-only".
pub(super) fn shipped(name: &str) -> LoadedPolicy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    policies::load_str(&path, &text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn site(fuse: Option<f64>, lps: Vec<(LoadpointSpec, &str)>) -> SiteController {
    let loadpoints = lps
        .into_iter()
        .map(|(spec, policy)| {
            let p = params(spec.phases);
            Loadpoint::new(spec, p, shipped(policy))
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

fn spec(name: &str, phases: Phases, priority: i32) -> LoadpointSpec {
    LoadpointSpec {
        priority,
        ..LoadpointSpec::new(name, phases)
    }
}

/// A small house: PV, a house load, and cars that draw at once what they are offered.
struct House {
    pv_w: f64,
    load_w: f64,
    car_w: Vec<f64>,
}

impl House {
    fn obs(&self, now: DateTime<Utc>) -> SiteObservation {
        let grid = self.load_w + self.car_w.iter().sum::<f64>() - self.pv_w;
        SiteObservation {
            meter: Some(Reading::new(
                MeterSample {
                    house_load: Some(Watts(self.load_w)),
                    ..MeterSample::grid(Watts(grid))
                },
                now,
            )),
            loadpoints: self
                .car_w
                .iter()
                .map(|w| LoadpointObs {
                    charger: ChargerObs {
                        plugged: Some(true),
                        charging: Some(*w > 0.0),
                        power: Some(Reading::new(Watts(*w), now)),
                        ..ChargerObs::default()
                    },
                    ..LoadpointObs::default()
                })
                .collect(),
        }
    }

    fn step(&mut self, s: &mut SiteController, now: DateTime<Utc>) -> SiteDecision {
        let d = s.step(now, &self.obs(now));
        for (i, c) in d.commands().enumerate() {
            let supply = s.loadpoint(i).unwrap().controller().params().supply();
            self.car_w[i] = supply.power(c.current()).0;
        }
        d
    }
}

/// Run `secs` in 10 s steps; the time each loadpoint first charged.
fn run(s: &mut SiteController, h: &mut House, secs: i64) -> Vec<Option<i64>> {
    let mut started = vec![None; s.len()];
    for t in (0..secs).step_by(10) {
        let d = h.step(s, at(t));
        for (i, c) in d.commands().enumerate() {
            if c.is_charging() && started[i].is_none() {
                started[i] = Some(t);
            }
        }
    }
    started
}

#[test]
fn surplus_for_one_floor_goes_to_the_higher_priority() {
    let mut s = site(
        None,
        vec![
            (spec("low", Phases::Three, 0), "pv-only"),
            (spec("high", Phases::Three, 5), "pv-only"),
        ],
    );
    let mut h = House {
        pv_w: 5500.0,
        load_w: 300.0,
        car_w: vec![0.0, 0.0],
    };
    let started = run(&mut s, &mut h, 1800);
    assert!(started[1].is_some(), "the higher priority charges");
    assert_eq!(started[0], None, "the lower priority waits");
    // The higher priority takes the whole surplus: 5200 W is 7 A on three phases.
    assert_eq!(h.car_w[1], Supply::new(Phases::Three, V).power(Amps(7.0)).0);
}

#[test]
fn surplus_for_two_floors_starts_both_the_second_one_stagger_later() {
    let mut s = site(
        None,
        vec![
            (spec("a", Phases::Three, 0), "pv-only"),
            (spec("b", Phases::Three, 0), "pv-only"),
        ],
    );
    let mut h = House {
        pv_w: 9000.0,
        load_w: 300.0,
        car_w: vec![0.0, 0.0],
    };
    let stagger = s.stagger().as_secs() as i64;
    assert_eq!(stagger, 5, "the loadpoints' min_change_interval");
    let mut first_start = [None; 2];
    for t in (0..1800).step_by(5) {
        let d = h.step(&mut s, at(t));
        let starting: Vec<usize> = (0..2)
            .filter(|&i| d.loadpoints[i].decision.command.is_charging() && first_start[i].is_none())
            .collect();
        assert!(starting.len() < 2, "two starts in one step at {t} s");
        for i in starting {
            first_start[i] = Some(t);
        }
    }
    let (a, b) = (first_start[0].unwrap(), first_start[1].unwrap());
    assert!((a - b).abs() >= stagger, "{a} s and {b} s");
    // 8700 W for two 3-phase cars: 6 A each (4140 W), the rest exported.
    assert_eq!(h.car_w, vec![4140.0, 4140.0]);
}

#[test]
fn equal_priorities_split_fairly() {
    let mut s = site(
        None,
        vec![
            (spec("a", Phases::Three, 1), "pv-only"),
            (spec("b", Phases::Three, 1), "pv-only"),
        ],
    );
    let mut h = House {
        pv_w: 14_000.0,
        load_w: 200.0,
        car_w: vec![0.0, 0.0],
    };
    run(&mut s, &mut h, 3600);
    // 13.8 kW: 6.9 kW (10 A) each.
    assert_eq!(h.car_w, vec![6900.0, 6900.0]);
    let d = h.step(&mut s, at(3600));
    assert_eq!(d.loadpoints[0].share_w, d.loadpoints[1].share_w);
    assert!((d.surplus_w.unwrap() - 13_800.0).abs() < 1e-6);
}

#[test]
fn one_phase_on_l1_and_three_phase_under_a_16a_fuse() {
    let mut one = spec("one", Phases::One, 0);
    one.phase = Line::L1;
    let mut s = site(
        Some(16.0),
        vec![(one, "fast"), (spec("three", Phases::Three, 0), "fast")],
    );
    let mut h = House {
        pv_w: 0.0,
        load_w: 0.0,
        car_w: vec![0.0, 0.0],
    };
    let mut both = false;
    for t in (0..600).step_by(5) {
        let d = h.step(&mut s, at(t));
        assert!(d.load_a[0] <= 16.0 + 1e-9, "L1 at {t} s: {:?}", d.load_a);
        assert!(d.load_a[1] <= 16.0 && d.load_a[2] <= 16.0);
        both |= d.commands().all(|c| c.is_charging());
    }
    assert!(both, "both charge, sharing L1");
    let d = h.step(&mut s, at(600));
    // L1 carries both: 8 A + 8 A; L2 and L3 only the 3-phase car.
    assert_eq!(d.load_a, [16.0, 8.0, 8.0]);
    assert_eq!(d.loadpoints[0].site, Some("site-fuse"));
}

#[test]
fn the_stagger_holds_a_grid_start_too() {
    let mut s = site(
        None,
        vec![
            (spec("a", Phases::Three, 0), "fast"),
            (spec("b", Phases::Three, 0), "fast"),
        ],
    );
    let mut h = House {
        pv_w: 0.0,
        load_w: 0.0,
        car_w: vec![0.0, 0.0],
    };
    let d = h.step(&mut s, at(0));
    assert!(d.loadpoints[0].decision.command.is_charging());
    assert_eq!(d.loadpoints[1].decision.command, Command::Pause);
    assert_eq!(d.loadpoints[1].site, Some("stagger"));
    assert!(h.step(&mut s, at(2)).loadpoints[1].decision.command == Command::Pause);
    assert!(
        h.step(&mut s, at(5)).loadpoints[1]
            .decision
            .command
            .is_charging()
    );
}

/// One row of a corpus day: PV and house load, W, per minute.
fn corpus_day(date: &str) -> Option<Vec<(f64, f64)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/corpus");
    let pv = std::fs::read_to_string(root.join(format!("pv/bsrn_pay_{date}.csv"))).ok()?;
    let load_name = std::fs::read_dir(root.join("load"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.contains(date))?;
    let load = std::fs::read_to_string(root.join("load").join(load_name)).ok()?;
    let col = |text: &str, k: usize| -> Vec<f64> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').nth(k).unwrap().parse().unwrap())
            .collect()
    };
    Some(col(&pv, 2).into_iter().zip(col(&load, 1)).collect())
}

#[test]
fn one_loadpoint_decides_exactly_what_a_plain_controller_does_over_a_replayed_day() {
    let day = corpus_day("2016-06-17").expect("../shared/data/corpus beside the repo");
    for (policy, measured) in [("pv-only", true), ("pv-only", false), ("min-plus-pv", true)] {
        let mut plain = Controller::new(params(Phases::Three), shipped(policy));
        let mut s = site(Some(25.0), vec![(spec("car", Phases::Three, 0), policy)]);
        let supply = Supply::new(Phases::Three, V);
        let (mut car_plain, mut car_site) = (0.0, 0.0);
        let mut charged = 0;
        for k in 0..(1440 * 6) {
            let now = at(k * 10);
            let (pv, load) = day[(k / 6) as usize];
            let obs = |car: f64| Observation {
                meter: Some(Reading::new(
                    MeterSample {
                        house_load: Some(Watts(load)),
                        ..MeterSample::grid(Watts(load + car - pv))
                    },
                    now,
                )),
                charger: ChargerObs {
                    plugged: Some(true),
                    charging: Some(car > 0.0),
                    power: measured.then(|| Reading::new(Watts(car), now)),
                    ..ChargerObs::default()
                },
                ..Observation::default()
            };
            let a = plain.step(now, &obs(car_plain));
            let o = obs(car_site);
            let site_obs = SiteObservation {
                meter: o.meter,
                loadpoints: vec![LoadpointObs {
                    charger: o.charger,
                    vehicle: o.vehicle,
                    overrides: o.overrides,
                }],
            };
            let b = s.step(now, &site_obs);
            assert_eq!(a, b.loadpoints[0].decision, "{policy} at step {k}");
            car_plain = supply.power(a.command.current()).0;
            car_site = supply.power(b.loadpoints[0].decision.command.current()).0;
            charged += usize::from(a.command.is_charging());
        }
        assert!(charged > 500, "{policy}: the day charges ({charged} steps)");
    }
}

#[test]
fn a_loadpoint_left_out_of_the_observation_pauses() {
    let mut s = site(
        None,
        vec![
            (spec("a", Phases::Three, 0), "fast"),
            (spec("b", Phases::Three, 0), "fast"),
        ],
    );
    let mut h = House {
        pv_w: 0.0,
        load_w: 0.0,
        car_w: vec![0.0],
    };
    for t in (0..60).step_by(5) {
        let d = s.step(at(t), &h.obs(at(t)));
        assert_eq!(d.loadpoints.len(), 2);
        assert_eq!(d.loadpoints[1].decision.command, Command::Pause);
        h.car_w[0] = Supply::new(Phases::Three, V)
            .power(d.loadpoints[0].decision.command.current())
            .0;
    }
    assert!(h.car_w[0] > 0.0, "the one observed charges");
}

/// Steps of 10 s from `from` to `to`, each car drawing at most its `limit_w` whatever it is
/// offered. The last decision.
fn run_limited(
    s: &mut SiteController,
    h: &mut House,
    limit_w: &[f64],
    from: i64,
    to: i64,
) -> SiteDecision {
    let mut last = None;
    for t in (from..to).step_by(10) {
        let d = h.step(s, at(t));
        for (w, l) in h.car_w.iter_mut().zip(limit_w) {
            *w = w.min(*l);
        }
        last = Some(d);
    }
    last.unwrap()
}

/// Two equal cars on 14 kW of surplus, both charging 10 A (6900 W) after 15 minutes.
fn tapering_pair() -> (SiteController, House) {
    let mut s = site(
        None,
        vec![
            (spec("a", Phases::Three, 0), "pv-only"),
            (spec("b", Phases::Three, 0), "pv-only"),
        ],
    );
    let mut h = House {
        pv_w: 14_200.0,
        load_w: 200.0,
        car_w: vec![0.0, 0.0],
    };
    let d = run_limited(&mut s, &mut h, &[f64::INFINITY; 2], 0, 900);
    assert_eq!(h.car_w, vec![6900.0, 6900.0], "{d:?}");
    assert_eq!(d.loadpoints[0].share_w, Some(7000.0));
    assert_eq!(d.loadpoints[1].share_w, Some(7000.0));
    (s, h)
}

#[test]
fn a_car_drawing_less_than_its_command_hands_the_rest_to_the_other() {
    let (mut s, mut h) = tapering_pair();
    let capped = |s: &SiteController, t| s.loadpoint(0).unwrap().capped(at(t));
    // From 900 s "a" draws 2 kW whatever it is given (near full, say); its PI pushes its command up
    // by up to 3 A first, and each raise restarts the count.
    let limit = [2000.0, f64::INFINITY];
    let mut first = None;
    for t in (900..1500).step_by(10) {
        let d = run_limited(&mut s, &mut h, &limit, t, t + 10);
        // The first reading of 2 kW is at 910 s: a minute of it at least.
        assert!(t >= 910 + 60 || !capped(&s, t), "capped {t} s, too soon");
        if capped(&s, t) && first.is_none() {
            first = Some(t);
            assert!(d.loadpoints[0].share_w < Some(7000.0), "{d:?}");
        }
    }
    assert_eq!(first, Some(970), "a minute after the first reading of 2 kW");
    // Its claim is capped at its floor (2 kW + 1 A is below the 6 A floor), and "b" gets what "a"
    // leaves: 14 000 − 4140 W, so it charges at 14 A.
    let d = run_limited(&mut s, &mut h, &limit, 1500, 1510);
    assert!(capped(&s, 1500));
    assert_eq!(d.loadpoints[0].share_w, Some(4140.0), "{d:?}");
    assert_eq!(d.loadpoints[1].share_w, Some(9860.0), "{d:?}");
    assert_eq!(
        h.car_w[1],
        Supply::new(Phases::Three, V).power(Amps(14.0)).0,
        "b charges on what a leaves"
    );
}

#[test]
fn a_capped_car_that_draws_near_its_command_again_gets_its_share_back() {
    let (mut s, mut h) = tapering_pair();
    run_limited(&mut s, &mut h, &[2000.0, f64::INFINITY], 900, 1500);
    assert!(s.loadpoint(0).unwrap().capped(at(1490)));
    // The car follows its command again (it was only cold, say): the cap lifts at its first
    // reading and the two share fairly again.
    let free = [f64::INFINITY; 2];
    run_limited(&mut s, &mut h, &free, 1500, 1520);
    assert!(!s.loadpoint(0).unwrap().capped(at(1510)));
    let d = run_limited(&mut s, &mut h, &free, 1510, 2400);
    assert_eq!(d.loadpoints[0].share_w, Some(7000.0), "{d:?}");
    assert_eq!(h.car_w, vec![6900.0, 6900.0], "{d:?}");
    assert!(!s.loadpoint(0).unwrap().capped(at(2390)));
}

#[test]
fn a_just_started_or_raised_car_is_not_capped() {
    // One car (the count is kept for every loadpoint) drawing 2 kW whatever it is given, on 7 kW.
    let mut s = site(None, vec![(spec("a", Phases::Three, 0), "pv-only")]);
    let mut h = House {
        pv_w: 7_200.0,
        load_w: 200.0,
        car_w: vec![0.0],
    };
    let limit = [2000.0];
    let capped = |s: &SiteController, t| s.loadpoint(0).unwrap().capped(at(t));
    let mut started = None;
    for t in (0..900).step_by(10) {
        let d = run_limited(&mut s, &mut h, &limit, t, t + 10);
        if started.is_none() && d.loadpoints[0].decision.command.is_charging() {
            started = Some(t);
        }
        // Not before settle (15 s) and a minute have passed since the start.
        if let Some(t0) = started {
            assert!(
                t >= t0 + 75 || !capped(&s, t),
                "capped {t} s, started {t0} s"
            );
        }
    }
    let t0 = started.expect("a starts");
    assert!(capped(&s, 890), "started at {t0} s, drawing 2 kW since");
    // More sun: "a" is raised, which lifts nothing that is capped (a PI nudge must not undo it)...
    h.pv_w = 14_200.0;
    let d = run_limited(&mut s, &mut h, &limit, 900, 910);
    assert!(capped(&s, 900), "{d:?}");
    // ... but a count that had not capped yet starts over: let the car follow (cap lifted), then
    // draw 2 kW again right after a raise.
    run_limited(&mut s, &mut h, &[f64::INFINITY], 910, 1500);
    assert!(!capped(&s, 1490));
    h.pv_w = 7_200.0;
    run_limited(&mut s, &mut h, &limit, 1500, 1560);
    h.pv_w = 14_200.0;
    let mut raised = None;
    for t in (1560..2400).step_by(10) {
        let before = s.loadpoint(0).unwrap().controller().last_command();
        let d = run_limited(&mut s, &mut h, &limit, t, t + 10);
        let c = d.loadpoints[0].decision.command;
        if before.is_some_and(|(b, _)| c.current() > b.current()) {
            raised = Some(t);
        }
        if let Some(r) = raised {
            assert!(t >= r + 75 || !capped(&s, t), "capped {t} s, raised {r} s");
        }
    }
    assert!(raised.is_some(), "the sun raised it");
}
