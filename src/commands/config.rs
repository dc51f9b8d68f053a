//! `sunplug check-config` and `sunplug policies`: what a config sets up, and the built-in policies.

use crate::config::{self, Needs};
use crate::control::policies::MODULES;
use std::path::Path;
use std::process::ExitCode;

/// `sunplug check-config FILE`: every problem, or a summary of what the file sets up.
pub fn check_config(file: &Path) -> ExitCode {
    match config::load(file, Needs::RUN) {
        Ok(cfg) => {
            // Warnings do not fail the check: the file is valid, just not finished.
            for w in cfg.warnings.iter() {
                eprintln!("warning: {w}");
            }
            let n = cfg.warnings.len();
            if n == 0 {
                println!("{}: OK", file.display());
            } else {
                println!(
                    "{}: OK, with {n} warning{}",
                    file.display(),
                    if n == 1 { "" } else { "s" }
                );
            }
            for line in summary(&cfg) {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprint!("{problems}");
            ExitCode::FAILURE
        }
    }
}

/// A config enum as it is written in the TOML file (`percentage`, not `Percentage`).
fn word<T: serde::Serialize + std::fmt::Debug>(v: &T) -> String {
    match toml::Value::try_from(v) {
        Ok(toml::Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

/// What a valid config sets up, in a few lines.
pub fn summary(cfg: &config::Config) -> Vec<String> {
    let mut out = vec![format!(
        "site \"{}\", {}, {} at {}{}",
        cfg.site_name,
        cfg.tz,
        cfg.supply.phases,
        cfg.supply.voltage,
        cfg.main_fuse
            .map(|f| format!(", main fuse {f}"))
            .unwrap_or_default()
    )];
    if let Some(p) = &cfg.policy {
        out.push(format!(
            "policy \"{}\" (module {}), target {} %",
            p.name, p.module, p.common.target_soc
        ));
    }
    if let Some(c) = &cfg.charger {
        let (_, step) = c.resolution();
        out.push(format!(
            "charger: {} .. {} in {} (steps of {})",
            c.floor,
            c.max,
            word(&c.unit),
            step
        ));
    }
    out.extend(loadpoint_lines(cfg));
    if let Some(s) = &cfg.surplus {
        out.push(format!(
            "surplus: {}{}, stale after {}",
            word(&s.kind),
            s.preset
                .as_ref()
                .map(|p| format!(" via preset {p}"))
                .unwrap_or_default(),
            s.max_age
        ));
    }
    if !cfg.has_loadpoint_tables() {
        out.push(format!("vehicle: {}", word(&cfg.vehicle.kind)));
    }
    if cfg.vehicle.kind == crate::config::vehicle::VehicleKind::Cariad {
        out.push(format!(
            "cariad: if the token is refused: {}",
            crate::sources::vehicle::cariad::client::BRAND_STATUS
        ));
    }
    out.push(format!("state directory: {}", cfg.state_dir.display()));
    out
}

/// The loadpoints, one line each; the single form says how to add more.
fn loadpoint_lines(cfg: &config::Config) -> Vec<String> {
    if !cfg.has_loadpoint_tables() {
        return match cfg.loadpoints.first() {
            Some(lp) => vec![format!(
                "loadpoints: one ({}); for several chargers or connectors write [[loadpoint]] tables \
                 (see docs/loadpoints.md)",
                lp.charger
            )],
            None => Vec::new(),
        };
    }
    let mut out = vec![format!(
        "loadpoints: {}, sharing the surplus{} by priority (higher first), equals split fairly",
        cfg.loadpoints.len(),
        cfg.main_fuse
            .map(|f| format!(" and the main fuse ({f} per phase)"))
            .unwrap_or_default()
    )];
    for (i, lp) in cfg.loadpoints.iter().enumerate() {
        let policy = cfg
            .loadpoint_policies
            .get(i)
            .and_then(|p| p.as_ref())
            .map(|p| format!("policy \"{}\"", p.name))
            .unwrap_or_else(|| "no policy".into());
        let phases = match lp.line {
            Some(l) => format!("1 phase ({l})"),
            None => format!("{} phases", lp.phases.count()),
        };
        out.push(format!(
            "  loadpoint \"{}\", priority {}: {}, {phases}, {} .. {}, vehicle {}, {policy}",
            lp.name,
            lp.priority,
            lp.charger,
            lp.limits.floor,
            lp.limits.max,
            word(&lp.vehicle.kind)
        ));
    }
    out
}

/// `sunplug policies`.
pub fn list_policies() -> anyhow::Result<ExitCode> {
    println!("Built-in policy modules (set `module = \"...\"` in a policy file):");
    for m in MODULES {
        let soc = if m.needs_soc {
            " [needs the car's SoC]"
        } else {
            ""
        };
        println!("  {:<20} {}{soc}", m.name, m.summary);
    }
    Ok(ExitCode::SUCCESS)
}
