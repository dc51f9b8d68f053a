//! `sunplug ocpp listen` and the OCPP side of `sunplug charger status|set`: for people pointing a
//! charge point at sunplug. Each starts the central system from `[ocpp]` on its configured port
//! (so the service must not be running) and prints for a person (or JSON).
//!
//! `listen` shows charge points as they connect and every message until Ctrl-C (or `--for`);
//! without passwords it also admits ids not in the config, so the user can read the id off.
//! `status` and `set` wait for the configured charge point to connect (charge points retry on
//! their own, usually within a minute), then read its state or send one profile.

use crate::chargers::ocpp::setup;
use crate::chargers::ocpp::wire::{PROFILE_ID, SetChargingProfileReq};
use crate::cli::ChargerSetArgs;
use crate::clock::SystemClock;
use crate::config::{self, Config, Needs};
use crate::control::actuate::Request;
use anyhow::{anyhow, bail};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long `charger status|set` wait for the charge point to connect.
pub const CONNECT_WAIT: Duration = Duration::from_secs(120);

fn load(path: &Path, needs: Needs) -> anyhow::Result<Config> {
    config::load(path, needs).map_err(|p| anyhow!("{}", p.to_string().trim_end()))
}

fn url(cfg: &Config) -> String {
    let s = cfg.ocpp.clone().unwrap_or_default();
    let scheme = if s.tls_cert_file.is_some() {
        "wss"
    } else {
        "ws"
    };
    format!(
        "{scheme}://{}{}/<id>",
        s.listen,
        s.path.trim_end_matches('/')
    )
}

/// `sunplug ocpp listen`.
pub async fn listen(path: &Path, duration: Option<Duration>) -> anyhow::Result<ExitCode> {
    let cfg = load(path, Needs::CHARGER)?;
    let stop = CancellationToken::new();
    let _guard = stop.clone().drop_guard();
    let cs = setup::start(&cfg, Arc::new(SystemClock), true, stop).await?;
    // Subscribed before the address is shown, so the first connection is never missed.
    let mut events = cs.events();
    let auth_on = cs
        .settings()
        .charge_points
        .iter()
        .any(|c| c.password.is_some());
    println!(
        "Listening on {} (bound to {}){}. Point the charge point's backend URL here; Ctrl-C ends.",
        url(&cfg),
        cs.local_addr(),
        if auth_on {
            "; only the configured charge points, with their passwords"
        } else {
            "; any charge point id is shown, only configured ones are driven by `sunplug run`"
        }
    );
    let until = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = &mut until => break,
            e = events.recv() => match e {
                Ok(e) => println!("{e}"),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("({n} messages not shown)"),
                Err(_) => break,
            },
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Start the central system and wait for the configured charge point.
async fn connected(
    cfg: &Config,
) -> anyhow::Result<(crate::chargers::ocpp::OcppCharger, CancellationToken)> {
    let stop = CancellationToken::new();
    let cs = setup::start(cfg, Arc::new(SystemClock), false, stop.clone()).await?;
    let charger = setup::charger(cfg, cs.clone())?;
    let id = charger.charge_point().to_string();
    eprintln!(
        "waiting up to {}s for charge point {id} to connect to {} (bound to {}) …",
        CONNECT_WAIT.as_secs(),
        url(cfg),
        cs.local_addr()
    );
    let mut changed = cs.changed();
    let came = tokio::time::timeout(CONNECT_WAIT, async {
        // Connected and reported its connectors (asked for at connection).
        while !cs
            .state(&id)
            .is_some_and(|s| s.connected && !s.connectors.is_empty())
        {
            if changed.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    if came.is_err() {
        stop.cancel();
        bail!(
            "charge point {id} did not connect within {}s: check its backend URL ({}), its id and \
             password, and that no other sunplug holds the port",
            CONNECT_WAIT.as_secs(),
            url(cfg)
        );
    }
    Ok((charger, stop))
}

/// `sunplug charger status` for `[charger] kind = "ocpp"`.
pub async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = load(path, Needs::CHARGER)?;
    let (charger, stop) = connected(&cfg).await?;
    let id = charger.charge_point();
    let connector = charger.connector();
    let state = charger.central_system().state(id).unwrap_or_default();
    stop.cancel();
    let status = state.connectors.get(&connector);
    let meter = state.meters.get(&connector).cloned().unwrap_or_default();
    let obs = state.obs(connector);
    let tx = state.transactions.get(&connector);
    if json {
        let v = serde_json::json!({
            "charge_point": id,
            "connector": connector,
            "vendor": state.boot.as_ref().map(|b| &b.0),
            "model": state.boot.as_ref().map(|b| &b.1),
            "status": status.map(|s| &s.status),
            "error_code": status.map(|s| &s.error_code),
            "plugged": obs.plugged,
            "charging": obs.charging,
            "paused": obs.paused,
            "power_w": meter.power.map(|p| p.value.0),
            "currents_a": meter.currents,
            "energy_wh": meter.energy_wh,
            "transaction_id": tx.map(|t| t.id),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (vendor, model) = state
        .boot
        .clone()
        .unwrap_or_else(|| ("?".into(), "?".into()));
    println!("Charge point {id} ({vendor} {model}), connector {connector}");
    match status {
        Some(s) => println!("  status      {} (error code {})", s.status, s.error_code),
        None => println!("  status      not reported"),
    }
    let yn = |v: Option<bool>| v.map_or("?", |b| if b { "yes" } else { "no" });
    println!("  plugged     {}", yn(obs.plugged));
    println!("  charging    {}", yn(obs.charging));
    println!("  paused      {}", yn(obs.paused));
    match meter.power {
        Some(p) => println!("  power       {:.0} W", p.value.0),
        None => println!("  power       not metered yet (MeterValues with Power.Active.Import)"),
    }
    if meter.currents.iter().any(Option::is_some) {
        let c: Vec<String> = meter
            .currents
            .iter()
            .map(|c| c.map_or("-".into(), |a| format!("{a:.1}")))
            .collect();
        println!("  currents    {} A", c.join(" / "));
    }
    if let Some(e) = meter.energy_wh {
        println!("  energy      {:.3} kWh (register)", e / 1000.0);
    }
    if let Some(t) = tx {
        println!("  transaction {} (idTag {})", t.id, t.id_tag);
    }
    Ok(ExitCode::SUCCESS)
}

/// `sunplug charger set` for `[charger] kind = "ocpp"`.
pub async fn set(args: ChargerSetArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config.config, Needs::CHARGER)?;
    let limits = cfg
        .charger
        .ok_or_else(|| anyhow!("{}: no [charger] section", cfg.path.display()))?;
    let request = if let Some(a) = args.amps {
        if !a.is_finite() || a + 1e-9 < limits.floor.0 {
            bail!(
                "{a} A is below the {} floor: a car cannot charge below it; use --pause",
                limits.floor
            );
        }
        if a > limits.max.0 + 1e-9 {
            bail!(
                "{a} A is above the maximum of {} ([charger] max_current_a, cable_a, the car's max)",
                limits.max
            );
        }
        if a.fract().abs() > 1e-9 {
            bail!(
                "{a} A is not whole: sunplug sends OCPP limits in whole amps; use --amps {}",
                a.floor()
            );
        }
        Some(Request::Ampere(a as u32))
    } else if args.pause {
        Some(Request::Pause)
    } else if args.smart {
        None
    } else if args.percent.is_some() {
        bail!("OCPP limits are in amps: use --amps");
    } else {
        bail!(
            "OCPP has no \"resume\": a charge point charges at the profile's limit; use --amps N"
        );
    };
    if args.dry_run {
        // A dry run only prints the frame: no server, no charge point needed.
        let connector = cfg
            .ocpp
            .as_ref()
            .and_then(|o| o.charge_points.first())
            .map_or(1, |c| c.connector);
        let frame = match request {
            Some(r) => {
                let amps = if let Request::Ampere(a) = r { a } else { 0 };
                let p = SetChargingProfileReq::tx_default(connector, 0, amps);
                serde_json::json!([2, "<id>", "SetChargingProfile", p])
            }
            None => serde_json::json!([2, "<id>", "ClearChargingProfile", {"id": PROFILE_ID}]),
        };
        println!("{frame}");
        return Ok(ExitCode::SUCCESS);
    }
    let (mut charger, stop) = connected(&cfg).await?;
    let result = match request {
        Some(r) => charger
            .execute(r)
            .await
            .map(|_| format!("set to {r}"))
            .map_err(|e| anyhow!(e)),
        None => {
            let id = charger.charge_point().to_string();
            let answer = charger
                .central_system()
                .call(
                    &id,
                    "ClearChargingProfile",
                    serde_json::json!({"id": PROFILE_ID}),
                )
                .await
                .map_err(|e| anyhow!("ClearChargingProfile: {e}"))?;
            let status = answer
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("?")
                .to_string();
            if status == "Accepted" {
                Ok("sunplug's profile cleared: the charge point follows its own limits".into())
            } else {
                Err(anyhow!(
                    "the charge point answered {status} to ClearChargingProfile"
                ))
            }
        }
    };
    stop.cancel();
    println!("charge point {}: {}", charger.charge_point(), result?);
    Ok(ExitCode::SUCCESS)
}
