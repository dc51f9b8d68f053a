//! The oracle bounds every policy, over random days (proptest).
//!
//! Invariants, in words, for every shipped policy on any day, site, car, charger and meter:
//! 1. **the bound holds**: a run's car solar never exceeds the oracle plus the best use of the grid
//!    energy that run imported for the car (`Simulation::bound_kwh`); for a run that imported
//!    nothing that is `oracle_solar` itself;
//! 2. **outside dips, the oracle holds outright**: the solar a run took while the surplus was at or
//!    above the floor never exceeds `oracle_solar` (only holding the floor through a dip, from the
//!    grid, can take solar the zero-import oracle does not count);
//! 3. **the car never takes more than its room**: car energy × efficiency ≤ the room to the target;
//! 4. **the money optimum holds**: no run saves more than `optimum_savings_eur` (`sim::optimum`), under
//!    a random time-of-use tariff (a cheaper or dearer middle hour, random feed-in and start cost).
//!
//! Days are 3 hours of random 1-min PV (a random peak under random per-minute clouds) and house load;
//! the site, car, charger, meter and controller timing are random too.

use crate::support::sim::root;
use proptest::prelude::*;
use std::path::Path;
use sunplug::sim::data::Series;
use sunplug::sim::input::{Balance, Input};
use sunplug::sim::{Simulation, load_policies, run_all, scenario};

const T0: i64 = 1_780_300_800_000; // 2026-06-01T08:00:00Z
const MIN: i64 = 60_000;

#[derive(Debug, Clone)]
struct Case {
    peak_w: f64,
    clouds: Vec<f64>,
    load: Vec<f64>,
    three_phase: bool,
    ampere: bool,
    gain: f64,
    station_max: f64,
    car_max: f64,
    capacity: f64,
    start_soc: f64,
    target_soc: f64,
    plug_min: u32,
    depart_min: u32,
    interval_s: u32,
    latency_s: u32,
    start_delay_s: u32,
    noise_w: f64,
    dropout: f64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            1000.0..14_000.0f64,
            prop::collection::vec(0.0..1.0f64, 181),
            prop::collection::vec(100.0..3500.0f64, 181),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            0.85..1.15f64,
            prop::sample::select(vec![16.0, 20.0, 32.0]),
            6.0..32.0f64,
        ),
        (
            20.0..100.0f64,
            0.0..95.0f64,
            0.0..1.0f64,
            0..60u32,
            120..181u32,
        ),
        (1..11u32, 0..8u32, 0..20u32, 0.0..80.0f64, 0.0..0.05f64),
    )
        .prop_map(
            |(
                (peak, clouds, load),
                (three, ampere, gain, smax, cmax),
                (cap, start, t, plug, dep),
                (iv, lat, sd, noise, drop),
            )| Case {
                peak_w: peak,
                clouds,
                load,
                three_phase: three,
                ampere,
                gain,
                station_max: smax,
                car_max: cmax.min(smax),
                capacity: cap,
                start_soc: start,
                target_soc: start + t * (100.0 - start),
                plug_min: plug,
                depart_min: dep,
                interval_s: iv,
                latency_s: lat,
                start_delay_s: sd,
                noise_w: noise,
                dropout: drop,
            },
        )
}

fn scenario_text(c: &Case) -> String {
    let hm = |m: u32| format!("{:02}:{:02}", 8 + m / 60, m % 60);
    let policies: Vec<String> = [
        "pv-only",
        "evcc-like",
        "min-plus-pv",
        "fast",
        "target-by-departure",
    ]
    .iter()
    .map(|p| {
        format!(
            "\"{}\"",
            root().join("policies").join(format!("{p}.toml")).display()
        )
    })
    .collect();
    format!(
        r#"policies = [{}]
[data]
pv = "unused.csv"
load = "unused.csv"
[site]
timezone = "UTC"
phases = {}
[control]
interval = "{}s"
[car]
capacity_kwh = {}
start_soc = {}
target_soc = {}
plug_in = "{}"
departure = "{}"
max_current_a = {}
start_delay = "{}s"
[charger]
limit_unit = "{}"
ampere_gain = {}
max_current_a = {}
latency = "{}s"
[meter]
noise_w = {}
dropout_rate = {}
[tariff]
import_eur_kwh = [{}]
export_eur_kwh = {}
start_eur = {}
"#,
        policies.join(", "),
        if c.three_phase { 3 } else { 1 },
        c.interval_s,
        c.capacity,
        c.start_soc,
        c.target_soc,
        hm(c.plug_min),
        hm(c.depart_min),
        c.car_max,
        c.start_delay_s,
        if c.ampere { "ampere" } else { "percentage" },
        c.gain,
        c.station_max,
        c.latency_s,
        c.noise_w,
        c.dropout,
        (0..24)
            .map(|h| if h == 9 {
                format!("{:.3}", 0.30 * c.gain * c.gain)
            } else {
                "0.30".into()
            })
            .collect::<Vec<_>>()
            .join(", "),
        0.15 * c.dropout * 20.0,
        c.noise_w / 1000.0,
    )
}

fn input(c: &Case) -> Input {
    let pv: Vec<(i64, f64)> = c
        .clouds
        .iter()
        .enumerate()
        .map(|(m, k)| {
            let x = m as f64 / 180.0;
            let clear = c.peak_w * (std::f64::consts::PI * (0.2 + 0.6 * x)).sin();
            // Below 0.3: a cloud of random depth; above: sun (cloud enhancement up to +20 %).
            let factor = if *k < 0.3 {
                *k
            } else {
                0.8 + 0.4 * (*k - 0.3) / 0.7
            };
            (T0 + m as i64 * MIN, clear * factor)
        })
        .collect();
    let load: Vec<(i64, f64)> = c
        .load
        .iter()
        .enumerate()
        .map(|(m, w)| (T0 + m as i64 * MIN, *w))
        .collect();
    let balance = Balance::PvLoad {
        pv: Series::from_points("pv", &pv, MIN),
        load: Series::from_points("load", &load, MIN),
    };
    Input::new(balance, None, Some(T0 + 180 * MIN)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_policy_beats_the_oracle_bound(c in case()) {
        let sc = scenario::load_str(Path::new("random.toml"), &scenario_text(&c)).map_err(|p| TestCaseError::fail(p.to_string()))?;
        let room_kwh = (sc.car.target_soc - sc.car.start_soc) / 100.0 * sc.car.capacity_kwh / sc.car.efficiency;
        let policies = load_policies(&sc.policies, true).unwrap();
        let sim = Simulation::new(sc, input(&c));
        let oracle = sim.oracle.no_import_kwh();
        for f in run_all(&sim, policies, false) {
            let m = &f.metrics;
            let bound = sim.bound_kwh(&f.outcome);
            let eps = 1e-9 * (1.0 + bound);
            prop_assert!(m.car_solar_kwh <= bound + eps, "{}: car solar {} > bound {bound}", m.policy, m.car_solar_kwh);
            prop_assert!(m.car_solar_kwh - m.dip_solar_kwh <= oracle + eps, "{}: solar outside dips {} > oracle {oracle}", m.policy, m.car_solar_kwh - m.dip_solar_kwh);
            if m.car_grid_kwh == 0.0 {
                prop_assert!(m.car_solar_kwh <= oracle + eps);
            }
            prop_assert!(m.car_energy_kwh <= room_kwh + eps, "{}: {} kWh into a room of {room_kwh}", m.policy, m.car_energy_kwh);
            prop_assert!(m.savings_eur <= m.optimum_savings_eur + 1e-9, "{}: saved {} € > optimum {} €", m.policy, m.savings_eur, m.optimum_savings_eur);
            prop_assert!(m.savings_capture <= 1.0 + 1e-9);
        }
    }
}
