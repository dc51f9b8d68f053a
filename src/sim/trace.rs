//! The per-policy trace: one row per controller step, for the CSV, the plot and debugging.
//!
//! Owns: [`Trace`] (an [`Observer`] that averages the physics since the previous row and records the
//! decision with its reason, clamp and factors) and its CSV writer. Power columns are means over the
//! interval ending at the row's time; decision columns are what the controller did then. A row is kept
//! every controller step, or every `every_ms` for long runs ([`row_interval_ms`]) so that a year with
//! `--out` stays a few hundred thousand rows. The car's starts and stops are kept exactly, per
//! physics step, for the plots' markers.

use super::run::{ControlView, Observer, PhysicsView};
use crate::control::actuate::Request;
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
    pub sent: Option<Request>,
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

/// Rows kept at most, about: beyond it rows are spaced further apart than the controller's interval.
pub const MAX_ROWS: i64 = 200_000;

/// The spacing of trace rows for a run of `span_ms` with the controller every `interval_ms`: every
/// controller step, or a multiple of it that keeps the trace within [`MAX_ROWS`].
pub fn row_interval_ms(span_ms: i64, interval_ms: i64) -> i64 {
    let interval_ms = interval_ms.max(1);
    let steps = span_ms / interval_ms;
    interval_ms * (steps / MAX_ROWS + 1).max(1)
}

#[derive(Debug, Clone)]
pub struct Trace {
    pub tz: Tz,
    pub rows: Vec<Row>,
    /// When the car started (`true`) or stopped (`false`) drawing, as `charge_starts` counts them.
    pub events: Vec<(i64, bool)>,
    drawing: bool,
    sums: Sums,
    has_pv_load: bool,
    every_ms: i64,
    next_ms: i64,
}

impl Trace {
    /// A trace keeping a row every controller step.
    pub fn new(tz: Tz) -> Trace {
        Trace::every(tz, 0)
    }

    /// A trace keeping at most a row every `every_ms`.
    pub fn every(tz: Tz, every_ms: i64) -> Trace {
        Trace {
            tz,
            rows: Vec::new(),
            events: Vec::new(),
            drawing: false,
            sums: Sums::default(),
            has_pv_load: false,
            every_ms,
            next_ms: i64::MIN,
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
        let drawing = v.draw.is_drawing();
        if drawing != self.drawing {
            self.events.push((v.t_ms, drawing));
            self.drawing = drawing;
        }
    }

    fn control(&mut self, v: &ControlView<'_>) {
        let now_ms = v.now.timestamp_millis();
        if now_ms < self.next_ms {
            return;
        }
        self.next_ms = now_ms + self.every_ms;
        let s = std::mem::take(&mut self.sums);
        let n = s.n.max(1.0);
        let has = self.has_pv_load;
        self.rows.push(Row {
            t_ms: now_ms,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_get_coarser_rows() {
        let day = 86_400_000;
        assert_eq!(
            row_interval_ms(day, 5000),
            5000,
            "a day: every controller step"
        );
        let year = 365 * day;
        let every = row_interval_ms(year, 5000);
        assert_eq!(every % 5000, 0);
        assert!(year / every <= MAX_ROWS, "{} rows", year / every);
    }
}
