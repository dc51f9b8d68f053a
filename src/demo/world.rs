//! The replayed site around the emulators: the day's PV and house load, the car on the emulated
//! Smappee station, and the car's cloud in the emulated Enode API.
//!
//! Owns: [`World`] (stepped at 1 s of simulated time, catching up with the scaled clock), the meter
//! and charger-power sources the daemon reads from it ([`DemoMeter`], [`DemoCarPower`]), and the
//! quarter-hour [`Row`]s and the [`Totals`] the demo prints. The physics are the simulator's own:
//! [`Input`] for the data, [`SessionClock`] for plug-in and departure, [`CarModel`] for what the car
//! draws of what the station offers, [`VehicleApiModel`] for the SoC the car's cloud reports (captured
//! every `period`, `latency` late, rounded), [`Tally`] for the energy figures. Nothing here decides
//! anything: the daemon does, through the emulators' HTTP APIs. A row is one instant, its quarter's
//! end: the site's powers, what the car draws, the station's state and the daemon's decision in
//! force are all read at that same step, so its columns add up.

use crate::clock::Clock;
use crate::control::{Decision, MeterSample, PowerBalance, Reading};
use crate::daemon::ports::{MeterOutput, PowerOutput, TopicSource};
use crate::emulators::enode::{EnodeEmulator, Timing};
use crate::emulators::smappee::{Connector, SmappeeEmulator};
use crate::sim::car::{CarModel, Draw};
use crate::sim::input::{Input, Sample, Sampler};
use crate::sim::metrics::Tally;
use crate::sim::schedule::{Edge, Session, SessionClock};
use crate::sim::vehicle_api::VehicleApiModel;
use crate::sim::{Scenario, oracle_powers};
use crate::units::{Amps, Watts};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The physics step, simulated.
pub const STEP_MS: i64 = 1000;
/// One table row per quarter hour.
pub const ROW_MS: i64 = 15 * 60 * 1000;
/// The station connector the car is on.
pub const CONNECTOR: u8 = 1;
/// How often (real time) the world catches up with the clock.
const TICK: Duration = Duration::from_millis(2);

/// What the car draws now: the meter and the charger's power stream read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CarNow {
    pub car_w: f64,
}

pub type Shared = Arc<Mutex<CarNow>>;

fn lock(s: &Shared) -> MutexGuard<'_, CarNow> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// The grid meter: PV − house load of the data at the instant asked, plus what the car draws,
/// import positive, stamped with that instant (the meter of a site without the MQTT hop).
pub struct DemoMeter {
    pub input: Arc<Input>,
    pub car: Shared,
    /// Whether the meter also reports PV and house load (`[meter] reports_pv_and_load`).
    pub pv_and_load: bool,
}

impl TopicSource for DemoMeter {
    type Output = MeterOutput;
    fn topics(&self) -> Vec<String> {
        Vec::new()
    }
    fn on_message(&mut self, _: &str, _: &[u8], _: bool, _: DateTime<Utc>) -> bool {
        false
    }
    fn latest(&self, now: DateTime<Utc>) -> Option<MeterOutput> {
        let s = self.input.sampler().at(now.timestamp_millis());
        let car_w = lock(&self.car).car_w;
        let (pv, load) = match self.pv_and_load {
            true => (s.pv_w.map(Watts), s.load_w.map(Watts)),
            false => (None, None),
        };
        let sample = MeterSample {
            balance: PowerBalance::Grid(Watts(car_w - s.surplus_w)),
            pv,
            house_load: load,
            battery: None,
        };
        Some(Reading::new(sample, now))
    }
}

/// The charger's power, as Smappee's realtime topic reports what its CTs measure.
pub struct DemoCarPower(pub Shared);

impl TopicSource for DemoCarPower {
    type Output = PowerOutput;
    fn topics(&self) -> Vec<String> {
        Vec::new()
    }
    fn on_message(&mut self, _: &str, _: &[u8], _: bool, _: DateTime<Utc>) -> bool {
        false
    }
    fn latest(&self, now: DateTime<Utc>) -> Option<PowerOutput> {
        Some(Reading::new(Watts(lock(&self.0).car_w), now))
    }
}

/// One quarter hour, shown as its last instant `at`: every figure is the one in force at that step.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The end of the quarter.
    pub at: DateTime<Utc>,
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
    /// PV − house load (for data that only has the net).
    pub surplus_w: f64,
    /// What the car draws, and the current that is (`car_w` = `car_a` × volts × phases).
    pub car_w: f64,
    pub car_a: f64,
    pub soc_pct: f64,
    /// The car was plugged in during the quarter.
    pub plugged: bool,
    /// There was sun during the quarter (its mean PV, or surplus without PV data).
    pub sunny: bool,
    /// The emulated station's connector.
    pub charger: Option<Connector>,
    /// The daemon's decision in force, and since when its command has been charging (or paused),
    /// if it changed during the replay.
    pub decision: Option<Decision>,
    pub since: Option<DateTime<Utc>>,
}

impl Row {
    /// Whether anything happened: sun, or a car.
    pub fn active(&self) -> bool {
        self.plugged || self.sunny
    }

    /// Grid power, import positive: house + car − PV (car − surplus where the data has only the net).
    pub fn grid_w(&self) -> f64 {
        self.car_w - self.surplus_w
    }
}

/// The replay's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub tally: Tally,
    pub soc_pct: f64,
    /// Where the replay got to (the data's end, or where it was stopped).
    pub reached: DateTime<Utc>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Quarter {
    steps: u32,
    pv: f64,
    surplus: f64,
    plugged: bool,
}

/// The daemon's command as the world last saw it: charging or not, and since when (`None` until it
/// first changes: the replay does not know how long it had been so before).
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    charging: Option<bool>,
    since: Option<DateTime<Utc>>,
}

/// The site, the car and its cloud, stepped through the data.
pub struct World {
    sc: Scenario,
    input: Arc<Input>,
    sessions: Vec<Session>,
    smappee: SmappeeEmulator,
    enode: Arc<EnodeEmulator>,
    car: CarModel,
    cloud: VehicleApiModel,
    session_clock: SessionClock,
    tally: Tally,
    shared: Shared,
    quarter: Quarter,
    reported: Option<DateTime<Utc>>,
    t_ms: i64,
    decisions: watch::Receiver<Option<Decision>>,
    seen: Seen,
}

impl World {
    pub fn new(
        sc: Scenario,
        input: Arc<Input>,
        sessions: Vec<Session>,
        smappee: SmappeeEmulator,
        enode: Arc<EnodeEmulator>,
        shared: Shared,
        decisions: watch::Receiver<Option<Decision>>,
    ) -> World {
        let car = CarModel::new(&sc.car, sc.car_watts_per_amp());
        let cloud = VehicleApiModel::new(&sc.vehicle_api, input.start_ms);
        let tally = Tally::new(oracle_powers(&sc).0);
        let t_ms = input.start_ms;
        World {
            sc,
            input,
            sessions,
            smappee,
            enode,
            car,
            cloud,
            session_clock: SessionClock::default(),
            tally,
            shared,
            quarter: Quarter::default(),
            reported: None,
            t_ms,
            decisions,
            seen: Seen::default(),
        }
    }

    /// Step until the clock, sending a row at each quarter hour, until the data ends or `stop`.
    pub async fn run(
        mut self,
        clock: Arc<dyn Clock>,
        rows: mpsc::UnboundedSender<Row>,
        stop: CancellationToken,
    ) -> Totals {
        let end = self.input.end_ms;
        let input = self.input.clone();
        let mut sampler = input.sampler();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while self.t_ms < end {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = clock.now().timestamp_millis().min(end);
            while self.t_ms < now {
                if let Some(row) = self.step(&mut sampler) {
                    let _ = rows.send(row);
                }
            }
        }
        Totals {
            tally: self.tally,
            soc_pct: self.car.soc(),
            reached: utc(self.t_ms),
        }
    }

    /// One physics step at `t_ms`, in the simulator's order: the data, plug-in and departure, what
    /// the station offers, what the car draws, the tally, the car's cloud.
    fn step(&mut self, sampler: &mut Sampler<'_>) -> Option<Row> {
        let t = self.t_ms;
        let sample = sampler.at(t);
        let (car, smappee, enode, start_soc) = (
            &mut self.car,
            &self.smappee,
            &self.enode,
            self.sc.car.start_soc,
        );
        self.session_clock
            .advance(&self.sessions, t, |edge| match edge {
                Edge::PlugIn(_) => {
                    car.arrive(start_soc);
                    smappee.plug_in(CONNECTOR);
                    enode.update_vehicle(|v| v.plugged = true);
                }
                Edge::Depart(_) => {
                    car.depart();
                    smappee.unplug(CONNECTOR);
                    enode.update_vehicle(|v| {
                        v.plugged = false;
                        v.charging = false;
                    });
                }
            });
        let offered = self.offered_a();
        let draw = self.car.step(t, offered, STEP_MS as f64 / 1000.0);
        self.tally
            .add(draw, sample.surplus_w, STEP_MS as f64 / 1000.0);
        lock(&self.shared).car_w = draw.mean_w();
        self.cloud.step(t, self.car.soc(), self.sc.car.target_soc);
        self.report_to_cloud(draw.is_drawing());
        self.t_ms = t + STEP_MS;
        self.follow_decision();
        self.accumulate(&sample, draw)
    }

    /// Note when the daemon's command turns from paused to charging or back.
    fn follow_decision(&mut self) {
        let charging = self
            .decisions
            .borrow()
            .as_ref()
            .map(|d| d.command.is_charging());
        let Some(charging) = charging else { return };
        if self.seen.charging.is_some_and(|was| was != charging) {
            self.seen.since = Some(utc(self.t_ms));
        }
        self.seen.charging = Some(charging);
    }

    /// The current the car is offered: what the emulated station delivers for its mode and limit
    /// (nothing when paused, unplugged or below the floor), after the station's inexact AMPERE
    /// control as the scenario models it (`[charger] ampere_gain`, `ampere_offset_a`).
    fn offered_a(&self) -> f64 {
        let asked = self
            .smappee
            .connector(CONNECTOR)
            .map_or(0.0, |c| c.delivered());
        self.sc.charger.delivered(Amps(asked)).0
    }

    /// A new capture of the car's cloud goes to the Enode emulator, with its capture time.
    fn report_to_cloud(&mut self, drawing: bool) {
        let Some(soc) = self.cloud.observation().soc else {
            return;
        };
        if self.reported == Some(soc.at) {
            return;
        }
        self.reported = Some(soc.at);
        let plugged = self.car.plugged();
        self.enode.update_vehicle(|v| {
            v.battery_level = Some(soc.value.pct());
            v.last_updated = Timing::At(soc.at);
            v.plugged = plugged;
            v.charging = drawing;
        });
    }

    /// Count the step into the quarter; at its end, the row: this step's figures, the station's
    /// connector and the daemon's decision, all as they are now.
    fn accumulate(&mut self, s: &Sample, draw: Draw) -> Option<Row> {
        let q = &mut self.quarter;
        q.steps += 1;
        q.pv += s.pv_w.unwrap_or(0.0);
        q.surplus += s.surplus_w;
        q.plugged |= self.car.plugged();
        if self.t_ms % ROW_MS != 0 && self.t_ms < self.input.end_ms {
            return None;
        }
        let q = std::mem::take(&mut self.quarter);
        let n = f64::from(q.steps.max(1));
        let sunny = match s.pv_w {
            Some(_) => q.pv / n > 10.0,
            None => q.surplus / n > 0.0,
        };
        // What the car draws at this instant (a step that reached the limit drew for part of it).
        let per_amp = self.sc.car_watts_per_amp();
        let car_a = if draw.is_drawing() {
            draw.power_w / per_amp
        } else {
            0.0
        };
        Some(Row {
            at: utc(self.t_ms),
            pv_w: s.pv_w,
            load_w: s.load_w,
            surplus_w: s.surplus_w,
            car_w: car_a * per_amp,
            car_a,
            soc_pct: self.car.soc(),
            plugged: q.plugged,
            sunny,
            charger: self.smappee.connector(CONNECTOR),
            decision: self.decisions.borrow().clone(),
            since: self.seen.since,
        })
    }
}
