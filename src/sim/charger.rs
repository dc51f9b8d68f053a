//! The Smappee charger model, with its known quirks (`../shared/reference/vendor-apis.md` §3.8).
//!
//! Owns: [`ChargerModel`], which executes the actuator's requests
//! ([`crate::control::actuate::Request`]: PAUSED, or NORMAL with an AMPERE or PERCENTAGE limit) as a
//! Smappee station would. What it models:
//! - **command latency**: a request takes effect `latency` after it is sent (cloud round trip);
//! - **percentage mapping**: 0 % = the floor, 100 % = the station's max, linear, exact;
//! - **AMPERE inexactness**: whole amps only, and the car is offered `gain × asked + offset`;
//! - **PAUSED resets to NORMAL on replug**, at the remembered limit: a car plugged into a paused
//!   station starts charging until the daemon re-asserts PAUSED;
//! - **the limit persists** between sessions;
//! - **the state words**: a poll reads what the real API reports ([`ChargerModel::state_words`]):
//!   the session state `STARTED` / `SUSPENDED` / `INITIALIZE`, the mode (`PAUSED` or not) and the
//!   suspension cause, which the run loop interprets with the real client's
//!   `chargers::smappee::state_words::interpret`.
//!
//! With `kind = "ocpp"` it is a local OCPP 1.6J charge point instead: amps are delivered exactly,
//! the 0 A profile survives a replug (no reset), and a poll reads the StatusNotification word
//! ([`ChargerModel::ocpp_status`]) the way the central system maps it.

use super::spec::{ChargerModelKind, ChargerSpec, ms};
use crate::chargers::smappee::state_words::{ConnectorMode, StateWord, SuspendCause};
use crate::config::schema::LimitUnit;
use crate::control::actuate::{Request, Resolution};
use crate::units::{Amps, PercentScale};
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct ChargerModel {
    spec: ChargerSpec,
    scale: Option<PercentScale>,
    latency_ms: i64,
    paused: bool,
    /// The remembered NORMAL limit.
    limit: Request,
    /// What the car is offered at `limit`, after the station's inexactness.
    offer_a: f64,
    in_flight: VecDeque<(i64, Request)>,
    plugged: bool,
    /// Times a replug turned PAUSED into NORMAL.
    pub replug_resets: u32,
}

impl ChargerModel {
    /// A station left PAUSED by the daemon, remembering `initial_limit_a` (default: the floor).
    pub fn new(spec: &ChargerSpec) -> ChargerModel {
        let scale = spec.percent_scale();
        let initial = Amps(spec.initial_limit_a.unwrap_or(spec.min_current_a));
        let limit = match (spec.limit_unit, scale) {
            (LimitUnit::Percentage, Some(s)) => Request::Percent(s.percent(initial).unwrap_or(0)),
            _ => Request::Ampere(initial.0.round() as u32),
        };
        let mut m = ChargerModel {
            spec: spec.clone(),
            scale,
            latency_ms: ms(spec.latency),
            paused: true,
            limit,
            offer_a: 0.0,
            in_flight: VecDeque::with_capacity(8),
            plugged: false,
            replug_resets: 0,
        };
        m.offer_a = m.delivered(limit);
        m
    }

    fn delivered(&self, w: Request) -> f64 {
        match w {
            Request::Pause => 0.0,
            Request::Ampere(_) => {
                self.spec
                    .delivered(w.amps(self.scale).unwrap_or_default())
                    .0
            }
            Request::Percent(_) => w.amps(self.scale).unwrap_or_default().0,
        }
    }

    /// A request leaves the daemon now.
    pub fn send(&mut self, now_ms: i64, w: Request) {
        self.in_flight.push_back((now_ms + self.latency_ms, w));
    }

    /// Apply the requests that have arrived by `t_ms`.
    #[inline]
    pub fn step(&mut self, t_ms: i64) {
        while let Some(&(at, w)) = self.in_flight.front() {
            if at > t_ms {
                break;
            }
            self.in_flight.pop_front();
            match w {
                Request::Pause => self.paused = true,
                _ => {
                    self.paused = false;
                    self.limit = w;
                    self.offer_a = self.delivered(w);
                }
            }
        }
    }

    /// No request is on its way.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// A car is connected. A PAUSED station goes back to NORMAL at its remembered limit.
    pub fn plug_in(&mut self) {
        self.plugged = true;
        // An OCPP TxDefaultProfile of 0 A holds across sessions.
        if self.paused && self.spec.kind != ChargerModelKind::Ocpp {
            self.paused = false;
            self.replug_resets += 1;
        }
    }

    pub fn unplug(&mut self) {
        self.plugged = false;
    }

    /// The current offered to the car now (0 when paused or nothing is connected).
    #[inline]
    pub fn offered(&self) -> f64 {
        if self.plugged && !self.paused {
            self.offer_a
        } else {
            0.0
        }
    }

    pub fn plugged(&self) -> bool {
        self.plugged
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The limit as the station reports it (asked, not delivered), while NORMAL.
    pub fn reported_limit(&self) -> Option<Amps> {
        if self.paused {
            None
        } else {
            self.limit.amps(self.scale)
        }
    }

    pub fn scale(&self) -> Option<PercentScale> {
        self.scale
    }

    /// What the station reports at a poll, in Smappee's words (vendor-apis.md §3.4, corrected
    /// 2026-12): `chargingState` `STARTED` while the car draws (`drawing`), `SUSPENDED` while it does
    /// not (cause `SUSPENDED_EVSE_USER` when paused, `SUSPENDED_EV` when the car takes nothing),
    /// `INITIALIZE` with no car; the mode; the cause.
    pub fn state_words(&self, drawing: bool) -> (StateWord, ConnectorMode, Option<SuspendCause>) {
        let mode = if self.paused {
            ConnectorMode::Paused
        } else {
            ConnectorMode::Running
        };
        let (word, cause) = match (self.plugged, self.paused, drawing) {
            (false, _, _) => (StateWord::Initialize, None),
            (true, true, _) => (StateWord::Suspended, Some(SuspendCause::Station)),
            (true, false, true) => (StateWord::Started, None),
            (true, false, false) => (StateWord::Suspended, Some(SuspendCause::Car)),
        };
        (word, mode, cause)
    }

    /// The OCPP StatusNotification status of the connector now.
    pub fn ocpp_status(&self, drawing: bool) -> &'static str {
        match (self.plugged, self.paused, drawing) {
            (false, _, _) => "Available",
            (true, true, _) => "SuspendedEVSE",
            (true, false, true) => "Charging",
            (true, false, false) => "SuspendedEV",
        }
    }

    /// What the actuator may ask of this station.
    pub fn resolution(&self) -> Resolution {
        Resolution {
            floor: Amps(self.spec.min_current_a),
            percent: match self.spec.limit_unit {
                LimitUnit::Percentage => self.scale,
                LimitUnit::Ampere => None,
            },
            max: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::values::HumanDuration;
    use crate::control::Command;
    use crate::units::Phases;

    fn charge(a: f64) -> Command {
        Command::Charge {
            current: Amps(a),
            phases: Phases::Three,
        }
    }

    #[test]
    fn percentage_is_exact_and_ampere_is_not() {
        let mut spec = ChargerSpec {
            latency: HumanDuration::secs(3),
            ..ChargerSpec::default()
        };
        let mut c = ChargerModel::new(&spec);
        c.plug_in();
        let w = c.resolution().request(charge(8.6));
        assert_eq!(
            w,
            Request::Percent(10),
            "seed 003: 10 % of 6..32 A is 8.6 A"
        );
        c.send(0, w);
        c.step(2999);
        assert!(
            (c.offered() - 6.0).abs() < 1e-9,
            "not yet: the remembered floor"
        );
        c.step(3000);
        assert!((c.offered() - 8.6).abs() < 1e-9);

        spec.limit_unit = LimitUnit::Ampere;
        spec.ampere_gain = 0.9;
        let mut c = ChargerModel::new(&spec);
        c.plug_in();
        let w = c.resolution().request(charge(10.0));
        c.send(0, w);
        c.step(3000);
        assert!(
            (c.offered() - 9.0).abs() < 1e-9,
            "10 A asked, 9 A delivered"
        );
        assert_eq!(
            c.reported_limit(),
            Some(Amps(10.0)),
            "the station reports what was asked"
        );
    }

    #[test]
    fn paused_resets_to_normal_on_replug_at_the_remembered_limit() {
        let spec = ChargerSpec::default();
        let mut c = ChargerModel::new(&spec);
        c.plug_in();
        c.send(0, Request::Percent(50));
        c.step(5000);
        c.send(5000, Request::Pause);
        c.step(10_000);
        assert_eq!(c.offered(), 0.0);
        c.unplug();
        c.plug_in();
        assert!(!c.paused());
        assert!((c.offered() - 19.0).abs() < 1e-9, "NORMAL again at 50 %");
        assert_eq!(c.replug_resets, 2, "the first plug-in also found it PAUSED");
    }

    #[test]
    fn an_ocpp_charge_point_is_exact_and_stays_paused_across_a_replug() {
        let spec = ChargerSpec {
            kind: ChargerModelKind::Ocpp,
            limit_unit: LimitUnit::Ampere,
            latency: HumanDuration(std::time::Duration::from_millis(300)),
            ..ChargerSpec::default()
        };
        let mut c = ChargerModel::new(&spec);
        c.plug_in();
        assert!(c.paused(), "the 0 A profile holds");
        assert_eq!(c.ocpp_status(false), "SuspendedEVSE");
        c.send(0, Request::Ampere(10));
        c.step(300);
        assert!((c.offered() - 10.0).abs() < 1e-9, "exact amps");
        assert_eq!(c.ocpp_status(true), "Charging");
        c.send(1000, Request::Pause);
        c.step(1300);
        c.unplug();
        assert_eq!(c.ocpp_status(false), "Available");
        c.plug_in();
        assert_eq!(c.offered(), 0.0);
        assert_eq!(c.replug_resets, 0);
    }

    #[test]
    fn polls_read_the_stations_words() {
        use crate::chargers::smappee::state_words::interpret;
        let spec = ChargerSpec::default();
        let mut c = ChargerModel::new(&spec);
        let read = |c: &ChargerModel, drawing| {
            let (w, m, cause) = c.state_words(drawing);
            let i = interpret(Some(&w), Some(m), cause);
            (w, i)
        };
        assert_eq!(read(&c, false).0, StateWord::Initialize);
        c.plug_in();
        let (w, i) = read(&c, true);
        assert_eq!(w, StateWord::Started);
        assert_eq!((i.charging, i.paused), (Some(true), Some(false)));
        let (w, i) = read(&c, false);
        assert_eq!(w, StateWord::Suspended, "the car takes nothing");
        assert_eq!((i.charging, i.paused), (Some(false), Some(false)));
        c.send(0, Request::Pause);
        c.step(spec.latency.as_secs_f64() as i64 * 1000 + 1);
        let (w, i) = read(&c, false);
        assert_eq!(w, StateWord::Suspended);
        assert_eq!((i.charging, i.paused), (Some(false), Some(true)));
    }
}
