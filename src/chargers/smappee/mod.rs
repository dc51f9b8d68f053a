//! Smappee charging stations: OAuth client, mode and limit commands, discovery.

use crate::config::SmappeeSection;

/// Check `[smappee]` beyond its types.
pub fn check_config(s: &SmappeeSection, push: &mut dyn FnMut(&str, String)) {
    if s.client_id.as_deref().is_none_or(str::is_empty) {
        push(
            "client_id",
            "missing: the API client id Smappee gave you".into(),
        );
    }
    if s.username.as_deref().is_none_or(str::is_empty) {
        push("username", "missing: your Smappee account user name".into());
    }
    if s.serial.as_deref().is_none_or(str::is_empty) {
        push(
            "serial",
            "missing: the charging station's serial (not the Connect hub's); `sunplug smappee locations` lists it".into(),
        );
    }
    if !(1..=2).contains(&s.connector) {
        push(
            "connector",
            format!(
                "{} is not a connector position: use 1 (right) or 2 (left)",
                s.connector
            ),
        );
    }
    if !(s.base_url.starts_with("https://") || s.base_url.starts_with("http://")) {
        push(
            "base_url",
            format!(
                "\"{}\" is not a URL: use e.g. \"https://app1pub.smappee.net\"",
                s.base_url
            ),
        );
    }
}

/// `sunplug charger ...` (to be built: issue 5).
pub async fn charger_cli(
    _command: crate::cli::ChargerCommand,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`charger` commands are not built yet")
}

/// `sunplug smappee ...` (to be built: issue 5).
pub async fn smappee_cli(
    _command: crate::cli::SmappeeCommand,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("`smappee` commands are not built yet")
}
