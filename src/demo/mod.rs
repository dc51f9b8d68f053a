//! `sunplug demo`: the real daemon against the emulated Smappee and Enode APIs and a replayed day, at
//! accelerated time, so a person sees the whole loop without hardware.
//!
//! Owns: [`run_demo`] (the replay, writing to any output; `sunplug demo` is `crate::commands::demo`). What
//! runs: the loop of `sunplug run` ([`crate::daemon::run::run`]) with the real Smappee charger and
//! Enode vehicle adapters, built from an ordinary `sunplug.toml` ([`setup`]) that points at the
//! emulators on 127.0.0.1; around them the replayed site ([`world`]): PV and house load from the
//! scenario's data, the car on the emulated station, its SoC in the emulated Enode cloud. Everyone
//! shares one [`ScaledClock`]; the loop's own timers are divided by the same speed. There is no MQTT
//! broker: the meter is read straight from the replay, and Home Assistant is left out. What a person
//! reads (header, quarter-hour table, summary) is formatted in `table.rs`.

pub mod setup;
mod table;
pub mod why;
pub mod world;

use crate::clock::{Clock, ScaledClock};
use crate::control::Decision;
use crate::daemon::adapters::PolledVehicle;
use crate::daemon::run::{Wiring, run};
use crate::daemon::systemd::Notifier;
use crate::sim::{Input, load_policies, scenario, schedule};
use crate::sources::vehicle::VehicleSource;
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use table::{header, summary, table_head, table_row};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use world::{CarNow, DemoCarPower, DemoMeter, Row, Totals, World};

/// Above this, the loop's 5 s tick would be shorter than a loopback HTTP round trip to the emulators.
pub const MAX_SPEED: f64 = 3600.0;
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a demo did, for tests.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub totals: Totals,
    /// The bodies of the mode requests the Smappee emulator received during the replay.
    pub modes: Vec<String>,
    /// Vehicle reads the Enode emulator answered.
    pub vehicle_reads: usize,
}

/// Run the demo of `scenario` at `speed`, printing to `out`, until the data ends or `stop` completes.
pub async fn run_demo(
    scenario_path: &Path,
    speed: f64,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<DemoOutcome> {
    if !(1.0..=MAX_SPEED).contains(&speed) {
        bail!(
            "--speed {speed} is out of range: use 1..={MAX_SPEED} simulated seconds per real second \
             (600, the default, replays an hour in 6 s)"
        );
    }
    let sc = scenario::load(scenario_path).map_err(|p| anyhow!("{}", p.to_string().trim_end()))?;
    let policy_path = sc
        .policies
        .first()
        .cloned()
        .context("the scenario lists no policies")?;
    let policy =
        load_policies(std::slice::from_ref(&policy_path), sc.vehicle_api.enabled)?.remove(0);
    let mut input = Input::load(&sc.data)?;
    let full = (input.start_ms, input.end_ms);
    let all = schedule::sessions(&sc.car, sc.tz, full.0, full.1);
    (input.start_ms, input.end_ms) = setup::window(&input, &all);
    let sessions = schedule::sessions(&sc.car, sc.tz, input.start_ms, input.end_ms);
    let input = Arc::new(input);
    let start = utc(input.start_ms);

    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(start, speed));
    let (smappee, enode) = setup::start_emulators(&sc, clock.clone(), start).await?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let cfg = setup::write_config(dir.path(), &sc, &policy_path, &smappee, &enode)?;
    let on_shutdown = cfg.control.on_shutdown;
    let rules = why::Rules {
        watts_per_amp: sc.car_watts_per_amp(),
        floor_a: sc.charger.min_current_a,
        max_a: sc.charger.max_current_a.min(sc.car.max_current.0),
        ramp_a_per_s: cfg.control.ramp_a_per_s,
        min_change_interval: cfg.control.min_change_interval.get(),
        hold_band_a: policy.common.hold_band_a,
        raise_band_a: policy.common.raise_band_a,
        small_change_a: policy.common.small_change_a,
        hold_small_for: policy.common.hold_small_for.get(),
        switch: policy.common.switch,
    };

    let car_now = Arc::new(Mutex::new(CarNow::default()));
    let charger = crate::chargers::smappee::charger_from_config(&cfg, clock.clone())?;
    let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
    let vehicle = VehicleSource::from_config(&cfg, &*clock, http).map_err(|e| anyhow!(e))?;
    let (decision_tx, decisions) = watch::channel::<Option<Decision>>(None);
    let wiring = Wiring {
        clock: clock.clone(),
        charger,
        vehicle: PolledVehicle {
            source: vehicle,
            clock: clock.clone(),
        },
        meter: Box::new(DemoMeter {
            input: input.clone(),
            car: car_now.clone(),
            pv_and_load: sc.meter.reports_pv_and_load,
        }),
        charger_power: Some(Box::new(DemoCarPower(car_now.clone()))),
        vehicle_topics: None,
        mqtt: None,
        notifier: Notifier::disabled(),
        dry_run: false,
        speed,
        decisions: Some(decision_tx),
    };

    let trimmed = (input.start_ms, input.end_ms) != (full.0, full.1);
    writeln!(out, "{}", header(&sc, &policy.name, &input, speed, trimmed))?;
    let (stop_daemon, daemon_stopped) = tokio::sync::oneshot::channel::<()>();
    // Aborted if the demo returns early (an error, a closed output), so nothing outlives it.
    let mut daemon = AbortOnDropHandle::new(tokio::spawn(run(cfg, wiring, async {
        let _ = daemon_stopped.await;
    })));
    let world = World::new(
        sc.clone(),
        input.clone(),
        sessions,
        smappee.clone(),
        enode.clone(),
        car_now,
        decisions,
    );
    let (rows_tx, mut rows) = mpsc::unbounded_channel();
    let halt = CancellationToken::new();
    let mut world = AbortOnDropHandle::new(tokio::spawn(world.run(
        clock.clone(),
        rows_tx,
        halt.clone(),
    )));
    let began = Instant::now();
    writeln!(out, "{}", table_head())?;

    tokio::pin!(stop);
    let mut interrupted = false;
    let print = |out: &mut dyn Write, r: Row| -> std::io::Result<()> {
        if r.active() {
            writeln!(out, "{}", table_row(&r, &sc, &rules))?;
        }
        Ok(())
    };
    let totals = loop {
        tokio::select! {
            biased;
            Some(r) = rows.recv() => print(out, r)?,
            totals = &mut world => {
                // The world has sent its last rows before it returned.
                while let Ok(r) = rows.try_recv() {
                    print(out, r)?;
                }
                break totals.context("the replay failed")?;
            }
            _ = &mut stop, if !interrupted => {
                interrupted = true;
                halt.cancel();
            }
            result = &mut daemon => {
                halt.cancel();
                result.context("the daemon failed")??;
                bail!("the daemon stopped before the replay ended");
            }
        }
    };
    let elapsed = began.elapsed();
    let modes = smappee.mode_bodies();

    let _ = stop_daemon.send(());
    tokio::time::timeout(STOP_TIMEOUT, &mut daemon)
        .await
        .map_err(|_| anyhow!("the daemon did not stop within {STOP_TIMEOUT:?}"))?
        .context("the daemon failed")??;
    let left = smappee
        .mode_bodies()
        .get(modes.len()..)
        .map(<[String]>::to_vec);
    let outcome = DemoOutcome {
        totals,
        modes,
        vehicle_reads: enode.requests_to("/vehicles").len(),
    };
    write!(
        out,
        "{}",
        summary(&sc, &outcome, elapsed, interrupted, on_shutdown, left)
    )?;
    Ok(outcome)
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}
