//! `sunplug simulate`: load a scenario, apply the command line's replacements, run every policy and
//! print the table (or JSON), optionally writing the HTML report.

use crate::cli::SimulateArgs;
use crate::sim::{Input, Scenario, Simulation, days, days_html, load_policies, run_all, write_out};
use anyhow::bail;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// `sunplug simulate`.
pub fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut sc = crate::sim::scenario::load(&args.scenario).map_err(|p| anyhow::anyhow!("{p}"))?;
    apply_args(&mut sc, &args)?;
    // `--days DIR` over the scenario's `[data] days` (apply_args cleared the key when the command
    // line gave single-day data instead).
    if !sc.loadpoints.is_empty() {
        // Several loadpoints: one span of data, every policy × sharing variant.
        if args.days.is_some() || sc.data.days.is_some() {
            bail!(
                "a scenario with [[loadpoint]] replays one span of data (pv and load, or net), not a corpus of days"
            );
        }
        let prov = crate::sim::page::Provenance::from_args(&args.scenario);
        crate::sim::site::simulate(sc, args.json, args.out.as_deref(), &prov)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = args.days.clone().or(sc.data.days.clone()) {
        return simulate_days(&sc, &dir, &args);
    }
    let input = Input::load(&sc.data)?;
    let policies = load_policies(&sc.policies, sc.vehicle_api.enabled)?;
    let started = Instant::now();
    let sim = Simulation::new(sc, input);
    let finished = run_all(&sim, policies, args.out.is_some());
    let wall_ms = started.elapsed().as_millis() as u64;

    if args.json {
        println!("{}", crate::sim::report::json(&sim, &finished, wall_ms));
    } else {
        print!("{}", crate::sim::report::table(&sim, &finished, wall_ms));
    }
    if let Some(dir) = &args.out {
        let prov = crate::sim::page::Provenance::from_args(&args.scenario);
        let written = write_out(dir, &sim, &finished, wall_ms, &prov)?;
        let msg = format!(
            "wrote {} ({} files)",
            dir.join("report.html").display(),
            written
        );
        if args.json {
            eprintln!("{msg}")
        } else {
            println!("{msg}")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sunplug simulate SCENARIO --days DIR`: every day of a corpus, per day and summed.
/// With `--out`, the runs keep their plotted series and the report is written beside the output.
fn simulate_days(sc: &Scenario, dir: &Path, args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let jobs = crate::sim::default_jobs(args.jobs);
    let list = days::list(dir)?;
    load_policies(&sc.policies, sc.vehicle_api.enabled)?;
    let started = Instant::now();
    let sims = days::prepare(sc, &list, jobs)?;
    let traced = match &args.out {
        Some(_) => Some(days_html::run_traced(&sims, &list, &sc.policies, jobs)?),
        None => None,
    };
    let results = match &traced {
        Some(t) => t.results.clone(),
        None => days::run_days(&sims, &list, &sc.policies, jobs)?,
    };
    let wall_ms = started.elapsed().as_millis() as u64;
    let steps = sims.iter().map(Simulation::steps).sum();
    if args.json {
        println!("{}", days::json(sc, steps, &results, wall_ms));
    } else {
        print!("{}", days::table(sc, &results, steps, wall_ms));
    }
    if let (Some(out), Some(traced)) = (&args.out, &traced) {
        let prov = crate::sim::page::Provenance::from_args(&args.scenario);
        let n = days_html::write(out, &sims, traced, dir, &prov, wall_ms)?;
        let msg = format!("wrote {} ({n} files)", out.join("report.html").display());
        if args.json {
            eprintln!("{msg}")
        } else {
            println!("{msg}")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Apply the command line's replacements to a scenario: data files and the policy list.
pub fn apply_args(sc: &mut Scenario, args: &SimulateArgs) -> anyhow::Result<()> {
    if args.net.is_some() || args.pv.is_some() || args.load.is_some() {
        // One day's data on the command line replaces the scenario's corpus.
        if sc.data.days.take().is_some()
            && (args.net.is_none() && (args.pv.is_none() || args.load.is_none()))
        {
            bail!(
                "the scenario replays a corpus ([data] days): give both --pv and --load (or --net) to replace it"
            );
        }
    }
    if let Some(net) = &args.net {
        sc.data.net = Some(net.clone());
        sc.data.pv = None;
        sc.data.load = None;
    }
    if args.pv.is_some() || args.load.is_some() {
        if sc.data.net.is_some() && (args.pv.is_none() || args.load.is_none()) {
            bail!(
                "the scenario replays a net series: give both --pv and --load (or --net) to replace it"
            );
        }
        sc.data.net = None;
        if let Some(p) = &args.pv {
            sc.data.pv = Some(p.clone());
        }
        if let Some(l) = &args.load {
            sc.data.load = Some(l.clone());
        }
    }
    if !args.policies.is_empty() {
        sc.policies = args.policies.clone();
    }
    Ok(())
}
