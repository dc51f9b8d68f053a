//! Prices from MQTT: `sunplug plan --config F` with `[prices] source = "mqtt"` reads the retained
//! list (Home Assistant's Nord Pool attributes, tomorrow's cheap hour) from a real broker and plans
//! on it; a message that is not a price list is refused with the reason; the daemon's handler maps
//! the list through the linear map and ignores other topics.

use crate::support::sim::{Dir, root};
use crate::support::{Kind, Publisher, TestBroker};
use sunplug::config::prices::PricesSection;
use sunplug::daemon::prices::MqttPrices;

/// Hourly prices of 2026-06-01 and 2026-06-02 in Brussels (+02:00): 0.30, 0.05 at 03:00 on the 2nd.
fn nord_pool() -> String {
    let day = |d: &str, cheap: Option<u32>| {
        (0..24)
            .map(|h| {
                let v = if Some(h) == cheap { 0.05 } else { 0.30 };
                format!(
                    "{{\"start\": \"{d}T{h:02}:00:00+02:00\", \"end\": \"{d}T{h:02}:59:59+02:00\", \"value\": {v}}}"
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{{\"current_price\": 0.3, \"unit\": \"kWh\", \"raw_today\": [{}], \"raw_tomorrow\": [{}], \"tomorrow_valid\": true}}",
        day("2026-06-01", None),
        day("2026-06-02", Some(3))
    )
}

fn config(dir: &Dir, port: u16) -> String {
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root().join("policies/planner.toml"),
        dir.path().join("policies/planner.toml"),
    )
    .unwrap();
    let text = format!(
        "[site]\ntimezone = \"Europe/Brussels\"\n[control]\npolicy = \"policies/planner.toml\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n\
         [vehicle]\nkind = \"mqtt\"\ncapacity_kwh = 60\n[vehicle.mqtt]\nsoc = {{ topic = \"car/soc\" }}\n\
         [charger]\nmax_current_a = 16\n\
         [prices]\nsource = \"mqtt\"\ntopic = \"nordpool/prices\"\nfallback = 0.40\n"
    );
    dir.write("sunplug.toml", &text).display().to_string()
}

async fn plan(path: String) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        crate::support::sim::sunplug(&[
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
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_reads_the_retained_list_from_the_broker() {
    let broker = TestBroker::start(&Kind::Rumqttd);
    let dir = Dir::new();
    let path = config(&dir, broker.port);
    let mut publisher = Publisher::connect(broker.port, "nordpool").await;
    publisher
        .publish("nordpool/prices", nord_pool(), true)
        .await;
    let (code, out, err) = plan(path.clone()).await;
    assert_eq!(code, 0, "{out}{err}");
    // 6.7 kWh in the cheap hour, 03:00 local on Tuesday.
    assert!(out.contains("planned start Tue 03:00"), "{out}");
    assert!(out.contains("0.050"), "{out}");

    publisher
        .publish("nordpool/prices", "{\"state\": \"unavailable\"}", true)
        .await;
    let (code, _, err) = plan(path).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("nordpool/prices was refused") && err.contains("raw_today"),
        "{err}"
    );
}

#[test]
fn the_daemon_handler_maps_the_list_and_ignores_other_topics() {
    let section: PricesSection = toml::from_str(
        "source = \"mqtt\"\ntopic = \"prices\"\nfallback = 0.4\nfactor = 2\nadder = 0.1",
    )
    .unwrap();
    let h = MqttPrices::new(&section).unwrap();
    assert!(h.on_message("other", b"[]").is_none());
    let s = h
        .on_message(
            "prices",
            br#"[{"start": "2026-06-01T00:00:00Z", "price": 0.2}]"#,
        )
        .unwrap()
        .unwrap();
    assert!((s.points()[0].value - 0.5).abs() < 1e-12);
    assert!(
        h.on_message("prices", b"[]").unwrap().is_err(),
        "an empty list"
    );
    assert!(h.on_message("prices", b"garbage").unwrap().is_err());
    let fixed: PricesSection = toml::from_str("import = 0.3").unwrap();
    assert!(MqttPrices::new(&fixed).is_none());
}
