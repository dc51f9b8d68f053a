//! The per-policy trace: one row per controller step, for the CSV, the plot and debugging.
//!
//! Owns: [`Trace`] (an [`Observer`] that averages the physics since the previous controller step and
//! records the decision with its reason, clamp and factors) and its CSV writer. Power columns are means
//! over the interval ending at the row's time; decision columns are what the controller did then.

use super::charger::Wire;
use super::run::{ControlView, Observer, PhysicsView};
use crate::control::{Command, Factors};
use crate::units::Watts;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Row {
    pub t_ms: i64,
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
    /// PV − house load, without the car.
    pub surplus_w: f64,
    pub car_w: f64,
    /// True grid power, import positive.
    pub grid_w: f64,
    pub soc_pct: f64,
    /// What the controller saw from the meter.
    pub meter_grid_w: Option<f64>,
    pub command: Command,
    pub sent: Option<Wire>,
    pub offered_a: f64,
    pub clamp: Option<&'static str>,
    pub reason: String,
    pub factors: Factors,
}

#[derive(Debug, Clone, Default)]
struct Sums {
    n: f64,
    pv: f64,
    load: f64,
    surplus: f64,
    car: f64,
    grid: f64,
    soc: f64,
}

#[derive(Debug, Clone)]
pub struct Trace {
    pub tz: Tz,
    pub rows: Vec<Row>,
    sums: Sums,
    has_pv_load: bool,
}

impl Trace {
    pub fn new(tz: Tz) -> Trace {
        Trace {
            tz,
            rows: Vec::new(),
            sums: Sums::default(),
            has_pv_load: false,
        }
    }

    pub fn has_pv_and_load(&self) -> bool {
        self.has_pv_load
    }

    /// Write the rows as CSV.
    pub fn write_csv(&self, path: &Path) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            w,
            "time,local_time,pv_w,load_w,surplus_w,car_w,grid_w,soc_pct,meter_grid_w,meter_age_s,soc_est_pct,\
             target_soc_pct,available_w,feed_forward_a,pi_p_a,pi_i_a,window_wh,wanted_a,command_a,sent,offered_a,\
             clamp,reason"
        )?;
        let opt =
            |v: Option<f64>, prec: usize| v.map(|v| format!("{v:.prec$}")).unwrap_or_default();
        for r in &self.rows {
            let t = DateTime::<Utc>::from_timestamp_millis(r.t_ms).unwrap_or_default();
            let f = &r.factors;
            writeln!(
                w,
                "{},{},{},{},{:.1},{:.1},{:.1},{:.3},{},{},{},{},{},{},{},{},{},{},{:.2},{},{:.2},{},\"{}\"",
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                t.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S"),
                opt(r.pv_w, 1),
                opt(r.load_w, 1),
                r.surplus_w,
                r.car_w,
                r.grid_w,
                r.soc_pct,
                opt(r.meter_grid_w, 1),
                opt(f.meter_age_s, 1),
                opt(f.soc_pct, 2),
                opt(f.target_soc_pct, 1),
                opt(f.available_w, 1),
                opt(f.feed_forward_a, 3),
                opt(f.pi_p_a, 3),
                opt(f.pi_i_a, 3),
                opt(f.window_wh, 2),
                opt(f.wanted_a, 3),
                r.command.current().0,
                r.sent.map(|s| s.to_string()).unwrap_or_default(),
                r.offered_a,
                r.clamp.unwrap_or(""),
                r.reason.replace('"', "'"),
            )?;
        }
        w.flush()
    }
}

impl Observer for Trace {
    fn physics(&mut self, v: &PhysicsView) {
        let s = &mut self.sums;
        s.n += 1.0;
        s.pv += v.sample.pv_w.unwrap_or(0.0);
        s.load += v.sample.load_w.unwrap_or(0.0);
        s.surplus += v.sample.surplus_w;
        s.car += v.draw.mean_w();
        s.grid += v.grid_w;
        s.soc = v.soc_pct;
        self.has_pv_load = v.sample.pv_w.is_some();
    }

    fn control(&mut self, v: &ControlView<'_>) {
        let s = std::mem::take(&mut self.sums);
        let n = s.n.max(1.0);
        let has = self.has_pv_load;
        self.rows.push(Row {
            t_ms: v.now.timestamp_millis(),
            pv_w: has.then_some(s.pv / n),
            load_w: has.then_some(s.load / n),
            surplus_w: s.surplus / n,
            car_w: s.car / n,
            grid_w: s.grid / n,
            soc_pct: s.soc,
            meter_grid_w: v.obs.meter.map(|m| m.value.balance.grid(Watts::ZERO).0),
            command: v.decision.command,
            sent: v.sent,
            offered_a: v.offered_a,
            clamp: v.decision.clamp,
            reason: v.decision.reason.to_string(),
            factors: v.decision.factors,
        });
    }
}
