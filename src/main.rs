use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    sunplug::cli::run(sunplug::cli::Cli::parse())
}
