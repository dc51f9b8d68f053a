//! `sunplug probe surplus`: connect, wait for the first fresh reading, print it, exit 0; or exit 1
//! with a sentence saying what is wrong (broker unreachable or refusing us, topics silent, only
//! retained values, bad payloads, stale parts).
//!
//! Owns: [`probe`] (the command), [`run_probe`] (the part tests drive with their own options and
//! clock) and [`Report`] (the `--json` object: `grid_w`, `surplus_w`, `age_s`, `topic`, `raw`...).

use super::spec::MeterSpec;
use super::tracker::{State, SurplusTracker};
use super::value::Role;
use crate::clock::{Clock, SystemClock};
use crate::config::{self, Needs};
use crate::control::controller::effective_grid;
use crate::control::observation::PowerBalance;
use crate::control::policies::HomeBattery;
use crate::mqtt::{Backoff, MqttEvent, MqttLink, MqttOptions, QoS};
use crate::units::Watts;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// One part of the reading, as shown.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartReport {
    pub value: &'static str,
    pub topic: String,
    pub pointer: Option<String>,
    pub watts: f64,
    pub age_s: f64,
    pub raw: String,
}

/// The first fresh reading.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub kind: &'static str,
    /// Grid power, import positive, as the meter sees it (includes the car). `None` when the meter
    /// gives only pv − load without the car.
    pub grid_w: Option<f64>,
    /// Power available for the car, export positive, with the car at 0 W and the home battery rule
    /// applied (by default a discharging battery is a deficit, never surplus).
    pub surplus_w: f64,
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
    /// Home battery, charge positive.
    pub battery_w: Option<f64>,
    pub home_battery_rule: String,
    /// Age of the oldest part.
    pub age_s: f64,
    /// The message that arrived last.
    pub topic: String,
    pub raw: String,
    pub parts: Vec<PartReport>,
    /// Retained values (unknown age) were seen and not used.
    pub skipped_retained: bool,
    pub bad_payloads: u64,
}

/// Why the probe found no fresh reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to the MQTT broker at {broker}: {reason}")]
    Connect { broker: String, reason: String },
    #[error("no fresh surplus reading within {}: {detail}", humantime::format_duration(*.timeout))]
    Timeout { timeout: Duration, detail: String },
    #[error("MQTT setup failed: {0}")]
    Setup(String),
}

/// Connect with `options`, subscribe to the meter's topics, and return the first fresh reading.
/// `note` receives progress lines for people (connected, retained value seen, bad payloads).
pub async fn run_probe(
    options: MqttOptions,
    spec: MeterSpec,
    rule: HomeBattery,
    timeout: Duration,
    clock: &dyn Clock,
    note: &mut dyn FnMut(String),
) -> Result<Report, ProbeError> {
    let broker = format!("{}:{}", options.host, options.port);
    let (handle, mut events) =
        MqttLink::start(options).map_err(|e| ProbeError::Setup(e.to_string()))?;
    let mut tracker = SurplusTracker::new(spec);
    for t in tracker.topics() {
        handle
            .subscribe(&t, QoS::AtMostOnce)
            .map_err(|e| ProbeError::Setup(e.to_string()))?;
    }
    let mut connected = false;
    let mut told_retained = false;
    let mut told_bad = 0;
    let wait = async {
        while let Some(ev) = events.recv().await {
            match ev {
                MqttEvent::Connected => {
                    connected = true;
                    note(format!(
                        "connected to {broker}; waiting on {}",
                        tracker.topics().join(", ")
                    ));
                }
                MqttEvent::Disconnected(reason) if !connected => {
                    return Err(ProbeError::Connect {
                        broker: broker.clone(),
                        reason,
                    });
                }
                MqttEvent::Disconnected(reason) => {
                    note(format!("connection lost ({reason}); reconnecting"))
                }
                MqttEvent::Message {
                    topic,
                    payload,
                    retained,
                } => {
                    let now = clock.now();
                    let out = tracker.on_message(&topic, &payload, retained, now);
                    if let (Some(why), true) = (&out.rejected, told_bad < 5) {
                        told_bad += 1;
                        let raw: String =
                            crate::vendor::excerpt(&String::from_utf8_lossy(&payload))
                                .chars()
                                .take(80)
                                .collect();
                        note(format!(
                            "ignored a bad payload on {topic}: {why} (payload: {raw})"
                        ));
                    }
                    if tracker.reading(now).is_some() {
                        return Ok(report(&tracker, rule, now, told_retained));
                    }
                    let snap = tracker.snapshot(now);
                    if let (State::RetainedOnly { .. }, false) = (&snap.state, told_retained) {
                        told_retained = true;
                        let seen = snap
                            .sample
                            .map(|s| format!(" (grid {:.0} W)", s.balance.grid(Watts::ZERO).0))
                            .unwrap_or_default();
                        note(format!(
                            "retained value of unknown age{seen}, waiting for a live one"
                        ));
                    }
                }
            }
        }
        Err(ProbeError::Setup("the MQTT link stopped".into()))
    };
    let result = match tokio::time::timeout(timeout, wait).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::Timeout {
            timeout,
            detail: explain(&tracker, clock, handle.is_connected()),
        }),
    };
    handle.shutdown().await;
    result
}

/// Why nothing fresh came, in one sentence.
fn explain(tracker: &SurplusTracker, clock: &dyn Clock, connected: bool) -> String {
    if !connected {
        return "the broker connection never came up".into();
    }
    let snap = tracker.snapshot(clock.now());
    let bad = match snap.stats.bad {
        0 => String::new(),
        n => format!("; {n} bad payload(s) ignored"),
    };
    match snap.state {
        State::Waiting { missing } => format!(
            "nothing usable on {} (check the topic and pointer with mosquitto_sub -v -t '#'){bad}",
            missing.join(", ")
        ),
        State::RetainedOnly { retained } => format!(
            "only retained values of unknown age on {}, no live update: is the meter publishing?{bad}",
            retained.join(", ")
        ),
        State::Stale { age } => format!(
            "the reading is {:.0} s old, more than max_age {:.0} s: a part updates too rarely{bad}",
            age.as_secs_f64(),
            tracker.spec().max_age.as_secs_f64()
        ),
        State::Fresh { .. } => format!("a reading arrived just as time ran out{bad}"),
    }
}

fn report(
    tracker: &SurplusTracker,
    rule: HomeBattery,
    now: chrono::DateTime<chrono::Utc>,
    skipped: bool,
) -> Report {
    let snap = tracker.snapshot(now);
    let sample = snap
        .sample
        .unwrap_or_else(|| crate::control::observation::MeterSample::grid(Watts::ZERO));
    let grid_w = match sample.balance {
        PowerBalance::Grid(g) => Some(g.0),
        PowerBalance::Available(_) => None,
    };
    let surplus_w = -effective_grid(sample.balance.grid(Watts::ZERO), sample.battery, rule).0;
    let age = |at: chrono::DateTime<chrono::Utc>| {
        (now - at).to_std().unwrap_or(Duration::ZERO).as_secs_f64()
    };
    let (topic, raw) = snap.latest.clone().unwrap_or_default();
    Report {
        kind: match tracker.spec().kind {
            crate::config::surplus::SurplusKind::Grid => "grid",
            crate::config::surplus::SurplusKind::PvAndLoad => "pv_and_load",
            crate::config::surplus::SurplusKind::Surplus => "surplus",
        },
        grid_w,
        surplus_w,
        pv_w: sample.pv.map(|w| w.0),
        // As measured (with includes_car it is the house and the car together).
        load_w: tracker.spec().load.as_ref().map(|_| {
            snap.parts
                .iter()
                .filter(|(_, r, _)| *r == Role::Load)
                .filter_map(|(_, _, v)| v.as_ref().map(|v| v.watts))
                .sum()
        }),
        battery_w: sample.battery.map(|w| w.0),
        home_battery_rule: serde_json::to_value(rule)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{rule:?}")),
        age_s: snap.oldest.map_or(0.0, age),
        topic,
        raw,
        parts: snap
            .parts
            .iter()
            .filter_map(|(p, role, v)| {
                v.as_ref().map(|v| PartReport {
                    value: role.name(),
                    topic: p.topic.clone(),
                    pointer: p.pointer.clone(),
                    watts: v.watts,
                    age_s: age(v.at),
                    raw: v.raw.clone(),
                })
            })
            .collect(),
        skipped_retained: skipped,
        bad_payloads: snap.stats.bad,
    }
}

/// The human form of a report.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    match r.grid_w {
        Some(g) if g >= 0.0 => out.push_str(&format!("grid: {g:.0} W import\n")),
        Some(g) => out.push_str(&format!("grid: {:.0} W export\n", -g)),
        None => {}
    }
    let rule = match r.battery_w {
        Some(_) => format!("; home battery rule {}", r.home_battery_rule),
        None => String::new(),
    };
    out.push_str(&format!(
        "surplus for the car: {:.0} W (export positive, with the car at 0 W{rule})\n",
        r.surplus_w
    ));
    for (name, v) in [
        ("pv", r.pv_w),
        ("load", r.load_w),
        ("battery (charge positive)", r.battery_w),
    ] {
        if let Some(v) = v {
            out.push_str(&format!("{name}: {v:.0} W\n"));
        }
    }
    out.push_str(&format!(
        "age: {:.1} s, last message on {}\nraw: {}\n",
        r.age_s, r.topic, r.raw
    ));
    if r.parts.len() > 1 {
        out.push_str("parts:\n");
        for p in &r.parts {
            out.push_str(&format!(
                "  {:<8} {} {} = {:.0} W ({:.1} s)\n",
                p.value,
                p.topic,
                p.pointer.as_deref().unwrap_or(""),
                p.watts,
                p.age_s
            ));
        }
    }
    if r.bad_payloads > 0 {
        out.push_str(&format!("bad payloads ignored: {}\n", r.bad_payloads));
    }
    out
}

/// `sunplug probe surplus --config F [--json] [--timeout 30s]`.
pub async fn probe(config: &Path, json: bool, timeout: Duration) -> anyhow::Result<ExitCode> {
    let cfg = match config::load(config, Needs::SURPLUS) {
        Ok(c) => c,
        Err(problems) => {
            eprint!("{problems}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (Some(mqtt), Some(surplus)) = (&cfg.mqtt, &cfg.surplus) else {
        anyhow::bail!("[mqtt] and [surplus] are needed");
    };
    let spec = super::resolve(surplus).map_err(|ps| {
        let lines: Vec<String> = ps
            .into_iter()
            .map(|(k, m)| format!("surplus.{k}: {m}"))
            .collect();
        anyhow::anyhow!(lines.join("; "))
    })?;
    let dir = config.parent().unwrap_or(Path::new("."));
    let suffix = format!("-probe-{}", std::process::id());
    let mut options =
        MqttOptions::from_section(mqtt, cfg.secrets.mqtt_password.as_ref(), dir, &suffix)
            .map_err(|e| anyhow::anyhow!(e))?;
    options.periodic.extend(spec.keepalive.clone());
    options.backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
    let rule = cfg
        .policy
        .as_ref()
        .map(|p| p.common.home_battery)
        .unwrap_or_default();
    let mut note = |line: String| {
        if !json {
            eprintln!("{line}");
        }
    };
    let report = run_probe(options, spec, rule, timeout, &SystemClock, &mut note).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(ExitCode::SUCCESS)
}
