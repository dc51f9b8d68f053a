//! The two-night scenario with day-ahead prices: the planner reaches the target for less money than
//! "latest start" and than charging now, with a perfect and with a noisy forecast; a price CSV or a
//! `[forecast]` that is wrong is refused with its key.

use crate::support::sim::root;
use sunplug::sim::scenario;
use sunplug::sim::{Simulation, input::Input, load_policies, run_all};

fn costs(file: &str) -> Vec<(String, f64, bool, f64, u32)> {
    let sc =
        scenario::load(&root().join("simulations").join(file)).unwrap_or_else(|e| panic!("{e}"));
    let input = Input::load(&sc.data).unwrap();
    let policies = load_policies(&sc.policies, true).unwrap();
    let sim = Simulation::new(sc, input);
    run_all(&sim, policies, false)
        .into_iter()
        .map(|f| {
            let m = f.metrics;
            (
                f.outcome.policy,
                m.cost_eur,
                m.target_met,
                m.car_solar_kwh,
                m.setpoint_writes,
            )
        })
        .collect()
}

fn check(file: &str) {
    let runs = costs(file);
    let get = |name: &str| runs.iter().find(|r| r.0 == name).unwrap().clone();
    let (planner, tbd, fast) = (get("planner"), get("target-by-departure"), get("fast"));
    for r in [&planner, &tbd, &fast] {
        assert!(r.2, "{} missed the target: {runs:?}", r.0);
    }
    assert!(planner.1 < tbd.1 && planner.1 < fast.1, "{runs:?}");
    assert!(
        planner.3 > tbd.3,
        "the planner leaves room for Saturday's sun: {runs:?}"
    );
    // The planned minimum is fixed per slot: passing clouds move no setpoint (it wrote 850 times
    // here, 461 for "latest start", when the minimum followed the live sun).
    assert!(planner.4 <= tbd.4, "writes: {runs:?}");
}

#[test]
fn the_planner_is_cheapest_with_a_perfect_forecast() {
    check("payerne-two-nights.toml");
}

#[test]
fn the_planner_is_cheapest_with_a_noisy_forecast() {
    check("payerne-two-nights-noisy.toml");
}

#[test]
fn bad_price_files_and_forecast_keys_are_named() {
    let dir = crate::support::sim::Dir::new();
    dir.write(
        "prices.csv",
        "time,spot_eur_mwh\n2016-06-03T00:00:00Z,12,5\n",
    );
    let text = format!(
        "policies = [\"{}\"]\n[data]\nnet = \"net.csv\"\n[site]\ntimezone = \"Europe/Zurich\"\n[car]\ncapacity_kwh = 50\nstart_soc = 20\n[tariff]\nimport_csv = \"prices.csv\"\n[forecast]\nmode = \"perfect\"\nbias_pct = 10\n",
        root().join("policies/planner.toml").display()
    );
    let path = dir.write("s.toml", &text);
    let e = scenario::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("tariff.import_csv") && e.contains("line 2"),
        "{e}"
    );
    assert!(e.contains("forecast.mode") && e.contains("noisy"), "{e}");
}
