//! Replay data: CSV time series of PV, house load or net power, read strictly and interpolated.
//!
//! Owns: [`Series`] (one column of one file, checked), [`read_series`], [`DataError`] (file, line and
//! what to do) and [`Cursor`] (linear interpolation at increasing times, allocation-free).
//!
//! The format is the one of `../shared/data`: a header line, a `time` column in RFC 3339 (any offset,
//! converted to UTC) and a power column in W (`pv_w`, `load_w` or `net_w`); other columns are ignored.
//! By default a row is the **mean over [time, time + step)** (how the shared data is labelled), so its
//! value is placed at the interval's centre before interpolating; `label = "instant"` places it at
//! `time`. Gaps (a step more than twice the file's usual step) up to `max_gap` are bridged by the
//! interpolation and noted; longer ones are an error naming the lines, because inventing an hour of
//! sunshine would make every metric a guess.

use chrono::{DateTime, Utc};
use std::fmt;
use std::path::{Path, PathBuf};

/// How a row's time relates to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// The value is the mean over [time, time + step) (the shared data's convention).
    Start,
    /// The value was measured at `time`.
    Instant,
}

/// A problem with a data file, with the line when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}

/// One power column of one file, checked, ready to interpolate. Times are ms since the Unix epoch.
#[derive(Debug, Clone)]
pub struct Series {
    pub file: PathBuf,
    pub column: String,
    /// Where each value holds (interval centres for `Label::Start`), strictly increasing.
    times: Vec<i64>,
    values: Vec<f64>,
    /// Slope to the next point, W per ms (0 after the last point).
    slopes: Vec<f64>,
    /// The span the file covers: [start, end).
    pub start_ms: i64,
    pub end_ms: i64,
    /// The file's usual step.
    pub step_ms: i64,
    /// Remarks for the report: bridged gaps, clamped values.
    pub notes: Vec<String>,
}

/// Read `column` of `file`, scaled by `scale`. `allow_negative` is for net series; PV and load values
/// below zero (inverter standby draw) are clamped to zero and noted.
pub fn read_series(
    file: &Path,
    column: &str,
    scale: f64,
    label: Label,
    max_gap_ms: i64,
    allow_negative: bool,
) -> Result<Series, DataError> {
    let err = |line: Option<u64>, message: String| DataError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| {
            err(
                None,
                format!("cannot read the data file: {}", io_reason(&e)),
            )
        })?;
    let headers = reader
        .headers()
        .map_err(|e| err(Some(1), format!("cannot read the header line: {e}")))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let have = headers.iter().collect::<Vec<_>>().join(",");
    let time_col = find("time").ok_or_else(|| {
        err(
            Some(1),
            format!("no `time` column in the header \"{have}\""),
        )
    })?;
    let value_col = find(column).ok_or_else(|| {
        err(
            Some(1),
            format!(
                "no `{column}` column in the header \"{have}\": this file is read for {column}"
            ),
        )
    })?;

    let mut raw: Vec<(i64, f64, u64)> = Vec::new();
    let mut clamped = 0usize;
    let mut skipped = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line());
            err(line, format!("not a valid CSV row: {}", csv_reason(&e)))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let t_text = record.get(time_col).unwrap_or("");
        let t = DateTime::parse_from_rfc3339(t_text).map_err(|_| {
            err(
                Some(line),
                format!("time \"{t_text}\" is not an RFC 3339 time (e.g. 2016-06-17T12:00:00Z)"),
            )
        })?;
        let v_text = record.get(value_col).unwrap_or("");
        if v_text.is_empty() {
            // No value at that time (a recording made while the meter was silent): a gap, bridged
            // or refused below like any other.
            skipped += 1;
            continue;
        }
        let v: f64 = v_text
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                err(
                    Some(line),
                    format!("{column} \"{v_text}\" is not a number of watts"),
                )
            })?;
        let v = if v < 0.0 && !allow_negative {
            clamped += 1;
            0.0
        } else {
            v
        };
        let t_ms = t.with_timezone(&Utc).timestamp_millis();
        if let Some((prev, _, prev_line)) = raw.last()
            && t_ms <= *prev
        {
            return Err(err(
                Some(line),
                format!(
                    "time {t_text} is not after the previous row's (line {prev_line}): rows must be in \
                         increasing time order without duplicates"
                ),
            ));
        }
        raw.push((t_ms, v * scale, line));
    }
    if raw.len() < 2 {
        return Err(err(
            None,
            format!("needs at least two rows of data, found {}", raw.len()),
        ));
    }

    let step_ms = usual_step(&raw);
    let mut notes = Vec::new();
    if skipped > 0 {
        notes.push(format!(
            "{}: {skipped} rows without a {column} value skipped",
            file.display()
        ));
    }
    if clamped > 0 {
        notes.push(format!(
            "{}: {clamped} negative {column} values read as 0 (inverter standby draw?)",
            file.display()
        ));
    }
    for w in raw.windows(2) {
        let gap = w[1].0 - w[0].0;
        if gap > 2 * step_ms {
            let (from, to) = (fmt_ms(w[0].0), fmt_ms(w[1].0));
            if gap > max_gap_ms.max(step_ms) {
                return Err(err(
                    Some(w[1].2),
                    format!(
                        "no data between {from} (line {}) and {to}: a gap of {}, longer than [data] max_gap ({}); \
                         fill it, cut the scenario with [data] start/end, or raise max_gap",
                        w[0].2,
                        fmt_dur(gap),
                        fmt_dur(max_gap_ms)
                    ),
                ));
            }
            notes.push(format!(
                "{}: lines {}–{}: {} gap from {from} to {to} interpolated",
                file.display(),
                w[0].2,
                w[1].2,
                fmt_dur(gap)
            ));
        }
    }

    let shift = if label == Label::Start {
        step_ms / 2
    } else {
        0
    };
    let times: Vec<i64> = raw.iter().map(|r| r.0 + shift).collect();
    let values: Vec<f64> = raw.iter().map(|r| r.1).collect();
    let mut slopes: Vec<f64> = times
        .windows(2)
        .zip(values.windows(2))
        .map(|(t, v)| (v[1] - v[0]) / (t[1] - t[0]) as f64)
        .collect();
    slopes.push(0.0);
    let start_ms = raw[0].0;
    let end_ms = raw[raw.len() - 1].0 + if label == Label::Start { step_ms } else { 0 };
    Ok(Series {
        file: file.to_path_buf(),
        column: column.to_string(),
        times,
        values,
        slopes,
        start_ms,
        end_ms,
        step_ms,
        notes,
    })
}

impl Series {
    /// A series from points (for tests and synthetic data); times in ms, values held at those times.
    pub fn from_points(name: &str, points: &[(i64, f64)], step_ms: i64) -> Series {
        let times: Vec<i64> = points.iter().map(|p| p.0).collect();
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mut slopes: Vec<f64> = times
            .windows(2)
            .zip(values.windows(2))
            .map(|(t, v)| (v[1] - v[0]) / (t[1] - t[0]) as f64)
            .collect();
        slopes.push(0.0);
        Series {
            file: PathBuf::from(name),
            column: name.to_string(),
            start_ms: times.first().copied().unwrap_or(0),
            end_ms: times.last().copied().unwrap_or(0) + step_ms,
            times,
            values,
            slopes,
            step_ms,
            notes: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The value at `t_ms`, by linear interpolation; held flat before the first and after the last point.
    /// `cursor` makes a sweep in increasing time O(1) per call.
    #[inline]
    pub fn at(&self, cursor: &mut Cursor, t_ms: i64) -> f64 {
        let n = self.times.len();
        let mut i = cursor.0;
        if i > 0 && self.times[i] > t_ms {
            i = 0; // went back in time: restart (only in tests)
        }
        while i + 1 < n && self.times[i + 1] <= t_ms {
            i += 1;
        }
        cursor.0 = i;
        if t_ms <= self.times[0] {
            return self.values[0];
        }
        self.values[i] + self.slopes[i] * (t_ms - self.times[i]) as f64
    }
}

/// Position of an interpolation sweep.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor(usize);

/// The most common step between rows (the median, robust to a few gaps).
fn usual_step(raw: &[(i64, f64, u64)]) -> i64 {
    let mut d: Vec<i64> = raw.windows(2).map(|w| w[1].0 - w[0].0).collect();
    d.sort_unstable();
    d[d.len() / 2]
}

pub fn fmt_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn fmt_dur(ms: i64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
}

fn io_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "no such file".into()
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const MIN: i64 = 60_000;

    #[test]
    fn interval_means_are_centred_and_interpolated() {
        let f = file(
            "time,ghi,pv_w\n2016-06-17T00:00:00Z,1,0\n2016-06-17T00:01:00Z,1,600\n2016-06-17T00:02:00Z,1,600\n",
        );
        let s = read_series(f.path(), "pv_w", 1.0, Label::Start, 15 * MIN, false).unwrap();
        assert_eq!(s.step_ms, MIN);
        assert_eq!(s.end_ms - s.start_ms, 3 * MIN);
        let mut c = Cursor::default();
        let t0 = s.start_ms;
        assert_eq!(s.at(&mut c, t0), 0.0, "held before the first centre");
        assert_eq!(s.at(&mut c, t0 + 30_000), 0.0);
        assert_eq!(
            s.at(&mut c, t0 + 60_000),
            300.0,
            "halfway between the centres"
        );
        assert_eq!(s.at(&mut c, t0 + 90_000), 600.0);
        assert_eq!(s.at(&mut c, t0 + 10 * MIN), 600.0, "held after the last");
    }

    #[test]
    fn bad_rows_name_the_file_and_line() {
        let f = file("time,load_w\n2016-06-17T00:00:00Z,100\n2016-06-17T00:01:00Z,abc\n");
        let e = read_series(f.path(), "load_w", 1.0, Label::Start, MIN, false).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            e.to_string().contains(":3: load_w \"abc\" is not a number"),
            "{e}"
        );

        let f = file("time,load_w\n2016-06-17 00:00,100\n");
        let e = read_series(f.path(), "load_w", 1.0, Label::Start, MIN, false).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("RFC 3339"), "{e}");

        let f = file("time,pv_w\n2016-06-17T00:00:00Z,1\n2016-06-17T00:00:00Z,2\n");
        let e = read_series(f.path(), "pv_w", 1.0, Label::Start, MIN, false).unwrap_err();
        assert!(e.message.contains("increasing time order"), "{e}");

        let f = file("time,pv_w\n2016-06-17T00:00:00Z,1\n2016-06-17T00:01:00Z,2,3\n");
        let e = read_series(f.path(), "pv_w", 1.0, Label::Start, MIN, false).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("3 fields"), "{e}");
    }

    #[test]
    fn missing_file_and_column() {
        let e = read_series(
            Path::new("/nonexistent/pv.csv"),
            "pv_w",
            1.0,
            Label::Start,
            MIN,
            false,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("/nonexistent/pv.csv: cannot read the data file: no such file"),
            "{e}"
        );
        let f = file("time,power\n2016-06-17T00:00:00Z,1\n");
        let e = read_series(f.path(), "pv_w", 1.0, Label::Start, MIN, false).unwrap_err();
        assert!(
            e.message.contains("no `pv_w` column") && e.message.contains("time,power"),
            "{e}"
        );
    }

    #[test]
    fn short_gaps_are_bridged_and_long_ones_refused() {
        let mut text = String::from("time,pv_w\n");
        for m in (0..10).chain(14..20) {
            text.push_str(&format!("2016-06-17T10:{m:02}:00Z,{}\n", m * 100));
        }
        let f = file(&text);
        let s = read_series(f.path(), "pv_w", 1.0, Label::Instant, 10 * MIN, false).unwrap();
        assert_eq!(s.notes.len(), 1, "{:?}", s.notes);
        assert!(s.notes[0].contains("lines 11–12"), "{:?}", s.notes);
        let mut c = Cursor::default();
        let t = s.start_ms + 11 * MIN + 30_000;
        assert!(
            (s.at(&mut c, t) - 1150.0).abs() < 1e-9,
            "straight line across the gap"
        );

        let e = read_series(f.path(), "pv_w", 1.0, Label::Instant, 2 * MIN, false).unwrap_err();
        assert_eq!(e.line, Some(12));
        assert!(
            e.message.contains("a gap of 5m") && e.message.contains("max_gap"),
            "{e}"
        );
    }

    #[test]
    fn negative_pv_is_clamped_and_noted_but_net_keeps_its_sign() {
        let f = file("time,pv_w,net_w\n2016-06-17T00:00:00Z,-3,-500\n2016-06-17T00:01:00Z,5,200\n");
        let s = read_series(f.path(), "pv_w", 2.0, Label::Instant, MIN, false).unwrap();
        assert_eq!(s.notes.len(), 1);
        let mut c = Cursor::default();
        assert_eq!(s.at(&mut c, s.start_ms), 0.0);
        assert_eq!(s.at(&mut c, s.start_ms + MIN), 10.0, "scaled");
        let n = read_series(f.path(), "net_w", 1.0, Label::Instant, MIN, true).unwrap();
        assert_eq!(n.at(&mut Cursor::default(), n.start_ms), -500.0);
    }
}
