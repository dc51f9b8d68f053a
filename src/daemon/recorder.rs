//! Recording what the service saw and did, as daily CSV files `sunplug simulate` can replay.
//!
//! Owns: [`Recorder`] and [`Row`]. One file per local day, `recordings/YYYY-MM-DD.csv` in the state
//! directory, with UTC RFC 3339 times and the column names the simulator reads: `net_w` (house load −
//! PV without the car, what a grid meter shows minus the car) for `--net`, `pv_w` / `load_w` for
//! `--pv` / `--load` when the meter gives them (empty cells otherwise), plus what happened (car power,
//! SoC, command, policy). A site with several loadpoints records the site's rows (the car power is
//! every car's, so `net_w` stays the house without cars) plus each loadpoint's car power and
//! command in columns of its own ([`Recorder::with_columns`]). Old files are removed beyond `keep_days` or the `max_mb` budget, oldest
//! first, so a small box never fills its card.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const HEADER: &str = "time,net_w,grid_w,pv_w,load_w,car_w,soc_pct,command_a,policy\n";

/// One recorded step. `None` cells are written empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub time: DateTime<Utc>,
    pub grid_w: Option<f64>,
    pub pv_w: Option<f64>,
    pub load_w: Option<f64>,
    pub car_w: Option<f64>,
    pub soc_pct: Option<f64>,
    pub command_a: f64,
    pub policy: String,
    /// The recorder's extra columns ([`Recorder::with_columns`]), in order.
    pub extra: Vec<Option<f64>>,
}

impl Row {
    /// House load − PV without the car: the grid reading minus the car, or load − pv when known.
    pub fn net_w(&self) -> Option<f64> {
        match (self.grid_w, self.car_w, self.load_w, self.pv_w) {
            (_, _, Some(l), Some(p)) => Some(l - p),
            (Some(g), Some(c), _, _) => Some(g - c),
            _ => None,
        }
    }

    fn line(&self) -> String {
        let cell = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
        let policy: String = self
            .policy
            .chars()
            .filter(|c| !matches!(c, ',' | '"' | '\n' | '\r'))
            .collect();
        let extra: String = self
            .extra
            .iter()
            .map(|v| format!(",{}", cell(*v)))
            .collect();
        format!(
            "{},{},{},{},{},{},{},{:.2},{}{extra}\n",
            self.time.format("%Y-%m-%dT%H:%M:%SZ"),
            cell(self.net_w()),
            cell(self.grid_w),
            cell(self.pv_w),
            cell(self.load_w),
            cell(self.car_w),
            cell(self.soc_pct),
            self.command_a,
            policy
        )
    }
}

#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    tz: Tz,
    keep_days: u32,
    max_bytes: u64,
    open: Option<(NaiveDate, BufWriter<File>)>,
    /// Columns after the standard ones (each loadpoint's car power and command on a site).
    columns: Vec<String>,
}

impl Recorder {
    pub fn new(dir: PathBuf, tz: Tz, keep_days: u32, max_mb: u64) -> Recorder {
        Recorder {
            dir,
            tz,
            keep_days,
            max_bytes: max_mb.saturating_mul(1024 * 1024),
            open: None,
            columns: Vec::new(),
        }
    }

    /// Extra columns after the standard ones, e.g. `garage_car_w`: each row's `extra` fills them.
    pub fn with_columns(mut self, columns: Vec<String>) -> Recorder {
        self.columns = columns;
        self
    }

    /// The file a day is written to.
    pub fn path_for(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{}.csv", day.format("%Y-%m-%d")))
    }

    /// Append a row, opening the day's file (and pruning old ones) when the local day changes.
    pub fn record(&mut self, row: &Row) -> std::io::Result<()> {
        let day = row.time.with_timezone(&self.tz).date_naive();
        if self.open.as_ref().is_none_or(|(d, _)| *d != day) {
            self.flush()?;
            std::fs::create_dir_all(&self.dir)?;
            let path = self.path_for(day);
            let new = !path.exists();
            let mut w = BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)?,
            );
            if new {
                let header = HEADER.trim_end();
                let extra: String = self.columns.iter().map(|c| format!(",{c}")).collect();
                w.write_all(format!("{header}{extra}\n").as_bytes())?;
            }
            self.open = Some((day, w));
            self.prune(day)?;
        }
        if let Some((_, w)) = &mut self.open {
            w.write_all(row.line().as_bytes())?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some((_, w)) = &mut self.open {
            w.flush()?;
        }
        Ok(())
    }

    /// Remove recordings older than `keep_days`, then the oldest until the total fits `max_mb`.
    /// Today's file is never removed.
    fn prune(&self, today: NaiveDate) -> std::io::Result<()> {
        let mut files: Vec<(NaiveDate, PathBuf, u64)> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let day = NaiveDate::parse_from_str(name.strip_suffix(".csv")?, "%Y-%m-%d").ok()?;
                Some((day, e.path(), e.metadata().ok()?.len()))
            })
            .collect();
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.2).sum();
        for (day, path, len) in files {
            if day == today {
                continue;
            }
            let too_old = (today - day).num_days() >= i64::from(self.keep_days);
            if too_old || total > self.max_bytes {
                remove(&path)?;
                total = total.saturating_sub(len);
            }
        }
        Ok(())
    }
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: &str, grid: f64, car: f64) -> Row {
        Row {
            time: t.parse().unwrap(),
            grid_w: Some(grid),
            car_w: Some(car),
            command_a: 6.0,
            policy: "pv-only".into(),
            ..Row::default()
        }
    }

    #[test]
    fn writes_one_file_per_local_day_with_the_simulator_columns() {
        let dir = tempfile::tempdir().unwrap();
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        let mut r = Recorder::new(dir.path().to_path_buf(), tz, 30, 100);
        r.record(&row("2026-06-01T21:59:00Z", -500.0, 4140.0))
            .unwrap(); // 23:59 local
        r.record(&row("2026-06-01T22:01:00Z", 200.0, 0.0)).unwrap(); // 00:01 local, next day
        r.flush().unwrap();
        let day1 = std::fs::read_to_string(dir.path().join("2026-06-01.csv")).unwrap();
        assert!(day1.starts_with("time,net_w,"), "{day1}");
        assert!(
            day1.contains("2026-06-01T21:59:00Z,-4640.0,-500.0,,,4140.0,,6.00,pv-only"),
            "{day1}"
        );
        assert!(dir.path().join("2026-06-02.csv").exists());
    }

    #[test]
    fn prunes_old_days_and_keeps_within_budget() {
        let dir = tempfile::tempdir().unwrap();
        for d in 1..=9 {
            std::fs::write(
                dir.path().join(format!("2026-05-0{d}.csv")),
                vec![b'x'; 600 * 1024],
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
        let mut r = Recorder::new(dir.path().to_path_buf(), Tz::UTC, 5, 2);
        r.record(&row("2026-05-10T12:00:00Z", 0.0, 0.0)).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // Older than 5 days: gone. Of the rest, the oldest go until ≤ 2 MB.
        assert_eq!(
            left,
            vec![
                "2026-05-07.csv",
                "2026-05-08.csv",
                "2026-05-09.csv",
                "2026-05-10.csv",
                "notes.txt"
            ]
        );
    }
}
