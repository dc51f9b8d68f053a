//! Why no policy that keeps a 0.95 solar share can capture 0.9 of the money optimum on the corpus'
//! validation days under the default flat tariff (issue 14): the bound of `sim::optimum::
//! share_bound_solar_wh` (every step above the floor, then the sunniest dips at the floor while the
//! grid stays within the share; no starts, minimum times, taper or meter) against the optimum's
//! savings, day by day, and the shipped pv-only under it. The figures are printed (`cargo test
//! --test it share_bound -- --nocapture`) and quoted in the README.

use crate::support::sim::root;
use sunplug::sim::{Simulation, days, scenario, tune};

fn validation_days() -> Vec<Simulation> {
    let sc = scenario::load(&root().join("simulations/payerne-broken-clouds.toml")).unwrap();
    let all = days::list(&root().join("../shared/data/corpus")).unwrap();
    // The split of simulations/tune-pv-only.toml: every third day of each sky class by date.
    let is_val = tune::split(&all, &tune::Split::default());
    let val: Vec<_> = all
        .into_iter()
        .zip(is_val)
        .filter(|(_, v)| *v)
        .map(|(d, _)| d)
        .collect();
    assert_eq!(val.len(), 7);
    days::prepare(&sc, &val, 2).unwrap()
}

#[test]
fn a_share_of_095_caps_the_savings_capture_far_below_09_on_the_validation_days() {
    let sims = validation_days();
    let optimum: f64 = sims.iter().map(|s| s.optimum_eur).sum();
    let bound = |share: f64| -> f64 {
        sims.iter()
            .map(|s| s.share_bound_savings(share).expect("flat default tariff"))
            .sum::<f64>()
            / optimum
    };
    let (b100, b95, b90, b80) = (bound(1.0), bound(0.95), bound(0.90), bound(0.80));
    println!(
        "savings capture bound on the 7 validation days: share 1.0 {b100:.3}, 0.95 {b95:.3}, \
         0.90 {b90:.3}, 0.80 {b80:.3} (optimum {optimum:.2} €)"
    );
    assert!(b100 < b95 && b95 < b90 && b90 < b80 && b80 <= 1.0 + 1e-9);
    assert!(
        b95 < 0.9,
        "a 0.95 share would allow {b95:.3} of the optimum"
    );
    // The shipped pv-only saves no more than the bound on any day where it kept the share.
    let pv = root().join("policies/pv-only.toml");
    for s in &sims {
        let policy = sunplug::config::load_policy(&pv).unwrap();
        let m = s.metrics(&s.run(policy, &mut ()));
        if m.solar_share >= 0.95 {
            let b = s.share_bound_savings(0.95).unwrap();
            assert!(
                m.savings_eur <= b + 1e-9,
                "{} € > bound {b} €",
                m.savings_eur
            );
        }
    }
}
