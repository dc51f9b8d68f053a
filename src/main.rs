use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    sunplug::commands::run(sunplug::cli::Cli::parse())
}
