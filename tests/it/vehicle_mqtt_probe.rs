//! `sunplug probe vehicle` with `[vehicle] kind = "mqtt"`, against a real broker: the values the car's
//! topics carry, retained ones shown with an unknown age, and a clear failure when nothing comes.

use crate::support::Publisher;
use crate::support::{TestBroker, kinds};
use std::process::{Command, Output};

fn config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n\
         [vehicle]\nkind = \"mqtt\"\n[vehicle.mqtt]\n\
         soc = {{ topic = \"car/soc\" }}\nplugged = {{ topic = \"car/state\", pointer = \"/plug\" }}\n"
    );
    let path = dir.join("sunplug.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn probe(path: &std::path::Path) -> Output {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sunplug"))
            .args(["probe", "vehicle", "--json", "--config"])
            .arg(&path)
            .env_remove("SUNPLUG_MQTT_PASSWORD")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reads_the_cars_topics_from_the_broker() {
    for kind in kinds() {
        let broker = TestBroker::start(&kind);
        let dir = tempfile::tempdir().unwrap();
        let path = config(dir.path(), broker.port);
        let mut publisher = Publisher::connect(broker.port, "car-bridge").await;
        publisher.publish("car/soc", "64", true).await;
        publisher
            .publish("car/state", r#"{"plug":"connected"}"#, true)
            .await;
        let out = probe(&path).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{kind:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["soc_pct"], 64.0, "{kind:?}: {v}");
        assert_eq!(v["plugged"], true, "{kind:?}: {v}");
        assert!(
            v["age_s"].is_null(),
            "retained values have no known age: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_fails_clearly_when_the_broker_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let path = config(dir.path(), port);
    // Nothing listens on that port: the probe says so at once, with the broker's address.
    let out = probe(&path).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the MQTT broker 127.0.0.1:{port}")),
        "{stderr}"
    );
}
