//! The event loop of a site with several loadpoints (`[[loadpoint]]` tables): one meter, one site
//! controller step per interval for every loadpoint, and per loadpoint its own charger writer,
//! vehicle, state file and Home Assistant device.
//!
//! Owns: [`SiteWiring`] / [`LoadpointWiring`] (everything the loop talks to, injected by the caller)
//! and [`run_site`]; starting each loadpoint (state, policy, writer, vehicle) is `site_setup.rs`.
//! Each tick: every loadpoint's charger report and car become a
//! [`LoadpointObs`], [`SiteController::step`] shares the surplus and the fuse among them and staggers
//! their starts, and each command goes to that loadpoint's writer (the one actuator path,
//! `control::actuate` in `writer.rs`). A config without `[[loadpoint]]` tables runs in `run.rs`
//! unchanged (its state file, topics and entity ids stay as they were).
//!
//! State is kept per loadpoint in `loadpoint-<name>.json`; a site that was a single charger before
//! starts its first loadpoint from the old `state.json`. Recordings hold the site's rows with every
//! car's power, plus each loadpoint's car power and command in its own columns. A writer that ends
//! before shutdown ends the loop with an error (systemd restarts the service), as in `run.rs`.

use super::ha::{self, Topics};
use super::ha_site::{SiteView, loadpoint_discovery, site_discovery};
use super::ports::{
    ChargerPort, MeterOutput, MqttIn, MqttPort, PowerOutput, TopicSource, VehiclePort,
    VehicleUpdate,
};
use super::recorder::{Recorder, Row};
use super::run::{charger_command, ended, recv};
use super::settings::{apply_command, merge_vehicle, save_as};
use super::site_setup::{Running, lowered, pending_decrease, start_loadpoints};
use super::state::StateStore;
use super::systemd::Notifier;
use super::view::{log_decision, state_view};
use crate::clock::Clock;
use crate::config::Config;
use crate::control::Decision;
use crate::control::actuate::Request;
use crate::control::site::{self, LoadpointObs, SiteController, SiteObservation, SiteParams};
use crate::units::Watts;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

const SAVE_EVERY: Duration = Duration::from_secs(60);
const WATCHDOG_FALLBACK: Duration = Duration::from_secs(10);
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One loadpoint's ports, in the order of `Config::loadpoints`.
pub struct LoadpointWiring<C: ChargerPort, V: VehiclePort> {
    pub charger: C,
    pub vehicle: V,
    /// The charger's power from a push stream (its Smappee realtime channels), if configured.
    pub charger_power: Option<Box<dyn TopicSource<Output = PowerOutput>>>,
    /// Its car from MQTT topics (`kind = "mqtt"`), if configured.
    pub vehicle_topics: Option<Box<dyn TopicSource<Output = VehicleUpdate>>>,
}

/// Everything the site loop talks to.
pub struct SiteWiring<C: ChargerPort, V: VehiclePort> {
    pub clock: Arc<dyn Clock>,
    pub loadpoints: Vec<LoadpointWiring<C, V>>,
    pub meter: Box<dyn TopicSource<Output = MeterOutput>>,
    pub mqtt: Option<(Arc<dyn MqttPort>, mpsc::Receiver<MqttIn>)>,
    pub notifier: Notifier,
    pub dry_run: bool,
    /// Simulated seconds per real second (see `run::Wiring::speed`).
    pub speed: f64,
    /// Every step's decisions, for a watcher (tests); `None`: nobody.
    pub decisions: Option<watch::Sender<Option<site::SiteDecision>>>,
}

/// Run a site until `shutdown` completes.
pub async fn run_site<C: ChargerPort, V: VehiclePort>(
    mut cfg: Config,
    wiring: SiteWiring<C, V>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let SiteWiring {
        clock,
        loadpoints: ports,
        mut meter,
        mqtt,
        notifier,
        dry_run,
        speed,
        decisions,
    } = wiring;
    let scaled = move |d: Duration| d.div_f64(speed.max(1e-3));
    anyhow::ensure!(
        ports.len() == cfg.loadpoints.len() && !ports.is_empty(),
        "the site has {} loadpoints but {} were wired",
        cfg.loadpoints.len(),
        ports.len()
    );
    let store = StateStore::open(&cfg.state_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot use the state directory {}: {e}",
            cfg.state_dir.display()
        )
    })?;
    let site_topics = cfg
        .mqtt
        .as_ref()
        .map(|m| Topics::new(&m.base_topic, &m.discovery_prefix, &cfg.site_name))
        .unwrap_or_else(|| Topics::new("sunplug", "homeassistant", &cfg.site_name));
    let stop = CancellationToken::new();

    let (specs, mut running) = start_loadpoints(
        &mut cfg,
        ports,
        &store,
        &site_topics,
        &clock,
        &stop,
        dry_run,
        speed,
    )?;
    let mut site = SiteController::new(
        SiteParams {
            main_fuse: cfg.main_fuse,
            supply: cfg.supply,
            stagger: None,
        },
        specs,
    );

    let (prices_tx, mut prices_rx) = watch::channel::<super::prices::Fetched>(None);
    let mut outlook = cfg.prices.as_ref().map(super::prices::outlook);
    if outlook.is_none() && cfg.forecast.is_some() {
        outlook = Some(crate::control::plan::outlook::Outlook::new(0.0));
    }
    // Until the first list arrives, the plans price every slot at the fallback (not at 0).
    if let Some(o) = &outlook {
        site.set_outlook(o);
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

    let discovery_on = cfg.mqtt.as_ref().is_some_and(|m| m.discovery);
    let (link, mut mqtt_rx) = match mqtt {
        Some((l, rx)) => (Some(l), Some(rx)),
        None => (None, None),
    };
    let announce = |l: &dyn MqttPort, running: &[Running]| {
        if discovery_on {
            for (topic, payload) in site_discovery(&site_topics, &cfg.site_name) {
                l.publish(&topic, &payload, true);
            }
            for r in running {
                let tracker = r.cfg.vehicle.kind == crate::config::vehicle::VehicleKind::Enode;
                for (topic, payload) in loadpoint_discovery(
                    &r.topics,
                    &cfg.site_name,
                    &r.cfg.name,
                    &r.policy_names,
                    tracker,
                ) {
                    l.publish(&topic, &payload, true);
                }
            }
        }
        l.publish(&site_topics.availability(), "online", true);
    };
    if let Some(l) = &link {
        let mut subs = meter.topics();
        for r in &running {
            subs.extend(r.charger_power.iter().flat_map(|p| p.topics()));
            subs.extend(r.vehicle_topics.iter().flat_map(|v| v.topics()));
            subs.push(r.topics.commands());
        }
        subs.extend(mqtt_prices.iter().map(|p| p.topic.clone()));
        subs.extend(forecast.iter().flat_map(|f| f.topics()));
        subs.push(site_topics.ha_status());
        subs.sort();
        subs.dedup();
        for t in subs {
            l.subscribe(&t);
        }
        announce(&**l, &running);
    }

    // Resume each loadpoint from what its charger reports, so a restart never jumps higher.
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        for r in &mut running {
            while r.report.borrow().state.is_none() {
                if r.report.changed().await.is_err() {
                    break;
                }
            }
        }
    })
    .await;
    for (i, r) in running.iter().enumerate() {
        let Some(l) = site.loadpoint(i) else { continue };
        let params = *l.controller().params();
        if let Some(snapshot) = r.persisted.snapshot {
            let now_cmd = charger_command(&r.report.borrow(), &params);
            site.restore(i, snapshot, now_cmd, clock.now());
            info!("loadpoint {}: resumed, charger at {now_cmd}", r.cfg.name);
        }
        if let (Some(ps), Some(l)) = (&r.persisted.policy_state, site.loadpoint_mut(i))
            && ps.policy == l.controller().policy_name()
        {
            l.controller_mut().restore_policy_state(&ps.state);
        }
    }
    let mut watches: Vec<super::reload::PolicyWatch> = (0..running.len())
        .filter_map(|i| site.loadpoint(i))
        .map(|l| super::reload::PolicyWatch::new(l.controller()))
        .collect();

    let mut ticker = tokio::time::interval(scaled(cfg.control.interval.get()));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut watchdog =
        tokio::time::interval(notifier.watchdog_interval().unwrap_or(WATCHDOG_FALLBACK));
    let columns = running
        .iter()
        .flat_map(|r| {
            [
                format!("{}_car_w", r.cfg.name),
                format!("{}_command_a", r.cfg.name),
            ]
        })
        .collect();
    let mut recorder = Recorder::new(
        store.dir().join("recordings"),
        cfg.tz,
        cfg.recording.keep_days,
        cfg.recording.max_mb,
    )
    .with_columns(columns);
    let mut last_saved = tokio::time::Instant::now();
    let mut died: Option<String> = None;
    let mut ready = false;
    let started = tokio::time::Instant::now();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            _ = watchdog.tick() => notifier.watchdog(),
            msg = recv(&mut mqtt_rx) => {
                let now = clock.now();
                match msg {
                    Some(MqttIn::Message { topic, payload, retained }) => {
                        if topic == site_topics.ha_status() {
                            if payload == b"online" && let Some(l) = &link {
                                info!("Home Assistant is back: publishing discovery");
                                announce(&**l, &running);
                            }
                        } else if let Some(i) = running
                            .iter()
                            .position(|r| topic.starts_with(&format!("{}/set/", r.topics.base)))
                        {
                            let r = &mut running[i];
                            match ha::parse_command(&r.topics, &topic, &payload, &r.policy_names) {
                                Ok(cmd) => {
                                    info!("Home Assistant, loadpoint {}: {cmd:?}", r.cfg.name);
                                    if let Some(l) = site.loadpoint_mut(i) {
                                        apply_command(cmd, &mut r.persisted, l.controller_mut(), r.policy_dir.as_deref(), &r.base_policy);
                                        save_as(&store, &r.file, &r.persisted, l.controller());
                                    }
                                }
                                Err(e) => warn!("Home Assistant command for {} rejected: {e}", r.cfg.name),
                            }
                        } else if let Some(r) = mqtt_prices.as_ref().and_then(|p| p.on_message(&topic, &payload)) {
                            match r {
                                Ok(series) => {
                                    prices_tx.send_replace(Some((series, now)));
                                }
                                Err(e) => warn!("prices on {topic} refused, the list before stays: {e}"),
                            }
                        } else if forecast.as_mut().is_some_and(|f| f.on_message(&topic, &payload, now)) {
                            // A forecast on MQTT: polled into the outlook at the next tick.
                        } else if !meter.on_message(&topic, &payload, retained, now) {
                            // Every loadpoint sees it: one realtime message carries every
                            // connector's channels.
                            for r in &mut running {
                                if let Some(p) = r.charger_power.as_mut() {
                                    p.on_message(&topic, &payload, retained, now);
                                }
                                if let Some(v) = r.vehicle_topics.as_mut() {
                                    v.on_message(&topic, &payload, retained, now);
                                }
                            }
                        }
                    }
                    Some(MqttIn::Connected) => {
                        info!("MQTT connected");
                        if let Some(l) = &link {
                            announce(&**l, &running);
                        }
                    }
                    Some(MqttIn::Disconnected(why)) => warn!("MQTT disconnected: {why}"),
                    None => {
                        died = Some("the MQTT link stopped".into());
                        break;
                    }
                }
            }
            _ = ticker.tick() => {
                if let Some(r) = running.iter_mut().find(|r| r.writer.is_finished()) {
                    let name = r.cfg.name.clone();
                    died = Some(format!("the charger writer of loadpoint {name} {}", ended((&mut r.writer).await)));
                    break;
                }
                if let Some(r) = running.iter_mut().find(|r| r.vehicle_task.is_finished()) {
                    let result = (&mut r.vehicle_task).await;
                    if result.is_err() {
                        died = Some(format!("the vehicle poller of loadpoint {} {}", r.cfg.name, ended(result)));
                        break;
                    }
                    // Nothing to poll: keep a task that never ends in its place.
                    r.vehicle_task = tokio::spawn(std::future::pending());
                }
                let now = clock.now();
                let mut obs = SiteObservation { meter: meter.latest(now), loadpoints: Vec::new() };
                let mut reports = Vec::new();
                let mut updates = Vec::new();
                for r in &mut running {
                    let report = r.report.borrow().clone();
                    let update = merge_vehicle(*r.vehicle.borrow(), r.vehicle_topics.as_ref().and_then(|v| v.latest(now)));
                    let mut lo = LoadpointObs {
                        charger: report.state.unwrap_or_default(),
                        vehicle: update.obs,
                        overrides: r.persisted.settings.overrides(),
                    };
                    if let Some(p) = r.charger_power.as_ref().and_then(|p| p.latest(now)) {
                        lo.charger.power = Some(p);
                    }
                    if lo.charger.paused.is_none() && report.confirmed == Some(Request::Pause) {
                        lo.charger.paused = Some(true);
                    }
                    lo.charger.offered = report.offered.or(lo.charger.offered);
                    let plugged = lo.charger.plugged;
                    if r.was_plugged == Some(true) && plugged == Some(false) && r.persisted.settings.charge_now {
                        info!("loadpoint {}: car unplugged, back to the policy", r.cfg.name);
                        r.persisted.settings.charge_now = false;
                        lo.overrides.charge_now = false;
                    }
                    r.was_plugged = plugged.or(r.was_plugged);
                    obs.loadpoints.push(lo);
                    reports.push(report);
                    updates.push(update);
                }
                for (i, w) in watches.iter_mut().enumerate() {
                    if let Some(l) = site.loadpoint_mut(i) {
                        w.poll(l.controller_mut());
                    }
                }
                if prices_rx.has_changed().unwrap_or(false)
                    && let (Some(o), Some((series, at))) = (&mut outlook, prices_rx.borrow_and_update().clone())
                {
                    o.set_prices(series, at);
                    site.set_outlook(o);
                }
                if let (Some(o), Some(f)) = (&mut outlook, &mut forecast)
                    && f.poll(o)
                {
                    site.set_outlook(o);
                }
                let sd = site.step(now, &obs);
                let grid_w = obs.meter.map(|m| m.value.balance.grid(Watts::ZERO).0);
                let mut row = Row {
                    time: now,
                    grid_w,
                    pv_w: obs.meter.and_then(|m| m.value.pv).map(|w| w.0),
                    load_w: obs.meter.and_then(|m| m.value.house_load).map(|w| w.0),
                    car_w: Some(0.0),
                    soc_pct: None,
                    command_a: 0.0,
                    policy: "site".into(),
                    extra: Vec::new(),
                };
                // Lower first: an increase waits while another loadpoint's decrease is not yet
                // confirmed by its charger, so the chargers never carry more than the fuse even
                // for the moment between two writes (the writers run independently).
                let lowering = running.iter().zip(&reports).zip(&sd.loadpoints).any(|((r, rep), lpd)| {
                    let sent = *r.wish.borrow();
                    lowered(sent, lpd.decision.command) || pending_decrease(sent, rep)
                });
                let mut changed = false;
                for (i, (r, lpd)) in running.iter_mut().zip(&sd.loadpoints).enumerate() {
                    let d: &Decision = &lpd.decision;
                    let sent = *r.wish.borrow();
                    let raise = sent.is_none_or(|s| d.command.current().0 > s.current().0 + 1e-9);
                    if raise && lowering && sent.is_some() {
                        tracing::debug!("loadpoint {}: {} waits for another loadpoint to come down first", r.cfg.name, d.command);
                    } else {
                        r.wish.send_if_modified(|w| {
                            let c = *w != Some(d.command);
                            *w = Some(d.command);
                            c
                        });
                    }
                    let Some(l) = site.loadpoint(i) else { continue };
                    let c = l.controller();
                    log_decision(d, &mut r.last_logged, &notifier, c.policy_name());
                    if let Some(link) = &link {
                        let o = obs.loadpoints[i].with_meter(obs.meter);
                        let mut view = state_view(d, &o, &reports[i], &r.persisted, c.policy_name(), c.plan(), now);
                        view.surplus_w = lpd.share_w.or(view.surplus_w);
                        view.grid_w = grid_w;
                        view.vehicle_warning = updates[i].warning.map(|w| w.message().to_string());
                        link.publish(&r.topics.state(), &view.to_json(), true);
                        if let Some(loc) = updates[i].location {
                            link.publish(&r.topics.car_location(), &ha::location_payload(loc.value.latitude, loc.value.longitude, loc.value.accuracy_m.unwrap_or(0.0)), true);
                        }
                    }
                    let car = obs.loadpoints[i].charger.power.map(|p| p.value.0).or(d.factors.car_w);
                    row.car_w = Some(row.car_w.unwrap_or(0.0) + car.unwrap_or(0.0));
                    row.command_a += d.command.current().0;
                    row.extra.push(car);
                    row.extra.push(Some(d.command.current().0));
                    if r.saved_as != Some(d.command) {
                        changed = true;
                    }
                }
                if let Some(link) = &link {
                    let view = SiteView {
                        surplus_w: sd.surplus_w,
                        grid_w,
                        load_l1_a: sd.load_a[0],
                        load_l2_a: sd.load_a[1],
                        load_l3_a: sd.load_a[2],
                        headroom_a: sd.headroom_a.map(|h| h[0]),
                        charging: sd.commands().filter(|c| c.is_charging()).count(),
                        solar_forecast_today_kwh: forecast.as_ref().and_then(|f| f.remaining_today_kwh(now)).map(|k| (k * 100.0).round() / 100.0),
                    };
                    link.publish(&site_topics.state(), &view.to_json(), true);
                }
                if cfg.recording.enabled && let Err(e) = recorder.record(&row) {
                    warn!("recording failed: {e}");
                }
                if (changed && last_saved.elapsed() >= super::run::SAVE_SPACING) || last_saved.elapsed() >= SAVE_EVERY {
                    for (i, (r, lpd)) in running.iter_mut().zip(&sd.loadpoints).enumerate() {
                        let Some(l) = site.loadpoint(i) else { continue };
                        if r.saved_as != Some(lpd.decision.command) {
                            r.persisted.last_command_a = Some(lpd.decision.command.current().0);
                            r.persisted.last_command_at = Some(now);
                        }
                        save_as(&store, &r.file, &r.persisted, l.controller());
                        r.saved_as = Some(lpd.decision.command);
                    }
                    let _ = recorder.flush();
                    last_saved = tokio::time::Instant::now();
                }
                let all_read = reports.iter().all(|r| r.state.is_some());
                if !ready && ((obs.meter.is_some() && all_read) || started.elapsed() >= READY_TIMEOUT) {
                    ready = true;
                    let summary: Vec<String> = running.iter().zip(sd.commands()).map(|(r, c)| format!("{} {c}", r.cfg.name)).collect();
                    notifier.ready(&summary.join(", "));
                    info!("ready: {} loadpoints ({})", running.len(), summary.join(", "));
                }
                if let Some(tx) = &decisions {
                    tx.send_replace(Some(sd));
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
    for r in &mut running {
        if !r.vehicle_task.is_finished() {
            r.vehicle_task.abort();
        }
        let _ = (&mut r.vehicle_task).await;
        if !r.writer.is_finished() {
            let _ = (&mut r.writer).await;
        }
    }
    for (i, r) in running.iter().enumerate() {
        if let Some(l) = site.loadpoint(i) {
            save_as(&store, &r.file, &r.persisted, l.controller());
        }
    }
    let _ = recorder.flush();
    if let Some(l) = &link {
        l.publish(&site_topics.availability(), "offline", true);
    }
    match died {
        Some(why) => Err(anyhow::anyhow!("{why}")),
        None => Ok(()),
    }
}
