//! `sunplug plan --config F`: the departure plan the configured policy would follow now, as a table
//! by slot (price, forecast, solar, grid, cost), with the planned start and the expected cost.
//!
//! It builds the daemon's own controller from the config, hands it the prices from `[prices]` (the
//! fixed table, or one fetch from the provider) and steps it once with the car plugged in at `--soc`,
//! so the plan printed is the one the service would make. A policy that does not plan is refused.

use crate::clock::{Clock, SystemClock};
use crate::config::Needs;
use crate::config::prices::{FixedImport, PricesSection};
use crate::control::plan::Plan;
use crate::control::plan::outlook::Outlook;
use crate::control::{ChargerObs, Controller, Observation, Reading};
use crate::units::Soc;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// The plan for a car at `soc` % now (or at `at`).
pub async fn plan(
    config: &Path,
    soc: f64,
    at: Option<DateTime<Utc>>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let needs = Needs {
        mqtt: false,
        surplus: false,
        vehicle: false,
        charger: false,
        policy: true,
    };
    let cfg = crate::config::load(config, needs).map_err(|p| anyhow::anyhow!("{p}"))?;
    let Some(soc) = Soc::new(soc) else {
        bail!("--soc {soc}: use a state of charge within 0..=100 %");
    };
    let now = at.unwrap_or_else(|| SystemClock.now());
    let params = cfg
        .controller_params()
        .context("the config has no [charger] section: the plan needs the charger's limits")?;
    let policy = cfg.policy.context("the config names no policy")?;
    let mut controller = Controller::new(params, policy);
    let mut outlook = Outlook::new(0.0);
    if let Some(p) = &cfg.prices {
        outlook.fallback_price = fallback(p);
        outlook.price_max_age = p.max_age.get();
        let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
        let series = crate::sources::prices::fetch(p, &http, cfg.tz, now)
            .await
            .context("fetching the prices")?;
        outlook.set_prices(series, now);
    }
    controller.set_outlook(outlook);
    let obs = Observation {
        charger: ChargerObs {
            plugged: Some(true),
            ..ChargerObs::default()
        },
        vehicle: crate::control::VehicleObs {
            soc: Some(Reading::new(soc, now)),
            ..Default::default()
        },
        ..Observation::default()
    };
    let decision = controller.step(now, &obs);
    let Some(plan) = controller.plan() else {
        bail!(
            "the policy \"{}\" (module {}) does not plan: use module = \"planner\", \
             target-by-departure with use_plan = true, or pv-only with min_soc and min_soc_by \
             (its minimum is planned while --soc is below min_soc)",
            controller.policy_name(),
            controller.policy().module
        );
    };
    if json {
        println!("{}", to_json(plan));
    } else {
        print!("{}", table(plan, cfg.tz, cfg.prices.is_some()));
        println!("now: {}", decision.reason);
    }
    Ok(ExitCode::SUCCESS)
}

/// The price of a slot no list covers: `fallback`, or the mean of a fixed table.
fn fallback(p: &PricesSection) -> f64 {
    match (&p.import, p.fallback) {
        (_, Some(f)) => f,
        (Some(FixedImport::Flat(v)), None) => *v,
        (Some(FixedImport::ByHour(t)), None) => t.iter().sum::<f64>() / t.len().max(1) as f64,
        (None, None) => 0.0,
    }
}

/// The plan as a table for people: one row per slot that charges or has sun, and a summary.
pub fn table(plan: &Plan, tz: Tz, has_prices: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>8} {:>11} {:>9} {:>8} {:>6} {:>7}",
        "slot", "price", "forecast kW", "solar kW", "grid kW", "share", "cost"
    );
    for s in &plan.slots {
        if s.grid.0 <= 0.0 && s.solar.0 <= 0.0 && s.surplus.0 <= 0.0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{:<10} {:>8.3} {:>11.2} {:>9.2} {:>8.2} {:>6.2} {:>7.3}",
            s.start.with_timezone(&tz).format("%a %H:%M"),
            s.price,
            s.surplus.kilowatts().max(0.0),
            s.solar.kilowatts(),
            s.grid.kilowatts(),
            s.share,
            s.cost
        );
    }
    let start = plan
        .start()
        .map_or("none (solar covers it)".to_string(), |t| {
            t.with_timezone(&tz).format("%a %H:%M").to_string()
        });
    let _ = writeln!(
        out,
        "need {:.1} kWh: solar {:.1} kWh, grid {:.1} kWh; planned start {start}; expected cost {:.2}{}",
        plan.need_wh / 1000.0,
        plan.solar_wh / 1000.0,
        plan.grid_wh / 1000.0,
        plan.cost,
        if plan.feasible() {
            String::new()
        } else {
            format!(
                "; {:.1} kWh short of the target",
                plan.shortfall_wh / 1000.0
            )
        }
    );
    if !has_prices {
        out.push_str("no [prices] in the config: every slot costs 0, so the plan charges as early as it can\n");
    }
    out
}

fn to_json(plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "need_kwh": plan.need_wh / 1000.0,
        "solar_kwh": plan.solar_wh / 1000.0,
        "grid_kwh": plan.grid_wh / 1000.0,
        "cost": plan.cost,
        "shortfall_kwh": plan.shortfall_wh / 1000.0,
        "start": plan.start().map(|t| t.to_rfc3339()),
        "slots": plan.slots.iter().map(|s| serde_json::json!({
            "start": s.start.to_rfc3339(),
            "end": s.end.to_rfc3339(),
            "price": s.price,
            "forecast_w": s.surplus.0,
            "solar_w": s.solar.0,
            "grid_w": s.grid.0,
            "share": s.share,
            "cost": s.cost,
        })).collect::<Vec<_>>(),
    })
}
