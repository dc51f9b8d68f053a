//! Time series the plan reads (prices, a solar forecast) and the slot grid of its horizon.
//!
//! Owns: [`Series`] (values over half-open UTC intervals, as providers publish them: hourly or
//! 15-min), [`slot_grid`] (the horizon cut at whole multiples of the slot length, so a DST night is
//! simply one slot-hour shorter or longer), [`local_hour_table`] (a time-of-use table of 24 local
//! hours laid out over a span, through chrono-tz) and [`slots`] (the plan's input, one slot each).

use super::SlotInput;
use crate::units::Watts;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// One value over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub value: f64,
}

/// Values over time, sorted by start, not overlapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    points: Vec<Point>,
}

impl Series {
    /// Sort the points and drop any that overlap an earlier one or are empty or not finite.
    pub fn new(mut points: Vec<Point>) -> Series {
        points.retain(|p| p.end > p.start && p.value.is_finite());
        points.sort_by_key(|p| p.start);
        let mut out: Vec<Point> = Vec::with_capacity(points.len());
        for p in points {
            if out.last().is_none_or(|l| p.start >= l.end) {
                out.push(p);
            }
        }
        Series { points: out }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The end of the last point.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.points.last().map(|p| p.end)
    }

    /// The mean over `[start, end)` of the part the series covers, when it covers at least half.
    pub fn mean(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<f64> {
        let span = (end - start).num_milliseconds();
        if span <= 0 {
            return None;
        }
        let first = self.points.partition_point(|p| p.end <= start);
        let (mut covered, mut sum) = (0i64, 0.0);
        for p in self.points[first..].iter().take_while(|p| p.start < end) {
            let ms = (p.end.min(end) - p.start.max(start)).num_milliseconds();
            if ms > 0 {
                covered += ms;
                sum += p.value * ms as f64;
            }
        }
        (covered * 2 >= span).then(|| sum / covered as f64)
    }

    /// Each value mapped (e.g. spot per MWh → the user's price per kWh).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Series {
        Series::new(
            self.points
                .iter()
                .map(|p| Point {
                    value: f(p.value),
                    ..*p
                })
                .collect(),
        )
    }
}

/// `[now, until)` cut at whole multiples of `slot` since the epoch (the first slot may be partial).
pub fn slot_grid(
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    slot: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let len = slot.num_milliseconds().max(60_000);
    let mut out = Vec::new();
    let mut t = now;
    while t < until {
        let next_ms = (t.timestamp_millis().div_euclid(len) + 1) * len;
        let next = Utc
            .timestamp_millis_opt(next_ms)
            .single()
            .unwrap_or(until)
            .min(until);
        out.push((t, next));
        t = next;
    }
    out
}

/// A table of 24 prices by local hour (0..23), laid out as hourly points over `[from, until)`.
/// A spring-forward night has no 02:00 hour; an autumn one has two, both priced at 02:00.
pub fn local_hour_table(
    table: &[f64; 24],
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Series {
    let hour = Duration::hours(1);
    let points = slot_grid(from, until, hour)
        .into_iter()
        .map(|(start, end)| Point {
            start,
            end,
            value: table[start.with_timezone(&tz).hour() as usize % 24],
        })
        .collect();
    Series::new(points)
}

/// The plan's slots over `[now, until)`: the price from `prices` where it covers the slot, else
/// `fallback_price`; the surplus from `forecast` where it covers the slot, else none.
pub fn slots(
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    slot: Duration,
    prices: Option<&Series>,
    fallback_price: f64,
    forecast: Option<&Series>,
) -> Vec<SlotInput> {
    slot_grid(now, until, slot)
        .into_iter()
        .map(|(start, end)| SlotInput {
            start,
            end,
            price: prices
                .and_then(|p| p.mean(start, end))
                .unwrap_or(fallback_price),
            surplus: Watts(forecast.and_then(|f| f.mean(start, end)).unwrap_or(0.0)),
        })
        .collect()
}
