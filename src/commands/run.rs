//! `sunplug run`: load the config, set up logging and start the service until a signal stops it.

use crate::cli::RunArgs;
use crate::clock::SystemClock;
use crate::config;
use crate::daemon::service::{Options, load, run_service, shutdown_signal};
use crate::daemon::systemd::Notifier;
use std::sync::Arc;
use tracing::info;

/// `sunplug run`.
pub async fn run(args: RunArgs) -> anyhow::Result<std::process::ExitCode> {
    let cfg = load(&args.config.config)?;
    let format = if args.log_json {
        config::LogFormat::Json
    } else {
        cfg.logging.format
    };
    crate::logging::init(&cfg.logging.level, format);
    info!(
        "sunplug {} starting: site \"{}\", policy {}, state in {}{}",
        env!("CARGO_PKG_VERSION"),
        cfg.site_name,
        cfg.policy.as_ref().map(|p| p.name.as_str()).unwrap_or("?"),
        cfg.state_dir.display(),
        if args.dry_run {
            " (dry run: nothing is sent to the charger)"
        } else {
            ""
        }
    );
    let opts = Options {
        clock: Arc::new(SystemClock),
        speed: 1.0,
        notifier: Notifier::from_env(),
        dry_run: args.dry_run,
    };
    run_service(cfg, opts, shutdown_signal()).await?;
    info!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}
