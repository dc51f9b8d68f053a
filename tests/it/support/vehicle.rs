//! Helpers shared by the vehicle integration tests: a fixed start time, a log capture to check that no
//! secret reaches a log line, and a temp config writer for the CLI tests.
#![allow(dead_code)]

use super::t0;
use std::sync::Arc;
use sunplug::clock::{Clock, TokioClock};

/// A clock that moves with tokio's (paused) time, starting at [`t0`].
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::starting_at(t0()))
}

/// The log capture, under the name the vehicle tests use.
#[allow(unused_imports)]
pub use super::logs::LogBuffer as Logs;

/// Write `text` as `sunplug.toml` in a new temp dir; returns the dir and the file.
pub fn config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sunplug.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// An Enode emulator on the test clock.
pub async fn enode_emulator() -> sunplug::emulators::enode::EnodeEmulator {
    sunplug::emulators::enode::EnodeEmulator::start_with(clock())
        .await
        .unwrap()
}

/// The Enode client pointed at `emu`, with `secret` as the client secret.
pub fn enode_client(
    emu: &sunplug::emulators::enode::EnodeEmulator,
    secret: &str,
) -> sunplug::sources::vehicle::enode::client::EnodeClient {
    let http = sunplug::vendor::http_client(sunplug::vendor::Timeouts::default());
    sunplug::sources::vehicle::enode::client::EnodeClient::new(
        http,
        &emu.api_url(),
        &emu.oauth_url(),
        sunplug::emulators::enode::CLIENT_ID,
        secrecy::SecretString::from(secret.to_string()),
    )
    .unwrap()
}

/// The default Enode polling pace (2 min charging, 5 min plugged, 30 min away, 30 calls an hour).
pub fn enode_pace() -> sunplug::sources::vehicle::schedule::EnodePace {
    sunplug::sources::vehicle::schedule::EnodePace {
        charging: std::time::Duration::from_secs(120),
        plugged: std::time::Duration::from_secs(300),
        away: std::time::Duration::from_secs(1800),
        max_per_hour: 30,
    }
}
