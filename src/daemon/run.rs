//! The event loop: observations in, one controller step, the command to the writer.
//!
//! Owns: [`Wiring`] (everything the loop talks to, injected by the caller) and [`run`]. The loop
//! selects over: the control tick, MQTT messages (meter, vehicle topics, Smappee realtime, Home
//! Assistant commands and its "online" announcement), the watchdog tick, and shutdown. A failing
//! source never stops it: a silent meter goes stale and the controller's fail-safe acts; a vehicle
//! that cannot be read is unknown and the policy falls back; a charger that does not answer is retried
//! by the writer. On shutdown: the writer leaves the charger in the safe state, Home Assistant is told
//! "offline" (retained), the state is saved.
//!
//! The state file is written on every change of the command or of the controller's switch state (at
//! most every [`SAVE_SPACING`]) and every [`SAVE_EVERY`] regardless, so a `kill -9` resumes where it
//! was. A background task that dies (a panic, or the charger writer returning before shutdown) ends
//! the loop with an error: the watchdog pings stop with it and the process exits non-zero, so systemd
//! restarts the service instead of leaving a daemon that no longer commands the charger.

use super::ha::{self, Topics};
use super::ports::{
    ChargerPort, MeterOutput, MqttIn, MqttPort, PowerOutput, TopicSource, VehiclePort,
    VehicleUpdate,
};
use super::recorder::Recorder;
use super::settings::{STATE_FILE, apply_command, list_policies, load_named, merge_vehicle, save};
use super::state::{Persisted, StateStore};
use super::systemd::Notifier;
use super::view::{log_decision, record_row, state_view};
use super::writer::{ChargerReport, WriterSettings, spawn_writer};
use crate::clock::Clock;
use crate::config::Config;
use crate::control::actuate::{ActuatorSettings, Request, Resolution};
use crate::control::{Command, Controller, Decision, Observation};
use crate::units::Watts;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const SAVE_EVERY: Duration = Duration::from_secs(60);
/// A changed command or switch state is saved at once, but not more often than this.
pub const SAVE_SPACING: Duration = Duration::from_secs(5);
/// A meter reading this far (W) from the one of the last step triggers a step at once...
const EARLY_STEP_W: f64 = 400.0;
/// ...but not more often than this.
const EARLY_STEP_SPACING: Duration = Duration::from_secs(1);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const WATCHDOG_FALLBACK: Duration = Duration::from_secs(10);
/// How often the writer reads an OCPP charge point's state (kept by the central system in memory).
const OCPP_POLL: Duration = Duration::from_secs(2);

/// Everything the loop talks to. The caller builds it from the config (or from emulators in tests).
pub struct Wiring<C: ChargerPort, V: VehiclePort> {
    pub clock: Arc<dyn Clock>,
    pub charger: C,
    pub vehicle: V,
    pub meter: Box<dyn TopicSource<Output = MeterOutput>>,
    /// The charger's power from a push stream (Smappee realtime), if configured.
    pub charger_power: Option<Box<dyn TopicSource<Output = PowerOutput>>>,
    /// The vehicle from MQTT topics (`[vehicle] kind = "mqtt"`), if configured.
    pub vehicle_topics: Option<Box<dyn TopicSource<Output = VehicleUpdate>>>,
    /// The MQTT link; `None` runs without MQTT (the meter then has to be fed otherwise).
    pub mqtt: Option<(Arc<dyn MqttPort>, mpsc::Receiver<MqttIn>)>,
    pub notifier: Notifier,
    pub dry_run: bool,
    /// Simulated seconds per real second: 1 for the service; `demo` runs faster. Only the loop's own
    /// timers are scaled; the controller's durations are in the clock's time.
    pub speed: f64,
    /// Every step's decision, for a watcher (`sunplug demo` prints its reasons); `None`: nobody.
    pub decisions: Option<watch::Sender<Option<Decision>>>,
}

/// Run until `shutdown` completes.
pub async fn run<C: ChargerPort, V: VehiclePort>(
    cfg: Config,
    wiring: Wiring<C, V>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let Wiring {
        clock,
        charger,
        vehicle,
        mut meter,
        mut charger_power,
        mut vehicle_topics,
        mqtt,
        notifier,
        dry_run,
        speed,
        decisions,
    } = wiring;
    let scaled = move |d: Duration| d.div_f64(speed.max(1e-3));
    let params = cfg
        .controller_params()
        .ok_or_else(|| anyhow::anyhow!("the config has no [charger] section"))?;
    let store = StateStore::open(&cfg.state_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot use the state directory {}: {e}",
            cfg.state_dir.display()
        )
    })?;
    let mut persisted: Persisted = store
        .load(STATE_FILE)
        .unwrap_or_else(|e| {
            warn!("{e}");
            None
        })
        .unwrap_or_default();

    let policy_dir = cfg
        .policy_path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let policy_names = policy_dir.as_deref().map(list_policies).unwrap_or_default();
    let mut cfg = cfg;
    let base_policy = cfg
        .policy
        .take()
        .ok_or_else(|| anyhow::anyhow!("no policy loaded"))?;
    let base_policy_name = base_policy.name.clone();
    let policy = match (&persisted.settings.policy, &policy_dir) {
        (Some(name), Some(dir)) if *name != base_policy.name => {
            load_named(dir, name).unwrap_or(base_policy)
        }
        _ => base_policy,
    };
    let mut controller = Controller::new(params, policy);

    // The writer owns the charger.
    let stop = CancellationToken::new();
    let (wish_tx, wish_rx) = watch::channel::<Option<Command>>(None);
    let (report_tx, mut report_rx) = watch::channel(ChargerReport::default());
    let smappee = cfg.smappee.clone().unwrap_or_default();
    let mut writer = spawn_writer(
        charger,
        clock.clone(),
        wish_rx,
        report_tx,
        WriterSettings {
            poll_interval: scaled(match cfg.charger_kind {
                // A local charge point's state is already in memory: read it often.
                crate::config::ocpp::ChargerKind::Ocpp => OCPP_POLL,
                crate::config::ocpp::ChargerKind::Smappee => {
                    smappee.poll_interval.get().max(Duration::from_secs(1))
                }
            }),
            safe_state: cfg.control.on_shutdown,
            actuator: ActuatorSettings {
                resolution: cfg
                    .charger
                    .as_ref()
                    .map(crate::chargers::smappee::mapping::resolution)
                    .unwrap_or(Resolution {
                        floor: params.guard.floor,
                        percent: None,
                        max: None,
                    }),
                on_manual_change: cfg.on_manual_change,
                manual_grace: scaled(cfg.manual_grace),
            },
            dry_run,
        },
        stop.clone(),
    );
    let (prices_tx, mut prices_rx) = watch::channel::<super::prices::Fetched>(None);
    let mut outlook = cfg.prices.as_ref().map(super::prices::outlook);
    if outlook.is_none() && cfg.forecast.is_some() {
        outlook = Some(crate::control::plan::outlook::Outlook::new(0.0));
    }
    // Until the first list arrives, the plan prices every slot at the fallback (not at 0).
    if let Some(o) = &outlook {
        controller.set_outlook(o.clone());
    }
    let mut forecast = cfg.forecast.clone().map(|f| {
        super::forecast::ForecastFeed::start(f, cfg.tz, clock.clone(), stop.clone(), speed)
    });
    let _prices_task = cfg.prices.clone().and_then(|p| {
        let token = cfg.secrets.prices_token.clone();
        super::prices::spawn(
            p,
            token,
            cfg.tz,
            clock.clone(),
            prices_tx.clone(),
            stop.clone(),
            speed,
        )
    });
    let mqtt_prices = cfg.prices.as_ref().and_then(super::prices::MqttPrices::new);
    let (vehicle_tx, vehicle_rx) = watch::channel::<Option<VehicleUpdate>>(None);
    let mut vehicle_task = spawn_vehicle(vehicle, clock.clone(), vehicle_tx, stop.clone(), speed);

    // MQTT: subscriptions, Home Assistant discovery, availability.
    let topics = cfg
        .mqtt
        .as_ref()
        .map(|m| Topics::new(&m.base_topic, &m.discovery_prefix, &cfg.site_name))
        .unwrap_or_else(|| Topics::new("sunplug", "homeassistant", &cfg.site_name));
    let discovery_on = cfg.mqtt.as_ref().is_some_and(|m| m.discovery);
    let with_tracker = cfg.vehicle.kind == crate::config::vehicle::VehicleKind::Enode;
    let (link, mut mqtt_rx) = match mqtt {
        Some((l, rx)) => (Some(l), Some(rx)),
        None => (None, None),
    };
    if let Some(l) = &link {
        let mut subs = meter.topics();
        subs.extend(charger_power.iter().flat_map(|p| p.topics()));
        subs.extend(vehicle_topics.iter().flat_map(|v| v.topics()));
        subs.extend(mqtt_prices.iter().map(|p| p.topic.clone()));
        subs.extend(forecast.iter().flat_map(|f| f.topics()));
        subs.push(topics.commands());
        subs.push(topics.ha_status());
        for t in subs {
            l.subscribe(&t);
        }
        publish_discovery(
            &**l,
            &topics,
            &cfg.site_name,
            &policy_names,
            discovery_on,
            with_tracker,
        );
    }

    // Resume from what the charger reports, so a restart never jumps to a higher current.
    let first_state = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if report_rx.borrow().state.is_some() {
                break;
            }
            if report_rx.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    if first_state.is_err() {
        warn!("the charger did not report its state within 10 s: starting from the floor");
    }
    if let Some(snapshot) = persisted.snapshot {
        let now_cmd = charger_command(&report_rx.borrow(), &params);
        controller.restore(snapshot, now_cmd, clock.now());
        info!("resumed: charger at {now_cmd}, ramping from there");
    }
    if let Some(ps) = &persisted.policy_state
        && ps.policy == controller.policy_name()
    {
        controller.restore_policy_state(&ps.state);
    }
    let mut policy_watch = super::reload::PolicyWatch::new(&controller);

    let mut ticker = tokio::time::interval(scaled(cfg.control.interval.get()));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watchdog =
        tokio::time::interval(notifier.watchdog_interval().unwrap_or(WATCHDOG_FALLBACK));
    let mut recorder = Recorder::new(
        store.dir().join("recordings"),
        cfg.tz,
        cfg.recording.keep_days,
        cfg.recording.max_mb,
    );
    let mut last_logged: Option<(Command, String)> = None;
    let mut last_saved = tokio::time::Instant::now();
    // What the state file holds: the command and switch state last saved.
    let mut saved_as: Option<(Command, crate::control::Snapshot)> = None;
    let mut writer_alive = true;
    let mut vehicle_alive = true;
    let mut died: Option<String> = None;
    let mut ready = false;
    let started = tokio::time::Instant::now();
    let mut was_plugged: Option<bool> = None;
    let mut last_step = tokio::time::Instant::now();
    let mut last_step_grid: Option<f64> = None;
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = watchdog.tick() => notifier.watchdog(),
            r = &mut writer, if writer_alive => {
                writer_alive = false;
                died = Some(format!("the charger writer {}", ended(r)));
                break;
            }
            r = &mut vehicle_task, if vehicle_alive => {
                vehicle_alive = false;
                // Returning is normal when there is nothing to poll; a panic is not.
                if r.is_err() {
                    died = Some(format!("the vehicle poller {}", ended(r)));
                    break;
                }
            }
            msg = recv(&mut mqtt_rx) => {
                let now = clock.now();
                match msg {
                    Some(MqttIn::Message { topic, payload, retained }) => {
                        if topic == topics.ha_status() {
                            if payload == b"online" {
                                info!("Home Assistant is back: publishing discovery");
                                if let Some(l) = &link {
                                    publish_discovery(&**l, &topics, &cfg.site_name, &policy_names, discovery_on, with_tracker);
                                }
                            }
                        } else if topic.starts_with(&format!("{}/set/", topics.base)) {
                            match ha::parse_command(&topics, &topic, &payload, &policy_names) {
                                Ok(cmd) => {
                                    info!("Home Assistant: {cmd:?}");
                                    apply_command(cmd, &mut persisted, &mut controller, policy_dir.as_deref(), &base_policy_name);
                                    save(&store, &persisted, &controller);
                                }
                                Err(e) => warn!("Home Assistant command rejected: {e}"),
                            }
                        } else if let Some(r) = mqtt_prices.as_ref().and_then(|p| p.on_message(&topic, &payload)) {
                            match r {
                                Ok(series) => {
                                    prices_tx.send_replace(Some((series, now)));
                                }
                                Err(e) => warn!("prices on {topic} refused, the list before stays: {e}"),
                            }
                        } else {
                            if meter.on_message(&topic, &payload, retained, now) {
                                // A big change in the balance is acted on now, not at the next tick
                                // (the guard still spaces the charger's changes).
                                let grid = meter.latest(now).map(|m| m.value.balance.grid(Watts::ZERO).0);
                                let moved = match (grid, last_step_grid) {
                                    (Some(g), Some(l)) => (g - l).abs() >= EARLY_STEP_W,
                                    _ => false,
                                };
                                if moved && last_step.elapsed() >= scaled(EARLY_STEP_SPACING) {
                                    ticker.reset_immediately();
                                }
                            } else {
                                let _ = charger_power.as_mut().is_some_and(|p| p.on_message(&topic, &payload, retained, now))
                                    || vehicle_topics.as_mut().is_some_and(|v| v.on_message(&topic, &payload, retained, now))
                                    || forecast.as_mut().is_some_and(|f| f.on_message(&topic, &payload, now));
                            }
                        }
                    }
                    Some(MqttIn::Connected) => {
                        info!("MQTT connected");
                        if let Some(l) = &link {
                            publish_discovery(&**l, &topics, &cfg.site_name, &policy_names, discovery_on, with_tracker);
                        }
                    }
                    Some(MqttIn::Disconnected(why)) => warn!("MQTT disconnected: {why}"),
                    None => {
                        // The link's task owns the sender: it ended, so nothing reaches us any more.
                        died = Some("the MQTT link stopped".into());
                        break;
                    }
                }
            }
            _ = ticker.tick() => {
                let now = clock.now();
                let report = report_rx.borrow().clone();
                let vehicle_update = merge_vehicle(*vehicle_rx.borrow(), vehicle_topics.as_ref().and_then(|v| v.latest(now)));
                let mut obs = Observation {
                    meter: meter.latest(now),
                    charger: report.state.unwrap_or_default(),
                    vehicle: vehicle_update.obs,
                    overrides: persisted.settings.overrides(),
                };
                if let Some(p) = charger_power.as_ref().and_then(|p| p.latest(now)) {
                    obs.charger.power = Some(p);
                }
                // Paused: as read, else as sunplug sent it and the charger confirmed (a station may
                // not say); the offered current is 0 A while paused.
                if obs.charger.paused.is_none() && report.confirmed == Some(Request::Pause) {
                    obs.charger.paused = Some(true);
                }
                obs.charger.offered = report.offered.or(obs.charger.offered);
                // "Charge now" lasts until the car leaves.
                let plugged = obs.charger.plugged;
                if was_plugged == Some(true) && plugged == Some(false) && persisted.settings.charge_now {
                    info!("car unplugged: back to the policy");
                    persisted.settings.charge_now = false;
                    obs.overrides.charge_now = false;
                }
                was_plugged = plugged.or(was_plugged);

                policy_watch.poll(&mut controller);
                if prices_rx.has_changed().unwrap_or(false)
                    && let (Some(o), Some((series, at))) = (&mut outlook, prices_rx.borrow_and_update().clone())
                {
                    o.set_prices(series, at);
                    controller.set_outlook(o.clone());
                }
                if let (Some(o), Some(f)) = (&mut outlook, &mut forecast)
                    && f.poll(o)
                {
                    controller.set_outlook(o.clone());
                }
                let d = controller.step(now, &obs);
                last_step = tokio::time::Instant::now();
                last_step_grid = obs.meter.map(|m| m.value.balance.grid(Watts::ZERO).0);
                wish_tx.send_if_modified(|w| {
                    let changed = *w != Some(d.command);
                    *w = Some(d.command);
                    changed
                });
                log_decision(&d, &mut last_logged, &notifier, controller.policy_name());
                if let Some(tx) = &decisions {
                    tx.send_replace(Some(d.clone()));
                }
                if let Some(l) = &link {
                    let mut view = state_view(&d, &obs, &report, &persisted, controller.policy_name(), controller.plan(), now);
                    view.vehicle_warning = vehicle_update.warning.map(|w| w.message().to_string());
                    view.solar_forecast_today_kwh = forecast.as_ref().and_then(|f| f.remaining_today_kwh(now)).map(|k| (k * 100.0).round() / 100.0);
                    l.publish(&topics.state(), &view.to_json(), true);
                    if let Some(loc) = vehicle_update.location {
                        l.publish(&topics.car_location(), &ha::location_payload(loc.value.latitude, loc.value.longitude, loc.value.accuracy_m.unwrap_or(0.0)), true);
                    }
                }
                if cfg.recording.enabled {
                    let row = record_row(&d, &obs, controller.policy_name(), now);
                    if let Err(e) = recorder.record(&row) {
                        warn!("recording failed: {e}");
                    }
                }
                let now_as = (d.command, controller.snapshot());
                let changed = saved_as != Some(now_as);
                if (changed && last_saved.elapsed() >= SAVE_SPACING) || last_saved.elapsed() >= SAVE_EVERY {
                    if saved_as.map(|(c, _)| c) != Some(d.command) {
                        persisted.last_command_a = Some(d.command.current().0);
                        persisted.last_command_at = Some(now);
                    }
                    save(&store, &persisted, &controller);
                    saved_as = Some(now_as);
                    let _ = recorder.flush();
                    last_saved = tokio::time::Instant::now();
                }
                if !ready && ((obs.meter.is_some() && report.state.is_some()) || started.elapsed() >= READY_TIMEOUT) {
                    ready = true;
                    notifier.ready(&format!("{}: {}", d.command, d.reason));
                    info!("ready: policy {}, {}", controller.policy_name(), d.reason);
                }
            }
        }
    }

    if let Some(why) = &died {
        tracing::error!("{why}: stopping so that the service manager restarts sunplug");
        notifier.status(&format!("failed: {why}"));
    } else {
        info!("stopping");
    }
    notifier.stopping();
    stop.cancel();
    if vehicle_alive {
        let _ = vehicle_task.await;
    }
    if writer_alive {
        let _ = writer.await;
    }
    save(&store, &persisted, &controller);
    let _ = recorder.flush();
    if let Some(l) = &link {
        l.publish(&topics.availability(), "offline", true);
    }
    match died {
        Some(why) => Err(anyhow::anyhow!("{why}")),
        None => Ok(()),
    }
}

/// How a task that should still run ended, for the error.
pub(super) fn ended(r: Result<(), tokio::task::JoinError>) -> String {
    match r {
        Ok(()) => "stopped unexpectedly".into(),
        Err(e) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("panicked: {msg}")
        }
        Err(_) => "was cancelled".into(),
    }
}

pub(super) async fn recv(rx: &mut Option<mpsc::Receiver<MqttIn>>) -> Option<MqttIn> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn publish_discovery(
    l: &dyn MqttPort,
    t: &Topics,
    site: &str,
    policies: &[String],
    discovery: bool,
    tracker: bool,
) {
    if discovery {
        for (topic, payload) in ha::discovery(t, site, policies, tracker) {
            l.publish(&topic, &payload, true);
        }
    }
    l.publish(&t.availability(), "online", true);
}

/// The command the charger is at, from its report (for resuming after a restart).
pub(super) fn charger_command(r: &ChargerReport, p: &crate::control::ControllerParams) -> Command {
    match r.state {
        Some(s) if s.paused == Some(true) || s.plugged == Some(false) => Command::Pause,
        Some(s) => s
            .offered
            .map(|a| Command::Charge {
                current: a,
                phases: p.guard.supply.phases,
            })
            .unwrap_or(Command::Pause),
        None => Command::Pause,
    }
}

pub(super) fn spawn_vehicle<V: VehiclePort>(
    mut vehicle: V,
    clock: Arc<dyn Clock>,
    tx: watch::Sender<Option<VehicleUpdate>>,
    stop: CancellationToken,
    speed: f64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let Some(wait) = vehicle.next_poll(clock.now(), last.as_ref()) else {
                return;
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait.div_f64(speed.max(1e-3))) => {}
            }
            let result = tokio::select! {
                _ = stop.cancelled() => return,
                r = vehicle.fetch(clock.now()) => r,
            };
            match &result {
                Ok(u) => {
                    tx.send_replace(Some(*u));
                }
                Err(e) => warn!("vehicle: {e}"),
            }
            last = Some(result);
        }
    })
}
