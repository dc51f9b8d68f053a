//! What `--out` writes for a site with several loadpoints: per run a CSV of one-minute means, an SVG
//! with the cars' power **stacked per car** over the surplus, and `report.html` with the site's and
//! each car's figures.
//!
//! Owns: [`SiteTrace`] (a [`SiteObserver`] averaging the physics per minute, with each car's starts),
//! [`svg`] (the stacked chart) and [`write_out`]. The chart's layers, bottom up, are the cars in
//! loadpoint order; the line on top is the surplus (PV − house load) and the dashed one the grid.

use super::car::Draw;
use super::input::Sample;
use super::page::{Provenance, page};
use super::plot::colour;
use super::site::{SiteFinished, SiteSimulation, summary};
use super::site_run::SiteObserver;
use super::svg::{Frame, LEFT, escape, nice_ticks, open, text};
use chrono_tz::Tz;
use std::fmt::Write;
use std::path::Path;

/// One bucket's means, W, and the SoCs at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub t_ms: i64,
    pub pv_w: f64,
    pub load_w: f64,
    pub surplus_w: f64,
    pub grid_w: f64,
    pub car_w: Vec<f64>,
    pub soc_pct: Vec<f64>,
}

/// The per-minute record of a site run.
#[derive(Debug, Clone)]
pub struct SiteTrace {
    pub tz: Tz,
    pub names: Vec<String>,
    pub every_ms: i64,
    pub buckets: Vec<Bucket>,
    /// Each car's starts (ms).
    pub starts: Vec<Vec<i64>>,
    acc: Option<(Bucket, u32)>,
    drawing: Vec<bool>,
}

impl SiteTrace {
    pub fn new(sim: &SiteSimulation) -> SiteTrace {
        let n = sim.scenario.loadpoints.len();
        SiteTrace {
            tz: sim.scenario.tz,
            names: sim
                .scenario
                .loadpoints
                .iter()
                .map(|l| l.name.clone())
                .collect(),
            every_ms: 60_000,
            buckets: Vec::new(),
            starts: vec![Vec::new(); n],
            acc: None,
            drawing: vec![false; n],
        }
    }

    fn close(&mut self) {
        if let Some((mut b, k)) = self.acc.take() {
            let k = f64::from(k.max(1));
            for v in [&mut b.pv_w, &mut b.load_w, &mut b.surplus_w, &mut b.grid_w] {
                *v /= k;
            }
            for v in &mut b.car_w {
                *v /= k;
            }
            self.buckets.push(b);
        }
    }

    /// The CSV: one row per minute.
    pub fn csv(&self) -> String {
        let mut s = String::from("time,pv_w,load_w,surplus_w,grid_w");
        for n in &self.names {
            let _ = write!(s, ",{n}_w");
        }
        for n in &self.names {
            let _ = write!(s, ",{n}_soc_pct");
        }
        s.push('\n');
        for b in self.finished() {
            let t = chrono::DateTime::from_timestamp_millis(b.t_ms).unwrap_or_default();
            let _ = write!(
                s,
                "{},{:.1},{:.1},{:.1},{:.1}",
                t.format("%Y-%m-%dT%H:%M:%SZ"),
                b.pv_w,
                b.load_w,
                b.surplus_w,
                b.grid_w
            );
            for w in &b.car_w {
                let _ = write!(s, ",{w:.1}");
            }
            for p in &b.soc_pct {
                let _ = write!(s, ",{p:.2}");
            }
            s.push('\n');
        }
        s
    }

    /// Every bucket, the last one (still open) included.
    pub fn finished(&self) -> Vec<Bucket> {
        let mut t = self.clone();
        t.close();
        t.buckets
    }
}

impl SiteObserver for SiteTrace {
    fn physics(&mut self, t_ms: i64, sample: &Sample, draws: &[Draw], socs: &[f64], grid_w: f64) {
        for (k, d) in draws.iter().enumerate() {
            let on = d.is_drawing();
            if on && !self.drawing[k] {
                self.starts[k].push(t_ms);
            }
            self.drawing[k] = on;
        }
        let slot = t_ms - t_ms.rem_euclid(self.every_ms);
        if self.acc.as_ref().is_some_and(|(b, _)| b.t_ms != slot) {
            self.close();
        }
        let (b, k) = self.acc.get_or_insert_with(|| {
            (
                Bucket {
                    t_ms: slot,
                    pv_w: 0.0,
                    load_w: 0.0,
                    surplus_w: 0.0,
                    grid_w: 0.0,
                    car_w: vec![0.0; draws.len()],
                    soc_pct: vec![0.0; draws.len()],
                },
                0,
            )
        });
        b.pv_w += sample.pv_w.unwrap_or(0.0);
        b.load_w += sample.load_w.unwrap_or(0.0);
        b.surplus_w += sample.surplus_w;
        b.grid_w += grid_w;
        for (w, d) in b.car_w.iter_mut().zip(draws) {
            *w += d.mean_w();
        }
        b.soc_pct.copy_from_slice(socs);
        *k += 1;
    }
}

fn kw(v: f64) -> String {
    let s = format!("{:.1}", v / 1000.0);
    if s == "-0.0" { "0.0".into() } else { s }
}

/// The stacked chart of one run.
pub fn svg(title: &str, trace: &SiteTrace) -> String {
    let buckets = trace.finished();
    let height = 420.0;
    let mut out = open(height, title);
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        out.push_str("</svg>\n");
        return out;
    };
    let total = |b: &Bucket| b.car_w.iter().sum::<f64>();
    let hi = buckets
        .iter()
        .map(|b| b.surplus_w.max(total(b)).max(b.grid_w))
        .fold(1000.0, f64::max);
    let lo = buckets.iter().map(|b| b.grid_w).fold(0.0, f64::min);
    let frame = Frame::full_width(
        (first.t_ms as f64, last.t_ms as f64),
        (lo, hi * 1.05),
        50.0,
        height - 100.0,
    );
    text(
        &mut out,
        LEFT,
        24.0,
        "start",
        15.0,
        " font-weight=\"600\"",
        title,
    );
    frame.y_axis(&mut out, &nice_ticks(lo, hi, 6), &|v| {
        format!("{} kW", kw(v))
    });
    frame.x_axis(&mut out, trace.tz, true);
    // The cars, stacked in loadpoint order.
    let xs: Vec<f64> = buckets.iter().map(|b| b.t_ms as f64).collect();
    let mut base = vec![0.0; buckets.len()];
    for k in 0..trace.names.len() {
        let top: Vec<f64> = buckets
            .iter()
            .zip(&base)
            .map(|(b, under)| under + b.car_w.get(k).copied().unwrap_or(0.0))
            .collect();
        frame.band(
            &mut out,
            &xs,
            &base,
            &top,
            &format!(
                "fill=\"{}\" fill-opacity=\"0.55\" stroke=\"none\"",
                colour(k)
            ),
        );
        base = top;
    }
    let surplus: Vec<(f64, f64)> = buckets
        .iter()
        .map(|b| (b.t_ms as f64, b.surplus_w.max(0.0)))
        .collect();
    frame.line(&mut out, &surplus, "stroke=\"#F2B705\" stroke-width=\"2\"");
    let grid: Vec<(f64, f64)> = buckets.iter().map(|b| (b.t_ms as f64, b.grid_w)).collect();
    frame.line(
        &mut out,
        &grid,
        "stroke=\"#333\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"",
    );
    // Legend.
    let mut x = LEFT;
    let y = height - 14.0;
    for (k, n) in trace.names.iter().enumerate() {
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"18\" height=\"12\" fill=\"{}\" fill-opacity=\"0.55\"/>",
            y - 10.0,
            colour(k)
        );
        let starts = trace.starts[k].len();
        let label = format!("{n} ({starts} start{})", if starts == 1 { "" } else { "s" });
        text(&mut out, x + 24.0, y, "start", 13.0, "", &label);
        x += 24.0 + 7.6 * label.chars().count() as f64 + 22.0;
    }
    for (label, style) in [
        (
            "surplus (PV − house)",
            "stroke=\"#F2B705\" stroke-width=\"3\"",
        ),
        (
            "grid",
            "stroke=\"#333\" stroke-width=\"2\" stroke-dasharray=\"5 4\"",
        ),
    ] {
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" {style}/>",
            x + 18.0,
            y - 4.0,
            y - 4.0
        );
        text(&mut out, x + 24.0, y, "start", 13.0, "", label);
        x += 24.0 + 7.6 * label.chars().count() as f64 + 22.0;
    }
    out.push_str("</svg>\n");
    out
}

/// Write each run's CSV and SVG and `report.html` into `dir`. Returns the number of files written.
pub fn write_out(
    dir: &Path,
    sim: &SiteSimulation,
    finished: &[SiteFinished],
    wall_ms: u64,
    prov: &Provenance,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut body = format!("<h1>{}</h1>\n", escape(&sim.scenario.name));
    body.push_str(&prov.html());
    for line in summary(sim) {
        let _ = writeln!(body, "<p class=\"sub\">{}</p>", escape(&line));
    }
    let mut n = 0;
    for f in finished {
        let Some(trace) = &f.trace else { continue };
        let stem = super::file_stem(&f.metrics.policy);
        std::fs::write(dir.join(format!("{stem}.csv")), trace.csv())?;
        let chart = svg(
            &format!("{}: car power stacked per car", f.metrics.policy),
            trace,
        );
        std::fs::write(
            dir.join(format!("{stem}.svg")),
            format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{chart}"),
        )?;
        n += 2;
        let _ = writeln!(body, "<h2>{}</h2>", escape(&f.metrics.policy));
        let mut cols = vec![&f.metrics];
        cols.extend(f.metrics.loadpoints.iter());
        body.push_str("<table><tr><th></th><th>site</th>");
        for m in &f.metrics.loadpoints {
            let _ = write!(body, "<th>{}</th>", escape(&m.policy));
        }
        body.push_str("</tr>\n");
        for (label, cells) in super::report::rows(&cols) {
            let _ = write!(body, "<tr><td>{}</td>", escape(label.trim()));
            for c in cells {
                let _ = write!(body, "<td>{}</td>", escape(&super::site::not_a_number(c)));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</table>\n<figure>");
        body.push_str(&chart);
        body.push_str("</figure>\n");
    }
    let _ = writeln!(
        body,
        "<p class=\"sub\">{} runs × {} steps in {wall_ms} ms; each run's one-minute means are in its CSV beside this page.</p>",
        finished.len(),
        sim.steps()
    );
    std::fs::write(
        dir.join("report.html"),
        page(&format!("{}: sunplug simulation", sim.scenario.name), &body),
    )?;
    Ok(n + 1)
}
