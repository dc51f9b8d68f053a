//! One policy run over a scenario: physics every step, the daemon's controller every `interval`.
//!
//! Owns: [`run`], [`RunOutcome`], and the [`Observer`] hooks the trace (and tests) use. Per physics
//! step, in order: the input at `t`; plug-in and departure; the charger applies the requests that have
//! arrived; the car draws; the tally; the meter, the charger's power stream and the car's cloud see the
//! new state. Every `interval` the observation the daemon would have is built from those models, handed
//! to **`crate::control::Controller::step`** (the daemon's controller, not a copy), and the actuator
//! (`control::actuate`, the daemon's too) turns the decision into a charger request, which the charger
//! model executes after its latency. Nothing here allocates per step.
//!
//! The fast path (only for observers that need not see every step, such as `()`): once the car has
//! left for the last time and the controller, actuator and station are at rest, the remaining steps
//! only add the site's energy to the tally and advance the meter's counters. The outcome is the
//! same, bit for bit (tests/it/sim_fast_path.rs runs both ways and compares).

use super::car::{CarModel, Draw};
use super::charger::ChargerModel;
use super::forecast::OutlookModel;
use super::input::{Input, Sample};
use super::meter::{MeterDraws, MeterModel};
use super::metrics::Tally;
use super::plans::PlanLog;
use super::scenario::Scenario;
use super::schedule::{Edge, Session, SessionClock};
use super::spec::ms;
use super::tariff::Prices;
use super::vehicle_api::VehicleApiModel;
use crate::chargers::smappee::state_words::interpret;
use crate::control::actuate::{Actuator, ActuatorSettings, OnManualChange, Outcome, Request};
use crate::control::policies::LoadedPolicy;
use crate::control::{
    ChargerObs, Command, Controller, Decision, MeterSample, Observation, Overrides, PowerBalance,
    Reading,
};
use crate::units::{Amps, Watts};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The physics at one step, for observers.
#[derive(Debug, Clone, Copy)]
pub struct PhysicsView {
    pub t_ms: i64,
    pub sample: Sample,
    pub draw: Draw,
    /// True grid power, mean over the step, import positive.
    pub grid_w: f64,
    pub soc_pct: f64,
}

/// One controller step, for observers.
#[derive(Debug, Clone, Copy)]
pub struct ControlView<'a> {
    pub now: DateTime<Utc>,
    pub obs: &'a Observation,
    pub decision: &'a Decision,
    /// The request sent to the charger at this step, if any.
    pub sent: Option<Request>,
    /// The current the car is offered now (after the station's inexactness).
    pub offered_a: f64,
}

/// Hooks into a run. The unit type observes nothing and costs nothing.
pub trait Observer {
    #[inline]
    fn physics(&mut self, _view: &PhysicsView) {}
    #[inline]
    fn control(&mut self, _view: &ControlView<'_>) {}
    /// Whether this observer must see every step and every decision's reason in words. If not, the
    /// run skips the steps that cannot change its outcome and the controller skips writing its
    /// reasons (see [`run`]); the outcome is the same either way.
    #[inline]
    fn sees_every_step(&self) -> bool {
        true
    }
}

impl Observer for () {
    fn sees_every_step(&self) -> bool {
        false
    }
}

/// After the car has left for the last time, the controller and the station are at rest once this
/// long has passed (a state poll shows the empty socket, the pause goes out and takes effect).
fn settle_ms(poll_ms: i64, interval_ms: i64, latency_ms: i64) -> i64 {
    2 * (poll_ms + interval_ms + latency_ms)
}

/// How a plug-in session ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionEnd {
    pub at_ms: i64,
    pub soc_pct: f64,
    /// The car left (else the data ended first).
    pub departed: bool,
    /// Grid energy the car took in this session, Wh.
    pub car_grid_wh: f64,
}

#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub policy: String,
    pub steps: u64,
    pub tally: Tally,
    pub sessions: Vec<SessionEnd>,
    pub writes: u32,
    pub replug_resets: u32,
    pub meter_samples: u64,
    pub meter_dropped: u64,
    /// The departure plans the policy made (empty for a policy that does not plan).
    pub plans: PlanLog,
}

pub(super) fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// The car counts as charging above this draw.
pub(super) const CHARGING_W: f64 = 100.0;

/// What the daemon last read from the station's cloud API.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StationState {
    plugged: bool,
    paused: bool,
    charging: bool,
    limit: Option<Amps>,
}

impl StationState {
    /// The station's words, read the way the real client (or central system) reads them, while the
    /// car draws `car_w`.
    pub(super) fn poll(charger: &ChargerModel, ocpp: bool, car_w: f64) -> StationState {
        let (paused, charging) = if ocpp {
            let (_, charging, paused) =
                crate::chargers::ocpp::state::status_words(charger.ocpp_status(car_w > CHARGING_W));
            (paused, charging)
        } else {
            let (word, mode, cause) = charger.state_words(car_w > CHARGING_W);
            let read = interpret(Some(&word), Some(mode), cause);
            (read.paused, read.charging)
        };
        StationState {
            plugged: charger.plugged(),
            paused: paused.unwrap_or_else(|| charger.paused()),
            charging: charging.unwrap_or(false),
            limit: charger.reported_limit(),
        }
    }

    /// What a state poll tells the actuator.
    pub(super) fn polled(self) -> ChargerObs {
        ChargerObs {
            plugged: Some(self.plugged),
            paused: Some(self.paused),
            offered: self.limit,
            ..ChargerObs::default()
        }
    }

    /// The charger as the controller sees it: with realtime power the car's draw every second
    /// (`power`: when and what); without, only the last poll says whether it charges. OCPP: the
    /// last MeterValues (`metered`).
    pub(super) fn observed(
        self,
        ocpp: bool,
        realtime_power: bool,
        power: (i64, f64),
        metered: Option<(i64, f64)>,
    ) -> ChargerObs {
        ChargerObs {
            plugged: Some(self.plugged),
            charging: Some(if ocpp {
                self.charging
            } else if realtime_power {
                power.1 > CHARGING_W
            } else {
                self.charging
            }),
            offered: self.limit,
            paused: Some(self.paused),
            power: if ocpp {
                metered.map(|(at, w)| Reading::new(Watts(w), utc(at)))
            } else {
                realtime_power.then(|| Reading::new(Watts(power.1), utc(power.0)))
            },
            max: None,
            session: None,
        }
    }
}

/// The meter's latest sample as the daemon reads it.
pub(super) fn meter_reading(meter: &MeterModel) -> Option<Reading<MeterSample>> {
    meter.latest().map(|s| {
        Reading::new(
            MeterSample {
                balance: PowerBalance::Grid(Watts(s.grid_w)),
                pv: s.pv_w.map(Watts),
                house_load: s.load_w.map(Watts),
                battery: None,
            },
            utc(s.at_ms),
        )
    })
}

/// Run `policy` over the scenario.
pub fn run(
    sc: &Scenario,
    input: &Input,
    sessions: &[Session],
    prices: &Prices,
    meter_draws: &Arc<MeterDraws>,
    policy: LoadedPolicy,
    observer: &mut impl Observer,
) -> RunOutcome {
    let name = policy.name.clone();
    let mut controller = Controller::new(sc.controller_params(), policy);
    let step_ms = sc.step_ms;
    let dt_s = step_ms as f64 / 1000.0;
    let start = input.start_ms;
    let steps = input.steps(step_ms);
    let report_pv_load = sc.meter.reports_pv_and_load;

    let mut car = CarModel::new(&sc.car, sc.car_watts_per_amp());
    let mut charger = ChargerModel::new(&sc.charger);
    let latency_ms = ms(sc.charger.latency);
    let mut actuator = Actuator::new(ActuatorSettings {
        resolution: charger.resolution(),
        on_manual_change: OnManualChange::default(),
        // The daemon's default `[charger] manual_grace`.
        manual_grace: crate::config::schema::ChargerSection::default()
            .manual_grace
            .get(),
    });
    let mut meter = MeterModel::with_draws(&sc.meter, start, meter_draws.clone());
    let mut cloud = VehicleApiModel::new(&sc.vehicle_api, start);
    let mut sampler = input.sampler();
    let mut clock = SessionClock::default();
    let mut tally = Tally::new(super::oracle_powers(sc).0);
    let mut ends: Vec<SessionEnd> = Vec::with_capacity(sessions.len());
    let mut session_grid_ws = 0.0;

    let (interval_ms, poll_ms) = (
        ms(sc.control.interval).max(1),
        ms(sc.charger.state_poll).max(1),
    );
    let (mut next_control, mut next_poll) = (start, start);
    let mut station = StationState::default();
    let mut power: (i64, f64);
    let ocpp = sc.charger.kind == super::spec::ChargerModelKind::Ocpp;
    // OCPP: the car's power as the last MeterValues reported it, sent every `meter_interval`.
    let meter_ms = ms(sc.charger.meter_interval).max(1);
    let (mut next_metered, mut metered): (i64, Option<(i64, f64)>) = (start, None);
    let mut overrides = Overrides {
        departure: sc.car.departure,
        ..Overrides::default()
    };
    let mut outlook = OutlookModel::new(&sc.forecast, &sc.tariff, prices, input, sc.tz);
    let mut plans = PlanLog::default();

    let fast = !observer.sees_every_step();
    // Nobody reads the decisions' words on the fast path: the controller skips writing them.
    controller.set_explain(!fast);
    let mut left_at: Option<i64> = None;
    let mut last_command = Command::Pause;
    let mut i = 0;
    while i < steps {
        let t = start + i as i64 * step_ms;
        // The fast path: the car has gone for good, the controller has paused it and the station
        // has nothing on its way. From here no decision can change the outcome, so only the site's
        // own energy (export, import) and the meter's counts are still accumulated, step by step and
        // in the same order, which keeps every figure bit for bit.
        if fast
            && clock.finished(sessions)
            && left_at.is_some_and(|d| t >= d + settle_ms(poll_ms, interval_ms, latency_ms))
            && last_command == Command::Pause
            && charger.idle()
            && actuator.next(since(start, t)).is_none()
            && actuator.deadline().is_none()
        {
            break;
        }
        i += 1;
        let sample = sampler.at(t);
        clock.advance(sessions, t, |edge| match edge {
            Edge::Depart(_) => {
                left_at = Some(t);
                ends.push(SessionEnd {
                    at_ms: t,
                    soc_pct: car.soc(),
                    departed: true,
                    car_grid_wh: session_grid_ws / 3600.0,
                });
                session_grid_ws = 0.0;
                car.depart();
                charger.unplug();
            }
            Edge::PlugIn(k) => {
                // A stay over several nights: the user tells the planner the day of departure.
                overrides.departure_at = sc
                    .car
                    .stay_days
                    .map(|_| utc(sessions[k].depart_ms))
                    .filter(|_| sessions[k].departs_in_data);
                car.arrive(sc.car.start_soc);
                charger.plug_in();
            }
        });

        charger.step(t);
        tally.set_prices(prices.import_at(t), prices.export);
        let draw = car.step(t, charger.offered(), dt_s);
        session_grid_ws += tally.add(draw, sample.surplus_w, dt_s);
        let car_w = draw.mean_w();
        let grid_w = car_w - sample.surplus_w;
        let (pv, load) = if report_pv_load {
            (sample.pv_w, sample.load_w)
        } else {
            (None, None)
        };
        meter.step(t, grid_w, pv, load);
        power = (t, car_w);
        if ocpp && t >= next_metered {
            next_metered += meter_ms;
            metered = Some(power);
        }
        cloud.step(t, car.soc(), sc.car.target_soc);
        observer.physics(&PhysicsView {
            t_ms: t,
            sample,
            draw,
            grid_w,
            soc_pct: car.soc(),
        });

        if t >= next_poll {
            next_poll += poll_ms;
            station = StationState::poll(&charger, ocpp, car_w);
            actuator.observed(since(start, t), &station.polled());
        }
        if t >= next_control {
            next_control += interval_ms;
            let now = utc(t);
            if let Some(o) = outlook.update(t) {
                controller.set_outlook(o);
            }
            let obs = Observation {
                meter: meter_reading(&meter),
                charger: station.observed(ocpp, sc.charger.realtime_power, power, metered),
                vehicle: cloud.observation(),
                overrides,
            };
            let decision = controller.step(now, &obs);
            plans.observe(now, clock.current(), controller.plan());
            last_command = decision.command;
            let sent = actuate(&mut actuator, since(start, t), decision.command, |req| {
                charger.send(t, req);
                // The daemon's write returns once the request has taken effect.
                (Outcome::Ok, since(start, t + latency_ms))
            });
            observer.control(&ControlView {
                now,
                obs: &obs,
                decision: &decision,
                sent,
                offered_a: charger.offered(),
            });
        }
    }
    for k in i..steps {
        let t = start + k as i64 * step_ms;
        let sample = sampler.at(t);
        tally.set_prices(prices.import_at(t), prices.export);
        let draw = car.step(t, charger.offered(), dt_s);
        tally.add(draw, sample.surplus_w, dt_s);
        let grid_w = draw.mean_w() - sample.surplus_w;
        let (pv, load) = if report_pv_load {
            (sample.pv_w, sample.load_w)
        } else {
            (None, None)
        };
        meter.step(t, grid_w, pv, load);
    }
    if let Some(i) = clock.current() {
        ends.push(SessionEnd {
            at_ms: input.end_ms,
            soc_pct: car.soc(),
            departed: sessions[i].departs_in_data,
            car_grid_wh: session_grid_ws / 3600.0,
        });
    }
    RunOutcome {
        policy: name,
        steps,
        tally,
        sessions: ends,
        writes: actuator.writes as u32,
        replug_resets: charger.replug_resets,
        meter_samples: meter.sampled,
        meter_dropped: meter.dropped,
        plans,
    }
}

/// The actuator's clock in the simulator: time since the run's start.
pub fn since(start_ms: i64, t_ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(t_ms - start_ms).unwrap_or(0))
}

/// The simulator's side of the actuator, one control step at `now`: hand it the command and send
/// what it asks for. `execute` sends a request and says how it ended and when (for a success: when it
/// took effect). The daemon's writer (`daemon::writer`) does the same with tokio's clock.
pub fn actuate(
    act: &mut Actuator,
    now: std::time::Duration,
    command: Command,
    mut execute: impl FnMut(Request) -> (Outcome, std::time::Duration),
) -> Option<Request> {
    act.command(Some(command));
    let req = act.next(now)?;
    act.sending(req);
    let (outcome, at) = execute(req);
    act.written(at, req, outcome);
    Some(req)
}
