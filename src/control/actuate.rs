//! The actuator: from the guard's command to the next request a charger is sent. Pure: no I/O, no
//! clock, no tokio. Time comes in as a monotonic [`Duration`] since any origin the caller picks (the
//! daemon's writer uses tokio's clock, the simulator its own), so both drive the very same code.
//!
//! Owns:
//! - [`Request`], the charger-neutral request (PAUSE, a whole-ampere limit, or a percentage of the
//!   station's range), and [`Resolution::request`], the **one** amps → request conversion. Its
//!   rounding rule: **round down** to the charger's step (whole amps, or the next lower percent of
//!   `floor..station_max`), with a 1e-6 A tolerance for float noise, so the car never gets more than
//!   the guard allowed; a current below the floor (also after rounding) becomes a pause. Every charger translates a
//!   [`Request`] into its own wire format below this point (Smappee: `chargers::smappee`);
//! - dedupe: nothing is sent while the wanted request equals the last confirmed one (a charger read
//!   as paused counts as a confirmed pause);
//! - re-assert after a replug (Smappee resets PAUSED to NORMAL when a car is plugged in again);
//! - rejected-request memory: a request the charger refused is not sent again until the wish changes
//!   or another request succeeds;
//! - [`RetryGate`], retries by error kind on the crate's one [`Backoff`] (a 429 waits exactly its `Retry-After`
//!   without escalating; transient failures double from 5 s; auth failures wait the cap), reset by any
//!   success, with a lower cap for state reads (1 min) than for writes (5 min), so a failing read never
//!   blocks a write for long;
//! - manual changes: a state read that contradicts the confirmed request (paused or resumed in the
//!   vendor's app) is reported and left standing for a grace period (nothing is sent meanwhile), then
//!   either re-asserted once or yielded to until the car is unplugged ([`OnManualChange`]);
//! - the shutdown request ([`Actuator::shutdown_request`]): the floor only if sunplug was charging; a
//!   shutdown never starts a paused car.

use super::{ChargerObs, Command};
use crate::backoff::Backoff;
use crate::units::{Amps, PercentScale};
use std::time::Duration;

/// Float noise tolerated when rounding down to a step.
const EPS: f64 = 1e-6;
/// First wait after a transient failure.
pub const BACKOFF_START: Duration = Duration::from_secs(5);
/// Longest wait between writes.
pub const WRITE_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Longest wait between state reads: a read failure must never hold things up for long.
pub const READ_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A `Retry-After` shorter than this is raised to it (never a busy loop).
const RETRY_AFTER_MIN: Duration = Duration::from_secs(1);

/// A request to a charger, in no vendor's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// Stop offering current, keep the session.
    Pause,
    /// Charge with a limit of this many whole amps.
    Ampere(u32),
    /// Charge at this percentage of the station's range (0 % = the floor, 100 % = its maximum).
    Percent(u8),
}

impl Request {
    /// The current this request offers (`None` for a percentage without a scale); 0 A when paused.
    pub fn amps(self, scale: Option<PercentScale>) -> Option<Amps> {
        match self {
            Request::Pause => Some(Amps::ZERO),
            Request::Ampere(a) => Some(Amps(f64::from(a))),
            Request::Percent(p) => scale.map(|s| s.amps(p)),
        }
    }
    pub fn is_pause(self) -> bool {
        self == Request::Pause
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Pause => write!(f, "PAUSED"),
            Request::Ampere(a) => write!(f, "NORMAL {a} A"),
            Request::Percent(p) => write!(f, "NORMAL {p} %"),
        }
    }
}

/// What a charger can be asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    /// Below this a charge becomes a pause.
    pub floor: Amps,
    /// `None`: whole amps. `Some`: percentages of the station's range.
    pub percent: Option<PercentScale>,
    /// Above this a charge is capped (the lowest of station, cable and car); `None`: no cap.
    pub max: Option<Amps>,
}

impl Resolution {
    /// The one amps → request conversion (see the module doc for the rounding rule).
    pub fn request(&self, command: Command) -> Request {
        let Command::Charge { current, .. } = command else {
            return Request::Pause;
        };
        if !current.0.is_finite() {
            return Request::Pause;
        }
        let current = self.max.map_or(current, |m| current.min(m));
        if current.0 + EPS < self.floor.0 {
            return Request::Pause;
        }
        match self.percent {
            Some(scale) => scale
                .percent(current)
                .map_or(Request::Pause, Request::Percent),
            None => {
                let whole = (current.0 + EPS).floor().max(0.0);
                // A fractional floor (6.8 A) rounds down below itself: pause instead.
                if whole + EPS < self.floor.0 {
                    Request::Pause
                } else {
                    Request::Ampere(whole as u32)
                }
            }
        }
    }
}

/// How a write or read ended, by the only thing that matters for what comes next: its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The charger refused this request (HTTP 400, unsupported): not repeated.
    Rejected,
    /// Too many requests; wait `Retry-After` when given.
    RateLimited(Option<Duration>),
    /// Timeout, 5xx, connection: may have been applied; retried with a growing wait.
    Transient,
    /// Credentials refused: a person has to fix it; retried slowly.
    Auth,
}

/// When the next call may go out after failures, by error kind. Pure: `now` comes in. The doubling
/// itself is the crate's one [`Backoff`]; this adds the deadline and the rules per kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryGate {
    backoff: Backoff,
    until: Option<Duration>,
}

impl RetryGate {
    pub fn new(max: Duration) -> RetryGate {
        RetryGate {
            backoff: Backoff::new(BACKOFF_START, max),
            until: None,
        }
    }
    /// Whether a call may go out at `now`.
    pub fn ready(&self, now: Duration) -> bool {
        self.until.is_none_or(|u| now >= u)
    }
    /// When the wait ends, if waiting.
    pub fn until(&self) -> Option<Duration> {
        self.until
    }
    /// Record a result at `now`; returns the wait it started, if any.
    pub fn record(&mut self, now: Duration, outcome: Outcome) -> Option<Duration> {
        let max = self.backoff.max();
        let wait = match outcome {
            Outcome::Ok => {
                self.backoff.reset();
                self.until = None;
                return None;
            }
            Outcome::Rejected => return None,
            // Honoured as given, and it does not make the next transient wait longer.
            Outcome::RateLimited(Some(after)) => after.max(RETRY_AFTER_MIN).min(max.max(after)),
            Outcome::RateLimited(None) | Outcome::Transient => self.backoff.next_delay(),
            Outcome::Auth => max,
        };
        self.until = Some(now.saturating_add(wait));
        Some(wait)
    }
}

/// What to do when the charger was changed outside sunplug (`[charger] on_manual_change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnManualChange {
    /// Send sunplug's request again once the change has lasted the grace period.
    #[default]
    Reassert,
    /// Leave the charger alone until the car is unplugged.
    Yield,
}

/// What the charger is left at when the service stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafeAction {
    Keep,
    Pause,
    /// The floor, but only if sunplug was charging.
    Floor,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActuatorSettings {
    pub resolution: Resolution,
    pub on_manual_change: OnManualChange,
    pub manual_grace: Duration,
}

/// A difference between the confirmed request and what the charger reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualChange {
    /// When it was first read.
    pub since: Duration,
    /// For logs and Home Assistant.
    pub what: String,
    /// Already re-asserted once for this change (so a station that misreports is not hammered).
    reasserted: bool,
}

/// The actuator's state. One per charger connector.
#[derive(Debug, Clone)]
pub struct Actuator {
    settings: ActuatorSettings,
    command: Option<Command>,
    /// The last request the charger acknowledged, and when.
    confirmed: Option<(Request, Duration)>,
    /// The request in flight (sent, no answer yet).
    in_flight: Option<Request>,
    rejected: Option<Request>,
    write_backoff: RetryGate,
    read_backoff: RetryGate,
    plugged: Option<bool>,
    /// The session tag last read (see [`ChargerObs::session`]).
    session: Option<u64>,
    manual: Option<ManualChange>,
    yielded: bool,
    /// Requests the charger acknowledged.
    pub writes: u64,
}

impl Actuator {
    pub fn new(settings: ActuatorSettings) -> Actuator {
        Actuator {
            settings,
            command: None,
            confirmed: None,
            in_flight: None,
            rejected: None,
            write_backoff: RetryGate::new(WRITE_BACKOFF_MAX),
            read_backoff: RetryGate::new(READ_BACKOFF_MAX),
            plugged: None,
            session: None,
            manual: None,
            yielded: false,
            writes: 0,
        }
    }

    pub fn settings(&self) -> &ActuatorSettings {
        &self.settings
    }

    /// The guard's latest command (the latest wins).
    pub fn command(&mut self, command: Option<Command>) {
        if command != self.command {
            self.rejected = None;
        }
        self.command = command;
    }

    /// The request the current command becomes.
    pub fn wanted(&self) -> Option<Request> {
        self.command.map(|c| self.settings.resolution.request(c))
    }

    /// The request to send at `now`, if any. The caller sends it, then reports with [`Actuator::written`].
    pub fn next(&self, now: Duration) -> Option<Request> {
        let want = self.wanted()?;
        // A change made outside sunplug stands for the grace period, whatever the command.
        let held = self
            .manual
            .as_ref()
            .is_some_and(|m| !m.reasserted && now < m.since + self.settings.manual_grace);
        let pending = self.in_flight.is_none()
            && !held
            && !self.yielded
            && self.confirmed.map(|c| c.0) != Some(want)
            && self.rejected != Some(want)
            && self.write_backoff.ready(now);
        pending.then_some(want)
    }

    /// When [`Actuator::next`] may change by time alone (a backoff ending), if a request is waiting.
    pub fn deadline(&self) -> Option<Duration> {
        let want = self.wanted()?;
        if self.yielded || self.confirmed.map(|c| c.0) == Some(want) || self.rejected == Some(want)
        {
            return None;
        }
        self.write_backoff.until()
    }

    /// `request` leaves now.
    pub fn sending(&mut self, request: Request) {
        self.in_flight = Some(request);
    }

    /// The answer to `request`, at `now` (when it took effect, for a success).
    pub fn written(
        &mut self,
        now: Duration,
        request: Request,
        outcome: Outcome,
    ) -> Option<Duration> {
        self.in_flight = None;
        let wait = self.write_backoff.record(now, outcome);
        match outcome {
            Outcome::Ok => {
                self.confirmed = Some((request, now));
                self.rejected = None;
                self.writes += 1;
                if let Some(m) = &mut self.manual {
                    m.reasserted = true;
                }
            }
            Outcome::Rejected => self.rejected = Some(request),
            // It may have been applied before the answer was lost: the state is unknown.
            Outcome::Transient => self.confirmed = None,
            Outcome::RateLimited(_) | Outcome::Auth => {}
        }
        wait
    }

    /// Whether the state may be read at `now`.
    pub fn read_due(&self, now: Duration) -> bool {
        self.read_backoff.ready(now)
    }

    /// A state read failed at `now`.
    pub fn read_failed(&mut self, now: Duration, outcome: Outcome) -> Option<Duration> {
        self.read_backoff.record(now, outcome)
    }

    /// A state read, taken at `read_at`. Detects a replug and changes made outside sunplug.
    pub fn observed(&mut self, read_at: Duration, obs: &ChargerObs) {
        self.read_backoff.record(read_at, Outcome::Ok);
        // Another session while plugged: the car was unplugged and plugged in again between two
        // reads (the unplugged read was missed).
        let new_session = obs.plugged == Some(true)
            && obs.session.is_some()
            && self.session.is_some()
            && obs.session != self.session;
        if obs.session.is_some() {
            self.session = obs.session;
        }
        if obs.plugged == Some(false) || new_session {
            self.yielded = false;
            self.manual = None;
        }
        if (self.plugged == Some(false) && obs.plugged == Some(true)) || new_session {
            // A new session: the station reset the connector (Smappee: PAUSED becomes NORMAL).
            self.confirmed = None;
        }
        if obs.plugged.is_some() {
            self.plugged = obs.plugged;
        }
        // A charger read as paused is paused: no PAUSED needs sending (after a start or a replug).
        if self.confirmed.is_none() && self.in_flight.is_none() && obs.paused == Some(true) {
            self.confirmed = Some((Request::Pause, read_at));
        }
        let Some((request, at)) = self.confirmed else {
            return;
        };
        // A read from before the request took effect cannot contradict it.
        if read_at < at || obs.plugged != Some(true) {
            return;
        }
        let differs = match (request.is_pause(), obs.paused) {
            (true, Some(false)) => Some("resumed outside sunplug".to_string()),
            (false, Some(true)) => Some("paused outside sunplug".to_string()),
            _ => None,
        };
        let Some(what) = differs else {
            // The charger agrees again (or its state is unknown): nothing to correct.
            if !self.yielded && obs.paused.is_some() {
                self.manual = None;
            }
            return;
        };
        let m = self.manual.get_or_insert(ManualChange {
            since: read_at,
            what,
            reasserted: false,
        });
        if read_at < m.since + self.settings.manual_grace {
            return;
        }
        match self.settings.on_manual_change {
            OnManualChange::Yield => self.yielded = true,
            // Once per change: a station that keeps reporting the difference is not hammered.
            OnManualChange::Reassert if !m.reasserted => self.confirmed = None,
            OnManualChange::Reassert => {}
        }
    }

    /// The change made outside sunplug, if one is seen, and whether sunplug yields to it.
    pub fn manual(&self) -> Option<(&str, bool)> {
        self.manual
            .as_ref()
            .map(|m| (m.what.as_str(), self.yielded))
    }

    /// The last request the charger acknowledged.
    pub fn confirmed(&self) -> Option<Request> {
        self.confirmed.map(|c| c.0)
    }

    /// The current the charger offers: 0 A while paused (as read, or as confirmed and not read
    /// otherwise), else what it acknowledged when the read is within 1 A of it, else what it reads.
    pub fn offered(&self, obs: Option<&ChargerObs>) -> Option<Amps> {
        let read_paused = obs.and_then(|o| o.paused);
        let confirmed_pause =
            self.confirmed() == Some(Request::Pause) && read_paused != Some(false);
        if read_paused == Some(true) || confirmed_pause {
            return Some(Amps::ZERO);
        }
        let asked = self
            .confirmed()
            .and_then(|r| r.amps(self.settings.resolution.percent));
        match (obs.and_then(|o| o.offered), asked) {
            // A station that reports its limit as a percentage reads 9.9 A for the 10 A it was
            // sent: what it acknowledged is the better figure; a limit set elsewhere is not.
            (Some(read), Some(asked)) if (read.0 - asked.0).abs() < 1.0 => Some(asked),
            (read, asked) => read.or(asked),
        }
    }

    /// What to send when the service stops. The floor only when sunplug was charging (its command
    /// or, before any command, its confirmed request): a shutdown never starts a paused car.
    pub fn shutdown_request(&self, safe: SafeAction) -> Option<Request> {
        let charging = match (self.command, self.confirmed()) {
            (Some(Command::Charge { .. }), _) => true,
            (Some(Command::Pause), _) => false,
            (None, Some(r)) => !r.is_pause(),
            (None, None) => false,
        };
        match safe {
            SafeAction::Keep => None,
            SafeAction::Pause => Some(Request::Pause),
            SafeAction::Floor if charging && !self.yielded => {
                let floor = Command::Charge {
                    current: self.settings.resolution.floor,
                    phases: crate::units::Phases::One,
                };
                Some(self.settings.resolution.request(floor))
            }
            SafeAction::Floor => None,
        }
    }
}

#[cfg(test)]
mod tests;
