//! The command line: what was typed (clap structs).
//!
//! Owns: [`Cli`] and the argument types. The dispatch and each command's work live in
//! `crate::commands`; this file only parses. Exit codes: 0 success, 1 failure (bad config, unreachable device, timeout),
//! 2 usage error (from clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Solar-aware EV charging for Smappee chargers.
///
/// sunplug reads the solar surplus from your meter over MQTT, the car's state of charge from Enode,
/// Cariad or MQTT, and sets the Smappee charger's current so the car charges from the sun, following a
/// policy file. `sunplug simulate` replays real days through the same controller to compare policies.
#[derive(Debug, Parser)]
#[command(
    name = "sunplug",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the service's config lives unless `--config` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/sunplug/sunplug.toml";

#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(long, short, env = "SUNPLUG_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller as a service (systemd Type=notify).
    Run(RunArgs),
    /// Replay a day (or more) of PV and house load through policies and compare them.
    Simulate(SimulateArgs),
    /// Tune a policy's knobs over a corpus of days (see simulations/tune-*.toml).
    Tune {
        /// The tune file: scenario, corpus, start policy, knobs, objective, split.
        file: PathBuf,
        /// Threads (default: all cores); the results do not depend on it.
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Write the chosen policy here instead of the tune file's `output` (and beside it, with
        /// `.html`, a page charting every variant and the Pareto front).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Check a config file and the policy file it names; print every problem.
    CheckConfig {
        /// The config file to check.
        file: PathBuf,
        /// Read secrets from this directory, named as the unit's `LoadCredential=` names them
        /// (`smappee-password`...), as the service finds them in `$CREDENTIALS_DIRECTORY`.
        #[arg(long, value_name = "DIR")]
        credentials: Option<PathBuf>,
    },
    /// Read one value from a source and print it: use it first when setting up.
    #[command(subcommand)]
    Probe(ProbeCommand),
    /// Read or set the charger (troubleshooting).
    #[command(subcommand)]
    Charger(ChargerCommand),
    /// Smappee account helpers.
    #[command(subcommand)]
    Smappee(SmappeeCommand),
    /// Enode helpers: link a car, list vehicles.
    #[command(subcommand)]
    Enode(EnodeCommand),
    /// The OCPP central system: see charge points connect.
    #[command(subcommand)]
    Ocpp(OcppCommand),
    /// Print the departure plan the configured policy would follow now, by slot.
    Plan {
        #[command(flatten)]
        config: ConfigArg,
        /// The car's state of charge now, %.
        #[arg(long, default_value_t = 20.0)]
        soc: f64,
        /// Plan as if it were this time (RFC 3339), instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<chrono::DateTime<chrono::Utc>>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How long to wait for a price list or forecast on MQTT (a retained one comes at once).
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
        mqtt_wait: std::time::Duration,
    },
    /// List the built-in policy modules.
    Policies,
    /// Run the real service against built-in emulators and a replayed day, at accelerated time.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Decide and log, but send nothing to the charger.
    #[arg(long)]
    pub dry_run: bool,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long)]
    pub log_json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario file (see simulations/).
    pub scenario: PathBuf,
    /// Replace the scenario's PV data (CSV `time,pv_w`).
    #[arg(long, value_name = "CSV")]
    pub pv: Option<PathBuf>,
    /// Replace the scenario's house-load data (CSV `time,load_w`).
    #[arg(long, value_name = "CSV")]
    pub load: Option<PathBuf>,
    /// Replace both with one net series (CSV `time,net_w` = load − PV, without the car).
    #[arg(long, value_name = "CSV", conflicts_with_all = ["pv", "load"])]
    pub net: Option<PathBuf>,
    /// Replace the scenario's policy list (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    pub policies: Vec<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Write per-policy CSV traces, SVG plots and report.html here (with --days: report.html, a
    /// summary of the days, and one page of charts per day).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replay every day of a corpus directory (pv/*.csv and load/*.csv paired by date) instead of
    /// the scenario's data: per-day and summed figures.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["pv", "load", "net"])]
    pub days: Option<PathBuf>,
    /// Threads for a multi-day run (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Connect to the broker, wait for the first fresh surplus reading and print it.
    Surplus {
        #[command(flatten)]
        config: ConfigArg,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Give up after this long.
        #[arg(long, default_value = "30s")]
        timeout: crate::config::values::HumanDuration,
    },
    /// Fetch the vehicle's state once and print it.
    Vehicle {
        #[command(flatten)]
        config: ConfigArg,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChargerCommand {
    /// Show the charger's mode, limit, plug and charging state.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Set the charger's mode or limit once.
    Set(ChargerSetArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true)))]
pub struct ChargerSetArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Charge at this many amps (whole amps in ampere mode; converted in percentage mode).
    #[arg(long, group = "what")]
    pub amps: Option<f64>,
    /// Charge at this percentage (0 % = 6 A floor, 100 % = max).
    #[arg(long, group = "what")]
    pub percent: Option<u8>,
    /// Pause charging.
    #[arg(long, group = "what")]
    pub pause: bool,
    /// Resume charging at the last limit (mode NORMAL).
    #[arg(long, group = "what")]
    pub resume: bool,
    /// Hand the charger back to Smappee's own smart logic.
    #[arg(long, group = "what")]
    pub smart: bool,
    /// Print the exact request instead of sending it (secrets masked).
    #[arg(long)]
    pub dry_run: bool,
    /// With `[[loadpoint]]` tables: the loadpoint whose connector to set.
    #[arg(long, value_name = "NAME")]
    pub loadpoint: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OcppCommand {
    /// Listen on [ocpp] listen and show charge points as they connect, and their messages.
    Listen {
        #[command(flatten)]
        config: ConfigArg,
        /// Stop after this long (default: until Ctrl-C).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<crate::config::values::HumanDuration>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SmappeeCommand {
    /// List service locations, charging stations, serials, connectors and their current limits.
    Locations {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnodeCommand {
    /// Create a link session for a user and print the URL to open in a browser.
    Link {
        #[command(flatten)]
        config: ConfigArg,
        /// Your id for the Enode user (any stable string; created if new).
        #[arg(long)]
        user: String,
        /// Skip the brand picker, e.g. AUDI, VOLKSWAGEN, TESLA.
        #[arg(long)]
        vendor: Option<String>,
        /// Where Enode sends the browser afterwards.
        #[arg(long, default_value = "https://localhost/")]
        redirect_uri: String,
    },
    /// List the vehicles linked to your Enode client: id, brand, model, VIN.
    Vehicles {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The scenario whose day is replayed; its first policy runs (the scenarios are in simulations/).
    #[arg(long, default_value = "simulations/payerne-broken-clouds.toml")]
    pub scenario: PathBuf,
    /// Simulated seconds per real second, 1 to 3600. At 600 an hour takes 6 s, a day at most 2½
    /// minutes, and the results match `sunplug simulate`; far above 2400, the milliseconds each call
    /// to the emulated APIs takes become simulated seconds and the results drift.
    #[arg(long, default_value_t = 600.0)]
    pub speed: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charger_set_needs_exactly_one_action() {
        assert!(Cli::try_parse_from(["sunplug", "charger", "set", "--config", "c.toml"]).is_err());
        assert!(
            Cli::try_parse_from(["sunplug", "charger", "set", "--amps", "10", "--pause"]).is_err()
        );
        let cli = Cli::try_parse_from(["sunplug", "charger", "set", "--amps", "10", "--dry-run"])
            .unwrap();
        match cli.command {
            Command::Charger(ChargerCommand::Set(a)) => {
                assert_eq!(a.amps, Some(10.0));
                assert!(a.dry_run);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn simulate_takes_repeated_policies_and_refuses_net_with_pv() {
        let cli = Cli::try_parse_from([
            "sunplug", "simulate", "s.toml", "--policy", "a.toml", "--policy", "b.toml", "--json",
        ])
        .unwrap();
        match cli.command {
            Command::Simulate(a) => assert_eq!(a.policies.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from([
                "sunplug", "simulate", "s.toml", "--net", "n.csv", "--pv", "p.csv"
            ])
            .is_err()
        );
    }

    #[test]
    fn probe_timeout_is_a_human_duration() {
        let cli = Cli::try_parse_from(["sunplug", "probe", "surplus", "--timeout", "5s"]).unwrap();
        match cli.command {
            Command::Probe(ProbeCommand::Surplus { timeout, .. }) => {
                assert_eq!(timeout.get().as_secs(), 5)
            }
            other => panic!("{other:?}"),
        }
    }
}
