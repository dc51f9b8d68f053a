//! The plan chart of a policy that plans (`planner`, `target-by-departure` with `use_plan`): the
//! grid power the plan bought per slot as it was at plug-in and as re-planned, over the car's actual
//! power and the part of it the grid gave, with the solar surplus behind; the planned start marked;
//! the import price in its own panel below.
//!
//! Owns: [`plan`]. The data comes as a [`Series`] with its [`Series::plan`] overlay set; drawing
//! primitives are [`super::svg`]'s and the legend swatches and policy colours [`super::plot`]'s.

use super::plans::Segment;
use super::plot::{SUN, colour, dash, kw, legend_item};
use super::series::Series;
use super::svg::{Frame, LEFT, nice_ticks, open_titled, text};
use chrono::DateTime;
use std::fmt::Write;

const PLANNED: &str = "#000000";
const REPLANNED: &str = "#7f7f7f";
const CAR_GRID: &str = "#555555";
const PRICE: &str = "#8c510a";

/// Step-line points of segments clipped to `[from, to]`, broken (NaN) where they do not join.
fn steps(segs: &[Segment], from: f64, to: f64, value: impl Fn(&Segment) -> f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(segs.len() * 2);
    for s in segs {
        let (a, b) = ((s.start_ms as f64).max(from), (s.end_ms as f64).min(to));
        if b <= a {
            continue;
        }
        if let Some(&(x, _)) = out.last()
            && x != a
        {
            out.push((x, f64::NAN));
        }
        out.push((a, value(s)));
        out.push((b, value(s)));
    }
    out
}

/// The plan chart, or an empty string when the series has no plan.
pub fn plan(title: &str, name: &str, index: usize, s: &Series) -> String {
    let Some(p) = &s.plan else {
        return String::new();
    };
    let c = colour(index);
    let (from, to) = (s.from_ms as f64, s.to_ms as f64);
    let top = 80.0;
    let panel = 240.0;
    let price_top = top + panel + 52.0;
    let price_h = 110.0;
    let height = price_top + price_h + 44.0;
    let planned = steps(&p.at_plug_in, from, to, |g| g.grid_w);
    let replanned = steps(&p.followed, from, to, |g| g.grid_w);
    let car_grid = s.points(|b| (b.car_w - b.surplus_w.max(0.0)).clamp(0.0, b.car_w.max(0.0)));
    let hi = s
        .buckets
        .iter()
        .map(|b| b.car_w.max(b.surplus_w))
        .chain(planned.iter().chain(&replanned).map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(1000.0, f64::max);
    let ticks = nice_ticks(0.0, hi * 1.05, 6);
    let f = Frame::full_width(
        (from, to),
        (0.0, ticks.last().copied().unwrap_or(hi).max(hi)),
        top,
        panel,
    );
    let mut o = open_titled(height, title);
    let start = p
        .start_ms
        .and_then(DateTime::from_timestamp_millis)
        .map(|t| t.with_timezone(&s.tz).format("%a %H:%M").to_string());
    text(
        &mut o,
        LEFT,
        44.0,
        "start",
        13.0,
        " fill=\"#333\"",
        &format!(
            "At plug-in: planned start {}, expected cost of the grid energy {:.2} €",
            start.as_deref().unwrap_or("none (the sun covers it)"),
            p.cost
        ),
    );
    let _ = writeln!(o, "<g class=\"legend\">");
    let mut x = LEFT;
    let y = 68.0;
    x += legend_item(&mut o, x, y, SUN, "area", "surplus");
    x += legend_item(&mut o, x, y, c, dash(index), &format!("car ({name})"));
    x += legend_item(&mut o, x, y, CAR_GRID, "area", "car from the grid");
    x += legend_item(
        &mut o,
        x,
        y,
        PLANNED,
        " stroke-dasharray=\"7 4\"",
        "grid planned at plug-in",
    );
    x += legend_item(&mut o, x, y, REPLANNED, "", "grid as re-planned");
    legend_item(&mut o, x, y, PRICE, "", "import price");
    let _ = writeln!(o, "</g>");
    f.y_axis(&mut o, &ticks, &kw);
    text(
        &mut o,
        LEFT - 8.0,
        top - 8.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "kW",
    );
    f.x_axis(&mut o, s.tz, true);
    f.area(
        &mut o,
        &s.points(|b| b.surplus_w.max(0.0)),
        0.0,
        &format!("fill=\"{SUN}\" fill-opacity=\"0.25\" stroke=\"{SUN}\" stroke-width=\"1\""),
    );
    f.area(
        &mut o,
        &car_grid,
        0.0,
        &format!("fill=\"{CAR_GRID}\" fill-opacity=\"0.35\" stroke=\"none\""),
    );
    f.line(
        &mut o,
        &s.points(|b| b.car_w),
        &format!("stroke=\"{c}\" stroke-width=\"2\"{}", dash(index)),
    );
    f.line(
        &mut o,
        &replanned,
        &format!("stroke=\"{REPLANNED}\" stroke-width=\"2\""),
    );
    f.line(
        &mut o,
        &planned,
        &format!("stroke=\"{PLANNED}\" stroke-width=\"2\" stroke-dasharray=\"7 4\""),
    );
    if let Some(t) = p
        .start_ms
        .map(|t| t as f64)
        .filter(|t| *t >= from && *t <= to)
    {
        let px = f.px(t);
        let _ = writeln!(
            o,
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{PLANNED}\" stroke-dasharray=\"2 3\"/>",
            f.top,
            f.bottom()
        );
        text(
            &mut o,
            px + 4.0,
            f.top + 16.0,
            "start",
            12.0,
            " fill=\"#333\"",
            "planned start",
        );
    }

    let price_pts = steps(&p.prices, from, to, |g| g.price);
    let (lo, hi) = price_pts
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo.min(0.0), hi.max(lo + 0.01))
    } else {
        (0.0, 1.0)
    };
    let pticks = nice_ticks(lo, hi, 4);
    let pf = Frame {
        y0: pticks.first().copied().unwrap_or(lo).min(lo),
        y1: pticks.last().copied().unwrap_or(hi).max(hi),
        top: price_top,
        height: price_h,
        ..f
    };
    text(
        &mut o,
        LEFT - 8.0,
        price_top - 8.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "€/kWh",
    );
    pf.y_axis(&mut o, &pticks, &|v| format!("{v:.2}"));
    pf.x_axis(&mut o, s.tz, true);
    pf.line(
        &mut o,
        &price_pts,
        &format!("stroke=\"{PRICE}\" stroke-width=\"2\""),
    );
    text(
        &mut o,
        LEFT,
        height - 8.0,
        "start",
        12.0,
        " fill=\"#555\"",
        &format!(
            "local time ({}); the plans' grid power is the mean over each slot; the car's lines are 1-min means",
            s.tz
        ),
    );
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_join_adjacent_segments_and_break_at_gaps() {
        let seg = |a: i64, b: i64, w: f64| Segment {
            start_ms: a,
            end_ms: b,
            grid_w: w,
            price: 0.0,
        };
        let pts = steps(
            &[seg(0, 10, 1.0), seg(10, 20, 2.0), seg(30, 40, 3.0)],
            5.0,
            35.0,
            |s| s.grid_w,
        );
        assert_eq!(pts[0], (5.0, 1.0), "clipped to the window");
        assert_eq!(&pts[1..4], &[(10.0, 1.0), (10.0, 2.0), (20.0, 2.0)]);
        assert!(
            pts[4].1.is_nan() && pts[4].0 == 20.0,
            "a gap breaks the line"
        );
        assert_eq!(&pts[5..], &[(30.0, 3.0), (35.0, 3.0)]);
    }
}
