//! `sunplug tune TUNEFILE`: the work is in `sim::tune`; this prints its report.

use std::path::Path;
use std::process::ExitCode;

/// `sunplug tune`.
pub fn tune(file: &Path, jobs: Option<usize>, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    print!("{}", crate::sim::tune::tune(file, jobs, output)?);
    Ok(ExitCode::SUCCESS)
}
