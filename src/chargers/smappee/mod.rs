//! Smappee charging stations: the OAuth client, mode and limit commands, discovery, the charger's
//! state for the controller, and the realtime power from the monitor's local MQTT topic.
//!
//! Layout:
//! - `wire`: the API's payloads as serde types (seed payloads as fixtures);
//! - `auth` + `token_file` + `redact`: password and refresh grants, proactive refresh, the 0600
//!   token file, secrets masked in quoted text;
//! - `client`: [`SmappeeClient`], one method per endpoint, errors classified onto `VendorError`;
//! - `mapping`: pure: amps → AMPERE/PERCENTAGE requests, metering configuration → [`Station`],
//!   smart device + sessions → [`ChargerState`];
//! - `charger`: [`SmappeeCharger`], the stateless translator below the actuator (request → mode PUT,
//!   station discovery and verification, state reads);
//! - `state_words`: pure: `chargingState` / `chargingMode` words → plugged, charging, paused;
//! - `realtime`: the local MQTT realtime payload → the charger's power.
//!
//! (`sunplug charger status|set` and `sunplug smappee locations` live in `crate::commands::charger`.)
//!
//! The user-facing setup (API access, the serial, ampere vs percentage, the replug quirk) is in
//! `docs/smappee.md`.

pub mod auth;
pub mod charger;
pub mod client;
pub mod mapping;
pub mod realtime;
mod redact;
pub mod state_words;
mod token;
pub mod token_file;
pub mod wire;

pub use auth::Credentials;
pub use charger::SmappeeCharger;
pub use client::{ClientSettings, SmappeeClient};
pub use mapping::{ChargerState, Station};
pub use realtime::ChargerPowerSource;
pub use wire::ModeRequest;

use crate::clock::Clock;
use crate::config::values::{SecretSource, resolve_secret};
use crate::config::{Config, SmappeeSection};
use crate::vendor::Timeouts;
use anyhow::{Context, anyhow};
use std::sync::Arc;

/// The account's secrets: from the loaded config when the command needed the charger, else read
/// now from the same sources (file key, `$CREDENTIALS_DIRECTORY`, environment).
fn credentials(cfg: &Config, s: &SmappeeSection) -> anyhow::Result<Credentials> {
    let dir = cfg
        .path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let read = |have: &Option<secrecy::SecretString>, src: SecretSource| match have {
        Some(v) => Ok(v.clone()),
        None => {
            resolve_secret(&src).map_err(|e| anyhow!("{}: {}: {e}", cfg.path.display(), src.key))
        }
    };
    let client_secret = read(
        &cfg.secrets.smappee_client_secret,
        SecretSource {
            key: "smappee.client_secret_file",
            file: s.client_secret_file.as_ref().map(|p| dir.join(p)),
            credential: "smappee-client-secret",
            env: "SUNPLUG_SMAPPEE_CLIENT_SECRET",
        },
    )?;
    let password = read(
        &cfg.secrets.smappee_password,
        SecretSource {
            key: "smappee.password_file",
            file: s.password_file.as_ref().map(|p| dir.join(p)),
            credential: "smappee-password",
            env: "SUNPLUG_SMAPPEE_PASSWORD",
        },
    )?;
    Ok(Credentials {
        client_id: s.client_id.clone().unwrap_or_default().trim().to_string(),
        client_secret,
        username: s.username.clone().unwrap_or_default().trim().to_string(),
        password,
    })
}

/// The client for `cfg`: its base URL and timeouts, the token kept in the state directory.
pub fn client_from_config(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<SmappeeClient> {
    let s = cfg
        .smappee
        .as_ref()
        .ok_or_else(|| anyhow!("{}: no [smappee] section", cfg.path.display()))?;
    let settings = ClientSettings {
        base_url: s.base_url.clone(),
        timeouts: Timeouts {
            connect: s.connect_timeout.get(),
            total: s.request_timeout.get(),
        },
        token_dir: Some(cfg.state_dir.clone()),
    };
    SmappeeClient::new(&settings, credentials(cfg, s)?, clock).map_err(|e| anyhow!(e))
}

/// The charger adapter for `cfg` (needs `[charger]` and `[smappee] serial`).
pub fn charger_from_config(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<SmappeeCharger> {
    let limits = cfg
        .charger
        .ok_or_else(|| anyhow!("{}: no [charger] section", cfg.path.display()))?;
    let s = cfg.smappee.as_ref().context("no [smappee] section")?;
    let serial = s
        .serial
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| anyhow!("{}: smappee.serial is missing", cfg.path.display()))?;
    let client = client_from_config(cfg, clock)?;
    Ok(SmappeeCharger::new(
        client,
        serial,
        s.connector,
        limits,
        s.service_location_id,
    ))
}

/// One adapter per Smappee loadpoint of `cfg` (the single form's too), in the order of
/// `cfg.loadpoints`, all sharing one client: one OAuth token, refreshed once for every connector.
pub fn loadpoint_chargers(
    cfg: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Vec<(String, SmappeeCharger)>> {
    let client = client_from_config(cfg, clock)?;
    let location = cfg.smappee.as_ref().and_then(|s| s.service_location_id);
    let mut out = Vec::new();
    for lp in &cfg.loadpoints {
        if let crate::config::ChargerRef::Smappee { serial, connector } = &lp.charger {
            out.push((
                lp.name.clone(),
                SmappeeCharger::new(client.clone(), serial, *connector, lp.limits, location),
            ));
        }
    }
    Ok(out)
}
