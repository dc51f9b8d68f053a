//! The oracle: the most solar energy the car could have taken with perfect foresight.
//!
//! Owns: [`Oracle`] (per plug-in session: the battery room and what the sun offered) and two numbers.
//! With `avail = max(pv − load, 0)` at each physics step and `P_floor`, `P_max` the least and most
//! the car draws while charging:
//!
//! - **`oracle_solar`** (the report's, as the issue defines it): each step with `avail ≥ P_floor` gives
//!   `min(avail, P_max)` (a *free* step), others 0; the sum is capped by the energy the car needed (its
//!   room up to the target, after losses). It is the best any policy can do **without importing**.
//! - **the bound** ([`Oracle::session_wh`] with an import budget): a policy that holds the floor through
//!   a dip imports `P_floor − avail` and takes that step's `avail` as solar, which `oracle_solar` does
//!   not count (so its capture can exceed 1). Given the grid energy a run imported for the car, the
//!   bound adds dip steps, sunniest first, until that energy or the battery room is spent. It is the
//!   exact optimum of the linear relaxation, hence an upper bound on every policy's car solar; the
//!   property test in `tests/it/sim_oracle.rs` checks it over random days. With no import it equals
//!   `oracle_solar`.

use super::input::Input;
use super::schedule::{Edge, Session, SessionClock};

/// What one session offered.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionOracle {
    /// Grid-side energy the car could take before reaching its target, Wh.
    pub room_wh: f64,
    /// Σ min(avail, P_max) over free steps, Wh.
    pub free_wh: f64,
    /// Dip steps: (avail rounded **up** to the watt, seconds), sunniest first.
    pub dips: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Oracle {
    pub floor_w: f64,
    pub max_w: f64,
    pub sessions: Vec<SessionOracle>,
}

impl Oracle {
    /// Sweep the input once. `room_wh` is each session's battery room, grid side.
    pub fn prepare(
        input: &Input,
        sessions: &[Session],
        step_ms: i64,
        floor_w: f64,
        max_w: f64,
        room_wh: f64,
    ) -> Oracle {
        let dt_s = step_ms as f64 / 1000.0;
        let bins = floor_w.ceil().max(1.0) as usize + 1;
        let mut hist = vec![0.0f64; bins];
        let mut free_ws = 0.0;
        let mut out = Vec::with_capacity(sessions.len());
        let mut clock = SessionClock::default();
        let mut sampler = input.sampler();
        let close = |hist: &mut Vec<f64>, free_ws: &mut f64, out: &mut Vec<SessionOracle>| {
            let dips = hist
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, s)| **s > 0.0)
                .map(|(w, s)| (w as f64, *s))
                .collect();
            out.push(SessionOracle {
                room_wh,
                free_wh: *free_ws / 3600.0,
                dips,
            });
            hist.iter_mut().for_each(|h| *h = 0.0);
            *free_ws = 0.0;
        };
        for i in 0..input.steps(step_ms) {
            let t = input.start_ms + i as i64 * step_ms;
            clock.advance(sessions, t, |e| {
                if let Edge::Depart(_) = e {
                    close(&mut hist, &mut free_ws, &mut out);
                }
            });
            if clock.current().is_none() {
                continue;
            }
            let avail = sampler.at(t).surplus_w.max(0.0);
            if avail >= floor_w {
                free_ws += avail.min(max_w) * dt_s;
            } else if avail > 0.0 {
                hist[(avail.ceil() as usize).min(bins - 1)] += dt_s;
            }
        }
        if clock.current().is_some() {
            close(&mut hist, &mut free_ws, &mut out);
        }
        Oracle {
            floor_w,
            max_w,
            sessions: out,
        }
    }

    /// The bound for session `i` given the grid energy (Wh) a policy imported for the car in it.
    pub fn session_wh(&self, i: usize, import_wh: f64) -> f64 {
        let Some(s) = self.sessions.get(i) else {
            return 0.0;
        };
        if s.free_wh >= s.room_wh {
            return s.room_wh.max(0.0);
        }
        let f = self.floor_w;
        let mut value = s.free_wh;
        let mut room = s.room_wh - s.free_wh; // Wh
        let mut budget = import_wh.max(0.0); // Wh
        for &(a, secs) in &s.dips {
            if room <= 0.0 || budget <= 0.0 {
                break;
            }
            let a = a.min(f);
            let import_per_s = (f - a) / 3600.0;
            let mut take = secs.min(room / (f / 3600.0));
            if import_per_s > 0.0 {
                take = take.min(budget / import_per_s);
            }
            value += a / 3600.0 * take;
            room -= f / 3600.0 * take;
            budget -= import_per_s * take;
        }
        value
    }

    /// The oracle over all sessions, kWh, given each session's imported car energy (Wh).
    pub fn total_kwh(&self, import_wh: &[f64]) -> f64 {
        (0..self.sessions.len())
            .map(|i| self.session_wh(i, import_wh.get(i).copied().unwrap_or(0.0)))
            .sum::<f64>()
            / 1000.0
    }

    /// The zero-import oracle, kWh.
    pub fn no_import_kwh(&self) -> f64 {
        self.total_kwh(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(free_wh: f64, room_wh: f64, dips: Vec<(f64, f64)>) -> Oracle {
        Oracle {
            floor_w: 4000.0,
            max_w: 11000.0,
            sessions: vec![SessionOracle {
                room_wh,
                free_wh,
                dips,
            }],
        }
    }

    #[test]
    fn zero_import_is_the_capped_free_energy() {
        assert_eq!(
            oracle(5000.0, 40_000.0, vec![(3000.0, 3600.0)]).session_wh(0, 0.0),
            5000.0
        );
        assert_eq!(
            oracle(50_000.0, 40_000.0, vec![]).session_wh(0, 1e9),
            40_000.0,
            "capped by the room"
        );
    }

    #[test]
    fn imported_energy_buys_the_sunniest_dips_first() {
        // Dips: 1 h at 3.5 kW (costs 0.5 kWh import per hour), 1 h at 2 kW (2 kWh per hour).
        let o = oracle(1000.0, 40_000.0, vec![(3500.0, 3600.0), (2000.0, 3600.0)]);
        assert!(
            (o.session_wh(0, 500.0) - 4500.0).abs() < 1e-9,
            "the whole 3.5 kW hour"
        );
        assert!(
            (o.session_wh(0, 1500.0) - 5500.0).abs() < 1e-9,
            "plus half the 2 kW hour"
        );
        // Room for only 1 kWh after the free energy: a quarter hour at the floor.
        let o = oracle(1000.0, 2000.0, vec![(3500.0, 3600.0)]);
        assert!((o.session_wh(0, 1e9) - (1000.0 + 3500.0 / 4.0)).abs() < 1e-9);
    }
}
