//! The site's fuse, per phase: what all loadpoints' commands load on each line, and lowering them
//! until they fit.
//!
//! Owns: [`Line`] (L1, L2, L3), [`Wire`] (how a loadpoint is connected), [`loads`] and
//! [`lower_to_fuse`]. A 3-phase car loads every line with its current; a 1-phase car loads only
//! its own line (on a 1-phase site, everything is on L1). The lowering only ever lowers, stays on
//! each charger's command resolution, and never leaves a current between 0 and the floor:
//! 1. while some line is over, the charging loadpoints on the most loaded line come down one
//!    resolution step at a time: the lowest priority first, within it the highest current (so equals
//!    level out: a fair split of the headroom), then the last in config order;
//! 2. only when every one of them is at its floor does one pause: the lowest priority, the last in
//!    config order; the others then start again from their own commands and come down only as far
//!    as still needed. A pause costs a start later, so currents go down before anyone stops.

use crate::control::decision::Command;
use crate::control::guard::GuardParams;
use crate::units::Phases;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Tolerance on amps (binary rounding of sums).
const EPS_A: f64 = 1e-9;

/// One line (phase) of the site's supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Line {
    #[default]
    L1,
    L2,
    L3,
}

impl Line {
    pub fn index(self) -> usize {
        match self {
            Line::L1 => 0,
            Line::L2 => 1,
            Line::L3 => 2,
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.index() + 1)
    }
}

/// How a loadpoint is wired: its phases, and for a 1-phase one, which line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wire {
    pub phases: Phases,
    pub line: Line,
}

impl Wire {
    /// Whether it loads `line` (index 0..3) on a site with `site` phases.
    pub fn loads_line(self, site: Phases, line: usize) -> bool {
        match (site, self.phases) {
            (Phases::One, _) => line == 0,
            (Phases::Three, Phases::Three) => true,
            (Phases::Three, Phases::One) => self.line.index() == line,
        }
    }
}

/// The lines a site has: L1 only, or all three.
pub fn lines(site: Phases) -> usize {
    usize::from(site.count())
}

/// What the commands load on each line, A (unused lines stay 0).
pub fn loads(site: Phases, commands: &[(Command, Wire)]) -> [f64; 3] {
    let mut load = [0.0; 3];
    for (line, l) in load.iter_mut().enumerate().take(lines(site)) {
        *l = commands
            .iter()
            .filter(|(_, w)| w.loads_line(site, line))
            .map(|(c, _)| c.current().0)
            .sum();
    }
    load
}

/// One loadpoint as the fuse sees it.
#[derive(Debug, Clone, Copy)]
pub struct Seat<'a> {
    pub command: Command,
    pub wire: Wire,
    pub priority: i32,
    /// Its floor and command resolution.
    pub guard: &'a GuardParams,
}

/// Lower `seats`' commands until every line's load is within its `headroom` (fuse − house load,
/// A). Returns whether each seat was lowered.
pub fn lower_to_fuse(site: Phases, headroom: [f64; 3], seats: &mut [Seat<'_>]) -> Vec<bool> {
    let original: Vec<Command> = seats.iter().map(|s| s.command).collect();
    let lowered = |seats: &[Seat<'_>]| -> Vec<bool> {
        seats
            .iter()
            .zip(&original)
            .map(|(s, o)| s.command != *o)
            .collect()
    };
    let mut paused = vec![false; seats.len()];
    loop {
        let commands: Vec<(Command, Wire)> = seats.iter().map(|s| (s.command, s.wire)).collect();
        let load = loads(site, &commands);
        let Some((line, _)) = (0..lines(site))
            .map(|l| (l, load[l] - headroom[l]))
            .filter(|(_, over)| *over > EPS_A)
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            return lowered(seats);
        };
        let on_line: Vec<usize> = (0..seats.len())
            .filter(|&i| seats[i].command.is_charging() && seats[i].wire.loads_line(site, line))
            .collect();
        // One step down for the lowest priority, highest current, last in order that can still go down.
        let step_down = on_line
            .iter()
            .filter_map(|&i| one_step_down(&seats[i]).map(|c| (i, c)))
            .min_by(|(a, _), (b, _)| {
                let (sa, sb) = (&seats[*a], &seats[*b]);
                sa.priority
                    .cmp(&sb.priority)
                    .then(sb.command.current().0.total_cmp(&sa.command.current().0))
                    .then(b.cmp(a))
            });
        if let Some((i, command)) = step_down {
            seats[i].command = command;
            continue;
        }
        let Some(&i) = on_line
            .iter()
            .min_by(|a, b| seats[**a].priority.cmp(&seats[**b].priority).then(b.cmp(a)))
        else {
            // Nothing charges on this line: the house alone is over the fuse; nothing to lower.
            return lowered(seats);
        };
        // A pause makes room: the others start again from what they asked, and come down only as
        // far as the remaining ones need.
        paused[i] = true;
        for (k, seat) in seats.iter_mut().enumerate() {
            seat.command = if paused[k] {
                Command::Pause
            } else {
                original[k]
            };
        }
    }
}

/// The command one resolution step lower, if that stays at or above the floor.
fn one_step_down(seat: &Seat<'_>) -> Option<Command> {
    let Command::Charge { current, phases } = seat.command else {
        return None;
    };
    let g = seat.guard;
    let lower = current - g.step;
    let a = g.quantize_within(lower, lower);
    (a >= g.floor && a < current).then_some(Command::Charge { current: a, phases })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Amps, Supply, Volts};
    use std::time::Duration;

    fn guard(phases: Phases) -> GuardParams {
        GuardParams {
            supply: Supply::new(phases, Volts(230.0)),
            floor: Amps(6.0),
            max: Amps(16.0),
            main_fuse: None,
            step: Amps(1.0),
            step_base: Amps(0.0),
            ramp_a_per_s: 1.0,
            min_change_interval: Duration::from_secs(10),
        }
    }

    fn charge(a: f64, phases: Phases) -> Command {
        Command::Charge {
            current: Amps(a),
            phases,
        }
    }

    #[test]
    fn a_one_phase_car_on_l1_and_a_three_phase_car_share_a_16a_fuse() {
        let (g1, g3) = (guard(Phases::One), guard(Phases::Three));
        let one = Wire {
            phases: Phases::One,
            line: Line::L1,
        };
        let three = Wire {
            phases: Phases::Three,
            line: Line::L1,
        };
        let mut seats = [
            Seat {
                command: charge(16.0, Phases::One),
                wire: one,
                priority: 0,
                guard: &g1,
            },
            Seat {
                command: charge(16.0, Phases::Three),
                wire: three,
                priority: 0,
                guard: &g3,
            },
        ];
        let lowered = lower_to_fuse(Phases::Three, [16.0; 3], &mut seats);
        // L1 carried 32 A: both come down to 8 A (level, equal priority); L2 and L3 carry 8 A.
        assert_eq!(lowered, vec![true, true]);
        assert_eq!(seats[0].command.current(), Amps(8.0));
        assert_eq!(seats[1].command.current(), Amps(8.0));
        // 10 A of headroom: both would be below the floor at 5 A: the later one pauses, the other
        // keeps 10 A.
        seats[0].command = charge(16.0, Phases::One);
        seats[1].command = charge(16.0, Phases::Three);
        lower_to_fuse(Phases::Three, [10.0; 3], &mut seats);
        assert_eq!(seats[1].command, Command::Pause);
        assert_eq!(seats[0].command.current(), Amps(10.0));
        let c: Vec<_> = seats.iter().map(|s| (s.command, s.wire)).collect();
        assert_eq!(loads(Phases::Three, &c), [10.0, 0.0, 0.0]);
    }

    #[test]
    fn the_lower_priority_gives_way_first() {
        let g = guard(Phases::Three);
        let w = Wire {
            phases: Phases::Three,
            line: Line::L1,
        };
        let mut seats = [
            Seat {
                command: charge(16.0, Phases::Three),
                wire: w,
                priority: 1,
                guard: &g,
            },
            Seat {
                command: charge(16.0, Phases::Three),
                wire: w,
                priority: 0,
                guard: &g,
            },
        ];
        lower_to_fuse(Phases::Three, [25.0; 3], &mut seats);
        assert_eq!(seats[0].command.current(), Amps(16.0));
        assert_eq!(seats[1].command.current(), Amps(9.0));
    }
}
