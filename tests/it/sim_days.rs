//! Multi-day runs over the shared corpus: `sunplug simulate SCENARIO --days DIR`.
//!
//! Two corpus days copied into a temporary corpus (with the README's sky classes): the JSON keeps
//! the one-day keys, `runs[]` are the sums of `days[]`, and the money columns are there and bounded.

use crate::support::sim::{root, sunplug};
use serde_json::Value;

const DAYS: [&str; 2] = ["2016-06-10", "2016-06-17"];

fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_corpus(dir.path());
    dir
}

/// The two days and the README copied into `dir`.
fn copy_corpus(dir: &std::path::Path) {
    let src = root().join("../shared/data/corpus");
    for sub in ["pv", "load"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if DAYS.iter().any(|d| name.contains(d)) {
                std::fs::copy(&p, dir.join(sub).join(&name)).unwrap();
            }
        }
    }
    std::fs::copy(src.join("README.md"), dir.join("README.md")).unwrap();
}

#[test]
fn json_over_days_keeps_the_keys_and_sums_the_days() {
    let c = corpus();
    let scenario = root().join("simulations/payerne-broken-clouds.toml");
    let (pv, evcc) = (
        root().join("policies/pv-only.toml"),
        root().join("policies/evcc-like.toml"),
    );
    let args = [
        "simulate",
        scenario.to_str().unwrap(),
        "--days",
        c.path().to_str().unwrap(),
        "--policy",
        pv.to_str().unwrap(),
        "--policy",
        evcc.to_str().unwrap(),
        "--json",
    ];
    let (code, stdout, stderr) = sunplug(&args);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    for k in ["scenario", "steps", "wall_ms", "runs", "days"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2016-06-10");
    assert_eq!(days[0]["sky"], "mixed");
    assert_eq!(days[1]["sky"], "broken");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (p, run) in runs.iter().enumerate() {
        for k in [
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
            "cost_eur",
            "savings_eur",
            "optimum_savings_eur",
            "savings_capture",
            "charging_hours",
            "writes_per_charging_hour",
        ] {
            assert!(run.get(k).is_some(), "runs[{p}] lacks {k}");
        }
        let f = |d: &Value, k: &str| d["runs"][p][k].as_f64().unwrap();
        for k in [
            "car_solar_kwh",
            "savings_eur",
            "optimum_savings_eur",
            "charging_hours",
        ] {
            let sum = f(&days[0], k) + f(&days[1], k);
            assert!((run[k].as_f64().unwrap() - sum).abs() < 1e-9, "{k}");
        }
        let starts: u64 = days
            .iter()
            .map(|d| d["runs"][p]["charge_starts"].as_u64().unwrap())
            .sum();
        assert_eq!(run["charge_starts"].as_u64().unwrap(), starts);
        let cap = run["savings_capture"].as_f64().unwrap();
        assert!(cap <= 1.0 + 1e-9 && cap > 0.0, "{cap}");
        assert!(
            (cap - run["savings_eur"].as_f64().unwrap()
                / run["optimum_savings_eur"].as_f64().unwrap())
            .abs()
                < 1e-9
        );
    }
}

#[test]
fn a_day_without_its_load_is_named() {
    let c = corpus();
    std::fs::remove_file(
        std::fs::read_dir(c.path().join("load"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap();
    let scenario = root().join("simulations/payerne-broken-clouds.toml");
    let (code, _, stderr) = sunplug(&[
        "simulate",
        scenario.to_str().unwrap(),
        "--days",
        c.path().to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("2016-06-10 has PV but no load file"),
        "{stderr}"
    );
}

/// The shipped broken-cloud scenario with its `[data]` files replaced by `days = "corpus"` (relative to
/// the scenario), written beside a copy of the two-day corpus.
fn scenario_with_days_key(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("simulations/payerne-broken-clouds.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("pv = ") && !l.starts_with("load = "))
        .map(|l| {
            if l == "[data]" {
                format!("[data]\ndays = \"corpus\"\n{extra}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("days.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn json_runs(args: &[&str]) -> (Value, Value) {
    let (code, stdout, stderr) = sunplug(args);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    (v["runs"].clone(), v["days"].clone())
}

#[test]
fn a_days_key_replays_the_corpus_like_the_flag_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("corpus");
    copy_corpus(&copy);
    let keyed = scenario_with_days_key(dir.path(), "");
    let pv = root().join("policies/pv-only.toml");
    let shipped = root().join("simulations/payerne-broken-clouds.toml");
    let pol = ["--policy", pv.to_str().unwrap(), "--json"];
    let by_key = json_runs(&[&["simulate", keyed.to_str().unwrap()][..], &pol[..]].concat());
    let by_flag = json_runs(
        &[
            &[
                "simulate",
                shipped.to_str().unwrap(),
                "--days",
                copy.to_str().unwrap(),
            ][..],
            &pol[..],
        ]
        .concat(),
    );
    assert_eq!(by_key.1.as_array().unwrap().len(), 2);
    assert_eq!(by_key, by_flag, "the key and the flag replay the same days");

    // The flag wins over the key: a one-day corpus on the command line.
    let one = tempfile::tempdir().unwrap();
    for sub in ["pv", "load"] {
        std::fs::create_dir_all(one.path().join(sub)).unwrap();
        let e = std::fs::read_dir(copy.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("2016-06-17"))
            .unwrap();
        std::fs::copy(&e, one.path().join(sub).join(e.file_name().unwrap())).unwrap();
    }
    let flagged = json_runs(
        &[
            &[
                "simulate",
                keyed.to_str().unwrap(),
                "--days",
                one.path().to_str().unwrap(),
            ][..],
            &pol[..],
        ]
        .concat(),
    );
    let days = flagged.1.as_array().unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["date"], "2016-06-17");
    assert_eq!(days[0]["runs"], by_key.1[1]["runs"]);
}

#[test]
fn a_days_key_naming_no_directory_or_beside_pv_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let keyed = scenario_with_days_key(dir.path(), "");
    let (code, _, stderr) = sunplug(&["simulate", keyed.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("data.days"), "{stderr}");
    assert!(stderr.contains("is not a directory"), "{stderr}");
    assert!(stderr.contains("corpus"), "{stderr}");

    std::fs::create_dir_all(dir.path().join("corpus")).unwrap();
    let both = scenario_with_days_key(dir.path(), "pv = \"x.csv\"\nload = \"y.csv\"\n");
    let (code, _, stderr) = sunplug(&["simulate", both.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("give either days (a corpus directory), or pv and load, or net"),
        "{stderr}"
    );
    // An unknown key next to it is still named (the section stays strict).
    let typo = scenario_with_days_key(dir.path(), "dayz = \"corpus\"\n");
    let (code, _, stderr) = sunplug(&["simulate", typo.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("dayz"), "{stderr}");
}

/// `--out` runs the days with traces for the pages: the figures are the same as without it.
#[test]
fn out_writes_a_summary_and_a_page_per_day_with_the_same_figures() {
    let c = corpus();
    let out = tempfile::tempdir().unwrap();
    let scenario = root().join("simulations/payerne-broken-clouds.toml");
    let pv = root().join("policies/pv-only.toml");
    let mut args = vec![
        "simulate",
        scenario.to_str().unwrap(),
        "--days",
        c.path().to_str().unwrap(),
        "--policy",
        pv.to_str().unwrap(),
        "--json",
    ];
    let (code, plain, stderr) = sunplug(&args);
    assert_eq!(code, 0, "{stderr}");
    args.extend(["--out", out.path().to_str().unwrap()]);
    let (code, traced, stderr) = sunplug(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("report.html (3 files)"), "{stderr}");
    let (a, b): (Value, Value) = (
        serde_json::from_str(&plain).unwrap(),
        serde_json::from_str(&traced).unwrap(),
    );
    assert_eq!(a["runs"], b["runs"]);
    assert_eq!(a["days"], b["days"]);
    let summary = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    let (mixed, broken) = (
        summary.find("mixed (1 day)").unwrap(),
        summary.find("broken (1 day)").unwrap(),
    );
    assert!(mixed < broken, "grouped by sky class, clearest first");
    for d in DAYS {
        assert!(summary.contains(&format!("<a href=\"{d}.html\">{d}</a>")));
        let page = std::fs::read_to_string(out.path().join(format!("{d}.html"))).unwrap();
        assert!(page.contains("href=\"report.html\"") && page.contains("pv-only"));
        assert_eq!(
            page.matches("<svg").count(),
            2,
            "{d}: comparison and pv-only"
        );
    }
}

#[test]
fn each_days_page_draws_the_plan_of_a_policy_that_plans() {
    let c = corpus();
    let out = tempfile::tempdir().unwrap();
    let scenario = root().join("simulations/payerne-broken-clouds.toml");
    let (planner, pv) = (
        root().join("policies/planner.toml"),
        root().join("policies/pv-only.toml"),
    );
    let (code, json, stderr) = sunplug(&[
        "simulate",
        scenario.to_str().unwrap(),
        "--days",
        c.path().to_str().unwrap(),
        "--policy",
        planner.to_str().unwrap(),
        "--policy",
        pv.to_str().unwrap(),
        "--json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&json).unwrap();
    for d in DAYS {
        let page = std::fs::read_to_string(out.path().join(format!("{d}.html"))).unwrap();
        assert!(
            page.contains("id=\"p-planner-plan\""),
            "{d}: the plan chart"
        );
        assert!(
            !page.contains("id=\"p-pv-only-plan\""),
            "{d}: pv-only has no plan"
        );
        assert_eq!(
            page.matches("<svg").count(),
            4,
            "{d}: comparison, planner, its plan, pv-only"
        );
    }
    let runs = v["runs"].as_array().unwrap();
    assert!(runs[0]["plan_cost_eur"].is_f64(), "{}", runs[0]);
    assert!(runs[1]["plan_cost_eur"].is_null(), "{}", runs[1]);
}
