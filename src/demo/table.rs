//! What a person reads during a demo: the header, one table row per quarter hour, the summary.
//!
//! Owns the formatting only: the numbers come from the replay ([`super::world`]), the charger's state
//! from the Smappee emulator, the decisions from the daemon, and why a decision is not what the
//! surplus allows from [`super::why`]. A row is one instant: grid = house + car − PV, and the car's
//! kW are its amps × volts × phases.

use super::DemoOutcome;
use super::why::{Rules, why};
use super::world::Row;
use crate::chargers::smappee::wire::{Limit, Mode, WireUnit};
use crate::config::{LimitUnit, SafeState};
use crate::control::Command;
use crate::emulators::smappee::Connector;
use crate::sim::{Input, Scenario};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn local(sc: &Scenario, t: DateTime<Utc>, fmt: &str) -> String {
    t.with_timezone(&sc.tz).format(fmt).to_string()
}

pub fn header(sc: &Scenario, policy: &str, input: &Input, speed: f64, trimmed: bool) -> String {
    let car = &sc.car;
    let plugged = match (car.plug_in, car.departure) {
        (Some(p), Some(d)) => format!("plugged in {p}–{d}"),
        _ => "plugged in all the time".into(),
    };
    let span_s = (input.end_ms - input.start_ms) as f64 / 1000.0;
    let ch = &sc.charger;
    format!(
        "sunplug demo: {name}\n  {description}\n\
         \n  The real daemon (the loop of `sunplug run` with its Smappee and Enode clients) against emulated\n  \
         Smappee and Enode APIs on 127.0.0.1; the grid meter replays the day's PV and house load.\n  \
         No MQTT broker, so no Home Assistant discovery or entities.\n\
         \n  policy   {policy} (the scenario's first)\n  charger  {min}–{max} A, limits in {unit}\n  \
         car      {cap} kWh, {soc:.0} % → {target:.0} % (its own limit), {plugged}\n  \
         replay   {from} – {to} ({tz}) at {speed}×: an hour every {hour:.1} s, about {total}\n{quiet}",
        name = sc.name,
        description = sc.description,
        min = ch.min_current_a,
        max = ch.max_current_a,
        unit = match ch.limit_unit {
            LimitUnit::Percentage => "percent (0 % = the floor, 100 % = the maximum)",
            LimitUnit::Ampere => "whole amps",
        },
        quiet = if trimmed {
            "           (the data's hours without sun or car are left out)\n"
        } else {
            ""
        },
        cap = car.capacity_kwh,
        soc = car.start_soc,
        target = car.target_soc,
        from = local(sc, utc(input.start_ms), "%Y-%m-%d %H:%M"),
        to = local(sc, utc(input.end_ms), "%H:%M"),
        tz = sc.tz.name(),
        hour = 3600.0 / speed,
        total = human(Duration::from_secs_f64(span_s / speed)),
    )
}

pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s} s"),
        _ => format!("{} min {:02} s", s / 60, s % 60),
    }
}

pub fn table_head() -> String {
    let cols = |c: [&str; 11]| {
        format!(
            "{:>5}  {:>5}  {:>5}  {:>6}  {:>5}  {:>4}  {:>4}  {:<23}  {:>6}  {:>7}  {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
        )
    };
    format!(
        "{}\n{}",
        cols([
            "time",
            "PV",
            "house",
            "grid",
            "car",
            "car",
            "SoC",
            "charger (emulated)",
            "avail.",
            "decided",
            "why (the daemon's reason, or what kept it from what the surplus allows)",
        ]),
        cols(["", "kW", "kW", "kW", "kW", "A", "%", "", "kW", "", ""]),
    )
}

fn kw(w: Option<f64>) -> String {
    match w.map(|w| (w / 10.0).round() / 100.0) {
        None => "–".into(),
        Some(0.0) => "0.00".into(), // not "-0.00"
        Some(kw) => format!("{kw:.2}"),
    }
}

fn command_cell(c: Command) -> String {
    match c {
        Command::Pause => "pause".into(),
        Command::Charge { current, .. } => format!("{:.1} A", current.0),
    }
}

/// One row, every column at the instant `r.at`; `rules` say what a decision obeys besides the
/// surplus.
pub fn table_row(r: &Row, sc: &Scenario, rules: &Rules) -> String {
    let d = r.decision.as_ref();
    let since = r.since.and_then(|s| (r.at - s).to_std().ok());
    format!(
        "{:>5}  {:>5}  {:>5}  {:>6}  {:>5}  {:>4.1}  {:>4}  {:<23}  {:>6}  {:>7}  {}",
        local(sc, r.at, "%H:%M"),
        kw(r.pv_w),
        kw(r.load_w),
        kw(Some(r.grid_w())),
        kw(Some(r.car_w)),
        r.car_a,
        if r.plugged {
            format!("{:.0}", r.soc_pct)
        } else {
            "–".into()
        },
        r.charger.as_ref().map_or("?".into(), charger_cell),
        kw(d.and_then(|d| d.factors.available_w)),
        d.map_or("–".into(), |d| command_cell(d.command)),
        d.map_or_else(|| "(no decision yet)".into(), |d| why(rules, d, since)),
    )
}

/// The connector as the emulated station has it: its state and the limit in force.
fn charger_cell(c: &Connector) -> String {
    let state = c.charging_state();
    if c.mode == Mode::Paused || !c.plugged {
        return state.to_string();
    }
    match c.limit {
        Some(Limit {
            unit: WireUnit::Percentage,
            value,
        }) => format!("{state} {value} % = {:.1} A", c.offered()),
        Some(Limit {
            unit: WireUnit::Ampere,
            value,
        }) => format!("{state} {value} A"),
        None => format!("{state} {:.0} A", c.offered()),
    }
}

/// How a mode request reads: "PAUSED", "NORMAL 21 %", "NORMAL 11 A".
pub fn mode_text(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let mode = v["mode"].as_str().unwrap_or("?");
    match (v["limit"]["value"].as_f64(), v["limit"]["unit"].as_str()) {
        (Some(x), Some("PERCENTAGE")) => format!("{mode} {x} %"),
        (Some(x), Some(_)) => format!("{mode} {x} A"),
        _ => mode.to_string(),
    }
}

pub fn summary(
    sc: &Scenario,
    o: &DemoOutcome,
    elapsed: Duration,
    interrupted: bool,
    on_shutdown: SafeState,
    left: Option<Vec<String>>,
) -> String {
    let t = &o.totals.tally;
    let car = t.car_ws / 3.6e6;
    let solar = t.car_solar_ws / 3.6e6;
    let pauses = o.modes.iter().filter(|b| mode_text(b) == "PAUSED").count();
    let ended = if interrupted {
        format!(
            "Stopped at {} (Ctrl-C)",
            local(sc, o.totals.reached, "%H:%M")
        )
    } else {
        format!(
            "The replay ended at {}",
            local(sc, o.totals.reached, "%H:%M")
        )
    };
    let setting = match on_shutdown {
        SafeState::Keep => "keep",
        SafeState::Floor => "floor",
        SafeState::Pause => "pause",
    };
    let last = match left.as_deref() {
        Some([.., last]) => format!("left at {} (on_shutdown = \"{setting}\")", mode_text(last)),
        _ => format!("left as it was (on_shutdown = \"{setting}\")"),
    };
    let share = if car > 0.0 { solar / car * 100.0 } else { 0.0 };
    format!(
        "\n{ended} after {real} of real time; the daemon stopped cleanly, the charger {last}.\n\
         \n  car energy      {car:.1} kWh, {share:.0} % of it solar ({solar:.1} kWh), {grid:.1} kWh from the grid\n  \
         charge starts   {starts}\n  \
         charger writes  {writes} mode requests to the Smappee API ({limits} limits, {pauses} pauses)\n  \
         vehicle reads   {reads} Enode API calls\n  \
         final SoC       {soc:.0} % (the car's limit: {target:.0} %)\n\
         \nThe same day in the simulator, every policy of the scenario: sunplug simulate {path}\n",
        real = human(elapsed),
        grid = (car - solar).max(0.0),
        starts = t.starts,
        writes = o.modes.len(),
        limits = o.modes.len() - pauses,
        reads = o.vehicle_reads,
        soc = o.totals.soc_pct,
        target = sc.car.target_soc,
        path = sc.path.display(),
    )
}
