//! `sunplug probe surplus`, the built binary against a real broker: the JSON object, the human form
//! after a retained value, a timeout, an unreachable broker and a bad config (each exit 1 with a
//! sentence saying what is wrong).

use crate::support::{DEADLINE, Publisher, TestBroker, free_port, kinds};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOPIC: &str = "shellypro3em-probe/status/em:0";
const STATUS: &str = r#"{"id":0,"a_act_power":-1200.5,"b_act_power":-1100,"c_act_power":-900.5,"total_act_power":-3201}"#;

fn config(dir: &tempfile::TempDir, port: u16, surplus: &str) -> PathBuf {
    let path = dir.path().join("sunplug.toml");
    std::fs::write(
        &path,
        format!(
            "[site]\ntimezone = \"Europe/Brussels\"\n\n[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nclient_id = \"sunplug\"\n\n[surplus]\n{surplus}\n"
        ),
    )
    .unwrap();
    path
}

fn spawn(config: &PathBuf, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sunplug"))
        .args(["probe", "surplus", "--config"])
        .arg(config)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Publish `payload` (live) every 100 ms until the probe exits; return its output.
async fn feed_until_exit(mut child: Child, meter: &mut Publisher, payload: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < DEADLINE, "the probe did not finish");
        meter.publish(TOPIC, payload, false).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.wait_with_output().unwrap()
}

fn wait(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn json_report_has_the_contract_keys() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            &dir,
            broker.port,
            "preset = \"shelly-pro-3em\"\ndevice = \"shellypro3em-probe\"",
        );
        let mut meter = Publisher::connect(broker.port, "meter").await;
        let out = feed_until_exit(
            spawn(&cfg, &["--json", "--timeout", "20s"]),
            &mut meter,
            STATUS,
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{kind:?}: {stderr}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["grid_w"], -3201.0, "import positive");
        assert_eq!(v["surplus_w"], 3201.0, "export positive");
        assert!(v["age_s"].as_f64().unwrap() >= 0.0);
        assert_eq!(v["topic"], TOPIC);
        assert!(v["raw"].as_str().unwrap().contains("total_act_power"));
        assert_eq!(v["kind"], "grid");
        assert!(stderr.is_empty(), "--json keeps stderr quiet: {stderr}");
    }
}

#[tokio::test]
async fn a_retained_value_is_named_and_the_probe_waits_for_a_live_one() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            &dir,
            broker.port,
            "preset = \"shelly-pro-3em\"\ndevice = \"shellypro3em-probe\"",
        );
        let mut meter = Publisher::connect(broker.port, "meter").await;
        meter
            .publish(TOPIC, r#"{"total_act_power":777}"#, true)
            .await;
        let out = feed_until_exit(spawn(&cfg, &["--timeout", "20s"]), &mut meter, STATUS).await;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let status = out.status;
        assert!(status.success(), "{kind:?}: {stderr}");
        assert!(stdout.contains("grid: 3201 W export"), "{stdout}");
        assert!(stdout.contains("surplus for the car: 3201 W"), "{stdout}");
        assert!(stderr.contains("connected to 127.0.0.1"), "{stderr}");
        assert!(
            stderr.contains("retained value of unknown age (grid 777 W), waiting for a live one"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn silence_times_out_with_exit_1_and_says_which_topic() {
    let broker = TestBroker::start(&crate::support::Kind::Rumqttd);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &dir,
        broker.port,
        "preset = \"shelly-pro-3em\"\ndevice = \"shellypro3em-probe\"",
    );
    let out = wait(spawn(&cfg, &["--timeout", "1s"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no fresh surplus reading within 1s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nothing usable on shellypro3em-probe/status/em:0 /total_act_power"),
        "{stderr}"
    );
}

#[tokio::test]
async fn only_a_retained_value_times_out_and_says_so() {
    let broker = TestBroker::start(&crate::support::Kind::Rumqttd);
    let mut meter = Publisher::connect(broker.port, "meter").await;
    meter
        .publish("dsmr/reading/electricity_currently_delivered", "0.4", true)
        .await;
    meter
        .publish("dsmr/reading/electricity_currently_returned", "0", true)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, broker.port, "preset = \"dsmr-reader\"");
    let out = wait(spawn(&cfg, &["--timeout", "2s"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("retained value of unknown age (grid 400 W), waiting for a live one"),
        "{stderr}"
    );
    assert!(
        stderr.contains("only retained values of unknown age"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_broker_fails_fast_with_exit_1() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, port, "preset = \"evcc\"");
    let start = Instant::now();
    let out = wait(spawn(&cfg, &["--timeout", "30s"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to the MQTT broker at 127.0.0.1:{port}: connection refused"
        )),
        "{stderr}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "it does not wait for the timeout"
    );
}

#[tokio::test]
async fn config_problems_exit_1_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &dir,
        1883,
        "preset = \"victron\"\nsign = \"charge_positive\"",
    );
    let out = wait(spawn(&cfg, &[]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("surplus.device: preset \"victron\" needs device"),
        "{stderr}"
    );
    assert!(
        stderr.contains("surplus.sign: grid power is \"import_positive\" or \"export_positive\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_password_comes_from_the_environment_and_never_shows() {
    let users =
        std::collections::HashMap::from([("sunplug".to_string(), "s3cret-from-env".to_string())]);
    let broker = TestBroker::start_with_users(&crate::support::Kind::Rumqttd, Some(users));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, broker.port, "preset = \"evcc\"");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("client_id", "username = \"sunplug\"\nclient_id");
    std::fs::write(&cfg, text).unwrap();

    let run = |password: &str| {
        Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .args(["probe", "surplus", "--timeout", "2s", "--config"])
            .arg(&cfg)
            .env("SUNPLUG_MQTT_PASSWORD", password)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap()
    };
    let out = run("wrong-password-123");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("cannot connect to the MQTT broker") && all.contains("password"),
        "{all}"
    );
    assert!(!all.contains("wrong-password-123"), "{all}");

    let out = run("s3cret-from-env");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "nobody publishes, so it times out: {all}"
    );
    assert!(
        all.contains("connected to 127.0.0.1"),
        "the right password connects: {all}"
    );
    assert!(
        all.contains("nothing usable on evcc/site/grid/power"),
        "{all}"
    );
    assert!(!all.contains("s3cret"), "{all}");
}
