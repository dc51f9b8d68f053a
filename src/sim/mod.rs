//! The replay simulator (to be built: issue 4).

use crate::cli::SimulateArgs;
use std::process::ExitCode;

/// `sunplug simulate`.
pub fn simulate(_args: SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`simulate` is not built yet")
}
