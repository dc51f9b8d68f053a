//! Multi-day runs over the shared corpus: `sunplug simulate SCENARIO --days DIR`.
//!
//! Two corpus days copied into a temporary corpus (with the README's sky classes): the JSON keeps
//! the one-day keys, `runs[]` are the sums of `days[]`, and the money columns are there and bounded.

use crate::support::sim::{root, sunplug};
use serde_json::Value;

const DAYS: [&str; 2] = ["2016-06-10", "2016-06-17"];

fn corpus() -> tempfile::TempDir {
    let src = root().join("../shared/data/corpus");
    let dir = tempfile::tempdir().unwrap();
    for sub in ["pv", "load"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if DAYS.iter().any(|d| name.contains(d)) {
                std::fs::copy(&p, dir.path().join(sub).join(&name)).unwrap();
            }
        }
    }
    std::fs::copy(src.join("README.md"), dir.path().join("README.md")).unwrap();
    dir
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
