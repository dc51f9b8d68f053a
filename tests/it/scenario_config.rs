//! A scenario's `[site]` and `[control]` are `sunplug.toml`'s own sections: the same defaults, the
//! same checks and the one `controller_params` builder, so a site runs the same in the service and
//! in its simulation; the service's own keys and typos are refused with their line.

use std::path::Path;
use sunplug::config::{self, Needs};
use sunplug::sim::scenario;

const SCENARIO_HEAD: &str = "policies = [\"p.toml\"]\n[data]\nnet = \"n.csv\"\n";
const CAR: &str = "[car]\ncapacity_kwh = 77\nstart_soc = 20\nmax_current_a = 16\n";

fn config(sections: &str) -> config::Config {
    let text = format!(
        "{sections}[surplus]\ntopic = \"meter\"\n[vehicle]\ncapacity_kwh = 77\nmax_current_a = 16\n\
         [charger]\nlimit_unit = \"percentage\"\nmax_current_a = 32\n"
    );
    config::load_str(
        Path::new("/etc/sunplug/sunplug.toml"),
        &text,
        Needs::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn scenario(sections: &str) -> scenario::Scenario {
    let text = format!(
        "{SCENARIO_HEAD}{sections}{CAR}[charger]\nlimit_unit = \"percentage\"\nmax_current_a = 32\n"
    );
    scenario::load_str(Path::new("/tmp/s.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn scenario_problems(sections: &str) -> String {
    let text = format!("{SCENARIO_HEAD}{sections}{CAR}");
    scenario::load_str(Path::new("/tmp/s.toml"), &text)
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn a_site_without_control_settings_runs_with_the_same_defaults_in_both() {
    let site = "[site]\ntimezone = \"Europe/Zurich\"\n";
    let (cfg, sc) = (config(site), scenario(site));
    assert_eq!(format!("{:?}", cfg.control), format!("{:?}", sc.control));
    assert_eq!(sc.control.interval.get().as_secs(), 10);
    assert_eq!(cfg.site(), sc.site());
    assert_eq!(cfg.controller_params().unwrap(), sc.controller_params());
}

#[test]
fn the_same_site_and_control_give_the_same_controller_params() {
    let sections = "[site]\ntimezone = \"America/Denver\"\nphases = 1\nvoltage_v = 240\nmain_fuse_a = 40\n\
                    [control]\ninterval = \"5s\"\ngrid_setpoint_w = -150\nmin_change_interval = \"15s\"\n\
                    ramp_a_per_s = 2.5\ncharge_efficiency = 0.85\n";
    let (cfg, sc) = (config(sections), scenario(sections));
    let p = sc.controller_params();
    assert_eq!(cfg.controller_params().unwrap(), p);
    // And they are this file's values, not the defaults.
    assert_eq!(p.guard.supply.voltage.0, 240.0);
    assert_eq!(p.guard.main_fuse.map(|a| a.0), Some(40.0));
    assert_eq!(p.guard.ramp_a_per_s, 2.5);
    assert_eq!(p.grid_setpoint.0, -150.0);
    assert_eq!(p.efficiency, 0.85);
}

#[test]
fn a_bad_site_gets_the_same_words_in_a_scenario_as_in_sunplug_toml() {
    let site = "[site]\ntimezone = \"Europe/Zurch\"\nphases = 2\nvoltage_v = 400\n";
    let from_config = config::load_str(
        Path::new("/etc/sunplug/sunplug.toml"),
        site,
        Needs::default(),
    )
    .unwrap_err()
    .to_string();
    let from_scenario = scenario_problems(site);
    for words in [
        "unknown timezone \"Europe/Zurch\"",
        "2 is not possible: use 1 or 3",
        "400 V is not a mains phase voltage",
    ] {
        assert!(from_config.contains(words), "{words}: {from_config}");
        assert!(from_scenario.contains(words), "{words}: {from_scenario}");
    }
}

#[test]
fn a_scenario_refuses_the_services_own_control_keys_with_the_reason() {
    let e = scenario_problems(
        "[site]\ntimezone = \"UTC\"\n[control]\npolicy = \"p.toml\"\non_shutdown = \"pause\"\n",
    );
    assert!(
        e.contains("control.policy")
            && e.contains("compares the policy files listed in `policies`"),
        "{e}"
    );
    assert!(e.contains("control.on_shutdown"), "{e}");
    assert_eq!(e.matches("only used by the service").count(), 2, "{e}");
}

#[test]
fn a_typo_in_a_scenarios_site_or_control_is_an_error_with_the_nearest_key() {
    let e = scenario_problems(
        "[site]\ntimezone = \"UTC\"\nvoltage = 230\n[control]\nintervall = \"5s\"\n",
    );
    assert!(e.contains("intervall") && e.contains("interval"), "{e}");
    assert!(e.contains("voltage") && e.contains("voltage_v"), "{e}");
}
