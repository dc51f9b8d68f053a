//! `sunplug demo`: the daemon against the emulated vendor APIs, printing to stdout until the data ends
//! or Ctrl-C.

use crate::cli::DemoArgs;
use crate::config::LogFormat;
use std::process::ExitCode;

/// `sunplug demo`: replay until the data ends or Ctrl-C.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Quiet by default so the table reads well; RUST_LOG=info shows the daemon's own log.
    crate::logging::init("warn", LogFormat::Human);
    let interrupted = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = crate::demo::run_demo(
        &args.scenario,
        args.speed,
        &mut std::io::stdout(),
        interrupted,
    )
    .await;
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        // `sunplug demo | head`: the reader has seen enough.
        Err(e)
            if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                == Some(std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e),
    }
}
