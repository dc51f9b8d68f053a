//! One run of a site with several loadpoints: the physics of every car and station every step, the
//! daemon's site controller every `interval`.
//!
//! Owns: [`run_site`], [`SiteOutcome`] and the [`SiteObserver`] hooks. The same models and the same
//! order of work as [`super::run`] (input, plug-in and departure, stations apply requests, cars draw,
//! the tally, the meter, the stations' power and the cars' clouds), with one [`Bay`] per loadpoint
//! (car, station, actuator, cloud, sessions) and one meter that sees every car. Every `interval` the
//! observation the daemon would have goes to **`crate::control::site::SiteController::step`**, and
//! each loadpoint's actuator (`control::actuate`) turns its command into a request.
//!
//! Each car's solar is its part of the solar all cars took together, in proportion to its power:
//! `car_solar_k = p_k · min(1, avail / Σ p)`. Export and site import are the site's.

use super::car::{CarModel, Draw};
use super::charger::ChargerModel;
use super::forecast::OutlookModel;
use super::input::Sample;
use super::metrics::Tally;
use super::run::{RunOutcome, SessionEnd, StationState, actuate, meter_reading, since, utc};
use super::schedule::{Edge, Session, SessionClock};
use super::site::SiteSimulation;
use super::spec::{ChargerModelKind, ms};
use crate::control::Overrides;
use crate::control::actuate::{Actuator, ActuatorSettings, OnManualChange, Outcome};
use crate::control::policies::LoadedPolicy;
use crate::control::site::{
    Loadpoint, LoadpointObs, LoadpointSpec, SiteController, SiteDecision, SiteObservation,
    SiteParams,
};
use chrono::{DateTime, Utc};

/// Hooks into a site run. The unit type observes nothing.
pub trait SiteObserver {
    /// One physics step: the input, each car's draw and SoC, the true grid power (import positive).
    #[inline]
    fn physics(
        &mut self,
        _t_ms: i64,
        _sample: &Sample,
        _draws: &[Draw],
        _socs: &[f64],
        _grid_w: f64,
    ) {
    }
    /// One site controller step.
    #[inline]
    fn control(&mut self, _now: DateTime<Utc>, _decision: &SiteDecision) {}
}

impl SiteObserver for () {}

/// A site run's outcome: each car's, as a one-car run would have it, and the site's own balance.
#[derive(Debug, Clone)]
pub struct SiteOutcome {
    pub name: String,
    pub steps: u64,
    /// In loadpoint order; `policy` holds the loadpoint's name.
    pub cars: Vec<RunOutcome>,
    /// The site's export and import (with every car); its car figures are the sum of all cars.
    pub site: Tally,
}

/// One loadpoint's models.
struct Bay<'a> {
    sessions: &'a [Session],
    clock: SessionClock,
    car: CarModel,
    charger: ChargerModel,
    actuator: Actuator,
    cloud: super::vehicle_api::VehicleApiModel,
    tally: Tally,
    ends: Vec<SessionEnd>,
    session_grid_ws: f64,
    station: StationState,
    power: (i64, f64),
    metered: Option<(i64, f64)>,
    next_metered: i64,
    next_poll: i64,
    overrides: Overrides,
    draw: Draw,
    /// The departure plans its policy made.
    plans: super::plans::PlanLog,
}

/// Run the site with each loadpoint's policy (in loadpoint order) and priority.
pub fn run_site(
    sim: &SiteSimulation,
    name: &str,
    priorities: &[i32],
    policies: Vec<LoadedPolicy>,
    observer: &mut impl SiteObserver,
) -> SiteOutcome {
    let sc = &sim.scenario;
    let input = &sim.input;
    let step_ms = sc.step_ms;
    let dt_s = step_ms as f64 / 1000.0;
    let start = input.start_ms;
    let steps = input.steps(step_ms);
    let report_pv_load = sc.meter.reports_pv_and_load;

    let loadpoints = sim
        .cars
        .iter()
        .zip(&sc.loadpoints)
        .zip(policies)
        .enumerate()
        .map(|(k, ((alone, lp), policy))| {
            let spec = LoadpointSpec {
                name: lp.name.clone(),
                priority: priorities.get(k).copied().unwrap_or(lp.priority),
                phases: lp.car.phases,
                phase: lp.phase,
                max_current: None,
            };
            Loadpoint::new(spec, alone.scenario.controller_params(), policy)
        })
        .collect();
    let mut site = SiteController::new(
        SiteParams {
            main_fuse: sc.main_fuse,
            supply: sc.supply,
            stagger: None,
        },
        loadpoints,
    );
    site.set_explain(false);
    let mut bays: Vec<Bay<'_>> = sim
        .cars
        .iter()
        .map(|alone| {
            let s = &alone.scenario;
            let charger = ChargerModel::new(&s.charger);
            Bay {
                sessions: &alone.sessions,
                clock: SessionClock::default(),
                car: CarModel::new(&s.car, s.car_watts_per_amp()),
                actuator: Actuator::new(ActuatorSettings {
                    resolution: charger.resolution(),
                    on_manual_change: OnManualChange::default(),
                    manual_grace: crate::config::schema::ChargerSection::default()
                        .manual_grace
                        .get(),
                }),
                charger,
                cloud: super::vehicle_api::VehicleApiModel::new(&s.vehicle_api, start),
                tally: Tally::new(super::oracle_powers(s).0),
                ends: Vec::new(),
                session_grid_ws: 0.0,
                station: StationState::default(),
                power: (start, 0.0),
                metered: None,
                next_metered: start,
                next_poll: start,
                overrides: Overrides {
                    departure: s.car.departure,
                    ..Overrides::default()
                },
                draw: Draw::default(),
                plans: super::plans::PlanLog::default(),
            }
        })
        .collect();
    let mut meter = super::meter::MeterModel::with_draws(&sc.meter, start, sim.meter_draws.clone());
    let mut sampler = input.sampler();
    let mut tally = Tally::new(f64::INFINITY);
    let mut outlook = OutlookModel::new(&sc.forecast, &sc.tariff, &sim.prices, input, sc.tz);
    let interval_ms = ms(sc.control.interval).max(1);
    let mut next_control = start;
    let (mut draws, mut socs) = (vec![Draw::default(); bays.len()], vec![0.0; bays.len()]);

    for i in 0..steps {
        let t = start + i as i64 * step_ms;
        let sample = sampler.at(t);
        for (b, alone) in bays.iter_mut().zip(&sim.cars) {
            let s = &alone.scenario;
            let Bay {
                clock,
                sessions,
                car,
                charger,
                ends,
                session_grid_ws,
                overrides,
                ..
            } = b;
            clock.advance(sessions, t, |edge| match edge {
                Edge::Depart(_) => {
                    ends.push(SessionEnd {
                        at_ms: t,
                        soc_pct: car.soc(),
                        departed: true,
                        car_grid_wh: *session_grid_ws / 3600.0,
                    });
                    *session_grid_ws = 0.0;
                    car.depart();
                    charger.unplug();
                }
                Edge::PlugIn(k) => {
                    overrides.departure_at = s
                        .car
                        .stay_days
                        .map(|_| utc(sessions[k].depart_ms))
                        .filter(|_| sessions[k].departs_in_data);
                    car.arrive(s.car.start_soc);
                    charger.plug_in();
                }
            });
            b.charger.step(t);
            b.draw = b.car.step(t, b.charger.offered(), dt_s);
        }
        let (import, export) = (sim.prices.import_at(t), sim.prices.export);
        let total: f64 = bays.iter().map(|b| b.draw.mean_w()).sum();
        let avail = sample.surplus_w.max(0.0);
        for (k, b) in bays.iter_mut().enumerate() {
            // This car's part of the solar all cars take: in proportion to its power.
            let part = if total > 0.0 {
                b.draw.power_w * (avail / total).min(1.0)
            } else {
                sample.surplus_w
            };
            b.tally.set_prices(import, export);
            b.session_grid_ws += b.tally.add(b.draw, part, dt_s);
            draws[k] = b.draw;
            socs[k] = b.car.soc();
        }
        tally.set_prices(import, export);
        tally.add(
            Draw {
                power_w: total,
                fraction: 1.0,
            },
            sample.surplus_w,
            dt_s,
        );
        let grid_w = total - sample.surplus_w;
        let (pv, load) = if report_pv_load {
            (sample.pv_w, sample.load_w)
        } else {
            (None, None)
        };
        meter.step(t, grid_w, pv, load);
        for (b, alone) in bays.iter_mut().zip(&sim.cars) {
            let s = &alone.scenario;
            let ocpp = s.charger.kind == ChargerModelKind::Ocpp;
            b.power = (t, b.draw.mean_w());
            if ocpp && t >= b.next_metered {
                b.next_metered += ms(s.charger.meter_interval).max(1);
                b.metered = Some(b.power);
            }
            b.cloud.step(t, b.car.soc(), s.car.target_soc);
            if t >= b.next_poll {
                b.next_poll += ms(s.charger.state_poll).max(1);
                b.station = StationState::poll(&b.charger, ocpp, b.power.1);
                b.actuator.observed(since(start, t), &b.station.polled());
            }
        }
        observer.physics(t, &sample, &draws, &socs, grid_w);

        if t >= next_control {
            next_control += interval_ms;
            let now = utc(t);
            if let Some(o) = outlook.update(t) {
                site.set_outlook(&o);
            }
            let obs = SiteObservation {
                meter: meter_reading(&meter),
                loadpoints: bays
                    .iter()
                    .zip(&sim.cars)
                    .map(|(b, alone)| {
                        let s = &alone.scenario;
                        LoadpointObs {
                            charger: b.station.observed(
                                s.charger.kind == ChargerModelKind::Ocpp,
                                s.charger.realtime_power,
                                b.power,
                                b.metered,
                            ),
                            vehicle: b.cloud.observation(),
                            overrides: b.overrides,
                        }
                    })
                    .collect(),
            };
            let decision = site.step(now, &obs);
            for (k, b) in bays.iter_mut().enumerate() {
                if let Some(l) = site.loadpoint(k) {
                    b.plans
                        .observe(now, b.clock.current(), l.controller().plan());
                }
            }
            for ((b, alone), d) in bays.iter_mut().zip(&sim.cars).zip(&decision.loadpoints) {
                let latency_ms = ms(alone.scenario.charger.latency);
                let charger = &mut b.charger;
                actuate(
                    &mut b.actuator,
                    since(start, t),
                    d.decision.command,
                    |req| {
                        charger.send(t, req);
                        (Outcome::Ok, since(start, t + latency_ms))
                    },
                );
            }
            observer.control(now, &decision);
        }
    }
    let cars = bays
        .into_iter()
        .zip(&sc.loadpoints)
        .map(|(mut b, lp)| {
            if let Some(k) = b.clock.current() {
                b.ends.push(SessionEnd {
                    at_ms: input.end_ms,
                    soc_pct: b.car.soc(),
                    departed: b.sessions[k].departs_in_data,
                    car_grid_wh: b.session_grid_ws / 3600.0,
                });
            }
            RunOutcome {
                policy: lp.name.clone(),
                steps,
                tally: b.tally,
                sessions: b.ends,
                writes: b.actuator.writes as u32,
                replug_resets: b.charger.replug_resets,
                meter_samples: meter.sampled,
                meter_dropped: meter.dropped,
                plans: b.plans,
            }
        })
        .collect();
    SiteOutcome {
        name: name.to_string(),
        steps,
        cars,
        site: tally,
    }
}
