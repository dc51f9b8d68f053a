//! The perfect-foresight optimum in money: the most any policy could save on a day.
//!
//! Owns: [`optimum_savings`] and [`SessionDay`] (one plug-in session's physics steps: the solar the
//! car could take and the import price). The problem, per session: choose at every physics step
//! whether the car draws and at what power `p ∈ [P_floor, P_max]`, paying the import price for
//! `max(p − avail, 0)`, the forgone feed-in price for `min(p, avail)` and `start_eur` per start, and
//! valuing the delivered energy `E` at the cheapest import price up to the car's need:
//!
//! `savings = pc · min(E, need) − Σ costs − starts · start_eur`.
//!
//! This is solved exactly as a dynamic programme over time × on/off once the energy coupling is
//! dualised: `pc · min(E, need) = min over λ ∈ [0, pc] of λ·E + (pc − λ)·need`, so for every λ
//! `(pc − λ)·need + max over schedules of Σ(λ·e_t − cost_t) − starts · start_eur` bounds the optimum
//! from above (weak duality), and the minimum over λ (the function is convex: golden-section search)
//! is the bound reported. For a fixed λ the best power at a step is one of `P_floor`,
//! `clamp(avail, P_floor, P_max)` or `P_max` (the step's value is concave and piecewise linear in
//! `p`), and the DP over on/off carries the start cost. The car's taper and the policies' minimum
//! on/off times are relaxed (left out), which can only raise the bound, and it runs at the physics
//! step, so no policy can exploit detail the bound does not see: **no policy saves more** (property
//! test in `tests/sim_optimum.rs`). On a day whose need exceeds what the sun offers, λ = pc and the
//! bound is attained by following the surplus above the floor.

use super::tariff::Prices;

/// One session's steps: (solar the car could take W = max(pv − load, 0), import price €/kWh).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionDay {
    pub steps: Vec<(f64, f64)>,
    /// Grid-side energy the car needs in this session, Wh.
    pub need_wh: f64,
}

/// The power bounds and prices the optimum uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub floor_w: f64,
    pub max_w: f64,
    pub dt_s: f64,
}

/// The most a policy could save over `sessions`, €.
pub fn optimum_savings(sessions: &[SessionDay], limits: Limits, prices: &Prices) -> f64 {
    sessions
        .iter()
        .map(|s| session_bound(s, limits, prices))
        .sum()
}

/// `g(λ)`: the dual bound at one λ.
fn dual(s: &SessionDay, l: Limits, prices: &Prices, lambda: f64) -> f64 {
    let kwh = l.dt_s / 3.6e6;
    let (pe, start) = (prices.export, prices.start_eur);
    let (mut v_off, mut v_on) = (0.0f64, f64::NEG_INFINITY);
    for &(avail, pi) in &s.steps {
        let (a, pi) = (avail, pi);
        let value = |p: f64| (lambda * p - pe * p.min(a) - pi * (p - a).max(0.0)) * kwh;
        let r = value(l.floor_w)
            .max(value(a.clamp(l.floor_w, l.max_w)))
            .max(value(l.max_w));
        let off = v_off.max(v_on);
        let on = v_on.max(v_off - start) + r;
        (v_off, v_on) = (off, on);
    }
    (prices.cheapest - lambda) * s.need_wh / 1000.0 + v_off.max(v_on)
}

fn session_bound(s: &SessionDay, l: Limits, prices: &Prices) -> f64 {
    let pc = prices.cheapest;
    let g = |x: f64| dual(s, l, prices, x);
    // Golden-section search on the convex g over [0, pc]; every evaluation is a valid bound, so the
    // least seen is reported.
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (0.0, pc);
    let mut best = g(lo).min(g(hi));
    let (mut x1, mut x2) = (hi - phi * (hi - lo), lo + phi * (hi - lo));
    let (mut f1, mut f2) = (g(x1), g(x2));
    for _ in 0..40 {
        best = best.min(f1).min(f2);
        if f1 <= f2 {
            hi = x2;
            (x2, f2) = (x1, f1);
            x1 = hi - phi * (hi - lo);
            f1 = g(x1);
        } else {
            lo = x1;
            (x1, f1) = (x2, f2);
            x2 = lo + phi * (hi - lo);
            f2 = g(x2);
        }
    }
    best.min(f1).min(f2).max(0.0)
}

/// The most solar (Wh) a car could take in a session and still take `share` of its energy from the
/// sun: every step whose surplus reaches the floor, at its surplus (up to the maximum), and of the
/// steps below the floor the sunniest first, each at the floor with the rest from the grid, while
/// the session's grid stays within `1 / share − 1` of its solar (the last step in part), never more
/// than the car's need. A dip step's sun per Wh of grid grows with its surplus, so this greedy choice
/// is the optimum of the relaxed problem: starts, minimum on/off times, the taper and the meter are
/// left out, and no policy that keeps the share over the session takes more.
pub fn share_bound_solar_wh(s: &SessionDay, l: Limits, share: f64) -> f64 {
    let h = l.dt_s / 3600.0;
    let ratio = (1.0 / share.clamp(f64::MIN_POSITIVE, 1.0) - 1.0).max(0.0);
    let mut solar = 0.0;
    let mut dips: Vec<f64> = Vec::new();
    for &(avail, _) in &s.steps {
        if avail >= l.floor_w {
            solar += avail.min(l.max_w) * h;
        } else if avail > 0.0 {
            dips.push(avail);
        }
    }
    dips.sort_by(|a, b| b.total_cmp(a));
    let mut grid = 0.0;
    for a in dips {
        let (sun, buy) = (a * h, (l.floor_w - a) * h);
        // Room left: grid + x·buy ≤ ratio · (solar + x·sun), for the share of this step x ∈ [0, 1].
        let room = ratio * solar - grid;
        let per_step = buy - ratio * sun;
        let x = if per_step <= 0.0 {
            1.0
        } else {
            (room / per_step).clamp(0.0, 1.0)
        };
        if x <= 0.0 {
            break;
        }
        solar += x * sun;
        grid += x * buy;
    }
    solar.min(s.need_wh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::tariff::TariffSpec;

    #[test]
    fn the_share_bound_takes_the_sunniest_dips_until_the_share_is_reached() {
        let l = Limits {
            floor_w: 4000.0,
            max_w: 11_000.0,
            dt_s: 60.0,
        };
        // An hour at 5 kW (5 kWh of sun), an hour at 2 kW and an hour at 1 kW below the floor.
        let steps: Vec<(f64, f64)> = (0..180)
            .map(|m| {
                (
                    if m < 60 {
                        5000.0
                    } else if m < 120 {
                        2000.0
                    } else {
                        1000.0
                    },
                    0.30,
                )
            })
            .collect();
        let s = SessionDay {
            steps,
            need_wh: 100_000.0,
        };
        // At 0.95 the grid may be 1/19 of the solar: x minutes at 2 kW add 33.3 Wh of each, so
        // 33.3·x = (5000 + 33.3·x) / 19, x = 8.33 min, 5277.8 Wh of sun; the 1 kW hour is not reached.
        let at_95 = share_bound_solar_wh(&s, l, 0.95);
        assert!((at_95 - (5000.0 + 5000.0 / 18.0)).abs() < 1e-6, "{at_95}");
        // At a share of 1 only the sun above the floor; at 0.5 (grid ≤ solar) both dip hours fit:
        // 8000 Wh of sun for 5000 of grid.
        assert!((share_bound_solar_wh(&s, l, 1.0) - 5000.0).abs() < 1e-9);
        let half = share_bound_solar_wh(&s, l, 0.5);
        assert!((half - 8000.0).abs() < 1e-6, "{half}");
        // Never more than the car's need.
        let small = SessionDay {
            need_wh: 3000.0,
            ..s
        };
        assert_eq!(share_bound_solar_wh(&small, l, 0.95), 3000.0);
    }

    #[test]
    fn two_flat_hours_above_the_floor_give_the_hand_result() {
        let prices = Prices::new(&TariffSpec::default(), chrono_tz::UTC, 0, 86_400_000);
        // 6 h plugged in at 60 s steps: 2 h of 5 kW surplus in the middle, none elsewhere.
        let steps = (0..360)
            .map(|m| (if (120..240).contains(&m) { 5000.0 } else { 0.0 }, 0.30))
            .collect();
        let s = SessionDay {
            steps,
            need_wh: 50_000.0,
        };
        let l = Limits {
            floor_w: 4140.0,
            max_w: 11_040.0,
            dt_s: 60.0,
        };
        // 10 kWh of sun at (0.30 − 0.08) €/kWh, one start.
        let hand = 10.0 * (0.30 - 0.08) - 0.02;
        let got = optimum_savings(&[s], l, &prices);
        assert!((got - hand).abs() < 1e-6, "{got} vs {hand}");
    }

    #[test]
    fn a_small_need_caps_the_value() {
        let prices = Prices::new(&TariffSpec::default(), chrono_tz::UTC, 0, 86_400_000);
        let s = SessionDay {
            steps: vec![(8000.0, 0.30); 120],
            need_wh: 4000.0,
        };
        let l = Limits {
            floor_w: 4140.0,
            max_w: 11_040.0,
            dt_s: 60.0,
        };
        let got = optimum_savings(&[s], l, &prices);
        // Attainable: 30 min at 8 kW, one start. The dual can exceed it by at most the start cost
        // (the only non-convex part), and does here: it may spread the start over the whole need.
        let hand = 4.0 * (0.30 - 0.08) - 0.02;
        assert!(
            got >= hand - 1e-9 && got <= hand + 0.02 + 1e-9,
            "{got} vs {hand}"
        );
    }
}
