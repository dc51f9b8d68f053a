//! The simulator's fast paths change nothing: every shipped policy (and the script example) on corpus
//! days of each sky class gives the same outcome, bit for bit, run the fast way (the `()` observer,
//! which lets the run skip what cannot matter) and the full way (an observer that sees every step).

use crate::support::sim::root;
use sunplug::sim::{Observer, Simulation, days, load_policies, scenario};

/// Sees every step, so the run takes no shortcut.
struct EveryStep;
impl Observer for EveryStep {}

#[test]
fn a_days_figures_are_identical_with_and_without_the_fast_paths() {
    let sc = scenario::load(&root().join("simulations/payerne-broken-clouds.toml")).unwrap();
    let all = days::list(&root().join("../shared/data/corpus")).unwrap();
    // A broken, a clear, a mixed and the overcast day.
    let picked: Vec<_> = ["2016-06-17", "2016-06-24", "2016-06-03", "2016-06-16"]
        .iter()
        .map(|d| all.iter().find(|x| &x.date == d).unwrap().clone())
        .collect();
    let sims: Vec<Simulation> = days::prepare(&sc, &picked, 2).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for sim in &sims {
        let fast = load_policies(&files, true).unwrap();
        let full = load_policies(&files, true).unwrap();
        for (a, b) in fast.into_iter().zip(full) {
            let name = a.name.clone();
            let (oa, ob) = (sim.run(a, &mut ()), sim.run(b, &mut EveryStep));
            let day = sim.scenario.data.pv.as_ref().unwrap().display().to_string();
            assert_eq!(sim.metrics(&oa), sim.metrics(&ob), "{name} on {day}");
            assert_eq!(oa.tally, ob.tally, "{name} on {day}");
            assert_eq!(oa.sessions, ob.sessions, "{name} on {day}");
            assert_eq!(
                (
                    oa.writes,
                    oa.meter_samples,
                    oa.meter_dropped,
                    oa.replug_resets
                ),
                (
                    ob.writes,
                    ob.meter_samples,
                    ob.meter_dropped,
                    ob.replug_resets
                ),
                "{name} on {day}"
            );
        }
    }
}
