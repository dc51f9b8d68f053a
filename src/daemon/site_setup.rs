//! Starting a site's loadpoints: for each, its state (its own file, or the old single-charger one
//! for the first), its policy (or the one chosen in Home Assistant), its site-controller loadpoint,
//! its charger writer and vehicle poller; and the rule that orders a step's writes (lower first).
//!
//! Owns: [`Running`] (one loadpoint as the loop runs it), [`start_loadpoints`], [`lowered`] and
//! [`pending_decrease`]. The loop itself is `site_run.rs`.

use super::ha::Topics;
use super::ports::{ChargerPort, PowerOutput, TopicSource, VehiclePort, VehicleUpdate};
use super::run::spawn_vehicle;
use super::settings::{STATE_FILE, list_policies, load_named};
use super::site_run::LoadpointWiring;
use super::state::{Persisted, StateStore};
use super::writer::{ChargerReport, WriterSettings, spawn_writer};
use crate::clock::Clock;
use crate::config::{Config, Loadpoint as LoadpointConfig};
use crate::control::Command;
use crate::control::actuate::ActuatorSettings;
use crate::control::site::{self, LoadpointSpec};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// How often a writer reads an OCPP charge point's state (kept by the central system in memory).
const OCPP_POLL: Duration = Duration::from_secs(2);

/// One loadpoint as the loop runs it.
pub(super) struct Running {
    pub(super) cfg: LoadpointConfig,
    pub(super) topics: Topics,
    pub(super) file: String,
    pub(super) persisted: Persisted,
    pub(super) wish: watch::Sender<Option<Command>>,
    pub(super) report: watch::Receiver<ChargerReport>,
    pub(super) writer: JoinHandle<()>,
    pub(super) vehicle: watch::Receiver<Option<VehicleUpdate>>,
    pub(super) vehicle_task: JoinHandle<()>,
    pub(super) charger_power: Option<Box<dyn TopicSource<Output = PowerOutput>>>,
    pub(super) vehicle_topics: Option<Box<dyn TopicSource<Output = VehicleUpdate>>>,
    pub(super) policy_dir: Option<PathBuf>,
    pub(super) policy_names: Vec<String>,
    pub(super) base_policy: String,
    pub(super) was_plugged: Option<bool>,
    pub(super) last_logged: Option<(Command, String)>,
    pub(super) saved_as: Option<Command>,
}

/// Start every loadpoint of `cfg` on its ports: the site controller's loadpoints and the running
/// parts, in config order.
#[allow(clippy::too_many_arguments)]
pub(super) fn start_loadpoints<C: ChargerPort, V: VehiclePort>(
    cfg: &mut Config,
    ports: Vec<LoadpointWiring<C, V>>,
    store: &StateStore,
    site_topics: &Topics,
    clock: &Arc<dyn Clock>,
    stop: &CancellationToken,
    dry_run: bool,
    speed: f64,
) -> anyhow::Result<(Vec<site::Loadpoint>, Vec<Running>)> {
    let scaled = move |d: Duration| d.div_f64(speed.max(1e-3));
    let policies = cfg.take_loadpoint_policies();
    let mut specs = Vec::new();
    let mut running = Vec::new();
    for (i, ((lp, port), policy)) in cfg
        .loadpoints
        .clone()
        .into_iter()
        .zip(ports)
        .zip(policies)
        .enumerate()
    {
        let file = format!("loadpoint-{}.json", lp.name);
        let mut persisted: Option<Persisted> = store.load(&file).unwrap_or_else(|e| {
            warn!("{e}");
            None
        });
        if persisted.is_none() && i == 0 {
            // The site was one charger before: its settings go on with the first loadpoint.
            persisted = store.load(STATE_FILE).unwrap_or_else(|e| {
                warn!("{e}");
                None
            });
        }
        let persisted = persisted.unwrap_or_default();
        let policy = policy
            .ok_or_else(|| anyhow::anyhow!("loadpoint \"{}\" has no policy loaded", lp.name))?;
        let policy_dir = lp
            .policy_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let base_policy = policy.name.clone();
        let policy = match (&persisted.settings.policy, &policy_dir) {
            (Some(name), Some(dir)) if *name != policy.name => {
                load_named(dir, name).unwrap_or(policy)
            }
            _ => policy,
        };
        let params = cfg.loadpoint_params(&lp);
        let mut spec = LoadpointSpec::new(lp.name.clone(), lp.phases);
        spec.priority = lp.priority;
        spec.phase = match lp.line {
            Some(crate::config::Line::L2) => site::Line::L2,
            Some(crate::config::Line::L3) => site::Line::L3,
            _ => site::Line::L1,
        };
        specs.push(site::Loadpoint::new(spec, params, policy));

        let (wish, wish_rx) = watch::channel::<Option<Command>>(None);
        let (report_tx, report) = watch::channel(ChargerReport::default());
        let smappee = cfg.smappee.clone().unwrap_or_default();
        let writer = spawn_writer(
            port.charger,
            clock.clone(),
            wish_rx,
            report_tx,
            WriterSettings {
                poll_interval: scaled(match cfg.charger_kind {
                    crate::config::ocpp::ChargerKind::Ocpp => OCPP_POLL,
                    crate::config::ocpp::ChargerKind::Smappee => {
                        smappee.poll_interval.get().max(Duration::from_secs(1))
                    }
                }),
                safe_state: cfg.control.on_shutdown,
                actuator: ActuatorSettings {
                    resolution: crate::chargers::smappee::mapping::resolution(&lp.limits),
                    on_manual_change: cfg.on_manual_change,
                    manual_grace: scaled(cfg.manual_grace),
                },
                dry_run,
            },
            stop.clone(),
        );
        let (vehicle_tx, vehicle) = watch::channel::<Option<VehicleUpdate>>(None);
        let vehicle_task =
            spawn_vehicle(port.vehicle, clock.clone(), vehicle_tx, stop.clone(), speed);
        let policy_names = policy_dir.as_deref().map(list_policies).unwrap_or_default();
        running.push(Running {
            topics: site_topics.loadpoint(&lp.name),
            cfg: lp,
            file,
            persisted,
            wish,
            report,
            writer,
            vehicle,
            vehicle_task,
            charger_power: port.charger_power,
            vehicle_topics: port.vehicle_topics,
            policy_dir,
            policy_names,
            base_policy,
            was_plugged: None,
            last_logged: None,
            saved_as: None,
        });
    }
    Ok((specs, running))
}

/// Whether `next` asks less current than `sent`.
pub(super) fn lowered(sent: Option<Command>, next: Command) -> bool {
    sent.is_some_and(|s| next.current().0 + 1e-9 < s.current().0)
}

/// Whether the charger still offers more than `sent` asks (a decrease not yet confirmed). Unknown
/// counts as pending (the safe side of the fuse), except where lowering is not sunplug's to wait
/// for: no car on the connector, or a change made in the vendor's app that sunplug yields to.
pub(super) fn pending_decrease(sent: Option<Command>, report: &ChargerReport) -> bool {
    let Some(sent) = sent else {
        return false;
    };
    if report.manual.as_ref().is_some_and(|(_, yielded)| *yielded)
        || report.state.is_some_and(|s| s.plugged == Some(false))
    {
        return false;
    }
    report.offered.is_none_or(|o| o.0 > sent.current().0 + 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::ChargerObs;
    use crate::units::{Amps, Phases};

    fn charge(a: f64) -> Command {
        Command::Charge {
            current: Amps(a),
            phases: Phases::Three,
        }
    }

    #[test]
    fn a_decrease_is_pending_until_the_charger_offers_no_more() {
        let mut r = ChargerReport {
            offered: Some(Amps(14.0)),
            state: Some(ChargerObs {
                plugged: Some(true),
                ..ChargerObs::default()
            }),
            ..ChargerReport::default()
        };
        assert!(lowered(Some(charge(14.0)), charge(10.0)));
        assert!(!lowered(Some(charge(10.0)), charge(14.0)));
        assert!(!lowered(None, Command::Pause));
        assert!(pending_decrease(Some(charge(10.0)), &r));
        assert!(pending_decrease(Some(Command::Pause), &r));
        r.offered = Some(Amps(10.0));
        assert!(!pending_decrease(Some(charge(10.0)), &r));
        assert!(pending_decrease(Some(Command::Pause), &r));
        r.offered = None;
        assert!(
            pending_decrease(Some(charge(10.0)), &r),
            "unknown counts as pending"
        );
        // Not sunplug's to wait for: no car, or a change in the app it yields to.
        r.state = Some(ChargerObs {
            plugged: Some(false),
            ..ChargerObs::default()
        });
        assert!(!pending_decrease(Some(Command::Pause), &r));
        r.state = None;
        r.manual = Some(("set to 16 A in the app".into(), true));
        assert!(!pending_decrease(Some(Command::Pause), &r));
        assert!(!pending_decrease(None, &r));
    }
}
