//! The simulator runs the daemon's controller: `crate::control::Controller`, not a copy.
//!
//! A run records every observation it hands the controller and every decision it gets back; a fresh
//! `Controller` built from the same parameters and policy file, stepped directly with those
//! observations, must decide exactly the same (command, reason, clamp and every factor).

use crate::support::sim::root;
use chrono::{DateTime, Utc};
use sunplug::control::{Controller, Decision, Observation};
use sunplug::sim::run::{ControlView, Observer};
use sunplug::sim::{Input, Simulation, scenario};

#[derive(Default)]
struct Recorder(Vec<(DateTime<Utc>, Observation, Decision)>);

impl Observer for Recorder {
    fn control(&mut self, v: &ControlView<'_>) {
        self.0.push((v.now, *v.obs, v.decision.clone()));
    }
}

#[test]
fn decisions_replay_identically_through_a_direct_controller() {
    let path = root().join("simulations/payerne-departure-deadline.toml");
    let sc = scenario::load(&path).unwrap();
    let input = Input::load(&sc.data).unwrap();
    let sim = Simulation::new(sc, input);
    for policy_file in &sim.scenario.policies {
        let mut rec = Recorder::default();
        sim.run(sunplug::config::load_policy(policy_file).unwrap(), &mut rec);
        assert_eq!(rec.0.len(), 86400 / 5, "one decision per 5 s interval");
        let charged = rec
            .0
            .iter()
            .filter(|(_, _, d)| d.command.is_charging())
            .count();
        assert!(
            charged > 100,
            "{}: the run must exercise charging ({charged})",
            policy_file.display()
        );

        let mut direct = Controller::new(
            sim.scenario.controller_params(),
            sunplug::config::load_policy(policy_file).unwrap(),
        );
        for (now, obs, recorded) in &rec.0 {
            let d = direct.step(*now, obs);
            assert_eq!(&d, recorded, "{} at {now}", policy_file.display());
        }
    }
}
