//! `[[loadpoint]]` in `sunplug.toml`: the single form still means one loadpoint; two connectors of one
//! station resolve with their own car, policy, priority and phase; every mistake is reported with
//! its key (duplicate names, one connector twice, an unknown phase, a 1-phase car without its phase,
//! a second car on one vehicle account), and `check-config` lists the loadpoints.

use std::path::{Path, PathBuf};
use sunplug::config::{self, ChargerRef, Line, Needs, loadpoint::SINGLE};
use sunplug::units::{Amps, Phases};

const BASE: &str = r#"
[site]
timezone = "Europe/Brussels"
phases = 3
main_fuse_a = 25

[control]
policy = "policies/pv-only.toml"

[charger]
max_current_a = 32

[smappee]
client_id = "c"
username = "u"
serial = "5010000123"
"#;

fn dir_with_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for name in ["pv-only.toml", "fast.toml", "min-plus-pv.toml"] {
        std::fs::copy(repo.join(name), dir.path().join("policies").join(name)).unwrap();
    }
    dir
}

fn load(extra: &str) -> (tempfile::TempDir, Result<config::Config, config::Problems>) {
    let dir = dir_with_policies();
    let path: PathBuf = dir.path().join("sunplug.toml");
    let text = format!("{BASE}{extra}");
    std::fs::write(&path, &text).unwrap();
    let r = config::load_str(&path, &text, Needs::default());
    (dir, r)
}

fn problems(extra: &str) -> String {
    match load(extra).1 {
        Ok(_) => panic!("should be refused:\n{extra}"),
        Err(p) => p.to_string(),
    }
}

const TWO: &str = r#"
[[loadpoint]]
name = "commuter"
connector = 1
priority = 2
policy = "policies/min-plus-pv.toml"
max_current_a = 16
[loadpoint.vehicle]
kind = "mqtt"
capacity_kwh = 60
[loadpoint.vehicle.mqtt]
soc = { topic = "cars/commuter/soc" }

[[loadpoint]]
name = "second"
connector = 2
phases = 1
phase = "L2"
"#;

#[test]
fn the_single_form_is_one_loadpoint() {
    let (_d, cfg) = load("");
    let cfg = cfg.unwrap();
    assert!(!cfg.has_loadpoint_tables());
    assert_eq!(cfg.loadpoints.len(), 1);
    let lp = &cfg.loadpoints[0];
    assert_eq!(lp.name, SINGLE);
    assert!(lp.single);
    assert_eq!(
        lp.charger,
        ChargerRef::Smappee {
            serial: "5010000123".into(),
            connector: 1
        }
    );
    assert_eq!(lp.phases, Phases::Three);
    assert!(
        cfg.policy.is_some(),
        "the single form keeps its policy where it was"
    );
}

#[test]
fn two_connectors_of_one_station_resolve_with_their_own_settings() {
    let (_d, cfg) = load(TWO);
    let mut cfg = cfg.unwrap_or_else(|p| panic!("{p}"));
    assert!(cfg.has_loadpoint_tables());
    let [a, b] = cfg.loadpoints.as_slice() else {
        panic!("two loadpoints: {:?}", cfg.loadpoints)
    };
    assert_eq!((a.name.as_str(), a.priority), ("commuter", 2));
    assert_eq!(
        a.charger,
        ChargerRef::Smappee {
            serial: "5010000123".into(),
            connector: 1
        }
    );
    assert_eq!(a.limits.max, Amps(16.0));
    assert_eq!(a.lines(), Line::ALL.to_vec());
    assert_eq!((b.name.as_str(), b.priority), ("second", 0));
    assert_eq!(b.limits.max, Amps(32.0));
    assert_eq!((b.phases, b.line), (Phases::One, Some(Line::L2)));
    assert_eq!(b.lines(), vec![Line::L2]);
    assert_eq!(
        a.vehicle.kind,
        sunplug::config::vehicle::VehicleKind::Mqtt,
        "each loadpoint has its own car"
    );
    let params_b = cfg.loadpoint_params(&cfg.loadpoints[1]);
    assert_eq!(params_b.guard.supply.phases, Phases::One);
    assert_eq!(params_b.guard.main_fuse, Some(Amps(25.0)));
    let policies = cfg.take_loadpoint_policies();
    let names: Vec<_> = policies
        .iter()
        .map(|p| p.as_ref().map(|p| p.name.clone()))
        .collect();
    assert_eq!(
        names,
        vec![Some("min-plus-pv".into()), Some("pv-only".into())],
        "a loadpoint without a policy uses [control] policy"
    );
}

#[test]
fn every_mistake_is_reported_with_its_key() {
    let err = problems(
        r#"
[[loadpoint]]
name = "a"
connector = 1
phases = 1
phase = "L4"

[[loadpoint]]
name = "A"
connector = 1
phases = 1

[[loadpoint]]
name = "garage door"
connector = 2
max_current_a = 4
"#,
    );
    for needle in [
        "loadpoint[0].phase",
        "\"L4\" is not a phase: use \"L1\", \"L2\" or \"L3\"",
        "loadpoint[1].name",
        "already the name of loadpoint 1",
        "loadpoint[1].connector",
        "two loadpoints cannot drive one connector",
        "loadpoint[1].phase",
        "a 1-phase car on a 3-phase site loads one phase",
        "loadpoint[2].name",
        "cannot be part of an MQTT topic",
        "loadpoint[2].max_current_a",
        "below the floor",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn a_phase_on_a_three_phase_car_and_two_cars_on_one_account_are_refused() {
    let err = problems(
        r#"
[[loadpoint]]
name = "a"
connector = 1
phase = "L1"
[loadpoint.vehicle]
kind = "cariad"

[[loadpoint]]
name = "b"
connector = 2
[loadpoint.vehicle]
kind = "cariad"
"#,
    );
    assert!(err.contains("loadpoint[0].phase"), "{err}");
    assert!(err.contains("is for a 1-phase car"), "{err}");
    assert!(err.contains("loadpoint[1].vehicle.kind"), "{err}");
    assert!(err.contains("one account section names one car"), "{err}");
}

#[test]
fn top_level_vehicle_with_several_loadpoints_is_refused() {
    let err = problems(&format!("{TWO}\n[vehicle]\nkind = \"none\"\n"));
    assert!(
        err.contains("move [vehicle] into [loadpoint.vehicle]"),
        "{err}"
    );
}

#[test]
fn check_config_lists_the_loadpoints() {
    let dir = dir_with_policies();
    let path = dir.path().join("sunplug.toml");
    let text = format!(
        "{BASE}\n[mqtt]\nhost = \"localhost\"\n[surplus]\nkind = \"grid\"\ntopic = \"meter/grid\"\n{TWO}"
    )
    .replace("username = \"u\"", "username = \"u\"\nclient_secret_file = \"cs\"\npassword_file = \"pw\"");
    std::fs::write(&path, text).unwrap();
    std::fs::write(dir.path().join("cs"), "secret-1").unwrap();
    std::fs::write(dir.path().join("pw"), "secret-2").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(["check-config", path.to_str().unwrap()])
        .env_remove("SUNPLUG_SMAPPEE_PASSWORD")
        .env_remove("SUNPLUG_SMAPPEE_CLIENT_SECRET")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("loadpoints: 2"), "{stdout}");
    assert!(
        stdout.contains("loadpoint \"commuter\", priority 2: Smappee station 5010000123 connector 1, 3 phases, 6.00 A .. 16.00 A, vehicle mqtt, policy \"min-plus-pv\""),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "loadpoint \"second\", priority 0: Smappee station 5010000123 connector 2, 1 phase (L2)"
        ),
        "{stdout}"
    );
}

#[test]
fn the_shipped_two_car_example_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args([
            "check-config",
            root.join("examples/sunplug-two-cars.toml")
                .to_str()
                .unwrap(),
        ])
        .env_remove("SUNPLUG_SMAPPEE_PASSWORD")
        .env_remove("SUNPLUG_SMAPPEE_CLIENT_SECRET")
        .env_remove("SUNPLUG_ENODE_CLIENT_SECRET")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("loadpoint \"commuter\", priority 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("loadpoint \"runabout\", priority 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 phase (L2), 6.00 A .. 16.00 A, vehicle mqtt"),
        "{stdout}"
    );
}

#[test]
fn ocpp_loadpoints_name_their_charge_points() {
    let ocpp = r#"
[ocpp]
charge_points = [{ id = "garage" }, { id = "drive" }]

[[loadpoint]]
name = "a"
charge_point = "garage"

[[loadpoint]]
name = "b"
charge_point = "drive"
"#;
    // The charger kind is set in [charger]: BASE's section, for OCPP.
    let dir = dir_with_policies();
    let path = dir.path().join("sunplug.toml");
    let text = format!(
        "{}{ocpp}",
        BASE.replace("[charger]\n", "[charger]\nkind = \"ocpp\"\n")
    );
    std::fs::write(&path, &text).unwrap();
    let cfg = config::load_str(&path, &text, Needs::default()).unwrap_or_else(|p| panic!("{p}"));
    let refs: Vec<_> = cfg.loadpoints.iter().map(|l| l.charger.clone()).collect();
    assert_eq!(
        refs,
        vec![
            ChargerRef::Ocpp {
                charge_point: "garage".into()
            },
            ChargerRef::Ocpp {
                charge_point: "drive".into()
            }
        ]
    );
    let bad = text.replace("charge_point = \"drive\"", "charge_point = \"gate\"");
    let err = config::load_str(&path, &bad, Needs::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("loadpoint[1].charge_point"), "{err}");
    assert!(
        err.contains("\"gate\" is not in [ocpp] charge_points (they are: garage, drive)"),
        "{err}"
    );
    let missing = text.replace("charge_point = \"drive\"\n", "");
    let err = config::load_str(&path, &missing, Needs::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing: name the charge point"), "{err}");
}
