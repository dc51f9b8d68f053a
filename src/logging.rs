//! Log output: human-readable lines by default, JSON lines for collectors.
//!
//! Owns: [`init`]. `RUST_LOG` overrides the configured level. Under systemd the journal adds its own
//! timestamps, so the human format leaves them out there.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Calling it twice is harmless (the second call does nothing).
pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match (format, under_systemd) {
        (LogFormat::Json, _) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Human, true) => builder.without_time().try_init(),
        (LogFormat::Human, false) => builder.try_init(),
    };
}
