//! `sunplug charger status` and `sunplug smappee locations`.

use super::{load, range, side, steps};
use crate::chargers::smappee::mapping::{self, ChargerState};
use crate::chargers::smappee::{
    SmappeeCharger, charger_from_config, client_from_config, loadpoint_chargers,
};
use crate::clock::{Clock, SystemClock};
use crate::config::Needs;
use crate::units::Amps;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn locations(path: &Path) -> anyhow::Result<ExitCode> {
    let cfg = load(path, Needs::default())?;
    let client = client_from_config(&cfg, Arc::new(SystemClock))?;
    let configured = cfg.smappee.as_ref().and_then(|s| s.serial.clone());
    let connector = cfg.smappee.as_ref().map_or(1, |s| s.connector);
    let list = client.service_locations().await?;
    if list.service_locations.is_empty() {
        println!("This account has no service locations.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut stations = 0;
    for l in &list.service_locations {
        println!(
            "Service location {} \"{}\"{}",
            l.service_location_id,
            l.name.as_deref().unwrap_or(""),
            l.service_location_uuid
                .as_deref()
                .map(|u| format!(", uuid {u}"))
                .unwrap_or_default()
        );
        if let Some(hub) = &l.device_serial_number {
            println!("  monitor/hub serial {hub} (not a charging station serial)");
        }
        let cfg = match client.metering_configuration(l.service_location_id).await {
            Ok(c) => c,
            Err(e) => {
                println!("  no metering configuration: {e}");
                continue;
            }
        };
        if cfg.charging_stations.is_empty() {
            println!("  no charging stations");
        }
        for st in &cfg.charging_stations {
            stations += 1;
            let serial = st.serial_number.as_deref().unwrap_or("?");
            println!(
                "  charging station {serial}{}{}",
                st.name
                    .as_deref()
                    .map(|n| format!(" \"{n}\""))
                    .unwrap_or_default(),
                st.connect_serial_number
                    .as_deref()
                    .map(|c| format!(" (Connect {c})"))
                    .unwrap_or_default()
            );
            // The smart devices, to name each connector's by its uuid (the metering
            // configuration's `chargers[].id` only as the fallback).
            let devices = client
                .smart_devices(l.service_location_id)
                .await
                .unwrap_or_default();
            for c in &st.chargers {
                let pos = c.position.unwrap_or(1);
                let mut range_text = range(c.min_current.map(Amps), c.max_current.map(Amps));
                let fallback = c.id.clone().or_else(|| c.smart_device_id.clone());
                let device =
                    mapping::smart_device_for(&devices, c.uuid.as_deref(), fallback.as_deref())
                        .and_then(|d| d.id.clone().or_else(|| d.uuid.clone()))
                        .or(fallback);
                if (c.min_current.is_none() || c.max_current.is_none())
                    && let Some(d) = &device
                    && let Ok(dev) = client.smart_device(l.service_location_id, d).await
                {
                    let (min, max) = mapping::device_range(&dev);
                    range_text = range(
                        c.min_current.map(Amps).or(min),
                        c.max_current.map(Amps).or(max),
                    );
                }
                let channels: Vec<String> = c
                    .channels
                    .iter()
                    .filter_map(|ch| ch.consumption_index.map(|i| i.to_string()))
                    .collect();
                let ours = configured.as_deref() == Some(serial) && connector == pos;
                println!(
                    "    connector {pos} ({}): {range_text}{}{}{}",
                    side(pos),
                    device
                        .map(|d| format!(", smart device {d}"))
                        .unwrap_or_default(),
                    if channels.is_empty() {
                        String::new()
                    } else {
                        // The local realtime topic's publishIndex is the consumptionIndex.
                        format!(
                            ", realtime channels {} (charger_channels = [{}])",
                            channels.join(", "),
                            channels.join(", ")
                        )
                    },
                    if ours { "   <- configured" } else { "" }
                );
            }
        }
    }
    if stations > 0 && configured.is_none() {
        println!(
            "\nPut the station's serial in [smappee] serial and the connector (1 right, 2 left) in \
             [smappee] connector; service_location_id saves a lookup at start."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One connector read for `charger status`: which loadpoint drives it (none: on the station but
/// not configured), the adapter and its state.
struct Read {
    loadpoint: Option<String>,
    charger: SmappeeCharger,
    state: anyhow::Result<ChargerState>,
}

/// `sunplug charger status`: every connector the config drives, then the station's others.
pub async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = load(path, Needs::CHARGER)?;
    let clock = SystemClock;
    let named = if cfg.loadpoints.is_empty() {
        vec![(
            crate::config::loadpoint::SINGLE.to_string(),
            charger_from_config(&cfg, Arc::new(clock))?,
        )]
    } else {
        loadpoint_chargers(&cfg, Arc::new(clock))?
    };
    let multi = cfg.has_loadpoint_tables();
    let mut reads = Vec::new();
    for (name, mut charger) in named {
        // A connector the config drives must be readable: its error is the command's.
        let state = charger.read_state(clock.now()).await?;
        reads.push(Read {
            loadpoint: Some(name),
            charger,
            state: Ok(state),
        });
    }
    // The station's other connectors, through the same client (one token).
    let mut others = Vec::new();
    for r in &reads {
        let Some(st) = r.charger.station() else {
            continue;
        };
        for &pos in &st.positions {
            let known = reads
                .iter()
                .chain(others.iter())
                .any(|o: &Read| o.charger.serial() == st.serial && o.charger.position() == pos);
            if known {
                continue;
            }
            let mut charger = SmappeeCharger::new(
                r.charger.client().clone(),
                &st.serial,
                pos,
                *r.charger.limits(),
                Some(st.location_id),
            );
            let state = charger
                .read_state(clock.now())
                .await
                .map_err(anyhow::Error::from);
            others.push(Read {
                loadpoint: None,
                charger,
                state,
            });
        }
    }
    reads.extend(others);
    let expires = reads[0].charger.client().token_expires_at().await;
    if json {
        let list: Vec<serde_json::Value> = reads
            .iter()
            .map(|r| match &r.state {
                Ok(s) => connector_json(r, s, expires),
                Err(e) => serde_json::json!({
                    "serial": r.charger.serial(),
                    "connector": r.charger.position(),
                    "loadpoint": r.loadpoint,
                    "error": format!("{e:#}"),
                }),
            })
            .collect();
        // The first connector's keys stay at the top (as before several connectors), all of them
        // are in "connectors".
        let mut v = list[0].clone();
        v["connectors"] = serde_json::Value::Array(list);
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (i, r) in reads.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match (&r.loadpoint, multi) {
            (Some(name), true) => println!("Loadpoint \"{name}\":"),
            (None, _) => println!("Not configured in sunplug:"),
            _ => {}
        }
        match &r.state {
            Ok(s) => print_status(&r.charger, s, r.charger.station(), expires),
            Err(e) => println!(
                "Smappee station {}, connector {} ({}): cannot be read: {e:#}",
                r.charger.serial(),
                r.charger.position(),
                side(r.charger.position())
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn connector_json(
    r: &Read,
    state: &ChargerState,
    expires: Option<chrono::DateTime<chrono::Utc>>,
) -> serde_json::Value {
    let charger = &r.charger;
    let station = charger.station();
    serde_json::json!({
        "serial": charger.serial(),
        "connector": charger.position(),
        "loadpoint": r.loadpoint,
        "service_location_id": station.map(|s| s.location_id),
        "plugged": state.plugged,
        "charging": state.charging,
        "paused": state.paused,
        "charging_state": state.charging_state,
        // The state word as sunplug reads it: "unknown" for a word it does not know (the raw
        // word is in charging_state), null when the station sent none.
        "session_state": state.state_word.as_ref().map(|w| w.label()),
        "connector_mode": state.mode.map(|m| format!("{m:?}").to_lowercase()),
        "percentage_limit": state.percentage_limit,
        "limit_a": state.limit.map(|a| a.0),
        "session_id": state.session_id(),
        "session_status": state.session.as_ref().and_then(|s| s.status.clone()),
        "min_current_a": state.min_current.map(|a| a.0),
        "max_current_a": state.max_current.map(|a| a.0),
        "limit_unit": format!("{:?}", charger.limits().unit).to_lowercase(),
        "step_a": charger.resolution().1 .0,
        "token_expires_at": expires,
    })
}

fn yes_no(v: Option<bool>, yes: &str, no: &str) -> String {
    match v {
        Some(true) => yes.into(),
        Some(false) => no.into(),
        None => "unknown".into(),
    }
}

fn print_status(
    charger: &SmappeeCharger,
    s: &ChargerState,
    station: Option<&mapping::Station>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
) {
    let pos = charger.position();
    println!(
        "Smappee station {}, connector {pos} ({}){}",
        charger.serial(),
        side(pos),
        station
            .map(|st| format!(
                ", service location {} \"{}\"",
                st.location_id,
                st.location_name.as_deref().unwrap_or("")
            ))
            .unwrap_or_default()
    );
    let session = s
        .session
        .as_ref()
        .map(|x| {
            format!(
                " (session {}, {}{})",
                x.id.as_deref().unwrap_or("?"),
                x.status.as_deref().unwrap_or("?"),
                x.started
                    .map(|t| format!(" since {}", t.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    println!(
        "  car:       {}, {}{session}",
        yes_no(s.plugged, "plugged in", "not plugged in"),
        yes_no(s.charging, "charging", "not charging")
    );
    println!(
        "  state:     {}{}",
        s.state_word
            .as_ref()
            .map_or("unknown".to_string(), |w| w.to_string()),
        if s.paused == Some(true) {
            " (paused)"
        } else {
            ""
        }
    );
    // The station reports its limit as a percentage; an AMPERE limit shows as the nearest one.
    let ampere = charger.limits().unit == crate::config::LimitUnit::Ampere;
    let limit = match (s.percentage_limit, s.limit) {
        (Some(p), Some(a)) if ampere => format!("{p} % ≈ {a} (reported as a percentage)"),
        (Some(p), Some(a)) => format!("{p} % = {a}"),
        (Some(p), None) => format!("{p} %"),
        (None, Some(a)) => a.to_string(),
        (None, None) => "unknown".into(),
    };
    println!(
        "  limit:     {limit}   (station range {})",
        range(s.min_current, s.max_current)
    );
    println!("  commands:  {}", steps(charger.limits()));
    match s.power {
        Some(p) => println!("  power:     {}", p.value),
        None => println!(
            "  power:     read by the service from servicelocation/<uuid>/realtime \
             ([smappee] service_location_uuid and charger_channels)"
        ),
    }
    if let Some(t) = expires {
        println!(
            "  token:     valid until {}",
            t.format("%Y-%m-%d %H:%M UTC")
        );
    }
}
