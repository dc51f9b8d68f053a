//! What the service records can be replayed: a day written by `daemon::recorder::Recorder` (with the
//! meter silent for a while) goes straight into `sunplug simulate --net`.

use chrono::{TimeZone, Utc};
use std::path::Path;
use std::process::Command;
use sunplug::daemon::recorder::{Recorder, Row};

#[test]
fn a_recorded_day_replays_in_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let tz: chrono_tz::Tz = "Europe/Zurich".parse().unwrap();
    let mut rec = Recorder::new(dir.path().to_path_buf(), tz, 30, 100);
    let day = Utc.with_ymd_and_hms(2016, 6, 16, 22, 0, 0).unwrap(); // local midnight, 17 June
    for i in 0..(24 * 720) {
        let t = day + chrono::Duration::seconds(i * 5);
        let h = i as f64 * 5.0 / 3600.0;
        let pv = if (6.0..20.0).contains(&h) {
            7000.0 * ((h - 6.0) / 14.0 * std::f64::consts::PI).sin()
        } else {
            0.0
        };
        let silent = (12.0..12.02).contains(&h);
        rec.record(&Row {
            time: t,
            grid_w: (!silent).then_some(400.0 - pv),
            car_w: Some(0.0),
            command_a: 0.0,
            policy: "pv-only".into(),
            ..Row::default()
        })
        .unwrap();
    }
    rec.flush().unwrap();
    let file = dir.path().join("2016-06-17.csv");
    assert!(file.exists());
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/payerne-broken-clouds.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .arg("simulate")
        .arg(&scenario)
        .arg("--net")
        .arg(&file)
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pv_only = &v["runs"][0];
    assert!(pv_only["car_solar_kwh"].as_f64().unwrap() > 10.0, "{v}");
}
