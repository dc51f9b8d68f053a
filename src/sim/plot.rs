//! The simulator's charts, as SVG text: the comparison of every policy's car power over the surplus
//! with their starts and stops ([`comparison`]), one policy's run in detail ([`policy`]: PV, house
//! load, car, the grid line as 1-min means over its raw extremes, and the SoC in its own panel), and
//! the `--out` file per policy ([`svg`]).
//!
//! Owns: what each chart shows and the policies' colours ([`colour`]: one per policy, the same in
//! every chart, table and page). Drawing primitives are in [`super::svg`]; the data comes as
//! [`Series`] (already cut to the plotted window and averaged).

use super::Metrics;
use super::series::Series;
use super::svg::{Frame, LEFT, RIGHT, WIDTH, nice_ticks, open_titled, text};
use std::fmt::Write;

/// Colour-blind-safe colours (Okabe–Ito), none of them the surplus's amber.
const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#000000",
];
/// Beyond six policies the colours repeat with dashes.
const DASHES: [&str; 3] = ["", " stroke-dasharray=\"8 4\"", " stroke-dasharray=\"2 3\""];

pub(super) const SUN: &str = "#F2B705";
const LOAD: &str = "#8a8a8a";
const GRID: &str = "#333333";

/// The colour of the `i`-th policy.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

pub(super) fn dash(i: usize) -> &'static str {
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

pub(super) fn kw(v: f64) -> String {
    let s = format!("{:.1}", v / 1000.0);
    if s == "-0.0" { "0.0".into() } else { s }
}

/// A legend entry: a swatch (`line` or `area`) and its label; returns the entry's width.
pub(super) fn legend_item(
    out: &mut String,
    x: f64,
    y: f64,
    colour: &str,
    kind: &str,
    label: &str,
) -> f64 {
    match kind {
        "area" => {
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"18\" height=\"12\" fill=\"{colour}\" fill-opacity=\"0.35\" stroke=\"{colour}\"/>",
                y - 10.0
            );
        }
        "band" => {
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"18\" height=\"12\" fill=\"{colour}\" fill-opacity=\"0.18\"/>",
                y - 10.0
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"3\"{kind}/>",
                x + 18.0,
                y - 4.0,
                y - 4.0
            );
        }
    }
    text(out, x + 24.0, y, "start", 13.0, "", label);
    24.0 + 7.6 * label.chars().count() as f64 + 22.0
}

/// A start (▲, filled) or stop (▽, hollow) marker centred at (x, y).
fn marker(out: &mut String, x: f64, y: f64, colour: &str, start: bool) {
    let (a, b) = if start { (-6.0, 5.0) } else { (6.0, -5.0) };
    let fill = if start { colour } else { "#fff" };
    let _ = writeln!(
        out,
        "<path d=\"M{:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"1.5\"/>",
        x,
        y + a,
        x - 5.5,
        y + b,
        x + 5.5,
        y + b
    );
}

/// Every policy's car power over the surplus, with one lane of start/stop markers per policy.
/// `runs` are (policy, series) in table order; they share one window.
pub fn comparison(title: &str, runs: &[(&str, &Series)]) -> String {
    let Some((_, first)) = runs.first() else {
        return String::new();
    };
    let lane = 22.0;
    let top = 58.0;
    let panel = 300.0;
    let lanes_top = top + panel + 30.0;
    let height = lanes_top + lane * runs.len() as f64 + 34.0;
    let hi = runs
        .iter()
        .flat_map(|(_, s)| s.buckets.iter().map(|b| b.car_w.max(b.surplus_w)))
        .fold(1000.0, f64::max);
    let ticks = nice_ticks(0.0, hi * 1.05, 6);
    let f = Frame::full_width(
        (first.from_ms as f64, first.to_ms as f64),
        (0.0, ticks.last().copied().unwrap_or(hi).max(hi)),
        top,
        panel,
    );
    let mut o = open_titled(height, title);
    let _ = writeln!(o, "<g class=\"legend\">");
    let mut x = LEFT;
    x += legend_item(&mut o, x, 46.0, SUN, "area", "surplus (PV − house load)");
    for (i, (name, _)) in runs.iter().enumerate() {
        x += legend_item(&mut o, x, 46.0, colour(i), dash(i), name);
    }
    marker(&mut o, x + 6.0, 42.0, "#444", true);
    text(&mut o, x + 16.0, 46.0, "start", 13.0, "", "start");
    marker(&mut o, x + 66.0, 42.0, "#444", false);
    text(&mut o, x + 76.0, 46.0, "start", 13.0, "", "stop");
    let _ = writeln!(o, "</g>");
    f.y_axis(&mut o, &ticks, &kw);
    text(
        &mut o,
        LEFT - 8.0,
        top - 12.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "kW",
    );
    f.x_axis(&mut o, first.tz, true);
    f.area(
        &mut o,
        &first.points(|b| b.surplus_w.max(0.0)),
        0.0,
        &format!("fill=\"{SUN}\" fill-opacity=\"0.35\" stroke=\"{SUN}\" stroke-width=\"1\""),
    );
    for (i, (_, s)) in runs.iter().enumerate() {
        f.line(
            &mut o,
            &s.points(|b| b.car_w),
            &format!(
                "stroke=\"{}\" stroke-width=\"2\" stroke-opacity=\"0.9\"{}",
                colour(i),
                dash(i)
            ),
        );
    }
    for (i, (name, s)) in runs.iter().enumerate() {
        let y = lanes_top + lane * i as f64 + lane / 2.0;
        let _ = writeln!(
            o,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
            WIDTH - RIGHT
        );
        text(
            &mut o,
            LEFT - 8.0,
            y + 4.5,
            "end",
            13.0,
            &format!(" fill=\"{}\"", colour(i)),
            name,
        );
        for &(t, start) in &s.events {
            marker(&mut o, f.px(t as f64), y, colour(i), start);
        }
        let starts = s.starts();
        text(
            &mut o,
            WIDTH - RIGHT,
            y - 7.0,
            "end",
            12.0,
            " fill=\"#555\"",
            &format!("{starts} start{}", if starts == 1 { "" } else { "s" }),
        );
    }
    text(
        &mut o,
        LEFT,
        height - 8.0,
        "start",
        12.0,
        " fill=\"#555\"",
        &format!(
            "1-min means, local time ({}); ▲ the car starts drawing, ▽ it stops",
            first.tz
        ),
    );
    o.push_str("</svg>\n");
    o
}

/// One policy's run: powers over the window, the grid line smoothed over its raw extremes, starts
/// and stops on the time axis, and the SoC (with the target dashed) in a small panel below.
pub fn policy(title: &str, name: &str, index: usize, s: &Series, target_soc: f64) -> String {
    let c = colour(index);
    let top = 58.0;
    let panel = 260.0;
    let soc_top = top + panel + 52.0;
    let soc_h = 90.0;
    let height = soc_top + soc_h + 44.0;
    let b = &s.buckets;
    let hi = b
        .iter()
        .map(|b| {
            b.pv_w
                .max(b.load_w)
                .max(b.car_w)
                .max(b.grid_hi_w)
                .max(b.surplus_w)
        })
        .fold(1000.0, f64::max);
    let lo = b.iter().map(|b| b.grid_lo_w).fold(0.0, f64::min);
    let ticks = nice_ticks(lo, hi * 1.05, 7);
    let f = Frame::full_width(
        (s.from_ms as f64, s.to_ms as f64),
        (
            ticks.first().copied().unwrap_or(lo).min(lo),
            ticks.last().copied().unwrap_or(hi).max(hi),
        ),
        top,
        panel,
    );
    let mut o = open_titled(height, title);
    let _ = writeln!(o, "<g class=\"legend\">");
    let mut x = LEFT;
    if s.has_pv_load {
        x += legend_item(&mut o, x, 46.0, SUN, "area", "PV");
        x += legend_item(
            &mut o,
            x,
            46.0,
            LOAD,
            " stroke-dasharray=\"5 3\"",
            "house load",
        );
    } else {
        x += legend_item(&mut o, x, 46.0, SUN, "area", "surplus (PV − house load)");
    }
    x += legend_item(&mut o, x, 46.0, c, dash(index), &format!("car ({name})"));
    x += legend_item(&mut o, x, 46.0, GRID, "", "grid, 1-min mean (import +)");
    x += legend_item(&mut o, x, 46.0, GRID, "band", "grid, raw range");
    legend_item(&mut o, x, 46.0, c, " stroke-dasharray=\"6 4\"", "SoC");
    let _ = writeln!(o, "</g>");
    f.y_axis(&mut o, &ticks, &kw);
    text(
        &mut o,
        LEFT - 8.0,
        top - 12.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "kW",
    );
    f.x_axis(&mut o, s.tz, true);
    let sun = if s.has_pv_load {
        s.points(|b| b.pv_w)
    } else {
        s.points(|b| b.surplus_w.max(0.0))
    };
    f.area(
        &mut o,
        &sun,
        0.0,
        &format!("fill=\"{SUN}\" fill-opacity=\"0.3\" stroke=\"{SUN}\" stroke-width=\"1\""),
    );
    if s.has_pv_load {
        f.line(
            &mut o,
            &s.points(|b| b.load_w),
            &format!("stroke=\"{LOAD}\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\""),
        );
    }
    let xs: Vec<f64> = b.iter().map(|b| b.t_ms as f64).collect();
    let lo_v: Vec<f64> = b.iter().map(|b| b.grid_lo_w).collect();
    let hi_v: Vec<f64> = b.iter().map(|b| b.grid_hi_w).collect();
    f.band(
        &mut o,
        &xs,
        &lo_v,
        &hi_v,
        &format!("fill=\"{GRID}\" fill-opacity=\"0.18\""),
    );
    f.line(
        &mut o,
        &s.points(|b| b.grid_w),
        &format!("stroke=\"{GRID}\" stroke-width=\"1.2\""),
    );
    f.line(
        &mut o,
        &s.points(|b| b.car_w),
        &format!("stroke=\"{c}\" stroke-width=\"2.2\"{}", dash(index)),
    );
    for &(t, start) in &s.events {
        marker(&mut o, f.px(t as f64), f.bottom() - 8.0, c, start);
    }

    let soc = Frame {
        y0: 0.0,
        y1: 100.0,
        top: soc_top,
        height: soc_h,
        ..f
    };
    text(
        &mut o,
        LEFT - 8.0,
        soc_top - 8.0,
        "end",
        13.0,
        " fill=\"#555\"",
        "SoC %",
    );
    soc.y_axis(&mut o, &[0.0, 50.0, 100.0], &|v| format!("{v:.0}"));
    soc.x_axis(&mut o, s.tz, true);
    let ty = soc.py(target_soc.clamp(0.0, 100.0));
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#777\" stroke-dasharray=\"4 4\"/>",
        WIDTH - RIGHT
    );
    text(
        &mut o,
        WIDTH - RIGHT - 4.0,
        ty - 5.0,
        "end",
        12.0,
        " fill=\"#555\"",
        &format!("target {target_soc:.0} %"),
    );
    soc.line(
        &mut o,
        &s.points(|b| b.soc_pct),
        &format!("stroke=\"{c}\" stroke-width=\"2\" stroke-dasharray=\"6 4\""),
    );
    text(
        &mut o,
        LEFT,
        height - 8.0,
        "start",
        12.0,
        " fill=\"#555\"",
        &format!(
            "local time ({}); ▲ the car starts drawing, ▽ it stops; buckets of {} s",
            s.tz,
            s.bucket_ms / 1000
        ),
    );
    o.push_str("</svg>\n");
    o
}

/// The `--out` file of one policy: its detailed chart, titled with the scenario and its scores.
pub fn svg(series: &Series, index: usize, scenario: &str, m: &Metrics, target: f64) -> String {
    let title = format!(
        "{}: {scenario}, solar share {:.3}, oracle capture {:.3}, {} starts",
        m.policy, m.solar_share, m.oracle_capture, m.charge_starts
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        policy(&title, &m.policy, index, series, target)
    )
}
