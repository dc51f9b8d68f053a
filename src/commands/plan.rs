//! `sunplug plan --config F`: the departure plan the configured policy would follow now, as a table
//! by slot (price, forecast, solar, grid, cost), with the planned start and the expected cost.
//!
//! It builds the daemon's own controller from the config, hands it the prices from `[prices]` (the
//! fixed table, or one fetch from the provider) and steps it once with the car plugged in at `--soc`,
//! so the plan printed is the one the service would make. A policy that does not plan is refused.
//! The forecast column is the surplus from `[forecast]` (one fetch, or the forecast on its MQTT
//! topic, minus the house load).

use crate::clock::{Clock, SystemClock};
use crate::config::Needs;
use crate::config::prices::{PriceSource, PricesSection};
use crate::control::plan::Plan;
use crate::control::plan::outlook::Outlook;
use crate::control::plan::series::Series;
use crate::control::{ChargerObs, Controller, Observation, Reading};
use crate::daemon::prices::MqttPrices;
use crate::mqtt::{FirstMessage, MqttOptions, first_message};
use crate::units::Soc;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// The plan for a car at `soc` % now (or at `at`). A price list or forecast on MQTT is waited
/// for up to `mqtt_wait` (a retained one comes at once).
pub async fn plan(
    config: &Path,
    soc: f64,
    at: Option<DateTime<Utc>>,
    json: bool,
    mqtt_wait: Duration,
) -> anyhow::Result<ExitCode> {
    let needs = Needs {
        mqtt: false,
        surplus: false,
        vehicle: false,
        charger: false,
        policy: true,
    };
    let mut cfg = crate::config::load(config, needs).map_err(|p| anyhow::anyhow!("{p}"))?;
    if cfg
        .prices
        .as_ref()
        .is_some_and(|p| p.source == PriceSource::Mqtt)
        || cfg
            .forecast
            .as_ref()
            .is_some_and(|f| f.source == Some(crate::config::forecast::ForecastSource::Mqtt))
    {
        // The list or the forecast comes from the broker: load again with its password.
        cfg = crate::config::load(
            config,
            Needs {
                mqtt: true,
                ..needs
            },
        )
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    }
    let Some(soc) = Soc::new(soc) else {
        bail!("--soc {soc}: use a state of charge within 0..=100 %");
    };
    let now = at.unwrap_or_else(|| SystemClock.now());
    let params = cfg
        .controller_params()
        .context("the config has no [charger] section: the plan needs the charger's limits")?;
    let policy = cfg.policy.take().context("the config names no policy")?;
    let mut controller = Controller::new(params, policy);
    let mut outlook = Outlook::new(0.0);
    if let Some(p) = &cfg.prices {
        outlook.fallback_price = crate::daemon::prices::fallback(p);
        outlook.price_max_age = p.max_age.get();
        let series = if p.source == PriceSource::Mqtt {
            mqtt_list(&cfg, p, mqtt_wait).await?
        } else {
            let http = crate::vendor::http_client(crate::vendor::Timeouts::default());
            crate::sources::prices::fetch(p, cfg.secrets.prices_token.as_ref(), &http, cfg.tz, now)
                .await
                .context("fetching the prices")?
        };
        outlook.set_prices(series, now);
    }
    let broker = cfg.mqtt.as_ref().map(|m| crate::daemon::forecast::Broker {
        section: m,
        password: cfg.secrets.mqtt_password.as_ref(),
        dir: cfg.path.parent().unwrap_or(Path::new(".")),
        wait: mqtt_wait,
    });
    let forecast_note = crate::daemon::forecast::fetch_once(
        cfg.forecast.as_ref(),
        broker,
        cfg.tz,
        now,
        &mut outlook,
    )
    .await?;
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
        let currency = cfg.prices.as_ref().map(|p| p.currency.as_str());
        print!("{}", table(plan, cfg.tz, currency));
        if let Some(note) = forecast_note {
            println!("{note}");
        }
        println!("now: {}", decision.reason);
    }
    Ok(ExitCode::SUCCESS)
}

/// The list on `[prices] topic`: the first message on it (a retained message, or the next one
/// published within `wait`); one that does not read as a list is the error.
async fn mqtt_list(
    cfg: &crate::config::Config,
    p: &PricesSection,
    wait: Duration,
) -> anyhow::Result<Series> {
    let m = cfg
        .mqtt
        .as_ref()
        .context("source = \"mqtt\" needs the [mqtt] section")?;
    let dir = cfg.path.parent().unwrap_or(Path::new("."));
    let options = MqttOptions::from_section(m, cfg.secrets.mqtt_password.as_ref(), dir, "-plan")
        .map_err(|e| anyhow::anyhow!(e))?;
    let prices = MqttPrices::new(p).context("not an MQTT price source")?;
    match first_message(options, &prices.topic, wait)
        .await
        .map_err(|e| anyhow::anyhow!(e))?
    {
        FirstMessage::Payload(payload) => match prices.on_message(&prices.topic, &payload) {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => bail!("the price list on {} was refused: {e}", prices.topic),
            None => unreachable!("the payload came on the list's own topic"),
        },
        FirstMessage::Nothing { broker } => bail!(
            "no price list on {} within {}{}: is it published (retained) on {}:{}?",
            prices.topic,
            humantime::format_duration(wait),
            broker
                .map(|e| format!(" (broker: {e})"))
                .unwrap_or_default(),
            m.host,
            m.port
        ),
    }
}

/// The plan as a table for people: one row per slot that charges or has sun, and a summary.
/// `currency` is `[prices] currency`, `None` without `[prices]`.
pub fn table(plan: &Plan, tz: Tz, currency: Option<&str>) -> String {
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
        "need {:.1} kWh: solar {:.1} kWh, grid {:.1} kWh; planned start {start}; expected cost {:.2}{}{}",
        plan.need_wh / 1000.0,
        plan.solar_wh / 1000.0,
        plan.grid_wh / 1000.0,
        plan.cost,
        currency.map(|c| format!(" {c}")).unwrap_or_default(),
        if plan.feasible() {
            String::new()
        } else {
            format!(
                "; {:.1} kWh short of the target",
                plan.shortfall_wh / 1000.0
            )
        }
    );
    if currency.is_none() {
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
