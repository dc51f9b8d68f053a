//! The simulator's charger writer: what the daemon's writer does with each decision.
//!
//! Owns: [`Writer`]. It turns a guarded command into a Smappee request and sends it only when it
//! differs from the last one sent (the controller repeats its command every step). After a replug it
//! forgets what it sent, because the station has gone back to NORMAL by itself: the next decision is
//! sent again, re-asserting PAUSED. Every request sent counts as a setpoint write.

use super::charger::Wire;
use crate::config::schema::LimitUnit;
use crate::control::Command;
use crate::units::PercentScale;

#[derive(Debug, Clone)]
pub struct Writer {
    unit: LimitUnit,
    scale: Option<PercentScale>,
    sent: Option<Wire>,
    plugged: Option<bool>,
    pub writes: u32,
}

impl Writer {
    pub fn new(unit: LimitUnit, scale: Option<PercentScale>) -> Writer {
        Writer {
            unit,
            scale,
            sent: None,
            plugged: None,
            writes: 0,
        }
    }

    /// The request to send for `command`, if any. `plugged` is the station's plug state as last read.
    pub fn handle(&mut self, command: Command, plugged: Option<bool>) -> Option<Wire> {
        if plugged == Some(true) && self.plugged == Some(false) {
            self.sent = None;
        }
        if plugged.is_some() {
            self.plugged = plugged;
        }
        let wire = Wire::from_command(command, self.unit, self.scale);
        if self.sent == Some(wire) {
            return None;
        }
        self.sent = Some(wire);
        self.writes += 1;
        Some(wire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Amps, Phases};

    #[test]
    fn dedupes_and_reasserts_after_a_replug() {
        let mut w = Writer::new(LimitUnit::Ampere, None);
        let ten = Command::Charge {
            current: Amps(10.0),
            phases: Phases::One,
        };
        assert_eq!(w.handle(Command::Pause, Some(true)), Some(Wire::Paused));
        assert_eq!(w.handle(Command::Pause, Some(true)), None);
        assert_eq!(w.handle(ten, Some(true)), Some(Wire::Ampere(10)));
        assert_eq!(w.handle(Command::Pause, Some(false)), Some(Wire::Paused));
        assert_eq!(w.handle(Command::Pause, Some(false)), None);
        assert_eq!(
            w.handle(Command::Pause, Some(true)),
            Some(Wire::Paused),
            "replugged: re-assert"
        );
        assert_eq!(w.writes, 4);
    }
}
