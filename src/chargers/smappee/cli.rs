//! `sunplug charger status|set` and `sunplug smappee locations`: for people setting up and
//! troubleshooting. Each loads the config, talks to the API once and prints for a person (or JSON).
//!
//! `charger set --dry-run` prints the exact request it would send, with the token masked, and sends
//! nothing (it does not even log in).

use super::mapping::{self, ChargerState};
use super::wire::{ModeRequest, WireUnit};
use super::{SmappeeCharger, charger_from_config, client_from_config};
use crate::cli::{ChargerCommand, ChargerSetArgs, SmappeeCommand};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, ChargerLimits, Config, LimitUnit, Needs};
use crate::units::{Amps, PercentScale};
use anyhow::{anyhow, bail};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Warnings and errors on stderr, unless `RUST_LOG` says otherwise. Does nothing if the program
/// already installed a subscriber.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load(path: &Path, needs: Needs) -> anyhow::Result<Config> {
    config::load(path, needs).map_err(|p| anyhow!("{}", p.to_string().trim_end()))
}

pub async fn charger(command: ChargerCommand) -> anyhow::Result<ExitCode> {
    init_logging();
    match command {
        ChargerCommand::Status { config, json } => status(&config.config, json).await,
        ChargerCommand::Set(args) => set(args).await,
    }
}

pub async fn smappee(command: SmappeeCommand) -> anyhow::Result<ExitCode> {
    init_logging();
    match command {
        SmappeeCommand::Locations { config } => locations(&config.config).await,
    }
}

fn side(position: u8) -> &'static str {
    match position {
        1 => "right",
        2 => "left",
        _ => "?",
    }
}

fn range(min: Option<Amps>, max: Option<Amps>) -> String {
    let a = |v: Option<Amps>| v.map(|a| format!("{:.0}", a.0)).unwrap_or_else(|| "?".into());
    format!("{}–{} A", a(min), a(max))
}

/// What the controller can command, in words.
fn steps(limits: &ChargerLimits) -> String {
    let (base, step) = limits.resolution();
    match limits.unit {
        LimitUnit::Ampere => format!("AMPERE, whole amps ({} .. {:.0} A)", limits.floor, limits.max.0),
        LimitUnit::Percentage => format!(
            "PERCENTAGE, steps of {:.2} A from {} (0 % = {}, 100 % = {})",
            step.0, base, limits.floor, limits.station_max
        ),
    }
}

async fn locations(path: &Path) -> anyhow::Result<ExitCode> {
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
                st.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default(),
                st.connect_serial_number
                    .as_deref()
                    .map(|c| format!(" (Connect {c})"))
                    .unwrap_or_default()
            );
            for c in &st.chargers {
                let pos = c.position.unwrap_or(1);
                let mut range_text = range(c.min_current.map(Amps), c.max_current.map(Amps));
                let device = c.id.clone().or_else(|| c.smart_device_id.clone());
                if c.min_current.is_none() || c.max_current.is_none() {
                    if let Some(d) = &device {
                        if let Ok(dev) = client.smart_device(l.service_location_id, d).await {
                            let (min, max) = mapping::device_range(&dev);
                            range_text = range(c.min_current.map(Amps).or(min), c.max_current.map(Amps).or(max));
                        }
                    }
                }
                let channels: Vec<String> = c
                    .channels
                    .iter()
                    .filter_map(|ch| ch.power_topic_index.map(|i| i.to_string()))
                    .collect();
                let ours = configured.as_deref() == Some(serial) && connector == pos;
                println!(
                    "    connector {pos} ({}): {range_text}{}{}{}",
                    side(pos),
                    device.map(|d| format!(", smart device {d}")).unwrap_or_default(),
                    if channels.is_empty() {
                        String::new()
                    } else {
                        format!(", realtime channels {}", channels.join(", "))
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

async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let cfg = load(path, Needs::CHARGER)?;
    let clock = SystemClock;
    let mut charger = charger_from_config(&cfg, Arc::new(clock))?;
    let state = charger.read_state(clock.now()).await?;
    let station = charger.station().cloned();
    let expires = charger.client().token_expires_at().await;
    if json {
        let v = serde_json::json!({
            "serial": charger.serial(),
            "connector": charger.position(),
            "service_location_id": station.as_ref().map(|s| s.location_id),
            "plugged": state.plugged,
            "charging": state.charging,
            "paused": state.paused,
            "charging_state": state.charging_state,
            "percentage_limit": state.percentage_limit,
            "limit_a": state.limit.map(|a| a.0),
            "session_id": state.session_id(),
            "session_status": state.session.as_ref().and_then(|s| s.status.clone()),
            "min_current_a": state.min_current.map(|a| a.0),
            "max_current_a": state.max_current.map(|a| a.0),
            "limit_unit": format!("{:?}", charger.limits().unit).to_lowercase(),
            "step_a": charger.resolution().1 .0,
            "token_expires_at": expires,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_status(&charger, &state, station.as_ref(), expires);
    Ok(ExitCode::SUCCESS)
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
        s.charging_state.as_deref().unwrap_or("unknown"),
        if s.paused == Some(true) { " (paused)" } else { "" }
    );
    let limit = match (s.percentage_limit, s.limit) {
        (Some(p), Some(a)) => format!("{p} % = {a}"),
        (Some(p), None) => format!("{p} %"),
        (None, Some(a)) => a.to_string(),
        (None, None) => "unknown".into(),
    };
    println!("  limit:     {limit}   (station range {})", range(s.min_current, s.max_current));
    println!("  commands:  {}", steps(charger.limits()));
    match s.power {
        Some(p) => println!("  power:     {}", p.value),
        None => println!(
            "  power:     not read here (the service reads it from servicelocation/<uuid>/realtime \
             when [smappee] service_location_uuid and charger_channels are set)"
        ),
    }
    if let Some(t) = expires {
        println!("  token:     valid until {}", t.format("%Y-%m-%d %H:%M UTC"));
    }
}

/// The request `charger set` sends, and a note on what it means in amps.
fn set_request(args: &ChargerSetArgs, limits: &ChargerLimits) -> anyhow::Result<(ModeRequest, String)> {
    let scale = PercentScale::new(limits.floor, limits.station_max)
        .ok_or_else(|| anyhow!("[charger] max_current_a must be above min_current_a"))?;
    if let Some(a) = args.amps {
        if !a.is_finite() || a + 1e-9 < limits.floor.0 {
            bail!("{a} A is below the {} floor: a car cannot charge below it; use --pause", limits.floor);
        }
        if a > limits.max.0 + 1e-9 {
            bail!("{a} A is above the maximum of {} ([charger] max_current_a, cable_a, the car's max)", limits.max);
        }
        return Ok(match limits.unit {
            LimitUnit::Ampere => {
                if a.fract().abs() > 1e-9 {
                    bail!(
                        "{a} A is not whole: Smappee takes whole amps in ampere mode; use --amps {} or set \
                         [charger] limit_unit = \"percentage\" for steps of {:.2} A",
                        a.floor(),
                        scale.step().0
                    );
                }
                (ModeRequest::normal(WireUnit::Ampere, a as u32), format!("{a} A"))
            }
            LimitUnit::Percentage => {
                let req = mapping::charge_request(Amps(a), limits)
                    .ok_or_else(|| anyhow!("{a} A has no percentage"))?;
                let p = req.limit.map_or(0, |l| l.value);
                let got = scale.amps(p as u8);
                (req, format!("{a} A -> {p} % = {got} (steps of {:.2} A)", scale.step().0))
            }
        });
    }
    if let Some(p) = args.percent {
        if p > 100 {
            bail!("{p} % is not a percentage: use 0..100 (0 % = {}, 100 % = {})", limits.floor, limits.station_max);
        }
        let got = scale.amps(p);
        if got.0 > limits.max.0 + 1e-9 {
            bail!("{p} % is {got}, above the maximum of {} (cable_a or the car's max)", limits.max);
        }
        return Ok((ModeRequest::normal(WireUnit::Percentage, u32::from(p)), format!("{p} % = {got}")));
    }
    Ok(if args.pause {
        (ModeRequest::PAUSED, "pause".into())
    } else if args.resume {
        (ModeRequest::RESUME, "resume at the station's last limit".into())
    } else if args.smart {
        (ModeRequest::SMART, "Smappee's own smart charging decides".into())
    } else {
        bail!("say what to set: --amps, --percent, --pause, --resume or --smart")
    })
}

async fn set(args: ChargerSetArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config.config, Needs::CHARGER)?;
    let limits = cfg.charger.ok_or_else(|| anyhow!("no [charger] section"))?;
    let (request, meaning) = set_request(&args, &limits)?;
    let clock = SystemClock;
    let mut charger = charger_from_config(&cfg, Arc::new(clock))?;
    let url = charger.client().mode_url(charger.serial(), charger.position());
    if args.dry_run {
        println!("PUT {url}");
        println!("Authorization: Bearer ***");
        println!("Content-Type: application/json");
        println!();
        println!("{}", request.to_json());
        eprintln!("(dry run: nothing sent; {meaning})");
        return Ok(ExitCode::SUCCESS);
    }
    if request.limit.is_some() {
        // Percentages only mean what we think if the station's range is the configured one.
        charger.verify().await?;
    }
    charger.apply_request(clock.now(), request).await?;
    println!(
        "Station {} connector {} set to {request} ({meaning}).",
        charger.serial(),
        charger.position()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ConfigArg;

    fn args() -> ChargerSetArgs {
        ChargerSetArgs {
            config: ConfigArg { config: "x".into() },
            amps: None,
            percent: None,
            pause: false,
            resume: false,
            smart: false,
            dry_run: true,
        }
    }

    fn limits(unit: LimitUnit) -> ChargerLimits {
        ChargerLimits {
            unit,
            floor: Amps(6.0),
            station_max: Amps(32.0),
            max: Amps(20.0),
        }
    }

    #[test]
    fn amps_are_checked_against_floor_max_and_unit() {
        let a = |v| ChargerSetArgs { amps: Some(v), ..args() };
        let (r, _) = set_request(&a(10.0), &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(r.to_json(), r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#);
        let e = set_request(&a(10.5), &limits(LimitUnit::Ampere)).unwrap_err().to_string();
        assert!(e.contains("whole amps") && e.contains("0.26 A"), "{e}");
        let (r, note) = set_request(&a(8.7), &limits(LimitUnit::Percentage)).unwrap();
        assert_eq!(r.to_json(), r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#);
        assert!(note.contains("8.60 A"), "{note}");
        assert!(set_request(&a(5.0), &limits(LimitUnit::Ampere)).unwrap_err().to_string().contains("--pause"));
        assert!(set_request(&a(25.0), &limits(LimitUnit::Ampere)).is_err(), "above the 20 A cable");
    }

    #[test]
    fn percent_and_modes() {
        let p = |v| ChargerSetArgs { percent: Some(v), ..args() };
        let (r, note) = set_request(&p(10), &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(r.to_json(), r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#);
        assert!(note.contains("8.60 A"));
        assert!(set_request(&p(101), &limits(LimitUnit::Ampere)).is_err());
        assert!(set_request(&p(100), &limits(LimitUnit::Ampere)).is_err(), "32 A is above the 20 A cable");
        let (r, _) = set_request(&ChargerSetArgs { pause: true, ..args() }, &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(r, ModeRequest::PAUSED);
        let (r, _) = set_request(&ChargerSetArgs { smart: true, ..args() }, &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(r, ModeRequest::SMART);
        let (r, _) = set_request(&ChargerSetArgs { resume: true, ..args() }, &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(r, ModeRequest::RESUME);
    }
}
