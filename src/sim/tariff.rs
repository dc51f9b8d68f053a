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
//! Without `[tariff]` the documented default applies: import 0.30 €/kWh flat, export 0.08 €/kWh,
//! 0.02 € per charge start (a Swiss/German household tariff of 2026 and a typical feed-in rate).

use chrono::{TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

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
                spec.import_at_hour(hour)
            })
            .collect();
        Prices {
            start_ms,
            import,
            export: spec.export_eur_kwh,
            start_eur: spec.start_eur,
            cheapest: spec.cheapest_import(),
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
        }
        .check(&mut |k: &str, m| problems.push((k.to_string(), m)));
        assert_eq!(problems.len(), 2, "{problems:?}");
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
