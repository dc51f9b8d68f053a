//! Tests of the simulator's several-loadpoint scenarios: one `[[loadpoint]]` runs exactly like the
//! one-car `[car]`, the shipped two-car scenario keeps the fuse and staggers its starts, the JSON
//! keeps every key and adds each car, the report stacks the cars, and bad tables are refused with
//! their keys.

use super::scenario::{self, Scenario};
use super::site::{SiteSimulation, json, plans, run_all};
use super::site_run::{SiteObserver, run_site};
use super::{Input, Simulation, load_policies};
use crate::control::site::SiteDecision;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

fn simulations() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations")
}

fn load(name: &str, text: &str) -> Scenario {
    scenario::load_str(&simulations().join(name), text).unwrap_or_else(|p| panic!("{p}"))
}

fn problems(text: &str) -> String {
    match scenario::load_str(&simulations().join("bad.toml"), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(p) => p.to_string(),
    }
}

#[test]
fn one_loadpoint_runs_exactly_like_the_one_car_scenario() {
    let text = std::fs::read_to_string(simulations().join("payerne-broken-clouds.toml")).unwrap();
    let text = text.replace(
        "policies = [\n  \"../policies/pv-only.toml\",\n  \"../policies/evcc-like.toml\",\n  \"../policies/min-plus-pv.toml\",\n  \"../policies/fast.toml\",\n]",
        "policies = [\"../policies/pv-only.toml\", \"../policies/min-plus-pv.toml\"]",
    );
    assert!(text.contains("policies = [\"../policies/pv-only.toml\""));
    let single = load("one-car.toml", &text);
    let site = load(
        "one-loadpoint.toml",
        &text.replace(
            "\n[car]\n",
            "\n[[loadpoint]]\nname = \"car\"\n[loadpoint.car]\n",
        ),
    );
    assert_eq!(site.loadpoints.len(), 1);

    let sim = Simulation::new(single.clone(), Input::load(&single.data).unwrap());
    let plain = super::run_all(&sim, load_policies(&single.policies, true).unwrap(), false);
    let ssim = SiteSimulation::new(site.clone(), Input::load(&site.data).unwrap());
    let names: Vec<String> = plain.iter().map(|f| f.metrics.policy.clone()).collect();
    let ran = run_all(&ssim, &plans(&site, &names), false).unwrap();
    assert_eq!(ran.len(), 2);
    for (a, b) in plain.iter().zip(&ran) {
        let (a, b) = (&a.metrics, &b.metrics);
        assert_eq!(a.policy, b.policy);
        assert!(a.car_energy_kwh > 1.0, "{} charges", a.policy);
        for (what, x, y) in [
            ("car energy", a.car_energy_kwh, b.car_energy_kwh),
            ("car solar", a.car_solar_kwh, b.car_solar_kwh),
            ("export", a.export_kwh, b.export_kwh),
            ("import", a.import_kwh, b.import_kwh),
            ("final SoC", a.final_soc_pct, b.final_soc_pct),
            ("cost", a.cost_eur, b.cost_eur),
        ] {
            assert!((x - y).abs() < 1e-9, "{}: {what} {x} vs {y}", a.policy);
        }
        assert_eq!(
            (a.charge_starts, a.setpoint_writes),
            (b.charge_starts, b.setpoint_writes)
        );
        assert_eq!(b.loadpoints[0].car_solar_kwh, a.car_solar_kwh);
    }
}

/// Checks every site step: the fuse per line, and at most one start per step.
struct Watch {
    fuse_a: f64,
    charging: Vec<bool>,
    steps: usize,
    both: usize,
    worst: f64,
}

impl SiteObserver for Watch {
    fn control(&mut self, now: DateTime<Utc>, d: &SiteDecision) {
        self.steps += 1;
        let h = d.headroom_a.expect("the scenario has a main fuse");
        for (l, load) in d.load_a.iter().enumerate() {
            assert!(*load <= h[l].max(0.0) + 1e-9, "{now}: L{} {load} A", l + 1);
            assert!(*load <= self.fuse_a + 1e-9);
            self.worst = self.worst.max(*load);
        }
        let starts = d
            .commands()
            .zip(&self.charging)
            .filter(|(c, was)| c.is_charging() && !**was)
            .count();
        assert!(starts <= 1, "{now}: {starts} starts in one step");
        self.charging = d.commands().map(|c| c.is_charging()).collect();
        self.both += usize::from(self.charging.iter().all(|c| *c));
    }
}

#[test]
fn the_two_car_day_keeps_the_fuse_staggers_starts_and_reports_each_car() {
    let path = simulations().join("payerne-two-cars.toml");
    let sc = scenario::load(&path).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(sc.loadpoints.len(), 2);
    assert_eq!(sc.variants.len(), 3);
    let sim = SiteSimulation::new(sc.clone(), Input::load(&sc.data).unwrap());
    let plans = plans(&sc, &["pv-only".into()]);
    assert_eq!(
        plans.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["commuter first", "home car first", "fair split"]
    );
    // A tighter fuse than the scenario's, so that it binds while both charge.
    let mut tight = sim.clone();
    tight.scenario.main_fuse = Some(crate::units::Amps(16.0));
    let p = &plans[0];
    let mut watch = Watch {
        fuse_a: 16.0,
        charging: vec![false; 2],
        steps: 0,
        both: 0,
        worst: 0.0,
    };
    let pols = load_policies(&p.policies, true).unwrap();
    run_site(&tight, &p.name, &p.priorities, pols, &mut watch);
    assert!(
        watch.steps > 10_000 && watch.both > 100,
        "{} {}",
        watch.steps,
        watch.both
    );
    assert!(watch.worst > 15.0, "the fuse binds: {} A", watch.worst);

    let ran = run_all(&sim, &plans, false).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json(&sim, &ran, 1)).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for r in runs {
        for key in [
            "car_energy_kwh",
            "car_solar_kwh",
            "car_grid_kwh",
            "export_kwh",
            "solar_share",
            "oracle_solar_kwh",
            "oracle_capture",
            "charge_starts",
            "setpoint_writes",
            "final_soc_pct",
            "target_met",
            "policy",
        ] {
            assert!(!r[key].is_null(), "{key} in {r}");
        }
        let lps = r["loadpoints"].as_array().unwrap();
        assert_eq!(lps[0]["policy"], "commuter");
        assert_eq!(lps[1]["policy"], "home");
        let sum: f64 = lps
            .iter()
            .map(|l| l["car_energy_kwh"].as_f64().unwrap())
            .sum();
        assert!((sum - r["car_energy_kwh"].as_f64().unwrap()).abs() < 1e-9);
        assert!(lps[0]["export_kwh"].is_null(), "export is the site's");
        assert!(
            r["car_solar_kwh"].as_f64().unwrap() <= r["oracle_solar_kwh"].as_f64().unwrap() + 1.0
        );
    }
    // The commuter first gives the commuter more of the evening sun than the home car first does.
    let solar = |k: usize| runs[k]["loadpoints"][0]["car_solar_kwh"].as_f64().unwrap();
    assert!(solar(0) > solar(1) + 0.1, "{} vs {}", solar(0), solar(1));
}

#[test]
fn the_report_stacks_the_cars() {
    let path = simulations().join("payerne-two-cars.toml");
    let mut sc = scenario::load(&path).unwrap_or_else(|p| panic!("{p}"));
    sc.variants.truncate(1);
    sc.data.end_ms = Some(sc.data.start_ms.unwrap_or(1_466_121_600_000) + 20 * 3_600_000);
    let sim = SiteSimulation::new(sc.clone(), Input::load(&sc.data).unwrap());
    let ran = run_all(&sim, &plans(&sc, &["pv-only".into()]), true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prov = super::page::Provenance {
        command: "sunplug simulate simulations/payerne-two-cars.toml --out out".into(),
        scenario: path,
    };
    let n = super::site_trace::write_out(dir.path(), &sim, &ran, 1, &prov).unwrap();
    assert_eq!(n, 3);
    let csv = std::fs::read_to_string(dir.path().join("commuter_first.csv")).unwrap();
    assert!(csv.starts_with("time,pv_w,load_w,surplus_w,grid_w,commuter_w,home_w,"));
    assert!(csv.lines().count() > 1000);
    let svg = std::fs::read_to_string(dir.path().join("commuter_first.svg")).unwrap();
    // One layer per car, each stacked on the one below, and the legend names both.
    assert_eq!(
        svg.matches("fill-opacity=\"0.55\" stroke=\"none\"").count(),
        2
    );
    assert!(svg.contains("commuter (") && svg.contains("home ("));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<th>commuter</th><th>home</th>") && html.contains("<svg"));
    assert!(!html.contains(&dir.path().display().to_string()));
}

#[test]
fn bad_loadpoint_tables_are_refused_with_their_keys() {
    let head = "policies = [\"../policies/pv-only.toml\"]\n[data]\npv = \"data/bsrn_pay_2016-06-17.csv\"\nload = \"data/crest_3p_2016-06-17_1min.csv\"\n";
    let car = "[loadpoint.car]\ncapacity_kwh = 50\nstart_soc = 20\n";
    let p = problems(&format!(
        "{head}[car]\ncapacity_kwh = 50\nstart_soc = 20\n[[loadpoint]]\nname = \"a\"\n{car}"
    ));
    assert!(p.contains("remove [car]"), "{p}");
    let p = problems(&format!(
        "{head}[[loadpoint]]\nname = \"a\"\nphase = \"L2\"\n{car}[[loadpoint]]\nname = \"a\"\n{car}"
    ));
    assert!(p.contains("only for a 1-phase car"), "{p}");
    assert!(p.contains("\"a\" is used twice"), "{p}");
    let p = problems(&format!(
        "{head}[[loadpoint]]\nname = \"a\"\n{car}[[variant]]\nname = \"x\"\npriority = {{ b = 1 }}\n"
    ));
    assert!(
        p.contains("\"b\" is no loadpoint of this scenario (they are: a)"),
        "{p}"
    );
    let p = problems(&format!(
        "{head}[[loadpoint]]\n[loadpoint.car]\nstart_soc = 20\n"
    ));
    assert!(
        p.contains("loadpoint[0].name") && p.contains("loadpoint[0].car.capacity_kwh"),
        "{p}"
    );
    let p = problems(&format!(
        "{head}[[loadpoint]]\nname = \"a\"\nphase = \"L4\"\n{car}"
    ));
    assert!(p.contains("phase"), "{p}");
}
