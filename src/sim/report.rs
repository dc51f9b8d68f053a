//! The comparison: a table for people (one column per policy) and one JSON object for scripts.
//!
//! Owns: [`table`], [`json`], the scenario summary lines both the table and `report.html` open with,
//! [`rows`] (the table's rows, shared with the HTML pages) and the [`notes`] under them.

use super::data::fmt_ms;
use super::input::Balance;
use super::{Finished, Metrics, Simulation};
use serde::Serialize;
use std::fmt::Write;

/// `{"scenario", "steps", "wall_ms", "runs": [...]}`.
pub fn json(sim: &Simulation, finished: &[Finished], wall_ms: u64) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        scenario: &'a str,
        steps: u64,
        wall_ms: u64,
        runs: Vec<&'a Metrics>,
    }
    let r = Report {
        scenario: &sim.scenario.name,
        steps: sim.steps(),
        wall_ms,
        runs: finished.iter().map(|f| &f.metrics).collect(),
    };
    serde_json::to_string_pretty(&r).expect("plain data serializes")
}

/// What the scenario is, in a few lines.
pub fn summary(sim: &Simulation) -> Vec<String> {
    summary_with(sim, &|p| p.display().to_string())
}

/// [`summary`], with data files named by `show`.
pub fn summary_with(sim: &Simulation, show: &dyn Fn(&std::path::Path) -> String) -> Vec<String> {
    let sc = &sim.scenario;
    let car = &sc.car;
    let mut out = vec![format!(
        "Scenario {}{}",
        sc.name,
        if sc.description.is_empty() {
            String::new()
        } else {
            format!(": {}", sc.description)
        }
    )];
    let (pv, load) = energies(sim);
    let data = match (&sim.input.balance, pv, load) {
        (Balance::PvLoad { pv: p, load: l }, Some(pv), Some(load)) => format!(
            "PV {} ({pv:.1} kWh), house load {} ({load:.1} kWh)",
            show(&p.file),
            show(&l.file)
        ),
        (Balance::Net(n), _, _) => format!("net series {}", show(&n.file)),
        _ => String::new(),
    };
    out.push(format!("Data: {data}"));
    out.push(format!(
        "Span: {} .. {} ({} steps of {} ms, controller every {}), site {} in {}",
        fmt_ms(sim.input.start_ms),
        fmt_ms(sim.input.end_ms),
        sim.steps(),
        sc.step_ms,
        sc.control.interval,
        sc.supply.phases,
        sc.tz
    ));
    let plug = match (car.plug_in, car.departure) {
        (Some(p), Some(d)) => format!("plugged in {p}–{d} local"),
        _ => "plugged in throughout".into(),
    };
    out.push(format!(
        "Car: {:.0} kWh, {:.0} % → {:.0} %, {plug}; {} up to {:.0} A; charger {} {:.0}–{:.0} A",
        car.capacity_kwh,
        car.start_soc,
        car.target_soc,
        car.phases,
        car.max_current.0,
        match sc.charger.limit_unit {
            crate::config::schema::LimitUnit::Ampere => "in whole amps",
            crate::config::schema::LimitUnit::Percentage => "in percent",
        },
        sc.charger.min_current_a,
        sc.charger.max_current_a
    ));
    out.push(format!(
        "Oracle: P_floor {:.0} W, P_max {:.0} W: {:.2} kWh of solar the car could take without importing",
        sim.oracle.floor_w,
        sim.oracle.max_w,
        sim.oracle.no_import_kwh()
    ));
    out
}

fn energies(sim: &Simulation) -> (Option<f64>, Option<f64>) {
    let Balance::PvLoad { .. } = sim.input.balance else {
        return (None, None);
    };
    let mut s = sim.input.sampler();
    let (mut pv, mut load) = (0.0, 0.0);
    let step = sim.scenario.step_ms.max(1000);
    for i in 0..sim.input.steps(step) {
        let x = s.at(sim.input.start_ms + i as i64 * step);
        pv += x.pv_w.unwrap_or(0.0);
        load += x.load_w.unwrap_or(0.0);
    }
    let k = step as f64 / 3.6e9;
    (Some(pv * k), Some(load * k))
}

/// The table's rows: (label, one cell per policy).
pub fn rows(runs: &[&Metrics]) -> Vec<(&'static str, Vec<String>)> {
    let col = |f: &dyn Fn(&Metrics) -> String| runs.iter().map(|m| f(m)).collect::<Vec<_>>();
    let mut out = vec![
        (
            "car energy kWh",
            col(&|m| format!("{:.2}", m.car_energy_kwh)),
        ),
        (
            "  from solar kWh",
            col(&|m| format!("{:.2}", m.car_solar_kwh)),
        ),
        (
            "  from grid kWh",
            col(&|m| format!("{:.2}", m.car_grid_kwh)),
        ),
        (
            "  solar in dips kWh",
            col(&|m| format!("{:.2}", m.dip_solar_kwh)),
        ),
        ("export kWh", col(&|m| format!("{:.2}", m.export_kwh))),
        ("site import kWh", col(&|m| format!("{:.2}", m.import_kwh))),
        ("solar share", col(&|m| format!("{:.3}", m.solar_share))),
        (
            "oracle solar kWh",
            col(&|m| format!("{:.2}", m.oracle_solar_kwh)),
        ),
        (
            "oracle capture",
            col(&|m| format!("{:.3}", m.oracle_capture)),
        ),
        ("cost €", col(&|m| format!("{:.2}", m.cost_eur))),
        ("savings €", col(&|m| format!("{:.2}", m.savings_eur))),
        (
            "optimum savings €",
            col(&|m| format!("{:.2}", m.optimum_savings_eur)),
        ),
        (
            "savings capture",
            col(&|m| format!("{:.3}", m.savings_capture)),
        ),
        ("charge starts", col(&|m| m.charge_starts.to_string())),
        ("setpoint writes", col(&|m| m.setpoint_writes.to_string())),
        (
            "charging hours",
            col(&|m| format!("{:.2}", m.charging_hours)),
        ),
        (
            "writes / charging h",
            col(&|m| format!("{:.0}", m.writes_per_charging_hour)),
        ),
        ("final SoC %", col(&|m| format!("{:.1}", m.final_soc_pct))),
        (
            "target met",
            col(&|m| {
                if m.target_met {
                    "yes".into()
                } else {
                    "no".into()
                }
            }),
        ),
    ];
    // The departure plan at plug-in, when a policy planned.
    if runs.iter().any(|m| m.plan_cost_eur.is_some()) {
        out.push((
            "plan cost €",
            col(&|m| m.plan_cost_eur.map_or("–".into(), |c| format!("{c:.2}"))),
        ));
        out.push((
            "planned start",
            col(&|m| match (&m.plan_start, m.plan_cost_eur) {
                (Some(s), _) => local_short(s),
                (None, Some(_)) => "sun only".into(),
                (None, None) => "–".into(),
            }),
        ));
    }
    out
}

/// An RFC 3339 local time as "Fri 18:00".
fn local_short(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%a %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The readable report.
pub fn table(sim: &Simulation, finished: &[Finished], wall_ms: u64) -> String {
    let mut s = String::new();
    for line in summary(sim) {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s);
    let label_w = 20;
    let widths: Vec<usize> = finished
        .iter()
        .map(|f| f.metrics.policy.len().max(9))
        .collect();
    let _ = write!(s, "{:label_w$}", "");
    for (f, w) in finished.iter().zip(&widths) {
        let _ = write!(s, "  {:>w$}", f.metrics.policy);
    }
    let _ = writeln!(s);
    let runs: Vec<&Metrics> = finished.iter().map(|f| &f.metrics).collect();
    for (label, cells) in rows(&runs) {
        let _ = write!(s, "{label:label_w$}");
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(s, "  {c:>w$}");
        }
        let _ = writeln!(s);
    }
    let notes = notes(sim, finished);
    if !notes.is_empty() {
        let _ = writeln!(s);
        for n in notes {
            let _ = writeln!(s, "note: {n}");
        }
    }
    let _ = writeln!(
        s,
        "\n{} policies × {} steps in {wall_ms} ms",
        finished.len(),
        sim.steps()
    );
    s
}

/// Remarks worth a line: bridged data gaps, replug resets, meter dropouts.
pub fn notes(sim: &Simulation, finished: &[Finished]) -> Vec<String> {
    notes_for(sim, finished.first().map(|f| &f.outcome))
}

/// [`notes`] from the data and one run (the meter and the charger behave alike in every run).
pub fn notes_for(sim: &Simulation, first: Option<&super::RunOutcome>) -> Vec<String> {
    let mut out = sim.input.notes.clone();
    if let Some(o) = first {
        if o.meter_dropped > 0 {
            out.push(format!(
                "the meter lost {} of {} samples ({:.1} %)",
                o.meter_dropped,
                o.meter_samples,
                100.0 * o.meter_dropped as f64 / o.meter_samples.max(1) as f64
            ));
        }
        if o.replug_resets > 0 {
            out.push(format!(
                "the charger went from PAUSED back to NORMAL on {} plug-in(s) (the Smappee replug quirk)",
                o.replug_resets
            ));
        }
    }
    out
}
