//! The OCPP commands of the binary: `sunplug ocpp listen` shows a charge point connecting and its
//! messages; `sunplug charger set --dry-run` prints the exact frame for an OCPP config and sends
//! nothing; `charger set` refuses what OCPP cannot do before it listens at all.

use crate::support::ocpp::connect;
use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("sunplug.toml");
    std::fs::write(
        &path,
        "[site]\ntimezone = \"Europe/Brussels\"\n[charger]\nkind = \"ocpp\"\nmax_current_a = 16\n\
         [ocpp]\nlisten = \"127.0.0.1:0\"\ncharge_points = [{ id = \"CP1\", connector = 2 }]\n",
    )
    .unwrap();
    path
}

#[tokio::test]
async fn ocpp_listen_shows_a_charge_point_connecting_and_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args([
            "ocpp",
            "listen",
            "--config",
            path.to_str().unwrap(),
            "--for",
            "60s",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(crate::support::DEADLINE, lines.next_line())
            .await
            .expect("ocpp listen printed nothing")
            .unwrap()
            .expect("ocpp listen ended")
    };
    let first = next().await;
    let addr: std::net::SocketAddr = first
        .split("bound to ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    assert!(first.contains("ws://127.0.0.1:0/ocpp/<id>"), "{first}");
    // Without passwords, an id that is not configured is shown too (to find a charger's id).
    let mut cp = connect(addr, "WALLBOX-7", Some("ocpp1.6"), None)
        .await
        .unwrap();
    cp.boot("Preparing").await;
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("StatusNotification"))
    {
        seen.push(next().await);
    }
    assert!(seen[0].contains("WALLBOX-7: connected"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("BootNotification") && l.contains("TestCP")),
        "{seen:?}"
    );
    child.kill().await.unwrap();
}

#[test]
fn charger_set_for_ocpp_prints_the_frame_and_refuses_what_ocpp_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .args(["charger", "set", "--config", path.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--amps", "10", "--dry-run"]);
    assert!(out.status.success(), "{out:?}");
    let frame: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(frame[2], "SetChargingProfile");
    assert_eq!(frame[3]["connectorId"], 2);
    let profile = &frame[3]["csChargingProfiles"];
    assert_eq!(profile["chargingProfilePurpose"], "TxDefaultProfile");
    assert_eq!(
        profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
        10.0
    );
    let out = run(&["--smart", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClearChargingProfile"));
    for (args, why) in [
        (&["--percent", "50"][..], "in amps"),
        (&["--amps", "4"][..], "floor"),
        (&["--amps", "7.5"][..], "not whole"),
        (&["--resume"][..], "no \"resume\""),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(why),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_broken_cloud_day_with_a_local_ocpp_charger_needs_fewer_writes_and_no_replug_reset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |name: &str| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .current_dir(root)
            .args(["simulate", &format!("simulations/{name}.toml"), "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cloud = run("payerne-broken-clouds");
    let local = run("payerne-broken-clouds-ocpp");
    assert_eq!(local["scenario"], "payerne-broken-clouds-ocpp");
    let runs = |v: &serde_json::Value| -> Vec<(String, f64, f64)> {
        v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["policy"].as_str().unwrap().to_string(),
                    r["setpoint_writes"].as_f64().unwrap(),
                    r["solar_share"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (c, l) = (runs(&cloud), runs(&local));
    // Whole amps applied at once change less often than 0.1 A steps through the cloud.
    for ((policy, cloud_writes, _), (_, local_writes, _)) in c.iter().zip(&l) {
        assert!(
            local_writes <= cloud_writes,
            "{policy}: cloud {cloud_writes} local {local_writes}"
        );
    }
    let total = |r: &[(String, f64, f64)]| r.iter().map(|x| x.1).sum::<f64>();
    assert!(total(&l) < 0.6 * total(&c), "cloud {c:?} local {l:?}");
    let pv_only = l.iter().find(|r| r.0 == "pv-only").unwrap();
    assert!(pv_only.2 > 0.9, "{l:?}");
    let text = String::from_utf8(
        std::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .current_dir(root)
            .args(["simulate", "simulations/payerne-broken-clouds-ocpp.toml"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!text.contains("replug quirk"), "{text}");
}

#[tokio::test]
async fn charger_status_for_ocpp_waits_for_the_charge_point_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args([
            "charger",
            "status",
            "--json",
            "--config",
            path.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(crate::support::DEADLINE, async {
        loop {
            let l = err.next_line().await.unwrap().expect("status ended");
            if l.contains("bound to") {
                return l;
            }
        }
    })
    .await
    .unwrap();
    let addr: std::net::SocketAddr = line
        .split("bound to ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let mut cp = connect(addr, "CP1", Some("ocpp1.6"), None).await.unwrap();
    let r = cp
        .call(
            "BootNotification",
            serde_json::json!({"chargePointVendor": "Acme", "chargePointModel": "Box"}),
        )
        .await;
    assert_eq!(r[2]["status"], "Accepted");
    let r = cp
        .call(
            "StatusNotification",
            serde_json::json!({"connectorId": 2, "errorCode": "NoError", "status": "SuspendedEVSE"}),
        )
        .await;
    assert_eq!(r[0], 3);
    let out = tokio::time::timeout(crate::support::DEADLINE, child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["charge_point"], "CP1");
    assert_eq!(v["connector"], 2);
    assert_eq!(v["vendor"], "Acme");
    assert_eq!(v["status"], "SuspendedEVSE");
    assert_eq!(v["plugged"], true);
    assert_eq!(v["paused"], true);
}
