//! The service: wiring sources, the controller and the charger into one loop.
//!
//! Owns: the event loop (`run`), the charger writer task, the demo ([`demo`]), restart state ([`state`]), Home Assistant
//! discovery and commands ([`ha`]), recording for replay ([`recorder`]) and systemd ([`systemd`]).

pub mod adapters;
pub mod demo;
pub mod ha;
pub mod ports;
pub mod recorder;
pub mod run;
pub mod service;
mod reload;
mod settings;
pub mod state;
pub mod systemd;
mod view;
pub mod writer;

use crate::cli::{DemoArgs, RunArgs};
use std::process::ExitCode;

/// `sunplug run`.
pub async fn run_cli(args: RunArgs) -> anyhow::Result<ExitCode> {
    service::run_cli(args).await
}

/// `sunplug demo`.
pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    demo::demo(args).await
}
