//! The departure plan: which slots buy grid energy, and how much, so the car reaches its target by
//! the departure (less a margin) at the least expected cost. Pure: no clock, no I/O.
//!
//! Owns: [`plan`] and its input/output types ([`Limits`], [`SlotInput`], [`Plan`], [`PlannedSlot`]);
//! the slot grid and the time series it reads ([`series`]); the inputs a policy holds between plans
//! ([`outlook`]).
//!
//! **The model.** Solar is always used when it comes: in a slot whose forecast surplus reaches the
//! floor power the car takes `u = min(surplus, P_max)` anyway (that is the "base" energy). The plan
//! decides only the grid part, per slot, as energy on top of the base:
//!
//! - a slot with `u ≥ P_floor` can add up to `(P_max − u)·h` from the grid, one kWh per kWh;
//! - a slot with `u < P_floor` must hold at least the floor to charge at all: charging at the floor
//!   for a share of the slot delivers `P_floor` per hour for `P_floor − u` of grid (the sun gives the
//!   rest), up to `P_floor·h`; above that, up to `(P_max − P_floor)·h` more, one kWh per kWh.
//!
//! Each slot's pieces are concave (the cheaper piece comes first), so filling the need from the
//! cheapest piece up (ties: the piece the sun helps most, then the earlier slot) is the least-cost plan (a fractional knapsack). A
//! negative price would break that order: its two pieces are merged into one at "full power", which
//! is what fast charging would do there. When the need cannot be met, every piece is taken: as much
//! as the limits allow, as early as it comes.

pub mod outlook;
pub mod series;
#[cfg(test)]
mod tests;

use crate::units::{Amps, Supply, Watts};
use chrono::{DateTime, Utc};

/// The charger's power range while charging.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub floor: Watts,
    pub max: Watts,
}

impl Limits {
    pub fn new(supply: Supply, floor: Amps, max: Amps) -> Limits {
        Limits {
            floor: supply.power(floor),
            max: supply.power(max.max(floor)),
        }
    }
}

/// One slot of the plan's horizon, with what is expected in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotInput {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Forecast power the car could take from the sun (pv − house load), W; ≤ 0 means none.
    pub surplus: Watts,
    /// Import price, per kWh (the config's currency, surcharges and VAT applied).
    pub price: f64,
}

impl SlotInput {
    pub fn hours(&self) -> f64 {
        (self.end - self.start).num_milliseconds().max(0) as f64 / 3.6e6
    }
}

/// One slot of a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub price: f64,
    /// The forecast surplus of the slot, W.
    pub surplus: Watts,
    /// Solar the car is expected to take, mean over the slot, W.
    pub solar: Watts,
    /// Grid power bought, mean over the slot, W.
    pub grid: Watts,
    /// Share of the slot that charges with grid power (0..=1): a slot that needs only a little
    /// charges at the floor for part of it, from its start.
    pub share: f64,
    /// The grid power to add on top of the solar while the slot charges, W (0: solar only).
    pub grid_rate: Watts,
    /// Expected cost of the slot's grid energy.
    pub cost: f64,
}

impl PlannedSlot {
    pub fn hours(&self) -> f64 {
        (self.end - self.start).num_milliseconds().max(0) as f64 / 3.6e6
    }
    pub fn grid_wh(&self) -> f64 {
        self.grid.0 * self.hours()
    }
    pub fn solar_wh(&self) -> f64 {
        self.solar.0 * self.hours()
    }
}

/// A plan over the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub slots: Vec<PlannedSlot>,
    /// Energy the car needs at the charger, Wh.
    pub need_wh: f64,
    /// Expected solar the car takes, Wh (capped by the need).
    pub solar_wh: f64,
    pub grid_wh: f64,
    /// Expected cost of the grid energy.
    pub cost: f64,
    /// What the limits cannot deliver in time, Wh (0 when the target is met).
    pub shortfall_wh: f64,
}

impl Plan {
    /// The first slot that buys grid energy.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.slots.iter().find(|s| s.grid.0 > 0.0).map(|s| s.start)
    }
    pub fn feasible(&self) -> bool {
        self.shortfall_wh <= 1e-6
    }
    /// The slot holding `t`.
    pub fn slot_at(&self, t: DateTime<Utc>) -> Option<&PlannedSlot> {
        self.slots.iter().find(|s| s.start <= t && t < s.end)
    }
}

/// One piece of a slot's grid option: up to `cap_wh` delivered, at `cost_per_wh` delivered.
#[derive(Debug, Clone, Copy)]
struct Piece {
    slot: usize,
    order: u8,
    cap_wh: f64,
    cost_per_wh: f64,
    /// Grid energy per Wh delivered: the tie-break when prices are equal (or all zero, as when no
    /// price list is configured), so a piece the sun helps with comes before a pure-grid one.
    grid_per_wh: f64,
}

/// The least-cost plan for `need_wh` (energy at the charger) over `slots` (in time order, ending
/// at the departure less the margin).
pub fn plan(need_wh: f64, slots: &[SlotInput], limits: Limits) -> Plan {
    let (pf, pm) = (limits.floor.0.max(1.0), limits.max.0.max(limits.floor.0));
    let need = need_wh.max(0.0);
    let mut base = vec![0.0; slots.len()];
    let mut pieces = Vec::with_capacity(slots.len() * 2);
    for (i, s) in slots.iter().enumerate() {
        let h = s.hours();
        let u = s.surplus.0.clamp(0.0, pm);
        if h <= 0.0 {
            continue;
        }
        let piece = |order, cap_wh: f64, grid_per_wh: f64| Piece {
            slot: i,
            order,
            cap_wh,
            cost_per_wh: s.price * grid_per_wh / 1000.0,
            grid_per_wh,
        };
        if u >= pf {
            base[i] = u * h;
            pieces.push(piece(0, (pm - u) * h, 1.0));
        } else if s.price < 0.0 {
            pieces.push(piece(0, pm * h, (pm - u) / pm));
        } else {
            pieces.push(piece(0, pf * h, (pf - u) / pf));
            pieces.push(piece(1, (pm - pf) * h, 1.0));
        }
    }
    pieces.retain(|p| p.cap_wh > 0.0);
    pieces.sort_by(|a, b| {
        a.cost_per_wh
            .total_cmp(&b.cost_per_wh)
            .then(a.grid_per_wh.total_cmp(&b.grid_per_wh))
            .then(a.slot.cmp(&b.slot))
            .then(a.order.cmp(&b.order))
    });
    let base_wh: f64 = base.iter().sum();
    let mut remaining = (need - base_wh).max(0.0);
    let mut taken = vec![[0.0f64; 2]; slots.len()];
    for p in &pieces {
        if remaining <= 0.0 {
            break;
        }
        let d = p.cap_wh.min(remaining);
        taken[p.slot][p.order as usize] += d;
        remaining -= d;
    }
    let shortfall = if remaining > 1e-9 { remaining } else { 0.0 };
    let out: Vec<PlannedSlot> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| planned(s, base[i], taken[i], pf, pm))
        .collect();
    let grid_wh: f64 = out.iter().map(PlannedSlot::grid_wh).sum();
    let solar_wh: f64 = out.iter().map(PlannedSlot::solar_wh).sum();
    Plan {
        cost: out.iter().map(|s| s.cost).sum(),
        slots: out,
        need_wh: need,
        solar_wh: solar_wh.min(need),
        grid_wh,
        shortfall_wh: shortfall,
    }
}

/// A slot's outcome from its base solar and the energy taken from its two pieces.
fn planned(s: &SlotInput, base_wh: f64, taken: [f64; 2], pf: f64, pm: f64) -> PlannedSlot {
    let h = s.hours();
    let u = s.surplus.0.clamp(0.0, pm);
    let delivered = taken[0] + taken[1];
    let (solar_wh, grid_wh, share, rate) = if h <= 0.0 {
        (0.0, 0.0, 0.0, 0.0)
    } else if u >= pf {
        let g = taken[0];
        (base_wh, g, if g > 0.0 { 1.0 } else { 0.0 }, g / h)
    } else if s.price < 0.0 {
        // The merged piece: full power for a share of the slot.
        let share = delivered / (pm * h);
        (share * u * h, share * (pm - u) * h, share, pm - u)
    } else if taken[1] > 0.0 {
        let power = pf + taken[1] / h;
        (u * h, delivered - u * h, 1.0, power - u)
    } else {
        let share = taken[0] / (pf * h);
        (share * u * h, share * (pf - u) * h, share, pf - u)
    };
    let (solar, grid) = if h > 0.0 {
        (solar_wh / h, grid_wh / h)
    } else {
        (0.0, 0.0)
    };
    PlannedSlot {
        start: s.start,
        end: s.end,
        price: s.price,
        surplus: s.surplus,
        solar: Watts(solar),
        grid: Watts(grid),
        share: share.clamp(0.0, 1.0),
        grid_rate: Watts(if grid_wh > 0.0 { rate } else { 0.0 }),
        cost: grid_wh / 1000.0 * s.price,
    }
}

/// What charging at full power from the first slot costs for `need_wh` over the same slots (solar
/// taken as it comes): the yardstick a plan must never exceed with a perfect forecast.
pub fn cost_charge_now(need_wh: f64, slots: &[SlotInput], limits: Limits) -> (f64, f64) {
    let pm = limits.max.0.max(limits.floor.0);
    let mut remaining = need_wh.max(0.0);
    let mut cost = 0.0;
    for s in slots {
        if remaining <= 0.0 {
            break;
        }
        let h = s.hours();
        let u = s.surplus.0.clamp(0.0, pm);
        let d = (pm * h).min(remaining);
        let share = if pm * h > 0.0 { d / (pm * h) } else { 0.0 };
        cost += share * (pm - u) * h / 1000.0 * s.price;
        remaining -= d;
    }
    (cost, remaining.max(0.0))
}
