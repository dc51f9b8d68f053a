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
//! - `charger` + `backoff`: [`SmappeeCharger`], what the daemon's writer owns (dedupe, replug,
//!   backoff);
//! - `state_words`: pure: `chargingState` / `chargingMode` words → plugged, charging, paused;
//! - `realtime`: the local MQTT realtime payload → the charger's power;
//!
//! (`sunplug charger status|set` and `sunplug smappee locations` live in `crate::commands::charger`.)
//!
//! The user-facing setup (API access, the serial, ampere vs percentage, the replug quirk) is in
//! `docs/smappee.md`.

pub mod auth;
mod backoff;
pub mod charger;
pub mod client;
pub mod mapping;
pub mod realtime;
mod redact;
pub mod state_words;
pub mod token_file;
pub mod wire;

pub use auth::Credentials;
pub use charger::{Applied, Confirmed, SmappeeCharger};
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

/// Check `[smappee]` beyond its types. `needs_charger`: the command drives the charger, so the
/// station's serial is required (`sunplug smappee locations`, which finds it, does without).
pub fn check_config(s: &SmappeeSection, needs_charger: bool, push: &mut dyn FnMut(&str, String)) {
    if s.client_id.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push(
            "client_id",
            "missing: the API client id Smappee gave you".into(),
        );
    }
    if s.username.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push("username", "missing: your Smappee account user name".into());
    }
    if needs_charger && s.serial.as_deref().is_none_or(|v| v.trim().is_empty()) {
        push(
            "serial",
            "missing: the charging station's serial (not the Connect hub's); `sunplug smappee locations` lists it"
                .into(),
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
    let url = reqwest::Url::parse(&s.base_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    match url {
        None => push(
            "base_url",
            format!(
                "\"{}\" is not a URL: use e.g. \"https://app1pub.smappee.net\"",
                s.base_url
            ),
        ),
        Some(u) if u.path() != "/" || u.query().is_some() => push(
            "base_url",
            format!(
                "\"{}\" has a path: give only the scheme and host, e.g. \"https://app1pub.smappee.net\" \
                 (sunplug adds /dev/v1/oauth2/token and /dev/v3/...)",
                s.base_url
            ),
        ),
        Some(_) => {}
    }
    if s.service_location_id.is_some_and(|id| id <= 0) {
        push(
            "service_location_id",
            "must be a positive number: `sunplug smappee locations` lists it".into(),
        );
    }
    if s.service_location_uuid
        .as_deref()
        .is_some_and(|u| u.trim().is_empty())
    {
        push(
            "service_location_uuid",
            "is empty: remove it or copy the UUID from `sunplug smappee locations`".into(),
        );
    }
    if !s.charger_channels.is_empty() && s.service_location_uuid.is_none() {
        push(
            "charger_channels",
            "is set but service_location_uuid is not: the channels are read from \
             servicelocation/<uuid>/realtime"
                .into(),
        );
    }
    let mut seen = s.charger_channels.clone();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        push(
            "charger_channels",
            "lists a channel twice: its power would count double".into(),
        );
    }
    let poll = s.poll_interval.as_secs_f64();
    if !(5.0..=600.0).contains(&poll) {
        push(
            "poll_interval",
            format!(
                "{} is out of range: use 5s..10m (30s is a good start)",
                s.poll_interval
            ),
        );
    }
    let (connect, total) = (
        s.connect_timeout.as_secs_f64(),
        s.request_timeout.as_secs_f64(),
    );
    if !(0.5..=60.0).contains(&connect) {
        push(
            "connect_timeout",
            format!("{} is out of range: use 1s..1m", s.connect_timeout),
        );
    }
    if !(1.0..=120.0).contains(&total) || total < connect {
        push(
            "request_timeout",
            format!(
                "{} is out of range: use 1s..2m, at least connect_timeout ({})",
                s.request_timeout, s.connect_timeout
            ),
        );
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(s: &SmappeeSection, needs: bool) -> Vec<String> {
        let mut out = Vec::new();
        check_config(s, needs, &mut |k, m| out.push(format!("{k}: {m}")));
        out
    }

    fn ok() -> SmappeeSection {
        SmappeeSection {
            client_id: Some("cid".into()),
            username: Some("me".into()),
            serial: Some("5010000123".into()),
            ..SmappeeSection::default()
        }
    }

    #[test]
    fn a_complete_section_passes() {
        assert!(
            problems(&ok(), true).is_empty(),
            "{:?}",
            problems(&ok(), true)
        );
    }

    #[test]
    fn serial_is_needed_only_to_drive_the_charger() {
        let s = SmappeeSection {
            serial: None,
            ..ok()
        };
        assert!(problems(&s, false).is_empty());
        assert!(problems(&s, true)[0].contains("smappee locations"));
    }

    #[test]
    fn base_url_is_scheme_and_host_only() {
        let with = |u: &str| SmappeeSection {
            base_url: u.into(),
            ..ok()
        };
        assert!(problems(&with("http://127.0.0.1:8080"), true).is_empty());
        assert!(problems(&with("https://app1pub.smappee.net/"), true).is_empty());
        let p = problems(&with("https://app1pub.smappee.net/dev/v3"), true).join("");
        assert!(p.contains("has a path"), "{p}");
        assert!(!problems(&with("ftp://x"), true).is_empty());
    }

    #[test]
    fn odd_values_are_explained() {
        let s = SmappeeSection {
            connector: 3,
            base_url: "app1pub.smappee.net".into(),
            charger_channels: vec![4, 4],
            poll_interval: crate::config::values::HumanDuration::secs(1),
            ..ok()
        };
        let p = problems(&s, true).join("\n");
        for key in ["connector", "base_url", "charger_channels", "poll_interval"] {
            assert!(p.contains(key), "{key} not reported in:\n{p}");
        }
        assert!(p.contains("service_location_uuid"), "{p}");
    }
}
