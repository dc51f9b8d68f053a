//! The replay simulator: real PV and house-load days through the daemon's own controller.
//!
//! `sunplug simulate simulations/<day>.toml` reads a scenario ([`scenario`]: data, site, car, charger,
//! meter, vehicle API, policies), replays the data ([`input`], [`data`]) through models of the meter
//! ([`meter`]), the Smappee charger ([`charger`]) with the daemon's actuator (`control::actuate`) in front of it, the car
//! ([`car`]) and its cloud ([`vehicle_api`]), stepping **`crate::control::Controller`** exactly as the
//! daemon does ([`run`]), and scores each policy ([`metrics`]) against the perfect-foresight
//! [`oracle`]. Output: a table or JSON ([`report`]), and with `--out` CSV traces ([`trace`]), SVG plots
//! ([`plot`] over [`series`], drawn with [`svg`]; the departure plan of a policy that plans by
//! [`plan_plot`] from [`plans`]) and `report.html` ([`html`] in the frame of [`page`]).
//!
//! Entry points: [`simulate`] for the CLI; [`Simulation`] for tests, benchmarks and the demo.

pub mod car;
pub mod charger;
pub mod data;
pub mod days;
pub mod days_html;
pub mod forecast;
pub mod html;
pub mod input;
pub mod loadpoints;
pub mod meter;
pub mod metrics;
pub mod optimum;
pub mod oracle;
pub mod page;
pub mod plan_plot;
pub mod plans;
pub mod plot;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod series;
pub mod site;
pub mod site_run;
#[cfg(test)]
mod site_tests;
pub mod site_trace;
pub mod spec;
pub mod svg;
pub mod tariff;
pub mod trace;
pub mod tune;
pub mod tune_html;
pub mod vehicle_api;

pub use input::Input;
pub use metrics::Metrics;
pub use oracle::Oracle;
pub use run::{Observer, RunOutcome};
pub use scenario::Scenario;

use crate::control::policies::LoadedPolicy;
use anyhow::{Context, bail};
use schedule::Session;
use std::path::{Path, PathBuf};

/// Meter samples whose random draws a [`Simulation`] makes once for all its runs.
const MAX_DRAWN_AHEAD: usize = 7 * 86_400;

/// A scenario with its data read, its sessions laid out and its oracle computed: ready to run policies.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub scenario: Scenario,
    pub input: Input,
    pub sessions: Vec<Session>,
    pub oracle: Oracle,
    /// The tariff over the span (`[tariff]` or its default).
    pub prices: tariff::Prices,
    /// Grid-side energy the car needs per session, Wh.
    pub need_wh: f64,
    /// The perfect-foresight optimum's savings, € ([`optimum`]).
    pub optimum_eur: f64,
    /// The meter's noise and dropouts, drawn once for every run (at most one sample per step, up to
    /// a week of them).
    pub meter_draws: std::sync::Arc<meter::MeterDraws>,
}

impl Simulation {
    pub fn new(scenario: Scenario, input: Input) -> Simulation {
        let sessions = schedule::sessions(&scenario.car, scenario.tz, input.start_ms, input.end_ms);
        let (floor_w, max_w) = oracle_powers(&scenario);
        let car = &scenario.car;
        let room_wh = (car.target_soc - car.start_soc).max(0.0) / 100.0 * car.capacity_kwh * 1000.0
            / car.efficiency;
        let oracle = Oracle::prepare(&input, &sessions, scenario.step_ms, floor_w, max_w, room_wh);
        let prices =
            tariff::Prices::new(&scenario.tariff, scenario.tz, input.start_ms, input.end_ms);
        let days = optimum_days(&input, &sessions, scenario.step_ms, &prices, room_wh);
        let limits = optimum::Limits {
            floor_w,
            max_w,
            dt_s: scenario.step_ms as f64 / 1000.0,
        };
        let optimum_eur = optimum::optimum_savings(&days, limits, &prices);
        // At most a week of 1-s samples (10 MB) is drawn ahead; a longer span's runs draw the rest.
        let samples = (input.steps(scenario.step_ms) as usize).min(MAX_DRAWN_AHEAD);
        let meter_draws = std::sync::Arc::new(meter::MeterDraws::new(&scenario.meter, samples));
        Simulation {
            meter_draws,
            scenario,
            input,
            sessions,
            oracle,
            prices,
            need_wh: room_wh,
            optimum_eur,
        }
    }

    /// The most a policy that keeps `share` of the car's energy from the sun in every session could
    /// save under a flat tariff, €: a run's savings are then exactly (import − feed-in price) × its
    /// car solar less its starts' cost, and its solar is at most [`optimum::share_bound_solar_wh`].
    /// `None` when the import price varies over the span.
    pub fn share_bound_savings(&self, share: f64) -> Option<f64> {
        let p = &self.prices;
        let import = *p.import.first()?;
        if p.import.iter().any(|x| (x - import).abs() > 1e-12) {
            return None;
        }
        let (floor_w, max_w) = oracle_powers(&self.scenario);
        let limits = optimum::Limits {
            floor_w,
            max_w,
            dt_s: self.scenario.step_ms as f64 / 1000.0,
        };
        let days = optimum_days(
            &self.input,
            &self.sessions,
            self.scenario.step_ms,
            p,
            self.need_wh,
        );
        let kwh: f64 = days
            .iter()
            .map(|d| optimum::share_bound_solar_wh(d, limits, share) / 1000.0)
            .sum();
        Some(kwh * (import - p.export))
    }

    /// Physics steps per run.
    pub fn steps(&self) -> u64 {
        self.input.steps(self.scenario.step_ms)
    }

    /// Run one policy.
    pub fn run(&self, policy: LoadedPolicy, observer: &mut impl Observer) -> RunOutcome {
        run::run(
            &self.scenario,
            &self.input,
            &self.sessions,
            &self.prices,
            &self.meter_draws,
            policy,
            observer,
        )
    }

    /// The upper bound on a run's car solar: the oracle plus the best use of the grid energy the run
    /// imported for the car (see [`Oracle::session_wh`]). Every policy stays below it.
    pub fn bound_kwh(&self, out: &RunOutcome) -> f64 {
        let imports: Vec<f64> = out.sessions.iter().map(|s| s.car_grid_wh).collect();
        self.oracle.total_kwh(&imports)
    }

    /// Score a run.
    pub fn metrics(&self, out: &RunOutcome) -> Metrics {
        let target = self.scenario.car.target_soc;
        let final_soc = out
            .sessions
            .last()
            .map_or(self.scenario.car.start_soc, |s| s.soc_pct);
        let met =
            !out.sessions.is_empty() && out.sessions.iter().all(|s| s.soc_pct >= target - 1e-6);
        let car = &self.scenario.car;
        let missing_wh: f64 = out
            .sessions
            .iter()
            .map(|s| {
                (car.target_soc - s.soc_pct).max(0.0) / 100.0 * car.capacity_kwh * 1000.0
                    / car.efficiency
            })
            .sum();
        let money = tariff::Money::new(
            &self.prices,
            out.tally.grid_eur,
            out.tally.solar_eur,
            out.tally.starts,
            self.need_wh * out.sessions.len() as f64,
            missing_wh,
        );
        Metrics::new(
            &out.policy,
            &out.tally,
            self.oracle.no_import_kwh(),
            out.writes,
            final_soc,
            met,
        )
        .with_money(money, self.optimum_eur)
        .with_plan(&out.plans, self.scenario.tz)
    }
}

/// Each session's physics steps for the optimum: the solar the car could take and the import price.
fn optimum_days(
    input: &Input,
    sessions: &[Session],
    step_ms: i64,
    prices: &tariff::Prices,
    need_wh: f64,
) -> Vec<optimum::SessionDay> {
    let mut sampler = input.sampler();
    let mut out: Vec<optimum::SessionDay> = sessions
        .iter()
        .map(|_| optimum::SessionDay {
            steps: Vec::new(),
            need_wh,
        })
        .collect();
    let mut clock = schedule::SessionClock::default();
    for i in 0..input.steps(step_ms) {
        let t = input.start_ms + i as i64 * step_ms;
        let s = sampler.at(t);
        clock.advance(sessions, t, |_| {});
        if let Some(k) = clock.current() {
            out[k]
                .steps
                .push((s.surplus_w.max(0.0), prices.import_at(t)));
        }
    }
    out
}

/// The least and most the car draws while charging (W): the oracle's `P_floor` and `P_max`.
pub fn oracle_powers(sc: &Scenario) -> (f64, f64) {
    use crate::units::Amps;
    let w_per_a = sc.car_watts_per_amp();
    let ch = &sc.charger;
    let floor_a = ch
        .delivered(Amps(ch.min_current_a))
        .0
        .min(6.0_f64.min(sc.car.max_current.0));
    let max_a = ch
        .delivered(Amps(ch.max_current_a))
        .0
        .min(sc.car.max_current.0);
    (floor_a * w_per_a, max_a * w_per_a)
}

/// Load every policy file, reporting all problems together. Policies that need the car's SoC are
/// refused when the scenario has no vehicle API, as `check-config` refuses them with `kind = "none"`.
pub fn load_policies(paths: &[PathBuf], vehicle_api: bool) -> anyhow::Result<Vec<LoadedPolicy>> {
    let mut out = Vec::new();
    let mut problems = crate::config::Problems::default();
    for p in paths {
        match crate::config::load_policy(p) {
            Ok(pol) if pol.needs_soc && !vehicle_api => problems.push(crate::config::Problem {
                file: p.clone(),
                key: "module".into(),
                line: None,
                message: format!(
                    "policy module \"{}\" needs the car's SoC, but the scenario has [vehicle_api] enabled = false",
                    pol.module
                ),
            }),
            Ok(pol) => out.push(pol),
            Err(e) => problems.extend(e),
        }
    }
    if !problems.is_empty() {
        bail!("{problems}");
    }
    Ok(out)
}

/// One policy's results.
pub struct Finished {
    pub outcome: RunOutcome,
    pub metrics: Metrics,
    pub trace: Option<trace::Trace>,
}

/// Run every policy, on as many threads as there are cores, keeping the input order.
pub fn run_all(sim: &Simulation, policies: Vec<LoadedPolicy>, traced: bool) -> Vec<Finished> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(policies.len())
        .max(1);
    let mut lanes: Vec<Vec<(usize, LoadedPolicy)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, p) in policies.into_iter().enumerate() {
        lanes[i % threads].push((i, p));
    }
    let mut done: Vec<(usize, Finished)> = std::thread::scope(|s| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                s.spawn(move || {
                    lane.into_iter()
                        .map(|(i, p)| {
                            let (outcome, trace) = if traced {
                                let span = sim.input.end_ms - sim.input.start_ms;
                                let interval = spec::ms(sim.scenario.control.interval);
                                let every = trace::row_interval_ms(span, interval);
                                let mut t = trace::Trace::every(sim.scenario.tz, every);
                                (sim.run(p, &mut t), Some(t))
                            } else {
                                (sim.run(p, &mut ()), None)
                            };
                            let metrics = sim.metrics(&outcome);
                            (
                                i,
                                Finished {
                                    outcome,
                                    metrics,
                                    trace,
                                },
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, f)| f).collect()
}

/// All cores, unless told otherwise.
pub fn default_jobs(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Write the traces, plots and report.html into `dir`. Returns the number of files written.
pub fn write_out(
    dir: &Path,
    sim: &Simulation,
    finished: &[Finished],
    wall_ms: u64,
    prov: &page::Provenance,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let window = finished
        .iter()
        .find_map(|f| f.trace.as_ref())
        .map(|t| series::window(sim, t));
    let mut all = Vec::new();
    let mut files = Vec::new();
    let mut n = 0;
    for (i, f) in finished.iter().enumerate() {
        let (Some(t), Some(window)) = (&f.trace, window) else {
            continue;
        };
        let stem = file_stem(&f.metrics.policy);
        let csv = dir.join(format!("{stem}.csv"));
        t.write_csv(&csv)
            .with_context(|| format!("cannot write {}", csv.display()))?;
        let mut s = series::Series::from_trace(t, window);
        s.plan = f.outcome.plans.overlay(&sim.prices, window);
        let svg_path = dir.join(format!("{stem}.svg"));
        let svg = plot::svg(
            &s,
            i,
            &sim.scenario.name,
            &f.metrics,
            sim.scenario.car.target_soc,
        );
        std::fs::write(&svg_path, &svg)
            .with_context(|| format!("cannot write {}", svg_path.display()))?;
        files.push(format!("{stem}.csv"));
        all.push(s);
        n += 2;
    }
    let html = html::report(sim, finished, &all, prov, &files, wall_ms);
    let path = dir.join("report.html");
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(n + 1)
}

/// A policy name as a safe file name.
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
