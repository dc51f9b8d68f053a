//! The service (to be built: issue 8).

use crate::cli::{DemoArgs, RunArgs};
use std::process::ExitCode;

/// `sunplug run`.
pub async fn run_cli(_args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`run` is not built yet")
}

/// `sunplug demo`.
pub async fn demo(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`demo` is not built yet")
}
