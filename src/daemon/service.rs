//! `sunplug run`: build the real adapters from the config and run the loop until SIGTERM or SIGINT.
//!
//! Owns: [`run_service`] (config → [`Wiring`] → [`run`]), the MQTT handle as a [`MqttPort`], the
//! meter tracker as a [`TopicSource`], and the shutdown signal. Everything here is a one-time
//! construction: the loop itself lives in `run.rs`.

use super::adapters::{AnyCharger, Meter, MqttVehicleTopics, PolledVehicle};
use super::ha::Topics;
use super::ports::MqttPort;
use super::run::{Wiring, run};
use super::site_run::{LoadpointWiring, SiteWiring, run_site};
use super::systemd::Notifier;
use crate::clock::Clock;
use crate::config::{self, Config, Needs};
use crate::mqtt::{LastWill, MqttHandle, MqttLink, MqttOptions, QoS};
use crate::sources::surplus::{SurplusTracker, resolve};
use crate::sources::vehicle::VehicleSource;
use anyhow::{Context, anyhow};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use tracing::{debug, info};

/// The link's handle, publishing fire-and-forget: a broker that is away loses state messages, which
/// the next step sends again; discovery is re-sent on every reconnect.
impl MqttPort for MqttHandle {
    fn publish(&self, topic: &str, payload: &str, retain: bool) {
        if let Err(e) = MqttHandle::publish(self, topic, payload, retain, QoS::AtLeastOnce) {
            debug!("mqtt publish to {topic} skipped: {e}");
        }
    }
    fn subscribe(&self, topic: &str) {
        // A busy queue keeps the subscription remembered for the next connect.
        let _ = MqttHandle::subscribe(self, topic, QoS::AtLeastOnce);
    }
}

/// SIGTERM (systemd stop) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Load the config for running, or say every problem.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    config::load(path, Needs::RUN)
        .map_err(|problems| anyhow!("{}", problems.to_string().trim_end()))
}

/// How a service runs, beyond its config.
pub struct Options {
    pub clock: Arc<dyn Clock>,
    /// Simulated seconds per real second (1 for the service; the demo and end-to-end tests go faster
    /// with a [`crate::clock::ScaledClock`] of the same speed).
    pub speed: f64,
    pub notifier: Notifier,
    pub dry_run: bool,
}

/// Build everything from `cfg` and run until `shutdown`.
pub async fn run_service(
    cfg: Config,
    opts: Options,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let Options {
        clock,
        speed,
        notifier,
        dry_run,
    } = opts;
    // The OCPP central system lives as long as the loop: stopped after it (after the safe state).
    let ocpp_stop = tokio_util::sync::CancellationToken::new();
    let _ocpp_guard = ocpp_stop.clone().drop_guard();
    if cfg.has_loadpoint_tables() {
        return run_site_service(cfg, clock, speed, notifier, dry_run, ocpp_stop, shutdown).await;
    }
    let charger = match cfg.charger_kind {
        config::ocpp::ChargerKind::Smappee => AnyCharger::Smappee(Box::new(
            crate::chargers::smappee::charger_from_config(&cfg, clock.clone())?,
        )),
        config::ocpp::ChargerKind::Ocpp => {
            let cs =
                crate::chargers::ocpp::setup::start(&cfg, clock.clone(), false, ocpp_stop.clone())
                    .await?;
            AnyCharger::Ocpp(crate::chargers::ocpp::setup::charger(&cfg, cs)?)
        }
    };
    let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
    let mut vehicle = VehicleSource::from_config(&cfg, &*clock, http).map_err(|e| anyhow!(e))?;
    let vehicle_topics = vehicle.mqtt_mut().map(|m| MqttVehicleTopics(m.clone()));
    if vehicle_topics.is_some() {
        vehicle = VehicleSource::None;
    }
    let charger_power = cfg.smappee.as_ref().and_then(|s| {
        let uuid = s.service_location_uuid.as_deref()?;
        (!s.charger_channels.is_empty())
            .then(|| crate::chargers::smappee::ChargerPowerSource::new(uuid, &s.charger_channels))
    });
    let (meter, handle, events) = meter_and_link(&cfg)?;

    let wiring = Wiring {
        clock: clock.clone(),
        charger,
        vehicle: PolledVehicle {
            source: vehicle,
            clock,
        },
        meter: Box::new(meter),
        charger_power: charger_power.map(|p| Box::new(p) as Box<_>),
        vehicle_topics: vehicle_topics.map(|v| Box::new(v) as Box<_>),
        mqtt: Some((Arc::new(handle.clone()) as Arc<dyn MqttPort>, events)),
        notifier,
        dry_run,
        speed,
        decisions: None,
    };
    let result = run(cfg, wiring, shutdown).await;
    handle.shutdown().await;
    result
}

/// The meter and the MQTT link of `cfg`, as both loops use them.
fn meter_and_link(
    cfg: &Config,
) -> anyhow::Result<(
    Meter,
    MqttHandle,
    tokio::sync::mpsc::Receiver<crate::mqtt::MqttEvent>,
)> {
    let surplus = cfg.surplus.as_ref().context("no [surplus] section")?;
    let spec = resolve(surplus).map_err(|problems| {
        let lines: Vec<String> = problems
            .into_iter()
            .map(|(k, m)| format!("surplus.{k}: {m}"))
            .collect();
        anyhow!(lines.join("; "))
    })?;
    let keepalive = spec.keepalive.clone();
    let meter = Meter(SurplusTracker::new(spec));
    let m = cfg.mqtt.as_ref().context("no [mqtt] section")?;
    let dir = cfg.path.parent().unwrap_or(Path::new("."));
    let mut options = MqttOptions::from_section(m, cfg.secrets.mqtt_password.as_ref(), dir, "")
        .map_err(|e| anyhow!(e))?;
    let topics = Topics::new(&m.base_topic, &m.discovery_prefix, &cfg.site_name);
    options.last_will = Some(LastWill {
        topic: topics.availability(),
        payload: b"offline".to_vec(),
        qos: QoS::AtLeastOnce,
        retain: true,
    });
    options.periodic.extend(keepalive);
    let (handle, events) = MqttLink::start(options).map_err(|e| anyhow!("MQTT: {e}"))?;
    Ok((meter, handle, events))
}

/// `[[loadpoint]]` configs: one charger adapter per loadpoint (Smappee connectors sharing one
/// client and token; OCPP charge points on one central system), each with its car, then the site
/// loop.
async fn run_site_service(
    mut cfg: Config,
    clock: Arc<dyn Clock>,
    speed: f64,
    notifier: Notifier,
    dry_run: bool,
    ocpp_stop: tokio_util::sync::CancellationToken,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let chargers: Vec<AnyCharger> = match cfg.charger_kind {
        config::ocpp::ChargerKind::Smappee => {
            crate::chargers::smappee::loadpoint_chargers(&cfg, clock.clone())?
                .into_iter()
                .map(|(_, c)| AnyCharger::Smappee(Box::new(c)))
                .collect()
        }
        config::ocpp::ChargerKind::Ocpp => {
            let cs =
                crate::chargers::ocpp::setup::start(&cfg, clock.clone(), false, ocpp_stop.clone())
                    .await?;
            let o = cfg.ocpp.as_ref().context("no [ocpp] section")?;
            let mut out = Vec::new();
            for lp in &cfg.loadpoints {
                let config::ChargerRef::Ocpp { charge_point } = &lp.charger else {
                    continue;
                };
                let cp = o
                    .charge_points
                    .iter()
                    .find(|c| c.id == *charge_point)
                    .with_context(|| format!("charge point {charge_point} is not in [ocpp]"))?;
                out.push(AnyCharger::Ocpp(crate::chargers::ocpp::OcppCharger::new(
                    cs.clone(),
                    &cp.id,
                    cp.connector,
                    o.remote_start,
                )));
            }
            out
        }
    };
    let uuid = cfg
        .smappee
        .as_ref()
        .and_then(|s| s.service_location_uuid.clone());
    let mut loadpoints = Vec::new();
    let single_vehicle = cfg.vehicle.clone();
    for (lp, charger) in cfg.loadpoints.clone().iter().zip(chargers) {
        // The vehicle sources read `[vehicle]`: each loadpoint's car in its place in turn.
        cfg.vehicle = lp.vehicle.clone();
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        let mut vehicle = VehicleSource::from_config(&cfg, &*clock, http)
            .map_err(|e| anyhow!("loadpoint {}: {e}", lp.name))?;
        let vehicle_topics = vehicle.mqtt_mut().map(|m| MqttVehicleTopics(m.clone()));
        if vehicle_topics.is_some() {
            vehicle = VehicleSource::None;
        }
        let charger_power = uuid.as_deref().and_then(|u| {
            (!lp.charger_channels.is_empty()).then(|| {
                Box::new(crate::chargers::smappee::ChargerPowerSource::new(
                    u,
                    &lp.charger_channels,
                ))
                    as Box<dyn super::ports::TopicSource<Output = super::ports::PowerOutput>>
            })
        });
        loadpoints.push(LoadpointWiring {
            charger,
            vehicle: PolledVehicle {
                source: vehicle,
                clock: clock.clone(),
            },
            charger_power,
            vehicle_topics: vehicle_topics.map(|v| Box::new(v) as Box<_>),
        });
    }
    cfg.vehicle = single_vehicle;
    let (meter, handle, events) = meter_and_link(&cfg)?;
    let wiring = SiteWiring {
        clock,
        loadpoints,
        meter: Box::new(meter),
        mqtt: Some((Arc::new(handle.clone()) as Arc<dyn MqttPort>, events)),
        notifier,
        dry_run,
        speed,
        decisions: None,
    };
    let result = run_site(cfg, wiring, shutdown).await;
    handle.shutdown().await;
    result
}
