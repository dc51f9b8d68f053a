//! The work behind each CLI command, one file per command group: `config` (check-config, policies),
//! `run`, `simulate`, `plan`, `tune`, `demo`, `charger` (charger and smappee), `ocpp`, `enode`. The probes live with their
//! sources. Each prints for a person (or JSON with `--json`). The only place, with `cli.rs` and
//! `main.rs`, that knows clap's types: the modules below take plain values.

pub mod charger;
pub mod config;
#[cfg(feature = "emulators")]
pub mod demo;
pub mod enode;
pub mod ocpp;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod tune;

use crate::cli::{Cli, Command, ProbeCommand};
use std::process::ExitCode;

/// Run a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::CheckConfig { file, credentials } => {
            if let Some(dir) = credentials {
                crate::config::values::use_credentials_dir(dir);
            }
            return config::check_config(&file);
        }
        Command::Policies => config::list_policies(),
        other => dispatch(other),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sunplug: {e:#}");
            ExitCode::FAILURE
        }
    }
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
        Command::Simulate(args) => simulate::simulate(args),
        Command::Plan {
            config,
            soc,
            at,
            json,
            mqtt_wait,
        } => rt()?.block_on(plan::plan(&config.config, soc, at, json, mqtt_wait)),
        Command::Tune { file, jobs, output } => tune::tune(&file, jobs, output.as_deref()),
        Command::Run(args) => rt()?.block_on(run::run(args)),
        #[cfg(feature = "emulators")]
        Command::Demo(args) => rt()?.block_on(demo::run(args)),
        #[cfg(not(feature = "emulators"))]
        Command::Demo(_) => anyhow::bail!(
            "this sunplug was built without the `emulators` feature, which `demo` needs: \
             build it with default features"
        ),
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
        Command::Charger(c) => rt()?.block_on(charger::charger(c)),
        Command::Smappee(c) => rt()?.block_on(charger::smappee(c)),
        Command::Enode(c) => rt()?.block_on(enode::run(c)),
        Command::Ocpp(crate::cli::OcppCommand::Listen { config, duration }) => {
            crate::commands::charger::init_logging();
            rt()?.block_on(ocpp::listen(&config.config, duration.map(|d| d.get())))
        }
        Command::CheckConfig { file, .. } => Ok(config::check_config(&file)),
        Command::Policies => config::list_policies(),
    }
}
