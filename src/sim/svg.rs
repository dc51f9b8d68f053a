//! A small SVG kit for the simulator's charts: a [`Frame`] mapping data to pixels, lines, areas and
//! bands that skip missing values, "nice" value ticks and local-time ticks.
//!
//! Owns: drawing primitives only. What is drawn where (the charts themselves) is [`super::plot`];
//! the page around them is [`super::page`]. Every text this module writes is at least
//! [`MIN_FONT_PX`] (the report is read at 1400 px, where the SVGs are drawn 1:1).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt::Write;

/// The smallest font size any chart text uses, px.
pub const MIN_FONT_PX: f64 = 12.0;
/// The charts' width in px (the page's content width, so they are drawn 1:1 at 1400 px).
pub const WIDTH: f64 = 1320.0;
/// Left margin for value labels and lane names; right margin for the secondary axis.
pub const LEFT: f64 = 110.0;
pub const RIGHT: f64 = 24.0;

/// Escape text for XML/HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The opening tag of a chart: sized in px, scaled down by CSS on narrower pages.
pub fn open(height: f64, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-label=\"{}\" font-family=\"system-ui, sans-serif\" \
         font-size=\"13\" fill=\"#222\">\n<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/>\n",
        escape(label)
    )
}

/// The opening tag of a chart with its title in the top left, as the report's charts have it.
pub fn open_titled(height: f64, title: &str) -> String {
    let mut o = open(height, title);
    text(
        &mut o,
        LEFT,
        22.0,
        "start",
        16.0,
        " font-weight=\"600\"",
        title,
    );
    o
}

/// Text at (x, y); `anchor` is `start`, `middle` or `end`.
pub fn text(out: &mut String, x: f64, y: f64, anchor: &str, size: f64, extra: &str, s: &str) {
    let size = size.max(MIN_FONT_PX);
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\"{extra}>{}</text>",
        escape(s)
    );
}

/// A rectangle of the chart mapped to a data range: x in ms since the epoch, y in the series' unit.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    /// A plot of `x` × `y` across the chart's width (between the axis margin and the right margin),
    /// `height` px tall from `top`.
    pub fn full_width(x: (f64, f64), y: (f64, f64), top: f64, height: f64) -> Frame {
        Frame {
            x0: x.0,
            x1: x.1,
            y0: y.0,
            y1: y.1,
            left: LEFT,
            top,
            width: WIDTH - LEFT - RIGHT,
            height,
        }
    }

    pub fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x0) / (self.x1 - self.x0).max(f64::EPSILON) * self.width
    }
    pub fn py(&self, y: f64) -> f64 {
        self.top + self.height - (y - self.y0) / (self.y1 - self.y0).max(f64::EPSILON) * self.height
    }
    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    fn coords(&self, pts: &[(f64, f64)]) -> String {
        let mut s = String::with_capacity(pts.len() * 12);
        for (x, y) in pts {
            let _ = write!(s, "{:.1},{:.1} ", self.px(*x), self.py(*y));
        }
        s.pop();
        s
    }

    /// A line through the points; a NaN value breaks it (a gap).
    pub fn line(&self, out: &mut String, pts: &[(f64, f64)], attrs: &str) {
        for run in pts.split(|p| !p.1.is_finite()).filter(|r| r.len() > 1) {
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke-linejoin=\"round\" {attrs} points=\"{}\"/>",
                self.coords(run)
            );
        }
    }

    /// The area between the points and `base`.
    pub fn area(&self, out: &mut String, pts: &[(f64, f64)], base: f64, attrs: &str) {
        for run in pts.split(|p| !p.1.is_finite()).filter(|r| r.len() > 1) {
            let mut all = Vec::with_capacity(run.len() + 2);
            all.push((run[0].0, base));
            all.extend_from_slice(run);
            all.push((run[run.len() - 1].0, base));
            let _ = writeln!(out, "<polygon {attrs} points=\"{}\"/>", self.coords(&all));
        }
    }

    /// The band between `lo` and `hi` at the same x values.
    pub fn band(&self, out: &mut String, xs: &[f64], lo: &[f64], hi: &[f64], attrs: &str) {
        if xs.len() < 2 {
            return;
        }
        let mut all: Vec<(f64, f64)> = xs.iter().copied().zip(hi.iter().copied()).collect();
        all.extend(xs.iter().copied().zip(lo.iter().copied()).rev());
        let _ = writeln!(out, "<polygon {attrs} points=\"{}\"/>", self.coords(&all));
    }

    /// Horizontal grid lines with value labels on the left (`fmt` formats a value).
    pub fn y_axis(&self, out: &mut String, ticks: &[f64], fmt: &dyn Fn(f64) -> String) {
        for &v in ticks {
            let y = self.py(v);
            let stroke = if v == 0.0 { "#999" } else { "#e6e6e6" };
            let _ = writeln!(
                out,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{stroke}\"/>",
                self.left,
                self.left + self.width
            );
            text(out, self.left - 8.0, y + 4.5, "end", 13.0, "", &fmt(v));
        }
    }

    /// Vertical grid lines at local-time ticks, labelled under the frame when `labels`.
    pub fn x_axis(&self, out: &mut String, tz: Tz, labels: bool) {
        for (t, label) in time_ticks(self.x0 as i64, self.x1 as i64, tz) {
            let x = self.px(t as f64);
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e6e6e6\"/>",
                self.top,
                self.bottom()
            );
            if labels {
                text(out, x, self.bottom() + 17.0, "middle", 13.0, "", &label);
            }
        }
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#bbb\"/>",
            self.left, self.top, self.width, self.height
        );
    }
}

/// About `n` round values covering `lo..=hi` (1, 2 or 5 times a power of ten apart).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Ticks along a time axis at round local times, with their labels (`HH:MM`, or the date for spans
/// of days).
pub fn time_ticks(from_ms: i64, to_ms: i64, tz: Tz) -> Vec<(i64, String)> {
    const H: i64 = 3_600_000;
    let span = (to_ms - from_ms).max(1);
    let steps = [
        H / 4,
        H / 2,
        H,
        2 * H,
        3 * H,
        6 * H,
        12 * H,
        24 * H,
        48 * H,
        168 * H,
        720 * H,
    ];
    // Beyond a day and a half, whole days (labelled with their date).
    let step = steps
        .iter()
        .copied()
        .filter(|s| span <= 36 * H || *s >= 24 * H)
        .find(|s| span / s <= 14)
        .unwrap_or(720 * H);
    let Some(start) = DateTime::<Utc>::from_timestamp_millis(from_ms) else {
        return Vec::new();
    };
    let day = start.with_timezone(&tz).date_naive();
    let mut out = Vec::new();
    if step < 24 * H {
        // Round local times from the first local midnight, day by day (DST days have their own hours).
        let mut d = day;
        while out.len() < 200 {
            let Some(midnight) = tz
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
            else {
                break;
            };
            let mut t = midnight;
            let next = midnight + Duration::hours(30);
            while t < next && t.date_naive() == d {
                let ms = t.timestamp_millis();
                if ms > to_ms {
                    return out;
                }
                if ms >= from_ms {
                    out.push((ms, t.format("%H:%M").to_string()));
                }
                t += Duration::milliseconds(step);
            }
            d = d.succ_opt().unwrap_or(d);
        }
    } else {
        let days = step / (24 * H);
        let mut d = day;
        while out.len() < 200 {
            let Some(t) = tz
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
            else {
                break;
            };
            let ms = t.timestamp_millis();
            if ms > to_ms {
                break;
            }
            if ms >= from_ms {
                out.push((ms, t.format("%d %b").to_string()));
            }
            d += Duration::days(days);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            nice_ticks(-3.0, 11.0, 6),
            vec![-2.5, 0.0, 2.5, 5.0, 7.5, 10.0]
        );
    }

    #[test]
    fn time_ticks_follow_local_time() {
        let tz: Tz = "Europe/Zurich".parse().unwrap();
        // 17 June 2016, 07:00 to 20:00 local (UTC+2).
        let from = Utc
            .with_ymd_and_hms(2016, 6, 17, 5, 0, 0)
            .unwrap()
            .timestamp_millis();
        let to = Utc
            .with_ymd_and_hms(2016, 6, 17, 18, 0, 0)
            .unwrap()
            .timestamp_millis();
        let ticks = time_ticks(from, to, tz);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels.first(), Some(&"07:00"));
        assert_eq!(labels.last(), Some(&"20:00"));
        assert!(labels.contains(&"12:00"), "{labels:?}");
        let week = time_ticks(from, from + 7 * 86_400_000, tz);
        assert!(week.iter().all(|t| t.1.contains("Jun")), "{week:?}");
    }

    #[test]
    fn a_gap_breaks_a_line() {
        let f = Frame {
            x0: 0.0,
            x1: 10.0,
            y0: 0.0,
            y1: 1.0,
            left: 0.0,
            top: 0.0,
            width: 100.0,
            height: 10.0,
        };
        let mut s = String::new();
        f.line(
            &mut s,
            &[
                (0.0, 0.0),
                (1.0, 1.0),
                (2.0, f64::NAN),
                (3.0, 0.5),
                (4.0, 0.5),
            ],
            "stroke=\"#000\"",
        );
        assert_eq!(s.matches("<polyline").count(), 2, "{s}");
        assert!(s.contains("0.0,10.0 10.0,0.0"), "{s}");
    }
}
