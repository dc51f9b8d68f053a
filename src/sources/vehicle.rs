//! The car's state from Enode, Cariad or MQTT.

use crate::config::vehicle::{CariadSection, EnodeSection};

/// Check `[enode]` beyond its types.
pub fn check_enode(e: &EnodeSection, push: &mut dyn FnMut(&str, String)) {
    if e.client_id.as_deref().is_none_or(str::is_empty) {
        push(
            "client_id",
            "missing: the Enode client id of your application".into(),
        );
    }
    if e.vehicle_id.is_none() {
        push(
            "vehicle_id",
            "missing: find it with `sunplug enode vehicles`".into(),
        );
    }
    if e.max_calls_per_hour == 0 {
        push("max_calls_per_hour", "must be at least 1".into());
    }
}

/// Check `[cariad]` beyond its types.
pub fn check_cariad(c: &CariadSection, push: &mut dyn FnMut(&str, String)) {
    if c.vin.as_deref().is_none_or(|v| v.len() != 17) {
        push("vin", "missing or not 17 characters: the car's VIN".into());
    }
    if c.refresh_token_file.is_none() {
        push(
            "refresh_token_file",
            "missing: the file holding the refresh token (see the README)".into(),
        );
    }
    if c.daily_budget == 0 {
        push("daily_budget", "must be at least 1".into());
    }
}

/// `sunplug probe vehicle` (to be built: issue 7).
pub async fn probe(
    _config: &std::path::Path,
    _json: bool,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`probe vehicle` is not built yet")
}

/// `sunplug enode ...` (to be built: issue 7).
pub async fn enode_cli(
    _command: crate::cli::EnodeCommand,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`enode` commands are not built yet")
}
