//! One SVG plot per policy run: PV, house load, car power and grid power over the day, and the SoC.
//!
//! Owns: [`svg`]. Powers in kW on the left axis (grid import positive, export below zero), SoC in %
//! on the right, local time of the site along the bottom. Long traces are averaged into at most
//! [`MAX_POINTS`] points per series so the file stays small.

use super::Metrics;
use super::trace::{Row, Trace};
use chrono::{DateTime, Timelike, Utc};
use plotters::prelude::*;

/// Points per series at most.
pub const MAX_POINTS: usize = 2400;

const PV: RGBColor = RGBColor(230, 160, 0);
const LOAD: RGBColor = RGBColor(110, 110, 110);
const CAR: RGBColor = RGBColor(0, 100, 200);
const GRID: RGBColor = RGBColor(200, 40, 40);
const SOC: RGBColor = RGBColor(0, 140, 60);

/// Averaged points: (hours since the first local midnight, pv, load, car, grid, soc, surplus).
fn points(trace: &Trace) -> Vec<[f64; 7]> {
    let rows = &trace.rows;
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let local = |ms: i64| {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&trace.tz)
    };
    let f = local(first.t_ms);
    let midnight_ms = first.t_ms
        - i64::from(f.num_seconds_from_midnight()) * 1000
        - i64::from(f.nanosecond() / 1_000_000);
    let bucket = rows.len().div_ceil(MAX_POINTS).max(1);
    rows.chunks(bucket)
        .map(|c: &[Row]| {
            let n = c.len() as f64;
            let mean = |g: &dyn Fn(&Row) -> f64| c.iter().map(g).sum::<f64>() / n;
            [
                (c[c.len() / 2].t_ms - midnight_ms) as f64 / 3.6e6,
                mean(&|r| r.pv_w.unwrap_or(0.0)) / 1000.0,
                mean(&|r| r.load_w.unwrap_or(0.0)) / 1000.0,
                mean(&|r| r.car_w) / 1000.0,
                mean(&|r| r.grid_w) / 1000.0,
                c[c.len() - 1].soc_pct,
                mean(&|r| r.surplus_w) / 1000.0,
            ]
        })
        .collect()
}

/// The plot as SVG text.
pub fn svg(trace: &Trace, scenario: &str, m: &Metrics) -> anyhow::Result<String> {
    let pts = points(trace);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1100, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let (x0, x1) = match (pts.first(), pts.last()) {
            (Some(a), Some(b)) if b[0] > a[0] => (a[0], b[0]),
            _ => (0.0, 24.0),
        };
        let hi = pts
            .iter()
            .flat_map(|p| [p[1], p[2], p[3], p[4]])
            .fold(1.0, f64::max);
        let lo = pts.iter().map(|p| p[4].min(-p[6])).fold(0.0, f64::min);
        let caption = format!(
            "{scenario}: {}  (solar share {:.3}, oracle capture {:.3}, {} starts)",
            m.policy, m.solar_share, m.oracle_capture, m.charge_starts
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .right_y_label_area_size(52)
            .build_cartesian_2d(x0..x1, (lo * 1.05)..(hi * 1.08))?
            .set_secondary_coord(x0..x1, 0.0..100.0);
        chart
            .configure_mesh()
            .x_desc(format!("local time ({})", trace.tz))
            .y_desc("kW (grid: import +)")
            .x_label_formatter(&|h| {
                let mins = (h.rem_euclid(24.0) * 60.0).round() as i64;
                format!("{:02}:{:02}", mins / 60 % 24, mins % 60)
            })
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart.configure_secondary_axes().y_desc("SoC %").draw()?;

        let series = |i: usize| pts.iter().map(move |p| (p[0], p[i]));
        if trace.has_pv_and_load() {
            chart
                .draw_series(
                    AreaSeries::new(series(1), 0.0, PV.mix(0.25)).border_style(PV.stroke_width(1)),
                )?
                .label("PV")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], PV.mix(0.5).filled())
                });
            chart
                .draw_series(LineSeries::new(series(2), LOAD.stroke_width(1)))?
                .label("house load")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], LOAD.stroke_width(2)));
        } else {
            chart
                .draw_series(
                    AreaSeries::new(series(6), 0.0, PV.mix(0.25)).border_style(PV.stroke_width(1)),
                )?
                .label("surplus (pv − load)")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], PV.mix(0.5).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(series(3), CAR.stroke_width(2)))?
            .label("car")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], CAR.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(series(4), GRID.stroke_width(1)))?
            .label("grid")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], GRID.stroke_width(2)));
        chart
            .draw_secondary_series(LineSeries::new(series(5), SOC.stroke_width(2)))?
            .label("SoC (right axis)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], SOC.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        root.present()?;
    }
    Ok(buf)
}
