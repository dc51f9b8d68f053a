//! The simulator's charger writer: what the daemon's writer does with each decision.
//!
//! Owns: [`Writer`]. It turns a guarded command into a Smappee request and sends it only when it
//! differs from the last one sent (the controller repeats its command every step). Like the daemon's
//! writer (`daemon::writer`), it forgets what it sent when the station's state drifted behind its
//! back: a replug seen in the state poll, or a PAUSED that is not there any more (Smappee resumes
//! NORMAL on replug). The next decision is then sent again. Every request sent counts as a setpoint
//! write.

use super::charger::Wire;
use crate::config::schema::LimitUnit;
use crate::control::Command;
use crate::units::PercentScale;

#[derive(Debug, Clone)]
pub struct Writer {
    unit: LimitUnit,
    scale: Option<PercentScale>,
    latency_ms: i64,
    sent: Option<Wire>,
    /// When the last request took effect: a state read from before then cannot show a drift.
    applied_ms: i64,
    plugged: Option<bool>,
    pub writes: u32,
}

impl Writer {
    /// `latency_ms`: how long a request takes to apply (the daemon's write returns after it has).
    pub fn new(unit: LimitUnit, scale: Option<PercentScale>, latency_ms: i64) -> Writer {
        Writer {
            unit,
            scale,
            latency_ms,
            sent: None,
            applied_ms: i64::MIN,
            plugged: None,
            writes: 0,
        }
    }

    /// The request to send at `now_ms` for `command`, if any. `plugged` and `paused` are the station's
    /// state as read at `read_ms`.
    pub fn handle(
        &mut self,
        now_ms: i64,
        command: Command,
        plugged: Option<bool>,
        paused: Option<bool>,
        read_ms: i64,
    ) -> Option<Wire> {
        let replugged = plugged == Some(true) && self.plugged == Some(false);
        let unpaused =
            self.sent == Some(Wire::Paused) && paused == Some(false) && read_ms >= self.applied_ms;
        if replugged || unpaused {
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
        self.applied_ms = now_ms + self.latency_ms;
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
        let mut w = Writer::new(LimitUnit::Ampere, None, 3);
        let ten = Command::Charge {
            current: Amps(10.0),
            phases: Phases::One,
        };
        let (t, f) = (Some(true), Some(false));
        assert_eq!(w.handle(0, Command::Pause, t, f, 0), Some(Wire::Paused));
        assert_eq!(
            w.handle(1, Command::Pause, t, f, 0),
            None,
            "read before it applied"
        );
        assert_eq!(w.handle(5, Command::Pause, t, t, 4), None);
        assert_eq!(w.handle(10, ten, t, t, 4), Some(Wire::Ampere(10)));
        assert_eq!(w.handle(20, Command::Pause, f, f, 20), Some(Wire::Paused));
        assert_eq!(w.handle(30, Command::Pause, f, t, 30), None);
        let again = w.handle(40, Command::Pause, t, t, 40);
        assert_eq!(again, Some(Wire::Paused), "replugged: re-assert");
        assert_eq!(w.handle(50, Command::Pause, t, t, 50), None);
        let again = w.handle(60, Command::Pause, t, f, 60);
        assert_eq!(
            again,
            Some(Wire::Paused),
            "the station resumed by itself: re-assert"
        );
        assert_eq!(w.writes, 5);
    }
}
