//! The work behind each CLI command that is not a long-running service: check-config, policies,
//! probes, charger and account helpers. Each prints for a person (or JSON with `--json`).

use crate::cli::{Command, ProbeCommand};
use crate::config::{self, Needs};
use crate::control::policies::MODULES;
use std::path::Path;
use std::process::ExitCode;

/// `sunplug check-config FILE`: every problem, or a summary of what the file sets up.
pub fn check_config(file: &Path) -> ExitCode {
    match config::load(file, Needs::RUN) {
        Ok(cfg) => {
            println!("{}: OK", file.display());
            for line in summary(&cfg) {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{problems}");
            ExitCode::FAILURE
        }
    }
}

/// What a valid config sets up, in a few lines.
pub fn summary(cfg: &config::Config) -> Vec<String> {
    let mut out = vec![format!(
        "site \"{}\", {}, {} at {}{}",
        cfg.site_name,
        cfg.tz,
        cfg.supply.phases,
        cfg.supply.voltage,
        cfg.main_fuse
            .map(|f| format!(", main fuse {f}"))
            .unwrap_or_default()
    )];
    if let Some(p) = &cfg.policy {
        out.push(format!(
            "policy \"{}\" (module {}), target {} %",
            p.name, p.module, p.common.target_soc
        ));
    }
    if let Some(c) = &cfg.charger {
        let (_, step) = c.resolution();
        out.push(format!(
            "charger: {} .. {} in {:?} (steps of {})",
            c.floor, c.max, c.unit, step
        ));
    }
    if let Some(s) = &cfg.surplus {
        out.push(format!(
            "surplus: {:?}{}, stale after {}",
            s.kind,
            s.preset
                .as_ref()
                .map(|p| format!(" via preset {p}"))
                .unwrap_or_default(),
            s.max_age
        ));
    }
    out.push(format!("vehicle: {:?}", cfg.vehicle.kind));
    out.push(format!("state directory: {}", cfg.state_dir.display()));
    out
}

/// `sunplug policies`.
pub fn list_policies() -> anyhow::Result<ExitCode> {
    println!("Built-in policy modules (set `module = \"...\"` in a policy file):");
    for m in MODULES {
        let soc = if m.needs_soc {
            " [needs the car's SoC]"
        } else {
            ""
        };
        println!("  {:<20} {}{soc}", m.name, m.summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands whose work lives in other modules. The async ones get a runtime here.
pub fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    match command {
        Command::Simulate(args) => crate::sim::simulate(args),
        Command::Tune { file, jobs, output } => {
            print!(
                "{}",
                crate::sim::tune::tune(&file, jobs, output.as_deref())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => rt()?.block_on(crate::daemon::run_cli(args)),
        Command::Demo(args) => rt()?.block_on(crate::daemon::demo(args)),
        Command::Probe(ProbeCommand::Surplus {
            config,
            json,
            timeout,
        }) => rt()?.block_on(crate::sources::surplus::probe(
            &config.config,
            json,
            timeout.get(),
        )),
        Command::Probe(ProbeCommand::Vehicle { config, json }) => {
            rt()?.block_on(crate::sources::vehicle::probe(&config.config, json))
        }
        Command::Charger(c) => rt()?.block_on(crate::chargers::smappee::charger_cli(c)),
        Command::Smappee(c) => rt()?.block_on(crate::chargers::smappee::smappee_cli(c)),
        Command::Enode(c) => rt()?.block_on(crate::sources::vehicle::enode_cli(c)),
        Command::CheckConfig { file } => Ok(check_config(&file)),
        Command::Policies => list_policies(),
    }
}
