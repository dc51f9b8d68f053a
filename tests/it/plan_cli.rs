//! `sunplug plan --config F`: the table by slot with the planned start and cost, from a fixed
//! time-of-use table and from aWATTar (its emulator); a policy that does not plan is refused.

use crate::support::sim::{Dir, root, sunplug};
use sunplug::emulators::awattar::AwattarEmulator;

fn config(dir: &Dir, policy: &str, prices: &str) -> String {
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root().join(format!("policies/{policy}.toml")),
        dir.path().join(format!("policies/{policy}.toml")),
    )
    .unwrap();
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\npolicy = \"policies/{policy}.toml\"\n\
         [vehicle]\nkind = \"mqtt\"\ncapacity_kwh = 60\n[vehicle.mqtt]\nsoc = {{ topic = \"car/soc\" }}\n[charger]\nmax_current_a = 16\n{prices}"
    );
    dir.write("sunplug.toml", &text).display().to_string()
}

#[test]
fn the_plan_of_a_fixed_time_of_use_table() {
    let dir = Dir::new();
    let mut table = vec!["0.30"; 24];
    table[2] = "0.10";
    table[3] = "0.10";
    let path = config(
        &dir,
        "planner",
        &format!("[prices]\nimport = [{}]\n", table.join(", ")),
    );
    let (code, out, err) = sunplug(&[
        "plan",
        "--config",
        &path,
        "--soc",
        "50",
        "--at",
        "2026-06-01T18:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    // 50 → 80 % of 60 kWh at 90 %: 20 kWh in the two cheap hours, 02:00 and 03:00 local.
    assert!(out.contains("Tue 02:00"), "{out}");
    assert!(
        out.contains("planned start Tue 02:00; expected cost 2.00"),
        "{out}"
    );
    assert!(out.contains("need 20.0 kWh"), "{out}");
    let (code, json, _) = sunplug(&[
        "plan",
        "--config",
        &path,
        "--soc",
        "50",
        "--at",
        "2026-06-01T18:00:00Z",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["start"], "2026-06-02T00:00:00+00:00");
    assert!((v["cost"].as_f64().unwrap() - 2.0).abs() < 1e-9);
}

#[test]
fn a_policy_that_does_not_plan_is_refused() {
    let dir = Dir::new();
    let path = config(&dir, "pv-only", "[prices]\nimport = 0.3\n");
    let (code, _, err) = sunplug(&["plan", "--config", &path]);
    assert_ne!(code, 0);
    assert!(err.contains("does not plan"), "{err}");
}

#[test]
fn pv_only_prints_the_plan_of_its_minimum() {
    let dir = Dir::new();
    let mut table = vec!["0.30"; 24];
    table[2] = "0.10";
    let path = config(
        &dir,
        "pv-only",
        &format!("[prices]\nimport = [{}]\n", table.join(", ")),
    );
    dir.write(
        "policies/pv-only.toml",
        "module = \"pv-only\"\nmin_soc = 60\nmin_soc_by = \"07:00\"\n",
    );
    let args = |soc: &'static str| {
        [
            "plan",
            "--config",
            path.as_str(),
            "--soc",
            soc,
            "--at",
            "2026-06-01T18:00:00Z",
        ]
    };
    let (code, out, err) = sunplug(&args("50"));
    assert_eq!(code, 0, "{err}");
    // 50 → 60 % of 60 kWh at 90 %: 6.7 kWh in the cheap hour, 02:00 local.
    assert!(out.contains("need 6.7 kWh"), "{out}");
    assert!(
        out.contains("planned start Tue 02:00; expected cost 0.67"),
        "{out}"
    );
    // Above its minimum pv-only has nothing to plan.
    let (code, _, err) = sunplug(&args("70"));
    assert_ne!(code, 0);
    assert!(
        err.contains("does not plan") && err.contains("min_soc_by"),
        "{err}"
    );
}

#[tokio::test]
async fn the_plan_from_awattar_prices() {
    let t0 = 1_780_272_000_000i64; // 2026-06-01T00:00Z
    let prices = (0..48)
        .map(|h| {
            let s = t0 + h * 3_600_000;
            (s, s + 3_600_000, if h == 27 { 10.0 } else { 120.0 })
        })
        .collect();
    let emu = AwattarEmulator::start(prices).await.unwrap();
    let dir = Dir::new();
    let path = config(
        &dir,
        "planner",
        &format!(
            "[prices]\nsource = \"awattar\"\nbase_url = \"{}\"\nfactor = 1.19\nadder = 0.21\nfallback = 0.40\n",
            emu.url()
        ),
    );
    let out = tokio::task::spawn_blocking(move || {
        sunplug(&[
            "plan",
            "--config",
            &path,
            "--soc",
            "70",
            "--at",
            "2026-06-01T18:00:00Z",
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.0, 0, "{}", out.2);
    // 6.7 kWh: the cheap hour, 03:00Z = 05:00 local, at 0.01 × 1.19 + 0.21.
    assert!(out.1.contains("planned start Tue 05:00"), "{}", out.1);
    assert_eq!(emu.requests().len(), 1);
}

#[tokio::test]
async fn the_plan_from_tibber_prices() {
    use sunplug::emulators::tibber::TibberEmulator;
    let midnight = "2026-06-01T00:00:00+02:00"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    // Two days of quarters at 0.10 + 0.15, the quarters of 04:00 local on Tuesday at 0.01 + 0.15.
    let quarters = (0..192)
        .map(|i| {
            let e = if (112..116).contains(&i) { 0.01 } else { 0.10 };
            (midnight + chrono::Duration::minutes(15 * i), e, 0.15)
        })
        .collect();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let emu = TibberEmulator::start("tibber-secret", chrono_tz::Europe::Berlin, today, quarters)
        .await
        .unwrap();
    let dir = Dir::new();
    dir.write("tibber-token", "tibber-secret\n");
    let path = config(
        &dir,
        "planner",
        &format!(
            "[prices]\nsource = \"tibber\"\ntoken_file = \"tibber-token\"\nbase_url = \"{}\"\nfallback = 0.40\n",
            emu.url()
        ),
    );
    let out = tokio::task::spawn_blocking(move || {
        sunplug(&[
            "plan",
            "--config",
            &path,
            "--soc",
            "70",
            "--at",
            "2026-06-01T18:00:00Z",
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.0, 0, "{}", out.2);
    assert!(out.1.contains("planned start Tue 04:00"), "{}", out.1);
    assert!(out.1.contains("0.160"), "Tibber's total as is: {}", out.1);
    assert!(out.1.contains("expected cost 1.07 EUR"), "{}", out.1);
    assert!(!out.1.contains("tibber-secret") && !out.2.contains("tibber-secret"));
    assert_eq!(emu.requests().len(), 1);
}

#[tokio::test]
async fn the_plan_from_entsoe_prices_and_a_missing_token() {
    use sunplug::emulators::entsoe::{Day, EntsoeEmulator};
    let start = "2026-06-01T22:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let day = |start, cheap: bool| Day {
        start,
        step: chrono::Duration::minutes(60),
        prices: (0..24)
            .map(|h| if cheap && h == 4 { 5.0 } else { 110.0 })
            .collect(),
    };
    let emu = EntsoeEmulator::start(
        "entsoe-secret",
        "10YBE----------2",
        vec![
            day(start - chrono::Duration::days(1), false),
            day(start, true),
        ],
    )
    .await
    .unwrap();
    let dir = Dir::new();
    let prices = |token: &str| {
        format!(
            "[prices]\nsource = \"entsoe\"\nzone = \"BE\"\n{token}base_url = \"{}\"\nfactor = 1.06\nadder = 0.15\nfallback = 0.40\n",
            emu.url()
        )
    };
    let no_token = config(&dir, "planner", &prices(""));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .args(["plan", "--config", &no_token])
            .env_remove("SUNPLUG_ENTSOE_TOKEN")
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("prices.token_file") && err.contains("SUNPLUG_ENTSOE_TOKEN"),
        "{err}"
    );

    dir.write("entsoe-token", "entsoe-secret");
    let path = config(&dir, "planner", &prices("token_file = \"entsoe-token\"\n"));
    let out = tokio::task::spawn_blocking(move || {
        sunplug(&[
            "plan",
            "--config",
            &path,
            "--soc",
            "70",
            "--at",
            "2026-06-01T18:00:00Z",
        ])
    })
    .await
    .unwrap();
    assert_eq!(out.0, 0, "{}", out.2);
    // Hour 4 of the market day that starts at 22:00Z is 02:00Z, 04:00 in Brussels.
    assert!(out.1.contains("planned start Tue 04:00"), "{}", out.1);
    assert_eq!(emu.requests().len(), 1);
}
