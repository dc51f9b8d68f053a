//! The central system and the charger port built from `[ocpp]` (for `run`, `ocpp listen` and
//! `charger status|set`).
//!
//! Owns: [`server_settings`], [`start`] (bind `listen`, TLS when configured) and [`charger`] (the
//! first listed charge point as the daemon's `ChargerPort`).

use super::handshake::{ChargePointEntry, tls_config};
use super::port::OcppCharger;
use super::server::{CentralSystem, ServerSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::ocpp::OcppSection;
use anyhow::{Context, anyhow};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn section(cfg: &Config) -> anyhow::Result<&OcppSection> {
    cfg.ocpp
        .as_ref()
        .ok_or_else(|| anyhow!("{}: no [ocpp] section", cfg.path.display()))
}

/// The server settings of `cfg`. `accept_unknown`: also take charge points not listed (only
/// without passwords; for `ocpp listen`, to find a charge point's id).
pub fn server_settings(cfg: &Config, accept_unknown: bool) -> anyhow::Result<ServerSettings> {
    let s = section(cfg)?;
    let dir = cfg
        .path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let charge_points = s
        .charge_points
        .iter()
        .map(|c| ChargePointEntry {
            id: c.id.clone(),
            password: cfg.secrets.ocpp_passwords.get(&c.id).cloned(),
            connector: c.connector,
        })
        .collect();
    let tls = match (&s.tls_cert_file, &s.tls_key_file) {
        (Some(c), Some(k)) => {
            Some(tls_config(&dir.join(c), &dir.join(k)).map_err(|e| anyhow!("ocpp: {e}"))?)
        }
        _ => None,
    };
    let mut settings = ServerSettings::new(&s.path, charge_points);
    settings.accept_unknown = accept_unknown;
    settings.authorize = s.authorize();
    settings.heartbeat = s.heartbeat_interval.get();
    settings.meter_interval = s.meter_interval.get();
    settings.call_timeout = s.call_timeout.get();
    settings.tls = tls;
    Ok(settings)
}

/// Bind `[ocpp] listen` and start serving until `stop`. The future owns what it needs (it does not
/// borrow `cfg`, so the service's future stays `Send`).
pub fn start(
    cfg: &Config,
    clock: Arc<dyn Clock>,
    accept_unknown: bool,
    stop: CancellationToken,
) -> impl std::future::Future<Output = anyhow::Result<CentralSystem>> + Send + 'static {
    let prepared = section(cfg).and_then(|s| {
        Ok((
            s.listen.clone(),
            s.path.clone(),
            server_settings(cfg, accept_unknown)?,
        ))
    });
    async move {
        let (listen, path, settings) = prepared?;
        let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| {
            format!(
                "ocpp: cannot listen on {listen} (is the sunplug service running? it holds the port; \
                 stop it first, or change [ocpp] listen)"
            )
        })?;
        let scheme = if settings.tls.is_some() { "wss" } else { "ws" };
        let cs = CentralSystem::start(listener, settings, clock, stop)?;
        tracing::info!(
            "ocpp: central system on {scheme}://{}{}/<charge point id>",
            cs.local_addr(),
            path.trim_end_matches('/')
        );
        Ok(cs)
    }
}

/// The charger port for the first charge point of `[ocpp]`.
pub fn charger(cfg: &Config, cs: CentralSystem) -> anyhow::Result<OcppCharger> {
    let s = section(cfg)?;
    let cp = s
        .charge_points
        .first()
        .ok_or_else(|| anyhow!("{}: [ocpp] charge_points is empty", cfg.path.display()))?;
    Ok(OcppCharger::new(cs, &cp.id, cp.connector, s.remote_start))
}
