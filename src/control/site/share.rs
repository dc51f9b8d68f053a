//! Sharing the site's surplus among its loadpoints: a pure function on watts.
//!
//! Owns: [`Claim`] (what one loadpoint can take) and [`share`]. The rules, in order:
//! 1. **floors**: a loadpoint charges at least at its floor power, so the surplus first buys whole
//!    floors, for as many loadpoints as fit: by priority (higher first), among equals the ones
//!    already charging first (so shares do not flap between two equal cars every step), then in
//!    config order. A higher priority takes the floor of a lower one that charges: "shared by
//!    priority" (the lower one then stops through its own stop window, not at once);
//! 2. **above the floors**: what is left goes by priority, group by group; within a group of equal
//!    priority it is a fair split: every member gets the same power, as far as its floor and its
//!    maximum allow (water filling);
//! 3. **the rest**: a loadpoint that got no floor is shown what is left after everyone else, which is
//!    less than its floor (negative when the site imports), so its own start/stop windows pause it
//!    rather than starving the others.

/// What one loadpoint can take, in watts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Claim {
    /// The power at its floor current.
    pub floor_w: f64,
    /// The power at its maximum current, or less when the car draws less than it is given (a
    /// tapering car); never below `floor_w`.
    pub max_w: f64,
    pub priority: i32,
    /// It is charging now (its last command was not a pause).
    pub charging: bool,
    /// A car is plugged in and wants energy; others are shown the rest and take nothing.
    pub active: bool,
}

/// Each claim's share of `surplus_w` (export positive, with every car's own power added back).
/// The shares of the floored loadpoints never add up to more than a positive surplus.
pub fn share(surplus_w: f64, claims: &[Claim]) -> Vec<f64> {
    let n = claims.len();
    let mut shares = vec![0.0; n];
    let mut floored = vec![false; n];
    let surplus = if surplus_w.is_finite() {
        surplus_w
    } else {
        0.0
    };
    let mut budget = surplus.max(0.0);

    // 1. Floors.
    let mut order: Vec<usize> = (0..n).filter(|&i| claims[i].active).collect();
    order.sort_by_key(|&i| (-i64::from(claims[i].priority), !claims[i].charging, i));
    for &i in &order {
        let floor = claims[i].floor_w.max(0.0);
        if budget >= floor {
            budget -= floor;
            shares[i] = floor;
            floored[i] = true;
        }
    }

    // 2. Above the floors, by priority groups.
    let mut priorities: Vec<i32> = (0..n)
        .filter(|&i| floored[i])
        .map(|i| claims[i].priority)
        .collect();
    priorities.sort_unstable_by(|a, b| b.cmp(a));
    priorities.dedup();
    for p in priorities {
        let group: Vec<usize> = (0..n)
            .filter(|&i| floored[i] && claims[i].priority == p)
            .collect();
        let room: f64 = group
            .iter()
            .map(|&i| (claims[i].max_w - shares[i]).max(0.0))
            .sum();
        if room <= budget {
            for &i in &group {
                shares[i] = shares[i].max(claims[i].max_w);
            }
            budget -= room;
        } else {
            fill(budget, &group, claims, &mut shares);
            break;
        }
    }

    // 3. The rest, for everyone without a floor.
    let allocated: f64 = (0..n).filter(|&i| floored[i]).map(|i| shares[i]).sum();
    let rest = surplus - allocated;
    for i in 0..n {
        if !floored[i] {
            shares[i] = rest;
        }
    }
    shares
}

/// Water filling: raise the group's members (each already at its floor) toward one common level, each
/// capped at its maximum, until `budget` is spent.
fn fill(budget: f64, group: &[usize], claims: &[Claim], shares: &mut [f64]) {
    let base: Vec<f64> = group.iter().map(|&i| shares[i]).collect();
    let cap: Vec<f64> = group
        .iter()
        .zip(&base)
        .map(|(&i, b)| claims[i].max_w.max(*b))
        .collect();
    let given_at = |level: f64| -> f64 {
        base.iter()
            .zip(&cap)
            .map(|(b, c)| level.clamp(*b, *c) - b)
            .sum()
    };
    let (mut lo, mut hi) = (
        base.iter().copied().fold(f64::INFINITY, f64::min),
        cap.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    if !(lo.is_finite() && hi.is_finite()) {
        return;
    }
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if given_at(mid) > budget {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // `lo` never gives more than the budget.
    for (k, &i) in group.iter().enumerate() {
        shares[i] = lo.clamp(base[k], cap[k]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3-phase car: 4140 W floor (6 A), 11040 W max (16 A).
    fn three(priority: i32) -> Claim {
        Claim {
            floor_w: 4140.0,
            max_w: 11_040.0,
            priority,
            charging: false,
            active: true,
        }
    }

    #[test]
    fn one_floor_goes_to_the_higher_priority() {
        let s = share(5000.0, &[three(0), three(5)]);
        assert_eq!(s[1], 5000.0);
        assert!(s[0] < 4140.0, "{s:?}");
    }

    #[test]
    fn a_charging_car_keeps_its_floor_among_equals_not_against_a_higher_priority() {
        let mut charging = three(0);
        charging.charging = true;
        let s = share(5000.0, &[three(0), charging]);
        assert_eq!(s[1], 5000.0);
        assert!(s[0] < 4140.0);
        let s = share(5000.0, &[charging, three(5)]);
        assert_eq!(s[1], 5000.0);
        assert!(s[0] < 4140.0);
    }

    #[test]
    fn equals_split_fairly_and_priority_fills_first() {
        let s = share(10_000.0, &[three(1), three(1)]);
        assert!(
            (s[0] - 5000.0).abs() < 1e-6 && (s[1] - 5000.0).abs() < 1e-6,
            "{s:?}"
        );
        let s = share(16_000.0, &[three(1), three(2)]);
        assert!((s[1] - 11_040.0).abs() < 1e-6, "{s:?}");
        assert!((s[0] - 4960.0).abs() < 1e-6, "{s:?}");
        // A 1-phase car (1380..3680 W) beside a 3-phase one, equal priority: the same power each, as
        // far as the 1-phase car's maximum allows.
        let one = Claim {
            floor_w: 1380.0,
            max_w: 3680.0,
            ..three(1)
        };
        let s = share(9000.0, &[one, three(1)]);
        assert!(
            (s[0] - 3680.0).abs() < 1e-6 && (s[1] - 5320.0).abs() < 1e-6,
            "{s:?}"
        );
    }

    #[test]
    fn import_shows_every_car_the_deficit_and_inactive_ones_take_nothing() {
        let s = share(-800.0, &[three(0), three(1)]);
        assert_eq!(s, vec![-800.0, -800.0]);
        let mut full = three(9);
        full.active = false;
        let s = share(6000.0, &[full, three(0)]);
        assert_eq!(s[1], 6000.0);
        assert_eq!(s[0], 0.0);
    }
}
