//! A scenario with several loadpoints: prepare it, run every policy × variant, score each car and
//! the site, and report (table, `--json`).
//!
//! Owns: [`SiteSimulation`] (the data read once; each car's sessions, oracle and optimum as if it
//! were alone, through a one-car [`Simulation`] each; the site's oracle), [`plans`] (which runs),
//! [`run_all`], [`SiteFinished`] and the table and JSON. A run's [`Metrics`] is the site's (every
//! existing key, summed over the cars; export and import are the site's) with `loadpoints[]`, one
//! [`Metrics`] per car.
//!
//! The site's oracle (`oracle_solar_kwh` of the site): at each step with cars plugged in and a
//! surplus at least the smallest plugged floor, `min(surplus, Σ plugged maxima)`, summed and capped
//! by the energy all sessions need. It relaxes the per-car limits, so it bounds every sharing rule.

use super::input::Input;
use super::metrics::Metrics;
use super::scenario::Scenario;
use super::schedule::SessionClock;
use super::site_run::{SiteOutcome, run_site};
use super::{Simulation, oracle_powers};
use crate::control::policies::LoadedPolicy;
use anyhow::Context;
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;

/// A site scenario ready to run.
#[derive(Debug, Clone)]
pub struct SiteSimulation {
    pub scenario: Scenario,
    pub input: Input,
    /// Each loadpoint alone on the site, in loadpoint order: its scenario (`[car]` and `[charger]`
    /// are the loadpoint's), sessions, oracle, need and optimum.
    pub cars: Vec<Simulation>,
    pub prices: super::tariff::Prices,
    pub meter_draws: std::sync::Arc<super::meter::MeterDraws>,
    /// The site's oracle, kWh (see the module doc).
    pub oracle_kwh: f64,
}

impl SiteSimulation {
    /// `sc` must have loadpoints.
    pub fn new(sc: Scenario, input: Input) -> SiteSimulation {
        let cars: Vec<Simulation> = sc
            .loadpoints
            .iter()
            .map(|lp| {
                let mut alone = sc.clone();
                alone.car = lp.car.clone();
                alone.charger = lp.charger.clone();
                alone.loadpoints.clear();
                alone.variants.clear();
                alone.name = format!("{} ({})", sc.name, lp.name);
                Simulation::new(alone, input.clone())
            })
            .collect();
        let first = cars.first().expect("a site scenario has loadpoints");
        let (prices, meter_draws) = (first.prices.clone(), first.meter_draws.clone());
        let oracle_kwh = site_oracle_kwh(&input, sc.step_ms, &cars);
        SiteSimulation {
            scenario: sc,
            input,
            cars,
            prices,
            meter_draws,
            oracle_kwh,
        }
    }

    pub fn steps(&self) -> u64 {
        self.input.steps(self.scenario.step_ms)
    }

    /// Score a run: each car alone, and the site.
    pub fn metrics(&self, out: &SiteOutcome) -> Metrics {
        let cars: Vec<Metrics> = self
            .cars
            .iter()
            .zip(&out.cars)
            .map(|(alone, o)| {
                // Export and import are the site's, not a car's: none per car (null in JSON).
                let mut m = alone.metrics(o);
                m.export_kwh = f64::NAN;
                m.import_kwh = f64::NAN;
                m
            })
            .collect();
        let refs: Vec<&Metrics> = cars.iter().collect();
        let mut site = Metrics::sum(&refs);
        let site_tally = Metrics::new(&out.name, &out.site, self.oracle_kwh, 0, 0.0, false);
        site.policy = out.name.clone();
        site.export_kwh = site_tally.export_kwh;
        site.import_kwh = site_tally.import_kwh;
        site.oracle_solar_kwh = self.oracle_kwh;
        site.oracle_capture = if self.oracle_kwh > 0.0 {
            site.car_solar_kwh / self.oracle_kwh
        } else {
            1.0
        };
        site.loadpoints = cars;
        site
    }
}

/// See the module doc.
fn site_oracle_kwh(input: &Input, step_ms: i64, cars: &[Simulation]) -> f64 {
    let dt_s = step_ms as f64 / 1000.0;
    let powers: Vec<(f64, f64)> = cars.iter().map(|c| oracle_powers(&c.scenario)).collect();
    let need_wh: f64 = cars
        .iter()
        .map(|c| c.need_wh * c.sessions.len() as f64)
        .sum();
    let mut clocks = vec![SessionClock::default(); cars.len()];
    let mut sampler = input.sampler();
    let mut free_ws = 0.0;
    for i in 0..input.steps(step_ms) {
        let t = input.start_ms + i as i64 * step_ms;
        let s = sampler.at(t);
        let (mut floor, mut max) = (f64::INFINITY, 0.0);
        for ((clock, c), (f, m)) in clocks.iter_mut().zip(cars).zip(&powers) {
            clock.advance(&c.sessions, t, |_| {});
            if clock.current().is_some() {
                floor = floor.min(*f);
                max += m;
            }
        }
        let avail = s.surplus_w.max(0.0);
        if max > 0.0 && avail >= floor {
            free_ws += avail.min(max) * dt_s;
        }
    }
    (free_ws / 3600.0).min(need_wh) / 1000.0
}

/// One run to make: its name, each loadpoint's priority and policy file.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub priorities: Vec<i32>,
    pub policies: Vec<PathBuf>,
}

/// Every policy of the scenario × every variant (or the loadpoints' own priorities). A loadpoint
/// with its own `policy` keeps it in every run. `names` are the policies' names, for the runs'.
pub fn plans(sc: &Scenario, names: &[String]) -> Vec<Plan> {
    let own: Vec<i32> = sc.loadpoints.iter().map(|l| l.priority).collect();
    let variants: Vec<(Option<&str>, Vec<i32>)> = if sc.variants.is_empty() {
        vec![(None, own)]
    } else {
        sc.variants
            .iter()
            .map(|v| (Some(v.name.as_str()), v.priorities.clone()))
            .collect()
    };
    let mut out = Vec::new();
    for (path, pname) in sc.policies.iter().zip(names) {
        for (vname, priorities) in &variants {
            let name = match vname {
                None => pname.clone(),
                Some(v) if sc.policies.len() == 1 => (*v).to_string(),
                Some(v) => format!("{pname}: {v}"),
            };
            out.push(Plan {
                name,
                priorities: priorities.clone(),
                policies: sc
                    .loadpoints
                    .iter()
                    .map(|l| l.policy.clone().unwrap_or_else(|| path.clone()))
                    .collect(),
            });
        }
    }
    out
}

/// One run's results.
pub struct SiteFinished {
    pub outcome: SiteOutcome,
    pub metrics: Metrics,
    pub trace: Option<super::site_trace::SiteTrace>,
}

fn load(paths: &[PathBuf], vehicle_api: bool) -> anyhow::Result<Vec<LoadedPolicy>> {
    super::load_policies(paths, vehicle_api)
}

/// Run every plan, on as many threads as there are cores, keeping the order.
pub fn run_all(
    sim: &SiteSimulation,
    plans: &[Plan],
    traced: bool,
) -> anyhow::Result<Vec<SiteFinished>> {
    // Every file is read and checked before any run starts.
    let mut loaded = Vec::with_capacity(plans.len());
    for p in plans {
        loaded.push(load(&p.policies, sim.scenario.vehicle_api.enabled)?);
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(plans.len())
        .max(1);
    let mut lanes: Vec<Vec<(usize, &Plan, Vec<LoadedPolicy>)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, (plan, pols)) in plans.iter().zip(loaded).enumerate() {
        lanes[i % threads].push((i, plan, pols));
    }
    let mut done: Vec<(usize, SiteFinished)> = std::thread::scope(|s| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                s.spawn(move || {
                    lane.into_iter()
                        .map(|(i, plan, pols)| {
                            let (outcome, trace) = if traced {
                                let mut t = super::site_trace::SiteTrace::new(sim);
                                let o = run_site(sim, &plan.name, &plan.priorities, pols, &mut t);
                                (o, Some(t))
                            } else {
                                (
                                    run_site(sim, &plan.name, &plan.priorities, pols, &mut ()),
                                    None,
                                )
                            };
                            let metrics = sim.metrics(&outcome);
                            (
                                i,
                                SiteFinished {
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
    Ok(done.into_iter().map(|(_, f)| f).collect())
}

/// `{"scenario", "steps", "wall_ms", "runs": [...]}`, each run with its `loadpoints[]`.
pub fn json(sim: &SiteSimulation, finished: &[SiteFinished], wall_ms: u64) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        scenario: &'a str,
        steps: u64,
        wall_ms: u64,
        runs: Vec<&'a Metrics>,
    }
    let r = Report {
        scenario: &sim.scenario.name,
        steps: sim.steps(),
        wall_ms,
        runs: finished.iter().map(|f| &f.metrics).collect(),
    };
    serde_json::to_string_pretty(&r).expect("plain data serializes")
}

/// What the site is, in a few lines.
pub fn summary(sim: &SiteSimulation) -> Vec<String> {
    let sc = &sim.scenario;
    let mut out = super::report::summary(&sim.cars[0]);
    // The one-car summary's car and oracle lines are replaced by one line per loadpoint.
    out.retain(|l| !l.starts_with("Car:") && !l.starts_with("Oracle:"));
    if let Some(first) = out.first_mut() {
        *first = format!(
            "Scenario {}{}",
            sc.name,
            if sc.description.is_empty() {
                String::new()
            } else {
                format!(": {}", sc.description)
            }
        );
    }
    for lp in &sc.loadpoints {
        let car = &lp.car;
        let plug = match (car.plug_in, car.departure) {
            (Some(p), Some(d)) => format!("plugged in {p}–{d} local"),
            _ => "plugged in throughout".into(),
        };
        let wire = if car.phases == crate::units::Phases::One {
            format!("1p on {}", lp.phase)
        } else {
            car.phases.to_string()
        };
        out.push(format!(
            "Loadpoint {} (priority {}): {:.0} kWh, {:.0} % → {:.0} %, {plug}; {wire} up to {:.0} A",
            lp.name, lp.priority, car.capacity_kwh, car.start_soc, car.target_soc, car.max_current.0
        ));
    }
    out.push(format!(
        "Main fuse: {}; site oracle: {:.2} kWh of solar the cars could take without importing",
        sc.main_fuse
            .map_or("none".to_string(), |f| format!("{:.0} A per phase", f.0)),
        sim.oracle_kwh
    ));
    out
}

/// The readable report: per run, the site and each car side by side.
pub fn table(sim: &SiteSimulation, finished: &[SiteFinished], wall_ms: u64) -> String {
    let mut s = String::new();
    for line in summary(sim) {
        let _ = writeln!(s, "{line}");
    }
    let label_w = 20;
    for f in finished {
        let _ = writeln!(s, "\n{}", f.metrics.policy);
        let mut cols: Vec<&Metrics> = vec![&f.metrics];
        cols.extend(f.metrics.loadpoints.iter());
        let heads: Vec<String> = std::iter::once("site".to_string())
            .chain(f.metrics.loadpoints.iter().map(|m| m.policy.clone()))
            .collect();
        let widths: Vec<usize> = heads.iter().map(|h| h.len().max(9)).collect();
        let _ = write!(s, "{:label_w$}", "");
        for (h, w) in heads.iter().zip(&widths) {
            let _ = write!(s, "  {h:>w$}");
        }
        let _ = writeln!(s);
        for (label, cells) in super::report::rows(&cols) {
            let cells: Vec<String> = cells.into_iter().map(not_a_number).collect();
            let _ = write!(s, "{label:label_w$}");
            for (c, w) in cells.iter().zip(&widths) {
                let _ = write!(s, "  {c:>w$}");
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(
        s,
        "\n{} runs × {} loadpoints × {} steps in {wall_ms} ms",
        finished.len(),
        sim.cars.len(),
        sim.steps()
    );
    s
}

/// A figure that does not apply (a car's share of the site's export) reads "–".
pub fn not_a_number(cell: String) -> String {
    if cell == "NaN" { "–".into() } else { cell }
}

/// `sunplug simulate` on a scenario with `[[loadpoint]]`: run, print, and with `out` write the
/// report.
pub fn simulate(
    sc: Scenario,
    json_out: bool,
    out: Option<&std::path::Path>,
    prov: &super::page::Provenance,
) -> anyhow::Result<()> {
    let input = Input::load(&sc.data)?;
    let names: Vec<String> = super::load_policies(&sc.policies, sc.vehicle_api.enabled)?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let started = std::time::Instant::now();
    let plans = plans(&sc, &names);
    let sim = SiteSimulation::new(sc, input);
    let finished = run_all(&sim, &plans, out.is_some())?;
    let wall_ms = started.elapsed().as_millis() as u64;
    if json_out {
        println!("{}", json(&sim, &finished, wall_ms));
    } else {
        print!("{}", table(&sim, &finished, wall_ms));
    }
    if let Some(dir) = out {
        let n = super::site_trace::write_out(dir, &sim, &finished, wall_ms, prov)
            .with_context(|| format!("cannot write the report into {}", dir.display()))?;
        let msg = format!("wrote {} ({n} files)", dir.join("report.html").display());
        if json_out {
            eprintln!("{msg}")
        } else {
            println!("{msg}")
        }
    }
    Ok(())
}
