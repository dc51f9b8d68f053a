//! What the loop shows: the decision log line, the Home Assistant state message, the recording row.

use super::ha::StateView;
use super::recorder::Row;
use super::state::Persisted;
use super::systemd::Notifier;
use super::writer::ChargerReport;
use crate::control::{Command, Decision, Observation};
use tracing::{debug, info};

/// Log a decision once when it changes: the command, or the reason with its numbers left out.
pub(super) fn log_decision(
    d: &Decision,
    last: &mut Option<(Command, String)>,
    notifier: &Notifier,
    policy: &str,
) {
    let gist: String = d
        .reason
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect();
    debug!(command = %d.command, reason = %d.reason, clamp = ?d.clamp, factors = ?d.factors, "step");
    if last
        .as_ref()
        .is_none_or(|(c, g)| *c != d.command || *g != gist)
    {
        info!(command = %d.command, clamp = ?d.clamp, "{}", d.reason);
        notifier.status(&format!("{} ({policy}): {}", d.command, d.reason));
        *last = Some((d.command, gist));
    }
}

pub(super) fn state_view(
    d: &Decision,
    obs: &Observation,
    r: &ChargerReport,
    p: &Persisted,
    policy: &str,
    plan: Option<&crate::control::plan::Plan>,
    now: chrono::DateTime<chrono::Utc>,
) -> StateView {
    let s = &p.settings;
    StateView {
        surplus_w: d.factors.available_w,
        grid_w: d.factors.grid_w,
        charger_current_a: r.offered.unwrap_or(d.command.current()).0,
        charger_power_w: obs.charger.power.map(|w| w.value.0),
        soc_pct: d.factors.soc_pct,
        target_soc_pct: d.factors.target_soc_pct,
        state: match (obs.charger.plugged, d.command) {
            (Some(false), _) => "no car".into(),
            (_, Command::Pause) => "paused".into(),
            _ if obs.charger.paused == Some(true) => "paused".into(),
            _ => "charging".into(),
        },
        policy: policy.to_string(),
        reason: match (&r.manual, &r.unconfirmed) {
            (Some((what, true)), _) => {
                format!("charger {what}: sunplug yields until the car is unplugged")
            }
            (Some((what, false)), _) => format!("{} (charger {what}: will be corrected)", d.reason),
            (None, Some((_, why))) => format!("{} (charger: {why})", d.reason),
            (None, None) => d.reason.clone(),
        },
        meter_age_s: d.factors.meter_age_s,
        vehicle_age_s: obs.vehicle.soc.map(|r| r.age(now).as_secs_f64()),
        vehicle_warning: None,
        target_soc_setting: s.target_soc.map(|t| t.pct()),
        min_soc_setting: s.min_soc.map(|t| t.pct()),
        departure_setting: s.departure.map(|t| t.to_string()).unwrap_or_default(),
        charge_now: s.charge_now,
        planned_start: plan.and_then(|p| p.start()).map(|t| t.to_rfc3339()),
        planned_cost: plan.map(|p| (p.cost * 100.0).round() / 100.0),
        solar_forecast_today_kwh: None,
    }
}

pub(super) fn record_row(
    d: &Decision,
    obs: &Observation,
    policy: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Row {
    let meter = obs.meter.map(|m| m.value);
    let car = crate::units::Watts(d.factors.car_w.unwrap_or(0.0));
    Row {
        time: now,
        grid_w: meter.map(|m| m.balance.grid(car).0),
        pv_w: meter.and_then(|m| m.pv).map(|w| w.0),
        load_w: meter.and_then(|m| m.house_load).map(|w| w.0),
        car_w: d.factors.car_w,
        soc_pct: d.factors.soc_pct,
        command_a: d.command.current().0,
        policy: policy.to_string(),
        extra: Vec::new(),
    }
}
