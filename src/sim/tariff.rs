//! Money: the optional `[tariff]` of a scenario and what a run's car energy cost.
//!
//! Owns: [`TariffSpec`] (the section as written, checked), [`Prices`] (the tariff laid out per minute
//! of a simulation's span, so a run looks a price up by index and never touches a timezone) and
//! [`Money`] (a policy's `cost_eur` and `savings_eur`). Definitions (also in `simulations/README.md`):
//!
//! - `cost_eur` = grid energy the car took × the import price of its minute + solar energy the car took
//!   × the export (feed-in) price it forwent + charge starts × `start_eur` + the grid-side energy still
//!   missing at each departure × the cheapest import price of the day;
//! - `savings_eur` = the cost of the same need bought from the grid at the cheapest import price, minus
//!   `cost_eur`. A policy that never charges saves 0; one that buys at a dear hour can save less than 0.
//!
//! A day-ahead price list can come from a CSV (`import_csv`: `time,spot_eur_mwh`, one row per slot
//! start in RFC 3339, each valid until the next row, the last for as long as the one before it),
//! mapped to the household's price by `price = spot / 1000 × csv_factor + csv_adder_eur_kwh` (VAT
//! and fixed surcharges) and moved by `csv_shift_days` onto the data's days. Minutes it does not
//! cover cost `import_eur_kwh`.
//!
//! Without `[tariff]` the documented default applies: import 0.30 €/kWh flat, export 0.08 €/kWh,
//! 0.02 € per charge start (a Swiss/German household tariff of 2026 and a typical feed-in rate).

use chrono::{TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default import price, €/kWh.
pub const DEFAULT_IMPORT_EUR_KWH: f64 = 0.30;
/// The default export (feed-in) price, €/kWh.
pub const DEFAULT_EXPORT_EUR_KWH: f64 = 0.08;
/// The default cost of one charge start, €.
pub const DEFAULT_START_EUR: f64 = 0.02;

/// `[tariff]`: `import_eur_kwh` is either one number or 24 numbers (local hours 0..23).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TariffSpec {
    pub import_eur_kwh: ImportPrice,
    pub export_eur_kwh: f64,
    pub start_eur: f64,
    /// A day-ahead price list, relative to the scenario file.
    pub import_csv: Option<PathBuf>,
    pub csv_factor: f64,
    pub csv_adder_eur_kwh: f64,
    pub csv_shift_days: i64,
    /// The list as loaded: (start ms, end ms, €/kWh after the map and the shift).
    #[serde(skip)]
    pub csv: Vec<(i64, i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ImportPrice {
    Flat(f64),
    ByHour(Vec<f64>),
}

impl Default for TariffSpec {
    fn default() -> TariffSpec {
        TariffSpec {
            import_eur_kwh: ImportPrice::Flat(DEFAULT_IMPORT_EUR_KWH),
            export_eur_kwh: DEFAULT_EXPORT_EUR_KWH,
            start_eur: DEFAULT_START_EUR,
            import_csv: None,
            csv_factor: 1.0,
            csv_adder_eur_kwh: 0.0,
            csv_shift_days: 0,
            csv: Vec::new(),
        }
    }
}

impl TariffSpec {
    /// Report every problem through `push(key, message)`.
    pub fn check(&self, push: &mut impl FnMut(&str, String)) {
        let ok = |v: f64| v.is_finite() && (0.0..=10.0).contains(&v);
        match &self.import_eur_kwh {
            ImportPrice::Flat(v) if !ok(*v) => push(
                "tariff.import_eur_kwh",
                format!("{v} €/kWh is not plausible: use 0..10"),
            ),
            ImportPrice::ByHour(v) if v.len() != 24 => push(
                "tariff.import_eur_kwh",
                format!(
                    "a time-of-use table needs 24 prices (local hours 0..23), not {}",
                    v.len()
                ),
            ),
            ImportPrice::ByHour(v) => {
                if let Some((h, p)) = v.iter().enumerate().find(|(_, p)| !ok(**p)) {
                    push(
                        "tariff.import_eur_kwh",
                        format!("hour {h}: {p} €/kWh is not plausible: use 0..10"),
                    );
                }
            }
            ImportPrice::Flat(_) => {}
        }
        if !ok(self.export_eur_kwh) {
            push(
                "tariff.export_eur_kwh",
                format!("{} €/kWh is not plausible: use 0..10", self.export_eur_kwh),
            );
        }
        if !(self.start_eur.is_finite() && (0.0..=100.0).contains(&self.start_eur)) {
            push(
                "tariff.start_eur",
                format!(
                    "{} € per start is not plausible: use 0..100",
                    self.start_eur
                ),
            );
        }
    }

    /// Read `import_csv` (relative to `dir`), reporting a bad file or row through `push`.
    pub fn load_csv(&mut self, dir: &Path, push: &mut impl FnMut(&str, String)) {
        let Some(rel) = &self.import_csv else {
            return;
        };
        let factor_ok = self.csv_factor.is_finite() && (0.0..=10.0).contains(&self.csv_factor);
        let adder_ok = self.csv_adder_eur_kwh.is_finite() && self.csv_adder_eur_kwh.abs() <= 10.0;
        if !(factor_ok && adder_ok) {
            push(
                "tariff.csv_factor",
                "use a factor within 0..10 and an adder within ±10 €/kWh".into(),
            );
            return;
        }
        let path = dir.join(rel);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                push(
                    "tariff.import_csv",
                    format!("cannot read {}: {e}", path.display()),
                );
                return;
            }
        };
        match parse_price_csv(&text) {
            Ok(rows) => {
                let shift = self.csv_shift_days * 86_400_000;
                self.csv = rows
                    .into_iter()
                    .map(|(s, e, spot)| {
                        (
                            s + shift,
                            e + shift,
                            spot / 1000.0 * self.csv_factor + self.csv_adder_eur_kwh,
                        )
                    })
                    .collect();
            }
            Err(m) => push("tariff.import_csv", format!("{}: {m}", path.display())),
        }
    }

    /// The price list's price at `t_ms`, if it covers it.
    fn csv_at(&self, t_ms: i64) -> Option<f64> {
        let i = self.csv.partition_point(|r| r.1 <= t_ms);
        self.csv.get(i).filter(|r| r.0 <= t_ms).map(|r| r.2)
    }

    /// The import price at a local hour (0..23).
    pub fn import_at_hour(&self, hour: u32) -> f64 {
        match &self.import_eur_kwh {
            ImportPrice::Flat(v) => *v,
            ImportPrice::ByHour(v) => v[hour as usize % 24],
        }
    }

    /// The cheapest import price of the day.
    pub fn cheapest_import(&self) -> f64 {
        match &self.import_eur_kwh {
            ImportPrice::Flat(v) => *v,
            ImportPrice::ByHour(v) => v.iter().copied().fold(f64::INFINITY, f64::min),
        }
    }
}

/// `time,spot_eur_mwh` rows: (start ms, end ms, €/MWh). Each row lasts until the next; the last as
/// long as the one before it (an hour when alone).
pub fn parse_price_csv(text: &str) -> Result<Vec<(i64, i64, f64)>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "time,spot_eur_mwh" => {}
        _ => return Err("the header must be `time,spot_eur_mwh`".into()),
    }
    let mut starts: Vec<(i64, f64)> = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let (t, v) = line
            .split_once(',')
            .ok_or_else(|| format!("line {n}: expected `time,spot_eur_mwh`, got \"{line}\""))?;
        let t = chrono::DateTime::parse_from_rfc3339(t.trim())
            .map_err(|_| format!("line {n}: \"{t}\" is not an RFC 3339 time"))?
            .timestamp_millis();
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && v.abs() < 10_000.0)
            .ok_or_else(|| format!("line {n}: \"{v}\" is not a price in €/MWh"))?;
        if starts.last().is_some_and(|(last, _)| t <= *last) {
            return Err(format!("line {n}: times must increase"));
        }
        starts.push((t, v));
    }
    if starts.is_empty() {
        return Err("no prices".into());
    }
    let mut rows = Vec::with_capacity(starts.len());
    for (k, &(t, v)) in starts.iter().enumerate() {
        let end = match starts.get(k + 1) {
            Some((next, _)) => *next,
            None if k > 0 => t + (t - starts[k - 1].0),
            None => t + 3_600_000,
        };
        rows.push((t, end, v));
    }
    Ok(rows)
}

/// The tariff over a span, one import price per minute from `start_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    pub start_ms: i64,
    /// €/kWh per minute of the span.
    pub import: Vec<f64>,
    pub export: f64,
    pub start_eur: f64,
    pub cheapest: f64,
}

impl Prices {
    pub fn new(spec: &TariffSpec, tz: Tz, start_ms: i64, end_ms: i64) -> Prices {
        let minutes = ((end_ms - start_ms).max(0) as u64).div_ceil(60_000) as usize;
        let import = (0..minutes)
            .map(|m| {
                let t = start_ms + m as i64 * 60_000;
                let hour = Utc
                    .timestamp_millis_opt(t)
                    .single()
                    .map_or(0, |u| u.with_timezone(&tz).hour());
                spec.csv_at(t).unwrap_or_else(|| spec.import_at_hour(hour))
            })
            .collect::<Vec<f64>>();
        let cheapest = if spec.csv.is_empty() {
            spec.cheapest_import()
        } else {
            import
                .iter()
                .copied()
                .fold(spec.cheapest_import(), f64::min)
        };
        Prices {
            start_ms,
            import,
            export: spec.export_eur_kwh,
            start_eur: spec.start_eur,
            cheapest,
        }
    }

    /// The import price at `t_ms`.
    #[inline]
    pub fn import_at(&self, t_ms: i64) -> f64 {
        let i = ((t_ms - self.start_ms).max(0) / 60_000) as usize;
        self.import
            .get(i)
            .or(self.import.last())
            .copied()
            .unwrap_or(self.cheapest)
    }
}

/// A run's money.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Money {
    pub cost_eur: f64,
    pub savings_eur: f64,
}

impl Money {
    /// `grid_eur` and `solar_eur` are the run's priced integrals; `need_wh` the grid-side energy the
    /// car needed over all sessions, `missing_wh` what it still lacked at the end of each.
    pub fn new(
        prices: &Prices,
        grid_eur: f64,
        solar_eur: f64,
        starts: u32,
        need_wh: f64,
        missing_wh: f64,
    ) -> Money {
        let cost = grid_eur
            + solar_eur
            + starts as f64 * prices.start_eur
            + missing_wh.max(0.0) / 1000.0 * prices.cheapest;
        Money {
            cost_eur: cost,
            savings_eur: need_wh / 1000.0 * prices.cheapest - cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_use_by_local_hour_and_checks() {
        let mut by_hour = vec![0.30; 24];
        by_hour[2] = 0.10;
        let spec = TariffSpec {
            import_eur_kwh: ImportPrice::ByHour(by_hour),
            ..TariffSpec::default()
        };
        // 2016-06-17T00:00Z is 02:00 in Zurich (CEST).
        let start = 1_466_121_600_000;
        let p = Prices::new(
            &spec,
            chrono_tz::Europe::Zurich,
            start,
            start + 3 * 3_600_000,
        );
        assert_eq!(p.import.len(), 180);
        assert_eq!(p.import_at(start), 0.10);
        assert_eq!(p.import_at(start + 3_600_000), 0.30);
        assert_eq!(p.cheapest, 0.10);
        let mut problems = Vec::new();
        TariffSpec {
            import_eur_kwh: ImportPrice::ByHour(vec![0.1; 3]),
            export_eur_kwh: -1.0,
            start_eur: 0.02,
            ..TariffSpec::default()
        }
        .check(&mut |k: &str, m| problems.push((k.to_string(), m)));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn a_price_csv_mapped_and_shifted() {
        let dir = std::env::temp_dir().join(format!("sunplug-tariff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("p.csv"),
            "time,spot_eur_mwh\n2023-06-22T22:00:00Z,100\n2023-06-22T23:00:00Z,-20.5\n",
        )
        .unwrap();
        let mut spec = TariffSpec {
            import_csv: Some("p.csv".into()),
            csv_factor: 1.19,
            csv_adder_eur_kwh: 0.21,
            csv_shift_days: 1,
            ..TariffSpec::default()
        };
        let mut problems = Vec::new();
        spec.load_csv(&dir, &mut |k: &str, m| problems.push((k.to_string(), m)));
        assert!(problems.is_empty(), "{problems:?}");
        // 2023-06-23T22:00Z after the shift of one day.
        let start = 1_687_557_600_000;
        let p = Prices::new(&spec, chrono_tz::UTC, start, start + 3 * 3_600_000);
        assert!((p.import_at(start) - (0.1 * 1.19 + 0.21)).abs() < 1e-12);
        assert!((p.import_at(start + 3_600_000) - (-0.0205 * 1.19 + 0.21)).abs() < 1e-12);
        // Not covered: the flat price.
        assert_eq!(
            p.import_at(start + 2 * 3_600_000 + 60_000),
            DEFAULT_IMPORT_EUR_KWH
        );
        assert!((p.cheapest - (-0.0205 * 1.19 + 0.21)).abs() < 1e-12);
        // Bad files are named with the line.
        for (text, words) in [
            ("time,price\n", "header"),
            ("time,spot_eur_mwh\n2023-06-22 22:00,1\n", "line 2"),
            ("time,spot_eur_mwh\n2023-06-22T22:00:00Z,abc\n", "line 2"),
            (
                "time,spot_eur_mwh\n2023-06-22T22:00:00Z,1\n2023-06-22T21:00:00Z,1\n",
                "increase",
            ),
        ] {
            let e = parse_price_csv(text).unwrap_err();
            assert!(e.contains(words), "{e}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn money_definitions() {
        let spec = TariffSpec::default();
        let p = Prices::new(&spec, chrono_tz::UTC, 0, 3_600_000);
        // 10 kWh needed: 4 from solar (forgone 0.32 €), 1 from the grid (0.30 €), 2 starts, 5 missing.
        let m = Money::new(&p, 0.30, 0.32, 2, 10_000.0, 5_000.0);
        assert!((m.cost_eur - (0.30 + 0.32 + 0.04 + 1.5)).abs() < 1e-12);
        assert!((m.savings_eur - (3.0 - m.cost_eur)).abs() < 1e-12);
        let none = Money::new(&p, 0.0, 0.0, 0, 10_000.0, 10_000.0);
        assert!(none.savings_eur.abs() < 1e-12);
    }
}
