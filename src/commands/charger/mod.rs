//! `sunplug charger status|set` and `sunplug smappee locations`: for people setting up and
//! troubleshooting. Each loads the config, talks to the API once and prints for a person (or JSON).
//! `status.rs` reads (status, locations), `set.rs` writes.

mod set;
mod status;

use crate::cli::{ChargerCommand, SmappeeCommand};
use crate::config::{self, ChargerLimits, Config, LimitUnit, Needs};
use crate::units::Amps;
use anyhow::anyhow;
use std::path::Path;
use std::process::ExitCode;

/// Warnings and errors on stderr, unless `RUST_LOG` says otherwise. Does nothing if the program
/// already installed a subscriber.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load(path: &Path, needs: Needs) -> anyhow::Result<Config> {
    config::load(path, needs).map_err(|p| anyhow!("{}", p.to_string().trim_end()))
}

pub async fn charger(command: ChargerCommand) -> anyhow::Result<ExitCode> {
    init_logging();
    let path = match &command {
        ChargerCommand::Status { config, .. } => &config.config,
        ChargerCommand::Set(args) => &args.config.config,
    };
    // An OCPP charge point is served locally (`commands::ocpp`); a broken file is reported below.
    let ocpp = config::load(path, Needs::default())
        .is_ok_and(|c| c.charger_kind == config::ocpp::ChargerKind::Ocpp);
    match command {
        ChargerCommand::Status { config, json } if ocpp => {
            crate::commands::ocpp::status(&config.config, json).await
        }
        ChargerCommand::Set(args) if ocpp && args.loadpoint.is_some() => Err(anyhow!(
            "--loadpoint is for Smappee connectors: `charger set` drives the first OCPP charge point \
             of [ocpp] charge_points"
        )),
        ChargerCommand::Set(args) if ocpp => crate::commands::ocpp::set(args).await,
        ChargerCommand::Status { config, json } => status::status(&config.config, json).await,
        ChargerCommand::Set(args) => set::set(args).await,
    }
}

pub async fn smappee(command: SmappeeCommand) -> anyhow::Result<ExitCode> {
    init_logging();
    match command {
        SmappeeCommand::Locations { config } => status::locations(&config.config).await,
    }
}

fn side(position: u8) -> &'static str {
    match position {
        1 => "right",
        2 => "left",
        _ => "?",
    }
}

fn range(min: Option<Amps>, max: Option<Amps>) -> String {
    let a = |v: Option<Amps>| {
        v.map(|a| format!("{:.0}", a.0))
            .unwrap_or_else(|| "?".into())
    };
    format!("{}–{} A", a(min), a(max))
}

/// What the controller can command, in words.
fn steps(limits: &ChargerLimits) -> String {
    let (base, step) = limits.resolution();
    match limits.unit {
        LimitUnit::Ampere => format!(
            "AMPERE, whole amps ({} .. {:.0} A)",
            limits.floor, limits.max.0
        ),
        LimitUnit::Percentage => format!(
            "PERCENTAGE, steps of {:.2} A from {} (0 % = {}, 100 % = {})",
            step.0, base, limits.floor, limits.station_max
        ),
    }
}
