//! `sunplug probe vehicle`: fetch the car's state once and show it, with each value's age.
//!
//! Owns: [`probe`] and the two renderings, [`to_json`] (one object; `null` where unknown) and
//! [`to_table`] (for people). Auth and network failures end the command with exit code 1 and the
//! vendor's classified error. An MQTT vehicle source is not probed here yet: it needs the broker
//! connection the service brings.

use super::VehicleSource;
use super::state::{Observed, VehicleState};
use crate::clock::{Clock, SystemClock};
use crate::config::vehicle::VehicleKind;
use crate::config::{self, Needs};
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// `sunplug probe vehicle --config F [--json]`.
pub async fn probe(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let load =
        |needs| config::load(path, needs).map_err(|p| anyhow!("{}", p.to_string().trim_end()));
    let mut cfg = load(Needs::VEHICLE)?;
    if cfg.vehicle.kind == VehicleKind::Mqtt {
        // The broker (and its password) is needed too.
        cfg = load(Needs {
            mqtt: true,
            ..Needs::VEHICLE
        })?;
    }
    match cfg.vehicle.kind {
        VehicleKind::None => {
            anyhow::bail!("[vehicle] kind = \"none\": there is no vehicle source to probe")
        }
        VehicleKind::Mqtt => return probe_mqtt(&cfg, json).await,
        VehicleKind::Enode | VehicleKind::Cariad => {}
    }
    let clock = SystemClock;
    let http = crate::vendor::http_client(Default::default());
    let mut source = VehicleSource::from_config(&cfg, &clock, http).map_err(|m| anyhow!("{m}"))?;
    let state = source
        .poll(&clock)
        .await
        .map_err(|e| anyhow!("fetching the vehicle's state failed: {e}"))?;
    let now = clock.now();
    let max_age = cfg.vehicle.max_age.get();
    if json {
        println!("{}", to_json(&state, now, max_age));
    } else {
        print!("{}", to_table(&state, now, max_age));
    }
    Ok(ExitCode::SUCCESS)
}

/// How long `probe vehicle` waits for the MQTT topics.
const MQTT_PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// `[vehicle] kind = "mqtt"`: subscribe, wait until every topic has spoken (or the timeout), print.
async fn probe_mqtt(cfg: &config::Config, json: bool) -> anyhow::Result<ExitCode> {
    use crate::mqtt::{MqttEvent, MqttLink, MqttOptions, QoS};
    let clock = SystemClock;
    let section = cfg
        .vehicle
        .mqtt
        .as_ref()
        .ok_or_else(|| anyhow!("no [vehicle.mqtt] section"))?;
    let mut tracker =
        super::mqtt::MqttVehicle::new(section, cfg.vehicle.max_age.get(), clock.now())
            .map_err(|e| anyhow!(e))?;
    let m = cfg
        .mqtt
        .as_ref()
        .ok_or_else(|| anyhow!("no [mqtt] section"))?;
    let dir = cfg.path.parent().unwrap_or(Path::new("."));
    let suffix = format!("-probe-{}", std::process::id());
    let options = MqttOptions::from_section(m, cfg.secrets.mqtt_password.as_ref(), dir, &suffix)
        .map_err(|e| anyhow!(e))?;
    let (handle, mut events) = MqttLink::start(options).map_err(|e| anyhow!("MQTT: {e}"))?;
    let topics = tracker.topics();
    for t in &topics {
        let _ = handle.subscribe(t, QoS::AtLeastOnce);
    }
    let mut heard: std::collections::BTreeSet<String> = Default::default();
    let deadline = tokio::time::sleep(MQTT_PROBE_TIMEOUT);
    tokio::pin!(deadline);
    let mut last_error = None;
    let mut connected = false;
    while heard.len() < topics.len() {
        tokio::select! {
            _ = &mut deadline => break,
            ev = events.recv() => match ev {
                Some(MqttEvent::Message { topic, payload, retained }) => {
                    tracker.on_message(&topic, &payload, retained, clock.now());
                    heard.insert(topic);
                }
                // A broker that refuses or is not there: say so at once, not after the timeout.
                Some(MqttEvent::Disconnected(why)) if !connected => {
                    handle.shutdown().await;
                    anyhow::bail!("cannot reach the MQTT broker {}:{}: {why}", m.host, m.port);
                }
                Some(MqttEvent::Disconnected(why)) => last_error = Some(why),
                Some(MqttEvent::Connected) => {
                    connected = true;
                    last_error = None;
                }
                None => break,
            }
        }
    }
    handle.shutdown().await;
    if heard.is_empty() {
        let why = last_error
            .map(|e| format!(" (broker: {e})"))
            .unwrap_or_default();
        anyhow::bail!(
            "no message on {} within {}s{why}",
            topics.join(", "),
            MQTT_PROBE_TIMEOUT.as_secs()
        );
    }
    let now = clock.now();
    let max_age = cfg.vehicle.max_age.get();
    if json {
        println!("{}", to_json(tracker.state(), now, max_age));
    } else {
        print!("{}", to_table(tracker.state(), now, max_age));
        let silent: Vec<&String> = topics.iter().filter(|t| !heard.contains(*t)).collect();
        if !silent.is_empty() {
            println!(
                "no message yet on: {}",
                silent
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn age_s<T>(o: &Option<Observed<T>>, now: DateTime<Utc>) -> Value {
    o.as_ref()
        .and_then(|o| o.age(now))
        .map_or(Value::Null, |a| json!(a.as_secs()))
}

/// One JSON object: the values (`null` where unknown), `age_s` (the charge data's age: the oldest of
/// SoC, plug and charging; `null` if unknown), `fresh` against `[vehicle] max_age`, and each value's
/// own age under `ages_s`.
pub fn to_json(s: &VehicleState, now: DateTime<Utc>, max_age: Duration) -> Value {
    let loc = s.location.as_ref().map(|l| &l.value);
    let freshness = s.freshness(now, max_age);
    json!({
        "source": s.source,
        "fetched_at": s.fetched_at.to_rfc3339(),
        "soc_pct": s.soc.as_ref().map(|o| o.value.pct()),
        "plugged": s.plugged.as_ref().map(|o| o.value),
        "charging": s.charging.as_ref().map(|o| o.value),
        "charge_limit_pct": s.charge_limit.as_ref().map(|o| o.value.pct()),
        "range_km": s.range_km.as_ref().map(|o| o.value),
        "latitude": loc.map(|l| l.latitude),
        "longitude": loc.map(|l| l.longitude),
        "gps_accuracy_m": loc.and_then(|l| l.accuracy_m),
        "charge_power_w": s.charge_power.as_ref().map(|o| o.value.0),
        "power_delivery": s.power_delivery.as_ref().map(|o| o.value.as_str()),
        "vendor_state": s.vendor_state,
        "odometer_km": s.odometer_km.as_ref().map(|o| o.value),
        "reachable": s.reachable,
        "plugged_in_charger_id": s.plugged_in_charger_id,
        "age_s": s.data_age(now).map(|a| a.as_secs()),
        "fresh": freshness == super::state::Freshness::Fresh,
        "freshness": freshness.as_str(),
        "max_age_s": max_age.as_secs(),
        "ages_s": {
            "soc_pct": age_s(&s.soc, now),
            "plugged": age_s(&s.plugged, now),
            "charging": age_s(&s.charging, now),
            "charge_limit_pct": age_s(&s.charge_limit, now),
            "range_km": age_s(&s.range_km, now),
            "location": age_s(&s.location, now),
            "odometer_km": age_s(&s.odometer_km, now),
        },
        "vehicle": {
            "id": s.info.id, "brand": s.info.brand, "model": s.info.model, "year": s.info.year, "vin": s.info.vin,
        },
        "capabilities": {
            "start_charging": s.capabilities.start_charging, "stop_charging": s.capabilities.stop_charging,
        },
        "notes": s.notes,
    })
}

/// An age for people: "just now", "4 min", "3 h 5 min", "12 d 4 h".
pub fn human_age(a: Duration) -> String {
    let s = a.as_secs();
    match s {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn when<T>(o: &Observed<T>, now: DateTime<Utc>) -> String {
    match (o.at, o.age(now)) {
        (Some(at), Some(age)) => format!(
            "captured {} ({} ago)",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            human_age(age)
        ),
        _ => "capture time unknown".into(),
    }
}

/// The human table.
pub fn to_table(s: &VehicleState, now: DateTime<Utc>, max_age: Duration) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut rows: Vec<(&str, Option<String>, Option<String>)> = Vec::new();
    let mut row = |name, v: Option<String>, w: Option<String>| rows.push((name, v, w));
    row(
        "SoC",
        s.soc.as_ref().map(|o| format!("{:.0} %", o.value.pct())),
        s.soc.as_ref().map(|o| when(o, now)),
    );
    row(
        "plugged in",
        s.plugged.as_ref().map(|o| yes_no(o.value)),
        s.plugged.as_ref().map(|o| when(o, now)),
    );
    row(
        "charging",
        s.charging.as_ref().map(|o| yes_no(o.value)),
        s.charging.as_ref().map(|o| when(o, now)),
    );
    let limit = s.charge_limit.as_ref();
    row(
        "charge limit",
        limit.map(|o| format!("{:.0} %", o.value.pct())),
        limit.map(|o| when(o, now)),
    );
    row(
        "range",
        s.range_km.as_ref().map(|o| format!("{:.0} km", o.value)),
        s.range_km.as_ref().map(|o| when(o, now)),
    );
    let power = s.charge_power.as_ref();
    row(
        "charge power",
        power.map(|o| format!("{:.1} kW", o.value.kilowatts())),
        power.map(|o| when(o, now)),
    );
    let pd = s.power_delivery.as_ref();
    row(
        "state",
        pd.map(|o| o.value.as_str().to_string()),
        s.vendor_state
            .clone()
            .map(|v| format!("vendor says \"{v}\"")),
    );
    let loc = s.location.as_ref();
    row(
        "location",
        loc.map(|l| format!("{:.5}, {:.5}", l.value.latitude, l.value.longitude)),
        loc.map(|o| when(o, now)),
    );
    let odo = s.odometer_km.as_ref();
    row(
        "odometer",
        odo.map(|o| format!("{:.0} km", o.value)),
        odo.map(|o| when(o, now)),
    );
    row("reachable", s.reachable.map(yes_no), None);
    let mut out = String::new();
    let what = [s.info.brand.as_deref(), s.info.model.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let id = s.info.id.as_deref().unwrap_or("?");
    out.push_str(&format!(
        "vehicle ({}): {} [{id}]\n",
        s.source,
        if what.is_empty() { "?" } else { &what }
    ));
    for (name, v, w) in rows {
        let v = v.unwrap_or_else(|| "unknown".into());
        out.push_str(format!("  {name:<13} {v:<22} {}", w.unwrap_or_default()).trim_end());
        out.push('\n');
    }
    let verdict = match s.data_age(now) {
        Some(a) if a <= max_age => format!(
            "fresh ({} old, max_age {})",
            human_age(a),
            humantime::format_duration(max_age)
        ),
        Some(a) => format!(
            "STALE: {} old, more than max_age {}; the controller will not use it",
            human_age(a),
            humantime::format_duration(max_age)
        ),
        None => "age UNKNOWN: the controller will not use it".into(),
    };
    out.push_str(&format!("data: {verdict}\n"));
    if !s.notes.is_empty() {
        out.push_str("notes:\n");
        for n in &s.notes {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Soc;
    use chrono::TimeZone;

    #[test]
    fn json_has_every_key_with_null_where_unknown() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let mut s = VehicleState::empty("enode", now);
        s.soc = Some(Observed::new(
            Soc::new(63.0).unwrap(),
            Some(now - chrono::TimeDelta::minutes(4)),
        ));
        let j = to_json(&s, now, Duration::from_secs(3600));
        assert_eq!(j["soc_pct"], 63.0);
        for k in [
            "plugged",
            "charging",
            "charge_limit_pct",
            "range_km",
            "latitude",
            "longitude",
        ] {
            assert!(j[k].is_null(), "{k}: {}", j[k]);
        }
        assert_eq!(j["age_s"], 240);
        assert_eq!(j["ages_s"]["soc_pct"], 240);
        assert_eq!(j["fresh"], true);
        let table = to_table(&s, now, Duration::from_secs(60));
        assert!(table.contains("STALE: 4 min old"), "{table}");
        assert!(table.contains("plugged in    unknown"), "{table}");
    }

    #[test]
    fn ages_read_well() {
        assert_eq!(human_age(Duration::from_secs(5)), "just now");
        assert_eq!(human_age(Duration::from_secs(3 * 3600 + 300)), "3 h 5 min");
        assert_eq!(
            human_age(Duration::from_secs(12 * 86_400 + 7200)),
            "12 d 2 h"
        );
    }
}
