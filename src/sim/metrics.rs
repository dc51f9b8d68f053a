//! What a run is scored on.
//!
//! Owns: [`Tally`] (energy integrals, updated every physics step without allocating) and [`Metrics`]
//! (one policy's row of the report and of `--json`). Definitions (also in the README):
//! - `car_solar = ∫ min(car power, max(pv − house load, 0))`; `car_grid = car_energy − car_solar`;
//! - `export = ∫ max(pv − house load − car, 0)`: what the site still sent to the grid;
//! - `solar_share = car_solar / car_energy`; `oracle_capture = car_solar / oracle_solar` (the
//!   zero-import oracle: a policy that holds the floor through dips takes solar it does not count, so
//!   the capture can exceed 1; that part is `dip_solar`);
//! - `charge_starts`: transitions of the car from not drawing to drawing;
//! - `setpoint_writes`: requests sent to the charger.

use super::car::Draw;
use serde::Serialize;

/// Running integrals, in W·s.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// The oracle's `P_floor`: solar taken while the surplus is below it counts as taken in a dip.
    pub floor_w: f64,
    pub car_ws: f64,
    pub car_solar_ws: f64,
    /// Solar the car took while the surplus was below the floor: only by holding the floor from the grid.
    pub dip_solar_ws: f64,
    pub export_ws: f64,
    pub import_ws: f64,
    pub starts: u32,
    /// Seconds the car drew.
    pub on_s: f64,
    /// The car's grid energy priced at import, and its solar at the forgone feed-in price, € (see
    /// `sim::tariff`); the prices are those set by [`Tally::set_prices`].
    pub grid_eur: f64,
    pub solar_eur: f64,
    import_eur_kwh: f64,
    export_eur_kwh: f64,
    drawing: bool,
}

impl Tally {
    pub fn new(floor_w: f64) -> Tally {
        Tally {
            floor_w,
            ..Tally::default()
        }
    }

    /// The prices that apply from now on, €/kWh.
    #[inline]
    pub fn set_prices(&mut self, import_eur_kwh: f64, export_eur_kwh: f64) {
        self.import_eur_kwh = import_eur_kwh;
        self.export_eur_kwh = export_eur_kwh;
    }

    /// One physics step of `dt_s`: the car drew `draw`, the site had `surplus_w` without it.
    /// Returns the grid energy the car took in this step (W·s).
    #[inline]
    pub fn add(&mut self, draw: Draw, surplus_w: f64, dt_s: f64) -> f64 {
        let avail = surplus_w.max(0.0);
        let (p, on) = (draw.power_w, draw.fraction * dt_s);
        let off = dt_s - on;
        let car = p * on;
        let solar = p.min(avail) * on;
        self.car_ws += car;
        self.car_solar_ws += solar;
        if avail < self.floor_w {
            self.dip_solar_ws += solar;
        }
        // The site's own balance, while the car draws and for the rest of the step.
        let (with_car, without) = (surplus_w - p, surplus_w);
        self.export_ws += with_car.max(0.0) * on + without.max(0.0) * off;
        self.import_ws += (-with_car).max(0.0) * on + (-without).max(0.0) * off;
        self.grid_eur += (car - solar) / 3.6e6 * self.import_eur_kwh;
        self.solar_eur += solar / 3.6e6 * self.export_eur_kwh;
        if p > 0.0 {
            self.on_s += on;
        }
        let drawing = draw.is_drawing();
        if drawing && !self.drawing {
            self.starts += 1;
        }
        self.drawing = drawing;
        car - solar
    }
}

/// One policy's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub policy: String,
    pub car_energy_kwh: f64,
    pub car_solar_kwh: f64,
    pub car_grid_kwh: f64,
    pub export_kwh: f64,
    pub solar_share: f64,
    pub oracle_solar_kwh: f64,
    pub oracle_capture: f64,
    pub charge_starts: u32,
    pub setpoint_writes: u32,
    pub final_soc_pct: f64,
    pub target_met: bool,
    /// What the car's energy cost, €: grid at the import price, solar at the forgone feed-in price,
    /// starts at the start cost, and what was missing at departure at the cheapest import price.
    pub cost_eur: f64,
    /// The same need bought from the grid at the cheapest import price, minus `cost_eur`.
    pub savings_eur: f64,
    /// The perfect-foresight optimum's savings on the same day (`sim::optimum`).
    pub optimum_savings_eur: f64,
    /// `savings_eur / optimum_savings_eur` (1 when the optimum is 0 and nothing was lost).
    pub savings_capture: f64,
    /// Hours the car drew.
    pub charging_hours: f64,
    /// `setpoint_writes / charging_hours` (0 when it never charged).
    pub writes_per_charging_hour: f64,
    /// The expected cost of the grid energy in the departure plan made at plug-in, € (summed over
    /// the sessions); `null` for a policy that does not plan.
    pub plan_cost_eur: Option<f64>,
    /// The plan's start at plug-in (the first slot that buys grid energy), local time in RFC 3339;
    /// `null` without a plan or when the plan expected the sun to cover the need.
    pub plan_start: Option<String>,
    /// Site import (house and car), kWh: shown in the table, not in `--json`.
    #[serde(skip)]
    pub import_kwh: f64,
    /// Part of `car_solar_kwh` taken in dips (surplus below the floor): table only.
    #[serde(skip)]
    pub dip_solar_kwh: f64,
    /// A site with several loadpoints: each car's own scores (`policy` holds the loadpoint's name;
    /// its oracle and optimum are those of the car alone on the site). Empty, and absent from
    /// `--json`, for one car.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loadpoints: Vec<Metrics>,
}

impl Metrics {
    pub fn new(
        policy: &str,
        tally: &Tally,
        oracle_kwh: f64,
        writes: u32,
        final_soc_pct: f64,
        target_met: bool,
    ) -> Metrics {
        let kwh = |ws: f64| ws / 3.6e6;
        let car = kwh(tally.car_ws);
        let solar = kwh(tally.car_solar_ws);
        Metrics {
            policy: policy.to_string(),
            car_energy_kwh: car,
            car_solar_kwh: solar,
            car_grid_kwh: (car - solar).max(0.0),
            export_kwh: kwh(tally.export_ws),
            solar_share: if car > 0.0 { solar / car } else { 0.0 },
            oracle_solar_kwh: oracle_kwh,
            // Nothing to capture and nothing captured counts as all of it.
            oracle_capture: if oracle_kwh > 0.0 {
                solar / oracle_kwh
            } else {
                1.0
            },
            charge_starts: tally.starts,
            setpoint_writes: writes,
            final_soc_pct,
            target_met,
            cost_eur: 0.0,
            savings_eur: 0.0,
            optimum_savings_eur: 0.0,
            savings_capture: 1.0,
            charging_hours: tally.on_s / 3600.0,
            writes_per_charging_hour: if tally.on_s > 0.0 {
                writes as f64 / (tally.on_s / 3600.0)
            } else {
                0.0
            },
            plan_cost_eur: None,
            plan_start: None,
            import_kwh: kwh(tally.import_ws),
            dip_solar_kwh: kwh(tally.dip_solar_ws),
            loadpoints: Vec::new(),
        }
    }
}

impl Metrics {
    /// Set the money columns from a run's [`super::tariff::Money`] and the day's optimum.
    pub fn with_money(mut self, money: super::tariff::Money, optimum_eur: f64) -> Metrics {
        self.cost_eur = money.cost_eur;
        self.savings_eur = money.savings_eur;
        self.optimum_savings_eur = optimum_eur;
        self.savings_capture = capture(money.savings_eur, optimum_eur);
        self
    }

    /// Set the plan columns from a run's plans (`tz`: the site's, for the start's local time).
    pub fn with_plan(mut self, plans: &super::plans::PlanLog, tz: chrono_tz::Tz) -> Metrics {
        self.plan_cost_eur = plans.cost();
        self.plan_start = plans.start().map(|t| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
        self
    }

    /// One policy's runs over several days, summed: energies, money, starts, writes and hours add
    /// up; the ratios are recomputed from the sums; `final_soc_pct` is the mean over the days and
    /// `target_met` holds when it held every day.
    pub fn sum(runs: &[&Metrics]) -> Metrics {
        let mut m = runs[0].clone();
        for r in &runs[1..] {
            m.car_energy_kwh += r.car_energy_kwh;
            m.car_solar_kwh += r.car_solar_kwh;
            m.car_grid_kwh += r.car_grid_kwh;
            m.export_kwh += r.export_kwh;
            m.oracle_solar_kwh += r.oracle_solar_kwh;
            m.charge_starts += r.charge_starts;
            m.setpoint_writes += r.setpoint_writes;
            m.final_soc_pct += r.final_soc_pct;
            m.target_met &= r.target_met;
            m.cost_eur += r.cost_eur;
            m.savings_eur += r.savings_eur;
            m.optimum_savings_eur += r.optimum_savings_eur;
            m.charging_hours += r.charging_hours;
            m.import_kwh += r.import_kwh;
            m.dip_solar_kwh += r.dip_solar_kwh;
            m.plan_cost_eur = match (m.plan_cost_eur, r.plan_cost_eur) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            m.plan_start = m.plan_start.take().or_else(|| r.plan_start.clone());
        }
        let n = runs.len() as f64;
        m.final_soc_pct /= n;
        m.solar_share = if m.car_energy_kwh > 0.0 {
            m.car_solar_kwh / m.car_energy_kwh
        } else {
            0.0
        };
        m.oracle_capture = if m.oracle_solar_kwh > 0.0 {
            m.car_solar_kwh / m.oracle_solar_kwh
        } else {
            1.0
        };
        m.savings_capture = capture(m.savings_eur, m.optimum_savings_eur);
        m.writes_per_charging_hour = if m.charging_hours > 0.0 {
            m.setpoint_writes as f64 / m.charging_hours
        } else {
            0.0
        };
        m
    }
}

/// `savings / optimum`; a day with nothing to win counts as fully captured unless money was lost.
fn capture(savings: f64, optimum: f64) -> f64 {
    if optimum > 1e-9 {
        savings / optimum
    } else if savings < -1e-9 {
        0.0
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solar_grid_export_and_starts() {
        let mut t = Tally::new(4000.0);
        let on = Draw {
            power_w: 5000.0,
            fraction: 1.0,
        };
        // 1 h: 3 kW of surplus under a 5 kW car: 3 kWh solar, 2 kWh grid, nothing exported.
        let grid_ws = t.add(on, 3000.0, 3600.0);
        assert_eq!(grid_ws, 2000.0 * 3600.0);
        t.add(Draw::default(), 1000.0, 3600.0);
        // Half an hour's worth at 5 kW out of 8 kW, then off for the rest of the hour.
        t.add(
            Draw {
                power_w: 5000.0,
                fraction: 0.5,
            },
            8000.0,
            3600.0,
        );
        let m = Metrics::new("p", &t, 10.0, 3, 80.0, true);
        assert!((m.car_energy_kwh - 7.5).abs() < 1e-12);
        assert!((m.car_solar_kwh - 5.5).abs() < 1e-12);
        assert!((m.car_grid_kwh - 2.0).abs() < 1e-12);
        assert!((m.export_kwh - (1.0 + 1.5 + 4.0)).abs() < 1e-12);
        assert!((m.import_kwh - 2.0).abs() < 1e-12);
        assert_eq!(m.charge_starts, 2);
        assert!(
            (m.dip_solar_kwh - 3.0).abs() < 1e-12,
            "the 3 kW hour was below the 4 kW floor"
        );
        assert!((m.oracle_capture - 0.55).abs() < 1e-12);
    }
}
