//! What a chart plots of one policy's run: the trace cut to the window worth looking at and
//! averaged into buckets (1-min means on a day, coarser on long runs), with the raw extremes of the
//! grid line kept per bucket, and the car's starts and stops.
//!
//! Owns: [`Series`] (built from a [`Trace`], small enough to keep for every day of a corpus) and
//! [`window`] (the plug-in window, else the sun's day, with the night trimmed).

use super::Simulation;
use super::trace::Trace;

/// A bucket's width at least (the grid line's smoothing), ms.
pub const BUCKET_MS: i64 = 60_000;
/// Buckets per series at most: about one per pixel of a chart.
pub const MAX_BUCKETS: usize = 1200;

/// One bucket: means over it (W; SoC at its end, %), and the raw grid line's extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The bucket's middle, ms since the epoch.
    pub t_ms: i64,
    pub pv_w: f64,
    pub load_w: f64,
    pub surplus_w: f64,
    pub car_w: f64,
    pub grid_w: f64,
    pub grid_lo_w: f64,
    pub grid_hi_w: f64,
    pub soc_pct: f64,
}

/// One run's plotted data over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub tz: chrono_tz::Tz,
    pub from_ms: i64,
    pub to_ms: i64,
    pub bucket_ms: i64,
    pub has_pv_load: bool,
    pub buckets: Vec<Bucket>,
    /// Starts (`true`) and stops (`false`) within the window.
    pub events: Vec<(i64, bool)>,
    /// The departure plan over the window, for a policy that planned (set by the caller, who has
    /// the run's plans and the tariff).
    pub plan: Option<super::plans::Overlay>,
}

impl Series {
    /// Bucket the rows of `trace` that fall in `[from_ms, to_ms)`.
    pub fn from_trace(trace: &Trace, (from_ms, to_ms): (i64, i64)) -> Series {
        let span = (to_ms - from_ms).max(1);
        let bucket_ms = BUCKET_MS.max((span as u64).div_ceil(MAX_BUCKETS as u64) as i64);
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut n = 0.0;
        let mut cur: Option<(i64, Bucket)> = None;
        let close = |k: i64, mut b: Bucket, n: f64, out: &mut Vec<Bucket>| {
            for v in [
                &mut b.pv_w,
                &mut b.load_w,
                &mut b.surplus_w,
                &mut b.car_w,
                &mut b.grid_w,
            ] {
                *v /= n;
            }
            b.t_ms = from_ms + k * bucket_ms + bucket_ms / 2;
            out.push(b);
        };
        for r in trace
            .rows
            .iter()
            .filter(|r| r.t_ms > from_ms && r.t_ms <= to_ms)
        {
            let k = (r.t_ms - 1 - from_ms) / bucket_ms;
            if let Some((ck, b)) = cur.take_if(|(ck, _)| *ck != k) {
                close(ck, b, n, &mut buckets);
            }
            let (_, b) = cur.get_or_insert_with(|| {
                n = 0.0;
                (
                    k,
                    Bucket {
                        t_ms: 0,
                        pv_w: 0.0,
                        load_w: 0.0,
                        surplus_w: 0.0,
                        car_w: 0.0,
                        grid_w: 0.0,
                        grid_lo_w: f64::INFINITY,
                        grid_hi_w: f64::NEG_INFINITY,
                        soc_pct: 0.0,
                    },
                )
            });
            n += 1.0;
            b.pv_w += r.pv_w.unwrap_or(0.0);
            b.load_w += r.load_w.unwrap_or(0.0);
            b.surplus_w += r.surplus_w;
            b.car_w += r.car_w;
            b.grid_w += r.grid_w;
            b.grid_lo_w = b.grid_lo_w.min(r.grid_w);
            b.grid_hi_w = b.grid_hi_w.max(r.grid_w);
            b.soc_pct = r.soc_pct;
        }
        if let Some((k, b)) = cur {
            close(k, b, n, &mut buckets);
        }
        Series {
            tz: trace.tz,
            from_ms,
            to_ms,
            bucket_ms,
            has_pv_load: trace.has_pv_and_load(),
            buckets,
            events: trace
                .events
                .iter()
                .copied()
                .filter(|(t, _)| *t >= from_ms && *t <= to_ms)
                .collect(),
            plan: None,
        }
    }

    /// (t, value) pairs of one column.
    pub fn points(&self, f: impl Fn(&Bucket) -> f64) -> Vec<(f64, f64)> {
        self.buckets.iter().map(|b| (b.t_ms as f64, f(b))).collect()
    }

    pub fn starts(&self) -> usize {
        self.events.iter().filter(|e| e.1).count()
    }
}

/// The part of the run worth plotting: from the first plug-in to the last departure when the
/// scenario has plug-in times, else the sun's day (first to last PV, or positive surplus, with half
/// an hour each side), on whole hours; the whole run when neither says more.
pub fn window(sim: &Simulation, trace: &Trace) -> (i64, i64) {
    const H: i64 = 3_600_000;
    let (start, end) = (sim.input.start_ms, sim.input.end_ms);
    let car = &sim.scenario.car;
    if car.plug_in.is_some() && car.departure.is_some() && !sim.sessions.is_empty() {
        let lo = sim
            .sessions
            .iter()
            .map(|s| s.plug_ms)
            .min()
            .unwrap_or(start);
        let hi = sim
            .sessions
            .iter()
            .map(|s| s.depart_ms)
            .max()
            .unwrap_or(end);
        return (lo.max(start), hi.min(end));
    }
    let sunny = |r: &&super::trace::Row| r.pv_w.map_or(r.surplus_w > 0.0, |p| p > 0.0);
    let first = trace.rows.iter().find(sunny).map(|r| r.t_ms);
    let last = trace.rows.iter().rev().find(sunny).map(|r| r.t_ms);
    match (first, last) {
        (Some(a), Some(b)) if b > a => {
            let lo = (a - H / 2).div_euclid(H) * H;
            let hi = (b + H / 2 + H - 1).div_euclid(H) * H;
            (lo.max(start), hi.min(end))
        }
        _ => (start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::trace::Row;

    fn row(t_ms: i64, grid_w: f64, car_w: f64) -> Row {
        Row {
            t_ms,
            pv_w: Some(1000.0),
            load_w: Some(200.0),
            surplus_w: 800.0,
            car_w,
            grid_w,
            soc_pct: t_ms as f64 / 1e5,
            meter_grid_w: None,
            command: crate::control::Command::Pause,
            sent: None,
            offered_a: 0.0,
            clamp: None,
            reason: String::new(),
            factors: Default::default(),
        }
    }

    #[test]
    fn buckets_are_minute_means_with_the_raw_extremes() {
        let mut t = Trace::new(chrono_tz::UTC);
        // Every 5 s for 3 minutes; the grid alternates -100 / +300 W.
        for i in 1..=36 {
            let g = if i % 2 == 0 { 300.0 } else { -100.0 };
            t.rows.push(row(i * 5000, g, 4000.0));
        }
        t.events = vec![(20_000, true), (500_000, false)];
        let s = Series::from_trace(&t, (0, 180_000));
        assert_eq!(s.bucket_ms, 60_000);
        assert_eq!(s.buckets.len(), 3);
        let b = s.buckets[1];
        assert_eq!(b.t_ms, 90_000);
        assert!((b.grid_w - 100.0).abs() < 1e-9, "{b:?}");
        assert_eq!((b.grid_lo_w, b.grid_hi_w), (-100.0, 300.0));
        assert_eq!(b.car_w, 4000.0);
        assert_eq!(b.soc_pct, 1.2, "the SoC at the bucket's end");
        assert_eq!(s.events, vec![(20_000, true)], "only the window's events");
        assert_eq!(s.starts(), 1);
    }

    #[test]
    fn long_runs_get_wider_buckets() {
        let mut t = Trace::new(chrono_tz::UTC);
        let day = 86_400_000;
        for i in 0..(7 * 24 * 12) {
            t.rows.push(row(i * 300_000, 0.0, 0.0));
        }
        let s = Series::from_trace(&t, (0, 7 * day));
        assert!(s.buckets.len() <= MAX_BUCKETS, "{}", s.buckets.len());
        assert!(s.bucket_ms > BUCKET_MS);
    }
}
