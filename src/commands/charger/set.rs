//! `sunplug charger set`. `--dry-run` prints the exact request it would send, with the token masked,
//! and sends nothing (it does not even log in).

use super::load;
use crate::chargers::smappee::mapping;
use crate::chargers::smappee::wire::{ModeRequest, WireUnit};
use crate::chargers::smappee::{charger_from_config, loadpoint_chargers};
use crate::cli::ChargerSetArgs;
use crate::clock::SystemClock;
use crate::config::{ChargerLimits, LimitUnit, Needs};
use crate::units::{Amps, PercentScale};
use anyhow::{anyhow, bail};
use std::process::ExitCode;
use std::sync::Arc;

/// The request `charger set` sends, and a note on what it means in amps.
fn set_request(
    args: &ChargerSetArgs,
    limits: &ChargerLimits,
) -> anyhow::Result<(ModeRequest, String)> {
    let scale = PercentScale::new(limits.floor, limits.station_max)
        .ok_or_else(|| anyhow!("[charger] max_current_a must be above min_current_a"))?;
    if let Some(a) = args.amps {
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
                (
                    ModeRequest::normal(WireUnit::Ampere, a as u32),
                    format!("{a} A"),
                )
            }
            LimitUnit::Percentage => {
                let req = mapping::charge_request(Amps(a), limits)
                    .ok_or_else(|| anyhow!("{a} A has no percentage"))?;
                let p = req.limit.map_or(0, |l| l.value);
                let got = scale.amps(p as u8);
                (
                    req,
                    format!("{a} A -> {p} % = {got} (steps of {:.2} A)", scale.step().0),
                )
            }
        });
    }
    if let Some(p) = args.percent {
        if p > 100 {
            bail!(
                "{p} % is not a percentage: use 0..100 (0 % = {}, 100 % = {})",
                limits.floor,
                limits.station_max
            );
        }
        let got = scale.amps(p);
        if got.0 > limits.max.0 + 1e-9 {
            bail!(
                "{p} % is {got}, above the maximum of {} (cable_a or the car's max)",
                limits.max
            );
        }
        return Ok((
            ModeRequest::normal(WireUnit::Percentage, u32::from(p)),
            format!("{p} % = {got}"),
        ));
    }
    Ok(if args.pause {
        (ModeRequest::PAUSED, "pause".into())
    } else if args.resume {
        (
            ModeRequest::RESUME,
            "resume at the station's last limit".into(),
        )
    } else if args.smart {
        (
            ModeRequest::SMART,
            "Smappee's own smart charging decides".into(),
        )
    } else {
        bail!("say what to set: --amps, --percent, --pause, --resume or --smart")
    })
}

pub async fn set(args: ChargerSetArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config.config, Needs::CHARGER)?;
    let clock = SystemClock;
    let (limits, mut charger) = match (&args.loadpoint, cfg.has_loadpoint_tables()) {
        (None, false) => (
            cfg.charger.ok_or_else(|| anyhow!("no [charger] section"))?,
            charger_from_config(&cfg, Arc::new(clock))?,
        ),
        (Some(name), false) => bail!(
            "--loadpoint {name}: {} has no [[loadpoint]] tables (it drives one connector: leave \
             --loadpoint out)",
            cfg.path.display()
        ),
        (name, true) => {
            let names: Vec<&str> = cfg.loadpoints.iter().map(|l| l.name.as_str()).collect();
            let Some(name) = name else {
                bail!(
                    "{} has several loadpoints: say which with --loadpoint ({})",
                    cfg.path.display(),
                    names.join(", ")
                );
            };
            let found = loadpoint_chargers(&cfg, Arc::new(clock))?
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name));
            let Some((_, charger)) = found else {
                bail!("no loadpoint \"{name}\" (they are: {})", names.join(", "));
            };
            (*charger.limits(), charger)
        }
    };
    let (request, meaning) = set_request(&args, &limits)?;
    let url = charger
        .client()
        .mode_url(charger.serial(), charger.position());
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
    charger.send(request).await?;
    println!(
        "Station {} connector {} set to {request}: {meaning}.",
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
            loadpoint: None,
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
        let a = |v| ChargerSetArgs {
            amps: Some(v),
            ..args()
        };
        let (r, _) = set_request(&a(10.0), &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(
            r.to_json(),
            r#"{"mode":"NORMAL","limit":{"unit":"AMPERE","value":10}}"#
        );
        let e = set_request(&a(10.5), &limits(LimitUnit::Ampere))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole amps") && e.contains("0.26 A"), "{e}");
        let (r, note) = set_request(&a(8.7), &limits(LimitUnit::Percentage)).unwrap();
        assert_eq!(
            r.to_json(),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#
        );
        assert!(note.contains("8.60 A"), "{note}");
        assert!(
            set_request(&a(5.0), &limits(LimitUnit::Ampere))
                .unwrap_err()
                .to_string()
                .contains("--pause")
        );
        assert!(
            set_request(&a(25.0), &limits(LimitUnit::Ampere)).is_err(),
            "above the 20 A cable"
        );
    }

    #[test]
    fn percent_and_modes() {
        let p = |v| ChargerSetArgs {
            percent: Some(v),
            ..args()
        };
        let (r, note) = set_request(&p(10), &limits(LimitUnit::Ampere)).unwrap();
        assert_eq!(
            r.to_json(),
            r#"{"mode":"NORMAL","limit":{"unit":"PERCENTAGE","value":10}}"#
        );
        assert!(note.contains("8.60 A"));
        assert!(set_request(&p(101), &limits(LimitUnit::Ampere)).is_err());
        assert!(
            set_request(&p(100), &limits(LimitUnit::Ampere)).is_err(),
            "32 A is above the 20 A cable"
        );
        let (r, _) = set_request(
            &ChargerSetArgs {
                pause: true,
                ..args()
            },
            &limits(LimitUnit::Ampere),
        )
        .unwrap();
        assert_eq!(r, ModeRequest::PAUSED);
        let (r, _) = set_request(
            &ChargerSetArgs {
                smart: true,
                ..args()
            },
            &limits(LimitUnit::Ampere),
        )
        .unwrap();
        assert_eq!(r, ModeRequest::SMART);
        let (r, _) = set_request(
            &ChargerSetArgs {
                resume: true,
                ..args()
            },
            &limits(LimitUnit::Ampere),
        )
        .unwrap();
        assert_eq!(r, ModeRequest::RESUME);
    }
}
