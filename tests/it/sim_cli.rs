//! `sunplug simulate` through the built binary: the README's first command, `--json`, `--out`, the
//! data and policy replacements, and clear errors (with file and line) for bad input.

use crate::support::sim::{Dir, PV_ONLY_NO_I, csv, exact_scenario, sunplug};
use serde_json::Value;

const PAYERNE: &str = "simulations/payerne-broken-clouds.toml";

#[test]
fn the_readme_command_prints_the_table_and_writes_the_report() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("sim-out");
    let (code, stdout, stderr) = sunplug(&["simulate", PAYERNE, "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    for needle in [
        "pv-only",
        "evcc-like",
        "oracle capture",
        "solar share",
        "charge starts",
        "target met",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
    for policy in ["pv-only", "evcc-like", "min-plus-pv", "fast"] {
        let svg = std::fs::read_to_string(dir.join(format!("{policy}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("house load") && svg.contains("SoC"),
            "{policy}.svg"
        );
        let trace = std::fs::read_to_string(dir.join(format!("{policy}.csv"))).unwrap();
        assert_eq!(
            trace.lines().count(),
            1 + 86400 / 5,
            "{policy}.csv: a header and one row per decision"
        );
        assert!(
            trace
                .lines()
                .next()
                .unwrap()
                .starts_with("time,local_time,pv_w,load_w")
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "the policies compared, then one inline plot per policy"
    );
    assert!(
        html.contains("<table") && html.contains("oracle capture") && html.contains("min-plus-pv")
    );
}

#[test]
fn json_has_the_documented_shape() {
    let (code, stdout, stderr) = sunplug(&[
        "simulate",
        PAYERNE,
        "--json",
        "--policy",
        "policies/pv-only.toml",
        "--policy",
        "policies/evcc-like.toml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["runs", "scenario", "steps", "wall_ms"]);
    assert_eq!(v["scenario"], "payerne-broken-clouds");
    assert_eq!(v["steps"].as_u64(), Some(86400));
    assert!(v["wall_ms"].is_u64());
    let runs = v["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["pv-only", "evcc-like"],
        "--policy replaces the scenario's list, in order"
    );
    let numbers = [
        "car_energy_kwh",
        "car_solar_kwh",
        "car_grid_kwh",
        "export_kwh",
        "solar_share",
        "oracle_solar_kwh",
        "oracle_capture",
        "final_soc_pct",
        "cost_eur",
        "savings_eur",
        "optimum_savings_eur",
        "savings_capture",
        "charging_hours",
        "writes_per_charging_hour",
    ];
    for r in runs {
        let mut fields: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut expected = numbers.to_vec();
        expected.extend([
            "policy",
            "charge_starts",
            "setpoint_writes",
            "target_met",
            "plan_cost_eur",
            "plan_start",
        ]);
        expected.sort_unstable();
        assert_eq!(fields, expected);
        for n in numbers {
            assert!(r[n].is_f64(), "{n} is a number: {}", r[n]);
        }
        assert!(r["charge_starts"].is_u64() && r["setpoint_writes"].is_u64());
        assert!(r["target_met"].is_boolean());
        assert!(
            r["plan_cost_eur"].is_null() && r["plan_start"].is_null(),
            "these policies do not plan: {r}"
        );
        let (e, s, g) = (
            r["car_energy_kwh"].as_f64().unwrap(),
            r["car_solar_kwh"].as_f64().unwrap(),
            r["car_grid_kwh"].as_f64().unwrap(),
        );
        assert!((e - s - g).abs() < 1e-9 && e > 10.0);
    }
}

fn exact_dir() -> Dir {
    let d = Dir::new();
    let rows: Vec<(String, f64)> = (0..=240)
        .map(|m| {
            (
                format!("2026-06-01T{:02}:{:02}:00Z", 8 + m / 60, m % 60),
                if (120..180).contains(&m) { 6000.0 } else { 0.0 },
            )
        })
        .collect();
    let pv: Vec<(&str, f64)> = rows.iter().map(|(t, v)| (t.as_str(), *v)).collect();
    d.write("pv.csv", &csv("pv_w", &pv));
    let load: Vec<(&str, f64)> = rows.iter().map(|(t, _)| (t.as_str(), 500.0)).collect();
    d.write("load.csv", &csv("load_w", &load));
    let net: Vec<(&str, f64)> = rows.iter().map(|(t, v)| (t.as_str(), 500.0 - v)).collect();
    d.write("net.csv", &csv("net_w", &net));
    d.write("pv.toml", PV_ONLY_NO_I);
    d.write("day.toml", &exact_scenario(&["pv.toml"], ""));
    d
}

fn json_of(args: &[&str]) -> Value {
    let (code, stdout, stderr) = sunplug(args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn net_and_pv_load_replacements_give_the_same_day() {
    let d = exact_dir();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let (day, pv, load, net) = (p("day.toml"), p("pv.csv"), p("load.csv"), p("net.csv"));
    let by_files = json_of(&["simulate", &day, "--json"]);
    let by_net = json_of(&["simulate", &day, "--json", "--net", &net]);
    let by_pv_load = json_of(&["simulate", &day, "--json", "--pv", &pv, "--load", &load]);
    let solar = |v: &Value| v["runs"][0]["car_solar_kwh"].as_f64().unwrap();
    assert!(solar(&by_files) > 4.0, "an hour of 5.5 kW surplus");
    assert!(
        (solar(&by_net) - solar(&by_files)).abs() < 1e-9,
        "net = load − pv is the same day"
    );
    assert!((solar(&by_pv_load) - solar(&by_files)).abs() < 1e-9);
    // Half the PV: a different day.
    d.write(
        "half.csv",
        &std::fs::read_to_string(d.path().join("pv.csv"))
            .unwrap()
            .replace("6000", "3000"),
    );
    let half = json_of(&["simulate", &day, "--json", "--pv", &p("half.csv")]);
    assert!(
        solar(&half) < 0.1,
        "2.5 kW never reaches the floor: {}",
        solar(&half)
    );
}

fn fails(args: &[&str]) -> String {
    let (code, stdout, stderr) = sunplug(args);
    assert_eq!(code, 1, "must fail: stdout {stdout}");
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    stderr
}

#[test]
fn missing_files_are_named() {
    let e = fails(&["simulate", "simulations/nope.toml"]);
    assert!(
        e.contains("simulations/nope.toml") && e.contains("no such file"),
        "{e}"
    );
    let d = exact_dir();
    std::fs::remove_file(d.path().join("load.csv")).unwrap();
    let e = fails(&["simulate", d.path().join("day.toml").to_str().unwrap()]);
    assert!(
        e.contains("load.csv: cannot read the data file: no such file"),
        "{e}"
    );
    let e = fails(&["simulate", PAYERNE, "--policy", "policies/nope.toml"]);
    assert!(e.contains("policies/nope.toml"), "{e}");
}

#[test]
fn a_bad_row_is_reported_with_its_file_and_line() {
    let d = exact_dir();
    let text = std::fs::read_to_string(d.path().join("pv.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[41] = "2026-06-01T08:40:00Z,lots".into();
    d.write("pv.csv", &(lines.join("\n") + "\n"));
    let e = fails(&["simulate", d.path().join("day.toml").to_str().unwrap()]);
    assert!(
        e.contains("pv.csv:42: pv_w \"lots\" is not a number"),
        "{e}"
    );
}

#[test]
fn short_gaps_are_bridged_and_noted_long_ones_refused() {
    let d = exact_dir();
    let text = std::fs::read_to_string(d.path().join("load.csv")).unwrap();
    // Drop 08:31..08:39 (a 10-minute gap, rows on lines 33..41).
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !(32..41).contains(i))
        .map(|(_, l)| l)
        .collect();
    d.write("load.csv", &(kept.join("\n") + "\n"));
    let day = d.path().join("day.toml");
    let (code, stdout, stderr) = sunplug(&["simulate", day.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("note:") && stdout.contains("10m gap") && stdout.contains("interpolated"),
        "{stdout}"
    );

    d.write(
        "day.toml",
        &exact_scenario(&["pv.toml"], "").replace(
            "label = \"instant\"",
            "label = \"instant\"\nmax_gap = \"5m\"",
        ),
    );
    let e = fails(&["simulate", day.to_str().unwrap()]);
    assert!(
        e.contains("load.csv:33:") && e.contains("a gap of 10m") && e.contains("max_gap"),
        "{e}"
    );
}

#[test]
fn unknown_and_bad_scenario_keys_are_all_reported_with_lines() {
    let d = exact_dir();
    let text = exact_scenario(&["pv.toml"], "")
        .replace("capacity_kwh = 77", "capacity_kwh = 77\ncapacity_kw = 3")
        .replace("noise_w = 0", "noise_w = 0\nperiod_s = 1")
        .replace("start_soc = 20", "start_soc = 120");
    let day = d.write("day.toml", &text);
    let e = fails(&["simulate", day.to_str().unwrap()]);
    assert!(e.contains("3 problems found"), "{e}");
    let lines: Vec<usize> = e
        .lines()
        .filter_map(|l| l.split(".toml:").nth(1)?.split(':').next()?.parse().ok())
        .collect();
    assert!(lines.is_sorted(), "in file order: {e}");
    assert!(
        e.contains("car.capacity_kw: unknown key `capacity_kw`; did you mean `capacity_kwh`?"),
        "{e}"
    );
    assert!(e.contains("meter.period_s: unknown key `period_s`"), "{e}");
    assert!(e.contains("car.start_soc: 120 is not a SoC"), "{e}");
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    assert!(
        e.contains(&format!(
            "day.toml:{}: car.capacity_kw",
            line_of("capacity_kw ")
        )),
        "{e}"
    );
}

#[test]
fn replacing_a_net_series_needs_both_pv_and_load() {
    let d = exact_dir();
    let text = exact_scenario(&["pv.toml"], "")
        .replace("pv = \"pv.csv\"\nload = \"load.csv\"", "net = \"net.csv\"");
    let day = d.write("day.toml", &text);
    let pv = d.path().join("pv.csv");
    let e = fails(&[
        "simulate",
        day.to_str().unwrap(),
        "--pv",
        pv.to_str().unwrap(),
    ]);
    assert!(e.contains("give both --pv and --load"), "{e}");
}

#[test]
fn the_documented_scenario_example_is_a_valid_scenario() {
    let root = crate::support::sim::root();
    let doc = std::fs::read_to_string(root.join("simulations/README.md")).unwrap();
    let toml = doc
        .split("```toml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let sc = sunplug::sim::scenario::load_str(&root.join("simulations/example.toml"), toml)
        .unwrap_or_else(|p| panic!("simulations/README.md example: {p}"));
    let defaults = sunplug::sim::scenario::load_str(
        &root.join("simulations/minimal.toml"),
        "policies = [\"p.toml\"]\n[data]\nnet = \"n.csv\"\n[site]\ntimezone = \"UTC\"\n[car]\ncapacity_kwh = 77\nstart_soc = 20\n",
    )
    .unwrap();
    // The example states the defaults: the two must agree where the example does not differ on purpose.
    assert_eq!(sc.step_ms, defaults.step_ms);
    assert_eq!(format!("{:?}", sc.meter), format!("{:?}", defaults.meter));
    assert_eq!(
        format!("{:?}", sc.vehicle_api),
        format!("{:?}", defaults.vehicle_api)
    );
    assert_eq!(sc.control.interval, defaults.control.interval);
    assert_eq!(sc.charger.latency, defaults.charger.latency);
}
